//! npm `package-lock.json`, lockfile versions 2 and 3.
//!
//! The `packages` map is keyed by install path: `""` is the root package, a path without
//! `node_modules/` is a workspace member's folder, `node_modules/x` a hoisted package,
//! `node_modules/x/node_modules/y` a copy of `y` nested under `x`, and an entry with
//! `"link": true` a symlink to the member folder in its `resolved`. A dependency `d` of the
//! package at `p` is what Node's resolution finds: `p/node_modules/d`, then the same under
//! each enclosing `node_modules` owner of `p`, up to the root's `node_modules/d`.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};

use crate::graph::{line_containing, Graph};
use crate::{kept_members, LockfileError, Member, ResolvedPackage};

#[derive(Debug)]
pub(crate) struct NpmLock {
    doc: Map<String, Value>,
    pub graph: Graph,
    /// Install path → node (externals and members); links map to their member's node.
    by_path: HashMap<String, usize>,
    /// Link install path ("node_modules/a") → target member folder ("packages/a").
    links: HashMap<String, String>,
    /// Member node → its folder ("" for the root), the base of its resolution.
    member_base: HashMap<usize, String>,
}

const RUNTIME_FIELDS: [&str; 3] = ["dependencies", "optionalDependencies", "peerDependencies"];

impl NpmLock {
    pub fn parse(path: &Path, text: &str) -> Result<NpmLock, LockfileError> {
        let doc: Value = serde_json::from_str(text)
            .map_err(|e| LockfileError::syntax(path, e.line(), e.to_string()))?;
        let Value::Object(doc) = doc else {
            return Err(LockfileError::syntax(
                path,
                1,
                "expected a JSON object at the top level",
            ));
        };
        let version = doc
            .get("lockfileVersion")
            .and_then(Value::as_u64)
            .unwrap_or(1);
        if !(2..=3).contains(&version) || !doc.contains_key("packages") {
            return Err(LockfileError::UnsupportedVersion {
                path: path.to_path_buf(),
                format: "npm",
                version: version.to_string(),
                help: "mono reads lockfileVersion 2 and 3 (npm 7 and later); run `npm install --lockfile-version 3` to upgrade it",
            });
        }
        let Some(Value::Object(packages)) = doc.get("packages") else {
            return Err(LockfileError::syntax(
                path,
                line_containing(text, "\"packages\""),
                "`packages` must be an object",
            ));
        };

        let mut graph = Graph::default();
        let mut by_path = HashMap::new();
        let mut links = HashMap::new();
        let mut member_base = HashMap::new();
        for (key, entry) in packages {
            let Value::Object(entry) = entry else {
                return Err(LockfileError::syntax(
                    path,
                    line_containing(text, &format!("\"{key}\":")),
                    format!("package entry `{key}` must be an object"),
                ));
            };
            let name = entry.get("name").and_then(Value::as_str);
            if entry.get("link").and_then(Value::as_bool) == Some(true) {
                let target = entry
                    .get("resolved")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                links.insert(key.clone(), target.to_string());
                continue;
            }
            if key.is_empty() || !is_install_path(key) {
                let dir = if key.is_empty() { "." } else { key.as_str() };
                let id = graph.add_member(dir, name);
                by_path.insert(key.clone(), id);
                member_base.insert(id, key.clone());
                continue;
            }
            let package = ResolvedPackage {
                name: name.map_or_else(|| package_name_of(key).to_string(), str::to_string),
                version: entry
                    .get("version")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                checksum: entry
                    .get("integrity")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            };
            let id = graph.add_external(key, package);
            by_path.insert(key.clone(), id);
        }
        // A link names its member ("node_modules/a" → "packages/a" is package `a`).
        for (link, target) in &links {
            let id = graph.add_member(
                crate::graph::normalize_dir(target),
                Some(package_name_of(link)),
            );
            by_path.entry(target.clone()).or_insert(id);
            member_base.entry(id).or_insert_with(|| target.clone());
        }

        let mut lock = NpmLock {
            doc: Map::new(),
            graph,
            by_path,
            links,
            member_base,
        };
        for (key, entry) in packages {
            let Some(&from) = lock.node_at(key) else {
                continue;
            };
            if lock.links.contains_key(key) {
                continue;
            }
            let base = lock
                .member_base
                .get(&from)
                .cloned()
                .unwrap_or_else(|| key.clone());
            let is_member = lock.graph.nodes[from].package.is_none();
            let mut fields: Vec<(&str, bool)> =
                RUNTIME_FIELDS.iter().map(|f| (*f, false)).collect();
            if is_member {
                fields.push(("devDependencies", true));
            }
            for (field, dev) in fields {
                let Some(Value::Object(deps)) = entry.get(field) else {
                    continue;
                };
                for dep in deps.keys() {
                    if let Some(to) = lock.resolve(&base, dep) {
                        lock.graph.add_edge(from, to, dev);
                    }
                    // Not found: an optional or peer dependency npm did not install, or a
                    // lockfile out of date with package.json, which `npm ci` reports itself.
                }
            }
        }
        lock.doc = doc;
        Ok(lock)
    }

