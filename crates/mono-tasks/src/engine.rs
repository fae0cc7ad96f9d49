//! Builds the task graph of a run from the requested tasks, the selected packages and the
//! configuration, following Turborepo's rules:
//!
//! 1. Each requested task of each selected package is a starting task when that package has
//!    a definition for it (root `task`, root `package#task`, or the package's own config).
//!    The root package `//` only runs tasks defined as `//#task`.
//!    A package's definition is the root's (`package#task`, else `task`), then each config
//!    its `extends` names after `//`, in order, then its own: keys override, arrays marked
//!    `$TURBO_EXTENDS$` append, and a task-level `extends: false` starts afresh (alone, it
//!    removes the task from the package).
//! 2. Each task's `dependsOn` adds tasks: `^task` the task of every direct dependency that
//!    defines it, `task` the same package's, `package#task` that one. With `--only` no task
//!    is added, but the edges between the requested tasks stay, as in Turborepo.
//! 3. Each task's `with` adds the tasks that run alongside it (no edge: they start together).
//! 4. A task without a command (a Node package without that script, a Rust, Go or Python
//!    package without a default or `command`) stays in the graph, so that what depends on it
//!    still
//!    waits for its dependencies, but runs nothing.
//! 5. Nothing may depend on a persistent task (each package's own definition decides), and
//!    the graph must be acyclic.
//!
//! Only what the run reaches is checked: a `dependsOn` entry naming a task or package that
//! does not exist is an error when a task of the graph holds it, and a warning otherwise
//! (real repositories carry stale entries; Turborepo ignores them).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use mono_config::{did_you_mean, ConfigFormat, DependsOn, RawTaskDefinition, RootConfig, Spanned};
use mono_paths::RepoPath;
use mono_task_id::{PackageName, TaskId, TaskName};
use mono_workspace::{Language, Package, PackageGraph};
use petgraph::graph::{DiGraph, NodeIndex};

use crate::error::{TaskGraphError, TaskGraphWarning};
use crate::graph::{TaskGraph, TaskNode};

/// What to build a task graph for.
#[derive(Debug, Clone)]
pub struct TaskRequest {
    /// The tasks named on the command line (`build`, or `web#build`).
    pub tasks: Vec<String>,
    /// The packages selected by the filters.
    pub packages: BTreeSet<PackageName>,
    /// `--only`: run the named tasks without their dependencies.
    pub only: bool,
    /// The commit the run builds (`git rev-parse HEAD`), written into images as
    /// `org.opencontainers.image.revision`; part of an image task's command, so its hash.
    pub revision: Option<String>,
}

/// The task name of a package's image (its `[image]` table).
pub const IMAGE_TASK: &str = "image";

/// What an image task runs: mono itself (the binary replaces `mono` with its own path).
pub const IMAGE_COMMAND: &str = "mono image-task";

/// The command of an image task built at `revision`.
pub fn image_command(revision: Option<&str>) -> String {
    match revision {
        Some(rev) => format!("{IMAGE_COMMAND} --revision={rev}"),
        None => IMAGE_COMMAND.to_owned(),
    }
}

/// The implicit definition of a package's `image` task: it depends on the package's
/// `build` and on the `build` of every package its `[image.files]` take files from, and its
/// output is the OCI layout in `dist/image/`.
fn image_definition(package: &Package, build_known: bool) -> Option<RawTaskDefinition> {
    let image = package.config.as_ref()?.image.as_ref()?;
    let mut depends_on = Vec::new();
    if build_known {
        depends_on.push(
            image
                .span
                .clone()
                .map(|()| DependsOn::SamePackage("build".to_owned())),
        );
        for file in &image.files {
            let Some(from) = &file.package else { continue };
            let Ok(id) =
                PackageName::new(from.value.as_str()).and_then(|name| TaskId::new(name, "build"))
            else {
                continue;
            };
            if id.package() != &package.name
                && !depends_on
                    .iter()
                    .any(|d: &Spanned<DependsOn>| d.value == DependsOn::Task(id.clone()))
            {
                depends_on.push(from.clone().map(|_| DependsOn::Task(id)));
            }
        }
    }
    Some(RawTaskDefinition {
        depends_on: Some(depends_on),
        outputs: Some(vec![Spanned::synthetic("dist/image/**".to_owned())]),
        ..RawTaskDefinition::default()
    })
}

