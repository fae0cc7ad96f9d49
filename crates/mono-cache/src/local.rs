use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use mono_paths::AbsPath;

use crate::artifact::{self, Artifact, PackRequest};
use crate::error::{CorruptEntry, Corruption, IoContext, StoreError};
use crate::key::{CacheKey, Checksum};
use crate::meta::{ArtifactMeta, FORMAT_VERSION, MAX_META_LEN};
use crate::open::OpenError;
use crate::side::{
    compress_manifest, decompress_manifest, RecentEntry, RecentIndex, SideCorruption, SideError,
    SideName, MAX_INDEX_LEN, MAX_MANIFEST_LEN,
};
use crate::store::{CacheStatus, CacheStore, Lookup};

/// Names starting with this are temporary files of a writer: never entries.
pub(crate) const TEMP_PREFIX: &str = ".tmp-";
const META_SUFFIX: &str = ".json";
const ARCHIVE_SUFFIX: &str = ".tar.zst";
/// The input manifest beside an entry (`SideName::Manifest`).
const MANIFEST_SUFFIX: &str = ".manifest.zst";
/// Hex digits of the archive's checksum in its file name.
const CHECKSUM_NAME_LEN: usize = 16;

/// How old a temporary file or an archive no metadata names must be before it is removed.
/// Generous: a writer renames its archive and then its metadata within milliseconds, and
/// removing an archive a concurrent writer is about to name would leave its entry dangling.
pub const DEFAULT_ORPHAN_GRACE: Duration = Duration::from_secs(60 * 60);

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The prefix of this process's temporary files, `.tmp-<pid>-`: whoever finds one whose
/// process is gone knows it is garbage ([`LocalStore::clean_temp`]).
pub(crate) fn temp_prefix() -> String {
    format!("{TEMP_PREFIX}{}-", std::process::id())
}

/// Whether the process `pid` is running (or a zombie not yet reaped).
#[cfg(unix)]
fn process_alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        // It exists, under another user.
        Err(err) => err == rustix::io::Errno::PERM,
    }
}

#[cfg(not(unix))]
fn process_alive(_pid: u32) -> bool {
    true
}

/// The pid in a temporary file's name, `.tmp-<pid>-...`.
fn temp_owner(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(TEMP_PREFIX)?;
    let (pid, _) = rest.split_once('-')?;
    pid.parse().ok()
}

/// Limits on the local cache's size and age, applied least recently used first
/// ([`LocalStore::evict`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheLimits {
    /// The most bytes the entries may take; `None`: no limit.
    pub max_size: Option<u64>,
    /// The longest an entry may go unused; `None`: no limit.
    pub max_age: Option<Duration>,
}

/// What [`LocalStore::evict`] removed (or, dry, would remove) and kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvictReport {
    /// Entries removed for their age.
    pub expired: u64,
    /// Entries removed to fit the size limit.
    pub evicted: u64,
    /// Bytes freed (metadata and archives).
    pub bytes: u64,
    /// Entries kept.
    pub kept: u64,
    /// Bytes kept.
    pub kept_bytes: u64,
}

/// The cache on this machine's disk.
///
/// Layout (version 2, see docs/cache.md), under `<cache dir>/v2/`:
///
/// - `<key>.json`: the metadata ([`ArtifactMeta`]). It is written last, and its presence is
///   what makes an entry exist.
/// - `<key>.<first 16 hex digits of the archive's blake3>.tar.zst`: the archive. Naming it
///   by its content makes an archive file immutable: a concurrent writer of the same key
///   with other bytes writes another file, so metadata never points at an archive that
///   does not match it.
/// - `.tmp-*`: files being written, never read as entries; [`LocalStore::prune`] removes
///   those a killed writer left behind.
///
/// Every file is written to a temporary file in the same directory, fsynced, then renamed
/// into place; the directory is fsynced after each rename.
#[derive(Clone, Debug)]
pub struct LocalStore {
    cache_dir: AbsPath,
    entries_dir: PathBuf,
    orphan_grace: Duration,
}

/// What [`LocalStore::prune`] removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Temporary files left by killed writers.
    pub temp_files: u64,
    /// Archives that no metadata names (replaced entries, or a writer killed between its
    /// two renames).
    pub orphan_archives: u64,
    /// Bytes freed.
    pub bytes: u64,
}

impl LocalStore {
    /// A store in `cache_dir` (for instance `<repo>/.turbo/cache`, or `--cache-dir`). The
    /// directory is created on the first write.
    pub fn new(cache_dir: AbsPath) -> Self {
        let entries_dir = cache_dir.join(format!("v{FORMAT_VERSION}")).into_path_buf();
        Self {
            cache_dir,
            entries_dir,
            orphan_grace: DEFAULT_ORPHAN_GRACE,
        }
    }

    /// Sets how old leftovers must be before [`LocalStore::put`] and [`LocalStore::prune`]
    /// remove them (default [`DEFAULT_ORPHAN_GRACE`]).
    pub fn with_orphan_grace(mut self, grace: Duration) -> Self {
        self.orphan_grace = grace;
        self
    }

    /// The cache directory given to [`LocalStore::new`].
    pub fn cache_dir(&self) -> &AbsPath {
        &self.cache_dir
    }

    /// The directory of this format version's entries, `<cache dir>/v1`.
    pub fn entries_dir(&self) -> &Path {
        &self.entries_dir
    }

    /// Where the metadata of `key` is.
    pub fn meta_path(&self, key: &CacheKey) -> PathBuf {
        self.entries_dir.join(format!("{key}{META_SUFFIX}"))
    }

    /// Where the archive of `key` with checksum `checksum` is.
    pub fn archive_path(&self, key: &CacheKey, checksum: &Checksum) -> PathBuf {
        let checksum = checksum.to_string();
        let short = &checksum[..CHECKSUM_NAME_LEN];
        self.entries_dir
            .join(format!("{key}.{short}{ARCHIVE_SUFFIX}"))
    }

    /// Packs outputs and log, and stores them: what the runner calls after a task
    /// succeeded. Packs in the store's own directory so that storing links the archive
    /// instead of copying it. Returns the artifact, to put in other stores too.
    pub fn put_outputs(&self, request: &PackRequest<'_>) -> Result<Artifact, StoreError> {
        fs::create_dir_all(&self.entries_dir).store_path(&self.entries_dir)?;
        let artifact = Artifact::pack(request, &self.entries_dir)?;
        self.put(&artifact)?;
        Ok(artifact)
    }

