//! How mono gets installed: the npm packages of `packages/` (packed by scripts/npm-pack, as
//! `make npm-pack` does, then installed offline into a scratch npm workspace), `mono completion`,
//! and `mono --version` naming the commit.
//!
//! npm and node come from the tools `make test` installs (crates/mono-test-tools). npm runs
//! with an empty cache, `--offline` and a registry on a port nothing listens on: the packages
//! install from the tarballs alone.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use common::{fixture, git, mono};
use mono_test_tools::Tool;
use serde_json::Value;

fn repo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn packages_dir() -> PathBuf {
    repo_dir().join("packages")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// stdout of a command that must succeed.
fn succeed(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// npm (or npx) offline: an empty cache of its own and an unreachable registry.
fn npm(program: &str, dir: &Path, cache: &Path) -> Command {
    let npm = mono_test_tools::path(Tool::Npm);
    let mut cmd = if program == "npm" {
        Command::new(&npm)
    } else {
        // npx sits beside npm.
        Command::new(npm.with_file_name(program))
    };
    cmd.current_dir(dir)
        .env("npm_config_cache", cache)
        .env("npm_config_offline", "true")
        .env("npm_config_registry", "http://127.0.0.1:9/")
        .env("npm_config_audit", "false")
        .env("npm_config_fund", "false")
        .env("npm_config_update_notifier", "false")
        .env("NO_COLOR", "1")
        .env_remove("MONO_REMOTE_CACHE");
    cmd
}

/// The tarballs scripts/npm-pack makes from the test's mono binary, packed once per run:
/// `[mono-build, mono-build-<this platform>]`. The binary is a stripped copy of the debug
/// build (220 MB with its debug info, a minute to pack; `make npm-pack` packs the dist build).
fn tarballs() -> &'static [PathBuf] {
    static TARBALLS: OnceLock<Vec<PathBuf>> = OnceLock::new();
    TARBALLS.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("npm-pack");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let binary = dir.join("mono");
        std::fs::copy(env!("CARGO_BIN_EXE_mono"), &binary).unwrap();
        let strip = Command::new("strip").arg(&binary).status();
        assert!(
            strip.is_ok_and(|s| s.success()),
            "`strip` (binutils, which Rust's linker needs anyway) failed on {}",
            binary.display()
        );
        let out = dir.join("tarballs");
        let listed = succeed(
            Command::new(repo_dir().join("scripts/npm-pack"))
                .arg(&binary)
                .arg(&out)
                // scripts/npm-pack runs node and npm from PATH: the ones the tests use.
                .env("PATH", tools_path()),
        );
        let tarballs: Vec<PathBuf> = listed.lines().map(PathBuf::from).collect();
        assert_eq!(tarballs.len(), 2, "{listed}");
        for tarball in &tarballs {
            assert!(tarball.is_file(), "{}", tarball.display());
        }
        tarballs
    })
}

/// PATH with node's and npm's folders first.
fn tools_path() -> std::ffi::OsString {
    let mut dirs: Vec<PathBuf> = [Tool::Node, Tool::Npm]
        .into_iter()
        .map(|t| mono_test_tools::path(t).parent().unwrap().to_owned())
        .collect();
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(dirs).unwrap()
}

