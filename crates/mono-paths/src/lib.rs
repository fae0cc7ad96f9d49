//! Typed paths for mono.
//!
//! Two kinds of path flow through mono and must never be mixed up:
//!
//! - [`AbsPath`]: a path on this machine's filesystem, always absolute. It is what mono
//!   opens, reads and runs commands in. It never reaches a hash, a cache key or a report.
//! - [`RepoPath`]: a path relative to the repository root, always `/`-separated, with no
//!   `.`, `..`, `\` or empty components. Everything that is hashed, cached, or printed to a
//!   user is a `RepoPath`, so the same commit gives the same hashes in any checkout path and
//!   on any machine.
//!
//! ```
//! use mono_paths::{AbsPath, RepoPath};
//!
//! let root = AbsPath::new("/src/repo").unwrap();
//! let dir = RepoPath::new("apps/web").unwrap();
//! assert_eq!(dir.join("package.json").unwrap().as_str(), "apps/web/package.json");
//! assert_eq!(root.join_repo(&dir).as_path(), std::path::Path::new("/src/repo/apps/web"));
//! assert_eq!(RepoPath::root().to_string(), ".");
//! assert!(RepoPath::new("../etc").is_err());
//! ```
//!
//! It is its own crate because every other crate of mono speaks in these types.

mod abs;
mod repo;

pub use abs::AbsPath;
pub use repo::{RepoPath, RepoPathError};