    /// Removes the entry of `key`: its metadata first, so it stops existing at once, then
    /// its archive. Returns whether there was an entry.
    pub fn remove(&self, key: &CacheKey) -> Result<bool, StoreError> {
        let checksum = self.stored_checksum(key);
        let meta_path = self.meta_path(key);
        match fs::remove_file(&meta_path) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(err) => {
                return Err(StoreError::Io {
                    path: meta_path,
                    source: err,
                })
            }
        }
        let manifest = self.side_path(&SideName::Manifest(*key));
        match fs::remove_file(&manifest) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => {
                return Err(StoreError::Io {
                    path: manifest,
                    source: err,
                });
            }
            _ => {}
        }
        if let Some(checksum) = checksum {
            let archive = self.archive_path(key, &checksum);
            match fs::remove_file(&archive) {
                Err(err) if err.kind() != io::ErrorKind::NotFound => {
                    return Err(StoreError::Io {
                        path: archive,
                        source: err,
                    });
                }
                _ => {}
            }
        }
        Ok(true)
    }

    /// Removes temporary files and archives that no metadata names, once older than the
    /// orphan grace period.
    pub fn prune(&self) -> Result<PruneReport, StoreError> {
        let mut report = PruneReport::default();
        let dir = &self.entries_dir;
        for entry in folder_entries(dir) {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_file() || !self.is_stale(&meta) {
                continue;
            }
            let orphan = if name.starts_with(TEMP_PREFIX) {
                report.temp_files += 1;
                true
            } else if let Some(key) = parse_manifest_name(name) {
                let orphan = !self.meta_path(&key).exists();
                report.orphan_archives += u64::from(orphan);
                orphan
            } else if let Some((key, short)) = parse_archive_name(name) {
                let named = self.stored_checksum(&key);
                let orphan = named.is_none_or(|sum| !sum.to_string().starts_with(short));
                report.orphan_archives += u64::from(orphan);
                orphan
            } else {
                false
            };
            if orphan {
                let path = entry.path().to_path_buf();
                match fs::remove_file(&path) {
                    Ok(()) => report.bytes += meta.len(),
                    Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                    Err(err) => return Err(StoreError::Io { path, source: err }),
                }
            }
        }
        Ok(report)
    }

    /// Removes the temporary files that killed runs left behind, in the entries folder and
    /// in the cache folder (output records, stat cache): those named after a process that
    /// is gone, and any other temporary file older than the orphan grace period. A live
    /// writer's files are never touched. Returns what was removed.
    pub fn clean_temp(&self) -> Result<PruneReport, StoreError> {
        let mut report = PruneReport::default();
        for dir in [self.entries_dir.as_path(), self.cache_dir.as_path()] {
            for entry in folder_entries(dir) {
                let entry = entry?;
                let name = entry.file_name();
                let Some(name) = name.to_str() else { continue };
                if !name.starts_with(".tmp") {
                    continue;
                }
                let Ok(meta) = entry.metadata() else { continue };
                if meta.is_dir() {
                    continue;
                }
                let garbage = match temp_owner(name) {
                    Some(pid) => pid != std::process::id() && !process_alive(pid),
                    None => self.is_stale(&meta),
                };
                if !garbage {
                    continue;
                }
                let path = entry.path().to_path_buf();
                match fs::remove_file(&path) {
                    Ok(()) => {
                        report.temp_files += 1;
                        report.bytes += meta.len();
                    }
                    Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                    Err(err) => return Err(StoreError::Io { path, source: err }),
                }
            }
        }
        Ok(report)
    }

    /// Applies `limits`, least recently used first: removes the entries unused for longer
    /// than `max_age`, then, while the entries take more than `max_size`, the least
    /// recently used. An entry's last use is its metadata's mtime, which every lookup that
    /// finds it ([`CacheStore::fetch`], [`LocalStore::peek`]) sets to now. With `dry`,
    /// removes nothing and reports what it would remove.
    pub fn evict(&self, limits: CacheLimits, dry: bool) -> Result<EvictReport, StoreError> {
        let mut report = EvictReport::default();
        let dir = &self.entries_dir;
        // (last used, key, bytes)
        let mut entries = Vec::new();
        for entry in folder_entries(dir) {
            let entry = entry?;
            let name = entry.file_name();
            let Some(key) = name
                .to_str()
                .and_then(|n| n.strip_suffix(META_SUFFIX))
                .and_then(|k| k.parse::<CacheKey>().ok())
            else {
                continue;
            };
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            let used = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
            let archive = self
                .stored_checksum(&key)
                .and_then(|sum| fs::symlink_metadata(self.archive_path(&key, &sum)).ok())
                .map_or(0, |m| m.len());
            let manifest = fs::symlink_metadata(self.side_path(&SideName::Manifest(key)))
                .map_or(0, |m| m.len());
            entries.push((used, key, meta.len() + archive + manifest));
        }
        entries.sort();
        let now = std::time::SystemTime::now();
        let mut total: u64 = entries.iter().map(|(_, _, bytes)| bytes).sum();
        for (used, key, bytes) in entries {
            let expired = limits
                .max_age
                .is_some_and(|max| now.duration_since(used).is_ok_and(|age| age > max));
            let over = limits.max_size.is_some_and(|max| total > max);
            if !(expired || over) {
                report.kept += 1;
                report.kept_bytes += bytes;
                continue;
            }
            if !dry {
                self.remove(&key)?;
            }
            total -= bytes;
            report.bytes += bytes;
            if expired {
                report.expired += 1;
            } else {
                report.evicted += 1;
            }
        }
        Ok(report)
    }

    /// Marks `key`'s entry used now (its metadata's mtime), for [`LocalStore::evict`].
    /// Best effort: a cache on a read-only file system just keeps its times.
    fn mark_used(&self, key: &CacheKey) {
        // By path, never opening the file (a FIFO swapped in would block an open), and on
        // a symlink itself rather than what it points to.
        #[cfg(unix)]
        {
            let Ok(now) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) else {
                return;
            };
            let Ok(seconds) = i64::try_from(now.as_secs()) else {
                return;
            };
            let now = rustix::fs::Timespec {
                tv_sec: seconds,
                tv_nsec: now.subsec_nanos().into(),
            };
            let times = rustix::fs::Timestamps {
                last_access: now,
                last_modification: now,
            };
            let _ = rustix::fs::utimensat(
                rustix::fs::CWD,
                self.meta_path(key).as_path(),
                &times,
                rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
            );
        }
    }

    /// The metadata of `key`'s entry if it looks usable: the metadata parses and its archive
    /// has the recorded size. The archive's checksum is not verified (that is
    /// [`CacheStore::fetch`]'s job): this is for reporting a cache state, or for a hit whose
    /// outputs are already on disk and need no archive.
    pub fn peek(&self, key: &CacheKey) -> Result<Option<ArtifactMeta>, StoreError> {
        let Some(Ok(meta)) = self.read_meta(key)? else {
            return Ok(None);
        };
        let archive = self.archive_path(key, &meta.archive.blake3);
        let usable = fs::metadata(archive)
            .is_ok_and(|found| found.is_file() && found.len() == meta.archive.size);
        if usable {
            self.mark_used(key);
        }
        Ok(usable.then_some(meta))
    }

    /// Where the side file `name` (a task's recent-entries index, an entry's manifest) is:
    /// under the entries folder (docs/cache.md).
    pub fn side_path(&self, name: &SideName) -> PathBuf {
        self.entries_dir.join(name.relative_path())
    }

    /// The bytes of the side file `name`, `None` when there is none. A file that is not a
    /// regular file or is larger than `cap` is [`SideError::Corrupt`].
    pub(crate) fn read_side(
        &self,
        name: &SideName,
        cap: u64,
    ) -> Result<Option<Vec<u8>>, SideError> {
        let path = self.side_path(name);
        match crate::open::read_capped(&path, cap) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(err) if err.is_not_found() => Ok(None),
            Err(OpenError::Io(source)) => Err(SideError::Io { path, source }),
            Err(err) => Err(SideError::Corrupt {
                name: name.clone(),
                location: path.display().to_string(),
                reason: SideCorruption::Unsafe(err),
            }),
        }
    }

    /// Writes the side file `name` atomically (a temporary file in the entries folder,
    /// renamed into place). Not fsynced, unlike entries: a side file lost or torn by a crash
    /// is read as absent or corrupt, which costs an explanation, never a wrong hit, and
    /// skipping the two fsyncs keeps a cold run's cost of manifests and indexes small.
    pub(crate) fn write_side(&self, name: &SideName, bytes: &[u8]) -> Result<(), SideError> {
        let path = self.side_path(name);
        let parent = path.parent().unwrap_or(&self.entries_dir).to_path_buf();
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| SideError::Io { path, source }
        };
        fs::create_dir_all(&parent).map_err(io(&parent))?;
        // Temporary files live in the entries folder itself, where `clean_temp` looks.
        let mut temp = tempfile::Builder::new()
            .prefix(&temp_prefix())
            .tempfile_in(&self.entries_dir)
            .map_err(io(&self.entries_dir))?;
        temp.write_all(bytes).map_err(io(temp.path()))?;
        make_readable(temp.path()).map_err(io(temp.path()))?;
        temp.persist(&path).map_err(|err| SideError::Io {
            path: path.clone(),
            source: err.error,
        })?;
        Ok(())
    }

    /// Stores the input manifest (its JSON, as the hashing crate writes it) of `key`'s
    /// entry, compressed, beside the entry's metadata: `<key>.manifest.zst`. Removed with
    /// the entry.
    pub fn put_manifest(&self, key: &CacheKey, json: &[u8]) -> Result<(), SideError> {
        self.write_side(&SideName::Manifest(*key), &compress_manifest(json))
    }

    /// The JSON of `key`'s input manifest, `None` when there is none (no entry, or an entry
    /// of a mono that wrote none). A file that does not decompress is
    /// [`SideError::Corrupt`].
    pub fn manifest(&self, key: &CacheKey) -> Result<Option<Vec<u8>>, SideError> {
        let name = SideName::Manifest(*key);
        let Some(bytes) = self.read_side(&name, MAX_MANIFEST_LEN)? else {
            return Ok(None);
        };
        decompress_manifest(&bytes)
            .map(Some)
            .map_err(|reason| SideError::Corrupt {
                location: self.side_path(&name).display().to_string(),
                name,
                reason,
            })
    }

    /// The recent entries of `task_id`, newest first: its first is the last entry this
    /// checkout stored or restored. Empty when none was recorded; a bad index is
    /// [`SideError::Corrupt`] (warn, and treat it as empty).
    pub fn recent(&self, task_id: &str) -> Result<Vec<RecentEntry>, SideError> {
        let name = SideName::Index(task_id.to_owned());
        let Some(bytes) = self.read_side(&name, MAX_INDEX_LEN)? else {
            return Ok(Vec::new());
        };
        RecentIndex::from_json(&bytes, task_id)
            .map(|index| index.entries)
            .map_err(|reason| SideError::Corrupt {
                location: self.side_path(&name).display().to_string(),
                name,
                reason,
            })
    }

    /// Records that `entry` of `task_id` was stored or restored now: it becomes the head of
    /// the task's index. A bad index is replaced. Concurrent writers of one task id (two
    /// checkouts sharing this folder): the last one wins.
    pub fn record_recent(&self, task_id: &str, entry: RecentEntry) -> Result<(), SideError> {
        let mut index = match self.recent(task_id) {
            Ok(entries) => RecentIndex {
                entries,
                ..RecentIndex::new(task_id)
            },
            Err(SideError::Corrupt { .. }) => RecentIndex::new(task_id),
            Err(err) => return Err(err),
        };
        index.record(entry);
        self.write_side(&SideName::Index(task_id.to_owned()), &index.to_json())
    }

    fn is_stale(&self, meta: &fs::Metadata) -> bool {
        meta.modified()
            .ok()
            .and_then(|modified| modified.elapsed().ok())
            .is_some_and(|age| age >= self.orphan_grace)
    }

    /// The checksum the current metadata of `key` names, if it is readable.
    fn stored_checksum(&self, key: &CacheKey) -> Option<Checksum> {
        let bytes = crate::open::read_capped(&self.meta_path(key), MAX_META_LEN).ok()?;
        Some(ArtifactMeta::from_json(&bytes, key).ok()?.archive.blake3)
    }

    fn read_meta(
        &self,
        key: &CacheKey,
    ) -> Result<Option<Result<ArtifactMeta, Corruption>>, StoreError> {
        // Never blocks on a FIFO, never reads a device or a huge file (docs/security.md).
        let path = self.meta_path(key);
        match crate::open::read_capped(&path, MAX_META_LEN) {
            Ok(bytes) => Ok(Some(ArtifactMeta::from_json(&bytes, key))),
            Err(err) if err.is_not_found() => Ok(None),
            Err(OpenError::Io(err)) => Err(StoreError::Io { path, source: err }),
            Err(err) => Ok(Some(Err(Corruption::Unsafe(err)))),
        }
    }

    fn temp_name(&self) -> PathBuf {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        self.entries_dir
            .join(format!("{TEMP_PREFIX}{}-{n}", std::process::id()))
    }

    /// Gives the artifact's archive a temporary name in the entries directory, its data on
    /// disk: a hard link when the artifact's file is on the same filesystem, else a copy.
    fn place_archive(&self, artifact: &Artifact) -> Result<PathBuf, StoreError> {
        loop {
            let temp = self.temp_name();
            match fs::hard_link(artifact.archive_path(), &temp) {
                Ok(()) => {
                    let linked = fs::metadata(&temp).store_path(&temp)?.len();
                    if linked == artifact.meta().archive.size {
                        artifact.file().sync_all().store_path(&temp)?;
                        return Ok(temp);
                    }
                    // The file at the artifact's path is no longer its archive: copy instead.
                    fs::remove_file(&temp).store_path(&temp)?;
                }
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(_) => {}
            }
            let mut file = match OpenOptions::new().write(true).create_new(true).open(&temp) {
                Ok(file) => file,
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(err) => {
                    return Err(StoreError::Io {
                        path: temp,
                        source: err,
                    })
                }
            };
            let copied = artifact::copy_archive(artifact, &mut file)
                .and_then(|_| file.flush())
                .and_then(|()| file.sync_all());
            if let Err(err) = copied {
                let _ = fs::remove_file(&temp);
                return Err(StoreError::Io {
                    path: temp,
                    source: err,
                });
            }
            return Ok(temp);
        }
    }

    fn remove_if_stale(&self, path: &Path) {
        if fs::metadata(path).is_ok_and(|meta| self.is_stale(&meta)) {
            // Best effort: a leftover is harmless, and prune retries.
            let _ = fs::remove_file(path);
        }
    }
}

