//! Which packages a set of changed files touches, and why: the answer behind git-range filters
//! (`--filter=[main]`) and `--affected`.
//!
//! The rules, in order, for each changed file:
//!
//! 1. The root config (`turbo.toml`, `turbo.json`) or a file matched by `globalDependencies`:
//!    every package is affected (every task hash changes with it).
//! 2. A lockfile (`package-lock.json`, `pnpm-lock.yaml`, `yarn.lock`, `bun.lock`,
//!    `Cargo.lock`, `go.work.sum`, a module's `go.sum`): the packages of its ecosystem whose
//!    resolved external dependencies differ between the two versions (see [`crate::lockfiles`]);
//!    all of them when a version cannot be read.
//! 3. Any other file: the package whose folder is the deepest one containing it (the root
//!    package `//` for other files at the root).
//!
//! `--affected` then adds every package that depends on an affected one, transitively.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use globset::{Glob, GlobSet, GlobSetBuilder};
use mono_config::RootConfig;
use mono_paths::RepoPath;
use mono_scm::{ChangedFiles, Changes, HistoryGap, Scm, ScmError};
use mono_task_id::PackageName;
use mono_workspace::{Language, PackageGraph};
use serde::Serialize;

use crate::lockfiles::{lockfile_kind, LockfileChange};

/// Why a package is affected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum AffectedReason {
    /// A file of the package changed.
    #[serde(rename_all = "camelCase")]
    FileChanged {
        /// The first changed file (by path) of the package.
        file: RepoPath,
    },
    /// A file every package depends on changed: the root config or a `globalDependencies`
    /// file.
    #[serde(rename_all = "camelCase")]
    GlobalFileChanged {
        /// The file.
        file: RepoPath,
    },
    /// A lockfile changed what the package resolves.
    #[serde(rename_all = "camelCase")]
    LockfileChanged {
        /// The lockfile.
        file: RepoPath,
    },
    /// A package it depends on, directly or not, is affected.
    #[serde(rename_all = "camelCase")]
    DependencyChanged {
        /// The nearest affected dependency.
        dependency: PackageName,
    },
    /// History cannot tell what changed; every package counts as affected.
    #[serde(rename_all = "camelCase")]
    Unknown {
        /// Why history cannot tell.
        message: String,
    },
}

impl std::fmt::Display for AffectedReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AffectedReason::FileChanged { file } => write!(f, "file {file} changed"),
            AffectedReason::GlobalFileChanged { file } => {
                write!(f, "global file {file} changed")
            }
            AffectedReason::LockfileChanged { file } => {
                write!(f, "its dependencies in {file} changed")
            }
            AffectedReason::DependencyChanged { dependency } => {
                write!(f, "depends on {dependency}")
            }
            AffectedReason::Unknown { .. } => f.write_str("history cannot tell what changed"),
        }
    }
}

/// Why changed packages could not be worked out.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum AffectedError {
    /// Git failed.
    #[error(transparent)]
    #[diagnostic(code(mono::affected::scm))]
    Scm(#[from] ScmError),
    /// A `globalDependencies` pattern that does not compile.
    #[error("invalid `globalDependencies` pattern `{pattern}`")]
    #[diagnostic(
        code(mono::affected::global_dependencies),
        help("globalDependencies are globs relative to the repository root, such as `.env` or `config/*.json`")
    )]
    GlobalPattern {
        /// The pattern.
        pattern: String,
        /// The glob error.
        #[source]
        source: globset::Error,
    },
}

/// The packages touched by a comparison, each with the first reason found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangedPackages {
    /// Package → why.
    pub packages: BTreeMap<PackageName, AffectedReason>,
    /// Set when history could not tell (every package is then in `packages`).
    pub gap: Option<HistoryGap>,
    /// Problems met on the way that made mono assume more changed, not less (a lockfile
    /// that did not parse).
    pub warnings: Vec<String>,
}

impl ChangedPackages {
    /// Every package, for a reason.
    fn all(graph: &PackageGraph, reason: &AffectedReason) -> BTreeMap<PackageName, AffectedReason> {
        graph
            .packages()
            .map(|p| (p.name.clone(), reason.clone()))
            .collect()
    }

    /// The names.
    pub fn names(&self) -> BTreeSet<PackageName> {
        self.packages.keys().cloned().collect()
    }

    /// Adds every package that depends on a changed one, transitively, with the nearest
    /// changed dependency as its reason: what `--affected` and `...[ref]` select. As in
    /// Turborepo, every package depends on what the root package depends on
    /// ([`PackageGraph::root_dependencies`]).
    pub fn with_dependents(mut self, graph: &PackageGraph) -> ChangedPackages {
        let mut queue: VecDeque<PackageName> = self.packages.keys().cloned().collect();
        while let Some(name) = queue.pop_front() {
            let dependents: Vec<PackageName> = if graph.root_dependencies().contains(&name) {
                graph.packages().map(|p| p.name.clone()).collect()
            } else {
                graph.dependents(&name).cloned().collect()
            };
            for dependent in dependents {
                if !self.packages.contains_key(&dependent) {
                    self.packages.insert(
                        dependent.clone(),
                        AffectedReason::DependencyChanged {
                            dependency: name.clone(),
                        },
                    );
                    queue.push_back(dependent);
                }
            }
        }
        self
    }
}

