//! Remote caches: S3-compatible object stores and servers of the Turborepo remote cache API,
//! behind [`crate::CacheStore`] (docs/remote-cache.md).

#[cfg(feature = "remote")]
mod backend;
#[cfg(not(feature = "remote"))]
#[path = "offline.rs"]
mod backend;
mod config;
pub mod envelope;
mod signature;
mod store;

pub use config::{RemoteConfigError, RemoteError, RemoteOptions, RemoteUrl};
pub use signature::{Signer, Signing};
pub use store::{RemoteStore, UploadReport};
