//! One checkout, one writer: the lock a run holds so that two runs in the same checkout
//! never build into each other's outputs.
//!
//! Two runs in one checkout share its outputs: one rewrites a dependency's `dist/` while the
//! other packs it, and a wrong entry gets stored. Runs in different checkouts that share a
//! cache folder do not share outputs, and the store is safe for concurrent writers, so the
//! lock is per checkout: `<cache dir>/locks/<16 hex of blake3(checkout root)>.lock`, an
//! advisory `flock` held for the whole run and released by the kernel when the process
//! ends, however it ends (`kill -9` included). The file holds the holder's pid, for the
//! message of whoever waits.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use mono_paths::AbsPath;
use rustix::fs::FlockOperation;

use crate::open::open_regular_for_writing;

/// Why the checkout lock could not be taken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    /// Another run holds it, and waiting was not wanted.
    #[error("another mono run is running in this checkout{}", pid_text(*.pid))]
    Busy {
        /// The other run's pid, if its lock file says.
        pid: Option<u32>,
    },
    /// The lock file cannot be created or locked.
    #[error("cannot lock {path}: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
}

fn pid_text(pid: Option<u32>) -> String {
    pid.map(|pid| format!(" (pid {pid})")).unwrap_or_default()
}

/// The lock of one checkout, held until dropped.
#[derive(Debug)]
pub struct CheckoutLock {
    file: File,
    path: PathBuf,
}

impl CheckoutLock {
    /// Where the lock of the checkout at `root` lives in `cache_dir`.
    pub fn path_for(cache_dir: &AbsPath, root: &AbsPath) -> PathBuf {
        let id = blake3::hash(root.as_path().as_os_str().as_encoded_bytes()).to_hex();
        cache_dir
            .join("locks")
            .join(format!("{}.lock", &id[..16]))
            .into_path_buf()
    }

    /// Takes the lock of the checkout at `root`. If another process holds it: with
    /// `wait`, calls `waiting` with that process's pid (to tell the user) and blocks until
    /// it is released; without, fails with [`LockError::Busy`].
    pub fn acquire(
        cache_dir: &AbsPath,
        root: &AbsPath,
        wait: bool,
        waiting: impl FnOnce(Option<u32>),
    ) -> Result<CheckoutLock, LockError> {
        let path = Self::path_for(cache_dir, root);
        let io_error = |source: io::Error| LockError::Io {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io_error)?;
        }
        let mut file = open_regular_for_writing(&path).map_err(|err| io_error(err.into_io()))?;
        match rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(err) if err == rustix::io::Errno::WOULDBLOCK => {
                let pid = holder(&mut file);
                if !wait {
                    return Err(LockError::Busy { pid });
                }
                waiting(pid);
                loop {
                    match rustix::fs::flock(&file, FlockOperation::LockExclusive) {
                        Ok(()) => break,
                        Err(rustix::io::Errno::INTR) => continue,
                        Err(err) => return Err(io_error(err.into())),
                    }
                }
            }
            Err(err) => return Err(io_error(err.into())),
        }
        // Ours now: say who holds it.
        let record = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| writeln!(file, "{}", std::process::id()));
        record.map_err(io_error)?;
        Ok(CheckoutLock { file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

impl Drop for CheckoutLock {
    fn drop(&mut self) {
        // Closing the file releases the lock too; unlocking first makes it immediate even
        // if a child process inherited the descriptor.
        let _ = rustix::fs::flock(&self.file, FlockOperation::Unlock);
    }
}

/// The pid the holder wrote into the lock file.
fn holder(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.take(32).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_waits_or_is_refused_and_gets_it_after_release() {
        let dir = tempfile::tempdir().unwrap();
        let cache = AbsPath::new(dir.path().join("cache")).unwrap();
        let root = AbsPath::new(dir.path().join("repo")).unwrap();
        let other = AbsPath::new(dir.path().join("other")).unwrap();
        let first = CheckoutLock::acquire(&cache, &root, false, |_| {}).unwrap();
        // flock locks belong to the open file: a second open in this process conflicts.
        let err = CheckoutLock::acquire(&cache, &root, false, |_| {}).unwrap_err();
        assert!(
            matches!(err, LockError::Busy { pid: Some(pid) } if pid == std::process::id()),
            "{err:?}"
        );
        assert!(err.to_string().contains("another mono run"), "{err}");
        // Another checkout sharing the cache folder is not held up.
        drop(CheckoutLock::acquire(&cache, &other, false, |_| {}).unwrap());

        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = {
            let (cache, root) = (cache.clone(), root.clone());
            std::thread::spawn(move || {
                CheckoutLock::acquire(&cache, &root, true, |pid| tx.send(pid).unwrap()).map(|_| ())
            })
        };
        assert_eq!(rx.recv().unwrap(), Some(std::process::id()));
        drop(first);
        waiter.join().unwrap().unwrap();
    }
}
