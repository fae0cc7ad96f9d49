//! `pnpm-lock.yaml`, lockfile versions 5.x (pnpm 7), 6.x (pnpm 8) and 9.x (pnpm 9, 10).
//!
//! `importers` maps each member folder to its dependencies, each with the `version` pnpm
//! resolved: a plain version (`7.0.0`, with a peer suffix `1.0.0(react@18.0.0)`), an alias
//! (`string-width@4.2.3` in v9, `/string-width@4.2.3` in v6) or `link:../a` for another
//! member. In v5 and v6 the package graph is `packages`, keyed `/name/version_peers` (v5) or
//! `/name@version(peers)` (v6); in v9 it is
//! `snapshots` keyed `name@version(peers)`, and `packages` (keyed without the peer suffix)
//! holds only the resolution. A repository without a workspace may have its one importer's
//! dependencies at the top level.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde_norway::{Mapping, Value};

use crate::graph::{line_containing, normalize_dir, Graph};
use crate::yaml::{get, scalar};
use crate::{kept_members, LockfileError, Member, ResolvedPackage};

#[derive(Debug)]
pub(crate) struct PnpmLock {
    text: String,
    v9: bool,
    v5: bool,
    pub graph: Graph,
}

const IMPORTER_FIELDS: [(&str, bool); 3] = [
    ("dependencies", false),
    ("optionalDependencies", false),
    ("devDependencies", true),
];

/// "@s/x@1.0.0(react@18.0.0)" → ("@s/x", "1.0.0(react@18.0.0)"); in lockfile v5,
/// "/@s/x/1.0.0_react@18.0.0" → ("@s/x", "1.0.0_react@18.0.0").
fn split_key(key: &str, v5: bool) -> Option<(&str, &str)> {
    let key = key.strip_prefix('/').unwrap_or(key);
    if v5 {
        let version_at = key.rfind('/')?;
        return Some((&key[..version_at], &key[version_at + 1..]));
    }
    let base_end = key.find('(').unwrap_or(key.len());
    let at = key[1..base_end].rfind('@')? + 1;
    Some((&key[..at], &key[at + 1..]))
}

/// A v9 snapshot key without its peer suffix: the key of its `packages` entry.
fn base_key(key: &str) -> &str {
    key.find('(').map_or(key, |i| &key[..i])
}

/// Adds a node per external package: each entry of `nodes` (v9 `snapshots`, older
/// `packages`), named and versioned by its key unless its resolution entry (v9 `packages`,
/// else the entry itself) says otherwise, with the checksum of its resolution.
fn add_externals(graph: &mut Graph, nodes: &Mapping, resolutions: &Mapping, v9: bool, v5: bool) {
    for (k, entry) in nodes {
        let Some(key) = scalar(k) else { continue };
        let info = if v9 {
            resolutions
                .get(Value::String(base_key(&key).to_string()))
                .and_then(Value::as_mapping)
        } else {
            entry.as_mapping()
        };
        let (mut name, mut version) = split_key(&key, v5)
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .unwrap_or_else(|| (key.clone(), String::new()));
        if let Some(info) = info {
            if let Some(n) = get(info, "name").and_then(scalar) {
                name = n;
            }
            if let Some(v) = get(info, "version").and_then(scalar) {
                version = v;
            }
        }
        let checksum = info
            .and_then(|i| get(i, "resolution"))
            .and_then(Value::as_mapping)
            .and_then(|r| {
                get(r, "integrity")
                    .or_else(|| get(r, "tarball"))
                    .or_else(|| get(r, "commit"))
            })
            .and_then(scalar);
        graph.add_external(
            &key,
            ResolvedPackage {
                name,
                version,
                checksum,
            },
        );
    }
}

