//! `mono prune`: a copy of the repository with only some packages, for building them in
//! a container with the team's own Dockerfile.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use mono_lockfile::LockfileFile;

/// Why a prune failed.
#[derive(Debug, thiserror::Error)]
pub enum PruneError {
    /// A file could not be read or written.
    #[error("failed to {action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The output folder would overwrite the repository.
    #[error("the output folder {} holds the repository itself", out.display())]
    OutHoldsRepository {
        /// The folder.
        out: PathBuf,
    },
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> PruneError {
    let path = path.to_owned();
    move |source| PruneError::Io {
        action,
        path,
        source,
    }
}

/// What to copy, and where.
#[derive(Debug, Clone)]
pub struct PruneOptions {
    /// The repository root.
    pub root: PathBuf,
    /// The output folder (replaced).
    pub out: PathBuf,
    /// `--docker`: `json/` (manifests and lockfiles) and `full/` (everything), and the
    /// lockfiles at the top, as `turbo prune --docker` writes.
    pub docker: bool,
    /// The repository's files (repo-relative, `/`-separated; the files git does not ignore).
    pub files: Vec<String>,
    /// The folders of the kept packages, repo-relative.
    pub keep_dirs: Vec<String>,
    /// Files whose pruned text replaces the repository's (Cargo.toml, go.work, lockfiles).
    pub rewrites: BTreeMap<String, String>,
    /// Lockfiles (repo-relative): written at the top of the output with `--docker`.
    pub lockfiles: BTreeSet<String>,
}

/// What a prune wrote.
#[derive(Debug, Clone, Default)]
pub struct PruneReport {
    /// Files copied (repo-relative), sorted.
    pub files: Vec<String>,
    /// Where the full copy is (`out`, or `out/full` with `--docker`).
    pub full: PathBuf,
}

/// Whether a file belongs in `json/`: a manifest, a lockfile or a workspace file, which is
/// what a dependency-install layer needs.
fn is_manifest(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    LockfileFile::from_file_name(name).is_some()
        || matches!(
            name,
            "package.json"
                | "npm-shrinkwrap.json"
                | "pnpm-workspace.yaml"
                | ".yarnrc.yml"
                | ".npmrc"
                | "Cargo.toml"
                | "go.mod"
                | "go.work"
                | "pyproject.toml"
                | ".python-version"
                | "rust-toolchain.toml"
                | "rust-toolchain"
                | "turbo.toml"
                | "turbo.json"
                | "turbo.jsonc"
        )
}

/// Copies the root's own files (those directly at the root) and every file of the kept
/// packages into `out` (or `out/full` and, for manifests, `out/json`), with `rewrites`
/// replacing the texts of the pruned files. The output is staged beside `out` and renamed
/// into place, so that a failure leaves the previous output as it was.
pub fn prune(options: &PruneOptions) -> Result<PruneReport, PruneError> {
    let root = &options.root;
    if root.starts_with(&options.out) {
        return Err(PruneError::OutHoldsRepository {
            out: options.out.clone(),
        });
    }
    let out_rel = options
        .out
        .strip_prefix(root)
        .ok()
        .map(|p| p.to_string_lossy().replace('\\', "/"));
    let in_kept = |file: &str| {
        options
            .keep_dirs
            .iter()
            .any(|dir| !dir.is_empty() && dir != "." && file.starts_with(&format!("{dir}/")))
    };
    let mut files: BTreeSet<&str> = BTreeSet::new();
    for file in &options.files {
        if out_rel
            .as_deref()
            .is_some_and(|out| file.starts_with(&format!("{out}/")))
        {
            continue;
        }
        if !file.contains('/') || in_kept(file) {
            files.insert(file);
        }
    }
    for file in options.rewrites.keys() {
        files.insert(file);
    }

    let parent = options.out.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io("create", parent))?;
    let staging = tempfile::Builder::new()
        .prefix(".prune-")
        .tempdir_in(parent)
        .map_err(io("create a folder in", parent))?;
    let full = match options.docker {
        true => staging.path().join("full"),
        false => staging.path().to_owned(),
    };
    let write = |base: &Path, file: &str| -> Result<(), PruneError> {
        let to = base.join(file);
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir).map_err(io("create", dir))?;
        }
        match options.rewrites.get(file) {
            Some(text) => std::fs::write(&to, text).map_err(io("write", &to)),
            None => {
                let from = root.join(file);
                let meta = std::fs::symlink_metadata(&from).map_err(io("read", &from))?;
                if meta.file_type().is_symlink() {
                    let link = std::fs::read_link(&from).map_err(io("read", &from))?;
                    std::os::unix::fs::symlink(link, &to).map_err(io("write", &to))
                } else {
                    std::fs::copy(&from, &to)
                        .map(|_| ())
                        .map_err(io("copy", &from))
                }
            }
        }
    };
    for file in &files {
        write(&full, file)?;
        if options.docker && is_manifest(file) {
            write(&staging.path().join("json"), file)?;
        }
    }
    if options.docker {
        for lockfile in &options.lockfiles {
            if files.contains(lockfile.as_str()) {
                write(staging.path(), lockfile)?;
            }
        }
    }
    if options.out.exists() {
        std::fs::remove_dir_all(&options.out).map_err(io("remove", &options.out))?;
    }
    let staged = staging.keep();
    std::fs::rename(&staged, &options.out).map_err(io("create", &options.out))?;
    Ok(PruneReport {
        files: files.iter().map(|f| (*f).to_owned()).collect(),
        full: match options.docker {
            true => options.out.join("full"),
            false => options.out.clone(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_root_files_and_kept_packages_and_splits_docker_output() {
        let repo = tempfile::tempdir().unwrap();
        let root = repo.path();
        for (file, text) in [
            ("package.json", "{}"),
            ("Cargo.toml", "[workspace]\nmembers = [\"a\", \"b\"]\n"),
            ("a/Cargo.toml", "[package]"),
            ("a/src/main.rs", "fn main() {}"),
            ("b/Cargo.toml", "[package]"),
            ("scripts/x.sh", "echo"),
        ] {
            std::fs::create_dir_all(root.join(file).parent().unwrap()).unwrap();
            std::fs::write(root.join(file), text).unwrap();
        }
        let options = PruneOptions {
            root: root.to_owned(),
            out: root.join("out"),
            docker: true,
            files: [
                "package.json",
                "Cargo.toml",
                "a/Cargo.toml",
                "a/src/main.rs",
                "b/Cargo.toml",
                "scripts/x.sh",
            ]
            .map(String::from)
            .to_vec(),
            keep_dirs: vec!["a".into()],
            rewrites: BTreeMap::from([(
                "Cargo.toml".to_owned(),
                "[workspace]\nmembers = [\"a\"]\n".to_owned(),
            )]),
            lockfiles: BTreeSet::new(),
        };
        let report = prune(&options).unwrap();
        assert_eq!(
            report.files,
            [
                "Cargo.toml",
                "a/Cargo.toml",
                "a/src/main.rs",
                "package.json"
            ]
        );
        let out = root.join("out");
        assert!(out.join("full/a/src/main.rs").is_file());
        assert!(!out.join("full/b").exists());
        assert!(!out.join("full/scripts").exists());
        assert!(out.join("json/a/Cargo.toml").is_file());
        assert!(!out.join("json/a/src").exists());
        assert_eq!(
            std::fs::read_to_string(out.join("json/Cargo.toml")).unwrap(),
            "[workspace]\nmembers = [\"a\"]\n"
        );
        // Pruning again replaces the output.
        prune(&options).unwrap();
        assert!(out.join("full/a/src/main.rs").is_file());
        // The output may not hold the repository.
        let bad = PruneOptions {
            out: root.to_owned(),
            ..options
        };
        assert!(matches!(
            prune(&bad),
            Err(PruneError::OutHoldsRepository { .. })
        ));
    }
}
