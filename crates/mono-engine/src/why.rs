//! Why a task missed: its input manifest compared with the manifest of the earlier entry of
//! the same task, found through the stores' recent-entries indexes (docs/why.md).
//!
//! The earlier entry is the head of the local index (the last entry this checkout stored or
//! restored), else the head of the remote's (the newest entry uploaded). Entries of the
//! index whose manifest is gone (evicted, or stored by a mono that wrote none) are passed
//! over for the next one.

use mono_cache::{CacheKey, CacheStore, LocalStore, RecentEntry, RemoteStore, SideError};
use mono_hash::{summarize_causes, Cause, TaskManifest};
use serde::Serialize;

/// How many causes the miss line names before `and N more`.
pub const MISS_LINE_CAUSES: usize = 3;

/// How many entries of an index are tried for a manifest: the head, and a few older ones
/// whose manifest may still be there when the newer ones' are gone.
const LOCAL_TRIES: usize = 4;
/// The remote costs a request per try.
const REMOTE_TRIES: usize = 2;

/// Which store an earlier entry was found in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum EntrySource {
    /// This checkout's local cache.
    Local,
    /// The remote cache.
    Remote,
}

impl std::fmt::Display for EntrySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EntrySource::Local => "local",
            EntrySource::Remote => "remote",
        })
    }
}

/// The earlier entry a hash is compared with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EarlierEntry {
    /// Its key (the task hash it was stored under).
    pub hash: String,
    /// Where its index and manifest were found.
    pub source: EntrySource,
    /// When it was recorded, milliseconds since the Unix epoch.
    pub at: u64,
    /// How long the task ran then, in milliseconds.
    pub duration_ms: u64,
}

/// Why a task's hash is not the one of its earlier entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    /// What kind of answer this is.
    pub kind: ExplanationKind,
    /// The entry compared with, if any.
    pub earlier: Option<EarlierEntry>,
    /// The differences, most telling first (empty unless `kind` is `changed`).
    pub causes: Vec<Cause>,
    /// The one-line reason, as printed at the miss.
    pub text: String,
}

/// What kind of answer an [`Explanation`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ExplanationKind {
    /// Inputs differ from the earlier entry's: see the causes.
    Changed,
    /// No entry of this task was ever recorded: its first run.
    FirstRun,
    /// The earlier entry has this very hash, and is no longer in the cache.
    EntryGone,
    /// Entries were recorded, and none has a manifest to compare with.
    NoManifest,
    /// The only entries recorded have the current hash: nothing earlier differs.
    NoEarlier,
}

/// Where to look for earlier entries and their manifests.
pub(crate) struct Sources<'a> {
    pub(crate) local: Option<&'a LocalStore>,
    pub(crate) remote: Option<&'a RemoteStore>,
}

impl Sources<'_> {
    /// The manifest of `key`: the local copy, else the remote's. Problems go to `warn`.
    pub(crate) fn manifest(
        &self,
        key: &CacheKey,
        warn: &dyn Fn(String),
    ) -> Option<(TaskManifest, EntrySource)> {
        let parse = |json: Vec<u8>, source: EntrySource, warn: &dyn Fn(String)| {
            match serde_json::from_slice::<TaskManifest>(&json) {
                Ok(manifest) if manifest.hash.as_bytes() == key.as_bytes() => {
                    Some((manifest, source))
                }
                Ok(_) => {
                    warn(format!(
                        "the {source} input manifest of {key} belongs to another hash; ignoring it"
                    ));
                    None
                }
                Err(err) => {
                    warn(format!(
                        "the {source} input manifest of {key} cannot be read ({err}); ignoring it"
                    ));
                    None
                }
            }
        };
        if let Some(local) = self.local {
            match local.manifest(key) {
                Ok(Some(json)) => {
                    if let Some(found) = parse(json, EntrySource::Local, warn) {
                        return Some(found);
                    }
                }
                Ok(None) => {}
                Err(err) => warn(err.to_string()),
            }
        }
        let remote = self.remote?;
        match remote.manifest(key) {
            Ok(Some(json)) => parse(json, EntrySource::Remote, warn),
            Ok(None) => None,
            Err(err) => {
                warn(side_error(&err));
                None
            }
        }
    }

    /// The recent entries of `task_id` in each store, newest first.
    fn recent(&self, task_id: &str, warn: &dyn Fn(String)) -> Vec<(RecentEntry, EntrySource)> {
        let mut found = Vec::new();
        if let Some(local) = self.local {
            match local.recent(task_id) {
                Ok(entries) => found.extend(
                    entries
                        .into_iter()
                        .take(LOCAL_TRIES)
                        .map(|e| (e, EntrySource::Local)),
                ),
                Err(err) => warn(err.to_string()),
            }
        }
        if let Some(remote) = self.remote {
            match remote.recent(task_id) {
                Ok(entries) => found.extend(
                    entries
                        .into_iter()
                        .take(REMOTE_TRIES)
                        .map(|e| (e, EntrySource::Remote)),
                ),
                Err(err) => warn(side_error(&err)),
            }
        }
        found
    }
}

