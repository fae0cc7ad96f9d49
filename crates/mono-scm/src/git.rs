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
    /// The mono root relative to `toplevel` (`git rev-parse --show-prefix`); kept for the
    /// commands that print paths relative to the top of the work tree (`git diff`).
    #[expect(
        dead_code,
        reason = "used by changed-files and merge-base, which come next"
    )]
    prefix: RepoPath,
}

impl Git {
    /// Finds the work tree `root` lies in; `None` if it lies in none or git cannot run.
    pub(crate) fn discover(root: &AbsPath) -> Option<Git> {
        let out = run(root, &["rev-parse", "--show-toplevel", "--show-prefix"]).ok()?;
        let out = String::from_utf8(out).ok()?;
        let mut lines = out.lines();
        let toplevel = AbsPath::new(lines.next()?)?;
        let prefix = RepoPath::new(lines.next().unwrap_or("")).ok()?;
        Some(Git {
            root: root.clone(),
            toplevel,
            prefix,
        })
    }

    /// The top of the git work tree.
    pub(crate) fn toplevel(&self) -> &AbsPath {
        &self.toplevel
    }

    /// Every file under the root that git does not ignore, in one git invocation:
    /// tracked files (`--cached`) and untracked, not ignored ones (`--others
    /// --exclude-standard`), less tracked files deleted from the work tree, submodules,
    /// sparse-checkout entries and untracked nested repositories.
    pub(crate) fn list_files(&self) -> Result<Vec<RepoPath>, ScmError> {
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
        let mut files = parse_ls_files(&out)?;
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
        Ok(files.into_sorted())
    }
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
