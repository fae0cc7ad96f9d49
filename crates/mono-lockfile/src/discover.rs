//! Finding the lockfiles of a repository.

use std::path::Path;

use crate::graph::normalize_dir;
use crate::{Lockfile, LockfileError, LockfileKind, Member};

/// Every lockfile in the repository, path (repo-relative, `/`-separated) + kind, sorted by
/// path: package-lock.json, pnpm-lock.yaml and yarn.lock (v1 or berry told apart by their
/// text), Cargo.lock and uv.lock at the root, and every go.sum next to a go.mod anywhere, plus
/// go.work.sum next to go.work. Folders git ignores and `node_modules` are not searched.
pub fn discover(repo_root: &Path) -> Result<Vec<(String, LockfileKind)>, LockfileError> {
    let mut out = Vec::new();
    for kind in [
        LockfileKind::Npm,
        LockfileKind::Pnpm,
        LockfileKind::Cargo,
        LockfileKind::Uv,
    ] {
        if repo_root.join(kind.file_name()).is_file() {
            out.push((kind.file_name().to_string(), kind));
        }
    }
    let yarn = repo_root.join("yarn.lock");
    if yarn.is_file() {
        let text = std::fs::read_to_string(&yarn).map_err(|source| LockfileError::Read {
            path: "yarn.lock".into(),
            source,
        })?;
        out.push(("yarn.lock".to_string(), LockfileKind::yarn_kind_of(&text)));
    }
    let walker = ignore::WalkBuilder::new(repo_root)
        .hidden(true)
        .require_git(false)
        .filter_entry(|e| e.file_name() != "node_modules" && e.file_name() != "target")
        .build();
    for entry in walker {
        let entry = entry.map_err(|e| LockfileError::Read {
            path: repo_root.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let name = entry.file_name();
        let dir = entry.path().parent().unwrap_or(repo_root);
        let pair = if name == "go.sum" && dir.join("go.mod").is_file() {
            true
        } else {
            name == "go.work.sum" && dir.join("go.work").is_file()
        };
        if pair && entry.file_type().is_some_and(|t| t.is_file()) {
            let rel = entry.path().strip_prefix(repo_root).unwrap_or(entry.path());
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push((rel.join("/"), LockfileKind::GoSum));
        }
    }
    out.sort();
    Ok(out)
}

/// Every lockfile of the repository ([`discover`]), parsed, with the manifests of `members`
/// added where the format needs them: each member folder's package.json for yarn v1 (and the
/// root's), each member folder's go.mod for Go (a member without the file is skipped, so
/// one list of every package of the repository can be passed). Paths are repo-relative.
pub fn load_all(
    repo_root: &Path,
    members: &[Member],
) -> Result<Vec<(String, Lockfile)>, LockfileError> {
    let mut out = Vec::new();
    for (rel, kind) in discover(repo_root)? {
        let mut lock = Lockfile::load(kind, repo_root, &rel)?;
        let manifest = match kind {
            LockfileKind::Yarn1 => "package.json",
            LockfileKind::GoSum => "go.mod",
            _ => {
                out.push((rel, lock));
                continue;
            }
        };
        let mut dirs: Vec<&str> = members.iter().map(|m| normalize_dir(m.dir)).collect();
        if kind == LockfileKind::Yarn1 {
            dirs.push(".");
        }
        dirs.sort_unstable();
        dirs.dedup();
        for dir in dirs {
            let rel_manifest = if dir == "." {
                manifest.to_string()
            } else {
                format!("{dir}/{manifest}")
            };
            let full = repo_root.join(&rel_manifest);
            let text = match std::fs::read_to_string(&full) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => {
                    return Err(LockfileError::Read {
                        path: rel_manifest.into(),
                        source,
                    })
                }
            };
            lock.add_manifest(dir, Path::new(&rel_manifest), &text)?;
        }
        out.push((rel, lock));
    }
    Ok(out)
}
