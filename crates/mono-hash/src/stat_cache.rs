//! The stat cache: a file whose `lstat` has not changed since it was last hashed is not read
//! again.
//!
//! # Format (`stat-cache-v1.bin`)
//!
//! All integers little-endian:
//!
//! ```text
//! magic "MONOSTAT" | version u32 = 1 | generation u32 | entry count u64
//! entries, sorted by path:
//!   path length u32 | path (UTF-8, repository-relative) | size u64 | mtime ns i64
//!   | ctime ns i64 | inode u64 | kind u8 (1 file, 2 symlink) | last used u32 | blake3 [32]
//! blake3 of all the bytes above [32]
//! ```
//!
//! Written to a temporary file in the same directory then renamed over, so readers see the
//! old file or the new one. A file that is missing, truncated, of another version, or whose
//! checksum does not match is ignored: the cache only saves time. So is one that is not a
//! regular file (it is opened without blocking: a FIFO in its place does not hang the run)
//! or larger than 1 GiB.
//!
//! # Racy entries
//!
//! A file modified twice within one tick of the filesystem clock keeps its mtime (and maybe
//! its size), so a stat taken between the two writes cannot tell them apart: git's "racy
//! git" problem. An entry is therefore only recorded when the file's mtime is strictly older
//! than the filesystem's clock *before* the file was read (read from a probe file written in
//! the cache directory), so any later write gives the file a different mtime. Loading also
//! drops entries whose mtime is not strictly older than the cache file itself.

use std::collections::HashMap;
use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use mono_paths::{AbsPath, RepoPath};

use crate::{Digest, HashError};

/// The stat cache's file name in the cache directory.
pub const STAT_CACHE_FILE: &str = "stat-cache-v1.bin";
const PROBE_FILE: &str = "stat-cache-v1.probe";
const MAGIC: &[u8; 8] = b"MONOSTAT";
const VERSION: u32 = 1;
const HEADER_LEN: usize = 8 + 4 + 4 + 8;
const CHECKSUM_LEN: usize = 32;
/// An entry not used in this many writes of the cache is dropped, so that renamed and
/// deleted files do not pile up.
const MAX_AGE: u32 = 16;

/// What kind of directory entry was hashed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FileKind {
    File = 1,
    Symlink = 2,
}

/// The parts of an `lstat` that change when a file's content may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stat {
    pub(crate) size: u64,
    pub(crate) mtime_ns: i64,
    pub(crate) ctime_ns: i64,
    pub(crate) inode: u64,
    pub(crate) kind: FileKind,
}

impl Stat {
    /// The stat of a regular file or symbolic link; `None` for anything else.
    pub(crate) fn from_metadata(meta: &Metadata) -> Option<Stat> {
        let file_type = meta.file_type();
        let kind = if file_type.is_symlink() {
            FileKind::Symlink
        } else if file_type.is_file() {
            FileKind::File
        } else {
            return None;
        };
        Some(Stat {
            size: meta.len(),
            mtime_ns: mtime_ns(meta),
            ctime_ns: ctime_ns(meta),
            inode: inode(meta),
            kind,
        })
    }
}

#[cfg(unix)]
fn mtime_ns(meta: &Metadata) -> i64 {
    use std::os::unix::fs::MetadataExt;
    meta.mtime()
        .saturating_mul(1_000_000_000)
        .saturating_add(meta.mtime_nsec())
}

#[cfg(unix)]
fn ctime_ns(meta: &Metadata) -> i64 {
    use std::os::unix::fs::MetadataExt;
    meta.ctime()
        .saturating_mul(1_000_000_000)
        .saturating_add(meta.ctime_nsec())
}

#[cfg(unix)]
fn inode(meta: &Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    meta.ino()
}

#[cfg(not(unix))]
fn system_time_ns(time: std::io::Result<std::time::SystemTime>) -> i64 {
    time.ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

#[cfg(not(unix))]
fn mtime_ns(meta: &Metadata) -> i64 {
    system_time_ns(meta.modified())
}

#[cfg(not(unix))]
fn ctime_ns(meta: &Metadata) -> i64 {
    system_time_ns(meta.created())
}

#[cfg(not(unix))]
fn inode(_meta: &Metadata) -> u64 {
    0
}

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
    stat: Stat,
    last_used: u32,
    digest: Digest,
}

