//! Yarn classic `yarn.lock` (`# yarn lockfile v1`).
//!
//! Each entry starts with the descriptors (`name@range`, several joined by `, ` when they
//! resolve to one version) and holds `version`, `resolved`, `integrity` and the entry's own
//! `dependencies` / `optionalDependencies` as `name "range"` lines. Workspace members are not
//! in the file at all, so their package.json must be given ([`crate::Lockfile::add_manifest`]);
//! a dependency whose name is a member's name is that member (yarn links it).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use serde_json::Value;

use crate::graph::Graph;
use crate::{LockfileError, Member, ResolvedPackage};

#[derive(Debug)]
struct Entry {
    /// The descriptors as written in the header (quotes kept), and unquoted.
    keys: Vec<(String, String)>,
    /// Byte range of the entry's text, trailing blank lines included.
    span: (usize, usize),
    /// Header line's end (the byte after its `\n`).
    header_end: usize,
    /// `(descriptor, optional)` of the entry's dependencies.
    deps: Vec<(String, bool)>,
}

#[derive(Debug)]
struct Manifest {
    /// (name, range, dev, optional)
    deps: Vec<(String, String, bool, bool)>,
}

#[derive(Debug)]
pub(crate) struct Yarn1Lock {
    text: String,
    entries: Vec<Entry>,
    /// Entry i is graph node `nodes[i]`.
    nodes: Vec<usize>,
    by_descriptor: HashMap<String, usize>,
    graph: Graph,
    manifests: BTreeMap<usize, Manifest>,
}

/// Splits `a, "b c", d` into tokens, keeping each token's quotes.
fn split_keys(header: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for raw in header.split(", ") {
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        out.push((raw.to_string(), unquote(raw)));
    }
    out
}

fn unquote(s: &str) -> String {
    let s = s.trim();
    if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        s[1..s.len() - 1].replace("\\\"", "\"")
    } else {
        s.to_string()
    }
}

/// "@s/x@^1.0.0" → "@s/x"; "foo@npm:bar@^1" → "foo".
fn name_of(descriptor: &str) -> &str {
    match descriptor.get(1..).and_then(|r| r.find('@')) {
        Some(i) => &descriptor[..i + 1],
        None => descriptor,
    }
}

/// `key value` or `key "value"` of a body line.
fn field(line: &str) -> (String, String) {
    let line = line.trim();
    let (k, v) = if let Some(rest) = line.strip_prefix('"') {
        match rest.find('"') {
            Some(end) => (&line[..end + 2], line[end + 2..].trim()),
            None => (line, ""),
        }
    } else {
        line.split_once(' ').unwrap_or((line, ""))
    };
    (unquote(k.trim_end_matches(':')), unquote(v))
}

