//! Where a remote cache is and how to talk to it.

use std::time::Duration;

use super::signature::Signer;

/// The kind of remote, from its URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RemoteUrl {
    /// `s3://BUCKET/PREFIX`: an S3-compatible object store (AWS S3, MinIO, Garage, R2).
    S3 {
        /// The bucket.
        bucket: String,
        /// The key prefix, without leading or trailing `/` (may be empty).
        prefix: String,
    },
    /// `http(s)://HOST[/PATH]`: a server speaking the Turborepo remote cache API.
    Http {
        /// The base URL, without a trailing `/`; requests go to `<base>/v8/artifacts/...`.
        base: String,
    },
}

impl RemoteUrl {
    /// Parses `s3://BUCKET/PREFIX` or `http(s)://HOST[/PATH]`.
    pub fn parse(text: &str) -> Result<RemoteUrl, RemoteConfigError> {
        let url = url::Url::parse(text).map_err(|source| RemoteConfigError::InvalidUrl {
            url: text.to_owned(),
            source,
        })?;
        match url.scheme() {
            "s3" => {
                let bucket = url.host_str().unwrap_or_default().to_owned();
                if bucket.is_empty() {
                    return Err(RemoteConfigError::MissingBucket {
                        url: text.to_owned(),
                    });
                }
                let prefix = url.path().trim_matches('/').to_owned();
                Ok(RemoteUrl::S3 { bucket, prefix })
            }
            "http" | "https" => {
                if url.host_str().is_none_or(str::is_empty) {
                    return Err(RemoteConfigError::MissingHost {
                        url: text.to_owned(),
                    });
                }
                if url.query().is_some() || url.fragment().is_some() {
                    return Err(RemoteConfigError::QueryInUrl {
                        url: text.to_owned(),
                    });
                }
                Ok(RemoteUrl::Http {
                    base: url.as_str().trim_end_matches('/').to_owned(),
                })
            }
            scheme => Err(RemoteConfigError::UnsupportedScheme {
                url: text.to_owned(),
                scheme: scheme.to_owned(),
            }),
        }
    }
}

impl std::fmt::Display for RemoteUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RemoteUrl::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            RemoteUrl::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
            RemoteUrl::Http { base } => f.write_str(base),
        }
    }
}

/// Everything a remote store needs besides its URL.
#[derive(Clone, Debug)]
pub struct RemoteOptions {
    /// The bearer token for the Turborepo API (`MONO_REMOTE_CACHE_TOKEN`, `TURBO_TOKEN`).
    pub token: Option<String>,
    /// `teamId` for the Turborepo API.
    pub team_id: Option<String>,
    /// `slug` (team slug) for the Turborepo API.
    pub team_slug: Option<String>,
    /// Signs uploads and requires valid signatures on downloads.
    pub signer: Option<Signer>,
    /// The longest a lookup or download may take before the remote counts as down.
    pub timeout: Duration,
    /// The longest one upload may take.
    pub upload_timeout: Duration,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        Self {
            token: None,
            team_id: None,
            team_slug: None,
            signer: None,
            timeout: Duration::from_secs(30),
            upload_timeout: Duration::from_secs(60),
        }
    }
}

