//! Faults through the binary: a truncated cache entry, a crafted archive that tries to write
//! outside the repository, Ctrl-C, SIGQUIT and a closed terminal (SIGHUP) in the middle of a
//! run, and outputs changed behind the cache's back.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{build, fixture, git, mono};

fn entries(root: &Path, suffix: &str) -> Vec<PathBuf> {
    let dir = root.join("cache/v2");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().path())
                .filter(|p| p.to_string_lossy().ends_with(suffix))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// The metadata file of the cache entry of `task_id`.
fn meta_of(root: &Path, task_id: &str) -> (PathBuf, serde_json::Value) {
    entries(root, ".json")
        .into_iter()
        .map(|p| {
            let meta: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            (p, meta)
        })
        .find(|(_, meta)| meta["taskId"] == task_id)
        .unwrap_or_else(|| panic!("no cache entry for {task_id}"))
}

#[test]
fn truncated_entries_are_one_warning_each_and_get_replaced() {
    let repo = fixture("node-only");
    let root = &repo.root;
    mono(root).arg("build").assert().success();
    let archives = entries(root, ".tar.zst");
    assert!(!archives.is_empty());
    for archive in &archives {
        let bytes = std::fs::read(archive).unwrap();
        std::fs::write(archive, &bytes[..bytes.len() / 2]).unwrap();
    }
    let out = mono(root).arg("build").output().unwrap();
    assert!(out.status.success(), "a corrupt cache never fails a build");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(
        warnings.len(),
        archives.len(),
        "one warning per corrupt entry:\n{stderr}"
    );
    assert!(
        warnings.iter().all(|w| w.contains("treating it as a miss")),
        "{stderr}"
    );
    assert!(
        stdout.contains("web:build: cache miss, executing"),
        "{stdout}"
    );
    // The entries were replaced: the next run is all hits, without warnings.
    let out = mono(root).arg("build").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(">>> FULL MONO"));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning:"));
}

/// A tar.zst for `key` whose third entry is named `name` (written raw, as an attacker
/// would): a file, or a symlink to `link` when given.
fn crafted_archive(key: &str, name: &str, link: Option<&str>) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(65);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_path("key").unwrap();
    header.set_cksum();
    builder
        .append(&header, format!("{key}\n").as_bytes())
        .unwrap();
    let mut header = tar::Header::new_gnu();
    header.set_size(4);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_path("log").unwrap();
    header.set_cksum();
    builder.append(&header, &b"log\n"[..]).unwrap();
    let mut header = tar::Header::new_gnu();
    header.set_mode(0o644);
    let raw = &mut header.as_gnu_mut().unwrap().name;
    raw[..name.len()].copy_from_slice(name.as_bytes());
    match link {
        Some(target) => {
            header.set_size(0);
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_link_name(target).unwrap();
            header.set_cksum();
            builder.append(&header, &b""[..]).unwrap();
        }
        None => {
            header.set_size(6);
            header.set_entry_type(tar::EntryType::Regular);
            header.set_cksum();
            builder.append(&header, &b"owned\n"[..]).unwrap();
        }
    }
    let tar = builder.into_inner().unwrap();
    zstd::encode_all(&tar[..], 3).unwrap()
}