/// The bytes of a record after its path: size, mtime, ctime, inode, kind, last used, blake3.
const RECORD_TAIL: usize = 8 * 4 + 1 + 4 + 32;

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
    let stat = Stat {
        size: reader.u64()?,
        mtime_ns: reader.i64()?,
        ctime_ns: reader.i64()?,
        inode: reader.u64()?,
        kind: match reader.take(1)?[0] {
            1 => FileKind::File,
            2 => FileKind::Symlink,
            _ => return None,
        },
    };
    let last_used = reader.u32()?;
    let digest = Digest::from_bytes(reader.array()?);
    Some(Record {
        path,
        stat,
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
    fresh: Mutex<HashMap<RepoPath, (Stat, Digest)>>,
    probe: Mutex<Option<File>>,
}

impl StatCache {
    /// Loads `<dir>/stat-cache-v1.bin`; any problem gives an empty cache.
    pub(crate) fn open(dir: &AbsPath) -> StatCache {
        let file = dir.join(STAT_CACHE_FILE);
        let (generation, loaded) = load(&file).unwrap_or_default();
        StatCache {
            dir: dir.clone(),
            file,
            generation: generation.wrapping_add(1),
            loaded,
            fresh: Mutex::new(HashMap::new()),
            probe: Mutex::new(None),
        }
    }

    /// The digest recorded for `path` if its stat is still `stat`.
    pub(crate) fn lookup(&self, path: &RepoPath, stat: &Stat) -> Option<Digest> {
        let index = self.loaded.find(path)?;
        let record = self.loaded.record(self.loaded.records[index]);
        if record.stat != *stat {
            return None;
        }
        self.loaded.last_used[index].store(self.generation, Ordering::Relaxed);
        Some(record.digest)
    }

    /// The filesystem's clock now, in ns, read from the probe file's mtime after writing
    /// it. `None` if the probe cannot be written: nothing is then recorded.
    pub(crate) fn now(&self) -> Option<i64> {
        let mut probe = self.probe.lock().unwrap_or_else(|p| p.into_inner());
        if probe.is_none() {
            fs::create_dir_all(&self.dir).ok()?;
            let file = open_regular(&self.dir.join(PROBE_FILE), true)?;
            *probe = Some(file);
        }
        let file = probe.as_mut()?;
        file.seek(SeekFrom::Start(0)).ok()?;
        file.write_all(b"t").ok()?;
        Some(mtime_ns(&file.metadata().ok()?))
    }

    /// Records files hashed by this run.
    pub(crate) fn record(&self, entries: impl IntoIterator<Item = (RepoPath, Stat, Digest)>) {
        let mut fresh = self.fresh.lock().unwrap_or_else(|p| p.into_inner());
        fresh.extend(
            entries
                .into_iter()
                .map(|(path, stat, digest)| (path, (stat, digest))),
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
        let mut rows: Vec<(&[u8], Stat, Digest, u32)> = self
            .loaded
            .records
            .iter()
            .zip(&self.loaded.last_used)
            .map(|(&offset, used)| (self.loaded.record(offset), used.load(Ordering::Relaxed)))
            .filter(|(record, _)| fresh_paths.binary_search(&record.path).is_err())
            .filter_map(|(record, used)| {
                // Ages compare with wrapping arithmetic: `used` is at most `generation`.
                let age = self.generation.wrapping_sub(used);
                (age < MAX_AGE).then_some((record.path, record.stat, record.digest, used))
            })
            .chain(fresh.iter().map(|(path, (stat, digest))| {
                (path.as_str().as_bytes(), *stat, *digest, self.generation)
            }))
            .collect();
        rows.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let bytes = encode(self.generation, &rows);
        write_atomically(&self.dir, &self.file, &bytes).map_err(|source| {
            HashError::WriteStatCache {
                path: self.file.clone(),
                source,
            }
        })
    }
}

fn encode(generation: u32, rows: &[(&[u8], Stat, Digest, u32)]) -> Vec<u8> {
    let size: usize = rows.iter().map(|r| 4 + r.0.len() + RECORD_TAIL).sum();
    let mut out = Vec::with_capacity(HEADER_LEN + size + CHECKSUM_LEN);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&generation.to_le_bytes());
    out.extend_from_slice(&(rows.len() as u64).to_le_bytes());
    for (path, stat, digest, used) in rows {
        let len = u32::try_from(path.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(path);
        out.extend_from_slice(&stat.size.to_le_bytes());
        out.extend_from_slice(&stat.mtime_ns.to_le_bytes());
        out.extend_from_slice(&stat.ctime_ns.to_le_bytes());
        out.extend_from_slice(&stat.inode.to_le_bytes());
        out.push(stat.kind as u8);
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

/// Opens a file of the cache folder without blocking (a FIFO in its place would block
/// forever), and only if it is a regular file (not a device such as `/dev/zero`).
fn open_regular(path: &AbsPath, write: bool) -> Option<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    if write {
        options.write(true).create(true).truncate(false);
    }
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
    let opened = open_regular(file, false)?;
    let meta = opened.metadata().ok()?;
    if meta.len() > MAX_FILE {
        return None;
    }
    let written_ns = mtime_ns(&meta);
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
        if record.stat.mtime_ns < written_ns {
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

    fn stat(mtime_ns: i64) -> Stat {
        Stat {
            size: 3,
            mtime_ns,
            ctime_ns: 5,
            inode: 7,
            kind: FileKind::File,
        }
    }

    fn sample() -> Vec<u8> {
        let (sa, sc) = (stat(100), stat(200));
        let (da, dc) = (Digest::of(b"a"), Digest::of(b"c"));
        encode(4, &[(b"a/b.txt", sa, da, 4), (b"c", sc, dc, 3)])
    }

    fn found(loaded: &Loaded, path: &str) -> Option<(Stat, Digest)> {
        let index = loaded.find(&RepoPath::new(path).unwrap())?;
        let record = loaded.record(loaded.records[index]);
        Some((record.stat, record.digest))
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
        let mut bytes = sample();
        bytes[8] = 2;
        let body_len = bytes.len() - CHECKSUM_LEN;
        let checksum = *blake3::hash(&bytes[..body_len]).as_bytes();
        bytes[body_len..].copy_from_slice(&checksum);
        assert!(decode(bytes, 1_000).is_none());
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
        let probe = root.join(PROBE_FILE);
        std::os::unix::fs::symlink("/dev/zero", probe.as_path()).unwrap();
        let cache = StatCache::open(&root);
        assert!(cache.now().is_none(), "a device is no probe");
        fs::remove_file(file.as_path()).unwrap();
        std::os::unix::fs::symlink("/dev/zero", file.as_path()).unwrap();
        assert!(load(&file).is_none());
    }
}
