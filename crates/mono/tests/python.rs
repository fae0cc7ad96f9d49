//! Python packages end to end on `fixtures/python`: a uv workspace of three members (the
//! library `acme-lib`, the service `acme-service` on it with one external dependency, the CLI
//! `acme-cli` on it). Discovery, default tasks, `--affected`, per-member uv.lock precision in
//! the task hash, and `mono prune` checked by `uv sync --locked --offline` in the copy.
//!
//! The runs that execute tasks need real uv: `MONO_TEST_UV`, else
//! `~/.cache/mono-tools/python/bin/uv` (`make test`'s bootstrap installs it there; by hand:
//! `pip install --target ~/.cache/mono-tools/python uv`). uv fetches pytest, ruff and idna
//! from PyPI into its cache on the first run.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use common::{dry_json, edges, expect_edges, fixture, git, mono};
use serde_json::Value;

/// The uv binary the tests run, or a failure naming how to install it.
fn uv_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("MONO_TEST_UV") {
        return PathBuf::from(path);
    }
    let home = std::env::var_os("HOME").expect("HOME is set");
    let bin = Path::new(&home).join(".cache/mono-tools/python/bin/uv");
    assert!(
        bin.is_file(),
        "uv is not installed: set MONO_TEST_UV to a uv binary, or run \
         `pip install --target ~/.cache/mono-tools/python uv` (make test's bootstrap does)"
    );
    bin
}

/// `PATH` with uv's folder first, and the variables uv needs here: never download a Python
/// (the machine's python3 serves), trust the system's certificates.
fn uv_env(cmd: &mut assert_cmd::Command) -> &mut assert_cmd::Command {
    let uv = uv_binary();
    let dir = uv.parent().expect("uv has a folder");
    let path = std::env::var("PATH").unwrap_or_default();
    cmd.env("PATH", format!("{}:{path}", dir.display()))
        .env("UV_PYTHON_DOWNLOADS", "never")
        .env("UV_SYSTEM_CERTS", "1")
}

fn run(root: &Path, args: &[&str]) -> String {
    let mut cmd = mono(root);
    uv_env(&mut cmd);
    let out = cmd.args(args).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "mono {args:?} failed:\n{text}");
    text
}

