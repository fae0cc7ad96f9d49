//! Checking a (pruned) lockfile with the package manager itself.
//!
//! Each check is the strongest one that needs no network and writes nothing into the
//! checked folder:
//!
//! | kind | command | passes when |
//! |---|---|---|
//! | npm | `npm ci --dry-run --offline --ignore-scripts` (empty cache) | exit 0: every package resolves from the lockfile |
//! | pnpm | `pnpm install --frozen-lockfile --lockfile-only --offline --ignore-scripts` | exit 0: the importers match the package.json files |
//! | yarn v1 | `yarn install --frozen-lockfile --offline --ignore-scripts` (empty cache) | resolution completes ("[2/4] Fetching packages"); fetching then fails offline, which is expected |
//! | yarn berry | `yarn install --mode=update-lockfile` with the network disabled | exit 0 and yarn.lock unchanged |
//! | Cargo | `cargo metadata --locked --offline` (needs the crates in Cargo's local registry) | exit 0 |
//! | uv | `uv lock --locked --offline` (fails when uv.lock does not match the pyproject.toml files) | exit 0 |
//! | Go | `go list -m all` | exit 0 |
//!
//! The JavaScript tools run in a temporary copy holding only the manifests, the lockfile
//! and the package manager's configuration, so no `node_modules` or install state is left
//! behind. Every lockfile is also parsed again by this crate, which rejects an entry that
//! depends on one the file does not have (pnpm's offline check does not look that far).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Lockfile, LockfileError, LockfileKind};

/// The outcome of [`check_with_tool`] when the lockfile is not rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolCheck {
    /// The tool accepted the lockfile.
    Passed {
        /// The command line that ran.
        command: String,
    },
    /// The tool is not installed (its program could not be started); nothing was checked
    /// beyond this crate's own parse.
    ToolMissing {
        /// The program looked for.
        program: String,
    },
}

/// Checks the lockfile of `kind` in `dir` (the folder holding it and the manifests) with the
/// real tool. `program` is the tool to run (`npm`, `pnpm`, `yarn`, `cargo`, `go` from `PATH`
/// when `None`; a `.js`/`.cjs` file runs with `node`, for yarn berry's `yarn.js`). For Go,
/// `dir` holds go.work or go.mod. Returns `Err(ToolRejected)` with the tool's output when the
/// tool rejects the lockfile.
pub fn check_with_tool(
    kind: LockfileKind,
    dir: &Path,
    program: Option<&Path>,
) -> Result<ToolCheck, LockfileError> {
    let default = match kind {
        LockfileKind::Npm => "npm",
        LockfileKind::Pnpm => "pnpm",
        LockfileKind::Yarn1 | LockfileKind::YarnBerry => "yarn",
        LockfileKind::Cargo => "cargo",
        LockfileKind::GoSum => "go",
        LockfileKind::Uv => "uv",
    };
    let program: PathBuf = program.map_or_else(|| PathBuf::from(default), Path::to_path_buf);
    let file = if kind == LockfileKind::GoSum {
        if dir.join("go.work").is_file() {
            "go.work"
        } else {
            "go.sum"
        }
    } else {
        kind.file_name()
    };
    if kind != LockfileKind::GoSum {
        let lock_path = dir.join(file);
        let text = std::fs::read_to_string(&lock_path).map_err(|source| LockfileError::Read {
            path: lock_path,
            source,
        })?;
        Lockfile::parse(kind, Path::new(file), &text)?;
    }
    let scratch = tempfile::tempdir().map_err(|source| LockfileError::Read {
        path: std::env::temp_dir(),
        source,
    })?;
    let work = match kind {
        LockfileKind::Npm | LockfileKind::Pnpm | LockfileKind::Yarn1 | LockfileKind::YarnBerry => {
            let copy = scratch.path().join("work");
            copy_manifests(dir, &copy, kind.file_name())?;
            copy
        }
        LockfileKind::Cargo | LockfileKind::GoSum | LockfileKind::Uv => dir.to_path_buf(),
    };
    let cache = scratch.path().join("cache");
    let (mut cmd, shown) = command(&program);
    let strs = |a: &[&str]| -> Vec<String> { a.iter().map(|s| s.to_string()).collect() };
    let args: Vec<String> = match kind {
        LockfileKind::Npm => {
            cmd.env("npm_config_cache", &cache)
                .env("npm_config_update_notifier", "false");
            strs(&[
                "ci",
                "--dry-run",
                "--offline",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
            ])
        }
        LockfileKind::Pnpm => {
            cmd.env("npm_config_store_dir", cache.join("store"))
                .env("XDG_CACHE_HOME", &cache)
                .env("npm_config_update_notifier", "false");
            strs(&[
                "install",
                "--frozen-lockfile",
                "--lockfile-only",
                "--offline",
                "--ignore-scripts",
            ])
        }
        LockfileKind::Yarn1 => {
            let mut a = strs(&[
                "install",
                "--frozen-lockfile",
                "--offline",
                "--ignore-scripts",
                "--non-interactive",
                "--no-progress",
                "--cache-folder",
            ]);
            a.push(cache.join("yarn").display().to_string());
            a.push("--modules-folder".into());
            a.push(cache.join("node_modules").display().to_string());
            a
        }
        LockfileKind::YarnBerry => {
            cmd.env("YARN_ENABLE_NETWORK", "0")
                .env("YARN_ENABLE_TELEMETRY", "0")
                .env("YARN_ENABLE_GLOBAL_CACHE", "0")
                .env("YARN_CACHE_FOLDER", cache.join("yarn"))
                .env("YARN_INSTALL_STATE_PATH", cache.join("install-state.gz"));
            strs(&["install", "--mode=update-lockfile"])
        }
        LockfileKind::Cargo => {
            strs(&["metadata", "--locked", "--offline", "--format-version", "1"])
        }
        LockfileKind::GoSum => strs(&["list", "-m", "all"]),
        // Fails when uv.lock does not match the workspace's pyproject.toml files.
        LockfileKind::Uv => strs(&["lock", "--locked", "--offline"]),
    };
    cmd.args(&args).current_dir(&work);
    let command_line = format!("{shown} {}", args.join(" "));
    let before = std::fs::read(work.join(file)).ok();
    let output = match cmd.output() {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(ToolCheck::ToolMissing {
                program: program.display().to_string(),
            })
        }
        Err(source) => {
            return Err(LockfileError::ToolFailed {
                command: command_line,
                source,
            })
        }
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let after = std::fs::read(work.join(file)).ok();
    let passed = match kind {
        LockfileKind::Yarn1 => {
            output.status.success()
                || (text.contains("[2/4] Fetching packages")
                    && !text.contains("needs to be updated"))
        }
        LockfileKind::YarnBerry => output.status.success() && before == after,
        _ => output.status.success(),
    };
    if passed {
        Ok(ToolCheck::Passed {
            command: command_line,
        })
    } else {
        let mut output = text.trim().to_string();
        if before != after {
            output.push_str(
                "\n(the tool rewrote the lockfile: the pruned file is not what it would write)",
            );
        }
        Err(LockfileError::ToolRejected {
            command: command_line,
            dir: dir.to_path_buf(),
            file: file.to_string(),
            output,
        })
    }
}

