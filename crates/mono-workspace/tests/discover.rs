//! Discovery on repositories written to temporary folders, and on `fixtures/polyglot`.

use std::collections::BTreeSet;
use std::path::Path;

use mono_paths::{AbsPath, RepoPath};
use mono_task_id::PackageName;
use mono_workspace::{discover, Language, PackageGraph, WorkspaceError};

struct Repo {
    tmp: tempfile::TempDir,
}

impl Repo {
    fn new(files: &[(&str, &str)]) -> Self {
        let repo = Self {
            tmp: tempfile::tempdir().unwrap(),
        };
        for (path, text) in files {
            repo.write(path, text);
        }
        repo
    }

    fn write(&self, path: &str, text: &str) {
        let path = self.tmp.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn root(&self) -> AbsPath {
        AbsPath::new(self.tmp.path()).unwrap()
    }

    fn discover(&self) -> Result<PackageGraph, WorkspaceError> {
        let root = self.root();
        let config = mono_config::load_root(&root).expect("valid root config");
        discover(&root, &config)
    }
}

fn name(s: &str) -> PackageName {
    PackageName::new(s).unwrap()
}

fn path(s: &str) -> RepoPath {
    RepoPath::new(s).unwrap()
}

fn names<'a>(it: impl IntoIterator<Item = &'a PackageName>) -> Vec<&'a str> {
    it.into_iter().map(PackageName::as_str).collect()
}

/// Every edge as `dependent -> dependency`, sorted.
fn edges(graph: &PackageGraph) -> Vec<String> {
    let mut out = Vec::new();
    for package in graph.packages() {
        for dep in &package.dependencies {
            out.push(format!("{} -> {}", package.name, dep));
        }
    }
    out
}

