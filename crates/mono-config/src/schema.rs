//! Checks a [`Node`] tree against the schema of a root or package config and builds the
//! typed value, collecting every problem rather than stopping at the first.

use std::sync::Arc;

use mono_task_id::TaskName;

use crate::error::ConfigError;
use crate::model::{
    DependsOn, EnvMode, ImageConfig, ImageFile, OutputLogs, PackageConfig, RawTaskDefinition,
    RemoteCacheConfig, RootConfig, TaskEntry,
};
use crate::node::{Key, Node, NodeKind};
use crate::source::{SourceFile, Span, Spanned};

const ROOT_KEYS: &[&str] = &[
    "$schema",
    "boundaries",
    "cacheDir",
    "concurrency",
    "daemon",
    "dangerouslyDisablePackageManagerCheck",
    "envMode",
    "futureFlags",
    "globalDependencies",
    "globalEnv",
    "globalPassThroughEnv",
    "noUpdateNotifier",
    "remoteCache",
    "tasks",
    "ui",
    "workspaces",
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

const IMAGE_KEYS: &[&str] = &[
    "base",
    "cmd",
    "entrypoint",
    "env",
    "expose",
    "files",
    "labels",
    "name",
    "source",
    "tag",
    "user",
    "workdir",
];

const TASK_KEYS: &[&str] = &[
    "cache",
    "command",
    "dependsOn",
    "description",
    "env",
    "inputs",
    "interactive",
    "interruptible",
    "outputLogs",
    "outputs",
    "passThroughEnv",
    "persistent",
    "with",
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

pub(crate) struct Checker<'s> {
    source: &'s Arc<SourceFile>,
    errors: Vec<ConfigError>,
}

impl<'s> Checker<'s> {
    pub fn new(source: &'s Arc<SourceFile>) -> Self {
        Self {
            source,
            errors: Vec::new(),
        }
    }

    pub fn finish<T>(mut self, value: T) -> Result<T, Vec<ConfigError>> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            self.errors.sort_by_key(error_offset);
            Err(self.errors)
        }
    }

    fn spanned<T>(&self, value: T, span: Span) -> Spanned<T> {
        Spanned::new(value, span, self.source)
    }

    fn wrong_type(&mut self, key: &str, node: &Node, expected: &'static str, example: &str) {
        let example = match self.source.format() {
            crate::ConfigFormat::Toml => format!("write it as `{key} = {example}`"),
            crate::ConfigFormat::Json => format!("write it as `\"{key}\": {example}`"),
        };
        self.errors.push(ConfigError::WrongType {
            src: self.source.named_source(),
            span: node.span.into(),
            key: key.to_owned(),
            expected,
            found: node.kind.type_name(),
            help: example,
        });
    }

    fn invalid(&mut self, key: &str, span: Span, problem: String, help: String) {
        self.errors.push(ConfigError::InvalidValue {
            src: self.source.named_source(),
            span: span.into(),
            key: key.to_owned(),
            problem,
            help,
        });
    }

    fn unknown_key(&mut self, key: &Key, context: &str, known: &[&str]) {
        let help = if key.name == "pipeline" {
            "`pipeline` was renamed to `tasks` in Turborepo 2: rename the key".to_owned()
        } else {
            match did_you_mean(&key.name, known) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!("valid keys here are: {}", known.join(", ")),
            }
        };
        self.errors.push(ConfigError::UnknownKey {
            src: self.source.named_source(),
            span: key.span.into(),
            key: key.name.clone(),
            context: context.to_owned(),
            help,
        });
    }

    fn object<'n>(&mut self, key: &str, node: &'n Node) -> Option<&'n [(Key, Node)]> {
        match &node.kind {
            NodeKind::Object(entries) => Some(entries),
            _ => {
                self.wrong_type(key, node, "a table", "{ ... }");
                None
            }
        }
    }

    fn string(&mut self, key: &str, node: &Node) -> Option<Spanned<String>> {
        match &node.kind {
            NodeKind::String(s) => Some(self.spanned(s.clone(), node.span)),
            _ => {
                self.wrong_type(key, node, "a string", "\"...\"");
                None
            }
        }
    }

    fn bool(&mut self, key: &str, node: &Node) -> Option<bool> {
        match &node.kind {
            NodeKind::Bool(b) => Some(*b),
            _ => {
                self.wrong_type(key, node, "a boolean", "true");
                None
            }
        }
    }

    fn strings(&mut self, key: &str, node: &Node) -> Option<Vec<Spanned<String>>> {
        let NodeKind::Array(items) = &node.kind else {
            let example = match &node.kind {
                NodeKind::String(s) => format!("[{s:?}]"),
                _ => "[\"...\"]".to_owned(),
            };
            self.wrong_type(key, node, "an array of strings", &example);
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match &item.kind {
                NodeKind::String(s) => out.push(self.spanned(s.clone(), item.span)),
                _ => self.wrong_type(key, item, "a string", "\"...\""),
            }
        }
        Some(out)
    }

    /// A key's value of one of several enumerated strings.
    fn choice<T>(
        &mut self,
        key: &str,
        node: &Node,
        names: &[&str],
        parse: impl Fn(&str) -> Option<T>,
    ) -> Option<T> {
        let value = self.string(key, node)?;
        let parsed = parse(&value);
        if parsed.is_none() {
            self.invalid(
                key,
                node.span,
                format!("`{}` is not one of {}", value.value, names.join(", ")),
                match did_you_mean(&value, names) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!("use one of: {}", names.join(", ")),
                },
            );
        }
        parsed
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
                "timeout" | "uploadTimeout" => {
                    let seconds = match &value.kind {
                        NodeKind::Number => self.source.text()[value.span.start..value.span.end]
                            .parse::<u64>()
                            .ok(),
                        _ => None,
                    };
                    if seconds.is_none() {
                        self.wrong_type(&key.name, value, "a whole number of seconds", "30");
                    }
                    if key.name == "timeout" {
                        config.timeout = seconds;
                    } else {
                        config.upload_timeout = seconds;
                    }
                }
                "loginUrl" | "preflight" => {}
                _ => self.unknown_key(key, "`remoteCache`", REMOTE_CACHE_KEYS),
            }
        }
        Some(config)
    }

    fn tasks(&mut self, node: &Node, in_package: bool) -> Vec<TaskEntry> {
        let Some(entries) = self.object("tasks", node) else {
            return Vec::new();
        };
        let mut tasks = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            let name = match key.name.parse::<TaskName>() {
                Ok(name) => name,
                Err(err) => {
                    self.invalid(
                        "tasks",
                        key.span,
                        format!("`{}` is not a valid task name: {err}", key.name),
                        "name tasks `task` or `package#task`".to_owned(),
                    );
                    continue;
                }
            };
            if in_package && name.is_package_task() {
                self.invalid(
                    "tasks",
                    key.span,
                    format!("a package's config cannot name a package's task (`{name}`)"),
                    format!(
                        "write `{}` here, or move `{name}` to the root turbo.toml",
                        name.task()
                    ),
                );
                continue;
            }
            let definition = self.task_definition(&name, value);
            tasks.push(TaskEntry {
                name: self.spanned(name, key.span),
                definition,
            });
        }
        tasks
    }

    fn task_definition(&mut self, name: &TaskName, node: &Node) -> RawTaskDefinition {
        let mut def = RawTaskDefinition::default();
        let Some(entries) = self.object(&format!("tasks.{name}"), node) else {
            return def;
        };
        let context = format!("task `{name}`");
        for (key, value) in entries {
            match key.name.as_str() {
                "dependsOn" => def.depends_on = self.depends_on(value),
                "inputs" => def.inputs = self.strings("inputs", value),
                "outputs" => def.outputs = self.strings("outputs", value),
                "env" => def.env = self.strings("env", value),
                "passThroughEnv" => def.pass_through_env = self.strings("passThroughEnv", value),
                "with" => {
                    self.strings("with", value);
                }
                "cache" => def.cache = self.bool("cache", value),
                "persistent" => {
                    def.persistent = self
                        .bool("persistent", value)
                        .map(|b| self.spanned(b, key.span))
                }
                "interactive" => def.interactive = self.bool("interactive", value),
                "interruptible" => def.interruptible = self.bool("interruptible", value),
                "outputLogs" => {
                    def.output_logs =
                        self.choice("outputLogs", value, &OutputLogs::NAMES, OutputLogs::parse)
                }
                "command" => def.command = self.string("command", value),
                "description" => {
                    self.string("description", value);
                }
                _ => self.unknown_key(key, &context, TASK_KEYS),
            }
        }
        def
    }

    fn depends_on(&mut self, node: &Node) -> Option<Vec<Spanned<DependsOn>>> {
        let items = self.strings("dependsOn", node)?;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let raw = item.value.as_str();
            let parsed = if let Some(task) = raw.strip_prefix('^') {
                TaskName::new(task).map(|_| DependsOn::Topological(task.to_owned()))
            } else if raw.starts_with('$') {
                self.invalid(
                    "dependsOn",
                    item.span,
                    format!("`{raw}`: environment variables are no longer declared in dependsOn"),
                    format!("list `{}` under `env` instead", raw.trim_start_matches('$')),
                );
                continue;
            } else {
                raw.parse::<TaskName>()
                    .map(|name| match name.into_task_id() {
                        Some(id) => DependsOn::Task(id),
                        None => DependsOn::SamePackage(raw.to_owned()),
                    })
            };
            match parsed {
                Ok(dep) => out.push(item.map(|_| dep)),
                Err(err) => self.invalid(
                    "dependsOn",
                    item.span,
                    format!("`{raw}` is not a task reference: {err}"),
                    "write `task`, `^task` (in dependencies) or `package#task`".to_owned(),
                ),
            }
        }
        Some(out)
    }

    /// A table of string values, in file order.
    fn string_table(&mut self, key: &str, node: &Node) -> Vec<(Key, Spanned<String>)> {
        let Some(entries) = self.object(key, node) else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            if let Some(value) = self.string(&format!("{key}.{}", k.name), v) {
                out.push((k.clone(), value));
            }
        }
        out
    }

    /// `[image]` of a package config.
    fn image(&mut self, key: &Key, node: &Node) -> Option<ImageConfig> {
        let entries = self.object("image", node)?;
        let mut name = None;
        let mut image = ImageConfig {
            span: self.spanned((), key.span),
            name: self.spanned(String::new(), key.span),
            tag: None,
            base: None,
            entrypoint: None,
            cmd: None,
            workdir: None,
            env: Vec::new(),
            expose: Vec::new(),
            user: None,
            labels: Vec::new(),
            source: None,
            files: Vec::new(),
        };
        for (k, value) in entries {
            match k.name.as_str() {
                "name" => {
                    if let Some(v) = self.string("image.name", value) {
                        if !valid_repository(&v.value) {
                            self.invalid(
                                "image.name",
                                v.span,
                                format!("`{}` is not a valid image repository name", v.value),
                                "use lowercase letters, digits and `._-` separated by `/`, as in `docsearch/indexer`".to_owned(),
                            );
                        }
                        name = Some(v);
                    }
                }
                "tag" => {
                    if let Some(v) = self.string("image.tag", value) {
                        if !valid_tag(&v.value) {
                            self.invalid(
                                "image.tag",
                                v.span,
                                format!("`{}` is not a valid image tag", v.value),
                                "a tag is up to 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-`".to_owned(),
                            );
                        }
                        image.tag = Some(v);
                    }
                }
                "base" => image.base = self.string("image.base", value),
                "entrypoint" => {
                    image.entrypoint = self
                        .strings("image.entrypoint", value)
                        .map(|v| v.into_iter().map(|s| s.value).collect())
                }
                "cmd" => {
                    image.cmd = self
                        .strings("image.cmd", value)
                        .map(|v| v.into_iter().map(|s| s.value).collect())
                }
                "workdir" => {
                    if let Some(v) = self.string("image.workdir", value) {
                        if !v.value.starts_with('/') {
                            self.invalid(
                                "image.workdir",
                                v.span,
                                format!("`{}` is not an absolute path", v.value),
                                format!("write it from the image's root: `/{}`", v.value),
                            );
                        }
                        image.workdir = Some(v.value);
                    }
                }
                "user" => image.user = self.string("image.user", value).map(|v| v.value),
                "source" => image.source = self.string("image.source", value).map(|v| v.value),
                "env" => {
                    image.env = self
                        .string_table("image.env", value)
                        .into_iter()
                        .map(|(k, v)| (k.name, v.value))
                        .collect()
                }
                "labels" => {
                    image.labels = self
                        .string_table("image.labels", value)
                        .into_iter()
                        .map(|(k, v)| (k.name, v.value))
                        .collect()
                }
                "expose" => image.expose = self.expose(value),
                "files" => image.files = self.image_files(value),
                _ => self.unknown_key(k, "`[image]`", IMAGE_KEYS),
            }
        }
        match name {
            Some(name) => image.name = name,
            None => self.invalid(
                "image",
                key.span,
                "`[image]` has no `name`".to_owned(),
                "add `name = \"group/app\"`: the image's repository name".to_owned(),
            ),
        }
        Some(image)
    }

    fn expose(&mut self, node: &Node) -> Vec<String> {
        let NodeKind::Array(items) = &node.kind else {
            self.wrong_type("image.expose", node, "an array of ports", "[8080]");
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            let raw = match &item.kind {
                NodeKind::Number => self.source.text()[item.span.start..item.span.end].to_owned(),
                NodeKind::String(s) => s.clone(),
                _ => {
                    self.wrong_type("image.expose", item, "a port", "8080");
                    continue;
                }
            };
            let (port, protocol) = raw.split_once('/').unwrap_or((raw.as_str(), "tcp"));
            if port.parse::<u16>().map_or(true, |p| p == 0)
                || !matches!(protocol, "tcp" | "udp" | "sctp")
            {
                self.invalid(
                    "image.expose",
                    item.span,
                    format!("`{raw}` is not a port"),
                    "write a port number (`8080`) or a port and protocol (`\"53/udp\"`)".to_owned(),
                );
                continue;
            }
            out.push(format!("{port}/{protocol}"));
        }
        out
    }

    fn image_files(&mut self, node: &Node) -> Vec<ImageFile> {
        let mut out = Vec::new();
        for (key, value) in self.string_table("image.files", node) {
            let target = self.spanned(key.name.clone(), key.span);
            if !target.value.starts_with('/') || target.value.split('/').any(|p| p == "..") {
                self.invalid(
                    "image.files",
                    key.span,
                    format!("`{}` is not an absolute path in the image", target.value),
                    format!(
                        "write it from the image's root: `\"/{}\"`",
                        target.value.trim_start_matches('/')
                    ),
                );
                continue;
            }
            let (package, path) = match value.value.split_once(':') {
                Some((package, path)) => (Some(self.spanned(package.to_owned(), value.span)), path),
                None => (None, value.value.as_str()),
            };
            let path = path.trim_start_matches("./");
            if path.is_empty() || path.starts_with('/') || path.split('/').any(|p| p == "..") {
                self.invalid(
                    "image.files",
                    value.span,
                    format!("`{}` is not a path inside a package", value.value),
                    "write a path relative to the package (`dist/`), or to a dependency (`@scope/web:dist/`)".to_owned(),
                );
                continue;
            }
            if path.ends_with('/') != target.value.ends_with('/') {
                self.invalid(
                    "image.files",
                    value.span,
                    format!(
                        "`{}` and `{}`: a folder is copied to a folder and a file to a file",
                        target.value, value.value
                    ),
                    "end both paths with `/` to copy a folder, or neither to copy a file"
                        .to_owned(),
                );
                continue;
            }
            out.push(ImageFile {
                target,
                package,
                path: self.spanned(path.to_owned(), value.span),
            });
        }
        out
    }

    fn root_object<'n>(&mut self, node: &'n Node) -> &'n [(Key, Node)] {
        match &node.kind {
            NodeKind::Object(entries) => entries,
            _ => {
                self.wrong_type("the file", node, "a table", "{ ... }");
                &[]
            }
        }
    }

    pub fn root(&mut self, node: &Node) -> RootConfig {
        let mut config = RootConfig {
            source: Some(Arc::clone(self.source)),
            ..Default::default()
        };
        for (key, value) in self.root_object(node) {
            match key.name.as_str() {
                "tasks" => config.tasks = self.tasks(value, false),
                "globalDependencies" => {
                    config.global_dependencies = self
                        .strings("globalDependencies", value)
                        .unwrap_or_default()
                }
                "globalEnv" => {
                    config.global_env = self.strings("globalEnv", value).unwrap_or_default()
                }
                "globalPassThroughEnv" => {
                    config.global_pass_through_env = self.strings("globalPassThroughEnv", value)
                }
                "workspaces" => {
                    config.workspaces = self.strings("workspaces", value).unwrap_or_default()
                }
                "cacheDir" => config.cache_dir = self.string("cacheDir", value),
                "envMode" => {
                    config.env_mode =
                        self.choice("envMode", value, &["strict", "loose"], EnvMode::parse)
                }
                "concurrency" => {
                    config.concurrency = match &value.kind {
                        NodeKind::Number => Some(self.spanned(
                            self.source.text()[value.span.start..value.span.end].to_owned(),
                            value.span,
                        )),
                        _ => self.string("concurrency", value),
                    }
                }
                "ui" => {
                    self.choice("ui", value, &["tui", "stream"], |s| {
                        matches!(s, "tui" | "stream").then_some(())
                    });
                }
                "daemon" | "dangerouslyDisablePackageManagerCheck" | "noUpdateNotifier" => {
                    self.bool(&key.name, value);
                }
                "$schema" => {
                    self.string("$schema", value);
                }
                "remoteCache" => config.remote_cache = self.remote_cache(value),
                "futureFlags" | "boundaries" => {
                    self.object(&key.name, value);
                }
                "extends" => self.invalid(
                    "extends",
                    key.span,
                    "the root config cannot extend another".to_owned(),
                    "remove `extends`; only a package's turbo.toml extends the root (`[\"//\"]`)"
                        .to_owned(),
                ),
                _ => self.unknown_key(key, "the root config", ROOT_KEYS),
            }
        }
        config
    }

    pub fn package(&mut self, node: &Node) -> PackageConfig {
        let mut config = PackageConfig {
            source: Arc::clone(self.source),
            extends: Vec::new(),
            name: None,
            dependencies: Vec::new(),
            tasks: Vec::new(),
            image: None,
        };
        for (key, value) in self.root_object(node) {
            match key.name.as_str() {
                "extends" => {
                    let extends = self.strings("extends", value).unwrap_or_default();
                    for entry in &extends {
                        if entry.value != "//" {
                            self.invalid(
                                "extends",
                                entry.span,
                                format!("cannot extend `{}`", entry.value),
                                "a package's config can only extend the root: `[\"//\"]`"
                                    .to_owned(),
                            );
                        }
                    }
                    config.extends = extends;
                }
                "name" => config.name = self.string("name", value),
                "dependencies" => {
                    config.dependencies = self.strings("dependencies", value).unwrap_or_default()
                }
                "tasks" => config.tasks = self.tasks(value, true),
                "image" => config.image = self.image(key, value),
                "tags" => {
                    self.strings("tags", value);
                }
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
}

fn error_offset(error: &ConfigError) -> usize {
    match error {
        ConfigError::Io { .. } | ConfigError::TooLarge { .. } | ConfigError::NotAFile { .. } => 0,
        ConfigError::Syntax { span, .. }
        | ConfigError::UnknownKey { span, .. }
        | ConfigError::WrongType { span, .. }
        | ConfigError::InvalidValue { span, .. } => span.offset(),
    }
}

/// An OCI repository name: lowercase path components of `[a-z0-9]` separated by `.`, `_`,
/// `__` or `-` runs, joined by `/`. A registry host may lead (`ghcr.io/org/app`).
fn valid_repository(name: &str) -> bool {
    !name.is_empty()
        && name.split('/').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-:".contains(c))
                && part
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphanumeric())
        })
}

/// An OCI tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn valid_tag(tag: &str) -> bool {
    tag.len() <= 128
        && tag
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// The known name closest to `word`, if one is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| {
            (
                strsim::damerau_levenshtein(&word.to_lowercase(), &k.to_lowercase()),
                *k,
            )
        })
        .filter(|(distance, k)| *distance <= (k.len() / 3).max(1) + usize::from(k.len() > 6))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;
    use test_case::test_case;

    #[test_case("output", Some("outputs"))]
    #[test_case("dependson", Some("dependsOn"))]
    #[test_case("dependOn", Some("dependsOn"))]
    #[test_case("inptus", Some("inputs"))]
    #[test_case("zebra", None)]
    fn suggests_close_keys(word: &str, expected: Option<&str>) {
        assert_eq!(did_you_mean(word, super::TASK_KEYS), expected);
    }
}
