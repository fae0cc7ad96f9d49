//! `prune` on lockfiles the real tools wrote (tests/fixtures): the pruned file keeps exactly
//! the entries the kept members need, and the real tool accepts it.
//!
//! pnpm 9, yarn 1, yarn berry 4 and 3 (berry 3 for its older lockfile), and go come from
//! `~/.cache/mono-tools/tools.env`, which `make test` writes (scripts/bootstrap-tools);
//! `MONO_TEST_<TOOL>` overrides it (crates/mono-test-tools). npm and cargo come from `PATH`.
//! A missing tool fails the test and names `make test`: nothing passes silently.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use mono_test_tools::Tool;

use mono_lockfile::{
    check_with_tool, prune_cargo_manifest, prune_go_work, Lockfile, LockfileError, LockfileKind,
    Member, ResolvedPackage, ToolCheck,
};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn tool(kind: LockfileKind) -> Option<PathBuf> {
    match kind {
        LockfileKind::Pnpm => Some(mono_test_tools::path(Tool::Pnpm)),
        LockfileKind::Yarn1 => Some(mono_test_tools::path(Tool::Yarn)),
        LockfileKind::YarnBerry => Some(mono_test_tools::path(Tool::YarnBerry)),
        LockfileKind::GoSum => Some(mono_test_tools::path(Tool::Go)),
        _ => None,
    }
}

/// Runs the real tool on `dir`; a missing tool fails the test.
fn assert_tool_accepts(kind: LockfileKind, dir: &Path) {
    let program = tool(kind);
    match check_with_tool(kind, dir, program.as_deref()) {
        Ok(ToolCheck::Passed { .. }) => {}
        Ok(ToolCheck::ToolMissing { program }) => {
            panic!(
                "{program} is not installed: run `make test` (scripts/bootstrap-tools installs it)"
            )
        }
        Err(e) => panic!("{e}"),
    }
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

const KEEP_B: [Member<'static>; 1] = [Member {
    dir: "packages/b",
    name: "b",
}];
const ALL: [Member<'static>; 4] = [
    Member {
        dir: ".",
        name: "root",
    },
    Member {
        dir: "packages/a",
        name: "a",
    },
    Member {
        dir: "packages/b",
        name: "b",
    },
    Member {
        dir: "packages/c",
        name: "c",
    },
];

fn with_manifests(kind: LockfileKind, root: &Path, text: &str, dirs: &[&str]) -> Lockfile {
    let mut lock = Lockfile::parse(kind, Path::new(kind.file_name()), text).unwrap();
    for dir in dirs {
        let p = root.join(dir).join("package.json");
        lock.add_manifest(dir, &p, &read(&p)).unwrap();
    }
    lock
}

fn union(lock: &Lockfile, members: &[Member]) -> BTreeSet<ResolvedPackage> {
    members
        .iter()
        .flat_map(|m| lock.external_deps(m).unwrap())
        .collect()
}

