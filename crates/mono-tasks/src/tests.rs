//! Filters and graph building on small workspaces written to temp dirs.

use std::collections::BTreeSet;

use mono_paths::{AbsPath, RepoPath};
use mono_task_id::PackageName;
use mono_workspace::PackageGraph;
use test_case::test_case;

use crate::{
    build_task_graph, select_packages, AffectedReason, ChangeDetector, ChangedByRange, Filter,
    FilterError, TaskGraphError, TaskRequest,
};

/// A node workspace: `(dir, name, deps, scripts)` per package, and a root turbo.toml.
struct Workspace {
    _dir: tempfile::TempDir,
    root: AbsPath,
}

fn workspace(packages: &[(&str, &str, &[&str], &[&str])], turbo: &str) -> Workspace {
    let dir = tempfile::tempdir().unwrap();
    let root = AbsPath::new(dir.path()).unwrap();
    std::fs::write(
        dir.path().join("package.json"),
        r#"{ "name": "root", "private": true, "workspaces": ["apps/*", "packages/*"] }"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("turbo.toml"), turbo).unwrap();
    for (pkg_dir, name, deps, scripts) in packages {
        let path = dir.path().join(pkg_dir);
        std::fs::create_dir_all(&path).unwrap();
        let deps: serde_json::Map<String, serde_json::Value> =
            deps.iter().map(|d| ((*d).to_owned(), "*".into())).collect();
        let scripts: serde_json::Map<String, serde_json::Value> = scripts
            .iter()
            .map(|s| ((*s).to_owned(), format!("echo {s}").into()))
            .collect();
        let manifest =
            serde_json::json!({ "name": name, "dependencies": deps, "scripts": scripts });
        std::fs::write(path.join("package.json"), manifest.to_string()).unwrap();
    }
    Workspace { _dir: dir, root }
}

fn load(ws: &Workspace) -> (mono_config::RootConfig, PackageGraph) {
    let config = mono_config::load_root(&ws.root).unwrap();
    let graph = mono_workspace::discover(&ws.root, &config).unwrap();
    (config, graph)
}

/// app -> lib -> base; tool is alone.
fn layered() -> Workspace {
    workspace(
        &[
            ("apps/app", "app", &["lib"], &["build", "test"]),
            ("packages/lib", "lib", &["base"], &["build", "test"]),
            ("packages/base", "base", &[], &["test"]),
            ("packages/tool", "tool", &[], &["build"]),
        ],
        "[tasks.build]\ndependsOn = [\"^build\"]\n[tasks.test]\ndependsOn = [\"build\"]\n[tasks.dev]\npersistent = true\n",
    )
}

fn names(set: &BTreeSet<PackageName>) -> Vec<&str> {
    set.iter().map(PackageName::as_str).collect()
}

#[test_case(&["app"], &["app"] ; "name")]
#[test_case(&["app..."], &["app", "base", "lib"] ; "with dependencies")]
#[test_case(&["app^..."], &["base", "lib"] ; "dependencies only")]
#[test_case(&["...base"], &["app", "base", "lib"] ; "with dependents")]
#[test_case(&["...^base"], &["app", "lib"] ; "dependents only")]
#[test_case(&["./packages/*"], &["base", "lib", "tool"] ; "directory glob")]
#[test_case(&["{packages/*}"], &["base", "lib", "tool"] ; "braced directory")]
#[test_case(&["l*{./packages/*}"], &["lib"] ; "name and directory")]
#[test_case(&["!tool"], &["//", "app", "base", "lib"] ; "exclude only")]
#[test_case(&["./packages/*", "!lib"], &["base", "tool"] ; "include and exclude")]
#[test_case(&["app", "tool"], &["app", "tool"] ; "union")]
#[test_case(&["nomatch*"], &[] ; "glob matching nothing")]
#[test_case(&["//"], &["//"] ; "root package")]
fn filters_select(filters: &[&str], expected: &[&str]) {
    let ws = layered();
    let (_, graph) = load(&ws);
    let filters: Vec<Filter> = filters
        .iter()
        .map(|f| Filter::parse(f, &RepoPath::root()).unwrap())
        .collect();
    assert_eq!(
        names(&select_packages(&filters, &graph, &ChangedByRange::none()).unwrap()),
        expected
    );
}

#[test]
fn directories_are_relative_to_cwd() {
    let ws = layered();
    let (_, graph) = load(&ws);
    let cwd = RepoPath::new("packages").unwrap();
    let filter = Filter::parse("./lib", &cwd).unwrap();
    assert_eq!(
        names(&select_packages(&[filter], &graph, &ChangedByRange::none()).unwrap()),
        ["lib"]
    );
    let up = Filter::parse("../apps/*", &cwd).unwrap();
    assert_eq!(
        names(&select_packages(&[up], &graph, &ChangedByRange::none()).unwrap()),
        ["app"]
    );
    assert!(Filter::parse("../../x", &cwd).is_err());
}

#[test]
fn a_directory_star_stays_in_its_folder() {
    // As in Turborepo: `./packages/*` is the packages directly in packages; `**` crosses.
    let ws = workspace(
        &[
            ("packages/a", "a", &[], &[]),
            ("packages/group/deep", "deep", &[], &[]),
        ],
        "",
    );
    std::fs::write(
        ws.root.as_path().join("package.json"),
        r#"{ "name": "root", "workspaces": ["packages/*", "packages/*/*"] }"#,
    )
    .unwrap();
    let (_, graph) = load(&ws);
    let select = |raw: &str| {
        let filter = Filter::parse(raw, &RepoPath::root()).unwrap();
        names(&select_packages(&[filter], &graph, &ChangedByRange::none()).unwrap())
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(select("./packages/*"), ["a"]);
    assert_eq!(select("./packages/**"), ["a", "deep"]);
    assert_eq!(select("{packages/*/*}"), ["deep"]);
}

#[test_case("" ; "empty")]
#[test_case("..." ; "only dots")]
#[test_case("app^" ; "caret without dots")]
#[test_case("{apps" ; "unclosed brace")]
fn bad_filters_are_rejected(raw: &str) {
    assert!(
        matches!(
            Filter::parse(raw, &RepoPath::root()),
            Err(FilterError::Invalid { .. })
        ),
        "{raw}"
    );
}

fn git(dir: &std::path::Path, args: &[&str]) {
    let status = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "mono")
        .env("GIT_AUTHOR_EMAIL", "mono@example.com")
        .env("GIT_COMMITTER_NAME", "mono")
        .env("GIT_COMMITTER_EMAIL", "mono@example.com")
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

/// `layered()` committed on `main`, then on branch `feature` one commit changing `base`;
/// `tool` changed in the work tree only.
fn layered_in_git() -> Workspace {
    let ws = layered();
    let root = ws.root.as_path();
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "init"]);
    git(root, &["checkout", "-q", "-b", "feature"]);
    std::fs::write(root.join("packages/base/index.js"), "changed").unwrap();
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "base"]);
    std::fs::write(root.join("packages/tool/new.js"), "untracked").unwrap();
    ws
}

