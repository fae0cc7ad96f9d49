//! One checkout, one writer (issue 16): concurrent runs in one checkout take turns, and a
//! task whose inputs changed while it ran is not stored.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{build, fixture, mono};

/// Every entry of the local cache: task id → (key, archive checksum).
fn entries(root: &Path) -> BTreeMap<String, (String, String)> {
    let mut found = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir(root.join("cache/v2")) else {
        return found;
    };
    for file in dir {
        let path = file.unwrap().path();
        if path.extension().is_none_or(|ext| ext != "json") {
            continue;
        }
        let meta: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        found.insert(
            meta["taskId"].as_str().unwrap().to_owned(),
            (
                meta["hash"].as_str().unwrap().to_owned(),
                meta["archive"]["blake3"].as_str().unwrap().to_owned(),
            ),
        );
    }
    found
}

#[test]
fn four_runs_at_once_in_one_checkout_store_what_a_clean_build_stores() {
    let clean = fixture("node-only");
    assert!(build(&clean.root, &[]).0);
    let expected = entries(&clean.root);
    assert_eq!(expected.len(), 4);

    let repo = fixture("node-only");
    let root = &repo.root;
    for round in 0..20 {
        let _ = std::fs::remove_dir_all(root.join("cache"));
        for package in [
            "apps/web",
            "packages/ui",
            "packages/utils",
            "packages/config",
        ] {
            let _ = std::fs::remove_dir_all(root.join(package).join("dist"));
        }
        let children: Vec<_> = (0..4)
            .map(|_| {
                Command::new(assert_cmd::cargo::cargo_bin("mono"))
                    .arg("build")
                    .current_dir(root)
                    .env("NO_COLOR", "1")
                    .env_remove("MONO_REMOTE_CACHE")
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "round {round}: {stdout}\n{stderr}");
            assert!(
                stdout.contains("4 successful, 4 total"),
                "round {round}: {stdout}"
            );
            assert!(!stderr.contains("warning:"), "round {round}: {stderr}");
        }
        assert_eq!(entries(root), expected, "round {round}");
        // What the runs left on disk is a clean build's too: the next run is all hits.
        let (ok, out) = build(root, &[]);
        assert!(ok && out.contains("FULL MONO"), "round {round}: {out}");
    }
}

#[test]
fn no_wait_fails_clearly_while_another_run_holds_the_checkout() {
    // A task that says it started, then waits for the test to let it go.
    let (_dir, root) = common::build_repo(
        "touch started; while [ ! -e go ]; do sleep 0.05; done; mkdir -p out && echo built > out/x",
    );
    std::fs::write(
        root.join(".gitignore"),
        "cache/\nsvc/started\nsvc/go\nsvc/out/\n",
    )
    .unwrap();
    common::commit_all(&root);
    let first = Command::new(assert_cmd::cargo::cargo_bin("mono"))
        .arg("build")
        .current_dir(&root)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    while !root.join("svc/started").exists() {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = mono(&root).args(["build", "--no-wait"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "another mono run is running in this checkout (pid {})",
            first.id()
        )),
        "{stderr}"
    );
    // Read-only commands do not wait.
    mono(&root).args(["build", "--dry=json"]).assert().success();
    mono(&root).arg("ls").assert().success();
    // A second run waits, says so, then hits the first one's entry.
    let second = Command::new(assert_cmd::cargo::cargo_bin("mono"))
        .arg("build")
        .current_dir(&root)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    std::fs::write(root.join("svc/go"), "").unwrap();
    let out = second.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("waiting for another mono run in this checkout (pid "),
        "{stderr}"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("FULL MONO"),
        "the second run hit the first run's entry"
    );
    let mut first = first;
    assert!(first.wait().unwrap().success());
}

#[test]
fn a_task_whose_input_changed_while_it_ran_is_not_stored() {
    // The task edits one of its own inputs as it runs, as a code generator or a
    // formatter would (or an editor, or another tool).
    let (_dir, root) =
        common::build_repo("echo more >> input.txt && mkdir -p out && echo built > out/x");
    std::fs::write(root.join("svc/input.txt"), "input\n").unwrap();
    std::fs::write(root.join(".gitignore"), "cache/\nsvc/out/\n").unwrap();
    common::commit_all(&root);
    let out = mono(&root).arg("build").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "svc#build: result not cached: svc/input.txt (an input, or a dependency's output) changed while the task ran"
        ),
        "{stderr}"
    );
    assert!(entries(&root).is_empty(), "nothing stored");
}

#[test]
fn a_mono_run_inside_a_task_does_not_wait_for_its_own_parent() {
    let (_dir, root) = common::svc_repo(
        "workspaces = [\"svc\"]\n[tasks.build]\noutputs = [\"out/**\"]\n[tasks.gen]\noutputs = [\"gen.txt\"]\n",
    );
    // A script that runs mono, as `turbo run` inside a package script does.
    std::fs::write(
        root.join("svc/turbo.toml"),
        "name = \"svc\"\n[tasks.build]\ncommand = \"\\\"$MONO_TEST_BIN\\\" run gen && mkdir -p out && cp gen.txt out/x\"\n[tasks.gen]\ncommand = \"echo generated > gen.txt\"\n",
    )
    .unwrap();
    std::fs::write(root.join(".gitignore"), "cache/\nsvc/out/\nsvc/gen.txt\n").unwrap();
    common::commit_all(&root);
    let bin = assert_cmd::cargo::cargo_bin("mono");
    let mut child = Command::new(&bin)
        .arg("build")
        .current_dir(&root)
        .env("NO_COLOR", "1")
        .env("MONO_TEST_BIN", &bin)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the nested mono run waited for its parent's lock");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(root.join("svc/out/x")).unwrap(),
        "generated\n"
    );
}