/// `program` as a command: `node program` for a JavaScript file.
fn command(program: &Path) -> (Command, String) {
    let is_js = program.extension().is_some_and(|e| e == "js" || e == "cjs");
    if is_js {
        let mut c = Command::new("node");
        c.arg(program);
        (c, format!("node {}", program.display()))
    } else {
        (Command::new(program), program.display().to_string())
    }
}

/// Copies what a JavaScript package manager reads to resolve (not install) a workspace:
/// every package.json, the lockfile, the workspace and package-manager configuration, and
/// the patches and yarn releases/plugins they may name.
fn copy_manifests(from: &Path, to: &Path, lockfile: &str) -> Result<(), LockfileError> {
    const FILES: [&str; 6] = [
        "package.json",
        "pnpm-workspace.yaml",
        ".yarnrc.yml",
        ".npmrc",
        ".pnpmfile.cjs",
        ".yarnrc",
    ];
    let walker = ignore::WalkBuilder::new(from)
        .standard_filters(false)
        .filter_entry(|e| {
            !matches!(
                e.file_name().to_str(),
                Some("node_modules" | ".git" | "target")
            )
        })
        .build();
    for entry in walker {
        let entry = entry.map_err(|e| LockfileError::Read {
            path: from.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        })?;
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let rel = entry.path().strip_prefix(from).unwrap_or(entry.path());
        let name = entry.file_name().to_str().unwrap_or_default();
        let rel_s = rel.to_string_lossy().replace('\\', "/");
        let wanted = FILES.contains(&name)
            || rel_s == lockfile
            || rel_s.starts_with("patches/")
            || rel_s.starts_with(".yarn/patches/")
            || rel_s.starts_with(".yarn/releases/")
            || rel_s.starts_with(".yarn/plugins/");
        if !wanted {
            continue;
        }
        let dest = to.join(rel);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(|source| LockfileError::Read {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        std::fs::copy(entry.path(), &dest).map_err(|source| LockfileError::Read {
            path: entry.path().to_path_buf(),
            source,
        })?;
    }
    Ok(())
}
