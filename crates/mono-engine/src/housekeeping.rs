//! What keeps a checkout's cache sound and bounded: one writing run per checkout (the
//! checkout lock), the temporary files of killed runs removed at start, and after a run
//! the orphaned archives and the entries past `cacheMaxSize` / `cacheMaxAge` (docs/cache.md).

use mono_cache::{CacheLimits, CheckoutLock, LocalStore, LockError};
use mono_paths::AbsPath;

use crate::error::EngineError;
use crate::reporter::Reporter;

/// Set in the environment of tasks to the lock file their run holds: a mono run started
/// by a task of that run (a script that runs mono) is nested in it and must not wait for it.
pub const LOCK_ENV: &str = "MONO_CHECKOUT_LOCK";

/// Takes the checkout's lock (one checkout, one writer), saying so while it waits; with
/// `no_wait`, another run holding it is an error. `None`: this run is nested in a task of
/// the run that holds the lock ([`LOCK_ENV`]), which it must not wait for.
pub(crate) fn lock_checkout(
    cache_dir: &AbsPath,
    root: &AbsPath,
    no_wait: bool,
    reporter: &dyn Reporter,
) -> Result<Option<CheckoutLock>, EngineError> {
    let path = CheckoutLock::path_for(cache_dir, root);
    let nested = std::env::var(LOCK_ENV).is_ok_and(|held| held == path.display().to_string());
    if nested {
        // Still held (by the run this one is nested in): go ahead without it.
        match CheckoutLock::acquire(cache_dir, root, false, |_| {}) {
            Ok(lock) => return Ok(Some(lock)),
            Err(LockError::Busy { .. }) => return Ok(None),
            Err(_) => {}
        }
    }
    let waiting = |pid: Option<u32>| {
        let pid = pid.map(|pid| format!(" (pid {pid})")).unwrap_or_default();
        reporter.note(&format!(
            "waiting for another mono run in this checkout{pid}…"
        ));
    };
    CheckoutLock::acquire(cache_dir, root, !no_wait, waiting)
        .map(Some)
        .map_err(EngineError::from)
}

/// The local cache's limits: `TURBO_CACHE_MAX_SIZE` / `TURBO_CACHE_MAX_AGE` if set (as in
/// Turborepo), else `cacheMaxSize` / `cacheMaxAge` from the root config; none by default.
pub fn configured_limits(config: &mono_config::RootConfig) -> Result<CacheLimits, EngineError> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let bad = |variable: &'static str| {
        move |source: mono_config::LimitError| EngineError::CacheLimit { variable, source }
    };
    let max_size = match env("TURBO_CACHE_MAX_SIZE") {
        Some(text) => mono_config::parse_size(&text).map_err(bad("TURBO_CACHE_MAX_SIZE"))?,
        None => config.cache_max_size.as_ref().and_then(|s| s.value),
    };
    let max_age = match env("TURBO_CACHE_MAX_AGE") {
        Some(text) => mono_config::parse_age(&text).map_err(bad("TURBO_CACHE_MAX_AGE"))?,
        None => config.cache_max_age.as_ref().and_then(|s| s.value),
    };
    Ok(CacheLimits { max_size, max_age })
}

/// At the start of a run that writes, with the checkout's lock held: removes the temporary
/// files of killed runs.
pub(crate) fn clean_at_start(cache_dir: &AbsPath) {
    // Best effort: leftovers only take room, and the next run tries again.
    let _ = LocalStore::new(cache_dir.clone()).clean_temp();
}

/// After a run that wrote the local cache: removes orphaned archives, then applies the
/// configured limits, least recently used first.
pub(crate) fn evict_after_run(
    cache_dir: &AbsPath,
    config: &mono_config::RootConfig,
    reporter: &dyn Reporter,
) {
    let store = LocalStore::new(cache_dir.clone());
    let _ = store.prune();
    match configured_limits(config) {
        Ok(limits) if limits == CacheLimits::default() => {}
        Ok(limits) => {
            if let Err(err) = store.evict(limits, false) {
                reporter.warn(&format!("cache limits not applied: {err}"));
            }
        }
        Err(err) => reporter.warn(&format!("cache limits not applied: {err}")),
    }
}
