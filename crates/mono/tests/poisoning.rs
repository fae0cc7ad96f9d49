//! Cache poisoning (issue 16): whoever can write a cache entry, in the local cache folder or
//! with a remote write token, must not be able to make a hit write anything the task could
//! not have produced. Crafted entries that plant a git hook, overwrite another package's
//! source, overwrite a tracked file of the task's own package, or write outside the task's
//! `outputs` are each refused whole, with one warning naming the task and the path; the
//! task runs instead. Through the local store and through `mono-cache-server`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::{fixture, git, mono};
use mono_cache::{
    ArchiveInfo, Artifact, ArtifactMeta, CacheKey, CacheStore, Checksum, RemoteOptions,
    RemoteStore, RemoteUrl, TaskInfo, FORMAT_VERSION,
};

const TASK: &str = "@repo/utils#build";

/// One poisoned entry: its name in the archive, and the file it targets in the checkout.
struct Case {
    what: &'static str,
    entry: &'static str,
}

const CASES: &[Case] = &[
    Case {
        what: "a git hook",
        entry: ".git/hooks/post-checkout",
    },
    Case {
        what: "another package's tracked source",
        entry: "packages/ui/src/index.mjs",
    },
    Case {
        what: "a tracked source file of the task's own package",
        entry: "packages/utils/src/index.mjs",
    },
    Case {
        what: "a tracked file inside the task's outputs",
        entry: "packages/utils/dist/checked-in.txt",
    },
    Case {
        what: "a path outside the outputs globs",
        entry: "packages/utils/planted.txt",
    },
];

/// A tar.zst for `key` as an attacker would write it: the key, the log, a legitimate
/// output, then `entry` (an executable file).
fn crafted_archive(key: &CacheKey, entry: &str) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut append = |name: &str, mode: u32, data: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_path(name).unwrap();
        header.set_cksum();
        builder.append(&header, data).unwrap();
    };
    append("key", 0o644, format!("{key}\n").as_bytes());
    append("log", 0o644, b"built @repo/utils -> dist/index.mjs\n");
    append(
        "outputs/packages/utils/dist/index.mjs",
        0o644,
        b"export const poisoned = true;\n",
    );
    append(
        &format!("outputs/{entry}"),
        0o755,
        b"#!/bin/sh\necho owned > /tmp/mono-poisoned\n",
    );
    let tar = builder.into_inner().unwrap();
    zstd::encode_all(&tar[..], 3).unwrap()
}

fn meta_for(key: CacheKey, archive: &[u8]) -> ArtifactMeta {
    ArtifactMeta {
        version: FORMAT_VERSION,
        hash: key,
        task: TaskInfo {
            task_id: TASK.to_owned(),
            duration_ms: 1,
            exit_code: 0,
        },
        archive: ArchiveInfo {
            blake3: Checksum::of(archive),
            size: archive.len() as u64,
        },
    }
}

/// The node-only fixture with a file git tracks inside `@repo/utils`'s outputs.
fn checkout() -> common::Fixture {
    let repo = fixture("node-only");
    let tracked = repo.root.join("packages/utils/dist/checked-in.txt");
    std::fs::create_dir_all(tracked.parent().unwrap()).unwrap();
    std::fs::write(&tracked, "checked in\n").unwrap();
    git(
        &repo.root,
        &["add", "-f", "packages/utils/dist/checked-in.txt"],
    );
    git(&repo.root, &["commit", "-qm", "a tracked file in dist"]);
    repo
}

/// The task hash of `@repo/utils#build`, from `--dry=json`.
fn utils_key(root: &Path) -> CacheKey {
    let plan = common::dry_json(root, &["build", "--filter=@repo/utils"]);
    let hash = plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["taskId"] == TASK)
        .unwrap()["hash"]
        .as_str()
        .unwrap()
        .to_owned();
    hash.parse().unwrap()
}

/// What the poisoned paths hold before the run, to compare with after it.
fn targets(root: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    CASES
        .iter()
        .map(|case| {
            let path = root.join(case.entry);
            let content = std::fs::read(&path).ok();
            (path, content)
        })
        .collect()
}

