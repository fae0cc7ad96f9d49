//! One run, in the order of DESIGN's flow: the options resolved against the repository,
//! the packages selected, the task graph built, every task hashed; then either the plan
//! (`--dry`) or the execution.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::Arc;

use mono_cache::{CacheKey, CacheStore, LocalStore, RemoteStore};
use mono_config::EnvMode;
use mono_paths::AbsPath;
use mono_run::LogOrder;
use mono_task_id::{PackageName, TaskId, TaskName};
use mono_tasks::{
    build_task_graph, hash_tasks_with_files, CacheState, CacheStatus, Filter, Plan, PlanDetails,
    ScmInfo, TaskGraph, TaskHashDetails, TaskHashes, TaskRequest,
};

use crate::error::EngineError;
use crate::execute::{ExecOptions, RunOutcome};
use crate::options::RunOptions;
use crate::profile::Profile;
use crate::remote::Remote;
use crate::reporter::Reporter;
use crate::workspace::Workspace;

/// A run's options resolved against its repository: filters parsed against the start
/// folder, the config's defaults applied, the cache folder decided.
pub struct Run {
    workspace: Workspace,
    options: RunOptions,
    filters: Vec<Filter>,
    cache_dir: AbsPath,
    env_mode: EnvMode,
    concurrency: Option<usize>,
    log_order: LogOrder,
    reporter: Arc<dyn Reporter>,
    /// The checkout's lock, once [`Run::hold_checkout`] took it; `Some(None)` in a run
    /// nested in a task of the run that holds it.
    lock: Option<Option<mono_cache::CheckoutLock>>,
}

/// The tasks a run is about, before hashing.
pub struct Planned {
    /// The selected packages.
    pub selected: BTreeSet<PackageName>,
    /// The task graph.
    pub graph: TaskGraph,
    request: TaskRequest,
}

/// A run planned and hashed, before it runs or prints anything.
pub struct Prepared {
    /// The selected packages.
    pub selected: BTreeSet<PackageName>,
    /// The task graph.
    pub graph: TaskGraph,
    /// Every task's hash and what went into it (shared with the cache hooks, which build
    /// the input manifests of the tasks that miss).
    pub hashes: Arc<TaskHashes>,
}

impl Run {
    /// Resolves `options` against `workspace`.
    pub fn new(
        workspace: Workspace,
        options: RunOptions,
        reporter: Arc<dyn Reporter>,
    ) -> Result<Run, EngineError> {
        let mut filters = options
            .selector
            .filters
            .iter()
            .map(|f| Filter::parse(f, &workspace.cwd))
            .collect::<Result<Vec<_>, _>>()?;
        // As Turborepo: inside a package's folder and without filters, the run is about that
        // package.
        if filters.is_empty() && !options.selector.affected && !workspace.cwd.is_root() {
            let package = workspace.packages.package_containing(&workspace.cwd);
            if !package.name.is_root() {
                filters.push(Filter::parse(package.name.as_str(), &workspace.cwd)?);
            }
        }
        let concurrency = match (options.concurrency, &workspace.config.concurrency) {
            (Some(flag), _) => Some(flag.0),
            (None, Some(configured)) => Some(
                mono_run::parse_concurrency(&configured.value, mono_run::default_concurrency())
                    .map_err(|source| EngineError::Concurrency {
                        value: configured.value.clone(),
                        source,
                    })?,
            ),
            (None, None) => None,
        };
        let env_mode = options
            .env_mode
            .unwrap_or_else(|| workspace.config.env_mode.unwrap_or_default());
        let cache_dir = workspace.cache_dir(options.cache_dir.as_deref());
        let log_order = options.log_order.resolve();
        let mut workspace = workspace;
        // `--global-deps` adds to `globalDependencies` for this run, hashed alike.
        workspace.config.global_dependencies.extend(
            options
                .global_deps
                .iter()
                .map(|glob| mono_config::Spanned::synthetic(glob.clone())),
        );
        Ok(Run {
            workspace,
            options,
            filters,
            cache_dir,
            env_mode,
            concurrency,
            log_order,
            reporter,
            lock: None,
        })
    }

    /// One checkout, one writer (docs/cache.md): takes the checkout's lock for the rest of
    /// the run, waiting for another run that holds it (or failing with `--no-wait`), then
    /// removes the temporary files of killed runs. Read-only commands (`--dry`, `ls`) do
    /// not call it.
    pub fn hold_checkout(&mut self) -> Result<(), EngineError> {
        if self.lock.is_none() {
            let lock = crate::housekeeping::lock_checkout(
                &self.cache_dir,
                &self.workspace.root,
                self.options.no_wait,
                &*self.reporter,
            )?;
            crate::housekeeping::clean_at_start(&self.cache_dir);
            self.lock = Some(lock);
        }
        Ok(())
    }

