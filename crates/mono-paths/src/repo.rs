use std::fmt;
use std::path::{Component, Path};

use serde::{Serialize, Serializer};

/// Why a string is not a valid [`RepoPath`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepoPathError {
    /// The path starts at the filesystem root.
    #[error("`{0}` is absolute; expected a path relative to the repository root")]
    Absolute(String),
    /// The path has a `..` component.
    #[error("`{0}` leaves its directory with `..`")]
    ParentDir(String),
    /// The path contains a backslash.
    #[error("`{0}` contains `\\`; repository paths are `/`-separated")]
    Backslash(String),
    /// The path is not valid UTF-8.
    #[error("`{0}` is not valid UTF-8")]
    NotUtf8(String),
}

/// A path relative to the repository root: `/`-separated, normalized (no `.`, `..`, empty
/// components or trailing `/`), never absolute. The root itself is the empty path and
/// displays as `.`.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RepoPath(String);

impl RepoPath {
    /// The repository root.
    pub fn root() -> Self {
        Self(String::new())
    }

    /// Parses a `/`-separated relative path, dropping `.` and empty components.
    pub fn new(path: &str) -> Result<Self, RepoPathError> {
        if path.starts_with('/') {
            return Err(RepoPathError::Absolute(path.to_owned()));
        }
        if path.contains('\\') {
            return Err(RepoPathError::Backslash(path.to_owned()));
        }
        let mut out = String::with_capacity(path.len());
        for part in path.split('/') {
            match part {
                "" | "." => {}
                ".." => return Err(RepoPathError::ParentDir(path.to_owned())),
                part => {
                    if !out.is_empty() {
                        out.push('/');
                    }
                    out.push_str(part);
                }
            }
        }
        Ok(Self(out))
    }

    /// Converts a relative filesystem path.
    pub fn from_path(path: &Path) -> Result<Self, RepoPathError> {
        let mut out = String::new();
        for component in path.components() {
            match component {
                Component::Normal(part) => {
                    let part = part
                        .to_str()
                        .ok_or_else(|| RepoPathError::NotUtf8(path.display().to_string()))?;
                    if part.contains('\\') {
                        return Err(RepoPathError::Backslash(path.display().to_string()));
                    }
                    if !out.is_empty() {
                        out.push('/');
                    }
                    out.push_str(part);
                }
                Component::CurDir => {}
                Component::ParentDir => {
                    return Err(RepoPathError::ParentDir(path.display().to_string()))
                }
                Component::RootDir | Component::Prefix(_) => {
                    return Err(RepoPathError::Absolute(path.display().to_string()))
                }
            }
        }
        Ok(Self(out))
    }

    /// Whether this is the repository root.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The path as a string: empty for the root.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `/`-separated parts; none for the root.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|part| !part.is_empty())
    }

    /// The last component, if any.
    pub fn file_name(&self) -> Option<&str> {
        self.components().last()
    }

    /// The containing directory; `None` for the root.
    pub fn parent(&self) -> Option<RepoPath> {
        if self.is_root() {
            return None;
        }
        Some(match self.0.rfind('/') {
            Some(i) => Self(self.0[..i].to_owned()),
            None => Self::root(),
        })
    }

    /// Appends a relative `/`-separated path.
    pub fn join(&self, rel: &str) -> Result<RepoPath, RepoPathError> {
        let rel = RepoPath::new(rel)?;
        Ok(self.join_path(&rel))
    }

    /// Resolves a `/`-separated relative path written in this directory, `.` and `..`
    /// included (`../lib` from `apps/web` is `apps/lib`); `None` when it leaves the
    /// repository or is not a valid repo path.
    pub fn resolve(&self, rel: &str) -> Option<RepoPath> {
        let mut parts: Vec<&str> = self.components().collect();
        for part in rel.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    parts.pop()?;
                }
                part => parts.push(part),
            }
        }
        RepoPath::new(&parts.join("/")).ok()
    }

    /// Appends another repo path.
    pub fn join_path(&self, rel: &RepoPath) -> RepoPath {
        match (self.is_root(), rel.is_root()) {
            (true, _) => rel.clone(),
            (_, true) => self.clone(),
            _ => Self(format!("{}/{}", self.0, rel.0)),
        }
    }

    /// Whether `self` is `dir` or lies inside it.
    pub fn starts_with(&self, dir: &RepoPath) -> bool {
        dir.is_root()
            || self.0 == dir.0
            || (self.0.starts_with(&dir.0) && self.0.as_bytes().get(dir.0.len()) == Some(&b'/'))
    }

    /// The rest of `self` below `dir`, if it lies inside it.
    pub fn strip_prefix(&self, dir: &RepoPath) -> Option<RepoPath> {
        if dir.is_root() {
            return Some(self.clone());
        }
        if !self.starts_with(dir) {
            return None;
        }
        Some(Self(
            self.0[dir.0.len()..].trim_start_matches('/').to_owned(),
        ))
    }
}

