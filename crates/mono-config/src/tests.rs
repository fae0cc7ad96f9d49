use super::*;

fn toml_source(text: &str) -> Arc<SourceFile> {
    SourceFile::new(
        RepoPath::new("turbo.toml").unwrap(),
        text.to_owned(),
        ConfigFormat::Toml,
    )
}

fn json_source(text: &str) -> Arc<SourceFile> {
    SourceFile::new(
        RepoPath::new("turbo.json").unwrap(),
        text.to_owned(),
        ConfigFormat::Json,
    )
}

/// `(code, line, col, message)` of each error, for compact assertions.
fn summarize(errors: &ConfigErrors, source: &SourceFile) -> Vec<(String, usize, usize, String)> {
    use miette::Diagnostic;
    errors
        .errors
        .iter()
        .map(|e| {
            let offset = e
                .labels()
                .and_then(|mut l| l.next())
                .map_or(0, |l| l.offset());
            let (line, col) = source.line_col(offset);
            (e.code().unwrap().to_string(), line, col, e.to_string())
        })
        .collect()
}

#[test]
fn parses_a_full_root_config() {
    let config = parse_root(toml_source(
        r#"
globalDependencies = [".env.example"]
globalEnv = ["CI"]
workspaces = ["infra", "tools/*"]
cacheDir = ".cache/mono"
cacheMaxSize = "10GB"
cacheMaxAge = "0"
envMode = "loose"
concurrency = 4

[tasks.build]
dependsOn = ["^build", "codegen", "api#openapi", "//#check"]
outputs = ["dist/**"]
inputs = ["$TURBO_DEFAULT$", "!README.md"]
env = ["NODE_ENV", "API_*"]
outputLogs = "new-only"

[tasks.dev]
persistent = true
cache = false

[tasks."web#build"]
command = "next build"
"#,
    ))
    .unwrap();
    assert_eq!(config.global_env[0].value, "CI");
    assert_eq!(config.workspaces.len(), 2);
    assert_eq!(config.cache_dir.as_ref().unwrap().value, ".cache/mono");
    assert_eq!(
        config.cache_max_size.as_ref().unwrap().value,
        Some(10_000_000_000)
    );
    assert_eq!(config.cache_max_age.as_ref().unwrap().value, None);
    assert_eq!(config.env_mode, Some(EnvMode::Loose));
    assert_eq!(config.concurrency.as_ref().unwrap().value, "4");
    let build = config
        .task(&"build".parse().unwrap())
        .unwrap()
        .definition
        .resolve();
    assert_eq!(
        build.depends_on,
        vec![
            DependsOn::Topological("build".into()),
            DependsOn::SamePackage("codegen".into()),
            DependsOn::Task("api#openapi".parse().unwrap()),
            DependsOn::Task("//#check".parse().unwrap()),
        ]
    );
    assert_eq!(build.output_logs, OutputLogs::NewOnly);
    assert!(build.cache);
    let dev = config
        .task(&"dev".parse().unwrap())
        .unwrap()
        .definition
        .resolve();
    assert!(dev.persistent && !dev.cache);
    let web = config.task(&"web#build".parse().unwrap()).unwrap();
    assert_eq!(web.definition.command.as_ref().unwrap().value, "next build");
}

#[test]
fn unknown_key_points_at_line_and_suggests() {
    let source = toml_source("[tasks.build]\ndependsOn = []\noutput = [\"dist/**\"]\n");
    let errors = parse_root(source.clone()).unwrap_err();
    let summary = summarize(&errors, &source);
    assert_eq!(
        summary,
        vec![(
            "mono::config::unknown_key".to_owned(),
            3,
            1,
            "unknown key `output` in task `build`".to_owned()
        )]
    );
    let ConfigError::UnknownKey { help, .. } = &errors.errors[0] else {
        panic!()
    };
    assert_eq!(help, "did you mean `outputs`?");
}

