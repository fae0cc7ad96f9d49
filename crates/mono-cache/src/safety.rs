//! Checks that restoring an archive writes nothing outside the repository, before anything
//! is written.
//!
//! The checks run on the state the repository will have once the archive is restored: the
//! archive's entries, and the disk wherever the archive has no entry. For every entry:
//!
//! 1. No path appears twice.
//! 2. No proper ancestor of the entry is a symlink or a file of the archive (the
//!    "symlink, then a file through it" trick).
//! 3. Every ancestor that the archive does not create, resolved through the symlinks on
//!    disk, stays inside the repository and is not a file.
//! 4. A symlink's target is relative and, resolved from the link's directory through every
//!    symlink of the archive and of the disk, stays inside the repository.
//!
//! Entry names themselves (absolute, `..`, not UTF-8) are checked as they are read. Then
//! the restore policy (crate::policy) checks each entry's name (no `.git`, a declared
//! output) and where it lands once resolved (no `.git`, no file git tracks).

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use mono_paths::{AbsPath, RepoPath};

use crate::archive::Node;
use crate::error::RestoreError;
use crate::policy::RestorePolicy;

/// How many symlinks one resolution may follow, as Linux's `MAXSYMLINKS`.
const MAX_HOPS: u32 = 40;

/// Why a path cannot be resolved inside the repository.
enum Unresolved {
    Escapes,
    Loop,
}

/// What a path is once the archive is restored.
#[derive(Clone)]
enum Kind {
    Missing,
    Dir,
    File,
    Symlink(String),
}

/// Validates the entries of an archive about to be restored into `root`, and checks each
/// against `policy` (crate::policy): by its name, then by where it lands once resolved.
/// Each entry comes with whether restoring writes it (it differs from the disk).
pub(crate) fn validate<'a>(
    root: &AbsPath,
    entries: impl Iterator<Item = (&'a RepoPath, &'a Node, bool)> + Clone,
    policy: &RestorePolicy,
) -> Result<(), RestoreError> {
    for (path, _, _) in entries.clone() {
        policy.check_name(path)?;
    }
    let mut archive = HashMap::new();
    for (path, node, _) in entries.clone() {
        if archive.insert(path.as_str(), node).is_some() {
            return Err(RestoreError::Duplicate {
                entry: path.to_string(),
            });
        }
    }
    let mut view = View {
        root,
        archive,
        disk: HashMap::new(),
        canonical_root: None,
    };
    let mut implicit_checked = HashSet::new();

    for (path, node, writes) in entries {
        let entry = path.as_str();
        let mut ancestor = path.parent();
        while let Some(dir) = ancestor.filter(|dir| !dir.is_root()) {
            match view.archive.get(dir.as_str()) {
                Some(Node::Symlink { .. }) => {
                    return Err(RestoreError::ThroughSymlink {
                        entry: entry.to_owned(),
                        link: dir.to_string(),
                    });
                }
                Some(Node::File { .. }) => {
                    return Err(RestoreError::NotADirectory {
                        entry: entry.to_owned(),
                        parent: dir.to_string(),
                    });
                }
                // The directory is an entry too: its own ancestors are checked with it.
                Some(Node::Dir { .. }) => break,
                None if implicit_checked.contains(dir.as_str()) => {}
                None => {
                    match view.resolve(Vec::new(), dir.as_str(), &mut 0) {
                        Ok(real) => {
                            if let Kind::File = view.kind_at(&real.join("/")) {
                                return Err(RestoreError::NotADirectory {
                                    entry: entry.to_owned(),
                                    parent: dir.to_string(),
                                });
                            }
                        }
                        Err(Unresolved::Escapes) => {
                            return Err(RestoreError::OutsideRepo {
                                entry: entry.to_owned(),
                                via: dir.to_string(),
                            });
                        }
                        Err(Unresolved::Loop) => {
                            return Err(RestoreError::SymlinkLoop {
                                entry: dir.to_string(),
                            });
                        }
                    }
                    implicit_checked.insert(dir.as_str().to_owned());
                }
            }
            ancestor = dir.parent();
        }

        // Where the entry lands, through every symlink of the disk and the archive.
        let real = match path.parent().filter(|dir| !dir.is_root()) {
            None => entry.to_owned(),
            Some(dir) => match view.resolve(Vec::new(), dir.as_str(), &mut 0) {
                Ok(mut real) => {
                    real.push(path.file_name().unwrap_or_default().to_owned());
                    real.join("/")
                }
                Err(Unresolved::Escapes) => {
                    return Err(RestoreError::OutsideRepo {
                        entry: entry.to_owned(),
                        via: dir.to_string(),
                    });
                }
                Err(Unresolved::Loop) => {
                    return Err(RestoreError::SymlinkLoop {
                        entry: dir.to_string(),
                    });
                }
            },
        };
        policy.check_target(path, &real, matches!(node, Node::Dir { .. }), writes)?;

        if let Node::Symlink { target } = node {
            let escapes = || RestoreError::SymlinkEscapes {
                entry: entry.to_owned(),
                target: target.clone(),
            };
            if target.is_empty() || target.starts_with('/') {
                return Err(escapes());
            }
            let base: Vec<String> = path
                .parent()
                .map(|dir| dir.components().map(str::to_owned).collect())
                .unwrap_or_default();
            match view.resolve(base, target, &mut 0) {
                Ok(_) => {}
                Err(Unresolved::Escapes) => return Err(escapes()),
                Err(Unresolved::Loop) => {
                    return Err(RestoreError::SymlinkLoop {
                        entry: entry.to_owned(),
                    });
                }
            }
        }
    }
    Ok(())
}