/// The command a task runs, when it has one.
pub fn resolve_command(
    package: &Package,
    task: &str,
    definition: &RawTaskDefinition,
) -> Option<String> {
    if let Some(command) = &definition.command {
        return Some(command.value.clone());
    }
    // An empty script is no command, as in Turborepo.
    let script = || package.scripts.get(task).filter(|s| !s.is_empty()).cloned();
    if package.name.is_root() {
        return script();
    }
    let name = package.name.as_str();
    match package.language {
        Language::Node => script(),
        Language::Rust => {
            let flags = cargo_remap_flags(&package.dir);
            match task {
                "build" => Some(format!("cargo build -p {name} {flags}")),
                "test" => Some(format!("cargo test -p {name} {flags}")),
                "lint" => Some(format!("cargo clippy -p {name} {flags}")),
                _ => None,
            }
        }
        Language::Go => match task {
            // `-o bin/` fails in a module without a main package ("no main packages to
            // build"), so a library module is only compiled. `-trimpath`: no checkout path
            // in the binary; `-buildvcs=false`: no commit or dirty flag either, which the
            // task hash does not cover (a cache hit would restore a binary stamped with an
            // older commit) and which differs between a clone and an exported copy.
            "build" if package.go_main_packages => {
                Some("go build -trimpath -buildvcs=false -o bin/ ./...".to_owned())
            }
            "build" => Some("go build ./...".to_owned()),
            "test" => Some("go test ./...".to_owned()),
            "lint" => Some("go vet ./...".to_owned()),
            _ => None,
        },
        Language::Python => {
            let python = package.python.clone().unwrap_or_default();
            match task {
                // uv writes to the workspace root's dist/ by default.
                "build" if python.uv => Some("uv build --out-dir dist".to_owned()),
                "test" if python.has_tests && python.uv => Some("uv run pytest".to_owned()),
                "test" if python.has_tests => Some("python -m pytest".to_owned()),
                "lint" if python.ruff && python.uv => Some("uv run ruff check".to_owned()),
                _ => None,
            }
        }
        Language::Generic => None,
    }
}

/// The `--config` that keeps checkout paths out of what the default Rust commands build,
/// for a package at `dir` (repo-relative; the Cargo workspace is the repository root).
///
/// rustc records the folder it runs in (the workspace root: `DW_AT_comp_dir` in debug
/// info) and the paths of registry sources (`$CARGO_HOME/registry/…`, in panic locations),
/// so a debug build of one commit differs between two folders and two users. Cargo's own
/// `trim-paths` is not stable; rustc's `--remap-path-prefix` is: it maps the workspace root
/// to `.` and Cargo's home to `/cargo`. The shell works the absolute paths out when the task
/// runs, so the command (and the hash) holds none. As `--config build.rustflags`, it joins
/// the rustflags of the project's `.cargo/config.toml` instead of replacing them; a
/// `RUSTFLAGS` variable replaces it (Cargo's precedence). Cargo names its artifacts after
/// the flags too, so a plain `cargo build` beside it keeps its own and neither rebuilds the
/// other's.
fn cargo_remap_flags(dir: &RepoPath) -> String {
    let up = match dir.as_str() {
        "" => ".".to_owned(),
        dir => vec![".."; dir.split('/').count()].join("/"),
    };
    format!(
        "--config \"build.rustflags=['--remap-path-prefix=$(cd {up} && pwd)=.', '--remap-path-prefix=${{CARGO_HOME:-$HOME/.cargo}}=/cargo']\""
    )
}

