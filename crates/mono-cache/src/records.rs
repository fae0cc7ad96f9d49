//! Output records: what each task's outputs looked like on disk when the cache last wrote or
//! checked them, so that a hit whose outputs are still exactly so needs no archive at all.
//!
//! A warm cached run is the common case: the outputs on disk are the ones the entry holds,
//! and [`crate::Artifact::restore`] would decompress the whole archive only to find that
//! nothing needs writing. With a record, the hit costs one `lstat` per output instead; any
//! difference (a file edited, removed, replaced, re-created, chmod-ed, or a different entry)
//! falls back to the full restore, which then records again.
//!
//! # Format (`outputs-v2.json` in the cache directory)
//!
//! ```json
//! { "version": 2, "checksum": "<64 hex>",
//!   "tasks": { "web#build": { "key": "<64 hex>", "log": "built\n",
//!     "files": [ { "path": "apps/web/dist", "kind": "dir", "mode": 493 },
//!                { "path": "apps/web/dist/index.js", "kind": "file", "mode": 420,
//!                  "size": 12, "mtimeNs": 1, "ctimeNs": 1, "inode": 7 } ] } } }
//! ```
//!
//! Written to a temporary file and renamed over; a missing, unreadable or foreign file is an
//! empty set of records (records only save time). `checksum` is the blake3 of `tasks` as
//! mono serializes it (compact JSON, tasks sorted by id): a file edited by hand or damaged
//! (`"files": []` with the outputs deleted, another log) fails it and is ignored, so every
//! hit takes the full, verified restore. The file is opened without blocking and refused if
//! it is not a regular file or larger than 256 MiB. `log` is absent when the log is not UTF-8
//! or too large to keep here; such a task takes the full restore.
//!
//! # Racy outputs
//!
//! As in the stat cache (mono-hash), a file written twice within one tick of the filesystem
//! clock may keep its stamp. A task is therefore only recorded when every output's stamp is
//! settled ([`Stamp::is_settled`], mono-stamp): its mtime and ctime are strictly older than
//! the filesystem's clock ([`FsClock`], `clock.probe` in the cache directory) read *before*
//! the outputs were stat-ed, so any later change gives a different stamp.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Write;
use std::sync::Mutex;

use mono_paths::{AbsPath, RepoPath};
use mono_stamp::{FsClock, Stamp, StampKind};
use serde::{Deserialize, Serialize};

use crate::key::{CacheKey, Checksum};
use crate::policy::RestorePolicy;

/// The records file's name in the cache directory.
pub const OUTPUT_RECORDS_FILE: &str = "outputs-v2.json";
/// Where earlier versions read the filesystem clock: removed when the records are written.
const LEGACY_PROBE_FILE: &str = "outputs-v2.probe";
const VERSION: u32 = 2;
/// The largest records file read.
const MAX_FILE: u64 = 256 * 1024 * 1024;
/// Logs larger than this are not copied into the records: the full restore reads them.
const MAX_LOG: usize = 64 * 1024;

/// The kind of an output entry, as the file names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    File,
    Dir,
    Symlink,
}

/// One output's [`Stamp`] as the file holds it. Directories hold only kind and mode (as
/// their stamps do): files added to an output directory by someone else are left alone by
/// a restore too.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OutputStamp {
    path: String,
    kind: Kind,
    mode: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mtime_ns: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ctime_ns: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    inode: Option<u64>,
}

impl OutputStamp {
    fn new(path: &RepoPath, stamp: Stamp) -> OutputStamp {
        let (kind, contentful) = match stamp.kind {
            StampKind::File => (Kind::File, true),
            StampKind::Dir => (Kind::Dir, false),
            StampKind::Symlink => (Kind::Symlink, true),
        };
        OutputStamp {
            path: path.as_str().to_owned(),
            kind,
            mode: stamp.mode,
            size: contentful.then_some(stamp.size),
            mtime_ns: contentful.then_some(stamp.mtime_ns),
            ctime_ns: contentful.then_some(stamp.ctime_ns),
            inode: contentful.then_some(stamp.inode),
        }
    }

