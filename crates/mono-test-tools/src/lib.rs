//! Where mono's tests find the external tools they run: Go, the OCI tools, the real turbo,
//! pnpm and yarn, uv, Garage, tmux, ...
//!
//! `scripts/bootstrap-tools` (which `make test` runs first) installs them into one folder,
//! `$MONO_TOOLS` (default `~/.cache/mono-tools`), and writes `tools.env` there: one
//! `MONO_TEST_<TOOL>=<path>` a line. [`path`] reads that file; a `MONO_TEST_<TOOL>`
//! environment variable overrides its line. A tool found nowhere fails the test with a message
//! that names the fix, `make test`: tests never skip for want of a tool.
//!
//! ```no_run
//! use mono_test_tools::{path, Tool};
//!
//! let pnpm = path(Tool::Pnpm); // panics with "run `make test` ..." when it is not installed
//! assert!(pnpm.is_file());
//! ```
//!
//! It is its own crate because the test suites of several crates (`mono`, `mono-lockfile`)
//! read the same file; it is only ever a dev-dependency.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// A tool that some test runs. `scripts/bootstrap-tools` installs each one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tool {
    /// `node` (Debian `nodejs` when missing).
    Node,
    /// `npm`.
    Npm,
    /// `go` (Debian `golang-go`): the fixtures' Go modules.
    Go,
    /// `skopeo` (Debian): reads and converts the OCI layouts `mono image` writes.
    Skopeo,
    /// `umoci` (Debian): unpacks those layouts.
    Umoci,
    /// `docker-registry` (Debian): a local registry for `mono image --push`.
    Registry,
    /// `chromium` (Debian): renders pages in a headless browser.
    Chromium,
    /// `tmux` (Debian): a terminal for the terminal UI's tests (`--ui=tui`).
    Tmux,
    /// The real Turborepo, `turbo` 2.11 from npm, for the parity tests.
    Turbo,
    /// pnpm 9 from npm.
    Pnpm,
    /// yarn classic (1) from npm.
    Yarn,
    /// yarn berry 4: `yarn.js` of the npm package `@yarnpkg/cli-dist@4`, run with node.
    YarnBerry,
    /// yarn berry 3: `yarn.js` of `@yarnpkg/cli-dist@3`, run with node.
    YarnBerry3,
    /// uv from PyPI.
    Uv,
    /// pytest from PyPI.
    Pytest,
    /// ruff from PyPI.
    Ruff,
    /// Garage, a real S3 server for the remote cache tests (`cargo install garage`).
    Garage,
}

impl Tool {
    /// Every tool, in the order of this enum.
    pub const ALL: [Tool; 17] = [
        Tool::Node,
        Tool::Npm,
        Tool::Go,
        Tool::Skopeo,
        Tool::Umoci,
        Tool::Registry,
        Tool::Chromium,
        Tool::Tmux,
        Tool::Turbo,
        Tool::Pnpm,
        Tool::Yarn,
        Tool::YarnBerry,
        Tool::YarnBerry3,
        Tool::Uv,
        Tool::Pytest,
        Tool::Ruff,
        Tool::Garage,
    ];

