//! Finding the repository and loading what every command needs: the root config and the
//! package graph; and the folders derived from them, each worked out in one place.

use std::path::Path;

use mono_config::RootConfig;
use mono_paths::{AbsPath, RepoPath};
use mono_scm::Scm;
use mono_workspace::PackageGraph;

use crate::error::EngineError;
use crate::reporter::Reporter;

/// The cache folder when neither `--cache-dir` nor `cacheDir` names one, relative to the
/// root, in a repository configured by turbo.toml (docs/decisions/005-cache-folder-default.md).
pub const DEFAULT_CACHE_DIR: &str = "cache";

/// The same in a repository configured by turbo.json: inside `.turbo/`, which Turborepo
/// repositories already ignore, so that mono adds no untracked folder that turbo's root
/// tasks would hash.
pub const TURBO_JSON_CACHE_DIR: &str = ".turbo/mono";

/// A loaded repository.
pub struct Workspace {
    /// The repository root.
    pub root: AbsPath,
    /// Where mono was started, relative to the root (filters' directories are relative to it).
    pub cwd: RepoPath,
    /// The root config.
    pub config: RootConfig,
    /// Every package.
    pub packages: PackageGraph,
    /// The repository's files, being listed by git on another thread since the root was
    /// found ([`Workspace::load_listing_files`]); taken once, by hashing.
    listing: Option<std::thread::JoinHandle<Result<Vec<RepoPath>, mono_scm::ScmError>>>,
    /// Source control as seen from the root, discovered once (each discovery runs git).
    scm: std::sync::OnceLock<Scm>,
}

/// The repository root for a start directory: the nearest ancestor whose turbo.toml or
/// turbo.json is a root config (a package's config has `extends` or `name`), else the
/// nearest holding `.git`, else the start directory.
pub fn find_root(start: &AbsPath) -> AbsPath {
    let mut git = None;
    let mut dir = Some(start.clone());
    while let Some(current) = dir {
        if let Ok(Some(source)) = mono_config::read_config(&current, &RepoPath::root()) {
            if !mono_config::is_package_config(&source) {
                return current;
            }
        }
        if git.is_none() && current.join(".git").as_path().exists() {
            git = Some(current.clone());
        }
        dir = current.parent();
    }
    git.unwrap_or_else(|| start.clone())
}

/// The directory a command starts in: `dir`, or the process's current directory, made
/// absolute and canonical.
pub fn start_dir(dir: Option<&Path>) -> Result<AbsPath, EngineError> {
    let start = match dir {
        Some(dir) => AbsPath::from_cwd(dir).map_err(EngineError::Cwd)?,
        None => AbsPath::from_cwd(std::env::current_dir().map_err(EngineError::Cwd)?)
            .map_err(EngineError::Cwd)?,
    };
    let canonical = std::fs::canonicalize(start.as_path())
        .map_err(|source| EngineError::io("open", &start, source))?;
    Ok(AbsPath::new(canonical).expect("canonical paths are absolute"))
}

impl Workspace {
    /// Loads the repository containing `cwd` (or the process's current directory).
    pub fn load(cwd: Option<&Path>, reporter: &dyn Reporter) -> Result<Workspace, EngineError> {
        Workspace::load_inner(cwd, Load::Checked, reporter)
    }

    /// Like [`Workspace::load`], for listing packages: a package config that does not load
    /// is a warning, and the package is listed without it (as `turbo ls` does). Not for a
    /// run, which needs every package's tasks.
    pub fn load_for_listing(
        cwd: Option<&Path>,
        reporter: &dyn Reporter,
    ) -> Result<Workspace, EngineError> {
        Workspace::load_inner(cwd, Load::Lenient, reporter)
    }

    /// Like [`Workspace::load`], and lists the repository's files with git meanwhile (for a
    /// run, which hashes them): git's walk of the work tree overlaps reading the config and
    /// the packages.
    pub fn load_listing_files(
        cwd: Option<&Path>,
        reporter: &dyn Reporter,
    ) -> Result<Workspace, EngineError> {
        Workspace::load_inner(cwd, Load::CheckedWithFiles, reporter)
    }

    /// The listed files: from the thread started by [`Workspace::load_listing_files`], or
    /// listed now.
    pub(crate) fn take_files(&mut self) -> Result<Vec<RepoPath>, mono_scm::ScmError> {
        match self.listing.take().map(std::thread::JoinHandle::join) {
            Some(Ok(listed)) => listed,
            // The thread panicked (it does not): list again, here.
            Some(Err(_)) | None => self.scm().list_files(),
        }
    }

    /// Source control as seen from the root, discovered on first use.
    pub fn scm(&self) -> &Scm {
        self.scm.get_or_init(|| Scm::discover(&self.root))
    }

    /// The folder mono was started in: what relative paths on the command line are
    /// relative to.
    pub fn base_dir(&self) -> AbsPath {
        match &self.cwd {
            cwd if cwd.is_root() => self.root.clone(),
            cwd => self.root.join_repo(cwd),
        }
    }

    /// The local cache folder: `--cache-dir` (relative to where mono started), else
    /// `cacheDir` in the root config (relative to the root), else `cache/` at the root of a
    /// turbo.toml repository and `.turbo/mono/` in a turbo.json one. The one place that
    /// decides it.
    pub fn cache_dir(&self, flag: Option<&Path>) -> AbsPath {
        let turbo_json = self
            .config
            .source
            .as_ref()
            .is_some_and(|s| s.format() == mono_config::ConfigFormat::Json);
        match (flag, &self.config.cache_dir) {
            (Some(dir), _) => self.base_dir().join(dir),
            (None, Some(dir)) => self.root.join(&dir.value),
            (None, None) if turbo_json => self.root.join(TURBO_JSON_CACHE_DIR),
            (None, None) => self.root.join(DEFAULT_CACHE_DIR),
        }
    }

    fn load_inner(
        cwd: Option<&Path>,
        load: Load,
        reporter: &dyn Reporter,
    ) -> Result<Workspace, EngineError> {
        let start = start_dir(cwd)?;
        let root = find_root(&start);
        let cwd = start.strip_root(&root).unwrap_or_default();
        let listing = (load == Load::CheckedWithFiles).then(|| {
            let root = root.clone();
            std::thread::spawn(move || Scm::discover(&root).list_files())
        });
        let config = mono_config::load_root(&root)?;
        let packages = match load {
            Load::Lenient => mono_workspace::discover_for_listing(&root, &config)?,
            Load::Checked | Load::CheckedWithFiles => mono_workspace::discover(&root, &config)?,
        };
        for warning in packages.warnings() {
            reporter.warn(&warning.to_string());
        }
        Ok(Workspace {
            root,
            cwd,
            config,
            packages,
            listing,
            scm: std::sync::OnceLock::new(),
        })
    }
}

/// How a workspace is loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Load {
    /// Every config checked.
    Checked,
    /// Every config checked, and the repository's files listed meanwhile (for a run).
    CheckedWithFiles,
    /// For `mono ls`: package configs that do not load are warnings.
    Lenient,
}