/// The outputs a default command implies when the definition names none: a uv package's
/// default `build` writes its wheel and sdist into `dist/`.
fn default_outputs(package: &Package, task: &str, definition: &mut RawTaskDefinition) {
    let uv_build = package.language == Language::Python
        && !package.name.is_root()
        && task == "build"
        && package.python.as_ref().is_some_and(|p| p.uv);
    if uv_build && definition.command.is_none() && definition.outputs.is_none() {
        definition.outputs = Some(vec![Spanned::synthetic("dist/**".to_owned())]);
    }
}

/// Looks up task definitions across the root config and the packages' configs.
struct Definitions<'a> {
    root: &'a RootConfig,
    packages: &'a PackageGraph,
    /// Every task name some config defines, for "unknown task" checks.
    known: BTreeSet<&'a str>,
}

impl<'a> Definitions<'a> {
    fn new(root: &'a RootConfig, packages: &'a PackageGraph) -> Self {
        let mut known: BTreeSet<&str> = root.tasks.iter().map(|e| e.name.value.task()).collect();
        for package in packages.packages() {
            if let Some(config) = &package.config {
                known.extend(config.tasks.iter().map(|e| e.name.value.task()));
                if config.image.is_some() {
                    known.insert(IMAGE_TASK);
                }
            }
        }
        Self {
            root,
            packages,
            known,
        }
    }

    /// The package configs' definitions of `task` that apply to `package`, in the order they
    /// apply: those of the packages its `extends` names (each with its own chain), then its
    /// own (marked `true`). A package reached twice applies once.
    fn layers(&self, package: &'a Package, task: &str) -> Vec<(&'a RawTaskDefinition, bool)> {
        fn collect<'a>(
            defs: &Definitions<'a>,
            package: &'a Package,
            task: &str,
            seen: &mut BTreeSet<&'a PackageName>,
            out: &mut Vec<(&'a RawTaskDefinition, bool)>,
        ) {
            let Some(config) = &package.config else {
                return;
            };
            for name in config.extended_packages() {
                let Some(base) = PackageName::new(name.value.as_str())
                    .ok()
                    .and_then(|n| defs.packages.get(&n))
                else {
                    continue;
                };
                if seen.insert(&base.name) {
                    collect(defs, base, task, seen, out);
                }
            }
            if let Some(entry) = config.task(task) {
                out.push((&entry.definition, false));
            }
        }
        let mut out = Vec::new();
        let mut seen = BTreeSet::from([&package.name]);
        collect(self, package, task, &mut seen, &mut out);
        if let Some(own) = out.last_mut().filter(|_| {
            package
                .config
                .as_ref()
                .is_some_and(|c| c.task(task).is_some())
        }) {
            own.1 = true;
        }
        out
    }

    /// The merged definition of `task` for `package`: the root's `package#task` or else its
    /// `task` (never `task` for the root package), then the package configs' layers.
    fn get(&self, package: &'a Package, task: &str) -> Option<RawTaskDefinition> {
        let specific = TaskId::new(package.name.clone(), task).ok()?.to_task_name();
        let base = self.root.task(&specific).or_else(|| {
            if package.name.is_root() {
                None
            } else {
                self.root.task(&TaskName::new(task).ok()?)
            }
        });
        let mut def = base.map(|b| b.definition.clone());
        if task == IMAGE_TASK {
            if let Some(implicit) = image_definition(package, self.known.contains("build")) {
                // The root's `image` and the package's `[tasks.image]` adjust the implicit
                // definition key by key.
                def = Some(match def {
                    Some(base) => implicit.overlay(&base),
                    None => implicit,
                });
            }
        }
        for (layer, own) in self.layers(package, task) {
            // An extended package's `extends: false` drops what it would have passed on,
            // but the task stays (as Turborepo plans it); only a package's own removes it.
            if !own && layer.excludes() {
                def = def.map(|_| RawTaskDefinition {
                    opted_out: true,
                    ..RawTaskDefinition::default()
                });
                continue;
            }
            def = RawTaskDefinition::inherit(def.as_ref(), layer);
        }
        let mut def = def?;
        default_outputs(package, task, &mut def);
        Some(def)
    }

