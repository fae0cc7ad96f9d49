//! `Cargo.toml`: what mono reads of it, a crate's binary targets, and what discovery does
//! with Cargo workspaces: members less `exclude`, path-dependency members, names and
//! dependencies.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use mono_paths::{AbsPath, RepoPath};
use mono_task_id::PackageName;
use serde::Deserialize;
use walkdir::WalkDir;

use crate::dependencies::Lookup;
use crate::error::ParseError;
use crate::files::{manifest_path, resolve};
use crate::naming::checked_name;
use crate::{Language, WorkspaceError};

/// What mono reads of a `Cargo.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CargoManifest {
    /// `[package]`
    pub package: Option<CargoPackage>,
    /// `[workspace]`
    pub workspace: Option<CargoWorkspace>,
    /// Every dependency of every table: `[dependencies]`, `[dev-dependencies]`,
    /// `[build-dependencies]` and their `[target.'cfg(..)'.*]` forms.
    pub dependencies: Vec<CargoDependency>,
    /// `[[bin]]` targets.
    pub bins: Vec<ExplicitBin>,
    /// `[patch.<registry>]` entries: (crate name, path) for entries with a `path`.
    pub patches: Vec<(String, String)>,
}

/// `[package]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CargoPackage {
    /// `name`
    pub name: String,
    /// `autobins` (default true): whether `src/main.rs` and `src/bin/` are found.
    pub autobins: bool,
}

/// `[workspace]`
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CargoWorkspace {
    /// `members` globs.
    pub members: Vec<String>,
    /// `exclude` paths.
    pub exclude: Vec<String>,
    /// `[workspace.dependencies]`, by key.
    pub dependencies: BTreeMap<String, CargoDependency>,
}

/// One dependency entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CargoDependency {
    /// The key (the name the code uses).
    pub key: String,
    /// `package = "real-name"`, for renamed dependencies.
    pub package: Option<String>,
    /// `path = ...`, relative to the manifest's folder.
    pub path: Option<String>,
    /// `workspace = true`
    pub workspace: bool,
}

impl CargoDependency {
    /// The depended-on crate's real name.
    pub fn crate_name(&self) -> &str {
        self.package.as_deref().unwrap_or(&self.key)
    }
}

/// A `[[bin]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct ExplicitBin {
    /// `name`
    pub name: Option<String>,
    /// `path`
    pub path: Option<String>,
}

#[derive(Deserialize)]
struct Raw {
    package: Option<RawPackage>,
    workspace: Option<RawWorkspace>,
    // The tables are listed here rather than flattened from `RawTables`: serde's `flatten`
    // buffers values and loses the spans that error messages need.
    #[serde(default)]
    dependencies: BTreeMap<String, RawDependency>,
    #[serde(default, rename = "dev-dependencies")]
    dev_dependencies: BTreeMap<String, RawDependency>,
    #[serde(default, rename = "dev_dependencies")]
    dev_dependencies_legacy: BTreeMap<String, RawDependency>,
    #[serde(default, rename = "build-dependencies")]
    build_dependencies: BTreeMap<String, RawDependency>,
    #[serde(default, rename = "build_dependencies")]
    build_dependencies_legacy: BTreeMap<String, RawDependency>,
    #[serde(default)]
    target: BTreeMap<String, RawTables>,
    #[serde(default)]
    bin: Vec<ExplicitBin>,
    #[serde(default)]
    patch: BTreeMap<String, BTreeMap<String, RawDependency>>,
}

#[derive(Deserialize)]
struct RawPackage {
    name: String,
    autobins: Option<bool>,
}

#[derive(Deserialize)]
struct RawWorkspace {
    #[serde(default)]
    members: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    dependencies: BTreeMap<String, RawDependency>,
}

#[derive(Deserialize, Default)]
struct RawTables {
    #[serde(default)]
    dependencies: BTreeMap<String, RawDependency>,
    #[serde(default, rename = "dev-dependencies")]
    dev_dependencies: BTreeMap<String, RawDependency>,
    #[serde(default, rename = "dev_dependencies")]
    dev_dependencies_legacy: BTreeMap<String, RawDependency>,
    #[serde(default, rename = "build-dependencies")]
    build_dependencies: BTreeMap<String, RawDependency>,
    #[serde(default, rename = "build_dependencies")]
    build_dependencies_legacy: BTreeMap<String, RawDependency>,
}

