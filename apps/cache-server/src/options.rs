//! The server's command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// A remote cache server for mono and Turborepo (the Turborepo HTTP cache API).
#[derive(Debug, Parser)]
#[command(name = "mono-cache-server", version, about, max_term_width = 100)]
pub struct Options {
    /// The address to listen on. Port 0 picks a free port (the "listening" log line names it).
    #[arg(
        long,
        env = "MONO_CACHE_SERVER_LISTEN",
        default_value = "127.0.0.1:3000"
    )]
    pub listen: SocketAddr,

    /// Store artifacts in this folder.
    #[arg(
        long,
        env = "MONO_CACHE_SERVER_DIR",
        value_name = "DIR",
        conflicts_with = "s3"
    )]
    pub dir: Option<PathBuf>,

    /// Store artifacts in an S3-compatible bucket, `s3://BUCKET/PREFIX`, with the standard
    /// AWS environment (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_REGION`).
    #[arg(long, env = "MONO_CACHE_SERVER_S3", value_name = "URL")]
    pub s3: Option<String>,

    /// The bearer tokens clients must send, comma-separated.
    #[arg(
        long = "token",
        env = "MONO_CACHE_SERVER_TOKENS",
        value_name = "TOKEN",
        value_delimiter = ',',
        required = true,
        hide_env_values = true
    )]
    pub tokens: Vec<String>,

    /// The largest artifact accepted, in bytes (larger uploads get 413).
    #[arg(long, env = "MONO_CACHE_SERVER_MAX_ARTIFACT_SIZE", default_value_t = 512 * 1024 * 1024)]
    pub max_artifact_size: u64,

    /// When set, uploads must carry a valid `x-artifact-tag` (HMAC-SHA256 with this key, as
    /// `MONO_REMOTE_CACHE_SIGNATURE_KEY` / `TURBO_REMOTE_CACHE_SIGNATURE_KEY` on clients).
    #[arg(
        long,
        env = "MONO_CACHE_SERVER_SIGNATURE_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    pub signature_key: Option<String>,
}
