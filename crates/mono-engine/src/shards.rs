//! A run split across CI machines (docs/ci.md): `mono ci plan --shards N` computes the
//! split, `mono run --shard i/N` runs shard i's part of it and waits in the remote cache
//! for what it needs from the other shards.
//!
//! Every shard recomputes the plan from the same inputs (the task graph, the hashes, the
//! durations the remote cache holds), and the first to compute it stores it in the remote
//! cache under a key derived from the hashes: a shard started later, or retried, uses the
//! stored split even though the remote has changed since (docs/ci.md, "Determinism").
//! Each shard also stores a small status object (running, failed, done) that the others
//! read while they wait for its tasks.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use mono_cache::{Artifact, CacheKey, CacheStore, Lookup, PackRequest, RemoteStore, TaskInfo};
use mono_paths::AbsPath;
use mono_task_id::TaskId;
use mono_tasks::{SplitOptions, SplitStrategy, SplitTask};
use serde::{Deserialize, Serialize};

use crate::error::EngineError;
use crate::run::Prepared;

/// What a dependency on another shard's task adds in the model: the upload, the poll and
/// the download (docs/ci.md, "The cost of a transfer").
pub const TRANSFER_MS: u64 = mono_tasks::TRANSFER_MS;

/// The expected time of a task that never ran and whose task name has no recorded time
/// anywhere in the plan (docs/ci.md, "Unknown durations").
pub const UNKNOWN_DURATION_MS: u64 = 10_000;

/// The version of `mono ci plan --json` and of the plan stored in the remote cache.
pub const CI_PLAN_FORMAT_VERSION: u32 = 1;

/// `--shard i/N`: the i-th of N shards, counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardSpec {
    index: usize,
    total: usize,
}

/// Why `--shard` cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a shard: write `i/N`, 1 ≤ i ≤ N (e.g. `2/4`, or `$CI_NODE_INDEX/$CI_NODE_TOTAL` on GitLab)")]
pub struct ShardSpecError {
    text: String,
}

impl ShardSpec {
    /// The `index`-th (from 1) of `total` shards.
    pub fn new(index: usize, total: usize) -> Option<ShardSpec> {
        (1..=total)
            .contains(&index)
            .then_some(ShardSpec { index, total })
    }

    /// Which shard, from 1.
    pub fn index(&self) -> usize {
        self.index
    }

    /// How many shards.
    pub fn total(&self) -> usize {
        self.total
    }
}

impl FromStr for ShardSpec {
    type Err = ShardSpecError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || ShardSpecError {
            text: text.to_owned(),
        };
        let (index, total) = text.trim().split_once('/').ok_or_else(error)?;
        let index: usize = index.trim().parse().map_err(|_| error())?;
        let total: usize = total.trim().parse().map_err(|_| error())?;
        ShardSpec::new(index, total).ok_or_else(error)
    }
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.total)
    }
}

/// `--shard i/N --shard-wait D`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardOptions {
    /// Which shard this run is.
    pub shard: ShardSpec,
    /// How long to wait for one task of another shard before giving up.
    pub wait: Duration,
}

/// Where a task's expected time came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DurationSource {
    /// The remote cache has an entry for its current hash: a hit, its time that entry's.
    Hit,
    /// The median of the recent entries of its task id.
    Recent,
    /// Never recorded: the median of the recorded times of the tasks of the same name.
    SameName,
    /// Nothing of the same name either: [`UNKNOWN_DURATION_MS`].
    Default,
}

/// One task of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardedTask {
    /// The task.
    pub task_id: String,
    /// Its hash.
    pub hash: String,
    /// Its shard, from 1.
    pub shard: usize,
    /// When the model starts it, in milliseconds from the start of the shards.
    pub start_ms: u64,
    /// Its expected running time.
    pub duration_ms: u64,
    /// What it costs in the split: its running time, or 0 for a hit.
    pub cost_ms: u64,
    /// Where `duration_ms` came from.
    pub duration_source: DurationSource,
    /// Whether it can be cached (and so taken by another shard).
    pub cacheable: bool,
    /// The tasks it depends on (task ids), so that a split can be recomputed from the
    /// JSON alone (bench/shard_balance.py).
    #[serde(default)]
    pub dependencies: Vec<String>,
}

/// One shard of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardPart {
    /// `i/N`.
    pub shard: String,
    /// Its tasks, in the order the model starts them.
    pub tasks: Vec<String>,
    /// When its last task is expected to end, waits for other shards included.
    pub estimated_ms: u64,
    /// The sum of its tasks' times.
    pub busy_ms: u64,
}

/// `mono ci plan`'s result: which shard runs which task, and the model's figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CiPlan {
    /// [`CI_PLAN_FORMAT_VERSION`].
    pub version: u32,
    /// How many shards.
    pub shards: usize,
    /// Tasks at once per shard in the model.
    pub concurrency: usize,
    /// What the model adds for a dependency on another shard.
    pub transfer_ms: u64,
    /// The key the plan is stored under in the remote cache (derived from the hashes).
    pub plan_key: String,
    /// `components` or `listScheduling` (docs/ci.md).
    pub strategy: String,
    /// The sum of the tasks' costs.
    pub total_ms: u64,
    /// The longest chain of dependent tasks, by cost.
    pub longest_chain_ms: u64,
    /// max(total / (shards × concurrency), longest chain): no split ends sooner.
    pub lower_bound_ms: u64,
    /// The same, counting the first transfer of the shards with nothing to start with.
    pub lower_bound_with_transfers_ms: u64,
    /// The longest shard's estimate.
    pub makespan_ms: u64,
    /// GitHub Actions: `strategy.matrix: ${{ fromJSON(...) }}`.
    pub matrix: GithubMatrix,
    /// GitLab CI: `parallel:matrix` (or `parallel: N` with `CI_NODE_INDEX/CI_NODE_TOTAL`).
    pub gitlab: GitlabParallel,
    /// Each shard.
    pub split: Vec<ShardPart>,
    /// Each task, by task id.
    pub tasks: Vec<ShardedTask>,
}

/// `{"include":[{"shard":"1/4"},...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GithubMatrix {
    /// One entry per shard.
    pub include: Vec<MatrixEntry>,
}

/// One GitHub matrix entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatrixEntry {
    /// `i/N`, for `--shard ${{ matrix.shard }}`.
    pub shard: String,
}

/// `{"parallel":{"matrix":[{"MONO_SHARD":["1/4",...]}]}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitlabParallel {
    /// The `parallel` keyword.
    pub parallel: GitlabMatrix,
}

/// GitLab's `parallel:matrix`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitlabMatrix {
    /// One variable, `MONO_SHARD`, with every shard.
    pub matrix: Vec<BTreeMap<String, Vec<String>>>,
}

