//! Source control access for mono.
//!
//! This crate answers two questions: which files of the repository count (every file git does
//! not ignore), and which of them changed between two points of history
//! ([`Scm::changed_files`], for `--filter=[main]` and `--affected`). It runs the `git` binary (no libgit2, so mono sees exactly what the
//! user's git sees, with the same config and the same ignore rules), and falls back to walking
//! the filesystem while honouring `.gitignore` files from the root down when the directory is
//! not a git work tree, git is not installed, or the repository git finds ignores the root
//! (a copy in another repository's ignored `out/`): the files, and so the hashes, do not
//! depend on where the checkout sits.
//!
//! ```no_run
//! use mono_paths::AbsPath;
//! use mono_scm::Scm;
//!
//! let root = AbsPath::from_cwd(".").unwrap();
//! let scm = Scm::discover(&root);
//! // One git invocation for the whole run; callers partition the result by package.
//! let files = scm.list_files()?;
//! for file in &files {
//!     assert!(!file.as_str().starts_with('/'));
//! }
//! # Ok::<(), mono_scm::ScmError>(())
//! ```
//!
//! It is its own crate so that everything git-specific (the file list, the changed files
//! between two refs, the merge-base that `--affected` needs) sits behind one type, [`Scm`], that the
//! task graph and the hasher call without knowing whether git is there.

mod error;
mod git;
mod hooks;
mod manual;
mod revision;
mod scm;

pub use error::ScmError;
pub use hooks::{HookError, Uninstalled, HOOK_MARKER};
pub use scm::{ChangedFiles, Changes, HistoryGap, Scm, ScmKind, TrackedFiles, DEFAULT_BRANCHES};
