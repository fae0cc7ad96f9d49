//! `mono run <task>...` (and `mono <task>...`): the plan, the graph, or the run.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use mono_engine::shards::ShardOptions;
use mono_engine::{
    CacheAccess, ConfiguredUi, Profile, RemoteAccess, Run, RunHandle, RunOptions, RunStatus,
    Selector, TaskGraph, TaskId, Workspace,
};

use crate::cli::{CacheLocationArgs, DryFormat, PlanOutputArgs, RunArgs, TurboGlobalArgs, UiMode};
use crate::error::{Error, EXIT_INTERRUPTED, EXIT_TASK_FAILED};
use crate::report::Terminal;

/// `--cache`, or what Turborepo's shorthands for it say.
fn cache_access(args: &RunArgs) -> CacheAccess {
    let spec = |s: &str| s.parse::<CacheAccess>().expect("a valid spec");
    match args.cache {
        Some(access) => access,
        None if args.remote_only == Some(true) => spec("remote:rw"),
        None if args.no_cache => spec("local:r,remote:r"),
        None if args.remote_cache_read_only == Some(true) => spec("local:rw,remote:r"),
        None => CacheAccess::ALL,
    }
}

/// The remote cache's URL, token, team and timeout: mono's flags, else Turborepo's.
pub fn remote_settings(
    location: &CacheLocationArgs,
    turbo: &TurboGlobalArgs,
) -> (Option<String>, RemoteAccess) {
    let url = location.remote_cache.clone().or_else(|| turbo.api.clone());
    let access = RemoteAccess {
        token: turbo.token.clone(),
        team: turbo.team.clone(),
        timeout: turbo.remote_cache_timeout,
    };
    (url, access)
}

/// Says, once per run, which accepted flags do nothing in mono.
fn warn_no_effect(args: &RunArgs, reporter: &Terminal) {
    let mut ignored = Vec::new();
    if args.anon_profile.is_some() {
        ignored.push("--anon-profile (use --profile: mono's trace has no user data but task names and commands)");
    }
    for flag in ignored {
        mono_engine::Reporter::warn(reporter, &format!("{flag}: ignored"));
    }
}

/// The engine's options from the command line.
fn run_options(args: RunArgs, turbo: &TurboGlobalArgs) -> (RunOptions, PlanOutputArgs) {
    let (remote_cache, remote_access) = remote_settings(&args.location, turbo);
    let options = RunOptions {
        cache: cache_access(&args),
        selector: Selector {
            tasks: args.tasks,
            filters: args.packages.filter,
            affected: args.packages.affected,
            only: args.only,
            pass_through: args.pass_through,
        },
        force: args.force.unwrap_or(false),
        concurrency: args.concurrency,
        continue_mode: args.continue_mode.unwrap_or_default(),
        parallel: args.parallel,
        log_prefix: args.log_prefix,
        global_deps: args.global_deps,
        output_logs: args.output_logs,
        log_order: args.log_order,
        cache_dir: args.location.cache_dir,
        no_wait: args.no_wait,
        remote_cache,
        remote_access,
        env_mode: args.env_mode,
        color: match (turbo.color, turbo.no_color) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        },
        shard: args.shard.shard.map(|shard| ShardOptions {
            shard,
            wait: args.shard.shard_wait,
        }),
        // Set once the terminal UI is open.
        per_task_output: false,
        interrupt: None,
    };
    (options, args.plan)
}

/// Whether this run shows the terminal UI: `--ui` (or `TURBO_UI`), else `ui` in the root
/// config, else `stream`; `tui` only where it can run (a terminal, outside CI) and when the
/// tasks run (not `--dry` or `--graph`). Elsewhere mono streams, as Turborepo does.
fn wants_tui(flag: Option<UiMode>, config: Option<ConfiguredUi>, plan: &PlanOutputArgs) -> bool {
    let tui = match (flag, config) {
        (Some(flag), _) => flag == UiMode::Tui,
        (None, Some(config)) => config == ConfiguredUi::Tui,
        (None, None) => false,
    };
    tui && plan.dry.is_none() && plan.graph.is_none() && crate::tui::available()
}

pub fn run(cwd: Option<&Path>, turbo: &TurboGlobalArgs, args: RunArgs) -> Result<ExitCode, Error> {
    let reporter = Terminal::new();
    warn_no_effect(&args, &reporter);
    let summarize = args.summarize == Some(true);
    let prefix = args.log_prefix != mono_engine::LogPrefix::None;
    let profile = ProfileFile::new(cwd, args.profile.as_deref(), &reporter)?;
    let (mut options, plan) = run_options(args, turbo);
    let workspace = Workspace::load_profiled(cwd, &*reporter, profile.recorder())?;
    if wants_tui(turbo.ui, workspace.config.ui, &plan) {
        let handle = RunHandle::new();
        match crate::tui::Session::start(handle.clone()) {
            Ok(session) => {
                reporter.attach_tui(session);
                options.per_task_output = true;
                options.interrupt = Some(handle);
            }
            Err(err) => mono_engine::Reporter::warn(
                &*reporter,
                &format!("--ui=tui: cannot take the terminal over ({err}); streaming instead"),
            ),
        }
    }
    let mut run = Run::new(workspace, options, reporter.clone())?;
    let output = Output {
        to_stderr: false,
        summarize,
        prefix,
    };
    match execute(&mut run, &plan, output, &reporter)? {
        Executed::Ran { code, .. } | Executed::Planned(code) => Ok(code),
    }
}

