//! Parity with the real Turborepo: on the node-only fixture, `mono <tasks> --dry=json` and
//! `turbo run <tasks> --dry=json` have the same tasks, the same dependencies and the same
//! packages in scope, for many filters, git ranges and `--affected` included. mono reads turbo.toml, turbo reads turbo.json: the
//! same configuration in both syntaxes.
//!
//! The turbo binary (2.11) comes from the tools `make test` installs (crates/mono-test-tools;
//! `MONO_TEST_TURBO` overrides it).

mod common;

use std::path::Path;
use std::process::Command;

use common::{dry_json, edges, fixture, turbo_binary};
use serde_json::Value;

/// turbo in `root`, quiet: no telemetry, no update notice, no version line.
fn turbo_command(turbo: &Path, root: &Path) -> Command {
    let mut command = Command::new(turbo);
    command
        .current_dir(root)
        .env("TURBO_TELEMETRY_DISABLED", "1")
        .env("DO_NOT_TRACK", "1")
        .env("TURBO_NO_UPDATE_NOTIFIER", "1")
        .env("TURBO_PRINT_VERSION_DISABLED", "1");
    command
}

fn turbo_dry_json(turbo: &Path, root: &Path, args: &[&str]) -> Value {
    let output = turbo_command(turbo, root)
        .arg("run")
        .args(args)
        .arg("--dry=json")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "turbo run {args:?} --dry=json failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn same_task_graph_as_turbo() {
    let turbo = turbo_binary();
    let repo = fixture("node-only");
    let cases: &[&[&str]] = &[
        &["build"],
        &["build", "test"],
        &["lint"],
        &["test", "--only"],
        &["build", "--filter=web"],
        &["build", "--filter=web..."],
        &["build", "--filter=web^..."],
        &["build", "--filter=...@repo/utils"],
        &["build", "--filter=...^@repo/utils"],
        &["build", "--filter=./apps/*"],
        &["build", "--filter={./packages/*}"],
        &["build", "--filter=@repo/*"],
        &["build", "--filter=!web"],
        &["build", "--filter=@repo/*", "--filter=!@repo/ui"],
        &["build", "--filter=docs", "--filter=web"],
        &["lint", "--filter=//"],
        // Issue 14, point 14: the root is in scope when a filter selects it, though none of
        // its tasks runs.
        &["build", "--filter=//"],
        &["build", "--filter=."],
        &["web#build"],
    ];
    for args in cases {
        let theirs = turbo_dry_json(&turbo, &repo.root, args);
        let ours = dry_json(&repo.root, args);
        assert_eq!(
            edges(&ours),
            edges(&theirs),
            "tasks and dependencies differ for {args:?}"
        );
        assert_eq!(
            ours["packages"], theirs["packages"],
            "packages in scope differ for {args:?}"
        );
        for (mine, turbos) in ours["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .zip(theirs["tasks"].as_array().unwrap())
        {
            for field in [
                "taskId",
                "task",
                "package",
                "command",
                "directory",
                "outputs",
                "dependents",
            ] {
                // turbo writes `null` for an empty list of outputs; mono always writes a list.
                let theirs = match &turbos[field] {
                    Value::Null => Value::Array(vec![]),
                    other => other.clone(),
                };
                assert_eq!(
                    mine[field], theirs,
                    "`{field}` of {} differs for {args:?}",
                    mine["taskId"]
                );
            }
        }
    }
}

/// Git-range filters and `--affected` select the same packages as turbo's, on a branch with
/// a committed change in one package and an uncommitted one in another.
#[test]
fn same_changed_packages_as_turbo() {
    let turbo = turbo_binary();
    let repo = fixture("node-only");
    common::git(&repo.root, &["checkout", "-q", "-b", "feature"]);
    std::fs::write(
        repo.root.join("packages/utils/src/added.js"),
        "export const added = 1;\n",
    )
    .unwrap();
    common::git(&repo.root, &["add", "-A"]);
    common::git(&repo.root, &["commit", "-q", "-m", "utils"]);
    std::fs::write(
        repo.root.join("packages/ui/uncommitted.js"),
        "export const wip = 1;\n",
    )
    .unwrap();
    let cases: &[&[&str]] = &[
        &["build", "--filter=[main]"],
        &["build", "--filter=[HEAD]"],
        &["build", "--filter=[main...feature]"],
        &["build", "--filter=...[main]"],
        &["build", "--filter=...^[main...feature]"],
        &["build", "--filter=[main]..."],
        &["build", "--filter=web...[main]"],
        &["build", "--filter=docs...[HEAD]"],
        &["build", "--filter={./packages/*}[main]"],
        &["build", "--filter=...[main]", "--filter=!web"],
        &["build", "--affected"],
    ];
    for args in cases {
        let theirs = turbo_dry_json(&turbo, &repo.root, args);
        let ours = dry_json(&repo.root, args);
        assert_eq!(
            ours["packages"], theirs["packages"],
            "packages in scope differ for {args:?}"
        );
        assert_eq!(
            edges(&ours),
            edges(&theirs),
            "tasks and dependencies differ for {args:?}"
        );
    }
}

/// A repository written from `files` into a temp dir and committed: npm workspaces
/// `packages/*` (and `apps/*`), with an empty lockfile so that turbo has one to read.
fn scratch(files: &[(&str, &str)]) -> common::Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    let mut all: Vec<(&str, &str)> = vec![
        (
            "package.json",
            r#"{ "name": "root", "private": true, "packageManager": "npm@10.8.0", "workspaces": ["apps/*", "packages/*"] }"#,
        ),
        (
            "package-lock.json",
            r#"{ "name": "root", "lockfileVersion": 3, "requires": true, "packages": {} }"#,
        ),
    ];
    all.extend_from_slice(files);
    for (path, text) in all {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    common::git(&root, &["init", "-q", "-b", "main"]);
    common::git(&root, &["add", "-A"]);
    common::git(&root, &["commit", "-q", "-m", "scratch"]);
    common::Fixture::at(dir, root)
}

/// A package.json with scripts (each `echo NAME`) and dependencies.
fn manifest(name: &str, version: &str, scripts: &[&str], deps: &[(&str, &str)]) -> String {
    let scripts: serde_json::Map<String, Value> = scripts
        .iter()
        .map(|s| ((*s).to_owned(), Value::String(format!("echo {s}"))))
        .collect();
    let deps: serde_json::Map<String, Value> = deps
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
        .collect();
    serde_json::json!({ "name": name, "version": version, "scripts": scripts, "dependencies": deps })
        .to_string()
}

/// Tasks, dependencies, commands and outputs of both plans are the same, and so are the
/// packages in scope (turbo's `//` aside: point 14 of issue 14, the `--dry=json` format).
fn assert_same_plan(turbo: &Path, root: &Path, args: &[&str]) {
    let theirs = turbo_dry_json(turbo, root, args);
    let ours = dry_json(root, args);
    assert_eq!(edges(&ours), edges(&theirs), "tasks differ for {args:?}");
    let packages = |doc: &Value| -> Vec<Value> {
        doc["packages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| *p != "//")
            .cloned()
            .collect()
    };
    assert_eq!(
        packages(&ours),
        packages(&theirs),
        "packages differ for {args:?}"
    );
    for (mine, turbos) in ours["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .zip(theirs["tasks"].as_array().unwrap())
    {
        let outputs = |v: &Value| {
            let mut list: Vec<String> = v
                .as_array()
                .map(|a| a.iter().map(|s| s.as_str().unwrap().to_owned()).collect())
                .unwrap_or_default();
            list.sort();
            list
        };
        assert_eq!(mine["command"], turbos["command"], "{args:?}");
        assert_eq!(
            outputs(&mine["outputs"]),
            outputs(&turbos["outputs"]),
            "{args:?}"
        );
    }
}

/// Issue 14, point 1: every root key of Turborepo 2.11's schema is accepted.
#[test]
fn issue_14_root_keys_of_turbo_2_11() {
    let turbo = turbo_binary();
    let a = manifest("a", "1.0.0", &["build"], &[]);
    let repo = scratch(&[
        ("packages/a/package.json", &a),
        (
            "turbo.json",
            r#"{ "$schema": "https://turborepo.dev/schema.json",
  "cacheMaxSize": "10GB", "cacheMaxAge": "7d", "tags": ["root"], "ui": "stream",
  "concurrency": "4", "noUpdateNotifier": true, "dangerouslyDisablePackageManagerCheck": false,
  "envMode": "strict", "boundaries": {}, "futureFlags": { "errorsOnlyShowHash": true },
  "tasks": { "build": { "outputs": ["dist/**"], "tags": ["ci"], "description": "b" } } }"#,
        ),
    ]);
    assert_same_plan(&turbo, &repo.root, &["build"]);
    // With `futureFlags.globalConfiguration`, the global keys live under `global`.
    std::fs::write(
        repo.root.join("turbo.json"),
        r#"{ "futureFlags": { "globalConfiguration": true },
  "global": { "inputs": ["tsconfig.json"], "env": ["CI"], "passThroughEnv": ["HOME"], "ui": "stream",
              "cacheMaxSize": "1GB", "cacheMaxAge": "1d", "concurrency": "2", "envMode": "loose" },
  "tasks": { "build": { "outputs": ["dist/**"] } } }"#,
    )
    .unwrap();
    common::git(&repo.root, &["commit", "-q", "-am", "global"]);
    assert_same_plan(&turbo, &repo.root, &["build"]);
}

/// Points 2 and 3: `persistent` is each package's own, checked only for tasks in the graph;
/// a `dependsOn` naming a package that is gone fails only the runs that reach it.
#[test]
fn issue_14_persistent_per_package_and_stale_references() {
    let turbo = turbo_binary();
    let app = manifest("app", "1.0.0", &["build", "dev", "test"], &[("lib", "*")]);
    let lib = manifest("lib", "1.0.0", &["build", "dev", "test"], &[]);
    let repo = scratch(&[
        ("apps/app/package.json", &app),
        ("packages/lib/package.json", &lib),
        (
            "packages/lib/turbo.json",
            r#"{ "extends": ["//"], "tasks": { "dev": { "persistent": false } } }"#,
        ),
        (
            "turbo.json",
            r#"{ "tasks": { "build": { "dependsOn": ["^build"] },
  "dev": { "persistent": true, "dependsOn": ["^dev"] },
  "test": { "dependsOn": ["@acme/old#test"] } } }"#,
        ),
    ]);
    assert_same_plan(&turbo, &repo.root, &["build"]);
    assert_same_plan(&turbo, &repo.root, &["dev"]);
    let out = common::mono(&repo.root)
        .args(["test", "--dry"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "test reaches the stale entry");
}