impl CiPlan {
    /// The plan as JSON (docs/ci.md).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a plan serializes")
    }

    /// The split for people: per shard, its estimate and tasks; the lower bound.
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let secs = |ms: u64| format!("{:.1}s", ms as f64 / 1000.0);
        let by_id: HashMap<&str, &ShardedTask> =
            self.tasks.iter().map(|t| (t.task_id.as_str(), t)).collect();
        let mut out = String::new();
        for part in &self.split {
            let _ = writeln!(
                out,
                "shard {}: {} tasks, estimated {} ({} of work)",
                part.shard,
                part.tasks.len(),
                secs(part.estimated_ms),
                secs(part.busy_ms)
            );
            for id in &part.tasks {
                let task = by_id[id.as_str()];
                let how = match task.duration_source {
                    DurationSource::Hit => "cached".to_owned(),
                    DurationSource::Recent => secs(task.duration_ms),
                    DurationSource::SameName => {
                        format!("~{} (same task name)", secs(task.duration_ms))
                    }
                    DurationSource::Default => format!("~{} (never ran)", secs(task.duration_ms)),
                };
                let _ = writeln!(out, "  {id}  {how}");
            }
        }
        let _ = writeln!(
            out,
            "\nlongest shard {} against a lower bound of {} (total {} / {} shards{}, longest chain {}): {:.1}% over",
            secs(self.makespan_ms),
            secs(self.lower_bound_ms),
            secs(self.total_ms),
            self.shards,
            match self.concurrency {
                1 => String::new(),
                k => format!(" × {k} at once"),
            },
            secs(self.longest_chain_ms),
            over(self.makespan_ms, self.lower_bound_ms)
        );
        if self.lower_bound_with_transfers_ms > self.lower_bound_ms {
            let _ = writeln!(
                out,
                "shards with nothing to start with wait for a first transfer: {} counting it ({:.1}% over)",
                secs(self.lower_bound_with_transfers_ms),
                over(self.makespan_ms, self.lower_bound_with_transfers_ms)
            );
        }
        out
    }

    /// The shard (from 1) of each task.
    pub(crate) fn shard_of(&self) -> HashMap<String, (usize, u64)> {
        self.tasks
            .iter()
            .map(|t| (t.task_id.clone(), (t.shard, t.start_ms)))
            .collect()
    }
}

/// How far `value` is over `bound`, in percent.
fn over(value: u64, bound: u64) -> f64 {
    match bound {
        0 => 0.0,
        bound => (value as f64 / bound as f64 - 1.0) * 100.0,
    }
}

/// A task's expected time: its running time, where it came from, whether it is a hit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Expected {
    pub(crate) duration_ms: Option<u64>,
    pub(crate) source: DurationSource,
}

/// The recorded times the plan is made from: for each task, the entries of the remote
/// cache's durations index (or, with no remote cache, the local one's).
pub(crate) trait Durations {
    /// The recent entries of `task_id`: (key, duration in ms), newest first.
    fn recent(&self, task_id: &TaskId) -> Vec<(CacheKey, u64)>;
}

/// Each task's expected time: the entry of its current hash (a hit), else the median of its
/// recent entries, else the median over the tasks of the same task name, else
/// [`UNKNOWN_DURATION_MS`].
pub(crate) fn expected_times(
    prepared: &Prepared,
    durations: &dyn Durations,
) -> BTreeMap<TaskId, Expected> {
    let mut expected: BTreeMap<TaskId, Expected> = BTreeMap::new();
    for task in prepared.graph.tasks() {
        let key = CacheKey::from_bytes(*prepared.hashes.tasks[&task.id].hash.as_bytes());
        let recent = durations.recent(&task.id);
        let hit = recent.iter().find(|(k, _)| *k == key).map(|(_, d)| *d);
        let times: Vec<u64> = recent.iter().map(|(_, d)| *d).collect();
        let found = match (hit, median(&times)) {
            (Some(d), _) => Expected {
                duration_ms: Some(d),
                source: DurationSource::Hit,
            },
            (None, Some(d)) => Expected {
                duration_ms: Some(d),
                source: DurationSource::Recent,
            },
            (None, None) => Expected {
                duration_ms: None,
                source: DurationSource::Default,
            },
        };
        expected.insert(task.id.clone(), found);
    }
    let mut by_name: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (id, found) in &expected {
        if let Some(d) = found.duration_ms {
            by_name.entry(id.task().to_owned()).or_default().push(d);
        }
    }
    for (id, found) in expected.iter_mut() {
        if found.duration_ms.is_none() {
            match by_name.get(id.task()).and_then(|times| median(times)) {
                Some(d) => {
                    found.duration_ms = Some(d);
                    found.source = DurationSource::SameName;
                }
                None => found.duration_ms = Some(UNKNOWN_DURATION_MS),
            }
        }
    }
    expected
}

/// The median (the lower of the two middle values for an even count); `None` for none.
fn median(values: &[u64]) -> Option<u64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    match sorted.len() {
        0 => None,
        n => Some(sorted[(n - 1) / 2]),
    }
}

/// The key a plan is stored under: derived from the shard count, the model's concurrency
/// and transfer cost, and every task's id and hash, so that another commit, selection or
/// model has another.
pub(crate) fn plan_key(prepared: &Prepared, shards: usize, concurrency: usize) -> CacheKey {
    let mut text =
        format!("mono ci plan v{CI_PLAN_FORMAT_VERSION}\n{shards}\n{concurrency}\n{TRANSFER_MS}\n");
    for task in prepared.graph.tasks() {
        let hash = &prepared.hashes.tasks[&task.id].hash;
        text.push_str(&format!("{}\t{hash}\n", task.id));
    }
    CacheKey::from(blake3::hash(text.as_bytes()))
}

