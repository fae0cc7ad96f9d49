//! Lockfiles seen per package: which packages use a lockfile, what each one resolves from it
//! (for the task hash), and which packages a lockfile change touches (for `--affected`).
//!
//! The parsing is mono-lockfile's; this module maps mono's packages onto its members: a Node
//! package is the member in its folder (the root package is `.`), a Rust package the crate of
//! its name, a Go package its module, with its `go.mod` given as the manifest, a Python
//! package the uv.lock member in its folder.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use mono_lockfile::{Ecosystem, Lockfile, LockfileFile, Member, ResolvedPackage};
use mono_paths::{AbsPath, RepoPath};
use mono_scm::{ChangedFiles, Scm};
use mono_task_id::PackageName;
use mono_workspace::{Language, Package, PackageGraph};

use crate::affected::packages_of;

/// The language of the packages whose dependencies a lockfile pins.
fn language_of(file: LockfileFile) -> Language {
    language(file.ecosystem())
}

/// mono-workspace's language of an ecosystem.
pub(crate) fn language(ecosystem: Ecosystem) -> Language {
    match ecosystem {
        Ecosystem::Node => Language::Node,
        Ecosystem::Rust => Language::Rust,
        Ecosystem::Go => Language::Go,
        Ecosystem::Python => Language::Python,
    }
}

/// Whether `path` is a lockfile, and which: a root lockfile only at the root.
pub(crate) fn lockfile_kind(path: &RepoPath) -> Option<LockfileFile> {
    let at_root = path.parent().is_none_or(|p| p.is_root());
    let file = LockfileFile::from_file_name(path.file_name()?)?;
    (at_root || !file.at_root()).then_some(file)
}

/// The packages whose external dependencies a lockfile pins.
fn users<'g>(graph: &'g PackageGraph, path: &RepoPath, name: LockfileFile) -> Vec<&'g Package> {
    match name {
        LockfileFile::GoSum => {
            let dir = path.parent().unwrap_or_default();
            let owner = graph.package_containing(&dir);
            if owner.dir == dir && owner.language == Language::Go {
                vec![owner]
            } else {
                Vec::new()
            }
        }
        other => {
            let mut users: Vec<&Package> = packages_of(graph, language_of(other))
                .iter()
                .filter_map(|n| graph.get(n))
                .collect();
            if matches!(
                language_of(other),
                Language::Node | Language::Rust | Language::Python
            ) {
                // The root may be a member too (a root package.json's own dependencies).
                users.push(graph.root());
            }
            users
        }
    }
}

/// The member `package` is in a lockfile.
/// How `package` appears in its ecosystem's lockfiles: its folder (`.` for the root) and its
/// npm name, crate name or Go module path.
pub fn lockfile_member(package: &Package) -> Member<'_> {
    let dir = if package.dir.is_root() {
        "."
    } else {
        package.dir.as_str()
    };
    let name = match package.language {
        Language::Rust => package
            .crate_name
            .as_deref()
            .unwrap_or(package.name.as_str()),
        Language::Go => package
            .go_module
            .as_deref()
            .unwrap_or(package.name.as_str()),
        _ => package.name.as_str(),
    };
    Member { dir, name }
}

/// A lockfile's text parsed for `users`, with their `go.mod` files given where the format
/// needs them (`read` fetches a repository file's text from the same point of history).
fn parse(
    name: LockfileFile,
    path: &RepoPath,
    text: &str,
    users: &[&Package],
    read: &dyn Fn(&RepoPath) -> Option<String>,
) -> Result<Lockfile, String> {
    let kind = name
        .kind(text)
        .ok_or_else(|| format!("mono does not read {path} per package"))?;
    let mut lockfile =
        Lockfile::parse(kind, Path::new(path.as_str()), text).map_err(|e| e.to_string())?;
    if kind.needs_manifests() {
        for user in users {
            if let Some(manifest) = read(&user.manifest) {
                lockfile
                    .add_manifest(
                        lockfile_member(user).dir,
                        Path::new(user.manifest.as_str()),
                        &manifest,
                    )
                    .map_err(|e| e.to_string())?;
            }
        }
    }
    Ok(lockfile)
}

/// One changed lockfile, compared between the two ends of a comparison.
pub(crate) struct LockfileChange<'a> {
    scm: &'a Scm,
    graph: &'a PackageGraph,
    path: &'a RepoPath,
    changed: &'a ChangedFiles,
}