#[test_case(&["[main]"], &["base", "tool"] ; "changed since a ref, work tree included")]
#[test_case(&["[main...feature]"], &["base"] ; "between two refs")]
#[test_case(&["[HEAD]"], &["tool"] ; "uncommitted only")]
#[test_case(&["...[main]"], &["app", "base", "lib", "tool"] ; "with dependents")]
#[test_case(&["...[main...feature]"], &["app", "base", "lib"] ; "range with dependents")]
#[test_case(&["...^[main...feature]"], &["app", "lib"] ; "dependents only")]
#[test_case(&["[main...feature]..."], &["base"] ; "with dependencies")]
#[test_case(&["app...[main]"], &["app"] ; "a package whose dependency changed")]
#[test_case(&["app...[HEAD]"], &[] ; "a package whose dependencies did not change")]
#[test_case(&["{./packages/*}[main...feature]"], &["base"] ; "directory and range")]
#[test_case(&["{./apps/*}[main...feature]"], &[] ; "directory outside the change")]
#[test_case(&["l*[main]"], &[] ; "name and range")]
#[test_case(&["...[main]", "!tool"], &["app", "base", "lib"] ; "with an exclusion")]
#[test_case(&["!...[main...feature]"], &["//", "tool"] ; "excluding a range")]
fn git_range_filters_select(filters: &[&str], expected: &[&str]) {
    let ws = layered_in_git();
    let (config, graph) = load(&ws);
    let filters: Vec<Filter> = filters
        .iter()
        .map(|f| Filter::parse(f, &RepoPath::root()).unwrap())
        .collect();
    let scm = mono_scm::Scm::discover(&ws.root);
    let detector = ChangeDetector::new(&scm, &graph, &config).unwrap();
    let changes = ChangedByRange::detect(&filters, &detector).unwrap();
    assert_eq!(
        names(&select_packages(&filters, &graph, &changes).unwrap()),
        expected
    );
}

