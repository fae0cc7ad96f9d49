//! Packing outputs and a log into a deterministic archive.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use mono_paths::{AbsPath, RepoPath};

use crate::archive::{self, mode_of, Node, KEY_ENTRY, LOG_ENTRY, OUTPUTS_PREFIX, ZSTD_LEVEL};
use crate::error::{IoContext, PackError};
use crate::key::Checksum;

/// The size and checksum of a written archive.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Written {
    pub(crate) checksum: Checksum,
    pub(crate) size: u64,
}

/// Finds every entry to store: the listed outputs, directories recursively, sorted and
/// without duplicates. Symlinks are stored as links and never followed.
pub(crate) fn collect(
    root: &AbsPath,
    outputs: &[RepoPath],
) -> Result<BTreeMap<RepoPath, Node>, PackError> {
    let mut nodes = BTreeMap::new();
    let mut checked_parents = HashSet::new();
    let mut canonical_root = None;
    for output in outputs {
        if output.is_root() {
            return Err(PackError::RootOutput);
        }
        check_parent_inside(root, output, &mut checked_parents, &mut canonical_root)?;
        let base = root.join_repo(output);
        // Not following links, the root included: a link is stored as a link.
        let mut walk = walkdir::WalkDir::new(base.as_path())
            .follow_links(false)
            .follow_root_links(false)
            .into_iter();
        while let Some(entry) = walk.next() {
            let entry = match entry {
                Ok(entry) => entry,
                Err(err) => return Err(walk_error(output, &base, err)),
            };
            let path = match entry.path().strip_prefix(base.as_path()) {
                Ok(rel) if rel.as_os_str().is_empty() => output.clone(),
                Ok(rel) => match RepoPath::from_path(rel) {
                    Ok(rel) => output.join_path(&rel),
                    Err(_) => {
                        return Err(PackError::InvalidPath {
                            path: entry.into_path(),
                        })
                    }
                },
                Err(_) => unreachable!("walkdir yields paths below its root"),
            };
            if nodes.contains_key(&path) {
                // Listed twice (`dist` and `dist/a`): what is below was collected already.
                if entry.file_type().is_dir() {
                    walk.skip_current_dir();
                }
                continue;
            }
            let abs = entry.path();
            let meta = entry
                .metadata()
                .map_err(|err| walk_error(output, &base, err))?;
            let file_type = meta.file_type();
            let node = if file_type.is_symlink() {
                let target = fs::read_link(abs).pack_path(abs)?;
                let Some(target) = target.to_str() else {
                    return Err(PackError::InvalidPath {
                        path: abs.to_path_buf(),
                    });
                };
                if !link_stays_inside(&path, target) {
                    return Err(PackError::SymlinkEscapes {
                        path,
                        target: target.to_owned(),
                    });
                }
                // A link that never resolves (`a -> b -> a`, `a -> a/x`) cannot be restored:
                // stored, it would be a miss forever. A dangling link is fine.
                if let Err(err) = fs::metadata(abs) {
                    if err.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
                        return Err(PackError::SymlinkLoop { path });
                    }
                }
                Node::Symlink {
                    target: target.to_owned(),
                }
            } else if file_type.is_dir() {
                Node::Dir {
                    mode: mode_of(&meta),
                }
            } else if file_type.is_file() {
                Node::File {
                    mode: mode_of(&meta),
                    size: meta.len(),
                }
            } else {
                return Err(PackError::UnsupportedFileType { path });
            };
            nodes.insert(path, node);
        }
    }
    drop_entries_below_symlinks(&mut nodes);
    Ok(nodes)
}

/// A walk's error as a pack error: an entry that is not there (a listed output, or one
/// removed while it is packed) is a missing output.
fn walk_error(output: &RepoPath, base: &AbsPath, err: walkdir::Error) -> PackError {
    let path = err.path().map(Path::to_path_buf).unwrap_or_default();
    let source = io::Error::from(err);
    if source.kind() == io::ErrorKind::NotFound {
        let below = path
            .strip_prefix(base.as_path())
            .ok()
            .and_then(|rel| RepoPath::from_path(rel).ok());
        if let Some(rel) = below {
            return PackError::MissingOutput {
                path: output.join_path(&rel),
            };
        }
    }
    PackError::Io { path, source }
}

/// An output listed below a directory symlink is reached through the link; storing it too
/// would make an archive that restoring rejects (an entry written through a symlink).
fn drop_entries_below_symlinks(nodes: &mut BTreeMap<RepoPath, Node>) {
    let links: HashSet<RepoPath> = nodes
        .iter()
        .filter(|(_, node)| matches!(node, Node::Symlink { .. }))
        .map(|(path, _)| path.clone())
        .collect();
    if links.is_empty() {
        return;
    }
    nodes.retain(|path, _| {
        let mut parent = path.parent();
        while let Some(dir) = parent {
            if links.contains(&dir) {
                return false;
            }
            parent = dir.parent();
        }
        true
    });
}

