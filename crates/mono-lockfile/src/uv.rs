//! uv's `uv.lock` (TOML, lock `version = 1`).
//!
//! Every `[[package]]` is a node. One whose `source` is `editable`, `virtual` or `directory`
//! is a workspace member (or a local path package), keyed by its folder relative to the
//! lockfile; the others (`registry`, `git`, `url`, `path` archives) are external packages.
//! Edges: `dependencies`, every `optional-dependencies` group (extras are not told apart:
//! over-approximating only ever marks more packages changed) and, as dev edges followed out
//! of the member itself only, every `dev-dependencies` group. A dependency item is
//! `{ name = ... }`, with `version` and `source` where uv needs them to be unambiguous.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use crate::graph::{line_containing, normalize_dir, Graph};
use crate::{kept_members, LockfileError, Member, ResolvedPackage};

#[derive(Debug)]
pub(crate) struct UvLock {
    text: String,
    pub graph: Graph,
}

#[derive(Deserialize)]
struct RawLock {
    version: Option<toml::Value>,
    #[serde(default)]
    package: Vec<RawPackage>,
}

#[derive(Deserialize)]
struct RawPackage {
    name: String,
    version: Option<String>,
    #[serde(default)]
    source: toml::Table,
    sdist: Option<RawArtifact>,
    #[serde(default)]
    wheels: Vec<RawArtifact>,
    #[serde(default)]
    dependencies: Vec<RawDependency>,
    #[serde(default, rename = "optional-dependencies")]
    optional_dependencies: HashMap<String, Vec<RawDependency>>,
    #[serde(default, rename = "dev-dependencies")]
    dev_dependencies: HashMap<String, Vec<RawDependency>>,
}

#[derive(Deserialize)]
struct RawArtifact {
    hash: Option<String>,
}

#[derive(Deserialize)]
struct RawDependency {
    name: String,
    version: Option<String>,
    source: Option<toml::Table>,
}

/// The folder of a member source (`editable`, `virtual`, `directory`), else `None`.
fn member_dir(source: &toml::Table) -> Option<&str> {
    ["editable", "virtual", "directory"]
        .into_iter()
        .find_map(|k| source.get(k).and_then(toml::Value::as_str))
}

/// A canonical text of a source table, to tell two packages of one name and version apart.
fn source_key(source: &toml::Table) -> String {
    let mut parts: Vec<String> = source.iter().map(|(k, v)| format!("{k}={v}")).collect();
    parts.sort();
    parts.join(",")
}

fn key_of(name: &str, version: Option<&str>, source: &toml::Table) -> String {
    format!("{name} {} ({})", version.unwrap_or("-"), source_key(source))
}

