use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use mono_paths::RepoPath;
use mono_task_id::PackageName;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{Dfs, Reversed};
use petgraph::Direction;

use crate::{Package, WorkspaceError, WorkspaceWarning};

/// Every package of the repository and the dependencies between them, validated: names are
/// unique, every dependency is a package, and there is no cycle. It cannot be changed once
/// built.
///
/// Edges go from a package to each package it depends on. Node indices follow package names,
/// so every iteration is in name order.
#[derive(Debug)]
pub struct PackageGraph {
    graph: DiGraph<PackageName, ()>,
    /// Indexed like `graph`'s nodes.
    packages: Vec<Package>,
    by_name: BTreeMap<PackageName, NodeIndex>,
    by_dir: HashMap<RepoPath, NodeIndex>,
    /// Every package folder, sorted by its string, so the folders under one folder are one
    /// contiguous range (`a/b/…` sorts between `a/b/` and `a/b0`).
    sorted_dirs: Vec<RepoPath>,
    /// Direct dependents, indexed like `graph`'s nodes, sorted.
    dependents: Vec<Vec<NodeIndex>>,
    /// What the root package `//` depends on, directly or not (see
    /// [`PackageGraph::root_dependencies`]).
    root_dependencies: BTreeSet<PackageName>,
    warnings: Vec<WorkspaceWarning>,
}

impl PackageGraph {
    /// Builds and validates the graph. `packages` must have unique names and folders, and
    /// include the root package; dependencies must name packages.
    pub(crate) fn build(
        mut packages: Vec<Package>,
        warnings: Vec<WorkspaceWarning>,
    ) -> Result<Self, WorkspaceError> {
        packages.sort_by(|a, b| a.name.cmp(&b.name));
        let mut graph = DiGraph::with_capacity(packages.len(), packages.len() * 2);
        let mut by_name = BTreeMap::new();
        let mut by_dir = HashMap::with_capacity(packages.len());
        for package in &packages {
            let index = graph.add_node(package.name.clone());
            by_name.insert(package.name.clone(), index);
            by_dir.insert(package.dir.clone(), index);
        }
        let mut sorted_dirs: Vec<RepoPath> = packages.iter().map(|p| p.dir.clone()).collect();
        sorted_dirs.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
        let mut dependents = vec![Vec::new(); packages.len()];
        for (from, package) in packages.iter().enumerate() {
            let from = NodeIndex::new(from);
            for dependency in &package.dependencies {
                let to = by_name[dependency];
                graph.add_edge(from, to, ());
                dependents[to.index()].push(from);
            }
        }
        let mut this = Self {
            graph,
            packages,
            by_name,
            by_dir,
            sorted_dirs,
            dependents,
            root_dependencies: BTreeSet::new(),
            warnings,
        };
        let cycles = this.cycles();
        if cycles.is_empty() {
            this.root_dependencies = this.reachable(&PackageName::root());
        }
        match WorkspaceError::from_many(cycles) {
            Some(error) => Err(error),
            None => Ok(this),
        }
    }

    /// One cycle per strongly connected component that has one, each from its smallest name
    /// along the shortest way back (ties broken by name), sorted.
    fn cycles(&self) -> Vec<WorkspaceError> {
        let mut cycles = Vec::new();
        for component in petgraph::algo::tarjan_scc(&self.graph) {
            let start = *component.iter().min().expect("components are not empty");
            let self_loop = self.graph.contains_edge(start, start);
            if component.len() == 1 && !self_loop {
                continue;
            }
            let members: BTreeSet<NodeIndex> = component.into_iter().collect();
            cycles.push(self.shortest_cycle(start, &members));
        }
        cycles.sort();
        cycles
            .into_iter()
            .map(|path| WorkspaceError::Cycle { path })
            .collect()
    }

    fn shortest_cycle(&self, start: NodeIndex, members: &BTreeSet<NodeIndex>) -> Vec<PackageName> {
        // Breadth-first from `start`, neighbours in name order, until an edge leads back.
        let mut previous: HashMap<NodeIndex, NodeIndex> = HashMap::new();
        let mut queue = VecDeque::from([start]);
        while let Some(node) = queue.pop_front() {
            for next in self.sorted_dependencies(node) {
                if !members.contains(&next) {
                    continue;
                }
                if next == start {
                    let mut path = Vec::new();
                    let mut at = node;
                    while at != start {
                        path.push(at);
                        at = previous[&at];
                    }
                    path.push(start);
                    path.reverse();
                    path.push(start);
                    return path.iter().map(|i| self.graph[*i].clone()).collect();
                }
                if next != start && !previous.contains_key(&next) {
                    previous.insert(next, node);
                    queue.push_back(next);
                }
            }
        }
        unreachable!("a strongly connected component with an edge has a cycle through every node")
    }

    fn sorted_dependencies(&self, node: NodeIndex) -> Vec<NodeIndex> {
        let mut next: Vec<NodeIndex> = self
            .graph
            .neighbors_directed(node, Direction::Outgoing)
            .collect();
        next.sort();
        next.dedup();
        next
    }

    fn index(&self, name: &PackageName) -> Option<NodeIndex> {
        self.by_name.get(name).copied()
    }

    /// Every package, sorted by name, the root `//` included.
    pub fn packages(&self) -> impl Iterator<Item = &Package> {
        self.packages.iter()
    }

    /// The number of packages, the root included.
    pub fn len(&self) -> usize {
        self.packages.len()
    }