/// Works out which packages changed between two points of history.
pub struct ChangeDetector<'a> {
    scm: &'a Scm,
    graph: &'a PackageGraph,
    global: GlobSet,
    ignored: Vec<RepoPath>,
}

/// The root config files: a change to either is a change to every task's hash.
const ROOT_CONFIGS: &[&str] = &["turbo.toml", "turbo.json"];

impl<'a> ChangeDetector<'a> {
    /// A detector for the repository `scm` sees, its packages and its root config.
    pub fn new(
        scm: &'a Scm,
        graph: &'a PackageGraph,
        config: &RootConfig,
    ) -> Result<ChangeDetector<'a>, AffectedError> {
        let mut builder = GlobSetBuilder::new();
        for pattern in &config.global_dependencies {
            let pattern = pattern.value.as_str();
            // A `!` entry takes files out of the expanded list; for "did a global file
            // change", the positive patterns are what count.
            if pattern.starts_with('!') {
                continue;
            }
            let glob = globset::GlobBuilder::new(pattern.trim_start_matches("./"))
                .literal_separator(true)
                .build()
                .map_err(|source| AffectedError::GlobalPattern {
                    pattern: pattern.to_owned(),
                    source,
                })?;
            builder.add(glob);
        }
        for name in ROOT_CONFIGS {
            builder.add(Glob::new(name).expect("a literal"));
        }
        let global = builder
            .build()
            .map_err(|source| AffectedError::GlobalPattern {
                pattern: "globalDependencies".to_owned(),
                source,
            })?;
        Ok(ChangeDetector {
            scm,
            graph,
            global,
            ignored: Vec::new(),
        })
    }

    /// Changes under `dir` do not count: mono's own cache folder, which is never an input
    /// either, git-ignored or not.
    pub fn ignoring(mut self, dir: RepoPath) -> ChangeDetector<'a> {
        if !dir.is_root() {
            self.ignored.push(dir);
        }
        self
    }

    /// The packages whose files changed from `base` to `head` (the work tree when `None`),
    /// following the rules at the top of this module. When history cannot tell, every
    /// package, with the reason in [`ChangedPackages::gap`].
    pub fn changed_packages(
        &self,
        base: &str,
        head: Option<&str>,
    ) -> Result<ChangedPackages, AffectedError> {
        match self.scm.changed_files(base, head)? {
            Changes::Unknown(gap) => Ok(self.unknown(gap)),
            Changes::Files(changed) => self.from_files(&changed),
        }
    }

    /// Every package, because history cannot tell.
    pub fn unknown(&self, gap: HistoryGap) -> ChangedPackages {
        let reason = AffectedReason::Unknown {
            message: gap.to_string(),
        };
        ChangedPackages {
            packages: ChangedPackages::all(self.graph, &reason),
            gap: Some(gap),
            warnings: Vec::new(),
        }
    }

    /// The packages `changed` touches.
    pub fn from_files(&self, changed: &ChangedFiles) -> Result<ChangedPackages, AffectedError> {
        let mut out = ChangedPackages::default();
        let mut lockfiles: Vec<&RepoPath> = Vec::new();
        for file in &changed.files {
            if self.ignored.iter().any(|dir| file.starts_with(dir)) {
                continue;
            }
            if self.global.is_match(file.as_str()) {
                let reason = AffectedReason::GlobalFileChanged { file: file.clone() };
                out.packages = ChangedPackages::all(self.graph, &reason);
                // Nothing can add to "every package", but the lockfiles' warnings and the
                // first reason are settled: stop here.
                return Ok(out);
            }
            if lockfile_kind(file).is_some() {
                lockfiles.push(file);
                continue;
            }
            let owner = self.graph.package_containing(file);
            out.packages
                .entry(owner.name.clone())
                .or_insert_with(|| AffectedReason::FileChanged { file: file.clone() });
        }
        for file in lockfiles {
            let change = LockfileChange::new(self.scm, self.graph, file, changed);
            let (affected, warning) = change.affected_packages();
            out.warnings.extend(warning);
            for name in affected {
                out.packages
                    .entry(name)
                    .or_insert_with(|| AffectedReason::LockfileChanged { file: file.clone() });
            }
        }
        Ok(out)
    }
}

/// The packages of `language`.
pub(crate) fn packages_of(graph: &PackageGraph, language: Language) -> Vec<PackageName> {
    graph
        .packages()
        .filter(|p| p.language == language && !p.is_root())
        .map(|p| p.name.clone())
        .collect()
}
