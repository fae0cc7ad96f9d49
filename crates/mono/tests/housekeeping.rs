//! Housekeeping of the local cache (issue 16): what killed runs leave behind is removed by
//! the next run, `mono cache prune` and `cacheMaxSize` / `cacheMaxAge` bound the cache.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{build, fixture, mono};

/// Every temporary file in the cache folder and its entries folder.
fn temp_files(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for dir in ["cache", "cache/v2"] {
        let Ok(listing) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in listing {
            let entry = entry.unwrap();
            if entry.file_name().to_string_lossy().starts_with(".tmp") {
                found.push(entry.path());
            }
        }
    }
    found
}

fn entry_count(root: &Path) -> usize {
    std::fs::read_dir(root.join("cache/v2"))
        .map(|rd| {
            rd.filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".json")
            })
            .count()
        })
        .unwrap_or(0)
}

#[test]
fn the_run_after_kill_9s_leaves_no_temporary_file() {
    // Large, incompressible outputs: packing them takes a while, so kills land in it too.
    let (_dir, root) = common::build_repo(
        "mkdir -p out && head -c 30000000 /dev/urandom > out/big && touch packing",
    );
    std::fs::write(root.join(".gitignore"), "cache/\nsvc/out/\nsvc/packing\n").unwrap();
    common::commit_all(&root);
    for round in 0..6u64 {
        let _ = std::fs::remove_file(root.join("svc/packing"));
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("mono"))
            .args(["build", "--force"])
            .current_dir(&root)
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Once the task is done, mono packs: kill it at a different moment each round.
        while !root.join("svc/packing").exists() {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(round * 15));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
    }
    // What a kill leaves looks like this; a pid above Linux's pid_max is never running.
    std::fs::create_dir_all(root.join("cache/v2")).unwrap();
    std::fs::write(root.join("cache/v2/.tmp-4194400-7"), vec![0u8; 4096]).unwrap();
    std::fs::write(root.join("cache/.tmp-4194400-8"), b"records").unwrap();
    assert!(!temp_files(&root).is_empty());

    let out = mono(&root).arg("build").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(temp_files(&root), Vec::<PathBuf>::new());
}

#[test]
fn cache_prune_and_the_configured_limits_evict_least_recently_used_first() {
    let repo = fixture("node-only");
    let root = &repo.root;
    assert!(build(root, &[]).0);
    assert_eq!(entry_count(root), 4);

    let out = mono(root)
        .args(["cache", "prune", "--max-size", "1B", "--dry"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("would remove 4 entries"), "{stdout}");
    assert_eq!(entry_count(root), 4, "--dry removes nothing");

    let out = mono(root)
        .args(["cache", "prune", "--max-size", "ten gigabytes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--max-size"));

    let out = mono(root)
        .args(["cache", "prune", "--max-age", "30d", "--max-size", "10GB"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("removed 0 entries"), "{stdout}");
    assert!(stdout.contains("kept 4 entries"), "{stdout}");
    let out = mono(root)
        .args(["cache", "prune", "--max-size", "1B"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("removed 4 entries"), "{stdout}");
    assert_eq!(entry_count(root), 0);

    // `cacheMaxSize` in turbo.toml, applied after every run.
    let config = root.join("turbo.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("cacheMaxSize = \"1B\"\n{text}")).unwrap();
    let (ok, out) = build(root, &[]);
    assert!(ok, "{out}");
    assert_eq!(entry_count(root), 0, "evicted after the run");

    // A value that does not parse is an error that names the file.
    std::fs::write(&config, format!("cacheMaxAge = \"a week\"\n{text}")).unwrap();
    let out = mono(root).arg("build").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cacheMaxAge") && stderr.contains("turbo.toml:1:"),
        "{stderr}"
    );
}
