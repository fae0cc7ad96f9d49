//! `mono run <task>...` (and `mono <task>...`): plan, then print the plan or the graph, or run.

use std::collections::BTreeSet;
use std::process::ExitCode;

use mono_task_id::{PackageName, TaskId};
use std::collections::BTreeMap;

use mono_cache::LocalStore;
use mono_config::EnvMode;
use mono_tasks::{
    build_task_graph, hash_tasks_with_files, CacheState, CacheStatus, Filter, Plan, PlanDetails,
    TaskGraph, TaskHashDetails, TaskHashes, TaskRequest,
};

use crate::cli::{DryFormat, RunArgs};
use crate::error::Error;
use crate::repo::Repo;

/// The arguments of a run, checked and resolved once.
struct RunOptions {
    filters: Vec<Filter>,
    affected: bool,
    request_tasks: Vec<String>,
    only: bool,
    dry: Option<DryFormat>,
    graph: Option<GraphTarget>,
    force: bool,
    /// `--concurrency` or `concurrency` in turbo.toml; `None`: the default.
    concurrency: Option<usize>,
    continue_on_error: bool,
    /// `--output-logs`; `None`: each task's own `outputLogs`.
    output_logs: Option<mono_run::OutputLogs>,
    log_order: mono_run::LogOrder,
    cache_dir: Option<std::path::PathBuf>,
    cache: crate::cache_hooks::CacheAccess,
    remote_cache: Option<String>,
    env_mode: EnvMode,
}

fn usage(message: String, help: &str) -> Error {
    Error::Usage {
        message,
        help: Some(help.to_owned()),
    }
}

/// `--cache=local:rw,remote:r` as in Turborepo: each listed source gets its mode (`rw`, `r`,
/// `w`, or empty for off) and an unlisted source is off.
pub(crate) fn parse_cache_access(spec: &str) -> Result<crate::cache_hooks::CacheAccess, Error> {
    let mut access = crate::cache_hooks::CacheAccess {
        read: false,
        write: false,
        remote_read: false,
        remote_write: false,
    };
    for part in spec.split(',') {
        let (kind, mode) = part.split_once(':').unwrap_or((part, "rw"));
        let (read, write) = match mode {
            "rw" | "wr" => (true, true),
            "r" => (true, false),
            "w" => (false, true),
            "" => (false, false),
            _ => {
                return Err(usage(
                    format!("`--cache={spec}`: unknown mode `{mode}`"),
                    "modes are `rw`, `r`, `w` or empty",
                ))
            }
        };
        match kind {
            "local" => (access.read, access.write) = (read, write),
            "remote" => (access.remote_read, access.remote_write) = (read, write),
            _ => {
                return Err(usage(
                    format!("`--cache={spec}`: unknown cache `{kind}`"),
                    "the caches are `local` and `remote`: `--cache=local:rw,remote:r`",
                ))
            }
        }
    }
    Ok(access)
}

impl RunOptions {
    fn cache_dir(&self, repo: &Repo) -> mono_paths::AbsPath {
        let base = match &repo.cwd {
            cwd if cwd.is_root() => repo.root.clone(),
            cwd => repo.root.join_repo(cwd),
        };
        match (&self.cache_dir, &repo.config.cache_dir) {
            (Some(dir), _) => base.join(dir),
            (None, Some(dir)) => repo.root.join(&dir.value),
            (None, None) => repo.root.join("cache"),
        }
    }

    /// How many tasks run at once. Persistent tasks never end, so the run needs a slot for
    /// each of them and one more for everything else: the default grows to fit, and an
    /// explicit value that is too small is an error (as in Turborepo).
    fn concurrency_for(&self, graph: &TaskGraph) -> Result<usize, Error> {
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
            Some(n) => Err(usage(
                format!("{persistent} persistent tasks cannot run with a concurrency of {n}: each needs a slot of its own{}", if others { ", and the other tasks one more" } else { "" }),
                &format!("pass --concurrency={needed} or more"),
            )),
        }
    }

    fn execution(&self, concurrency: usize) -> crate::execute::Execution {
        crate::execute::Execution {
            force: self.force,
            concurrency,
            continue_on_error: self.continue_on_error,
            output_logs: self.output_logs,
            log_order: self.log_order,
            cache: self.cache,
            env_mode: self.env_mode,
            to_stderr: false,
        }
    }
}

