//! `external_deps` on lockfiles the real tools wrote (tests/fixtures, see regen-node.sh):
//! what each member resolves, and that changing one transitive package changes exactly the
//! members that use it.

use std::path::{Path, PathBuf};

use mono_lockfile::{Lockfile, LockfileKind, Member, ResolvedPackage};

fn fixture(rel: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn names(deps: &[ResolvedPackage]) -> Vec<String> {
    deps.iter()
        .map(|d| format!("{}@{}", d.name, d.version))
        .collect()
}

const NODE_MEMBERS: [Member<'static>; 4] = [
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

/// The members whose external deps differ between two lockfile texts.
fn changed_members(
    kind: LockfileKind,
    before: &str,
    after: &str,
    members: &[Member],
    manifests: &[(&str, String)],
) -> Vec<String> {
    assert_ne!(before, after, "the edit did not change the lockfile");
    let load = |text: &str| {
        let mut l = Lockfile::parse(kind, Path::new("lock"), text).unwrap();
        for (dir, m) in manifests {
            l.add_manifest(dir, Path::new("manifest"), m).unwrap();
        }
        l
    };
    let (b, a) = (load(before), load(after));
    members
        .iter()
        .filter(|m| b.external_deps(m).unwrap() != a.external_deps(m).unwrap())
        .map(|m| m.name.to_string())
        .collect()
}

#[test]
fn npm_members_resolve_through_nested_node_modules() {
    let text = fixture("npm/package-lock.json");
    let lock = Lockfile::parse(LockfileKind::Npm, Path::new("package-lock.json"), &text).unwrap();
    assert_eq!(lock.kind(), LockfileKind::Npm);
    let deps = |i: usize| names(&lock.external_deps(&NODE_MEMBERS[i]).unwrap());
    assert_eq!(deps(0), ["left-pad@1.3.0"]);
    // is-odd needs is-number ^6: npm nested it under node_modules/is-odd/node_modules.
    assert_eq!(
        deps(1),
        ["is-number@6.0.0", "is-number@7.0.0", "is-odd@3.0.1"]
    );
    // b uses the member a, whose runtime dependencies npm installs for b too.
    assert_eq!(
        deps(2),
        [
            "is-number@6.0.0",
            "is-number@7.0.0",
            "is-odd@3.0.1",
            "ms@2.1.3"
        ]
    );
    // c pinned ms 2.0.0, nested under packages/c/node_modules.
    assert_eq!(deps(3), ["ms@2.0.0"]);
    let a = lock.external_deps(&NODE_MEMBERS[1]).unwrap();
    assert!(a[0].checksum.as_deref().unwrap().starts_with("sha512-"));
    assert!(lock
        .external_deps(&Member {
            dir: "nope",
            name: "nope"
        })
        .unwrap()
        .is_empty());
}

#[test]
fn npm_transitive_change_affects_exactly_its_users() {
    let before = fixture("npm/package-lock.json");
    let after = before.replacen("\"version\": \"6.0.0\"", "\"version\": \"6.0.1\"", 1);
    assert_eq!(
        changed_members(LockfileKind::Npm, &before, &after, &NODE_MEMBERS, &[]),
        ["a", "b"]
    );
    let after = before.replacen("\"version\": \"2.0.0\"", "\"version\": \"2.0.1\"", 1);
    assert_eq!(
        changed_members(LockfileKind::Npm, &before, &after, &NODE_MEMBERS, &[]),
        ["c"]
    );
}

#[test]
fn npm_malformed_reports_file_and_line() {
    let text = fixture("npm/package-lock.json").replacen(
        "\"lockfileVersion\": 3,",
        "\"lockfileVersion\": 3",
        1,
    );
    let err = Lockfile::parse(LockfileKind::Npm, Path::new("package-lock.json"), &text)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("package-lock.json:5:"), "{err}");
    let err = Lockfile::parse(
        LockfileKind::Npm,
        Path::new("package-lock.json"),
        r#"{"lockfileVersion": 1, "dependencies": {}}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("unsupported npm lockfile version 1"), "{err}");
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
fn cargo_members_and_their_crates() {
    let text = fixture("cargo/Cargo.lock");
    let lock = Lockfile::parse(LockfileKind::Cargo, Path::new("Cargo.lock"), &text).unwrap();
    let deps = |i: usize| names(&lock.external_deps(&CRATES[i]).unwrap());
    let x = deps(0);
    assert!(
        x.contains(&"serde_json@1.0.154".to_string())
            && x.contains(&"unicode-ident@1.0.27".to_string()),
        "{x:?}"
    );
    assert!(
        !x.iter().any(|d| d.starts_with("x@")),
        "members are not external: {x:?}"
    );
    // y uses x (a path dependency, followed through) and itoa, which serde_json also uses.
    assert_eq!(deps(1), x);
    assert_eq!(deps(2), ["memchr@2.8.3"]);
    assert_eq!(
        lock.external_deps(&CRATES[2]).unwrap()[0]
            .checksum
            .as_deref()
            .map(str::len),
        Some(64)
    );
}

#[test]
fn cargo_transitive_change_affects_exactly_its_users() {
    let before = fixture("cargo/Cargo.lock");
    let after = before.replace("version = \"1.0.27\"", "version = \"1.0.28\"");
    assert_eq!(
        changed_members(LockfileKind::Cargo, &before, &after, &CRATES, &[]),
        ["x", "y"]
    );
}

#[test]
fn cargo_malformed_and_dangling() {
    let err = Lockfile::parse(
        LockfileKind::Cargo,
        Path::new("Cargo.lock"),
        "version = 4\n\n[[package]]\nname = \"a\"\nversion = 1\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("Cargo.lock:5:"), "{err}");
    let err = Lockfile::parse(
        LockfileKind::Cargo,
        Path::new("Cargo.lock"),
        "version = 4\n\n[[package]]\nname = \"a\"\nversion = \"0.1.0\"\ndependencies = [\"gone\"]\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("a 0.1.0 depends on gone"), "{err}");
}

const API_MOD: &str = "module example.com/api\n\ngo 1.21\n\nrequire (\n\texample.com/shared v0.0.0\n\tgithub.com/google/uuid v1.6.0\n\tgolang.org/x/net v0.20.0 // indirect\n)\n\nreplace example.com/shared => ../shared\n";
const SHARED_MOD: &str = "module example.com/shared\n\ngo 1.21\n\nrequire golang.org/x/text v0.14.0\n\nreplace golang.org/x/text v0.14.0 => golang.org/x/text v0.14.1\n";
const TOOL_MOD: &str = "module example.com/tool\n\ngo 1.21\n";
const GO_SUM: &str = "github.com/google/uuid v1.6.0 h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=\ngithub.com/google/uuid v1.6.0/go.mod h1:TIyPZe4MgqvfeYDBFedMoGGpEw/LqOeaOT+nhxU+yHo=\ngolang.org/x/net v0.20.0/go.mod h1:z8BVo6PvndSri0LbOE3hAn0apkU+1YvI6E70E9jsnvY=\ngolang.org/x/text v0.14.1 h1:ScX5w1eTa3QqT8oi6+ziP7dTV1S2+ALU0bI+0zXKWiQ=\n";

const GO_MEMBERS: [Member<'static>; 3] = [
    Member {
        dir: "services/api",
        name: "example.com/api",
    },
    Member {
        dir: "services/shared",
        name: "example.com/shared",
    },
    Member {
        dir: "services/tool",
        name: "example.com/tool",
    },
];

fn go_manifests() -> Vec<(&'static str, String)> {
    vec![
        ("services/api", API_MOD.into()),
        ("services/shared", SHARED_MOD.into()),
        ("services/tool", TOOL_MOD.into()),
    ]
}

#[test]
fn go_requires_with_replace_and_sums() {
    let mut lock = Lockfile::parse(LockfileKind::GoSum, Path::new("go.work.sum"), GO_SUM).unwrap();
    let err = lock.external_deps(&GO_MEMBERS[0]).unwrap_err().to_string();
    assert!(
        err.contains("no manifest was given for member `example.com/api`"),
        "{err}"
    );
    for (dir, m) in go_manifests() {
        lock.add_manifest(dir, Path::new("go.mod"), &m).unwrap();
    }
    let api = lock.external_deps(&GO_MEMBERS[0]).unwrap();
    // shared is a local replace: followed through, its (replaced) x/text listed.
    assert_eq!(
        names(&api),
        [
            "github.com/google/uuid@v1.6.0",
            "golang.org/x/net@v0.20.0",
            "golang.org/x/text@v0.14.1"
        ]
    );
    assert_eq!(
        api[0].checksum.as_deref(),
        Some("h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=")
    );
    // Only the go.mod hash is known for x/net (its packages are not built).
    assert_eq!(
        api[1].checksum.as_deref(),
        Some("h1:z8BVo6PvndSri0LbOE3hAn0apkU+1YvI6E70E9jsnvY=")
    );
    assert_eq!(
        names(&lock.external_deps(&GO_MEMBERS[1]).unwrap()),
        ["golang.org/x/text@v0.14.1"]
    );
    assert!(lock.external_deps(&GO_MEMBERS[2]).unwrap().is_empty());
}

#[test]
fn go_sum_change_affects_exactly_its_users() {
    let after = GO_SUM.replace("ScX5w1eTa3QqT8oi6", "AAAAw1eTa3QqT8oi6");
    assert_eq!(
        changed_members(
            LockfileKind::GoSum,
            GO_SUM,
            &after,
            &GO_MEMBERS,
            &go_manifests()
        ),
        ["example.com/api", "example.com/shared"]
    );
}

#[test]
fn go_malformed_reports_line() {
    let err = Lockfile::parse(
        LockfileKind::GoSum,
        Path::new("svc/go.sum"),
        "a v1 h1:x=\nbroken line\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("svc/go.sum:2: expected `module version hash`"),
        "{err}"
    );
    let mut lock = Lockfile::parse(LockfileKind::GoSum, Path::new("go.sum"), "").unwrap();
    let err = lock
        .add_manifest(
            ".",
            Path::new("go.mod"),
            "module m\n\nrequire (\n\tfoo\n)\n",
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("go.mod:4: malformed require directive"),
        "{err}"
    );
}

/// The package.json of each member of a node fixture, for yarn v1.
fn node_manifests(fixture_dir: &str) -> Vec<(&'static str, String)> {
    NODE_MEMBERS
        .iter()
        .map(|m| {
            (
                m.dir,
                fixture(&format!("{fixture_dir}/{}/package.json", m.dir)),
            )
        })
        .collect()
}

fn node_lock(kind: LockfileKind, fixture_dir: &str, text: &str) -> Lockfile {
    let mut lock = Lockfile::parse(kind, Path::new(kind.file_name()), text).unwrap();
    for (dir, m) in node_manifests(fixture_dir) {
        lock.add_manifest(dir, Path::new("package.json"), &m)
            .unwrap();
    }
    lock
}

/// Every node format resolves the one workspace (tests/fixtures/regen-node.sh) the same way.
#[test_case::test_case(LockfileKind::Npm, "npm", "package-lock.json")]
#[test_case::test_case(LockfileKind::Npm, "npm-v2", "package-lock.json")]
#[test_case::test_case(LockfileKind::Pnpm, "pnpm", "pnpm-lock.yaml")]
#[test_case::test_case(LockfileKind::Pnpm, "pnpm-v6", "pnpm-lock.yaml")]
#[test_case::test_case(LockfileKind::Pnpm, "pnpm-v5", "pnpm-lock.yaml")]
#[test_case::test_case(LockfileKind::Yarn1, "yarn1", "yarn.lock")]
#[test_case::test_case(LockfileKind::YarnBerry, "berry", "yarn.lock")]
#[test_case::test_case(LockfileKind::YarnBerry, "berry-v3", "yarn.lock")]
fn node_formats_agree(kind: LockfileKind, dir: &str, file: &str) {
    let text = fixture(&format!("{dir}/{file}"));
    if file == "yarn.lock" {
        assert_eq!(LockfileKind::yarn_kind_of(&text), kind);
    }
    let manifests_dir = match dir {
        "pnpm-v6" | "pnpm-v5" => "pnpm",
        "berry-v3" => "berry",
        "npm-v2" => "npm",
        d => d,
    };
    let lock = node_lock(kind, manifests_dir, &text);
    let deps = |i: usize| names(&lock.external_deps(&NODE_MEMBERS[i]).unwrap());
    assert_eq!(deps(0), ["left-pad@1.3.0"]);
    assert_eq!(
        deps(1),
        ["is-number@6.0.0", "is-number@7.0.0", "is-odd@3.0.1"]
    );
    assert_eq!(
        deps(2),
        [
            "is-number@6.0.0",
            "is-number@7.0.0",
            "is-odd@3.0.1",
            "ms@2.1.3"
        ]
    );
    assert_eq!(deps(3), ["ms@2.0.0"]);
    let sums = lock.external_deps(&NODE_MEMBERS[1]).unwrap();
    assert!(sums.iter().all(|p| p.checksum.is_some()), "{sums:?}");
}

#[test_case::test_case(LockfileKind::Pnpm, "pnpm", "pnpm-lock.yaml", &[("is-number@6.0.0", "is-number@6.0.1"), ("is-number: 6.0.0", "is-number: 6.0.1")])]
#[test_case::test_case(LockfileKind::Pnpm, "pnpm-v6", "pnpm-lock.yaml", &[("/is-number@6.0.0", "/is-number@6.0.1"), ("is-number: 6.0.0", "is-number: 6.0.1")])]
#[test_case::test_case(LockfileKind::Yarn1, "yarn1", "yarn.lock", &[("version \"6.0.0\"", "version \"6.0.1\"")])]
#[test_case::test_case(LockfileKind::YarnBerry, "berry", "yarn.lock", &[("version: 6.0.0", "version: 6.0.1"), ("is-number@npm:6.0.0\"", "is-number@npm:6.0.1\"")])]
fn node_transitive_change_affects_exactly_its_users(
    kind: LockfileKind,
    dir: &str,
    file: &str,
    edits: &[(&str, &str)],
) {
    let before = fixture(&format!("{dir}/{file}"));
    let mut after = before.clone();
    for (from, to) in edits {
        assert!(after.contains(from), "{from}");
        after = after.replace(from, to);
    }
    let manifests = if kind == LockfileKind::Yarn1 {
        node_manifests(dir)
    } else {
        Vec::new()
    };
    assert_eq!(
        changed_members(kind, &before, &after, &NODE_MEMBERS, &manifests),
        ["a", "b"]
    );
}

#[test]
fn yaml_and_yarn_errors_name_the_line() {
    let bad = "lockfileVersion: '9.0'\n\nimporters:\n  .:\n    dependencies: [\n";
    let err = Lockfile::parse(LockfileKind::Pnpm, Path::new("pnpm-lock.yaml"), bad)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("pnpm-lock.yaml:"), "{err}");
    let line: usize = err.split(':').nth(1).unwrap().parse().unwrap();
    assert!((5..=6).contains(&line), "{err}");
    let err = Lockfile::parse(
        LockfileKind::Pnpm,
        Path::new("pnpm-lock.yaml"),
        "lockfileVersion: 3.9\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("unsupported pnpm lockfile version 3.9"),
        "{err}"
    );
    let bad = fixture("pnpm/pnpm-lock.yaml")
        .replace("      is-number: 6.0.0\n", "      is-number: 6.6.6\n");
    let err = Lockfile::parse(LockfileKind::Pnpm, Path::new("pnpm-lock.yaml"), &bad)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("is-odd@3.0.1 depends on is-number@6.6.6"),
        "{err}"
    );
    let bad = "# yarn lockfile v1\n\n\nms@^2:\n  version \"2.1.3\"\nstray line\n";
    let err = Lockfile::parse(LockfileKind::Yarn1, Path::new("yarn.lock"), bad)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("yarn.lock:6: expected an entry header"),
        "{err}"
    );
    let mut lock = Lockfile::parse(
        LockfileKind::Yarn1,
        Path::new("yarn.lock"),
        &fixture("yarn1/yarn.lock"),
    )
    .unwrap();
    let err = lock
        .external_deps(&NODE_MEMBERS[1])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no manifest was given for member `a`"),
        "{err}"
    );
    let err = lock
        .add_manifest(
            "packages/a",
            Path::new("packages/a/package.json"),
            "{\n  \"name\": \"a\",\n  oops\n}",
        )
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("packages/a/package.json:3:"), "{err}");
    let bad = fixture("berry/yarn.lock").replace(
        "    is-number: \"npm:^6.0.0\"",
        "    is-number: \"npm:^9.0.0\"",
    );
    let err = Lockfile::parse(LockfileKind::YarnBerry, Path::new("yarn.lock"), &bad)
        .unwrap_err()
        .to_string();
    assert!(err.contains("depends on is-number@npm:^9.0.0"), "{err}");
}

