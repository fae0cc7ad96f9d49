//! The filesystem's clock, read from a probe file.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The probe file's name in the folder an [`FsClock`] is given (the cache folder).
pub const CLOCK_PROBE_FILE: &str = "clock.probe";

/// How long [`FsClock::wait_past`] waits for the clock to move at most. Filesystems with
/// the coarsest clocks (FAT) tick every 2 s.
const LONGEST_TICK: Duration = Duration::from_secs(10);

/// The filesystem's clock: the mtime that a write gives a file *now*, which is neither the
/// system clock (the filesystem's is coarser, and may be another machine's on a network
/// filesystem) nor monotonic. Read by writing one byte to a probe file and `fstat`-ing it.
///
/// The probe is opened once, without blocking and only if it is a regular file: a FIFO or
/// a device in its place (the cache folder holds what its writers put there) makes the
/// clock unreadable, never a hang, and an unreadable clock makes callers trust no stamp.
pub struct FsClock {
    dir: PathBuf,
    probe: Mutex<Option<File>>,
}

impl FsClock {
    /// A clock read through `<dir>/clock.probe`; the folder is created at the first reading.
    pub fn in_dir(dir: impl Into<PathBuf>) -> FsClock {
        FsClock {
            dir: dir.into(),
            probe: Mutex::new(None),
        }
    }

    /// The filesystem clock now, in ns since the Unix epoch; `None` if the probe cannot be
    /// written.
    pub fn now(&self) -> Option<i64> {
        let mut probe = self.probe.lock().unwrap_or_else(|p| p.into_inner());
        if probe.is_none() {
            std::fs::create_dir_all(&self.dir).ok()?;
            *probe = Some(open_probe(&self.dir.join(CLOCK_PROBE_FILE))?);
        }
        let file = probe.as_mut()?;
        file.seek(SeekFrom::Start(0)).ok()?;
        file.write_all(b"t").ok()?;
        Some(mtime_ns(&file.metadata().ok()?))
    }

    /// Waits until the filesystem clock is past `ns` (the newest time of some stamps: see
    /// [`Stamp::newest_ns`](crate::Stamp::newest_ns)), so that stamps taken from now on are
    /// settled; for tests and tools that need a stamp trusted at once. It polls the clock,
    /// so it waits one tick of the filesystem's clock at most, whatever that tick is.
    /// `false` if the clock cannot be read or does not move within 10 s.
    pub fn wait_past(&self, ns: i64) -> bool {
        let start = Instant::now();
        loop {
            match self.now() {
                None => return false,
                Some(now) if now > ns => return true,
                Some(_) if start.elapsed() > LONGEST_TICK => return false,
                Some(_) => std::thread::yield_now(),
            }
        }
    }
}

/// Opens the probe for writing without blocking (a FIFO in its place would block forever),
/// and only if it is a regular file (not a device such as `/dev/zero`).
fn open_probe(path: &Path) -> Option<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let flags = rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::CLOEXEC;
        options.custom_flags(i32::try_from(flags.bits()).ok()?);
    }
    let file = options.open(path).ok()?;
    file.metadata().ok()?.is_file().then_some(file)
}

#[cfg(unix)]
fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    use std::os::unix::fs::MetadataExt;
    meta.mtime()
        .saturating_mul(1_000_000_000)
        .saturating_add(meta.mtime_nsec())
}

#[cfg(not(unix))]
fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    system_time_ns(meta.modified())
}

/// A time of `Metadata` in ns since the Unix epoch (0 when unknown).
#[cfg(not(unix))]
pub(crate) fn system_time_ns(time: std::io::Result<std::time::SystemTime>) -> i64 {
    time.ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_moves_and_the_folder_is_made() {
        let dir = tempfile::tempdir().unwrap();
        let clock = FsClock::in_dir(dir.path().join("cache"));
        let first = clock.now().unwrap();
        assert!(dir.path().join("cache").join(CLOCK_PROBE_FILE).is_file());
        assert!(clock.wait_past(first));
        assert!(clock.now().unwrap() > first);
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_or_a_device_in_place_of_the_probe_is_no_clock() {
        let dir = tempfile::tempdir().unwrap();
        let probe = dir.path().join(CLOCK_PROBE_FILE);
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &probe,
            rustix::fs::Mode::from_raw_mode(0o644),
        )
        .unwrap();
        let clock = FsClock::in_dir(dir.path());
        assert_eq!(clock.now(), None);
        assert!(!clock.wait_past(0));
        std::fs::remove_file(&probe).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &probe).unwrap();
        assert_eq!(FsClock::in_dir(dir.path()).now(), None);
    }
}
