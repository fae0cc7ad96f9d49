//! The plan: `mono build --dry=json`, filters, `--only`, `--graph` and `mono ls` on real
//! fixture repositories.

mod common;

use common::{dry_json, edges, expect_edges, fixture, mono};
use serde_json::Value;

const POLYGLOT_BUILD: &[(&str, &[&str])] = &[
    ("@polyglot/ui#build", &[]),
    ("@polyglot/api-client#build", &["polyglot-server#build"]),
    (
        "@polyglot/web#build",
        &[
            "@polyglot/api-client#build",
            "@polyglot/ui#build",
            "polyglot-server#build",
        ],
    ),
    ("polyglot-core#build", &[]),
    ("polyglot-server#build", &["polyglot-core#build"]),
    ("shared#build", &[]),
    ("api#build", &["shared#build"]),
    ("infra#build", &["api#build", "polyglot-server#build"]),
];

#[test]
fn polyglot_build_spans_every_language() {
    let repo = fixture("polyglot");
    let plan = dry_json(&repo.root, &["build"]);
    assert_eq!(edges(&plan), expect_edges(POLYGLOT_BUILD));
    assert_eq!(plan["version"], "2");
    assert_eq!(plan["monorepo"], true);
    assert_eq!(plan["scm"]["type"], "git");
    assert_eq!(plan["scm"]["branch"], "main");

    let task = |id: &str| -> Value {
        plan["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["taskId"] == id)
            .unwrap()
            .clone()
    };
    let server = task("polyglot-server#build");
    // crates/server/turbo.toml builds a static release binary for its image.
    assert!(server["command"]
        .as_str()
        .unwrap()
        .contains("cargo build --release --quiet -p polyglot-server"));
    assert_eq!(server["directory"], "crates/server");
    assert_eq!(server["language"], "rust");
    assert_eq!(
        server["dependents"],
        serde_json::json!([
            "@polyglot/api-client#build",
            "@polyglot/web#build",
            "infra#build"
        ])
    );
    let api = task("api#build");
    assert_eq!(api["language"], "go");
    assert!(
        api["command"].as_str().unwrap().starts_with("go build"),
        "{api}"
    );
    let infra = task("infra#build");
    assert_eq!(infra["language"], "generic");
    assert_eq!(infra["command"], "sh ./render.sh");
    let web = task("@polyglot/web#build");
    assert_eq!(web["outputs"], serde_json::json!(["dist/**"]));
    assert_eq!(
        web["resolvedTaskDefinition"]["env"],
        serde_json::json!(["API_URL"])
    );
    // The root package has no `//#build`, so it is not in scope.
    assert!(!plan["packages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p == "//"));
}

#[test]
fn test_depends_on_own_build() {
    let repo = fixture("polyglot");
    let plan = dry_json(&repo.root, &["test", "--filter=polyglot-server"]);
    let e = edges(&plan);
    assert_eq!(e["polyglot-server#test"], vec!["polyglot-server#build"]);
    assert_eq!(e["polyglot-server#build"], vec!["polyglot-core#build"]);
    assert_eq!(e.len(), 3, "{e:?}");
}

/// Sorted task ids of `mono build <args> --dry=json` on the polyglot fixture.
fn build_ids(root: &std::path::Path, args: &[&str]) -> Vec<String> {
    let mut all = vec!["build"];
    all.extend_from_slice(args);
    edges(&dry_json(root, &all)).into_keys().collect()
}

#[test]
fn filters_select_packages_like_turborepo() {
    let repo = fixture("polyglot");
    let root = &repo.root;
    // A name: the package's build and what it depends on through ^build.
    assert_eq!(
        build_ids(root, &["--filter=api"]),
        ["api#build", "shared#build"]
    );
    // `...name`: the package and its dependents.
    assert_eq!(
        build_ids(root, &["--filter=...shared", "--only"]),
        ["api#build", "infra#build", "shared#build"]
    );
    // `...^name`: dependents only.
    assert_eq!(
        dry_json(root, &["build", "--filter=...^shared"])["packages"],
        serde_json::json!(["api", "infra"])
    );
    // `name^...`: dependencies only.
    assert_eq!(
        dry_json(root, &["build", "--filter=polyglot-server^..."])["packages"],
        serde_json::json!(["polyglot-core"])
    );
    // A directory glob.
    assert_eq!(
        dry_json(root, &["build", "--filter=./services/*"])["packages"],
        serde_json::json!(["api", "shared"])
    );
    // A name glob, and an exclusion.
    assert_eq!(
        dry_json(
            root,
            &["build", "--filter=@polyglot/*", "--filter=!@polyglot/web"]
        )["packages"],
        serde_json::json!(["@polyglot/api-client", "@polyglot/ui"])
    );
    // Only an exclusion: everything else.
    let all_but_infra = dry_json(root, &["build", "--filter=!infra"]);
    assert!(!edges(&all_but_infra).contains_key("infra#build"));
    assert_eq!(edges(&all_but_infra).len(), POLYGLOT_BUILD.len() - 1);
    // `web...`: the package and its dependencies.
    assert_eq!(
        dry_json(root, &["build", "--filter=@polyglot/web..."])["packages"],
        serde_json::json!([
            "@polyglot/api-client",
            "@polyglot/ui",
            "@polyglot/web",
            "polyglot-core",
            "polyglot-server"
        ])
    );
}

#[test]
fn only_drops_dependencies() {
    let repo = fixture("polyglot");
    let plan = dry_json(&repo.root, &["test", "--only"]);
    let e = edges(&plan);
    assert!(e.keys().all(|id| id.ends_with("#test")), "{e:?}");
    assert!(e.values().all(Vec::is_empty), "{e:?}");
}

#[test]
fn root_tasks_and_package_tasks() {
    let repo = fixture("polyglot");
    let lint = dry_json(&repo.root, &["lint"]);
    let e = edges(&lint);
    assert!(e.contains_key("//#lint"), "{e:?}");
    assert!(lint["packages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p == "//"));
    // `mono run web#build` style task ids.
    let one = dry_json(&repo.root, &["polyglot-server#spec"]);
    assert_eq!(
        edges(&one),
        expect_edges(&[
            ("polyglot-server#spec", &["polyglot-server#build"]),
            ("polyglot-server#build", &["polyglot-core#build"]),
            ("polyglot-core#build", &[]),
        ])
    );
}

#[test]
fn tasks_without_commands_stay_in_the_graph() {
    let repo = fixture("node-only");
    std::fs::remove_file(repo.root.join("turbo.json")).unwrap();
    let plan = dry_json(&repo.root, &["build"]);
    let config = plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["taskId"] == "@repo/config#build")
        .unwrap();
    assert_eq!(config["command"], "<NONEXISTENT>");
    assert_eq!(
        edges(&plan)["docs#build"],
        vec!["@repo/config#build", "@repo/ui#build"]
    );
}

#[test]
fn text_dry_run_is_a_table() {
    let repo = fixture("polyglot");
    let out = mono(&repo.root)
        .args(["build", "--dry", "--filter=api"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("Packages in scope (1): api"), "{text}");
    let header = lines
        .iter()
        .position(|l| l.starts_with("TASK"))
        .expect("a header row");
    let columns: Vec<&str> = lines[header].split_whitespace().collect();
    assert_eq!(
        columns,
        [
            "TASK",
            "PACKAGE",
            "DIRECTORY",
            "HASH",
            "CACHE",
            "INPUTS",
            "COMMAND",
            "DEPENDS",
            "ON"
        ]
    );
    let api_row = lines
        .iter()
        .find(|l| l.starts_with("api#build"))
        .expect("api#build row");
    assert!(
        api_row.contains("services/api") && api_row.ends_with("shared#build"),
        "{api_row}"
    );
}

#[test]
fn graph_formats() {
    let repo = fixture("polyglot");
    let dot = mono(&repo.root)
        .args(["build", "--filter=api", "--graph"])
        .output()
        .unwrap();
    let dot = String::from_utf8(dot.stdout).unwrap();
    assert!(dot.starts_with("digraph"), "{dot}");
    assert!(dot.contains("\"api#build\" -> \"shared#build\""), "{dot}");

    let mermaid = mono(&repo.root)
        .args(["build", "--filter=api", "--graph=mermaid"])
        .output()
        .unwrap();
    let mermaid = String::from_utf8(mermaid.stdout).unwrap();
    assert!(mermaid.starts_with("graph TD"), "{mermaid}");
    assert!(mermaid.contains("-->"), "{mermaid}");

    mono(&repo.root)
        .args(["build", "--graph=graph.json"])
        .assert()
        .success();
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(repo.root.join("graph.json")).unwrap())
            .unwrap();
    assert_eq!(json["version"], "1");
    let api = json["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["taskId"] == "api#build")
        .unwrap();
    assert_eq!(api["dependencies"], serde_json::json!(["shared#build"]));

    mono(&repo.root)
        .args(["build", "--graph=graph.png"])
        .assert()
        .code(2);
}

#[test]
fn ls_lists_packages_with_language_and_edges() {
    let repo = fixture("polyglot");
    let out = mono(&repo.root).args(["ls", "--json"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = doc["packages"].as_array().unwrap();
    let summary: Vec<(String, String, String, Vec<String>)> = packages
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["language"].as_str().unwrap().to_owned(),
                p["directory"].as_str().unwrap().to_owned(),
                p["dependencies"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d.as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect();
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        summary,
        vec![
            ("//".into(), "node".into(), ".".into(), s(&[])),
            (
                "@polyglot/api-client".into(),
                "node".into(),
                "packages/api-client".into(),
                s(&["polyglot-server"])
            ),
            (
                "@polyglot/ui".into(),
                "node".into(),
                "packages/ui".into(),
                s(&[])
            ),
            (
                "@polyglot/web".into(),
                "node".into(),
                "apps/web".into(),
                s(&["@polyglot/api-client", "@polyglot/ui"])
            ),
            (
                "api".into(),
                "go".into(),
                "services/api".into(),
                s(&["shared"])
            ),
            (
                "infra".into(),
                "generic".into(),
                "infra".into(),
                s(&["api", "polyglot-server"])
            ),
            (
                "polyglot-core".into(),
                "rust".into(),
                "crates/core".into(),
                s(&[])
            ),
            (
                "polyglot-server".into(),
                "rust".into(),
                "crates/server".into(),
                s(&["polyglot-core"])
            ),
            (
                "shared".into(),
                "go".into(),
                "services/shared".into(),
                s(&[])
            ),
        ]
    );
    // A filtered listing from a subdirectory: directories are relative to where mono runs.
    let out = mono(&repo.root.join("services"))
        .args(["ls", "--json", "--filter=./api"])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["packages"][0]["name"], "api");
    assert_eq!(doc["count"], 1);
}

#[test]
fn turbo_json_is_read_and_migrates_to_the_same_plan() {
    let repo = fixture("node-only");
    std::fs::remove_file(repo.root.join("turbo.toml")).unwrap();
    let from_json = dry_json(&repo.root, &["build", "lint"]);
    mono(&repo.root).arg("migrate").assert().success();
    let migrated = std::fs::read_to_string(repo.root.join("turbo.toml")).unwrap();
    assert!(migrated.contains("[tasks.build]"), "{migrated}");
    let from_toml = dry_json(&repo.root, &["build", "lint"]);
    assert_eq!(edges(&from_json), edges(&from_toml));
    // A second migrate refuses to overwrite.
    mono(&repo.root).arg("migrate").assert().code(2);
}

#[test]
fn a_malformed_git_range_is_an_error() {
    let repo = fixture("polyglot");
    let out = mono(&repo.root)
        .args(["build", "--dry", "--filter=[main...]"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("git range"));
}

#[test]
fn unknown_task_on_the_command_line() {
    let repo = fixture("polyglot");
    let out = mono(&repo.root).args(["biuld", "--dry"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("could not find task `biuld`"), "{stderr}");
    assert!(stderr.contains("did you mean `build`?"), "{stderr}");
}

/// Issue 19: the listing no longer checks that tracked files still exist; the hasher does.
/// A tracked file deleted from the work tree is no input, and the hash is the one of the
/// commit that deletes it.
#[test]
fn a_deleted_tracked_file_is_no_input_and_hashes_as_if_removed() {
    let fx = fixture("node-only");
    let task = |plan: &serde_json::Value| {
        plan["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["taskId"] == "@repo/utils#build")
            .cloned()
            .unwrap()
    };
    let before = task(&dry_json(&fx.root, &["build"]));
    assert!(before["inputs"]
        .as_object()
        .unwrap()
        .contains_key("packages/utils/test/index.test.mjs"));
    std::fs::remove_file(fx.root.join("packages/utils/test/index.test.mjs")).unwrap();
    let deleted = task(&dry_json(&fx.root, &["build"]));
    assert!(!deleted["inputs"]
        .as_object()
        .unwrap()
        .contains_key("packages/utils/test/index.test.mjs"));
    assert_ne!(deleted["hash"], before["hash"]);
    common::git(
        &fx.root,
        &["rm", "-q", "--cached", "packages/utils/test/index.test.mjs"],
    );
    let removed = task(&dry_json(&fx.root, &["build"]));
    assert_eq!(removed["hash"], deleted["hash"]);
    assert_eq!(removed["inputs"], deleted["inputs"]);
}