impl fmt::Display for RepoPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str(".")
        } else {
            f.write_str(&self.0)
        }
    }
}

impl Serialize for RepoPath {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    #[test_case("apps/web", "apps/web" ; "plain")]
    #[test_case("./apps//web/", "apps/web" ; "normalized")]
    #[test_case("", "" ; "root")]
    #[test_case(".", "" ; "dot root")]
    fn parses(input: &str, expected: &str) {
        assert_eq!(RepoPath::new(input).unwrap().as_str(), expected);
    }

    #[test_case("/etc/passwd" ; "absolute")]
    #[test_case("a/../../b" ; "parent")]
    #[test_case("a\\b" ; "backslash")]
    fn rejects(input: &str) {
        assert!(RepoPath::new(input).is_err());
    }

    #[test]
    fn displays_root_as_dot() {
        assert_eq!(RepoPath::root().to_string(), ".");
        assert_eq!(RepoPath::new("a/b").unwrap().to_string(), "a/b");
    }

    #[test]
    fn prefix_is_component_wise() {
        let web = RepoPath::new("apps/web").unwrap();
        assert!(RepoPath::new("apps/web/src").unwrap().starts_with(&web));
        assert!(!RepoPath::new("apps/webby").unwrap().starts_with(&web));
        assert!(web.starts_with(&RepoPath::root()));
        assert_eq!(
            RepoPath::new("apps/web/src/a.ts")
                .unwrap()
                .strip_prefix(&web)
                .unwrap()
                .as_str(),
            "src/a.ts"
        );
    }

    #[test]
    fn parent_and_join_round_trip() {
        let p = RepoPath::new("a/b/c").unwrap();
        assert_eq!(p.parent().unwrap().as_str(), "a/b");
        assert_eq!(
            RepoPath::new("a").unwrap().parent().unwrap(),
            RepoPath::root()
        );
        assert_eq!(p.parent().unwrap().join("c").unwrap(), p);
        assert_eq!(RepoPath::root().join("x").unwrap().as_str(), "x");
    }

    #[test]
    fn resolve_follows_dots_inside_the_repo() {
        let web = RepoPath::new("apps/web").unwrap();
        assert_eq!(web.resolve("../lib").unwrap().as_str(), "apps/lib");
        assert_eq!(
            web.resolve("./src/../dist").unwrap().as_str(),
            "apps/web/dist"
        );
        assert_eq!(web.resolve("../..").unwrap(), RepoPath::root());
        assert!(web.resolve("../../..").is_none());
        assert!(web.resolve("a\\b").is_none());
    }

    #[test]
    fn from_path_rejects_escape() {
        assert!(RepoPath::from_path(Path::new("../x")).is_err());
        assert_eq!(
            RepoPath::from_path(Path::new("./a/b")).unwrap().as_str(),
            "a/b"
        );
    }
}
