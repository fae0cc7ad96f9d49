//! A run split across CI machines (docs/ci.md): `mono ci plan` and `mono build --shard i/N`
//! on a generated repository whose tasks sleep known times, four clones against one Garage
//! on loopback, as four CI machines would be.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::garage::Garage;
use serde_json::Value;

/// The shared cache the shards use: Garage (S3) or `mono-cache-server` (the Turborepo HTTP
/// API).
enum Remote {
    Garage(Garage),
    Server { child: Child, url: String },
}

impl Remote {
    fn garage() -> Remote {
        Remote::Garage(Garage::start())
    }

    fn cache_server(dir: &Path) -> Remote {
        let bin = assert_cmd::cargo::cargo_bin("mono").with_file_name("mono-cache-server");
        if !bin.exists() {
            let status = Command::new(env!("CARGO"))
                .args(["build", "-p", "mono-cache-server"])
                .status()
                .unwrap();
            assert!(status.success(), "cannot build mono-cache-server");
        }
        let mut child = Command::new(bin)
            .args(["--listen", "127.0.0.1:0", "--token", "shards"])
            .arg("--dir")
            .arg(dir.join("server-store"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let addr = common::server_address(&mut child);
        Remote::Server {
            child,
            url: format!("http://{addr}"),
        }
    }

    fn url(&self, prefix: &str) -> String {
        match self {
            Remote::Garage(garage) => garage.url(prefix),
            // One server per test: the prefix is not needed.
            Remote::Server { url, .. } => url.clone(),
        }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        match self {
            Remote::Garage(garage) => garage.aws_env(),
            Remote::Server { .. } => vec![("TURBO_TOKEN", "shards".to_owned())],
        }
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        if let Remote::Server { child, .. } = self {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The generated repository: package, seconds its build sleeps, dependencies. Three chains
/// (a, b, c) that `app` joins, leaves under `core` and `a1`, and two lone packages.
const PACKAGES: &[(&str, f64, &[&str])] = &[
    ("core", 0.6, &[]),
    ("a1", 0.5, &["core"]),
    ("a2", 0.7, &["a1"]),
    ("a3", 0.4, &["a2"]),
    ("b1", 0.8, &["core"]),
    ("b2", 0.3, &["b1"]),
    ("c1", 0.9, &[]),
    ("c2", 0.5, &["c1"]),
    ("c3", 0.6, &["c2"]),
    ("l1", 0.2, &["core"]),
    ("l2", 0.3, &["core"]),
    ("l3", 0.4, &["a1"]),
    ("l4", 0.5, &["a1"]),
    ("l5", 0.6, &["core"]),
    ("l6", 0.3, &["b1"]),
    ("app", 0.3, &["a3", "b2", "c3"]),
    ("solo1", 1.0, &[]),
    ("solo2", 0.8, &[]),
];

/// The build of every package: logs its name (outside the repository) when it starts,
/// sleeps, then writes its result from its dependencies' results, which fails when one of
/// them is missing. `VICTIM` names a package whose build hangs (a machine that dies).
const BUILD_SH: &str = r#"#!/bin/sh
set -e
name=$1; secs=$2; shift 2
echo "$name" >> "$SHARD_LOG"
if [ "$VICTIM" = "$name" ]; then sleep 120; fi
sleep "$secs"
mkdir -p out
{
  echo "$name built for $BUILD_ID"
  for dep in "$@"; do cat "../$dep/out/result.txt"; done
} > out/result.txt.tmp
mv out/result.txt.tmp out/result.txt
"#;

/// The template repository, committed; each machine is a `git clone` of it.
fn generate(dir: &Path) -> PathBuf {
    let root = dir.join("template");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join("turbo.toml"),
        r#"workspaces = ["pkgs/*"]
globalDependencies = ["build.sh"]
globalEnv = ["BUILD_ID"]
globalPassThroughEnv = ["SHARD_LOG", "VICTIM"]

[tasks.build]
dependsOn = ["^build"]
outputs = ["out/**"]
"#,
    )
    .unwrap();
    std::fs::write(root.join("build.sh"), BUILD_SH).unwrap();
    std::fs::write(root.join(".gitignore"), "out/\ncache/\n").unwrap();
    for (name, secs, deps) in PACKAGES {
        let dir = root.join("pkgs").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let deps_list: Vec<String> = deps.iter().map(|d| format!("\"{d}\"")).collect();
        std::fs::write(
            dir.join("turbo.toml"),
            format!(
                "name = \"{name}\"\ndependencies = [{}]\n\n[tasks.build]\ncommand = \"sh ../../build.sh {name} {secs} {}\"\n",
                deps_list.join(", "),
                deps.join(" ")
            ),
        )
        .unwrap();
        std::fs::write(dir.join("src.txt"), format!("{name}\n")).unwrap();
    }
    common::commit_all(&root);
    root
}

fn clone(template: &Path, dir: &Path, name: &str) -> PathBuf {
    let target = dir.join(name);
    let status = Command::new("git")
        .args(["clone", "-q"])
        .arg(template)
        .arg(&target)
        .status()
        .unwrap();
    assert!(status.success());
    target
}

/// The `mono` binary with the remote cache on `remote`, prefix `prefix`.
fn mono(root: &Path, remote: &Remote, prefix: &str, env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("mono"));
    cmd.current_dir(root)
        .env("NO_COLOR", "1")
        .env("MONO_REMOTE_CACHE", remote.url(prefix))
        .env_remove("TURBO_TOKEN")
        .env_remove("MONO_SHARD")
        .stdin(Stdio::null());
    for (name, value) in remote.env() {
        cmd.env(name, value);
    }
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd
}

struct Finished {
    ok: bool,
    stdout: String,
    stderr: String,
    took: Duration,
}

fn finish(child: Child, started: Instant) -> Finished {
    let out = child.wait_with_output().unwrap();
    Finished {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        took: started.elapsed(),
    }
}

fn spawn(mut cmd: Command) -> Child {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn run(cmd: Command) -> Finished {
    let started = Instant::now();
    let finished = finish(spawn(cmd), started);
    assert!(
        finished.ok,
        "mono failed:\n{}\n{}",
        finished.stdout, finished.stderr
    );
    finished
}

/// Each package's `out/result.txt` in `root`, where it exists.
fn results(root: &Path) -> BTreeMap<String, Vec<u8>> {
    PACKAGES
        .iter()
        .filter_map(|(name, _, _)| {
            let file = root.join("pkgs").join(name).join("out/result.txt");
            std::fs::read(file).ok().map(|b| ((*name).to_owned(), b))
        })
        .collect()
}

/// How many times each package's build started, from the logs.
fn executions(logs: &[PathBuf]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for log in logs {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        for line in text.lines() {
            *counts.entry(line.to_owned()).or_insert(0) += 1;
        }
    }
    counts
}

fn all_once() -> BTreeMap<String, usize> {
    PACKAGES
        .iter()
        .map(|(n, _, _)| ((*n).to_owned(), 1))
        .collect()
}

/// Records every task's duration in the remote cache (a build with another `BUILD_ID`, so
/// that the sharded builds all miss), and returns the one-machine build of `build_id` and
/// its time.
fn record_and_build_alone(
    remote: &Remote,
    dir: &Path,
    template: &Path,
    prefix: &str,
    build_id: &str,
) -> (BTreeMap<String, Vec<u8>>, Duration) {
    let record = clone(template, dir, &format!("record-{prefix}"));
    let log = dir.join(format!("record-{prefix}.log"));
    let env = [
        ("BUILD_ID", "recorded"),
        ("SHARD_LOG", log.to_str().unwrap()),
    ];
    let mut cmd = mono(&record, remote, prefix, &env);
    cmd.args(["build", "--concurrency", "1"]);
    run(cmd);
    // One machine, local cache only: the reference outputs and time.
    let alone = clone(template, dir, &format!("alone-{prefix}"));
    let log = dir.join(format!("alone-{prefix}.log"));
    let env = [("BUILD_ID", build_id), ("SHARD_LOG", log.to_str().unwrap())];
    let mut cmd = mono(&alone, remote, prefix, &env);
    cmd.args(["build", "--concurrency", "1", "--cache=local:rw"]);
    let finished = run(cmd);
    assert_eq!(executions(&[log]), all_once());
    let reference = results(&alone);
    assert_eq!(reference.len(), PACKAGES.len());
    (reference, finished.took)
}

fn plan(root: &Path, remote: &Remote, prefix: &str, build_id: &str) -> Value {
    let mut cmd = mono(root, remote, prefix, &[("BUILD_ID", build_id)]);
    cmd.args([
        "ci",
        "plan",
        "build",
        "--shards",
        "4",
        "--concurrency",
        "1",
        "--json",
    ]);
    let finished = run(cmd);
    serde_json::from_str(&finished.stdout).unwrap()
}

/// The shard (from 1) of each task of a `mono ci plan --json`.
fn shard_of(plan: &Value) -> BTreeMap<String, u64> {
    plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["taskId"]
                    .as_str()
                    .unwrap()
                    .trim_end_matches("#build")
                    .to_owned(),
                t["shard"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn four_shards_on_garage_build_every_task_once_with_one_machines_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    four_shards(&Remote::garage(), tmp.path());
}

#[test]
fn four_shards_on_the_cache_server_build_every_task_once_with_one_machines_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    four_shards(&Remote::cache_server(tmp.path()), tmp.path());
}

fn four_shards(remote: &Remote, dir: &Path) {
    let template = generate(dir);
    let (reference, alone) = record_and_build_alone(remote, dir, &template, "four", "2");

    // The plan uses the recorded times, and every chain that `app` joins crosses shards.
    let planned = plan(&template, remote, "four", "2");
    assert_eq!(planned["matrix"]["include"].as_array().unwrap().len(), 4);
    assert_eq!(planned["matrix"]["include"][1]["shard"], "2/4");
    for task in planned["tasks"].as_array().unwrap() {
        assert_eq!(task["durationSource"], "recent", "{task}");
    }
    let shards = shard_of(&planned);
    let app = shards["app"];
    assert!(
        ["a3", "b2", "c3"].iter().any(|d| shards[*d] != app),
        "app's dependencies all on its shard: {shards:?}"
    );
    let estimate = planned["makespanMs"].as_u64().unwrap();
    let bound = planned["lowerBoundMs"].as_u64().unwrap();
    assert!(estimate >= bound);

    let started = Instant::now();
    let children: Vec<(PathBuf, PathBuf, Child)> = (1..=4)
        .map(|i| {
            let root = clone(&template, dir, &format!("shard-{i}"));
            let log = dir.join(format!("shard-{i}.log"));
            let env = [("BUILD_ID", "2"), ("SHARD_LOG", log.to_str().unwrap())];
            let mut cmd = mono(&root, remote, "four", &env);
            cmd.args(["build", "--concurrency", "1", &format!("--shard={i}/4")]);
            (root, log, spawn(cmd))
        })
        .collect();
    let mut logs = Vec::new();
    let mut longest = Duration::ZERO;
    let mut ran = BTreeSet::new();
    for (i, (root, log, child)) in children.into_iter().enumerate() {
        let finished = finish(child, started);
        assert!(
            finished.ok,
            "shard {}/4 failed:\n{}\n{}",
            i + 1,
            finished.stdout,
            finished.stderr
        );
        longest = longest.max(finished.took);
        // What each shard holds is the one-machine build's, byte for byte.
        for (name, bytes) in results(&root) {
            assert_eq!(bytes, reference[&name], "{name} in shard {}", i + 1);
        }
        // It says what it ran and what it took from the others.
        let line = format!("shard {}/4: ran ", i + 1);
        let said = finished
            .stdout
            .lines()
            .find(|l| l.starts_with(&line))
            .unwrap_or_else(|| panic!("no `{line}` line in:\n{}", finished.stdout));
        if let Some((_, list)) = said
            .split_once(": ran ")
            .and_then(|(_, r)| r.split_once(": "))
        {
            ran.extend(
                list.split(", ")
                    .map(|t| t.trim_end_matches("#build").to_owned()),
            );
        }
        assert!(finished
            .stdout
            .contains(&format!("shard {}/4: took ", i + 1)));
        logs.push(log);
    }
    // Across the four, every task ran exactly once, on the shard the plan gave it.
    assert_eq!(executions(&logs), all_once());
    assert_eq!(ran.len(), PACKAGES.len());
    for (i, log) in logs.iter().enumerate() {
        for name in std::fs::read_to_string(log).unwrap().lines() {
            assert_eq!(shards[name], i as u64 + 1, "{name} ran on shard {}", i + 1);
        }
    }
    // A fifth machine takes all of it from the remote cache: the whole build, as one
    // machine built it.
    let check = clone(&template, dir, "check");
    let log = dir.join("check.log");
    let mut cmd = mono(
        &check,
        remote,
        "four",
        &[("BUILD_ID", "2"), ("SHARD_LOG", log.to_str().unwrap())],
    );
    cmd.arg("build");
    let finished = run(cmd);
    assert!(
        finished.stdout.contains("18 cached, 18 total"),
        "{}",
        finished.stdout
    );
    assert!(executions(&[log]).is_empty());
    assert_eq!(results(&check), reference);
    #[expect(clippy::print_stderr, reason = "the figure docs/ci.md gives")]
    {
        eprintln!(
            "one machine: {:.2}s; longest of 4 shards: {:.2}s (model: {:.2}s, lower bound {:.2}s)",
            alone.as_secs_f64(),
            longest.as_secs_f64(),
            estimate as f64 / 1000.0,
            bound as f64 / 1000.0
        );
    }
}

/// The pids of `pid` and every process below it.
fn process_tree(pid: u32) -> Vec<u32> {
    let mut found = vec![pid];
    let mut at = 0;
    while at < found.len() {
        let parent = found[at];
        at += 1;
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{parent}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let children =
                std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            found.extend(
                children
                    .split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            );
        }
    }
    found
}

/// A machine that dies: SIGKILL to mono and everything it started.
fn kill_machine(child: &Child) {
    for pid in process_tree(child.id()) {
        let _ = rustix::process::kill_process(
            rustix::process::Pid::from_raw(pid as i32).unwrap(),
            rustix::process::Signal::KILL,
        );
    }
}

#[test]
fn a_dead_shard_stops_its_waiters_and_its_retry_completes_the_build() {
    let tmp = tempfile::tempdir().unwrap();
    dead_shard(&Remote::garage(), tmp.path());
}

#[test]
fn a_dead_shard_on_the_cache_server_stops_its_waiters_and_its_retry_completes_the_build() {
    let tmp = tempfile::tempdir().unwrap();
    dead_shard(&Remote::cache_server(tmp.path()), tmp.path());
}

fn dead_shard(remote: &Remote, dir: &Path) {
    let template = generate(dir);
    let (reference, _) = record_and_build_alone(remote, dir, &template, "dead", "3");
    let planned = plan(&template, remote, "dead", "3");
    let shards = shard_of(&planned);
    // The victim: a task that a task of another shard depends on.
    let (victim, dying) = PACKAGES
        .iter()
        .find_map(|(name, _, deps)| {
            deps.iter()
                .find(|d| shards[**d] != shards[*name])
                .map(|d| ((*d).to_owned(), shards[*d]))
        })
        .expect("a dependency across shards");
    // The shards that need the victim: a shard restores everything its tasks need, down
    // the graph, so a dependency through another shard's task counts too.
    let needs_victim = |name: &str| -> bool {
        let mut stack = vec![name];
        while let Some(at) = stack.pop() {
            let deps = PACKAGES.iter().find(|(n, _, _)| *n == at).unwrap().2;
            if deps.contains(&victim.as_str()) {
                return true;
            }
            stack.extend(deps.iter().copied());
        }
        false
    };
    let waiting: Vec<u64> = PACKAGES
        .iter()
        .filter(|(name, _, _)| shards[*name] != dying && needs_victim(name))
        .map(|(name, _, _)| shards[*name])
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert!(!waiting.is_empty());

    let roots: Vec<PathBuf> = (1..=4)
        .map(|i| clone(&template, dir, &format!("m{i}")))
        .collect();
    let logs: Vec<PathBuf> = (1..=8)
        .map(|i| dir.join(format!("attempt-{i}.log")))
        .collect();
    let shard = |i: u64, attempt: usize, victim: &str, wait: &str| {
        let log = &logs[(attempt - 1) * 4 + i as usize - 1];
        let env = [
            ("BUILD_ID", "3"),
            ("SHARD_LOG", log.to_str().unwrap()),
            ("VICTIM", victim),
        ];
        let mut cmd = mono(&roots[i as usize - 1], remote, "dead", &env);
        cmd.args([
            "build",
            "--concurrency",
            "1",
            &format!("--shard={i}/4"),
            &format!("--shard-wait={wait}"),
        ]);
        cmd
    };
    // Attempt 1: the victim's build hangs; its machine is killed once the shards waiting
    // for it have given up.
    let started = Instant::now();
    let mut children: BTreeMap<u64, Child> = (1..=4)
        .map(|i| (i, spawn(shard(i, 1, &victim, "3s"))))
        .collect();
    let dead = children.remove(&dying).unwrap();
    let mut failed = vec![dying];
    for (i, child) in children {
        let finished = finish(child, started);
        let all = format!("{}{}", finished.stdout, finished.stderr);
        let gave_up = all.contains("gave up waiting for")
            && all.contains(&format!("built by shard {dying}/4, after 3s"));
        // A shard that needs the victim gives up, and says what it waited for. Another
        // one may need a task the dead shard would have built after the victim: it gives
        // up the same way; else it completes.
        if waiting.contains(&i) || !finished.ok {
            assert!(
                !finished.ok && gave_up,
                "shard {i}/4 should have given up on shard {dying}/4:\n{all}"
            );
            failed.push(i);
        }
    }
    let victim_log = &logs[dying as usize - 1];
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(victim_log)
        .unwrap_or_default()
        .lines()
        .any(|l| l == victim)
    {
        assert!(Instant::now() < deadline, "the victim never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    kill_machine(&dead);
    let _ = finish(dead, started);

    // Attempt 2: the dead shard and those that gave up run again, at once.
    failed.sort_unstable();
    let started = Instant::now();
    let retries: Vec<(u64, Child)> = failed
        .iter()
        .map(|&i| (i, spawn(shard(i, 2, "", "5m"))))
        .collect();
    for (i, child) in retries {
        let finished = finish(child, started);
        assert!(
            finished.ok,
            "retry of shard {i}/4:\n{}\n{}",
            finished.stdout, finished.stderr
        );
    }
    // Nothing done in attempt 1 ran again; only the victim, killed halfway, ran twice.
    let mut expected = all_once();
    *expected.get_mut(&victim).unwrap() = 2;
    assert_eq!(executions(&logs), expected);
    // And the build is complete: a fifth machine takes all of it, as one machine built it.
    let check = clone(&template, dir, "check");
    let mut cmd = mono(
        &check,
        remote,
        "dead",
        &[("BUILD_ID", "3"), ("SHARD_LOG", "/dev/null")],
    );
    cmd.arg("build");
    let finished = run(cmd);
    assert!(
        finished.stdout.contains("18 cached, 18 total"),
        "{}",
        finished.stdout
    );
    assert_eq!(results(&check), reference);
}

#[test]
fn a_shard_without_a_remote_cache_is_an_error_that_says_how_to_fix_it() {
    let tmp = tempfile::tempdir().unwrap();
    let template = generate(tmp.path());
    let out = common::mono(&template)
        .args(["build", "--shard=1/2"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = common::report_words(&String::from_utf8_lossy(&out.stderr));
    assert!(
        stderr.contains("`--shard 1/2` needs a remote cache"),
        "{stderr}"
    );
    assert!(stderr.contains("--remote-cache"), "{stderr}");

    let out = common::mono(&template)
        .args(["build", "--shard=3/2"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = common::report_words(&String::from_utf8_lossy(&out.stderr));
    assert!(stderr.contains("`3/2` is not a shard"), "{stderr}");
}

#[test]
fn ci_plan_prints_each_shard_and_the_lower_bound() {
    let tmp = tempfile::tempdir().unwrap();
    let template = generate(tmp.path());
    let out = common::mono(&template)
        .args(["ci", "plan", "build", "--shards", "3", "--concurrency", "1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for i in 1..=3 {
        assert!(text.contains(&format!("shard {i}/3: ")), "{text}");
    }
    // Never built: every task is the default estimate, and says so.
    assert!(text.contains("(never ran)"), "{text}");
    assert!(text.contains("against a lower bound of"), "{text}");
    // Every task is listed once.
    let listed: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("  "))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(listed.len(), PACKAGES.len());
    assert_eq!(listed.iter().collect::<BTreeSet<_>>().len(), PACKAGES.len());

    // The same inputs, the same split.
    let json = |args: &[&str]| -> Value {
        let out = common::mono(&template)
            .args(["ci", "plan", "build", "--json"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success());
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let first = json(&["--shards", "3"]);
    assert_eq!(first, json(&["--shards", "3"]));
    assert_eq!(
        first["gitlab"]["parallel"]["matrix"][0]["MONO_SHARD"],
        serde_json::json!(["1/3", "2/3", "3/3"])
    );
    let out = common::mono(&template)
        .args(["ci", "plan", "build", "--shards", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least one shard"));
}

#[test]
fn machines_that_plan_at_once_on_garage_agree_on_one_split() {
    let tmp = tempfile::tempdir().unwrap();
    racing_plans(&Remote::garage(), tmp.path(), false);
}

#[test]
fn machines_that_plan_at_once_on_the_cache_server_agree_on_one_split() {
    let tmp = tempfile::tempdir().unwrap();
    racing_plans(&Remote::cache_server(tmp.path()), tmp.path(), true);
}

/// Three machines run `mono ci plan` at the same moment, none finding a stored split: they
/// end with one split. The cache server honours `If-None-Match: *`, so exactly one stores
/// it; Garage 2.5 ignores the header, so the machines that write read back after settling.
fn racing_plans(remote: &Remote, dir: &Path, conditional: bool) {
    let template = generate(dir);
    let children: Vec<Child> = (0..3)
        .map(|i| {
            let root = clone(&template, dir, &format!("racer-{i}"));
            let mut cmd = mono(&root, remote, "race", &[("BUILD_ID", "race")]);
            cmd.args(["ci", "plan", "build", "--shards", "4", "--json"]);
            spawn(cmd)
        })
        .collect();
    let started = Instant::now();
    let finished: Vec<Finished> = children.into_iter().map(|c| finish(c, started)).collect();
    for f in &finished {
        assert!(f.ok, "{}\n{}", f.stdout, f.stderr);
    }
    let plans: Vec<Value> = finished
        .iter()
        .map(|f| serde_json::from_str(&f.stdout).unwrap())
        .collect();
    assert_eq!(plans[0], plans[1]);
    assert_eq!(plans[1], plans[2]);
    let said = |words: &str| {
        finished
            .iter()
            .filter(|f| common::report_words(&f.stderr).contains(words))
            .count()
    };
    let created = said("(a conditional write");
    let settled = said("which has no conditional writes");
    let theirs = said("another machine stored the split") + said("using the one stored");
    assert_eq!(
        created + settled + theirs,
        3,
        "{:?}",
        finished.iter().map(|f| &f.stderr).collect::<Vec<_>>()
    );
    match conditional {
        true => assert_eq!((created, settled), (1, 0)),
        false => assert_eq!(created, 0),
    }
    // A machine that comes later takes the stored split.
    let late = clone(&template, dir, "racer-late");
    let mut cmd = mono(&late, remote, "race", &[("BUILD_ID", "race")]);
    cmd.args(["ci", "plan", "build", "--shards", "4", "--json"]);
    let finished = run(cmd);
    assert!(
        common::report_words(&finished.stderr).contains("using the one stored"),
        "{}",
        finished.stderr
    );
    assert_eq!(
        serde_json::from_str::<Value>(&finished.stdout).unwrap(),
        plans[0]
    );
}