#[test]
fn reports_every_problem_in_file_order() {
    let source = toml_source(
        "globalEnv = \"CI\"\nbogus = 1\n[tasks.build]\ncache = \"yes\"\ndependsOn = [\"^\"]\n",
    );
    let errors = parse_root(source.clone()).unwrap_err();
    let lines: Vec<_> = summarize(&errors, &source)
        .into_iter()
        .map(|(code, line, ..)| (code, line))
        .collect();
    assert_eq!(
        lines,
        vec![
            ("mono::config::wrong_type".to_owned(), 1),
            ("mono::config::unknown_key".to_owned(), 2),
            ("mono::config::wrong_type".to_owned(), 4),
            ("mono::config::invalid_value".to_owned(), 5),
        ]
    );
}

#[test]
fn wrong_type_suggests_the_array_form() {
    let source = toml_source("[tasks.test]\ndependsOn = \"build\"\n");
    let errors = parse_root(source).unwrap_err();
    let ConfigError::WrongType {
        key,
        expected,
        found,
        help,
        ..
    } = &errors.errors[0]
    else {
        panic!("{errors:?}")
    };
    assert_eq!(
        (key.as_str(), *expected, *found),
        ("dependsOn", "an array of strings", "a string")
    );
    assert_eq!(help, "write it as `dependsOn = [\"build\"]`");
}

#[test]
fn pipeline_gets_a_migration_hint() {
    let errors = parse_root(json_source("{ \"pipeline\": {} }")).unwrap_err();
    let ConfigError::UnknownKey { help, .. } = &errors.errors[0] else {
        panic!()
    };
    assert!(help.contains("renamed to `tasks`"), "{help}");
}

#[test]
fn syntax_errors_have_a_position() {
    let source = toml_source("[tasks.build]\noutputs = [\"dist/**\"\n");
    let errors = parse_root(source.clone()).unwrap_err();
    assert_eq!(summarize(&errors, &source)[0].0, "mono::config::syntax");
    let source = json_source(
        "{\n  // fine\n  \"tasks\": { \"build\": { \"cache\": true \"outputs\": [] } }\n}\n",
    );
    let errors = parse_root(source.clone()).unwrap_err();
    let (code, line, ..) = &summarize(&errors, &source)[0];
    assert_eq!(
        (code.as_str(), *line),
        ("mono::config::syntax", 3),
        "{errors:?}"
    );
}

#[test]
fn json_with_comments_equals_toml() {
    let json = parse_root(json_source(
        r#"{
  // comments are allowed
  "$schema": "https://turborepo.com/schema.json",
  "globalEnv": ["CI"],
  "tasks": {
    "build": { "dependsOn": ["^build"], "outputs": ["dist/**"] }, /* block */
    "test": { "dependsOn": ["build"], },
  }
}"#,
    ))
    .unwrap();
    let toml = parse_root(toml_source(
        "globalEnv = [\"CI\"]\n[tasks.test]\ndependsOn = [\"build\"]\n[tasks.build]\ndependsOn = [\"^build\"]\noutputs = [\"dist/**\"]\n",
    ))
    .unwrap();
    assert_eq!(json.canonical(), toml.canonical());
    assert_ne!(json.canonical(), RootConfig::default().canonical());
}

