//! Turborepo's command line, as real package.json scripts write it, on the node-only
//! fixture with its turbo.json (docs/turbo-compat.md).

mod common;

use common::{dry_json, fixture, mono, Fixture};
use serde_json::Value;

/// The node-only fixture configured by turbo.json alone.
fn turbo_json_repo() -> Fixture {
    let repo = fixture("node-only");
    std::fs::remove_file(repo.root.join("turbo.toml")).unwrap();
    common::git(&repo.root, &["commit", "-qam", "turbo.json only"]);
    repo
}

fn run(repo: &Fixture, args: &[&str]) -> (Option<i32>, String, String) {
    let out = mono(&repo.root).args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"))
}

fn task<'a>(plan: &'a Value, id: &str) -> &'a Value {
    plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["taskId"] == id)
        .unwrap_or_else(|| panic!("no {id} in the plan"))
}

#[test]
fn run_flags_may_come_before_the_task_and_dry_takes_a_spaced_format() {
    let repo = turbo_json_repo();
    let (code, stdout, stderr) = run(&repo, &["-F", "web", "build", "--dry", "json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let plan = json(&stdout);
    assert!(task(&plan, "web#build")["hash"].is_string());
    assert_eq!(plan["packages"], serde_json::json!(["web"]));

    let (code, stdout, stderr) = run(&repo, &["--dry=json", "--filter=web", "build"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(json(&stdout)["packages"], serde_json::json!(["web"]));

    // `--dry-run` is Turborepo's spelling.
    let (code, stdout, _) = run(&repo, &["run", "build", "--dry-run=json"]);
    assert_eq!(code, Some(0));
    json(&stdout);
}

#[test]
fn arguments_after_double_dash_reach_the_named_tasks_and_their_hashes() {
    let repo = turbo_json_repo();
    let plain = dry_json(&repo.root, &["test", "--filter=web"]);
    let out = mono(&repo.root)
        .args(["test", "--filter=web", "--dry=json", "--", "--watch", "a b"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let with_args = json(&String::from_utf8_lossy(&out.stdout));
    let test = task(&with_args, "web#test");
    assert_eq!(test["cliArguments"], serde_json::json!(["--watch", "a b"]));
    assert_ne!(test["hash"], task(&plain, "web#test")["hash"]);
    // Not the tasks the named one depends on.
    let build = task(&with_args, "web#build");
    assert_eq!(build["cliArguments"], serde_json::json!([]));
    assert_eq!(build["hash"], task(&plain, "web#build")["hash"]);

    // The command gets them, quoted for the shell.
    std::fs::write(
        repo.root.join("apps/web/args.mjs"),
        "console.log('ARGS=' + JSON.stringify(process.argv.slice(2)));\n",
    )
    .unwrap();
    let manifest = repo.root.join("apps/web/package.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace("\"test\": \"node --test\"", "\"test\": \"node args.mjs\""),
    )
    .unwrap();
    let (code, stdout, stderr) = run(&repo, &["test", "--filter=web", "--", "--watch", "a b"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains(r#"ARGS=["--watch","a b"]"#), "{stdout}");
}

/// The fixture with `@repo/ui`'s build failing: web's build depends on it.
fn failing_ui() -> Fixture {
    let repo = turbo_json_repo();
    let manifest = repo.root.join("packages/ui/package.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace("\"build\": \"node build.mjs\"", "\"build\": \"exit 3\""),
    )
    .unwrap();
    repo
}

#[test]
fn continue_modes_are_turbos() {
    // dependencies-successful: web#build, which waits for the failed ui#build, never runs.
    let repo = failing_ui();
    let (code, stdout, _) = run(&repo, &["build", "--continue=dependencies-successful"]);
    assert_eq!(code, Some(1));
    assert!(!stdout.contains("web:build: cache miss"), "{stdout}");
    assert!(stdout.contains("@repo/utils:build: built"), "{stdout}");

    // always (what `--continue` alone means): it runs, and fails for want of ui's output.
    for flag in ["--continue=always", "--continue"] {
        let repo = failing_ui();
        let (code, stdout, _) = run(&repo, &["build", flag]);
        assert_eq!(code, Some(1), "{flag}");
        assert!(
            stdout.contains("web:build: cache miss, executing"),
            "{flag}: {stdout}"
        );
    }

    // never (the default) stops at the first failure.
    let repo = failing_ui();
    let (code, stdout, _) = run(&repo, &["build", "--continue=never", "--concurrency=1"]);
    assert_eq!(code, Some(1));
    assert!(!stdout.contains("web:build: cache miss"), "{stdout}");
}

#[test]
fn log_prefix_none_prints_bare_lines() {
    let repo = turbo_json_repo();
    let (code, stdout, stderr) = run(&repo, &["build", "--filter=web...", "--log-prefix=none"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.lines().any(|l| l == "built web -> dist/index.html"),
        "{stdout}"
    );
    assert!(!stdout.contains("web:build: built"), "{stdout}");
}

#[test]
fn no_cache_reads_but_stores_nothing_and_turbo_force_forces() {
    let repo = turbo_json_repo();
    let (code, _, stderr) = run(&repo, &["build", "--no-cache"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (_, stdout, _) = run(&repo, &["build", "--dry=json"]);
    let plan = json(&stdout);
    assert_eq!(task(&plan, "web#build")["cache"]["status"], "MISS");

    let (code, _, _) = run(&repo, &["build"]);
    assert_eq!(code, Some(0));
    let out = mono(&repo.root)
        .args(["build"])
        .env("TURBO_FORCE", "true")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(" 0 cached, "), "{stdout}");
}

#[test]
fn turbo_json_repositories_keep_mono_state_under_dot_turbo() {
    let repo = turbo_json_repo();
    let (code, _, stderr) = run(&repo, &["build", "--dry"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!repo.root.join("cache").exists());
    assert!(repo.root.join(".turbo/mono").is_dir());
}

#[test]
fn turbos_own_subcommands_never_become_tasks() {
    let repo = turbo_json_repo();
    for word in ["login", "link", "gen", "query", "watch", "boundaries"] {
        let (code, _, stderr) = run(&repo, &[word]);
        assert_eq!(code, Some(2), "{word}: {stderr}");
        assert!(stderr.contains("mono"), "{word}: {stderr}");
    }
    for word in ["telemetry", "daemon"] {
        let (code, _, stderr) = run(&repo, &[word, "status"]);
        assert_eq!(code, Some(0), "{word}: {stderr}");
        assert!(stderr.contains(&format!("`{word}`")), "{stderr}");
    }
}

#[test]
fn accepted_turbo_flags_do_not_break_a_run() {
    let repo = turbo_json_repo();
    let (code, stdout, stderr) = run(
        &repo,
        &[
            "build",
            "--filter=web",
            "--no-daemon",
            "--framework-inference=false",
            "--cache-workers=4",
            "--ui=stream",
            "-v",
            "--no-update-notifier",
            "--global-deps=README.md",
            "--dry=json",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let with_global = json(&stdout);
    let plain = dry_json(&repo.root, &["build", "--filter=web"]);
    // `--global-deps` is hashed: every task's hash moves.
    assert_ne!(with_global["globalHash"], plain["globalHash"]);
}
