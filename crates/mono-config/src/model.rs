use std::collections::BTreeSet;
use std::sync::Arc;

use mono_task_id::{TaskId, TaskName};

use crate::source::{SourceFile, Spanned};

/// One entry of `dependsOn`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DependsOn {
    /// `^build`: the task of that name in each of the package's dependencies.
    Topological(String),
    /// `build`: the task of that name in the same package.
    SamePackage(String),
    /// `web#build` or `//#build`: one task of one package.
    Task(TaskId),
}

impl DependsOn {
    /// The task name, whatever the package.
    pub fn task(&self) -> &str {
        match self {
            DependsOn::Topological(task) | DependsOn::SamePackage(task) => task,
            DependsOn::Task(id) => id.task(),
        }
    }
}

impl std::fmt::Display for DependsOn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DependsOn::Topological(task) => write!(f, "^{task}"),
            DependsOn::SamePackage(task) => f.write_str(task),
            DependsOn::Task(id) => id.fmt(f),
        }
    }
}

/// `outputLogs` (and `--output-logs`): which tasks' output is printed, as in Turborepo.
///
/// | mode | ran, succeeded | ran, failed | cache hit |
/// |---|---|---|---|
/// | `full` | status line, log | status line, log, error line | status line, log |
/// | `hash-only` | status line | status line, error line | status line |
/// | `new-only` | status line, log | status line, log, error line | status line (`suppressing logs`) |
/// | `errors-only` | — | status line, log, error line | — |
/// | `none` | — | — | — |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OutputLogs {
    /// Everything, cache replays included.
    #[default]
    Full,
    /// Only each task's status line (cache hit or miss, with the hash).
    HashOnly,
    /// Logs of tasks that ran; a cache hit prints only its status line.
    NewOnly,
    /// Only the logs of failed tasks.
    ErrorsOnly,
    /// Nothing.
    None,
}

/// A value that is not one of an option's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not one of {expected}")]
pub struct UnknownValue {
    /// The value as given.
    pub value: String,
    /// The values allowed.
    pub expected: &'static str,
}

impl std::fmt::Display for OutputLogs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for OutputLogs {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| UnknownValue {
            value: s.to_owned(),
            expected: "full, hash-only, new-only, errors-only, none",
        })
    }
}

impl OutputLogs {
    /// All values as written in config, in order.
    pub const NAMES: [&'static str; 5] = ["full", "hash-only", "new-only", "errors-only", "none"];

    /// Parses the config spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "full" => Self::Full,
            "hash-only" => Self::HashOnly,
            "new-only" => Self::NewOnly,
            "errors-only" => Self::ErrorsOnly,
            "none" => Self::None,
            _ => return None,
        })
    }

    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// `ui`: how a run shows its tasks, when `--ui` does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ui {
    /// Output lines as tasks print them (`stream`; also
    /// `stream-with-experimental-timestamps`, which mono streams without timestamps).
    Stream,
    /// The terminal UI (`tui`): the tasks and the selected task's log.
    Tui,
}

impl Ui {
    /// Parses the config spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "stream" | "stream-with-experimental-timestamps" => Some(Self::Stream),
            "tui" => Some(Self::Tui),
            _ => None,
        }
    }
}

/// `envMode`: which environment variables a task sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum EnvMode {
    /// Only the listed variables and a minimal set.
    #[default]
    Strict,
    /// Every variable.
    Loose,
}

impl EnvMode {
    /// Parses the config spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "strict" => Some(Self::Strict),
            "loose" => Some(Self::Loose),
            _ => None,
        }
    }

    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "strict",
            Self::Loose => "loose",
        }
    }
}

/// An array field of a task definition: the fields a package's config may extend rather
/// than replace, by starting the array with `$TURBO_EXTENDS$`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ListField {
    /// `dependsOn`
    DependsOn,
    /// `inputs`
    Inputs,
    /// `outputs`
    Outputs,
    /// `env`
    Env,
    /// `passThroughEnv`
    PassThroughEnv,
    /// `tags`
    Tags,
    /// `with`
    With,
}

/// The marker that makes a package's array field extend the inherited one.
pub const TURBO_EXTENDS: &str = "$TURBO_EXTENDS$";

