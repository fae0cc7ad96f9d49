//! The command line as clap parses it: raw values, checked and resolved later.

use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};
#[cfg(feature = "images")]
use mono_engine::images::ImageFormat;
use mono_engine::shards::ShardSpec;
use mono_engine::{
    CacheAccess, Concurrency, ContinueMode, EnvMode, LogOrderChoice, LogPrefix, OutputLogs,
};

/// A monorepo build orchestrator for Node, Rust, Go and plain folders.
#[derive(Debug, Parser)]
#[command(
    name = "mono",
    version = env!("MONO_VERSION"),
    about,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Run as if started in this directory.
    #[arg(long, global = true, value_name = "DIR")]
    pub cwd: Option<PathBuf>,

    /// Turborepo's global flags (docs/turbo-compat.md).
    #[command(flatten)]
    pub turbo: TurboGlobalArgs,

    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// mono's commands. Any other word is a task: `mono build` is `mono run build`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run tasks across the repository's packages.
    Run(RunArgs),
    /// List the repository's packages.
    Ls(LsArgs),
    /// Write turbo.toml from turbo.json.
    Migrate(MigrateArgs),
    /// Build the OCI images of the packages with an `[image]` table (the `image` task).
    #[cfg(feature = "images")]
    Image(ImageArgs),
    /// Copy the repository with only some packages, their dependencies and pruned lockfiles.
    Prune(PruneArgs),
    /// Build one package's image: what the `image` task runs (docs/images.md).
    #[cfg(feature = "images")]
    #[command(name = "image-task", hide = true)]
    ImageTask(ImageTaskArgs),
    /// Install or remove the git pre-push hook that runs `mono test --affected`.
    #[command(subcommand)]
    Hook(HookCommand),
    /// Inspect the cache, or fill it from the remote cache.
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Say why a task's hash is what it is: what it is made of, and how it differs from the
    /// task's earlier cache entry (docs/why.md).
    Why(WhyArgs),
    /// Work with run summaries (`--summarize`).
    #[command(subcommand)]
    Summary(SummaryCommand),
    /// Split a run across CI machines (docs/ci.md).
    #[command(subcommand)]
    Ci(CiCommand),
    /// Print the completion script for a shell (README: Install).
    Completion {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// `mono <task>...`: the same as `mono run <task>...`.
    #[command(external_subcommand)]
    External(Vec<String>),
}

/// How `--dry` prints the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DryFormat {
    /// A table for people.
    Text,
    /// The documented JSON (docs/dry-run.md).
    Json,
}

/// Turborepo's global flags: the remote cache's endpoint and credentials, colors, the UI;
/// the rest are accepted and have no effect in mono (docs/turbo-compat.md).
#[derive(Debug, Clone, Args)]
pub struct TurboGlobalArgs {
    /// The remote cache's URL, as Turborepo's `--api` (same as `--remote-cache`).
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "TURBO_API",
        help_heading = "Turborepo"
    )]
    pub api: Option<String>,

    /// The remote cache's bearer token.
    #[arg(
        long,
        global = true,
        value_name = "TOKEN",
        env = "TURBO_TOKEN",
        hide_env_values = true,
        help_heading = "Turborepo"
    )]
    pub token: Option<String>,

    /// The team slug for the remote cache.
    #[arg(
        long,
        global = true,
        value_name = "TEAM",
        env = "TURBO_TEAM",
        help_heading = "Turborepo"
    )]
    pub team: Option<String>,

    /// Seconds before a remote cache request times out.
    #[arg(
        long,
        global = true,
        value_name = "SECONDS",
        env = "TURBO_REMOTE_CACHE_TIMEOUT",
        help_heading = "Turborepo"
    )]
    pub remote_cache_timeout: Option<u64>,

    /// Force colors.
    #[arg(
        long,
        global = true,
        conflicts_with = "no_color",
        help_heading = "Turborepo"
    )]
    pub color: bool,

    /// No colors.
    #[arg(long, global = true, help_heading = "Turborepo")]
    pub no_color: bool,

    /// `stream`: task output as lines; `tui`: the terminal UI, each task's log in a pane
    /// (docs/tui.md; streams where stdout is not a terminal). Default: `ui` in the root
    /// config, else `stream`.
    #[arg(
        long,
        global = true,
        value_name = "UI",
        env = "TURBO_UI",
        help_heading = "Turborepo"
    )]
    pub ui: Option<UiMode>,

    /// Accepted; mono logs no more with it.
    #[arg(short = 'v', long = "verbosity", global = true, action = clap::ArgAction::Count, help_heading = "Turborepo")]
    pub verbosity: u8,

    /// Accepted, no effect: mono has no daemon, login endpoint, version inference, update
    /// notifier, package manager check, heap or trace profiles.
    #[arg(long, global = true, hide = true)]
    pub daemon: bool,
    #[arg(long, global = true, hide = true)]
    pub no_daemon: bool,
    #[arg(long, global = true, hide = true)]
    pub skip_infer: bool,
    #[arg(long, global = true, hide = true)]
    pub no_update_notifier: bool,
    #[arg(long, global = true, hide = true)]
    pub dangerously_disable_package_manager_check: bool,
    #[arg(long, global = true, hide = true)]
    pub preflight: bool,
    #[arg(long, global = true, hide = true, value_name = "URL")]
    pub login: Option<String>,
    #[arg(long, global = true, hide = true, value_name = "FILE")]
    pub heap: Option<String>,
    #[arg(long, global = true, hide = true, value_name = "FILE")]
    pub trace: Option<String>,
}

