//! Steps 2 to 4 of discovery: the package folders each package manager (and the root
//! config) lists, their manifests parsed, and their package configs loaded.

use std::collections::{BTreeMap, BTreeSet};

use mono_config::PackageConfig;
use mono_paths::{AbsPath, RepoPath};
use rayon::prelude::*;

use crate::cargo::{binaries, parse_cargo_toml, CargoManifest, CargoMembers};
use crate::discover::{Discovery, PackageConfigs, RootFiles};
use crate::error::ParseError;
use crate::files::{file, manifest_path, read, resolve};
use crate::gomod::{parse_go_mod, GoMod};
use crate::node::{parse_package_json, PackageJson};
use crate::python::{self, PythonManifest};
use crate::{Language, WorkspaceError, WorkspaceWarning};

/// Which package managers (or the root config) list a folder, each with the file that does.
#[derive(Debug, Default, Clone)]
pub(crate) struct Listing {
    pub(crate) node: Option<String>,
    pub(crate) rust: Option<String>,
    pub(crate) go: Option<String>,
    pub(crate) python: Option<String>,
    pub(crate) generic: bool,
}

impl Listing {
    /// The languages that list the folder, in the order that decides its one language.
    pub(crate) fn languages(&self) -> Vec<Language> {
        [
            (Language::Node, self.node.is_some()),
            (Language::Rust, self.rust.is_some()),
            (Language::Go, self.go.is_some()),
            (Language::Python, self.python.is_some()),
            (Language::Generic, self.generic),
        ]
        .into_iter()
        .filter_map(|(language, listed)| listed.then_some(language))
        .collect()
    }
}

/// The package folders (step 2), with what later steps need to know of how they were listed.
#[derive(Default)]
pub(crate) struct Folders {
    /// Every listed folder (the root aside), by path.
    pub(crate) listings: BTreeMap<RepoPath, Listing>,
    /// The members of the root's Cargo workspace.
    cargo_members: BTreeSet<RepoPath>,
    /// The members of the root's uv workspace.
    pub(crate) uv_members: BTreeSet<RepoPath>,
    /// Whether the root's go.mod is in play: go.work uses the root, or there is no go.work.
    root_go_in_play: bool,
}

/// The parsed manifests of the folders in play (step 3) and their package configs (step 4).
#[derive(Default)]
pub(crate) struct Manifests {
    pub(crate) node: BTreeMap<RepoPath, PackageJson>,
    /// Each crate's manifest and its binary targets.
    pub(crate) cargo: BTreeMap<RepoPath, (CargoManifest, Vec<String>)>,
    pub(crate) go: BTreeMap<RepoPath, GoMod>,
    /// Each Python folder's manifest and the file it was read from (pyproject.toml, else
    /// requirements.txt).
    pub(crate) python: BTreeMap<RepoPath, (PythonManifest, RepoPath)>,
    pub(crate) configs: BTreeMap<RepoPath, PackageConfig>,
}

enum Parsed {
    Node(PackageJson),
    Cargo(CargoManifest, Vec<String>),
    Go(GoMod),
    Python(PythonManifest, RepoPath),
}

