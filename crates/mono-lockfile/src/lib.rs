//! Lockfiles for mono: which external packages each workspace member resolves to, and a
//! lockfile cut down to the members `mono prune` keeps.
//!
//! Formats: npm `package-lock.json` (v2, v3), `pnpm-lock.yaml` (lockfile v5, v6 and v9),
//! `yarn.lock` (v1 and berry), `Cargo.lock` (v3, v4), Go's `go.sum` (with the module's
//! `go.mod`) and uv's `uv.lock` (version 1). docs/lockfiles.md says what "the external dependencies of a member" means for
//! each, what prune keeps, and the limits.
//!
//! ```
//! use mono_lockfile::{Lockfile, LockfileKind, Member};
//! use std::path::Path;
//!
//! let lock = r#"
//! version = 4
//!
//! [[package]]
//! name = "app"
//! version = "0.1.0"
//! dependencies = ["itoa"]
//!
//! [[package]]
//! name = "itoa"
//! version = "1.0.11"
//! source = "registry+https://github.com/rust-lang/crates.io-index"
//! checksum = "49f1f14873335454500d59611f1cf4a4b0f786f9ac11f4312a78e4cf2566695b"
//! "#;
//! let lockfile = Lockfile::parse(LockfileKind::Cargo, Path::new("Cargo.lock"), lock).unwrap();
//! let deps = lockfile.external_deps(&Member { dir: "crates/app", name: "app" }).unwrap();
//! assert_eq!(deps.len(), 1);
//! assert_eq!((deps[0].name.as_str(), deps[0].version.as_str()), ("itoa", "1.0.11"));
//! ```
//!
//! It is its own crate because two commands use it (the task hash of `mono run` and
//! `mono prune`) and it needs nothing from the rest of mono: it takes plain member folders
//! and names, so it sits under mono-hash and mono-tasks without tying them together.

mod cargo;
mod discover;
mod error;
mod go;
mod graph;
mod names;
mod npm;
mod pnpm;
mod toml_file;
mod tool;
mod uv;
mod yaml;
mod yarn1;
mod yarn_berry;

use std::path::{Path, PathBuf};

pub use cargo::prune_cargo_manifest;
pub use discover::{discover, load_all};
pub use error::LockfileError;
pub use go::prune_go_work;
pub use names::{Ecosystem, LockfileFile};
pub use tool::{check_with_tool, ToolCheck};
pub use uv::prune_uv_workspace;

/// Which lockfile format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LockfileKind {
    /// npm `package-lock.json`, lockfile version 2 or 3.
    Npm,
    /// `pnpm-lock.yaml`, lockfile version 5.x, 6.x or 9.x.
    Pnpm,
    /// Yarn classic `yarn.lock` (`# yarn lockfile v1`).
    Yarn1,
    /// Yarn berry (2+) `yarn.lock`, YAML with `__metadata`.
    YarnBerry,
    /// `Cargo.lock`.
    Cargo,
    /// A Go module's `go.sum` (or a workspace's `go.work.sum`), read with the module's `go.mod`.
    GoSum,
    /// uv's `uv.lock` (lock version 1).
    Uv,
}

impl LockfileKind {
    /// The usual file name of the format.
    pub fn file_name(self) -> &'static str {
        self.file().file_name()
    }

    /// The lockfile of the format in [`LockfileFile`]'s table.
    pub fn file(self) -> LockfileFile {
        match self {
            LockfileKind::Npm => LockfileFile::Npm,
            LockfileKind::Pnpm => LockfileFile::Pnpm,
            LockfileKind::Yarn1 | LockfileKind::YarnBerry => LockfileFile::Yarn,
            LockfileKind::Cargo => LockfileFile::Cargo,
            LockfileKind::GoSum => LockfileFile::GoSum,
            LockfileKind::Uv => LockfileFile::Uv,
        }
    }

    /// A short name for messages ("npm", "pnpm", "yarn v1", ...).
    pub fn as_str(self) -> &'static str {
        match self {
            LockfileKind::Npm => "npm",
            LockfileKind::Pnpm => "pnpm",
            LockfileKind::Yarn1 => "yarn v1",
            LockfileKind::YarnBerry => "yarn berry",
            LockfileKind::Cargo => "Cargo",
            LockfileKind::GoSum => "go.sum",
            LockfileKind::Uv => "uv.lock",
        }
    }

    /// Whether [`Lockfile::add_manifest`] must be called for each member before
    /// [`Lockfile::external_deps`] / [`Lockfile::prune`]: the lockfile does not record the
    /// members' own dependencies (yarn v1: their package.json; Go: their go.mod).
    pub fn needs_manifests(self) -> bool {
        matches!(self, LockfileKind::Yarn1 | LockfileKind::GoSum)
    }

    /// The yarn format of a `yarn.lock`'s text: berry when it has a `__metadata` entry.
    pub fn yarn_kind_of(contents: &str) -> LockfileKind {
        if contents.lines().any(|l| l.starts_with("__metadata:")) {
            LockfileKind::YarnBerry
        } else {
            LockfileKind::Yarn1
        }
    }
}