/// `--ui`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UiMode {
    /// Lines as tasks print them (mono's output).
    Stream,
    /// The terminal UI: the tasks and their states, the selected task's live log.
    Tui,
}

/// Which packages a command is about: `--filter` and `--affected`.
#[derive(Debug, Clone, Args)]
pub struct PackageArgs {
    /// Select packages (Turborepo syntax: `web`, `@scope/*`, `./apps/*`, `web...`,
    /// `...web`, `!web`, git ranges `[main]`, `...[HEAD^1]`, `[A...B]`). Repeat to combine.
    #[arg(long, short = 'F', value_name = "FILTER")]
    pub filter: Vec<String>,

    /// Only the packages changed since the default branch (or `MONO_SCM_BASE`), work tree
    /// included, and the packages that depend on them (docs/affected.md).
    #[arg(long)]
    pub affected: bool,
}

/// Where the caches are.
#[derive(Debug, Clone, Args)]
pub struct CacheLocationArgs {
    /// Where the local cache lives (default: `cacheDir` in the root config, else `cache/`,
    /// or `.turbo/mono/` in a turbo.json repository).
    #[arg(long, value_name = "DIR", env = "TURBO_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,

    /// The shared cache: `s3://BUCKET/PREFIX` (S3, MinIO, Garage, R2) or `https://HOST`
    /// (a Turborepo remote cache server). Default: `remoteCache.apiUrl` in the root config.
    #[arg(long, value_name = "URL", env = "MONO_REMOTE_CACHE")]
    pub remote_cache: Option<String>,
}

/// How a run prints the plan instead of running: `--dry` and `--graph`.
#[derive(Debug, Clone, Args)]
pub struct PlanOutputArgs {
    /// Print the plan instead of running it (`--dry-run` too).
    #[arg(long, visible_alias = "dry-run", value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "text", value_name = "FORMAT")]
    pub dry: Option<DryFormat>,

    /// Write the task graph instead of running it: to stdout as `dot`, `mermaid` or `json`,
    /// or to a file whose extension (.dot, .gv, .mermaid, .mmd, .json, .html) picks the
    /// format; .html writes an interactive page (docs/graph.md).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "dot", value_name = "FORMAT|FILE")]
    pub graph: Option<String>,
}

