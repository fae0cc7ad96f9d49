//! Miss reasons (docs/why.md): the line printed at each miss names exactly the one cause
//! changed, `mono why` explains a task and compares two entries, `mono summary diff`
//! compares two run summaries. The real binary on the node-only fixture, with real builds.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{fixture, git, mono, report_words, Fixture};
use serde_json::Value;

/// The node-only fixture configured by turbo.toml, with `web` depending on an external
/// package, `left-pad@1.0.0`, as its lockfile resolves it.
fn repo() -> Fixture {
    let fx = fixture("node-only");
    std::fs::remove_file(fx.root.join("turbo.json")).unwrap();
    let web = fx.root.join("apps/web/package.json");
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(&web).unwrap()).unwrap();
    manifest["dependencies"]["left-pad"] = "^1.0.0".into();
    std::fs::write(&web, serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
    let lock = fx.root.join("package-lock.json");
    let mut lockfile: Value =
        serde_json::from_str(&std::fs::read_to_string(&lock).unwrap()).unwrap();
    lockfile["packages"]["apps/web"]["dependencies"]["left-pad"] = "^1.0.0".into();
    lockfile["packages"]["node_modules/left-pad"] = serde_json::json!({
        "version": "1.0.0",
        "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.0.0.tgz",
        "integrity": "sha512-AAAA"
    });
    std::fs::write(&lock, serde_json::to_string_pretty(&lockfile).unwrap()).unwrap();
    git(
        &fx.root,
        &["commit", "-qam", "web uses left-pad; turbo.toml only"],
    );
    fx
}

struct Out {
    stdout: String,
    stderr: String,
}

fn run(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut cmd = mono(root);
    cmd.args(args).env_remove("WEB_API_URL");
    for (name, value) in env {
        cmd.env(name, value);
    }
    let out = cmd.output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.success(),
        "mono {args:?} failed:\n{stdout}\n{stderr}"
    );
    Out { stdout, stderr }
}

/// `package:task` → the reason of each `<package:task>: miss: <reason>` line.
fn miss_lines(stdout: &str) -> BTreeMap<String, String> {
    stdout
        .lines()
        .filter_map(|line| {
            let (task, reason) = line.split_once(": miss: ")?;
            Some((task.to_owned(), reason.to_owned()))
        })
        .collect()
}

fn expect(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(t, r)| ((*t).to_owned(), (*r).to_owned()))
        .collect()
}

