//! Steps 7 and 8 of discovery: each package's dependencies, resolved through every manifest
//! in play for its folder and its package config, and the packages assembled.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use mono_config::{did_you_mean, PackageConfig};
use mono_paths::{AbsPath, RepoPath};
use mono_task_id::PackageName;
use rayon::prelude::*;

use crate::cargo::CargoWorkspace;
use crate::discover::{Discovery, RootFiles};
use crate::error::ExtendsProblem;
use crate::files::{manifest_path, resolve};
use crate::gosrc::has_main_package;
use crate::listing::{Folders, Manifests};
use crate::naming::Draft;
use crate::node::{links_in_repository, PackageJson};
use crate::{cargo, gomod, node, python, Language, Package, WorkspaceError, WorkspaceWarning};

/// What resolving a dependency looks up: the packages by folder, by node name, by Go module
/// and by Python project name, and the Cargo workspace's shared entries.
pub(crate) struct Lookup<'a> {
    root: &'a AbsPath,
    /// Every package's name, by folder.
    pub(crate) name_of_dir: BTreeMap<&'a RepoPath, &'a PackageName>,
    /// Node packages (the root aside): folder by name.
    pub(crate) node_names: BTreeMap<&'a str, &'a RepoPath>,
    /// Every folder's package.json, for the version a range must satisfy.
    pub(crate) node_manifests: &'a BTreeMap<RepoPath, PackageJson>,
    /// Whether plain ranges link to workspace packages ([`links_in_repository`]).
    pub(crate) link: bool,
    /// Packages by the Go module in play in their folder.
    pub(crate) go_modules: BTreeMap<&'a str, &'a PackageName>,
    /// The root Cargo.toml's `[workspace]`.
    pub(crate) cargo_workspace: Option<&'a CargoWorkspace>,
    /// The root Cargo.toml's `[patch]` entries with a path: folder by crate name.
    pub(crate) cargo_patches: BTreeMap<&'a str, RepoPath>,
    /// Packages by the Python project name in play in their folder.
    pub(crate) python_names: BTreeMap<String, &'a PackageName>,
    /// Every package name, sorted (for "did you mean").
    names: Vec<&'a str>,
}

impl<'a> Lookup<'a> {
    fn new(
        root: &'a AbsPath,
        roots: &'a RootFiles,
        manifests: &'a Manifests,
        drafts: &'a [Draft],
    ) -> Self {
        let named = |d: &'a Draft| d.name.as_ref().expect("named");
        let names: BTreeSet<&str> = drafts.iter().map(|d| named(d).as_str()).collect();
        Lookup {
            root,
            name_of_dir: drafts.iter().map(|d| (&d.dir, named(d))).collect(),
            node_names: drafts
                .iter()
                .filter(|d| d.language == Language::Node && !d.dir.is_root())
                .map(|d| (named(d).as_str(), &d.dir))
                .collect(),
            node_manifests: &manifests.node,
            link: links_in_repository(root, roots.package_json.as_ref(), roots.pnpm.is_some()),
            go_modules: drafts
                .iter()
                .filter(|d| d.in_play.contains(&Language::Go))
                .filter_map(|d| {
                    let (module, _) = manifests.go.get(&d.dir)?.module.as_ref()?;
                    Some((module.as_str(), named(d)))
                })
                .collect(),
            cargo_workspace: roots.cargo.as_ref().and_then(|c| c.workspace.as_ref()),
            cargo_patches: roots
                .cargo
                .iter()
                .flat_map(|c| c.patches.iter())
                .filter_map(|(name, path)| {
                    Some((name.as_str(), resolve(root, &RepoPath::root(), path)?))
                })
                .collect(),
            python_names: drafts
                .iter()
                .filter(|d| d.in_play.contains(&Language::Python))
                .filter_map(|d| {
                    let name = manifests.python.get(&d.dir)?.0.name.clone()?;
                    Some((name, named(d)))
                })
                .collect(),
            names: names.into_iter().collect(),
        }
    }

    /// `rel`, written in a manifest in `base`, as a repo path; `None` when it leaves the
    /// repository.
    pub(crate) fn resolve(&self, base: &RepoPath, rel: &str) -> Option<RepoPath> {
        resolve(self.root, base, rel)
    }

    /// The package whose folder is `target`, if any.
    pub(crate) fn by_dir(&self, target: Option<RepoPath>) -> Option<PackageName> {
        target.and_then(|t| self.name_of_dir.get(&t).map(|n| (*n).clone()))
    }

    fn is_package(&self, name: &PackageName) -> bool {
        self.names.binary_search(&name.as_str()).is_ok()
    }

    fn did_you_mean(&self, name: &str) -> Option<String> {
        did_you_mean(name, &self.names).map(|close| format!("did you mean `{close}`?"))
    }
}

