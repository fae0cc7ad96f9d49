//! `Cargo.lock` (versions 3 and 4, and the older unversioned layout).
//!
//! Every `[[package]]` is a node; one without `source` is a workspace member (or a path
//! dependency), keyed by its crate name. A `dependencies` item is `name`, `name version` or
//! `name version (source)`, as much as Cargo needs to make it unambiguous.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use crate::graph::{line_containing, Graph};
use crate::{kept_members, LockfileError, Member, ResolvedPackage};

#[derive(Debug)]
pub(crate) struct CargoLock {
    text: String,
    pub graph: Graph,
}

#[derive(Deserialize)]
struct RawLock {
    #[serde(default)]
    package: Vec<RawPackage>,
}

#[derive(Deserialize)]
struct RawPackage {
    name: String,
    version: String,
    source: Option<String>,
    checksum: Option<String>,
    #[serde(default)]
    dependencies: Vec<String>,
}

fn key_of(name: &str, version: &str, source: Option<&str>) -> String {
    match source {
        Some(s) => format!("{name} {version} ({s})"),
        None => format!("{name} {version}"),
    }
}

impl CargoLock {
    pub fn parse(path: &Path, text: &str) -> Result<CargoLock, LockfileError> {
        let raw: RawLock = crate::toml_file::parse(path, text)?;
        let mut graph = Graph::default();
        let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut ids = Vec::with_capacity(raw.package.len());
        for p in &raw.package {
            let key = key_of(&p.name, &p.version, p.source.as_deref());
            let id = match &p.source {
                None => graph.add_member(&key, Some(&p.name)),
                Some(_) => graph.add_external(
                    &key,
                    ResolvedPackage {
                        name: p.name.clone(),
                        version: p.version.clone(),
                        checksum: p.checksum.clone(),
                    },
                ),
            };
            if p.source.is_none() {
                graph.by_key.insert(key, id);
            }
            by_name.entry(p.name.as_str()).or_default().push(id);
            ids.push(id);
        }
        for (p, &from) in raw.package.iter().zip(&ids) {
            for dep in &p.dependencies {
                let mut parts = dep.splitn(3, ' ');
                let name = parts.next().unwrap_or_default();
                let version = parts.next();
                let source = parts
                    .next()
                    .map(|s| s.trim_start_matches('(').trim_end_matches(')'));
                let candidates = by_name.get(name).map(Vec::as_slice).unwrap_or_default();
                let found = candidates.iter().copied().find(|&id| {
                    let node = &graph.nodes[id];
                    let (v, s) = match &node.package {
                        Some(pk) => (
                            pk.version.as_str(),
                            node.key
                                .rsplit_once(" (")
                                .map(|(_, s)| s.trim_end_matches(')')),
                        ),
                        None => (node.key.split(' ').nth(1).unwrap_or_default(), None),
                    };
                    version.is_none_or(|want| want == v)
                        && source.is_none_or(|want| Some(want) == s)
                });
                match found {
                    Some(to) => graph.add_edge(from, to, false),
                    None => {
                        return Err(LockfileError::Unresolved {
                            path: path.to_path_buf(),
                            from: format!("{} {}", p.name, p.version),
                            dependency: dep.clone(),
                        })
                    }
                }
            }
        }
        if raw.package.is_empty() && !text.trim().is_empty() && !text.contains("[[package]]") {
            return Err(LockfileError::syntax(
                path,
                line_containing(text, "version"),
                "no [[package]] entries",
            ));
        }
        Ok(CargoLock {
            text: text.to_string(),
            graph,
        })
    }

    pub fn prune(&self, path: &Path, keep: &[Member]) -> Result<String, LockfileError> {
        let start = kept_members(&self.graph, path, keep, false)?;
        let seen = self.graph.reachable(&start, false);
        let mut doc = crate::toml_file::document(path, &self.text)?;
        if let Some(toml_edit::Item::ArrayOfTables(packages)) = doc.get_mut("package") {
            packages.retain(|t| {
                let name = t.get("name").and_then(|v| v.as_str()).unwrap_or_default();
                let version = t
                    .get("version")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default();
                let source = t.get("source").and_then(|v| v.as_str());
                let key = key_of(name, version, source);
                self.graph.by_key.get(&key).is_some_and(|&id| seen[id])
            });
            shorten_dependencies(packages);
        }
        Ok(doc.to_string())
    }
}

/// Writes each `dependencies` item as briefly as Cargo does for the packages left: `name`
/// when one version of the crate remains, `name version` when one source has that version,
/// else `name version (source)`. Removing packages can make a longer form unnecessary (a
/// second `syn` gone), and Cargo would shorten it on its next write.
fn shorten_dependencies(packages: &mut toml_edit::ArrayOfTables) {
    use std::collections::{BTreeMap, BTreeSet};
    let mut versions: BTreeMap<String, BTreeMap<String, BTreeSet<Option<String>>>> =
        BTreeMap::new();
    for t in packages.iter() {
        let get = |k: &str| t.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let (Some(name), Some(version)) = (get("name"), get("version")) else {
            continue;
        };
        versions
            .entry(name)
            .or_default()
            .entry(version)
            .or_default()
            .insert(get("source"));
    }
    for t in packages.iter_mut() {
        let Some(deps) = t.get_mut("dependencies").and_then(|d| d.as_array_mut()) else {
            continue;
        };
        for item in deps.iter_mut() {
            let Some(dep) = item.as_str() else { continue };
            let mut parts = dep.splitn(3, ' ');
            let name = parts.next().unwrap_or_default().to_string();
            let (Some(version), source) = (parts.next().map(str::to_string), parts.next()) else {
                continue;
            };
            let Some(by_version) = versions.get(&name) else {
                continue;
            };
            let sources = by_version.get(&version).map_or(0, BTreeSet::len);
            let short = if by_version.len() == 1 && sources == 1 {
                name
            } else if sources == 1 {
                format!("{name} {version}")
            } else {
                match source {
                    Some(s) => format!("{name} {version} {s}"),
                    None => continue,
                }
            };
            if short != dep {
                let decor = item.decor().clone();
                *item = toml_edit::Value::from(short);
                *item.decor_mut() = decor;
            }
        }
    }
}

/// The root `Cargo.toml` for a pruned workspace: `members` and `default-members` keep the
/// explicit folders in `keep_dirs` and the glob patterns that match one of them (Cargo
/// rejects a member glob that matches no folder); everything else is left as written.
pub fn prune_cargo_manifest(
    path: &Path,
    contents: &str,
    keep_dirs: &[&str],
) -> Result<String, LockfileError> {
    let mut doc = crate::toml_file::document(path, contents)?;
    if let Some(ws) = doc.get_mut("workspace").and_then(|w| w.as_table_like_mut()) {
        for field in ["members", "default-members"] {
            if let Some(members) = ws.get_mut(field).and_then(|m| m.as_array_mut()) {
                crate::toml_file::retain_members(members, keep_dirs);
            }
        }
    }
    Ok(doc.to_string())
}
