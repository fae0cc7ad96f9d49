//! `--summarize`: the run summary file, checked against docs/run-summary.schema.json's
//! required fields and against what the run did.

mod common;

use common::{fixture, mono};
use serde_json::Value;

fn schema() -> Value {
    let path = common::fixtures_dir().join("../docs/run-summary.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every key the schema requires at `schema` is in `doc`, recursively through objects and
/// array items.
fn check_required(schema: &Value, doc: &Value, at: &str) {
    if doc.is_null() {
        return;
    }
    for key in schema["required"].as_array().into_iter().flatten() {
        let key = key.as_str().unwrap();
        assert!(doc.get(key).is_some(), "{at}: `{key}` is missing");
    }
    for (key, sub) in schema["properties"].as_object().into_iter().flatten() {
        if let Some(value) = doc.get(key) {
            check_required(sub, value, &format!("{at}.{key}"));
        }
    }
    if let (Some(items), Some(values)) = (schema.get("items"), doc.as_array()) {
        for (i, value) in values.iter().enumerate() {
            check_required(items, value, &format!("{at}[{i}]"));
        }
    }
}

fn summaries(root: &std::path::Path) -> Vec<Value> {
    let dir = root.join(".turbo/runs");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
        .collect()
}

#[test]
fn summaries_follow_the_schema_and_say_what_ran() {
    let repo = fixture("node-only");
    let schema = schema();
    let out = mono(&repo.root)
        .args(["build", "--summarize", "--filter=web..."])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Summary:"));
    let out = mono(&repo.root)
        .args(["build", "--summarize", "--filter=web..."])
        .output()
        .unwrap();
    assert!(out.status.success());

    let runs = summaries(&repo.root);
    assert_eq!(runs.len(), 2);
    for run in &runs {
        check_required(&schema, run, "summary");
    }
    let (cold, warm) = (&runs[0], &runs[1]);
    assert_eq!(cold["execution"]["exitCode"], 0);
    assert_eq!(cold["execution"]["cached"], 0);
    assert_eq!(
        cold["execution"]["attempted"], cold["execution"]["success"],
        "{}",
        cold["execution"]
    );
    assert_eq!(warm["execution"]["cached"], warm["execution"]["attempted"]);
    assert!(warm["execution"]["command"]
        .as_str()
        .unwrap()
        .starts_with("mono build --summarize"));
    let web = |run: &Value| -> Value {
        run["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["taskId"] == "web#build")
            .unwrap()
            .clone()
    };
    assert_eq!(web(cold)["cache"]["status"], "MISS");
    assert_eq!(web(warm)["cache"]["status"], "HIT");
    assert_eq!(web(cold)["hash"], web(warm)["hash"]);
    let execution = &web(cold)["execution"];
    assert_eq!(execution["exitCode"], 0);
    assert!(execution["endTime"].as_u64() >= execution["startTime"].as_u64());
}

#[test]
fn a_failed_run_summary_names_the_failure() {
    let repo = fixture("node-only");
    let manifest = repo.root.join("packages/utils/package.json");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("\"build\": \"", "\"build\": \"exit 3 && ");
    std::fs::write(&manifest, text).unwrap();
    let out = mono(&repo.root)
        .args(["build", "--summarize"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let run = &summaries(&repo.root)[0];
    check_required(&schema(), run, "summary");
    assert_eq!(run["execution"]["exitCode"], 1);
    assert_eq!(run["execution"]["failed"], 1);
    let utils = run["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["taskId"] == "@repo/utils#build")
        .unwrap();
    assert_eq!(utils["execution"]["exitCode"], 3);
}