    /// The environment variable (and `tools.env` key) that names the tool's binary.
    pub fn var(self) -> &'static str {
        match self {
            Tool::Node => "MONO_TEST_NODE",
            Tool::Npm => "MONO_TEST_NPM",
            Tool::Go => "MONO_TEST_GO",
            Tool::Skopeo => "MONO_TEST_SKOPEO",
            Tool::Umoci => "MONO_TEST_UMOCI",
            Tool::Registry => "MONO_TEST_REGISTRY",
            Tool::Chromium => "MONO_TEST_CHROMIUM",
            Tool::Tmux => "MONO_TEST_TMUX",
            Tool::Turbo => "MONO_TEST_TURBO",
            Tool::Pnpm => "MONO_TEST_PNPM",
            Tool::Yarn => "MONO_TEST_YARN",
            Tool::YarnBerry => "MONO_TEST_YARN_BERRY",
            Tool::YarnBerry3 => "MONO_TEST_YARN_BERRY3",
            Tool::Uv => "MONO_TEST_UV",
            Tool::Pytest => "MONO_TEST_PYTEST",
            Tool::Ruff => "MONO_TEST_RUFF",
            Tool::Garage => "MONO_TEST_GARAGE",
        }
    }

    /// The tool's name, as messages print it.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Node => "node",
            Tool::Npm => "npm",
            Tool::Go => "go",
            Tool::Skopeo => "skopeo",
            Tool::Umoci => "umoci",
            Tool::Registry => "docker-registry",
            Tool::Chromium => "chromium",
            Tool::Tmux => "tmux",
            Tool::Turbo => "turbo",
            Tool::Pnpm => "pnpm",
            Tool::Yarn => "yarn (classic)",
            Tool::YarnBerry => "yarn berry 4",
            Tool::YarnBerry3 => "yarn berry 3",
            Tool::Uv => "uv",
            Tool::Pytest => "pytest",
            Tool::Ruff => "ruff",
            Tool::Garage => "garage",
        }
    }
}

/// Why a tool was not found. Its message names the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolError {
    /// The bootstrap never ran: there is no `tools.env`.
    #[error(
        "{name} is needed by this test, and {file} does not exist: run `make test` (it runs \
         scripts/bootstrap-tools first, which installs every tool the tests need), or set {var} \
         to its binary",
        name = tool.name(), var = tool.var(), file = file.display()
    )]
    NoToolsFile {
        /// The tool.
        tool: Tool,
        /// The `tools.env` that is missing.
        file: PathBuf,
    },
    /// `tools.env` has no line for the tool (written by an older bootstrap).
    #[error(
        "{name} is needed by this test and {file} has no {var} line: run `make test` (or \
         scripts/bootstrap-tools) to install it, or set {var} to its binary",
        name = tool.name(), var = tool.var(), file = file.display()
    )]
    NotListed {
        /// The tool.
        tool: Tool,
        /// The `tools.env` read.
        file: PathBuf,
    },
    /// The path given (by the variable or by `tools.env`) is not a file.
    #[error(
        "{name} is needed by this test, but {path} (from {source_name}) does not exist: run \
         `make test` (or scripts/bootstrap-tools) to install it again, or set {var} to its binary",
        name = tool.name(), var = tool.var(), path = path.display()
    )]
    Missing {
        /// The tool.
        tool: Tool,
        /// The path that does not exist.
        path: PathBuf,
        /// Where the path came from: the variable's name or the `tools.env` path.
        source_name: String,
    },
    /// `tools.env` could not be read.
    #[error("failed to read {}: {message}", file.display())]
    Unreadable {
        /// The `tools.env`.
        file: PathBuf,
        /// The I/O error.
        message: String,
    },
}

/// The tools folder: `$MONO_TOOLS`, else `~/.cache/mono-tools`.
pub fn tools_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MONO_TOOLS").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").expect("HOME is set");
    Path::new(&home).join(".cache/mono-tools")
}

/// The file the bootstrap writes: `<tools folder>/tools.env`.
pub fn tools_file() -> PathBuf {
    tools_dir().join("tools.env")
}

/// Parses `tools.env`: `KEY=VALUE` lines, the value unquoted to the end of the line; blank
/// lines and `#` comments are skipped.
pub fn parse_tools_file(text: &str) -> BTreeMap<String, PathBuf> {
    text.lines()
        .map(str::trim_start)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.trim().to_owned(), PathBuf::from(value)))
        .collect()
}