/// Points 5 and 7: composable configuration in turbo.jsonc files: a package extending
/// another, task `extends: false`, `$TURBO_EXTENDS$`, task tags.
#[test]
fn issue_14_composable_configuration_in_turbo_jsonc() {
    let turbo = turbo_binary();
    let web = manifest("web", "1.0.0", &["build", "lint", "gen"], &[]);
    let docs = manifest("docs", "1.0.0", &["build", "lint", "gen"], &[]);
    let repo = scratch(&[
        ("apps/web/package.json", &web),
        ("apps/docs/package.json", &docs),
        (
            "apps/web/turbo.jsonc",
            r#"// web's own
{ "extends": ["//"], "tasks": {
  "build": { "outputs": ["$TURBO_EXTENDS$", ".next/**"], "dependsOn": ["$TURBO_EXTENDS$", "gen"], "tags": ["$TURBO_EXTENDS$", "web"] },
  "lint": { "extends": false },
  "gen": {} } }"#,
        ),
        (
            "apps/docs/turbo.jsonc",
            r#"{ "extends": ["//", "web"], "tasks": { "build": { "env": ["DOCS"] } } }"#,
        ),
        (
            "turbo.jsonc",
            r#"{ /* comments */ "tasks": { "build": { "outputs": ["dist/**"], "tags": ["ci"] }, "lint": {} } }"#,
        ),
    ]);
    assert_same_plan(&turbo, &repo.root, &["build"]);
    assert_same_plan(&turbo, &repo.root, &["lint"]);
}

