//! Go: `go.sum` (or `go.work.sum`) read with the members' `go.mod` files.
//!
//! go.sum has no graph, only `module version hash` and `module version/go.mod hash` lines.
//! A module's external dependencies are its go.mod `require` entries (direct and
//! `// indirect`; since Go 1.17 go.mod lists every module that provides a package the module
//! builds), with `replace` applied, joined with their go.sum hashes. A required module that
//! is itself a member (its go.mod was given, or a `replace` points at a local folder) is
//! followed through: its own requires are part of the build.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use crate::{LockfileError, Member, ResolvedPackage};

#[derive(Debug)]
pub(crate) struct GoLock {
    text: String,
    /// (module, version) → zip hash; (module, "version/go.mod") → go.mod hash.
    sums: HashMap<(String, String), String>,
    /// Member folder → its parsed go.mod.
    manifests: BTreeMap<String, GoMod>,
}

/// The parts of a go.mod that matter here.
#[derive(Debug, Clone, Default)]
pub(crate) struct GoMod {
    module: String,
    require: Vec<(String, String)>,
    /// (old path, old version or None) → (new path, new version or None for a folder).
    replace: Vec<(String, Option<String>, String, Option<String>)>,
}

impl GoLock {
    pub fn parse(path: &Path, text: &str) -> Result<GoLock, LockfileError> {
        let mut sums = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() != 3 || !fields[2].contains(':') {
                return Err(LockfileError::syntax(
                    path,
                    i + 1,
                    format!("expected `module version hash`, found `{line}`"),
                ));
            }
            sums.insert(
                (fields[0].to_string(), fields[1].to_string()),
                fields[2].to_string(),
            );
        }
        Ok(GoLock {
            text: text.to_string(),
            sums,
            manifests: BTreeMap::new(),
        })
    }

    pub fn packages(&self) -> Vec<ResolvedPackage> {
        let mut out: BTreeSet<ResolvedPackage> = BTreeSet::new();
        for ((module, version), hash) in &self.sums {
            if let Some(v) = version.strip_suffix("/go.mod") {
                if !self.sums.contains_key(&(module.clone(), v.to_string())) {
                    out.insert(ResolvedPackage {
                        name: module.clone(),
                        version: v.to_string(),
                        checksum: Some(hash.clone()),
                    });
                }
            } else {
                out.insert(ResolvedPackage {
                    name: module.clone(),
                    version: version.clone(),
                    checksum: Some(hash.clone()),
                });
            }
        }
        out.into_iter().collect()
    }

    pub fn add_manifest(
        &mut self,
        dir: &str,
        path: &Path,
        contents: &str,
    ) -> Result<(), LockfileError> {
        let m = parse_go_mod(path, contents)?;
        self.manifests.insert(dir.to_string(), m);
        Ok(())
    }

    fn missing(&self, path: &Path, member: &Member) -> LockfileError {
        LockfileError::MissingManifest {
            path: path.to_path_buf(),
            member: member.name.to_string(),
            dir: member.dir.to_string(),
            kind: "go.sum",
        }
    }

    pub fn external_deps(
        &self,
        path: &Path,
        member: &Member,
    ) -> Result<Vec<ResolvedPackage>, LockfileError> {
        let dir = crate::graph::normalize_dir(member.dir);
        let Some(start) = self.manifests.get(dir) else {
            return Err(self.missing(path, member));
        };
        let by_module: HashMap<&str, &str> = self
            .manifests
            .iter()
            .map(|(d, m)| (m.module.as_str(), d.as_str()))
            .collect();
        let mut out = BTreeSet::new();
        let mut visited = BTreeSet::new();
        let mut stack = vec![(dir.to_string(), start)];
        visited.insert(dir.to_string());
        while let Some((mdir, m)) = stack.pop() {
            for (req, ver) in &m.require {
                match m.resolve(req, ver) {
                    Resolved::Folder(rel) => {
                        let target = crate::graph::join_dir(&mdir, &rel);
                        if let Some(next) = self.manifests.get(&target) {
                            if visited.insert(target.clone()) {
                                stack.push((target, next));
                            }
                        }
                    }
                    Resolved::Module(p, v) => {
                        if let Some(&d) = by_module.get(p.as_str()) {
                            if visited.insert(d.to_string()) {
                                stack.push((d.to_string(), &self.manifests[d]));
                            }
                            continue;
                        }
                        let checksum = self
                            .sums
                            .get(&(p.clone(), v.clone()))
                            .or_else(|| self.sums.get(&(p.clone(), format!("{v}/go.mod"))))
                            .cloned();
                        out.insert(ResolvedPackage {
                            name: p,
                            version: v,
                            checksum,
                        });
                    }
                }
            }
        }
        Ok(out.into_iter().collect())
    }

    /// Every line of a module's go.sum is needed by that module (`go mod tidy` keeps no
    /// other), so a kept module keeps its go.sum unchanged; the lines of go.work.sum belong
    /// to the workspace as a whole and are kept too.
    pub fn prune(&self, path: &Path, keep: &[Member]) -> Result<String, LockfileError> {
        for m in keep {
            if !self.manifests.is_empty()
                && !self
                    .manifests
                    .contains_key(crate::graph::normalize_dir(m.dir))
            {
                return Err(LockfileError::UnknownMember {
                    path: path.to_path_buf(),
                    member: m.name.to_string(),
                    dir: m.dir.to_string(),
                });
            }
        }
        Ok(self.text.clone())
    }
}

