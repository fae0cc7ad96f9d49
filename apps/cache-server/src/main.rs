//! `mono-cache-server`: a remote cache server speaking the Turborepo HTTP cache API
//! (`/v8/artifacts/{hash}`), so that mono and turbo users can share one self-hosted cache.
//!
//! Artifacts are opaque bytes to the server (turbo sends gzip'd tars, mono its own
//! envelope); it keeps each with its `x-artifact-tag` and `x-artifact-duration`, on local
//! disk or in an S3-compatible bucket. docs/remote-cache.md describes running it.

mod app;
mod connection;
mod metrics;
mod options;
mod storage;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let options = options::Options::parse();
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MONO_CACHE_SERVER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stdout)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::error!(error = %err, "cannot start the runtime");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(app::serve(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "the server failed");
            ExitCode::FAILURE
        }
    }
}