fn polyglot() -> Repo {
    Repo::new(&[
        ("turbo.toml", "workspaces = [\"infra\", \"tools/*\"]\n[tasks.build]\n"),
        (
            "package.json",
            r#"{ "name": "poly", "workspaces": ["apps/*", "packages/*"],
                 "scripts": { "lint": "node lint.mjs" },
                 "devDependencies": { "@poly/config": "*" } }"#,
        ),
        ("apps/web/package.json", r#"{ "name": "@poly/web", "scripts": { "build": "node build.mjs" }, "dependencies": { "@poly/ui": "workspace:*", "react": "^18" }, "devDependencies": { "@poly/config": "*" } }"#),
        ("packages/ui/package.json", r#"{ "name": "@poly/ui", "optionalDependencies": { "@poly/client": "^1" }, "peerDependencies": { "@poly/config": "*" } }"#),
        ("packages/client/package.json", r#"{ "name": "@poly/client" }"#),
        ("packages/client/turbo.toml", "extends = [\"//\"]\ndependencies = [\"server\"]\n"),
        ("packages/config/package.json", r#"{ "name": "@poly/config" }"#),
        ("packages/not-a-package/README.md", "no manifest"),
        ("packages/ui/node_modules/dep/package.json", r#"{ "name": "dep" }"#),
        (
            "Cargo.toml",
            r#"
[workspace]
members = ["crates/*"]
exclude = ["crates/experimental"]

[workspace.dependencies]
core = { path = "crates/core", package = "poly-core" }
"#,
        ),
        ("crates/core/Cargo.toml", "[package]\nname = \"poly-core\"\n"),
        ("crates/core/src/lib.rs", ""),
        (
            "crates/server/Cargo.toml",
            "[package]\nname = \"server\"\n[dependencies]\ncore = { workspace = true }\n[dev-dependencies]\ntestkit = { path = \"../../tools/testkit\" }\n",
        ),
        ("crates/server/src/main.rs", "fn main() {}"),
        ("crates/server/src/bin/admin.rs", "fn main() {}"),
        ("crates/experimental/Cargo.toml", "[package]\nname = \"experimental\"\n"),
        ("tools/testkit/Cargo.toml", "[package]\nname = \"testkit\"\n"),
        ("go.work", "go 1.21\n\nuse (\n\t./services/api // the API\n\t./services/shared\n)\n"),
        (
            "services/api/go.mod",
            "module example.com/poly/api\n\ngo 1.21\n\nrequire (\n\texample.com/poly/shared v0.0.0\n\tgithub.com/x/y v1.0.0\n)\n\nreplace example.com/poly/shared => ../shared\n",
        ),
        ("services/api/cmd/api/main.go", "// Command api.\npackage main\n\nfunc main() {}\n"),
        ("services/shared/go.mod", "module example.com/poly/shared\n\ngo 1.21\n"),
        ("services/shared/shared.go", "package shared\n"),
        ("services/shared/shared_test.go", "package main\n"),
        ("infra/turbo.toml", "name = \"infra\"\ndependencies = [\"api\", \"server\"]\n[tasks.build]\ncommand = \"make\"\n"),
        ("tools/empty/README.md", "not a package"),
    ])
}

#[test]
fn discovers_a_polyglot_repository() {
    let repo = polyglot();
    let graph = repo.discover().unwrap();
    let listed: Vec<(String, String, Language)> = graph
        .packages()
        .map(|p| (p.name.to_string(), p.dir.to_string(), p.language))
        .collect();
    let expected = [
        ("//", ".", Language::Node),
        ("@poly/client", "packages/client", Language::Node),
        ("@poly/config", "packages/config", Language::Node),
        ("@poly/ui", "packages/ui", Language::Node),
        ("@poly/web", "apps/web", Language::Node),
        ("api", "services/api", Language::Go),
        ("infra", "infra", Language::Generic),
        ("poly-core", "crates/core", Language::Rust),
        ("server", "crates/server", Language::Rust),
        ("shared", "services/shared", Language::Go),
        ("testkit", "tools/testkit", Language::Rust),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|(n, d, l)| (n.to_string(), d.to_string(), *l))
        .collect();
    assert_eq!(listed, expected);
    assert_eq!(
        edges(&graph),
        [
            "// -> @poly/config",
            "@poly/client -> server",
            "@poly/ui -> @poly/client",
            "@poly/web -> @poly/config",
            "@poly/web -> @poly/ui",
            "api -> shared",
            "infra -> api",
            "infra -> server",
            "server -> poly-core",
            "server -> testkit",
        ]
    );
    assert!(graph.warnings().is_empty(), "{:?}", graph.warnings());

    let root = graph.root();
    assert_eq!(root.scripts["lint"], "node lint.mjs");
    assert_eq!(root.manifest.as_str(), "package.json");
    let server = graph.get(&name("server")).unwrap();
    assert_eq!(server.rust_bins, ["admin", "server"]);
    assert_eq!(server.manifest.as_str(), "crates/server/Cargo.toml");
    assert_eq!(server.crate_name.as_deref(), Some("server"));
    let api = graph.get(&name("api")).unwrap();
    assert_eq!(api.go_module.as_deref(), Some("example.com/poly/api"));
    assert_eq!(api.manifest.as_str(), "services/api/go.mod");
    assert!(api.go_main_packages);
    assert!(!graph.get(&name("shared")).unwrap().go_main_packages);
    assert!(!server.go_main_packages);
    let infra = graph.get(&name("infra")).unwrap();
    assert_eq!(infra.manifest.as_str(), "infra/turbo.toml");
    assert!(infra.config.as_ref().unwrap().task("build").is_some());
    let web = graph.get(&name("@poly/web")).unwrap();
    assert_eq!(web.scripts["build"], "node build.mjs");
    assert!(web.config.is_none());
    assert!(graph.get(&name("@poly/client")).unwrap().config.is_some());

    assert_eq!(
        names(graph.dependents(&name("server"))),
        ["@poly/client", "infra"]
    );
    assert_eq!(
        names(&graph.transitive_dependencies(&name("@poly/web"))),
        [
            "@poly/client",
            "@poly/config",
            "@poly/ui",
            "poly-core",
            "server",
            "testkit"
        ]
    );
    assert_eq!(
        names(&graph.transitive_dependents(&name("poly-core"))),
        ["@poly/client", "@poly/ui", "@poly/web", "infra", "server"]
    );
    let order: Vec<&str> = graph
        .topological_order()
        .into_iter()
        .map(|n| n.as_str())
        .collect();
    for package in graph.packages() {
        let at = order
            .iter()
            .position(|n| *n == package.name.as_str())
            .unwrap();
        for dep in &package.dependencies {
            assert!(order.iter().position(|n| *n == dep.as_str()).unwrap() < at);
        }
    }
}

#[test]
fn discovery_is_deterministic() {
    let repo = polyglot();
    let first = edges(&repo.discover().unwrap());
    for _ in 0..5 {
        assert_eq!(edges(&repo.discover().unwrap()), first);
    }
}

#[test]
fn package_containing_finds_the_deepest_package() {
    let repo = Repo::new(&[
        (
            "package.json",
            r#"{ "workspaces": ["apps/*", "apps/web/plugins/*"] }"#,
        ),
        ("apps/web/package.json", r#"{ "name": "web" }"#),
        ("apps/web/plugins/seo/package.json", r#"{ "name": "seo" }"#),
        ("apps/webby/package.json", r#"{ "name": "webby" }"#),
        // `-` sorts before `/`: a sibling whose name extends `web` lies on both sides of
        // `apps/web/…` in string order, and must not count as nested in `web`.
        ("apps/web-x/package.json", r#"{ "name": "web-x" }"#),
    ]);
    let graph = repo.discover().unwrap();
    let containing = |p: &str| graph.package_containing(&path(p)).name.to_string();
    assert_eq!(containing("apps/web/src/index.ts"), "web");
    assert_eq!(containing("apps/web"), "web");
    assert_eq!(containing("apps/web/plugins/seo/index.ts"), "seo");
    assert_eq!(containing("apps/webby/x"), "webby");
    assert_eq!(containing("apps/other/x"), "//");
    assert_eq!(containing("README.md"), "//");
    assert_eq!(containing(""), "//");

    let nested = |n: &str| graph.nested_package_dirs(&name(n));
    assert_eq!(nested("web"), [path("apps/web/plugins/seo")]);
    assert!(nested("seo").is_empty());
    assert!(nested("web-x").is_empty());
    assert_eq!(
        nested("//"),
        [
            path("apps/web"),
            path("apps/web-x"),
            path("apps/web/plugins/seo"),
            path("apps/webby")
        ]
    );
}

#[test]
fn duplicate_names_across_languages() {
    let repo = Repo::new(&[
        ("package.json", r#"{ "workspaces": ["packages/*"] }"#),
        ("packages/core/package.json", r#"{ "name": "core" }"#),
        ("Cargo.toml", "[workspace]\nmembers = [\"crates/*\"]\n"),
        ("crates/core/Cargo.toml", "[package]\nname = \"core\"\n"),
    ]);
    let err = repo.discover().unwrap_err();
    let WorkspaceError::DuplicatePackage {
        name,
        first,
        second,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (name.as_str(), first.as_str(), second.as_str()),
        (
            "core",
            "crates/core/Cargo.toml",
            "packages/core/package.json"
        )
    );
    assert_eq!(
        err.to_string(),
        "two packages are named `core`: crates/core/Cargo.toml and packages/core/package.json"
    );
}

#[test]
fn cycle_reports_a_real_path() {
    let repo = Repo::new(&[
        ("package.json", r#"{ "workspaces": ["packages/*"] }"#),
        (
            "packages/a/package.json",
            r#"{ "name": "a", "dependencies": { "b": "*" } }"#,
        ),
        (
            "packages/b/package.json",
            r#"{ "name": "b", "dependencies": { "c": "*", "d": "*" } }"#,
        ),
        (
            "packages/c/package.json",
            r#"{ "name": "c", "dependencies": { "a": "*" } }"#,
        ),
        ("packages/d/package.json", r#"{ "name": "d" }"#),
        (
            "packages/d/turbo.toml",
            "extends = [\"//\"]\ndependencies = [\"d\"]\n",
        ),
    ]);
    let err = repo.discover().unwrap_err();
    let WorkspaceError::Many { errors } = &err else {
        panic!("{err:?}")
    };
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            "package dependency cycle: a -> b -> c -> a",
            "package dependency cycle: d -> d",
        ]
    );
}

#[test]
fn unknown_turbo_toml_dependency_points_at_the_entry() {
    let repo = Repo::new(&[
        ("package.json", r#"{ "workspaces": ["packages/*"] }"#),
        ("packages/client/package.json", r#"{ "name": "client" }"#),
        ("packages/server/package.json", r#"{ "name": "server" }"#),
        (
            "packages/client/turbo.toml",
            "extends = [\"//\"]\ndependencies = [\"server\", \"sever\"]\n",
        ),
    ]);
    let err = repo.discover().unwrap_err();
    let WorkspaceError::UnknownDependency { location, help, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(location, "packages/client/turbo.toml:2:27");
    assert_eq!(help.as_deref(), Some("did you mean `server`?"));
    assert!(
        err.to_string()
            .starts_with("packages/client/turbo.toml:2:27:"),
        "{err}"
    );
}

#[test]
fn package_json_errors_name_file_line_and_column() {
    let repo = Repo::new(&[
        ("package.json", r#"{ "workspaces": ["packages/*"] }"#),
        ("packages/bad/package.json", "{\n  \"name\": \"bad\",\n}\n"),
        ("packages/anon/package.json", "{ \"version\": \"1.0.0\" }"),
    ]);
    let err = repo.discover().unwrap_err();
    let messages: Vec<String> = match &err {
        WorkspaceError::Many { errors } => errors.iter().map(ToString::to_string).collect(),
        other => panic!("{other:?}"),
    };
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(
        messages[0].starts_with("failed to parse packages/bad/package.json:3:1:"),
        "{messages:?}"
    );
    assert_eq!(messages[1], "packages/anon/package.json has no `name`");
}

#[test]
fn cargo_and_go_manifest_errors_name_file_and_line() {
    let repo = Repo::new(&[
        ("Cargo.toml", "[workspace]\nmembers = [\"crates/*\"]\n"),
        (
            "crates/bad/Cargo.toml",
            "[package]\nname = \"bad\"\nversion = \n",
        ),
        ("go.work", "use ./mod\n"),
        ("mod/go.mod", "module example.com/mod\nrequire (\n"),
    ]);
    let err = repo.discover().unwrap_err();
    let WorkspaceError::Many { errors } = &err else {
        panic!("{err:?}")
    };
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(
        messages[0].starts_with("failed to parse crates/bad/Cargo.toml:3:"),
        "{messages:?}"
    );
    assert_eq!(
        messages[1],
        "failed to parse mod/go.mod:2: `require (` block is never closed"
    );
}

#[test]
fn go_work_use_without_go_mod_is_an_error() {
    let repo = Repo::new(&[("go.work", "go 1.21\nuse ./missing\n")]);
    let err = repo.discover().unwrap_err();
    assert_eq!(
        err.to_string(),
        "go.work:2 lists missing, which has no go.mod"
    );
}

#[test]
fn pnpm_workspace_with_exclusions() {
    let repo = Repo::new(&[
        (
            "package.json",
            r#"{ "name": "root", "workspaces": ["ignored/*"] }"#,
        ),
        (
            "pnpm-workspace.yaml",
            "packages:\n  - 'packages/**'\n  - '!packages/legacy'\n",
        ),
        (
            "packages/a/package.json",
            r#"{ "name": "a", "dependencies": { "b": "workspace:^" } }"#,
        ),
        ("packages/group/b/package.json", r#"{ "name": "b" }"#),
        ("packages/legacy/package.json", r#"{ "name": "legacy" }"#),
        ("ignored/x/package.json", r#"{ "name": "x" }"#),
    ]);
    let graph = repo.discover().unwrap();
    assert_eq!(names(graph.packages().map(|p| &p.name)), ["//", "a", "b"]);
    assert_eq!(edges(&graph), ["a -> b"]);
    // pnpm ignores package.json `workspaces` here without a word, and so do turbo and mono.
    assert!(graph.warnings().is_empty(), "{:?}", graph.warnings());
}

#[test]
fn cargo_path_dependencies_renames_and_implicit_members() {
    let repo = Repo::new(&[
        (
            "Cargo.toml",
            r#"
[workspace]
members = ["crates/app", "crates/lib*", "vendor/*"]
exclude = ["crates/lib-excluded"]

[workspace.dependencies]
renamed = { path = "crates/lib-real", package = "lib-real" }
patched = "1"

[patch.crates-io]
patched = { path = "vendor/patched" }
"#,
        ),
        (
            "crates/app/Cargo.toml",
            r#"
[package]
name = "app"

[dependencies]
alias = { path = "../lib-a", package = "lib-a" }
renamed = { workspace = true }
patched = { workspace = true }

[target.'cfg(unix)'.build-dependencies]
helper = { path = "../../helpers/helper" }
"#,
        ),
        ("crates/lib-a/Cargo.toml", "[package]\nname = \"lib-a\"\n"),
        (
            "crates/lib-real/Cargo.toml",
            "[package]\nname = \"lib-real\"\n",
        ),
        (
            "crates/lib-excluded/Cargo.toml",
            "[package]\nname = \"lib-excluded\"\n",
        ),
        (
            "helpers/helper/Cargo.toml",
            "[package]\nname = \"helper\"\n",
        ),
        (
            "vendor/patched/Cargo.toml",
            "[package]\nname = \"patched\"\n",
        ),
    ]);
    let graph = repo.discover().unwrap();
    assert_eq!(
        names(graph.packages().map(|p| &p.name)),
        ["//", "app", "helper", "lib-a", "lib-real", "patched"]
    );
    assert_eq!(
        edges(&graph),
        [
            "app -> helper",
            "app -> lib-a",
            "app -> lib-real",
            "app -> patched"
        ]
    );
    assert_eq!(graph.root().language, Language::Generic);
    assert_eq!(graph.root().manifest.as_str(), "turbo.toml");
}

#[test]
fn go_modules_are_named_by_full_path_when_the_short_name_is_taken() {
    let repo = Repo::new(&[
        ("turbo.toml", "workspaces = [\"go/*\", \"web\"]\n"),
        ("web/package.json", r#"{ "name": "api" }"#),
        ("go/api/go.mod", "module example.com/go/api\n"),
        ("go/a-util/go.mod", "module example.com/a/util/v2\n"),
        (
            "go/b-util/go.mod",
            "module example.com/b/util\nrequire example.com/a/util/v2 v2.0.0\n",
        ),
        ("go/tool/go.mod", "module example.com/tool\n"),
    ]);
    let graph = repo.discover().unwrap();
    assert_eq!(
        names(graph.packages().map(|p| &p.name)),
        [
            "//",
            "api",
            "example.com/a/util/v2",
            "example.com/b/util",
            "example.com/go/api",
            "tool"
        ]
    );
    assert_eq!(
        edges(&graph),
        ["example.com/b/util -> example.com/a/util/v2"]
    );
}

#[test]
fn a_folder_listed_twice_is_one_package_with_a_warning() {
    let repo = Repo::new(&[
        ("package.json", r#"{ "workspaces": ["packages/*"] }"#),
        ("Cargo.toml", "[workspace]\nmembers = [\"packages/*\", \"crates/*\"]\n"),
        (
            "packages/native/package.json",
            r#"{ "name": "@acme/native", "scripts": { "build": "napi build" } }"#,
        ),
        (
            "packages/native/Cargo.toml",
            "[package]\nname = \"native\"\n[dependencies]\ncore = { path = \"../../crates/core\" }\n",
        ),
        ("crates/core/Cargo.toml", "[package]\nname = \"core\"\n"),
        ("crates/cli/Cargo.toml", "[package]\nname = \"cli\"\n[dependencies]\nnative = { path = \"../../packages/native\" }\n"),
    ]);
    let graph = repo.discover().unwrap();
    let native = graph.get(&name("@acme/native")).unwrap();
    assert_eq!(native.language, Language::Node);
    assert_eq!(native.crate_name.as_deref(), Some("native"));
    assert_eq!(
        edges(&graph),
        ["@acme/native -> core", "cli -> @acme/native"]
    );
    assert_eq!(
        graph.warnings()[0].to_string(),
        "packages/native is listed as a node package and as a rust package; it is one node \
         package (its dependencies are those of all its manifests)"
    );
}

#[test]
fn generic_folder_needs_a_name_and_extra_folders_are_typed_by_manifest() {
    let repo = Repo::new(&[
        ("turbo.toml", "workspaces = [\"extra/*\"]\n"),
        ("extra/node/package.json", r#"{ "name": "extra-node" }"#),
        (
            "extra/rust/Cargo.toml",
            "[package]\nname = \"extra-rust\"\n",
        ),
        ("extra/go/go.mod", "module example.com/extra-go\n"),
        ("extra/generic/turbo.toml", "name = \"extra-generic\"\n"),
        ("extra/nothing/README.md", ""),
    ]);
    let graph = repo.discover().unwrap();
    let kinds: Vec<(String, Language)> = graph
        .packages()
        .map(|p| (p.name.to_string(), p.language))
        .collect();
    assert_eq!(
        kinds,
        [
            ("//".to_owned(), Language::Generic),
            ("extra-generic".to_owned(), Language::Generic),
            ("extra-go".to_owned(), Language::Go),
            ("extra-node".to_owned(), Language::Node),
            ("extra-rust".to_owned(), Language::Rust),
        ]
    );

    repo.write(
        "extra/unnamed/turbo.toml",
        "extends = [\"//\"]\n[tasks.build]\ncommand = \"make\"\n",
    );
    let err = repo.discover().unwrap_err();
    assert_eq!(err.to_string(), "extra/unnamed/turbo.toml has no `name`");
}

#[test]
fn a_name_in_a_node_package_turbo_toml_is_ignored_with_a_warning() {
    let repo = Repo::new(&[
        ("package.json", r#"{ "workspaces": ["web"] }"#),
        ("web/package.json", r#"{ "name": "web" }"#),
        ("web/turbo.toml", "name = \"other\"\n"),
    ]);
    let graph = repo.discover().unwrap();
    assert!(graph.get(&name("web")).is_some());
    assert_eq!(
        graph.warnings()[0].to_string(),
        "web/turbo.toml:1:8: `name = \"other\"` is ignored; the package is named `web` by web/package.json"
    );
}

#[test]
fn globs_matching_nothing_are_fine() {
    let repo = Repo::new(&[
        (
            "package.json",
            r#"{ "workspaces": ["nothing/*", "missing"] }"#,
        ),
        ("Cargo.toml", "[workspace]\nmembers = [\"none/*\"]\n"),
    ]);
    let graph = repo.discover().unwrap();
    assert_eq!(graph.len(), 1);
    assert_eq!(graph.root().language, Language::Node);
}

#[test]
fn invalid_config_of_a_package_is_reported() {
    let repo = Repo::new(&[
        ("package.json", r#"{ "workspaces": ["web"] }"#),
        ("web/package.json", r#"{ "name": "web" }"#),
        ("web/turbo.toml", "[tasks.build]\noutput = []\n"),
    ]);
    let err = repo.discover().unwrap_err();
    assert!(matches!(err, WorkspaceError::Config(_)), "{err:?}");
}

/// The fixture folder `fixtures/<name>`; a missing one fails the test that needs it.
fn fixture(name: &str) -> AbsPath {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name);
    let dir = dir
        .canonicalize()
        .unwrap_or_else(|e| panic!("fixture {}: {e}", dir.display()));
    AbsPath::new(dir).unwrap()
}

/// The package graph that fixtures/polyglot/README.md describes.
#[test]
fn polyglot_fixture() {
    let root = fixture("polyglot");
    let config = mono_config::load_root(&root).unwrap();
    let graph = discover(&root, &config).unwrap();
    let listed: Vec<(String, String, Language)> = graph
        .packages()
        .map(|p| (p.name.to_string(), p.dir.to_string(), p.language))
        .collect();
    let expected = [
        ("//", ".", Language::Node),
        (
            "@polyglot/api-client",
            "packages/api-client",
            Language::Node,
        ),
        ("@polyglot/ui", "packages/ui", Language::Node),
        ("@polyglot/web", "apps/web", Language::Node),
        ("api", "services/api", Language::Go),
        ("infra", "infra", Language::Generic),
        ("polyglot-core", "crates/core", Language::Rust),
        ("polyglot-server", "crates/server", Language::Rust),
        ("shared", "services/shared", Language::Go),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|(n, d, l)| (n.to_string(), d.to_string(), *l))
        .collect();
    assert_eq!(listed, expected);
    assert_eq!(
        edges(&graph),
        [
            "@polyglot/api-client -> polyglot-server",
            "@polyglot/web -> @polyglot/api-client",
            "@polyglot/web -> @polyglot/ui",
            "api -> shared",
            "infra -> api",
            "infra -> polyglot-server",
            "polyglot-server -> polyglot-core",
        ]
    );
    assert!(graph.dependents(&PackageName::root()).next().is_none());
    assert_eq!(
        graph.get(&name("polyglot-server")).unwrap().rust_bins,
        ["polyglot-server"]
    );
    assert!(graph
        .get(&name("polyglot-core"))
        .unwrap()
        .rust_bins
        .is_empty());
    assert!(graph.warnings().is_empty(), "{:?}", graph.warnings());
    assert!(graph.get(&name("api")).unwrap().go_main_packages);
    assert!(!graph.get(&name("shared")).unwrap().go_main_packages);
    let scripts: BTreeSet<&str> = graph.root().scripts.keys().map(String::as_str).collect();
    assert_eq!(scripts, BTreeSet::from(["lint"]));
}

/// The package graph that fixtures/node-only/README.md describes.
#[test]
fn node_only_fixture() {
    let root = fixture("node-only");
    let graph = discover(&root, &mono_config::RootConfig::default()).unwrap();
    assert_eq!(
        names(graph.packages().map(|p| &p.name)),
        [
            "//",
            "@repo/config",
            "@repo/tsconfig",
            "@repo/ui",
            "@repo/utils",
            "docs",
            "web"
        ]
    );
    assert_eq!(
        edges(&graph),
        [
            "@repo/ui -> @repo/tsconfig",
            "@repo/ui -> @repo/utils",
            "@repo/utils -> @repo/tsconfig",
            "docs -> @repo/config",
            "docs -> @repo/ui",
            "web -> @repo/config",
            "web -> @repo/tsconfig",
            "web -> @repo/ui",
            "web -> @repo/utils",
        ]
    );
    let scripts: Vec<&str> = graph.root().scripts.keys().map(String::as_str).collect();
    assert_eq!(scripts, ["format", "lint"]);
}

/// fixtures/errors/<case>/EXPECT is the one line mono must report.
#[test_case::test_case("duplicate-package")]
#[test_case::test_case("package-cycle")]
fn error_fixtures(case: &str) {
    let root = fixture(&format!("errors/{case}"));
    let expected = std::fs::read_to_string(root.as_path().join("EXPECT")).unwrap();
    let err = discover(&root, &mono_config::RootConfig::default()).unwrap_err();
    assert_eq!(err.to_string(), expected.trim());
}

#[test]
fn a_root_crate_is_the_root_package() {
    let repo = Repo::new(&[
        (
            "Cargo.toml",
            "[package]\nname = \"tool\"\n[dependencies]\nlib = { path = \"lib\" }\n[workspace]\nmembers = [\"lib\"]\n",
        ),
        ("src/main.rs", "fn main() {}"),
        ("lib/Cargo.toml", "[package]\nname = \"lib\"\n"),
    ]);
    let graph = repo.discover().unwrap();
    let root = graph.root();
    assert_eq!(root.language, Language::Rust);
    assert_eq!(root.manifest.as_str(), "Cargo.toml");
    assert_eq!(root.crate_name.as_deref(), Some("tool"));
    assert_eq!(root.rust_bins, ["tool"]);
    assert_eq!(edges(&graph), ["// -> lib"]);
}

#[test]
fn a_root_go_module_used_by_go_work_is_the_root_package() {
    let repo = Repo::new(&[
        ("go.work", "use (\n\t.\n\t./tools\n)\n"),
        (
            "go.mod",
            "module example.com/app\nrequire example.com/app/tools v0.0.0\n",
        ),
        ("tools/go.mod", "module example.com/app/tools\n"),
    ]);
    let graph = repo.discover().unwrap();
    assert_eq!(graph.root().language, Language::Go);
    assert_eq!(graph.root().go_module.as_deref(), Some("example.com/app"));
    assert_eq!(edges(&graph), ["// -> tools"]);
}

#[test]
fn only_cargo_members_pull_in_path_dependencies() {
    let repo = Repo::new(&[
        ("turbo.toml", "workspaces = [\"extra\"]\n"),
        ("Cargo.toml", "[workspace]\nmembers = [\"member\"]\n"),
        ("member/Cargo.toml", "[package]\nname = \"member\"\n"),
        (
            "extra/Cargo.toml",
            "[package]\nname = \"extra\"\n[dependencies]\nhidden = { path = \"../hidden\" }\nmember = { path = \"../member\" }\n",
        ),
        ("hidden/Cargo.toml", "[package]\nname = \"hidden\"\n"),
    ]);
    let graph = repo.discover().unwrap();
    assert_eq!(
        names(graph.packages().map(|p| &p.name)),
        ["//", "extra", "member"]
    );
    assert_eq!(edges(&graph), ["extra -> member"]);
}

#[test]
fn the_root_packages_dependencies_are_everyones() {
    // As in Turborepo: the root depends on `tool`, so every package depends on it (`...tool`
    // is everything) and `app...` pulls in `tool` and what it depends on.
    let repo = Repo::new(&[
        (
            "package.json",
            r#"{ "name": "root", "workspaces": ["packages/*"], "devDependencies": { "tool": "*" } }"#,
        ),
        (
            "packages/app/package.json",
            r#"{ "name": "app", "dependencies": { "lib": "*" } }"#,
        ),
        ("packages/lib/package.json", r#"{ "name": "lib" }"#),
        (
            "packages/tool/package.json",
            r#"{ "name": "tool", "dependencies": { "base": "*" } }"#,
        ),
        ("packages/base/package.json", r#"{ "name": "base" }"#),
        ("packages/alone/package.json", r#"{ "name": "alone" }"#),
    ]);
    let graph = repo.discover().unwrap();
    assert_eq!(names(graph.root_dependencies()), ["base", "tool"]);
    assert_eq!(
        names(&graph.transitive_dependencies(&name("app"))),
        ["base", "lib", "tool"]
    );
    assert_eq!(
        names(&graph.transitive_dependents(&name("tool"))),
        ["//", "alone", "app", "base", "lib"]
    );
    assert_eq!(names(&graph.transitive_dependents(&name("lib"))), ["app"]);
    // The direct edges, which `^task` follows, are the manifests' only.
    assert_eq!(edges(&graph), ["// -> tool", "app -> lib", "tool -> base"]);
}

#[test]
fn which_specifiers_link_to_workspace_packages() {
    let manifests = [
        (
            "packages/app/package.json",
            r#"{ "name": "app", "dependencies": {
                "in-range": "^1.0.0", "out-of-range": "^2.0.0", "star": "*",
                "by-workspace": "workspace:*", "from-catalog": "catalog:",
                "alias": "npm:^1.0.0", "local": "file:../local", "portal": "portal:../portal"
            } }"#,
        ),
        (
            "packages/in-range/package.json",
            r#"{ "name": "in-range", "version": "1.2.0" }"#,
        ),
        (
            "packages/out-of-range/package.json",
            r#"{ "name": "out-of-range", "version": "1.2.0" }"#,
        ),
        (
            "packages/star/package.json",
            r#"{ "name": "star", "version": "0.0.0-dev" }"#,
        ),
        (
            "packages/by-workspace/package.json",
            r#"{ "name": "by-workspace", "version": "9.0.0" }"#,
        ),
        (
            "packages/from-catalog/package.json",
            r#"{ "name": "from-catalog", "version": "1.0.0" }"#,
        ),
        (
            "packages/alias/package.json",
            r#"{ "name": "alias", "version": "1.0.0" }"#,
        ),
        ("packages/local/package.json", r#"{ "name": "local" }"#),
        ("packages/portal/package.json", r#"{ "name": "portal" }"#),
    ];
    let deps = |repo: &Repo| {
        let graph = repo.discover().unwrap();
        let app = graph.get(&name("app")).unwrap();
        names(&app.dependencies)
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    // npm links plain ranges that the workspace version satisfies.
    let npm = Repo::new(&manifests);
    npm.write(
        "package.json",
        r#"{ "name": "root", "packageManager": "npm@10.0.0", "workspaces": ["packages/*"] }"#,
    );
    assert_eq!(
        deps(&npm),
        ["alias", "by-workspace", "in-range", "local", "star"]
    );
    // pnpm 9 links only `workspace:`, unless link-workspace-packages is on.
    let pnpm = Repo::new(&manifests);
    pnpm.write(
        "package.json",
        r#"{ "name": "root", "packageManager": "pnpm@9.12.0" }"#,
    );
    pnpm.write("pnpm-workspace.yaml", "packages:\n  - packages/*\n");
    assert_eq!(deps(&pnpm), ["by-workspace"]);
    pnpm.write(
        "pnpm-workspace.yaml",
        "packages:\n  - packages/*\nlinkWorkspacePackages: true\n",
    );
    assert_eq!(
        deps(&pnpm),
        ["alias", "by-workspace", "in-range", "local", "star"]
    );
}

#[test]
fn extending_a_package_that_does_not_exist_is_an_error() {
    let repo = Repo::new(&[
        (
            "package.json",
            r#"{ "name": "root", "workspaces": ["packages/*"] }"#,
        ),
        ("packages/web/package.json", r#"{ "name": "web" }"#),
        (
            "packages/web/turbo.jsonc",
            r#"{ "extends": ["//", "wbe", "docs"] }"#,
        ),
        ("packages/docs/package.json", r#"{ "name": "docs" }"#),
    ]);
    let err = repo.discover().unwrap_err().to_string();
    assert!(err.contains("problems"), "{err}");
    let WorkspaceError::Many { errors } = repo.discover().unwrap_err() else {
        panic!("two problems");
    };
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(
        messages[0].contains("names `wbe`, which is not a package"),
        "{messages:?}"
    );
    assert!(
        messages[1].contains("names `docs`, which has no turbo.json"),
        "{messages:?}"
    );
}

/// Issue 16: a workspace manifest that is a directory, a dangling symlink or a FIFO was
/// skipped silently (the package vanished); a FIFO must not block discovery either.
#[test]
fn a_manifest_that_is_not_a_regular_file_is_an_error_naming_it() {
    let repo = Repo::new(&[
        (
            "package.json",
            r#"{"name": "root", "workspaces": ["pkgs/*"]}"#,
        ),
        ("pkgs/ok/package.json", r#"{"name": "ok"}"#),
        ("pkgs/dir/package.json/x", ""),
        ("pkgs/dangling/index.js", ""),
        ("pkgs/fifo/index.js", ""),
    ]);
    std::os::unix::fs::symlink(
        "missing.json",
        repo.tmp.path().join("pkgs/dangling/package.json"),
    )
    .unwrap();
    let fifo = repo.tmp.path().join("pkgs/fifo/package.json");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo (coreutils) makes the FIFO");
    assert!(status.success());
    let WorkspaceError::Many { errors } = repo.discover().unwrap_err() else {
        panic!("three errors");
    };
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let text = text.join("\n");
    for expected in [
        "pkgs/dir/package.json is a directory, not a regular file",
        "pkgs/dangling/package.json is a dangling symlink, not a regular file",
        "pkgs/fifo/package.json is a FIFO, not a regular file",
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
}

#[test]
fn a_root_manifest_that_is_a_fifo_is_an_error_not_a_hang() {
    let repo = Repo::new(&[("pkgs/a/go.mod", "module example.com/a\n")]);
    let status = std::process::Command::new("mkfifo")
        .arg(repo.tmp.path().join("Cargo.toml"))
        .status()
        .expect("mkfifo (coreutils) makes the FIFO");
    assert!(status.success());
    let err = repo.discover().unwrap_err();
    assert!(
        err.to_string()
            .contains("Cargo.toml is a FIFO, not a regular file"),
        "{err}"
    );
}

#[test]
fn uv_workspace_members_and_python_folders_are_python_packages() {
    let repo = Repo::new(&[
        (
            "pyproject.toml",
            "[tool.uv.workspace]\nmembers = [\"py/*\"]\nexclude = [\"py/old\"]\n",
        ),
        (
            "turbo.toml",
            "workspaces = [\"services/*\", \"web\"]\n[tasks.build]\n",
        ),
        (
            "py/Core_Lib/pyproject.toml",
            "[project]\nname = \"Core_Lib\"\n[dependency-groups]\ndev = [\"pytest\", \"ruff>=0.6\"]\n",
        ),
        (
            "py/api/pyproject.toml",
            "[project]\nname = \"api\"\ndependencies = [\"core-lib[extra] >=1 ; python_version >= '3.11'\"]\n",
        ),
        (
            "py/tool/pyproject.toml",
            "[project]\nname = \"tool\"\n[project.optional-dependencies]\ncli = [\"API\"]\n[tool.uv.sources]\nvendored = { path = \"../../services/vendored\" }\n",
        ),
        // A virtual member (no [project]) and an excluded one: not packages.
        ("py/virtual/pyproject.toml", "[tool.uv]\npackage = false\n"),
        ("py/old/pyproject.toml", "[project]\nname = \"old\"\n"),
        // Without uv: a requirements.txt service and a pyproject of another backend.
        (
            "services/Legacy_Svc/requirements.txt",
            "flask==3.0\n-e ../../py/Core_Lib\n",
        ),
        ("services/Legacy_Svc/test_app.py", ""),
        (
            "services/vendored/pyproject.toml",
            "[project]\nname = \"vendored\"\n[build-system]\nbuild-backend = \"hatchling.build\"\n",
        ),
        (
            "web/package.json",
            r#"{ "name": "web", "scripts": { "build": "vite build" } }"#,
        ),
        // Cross-language: the web app needs the API's schema.
        ("web/turbo.toml", "extends = [\"//\"]\ndependencies = [\"api\"]\n"),
    ]);
    let graph = repo.discover().unwrap();
    let kinds: Vec<(String, String, Language)> = graph
        .packages()
        .map(|p| (p.name.to_string(), p.dir.to_string(), p.language))
        .collect();
    let expect = |n: &str, d: &str, l| (n.to_owned(), d.to_owned(), l);
    assert_eq!(
        kinds,
        [
            expect("//", ".", Language::Generic),
            expect("api", "py/api", Language::Python),
            expect("core-lib", "py/Core_Lib", Language::Python),
            expect("legacy-svc", "services/Legacy_Svc", Language::Python),
            expect("tool", "py/tool", Language::Python),
            expect("vendored", "services/vendored", Language::Python),
            expect("web", "web", Language::Node),
        ]
    );
    assert_eq!(
        edges(&graph),
        [
            "api -> core-lib",
            "legacy-svc -> core-lib",
            "tool -> api",
            "tool -> vendored",
            "web -> api",
        ]
    );
    let python = |n: &str| graph.get(&name(n)).unwrap().python.clone().unwrap();
    let core = python("core-lib");
    assert!(core.uv && core.ruff && !core.has_tests);
    let legacy = python("legacy-svc");
    assert!(!legacy.uv && legacy.has_tests);
    assert_eq!(
        legacy.requirements,
        [path("services/Legacy_Svc/requirements.txt")]
    );
    assert_eq!(
        graph.get(&name("legacy-svc")).unwrap().manifest,
        path("services/Legacy_Svc/requirements.txt")
    );
    assert!(!python("vendored").uv);
}

#[test]
fn a_bad_python_requirement_is_an_error_at_its_line() {
    let repo = Repo::new(&[
        ("pyproject.toml", "[tool.uv.workspace]\nmembers = [\"a\"]\n"),
        (
            "a/pyproject.toml",
            "[project]\nname = \"a\"\ndependencies = [\n  \"b[x\",\n]\n",
        ),
    ]);
    let err = repo.discover().unwrap_err().to_string();
    assert!(err.contains("a/pyproject.toml:4"), "{err}");
    assert!(err.contains("never closed"), "{err}");
}
