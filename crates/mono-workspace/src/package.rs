use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use mono_config::PackageConfig;
use mono_paths::RepoPath;
use mono_task_id::PackageName;
use serde::Serialize;

/// The kind of a package, decided by the manifest that makes it one.
///
/// The order of the variants is the order of precedence when two package managers list one
/// folder: package.json, then Cargo.toml, then go.mod, then pyproject.toml.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// A package.json package (npm, pnpm, yarn or bun workspaces).
    Node,
    /// A crate of the Cargo workspace.
    Rust,
    /// A Go module.
    Go,
    /// A Python project: a member of the root's uv workspace, or a folder with a
    /// pyproject.toml or requirements.txt listed in the root config's `workspaces`.
    Python,
    /// A folder named by its own turbo.toml / turbo.json.
    Generic,
}

impl Language {
    /// Every language, in order of precedence.
    pub const ALL: [Language; 5] = [
        Language::Node,
        Language::Rust,
        Language::Go,
        Language::Python,
        Language::Generic,
    ];

    /// The lowercase name: `node`, `rust`, `go`, `python`, `generic`.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Node => "node",
            Language::Rust => "rust",
            Language::Go => "go",
            Language::Python => "python",
            Language::Generic => "generic",
        }
    }

    /// The manifest file that makes a folder a package of this language (a Python folder
    /// without a pyproject.toml is one by its requirements.txt).
    pub fn manifest_file(self) -> &'static str {
        match self {
            Language::Node => "package.json",
            Language::Rust => "Cargo.toml",
            Language::Go => "go.mod",
            Language::Python => "pyproject.toml",
            Language::Generic => "turbo.toml",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One package of the repository.
#[derive(Debug, Clone)]
pub struct Package {
    /// Its name: package.json `name`, the crate name, the Go module's last element (or full
    /// path when that is taken), or the generic folder's turbo.toml `name`. `//` for the root.
    pub name: PackageName,
    /// Its folder, repo-relative; the root package's is the root (`""`, shown `.`).
    pub dir: RepoPath,
    /// Its kind.
    pub language: Language,
    /// The manifest that makes it a package: package.json, Cargo.toml, go.mod, or the
    /// turbo.toml / turbo.json of a generic package.
    pub manifest: RepoPath,
    /// package.json `scripts` (Node packages, and a root package with a package.json).
    pub scripts: BTreeMap<String, String>,
    /// The package's own turbo.toml / turbo.json, if any (never for the root, whose file is
    /// the root config).
    pub config: Option<PackageConfig>,
    /// The packages it depends on directly, whatever their language.
    pub dependencies: BTreeSet<PackageName>,
    /// The Go module path, when the folder has a go.mod in play.
    pub go_module: Option<String>,
    /// Whether the Go module has at least one `package main` among its .go files, not
    /// counting `_test.go` files, `vendor/`, `testdata/`, hidden or `_`-prefixed folders, nor
    /// nested modules (folders with their own go.mod); a file built only with `-tags ignore`
    /// does not count either. It decides whether the default `build` writes binaries into
    /// `bin/` (`go build -o bin/ ./...`, which fails without a main package) or not
    /// (`go build ./...`). Always false for a package whose language is not Go.
    pub go_main_packages: bool,
    /// The Cargo package name, when the folder has a crate in play. It equals `name` for a
    /// Rust package other than the root (`cargo build -p CRATE`).
    pub crate_name: Option<String>,
    /// The binary targets of the folder's crate, sorted: `src/main.rs` (named after the
    /// crate), `src/bin/*.rs`, `src/bin/*/main.rs` and `[[bin]] name`.
    pub rust_bins: Vec<String>,
    /// What mono knows of a Python package; `None` for the other languages.
    pub python: Option<PythonPackage>,
}

/// What the default tasks of a Python package depend on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PythonPackage {
    /// Whether uv manages it: a member of the root's `[tool.uv.workspace]`, or a
    /// pyproject.toml with a `[tool.uv]` table or a `uv.lock` beside it. Its lockfile is the
    /// root's `uv.lock`, its default tasks run `uv`.
    pub uv: bool,
    /// Whether it has tests: a `tests/` or `test/` folder, or a `test_*.py` / `*_test.py`
    /// file below it.
    pub has_tests: bool,
    /// Whether `ruff` is among its development dependencies (`[dependency-groups]`,
    /// `[tool.uv] dev-dependencies`, a `dev`/`test`/`lint` extra).
    pub ruff: bool,
    /// Its `requirements*.txt` files, sorted (the external-dependency input of a package
    /// that uv does not manage).
    pub requirements: Vec<RepoPath>,
}

impl Package {
    /// Whether this is the root package `//`.
    pub fn is_root(&self) -> bool {
        self.name.is_root()
    }
}
