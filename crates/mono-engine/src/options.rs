//! What a run is asked to do, as typed values: the binary parses the command line into
//! these, the engine resolves what depends on the repository (the config's defaults) once.

use std::path::PathBuf;
use std::str::FromStr;

use mono_config::EnvMode;
use mono_run::{LogOrder, OutputLogs};

/// How the caches may be used in this run (`--cache`, Turborepo's syntax).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheAccess {
    /// Look up hits in the local cache.
    pub read: bool,
    /// Store results in the local cache.
    pub write: bool,
    /// Look up hits in the remote cache.
    pub remote_read: bool,
    /// Store results in the remote cache.
    pub remote_write: bool,
}

impl CacheAccess {
    /// Both caches read and written: the default.
    pub const ALL: CacheAccess = CacheAccess {
        read: true,
        write: true,
        remote_read: true,
        remote_write: true,
    };

    /// Whether the remote cache is used at all.
    pub fn uses_remote(self) -> bool {
        self.remote_read || self.remote_write
    }
}

impl Default for CacheAccess {
    fn default() -> Self {
        CacheAccess::ALL
    }
}

/// A `--cache` value that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CacheSpecError {
    /// A mode other than `rw`, `r`, `w` or empty.
    #[error("unknown mode `{mode}` (the modes are `rw`, `r`, `w` or empty)")]
    Mode {
        /// The mode as written.
        mode: String,
    },
    /// A source other than `local` and `remote`.
    #[error("unknown cache `{name}` (the caches are `local` and `remote`: `local:rw,remote:r`)")]
    Source {
        /// The source as written.
        name: String,
    },
}

/// `local:rw,remote:r` as in Turborepo: each listed source gets its mode (`rw`, `r`, `w`,
/// or empty for off) and an unlisted source is off.
impl FromStr for CacheAccess {
    type Err = CacheSpecError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let mut access = CacheAccess {
            read: false,
            write: false,
            remote_read: false,
            remote_write: false,
        };
        for part in spec.split(',') {
            let (kind, mode) = part.split_once(':').unwrap_or((part, "rw"));
            let (read, write) = match mode {
                "rw" | "wr" => (true, true),
                "r" => (true, false),
                "w" => (false, true),
                "" => (false, false),
                _ => {
                    return Err(CacheSpecError::Mode {
                        mode: mode.to_owned(),
                    })
                }
            };
            match kind {
                "local" => (access.read, access.write) = (read, write),
                "remote" => (access.remote_read, access.remote_write) = (read, write),
                _ => {
                    return Err(CacheSpecError::Source {
                        name: kind.to_owned(),
                    })
                }
            }
        }
        Ok(access)
    }
}

/// `--concurrency`: a number of tasks, or a share of the cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Concurrency(pub usize);

impl FromStr for Concurrency {
    type Err = mono_run::ConcurrencyError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        mono_run::parse_concurrency(value, mono_run::default_concurrency()).map(Concurrency)
    }
}

/// `--log-order`: `auto` picks grouped on GitHub Actions (which folds groups), else stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum LogOrderChoice {
    /// Grouped on GitHub Actions, else stream.
    #[default]
    Auto,
    /// Each line as soon as the task prints it.
    Stream,
    /// Each task's whole output when it ends.
    Grouped,
}

impl LogOrderChoice {
    /// The order for this process's environment.
    pub fn resolve(self) -> LogOrder {
        match self {
            LogOrderChoice::Stream => LogOrder::Stream,
            LogOrderChoice::Grouped => LogOrder::Grouped,
            LogOrderChoice::Auto if std::env::var_os("GITHUB_ACTIONS").is_some() => {
                LogOrder::Grouped
            }
            LogOrderChoice::Auto => LogOrder::Stream,
        }
    }
}