    /// The repository.
    pub fn workspace(&self) -> &Workspace {
        &self.workspace
    }

    /// Where this run reports.
    pub fn reporter(&self) -> &dyn Reporter {
        &*self.reporter
    }

    /// The local cache folder of this run.
    pub fn cache_dir(&self) -> &AbsPath {
        &self.cache_dir
    }

    /// Selects the packages and builds the task graph.
    pub fn plan(&self) -> Result<Planned, EngineError> {
        let selector = &self.options.selector;
        let reporter = &*self.reporter;
        let profile = self.workspace.profile().map(|p| &**p);
        let step = Profile::step(profile, "select packages", "plan");
        let mut selected = crate::selection::select(
            &self.workspace,
            &self.filters,
            selector.affected,
            &self.cache_dir,
            reporter,
        )?
        .packages;
        drop(step);
        // `mono run web#build` is about `web`, as in Turborepo.
        let named: Option<BTreeSet<PackageName>> = selector
            .tasks
            .iter()
            .map(|t| {
                t.parse::<TaskName>()
                    .ok()
                    .and_then(|n| n.package().cloned())
            })
            .collect();
        if let (Some(named), true) = (named, self.filters.is_empty()) {
            if selector.affected {
                selected.retain(|p| named.contains(p));
            } else {
                selected = named;
            }
        }
        if selected.is_empty() && selector.affected {
            reporter.note("no package is affected: nothing to run");
        }
        for warning in
            mono_tasks::filter_warnings(&self.filters, &self.workspace.packages, &selected)
        {
            reporter.warn(&warning.to_string());
        }
        let request = TaskRequest {
            tasks: selector.tasks.clone(),
            packages: selected.clone(),
            only: selector.only,
            revision: self.workspace.scm().head_revision(),
        };
        let step = Profile::step(profile, "build the task graph", "plan");
        let mut graph =
            build_task_graph(&request, &self.workspace.config, &self.workspace.packages)?;
        drop(step);
        for warning in graph.warnings() {
            reporter.warn(&warning.to_string());
        }
        graph.pass_arguments(&selector.tasks, &selector.pass_through);
        #[cfg(not(feature = "images"))]
        if let Some(task) = graph.tasks().find(|t| crate::execute::is_image_task(t)) {
            return Err(EngineError::ImagesNotBuiltIn {
                task: task.id.to_string(),
            });
        }
        Ok(Planned {
            selected,
            graph,
            request,
        })
    }

    /// Hashes every task of the plan.
    pub fn hash(&mut self, planned: Planned) -> Result<Prepared, EngineError> {
        let process_env: BTreeMap<String, String> = std::env::vars().collect();
        // A task's hash covers the hashes of what it depends on, whether or not this run
        // runs them: with --only, hash over the whole graph, so that `--only` neither misses
        // the entries of a full run nor hits stale ones after a dependency changed.
        let full_graph = match planned.request.only {
            true => {
                let mut full = build_task_graph(
                    &TaskRequest {
                        only: false,
                        ..planned.request.clone()
                    },
                    &self.workspace.config,
                    &self.workspace.packages,
                )?;
                let selector = &self.options.selector;
                full.pass_arguments(&selector.tasks, &selector.pass_through);
                Some(full)
            }
            false => None,
        };
        let profile = self.workspace.profile().cloned();
        let _collecting = Profile::collecting(profile.as_ref());
        let _step = Profile::step(profile.as_deref(), "hash", "hash");
        let files = self.workspace.take_files();
        let hashes = hash_tasks_with_files(
            files,
            &self.workspace.root,
            &self.workspace.config,
            &self.workspace.packages,
            full_graph.as_ref().unwrap_or(&planned.graph),
            &process_env,
            Some(&self.cache_dir),
        )?;
        for warning in &hashes.warnings {
            self.reporter.warn(&warning.to_string());
        }
        Ok(Prepared {
            selected: planned.selected,
            graph: planned.graph,
            hashes: Arc::new(hashes),
        })
    }

    /// Plans and hashes: [`Run::plan`] then [`Run::hash`].
    pub fn prepare(&mut self) -> Result<Prepared, EngineError> {
        let planned = self.plan()?;
        self.hash(planned)
    }

    /// The local store of this run.
    pub fn local_store(&self) -> LocalStore {
        LocalStore::new(self.cache_dir.clone())
    }

