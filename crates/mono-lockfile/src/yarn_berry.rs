//! Yarn berry (2 and later) `yarn.lock`: YAML with a `__metadata` entry.
//!
//! Each entry's key is one or more descriptors (`name@npm:^1.0.0`, joined by `, `) and its
//! value holds `resolution` (a locator: `name@npm:1.0.0`), `version`, `checksum` and the
//! entry's `dependencies` as `name: range`; the descriptor of a dependency is `name@range`.
//! Workspace members are entries too, resolved `name@workspace:folder`, listing their
//! dependencies and devDependencies together (the lockfile does not tell them apart). A
//! `patch:` descriptor also needs the entry of the package it patches.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde_norway::Value;

use crate::graph::{line_containing, normalize_dir, Graph};
use crate::yaml::{get, scalar};
use crate::{kept_members, LockfileError, Member, ResolvedPackage};

#[derive(Debug)]
struct Entry {
    /// Descriptors as written in the header (unquoted).
    keys: Vec<String>,
    /// Descriptors of the entry's dependencies (after parsing: the keys that resolve them).
    deps: Vec<String>,
    /// For each of `keys`: the key of the entry it patches, for a `patch:` descriptor.
    patch_of: Vec<Option<String>>,
    node: usize,
}

#[derive(Debug)]
pub(crate) struct BerryLock {
    text: String,
    entries: Vec<Entry>,
    pub graph: Graph,
}

/// "@s/x@npm:1.0.0" → ("@s/x", "npm:1.0.0").
fn split_locator(s: &str) -> (&str, &str) {
    match s.get(1..).and_then(|r| r.find('@')) {
        Some(i) => (&s[..i + 1], &s[i + 2..]),
        None => (s, ""),
    }
}

/// The key that resolves `descriptor`: itself, or (lockfiles before yarn 4 leave the default
/// protocol out of dependency ranges) the same range with `npm:`.
fn lookup(by_descriptor: &HashMap<String, usize>, descriptor: &str) -> Option<String> {
    if by_descriptor.contains_key(descriptor) {
        return Some(descriptor.to_string());
    }
    let (name, range) = split_locator(descriptor);
    let with_npm = format!("{name}@npm:{range}");
    by_descriptor.contains_key(&with_npm).then_some(with_npm)
}

/// The descriptor a `patch:` descriptor applies to: `resolve@patch:resolve@npm%3A^1.22.1#…`
/// → `resolve@npm:^1.22.1`.
fn patched_descriptor(descriptor: &str) -> Option<String> {
    let (_, range) = split_locator(descriptor);
    let inner = range.strip_prefix("patch:")?;
    let inner = inner.split('#').next()?;
    Some(
        inner
            .replace("%3A", ":")
            .replace("%40", "@")
            .replace("%2F", "/")
            .replace("%23", "#"),
    )
}

impl BerryLock {
    pub fn parse(path: &Path, text: &str) -> Result<BerryLock, LockfileError> {
        let doc: Value = serde_norway::from_str(text).map_err(|e| {
            LockfileError::syntax(path, e.location().map_or(1, |l| l.line()), e.to_string())
        })?;
        let Value::Mapping(doc) = doc else {
            return Err(LockfileError::syntax(
                path,
                1,
                "expected a YAML mapping at the top level",
            ));
        };
        let meta = get(&doc, "__metadata").and_then(Value::as_mapping).ok_or_else(|| {
            LockfileError::UnsupportedVersion {
                path: path.to_path_buf(),
                format: "yarn berry",
                version: "(no __metadata)".into(),
                help: "a yarn berry lockfile starts with `__metadata`; a `# yarn lockfile v1` file is LockfileKind::Yarn1",
            }
        })?;
        let version = get(meta, "version").and_then(scalar).unwrap_or_default();
        if version.parse::<u32>().map_or(true, |v| v < 4) {
            return Err(LockfileError::UnsupportedVersion {
                path: path.to_path_buf(),
                format: "yarn berry",
                version,
                help: "mono reads berry lockfiles from version 4 (yarn 2.4 and later); run `yarn install` with yarn 3 or 4",
            });
        }
        let mut graph = Graph::default();
        let mut entries = Vec::new();
        let mut by_descriptor = HashMap::new();
        for (k, v) in &doc {
            let Some(key) = scalar(k) else { continue };
            if key == "__metadata" {
                continue;
            }
            let Some(v) = v.as_mapping() else {
                return Err(LockfileError::syntax(
                    path,
                    line_containing(text, &key),
                    format!("entry `{key}` must be a mapping"),
                ));
            };
            let Some(resolution) = get(v, "resolution").and_then(scalar) else {
                return Err(LockfileError::syntax(
                    path,
                    line_containing(text, &key),
                    format!("entry `{key}` has no `resolution`"),
                ));
            };
            let (name, reference) = split_locator(&resolution);
            let node = match reference.strip_prefix("workspace:") {
                Some(dir) => graph.add_member(normalize_dir(dir), Some(name)),
                None => graph.add_external(
                    &resolution,
                    ResolvedPackage {
                        name: name.to_string(),
                        version: get(v, "version").and_then(scalar).unwrap_or_default(),
                        checksum: get(v, "checksum").and_then(scalar),
                    },
                ),
            };
            let keys: Vec<String> = key.split(", ").map(|s| s.trim().to_string()).collect();
            for d in &keys {
                by_descriptor.insert(d.clone(), node);
            }
            let mut deps = Vec::new();
            for field in ["dependencies", "optionalDependencies"] {
                if let Some(Value::Mapping(m)) = get(v, field) {
                    for (n, r) in m {
                        deps.push(format!(
                            "{}@{}",
                            scalar(n).unwrap_or_default(),
                            scalar(r).unwrap_or_default()
                        ));
                    }
                }
            }
            entries.push(Entry {
                keys,
                deps,
                patch_of: Vec::new(),
                node,
            });
        }
        // Edges, once every descriptor is known. Each dependency is stored as the key that
        // resolves it, for prune.
        for e in &mut entries {
            let mut resolved = Vec::with_capacity(e.deps.len());
            for d in &e.deps {
                let Some(key) = lookup(&by_descriptor, d) else {
                    return Err(LockfileError::Unresolved {
                        path: path.to_path_buf(),
                        from: e.keys.join(", "),
                        dependency: d.clone(),
                    });
                };
                graph.add_edge(e.node, by_descriptor[&key], false);
                resolved.push(key);
            }
            e.deps = resolved;
            // A patch needs the entry it patches (absent only for a patch of a workspace);
            // and whoever uses the patched package gets the patch: its dependents list the
            // plain range, which yarn's patch plugins (builtin `compat/…` or a user's
            // `patch:` resolution) redirect to the patch entry.
            e.patch_of = e
                .keys
                .iter()
                .map(|k| patched_descriptor(k).and_then(|p| lookup(&by_descriptor, &p)))
                .collect();
            for target in e.patch_of.iter().flatten() {
                let to = by_descriptor[target];
                graph.add_edge(e.node, to, false);
                graph.add_edge(to, e.node, false);
            }
        }
        Ok(BerryLock {
            text: text.to_string(),
            entries,
            graph,
        })
    }