/// A remote cache that cannot be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteConfigError {
    /// Not a URL.
    #[error("remote cache `{url}` is not a URL: {source}")]
    InvalidUrl {
        /// As given.
        url: String,
        /// Why.
        #[source]
        source: url::ParseError,
    },
    /// A scheme other than s3, http, https.
    #[error(
        "remote cache `{url}` has the scheme `{scheme}`; use s3://BUCKET/PREFIX or http(s)://HOST"
    )]
    UnsupportedScheme {
        /// As given.
        url: String,
        /// The scheme.
        scheme: String,
    },
    /// `s3://` without a bucket.
    #[error("remote cache `{url}` names no bucket; use s3://BUCKET/PREFIX")]
    MissingBucket {
        /// As given.
        url: String,
    },
    /// `http://` without a host.
    #[error("remote cache `{url}` names no host")]
    MissingHost {
        /// As given.
        url: String,
    },
    /// A query or fragment in an HTTP URL (mono adds `teamId`/`slug` itself).
    #[error("remote cache `{url}` has a query or fragment; give the team with remoteCache.teamId or TURBO_TEAM")]
    QueryInUrl {
        /// As given.
        url: String,
    },
    /// This mono was built without the `remote` feature (a local-only build).
    #[error("remote cache `{url}`: this mono was built without remote cache support (cargo feature `remote-cache`); use a release build of mono, or leave the remote cache out")]
    NotBuiltIn {
        /// As given.
        url: String,
    },
    /// The S3 client could not be built from the URL and the AWS environment.
    #[cfg(feature = "remote")]
    #[error("cannot set up the S3 client for `{url}`: {source}")]
    S3 {
        /// As given.
        url: String,
        /// Why.
        #[source]
        source: object_store::Error,
    },
    /// The HTTP client could not be built.
    #[cfg(feature = "remote")]
    #[error("cannot set up the HTTP client: {0}")]
    Http(#[source] reqwest::Error),
    /// The runtime for remote I/O could not start.
    #[error("cannot start the remote cache's I/O threads: {0}")]
    Runtime(#[source] std::io::Error),
}

/// A remote cache failed: it is down, slow, refuses the credentials or answers with errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// The S3 client failed.
    #[cfg(feature = "remote")]
    #[error("remote cache {url}: {source}")]
    S3 {
        /// The remote.
        url: String,
        /// Why.
        #[source]
        source: object_store::Error,
    },
    /// The HTTP request failed (connection, timeout).
    #[cfg(feature = "remote")]
    #[error("remote cache {url}: {source}")]
    Http {
        /// The request's URL.
        url: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// The server refused the credentials.
    #[error("remote cache {url} refused the credentials (HTTP {status}); check MONO_REMOTE_CACHE_TOKEN or TURBO_TOKEN")]
    Unauthorized {
        /// The request's URL.
        url: String,
        /// 401 or 403.
        status: u16,
    },
    /// The server answered with an unexpected status.
    #[error("remote cache {url} answered HTTP {status}")]
    Status {
        /// The request's URL.
        url: String,
        /// The status.
        status: u16,
    },
    /// The request took longer than the timeout.
    #[error("remote cache {url} did not answer within {}s", timeout.as_secs())]
    Timeout {
        /// The remote.
        url: String,
        /// The bound.
        timeout: Duration,
    },
    /// Reading or writing a local file for the remote failed.
    #[error("remote cache: I/O failed at {path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The remote answered a lookup with bytes that are not a mono artifact: a proxy's error
    /// page, another tool's object, a broken server.
    #[error("remote cache {url} answered with something that is not a mono artifact")]
    Garbage {
        /// The artifact's URL.
        url: String,
    },
    /// The I/O thread of the remote store stopped (a bug).
    #[error("remote cache: the I/O task stopped unexpectedly")]
    TaskFailed,
    /// An earlier request of this run failed, and the remote is left alone since.
    #[error("remote cache {url} is not used for the rest of this run after an earlier failure")]
    Down {
        /// The remote.
        url: String,
    },
}

impl RemoteError {
    /// An HTTP 5xx answer: the server is up and failed on one request (one artifact), as
    /// opposed to a remote that cannot be reached.
    pub fn is_server_error(&self) -> bool {
        matches!(self, RemoteError::Status { status, .. } if (500..=599).contains(status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_s3_and_http_urls() {
        assert_eq!(
            RemoteUrl::parse("s3://bucket/team/mono/").unwrap(),
            RemoteUrl::S3 {
                bucket: "bucket".into(),
                prefix: "team/mono".into()
            }
        );
        assert_eq!(
            RemoteUrl::parse("s3://bucket").unwrap(),
            RemoteUrl::S3 {
                bucket: "bucket".into(),
                prefix: String::new()
            }
        );
        assert_eq!(
            RemoteUrl::parse("http://127.0.0.1:3000/").unwrap(),
            RemoteUrl::Http {
                base: "http://127.0.0.1:3000".into()
            }
        );
        assert_eq!(
            RemoteUrl::parse("https://cache.example.com/api")
                .unwrap()
                .to_string(),
            "https://cache.example.com/api"
        );
    }

    #[test]
    fn rejects_what_it_cannot_use() {
        assert!(matches!(
            RemoteUrl::parse("ftp://host"),
            Err(RemoteConfigError::UnsupportedScheme { .. })
        ));
        assert!(matches!(
            RemoteUrl::parse("cache.example.com"),
            Err(RemoteConfigError::InvalidUrl { .. })
        ));
        assert!(matches!(
            RemoteUrl::parse("s3:///prefix"),
            Err(RemoteConfigError::MissingBucket { .. })
        ));
        assert!(matches!(
            RemoteUrl::parse("http://host/?teamId=x"),
            Err(RemoteConfigError::QueryInUrl { .. })
        ));
        let message = RemoteUrl::parse("gs://b").unwrap_err().to_string();
        assert!(message.contains("s3://BUCKET/PREFIX"), "{message}");
    }
}