    /// The remote cache, when configured and `--cache` lets it be used.
    pub fn remote(&self, store: &LocalStore) -> Result<Option<Remote>, EngineError> {
        match self.options.cache.uses_remote() {
            true => crate::remote::resolve(
                self.options.remote_cache.as_deref(),
                &self.options.remote_access,
                &self.workspace,
                store.entries_dir().to_path_buf(),
            ),
            false => Ok(None),
        }
    }

    /// The plan `--dry` prints: each task's hash, inputs and cache state.
    pub fn dry(&self, prepared: &Prepared) -> Result<Plan, EngineError> {
        let access = self.options.cache;
        let store = self.local_store();
        let remote = self.remote(&store)?;
        let details = Hashed {
            hashes: &prepared.hashes,
            store: &store,
            read: access.read && !self.options.force,
            remote: remote
                .as_ref()
                .filter(|_| access.remote_read && !self.options.force)
                .map(|remote| &remote.store),
            reporter: &*self.reporter,
            scm: self.workspace.scm(),
        };
        Ok(Plan::new(
            &prepared.graph,
            packages_in_scope(
                &prepared.selected,
                &prepared.graph,
                self.selects_explicitly(),
            ),
            &self.workspace.config,
            self.env_mode,
            prepared.hashes.global.to_string(),
            &details,
        ))
    }

    /// `--graph=FILE.html`: the plan (with cache states, as `--dry` knows them) drawn as one
    /// self-contained web page (docs/graph.md).
    pub fn graph_page(&self, prepared: &Prepared) -> Result<String, EngineError> {
        let plan = self.dry(prepared)?;
        // A task that misses shows how long it took last time: the head of its local index.
        let store = self.local_store();
        let read = self.options.cache.read;
        let last_duration = |task: &TaskId| {
            let recent = store.recent(&task.to_string()).ok().filter(|_| read)?;
            recent.first().map(|entry| entry.duration_ms)
        };
        Ok(mono_tasks::graph_page(
            &plan,
            &self.workspace.packages,
            &last_duration,
        ))
    }

    /// Whether a filter names packages (not only excludes some): a root package it selects
    /// is then in scope though none of its tasks runs, as in Turborepo.
    fn selects_explicitly(&self) -> bool {
        self.filters.iter().any(|f| !f.as_str().starts_with('!'))
    }

    /// The plan document of `prepared` with `details` (hashes, cache states, scm).
    pub(crate) fn plan_document(&self, prepared: &Prepared, details: &dyn PlanDetails) -> Plan {
        Plan::new(
            &prepared.graph,
            packages_in_scope(
                &prepared.selected,
                &prepared.graph,
                self.selects_explicitly(),
            ),
            &self.workspace.config,
            self.env_mode,
            prepared.hashes.global.to_string(),
            details,
        )
    }

    /// `--summarize`: writes the run summary in Turborepo's shape to `.turbo/runs/<id>.json`
    /// and returns its path. `command` is the command line; `started` and `exit_code` the
    /// whole run's.
    pub fn summarize(
        &self,
        prepared: &Prepared,
        outcome: &RunOutcome,
        command: &str,
        started: std::time::SystemTime,
        exit_code: i32,
    ) -> Result<AbsPath, EngineError> {
        crate::summary::write(self, prepared, outcome, command, started, exit_code)
    }

    /// How many tasks run at once. Persistent tasks never end, so the run needs a slot for
    /// each of them and one more for everything else: the default grows to fit, and an
    /// explicit value that is too small is an error (as in Turborepo).
    fn concurrency_for(&self, graph: &TaskGraph) -> Result<usize, EngineError> {
        let runnable = |t: &&mono_tasks::TaskNode| t.command.is_some();
        let persistent = graph
            .tasks()
            .filter(runnable)
            .filter(|t| t.definition.persistent)
            .count();
        let others = graph
            .tasks()
            .filter(runnable)
            .any(|t| !t.definition.persistent);
        let needed = persistent + usize::from(others && persistent > 0);
        match self.concurrency {
            None => Ok(mono_run::default_concurrency().max(needed)),
            Some(n) if n >= needed => Ok(n),
            Some(concurrency) => Err(EngineError::ConcurrencyTooLow {
                persistent,
                others,
                concurrency,
                needed,
            }),
        }
    }