impl CacheStore for LocalStore {
    fn exists(&self, key: &CacheKey) -> Result<bool, StoreError> {
        Ok(self.peek(key)?.is_some())
    }

    fn fetch(&self, key: &CacheKey) -> Result<Lookup, StoreError> {
        let corrupt = |location: &Path, reason| {
            Lookup::Corrupt(CorruptEntry {
                key: *key,
                location: location.display().to_string(),
                reason,
            })
        };
        // A second try covers a concurrent put replacing the entry between reading the
        // metadata and opening the archive it names.
        let mut retried = false;
        loop {
            let meta = match self.read_meta(key)? {
                None => return Ok(Lookup::Miss),
                Some(Ok(meta)) => meta,
                Some(Err(reason)) => return Ok(corrupt(&self.meta_path(key), reason)),
            };
            let path = self.archive_path(key, &meta.archive.blake3);
            match Artifact::from_file(meta, &path) {
                Ok(artifact) => {
                    self.mark_used(key);
                    return Ok(Lookup::Hit(artifact));
                }
                Err(Corruption::MissingArchive) if !retried => retried = true,
                Err(reason) => return Ok(corrupt(&path, reason)),
            }
        }
    }

    fn put(&self, artifact: &Artifact) -> Result<(), StoreError> {
        let dir = &self.entries_dir;
        fs::create_dir_all(dir).store_path(dir)?;
        let meta = artifact.meta();
        let key = meta.hash;

        let temp = self.place_archive(artifact)?;
        let archive = self.archive_path(&key, &meta.archive.blake3);
        let placed = make_readable(&temp).and_then(|()| fs::rename(&temp, &archive));
        // Renaming onto another link of the same file does nothing: drop the temp name.
        let _ = fs::remove_file(&temp);
        placed.store_path(&archive)?;
        sync_dir(dir).store_path(dir)?;

        let previous = self.stored_checksum(&key);
        let meta_path = self.meta_path(&key);
        let mut json = tempfile::Builder::new()
            .prefix(&temp_prefix())
            .tempfile_in(dir)
            .store_path(dir)?;
        json.write_all(&meta.to_json()).store_path(json.path())?;
        json.as_file().sync_all().store_path(json.path())?;
        make_readable(json.path()).store_path(json.path())?;
        json.persist(&meta_path).map_err(|err| StoreError::Io {
            path: meta_path,
            source: err.error,
        })?;
        sync_dir(dir).store_path(dir)?;

        if let Some(previous) = previous.filter(|previous| *previous != meta.archive.blake3) {
            self.remove_if_stale(&self.archive_path(&key, &previous));
        }
        Ok(())
    }

