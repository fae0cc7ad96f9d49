//! Cache integrity through the binary (issue 16): files in the cache folder that are not
//! what mono wrote. A FIFO or a device in place of a cache file must not hang the run or
//! eat memory; edited output records must not be trusted; metadata naming another key's
//! archive must be refused.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{build, fixture};

/// Runs `mono build`, killing it (and failing the test) if it has not ended within a
/// minute: the run must end by itself whatever is in the cache folder.
fn build_with_timeout(root: &Path) -> Output {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("mono"))
        .arg("build")
        .current_dir(root)
        .env("NO_COLOR", "1")
        .env_remove("MONO_REMOTE_CACHE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "mono build hung; stderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The metadata file and archive of `task_id`'s entry.
fn entry_of(root: &Path, task_id: &str) -> (PathBuf, PathBuf, serde_json::Value) {
    let dir = root.join("cache/v2");
    for file in std::fs::read_dir(&dir).unwrap() {
        let path = file.unwrap().path();
        if path.extension().is_none_or(|ext| ext != "json") {
            continue;
        }
        let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap())
            .unwrap_or(serde_json::Value::Null);
        if meta["taskId"] == task_id {
            let archive = dir.join(format!(
                "{}.{}.tar.zst",
                meta["hash"].as_str().unwrap(),
                &meta["archive"]["blake3"].as_str().unwrap()[..16]
            ));
            return (path, archive, meta);
        }
    }
    panic!("no entry for {task_id}");
}

fn mkfifo(path: &Path) {
    std::fs::remove_file(path).unwrap();
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

/// A built fixture whose build ran once more, so that its outputs are recorded.
fn built() -> common::Fixture {
    let repo = fixture("node-only");
    assert!(build(&repo.root, &[]).0);
    common::settle(&repo.root);
    let (ok, out) = build(&repo.root, &[]);
    assert!(ok && out.contains("FULL MONO"), "{out}");
    repo
}

#[test]
fn a_fifo_or_a_device_in_place_of_a_cache_file_neither_hangs_nor_grows() {
    for target in [
        "meta",
        "archive",
        "records",
        "stat cache",
        "clock probe",
        "dev/zero meta",
    ] {
        let repo = built();
        let root = &repo.root;
        let (meta, archive, _) = entry_of(root, "web#build");
        match target {
            "meta" => mkfifo(&meta),
            "archive" => mkfifo(&archive),
            "records" => mkfifo(&root.join("cache/outputs-v2.json")),
            "stat cache" => mkfifo(&root.join("cache/stat-cache-v2.bin")),
            "clock probe" => mkfifo(&root.join("cache/clock.probe")),
            _ => {
                std::fs::remove_file(&meta).unwrap();
                std::os::unix::fs::symlink("/dev/zero", &meta).unwrap();
            }
        }
        // Outputs gone, so that the archive is needed.
        std::fs::remove_dir_all(root.join("apps/web/dist")).unwrap();
        let out = build_with_timeout(root);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{target}: {stdout}\n{stderr}");
        assert!(
            root.join("apps/web/dist/index.html").exists(),
            "{target}: outputs are back"
        );
        if matches!(target, "meta" | "archive" | "dev/zero meta") {
            assert!(
                stderr.contains("web#build") && stderr.contains("treating it as a miss"),
                "{target}: {stderr}"
            );
            assert!(
                stderr.contains("FIFO") || stderr.contains("device"),
                "{target}: the warning says what is wrong: {stderr}"
            );
            assert!(
                stdout.contains("web:build: cache miss, executing"),
                "{target}: {stdout}"
            );
        }
    }
}

#[test]
fn edited_output_records_are_not_trusted() {
    let repo = built();
    let root = &repo.root;
    let records_path = root.join("cache/outputs-v2.json");
    let good: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&records_path).unwrap()).unwrap();
    assert!(good["tasks"]["web#build"]["files"]
        .as_array()
        .is_some_and(|f| !f.is_empty()));

    // `files: []` and dist/ deleted: not a hit without outputs, a full restore.
    let mut no_files = good.clone();
    no_files["tasks"]["web#build"]["files"] = serde_json::json!([]);
    std::fs::write(&records_path, serde_json::to_vec(&no_files).unwrap()).unwrap();
    std::fs::remove_dir_all(root.join("apps/web/dist")).unwrap();
    let (ok, out) = build(root, &[]);
    assert!(ok, "{out}");
    assert!(
        root.join("apps/web/dist/index.html").exists(),
        "the outputs were restored:\n{out}"
    );

    // An edited log is not replayed: the archive's log is.
    common::settle(root);
    assert!(build(root, &[]).0);
    let mut value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&records_path).unwrap()).unwrap();
    let log = value["tasks"]["web#build"]["log"]
        .as_str()
        .unwrap()
        .to_owned();
    value["tasks"]["web#build"]["log"] = format!("{log}PLANTED LINE\n").into();
    std::fs::write(&records_path, serde_json::to_vec(&value).unwrap()).unwrap();
    let (ok, out) = build(root, &[]);
    assert!(ok, "{out}");
    assert!(!out.contains("PLANTED LINE"), "{out}");
    assert!(
        out.contains("web:build: cache hit, replaying logs"),
        "{out}"
    );
}

#[test]
fn metadata_naming_another_keys_archive_is_refused() {
    let repo = built();
    let root = &repo.root;
    let (ui_meta, _, ui) = entry_of(root, "@repo/ui#build");
    let (_, utils_archive, utils) = entry_of(root, "@repo/utils#build");
    // The utils entry's (valid) archive, named and described as ui's.
    let ui_key = ui["hash"].as_str().unwrap();
    let mut swapped = utils.clone();
    swapped["hash"] = ui_key.into();
    swapped["taskId"] = "@repo/ui#build".into();
    let short = &utils["archive"]["blake3"].as_str().unwrap()[..16];
    std::fs::copy(
        &utils_archive,
        root.join(format!("cache/v2/{ui_key}.{short}.tar.zst")),
    )
    .unwrap();
    std::fs::write(&ui_meta, serde_json::to_vec_pretty(&swapped).unwrap()).unwrap();
    std::fs::remove_dir_all(root.join("packages/ui/dist")).unwrap();

    let out = build_with_timeout(root);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("@repo/ui#build") && stderr.contains("belongs to another cache key"),
        "{stderr}"
    );
    assert!(
        stdout.contains("@repo/ui:build: cache miss, executing"),
        "{stdout}"
    );
}