impl RawTables {
    fn into_entries(self) -> impl Iterator<Item = (String, RawDependency)> {
        [
            self.dependencies,
            self.dev_dependencies,
            self.dev_dependencies_legacy,
            self.build_dependencies,
            self.build_dependencies_legacy,
        ]
        .into_iter()
        .flatten()
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawDependency {
    Detailed {
        package: Option<String>,
        path: Option<String>,
        #[serde(default)]
        workspace: bool,
    },
    /// A version string (`serde = "1"`), or anything else Cargo would reject: never a
    /// workspace member by path, so its shape does not matter.
    Other(serde::de::IgnoredAny),
}

impl RawDependency {
    fn into_dependency(self, key: String) -> CargoDependency {
        match self {
            RawDependency::Other(_) => CargoDependency {
                key,
                package: None,
                path: None,
                workspace: false,
            },
            RawDependency::Detailed {
                package,
                path,
                workspace,
            } => CargoDependency {
                key,
                package,
                path,
                workspace,
            },
        }
    }
}

/// Parses a `Cargo.toml`.
pub(crate) fn parse_cargo_toml(text: &str) -> Result<CargoManifest, ParseError> {
    let raw: Raw = toml::from_str(text).map_err(|e| match e.span() {
        Some(span) => ParseError::at_span(e.message().to_owned(), text, span),
        None => ParseError::at_line(e.message().to_owned(), 1),
    })?;
    let tables = RawTables {
        dependencies: raw.dependencies,
        dev_dependencies: raw.dev_dependencies,
        dev_dependencies_legacy: raw.dev_dependencies_legacy,
        build_dependencies: raw.build_dependencies,
        build_dependencies_legacy: raw.build_dependencies_legacy,
    };
    let mut dependencies: Vec<CargoDependency> = tables
        .into_entries()
        .map(|(key, dep)| dep.into_dependency(key))
        .collect();
    for tables in raw.target.into_values() {
        dependencies.extend(
            tables
                .into_entries()
                .map(|(key, dep)| dep.into_dependency(key)),
        );
    }
    let patches = raw
        .patch
        .into_values()
        .flatten()
        .filter_map(|(key, dep)| {
            let dep = dep.into_dependency(key);
            let path = dep.path.clone()?;
            Some((dep.crate_name().to_owned(), path))
        })
        .collect();
    Ok(CargoManifest {
        package: raw.package.map(|p| CargoPackage {
            name: p.name,
            autobins: p.autobins != Some(false),
        }),
        workspace: raw.workspace.map(|w| CargoWorkspace {
            members: w.members,
            exclude: w.exclude,
            dependencies: w
                .dependencies
                .into_iter()
                .map(|(key, dep)| (key.clone(), dep.into_dependency(key)))
                .collect(),
        }),
        dependencies,
        bins: raw.bin,
        patches,
    })
}

fn normalize(path: &str) -> &str {
    path.strip_prefix("./").unwrap_or(path)
}

/// The binary targets of a crate in `dir`, sorted: `[[bin]]` names, plus, unless
/// `autobins = false`, `src/main.rs` (named after the crate), `src/bin/NAME.rs` and
/// `src/bin/NAME/main.rs`. As in Cargo, a found target whose name or path a `[[bin]]`
/// already has is not added twice.
pub(crate) fn binaries(manifest: &CargoManifest, dir: &Path) -> Vec<String> {
    let Some(package) = &manifest.package else {
        return Vec::new();
    };
    let mut names = BTreeSet::new();
    let explicit_paths: BTreeSet<&str> = manifest
        .bins
        .iter()
        .filter_map(|b| b.path.as_deref())
        .map(normalize)
        .collect();
    for bin in &manifest.bins {
        // A `[[bin]]` without a name is an error for Cargo; its path's stem is the best guess.
        let name = bin.name.clone().or_else(|| {
            bin.path
                .as_deref()
                .and_then(|p| Path::new(p).file_stem()?.to_str().map(str::to_owned))
        });
        names.extend(name);
    }
    if package.autobins {
        let mut found = Vec::new();
        if dir.join("src/main.rs").is_file() {
            found.push((package.name.clone(), "src/main.rs".to_owned()));
        }
        let bin_dir = WalkDir::new(dir.join("src/bin")).min_depth(1).max_depth(1);
        for entry in bin_dir.into_iter().flatten() {
            // `is_dir` and `is_file` follow a symlink: a linked target counts.
            let path = entry.path();
            let Some(file_name) = entry.file_name().to_str() else {
                continue;
            };
            if path.is_dir() && path.join("main.rs").is_file() {
                found.push((file_name.to_owned(), format!("src/bin/{file_name}/main.rs")));
            } else if let Some(stem) = file_name.strip_suffix(".rs") {
                if path.is_file() {
                    found.push((stem.to_owned(), format!("src/bin/{file_name}")));
                }
            }
        }
        for (name, path) in found {
            if !names.contains(&name) && !explicit_paths.contains(path.as_str()) {
                names.insert(name);
            }
        }
    }
    names.into_iter().collect()
}

/// Which folders the root `[workspace]` makes members: those its `members` globs match
/// (expanded by discovery), less the folders under an `exclude` path. A member written
/// without glob characters is never excluded, as in Cargo.
pub(crate) struct CargoMembers<'a> {
    workspace: &'a CargoWorkspace,
    literal: BTreeSet<RepoPath>,
}

impl<'a> CargoMembers<'a> {
    pub(crate) fn new(workspace: &'a CargoWorkspace) -> Self {
        let literal = workspace
            .members
            .iter()
            .filter(|m| !m.contains(['*', '?', '[', '{']))
            .filter_map(|m| RepoPath::new(m).ok())
            .collect();
        Self { workspace, literal }
    }