#[test]
fn affected_packages_say_why() {
    let ws = layered_in_git();
    let (config, graph) = load(&ws);
    let scm = mono_scm::Scm::discover(&ws.root);
    let detector = ChangeDetector::new(&scm, &graph, &config).unwrap();
    let affected = detector
        .changed_packages("main", None)
        .unwrap()
        .with_dependents(&graph);
    let why = |name: &str| affected.packages[&PackageName::new(name).unwrap()].to_string();
    assert_eq!(why("base"), "file packages/base/index.js changed");
    assert_eq!(why("tool"), "file packages/tool/new.js changed");
    assert_eq!(why("lib"), "depends on base");
    assert_eq!(why("app"), "depends on lib");
    assert_eq!(affected.packages.len(), 4);
    // A root file other than the config is the root package's alone.
    std::fs::write(ws.root.as_path().join("README.md"), "hi").unwrap();
    let root_only = detector.changed_packages("HEAD", None).unwrap();
    assert_eq!(names(&root_only.names()), ["//", "tool"]);
    // The root config touches everything.
    std::fs::write(ws.root.as_path().join("turbo.toml"), "[tasks.build]\n").unwrap();
    let everything = detector.changed_packages("HEAD", None).unwrap();
    assert_eq!(everything.packages.len(), 5);
    assert!(everything.packages.values().all(|r| *r
        == AffectedReason::GlobalFileChanged {
            file: RepoPath::new("turbo.toml").unwrap()
        }));
}

#[test]
fn global_dependencies_touch_every_package() {
    let ws = layered_in_git();
    let root = ws.root.as_path();
    std::fs::write(
        root.join("turbo.toml"),
        "globalDependencies = [\"config/*.json\"]\n[tasks.build]\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("config")).unwrap();
    std::fs::write(root.join("config/a.json"), "{}").unwrap();
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "global"]);
    let (config, graph) = load(&ws);
    let scm = mono_scm::Scm::discover(&ws.root);
    let detector = ChangeDetector::new(&scm, &graph, &config).unwrap();
    assert!(detector
        .changed_packages("HEAD", None)
        .unwrap()
        .packages
        .is_empty());
    std::fs::write(root.join("config/a.json"), "{\"x\":1}").unwrap();
    assert_eq!(
        detector
            .changed_packages("HEAD", None)
            .unwrap()
            .packages
            .len(),
        5
    );
}

#[test]
fn an_unknown_base_means_everything_with_the_reason() {
    let ws = layered_in_git();
    let (config, graph) = load(&ws);
    let scm = mono_scm::Scm::discover(&ws.root);
    let detector = ChangeDetector::new(&scm, &graph, &config).unwrap();
    let changed = detector.changed_packages("no-such-ref", None).unwrap();
    assert_eq!(changed.packages.len(), 5);
    assert!(changed
        .gap
        .unwrap()
        .to_string()
        .contains("`no-such-ref` does not exist"));
}

#[test]
fn range_filters_parse_and_reject_empty_sides() {
    for raw in ["[]", "[...b]", "[a...]", "x]"] {
        assert!(
            matches!(
                Filter::parse(raw, &RepoPath::root()),
                Err(FilterError::Invalid { .. })
            ),
            "{raw}"
        );
    }
    let f = Filter::parse("web...[HEAD^1]", &RepoPath::root()).unwrap();
    assert_eq!(f.range().unwrap().to_string(), "[HEAD^1]");
    let f = Filter::parse("...[origin/main...HEAD]", &RepoPath::root()).unwrap();
    assert_eq!(f.range().unwrap().to_string(), "[origin/main...HEAD]");
}

#[test]
fn missing_names_are_errors() {
    let ws = layered();
    let (_, graph) = load(&ws);
    let missing = Filter::parse("ap", &RepoPath::root()).unwrap();
    match select_packages(&[missing], &graph, &ChangedByRange::none()) {
        Err(FilterError::NoPackage { help, .. }) => assert_eq!(help, "did you mean `app`?"),
        other => panic!("{other:?}"),
    }
}

