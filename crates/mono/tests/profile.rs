//! `--profile=FILE` (issue 15): the Chrome trace of a real run, parsed and checked for
//! what docs/profile.md promises: discovery, hashing, one execution per executed task on
//! lanes that never overlap themselves, no more at once than `--concurrency`, waits, and
//! the cache restores of a cached run.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::{commit_all, dry_json, fixture, mono, svc_repo};
use serde_json::Value;

/// Runs `mono ARGS --profile=../NAME` at `root` and parses the trace it wrote. Outside the
/// repository: in it, the trace would be an input of the root package's tasks.
fn profiled(root: &Path, args: &[&str], name: &str) -> Value {
    let out = mono(root)
        .args(args)
        .arg(format!("--profile=../{name}"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "mono {args:?} failed:\n{stderr}");
    assert!(stderr.contains("wrote the profile to"), "{stderr}");
    let path = root.parent().unwrap().join(name);
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The complete (`X`) events.
fn spans(trace: &Value) -> Vec<&Value> {
    trace["traceEvents"]
        .as_array()
        .expect("traceEvents")
        .iter()
        .filter(|e| e["ph"] == "X")
        .collect()
}

fn named<'a>(trace: &'a Value, name: &str) -> Vec<&'a Value> {
    spans(trace)
        .into_iter()
        .filter(|e| e["name"] == name)
        .collect()
}

fn start(e: &Value) -> f64 {
    e["ts"].as_f64().unwrap()
}

fn end(e: &Value) -> f64 {
    start(e) + e["dur"].as_f64().unwrap()
}

fn task_of(e: &Value) -> String {
    e["args"]["task"].as_str().unwrap().to_owned()
}

/// The tasks' slot spans (category `task`), by task id.
fn task_spans(trace: &Value) -> BTreeMap<String, &Value> {
    spans(trace)
        .into_iter()
        .filter(|e| e["cat"] == "task")
        .map(|e| (e["name"].as_str().unwrap().to_owned(), e))
        .collect()
}

/// Fails if two `events` on one `tid` overlap.
fn assert_lanes_never_overlap(events: &[&Value]) {
    let mut by_lane: BTreeMap<u64, Vec<&Value>> = BTreeMap::new();
    for e in events {
        by_lane
            .entry(e["tid"].as_u64().unwrap())
            .or_default()
            .push(e);
    }
    for (tid, mut lane) in by_lane {
        lane.sort_by(|a, b| start(a).total_cmp(&start(b)));
        for pair in lane.windows(2) {
            assert!(
                end(pair[0]) <= start(pair[1]) + 1e-3,
                "lane {tid}: {} overlaps {}",
                pair[0]["name"],
                pair[1]["name"]
            );
        }
    }
}

/// The most `events` that are under way at one instant.
fn most_at_once(events: &[&Value]) -> usize {
    let mut points: Vec<(f64, i32)> = Vec::new();
    for e in events {
        points.push((start(e), 1));
        points.push((end(e), -1));
    }
    // Ends before starts at the same instant: a slot handed on is not two at once.
    points.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (mut now, mut most) = (0i32, 0i32);
    for (_, delta) in points {
        now += delta;
        most = most.max(now);
    }
    usize::try_from(most).unwrap()
}

