use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use mono_paths::{AbsPath, RepoPath};
use tempfile::TempPath;

use crate::archive::ZSTD_MAGIC;
use crate::error::{Corruption, IoContext, PackError, RestoreError};
use crate::key::{CacheKey, Checksum};
use crate::meta::{ArchiveInfo, ArtifactMeta, TaskInfo, FORMAT_VERSION};
use crate::policy::RestorePolicy;
use crate::{pack, restore, safety};

/// What the runner hands over after a task succeeded, to pack into an [`Artifact`].
#[derive(Clone, Copy, Debug)]
pub struct PackRequest<'a> {
    /// The task hash.
    pub key: CacheKey,
    /// Task id, duration and exit code.
    pub task: &'a TaskInfo,
    /// The repository root the outputs are relative to.
    pub repo_root: &'a AbsPath,
    /// The outputs: files, directories (stored recursively) and symlinks, as found by
    /// expanding the task's `outputs` globs. Order and duplicates do not matter.
    pub outputs: &'a [RepoPath],
    /// The task's captured log.
    pub log: &'a [u8],
}

/// A cache entry's archive and metadata, verified against each other: the unit that stores
/// take and give back.
///
/// The archive is a file (a store's own file, or a temporary one that is removed when the
/// artifact is dropped), read on demand and never held in memory whole. The file is kept
/// open, so a concurrent replacement or removal of the entry does not affect it.
#[derive(Debug)]
pub struct Artifact {
    meta: ArtifactMeta,
    file: File,
    path: PathBuf,
    _temp: Option<TempPath>,
}

/// The result of [`Artifact::restore`].
#[derive(Debug)]
pub struct Restored {
    /// The entry's metadata: task id, and the duration a hit saves.
    pub meta: ArtifactMeta,
    /// The log to replay.
    pub log: Vec<u8>,
    /// How many output entries were written.
    pub written: usize,
    /// How many output entries were already on disk, unchanged, and left alone.
    pub up_to_date: usize,
    /// Every output entry of the archive (files, directories, symlinks), now on disk.
    pub paths: Vec<RepoPath>,
}

impl Restored {
    /// Whether the outputs on disk already matched the artifact, so nothing was written.
    pub fn was_up_to_date(&self) -> bool {
        self.written == 0
    }
}

impl Artifact {
    /// Packs outputs and log into a new artifact, in a temporary file in `scratch_dir`.
    ///
    /// Pack into the local store's directory ([`crate::LocalStore::entries_dir`]) to let
    /// [`crate::CacheStore::put`] link the file into place instead of copying it.
    pub fn pack(request: &PackRequest<'_>, scratch_dir: &Path) -> Result<Artifact, PackError> {
        let nodes = pack::collect(request.repo_root, request.outputs)?;
        let temp = tempfile::Builder::new()
            .prefix(&crate::local::temp_prefix())
            .tempfile_in(scratch_dir)
            .pack_path(scratch_dir)?;
        let (file, temp_path) = temp.into_parts();
        let out = BufWriter::with_capacity(256 * 1024, file);
        let (out, written) = pack::write(
            request.repo_root,
            &request.key,
            &nodes,
            request.log,
            out,
            &temp_path,
        )?;
        let file = out
            .into_inner()
            .map_err(|err| err.into_error())
            .pack_path(&*temp_path)?;
        let meta = ArtifactMeta {
            version: FORMAT_VERSION,
            hash: request.key,
            task: request.task.clone(),
            archive: ArchiveInfo {
                blake3: written.checksum,
                size: written.size,
            },
        };
        Ok(Artifact {
            meta,
            file,
            path: temp_path.to_path_buf(),
            _temp: Some(temp_path),
        })
    }

