//! Test fixtures: repositories in temporary directories, snapshots of trees, and archives
//! crafted entry by entry (including ones mono never writes).

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use mono_paths::{AbsPath, RepoPath};
use tempfile::TempDir;

use crate::artifact::{Artifact, PackRequest};
use crate::key::{CacheKey, Checksum};
use crate::meta::{ArchiveInfo, ArtifactMeta, TaskInfo, FORMAT_VERSION};

/// A temporary directory holding `repo/` (the repository) and `outside/` (a directory that
/// restoring must never touch).
pub(crate) struct Sandbox {
    pub(crate) dir: TempDir,
    pub(crate) repo: AbsPath,
    pub(crate) outside: AbsPath,
}

impl Sandbox {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let repo = AbsPath::new(dir.path().join("repo")).unwrap();
        let outside = AbsPath::new(dir.path().join("outside")).unwrap();
        fs::create_dir(&repo).unwrap();
        fs::create_dir(&outside).unwrap();
        Self { dir, repo, outside }
    }

    /// Another repository beside the first, to restore into.
    pub(crate) fn second_repo(&self) -> AbsPath {
        let repo = AbsPath::new(self.dir.path().join("repo2")).unwrap();
        fs::create_dir_all(&repo).unwrap();
        repo
    }

    pub(crate) fn cache_dir(&self) -> AbsPath {
        AbsPath::new(self.dir.path().join("cache")).unwrap()
    }
}

pub(crate) fn key(seed: &str) -> CacheKey {
    blake3::hash(seed.as_bytes()).into()
}

pub(crate) fn task() -> TaskInfo {
    TaskInfo {
        task_id: "web#build".into(),
        duration_ms: 1234,
        exit_code: 0,
    }
}

pub(crate) fn paths(paths: &[&str]) -> Vec<RepoPath> {
    paths
        .iter()
        .map(|path| RepoPath::new(path).unwrap())
        .collect()
}

/// Writes a file (creating its directories) with the given mode.
pub(crate) fn write_file(root: &AbsPath, path: &str, content: &[u8], mode: u32) {
    let abs = root.join(path);
    fs::create_dir_all(abs.parent().unwrap()).unwrap();
    fs::write(&abs, content).unwrap();
    fs::set_permissions(&abs, fs::Permissions::from_mode(mode)).unwrap();
}

pub(crate) fn symlink(root: &AbsPath, path: &str, target: &str) {
    let abs = root.join(path);
    fs::create_dir_all(abs.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, &abs).unwrap();
}

/// One path of a tree, as compared by tests.
#[derive(Debug, PartialEq, Eq, Clone)]
pub(crate) enum Seen {
    File { mode: u32, content: Vec<u8> },
    Dir { mode: u32 },
    Symlink { target: String },
}

/// Everything under `root`, without following symlinks.
pub(crate) fn snapshot(root: &Path) -> BTreeMap<String, Seen> {
    let mut out = BTreeMap::new();
    for entry in walkdir::WalkDir::new(root).min_depth(1) {
        let entry = entry.unwrap();
        let path = entry.path();
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let meta = entry.metadata().unwrap();
        let mode = meta.permissions().mode() & 0o7777;
        let seen = if meta.file_type().is_symlink() {
            let target = fs::read_link(path).unwrap().to_str().unwrap().to_owned();
            Seen::Symlink { target }
        } else if meta.is_dir() {
            Seen::Dir { mode }
        } else {
            Seen::File {
                mode,
                content: fs::read(path).unwrap(),
            }
        };
        out.insert(rel, seen);
    }
    out
}

/// Packs outputs of `root` into an artifact in `scratch`.
pub(crate) fn pack(root: &AbsPath, outputs: &[&str], log: &[u8], scratch: &Path) -> Artifact {
    let outputs = paths(outputs);
    let task = task();
    let request = PackRequest {
        key: key("k"),
        task: &task,
        repo_root: root,
        outputs: &outputs,
        log,
    };
    Artifact::pack(&request, scratch).unwrap()
}

/// An entry of a crafted archive. Names and link targets are written into the header
/// as-is, bypassing every check of the tar crate.
#[derive(Clone, Copy)]
pub(crate) enum Raw<'a> {
    File(&'a str, &'a [u8]),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
    HardLink(&'a str, &'a str),
    Fifo(&'a str),
}

/// A zstd-compressed tar of `entries`, after the key entry of `key("crafted")` (the key
/// [`artifact_from_bytes`] gives) and a `log` entry unless `with_log` is false.
pub(crate) fn raw_archive(entries: &[Raw<'_>], with_log: bool) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut append = |name: &str, kind: tar::EntryType, link: &str, mode: u32, data: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_size(data.len() as u64);
        header.set_cksum();
        builder.append(&header, data).unwrap();
    };
    let key = crate::archive::key_entry(&key("crafted"));
    append("key", tar::EntryType::Regular, "", 0o644, &key);
    if with_log {
        append("log", tar::EntryType::Regular, "", 0o644, b"log\n");
    }
    for entry in entries {
        match *entry {
            Raw::File(name, data) => append(name, tar::EntryType::Regular, "", 0o644, data),
            Raw::Dir(name) => append(name, tar::EntryType::Directory, "", 0o755, b""),
            Raw::Symlink(name, target) => append(name, tar::EntryType::Symlink, target, 0o777, b""),
            Raw::HardLink(name, target) => append(name, tar::EntryType::Link, target, 0o644, b""),
            Raw::Fifo(name) => append(name, tar::EntryType::Fifo, "", 0o644, b""),
        }
    }
    let tar = builder.into_inner().unwrap();
    zstd::encode_all(&tar[..], 3).unwrap()
}

/// An artifact around arbitrary archive bytes, with metadata that matches them.
pub(crate) fn artifact_from_bytes(bytes: &[u8], scratch: &Path) -> Artifact {
    try_artifact_from_bytes(bytes, scratch).unwrap()
}

/// [`artifact_from_bytes`], for bytes that a lookup may refuse.
pub(crate) fn try_artifact_from_bytes(
    bytes: &[u8],
    scratch: &Path,
) -> Result<Artifact, crate::Corruption> {
    let mut temp = tempfile::NamedTempFile::new_in(scratch).unwrap();
    temp.write_all(bytes).unwrap();
    let meta = ArtifactMeta {
        version: FORMAT_VERSION,
        hash: key("crafted"),
        task: task(),
        archive: ArchiveInfo {
            blake3: Checksum::of(bytes),
            size: bytes.len() as u64,
        },
    };
    Artifact::from_temp_file(meta, temp)
}
