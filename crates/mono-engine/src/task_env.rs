//! The environment a task's process gets.

use std::collections::BTreeMap;

use mono_config::EnvMode;
use mono_hash::EnvPatterns;
use mono_paths::AbsPath;
use mono_tasks::TaskNode;
use mono_workspace::Language;

/// Variables every task sees in strict mode: what a shell, git and the toolchains need to
/// find themselves. Documented in docs/running.md.
pub const MINIMAL_ENV: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TERM",
    "TMPDIR",
    "TZ",
    "CI",
    "NO_COLOR",
    "FORCE_COLOR",
    "COLORTERM",
    "SSH_AUTH_SOCK",
    "CARGO_HOME",
    "RUSTUP_HOME",
    "RUSTUP_TOOLCHAIN",
    "CARGO_TARGET_DIR",
    "GOPATH",
    "GOROOT",
    "GOCACHE",
    "GOMODCACHE",
    "GOPROXY",
    "GOFLAGS",
    "GOTOOLCHAIN",
    "UV_CACHE_DIR",
    "UV_PYTHON",
    "UV_PYTHON_DOWNLOADS",
    "UV_OFFLINE",
    "UV_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_EXTRA_INDEX_URL",
    "UV_SYSTEM_CERTS",
    "UV_NATIVE_TLS",
    "PIP_INDEX_URL",
    "PYENV_ROOT",
    "PYENV_VERSION",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

/// Builds the child environment of `task`.
pub(crate) fn task_env(
    task: &TaskNode,
    mode: EnvMode,
    process_env: &BTreeMap<String, String>,
    global: &[String],
    root: &AbsPath,
    package_dir: &AbsPath,
    package_name: &str,
) -> Vec<(String, String)> {
    let mut env: BTreeMap<String, String> = match mode {
        EnvMode::Loose => process_env.clone(),
        EnvMode::Strict => {
            let mut patterns: Vec<String> = global.to_vec();
            patterns.extend(task.definition.env.iter().cloned());
            patterns.extend(task.definition.pass_through_env.iter().flatten().cloned());
            let listed = EnvPatterns::new(&patterns).ok();
            process_env
                .iter()
                .filter(|(k, _)| {
                    MINIMAL_ENV.contains(&k.as_str())
                        || k.starts_with("MONO_")
                        || k.starts_with("TURBO_")
                        || listed.as_ref().is_some_and(|l| l.matches(k))
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        }
    };
    if task.language == Language::Node || task.id.package().is_root() {
        // As `npm run` does: the package's and the root's node_modules/.bin first on PATH,
        // and the npm_* variables scripts read.
        let mut path = vec![
            package_dir.join("node_modules/.bin").to_string(),
            root.join("node_modules/.bin").to_string(),
        ];
        path.dedup();
        if let Some(existing) = env.get("PATH") {
            path.push(existing.clone());
        }
        env.insert("PATH".to_owned(), path.join(":"));
        env.insert("npm_lifecycle_event".to_owned(), task.id.task().to_owned());
        env.insert("npm_package_name".to_owned(), package_name.to_owned());
        env.insert(
            "npm_package_json".to_owned(),
            package_dir.join("package.json").to_string(),
        );
        env.insert("INIT_CWD".to_owned(), package_dir.to_string());
    }
    env.into_iter().collect()
}