enum GraphFormat {
    Dot,
    Mermaid,
    Json,
}

enum GraphTarget {
    Stdout(GraphFormat),
    File(std::path::PathBuf, GraphFormat),
}

impl GraphTarget {
    fn parse(value: &str) -> Result<GraphTarget, Error> {
        let format = |name: &str| match name {
            "dot" | "gv" => Some(GraphFormat::Dot),
            "mermaid" | "mmd" => Some(GraphFormat::Mermaid),
            "json" => Some(GraphFormat::Json),
            _ => None,
        };
        if let Some(f) = format(value) {
            return Ok(GraphTarget::Stdout(f));
        }
        let path = std::path::PathBuf::from(value);
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        match format(ext) {
            Some(f) => Ok(GraphTarget::File(path, f)),
            None => Err(Error::Usage {
                message: format!("`--graph={value}`: unknown graph format"),
                help: Some(
                    "use --graph=dot|mermaid|json to print, or a file ending in .dot, .gv, .mermaid, .mmd or .json"
                        .to_owned(),
                ),
            }),
        }
    }
}

impl RunOptions {
    fn resolve(args: RunArgs, repo: &Repo) -> Result<RunOptions, Error> {
        let mut filters = args
            .filter
            .iter()
            .map(|f| Filter::parse(f, &repo.cwd))
            .collect::<Result<Vec<_>, _>>()?;
        // As Turborepo: inside a package's folder and without filters, the run is about that
        // package.
        if filters.is_empty() && !args.affected && !repo.cwd.is_root() {
            let package = repo.packages.package_containing(&repo.cwd);
            if !package.name.is_root() {
                filters.push(Filter::parse(package.name.as_str(), &repo.cwd)?);
            }
        }
        let graph = args.graph.as_deref().map(GraphTarget::parse).transpose()?;
        let cores = mono_run::default_concurrency();
        let configured = repo.config.concurrency.as_ref().map(|c| c.value.as_str());
        let concurrency = match args.concurrency.as_deref().or(configured) {
            Some(value) => Some(mono_run::parse_concurrency(value, cores).map_err(|err| {
                usage(
                    err.to_string(),
                    "use a number (`4`) or a share of the cores (`50%`)",
                )
            })?),
            None => None,
        };
        let output_logs = match &args.output_logs {
            Some(mode) => Some(mode.parse().map_err(|_| {
                usage(
                    format!("unknown --output-logs `{mode}`"),
                    "use full, hash-only, new-only, errors-only or none",
                )
            })?),
            None => None,
        };
        // `auto`, as in Turborepo: grouped where CI interleaves nothing usefully (GitHub
        // Actions folds groups), streamed elsewhere.
        let log_order = match args.log_order.as_str() {
            "auto" if std::env::var_os("GITHUB_ACTIONS").is_some() => "grouped",
            "auto" => "stream",
            other => other,
        };
        let log_order = log_order.parse().map_err(|_| {
            usage(
                format!("unknown --log-order `{}`", args.log_order),
                "use stream or grouped",
            )
        })?;
        let cache = match &args.cache {
            Some(spec) => parse_cache_access(spec)?,
            None => crate::cache_hooks::CacheAccess::ALL,
        };
        let env_mode = match &args.env_mode {
            Some(mode) => EnvMode::parse(mode).ok_or_else(|| {
                usage(
                    format!("unknown --env-mode `{mode}`"),
                    "use strict or loose",
                )
            })?,
            None => repo.config.env_mode.unwrap_or_default(),
        };
        Ok(RunOptions {
            filters,
            affected: args.affected,
            request_tasks: args.tasks,
            only: args.only,
            dry: args.dry,
            graph,
            force: args.force,
            concurrency,
            continue_on_error: args.continue_on_error,
            output_logs,
            log_order,
            cache_dir: args.cache_dir,
            cache,
            remote_cache: args.remote_cache,
            env_mode,
        })
    }
}

/// A run planned and hashed, before it runs or prints anything.
pub(crate) struct Prepared {
    pub repo: Repo,
    options: RunOptions,
    selected: BTreeSet<PackageName>,
    pub graph: TaskGraph,
    pub hashes: TaskHashes,
    pub cache_dir: mono_paths::AbsPath,
}

