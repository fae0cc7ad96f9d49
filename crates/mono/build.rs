//! Sets `MONO_VERSION`, what `mono --version` prints: the crate's version and, when built from
//! a git checkout, the commit (`0.1.0 (1a2b3c4)`). Without git, or outside a checkout (a
//! source tarball), it is the version alone.

use std::path::{Path, PathBuf};
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!text.is_empty()).then_some(text)
}

fn main() {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let version = std::env::var("CARGO_PKG_VERSION").expect("cargo sets it");
    let commit = git(&dir, &["rev-parse", "--short", "HEAD"]);

    // Build again when HEAD moves: HEAD itself (a checkout of another branch or commit), the
    // branch's ref (a new commit), packed-refs (where `git gc` moves refs). In a worktree,
    // HEAD is in its own git dir and the refs in the common one.
    let mut watched: Vec<PathBuf> = Vec::new();
    if let Some(git_dir) = git(&dir, &["rev-parse", "--absolute-git-dir"]) {
        let git_dir = PathBuf::from(git_dir);
        watched.push(git_dir.join("HEAD"));
        // Absolute: git prints the common dir relative to the current folder otherwise.
        let common = git(
            &dir,
            &["rev-parse", "--path-format=absolute", "--git-common-dir"],
        )
        .map(PathBuf::from)
        .unwrap_or_else(|| git_dir.clone());
        if let Some(head_ref) = git(&dir, &["symbolic-ref", "-q", "HEAD"]) {
            watched.push(common.join(head_ref));
        }
        watched.push(common.join("packed-refs"));
    }
    // Only files that exist: cargo reruns a script whose watched file is missing every time.
    for path in watched.iter().filter(|p| p.is_file()) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    println!("cargo:rerun-if-changed=build.rs");

    let full = match commit {
        Some(commit) => format!("{version} ({commit})"),
        None => version,
    };
    println!("cargo:rustc-env=MONO_VERSION={full}");
}
