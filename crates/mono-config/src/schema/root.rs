//! The top level of a root config (Turborepo 2.11's root keys, mono's `workspaces`) and of a
//! package config.

use std::sync::Arc;

use crate::model::{EnvMode, PackageConfig, RemoteCacheConfig, RootConfig, Ui};
use crate::node::{Key, Node, NodeKind};
use crate::source::Span;

use super::task::Owner;
use super::Checker;

/// Every key of Turborepo 2.11's root schema, and mono's `workspaces`.
const ROOT_KEYS: &[&str] = &[
    "$schema",
    "agentGuidance",
    "boundaries",
    "cacheDir",
    "cacheMaxAge",
    "cacheMaxSize",
    "concurrency",
    "daemon",
    "dangerouslyDisablePackageManagerCheck",
    "envMode",
    "futureFlags",
    "global",
    "globalDependencies",
    "globalEnv",
    "globalPassThroughEnv",
    "noUpdateNotifier",
    "remoteCache",
    "setup",
    "tags",
    "tasks",
    "ui",
    "workspaces",
];

/// The keys of `global` (with `futureFlags.globalConfiguration`), each with the top-level key
/// it replaces.
const GLOBAL_KEYS: &[(&str, &str)] = &[
    ("cacheDir", "cacheDir"),
    ("cacheMaxAge", "cacheMaxAge"),
    ("cacheMaxSize", "cacheMaxSize"),
    ("concurrency", "concurrency"),
    ("daemon", "daemon"),
    (
        "dangerouslyDisablePackageManagerCheck",
        "dangerouslyDisablePackageManagerCheck",
    ),
    ("env", "globalEnv"),
    ("envMode", "envMode"),
    ("inputs", "globalDependencies"),
    ("noUpdateNotifier", "noUpdateNotifier"),
    ("passThroughEnv", "globalPassThroughEnv"),
    ("remoteCache", "remoteCache"),
    ("ui", "ui"),
];

/// Turborepo 2.11's `futureFlags`: each a boolean.
const FUTURE_FLAGS: &[&str] = &[
    "affectedUsingTaskInputs",
    "errorsOnlyShowHash",
    "experimentalCargoWorkspaces",
    "experimentalGoWorkspaces",
    "experimentalObservability",
    "experimentalPythonWorkspaces",
    "experimentalSetup",
    "filterUsingTasks",
    "githubActionsRemoteBaseRefFallback",
    "globalConfiguration",
    "hashFilePermissions",
    "longerSignatureKey",
    "pruneIncludesGlobalFiles",
    "strictTaskEntrypointSelection",
    "watchUsingTaskInputs",
];

const PACKAGE_KEYS: &[&str] = &[
    "$schema",
    "boundaries",
    "dependencies",
    "extends",
    "image",
    "name",
    "tags",
    "tasks",
];

const REMOTE_CACHE_KEYS: &[&str] = &[
    "apiUrl",
    "enabled",
    "loginUrl",
    "preflight",
    "signature",
    "teamId",
    "teamSlug",
    "timeout",
    "uploadTimeout",
];

const UI_NAMES: &[&str] = &["tui", "stream", "stream-with-experimental-timestamps"];

