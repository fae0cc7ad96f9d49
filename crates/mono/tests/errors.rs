//! Every error fixture: `mono build --dry` (or the task that reaches the broken entry) exits 2,
//! runs nothing, and reports what, where (file:line:col) and how to fix it. The whole report
//! is pinned as a snapshot.

mod common;

use common::{fixture, mono};

/// Runs `mono <task> --dry` in `fixtures/errors/<case>` and returns stderr.
fn report(case: &str, task: &str) -> String {
    let repo = fixture(&format!("errors/{case}"));
    let out = mono(&repo.root).args([task, "--dry"]).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{case}: expected exit 2, stderr:\n{stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "{case}: printed a plan despite the error"
    );
    stderr
}

fn check(case: &str, must_contain: &[&str]) {
    check_task(case, "build", must_contain);
}

/// [`check`] with the task whose run reaches the error: broken `dependsOn` entries are
/// checked when a run reaches them (docs/config.md).
fn check_task(case: &str, task: &str, must_contain: &[&str]) {
    let stderr = report(case, task);
    for needle in must_contain {
        assert!(
            stderr.contains(needle),
            "{case}: `{needle}` missing from:\n{stderr}"
        );
    }
    insta::assert_snapshot!(case, stderr);
}

#[test]
fn unknown_key() {
    check(
        "unknown-key",
        &[
            "unknown key `output` in task `build`",
            "turbo.toml:4:1",
            "did you mean `outputs`?",
        ],
    );
}

#[test]
fn unknown_key_json() {
    check(
        "unknown-key-json",
        &[
            "unknown key `dependOn`",
            "turbo.json:6:7",
            "did you mean `dependsOn`?",
        ],
    );
}

#[test]
fn wrong_type() {
    check(
        "wrong-type",
        &[
            "`dependsOn` must be an array of strings, found a string",
            "turbo.toml:5:13",
            "dependsOn = [\"build\"]",
        ],
    );
}

#[test]
fn unknown_task() {
    check_task(
        "unknown-task",
        "test",
        &["depends on task `compile`", "turbo.toml:5:23"],
    );
    // A run that does not reach the entry only warns.
    let repo = fixture("errors/unknown-task");
    let out = mono(&repo.root).args(["build", "--dry"]).output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("turbo.toml:5:23: `test` depends on task `compile`, which no config defines (ignored while no run reaches it)"),
        "{stderr}"
    );
}

#[test]
fn unknown_package() {
    check("unknown-package", &["package `nope`", "turbo.toml:2:24"]);
}

#[test]
fn persistent_dependency() {
    check_task(
        "persistent-dependency",
        "start",
        &[
            "`a#dev` is a persistent task; `a#start` cannot depend on it",
            "turbo.toml:9:23",
        ],
    );
}

#[test]
fn duplicate_package() {
    check(
        "duplicate-package",
        &["packages/a/package.json", "packages/a-copy/package.json"],
    );
}

#[test]
fn package_cycle() {
    check("package-cycle", &["a -> b -> a"]);
}

#[test]
fn task_cycle() {
    check("task-cycle", &["a#build -> a#test -> a#build"]);
}

#[test]
fn bad_json() {
    check("bad-json", &["syntax error", "turbo.json:7:"]);
}

#[test]
fn bad_toml() {
    check("bad-toml", &["syntax error", "turbo.toml:3:"]);
}

/// A fresh repository in a temporary folder with `files`, for inputs too large or odd to
/// keep as fixtures.
fn scratch(files: &[(&str, String)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        std::fs::write(dir.path().join(path), text).unwrap();
    }
    common::git(dir.path(), &["init", "-q", "-b", "main"]);
    dir
}

/// Issue 16: a diagnostic past column 65,535 (a minified turbo.json over 64 KiB) panicked
/// inside miette (exit 101). The line is cut around the span; the position is the real one.
#[test]
fn a_diagnostic_far_along_a_minified_line_is_reported_not_a_panic() {
    let text = format!(
        "{{\"$schema\":\"{}\",\"tasks\":{{\"build\":{{\"outputz\":[]}}}}}}",
        "x".repeat(70_000)
    );
    let column = text.find("\"outputz\"").unwrap() + 1;
    let repo = scratch(&[
        ("turbo.json", text),
        ("package.json", r#"{"name": "root"}"#.to_owned()),
    ]);
    let out = mono(repo.path()).args(["build", "--dry"]).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unknown key `outputz`"), "{stderr}");
    assert!(
        stderr.contains(&format!("turbo.json:1:{column}")),
        "{stderr}"
    );
    assert!(stderr.lines().all(|line| line.len() < 1000), "{stderr}");
}

#[test]
fn an_oversized_config_or_manifest_is_a_clear_error() {
    let big = format!("{{\"tasks\":{{}},\"x\":\"{}\"}}", "x".repeat(2 << 20));
    let repo = scratch(&[
        ("turbo.json", big),
        ("package.json", r#"{"name": "root"}"#.to_owned()),
    ]);
    let out = mono(repo.path()).args(["build", "--dry"]).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("a config file may be at most 1048576 bytes"),
        "{stderr}"
    );
    let repo = scratch(&[(
        "package.json",
        format!(
            "{{\"name\":\"root\",\"description\":\"{}\"}}",
            "x".repeat(10 << 20)
        ),
    )]);
    let out = mono(repo.path()).arg("ls").output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("package.json is larger than 4194304 bytes"),
        "{stderr}"
    );
}
