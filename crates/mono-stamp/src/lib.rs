//! Stat stamps: telling that a file has not changed without reading it.
//!
//! A [`Stamp`] is what one `lstat` says of a directory entry that moves when its content may
//! have: kind, permission bits, size, mtime, ctime and inode. Two stamps of one path that are
//! equal mean the file was not touched in between, with one exception that [`FsClock`]
//! exists for: a file changed twice within one tick of the filesystem clock can keep every
//! field (git's "racy git" problem). A stamp is therefore only trusted when it is *settled*:
//! its mtime and ctime are strictly older than the filesystem clock read before the stamp
//! was taken ([`Stamp::is_settled`]). Any later change then sets a ctime (which no tool can
//! set back) at or after that reading, so the stamp differs.
//!
//! ```
//! # fn main() -> std::io::Result<()> {
//! use mono_stamp::{FsClock, Stamp};
//!
//! let dir = tempfile::tempdir()?;
//! let file = dir.path().join("input.txt");
//! std::fs::write(&file, "one")?;
//! let clock = FsClock::in_dir(dir.path().join("cache"));
//! let stamp = Stamp::of(&std::fs::symlink_metadata(&file)?).expect("a regular file");
//! assert!(clock.wait_past(stamp.newest_ns()), "the clock moves");
//! let now = clock.now().expect("the probe can be written");
//! assert!(stamp.is_settled(now), "written before the clock read: trusted");
//!
//! std::fs::write(&file, "two")?;
//! let again = Stamp::of(&std::fs::symlink_metadata(&file)?).expect("a regular file");
//! assert_ne!(again, stamp, "a change after a settled stamp is seen");
//! # Ok(())
//! # }
//! ```
//!
//! Users: the stat cache of input files (mono-hash, `stat-cache-v2.bin`), the stamps of a
//! task's inputs taken before and after it runs (mono-hash `Stamps`), and the output records
//! of warm hits (mono-cache, `outputs-v2.json`). It is its own crate because mono-hash and
//! mono-cache both need it and neither may depend on the other (the cache server uses the
//! cache without the hasher).

mod clock;
mod stamp;

pub use clock::{FsClock, CLOCK_PROBE_FILE};
pub use stamp::{Stamp, StampKind};