#[test]
fn package_config_rules() {
    let source = SourceFile::new(
        RepoPath::new("infra/turbo.toml").unwrap(),
        "extends = [\"web\"]\nname = \"infra\"\ndependencies = [\"api\"]\n[tasks.\"web#build\"]\n[tasks.build]\ncommand = \"make\"\n".to_owned(),
        ConfigFormat::Toml,
    );
    let errors = parse_package(source.clone()).unwrap_err();
    let codes: Vec<_> = summarize(&errors, &source)
        .into_iter()
        .map(|(_, line, _, msg)| (line, msg))
        .collect();
    assert_eq!(codes.len(), 2, "{codes:?}");
    assert_eq!(codes[0].0, 1);
    assert!(
        codes[0].1.contains("starts with `web`, not `//`"),
        "{codes:?}"
    );
    assert_eq!(codes[1].0, 4);

    let ok = parse_package(SourceFile::new(
        RepoPath::new("infra/turbo.toml").unwrap(),
        "name = \"infra\"\ndependencies = [\"api\"]\n[tasks.build]\ncommand = \"make\"\n"
            .to_owned(),
        ConfigFormat::Toml,
    ))
    .unwrap();
    assert_eq!(ok.name.as_ref().unwrap().value, "infra");
    assert_eq!(ok.dependencies[0].value, "api");
    assert_eq!(
        ok.task("build")
            .unwrap()
            .definition
            .command
            .as_ref()
            .unwrap()
            .value,
        "make"
    );
}

#[test]
fn package_config_must_extend_or_name() {
    let source = SourceFile::new(
        RepoPath::new("a/turbo.toml").unwrap(),
        "[tasks.build]\noutputs = []\n".to_owned(),
        ConfigFormat::Toml,
    );
    assert!(!is_package_config(&source));
    let errors = parse_package(source).unwrap_err();
    assert!(
        errors.errors[0]
            .to_string()
            .contains("must extend the root"),
        "{errors:?}"
    );
    let named = SourceFile::new(
        RepoPath::new("a/turbo.toml").unwrap(),
        "name = \"infra\"\n".to_owned(),
        ConfigFormat::Toml,
    );
    assert!(is_package_config(&named));
}

#[test]
fn overlay_replaces_only_what_is_set() {
    let root = parse_root(toml_source(
        "[tasks.build]\ndependsOn = [\"^build\"]\noutputs = [\"dist/**\"]\n",
    ))
    .unwrap();
    let pkg = parse_package(SourceFile::new(
        RepoPath::new("a/turbo.toml").unwrap(),
        "extends = [\"//\"]\n[tasks.build]\noutputs = [\"out/**\"]\n".to_owned(),
        ConfigFormat::Toml,
    ))
    .unwrap();
    let merged = root.tasks[0]
        .definition
        .overlay(&pkg.tasks[0].definition)
        .resolve();
    assert_eq!(merged.outputs, vec!["out/**"]);
    assert_eq!(
        merged.depends_on,
        vec![DependsOn::Topological("build".into())]
    );
}

#[test]
fn spanned_values_know_their_location() {
    let config = parse_root(toml_source("\n\n[tasks.test]\ndependsOn = [\"build\"]\n")).unwrap();
    let dep = &config.tasks[0].definition.depends_on.as_ref().unwrap()[0];
    assert_eq!(dep.location().unwrap(), "turbo.toml:4:14");
}

#[test]
fn load_prefers_toml_and_tolerates_absence() {
    let dir = tempfile::tempdir().unwrap();
    let root = AbsPath::new(dir.path()).unwrap();
    assert!(load_root(&root).unwrap().source.is_none());
    std::fs::write(
        dir.path().join("turbo.json"),
        "{ \"tasks\": { \"a\": {} } }",
    )
    .unwrap();
    assert_eq!(
        load_root(&root).unwrap().source.unwrap().format(),
        ConfigFormat::Json
    );
    std::fs::write(dir.path().join("turbo.toml"), "[tasks.b]\n").unwrap();
    let config = load_root(&root).unwrap();
    assert_eq!(config.tasks[0].name.to_string(), "b");
}

fn package_source(text: &str, format: ConfigFormat) -> Arc<SourceFile> {
    let name = match format {
        ConfigFormat::Toml => "apps/indexer/turbo.toml",
        ConfigFormat::Json => "apps/indexer/turbo.json",
    };
    SourceFile::new(RepoPath::new(name).unwrap(), text.to_owned(), format)
}