/// Refuses outputs whose directory leads out of the repository through a symlink: they
/// could not be restored.
fn check_parent_inside(
    root: &AbsPath,
    output: &RepoPath,
    checked: &mut HashSet<RepoPath>,
    canonical_root: &mut Option<PathBuf>,
) -> Result<(), PackError> {
    let Some(parent) = output.parent().filter(|parent| !parent.is_root()) else {
        return Ok(());
    };
    if checked.contains(&parent) {
        return Ok(());
    }
    let canonical_root = match canonical_root {
        Some(path) => path,
        None => canonical_root.insert(fs::canonicalize(root).pack_path(root.as_path())?),
    };
    let abs = root.join_repo(&parent);
    let canonical = match fs::canonicalize(&abs) {
        Ok(path) => path,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Err(PackError::MissingOutput {
                path: output.clone(),
            });
        }
        Err(err) => {
            return Err(PackError::Io {
                path: abs.into_path_buf(),
                source: err,
            })
        }
    };
    if !canonical.starts_with(&*canonical_root) {
        return Err(PackError::OutsideRepo {
            path: output.clone(),
        });
    }
    checked.insert(parent);
    Ok(())
}

/// Whether a symlink at `link` with relative `target` stays inside the repository, judged
/// on the path alone. Restoring checks again, following links.
pub(crate) fn link_stays_inside(link: &RepoPath, target: &str) -> bool {
    if target.is_empty() || target.starts_with('/') {
        return false;
    }
    let mut depth = link.components().count().saturating_sub(1);
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => match depth.checked_sub(1) {
                Some(up) => depth = up,
                None => return false,
            },
            _ => depth += 1,
        }
    }
    true
}

/// Writes the archive of `nodes` and `log` to `out`; returns `out` and what was written.
/// `out_path` names `out` in errors.
pub(crate) fn write<W: Write>(
    root: &AbsPath,
    key: &crate::CacheKey,
    nodes: &BTreeMap<RepoPath, Node>,
    log: &[u8],
    out: W,
    out_path: &Path,
) -> Result<(W, Written), PackError> {
    let out = HashingWriter {
        inner: out,
        hasher: blake3::Hasher::new(),
        len: 0,
    };
    let mut encoder = zstd::Encoder::new(out, ZSTD_LEVEL).pack_path(out_path)?;
    encoder.include_checksum(true).pack_path(out_path)?;
    let mut builder = tar::Builder::new(encoder);

    let key = archive::key_entry(key);
    let mut header = archive::header(tar::EntryType::Regular, 0o644, key.len() as u64);
    builder
        .append_data(&mut header, KEY_ENTRY, &key[..])
        .pack_path(out_path)?;
    // A log longer than restoring accepts keeps its end, where errors usually are.
    let cap = usize::try_from(archive::MAX_LOG).unwrap_or(usize::MAX);
    let log = &log[log.len().saturating_sub(cap)..];
    let mut header = archive::header(tar::EntryType::Regular, 0o644, log.len() as u64);
    builder
        .append_data(&mut header, LOG_ENTRY, log)
        .pack_path(out_path)?;

    for (path, node) in nodes {
        let name = format!("{OUTPUTS_PREFIX}{}", path.as_str());
        match node {
            Node::File { mode, size } => {
                let abs = root.join_repo(path);
                let mut file = File::open(&abs).pack_path(abs.as_path())?;
                let mut header = archive::header(tar::EntryType::Regular, *mode, *size);
                let mut source = TrackedReader {
                    inner: (&mut file).take(*size),
                    read: 0,
                    failed: false,
                };
                if let Err(err) = builder.append_data(&mut header, &name, &mut source) {
                    let at = if source.failed {
                        abs.as_path()
                    } else {
                        out_path
                    };
                    return Err(PackError::Io {
                        path: at.to_path_buf(),
                        source: err,
                    });
                }
                let read = source.read;
                let now = file.metadata().pack_path(abs.as_path())?.len();
                if read != *size || now != *size {
                    return Err(PackError::Changed { path: path.clone() });
                }
            }
            Node::Dir { mode } => {
                let mut header = archive::header(tar::EntryType::Directory, *mode, 0);
                builder
                    .append_data(&mut header, &name, io::empty())
                    .pack_path(out_path)?;
            }
            Node::Symlink { target } => {
                let mut header = archive::header(tar::EntryType::Symlink, 0o777, 0);
                builder
                    .append_link(&mut header, &name, target)
                    .pack_path(out_path)?;
            }
        }
    }
    let encoder = builder.into_inner().pack_path(out_path)?;
    let out = encoder.finish().pack_path(out_path)?;
    let written = Written {
        checksum: out.hasher.finalize().into(),
        size: out.len,
    };
    Ok((out.inner, written))
}