    /// Opens the archive at `path` and verifies it against `meta`: a regular file (opened
    /// without blocking), its size, checksum, the zstd magic number, and that its first
    /// entry names `meta`'s key. A missing file is [`Corruption::MissingArchive`]; a file that
    /// cannot be read is corrupt too, since it cannot be used.
    pub fn from_file(meta: ArtifactMeta, path: impl Into<PathBuf>) -> Result<Artifact, Corruption> {
        let path = path.into();
        let file = match crate::open::open_regular(&path) {
            Ok(file) => file,
            Err(err) if err.is_not_found() => return Err(Corruption::MissingArchive),
            Err(crate::open::OpenError::Io(err)) => return Err(Corruption::Unreadable(err)),
            Err(err) => return Err(Corruption::Unsafe(err)),
        };
        verify(&meta, &file)?;
        Ok(Artifact {
            meta,
            file,
            path,
            _temp: None,
        })
    }

    /// Like [`Artifact::from_file`] for an archive downloaded into a temporary file, which
    /// is removed when the artifact is dropped.
    pub fn from_temp_file(
        meta: ArtifactMeta,
        temp: tempfile::NamedTempFile,
    ) -> Result<Artifact, Corruption> {
        let (file, temp_path) = temp.into_parts();
        crate::open::check_regular(&file).map_err(Corruption::Unsafe)?;
        verify(&meta, &file)?;
        Ok(Artifact {
            meta,
            file,
            path: temp_path.to_path_buf(),
            _temp: Some(temp_path),
        })
    }

    /// The metadata.
    pub fn meta(&self) -> &ArtifactMeta {
        &self.meta
    }

    /// The cache key.
    pub fn key(&self) -> CacheKey {
        self.meta.hash
    }

    /// Where the archive file is.
    pub fn archive_path(&self) -> &Path {
        &self.path
    }

    /// The compressed archive's bytes, streamed from the file. Several readers may run at
    /// once: each reads at its own position.
    pub fn archive_reader(&self) -> impl Read + '_ {
        FileReader {
            file: &self.file,
            pos: 0,
        }
    }

    pub(crate) fn file(&self) -> &File {
        &self.file
    }

    /// The captured log, read from the front of the archive without unpacking the rest.
    pub fn read_log(&self) -> Result<Vec<u8>, RestoreError> {
        restore::read_log(self.archive_reader())
    }

    /// Writes the outputs into the repository at `repo_root` and returns the log.
    ///
    /// Every entry is read and checked before anything is written: an archive with an
    /// absolute path, a `..`, an entry through a symlink, a symlink leading out of the
    /// repository, or an unsupported entry type is rejected with an error naming the entry,
    /// and nothing is written. So is an archive with an entry that `policy` refuses: one
    /// that is not among the task's declared outputs, lies in a `.git` folder, or would
    /// overwrite a file git tracks (docs/security.md). Outputs already on disk with the
    /// same type, permission bits and content are left alone; when all are, nothing is
    /// written at all ([`Restored::was_up_to_date`]). Other files in output directories are
    /// kept.
    pub fn restore(
        &self,
        repo_root: &AbsPath,
        policy: &RestorePolicy,
    ) -> Result<Restored, RestoreError> {
        let inspection = restore::inspect(self.archive_reader(), Some(repo_root), &self.meta.hash)?;
        safety::validate(
            repo_root,
            inspection
                .entries
                .iter()
                .map(|planned| (&planned.path, &planned.node, !planned.up_to_date)),
            policy,
        )?;
        let up_to_date = inspection
            .entries
            .iter()
            .filter(|planned| planned.up_to_date)
            .count();
        let written = if up_to_date == inspection.entries.len() {
            0
        } else {
            restore::write_outputs(self.archive_reader(), repo_root, &inspection.entries)?
        };
        Ok(Restored {
            meta: self.meta.clone(),
            log: inspection.log,
            written,
            up_to_date,
            paths: inspection
                .entries
                .into_iter()
                .map(|planned| planned.path)
                .collect(),
        })
    }

    /// Every output entry of the archive (files, directories, symlinks), read without
    /// writing anything.
    pub fn output_paths(&self) -> Result<Vec<RepoPath>, RestoreError> {
        let inspection = restore::inspect(self.archive_reader(), None, &self.meta.hash)?;
        Ok(inspection
            .entries
            .into_iter()
            .map(|planned| planned.path)
            .collect())
    }
}