/// The split of `prepared` across `shards` shards of `concurrency` tasks at once.
pub(crate) fn compute(
    prepared: &Prepared,
    expected: &BTreeMap<TaskId, Expected>,
    shards: usize,
    concurrency: usize,
) -> Result<CiPlan, EngineError> {
    let graph = &prepared.graph;
    // Tasks by id: every machine orders them alike.
    let ids: Vec<&TaskId> = expected.keys().collect();
    let index: HashMap<&TaskId, usize> = ids.iter().enumerate().map(|(i, t)| (*t, i)).collect();
    let mut persistent = Vec::new();
    let mut inputs = Vec::with_capacity(ids.len());
    for id in &ids {
        let node = graph.get(id).expect("planned tasks are in the graph");
        if node.definition.persistent && node.command.is_some() {
            persistent.push((*id).clone());
        }
        let found = expected[*id];
        let duration = found.duration_ms.unwrap_or(UNKNOWN_DURATION_MS);
        let cost = match (node.command.is_some(), found.source) {
            (false, _) | (true, DurationSource::Hit) => 0,
            (true, _) => duration,
        };
        inputs.push(SplitTask {
            cost_ms: cost,
            dependencies: graph
                .dependencies(id)
                .into_iter()
                .filter_map(|d| index.get(d).copied())
                .collect(),
            keep_with_dependents: !node.definition.cache && node.command.is_some(),
        });
    }
    if !persistent.is_empty() {
        return Err(EngineError::PersistentInShards { tasks: persistent });
    }
    let split = mono_tasks::split(
        &inputs,
        &SplitOptions {
            shards,
            concurrency,
            transfer_ms: TRANSFER_MS,
        },
    );
    let name = |s: usize| format!("{}/{shards}", s + 1);
    let tasks = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let node = graph.get(id).expect("in the graph");
            let found = expected[*id];
            ShardedTask {
                task_id: id.to_string(),
                hash: prepared.hashes.tasks[*id].hash.to_string(),
                shard: split.shard_of[i] + 1,
                start_ms: split.start_ms[i],
                duration_ms: found.duration_ms.unwrap_or(UNKNOWN_DURATION_MS),
                cost_ms: inputs[i].cost_ms,
                duration_source: found.source,
                cacheable: node.definition.cache && !node.definition.persistent,
                dependencies: inputs[i]
                    .dependencies
                    .iter()
                    .map(|&d| ids[d].to_string())
                    .collect(),
            }
        })
        .collect();
    let split_parts = split
        .shards
        .iter()
        .enumerate()
        .map(|(s, part)| ShardPart {
            shard: name(s),
            tasks: part.tasks.iter().map(|&i| ids[i].to_string()).collect(),
            estimated_ms: part.end_ms,
            busy_ms: part.busy_ms,
        })
        .collect();
    let names: Vec<String> = (0..shards).map(name).collect();
    Ok(CiPlan {
        version: CI_PLAN_FORMAT_VERSION,
        shards,
        concurrency,
        transfer_ms: TRANSFER_MS,
        plan_key: plan_key(prepared, shards, concurrency).to_string(),
        strategy: match split.strategy {
            SplitStrategy::Components => "components",
            SplitStrategy::ListScheduling => "listScheduling",
        }
        .to_owned(),
        total_ms: split.total_ms,
        longest_chain_ms: split.longest_chain_ms,
        lower_bound_ms: split.lower_bound_ms,
        lower_bound_with_transfers_ms: split.lower_bound_with_transfers_ms,
        makespan_ms: split.makespan_ms(),
        matrix: GithubMatrix {
            include: names
                .iter()
                .map(|shard| MatrixEntry {
                    shard: shard.clone(),
                })
                .collect(),
        },
        gitlab: GitlabParallel {
            parallel: GitlabMatrix {
                matrix: vec![BTreeMap::from([("MONO_SHARD".to_owned(), names)])],
            },
        },
        split: split_parts,
        tasks,
    })
}

/// A small JSON document stored in the remote cache as an artifact with no outputs whose
/// log is the document: any remote that stores artifacts stores it (docs/ci.md).
fn put_document(
    remote: &RemoteStore,
    root: &AbsPath,
    key: CacheKey,
    label: &str,
    document: &[u8],
) -> Result<(), String> {
    write_document(remote, root, key, label, document, false).map(|_| ())
}

/// [`put_document`], or with `create` a conditional write: `Ok(false)` when the remote
/// refused it because `key` exists.
fn write_document(
    remote: &RemoteStore,
    root: &AbsPath,
    key: CacheKey,
    label: &str,
    document: &[u8],
    create: bool,
) -> Result<bool, String> {
    let info = TaskInfo {
        task_id: label.to_owned(),
        duration_ms: 0,
        exit_code: 0,
    };
    let request = PackRequest {
        key,
        task: &info,
        repo_root: root,
        outputs: &[],
        log: document,
    };
    let scratch = remote.scratch_dir();
    std::fs::create_dir_all(scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let artifact = Artifact::pack(&request, scratch).map_err(|e| e.to_string())?;
    match create {
        true => remote.put_new(&artifact).map_err(|e| e.to_string()),
        false => remote
            .put(&artifact)
            .map(|()| true)
            .map_err(|e| e.to_string()),
    }
}

/// The document stored under `key`, if the remote has a good one.
fn get_document(remote: &RemoteStore, key: &CacheKey) -> Option<Vec<u8>> {
    match remote.fetch(key) {
        Ok(Lookup::Hit(artifact)) => artifact.read_log().ok(),
        _ => None,
    }
}

/// The plan stored in the remote cache for these hashes, if a shard or `mono ci plan`
/// stored one.
pub(crate) fn stored_plan(remote: &RemoteStore, key: &CacheKey) -> Option<CiPlan> {
    let bytes = get_document(remote, key)?;
    let plan: CiPlan = serde_json::from_slice(&bytes).ok()?;
    (plan.version == CI_PLAN_FORMAT_VERSION && plan.plan_key == key.to_string()).then_some(plan)
}

/// Whether `plan` places every task of `prepared`, each on one of its `shards` shards: a
/// stored plan that does not (damaged, or written by another version) is not used.
pub(crate) fn covers(plan: &CiPlan, prepared: &Prepared, shards: usize) -> bool {
    let placed = plan.shard_of();
    plan.shards == shards
        && prepared.graph.tasks().all(|task| {
            placed
                .get(&task.id.to_string())
                .is_some_and(|(shard, _)| (1..=shards).contains(shard))
        })
}

/// Where the split of a run is stored: the remote cache, or a fake in the tests (which
/// interleave two shards' steps).
pub(crate) trait PlanBoard {
    /// The stored plan, if any.
    fn read(&self) -> Option<CiPlan>;
    /// Whether [`PlanBoard::create`] really refuses to replace (probed: some stores ignore
    /// the condition).
    fn has_conditional_writes(&self) -> bool;
    /// Stores `plan` if nothing is stored yet: `Ok(false)` when something was.
    fn create(&self, plan: &CiPlan) -> Result<bool, String>;
    /// Stores `plan`, replacing what is there.
    fn replace(&self, plan: &CiPlan) -> Result<(), String>;
    /// Waits `time` (the settling time of the protocol without conditional writes).
    fn settle(&self, time: Duration);
}

/// How the split of a run was agreed on, for a note.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Agreed {
    /// This machine's split was stored by a conditional write: it is the one.
    Created,
    /// Another machine stored one first: that one is used.
    Theirs,
    /// Stored without a condition (the remote has none), then read back after settling.
    Settled,
}

/// How long a machine waits after storing the split on a remote without conditional
/// writes before it reads back which split won: longer than any other machine's read,
/// compute-free put (see [`agree_on_plan`]).
pub(crate) const SETTLE: Duration = Duration::from_secs(2);

