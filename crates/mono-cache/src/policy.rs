//! What a restore may write: only what the task itself could have produced.
//!
//! Whoever can write a cache entry (a local cache folder, a remote write token) chooses the
//! bytes a later hit writes into the repository. Paths that stay inside the repository are
//! not enough: an entry could plant `.git/hooks/post-checkout`, or overwrite another
//! package's source. So every output path of an archive must pass, before anything is
//! written (docs/security.md):
//!
//! 1. **No `.git`.** No component of the path, as written or once resolved through the
//!    symlinks on disk and in the archive, is `.git` (compared without case, for
//!    case-insensitive file systems), and it is not in git's hooks folder.
//! 2. **Declared outputs.** The path is one that expanding the task's `outputs` globs could
//!    find (the caller's matcher, mono-hash's `OutputMatcher`).
//! 3. **No tracked file.** An entry that restoring writes (it differs from the disk) is
//!    not, by its path or its resolved path, a file git tracks, nor in a submodule; an
//!    entry that is not a directory does not replace a folder that holds tracked files
//!    either. A committed output that already holds the entry's content is left alone.
//!
//! Any failure refuses the whole archive; the caller warns once and runs the task.

use std::collections::BTreeSet;
use std::error::Error as StdError;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use mono_paths::RepoPath;

use crate::error::RestoreError;

/// An error from loading the protected files, as the loader reported it.
pub type LoadError = Arc<dyn StdError + Send + Sync>;

type Loader = Box<dyn FnOnce() -> Result<Protected, LoadError> + Send>;

/// Paths a restore must never write: what git tracks, submodules, and git's hooks folder.
///
/// Listing them costs a `git ls-files`, so [`ProtectedFiles::lazy`] defers it to the first
/// restore: a run of warm hits never pays it.
pub struct ProtectedFiles {
    loaded: OnceLock<Result<Protected, LoadError>>,
    loader: Mutex<Option<Loader>>,
}

/// The protected paths, once listed.
#[derive(Debug, Default)]
pub struct Protected {
    files: BTreeSet<String>,
    folders: Vec<String>,
}

impl Protected {
    /// `files` (tracked files and symlinks) may not be written or replaced; nothing may be
    /// written inside `folders` (submodules, git's hooks folder when it lies in the
    /// repository).
    pub fn new(
        files: impl IntoIterator<Item = RepoPath>,
        folders: impl IntoIterator<Item = RepoPath>,
    ) -> Self {
        Protected {
            files: files.into_iter().map(|p| p.as_str().to_owned()).collect(),
            folders: folders
                .into_iter()
                .filter(|p| !p.is_root())
                .map(|p| p.as_str().to_owned())
                .collect(),
        }
    }

    /// The protected path that writing `path` would overwrite, if any. `replaces_folder`:
    /// the entry is not a directory, so a folder at `path` would be removed with all it
    /// holds.
    fn clash(&self, path: &str, replaces_folder: bool) -> Option<String> {
        if self.files.contains(path) {
            return Some(path.to_owned());
        }
        if let Some(folder) = self
            .folders
            .iter()
            .find(|folder| path == folder.as_str() || is_below(path, folder))
        {
            return Some(folder.clone());
        }
        if replaces_folder {
            let prefix = format!("{path}/");
            if let Some(inside) = self
                .files
                .range(prefix.clone()..)
                .next()
                .filter(|file| file.starts_with(&prefix))
            {
                return Some(inside.clone());
            }
        }
        None
    }
}

fn is_below(path: &str, dir: &str) -> bool {
    path.strip_prefix(dir)
        .is_some_and(|rest| rest.starts_with('/'))
}

impl ProtectedFiles {
    /// Protected paths known now.
    pub fn new(protected: Protected) -> Self {
        let loaded = OnceLock::new();
        let _ = loaded.set(Ok(protected));
        ProtectedFiles {
            loaded,
            loader: Mutex::new(None),
        }
    }

    /// Nothing protected beyond `.git` (a folder outside any git checkout).
    pub fn none() -> Self {
        Self::new(Protected::default())
    }

