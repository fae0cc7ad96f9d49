//! Reading archives: checking entries, comparing them with the disk, writing them.
//!
//! Restoring reads the archive twice. The first pass reads every header, the log, and
//! compares each output with the disk; then [`crate::safety::validate`] checks every entry;
//! only then does the second pass write the entries that differ. A rejected archive writes
//! nothing, and outputs already on disk are neither rewritten nor touched.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use mono_paths::{AbsPath, RepoPath};

use crate::archive::{
    self, mode_of, Node, KEY_ENTRY, LOG_ENTRY, MAX_LOG, MODE_MASK, OUTPUTS_PREFIX,
};
use crate::error::{Corruption, IoContext, RestoreError};
use crate::key::CacheKey;

/// One output entry of an archive, and whether the disk already holds it.
#[derive(Debug)]
pub(crate) struct Planned {
    pub(crate) path: RepoPath,
    pub(crate) node: Node,
    pub(crate) up_to_date: bool,
}

/// What the first pass found.
#[derive(Debug)]
pub(crate) struct Inspection {
    pub(crate) log: Vec<u8>,
    pub(crate) entries: Vec<Planned>,
}

enum Name {
    Key,
    Log,
    Output(RepoPath),
}

fn decode(err: io::Error) -> RestoreError {
    RestoreError::Corrupt(Corruption::Decode(err))
}

/// Checks an entry's name: relative, no `..`, UTF-8, and either the log or an output.
fn classify(raw: &[u8]) -> Result<Name, RestoreError> {
    let lossy = || String::from_utf8_lossy(raw).into_owned();
    let Ok(name) = std::str::from_utf8(raw) else {
        return Err(RestoreError::InvalidPath { entry: lossy() });
    };
    if name.starts_with('/') {
        return Err(RestoreError::AbsolutePath { entry: lossy() });
    }
    if name.split('/').any(|part| part == "..") {
        return Err(RestoreError::ParentDir { entry: lossy() });
    }
    if name.contains('\\') {
        return Err(RestoreError::InvalidPath { entry: lossy() });
    }
    if name == LOG_ENTRY {
        return Ok(Name::Log);
    }
    if name == KEY_ENTRY {
        return Ok(Name::Key);
    }
    let Some(rest) = name.strip_prefix(OUTPUTS_PREFIX) else {
        return Err(Corruption::UnexpectedEntry { entry: lossy() }.into());
    };
    // A directory may be stored with a trailing `/`.
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.starts_with('/') {
        return Err(RestoreError::AbsolutePath { entry: lossy() });
    }
    if rest.is_empty() || rest.split('/').any(|part| part.is_empty() || part == ".") {
        return Err(RestoreError::InvalidPath { entry: lossy() });
    }
    let path = RepoPath::new(rest).map_err(|_| RestoreError::InvalidPath { entry: lossy() })?;
    Ok(Name::Output(path))
}

/// Reads an entry's header into a [`Node`].
fn node_of<R: Read>(entry: &tar::Entry<'_, R>, path: &RepoPath) -> Result<Node, RestoreError> {
    let header = entry.header();
    let mode = header.mode().map_err(decode)? & MODE_MASK;
    match header.entry_type() {
        tar::EntryType::Regular => Ok(Node::File {
            mode,
            size: entry.size(),
        }),
        tar::EntryType::Directory => Ok(Node::Dir { mode }),
        tar::EntryType::Symlink => {
            let target = entry.link_name_bytes().unwrap_or_default();
            match std::str::from_utf8(&target) {
                Ok(target) => Ok(Node::Symlink {
                    target: target.to_owned(),
                }),
                Err(_) => Err(RestoreError::InvalidPath {
                    entry: path.to_string(),
                }),
            }
        }
        other => Err(RestoreError::UnsupportedEntry {
            entry: path.to_string(),
            type_flag: char::from(other.as_byte()),
        }),
    }
}

/// Checks that the key entry `entry` (the archive's first) names `key`.
fn check_key<R: Read>(entry: &mut tar::Entry<'_, R>, key: &CacheKey) -> Result<(), Corruption> {
    let expected = archive::key_entry(key);
    if entry.header().entry_type() != tar::EntryType::Regular
        || entry.size() != expected.len() as u64
    {
        return Err(Corruption::ArchiveKeyMismatch);
    }
    let mut found = Vec::with_capacity(expected.len());
    (&mut *entry)
        .take(expected.len() as u64)
        .read_to_end(&mut found)
        .map_err(Corruption::Decode)?;
    if found != expected {
        return Err(Corruption::ArchiveKeyMismatch);
    }
    Ok(())
}