/// `mono run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The tasks to run (`build`, `web#build`).
    #[arg(required = true, value_name = "TASK")]
    pub tasks: Vec<String>,

    /// Which packages.
    #[command(flatten)]
    pub packages: PackageArgs,

    /// Run only the named tasks, not the tasks they depend on.
    #[arg(long)]
    pub only: bool,

    /// `--dry`, `--graph`.
    #[command(flatten)]
    pub plan: PlanOutputArgs,

    /// Ignore cache hits: run every task (results are still stored).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new(), env = "TURBO_FORCE", value_name = "BOOL")]
    pub force: Option<bool>,

    /// How many tasks run at once: a number, or a percentage of the cores (`50%`).
    /// Default: the number of cores.
    #[arg(long, value_name = "N|N%")]
    pub concurrency: Option<Concurrency>,

    /// After a failure: `never` stops (the default); `dependencies-successful` keeps
    /// running what does not depend on it; `always` (what `--continue` alone means) runs
    /// everything.
    #[arg(long = "continue", value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "always", value_name = "MODE")]
    pub continue_mode: Option<ContinueMode>,

    /// Run every task at once, ignoring the dependencies between them (Turborepo's
    /// deprecated `--parallel`).
    #[arg(long)]
    pub parallel: bool,

    /// What to print of task logs.
    #[arg(long, value_enum, value_name = "MODE")]
    pub output_logs: Option<OutputLogs>,

    /// `stream` prints lines as they come; `grouped` prints each task's log when it ends;
    /// `auto`: grouped on GitHub Actions, else stream.
    #[arg(
        long,
        value_enum,
        value_name = "ORDER",
        default_value = "auto",
        env = "TURBO_LOG_ORDER"
    )]
    pub log_order: LogOrderChoice,

    /// `task` (or `auto`) starts each output line with `package:task: `; `none` prints bare
    /// lines.
    #[arg(long, value_enum, value_name = "PREFIX", default_value = "auto")]
    pub log_prefix: LogPrefix,

    /// Fail (exit 4) instead of waiting when another mono run holds this checkout.
    #[arg(long)]
    pub no_wait: bool,

    /// Cache access, as in Turborepo: `local:rw,remote:rw` (the default), `local:r`,
    /// `local:rw,remote:r`, `local:` (off). A source left out is off.
    #[arg(long, value_name = "SPEC", env = "TURBO_CACHE")]
    pub cache: Option<CacheAccess>,

    /// Store nothing: `--cache=local:r,remote:r`.
    #[arg(long, conflicts_with = "cache")]
    pub no_cache: bool,

    /// Only the remote cache: `--cache=remote:rw`.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new(), env = "TURBO_REMOTE_ONLY", value_name = "BOOL", conflicts_with = "cache")]
    pub remote_only: Option<bool>,

    /// Read the remote cache, never write it: `--cache=local:rw,remote:r`.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new(), env = "TURBO_REMOTE_CACHE_READ_ONLY", value_name = "BOOL", conflicts_with = "cache")]
    pub remote_cache_read_only: Option<bool>,

    /// More `globalDependencies` globs for this run (repeat).
    #[arg(long, value_name = "GLOB")]
    pub global_deps: Vec<String>,

    /// Accepted, no effect (mono has no framework inference; name framework variables in
    /// `env`).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new(), value_name = "BOOL")]
    pub framework_inference: Option<bool>,

    /// Accepted, no effect (uploads run as the remote store schedules them).
    #[arg(long, value_name = "N")]
    pub cache_workers: Option<usize>,

    /// Write the run summary in Turborepo's shape to `.turbo/runs/<id>.json`
    /// (docs/run-summary.md).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new(), env = "TURBO_RUN_SUMMARY", value_name = "BOOL")]
    pub summarize: Option<bool>,

    /// Write a Chrome trace of the run to FILE (default `profile.json`), for Perfetto or
    /// chrome://tracing (docs/profile.md).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "profile.json", value_name = "FILE")]
    pub profile: Option<String>,

    /// Not available yet: accepted with a warning, as `--profile`.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "profile.json", value_name = "FILE", hide = true)]
    pub anon_profile: Option<String>,

    /// Arguments after `--`: given to the named tasks' commands (not to the tasks they
    /// depend on), and part of their hashes.
    #[arg(last = true, value_name = "ARGS")]
    pub pass_through: Vec<String>,

    /// Where the caches are.
    #[command(flatten)]
    pub location: CacheLocationArgs,

    /// `strict`: tasks see only hashed and pass-through variables and a minimal set;
    /// `loose`: every variable.
    #[arg(long, value_enum, value_name = "MODE")]
    pub env_mode: Option<EnvMode>,

    /// `--shard i/N`, `--shard-wait`.
    #[command(flatten)]
    pub shard: ShardArgs,
}

/// One CI machine's part of a split run (docs/ci.md).
#[derive(Debug, Clone, Args)]
pub struct ShardArgs {
    /// Run shard i of N of the split `mono ci plan --shards N` prints, taking what it needs
    /// from the other shards through the remote cache (docs/ci.md).
    #[arg(long, value_name = "i/N", env = "MONO_SHARD")]
    pub shard: Option<ShardSpec>,

