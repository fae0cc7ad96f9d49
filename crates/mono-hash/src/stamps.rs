//! Stat stamps of a set of files, to tell whether any changed between two moments: a task
//! whose inputs or dependency outputs changed while it ran must not be cached, since its
//! outputs may come from neither the old files nor the new ones.

use std::fs;

use mono_paths::{AbsPath, RepoPath};
use rayon::prelude::*;

use mono_stamp::Stamp;

/// The `lstat` stamps ([`Stamp`]: kind, mode, size, mtime, ctime, inode) of some files, taken
/// at one moment. A file that is missing, or not a file, folder or symlink, has no stamp: it
/// changes if it appears.
#[derive(Debug, Default)]
pub struct Stamps {
    files: Vec<(RepoPath, Option<Stamp>)>,
}

fn stamp(root: &AbsPath, path: &RepoPath) -> Option<Stamp> {
    let meta = fs::symlink_metadata(root.join_repo(path).as_path()).ok()?;
    Stamp::of(&meta)
}

impl Stamps {
    /// Stamps `paths` (relative to `root`) now, in parallel.
    pub fn take(root: &AbsPath, paths: Vec<RepoPath>) -> Stamps {
        let files = paths
            .into_par_iter()
            .map(|path| {
                let stat = stamp(root, &path);
                (path, stat)
            })
            .collect();
        Stamps { files }
    }

    /// How many files are stamped.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether no file is stamped.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The first stamped file whose stamp is no longer the same, if any.
    pub fn first_change(&self, root: &AbsPath) -> Option<&RepoPath> {
        self.files
            .par_iter()
            .find_first(|(path, stat)| stamp(root, path) != *stat)
            .map(|(path, _)| path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_edit_removal_or_creation_is_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let root = AbsPath::new(dir.path()).unwrap();
        fs::write(dir.path().join("a"), "a").unwrap();
        fs::write(dir.path().join("b"), "b").unwrap();
        let paths = |names: &[&str]| names.iter().map(|n| RepoPath::new(n).unwrap()).collect();
        let stamps = Stamps::take(&root, paths(&["a", "b", "c"]));
        assert_eq!(stamps.len(), 3);
        assert_eq!(stamps.first_change(&root), None);
        // A new inode (written elsewhere and renamed over), same size and content.
        fs::write(dir.path().join("b.new"), "b").unwrap();
        fs::rename(dir.path().join("b.new"), dir.path().join("b")).unwrap();
        assert_eq!(stamps.first_change(&root).map(RepoPath::as_str), Some("b"));
        let stamps = Stamps::take(&root, paths(&["a", "b", "c"]));
        fs::write(dir.path().join("c"), "").unwrap();
        assert_eq!(stamps.first_change(&root).map(RepoPath::as_str), Some("c"));
        let stamps = Stamps::take(&root, paths(&["a"]));
        fs::remove_file(dir.path().join("a")).unwrap();
        assert_eq!(stamps.first_change(&root).map(RepoPath::as_str), Some("a"));
    }
}
