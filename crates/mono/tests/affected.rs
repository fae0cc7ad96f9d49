//! Affected runs through the binary, on real git repositories with branches and commits:
//! git-range filters, `--affected` and `mono ls --affected`, per-package lockfile changes
//! (lockfiles written by the real tools where they can run here), shallow clones and
//! missing bases, and the pre-push hook run by a real `git push`.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use common::{affected, fixture, git, mono};
use mono_test_tools::Tool;
use serde_json::Value;

fn write(root: &Path, path: &str, contents: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}

fn commit(root: &Path, message: &str) {
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", message]);
}

fn names(map: &BTreeMap<String, Value>) -> Vec<&str> {
    map.keys().map(String::as_str).collect()
}

fn file_changed(file: &str) -> Value {
    serde_json::json!({ "type": "fileChanged", "file": file })
}

fn depends_on(dependency: &str) -> Value {
    serde_json::json!({ "type": "dependencyChanged", "dependency": dependency })
}

/// The polyglot fixture on `main`, with a branch `feature` checked out.
fn polyglot_on_a_branch() -> common::Fixture {
    let repo = fixture("polyglot");
    git(&repo.root, &["checkout", "-q", "-b", "feature"]);
    repo
}

/// The packages of a `--dry=json` plan.
fn planned_packages(root: &Path, args: &[&str]) -> Vec<String> {
    let mut cmd = mono(root);
    cmd.args(args).arg("--dry=json");
    for var in [
        "MONO_SCM_BASE",
        "MONO_SCM_HEAD",
        "TURBO_SCM_BASE",
        "TURBO_SCM_HEAD",
    ] {
        cmd.env_remove(var);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut packages: Vec<String> = plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["package"].as_str().unwrap().to_owned())
        .collect();
    packages.sort();
    packages.dedup();
    packages
}

#[test]
fn nothing_changed_nothing_affected() {
    let repo = polyglot_on_a_branch();
    assert!(affected(&repo.root, &[], &[]).is_empty());
    let out = mono(&repo.root)
        .args(["ls", "--affected"])
        .env_remove("MONO_SCM_BASE")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("0 affected packages (from main to the work tree)"),
        "{text}"
    );
}

#[test]
fn a_committed_go_change_affects_the_module_and_its_dependents() {
    let repo = polyglot_on_a_branch();
    write(
        &repo.root,
        "services/shared/extra.go",
        "package shared\n\n// Extra is new.\nconst Extra = 1\n",
    );
    commit(&repo.root, "shared: extra");
    let got = affected(&repo.root, &[], &[]);
    assert_eq!(names(&got), ["api", "infra", "shared"]);
    assert_eq!(got["shared"], file_changed("services/shared/extra.go"));
    assert_eq!(got["api"], depends_on("shared"));
    assert_eq!(got["infra"], depends_on("api"));
}

#[test]
fn a_rust_library_change_reaches_rust_node_and_generic_dependents() {
    let repo = polyglot_on_a_branch();
    let lib = repo.root.join("crates/core/src/lib.rs");
    let mut text = std::fs::read_to_string(&lib).unwrap();
    text.push_str("\n/// Added on the branch.\npub const ADDED: u8 = 1;\n");
    std::fs::write(&lib, text).unwrap();
    // Uncommitted and unstaged: the work tree counts.
    let got = affected(&repo.root, &[], &[]);
    assert_eq!(
        names(&got),
        [
            "@polyglot/api-client",
            "@polyglot/web",
            "infra",
            "polyglot-core",
            "polyglot-server"
        ]
    );
    assert_eq!(got["polyglot-core"], file_changed("crates/core/src/lib.rs"));
    assert_eq!(got["polyglot-server"], depends_on("polyglot-core"));
}

#[test]
fn a_staged_node_change_affects_the_package_and_the_app() {
    let repo = polyglot_on_a_branch();
    write(
        &repo.root,
        "packages/ui/src/new.js",
        "export const x = 1;\n",
    );
    git(&repo.root, &["add", "packages/ui/src/new.js"]);
    let got = affected(&repo.root, &[], &[]);
    assert_eq!(names(&got), ["@polyglot/ui", "@polyglot/web"]);
    assert_eq!(got["@polyglot/ui"], file_changed("packages/ui/src/new.js"));
}