    fn status(&self) -> Result<CacheStatus, StoreError> {
        let mut status = CacheStatus::default();
        let dir = &self.entries_dir;
        for entry in folder_entries(dir) {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let is_meta = name
                .strip_suffix(META_SUFFIX)
                .is_some_and(|key| key.parse::<CacheKey>().is_ok());
            if !is_meta && parse_archive_name(name).is_none() && parse_manifest_name(name).is_none()
            {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            status.entries += u64::from(is_meta);
            status.total_bytes += meta.len();
        }
        Ok(status)
    }
}

/// The entries of one folder of the cache (not below it); a folder that is not there has
/// none, a file in its place is an error.
fn folder_entries(dir: &Path) -> impl Iterator<Item = Result<walkdir::DirEntry, StoreError>> + '_ {
    walkdir::WalkDir::new(dir)
        .max_depth(1)
        .into_iter()
        .filter_map(move |entry| match entry {
            Ok(entry) if entry.depth() > 0 => Some(Ok(entry)),
            Ok(entry) if entry.file_type().is_dir() => None,
            Ok(_) => Some(Err(StoreError::Io {
                path: dir.to_path_buf(),
                source: io::Error::from(io::ErrorKind::NotADirectory),
            })),
            Err(err) => {
                let path = err.path().unwrap_or(dir).to_path_buf();
                let source = io::Error::from(err);
                (source.kind() != io::ErrorKind::NotFound || path != dir)
                    .then_some(Err(StoreError::Io { path, source }))
            }
        })
}

/// The key of `<key>.manifest.zst`.
fn parse_manifest_name(name: &str) -> Option<CacheKey> {
    name.strip_suffix(MANIFEST_SUFFIX)?.parse().ok()
}