/// stdout of `mono ARGS`, which must succeed.
fn mono_stdout(args: &[&str]) -> String {
    let out = mono(&repo_dir()).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "mono {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The mono binary's own `--version` line.
fn mono_version() -> String {
    mono_stdout(&["--version"])
}

#[test]
fn the_npm_packages_install_offline_and_run_mono() {
    let tarballs = tarballs();
    let repo = fixture("node-only");
    // One config: the fixture carries turbo.json and turbo.toml for the parity tests.
    std::fs::remove_file(repo.root.join("turbo.json")).unwrap();
    git(&repo.root, &["add", "-A"]);
    git(&repo.root, &["commit", "-q", "-m", "turbo.toml only"]);
    let cache = tempfile::tempdir().unwrap();

    let mut install = npm("npm", &repo.root, cache.path());
    install.args(["install", "--save-dev"]).args(tarballs);
    succeed(install.env("PATH", tools_path()));
    let manifest = read_json(&repo.root.join("package.json"));
    assert!(
        manifest["devDependencies"]["mono-build"].is_string(),
        "{manifest}"
    );

    let version = mono_version();
    let npx = |args: &[&str]| {
        succeed(
            npm("npx", &repo.root, cache.path())
                .args(args)
                .env("PATH", tools_path()),
        )
    };
    assert_eq!(npx(&["mono-build", "--version"]), version);
    // Installed, the package's bin is `mono` (npx prefers it to the registry's `mono`).
    assert_eq!(npx(&["mono", "--version"]), version);

    let built = npx(&["mono-build", "build"]);
    assert!(built.contains("4 successful, 4 total"), "{built}");
    assert!(repo.root.join("apps/web/dist/index.html").is_file());
    let again = npx(&["mono-build", "build"]);
    assert!(again.contains("4 cached, 4 total"), "{again}");

    // A package.json script calls the bin by its name.
    succeed(
        npm("npm", &repo.root, cache.path())
            .args(["pkg", "set", "scripts.mono-version=mono --version"])
            .env("PATH", tools_path()),
    );
    let from_script = succeed(
        npm("npm", &repo.root, cache.path())
            .args(["run", "--silent", "mono-version"])
            .env("PATH", tools_path()),
    );
    assert_eq!(from_script, version);
}

#[test]
fn without_its_platform_package_the_launcher_says_what_to_install() {
    let tarballs = tarballs();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("package.json"),
        r#"{ "name": "scratch", "private": true }"#,
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    // The launcher alone: its optional dependencies left out.
    succeed(
        npm("npm", dir.path(), cache.path())
            .args(["install", "--omit=optional"])
            .arg(&tarballs[0])
            .env("PATH", tools_path()),
    );
    let out: Output = npm("npx", dir.path(), cache.path())
        .args(["mono-build", "--version"])
        .env("PATH", tools_path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let platform = tarballs[1]
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .trim_end_matches(&format!("-{}.tgz", env!("CARGO_PKG_VERSION")))
        .to_owned();
    assert!(
        stderr.contains(&format!(
            "the package {platform}, which holds mono's binary"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("--omit=optional"), "{stderr}");
    assert!(
        stderr.contains(&format!("npm install {platform}")),
        "{stderr}"
    );

    // On a platform with no package at all, it says which platforms have one.
    let launcher = dir.path().join("node_modules/mono-build/bin/mono.js");
    let out = Command::new(mono_test_tools::path(Tool::Node))
        .arg("-e")
        .arg(format!(
            "Object.defineProperty(process, 'arch', {{ value: 's390x' }}); require({:?})",
            launcher.to_str().unwrap()
        ))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("mono-build has no binary for this platform"),
        "{stderr}"
    );
    assert!(
        stderr.contains("linux-x64, linux-arm64, darwin-arm64, darwin-x64, win32-x64")
            || stderr.contains("darwin-arm64, darwin-x64, linux-arm64, linux-x64, win32-x64"),
        "{stderr}"
    );
    assert!(
        stderr.contains("cargo install --locked --path crates/mono"),
        "{stderr}"
    );
}

/// The launcher, its optional dependencies and the platform packages agree with one
/// another and with the crate's version.
#[test]
fn the_npm_packages_agree() {
    let version = env!("CARGO_PKG_VERSION");
    let main = read_json(&packages_dir().join("mono-build/package.json"));
    assert_eq!(main["name"], "mono-build");
    assert_eq!(main["version"], version);
    assert_eq!(main["bin"]["mono"], "bin/mono.js");
    let launcher = std::fs::read_to_string(packages_dir().join("mono-build/bin/mono.js")).unwrap();
    let optional = main["optionalDependencies"].as_object().unwrap();
    let mut platforms: Vec<&str> = Vec::new();
    for (name, wanted) in optional {
        assert_eq!(wanted, version, "{name}");
        let platform = name.strip_prefix("mono-build-").unwrap();
        platforms.push(platform);
        let package = read_json(&packages_dir().join(name).join("package.json"));
        assert_eq!(package["name"], name.as_str());
        assert_eq!(package["version"], version, "{name}");
        let (os, cpu) = platform.split_once('-').unwrap();
        assert_eq!(package["os"], serde_json::json!([os]), "{name}");
        assert_eq!(package["cpu"], serde_json::json!([cpu]), "{name}");
        let exe = if os == "win32" { "mono.exe" } else { "mono" };
        assert_eq!(package["files"], serde_json::json!([format!("bin/{exe}")]));
        assert!(
            launcher.contains(&format!("\"{platform}\": \"{name}\"")),
            "bin/mono.js does not map {platform} to {name}"
        );
    }
    platforms.sort_unstable();
    assert_eq!(
        platforms,
        [
            "darwin-arm64",
            "darwin-x64",
            "linux-arm64",
            "linux-x64",
            "win32-x64"
        ]
    );
}

#[test]
fn completion_scripts_complete_mono_commands() {
    let script = mono_stdout(&["completion", "bash"]);
    assert!(script.contains("complete -F _mono"), "{script}");
    // Sourced by bash, it completes `mono pru` to `prune` and lists the shells after
    // `mono completion`.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mono.bash");
    std::fs::write(&file, &script).unwrap();
    let complete = |words: &str, cword: usize| {
        succeed(Command::new("bash").arg("-c").arg(format!(
            "source {file:?} && COMP_WORDS=({words}) && COMP_CWORD={cword} && \
             _mono mono \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\" && \
             printf '%s\\n' \"${{COMPREPLY[@]}}\""
        )))
    };
    assert_eq!(complete("mono pru", 1), "prune\n");
    let shells = complete("mono completion ''", 2);
    for shell in ["bash", "fish", "zsh"] {
        assert!(shells.lines().any(|l| l == shell), "{shells}");
    }

    let zsh = mono_stdout(&["completion", "zsh"]);
    assert!(zsh.starts_with("#compdef mono"), "{zsh}");
    let fish = mono_stdout(&["completion", "fish"]);
    assert!(fish.contains("complete -c mono"), "{fish}");

    let out = mono(&repo_dir())
        .args(["completion", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("possible values: bash"));
}

#[test]
fn version_names_the_commit() {
    let version = mono_version();
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(repo_dir())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8(o.stdout).unwrap().trim().to_owned());
    let crate_version = env!("CARGO_PKG_VERSION");
    match head {
        // Built from a checkout: `mono 0.1.0 (1a2b3c4)`.
        Some(head) => {
            let commit = version
                .trim()
                .strip_prefix(&format!("mono {crate_version} ("))
                .and_then(|rest| rest.strip_suffix(')'))
                .unwrap_or_else(|| panic!("no commit in {version:?}"));
            assert!(
                commit.len() >= 7 && head.starts_with(commit),
                "{version:?} does not name HEAD ({head})"
            );
        }
        // Built from a source tarball: the version alone.
        None => assert_eq!(version.trim(), format!("mono {crate_version}")),
    }
}