/// Finds `tool`: `override_path` (the environment variable) when given, else its line in
/// `listed` (the parsed `tools.env` at `file`, `None` when there is none).
pub fn locate(
    tool: Tool,
    override_path: Option<OsString>,
    file: &Path,
    listed: Option<&BTreeMap<String, PathBuf>>,
) -> Result<PathBuf, ToolError> {
    let (path, source_name) = match override_path.filter(|p| !p.is_empty()) {
        Some(path) => (PathBuf::from(path), tool.var().to_owned()),
        None => {
            let Some(listed) = listed else {
                return Err(ToolError::NoToolsFile {
                    tool,
                    file: file.to_owned(),
                });
            };
            let Some(path) = listed.get(tool.var()) else {
                return Err(ToolError::NotListed {
                    tool,
                    file: file.to_owned(),
                });
            };
            (path.clone(), file.display().to_string())
        }
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(ToolError::Missing {
            tool,
            path,
            source_name,
        })
    }
}

/// `tools.env`, read once per test binary: `Ok(None)` when it does not exist.
fn listed() -> &'static Result<Option<BTreeMap<String, PathBuf>>, ToolError> {
    static LISTED: OnceLock<Result<Option<BTreeMap<String, PathBuf>>, ToolError>> = OnceLock::new();
    LISTED.get_or_init(|| {
        let file = tools_file();
        match std::fs::read_to_string(&file) {
            Ok(text) => Ok(Some(parse_tools_file(&text))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ToolError::Unreadable {
                file,
                message: e.to_string(),
            }),
        }
    })
}

/// Finds `tool` (see [`locate`]), or an error that names the fix.
pub fn try_path(tool: Tool) -> Result<PathBuf, ToolError> {
    let listed = listed().as_ref().map_err(Clone::clone)?;
    locate(
        tool,
        std::env::var_os(tool.var()),
        &tools_file(),
        listed.as_ref(),
    )
}

/// The tool's binary. Panics, naming `make test` as the fix, when it is not installed.
pub fn path(tool: Tool) -> PathBuf {
    try_path(tool).unwrap_or_else(|e| panic!("{e}"))
}

/// A command that runs the tool: its binary, or `node <file>` for a `.js` file (yarn berry).
pub fn command(tool: Tool) -> Command {
    let program = path(tool);
    if program.extension().is_some_and(|e| e == "js") {
        let mut cmd = Command::new(path(Tool::Node));
        cmd.arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys_and_whole_values() {
        let listed =
            parse_tools_file("# comment\n\nMONO_TEST_GO=/usr/bin/go\nMONO_TEST_PNPM=/a b/pnpm=1\n");
        assert_eq!(listed["MONO_TEST_GO"], Path::new("/usr/bin/go"));
        assert_eq!(listed["MONO_TEST_PNPM"], Path::new("/a b/pnpm=1"));
        assert_eq!(listed.len(), 2);
    }

    #[test]
    fn every_tool_has_its_own_variable() {
        let vars: std::collections::BTreeSet<&str> = Tool::ALL.iter().map(|t| t.var()).collect();
        assert_eq!(vars.len(), Tool::ALL.len());
    }

    #[test]
    fn the_variable_overrides_the_file_and_missing_tools_name_make_test() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("pnpm");
        std::fs::write(&real, "").unwrap();
        let file = dir.path().join("tools.env");
        let listed = parse_tools_file(&format!("MONO_TEST_PNPM={}\n", real.display()));

        assert_eq!(
            locate(Tool::Pnpm, None, &file, Some(&listed)).unwrap(),
            real
        );
        let gone = dir.path().join("gone");
        let err = locate(Tool::Pnpm, Some(gone.clone().into()), &file, Some(&listed)).unwrap_err();
        assert_eq!(
            err,
            ToolError::Missing {
                tool: Tool::Pnpm,
                path: gone,
                source_name: "MONO_TEST_PNPM".to_owned()
            }
        );
        for err in [
            err,
            locate(Tool::Pnpm, None, &file, None).unwrap_err(),
            locate(Tool::Garage, None, &file, Some(&listed)).unwrap_err(),
        ] {
            let message = err.to_string();
            assert!(message.contains("run `make test`"), "{message}");
        }
    }
}