/// Point 8: `with` adds the tasks that run alongside.
#[test]
fn issue_14_with() {
    let turbo = turbo_binary();
    let web = manifest("web", "1.0.0", &["dev", "build"], &[]);
    let api = manifest("api", "1.0.0", &["dev"], &[]);
    let repo = scratch(&[
        ("apps/web/package.json", &web),
        ("apps/api/package.json", &api),
        (
            "turbo.json",
            r#"{ "tasks": { "build": {}, "dev": { "persistent": true, "cache": false, "with": ["api#dev", "build"] } } }"#,
        ),
    ]);
    assert_same_plan(&turbo, &repo.root, &["dev", "--filter=web"]);
    // Point 14: `--dry=json` lists each task's `with`, as turbo does.
    let with = |plan: &Value| -> Value {
        plan["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["taskId"] == "web#dev")
            .map(|t| t["with"].clone())
            .unwrap()
    };
    let theirs = turbo_dry_json(&turbo, &repo.root, &["dev", "--filter=web"]);
    let ours = dry_json(&repo.root, &["dev", "--filter=web"]);
    assert_eq!(with(&ours), serde_json::json!(["api#dev", "build"]));
    assert_eq!(with(&ours), with(&theirs));
}

/// Points 9, 10 and 12: the root package's dependencies are everyone's; `./dir/*` is the
/// packages directly in dir; `--only` keeps the edges between the requested tasks.
#[test]
fn issue_14_root_edges_directory_globs_and_only() {
    let turbo = turbo_binary();
    let app = manifest("app", "1.0.0", &["build", "test"], &[("lib", "*")]);
    let lib = manifest("lib", "1.0.0", &["build", "test"], &[]);
    let tool = manifest("tool", "1.0.0", &["build", "test"], &[("base", "*")]);
    let base = manifest("base", "1.0.0", &["build", "test"], &[]);
    let deep = manifest("deep", "1.0.0", &["build", "test"], &[]);
    let repo = scratch(&[
        (
            "package.json",
            r#"{ "name": "root", "private": true, "packageManager": "npm@10.8.0",
  "workspaces": ["apps/*", "packages/*", "packages/group/*"], "devDependencies": { "tool": "*" } }"#,
        ),
        ("apps/app/package.json", &app),
        ("packages/lib/package.json", &lib),
        ("packages/tool/package.json", &tool),
        ("packages/base/package.json", &base),
        ("packages/group/deep/package.json", &deep),
        (
            "turbo.json",
            r#"{ "tasks": { "build": { "dependsOn": ["^build"] }, "test": { "dependsOn": ["build"] } } }"#,
        ),
    ]);
    for args in [
        &["build", "--filter=...tool"][..],
        &["build", "--filter=...base"],
        &["build", "--filter=app..."],
        &["build", "--filter=./packages/*"],
        &["build", "--filter=./packages/**"],
        &["build", "test", "--only"],
        &["build", "test", "--only", "--filter=app"],
    ] {
        assert_same_plan(&turbo, &repo.root, args);
    }
    // A change to what the root depends on affects every package.
    common::git(&repo.root, &["checkout", "-q", "-b", "feature"]);
    std::fs::write(repo.root.join("packages/base/index.js"), "export {};\n").unwrap();
    common::git(&repo.root, &["add", "-A"]);
    common::git(&repo.root, &["commit", "-q", "-m", "base"]);
    assert_same_plan(&turbo, &repo.root, &["build", "--filter=...[main]"]);
    assert_same_plan(&turbo, &repo.root, &["build", "--affected"]);
}

