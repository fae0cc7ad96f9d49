//! One deterministic layer: a tar of files, gzip-compressed, with its digests.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::ImageError;

/// The files one source (a package) puts into the image: one layer.
#[derive(Debug, Clone, Default)]
pub struct LayerSource {
    /// What the layer comes from (a package name), recorded as the layer's
    /// `dev.mono.layer.source` annotation.
    pub source: String,
    /// The files; a target ending in `/` copies a whole folder.
    pub files: Vec<LayerFile>,
}

/// One `[image.files]` entry, resolved to a path on disk.
#[derive(Debug, Clone)]
pub struct LayerFile {
    /// Absolute path in the image; ends with `/` for a folder.
    pub target: String,
    /// The file or folder on disk.
    pub host: PathBuf,
}

enum Entry {
    Dir,
    File { host: PathBuf, executable: bool },
    Symlink(PathBuf),
}

/// A built layer.
pub(crate) struct Layer {
    /// The gzip-compressed tar.
    pub blob: Vec<u8>,
    /// `sha256:` of `blob`.
    pub digest: String,
    /// `sha256:` of the uncompressed tar (the config's `diff_ids`).
    pub diff_id: String,
}

pub(crate) fn sha256(bytes: &[u8]) -> String {
    let mut hex = String::with_capacity(71);
    hex.push_str("sha256:");
    for b in Sha256::digest(bytes) {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}

fn add_parents(entries: &mut BTreeMap<String, Entry>, path: &str) {
    let mut at = String::new();
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    for part in &parts[..parts.len().saturating_sub(1)] {
        if !at.is_empty() {
            at.push('/');
        }
        at.push_str(part);
        entries.entry(at.clone()).or_insert(Entry::Dir);
    }
}

/// Adds the folder `dir` and everything below it, as `target/...`: sorted by name, symlinks
/// kept as links (never followed below the folder itself), the executable bit of files.
fn walk(entries: &mut BTreeMap<String, Entry>, dir: &Path, target: &str) -> Result<(), ImageError> {
    for item in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let item = item.map_err(|e| {
            let path = e.path().unwrap_or(dir).to_owned();
            ImageError::io("read", path)(e.into())
        })?;
        let relative = item.path().strip_prefix(dir).unwrap_or(item.path());
        let mut at = target.to_owned();
        for part in relative.components() {
            at.push('/');
            at.push_str(&part.as_os_str().to_string_lossy());
        }
        let path = item.path();
        if item.depth() > 0 && item.path_is_symlink() {
            let link = std::fs::read_link(path).map_err(ImageError::io("read", path))?;
            entries.insert(at, Entry::Symlink(link));
        } else if item.file_type().is_dir() {
            entries.insert(at, Entry::Dir);
        } else {
            let meta = item
                .metadata()
                .map_err(|e| ImageError::io("read", path)(e.into()))?;
            entries.insert(
                at,
                Entry::File {
                    host: path.to_owned(),
                    executable: meta.permissions().mode() & 0o111 != 0,
                },
            );
        }
    }
    Ok(())
}