/// Keeping `b` keeps b, the member a it uses and the root, and every package but c's
/// `ms@2.0.0`; the real tool accepts the result in a workspace without packages/c.
#[test_case::test_case(LockfileKind::Npm, "npm", "npm")]
#[test_case::test_case(LockfileKind::Npm, "npm", "npm-v2")]
#[test_case::test_case(LockfileKind::Pnpm, "pnpm", "pnpm")]
#[test_case::test_case(LockfileKind::Yarn1, "yarn1", "yarn1")]
#[test_case::test_case(LockfileKind::YarnBerry, "berry", "berry")]
#[test_case::test_case(LockfileKind::YarnBerry, "berry", "berry-v3")]
fn node_prune_keeps_exactly_what_b_needs(kind: LockfileKind, fixture: &str, lock_dir: &str) {
    let src = fixtures().join(fixture);
    let text = read(&fixtures().join(lock_dir).join(kind.file_name()));
    let all_dirs = [".", "packages/a", "packages/b", "packages/c"];
    let lock = with_manifests(kind, &src, &text, &all_dirs);
    let pruned = lock.prune(&KEEP_B).unwrap();

    let kept_dirs = [".", "packages/a", "packages/b"];
    let after = with_manifests(kind, &src, &pruned, &kept_dirs);
    // Exactly: every package left is needed by a kept member, and each kept member resolves
    // what it did before.
    let needed = union(&lock, &ALL[..3]);
    assert_eq!(
        after.packages().into_iter().collect::<BTreeSet<_>>(),
        needed
    );
    assert!(!needed
        .iter()
        .any(|p| p.name == "ms" && p.version == "2.0.0"));
    for m in &ALL[..3] {
        assert_eq!(
            after.external_deps(m).unwrap(),
            lock.external_deps(m).unwrap(),
            "{}",
            m.name
        );
    }
    assert!(!pruned.contains("packages/c"), "{pruned}");
    if lock_dir == "npm-v2" {
        // npm 6's tree is pruned too: c's nested ms goes, is-odd's nested is-number stays.
        let v: serde_json::Value = serde_json::from_str(&pruned).unwrap();
        let legacy = v["dependencies"].as_object().unwrap();
        assert_eq!(
            legacy.keys().collect::<Vec<_>>(),
            ["a", "b", "is-number", "is-odd", "left-pad", "ms"]
        );
        assert_eq!(
            legacy["is-odd"]["dependencies"]["is-number"]["version"],
            "6.0.0"
        );
        let full = lock.prune(&ALL[3..]).unwrap();
        let v: serde_json::Value = serde_json::from_str(&full).unwrap();
        assert_eq!(
            v["dependencies"]["c"]["dependencies"]["ms"]["version"], "2.0.0",
            "{full}"
        );
    }
    // Keeping everything changes nothing.
    assert_eq!(lock.prune(&ALL).unwrap(), text);

    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&src, tmp.path());
    std::fs::remove_dir_all(tmp.path().join("packages/c")).unwrap();
    std::fs::write(tmp.path().join(kind.file_name()), &pruned).unwrap();
    if lock_dir == "berry-v3" {
        // Checked with yarn 3 itself: yarn 4 would migrate the file.
        let yarn3 = mono_test_tools::path(Tool::YarnBerry3);
        match check_with_tool(kind, tmp.path(), Some(&yarn3)) {
            Ok(ToolCheck::Passed { .. }) => {}
            other => panic!("yarn 3 rejected the pruned yarn.lock: {other:?}"),
        }
        return;
    }
    assert_tool_accepts(kind, tmp.path());
    rewrites_identically(kind, tmp.path(), &pruned);
}

/// npm and pnpm rewrite their lockfile from what they resolve, offline: the pruned file must
/// come back byte for byte (berry's check already requires that; yarn classic cannot do it
/// offline).
fn rewrites_identically(kind: LockfileKind, dir: &Path, pruned: &str) {
    let cache = tempfile::tempdir().unwrap();
    let mut cmd = match kind {
        LockfileKind::Npm => {
            let mut c = Command::new("npm");
            c.args([
                "install",
                "--package-lock-only",
                "--offline",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
            ])
            .env("npm_config_cache", cache.path());
            c
        }
        LockfileKind::Pnpm => {
            let mut c = Command::new(tool(kind).unwrap());
            c.args([
                "install",
                "--lockfile-only",
                "--offline",
                "--ignore-scripts",
            ])
            .env("npm_config_store_dir", cache.path().join("store"))
            .env("XDG_CACHE_HOME", cache.path());
            c
        }
        _ => return,
    };
    let out = cmd.current_dir(dir).output().unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        read(&dir.join(kind.file_name())),
        pruned,
        "{kind} rewrote the pruned lockfile"
    );
}