/// Point 11: which dependency specifiers make an internal edge (npm links ranges that the
/// workspace version satisfies; `catalog:` never; `npm:` and `file:` as turbo resolves them).
#[test]
fn issue_14_dependency_specifiers() {
    let turbo = turbo_binary();
    let app = manifest(
        "app",
        "1.0.0",
        &["build"],
        &[
            ("in-range", "^1.0.0"),
            ("out-of-range", "^2.0.0"),
            ("from-catalog", "catalog:"),
            ("aliased", "npm:^1.0.0"),
            ("local", "file:../../packages/local"),
        ],
    );
    let lib = |name: &str| manifest(name, "1.2.0", &["build"], &[]);
    let (a, b, c, d, e) = (
        lib("in-range"),
        lib("out-of-range"),
        lib("from-catalog"),
        lib("aliased"),
        lib("local"),
    );
    let repo = scratch(&[
        ("apps/app/package.json", &app),
        ("packages/in-range/package.json", &a),
        ("packages/out-of-range/package.json", &b),
        ("packages/from-catalog/package.json", &c),
        ("packages/aliased/package.json", &d),
        ("packages/local/package.json", &e),
        (
            "turbo.json",
            r#"{ "tasks": { "build": { "dependsOn": ["^build"] } } }"#,
        ),
    ]);
    assert_same_plan(&turbo, &repo.root, &["build", "--filter=app..."]);
}

