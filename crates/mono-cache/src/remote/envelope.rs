//! The bytes mono stores in a remote cache for one artifact: its metadata and its archive in
//! one object, so that one GET (S3 or the Turborepo API) gives both.
//!
//! ```text
//! offset 0        b"MONOART1"              magic; the last byte is the envelope version
//! offset 8        u32, big-endian: N       length of the metadata
//! offset 12       N bytes                  the metadata JSON (ArtifactMeta, docs/cache.md)
//! offset 12 + N   archive.size bytes       the zstd tar archive, as in the local store
//! ```
//!
//! The metadata carries the archive's size and blake3, so a download is checked before
//! anything is restored.

use std::io::{self, Read, Write};

use crate::artifact::Artifact;
use crate::error::Corruption;
use crate::key::CacheKey;
use crate::meta::ArtifactMeta;

/// The first 8 bytes of every envelope.
pub const MAGIC: &[u8; 8] = b"MONOART1";
/// Metadata longer than this is not mono's.
const MAX_META_LEN: usize = 64 * 1024;
/// Length of the fixed header (magic and length).
const HEADER_LEN: usize = MAGIC.len() + 4;

/// The whole envelope of `artifact`, in memory.
pub fn encode(artifact: &Artifact) -> io::Result<Vec<u8>> {
    let meta = artifact.meta().to_json();
    let len = u32::try_from(meta.len()).expect("metadata is small");
    let size = usize::try_from(artifact.meta().archive.size).unwrap_or(usize::MAX);
    let mut out = Vec::with_capacity(HEADER_LEN + meta.len() + size);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&meta);
    artifact.archive_reader().read_to_end(&mut out)?;
    Ok(out)
}

/// Reads an envelope that arrives in pieces: the metadata first, then the archive, which it
/// writes to a file.
pub struct Decoder<W> {
    key: CacheKey,
    header: Vec<u8>,
    meta: Option<ArtifactMeta>,
    archive: W,
    archive_len: u64,
}

impl<W: Write> Decoder<W> {
    /// A decoder for the artifact of `key`, writing its archive to `archive`.
    pub fn new(key: CacheKey, archive: W) -> Self {
        Self {
            key,
            header: Vec::new(),
            meta: None,
            archive,
            archive_len: 0,
        }
    }

    /// Takes the next piece. Fails on bytes that are not an envelope of `key`; I/O errors
    /// of the archive's writer are `Corruption::Unreadable`.
    pub fn push(&mut self, mut bytes: &[u8]) -> Result<(), Corruption> {
        if self.meta.is_none() {
            let need = |header: &Vec<u8>| -> Option<usize> {
                (header.len() >= HEADER_LEN).then(|| {
                    let len: [u8; 4] = header[8..12].try_into().expect("4 bytes");
                    HEADER_LEN + u32::from_be_bytes(len) as usize
                })
            };
            while self.meta.is_none() && !bytes.is_empty() {
                let want = need(&self.header).unwrap_or(HEADER_LEN);
                let take = (want - self.header.len()).min(bytes.len());
                self.header.extend_from_slice(&bytes[..take]);
                bytes = &bytes[take..];
                if self.header.len() >= MAGIC.len() && &self.header[..MAGIC.len()] != MAGIC {
                    return Err(Corruption::NotAnEnvelope);
                }
                if let Some(total) = need(&self.header) {
                    if total - HEADER_LEN > MAX_META_LEN {
                        return Err(Corruption::NotAnEnvelope);
                    }
                    if self.header.len() == total {
                        let meta = ArtifactMeta::from_json(&self.header[HEADER_LEN..], &self.key)?;
                        self.meta = Some(meta);
                    }
                }
            }
        }
        if bytes.is_empty() {
            return Ok(());
        }
        let expected = self.meta.as_ref().map_or(0, |meta| meta.archive.size);
        self.archive_len += bytes.len() as u64;
        if self.archive_len > expected {
            return Err(Corruption::SizeMismatch {
                expected,
                found: self.archive_len,
            });
        }
        self.archive
            .write_all(bytes)
            .map_err(Corruption::Unreadable)
    }

    /// Ends the envelope: the metadata, once the archive has its full size, and the writer.
    pub fn finish(mut self) -> Result<(ArtifactMeta, W), Corruption> {
        let Some(meta) = self.meta else {
            return Err(Corruption::NotAnEnvelope);
        };
        if self.archive_len != meta.archive.size {
            return Err(Corruption::SizeMismatch {
                expected: meta.archive.size,
                found: self.archive_len,
            });
        }
        self.archive.flush().map_err(Corruption::Unreadable)?;
        Ok((meta, self.archive))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::{self, write_file, Sandbox};

    fn artifact(sandbox: &Sandbox) -> Artifact {
        write_file(&sandbox.repo, "dist/app.js", &[b'x'; 10_000], 0o644);
        let scratch = sandbox.dir.path().join("scratch");
        std::fs::create_dir_all(&scratch).unwrap();
        fixture::pack(&sandbox.repo, &["dist"], b"the log", &scratch)
    }

    #[test]
    fn round_trips_in_any_pieces() {
        let sandbox = Sandbox::new();
        let artifact = artifact(&sandbox);
        let bytes = encode(&artifact).unwrap();
        assert_eq!(&bytes[..8], MAGIC);
        for piece in [1, 7, 13, 4096, bytes.len()] {
            let mut decoder = Decoder::new(artifact.key(), Vec::new());
            for chunk in bytes.chunks(piece) {
                decoder.push(chunk).unwrap();
            }
            let (meta, archive) = decoder.finish().unwrap();
            assert_eq!(&meta, artifact.meta());
            assert_eq!(archive.len() as u64, meta.archive.size);
        }
    }

    #[test]
    fn rejects_garbage_truncation_excess_and_other_keys() {
        let sandbox = Sandbox::new();
        let artifact = artifact(&sandbox);
        let bytes = encode(&artifact).unwrap();
        let decode = |bytes: &[u8], key| {
            let mut decoder = Decoder::new(key, Vec::new());
            decoder.push(bytes)?;
            decoder.finish().map(|(meta, _)| meta)
        };
        let key = artifact.key();
        assert!(matches!(
            decode(b"<html>502 Bad Gateway</html>", key),
            Err(Corruption::NotAnEnvelope)
        ));
        assert!(matches!(decode(b"", key), Err(Corruption::NotAnEnvelope)));
        assert!(matches!(
            decode(&bytes[..bytes.len() - 1], key),
            Err(Corruption::SizeMismatch { .. })
        ));
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            decode(&longer, key),
            Err(Corruption::SizeMismatch { .. })
        ));
        assert!(matches!(
            decode(&bytes, fixture::key("other")),
            Err(Corruption::KeyMismatch { .. })
        ));
        let mut huge = MAGIC.to_vec();
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(decode(&huge, key), Err(Corruption::NotAnEnvelope)));
    }
}