/// Reads the log entry, refusing one longer than [`MAX_LOG`].
fn read_log_entry<R: Read>(entry: &mut tar::Entry<'_, R>) -> Result<Vec<u8>, RestoreError> {
    let entry_type = entry.header().entry_type();
    if entry_type != tar::EntryType::Regular {
        return Err(RestoreError::UnsupportedEntry {
            entry: LOG_ENTRY.to_owned(),
            type_flag: char::from(entry_type.as_byte()),
        });
    }
    if entry.size() > MAX_LOG {
        return Err(Corruption::LogTooLarge { size: entry.size() }.into());
    }
    let mut bytes = Vec::with_capacity(entry.size().min(1 << 20) as usize);
    entry
        .take(MAX_LOG)
        .read_to_end(&mut bytes)
        .map_err(decode)?;
    Ok(bytes)
}

/// Checks only that the archive starts with the key entry of `key` (a verified lookup
/// calls it, so that metadata naming another key's archive is a corrupt entry).
pub(crate) fn verify_key<R: Read>(archive: R, key: &CacheKey) -> Result<(), Corruption> {
    let decoder = zstd::Decoder::new(archive).map_err(Corruption::Decode)?;
    let mut archive = tar::Archive::new(decoder);
    let mut entries = archive.entries().map_err(Corruption::Decode)?;
    let mut first = match entries.next() {
        Some(entry) => entry.map_err(Corruption::Decode)?,
        None => return Err(Corruption::MissingKey),
    };
    if &*first.path_bytes() != KEY_ENTRY.as_bytes() {
        return Err(Corruption::MissingKey);
    }
    check_key(&mut first, key)
}

/// The first pass: reads every entry and the log; when `root` is given, compares each output
/// with the disk. Writes nothing. The first entry must be the key entry of `key`.
pub(crate) fn inspect<R: Read>(
    archive: R,
    root: Option<&AbsPath>,
    key: &CacheKey,
) -> Result<Inspection, RestoreError> {
    let decoder = zstd::Decoder::new(archive).map_err(decode)?;
    let mut archive = tar::Archive::new(decoder);
    let mut log = None;
    let mut entries = Vec::new();
    let mut compare = Comparer::default();
    let mut first = true;
    for entry in archive.entries().map_err(decode)? {
        let mut entry = entry.map_err(decode)?;
        let name = classify(&entry.path_bytes())?;
        if std::mem::take(&mut first) != matches!(name, Name::Key) {
            return Err(Corruption::MissingKey.into());
        }
        match name {
            Name::Key => check_key(&mut entry, key)?,
            Name::Log => {
                if log.is_some() {
                    return Err(RestoreError::Duplicate {
                        entry: LOG_ENTRY.to_owned(),
                    });
                }
                log = Some(read_log_entry(&mut entry)?);
            }
            Name::Output(path) => {
                let node = node_of(&entry, &path)?;
                let up_to_date = match root {
                    Some(root) => compare.matches_disk(root, &path, &node, &mut entry)?,
                    None => false,
                };
                entries.push(Planned {
                    path,
                    node,
                    up_to_date,
                });
            }
        }
    }
    let log = log.ok_or(Corruption::MissingLog)?;
    // Read the zstd frame to its end, so that its own checksum is verified too.
    io::copy(&mut archive.into_inner(), &mut io::sink()).map_err(decode)?;
    Ok(Inspection { log, entries })
}

/// Reads only the log, which comes right after the key in archives mono writes.
pub(crate) fn read_log<R: Read>(archive: R) -> Result<Vec<u8>, RestoreError> {
    let decoder = zstd::Decoder::new(archive).map_err(decode)?;
    let mut archive = tar::Archive::new(decoder);
    for entry in archive.entries().map_err(decode)? {
        let mut entry = entry.map_err(decode)?;
        if let Name::Log = classify(&entry.path_bytes())? {
            return read_log_entry(&mut entry);
        }
    }
    Err(Corruption::MissingLog.into())
}