pub fn run(cwd: Option<&std::path::Path>, args: RunArgs) -> Result<ExitCode, Error> {
    run_selected(cwd, args, false).map(|(code, _)| code)
}

/// A run for `mono image`: also returns the selected packages; with `quiet`, the run's log
/// and summary go to stderr, so that stdout holds only what `mono image` prints.
pub fn run_for_images(
    cwd: Option<&std::path::Path>,
    args: RunArgs,
    quiet: bool,
) -> Result<(ExitCode, BTreeSet<PackageName>), Error> {
    run_selected(cwd, args, quiet)
}

fn run_selected(
    cwd: Option<&std::path::Path>,
    args: RunArgs,
    quiet: bool,
) -> Result<(ExitCode, BTreeSet<PackageName>), Error> {
    let Some(prepared) = prepare(cwd, args)? else {
        return Ok((ExitCode::SUCCESS, BTreeSet::new()));
    };
    let Prepared {
        repo,
        options,
        selected,
        graph,
        hashes,
        cache_dir,
    } = prepared;
    let process_env: BTreeMap<String, String> = std::env::vars().collect();
    let store = LocalStore::new(cache_dir);

    let remote = match options.cache.remote_read || options.cache.remote_write {
        true => crate::remote::resolve(
            options.remote_cache.as_deref(),
            &repo,
            store.entries_dir().to_path_buf(),
        )?,
        false => None,
    };
    let env_mode = options.env_mode;
    if let Some(format) = options.dry {
        let details = Hashed {
            hashes: &hashes,
            store: &store,
            read: options.cache.read && !options.force,
            remote: remote
                .as_ref()
                .filter(|_| options.cache.remote_read && !options.force)
                .map(|remote| &remote.store),
        };
        let plan = Plan::new(
            &graph,
            packages_in_scope(&selected, &graph),
            env_mode,
            hashes.global.to_string(),
            &details,
        );
        match format {
            DryFormat::Json => print(&format!("{}\n", plan.to_json()))?,
            DryFormat::Text => print(&plan.to_text())?,
        }
        return Ok((ExitCode::SUCCESS, selected));
    }
    let concurrency = options.concurrency_for(&graph)?;
    let mut execution = options.execution(concurrency);
    execution.to_stderr = quiet;
    let code = crate::execute::execute(
        &repo,
        &graph,
        &hashes,
        store,
        remote,
        &execution,
        &process_env,
    )?;
    Ok((code, selected))
}

