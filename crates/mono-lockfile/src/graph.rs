//! The resolved dependency graph every format (but Go) is turned into: workspace members and
//! external packages as nodes, "depends on" as edges. `external_deps` and `prune` are walks
//! over it; only reading and writing the file differs per format.

use std::collections::HashMap;

use crate::ResolvedPackage;

/// One node: a workspace member (by folder) or an external package (by its lockfile key).
#[derive(Debug)]
pub(crate) struct Node {
    /// The format's key for the entry (npm install path, pnpm snapshot key, yarn resolution,
    /// Cargo `name version source`), used by `prune` to keep the entry.
    pub key: String,
    /// `Some` for an external package, `None` for a workspace member.
    pub package: Option<ResolvedPackage>,
}

/// One edge; `dev` edges (a member's devDependencies) are followed only from the member the
/// walk starts at, because the package manager installs a member's devDependencies for that
/// member alone.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Edge {
    pub to: usize,
    pub dev: bool,
}

/// The graph, built once at parse time.
#[derive(Debug, Default)]
pub(crate) struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Vec<Edge>>,
    /// Member folder ("." for the root) → node.
    pub members_by_dir: HashMap<String, usize>,
    /// Member name → node, for formats that know member names.
    pub members_by_name: HashMap<String, usize>,
    /// External key → node.
    pub by_key: HashMap<String, usize>,
    /// The external nodes sorted by package, computed on first use, so that each member's
    /// list comes out sorted without sorting (or comparing strings) again.
    order: std::sync::OnceLock<Vec<usize>>,
}

impl Graph {
    /// Adds a member node (or returns the existing one for `dir`).
    pub fn add_member(&mut self, dir: &str, name: Option<&str>) -> usize {
        if let Some(&id) = self.members_by_dir.get(dir) {
            if let Some(name) = name {
                self.members_by_name.entry(name.to_string()).or_insert(id);
            }
            return id;
        }
        let id = self.push(Node {
            key: dir.to_string(),
            package: None,
        });
        self.members_by_dir.insert(dir.to_string(), id);
        if let Some(name) = name {
            self.members_by_name.entry(name.to_string()).or_insert(id);
        }
        id
    }

    /// Adds an external package node under `key` (or returns the existing one).
    pub fn add_external(&mut self, key: &str, package: ResolvedPackage) -> usize {
        if let Some(&id) = self.by_key.get(key) {
            return id;
        }
        let id = self.push(Node {
            key: key.to_string(),
            package: Some(package),
        });
        self.by_key.insert(key.to_string(), id);
        id
    }

    fn push(&mut self, node: Node) -> usize {
        self.nodes.push(node);
        self.edges.push(Vec::new());
        self.nodes.len() - 1
    }

    pub fn add_edge(&mut self, from: usize, to: usize, dev: bool) {
        if from != to {
            self.edges[from].push(Edge { to, dev });
        }
    }

    /// The member node for `dir`, else for `name`.
    pub fn member(&self, dir: &str, name: &str) -> Option<usize> {
        self.members_by_dir
            .get(normalize_dir(dir))
            .or_else(|| self.members_by_name.get(name))
            .copied()
    }

    /// Nodes reachable from `start`. With `for_member`, devDependencies are followed only
    /// out of `start` (what one member's install brings); without, out of every member
    /// (what installing all reached members brings: prune).
    pub fn reachable(&self, start: &[usize], for_member: bool) -> Vec<bool> {
        let mut seen = vec![false; self.nodes.len()];
        let mut stack: Vec<usize> = Vec::new();
        for &s in start {
            if !seen[s] {
                seen[s] = true;
                stack.push(s);
            }
        }
        while let Some(n) = stack.pop() {
            let is_start = start.contains(&n);
            for e in &self.edges[n] {
                if e.dev && for_member && !is_start {
                    continue;
                }
                if !seen[e.to] {
                    seen[e.to] = true;
                    stack.push(e.to);
                }
            }
        }
        seen
    }

    /// The external packages reachable from a member, sorted and deduplicated.
    pub fn external_deps(&self, member: usize) -> Vec<ResolvedPackage> {
        self.packages_of(&self.reachable(&[member], true))
    }

    /// The packages of the `seen` nodes, sorted and deduplicated (one package installed at
    /// two paths counts once).
    pub fn packages_of(&self, seen: &[bool]) -> Vec<ResolvedPackage> {
        let order = self.order.get_or_init(|| {
            let mut ids: Vec<usize> = (0..self.nodes.len())
                .filter(|&i| self.nodes[i].package.is_some())
                .collect();
            ids.sort_by(|&a, &b| self.nodes[a].package.cmp(&self.nodes[b].package));
            ids
        });
        let mut out: Vec<ResolvedPackage> = Vec::new();
        for &id in order {
            if !seen.get(id).copied().unwrap_or(false) {
                continue;
            }
            let Some(p) = &self.nodes[id].package else {
                continue;
            };
            if out.last() != Some(p) {
                out.push(p.clone());
            }
        }
        out
    }
}

/// "./apps/web/" → "apps/web"; "" and "./" → ".".
pub(crate) fn normalize_dir(dir: &str) -> &str {
    let d = dir.trim_start_matches("./").trim_end_matches('/');
    if d.is_empty() {
        "."
    } else {
        d
    }
}

/// 1-based line of byte offset `at` in `text`.
pub(crate) fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())]
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        + 1
}

/// 1-based line of the first line of `text` that contains `needle`, else 1.
pub(crate) fn line_containing(text: &str, needle: &str) -> usize {
    text.find(needle).map_or(1, |at| line_of(text, at))
}

/// "services/api" + "../shared" → "services/shared".
pub(crate) fn join_dir(base: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = if base == "." {
        Vec::new()
    } else {
        base.split('/').collect()
    };
    for p in rel.split(['/', '\\']) {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}