fn edit(root: &Path, path: &str, from: &str, to: &str) {
    let file = root.join(path);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains(from), "{path} has no `{from}`");
    std::fs::write(&file, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn each_miss_line_names_exactly_the_cause_that_changed() {
    let fx = repo();
    let root = &fx.root;
    let build = ["build"];

    // Nothing recorded yet: every task's first run.
    let first = run(root, &build, &[]);
    let lines = miss_lines(&first.stdout);
    assert_eq!(lines.len(), 4, "{}", first.stdout);
    assert!(
        lines.values().all(|r| r == "first run of this task"),
        "{lines:?}"
    );
    // A hit says nothing.
    let again = run(root, &build, &[]);
    assert!(miss_lines(&again.stdout).is_empty(), "{}", again.stdout);

    // A file of the package.
    edit(root, "apps/web/src/content.mjs", "Talks to", "Speaks to");
    let out = run(root, &build, &[]);
    assert_eq!(
        miss_lines(&out.stdout),
        expect(&[("web:build", "src/content.mjs changed")]),
        "{}",
        out.stdout
    );

    // An env var of the task: set where it was unset, then another value.
    let out = run(root, &build, &[("WEB_API_URL", "https://a.example")]);
    assert_eq!(
        miss_lines(&out.stdout),
        expect(&[("web:build", "$WEB_API_URL added")])
    );
    let out = run(root, &build, &[("WEB_API_URL", "https://b.example")]);
    assert_eq!(
        miss_lines(&out.stdout),
        expect(&[("web:build", "$WEB_API_URL changed")])
    );
    // Back to a value seen before: an older entry, restored, explains nothing.
    let out = run(root, &build, &[("WEB_API_URL", "https://a.example")]);
    assert!(miss_lines(&out.stdout).is_empty(), "{}", out.stdout);

    // A dependency's source: it misses for its file, its dependents for it.
    edit(root, "packages/ui/src/index.mjs", "<", "< ");
    let out = run(root, &build, &[("WEB_API_URL", "https://a.example")]);
    assert_eq!(
        miss_lines(&out.stdout),
        expect(&[
            ("@repo/ui:build", "src/index.mjs changed"),
            ("docs:build", "@repo/ui#build changed"),
            ("web:build", "@repo/ui#build changed"),
        ]),
        "{}",
        out.stdout
    );

    // An external dependency, in the lockfile alone.
    edit(root, "package-lock.json", "\"1.0.0\"", "\"1.1.0\"");
    let out = run(root, &build, &[("WEB_API_URL", "https://a.example")]);
    assert_eq!(
        miss_lines(&out.stdout),
        expect(&[(
            "web:build",
            "external dependency left-pad changed (1.0.0 → 1.1.0)"
        )]),
        "{}",
        out.stdout
    );

    // The arguments after `--`, given to the task named (not to its dependencies).
    let out = run(
        root,
        &["run", "web#build", "--", "--flag"],
        &[("WEB_API_URL", "https://a.example")],
    );
    assert_eq!(
        miss_lines(&out.stdout),
        expect(&[("web:build", "CLI arguments changed")]),
        "{}",
        out.stdout
    );
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
}

#[test]
fn the_miss_line_follows_output_logs_and_many_causes_are_capped() {
    let fx = repo();
    let root = &fx.root;
    run(root, &["build"], &[]);
    let extra = |n: usize, text: &str| {
        std::fs::write(root.join(format!("apps/web/src/extra{n}.mjs")), text).unwrap();
    };
    for (n, mode) in ["errors-only", "none"].iter().enumerate() {
        extra(0, &n.to_string());
        let out = run(root, &["build", &format!("--output-logs={mode}")], &[]);
        assert!(miss_lines(&out.stdout).is_empty(), "{mode}: {}", out.stdout);
    }
    extra(0, "shown");
    let shown = run(root, &["build", "--output-logs=hash-only"], &[]);
    assert_eq!(
        miss_lines(&shown.stdout),
        expect(&[("web:build", "src/extra0.mjs changed")])
    );
    // --force: a bypass, not a miss.
    extra(0, "forced");
    let forced = run(root, &["build", "--force"], &[]);
    assert!(miss_lines(&forced.stdout).is_empty(), "{}", forced.stdout);
    // More than three causes: three, then how many more.
    for n in 0..5 {
        extra(n, "many");
    }
    let many = run(root, &["build"], &[]);
    assert_eq!(
        miss_lines(&many.stdout),
        expect(&[(
            "web:build",
            "src/extra0.mjs changed, src/extra1.mjs added, src/extra2.mjs added and 2 more"
        )])
    );
}

fn files_named(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_named(&path, suffix));
        } else if path.to_string_lossy().ends_with(suffix) {
            found.push(path);
        }
    }
    found
}

#[test]
fn entries_without_a_manifest_still_hit_and_say_so_when_they_differ() {
    let fx = repo();
    let root = &fx.root;
    run(root, &["build"], &[]);
    let manifests = files_named(&root.join("cache"), ".manifest.zst");
    assert_eq!(manifests.len(), 4, "{manifests:?}");
    for manifest in &manifests {
        std::fs::remove_file(manifest).unwrap();
    }
    // Entries of a mono without manifests: still hits (restored, not only warm).
    std::fs::remove_dir_all(root.join("apps/web/dist")).unwrap();
    let out = run(root, &["build"], &[]);
    assert!(out.stdout.contains("4 cached, 4 total"), "{}", out.stdout);
    edit(root, "apps/web/src/content.mjs", "Talks to", "Speaks to");
    let out = run(root, &["build"], &[]);
    let lines = miss_lines(&out.stdout);
    assert!(
        lines["web:build"].starts_with("the earlier entry ")
            && lines["web:build"].contains("has no input manifest"),
        "{lines:?}"
    );
}

