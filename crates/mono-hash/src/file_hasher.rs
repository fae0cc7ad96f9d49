use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use mono_paths::{AbsPath, RepoPath};
use rayon::prelude::*;

use mono_stamp::{Stamp, StampKind};

use crate::stat_cache::StatCache;
use crate::{Digest, HashError};

/// The blake3 key context that keeps a symbolic link's digest apart from the digest of a
/// file whose content happens to be the link's target.
const SYMLINK_CONTEXT: &str = "mono 2025-01 symbolic link target";

/// How many files a [`FileHasher`] read, and how many it took from its stat cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HashCounts {
    /// Files (or link targets) read and hashed.
    pub read: u64,
    /// Files whose stat matched the stat cache, so were not read.
    pub cached: u64,
}

/// Hashes files of a repository with blake3, in parallel, skipping the files whose stat has
/// not changed since a previous run (with [`FileHasher::with_stat_cache`]).
///
/// A regular file's digest is the blake3 of its bytes (what `b3sum` prints). A symbolic
/// link is not followed: its digest is a keyed blake3 of its target path, so a link and a
/// file never share a digest. Anything else (a directory, a socket) is an error, as is a
/// missing file.
///
/// Hash all the files of a run in as few calls as possible: each call is one parallel batch,
/// and one write of the stat cache's probe.
pub struct FileHasher {
    root: AbsPath,
    cache: Option<StatCache>,
    read: AtomicU64,
    cached: AtomicU64,
}

impl FileHasher {
    /// A hasher for files under `root` that reads every file it is asked for.
    pub fn new(root: &AbsPath) -> Self {
        FileHasher {
            root: root.clone(),
            cache: None,
            read: AtomicU64::new(0),
            cached: AtomicU64::new(0),
        }
    }

    /// A hasher for files under `root` with a stat cache kept in `cache_dir` (as
    /// `stat-cache-v2.bin`). A missing or unreadable stat cache starts empty; call
    /// [`FileHasher::save_stat_cache`] at the end of the run.
    pub fn with_stat_cache(root: &AbsPath, cache_dir: &AbsPath) -> Self {
        FileHasher {
            cache: Some(StatCache::open(cache_dir)),
            ..FileHasher::new(root)
        }
    }

    /// The directory the hashed paths are relative to.
    pub fn root(&self) -> &AbsPath {
        &self.root
    }

    /// The digests of `files`, in the same order. Fails on the first file (in the given
    /// order) that is missing, unreadable, or not a file or symbolic link.
    pub fn hash_files(&self, files: &[RepoPath]) -> Result<Vec<Digest>, HashError> {
        let (digests, _) = self.hash_batch(files, false)?;
        Ok(digests
            .into_iter()
            .map(|d| d.expect("a missing file is an error here"))
            .collect())
    }

    /// The digests of a task's input files, as Turborepo treats symbolic links among them: a
    /// link that points nowhere is skipped (its digest is `None`), and a link to a folder
    /// keeps its own digest and brings the files behind it, as paths under the link
    /// (`shared/a.txt` for a link `shared`). Links inside that folder are hashed by their
    /// target path and not followed.
    ///
    /// A file that is not there is skipped as well (its digest is `None`): the files come
    /// from `Scm::list_files_unverified`, whose tracked files may have been deleted from the
    /// work tree, and this `lstat` is what tells.
    pub fn hash_inputs(&self, files: &[RepoPath]) -> Result<HashedInputs, HashError> {
        let (mut digests, links) = self.hash_batch(files, true)?;
        let mut behind_links = BTreeMap::new();
        for index in links {
            let path = &files[index];
            let abs = self.abs(path);
            let read_error = |source: std::io::Error| HashError::ReadFile {
                path: path.clone(),
                source,
            };
            match fs::metadata(&abs) {
                Err(err) if err.kind() == ErrorKind::NotFound => digests[index] = None,
                Err(source) => return Err(read_error(source)),
                Ok(meta) if meta.is_dir() => {
                    let mut behind = Vec::new();
                    walk_behind_link(&abs, path, &mut behind).map_err(read_error)?;
                    behind.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                    self.read.fetch_add(behind.len() as u64, Ordering::Relaxed);
                    behind_links.insert(path.clone(), behind);
                }
                Ok(_) => {}
            }
        }
        Ok(HashedInputs {
            digests,
            behind_links,
        })
    }

