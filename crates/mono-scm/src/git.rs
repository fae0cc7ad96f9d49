use std::ffi::OsStr;
use std::io::ErrorKind;
use std::process::{Command, Stdio};

use rayon::prelude::*;

use mono_paths::{AbsPath, RepoPath, RepoPathError};

use crate::ScmError;

/// A git work tree, seen from the mono repository root (which may be a subdirectory of it).
///
/// Every command runs with the mono root as its current directory, so that paths git prints
/// are relative to the mono root and limited to it.
#[derive(Clone, Debug)]
pub(crate) struct Git {
    /// The mono repository root; the current directory of every git command.
    root: AbsPath,
    /// The top of the git work tree (`git rev-parse --show-toplevel`).
    toplevel: AbsPath,
}

impl Git {
    /// Finds the work tree `root` lies in; `None` if it lies in none or git cannot run.
    pub(crate) fn discover(root: &AbsPath) -> Option<Git> {
        let out = run(root, &["rev-parse", "--show-toplevel"]).ok()?;
        let out = String::from_utf8(out).ok()?;
        let toplevel = AbsPath::new(out.lines().next()?)?;
        Some(Git {
            root: root.clone(),
            toplevel,
        })
    }

    /// The top of the git work tree.
    pub(crate) fn toplevel(&self) -> &AbsPath {
        &self.toplevel
    }

