//! Finding the packages of a repository and the dependencies between them.
//!
//! The steps, in order (docs/packages.md tells the same for users):
//!
//! 1. Read the root files: package.json, pnpm-workspace.yaml, Cargo.toml, go.work, go.mod,
//!    pyproject.toml.
//! 2. List package folders: the node globs (pnpm-workspace.yaml `packages`, else package.json
//!    `workspaces`) matching folders with a package.json; Cargo `[workspace] members` globs
//!    matching folders with a Cargo.toml, less `exclude`; go.work `use` folders; uv's
//!    `[tool.uv.workspace] members` globs matching folders with a pyproject.toml, less
//!    `exclude`; and the root config's `workspaces` globs, each folder typed by the first of
//!    package.json, Cargo.toml, go.mod, pyproject.toml / requirements.txt it holds, or generic
//!    when it holds only a turbo.toml / turbo.json.
//! 3. Parse every listed manifest, in parallel. Path dependencies of Cargo members that lie
//!    inside the repository become members too, as Cargo makes them.
//! 4. Load each package folder's turbo.toml / turbo.json.
//! 5. Decide each folder's one package: its language is the first of node, rust, go, python,
//!    generic
//!    that lists it (a warning when two package managers do); name it.
//! 6. Name Go modules: the module path's last element, or the full path when taken.
//! 7. Check names are unique, resolve dependencies of every manifest in play for the folder
//!    and of turbo.toml `dependencies`, then build the graph and check it has no cycle.
//! 8. For each Go package, read the heads of its module's .go files, in parallel, to tell
//!    whether it has a `main` package (`go_main_packages`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use mono_config::{did_you_mean, PackageConfig, RootConfig};
use mono_paths::{AbsPath, RepoPath};
use mono_task_id::PackageName;
use rayon::prelude::*;

use crate::cargo::{binaries, parse_cargo_toml, CargoManifest};
use crate::error::ExtendsProblem;
use crate::error::FileKind;
use crate::glob::{BadPattern, Patterns};
use crate::gomod::{parse_go_mod, parse_go_work, GoMod};
use crate::gosrc::has_main_package;
use crate::node::{
    dependency_target, links_workspace_packages, parse_package_json, parse_pnpm_workspace,
    version_satisfies, DependencyTarget, PackageJson, PnpmSettings, Requirement,
};
use crate::python::{self, PythonManifest};
use crate::{Language, Package, PackageGraph, WorkspaceError, WorkspaceWarning};

/// Finds every package of the repository at `root` and builds the package graph.
///
/// `config` is the root turbo.toml / turbo.json (its `workspaces` globs add package folders
/// that no package manager lists). Every problem found is reported, in a stable order:
/// [`WorkspaceError::Many`] when there are several.
pub fn discover(root: &AbsPath, config: &RootConfig) -> Result<PackageGraph, WorkspaceError> {
    Discovery {
        root,
        config,
        package_configs: PackageConfigs::Checked,
        warnings: Vec::new(),
        errors: Vec::new(),
    }
    .run()
}

/// Like [`discover`], for listing packages (`mono ls`, as `turbo ls`): a package config
/// (a package's turbo.json or turbo.toml) that does not load is not an error. The package is
/// listed without it, and a [`WorkspaceWarning::UncheckedPackageConfig`] names the file; a
/// run still reports its problems.
pub fn discover_for_listing(
    root: &AbsPath,
    config: &RootConfig,
) -> Result<PackageGraph, WorkspaceError> {
    Discovery {
        root,
        config,
        package_configs: PackageConfigs::Lenient,
        warnings: Vec::new(),
        errors: Vec::new(),
    }
    .run()
}

/// What a package config that does not load is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PackageConfigs {
    /// An error: every command but a listing needs the package's tasks.
    Checked,
    /// A warning: the package is listed without its config.
    Lenient,
}

/// Which package managers (or the root config) list a folder, each with the file that does.
#[derive(Debug, Default, Clone)]
struct Listing {
    node: Option<String>,
    rust: Option<String>,
    go: Option<String>,
    python: Option<String>,
    generic: bool,
}

impl Listing {
    fn languages(&self) -> Vec<Language> {
        let mut out = Vec::new();
        if self.node.is_some() {
            out.push(Language::Node);
        }
        if self.rust.is_some() {
            out.push(Language::Rust);
        }
        if self.go.is_some() {
            out.push(Language::Go);
        }
        if self.python.is_some() {
            out.push(Language::Python);
        }
        if self.generic {
            out.push(Language::Generic);
        }
        out
    }
}

/// The parsed manifests of the folders in play.
#[derive(Default)]
struct Manifests {
    node: BTreeMap<RepoPath, PackageJson>,
    cargo: BTreeMap<RepoPath, (CargoManifest, Vec<String>)>,
    go: BTreeMap<RepoPath, GoMod>,
    /// Each Python folder's manifest and the file it was read from (pyproject.toml, else
    /// requirements.txt).
    python: BTreeMap<RepoPath, (PythonManifest, RepoPath)>,
    configs: BTreeMap<RepoPath, PackageConfig>,
}

enum Parsed {
    Node(PackageJson),
    Cargo(CargoManifest, Vec<String>),
    Go(GoMod),
    Python(PythonManifest, RepoPath),
}

struct Discovery<'a> {
    root: &'a AbsPath,
    config: &'a RootConfig,
    package_configs: PackageConfigs,
    warnings: Vec<WorkspaceWarning>,
    errors: Vec<WorkspaceError>,
}

fn file(name: &str) -> RepoPath {
    RepoPath::new(name).expect("a file name is a valid repo path")
}