impl Checker<'_> {
    pub fn root(&mut self, node: &Node) -> RootConfig {
        let mut config = RootConfig {
            source: Some(Arc::clone(self.source)),
            ..Default::default()
        };
        let entries = self.root_object(node);
        // The flags first: `globalConfiguration` decides where the global keys belong.
        if let Some((_, value)) = entries.iter().find(|(k, _)| k.name == "futureFlags") {
            config.future_flags = self.future_flags(value);
        }
        let global_configuration = config
            .future_flags
            .iter()
            .any(|(name, on)| name == "globalConfiguration" && *on);
        for (key, value) in entries {
            if global_configuration {
                if let Some((inside, _)) = GLOBAL_KEYS.iter().find(|(_, top)| *top == key.name) {
                    self.invalid(
                        &key.name,
                        key.span,
                        format!(
                            "with `futureFlags.globalConfiguration`, `{}` belongs inside `global` as `{inside}`",
                            key.name
                        ),
                        format!("move the value to `global.{inside}` and remove it here"),
                    );
                    continue;
                }
            }
            match key.name.as_str() {
                "tasks" => config.tasks = self.tasks(value, Owner::Root),
                "global" if !global_configuration => self.invalid(
                    "global",
                    key.span,
                    "the `global` key needs `futureFlags.globalConfiguration`".to_owned(),
                    "add `\"futureFlags\": { \"globalConfiguration\": true }` to the root config, or move the keys of `global` to the top level".to_owned(),
                ),
                "global" => self.global(value, &mut config),
                "futureFlags" => {}
                "$schema" => {
                    self.string("$schema", value);
                }
                "workspaces" => {
                    config.workspaces = self.strings("workspaces", value).unwrap_or_default()
                }
                "tags" => config.tags = self.strings("tags", value).unwrap_or_default(),
                "agentGuidance" => {
                    self.bool("agentGuidance", value);
                }
                "boundaries" | "setup" => {
                    self.object(&key.name, value);
                }
                "extends" => self.invalid(
                    "extends",
                    key.span,
                    "the root config cannot extend another".to_owned(),
                    "remove `extends`; only a package's turbo.toml extends the root (`[\"//\"]`)"
                        .to_owned(),
                ),
                name => {
                    if !self.global_key(name, name, value, &mut config) {
                        self.unknown_key(key, "the root config", ROOT_KEYS);
                    }
                }
            }
        }
        config
    }

    /// `global`: the global keys under their new names.
    fn global(&mut self, node: &Node, config: &mut RootConfig) {
        let Some(entries) = self.object("global", node) else {
            return;
        };
        for (key, value) in entries {
            let top = GLOBAL_KEYS
                .iter()
                .find(|(inside, _)| *inside == key.name)
                .map(|(_, top)| *top);
            let known = top.is_some_and(|top| {
                self.global_key(top, &format!("global.{}", key.name), value, config)
            });
            if !known {
                let names: Vec<&str> = GLOBAL_KEYS.iter().map(|(inside, _)| *inside).collect();
                self.unknown_key(key, "`global`", &names);
            }
        }
    }

    /// One global key (`top`, its top-level name; `shown`, as written); false when `top` is
    /// not a global key.
    fn global_key(
        &mut self,
        top: &str,
        shown: &str,
        value: &Node,
        config: &mut RootConfig,
    ) -> bool {
        match top {
            "globalDependencies" => {
                config.global_dependencies = self.strings(shown, value).unwrap_or_default()
            }
            "globalEnv" => config.global_env = self.strings(shown, value).unwrap_or_default(),
            "globalPassThroughEnv" => config.global_pass_through_env = self.strings(shown, value),
            "cacheDir" => config.cache_dir = self.string(shown, value),
            "cacheMaxAge" => config.cache_max_age = self.limit(shown, value, crate::parse_age),
            "cacheMaxSize" => config.cache_max_size = self.limit(shown, value, crate::parse_size),
            "envMode" => {
                config.env_mode = self.choice(shown, value, &["strict", "loose"], EnvMode::parse)
            }
            "concurrency" => config.concurrency = self.number_or_string(shown, value),
            "ui" => config.ui = self.choice(shown, value, UI_NAMES, Ui::parse),
            "daemon" | "dangerouslyDisablePackageManagerCheck" | "noUpdateNotifier" => {
                self.bool(shown, value);
            }
            "remoteCache" => config.remote_cache = self.remote_cache(value),
            _ => return false,
        }
        true
    }

    /// `futureFlags`: Turborepo's flags, each a boolean; an unknown flag is an error, as in
    /// Turborepo.
    fn future_flags(&mut self, node: &Node) -> Vec<(String, bool)> {
        let Some(entries) = self.object("futureFlags", node) else {
            return Vec::new();
        };
        let mut flags = Vec::new();
        for (key, value) in entries {
            if !FUTURE_FLAGS.contains(&key.name.as_str()) {
                self.unknown_key(key, "`futureFlags`", FUTURE_FLAGS);
                continue;
            }
            if let Some(on) = self.bool(&format!("futureFlags.{}", key.name), value) {
                flags.push((key.name.clone(), on));
            }
        }
        flags
    }

    /// `remoteCache`: Turborepo's keys; `apiUrl` may also be `s3://BUCKET/PREFIX` (mono).
    fn remote_cache(&mut self, node: &Node) -> Option<RemoteCacheConfig> {
        let entries = self.object("remoteCache", node)?;
        let mut config = RemoteCacheConfig::default();
        for (key, value) in entries {
            match key.name.as_str() {
                "apiUrl" => {
                    config.api_url = self.string("apiUrl", value);
                    if let Some(url) = &config.api_url {
                        let known = ["s3://", "http://", "https://"];
                        if !known.iter().any(|scheme| url.value.starts_with(scheme)) {
                            self.invalid(
                                "apiUrl",
                                value.span,
                                format!("`{}` is not an s3:// or http(s):// URL", url.value),
                                "use `s3://BUCKET/PREFIX` for an S3-compatible store, or `https://HOST` for a Turborepo remote cache server".to_owned(),
                            );
                        }
                    }
                }
                "enabled" => config.enabled = self.bool("enabled", value),
                "signature" => config.signature = self.bool("signature", value),
                "teamId" => config.team_id = self.string("teamId", value),
                "teamSlug" => config.team_slug = self.string("teamSlug", value),
                "timeout" => {
                    config.timeout = self.whole_number("timeout", value, "30");
                }
                "uploadTimeout" => {
                    config.upload_timeout = self.whole_number("uploadTimeout", value, "60");
                }
                "loginUrl" => {
                    self.string("loginUrl", value);
                }
                "preflight" => {
                    self.bool("preflight", value);
                }
                _ => self.unknown_key(key, "`remoteCache`", REMOTE_CACHE_KEYS),
            }
        }
        Some(config)
    }

    pub fn package(&mut self, node: &Node) -> PackageConfig {
        let mut config = PackageConfig {
            source: Arc::clone(self.source),
            extends: Vec::new(),
            tags: Vec::new(),
            name: None,
            dependencies: Vec::new(),
            tasks: Vec::new(),
            image: None,
        };
        for (key, value) in self.root_object(node) {
            match key.name.as_str() {
                "extends" => config.extends = self.extends(key, value),
                "name" => config.name = self.string("name", value),
                "dependencies" => {
                    config.dependencies = self.strings("dependencies", value).unwrap_or_default()
                }
                "tasks" => config.tasks = self.tasks(value, Owner::Package),
                "image" => config.image = self.image(key, value),
                "tags" => config.tags = self.strings("tags", value).unwrap_or_default(),
                "$schema" => {
                    self.string("$schema", value);
                }
                "boundaries" => {
                    self.object("boundaries", value);
                }
                _ => self.unknown_key(key, "a package config", PACKAGE_KEYS),
            }
        }
        if config.extends.is_empty() && config.name.is_none() {
            let span = Span {
                start: 0,
                end: self.source.text().find('\n').unwrap_or(0),
            };
            self.invalid(
                "extends",
                span,
                "a package's config must extend the root or name a generic package".to_owned(),
                "add `extends = [\"//\"]` (or `name = \"...\"` for a plain folder)".to_owned(),
            );
        }
        config
    }

    /// A package's `extends`: `"//"` first, then package names (checked against the
    /// package graph by discovery).
    fn extends(&mut self, key: &Key, value: &Node) -> Vec<crate::Spanned<String>> {
        let extends = self.strings("extends", value).unwrap_or_default();
        match extends.first() {
            None if matches!(value.kind, NodeKind::Array(_)) => self.invalid(
                "extends",
                key.span,
                "`extends` is empty".to_owned(),
                "write `[\"//\"]` to extend the root config".to_owned(),
            ),
            Some(first) if first.value != "//" => self.invalid(
                "extends",
                first.span,
                format!("`extends` starts with `{}`, not `//`", first.value),
                "the root comes first: `[\"//\", ...]`; other packages' configs may follow"
                    .to_owned(),
            ),
            _ => {}
        }
        for later in extends.iter().skip(1).filter(|e| e.value == "//") {
            self.invalid(
                "extends",
                later.span,
                "`//` is listed twice in `extends`".to_owned(),
                "list the root once, first".to_owned(),
            );
        }
        extends
    }
}