#[test]
fn a_crafted_archive_cannot_write_outside_the_repository() {
    let repo = fixture("node-only");
    let root = &repo.root;
    mono(root)
        .args(["build", "--filter=@repo/utils"])
        .assert()
        .success();
    let (meta_path, mut meta) = meta_of(root, "@repo/utils#build");
    let key = meta["hash"].as_str().unwrap().to_owned();
    let cases = [
        ("outputs/../../escaped.txt", None),
        ("/tmp/mono-escaped-absolute.txt", None),
        (
            "outputs/packages/utils/dist/evil",
            Some("../../../../escaped.txt"),
        ),
    ];
    for (name, link) in cases {
        let archive = crafted_archive(&key, name, link);
        let sum = blake3::hash(&archive).to_hex().to_string();
        std::fs::write(
            root.join(format!("cache/v2/{key}.{}.tar.zst", &sum[..16])),
            &archive,
        )
        .unwrap();
        meta["archive"]["blake3"] = sum.into();
        meta["archive"]["size"] = archive.len().into();
        std::fs::write(&meta_path, serde_json::to_vec(&meta).unwrap()).unwrap();

        let out = mono(root)
            .args(["build", "--filter=@repo/utils"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(stderr.contains("cannot be restored"), "{name}: {stderr}");
        assert!(
            !root.parent().unwrap().join("escaped.txt").exists(),
            "{name} escaped"
        );
        assert!(
            std::fs::symlink_metadata(root.join("packages/utils/dist/evil")).is_err(),
            "{name} was written"
        );
        assert!(
            !Path::new("/tmp/mono-escaped-absolute.txt").exists(),
            "{name} escaped"
        );
        // The task ran instead, and stored a good entry in place of the crafted one.
        assert!(String::from_utf8_lossy(&out.stdout)
            .contains("@repo/utils:build: cache miss, executing"));
        meta = meta_of(root, "@repo/utils#build").1;
    }
}

fn alive(pid: i32) -> bool {
    // A zombie has exited; /proc/PID/stat's third field is its state.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

fn wait_for(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if text.ends_with('\n') {
                return text;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn ctrl_c_stops_every_process_and_caches_nothing() {
    let (_dir, root) = hanging_repo();
    let mut child = spawn_build(&root);
    let (shell, grandchild) = task_pids(&root);
    assert!(alive(shell) && alive(grandchild));
    let mono_pid = rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
    rustix::process::kill_process(mono_pid, rustix::process::Signal::INT).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let deadline = Instant::now() + Duration::from_secs(10);
    while (alive(shell) || alive(grandchild)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!alive(shell), "the task's shell {shell} survived");
    assert!(
        !alive(grandchild),
        "the task's grandchild {grandchild} survived"
    );
    assert!(
        entries(&root, ".json").is_empty(),
        "an interrupted task was cached"
    );
}

/// A repository whose one task starts a grandchild, records both pids, then waits forever.
fn hanging_repo() -> (tempfile::TempDir, PathBuf) {
    let (dir, root) = common::build_repo(
        "mkdir -p out && sleep 300 & echo $! > grandchild.pid; echo $$ > child.pid; wait",
    );
    git(&root, &["init", "-q", "-b", "main"]);
    (dir, root)
}

/// `mono build` in `root`, its output discarded.
fn spawn_build(root: &Path) -> std::process::Child {
    mono_std(root)
        .arg("build")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// The pids the [`hanging_repo`] task records: its shell's and its grandchild's.
fn task_pids(root: &Path) -> (i32, i32) {
    let pid = |file: &str| -> i32 { wait_for(&root.join(file)).trim().parse().unwrap() };
    (pid("svc/child.pid"), pid("svc/grandchild.pid"))
}

/// The parent of `pid`, from /proc/PID/stat.
fn parent_of(pid: i32) -> i32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    stat.rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap()
}

/// Waits (bounded) for every pid to be gone and asserts none survived.
fn assert_all_gone(pids: &[(i32, &str)]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while pids.iter().any(|(pid, _)| alive(*pid)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    for (pid, what) in pids {
        assert!(!alive(*pid), "{what} {pid} survived");
    }
}

/// Issue 16: closing the terminal (SIGHUP) killed mono at once and left the task's processes
/// running. Here mono runs under a pseudo-terminal (`script`, util-linux); killing `script`
/// closes the terminal, and the kernel sends SIGHUP to mono, the session leader.
#[test]
fn closing_the_terminal_stops_every_process_of_the_run() {
    let (_dir, root) = hanging_repo();
    let bin = assert_cmd::cargo::cargo_bin("mono");
    let script = std::process::Command::new("script")
        .args([
            "-qfec",
            &format!("exec '{}' build", bin.display()),
            "/dev/null",
        ])
        .current_dir(&root)
        .env("NO_COLOR", "1")
        .env("SHELL", "/bin/sh")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    let mut script =
        script.expect("`script` (util-linux: apt-get install bsdutils) runs mono under a pty");
    let (shell, grandchild) = task_pids(&root);
    let mono_pid = parent_of(shell);
    assert!(
        std::fs::read_to_string(format!("/proc/{mono_pid}/cmdline"))
            .unwrap()
            .contains("mono"),
        "the task's parent is mono"
    );
    assert!(alive(shell) && alive(grandchild) && alive(mono_pid));
    // The terminal closes.
    script.kill().unwrap();
    script.wait().unwrap();
    assert_all_gone(&[
        (shell, "the task's shell"),
        (grandchild, "the task's grandchild"),
        (mono_pid, "mono"),
    ]);
    assert!(
        entries(&root, ".json").is_empty(),
        "an interrupted task was cached"
    );
}

#[test]
fn sigquit_stops_every_process_of_the_run() {
    let (_dir, root) = hanging_repo();
    let mut child = spawn_build(&root);
    let (shell, grandchild) = task_pids(&root);
    let mono_pid = rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
    rustix::process::kill_process(mono_pid, rustix::process::Signal::QUIT).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert_all_gone(&[
        (shell, "the task's shell"),
        (grandchild, "the task's grandchild"),
    ]);
}

/// Issue 16: an output symlink loop was stored, could never be restored, and the task
/// reran forever. It is refused at store time, with a warning; the task succeeds.
#[test]
fn an_output_symlink_loop_is_not_cached_and_the_task_succeeds() {
    let (_dir, root) = common::build_repo("mkdir -p out && ln -sfn b out/a && ln -sfn a out/b");
    git(&root, &["init", "-q", "-b", "main"]);
    let out = mono(&root).arg("build").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("svc#build: result not cached: symlink loop at svc/out/"),
        "{stderr}"
    );
    assert!(entries(&root, ".json").is_empty());
}

#[test]
fn persistent_tasks_get_a_slot_each() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    let mut workspaces = Vec::new();
    for name in ["a", "b", "c"] {
        std::fs::create_dir_all(root.join(name)).unwrap();
        std::fs::write(
            root.join(format!("{name}/turbo.toml")),
            format!("name = \"{name}\"\n[tasks.dev]\ncommand = \"echo $$ > started.pid; exec sleep 300\"\n"),
        )
        .unwrap();
        workspaces.push(format!("\"{name}\""));
    }
    std::fs::write(
        root.join("turbo.toml"),
        format!(
            "workspaces = [{}]\n[tasks.dev]\npersistent = true\ncache = false\n",
            workspaces.join(", ")
        ),
    )
    .unwrap();
    git(&root, &["init", "-q", "-b", "main"]);

    // Too few slots for three never-ending tasks: an error that says how many are needed.
    let out = mono(&root)
        .args(["dev", "--concurrency=2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("3 persistent tasks cannot run with a concurrency of 2"),
        "{stderr}"
    );
    assert!(stderr.contains("--concurrency=3"), "{stderr}");

    // By default all three start, even on a machine with fewer cores.
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("mono"))
        .arg("dev")
        .current_dir(&root)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pids: Vec<i32> = ["a", "b", "c"]
        .iter()
        .map(|name| {
            wait_for(&root.join(format!("{name}/started.pid")))
                .trim()
                .parse()
                .unwrap()
        })
        .collect();
    let mono_pid = rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
    rustix::process::kill_process(mono_pid, rustix::process::Signal::TERM).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(130));
    let deadline = Instant::now() + Duration::from_secs(10);
    while pids.iter().any(|&p| alive(p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(pids.iter().all(|&p| !alive(p)), "a dev server survived");
}

#[test]
fn warm_hits_skip_the_archive_until_an_output_changes() {
    let repo = fixture("node-only");
    let root = &repo.root;
    let page_path = root.join("apps/web/dist/index.html");
    assert!(build(root, &[]).0);
    let page = std::fs::read(&page_path).unwrap();
    // Let the filesystem clock pass the outputs' stamps, then hit once: the outputs are
    // checked against the archive and recorded (cache/outputs-v2.json).
    common::settle(root);
    let (ok, restored) = build(root, &[]);
    assert!(ok, "{restored}");
    let records = std::fs::read_to_string(root.join("cache/outputs-v2.json")).unwrap();
    assert!(records.contains("\"web#build\""), "{records}");

    // A warm hit replays the same log without reading the archive: a damaged archive of
    // the same size goes unnoticed while the outputs on disk are the recorded ones...
    let (_, meta) = meta_of(root, "web#build");
    let archive = root.join(format!(
        "cache/v2/{}.{}.tar.zst",
        meta["hash"].as_str().unwrap(),
        &meta["archive"]["blake3"].as_str().unwrap()[..16]
    ));
    let good = std::fs::read(&archive).unwrap();
    let mut damaged = good.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 0xff;
    std::fs::write(&archive, &damaged).unwrap();
    let (ok, warm) = build(root, &[]);
    assert!(ok, "{warm}");
    assert!(
        warm.contains("web:build: cache hit, replaying logs"),
        "{warm}"
    );
    assert!(
        !warm.contains("corrupt") && !warm.contains("checksum"),
        "{warm}"
    );
    let logs = |out: &str| -> Vec<String> {
        out.lines()
            .filter(|l| l.starts_with("web:build: ") && !l.contains("cache"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(logs(&warm), logs(&restored));
    std::fs::write(&archive, &good).unwrap();

    // ...and any change to an output sends the hit through the full restore: same size,
    // other bytes;
    let mut edited = page.clone();
    edited[0] ^= 0x20;
    std::fs::write(&page_path, &edited).unwrap();
    assert!(build(root, &[]).0);
    assert_eq!(std::fs::read(&page_path).unwrap(), page);
    // a permission change;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        common::settle(root);
        assert!(build(root, &[]).0);
        let mode = std::fs::metadata(&page_path).unwrap().permissions().mode();
        std::fs::set_permissions(&page_path, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(build(root, &[]).0);
        assert_eq!(
            std::fs::metadata(&page_path).unwrap().permissions().mode(),
            mode
        );
    }
    // a file replaced by a symlink.
    std::fs::remove_file(&page_path).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("/etc/hostname", &page_path).unwrap();
    assert!(build(root, &[]).0);
    assert!(std::fs::symlink_metadata(&page_path).unwrap().is_file());
    assert_eq!(std::fs::read(&page_path).unwrap(), page);
}

/// The real binary at `root`, as a std Command (its streams can be redirected).
fn mono_std(root: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("mono"));
    cmd.current_dir(root)
        .env("NO_COLOR", "1")
        .env_remove("MONO_REMOTE_CACHE");
    cmd
}

fn full() -> std::fs::File {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full exists on Linux")
}

/// Issue 16: `mono ls >/dev/full` and `--dry=json >/dev/full` exited 0 with the output lost;
/// a cache warning to a full stderr panicked (exit 101).
#[test]
fn a_failed_write_to_stdout_or_stderr_is_a_non_zero_exit_not_a_panic() {
    let (_dir, root) = hanging_repo();
    std::fs::write(
        root.join("svc/turbo.toml"),
        "name = \"svc\"\n[tasks.build]\ncommand = \"mkdir -p out && echo hi > out/a\"\n",
    )
    .unwrap();
    for args in [
        &["ls"][..],
        &["ls", "--json"],
        &["build", "--dry=json"],
        &["build", "--dry"],
    ] {
        let out = mono_std(&root).args(args).stdout(full()).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {stderr}");
        assert!(
            stderr.contains("cannot write to stdout"),
            "{args:?}: {stderr}"
        );
    }
    // A remote that refuses connections: one warning, written to a full stderr.
    let out = mono_std(&root)
        .args(["build", "--remote-cache", "http://127.0.0.1:9"])
        .stderr(full())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(root.join("svc/out/a").exists(), "the task ran");
}