fn hashes(plan: &Value) -> BTreeMap<String, String> {
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

/// The fixture on `main`, with a branch `feature` checked out.
fn on_a_branch() -> common::Fixture {
    let repo = fixture("python");
    git(&repo.root, &["checkout", "-q", "-b", "feature"]);
    repo
}

#[test]
fn the_uv_workspace_members_are_python_packages_with_default_tasks() {
    let repo = fixture("python");
    let plan = dry_json(&repo.root, &["build", "test", "lint"]);
    assert_eq!(
        edges(&plan),
        expect_edges(&[
            ("acme-cli#build", &["acme-lib#build"]),
            ("acme-cli#lint", &[]),
            ("acme-cli#test", &["acme-cli#build"]),
            // `Acme_Lib` in its pyproject.toml, normalised as PEP 503 says.
            ("acme-lib#build", &[]),
            ("acme-lib#lint", &[]),
            ("acme-lib#test", &["acme-lib#build"]),
            ("acme-service#build", &["acme-lib#build"]),
            ("acme-service#lint", &[]),
            ("acme-service#test", &["acme-service#build"]),
        ])
    );
    let task = |id: &str| -> Value {
        plan["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["taskId"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(task("acme-lib#build")["command"], "uv build --out-dir dist");
    assert_eq!(
        task("acme-lib#build")["outputs"],
        serde_json::json!(["dist/**"])
    );
    assert_eq!(task("acme-service#test")["command"], "uv run pytest");
    // Only the library has ruff among its dev dependencies.
    assert_eq!(task("acme-lib#lint")["command"], "uv run ruff check");
    assert_eq!(task("acme-cli#lint")["command"], "<NONEXISTENT>");

    let out = mono(&repo.root).args(["ls"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("acme-service  python   python/service  -> acme-lib"),
        "{text}"
    );
}

#[test]
fn a_library_change_affects_the_service_and_the_cli() {
    let repo = on_a_branch();
    std::fs::write(
        repo.root.join("python/lib/src/acme_lib/__init__.py"),
        "def greet(name: str) -> str:\n    return f\"hi, {name}\"\n",
    )
    .unwrap();
    let got = common::affected(&repo.root, &[], &[]);
    let names: Vec<&str> = got.keys().map(String::as_str).collect();
    assert_eq!(names, ["acme-cli", "acme-lib", "acme-service"]);
    assert_eq!(
        got["acme-service"],
        serde_json::json!({ "type": "dependencyChanged", "dependency": "acme-lib" })
    );
}

#[test]
fn a_uv_lock_change_to_one_external_dependency_affects_only_its_member() {
    let repo = on_a_branch();
    let before = hashes(&dry_json(&repo.root, &["build"]));
    // idna moves to another version, as `uv lock --upgrade-package idna` would write it.
    let lock_path = repo.root.join("uv.lock");
    let lock = std::fs::read_to_string(&lock_path).unwrap();
    let start = lock.find("[[package]]\nname = \"idna\"").unwrap();
    let end = start + lock[start..].find("\n\n").unwrap();
    let entry = &lock[start..end];
    // Another version, and other hashes of the same length (uv still parses the file).
    let moved = entry
        .replace("3.20", "3.21")
        .split("sha256:")
        .enumerate()
        .map(|(i, part)| match (i, part.as_bytes().first()) {
            (0, _) | (_, None) => part.to_owned(),
            (_, Some(b'0')) => format!("1{}", &part[1..]),
            (_, Some(_)) => format!("0{}", &part[1..]),
        })
        .collect::<Vec<_>>()
        .join("sha256:");
    assert_ne!(entry, moved, "the fixture's uv.lock pins idna 3.20");
    std::fs::write(&lock_path, lock.replace(entry, &moved)).unwrap();

    let got = common::affected(&repo.root, &[], &[]);
    let names: Vec<&str> = got.keys().map(String::as_str).collect();
    assert_eq!(names, ["acme-service"]);
    assert_eq!(
        got["acme-service"],
        serde_json::json!({ "type": "lockfileChanged", "file": "uv.lock" })
    );
    let after = hashes(&dry_json(&repo.root, &["build"]));
    assert_eq!(before["acme-lib#build"], after["acme-lib#build"]);
    assert_eq!(before["acme-cli#build"], after["acme-cli#build"]);
    assert_ne!(before["acme-service#build"], after["acme-service#build"]);
}

#[test]
fn build_and_test_run_with_uv_and_the_second_run_is_all_hits() {
    let repo = fixture("python");
    let first = run(&repo.root, &["build", "test"]);
    assert!(first.contains("Tasks:    6 successful, 6 total"), "{first}");
    assert!(first.contains("1 passed"), "pytest ran:\n{first}");
    assert!(repo
        .root
        .join("python/lib/dist/acme_lib-0.1.0-py3-none-any.whl")
        .is_file());
    assert!(repo
        .root
        .join("python/service/dist/acme_service-0.1.0.tar.gz")
        .is_file());

    let second = run(&repo.root, &["build", "test"]);
    assert!(second.contains("Cached:    6 cached, 6 total"), "{second}");

    let lint = run(&repo.root, &["lint", "--filter=acme-lib"]);
    assert!(lint.contains("All checks passed!"), "{lint}");
}

#[test]
fn prune_writes_a_uv_lock_that_uv_sync_accepts_offline() {
    let repo = fixture("python");
    let uv = uv_binary();
    // Fill uv's cache from PyPI first: the pruned copy's sync runs offline.
    let sync = |dir: &Path, offline: bool| {
        let mut cmd = StdCommand::new(&uv);
        cmd.args(["sync", "--locked", "--all-packages"])
            .current_dir(dir)
            .env("UV_PYTHON_DOWNLOADS", "never")
            .env("UV_SYSTEM_CERTS", "1");
        if offline {
            cmd.arg("--offline");
        }
        let out = cmd.output().unwrap();
        let text = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "uv sync in {}:\n{text}",
            dir.display()
        );
        text
    };
    sync(&repo.root, false);

    let out_dir = repo.root.parent().unwrap().join("pruned");
    let mut cmd = mono(&repo.root);
    uv_env(&mut cmd);
    let out = cmd
        .args(["prune", "acme-service", "--out-dir"])
        .arg(&out_dir)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("uv.lock: `uv lock --locked --offline` accepts it"),
        "{text}"
    );
    assert!(out_dir.join("python/lib/pyproject.toml").is_file());
    assert!(!out_dir.join("python/cli").exists());
    let lock = std::fs::read_to_string(out_dir.join("uv.lock")).unwrap();
    assert!(lock.contains("name = \"idna\""));
    assert!(!lock.contains("acme-cli"));
    sync(&out_dir, true);
    // The pruned copy's environment runs the service, on its library and idna.
    let out = StdCommand::new(&uv)
        .args([
            "run",
            "--locked",
            "--offline",
            "--package",
            "acme-service",
            "python",
            "-c",
        ])
        .arg("import acme_service; print(acme_service.welcome('bücher.example'))")
        .current_dir(&out_dir)
        .env("UV_PYTHON_DOWNLOADS", "never")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello, xn--bcher-kva.example\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The image of a Python app as docs/images.md shows it: the service's wheel, its library's
/// wheel and its locked dependencies installed into `dist/site`, copied to `/app/site`.
#[test]
fn a_python_image_takes_the_built_wheels_installed_into_a_folder() {
    let umoci = match std::env::var_os("MONO_TEST_UMOCI") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from("umoci"),
    };
    let repo = fixture("python");
    std::fs::write(
        repo.root.join("python/service/turbo.toml"),
        r#"extends = ["//"]

[tasks.build]
command = """uv build --out-dir dist \
  && uv export --package acme-service --no-dev --frozen --no-emit-workspace --no-hashes -o dist/requirements.txt \
  && uv pip install --target dist/site -r dist/requirements.txt ../lib/dist/*.whl dist/*.whl"""
outputs = ["dist/**"]

[image]
name = "acme/service"
env = { PYTHONPATH = "/app/site" }
entrypoint = ["python", "-m", "acme_service"]

[image.files]
"/app/site/" = "dist/site/"
"#,
    )
    .unwrap();
    git(&repo.root, &["add", "-A"]);
    git(&repo.root, &["commit", "-q", "-m", "image"]);
    let mut cmd = mono(&repo.root);
    uv_env(&mut cmd);
    let out = cmd
        .args(["image", "--json", "--filter=acme-service"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mono image failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let tag = doc["images"][0]["tag"].as_str().unwrap().to_owned();

    let bundle = repo.root.join("bundle");
    let unpacked = StdCommand::new(&umoci)
        .args(["unpack", "--rootless", "--image"])
        .arg(format!(
            "{}:{tag}",
            repo.root.join("python/service/dist/image").display()
        ))
        .arg(&bundle)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "umoci is needed by this test (apt-get install umoci, or set MONO_TEST_UMOCI): {e}"
            )
        });
    assert!(
        unpacked.status.success(),
        "{}",
        String::from_utf8_lossy(&unpacked.stderr)
    );
    let site = bundle.join("rootfs/app/site");
    assert!(site.join("acme_service/__init__.py").is_file());
    assert!(site.join("acme_lib/__init__.py").is_file());
    assert!(site.join("idna").is_dir());
    // The folder runs on any Python of the same minor version: here the host's.
    let run = StdCommand::new("python3")
        .args([
            "-c",
            "import acme_service; print(acme_service.welcome('bücher.example'))",
        ])
        .env("PYTHONPATH", &site)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        "hello, xn--bcher-kva.example\n",
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

/// Turborepo 2.11 reads uv workspaces behind `futureFlags.experimentalPythonWorkspaces`: on
/// the same fixture it finds the same members and the same `build` / `test` edges. (turbo
/// adds a root workspace package, named by `[tool.turbo] name`, that depends on every member;
/// mono's root `//` does not. The commands differ: docs/tasks.md.)
#[test]
fn same_members_and_edges_as_turbo_python_workspaces() {
    let turbo = common::turbo_binary();
    let repo = fixture("python");
    let pyproject = repo.root.join("pyproject.toml");
    let text = std::fs::read_to_string(&pyproject).unwrap();
    std::fs::write(
        &pyproject,
        format!("[tool.turbo]\nname = \"acme-python\"\n\n{text}"),
    )
    .unwrap();
    std::fs::write(
        repo.root.join("turbo.json"),
        r#"{
  "futureFlags": { "experimentalPythonWorkspaces": true },
  "tasks": {
    "build": { "dependsOn": ["^build"] },
    "test": { "dependsOn": ["build"], "outputs": [] }
  }
}"#,
    )
    .unwrap();
    let mono_plan = dry_json(&repo.root, &["build", "test"]);
    std::fs::remove_file(repo.root.join("turbo.toml")).unwrap();
    git(&repo.root, &["add", "-A"]);
    git(&repo.root, &["commit", "-q", "-m", "turbo.json"]);
    let uv = uv_binary();
    let path = std::env::var("PATH").unwrap_or_default();
    let out = StdCommand::new(&turbo)
        .args(["run", "build", "test", "--dry=json"])
        .current_dir(&repo.root)
        .env("PATH", format!("{}:{path}", uv.parent().unwrap().display()))
        .env("TURBO_TELEMETRY_DISABLED", "1")
        .env("DO_NOT_TRACK", "1")
        .env("TURBO_NO_UPDATE_NOTIFIER", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "turbo run --dry=json failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let turbo_plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let members = |plan: &Value| -> Vec<String> {
        plan["packages"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p.as_str())
            .filter(|p| *p != "//" && *p != "acme-python")
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        members(&mono_plan),
        ["acme-cli", "acme-lib", "acme-service"]
    );
    assert_eq!(members(&turbo_plan), members(&mono_plan));
    let member_edges = |plan: &Value| -> BTreeMap<String, Vec<String>> {
        edges(plan)
            .into_iter()
            .filter(|(task, _)| !task.starts_with("acme-python#"))
            .collect()
    };
    assert_eq!(member_edges(&turbo_plan), member_edges(&mono_plan));
}
