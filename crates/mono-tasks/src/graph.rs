use std::collections::BTreeMap;
use std::fmt::Write as _;

use mono_config::{RawTaskDefinition, TaskDefinition};
use mono_paths::RepoPath;
use mono_task_id::TaskId;
use mono_workspace::Language;
use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;
use serde::Serialize;

use crate::error::{TaskGraphError, TaskGraphWarning};

/// One task of the graph.
#[derive(Debug, Clone)]
pub struct TaskNode {
    /// `package#task`.
    pub id: TaskId,
    /// The package's folder.
    pub package_dir: RepoPath,
    /// The package's language.
    pub language: Language,
    /// The merged definition with defaults.
    pub definition: TaskDefinition,
    /// The merged definition as written, with spans.
    pub raw: RawTaskDefinition,
    /// What runs; `None` when the package has nothing to run for this task.
    pub command: Option<String>,
    /// The tasks of the graph that run alongside this one (`with`): they start when it
    /// starts, and nothing waits for anything because of them.
    pub with: Vec<TaskId>,
    /// Arguments given after `--` on the command line, for the tasks named there
    /// (Turborepo's `cliArguments`): appended to the command, and so hashed.
    pub cli_arguments: Vec<String>,
}

impl TaskNode {
    /// The shell command that runs: the command with the CLI arguments appended, each
    /// quoted for a POSIX shell. `None` when there is nothing to run.
    pub fn run_command(&self) -> Option<String> {
        let command = self.command.as_ref()?;
        let mut line = command.clone();
        for arg in &self.cli_arguments {
            line.push(' ');
            line.push_str(&shell_quote(arg));
        }
        Some(line)
    }
}

/// `arg` as one word for a POSIX shell: bare when it holds only safe characters, else in
/// single quotes.
fn shell_quote(arg: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./=:,@+%^".contains(c);
    match !arg.is_empty() && arg.chars().all(safe) {
        true => arg.to_owned(),
        false => format!("'{}'", arg.replace('\'', "'\\''")),
    }
}

/// A validated, acyclic task graph. Edges point from a task to the tasks it depends on.
#[derive(Debug)]
pub struct TaskGraph {
    graph: DiGraph<TaskNode, ()>,
    index: BTreeMap<TaskId, NodeIndex>,
    /// Dependencies first.
    order: Vec<NodeIndex>,
    warnings: Vec<TaskGraphWarning>,
}

impl TaskGraph {
    /// Gives `arguments` to the tasks named on the command line (`build`, `web#build`):
    /// Turborepo passes what follows `--` to those tasks only, not to the tasks they
    /// depend on.
    pub fn pass_arguments(&mut self, named: &[String], arguments: &[String]) {
        if arguments.is_empty() {
            return;
        }
        for node in self.graph.node_weights_mut() {
            let id = node.id.to_string();
            let task = node.id.task();
            if named.iter().any(|n| n == task || *n == id) {
                node.cli_arguments = arguments.to_vec();
            }
        }
    }

    pub(crate) fn new(
        graph: DiGraph<TaskNode, ()>,
        index: BTreeMap<TaskId, NodeIndex>,
    ) -> Result<Self, TaskGraphError> {
        match toposort(&graph, None) {
            Ok(mut order) => {
                // toposort puts dependents before dependencies for our edge direction.
                order.reverse();
                Ok(Self {
                    graph,
                    index,
                    order,
                    warnings: Vec::new(),
                })
            }
            Err(_) => Err(TaskGraphError::Cycle {
                path: find_cycle(&graph),
            }),
        }
    }

    pub(crate) fn with_warnings(mut self, warnings: Vec<TaskGraphWarning>) -> Self {
        self.warnings = warnings;
        self
    }

    /// Problems of the configuration that this run does not reach.
    pub fn warnings(&self) -> &[TaskGraphWarning] {
        &self.warnings
    }

    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    /// Whether the graph has no task.
    pub fn is_empty(&self) -> bool {
        self.graph.node_count() == 0
    }

    /// Every task, sorted by id.
    pub fn tasks(&self) -> impl Iterator<Item = &TaskNode> {
        self.index.values().map(|&i| &self.graph[i])
    }

    /// Every task, each after everything it depends on.
    pub fn in_dependency_order(&self) -> impl Iterator<Item = &TaskNode> {
        self.order.iter().map(|&i| &self.graph[i])
    }

    /// One task.
    pub fn get(&self, id: &TaskId) -> Option<&TaskNode> {
        self.index.get(id).map(|&i| &self.graph[i])
    }

