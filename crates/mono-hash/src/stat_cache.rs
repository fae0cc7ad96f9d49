//! The stat cache: a file whose `lstat` has not changed since it was last hashed is not read
//! again.
//!
//! # Format (`stat-cache-v2.bin`)
//!
//! All integers little-endian:
//!
//! ```text
//! magic "MONOSTAT" | version u32 = 2 | generation u32 | entry count u64
//! entries, sorted by path:
//!   path length u32 | path (UTF-8, repository-relative) | size u64 | mtime ns i64
//!   | ctime ns i64 | inode u64 | kind u8 (1 file, 2 symlink) | mode u32 | last used u32
//!   | blake3 [32]
//! blake3 of all the bytes above [32]
//! ```
//!
//! Each entry is a [`Stamp`] (mono-stamp) and a digest. Version 2 added the mode, so that an
//! entry is the whole stamp; a version-1 file is ignored, and removed by the next write.
//!
//! Written to a temporary file in the same directory then renamed over, so readers see the
//! old file or the new one. A file that is missing, truncated, of another version, or whose
//! checksum does not match is ignored: the cache only saves time. So is one that is not a
//! regular file (it is opened without blocking: a FIFO in its place does not hang the run)
//! or larger than 1 GiB.
//!
//! # Racy entries
//!
//! An entry is only recorded when its stamp is settled ([`Stamp::is_settled`]): the file's
//! mtime and ctime are strictly older than the filesystem's clock ([`FsClock`], a probe file
//! in the cache directory) read *before* the file was read, so any later write gives the
//! file another stamp. Loading also drops entries not settled before the cache file itself
//! was written.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use mono_paths::{AbsPath, RepoPath};
use mono_stamp::{FsClock, Stamp, StampKind};

use crate::{Digest, HashError};

/// The stat cache's file name in the cache directory.
pub const STAT_CACHE_FILE: &str = "stat-cache-v2.bin";
/// What version 1 left in the cache directory: removed when version 2 is written.
const LEGACY_FILES: [&str; 2] = ["stat-cache-v1.bin", "stat-cache-v1.probe"];
const MAGIC: &[u8; 8] = b"MONOSTAT";
const VERSION: u32 = 2;
const HEADER_LEN: usize = 8 + 4 + 4 + 8;
const CHECKSUM_LEN: usize = 32;
/// An entry not used in this many writes of the cache is dropped, so that renamed and
/// deleted files do not pile up.
const MAX_AGE: u32 = 16;

/// The loaded file, kept as read: each entry is found by binary search over the offsets
/// of its records (the file is sorted by path), so that loading allocates nothing per
/// entry. A large repository's cache holds one entry per file of the repository.
#[derive(Default)]
struct Loaded {
    /// The file's bytes, checksum and all.
    bytes: Vec<u8>,
    /// The offset of each entry kept (not racy), in path order.
    records: Vec<usize>,
    /// Per kept entry: the generation of the last write of the cache that used it.
    last_used: Vec<AtomicU32>,
}

/// One record of the file, read in place.
struct Record<'a> {
    path: &'a [u8],
    stamp: Stamp,
    last_used: u32,
    digest: Digest,
}

/// The bytes of a record after its path: size, mtime, ctime, inode, kind, mode, last used,
/// blake3.
const RECORD_TAIL: usize = 8 * 4 + 1 + 4 + 4 + 32;

impl Loaded {
    fn record(&self, offset: usize) -> Record<'_> {
        read_record(&mut Reader(&self.bytes[offset..])).expect("checked when loaded")
    }

    fn path(&self, offset: usize) -> &[u8] {
        let len = u32::from_le_bytes(self.bytes[offset..offset + 4].try_into().expect("4 bytes"));
        &self.bytes[offset + 4..offset + 4 + len as usize]
    }

    fn find(&self, path: &RepoPath) -> Option<usize> {
        self.records
            .binary_search_by(|&offset| self.path(offset).cmp(path.as_str().as_bytes()))
            .ok()
    }
}

fn read_record<'a>(reader: &mut Reader<'a>) -> Option<Record<'a>> {
    let len = usize::try_from(reader.u32()?).ok()?;
    let path = reader.take(len)?;
    let (size, mtime_ns, ctime_ns, inode) =
        (reader.u64()?, reader.i64()?, reader.i64()?, reader.u64()?);
    let kind = match reader.take(1)?[0] {
        1 => StampKind::File,
        2 => StampKind::Symlink,
        _ => return None,
    };
    let mode = reader.u32()?;
    let stamp = Stamp::new(kind, mode, size, mtime_ns, ctime_ns, inode);
    let last_used = reader.u32()?;
    let digest = Digest::from_bytes(reader.array()?);
    Some(Record {
        path,
        stamp,
        last_used,
        digest,
    })
}