/// Stores `computed` unless another machine stored a split first, and returns the one
/// every machine uses (docs/ci.md, "Determinism"):
///
/// 1. With conditional writes (S3 `If-None-Match: *`, mono-cache-server): create it; if
///    that is refused, read and use the stored one. Exactly one split is ever stored.
/// 2. Without (Garage 2.5, other Turborepo servers): read once more just before writing
///    (a split stored meanwhile is used), write, wait [`SETTLE`] (or twice the time that
///    read and write took, if longer), read back, and use what is stored then. Two machines
///    that write both read back the later write, provided each read-then-write takes less
///    than the other's settling time: the later writer's read comes after the earlier's
///    write only if the earlier's settling ends after the later's write.
pub(crate) fn agree_on_plan(
    board: &dyn PlanBoard,
    computed: CiPlan,
) -> Result<(CiPlan, Agreed), String> {
    if board.has_conditional_writes() {
        return match board.create(&computed)? {
            true => Ok((computed, Agreed::Created)),
            false => Ok((board.read().unwrap_or(computed), Agreed::Theirs)),
        };
    }
    let began = Instant::now();
    if let Some(stored) = board.read() {
        return Ok((stored, Agreed::Theirs));
    }
    board.replace(&computed)?;
    board.settle(SETTLE.max(began.elapsed() * 2));
    match board.read() {
        Some(stored) if stored != computed => Ok((stored, Agreed::Theirs)),
        _ => Ok((computed, Agreed::Settled)),
    }
}

/// The remote cache as a [`PlanBoard`] for one plan key.
pub(crate) struct RemoteBoard<'a> {
    pub(crate) remote: &'a RemoteStore,
    pub(crate) root: &'a AbsPath,
    pub(crate) key: CacheKey,
}

/// The key of the object that [`RemoteBoard::has_conditional_writes`] writes twice.
fn probe_key() -> CacheKey {
    CacheKey::from(blake3::hash(b"mono conditional write probe v1"))
}

impl PlanBoard for RemoteBoard<'_> {
    fn read(&self) -> Option<CiPlan> {
        stored_plan(self.remote, &self.key)
    }

    /// Writes a probe object, then writes it again conditionally: a store that honours the
    /// condition refuses the second write.
    fn has_conditional_writes(&self) -> bool {
        let probe = |create: bool| {
            write_document(
                self.remote,
                self.root,
                probe_key(),
                "mono conditional write probe",
                b"{}",
                create,
            )
        };
        probe(false).is_ok() && probe(true) == Ok(false)
    }

    fn create(&self, plan: &CiPlan) -> Result<bool, String> {
        write_document(
            self.remote,
            self.root,
            self.key,
            "mono ci plan",
            plan.to_json().as_bytes(),
            true,
        )
    }

    fn replace(&self, plan: &CiPlan) -> Result<(), String> {
        write_document(
            self.remote,
            self.root,
            self.key,
            "mono ci plan",
            plan.to_json().as_bytes(),
            false,
        )
        .map(|_| ())
    }

    fn settle(&self, time: Duration) {
        std::thread::sleep(time);
    }
}

/// What a shard says of itself in the remote cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ShardStatus {
    pub(crate) version: u32,
    pub(crate) shard: String,
    /// `running`, `failed`, `interrupted` or `done`.
    pub(crate) state: String,
    /// The tasks that failed (for `failed`).
    pub(crate) failed: Vec<String>,
    /// When it was written (unix ms, the writer's clock; for people: no rule compares
    /// clocks of two machines).
    pub(crate) at: u64,
    /// Which attempt of the shard wrote it: 1 for the first, one more for each retry (a
    /// retry reads the stored status as it starts). 0 in statuses of older versions.
    #[serde(default)]
    pub(crate) attempt: u64,
}

/// The key of shard `index`'s status in the plan `plan_key`.
fn status_key(plan_key: &str, index: usize) -> CacheKey {
    CacheKey::from(blake3::hash(
        format!("mono shard status v1\n{plan_key}\n{index}").as_bytes(),
    ))
}

/// Stores this shard's status; a failure to store is returned for a warning.
pub(crate) fn publish_status(
    remote: &RemoteStore,
    root: &AbsPath,
    plan_key: &str,
    shard: ShardSpec,
    attempt: u64,
    state: &str,
    failed: &[TaskId],
) -> Result<(), String> {
    let status = ShardStatus {
        version: 1,
        shard: shard.to_string(),
        state: state.to_owned(),
        failed: failed.iter().map(ToString::to_string).collect(),
        at: unix_ms(SystemTime::now()),
        attempt,
    };
    let body = serde_json::to_vec(&status).expect("a status serializes");
    put_document(
        remote,
        root,
        status_key(plan_key, shard.index()),
        &format!("mono shard {shard}"),
        &body,
    )
}

/// A shard's status as stored, if any.
pub(crate) fn read_status(
    remote: &RemoteStore,
    plan_key: &str,
    index: usize,
) -> Option<ShardStatus> {
    let bytes = get_document(remote, &status_key(plan_key, index))?;
    serde_json::from_slice(&bytes).ok()
}

/// A task this shard takes from another: which shard builds it.
#[derive(Debug, Clone)]
pub(crate) struct Elsewhere {
    pub(crate) shard: ShardSpec,
    /// When the model expects it to end, from the shards' start: polls close in on it.
    pub(crate) expected_end: Duration,
}

/// What one shard runs: its own tasks, the tasks of other shards it waits for, and the
/// order the model starts them in.
#[derive(Debug, Clone)]
pub(crate) struct ShardJobs {
    pub(crate) options: ShardOptions,
    pub(crate) plan_key: String,
    /// This shard's tasks.
    pub(crate) own: BTreeSet<TaskId>,
    /// Tasks of other shards that this shard's tasks need (transitively).
    pub(crate) elsewhere: BTreeMap<TaskId, Elsewhere>,
    /// The model's start of each task, for the order jobs are handed to the scheduler.
    pub(crate) start: HashMap<TaskId, u64>,
}

impl ShardJobs {
    /// Shard `options.shard` of `plan`.
    pub(crate) fn new(plan: &CiPlan, prepared: &Prepared, options: ShardOptions) -> ShardJobs {
        let placed = plan.shard_of();
        let ends: HashMap<&str, u64> = plan
            .tasks
            .iter()
            .map(|t| (t.task_id.as_str(), t.start_ms + t.cost_ms))
            .collect();
        let mut own = BTreeSet::new();
        let mut start = HashMap::new();
        let mut shard_of = HashMap::new();
        for task in prepared.graph.tasks() {
            let (shard, at) = placed
                .get(&task.id.to_string())
                .copied()
                .expect("the plan covers every task of its key");
            start.insert(task.id.clone(), at);
            shard_of.insert(task.id.clone(), shard);
            if shard == options.shard.index() {
                own.insert(task.id.clone());
            }
        }
        let mut elsewhere = BTreeMap::new();
        let mut stack: Vec<TaskId> = own.iter().cloned().collect();
        let mut seen: BTreeSet<TaskId> = own.clone();
        while let Some(id) = stack.pop() {
            for dependency in prepared.graph.dependencies(&id) {
                if seen.insert(dependency.clone()) {
                    let shard = ShardSpec::new(shard_of[dependency], options.shard.total())
                        .expect("shards of the plan are in range");
                    let end = ends.get(dependency.to_string().as_str()).copied();
                    elsewhere.insert(
                        dependency.clone(),
                        Elsewhere {
                            shard,
                            expected_end: Duration::from_millis(end.unwrap_or(0)),
                        },
                    );
                    stack.push(dependency.clone());
                }
            }
        }
        ShardJobs {
            options,
            plan_key: plan.plan_key.clone(),
            own,
            elsewhere,
            start,
        }
    }
}

