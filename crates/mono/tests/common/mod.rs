//! Shared test setup: copy a fixture repository into a temp dir, commit it with git, and
//! run the real `mono` binary on it.
#![allow(dead_code, reason = "each test binary uses a different part")]

pub mod garage;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use assert_cmd::Command;
use serde_json::Value;

/// The repository's fixtures folder.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// A fixture copied into a temp dir and committed with git.
pub struct Fixture {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
}

/// Folders that builds create and that a copy must not carry.
const SKIP: &[&str] = &[
    "node_modules",
    "target",
    "dist",
    "bin",
    "out",
    ".turbo",
    "cache",
];

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        let kind = entry.file_type().unwrap();
        let target = to.join(&name);
        if kind.is_dir() {
            if !SKIP.contains(&name.to_str().unwrap()) {
                copy_tree(&entry.path(), &target);
            }
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path()).unwrap(), &target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

impl Fixture {
    /// A repository already written at `root`, inside `dir` (removed with it).
    pub fn at(dir: tempfile::TempDir, root: PathBuf) -> Fixture {
        Fixture { _dir: dir, root }
    }
}

/// Runs git in `dir`, failing the test if it fails.
pub fn git(dir: &Path, args: &[&str]) {
    let status = StdCommand::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "mono tests")
        .env("GIT_AUTHOR_EMAIL", "tests@mono.invalid")
        .env("GIT_COMMITTER_NAME", "mono tests")
        .env("GIT_COMMITTER_EMAIL", "tests@mono.invalid")
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?} failed in {}", dir.display());
}

/// Copies `fixtures/<name>` (a path below fixtures/) into a fresh temp dir with `git init`
/// and one commit.
pub fn fixture(name: &str) -> Fixture {
    if name == "polyglot" {
        // Its Go modules build with go: fail here, naming the fix, rather than in a build.
        mono_test_tools::path(mono_test_tools::Tool::Go);
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    copy_tree(&fixtures_dir().join(name), &root);
    git(&root, &["init", "-q", "-b", "main"]);
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-q", "-m", "fixture"]);
    Fixture { _dir: dir, root }
}

/// The `mono` binary, run in `root`, without colors.
pub fn mono(root: &Path) -> Command {
    let mut cmd = Command::cargo_bin("mono").unwrap();
    cmd.current_dir(root)
        .env("NO_COLOR", "1")
        // Whole `--dry` lines unless a test sets a width.
        .env_remove("COLUMNS")
        .env_remove("MONO_REMOTE_CACHE");
    cmd
}

/// An error report's words on one line: miette wraps reports at 100 columns (mid-path when a
/// path is long, as temp dirs are on macOS) and draws a gutter (`×`, `│`). Match messages
/// against this, so that no test depends on the length of a path.
pub fn report_words(stderr: &str) -> String {
    stderr
        .lines()
        .map(|line| line.trim_start().trim_start_matches(['×', '│']))
        .flat_map(str::split_whitespace)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `mono build EXTRA...` at `root`: whether it succeeded, and stdout followed by stderr.
pub fn build(root: &Path, extra: &[&str]) -> (bool, String) {
    let out = mono(root).arg("build").args(extra).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    (
        out.status.success(),
        stdout + &String::from_utf8_lossy(&out.stderr),
    )
}

/// Runs `mono <args> --dry=json` and parses its output.
pub fn dry_json(root: &Path, args: &[&str]) -> Value {
    let output = mono(root).args(args).arg("--dry=json").output().unwrap();
    assert!(
        output.status.success(),
        "mono {args:?} --dry=json failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// `taskId -> sorted dependencies` of a `--dry=json` document.
pub fn edges(plan: &Value) -> BTreeMap<String, Vec<String>> {
    plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let mut deps: Vec<String> = t["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_str().unwrap().to_owned())
                .collect();
            deps.sort();
            (t["taskId"].as_str().unwrap().to_owned(), deps)
        })
        .collect()
}

/// Builds an edge map from `("task", &["dep", ...])` pairs.
pub fn expect_edges(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    pairs
        .iter()
        .map(|(task, deps)| {
            let mut deps: Vec<String> = deps.iter().map(|d| (*d).to_owned()).collect();
            deps.sort();
            ((*task).to_owned(), deps)
        })
        .collect()
}

/// The real turbo (2.11), from the tools `make test` installs (crates/mono-test-tools).
pub fn turbo_binary() -> PathBuf {
    mono_test_tools::path(mono_test_tools::Tool::Turbo)
}

/// A repository of one generic package `svc` below a root turbo.toml of `root_toml`, in a
/// fresh temp dir (kept alive by the returned handle); the caller writes `svc/turbo.toml`
/// and the rest, then calls [`commit_all`].
pub fn svc_repo(root_toml: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    std::fs::create_dir_all(root.join("svc")).unwrap();
    std::fs::write(root.join("turbo.toml"), root_toml).unwrap();
    (dir, root)
}

/// [`svc_repo`] whose root config caches `build`'s `out/`, and whose `svc` package's
/// `build` runs `command`.
pub fn build_repo(command: &str) -> (tempfile::TempDir, PathBuf) {
    let (dir, root) = svc_repo("workspaces = [\"svc\"]\n[tasks.build]\noutputs = [\"out/**\"]\n");
    std::fs::write(
        root.join("svc/turbo.toml"),
        format!("name = \"svc\"\n[tasks.build]\ncommand = \"{command}\"\n"),
    )
    .unwrap();
    (dir, root)
}

/// `git init` and one commit of everything at `root`.
pub fn commit_all(root: &Path) {
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "svc"]);
}

/// `mono ls --affected --json` (plus `args`): affected package → its reason.
pub fn affected(root: &Path, args: &[&str], env: &[(&str, &str)]) -> BTreeMap<String, Value> {
    let mut cmd = mono(root);
    cmd.args(["ls", "--affected", "--json"]).args(args);
    for var in [
        "MONO_SCM_BASE",
        "MONO_SCM_HEAD",
        "TURBO_SCM_BASE",
        "TURBO_SCM_HEAD",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "mono ls --affected failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap().to_owned(), p["reason"].clone()))
        .collect()
}

/// The address a `mono-cache-server` child listens on, from its JSON log's "listening"
/// line; its log is read on from then on, so that it never blocks on a full pipe.
pub fn server_address(child: &mut std::process::Child) -> String {
    use std::io::{BufRead, BufReader};
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("the server exited before listening")
            .unwrap();
        let value: Value = serde_json::from_str(&line).unwrap();
        if value["message"] == "listening" {
            break value["addr"].as_str().unwrap().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    addr
}

/// Waits until the filesystem clock has passed the mtime and ctime of every file and folder
/// of the repository at `root` (but `.git` and the cache folder), so that mono trusts their
/// stamps and records a task's outputs (docs/cache.md, "Warm hits"). A ctime cannot be set
/// back (`File::set_times` moves only the mtime), so this waits, but for the clock itself,
/// never a guessed time: it polls the filesystem clock, one tick at most.
pub fn settle(root: &Path) {
    let newest = walkdir::WalkDir::new(root)
        .into_iter()
        .filter_entry(|entry| {
            entry.depth() != 1 || !matches!(entry.file_name().to_str(), Some(".git" | "cache"))
        })
        .filter_map(Result::ok)
        .filter_map(|entry| entry.metadata().ok())
        .filter_map(|meta| mono_stamp::Stamp::of(&meta))
        .map(|stamp| stamp.newest_ns())
        .max()
        .unwrap_or(0);
    assert!(
        mono_stamp::FsClock::in_dir(root.join("cache")).wait_past(newest),
        "the filesystem clock did not move"
    );
}