/// The tool check is not a formality: a lockfile out of date with a member's package.json
/// (b now asks for `ms@^1.0.0`, which the lockfile does not resolve) is rejected.
#[test_case::test_case(LockfileKind::Npm, "npm")]
#[test_case::test_case(LockfileKind::Pnpm, "pnpm")]
#[test_case::test_case(LockfileKind::Yarn1, "yarn1")]
#[test_case::test_case(LockfileKind::YarnBerry, "berry")]
fn node_tool_rejects_a_stale_lockfile(kind: LockfileKind, fixture: &str) {
    let src = fixtures().join(fixture);
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&src, tmp.path());
    let b = tmp.path().join("packages/b/package.json");
    let manifest = read(&b);
    assert!(manifest.contains("\"^2.1.3\""));
    std::fs::write(&b, manifest.replace("\"^2.1.3\"", "\"^1.0.0\"")).unwrap();
    match check_with_tool(kind, tmp.path(), tool(kind).as_deref()) {
        Err(LockfileError::ToolRejected { output, .. }) => assert!(!output.is_empty()),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn npm_prune_keys() {
    let text = read(&fixtures().join("npm/package-lock.json"));
    let lock = Lockfile::parse(LockfileKind::Npm, Path::new("package-lock.json"), &text).unwrap();
    let pruned: serde_json::Value = serde_json::from_str(&lock.prune(&KEEP_B).unwrap()).unwrap();
    let keys: Vec<&str> = pruned["packages"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "",
            "node_modules/a",
            "node_modules/b",
            "node_modules/is-number",
            "node_modules/is-odd",
            "node_modules/is-odd/node_modules/is-number",
            "node_modules/left-pad",
            "node_modules/ms",
            "packages/a",
            "packages/b"
        ]
    );
    let err = lock
        .prune(&[Member {
            dir: "apps/nope",
            name: "nope",
        }])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the kept package `nope` (apps/nope) is not in the lockfile"),
        "{err}"
    );
}

/// pnpm 8's and 7's lockfiles (pnpm 9 would convert them, so no real-tool check).
#[test_case::test_case("pnpm-v6", "'6.0'", "/ms@2.0.0")]
#[test_case::test_case("pnpm-v5", "5.4", "/ms/2.0.0")]
fn pnpm_old_prune_keeps_exactly_what_b_needs(dir: &str, version: &str, gone: &str) {
    let text = read(&fixtures().join(dir).join("pnpm-lock.yaml"));
    let lock = Lockfile::parse(LockfileKind::Pnpm, Path::new("pnpm-lock.yaml"), &text).unwrap();
    let pruned = lock.prune(&KEEP_B).unwrap();
    let after = Lockfile::parse(LockfileKind::Pnpm, Path::new("pnpm-lock.yaml"), &pruned).unwrap();
    assert_eq!(
        after.packages().into_iter().collect::<BTreeSet<_>>(),
        union(&lock, &ALL[..3])
    );
    assert!(
        !pruned.contains(gone) && !pruned.contains("packages/c"),
        "{pruned}"
    );
    assert!(
        pruned.starts_with(&format!("lockfileVersion: {version}\n")),
        "{pruned}"
    );
    assert!(pruned.ends_with("dev: false\n"), "{pruned}");
}

const CRATES: [Member<'static>; 3] = [
    Member {
        dir: "crates/x",
        name: "x",
    },
    Member {
        dir: "crates/y",
        name: "y",
    },
    Member {
        dir: "crates/z",
        name: "z",
    },
];