/// The thread names of the trace, by tid.
fn thread_names(trace: &Value) -> BTreeMap<u64, String> {
    trace["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
        .map(|e| {
            (
                e["tid"].as_u64().unwrap(),
                e["args"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_profiled_build_traces_discovery_hashing_each_task_and_a_cached_rerun_its_restores() {
    let repo = fixture("node-only");
    let root = &repo.root;
    let tasks = ["run", "build", "test", "lint"];
    let plan = dry_json(root, &tasks);
    let runnable: BTreeSet<String> = plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["command"] != "<NONEXISTENT>")
        .map(|t| t["taskId"].as_str().unwrap().to_owned())
        .collect();
    let every: BTreeSet<String> = plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["taskId"].as_str().unwrap().to_owned())
        .collect();
    assert!(runnable.len() >= 6, "{runnable:?}");

    let mut args = tasks.to_vec();
    args.push("--concurrency=2");
    let trace = profiled(root, &args, "trace.json");
    assert_eq!(trace["otherData"]["format"], "1");

    // Discovery, the git listing (on a thread of its own) and hashing.
    for step in [
        "find the repository root",
        "load config",
        "discover packages",
        "git: list files",
        "select packages",
        "build the task graph",
        "hash",
        "select inputs",
        "hash input files",
        "global hash",
        "run tasks",
    ] {
        assert_eq!(named(&trace, step).len(), 1, "{step}");
    }
    let listing = &named(&trace, "git: list files")[0];
    assert!(listing["args"]["files"].as_u64().unwrap() > 10);
    assert_eq!(
        thread_names(&trace)[&listing["tid"].as_u64().unwrap()],
        "git: list files"
    );
    for task in &every {
        assert_eq!(
            named(&trace, &format!("hash {task}")).len(),
            1,
            "hash {task}"
        );
    }

    // One execution per executed task, each inside its task's span, on its lane.
    let slots = task_spans(&trace);
    assert_eq!(slots.keys().cloned().collect::<BTreeSet<_>>(), runnable);
    let executions = named(&trace, "execute");
    let executed: Vec<String> = executions.iter().map(|e| task_of(e)).collect();
    assert_eq!(executed.iter().cloned().collect::<BTreeSet<_>>(), runnable);
    assert_eq!(executed.len(), runnable.len(), "one execution each");
    for e in &executions {
        let slot = slots[&task_of(e)];
        assert_eq!(e["tid"], slot["tid"], "{}", task_of(e));
        assert!(start(slot) <= start(e) + 1e-3 && end(e) <= end(slot) + 1e-3);
        assert_eq!(slot["args"]["result"], "succeeded");
    }
    assert_eq!(named(&trace, "cache lookup").len(), runnable.len());
    // Lanes are slots: none overlaps itself, and no more run at once than --concurrency.
    let slot_spans: Vec<&Value> = slots.values().copied().collect();
    assert_lanes_never_overlap(&slot_spans);
    assert!(most_at_once(&slot_spans) <= 2);
    assert!(most_at_once(&executions) <= 2);
    let lanes: BTreeSet<u64> = slot_spans
        .iter()
        .map(|e| e["tid"].as_u64().unwrap())
        .collect();
    assert!(lanes.len() <= 2, "{lanes:?}");
    let names = thread_names(&trace);
    assert!(lanes.iter().all(|tid| names[tid].starts_with("slot ")));
    // Each started task waited from ready to its slot, and stored its result.
    for (task, slot) in &slots {
        let waits = named(&trace, &format!("wait {task}"));
        assert_eq!(waits.len(), 1, "wait {task}");
        assert!(end(waits[0]) <= start(slot) + 1e-3);
    }
    assert_eq!(named(&trace, "cache store").len(), runnable.len());

    // Again, with the build outputs gone: every task is a hit, the builds restore.
    for dir in ["apps/web/dist", "packages/ui/dist", "packages/utils/dist"] {
        let _ = std::fs::remove_dir_all(root.join(dir));
    }
    let trace = profiled(root, &tasks, "cached.json");
    assert!(named(&trace, "execute").is_empty());
    let slots = task_spans(&trace);
    assert_eq!(slots.keys().cloned().collect::<BTreeSet<_>>(), runnable);
    assert!(slots.values().all(|s| s["args"]["result"] == "cached"));
    let restored: BTreeSet<String> = named(&trace, "restore outputs")
        .iter()
        .map(|e| task_of(e))
        .collect();
    for task in ["web#build", "@repo/ui#build", "@repo/utils#build"] {
        assert!(restored.contains(task), "{task} restored: {restored:?}");
    }
    for e in named(&trace, "restore outputs") {
        assert_eq!(e["tid"], slots[&task_of(e)]["tid"]);
    }
    assert_lanes_never_overlap(&slots.values().copied().collect::<Vec<_>>());
}

#[test]
fn independent_tasks_fill_exactly_the_slots_and_wait_for_them() {
    let (_dir, root) = svc_repo("workspaces = [\"pkgs/*\"]\n[tasks.build]\noutputs = []\n");
    for n in 0..6 {
        let dir = root.join(format!("pkgs/p{n}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("turbo.toml"),
            format!("name = \"p{n}\"\n[tasks.build]\ncommand = \"sleep 0.2\"\n"),
        )
        .unwrap();
    }
    commit_all(&root);
    let trace = profiled(&root, &["build", "--concurrency=3"], "p.json");
    let slots: Vec<&Value> = task_spans(&trace).into_values().collect();
    assert_eq!(slots.len(), 6);
    assert_lanes_never_overlap(&slots);
    let most = most_at_once(&slots);
    assert!(most <= 3);
    // The fewest lanes that hold them: as many as ran at once.
    let lanes: BTreeSet<u64> = slots.iter().map(|e| e["tid"].as_u64().unwrap()).collect();
    assert_eq!(lanes.len(), most);
    assert_eq!(named(&trace, "execute").len(), 6);
    // Nothing waits for another task: each was ready when the run began, so the three
    // that started last waited for a slot, and their waits end where their slots begin.
    let waits: Vec<&Value> = spans(&trace)
        .into_iter()
        .filter(|e| e["cat"] == "wait")
        .collect();
    assert_eq!(waits.len(), 6);
    let first_ready = waits.iter().map(|w| start(w)).fold(f64::INFINITY, f64::min);
    assert!(waits.iter().all(|w| (start(w) - first_ready).abs() < 1e-3));
    assert_lanes_never_overlap(&waits);
    let names = thread_names(&trace);
    assert!(waits
        .iter()
        .all(|w| names[&w["tid"].as_u64().unwrap()].starts_with("waiting ")));
    assert!(slots.iter().all(|s| s["args"]["waitedMs"].is_f64()));
    // The queue: three tasks at least waited for a slot while the first three ran, never
    // more than the six there are; it is empty at the end.
    let queue: Vec<i64> = trace["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ph"] == "C" && e["name"] == "tasks waiting for a slot")
        .map(|e| e["args"]["tasks"].as_i64().unwrap())
        .collect();
    let most = *queue.iter().max().unwrap();
    assert!((3..=6).contains(&most), "{queue:?}");
    assert_eq!(queue.last(), Some(&0));
}

#[test]
fn a_run_that_fails_still_writes_its_profile() {
    let (_dir, root) = svc_repo("workspaces = [\"svc\"]\n[tasks.build]\n");
    std::fs::write(
        root.join("svc/turbo.toml"),
        "name = \"svc\"\n[tasks.build]\ncommand = \"exit 3\"\n",
    )
    .unwrap();
    commit_all(&root);
    let out = mono(&root)
        .args(["build", "--profile=failed.json"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let trace: Value =
        serde_json::from_slice(&std::fs::read(root.join("failed.json")).unwrap()).unwrap();
    let slots = task_spans(&trace);
    assert_eq!(slots["svc#build"]["args"]["result"], "failed");
    assert_eq!(named(&trace, "execute").len(), 1);
    assert!(named(&trace, "cache store").is_empty());
}

/// `mono-cache-server`, built next to `mono` when missing.
fn cache_server() -> std::path::PathBuf {
    let bin = assert_cmd::cargo::cargo_bin("mono").with_file_name("mono-cache-server");
    if !bin.exists() {
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "-p", "mono-cache-server"])
            .status()
            .unwrap();
        assert!(status.success(), "cannot build mono-cache-server");
    }
    bin
}

#[test]
fn uploads_to_a_remote_cache_have_their_track_and_the_wait_for_them_its_span() {
    let store = tempfile::tempdir().unwrap();
    let mut server = std::process::Command::new(cache_server())
        .args(["--listen", "127.0.0.1:0", "--token", "test-token", "--dir"])
        .arg(store.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let url = format!("http://{}", common::server_address(&mut server));
    let repo = fixture("node-only");
    let out = mono(&repo.root)
        .args(["build", "--profile=../up.json"])
        .env("MONO_REMOTE_CACHE", &url)
        .env("MONO_REMOTE_CACHE_TOKEN", "test-token")
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let trace: Value = serde_json::from_slice(
        &std::fs::read(repo.root.parent().unwrap().join("up.json")).unwrap(),
    )
    .unwrap();
    let built: BTreeSet<String> = task_spans(&trace).into_keys().collect();
    let uploads: Vec<&Value> = spans(&trace)
        .into_iter()
        .filter(|e| e["cat"] == "upload" && e["name"] != "wait for remote uploads")
        .collect();
    let uploaded: BTreeSet<String> = uploads
        .iter()
        .map(|e| {
            assert_eq!(e["args"]["uploaded"], true);
            e["name"]
                .as_str()
                .unwrap()
                .trim_start_matches("upload ")
                .to_owned()
        })
        .collect();
    assert_eq!(uploaded, built);
    assert_lanes_never_overlap(&uploads);
    let names = thread_names(&trace);
    assert!(uploads
        .iter()
        .all(|e| names[&e["tid"].as_u64().unwrap()].starts_with("upload ")));
    // The run waited for them at its end, after the last task.
    let wait = &named(&trace, "wait for remote uploads")[0];
    let run = &named(&trace, "run tasks")[0];
    assert!(start(wait) >= end(run) - 1e-3);
}

#[test]
fn a_profile_that_cannot_be_written_fails_before_anything_runs() {
    let (_dir, root) = svc_repo("workspaces = [\"svc\"]\n[tasks.build]\noutputs = [\"out/**\"]\n");
    std::fs::write(
        root.join("svc/turbo.toml"),
        "name = \"svc\"\n[tasks.build]\ncommand = \"mkdir -p out && echo built > out/x\"\n",
    )
    .unwrap();
    commit_all(&root);
    let out = mono(&root)
        .args(["build", "--profile=no/such/folder/trace.json"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = common::report_words(&String::from_utf8_lossy(&out.stderr));
    assert!(
        stderr.contains("failed to write the profile to") && stderr.contains("trace.json"),
        "{stderr}"
    );
    assert!(!root.join("svc/out").exists(), "nothing ran");
}
