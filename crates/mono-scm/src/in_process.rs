//! The listing of `git ls-files --cached --others --exclude-standard`, made without running
//! `git ls-files`: the tracked files come from the index file itself (crate::index), and
//! the untracked ones from a parallel walk of the work tree that honours the ignore rules git
//! honours, in git's order of precedence: the `.gitignore` files, then
//! `$GIT_DIR/info/exclude`, then `core.excludesFile`.
//!
//! A git child process costs its start, one read of the index and a walk of the work tree
//! on one core, and mono then parses every path it prints; here the index is read once and
//! the walk runs on every core, in mono's process.
//!
//! The one git invocation left is `git config`, run while the index is read, because the
//! configuration (system, global, local, includes, `-c` in the environment) decides which
//! excludes file applies, and only git reads it exactly. Everything this does not handle as
//! git does gives `None`, and the caller runs `git ls-files`: a root below the top of the
//! work tree, `GIT_DIR`/`GIT_WORK_TREE`/`GIT_INDEX_FILE`/`GIT_COMMON_DIR` in the
//! environment, `core.ignoreCase`, an index this reader refuses (split or sparse index, see
//! crate::index), a path that is not UTF-8, or any error of the walk (an unreadable folder,
//! a `.gitignore` line the glob parser rejects).

use std::fs;
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ignore::WalkBuilder;
use mono_paths::RepoPath;

use crate::git::{is_git_dir, repo_path, Git, Listed};
use crate::index::{self, GITLINK};
use crate::manual;

/// Set (to anything but `0`), the listing always runs `git ls-files`: to compare the two,
/// or to step around a difference with git until it is fixed (docs/hashing.md).
pub(crate) const FORCE_LS_FILES: &str = "MONO_GIT_LS_FILES";

/// Variables that move the repository, its work tree or its index: git handles them.
const RELOCATING_VARIABLES: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
];

impl Git {
    /// What `git ls-files -t -s --cached --others --exclude-standard` would list, read
    /// in-process; `None` where only git can say (module docs).
    pub(crate) fn list_in_process(&self) -> Option<Listed> {
        if std::env::var_os(FORCE_LS_FILES).is_some_and(|v| !v.is_empty() && v != "0")
            || self.root() != self.toplevel()
            || RELOCATING_VARIABLES
                .iter()
                .any(|var| std::env::var_os(var).is_some())
        {
            return None;
        }
        let top = self.toplevel().as_path();
        let git_dir = git_dir(top)?;
        // Ask git for the two settings while the index is read.
        let mut config = Command::new("git")
            .args([
                "config",
                "-z",
                "--get-regexp",
                r"^core\.(excludesfile|ignorecase)$",
            ])
            .current_dir(top)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let entries = match fs::read(git_dir.join("index")) {
            Ok(bytes) => index::parse(&bytes).ok(),
            // No index yet: nothing was ever added.
            Err(err) if err.kind() == ErrorKind::NotFound => Some(Vec::new()),
            Err(_) => None,
        };
        let mut out = Vec::new();
        let read = config.stdout.take().map(|mut s| s.read_to_end(&mut out));
        let status = config.wait().ok()?;
        let entries = entries?;
        if !matches!(read, Some(Ok(_))) || !matches!(status.code(), Some(0 | 1)) {
            return None;
        }
        let excludes_file = excludes_file(&out, top)?;

        let mut builder = WalkBuilder::new(top);
        builder
            .standard_filters(false)
            .hidden(false)
            .parents(false)
            .git_ignore(true)
            .git_exclude(true)
            .require_git(false)
            .follow_links(false)
            .filter_entry(|entry| {
                !is_git_dir(entry.file_name()) && !manual::is_nested_repository(entry)
            });
        // Lower in precedence than the `.gitignore` files and info/exclude, as in git.
        if excludes_file.is_file() && builder.add_ignore(&excludes_file).is_some() {
            return None;
        }
        let walked = manual::collect(self.root(), builder.build_parallel()).ok()?;

        let mut in_index: Vec<&[u8]> = entries.iter().map(|e| e.path.as_slice()).collect();
        in_index.sort_unstable();
        in_index.dedup();
        let mut tracked = Vec::with_capacity(entries.len());
        for entry in &entries {
            if entry.skip_worktree || entry.mode == GITLINK {
                continue;
            }
            // An unmerged file has one entry per stage, next to each other.
            if tracked
                .last()
                .is_some_and(|last: &RepoPath| last.as_str().as_bytes() == entry.path)
            {
                continue;
            }
            tracked.push(repo_path(&entry.path).ok()?);
        }
        let untracked = walked
            .into_iter()
            .filter(|path| in_index.binary_search(&path.as_str().as_bytes()).is_err())
            .collect();
        Some(Listed {
            tracked,
            untracked,
            index_entries: entries.len(),
        })
    }
}

/// The repository folder of the work tree at `top`: `.git`, or where a `.git` file points
/// (a linked worktree, a submodule's checkout).
fn git_dir(top: &Path) -> Option<PathBuf> {
    let dot_git = top.join(".git");
    let meta = fs::symlink_metadata(&dot_git).ok()?;
    if meta.is_dir() {
        return Some(dot_git);
    }
    if !meta.is_file() {
        return None;
    }
    let text = fs::read_to_string(&dot_git).ok()?;
    let target = text.strip_prefix("gitdir:")?.trim();
    let path = Path::new(target);
    let dir = if path.is_absolute() {
        path.to_path_buf()
    } else {
        top.join(path)
    };
    dir.is_dir().then_some(dir)
}

/// The excludes file from `git config -z --get-regexp` output (`key\nvalue\0` records), or
/// git's default, `$XDG_CONFIG_HOME/git/ignore` (else `~/.config/git/ignore`); `None` when
/// `core.ignoreCase` is on (matching would then differ from the walk's).
fn excludes_file(config: &[u8], top: &Path) -> Option<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let mut file = None;
    for record in config.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let text = std::str::from_utf8(record).ok()?;
        let (key, value) = text.split_once('\n').unwrap_or((text, ""));
        match key {
            "core.ignorecase" => {
                // A key without `= value` is true.
                if matches!(
                    value.to_ascii_lowercase().as_str(),
                    "" | "true" | "yes" | "on" | "1"
                ) {
                    return None;
                }
            }
            "core.excludesfile" => {
                file = Some(if let Some(rest) = value.strip_prefix("~/") {
                    home.clone()?.join(rest)
                } else if value.starts_with('~') {
                    // `~user/`: only git knows.
                    return None;
                } else {
                    top.join(value)
                });
            }
            _ => {}
        }
    }
    if let Some(file) = file {
        return Some(file);
    }
    let config_home = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| home.map(|h| h.join(".config")))?;
    Some(config_home.join("git/ignore"))
}