/// The stat cache of one run: what was loaded, plus what this run hashed.
pub(crate) struct StatCache {
    dir: AbsPath,
    file: AbsPath,
    /// This run's generation: one more than the loaded file's.
    generation: u32,
    /// Read-only after loading (but for the atomic ages), so lookups take no lock.
    loaded: Loaded,
    fresh: Mutex<HashMap<RepoPath, (Stamp, Digest)>>,
    clock: FsClock,
}

impl StatCache {
    /// Loads `<dir>/stat-cache-v2.bin`; any problem gives an empty cache.
    pub(crate) fn open(dir: &AbsPath) -> StatCache {
        let file = dir.join(STAT_CACHE_FILE);
        let (generation, loaded) = load(&file).unwrap_or_default();
        StatCache {
            dir: dir.clone(),
            file,
            generation: generation.wrapping_add(1),
            loaded,
            fresh: Mutex::new(HashMap::new()),
            clock: FsClock::in_dir(dir.as_path()),
        }
    }

    /// The digest recorded for `path` if its stamp is still `stamp`.
    pub(crate) fn lookup(&self, path: &RepoPath, stamp: &Stamp) -> Option<Digest> {
        let index = self.loaded.find(path)?;
        let record = self.loaded.record(self.loaded.records[index]);
        if record.stamp != *stamp {
            return None;
        }
        self.loaded.last_used[index].store(self.generation, Ordering::Relaxed);
        Some(record.digest)
    }

    /// The filesystem's clock now, in ns. `None` if it cannot be read (the probe cannot be
    /// written): nothing is then recorded.
    pub(crate) fn now(&self) -> Option<i64> {
        self.clock.now()
    }

    /// Records files hashed by this run.
    pub(crate) fn record(&self, entries: impl IntoIterator<Item = (RepoPath, Stamp, Digest)>) {
        let mut fresh = self.fresh.lock().unwrap_or_else(|p| p.into_inner());
        fresh.extend(
            entries
                .into_iter()
                .map(|(path, stamp, digest)| (path, (stamp, digest))),
        );
    }

    /// Writes the cache if this run hashed anything new.
    pub(crate) fn save(&self) -> Result<(), HashError> {
        let fresh = self.fresh.lock().unwrap_or_else(|p| p.into_inner());
        if fresh.is_empty() {
            return Ok(());
        }
        let mut fresh_paths: Vec<&[u8]> = fresh.keys().map(|p| p.as_str().as_bytes()).collect();
        fresh_paths.sort_unstable();
        let mut rows: Vec<(&[u8], Stamp, Digest, u32)> = self
            .loaded
            .records
            .iter()
            .zip(&self.loaded.last_used)
            .map(|(&offset, used)| (self.loaded.record(offset), used.load(Ordering::Relaxed)))
            .filter(|(record, _)| fresh_paths.binary_search(&record.path).is_err())
            .filter_map(|(record, used)| {
                // Ages compare with wrapping arithmetic: `used` is at most `generation`.
                let age = self.generation.wrapping_sub(used);
                (age < MAX_AGE).then_some((record.path, record.stamp, record.digest, used))
            })
            .chain(fresh.iter().map(|(path, (stamp, digest))| {
                (path.as_str().as_bytes(), *stamp, *digest, self.generation)
            }))
            .collect();
        rows.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let bytes = encode(self.generation, &rows);
        write_atomically(&self.dir, &self.file, &bytes).map_err(|source| {
            HashError::WriteStatCache {
                path: self.file.clone(),
                source,
            }
        })?;
        for legacy in LEGACY_FILES {
            // Only space is at stake: a file that cannot be removed stays.
            let _ = fs::remove_file(self.dir.join(legacy).as_path());
        }
        Ok(())
    }
}

