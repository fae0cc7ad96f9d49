//! The stamp of one directory entry.

use std::fs::Metadata;

/// The kind of a stamped directory entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StampKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (not followed).
    Symlink,
}

/// The facts of one `lstat` that change when an entry's content may have.
///
/// A directory's stamp is its kind and permission bits only (size, times and inode are 0):
/// its times move whenever an entry is added inside it, which says nothing about the
/// entries a stamp is taken for. Entries that are neither files, directories nor symbolic
/// links (FIFOs, sockets, devices) have no stamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Stamp {
    /// What the entry is.
    pub kind: StampKind,
    /// The permission bits (`mode & 0o7777`; on Windows, 1 when read-only).
    pub mode: u32,
    /// The size in bytes (a symbolic link's: its target path's length).
    pub size: u64,
    /// The last modification, in ns since the Unix epoch.
    pub mtime_ns: i64,
    /// The last status change, in ns since the Unix epoch (Windows: the creation time).
    pub ctime_ns: i64,
    /// The inode number (0 where there is none).
    pub inode: u64,
}

impl Stamp {
    /// The stamp of an entry from its `symlink_metadata` (`lstat`); `None` for anything but
    /// a file, a directory or a symbolic link.
    pub fn of(meta: &Metadata) -> Option<Stamp> {
        let file_type = meta.file_type();
        let kind = if file_type.is_symlink() {
            StampKind::Symlink
        } else if file_type.is_dir() {
            StampKind::Dir
        } else if file_type.is_file() {
            StampKind::File
        } else {
            return None;
        };
        let (mode, mtime_ns, ctime_ns, inode) = facts(meta);
        Some(Stamp::new(
            kind,
            mode,
            meta.len(),
            mtime_ns,
            ctime_ns,
            inode,
        ))
    }

    /// The stamp of an entry from a raw `stat` (as `fstatat(.., AT_SYMLINK_NOFOLLOW)` gives
    /// it): the same stamp [`Stamp::of`] makes from the `Metadata` of the same `lstat`.
    #[cfg(unix)]
    pub fn from_stat(raw: &rustix::fs::Stat) -> Option<Stamp> {
        use rustix::fs::FileType;
        let kind = match FileType::from_raw_mode(raw.st_mode) {
            FileType::RegularFile => StampKind::File,
            FileType::Directory => StampKind::Dir,
            FileType::Symlink => StampKind::Symlink,
            _ => return None,
        };
        // The field types differ between architectures; the values are those of std's
        // `Metadata`.
        fn int<T: TryInto<i64>>(value: T) -> i64 {
            value.try_into().unwrap_or(0)
        }
        let ns = |secs: i64, nsec: i64| secs.saturating_mul(1_000_000_000).saturating_add(nsec);
        Some(Stamp::new(
            kind,
            u32::try_from(int(raw.st_mode) & 0o7777).unwrap_or(0),
            u64::try_from(int(raw.st_size)).unwrap_or(0),
            ns(int(raw.st_mtime), int(raw.st_mtime_nsec)),
            ns(int(raw.st_ctime), int(raw.st_ctime_nsec)),
            raw.st_ino,
        ))
    }

    /// A stamp from its parts, as a stored stamp is read back; a directory keeps only its
    /// kind and mode.
    pub fn new(
        kind: StampKind,
        mode: u32,
        size: u64,
        mtime_ns: i64,
        ctime_ns: i64,
        inode: u64,
    ) -> Stamp {
        match kind {
            StampKind::Dir => Stamp {
                kind,
                mode,
                size: 0,
                mtime_ns: 0,
                ctime_ns: 0,
                inode: 0,
            },
            StampKind::File | StampKind::Symlink => Stamp {
                kind,
                mode,
                size,
                mtime_ns,
                ctime_ns,
                inode,
            },
        }
    }

    /// The later of the mtime and the ctime, in ns: the filesystem clock must pass it before
    /// the stamp is settled.
    pub fn newest_ns(&self) -> i64 {
        self.mtime_ns.max(self.ctime_ns)
    }

    /// Whether the stamp can be trusted when it was taken after the filesystem clock read
    /// `now_ns` ([`FsClock::now`](crate::FsClock::now)): its mtime and ctime are strictly
    /// older, so any later change to the entry sets a ctime at or after `now_ns`, and gives
    /// another stamp. A stamp that is not settled must not be kept: the entry is read
    /// (hashed, restored) again next time.
    ///
    /// Both times count. A tool that writes a file and puts its old mtime back (`cp -p`,
    /// `tar`, `touch -r`) leaves an old mtime and a new ctime; were only the mtime checked,
    /// a second such write within the same tick would keep the whole stamp.
    pub fn is_settled(&self, now_ns: i64) -> bool {
        self.newest_ns() < now_ns
    }
}