    /// Whether the graph is empty; never, since the root package is always there.
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty()
    }

    /// The package of that name.
    pub fn get(&self, name: &PackageName) -> Option<&Package> {
        self.index(name).map(|i| &self.packages[i.index()])
    }

    /// The root package `//`.
    pub fn root(&self) -> &Package {
        self.get(&PackageName::root())
            .expect("the root package is always in the graph")
    }

    /// The packages `name` depends on directly, sorted; none for an unknown name.
    pub fn dependencies(&self, name: &PackageName) -> impl Iterator<Item = &PackageName> {
        self.get(name)
            .into_iter()
            .flat_map(|p| p.dependencies.iter())
    }

    /// The packages that depend on `name` directly, sorted; none for an unknown name.
    pub fn dependents(&self, name: &PackageName) -> impl Iterator<Item = &PackageName> {
        self.index(name).into_iter().flat_map(|i| {
            self.dependents[i.index()]
                .iter()
                .map(|d| &self.packages[d.index()].name)
        })
    }

    /// Every package `name` depends on through manifests, directly or not, without itself.
    fn reachable(&self, name: &PackageName) -> BTreeSet<PackageName> {
        let Some(start) = self.index(name) else {
            return BTreeSet::new();
        };
        let mut dfs = Dfs::new(&self.graph, start);
        let mut out = BTreeSet::new();
        while let Some(node) = dfs.next(&self.graph) {
            if node != start {
                out.insert(self.graph[node].clone());
            }
        }
        out
    }

    /// The packages the root package `//` depends on, directly or not (through the root
    /// package.json, Cargo.toml or go.mod). As in Turborepo, every package implicitly
    /// depends on them: they are among its [`transitive_dependencies`] and they have every
    /// package as a [`transitive_dependents`].
    ///
    /// [`transitive_dependencies`]: PackageGraph::transitive_dependencies
    /// [`transitive_dependents`]: PackageGraph::transitive_dependents
    pub fn root_dependencies(&self) -> &BTreeSet<PackageName> {
        &self.root_dependencies
    }

    /// Every package `name` depends on, directly or not, without itself: what its manifests
    /// reach, and the [`root_dependencies`](PackageGraph::root_dependencies) (Turborepo's
    /// `X...`).
    pub fn transitive_dependencies(&self, name: &PackageName) -> BTreeSet<PackageName> {
        if self.index(name).is_none() {
            return BTreeSet::new();
        }
        let mut out = self.reachable(name);
        out.extend(self.root_dependencies.iter().cloned());
        out.remove(name);
        out
    }

    /// Every package that depends on `name`, directly or not, without itself; every other
    /// package when `name` is one of the [`root_dependencies`](PackageGraph::root_dependencies)
    /// (Turborepo's `...X`).
    pub fn transitive_dependents(&self, name: &PackageName) -> BTreeSet<PackageName> {
        let Some(start) = self.index(name) else {
            return BTreeSet::new();
        };
        if self.root_dependencies.contains(name) {
            return self
                .packages
                .iter()
                .map(|p| p.name.clone())
                .filter(|n| n != name)
                .collect();
        }
        let reversed = Reversed(&self.graph);
        let mut dfs = Dfs::new(reversed, start);
        let mut out = BTreeSet::new();
        while let Some(node) = dfs.next(reversed) {
            if node != start {
                out.insert(self.graph[node].clone());
            }
        }
        out
    }

    /// The package whose folder is the deepest one containing `path` (a file or a folder);
    /// the root package when no other does.
    pub fn package_containing(&self, path: &RepoPath) -> &Package {
        let mut at = Some(path.clone());
        while let Some(dir) = at {
            if let Some(index) = self.by_dir.get(&dir) {
                return &self.packages[index.index()];
            }
            at = dir.parent();
        }
        self.root()
    }

    /// The folders of the other packages inside `name`'s folder (all of them, nested or not),
    /// sorted: the files under them belong to those packages, not to `name`.
    pub fn nested_package_dirs(&self, name: &PackageName) -> Vec<RepoPath> {
        let Some(package) = self.get(name) else {
            return Vec::new();
        };
        // A binary search for the range under the folder, not a scan: this is asked once
        // per package, and a scan would make hashing quadratic in the number of packages.
        let range: &[RepoPath] = if package.dir.is_root() {
            &self.sorted_dirs
        } else {
            let prefix = format!("{}/", package.dir.as_str());
            let start = self
                .sorted_dirs
                .partition_point(|d| d.as_str() < prefix.as_str());
            let len =
                self.sorted_dirs[start..].partition_point(|d| d.as_str().starts_with(&prefix));
            &self.sorted_dirs[start..start + len]
        };
        let mut dirs: Vec<RepoPath> = range
            .iter()
            .filter(|d| **d != package.dir)
            .cloned()
            .collect();
        dirs.sort();
        dirs
    }

    /// Every package, each after all of its dependencies; among the packages that are ready
    /// at one time, in name order.
    pub fn topological_order(&self) -> Vec<&PackageName> {
        let mut remaining: Vec<usize> =
            self.packages.iter().map(|p| p.dependencies.len()).collect();
        let mut ready: BTreeSet<NodeIndex> = (0..self.packages.len())
            .filter(|i| remaining[*i] == 0)
            .map(NodeIndex::new)
            .collect();
        let mut order = Vec::with_capacity(self.packages.len());
        while let Some(node) = ready.pop_first() {
            order.push(&self.packages[node.index()].name);
            for dependent in &self.dependents[node.index()] {
                remaining[dependent.index()] -= 1;
                if remaining[dependent.index()] == 0 {
                    ready.insert(*dependent);
                }
            }
        }
        order
    }

    /// The graph itself, for crates that walk it with petgraph: node weights are package
    /// names, edges go from a package to each of its dependencies.
    pub fn as_petgraph(&self) -> &DiGraph<PackageName, ()> {
        &self.graph
    }

    /// What discovery found odd but did not stop at.
    pub fn warnings(&self) -> &[WorkspaceWarning] {
        &self.warnings
    }
}