    fn neighbors(&self, id: &TaskId, direction: Direction) -> Vec<&TaskId> {
        let Some(&i) = self.index.get(id) else {
            return Vec::new();
        };
        let mut out: Vec<&TaskId> = self
            .graph
            .neighbors_directed(i, direction)
            .map(|n| &self.graph[n].id)
            .collect();
        out.sort();
        out
    }

    /// The tasks `id` waits for, sorted.
    pub fn dependencies(&self, id: &TaskId) -> Vec<&TaskId> {
        self.neighbors(id, Direction::Outgoing)
    }

    /// The tasks that wait for `id`, sorted.
    pub fn dependents(&self, id: &TaskId) -> Vec<&TaskId> {
        self.neighbors(id, Direction::Incoming)
    }

    /// The graph in Graphviz DOT.
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph mono {\n\trankdir = \"BT\"\n");
        for task in self.tasks() {
            let _ = writeln!(out, "\t\"{}\"", task.id);
        }
        for task in self.tasks() {
            for dep in self.dependencies(&task.id) {
                let _ = writeln!(out, "\t\"{}\" -> \"{}\"", task.id, dep);
            }
        }
        out.push_str("}\n");
        out
    }

    /// The graph as a Mermaid flowchart.
    pub fn to_mermaid(&self) -> String {
        let ids: BTreeMap<&TaskId, usize> =
            self.tasks().enumerate().map(|(n, t)| (&t.id, n)).collect();
        let mut out = String::from("graph TD\n");
        for (id, n) in &ids {
            let _ = writeln!(out, "\tT{n}(\"{}\")", id.to_string().replace('"', "#quot;"));
        }
        for task in self.tasks() {
            for dep in self.dependencies(&task.id) {
                let _ = writeln!(out, "\tT{} --> T{}", ids[&task.id], ids[dep]);
            }
        }
        out
    }

    /// The graph as JSON (see docs/graph.md).
    pub fn to_json(&self) -> serde_json::Value {
        #[derive(Serialize)]
        struct Node<'a> {
            #[serde(rename = "taskId")]
            task_id: &'a TaskId,
            package: &'a str,
            task: &'a str,
            dependencies: Vec<&'a TaskId>,
        }
        #[derive(Serialize)]
        struct Doc<'a> {
            version: &'static str,
            tasks: Vec<Node<'a>>,
        }
        let doc = Doc {
            version: crate::GRAPH_FORMAT_VERSION,
            tasks: self
                .tasks()
                .map(|t| Node {
                    task_id: &t.id,
                    package: t.id.package().as_str(),
                    task: t.id.task(),
                    dependencies: self.dependencies(&t.id),
                })
                .collect(),
        };
        serde_json::to_value(doc).expect("graph serializes")
    }
}

/// A shortest cycle in a graph known to have one, as task ids with the first repeated last.
fn find_cycle(graph: &DiGraph<TaskNode, ()>) -> Vec<TaskId> {
    // The smallest non-trivial strongly connected component holds a cycle; walk it from its
    // smallest id, breadth first, back to the start.
    let mut components: Vec<Vec<NodeIndex>> = tarjan_scc(graph)
        .into_iter()
        .filter(|c| c.len() > 1 || graph.find_edge(c[0], c[0]).is_some())
        .collect();
    components.sort_by_key(|c| c.len());
    let Some(component) = components.first() else {
        return Vec::new();
    };
    let start = *component
        .iter()
        .min_by_key(|&&i| &graph[i].id)
        .expect("non-empty");
    let members: std::collections::HashSet<NodeIndex> = component.iter().copied().collect();
    let mut previous: BTreeMap<NodeIndex, NodeIndex> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        let mut next: Vec<NodeIndex> = graph
            .neighbors(node)
            .filter(|n| members.contains(n))
            .collect();
        next.sort_by_key(|&n| &graph[n].id);
        for n in next {
            if n == start {
                let mut path = vec![graph[start].id.clone()];
                let mut at = node;
                let mut back = vec![];
                while at != start {
                    back.push(graph[at].id.clone());
                    at = previous[&at];
                }
                path.extend(back.into_iter().rev());
                path.push(graph[start].id.clone());
                return path;
            }
            if let std::collections::btree_map::Entry::Vacant(e) = previous.entry(n) {
                e.insert(node);
                queue.push_back(n);
            }
        }
    }
    Vec::new()
}