    /// The digests of `files` and the indices of the symbolic links among them; with
    /// `missing_ok`, a file that is not there has no digest instead of failing the batch.
    fn hash_batch(
        &self,
        files: &[RepoPath],
        missing_ok: bool,
    ) -> Result<(Vec<Option<Digest>>, Vec<usize>), HashError> {
        // The filesystem clock before any file is read (files older than it can be cached),
        // taken at the first cache miss so that a fully cached batch writes nothing.
        let now = OnceLock::new();
        // Files of one folder are next to each other in sorted order: each run of them is
        // stat-ed relative to the folder, opened once, so the kernel resolves one name per
        // file instead of every component of its path (most of an `lstat`'s cost).
        let results: Vec<Result<Hashed, HashError>> = same_folder_runs(files)
            .into_par_iter()
            .flat_map_iter(|run| {
                let folder = Folder::open(&self.root, &files[run.clone()]);
                let now = &now;
                files[run]
                    .iter()
                    .map(|path| self.hash_one(path, folder.as_ref(), now))
                    .collect::<Vec<_>>()
            })
            .collect();
        let now = now.get().copied().flatten();
        let mut digests = Vec::with_capacity(files.len());
        let mut links = Vec::new();
        let mut fresh = Vec::new();
        let mut read = 0;
        let mut missing = 0;
        for (index, (path, result)) in files.iter().zip(results).enumerate() {
            let (digest, stat, is_link) = match result {
                Ok(hashed) => hashed,
                Err(HashError::MissingFile { .. }) if missing_ok => {
                    digests.push(None);
                    missing += 1;
                    continue;
                }
                Err(err) => return Err(err),
            };
            digests.push(Some(digest));
            if is_link {
                links.push(index);
            }
            if let Some(stat) = stat {
                read += 1;
                if now.is_some_and(|now| stat.is_settled(now)) {
                    fresh.push((path.clone(), stat, digest));
                }
            }
        }
        self.read.fetch_add(read, Ordering::Relaxed);
        self.cached
            .fetch_add(files.len() as u64 - read - missing, Ordering::Relaxed);
        if let Some(cache) = &self.cache {
            if !fresh.is_empty() {
                cache.record(fresh);
            }
        }
        Ok((digests, links))
    }

    /// The digest of one file; `hash_files` for many.
    pub fn hash_file(&self, file: &RepoPath) -> Result<Digest, HashError> {
        let mut digests = self.hash_files(std::slice::from_ref(file))?;
        Ok(digests.remove(0))
    }

    /// How many files were read and how many came from the stat cache so far.
    pub fn counts(&self) -> HashCounts {
        HashCounts {
            read: self.read.load(Ordering::Relaxed),
            cached: self.cached.load(Ordering::Relaxed),
        }
    }

    /// Writes the stat cache, if there is one and this run hashed files it did not know.
    /// Failing to write only costs the next run time; the caller may ignore the error.
    pub fn save_stat_cache(&self) -> Result<(), HashError> {
        match &self.cache {
            Some(cache) => cache.save(),
            None => Ok(()),
        }
    }