/// Which tasks of which packages a command is about.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    /// The tasks (`build`, `web#build`).
    pub tasks: Vec<String>,
    /// `--filter` values, parsed against the start folder by the engine.
    pub filters: Vec<String>,
    /// `--affected`.
    pub affected: bool,
    /// `--only`: the named tasks without the tasks they depend on.
    pub only: bool,
    /// What follows `--`: given to the named tasks' commands, and part of their hashes.
    pub pass_through: Vec<String>,
}

/// `--continue`: what happens after a task fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum ContinueMode {
    /// Stop: no new task starts (the default).
    #[default]
    Never,
    /// Keep running the tasks whose dependencies all succeeded.
    DependenciesSuccessful,
    /// Keep running every task, those whose dependencies failed included.
    Always,
}

/// `--log-prefix`: what starts each line of a task's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum LogPrefix {
    /// `task` (what Turborepo's `auto` does outside its terminal UI).
    #[default]
    Auto,
    /// No prefix.
    None,
    /// `package:task: `.
    Task,
}

/// How to reach the remote cache, besides its URL.
#[derive(Debug, Clone, Default)]
pub struct RemoteAccess {
    /// `--token` / `TURBO_TOKEN`: the bearer token.
    pub token: Option<String>,
    /// `--team` / `TURBO_TEAM`: the team slug.
    pub team: Option<String>,
    /// `--remote-cache-timeout` / `TURBO_REMOTE_CACHE_TIMEOUT`, in seconds.
    pub timeout: Option<u64>,
}

/// How a run runs.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// What to run.
    pub selector: Selector,
    /// `--force`: ignore cache hits.
    pub force: bool,
    /// `--concurrency`; `None`: `concurrency` in the root config, else the cores.
    pub concurrency: Option<Concurrency>,
    /// `--continue`.
    pub continue_mode: ContinueMode,
    /// `--parallel`: every task starts at once, dependencies ignored (they still count in
    /// the hashes).
    pub parallel: bool,
    /// `--log-prefix`.
    pub log_prefix: LogPrefix,
    /// `--global-deps`: more `globalDependencies` globs for this run.
    pub global_deps: Vec<String>,
    /// `--output-logs`, which overrides every task's `outputLogs`.
    pub output_logs: Option<OutputLogs>,
    /// `--log-order`.
    pub log_order: LogOrderChoice,
    /// `--cache-dir`, relative to where mono started.
    pub cache_dir: Option<PathBuf>,
    /// `--no-wait`: fail instead of waiting when another run holds the checkout.
    pub no_wait: bool,
    /// `--cache`.
    pub cache: CacheAccess,
    /// `--remote-cache` / `MONO_REMOTE_CACHE` (or Turborepo's `--api` / `TURBO_API`).
    pub remote_cache: Option<String>,
    /// Token, team and timeout for the remote cache.
    pub remote_access: RemoteAccess,
    /// `--env-mode`; `None`: `envMode` in the root config, else strict.
    pub env_mode: Option<EnvMode>,
    /// `--color` / `--no-color`; `None`: colors on a terminal, unless `NO_COLOR` is set.
    pub color: Option<bool>,
    /// `--shard i/N`: run one CI shard's part of the plan (docs/ci.md).
    pub shard: Option<crate::shards::ShardOptions>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(spec: &str) -> (bool, bool, bool, bool) {
        let a: CacheAccess = spec.parse().unwrap();
        (a.read, a.write, a.remote_read, a.remote_write)
    }

    #[test]
    fn cache_spec_sets_each_source_and_leaves_the_others_off() {
        assert_eq!(access("local:rw,remote:r"), (true, true, true, false));
        assert_eq!(access("local:rw"), (true, true, false, false));
        assert_eq!(access("remote:rw"), (false, false, true, true));
        assert_eq!(access("local:r,remote:w"), (true, false, false, true));
        assert_eq!(access("local:,remote:"), (false, false, false, false));
        assert!(matches!(
            "remote:x".parse::<CacheAccess>(),
            Err(CacheSpecError::Mode { .. })
        ));
        assert!(matches!(
            "s3:rw".parse::<CacheAccess>(),
            Err(CacheSpecError::Source { .. })
        ));
    }
}