fn request(tasks: &[&str], packages: &[&str], only: bool) -> TaskRequest {
    TaskRequest {
        revision: None,
        tasks: tasks.iter().map(|t| (*t).to_owned()).collect(),
        packages: packages
            .iter()
            .map(|p| PackageName::new(*p).unwrap())
            .collect(),
        only,
    }
}

fn edges(graph: &crate::TaskGraph) -> Vec<String> {
    graph
        .tasks()
        .map(|t| {
            let deps: Vec<String> = graph
                .dependencies(&t.id)
                .iter()
                .map(|d| d.to_string())
                .collect();
            format!("{} <- [{}]", t.id, deps.join(", "))
        })
        .collect()
}

#[test]
fn topological_dependencies_reach_packages_outside_the_selection() {
    let ws = layered();
    let (config, packages) = load(&ws);
    let graph = build_task_graph(&request(&["test"], &["app"], false), &config, &packages).unwrap();
    assert_eq!(
        edges(&graph),
        [
            "app#build <- [lib#build]",
            "app#test <- [app#build]",
            "base#build <- []",
            "lib#build <- [base#build]",
        ]
    );
    // base has no build script: in the graph, with no command.
    let base = graph.get(&"base#build".parse().unwrap()).unwrap();
    assert!(base.command.is_none());
    // Dependencies come before dependents.
    let order: Vec<String> = graph
        .in_dependency_order()
        .map(|t| t.id.to_string())
        .collect();
    let pos = |id: &str| order.iter().position(|o| o == id).unwrap();
    assert!(pos("base#build") < pos("lib#build") && pos("lib#build") < pos("app#build"));
    assert!(pos("app#build") < pos("app#test"));
}

#[test]
fn only_keeps_just_the_requested_tasks_and_their_edges() {
    let ws = layered();
    let (config, packages) = load(&ws);
    let graph = build_task_graph(
        &request(&["test"], &["app", "lib"], true),
        &config,
        &packages,
    )
    .unwrap();
    assert_eq!(edges(&graph), ["app#test <- []", "lib#test <- []"]);
    // As in Turborepo: `build test --only` keeps `test -> build` and `^build`.
    let graph = build_task_graph(
        &request(&["build", "test"], &["app", "lib"], true),
        &config,
        &packages,
    )
    .unwrap();
    assert_eq!(
        edges(&graph),
        [
            "app#build <- [lib#build]",
            "app#test <- [app#build]",
            "lib#build <- []",
            "lib#test <- [lib#build]"
        ]
    );
}

