//! The hash of every task of a graph: the global hash, then each task's, dependencies
//! first, from its input files, hashed variables, lockfile and dependencies' hashes
//! (docs/hashing.md lists every part, in order).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use mono_config::{canonical_task_definition, RootConfig};
use mono_hash::{
    expand_global_dependencies, hash_env, Digest, ExternalDeps, FileHasher, GlobalHash,
    GlobalHashInputs, HashError, InputGlobs, RepoFiles, TaskHash, TaskHashInputs,
};
use mono_paths::{AbsPath, RepoPath};
use mono_scm::{Scm, ScmError};
use mono_task_id::TaskId;
use mono_workspace::{Language, PackageGraph};

use crate::graph::TaskGraph;
use crate::lockfiles::ExternalDepsIndex;

/// Why hashing failed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum HashingError {
    /// Listing the repository's files failed.
    #[error(transparent)]
    #[diagnostic(code(mono::hash::scm))]
    Scm(#[from] ScmError),
    /// Reading or hashing a file, or a glob, failed.
    #[error(transparent)]
    #[diagnostic(code(mono::hash::inputs))]
    Hash(#[from] HashError),
}

impl HashWarning {
    /// The task it is about.
    pub fn task(&self) -> &TaskId {
        match self {
            HashWarning::NoFilesInPackage { task, .. }
            | HashWarning::InputsMatchNothing { task } => task,
        }
    }
}

/// What was hashed for one task.
#[derive(Debug, Clone)]
pub struct TaskHashFacts {
    /// The task hash.
    pub hash: TaskHash,
    /// Input files with their content hashes, sorted by path.
    pub inputs: Vec<(RepoPath, Digest)>,
    /// Names of the hashed variables (task `env`; `globalEnv` is in the global hash).
    pub env: Vec<String>,
    /// The hash of the package's external dependencies: of its resolved packages, or of the
    /// whole lockfiles where mono cannot read them per package; `None` without a lockfile.
    pub external: Option<Digest>,
}

/// Something about the inputs a user should know: the hashes are right, but may not be what
/// they think.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashWarning {
    /// The package's folder has no file that git (or the walk) lists: edits there change no
    /// hash, so a run restores what it stored before.
    #[error("{task}: no input files (is the folder `{dir}` ignored by git, or empty?)")]
    NoFilesInPackage {
        /// The task.
        task: TaskId,
        /// Its package's folder.
        dir: RepoPath,
    },
    /// The package has files, but the task's `inputs` match none of them.
    #[error("{task}: no input files (its `inputs` match none of the package's files)")]
    InputsMatchNothing {
        /// The task.
        task: TaskId,
    },
}

/// Every task's hash.
#[derive(Debug, Clone)]
pub struct TaskHashes {
    /// The global hash.
    pub global: GlobalHash,
    /// Per task.
    pub tasks: BTreeMap<TaskId, TaskHashFacts>,
    /// Files read from disk, and files whose hash came from the stat cache.
    pub files_read: u64,
    /// Files whose content hash came from the stat cache.
    pub files_cached: u64,
    /// Cached tasks with a command that hash no input file, by task id.
    pub warnings: Vec<HashWarning>,
}

/// The lockfiles that pin a language's external dependencies, repo-relative to the root and
/// (for Go) to the package. What a package takes from them is its own resolved external
/// dependencies (crate::lockfiles); the whole files only where mono cannot read them per
/// package.
pub(crate) fn lockfiles(language: Language, package_dir: &RepoPath) -> Vec<RepoPath> {
    let at_root = |names: &[&str]| -> Vec<RepoPath> {
        names
            .iter()
            .map(|n| RepoPath::new(n).expect("valid"))
            .collect()
    };
    match language {
        Language::Node => at_root(&[
            "package-lock.json",
            "pnpm-lock.yaml",
            "yarn.lock",
            "bun.lock",
        ]),
        Language::Rust => at_root(&["Cargo.lock"]),
        Language::Go => {
            let mut files = at_root(&["go.work.sum"]);
            files.push(package_dir.join("go.sum").expect("valid"));
            files
        }
        // A package uv does not manage pins its dependencies in its requirements*.txt, which
        // are files of the package (inputs of its tasks); uv.lock pins nothing for it.
        Language::Python => at_root(&["uv.lock"]),
        Language::Generic => Vec::new(),
    }
}