#[test]
fn cargo_prune_keeps_exactly_what_z_needs_and_cargo_accepts_it() {
    let src = fixtures().join("cargo");
    let text = read(&src.join("Cargo.lock"));
    let lock = Lockfile::parse(LockfileKind::Cargo, Path::new("Cargo.lock"), &text).unwrap();
    let pruned = lock.prune(&CRATES[2..]).unwrap();
    let after = Lockfile::parse(LockfileKind::Cargo, Path::new("Cargo.lock"), &pruned).unwrap();
    let names: Vec<String> = after.packages().into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["memchr"]);
    assert!(pruned.starts_with("# This file is automatically @generated by Cargo."));
    assert!(
        pruned.contains("name = \"z\"") && !pruned.contains("name = \"x\""),
        "{pruned}"
    );

    // y keeps the member x it uses.
    let pruned_y = lock.prune(&CRATES[1..2]).unwrap();
    assert!(pruned_y.contains("name = \"x\"") && !pruned_y.contains("name = \"z\""));

    for (keep, remove, lockfile) in [
        (&CRATES[2..], vec!["x", "y"], pruned),
        (&CRATES[1..2], vec!["z"], pruned_y),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        copy_dir(&src, tmp.path());
        for r in &remove {
            std::fs::remove_dir_all(tmp.path().join("crates").join(r)).unwrap();
        }
        std::fs::write(tmp.path().join("Cargo.lock"), &lockfile).unwrap();
        let dirs: Vec<&str> = keep.iter().map(|m| m.dir).collect();
        let manifest = prune_cargo_manifest(
            Path::new("Cargo.toml"),
            &read(&src.join("Cargo.toml")),
            &dirs,
        )
        .unwrap();
        std::fs::write(tmp.path().join("Cargo.toml"), manifest).unwrap();
        match check_with_tool(LockfileKind::Cargo, tmp.path(), None) {
            Ok(ToolCheck::Passed { .. }) => {}
            other => panic!("cargo rejected the pruned Cargo.lock: {other:?}"),
        }
        // Byte for byte what Cargo writes for that workspace (keeping the locked versions).
        cargo_rewrites_identically(tmp.path(), &lockfile);
    }

    // Cargo (which tolerates extra entries under --locked) rejects a lockfile that lacks one:
    // the lockfile pruned for z in the full workspace.
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&src, tmp.path());
    std::fs::write(
        tmp.path().join("Cargo.lock"),
        lock.prune(&CRATES[2..]).unwrap(),
    )
    .unwrap();
    match check_with_tool(LockfileKind::Cargo, tmp.path(), None) {
        Err(LockfileError::ToolRejected { output, .. }) => {
            assert!(output.contains("--locked"), "{output}")
        }
        other => panic!("expected cargo to reject a Cargo.lock without x's crates, got {other:?}"),
    }
}

/// Runs `cargo update --workspace --offline` (which rewrites Cargo.lock in Cargo's own format
/// without changing any locked version) and checks that the file did not change.
fn cargo_rewrites_identically(dir: &Path, lockfile: &str) {
    let out = Command::new("cargo")
        .args(["update", "--workspace", "--offline"])
        .current_dir(dir)
        .output()
        .expect("cargo must be installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        read(&dir.join("Cargo.lock")),
        lockfile,
        "cargo rewrote the pruned Cargo.lock"
    );
}

/// Pruning this repository's own Cargo.lock to one crate: Cargo accepts it and writes the
/// same bytes (two versions of `syn` become one, so `"syn 3.x"` references become `"syn"`).
#[test]
fn cargo_prune_of_this_repository() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = read(&repo.join("Cargo.lock"));
    let lock = Lockfile::parse(LockfileKind::Cargo, Path::new("Cargo.lock"), &text).unwrap();
    let keep = [Member {
        dir: "crates/mono-paths",
        name: "mono-paths",
    }];
    let pruned = lock.prune(&keep).unwrap();
    assert!(pruned.len() < text.len() / 3, "{pruned}");
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("crates")).unwrap();
    // The root manifest pruned to the kept crate, as `mono prune` writes it (the real one
    // lists member globs, such as `apps/*`, that this copy does not have).
    let manifest = prune_cargo_manifest(
        Path::new("Cargo.toml"),
        &read(&repo.join("Cargo.toml")),
        &["crates/mono-paths"],
    )
    .unwrap();
    std::fs::write(tmp.path().join("Cargo.toml"), manifest).unwrap();
    std::fs::create_dir_all(tmp.path().join("crates/mono-paths")).unwrap();
    copy_dir(
        &repo.join("crates/mono-paths"),
        &tmp.path().join("crates/mono-paths"),
    );
    std::fs::write(tmp.path().join("Cargo.lock"), &pruned).unwrap();
    match check_with_tool(LockfileKind::Cargo, tmp.path(), None) {
        Ok(ToolCheck::Passed { .. }) => {}
        other => panic!("cargo rejected the pruned Cargo.lock: {other:?}"),
    }
    cargo_rewrites_identically(tmp.path(), &pruned);
}