    /// The stamp held; `None` for a file or link that lacks one of its facts.
    fn stamp(&self) -> Option<Stamp> {
        let kind = match self.kind {
            Kind::File => StampKind::File,
            Kind::Dir => return Some(Stamp::new(StampKind::Dir, self.mode, 0, 0, 0, 0)),
            Kind::Symlink => StampKind::Symlink,
        };
        Some(Stamp::new(
            kind,
            self.mode,
            self.size?,
            self.mtime_ns?,
            self.ctime_ns?,
            self.inode?,
        ))
    }
}

/// What one task's outputs looked like after the cache restored or stored them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Record {
    key: CacheKey,
    /// The archive's checksum: a record is about one archive, and an entry replaced under
    /// the same key (a re-run, a download) is restored in full again.
    archive: Checksum,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    log: Option<String>,
    files: Vec<OutputStamp>,
}

#[derive(Deserialize)]
struct RecordsFile {
    version: u32,
    checksum: Checksum,
    tasks: BTreeMap<String, Record>,
}

/// The checksum of `tasks` as [`OutputRecords::save`] writes them.
fn checksum_of(tasks: &BTreeMap<&String, &Record>) -> Option<Checksum> {
    let bytes = serde_json::to_vec(tasks).ok()?;
    Some(Checksum::of(&bytes))
}

fn load(cache_dir: &AbsPath) -> Option<HashMap<String, Record>> {
    let path = cache_dir.join(OUTPUT_RECORDS_FILE);
    let bytes = crate::open::read_capped(path.as_path(), MAX_FILE).ok()?;
    let file: RecordsFile = serde_json::from_slice(&bytes).ok()?;
    if file.version != VERSION {
        return None;
    }
    let sorted: BTreeMap<&String, &Record> = file.tasks.iter().collect();
    if checksum_of(&sorted)? != file.checksum {
        return None;
    }
    Some(file.tasks.into_iter().collect())
}

/// The output records of one run: loaded once, changed by the run, saved once.
pub struct OutputRecords {
    dir: AbsPath,
    tasks: Mutex<HashMap<String, Record>>,
    changed: Mutex<bool>,
    clock: FsClock,
}

impl OutputRecords {
    /// Loads the records kept in `cache_dir`; any problem gives an empty set.
    pub fn open(cache_dir: &AbsPath) -> OutputRecords {
        let tasks = load(cache_dir).unwrap_or_default();
        OutputRecords {
            dir: cache_dir.clone(),
            tasks: Mutex::new(tasks),
            changed: Mutex::new(false),
            clock: FsClock::in_dir(cache_dir.as_path()),
        }
    }

    /// The log to replay when `task`'s outputs on disk are exactly as recorded for the
    /// entry `key` with the archive `archive`: then the hit needs no restore. `None` means
    /// "restore as usual". A record naming a path that `policy` refuses by its name (in
    /// `.git`, or not among the task's outputs) is no warm hit either: the full restore
    /// then refuses the entry.
    pub fn up_to_date(
        &self,
        repo_root: &AbsPath,
        task: &str,
        (key, archive): (&CacheKey, &Checksum),
        policy: &RestorePolicy,
    ) -> Option<Vec<u8>> {
        let record = {
            let tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
            let record = tasks.get(task)?;
            if record.key != *key || record.archive != *archive {
                return None;
            }
            record.clone()
        };
        let log = record.log?;
        for file in &record.files {
            let path = RepoPath::new(&file.path).ok()?;
            policy.check_name(&path).ok()?;
            let meta = fs::symlink_metadata(repo_root.join_repo(&path).as_path()).ok()?;
            if Stamp::of(&meta) != Some(file.stamp()?) {
                return None;
            }
        }
        Some(log.into_bytes())
    }

    /// Records that `task`'s outputs `paths` (every entry of the artifact stored under
    /// `key`, whose archive has the checksum `archive`) are now on disk, with the log its
    /// hits replay. A task whose outputs cannot be
    /// stat-ed, or changed too recently to be told apart from a later change, is forgotten
    /// instead, so its next hit restores in full.
    pub fn record(
        &self,
        repo_root: &AbsPath,
        task: &str,
        (key, archive): (&CacheKey, &Checksum),
        paths: &[RepoPath],
        log: &[u8],
    ) {
        let record = self.stamp(repo_root, key, archive, paths, log);
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        let changed = match record {
            Some(record) => tasks.insert(task.to_owned(), record.clone()) != Some(record),
            None => tasks.remove(task).is_some(),
        };
        if changed {
            *self.changed.lock().unwrap_or_else(|p| p.into_inner()) = true;
        }
    }