    /// The digest of one file, its stat if it was read rather than cached, and whether it
    /// is a symbolic link.
    fn hash_one(
        &self,
        path: &RepoPath,
        folder: Option<&Folder>,
        now: &OnceLock<Option<i64>>,
    ) -> Result<Hashed, HashError> {
        let stat = match folder {
            Some(folder) => folder.lstat(path.file_name().unwrap_or(path.as_str())),
            None => fs::symlink_metadata(self.abs(path)).map(|meta| Stamp::of(&meta)),
        }
        .map_err(|source| match source.kind() {
            // A folder on the way replaced by a file: the file is gone all the same.
            ErrorKind::NotFound | ErrorKind::NotADirectory => {
                HashError::MissingFile { path: path.clone() }
            }
            _ => HashError::ReadFile {
                path: path.clone(),
                source,
            },
        })?
        .filter(|stamp| stamp.kind != StampKind::Dir)
        .ok_or_else(|| HashError::NotAFile { path: path.clone() })?;
        let is_link = stat.kind == StampKind::Symlink;
        if let Some(cache) = &self.cache {
            if let Some(digest) = cache.lookup(path, &stat) {
                return Ok((digest, None, is_link));
            }
            now.get_or_init(|| cache.now());
        }
        let abs = self.abs(path);
        let digest = match stat.kind {
            StampKind::File | StampKind::Dir => hash_contents(&abs),
            StampKind::Symlink => hash_link(&abs),
        }
        .map_err(|source| match source.kind() {
            ErrorKind::NotFound => HashError::MissingFile { path: path.clone() },
            _ => HashError::ReadFile {
                path: path.clone(),
                source,
            },
        })?;
        Ok((digest, Some(stat), is_link))
    }

    fn abs(&self, path: &RepoPath) -> PathBuf {
        let mut abs =
            PathBuf::with_capacity(self.root.as_path().as_os_str().len() + 1 + path.as_str().len());
        abs.push(self.root.as_path());
        for part in path.components() {
            abs.push(part);
        }
        abs
    }
}

/// One file's digest, its stat when it was read (not cached), and whether it is a link.
type Hashed = (Digest, Option<Stamp>, bool);

/// The index ranges of `files` whose paths share a parent folder, in order.
fn same_folder_runs(files: &[RepoPath]) -> Vec<std::ops::Range<usize>> {
    let mut runs: Vec<std::ops::Range<usize>> = Vec::new();
    let mut previous: Option<&str> = None;
    for (index, file) in files.iter().enumerate() {
        let parent = file.as_str().rsplit_once('/').map_or("", |(dir, _)| dir);
        match runs.last_mut() {
            Some(run) if previous == Some(parent) => run.end = index + 1,
            _ => runs.push(index..index + 1),
        }
        previous = Some(parent);
    }
    runs
}

/// The parent folder of a run of files, opened to stat them by name
/// (`fstatat(fd, name, AT_SYMLINK_NOFOLLOW)`): the same answer as `lstat` of the whole path.
/// `None` where that is not available, or the folder cannot be opened (each file is then
/// stat-ed by path, which reports the error as before).
#[cfg(target_os = "linux")]
struct Folder(rustix::fd::OwnedFd);

#[cfg(not(target_os = "linux"))]
struct Folder;

impl Folder {
    #[cfg(target_os = "linux")]
    fn open(root: &AbsPath, run: &[RepoPath]) -> Option<Folder> {
        use rustix::fs::{Mode, OFlags};
        // One file alone gains nothing from an open of its folder.
        let first = run.get(1).and(run.first())?;
        let dir = match first.as_str().rsplit_once('/') {
            Some((dir, _)) => root.as_path().join(dir),
            None => root.as_path().to_path_buf(),
        };
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        rustix::fs::open(&dir, flags, Mode::empty())
            .ok()
            .map(Folder)
    }

    #[cfg(not(target_os = "linux"))]
    fn open(_root: &AbsPath, _run: &[RepoPath]) -> Option<Folder> {
        None
    }

    /// The stamp of the entry `name`, not following a symbolic link; `None` if it is
    /// neither a file, a directory nor a link.
    #[cfg(target_os = "linux")]
    fn lstat(&self, name: &str) -> std::io::Result<Option<Stamp>> {
        let raw = rustix::fs::statat(&self.0, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)?;
        Ok(Stamp::from_stat(&raw))
    }