    /// Protected paths listed by `load` the first time a restore needs them. If it fails,
    /// every restore that would write is refused: not knowing what git tracks is no reason
    /// to risk overwriting it.
    pub fn lazy(load: impl FnOnce() -> Result<Protected, LoadError> + Send + 'static) -> Self {
        ProtectedFiles {
            loaded: OnceLock::new(),
            loader: Mutex::new(Some(Box::new(load))),
        }
    }

    fn get(&self) -> &Result<Protected, LoadError> {
        self.loaded.get_or_init(|| {
            let load = self
                .loader
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .take();
            match load {
                Some(load) => load(),
                None => Ok(Protected::default()),
            }
        })
    }
}

impl fmt::Debug for ProtectedFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProtectedFiles")
            .field("loaded", &self.loaded.get().map(Result::is_ok))
            .finish_non_exhaustive()
    }
}

type OutputRule = Arc<dyn Fn(&RepoPath) -> bool + Send + Sync>;

/// What restoring one task's cache entry may write: passed to
/// [`crate::Artifact::restore`], checked for every entry before anything is written.
#[derive(Clone)]
pub struct RestorePolicy {
    outputs: OutputRule,
    protected: Arc<ProtectedFiles>,
}

impl fmt::Debug for RestorePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RestorePolicy")
            .field("protected", &self.protected)
            .finish_non_exhaustive()
    }
}

impl RestorePolicy {
    /// Entries must be paths for which `outputs` answers true (the task's declared
    /// `outputs`, as mono-hash's `OutputMatcher::matches` tells), outside `.git`, and not
    /// `protected`.
    pub fn new(
        outputs: impl Fn(&RepoPath) -> bool + Send + Sync + 'static,
        protected: Arc<ProtectedFiles>,
    ) -> Self {
        RestorePolicy {
            outputs: Arc::new(outputs),
            protected,
        }
    }

    /// Any path inside the repository but `.git`: for tools that restore an entry on its
    /// own, with no task definition to check it against (tests, a manual unpack).
    pub fn any_output() -> Self {
        Self::new(|_| true, Arc::new(ProtectedFiles::none()))
    }

    /// Checks what an entry's path says by itself: not in `.git`, and a declared output.
    /// Needs no disk and no git: output records (warm hits) are checked with it too.
    pub(crate) fn check_name(&self, path: &RepoPath) -> Result<(), RestoreError> {
        if has_git_component(path.as_str()) {
            return Err(RestoreError::GitDir {
                entry: path.to_string(),
            });
        }
        if !(self.outputs)(path) {
            return Err(RestoreError::NotAnOutput {
                entry: path.to_string(),
            });
        }
        Ok(())
    }

    /// Checks where an entry lands: `real` is `path` resolved through the symlinks of the
    /// disk and of the archive. `is_dir`: the entry is a directory (which never replaces
    /// a directory already there). `writes`: the disk differs from the entry, so restoring
    /// writes it; a tracked file that already holds exactly the entry's content (a
    /// committed output, unchanged) is left alone, so it is no clash.
    pub(crate) fn check_target(
        &self,
        path: &RepoPath,
        real: &str,
        is_dir: bool,
        writes: bool,
    ) -> Result<(), RestoreError> {
        if has_git_component(real) {
            return Err(RestoreError::GitDir {
                entry: path.to_string(),
            });
        }
        if !writes {
            return Ok(());
        }
        let protected = match self.protected.get() {
            Ok(protected) => protected,
            Err(err) => {
                return Err(RestoreError::ProtectedUnknown {
                    source: err.clone(),
                })
            }
        };
        let clash = protected
            .clash(path.as_str(), !is_dir)
            .or_else(|| protected.clash(real, !is_dir));
        match clash {
            Some(file) => Err(RestoreError::Protected {
                entry: path.to_string(),
                file,
            }),
            None => Ok(()),
        }
    }
}