/// Compares archive entries with the disk, reusing its buffers.
struct Comparer {
    archive: Vec<u8>,
    disk: Vec<u8>,
}

impl Default for Comparer {
    fn default() -> Self {
        Self {
            archive: vec![0; 64 * 1024],
            disk: vec![0; 64 * 1024],
        }
    }
}

impl Comparer {
    /// Whether the disk already holds `node` at `path`: same type, permission bits, and
    /// content or target. A disk that cannot be read does not match; an archive that cannot
    /// be read is an error.
    fn matches_disk(
        &mut self,
        root: &AbsPath,
        path: &RepoPath,
        node: &Node,
        entry: &mut impl Read,
    ) -> Result<bool, RestoreError> {
        let abs = root.join_repo(path);
        let Ok(meta) = fs::symlink_metadata(&abs) else {
            return Ok(false);
        };
        match node {
            Node::Dir { mode } => Ok(meta.is_dir() && mode_of(&meta) == *mode),
            Node::Symlink { target } => Ok(meta.file_type().is_symlink()
                && fs::read_link(&abs).is_ok_and(|found| found == Path::new(target))),
            Node::File { mode, size } => {
                if !meta.is_file() || meta.len() != *size || mode_of(&meta) != *mode {
                    return Ok(false);
                }
                let Ok(mut file) = File::open(&abs) else {
                    return Ok(false);
                };
                let mut remaining = *size;
                while remaining > 0 {
                    let n = remaining.min(self.archive.len() as u64) as usize;
                    entry.read_exact(&mut self.archive[..n]).map_err(decode)?;
                    if file.read_exact(&mut self.disk[..n]).is_err()
                        || self.archive[..n] != self.disk[..n]
                    {
                        return Ok(false);
                    }
                    remaining -= n as u64;
                }
                Ok(true)
            }
        }
    }
}

/// The second pass: writes every entry of `plan` that is not up to date. Returns how many
/// entries were written.
pub(crate) fn write_outputs<R: Read>(
    archive: R,
    root: &AbsPath,
    plan: &[Planned],
) -> Result<usize, RestoreError> {
    let canonical_root = fs::canonicalize(root).restore_path(root.as_path())?;
    let mut writer = Writer {
        root,
        canonical_root,
        safe_dirs: HashSet::new(),
        deferred_modes: Vec::new(),
    };
    let decoder = zstd::Decoder::new(archive).map_err(decode)?;
    let mut archive = tar::Archive::new(decoder);
    let mut planned = plan.iter();
    let mut written = 0;
    for entry in archive.entries().map_err(decode)? {
        let mut entry = entry.map_err(decode)?;
        let path = match classify(&entry.path_bytes())? {
            Name::Key | Name::Log => continue,
            Name::Output(path) => path,
        };
        // The archive is immutable once verified; a difference means it was swapped.
        let Some(step) = planned.next().filter(|step| step.path == path) else {
            return Err(Corruption::ChangedDuringRestore.into());
        };
        if node_of(&entry, &path)? != step.node {
            return Err(Corruption::ChangedDuringRestore.into());
        }
        let changed = match &step.node {
            Node::File { mode, .. } if !step.up_to_date => {
                writer.file(&step.path, *mode, &mut entry)?;
                true
            }
            Node::Dir { mode } => writer.dir(&step.path, *mode, step.up_to_date)?,
            Node::Symlink { target } if !step.up_to_date => {
                writer.symlink(&step.path, target)?;
                true
            }
            _ => false,
        };
        written += usize::from(changed);
    }
    if planned.next().is_some() {
        return Err(Corruption::ChangedDuringRestore.into());
    }
    writer.finish()?;
    Ok(written)
}

/// Writes entries, checking at each step that the directory written into is inside the
/// repository (a second line of defence behind [`crate::safety`]).
struct Writer<'a> {
    root: &'a AbsPath,
    canonical_root: PathBuf,
    /// Directories known to be inside the repository; forgotten whenever a symlink or a
    /// directory is replaced.
    safe_dirs: HashSet<PathBuf>,
    /// Directories whose final mode denies the owner writing: applied last, deepest first.
    deferred_modes: Vec<(PathBuf, u32)>,
}