impl<'a> LockfileChange<'a> {
    pub(crate) fn new(
        scm: &'a Scm,
        graph: &'a PackageGraph,
        path: &'a RepoPath,
        changed: &'a ChangedFiles,
    ) -> LockfileChange<'a> {
        LockfileChange {
            scm,
            graph,
            path,
            changed,
        }
    }

    fn read_at(&self, rev: Option<&str>, file: &RepoPath) -> Option<String> {
        let bytes = match rev {
            Some(rev) => self.scm.file_at(rev, file).ok().flatten()?,
            None => std::fs::read(self.scm.root().join_repo(file).as_path()).ok()?,
        };
        String::from_utf8(bytes).ok()
    }

    /// The packages whose resolved external dependencies differ between the two versions,
    /// and a warning when mono had to assume every user changed.
    pub(crate) fn affected_packages(&self) -> (BTreeSet<PackageName>, Option<String>) {
        let Some(name) = lockfile_kind(self.path) else {
            return (BTreeSet::new(), None);
        };
        let users = users(self.graph, self.path, name);
        let everyone = |why: String| {
            let names = users.iter().map(|p| p.name.clone()).collect();
            (names, Some(why))
        };
        let from = Some(self.changed.from.as_str());
        let to = self.changed.to.as_deref();
        let (Some(before), Some(after)) =
            (self.read_at(from, self.path), self.read_at(to, self.path))
        else {
            // Added or removed: what every user resolves changed.
            let names = users.iter().map(|p| p.name.clone()).collect();
            return (names, None);
        };
        let read_before = |f: &RepoPath| self.read_at(from, f);
        let read_after = |f: &RepoPath| self.read_at(to, f);
        let parsed = parse(name, self.path, &before, &users, &read_before)
            .and_then(|b| parse(name, self.path, &after, &users, &read_after).map(|a| (b, a)));
        let (before, after) = match parsed {
            Ok(pair) => pair,
            Err(why) => {
                return everyone(format!(
                    "{why}; every package that uses {} counts as affected",
                    self.path
                ))
            }
        };
        let mut out = BTreeSet::new();
        let mut warning = None;
        for user in &users {
            let m = lockfile_member(user);
            match (before.external_deps(&m), after.external_deps(&m)) {
                (Ok(b), Ok(a)) if b == a => {}
                (Ok(_), Ok(_)) => {
                    out.insert(user.name.clone());
                }
                (Err(e), _) | (_, Err(e)) => {
                    warning.get_or_insert_with(|| {
                        format!("{e}; the packages it cannot resolve count as affected")
                    });
                    out.insert(user.name.clone());
                }
            }
        }
        (out, warning)
    }
}

/// What the task hash takes from the lockfiles, per package.
#[derive(Debug, Default)]
pub(crate) struct ExternalDepsIndex {
    /// Package → its resolved external packages, one `lockfile name@version checksum` string
    /// each, sorted; absent when it has no lockfile, or when one of its lockfiles cannot be
    /// read per package (then the whole lockfiles are hashed instead).
    pub(crate) per_package: BTreeMap<PackageName, Vec<String>>,
}

impl ExternalDepsIndex {
    /// Parses the lockfiles `packages` use (`lockfiles_of` names them) from the work tree,
    /// once each, and lists every package's external dependencies.
    pub(crate) fn build(
        root: &AbsPath,
        graph: &PackageGraph,
        packages: &BTreeSet<PackageName>,
        lockfiles_of: &dyn Fn(&Package) -> Vec<RepoPath>,
    ) -> ExternalDepsIndex {
        let read = |f: &RepoPath| std::fs::read_to_string(root.join_repo(f).as_path()).ok();
        // Each lockfile is read and parsed once: `None` absent, `Some(None)` unreadable per
        // package, `Some(Some(_))` parsed.
        let mut parsed: BTreeMap<RepoPath, Option<Option<Lockfile>>> = BTreeMap::new();
        let mut out = ExternalDepsIndex::default();
        'packages: for name in packages {
            let Some(package) = graph.get(name) else {
                continue;
            };
            let mut deps: Vec<String> = Vec::new();
            let mut any = false;
            for path in lockfiles_of(package) {
                let entry = parsed.entry(path.clone()).or_insert_with(|| {
                    let text = read(&path)?;
                    let parsed = lockfile_kind(&path).and_then(|kind| {
                        let users = users(graph, &path, kind);
                        parse(kind, &path, &text, &users, &read).ok()
                    });
                    Some(parsed)
                });
                let Some(lockfile) = entry else {
                    // Absent lockfiles pin nothing.
                    continue;
                };
                any = true;
                let Some(lockfile) = lockfile else {
                    continue 'packages;
                };
                let Ok(resolved) = lockfile.external_deps(&lockfile_member(package)) else {
                    continue 'packages;
                };
                deps.extend(resolved.iter().map(|r| describe(&path, r)));
            }
            if !any {
                continue;
            }
            deps.sort_unstable();
            deps.dedup();
            out.per_package.insert(name.clone(), deps);
        }
        out
    }
}

fn describe(lockfile: &RepoPath, package: &ResolvedPackage) -> String {
    format!(
        "{lockfile} {}@{} {}",
        package.name,
        package.version,
        package.checksum.as_deref().unwrap_or("-")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockfiles_are_known_by_name_and_place() {
        let kind = |p: &str| lockfile_kind(&RepoPath::new(p).unwrap());
        assert_eq!(kind("package-lock.json"), Some(LockfileFile::Npm));
        assert_eq!(kind("pnpm-lock.yaml"), Some(LockfileFile::Pnpm));
        assert_eq!(kind("yarn.lock"), Some(LockfileFile::Yarn));
        assert_eq!(kind("bun.lock"), Some(LockfileFile::Bun));
        assert_eq!(kind("Cargo.lock"), Some(LockfileFile::Cargo));
        assert_eq!(kind("go.work.sum"), Some(LockfileFile::GoWorkSum));
        assert_eq!(kind("uv.lock"), Some(LockfileFile::Uv));
        assert_eq!(kind("services/api/go.sum"), Some(LockfileFile::GoSum));
        assert_eq!(kind("go.sum"), Some(LockfileFile::GoSum));
        // Below the root, only go.sum is a lockfile mono reads per package; the others are
        // files of the package that holds them.
        assert_eq!(kind("apps/web/package-lock.json"), None);
        assert_eq!(kind("crates/x/Cargo.lock"), None);
        assert_eq!(kind("package.json"), None);
    }
}