fn encode(generation: u32, rows: &[(&[u8], Stamp, Digest, u32)]) -> Vec<u8> {
    let size: usize = rows.iter().map(|r| 4 + r.0.len() + RECORD_TAIL).sum();
    let mut out = Vec::with_capacity(HEADER_LEN + size + CHECKSUM_LEN);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&generation.to_le_bytes());
    out.extend_from_slice(&(rows.len() as u64).to_le_bytes());
    for (path, stamp, digest, used) in rows {
        let len = u32::try_from(path.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(path);
        out.extend_from_slice(&stamp.size.to_le_bytes());
        out.extend_from_slice(&stamp.mtime_ns.to_le_bytes());
        out.extend_from_slice(&stamp.ctime_ns.to_le_bytes());
        out.extend_from_slice(&stamp.inode.to_le_bytes());
        // Only files and links are hashed: a directory is never an entry.
        out.push(match stamp.kind {
            StampKind::Symlink => 2,
            StampKind::File | StampKind::Dir => 1,
        });
        out.extend_from_slice(&stamp.mode.to_le_bytes());
        out.extend_from_slice(&used.to_le_bytes());
        out.extend_from_slice(digest.as_bytes());
    }
    let checksum = blake3::hash(&out);
    out.extend_from_slice(checksum.as_bytes());
    out
}

fn write_atomically(dir: &AbsPath, file: &AbsPath, bytes: &[u8]) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    // `.tmp-<pid>-`: a run's cleanup removes the temporary files of dead processes.
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".tmp-{}-", std::process::id()))
        .tempfile_in(dir)?;
    temp.write_all(bytes)?;
    // No fsync: after a crash, a torn file fails its checksum and is ignored.
    temp.persist(file).map_err(|e| e.error)?;
    Ok(())
}

/// Reads bytes off the front of a slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Option<u64> {
        self.array().map(u64::from_le_bytes)
    }

    fn i64(&mut self) -> Option<i64> {
        self.array().map(i64::from_le_bytes)
    }
}

/// The largest stat cache file read: ~100 bytes an entry, so millions of files.
const MAX_FILE: u64 = 1024 * 1024 * 1024;

/// Opens the stat cache file without blocking (a FIFO in its place would block forever),
/// and only if it is a regular file (not a device such as `/dev/zero`).
fn open_regular(path: &AbsPath) -> Option<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let flags = rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::CLOEXEC;
        options.custom_flags(i32::try_from(flags.bits()).ok()?);
    }
    let file = options.open(path).ok()?;
    file.metadata().ok()?.is_file().then_some(file)
}

fn load(file: &AbsPath) -> Option<(u32, Loaded)> {
    let opened = open_regular(file)?;
    let meta = opened.metadata().ok()?;
    if meta.len() > MAX_FILE {
        return None;
    }
    // The cache file's own mtime: the filesystem clock when it was written.
    let written_ns = Stamp::of(&meta)?.mtime_ns;
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).ok()?);
    opened.take(MAX_FILE).read_to_end(&mut bytes).ok()?;
    decode(bytes, written_ns)
}

