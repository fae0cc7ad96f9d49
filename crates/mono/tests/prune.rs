//! `mono prune` on the polyglot fixture: what the copy holds, the pruned workspace files
//! and lockfiles, and that the copy installs and builds with the real tools.

mod common;

use std::path::Path;
use std::process::Command;

use common::{dry_json, fixture, mono};

fn run_ok(program: &str, args: &[&str], dir: &Path) -> String {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed in {}:\n{}{}",
        dir.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn prune(root: &Path, args: &[&str]) -> String {
    let output = mono(root).arg("prune").args(args).output().unwrap();
    assert!(
        output.status.success(),
        "mono prune {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn prune_of_the_web_app_installs_and_builds() {
    let repo = fixture("polyglot");
    let printed = prune(&repo.root, &["@polyglot/web", "--docker"]);
    assert!(printed.contains("Pruned to 5 packages"), "{printed}");
    let out = repo.root.join("out");
    let full = out.join("full");
    for kept in [
        "apps/web/package.json",
        "packages/ui/package.json",
        "packages/api-client/turbo.toml",
        "crates/server/src/main.rs",
        "crates/core/Cargo.toml",
        "turbo.toml",
        "package.json",
        "package-lock.json",
        "Cargo.lock",
    ] {
        assert!(full.join(kept).exists(), "full/{kept} is missing");
    }
    for dropped in [
        "services/api",
        "services/shared",
        "infra",
        "crates/experimental",
        "scripts",
    ] {
        assert!(!full.join(dropped).exists(), "full/{dropped} was copied");
    }
    // json/: manifests and lockfiles only; the lockfiles also at the top.
    assert!(out.join("json/apps/web/package.json").is_file());
    assert!(out.join("json/crates/server/Cargo.toml").is_file());
    assert!(!out.join("json/apps/web/build.mjs").exists());
    assert!(!out.join("json/crates/server/src").exists());
    assert!(out.join("package-lock.json").is_file());
    // go.work keeps no module: none of the Go packages is kept.
    let work = std::fs::read_to_string(full.join("go.work")).unwrap();
    assert!(!work.contains("./services"), "{work}");

    // The real tools accept the pruned files, and the copy builds.
    run_ok(
        "npm",
        &["ci", "--offline", "--no-audit", "--no-fund"],
        &full,
    );
    run_ok(
        "cargo",
        &["metadata", "--locked", "--offline", "--format-version", "1"],
        &full,
    );
    let output = mono(&full).arg("build").output().unwrap();
    assert!(
        output.status.success(),
        "mono build in the pruned copy failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(full.join("apps/web/dist").exists());

    // out/ is ignored by the fixture's .gitignore: the copy is walked, not listed by the
    // repository around it, so its tasks hash their files and an edit changes a hash.
    let before = dry_json(&full, &["build"]);
    for task in before["tasks"].as_array().unwrap() {
        assert!(
            !task["inputs"].as_object().unwrap().is_empty(),
            "{} hashes no input in the pruned copy",
            task["taskId"]
        );
    }
    let page = full.join("apps/web/src/page.mjs");
    let text = std::fs::read_to_string(&page).unwrap();
    std::fs::write(&page, format!("{text}\n// an edit\n")).unwrap();
    let after = dry_json(&full, &["build"]);
    let hash = |plan: &serde_json::Value, id: &str| {
        plan["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["taskId"] == id)
            .unwrap()["hash"]
            .clone()
    };
    assert_ne!(
        hash(&before, "@polyglot/web#build"),
        hash(&after, "@polyglot/web#build")
    );
    assert_eq!(
        hash(&before, "@polyglot/ui#build"),
        hash(&after, "@polyglot/ui#build")
    );
}

#[test]
fn prune_of_the_go_api_keeps_its_modules_and_image_sources() {
    let repo = fixture("polyglot");
    prune(&repo.root, &["api", "--out-dir", "pruned"]);
    let full = repo.root.join("pruned");
    assert!(full.join("services/api/go.mod").is_file());
    assert!(full.join("services/shared/go.mod").is_file());
    // The api image takes api.json from polyglot-server: that crate comes along.
    assert!(full.join("crates/server/api.json").is_file());
    assert!(!full.join("apps").exists());
    let work = std::fs::read_to_string(full.join("go.work")).unwrap();
    assert!(
        work.contains("./services/api") && work.contains("./services/shared"),
        "{work}"
    );
    run_ok("go", &["list", "-m", "all"], &full);
    let output = mono(&full)
        .args(["build", "--filter=api"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "mono build in the pruned copy failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(full.join("services/api/bin/api").is_file());
}

#[test]
fn prune_names_an_unknown_package() {
    let repo = fixture("polyglot");
    let output = mono(&repo.root).args(["prune", "apii"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("there is no package `apii`"), "{stderr}");
    assert!(stderr.contains("did you mean `api`?"), "{stderr}");
    assert!(!repo.root.join("out").exists());
}