impl Discovery<'_> {
    /// Steps 7 and 8: every package with its dependencies; Go modules are read (in parallel) for a
    /// `main` package.
    pub(crate) fn packages(
        &mut self,
        roots: &RootFiles,
        folders: &Folders,
        manifests: &Manifests,
        drafts: &[Draft],
    ) -> Vec<Package> {
        let lookup = Lookup::new(self.root, roots, manifests, drafts);
        let go_mains: BTreeSet<&RepoPath> = drafts
            .par_iter()
            .filter(|d| d.language == Language::Go)
            .filter(|d| has_main_package(self.root.join_repo(&d.dir).as_path()))
            .map(|d| &d.dir)
            .collect();
        drafts
            .iter()
            .map(|draft| {
                let mut package = self.package(draft, folders, manifests, &lookup);
                package.go_main_packages = go_mains.contains(&draft.dir);
                package
            })
            .collect()
    }

    /// One package: the dependencies of every manifest in play for its folder (a manifest
    /// naming its own package is a package manager's business, not a cycle), then those of
    /// its package config, checked.
    fn package(
        &mut self,
        draft: &Draft,
        folders: &Folders,
        manifests: &Manifests,
        lookup: &Lookup<'_>,
    ) -> Package {
        let name = draft.name.clone().expect("named");
        let dir = &draft.dir;
        let mut dependencies = BTreeSet::new();
        for language in &draft.in_play {
            dependencies.extend(match language {
                Language::Node => node::internal_dependencies(dir, &manifests.node[dir], lookup),
                Language::Rust => {
                    cargo::internal_dependencies(dir, &manifests.cargo[dir].0, lookup)
                }
                Language::Go => gomod::internal_dependencies(dir, &manifests.go[dir], lookup),
                Language::Python => {
                    python::internal_dependencies(dir, &manifests.python[dir].0, lookup)
                }
                Language::Generic => Vec::new(),
            });
        }
        dependencies.remove(&name);
        let config = manifests.configs.get(dir).cloned();
        if let Some(config) = &config {
            self.config_dependencies(&name, config, lookup, &mut dependencies);
            self.check_extends(&name, config, lookup, manifests);
            if draft.language != Language::Generic {
                self.check_config_name(&name, draft, config);
            }
        }
        let (crate_name, rust_bins) = match manifests.cargo.get(dir) {
            Some((cargo, bins)) => (cargo.package.as_ref().map(|p| p.name.clone()), bins.clone()),
            None => (None, Vec::new()),
        };
        let python = (draft.language == Language::Python)
            .then(|| manifests.python.get(dir))
            .flatten()
            .map(|manifest| {
                let uv_member = folders.uv_members.contains(dir);
                python::package_info(self.root, dir, manifest, uv_member)
            });
        Package {
            name,
            dir: dir.clone(),
            language: draft.language,
            manifest: draft.manifest.clone(),
            scripts: manifests
                .node
                .get(dir)
                .map(|p| p.scripts.clone())
                .unwrap_or_default(),
            config,
            dependencies,
            go_module: manifests
                .go
                .get(dir)
                .and_then(|m| m.module.as_ref())
                .map(|(m, _)| m.clone()),
            go_main_packages: false,
            crate_name,
            rust_bins,
            python,
        }
    }

    /// A package config's `dependencies`: each must name a package.
    fn config_dependencies(
        &mut self,
        name: &PackageName,
        config: &PackageConfig,
        lookup: &Lookup<'_>,
        dependencies: &mut BTreeSet<PackageName>,
    ) {
        for dep in &config.dependencies {
            match PackageName::new(dep.value.as_str())
                .ok()
                .filter(|n| lookup.is_package(n))
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
                    src: Arc::new(config.source.named_source()),
                    span: dep.span.into(),
                    help: lookup.did_you_mean(&dep.value),
                }),
            }
        }
    }

    /// A package config's `extends`: each must name a package that has a config.
    fn check_extends(
        &mut self,
        name: &PackageName,
        config: &PackageConfig,
        lookup: &Lookup<'_>,
        manifests: &Manifests,
    ) {
        for extended in config.extended_packages() {
            let target = PackageName::new(extended.value.as_str())
                .ok()
                .and_then(|n| lookup.name_of_dir.iter().find(|(_, name)| **name == &n))
                .map(|(dir, _)| *dir);
            let problem = match target {
                None => ExtendsProblem::NotAPackage,
                Some(dir) if !manifests.configs.contains_key(dir) => ExtendsProblem::NoConfig,
                Some(_) => continue,
            };
            self.errors.push(WorkspaceError::UnknownExtends {
                package: name.clone(),
                extended: extended.value.as_str().into(),
                problem,
                location: extended
                    .location()
                    .unwrap_or_else(|| config.source.path().to_string()),
                src: Arc::new(config.source.named_source()),
                span: extended.span.into(),
                help: match target {
                    None => lookup.did_you_mean(&extended.value),
                    Some(_) => Some(format!(
                        "add a turbo.json to `{}`, or remove it from `extends`",
                        extended.value
                    )),
                }
                .map(String::into_boxed_str),
            });
        }
    }

    /// A `name` in the config of a package that its manifest names is ignored, with a
    /// warning when it differs.
    fn check_config_name(&mut self, name: &PackageName, draft: &Draft, config: &PackageConfig) {
        let Some(config_name) = &config.name else {
            return;
        };
        if config_name.value != name.as_str() {
            self.warnings.push(WorkspaceWarning::IgnoredConfigName {
                package: name.clone(),
                manifest: manifest_path(&draft.dir, draft.language),
                name: config_name.value.clone(),
                location: config_name
                    .location()
                    .unwrap_or_else(|| config.source.path().to_string()),
            });
        }
    }
}