fn manifest_path(dir: &RepoPath, language: Language) -> RepoPath {
    dir.join(language.manifest_file())
        .expect("a file name is a valid repo path")
}

/// Whether the repo file `path` exists as a regular file (or a symlink to one): `Ok(false)`
/// when nothing is there, an error naming it when something else is (a directory, a
/// dangling symlink, a FIFO: checked without opening it, which for a FIFO would block).
pub(crate) fn regular_file(root: &AbsPath, path: &RepoPath) -> Result<bool, WorkspaceError> {
    let abs = root.join_repo(path);
    let io = |source| WorkspaceError::Io {
        path: path.clone(),
        source,
    };
    let meta = match std::fs::symlink_metadata(abs.as_path()) {
        Ok(meta) => meta,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(err) => return Err(io(err)),
    };
    let meta = if meta.file_type().is_symlink() {
        match std::fs::metadata(abs.as_path()) {
            Ok(meta) => meta,
            Err(err)
                if err.kind() == std::io::ErrorKind::NotFound
                    || err.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) =>
            {
                return Err(WorkspaceError::NotAFile {
                    path: path.clone(),
                    kind: FileKind::DanglingSymlink,
                })
            }
            Err(err) => return Err(io(err)),
        }
    } else {
        meta
    };
    use std::os::unix::fs::FileTypeExt;
    let kind = meta.file_type();
    let not = |kind| {
        Err(WorkspaceError::NotAFile {
            path: path.clone(),
            kind,
        })
    };
    if kind.is_file() {
        Ok(true)
    } else if kind.is_dir() {
        not(FileKind::Directory)
    } else if kind.is_fifo() {
        not(FileKind::Fifo)
    } else if kind.is_socket() {
        not(FileKind::Socket)
    } else {
        not(FileKind::Device)
    }
}

