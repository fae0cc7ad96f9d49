//! A reader of git's index file (`.git/index`), versions 2, 3 and 4, for the listing of
//! tracked files without a `git` child process.
//!
//! Only what the listing needs is kept: each entry's path, mode and the flags that say
//! whether it is in the work tree (skip-worktree) or unmerged (a stage). The stat data git
//! keeps per entry is skipped: mono's own stat cache (mono-hash) answers "did this file
//! change" with blake3 digests, which git's object ids cannot give.
//!
//! Anything this reader does not handle exactly as git does is refused with
//! [`IndexError::Unsupported`], and the caller asks git instead: a split index (the `link`
//! extension: entries live in a shared file), a sparse index (the `sdir` extension, or
//! directory entries), an unknown required extension, or a layout that does not add up
//! (another hash function than SHA-1, a truncated file).
//!
//! Layout (all integers big-endian; see git's Documentation/gitformat-index.txt):
//!
//! ```text
//! "DIRC" | version u32 | entry count u32
//! entries: ctime s, ns | mtime s, ns | dev | ino | mode | uid | gid | size (u32 each)
//!          | object id [20] | flags u16 | (v3+, if flags & 0x4000) extended flags u16
//!          | path: v2/v3 NUL-terminated, padded with NULs to a multiple of 8 bytes;
//!                  v4 prefix-compressed (varint bytes to drop from the previous path, then
//!                  the rest, NUL-terminated), no padding
//! extensions: signature [4] | size u32 | data  (an upper-case first letter: optional)
//! checksum [20]
//! ```

/// Why the index could not be read here; the caller then lists with `git ls-files`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum IndexError {
    /// Not an index this reader understands byte for byte.
    #[error("the git index is not in a layout mono reads ({0})")]
    Unsupported(&'static str),
}

/// One entry of the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IndexEntry {
    /// The path relative to the top of the work tree, as git stores it (`/`-separated bytes).
    pub(crate) path: Vec<u8>,
    /// The file mode (0o100644, 0o100755, 0o120000 symlink, 0o160000 gitlink).
    pub(crate) mode: u32,
    /// 0 for a merged entry; 1–3 for the stages of an unmerged one.
    pub(crate) stage: u8,
    /// Not in the work tree (sparse checkout).
    pub(crate) skip_worktree: bool,
}

/// The mode of a submodule (a gitlink).
pub(crate) const GITLINK: u32 = 0o160000;
const DIRECTORY: u32 = 0o040000;

const SIGNATURE: &[u8; 4] = b"DIRC";
const HASH_LEN: usize = 20;
/// ctime, mtime (s, ns each), dev, ino, mode, uid, gid, size.
const STAT_LEN: usize = 40;
const FLAG_EXTENDED: u16 = 0x4000;
const FLAG_STAGE_MASK: u16 = 0x3000;
const FLAG_NAME_MASK: u16 = 0x0fff;
const EXT_SKIP_WORKTREE: u16 = 0x4000;