fn side_error(err: &SideError) -> String {
    match err {
        SideError::Remote(err) => format!(
            "remote cache unavailable for miss reasons: {}",
            crate::remote::chain(err)
        ),
        other => other.to_string(),
    }
}

/// Explains `current` against the earlier entry of its task. `present`: the current hash
/// has an entry (then it is not the earlier entry; `mono why` asks about a hit too).
/// Remote lookups happen only when no local entry has a manifest.
pub(crate) fn explain(
    sources: &Sources<'_>,
    current: &TaskManifest,
    present: bool,
    warn: &dyn Fn(String),
) -> Explanation {
    let key = CacheKey::from_bytes(*current.hash.as_bytes());
    let local_only = Sources {
        local: sources.local,
        remote: None,
    };
    // Local first, without a request; then the remote's index.
    let mut candidates = local_only.recent(&current.task_id, warn);
    let mut asked_remote = false;
    let mut recorded = !candidates.is_empty();
    let mut without_manifest = None;
    loop {
        for (entry, source) in std::mem::take(&mut candidates) {
            if entry.key == key {
                if present {
                    continue;
                }
                return Explanation {
                    kind: ExplanationKind::EntryGone,
                    earlier: Some(earlier(&entry, source)),
                    causes: Vec::new(),
                    text: format!("its entry {} is no longer in the cache", short(&entry.key)),
                };
            }
            let Some((manifest, _)) = sources.manifest(&entry.key, warn) else {
                without_manifest.get_or_insert((entry, source));
                continue;
            };
            let causes = current.diff(&manifest);
            let text = match causes.is_empty() {
                true => format!(
                    "inputs differ from {} in no recorded way",
                    short(&entry.key)
                ),
                false => summarize_causes(&causes, MISS_LINE_CAUSES),
            };
            return Explanation {
                kind: ExplanationKind::Changed,
                earlier: Some(earlier(&entry, source)),
                causes,
                text,
            };
        }
        match (asked_remote, sources.remote) {
            (false, Some(remote)) => {
                asked_remote = true;
                let remote_only = Sources {
                    local: None,
                    remote: Some(remote),
                };
                candidates = remote_only.recent(&current.task_id, warn);
                recorded |= !candidates.is_empty();
            }
            _ => break,
        }
    }
    match (recorded, without_manifest) {
        (true, Some((entry, source))) => Explanation {
            kind: ExplanationKind::NoManifest,
            text: format!(
                "the earlier entry {} has no input manifest (stored by an older mono, or evicted)",
                short(&entry.key)
            ),
            earlier: Some(earlier(&entry, source)),
            causes: Vec::new(),
        },
        (true, None) => Explanation {
            kind: ExplanationKind::NoEarlier,
            earlier: None,
            causes: Vec::new(),
            text: "no earlier entry of this task differs from this one".to_owned(),
        },
        _ => Explanation {
            kind: ExplanationKind::FirstRun,
            earlier: None,
            causes: Vec::new(),
            text: "first run of this task".to_owned(),
        },
    }
}

fn earlier(entry: &RecentEntry, source: EntrySource) -> EarlierEntry {
    EarlierEntry {
        hash: entry.key.to_string(),
        source,
        at: entry.at,
        duration_ms: entry.duration_ms,
    }
}

/// The first 16 hex digits, as status lines show hashes.
fn short(key: &CacheKey) -> String {
    let mut text = key.to_string();
    text.truncate(16);
    text
}

/// What `mono why <task>` reports: the task's hash, what it is made of, whether the cache
/// has it, and how it differs from its earlier entry.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WhyReport {
    /// The format version of `mono why --json` (docs/why.md).
    pub version: u32,
    /// The task.
    pub task_id: String,
    /// Its hash now.
    pub hash: String,
    /// Whether an entry of this hash is in the local cache, and in the remote one.
    pub cache: WhyCache,
    /// Everything the hash covers.
    pub manifest: TaskManifest,
    /// How it differs from the earlier entry.
    pub explanation: Explanation,
}