    /// Whether `dir` lies under an `exclude` path and is not a literal member.
    pub(crate) fn excluded(&self, dir: &RepoPath) -> bool {
        !self.literal.contains(dir)
            && self
                .workspace
                .exclude
                .iter()
                .filter_map(|e| RepoPath::new(e).ok())
                .any(|e| dir.starts_with(&e))
    }
}

/// The folders the path dependencies of the crate in `dir` point to, inside the repository:
/// `path = ...` (relative to `dir`) and `workspace = true` entries whose
/// `[workspace.dependencies]` entry has a path (relative to the root).
pub(crate) fn path_dependency_dirs<'a>(
    root: &'a AbsPath,
    dir: &'a RepoPath,
    manifest: &'a CargoManifest,
    workspace: &'a CargoWorkspace,
) -> impl Iterator<Item = RepoPath> + 'a {
    manifest
        .dependencies
        .iter()
        .filter_map(move |dep| match (&dep.path, dep.workspace) {
            (Some(path), _) => resolve(root, dir, path),
            (None, true) => workspace
                .dependencies
                .get(&dep.key)
                .and_then(|d| d.path.as_deref())
                .and_then(|p| resolve(root, &RepoPath::root(), p)),
            (None, false) => None,
        })
}

/// The package name of a workspace member's crate.
pub(crate) fn package_name(
    dir: &RepoPath,
    manifest: &CargoManifest,
) -> Result<PackageName, WorkspaceError> {
    let path = manifest_path(dir, Language::Rust);
    match &manifest.package {
        Some(package) => checked_name(&path, &package.name),
        None => Err(WorkspaceError::MissingName {
            manifest: path,
            key: "`[package] name`",
            help: "a workspace member's Cargo.toml needs a `[package]` with a `name`",
        }),
    }
}