    #[cfg(not(target_os = "linux"))]
    fn lstat(&self, _name: &str) -> std::io::Result<Option<Stamp>> {
        unreachable!("no folder is opened here")
    }
}

/// The digests of [`FileHasher::hash_inputs`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HashedInputs {
    /// Each file's digest, in the order asked; `None` for a symbolic link to nothing.
    pub digests: Vec<Option<Digest>>,
    /// For each symbolic link to a folder, the files behind it (as paths under the link) and
    /// their digests, sorted by path.
    pub behind_links: BTreeMap<RepoPath, Vec<(RepoPath, Digest)>>,
}

/// Every file under `dir` (reached through the link `link`), as paths under `link`: regular
/// files by content, symbolic links by target path (not followed; those to nothing skipped).
/// Entries whose names cannot be part of a repository path are skipped, folders with all
/// they hold.
fn walk_behind_link(
    dir: &Path,
    link: &RepoPath,
    out: &mut Vec<(RepoPath, Digest)>,
) -> std::io::Result<()> {
    let walk = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .filter_entry(|entry| {
            entry
                .file_name()
                .to_str()
                .is_some_and(|name| RepoPath::new(name).is_ok())
        });
    for entry in walk {
        let entry = entry?;
        let Some(path) = entry
            .path()
            .strip_prefix(dir)
            .ok()
            .and_then(|rel| RepoPath::from_path(rel).ok())
            .map(|rel| link.join_path(&rel))
        else {
            continue;
        };
        let kind = entry.file_type();
        if kind.is_file() {
            out.push((path, hash_contents(entry.path())?));
        } else if kind.is_symlink() && fs::metadata(entry.path()).is_ok() {
            out.push((path, hash_link(entry.path())?));
        }
    }
    Ok(())
}

fn hash_contents(path: &Path) -> std::io::Result<Digest> {
    let file = File::open(path)?;
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(file)?;
    Ok(hasher.finalize().into())
}

