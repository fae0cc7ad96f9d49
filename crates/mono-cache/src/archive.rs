//! The archive's entry layout, shared by packing and restoring.
//!
//! A version-2 archive is a tar stream, zstd-compressed, whose entries are, in order:
//!
//! 1. `key`: the cache key the archive was packed for, 64 lowercase hex digits and a
//!    newline, a regular file. It binds the archive to its key: metadata naming another
//!    key's archive is refused.
//! 2. `log`: the task's captured output, a regular file, at most [`MAX_LOG`] bytes.
//! 3. `outputs/<repo path>` for every output, sorted by path (a directory before its
//!    contents): regular files, directories and symlinks, with their permission bits.
//!
//! Headers are GNU, with mtime 0, uid and gid 0 and no user or group names, so the same
//! outputs and log give the same bytes on any machine and at any time.

/// The name of the key entry, the archive's first.
pub(crate) const KEY_ENTRY: &str = "key";

/// The name of the log entry.
pub(crate) const LOG_ENTRY: &str = "log";

/// The largest log an archive holds: packing keeps the last bytes of a longer one, and
/// restoring refuses an archive whose log is longer (a crafted archive must not make mono
/// read gigabytes into memory).
pub const MAX_LOG: u64 = 256 * 1024 * 1024;

/// The contents of the key entry for `key`.
pub(crate) fn key_entry(key: &crate::CacheKey) -> Vec<u8> {
    format!("{key}\n").into_bytes()
}

/// The prefix of every output entry.
pub(crate) const OUTPUTS_PREFIX: &str = "outputs/";

/// The zstd frame magic number, the first bytes of every archive.
pub(crate) const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// The zstd level: fast to write, and decompression speed does not depend on it.
pub(crate) const ZSTD_LEVEL: i32 = 3;

/// The permission bits mono stores and restores. setuid, setgid and sticky bits are
/// dropped: an archive from elsewhere must not create setuid files.
pub(crate) const MODE_MASK: u32 = 0o777;

/// One output entry, as packed and as restored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Node {
    /// A regular file.
    File {
        /// Permission bits.
        mode: u32,
        /// Size in bytes.
        size: u64,
    },
    /// A directory.
    Dir {
        /// Permission bits.
        mode: u32,
    },
    /// A symlink, with its target as written (relative, `/`-separated).
    Symlink {
        /// The target.
        target: String,
    },
}

/// The header all entries start from: everything that is not the entry's own fixed.
pub(crate) fn header(entry_type: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(entry_type);
    header.set_mode(mode);
    header.set_size(size);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header
}

/// The permission bits of a file as mono stores them.
#[cfg(unix)]
pub(crate) fn mode_of(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & MODE_MASK
}

/// The permission bits of a file as mono stores them: without unix modes, only read-only
/// is known.
#[cfg(not(unix))]
pub(crate) fn mode_of(meta: &std::fs::Metadata) -> u32 {
    let base = if meta.is_dir() { 0o755 } else { 0o644 };
    if meta.permissions().readonly() {
        base & !0o222
    } else {
        base
    }
}

/// Sets the permission bits of `path`.
#[cfg(unix)]
pub(crate) fn set_mode(path: &std::path::Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & MODE_MASK))
}

/// Sets the permission bits of `path`: without unix modes, only read-only.
#[cfg(not(unix))]
pub(crate) fn set_mode(path: &std::path::Path, mode: u32) -> std::io::Result<()> {
    let mut perms = std::fs::metadata(path)?.permissions();
    perms.set_readonly(mode & 0o200 == 0);
    std::fs::set_permissions(path, perms)
}

/// Creates a symlink at `path` pointing to `target`.
#[cfg(unix)]
pub(crate) fn symlink(target: &str, path: &std::path::Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, path)
}

/// Symlinks are restored on unix only.
#[cfg(not(unix))]
pub(crate) fn symlink(_target: &str, _path: &std::path::Path) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "restoring symlinks is supported on unix only",
    ))
}