/// Runs the build and checks that the crafted entry was refused whole: one warning naming
/// the task and the path, nothing written, the task ran.
fn assert_refused(root: &Path, case: &Case, args: &[&str], env: &[(&str, String)]) {
    let before = targets(root);
    let mut cmd = mono(root);
    cmd.args(["build", "--filter=@repo/utils"]).args(args);
    for (name, value) in env {
        cmd.env(name, value);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: {stdout}\n{stderr}", case.what);
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(
        warnings.len(),
        1,
        "{}: one warning expected:\n{stderr}",
        case.what
    );
    assert!(
        warnings[0].contains(TASK) && warnings[0].contains(case.entry),
        "{}: the warning names the task and the path: {}",
        case.what,
        warnings[0]
    );
    assert!(
        stdout.contains("@repo/utils:build: cache miss, executing"),
        "{}: the task must run:\n{stdout}",
        case.what
    );
    assert_eq!(targets(root), before, "{}: a target changed", case.what);
    assert!(
        !root.join(".git/hooks/post-checkout").exists(),
        "{}: a git hook was planted",
        case.what
    );
    // The task ran: its own output, not the crafted one.
    assert_eq!(
        std::fs::read_to_string(root.join("packages/utils/dist/index.mjs")).unwrap(),
        std::fs::read_to_string(root.join("packages/utils/src/index.mjs")).unwrap(),
        "{}: the legitimate-looking output of the refused entry was written",
        case.what
    );
}

#[test]
fn crafted_local_entries_are_refused_whole() {
    let repo = checkout();
    let root = &repo.root;
    let key = utils_key(root);
    let entries = root.join("cache/v2");
    for case in CASES {
        let archive = crafted_archive(&key, case.entry);
        let meta = meta_for(key, &archive);
        std::fs::create_dir_all(&entries).unwrap();
        let short = &meta.archive.blake3.to_string()[..16];
        std::fs::write(entries.join(format!("{key}.{short}.tar.zst")), &archive).unwrap();
        std::fs::write(entries.join(format!("{key}.json")), meta.to_json()).unwrap();
        assert_refused(root, case, &[], &[]);
    }
    // The last run stored a good entry in place of the crafted one: a legitimate hit.
    std::fs::remove_dir_all(root.join("packages/utils/dist/")).unwrap();
    git(
        root,
        &["checkout", "--", "packages/utils/dist/checked-in.txt"],
    );
    let out = mono(root)
        .args(["build", "--filter=@repo/utils"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("@repo/utils:build: cache hit, replaying logs"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(root.join("packages/utils/dist/index.mjs").exists());
}

/// `mono-cache-server` (disk storage) on a free loopback port.
struct Server {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let mono = assert_cmd::cargo::cargo_bin("mono");
        let bin = mono.with_file_name("mono-cache-server");
        if !bin.exists() {
            let status = Command::new(env!("CARGO"))
                .args(["build", "-p", "mono-cache-server"])
                .status()
                .unwrap();
            assert!(status.success(), "cannot build mono-cache-server");
        }
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(bin)
            .args(["--listen", "127.0.0.1:0", "--token", "test-token", "--dir"])
            .arg(dir.path().join("store"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let addr = common::server_address(&mut child);
        Server {
            child,
            url: format!("http://{addr}"),
            _dir: dir,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn crafted_remote_entries_are_refused_whole() {
    let server = Server::start();
    let repo = checkout();
    let root = &repo.root;
    let key = utils_key(root);
    let scratch = tempfile::tempdir().unwrap();
    let remote = RemoteStore::new(
        RemoteUrl::parse(&server.url).unwrap(),
        RemoteOptions {
            token: Some("test-token".to_owned()),
            ..RemoteOptions::default()
        },
        scratch.path(),
    )
    .unwrap();
    let env = [
        ("MONO_REMOTE_CACHE", server.url.clone()),
        ("MONO_REMOTE_CACHE_TOKEN", "test-token".to_owned()),
    ];
    for case in CASES {
        // Uploaded with a write token, as a hostile client would.
        let archive = crafted_archive(&key, case.entry);
        let mut file = tempfile::NamedTempFile::new_in(scratch.path()).unwrap();
        std::io::Write::write_all(&mut file, &archive).unwrap();
        let artifact = Artifact::from_temp_file(meta_for(key, &archive), file).unwrap();
        remote.put(&artifact).unwrap();
        // Remote only, read only: the crafted entry is the only source, and stays.
        assert_refused(root, case, &["--cache=remote:r"], &env);
    }
}