fn hash_link(path: &Path) -> std::io::Result<Digest> {
    let target = fs::read_link(path)?;
    let mut hasher = blake3::Hasher::new_derive_key(SYMLINK_CONTEXT);
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        hasher.update(target.as_os_str().as_bytes());
    }
    #[cfg(not(unix))]
    {
        // A repository path form, so that a Windows checkout hashes like a Unix one.
        hasher.update(target.to_string_lossy().replace('\\', "/").as_bytes());
    }
    Ok(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use tempfile::TempDir;

    use super::*;
    use crate::stat_cache::STAT_CACHE_FILE;

    fn setup(files: &[(&str, &str)]) -> (TempDir, AbsPath, Vec<RepoPath>) {
        let dir = TempDir::new().unwrap();
        let root = AbsPath::new(dir.path().join("repo")).unwrap();
        let mut paths = Vec::new();
        for (path, contents) in files {
            let abs = root.as_path().join(path);
            fs::create_dir_all(abs.parent().unwrap()).unwrap();
            fs::write(&abs, contents).unwrap();
            age(&abs);
            paths.push(RepoPath::new(path).unwrap());
        }
        settle(&dir, &root, &paths);
        (dir, root, paths)
    }

    /// Moves a file's mtime a minute back, out of the racy window.
    fn age(path: &Path) {
        let file = File::options().write(true).open(path).unwrap();
        file.set_modified(SystemTime::now() - Duration::from_secs(60))
            .unwrap();
    }

    /// Waits until the filesystem clock has passed the ctimes of `paths` (their mtimes are
    /// set back by `age`; a ctime cannot be), so that their stamps are settled.
    fn settle(dir: &TempDir, root: &AbsPath, paths: &[RepoPath]) {
        let newest = paths
            .iter()
            .map(|path| {
                let meta = fs::symlink_metadata(root.join_repo(path).as_path()).unwrap();
                Stamp::of(&meta).unwrap().newest_ns()
            })
            .max()
            .unwrap_or(0);
        assert!(mono_stamp::FsClock::in_dir(cache_dir(dir).as_path()).wait_past(newest));
    }

    fn cache_dir(dir: &TempDir) -> AbsPath {
        AbsPath::new(dir.path().join("cache")).unwrap()
    }

    #[test]
    fn hashes_contents_in_order() {
        let (_dir, root, paths) = setup(&[("b.txt", "bee"), ("a/a.txt", "ay")]);
        let digests = FileHasher::new(&root).hash_files(&paths).unwrap();
        assert_eq!(digests, [Digest::of(b"bee"), Digest::of(b"ay")]);
    }

    #[test]
    fn a_missing_file_is_an_error_naming_it() {
        let (_dir, root, mut paths) = setup(&[("a.txt", "a")]);
        paths.push(RepoPath::new("src/gone.ts").unwrap());
        let err = FileHasher::new(&root).hash_files(&paths).unwrap_err();
        assert!(matches!(err, HashError::MissingFile { .. }));
        assert_eq!(err.to_string(), "input file src/gone.ts does not exist");
    }

    #[test]
    fn inputs_skip_a_missing_file_as_a_deleted_tracked_file() {
        let (_dir, root, mut paths) = setup(&[("a.txt", "a"), ("f", "f")]);
        // Deleted, and a folder on the way replaced by a file.
        paths.push(RepoPath::new("src/gone.ts").unwrap());
        paths.push(RepoPath::new("f/inside.ts").unwrap());
        let hasher = FileHasher::new(&root);
        let hashed = hasher.hash_inputs(&paths).unwrap();
        assert_eq!(
            hashed.digests,
            [Some(Digest::of(b"a")), Some(Digest::of(b"f")), None, None]
        );
        assert_eq!(hasher.counts(), HashCounts { read: 2, cached: 0 });
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_stat_by_name_in_its_folder_is_the_stat_by_path() {
        let (_dir, root, paths) = setup(&[("d/a.txt", "a"), ("d/b.txt", "bb")]);
        std::os::unix::fs::symlink("a.txt", root.as_path().join("d/link")).unwrap();
        fs::create_dir(root.as_path().join("d/sub")).unwrap();
        let folder = Folder::open(&root, &paths).expect("a run of two opens its folder");
        for name in ["a.txt", "b.txt", "link", "sub"] {
            let by_path = fs::symlink_metadata(root.as_path().join("d").join(name)).unwrap();
            assert_eq!(folder.lstat(name).unwrap(), Stamp::of(&by_path), "{name}");
        }
        assert_eq!(
            folder.lstat("gone").unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            same_folder_runs(&[
                RepoPath::new("a").unwrap(),
                RepoPath::new("b").unwrap(),
                RepoPath::new("d/a").unwrap(),
                RepoPath::new("d/b").unwrap(),
                RepoPath::new("d/e/c").unwrap(),
            ]),
            [0..2, 2..4, 4..5]
        );
    }

    #[test]
    fn a_directory_is_an_error() {
        let (_dir, root, _) = setup(&[("d/a.txt", "a")]);
        let err = FileHasher::new(&root)
            .hash_file(&RepoPath::new("d").unwrap())
            .unwrap_err();
        assert!(matches!(err, HashError::NotAFile { .. }), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_hash_their_target_not_what_it_points_to() {
        let (dir, root, _) = setup(&[("target.txt", "content"), ("other.txt", "content")]);
        let link = RepoPath::new("link").unwrap();
        std::os::unix::fs::symlink("target.txt", root.as_path().join("link")).unwrap();
        std::os::unix::fs::symlink("nowhere", root.as_path().join("dangling")).unwrap();
        let hasher = FileHasher::new(&root);
        let link_digest = hasher.hash_file(&link).unwrap();
        assert_ne!(link_digest, Digest::of(b"content"));
        assert_ne!(link_digest, Digest::of(b"target.txt"));
        // The link's digest changes with its target path, not with the target's content.
        fs::write(root.as_path().join("target.txt"), "changed").unwrap();
        assert_eq!(hasher.hash_file(&link).unwrap(), link_digest);
        assert!(hasher
            .hash_file(&RepoPath::new("dangling").unwrap())
            .is_ok());
        drop(dir);
    }

    #[cfg(unix)]
    #[test]
    fn inputs_follow_links_to_folders_and_skip_links_to_nothing() {
        let (dir, root, _) = setup(&[
            ("pkg/a.txt", "a"),
            ("shared/s1.txt", "s1"),
            ("shared/sub/s2.txt", "s2"),
        ]);
        let link = |target: &str, at: &str| {
            std::os::unix::fs::symlink(target, root.as_path().join(at)).unwrap()
        };
        link("../shared", "pkg/linked");
        link("nowhere", "pkg/dangling");
        link("s1.txt", "shared/inner");
        let files: Vec<RepoPath> = ["pkg/a.txt", "pkg/dangling", "pkg/linked"]
            .iter()
            .map(|p| RepoPath::new(p).unwrap())
            .collect();
        let hasher = FileHasher::with_stat_cache(&root, &cache_dir(&dir));
        let hashed = hasher.hash_inputs(&files).unwrap();
        assert_eq!(hashed.digests[0], Some(Digest::of(b"a")));
        assert_eq!(hashed.digests[1], None, "a link to nothing is skipped");
        assert!(
            hashed.digests[2].is_some(),
            "a link to a folder keeps its own entry"
        );
        let behind: Vec<(&str, Digest)> = hashed.behind_links[&files[2]]
            .iter()
            .map(|(p, d)| (p.as_str(), *d))
            .collect();
        assert_eq!(
            behind.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
            [
                "pkg/linked/inner",
                "pkg/linked/s1.txt",
                "pkg/linked/sub/s2.txt"
            ]
        );
        assert_eq!(behind[1].1, Digest::of(b"s1"));
        // Cached or not, the same answer.
        hasher.save_stat_cache().unwrap();
        let again = FileHasher::with_stat_cache(&root, &cache_dir(&dir));
        assert_eq!(again.hash_inputs(&files).unwrap(), hashed);
    }

    #[test]
    fn the_stat_cache_skips_unchanged_files_on_the_next_run() {
        let (dir, root, paths) = setup(&[("a.txt", "a"), ("b.txt", "b"), ("c/d.txt", "d")]);
        let first = FileHasher::with_stat_cache(&root, &cache_dir(&dir));
        let digests = first.hash_files(&paths).unwrap();
        assert_eq!(first.counts(), HashCounts { read: 3, cached: 0 });
        first.save_stat_cache().unwrap();
        assert!(cache_dir(&dir).as_path().join(STAT_CACHE_FILE).exists());

        let second = FileHasher::with_stat_cache(&root, &cache_dir(&dir));
        assert_eq!(second.hash_files(&paths).unwrap(), digests);
        assert_eq!(second.counts(), HashCounts { read: 0, cached: 3 });
    }

    #[test]
    fn a_changed_file_is_read_again_even_with_the_same_size_and_mtime() {
        let (dir, root, paths) = setup(&[("a.txt", "aaa"), ("b.txt", "b")]);
        let first = FileHasher::with_stat_cache(&root, &cache_dir(&dir));
        first.hash_files(&paths).unwrap();
        first.save_stat_cache().unwrap();

        // Same size, mtime put back: the ctime still moves (`setup` let the filesystem clock
        // pass the old one).
        let abs = root.as_path().join("a.txt");
        let mtime = fs::metadata(&abs).unwrap().modified().unwrap();
        fs::write(&abs, "zzz").unwrap();
        File::options()
            .write(true)
            .open(&abs)
            .unwrap()
            .set_modified(mtime)
            .unwrap();

        let second = FileHasher::with_stat_cache(&root, &cache_dir(&dir));
        let digests = second.hash_files(&paths).unwrap();
        assert_eq!(digests[0], Digest::of(b"zzz"));
        assert_eq!(second.counts(), HashCounts { read: 1, cached: 1 });
    }

    #[test]
    fn racy_files_are_not_trusted() {
        let (dir, root, mut paths) = setup(&[("old.txt", "old")]);
        // Its mtime is not older than the filesystem clock when it is hashed, as for a file
        // written in the same clock tick: a later write in that tick would keep the mtime.
        let new = root.as_path().join("new.txt");
        fs::write(&new, "new").unwrap();
        let file = File::options().write(true).open(&new).unwrap();
        file.set_modified(SystemTime::now() + Duration::from_secs(60))
            .unwrap();
        paths.push(RepoPath::new("new.txt").unwrap());
        let first = FileHasher::with_stat_cache(&root, &cache_dir(&dir));
        first.hash_files(&paths).unwrap();
        first.save_stat_cache().unwrap();

        let second = FileHasher::with_stat_cache(&root, &cache_dir(&dir));
        second.hash_files(&paths).unwrap();
        assert_eq!(second.counts(), HashCounts { read: 1, cached: 1 });
    }

    #[test]
    fn a_corrupt_or_truncated_stat_cache_is_ignored() {
        let (dir, root, paths) = setup(&[("a.txt", "a"), ("b.txt", "b")]);
        let first = FileHasher::with_stat_cache(&root, &cache_dir(&dir));
        let digests = first.hash_files(&paths).unwrap();
        first.save_stat_cache().unwrap();
        let file = cache_dir(&dir).as_path().join(STAT_CACHE_FILE);
        let bytes = fs::read(&file).unwrap();

        for damaged in [
            bytes[..bytes.len() / 2].to_vec(),
            b"garbage".to_vec(),
            Vec::new(),
        ] {
            fs::write(&file, damaged).unwrap();
            let hasher = FileHasher::with_stat_cache(&root, &cache_dir(&dir));
            assert_eq!(hasher.hash_files(&paths).unwrap(), digests);
            assert_eq!(hasher.counts(), HashCounts { read: 2, cached: 0 });
        }
        fs::remove_file(&file).unwrap();
        let hasher = FileHasher::with_stat_cache(&root, &cache_dir(&dir));
        assert_eq!(hasher.hash_files(&paths).unwrap(), digests);
    }

    #[test]
    fn entries_survive_runs_that_do_not_use_them() {
        let (dir, root, paths) = setup(&[("a.txt", "a"), ("b.txt", "b")]);
        let first = FileHasher::with_stat_cache(&root, &cache_dir(&dir));
        first.hash_files(&paths).unwrap();
        first.save_stat_cache().unwrap();

        // A run that hashes only a new file rewrites the cache; `a` and `b` stay in it.
        let c = root.as_path().join("c.txt");
        fs::write(&c, "c").unwrap();
        age(&c);
        let second = FileHasher::with_stat_cache(&root, &cache_dir(&dir));
        second.hash_file(&RepoPath::new("c.txt").unwrap()).unwrap();
        second.save_stat_cache().unwrap();

        let third = FileHasher::with_stat_cache(&root, &cache_dir(&dir));
        third.hash_files(&paths).unwrap();
        assert_eq!(third.counts(), HashCounts { read: 0, cached: 2 });
    }

    #[test]
    fn without_a_cache_every_file_is_read() {
        let (_dir, root, paths) = setup(&[("a.txt", "a")]);
        let hasher = FileHasher::new(&root);
        hasher.hash_files(&paths).unwrap();
        hasher.hash_files(&paths).unwrap();
        assert_eq!(hasher.counts(), HashCounts { read: 2, cached: 0 });
        hasher.save_stat_cache().unwrap();
    }
}