#[test]
fn a_bad_index_is_a_warning_and_the_run_goes_on() {
    let fx = repo();
    let root = &fx.root;
    run(root, &["build"], &[]);
    for index in files_named(&root.join("cache"), ".json")
        .into_iter()
        .filter(|p| p.parent().is_some_and(|d| d.ends_with("index")))
    {
        std::fs::write(index, "{ not json").unwrap();
    }
    edit(root, "apps/web/src/content.mjs", "Talks to", "Speaks to");
    let out = run(root, &["build"], &[]);
    assert_eq!(
        miss_lines(&out.stdout),
        expect(&[("web:build", "first run of this task")])
    );
    let words = report_words(&out.stderr);
    assert!(
        words.contains("the recent-entries index of web#build")
            && words.contains("treating it as absent"),
        "{}",
        out.stderr
    );
    // Replaced by the store that followed: the next miss is explained again.
    edit(root, "apps/web/src/content.mjs", "Speaks to", "Sings to");
    let out = run(root, &["build"], &[]);
    assert_eq!(
        miss_lines(&out.stdout),
        expect(&[("web:build", "src/content.mjs changed")])
    );
}

fn mono_json(root: &Path, args: &[&str]) -> Value {
    let out = run(root, args, &[]);
    serde_json::from_str(&out.stdout).unwrap()
}

#[test]
fn why_explains_a_task_and_compares_two_entries() {
    let fx = repo();
    let root = &fx.root;
    run(root, &["build"], &[]);
    let before = mono_json(root, &["why", "web#build", "--json"]);
    assert_eq!(before["version"], 1);
    assert_eq!(before["taskId"], "web#build");
    assert_eq!(before["cache"]["local"], true);
    assert_eq!(before["explanation"]["kind"], "noEarlier");
    let manifest = &before["manifest"];
    assert_eq!(manifest["hash"], before["hash"]);
    assert!(manifest["files"]["apps/web/src/content.mjs"].is_string());
    assert_eq!(manifest["external"]["kind"], "packages");
    let deps: Vec<&str> = manifest["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["taskId"].as_str().unwrap())
        .collect();
    // Tasks without a command are in the graph too (their hashes cover their inputs).
    assert_eq!(
        deps,
        [
            "@repo/config#build",
            "@repo/tsconfig#build",
            "@repo/ui#build",
            "@repo/utils#build"
        ]
    );

    edit(root, "apps/web/src/content.mjs", "Talks to", "Speaks to");
    let now = mono_json(root, &["why", "web#build", "--json"]);
    assert_eq!(now["cache"]["local"], false);
    assert_eq!(now["explanation"]["kind"], "changed");
    assert_eq!(now["explanation"]["earlier"]["hash"], before["hash"]);
    assert_eq!(now["explanation"]["earlier"]["source"], "local");
    assert_eq!(
        now["explanation"]["causes"],
        serde_json::json!([{ "kind": "file", "path": "src/content.mjs", "change": "changed" }])
    );
    let text = run(root, &["why", "web#build"], &[]).stdout;
    assert!(text.contains("not in the cache (a miss)"), "{text}");
    assert!(text.contains("src/content.mjs changed"), "{text}");
    assert!(text.contains("apps/web/src/content.mjs"), "{text}");
    // Arguments after `--` are part of the hash `why` explains.
    let args = mono_json(root, &["why", "web#build", "--json", "--", "--flag"]);
    assert_eq!(
        args["manifest"]["cliArguments"],
        serde_json::json!(["--flag"])
    );
    assert_ne!(args["hash"], now["hash"]);

    // Run it, then compare the two entries.
    run(root, &["build"], &[]);
    let (a, b) = (
        before["hash"].as_str().unwrap(),
        now["hash"].as_str().unwrap(),
    );
    let compared = mono_json(root, &["why", "--hash", a, "--hash", b, "--json"]);
    assert_eq!(compared["a"]["taskId"], "web#build");
    assert_eq!(compared["b"]["hash"], b);
    assert_eq!(
        compared["causes"],
        serde_json::json!([{ "kind": "file", "path": "src/content.mjs", "change": "changed" }])
    );
    let text = run(root, &["why", "--hash", a, "--hash", b], &[]).stdout;
    assert!(
        text.contains("from A to B:\n  src/content.mjs changed"),
        "{text}"
    );
}

fn fails(root: &Path, args: &[&str]) -> String {
    let out = mono(root).args(args).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "mono {args:?} should fail with 2"
    );
    report_words(&String::from_utf8_lossy(&out.stderr))
}