/// Splits `<key>.<16 hex>.tar.zst`.
fn parse_archive_name(name: &str) -> Option<(CacheKey, &str)> {
    let stem = name.strip_suffix(ARCHIVE_SUFFIX)?;
    let (key, short) = stem.split_once('.')?;
    let valid = short.len() == CHECKSUM_NAME_LEN && short.bytes().all(|b| b.is_ascii_hexdigit());
    valid.then_some(())?;
    Some((key.parse().ok()?, short))
}

/// Temporary files are created owner-only; entries are as readable as other files.
#[cfg(unix)]
fn make_readable(path: &Path) -> io::Result<()> {
    crate::archive::set_mode(path, 0o644)
}

#[cfg(not(unix))]
fn make_readable(_path: &Path) -> io::Result<()> {
    Ok(())
}

/// Makes renames in `dir` durable.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::thread;

    use super::*;

    #[test]
    fn a_folder_lists_its_own_entries_none_when_missing_and_fails_when_a_file() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("v2");
        assert_eq!(folder_entries(&dir).count(), 0);
        fs::create_dir_all(dir.join("nested")).unwrap();
        fs::write(dir.join("a.json"), "{}").unwrap();
        fs::write(dir.join("nested/b.json"), "{}").unwrap();
        let mut names: Vec<String> = folder_entries(&dir)
            .map(|entry| entry.unwrap().file_name().to_str().unwrap().to_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["a.json", "nested"]);
        let file = tmp.path().join("file");
        fs::write(&file, "").unwrap();
        let errors: Vec<_> = folder_entries(&file).collect();
        assert!(matches!(&errors[..], [Err(StoreError::Io { path, .. })] if *path == file));
    }
    use crate::fixture::{self, paths, snapshot, write_file, Sandbox};
    use crate::meta::TaskInfo;

    fn store(sandbox: &Sandbox) -> LocalStore {
        LocalStore::new(sandbox.cache_dir())
    }

    fn put(store: &LocalStore, sandbox: &Sandbox, key: CacheKey, log: &[u8]) -> Artifact {
        let outputs = paths(&["dist"]);
        let task = fixture::task();
        let request = PackRequest {
            key,
            task: &task,
            repo_root: &sandbox.repo,
            outputs: &outputs,
            log,
        };
        store.put_outputs(&request).unwrap()
    }

    fn names(store: &LocalStore) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(store.entries_dir())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    fn corrupt_reason(lookup: Lookup) -> Corruption {
        match lookup {
            Lookup::Corrupt(entry) => entry.reason,
            other => panic!("expected a corrupt entry, got {other:?}"),
        }
    }

    fn sandbox_with_outputs() -> Sandbox {
        let sandbox = Sandbox::new();
        write_file(&sandbox.repo, "dist/app.js", &[b'a'; 4096], 0o644);
        write_file(&sandbox.repo, "dist/bin/tool", b"#!/bin/sh\n", 0o755);
        sandbox
    }

    #[test]
    fn put_then_fetch_restores_and_follows_the_documented_layout() {
        let sandbox = sandbox_with_outputs();
        let store = store(&sandbox);
        let key = fixture::key("web#build");
        assert!(!store.exists(&key).unwrap());
        assert!(matches!(store.fetch(&key).unwrap(), Lookup::Miss));
        assert_eq!(store.status().unwrap(), CacheStatus::default());

        let artifact = put(&store, &sandbox, key, b"building\n");
        let checksum = artifact.meta().archive.blake3;
        drop(artifact);
        let short = &checksum.to_string()[..16];
        assert_eq!(
            store.entries_dir(),
            sandbox.cache_dir().join("v2").as_path()
        );
        assert_eq!(
            names(&store),
            [format!("{key}.{short}.tar.zst"), format!("{key}.json")]
        );
        assert_eq!(store.cache_dir(), &sandbox.cache_dir());

        let json: serde_json::Value =
            serde_json::from_slice(&fs::read(store.meta_path(&key)).unwrap()).unwrap();
        assert_eq!(json["version"], 2);
        assert_eq!(json["hash"], key.to_string());
        assert_eq!(json["taskId"], "web#build");
        assert_eq!(json["durationMs"], 1234);
        assert_eq!(json["exitCode"], 0);
        assert_eq!(json["archive"]["blake3"], checksum.to_string());

        assert!(store.exists(&key).unwrap());
        let status = store.status().unwrap();
        assert_eq!(status.entries, 1);
        let on_disk: u64 = fs::read_dir(store.entries_dir())
            .unwrap()
            .map(|entry| entry.unwrap().metadata().unwrap().len())
            .sum();
        assert_eq!(status.total_bytes, on_disk);

        let Lookup::Hit(artifact) = store.fetch(&key).unwrap() else {
            panic!("expected a hit")
        };
        assert_eq!(artifact.meta().task, fixture::task());
        let target = sandbox.second_repo();
        let restored = artifact
            .restore(&target, &crate::RestorePolicy::any_output())
            .unwrap();
        assert_eq!(restored.log, b"building\n");
        let tree = snapshot(target.as_path());
        assert_eq!(tree, snapshot(sandbox.repo.as_path()));
    }

    #[test]
    fn recent_index_records_newest_first_and_survives_a_bad_file() {
        let sandbox = Sandbox::new();
        let store = store(&sandbox);
        assert!(store.recent("web#build").unwrap().is_empty());
        let entry = |n: u8| crate::RecentEntry {
            key: CacheKey::from_bytes([n; 32]),
            duration_ms: u64::from(n),
            at: 1000 + u64::from(n),
        };
        store.record_recent("web#build", entry(1)).unwrap();
        store.record_recent("web#build", entry(2)).unwrap();
        store.record_recent("api#build", entry(3)).unwrap();
        assert_eq!(store.recent("web#build").unwrap(), [entry(2), entry(1)]);
        assert_eq!(store.recent("api#build").unwrap(), [entry(3)]);
        // Restoring an older entry makes it the head again.
        store.record_recent("web#build", entry(1)).unwrap();
        assert_eq!(store.recent("web#build").unwrap(), [entry(1), entry(2)]);
        // The documented place, and no temporary file left behind.
        let path = store.side_path(&crate::SideName::Index("web#build".into()));
        assert_eq!(
            path,
            store
                .entries_dir()
                .join("index")
                .join(format!("{}.json", blake3::hash(b"web#build").to_hex()))
        );
        assert_eq!(names(&store), ["index"]);
        // Index folders are not entries.
        assert_eq!(store.status().unwrap(), CacheStatus::default());

        fs::write(&path, b"{not json").unwrap();
        let err = store.recent("web#build").unwrap_err();
        assert!(matches!(err, crate::SideError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("treating it as absent"), "{err}");
        store.record_recent("web#build", entry(4)).unwrap();
        assert_eq!(store.recent("web#build").unwrap(), [entry(4)]);
        // Another task's index copied over this one's is refused.
        fs::copy(
            store.side_path(&crate::SideName::Index("api#build".into())),
            &path,
        )
        .unwrap();
        assert!(matches!(
            store.recent("web#build"),
            Err(crate::SideError::Corrupt {
                reason: crate::SideCorruption::OtherOwner { .. },
                ..
            })
        ));
    }

    #[test]
    fn same_outputs_are_stored_once_and_putting_twice_leaves_no_temp_file() {
        let sandbox = sandbox_with_outputs();
        let store = store(&sandbox);
        let key = fixture::key("k");
        let artifact = put(&store, &sandbox, key, b"log");
        store.put(&artifact).unwrap();
        let again = put(&store, &sandbox, key, b"log");
        assert_eq!(again.meta(), artifact.meta());
        drop((artifact, again));
        assert_eq!(names(&store).len(), 2, "{:?}", names(&store));
    }

    #[test]
    fn truncated_archive_is_corrupt_until_put_replaces_it() {
        let sandbox = sandbox_with_outputs();
        let store = store(&sandbox).with_orphan_grace(Duration::ZERO);
        let key = fixture::key("k");
        let meta = put(&store, &sandbox, key, b"log").meta().clone();
        let archive = store.archive_path(&key, &meta.archive.blake3);
        let file = OpenOptions::new().write(true).open(&archive).unwrap();
        file.set_len(meta.archive.size / 2).unwrap();

        assert!(!store.exists(&key).unwrap());
        let lookup = store.fetch(&key).unwrap();
        let Lookup::Corrupt(entry) = lookup else {
            panic!("expected corrupt")
        };
        assert_eq!(entry.location, archive.display().to_string());
        assert!(entry.to_string().contains("is corrupt"), "{entry}");
        assert!(
            matches!(entry.reason, Corruption::SizeMismatch { found, .. } if found == meta.archive.size / 2)
        );

        put(&store, &sandbox, key, b"log");
        assert!(store.exists(&key).unwrap());
        assert!(store
            .fetch(&key)
            .unwrap()
            .into_hit()
            .unwrap()
            .restore(&sandbox.second_repo(), &crate::RestorePolicy::any_output())
            .is_ok());
    }

    #[test]
    fn bit_flipped_archive_is_corrupt_until_put_replaces_it() {
        let sandbox = sandbox_with_outputs();
        let store = store(&sandbox);
        let key = fixture::key("k");
        let meta = put(&store, &sandbox, key, b"log").meta().clone();
        let archive = store.archive_path(&key, &meta.archive.blake3);
        let mut bytes = fs::read(&archive).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
        fs::write(&archive, &bytes).unwrap();

        assert!(matches!(
            corrupt_reason(store.fetch(&key).unwrap()),
            Corruption::ChecksumMismatch { expected, .. } if expected == meta.archive.blake3
        ));
        put(&store, &sandbox, key, b"log");
        assert!(store.fetch(&key).unwrap().is_hit());
    }

    #[test]
    fn bad_metadata_is_corrupt_until_put_replaces_it() {
        let sandbox = sandbox_with_outputs();
        let store = store(&sandbox);
        let key = fixture::key("k");
        let artifact = put(&store, &sandbox, key, b"log");
        let good = fs::read(store.meta_path(&key)).unwrap();

        type Case = (Vec<u8>, fn(&Corruption) -> bool);
        let cases: Vec<Case> = vec![
            (good[..good.len() / 2].to_vec(), |reason| {
                matches!(reason, Corruption::BadMetadata(_))
            }),
            (b"not json".to_vec(), |reason| {
                matches!(reason, Corruption::BadMetadata(_))
            }),
            (
                String::from_utf8(good.clone())
                    .unwrap()
                    .replace("\"version\": 2", "\"version\": 99")
                    .into_bytes(),
                |reason| matches!(reason, Corruption::UnsupportedVersion { found: 99 }),
            ),
        ];
        for (bytes, expected) in cases {
            fs::write(store.meta_path(&key), &bytes).unwrap();
            assert!(!store.exists(&key).unwrap());
            let reason = corrupt_reason(store.fetch(&key).unwrap());
            assert!(expected(&reason), "{reason:?}");
        }

        // Another key's metadata copied over: foreign.
        let other = fixture::key("other");
        fs::write(store.meta_path(&other), &good).unwrap();
        assert!(matches!(
            corrupt_reason(store.fetch(&other).unwrap()),
            Corruption::KeyMismatch { found } if found == key
        ));

        store.put(&artifact).unwrap();
        assert!(store.fetch(&key).unwrap().is_hit());
    }

    #[test]
    fn missing_or_foreign_archive_is_corrupt() {
        let sandbox = sandbox_with_outputs();
        let store = store(&sandbox);
        let key = fixture::key("k");
        let meta = put(&store, &sandbox, key, b"log").meta().clone();
        let archive = store.archive_path(&key, &meta.archive.blake3);
        fs::remove_file(&archive).unwrap();
        assert!(!store.exists(&key).unwrap());
        assert!(matches!(
            corrupt_reason(store.fetch(&key).unwrap()),
            Corruption::MissingArchive
        ));

        // Bytes that match their metadata but are not zstd.
        let foreign = b"PK\x03\x04 a zip file, say".to_vec();
        let mut meta = meta;
        meta.archive = crate::meta::ArchiveInfo {
            blake3: Checksum::of(&foreign),
            size: foreign.len() as u64,
        };
        fs::write(store.archive_path(&key, &meta.archive.blake3), &foreign).unwrap();
        fs::write(store.meta_path(&key), meta.to_json()).unwrap();
        assert!(matches!(
            corrupt_reason(store.fetch(&key).unwrap()),
            Corruption::NotZstd
        ));
    }

    #[test]
    fn leftovers_of_killed_writers_are_not_entries() {
        let sandbox = sandbox_with_outputs();
        let store = store(&sandbox);
        let key = fixture::key("k");
        // Killed while writing the archive, and while writing the metadata: temp files.
        fs::create_dir_all(store.entries_dir()).unwrap();
        fs::write(
            store.entries_dir().join(".tmp-4242-0"),
            b"\x28\xb5\x2f\xfd half an archive",
        )
        .unwrap();
        fs::write(
            store.entries_dir().join(".tmp-AbCdEf"),
            b"{\"version\": 1, \"hash\"",
        )
        .unwrap();
        // Killed between renaming the archive and writing the metadata.
        let elsewhere = sandbox.dir.path().join("elsewhere");
        fs::create_dir(&elsewhere).unwrap();
        let artifact = fixture::pack(&sandbox.repo, &["dist"], b"log", &elsewhere);
        fs::copy(
            artifact.archive_path(),
            store.archive_path(&key, &artifact.meta().archive.blake3),
        )
        .unwrap();

        assert!(!store.exists(&key).unwrap());
        assert!(matches!(store.fetch(&key).unwrap(), Lookup::Miss));
        assert_eq!(store.status().unwrap().entries, 0);

        // Young leftovers may belong to a live writer: kept.
        assert_eq!(store.prune().unwrap(), PruneReport::default());
        let report = store
            .clone()
            .with_orphan_grace(Duration::ZERO)
            .prune()
            .unwrap();
        assert_eq!((report.temp_files, report.orphan_archives), (2, 1));
        assert!(report.bytes > 0);
        assert!(names(&store).is_empty(), "{:?}", names(&store));

        // The key is then stored as if nothing happened.
        store.put(&artifact).unwrap();
        assert!(store.fetch(&key).unwrap().is_hit());
        assert_eq!(store.status().unwrap().entries, 1);
    }

    #[test]
    fn replacing_an_entry_removes_its_old_archive() {
        let sandbox = sandbox_with_outputs();
        let store = store(&sandbox).with_orphan_grace(Duration::ZERO);
        let key = fixture::key("k");
        drop(put(&store, &sandbox, key, b"first run"));
        drop(put(&store, &sandbox, key, b"second run"));
        assert_eq!(names(&store).len(), 2, "{:?}", names(&store));
        let artifact = store.fetch(&key).unwrap().into_hit().unwrap();
        assert_eq!(artifact.read_log().unwrap(), b"second run");

        // With the default grace, a fresh archive is kept for prune.
        let patient = LocalStore::new(sandbox.cache_dir());
        drop(put(&patient, &sandbox, key, b"third run"));
        assert_eq!(names(&store).len(), 3);
        assert_eq!(store.prune().unwrap().orphan_archives, 1);
        assert_eq!(
            store
                .fetch(&key)
                .unwrap()
                .into_hit()
                .unwrap()
                .read_log()
                .unwrap(),
            b"third run"
        );
    }

    #[test]
    fn remove_makes_the_entry_disappear() {
        let sandbox = sandbox_with_outputs();
        let store = store(&sandbox);
        let key = fixture::key("k");
        drop(put(&store, &sandbox, key, b"log"));
        assert!(store.remove(&key).unwrap());
        assert!(!store.remove(&key).unwrap());
        assert!(matches!(store.fetch(&key).unwrap(), Lookup::Miss));
        assert!(names(&store).is_empty());
    }

    #[test]
    fn a_fetched_artifact_survives_removal_and_copies_into_another_store() {
        let sandbox = sandbox_with_outputs();
        let first = store(&sandbox);
        let key = fixture::key("k");
        drop(put(&first, &sandbox, key, b"log"));
        let artifact = first.fetch(&key).unwrap().into_hit().unwrap();
        first.remove(&key).unwrap();

        // Its file is gone: the second store copies from the open handle.
        let second = LocalStore::new(AbsPath::new(sandbox.dir.path().join("cache2")).unwrap());
        second.put(&artifact).unwrap();
        let copy = second.fetch(&key).unwrap().into_hit().unwrap();
        assert_eq!(copy.meta(), artifact.meta());
        assert_eq!(copy.read_log().unwrap(), b"log");
    }

    #[test]
    fn concurrent_writers_and_readers_of_one_key_never_see_a_bad_entry() {
        let sandbox = sandbox_with_outputs();
        let store = Arc::new(store(&sandbox));
        let key = fixture::key("k");
        let repo = Arc::new(sandbox.repo.clone());
        let logs: Vec<Vec<u8>> = (0..4).map(|i| format!("run {i}\n").into_bytes()).collect();
        drop(put(&store, &sandbox, key, &logs[0]));

        let writers = (0..4).map(|i| {
            let (store, repo, log) = (Arc::clone(&store), Arc::clone(&repo), logs[i].clone());
            thread::spawn(move || {
                let outputs = paths(&["dist"]);
                let task = TaskInfo {
                    task_id: format!("web#build{i}"),
                    duration_ms: i as u64,
                    exit_code: 0,
                };
                for _ in 0..15 {
                    let request = PackRequest {
                        key,
                        task: &task,
                        repo_root: &repo,
                        outputs: &outputs,
                        log: &log,
                    };
                    store.put_outputs(&request).unwrap();
                }
            })
        });
        let writers: Vec<_> = writers.collect();
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (store, logs) = (Arc::clone(&store), logs.clone());
                thread::spawn(move || {
                    for _ in 0..60 {
                        match store.fetch(&key).unwrap() {
                            Lookup::Hit(artifact) => {
                                let log = artifact.read_log().unwrap();
                                assert!(logs.contains(&log));
                                let id = &artifact.meta().task.task_id;
                                let i: usize =
                                    id.trim_start_matches("web#build").parse().unwrap_or(0);
                                assert!(i == 0 || log == logs[i], "metadata and archive disagree");
                            }
                            other => panic!("expected a hit, got {other:?}"),
                        }
                    }
                })
            })
            .collect();
        for handle in writers.into_iter().chain(readers) {
            handle.join().unwrap();
        }
        assert!(store.fetch(&key).unwrap().is_hit());
        assert_eq!(store.status().unwrap().entries, 1);
        assert!(
            !names(&store)
                .iter()
                .any(|name| name.starts_with(TEMP_PREFIX)),
            "{:?}",
            names(&store)
        );
    }

    /// Set in the child process of [`a_killed_writer_never_leaves_a_half_entry`].
    const CHILD_ENV: &str = "MONO_CACHE_TEST_WRITER";

    /// Stores entries over and over (five keys, new logs each time) until killed.
    fn write_until_killed(dirs: &str) -> ! {
        let (repo, cache) = dirs.split_once('\n').unwrap();
        let repo = AbsPath::new(repo).unwrap();
        let store = LocalStore::new(AbsPath::new(cache).unwrap()).with_orphan_grace(Duration::ZERO);
        let outputs = paths(&["dist"]);
        let task = fixture::task();
        for round in 0u64.. {
            let log = format!("round {round}\n").repeat(1000);
            let key = fixture::key(&format!("{}", round % 5));
            let request = PackRequest {
                key,
                task: &task,
                repo_root: &repo,
                outputs: &outputs,
                log: log.as_bytes(),
            };
            store.put_outputs(&request).unwrap();
        }
        unreachable!()
    }

    #[test]
    fn a_killed_writer_never_leaves_a_half_entry() {
        if let Ok(dirs) = std::env::var(CHILD_ENV) {
            write_until_killed(&dirs);
        }
        let sandbox = Sandbox::new();
        for i in 0..20 {
            write_file(
                &sandbox.repo,
                &format!("dist/{i}.bin"),
                &vec![i as u8; 50_000],
                0o644,
            );
        }
        let store = store(&sandbox);
        for delay_ms in [0, 37, 150, 301] {
            let mut child = std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "local::tests::a_killed_writer_never_leaves_a_half_entry",
                ])
                .env(
                    CHILD_ENV,
                    format!("{}\n{}", sandbox.repo, sandbox.cache_dir()),
                )
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            // Wait for a first entry (a loaded machine starts processes slowly), then kill
            // the writer at some point of a later put.
            let start = std::time::Instant::now();
            while store.status().unwrap().entries == 0 && start.elapsed() < Duration::from_secs(30)
            {
                thread::sleep(Duration::from_millis(10));
            }
            thread::sleep(Duration::from_millis(delay_ms));
            child.kill().unwrap(); // SIGKILL: no destructor, no cleanup
            child.wait().unwrap();

            let mut hits = 0;
            for k in 0..5 {
                match store.fetch(&fixture::key(&format!("{k}"))).unwrap() {
                    Lookup::Hit(artifact) => {
                        assert!(artifact.read_log().unwrap().starts_with(b"round "));
                        hits += 1;
                    }
                    Lookup::Miss => {}
                    Lookup::Corrupt(entry) => panic!("killed after {delay_ms} ms: {entry}"),
                }
            }
            assert_eq!(store.status().unwrap().entries, hits);
        }
        // Whatever the writer left is cleaned up, and the entries stay.
        let entries = store.status().unwrap().entries;
        assert!(
            entries > 0,
            "the writer stored nothing before it was killed"
        );
        store
            .clone()
            .with_orphan_grace(Duration::ZERO)
            .prune()
            .unwrap();
        assert_eq!(store.status().unwrap().entries, entries);
        assert_eq!(
            names(&store).len() as u64,
            2 * entries,
            "{:?}",
            names(&store)
        );
    }

    #[test_case::test_case("0000000000000000000000000000000000000000000000000000000000000000.0123456789abcdef.tar.zst" => true ; "archive")]
    #[test_case::test_case("0000000000000000000000000000000000000000000000000000000000000000.tar.zst" => false ; "no checksum")]
    #[test_case::test_case("0000000000000000000000000000000000000000000000000000000000000000.0123.tar.zst" => false ; "short checksum")]
    #[test_case::test_case("xyz.0123456789abcdef.tar.zst" => false ; "bad key")]
    fn parses_archive_names(name: &str) -> bool {
        parse_archive_name(name).is_some()
    }

    #[test]
    fn temporary_files_of_dead_processes_go_and_live_ones_stay() {
        let sandbox = sandbox_with_outputs();
        let store = store(&sandbox);
        put(&store, &sandbox, fixture::key("a"), b"");
        // A pid that cannot be running (above Linux's pid_max), this process, and a name
        // without a pid that is young.
        let dead = store.entries_dir().join(".tmp-4194400-3");
        let ours = store.entries_dir().join(format!("{}x", temp_prefix()));
        let young = store.entries_dir().join(".tmpABCDEF");
        let records_temp = sandbox.cache_dir().join(".tmp-4194401-x").into_path_buf();
        for path in [&dead, &ours, &young, &records_temp] {
            fs::write(path, b"partial").unwrap();
        }
        let report = store.clean_temp().unwrap();
        assert_eq!(report.temp_files, 2, "{report:?}");
        assert!(!dead.exists() && !records_temp.exists());
        assert!(ours.exists() && young.exists());
        let aged = store.clone().with_orphan_grace(Duration::ZERO);
        aged.clean_temp().unwrap();
        assert!(
            !young.exists(),
            "an old temporary file without an owner goes"
        );
        assert!(ours.exists(), "this process's own never do");
        assert!(matches!(
            store.fetch(&fixture::key("a")).unwrap(),
            Lookup::Hit(_)
        ));
    }

    #[test]
    fn eviction_removes_expired_then_least_recently_used_entries() {
        let sandbox = sandbox_with_outputs();
        let store = store(&sandbox);
        let keys = ["a", "b", "c"].map(fixture::key);
        let age = |key: &CacheKey, secs: u64| {
            let file = fs::File::options()
                .write(true)
                .open(store.meta_path(key))
                .unwrap();
            file.set_modified(std::time::SystemTime::now() - Duration::from_secs(secs))
                .unwrap();
        };
        for (i, key) in keys.iter().enumerate() {
            put(&store, &sandbox, *key, format!("log {i}").as_bytes());
        }
        age(&keys[0], 10 * 86_400);
        age(&keys[1], 3600);
        age(&keys[2], 60);
        // A lookup marks an entry used: b becomes the most recent.
        assert!(store.peek(&keys[1]).unwrap().is_some());
        let total = store.status().unwrap().total_bytes;
        let one = total / 3;

        let limits = CacheLimits {
            max_size: Some(total - 1),
            max_age: Some(Duration::from_secs(7 * 86_400)),
        };
        let dry = store.evict(limits, true).unwrap();
        assert_eq!((dry.expired, dry.evicted, dry.kept), (1, 0, 2), "{dry:?}");
        assert_eq!(store.status().unwrap().entries, 3, "dry removes nothing");

        let limits = CacheLimits {
            max_size: Some(one + one / 2),
            max_age: Some(Duration::from_secs(7 * 86_400)),
        };
        let report = store.evict(limits, false).unwrap();
        assert_eq!((report.expired, report.evicted, report.kept), (1, 1, 1));
        assert!(matches!(store.fetch(&keys[0]).unwrap(), Lookup::Miss));
        assert!(matches!(store.fetch(&keys[2]).unwrap(), Lookup::Miss));
        assert!(matches!(store.fetch(&keys[1]).unwrap(), Lookup::Hit(_)));
        assert_eq!(store.evict(CacheLimits::default(), false).unwrap().kept, 1);
    }
}
