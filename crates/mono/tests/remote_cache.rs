//! The shared cache against real servers on loopback, started by the tests: Garage (a real
//! S3-compatible store), `mono-cache-server` with disk and S3 storage, and the real turbo
//! pointed at `mono-cache-server`.
//!
//! Garage comes from the tools `make test` installs (scripts/bootstrap-tools builds it with
//! `cargo install garage` once; `MONO_TEST_GARAGE` overrides it); without it these tests fail
//! and say how to install it.

mod common;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::garage::{free_port, Garage};
use common::{fixture, mono, turbo_binary, Fixture};

// ---------------------------------------------------------------------------------------
// Servers

fn server_binary() -> PathBuf {
    let mono = assert_cmd::cargo::cargo_bin("mono");
    let bin = mono.with_file_name("mono-cache-server");
    if !bin.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "mono-cache-server"])
            .status()
            .unwrap();
        assert!(status.success(), "cannot build mono-cache-server");
    }
    bin
}

/// `mono-cache-server` on a free port.
struct Server {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
    store: PathBuf,
}

impl Server {
    fn start(storage: &[&str], env: &[(&str, String)], extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        let mut cmd = Command::new(server_binary());
        cmd.args(["--listen", "127.0.0.1:0", "--token", "test-token"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if storage.is_empty() {
            cmd.arg("--dir").arg(&store);
        } else {
            cmd.args(storage);
        }
        for (name, value) in env {
            cmd.env(name, value);
        }
        let mut child = cmd.spawn().unwrap();
        let addr = common::server_address(&mut child);
        Server {
            child,
            url: format!("http://{addr}"),
            _dir: dir,
            store,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------
// Repositories and runs

/// A fresh clone of the node-only fixture (turbo.toml only).
fn node_clone() -> Fixture {
    let fx = fixture("node-only");
    std::fs::remove_file(fx.root.join("turbo.json")).unwrap();
    common::git(&fx.root, &["commit", "-qam", "turbo.toml only"]);
    fx
}

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn run_mono(root: &Path, args: &[&str], env: &[(&str, String)]) -> Run {
    let mut cmd = mono(root);
    cmd.args(args)
        .env_remove("MONO_REMOTE_CACHE_TOKEN")
        .env_remove("TURBO_TOKEN")
        .env_remove("TURBO_TEAM")
        .env_remove("MONO_REMOTE_CACHE_SIGNATURE_KEY")
        .env_remove("TURBO_REMOTE_CACHE_SIGNATURE_KEY");
    for (name, value) in env {
        cmd.env(name, value);
    }
    let out = cmd.output().unwrap();
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn build(root: &Path, env: &[(&str, String)]) -> Run {
    let run = run_mono(root, &["build"], env);
    assert!(run.ok, "mono build failed:\n{}\n{}", run.stdout, run.stderr);
    run
}

/// Every file under the packages' dist/ folders, with its content.
fn outputs(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut found = BTreeMap::new();
    for group in ["apps", "packages"] {
        for package in std::fs::read_dir(root.join(group)).unwrap() {
            let dist = package.unwrap().path().join("dist");
            if !dist.exists() {
                continue;
            }
            for file in walk(&dist) {
                let rel = file.strip_prefix(root).unwrap().display().to_string();
                found.insert(rel, std::fs::read(&file).unwrap());
            }
        }
    }
    found
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// The objects under `dir` of a `mono-cache-server` that are artifacts (mono's envelope),
/// not side files (input manifests, recent-entries indexes: docs/cache.md).
fn artifacts(dir: &Path) -> Vec<PathBuf> {
    walk(dir)
        .into_iter()
        .filter(|object| {
            let bytes = std::fs::read(object).unwrap();
            bytes.windows(8).take(8192).any(|w| w == b"MONOART1")
        })
        .collect()
}

fn remote_warnings(stderr: &str) -> usize {
    stderr
        .lines()
        .filter(|l| l.starts_with("warning:") && l.contains("remote cache"))
        .count()
}

/// First clone builds and uploads; a second, fresh clone with an empty local cache gets
/// every task from the remote, with identical outputs.
fn second_clone_gets_everything(env: &[(&str, String)]) {
    let first = node_clone();
    let run = build(&first.root, env);
    assert!(run.stdout.contains("0 cached, 4 total"), "{}", run.stdout);
    assert_eq!(remote_warnings(&run.stderr), 0, "{}", run.stderr);

    let second = node_clone();
    assert!(outputs(&second.root).is_empty());
    let run = build(&second.root, env);
    assert!(
        run.stdout.contains("4 cached, 4 total") && run.stdout.contains("FULL MONO"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert_eq!(remote_warnings(&run.stderr), 0, "{}", run.stderr);
    assert_eq!(outputs(&second.root), outputs(&first.root));
    // The hits were copied into the local cache: with the remote off, still all cached.
    let run = run_mono(&second.root, &["build", "--cache=local:rw"], env);
    assert!(run.stdout.contains("4 cached, 4 total"), "{}", run.stdout);
    // With their input manifests: a miss is explained against the restored entry, locally.
    let content = second.root.join("apps/web/src/content.mjs");
    let text = std::fs::read_to_string(&content).unwrap();
    std::fs::write(&content, text.replacen("Talks to", "Speaks to", 1)).unwrap();
    let run = run_mono(&second.root, &["build", "--cache=local:rw"], env);
    let misses: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains(": miss: "))
        .collect();
    assert_eq!(
        misses,
        ["web:build: miss: src/content.mjs changed"],
        "{}\n{}",
        run.stdout,
        run.stderr
    );
}

/// Two clones sharing a remote: the second, with an empty local cache and one file
/// changed, explains its miss against the entry the first uploaded (docs/why.md).
fn second_clone_miss_is_explained_against_the_remote(env: &[(&str, String)]) {
    let first = node_clone();
    build(&first.root, env);
    let why = run_mono(&first.root, &["why", "web#build", "--json"], env);
    assert!(why.ok, "{}", why.stderr);
    let why: serde_json::Value = serde_json::from_str(&why.stdout).unwrap();
    let uploaded = why["hash"].as_str().unwrap().to_owned();

    let second = node_clone();
    let content = second.root.join("apps/web/src/content.mjs");
    let text = std::fs::read_to_string(&content).unwrap();
    std::fs::write(&content, text.replacen("Talks to", "Speaks to", 1)).unwrap();
    let run = run_mono(&second.root, &["build", "--summarize"], env);
    assert!(run.ok, "{}\n{}", run.stdout, run.stderr);
    let misses: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains(": miss: "))
        .collect();
    assert_eq!(
        misses,
        ["web:build: miss: src/content.mjs changed"],
        "{}",
        run.stdout
    );
    assert_eq!(remote_warnings(&run.stderr), 0, "{}", run.stderr);
    let runs = second.root.join(".turbo/runs");
    let file = std::fs::read_dir(&runs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let web = summary["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["taskId"] == "web#build")
        .unwrap();
    assert_eq!(web["missReason"]["earlier"]["source"], "remote");
    assert_eq!(web["missReason"]["earlier"]["hash"], uploaded.as_str());
}

// ---------------------------------------------------------------------------------------
// Tests

#[test]
fn a_second_clones_miss_is_explained_against_the_cache_servers_entry() {
    let server = Server::start(&[], &[], &[]);
    let env = vec![
        ("MONO_REMOTE_CACHE", server.url.clone()),
        ("MONO_REMOTE_CACHE_TOKEN", "test-token".to_owned()),
    ];
    second_clone_miss_is_explained_against_the_remote(&env);
}

#[test]
fn a_second_clones_miss_is_explained_against_the_s3_entry() {
    let garage = Garage::start();
    let mut env = garage.aws_env();
    env.push(("MONO_REMOTE_CACHE", garage.url("ci/why")));
    second_clone_miss_is_explained_against_the_remote(&env);
}

#[test]
fn s3_remote_on_garage_serves_a_second_clone() {
    let garage = Garage::start();
    let mut env = garage.aws_env();
    env.push(("MONO_REMOTE_CACHE", garage.url("ci/mono")));
    second_clone_gets_everything(&env);
}

#[test]
fn cache_server_with_disk_storage_serves_a_second_clone() {
    let server = Server::start(&[], &[], &[]);
    let env = vec![
        ("MONO_REMOTE_CACHE", server.url.clone()),
        ("MONO_REMOTE_CACHE_TOKEN", "test-token".to_owned()),
    ];
    second_clone_gets_everything(&env);
    // Stored under the shared team space: per task, its artifact, its input manifest and
    // its recent-entries index, each an artifact (docs/cache.md, "Side files in a remote").
    assert_eq!(artifacts(&server.store.join("_")).len(), 4);
    assert_eq!(walk(&server.store.join("_")).len(), 12);
}

#[test]
fn cache_server_with_s3_storage_serves_a_second_clone() {
    let garage = Garage::start();
    let server = Server::start(&["--s3", &garage.url("server")], &garage.aws_env(), &[]);
    let env = vec![
        ("MONO_REMOTE_CACHE", server.url.clone()),
        ("TURBO_TOKEN", "test-token".to_owned()),
        ("TURBO_TEAM", "my-team".to_owned()),
    ];
    second_clone_gets_everything(&env);
}

#[test]
fn remote_cache_from_turbo_toml_and_cache_flag_control() {
    let server = Server::start(&[], &[], &[]);
    let token = vec![("MONO_REMOTE_CACHE_TOKEN", "test-token".to_owned())];
    let configure = |fx: &Fixture| {
        let path = fx.root.join("turbo.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(
            &path,
            text.replace(
                "[tasks.build]",
                &format!(
                    "[remoteCache]\napiUrl = \"{}\"\nteamSlug = \"from-config\"\n\n[tasks.build]",
                    server.url
                ),
            ),
        )
        .unwrap();
        common::git(&fx.root, &["commit", "-qam", "remote cache"]);
    };
    let first = node_clone();
    configure(&first);
    // remote:r only: nothing is uploaded.
    build_with(&first.root, &["build", "--cache=local:rw,remote:r"], &token);
    assert!(!server.store.join("from-config").exists());
    // The default writes both.
    build_with(&first.root, &["build", "--force"], &token);
    assert_eq!(artifacts(&server.store.join("from-config")).len(), 4);

    let second = node_clone();
    configure(&second);
    // local only: the remote is not asked.
    let run = build_with(&second.root, &["build", "--cache=local:rw"], &token);
    assert!(run.stdout.contains("0 cached, 4 total"), "{}", run.stdout);
    let third = node_clone();
    configure(&third);
    let run = build_with(&third.root, &["build", "--cache=remote:r"], &token);
    assert!(run.stdout.contains("4 cached, 4 total"), "{}", run.stdout);
    // remote:r without local writes: the hits were not copied locally.
    let run = build_with(&third.root, &["build", "--cache=local:rw"], &token);
    assert!(run.stdout.contains("0 cached, 4 total"), "{}", run.stdout);
}

fn build_with(root: &Path, args: &[&str], env: &[(&str, String)]) -> Run {
    let run = run_mono(root, args, env);
    assert!(
        run.ok,
        "mono {args:?} failed:\n{}\n{}",
        run.stdout, run.stderr
    );
    run
}

#[test]
fn a_dead_or_refusing_remote_is_one_warning_and_the_build_succeeds() {
    let dead_port = free_port();
    let server = Server::start(&[], &[], &[]);
    let cases = [
        (
            "connection refused",
            vec![("MONO_REMOTE_CACHE", format!("http://127.0.0.1:{dead_port}"))],
        ),
        (
            "wrong token",
            vec![
                ("MONO_REMOTE_CACHE", server.url.clone()),
                ("MONO_REMOTE_CACHE_TOKEN", "wrong".to_owned()),
            ],
        ),
        (
            "dead S3 endpoint",
            vec![
                ("MONO_REMOTE_CACHE", "s3://bucket/prefix".to_owned()),
                ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{dead_port}")),
                ("AWS_ACCESS_KEY_ID", "GKx".to_owned()),
                ("AWS_SECRET_ACCESS_KEY", "x".to_owned()),
                ("AWS_REGION", "garage".to_owned()),
            ],
        ),
    ];
    for (case, env) in cases {
        let fx = node_clone();
        let run = build(&fx.root, &env);
        assert!(
            run.stdout.contains("4 successful, 4 total"),
            "{case}: {}",
            run.stdout
        );
        assert_eq!(remote_warnings(&run.stderr), 1, "{case}:\n{}", run.stderr);
        // The local cache still works.
        let run = build(&fx.root, &env);
        assert!(
            run.stdout.contains("4 cached, 4 total"),
            "{case}: {}",
            run.stdout
        );
    }
    let fx = node_clone();
    let run = build(
        &fx.root,
        &[
            ("MONO_REMOTE_CACHE", server.url.clone()),
            ("MONO_REMOTE_CACHE_TOKEN", "wrong".to_owned()),
        ],
    );
    assert!(
        run.stderr.contains("refused the credentials"),
        "{}",
        run.stderr
    );
}

/// A chain of generic packages; the middle one's command kills the S3 server.
fn chain_repo() -> Fixture {
    let fx = fixture("node-only");
    let root = &fx.root;
    for path in [
        "apps",
        "packages",
        "turbo.json",
        "package.json",
        "package-lock.json",
    ] {
        let path = root.join(path);
        if path.is_dir() {
            std::fs::remove_dir_all(&path).unwrap();
        } else if path.exists() {
            std::fs::remove_file(&path).unwrap();
        }
    }
    std::fs::write(
        root.join("turbo.toml"),
        "workspaces = [\"pkgs/*\"]\n\n[tasks.build]\ndependsOn = [\"^build\"]\noutputs = [\"out/**\"]\n",
    )
    .unwrap();
    let packages = [
        ("a", "", "mkdir -p out && echo a > out/a.txt"),
        (
            "b",
            "\"a\"",
            "kill -9 $KILL_PID && sleep 0.5 && mkdir -p out && echo b > out/b.txt",
        ),
        ("c", "\"b\"", "mkdir -p out && echo c > out/c.txt"),
        ("d", "\"c\"", "mkdir -p out && echo d > out/d.txt"),
    ];
    for (name, deps, command) in packages {
        let dir = root.join("pkgs").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("turbo.toml"),
            format!(
                "name = \"{name}\"\ndependencies = [{deps}]\n\n[tasks.build]\ncommand = \"{command}\"\nenv = [\"KILL_PID\"]\n"
            ),
        )
        .unwrap();
    }
    common::git(root, &["add", "-A"]);
    common::git(root, &["commit", "-qm", "chain"]);
    fx
}

#[test]
fn killing_the_s3_server_halfway_through_a_run_is_one_warning() {
    let garage = Garage::start();
    let fx = chain_repo();
    let mut env = garage.aws_env();
    env.push(("MONO_REMOTE_CACHE", garage.url("killed")));
    env.push(("KILL_PID", garage.pid().to_string()));
    let run = build(&fx.root, &env);
    assert!(
        run.stdout.contains("4 successful, 4 total"),
        "{}",
        run.stdout
    );
    assert_eq!(
        remote_warnings(&run.stderr),
        1,
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    for name in ["a", "b", "c", "d"] {
        assert!(fx.root.join(format!("pkgs/{name}/out/{name}.txt")).exists());
    }
}

#[test]
fn signatures_are_checked_on_download() {
    let server = Server::start(&[], &[], &[]);
    let env = |key: Option<&str>| {
        let mut env = vec![
            ("MONO_REMOTE_CACHE", server.url.clone()),
            ("MONO_REMOTE_CACHE_TOKEN", "test-token".to_owned()),
        ];
        if let Some(key) = key {
            env.push(("MONO_REMOTE_CACHE_SIGNATURE_KEY", key.to_owned()));
        }
        env
    };
    let first = node_clone();
    build(&first.root, &env(Some("the shared key")));

    // Another key: every artifact is refused, the tasks run (read-only, so that it does
    // not replace the artifacts with its own).
    let second = node_clone();
    let run = build_with(
        &second.root,
        &["build", "--cache=local:rw,remote:r"],
        &env(Some("another key")),
    );
    assert!(run.stdout.contains("0 cached, 4 total"), "{}", run.stdout);
    assert!(
        run.stderr.contains("signature does not match"),
        "{}",
        run.stderr
    );

    // The right key: hits.
    let third = node_clone();
    let run = build(&third.root, &env(Some("the shared key")));
    assert!(
        run.stdout.contains("4 cached, 4 total"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );

    // Unsigned artifacts are refused when a key is set.
    let unsigned = node_clone();
    let path = unsigned.root.join("packages/utils/src/index.mjs");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("\n// changed\n");
    std::fs::write(&path, &text).unwrap();
    common::git(&unsigned.root, &["commit", "-qam", "change"]);
    build(&unsigned.root, &env(None));
    let fourth = node_clone();
    std::fs::write(fourth.root.join("packages/utils/src/index.mjs"), &text).unwrap();
    common::git(&fourth.root, &["commit", "-qam", "change"]);
    let run = build(&fourth.root, &env(Some("the shared key")));
    assert!(run.stderr.contains("is not signed"), "{}", run.stderr);
}

#[test]
fn signed_uploads_work_on_s3_too() {
    let garage = Garage::start();
    let mut env = garage.aws_env();
    env.push(("MONO_REMOTE_CACHE", garage.url("signed")));
    env.push(("MONO_REMOTE_CACHE_SIGNATURE_KEY", "k1".to_owned()));
    second_clone_gets_everything(&env);
    let fx = node_clone();
    let mut other = env.clone();
    other.pop();
    other.push(("MONO_REMOTE_CACHE_SIGNATURE_KEY", "k2".to_owned()));
    let run = build_with(&fx.root, &["build", "--cache=local:rw,remote:r"], &other);
    assert!(run.stdout.contains("0 cached, 4 total"), "{}", run.stdout);
    assert!(
        run.stderr.contains("signature does not match"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_tampered_download_is_refused_before_anything_is_restored() {
    let server = Server::start(&[], &[], &[]);
    let env = vec![
        ("MONO_REMOTE_CACHE", server.url.clone()),
        ("MONO_REMOTE_CACHE_TOKEN", "test-token".to_owned()),
    ];
    let first = node_clone();
    build(&first.root, &env);
    // Flip the last byte of every stored artifact (inside the zstd archive).
    for object in walk(&server.store) {
        let mut bytes = std::fs::read(&object).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&object, bytes).unwrap();
    }
    let second = node_clone();
    let run = build(&second.root, &env);
    assert!(run.stdout.contains("0 cached, 4 total"), "{}", run.stdout);
    assert!(run.stderr.contains("checksum"), "{}", run.stderr);
    assert_eq!(outputs(&second.root), outputs(&first.root));
}

#[test]
fn a_server_answering_garbage_is_one_warning_and_is_then_left_alone() {
    let server = Server::start(&[], &[], &[]);
    let env = vec![
        ("MONO_REMOTE_CACHE", server.url.clone()),
        ("MONO_REMOTE_CACHE_TOKEN", "test-token".to_owned()),
    ];
    let first = node_clone();
    build(&first.root, &env);
    // Replace every artifact with an HTML error page, as a misconfigured proxy would serve.
    for object in walk(&server.store) {
        let header = b"{}";
        let mut bytes = b"MCS1".to_vec();
        bytes.extend_from_slice(&(header.len() as u32).to_be_bytes());
        bytes.extend_from_slice(header);
        bytes.extend_from_slice(b"<html><body>502 Bad Gateway</body></html>");
        std::fs::write(&object, bytes).unwrap();
    }
    let second = node_clone();
    let run = build(&second.root, &env);
    assert!(run.stdout.contains("0 cached, 4 total"), "{}", run.stdout);
    assert_eq!(remote_warnings(&run.stderr), 1, "{}", run.stderr);
    assert!(run.stderr.contains("not a mono artifact"), "{}", run.stderr);
    assert_eq!(outputs(&second.root), outputs(&first.root));
}

/// Issue 16: one artifact the server fails on (HTTP 500) was taken for the whole remote
/// being down, and no task was cached.
#[test]
fn a_server_error_on_one_artifact_is_a_miss_for_that_artifact_only() {
    let server = Server::start(&[], &[], &[]);
    let env = vec![
        ("MONO_REMOTE_CACHE", server.url.clone()),
        ("MONO_REMOTE_CACHE_TOKEN", "test-token".to_owned()),
    ];
    let first = node_clone();
    build(&first.root, &env);
    // One object the server cannot read: it answers 500 for that hash alone.
    let objects = artifacts(&server.store);
    assert_eq!(objects.len(), 4);
    std::fs::write(&objects[0], b"not a stored artifact").unwrap();
    let second = node_clone();
    let run = build(&second.root, &env);
    assert!(run.stdout.contains("3 cached, 4 total"), "{}", run.stdout);
    assert!(run.stderr.contains("HTTP 500"), "{}", run.stderr);
    assert!(!run.stderr.contains("unavailable"), "{}", run.stderr);
    assert_eq!(outputs(&second.root), outputs(&first.root));
}

#[test]
fn a_remote_that_never_answers_times_out_once() {
    // Accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let fx = node_clone();
    let path = fx.root.join("turbo.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        format!("{text}\n[remoteCache]\napiUrl = \"http://127.0.0.1:{port}\"\ntimeout = 1\nuploadTimeout = 1\n"),
    )
    .unwrap();
    common::git(&fx.root, &["commit", "-qam", "slow remote"]);
    let run = build(&fx.root, &[]);
    assert!(
        run.stdout.contains("4 successful, 4 total"),
        "{}",
        run.stdout
    );
    assert_eq!(remote_warnings(&run.stderr), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("did not answer within 1s") || run.stderr.contains("timed out"),
        "{}",
        run.stderr
    );
}

#[test]
fn cache_pull_fills_the_local_cache_and_status_counts_it() {
    let garage = Garage::start();
    let mut env = garage.aws_env();
    env.push(("MONO_REMOTE_CACHE", garage.url("pull")));
    let first = node_clone();
    build(&first.root, &env);

    let second = node_clone();
    let run = run_mono(&second.root, &["cache", "status"], &env);
    assert!(run.ok, "{}", run.stderr);
    assert!(run.stdout.contains("entries: 0"), "{}", run.stdout);
    assert!(run.stdout.contains("entries: 4"), "{}", run.stdout);

    let run = run_mono(
        &second.root,
        &["cache", "pull", "build", "--filter=web"],
        &env,
    );
    assert!(run.ok, "{}", run.stderr);
    // web and the two packages it depends on.
    assert!(run.stderr.contains("web#build: fetched"), "{}", run.stderr);
    assert!(run.stderr.contains("pulled 3 of 3"), "{}", run.stderr);
    let run = run_mono(&second.root, &["cache", "pull", "build"], &env);
    assert!(run.stderr.contains("docs#build: fetched"), "{}", run.stderr);
    assert!(run.stderr.contains("pulled 1 of 1"), "{}", run.stderr);
    assert!(
        run.stderr.contains("3 were already local"),
        "{}",
        run.stderr
    );

    let run = run_mono(&second.root, &["cache", "status"], &env);
    assert!(run.stdout.contains("local cache:"), "{}", run.stdout);
    assert_eq!(
        run.stdout.matches("entries: 4").count(),
        2,
        "{}",
        run.stdout
    );
    // Everything is local now: no remote needed.
    let run = build_with(&second.root, &["build", "--cache=local:rw"], &[]);
    assert!(run.stdout.contains("4 cached, 4 total"), "{}", run.stdout);

    let run = run_mono(&second.root, &["cache", "pull", "build"], &[]);
    assert!(!run.ok);
    assert!(
        run.stderr.contains("no remote cache is configured"),
        "{}",
        run.stderr
    );
}

#[test]
fn dry_run_reports_remote_hits() {
    let server = Server::start(&[], &[], &[]);
    let env = vec![
        ("MONO_REMOTE_CACHE", server.url.clone()),
        ("MONO_REMOTE_CACHE_TOKEN", "test-token".to_owned()),
    ];
    let first = node_clone();
    build(&first.root, &env);
    let second = node_clone();
    let run = run_mono(&second.root, &["build", "--dry=json"], &env);
    assert!(run.ok, "{}", run.stderr);
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    for task in plan["tasks"].as_array().unwrap() {
        if task["command"] == "<NONEXISTENT>" {
            continue;
        }
        assert_eq!(task["cache"]["remote"], true, "{task}");
        assert_eq!(task["cache"]["local"], false, "{task}");
    }
}

#[test]
fn bad_remote_urls_are_usage_errors() {
    let fx = node_clone();
    let run = run_mono(&fx.root, &["build", "--remote-cache", "ftp://host"], &[]);
    assert!(!run.ok);
    assert!(run.stderr.contains("s3://BUCKET/PREFIX"), "{}", run.stderr);
    let path = fx.root.join("turbo.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        format!("{text}\n[remoteCache]\napiUrl = \"gs://bucket\"\n"),
    )
    .unwrap();
    let run = run_mono(&fx.root, &["build"], &[]);
    assert!(!run.ok);
    let line = text.lines().count() + 3;
    assert!(
        run.stderr.contains(&format!("turbo.toml:{line}:")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("is not an s3:// or http(s):// URL"),
        "{}",
        run.stderr
    );
}

// ---------------------------------------------------------------------------------------
// turbo

fn turbo_build(root: &Path, server: &Server) -> String {
    let out = Command::new(turbo_binary())
        .args(["run", "build"])
        .current_dir(root)
        .env("TURBO_API", &server.url)
        .env("TURBO_TOKEN", "test-token")
        .env("TURBO_TEAM", "turbo-team")
        .env("TURBO_TELEMETRY_DISABLED", "1")
        .env("DO_NOT_TRACK", "1")
        .env("TURBO_NO_UPDATE_NOTIFIER", "1")
        .env("TURBO_PRINT_VERSION_DISABLED", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "turbo run build failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn real_turbo_stores_and_hits_through_the_cache_server() {
    let server = Server::start(&[], &[], &[]);
    let turbo_clone = || {
        let fx = fixture("node-only");
        std::fs::remove_file(fx.root.join("turbo.toml")).unwrap();
        common::git(&fx.root, &["commit", "-qam", "turbo.json only"]);
        fx
    };
    let first = turbo_clone();
    let out = turbo_build(&first.root, &server);
    assert!(out.contains("0 cached, 4 total"), "{out}");
    assert_eq!(walk(&server.store.join("turbo-team")).len(), 4);
    let second = turbo_clone();
    let out = turbo_build(&second.root, &server);
    assert!(out.contains("4 cached, 4 total"), "{out}");
    assert!(out.contains("FULL TURBO"), "{out}");
    assert_eq!(outputs(&second.root), outputs(&first.root));
}