#[test]
fn why_errors_say_what_and_where() {
    let fx = repo();
    let root = &fx.root;
    run(root, &["build"], &[]);
    // A task the repository does not have: the task graph says so, as for a run.
    let words = fails(root, &["why", "web#biuld"]);
    assert!(words.contains("could not find task `web#biuld`"), "{words}");
    // A task without its package.
    let words = fails(root, &["why", "build"]);
    assert!(
        words.contains("there is no task `build` in this run"),
        "{words}"
    );
    assert!(words.contains("give it as package#task"), "{words}");
    let words = fails(root, &["why", "--hash", "abc", "--hash", "def"]);
    assert!(words.contains("`abc` is not a task hash"), "{words}");
    let unknown = "0".repeat(64);
    let words = fails(root, &["why", "--hash", &unknown, "--hash", &unknown]);
    assert!(
        words.contains(&format!("no cache entry has hash {unknown} (looked in")),
        "{words}"
    );
    assert!(words.contains("cache/v2"), "{words}");
    let words = fails(root, &["why", "--hash", &unknown]);
    assert!(words.contains("compares two entries; 1 given"), "{words}");
    // An entry stored without a manifest.
    let hash = mono_json(root, &["why", "web#build", "--json"])["hash"]
        .as_str()
        .unwrap()
        .to_owned();
    std::fs::remove_file(root.join(format!("cache/v2/{hash}.manifest.zst"))).unwrap();
    let words = fails(root, &["why", "--hash", &hash, "--hash", &hash]);
    assert!(
        words.contains(&format!("the cache entry {hash} has no input manifest")),
        "{words}"
    );
}

fn summary_files(root: &Path) -> Vec<PathBuf> {
    let mut files = files_named(&root.join(".turbo/runs"), ".json");
    files.sort();
    files
}

#[test]
fn summaries_carry_miss_reasons_and_diff_says_what_changed() {
    let fx = repo();
    let root = &fx.root;
    run(root, &["build", "--summarize"], &[]);
    edit(root, "apps/web/src/content.mjs", "Talks to", "Speaks to");
    run(root, &["build", "--summarize"], &[]);
    let files = summary_files(root);
    assert_eq!(files.len(), 2);
    let second: Value = serde_json::from_str(&std::fs::read_to_string(&files[1]).unwrap()).unwrap();
    let tasks: BTreeMap<&str, &Value> = second["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["taskId"].as_str().unwrap(), t))
        .collect();
    assert_eq!(tasks["web#build"]["missReason"]["kind"], "changed");
    assert_eq!(
        tasks["web#build"]["missReason"]["text"],
        "src/content.mjs changed"
    );
    assert!(tasks["@repo/ui#build"]["missReason"].is_null());

    let (a, b) = (files[0].to_str().unwrap(), files[1].to_str().unwrap());
    let diff = mono_json(root, &["summary", "diff", a, b, "--json"]);
    assert_eq!(diff["version"], 1);
    assert_eq!(diff["added"], serde_json::json!([]));
    assert_eq!(diff["globalChanged"], false);
    let changed: BTreeMap<&str, &Value> = diff["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["taskId"].as_str().unwrap(), t))
        .collect();
    let web = changed["web#build"];
    assert_eq!(web["reason"], "src/content.mjs changed");
    assert!(web["hash"]["a"] != web["hash"]["b"]);
    let ui = changed["@repo/ui#build"];
    assert!(ui["hash"].is_null());
    assert_eq!(ui["cache"], serde_json::json!({ "a": "MISS", "b": "HIT" }));
    let text = run(root, &["summary", "diff", a, b], &[]).stdout;
    assert!(text.contains("~ web#build: hash "), "{text}");
    assert!(text.contains("(src/content.mjs changed)"), "{text}");
    assert!(
        text.contains("~ @repo/ui#build: cache MISS → HIT"),
        "{text}"
    );

    // A task only in one run.
    run(root, &["build", "--summarize", "--filter=@repo/utils"], &[]);
    let files = summary_files(root);
    let only = mono_json(
        root,
        &["summary", "diff", b, files[2].to_str().unwrap(), "--json"],
    );
    assert_eq!(
        only["removed"],
        serde_json::json!([
            "@repo/config#build",
            "@repo/ui#build",
            "docs#build",
            "web#build"
        ])
    );

    std::fs::write(root.join("not-a-summary.json"), "[1, 2]").unwrap();
    let words = fails(root, &["summary", "diff", a, "not-a-summary.json"]);
    assert!(
        words.contains("not-a-summary.json is not a run summary"),
        "{words}"
    );
}
