//! Fuzzing the archive reader (restore) and the output records reader (issue 16): 10,000
//! inputs each, made by mutating the corpus in `tests/corpus/` (crafted tars: traversal,
//! absolute paths, symlinks, hard links, FIFOs, `.git/`; and records files) plus archives
//! and records this test packs and saves itself. No input may panic; whatever a restore
//! writes must stay inside the repository folder.
//!
//! Archives are mutated as tar bytes and then compressed, so that the checksum and the zstd
//! frame are valid and the mutations reach the tar reader and the restore rules; a share
//! of inputs are raw mutated bytes, to reach the zstd decoder too. The generator is a
//! fixed-seed SplitMix64 (no dependency; failures reproduce). `MONO_FUZZ_ITERATIONS` runs
//! more.

use std::io::Read;
use std::path::Path;

use mono_cache::{
    ArchiveInfo, Artifact, ArtifactMeta, CacheKey, Checksum, OutputRecords, PackRequest, TaskInfo,
    FORMAT_VERSION, OUTPUT_RECORDS_FILE,
};
use mono_paths::{AbsPath, RepoPath};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TOKENS: &[&[u8]] = &[
    b"../",
    b"/",
    b"outputs/",
    b"log",
    b".git/",
    b"\0",
    b"0000755\0",
    b"ustar\0",
    b"path=",
    b"linkpath=",
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b",",
    b"null",
    b"-1",
    b"18446744073709551615",
    b"\"files\"",
    b"\"path\"",
    b"\"version\"",
];

fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(7) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] = [0, 0xff, b'/', b'.', b'0', b'7', b'1', b'2', b'5', b'x'][rng.below(10)];
            }
            2 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                // Overwrite in place, so that tar's 512-byte blocks stay aligned.
                for (k, b) in token.iter().enumerate() {
                    if let Some(slot) = out.get_mut(at + k) {
                        *slot = *b;
                    }
                }
            }
            3 if at < out.len() => {
                let end = (at + 1 + rng.below(600)).min(out.len());
                out.drain(at..end);
            }
            4 => out.truncate(at),
            5 if !other.is_empty() => {
                let from = rng.below(other.len());
                let end = (from + 1 + rng.below(1024)).min(other.len());
                out.splice(at..at, other[from..end].iter().copied());
            }
            _ => {
                let to = rng.below(out.len() + 1);
                let end = (at + rng.below(512)).min(out.len());
                let copy = out[at.min(end)..end].to_vec();
                out.splice(to..to, copy);
            }
        }
    }
    out
}

fn corpus(kind: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(kind);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

fn iterations() -> usize {
    std::env::var("MONO_FUZZ_ITERATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000)
}

/// A small repository with outputs of every kind, packed; returns the archive's tar bytes.
fn packed_seed(dir: &Path) -> Vec<u8> {
    let root = dir.join("seed");
    std::fs::create_dir_all(root.join("web/dist/nested")).unwrap();
    std::fs::write(root.join("web/dist/a.js"), "console.log(1)\n").unwrap();
    std::fs::write(root.join("web/dist/nested/b.css"), "a{}\n").unwrap();
    std::os::unix::fs::symlink("a.js", root.join("web/dist/link.js")).unwrap();
    let root = AbsPath::new(root).unwrap();
    let task = TaskInfo {
        task_id: "web#build".into(),
        duration_ms: 1,
        exit_code: 0,
    };
    let key = CacheKey::from_bytes([7; 32]);
    let outputs = [RepoPath::new("web/dist").unwrap()];
    let artifact = Artifact::pack(
        &PackRequest {
            key,
            task: &task,
            repo_root: &root,
            outputs: &outputs,
            log: b"built\n",
        },
        dir,
    )
    .unwrap();
    let mut tar = Vec::new();
    zstd::Decoder::new(std::fs::File::open(artifact.archive_path()).unwrap())
        .unwrap()
        .read_to_end(&mut tar)
        .unwrap();
    tar
}

/// Every path under `dir`, without following symlinks.
fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        out.push(path.clone());
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            walk(&path, out);
        }
    }
}