#[test]
fn cargo_manifest_members() {
    let toml = "[workspace]\nresolver = \"2\"\n# the crates\nmembers = [\"crates/*\", \"tools/gen\", \"tools/lint\"]\ndefault-members = [\"tools/gen\"]\n";
    let out =
        prune_cargo_manifest(Path::new("Cargo.toml"), toml, &["tools/lint", "crates/a"]).unwrap();
    assert_eq!(out, "[workspace]\nresolver = \"2\"\n# the crates\nmembers = [\"crates/*\", \"tools/lint\"]\ndefault-members = []\n");
    // A glob that matches no kept folder goes: Cargo rejects a member glob matching nothing.
    let toml = "[workspace]\nmembers = [\"crates/*\", \"apps/*\"]\n";
    let out = prune_cargo_manifest(Path::new("Cargo.toml"), toml, &["crates/a"]).unwrap();
    assert_eq!(out, "[workspace]\nmembers = [\"crates/*\"]\n");
    let err = prune_cargo_manifest(Path::new("Cargo.toml"), "[workspace\n", &[])
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("Cargo.toml:1:"), "{err}");
}

#[test]
fn go_work_prune_and_go_accepts_it() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    for (dir, module, require) in [
        (
            "svc/api",
            "example.com/api",
            "require example.com/shared v0.0.0\n\nreplace example.com/shared => ../shared\n",
        ),
        ("svc/shared", "example.com/shared", ""),
        ("svc/tool", "example.com/tool", ""),
    ] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
        std::fs::write(
            root.join(dir).join("go.mod"),
            format!("module {module}\n\ngo 1.19\n\n{require}"),
        )
        .unwrap();
    }
    let work = "go 1.19\n\n// the services\nuse (\n\t./svc/api\n\t./svc/shared\n\t./svc/tool // tools\n)\n";
    let pruned = prune_go_work(Path::new("go.work"), work, &["svc/api", "svc/shared"]).unwrap();
    assert_eq!(
        pruned,
        "go 1.19\n\n// the services\nuse (\n\t./svc/api\n\t./svc/shared\n)\n"
    );
    std::fs::remove_dir_all(root.join("svc/tool")).unwrap();
    std::fs::write(root.join("go.work"), &pruned).unwrap();
    match check_with_tool(
        LockfileKind::GoSum,
        root,
        tool(LockfileKind::GoSum).as_deref(),
    ) {
        Ok(ToolCheck::Passed { .. }) => {}
        other => panic!("go rejected the pruned go.work: {other:?}"),
    }
    // The unpruned go.work names a folder that is gone: go says so.
    std::fs::write(root.join("go.work"), work).unwrap();
    match check_with_tool(
        LockfileKind::GoSum,
        root,
        tool(LockfileKind::GoSum).as_deref(),
    ) {
        Err(LockfileError::ToolRejected { output, .. }) => {
            assert!(output.contains("svc/tool"), "{output}")
        }
        other => panic!("expected go to reject the go.work, got {other:?}"),
    }
    let single =
        prune_go_work(Path::new("go.work"), "go 1.19\nuse ./a\nuse ./b\n", &["b"]).unwrap();
    assert_eq!(single, "go 1.19\nuse ./b\n");
    let err = prune_go_work(Path::new("go.work"), "go 1.19\nuse (\n\t./a\n", &[])
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("go.work:3: unclosed"), "{err}");
}

#[test]
fn go_sum_prune_keeps_a_kept_modules_sums() {
    let sum = "github.com/google/uuid v1.6.0 h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=\n";
    let mut lock = Lockfile::parse(LockfileKind::GoSum, Path::new("svc/api/go.sum"), sum).unwrap();
    lock.add_manifest(
        "svc/api",
        Path::new("svc/api/go.mod"),
        "module example.com/api\n\nrequire github.com/google/uuid v1.6.0\n",
    )
    .unwrap();
    assert_eq!(
        lock.prune(&[Member {
            dir: "svc/api",
            name: "example.com/api"
        }])
        .unwrap(),
        sum
    );
    assert!(lock
        .prune(&[Member {
            dir: "svc/other",
            name: "example.com/other"
        }])
        .is_err());
}