    /// With `--shard`: how long to wait for a task of another shard before failing
    /// (`90s`, `30m`, `1h`).
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_wait)]
    pub shard_wait: std::time::Duration,
}

/// `--shard-wait`: a duration as `90s`, `30m`, `1h 30m`.
fn parse_wait(text: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(text)
        .map_err(|err| format!("{err}: write a duration such as `90s`, `30m` or `1h`"))
}

/// `mono ci`.
#[derive(Debug, Subcommand)]
pub enum CiCommand {
    /// Split the tasks across N CI machines, balanced by the times the cache recorded.
    Plan(CiPlanArgs),
}

/// `mono ci plan`.
#[derive(Debug, Args)]
pub struct CiPlanArgs {
    /// The tasks, as for `mono run`.
    #[arg(required = true, value_name = "TASK")]
    pub tasks: Vec<String>,

    /// Which packages.
    #[command(flatten)]
    pub packages: PackageArgs,

    /// Only the named tasks, not the tasks they depend on.
    #[arg(long)]
    pub only: bool,

    /// How many CI machines.
    #[arg(long, value_name = "N")]
    pub shards: usize,

    /// Print JSON: the split, and the matrix for GitHub Actions and GitLab CI (docs/ci.md).
    #[arg(long)]
    pub json: bool,

    /// Tasks at once on each machine, in the model (default: `concurrency` in the root
    /// config when it is a number, else 1). Give the shards the same value.
    #[arg(long, value_name = "N")]
    pub concurrency: Option<Concurrency>,

    /// More `globalDependencies` globs, as the shards' `mono run` gets them.
    #[arg(long, value_name = "GLOB")]
    pub global_deps: Vec<String>,

    /// The shards' `--env-mode`.
    #[arg(long, value_enum, value_name = "MODE")]
    pub env_mode: Option<EnvMode>,

    /// The shards' arguments after `--` (they are part of the hashes).
    #[arg(last = true, value_name = "ARGS")]
    pub pass_through: Vec<String>,

    /// Where the caches are.
    #[command(flatten)]
    pub location: CacheLocationArgs,
}

/// `mono ls`.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// Print JSON (docs/ls.md).
    #[arg(long)]
    pub json: bool,

    /// Which packages (with `--affected`, each with the reason).
    #[command(flatten)]
    pub packages: PackageArgs,
}

/// `mono hook`.
#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Install the pre-push hook (in `core.hooksPath` when set, else `.git/hooks`).
    Install(HookInstallArgs),
    /// Remove the pre-push hook mono installed.
    Uninstall,
}

/// `mono hook install`.
#[derive(Debug, Args)]
pub struct HookInstallArgs {
    /// Replace a pre-push hook that mono did not install.
    #[arg(long)]
    pub force: bool,
}

/// `mono migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Overwrite an existing turbo.toml.
    #[arg(long)]
    pub force: bool,
}

/// `mono cache ...`.
#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Download from the remote cache every artifact a run of the tasks would need, into
    /// the local cache (the restore step of a CI job).
    Pull(CachePullArgs),
    /// Print where the cache is, how many entries it holds and their size.
    Status(CacheStatusArgs),
    /// Shrink the local cache to its limits, least recently used first, and remove what
    /// killed runs and replaced entries left behind.
    Prune(CachePruneArgs),
}

/// `mono why`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("subject").required(true).args(["task", "hash"])))]
pub struct WhyArgs {
    /// The task, `package#task` (`web#build`).
    #[arg(value_name = "PACKAGE#TASK", conflicts_with = "hash")]
    pub task: Option<String>,

    /// Compare two cache entries instead: `--hash A --hash B` (what changed from A to B).
    #[arg(long, value_name = "HASH", num_args = 1, action = clap::ArgAction::Append)]
    pub hash: Vec<String>,

    /// Print JSON (docs/why.md) instead of text.
    #[arg(long)]
    pub json: bool,

    /// Where the caches are.
    #[command(flatten)]
    pub location: CacheLocationArgs,

    /// The arguments the task would get after `--` (they are part of its hash).
    #[arg(last = true, value_name = "ARGS")]
    pub pass_through: Vec<String>,
}

