//! The remote backend of a mono built without the `remote` feature: there is none.
//!
//! [`Backend`] has no values, so [`Backend::new`] refuses every URL with
//! [`RemoteConfigError::NotBuiltIn`], no `RemoteStore` can exist, and the code that would use
//! one is dead code the compiler drops. The object_store, reqwest and rustls crates are not
//! linked (docs/features.md).

use bytes::Bytes;
use futures::stream::BoxStream;

use super::config::{RemoteConfigError, RemoteError, RemoteOptions, RemoteUrl};
use crate::key::CacheKey;
use crate::side::SideName;
use crate::store::CacheStatus;

/// An artifact's bytes as they arrive (never, here).
pub(crate) struct Download {
    pub tag: Option<String>,
    pub body: BoxStream<'static, Result<Bytes, RemoteError>>,
}

/// No backend: an uninhabited type.
pub(crate) enum Backend {}

impl Backend {
    pub(crate) fn new(url: &RemoteUrl, _: &RemoteOptions) -> Result<Backend, RemoteConfigError> {
        Err(RemoteConfigError::NotBuiltIn {
            url: url.to_string(),
        })
    }

    pub(crate) async fn exists(&self, _: &CacheKey) -> Result<bool, RemoteError> {
        match *self {}
    }

    pub(crate) async fn get(&self, _: &CacheKey) -> Result<Option<Download>, RemoteError> {
        match *self {}
    }

    pub(crate) async fn put(
        &self,
        _: &CacheKey,
        _: Bytes,
        _: Option<String>,
        _: u64,
    ) -> Result<(), RemoteError> {
        match *self {}
    }

    pub(crate) async fn put_new(
        &self,
        _: &CacheKey,
        _: Bytes,
        _: Option<String>,
        _: u64,
    ) -> Result<bool, RemoteError> {
        match *self {}
    }

    pub(crate) async fn get_side(
        &self,
        _: &SideName,
        _: u64,
    ) -> Result<Option<(Vec<u8>, Option<String>)>, RemoteError> {
        match *self {}
    }

    pub(crate) async fn put_side(
        &self,
        _: &SideName,
        _: Bytes,
        _: Option<String>,
    ) -> Result<(), RemoteError> {
        match *self {}
    }

    pub(crate) fn side_location(&self, _: &SideName) -> String {
        match *self {}
    }

    pub(crate) async fn status(&self) -> Result<Option<CacheStatus>, RemoteError> {
        match *self {}
    }
}

#[cfg(test)]
mod tests {
    use crate::{RemoteConfigError, RemoteOptions, RemoteStore, RemoteUrl};

    #[test]
    fn a_local_only_build_refuses_every_remote_with_the_feature_to_enable() {
        let dir = tempfile::tempdir().unwrap();
        for url in ["s3://bucket/prefix", "https://cache.example.com"] {
            let url = RemoteUrl::parse(url).unwrap();
            let err = RemoteStore::new(url, RemoteOptions::default(), dir.path()).unwrap_err();
            assert!(
                matches!(err, RemoteConfigError::NotBuiltIn { .. }),
                "{err:?}"
            );
            assert!(
                err.to_string().contains("cargo feature `remote-cache`"),
                "{err}"
            );
        }
    }
}