impl UvLock {
    pub fn parse(path: &Path, text: &str) -> Result<UvLock, LockfileError> {
        let raw: RawLock = crate::toml_file::parse(path, text)?;
        match raw.version.as_ref().and_then(toml::Value::as_integer) {
            Some(1) => {}
            other => {
                return Err(LockfileError::UnsupportedVersion {
                    path: path.to_path_buf(),
                    format: "uv",
                    version: other.map_or_else(|| "(none)".to_owned(), |v| v.to_string()),
                    help: "mono reads uv.lock version 1; regenerate it with `uv lock`",
                })
            }
        }
        let mut graph = Graph::default();
        let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut ids = Vec::with_capacity(raw.package.len());
        for p in &raw.package {
            let id = match member_dir(&p.source) {
                Some(dir) => graph.add_member(normalize_dir(dir), Some(&p.name)),
                None => {
                    let version = p.version.clone().ok_or_else(|| {
                        LockfileError::syntax(
                            path,
                            line_containing(text, &format!("name = \"{}\"", p.name)),
                            format!("package `{}` has no `version`", p.name),
                        )
                    })?;
                    let checksum = p
                        .sdist
                        .as_ref()
                        .and_then(|a| a.hash.clone())
                        .or_else(|| p.wheels.iter().find_map(|w| w.hash.clone()));
                    graph.add_external(
                        &key_of(&p.name, p.version.as_deref(), &p.source),
                        ResolvedPackage {
                            name: p.name.clone(),
                            version,
                            checksum,
                        },
                    )
                }
            };
            by_name.entry(p.name.as_str()).or_default().push(id);
            ids.push(id);
        }
        let version_of = |graph: &Graph, id: usize, p: &RawPackage| -> Option<String> {
            match &graph.nodes[id].package {
                Some(pk) => Some(pk.version.clone()),
                None => p.version.clone(),
            }
        };
        let entry_of: HashMap<usize, &RawPackage> =
            ids.iter().copied().zip(raw.package.iter()).collect();
        for (p, &from) in raw.package.iter().zip(&ids) {
            let groups = std::iter::once((&p.dependencies, false))
                .chain(p.optional_dependencies.values().map(|d| (d, false)))
                .chain(p.dev_dependencies.values().map(|d| (d, true)));
            for (deps, dev) in groups {
                for dep in deps {
                    let candidates = by_name.get(dep.name.as_str()).map(Vec::as_slice);
                    let found = candidates.unwrap_or_default().iter().copied().find(|&id| {
                        let entry = entry_of.get(&id).copied();
                        let version_ok = dep.version.as_ref().is_none_or(|want| {
                            entry.and_then(|e| version_of(&graph, id, e)).as_ref() == Some(want)
                        });
                        let source_ok = dep.source.as_ref().is_none_or(|want| {
                            entry.is_some_and(|e| source_key(&e.source) == source_key(want))
                        });
                        version_ok && source_ok
                    });
                    match found {
                        Some(to) => graph.add_edge(from, to, dev),
                        None => {
                            return Err(LockfileError::Unresolved {
                                path: path.to_path_buf(),
                                from: format!("{} {}", p.name, p.version.as_deref().unwrap_or("")),
                                dependency: dep.name.clone(),
                            })
                        }
                    }
                }
            }
        }
        Ok(UvLock {
            text: text.to_owned(),
            graph,
        })
    }

    /// Keeps the `[[package]]` entries the kept members reach (with their dev groups: `uv
    /// sync` installs them), the workspace root's entry when it has one, and cuts
    /// `[manifest] members` to the kept members' names.
    pub fn prune(&self, path: &Path, keep: &[Member]) -> Result<String, LockfileError> {
        let start = kept_members(&self.graph, path, keep, true)?;
        let seen = self.graph.reachable(&start, false);
        let mut doc = crate::toml_file::document(path, &self.text)?;
        let mut kept_names: Vec<String> = Vec::new();
        if let Some(toml_edit::Item::ArrayOfTables(packages)) = doc.get_mut("package") {
            packages.retain(|t| {
                let name = t.get("name").and_then(|v| v.as_str()).unwrap_or_default();
                let source = t
                    .get("source")
                    .and_then(|s| s.as_inline_table())
                    .map(|s| {
                        s.iter()
                            .filter_map(|(k, v)| {
                                let text = v.as_str()?;
                                Some((k.to_owned(), toml::Value::String(text.to_owned())))
                            })
                            .collect::<toml::Table>()
                    })
                    .unwrap_or_default();
                let id = match member_dir(&source) {
                    Some(dir) => self.graph.members_by_dir.get(normalize_dir(dir)).copied(),
                    None => {
                        let version = t.get("version").and_then(|v| v.as_str());
                        self.graph
                            .by_key
                            .get(&key_of(name, version, &source))
                            .copied()
                    }
                };
                let keep = id.is_some_and(|id| seen[id]);
                if keep && member_dir(&source).is_some() {
                    kept_names.push(name.to_owned());
                }
                keep
            });
        }
        if let Some(members) = doc
            .get_mut("manifest")
            .and_then(|m| m.get_mut("members"))
            .and_then(|m| m.as_array_mut())
        {
            members.retain(|v| {
                v.as_str()
                    .is_some_and(|n| kept_names.iter().any(|k| k == n))
            });
        }
        Ok(doc.to_string())
    }
}

