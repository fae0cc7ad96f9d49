//! Finding the repository and loading what every command needs: the root config and the
//! package graph.

use mono_config::RootConfig;
use mono_paths::{AbsPath, RepoPath};
use mono_workspace::PackageGraph;

use crate::error::Error;

/// A loaded repository.
pub struct Repo {
    /// The repository root.
    pub root: AbsPath,
    /// Where mono was started, relative to the root (filters' directories are relative to it).
    pub cwd: RepoPath,
    /// The root config.
    pub config: RootConfig,
    /// Every package.
    pub packages: PackageGraph,
    /// The repository's files, being listed by git on another thread since the root was
    /// found ([`Repo::load_listing_files`]); taken once, by hashing.
    pub listing: Option<std::thread::JoinHandle<Result<Vec<RepoPath>, mono_scm::ScmError>>>,
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

impl Repo {
    /// Loads the repository containing `cwd` (or the process's current directory).
    pub fn load(cwd: Option<&std::path::Path>) -> Result<Repo, Error> {
        Repo::load_inner(cwd, false)
    }

    /// Like [`Repo::load`], and lists the repository's files with git meanwhile (for a run,
    /// which hashes them): git's walk of the work tree overlaps reading the config and
    /// the packages.
    pub fn load_listing_files(cwd: Option<&std::path::Path>) -> Result<Repo, Error> {
        Repo::load_inner(cwd, true)
    }

    /// The listed files: from the thread started by [`Repo::load_listing_files`], or listed
    /// now.
    pub fn take_files(&mut self) -> Result<Vec<RepoPath>, mono_scm::ScmError> {
        match self.listing.take().map(std::thread::JoinHandle::join) {
            Some(Ok(listed)) => listed,
            // The thread panicked (it does not): list again, here.
            Some(Err(_)) | None => mono_scm::Scm::discover(&self.root).list_files(),
        }
    }

    fn load_inner(cwd: Option<&std::path::Path>, list_files: bool) -> Result<Repo, Error> {
        let start = match cwd {
            Some(dir) => AbsPath::from_cwd(dir).map_err(Error::Cwd)?,
            None => AbsPath::from_cwd(std::env::current_dir().map_err(Error::Cwd)?)
                .map_err(Error::Cwd)?,
        };
        let start =
            AbsPath::new(
                std::fs::canonicalize(start.as_path()).map_err(|source| Error::Io {
                    action: "open",
                    path: start.clone(),
                    source,
                })?,
            )
            .expect("canonical paths are absolute");
        let root = find_root(&start);
        let cwd = start.strip_root(&root).unwrap_or_default();
        let listing = list_files.then(|| {
            let root = root.clone();
            std::thread::spawn(move || mono_scm::Scm::discover(&root).list_files())
        });
        let config = mono_config::load_root(&root)?;
        let packages = mono_workspace::discover(&root, &config)?;
        for warning in packages.warnings() {
            crate::report::warn(&warning.to_string());
        }
        Ok(Repo {
            root,
            cwd,
            config,
            packages,
            listing,
        })
    }
}