/// Parses a whole index file.
pub(crate) fn parse(bytes: &[u8]) -> Result<Vec<IndexEntry>, IndexError> {
    let mut r = Reader { bytes, pos: 0 };
    if r.take(4)? != SIGNATURE {
        return Err(IndexError::Unsupported("no DIRC signature"));
    }
    let version = r.u32()?;
    if !(2..=4).contains(&version) {
        return Err(IndexError::Unsupported("a version other than 2, 3 or 4"));
    }
    let count = r.u32()? as usize;
    // Each entry takes at least 62 bytes: a count that cannot fit is a damaged file.
    if count > bytes.len() / 62 {
        return Err(IndexError::Unsupported("more entries than bytes"));
    }
    let mut entries: Vec<IndexEntry> = Vec::with_capacity(count);
    let mut previous: Vec<u8> = Vec::new();
    for _ in 0..count {
        let start = r.pos;
        let stat = r.take(STAT_LEN)?;
        let mode = u32::from_be_bytes(stat[24..28].try_into().expect("4 bytes"));
        r.take(HASH_LEN)?;
        let flags = r.u16()?;
        let extended = if flags & FLAG_EXTENDED != 0 {
            if version < 3 {
                return Err(IndexError::Unsupported(
                    "extended flags in a version 2 index",
                ));
            }
            r.u16()?
        } else {
            0
        };
        let path = if version == 4 {
            let strip = r.varint()?;
            let keep = previous
                .len()
                .checked_sub(strip)
                .ok_or(IndexError::Unsupported(
                    "a path prefix longer than the previous path",
                ))?;
            let suffix = r.until_nul()?;
            let mut path = Vec::with_capacity(keep + suffix.len());
            path.extend_from_slice(&previous[..keep]);
            path.extend_from_slice(suffix);
            path
        } else {
            let path = r.until_nul()?.to_vec();
            // The entry, its NUL included, is padded with NULs to a multiple of 8 bytes.
            let len = r.pos - start;
            let padded = len.div_ceil(8) * 8;
            let padding = r.take(padded - len)?;
            if padding.iter().any(|&b| b != 0) {
                return Err(IndexError::Unsupported("entry padding that is not NUL"));
            }
            path
        };
        let name_len = usize::from(flags & FLAG_NAME_MASK);
        if name_len != usize::from(FLAG_NAME_MASK) && name_len != path.len() {
            return Err(IndexError::Unsupported("a path length that does not match"));
        }
        if path.is_empty() {
            return Err(IndexError::Unsupported("an empty path"));
        }
        if mode & 0o170000 == DIRECTORY {
            return Err(IndexError::Unsupported(
                "a sparse index (directory entries)",
            ));
        }
        previous.clone_from(&path);
        entries.push(IndexEntry {
            path,
            mode,
            // At most 3: two bits.
            stage: ((flags & FLAG_STAGE_MASK) >> 12) as u8,
            skip_worktree: extended & EXT_SKIP_WORKTREE != 0,
        });
    }
    // Extensions, then the checksum.
    loop {
        let rest = bytes.len() - r.pos;
        if rest == HASH_LEN {
            break;
        }
        if rest < 8 + HASH_LEN {
            return Err(IndexError::Unsupported("a truncated extension or checksum"));
        }
        let signature: [u8; 4] = r.take(4)?.try_into().expect("4 bytes");
        let size = r.u32()? as usize;
        r.take(size)?;
        match &signature {
            b"link" => return Err(IndexError::Unsupported("a split index")),
            b"sdir" => return Err(IndexError::Unsupported("a sparse index")),
            // Upper-case: optional (the tree cache, resolve-undo, the untracked cache,
            // fsmonitor, end of index, offset table), and nothing the listing needs.
            [b'A'..=b'Z', ..] => {}
            _ => return Err(IndexError::Unsupported("an unknown required extension")),
        }
    }
    Ok(entries)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], IndexError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or(IndexError::Unsupported("a truncated file"))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn u32(&mut self) -> Result<u32, IndexError> {
        Ok(u32::from_be_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn u16(&mut self) -> Result<u16, IndexError> {
        Ok(u16::from_be_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }

    fn until_nul(&mut self) -> Result<&'a [u8], IndexError> {
        let rest = &self.bytes[self.pos..];
        let len = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or(IndexError::Unsupported("a path without its NUL"))?;
        self.pos += len + 1;
        Ok(&rest[..len])
    }

    /// git's offset varint (varint.c): 7 bits a byte, high bit "more", and each
    /// continuation adds one before shifting so that every value has one encoding.
    fn varint(&mut self) -> Result<usize, IndexError> {
        let mut byte = self.take(1)?[0];
        let mut value = usize::from(byte & 0x7f);
        while byte & 0x80 != 0 {
            byte = self.take(1)?[0];
            value = value
                .checked_add(1)
                .and_then(|v| v.checked_mul(128))
                .map(|v| v | usize::from(byte & 0x7f))
                .ok_or(IndexError::Unsupported("a varint that overflows"))?;
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::Command;

    use tempfile::TempDir;

    use super::*;

    fn git(dir: &Path, args: &[&str]) -> Vec<u8> {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "mono")
            .env("GIT_AUTHOR_EMAIL", "mono@example.com")
            .env("GIT_COMMITTER_NAME", "mono")
            .env("GIT_COMMITTER_EMAIL", "mono@example.com")
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
        out.stdout
    }

    fn write(root: &Path, path: &str, contents: &str) {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    /// A repository with nested folders, long and shared path prefixes (what v4 compresses),
    /// an executable, a symlink, a submodule entry, an unmerged file and a skip-worktree file.
    fn repo(version: &str) -> TempDir {
        let dir = TempDir::new().unwrap();
        let root = dir.path();
        git(root, &["init", "-q", "-b", "main"]);
        git(root, &["config", "index.version", version]);
        for i in 0..40 {
            write(root, &format!("packages/pkg-{i:03}/src/file{i}.js"), "x");
            write(root, &format!("packages/pkg-{i:03}/package.json"), "{}");
        }
        write(root, "conflict.txt", "base\n");
        write(root, "sparse.txt", "sparse");
        git(root, &["add", "-A"]);
        git(root, &["commit", "-q", "-m", "base"]);
        // An unmerged file: three stages.
        git(root, &["checkout", "-q", "-b", "other"]);
        write(root, "conflict.txt", "other\n");
        git(root, &["commit", "-q", "-am", "other"]);
        git(root, &["checkout", "-q", "main"]);
        write(root, "conflict.txt", "main\n");
        git(root, &["commit", "-q", "-am", "main"]);
        // Exits 1: the conflict is the point.
        let merge = Command::new("git")
            .args(["merge", "-q", "other"])
            .current_dir(root)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "mono")
            .env("GIT_AUTHOR_EMAIL", "mono@example.com")
            .env("GIT_COMMITTER_NAME", "mono")
            .env("GIT_COMMITTER_EMAIL", "mono@example.com")
            .output()
            .unwrap();
        assert_eq!(merge.status.code(), Some(1), "{merge:?}");
        // The skip-worktree flag needs the extended flags of version 3 (git would upgrade a
        // version 2 index to write it).
        if version != "2" {
            git(root, &["update-index", "--skip-worktree", "sparse.txt"]);
        }
        // A gitlink, as `git submodule add` leaves it.
        let head = String::from_utf8(git(root, &["rev-parse", "HEAD"])).unwrap();
        let gitlink = format!("160000,{},vendor/sub", head.trim());
        git(root, &["update-index", "--add", "--cacheinfo", &gitlink]);
        // A path longer than the 12 bits of its length field (only in the index: the
        // filesystem would refuse it).
        let long = format!("deep/{}leaf.txt", "a-rather-long-folder-name/".repeat(200));
        let blob = String::from_utf8(git(root, &["hash-object", "-w", "sparse.txt"])).unwrap();
        let entry = format!("100644,{},{long}", blob.trim());
        git(root, &["update-index", "--add", "--cacheinfo", &entry]);
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("conflict.txt", root.join("link")).unwrap();
            git(root, &["add", "link"]);
        }
        git(
            root,
            &["update-index", &format!("--index-version={version}")],
        );
        dir
    }

    /// What `git ls-files -s` says: (mode, stage, path) per entry.
    fn expected(root: &Path) -> Vec<(u32, u8, Vec<u8>)> {
        let out = git(root, &["ls-files", "-z", "-s"]);
        out.split(|&b| b == 0)
            .filter(|r| !r.is_empty())
            .map(|record| {
                let tab = record.iter().position(|&b| b == b'\t').unwrap();
                let meta = std::str::from_utf8(&record[..tab]).unwrap();
                let fields: Vec<&str> = meta.split(' ').collect();
                (
                    u32::from_str_radix(fields[0], 8).unwrap(),
                    fields[2].parse().unwrap(),
                    record[tab + 1..].to_vec(),
                )
            })
            .collect()
    }

    fn read(root: &Path) -> Vec<IndexEntry> {
        parse(&std::fs::read(root.join(".git/index")).unwrap()).unwrap()
    }

    #[test_case::test_case("2"; "version 2")]
    #[test_case::test_case("3"; "version 3")]
    #[test_case::test_case("4"; "version 4")]
    fn reads_what_git_ls_files_lists(version: &str) {
        let dir = repo(version);
        let bytes = std::fs::read(dir.path().join(".git/index")).unwrap();
        assert_eq!(
            u32::from_be_bytes(bytes[4..8].try_into().unwrap()).to_string(),
            version
        );
        let entries = read(dir.path());
        let got: Vec<(u32, u8, Vec<u8>)> = entries
            .iter()
            .map(|e| (e.mode, e.stage, e.path.clone()))
            .collect();
        assert_eq!(got, expected(dir.path()));
        assert!(entries.iter().any(|e| e.stage == 2), "an unmerged entry");
        assert!(entries.iter().any(|e| e.mode == GITLINK), "a gitlink");
        let sparse = entries.iter().find(|e| e.path == b"sparse.txt").unwrap();
        assert_eq!(sparse.skip_worktree, version != "2");
        assert!(entries
            .iter()
            .any(|e| e.path.len() > FLAG_NAME_MASK as usize));
    }

    #[test]
    fn a_split_index_is_refused() {
        let dir = repo("2");
        git(dir.path(), &["update-index", "--split-index"]);
        let bytes = std::fs::read(dir.path().join(".git/index")).unwrap();
        // Refused at the first entry whose path lives in the shared index, or at the `link`
        // extension.
        assert!(matches!(parse(&bytes), Err(IndexError::Unsupported(_))));
    }

    #[test]
    fn a_sparse_index_is_refused() {
        let dir = TempDir::new().unwrap();
        let root = dir.path();
        git(root, &["init", "-q", "-b", "main"]);
        write(root, "in/a.txt", "a");
        write(root, "out/b.txt", "b");
        git(root, &["add", "-A"]);
        git(root, &["commit", "-q", "-m", "base"]);
        git(
            root,
            &["sparse-checkout", "set", "--cone", "--sparse-index", "in"],
        );
        let bytes = std::fs::read(root.join(".git/index")).unwrap();
        assert!(matches!(parse(&bytes), Err(IndexError::Unsupported(_))));
    }

    #[test]
    fn damaged_files_are_refused_not_misread() {
        let dir = repo("4");
        let bytes = std::fs::read(dir.path().join(".git/index")).unwrap();
        for len in [0, 4, 12, 100, bytes.len() / 2, bytes.len() - 1] {
            assert!(parse(&bytes[..len]).is_err(), "truncated to {len}");
        }
        let mut wrong = bytes.clone();
        wrong[0] = b'X';
        assert!(parse(&wrong).is_err());
        let mut v5 = bytes;
        v5[7] = 5;
        assert!(parse(&v5).is_err());
    }

    #[test]
    fn varints_decode_as_git_encodes_them() {
        // varint.c: 127 is one byte; 128 is 0x80 0x00; 16511 is 0xff 0x7f.
        for (bytes, value) in [
            (&[0x00][..], 0),
            (&[0x7f], 127),
            (&[0x80, 0x00], 128),
            (&[0xff, 0x7f], 16511),
            (&[0x80, 0x80, 0x00], 16512),
        ] {
            let mut r = Reader { bytes, pos: 0 };
            assert_eq!(r.varint().unwrap(), value, "{bytes:?}");
        }
    }
}
