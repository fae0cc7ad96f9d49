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
//!    generic that lists it (a warning when two package managers do); name it.
//! 6. Name Go modules: the module path's last element, or the full path when taken.
//! 7. Check names are unique, resolve dependencies of every manifest in play for the folder
//!    and of turbo.toml `dependencies`, then build the graph and check it has no cycle.
//! 8. For each Go package, read the heads of its module's .go files, in parallel, to tell
//!    whether it has a `main` package (`go_main_packages`).
//!
//! One module per step: this one reads the root files (1) and runs the others; `listing`
//! lists folders, parses their manifests and loads their configs (2–4); `naming` makes one
//! named package per folder and checks names (5–7); `dependencies` resolves dependencies and
//! assembles the packages (7–8). What is particular to a language (its members, its names,
//! its dependency rules) lives in that language's module: `node`, `cargo`, `gomod`, `python`.

use mono_config::RootConfig;
use mono_paths::{AbsPath, RepoPath};

use crate::cargo::{parse_cargo_toml, CargoManifest};
use crate::error::ParseError;
use crate::files::{file, read_optional, regular_file};
use crate::glob::{BadPattern, Patterns};
use crate::gomod::{parse_go_work, GoWork};
use crate::node::{parse_package_json, parse_pnpm_workspace, PackageJson};
use crate::python::{self, PythonManifest};
use crate::{PackageGraph, WorkspaceError, WorkspaceWarning};

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
pub(crate) enum PackageConfigs {
    /// An error: every command but a listing needs the package's tasks.
    Checked,
    /// A warning: the package is listed without its config.
    Lenient,
}

/// One discovery: what it reads from and what it has found wrong so far. Each step is a
/// method (in this module and in `listing`, `naming`, `dependencies`) that records problems
/// here and goes on, so that every problem is reported at once.
pub(crate) struct Discovery<'a> {
    pub(crate) root: &'a AbsPath,
    pub(crate) config: &'a RootConfig,
    pub(crate) package_configs: PackageConfigs,
    pub(crate) warnings: Vec<WorkspaceWarning>,
    pub(crate) errors: Vec<WorkspaceError>,
}

/// The files at the root that say where packages are (step 1); `None` when absent or invalid.
pub(crate) struct RootFiles {
    /// The root config's file (turbo.toml when there is none), which lists `workspaces`.
    pub(crate) config_file: RepoPath,
    pub(crate) package_json: Option<PackageJson>,
    /// pnpm-workspace.yaml's `packages`.
    pub(crate) pnpm: Option<Vec<String>>,
    pub(crate) cargo: Option<CargoManifest>,
    pub(crate) go_work: Option<GoWork>,
    pub(crate) pyproject: Option<PythonManifest>,
}

impl Discovery<'_> {
    fn run(mut self) -> Result<PackageGraph, WorkspaceError> {
        let roots = self.read_roots();
        if !self.errors.is_empty() {
            return Err(self.fail());
        }
        let mut folders = self.list_folders(&roots);
        let mut manifests = self.parse_manifests(&roots, &mut folders);
        manifests.configs = self.load_configs(&folders);
        // Errors so far are reported with the naming problems below; folders whose manifest
        // or config did not parse are left out of the rest.
        let drafts = self.drafts(&roots, &folders, &manifests);
        if !self.errors.is_empty() {
            return Err(self.fail());
        }
        let packages = self.packages(&roots, &folders, &manifests, &drafts);
        if !self.errors.is_empty() {
            return Err(self.fail());
        }
        PackageGraph::build(packages, self.warnings)
    }

    /// Step 1: the root files.
    fn read_roots(&mut self) -> RootFiles {
        let config_file = self
            .config
            .source
            .as_ref()
            .map_or_else(|| file("turbo.toml"), |s| s.path().clone());
        RootFiles {
            config_file,
            package_json: self.parse_root(&file("package.json"), parse_package_json),
            pnpm: self.parse_root(&file("pnpm-workspace.yaml"), parse_pnpm_workspace),
            cargo: self.parse_root(&file("Cargo.toml"), parse_cargo_toml),
            go_work: self.parse_root(&file("go.work"), |t| {
                parse_go_work(t).map_err(|e| ParseError::at_line(e.message, e.line))
            }),
            pyproject: self.parse_root(&file("pyproject.toml"), python::parse_pyproject),
        }
    }

    /// Whether a package folder's manifest exists as a regular file; one that exists as
    /// something else is recorded as an error naming it (and is not a manifest).
    pub(crate) fn has_manifest(&mut self, path: &RepoPath) -> bool {
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
        parse: impl FnOnce(&str) -> Result<T, ParseError>,
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
    pub(crate) fn expand<'p>(
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

    /// The recorded errors, sorted by the file they name, as one error.
    fn fail(mut self) -> WorkspaceError {
        self.errors.sort_by_cached_key(|e| e.to_string());
        WorkspaceError::from_many(self.errors).expect("called with errors")
    }
}