/// The root `pyproject.toml` for a pruned uv workspace: `[tool.uv.workspace] members` keeps
/// the explicit folders in `keep_dirs` and the globs that match one of them (uv rejects a
/// member glob that matches no folder with a pyproject.toml); the rest is left as written.
pub fn prune_uv_workspace(
    path: &Path,
    contents: &str,
    keep_dirs: &[&str],
) -> Result<String, LockfileError> {
    let mut doc = crate::toml_file::document(path, contents)?;
    if let Some(members) = doc
        .get_mut("tool")
        .and_then(|t| t.get_mut("uv"))
        .and_then(|u| u.get_mut("workspace"))
        .and_then(|w| w.get_mut("members"))
        .and_then(|m| m.as_array_mut())
    {
        crate::toml_file::retain_members(members, keep_dirs);
    }
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"version = 1
revision = 3
requires-python = ">=3.11"

[manifest]
members = [
    "acme-cli",
    "acme-lib",
    "acme-service",
]

[[package]]
name = "acme-cli"
version = "0.1.0"
source = { editable = "python/cli" }
dependencies = [
    { name = "acme-lib" },
    { name = "six" },
]

[[package]]
name = "acme-lib"
version = "0.1.0"
source = { editable = "python/lib" }

[package.dev-dependencies]
dev = [
    { name = "iniconfig" },
]

[[package]]
name = "acme-service"
version = "0.1.0"
source = { editable = "python/service" }
dependencies = [
    { name = "acme-lib" },
    { name = "idna" },
]

[[package]]
name = "idna"
version = "3.10"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://example.invalid/idna-3.10.tar.gz", hash = "sha256:aaa", size = 1 }

[[package]]
name = "iniconfig"
version = "2.0.0"
source = { registry = "https://pypi.org/simple" }
wheels = [
    { url = "https://example.invalid/iniconfig-2.0.0-py3-none-any.whl", hash = "sha256:bbb", size = 1 },
]

[[package]]
name = "six"
version = "1.17.0"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://example.invalid/six-1.17.0.tar.gz", hash = "sha256:ccc", size = 1 }
"#;

    fn names(lock: &UvLock, dir: &str, name: &str) -> Vec<String> {
        let id = lock.graph.member(dir, name).unwrap();
        lock.graph
            .external_deps(id)
            .into_iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect()
    }

    #[test]
    fn members_resolve_their_closure_through_workspace_members() {
        let lock = UvLock::parse(Path::new("uv.lock"), LOCK).unwrap();
        assert_eq!(
            names(&lock, "python/service", "acme-service"),
            ["idna@3.10"]
        );
        assert_eq!(names(&lock, "python/cli", "acme-cli"), ["six@1.17.0"]);
        // A member's own dev group counts; a dependency's dev group does not.
        assert_eq!(names(&lock, "python/lib", "acme-lib"), ["iniconfig@2.0.0"]);
    }

    #[test]
    fn prune_keeps_what_the_kept_members_reach() {
        let lock = UvLock::parse(Path::new("uv.lock"), LOCK).unwrap();
        let pruned = lock
            .prune(
                Path::new("uv.lock"),
                &[Member {
                    dir: "python/service",
                    name: "acme-service",
                }],
            )
            .unwrap();
        assert!(pruned.contains("name = \"acme-service\""));
        assert!(pruned.contains("name = \"acme-lib\""));
        assert!(pruned.contains("name = \"idna\""));
        assert!(
            pruned.contains("name = \"iniconfig\""),
            "a kept member's dev group"
        );
        assert!(!pruned.contains("name = \"six\""));
        assert!(!pruned.contains("\"acme-cli\""));
        let again = UvLock::parse(Path::new("uv.lock"), &pruned).unwrap();
        assert_eq!(again.graph.nodes.len(), 4);
    }

    #[test]
    fn unknown_dependencies_and_versions_are_errors() {
        let bad = LOCK.replace("{ name = \"six\" }", "{ name = \"seven\" }");
        let err = UvLock::parse(Path::new("uv.lock"), &bad).unwrap_err();
        assert!(err.to_string().contains("seven"), "{err}");
        let v2 = LOCK.replace("version = 1\n", "version = 2\n");
        let err = UvLock::parse(Path::new("uv.lock"), &v2).unwrap_err();
        assert!(
            err.to_string()
                .contains("unsupported uv lockfile version 2"),
            "{err}"
        );
    }

    #[test]
    fn the_root_members_list_keeps_kept_folders_and_matching_globs() {
        let root = "[tool.uv.workspace]\nmembers = [\"python/*\", \"tools/gen\", \"other\"]\n";
        let out = prune_uv_workspace(Path::new("pyproject.toml"), root, &["python/lib"]).unwrap();
        assert!(out.contains("members = [\"python/*\"]"), "{out}");
    }
}
