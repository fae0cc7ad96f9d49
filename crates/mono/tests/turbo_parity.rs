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

fn turbo_dry_json(turbo: &Path, root: &Path, args: &[&str]) -> Value {
    let output = Command::new(turbo)
        .arg("run")
        .args(args)
        .arg("--dry=json")
        .current_dir(root)
        .env("TURBO_TELEMETRY_DISABLED", "1")
        .env("DO_NOT_TRACK", "1")
        .env("TURBO_NO_UPDATE_NOTIFIER", "1")
        .env("TURBO_PRINT_VERSION_DISABLED", "1")
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