/// `--profile=FILE`: the run's recorder, and the trace written to FILE when the run ends,
/// however it ends (a failed run's trace is the one worth reading).
struct ProfileFile {
    file: Option<(mono_engine::AbsPath, Arc<Profile>)>,
    reporter: Arc<Terminal>,
}

impl ProfileFile {
    /// FILE is relative to where mono started.
    fn new(
        cwd: Option<&Path>,
        file: Option<&str>,
        reporter: &Arc<Terminal>,
    ) -> Result<ProfileFile, Error> {
        let file = match file {
            Some(file) => {
                let path = mono_engine::start_dir(cwd)?.join(file);
                // A FILE that cannot be written fails the run before it starts, not after.
                std::fs::File::create(path.as_path()).map_err(|source| {
                    mono_engine::EngineError::Io {
                        action: "write the profile to",
                        path: path.clone(),
                        source,
                    }
                })?;
                Some((path, Arc::new(Profile::new())))
            }
            None => None,
        };
        Ok(ProfileFile {
            file,
            reporter: Arc::clone(reporter),
        })
    }

    fn recorder(&self) -> Option<Arc<Profile>> {
        self.file.as_ref().map(|(_, profile)| Arc::clone(profile))
    }
}

impl Drop for ProfileFile {
    fn drop(&mut self) {
        let Some((path, profile)) = &self.file else {
            return;
        };
        let reporter = &*self.reporter;
        match profile.write(path) {
            Ok(()) => {
                mono_engine::Reporter::note(reporter, &format!("wrote the profile to {path}"));
            }
            Err(err) => {
                let cause = std::error::Error::source(&err)
                    .map(|cause| format!(": {cause}"))
                    .unwrap_or_default();
                mono_engine::Reporter::warn(reporter, &format!("--profile: {err}{cause}"));
            }
        }
    }
}

/// What [`execute`] did.
pub enum Executed {
    /// It printed the plan or the graph.
    Planned(ExitCode),
    /// It ran the tasks of these packages.
    Ran {
        /// How the run ended.
        code: ExitCode,
        /// The packages selected (for `mono image`).
        #[cfg(feature = "images")]
        selected: std::collections::BTreeSet<mono_engine::PackageName>,
    },
}

/// Where a run's output goes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Output {
    /// Task logs and the summary on stderr: `mono image --json` keeps stdout for its JSON.
    pub to_stderr: bool,
    /// `--summarize`: also write the run summary file.
    pub summarize: bool,
    /// The logs the terminal UI leaves behind have the `package:task: ` prefix (not with
    /// `--log-prefix=none`).
    pub prefix: bool,
}

