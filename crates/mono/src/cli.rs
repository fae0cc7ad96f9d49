//! The command line as clap parses it: raw values, checked and resolved later.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    Image(ImageArgs),
    /// Copy the repository with only some packages, their dependencies and pruned lockfiles.
    Prune(PruneArgs),
    /// Build one package's image: what the `image` task runs (docs/images.md).
    #[command(name = "image-task", hide = true)]
    ImageTask(ImageTaskArgs),
    /// Install or remove the git pre-push hook that runs `mono test --affected`.
    #[command(subcommand)]
    Hook(HookCommand),
    /// Inspect the cache, or fill it from the remote cache.
    #[command(subcommand)]
    Cache(CacheCommand),
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

/// `mono run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The tasks to run (`build`, `web#build`).
    #[arg(required = true, value_name = "TASK")]
    pub tasks: Vec<String>,

    /// Select packages (Turborepo syntax: `web`, `@scope/*`, `./apps/*`, `web...`,
    /// `...web`, `!web`, git ranges `[main]`, `...[HEAD^1]`, `[A...B]`). Repeat to combine.
    #[arg(long, short = 'F', value_name = "FILTER")]
    pub filter: Vec<String>,

    /// Only the packages changed since the default branch (or `MONO_SCM_BASE`), work tree
    /// included, and the packages that depend on them (docs/affected.md).
    #[arg(long)]
    pub affected: bool,

    /// Run only the named tasks, not the tasks they depend on.
    #[arg(long)]
    pub only: bool,

    /// Print the plan instead of running it.
    #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "text", value_name = "FORMAT")]
    pub dry: Option<DryFormat>,

    /// Write the task graph instead of running it: to stdout as `dot`, `mermaid` or `json`,
    /// or to a file whose extension (.dot, .gv, .mermaid, .mmd, .json) picks the format.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "dot", value_name = "FORMAT|FILE")]
    pub graph: Option<String>,

    /// Ignore cache hits: run every task (results are still stored).
    #[arg(long)]
    pub force: bool,

    /// How many tasks run at once: a number, or a percentage of the cores (`50%`).
    /// Default: the number of cores.
    #[arg(long, value_name = "N|N%")]
    pub concurrency: Option<String>,

    /// Keep going after a failure: run everything that does not depend on it.
    #[arg(long = "continue")]
    pub continue_on_error: bool,

    /// What to print of task logs: full, hash-only, new-only, errors-only, none.
    #[arg(long, value_name = "MODE")]
    pub output_logs: Option<String>,

    /// `stream` prints lines as they come; `grouped` prints each task's log when it ends;
    /// `auto`: grouped on GitHub Actions, else stream.
    #[arg(long, value_name = "ORDER", default_value = "auto")]
    pub log_order: String,

    /// Where the local cache lives (default: `cacheDir` in turbo.toml, else `cache/`).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Cache access, as in Turborepo: `local:rw,remote:rw` (the default), `local:r`,
    /// `local:rw,remote:r`, `local:` (off). A source left out is off.
    #[arg(long, value_name = "SPEC")]
    pub cache: Option<String>,

    /// The shared cache: `s3://BUCKET/PREFIX` (S3, MinIO, Garage, R2) or `https://HOST`
    /// (a Turborepo remote cache server). Default: `remoteCache.apiUrl` in turbo.toml.
    #[arg(long, value_name = "URL", env = "MONO_REMOTE_CACHE")]
    pub remote_cache: Option<String>,

    /// `strict`: tasks see only hashed and pass-through variables and a minimal set;
    /// `loose`: every variable.
    #[arg(long, value_name = "MODE")]
    pub env_mode: Option<String>,
}

/// `mono ls`.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// Print JSON (docs/ls.md).
    #[arg(long)]
    pub json: bool,

    /// Select packages, as for `mono run`.
    #[arg(long, short = 'F', value_name = "FILTER")]
    pub filter: Vec<String>,

    /// Only the affected packages, each with the reason (docs/affected.md).
    #[arg(long)]
    pub affected: bool,
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
}

/// `mono cache pull`.
#[derive(Debug, Args)]
pub struct CachePullArgs {
    /// The tasks whose artifacts to fetch (`build`, `web#build`).
    #[arg(required = true, value_name = "TASK")]
    pub tasks: Vec<String>,

    /// Select packages, as for `mono run`.
    #[arg(long, short = 'F', value_name = "FILTER")]
    pub filter: Vec<String>,

    /// Only the affected packages and their dependents, as for `mono run --affected`.
    #[arg(long)]
    pub affected: bool,

    /// Only the named tasks, not the tasks they depend on.
    #[arg(long)]
    pub only: bool,

    /// Where the local cache lives, as for `mono run`.
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// The remote cache, as for `mono run`.
    #[arg(long, value_name = "URL", env = "MONO_REMOTE_CACHE")]
    pub remote_cache: Option<String>,

    /// How many downloads run at once.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub parallel: usize,
}

/// `mono cache status`.
#[derive(Debug, Args)]
pub struct CacheStatusArgs {
    /// Where the local cache lives, as for `mono run`.
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// The remote cache, as for `mono run`; an S3 remote's entries are counted too.
    #[arg(long, value_name = "URL", env = "MONO_REMOTE_CACHE")]
    pub remote_cache: Option<String>,
}

/// The image formats `mono image` writes besides the OCI layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImageFormat {
    /// The OCI image layout in the package's `dist/image/` (always written).
    Oci,
    /// Also a `docker load` archive, `dist/image.tar` in the package.
    DockerArchive,
}

/// `mono image`.
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

    /// Print the plan of the image tasks instead of running them, as `mono run image --dry`.
    #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "text", value_name = "FORMAT")]
    pub dry: Option<DryFormat>,

    /// Write the task graph instead of running it, as `mono run image --graph`.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "dot", value_name = "FORMAT|FILE")]
    pub graph: Option<String>,

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

    /// Where the local cache lives, as for `mono run`.
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

/// `mono image-task` (hidden).
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