impl PnpmLock {
    pub fn parse(path: &Path, text: &str) -> Result<PnpmLock, LockfileError> {
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
        let version = get(&doc, "lockfileVersion")
            .and_then(scalar)
            .unwrap_or_default();
        let major = version
            .split('.')
            .next()
            .and_then(|m| m.parse::<u32>().ok())
            .unwrap_or(0);
        if !(5..=9).contains(&major) || major == 7 || major == 8 {
            return Err(LockfileError::UnsupportedVersion {
                path: path.to_path_buf(),
                format: "pnpm",
                version,
                help: "mono reads lockfile versions 5 (pnpm 7), 6 (pnpm 8) and 9 (pnpm 9 and later); run `pnpm install` with pnpm 9 to upgrade it",
            });
        }
        let v9 = major == 9;
        let v5 = major == 5;
        let mapping_at = |m: &Mapping, key: &str| -> Result<Mapping, LockfileError> {
            match get(m, key) {
                None | Some(Value::Null) => Ok(Mapping::new()),
                Some(Value::Mapping(x)) => Ok(x.clone()),
                Some(_) => Err(LockfileError::syntax(
                    path,
                    line_containing(text, &format!("{key}:")),
                    format!("`{key}` must be a mapping"),
                )),
            }
        };
        let graph_section = if v9 { "snapshots" } else { "packages" };
        let nodes = mapping_at(&doc, graph_section)?;
        let resolutions = if v9 {
            mapping_at(&doc, "packages")?
        } else {
            Mapping::new()
        };

        let mut graph = Graph::default();
        // Externals first, so that dependencies can be looked up by key.
        add_externals(&mut graph, &nodes, &resolutions, v9, v5);

        let mut importers = mapping_at(&doc, "importers")?;
        if importers.is_empty() {
            importers.insert(Value::String(".".into()), Value::Mapping(doc.clone()));
        }
        let mut member_ids = Vec::new();
        for (k, _) in &importers {
            let dir = scalar(k).unwrap_or_default();
            member_ids.push(graph.add_member(normalize_dir(&dir), None));
        }
        let mut lock = PnpmLock {
            text: text.to_string(),
            v9,
            v5,
            graph,
        };
        for ((k, importer), &from) in importers.iter().zip(&member_ids) {
            let dir = normalize_dir(&scalar(k).unwrap_or_default()).to_string();
            let Some(importer) = importer.as_mapping() else {
                continue;
            };
            for (field, dev) in IMPORTER_FIELDS {
                let Some(Value::Mapping(deps)) = get(importer, field) else {
                    continue;
                };
                for (name, spec) in deps {
                    let name = scalar(name).unwrap_or_default();
                    // v6+ importers: { specifier, version }; a bare version in old layouts.
                    let version = match spec {
                        Value::Mapping(m) => get(m, "version").and_then(scalar).unwrap_or_default(),
                        other => scalar(other).unwrap_or_default(),
                    };
                    if let Some(to) = lock.resolve(&dir, &name, &version) {
                        lock.graph.add_edge(from, to, dev);
                    } else if field != "optionalDependencies" && !version.starts_with("link:") {
                        // `link:` to a folder outside the workspace is not in the lockfile.
                        return Err(lock.unresolved(path, &dir, &name, &version));
                    }
                }
            }
        }
        for (k, entry) in &nodes {
            let Some(key) = scalar(k) else { continue };
            let from = lock.graph.by_key[&key];
            let Some(entry) = entry.as_mapping() else {
                continue;
            };
            for field in ["dependencies", "optionalDependencies"] {
                let Some(Value::Mapping(deps)) = get(entry, field) else {
                    continue;
                };
                for (name, version) in deps {
                    let (name, version) = (
                        scalar(name).unwrap_or_default(),
                        scalar(version).unwrap_or_default(),
                    );
                    if let Some(to) = lock.resolve(".", &name, &version) {
                        lock.graph.add_edge(from, to, false);
                    } else if field != "optionalDependencies" && !version.starts_with("link:") {
                        return Err(lock.unresolved(path, &key, &name, &version));
                    }
                }
            }
        }
        Ok(lock)
    }

    fn unresolved(&self, path: &Path, from: &str, name: &str, version: &str) -> LockfileError {
        LockfileError::Unresolved {
            path: path.to_path_buf(),
            from: from.to_string(),
            dependency: format!("{name}@{version}"),
        }
    }

    /// The node a dependency `name: version` of the entry in `dir` (importers) points at.
    fn resolve(&self, dir: &str, name: &str, version: &str) -> Option<usize> {
        if let Some(rel) = version.strip_prefix("link:") {
            let target = crate::graph::join_dir(dir, rel);
            return self.graph.members_by_dir.get(target.as_str()).copied();
        }
        let candidates = if self.v9 {
            [
                version.to_string(),
                format!("{name}@{version}"),
                String::new(),
            ]
        } else if self.v5 {
            [
                version.to_string(),
                format!("/{name}/{version}"),
                format!("/{version}"),
            ]
        } else {
            [
                version.to_string(),
                format!("/{name}@{version}"),
                format!("/{version}"),
            ]
        };
        candidates
            .iter()
            .find_map(|c| self.graph.by_key.get(c).copied())
    }