    /// Whether the repository ignores the root itself: the root, or a folder between the
    /// top of the work tree and the root, matches an ignore rule (`out/` for a root at
    /// `out/full`). Then `git ls-files` lists nothing under it but force-added files, so
    /// git cannot say which files belong to the project there. The top of the work tree is
    /// never ignored.
    pub(crate) fn ignores_root(&self) -> Result<bool, ScmError> {
        if self.root == self.toplevel {
            return Ok(false);
        }
        // `check-ignore` matches the leading folders of a path too; `.` is the root, since
        // it runs there. Exit 0: ignored; 1: not ignored.
        match run(&self.root, &["check-ignore", "-q", "."]) {
            Ok(_) => Ok(true),
            Err(ScmError::Git { status, .. }) if status.code() == Some(1) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// Every file under the root that git does not ignore, in one git invocation:
    /// tracked files (`--cached`) and untracked, not ignored ones (`--others
    /// --exclude-standard`), less tracked files deleted from the work tree, submodules,
    /// sparse-checkout entries and untracked nested repositories.
    ///
    /// `None` when the root lies below the top of the work tree and git tracks nothing
    /// under it: the folder is not part of that repository (a project copied or cloned into
    /// it, not added), so the repository's ignore rules, written for another project, do
    /// not say which of its files count.
    ///
    /// With `verify_present` false, tracked files deleted from the work tree stay in the
    /// list (one `lstat` less per file, for a caller that stats every file anyway).
    pub(crate) fn list_files(
        &self,
        verify_present: bool,
    ) -> Result<Option<Vec<RepoPath>>, ScmError> {
        let mut files = self.ls_files()?;
        if files.index_entries == 0 && self.root != self.toplevel {
            return Ok(None);
        }
        if !verify_present {
            return Ok(Some(files.into_sorted()));
        }
        // Deleted files: `--deleted` would have git lstat every entry on one thread; the
        // same lstat on all cores is several times faster on a large repository.
        let tracked = std::mem::take(&mut files.tracked);
        let present: Vec<bool> = tracked
            .par_iter()
            .map(|path| exists(&self.root.join_repo(path)))
            .collect();
        files.tracked = tracked
            .into_iter()
            .zip(present)
            .filter_map(|(path, present)| present.then_some(path))
            .collect();
        Ok(Some(files.into_sorted()))
    }
}

impl Git {
    /// The listing from `git ls-files`.
    fn ls_files(&self) -> Result<Listed, ScmError> {
        let out = run(
            &self.root,
            &[
                "ls-files",
                "-z",
                // `-t` tags each line (H tracked, S skip-worktree, ? untracked) and `-s` gives
                // the mode, which tells submodules apart.
                "-t",
                "-s",
                "--cached",
                "--others",
                "--exclude-standard",
            ],
        )?;
        parse_ls_files(&out)
    }

    /// The commit `rev` names, as a full hash; `None` when it names none.
    pub(crate) fn resolve_commit(&self, rev: &str) -> Result<Option<String>, ScmError> {
        let spec = format!("{rev}^{{commit}}");
        // `--end-of-options` keeps a ref that starts with `-` from being read as an option.
        match run(
            &self.root,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                "--end-of-options",
                &spec,
            ],
        ) {
            Ok(out) => Ok(first_line(&out)),
            Err(ScmError::Git { .. }) => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// The branch `HEAD` names, without `refs/heads/`.
    pub(crate) fn current_branch(&self) -> Option<String> {
        let out = run(&self.root, &["symbolic-ref", "--quiet", "--short", "HEAD"]).ok()?;
        first_line(&out)
    }

    /// The value of a git config key, if set and not empty.
    pub(crate) fn config_value(&self, key: &str) -> Option<String> {
        let out = run(&self.root, &["config", "--get", key]).ok()?;
        first_line(&out).filter(|v| !v.is_empty())
    }

    /// The best common ancestor of two commits; `None` when history shows none (unrelated
    /// histories, or a shallow clone cut above it).
    pub(crate) fn merge_base(&self, a: &str, b: &str) -> Result<Option<String>, ScmError> {
        match run(&self.root, &["merge-base", a, b]) {
            Ok(out) => Ok(first_line(&out)),
            // Exit 1 without output: no common ancestor.
            Err(ScmError::Git { status, .. }) if status.code() == Some(1) => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// Whether the repository is a shallow clone.
    pub(crate) fn is_shallow(&self) -> bool {
        run(&self.root, &["rev-parse", "--is-shallow-repository"])
            .ok()
            .and_then(|out| first_line(&out))
            .is_some_and(|line| line == "true")
    }

    /// The first of `candidates` (full ref names) that exists, in the order given, in one
    /// git invocation.
    pub(crate) fn first_existing_ref(
        &self,
        candidates: &[&str],
    ) -> Result<Option<String>, ScmError> {
        let mut args = vec!["for-each-ref", "--format=%(refname)"];
        args.extend(candidates);
        let out = run(&self.root, &args)?;
        let text = String::from_utf8_lossy(&out);
        let found: Vec<&str> = text.lines().collect();
        Ok(candidates
            .iter()
            .find(|c| found.contains(c))
            .map(|c| (*c).to_owned()))
    }

    /// The files under the root that differ between commit `from` and commit `to`, or (when
    /// `to` is `None`) between `from` and the work tree: staged, unstaged, deleted and
    /// untracked-but-not-ignored files. A rename counts as both of its paths.
    ///
    /// Only git reads the work tree here: `git diff` against the work tree compares each
    /// tracked file's `lstat` with the index and reads a file's content only when they
    /// differ, so an unchanged file is never read, by git or by mono.
    pub(crate) fn changed_files(
        &self,
        from: &str,
        to: Option<&str>,
    ) -> Result<Vec<RepoPath>, ScmError> {
        // `--no-renames`: a rename is a deletion and an addition, so both sides are listed.
        // `--relative`: paths relative to (and limited to) the mono root.
        let mut args = vec![
            "diff",
            "--name-only",
            "-z",
            "--no-renames",
            "--no-ext-diff",
            "--relative",
            from,
        ];
        if let Some(to) = to {
            args.push(to);
        }
        args.push("--");
        // The diff and the untracked files are independent: ask git for both at once.
        let (diff, untracked) = std::thread::scope(|scope| {
            let untracked = to.is_none().then(|| {
                scope.spawn(|| {
                    run(
                        &self.root,
                        &["ls-files", "-z", "--others", "--exclude-standard"],
                    )
                })
            });
            let diff = run(&self.root, &args);
            let untracked = untracked.map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            });
            (diff, untracked)
        });
        let mut files = parse_paths(&diff?)?;
        if let Some(untracked) = untracked {
            files.extend(parse_paths(&untracked?)?);
        }
        files.sort_unstable();
        files.dedup();
        Ok(files)
    }

    /// The content of `path` (relative to the root) at commit `rev`; `None` when the file
    /// is not in that commit.
    pub(crate) fn show_file(
        &self,
        rev: &str,
        path: &RepoPath,
    ) -> Result<Option<Vec<u8>>, ScmError> {
        // `rev:./path` is relative to the current directory, the mono root.
        let spec = format!("{rev}:./{}", path.as_str());
        match run(&self.root, &["cat-file", "blob", &spec]) {
            Ok(out) => Ok(Some(out)),
            Err(ScmError::Git { .. }) => Ok(None),
            Err(other) => Err(other),
        }
    }
}

impl Git {
    /// The folder git runs hooks from: `core.hooksPath` when set, else `.git/hooks` (of the
    /// common directory, in a linked worktree).
    pub(crate) fn hooks_dir(&self) -> Result<AbsPath, ScmError> {
        // From the top of the work tree: a relative `core.hooksPath` is relative to it, as
        // is what `--git-path` prints there.
        let out = run(&self.toplevel, &["rev-parse", "--git-path", "hooks"])?;
        let line = first_line(&out).unwrap_or_else(|| ".git/hooks".to_owned());
        Ok(self.toplevel.join(line))
    }
}

impl Git {
    /// The index's entries (`git ls-files -z -s --cached`): files and symlinks, and apart
    /// from them the submodules (gitlinks). Deleted files count: they are still tracked.
    /// Paths that are not UTF-8 are left out: nothing mono writes can have them.
    pub(crate) fn tracked_files(&self) -> Result<crate::TrackedFiles, ScmError> {
        let out = run(&self.root, &["ls-files", "-z", "-s", "--cached"])?;
        let mut tracked = crate::TrackedFiles::default();
        for record in out.split(|&b| b == 0).filter(|r| !r.is_empty()) {
            let Some(tab) = record.iter().position(|&b| b == b'\t') else {
                continue;
            };
            let (meta, path) = (&record[..tab], &record[tab + 1..]);
            let Ok(path) = repo_path(path) else { continue };
            if meta.starts_with(GITLINK_MODE) {
                tracked.submodules.push(path);
            } else {
                tracked.files.push(path);
            }
        }
        // An unmerged file appears once per stage.
        tracked.files.dedup();
        Ok(tracked)
    }
}

fn first_line(out: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(out);
    let line = text.lines().next()?.trim();
    (!line.is_empty()).then(|| line.to_owned())
}

/// NUL-separated paths as git prints them with `-z`, less directories (`dir/`, an untracked
/// nested repository).
fn parse_paths(out: &[u8]) -> Result<Vec<RepoPath>, ScmError> {
    out.split(|&b| b == 0)
        .filter(|r| !r.is_empty())
        .filter(|r| !r.ends_with(b"/"))
        .map(repo_path)
        .collect()
}

/// Runs git in `dir` and returns its stdout.
fn run(dir: &AbsPath, args: &[&str]) -> Result<Vec<u8>, ScmError> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        // Never prompt or page: this runs under a task runner, not a terminal session.
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_PAGER", "cat")
        .output()
        .map_err(|source| ScmError::Spawn {
            args: args.join(" "),
            dir: dir.clone(),
            source,
        })?;
    if !output.status.success() {
        return Err(ScmError::Git {
            args: args.join(" "),
            dir: dir.clone(),
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    Ok(output.stdout)
}

/// The mode git gives a submodule (a gitlink): a directory, not a file to hash.
const GITLINK_MODE: &[u8] = b"160000";

/// Whether a tracked file is still in the work tree (a symbolic link counts, even
/// dangling). An error other than "not there" keeps the file, for the hasher to report.
fn exists(path: &AbsPath) -> bool {
    match std::fs::symlink_metadata(path) {
        Ok(_) => true,
        Err(e) => !matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory),
    }
}

/// The files `git ls-files` listed.
#[derive(Debug, Default)]
struct Listed {
    /// Index entries, which may be missing from the work tree.
    tracked: Vec<RepoPath>,
    /// Untracked, not ignored files.
    untracked: Vec<RepoPath>,
    /// How many index entries git printed (submodules, sparse and deleted ones too).
    index_entries: usize,
}

impl Listed {
    fn into_sorted(self) -> Vec<RepoPath> {
        let mut files = self.tracked;
        files.extend(self.untracked);
        files.sort_unstable();
        files.dedup();
        files
    }
}

/// Parses `git ls-files -z -t -s --cached --others` output (with `--deleted` too, if given).
///
/// Lines are `TAG MODE OBJECT STAGE\tPATH` for index entries and `? PATH` for untracked
/// files. An unmerged file appears once per stage; with `--deleted`, a deleted file appears
/// twice, as `H` and as `R`.
fn parse_ls_files(out: &[u8]) -> Result<Listed, ScmError> {
    let mut tracked: Vec<&[u8]> = Vec::new();
    let mut untracked: Vec<&[u8]> = Vec::new();
    let mut deleted: Vec<&[u8]> = Vec::new();
    let mut index_entries = 0;
    for record in out.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let (tag, rest) = match record {
            [tag, b' ', rest @ ..] => (*tag, rest),
            _ => continue,
        };
        if tag == b'?' {
            // An untracked nested repository is listed as a directory, `dir/`.
            if !rest.ends_with(b"/") {
                untracked.push(rest);
            }
            continue;
        }
        let Some(tab) = rest.iter().position(|&b| b == b'\t') else {
            continue;
        };
        let (meta, path) = (&rest[..tab], &rest[tab + 1..]);
        index_entries += 1;
        match tag {
            b'R' => deleted.push(path),
            // Skip-worktree entries (sparse checkout) are not in the work tree.
            b'S' => {}
            _ if meta.starts_with(GITLINK_MODE) => {}
            _ => tracked.push(path),
        }
    }
    deleted.sort_unstable();
    tracked.dedup();
    Ok(Listed {
        tracked: tracked
            .into_iter()
            .filter(|path| deleted.binary_search(path).is_err())
            .map(repo_path)
            .collect::<Result<_, _>>()?,
        untracked: untracked
            .into_iter()
            .map(repo_path)
            .collect::<Result<_, _>>()?,
        index_entries,
    })
}

fn repo_path(bytes: &[u8]) -> Result<RepoPath, ScmError> {
    let text = std::str::from_utf8(bytes).map_err(|_| {
        let lossy = String::from_utf8_lossy(bytes).into_owned();
        ScmError::InvalidPath {
            path: lossy.clone(),
            source: RepoPathError::NotUtf8(lossy),
        }
    })?;
    RepoPath::new(text).map_err(|source| ScmError::InvalidPath {
        path: text.to_owned(),
        source,
    })
}

/// Whether `name` is git's own directory (or the file that points at it, in a worktree).
pub(crate) fn is_git_dir(name: &OsStr) -> bool {
    name == ".git"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(paths: Vec<RepoPath>) -> Vec<String> {
        paths.into_iter().map(|p| p.as_str().to_owned()).collect()
    }

    #[test]
    fn parses_tags_and_drops_deleted_submodules_and_nested_repos() {
        let out = b"? nested/\0? untracked\0\
H 100644 691c0f20a594fd2034dd32cb213750d43ce7f288 0\t.gitignore\0\
H 100644 61780798228d17af2d34fce4cfbdf35556832472 0\tb\0\
R 100644 61780798228d17af2d34fce4cfbdf35556832472 0\tb\0\
H 160000 61780798228d17af2d34fce4cfbdf35556832472 0\tvendor/sub\0\
S 100644 61780798228d17af2d34fce4cfbdf35556832472 0\tsparse\0\
M 100644 61780798228d17af2d34fce4cfbdf35556832472 1\tconflict\0\
M 100644 61780798228d17af2d34fce4cfbdf35556832472 2\tconflict\0\
H 120000 61780798228d17af2d34fce4cfbdf35556832472 0\tlink\0";
        assert_eq!(
            strings(parse_ls_files(out).unwrap().into_sorted()),
            [".gitignore", "conflict", "link", "untracked"]
        );
    }

    #[test]
    fn rejects_non_utf8_names() {
        let err = parse_ls_files(b"? bad\xff\0").unwrap_err();
        assert!(matches!(err, ScmError::InvalidPath { .. }), "{err}");
    }
}