enum Resolved {
    Folder(String),
    Module(String, String),
}

impl GoMod {
    fn resolve(&self, path: &str, version: &str) -> Resolved {
        // A versioned replace wins over an unversioned one, as in `go`.
        let hit = self
            .replace
            .iter()
            .find(|(old, v, _, _)| old == path && v.as_deref() == Some(version))
            .or_else(|| {
                self.replace
                    .iter()
                    .find(|(old, v, _, _)| old == path && v.is_none())
            });
        match hit {
            Some((_, _, new, None)) => Resolved::Folder(new.clone()),
            Some((_, _, new, Some(v))) => Resolved::Module(new.clone(), v.clone()),
            None => Resolved::Module(path.to_string(), version.to_string()),
        }
    }
}

fn unquote(s: &str) -> String {
    s.trim_matches(|c| c == '"' || c == '`').to_string()
}

fn is_local(p: &str) -> bool {
    p.starts_with("./") || p.starts_with("../") || p.starts_with('/') || p == "." || p == ".."
}

/// Reads the directives of a go.mod that matter here; the rest (go, toolchain, exclude,
/// retract, godebug) is skipped.
pub(crate) fn parse_go_mod(path: &Path, text: &str) -> Result<GoMod, LockfileError> {
    let mut m = GoMod::default();
    let mut block: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split("//").next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let (verb, rest) = match &block {
            Some(_) if line == ")" => {
                block = None;
                continue;
            }
            Some(b) => (b.clone(), line.to_string()),
            None => {
                let (verb, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
                let rest = rest.trim();
                if rest == "(" {
                    block = Some(verb.to_string());
                    continue;
                }
                (verb.to_string(), rest.to_string())
            }
        };
        let bad = |what: &str| {
            LockfileError::syntax(
                path,
                i + 1,
                format!("malformed {what} directive: `{}`", raw.trim()),
            )
        };
        match verb.as_str() {
            "module" => m.module = unquote(&rest),
            "require" => {
                let f: Vec<&str> = rest.split_whitespace().collect();
                if f.len() != 2 {
                    return Err(bad("require"));
                }
                m.require.push((unquote(f[0]), f[1].to_string()));
            }
            "replace" => {
                let Some((old, new)) = rest.split_once("=>") else {
                    return Err(bad("replace"));
                };
                let o: Vec<&str> = old.split_whitespace().collect();
                let n: Vec<&str> = new.split_whitespace().collect();
                if o.is_empty() || o.len() > 2 || n.is_empty() || n.len() > 2 {
                    return Err(bad("replace"));
                }
                let new_path = unquote(n[0]);
                let new_version = if n.len() == 2 && !is_local(&new_path) {
                    Some(n[1].to_string())
                } else {
                    None
                };
                if new_version.is_none() && !is_local(&new_path) {
                    return Err(bad("replace"));
                }
                m.replace.push((
                    unquote(o[0]),
                    o.get(1).map(|v| v.to_string()),
                    new_path,
                    new_version,
                ));
            }
            _ => {}
        }
    }
    if m.module.is_empty() {
        return Err(LockfileError::syntax(path, 1, "no `module` directive"));
    }
    Ok(m)
}

/// The `go.work` for a pruned workspace: `use` keeps the folders in `keep_dirs` (relative
/// to the go.work's folder), every other directive stays as written.
pub fn prune_go_work(
    path: &Path,
    contents: &str,
    keep_dirs: &[&str],
) -> Result<String, LockfileError> {
    let keep: Vec<&str> = keep_dirs
        .iter()
        .map(|d| crate::graph::normalize_dir(d))
        .collect();
    let kept = |dir: &str| keep.contains(&crate::graph::normalize_dir(&unquote(dir)));
    let mut out = String::with_capacity(contents.len());
    let mut in_use = false;
    let mut saw_module = false;
    for (i, raw) in contents.lines().enumerate() {
        let code = raw.split("//").next().unwrap_or_default().trim();
        let mut keep_line = true;
        if in_use {
            if code == ")" {
                in_use = false;
            } else if !code.is_empty() {
                keep_line = kept(code);
            }
        } else if let Some(rest) = code.strip_prefix("use") {
            let rest = rest.trim();
            if rest == "(" {
                in_use = true;
            } else if rest.is_empty() {
                return Err(LockfileError::syntax(path, i + 1, "`use` without a folder"));
            } else if !rest.starts_with('(') {
                keep_line = kept(rest);
            }
        } else if code.starts_with("go ") {
            saw_module = true;
        }
        if keep_line {
            out.push_str(raw);
            out.push('\n');
        }
    }
    if in_use {
        return Err(LockfileError::syntax(
            path,
            contents.lines().count(),
            "unclosed `use (` block",
        ));
    }
    if !saw_module && !contents.trim().is_empty() && !contents.contains("use") {
        return Err(LockfileError::syntax(
            path,
            1,
            "not a go.work file: no `go` or `use` directive",
        ));
    }
    Ok(out)
}