/// What the cache hooks need to wait for other shards.
pub(crate) struct Waits {
    pub(crate) tasks: HashMap<TaskId, Elsewhere>,
    pub(crate) plan_key: String,
    pub(crate) wait: Duration,
    /// What this shard has read of each other shard's status: read at most every few
    /// seconds, judged by [`StatusWatch::verdict`].
    statuses: Mutex<HashMap<usize, StatusWatch>>,
    /// When this shard started its tasks: the model's time 0.
    began: Instant,
}

/// What a waiting shard has seen of another shard's status, to tell a failure of the
/// attempt that builds what it waits for from an earlier attempt's, which a retry is
/// replacing (docs/ci.md, "When a shard fails, dies or is retried"). Only what this
/// machine read counts, never the other machine's clock.
#[derive(Debug, Clone, Default)]
pub(crate) struct StatusWatch {
    /// The last read, and when.
    last: Option<(Instant, Option<ShardStatus>)>,
    /// The first read: its attempt (0 for none) and whether that attempt had ended (failed
    /// or interrupted) already.
    baseline: Option<(u64, bool)>,
    /// When the first read was.
    since: Option<Instant>,
    /// The highest attempt seen: a status of a lower one is an old attempt's late write.
    highest: u64,
}

/// What a waiter makes of the status of the shard it waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Running, done, not there yet, or an ended attempt that a retry may still replace:
    /// keep waiting.
    Wait,
    /// The attempt that builds what this shard waits for ended: stop.
    Ended {
        /// The status.
        status: ShardStatus,
        /// It was stored before this shard first looked, and no retry replaced it within
        /// the grace.
        stale: bool,
    },
}

impl StatusWatch {
    /// Takes in a read `status` (`None`: none stored) after `waited` since the first read
    /// and judges it, with `grace` the time an ended status found at the first read is
    /// given for a retry to replace it:
    ///
    /// 1. A status of a lower attempt than one seen before is ignored (an old attempt that
    ///    wrote after its retry started).
    /// 2. A failed or interrupted status counts at once when its attempt is newer than the
    ///    one of the first read, or is the first read's attempt and that one had not
    ///    ended then (this waiter saw it run, or saw nothing).
    /// 3. Otherwise it was already there when this waiter first looked: it may be an
    ///    earlier attempt's whose retry has yet to start. It counts once `grace` has passed
    ///    with no newer attempt.
    pub(crate) fn verdict(
        &mut self,
        status: Option<&ShardStatus>,
        waited: Duration,
        grace: Duration,
    ) -> Verdict {
        let ended = |s: &ShardStatus| s.state == "failed" || s.state == "interrupted";
        let attempt = status.map_or(0, |s| s.attempt);
        let (first_attempt, first_ended) = *self
            .baseline
            .get_or_insert((attempt, status.is_some_and(ended)));
        let Some(status) = status else {
            return Verdict::Wait;
        };
        if attempt < self.highest {
            return Verdict::Wait;
        }
        self.highest = attempt;
        if !ended(status) {
            return Verdict::Wait;
        }
        let current = attempt > first_attempt || !first_ended;
        match (current, waited >= grace) {
            (true, _) => Verdict::Ended {
                status: status.clone(),
                stale: false,
            },
            (false, true) => Verdict::Ended {
                status: status.clone(),
                stale: true,
            },
            (false, false) => Verdict::Wait,
        }
    }
}

/// How often a waiting task asks again: every [`FAST_POLL`] from when the model expects
/// the task to end to [`FAST_WINDOW`] after; before, half the time left (so the polls close
/// in on the expected end); after, a tenth of the lateness; never less than
/// [`FAST_POLL`] nor more than [`LAST_POLL`]. The transfer the model counts
/// ([`TRANSFER_MS`]) holds half a [`FAST_POLL`].
const FAST_POLL: Duration = Duration::from_millis(100);
const FAST_WINDOW: Duration = Duration::from_secs(10);
const LAST_POLL: Duration = Duration::from_secs(2);

/// The wait before the next poll for a task the model expects to end at `expected_end`,
/// `now` into this shard's run (both from the start of the shards, as the plan counts).
pub(crate) fn next_poll(now: Duration, expected_end: Duration) -> Duration {
    match expected_end.checked_sub(now) {
        Some(left) if left > FAST_POLL => (left / 2).clamp(FAST_POLL, LAST_POLL),
        _ => match now.saturating_sub(expected_end) {
            late if late < FAST_WINDOW => FAST_POLL,
            late => (late / 10).clamp(FAST_POLL, LAST_POLL),
        },
    }
}
/// How long a shard's status read stays fresh.
const STATUS_FRESH: Duration = Duration::from_secs(2);
/// How long a failure that a shard stored before this one started is taken for an earlier
/// attempt's, which that shard's retry replaces as it starts (docs/ci.md).
const STALE_FAILURE_GRACE: Duration = Duration::from_secs(60);

fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl Waits {
    pub(crate) fn new(jobs: &ShardJobs) -> Waits {
        Waits {
            tasks: jobs
                .elsewhere
                .iter()
                .map(|(id, e)| (id.clone(), e.clone()))
                .collect(),
            plan_key: jobs.plan_key.clone(),
            wait: jobs.options.wait,
            statuses: Mutex::new(HashMap::new()),
            began: Instant::now(),
        }
    }

    /// Reads the status of every shard this one waits for, as it starts: what is stored
    /// then is the baseline that later reads are judged against ([`StatusWatch`]).
    pub(crate) fn look(&self, remote: &RemoteStore) {
        let shards: BTreeSet<usize> = self.tasks.values().map(|e| e.shard.index()).collect();
        for index in shards {
            self.status(remote, index);
        }
    }

    /// The verdict on shard `index`'s status, read again when the last read is older
    /// than [`STATUS_FRESH`].
    fn status(&self, remote: &RemoteStore, index: usize) -> Verdict {
        let mut statuses = self.statuses.lock().unwrap_or_else(|p| p.into_inner());
        let watch = statuses.entry(index).or_default();
        let status = match &watch.last {
            Some((at, status)) if at.elapsed() < STATUS_FRESH => status.clone(),
            _ => {
                let status = read_status(remote, &self.plan_key, index);
                watch.last = Some((Instant::now(), status.clone()));
                status
            }
        };
        let since = *watch.since.get_or_insert_with(Instant::now);
        watch.verdict(
            status.as_ref(),
            since.elapsed(),
            STALE_FAILURE_GRACE.min(self.wait),
        )
    }

    /// Polls until `found` says the artifact is there (`Some`), the task's shard says it
    /// failed, or the wait is over: then the reason the task cannot be had.
    pub(crate) fn wait_for<T>(
        &self,
        id: &TaskId,
        remote: &RemoteStore,
        mut found: impl FnMut() -> Option<T>,
    ) -> Result<T, String> {
        let Some(elsewhere) = self.tasks.get(id) else {
            return found().ok_or_else(|| format!("{id}: not in the remote cache"));
        };
        let shard = elsewhere.shard;
        let started = Instant::now();
        loop {
            if let Some(value) = found() {
                return Ok(value);
            }
            if let Verdict::Ended { status, stale } = self.status(remote, shard.index()) {
                let what = match (status.state.as_str(), status.failed.as_slice()) {
                    ("interrupted", _) => "was interrupted".to_owned(),
                    (_, []) => "failed".to_owned(),
                    (_, failed) => format!("failed: {} failed", failed.join(", ")),
                };
                let when = match stale {
                    true => format!(
                        " (stored before this shard looked, and no retry of shard {shard} started within {})",
                        humanize(STALE_FAILURE_GRACE.min(self.wait))
                    ),
                    false => String::new(),
                };
                return Err(format!(
                    "{id} is built by shard {shard}, which {what}{when}; fix it and run shard {shard} again, then this one"
                ));
            }
            if started.elapsed() >= self.wait {
                return Err(format!(
                    "gave up waiting for {id}, built by shard {shard}, after {}: its result is not in the remote cache {}; check that shard {shard} runs (or run it again), or give more time with --shard-wait",
                    humanize(self.wait),
                    remote.url()
                ));
            }
            let poll = next_poll(self.began.elapsed(), elsewhere.expected_end);
            std::thread::sleep(poll.min(self.wait.saturating_sub(started.elapsed())));
        }
    }
}

/// `90s`, `30m`, `1h30m`.
pub(crate) fn humanize(duration: Duration) -> String {
    let secs = duration.as_secs();
    match (secs / 3600, secs % 3600 / 60, secs % 60) {
        (0, 0, _) if duration.subsec_millis() > 0 => format!("{:.1}s", duration.as_secs_f64()),
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}

/// What a shard did, for the lines it prints at the end.
#[derive(Debug, Clone, Default)]
pub struct ShardReport {
    /// `i/N`.
    pub shard: String,
    /// Its own tasks that ran here.
    pub ran: Vec<TaskId>,
    /// Its own tasks that were cache hits.
    pub cached: Vec<TaskId>,
    /// Tasks of other shards taken from the remote cache, with their shard.
    pub taken: Vec<(TaskId, String)>,
}

impl ShardReport {
    /// `shard 2/4: ran 3 tasks: …` and `took 2 from other shards: …`.
    pub fn text(&self) -> String {
        let list = |ids: &[TaskId]| {
            ids.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut out = format!(
            "shard {}: ran {} task{}",
            self.shard,
            self.ran.len(),
            if self.ran.len() == 1 { "" } else { "s" }
        );
        if !self.ran.is_empty() {
            out.push_str(&format!(": {}", list(&self.ran)));
        }
        if !self.cached.is_empty() {
            out.push_str(&format!(
                "\nshard {}: {} of its tasks were cache hits: {}",
                self.shard,
                self.cached.len(),
                list(&self.cached)
            ));
        }
        out.push_str(&format!(
            "\nshard {}: took {} from other shards",
            self.shard,
            self.taken.len()
        ));
        if !self.taken.is_empty() {
            let taken: Vec<String> = self
                .taken
                .iter()
                .map(|(id, shard)| format!("{id} (shard {shard})"))
                .collect();
            out.push_str(&format!(": {}", taken.join(", ")));
        }
        out
    }
}

impl crate::cache_policy::CacheHooks {
    /// Whether `id` is a task of another shard that this one waits for.
    pub(crate) fn waits_elsewhere(&self, id: &TaskId) -> bool {
        self.waits
            .as_ref()
            .is_some_and(|waits| waits.tasks.contains_key(id))
    }

    /// A task of another shard: polls the remote cache until its result is there and
    /// restores it, or fails the job when its shard failed or the wait is over.
    pub(crate) fn wait_elsewhere(&self, job: &mono_run::Job) -> mono_run::Before {
        let (Some(waits), Some(remote)) = (&self.waits, &self.remote) else {
            return mono_run::Before::Failed {
                reason: format!("{}: no remote cache to take it from", job.id),
            };
        };
        let found = || match self.lookup(job) {
            hit @ mono_run::Before::Cached { .. } => Some(hit),
            _ => None,
        };
        match waits.wait_for(&job.id, remote, found) {
            Ok(hit) => hit,
            Err(reason) => mono_run::Before::Failed { reason },
        }
    }
}

/// The jobs of one shard: its own tasks and those it takes from other shards, in the
/// order the model starts them (a dependency order still: a task starts after its
/// dependencies end), so that the scheduler's tie-breaks follow the plan.
pub(crate) fn shard_order<'a>(
    order: Vec<&'a mono_tasks::TaskNode>,
    shard: &ShardJobs,
) -> Vec<&'a mono_tasks::TaskNode> {
    let mut kept: Vec<(usize, &mono_tasks::TaskNode)> = order
        .into_iter()
        .enumerate()
        .filter(|(_, t)| shard.own.contains(&t.id) || shard.elsewhere.contains_key(&t.id))
        .collect();
    kept.sort_by_key(|(position, t)| (shard.start.get(&t.id).copied().unwrap_or(0), *position));
    kept.into_iter().map(|(_, t)| t).collect()
}

/// Says in the remote cache that this shard runs, as attempt one more than the stored
/// status's: a retried shard replaces the failure its earlier attempt stored, so that the
/// shards waiting for it wait again. Returns the attempt.
pub(crate) fn started(
    reporter: &dyn crate::Reporter,
    remote: &RemoteStore,
    root: &AbsPath,
    shard: &ShardJobs,
) -> u64 {
    let spec = shard.options.shard;
    let attempt = read_status(remote, &shard.plan_key, spec.index()).map_or(0, |s| s.attempt) + 1;
    if let Err(err) = publish_status(remote, root, &shard.plan_key, spec, attempt, "running", &[]) {
        reporter.warn(&format!(
            "shard {spec}: cannot store its status in the remote cache: {err}"
        ));
    }
    attempt
}