#[test]
fn untracked_deleted_and_renamed_files_count_on_both_sides() {
    let repo = polyglot_on_a_branch();
    // Untracked, not ignored.
    write(&repo.root, "services/shared/notes.txt", "new");
    // Deleted from the work tree.
    std::fs::remove_file(repo.root.join("infra/render.sh")).unwrap();
    let got = affected(&repo.root, &[], &[]);
    assert_eq!(names(&got), ["api", "infra", "shared"]);
    assert_eq!(got["infra"], file_changed("infra/render.sh"));
    assert_eq!(got["shared"], file_changed("services/shared/notes.txt"));

    // A rename across packages, committed: both the old and the new owner.
    git(&repo.root, &["checkout", "-q", "--", "."]);
    std::fs::remove_file(repo.root.join("services/shared/notes.txt")).unwrap();
    let ui_files: Vec<PathBuf> = std::fs::read_dir(repo.root.join("packages/ui/src"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let from = ui_files[0]
        .strip_prefix(&repo.root)
        .unwrap()
        .to_str()
        .unwrap();
    git(
        &repo.root,
        &["mv", from, "packages/api-client/moved-from-ui.js"],
    );
    commit(&repo.root, "move a file from ui to api-client");
    let got = affected(&repo.root, &[], &[]);
    assert_eq!(
        names(&got),
        ["@polyglot/api-client", "@polyglot/ui", "@polyglot/web"]
    );
    assert_eq!(got["@polyglot/ui"], file_changed(from));
    assert_eq!(
        got["@polyglot/api-client"],
        file_changed("packages/api-client/moved-from-ui.js")
    );
}

#[test]
fn root_files_affect_the_root_and_global_files_affect_everything() {
    let repo = polyglot_on_a_branch();
    write(&repo.root, "README.md", "changed\n");
    assert_eq!(names(&affected(&repo.root, &[], &[])), ["//"]);
    // `.env.example` is a globalDependency of the fixture.
    write(&repo.root, ".env.example", "API_URL=x\n");
    let got = affected(&repo.root, &[], &[]);
    assert_eq!(got.len(), 9);
    assert!(got
        .values()
        .all(|r| *r == serde_json::json!({ "type": "globalFileChanged", "file": ".env.example" })));
}

#[test]
fn base_and_head_come_from_the_environment() {
    let repo = polyglot_on_a_branch();
    write(&repo.root, "services/api/main_extra.go", "package main\n");
    commit(&repo.root, "api");
    let api_commit = rev_parse(&repo.root, "HEAD");
    write(&repo.root, "packages/ui/src/later.js", "export {}\n");
    commit(&repo.root, "ui");
    write(&repo.root, "crates/core/uncommitted.txt", "work tree\n");

    // Default: main to the work tree.
    assert_eq!(
        names(&affected(&repo.root, &[], &[])),
        [
            "@polyglot/api-client",
            "@polyglot/ui",
            "@polyglot/web",
            "api",
            "infra",
            "polyglot-core",
            "polyglot-server"
        ]
    );
    // A base: only what came after it.
    assert_eq!(
        names(&affected(
            &repo.root,
            &[],
            &[("MONO_SCM_BASE", &api_commit)]
        )),
        [
            "@polyglot/api-client",
            "@polyglot/ui",
            "@polyglot/web",
            "infra",
            "polyglot-core",
            "polyglot-server"
        ]
    );
    // Turborepo's variable too, and a head: the work tree no longer counts.
    assert_eq!(
        names(&affected(
            &repo.root,
            &[],
            &[("TURBO_SCM_BASE", "main"), ("MONO_SCM_HEAD", &api_commit)]
        )),
        ["api", "infra"]
    );
}

fn rev_parse(root: &Path, rev: &str) -> String {
    let out = StdCommand::new("git")
        .args(["rev-parse", rev])
        .current_dir(root)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn git_range_filters_select_through_the_binary() {
    let repo = polyglot_on_a_branch();
    write(&repo.root, "services/shared/extra.go", "package shared\n");
    commit(&repo.root, "shared");
    write(&repo.root, "packages/ui/src/wip.js", "export {}\n");
    let cases: &[(&[&str], &[&str])] = &[
        (&["--filter=[main]"], &["@polyglot/ui", "shared"]),
        (&["--filter=[main...feature]"], &["shared"]),
        (&["--filter=[HEAD]"], &["@polyglot/ui"]),
        (
            &["--filter=...[main]"],
            &["@polyglot/ui", "@polyglot/web", "api", "infra", "shared"],
        ),
        (
            &["--filter=...[main]", "--filter=!infra"],
            &["@polyglot/ui", "@polyglot/web", "api", "shared"],
        ),
        (&["--filter=infra...[main...feature]"], &["infra"]),
        (&["--filter=polyglot-server...[main]"], &[]),
        (&["--filter={./services/*}[main]"], &["shared"]),
        (&["--affected", "--filter=./services/*"], &["api", "shared"]),
    ];
    for (args, expected) in cases {
        let mut all = vec!["ls", "--json"];
        all.extend_from_slice(args);
        let out = mono(&repo.root)
            .args(&all)
            .env_remove("MONO_SCM_BASE")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let got: Vec<&str> = doc["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(got, *expected, "{args:?}");
    }
    // A run with --affected plans the affected packages' tasks only.
    assert_eq!(
        planned_packages(&repo.root, &["lint", "--affected"]),
        ["@polyglot/ui", "@polyglot/web", "api", "infra", "shared"]
    );
}

#[test]
fn a_missing_base_warns_and_affects_everything() {
    let repo = polyglot_on_a_branch();
    let out = mono(&repo.root)
        .args(["ls", "--affected"])
        .env("MONO_SCM_BASE", "no-such-branch")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: the git ref `no-such-branch` does not exist; every package counts as affected"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("9 affected packages"));
    // A filter range too.
    let out = mono(&repo.root)
        .args(["ls", "--filter=[nope]"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("`nope` does not exist"));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("9 packages"));
}

#[test]
fn no_default_branch_warns_and_affects_everything() {
    let repo = polyglot_on_a_branch();
    git(&repo.root, &["branch", "-q", "-D", "main"]);
    let out = mono(&repo.root)
        .args(["ls", "--affected"])
        .env_remove("MONO_SCM_BASE")
        .env_remove("TURBO_SCM_BASE")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no default branch"));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("9 affected packages"));
}

#[test]
fn a_shallow_clone_warns_and_affects_everything() {
    let repo = polyglot_on_a_branch();
    write(&repo.root, "services/shared/extra.go", "package shared\n");
    commit(&repo.root, "on the branch");
    git(&repo.root, &["checkout", "-q", "main"]);
    write(&repo.root, "README.md", "main moves on\n");
    commit(&repo.root, "on main");
    let clones = tempfile::tempdir().unwrap();
    let url = format!("file://{}", repo.root.display());
    git(
        clones.path(),
        &[
            "clone",
            "-q",
            "--depth=1",
            "--no-single-branch",
            "--branch=feature",
            &url,
            "shallow",
        ],
    );
    let shallow = clones.path().join("shallow");
    let out = mono(&shallow)
        .args(["ls", "--affected", "--json"])
        .env_remove("MONO_SCM_BASE")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("shallow clone"), "{stderr}");
    assert!(
        stderr.contains("every package counts as affected"),
        "{stderr}"
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["count"], 9);
    assert_eq!(doc["affected"]["base"], "origin/HEAD");
    assert_eq!(doc["packages"][0]["reason"]["type"], "unknown");
}

/// Runs a tool in `dir`; `false` when it is not installed.
fn tool(dir: &Path, program: &str, args: &[&str]) -> bool {
    let status = StdCommand::new(program)
        .args(args)
        .current_dir(dir)
        .status();
    match status {
        Ok(status) => {
            assert!(
                status.success(),
                "{program} {args:?} failed in {}",
                dir.display()
            );
            true
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => panic!("{program}: {e}"),
    }
}

/// Two npm workspace packages with one external dependency each, the lockfile written by npm.
#[test]
fn an_npm_lockfile_change_affects_only_the_package_whose_dependency_moved() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    write(
        &root,
        "package.json",
        r#"{ "name": "root", "private": true, "workspaces": ["packages/*"] }"#,
    );
    write(&root, "turbo.toml", "[tasks.build]\n");
    let manifest = |name: &str, dep: &str, version: &str| {
        format!(
            r#"{{ "name": "{name}", "version": "1.0.0", "scripts": {{ "build": "echo {name}" }}, "dependencies": {{ "{dep}": "{version}" }} }}"#
        )
    };
    write(
        &root,
        "packages/a/package.json",
        &manifest("a", "left-pad", "1.3.0"),
    );
    write(
        &root,
        "packages/b/package.json",
        &manifest("b", "is-number", "6.0.0"),
    );
    let npm = [
        "install",
        "--package-lock-only",
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
    ];
    assert!(tool(&root, "npm", &npm), "npm is required for this test");
    git(&root, &["init", "-q", "-b", "main"]);
    commit(&root, "init");
    let hashes_before = task_hashes(&root);

    git(&root, &["checkout", "-q", "-b", "bump"]);
    // Lockfile only: npm rewrites it for b's new version; b's manifest is put back, so that
    // nothing but package-lock.json differs.
    write(
        &root,
        "packages/b/package.json",
        &manifest("b", "is-number", "7.0.0"),
    );
    assert!(tool(&root, "npm", &npm));
    write(
        &root,
        "packages/b/package.json",
        &manifest("b", "is-number", "6.0.0"),
    );
    commit(&root, "bump is-number in b");
    let got = affected(&root, &[], &[]);
    assert_eq!(names(&got), ["b"]);
    assert_eq!(
        got["b"],
        serde_json::json!({ "type": "lockfileChanged", "file": "package-lock.json" })
    );
    // The task hash takes b's resolved dependencies, not the whole lockfile: a still hits.
    let hashes_after = task_hashes(&root);
    assert_eq!(hashes_before["a#build"], hashes_after["a#build"]);
    assert_ne!(hashes_before["b#build"], hashes_after["b#build"]);
}

/// A Node package manager from the tools `make test` installs, as the words that run it
/// (`node yarn.js` for yarn berry); a missing tool fails the test, naming the fix.
fn node_tool(tool: Tool) -> Vec<String> {
    let path = mono_test_tools::path(tool).to_str().unwrap().to_owned();
    if path.ends_with(".js") {
        let node = mono_test_tools::path(Tool::Node);
        vec![node.to_str().unwrap().to_owned(), path]
    } else {
        vec![path]
    }
}

/// Two workspace packages `a` and `b` with one external dependency each; the package
/// manager writes the lockfile, then `b` moves to another version of its dependency (the
/// manifest and the lockfile change, as with a real upgrade). Only `b` is affected and only
/// `b`'s hash moves: without per-package lockfile reading, the lockfile change would affect
/// `a` too.
fn node_upgrade_affects_only_its_package(
    install: &[String],
    workspace_files: &[(&str, &str)],
    lockfile: &str,
) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    write(
        &root,
        "package.json",
        r#"{ "name": "root", "private": true, "workspaces": ["packages/*"] }"#,
    );
    for (path, text) in workspace_files {
        write(&root, path, text);
    }
    write(
        &root,
        ".gitignore",
        "node_modules/\n.yarn/\n.pnp.*\ncache/\n",
    );
    write(&root, "turbo.toml", "[tasks.build]\n");
    let manifest = |name: &str, dep: &str, version: &str| {
        format!(
            r#"{{ "name": "{name}", "version": "1.0.0", "scripts": {{ "build": "echo {name}" }}, "dependencies": {{ "{dep}": "{version}" }} }}"#
        )
    };
    write(
        &root,
        "packages/a/package.json",
        &manifest("a", "left-pad", "1.3.0"),
    );
    write(
        &root,
        "packages/b/package.json",
        &manifest("b", "is-number", "6.0.0"),
    );
    let run_install = |root: &Path| {
        let status = StdCommand::new(&install[0])
            .args(&install[1..])
            .current_dir(root)
            .env("YARN_ENABLE_IMMUTABLE_INSTALLS", "false")
            .env("YARN_ENABLE_TELEMETRY", "0")
            .status()
            .unwrap();
        assert!(status.success(), "{install:?} failed");
    };
    run_install(&root);
    assert!(
        root.join(lockfile).is_file(),
        "{install:?} wrote no {lockfile}"
    );
    git(&root, &["init", "-q", "-b", "main"]);
    commit(&root, "init");
    let hashes_before = task_hashes(&root);
    git(&root, &["checkout", "-q", "-b", "bump"]);
    write(
        &root,
        "packages/b/package.json",
        &manifest("b", "is-number", "7.0.0"),
    );
    run_install(&root);
    commit(&root, "upgrade is-number in b");
    let changed = StdCommand::new("git")
        .args(["diff", "--name-only", "main", "HEAD"])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&changed.stdout).contains(lockfile),
        "the upgrade did not change {lockfile}"
    );
    let out = mono(&root)
        .args(["ls", "--affected"])
        .env_remove("MONO_SCM_BASE")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("warning"), "{stderr}");
    assert_eq!(names(&affected(&root, &[], &[])), ["b"]);
    let hashes_after = task_hashes(&root);
    assert_eq!(hashes_before["a#build"], hashes_after["a#build"]);
    assert_ne!(hashes_before["b#build"], hashes_after["b#build"]);
}