/// Hashes and counts what passes through to `inner`.
struct HashingWriter<W> {
    inner: W,
    hasher: blake3::Hasher,
    len: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Counts bytes read and remembers whether reading failed, so that an error inside
/// `append_data` can name the right file: the output read or the archive written.
struct TrackedReader<R> {
    inner: R,
    read: u64,
    failed: bool,
}

impl<R: Read> Read for TrackedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.read += n as u64;
                Ok(n)
            }
            Err(err) => {
                self.failed = true;
                Err(err)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    #[test_case("a", "b", true ; "sibling")]
    #[test_case("a/b/c", "../../x", true ; "up to root")]
    #[test_case("a/b/c", "../../../x", false ; "past root")]
    #[test_case("a", "../x", false ; "top level up")]
    #[test_case("a", "/etc/passwd", false ; "absolute")]
    #[test_case("a", "", false ; "empty")]
    #[test_case("a/b", "./c/../d", true ; "dots")]
    #[test_case("a/b", "c/../../..", false ; "down then out")]
    fn judges_link_targets(link: &str, target: &str, inside: bool) {
        assert_eq!(
            link_stays_inside(&RepoPath::new(link).unwrap(), target),
            inside
        );
    }

    #[test]
    fn symlink_loops_are_refused_and_dangling_links_kept() {
        let dir = tempfile::tempdir().unwrap();
        let root = AbsPath::new(dir.path().to_path_buf()).unwrap();
        let out = dir.path().join("out");
        fs::create_dir(&out).unwrap();
        std::os::unix::fs::symlink("b", out.join("a")).unwrap();
        std::os::unix::fs::symlink("a", out.join("b")).unwrap();
        let err = collect(&root, &[RepoPath::new("out").unwrap()]).unwrap_err();
        assert!(
            matches!(&err, PackError::SymlinkLoop { path } if path.as_str().starts_with("out/")),
            "{err}"
        );
        assert!(err.to_string().starts_with("symlink loop at out/"), "{err}");
        let other = dir.path().join("other");
        fs::create_dir(&other).unwrap();
        std::os::unix::fs::symlink("self/x", other.join("self")).unwrap();
        std::os::unix::fs::symlink("missing", other.join("dangling")).unwrap();
        let err = collect(&root, &[RepoPath::new("other/self").unwrap()]).unwrap_err();
        assert!(matches!(err, PackError::SymlinkLoop { .. }), "{err}");
        let nodes = collect(&root, &[RepoPath::new("other/dangling").unwrap()]).unwrap();
        assert_eq!(nodes.len(), 1);
    }

    #[test]
    fn outputs_are_walked_once_whatever_their_order_and_links_not_entered() {
        let dir = tempfile::tempdir().unwrap();
        let root = AbsPath::new(dir.path().to_path_buf()).unwrap();
        fs::create_dir_all(dir.path().join("dist/sub/deep")).unwrap();
        fs::write(dir.path().join("dist/a.js"), "a").unwrap();
        fs::write(dir.path().join("dist/sub/deep/b.js"), "bb").unwrap();
        fs::create_dir(dir.path().join("shared")).unwrap();
        fs::write(dir.path().join("shared/s.txt"), "s").unwrap();
        std::os::unix::fs::symlink("../shared", dir.path().join("dist/linked")).unwrap();
        std::os::unix::fs::symlink("shared", dir.path().join("top")).unwrap();
        let paths = |outputs: &[&str]| {
            let outputs: Vec<RepoPath> =
                outputs.iter().map(|o| RepoPath::new(o).unwrap()).collect();
            let nodes = collect(&root, &outputs).unwrap();
            nodes
                .into_keys()
                .map(|p| p.as_str().to_owned())
                .collect::<Vec<_>>()
        };
        let all = [
            "dist",
            "dist/a.js",
            "dist/linked",
            "dist/sub",
            "dist/sub/deep",
            "dist/sub/deep/b.js",
        ];
        assert_eq!(paths(&["dist"]), all);
        assert_eq!(paths(&["dist/sub", "dist"]), all);
        assert_eq!(paths(&["dist", "dist/sub/deep/b.js"]), all);
        // A listed link to a folder is stored as the link, not followed.
        assert_eq!(paths(&["top"]), ["top"]);
        let err = collect(&root, &[RepoPath::new("dist/gone").unwrap()]).unwrap_err();
        assert!(
            matches!(&err, PackError::MissingOutput { path } if path.as_str() == "dist/gone"),
            "{err}"
        );
    }

    #[test]
    fn fifos_and_names_that_are_no_repo_paths_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = AbsPath::new(dir.path().to_path_buf()).unwrap();
        let out = dir.path().join("out");
        fs::create_dir(&out).unwrap();
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            out.join("pipe"),
            rustix::fs::Mode::from_raw_mode(0o644),
        )
        .unwrap();
        let err = collect(&root, &[RepoPath::new("out").unwrap()]).unwrap_err();
        assert!(
            matches!(&err, PackError::UnsupportedFileType { path } if path.as_str() == "out/pipe"),
            "{err}"
        );
        fs::remove_file(out.join("pipe")).unwrap();
        fs::write(out.join("back\\slash"), "x").unwrap();
        let err = collect(&root, &[RepoPath::new("out").unwrap()]).unwrap_err();
        assert!(matches!(&err, PackError::InvalidPath { .. }), "{err}");
    }
}