/// The packages the crate in `dir` depends on: the members its `path` dependencies point
/// to, and, for `workspace = true` entries, the path of the `[workspace.dependencies]`
/// entry; a dependency without a path may be a root `[patch]` of a member.
pub(crate) fn internal_dependencies(
    dir: &RepoPath,
    manifest: &CargoManifest,
    lookup: &Lookup<'_>,
) -> Vec<PackageName> {
    let mut out = Vec::new();
    for dep in &manifest.dependencies {
        let workspace_dep = dep
            .workspace
            .then(|| lookup.cargo_workspace?.dependencies.get(&dep.key))
            .flatten();
        let target = match (&dep.path, workspace_dep) {
            (Some(path), _) => lookup.resolve(dir, path),
            (None, Some(ws_dep)) => match &ws_dep.path {
                Some(path) => lookup.resolve(&RepoPath::root(), path),
                None => lookup.cargo_patches.get(ws_dep.crate_name()).cloned(),
            },
            (None, None) => lookup.cargo_patches.get(dep.crate_name()).cloned(),
        };
        out.extend(lookup.by_dir(target));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_members_exclude_and_dependencies() {
        let text = r#"
[workspace]
members = ["crates/*", "tools/gen"]
exclude = ["crates/experimental"]

[workspace.dependencies]
core = { path = "crates/core", package = "acme-core" }
serde = "1"
"#;
        let manifest = parse_cargo_toml(text).unwrap();
        let ws = manifest.workspace.unwrap();
        assert_eq!(ws.members, ["crates/*", "tools/gen"]);
        assert_eq!(ws.exclude, ["crates/experimental"]);
        let core = &ws.dependencies["core"];
        assert_eq!(core.path.as_deref(), Some("crates/core"));
        assert_eq!(core.crate_name(), "acme-core");
        assert_eq!(ws.dependencies["serde"].path, None);
        assert!(manifest.package.is_none());
    }

    #[test]
    fn every_dependency_table_with_paths_workspace_and_renames() {
        let text = r#"
[package]
name = "acme-server"
version.workspace = true

[dependencies]
core = { workspace = true }
utils = { path = "../utils", package = "acme-utils" }
serde = { version = "1", features = ["derive"] }
anyhow = "1"

[dev-dependencies]
testkit = { path = "../testkit" }

[build-dependencies.codegen]
path = "../codegen"

[target.'cfg(unix)'.dependencies]
unix-only = { path = "../unix-only" }

[target.'cfg(windows)'.dev-dependencies]
win-test = { workspace = true }

[[bin]]
name = "acme"
path = "src/cli.rs"

[patch.crates-io]
left-pad = { path = "vendor/left-pad" }
"#;
        let manifest = parse_cargo_toml(text).unwrap();
        assert_eq!(manifest.package.as_ref().unwrap().name, "acme-server");
        let deps: Vec<_> = manifest
            .dependencies
            .iter()
            .map(|d| {
                (
                    d.key.as_str(),
                    d.crate_name(),
                    d.path.as_deref(),
                    d.workspace,
                )
            })
            .collect();
        assert_eq!(
            deps,
            [
                ("anyhow", "anyhow", None, false),
                ("core", "core", None, true),
                ("serde", "serde", None, false),
                ("utils", "acme-utils", Some("../utils"), false),
                ("testkit", "testkit", Some("../testkit"), false),
                ("codegen", "codegen", Some("../codegen"), false),
                ("unix-only", "unix-only", Some("../unix-only"), false),
                ("win-test", "win-test", None, true),
            ]
        );
        assert_eq!(manifest.bins[0].name.as_deref(), Some("acme"));
        assert_eq!(
            manifest.patches,
            [("left-pad".to_owned(), "vendor/left-pad".to_owned())]
        );
    }

    #[test]
    fn syntax_error_has_line() {
        let err = parse_cargo_toml("[package]\nname = \"a\"\nversion = \n").unwrap_err();
        assert_eq!(err.line, 3);
        let err = parse_cargo_toml("[workspace]\nmembers = \"crates/*\"\n").unwrap_err();
        assert_eq!(err.line, 2);
    }

    #[test]
    fn binaries_found_and_declared() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        for file in [
            "src/main.rs",
            "src/bin/tool.rs",
            "src/bin/multi/main.rs",
            "src/cli.rs",
        ] {
            std::fs::create_dir_all(dir.join(file).parent().unwrap()).unwrap();
            std::fs::write(dir.join(file), "fn main() {}").unwrap();
        }
        let mut manifest = parse_cargo_toml(
            "[package]\nname = \"app\"\n[[bin]]\nname = \"cli\"\npath = \"src/cli.rs\"\n[[bin]]\nname = \"renamed\"\npath = \"src/bin/tool.rs\"\n",
        )
        .unwrap();
        assert_eq!(binaries(&manifest, dir), ["app", "cli", "multi", "renamed"]);
        manifest.package.as_mut().unwrap().autobins = false;
        assert_eq!(binaries(&manifest, dir), ["cli", "renamed"]);
    }

    #[test]
    fn library_has_no_binaries() {
        let tmp = tempfile::tempdir().unwrap();
        let manifest = parse_cargo_toml("[package]\nname = \"lib\"\n").unwrap();
        assert!(binaries(&manifest, tmp.path()).is_empty());
    }
}