/// `mono summary`.
#[derive(Debug, Subcommand)]
pub enum SummaryCommand {
    /// Compare two run summaries (`.turbo/runs/*.json`): tasks added and removed, hash
    /// changes and their inputs, cache statuses, durations.
    Diff(SummaryDiffArgs),
}

/// `mono summary diff`.
#[derive(Debug, Args)]
pub struct SummaryDiffArgs {
    /// The earlier summary.
    #[arg(value_name = "A")]
    pub a: PathBuf,

    /// The later summary.
    #[arg(value_name = "B")]
    pub b: PathBuf,

    /// Print JSON (docs/why.md) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `mono cache pull`.
#[derive(Debug, Args)]
pub struct CachePullArgs {
    /// The tasks whose artifacts to fetch (`build`, `web#build`).
    #[arg(required = true, value_name = "TASK")]
    pub tasks: Vec<String>,

    /// Which packages, as for `mono run`.
    #[command(flatten)]
    pub packages: PackageArgs,

    /// Only the named tasks, not the tasks they depend on.
    #[arg(long)]
    pub only: bool,

    /// Where the caches are.
    #[command(flatten)]
    pub location: CacheLocationArgs,

    /// How many downloads run at once.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub parallel: usize,
}

/// `mono cache prune`.
#[derive(Debug, Args)]
pub struct CachePruneArgs {
    /// The most the entries may take (`10GB`, `500MB`, `2GiB`; `0`: no limit). Default:
    /// `cacheMaxSize` in turbo.toml, or `TURBO_CACHE_MAX_SIZE`.
    #[arg(long, value_name = "SIZE")]
    pub max_size: Option<String>,

    /// Remove entries unused for longer than this (`30d`, `2w`, `12h`; `0`: no limit).
    /// Default: `cacheMaxAge` in turbo.toml, or `TURBO_CACHE_MAX_AGE`.
    #[arg(long, value_name = "AGE")]
    pub max_age: Option<String>,

    /// Print what would be removed, and remove nothing.
    #[arg(long)]
    pub dry: bool,

    /// Where the local cache lives, as for `mono run`.
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

/// `mono cache status`.
#[derive(Debug, Args)]
pub struct CacheStatusArgs {
    /// Where the caches are (an S3 remote's entries are counted too).
    #[command(flatten)]
    pub location: CacheLocationArgs,
}

/// `mono image`.
#[cfg(feature = "images")]
#[derive(Debug, Args)]
pub struct ImageArgs {
    /// Select packages, as for `mono run`.
    #[arg(long, short = 'F', value_name = "FILTER")]
    pub filter: Vec<String>,

    /// `oci` (the layout in `dist/image/`) or `docker-archive` (also `dist/image.tar`).
    #[arg(long, value_enum, default_value = "oci")]
    pub format: ImageFormat,

    /// Print the images as JSON (docs/images.md); the run's log goes to stderr.
    #[arg(long)]
    pub json: bool,

    /// `--dry`, `--graph`, as for `mono run image`.
    #[command(flatten)]
    pub plan: PlanOutputArgs,

    /// Ignore cache hits: build every image again.
    #[arg(long)]
    pub force: bool,

    /// Push through the OCI distribution API: `REGISTRY/REPO[:TAG]` (one image), or
    /// `REGISTRY` alone (each image to its own name). Credentials:
    /// MONO_REGISTRY_USERNAME and MONO_REGISTRY_PASSWORD.
    #[arg(long, value_name = "REF")]
    pub push: Option<String>,

    /// Allow plain http for `--push`, only to a registry on a loopback address.
    #[arg(long)]
    pub insecure: bool,

    /// Where the caches are.
    #[command(flatten)]
    pub location: CacheLocationArgs,
}

/// `mono image-task` (hidden).
#[cfg(feature = "images")]
#[derive(Debug, Args)]
pub struct ImageTaskArgs {
    /// The commit, for `org.opencontainers.image.revision`.
    #[arg(long)]
    pub revision: Option<String>,
}

/// `mono prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// The packages to keep (with their internal dependencies).
    #[arg(required = true, value_name = "PACKAGE")]
    pub packages: Vec<String>,

    /// Write `json/` (manifests and lockfiles, for the dependency-install layer) and `full/`,
    /// as `turbo prune --docker`.
    #[arg(long)]
    pub docker: bool,

    /// Where to write the copy (replaced).
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub out_dir: PathBuf,
}