    /// Runs the prepared tasks: task logs go to `out`, everything else to the reporter.
    pub fn execute(
        &self,
        prepared: &Prepared,
        out: Box<dyn Write + Send>,
    ) -> Result<RunOutcome, EngineError> {
        let concurrency = self.concurrency_for(&prepared.graph)?;
        let store = self.local_store();
        let remote = self.remote(&store)?;
        let shard = match self.options.shard {
            Some(shard) => Some(self.shard_jobs(prepared, shard, &store, remote.as_ref())?),
            None => None,
        };
        let options = ExecOptions {
            force: self.options.force,
            concurrency,
            continue_mode: self.options.continue_mode,
            parallel: self.options.parallel,
            log_prefix: self.options.log_prefix,
            color: self.options.color,
            lock_path: self
                .lock
                .as_ref()
                .and_then(Option::as_ref)
                .map(|lock| lock.path().to_owned()),
            output_logs: self.options.output_logs,
            log_order: self.log_order,
            cache: self.options.cache,
            env_mode: self.env_mode,
            shard,
            per_task_output: self.options.per_task_output,
            interrupt: self.options.interrupt.clone(),
        };
        let outcome = crate::execute::execute(
            &self.workspace,
            prepared,
            store,
            remote,
            &options,
            out,
            Arc::clone(&self.reporter),
        )?;
        if self.options.cache.write {
            let _step = Profile::step(
                self.workspace.profile().map(|p| &**p),
                "cache: evict",
                "cache",
            );
            crate::housekeeping::evict_after_run(
                &self.cache_dir,
                &self.workspace.config,
                &*self.reporter,
            );
        }
        Ok(outcome)
    }
}

impl Run {
    /// How many tasks at once the split's model gives each shard: `--concurrency`, else
    /// `concurrency` in the root config when it is a number, else 1. Never the cores of
    /// this machine: every machine must compute the same split.
    fn model_concurrency(&self) -> usize {
        match (self.options.concurrency, &self.workspace.config.concurrency) {
            (Some(flag), _) => flag.0.max(1),
            (None, Some(configured)) => configured.value.trim().parse().unwrap_or(1).max(1),
            (None, None) => 1,
        }
    }

    /// `mono ci plan --shards N`: the split of `prepared` across `shards` CI machines.
    /// With a remote cache, the plan a shard or an earlier `mono ci plan` stored for these
    /// hashes, else the one computed now, stored for the shards.
    pub fn ci_plan(
        &self,
        prepared: &Prepared,
        shards: usize,
    ) -> Result<crate::shards::CiPlan, EngineError> {
        if shards == 0 {
            return Err(EngineError::ShardCount { shards });
        }
        let store = self.local_store();
        let remote = self.remote(&store)?;
        self.plan_for_shards(prepared, shards, &store, remote.as_ref())
    }

    fn plan_for_shards(
        &self,
        prepared: &Prepared,
        shards: usize,
        store: &LocalStore,
        remote: Option<&Remote>,
    ) -> Result<crate::shards::CiPlan, EngineError> {
        let concurrency = self.model_concurrency();
        let remote = remote.map(|r| &r.store);
        let key = crate::shards::plan_key(prepared, shards, concurrency);
        let stored = remote
            .and_then(|r| crate::shards::stored_plan(r, &key))
            .filter(|plan| crate::shards::covers(plan, prepared, shards));
        if let Some(stored) = stored {
            self.reporter.note(&format!(
                "the split of these {shards} shards was computed before, by a shard or `mono ci plan`: using the one stored in the remote cache"
            ));
            return Ok(stored);
        }
        let durations = crate::shards::StoreDurations::load(
            store,
            remote,
            prepared.graph.tasks().map(|t| t.id.clone()).collect(),
        );
        let expected = crate::shards::expected_times(prepared, &durations);
        let plan = crate::shards::compute(prepared, &expected, shards, concurrency)?;
        let Some(remote) = remote else {
            return Ok(plan);
        };
        let board = crate::shards::RemoteBoard {
            remote,
            root: &self.workspace.root,
            key,
        };
        match crate::shards::agree_on_plan(&board, plan.clone()) {
            Ok((agreed, how)) => {
                self.reporter.note(&match how {
                    crate::shards::Agreed::Created => format!(
                        "stored the split of these {shards} shards in the remote cache (a conditional write: the first stored is the one every shard uses)"
                    ),
                    crate::shards::Agreed::Theirs => format!(
                        "another machine stored the split of these {shards} shards first: using that one"
                    ),
                    crate::shards::Agreed::Settled => format!(
                        "stored the split of these {shards} shards in the remote cache, which has no conditional writes: read it back after {}s to agree with any machine that stored one at the same time",
                        crate::shards::SETTLE.as_secs()
                    ),
                });
                Ok(agreed)
            }
            Err(err) => {
                self.reporter.warn(&format!(
                    "the split cannot be stored in the remote cache {} ({err}): a shard that starts later may compute another",
                    remote.url()
                ));
                Ok(plan)
            }
        }
    }