/// Where the current hash has an entry.
#[derive(Clone, Copy, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WhyCache {
    /// In the local cache.
    pub local: bool,
    /// In the remote cache (`false` without one).
    pub remote: bool,
}

/// What `mono why --hash A --hash B` reports.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HashComparison {
    /// The format version (docs/why.md).
    pub version: u32,
    /// The first entry's manifest and where it was found.
    pub a: ComparedEntry,
    /// The second's.
    pub b: ComparedEntry,
    /// What differs from A to B, most telling first.
    pub causes: Vec<Cause>,
}

/// One side of a [`HashComparison`].
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComparedEntry {
    /// Its hash.
    pub hash: String,
    /// Its task.
    pub task_id: String,
    /// Where its manifest was found.
    pub source: EntrySource,
    /// The manifest.
    pub manifest: TaskManifest,
}

/// The version of `mono why --json`.
pub const WHY_FORMAT_VERSION: u32 = 1;

impl crate::run::Run {
    /// `mono why <task>`: `task` (`package#task`) of `prepared`, explained against its
    /// earlier entry.
    pub fn why(
        &self,
        prepared: &crate::run::Prepared,
        task: &mono_task_id::TaskId,
    ) -> Result<WhyReport, crate::EngineError> {
        let Some(manifest) = prepared.hashes.manifest(task) else {
            let known: Vec<String> = prepared.graph.tasks().map(|t| t.id.to_string()).collect();
            let known: Vec<&str> = known.iter().map(String::as_str).collect();
            return Err(crate::EngineError::UnknownTask {
                name: task.to_string(),
                suggestion: mono_config::did_you_mean(&task.to_string(), &known).map(str::to_owned),
            });
        };
        let store = self.local_store();
        let remote = self.remote(&store)?;
        let remote = remote.as_ref().map(|r| &r.store);
        let key = CacheKey::from_bytes(*manifest.hash.as_bytes());
        let local = store.peek(&key).ok().flatten().is_some();
        let in_remote = !local && remote.is_some_and(|remote| remote.exists(&key).unwrap_or(false));
        let reporter = self.reporter();
        let warn = |message: String| reporter.warn(&format!("{task}: {message}"));
        let sources = Sources {
            local: Some(&store),
            remote,
        };
        let explanation = explain(&sources, &manifest, local || in_remote, &warn);
        Ok(WhyReport {
            version: WHY_FORMAT_VERSION,
            task_id: task.to_string(),
            hash: manifest.hash.to_string(),
            cache: WhyCache {
                local,
                remote: in_remote,
            },
            manifest,
            explanation,
        })
    }

    /// `mono why --hash A --hash B`: the two entries' manifests compared, from A to B. Each
    /// is looked up in the local cache, then the remote one.
    pub fn compare_hashes(&self, a: &str, b: &str) -> Result<HashComparison, crate::EngineError> {
        let store = self.local_store();
        let remote = self.remote(&store)?;
        let remote = remote.as_ref().map(|r| &r.store);
        let reporter = self.reporter();
        let warn = |message: String| reporter.warn(&message);
        let sources = Sources {
            local: Some(&store),
            remote,
        };
        let load = |text: &str| -> Result<ComparedEntry, crate::EngineError> {
            let key = text
                .parse::<CacheKey>()
                .map_err(|source| crate::EngineError::BadHash {
                    text: text.to_owned(),
                    source,
                })?;
            if let Some((manifest, source)) = sources.manifest(&key, &warn) {
                return Ok(ComparedEntry {
                    hash: key.to_string(),
                    task_id: manifest.task_id.clone(),
                    source,
                    manifest,
                });
            }
            let looked = match remote {
                Some(remote) => format!("{} and {}", store.entries_dir().display(), remote.url()),
                None => store.entries_dir().display().to_string(),
            };
            let has_entry = store.peek(&key).ok().flatten().is_some()
                || remote.is_some_and(|remote| remote.exists(&key).unwrap_or(false));
            Err(match has_entry {
                true => crate::EngineError::NoManifest {
                    hash: key.to_string(),
                },
                false => crate::EngineError::UnknownHash {
                    hash: key.to_string(),
                    looked,
                },
            })
        };
        let a = load(a)?;
        let b = load(b)?;
        let causes = b.manifest.diff(&a.manifest);
        Ok(HashComparison {
            version: WHY_FORMAT_VERSION,
            a,
            b,
            causes,
        })
    }
}