    /// Forgets `task`'s record: its outputs are no longer known to match an entry.
    pub fn forget(&self, task: &str) {
        let removed = self
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(task)
            .is_some();
        if removed {
            *self.changed.lock().unwrap_or_else(|p| p.into_inner()) = true;
        }
    }

    /// Writes the records if this run changed them (atomically: readers see the old file or
    /// the new one). Failing only costs the next run time; the caller may ignore the error.
    pub fn save(&self) -> std::io::Result<()> {
        if !*self.changed.lock().unwrap_or_else(|p| p.into_inner()) {
            return Ok(());
        }
        let tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        let sorted: BTreeMap<&String, &Record> = tasks.iter().collect();
        let checksum = checksum_of(&sorted)
            .ok_or_else(|| std::io::Error::other("the records cannot be serialized"))?;
        let file = RecordsFileRef {
            version: VERSION,
            checksum,
            tasks: sorted,
        };
        let bytes = serde_json::to_vec(&file).map_err(std::io::Error::other)?;
        fs::create_dir_all(&self.dir)?;
        let mut temp = tempfile::Builder::new()
            .prefix(&crate::local::temp_prefix())
            .tempfile_in(&self.dir)?;
        temp.write_all(&bytes)?;
        temp.persist(self.dir.join(OUTPUT_RECORDS_FILE).as_path())
            .map_err(|err| err.error)?;
        // Only space is at stake: a probe that cannot be removed stays.
        let _ = fs::remove_file(self.dir.join(LEGACY_PROBE_FILE).as_path());
        Ok(())
    }

    fn stamp(
        &self,
        repo_root: &AbsPath,
        key: &CacheKey,
        archive: &Checksum,
        paths: &[RepoPath],
        log: &[u8],
    ) -> Option<Record> {
        let log = (log.len() <= MAX_LOG)
            .then(|| std::str::from_utf8(log).ok())
            .flatten()?;
        let now = self.clock.now()?;
        let mut files = Vec::with_capacity(paths.len());
        for path in paths {
            let meta = fs::symlink_metadata(repo_root.join_repo(path).as_path()).ok()?;
            let stamp = Stamp::of(&meta)?;
            if !stamp.is_settled(now) {
                return None;
            }
            files.push(OutputStamp::new(path, stamp));
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        files.dedup_by(|a, b| a.path == b.path);
        Some(Record {
            key: *key,
            archive: *archive,
            log: Some(log.to_owned()),
            files,
        })
    }
}

#[derive(Serialize)]
struct RecordsFileRef<'a> {
    version: u32,
    checksum: Checksum,
    tasks: BTreeMap<&'a String, &'a Record>,
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Setup {
        _tmp: tempfile::TempDir,
        root: AbsPath,
        cache: AbsPath,
    }

    fn setup() -> Setup {
        let tmp = tempfile::tempdir().unwrap();
        let root = AbsPath::new(tmp.path().join("repo")).unwrap();
        let cache = AbsPath::new(tmp.path().join("cache")).unwrap();
        fs::create_dir_all(root.join("dist").as_path()).unwrap();
        fs::write(root.join("dist/a.js").as_path(), "a").unwrap();
        Setup {
            _tmp: tmp,
            root,
            cache,
        }
    }

    fn paths() -> Vec<RepoPath> {
        vec![
            RepoPath::new("dist").unwrap(),
            RepoPath::new("dist/a.js").unwrap(),
        ]
    }

    fn key(s: &str) -> CacheKey {
        CacheKey::from(blake3::hash(s.as_bytes()))
    }

    fn sum(s: &str) -> Checksum {
        Checksum::of(s.as_bytes())
    }

    /// Waits until the filesystem clock has moved past the outputs' stamps (their ctimes
    /// cannot be set back), so that they are settled.
    fn settle(s: &Setup) {
        let newest = paths()
            .iter()
            .filter_map(|path| fs::symlink_metadata(s.root.join_repo(path).as_path()).ok())
            .filter_map(|meta| Stamp::of(&meta))
            .map(|stamp| stamp.newest_ns())
            .max()
            .unwrap_or(0);
        assert!(FsClock::in_dir(s.cache.as_path()).wait_past(newest));
    }