    /// `--shard i/N`: the plan, and this shard's part of it.
    fn shard_jobs(
        &self,
        prepared: &Prepared,
        shard: crate::shards::ShardOptions,
        store: &LocalStore,
        remote: Option<&Remote>,
    ) -> Result<crate::shards::ShardJobs, EngineError> {
        let spec = shard.shard;
        let Some(remote) = remote else {
            return Err(EngineError::ShardNeedsRemote {
                shard: spec.to_string(),
            });
        };
        let access = self.options.cache;
        if !(access.remote_read && access.remote_write) {
            let flags = |r: bool, w: bool| match (r, w) {
                (true, true) => "rw",
                (true, false) => "r",
                (false, true) => "w",
                (false, false) => "",
            };
            return Err(EngineError::ShardCacheAccess {
                shard: spec.to_string(),
                cache: format!(
                    "local:{},remote:{}",
                    flags(access.read, access.write),
                    flags(access.remote_read, access.remote_write)
                ),
            });
        }
        let plan = self.plan_for_shards(prepared, spec.total(), store, Some(remote))?;
        Ok(crate::shards::ShardJobs::new(&plan, prepared, shard))
    }
}

/// The plan's hashes and cache states.
struct Hashed<'a> {
    hashes: &'a TaskHashes,
    store: &'a LocalStore,
    read: bool,
    remote: Option<&'a RemoteStore>,
    reporter: &'a dyn Reporter,
    scm: &'a mono_scm::Scm,
}

/// The plan's `scm` field: git or a walk, the commit and the branch.
pub(crate) fn scm_info(scm: &mono_scm::Scm) -> ScmInfo {
    let kind = match scm.kind() {
        mono_scm::ScmKind::Git => "git",
        mono_scm::ScmKind::Manual => "manual",
    };
    ScmInfo {
        kind: kind.to_owned(),
        sha: scm.head_revision(),
        branch: scm.branch(),
    }
}

/// What the plan shows of a task's hash.
pub(crate) fn hash_details(hashes: &TaskHashes, id: &TaskId) -> TaskHashDetails {
    let facts = &hashes.tasks[id];
    TaskHashDetails {
        hash: facts.hash.to_string(),
        inputs: facts
            .inputs
            .iter()
            .map(|(p, d)| (p.to_string(), d.to_string()))
            .collect(),
        external: facts.external.map(|d| d.to_string()).unwrap_or_default(),
        env: facts.env.clone(),
    }
}

impl PlanDetails for Hashed<'_> {
    fn task_hash(&self, id: &TaskId) -> TaskHashDetails {
        hash_details(self.hashes, id)
    }

    fn scm(&self) -> ScmInfo {
        scm_info(self.scm)
    }

    fn cache_state(&self, _: &TaskId, hash: &str) -> CacheState {
        // The metadata and the archive's size only: verifying every archive would make the
        // plan read the whole cache, and the run verifies what it restores anyway.
        let key = hash.parse::<CacheKey>().ok();
        let hit = key
            .filter(|_| self.read)
            .and_then(|key| self.store.peek(&key).ok().flatten())
            .map(|meta| meta.task.duration_ms);
        if let Some(ms) = hit {
            return CacheState {
                local: true,
                remote: false,
                status: CacheStatus::Hit,
                source: Some("LOCAL"),
                time_saved: ms,
            };
        }
        let remote_hit = match (self.remote, key) {
            (Some(remote), Some(key)) => match remote.exists(&key) {
                Ok(found) => found,
                Err(err) => {
                    crate::remote::warn_down(self.reporter, remote, &err);
                    false
                }
            },
            _ => false,
        };
        match remote_hit {
            true => CacheState {
                local: false,
                remote: true,
                status: CacheStatus::Hit,
                source: Some("REMOTE"),
                time_saved: 0,
            },
            false => CacheState::miss(),
        }
    }
}

/// The packages a run is about, as Turborepo reports them: the selected ones, with the root
/// package only when one of its tasks is in the graph or a filter that names packages
/// selected it (`--filter=.` at the root, `--filter=//`), as turbo 2.11 does.
fn packages_in_scope(
    selected: &BTreeSet<PackageName>,
    graph: &TaskGraph,
    filtered: bool,
) -> Vec<PackageName> {
    let root_runs = graph.tasks().any(|t| t.id.package().is_root());
    selected
        .iter()
        .filter(|p| !p.is_root() || root_runs || filtered)
        .cloned()
        .collect()
}