    pub fn prune(&self, path: &Path, keep: &[Member]) -> Result<String, LockfileError> {
        let start = kept_members(&self.graph, path, keep, true)?;
        let seen = self.graph.reachable(&start, false);
        // The descriptors still in use: the kept entries' dependencies, each kept
        // workspace's own `name@workspace:folder`, the targets of kept patches, and a kept
        // patch's descriptors whose patched range is in use.
        let mut used: HashSet<String> = HashSet::new();
        for e in self.entries.iter().filter(|e| seen[e.node]) {
            used.extend(e.deps.iter().cloned());
            used.extend(e.patch_of.iter().flatten().cloned());
            if self.graph.nodes[e.node].package.is_none() {
                let dir = &self.graph.nodes[e.node].key;
                used.extend(
                    e.keys
                        .iter()
                        .filter(|k| split_locator(k).1 == format!("workspace:{dir}"))
                        .cloned(),
                );
            }
        }
        let patches: Vec<String> = self
            .entries
            .iter()
            .filter(|e| seen[e.node])
            .flat_map(|e| e.keys.iter().zip(&e.patch_of))
            .filter(|(_, target)| target.as_ref().is_some_and(|t| used.contains(t)))
            .map(|(k, _)| k.clone())
            .collect();
        used.extend(patches);
        prune_text(&self.text, path, &used)
    }
}

/// Keeps the `__metadata` block and, of every other top-level entry, the descriptors in
/// `used`; an entry left with none is dropped. The bodies stay byte for byte; the entries are
/// sorted again by their (new) key, as yarn writes them (`__metadata` first, then plain string
/// order), because `yarn install --immutable` rejects a lockfile it would reorder.
fn prune_text(text: &str, path: &Path, used: &HashSet<String>) -> Result<String, LockfileError> {
    let mut preamble = String::new();
    let mut blocks: Vec<(String, String)> = Vec::new();
    let mut keeping = true;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let content = line.trim_end_matches(['\n', '\r']);
        let top = !content.is_empty() && !content.starts_with([' ', '#']);
        if top {
            let Some(header) = content.strip_suffix(':') else {
                return Err(LockfileError::syntax(
                    path,
                    i + 1,
                    format!("expected an entry header ending in `:`, found `{content}`"),
                ));
            };
            if header == "__metadata" {
                keeping = true;
                blocks.push((String::new(), line.to_string()));
                continue;
            }
            let quoted = header.starts_with('"');
            let inner = header.trim_matches('"');
            let mut keys: Vec<&str> = inner.split(", ").filter(|k| used.contains(*k)).collect();
            keys.sort_unstable();
            keeping = !keys.is_empty();
            if keeping {
                let joined = keys.join(", ");
                // Yarn quotes a key that holds `:` or `, `, or starts with `@`.
                let header = if quoted || joined.contains([':', ' ']) || joined.starts_with('@') {
                    format!("\"{joined}\":\n")
                } else {
                    format!("{joined}:\n")
                };
                blocks.push((joined, header));
            }
            continue;
        }
        if !keeping {
            continue;
        }
        match blocks.last_mut() {
            Some((_, body)) => body.push_str(line),
            None => preamble.push_str(line),
        }
    }
    // `__metadata` has the empty sort key, so it stays first.
    blocks.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = preamble;
    for (_, mut body) in blocks {
        while body.ends_with("\n\n") {
            body.pop();
        }
        out.push_str(&body);
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    Ok(out)
}