    pub fn prune(&self, path: &Path, keep: &[Member]) -> Result<String, LockfileError> {
        let start = kept_members(&self.graph, path, keep, true)?;
        let seen = self.graph.reachable(&start, false);
        let kept: HashSet<&str> = self
            .graph
            .nodes
            .iter()
            .zip(&seen)
            .filter(|(_, s)| **s)
            .map(|(n, _)| n.key.as_str())
            .collect();
        let kept_base: HashSet<&str> = kept.iter().map(|k| base_key(k)).collect();
        let keep_child = |section: &str, key: &str| -> bool {
            match section {
                "importers" => kept.contains(normalize_dir(key)),
                "snapshots" => kept.contains(key),
                "packages" if self.v9 => kept_base.contains(key),
                "packages" => kept.contains(key),
                _ => true,
            }
        };
        prune_sections(&self.text, path, &keep_child)
    }
}

/// Drops, from the sections `importers`, `packages` and `snapshots`, the child entries
/// (two-space-indented keys) that `keep_child(section, key)` rejects, leaving every other
/// byte as pnpm wrote it.
fn prune_sections(
    text: &str,
    path: &Path,
    keep_child: &dyn Fn(&str, &str) -> bool,
) -> Result<String, LockfileError> {
    let mut out = String::with_capacity(text.len());
    let mut section = String::new();
    let mut keeping = true;
    let mut kept_in_section: HashMap<String, usize> = HashMap::new();
    let mut section_header_at: Option<usize> = None;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let blank = line.trim().is_empty();
        if !blank && indent == 0 {
            close_section(&mut out, &section, section_header_at, &kept_in_section);
            section = line
                .split(':')
                .next()
                .unwrap_or_default()
                .trim()
                .to_string();
            keeping = true;
            section_header_at = Some(out.len());
            out.push_str(line);
            continue;
        }
        let prunable = matches!(section.as_str(), "importers" | "packages" | "snapshots");
        if prunable && !blank && indent == 2 {
            let key = child_key(line).ok_or_else(|| {
                LockfileError::syntax(
                    path,
                    i + 1,
                    format!("cannot read the key of `{}`", line.trim()),
                )
            })?;
            keeping = keep_child(&section, &key);
            if keeping {
                *kept_in_section.entry(section.clone()).or_default() += 1;
            }
        }
        if keeping || (!prunable) {
            out.push_str(line);
        }
    }
    close_section(&mut out, &section, section_header_at, &kept_in_section);
    while out.ends_with("\n\n") {
        out.pop();
    }
    Ok(out)
}

/// A section left with no entries becomes `section: {}` so that it stays a mapping.
fn close_section(
    out: &mut String,
    section: &str,
    header_at: Option<usize>,
    kept: &HashMap<String, usize>,
) {
    let Some(at) = header_at else { return };
    if matches!(section, "importers" | "packages" | "snapshots")
        && kept.get(section).copied().unwrap_or(0) == 0
    {
        out.truncate(at);
        out.push_str(&format!("{section}: {{}}\n\n"));
    }
}

