//! Reading the files discovery needs: manifests, checked to be regular files and read up to a
//! size limit, and paths written in them resolved inside the repository.

use std::path::Path;

use mono_paths::{AbsPath, RepoPath};

use crate::error::FileKind;
use crate::{Language, WorkspaceError};

/// A file at the root of the repository.
pub(crate) fn file(name: &str) -> RepoPath {
    RepoPath::new(name).expect("a file name is a valid repo path")
}

/// The manifest file of a package of `language` in `dir` (turbo.toml for a generic one).
pub(crate) fn manifest_path(dir: &RepoPath, language: Language) -> RepoPath {
    dir.join(language.manifest_file())
        .expect("a file name is a valid repo path")
}

/// Whether the repo file `path` exists as a regular file (or a symlink to one): `Ok(false)`
/// when nothing is there, an error naming it when something else is (a directory, a
/// dangling symlink, a FIFO: checked without opening it, which for a FIFO would block).
pub(crate) fn regular_file(root: &AbsPath, path: &RepoPath) -> Result<bool, WorkspaceError> {
    let abs = root.join_repo(path);
    let io = |source| WorkspaceError::Io {
        path: path.clone(),
        source,
    };
    let meta = match std::fs::symlink_metadata(abs.as_path()) {
        Ok(meta) => meta,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(err) => return Err(io(err)),
    };
    let meta = if meta.file_type().is_symlink() {
        match std::fs::metadata(abs.as_path()) {
            Ok(meta) => meta,
            Err(err)
                if err.kind() == std::io::ErrorKind::NotFound
                    || err.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) =>
            {
                return Err(WorkspaceError::NotAFile {
                    path: path.clone(),
                    kind: FileKind::DanglingSymlink,
                })
            }
            Err(err) => return Err(io(err)),
        }
    } else {
        meta
    };
    use std::os::unix::fs::FileTypeExt;
    let kind = meta.file_type();
    let not = |kind| {
        Err(WorkspaceError::NotAFile {
            path: path.clone(),
            kind,
        })
    };
    if kind.is_file() {
        Ok(true)
    } else if kind.is_dir() {
        not(FileKind::Directory)
    } else if kind.is_fifo() {
        not(FileKind::Fifo)
    } else if kind.is_socket() {
        not(FileKind::Socket)
    } else {
        not(FileKind::Device)
    }
}

/// The first lines of a lockfile (where `lockfileVersion` is), without reading megabytes.
pub(crate) fn lockfile_head(path: &AbsPath) -> Option<String> {
    use std::io::Read;
    let mut head = Vec::with_capacity(512);
    std::fs::File::open(path.as_path())
        .ok()?
        .take(512)
        .read_to_end(&mut head)
        .ok()?;
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// The largest manifest or workspace file read (package.json, Cargo.toml, go.mod, go.work,
/// pnpm-workspace.yaml), in bytes. Real package.json files are a few KiB, rarely a few
/// hundred; lockfiles, which can be larger, are not read here.
pub(crate) const MAX_MANIFEST_SIZE: u64 = 4 << 20;

/// Reads a repo file; `None` when it does not exist.
pub(crate) fn read_optional(
    root: &AbsPath,
    path: &RepoPath,
) -> Result<Option<String>, WorkspaceError> {
    if !regular_file(root, path)? {
        return Ok(None);
    }
    read_capped(root, path).map(Some)
}

pub(crate) fn read(root: &AbsPath, path: &RepoPath) -> Result<String, WorkspaceError> {
    regular_file(root, path)?;
    read_capped(root, path)
}

/// Reads at most [`MAX_MANIFEST_SIZE`] bytes of a file known to be regular.
fn read_capped(root: &AbsPath, path: &RepoPath) -> Result<String, WorkspaceError> {
    use std::io::Read;
    let mut text = String::new();
    let size = std::fs::File::open(root.join_repo(path).as_path())
        .and_then(|file| file.take(MAX_MANIFEST_SIZE + 1).read_to_string(&mut text))
        .map_err(|source| WorkspaceError::Io {
            path: path.clone(),
            source,
        })?;
    if size as u64 > MAX_MANIFEST_SIZE {
        return Err(WorkspaceError::TooLarge {
            path: path.clone(),
            limit: MAX_MANIFEST_SIZE,
        });
    }
    Ok(text)
}

/// `rel` (a path written in a manifest in `base`) as a repo path; `None` when it leaves the
/// repository.
pub(crate) fn resolve(root: &AbsPath, base: &RepoPath, rel: &str) -> Option<RepoPath> {
    let rel = rel.replace('\\', "/");
    if Path::new(&rel).is_absolute() {
        let abs = AbsPath::new(&rel)?;
        let inside = resolve(root, &RepoPath::root(), abs.strip_root(root)?.as_str())?;
        return Some(inside);
    }
    base.resolve(&rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_relative_paths_inside_the_root() {
        let root = AbsPath::new("/repo").unwrap();
        let base = RepoPath::new("services/api").unwrap();
        assert_eq!(
            resolve(&root, &base, "../shared").unwrap().as_str(),
            "services/shared"
        );
        assert_eq!(
            resolve(&root, &base, "./x/../y").unwrap().as_str(),
            "services/api/y"
        );
        assert_eq!(resolve(&root, &base, "../..").unwrap(), RepoPath::root());
        assert_eq!(resolve(&root, &base, "../../.."), None);
        assert_eq!(
            resolve(&root, &base, "/repo/crates/a").unwrap().as_str(),
            "crates/a"
        );
        assert_eq!(resolve(&root, &base, "/elsewhere"), None);
    }
}