    fn node_at(&self, key: &str) -> Option<&usize> {
        self.by_path.get(key)
    }

    /// Node's resolution of `dep` required from the package installed at `base`.
    fn resolve(&self, base: &str, dep: &str) -> Option<usize> {
        let mut base = base.to_string();
        loop {
            let candidate = if base.is_empty() {
                format!("node_modules/{dep}")
            } else {
                format!("{base}/node_modules/{dep}")
            };
            if let Some(target) = self.links.get(&candidate) {
                return self.by_path.get(target.as_str()).copied();
            }
            if let Some(&id) = self.by_path.get(&candidate) {
                return Some(id);
            }
            if base.is_empty() {
                return None;
            }
            base = match base.rfind("/node_modules/") {
                Some(i) => base[..i].to_string(),
                None => String::new(),
            };
        }
    }

    pub fn prune(&self, path: &Path, keep: &[Member]) -> Result<String, LockfileError> {
        let start = kept_members(&self.graph, path, keep, true)?;
        let seen = self.graph.reachable(&start, false);
        let keep_path = |key: &str| -> bool {
            if key.is_empty() {
                return true;
            }
            if let Some(target) = self.links.get(key) {
                return self
                    .by_path
                    .get(target.as_str())
                    .is_some_and(|&id| seen[id]);
            }
            self.by_path.get(key).is_some_and(|&id| seen[id])
        };
        let mut doc = self.doc.clone();
        if let Some(Value::Object(packages)) = doc.get_mut("packages") {
            packages.retain(|key, _| keep_path(key));
        }
        // v2 also carries npm 6's nested `dependencies` tree; prune it the same way.
        if let Some(Value::Object(deps)) = doc.get_mut("dependencies") {
            prune_legacy(deps, "", &keep_path);
        }
        let mut out = serde_json::to_string_pretty(&Value::Object(doc))
            .map_err(|e| LockfileError::syntax(path, 1, e.to_string()))?;
        out.push('\n');
        Ok(out)
    }
}

/// Prunes npm 6's nested `dependencies` tree: the entry `x` under the install path `p` is the
/// package at `p/node_modules/x`; a workspace member's entry (`"version": "file:packages/c"`)
/// nests what is installed under its folder.
fn prune_legacy(deps: &mut Map<String, Value>, prefix: &str, keep: &dyn Fn(&str) -> bool) {
    deps.retain(|name, _| keep(&format!("{prefix}node_modules/{name}")));
    for (name, entry) in deps.iter_mut() {
        let nested_prefix = match entry
            .get("version")
            .and_then(Value::as_str)
            .and_then(|v| v.strip_prefix("file:"))
        {
            Some(target) => format!("{target}/"),
            None => format!("{prefix}node_modules/{name}/"),
        };
        if let Some(Value::Object(nested)) = entry.get_mut("dependencies") {
            prune_legacy(nested, &nested_prefix, keep);
        }
    }
}

/// Whether a `packages` key is an install path (under some `node_modules`), not a member.
fn is_install_path(key: &str) -> bool {
    key.starts_with("node_modules/") || key.contains("/node_modules/")
}

/// "node_modules/a/node_modules/@s/b" → "@s/b".
fn package_name_of(key: &str) -> &str {
    match key.rfind("node_modules/") {
        Some(i) => &key[i + "node_modules/".len()..],
        None => key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_copies_shadow_hoisted_ones_and_scopes_work() {
        let text = r#"{"lockfileVersion": 3, "packages": {
            "": {"name": "root", "workspaces": ["apps/*"]},
            "apps/web": {"name": "web", "dependencies": {"@s/x": "^1"}, "devDependencies": {"y": "*"}},
            "node_modules/web": {"resolved": "apps/web", "link": true},
            "node_modules/@s/x": {"version": "1.0.0", "dependencies": {"y": "^2"}},
            "node_modules/@s/x/node_modules/y": {"version": "2.0.0"},
            "node_modules/y": {"version": "1.0.0", "dev": true},
            "apps/web/node_modules/z": {"version": "3.0.0"}
        }}"#;
        let lock = NpmLock::parse(Path::new("package-lock.json"), text).unwrap();
        let web = lock.graph.member("apps/web", "web").unwrap();
        let deps: Vec<String> = lock
            .graph
            .external_deps(web)
            .into_iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect();
        // z is installed under apps/web but nothing asks for it; y@2 is @s/x's own copy.
        assert_eq!(deps, ["@s/x@1.0.0", "y@1.0.0", "y@2.0.0"]);
        assert_eq!(
            lock.graph.member("elsewhere", "web"),
            Some(web),
            "found by name too"
        );
    }
}