/// A task's definition as written in one file: every field optional, so that a package's
/// definition can override the root's key by key.
#[derive(Debug, Clone, Default)]
pub struct RawTaskDefinition {
    /// `dependsOn`
    pub depends_on: Option<Vec<Spanned<DependsOn>>>,
    /// `inputs`
    pub inputs: Option<Vec<Spanned<String>>>,
    /// `outputs`
    pub outputs: Option<Vec<Spanned<String>>>,
    /// `env`
    pub env: Option<Vec<Spanned<String>>>,
    /// `passThroughEnv`
    pub pass_through_env: Option<Vec<Spanned<String>>>,
    /// `cache`
    pub cache: Option<bool>,
    /// `persistent`, with where it was written
    pub persistent: Option<Spanned<bool>>,
    /// `interactive`
    pub interactive: Option<bool>,
    /// `interruptible`
    pub interruptible: Option<bool>,
    /// `outputLogs`
    pub output_logs: Option<OutputLogs>,
    /// `command` (mono): the command of a Rust, Go or generic package's task
    pub command: Option<Spanned<String>>,
    /// `tags`: labels; never hashed.
    pub tags: Option<Vec<Spanned<String>>>,
    /// `with`: tasks that run alongside this one (`task` in the same package, or
    /// `package#task`).
    pub with: Option<Vec<Spanned<TaskName>>>,
    /// `extends` (a package config's task only): `false` starts a fresh definition, or,
    /// alone, removes the task from the package.
    pub extends: Option<Spanned<bool>>,
    /// The array fields written with `$TURBO_EXTENDS$` first: they append to the inherited
    /// values instead of replacing them.
    pub appends: BTreeSet<ListField>,
    /// Set on the merged definition when a config the package extends removed the task
    /// (`extends: false` alone): the task stays in the graph and runs nothing, as Turborepo's
    /// `<OPT OUT>`. A later definition with keys starts afresh.
    pub opted_out: bool,
}

impl RawTaskDefinition {
    /// `self` with every field that `over` sets replaced by `over`'s; an array field that
    /// `over` marks with `$TURBO_EXTENDS$` is `self`'s items followed by `over`'s.
    pub fn overlay(&self, over: &RawTaskDefinition) -> RawTaskDefinition {
        fn pick<T: Clone>(base: &Option<T>, over: &Option<T>) -> Option<T> {
            over.clone().or_else(|| base.clone())
        }
        fn list<T: Clone>(
            base: &Option<Vec<T>>,
            over: &Option<Vec<T>>,
            append: bool,
        ) -> Option<Vec<T>> {
            match (base, over, append) {
                (Some(base), Some(over), true) => {
                    Some(base.iter().chain(over.iter()).cloned().collect())
                }
                _ => pick(base, over),
            }
        }
        let append = |field| over.appends.contains(&field);
        RawTaskDefinition {
            depends_on: list(
                &self.depends_on,
                &over.depends_on,
                append(ListField::DependsOn),
            ),
            inputs: list(&self.inputs, &over.inputs, append(ListField::Inputs)),
            outputs: list(&self.outputs, &over.outputs, append(ListField::Outputs)),
            env: list(&self.env, &over.env, append(ListField::Env)),
            pass_through_env: list(
                &self.pass_through_env,
                &over.pass_through_env,
                append(ListField::PassThroughEnv),
            ),
            cache: pick(&self.cache, &over.cache),
            persistent: pick(&self.persistent, &over.persistent),
            interactive: pick(&self.interactive, &over.interactive),
            interruptible: pick(&self.interruptible, &over.interruptible),
            output_logs: pick(&self.output_logs, &over.output_logs),
            command: pick(&self.command, &over.command),
            tags: list(&self.tags, &over.tags, append(ListField::Tags)),
            with: list(&self.with, &over.with, append(ListField::With)),
            extends: None,
            appends: self.appends.clone(),
            opted_out: false,
        }
    }

    /// Applies one more file's definition of the task (a package config's) on top of the
    /// inherited one, as Turborepo does: `extends: false` alone removes the task, with other
    /// keys starts afresh; otherwise the keys it sets override (or extend) the inherited ones.
    pub fn inherit(base: Option<&RawTaskDefinition>, layer: &RawTaskDefinition) -> Option<Self> {
        let base = base.filter(|b| !b.opted_out);
        if layer.extends.as_ref().is_some_and(|e| !e.value) {
            if layer.sets_nothing() {
                return None;
            }
            return Some(RawTaskDefinition {
                extends: None,
                ..layer.clone()
            });
        }
        Some(match base {
            Some(base) => base.overlay(layer),
            None => RawTaskDefinition {
                extends: None,
                ..layer.clone()
            },
        })
    }

    /// Whether this is `extends: false` alone: the task's removal from the package.
    pub fn excludes(&self) -> bool {
        self.extends.as_ref().is_some_and(|e| !e.value) && self.sets_nothing()
    }

