//! The hash of every task of a graph: the global hash, then each task's, dependencies
//! first, from its input files, hashed variables, lockfile and dependencies' hashes
//! (docs/hashing.md lists every part, in order).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use mono_config::{canonical_task_definition, RootConfig};
use mono_hash::{
    expand_global_dependencies, hash_env, Digest, EnvVarHash, ExternalDeps, FileHasher, GlobalHash,
    GlobalHashInputs, HashError, InputGlobs, RepoFiles, TaskHash, TaskHashInputs, TaskManifest,
};
use mono_lockfile::LockfileFile;
use mono_paths::{AbsPath, RepoPath};
use mono_scm::{Scm, ScmError};
use mono_task_id::{PackageName, TaskId};
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
    /// The rest of what went into the hash, kept to build its manifest when asked
    /// ([`TaskHashes::manifest`]): only tasks that miss need one.
    material: HashMaterial,
}

/// What a task hash covers besides its facts' inputs, as the hash took it.
#[derive(Debug, Clone)]
struct HashMaterial {
    package_dir: RepoPath,
    definition: String,
    command: Option<String>,
    cli_arguments: Vec<String>,
    env: Vec<EnvVarHash>,
    /// `Some(None)`: the package's resolved packages ([`TaskHashes`] keeps them per
    /// package); `Some(Some(d))`: the whole lockfiles' hash; `None`: no lockfile.
    external: Option<Option<Digest>>,
    dependencies: Vec<TaskId>,
}

/// What the global hash covered, kept for manifests.
#[derive(Debug, Clone, Default)]
struct GlobalMaterial {
    root_config: String,
    files: Vec<(RepoPath, Digest)>,
    env: Vec<EnvVarHash>,
}

impl TaskHashFacts {
    /// The ids of the tasks whose hashes this one covers.
    pub fn dependencies(&self) -> &[TaskId] {
        &self.material.dependencies
    }
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
    global_material: GlobalMaterial,
    /// Each package's resolved external packages, as hashed.
    external_packages: BTreeMap<PackageName, Vec<String>>,
}

impl TaskHashes {
    /// The input manifest of `id`'s hash: built from the values its hash was computed from,
    /// by the same function ([`TaskHashInputs`] in, [`TaskManifest::new`] computing the
    /// hash), so it names exactly what the hash covers. `None` for a task not hashed.
    pub fn manifest(&self, id: &TaskId) -> Option<TaskManifest> {
        let facts = self.tasks.get(id)?;
        let m = &facts.material;
        let global_pairs: Vec<(&RepoPath, Digest)> = self
            .global_material
            .files
            .iter()
            .map(|(f, d)| (f, *d))
            .collect();
        let global = GlobalHashInputs {
            root_config: &self.global_material.root_config,
            files: &global_pairs,
            env: &self.global_material.env,
        };
        let pairs: Vec<(&RepoPath, Digest)> = facts.inputs.iter().map(|(f, d)| (f, *d)).collect();
        let no_packages = Vec::new();
        let external = match m.external {
            None => ExternalDeps::None,
            Some(Some(digest)) => ExternalDeps::LockfileHash(digest),
            Some(None) => ExternalDeps::Packages(
                self.external_packages
                    .get(id.package())
                    .unwrap_or(&no_packages),
            ),
        };
        let dependencies: Vec<(String, TaskHash)> = m
            .dependencies
            .iter()
            .filter_map(|d| Some((d.to_string(), self.tasks.get(d)?.hash)))
            .collect();
        let hashes: Vec<TaskHash> = dependencies.iter().map(|(_, h)| *h).collect();
        let inputs = TaskHashInputs {
            global: self.global,
            package_dir: &m.package_dir,
            definition: &m.definition,
            command: m.command.as_deref(),
            files: &pairs,
            env: &m.env,
            external,
            dependencies: &hashes,
        };
        Some(TaskManifest::new(
            &id.to_string(),
            &global,
            &inputs,
            &m.cli_arguments,
            &dependencies,
        ))
    }
}

/// The lockfiles that pin a language's external dependencies, repo-relative to the root and
/// (for Go) to the package. What a package takes from them is its own resolved external
/// dependencies (crate::lockfiles); the whole files only where mono cannot read them per
/// package.
pub(crate) fn lockfiles(language: Language, package_dir: &RepoPath) -> Vec<RepoPath> {
    // A package uv does not manage pins its dependencies in its requirements*.txt, which
    // are files of the package (inputs of its tasks); uv.lock pins nothing for it.
    LockfileFile::ALL
        .into_iter()
        .filter(|file| crate::lockfiles::language(file.ecosystem()) == language)
        .map(|file| {
            let name = RepoPath::new(file.file_name()).expect("a lockfile name is a path");
            if file.at_root() {
                name
            } else {
                package_dir.join(name.as_str()).expect("valid")
            }
        })
        .collect()
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
    let listed = Scm::discover(root).list_files();
    hash_tasks_with_files(listed, root, config, packages, graph, env, cache_dir)
}

/// [`hash_tasks`] with the repository's files already listed (`Scm::list_files` of
/// `root`), so that a caller can list them while it loads the workspace.
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
        let dependency_ids = graph.dependencies(&task.id);
        let dependencies: Vec<TaskHash> = dependency_ids.iter().map(|d| tasks[*d].hash).collect();
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
        let env_names = env_hashes.iter().map(|e| e.name.clone()).collect();
        let material = HashMaterial {
            package_dir: task.package_dir.clone(),
            definition,
            command,
            cli_arguments: task.cli_arguments.clone(),
            env: env_hashes,
            external: match external_deps {
                ExternalDeps::None => None,
                ExternalDeps::LockfileHash(digest) => Some(Some(digest)),
                ExternalDeps::Packages(_) => Some(None),
            },
            dependencies: dependency_ids.into_iter().cloned().collect(),
        };
        tasks.insert(
            task.id.clone(),
            TaskHashFacts {
                hash,
                inputs,
                env: env_names,
                external,
                material,
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
        global_material: GlobalMaterial {
            root_config: canonical,
            files: global_inputs,
            env: global_env,
        },
        external_packages: per_package.per_package,
    })
}