#[test]
fn image_table_parses_in_both_syntaxes() {
    let toml = package_source(
        r#"extends = ["//"]
[image]
name = "docsearch/indexer"
base = "scratch"
entrypoint = ["/app/doc-indexer"]
workdir = "/app"
env = { RUST_LOG = "info" }
expose = [8080, "53/udp"]
user = "65532:65532"
[image.files]
"/app/doc-indexer" = "target/release/doc-indexer"
"/app/static/" = "@docsearch/web:dist/"
"#,
        ConfigFormat::Toml,
    );
    let json = package_source(
        r#"{ "extends": ["//"], "image": { "name": "docsearch/indexer", "base": "scratch",
             "entrypoint": ["/app/doc-indexer"], "workdir": "/app", "env": { "RUST_LOG": "info" },
             "expose": [8080, "53/udp"], "user": "65532:65532",
             "files": { "/app/doc-indexer": "target/release/doc-indexer",
                        "/app/static/": "@docsearch/web:dist/" } } }"#,
        ConfigFormat::Json,
    );
    for source in [toml, json] {
        let config = parse_package(source).unwrap();
        let image = config.image.unwrap();
        assert_eq!(image.name.value, "docsearch/indexer");
        assert_eq!(image.entrypoint.unwrap(), ["/app/doc-indexer"]);
        assert_eq!(image.env, [("RUST_LOG".to_owned(), "info".to_owned())]);
        assert_eq!(image.expose, ["8080/tcp", "53/udp"]);
        assert_eq!(image.files.len(), 2);
        assert!(image.files[0].package.is_none());
        assert_eq!(image.files[0].path.value, "target/release/doc-indexer");
        assert_eq!(
            image.files[1].package.as_ref().unwrap().value,
            "@docsearch/web"
        );
        assert_eq!(image.files[1].path.value, "dist/");
    }
}

#[test]
fn image_table_errors_point_at_their_lines() {
    let source = package_source(
        r#"extends = ["//"]
[image]
name = "Docsearch/Indexer"
entrypiont = ["/app/x"]
expose = [0]
workdir = "app"
[image.files]
"app/x" = "bin/x"
"/app/static/" = "dist"
"/app/y" = "../y"
"#,
        ConfigFormat::Toml,
    );
    let errors = parse_package(source.clone()).unwrap_err();
    let found: Vec<(usize, String)> = summarize(&errors, &source)
        .into_iter()
        .map(|(_, line, _, msg)| (line, msg))
        .collect();
    let lines: Vec<usize> = found.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, [3, 4, 5, 6, 8, 9, 10], "{found:?}");
    let help = miette::Diagnostic::help(&errors.errors[1])
        .unwrap()
        .to_string();
    assert_eq!(help, "did you mean `entrypoint`?");

    let missing_name = package_source(
        "extends = [\"//\"]\n[image]\nuser = \"1\"\n",
        ConfigFormat::Toml,
    );
    let errors = parse_package(missing_name.clone()).unwrap_err();
    assert!(errors.errors[0].to_string().contains("has no `name`"));
}

#[test]
fn accepts_every_root_key_of_turborepo_2_11() {
    let config = parse_root(json_source(
        r#"{
  "$schema": "https://turborepo.dev/schema.json",
  "agentGuidance": false,
  "boundaries": { "tags": {} },
  "cacheDir": ".turbo/cache",
  "cacheMaxAge": "7d",
  "cacheMaxSize": "10GB",
  "concurrency": "50%",
  "daemon": false,
  "dangerouslyDisablePackageManagerCheck": true,
  "envMode": "loose",
  "futureFlags": { "errorsOnlyShowHash": true, "pruneIncludesGlobalFiles": false },
  "globalDependencies": [".env"],
  "globalEnv": ["CI"],
  "globalPassThroughEnv": ["HOME"],
  "noUpdateNotifier": true,
  "remoteCache": { "enabled": false, "preflight": false, "loginUrl": "https://x" },
  "setup": {},
  "tags": ["root"],
  "ui": "stream-with-experimental-timestamps",
  "tasks": { "build": { "tags": ["ci", "slow"], "with": ["api#dev", "watch"], "description": "b" } }
}"#,
    ))
    .unwrap();
    assert_eq!(config.cache_max_size.unwrap().value, Some(10_000_000_000));
    assert_eq!(
        config.cache_max_age.unwrap().value,
        Some(std::time::Duration::from_secs(7 * 86_400))
    );
    assert_eq!(config.tags[0].value, "root");
    assert_eq!(config.ui, Some(crate::Ui::Stream));
    let build = config.tasks[0].definition.resolve();
    assert_eq!(build.tags, ["ci", "slow"]);
    assert_eq!(
        build
            .with
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["api#dev", "watch"]
    );
}