impl Yarn1Lock {
    pub fn parse(path: &Path, text: &str) -> Result<Yarn1Lock, LockfileError> {
        let mut entries: Vec<Entry> = Vec::new();
        let mut offset = 0;
        let mut current: Option<Entry> = None;
        let mut section: Option<(String, bool)> = None;
        let mut version = String::new();
        let mut integrity: Option<String> = None;
        let mut packages = Vec::new();
        let mut finish = |e: Option<Entry>,
                          version: &mut String,
                          integrity: &mut Option<String>,
                          entries: &mut Vec<Entry>| {
            if let Some(e) = e {
                let name = name_of(&e.keys[0].1).to_string();
                packages.push(ResolvedPackage {
                    name,
                    version: std::mem::take(version),
                    checksum: integrity.take(),
                });
                entries.push(e);
            }
        };
        for (i, line) in text.split_inclusive('\n').enumerate() {
            let start = offset;
            offset += line.len();
            let content = line.trim_end_matches(['\n', '\r']);
            if content.trim().is_empty() || content.trim_start().starts_with('#') {
                if let Some(e) = current.as_mut() {
                    e.span.1 = offset;
                }
                continue;
            }
            let indent = content.len() - content.trim_start().len();
            if indent == 0 {
                let Some(header) = content.strip_suffix(':') else {
                    return Err(LockfileError::syntax(
                        path,
                        i + 1,
                        format!("expected an entry header ending in `:`, found `{content}`"),
                    ));
                };
                finish(current.take(), &mut version, &mut integrity, &mut entries);
                current = Some(Entry {
                    keys: split_keys(header),
                    span: (start, offset),
                    header_end: offset,
                    deps: Vec::new(),
                });
                section = None;
                continue;
            }
            let Some(e) = current.as_mut() else {
                return Err(LockfileError::syntax(
                    path,
                    i + 1,
                    "an indented line before the first entry",
                ));
            };
            e.span.1 = offset;
            let (k, v) = field(content);
            if indent <= 2 {
                section = None;
                match k.as_str() {
                    "version" => version = v,
                    "integrity" => integrity = Some(v),
                    "resolved" if integrity.is_none() => {
                        integrity = v.split_once('#').map(|(_, h)| h.to_string())
                    }
                    "dependencies" | "optionalDependencies" if content.ends_with(':') => {
                        section = Some((k.clone(), k == "optionalDependencies"));
                    }
                    _ => {}
                }
            } else if let Some((_, optional)) = &section {
                if v.is_empty() {
                    return Err(LockfileError::syntax(
                        path,
                        i + 1,
                        format!("expected `name \"range\"`, found `{}`", content.trim()),
                    ));
                }
                e.deps.push((format!("{k}@{v}"), *optional));
            }
        }
        finish(current.take(), &mut version, &mut integrity, &mut entries);
        if !text.contains("yarn lockfile v1") && !entries.is_empty() && text.contains("__metadata")
        {
            return Err(LockfileError::UnsupportedVersion {
                path: path.to_path_buf(),
                format: "yarn v1",
                version: "berry".into(),
                help: "this yarn.lock is yarn berry's; read it as LockfileKind::YarnBerry",
            });
        }
        let mut graph = Graph::default();
        let mut by_descriptor = HashMap::new();
        let mut nodes = Vec::new();
        for (e, p) in entries.iter().zip(packages) {
            let id = graph.add_external(&e.keys[0].1, p);
            nodes.push(id);
            for (_, k) in &e.keys {
                by_descriptor.insert(k.clone(), id);
            }
        }
        Ok(Yarn1Lock {
            text: text.to_string(),
            entries,
            nodes,
            by_descriptor,
            graph,
            manifests: BTreeMap::new(),
        })
    }

    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    pub fn add_manifest(
        &mut self,
        dir: &str,
        path: &Path,
        contents: &str,
    ) -> Result<(), LockfileError> {
        let doc: Value = serde_json::from_str(contents)
            .map_err(|e| LockfileError::syntax(path, e.line(), e.to_string()))?;
        let name = doc.get("name").and_then(Value::as_str);
        let mut deps = Vec::new();
        for (field, dev, optional) in [
            ("dependencies", false, false),
            ("optionalDependencies", false, true),
            ("devDependencies", true, false),
        ] {
            if let Some(Value::Object(m)) = doc.get(field) {
                for (n, r) in m {
                    deps.push((
                        n.clone(),
                        r.as_str().unwrap_or_default().to_string(),
                        dev,
                        optional,
                    ));
                }
            }
        }
        let id = self.graph.add_member(dir, name);
        self.manifests.insert(id, Manifest { deps });
        Ok(())
    }