/// Loads the repository, selects packages, builds the task graph and hashes it. With
/// `--graph`, writes the graph and returns `None`.
pub(crate) fn prepare(
    cwd: Option<&std::path::Path>,
    args: RunArgs,
) -> Result<Option<Prepared>, Error> {
    let mut repo = Repo::load_listing_files(cwd)?;
    let options = RunOptions::resolve(args, &repo)?;
    let cache_dir = options.cache_dir(&repo);
    let mut selected =
        crate::selection::select(&repo, &options.filters, options.affected, &cache_dir)?.packages;
    // `mono run web#build` is about `web`, as in Turborepo.
    let named: Option<BTreeSet<PackageName>> = options
        .request_tasks
        .iter()
        .map(|t| {
            t.parse::<mono_task_id::TaskName>()
                .ok()
                .and_then(|n| n.package().cloned())
        })
        .collect();
    if let (Some(named), true) = (named, options.filters.is_empty()) {
        if options.affected {
            selected.retain(|p| named.contains(p));
        } else {
            selected = named;
        }
    }
    if selected.is_empty() && options.affected {
        crate::report::note("no package is affected: nothing to run");
    }
    if selected.is_empty() && !options.filters.is_empty() {
        crate::report::warn(&format!(
            "no package matches the filters {}",
            options
                .filters
                .iter()
                .map(|f| format!("`{}`", f.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let request = TaskRequest {
        tasks: options.request_tasks.clone(),
        packages: selected.clone(),
        only: options.only,
        revision: crate::repo::head_revision(&repo.root),
    };
    let graph = build_task_graph(&request, &repo.config, &repo.packages)?;

    if let Some(target) = &options.graph {
        write_graph(&graph, target, &repo)?;
        return Ok(None);
    }
    let process_env: BTreeMap<String, String> = std::env::vars().collect();
    // A task's hash covers the hashes of what it depends on, whether or not this run runs
    // them: with --only, hash over the whole graph, so that `--only` neither misses the
    // entries of a full run nor hits stale ones after a dependency changed.
    let full_graph = match request.only {
        true => Some(build_task_graph(
            &TaskRequest {
                only: false,
                ..request.clone()
            },
            &repo.config,
            &repo.packages,
        )?),
        false => None,
    };
    let files = repo.take_files();
    let hashes = hash_tasks_with_files(
        files,
        &repo.root,
        &repo.config,
        &repo.packages,
        full_graph.as_ref().unwrap_or(&graph),
        &process_env,
        Some(&cache_dir),
    )?;
    Ok(Some(Prepared {
        repo,
        options,
        selected,
        graph,
        hashes,
        cache_dir,
    }))
}

/// The plan's hashes and cache states.
struct Hashed<'a> {
    hashes: &'a TaskHashes,
    store: &'a LocalStore,
    read: bool,
    remote: Option<&'a mono_cache::RemoteStore>,
}

impl PlanDetails for Hashed<'_> {
    fn task_hash(&self, id: &TaskId) -> TaskHashDetails {
        let facts = &self.hashes.tasks[id];
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

    fn cache_state(&self, _: &TaskId, hash: &str) -> CacheState {
        // The metadata and the archive's size only: verifying every archive would make the
        // plan read the whole cache, and the run verifies what it restores anyway.
        let hit = self
            .read
            .then(|| hash.parse::<mono_cache::CacheKey>().ok())
            .flatten()
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
        let key = hash.parse::<mono_cache::CacheKey>().ok();
        let remote_hit = match (self.remote, key) {
            (Some(remote), Some(key)) => match mono_cache::CacheStore::exists(remote, &key) {
                Ok(found) => found,
                Err(err) => {
                    crate::remote::warn_down(remote, &err);
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
/// package only when one of its tasks is in the graph.
fn packages_in_scope(selected: &BTreeSet<PackageName>, graph: &TaskGraph) -> Vec<PackageName> {
    let root_runs = graph.tasks().any(|t| t.id.package().is_root());
    selected
        .iter()
        .filter(|p| !p.is_root() || root_runs)
        .cloned()
        .collect()
}

fn write_graph(graph: &TaskGraph, target: &GraphTarget, repo: &Repo) -> Result<(), Error> {
    let render = |format: &GraphFormat| match format {
        GraphFormat::Dot => graph.to_dot(),
        GraphFormat::Mermaid => graph.to_mermaid(),
        GraphFormat::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&graph.to_json()).expect("serializes")
        ),
    };
    match target {
        GraphTarget::Stdout(format) => print(&render(format))?,
        GraphTarget::File(path, format) => {
            let base = match &repo.cwd {
                cwd if cwd.is_root() => repo.root.clone(),
                cwd => repo.root.join_repo(cwd),
            };
            let path = base.join(path);
            std::fs::write(path.as_path(), render(format)).map_err(|source| Error::Io {
                action: "write",
                path: path.clone(),
                source,
            })?;
            crate::report::note(&format!("wrote the task graph to {path}"));
        }
    }
    Ok(())
}

fn print(text: &str) -> Result<(), Error> {
    crate::report::write_stdout(text)
}

#[cfg(test)]
mod tests {
    use super::parse_cache_access;

    fn access(spec: &str) -> (bool, bool, bool, bool) {
        let a = parse_cache_access(spec).unwrap();
        (a.read, a.write, a.remote_read, a.remote_write)
    }

    #[test]
    fn cache_spec_sets_each_source_and_leaves_the_others_off() {
        assert_eq!(access("local:rw,remote:r"), (true, true, true, false));
        assert_eq!(access("local:rw"), (true, true, false, false));
        assert_eq!(access("remote:rw"), (false, false, true, true));
        assert_eq!(access("local:r,remote:w"), (true, false, false, true));
        assert_eq!(access("local:,remote:"), (false, false, false, false));
        assert!(parse_cache_access("remote:x").is_err());
        assert!(parse_cache_access("s3:rw").is_err());
    }
}