    fn suggest(&self, task: &str) -> String {
        // Said in the syntax of the file the repository has: turbo.json users add a key
        // under `"tasks"`, turbo.toml users a `[tasks.NAME]` table.
        let (file, define) = match self.root.source.as_ref().map(|s| (s.format(), s.path())) {
            Some((ConfigFormat::Json, path)) => (
                path.to_string(),
                format!("`\"{task}\": {{}}` under `\"tasks\"`"),
            ),
            Some((ConfigFormat::Toml, path)) => (path.to_string(), format!("`[tasks.{task}]`")),
            None => ("turbo.toml".to_owned(), format!("`[tasks.{task}]`")),
        };
        match did_you_mean(task, &self.known.iter().copied().collect::<Vec<_>>()) {
            Some(close) => format!("did you mean `{close}`?"),
            None if self.known.is_empty() => format!("add {define} to {file} to define it"),
            None => format!(
                "defined tasks: {}; add {define} to {file} to define it",
                self.known.iter().copied().collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

fn unknown_task_ref(
    entry: &Spanned<DependsOn>,
    from: &TaskId,
    defs: &Definitions<'_>,
) -> TaskGraphError {
    let source = entry
        .source
        .as_ref()
        .expect("dependsOn entries come from a file");
    TaskGraphError::UnknownTaskReference {
        src: source.named_source(),
        span: entry.span.into(),
        reference: from.to_string(),
        task: entry.value.task().to_owned(),
        help: defs.suggest(entry.value.task()),
    }
}

fn unknown_package_ref<T>(
    entry: &Spanned<T>,
    from: &str,
    package: &PackageName,
    packages: &PackageGraph,
) -> TaskGraphError {
    let names: Vec<&str> = packages.packages().map(|p| p.name.as_str()).collect();
    let source = entry
        .source
        .as_ref()
        .expect("dependsOn entries come from a file");
    TaskGraphError::UnknownPackageReference {
        src: source.named_source(),
        span: entry.span.into(),
        reference: from.to_owned(),
        package: package.to_string(),
        help: match did_you_mean(package.as_str(), &names) {
            Some(close) => format!("did you mean `{close}`?"),
            None => "`mono ls` lists the packages".to_owned(),
        },
    }
}

/// The `dependsOn` entries of every config that name a task no config defines, or a package
/// that does not exist. A run that reaches one fails; the others are reported as warnings.
fn stale_references(
    root: &RootConfig,
    packages: &PackageGraph,
    defs: &Definitions<'_>,
) -> Vec<TaskGraphWarning> {
    let root_entries = root.tasks.iter().map(|e| (None, e));
    let package_entries = packages.packages().flat_map(|p| {
        p.config
            .iter()
            .flat_map(move |c| c.tasks.iter().map(move |e| (Some(&p.name), e)))
    });
    let mut warnings = Vec::new();
    for (owner, entry) in root_entries.chain(package_entries) {
        let reference = match owner {
            Some(package) => format!("{package}#{}", entry.name.value.task()),
            None => entry.name.value.to_string(),
        };
        for dep in entry.definition.depends_on.iter().flatten() {
            let location = dep.location().unwrap_or_default();
            if let DependsOn::Task(id) = &dep.value {
                if packages.get(id.package()).is_none() {
                    warnings.push(TaskGraphWarning::UnknownPackage {
                        location,
                        reference: reference.clone(),
                        package: id.package().to_string(),
                    });
                    continue;
                }
            }
            if !defs.known.contains(dep.value.task()) {
                warnings.push(TaskGraphWarning::UnknownTask {
                    location,
                    reference: reference.clone(),
                    task: dep.value.task().to_owned(),
                });
            }
        }
    }
    warnings
}

/// An edge to add: the dependent, the dependency, and where the dependency was written.
type Edge = (TaskId, TaskId, Option<Spanned<DependsOn>>);

/// Builds and validates the task graph.
pub fn build_task_graph(
    request: &TaskRequest,
    root: &RootConfig,
    packages: &PackageGraph,
) -> Result<TaskGraph, TaskGraphError> {
    let defs = Definitions::new(root, packages);
    let start = start_tasks(request, packages, &defs)?;

    let mut graph: DiGraph<TaskNode, ()> = DiGraph::new();
    let mut index: BTreeMap<TaskId, NodeIndex> = BTreeMap::new();
    let mut edges: Vec<Edge> = Vec::new();
    let mut queue: VecDeque<TaskId> = start.iter().cloned().collect();
    while let Some(id) = queue.pop_front() {
        if index.contains_key(&id) {
            continue;
        }
        let package = packages
            .get(id.package())
            .expect("tasks are only made for existing packages");
        let raw = defs
            .get(package, id.task())
            .expect("tasks are only made when defined");
        for entry in raw.depends_on.iter().flatten() {
            for dep in dependency_targets(entry, &id, package, packages, &defs)? {
                // --only adds no task, but keeps the edges between the requested ones.
                if !request.only || start.contains(&dep) {
                    edges.push((id.clone(), dep.clone(), Some(entry.clone())));
                    queue.push_back(dep);
                }
            }
        }
        let mut with = Vec::new();
        for entry in raw.with.iter().flatten() {
            if let Some(sibling) = with_target(entry, &id, packages, &defs)? {
                if !request.only || start.contains(&sibling) {
                    queue.push_back(sibling.clone());
                    with.push(sibling);
                }
            }
        }
        let implicit_image = id.task() == IMAGE_TASK
            && raw.command.is_none()
            && package.config.as_ref().is_some_and(|c| c.image.is_some());
        let command = match implicit_image {
            true => Some(image_command(request.revision.as_deref())),
            false if raw.opted_out => None,
            false => resolve_command(package, id.task(), &raw),
        };
        let node = graph.add_node(TaskNode {
            id: id.clone(),
            package_dir: package.dir.clone(),
            language: package.language,
            definition: raw.resolve(),
            raw,
            command,
            with,
            cli_arguments: Vec::new(),
        });
        index.insert(id, node);
    }
    connect(&mut graph, &index, edges)?;
    let warnings = stale_references(root, packages, &defs);
    TaskGraph::new(graph, index).map(|g| g.with_warnings(warnings))
}

/// The tasks a run starts from: each requested task of each selected package that defines
/// it (or the one `package#task` named).
fn start_tasks(
    request: &TaskRequest,
    packages: &PackageGraph,
    defs: &Definitions<'_>,
) -> Result<BTreeSet<TaskId>, TaskGraphError> {
    let mut start = BTreeSet::new();
    for raw in &request.tasks {
        let name: TaskName = raw.parse().map_err(|_| TaskGraphError::UnknownTask {
            task: raw.clone(),
            help: "task names look like `build` or `web#build`".to_owned(),
        })?;
        if !defs.known.contains(name.task()) {
            return Err(TaskGraphError::UnknownTask {
                task: raw.clone(),
                help: defs.suggest(name.task()),
            });
        }
        match name.into_task_id() {
            Some(id) => {
                let Some(package) = packages.get(id.package()) else {
                    return Err(TaskGraphError::UnknownTask {
                        task: raw.clone(),
                        help: format!(
                            "there is no package `{}`; `mono ls` lists them",
                            id.package()
                        ),
                    });
                };
                if defs.get(package, id.task()).is_some() {
                    start.insert(id);
                }
            }
            None => {
                for name in &request.packages {
                    let Some(package) = packages.get(name) else {
                        continue;
                    };
                    if defs.get(package, raw).is_some() {
                        start.insert(
                            TaskId::new(name.clone(), raw.as_str()).expect("checked task name"),
                        );
                    }
                }
            }
        }
    }
    Ok(start)
}

/// The tasks one `dependsOn` entry of `id` names; an error when it names a task no config
/// defines or a package that does not exist.
fn dependency_targets(
    entry: &Spanned<DependsOn>,
    id: &TaskId,
    package: &Package,
    packages: &PackageGraph,
    defs: &Definitions<'_>,
) -> Result<Vec<TaskId>, TaskGraphError> {
    let mut out = Vec::new();
    match &entry.value {
        DependsOn::Topological(task) => {
            if !defs.known.contains(task.as_str()) {
                return Err(unknown_task_ref(entry, id, defs));
            }
            for dep_name in packages.dependencies(&package.name) {
                let dep_pkg = packages.get(dep_name).expect("graph edges name packages");
                if defs.get(dep_pkg, task).is_some() {
                    out.push(TaskId::new(dep_name.clone(), task.as_str()).expect("valid"));
                }
            }
        }
        DependsOn::SamePackage(task) => {
            if !defs.known.contains(task.as_str()) {
                return Err(unknown_task_ref(entry, id, defs));
            }
            if defs.get(package, task).is_some() {
                out.push(id.with_task(task));
            }
        }
        DependsOn::Task(target) => {
            let Some(target_pkg) = packages.get(target.package()) else {
                return Err(unknown_package_ref(
                    entry,
                    &id.to_string(),
                    target.package(),
                    packages,
                ));
            };
            if defs.get(target_pkg, target.task()).is_none() {
                return Err(unknown_task_ref(entry, id, defs));
            }
            out.push(target.clone());
        }
    }
    Ok(out)
}

/// The task one `with` entry of `id` names, when its package defines it (`None` for the
/// task itself); an error when the package does not exist or no config defines the task.
fn with_target(
    entry: &Spanned<TaskName>,
    id: &TaskId,
    packages: &PackageGraph,
    defs: &Definitions<'_>,
) -> Result<Option<TaskId>, TaskGraphError> {
    let target = match entry.value.clone().into_task_id() {
        Some(target) => target,
        None => id.with_task(entry.value.task()),
    };
    let Some(target_pkg) = packages.get(target.package()) else {
        return Err(unknown_package_ref(
            entry,
            &id.to_string(),
            target.package(),
            packages,
        ));
    };
    if !defs.known.contains(target.task()) {
        let source = entry
            .source
            .as_ref()
            .expect("with entries come from a file");
        return Err(TaskGraphError::UnknownTaskReference {
            src: source.named_source(),
            span: entry.span.into(),
            reference: id.to_string(),
            task: target.task().to_owned(),
            help: defs.suggest(target.task()),
        });
    }
    Ok((target != *id && defs.get(target_pkg, target.task()).is_some()).then_some(target))
}

/// Adds the edges, refusing any to a persistent task that runs something.
fn connect(
    graph: &mut DiGraph<TaskNode, ()>,
    index: &BTreeMap<TaskId, NodeIndex>,
    edges: Vec<Edge>,
) -> Result<(), TaskGraphError> {
    for (from, to, entry) in edges {
        let (a, b) = (index[&from], index[&to]);
        let target = &graph[b];
        if target.definition.persistent && target.command.is_some() {
            let (src, span) = match entry
                .as_ref()
                .and_then(|e| Some((e.source.as_ref()?, e.span)))
            {
                Some((source, span)) => (Some(source.named_source()), Some(span.into())),
                None => (None, None),
            };
            return Err(TaskGraphError::PersistentDependency {
                src,
                span,
                dependent: from.to_string(),
                persistent: to.to_string(),
            });
        }
        if graph.find_edge(a, b).is_none() {
            graph.add_edge(a, b, ());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_flags_climb_to_the_root_in_the_shell_not_in_the_text() {
        let flags = cargo_remap_flags(&RepoPath::new("crates/server").unwrap());
        assert_eq!(
            flags,
            "--config \"build.rustflags=['--remap-path-prefix=$(cd ../.. && pwd)=.', \
             '--remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/cargo']\""
        );
        assert!(cargo_remap_flags(&RepoPath::root()).contains("$(cd . && pwd)"));
    }
}
