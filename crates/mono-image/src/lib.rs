//! Container images of a monorepo's apps, without a Docker daemon: [`build_image`] writes a
//! reproducible OCI image layout (one layer per source: the base's layers, then each
//! dependency's files, then the package's own), [`read_layout`] reports what a layout
//! holds, [`write_docker_archive`] converts a layout for `docker load`; and [`prune`] copies a
//! repository down to a few packages for teams that keep their Dockerfiles.
//!
//! Reproducible means: the same files give the same bytes, on any machine and in any
//! checkout path. Layers are tar files with sorted entries, mtime 0, uid/gid 0, no user or
//! group names and no host metadata beyond the executable bit, gzip-compressed with a zero
//! header time; the config and manifest are canonical JSON (docs/images.md).
//!
//! ```no_run
//! use mono_image::{build_image, Base, ImageSpec, LayerSource, LayerFile};
//! let spec = ImageSpec {
//!     name: "docsearch/indexer".into(),
//!     tag: "v1".into(),
//!     base: Base::Scratch,
//!     entrypoint: Some(vec!["/app/indexer".into()]),
//!     layers: vec![LayerSource {
//!         source: "indexer".into(),
//!         files: vec![LayerFile { target: "/app/indexer".into(), host: "bin/indexer".into() }],
//!     }],
//!     ..ImageSpec::default()
//! };
//! let image = build_image(&spec, std::path::Path::new("dist/image")).unwrap();
//! println!("{}", image.digest);
//! ```
//!
//! It is its own crate because images and prune sit at the end of the flow: they read
//! the workspace and the outputs that tasks produced, and nothing below depends on them.

// Everything but `prune` is behind the `oci` feature (on by default).
#[cfg(feature = "oci")]
mod docker_archive;
#[cfg(feature = "oci")]
mod error;
#[cfg(feature = "oci")]
mod layer;
#[cfg(feature = "oci")]
mod layout;
#[cfg(feature = "oci")]
mod oci;
mod prune;
#[cfg(feature = "oci")]
mod registry;

#[cfg(feature = "oci")]
pub use docker_archive::write_docker_archive;
#[cfg(feature = "oci")]
pub use error::ImageError;
#[cfg(feature = "oci")]
pub use layer::{LayerFile, LayerSource};
#[cfg(feature = "oci")]
pub use layout::{build_image, read_layout, Base, BuiltImage, ImageSpec, LayerInfo};
pub use prune::{prune, PruneError, PruneOptions, PruneReport};
#[cfg(feature = "oci")]
pub use registry::{pull, push, Credentials, ImageRef, PushReport};