impl std::fmt::Display for LockfileKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A workspace member the lockfile knows about, as mono-workspace sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Member<'a> {
    /// Repo-relative, `/`-separated folder of the package ("apps/web", "crates/core", "." for
    /// root). For a `go.sum` lockfile: relative to the same root as the paths given to
    /// [`Lockfile::add_manifest`].
    pub dir: &'a str,
    /// The package's name in its ecosystem (npm name, crate name, Go module path).
    pub name: &'a str,
}

/// One resolved external package (not a workspace member).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResolvedPackage {
    /// The package's name (npm name, crate name, Go module path).
    pub name: String,
    /// The resolved version (for pnpm with its peer suffix, as the lockfile keys it).
    pub version: String,
    /// integrity / checksum / go.sum hash when the lockfile has one
    pub checksum: Option<String>,
}

/// A parsed lockfile.
#[derive(Debug)]
pub struct Lockfile {
    path: PathBuf,
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Npm(npm::NpmLock),
    Pnpm(pnpm::PnpmLock),
    Yarn1(yarn1::Yarn1Lock),
    YarnBerry(yarn_berry::BerryLock),
    Cargo(cargo::CargoLock),
    Go(go::GoLock),
    Uv(uv::UvLock),
}

impl Lockfile {
    /// Parses `contents` read from `path` (path used in errors as file:line).
    pub fn parse(
        kind: LockfileKind,
        path: &Path,
        contents: &str,
    ) -> Result<Lockfile, LockfileError> {
        let inner = match kind {
            LockfileKind::Npm => Inner::Npm(npm::NpmLock::parse(path, contents)?),
            LockfileKind::Pnpm => Inner::Pnpm(pnpm::PnpmLock::parse(path, contents)?),
            LockfileKind::Yarn1 => Inner::Yarn1(yarn1::Yarn1Lock::parse(path, contents)?),
            LockfileKind::YarnBerry => {
                Inner::YarnBerry(yarn_berry::BerryLock::parse(path, contents)?)
            }
            LockfileKind::Cargo => Inner::Cargo(cargo::CargoLock::parse(path, contents)?),
            LockfileKind::GoSum => Inner::Go(go::GoLock::parse(path, contents)?),
            LockfileKind::Uv => Inner::Uv(uv::UvLock::parse(path, contents)?),
        };
        Ok(Lockfile {
            path: path.to_path_buf(),
            inner,
        })
    }

    /// Reads and parses the lockfile at `repo_root/rel_path`. For the formats that need
    /// members' manifests ([`LockfileKind::needs_manifests`]), add them afterwards.
    pub fn load(
        kind: LockfileKind,
        repo_root: &Path,
        rel_path: &str,
    ) -> Result<Lockfile, LockfileError> {
        let full = repo_root.join(rel_path);
        let text = std::fs::read_to_string(&full).map_err(|source| LockfileError::Read {
            path: PathBuf::from(rel_path),
            source,
        })?;
        Lockfile::parse(kind, Path::new(rel_path), &text)
    }

    /// The format.
    pub fn kind(&self) -> LockfileKind {
        match &self.inner {
            Inner::Npm(_) => LockfileKind::Npm,
            Inner::Pnpm(_) => LockfileKind::Pnpm,
            Inner::Yarn1(_) => LockfileKind::Yarn1,
            Inner::YarnBerry(_) => LockfileKind::YarnBerry,
            Inner::Cargo(_) => LockfileKind::Cargo,
            Inner::Go(_) => LockfileKind::GoSum,
            Inner::Uv(_) => LockfileKind::Uv,
        }
    }

    /// The path the lockfile was parsed from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Gives the manifest of the member in `member_dir` (package.json text for yarn v1,
    /// go.mod text for Go; `path` is used in errors). Needed where the lockfile does not
    /// record the members' own dependencies ([`LockfileKind::needs_manifests`]); the other
    /// formats ignore it. Yarn v1's root package.json (`member_dir` ".") counts as a member.
    pub fn add_manifest(
        &mut self,
        member_dir: &str,
        path: &Path,
        contents: &str,
    ) -> Result<(), LockfileError> {
        match &mut self.inner {
            Inner::Yarn1(l) => l.add_manifest(graph::normalize_dir(member_dir), path, contents),
            Inner::Go(l) => l.add_manifest(graph::normalize_dir(member_dir), path, contents),
            _ => Ok(()),
        }
    }