    /// Whether the definition sets no key but `extends`.
    fn sets_nothing(&self) -> bool {
        let RawTaskDefinition {
            depends_on,
            inputs,
            outputs,
            env,
            pass_through_env,
            cache,
            persistent,
            interactive,
            interruptible,
            output_logs,
            command,
            tags,
            with,
            extends: _,
            appends: _,
            opted_out: _,
        } = self;
        depends_on.is_none()
            && inputs.is_none()
            && outputs.is_none()
            && env.is_none()
            && pass_through_env.is_none()
            && cache.is_none()
            && persistent.is_none()
            && interactive.is_none()
            && interruptible.is_none()
            && output_logs.is_none()
            && command.is_none()
            && tags.is_none()
            && with.is_none()
    }

    /// The definition with defaults filled in.
    pub fn resolve(&self) -> TaskDefinition {
        let strings = |v: &Option<Vec<Spanned<String>>>| {
            v.as_ref()
                .map(|v| v.iter().map(|s| s.value.clone()).collect())
                .unwrap_or_default()
        };
        TaskDefinition {
            depends_on: self
                .depends_on
                .as_ref()
                .map(|v| v.iter().map(|d| d.value.clone()).collect())
                .unwrap_or_default(),
            inputs: strings(&self.inputs),
            outputs: strings(&self.outputs),
            env: strings(&self.env),
            pass_through_env: self
                .pass_through_env
                .as_ref()
                .map(|v| v.iter().map(|s| s.value.clone()).collect()),
            cache: self.cache.unwrap_or(true),
            persistent: self.persistent.as_ref().is_some_and(|p| p.value),
            interactive: self.interactive.unwrap_or(false),
            interruptible: self.interruptible.unwrap_or(false),
            output_logs: self.output_logs.unwrap_or_default(),
            command: self.command.as_ref().map(|c| c.value.clone()),
            tags: strings(&self.tags),
            with: self
                .with
                .as_ref()
                .map(|v| v.iter().map(|w| w.value.clone()).collect())
                .unwrap_or_default(),
        }
    }
}

/// A task's definition after merging and defaults: what a run uses and what is hashed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaskDefinition {
    /// `dependsOn`
    pub depends_on: Vec<DependsOn>,
    /// `inputs`; empty means every file of the package that git does not ignore
    pub inputs: Vec<String>,
    /// `outputs`
    pub outputs: Vec<String>,
    /// `env`
    pub env: Vec<String>,
    /// `passThroughEnv`
    pub pass_through_env: Option<Vec<String>>,
    /// `cache` (default true)
    pub cache: bool,
    /// `persistent` (default false)
    pub persistent: bool,
    /// `interactive`
    pub interactive: bool,
    /// `interruptible`
    pub interruptible: bool,
    /// `outputLogs`
    pub output_logs: OutputLogs,
    /// `command` (mono)
    pub command: Option<String>,
    /// `tags`: labels, in order, duplicates kept; never hashed.
    pub tags: Vec<String>,
    /// `with`: the tasks that run alongside this one, as written.
    pub with: Vec<TaskName>,
}

/// One `[tasks.NAME]` entry of a file.
#[derive(Debug, Clone)]
pub struct TaskEntry {
    /// The key, `build` or `web#build`.
    pub name: Spanned<TaskName>,
    /// The definition.
    pub definition: RawTaskDefinition,
}

/// The repository's `turbo.toml` (or `turbo.json`).
#[derive(Debug, Clone, Default)]
pub struct RootConfig {
    /// The file it was read from; `None` when the repository has neither file.
    pub source: Option<Arc<SourceFile>>,
    /// `globalDependencies`: globs of files, relative to the root, that every task hashes.
    pub global_dependencies: Vec<Spanned<String>>,
    /// `globalEnv`
    pub global_env: Vec<Spanned<String>>,
    /// `globalPassThroughEnv`
    pub global_pass_through_env: Option<Vec<Spanned<String>>>,
    /// `tasks`, in file order.
    pub tasks: Vec<TaskEntry>,
    /// `workspaces` (mono): globs of folders that are packages though no package manager
    /// lists them.
    pub workspaces: Vec<Spanned<String>>,
    /// `cacheDir`
    pub cache_dir: Option<Spanned<String>>,
    /// `cacheMaxSize`, in bytes; `Some(None)` when written `"0"` (no limit).
    pub cache_max_size: Option<Spanned<Option<u64>>>,
    /// `cacheMaxAge`; `Some(None)` when written `"0"` (no limit).
    pub cache_max_age: Option<Spanned<Option<std::time::Duration>>>,
    /// `envMode`
    pub env_mode: Option<EnvMode>,
    /// `ui`; never hashed.
    pub ui: Option<Ui>,
    /// `concurrency`, as written (`4` or `"50%"`).
    pub concurrency: Option<Spanned<String>>,
    /// `remoteCache`
    pub remote_cache: Option<RemoteCacheConfig>,
    /// `tags`: labels of the root package.
    pub tags: Vec<Spanned<String>>,
    /// `futureFlags`, each flag as written.
    pub future_flags: Vec<(String, bool)>,
}