#[test]
fn unknown_tasks_suggest_close_names() {
    let ws = layered();
    let (config, packages) = load(&ws);
    match build_task_graph(&request(&["tset"], &["app"], false), &config, &packages) {
        Err(TaskGraphError::UnknownTask { help, .. }) => assert_eq!(help, "did you mean `test`?"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn package_overrides_replace_and_package_configs_overlay() {
    let ws = workspace(
        &[("apps/app", "app", &["lib"], &["build"]), ("packages/lib", "lib", &[], &["build", "gen"])],
        "[tasks.build]\ndependsOn = [\"^build\"]\noutputs = [\"dist/**\"]\n[tasks.gen]\n[tasks.\"app#build\"]\ndependsOn = [\"lib#gen\"]\n",
    );
    std::fs::write(
        ws.root.as_path().join("packages/lib/turbo.toml"),
        "extends = [\"//\"]\n[tasks.build]\noutputs = [\"lib/**\"]\n",
    )
    .unwrap();
    let (config, packages) = load(&ws);
    let graph = build_task_graph(
        &request(&["build"], &["app", "lib"], false),
        &config,
        &packages,
    )
    .unwrap();
    assert_eq!(
        edges(&graph),
        ["app#build <- [lib#gen]", "lib#build <- []", "lib#gen <- []"]
    );
    let app = graph.get(&"app#build".parse().unwrap()).unwrap();
    assert!(
        app.definition.outputs.is_empty(),
        "app#build replaces build entirely"
    );
    let lib = graph.get(&"lib#build".parse().unwrap()).unwrap();
    assert_eq!(lib.definition.outputs, ["lib/**"]);
    assert_eq!(
        lib.definition.depends_on.len(),
        1,
        "dependsOn is kept from the root"
    );
}

#[test]
fn cycles_are_reported_with_their_path() {
    let ws = workspace(
        &[("packages/a", "a", &[], &["build", "test", "lint"])],
        "[tasks.build]\ndependsOn = [\"lint\"]\n[tasks.lint]\ndependsOn = [\"test\"]\n[tasks.test]\ndependsOn = [\"build\"]\n",
    );
    let (config, packages) = load(&ws);
    match build_task_graph(&request(&["build"], &["a"], false), &config, &packages) {
        Err(TaskGraphError::Cycle { path }) => {
            let path: Vec<String> = path.iter().map(ToString::to_string).collect();
            assert_eq!(path, ["a#build", "a#lint", "a#test", "a#build"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn persistent_dependencies_are_refused_only_when_reached() {
    let ws = workspace(
        &[("packages/a", "a", &[], &["build", "dev", "start"])],
        "[tasks.build]\n[tasks.dev]\npersistent = true\n[tasks.start]\ndependsOn = [\"dev\"]\n",
    );
    let (config, packages) = load(&ws);
    build_task_graph(&request(&["build"], &["a"], false), &config, &packages).unwrap();
    let err =
        build_task_graph(&request(&["start"], &["a"], false), &config, &packages).unwrap_err();
    assert!(
        matches!(err, TaskGraphError::PersistentDependency { .. }),
        "{err:?}"
    );
}

#[test]
fn persistent_is_each_packages_own_definition() {
    // The root's `dev` is persistent; lib's config says it is not, so `^dev` may wait for it.
    let ws = workspace(
        &[
            ("apps/app", "app", &["lib"], &["dev"]),
            ("packages/lib", "lib", &[], &["dev"]),
        ],
        "[tasks.dev]\npersistent = true\ndependsOn = [\"^dev\"]\n",
    );
    std::fs::write(
        ws.root.as_path().join("packages/lib/turbo.json"),
        r#"{ "extends": ["//"], "tasks": { "dev": { "persistent": false } } }"#,
    )
    .unwrap();
    let (config, packages) = load(&ws);
    let graph = build_task_graph(&request(&["dev"], &["app"], false), &config, &packages).unwrap();
    assert_eq!(edges(&graph), ["app#dev <- [lib#dev]", "lib#dev <- []"]);
}

#[test]
fn stale_references_fail_only_the_runs_that_reach_them() {
    let ws = workspace(
        &[("packages/a", "a", &[], &["build", "test", "lint"])],
        "[tasks.build]\n[tasks.test]\ndependsOn = [\"@acme/old#test\"]\n[tasks.lint]\ndependsOn = [\"nothere\"]\n",
    );
    let (config, packages) = load(&ws);
    let graph = build_task_graph(&request(&["build"], &["a"], false), &config, &packages).unwrap();
    let warnings: Vec<String> = graph.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].starts_with("turbo.toml:3:14: `test` depends"),
        "{warnings:?}"
    );
    assert!(warnings[0].contains("package `@acme/old`"), "{warnings:?}");
    assert!(warnings[1].contains("task `nothere`"), "{warnings:?}");
    let err = build_task_graph(&request(&["test"], &["a"], false), &config, &packages).unwrap_err();
    assert!(
        matches!(err, TaskGraphError::UnknownPackageReference { .. }),
        "{err:?}"
    );
    let err = build_task_graph(&request(&["lint"], &["a"], false), &config, &packages).unwrap_err();
    assert!(
        matches!(err, TaskGraphError::UnknownTaskReference { .. }),
        "{err:?}"
    );
}

#[test]
fn with_adds_the_tasks_that_run_alongside() {
    let ws = workspace(
        &[
            ("apps/web", "web", &[], &["dev", "build"]),
            ("apps/api", "api", &[], &["dev"]),
        ],
        r#"[tasks.build]
[tasks.dev]
persistent = true
cache = false
with = ["api#dev", "build", "dev"]
"#,
    );
    let (config, packages) = load(&ws);
    let graph = build_task_graph(&request(&["dev"], &["web"], false), &config, &packages).unwrap();
    assert_eq!(
        edges(&graph),
        [
            "api#build <- []",
            "api#dev <- []",
            "web#build <- []",
            "web#dev <- []"
        ]
    );
    let web = graph.get(&"web#dev".parse().unwrap()).unwrap();
    let with: Vec<String> = web.with.iter().map(ToString::to_string).collect();
    assert_eq!(with, ["api#dev", "web#build"]);
}

#[test]
fn package_configs_extend_other_packages_and_opt_out() {
    let ws = workspace(
        &[
            ("apps/web", "web", &[], &["build", "lint", "dev"]),
            ("apps/docs", "docs", &[], &["build", "lint", "dev"]),
            ("packages/base", "base", &[], &[]),
        ],
        "[tasks.build]\noutputs = [\"dist/**\"]\nenv = [\"ROOT\"]\n[tasks.lint]\n",
    );
    let write = |dir: &str, text: &str| {
        std::fs::write(ws.root.as_path().join(dir).join("turbo.jsonc"), text).unwrap()
    };
    write(
        "packages/base",
        r#"{ "extends": ["//"], "tasks": { "lint": { "extends": false }, "dev": { "persistent": true } } }"#,
    );
    write(
        "apps/web",
        r#"// comments are fine in turbo.jsonc
{ "extends": ["//", "base"], "tasks": { "build": { "outputs": ["$TURBO_EXTENDS$", ".next/**"] } } }"#,
    );
    write(
        "apps/docs",
        r#"{ "extends": ["//", "web"], "tasks": { "build": { "extends": false, "env": ["DOCS"] } } }"#,
    );
    let (config, packages) = load(&ws);
    let all = ["web", "docs", "base"];
    let graph = build_task_graph(
        &request(&["build", "lint", "dev"], &all, false),
        &config,
        &packages,
    )
    .unwrap();
    assert_eq!(
        edges(&graph),
        [
            "base#build <- []",
            "base#dev <- []",
            "docs#build <- []",
            "docs#dev <- []",
            "docs#lint <- []",
            "web#build <- []",
            "web#dev <- []",
            "web#lint <- []"
        ],
        "base's own exclusion removes base#lint; web and docs keep the task but not the root's definition, as in Turborepo; dev comes from base"
    );
    let def = |id: &str| graph.get(&id.parse().unwrap()).unwrap().definition.clone();
    assert_eq!(def("web#build").outputs, ["dist/**", ".next/**"]);
    assert_eq!(def("web#build").env, ["ROOT"]);
    assert!(def("docs#build").outputs.is_empty());
    assert_eq!(def("docs#build").env, ["DOCS"]);
    assert!(def("docs#dev").persistent);
    // Opted out through web's chain: in the graph, running nothing.
    let lint = graph.get(&"docs#lint".parse().unwrap()).unwrap();
    assert!(lint.raw.opted_out && lint.command.is_none());
}

#[test]
fn root_tasks_need_an_explicit_definition() {
    let ws = workspace(
        &[("packages/a", "a", &[], &["lint"])],
        "[tasks.lint]\n[tasks.\"//#check\"]\n",
    );
    let (config, packages) = load(&ws);
    let all: Vec<&str> = packages.packages().map(|p| p.name.as_str()).collect();
    let graph = build_task_graph(
        &request(&["lint", "check"], &all, false),
        &config,
        &packages,
    )
    .unwrap();
    assert_eq!(edges(&graph), ["//#check <- []", "a#lint <- []"]);
}

#[test]
fn graph_renders_in_three_formats() {
    let ws = layered();
    let (config, packages) = load(&ws);
    let graph =
        build_task_graph(&request(&["build"], &["lib"], false), &config, &packages).unwrap();
    assert!(graph.to_dot().contains("\"lib#build\" -> \"base#build\""));
    let mermaid = graph.to_mermaid();
    assert!(
        mermaid.contains("T0(\"base#build\")") && mermaid.contains("T1 --> T0"),
        "{mermaid}"
    );
    assert_eq!(graph.to_json()["tasks"][1]["dependencies"][0], "base#build");
}

#[test_case("web", &["@acme/web", "api"], Some("@acme/web") ; "the unscoped part of a scoped name")]
#[test_case("ap", &["@acme/web", "app"], Some("app") ; "a close name")]
#[test_case("wbe", &["@acme/web", "api"], Some("@acme/web") ; "close to the unscoped part")]
#[test_case("zebra", &["@acme/web", "api"], None ; "nothing close")]
fn missing_names_suggest_the_likeliest(name: &str, packages: &[&str], expected: Option<&str>) {
    let dirs: Vec<String> = (0..packages.len())
        .map(|n| format!("packages/p{n}"))
        .collect();
    let specs: Vec<(&str, &str, &[&str], &[&str])> = dirs
        .iter()
        .zip(packages)
        .map(|(dir, name)| (dir.as_str(), *name, &[][..], &[][..]))
        .collect();
    let ws = workspace(&specs, "");
    let (_, graph) = load(&ws);
    let filter = Filter::parse(name, &RepoPath::root()).unwrap();
    let help = match select_packages(&[filter], &graph, &ChangedByRange::none()) {
        Err(FilterError::NoPackage { help, .. }) => help,
        other => panic!("{other:?}"),
    };
    match expected {
        Some(close) => assert_eq!(help, format!("did you mean `{close}`?")),
        None => assert_eq!(help, "`mono ls` lists the packages"),
    }
}

#[test]
fn globs_and_folders_matching_nothing_are_warnings() {
    let ws = layered();
    let (_, graph) = load(&ws);
    let parse = |raws: &[&str]| -> Vec<Filter> {
        raws.iter()
            .map(|f| Filter::parse(f, &RepoPath::root()).unwrap())
            .collect()
    };
    let warnings = |raws: &[&str]| -> Vec<String> {
        let filters = parse(raws);
        let selected = select_packages(&filters, &graph, &ChangedByRange::none()).unwrap();
        crate::filter_warnings(&filters, &graph, &selected)
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    assert_eq!(
        warnings(&["app", "nomatch*", "./nowhere/*"]),
        [
            "the filter `nomatch*` matches no package",
            "the filter `./nowhere/*` matches no package"
        ]
    );
    assert_eq!(
        warnings(&["app", "!app"]),
        ["no package matches the filters `app`, `!app`"]
    );
    assert!(warnings(&["app", "./packages/*"]).is_empty());
    // A git range that changed nothing is no mistake.
    assert!(crate::filter_warnings(&parse(&["[main]"]), &graph, &BTreeSet::new()).is_empty());
}

/// A plan of the layered workspace's build, with fixed hashes and a long command.
fn text_plan() -> crate::Plan {
    struct Fixed;
    impl crate::PlanDetails for Fixed {
        fn task_hash(&self, _: &mono_task_id::TaskId) -> crate::TaskHashDetails {
            crate::TaskHashDetails {
                hash: "0123456789abcdef0123".to_owned(),
                inputs: [("a".to_owned(), "1".to_owned())].into_iter().collect(),
                ..crate::TaskHashDetails::default()
            }
        }
        fn cache_state(&self, _: &mono_task_id::TaskId, _: &str) -> crate::CacheState {
            crate::CacheState::miss()
        }
    }
    let ws = workspace(
        &[
            ("apps/app", "app", &["lib"], &[]),
            ("packages/lib", "lib", &[], &[]),
        ],
        &format!(
            "[tasks.build]\ndependsOn = [\"^build\"]\ncommand = \"{}\"\n",
            "x".repeat(120)
        ),
    );
    let (config, packages) = load(&ws);
    let graph =
        build_task_graph(&request(&["build"], &["app"], false), &config, &packages).unwrap();
    crate::Plan::new(
        &graph,
        vec![PackageName::new("app").unwrap()],
        &config,
        mono_config::EnvMode::default(),
        "f".repeat(64),
        &Fixed,
    )
}

#[test]
fn the_dry_table_fits_the_width_and_cuts_commands_with_an_ellipsis() {
    let plan = text_plan();
    let whole = plan.to_text(None);
    assert!(whole.contains(&"x".repeat(120)), "{whole}");
    assert!(whole.contains("INPUTS"), "{whole}");
    let cut = plan.to_text(Some(80));
    let table: Vec<&str> = cut.lines().skip(4).collect();
    for line in &table {
        assert!(line.chars().count() <= 80, "{line:?} is wider than 80");
    }
    assert!(table[1].contains("xxx…"), "{cut}");
    assert!(table[1].ends_with("lib#build"), "{cut}");
    // The input count is its own column.
    assert!(table[1].contains("MISS   1 "), "{cut}");
    // JSON keeps the whole command.
    assert!(plan.to_json().contains(&"x".repeat(120)));
}

#[test]
fn tasks_hashed_from_no_file_are_warned_about() {
    let ws = workspace(
        &[
            ("apps/app", "app", &[], &["build"]),
            ("packages/lib", "lib", &[], &["build"]),
            ("packages/ignored", "ignored", &[], &["build"]),
        ],
        "[tasks.build]\n[tasks.\"lib#build\"]\ninputs = [\"src/**\"]\n",
    );
    std::fs::write(ws.root.join(".gitignore").as_path(), "packages/ignored/\n").unwrap();
    let (config, packages) = load(&ws);
    // `inputs` always take the manifest: without one (a Go or Rust package has no
    // package.json), `src/**` alone matches nothing here.
    std::fs::write(ws.root.join("packages/lib/README.md").as_path(), "lib").unwrap();
    std::fs::remove_file(ws.root.join("packages/lib/package.json").as_path()).unwrap();
    let graph = build_task_graph(
        &request(&["build"], &["app", "lib", "ignored"], false),
        &config,
        &packages,
    )
    .unwrap();
    let hashes = crate::hash_tasks(
        &ws.root,
        &config,
        &packages,
        &graph,
        &Default::default(),
        None,
    )
    .unwrap();
    let warnings: Vec<String> = hashes.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        [
            "ignored#build: no input files (is the folder `packages/ignored` ignored by git, or empty?)",
            "lib#build: no input files (its `inputs` match none of the package's files)",
        ]
    );
}

#[test]
fn every_manifest_gives_back_its_tasks_hash() {
    let ws = workspace(
        &[
            ("apps/app", "app", &["lib", "left-pad"], &["build", "test"]),
            ("packages/lib", "lib", &[], &["build"]),
        ],
        "globalDependencies = [\"shared.txt\"]\nglobalEnv = [\"CI\"]\n\
         [tasks.build]\ndependsOn = [\"^build\"]\nenv = [\"API_URL\"]\noutputs = [\"dist/**\"]\n\
         [tasks.test]\ndependsOn = [\"build\"]\n",
    );
    let root = ws.root.as_path();
    std::fs::write(root.join("shared.txt"), "shared").unwrap();
    std::fs::write(root.join("apps/app/index.js"), "app").unwrap();
    let lock = serde_json::json!({
        "name": "root", "lockfileVersion": 3, "requires": true,
        "packages": {
            "": { "name": "root", "workspaces": ["apps/*", "packages/*"] },
            "apps/app": { "dependencies": { "lib": "*", "left-pad": "^1.0.0" } },
            "packages/lib": { "name": "lib" },
            "node_modules/app": { "resolved": "apps/app", "link": true },
            "node_modules/lib": { "resolved": "packages/lib", "link": true },
            "node_modules/left-pad": { "version": "1.0.0", "integrity": "sha512-x" }
        }
    });
    std::fs::write(root.join("package-lock.json"), lock.to_string()).unwrap();
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "init"]);
    let (config, packages) = load(&ws);
    let request = request(&["build", "test"], &["app", "lib"], false);
    let mut graph = build_task_graph(&request, &config, &packages).unwrap();
    graph.pass_arguments(&["test".to_owned()], &["--flag".to_owned()]);
    let env = [("CI", "1"), ("API_URL", "https://a")]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let hashes = crate::hash_tasks(&ws.root, &config, &packages, &graph, &env, None).unwrap();
    assert_eq!(hashes.tasks.len(), 4);
    for (id, facts) in &hashes.tasks {
        let manifest = hashes.manifest(id).unwrap();
        assert_eq!(manifest.hash, facts.hash, "{id}");
        manifest.check().unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(manifest.task_id, id.to_string());
        assert_eq!(manifest.global.hash, hashes.global);
        assert_eq!(manifest.files.len(), facts.inputs.len());
        assert!(manifest.global.files.contains_key("shared.txt"));
        assert!(manifest.global.env.contains_key("CI"));
    }
    let app_build = hashes.manifest(&"app#build".parse().unwrap()).unwrap();
    assert!(app_build.env.contains_key("API_URL"));
    assert_eq!(app_build.dependencies.len(), 1);
    assert_eq!(app_build.dependencies[0].task_id, "lib#build");
    match &app_build.external {
        mono_hash::ExternalManifest::Packages { packages } => {
            assert!(
                packages.iter().any(|p| p.contains("left-pad@1.0.0")),
                "{packages:?}"
            );
        }
        other => panic!("expected the resolved packages, got {other:?}"),
    }
    let app_test = hashes.manifest(&"app#test".parse().unwrap()).unwrap();
    assert_eq!(app_test.cli_arguments, ["--flag"]);
    assert!(app_test.command.as_deref().unwrap().ends_with(" --flag"));
}