    /// Nodes reached from `start` members, and the descriptors used on the way.
    fn walk(&self, start: &[usize], for_member: bool) -> (Vec<bool>, HashSet<String>) {
        let mut seen = vec![false; self.graph.nodes.len()];
        let mut used = HashSet::new();
        let mut stack: Vec<usize> = start.to_vec();
        for &s in start {
            seen[s] = true;
        }
        let entry_of: HashMap<usize, usize> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, &n)| (n, i))
            .collect();
        while let Some(n) = stack.pop() {
            let mut next: Vec<usize> = Vec::new();
            if let Some(m) = self.manifests.get(&n) {
                for (name, range, dev, _) in &m.deps {
                    if *dev && for_member && !start.contains(&n) {
                        continue;
                    }
                    if let Some(&member) = self.graph.members_by_name.get(name) {
                        next.push(member);
                    } else {
                        let d = format!("{name}@{range}");
                        if let Some(&to) = self.by_descriptor.get(&d) {
                            used.insert(d);
                            next.push(to);
                        }
                    }
                }
            } else if let Some(&i) = entry_of.get(&n) {
                for (d, _) in &self.entries[i].deps {
                    if let Some(&to) = self.by_descriptor.get(d) {
                        used.insert(d.clone());
                        next.push(to);
                    }
                }
            }
            for to in next {
                if !seen[to] {
                    seen[to] = true;
                    stack.push(to);
                }
            }
        }
        (seen, used)
    }

    fn member_node(&self, path: &Path, member: &Member) -> Result<usize, LockfileError> {
        self.graph
            .member(member.dir, member.name)
            .filter(|id| self.manifests.contains_key(id))
            .ok_or_else(|| LockfileError::MissingManifest {
                path: path.to_path_buf(),
                member: member.name.to_string(),
                dir: member.dir.to_string(),
                kind: "yarn v1",
            })
    }

    pub fn external_deps(
        &self,
        path: &Path,
        member: &Member,
    ) -> Result<Vec<ResolvedPackage>, LockfileError> {
        let id = self.member_node(path, member)?;
        let (seen, _) = self.walk(&[id], true);
        let out = self.graph.packages_of(&seen);
        Ok(out)
    }

    pub fn prune(&self, path: &Path, keep: &[Member]) -> Result<String, LockfileError> {
        let mut start = Vec::new();
        for m in keep {
            start.push(self.member_node(path, m)?);
        }
        if let Some(&root) = self.graph.members_by_dir.get(".") {
            start.push(root);
        }
        let (_, used) = self.walk(&start, false);
        let first = self.entries.first().map_or(self.text.len(), |e| e.span.0);
        let mut out = self.text[..first].to_string();
        let mut kept_any = false;
        for e in &self.entries {
            let keys: Vec<&str> = e
                .keys
                .iter()
                .filter(|(_, k)| used.contains(k))
                .map(|(raw, _)| raw.as_str())
                .collect();
            if keys.is_empty() {
                continue;
            }
            kept_any = true;
            out.push_str(&keys.join(", "));
            out.push_str(":\n");
            out.push_str(&self.text[e.header_end..e.span.1]);
        }
        // The last entry kept may have been followed by a blank line; yarn ends the file
        // with the last entry's last line. With none kept, the header stays as yarn writes
        // an empty lockfile.
        if kept_any {
            while out.ends_with("\n\n") {
                out.pop();
            }
        }
        if !out.ends_with('\n') {
            out.push('\n');
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = "# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n\n\n\"@s/x@^1.0.0\", \"@s/x@^1.1.0\":\n  version \"1.1.0\"\n  resolved \"https://registry.yarnpkg.com/@s/x/-/x-1.1.0.tgz#abc\"\n  dependencies:\n    \"@s/y\" \"^2\"\n    alias \"npm:real@^3\"\n\n\"@s/y@^2\":\n  version \"2.0.0\"\n  integrity sha512-y\n\nalias@npm:real@^3:\n  version \"3.0.0\"\n  integrity sha512-real\n\nother@1:\n  version \"1.0.0\"\n  integrity sha512-other\n";

    fn lock_with(deps: &str) -> Yarn1Lock {
        let mut lock = Yarn1Lock::parse(Path::new("yarn.lock"), LOCK).unwrap();
        lock.add_manifest(
            "app",
            Path::new("app/package.json"),
            &format!(r#"{{"name": "app", "dependencies": {{{deps}}}}}"#),
        )
        .unwrap();
        lock
    }

    #[test]
    fn quoted_scoped_keys_aliases_and_resolved_hashes() {
        let lock = lock_with(r#""@s/x": "^1.1.0""#);
        let deps = lock
            .external_deps(
                Path::new("yarn.lock"),
                &Member {
                    dir: "app",
                    name: "app",
                },
            )
            .unwrap();
        let got: Vec<String> = deps
            .iter()
            .map(|p| {
                format!(
                    "{}@{} {}",
                    p.name,
                    p.version,
                    p.checksum.clone().unwrap_or_default()
                )
            })
            .collect();
        // No integrity line: the hash after `#` in `resolved` stands in.
        assert_eq!(
            got,
            [
                "@s/x@1.1.0 abc",
                "@s/y@2.0.0 sha512-y",
                "alias@3.0.0 sha512-real"
            ]
        );
    }

    #[test]
    fn prune_keeps_used_descriptors_only() {
        let lock = lock_with(r#""@s/x": "^1.1.0""#);
        let pruned = lock
            .prune(
                Path::new("yarn.lock"),
                &[Member {
                    dir: "app",
                    name: "app",
                }],
            )
            .unwrap();
        assert!(
            pruned.contains("\n\"@s/x@^1.1.0\":\n  version \"1.1.0\""),
            "{pruned}"
        );
        assert!(
            !pruned.contains("@s/x@^1.0.0") && !pruned.contains("other@1"),
            "{pruned}"
        );
        assert!(pruned.ends_with("integrity sha512-real\n"), "{pruned}");
        let none = lock_with("")
            .prune(
                Path::new("yarn.lock"),
                &[Member {
                    dir: "app",
                    name: "app",
                }],
            )
            .unwrap();
        assert_eq!(none, "# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n\n\n");
    }
}