/// `remoteCache`: Turborepo's keys, with `apiUrl` also accepting `s3://BUCKET/PREFIX`.
#[derive(Debug, Clone, Default)]
pub struct RemoteCacheConfig {
    /// `apiUrl`: `s3://BUCKET/PREFIX` or `http(s)://HOST`.
    pub api_url: Option<Spanned<String>>,
    /// `enabled` (default true).
    pub enabled: Option<bool>,
    /// `signature`: sign uploads and require signatures (needs the key in the environment).
    pub signature: Option<bool>,
    /// `teamId`
    pub team_id: Option<Spanned<String>>,
    /// `teamSlug`
    pub team_slug: Option<Spanned<String>>,
    /// `timeout` in seconds.
    pub timeout: Option<u64>,
    /// `uploadTimeout` in seconds.
    pub upload_timeout: Option<u64>,
}

impl RootConfig {
    /// The entry for an exact task key (`build`, `web#build`), if any.
    pub fn task(&self, name: &TaskName) -> Option<&TaskEntry> {
        self.tasks.iter().find(|entry| &entry.name.value == name)
    }

    /// The canonical form of the config, for the global hash: stable across formatting,
    /// comments, key order and syntax (turbo.toml and turbo.json with the same content
    /// give the same string).
    pub fn canonical(&self) -> String {
        crate::canonical::root(self)
    }
}

/// A package's own `turbo.toml` (or `turbo.json`).
#[derive(Debug, Clone)]
pub struct PackageConfig {
    /// The file.
    pub source: Arc<SourceFile>,
    /// `extends`: `"//"` first, then the names of other packages whose configs this one
    /// builds on, in order.
    pub extends: Vec<Spanned<String>>,
    /// `tags`: labels of this package (not inherited).
    pub tags: Vec<Spanned<String>>,
    /// `name` (mono): makes a plain folder a generic package.
    pub name: Option<Spanned<String>>,
    /// `dependencies` (mono): package names this package depends on though no manifest says so.
    pub dependencies: Vec<Spanned<String>>,
    /// `tasks`; keys are plain task names.
    pub tasks: Vec<TaskEntry>,
    /// `[image]` (mono): the OCI image of this package.
    pub image: Option<ImageConfig>,
}

impl PackageConfig {
    /// The packages (other than the root) whose configs this one extends, in order.
    pub fn extended_packages(&self) -> impl Iterator<Item = &Spanned<String>> {
        self.extends.iter().filter(|e| e.value != "//")
    }

    /// The entry for a task, if the file defines it.
    pub fn task(&self, task: &str) -> Option<&TaskEntry> {
        self.tasks
            .iter()
            .find(|entry| entry.name.value.task() == task)
    }
}

/// A package's `[image]` table (mono): the OCI image `mono image` builds of the package.
#[derive(Debug, Clone)]
pub struct ImageConfig {
    /// Where `[image]` was written, for errors found later.
    pub span: Spanned<()>,
    /// `name`: the repository name (`docsearch/indexer`).
    pub name: Spanned<String>,
    /// `tag`; default: the image task's hash prefix.
    pub tag: Option<Spanned<String>>,
    /// `base`: `scratch` (default), `oci:PATH` or `REGISTRY/REPO:TAG`.
    pub base: Option<Spanned<String>>,
    /// `entrypoint`
    pub entrypoint: Option<Vec<String>>,
    /// `cmd`
    pub cmd: Option<Vec<String>>,
    /// `workdir`
    pub workdir: Option<String>,
    /// `env`, in file order.
    pub env: Vec<(String, String)>,
    /// `expose`: `8080` or `"8080/udp"`, normalised to `8080/tcp`.
    pub expose: Vec<String>,
    /// `user`
    pub user: Option<String>,
    /// `labels`, in file order.
    pub labels: Vec<(String, String)>,
    /// `source`: the `org.opencontainers.image.source` annotation; default: git's
    /// `remote.origin.url`.
    pub source: Option<String>,
    /// `files`: image path = source (`path` in this package, `pkg:path` in a dependency).
    pub files: Vec<ImageFile>,
}

/// One `[image.files]` entry.
#[derive(Debug, Clone)]
pub struct ImageFile {
    /// The path in the image, absolute; ends with `/` for a directory.
    pub target: Spanned<String>,
    /// The package the source belongs to; `None`: the image's own package.
    pub package: Option<Spanned<String>>,
    /// The path in that package, relative; ends with `/` for a directory.
    pub path: Spanned<String>,
}