impl Writer<'_> {
    /// Makes sure the parent directory of `path` exists and lies inside the repository.
    fn parent(&mut self, path: &RepoPath) -> Result<PathBuf, RestoreError> {
        let abs = self.root.join_repo(path).into_path_buf();
        let Some(parent) = abs.parent().map(Path::to_path_buf) else {
            return Ok(abs);
        };
        if self.safe_dirs.contains(&parent) {
            return Ok(abs);
        }
        // The deepest ancestor that exists decides where new directories land.
        let mut existing = parent.as_path();
        loop {
            match fs::metadata(existing) {
                Ok(_) => break,
                Err(err) if err.kind() == io::ErrorKind::NotFound => {
                    existing = existing.parent().unwrap_or(self.root.as_path());
                }
                Err(err) => {
                    return Err(RestoreError::Io {
                        path: existing.into(),
                        source: err,
                    })
                }
            }
        }
        let real = fs::canonicalize(existing).restore_path(existing)?;
        if !real.starts_with(&self.canonical_root) {
            let via = existing.strip_prefix(self.root).unwrap_or(existing);
            return Err(RestoreError::OutsideRepo {
                entry: path.to_string(),
                via: via.display().to_string(),
            });
        }
        fs::create_dir_all(&parent).restore_path(&parent)?;
        self.safe_dirs.insert(parent);
        Ok(abs)
    }

    /// Removes whatever is at `abs`, never following a symlink.
    fn clear(&mut self, abs: &Path) -> Result<(), RestoreError> {
        match fs::symlink_metadata(abs) {
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(RestoreError::Io {
                path: abs.into(),
                source: err,
            }),
            Ok(meta) if meta.is_dir() => {
                self.safe_dirs.clear();
                fs::remove_dir_all(abs).restore_path(abs)
            }
            Ok(meta) => {
                if meta.file_type().is_symlink() {
                    self.safe_dirs.clear();
                }
                fs::remove_file(abs).restore_path(abs)
            }
        }
    }

    fn file(
        &mut self,
        path: &RepoPath,
        mode: u32,
        data: &mut impl Read,
    ) -> Result<(), RestoreError> {
        let abs = self.parent(path)?;
        // A new file, never the old one opened for writing: that would follow a symlink
        // left at this path, or change every hard link of the old file.
        self.clear(&abs)?;
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&abs)
            .restore_path(&abs)?;
        io::copy(data, &mut file).restore_path(&abs)?;
        set_file_mode(&file, &abs, mode).restore_path(&abs)
    }

    /// Creates or fixes a directory; returns whether anything changed. Directories the owner
    /// cannot write stay writable until [`Writer::finish`], so their contents can be written.
    fn dir(&mut self, path: &RepoPath, mode: u32, up_to_date: bool) -> Result<bool, RestoreError> {
        let owner_writable = mode & 0o700 == 0o700;
        if up_to_date && owner_writable {
            return Ok(false);
        }
        let abs = self.parent(path)?;
        if !up_to_date {
            let is_dir = fs::symlink_metadata(&abs).is_ok_and(|meta| meta.is_dir());
            if !is_dir {
                self.clear(&abs)?;
                fs::create_dir(&abs).restore_path(&abs)?;
            }
        }
        if owner_writable {
            archive::set_mode(&abs, mode).restore_path(&abs)?;
        } else {
            archive::set_mode(&abs, mode | 0o700).restore_path(&abs)?;
            self.deferred_modes.push((abs, mode));
        }
        Ok(!up_to_date)
    }

    fn symlink(&mut self, path: &RepoPath, target: &str) -> Result<(), RestoreError> {
        let abs = self.parent(path)?;
        self.clear(&abs)?;
        self.safe_dirs.clear();
        archive::symlink(target, &abs).restore_path(&abs)
    }

    fn finish(mut self) -> Result<(), RestoreError> {
        while let Some((abs, mode)) = self.deferred_modes.pop() {
            archive::set_mode(&abs, mode).restore_path(&abs)?;
        }
        Ok(())
    }
}

#[cfg(unix)]
fn set_file_mode(file: &File, _abs: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(mode & MODE_MASK))
}

#[cfg(not(unix))]
fn set_file_mode(_file: &File, abs: &Path, mode: u32) -> io::Result<()> {
    archive::set_mode(abs, mode)
}