/// The repository as it will be after the restore: the archive over the disk.
struct View<'a> {
    root: &'a AbsPath,
    archive: HashMap<&'a str, &'a Node>,
    disk: HashMap<String, Kind>,
    canonical_root: Option<Option<PathBuf>>,
}

impl View<'_> {
    /// Resolves `rel` from the real (symlink-free) directory `base`, following symlinks;
    /// returns the real path's components.
    fn resolve(
        &mut self,
        base: Vec<String>,
        rel: &str,
        hops: &mut u32,
    ) -> Result<Vec<String>, Unresolved> {
        let mut stack = base;
        for part in rel.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    if stack.pop().is_none() {
                        return Err(Unresolved::Escapes);
                    }
                }
                name => {
                    stack.push(name.to_owned());
                    if let Kind::Symlink(target) = self.kind_at(&stack.join("/")) {
                        *hops += 1;
                        if *hops > MAX_HOPS {
                            return Err(Unresolved::Loop);
                        }
                        stack.pop();
                        stack = if target.starts_with('/') {
                            let inside = self.repo_relative(Path::new(&target))?;
                            self.resolve(Vec::new(), &inside, hops)?
                        } else {
                            self.resolve(stack, &target, hops)?
                        };
                    }
                }
            }
        }
        Ok(stack)
    }

    /// What `path` (real, `/`-separated, relative to the root) will be.
    fn kind_at(&mut self, path: &str) -> Kind {
        if let Some(node) = self.archive.get(path) {
            return match node {
                Node::File { .. } => Kind::File,
                Node::Dir { .. } => Kind::Dir,
                Node::Symlink { target } => Kind::Symlink(target.clone()),
            };
        }
        // Below a directory the archive creates in place of something else on disk, the
        // disk's contents will be gone.
        for (i, _) in path.match_indices('/') {
            let ancestor = &path[..i];
            let archive_dir = self
                .archive
                .get(ancestor)
                .map(|node| matches!(node, Node::Dir { .. }));
            match archive_dir {
                None => {}
                Some(true) if matches!(self.disk_kind(ancestor), Kind::Dir) => {}
                Some(_) => return Kind::Missing,
            }
        }
        self.disk_kind(path)
    }

    fn disk_kind(&mut self, path: &str) -> Kind {
        if let Some(kind) = self.disk.get(path) {
            return kind.clone();
        }
        let abs = self.root.join(path);
        let kind = match fs::symlink_metadata(&abs) {
            Err(_) => Kind::Missing,
            Ok(meta) if meta.file_type().is_symlink() => match fs::read_link(&abs) {
                // A target that is not UTF-8 cannot be judged: treat it as leaving.
                Ok(target) => Kind::Symlink(target.to_str().unwrap_or("/").to_owned()),
                Err(_) => Kind::Missing,
            },
            Ok(meta) if meta.is_dir() => Kind::Dir,
            Ok(_) => Kind::File,
        };
        self.disk.insert(path.to_owned(), kind.clone());
        kind
    }

    /// An absolute symlink target on disk, as a path relative to the root, if inside it.
    fn repo_relative(&mut self, target: &Path) -> Result<String, Unresolved> {
        let canonical_root = self
            .canonical_root
            .get_or_insert_with(|| fs::canonicalize(self.root).ok())
            .as_deref();
        let rest = target
            .strip_prefix(self.root)
            .ok()
            .or_else(|| canonical_root.and_then(|root| target.strip_prefix(root).ok()))
            .ok_or(Unresolved::Escapes)?;
        let rest = RepoPath::from_path(rest).map_err(|_| Unresolved::Escapes)?;
        Ok(rest.as_str().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use test_case::test_case;

    use crate::error::{Corruption, RestoreError};
    use crate::fixture::{
        artifact_from_bytes, raw_archive, snapshot, symlink, try_artifact_from_bytes, write_file,
        Raw, Sandbox,
    };

    /// Restores a crafted archive into a repository holding one file, with a valid entry
    /// before the crafted ones; checks that neither the repository nor the directory beside
    /// it changed, and returns the error.
    fn reject(entries: &[Raw<'_>], with_log: bool, sandbox: &Sandbox) -> RestoreError {
        write_file(&sandbox.repo, "keep.txt", b"keep", 0o644);
        let repo_before = snapshot(sandbox.repo.as_path());
        let outside_before = snapshot(sandbox.outside.as_path());
        let mut all = vec![Raw::File("outputs/aaa-valid.txt", b"valid")];
        all.extend(entries.iter().map(|entry| match *entry {
            Raw::File(name, data) => Raw::File(name, data),
            Raw::Dir(name) => Raw::Dir(name),
            Raw::Symlink(name, target) => Raw::Symlink(name, target),
            Raw::HardLink(name, target) => Raw::HardLink(name, target),
            Raw::Fifo(name) => Raw::Fifo(name),
        }));
        let artifact = artifact_from_bytes(&raw_archive(&all, with_log), sandbox.dir.path());
        let err = artifact
            .restore(&sandbox.repo, &crate::RestorePolicy::any_output())
            .unwrap_err();
        assert_eq!(
            snapshot(sandbox.repo.as_path()),
            repo_before,
            "the repository changed"
        );
        assert_eq!(
            snapshot(sandbox.outside.as_path()),
            outside_before,
            "outside changed"
        );
        err
    }

    fn crafted(entries: &[Raw<'_>]) -> RestoreError {
        reject(entries, true, &Sandbox::new())
    }

    #[test_case(&[Raw::File("../evil", b"x")] => matches RestoreError::ParentDir { entry } if entry == "../evil" ; "top level parent")]
    #[test_case(&[Raw::File("outputs/../../outside/evil", b"x")] => matches RestoreError::ParentDir { .. } ; "output parent")]
    #[test_case(&[Raw::File("outputs/a/../../evil", b"x")] => matches RestoreError::ParentDir { .. } ; "inner parent")]
    #[test_case(&[Raw::Dir("outputs/.."), Raw::File("outputs/../evil", b"x")] => matches RestoreError::ParentDir { .. } ; "parent dir entry")]
    #[test_case(&[Raw::File("/tmp/mono-cache-test-evil", b"x")] => matches RestoreError::AbsolutePath { .. } ; "absolute")]
    #[test_case(&[Raw::File("outputs//tmp/mono-cache-test-evil", b"x")] => matches RestoreError::AbsolutePath { .. } ; "absolute after prefix")]
    #[test_case(&[Raw::File("outputs/./x", b"x")] => matches RestoreError::InvalidPath { .. } ; "dot component")]
    #[test_case(&[Raw::File("outputs/a\\..\\..\\evil", b"x")] => matches RestoreError::InvalidPath { .. } ; "backslash")]
    #[test_case(&[Raw::File("outputs/", b"x")] => matches RestoreError::InvalidPath { .. } ; "the root itself")]
    #[test_case(&[Raw::Symlink("outputs/link", "../outside")] => matches RestoreError::SymlinkEscapes { entry, target } if entry == "link" && target == "../outside" ; "escaping symlink")]
    #[test_case(&[Raw::Symlink("outputs/a/b/link", "../../../outside")] => matches RestoreError::SymlinkEscapes { .. } ; "deep escaping symlink")]
    #[test_case(&[Raw::Symlink("outputs/link", "/etc")] => matches RestoreError::SymlinkEscapes { .. } ; "absolute symlink")]
    #[test_case(&[Raw::Symlink("outputs/link", "")] => matches RestoreError::SymlinkEscapes { .. } ; "empty symlink")]
    #[test_case(&[Raw::Symlink("outputs/link", "sub"), Raw::File("outputs/link/x", b"x")] => matches RestoreError::ThroughSymlink { entry, link } if entry == "link/x" && link == "link" ; "file through an inside symlink")]
    #[test_case(&[Raw::Symlink("outputs/link", "../outside"), Raw::File("outputs/link/evil", b"x")] => matches RestoreError::SymlinkEscapes { .. } ; "file through an escaping symlink")]
    #[test_case(&[Raw::File("outputs/link/evil", b"x"), Raw::Symlink("outputs/link", "../outside")] => matches RestoreError::ThroughSymlink { .. } ; "symlink after the file")]
    #[test_case(&[Raw::Dir("outputs/a"), Raw::Symlink("outputs/a/b", ".."), Raw::Symlink("outputs/e", "a/b/..")] => matches RestoreError::SymlinkEscapes { entry, .. } if entry == "e" ; "chain of inside links that escapes")]
    #[test_case(&[Raw::Symlink("outputs/l1", "l2"), Raw::Symlink("outputs/l2", "l1/x")] => matches RestoreError::SymlinkLoop { .. } ; "symlink loop")]
    #[test_case(&[Raw::HardLink("outputs/hard", "/etc/passwd")] => matches RestoreError::UnsupportedEntry { type_flag: '1', .. } ; "hard link")]
    #[test_case(&[Raw::Fifo("outputs/fifo")] => matches RestoreError::UnsupportedEntry { type_flag: '6', .. } ; "fifo")]
    #[test_case(&[Raw::File("outputs/a", b"1"), Raw::Symlink("outputs/a", "../outside")] => matches RestoreError::Duplicate { .. } ; "duplicate")]
    #[test_case(&[Raw::File("outputs/f", b"1"), Raw::File("outputs/f/x", b"x")] => matches RestoreError::NotADirectory { .. } ; "file under a file")]
    #[test_case(&[Raw::File("etc/passwd", b"x")] => matches RestoreError::Corrupt(Corruption::UnexpectedEntry { .. }) ; "foreign entry")]
    #[test_case(&[Raw::File("log", b"again")] => matches RestoreError::Duplicate { .. } ; "second log")]
    fn crafted_archives_are_rejected_before_anything_is_written(
        entries: &[Raw<'_>],
    ) -> RestoreError {
        crafted(entries)
    }

    #[test]
    fn an_archive_without_log_is_corrupt() {
        let err = reject(&[], false, &Sandbox::new());
        assert!(matches!(err, RestoreError::Corrupt(Corruption::MissingLog)));
        assert!(err.is_corrupt());
    }

    #[test]
    fn absolute_entry_naming_the_outside_writes_nothing_there() {
        let sandbox = Sandbox::new();
        let name = sandbox
            .outside
            .join("evil")
            .as_path()
            .to_str()
            .unwrap()
            .to_owned();
        let err = reject(&[Raw::File(&name, b"x")], true, &sandbox);
        assert!(matches!(&err, RestoreError::AbsolutePath { entry } if *entry == name));
        assert!(err.is_unsafe());
    }

    #[test]
    fn symlinks_on_disk_leading_out_are_not_written_through() {
        let sandbox = Sandbox::new();
        symlink(&sandbox.repo, "out", "../outside");
        let err = reject(&[Raw::File("outputs/out/evil", b"x")], true, &sandbox);
        assert!(
            matches!(err, RestoreError::OutsideRepo { entry, via } if entry == "out/evil" && via == "out")
        );

        let sandbox = Sandbox::new();
        symlink(
            &sandbox.repo,
            "abs",
            sandbox.outside.as_path().to_str().unwrap(),
        );
        let err = reject(
            &[Raw::File("outputs/abs/deeper/evil", b"x")],
            true,
            &sandbox,
        );
        assert!(matches!(err, RestoreError::OutsideRepo { .. }));
    }

    #[test]
    fn links_of_the_archive_and_of_the_disk_are_resolved_together() {
        // On disk a/b -> .. stays inside; the archive's e -> a/b/.. then leaves.
        let sandbox = Sandbox::new();
        fs::create_dir(sandbox.repo.join("a")).unwrap();
        symlink(&sandbox.repo, "a/b", "..");
        let err = reject(&[Raw::Symlink("outputs/e", "a/b/..")], true, &sandbox);
        assert!(matches!(err, RestoreError::SymlinkEscapes { .. }));

        // The archive's link makes a disk path, harmless before, lead out: alias climbs
        // two levels from a/b, but once `a` is a link to the root, from b only.
        let sandbox = Sandbox::new();
        fs::create_dir_all(sandbox.repo.join("a/b")).unwrap();
        symlink(&sandbox.repo, "alias", "a/b/../..");
        let err = reject(
            &[
                Raw::Symlink("outputs/a", "."),
                Raw::File("outputs/alias/x", b"x"),
            ],
            true,
            &sandbox,
        );
        assert!(
            matches!(&err, RestoreError::OutsideRepo { entry, via } if entry == "alias/x" && via == "alias"),
            "{err:?}"
        );
    }

    #[test]
    fn symlinks_that_stay_inside_are_restored() {
        let sandbox = Sandbox::new();
        fs::create_dir(sandbox.repo.join("real")).unwrap();
        symlink(&sandbox.repo, "alias", "real");
        let bytes = raw_archive(
            &[
                Raw::Dir("outputs/dist"),
                Raw::File("outputs/dist/a.js", b"a"),
                Raw::Symlink("outputs/dist/up", "../real"),
                Raw::Symlink("outputs/dist/self", "."),
                Raw::File("outputs/alias/x", b"x"),
            ],
            true,
        );
        let artifact = artifact_from_bytes(&bytes, sandbox.dir.path());
        let restored = artifact
            .restore(&sandbox.repo, &crate::RestorePolicy::any_output())
            .unwrap();
        assert_eq!(restored.written, 5);
        assert_eq!(fs::read(sandbox.repo.join("real/x")).unwrap(), b"x");
        assert_eq!(
            fs::read_link(sandbox.repo.join("dist/up"))
                .unwrap()
                .to_str(),
            Some("../real")
        );
        assert!(snapshot(sandbox.outside.as_path()).is_empty());
    }

    #[test]
    fn the_writer_checks_directories_on_its_own() {
        // Behind validation, the writer refuses a directory that leads out by itself.
        let sandbox = Sandbox::new();
        symlink(&sandbox.repo, "out", "../outside");
        let bytes = raw_archive(&[Raw::File("outputs/out/evil", b"x")], true);
        let artifact = artifact_from_bytes(&bytes, sandbox.dir.path());
        let inspection = crate::restore::inspect(
            artifact.archive_reader(),
            Some(&sandbox.repo),
            &artifact.key(),
        )
        .unwrap();
        let err = crate::restore::write_outputs(
            artifact.archive_reader(),
            &sandbox.repo,
            &inspection.entries,
        )
        .unwrap_err();
        assert!(matches!(err, RestoreError::OutsideRepo { .. }), "{err:?}");
        assert!(snapshot(sandbox.outside.as_path()).is_empty());
    }

    #[test]
    fn garbage_inside_a_valid_checksum_is_corrupt() {
        let sandbox = Sandbox::new();
        let not_tar = zstd::encode_all(
            &b"definitely not a tar archive, but long enough to need a header block"[..],
            3,
        )
        .unwrap();
        // A verified lookup already decodes the first entry, for the key.
        let err = try_artifact_from_bytes(&not_tar, sandbox.dir.path()).unwrap_err();
        assert!(
            matches!(err, Corruption::Decode(_) | Corruption::MissingKey),
            "{err:?}"
        );

        let mut truncated = raw_archive(&[Raw::File("outputs/a", &[7u8; 10_000])], true);
        truncated.truncate(truncated.len() / 2);
        let err = match try_artifact_from_bytes(&truncated, sandbox.dir.path()) {
            Ok(artifact) => artifact
                .restore(&sandbox.repo, &crate::RestorePolicy::any_output())
                .unwrap_err(),
            Err(corruption) => RestoreError::Corrupt(corruption),
        };
        assert!(
            matches!(err, RestoreError::Corrupt(Corruption::Decode(_))),
            "{err:?}"
        );
        assert!(snapshot(sandbox.repo.as_path()).is_empty());
    }

    /// A policy for a task of the package `pkg` whose outputs are `pkg/dist/**`, in a
    /// repository where git tracks `pkg/src/index.js`, `other/src/lib.js` and
    /// `pkg/dist/checked-in.js`.
    fn policy() -> crate::RestorePolicy {
        let tracked = [
            "pkg/src/index.js",
            "other/src/lib.js",
            "pkg/dist/checked-in.js",
        ]
        .map(|p| mono_paths::RepoPath::new(p).unwrap());
        crate::RestorePolicy::new(
            |path| path.as_str().starts_with("pkg/dist/"),
            std::sync::Arc::new(crate::ProtectedFiles::new(crate::Protected::new(
                tracked,
                [],
            ))),
        )
    }

    fn poisoned(entries: &[Raw<'_>], setup: impl Fn(&Sandbox)) -> RestoreError {
        let sandbox = Sandbox::new();
        write_file(&sandbox.repo, "pkg/src/index.js", b"source", 0o644);
        write_file(&sandbox.repo, "other/src/lib.js", b"lib", 0o644);
        write_file(
            &sandbox.repo,
            "pkg/dist/checked-in.js",
            b"checked in",
            0o644,
        );
        fs::create_dir_all(sandbox.repo.join(".git/hooks")).unwrap();
        setup(&sandbox);
        let before = snapshot(sandbox.repo.as_path());
        let mut all = vec![Raw::File("outputs/pkg/dist/a-valid.js", b"valid")];
        all.extend_from_slice(entries);
        let artifact = artifact_from_bytes(&raw_archive(&all, true), sandbox.dir.path());
        let err = artifact.restore(&sandbox.repo, &policy()).unwrap_err();
        assert_eq!(
            snapshot(sandbox.repo.as_path()),
            before,
            "something was written"
        );
        assert!(err.is_unsafe(), "{err:?}");
        err
    }

    #[test_case(&[Raw::File("outputs/.git/hooks/post-checkout", b"#!/bin/sh\n")] => matches RestoreError::GitDir { entry } if entry == ".git/hooks/post-checkout" ; "git hook")]
    #[test_case(&[Raw::File("outputs/pkg/dist/.git/config", b"x")] => matches RestoreError::GitDir { .. } ; "nested git folder")]
    #[test_case(&[Raw::File("outputs/pkg/dist/.Git/config", b"x")] => matches RestoreError::GitDir { .. } ; "git folder in another case")]
    #[test_case(&[Raw::File("outputs/other/src/lib.js", b"x")] => matches RestoreError::NotAnOutput { entry } if entry == "other/src/lib.js" ; "another package")]
    #[test_case(&[Raw::File("outputs/pkg/src/index.js", b"x")] => matches RestoreError::NotAnOutput { .. } ; "own tracked source")]
    #[test_case(&[Raw::File("outputs/pkg/README", b"x")] => matches RestoreError::NotAnOutput { .. } ; "outside the globs")]
    #[test_case(&[Raw::Dir("outputs/pkg")] => matches RestoreError::NotAnOutput { .. } ; "a chmod of the package folder")]
    #[test_case(&[Raw::File("outputs/pkg/dist/checked-in.js", b"x")] => matches RestoreError::Protected { file, .. } if file == "pkg/dist/checked-in.js" ; "tracked file inside the outputs")]
    fn poisoned_archives_write_nothing(entries: &[Raw<'_>]) -> RestoreError {
        poisoned(entries, |_| {})
    }

    #[test]
    fn symlinks_cannot_lead_a_write_into_tracked_files_or_git() {
        // A link stored by an earlier restore, then an entry through it.
        let err = poisoned(&[Raw::File("outputs/pkg/dist/link/index.js", b"x")], |s| {
            symlink(&s.repo, "pkg/dist/link", "../src");
        });
        assert!(
            matches!(&err, RestoreError::Protected { file, .. } if file == "pkg/src/index.js"),
            "{err:?}"
        );
        let err = poisoned(
            &[Raw::File("outputs/pkg/dist/hooks/post-checkout", b"x")],
            |s| {
                symlink(&s.repo, "pkg/dist/hooks", "../../.git/hooks");
            },
        );
        assert!(matches!(err, RestoreError::GitDir { .. }), "{err:?}");
        // A link in place of a folder that holds tracked files removes them.
        let err = poisoned(&[Raw::Symlink("outputs/pkg/dist", "../src")], |_| {});
        assert!(matches!(err, RestoreError::NotAnOutput { .. }), "{err:?}");
    }

    #[test]
    fn a_legitimate_archive_restores_under_the_policy() {
        let sandbox = Sandbox::new();
        write_file(&sandbox.repo, "pkg/src/index.js", b"source", 0o644);
        // A committed output, unchanged: restoring leaves it alone, so it may be there.
        write_file(
            &sandbox.repo,
            "pkg/dist/checked-in.js",
            b"checked in",
            0o644,
        );
        let bytes = raw_archive(
            &[
                Raw::File("outputs/pkg/dist/checked-in.js", b"checked in"),
                Raw::File("outputs/pkg/dist/index.js", b"built"),
                Raw::Symlink("outputs/pkg/dist/alias.js", "index.js"),
            ],
            true,
        );
        let artifact = artifact_from_bytes(&bytes, sandbox.dir.path());
        let restored = artifact.restore(&sandbox.repo, &policy()).unwrap();
        assert_eq!((restored.written, restored.up_to_date), (2, 1));
        assert_eq!(
            fs::read(sandbox.repo.join("pkg/dist/index.js")).unwrap(),
            b"built"
        );
    }
}