    #[test]
    fn a_recorded_task_is_up_to_date_until_an_output_changes() {
        let s = setup();
        let records = OutputRecords::open(&s.cache);
        settle(&s);
        records.record(
            &s.root,
            "web#build",
            (&key("k"), &sum("a")),
            &paths(),
            b"built\n",
        );
        assert_eq!(
            records
                .up_to_date(
                    &s.root,
                    "web#build",
                    (&key("k"), &sum("a")),
                    &RestorePolicy::any_output()
                )
                .as_deref(),
            Some(&b"built\n"[..])
        );
        // Another key, another task: no.
        assert!(records
            .up_to_date(
                &s.root,
                "web#build",
                (&key("other"), &sum("a")),
                &RestorePolicy::any_output()
            )
            .is_none());
        assert!(records
            .up_to_date(
                &s.root,
                "api#build",
                (&key("k"), &sum("a")),
                &RestorePolicy::any_output()
            )
            .is_none());
        // The same key with another archive (the entry was replaced): no.
        assert!(records
            .up_to_date(
                &s.root,
                "web#build",
                (&key("k"), &sum("b")),
                &RestorePolicy::any_output()
            )
            .is_none());

        // A record of paths the task may not write is no warm hit.
        let only_build = RestorePolicy::new(
            |path| path.as_str().starts_with("build/"),
            std::sync::Arc::new(crate::ProtectedFiles::none()),
        );
        assert!(records
            .up_to_date(&s.root, "web#build", (&key("k"), &sum("a")), &only_build)
            .is_none());

        // Same size, rewritten: the stamp differs.
        fs::write(s.root.join("dist/a.js").as_path(), "b").unwrap();
        assert!(records
            .up_to_date(
                &s.root,
                "web#build",
                (&key("k"), &sum("a")),
                &RestorePolicy::any_output()
            )
            .is_none());
    }

