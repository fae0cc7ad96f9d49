//! What a run can fail with. Library errors pass through with their diagnostics; the
//! engine's own failures are variants that carry their context, never a bare message.

use miette::Diagnostic;
use mono_paths::AbsPath;

/// What kind of failure an error is: the binary maps each kind to one exit code
/// (docs/exit-codes.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad input: a command-line value, a config, a package or task graph, a filter.
    Input,
    /// The world failed: a file that cannot be read or written, git, a registry, a
    /// lockfile tool.
    Environment,
    /// Another mono run holds the checkout and this one was told not to wait.
    Busy,
}

/// Everything the engine can fail with.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum EngineError {
    /// A config file is invalid.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Config(#[from] mono_config::ConfigErrors),

    /// Packages could not be found or form an invalid graph.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Workspace(#[from] mono_workspace::WorkspaceError),

    /// The task graph is invalid.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Tasks(#[from] mono_tasks::TaskGraphError),

    /// A filter is invalid.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Filter(#[from] mono_tasks::FilterError),

    /// Working out the changed packages failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Affected(#[from] mono_tasks::AffectedError),

    /// Hashing the tasks' inputs failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Hashing(#[from] mono_tasks::HashingError),

    /// An image could not be built, read or pushed.
    #[cfg(feature = "images")]
    #[error(transparent)]
    #[diagnostic(code(mono::image))]
    Image(#[from] mono_image::ImageError),

    /// Git failed.
    #[error(transparent)]
    #[diagnostic(code(mono::scm))]
    Scm(#[from] mono_scm::ScmError),

    /// Reading or writing a file failed.
    #[error("failed to {action} {path}")]
    #[diagnostic(code(mono::io))]
    Io {
        /// `read`, `write`, ….
        action: &'static str,
        /// The file.
        path: AbsPath,
        /// The cause.
        #[source]
        source: std::io::Error,
    },

    /// The current directory cannot be used.
    #[error("cannot use the current directory")]
    #[diagnostic(code(mono::cwd))]
    Cwd(#[source] std::io::Error),

    /// `concurrency` in turbo.toml is not a number or a share of the cores.
    #[error("`concurrency = \"{value}\"` in the root config: {source}")]
    #[diagnostic(
        code(mono::usage::concurrency),
        help("use a number (`4`) or a share of the cores (`50%`)")
    )]
    Concurrency {
        /// The value as written.
        value: String,
        /// Why it is not usable.
        source: mono_run::ConcurrencyError,
    },

    /// Fewer slots than persistent tasks.
    #[error("{persistent} persistent tasks cannot run with a concurrency of {concurrency}: each needs a slot of its own{}", if *others { ", and the other tasks one more" } else { "" })]
    #[diagnostic(
        code(mono::usage::concurrency),
        help("pass --concurrency={needed} or more")
    )]
    ConcurrencyTooLow {
        /// The persistent tasks of the run.
        persistent: usize,
        /// Whether other tasks run beside them.
        others: bool,
        /// The concurrency asked for.
        concurrency: usize,
        /// The least that works.
        needed: usize,
    },

    /// `--graph=VALUE` is neither a format nor a file with a known extension.
    #[error("unknown `--graph` target `{value}`")]
    #[diagnostic(
        code(mono::usage::graph),
        help("use --graph=dot|mermaid|json to print, or a file ending in .dot, .gv, .mermaid, .mmd, .json, or .html for a web page")
    )]
    GraphTarget {
        /// The value as written.
        value: String,
    },

    /// The remote cache is configured wrongly.
    #[error("{source}")]
    #[diagnostic(code(mono::remote_cache), help("{help}"))]
    RemoteConfig {
        /// What is wrong.
        source: mono_cache::RemoteConfigError,
        /// Where to fix it.
        help: &'static str,
    },

    /// `remoteCache.signature` is on without a key.
    #[error("`remoteCache.signature` is on, but no signature key is set")]
    #[diagnostic(
        code(mono::remote_cache::signature),
        help("set MONO_REMOTE_CACHE_SIGNATURE_KEY to the team's shared secret")
    )]
    MissingSignatureKey,

    /// A command needs a remote cache and none is configured.
    #[error("no remote cache is configured")]
    #[diagnostic(
        code(mono::remote_cache::none),
        help("pass --remote-cache URL, set MONO_REMOTE_CACHE, or set remoteCache.apiUrl in turbo.toml")
    )]
    NoRemoteCache,

    /// The local cache cannot be read.
    #[error("cannot read the local cache {dir}")]
    #[diagnostic(code(mono::cache))]
    LocalCache {
        /// The cache folder.
        dir: AbsPath,
        /// The cause.
        source: mono_cache::StoreError,
    },

    /// The scheduler refused the jobs.
    #[error("cannot run the tasks")]
    #[diagnostic(code(mono::run))]
    Run(#[from] mono_run::RunError),

    /// A package named on the command line does not exist.
    #[error("there is no package `{name}`")]
    #[diagnostic(code(mono::unknown_package), help("{}", match suggestion { Some(close) => format!("did you mean `{close}`?"), None => "`mono ls` lists the packages".to_owned() }))]
    UnknownPackage {
        /// The name as written.
        name: String,
        /// The closest existing name.
        suggestion: Option<String>,
    },

    /// `mono why` names a task the run does not have.
    #[error("there is no task `{name}` in this run")]
    #[diagnostic(code(mono::why::unknown_task), help("{}", match suggestion { Some(close) => format!("did you mean `{close}`?"), None => "give it as package#task; `mono <task> --dry` lists the tasks".to_owned() }))]
    UnknownTask {
        /// The task as written.
        name: String,
        /// The closest task of the run.
        suggestion: Option<String>,
    },

    /// `mono why --hash` names a hash that is not 64 hex digits.
    #[error("`{text}` is not a task hash")]
    #[diagnostic(
        code(mono::why::bad_hash),
        help("give the 64 hex digits of a hash, as `mono why <task> --json` or a run summary shows them")
    )]
    BadHash {
        /// The text as given.
        text: String,
        /// Why.
        source: mono_cache::DigestError,
    },

    /// `mono why --hash` names a hash no cache has.
    #[error("no cache entry has hash {hash} (looked in {looked})")]
    #[diagnostic(
        code(mono::why::unknown_hash),
        help("the entry may have been evicted, or stored in another cache folder or remote (--cache-dir, --remote-cache)")
    )]
    UnknownHash {
        /// The hash.
        hash: String,
        /// Where mono looked.
        looked: String,
    },

    /// `mono why --hash` names an entry stored without an input manifest.
    #[error("the cache entry {hash} has no input manifest")]
    #[diagnostic(
        code(mono::why::no_manifest),
        help("it was stored by a mono older than input manifests; run the task again (with --force) to store one")
    )]
    NoManifest {
        /// The hash.
        hash: String,
    },

    /// A run summary cannot be read.
    #[error("{path} is not a run summary: {problem}")]
    #[diagnostic(
        code(mono::summary::bad),
        help("give two files written by `--summarize` (.turbo/runs/*.json)")
    )]
    BadSummary {
        /// The file.
        path: String,
        /// What is wrong.
        problem: String,
    },

    /// `[image]` is wrong in a package's config.
    #[error("{package}: {problem}")]
    #[diagnostic(code(mono::image::config), help("{help}"))]
    ImageConfig {
        /// The package.
        package: String,
        /// What is wrong.
        problem: String,
        /// How to fix it.
        help: &'static str,
    },

    /// A task builds an image, and this mono was built without the `images` feature.
    #[error("{task} builds an image, and this mono was built without image support (cargo feature `images`)")]
    #[diagnostic(
        code(mono::image::not_built_in),
        help("use a release build of mono, or leave the `image` task out of this run")
    )]
    ImagesNotBuiltIn {
        /// The image task.
        task: String,
    },

    /// `--push=REF` names one repository for several images, or is not a reference.
    #[error("`--push={reference}` {problem}")]
    #[diagnostic(code(mono::image::push), help("{help}"))]
    PushTarget {
        /// The value as written.
        reference: String,
        /// What is wrong.
        problem: String,
        /// How to fix it.
        help: &'static str,
    },

    /// Another run holds the checkout (`--no-wait`), or its lock cannot be taken.
    #[error(transparent)]
    #[diagnostic(
        code(mono::checkout_lock),
        help("wait for it to finish, or run without --no-wait to wait")
    )]
    CheckoutLock(#[from] mono_cache::LockError),

    /// `TURBO_CACHE_MAX_SIZE` or `TURBO_CACHE_MAX_AGE` cannot be read.
    #[error("{variable}: {source}")]
    #[diagnostic(
        code(mono::cache::limit),
        help("set it to a value such as `10GB` or `30d`, or `0` for no limit")
    )]
    CacheLimit {
        /// The variable.
        variable: &'static str,
        /// Why.
        source: mono_config::LimitError,
    },

    /// `--max-size` or `--max-age` of `mono cache prune` cannot be read.
    #[error("`{flag} {text}`: {source}")]
    #[diagnostic(
        code(mono::cache::limit),
        help("for example `--max-size 10GB` or `--max-age 30d`; `0` for no limit")
    )]
    CacheLimitFlag {
        /// The flag.
        flag: &'static str,
        /// Its value.
        text: String,
        /// Why.
        source: mono_config::LimitError,
    },

    /// A lockfile cannot be pruned.
    #[error("cannot prune the lockfiles")]
    #[diagnostic(
        code(mono::prune::lockfile),
        help("fix the lockfile with its package manager, then run mono prune again")
    )]
    PruneLockfile(#[source] mono_lockfile::LockfileError),

    /// A pruned lockfile fails its own tool's check.
    #[error("the pruned {lockfile} is invalid")]
    #[diagnostic(
        code(mono::prune::check),
        help("this is a bug in mono prune: please report it with the lockfile")
    )]
    PrunedLockfileInvalid {
        /// The lockfile, relative to the root.
        lockfile: String,
        /// The tool's complaint.
        source: mono_lockfile::LockfileError,
    },

    /// The pruned copy could not be written.
    #[error("cannot write the pruned copy")]
    #[diagnostic(code(mono::prune::write), help("pass another `--out-dir`"))]
    PruneWrite(#[source] mono_image::PruneError),

    /// `--shard` without a remote cache: the shards could not share their results.
    #[error(
        "`--shard {shard}` needs a remote cache: the shards take each other's results from it"
    )]
    #[diagnostic(
        code(mono::ci::no_remote),
        help("set `--remote-cache s3://BUCKET/PREFIX` (or `MONO_REMOTE_CACHE`, `remoteCache.apiUrl` in the root config); docs/ci.md shows a CI setup")
    )]
    ShardNeedsRemote {
        /// The `--shard` value.
        shard: String,
    },

    /// `--shard` with a `--cache` spec that does not read and write the remote cache.
    #[error("`--shard {shard}` with `--cache={cache}`: a shard must read the remote cache (what other shards built) and write it (what they wait for)")]
    #[diagnostic(
        code(mono::ci::cache_access),
        help("leave `--cache` out, or give `remote:rw`")
    )]
    ShardCacheAccess {
        /// The `--shard` value.
        shard: String,
        /// The `--cache` value.
        cache: String,
    },

    /// Persistent tasks never end: a CI shard cannot run them.
    #[error("persistent tasks cannot be split across CI machines: {}", tasks.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))]
    #[diagnostic(
        code(mono::ci::persistent),
        help("leave them out of the sharded run (run the tasks they are for, e.g. `build`, not `dev`)")
    )]
    PersistentInShards {
        /// The persistent tasks.
        tasks: Vec<mono_task_id::TaskId>,
    },

    /// `--shards 0`.
    #[error("`--shards {shards}`: at least one shard")]
    #[diagnostic(
        code(mono::ci::shards),
        help("give the number of CI machines, e.g. `--shards 4`")
    )]
    ShardCount {
        /// The value given.
        shards: usize,
    },
}

impl EngineError {
    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            EngineError::Io { .. }
            | EngineError::Cwd(_)
            | EngineError::Scm(_)
            | EngineError::LocalCache { .. }
            | EngineError::PruneWrite(_)
            | EngineError::PrunedLockfileInvalid { .. }
            | EngineError::Affected(_) => ErrorKind::Environment,
            EngineError::CheckoutLock(mono_cache::LockError::Busy { .. }) => ErrorKind::Busy,
            EngineError::CheckoutLock(_) => ErrorKind::Environment,
            #[cfg(feature = "images")]
            EngineError::Image(
                mono_image::ImageError::Io { .. }
                | mono_image::ImageError::Registry { .. }
                | mono_image::ImageError::BadLayout { .. },
            ) => ErrorKind::Environment,
            _ => ErrorKind::Input,
        }
    }

    /// An I/O error on `path`.
    pub(crate) fn io(action: &'static str, path: &AbsPath, source: std::io::Error) -> Self {
        EngineError::Io {
            action,
            path: path.clone(),
            source,
        }
    }
}