/// Stores how this shard ended (the shards waiting for its tasks read it) and says what
/// it ran and what it took from the other shards.
pub(crate) fn finished(
    reporter: &dyn crate::Reporter,
    remote: &RemoteStore,
    root: &AbsPath,
    shard: &ShardJobs,
    attempt: u64,
    order: &[&mono_tasks::TaskNode],
    summary: &mono_run::RunSummary,
) -> ShardReport {
    use mono_run::JobResult;
    let mut report = ShardReport {
        shard: shard.options.shard.to_string(),
        ..ShardReport::default()
    };
    let mut failed = Vec::new();
    for (task, result) in order.iter().zip(&summary.results) {
        let id = &task.id;
        match (shard.elsewhere.get(id), result) {
            (Some(elsewhere), JobResult::Cached { .. }) => {
                report.taken.push((id.clone(), elsewhere.shard.to_string()));
            }
            (Some(_), JobResult::Failed { .. }) => failed.push(id.clone()),
            (None, JobResult::Succeeded { .. }) => report.ran.push(id.clone()),
            (None, JobResult::Cached { .. }) => report.cached.push(id.clone()),
            (None, JobResult::Failed { .. }) => failed.push(id.clone()),
            _ => {}
        }
    }
    let state = match (summary.interrupted, failed.is_empty()) {
        (true, _) => "interrupted",
        (false, false) => "failed",
        (false, true) => "done",
    };
    // A newer attempt of this shard started meanwhile (this one was taken for dead and
    // retried): its status stands.
    let newer = read_status(remote, &shard.plan_key, shard.options.shard.index())
        .is_some_and(|s| s.attempt > attempt);
    if newer {
        reporter.warn(&format!(
            "shard {}: a newer attempt of this shard runs; its status is left as it is",
            shard.options.shard
        ));
    } else if let Err(err) = publish_status(
        remote,
        root,
        &shard.plan_key,
        shard.options.shard,
        attempt,
        state,
        &failed,
    ) {
        reporter.warn(&format!(
            "shard {}: cannot store its status ({state}) in the remote cache: {err}",
            shard.options.shard
        ));
    }
    report
}

/// The recorded times of the stores: the recent entries of each task id (the durations
/// index, docs/cache.md) in the remote cache when there is one (every machine reads the
/// same), else in the local cache.
pub(crate) struct StoreDurations {
    recent: HashMap<TaskId, Vec<(CacheKey, u64)>>,
}

/// Index reads at once: each is one small request to the remote.
const INDEX_READERS: usize = 16;

impl StoreDurations {
    /// Reads the index of every task of `ids`, [`INDEX_READERS`] at a time. An index that
    /// cannot be read counts as empty: the task gets an estimate.
    pub(crate) fn load(
        local: &mono_cache::LocalStore,
        remote: Option<&RemoteStore>,
        ids: Vec<TaskId>,
    ) -> StoreDurations {
        let read = |id: &TaskId| -> Vec<(CacheKey, u64)> {
            let task_id = id.to_string();
            let entries = match remote {
                Some(remote) => remote.recent(&task_id),
                None => local.recent(&task_id),
            };
            entries
                .unwrap_or_default()
                .into_iter()
                .map(|entry| (entry.key, entry.duration_ms))
                .collect()
        };
        let next = std::sync::atomic::AtomicUsize::new(0);
        let found = Mutex::new(HashMap::new());
        std::thread::scope(|scope| {
            for _ in 0..INDEX_READERS.min(ids.len()) {
                scope.spawn(|| loop {
                    let at = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(id) = ids.get(at) else { break };
                    let entries = read(id);
                    found
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(id.clone(), entries);
                });
            }
        });
        StoreDurations {
            recent: found.into_inner().unwrap_or_else(|p| p.into_inner()),
        }
    }
}