#[test]
fn global_needs_its_future_flag_and_then_owns_the_global_keys() {
    let text = r#"{ "global": { "inputs": ["x"] }, "tasks": {} }"#;
    let errors = parse_root(json_source(text)).unwrap_err();
    assert!(errors.errors[0]
        .to_string()
        .contains("needs `futureFlags.globalConfiguration`"));

    let text = r#"{ "futureFlags": { "globalConfiguration": true },
  "global": { "inputs": ["tsconfig.json"], "env": ["CI"], "passThroughEnv": ["HOME"], "ui": "tui", "cacheMaxSize": "1GB" },
  "tasks": {} }"#;
    let config = parse_root(json_source(text)).unwrap();
    assert_eq!(config.global_dependencies[0].value, "tsconfig.json");
    assert_eq!(config.global_env[0].value, "CI");
    assert_eq!(config.global_pass_through_env.unwrap()[0].value, "HOME");
    assert_eq!(config.ui, Some(crate::Ui::Tui));

    let text = r#"{ "futureFlags": { "globalConfiguration": true }, "globalEnv": ["CI"], "global": { "nope": 1 } }"#;
    let source = json_source(text);
    let errors = parse_root(source.clone()).unwrap_err();
    let all = summarize(&errors, &source);
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(
        all[0].3.contains("belongs inside `global` as `env`"),
        "{all:?}"
    );
    assert!(
        all[1].3.contains("unknown key `nope` in `global`"),
        "{all:?}"
    );
}

#[test]
fn ui_picks_the_default_and_an_unknown_one_is_an_error() {
    let config = parse_root(toml_source("ui = \"tui\"\n")).unwrap();
    assert_eq!(config.ui, Some(crate::Ui::Tui));
    let config = parse_root(toml_source("ui = \"stream\"\n")).unwrap();
    assert_eq!(config.ui, Some(crate::Ui::Stream));
    assert_eq!(parse_root(toml_source("")).unwrap().ui, None);
    let errors = parse_root(toml_source("ui = \"tiu\"\n")).unwrap_err();
    let message = errors.errors[0].to_string();
    assert!(
        message.contains("`tiu` is not one of tui, stream"),
        "{message}"
    );
}

