//! `mono run <task>...` (and `mono <task>...`): plan, then print the plan or the graph, or run.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::ExitCode;

use mono_task_id::{PackageName, TaskId};
use mono_tasks::{
    build_task_graph, select_packages, CacheState, Filter, Plan, PlanDetails, TaskGraph,
    TaskHashDetails, TaskRequest,
};

use crate::cli::{DryFormat, RunArgs};
use crate::error::Error;
use crate::repo::Repo;

/// The arguments of a run, checked and resolved once.
struct RunOptions {
    filters: Vec<Filter>,
    request_tasks: Vec<String>,
    only: bool,
    dry: Option<DryFormat>,
    graph: Option<GraphTarget>,
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
        if filters.is_empty() && !repo.cwd.is_root() {
            let package = repo.packages.package_containing(&repo.cwd);
            if !package.name.is_root() {
                filters.push(Filter::parse(package.name.as_str(), &repo.cwd)?);
            }
        }
        let graph = args.graph.as_deref().map(GraphTarget::parse).transpose()?;
        Ok(RunOptions {
            filters,
            request_tasks: args.tasks,
            only: args.only,
            dry: args.dry,
            graph,
        })
    }
}

pub fn run(cwd: Option<&std::path::Path>, args: RunArgs) -> Result<ExitCode, Error> {
    let repo = Repo::load(cwd)?;
    let options = RunOptions::resolve(args, &repo)?;
    let mut selected = select_packages(&options.filters, &repo.packages)?;
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
        selected = named;
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
    };
    let graph = build_task_graph(&request, &repo.config, &repo.packages)?;

    if let Some(target) = &options.graph {
        write_graph(&graph, target, &repo)?;
        return Ok(ExitCode::SUCCESS);
    }
    let env_mode = repo.config.env_mode.unwrap_or_default();
    let plan = Plan::new(
        &graph,
        packages_in_scope(&selected, &graph),
        env_mode,
        String::new(),
        &Unhashed,
    );
    match options.dry {
        Some(DryFormat::Json) => print(&format!("{}\n", plan.to_json())),
        Some(DryFormat::Text) => print(&plan.to_text()),
        None => {
            return Err(Error::Usage {
                message: "running tasks is not available in this build of mono".to_owned(),
                help: Some("use --dry to see the plan, or --graph to draw it".to_owned()),
            })
        }
    }
    Ok(ExitCode::SUCCESS)
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

/// Plan details before hashing exists: empty hashes, every task a miss.
struct Unhashed;

impl PlanDetails for Unhashed {
    fn task_hash(&self, _: &TaskId) -> TaskHashDetails {
        TaskHashDetails::default()
    }
    fn cache_state(&self, _: &TaskId, _: &str) -> CacheState {
        CacheState::miss()
    }
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
        GraphTarget::Stdout(format) => print(&render(format)),
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

fn print(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}