/// Yarn redirects `resolve` to its builtin compat patch: the patch entry goes with the
/// package it patches, and yarn (network off) accepts both pruned files.
#[test]
fn berry_prune_keeps_builtin_patches() {
    let src = fixtures().join("berry-patch");
    let text = read(&src.join("yarn.lock"));
    let lock = Lockfile::parse(LockfileKind::YarnBerry, Path::new("yarn.lock"), &text).unwrap();
    let a = lock
        .external_deps(&Member {
            dir: "packages/a",
            name: "a",
        })
        .unwrap();
    let resolve: Vec<&ResolvedPackage> = a.iter().filter(|p| p.name == "resolve").collect();
    assert_eq!(resolve.len(), 2, "the package and its patch: {a:?}");
    for (keep, gone, present) in [
        ("a", "b", "resolve@patch:resolve@npm%3A^1.22.0"),
        ("b", "a", "ms@npm:^2.1.3"),
    ] {
        let dir = format!("packages/{keep}");
        let pruned = lock
            .prune(&[Member {
                dir: &dir,
                name: keep,
            }])
            .unwrap();
        assert!(pruned.contains(present), "{pruned}");
        let tmp = tempfile::tempdir().unwrap();
        copy_dir(&src, tmp.path());
        std::fs::remove_dir_all(tmp.path().join("packages").join(gone)).unwrap();
        std::fs::write(tmp.path().join("yarn.lock"), &pruned).unwrap();
        assert_tool_accepts(LockfileKind::YarnBerry, tmp.path());
    }
    let pruned_b = lock
        .prune(&[Member {
            dir: "packages/b",
            name: "b",
        }])
        .unwrap();
    assert!(!pruned_b.contains("resolve"), "{pruned_b}");
}

/// A realistic workspace (tests/fixtures/web: eslint, react with its peer, typescript and
/// resolve, which yarn berry patches, scoped packages, optional dependencies) in all four
/// JavaScript formats: each member resolves the same packages in every format, and each
/// tool accepts the lockfiles pruned to `web` (with the member `ui` it uses) and to `util`.
#[test_case::test_case(LockfileKind::Npm, "npm")]
#[test_case::test_case(LockfileKind::Pnpm, "pnpm")]
#[test_case::test_case(LockfileKind::Yarn1, "yarn1")]
#[test_case::test_case(LockfileKind::YarnBerry, "berry")]
fn realistic_workspace(kind: LockfileKind, dir: &str) {
    let members = [
        Member {
            dir: ".",
            name: "big",
        },
        Member {
            dir: "apps/web",
            name: "web",
        },
        Member {
            dir: "packages/ui",
            name: "ui",
        },
        Member {
            dir: "packages/util",
            name: "util",
        },
    ];
    let src = fixtures().join("web").join(dir);
    let mut all = mono_lockfile::load_all(&src, &members).unwrap();
    assert_eq!(all.len(), 1);
    let (_, lock) = all.pop().unwrap();
    assert_eq!(lock.kind(), kind);
    let versions = |m: &Member| -> BTreeSet<String> {
        lock.external_deps(m)
            .unwrap()
            .into_iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect()
    };
    // The same in every format (berry's patched resolve and typescript count once here).
    let counts: Vec<usize> = members.iter().map(|m| versions(m).len()).collect();
    assert_eq!(counts, [1, 107, 5, 9]);
    assert!(versions(&members[1]).contains("eslint@8.57.1"));
    assert!(versions(&members[3]).contains("typescript@5.9.3"));
    for (keep, remove) in [
        (&members[1..2], ["packages/util"].as_slice()),
        (&members[3..4], ["apps/web", "packages/ui"].as_slice()),
    ] {
        let pruned = lock.prune(keep).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        copy_dir(&src, tmp.path());
        for r in remove {
            std::fs::remove_dir_all(tmp.path().join(r)).unwrap();
        }
        std::fs::write(tmp.path().join(kind.file_name()), &pruned).unwrap();
        assert_tool_accepts(kind, tmp.path());
        rewrites_identically(kind, tmp.path(), &pruned);
    }
}
