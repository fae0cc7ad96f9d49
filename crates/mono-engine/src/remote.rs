//! Which remote cache a command uses: `--remote-cache` / `MONO_REMOTE_CACHE`, else
//! `remoteCache.apiUrl` in the root config; credentials, team and signature key from the
//! environment (docs/remote-cache.md).

use std::path::PathBuf;
use std::time::Duration;

use mono_cache::{RemoteOptions, RemoteStore, RemoteUrl, Signer};

use crate::error::EngineError;
use crate::reporter::Reporter;
use crate::workspace::Workspace;

/// A remote cache ready to use, and how long to wait for uploads before exiting.
pub struct Remote {
    /// The store.
    pub store: RemoteStore,
    /// How long the run waits for its uploads at the end.
    pub upload_bound: Duration,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// The remote cache of this command, if one is configured and enabled. `flag` is
/// `--remote-cache` (or `MONO_REMOTE_CACHE`); downloads land in `scratch_dir`.
pub fn resolve(
    flag: Option<&str>,
    access: &crate::options::RemoteAccess,
    workspace: &Workspace,
    scratch_dir: PathBuf,
) -> Result<Option<Remote>, EngineError> {
    let config = workspace.config.remote_cache.clone().unwrap_or_default();
    let (text, from_config) = match flag.filter(|f| !f.is_empty()) {
        Some(flag) => (flag.to_owned(), false),
        None => match (&config.api_url, config.enabled) {
            (_, Some(false)) | (None, _) => return Ok(None),
            (Some(url), _) => (url.value.clone(), true),
        },
    };
    let url = RemoteUrl::parse(&text).map_err(|source| EngineError::RemoteConfig {
        source,
        help: if from_config {
            "fix `remoteCache.apiUrl` in the root config"
        } else {
            "fix --remote-cache or MONO_REMOTE_CACHE"
        },
    })?;
    let team_id = config
        .team_id
        .map(|s| s.value)
        .or_else(|| env("TURBO_TEAMID"));
    let team_slug = access
        .team
        .clone()
        .or(config.team_slug.map(|s| s.value))
        .or_else(|| env("TURBO_TEAM"));
    let key =
        env("MONO_REMOTE_CACHE_SIGNATURE_KEY").or_else(|| env("TURBO_REMOTE_CACHE_SIGNATURE_KEY"));
    if config.signature == Some(true) && key.is_none() {
        return Err(EngineError::MissingSignatureKey);
    }
    let signer = key.map(|key| {
        let team = team_id
            .clone()
            .or_else(|| team_slug.clone())
            .unwrap_or_default();
        Signer::new(key.into_bytes(), team)
    });
    let defaults = RemoteOptions::default();
    let options = RemoteOptions {
        token: access
            .token
            .clone()
            .or_else(|| env("MONO_REMOTE_CACHE_TOKEN"))
            .or_else(|| env("TURBO_TOKEN")),
        team_id,
        team_slug,
        signer,
        timeout: access
            .timeout
            .or(config.timeout)
            .map_or(defaults.timeout, Duration::from_secs),
        upload_timeout: config
            .upload_timeout
            .map_or(defaults.upload_timeout, Duration::from_secs),
    };
    let upload_bound = options.upload_timeout;
    let store = RemoteStore::new(url, options, scratch_dir).map_err(|source| {
        EngineError::RemoteConfig {
            source,
            help: "check the remote cache URL and the AWS_* environment",
        }
    })?;
    Ok(Some(Remote {
        store,
        upload_bound,
    }))
}

/// The one warning of a remote that failed: the run goes on with the local cache.
pub(crate) fn warn_down(
    reporter: &dyn Reporter,
    store: &RemoteStore,
    err: &(dyn std::error::Error + 'static),
) {
    reporter.warn(&format!(
        "remote cache {} is unavailable, continuing with the local cache only: {}",
        store.url(),
        chain(err)
    ));
}

/// An error and its causes, `a: b: c`, leaving out a cause already part of the message.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