/// The key of a `  key:` or `  'key': {}` line, unquoted by the YAML parser itself.
fn child_key(line: &str) -> Option<String> {
    let parsed: Value = serde_norway::from_str(line.trim()).ok()?;
    let map = parsed.as_mapping()?;
    map.keys().next().and_then(scalar)
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    #[test_case("is-number@7.0.0", Some(("is-number", "7.0.0")))]
    #[test_case("/is-number@7.0.0", Some(("is-number", "7.0.0")))]
    #[test_case("@babel/core@7.0.0(supports-color@8.0.0)", Some(("@babel/core", "7.0.0(supports-color@8.0.0)")))]
    #[test_case("/@s/x@1.0.0(@s/y@2.0.0)(z@3.0.0)", Some(("@s/x", "1.0.0(@s/y@2.0.0)(z@3.0.0)")))]
    #[test_case("noversion", None)]
    fn keys_split_into_name_and_version(key: &str, want: Option<(&str, &str)>) {
        assert_eq!(split_key(key, false), want);
    }

    #[test_case("/is-odd/3.0.1_nrrwwz7lemethtlvvm75r5bmhq", Some(("is-odd", "3.0.1_nrrwwz7lemethtlvvm75r5bmhq")))]
    #[test_case("/@babel/core/7.20.12", Some(("@babel/core", "7.20.12")))]
    fn v5_keys_split_into_name_and_version(key: &str, want: Option<(&str, &str)>) {
        assert_eq!(split_key(key, true), want);
    }

    /// pnpm 7's lockfile v5.4: `/name/version` keys, `specifiers` apart, patches as suffixes.
    #[test]
    fn v5_resolves_and_prunes() {
        let text = "lockfileVersion: 5.4\n\nimporters:\n\n  .:\n    specifiers: {}\n\n  packages/a:\n    specifiers:\n      '@babel/core': ^7.20.12\n      is-odd: ^3.0.1\n    dependencies:\n      '@babel/core': 7.20.12\n      is-odd: 3.0.1_nrrwwz7lemethtlvvm75r5bmhq\n\n  packages/b:\n    specifiers:\n      a: workspace:*\n    dependencies:\n      a: link:../a\n\n  packages/c:\n    specifiers:\n      is-number: ^7.0.0\n    dependencies:\n      is-number: 7.0.0\n\npackages:\n\n  /@babel/core/7.20.12:\n    resolution: {integrity: sha512-core}\n    dev: false\n\n  /is-number/6.0.0:\n    resolution: {integrity: sha512-six}\n    dev: false\n\n  /is-number/7.0.0:\n    resolution: {integrity: sha512-seven}\n    dev: false\n\n  /is-odd/3.0.1_nrrwwz7lemethtlvvm75r5bmhq:\n    resolution: {integrity: sha512-odd}\n    dependencies:\n      is-number: 6.0.0\n    dev: false\n    patched: true\n";
        let lock = PnpmLock::parse(Path::new("pnpm-lock.yaml"), text).unwrap();
        let b = lock.graph.member("packages/b", "b").unwrap();
        let deps: Vec<String> = lock
            .graph
            .external_deps(b)
            .into_iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect();
        assert_eq!(
            deps,
            [
                "@babel/core@7.20.12",
                "is-number@6.0.0",
                "is-odd@3.0.1_nrrwwz7lemethtlvvm75r5bmhq"
            ]
        );
        let pruned = lock
            .prune(
                Path::new("pnpm-lock.yaml"),
                &[Member {
                    dir: "packages/b",
                    name: "b",
                }],
            )
            .unwrap();
        assert!(
            !pruned.contains("packages/c") && !pruned.contains("/is-number/7.0.0"),
            "{pruned}"
        );
        assert!(
            pruned.contains("packages/a:") && pruned.contains("/is-number/6.0.0:"),
            "{pruned}"
        );
    }

    #[test]
    fn peer_variants_and_aliases_resolve() {
        let text = "lockfileVersion: '9.0'\n\nimporters:\n\n  .:\n    dependencies:\n      react-dom:\n        specifier: ^18\n        version: 18.2.0(react@18.2.0)\n      str:\n        specifier: npm:string-width@4\n        version: string-width@4.2.3\n\npackages:\n\n  '@s/x@1.0.0':\n    resolution: {integrity: sha512-x}\n\n  react-dom@18.2.0:\n    resolution: {integrity: sha512-rd}\n\n  react@18.2.0:\n    resolution: {integrity: sha512-r}\n\n  string-width@4.2.3:\n    resolution: {integrity: sha512-sw}\n\nsnapshots:\n\n  '@s/x@1.0.0': {}\n\n  react-dom@18.2.0(react@18.2.0):\n    dependencies:\n      react: 18.2.0\n\n  react@18.2.0: {}\n\n  string-width@4.2.3:\n    dependencies:\n      '@s/x': 1.0.0\n";
        let lock = PnpmLock::parse(Path::new("pnpm-lock.yaml"), text).unwrap();
        let root = lock.graph.member(".", "root").unwrap();
        let deps: Vec<String> = lock
            .graph
            .external_deps(root)
            .into_iter()
            .map(|p| {
                format!(
                    "{}@{} {}",
                    p.name,
                    p.version,
                    p.checksum.unwrap_or_default()
                )
            })
            .collect();
        assert_eq!(
            deps,
            [
                "@s/x@1.0.0 sha512-x",
                "react@18.2.0 sha512-r",
                "react-dom@18.2.0(react@18.2.0) sha512-rd",
                "string-width@4.2.3 sha512-sw"
            ]
        );
        let pruned = lock.prune(Path::new("pnpm-lock.yaml"), &[]).unwrap();
        assert_eq!(pruned, text, "the root keeps everything it reaches");
        // A `link:` to a folder outside the workspace has no entry, and needs none.
        let linked = text.replace("      str:\n", "      outside:\n        specifier: link:../../lib\n        version: link:../../lib\n      str:\n");
        let lock = PnpmLock::parse(Path::new("pnpm-lock.yaml"), &linked).unwrap();
        assert_eq!(
            lock.graph
                .external_deps(lock.graph.member(".", "root").unwrap())
                .len(),
            4
        );
    }
}