/// Whether a component of the `/`-separated `path` is `.git`, in any case.
fn has_git_component(path: &str) -> bool {
    path.split('/')
        .any(|part| part.eq_ignore_ascii_case(".git"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> RepoPath {
        RepoPath::new(p).unwrap()
    }

    fn protected() -> Protected {
        Protected::new(
            [
                path("apps/web/src/index.ts"),
                path("apps/web/dist/keep.txt"),
            ],
            [path("vendor/sub"), path(".husky/_")],
        )
    }

    #[test]
    fn clashes_with_tracked_files_submodules_and_folders_of_tracked_files() {
        let p = protected();
        assert_eq!(
            p.clash("apps/web/src/index.ts", false).as_deref(),
            Some("apps/web/src/index.ts")
        );
        assert_eq!(
            p.clash("vendor/sub/lib.c", false).as_deref(),
            Some("vendor/sub")
        );
        assert_eq!(
            p.clash(".husky/_/pre-commit", false).as_deref(),
            Some(".husky/_")
        );
        // A file or link in place of a folder that holds a tracked file removes it.
        assert_eq!(
            p.clash("apps/web/src", true).as_deref(),
            Some("apps/web/src/index.ts")
        );
        // A directory entry keeps what the folder holds.
        assert_eq!(p.clash("apps/web/src", false), None);
        assert_eq!(p.clash("apps/web/dist/out.js", true), None);
        assert_eq!(p.clash("apps/web/sr", true), None);
        assert_eq!(p.clash("vendor/subway", true), None);
    }

    #[test]
    fn names_in_git_folders_and_outside_the_outputs_are_refused() {
        let policy = RestorePolicy::new(
            |p: &RepoPath| p.as_str().starts_with("apps/web/dist/"),
            Arc::new(ProtectedFiles::new(protected())),
        );
        assert!(policy.check_name(&path("apps/web/dist/a.js")).is_ok());
        for (name, git) in [
            ("apps/web/dist/.git/hooks/post-checkout", true),
            ("apps/web/dist/.GIT/config", true),
            (".git/hooks/post-checkout", true),
            ("apps/web/src/index.ts", false),
            ("apps/web/dist", false),
        ] {
            let err = policy.check_name(&path(name)).unwrap_err();
            match err {
                RestoreError::GitDir { entry } => assert!(git && entry == name),
                RestoreError::NotAnOutput { entry } => assert!(!git && entry == name),
                other => panic!("{name}: {other}"),
            }
        }
        assert!(matches!(
            policy.check_target(&path("apps/web/dist/a.js"), "apps/web/src/index.ts", false, true),
            Err(RestoreError::Protected { file, .. }) if file == "apps/web/src/index.ts"
        ));
        assert!(matches!(
            policy.check_target(&path("apps/web/dist/a.js"), ".git/config", false, false),
            Err(RestoreError::GitDir { .. })
        ));
        assert!(matches!(
            policy.check_target(
                &path("apps/web/dist/keep.txt"),
                "apps/web/dist/keep.txt",
                false,
                true
            ),
            Err(RestoreError::Protected { .. })
        ));
        // Unchanged on disk: not written, so no clash.
        let keep = path("apps/web/dist/keep.txt");
        assert!(policy
            .check_target(&keep, keep.as_str(), false, false)
            .is_ok());
        assert!(policy
            .check_target(
                &path("apps/web/dist/a.js"),
                "apps/web/dist/a.js",
                false,
                true
            )
            .is_ok());
    }

    #[test]
    fn lazy_protection_loads_once_and_a_failure_refuses() {
        let calls = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let counter = calls.clone();
        let files = Arc::new(ProtectedFiles::lazy(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(protected())
        }));
        let policy = RestorePolicy::new(|_| true, files);
        for _ in 0..3 {
            assert!(policy.check_target(&path("a"), "a", false, true).is_ok());
        }
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);

        let failing = Arc::new(ProtectedFiles::lazy(|| {
            Err(Arc::new(std::io::Error::other("git is gone")) as LoadError)
        }));
        let policy = RestorePolicy::new(|_| true, failing);
        let err = policy
            .check_target(&path("a"), "a", false, true)
            .unwrap_err();
        assert!(matches!(err, RestoreError::ProtectedUnknown { .. }));
        assert!(err.to_string().contains("git is gone"), "{err}");
    }
}