#[test]
fn a_pnpm_lockfile_upgrade_affects_only_its_package() {
    let mut install = node_tool(Tool::Pnpm);
    install.extend(["install", "--lockfile-only", "--no-frozen-lockfile"].map(String::from));
    node_upgrade_affects_only_its_package(
        &install,
        &[
            ("pnpm-workspace.yaml", "packages:\n  - \"packages/*\"\n"),
            ("package.json", r#"{ "name": "root", "private": true }"#),
        ],
        "pnpm-lock.yaml",
    );
}

#[test]
fn a_yarn_classic_lockfile_upgrade_affects_only_its_package() {
    let mut install = node_tool(Tool::Yarn);
    install.extend(
        [
            "install",
            "--ignore-scripts",
            "--no-progress",
            "--non-interactive",
        ]
        .map(String::from),
    );
    node_upgrade_affects_only_its_package(&install, &[], "yarn.lock");
}

#[test]
fn a_yarn_berry_lockfile_upgrade_affects_only_its_package() {
    let mut install = node_tool(Tool::YarnBerry);
    install.extend(["install", "--mode=update-lockfile"].map(String::from));
    node_upgrade_affects_only_its_package(&install, &[], "yarn.lock");
}

#[test]
fn an_npm_lockfile_upgrade_affects_only_its_package() {
    let install: Vec<String> = [
        "npm",
        "install",
        "--package-lock-only",
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
    ]
    .map(String::from)
    .to_vec();
    node_upgrade_affects_only_its_package(&install, &[], "package-lock.json");
}

fn task_hashes(root: &Path) -> BTreeMap<String, String> {
    let plan = common::dry_json(root, &["build"]);
    plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["taskId"].as_str().unwrap().to_owned(),
                t["hash"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Two crates of a Cargo workspace, the lockfile written by cargo; a `cargo update
/// --precise` of one crate's dependency changes Cargo.lock only.
#[test]
fn a_cargo_lockfile_change_affects_only_the_crate_whose_dependency_moved() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    write(
        &root,
        "Cargo.toml",
        "[workspace]\nmembers = [\"crates/*\"]\nresolver = \"2\"\n",
    );
    write(&root, "turbo.toml", "[tasks.build]\n");
    write(&root, ".gitignore", "target/\n");
    let krate = |name: &str, dep: &str| {
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n{dep} = \"1\"\n"
        )
    };
    write(&root, "crates/x/Cargo.toml", &krate("x", "cfg-if"));
    write(&root, "crates/x/src/lib.rs", "");
    write(&root, "crates/y/Cargo.toml", &krate("y", "either"));
    write(&root, "crates/y/src/lib.rs", "");
    assert!(tool(&root, "cargo", &["generate-lockfile", "-q"]));
    assert!(tool(
        &root,
        "cargo",
        &["update", "-q", "-p", "cfg-if", "--precise", "1.0.4"]
    ));
    git(&root, &["init", "-q", "-b", "main"]);
    commit(&root, "init");
    let hashes_before = task_hashes(&root);
    git(&root, &["checkout", "-q", "-b", "bump"]);
    assert!(tool(
        &root,
        "cargo",
        &["update", "-q", "-p", "cfg-if", "--precise", "1.0.5"]
    ));
    commit(&root, "bump cfg-if");
    let got = affected(&root, &[], &[]);
    assert_eq!(names(&got), ["x"]);
    assert_eq!(
        got["x"],
        serde_json::json!({ "type": "lockfileChanged", "file": "Cargo.lock" })
    );
    let hashes_after = task_hashes(&root);
    assert_eq!(hashes_before["y#build"], hashes_after["y#build"]);
    assert_ne!(hashes_before["x#build"], hashes_after["x#build"]);
}

/// Go modules cannot be downloaded here (no module proxy), so go.sum is written by hand in
/// go's format: an upgrade in module b changes b's go.mod and go.sum, and an edit of a
/// go.sum that changes nothing b resolves affects nothing.
#[test]
fn a_go_sum_change_affects_only_the_module_whose_dependency_moved() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    write(&root, "go.work", "go 1.19\n\nuse (\n\t./a\n\t./b\n)\n");
    write(&root, "turbo.toml", "[tasks.build]\n");
    let module = |name: &str, version: &str| {
        format!(
            "module example.com/{name}\n\ngo 1.19\n\nrequire github.com/google/go-cmp {version}\n"
        )
    };
    let sum = |version: &str| {
        format!(
            "github.com/google/go-cmp {version} h1:{version}content=\ngithub.com/google/go-cmp {version}/go.mod h1:{version}gomod=\n"
        )
    };
    for name in ["a", "b"] {
        write(&root, &format!("{name}/go.mod"), &module(name, "v0.5.9"));
        write(&root, &format!("{name}/go.sum"), &sum("v0.5.9"));
        write(
            &root,
            &format!("{name}/{name}.go"),
            &format!("package {name}\n"),
        );
    }
    git(&root, &["init", "-q", "-b", "main"]);
    commit(&root, "init");
    git(&root, &["checkout", "-q", "-b", "bump"]);
    // A line for a module b does not require: what b resolves is unchanged.
    let mut b_sum = sum("v0.5.9");
    b_sum.push_str("golang.org/x/unused v0.1.0/go.mod h1:unused=\n");
    write(&root, "b/go.sum", &b_sum);
    assert!(affected(&root, &[], &[]).is_empty());
    // An upgrade in b.
    write(&root, "b/go.mod", &module("b", "v0.6.0"));
    write(&root, "b/go.sum", &sum("v0.6.0"));
    commit(&root, "upgrade go-cmp in b");
    let got = affected(&root, &[], &[]);
    assert_eq!(names(&got), ["b"]);
    assert_eq!(got["b"], file_changed("b/go.mod"));
    // go.sum alone (same go.mod): the checksum b resolves moved.
    git(&root, &["checkout", "-q", "main"]);
    git(&root, &["checkout", "-q", "-b", "resum"]);
    write(
        &root,
        "b/go.sum",
        &sum("v0.5.9").replace("content", "other"),
    );
    let got = affected(&root, &[], &[]);
    assert_eq!(names(&got), ["b"]);
    assert_eq!(
        got["b"],
        serde_json::json!({ "type": "lockfileChanged", "file": "b/go.sum" })
    );
}