impl Durations for StoreDurations {
    fn recent(&self, task_id: &TaskId) -> Vec<(CacheKey, u64)> {
        self.recent.get(task_id).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_specs_parse_and_reject() {
        assert_eq!(
            "2/4".parse::<ShardSpec>().unwrap(),
            ShardSpec::new(2, 4).unwrap()
        );
        assert_eq!(" 1 / 1 ".parse::<ShardSpec>().unwrap().to_string(), "1/1");
        for bad in ["0/4", "5/4", "4", "a/4", "1/0", ""] {
            let err = bad.parse::<ShardSpec>().unwrap_err();
            assert!(err.to_string().contains("i/N"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_median_takes_the_lower_middle() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[5]), Some(5));
        assert_eq!(median(&[9, 1, 5]), Some(5));
        assert_eq!(median(&[4, 1, 3, 2]), Some(2));
    }

    /// A plan that differs from another by `makespan`.
    fn plan(makespan: u64) -> CiPlan {
        CiPlan {
            version: CI_PLAN_FORMAT_VERSION,
            shards: 2,
            concurrency: 1,
            transfer_ms: TRANSFER_MS,
            plan_key: "k".to_owned(),
            strategy: "listScheduling".to_owned(),
            total_ms: 0,
            longest_chain_ms: 0,
            lower_bound_ms: 0,
            lower_bound_with_transfers_ms: 0,
            makespan_ms: makespan,
            matrix: GithubMatrix { include: vec![] },
            gitlab: GitlabParallel {
                parallel: GitlabMatrix { matrix: vec![] },
            },
            split: vec![],
            tasks: vec![],
        }
    }

    /// A remote in memory; `meanwhile` runs once at the first settle (another machine's
    /// write landing while this one waits); `conditional` says whether `create` is honoured.
    struct FakeBoard {
        stored: std::cell::RefCell<Option<CiPlan>>,
        conditional: bool,
        meanwhile: std::cell::RefCell<Option<CiPlan>>,
        writes: std::cell::Cell<usize>,
    }

    impl FakeBoard {
        fn new(stored: Option<CiPlan>, conditional: bool) -> FakeBoard {
            FakeBoard {
                stored: std::cell::RefCell::new(stored),
                conditional,
                meanwhile: std::cell::RefCell::new(None),
                writes: std::cell::Cell::new(0),
            }
        }
    }

    impl PlanBoard for FakeBoard {
        fn read(&self) -> Option<CiPlan> {
            self.stored.borrow().clone()
        }
        fn has_conditional_writes(&self) -> bool {
            self.conditional
        }
        fn create(&self, plan: &CiPlan) -> Result<bool, String> {
            let mut stored = self.stored.borrow_mut();
            if self.conditional && stored.is_some() {
                return Ok(false);
            }
            self.writes.set(self.writes.get() + 1);
            *stored = Some(plan.clone());
            Ok(true)
        }
        fn replace(&self, plan: &CiPlan) -> Result<(), String> {
            self.writes.set(self.writes.get() + 1);
            *self.stored.borrow_mut() = Some(plan.clone());
            Ok(())
        }
        fn settle(&self, time: Duration) {
            assert!(time >= SETTLE);
            if let Some(theirs) = self.meanwhile.borrow_mut().take() {
                *self.stored.borrow_mut() = Some(theirs);
            }
        }
    }

    #[test]
    fn with_conditional_writes_the_first_stored_split_wins() {
        // This machine found nothing, computed 2; another stored 1 before it wrote.
        let board = FakeBoard::new(Some(plan(1)), true);
        let (agreed, how) = agree_on_plan(&board, plan(2)).unwrap();
        assert_eq!((agreed, how), (plan(1), Agreed::Theirs));
        assert_eq!(board.writes.get(), 0);
        assert_eq!(board.read(), Some(plan(1)));
        // The first machine's own write.
        let board = FakeBoard::new(None, true);
        assert_eq!(
            agree_on_plan(&board, plan(2)).unwrap(),
            (plan(2), Agreed::Created)
        );
    }

    #[test]
    fn without_conditional_writes_a_split_stored_meanwhile_is_used() {
        // Stored between this machine's first read and its write: the read just before
        // writing finds it, and nothing is written.
        let board = FakeBoard::new(Some(plan(1)), false);
        assert_eq!(
            agree_on_plan(&board, plan(2)).unwrap(),
            (plan(1), Agreed::Theirs)
        );
        assert_eq!(board.writes.get(), 0);
    }

    #[test]
    fn without_conditional_writes_both_writers_read_back_the_last_write() {
        // Machines A and B both read nothing and write; B's write lands while A settles.
        let board = FakeBoard::new(None, false);
        *board.meanwhile.borrow_mut() = Some(plan(2));
        let (a, how) = agree_on_plan(&board, plan(1)).unwrap();
        assert_eq!((a.clone(), how), (plan(2), Agreed::Theirs));
        // B, which wrote last, reads back its own.
        let (b, how) = agree_on_plan(&FakeBoard::new(None, false), plan(2)).unwrap();
        assert_eq!((b.clone(), how), (plan(2), Agreed::Settled));
        assert_eq!(a, b);
    }

    fn status(state: &str, attempt: u64) -> ShardStatus {
        ShardStatus {
            version: 1,
            shard: "2/4".to_owned(),
            state: state.to_owned(),
            failed: vec!["x#build".to_owned()],
            at: 0,
            attempt,
        }
    }

    const GRACE: Duration = Duration::from_secs(60);
    const NOW: Duration = Duration::ZERO;
    const LATER: Duration = Duration::from_secs(61);

    fn ended(verdict: &Verdict) -> Option<bool> {
        match verdict {
            Verdict::Wait => None,
            Verdict::Ended { stale, .. } => Some(*stale),
        }
    }

    #[test]
    fn a_failure_of_the_attempt_seen_running_stops_the_waiter_at_once() {
        let mut watch = StatusWatch::default();
        assert_eq!(
            watch.verdict(Some(&status("running", 1)), NOW, GRACE),
            Verdict::Wait
        );
        let verdict = watch.verdict(Some(&status("failed", 1)), NOW, GRACE);
        assert_eq!(ended(&verdict), Some(false));
        // Nothing stored at first, then a failure: it happened while this one waited.
        let mut watch = StatusWatch::default();
        assert_eq!(watch.verdict(None, NOW, GRACE), Verdict::Wait);
        assert_eq!(
            ended(&watch.verdict(Some(&status("interrupted", 1)), NOW, GRACE)),
            Some(false)
        );
    }

    #[test]
    fn a_failure_found_at_the_start_waits_for_a_retry_to_replace_it() {
        // Shard 2's first attempt failed before this shard started; its retry starts
        // 10 s later and runs: the old failure never stops this waiter.
        let mut watch = StatusWatch::default();
        assert_eq!(
            watch.verdict(Some(&status("failed", 1)), NOW, GRACE),
            Verdict::Wait
        );
        let ten = Duration::from_secs(10);
        assert_eq!(
            watch.verdict(Some(&status("failed", 1)), ten, GRACE),
            Verdict::Wait
        );
        assert_eq!(
            watch.verdict(Some(&status("running", 2)), ten, GRACE),
            Verdict::Wait
        );
        assert_eq!(
            watch.verdict(Some(&status("done", 2)), LATER, GRACE),
            Verdict::Wait
        );
        // The old attempt, still alive somewhere, writes late: ignored.
        assert_eq!(
            watch.verdict(Some(&status("failed", 1)), LATER, GRACE),
            Verdict::Wait
        );
        // The retry's own failure counts at once.
        let mut watch = StatusWatch::default();
        watch.verdict(Some(&status("failed", 1)), NOW, GRACE);
        watch.verdict(Some(&status("running", 2)), NOW, GRACE);
        assert_eq!(
            ended(&watch.verdict(Some(&status("failed", 2)), NOW, GRACE)),
            Some(false)
        );
    }

    #[test]
    fn a_failure_nobody_retries_counts_after_the_grace() {
        let mut watch = StatusWatch::default();
        assert_eq!(
            watch.verdict(Some(&status("failed", 3)), NOW, GRACE),
            Verdict::Wait
        );
        assert_eq!(
            ended(&watch.verdict(Some(&status("failed", 3)), LATER, GRACE)),
            Some(true)
        );
    }

    #[test]
    fn polls_close_in_on_the_expected_end_and_slow_down_when_late() {
        let ms = Duration::from_millis;
        // Long before: at most LAST_POLL; closer: half the time left.
        assert_eq!(next_poll(ms(0), ms(60_000)), LAST_POLL);
        assert_eq!(next_poll(ms(1_000), ms(2_000)), ms(500));
        assert_eq!(next_poll(ms(1_900), ms(2_000)), FAST_POLL);
        // Due, and for a while after: every FAST_POLL.
        assert_eq!(next_poll(ms(2_000), ms(2_000)), FAST_POLL);
        assert_eq!(next_poll(ms(9_000), ms(2_000)), FAST_POLL);
        // Late beyond the window: a tenth of the lateness, up to LAST_POLL.
        assert_eq!(next_poll(ms(17_000), ms(2_000)), ms(1_500));
        assert_eq!(next_poll(ms(600_000), ms(2_000)), LAST_POLL);
    }

    #[test]
    fn waits_read_as_people_write_them() {
        assert_eq!(humanize(Duration::from_secs(1800)), "30m");
        assert_eq!(humanize(Duration::from_secs(90)), "1m30s");
        assert_eq!(humanize(Duration::from_secs(5)), "5s");
        assert_eq!(humanize(Duration::from_secs(3600)), "1h");
        assert_eq!(humanize(Duration::from_millis(1500)), "1.5s");
    }
}