fn verify(meta: &ArtifactMeta, file: &File) -> Result<(), Corruption> {
    let size = file.metadata().map_err(Corruption::Unreadable)?.len();
    if size != meta.archive.size {
        return Err(Corruption::SizeMismatch {
            expected: meta.archive.size,
            found: size,
        });
    }
    let mut reader = FileReader { file, pos: 0 };
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut magic = [0u8; 4];
    let mut seen = 0usize;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(Corruption::Unreadable(err)),
        };
        if seen < magic.len() {
            let take = (magic.len() - seen).min(n);
            magic[seen..seen + take].copy_from_slice(&buf[..take]);
            seen += take;
        }
        hasher.update(&buf[..n]);
    }
    let found = Checksum::from(hasher.finalize());
    if found != meta.archive.blake3 {
        return Err(Corruption::ChecksumMismatch {
            expected: meta.archive.blake3,
            found,
        });
    }
    if magic != ZSTD_MAGIC {
        return Err(Corruption::NotZstd);
    }
    restore::verify_key(FileReader { file, pos: 0 }, &meta.hash)
}

/// Reads a shared file from its own position, without moving the file's cursor.
struct FileReader<'a> {
    file: &'a File,
    pos: u64,
}

impl Read for FileReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        #[cfg(unix)]
        let n = std::os::unix::fs::FileExt::read_at(self.file, buf, self.pos)?;
        #[cfg(windows)]
        let n = std::os::windows::fs::FileExt::seek_read(self.file, buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Copies an artifact's archive to `out` (for stores that cannot link files).
pub(crate) fn copy_archive(artifact: &Artifact, out: &mut impl Write) -> io::Result<u64> {
    io::copy(&mut artifact.archive_reader(), out)
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::MetadataExt;
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::fixture::{self, pack, paths, snapshot, symlink, write_file, Sandbox, Seen};

    /// dist/ with files of several modes, an empty private directory, symlinks to a file and
    /// to a directory, and one file listed on its own.
    fn populate(root: &AbsPath) {
        write_file(root, "dist/app.js", b"console.log(1)\n", 0o644);
        write_file(root, "dist/bin/tool", b"#!/bin/sh\necho hi\n", 0o755);
        write_file(root, "dist/secret.key", b"s3cret", 0o600);
        fs::create_dir(root.join("dist/empty")).unwrap();
        fs::set_permissions(root.join("dist/empty"), fs::Permissions::from_mode(0o700)).unwrap();
        symlink(root, "dist/app-link.js", "app.js");
        symlink(root, "dist/bin-link", "bin");
        symlink(root, "dist/up-link", "../src/input.ts");
        write_file(root, "src/input.ts", b"input", 0o644);
        write_file(root, "out/single.txt", b"single", 0o640);
        write_file(root, "out/not-listed.txt", b"no", 0o644);
    }

    use std::os::unix::fs::PermissionsExt;

    fn subset(tree: &std::collections::BTreeMap<String, Seen>) -> Vec<(String, Seen)> {
        tree.iter()
            .filter(|(path, _)| path.starts_with("dist") || *path == "out/single.txt")
            .map(|(path, seen)| (path.clone(), seen.clone()))
            .collect()
    }

    #[test]
    fn round_trip_restores_files_dirs_symlinks_and_modes() {
        let sandbox = Sandbox::new();
        populate(&sandbox.repo);
        let artifact = pack(
            &sandbox.repo,
            &["dist", "out/single.txt"],
            b"the log\n",
            sandbox.dir.path(),
        );
        let target = sandbox.second_repo();
        let restored = artifact
            .restore(&target, &RestorePolicy::any_output())
            .unwrap();

        assert_eq!(restored.log, b"the log\n");
        assert_eq!(restored.meta.task.duration_ms, 1234);
        assert_eq!(restored.up_to_date, 0);
        // dist, 3 files, bin, empty, 3 links, single.txt
        assert_eq!(restored.written, 10);
        assert!(!restored.was_up_to_date());
        let after = snapshot(target.as_path());
        assert_eq!(subset(&after), subset(&snapshot(sandbox.repo.as_path())));
        assert!(!after.contains_key("out/not-listed.txt"));
        assert!(
            !after.contains_key("src/input.ts"),
            "a symlink's target is not an output"
        );
        assert_eq!(artifact.read_log().unwrap(), b"the log\n");
        assert_eq!(artifact.meta().task, fixture::task());
        assert_eq!(
            artifact.meta().archive.size,
            fs::metadata(artifact.archive_path()).unwrap().len()
        );
    }

    #[test]
    fn same_outputs_give_identical_bytes() {
        let sandbox = Sandbox::new();
        populate(&sandbox.repo);
        let other = sandbox.second_repo();
        populate(&other);
        // Different mtimes, listing order and duplicates must not matter.
        let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        fs::File::options()
            .write(true)
            .open(other.join("dist/app.js"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        let first = pack(
            &sandbox.repo,
            &["dist", "out/single.txt"],
            b"log",
            sandbox.dir.path(),
        );
        let second = pack(
            &other,
            &["out/single.txt", "dist/app.js", "dist", "dist/bin"],
            b"log",
            sandbox.dir.path(),
        );
        let bytes = |artifact: &Artifact| fs::read(artifact.archive_path()).unwrap();
        assert_eq!(bytes(&first), bytes(&second));
        assert_eq!(first.meta().archive, second.meta().archive);

        let tar = zstd::decode_all(&bytes(&first)[..]).unwrap();
        let mut archive = tar::Archive::new(&tar[..]);
        let mut names = Vec::new();
        for entry in archive.entries().unwrap() {
            let entry = entry.unwrap();
            let header = entry.header();
            assert_eq!(header.mtime().unwrap(), 0);
            assert_eq!((header.uid().unwrap(), header.gid().unwrap()), (0, 0));
            assert_eq!(header.username_bytes().unwrap_or_default(), b"");
            assert_eq!(header.groupname_bytes().unwrap_or_default(), b"");
            names.push(String::from_utf8(entry.path_bytes().into_owned()).unwrap());
        }
        assert_eq!(names[..2], ["key", "log"]);
        let mut sorted = names[2..].to_vec();
        sorted.sort();
        assert_eq!(names[2..], sorted[..]);
    }

    #[test]
    fn long_paths_and_link_targets_round_trip() {
        let sandbox = Sandbox::new();
        let deep = format!("dist/{}/{}", "d".repeat(80), "f".repeat(90));
        write_file(&sandbox.repo, &deep, b"deep", 0o644);
        let target = format!("{}/{}", "d".repeat(80), "f".repeat(90));
        symlink(&sandbox.repo, "dist/long-link", &target);
        let artifact = pack(&sandbox.repo, &["dist"], b"", sandbox.dir.path());
        let restored_into = sandbox.second_repo();
        artifact
            .restore(&restored_into, &RestorePolicy::any_output())
            .unwrap();
        assert_eq!(
            snapshot(restored_into.as_path()),
            snapshot(sandbox.repo.as_path())
        );
    }

    #[test]
    fn restore_skips_outputs_that_already_match() {
        let sandbox = Sandbox::new();
        populate(&sandbox.repo);
        let artifact = pack(
            &sandbox.repo,
            &["dist", "out/single.txt"],
            b"log",
            sandbox.dir.path(),
        );
        let before = snapshot(sandbox.repo.as_path());
        let ino = |path: &str| fs::symlink_metadata(sandbox.repo.join(path)).unwrap().ino();
        let app_inode = ino("dist/app.js");

        let restored = artifact
            .restore(&sandbox.repo, &RestorePolicy::any_output())
            .unwrap();
        assert!(restored.was_up_to_date());
        assert_eq!((restored.written, restored.up_to_date), (0, 10));
        assert_eq!(restored.log, b"log");
        assert_eq!(snapshot(sandbox.repo.as_path()), before);

        // Same size, other content: only that file is rewritten.
        write_file(&sandbox.repo, "dist/secret.key", b"S3CRET", 0o600);
        let restored = artifact
            .restore(&sandbox.repo, &RestorePolicy::any_output())
            .unwrap();
        assert_eq!((restored.written, restored.up_to_date), (1, 9));
        assert_eq!(snapshot(sandbox.repo.as_path()), before);
        assert_eq!(
            ino("dist/app.js"),
            app_inode,
            "a matching file is left alone"
        );

        // A changed mode, a removed file and a retargeted link are restored.
        fs::set_permissions(
            sandbox.repo.join("dist/bin/tool"),
            fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        fs::remove_file(sandbox.repo.join("out/single.txt")).unwrap();
        fs::remove_file(sandbox.repo.join("dist/app-link.js")).unwrap();
        symlink(&sandbox.repo, "dist/app-link.js", "bin/tool");
        let restored = artifact
            .restore(&sandbox.repo, &RestorePolicy::any_output())
            .unwrap();
        assert_eq!(restored.written, 3);
        assert_eq!(snapshot(sandbox.repo.as_path()), before);
    }

    #[test]
    fn restore_replaces_a_symlink_instead_of_writing_through_it() {
        let sandbox = Sandbox::new();
        write_file(&sandbox.repo, "dist/a.txt", b"output", 0o644);
        let artifact = pack(&sandbox.repo, &["dist"], b"", sandbox.dir.path());
        let target = sandbox.second_repo();
        write_file(&sandbox.outside, "victim", b"precious", 0o644);
        fs::create_dir(target.join("dist")).unwrap();
        symlink(
            &target,
            "dist/a.txt",
            sandbox.outside.join("victim").as_path().to_str().unwrap(),
        );

        artifact
            .restore(&target, &RestorePolicy::any_output())
            .unwrap();
        assert_eq!(
            fs::read(sandbox.outside.join("victim")).unwrap(),
            b"precious"
        );
        assert!(fs::symlink_metadata(target.join("dist/a.txt"))
            .unwrap()
            .is_file());
        assert_eq!(fs::read(target.join("dist/a.txt")).unwrap(), b"output");
    }

    #[test]
    fn restore_replaces_other_kinds_and_keeps_unlisted_files() {
        let sandbox = Sandbox::new();
        write_file(&sandbox.repo, "dist/a", b"file", 0o644);
        fs::create_dir_all(sandbox.repo.join("dist/b")).unwrap();
        let artifact = pack(&sandbox.repo, &["dist"], b"", sandbox.dir.path());
        let target = sandbox.second_repo();
        write_file(&target, "dist/a/was-a-dir", b"x", 0o644);
        write_file(&target, "dist/b", b"was a file", 0o644);
        write_file(&target, "dist/stale.txt", b"not in the archive", 0o644);
        artifact
            .restore(&target, &RestorePolicy::any_output())
            .unwrap();
        let tree = snapshot(target.as_path());
        assert_eq!(
            tree["dist/a"],
            Seen::File {
                mode: 0o644,
                content: b"file".to_vec()
            }
        );
        assert!(matches!(tree["dist/b"], Seen::Dir { .. }));
        assert!(tree.contains_key("dist/stale.txt"));
    }

    #[test]
    fn read_only_directories_are_filled_then_closed() {
        let sandbox = Sandbox::new();
        write_file(&sandbox.repo, "dist/ro/file", b"x", 0o444);
        fs::set_permissions(
            sandbox.repo.join("dist/ro"),
            fs::Permissions::from_mode(0o555),
        )
        .unwrap();
        let artifact = pack(&sandbox.repo, &["dist"], b"", sandbox.dir.path());
        let target = sandbox.second_repo();
        artifact
            .restore(&target, &RestorePolicy::any_output())
            .unwrap();
        let tree = snapshot(target.as_path());
        assert_eq!(tree["dist/ro"], Seen::Dir { mode: 0o555 });
        assert_eq!(
            tree["dist/ro/file"],
            Seen::File {
                mode: 0o444,
                content: b"x".to_vec()
            }
        );
        // Let the temporary directory be removed.
        for root in [&sandbox.repo, &target] {
            fs::set_permissions(root.join("dist/ro"), fs::Permissions::from_mode(0o755)).unwrap();
        }
    }

    #[test]
    fn setuid_bits_are_not_stored() {
        let sandbox = Sandbox::new();
        write_file(&sandbox.repo, "bin/tool", b"x", 0o4755);
        let artifact = pack(&sandbox.repo, &["bin/tool"], b"", sandbox.dir.path());
        let target = sandbox.second_repo();
        artifact
            .restore(&target, &RestorePolicy::any_output())
            .unwrap();
        let mode = fs::metadata(target.join("bin/tool"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o7777, 0o755);
    }

    #[test]
    fn outputs_below_a_listed_directory_symlink_are_reached_through_it() {
        let sandbox = Sandbox::new();
        write_file(&sandbox.repo, "real/x.js", b"x", 0o644);
        symlink(&sandbox.repo, "dist", "real");
        let artifact = pack(
            &sandbox.repo,
            &["dist", "dist/x.js", "real"],
            b"",
            sandbox.dir.path(),
        );
        let target = sandbox.second_repo();
        artifact
            .restore(&target, &RestorePolicy::any_output())
            .unwrap();
        assert_eq!(snapshot(target.as_path()), snapshot(sandbox.repo.as_path()));
    }

    fn pack_error(root: &AbsPath, outputs: &[&str], scratch: &Path) -> PackError {
        let outputs = paths(outputs);
        let task = fixture::task();
        let request = PackRequest {
            key: fixture::key("k"),
            task: &task,
            repo_root: root,
            outputs: &outputs,
            log: b"",
        };
        Artifact::pack(&request, scratch).unwrap_err()
    }

    #[test]
    fn packing_rejects_what_could_not_be_restored() {
        let sandbox = Sandbox::new();
        let scratch = sandbox.dir.path();
        assert!(matches!(
            pack_error(&sandbox.repo, &["missing"], scratch),
            PackError::MissingOutput { path } if path.as_str() == "missing"
        ));
        assert!(matches!(
            pack_error(&sandbox.repo, &[""], scratch),
            PackError::RootOutput
        ));

        symlink(&sandbox.repo, "dist/escape", "../../outside");
        assert!(matches!(
            pack_error(&sandbox.repo, &["dist"], scratch),
            PackError::SymlinkEscapes { path, target }
                if path.as_str() == "dist/escape" && target == "../../outside"
        ));
        fs::remove_file(sandbox.repo.join("dist/escape")).unwrap();
        symlink(&sandbox.repo, "dist/abs", "/etc/passwd");
        assert!(matches!(
            pack_error(&sandbox.repo, &["dist/abs"], scratch),
            PackError::SymlinkEscapes { .. }
        ));

        write_file(&sandbox.outside, "lib/a.js", b"a", 0o644);
        symlink(
            &sandbox.repo,
            "vendor",
            sandbox.outside.as_path().to_str().unwrap(),
        );
        assert!(matches!(
            pack_error(&sandbox.repo, &["vendor/lib/a.js"], scratch),
            PackError::OutsideRepo { path } if path.as_str() == "vendor/lib/a.js"
        ));
    }

    #[test]
    fn temporary_archives_are_removed_with_the_artifact() {
        let sandbox = Sandbox::new();
        write_file(&sandbox.repo, "a", b"a", 0o644);
        let scratch = sandbox.dir.path().join("scratch");
        fs::create_dir(&scratch).unwrap();
        let artifact = pack(&sandbox.repo, &["a"], b"", &scratch);
        assert_eq!(fs::read_dir(&scratch).unwrap().count(), 1);
        drop(artifact);
        assert_eq!(fs::read_dir(&scratch).unwrap().count(), 0);
    }
}