/// Point 13: a tracked symlink to a folder brings the files behind it into a task's inputs,
/// and a tracked symlink to nothing is skipped.
#[test]
fn issue_14_symlinked_inputs() {
    let turbo = turbo_binary();
    let a = manifest("a", "1.0.0", &["build"], &[]);
    let repo = scratch(&[
        ("packages/a/package.json", &a),
        ("shared/s1.txt", "s1"),
        ("shared/sub/s2.txt", "s2"),
        ("turbo.json", r#"{ "tasks": { "build": {} } }"#),
    ]);
    std::os::unix::fs::symlink("../../shared", repo.root.join("packages/a/linked")).unwrap();
    std::os::unix::fs::symlink("nowhere", repo.root.join("packages/a/dangling")).unwrap();
    common::git(&repo.root, &["add", "-A"]);
    common::git(&repo.root, &["commit", "-q", "-m", "links"]);
    let theirs = turbo_dry_json(&turbo, &repo.root, &["build"]);
    let ours = dry_json(&repo.root, &["build"]);
    let theirs: Vec<&String> = theirs["tasks"][0]["inputs"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    let ours: Vec<String> = ours["tasks"][0]["inputs"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.strip_prefix("packages/a/").unwrap().to_owned())
        .collect();
    let mut theirs: Vec<String> = theirs.into_iter().cloned().collect();
    theirs.sort();
    assert_eq!(ours, theirs);
    assert!(ours.contains(&"linked/sub/s2.txt".to_owned()), "{ours:?}");
}

/// The packages `turbo ls --output=json` lists, as `(name, path)`.
fn turbo_ls(turbo: &Path, root: &Path) -> std::process::Output {
    turbo_command(turbo, root)
        .args(["ls", "--output=json"])
        .output()
        .unwrap()
}

/// Point 4: `ls` does not need the packages' configs. A package turbo.json with problems
/// leaves `turbo ls` and `mono ls` listing every package (mono warns, naming the file),
/// while a run fails in both. A broken root config fails both listings.
#[test]
fn issue_14_ls_lists_packages_whose_config_is_broken() {
    let turbo = turbo_binary();
    let a = manifest("a", "1.0.0", &["build"], &[]);
    let b = manifest("b", "1.0.0", &["build"], &[("a", "*")]);
    let repo = scratch(&[
        ("packages/a/package.json", &a),
        ("packages/b/package.json", &b),
        (
            "packages/a/turbo.json",
            r#"{ "extends": ["//"], "tasks": { "build": { "outputs": 5, "bogusKey": true } } }"#,
        ),
        (
            "turbo.json",
            r#"{ "tasks": { "build": { "dependsOn": ["^build"] } } }"#,
        ),
    ]);
    let theirs = turbo_ls(&turbo, &repo.root);
    assert!(theirs.status.success(), "turbo ls failed");
    let theirs: Value = serde_json::from_slice(&theirs.stdout).unwrap();
    let mut theirs: Vec<(String, String)> = theirs["packages"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().into(),
                p["path"].as_str().unwrap().into(),
            )
        })
        .collect();
    theirs.sort();

    let ours = common::mono(&repo.root)
        .args(["ls", "--json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&ours.stderr);
    assert!(ours.status.success(), "mono ls failed: {stderr}");
    assert!(
        stderr.contains("packages/a/turbo.json has 2 problems"),
        "the warning names the file: {stderr}"
    );
    let ours: Value = serde_json::from_slice(&ours.stdout).unwrap();
    let mut ours: Vec<(String, String)> = ours["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] != "//")
        .map(|p| {
            (
                p["name"].as_str().unwrap().into(),
                p["directory"].as_str().unwrap().into(),
            )
        })
        .collect();
    ours.sort();
    assert_eq!(ours, theirs);
    assert_eq!(ours.len(), 2);

    // A run needs the config: both refuse it.
    let run = common::mono(&repo.root)
        .args(["build", "--dry"])
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(String::from_utf8_lossy(&run.stderr).contains("packages/a/turbo.json"));

    // A broken root config fails both listings.
    std::fs::write(
        repo.root.join("turbo.json"),
        r#"{ "tasks": { "build": { "outputs": 5 } } }"#,
    )
    .unwrap();
    assert!(!turbo_ls(&turbo, &repo.root).status.success());
    let ours = common::mono(&repo.root).args(["ls"]).output().unwrap();
    assert_eq!(ours.status.code(), Some(2));
}
