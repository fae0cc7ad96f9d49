//! Running tasks on real repositories: hashing, the local cache, failures.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{build, dry_json, fixture, mono};

/// `taskId -> cache.status` of a dry run.
fn statuses(root: &Path, args: &[&str]) -> BTreeMap<String, String> {
    let plan = dry_json(root, args);
    plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["command"] != "<NONEXISTENT>")
        .map(|t| {
            (
                t["taskId"].as_str().unwrap().to_owned(),
                t["cache"]["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// `taskId -> hash` of a dry run, with extra environment variables.
fn hashes_with_env(root: &Path, args: &[&str], env: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut cmd = mono(root);
    cmd.args(args).arg("--dry=json");
    for (name, value) in env {
        cmd.env(name, value);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
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

fn hashes(root: &Path, args: &[&str]) -> BTreeMap<String, String> {
    hashes_with_env(root, args, &[])
}

#[test]
fn second_run_is_all_cache_hits_and_restores_outputs() {
    let repo = fixture("node-only");
    let root = &repo.root;
    let (ok, first) = build(root, &[]);
    assert!(ok, "{first}");
    assert!(
        first.contains("web:build: cache miss, executing"),
        "{first}"
    );
    let page = std::fs::read(root.join("apps/web/dist/index.html")).unwrap();
    assert!(statuses(root, &["build"]).values().all(|s| s == "HIT"));

    let (ok, second) = build(root, &[]);
    assert!(ok, "{second}");
    assert!(
        second.contains("web:build: cache hit, replaying logs"),
        "{second}"
    );
    assert!(second.contains(">>> FULL MONO"), "{second}");
    // The replayed log is the first run's log.
    // Less the status line and, at a miss, the line saying why (docs/why.md).
    let first_web: Vec<&str> = first
        .lines()
        .filter(|l| l.starts_with("web:build: ") && !l.contains("cache"))
        .filter(|l| !l.starts_with("web:build: miss: "))
        .collect();
    let second_web: Vec<&str> = second
        .lines()
        .filter(|l| l.starts_with("web:build: ") && !l.contains("cache"))
        .collect();
    assert_eq!(first_web, second_web);

    // Deleted outputs come back byte for byte.
    std::fs::remove_dir_all(root.join("apps/web/dist")).unwrap();
    let (ok, third) = build(root, &[]);
    assert!(ok, "{third}");
    assert_eq!(
        std::fs::read(root.join("apps/web/dist/index.html")).unwrap(),
        page
    );
}

#[test]
fn a_change_invalidates_the_package_and_its_dependents_only() {
    let repo = fixture("node-only");
    let root = &repo.root;
    assert!(build(root, &[]).0);
    let utils = std::fs::read_dir(root.join("packages/utils/src"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut text = std::fs::read_to_string(&utils).unwrap();
    text.push_str("\n// changed\n");
    std::fs::write(&utils, text).unwrap();
    let missed: Vec<String> = statuses(root, &["build"])
        .into_iter()
        .filter(|(_, s)| s == "MISS")
        .map(|(t, _)| t)
        .collect();
    assert_eq!(
        missed,
        [
            "@repo/ui#build",
            "@repo/utils#build",
            "docs#build",
            "web#build"
        ]
    );
}

#[test]
fn hashed_env_vars_invalidate_and_others_do_not() {
    let repo = fixture("node-only");
    let root = &repo.root;
    let base = hashes(root, &["build"]);
    assert_eq!(
        base,
        hashes_with_env(root, &["build"], &[("SOME_UNLISTED_VAR", "1")])
    );
    let with_url = hashes_with_env(
        root,
        &["build"],
        &[("WEB_API_URL", "https://example.invalid")],
    );
    let changed: Vec<&String> = with_url
        .iter()
        .filter(|(id, hash)| base[*id] != **hash)
        .map(|(id, _)| id)
        .collect();
    assert_eq!(changed, ["web#build"]);
}

#[test]
fn copies_in_different_directories_hash_the_same() {
    let a = fixture("polyglot");
    let b = fixture("polyglot");
    assert_ne!(a.root, b.root);
    let ha = hashes(&a.root, &["build", "test"]);
    assert!(ha.values().all(|h| h.len() == 64));
    assert_eq!(ha, hashes(&b.root, &["build", "test"]));
}

#[test]
fn a_failing_task_fails_the_run_and_is_not_cached() {
    let repo = fixture("node-only");
    let root = &repo.root;
    let manifest = root.join("packages/utils/package.json");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("\"build\": \"", "\"build\": \"exit 3 && ");
    std::fs::write(&manifest, text).unwrap();
    let out = mono(root).arg("build").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("@repo/utils#build failed"), "{stderr}");
    assert_eq!(
        statuses(root, &["build", "--filter=@repo/utils"])["@repo/utils#build"],
        "MISS"
    );
    // Everything depends on utils: with --continue=dependencies-successful, its dependents
    // are still skipped (bare `--continue` is `always`, as in turbo 2.11).
    let out = mono(root)
        .args(["build", "--continue=dependencies-successful"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("web:build: cache"),
        "web depends on utils and must not run: {stdout}"
    );
}

#[test]
fn continue_runs_what_does_not_depend_on_the_failure() {
    let repo = fixture("node-only");
    let root = &repo.root;
    let manifest = root.join("apps/docs/package.json");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("\"build\": \"", "\"build\": \"exit 3 && ");
    std::fs::write(&manifest, text).unwrap();
    // One at a time, docs (failing) and web (independent of docs) in some order: without
    // --continue, nothing starts after the failure; with it, web is built regardless.
    let out = mono(root)
        .args(["build", "--continue", "--concurrency=1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("docs#build failed"));
    assert!(
        root.join("apps/web/dist/index.html").exists(),
        "web was not built despite --continue"
    );
    let statuses = statuses(root, &["build"]);
    assert_eq!(statuses["web#build"], "HIT");
    assert_eq!(statuses["docs#build"], "MISS");
}

#[test]
fn task_output_logs_apply_unless_the_flag_overrides_them() {
    let repo = fixture("node-only");
    let root = &repo.root;
    let config = root.join("turbo.toml");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "[tasks.\"web#build\"]\n",
        "[tasks.\"web#build\"]\noutputLogs = \"hash-only\"\n",
    );
    std::fs::write(&config, text).unwrap();
    let (ok, out) = build(root, &[]);
    assert!(ok, "{out}");
    let web: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("web:build: "))
        .collect();
    assert_eq!(
        web.len(),
        2,
        "hash-only prints only the status line and why it missed: {web:?}"
    );
    assert!(web[0].contains("cache miss, executing"), "{web:?}");
    assert_eq!(web[1], "web:build: miss: first run of this task", "{web:?}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("docs:build: ") && !l.contains("cache")),
        "{out}"
    );

    let (ok, out) = build(root, &["--output-logs=full"]);
    assert!(ok, "{out}");
    let web: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("web:build: "))
        .collect();
    assert!(
        web.len() > 1,
        "--output-logs=full replays web's log too: {web:?}"
    );
}

#[test]
fn polyglot_builds_with_real_toolchains_then_comes_from_the_cache() {
    let repo = fixture("polyglot");
    let root = &repo.root;
    let target = root.parent().unwrap().join("cargo-target");
    let run = |args: &[&str]| {
        let out = mono(root)
            .args(args)
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "mono {args:?} failed:\n{text}");
        text
    };
    let first = run(&["build"]);
    for task in [
        "polyglot-server:build",
        "api:build",
        "shared:build",
        "@polyglot/web:build",
        "infra:build",
    ] {
        assert!(
            first.contains(&format!("{task}: cache miss, executing")),
            "{task}:\n{first}"
        );
    }
    let outputs = [
        "services/api/bin/api",
        "apps/web/dist/index.html",
        "infra/out/deploy.yaml",
    ];
    let before: Vec<Vec<u8>> = outputs
        .iter()
        .map(|o| std::fs::read(root.join(o)).unwrap())
        .collect();

    let second = run(&["build"]);
    assert!(
        second.contains("8 cached, 8 total") && second.contains(">>> FULL MONO"),
        "{second}"
    );

    for dir in ["services/api/bin", "apps/web/dist", "infra/out"] {
        std::fs::remove_dir_all(root.join(dir)).unwrap();
    }
    let third = run(&["build"]);
    assert!(third.contains("8 cached, 8 total"), "{third}");
    let after: Vec<Vec<u8>> = outputs
        .iter()
        .map(|o| std::fs::read(root.join(o)).unwrap())
        .collect();
    assert_eq!(before, after, "restored outputs differ");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(root.join("services/api/bin/api"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "the Go binary is restored executable");

    // Tests of every language run, after their builds (all cached).
    let tests = run(&["test"]);
    for task in [
        "polyglot-core:test",
        "shared:test",
        "api:test",
        "@polyglot/ui:test",
    ] {
        assert!(
            tests.contains(&format!("{task}: cache miss, executing")),
            "{task}:\n{tests}"
        );
    }
}

#[test]
fn strict_env_mode_passes_only_listed_variables() {
    let (_dir, root) = common::svc_repo(
        "workspaces = [\"svc\"]\n[tasks.show]\ncache = false\nenv = [\"LISTED_*\"]\npassThroughEnv = [\"PASSED\"]\n",
    );
    std::fs::write(
        root.join("svc/turbo.toml"),
        "name = \"svc\"\n[tasks.show]\ncommand = 'echo \"listed=$LISTED_ONE passed=$PASSED other=$OTHER path=${PATH:+set}\"'\n",
    )
    .unwrap();
    common::git(&root, &["init", "-q", "-b", "main"]);
    let show = |mode: &str| {
        let out = mono(&root)
            .args(["show", &format!("--env-mode={mode}")])
            .env("LISTED_ONE", "1")
            .env("PASSED", "2")
            .env("OTHER", "3")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        stdout
            .lines()
            .find(|l| l.starts_with("svc:show: listed="))
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        show("strict"),
        "svc:show: listed=1 passed=2 other= path=set"
    );
    assert_eq!(
        show("loose"),
        "svc:show: listed=1 passed=2 other=3 path=set"
    );
}

#[test]
fn root_tasks_hit_the_cache_and_the_cache_is_never_an_input() {
    let repo = fixture("node-only");
    let root = &repo.root;
    let (ok, first) = {
        let out = mono(root).arg("lint").output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    assert!(ok, "{first}");
    assert!(first.contains("//:lint: cache miss, executing"), "{first}");
    let plan = dry_json(root, &["lint"]);
    let lint = plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["taskId"] == "//#lint")
        .unwrap();
    assert!(
        lint["inputs"]
            .as_object()
            .unwrap()
            .keys()
            .all(|k| !k.starts_with("cache/")),
        "{}",
        lint["inputs"]
    );
    assert_eq!(lint["cache"]["status"], "HIT");
    let out = mono(root).arg("lint").output().unwrap();
    let second = String::from_utf8_lossy(&out.stdout);
    assert!(
        second.contains("//:lint: cache hit, replaying logs"),
        "{second}"
    );
}

#[test]
fn only_hashes_like_a_full_run() {
    let repo = fixture("node-only");
    let root = &repo.root;
    let full = hashes(root, &["build"]);
    let only = hashes(root, &["build", "--only", "--filter=web"]);
    assert_eq!(only.len(), 1);
    assert_eq!(only["web#build"], full["web#build"]);
    // A dependency's change reaches the --only task's hash too.
    let utils = root.join("packages/utils/package.json");
    let text = std::fs::read_to_string(&utils)
        .unwrap()
        .replace("\"version\"", "\"description\": \"changed\", \"version\"");
    std::fs::write(&utils, text).unwrap();
    assert_ne!(
        hashes(root, &["build", "--only", "--filter=web"])["web#build"],
        full["web#build"]
    );
}

#[test]
fn reads_off_is_a_bypass_and_still_stores() {
    let repo = fixture("node-only");
    let root = &repo.root;
    assert!(build(root, &[]).0);
    let (ok, forced) = build(root, &["--force"]);
    assert!(ok, "{forced}");
    assert!(
        forced.contains("web:build: cache bypass, force executing"),
        "{forced}"
    );
    let (ok, hash_only) = build(root, &["--output-logs=hash-only"]);
    assert!(ok);
    assert!(
        hash_only.contains("web:build: cache hit, suppressing logs"),
        "{hash_only}"
    );
    let (ok, _) = build(root, &["--cache=local:r,remote:rw", "--log-order=auto"]);
    assert!(ok);
}