#[test]
fn mutated_archives_never_panic_a_restore_or_escape_the_repository() {
    let scratch = tempfile::tempdir().unwrap();
    let mut seeds = corpus("archive");
    seeds.push(packed_seed(scratch.path()));
    // The repository sits in `outer`; nothing may appear in `outer` beside it.
    let outer = scratch.path().join("outer");
    let repo = outer.join("repo");
    let archive = scratch.path().join("archive.tar.zst");
    let mut rng = Rng(0x0016_0a2c);
    let (mut restored, mut refused) = (0usize, 0usize);
    for i in 0..iterations() {
        let seed = rng.0;
        let input = &seeds[rng.below(seeds.len())];
        let other = &seeds[rng.below(seeds.len())];
        let tar = mutate(&mut rng, input, other);
        let bytes = if rng.below(8) == 0 {
            let compressed = zstd::encode_all(&tar[..], 1).unwrap();
            mutate(&mut rng, &compressed, &[])
        } else {
            zstd::encode_all(&tar[..], 1).unwrap()
        };
        std::fs::write(&archive, &bytes).unwrap();
        let _ = std::fs::remove_dir_all(&outer);
        std::fs::create_dir_all(&repo).unwrap();
        let meta = ArtifactMeta {
            version: FORMAT_VERSION,
            hash: CacheKey::from_bytes([7; 32]),
            task: TaskInfo {
                task_id: "web#build".into(),
                duration_ms: 1,
                exit_code: 0,
            },
            archive: ArchiveInfo {
                blake3: Checksum::of(&bytes),
                size: bytes.len() as u64,
            },
        };
        let root = AbsPath::new(repo.clone()).unwrap();
        let outcome = std::panic::catch_unwind(|| match Artifact::from_file(meta, &archive) {
            Ok(artifact) => artifact
                .restore(&root, &mono_cache::RestorePolicy::any_output())
                .is_ok(),
            Err(_) => false,
        });
        match outcome {
            Ok(true) => restored += 1,
            Ok(false) => refused += 1,
            Err(_) => {
                let dump = std::env::temp_dir().join(format!("mono-cache-fuzz-archive-{i}"));
                std::fs::write(&dump, &bytes).unwrap();
                panic!(
                    "input {i} (rng state {seed:#x}) panicked; saved at {}",
                    dump.display()
                );
            }
        }
        let beside: Vec<_> = std::fs::read_dir(&outer)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            beside,
            ["repo"],
            "input {i} (rng state {seed:#x}) wrote outside"
        );
        let mut written = Vec::new();
        walk(&repo, &mut written);
        for path in written {
            let meta = std::fs::symlink_metadata(&path).unwrap();
            assert!(
                meta.is_file() || meta.is_dir() || meta.file_type().is_symlink(),
                "input {i} (rng state {seed:#x}) made {} that is no file, folder or link",
                path.display()
            );
        }
    }
    assert!(
        restored > 100 && refused > 100,
        "{restored} restored, {refused} refused"
    );
}

#[test]
fn mutated_output_records_never_panic_the_reader() {
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path().join("repo");
    std::fs::create_dir_all(root.join("web/dist")).unwrap();
    std::fs::write(root.join("web/dist/a.js"), "abc").unwrap();
    let root = AbsPath::new(root).unwrap();
    let cache = AbsPath::new(scratch.path().join("cache")).unwrap();
    std::fs::create_dir_all(cache.as_path()).unwrap();
    let key = CacheKey::from_bytes([1; 32]);
    let archive = Checksum::from_bytes([2; 32]);
    // A real records file as the main seed.
    let records = OutputRecords::open(&cache);
    records.record(
        &root,
        "web#build",
        (&key, &archive),
        &[
            RepoPath::new("web/dist").unwrap(),
            RepoPath::new("web/dist/a.js").unwrap(),
        ],
        b"built\n",
    );
    records.save().unwrap();
    let file = cache.join(OUTPUT_RECORDS_FILE);
    let mut seeds = corpus("records");
    seeds.push(std::fs::read(file.as_path()).unwrap());
    let mut rng = Rng(0x0016_0a2d);
    let mut hits = 0usize;
    for i in 0..iterations() {
        let seed = rng.0;
        let input = &seeds[rng.below(seeds.len())];
        let other = &seeds[rng.below(seeds.len())];
        let bytes = mutate(&mut rng, input, other);
        std::fs::write(file.as_path(), &bytes).unwrap();
        let outcome = std::panic::catch_unwind(|| {
            let records = OutputRecords::open(&cache);
            let hit = records
                .up_to_date(
                    &root,
                    "web#build",
                    (&key, &archive),
                    &mono_cache::RestorePolicy::any_output(),
                )
                .is_some();
            records.forget("other#task");
            hit
        });
        match outcome {
            Ok(hit) => hits += usize::from(hit),
            Err(_) => {
                let dump = std::env::temp_dir().join(format!("mono-cache-fuzz-records-{i}"));
                std::fs::write(&dump, &bytes).unwrap();
                panic!(
                    "input {i} (rng state {seed:#x}) panicked; saved at {}",
                    dump.display()
                );
            }
        }
    }
    // Some mutations leave the record valid (a change in the log, say).
    assert!(hits > 0, "no mutated records file was usable");
}
