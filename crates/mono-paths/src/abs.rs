use std::fmt;
use std::path::{Path, PathBuf};

use crate::repo::RepoPath;

/// An absolute path on this machine's filesystem.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AbsPath(PathBuf);

impl AbsPath {
    /// Wraps `path` if it is absolute; returns `None` otherwise.
    pub fn new(path: impl Into<PathBuf>) -> Option<Self> {
        let path = path.into();
        path.is_absolute().then_some(Self(path))
    }

    /// Makes `path` absolute against the current directory, without touching the filesystem.
    pub fn from_cwd(path: impl AsRef<Path>) -> std::io::Result<Self> {
        std::path::absolute(path.as_ref()).map(Self)
    }

    /// The filesystem path.
    pub fn as_path(&self) -> &Path {
        &self.0
    }

    /// Converts into a [`PathBuf`].
    pub fn into_path_buf(self) -> PathBuf {
        self.0
    }

    /// Appends a repo-relative path. `RepoPath::root()` appends nothing.
    pub fn join_repo(&self, path: &RepoPath) -> AbsPath {
        if path.is_root() {
            return self.clone();
        }
        let mut buf = self.0.clone();
        for part in path.components() {
            buf.push(part);
        }
        AbsPath(buf)
    }

    /// Appends a plain relative component or path (for file names mono itself chooses).
    pub fn join(&self, rel: impl AsRef<Path>) -> AbsPath {
        AbsPath(self.0.join(rel))
    }

    /// The parent directory, if any.
    pub fn parent(&self) -> Option<AbsPath> {
        self.0.parent().map(|p| AbsPath(p.to_path_buf()))
    }

    /// The path of `self` relative to `root`, as a [`RepoPath`], if `self` lies inside `root`.
    pub fn strip_root(&self, root: &AbsPath) -> Option<RepoPath> {
        let rel = self.0.strip_prefix(&root.0).ok()?;
        RepoPath::from_path(rel).ok()
    }
}

impl fmt::Display for AbsPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.display().fmt(f)
    }
}

impl AsRef<Path> for AbsPath {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_relative_paths() {
        assert!(AbsPath::new("a/b").is_none());
        assert!(AbsPath::new("/a/b").is_some());
    }

    #[test]
    fn strips_root_into_repo_path() {
        let root = AbsPath::new("/r").unwrap();
        let inner = AbsPath::new("/r/apps/web").unwrap();
        assert_eq!(inner.strip_root(&root).unwrap().as_str(), "apps/web");
        assert_eq!(root.strip_root(&root).unwrap(), RepoPath::root());
        assert!(AbsPath::new("/other").unwrap().strip_root(&root).is_none());
    }
}