/// The first lines of a lockfile (where `lockfileVersion` is), without reading megabytes.
fn lockfile_head(path: &AbsPath) -> Option<String> {
    use std::io::Read;
    let mut head = Vec::with_capacity(512);
    std::fs::File::open(path.as_path())
        .ok()?
        .take(512)
        .read_to_end(&mut head)
        .ok()?;
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// The largest manifest or workspace file read (package.json, Cargo.toml, go.mod, go.work,
/// pnpm-workspace.yaml), in bytes. Real package.json files are a few KiB, rarely a few
/// hundred; lockfiles, which can be larger, are not read here.
pub const MAX_MANIFEST_SIZE: u64 = 4 << 20;

/// Reads a repo file; `None` when it does not exist.
fn read_optional(root: &AbsPath, path: &RepoPath) -> Result<Option<String>, WorkspaceError> {
    if !regular_file(root, path)? {
        return Ok(None);
    }
    read_capped(root, path).map(Some)
}

fn read(root: &AbsPath, path: &RepoPath) -> Result<String, WorkspaceError> {
    regular_file(root, path)?;
    read_capped(root, path)
}

/// Reads at most [`MAX_MANIFEST_SIZE`] bytes of a file known to be regular.
fn read_capped(root: &AbsPath, path: &RepoPath) -> Result<String, WorkspaceError> {
    use std::io::Read;
    let mut text = String::new();
    let size = std::fs::File::open(root.join_repo(path).as_path())
        .and_then(|file| file.take(MAX_MANIFEST_SIZE + 1).read_to_string(&mut text))
        .map_err(|source| WorkspaceError::Io {
            path: path.clone(),
            source,
        })?;
    if size as u64 > MAX_MANIFEST_SIZE {
        return Err(WorkspaceError::TooLarge {
            path: path.clone(),
            limit: MAX_MANIFEST_SIZE,
        });
    }
    Ok(text)
}

/// `rel` (a path written in a manifest in `base`) as a repo path; `None` when it leaves the
/// repository.
fn resolve(root: &AbsPath, base: &RepoPath, rel: &str) -> Option<RepoPath> {
    let rel = rel.replace('\\', "/");
    if Path::new(&rel).is_absolute() {
        let abs = AbsPath::new(&rel)?;
        let inside = resolve(root, &RepoPath::root(), abs.strip_root(root)?.as_str())?;
        return Some(inside);
    }
    base.resolve(&rel)
}

/// The short name of a Go module: its last path element, or the one before a major version
/// suffix (`example.com/lib/v2` is `lib`).
fn go_short_name(module: &str) -> &str {
    let mut parts = module.rsplit('/');
    let last = parts.next().unwrap_or(module);
    let is_major =
        last.len() > 1 && last.starts_with('v') && last[1..].bytes().all(|b| b.is_ascii_digit());
    match (is_major, parts.next()) {
        (true, Some(before)) => before,
        _ => last,
    }
}

fn package_name(manifest: &RepoPath, name: &str) -> Result<PackageName, WorkspaceError> {
    PackageName::new(name).map_err(|source| WorkspaceError::InvalidName {
        manifest: manifest.clone(),
        name: name.to_owned(),
        source,
    })
}

/// A package being assembled, before names are final and dependencies resolved.
struct Draft {
    dir: RepoPath,
    language: Language,
    /// The languages whose manifests are in play (their dependencies count).
    in_play: Vec<Language>,
    name: Option<PackageName>,
    /// The manifest that makes it a package.
    manifest: RepoPath,
}

/// The manifest of a package of `language` in `dir`: its package.json, Cargo.toml or go.mod,
/// or for a generic package the config file it has.
fn package_manifest(
    dir: &RepoPath,
    language: Language,
    config: Option<&PackageConfig>,
) -> RepoPath {
    match (language, config) {
        (Language::Generic, Some(config)) => config.source.path().clone(),
        (language, _) => manifest_path(dir, language),
    }
}

impl Discovery<'_> {
    fn run(mut self) -> Result<PackageGraph, WorkspaceError> {
        let root = self.root;
        let config_file = self
            .config
            .source
            .as_ref()
            .map_or_else(|| file("turbo.toml"), |s| s.path().clone());

        // 1. The root files.
        let root_package_json = self.parse_root(&file("package.json"), parse_package_json);
        let pnpm = self.parse_root(&file("pnpm-workspace.yaml"), parse_pnpm_workspace);
        let root_cargo = self.parse_root(&file("Cargo.toml"), parse_cargo_toml);
        let go_work = self.parse_root(&file("go.work"), |t| {
            parse_go_work(t).map_err(|e| crate::error::ParseError::at_line(e.message, e.line))
        });
        let root_pyproject = self.parse_root(&file("pyproject.toml"), python::parse_pyproject);
        if !self.errors.is_empty() {
            return Err(self.fail());
        }

        // 2. Package folders.
        let mut listings: BTreeMap<RepoPath, Listing> = BTreeMap::new();
        let root_go_in_play = match &go_work {
            Some(work) => work
                .uses
                .iter()
                .any(|(dir, _)| resolve(root, &RepoPath::root(), dir) == Some(RepoPath::root())),
            None => root.join("go.mod").as_path().is_file(),
        };

        let node_globs = match (&pnpm, &root_package_json) {
            // As pnpm (and turbo, silently): pnpm-workspace.yaml wins over package.json's
            // `workspaces`, which repositories often keep for other tools.
            (Some(globs), _) => Some((file("pnpm-workspace.yaml"), globs.clone())),
            (None, Some(package_json)) => package_json
                .workspaces
                .clone()
                .map(|globs| (file("package.json"), globs)),
            (None, None) => None,
        };
        if let Some((list_file, globs)) = node_globs {
            for dir in self.expand(&list_file, globs.iter().map(String::as_str)) {
                if self.has_manifest(&manifest_path(&dir, Language::Node)) {
                    listings.entry(dir).or_default().node = Some(list_file.to_string());
                }
            }
        }

        let cargo_workspace = root_cargo.as_ref().and_then(|c| c.workspace.clone());
        let cargo_excluded = |dir: &RepoPath, literal: &BTreeSet<RepoPath>| -> bool {
            let Some(ws) = &cargo_workspace else {
                return true;
            };
            !literal.contains(dir)
                && ws
                    .exclude
                    .iter()
                    .filter_map(|e| RepoPath::new(e).ok())
                    .any(|e| dir.starts_with(&e))
        };
        let cargo_literal: BTreeSet<RepoPath> = cargo_workspace
            .iter()
            .flat_map(|ws| ws.members.iter())
            .filter(|m| !m.contains(['*', '?', '[', '{']))
            .filter_map(|m| RepoPath::new(m).ok())
            .collect();
        let mut cargo_members: BTreeSet<RepoPath> = BTreeSet::new();
        if let Some(ws) = &cargo_workspace {
            for dir in self.expand(&file("Cargo.toml"), ws.members.iter().map(String::as_str)) {
                if !cargo_excluded(&dir, &cargo_literal)
                    && self.has_manifest(&manifest_path(&dir, Language::Rust))
                {
                    cargo_members.insert(dir.clone());
                    listings.entry(dir).or_default().rust = Some("Cargo.toml".to_owned());
                }
            }
        }

        if let Some(work) = &go_work {
            for (written, line) in &work.uses {
                let listed_by = format!("go.work:{line}");
                let Some(dir) = resolve(root, &RepoPath::root(), written) else {
                    self.warnings.push(WorkspaceWarning::PatternOutsideRoot {
                        file: file("go.work"),
                        pattern: written.clone(),
                    });
                    continue;
                };
                if dir.is_root() {
                    continue;
                }
                if !self.has_manifest(&manifest_path(&dir, Language::Go)) {
                    self.errors.push(WorkspaceError::MissingManifest {
                        dir,
                        manifest: "go.mod",
                        listed_by,
                    });
                    continue;
                }
                listings.entry(dir).or_default().go = Some(listed_by);
            }
        }

        // uv workspace members: folders with a pyproject.toml, less `exclude`.
        let mut uv_members: BTreeSet<RepoPath> = BTreeSet::new();
        if let Some((members, exclude)) = root_pyproject.as_ref().and_then(|p| p.workspace.as_ref())
        {
            let pyproject = file("pyproject.toml");
            let excluded: BTreeSet<RepoPath> = self
                .expand(&pyproject, exclude.iter().map(String::as_str))
                .into_iter()
                .collect();
            for dir in self.expand(&pyproject, members.iter().map(String::as_str)) {
                if !excluded.contains(&dir)
                    && root
                        .join_repo(&manifest_path(&dir, Language::Python))
                        .as_path()
                        .is_file()
                {
                    uv_members.insert(dir.clone());
                    listings.entry(dir).or_default().python = Some("pyproject.toml".to_owned());
                }
            }
        }

        let extra_globs: Vec<&str> = self
            .config
            .workspaces
            .iter()
            .map(|w| w.value.as_str())
            .collect();
        for dir in self.expand(&config_file, extra_globs) {
            if listings.contains_key(&dir) {
                continue;
            }
            let mut has = |name: &str| {
                let path = dir.join(name).expect("a file name is a valid repo path");
                self.has_manifest(&path)
            };
            let listed_by = Some(config_file.to_string());
            let listing = if has("package.json") {
                Listing {
                    node: listed_by,
                    ..Listing::default()
                }
            } else if has("Cargo.toml") {
                Listing {
                    rust: listed_by,
                    ..Listing::default()
                }
            } else if has("go.mod") {
                Listing {
                    go: listed_by,
                    ..Listing::default()
                }
            } else if has("pyproject.toml") || has("requirements.txt") {
                Listing {
                    python: listed_by,
                    ..Listing::default()
                }
            } else if has("turbo.toml") || has("turbo.json") || has("turbo.jsonc") {
                Listing {
                    generic: true,
                    ..Listing::default()
                }
            } else {
                continue;
            };
            listings.insert(dir, listing);
        }

        // 3. Parse the listed manifests.
        let mut manifests = Manifests::default();
        let jobs: Vec<(RepoPath, Language)> = listings
            .iter()
            .flat_map(|(dir, listing)| {
                listing
                    .languages()
                    .into_iter()
                    .filter(|l| *l != Language::Generic)
                    .map(move |l| (dir.clone(), l))
            })
            .collect();
        self.parse_all(jobs, &mut manifests);
        // The root's own manifests.
        if let Some(package_json) = &root_package_json {
            manifests
                .node
                .insert(RepoPath::root(), package_json.clone());
        }
        if let Some(cargo) = root_cargo.as_ref().filter(|c| c.package.is_some()) {
            let bins = binaries(cargo, root.as_path());
            manifests
                .cargo
                .insert(RepoPath::root(), (cargo.clone(), bins));
        }
        if root_go_in_play {
            self.parse_all(vec![(RepoPath::root(), Language::Go)], &mut manifests);
        }
        // The root pyproject.toml is a package of its own only with a `[project] name` (a uv
        // workspace root is often virtual).
        if let Some(pyproject) = root_pyproject.as_ref().filter(|p| p.name.is_some()) {
            manifests.python.insert(
                RepoPath::root(),
                (pyproject.clone(), file("pyproject.toml")),
            );
        }

        // Cargo makes path dependencies of members that lie inside the workspace members
        // too, unless excluded; only members count (not crates the root config's `workspaces`
        // adds, which Cargo does not know).
        if let Some(ws) = &cargo_workspace {
            let mut members = cargo_members;
            if manifests.cargo.contains_key(&RepoPath::root()) {
                members.insert(RepoPath::root());
            }
            let mut frontier = members.clone();
            while !frontier.is_empty() {
                let mut new = BTreeSet::new();
                for dir in &frontier {
                    let Some((manifest, _)) = manifests.cargo.get(dir) else {
                        continue;
                    };
                    for dep in &manifest.dependencies {
                        let target = match (&dep.path, dep.workspace) {
                            (Some(path), _) => resolve(root, dir, path),
                            (None, true) => ws
                                .dependencies
                                .get(&dep.key)
                                .and_then(|d| d.path.as_deref())
                                .and_then(|p| resolve(root, &RepoPath::root(), p)),
                            (None, false) => None,
                        };
                        let Some(target) = target else { continue };
                        if !members.contains(&target)
                            && !cargo_excluded(&target, &cargo_literal)
                            && self.has_manifest(&manifest_path(&target, Language::Rust))
                        {
                            new.insert(target);
                        }
                    }
                }
                let mut jobs = Vec::new();
                for dir in &new {
                    members.insert(dir.clone());
                    let listing = listings.entry(dir.clone()).or_default();
                    if listing.rust.is_none() {
                        listing.rust =
                            Some("Cargo.toml (a path dependency of a member)".to_owned());
                    }
                    if !manifests.cargo.contains_key(dir) {
                        jobs.push((dir.clone(), Language::Rust));
                    }
                }
                self.parse_all(jobs, &mut manifests);
                frontier = new;
            }
        }

        // 4. Package configs.
        let dirs: Vec<&RepoPath> = listings.keys().collect();
        let loaded: Vec<_> = dirs
            .par_iter()
            .map(|dir| (*dir, mono_config::load_package(root, dir)))
            .collect();
        for (dir, result) in loaded {
            match result {
                Ok(Some(config)) => {
                    manifests.configs.insert(dir.clone(), config);
                }
                Ok(None) => {}
                Err(errors) if self.package_configs == PackageConfigs::Lenient => {
                    self.warnings
                        .push(WorkspaceWarning::UncheckedPackageConfig {
                            file: errors.file,
                            problems: errors.errors.len(),
                        });
                }
                Err(errors) => self.errors.push(WorkspaceError::Config(errors)),
            }
        }
        // Errors so far are reported with the naming problems below; folders whose manifest
        // or config did not parse are left out of the rest.

        // 5. One package per folder.
        let mut drafts: Vec<Draft> = Vec::new();
        let root_in_play: Vec<Language> = [
            (Language::Node, root_package_json.is_some()),
            (
                Language::Rust,
                manifests.cargo.contains_key(&RepoPath::root()),
            ),
            (Language::Go, manifests.go.contains_key(&RepoPath::root())),
            (
                Language::Python,
                manifests.python.contains_key(&RepoPath::root()),
            ),
        ]
        .into_iter()
        .filter_map(|(l, yes)| yes.then_some(l))
        .collect();
        let root_language = root_in_play.first().copied().unwrap_or(Language::Generic);
        if root_in_play.len() > 1 {
            self.warnings.push(WorkspaceWarning::ListedTwice {
                dir: RepoPath::root(),
                kept: root_language,
                ignored: root_in_play[1..].to_vec(),
            });
        }
        drafts.push(Draft {
            dir: RepoPath::root(),
            language: root_language,
            in_play: root_in_play,
            name: Some(PackageName::root()),
            manifest: match root_language {
                Language::Generic => config_file.clone(),
                language => manifest_path(&RepoPath::root(), language),
            },
        });
        for (dir, listing) in &listings {
            // A folder whose manifest failed to parse was reported; a listed one is parsed.
            let in_play: Vec<Language> = listing
                .languages()
                .into_iter()
                .filter(|l| match l {
                    Language::Node => manifests.node.contains_key(dir),
                    Language::Rust => manifests.cargo.contains_key(dir),
                    Language::Go => manifests.go.contains_key(dir),
                    Language::Python => manifests.python.contains_key(dir),
                    Language::Generic => true,
                })
                .collect();
            let Some(&language) = in_play.first() else {
                continue;
            };
            if in_play.len() > 1 {
                self.warnings.push(WorkspaceWarning::ListedTwice {
                    dir: dir.clone(),
                    kept: language,
                    ignored: in_play[1..].to_vec(),
                });
            }
            let name = match language {
                Language::Node => {
                    let manifest = manifest_path(dir, language);
                    match manifests.node[dir].name.as_deref() {
                        Some(name) => Some(package_name(&manifest, name)),
                        None => Some(Err(WorkspaceError::MissingName {
                            manifest,
                            key: "`name`",
                            help:
                                "a workspace package.json needs a `name`: it is the package's name",
                        })),
                    }
                }
                Language::Rust => {
                    let manifest = manifest_path(dir, language);
                    match &manifests.cargo[dir].0.package {
                        Some(package) => Some(package_name(&manifest, &package.name)),
                        None => Some(Err(WorkspaceError::MissingName {
                            manifest,
                            key: "`[package] name`",
                            help:
                                "a workspace member's Cargo.toml needs a `[package]` with a `name`",
                        })),
                    }
                }
                // Named once every other package is.
                Language::Go => None,
                Language::Python => {
                    let (pyproject, manifest) = &manifests.python[dir];
                    let config_name = manifests.configs.get(dir).and_then(|c| c.name.as_ref());
                    match (&pyproject.name, config_name) {
                        (Some(name), _) => Some(package_name(manifest, name)),
                        (None, Some(name)) => Some(package_name(
                            manifests.configs[dir].source.path(),
                            &name.value,
                        )),
                        // A uv member without `[project]` is a virtual package, not a member
                        // uv builds; mono skips it as uv does.
                        (None, None) if listing.python.as_deref() == Some("pyproject.toml") => {
                            continue
                        }
                        (None, None) if manifest.file_name() == Some("requirements.txt") => dir
                            .file_name()
                            .map(|folder| package_name(manifest, &python::normalize_name(folder))),
                        (None, None) => Some(Err(WorkspaceError::MissingName {
                            manifest: manifest.clone(),
                            key: "`[project] name`",
                            help: "a Python package's pyproject.toml needs `[project]` with a \
                                   `name` (or its turbo.toml a `name = \"...\"`)",
                        })),
                    }
                }
                Language::Generic => {
                    let config = manifests.configs.get(dir);
                    match config.and_then(|c| c.name.as_ref()) {
                        Some(name) => Some(package_name(
                            config.expect("has a name").source.path(),
                            &name.value,
                        )),
                        None => Some(Err(WorkspaceError::MissingName {
                            manifest: config.map_or_else(
                                || manifest_path(dir, Language::Generic),
                                |c| c.source.path().clone(),
                            ),
                            key: "`name`",
                            help: "a folder with no package.json, Cargo.toml or go.mod is a \
                                   package only when its turbo.toml names it: name = \"...\"",
                        })),
                    }
                }
            };
            let name = match name {
                Some(Ok(name)) => Some(name),
                Some(Err(error)) => {
                    self.errors.push(error);
                    continue;
                }
                None => None,
            };
            let manifest = match (language, manifests.python.get(dir)) {
                (Language::Python, Some((_, manifest))) => manifest.clone(),
                _ => package_manifest(dir, language, manifests.configs.get(dir)),
            };
            drafts.push(Draft {
                dir: dir.clone(),
                language,
                in_play,
                name,
                manifest,
            });
        }
        for (dir, _) in manifests.go.iter().filter(|(_, m)| m.module.is_none()) {
            self.errors.push(WorkspaceError::MissingName {
                manifest: manifest_path(dir, Language::Go),
                key: "`module` directive",
                help: "a go.mod starts with `module example.com/path`",
            });
        }

        // 6. Go names: the short name unless another package has it or two modules share it.
        let taken: BTreeSet<&str> = drafts
            .iter()
            .filter_map(|d| d.name.as_ref())
            .map(PackageName::as_str)
            .collect();
        let mut short_count: BTreeMap<&str, usize> = BTreeMap::new();
        for draft in drafts.iter().filter(|d| d.language == Language::Go) {
            if let Some((module, _)) = manifests.go.get(&draft.dir).and_then(|m| m.module.as_ref())
            {
                *short_count.entry(go_short_name(module)).or_default() += 1;
            }
        }
        let mut go_names = Vec::new();
        for (i, draft) in drafts
            .iter()
            .enumerate()
            .filter(|(_, d)| d.language == Language::Go)
        {
            let Some((module, _)) = manifests.go.get(&draft.dir).and_then(|m| m.module.as_ref())
            else {
                continue;
            };
            if draft.dir.is_root() {
                continue;
            }
            let short = go_short_name(module);
            let name = if taken.contains(short) || short_count[short] > 1 {
                module.as_str()
            } else {
                short
            };
            match package_name(&manifest_path(&draft.dir, Language::Go), name) {
                Ok(name) => go_names.push((i, name)),
                Err(error) => self.errors.push(error),
            }
        }
        for (i, name) in go_names {
            drafts[i].name = Some(name);
        }
        drafts.retain(|d| d.name.is_some());

        // 7. Unique names.
        let mut by_name: BTreeMap<&PackageName, Vec<&RepoPath>> = BTreeMap::new();
        for draft in &drafts {
            let name = draft.name.as_ref().expect("named above");
            by_name.entry(name).or_default().push(&draft.manifest);
        }
        for (name, manifests) in &by_name {
            for second in &manifests[1..] {
                self.errors.push(WorkspaceError::DuplicatePackage {
                    name: (*name).clone(),
                    first: manifests[0].clone(),
                    second: (*second).clone(),
                });
            }
        }
        if !self.errors.is_empty() {
            return Err(self.fail());
        }

        // Dependencies.
        let name_of_dir: BTreeMap<&RepoPath, &PackageName> = drafts
            .iter()
            .map(|d| (&d.dir, d.name.as_ref().expect("named")))
            .collect();
        let node_names: BTreeMap<&str, &Draft> = drafts
            .iter()
            .filter(|d| d.language == Language::Node && !d.dir.is_root())
            .map(|d| (d.name.as_ref().expect("named").as_str(), d))
            .collect();
        let link = self.links_workspace_packages(root_package_json.as_ref(), pnpm.is_some());
        let go_modules: BTreeMap<&str, &PackageName> = drafts
            .iter()
            .filter(|d| d.in_play.contains(&Language::Go))
            .filter_map(|d| {
                let (module, _) = manifests.go.get(&d.dir)?.module.as_ref()?;
                Some((module.as_str(), d.name.as_ref().expect("named")))
            })
            .collect();
        let cargo_patches: BTreeMap<&str, RepoPath> = root_cargo
            .iter()
            .flat_map(|c| c.patches.iter())
            .filter_map(|(name, path)| {
                Some((name.as_str(), resolve(root, &RepoPath::root(), path)?))
            })
            .collect();
        let python_names: BTreeMap<String, &PackageName> = drafts
            .iter()
            .filter(|d| d.in_play.contains(&Language::Python))
            .filter_map(|d| {
                let name = manifests.python.get(&d.dir)?.0.name.clone()?;
                Some((name, d.name.as_ref().expect("named")))
            })
            .collect();
        let all_names: Vec<&str> = by_name.keys().map(|n| n.as_str()).collect();
        // 8. Go modules with a `main` package.
        let go_mains: BTreeSet<&RepoPath> = drafts
            .par_iter()
            .filter(|d| d.language == Language::Go)
            .filter(|d| has_main_package(root.join_repo(&d.dir).as_path()))
            .map(|d| &d.dir)
            .collect();

        let mut packages = Vec::with_capacity(drafts.len());
        for draft in &drafts {
            let name = draft.name.clone().expect("named");
            let dir = &draft.dir;
            let mut dependencies = BTreeSet::new();
            let by_dir = |target: Option<RepoPath>| {
                target.and_then(|t| name_of_dir.get(&t).map(|n| (*n).clone()))
            };
            for language in &draft.in_play {
                match language {
                    Language::Node => {
                        for (key, spec) in &manifests.node[dir].dependencies {
                            let Some((target, requirement)) = dependency_target(key, spec, link)
                            else {
                                continue;
                            };
                            let target_dir = match target {
                                DependencyTarget::Name(n) => node_names.get(n).map(|d| &d.dir),
                                // Relative to the package, or (yarn 4) to the root.
                                DependencyTarget::Path(p) => resolve(root, dir, p)
                                    .filter(|t| name_of_dir.contains_key(t))
                                    .or_else(|| resolve(root, &RepoPath::root(), p))
                                    .and_then(|t| name_of_dir.get_key_value(&t).map(|(d, _)| *d)),
                            };
                            let Some(target_dir) = target_dir else {
                                continue;
                            };
                            let version = manifests
                                .node
                                .get(target_dir)
                                .and_then(|m| m.version.as_deref());
                            let internal = match requirement {
                                Requirement::Always => true,
                                Requirement::InsideRepo(path) => resolve(root, dir, path).is_some(),
                                Requirement::Range(range) => version_satisfies(version, range),
                            };
                            if internal {
                                dependencies.extend(by_dir(Some(target_dir.clone())));
                            }
                        }
                    }
                    Language::Rust => {
                        for dep in &manifests.cargo[dir].0.dependencies {
                            let workspace_dep = dep
                                .workspace
                                .then(|| cargo_workspace.as_ref()?.dependencies.get(&dep.key))
                                .flatten();
                            let target = match (&dep.path, workspace_dep) {
                                (Some(path), _) => resolve(root, dir, path),
                                (None, Some(ws_dep)) => match &ws_dep.path {
                                    Some(path) => resolve(root, &RepoPath::root(), path),
                                    None => cargo_patches.get(ws_dep.crate_name()).cloned(),
                                },
                                (None, None) => cargo_patches.get(dep.crate_name()).cloned(),
                            };
                            dependencies.extend(by_dir(target));
                        }
                    }
                    Language::Go => {
                        let go_mod = &manifests.go[dir];
                        for module in &go_mod.requires {
                            dependencies
                                .extend(go_modules.get(module.as_str()).map(|n| (*n).clone()));
                        }
                        for replace in &go_mod.replaces {
                            if let Some(local) = replace.local_dir() {
                                dependencies.extend(by_dir(resolve(root, dir, local)));
                            }
                        }
                    }
                    Language::Python => {
                        let (pyproject, _) = &manifests.python[dir];
                        for requirement in &pyproject.requirements {
                            dependencies
                                .extend(python_names.get(&requirement.name).map(|n| (*n).clone()));
                        }
                        for (source_name, source) in &pyproject.sources {
                            if source.workspace {
                                dependencies
                                    .extend(python_names.get(source_name).map(|n| (*n).clone()));
                            }
                            if let Some(path) = &source.path {
                                dependencies.extend(by_dir(resolve(root, dir, path)));
                            }
                        }
                        for path in &pyproject.local_paths {
                            dependencies.extend(by_dir(resolve(root, dir, path)));
                        }
                    }
                    Language::Generic => {}
                }
            }
            // A package manager's business, not a cycle: a manifest naming its own package.
            dependencies.remove(&name);

            let config = manifests.configs.get(dir).cloned();
            if let Some(config) = &config {
                for dep in &config.dependencies {
                    match PackageName::new(dep.value.as_str())
                        .ok()
                        .filter(|n| by_name.contains_key(n))
                    {
                        Some(found) => {
                            dependencies.insert(found);
                        }
                        None => self.errors.push(WorkspaceError::UnknownDependency {
                            package: name.clone(),
                            dependency: dep.value.clone(),
                            location: dep
                                .location()
                                .unwrap_or_else(|| config.source.path().to_string()),
                            src: std::sync::Arc::new(config.source.named_source()),
                            span: dep.span.into(),
                            help: did_you_mean(&dep.value, &all_names)
                                .map(|close| format!("did you mean `{close}`?")),
                        }),
                    }
                }
                for extended in config.extended_packages() {
                    let target = PackageName::new(extended.value.as_str())
                        .ok()
                        .and_then(|n| drafts.iter().find(|d| d.name.as_ref() == Some(&n)));
                    let problem = match target {
                        None => ExtendsProblem::NotAPackage,
                        Some(d) if !manifests.configs.contains_key(&d.dir) => {
                            ExtendsProblem::NoConfig
                        }
                        Some(_) => continue,
                    };
                    self.errors.push(WorkspaceError::UnknownExtends {
                        package: name.clone(),
                        extended: extended.value.as_str().into(),
                        problem,
                        location: extended
                            .location()
                            .unwrap_or_else(|| config.source.path().to_string()),
                        src: std::sync::Arc::new(config.source.named_source()),
                        span: extended.span.into(),
                        help: match target {
                            None => did_you_mean(&extended.value, &all_names)
                                .map(|close| format!("did you mean `{close}`?")),
                            Some(_) => Some(format!(
                                "add a turbo.json to `{}`, or remove it from `extends`",
                                extended.value
                            )),
                        }
                        .map(String::into_boxed_str),
                    });
                }
                if draft.language != Language::Generic {
                    if let Some(config_name) = &config.name {
                        if config_name.value != name.as_str() {
                            self.warnings.push(WorkspaceWarning::IgnoredConfigName {
                                package: name.clone(),
                                manifest: manifest_path(dir, draft.language),
                                name: config_name.value.clone(),
                                location: config_name
                                    .location()
                                    .unwrap_or_else(|| config.source.path().to_string()),
                            });
                        }
                    }
                }
            }

            let manifest = draft.manifest.clone();
            let scripts = manifests
                .node
                .get(dir)
                .map(|p| p.scripts.clone())
                .unwrap_or_default();
            let (crate_name, rust_bins) = match manifests.cargo.get(dir) {
                Some((cargo, bins)) => {
                    (cargo.package.as_ref().map(|p| p.name.clone()), bins.clone())
                }
                None => (None, Vec::new()),
            };
            let go_module = manifests
                .go
                .get(dir)
                .and_then(|m| m.module.as_ref())
                .map(|(m, _)| m.clone());
            let python = (draft.language == Language::Python)
                .then(|| {
                    let (pyproject, manifest) = manifests.python.get(dir)?;
                    let abs = root.join_repo(dir);
                    let uses_uv = uv_members.contains(dir)
                        || pyproject.uses_uv
                        || abs.join("uv.lock").as_path().is_file();
                    Some(crate::PythonPackage {
                        uv: uses_uv && manifest.file_name() == Some("pyproject.toml"),
                        has_tests: python::has_tests(abs.as_path()),
                        ruff: pyproject.dev_names.iter().any(|n| n == "ruff"),
                        requirements: python::requirements_files(root, dir),
                    })
                })
                .flatten();
            packages.push(Package {
                name,
                dir: dir.clone(),
                language: draft.language,
                manifest,
                scripts,
                config,
                dependencies,
                go_module,
                go_main_packages: go_mains.contains(dir),
                crate_name,
                rust_bins,
                python,
            });
        }
        if !self.errors.is_empty() {
            return Err(self.fail());
        }
        PackageGraph::build(packages, self.warnings)
    }

    /// Whether plain-range dependencies link to workspace packages (see
    /// [`links_workspace_packages`]); unreadable files count as absent.
    fn links_workspace_packages(&self, package_json: Option<&PackageJson>, pnpm: bool) -> bool {
        let read = |name: &str| read_optional(self.root, &file(name)).ok().flatten();
        let package_manager = package_json.and_then(|p| p.package_manager.as_deref());
        let settings = pnpm.then(|| {
            // The lockfile only matters when package.json does not say which pnpm.
            let lockfile = match package_manager {
                Some(pm) if pm.starts_with("pnpm@") => None,
                _ => lockfile_head(&self.root.join("pnpm-lock.yaml")),
            };
            PnpmSettings::read(
                &read("pnpm-workspace.yaml").unwrap_or_default(),
                lockfile.as_deref(),
            )
        });
        links_workspace_packages(package_manager, settings, read(".npmrc").as_deref())
    }

    /// Whether a package folder's manifest exists as a regular file; one that exists as
    /// something else is recorded as an error naming it (and is not a manifest).
    fn has_manifest(&mut self, path: &RepoPath) -> bool {
        match regular_file(self.root, path) {
            Ok(present) => present,
            Err(err) => {
                self.errors.push(err);
                false
            }
        }
    }

    /// Reads and parses a root file, recording errors; `None` when it is absent or invalid.
    fn parse_root<T>(
        &mut self,
        path: &RepoPath,
        parse: impl FnOnce(&str) -> Result<T, crate::error::ParseError>,
    ) -> Option<T> {
        let text = match read_optional(self.root, path) {
            Ok(text) => text?,
            Err(error) => {
                self.errors.push(error);
                return None;
            }
        };
        match parse(&text) {
            Ok(value) => Some(value),
            Err(error) => {
                self.errors.push(WorkspaceError::syntax(path, &text, error));
                None
            }
        }
    }

    /// Expands globs listed in `list_file`, recording bad patterns.
    fn expand<'p>(
        &mut self,
        list_file: &RepoPath,
        globs: impl IntoIterator<Item = &'p str>,
    ) -> Vec<RepoPath> {
        let (patterns, bad) = Patterns::new(globs);
        for bad in bad {
            match bad {
                BadPattern::Invalid { pattern, message } => {
                    self.errors.push(WorkspaceError::InvalidPattern {
                        file: list_file.clone(),
                        pattern,
                        problem: message,
                    })
                }
                BadPattern::OutsideRoot { pattern } => {
                    self.warnings.push(WorkspaceWarning::PatternOutsideRoot {
                        file: list_file.clone(),
                        pattern,
                    })
                }
            }
        }
        patterns.expand(self.root)
    }

    /// Parses manifests in parallel into `manifests`, recording errors.
    fn parse_all(&mut self, jobs: Vec<(RepoPath, Language)>, manifests: &mut Manifests) {
        let root = self.root;
        let results: Vec<(RepoPath, Result<Parsed, WorkspaceError>)> =
            jobs.into_par_iter()
                .map(|(dir, language)| {
                    let path = match language {
                        // A Python folder without a pyproject.toml is one by its requirements.txt.
                        Language::Python
                            if !root
                                .join_repo(&manifest_path(&dir, language))
                                .as_path()
                                .is_file() =>
                        {
                            dir.join("requirements.txt")
                                .expect("a file name is a valid repo path")
                        }
                        _ => manifest_path(&dir, language),
                    };
                    let parsed = read(root, &path).and_then(|text| {
                        let parsed = match language {
                            Language::Node => parse_package_json(&text).map(Parsed::Node),
                            Language::Rust => parse_cargo_toml(&text).map(|manifest| {
                                let bins = binaries(&manifest, root.join_repo(&dir).as_path());
                                Parsed::Cargo(manifest, bins)
                            }),
                            Language::Go => parse_go_mod(&text)
                                .map(Parsed::Go)
                                .map_err(|e| crate::error::ParseError::at_line(e.message, e.line)),
                            Language::Python if path.file_name() == Some("requirements.txt") => {
                                python::parse_requirements_txt(&text)
                                    .map(|m| Parsed::Python(m, path.clone()))
                            }
                            Language::Python => python::parse_pyproject(&text)
                                .map(|m| Parsed::Python(m, path.clone())),
                            Language::Generic => {
                                unreachable!("generic folders have no manifest to parse")
                            }
                        };
                        parsed.map_err(|error| WorkspaceError::syntax(&path, &text, error))
                    });
                    (dir, parsed)
                })
                .collect();
        for (dir, result) in results {
            match result {
                Ok(Parsed::Node(package_json)) => {
                    manifests.node.insert(dir, package_json);
                }
                Ok(Parsed::Cargo(manifest, bins)) => {
                    manifests.cargo.insert(dir, (manifest, bins));
                }
                Ok(Parsed::Go(go_mod)) => {
                    manifests.go.insert(dir, go_mod);
                }
                Ok(Parsed::Python(manifest, path)) => {
                    manifests.python.insert(dir, (manifest, path));
                }
                Err(error) => self.errors.push(error),
            }
        }
    }

    /// The recorded errors, sorted by the file they name, as one error.
    fn fail(mut self) -> WorkspaceError {
        self.errors.sort_by_cached_key(|e| e.to_string());
        WorkspaceError::from_many(self.errors).expect("called with errors")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    #[test_case("example.com/acme/api", "api" ; "last element")]
    #[test_case("example.com/acme/lib/v2", "lib" ; "major version suffix")]
    #[test_case("gopkg.in/yaml.v3", "yaml.v3" ; "gopkg dot version")]
    #[test_case("tool", "tool" ; "single element")]
    #[test_case("v2", "v2" ; "bare v2")]
    fn go_short_names(module: &str, expected: &str) {
        assert_eq!(go_short_name(module), expected);
    }

    #[test]
    fn resolves_relative_paths_inside_the_root() {
        let root = AbsPath::new("/repo").unwrap();
        let base = RepoPath::new("services/api").unwrap();
        assert_eq!(
            resolve(&root, &base, "../shared").unwrap().as_str(),
            "services/shared"
        );
        assert_eq!(
            resolve(&root, &base, "./x/../y").unwrap().as_str(),
            "services/api/y"
        );
        assert_eq!(resolve(&root, &base, "../..").unwrap(), RepoPath::root());
        assert_eq!(resolve(&root, &base, "../../.."), None);
        assert_eq!(
            resolve(&root, &base, "/repo/crates/a").unwrap().as_str(),
            "crates/a"
        );
        assert_eq!(resolve(&root, &base, "/elsewhere"), None);
    }
}
