//! Builds the task graph of a run from the requested tasks, the selected packages and the
//! configuration, following Turborepo's rules:
//!
//! 1. Each requested task of each selected package is a starting task when that package has
//!    a definition for it (root `task`, root `package#task`, or the package's own config).
//!    The root package `//` only runs tasks defined as `//#task`.
//! 2. Unless `--only`, each task's `dependsOn` adds tasks: `^task` the task of every direct
//!    dependency that defines it, `task` the same package's, `package#task` that one.
//! 3. A task without a command (a Node package without that script, a Rust, Go or Python
//!    package without a default or `command`) stays in the graph, so that what depends on it still
//!    waits for its dependencies, but runs nothing.
//! 4. Nothing may depend on a persistent task, and the graph must be acyclic.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use mono_config::{did_you_mean, DependsOn, RawTaskDefinition, RootConfig, Spanned};
use mono_task_id::{PackageName, TaskId, TaskName};
use mono_workspace::{Language, Package, PackageGraph};
use petgraph::graph::{DiGraph, NodeIndex};

use crate::error::TaskGraphError;
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
    if package.name.is_root() {
        return package.scripts.get(task).cloned();
    }
    let name = package.name.as_str();
    match package.language {
        Language::Node => package.scripts.get(task).cloned(),
        Language::Rust => match task {
            "build" => Some(format!("cargo build -p {name}")),
            "test" => Some(format!("cargo test -p {name}")),
            "lint" => Some(format!("cargo clippy -p {name}")),
            _ => None,
        },
        Language::Go => match task {
            // `-o bin/` fails in a module without a main package ("no main packages to
            // build"), so a library module is only compiled.
            "build" if package.go_main_packages => Some("go build -o bin/ ./...".to_owned()),
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
        Self { root, known }
    }

    /// The merged definition of `task` for `package`: the root's `package#task` or else its
    /// `task` (never for the root package), overlaid key by key with the package's own.
    fn get(&self, package: &Package, task: &str) -> Option<RawTaskDefinition> {
        let specific = TaskId::new(package.name.clone(), task).ok()?.to_task_name();
        let base = self.root.task(&specific).or_else(|| {
            if package.name.is_root() {
                None
            } else {
                self.root.task(&TaskName::new(task).ok()?)
            }
        });
        let own = package.config.as_ref().and_then(|c| c.task(task));
        if task == IMAGE_TASK {
            if let Some(implicit) = image_definition(package, self.known.contains("build")) {
                // The root's `image` and the package's `[tasks.image]` adjust the implicit
                // definition key by key.
                let mut def = implicit;
                for over in [base, own].into_iter().flatten() {
                    def = def.overlay(&over.definition);
                }
                return Some(def);
            }
        }
        let mut definition = match (base, own) {
            (None, None) => None,
            (Some(base), None) => Some(base.definition.clone()),
            (None, Some(own)) => Some(own.definition.clone()),
            (Some(base), Some(own)) => Some(base.definition.overlay(&own.definition)),
        }?;
        default_outputs(package, task, &mut definition);
        Some(definition)
    }

    fn suggest(&self, task: &str) -> String {
        match did_you_mean(task, &self.known.iter().copied().collect::<Vec<_>>()) {
            Some(close) => format!("did you mean `{close}`?"),
            None if self.known.is_empty() => "define it under `[tasks]` in turbo.toml".to_owned(),
            None => format!(
                "defined tasks: {}; add `[tasks.{task}]` to turbo.toml to define it",
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

fn unknown_package_ref(
    entry: &Spanned<DependsOn>,
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

/// Checks every `dependsOn` entry of every config, whether or not this run reaches it, so
/// that a broken reference is reported at once rather than on the day a run reaches it
/// (Turborepo only reports what a run reaches; mono is stricter on purpose).
fn validate_references(
    root: &RootConfig,
    packages: &PackageGraph,
    defs: &Definitions<'_>,
) -> Result<(), TaskGraphError> {
    let root_entries = root.tasks.iter().map(|e| (None, e));
    let package_entries = packages.packages().flat_map(|p| {
        p.config
            .iter()
            .flat_map(move |c| c.tasks.iter().map(move |e| (Some(&p.name), e)))
    });
    for (owner, entry) in root_entries.chain(package_entries) {
        let from = match owner {
            Some(package) => format!("{package}#{}", entry.name.value.task()),
            None => entry.name.value.to_string(),
        };
        for dep in entry.definition.depends_on.iter().flatten() {
            if !defs.known.contains(dep.value.task()) {
                return Err(TaskGraphError::UnknownTaskReference {
                    src: dep.source.as_ref().expect("from a file").named_source(),
                    span: dep.span.into(),
                    reference: from,
                    task: dep.value.task().to_owned(),
                    help: defs.suggest(dep.value.task()),
                });
            }
            let target = match &dep.value {
                DependsOn::Task(id) => {
                    let Some(package) = packages.get(id.package()) else {
                        return Err(unknown_package_ref(dep, &from, id.package(), packages));
                    };
                    defs.get(package, id.task())
                }
                DependsOn::SamePackage(task) => match owner.and_then(|p| packages.get(p)) {
                    Some(package) => defs.get(package, task),
                    None => root
                        .task(&TaskName::new(task.as_str()).expect("checked"))
                        .map(|e| e.definition.clone()),
                },
                DependsOn::Topological(task) => root
                    .task(&TaskName::new(task.as_str()).expect("checked"))
                    .map(|e| e.definition.clone()),
            };
            if let Some(persistent) = target
                .as_ref()
                .and_then(|t| t.persistent.clone())
                .filter(|p| p.value)
            {
                let _ = persistent;
                return Err(TaskGraphError::PersistentDependency {
                    src: dep.source.as_ref().map(|s| s.named_source()),
                    span: Some(dep.span.into()),
                    dependent: from,
                    persistent: dep.value.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// Builds and validates the task graph.
pub fn build_task_graph(
    request: &TaskRequest,
    root: &RootConfig,
    packages: &PackageGraph,
) -> Result<TaskGraph, TaskGraphError> {
    let defs = Definitions::new(root, packages);
    validate_references(root, packages, &defs)?;

    // 1. Starting tasks.
    let mut queue: VecDeque<TaskId> = VecDeque::new();
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
                    queue.push_back(id);
                }
            }
            None => {
                for name in &request.packages {
                    let Some(package) = packages.get(name) else {
                        continue;
                    };
                    if defs.get(package, raw).is_some() {
                        queue.push_back(
                            TaskId::new(name.clone(), raw.as_str()).expect("checked task name"),
                        );
                    }
                }
            }
        }
    }

    // 2. Expand dependsOn.
    let mut graph: DiGraph<TaskNode, ()> = DiGraph::new();
    let mut index: BTreeMap<TaskId, NodeIndex> = BTreeMap::new();
    // (dependent, dependency, where the dependency was written)
    let mut edges: Vec<(TaskId, TaskId, Option<Spanned<DependsOn>>)> = Vec::new();
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
        if !request.only {
            for entry in raw.depends_on.iter().flatten() {
                let mut add = |dep: TaskId| {
                    edges.push((id.clone(), dep.clone(), Some(entry.clone())));
                    queue.push_back(dep);
                };
                match &entry.value {
                    DependsOn::Topological(task) => {
                        if !defs.known.contains(task.as_str()) {
                            return Err(unknown_task_ref(entry, &id, &defs));
                        }
                        for dep_name in packages.dependencies(&package.name) {
                            let dep_pkg =
                                packages.get(dep_name).expect("graph edges name packages");
                            if defs.get(dep_pkg, task).is_some() {
                                add(TaskId::new(dep_name.clone(), task.as_str()).expect("valid"));
                            }
                        }
                    }
                    DependsOn::SamePackage(task) => {
                        if !defs.known.contains(task.as_str()) {
                            return Err(unknown_task_ref(entry, &id, &defs));
                        }
                        if defs.get(package, task).is_some() {
                            add(id.with_task(task));
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
                            return Err(unknown_task_ref(entry, &id, &defs));
                        }
                        add(target.clone());
                    }
                }
            }
        }
        let implicit_image = id.task() == IMAGE_TASK
            && raw.command.is_none()
            && package.config.as_ref().is_some_and(|c| c.image.is_some());
        let command = match implicit_image {
            true => Some(image_command(request.revision.as_deref())),
            false => resolve_command(package, id.task(), &raw),
        };
        let node = graph.add_node(TaskNode {
            id: id.clone(),
            package_dir: package.dir.clone(),
            language: package.language,
            definition: raw.resolve(),
            raw,
            command,
        });
        index.insert(id, node);
    }

    // 3. Edges, and no waiting on what never ends.
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

    TaskGraph::new(graph, index)
}
