use std::sync::Mutex;

use ignore::{DirEntry, ParallelVisitor, ParallelVisitorBuilder, WalkBuilder, WalkState};
use mono_paths::{AbsPath, RepoPath};

use crate::git::is_git_dir;
use crate::ScmError;

/// Every file under `root` that the `.gitignore` files found on the way do not ignore, for a
/// directory that is not a git work tree (or where git cannot run).
///
/// Only `.gitignore` files inside `root` count: not `.ignore`, not the global excludes file,
/// not `.gitignore` files above `root`, so that the result depends on the tree alone (and is
/// the same wherever the tree sits). Hidden files count; `.git` never does, nor a folder
/// below the root that holds one (a nested repository or a submodule, which git does not
/// list either). Symbolic links are listed, never followed.
pub(crate) fn list_files(root: &AbsPath) -> Result<Vec<RepoPath>, ScmError> {
    let walker = WalkBuilder::new(root)
        .standard_filters(false)
        .git_ignore(true)
        .require_git(false)
        .parents(false)
        .hidden(false)
        .follow_links(false)
        .filter_entry(|entry| !is_git_dir(entry.file_name()) && !is_nested_repository(entry))
        .build_parallel();
    collect(root, walker)
}

/// Every file or symbolic link a configured walk of `root` yields, sorted, relative to it.
pub(crate) fn collect(
    root: &AbsPath,
    walker: ignore::WalkParallel,
) -> Result<Vec<RepoPath>, ScmError> {
    let collector = Collector {
        root,
        files: Mutex::new(Vec::new()),
        error: Mutex::new(None),
    };
    walker.visit(&mut &collector);
    if let Some(error) = into_inner(collector.error) {
        return Err(error);
    }
    let mut files = into_inner(collector.files);
    files.sort_unstable();
    Ok(files)
}

/// A folder below the root with its own `.git` (a folder, or the file of a submodule or a
/// linked worktree).
pub(crate) fn is_nested_repository(entry: &DirEntry) -> bool {
    entry.depth() > 0
        && entry.file_type().is_some_and(|t| t.is_dir())
        && std::fs::symlink_metadata(entry.path().join(".git")).is_ok()
}

fn into_inner<T>(mutex: Mutex<T>) -> T {
    mutex
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Gathers the walk's results; each walker thread keeps its own list and hands it over once.
struct Collector<'a> {
    root: &'a AbsPath,
    files: Mutex<Vec<RepoPath>>,
    error: Mutex<Option<ScmError>>,
}

impl<'s> ParallelVisitorBuilder<'s> for &'s Collector<'s> {
    fn build(&mut self) -> Box<dyn ParallelVisitor + 's> {
        Box::new(ThreadVisitor {
            collector: self,
            files: Vec::new(),
        })
    }
}

struct ThreadVisitor<'a> {
    collector: &'a Collector<'a>,
    files: Vec<RepoPath>,
}

impl ThreadVisitor<'_> {
    fn fail(&self, error: ScmError) -> WalkState {
        let mut slot = self
            .collector
            .error
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        slot.get_or_insert(error);
        WalkState::Quit
    }
}

impl ParallelVisitor for ThreadVisitor<'_> {
    fn visit(&mut self, entry: Result<DirEntry, ignore::Error>) -> WalkState {
        let entry = match entry {
            Ok(entry) => entry,
            Err(source) => {
                return self.fail(ScmError::Walk {
                    dir: self.collector.root.clone(),
                    source,
                })
            }
        };
        let Some(file_type) = entry.file_type() else {
            return WalkState::Continue;
        };
        if !(file_type.is_file() || file_type.is_symlink()) {
            return WalkState::Continue;
        }
        let Ok(relative) = entry.path().strip_prefix(self.collector.root) else {
            return WalkState::Continue;
        };
        match RepoPath::from_path(relative) {
            Ok(path) => {
                self.files.push(path);
                WalkState::Continue
            }
            Err(source) => self.fail(ScmError::InvalidPath {
                path: relative.display().to_string(),
                source,
            }),
        }
    }
}

impl Drop for ThreadVisitor<'_> {
    fn drop(&mut self) {
        let mut files = self
            .collector
            .files
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        files.append(&mut self.files);
    }
}