#[test]
fn unknown_future_flags_are_errors_as_in_turborepo() {
    let errors = parse_root(json_source(r#"{ "futureFlags": { "nope": true } }"#)).unwrap_err();
    assert!(errors.errors[0]
        .to_string()
        .contains("unknown key `nope` in `futureFlags`"));
}

#[test]
fn turbo_extends_marks_appending_fields() {
    let source = package_source(
        r#"{ "extends": ["//", "web"], "tags": ["ui"],
  "tasks": { "build": { "outputs": ["$TURBO_EXTENDS$", ".next/**"], "env": ["A"], "tags": ["$TURBO_EXTENDS$", "x"] },
             "lint": { "extends": false } } }"#,
        ConfigFormat::Json,
    );
    let config = parse_package(source).unwrap();
    assert_eq!(
        config
            .extended_packages()
            .map(|e| e.value.as_str())
            .collect::<Vec<_>>(),
        ["web"]
    );
    assert_eq!(config.tags[0].value, "ui");
    let build = &config.task("build").unwrap().definition;
    assert!(build.appends.contains(&ListField::Outputs));
    assert!(build.appends.contains(&ListField::Tags));
    assert!(!build.appends.contains(&ListField::Env));

    let root = parse_root(json_source(
        r#"{ "tasks": { "build": { "outputs": ["dist/**"], "env": ["R"], "tags": ["ci"] }, "lint": {} } }"#,
    ))
    .unwrap();
    let base = &root.tasks[0].definition;
    let merged = RawTaskDefinition::inherit(Some(base), build)
        .unwrap()
        .resolve();
    assert_eq!(merged.outputs, ["dist/**", ".next/**"]);
    assert_eq!(merged.env, ["A"]);
    assert_eq!(merged.tags, ["ci", "x"]);
    // `extends: false` alone removes the task; with keys it starts afresh.
    let lint = &config.task("lint").unwrap().definition;
    assert!(RawTaskDefinition::inherit(Some(&root.tasks[1].definition), lint).is_none());
    let fresh = RawTaskDefinition {
        extends: lint.extends.clone(),
        env: Some(vec![Spanned::synthetic("B".to_owned())]),
        ..Default::default()
    };
    let fresh = RawTaskDefinition::inherit(Some(base), &fresh)
        .unwrap()
        .resolve();
    assert_eq!(
        (fresh.outputs.len(), fresh.env.as_slice()),
        (0, ["B".to_owned()].as_slice())
    );
}

#[test]
fn composable_config_mistakes_are_reported() {
    let source = package_source(
        r#"{ "extends": ["web", "//"],
  "tasks": { "build": { "outputs": ["a", "$TURBO_EXTENDS$"], "with": ["^dev"], "extends": 1 } } }"#,
        ConfigFormat::Json,
    );
    let errors = parse_package(source.clone()).unwrap_err();
    let all: Vec<String> = summarize(&errors, &source)
        .into_iter()
        .map(|e| e.3)
        .collect();
    assert_eq!(all.len(), 5, "{all:?}");
    assert!(all[0].contains("starts with `web`"), "{all:?}");
    assert!(all[1].contains("`//` is listed twice"), "{all:?}");
    assert!(all[2].contains("must be the first element"), "{all:?}");
    assert!(
        all[3].contains("cannot use dependency relationships"),
        "{all:?}"
    );
    assert!(all[4].contains("`extends` must be a boolean"), "{all:?}");

    let root = json_source(r#"{ "tasks": { "build": { "extends": false } } }"#);
    let errors = parse_root(root).unwrap_err();
    assert!(errors.errors[0]
        .to_string()
        .contains("cannot set `extends`"));
}

#[test]
fn reads_turbo_jsonc_and_refuses_it_beside_turbo_json() {
    let dir = tempfile::tempdir().unwrap();
    let root = AbsPath::new(dir.path()).unwrap();
    std::fs::write(
        dir.path().join("turbo.jsonc"),
        "// comment\n{ \"tasks\": { \"build\": {}, } }\n",
    )
    .unwrap();
    let config = load_root(&root).unwrap();
    assert_eq!(config.source.unwrap().path().as_str(), "turbo.jsonc");
    assert_eq!(config.tasks.len(), 1);
    std::fs::write(dir.path().join("turbo.json"), "{}").unwrap();
    let err = load_root(&root).unwrap_err();
    assert!(err.errors[0].to_string().contains("both here"), "{err:?}");
    // turbo.toml wins over both, as it wins over turbo.json.
    std::fs::write(dir.path().join("turbo.toml"), "").unwrap();
    assert_eq!(
        load_root(&root).unwrap().source.unwrap().path().as_str(),
        "turbo.toml"
    );
}