/// Hashes every task of `graph`. `env` is the environment mono runs in; `cache_dir` keeps
/// the stat cache (`None`: no stat cache).
pub fn hash_tasks(
    root: &AbsPath,
    config: &RootConfig,
    packages: &PackageGraph,
    graph: &TaskGraph,
    env: &BTreeMap<String, String>,
    cache_dir: Option<&AbsPath>,
) -> Result<TaskHashes, HashingError> {
    let listed = Scm::discover(root).list_files_unverified();
    hash_tasks_with_files(listed, root, config, packages, graph, env, cache_dir)
}

/// [`hash_tasks`] with the repository's files already listed (`Scm::list_files` of
/// `root`, or `Scm::list_files_unverified`: a listed file that is not there is no input), so
/// that a caller can list them while it loads the workspace.
pub fn hash_tasks_with_files(
    listed: Result<Vec<RepoPath>, ScmError>,
    root: &AbsPath,
    config: &RootConfig,
    packages: &PackageGraph,
    graph: &TaskGraph,
    env: &BTreeMap<String, String>,
    cache_dir: Option<&AbsPath>,
) -> Result<TaskHashes, HashingError> {
    let mut listed = listed?;
    // The cache folder is mono's, not the project's: what it holds (entries, the stat cache
    // this very run rewrites) is never an input, git-ignored or not.
    if let Some(cache) = cache_dir.and_then(|dir| dir.strip_root(root)) {
        listed.retain(|file| !file.starts_with(&cache));
    }
    let files = RepoFiles::new(listed);
    let hasher = match cache_dir {
        Some(dir) => FileHasher::with_stat_cache(root, dir),
        None => FileHasher::new(root),
    };

    // Select every task's inputs first, then hash the union in one parallel batch.
    let mut selected: HashMap<&TaskId, Vec<RepoPath>> = HashMap::new();
    let mut globs_cache: HashMap<&[String], InputGlobs> = HashMap::new();
    let mut warnings = Vec::new();
    for task in graph.tasks() {
        let package = packages
            .get(task.id.package())
            .expect("tasks belong to packages");
        let globs = match globs_cache.get(task.definition.inputs.as_slice()) {
            Some(globs) => globs,
            None => {
                let globs = InputGlobs::new(&task.definition.inputs)?;
                globs_cache
                    .entry(task.definition.inputs.as_slice())
                    .or_insert(globs)
            }
        };
        let nested = packages.nested_package_dirs(&package.name);
        let inputs = globs.select(root, &files, &package.dir, &nested)?;
        // A task that runs and is cached, hashed from no file, misses every edit.
        if inputs.is_empty() && task.command.is_some() && task.definition.cache {
            warnings.push(match files.under(&package.dir).is_empty() {
                true => HashWarning::NoFilesInPackage {
                    task: task.id.clone(),
                    dir: package.dir.clone(),
                },
                false => HashWarning::InputsMatchNothing {
                    task: task.id.clone(),
                },
            });
        }
        selected.insert(&task.id, inputs);
    }
    warnings.sort_by(|a, b| a.task().cmp(b.task()));
    let global_files = expand_global_dependencies(
        root,
        &config
            .global_dependencies
            .iter()
            .map(|s| s.value.as_str())
            .collect::<Vec<_>>(),
    )?;
    let task_packages: BTreeSet<_> = graph.tasks().map(|t| t.id.package().clone()).collect();
    let per_package = ExternalDepsIndex::build(root, packages, &task_packages, &|p| {
        lockfiles(p.language, &p.dir)
    });
    let mut lock_files: BTreeSet<RepoPath> = BTreeSet::new();
    for task in graph.tasks() {
        lock_files.extend(lockfiles(task.language, &task.package_dir));
    }
    // A lockfile counts whenever it exists, even when git ignores it (a library crate's
    // Cargo.lock often is).
    lock_files.retain(|f| root.join_repo(f).as_path().is_file());
    let mut all: Vec<RepoPath> = selected.values().flatten().cloned().collect();
    all.extend(global_files.iter().cloned());
    all.extend(lock_files.iter().cloned());
    all.sort_unstable();
    all.dedup();
    // Links to nothing are skipped and links to folders bring the files behind them, as in
    // Turborepo (FileHasher::hash_inputs).
    let hashed = hasher.hash_inputs(&all)?;
    let digests: HashMap<&RepoPath, Digest> = all
        .iter()
        .zip(&hashed.digests)
        .filter_map(|(f, d)| Some((f, (*d)?)))
        .collect();
    let with_files_behind = |files: &[RepoPath]| -> Vec<(RepoPath, Digest)> {
        let mut out = Vec::with_capacity(files.len());
        for file in files {
            let Some(digest) = digests.get(file) else {
                continue;
            };
            out.push((file.clone(), *digest));
            if let Some(behind) = hashed.behind_links.get(file) {
                out.extend(behind.iter().cloned());
            }
        }
        out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        out
    };

    let global_env = hash_env(
        &config
            .global_env
            .iter()
            .map(|s| s.value.as_str())
            .collect::<Vec<_>>(),
        env.iter().map(|(k, v)| (k.as_str(), v.as_bytes())),
    )?;
    let global_inputs = with_files_behind(&global_files);
    let global_pairs: Vec<(&RepoPath, Digest)> =
        global_inputs.iter().map(|(f, d)| (f, *d)).collect();
    let canonical = config.canonical();
    let global = GlobalHash::compute(&GlobalHashInputs {
        root_config: &canonical,
        files: &global_pairs,
        env: &global_env,
    });

    let mut tasks: BTreeMap<TaskId, TaskHashFacts> = BTreeMap::new();
    for task in graph.in_dependency_order() {
        let inputs = with_files_behind(&selected[&task.id]);
        let pairs: Vec<(&RepoPath, Digest)> = inputs.iter().map(|(f, d)| (f, *d)).collect();
        let env_hashes = hash_env(
            &task.definition.env,
            env.iter().map(|(k, v)| (k.as_str(), v.as_bytes())),
        )?;
        let (external_deps, external) = match per_package.per_package.get(task.id.package()) {
            Some(resolved) => (
                ExternalDeps::Packages(resolved),
                Some(Digest::of(resolved.join("\n").as_bytes())),
            ),
            None => {
                let locks: Vec<Digest> = lockfiles(task.language, &task.package_dir)
                    .iter()
                    .filter_map(|f| digests.get(f).copied())
                    .collect();
                let whole = (!locks.is_empty()).then(|| {
                    let mut bytes = Vec::with_capacity(locks.len() * 32);
                    for d in &locks {
                        bytes.extend_from_slice(d.as_bytes());
                    }
                    Digest::of(&bytes)
                });
                (
                    whole.map_or(ExternalDeps::None, ExternalDeps::LockfileHash),
                    whole,
                )
            }
        };
        let dependencies: Vec<TaskHash> = graph
            .dependencies(&task.id)
            .iter()
            .map(|d| tasks[*d].hash)
            .collect();
        let definition = canonical_task_definition(&task.raw).to_string();
        let command = task.run_command();
        let hash = TaskHash::compute(&TaskHashInputs {
            global,
            package_dir: &task.package_dir,
            definition: &definition,
            command: command.as_deref(),
            files: &pairs,
            env: &env_hashes,
            external: external_deps,
            dependencies: &dependencies,
        });
        let env_names = env_hashes.into_iter().map(|e| e.name).collect();
        tasks.insert(
            task.id.clone(),
            TaskHashFacts {
                hash,
                inputs,
                env: env_names,
                external,
            },
        );
    }
    // A stat cache that cannot be saved only costs time next run.
    let _ = hasher.save_stat_cache();
    let counts = hasher.counts();
    Ok(TaskHashes {
        global,
        tasks,
        files_read: counts.read,
        files_cached: counts.cached,
        warnings,
    })
}
