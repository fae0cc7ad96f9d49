//! Opening cache files without trusting what is at their path.
//!
//! A cache folder can hold anything its writers put there: a FIFO (opening it for reading
//! blocks until a writer comes, forever), a symlink to `/dev/zero` (reading it never
//! ends), a socket. Every cache file is therefore opened with `O_NONBLOCK` (which makes
//! opening a FIFO return at once), then `fstat`-ed: anything but a regular file is refused.
//! Reads of whole files are capped: a file larger than its kind can legitimately be is
//! refused before it is read.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

/// What a cache file is when it is not a regular file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A named pipe.
    Fifo,
    /// A character or block device.
    Device,
    /// A unix socket.
    Socket,
    /// A directory.
    Directory,
    /// Anything else.
    Other,
}

impl std::fmt::Display for FileKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FileKind::Fifo => "a FIFO",
            FileKind::Device => "a device",
            FileKind::Socket => "a socket",
            FileKind::Directory => "a directory",
            FileKind::Other => "not a regular file",
        })
    }
}

/// Why a cache file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Not a regular file (after following symlinks).
    #[error("it is {0}, not a regular file")]
    NotAFile(FileKind),
    /// Larger than a file of its kind can be.
    #[error("it is {size} bytes, more than the {cap} bytes such a file can have")]
    TooLarge {
        /// Its size.
        size: u64,
        /// The most allowed.
        cap: u64,
    },
    /// The file system refused.
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl OpenError {
    /// Whether the file is simply not there.
    pub fn is_not_found(&self) -> bool {
        matches!(self, OpenError::Io(err) if err.kind() == io::ErrorKind::NotFound)
    }

    /// As an I/O error, for callers that report I/O errors.
    pub fn into_io(self) -> io::Error {
        match self {
            OpenError::Io(err) => err,
            other => io::Error::new(io::ErrorKind::InvalidData, other),
        }
    }
}

fn nonblocking(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let flags = rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::CLOEXEC;
        options.custom_flags(i32::try_from(flags.bits()).expect("open flags fit an int"));
    }
    options
}

/// Refuses anything but a regular file.
pub(crate) fn check_regular(file: &File) -> Result<u64, OpenError> {
    let meta = file.metadata()?;
    let kind = meta.file_type();
    if kind.is_file() {
        return Ok(meta.len());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return Err(OpenError::NotAFile(FileKind::Fifo));
        }
        if kind.is_char_device() || kind.is_block_device() {
            return Err(OpenError::NotAFile(FileKind::Device));
        }
        if kind.is_socket() {
            return Err(OpenError::NotAFile(FileKind::Socket));
        }
    }
    if kind.is_dir() {
        return Err(OpenError::NotAFile(FileKind::Directory));
    }
    Err(OpenError::NotAFile(FileKind::Other))
}

/// Opens `path` for reading without blocking, and only if it is a regular file.
pub(crate) fn open_regular(path: &Path) -> Result<File, OpenError> {
    let file = nonblocking(OpenOptions::new().read(true)).open(path)?;
    check_regular(&file)?;
    Ok(file)
}

/// Opens `path` for writing (created if missing, not truncated) without blocking, and only
/// if it is a regular file.
pub(crate) fn open_regular_for_writing(path: &Path) -> Result<File, OpenError> {
    let file = nonblocking(
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false),
    )
    .open(path)?;
    check_regular(&file)?;
    Ok(file)
}

/// Reads the whole regular file at `path`, refusing one larger than `cap` bytes.
pub(crate) fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, OpenError> {
    let file = open_regular(path)?;
    let size = check_regular(&file)?;
    if size > cap {
        return Err(OpenError::TooLarge { size, cap });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    // The file may grow after the fstat: never read past the cap.
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(OpenError::TooLarge {
            size: bytes.len() as u64,
            cap,
        });
    }
    Ok(bytes)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn fifos_devices_and_large_files_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::Mode::from_raw_mode(0o644),
        )
        .unwrap();
        assert!(matches!(
            read_capped(&fifo, 10),
            Err(OpenError::NotAFile(FileKind::Fifo))
        ));
        assert!(matches!(
            open_regular_for_writing(&fifo),
            Err(OpenError::NotAFile(FileKind::Fifo)) | Err(OpenError::Io(_))
        ));
        let zero = dir.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        assert!(matches!(
            read_capped(&zero, 10),
            Err(OpenError::NotAFile(FileKind::Device))
        ));
        let big = dir.path().join("big");
        std::fs::write(&big, [0u8; 11]).unwrap();
        assert!(matches!(
            read_capped(&big, 10),
            Err(OpenError::TooLarge { size: 11, cap: 10 })
        ));
        assert_eq!(read_capped(&big, 11).unwrap().len(), 11);
        assert!(read_capped(&dir.path().join("missing"), 1)
            .unwrap_err()
            .is_not_found());
    }
}