impl Discovery<'_> {
    /// Step 2: package folders, by each package manager in turn, then the root config's
    /// globs.
    pub(crate) fn list_folders(&mut self, roots: &RootFiles) -> Folders {
        let root_go_in_play = match &roots.go_work {
            Some(work) => work.uses.iter().any(|(dir, _)| {
                resolve(self.root, &RepoPath::root(), dir) == Some(RepoPath::root())
            }),
            None => self.root.join("go.mod").as_path().is_file(),
        };
        let mut folders = Folders {
            root_go_in_play,
            ..Folders::default()
        };
        self.list_node(roots, &mut folders.listings);
        folders.cargo_members = self.list_cargo(roots, &mut folders.listings);
        self.list_go(roots, &mut folders.listings);
        folders.uv_members = self.list_python(roots, &mut folders.listings);
        self.list_extra(roots, &mut folders.listings);
        folders
    }

    /// The node globs (pnpm-workspace.yaml, else package.json `workspaces`) matching folders
    /// with a package.json.
    fn list_node(&mut self, roots: &RootFiles, listings: &mut BTreeMap<RepoPath, Listing>) {
        let node_globs = match (&roots.pnpm, &roots.package_json) {
            // As pnpm (and turbo, silently): pnpm-workspace.yaml wins over package.json's
            // `workspaces`, which repositories often keep for other tools.
            (Some(globs), _) => Some((file("pnpm-workspace.yaml"), globs.clone())),
            (None, Some(package_json)) => package_json
                .workspaces
                .clone()
                .map(|globs| (file("package.json"), globs)),
            (None, None) => None,
        };
        let Some((list_file, globs)) = node_globs else {
            return;
        };
        for dir in self.expand(&list_file, globs.iter().map(String::as_str)) {
            if self.has_manifest(&manifest_path(&dir, Language::Node)) {
                listings.entry(dir).or_default().node = Some(list_file.to_string());
            }
        }
    }

    /// The Cargo `[workspace] members` globs matching folders with a Cargo.toml, less
    /// `exclude`; returns the members.
    fn list_cargo(
        &mut self,
        roots: &RootFiles,
        listings: &mut BTreeMap<RepoPath, Listing>,
    ) -> BTreeSet<RepoPath> {
        let mut members = BTreeSet::new();
        let Some(workspace) = roots.cargo.as_ref().and_then(|c| c.workspace.as_ref()) else {
            return members;
        };
        let rules = CargoMembers::new(workspace);
        let globs = workspace.members.iter().map(String::as_str);
        for dir in self.expand(&file("Cargo.toml"), globs) {
            if !rules.excluded(&dir) && self.has_manifest(&manifest_path(&dir, Language::Rust)) {
                members.insert(dir.clone());
                listings.entry(dir).or_default().rust = Some("Cargo.toml".to_owned());
            }
        }
        members
    }

    /// The go.work `use` folders (other than the root); each must hold a go.mod.
    fn list_go(&mut self, roots: &RootFiles, listings: &mut BTreeMap<RepoPath, Listing>) {
        let Some(work) = &roots.go_work else {
            return;
        };
        for (written, line) in &work.uses {
            let listed_by = format!("go.work:{line}");
            let Some(dir) = resolve(self.root, &RepoPath::root(), written) else {
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

    /// uv workspace members: folders with a pyproject.toml, less `exclude`; returns the
    /// members.
    fn list_python(
        &mut self,
        roots: &RootFiles,
        listings: &mut BTreeMap<RepoPath, Listing>,
    ) -> BTreeSet<RepoPath> {
        let mut members = BTreeSet::new();
        let Some((globs, exclude)) = roots.pyproject.as_ref().and_then(|p| p.workspace.as_ref())
        else {
            return members;
        };
        let pyproject = file("pyproject.toml");
        let excluded: BTreeSet<RepoPath> = self
            .expand(&pyproject, exclude.iter().map(String::as_str))
            .into_iter()
            .collect();
        for dir in self.expand(&pyproject, globs.iter().map(String::as_str)) {
            let manifest = self.root.join_repo(&manifest_path(&dir, Language::Python));
            if !excluded.contains(&dir) && manifest.as_path().is_file() {
                members.insert(dir.clone());
                listings.entry(dir).or_default().python = Some("pyproject.toml".to_owned());
            }
        }
        members
    }

    /// The root config's `workspaces` globs: each folder no package manager lists is typed by
    /// the first manifest it holds, or is generic with only a package config.
    fn list_extra(&mut self, roots: &RootFiles, listings: &mut BTreeMap<RepoPath, Listing>) {
        let config = self.config;
        let globs = config.workspaces.iter().map(|w| w.value.as_str());
        for dir in self.expand(&roots.config_file, globs) {
            if listings.contains_key(&dir) {
                continue;
            }
            let mut has = |name: &str| {
                let path = dir.join(name).expect("a file name is a valid repo path");
                self.has_manifest(&path)
            };
            let listed_by = Some(roots.config_file.to_string());
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
    }

    /// Step 3: the listed manifests and the root's own, parsed; then the crates Cargo
    /// makes members as path dependencies of members.
    pub(crate) fn parse_manifests(
        &mut self,
        roots: &RootFiles,
        folders: &mut Folders,
    ) -> Manifests {
        let mut manifests = Manifests::default();
        let jobs: Vec<(RepoPath, Language)> = folders
            .listings
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
        if let Some(package_json) = &roots.package_json {
            manifests
                .node
                .insert(RepoPath::root(), package_json.clone());
        }
        if let Some(cargo) = roots.cargo.as_ref().filter(|c| c.package.is_some()) {
            let bins = binaries(cargo, self.root.as_path());
            manifests
                .cargo
                .insert(RepoPath::root(), (cargo.clone(), bins));
        }
        if folders.root_go_in_play {
            self.parse_all(vec![(RepoPath::root(), Language::Go)], &mut manifests);
        }
        // The root pyproject.toml is a package of its own only with a `[project] name` (a uv
        // workspace root is often virtual).
        if let Some(pyproject) = roots.pyproject.as_ref().filter(|p| p.name.is_some()) {
            manifests.python.insert(
                RepoPath::root(),
                (pyproject.clone(), file("pyproject.toml")),
            );
        }
        self.add_cargo_path_members(roots, folders, &mut manifests);
        manifests
    }

    /// Cargo makes path dependencies of members that lie inside the workspace members too,
    /// unless excluded; only members count (not crates the root config's `workspaces` adds,
    /// which Cargo does not know). Parses each new member's manifest, until none is new.
    fn add_cargo_path_members(
        &mut self,
        roots: &RootFiles,
        folders: &mut Folders,
        manifests: &mut Manifests,
    ) {
        let Some(workspace) = roots.cargo.as_ref().and_then(|c| c.workspace.as_ref()) else {
            return;
        };
        let rules = CargoMembers::new(workspace);
        let mut members = std::mem::take(&mut folders.cargo_members);
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
                for target in
                    crate::cargo::path_dependency_dirs(self.root, dir, manifest, workspace)
                {
                    if !members.contains(&target)
                        && !rules.excluded(&target)
                        && self.has_manifest(&manifest_path(&target, Language::Rust))
                    {
                        new.insert(target);
                    }
                }
            }
            let mut jobs = Vec::new();
            for dir in &new {
                members.insert(dir.clone());
                let listing = folders.listings.entry(dir.clone()).or_default();
                if listing.rust.is_none() {
                    listing.rust = Some("Cargo.toml (a path dependency of a member)".to_owned());
                }
                if !manifests.cargo.contains_key(dir) {
                    jobs.push((dir.clone(), Language::Rust));
                }
            }
            self.parse_all(jobs, manifests);
            frontier = new;
        }
        folders.cargo_members = members;
    }

    /// Step 4: each package folder's turbo.toml / turbo.json, loaded in parallel.
    pub(crate) fn load_configs(&mut self, folders: &Folders) -> BTreeMap<RepoPath, PackageConfig> {
        let root = self.root;
        let dirs: Vec<&RepoPath> = folders.listings.keys().collect();
        let loaded: Vec<_> = dirs
            .par_iter()
            .map(|dir| (*dir, mono_config::load_package(root, dir)))
            .collect();
        let mut configs = BTreeMap::new();
        for (dir, result) in loaded {
            match result {
                Ok(Some(config)) => {
                    configs.insert(dir.clone(), config);
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
        configs
    }

    /// Parses manifests in parallel into `manifests`, recording errors.
    fn parse_all(&mut self, jobs: Vec<(RepoPath, Language)>, manifests: &mut Manifests) {
        let root = self.root;
        let results: Vec<(RepoPath, Result<Parsed, WorkspaceError>)> = jobs
            .into_par_iter()
            .map(|(dir, language)| {
                let parsed = parse_manifest(root, &dir, language);
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
}

/// Reads and parses the manifest of `language` in `dir`.
fn parse_manifest(
    root: &AbsPath,
    dir: &RepoPath,
    language: Language,
) -> Result<Parsed, WorkspaceError> {
    let path = match language {
        // A Python folder without a pyproject.toml is one by its requirements.txt.
        Language::Python
            if !root
                .join_repo(&manifest_path(dir, language))
                .as_path()
                .is_file() =>
        {
            dir.join("requirements.txt")
                .expect("a file name is a valid repo path")
        }
        _ => manifest_path(dir, language),
    };
    let text = read(root, &path)?;
    let parsed = match language {
        Language::Node => parse_package_json(&text).map(Parsed::Node),
        Language::Rust => parse_cargo_toml(&text).map(|manifest| {
            let bins = binaries(&manifest, root.join_repo(dir).as_path());
            Parsed::Cargo(manifest, bins)
        }),
        Language::Go => parse_go_mod(&text)
            .map(Parsed::Go)
            .map_err(|e| ParseError::at_line(e.message, e.line)),
        Language::Python if path.file_name() == Some("requirements.txt") => {
            python::parse_requirements_txt(&text).map(|m| Parsed::Python(m, path.clone()))
        }
        Language::Python => python::parse_pyproject(&text).map(|m| Parsed::Python(m, path.clone())),
        Language::Generic => unreachable!("generic folders have no manifest to parse"),
    };
    parsed.map_err(|error| WorkspaceError::syntax(&path, &text, error))
}