#[test]
fn discover_finds_every_lockfile() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let write = |rel: &str, text: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write("package-lock.json", "{}");
    write("yarn.lock", &fixture("berry/yarn.lock"));
    write("Cargo.lock", "version = 4\n");
    write("go.work", "go 1.21\n");
    write("go.work.sum", "");
    write("svc/api/go.mod", "module example.com/api\n");
    write("svc/api/go.sum", "");
    write("svc/orphan/go.sum", "");
    write("node_modules/x/go.mod", "module x\n");
    write("node_modules/x/go.sum", "");
    write(".gitignore", "ignored/\n");
    write("ignored/go.mod", "module y\n");
    write("ignored/go.sum", "");
    let found = mono_lockfile::discover(root).unwrap();
    let found: Vec<(&str, LockfileKind)> = found.iter().map(|(p, k)| (p.as_str(), *k)).collect();
    assert_eq!(
        found,
        [
            ("Cargo.lock", LockfileKind::Cargo),
            ("go.work.sum", LockfileKind::GoSum),
            ("package-lock.json", LockfileKind::Npm),
            ("svc/api/go.sum", LockfileKind::GoSum),
            ("yarn.lock", LockfileKind::YarnBerry),
        ]
    );
}

#[test]
fn load_all_adds_the_manifests_each_format_needs() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    for dir in ["", "packages/a", "packages/b", "packages/c"] {
        let p = root.join(dir);
        std::fs::create_dir_all(&p).unwrap();
        std::fs::copy(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/yarn1")
                .join(dir)
                .join("package.json"),
            p.join("package.json"),
        )
        .unwrap();
    }
    std::fs::write(root.join("yarn.lock"), fixture("yarn1/yarn.lock")).unwrap();
    std::fs::create_dir_all(root.join("svc")).unwrap();
    std::fs::write(
        root.join("svc/go.mod"),
        "module example.com/svc\n\nrequire golang.org/x/text v0.14.0\n",
    )
    .unwrap();
    std::fs::write(root.join("svc/go.sum"), "golang.org/x/text v0.14.0 h1:x=\n").unwrap();
    let members = [
        NODE_MEMBERS[1],
        NODE_MEMBERS[2],
        NODE_MEMBERS[3],
        Member {
            dir: "svc",
            name: "example.com/svc",
        },
    ];
    let all = mono_lockfile::load_all(root, &members).unwrap();
    assert_eq!(
        all.iter()
            .map(|(p, l)| (p.as_str(), l.kind()))
            .collect::<Vec<_>>(),
        [
            ("svc/go.sum", LockfileKind::GoSum),
            ("yarn.lock", LockfileKind::Yarn1)
        ]
    );
    let go = &all[0].1;
    assert_eq!(
        names(&go.external_deps(&members[3]).unwrap()),
        ["golang.org/x/text@v0.14.0"]
    );
    let yarn = &all[1].1;
    assert_eq!(
        names(&yarn.external_deps(&members[2]).unwrap()),
        ["ms@2.0.0"]
    );
    assert_eq!(
        names(&yarn.external_deps(&NODE_MEMBERS[0]).unwrap()),
        ["left-pad@1.3.0"]
    );
}