/// A repository of generic packages whose `test` passes when `ok.txt` says `ok`, and a bare
/// repository to push to.
struct Pushable {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

fn pushable() -> Pushable {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    let remote = dir.path().join("remote.git");
    // Not cached, so that `tested.log` shows every run.
    write(
        &root,
        "turbo.toml",
        "workspaces = [\"pkgs/*\"]\n\n[tasks.test]\ncache = false\n",
    );
    for (name, deps) in [("lib", "[]"), ("app", "[\"lib\"]"), ("other", "[]")] {
        write(
            &root,
            &format!("pkgs/{name}/turbo.toml"),
            &format!(
                "name = \"{name}\"\ndependencies = {deps}\n\n[tasks.test]\ncommand = \"grep -qx ok ok.txt && echo tested {name} >> ../../tested.log\"\n"
            ),
        );
        write(&root, &format!("pkgs/{name}/ok.txt"), "ok\n");
    }
    write(&root, ".gitignore", "tested.log\ncache/\n");
    git(&root, &["init", "-q", "-b", "main"]);
    commit(&root, "init");
    git(dir.path(), &["init", "-q", "--bare", "remote.git"]);
    git(
        &root,
        &["remote", "add", "origin", remote.to_str().unwrap()],
    );
    git(&root, &["push", "-q", "-u", "origin", "main"]);
    Pushable { _dir: dir, root }
}

fn push(root: &Path, args: &[&str]) -> std::process::Output {
    StdCommand::new("git")
        .arg("push")
        .args(args)
        .current_dir(root)
        .env("NO_COLOR", "1")
        .env_remove("MONO_SCM_BASE")
        .env_remove("MONO_SCM_HEAD")
        .env_remove("TURBO_SCM_BASE")
        .env_remove("TURBO_SCM_HEAD")
        .output()
        .unwrap()
}

fn tested(root: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(root.join("tested.log")).unwrap_or_default();
    let _ = std::fs::remove_file(root.join("tested.log"));
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

#[test]
fn the_pre_push_hook_tests_what_is_pushed_and_blocks_a_failure() {
    let repo = pushable();
    mono(&repo.root)
        .args(["hook", "install"])
        .assert()
        .success();
    let hook = repo.root.join(".git/hooks/pre-push");
    let script = std::fs::read_to_string(&hook).unwrap();
    assert!(script.contains(env!("CARGO_BIN_EXE_mono")), "{script}");

    // A passing change to lib: lib and app are tested, other is not; the push goes through.
    write(&repo.root, "pkgs/lib/src.txt", "v2\n");
    commit(&repo.root, "lib v2");
    let out = push(&repo.root, &["-q", "origin", "main"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(tested(&repo.root), ["tested app", "tested lib"]);
    assert_eq!(
        rev_parse(&repo.root, "HEAD"),
        rev_parse(&repo.root, "origin/main")
    );

    // A failing test in other: the push is blocked and the remote keeps its commit.
    write(&repo.root, "pkgs/other/ok.txt", "broken\n");
    commit(&repo.root, "break other");
    let out = push(&repo.root, &["-q", "origin", "main"]);
    assert!(!out.status.success(), "the push should have been blocked");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("other#test"), "{stderr}");
    assert_ne!(
        rev_parse(&repo.root, "HEAD"),
        rev_parse(&repo.root, "origin/main")
    );
    assert!(tested(&repo.root).is_empty());

    // Fixed: through again. A new branch compares with the default branch.
    write(&repo.root, "pkgs/other/ok.txt", "ok\n");
    write(&repo.root, "pkgs/other/src.txt", "fixed\n");
    commit(&repo.root, "fix other");
    let out = push(&repo.root, &["-q", "origin", "main"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(tested(&repo.root), ["tested other"]);
    git(&repo.root, &["checkout", "-q", "-b", "topic"]);
    write(&repo.root, "pkgs/app/src.txt", "topic\n");
    commit(&repo.root, "app on a topic branch");
    let out = push(&repo.root, &["-q", "origin", "topic"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(tested(&repo.root), ["tested app"]);

    // Two refs in one push: each is tested (the first run must not swallow the second
    // line of the hook's input).
    git(&repo.root, &["checkout", "-q", "-b", "second"]);
    write(&repo.root, "pkgs/other/more.txt", "second\n");
    commit(&repo.root, "other on a second branch");
    git(&repo.root, &["checkout", "-q", "topic"]);
    write(&repo.root, "pkgs/lib/more.txt", "topic\n");
    commit(&repo.root, "lib on topic");
    let out = push(&repo.root, &["-q", "origin", "topic", "second"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let both = tested(&repo.root);
    assert!(both.contains(&"tested lib".to_owned()), "{both:?}");
    assert!(both.contains(&"tested other".to_owned()), "{both:?}");

    mono(&repo.root)
        .args(["hook", "uninstall"])
        .assert()
        .success();
    assert!(!hook.exists());
}

#[test]
fn the_hook_honours_core_hooks_path_and_never_replaces_another_hook() {
    let repo = pushable();
    git(&repo.root, &["config", "core.hooksPath", ".githooks"]);
    write(&repo.root, ".githooks/pre-push", "#!/bin/sh\nexit 0\n");
    let out = mono(&repo.root).args(["hook", "install"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = common::report_words(&String::from_utf8_lossy(&out.stderr));
    assert!(
        stderr.contains("already exists and was not installed by mono"),
        "{stderr}"
    );
    assert!(stderr.contains("or pass --force to replace it"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(repo.root.join(".githooks/pre-push")).unwrap(),
        "#!/bin/sh\nexit 0\n"
    );
    let out = mono(&repo.root)
        .args(["hook", "uninstall"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(repo.root.join(".githooks/pre-push").exists());

    mono(&repo.root)
        .args(["hook", "install", "--force"])
        .assert()
        .success();
    assert!(!repo.root.join(".git/hooks/pre-push").exists());
    // Installing again over mono's own hook needs no --force.
    mono(&repo.root)
        .args(["hook", "install"])
        .assert()
        .success();
    write(&repo.root, "pkgs/other/ok.txt", "broken\n");
    commit(&repo.root, "break other");
    let out = push(&repo.root, &["-q", "origin", "main"]);
    assert!(
        !out.status.success(),
        "the hook in core.hooksPath should run"
    );
    mono(&repo.root)
        .args(["hook", "uninstall"])
        .assert()
        .success();
    assert!(!repo.root.join(".githooks/pre-push").exists());
    let out = push(&repo.root, &["-q", "origin", "main"]);
    assert!(out.status.success());
}