    /// The external packages `member` needs, transitively, sorted and deduplicated.
    ///
    /// Workspace members it depends on are followed through and not listed; their runtime
    /// dependencies (not their devDependencies) are listed, because the package manager
    /// installs them for `member` too. For Cargo, whose lockfile does not tell dev-deps
    /// apart, a member dependency's whole lockfile entry is followed. An unknown member gives
    /// an empty list (the caller decides); a member of a format that needs manifests whose
    /// manifest was not given is an error.
    pub fn external_deps(&self, member: &Member) -> Result<Vec<ResolvedPackage>, LockfileError> {
        match &self.inner {
            Inner::Npm(l) => Ok(l
                .graph
                .member(member.dir, member.name)
                .map(|m| l.graph.external_deps(m))
                .unwrap_or_default()),
            Inner::Cargo(l) => Ok(l
                .graph
                .member(member.dir, member.name)
                .map(|m| l.graph.external_deps(m))
                .unwrap_or_default()),
            Inner::Pnpm(l) => Ok(l
                .graph
                .member(member.dir, member.name)
                .map(|m| l.graph.external_deps(m))
                .unwrap_or_default()),
            Inner::YarnBerry(l) => Ok(l
                .graph
                .member(member.dir, member.name)
                .map(|m| l.graph.external_deps(m))
                .unwrap_or_default()),
            Inner::Uv(l) => Ok(l
                .graph
                .member(member.dir, member.name)
                .map(|m| l.graph.external_deps(m))
                .unwrap_or_default()),
            Inner::Yarn1(l) => l.external_deps(&self.path, member),
            Inner::Go(l) => l.external_deps(&self.path, member),
        }
    }

    /// Every external package the lockfile resolves, sorted and deduplicated (for Go: every
    /// module version go.sum has a hash for).
    pub fn packages(&self) -> Vec<ResolvedPackage> {
        let graph = match &self.inner {
            Inner::Npm(l) => &l.graph,
            Inner::Pnpm(l) => &l.graph,
            Inner::Yarn1(l) => l.graph(),
            Inner::YarnBerry(l) => &l.graph,
            Inner::Cargo(l) => &l.graph,
            Inner::Uv(l) => &l.graph,
            Inner::Go(l) => return l.packages(),
        };
        let mut out: Vec<ResolvedPackage> = graph
            .nodes
            .iter()
            .filter_map(|n| n.package.clone())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// A new lockfile text that keeps exactly the entries `keep` need (the kept members and
    /// their transitive externals), in the same format and style, valid for the real tool.
    ///
    /// Workspace members that a kept member depends on are kept too (the caller must copy
    /// them into the pruned output, as `turbo prune` does). For the JavaScript formats the
    /// root package (".") is always kept: its package.json is part of every pruned output.
    /// A kept member that the lockfile does not list is an error.
    pub fn prune(&self, keep: &[Member]) -> Result<String, LockfileError> {
        match &self.inner {
            Inner::Npm(l) => l.prune(&self.path, keep),
            Inner::Cargo(l) => l.prune(&self.path, keep),
            Inner::Pnpm(l) => l.prune(&self.path, keep),
            Inner::Yarn1(l) => l.prune(&self.path, keep),
            Inner::YarnBerry(l) => l.prune(&self.path, keep),
            Inner::Go(l) => l.prune(&self.path, keep),
            Inner::Uv(l) => l.prune(&self.path, keep),
        }
    }
}

/// The member nodes of `keep`, or an error naming the first one the graph lacks.
pub(crate) fn kept_members(
    graph: &graph::Graph,
    path: &Path,
    keep: &[Member],
    with_root: bool,
) -> Result<Vec<usize>, LockfileError> {
    let mut out = Vec::new();
    for m in keep {
        match graph.member(m.dir, m.name) {
            Some(id) => out.push(id),
            None => {
                return Err(LockfileError::UnknownMember {
                    path: path.to_path_buf(),
                    member: m.name.to_string(),
                    dir: m.dir.to_string(),
                })
            }
        }
    }
    if with_root {
        if let Some(&root) = graph.members_by_dir.get(".") {
            out.push(root);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    /// Hashing reads one parsed lockfile from many threads.
    #[test]
    fn lockfile_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<super::Lockfile>();
    }
}