    #[test]
    fn removal_chmod_and_replacement_are_seen() {
        let s = setup();
        let records = OutputRecords::open(&s.cache);
        settle(&s);
        records.record(&s.root, "t", (&key("k"), &sum("a")), &paths(), b"");
        assert!(records
            .up_to_date(
                &s.root,
                "t",
                (&key("k"), &sum("a")),
                &RestorePolicy::any_output()
            )
            .is_some());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let file = s.root.join("dist/a.js");
            fs::set_permissions(file.as_path(), fs::Permissions::from_mode(0o755)).unwrap();
            assert!(records
                .up_to_date(
                    &s.root,
                    "t",
                    (&key("k"), &sum("a")),
                    &RestorePolicy::any_output()
                )
                .is_none());
        }
        settle(&s);
        records.record(&s.root, "t", (&key("k"), &sum("a")), &paths(), b"");
        fs::remove_file(s.root.join("dist/a.js").as_path()).unwrap();
        assert!(records
            .up_to_date(
                &s.root,
                "t",
                (&key("k"), &sum("a")),
                &RestorePolicy::any_output()
            )
            .is_none());
    }

    #[test]
    fn outputs_not_older_than_the_filesystem_clock_are_not_recorded() {
        let s = setup();
        let records = OutputRecords::open(&s.cache);
        settle(&s);
        // An mtime at or after the clock could be shared with a later write: such a task
        // must be forgotten, not recorded. A future mtime stands for "written this tick".
        let file = fs::File::options()
            .write(true)
            .open(s.root.join("dist/a.js").as_path())
            .unwrap();
        file.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(3600))
            .unwrap();
        records.record(&s.root, "t", (&key("k"), &sum("a")), &paths(), b"");
        assert!(records
            .up_to_date(
                &s.root,
                "t",
                (&key("k"), &sum("a")),
                &RestorePolicy::any_output()
            )
            .is_none());
    }

    #[test]
    fn the_file_holds_whole_stamps_and_directories_kind_and_mode() {
        let path = RepoPath::new("dist/a.js").unwrap();
        let file = Stamp::new(StampKind::Symlink, 0o777, 4, 9, 10, 11);
        let held = OutputStamp::new(&path, file);
        assert_eq!(held.stamp(), Some(file));
        assert_eq!(
            serde_json::to_string(&held).unwrap(),
            r#"{"path":"dist/a.js","kind":"symlink","mode":511,"size":4,"mtimeNs":9,"ctimeNs":10,"inode":11}"#
        );
        let dir = Stamp::new(StampKind::Dir, 0o755, 0, 0, 0, 0);
        let held = OutputStamp::new(&path, dir);
        assert_eq!(
            serde_json::to_string(&held).unwrap(),
            r#"{"path":"dist/a.js","kind":"dir","mode":493}"#
        );
        assert_eq!(held.stamp(), Some(dir));
        // A file without one of its facts is no stamp: the task takes the full restore.
        let partial: OutputStamp =
            serde_json::from_str(r#"{"path":"a","kind":"file","mode":420,"size":1}"#).unwrap();
        assert_eq!(partial.stamp(), None);
    }

    #[test]
    fn records_survive_a_save_and_a_corrupt_file_is_empty() {
        let s = setup();
        let records = OutputRecords::open(&s.cache);
        settle(&s);
        records.record(
            &s.root,
            "t",
            (&key("k"), &sum("a")),
            &paths(),
            "é\n".as_bytes(),
        );
        records.save().unwrap();
        let again = OutputRecords::open(&s.cache);
        assert_eq!(
            again
                .up_to_date(
                    &s.root,
                    "t",
                    (&key("k"), &sum("a")),
                    &RestorePolicy::any_output()
                )
                .as_deref(),
            Some("é\n".as_bytes())
        );
        again.forget("t");
        again.save().unwrap();
        assert!(OutputRecords::open(&s.cache)
            .up_to_date(
                &s.root,
                "t",
                (&key("k"), &sum("a")),
                &RestorePolicy::any_output()
            )
            .is_none());

        fs::write(s.cache.join(OUTPUT_RECORDS_FILE).as_path(), "{ garbage").unwrap();
        assert!(OutputRecords::open(&s.cache)
            .up_to_date(
                &s.root,
                "t",
                (&key("k"), &sum("a")),
                &RestorePolicy::any_output()
            )
            .is_none());
    }

    #[test]
    fn an_edited_or_unsafe_records_file_is_ignored() {
        let s = setup();
        let records = OutputRecords::open(&s.cache);
        settle(&s);
        records.record(&s.root, "t", (&key("k"), &sum("a")), &paths(), b"log\n");
        records.save().unwrap();
        let file = s.cache.join(OUTPUT_RECORDS_FILE);
        let good = fs::read_to_string(file.as_path()).unwrap();
        let hit = || {
            OutputRecords::open(&s.cache)
                .up_to_date(
                    &s.root,
                    "t",
                    (&key("k"), &sum("a")),
                    &RestorePolicy::any_output(),
                )
                .is_some()
        };
        assert!(hit());
        // No outputs recorded, or another log: the checksum no longer matches.
        let no_files = good.replace("\"files\":[{", "\"files\":[],\"x\":[{");
        assert_ne!(no_files, good);
        for edited in [no_files, good.replace("log\\n", "pwned\\n")] {
            assert_ne!(edited, good);
            fs::write(file.as_path(), &edited).unwrap();
            assert!(!hit(), "{edited}");
        }
        // A FIFO or a device in its place: ignored at once, never read.
        fs::remove_file(file.as_path()).unwrap();
        let status = std::process::Command::new("mkfifo")
            .arg(file.as_path())
            .status()
            .unwrap();
        assert!(status.success());
        assert!(!hit());
        fs::remove_file(file.as_path()).unwrap();
        std::os::unix::fs::symlink("/dev/zero", file.as_path()).unwrap();
        assert!(!hit());
    }

    #[test]
    fn logs_that_are_not_utf8_or_too_large_are_not_recorded() {
        let s = setup();
        let records = OutputRecords::open(&s.cache);
        settle(&s);
        records.record(
            &s.root,
            "t",
            (&key("k"), &sum("a")),
            &paths(),
            &[0xff, 0xfe],
        );
        assert!(records
            .up_to_date(
                &s.root,
                "t",
                (&key("k"), &sum("a")),
                &RestorePolicy::any_output()
            )
            .is_none());
        records.record(
            &s.root,
            "t",
            (&key("k"), &sum("a")),
            &paths(),
            &vec![b'x'; MAX_LOG + 1],
        );
        assert!(records
            .up_to_date(
                &s.root,
                "t",
                (&key("k"), &sum("a")),
                &RestorePolicy::any_output()
            )
            .is_none());
    }
}