/// Plans, then prints the plan or the graph, or runs and prints the summary.
pub fn execute(
    run: &mut Run,
    plan: &PlanOutputArgs,
    output: Output,
    reporter: &Arc<Terminal>,
) -> Result<Executed, Error> {
    let planned = run.plan()?;
    if let Some(target) = plan.graph.as_deref().filter(|t| is_html(t)) {
        let prepared = run.hash(planned)?;
        let page = run.graph_page(&prepared)?;
        let path = write_file(run.workspace(), target, &page)?;
        mono_engine::Reporter::note(&**reporter, &format!("wrote the task graph page to {path}"));
        return Ok(Executed::Planned(ExitCode::SUCCESS));
    }
    if let Some(target) = &plan.graph {
        write_graph(&planned.graph, target, run.workspace(), reporter)?;
        return Ok(Executed::Planned(ExitCode::SUCCESS));
    }
    if plan.dry.is_none() {
        run.hold_checkout()?;
    }
    let prepared = run.hash(planned)?;
    if let Some(format) = plan.dry {
        let plan = run.dry(&prepared)?;
        match format {
            DryFormat::Json => crate::report::stdout(&format!("{}\n", plan.to_json()))?,
            DryFormat::Text => crate::report::stdout(&plan.to_text(table_width()))?,
        }
        return Ok(Executed::Planned(ExitCode::SUCCESS));
    }
    let with_commands = prepared
        .graph
        .tasks()
        .filter(|t| t.command.is_some())
        .count();
    let to_stderr = output.to_stderr;
    let tasks: Vec<TaskId> = prepared
        .graph
        .in_dependency_order()
        .filter(|t| t.command.is_some())
        .map(|t| t.id.clone())
        .collect();
    let progress = match reporter.tui_tasks(tasks) {
        true => None,
        false => reporter.start_progress(with_commands as u64),
    };
    let out: Box<dyn Write + Send> = match &progress {
        Some(progress) => Box::new(progress.writer()),
        None if to_stderr => Box::new(std::io::stderr()),
        None => Box::new(std::io::stdout()),
    };
    let outcome = run.execute(&prepared, out);
    let tui = reporter.close_tui();
    reporter.clear_progress();
    let outcome = outcome?;
    if let Some(tui) = tui {
        // What the UI showed stays on the terminal, as a stream would have left it.
        let logs = crate::tui::print_logs(&tui, output.prefix);
        match to_stderr {
            true => {
                let _ = std::io::stderr().lock().write_all(logs.as_bytes());
            }
            false => crate::report::stdout(&logs)?,
        }
    }
    let mut summary = outcome.summary_text(crate::elapsed());
    if let Some(shard) = &outcome.shard {
        summary.push_str(&format!("\n{}\n", shard.text()));
    }
    match to_stderr {
        true => {
            let _ = std::io::stderr().lock().write_all(summary.as_bytes());
        }
        false => crate::report::stdout(&summary)?,
    }
    #[cfg(feature = "images")]
    for (task, image) in &outcome.images {
        if let Err(err) = image {
            mono_engine::Reporter::warn(
                &**reporter,
                &format!("{task}: cannot read the image: {err}"),
            );
        }
    }
    if output.summarize {
        let exit = match outcome.status() {
            RunStatus::Succeeded => 0,
            RunStatus::Failed => i32::from(EXIT_TASK_FAILED),
            RunStatus::Interrupted => i32::from(EXIT_INTERRUPTED),
        };
        // As typed, with the program's name instead of its path.
        let command: Vec<String> = std::iter::once("mono".to_owned())
            .chain(std::env::args().skip(1))
            .collect();
        let started = std::time::SystemTime::now() - crate::elapsed();
        let path = run.summarize(&prepared, &outcome, &command.join(" "), started, exit)?;
        mono_engine::Reporter::note(&**reporter, &format!("Summary:    {path}"));
    }
    let code = match outcome.status() {
        RunStatus::Succeeded => ExitCode::SUCCESS,
        RunStatus::Interrupted => {
            mono_engine::Reporter::warn(
                &**reporter,
                "interrupted: every task's processes were stopped; nothing was cached for them",
            );
            ExitCode::from(EXIT_INTERRUPTED)
        }
        RunStatus::Failed => {
            mono_engine::Reporter::note(
                &**reporter,
                &format!("error: {} failed", outcome.failed_list()),
            );
            ExitCode::from(EXIT_TASK_FAILED)
        }
    };
    Ok(Executed::Ran {
        code,
        #[cfg(feature = "images")]
        selected: prepared.selected,
    })
}

/// The width the `--dry` table fits in: `COLUMNS`, else the terminal's when stdout is one,
/// else none (a file or a pipe takes whole lines).
fn table_width() -> Option<usize> {
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse().ok());
    columns.filter(|&c: &usize| c > 0).or_else(|| {
        terminal_size::terminal_size_of(std::io::stdout()).map(|(w, _)| usize::from(w.0))
    })
}

enum GraphFormat {
    Dot,
    Mermaid,
    Json,
}

fn graph_format(name: &str) -> Option<GraphFormat> {
    match name {
        "dot" | "gv" => Some(GraphFormat::Dot),
        "mermaid" | "mmd" => Some(GraphFormat::Mermaid),
        "json" => Some(GraphFormat::Json),
        _ => None,
    }
}

/// `--graph=FORMAT` prints the graph; `--graph=FILE` writes it, the extension naming the
/// format.
fn write_graph(
    graph: &TaskGraph,
    target: &str,
    workspace: &Workspace,
    reporter: &Terminal,
) -> Result<(), Error> {
    let render = |format: GraphFormat| match format {
        GraphFormat::Dot => graph.to_dot(),
        GraphFormat::Mermaid => graph.to_mermaid(),
        GraphFormat::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&graph.to_json()).expect("serializes")
        ),
    };
    if let Some(format) = graph_format(target) {
        return crate::report::stdout(&render(format));
    }
    let path = std::path::PathBuf::from(target);
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    let format = graph_format(ext).ok_or_else(|| mono_engine::EngineError::GraphTarget {
        value: target.to_owned(),
    })?;
    let path = write_file(workspace, target, &render(format))?;
    mono_engine::Reporter::note(reporter, &format!("wrote the task graph to {path}"));
    Ok(())
}

/// Whether `--graph`'s target is a web page: a file named `*.html` or `*.htm`.
fn is_html(target: &str) -> bool {
    let ext = Path::new(target).extension().and_then(|e| e.to_str());
    ext.is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"))
}

/// Writes `text` to `target`, relative to where mono started.
fn write_file(
    workspace: &Workspace,
    target: &str,
    text: &str,
) -> Result<mono_engine::AbsPath, Error> {
    let path = workspace.base_dir().join(target);
    std::fs::write(path.as_path(), text).map_err(|source| mono_engine::EngineError::Io {
        action: "write",
        path: path.clone(),
        source,
    })?;
    Ok(path)
}