/// Builds the layer of `source`: every file, with its parent folders, sorted by path, with
/// mtime 0, uid/gid 0, mode 0755 for folders and executables and 0644 for other files.
pub(crate) fn build_layer(source: &LayerSource) -> Result<Layer, ImageError> {
    let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
    for file in &source.files {
        let target = file.target.trim_matches('/').to_owned();
        let meta = std::fs::metadata(&file.host).map_err(|_| ImageError::MissingSource {
            target: file.target.clone(),
            host: file.host.clone(),
        })?;
        let wants_dir = file.target.ends_with('/');
        if meta.is_dir() != wants_dir {
            return Err(ImageError::SourceKind {
                target: file.target.clone(),
                host: file.host.clone(),
                found: if meta.is_dir() { "a folder" } else { "a file" },
                expected: if wants_dir {
                    "ends with `/` (a folder)"
                } else {
                    "names a file (no trailing `/`)"
                },
            });
        }
        add_parents(&mut entries, &target);
        if meta.is_dir() {
            if target.is_empty() {
                return Err(ImageError::SourceKind {
                    target: file.target.clone(),
                    host: file.host.clone(),
                    found: "a folder",
                    expected: "is the image's root; name a folder below it",
                });
            }
            walk(&mut entries, &file.host, &target)?;
        } else {
            entries.insert(
                target,
                Entry::File {
                    host: file.host.clone(),
                    executable: meta.permissions().mode() & 0o111 != 0,
                },
            );
        }
    }

    let mut builder = tar::Builder::new(Vec::new());
    builder.mode(tar::HeaderMode::Deterministic);
    for (path, entry) in &entries {
        let mut header = tar::Header::new_gnu();
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        let io = |e| ImageError::io("write a layer entry for", path.as_str())(e);
        match entry {
            Entry::Dir => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                builder
                    .append_data(&mut header, format!("{path}/"), std::io::empty())
                    .map_err(io)?;
            }
            Entry::File { host, executable } => {
                let data = std::fs::read(host).map_err(ImageError::io("read", host))?;
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(if *executable { 0o755 } else { 0o644 });
                header.set_size(data.len() as u64);
                builder
                    .append_data(&mut header, path, data.as_slice())
                    .map_err(io)?;
            }
            Entry::Symlink(link) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_mode(0o777);
                header.set_size(0);
                builder.append_link(&mut header, path, link).map_err(io)?;
            }
        }
    }
    let tar = builder
        .into_inner()
        .map_err(ImageError::io("write a layer for", source.source.as_str()))?;
    let diff_id = sha256(&tar);
    // No file name and a zero time in the gzip header: the same tar always compresses to
    // the same bytes (flate2's encoder is pure Rust, pinned by Cargo.lock).
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::new(6));
    gz.write_all(&tar).map_err(ImageError::io(
        "compress a layer for",
        source.source.as_str(),
    ))?;
    let blob = gz.finish().map_err(ImageError::io(
        "compress a layer for",
        source.source.as_str(),
    ))?;
    Ok(Layer {
        digest: sha256(&blob),
        blob,
        diff_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(root: &Path) {
        std::fs::create_dir_all(root.join("dist/sub")).unwrap();
        std::fs::write(root.join("dist/sub/b.txt"), "b").unwrap();
        std::fs::write(root.join("dist/a.txt"), "a").unwrap();
        std::fs::write(root.join("tool"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(root.join("tool"), std::fs::Permissions::from_mode(0o700))
            .unwrap();
    }

    fn source(root: &Path) -> LayerSource {
        LayerSource {
            source: "app".into(),
            files: vec![
                LayerFile {
                    target: "/srv/static/".into(),
                    host: root.join("dist"),
                },
                LayerFile {
                    target: "/usr/bin/tool".into(),
                    host: root.join("tool"),
                },
            ],
        }
    }

    #[test]
    fn the_same_files_in_other_places_and_times_make_the_same_layer() {
        let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        tree(one.path());
        tree(two.path());
        // The second tree written an hour earlier: every file and folder has another mtime.
        let earlier = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        let times = std::fs::FileTimes::new()
            .set_modified(earlier)
            .set_accessed(earlier);
        for entry in walkdir::WalkDir::new(two.path()).contents_first(true) {
            let path = entry.unwrap().into_path();
            std::fs::File::open(&path)
                .unwrap()
                .set_times(times)
                .unwrap();
            assert_ne!(
                std::fs::metadata(&path).unwrap().modified().unwrap(),
                std::fs::metadata(one.path().join(path.strip_prefix(two.path()).unwrap()))
                    .unwrap()
                    .modified()
                    .unwrap()
            );
        }
        let (a, b) = (
            build_layer(&source(one.path())).unwrap(),
            build_layer(&source(two.path())).unwrap(),
        );
        assert_eq!(a.digest, b.digest);
        assert_eq!(a.diff_id, b.diff_id);

        std::fs::write(two.path().join("dist/a.txt"), "changed").unwrap();
        assert_ne!(build_layer(&source(two.path())).unwrap().digest, a.digest);
    }

    #[test]
    fn entries_are_sorted_with_parents_fixed_times_and_owners() {
        let dir = tempfile::tempdir().unwrap();
        tree(dir.path());
        let layer = build_layer(&source(dir.path())).unwrap();
        let tar = flate2::read::GzDecoder::new(layer.blob.as_slice());
        let mut archive = tar::Archive::new(tar);
        let mut seen = Vec::new();
        for entry in archive.entries().unwrap() {
            let entry = entry.unwrap();
            let header = entry.header();
            assert_eq!(header.mtime().unwrap(), 0);
            assert_eq!((header.uid().unwrap(), header.gid().unwrap()), (0, 0));
            seen.push((
                entry.path().unwrap().to_string_lossy().into_owned(),
                header.mode().unwrap(),
            ));
        }
        assert_eq!(
            seen,
            [
                ("srv/".to_owned(), 0o755),
                ("srv/static/".to_owned(), 0o755),
                ("srv/static/a.txt".to_owned(), 0o644),
                ("srv/static/sub/".to_owned(), 0o755),
                ("srv/static/sub/b.txt".to_owned(), 0o644),
                ("usr/".to_owned(), 0o755),
                ("usr/bin/".to_owned(), 0o755),
                ("usr/bin/tool".to_owned(), 0o755),
            ]
        );
    }

    #[test]
    fn links_in_a_folder_stay_links() {
        let dir = tempfile::tempdir().unwrap();
        tree(dir.path());
        std::os::unix::fs::symlink("a.txt", dir.path().join("dist/link")).unwrap();
        std::os::unix::fs::symlink("../dist", dir.path().join("dist/sub/up")).unwrap();
        let layer = build_layer(&source(dir.path())).unwrap();
        let tar = flate2::read::GzDecoder::new(layer.blob.as_slice());
        let mut archive = tar::Archive::new(tar);
        let links: Vec<(String, String)> = archive
            .entries()
            .unwrap()
            .map(Result::unwrap)
            .filter(|e| e.header().entry_type() == tar::EntryType::Symlink)
            .map(|e| {
                (
                    e.path().unwrap().to_string_lossy().into_owned(),
                    e.link_name()
                        .unwrap()
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                )
            })
            .collect();
        assert_eq!(
            links,
            [
                ("srv/static/link".to_owned(), "a.txt".to_owned()),
                ("srv/static/sub/up".to_owned(), "../dist".to_owned()),
            ]
        );
    }

    #[test]
    fn a_missing_source_names_the_image_path() {
        let dir = tempfile::tempdir().unwrap();
        let err = build_layer(&LayerSource {
            source: "app".into(),
            files: vec![LayerFile {
                target: "/app/bin".into(),
                host: dir.path().join("bin/app"),
            }],
        })
        .err()
        .unwrap();
        assert!(err.to_string().contains("`/app/bin` comes from"), "{err}");
    }
}