/// Checks a stat cache file written when the filesystem clock read `written_ns`, and indexes
/// its entries: strictly sorted paths, known kinds, nothing left over.
fn decode(bytes: Vec<u8>, written_ns: i64) -> Option<(u32, Loaded)> {
    let body_len = bytes.len().checked_sub(CHECKSUM_LEN)?;
    let (body, checksum) = bytes.split_at(body_len);
    if blake3::hash(body).as_bytes() != checksum {
        return None;
    }
    let mut reader = Reader(body);
    if reader.take(MAGIC.len())? != MAGIC || reader.u32()? != VERSION {
        return None;
    }
    let generation = reader.u32()?;
    let count = usize::try_from(reader.u64()?).ok()?;
    let mut records = Vec::with_capacity(count.min(body.len() / (4 + RECORD_TAIL)));
    let mut last_used = Vec::with_capacity(records.capacity());
    let mut previous: Option<&[u8]> = None;
    for _ in 0..count {
        let offset = body.len() - reader.0.len();
        let record = read_record(&mut reader)?;
        if previous.is_some_and(|p| p >= record.path) {
            return None;
        }
        previous = Some(record.path);
        // Racy: the file may have changed within the same clock tick after it was hashed.
        if record.stamp.is_settled(written_ns) {
            records.push(offset);
            last_used.push(AtomicU32::new(record.last_used));
        }
    }
    if !reader.0.is_empty() {
        return None;
    }
    Some((
        generation,
        Loaded {
            bytes,
            records,
            last_used,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(mtime_ns: i64) -> Stamp {
        Stamp::new(StampKind::File, 0o644, 3, mtime_ns, 5, 7)
    }

    fn sample() -> Vec<u8> {
        let (sa, sc) = (stat(100), stat(200));
        let (da, dc) = (Digest::of(b"a"), Digest::of(b"c"));
        encode(4, &[(b"a/b.txt", sa, da, 4), (b"c", sc, dc, 3)])
    }

    fn found(loaded: &Loaded, path: &str) -> Option<(Stamp, Digest)> {
        let index = loaded.find(&RepoPath::new(path).unwrap())?;
        let record = loaded.record(loaded.records[index]);
        Some((record.stamp, record.digest))
    }

    #[test]
    fn round_trips() {
        let (generation, loaded) = decode(sample(), 1_000).unwrap();
        assert_eq!(generation, 4);
        assert_eq!(
            found(&loaded, "a/b.txt"),
            Some((stat(100), Digest::of(b"a")))
        );
        assert_eq!(found(&loaded, "c"), Some((stat(200), Digest::of(b"c"))));
        assert_eq!(found(&loaded, "b"), None);
        assert_eq!(loaded.records.len(), 2);
    }

    #[test]
    fn drops_entries_not_older_than_the_file() {
        let (_, loaded) = decode(sample(), 200).unwrap();
        assert_eq!(loaded.records.len(), 1);
        assert!(found(&loaded, "a/b.txt").is_some());
        assert!(found(&loaded, "c").is_none());
        // An old mtime put back on a file changed at the clock: its ctime tells.
        let put_back = Stamp::new(StampKind::Symlink, 0o755, 3, 10, 200, 7);
        let bytes = encode(4, &[(b"p", put_back, Digest::of(b"p"), 4)]);
        assert!(decode(bytes.clone(), 200).unwrap().1.records.is_empty());
        let (_, loaded) = decode(bytes, 201).unwrap();
        assert_eq!(found(&loaded, "p"), Some((put_back, Digest::of(b"p"))));
    }

    #[test]
    fn rejects_paths_out_of_order() {
        let (sa, sc) = (stat(100), stat(200));
        let (da, dc) = (Digest::of(b"a"), Digest::of(b"c"));
        let swapped = encode(4, &[(b"c", sc, dc, 3), (b"a/b.txt", sa, da, 4)]);
        assert!(decode(swapped, 1_000).is_none());
        let twice = encode(4, &[(b"c", sc, dc, 3), (b"c", sc, dc, 3)]);
        assert!(decode(twice, 1_000).is_none());
    }

    #[test]
    fn rejects_every_truncation_and_any_flipped_byte() {
        let bytes = sample();
        for len in 0..bytes.len() {
            assert!(
                decode(bytes[..len].to_vec(), 1_000).is_none(),
                "truncated to {len}"
            );
        }
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 1;
            assert!(decode(bad, 1_000).is_none(), "byte {i} flipped");
        }
    }

    #[test]
    fn rejects_another_version() {
        for version in [1, 3] {
            let mut bytes = sample();
            bytes[8] = version;
            let body_len = bytes.len() - CHECKSUM_LEN;
            let checksum = *blake3::hash(&bytes[..body_len]).as_bytes();
            bytes[body_len..].copy_from_slice(&checksum);
            assert!(decode(bytes, 1_000).is_none(), "version {version}");
        }
    }

    #[test]
    fn saving_removes_what_version_1_left() {
        let dir = tempfile::tempdir().unwrap();
        let root = AbsPath::new(dir.path()).unwrap();
        for legacy in LEGACY_FILES {
            fs::write(root.join(legacy).as_path(), "old").unwrap();
        }
        let cache = StatCache::open(&root);
        let path = RepoPath::new("a").unwrap();
        cache.record([(path, stat(100), Digest::of(b"a"))]);
        cache.save().unwrap();
        for legacy in LEGACY_FILES {
            assert!(!root.join(legacy).as_path().exists(), "{legacy}");
        }
        assert!(root.join(STAT_CACHE_FILE).as_path().is_file());
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_or_a_device_in_place_of_the_file_is_an_empty_cache() {
        let dir = tempfile::tempdir().unwrap();
        let root = AbsPath::new(dir.path()).unwrap();
        let file = root.join(STAT_CACHE_FILE);
        let status = std::process::Command::new("mkfifo")
            .arg(file.as_path())
            .status()
            .unwrap();
        assert!(status.success());
        assert!(load(&file).is_none());
        let probe = root.join(mono_stamp::CLOCK_PROBE_FILE);
        std::os::unix::fs::symlink("/dev/zero", probe.as_path()).unwrap();
        let cache = StatCache::open(&root);
        assert!(cache.now().is_none(), "a device is no probe");
        fs::remove_file(file.as_path()).unwrap();
        std::os::unix::fs::symlink("/dev/zero", file.as_path()).unwrap();
        assert!(load(&file).is_none());
    }
}