#[cfg(unix)]
fn facts(meta: &Metadata) -> (u32, i64, i64, u64) {
    use std::os::unix::fs::MetadataExt;
    let ns = |s: i64, n: i64| s.saturating_mul(1_000_000_000).saturating_add(n);
    (
        meta.mode() & 0o7777,
        ns(meta.mtime(), meta.mtime_nsec()),
        ns(meta.ctime(), meta.ctime_nsec()),
        meta.ino(),
    )
}

#[cfg(not(unix))]
fn facts(meta: &Metadata) -> (u32, i64, i64, u64) {
    (
        u32::from(meta.permissions().readonly()),
        crate::clock::system_time_ns(meta.modified()),
        crate::clock::system_time_ns(meta.created()),
        0,
    )
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn stamp_of(path: &std::path::Path) -> Option<Stamp> {
        Stamp::of(&fs::symlink_metadata(path).unwrap())
    }

    #[test]
    fn directories_keep_kind_and_mode_only() {
        let dir = tempfile::tempdir().unwrap();
        let before = stamp_of(dir.path()).unwrap();
        assert_eq!(before.kind, StampKind::Dir);
        assert_eq!((before.size, before.mtime_ns, before.inode), (0, 0, 0));
        fs::write(dir.path().join("new"), "x").unwrap();
        assert_eq!(stamp_of(dir.path()), Some(before), "an entry added inside");
        let dir_stamp = Stamp::new(StampKind::Dir, 0o755, 9, 9, 9, 9);
        assert_eq!(dir_stamp, Stamp::new(StampKind::Dir, 0o755, 0, 0, 0, 0));
    }

    #[cfg(unix)]
    #[test]
    fn a_raw_stat_gives_the_stamp_of_the_metadata() {
        use rustix::fs::{AtFlags, CWD};
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("f"), "abc").unwrap();
        std::os::unix::fs::symlink("f", dir.path().join("link")).unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        for name in ["f", "link", "sub"] {
            let path = dir.path().join(name);
            let raw = rustix::fs::statat(CWD, &path, AtFlags::SYMLINK_NOFOLLOW).unwrap();
            assert_eq!(Stamp::from_stat(&raw), stamp_of(&path), "{name}");
        }
        assert_eq!(stamp_of(&dir.path().join("f")).unwrap().size, 3);
        let fifo = dir.path().join("fifo");
        rustix::fs::mkfifoat(CWD, &fifo, rustix::fs::Mode::from_raw_mode(0o644)).unwrap();
        assert_eq!(stamp_of(&fifo), None);
        let raw = rustix::fs::statat(CWD, &fifo, AtFlags::SYMLINK_NOFOLLOW).unwrap();
        assert_eq!(Stamp::from_stat(&raw), None);
    }

    #[test]
    fn settled_means_both_times_strictly_older() {
        let at = |mtime_ns, ctime_ns| Stamp::new(StampKind::File, 0o644, 1, mtime_ns, ctime_ns, 1);
        assert!(at(9, 9).is_settled(10));
        assert!(!at(10, 5).is_settled(10), "mtime at the clock");
        assert!(
            !at(5, 10).is_settled(10),
            "ctime counts too (mtime put back)"
        );
        assert!(!at(20, 5).is_settled(10), "a future mtime");
        assert_eq!(at(3, 7).newest_ns(), 7);
    }

    #[cfg(unix)]
    #[test]
    fn a_chmod_or_a_replacement_changes_the_stamp() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        fs::write(&file, "a").unwrap();
        let first = stamp_of(&file).unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
        let chmodded = stamp_of(&file).unwrap();
        assert_eq!(chmodded.mode, 0o600);
        assert_ne!(chmodded, first);
        // Written elsewhere and renamed over, same size and times set back: a new inode.
        let other = dir.path().join("g");
        fs::write(&other, "b").unwrap();
        fs::set_permissions(&other, fs::Permissions::from_mode(0o600)).unwrap();
        fs::rename(&other, &file).unwrap();
        assert_ne!(stamp_of(&file).unwrap().inode, chmodded.inode);
    }
}
