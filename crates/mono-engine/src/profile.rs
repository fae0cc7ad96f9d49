//! `--profile=FILE`: a Chrome trace (the Trace Event Format that Perfetto and
//! chrome://tracing load) of one run, docs/profile.md.
//!
//! One [`Profile`] is made by the caller when the flag is given and handed to
//! [`Workspace::load_profiled`](crate::Workspace::load_profiled); the engine's steps record
//! their spans into it (each measured with [`Instant`]s, so the trace's clock is monotonic)
//! and [`Profile::write`] lays them out. Without the flag there is no `Profile`, and each
//! step's cost is one `Option` check. The crates below the engine do not know the
//! recorder: where they have steps worth showing (hashing), they open `tracing` spans,
//! which this module collects on the calling thread only while it hashes
//! ([`Profile::collecting`]); with no collector installed such a span costs one atomic
//! load.
//!
//! Lanes: the tasks' spans (from the slot a job takes to its result) are laid out on the
//! fewest lanes that keep any lane from overlapping itself. A job holds one of the
//! `concurrency` slots for that whole time, so there are never more lanes than slots.
//! Waits (ready → started) and remote uploads get lanes of their own the same way.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use mono_task_id::TaskId;
use serde_json::{json, Map, Value};

/// The version of the trace's `otherData.format`; bump it when an event's name or arguments
/// change in a way a reader of docs/profile.md could notice.
pub const PROFILE_FORMAT_VERSION: &str = "1";

/// Where a span is drawn.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Track {
    /// The thread that runs the command: discovery, config, hashing, planning.
    Main,
    /// The thread that lists the repository's files with git meanwhile.
    Scm,
    /// The lane of this task's slot (the lane is chosen when the trace is written).
    Task(TaskId),
    /// Tasks waiting for a slot: ready → started.
    Waiting,
    /// Background uploads to the remote cache.
    Uploads,
}

struct Span {
    name: String,
    cat: &'static str,
    track: Track,
    start: Instant,
    end: Instant,
    args: Vec<(&'static str, Value)>,
}

/// The recorder of one run's spans. Cheap to share (`Arc`); every method may be called from
/// any thread.
pub struct Profile {
    origin: Instant,
    spans: Mutex<Vec<Span>>,
    /// When each task took its slot, until its span is recorded.
    slots: Mutex<HashMap<TaskId, Instant>>,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile").finish_non_exhaustive()
    }
}

impl Default for Profile {
    fn default() -> Self {
        Profile::new()
    }
}

impl Profile {
    /// A recorder whose time zero is now.
    pub fn new() -> Profile {
        Profile {
            origin: Instant::now(),
            spans: Mutex::new(Vec::new()),
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// Records a span that started at `start` and ends now.
    pub(crate) fn since(
        &self,
        name: impl Into<String>,
        cat: &'static str,
        track: Track,
        start: Instant,
        args: Vec<(&'static str, Value)>,
    ) {
        self.record(name, cat, track, start, Instant::now(), args);
    }

    /// Records a span.
    pub(crate) fn record(
        &self,
        name: impl Into<String>,
        cat: &'static str,
        track: Track,
        start: Instant,
        end: Instant,
        args: Vec<(&'static str, Value)>,
    ) {
        let span = Span {
            name: name.into(),
            cat,
            track,
            start,
            end: end.max(start),
            args,
        };
        self.spans
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(span);
    }

    /// A span of the main track from now until the returned guard is dropped; nothing
    /// without a recorder.
    pub(crate) fn step<'a>(
        profile: Option<&'a Profile>,
        name: &'static str,
        cat: &'static str,
    ) -> Step<'a> {
        Step {
            open: profile.map(|p| (p, Instant::now())),
            name,
            cat,
        }
    }

    /// Until the returned guard is dropped, the `tracing` spans opened on this thread are
    /// recorded on the main track (the lower crates' steps, such as each task's hash).
    pub(crate) fn collecting(
        profile: Option<&Arc<Profile>>,
    ) -> Option<tracing::subscriber::DefaultGuard> {
        profile.map(|profile| {
            tracing::subscriber::set_default(Collector {
                profile: Arc::clone(profile),
                open: Mutex::new(HashMap::new()),
                next: AtomicU64::new(1),
            })
        })
    }

    /// A task took a slot.
    pub(crate) fn task_started(&self, task: &TaskId) {
        self.slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(task.clone(), Instant::now());
    }

    /// A task has its result: its slot span ends.
    pub(crate) fn task_finished(&self, task: &TaskId, args: Vec<(&'static str, Value)>) {
        let start = self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(task);
        if let Some(start) = start {
            let name = task.to_string();
            self.since(name, "task", Track::Task(task.clone()), start, args);
        }
    }

    /// When the task took its slot, if it is running.
    pub(crate) fn slot_start(&self, task: &TaskId) -> Option<Instant> {
        self.slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(task)
            .copied()
    }

    /// The waits of a finished run: a job is ready when the last job it waits for ended
    /// (a job without a command ends as it becomes ready), or when the scheduler started
    /// (`scheduled`) if it waits for none; it waited until it took its slot. `jobs` are the
    /// scheduler's jobs in order, each with the indices of the jobs it waits for.
    pub(crate) fn record_waits(&self, scheduled: Instant, jobs: &[(TaskId, Vec<usize>)]) {
        let spans = self
            .spans
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let slots: HashMap<&TaskId, (Instant, Instant)> = spans
            .iter()
            .filter(|s| s.cat == "task")
            .filter_map(|s| match &s.track {
                Track::Task(id) => Some((id, (s.start, s.end))),
                _ => None,
            })
            .collect();
        let mut ended: Vec<Option<Instant>> = vec![None; jobs.len()];
        let mut waits = Vec::new();
        // Jobs are in dependency order: what a job waits for comes before it.
        for (index, (task, dependencies)) in jobs.iter().enumerate() {
            let mut ready = Some(scheduled);
            for &dependency in dependencies {
                ready = match (ready, ended.get(dependency).copied().flatten()) {
                    (Some(r), Some(e)) => Some(r.max(e)),
                    // It waits for a job that never ended: it never became ready.
                    _ => None,
                };
            }
            match slots.get(task) {
                Some(&(started, end)) => {
                    ended[index] = Some(end);
                    if let Some(ready) = ready {
                        waits.push((task.clone(), ready.min(started), started));
                    }
                }
                // No command, or never started: ends when it is ready.
                None => ended[index] = ready,
            }
        }
        drop(spans);
        let waited: HashMap<&TaskId, f64> = waits
            .iter()
            .map(|(task, ready, started)| (task, micros_between(*ready, *started) / 1_000.0))
            .collect();
        for span in self
            .spans
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter_mut()
            .filter(|s| s.cat == "task")
        {
            if let Some(ms) = match &span.track {
                Track::Task(id) => waited.get(id),
                _ => None,
            } {
                span.args.push(("waitedMs", Value::from(*ms)));
            }
        }
        for (task, ready, started) in waits {
            self.record(
                format!("wait {task}"),
                "wait",
                Track::Waiting,
                ready,
                started,
                vec![("task", Value::String(task.to_string()))],
            );
        }
    }

    /// The trace as Chrome's JSON object format: `traceEvents` (thread names, then complete
    /// `X` events in µs since the recorder was made) and `otherData`.
    pub fn to_json(&self) -> Value {
        let spans = self
            .spans
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut events: Vec<Value> = Vec::with_capacity(spans.len() + 16);
        let mut threads: Vec<(u64, String)> = vec![(1, "main".into())];
        if spans.iter().any(|s| s.track == Track::Scm) {
            threads.push((2, "git: list files".into()));
        }
        // Each task's slot span picks a lane; its inner spans follow it there.
        let slot_spans: Vec<&Span> = spans.iter().filter(|s| s.cat == "task").collect();
        let slot_lanes = lanes(&slot_spans);
        let mut lane_of: HashMap<&TaskId, usize> = HashMap::new();
        for (span, &lane) in slot_spans.iter().zip(&slot_lanes) {
            if let Track::Task(id) = &span.track {
                lane_of.insert(id, lane);
            }
        }
        let slot_count = slot_lanes.iter().max().map_or(0, |m| m + 1);
        for lane in 0..slot_count {
            threads.push((SLOT_TID + lane as u64, format!("slot {}", lane + 1)));
        }
        let mut placed: HashMap<*const Span, u64> = HashMap::new();
        for (kind, base, label) in [
            (Track::Waiting, WAIT_TID, "waiting"),
            (Track::Uploads, UPLOAD_TID, "upload"),
        ] {
            let of_kind: Vec<&Span> = spans.iter().filter(|s| s.track == kind).collect();
            let kind_lanes = lanes(&of_kind);
            for (span, lane) in of_kind.iter().zip(&kind_lanes) {
                placed.insert(*span as *const Span, base + *lane as u64);
            }
            let count = kind_lanes.iter().max().map_or(0, |m| m + 1);
            for lane in 0..count {
                threads.push((base + lane as u64, format!("{label} {}", lane + 1)));
            }
        }
        events.push(json!({
            "ph": "M", "pid": 1, "tid": 0, "name": "process_name",
            "args": { "name": "mono run" },
        }));
        for (tid, name) in &threads {
            events.push(json!({
                "ph": "M", "pid": 1, "tid": tid, "name": "thread_name",
                "args": { "name": name },
            }));
            events.push(json!({
                "ph": "M", "pid": 1, "tid": tid, "name": "thread_sort_index",
                "args": { "sort_index": tid },
            }));
        }
        for span in spans.iter() {
            let tid = match &span.track {
                Track::Main => 1,
                Track::Scm => 2,
                Track::Task(id) => lane_of.get(id).map_or(1, |&lane| SLOT_TID + lane as u64),
                Track::Waiting | Track::Uploads => placed[&(span as *const Span)],
            };
            let mut args = Map::new();
            if let Track::Task(id) = &span.track {
                args.insert("task".to_owned(), Value::String(id.to_string()));
            }
            for (key, value) in &span.args {
                args.insert((*key).to_owned(), value.clone());
            }
            events.push(json!({
                "name": span.name,
                "cat": span.cat,
                "ph": "X",
                "ts": self.micros(span.start),
                "dur": micros_between(span.start, span.end),
                "pid": 1,
                "tid": tid,
                "args": args,
            }));
        }
        events.extend(self.waiting_counter(&spans));
        json!({
            "traceEvents": events,
            "displayTimeUnit": "ms",
            "otherData": {
                "format": PROFILE_FORMAT_VERSION,
                "monoVersion": env!("CARGO_PKG_VERSION"),
            },
        })
    }

    /// Writes the trace to `path`.
    pub fn write(&self, path: &mono_paths::AbsPath) -> Result<(), crate::EngineError> {
        let text = serde_json::to_string(&self.to_json()).expect("a trace serializes");
        std::fs::write(path.as_path(), text)
            .map_err(|source| crate::EngineError::io("write", path, source))
    }

    /// The counter `tasks waiting for a slot`: how many tasks were ready and had no slot,
    /// at each moment that changed.
    fn waiting_counter(&self, spans: &[Span]) -> Vec<Value> {
        let mut changes: Vec<(Instant, i64)> = Vec::new();
        for span in spans.iter().filter(|s| s.track == Track::Waiting) {
            if span.end > span.start {
                changes.push((span.start, 1));
                changes.push((span.end, -1));
            }
        }
        changes.sort_by_key(|&(at, delta)| (at, delta));
        let mut counter = Vec::new();
        let mut waiting = 0i64;
        for (i, &(at, delta)) in changes.iter().enumerate() {
            waiting += delta;
            if changes.get(i + 1).is_some_and(|next| next.0 == at) {
                continue;
            }
            counter.push(json!({
                "ph": "C", "pid": 1, "name": "tasks waiting for a slot",
                "ts": self.micros(at), "args": { "tasks": waiting },
            }));
        }
        counter
    }

    fn micros(&self, at: Instant) -> f64 {
        micros_between(self.origin, at)
    }
}

/// A step of the main track, recorded when dropped ([`Profile::step`]).
pub(crate) struct Step<'a> {
    open: Option<(&'a Profile, Instant)>,
    name: &'static str,
    cat: &'static str,
}

impl Drop for Step<'_> {
    fn drop(&mut self) {
        if let Some((profile, start)) = self.open {
            profile.since(self.name, self.cat, Track::Main, start, Vec::new());
        }
    }
}

const SLOT_TID: u64 = 10;
const WAIT_TID: u64 = 1_000;
const UPLOAD_TID: u64 = 2_000;

/// Microseconds, with nanoseconds as the fraction: Perfetto reads fractional `ts`.
fn micros_between(from: Instant, to: Instant) -> f64 {
    let nanos = to.saturating_duration_since(from).as_nanos();
    // Rounded to whole nanoseconds: `as f64` of u128 nanos / 1000 keeps them exact
    // for any run shorter than a century.
    #[expect(
        clippy::cast_precision_loss,
        reason = "runs are far shorter than 2^53 ns"
    )]
    let micros = nanos as f64 / 1_000.0;
    micros
}

/// The lane of each span: the lowest lane free when it starts (a span may start when the
/// previous one on its lane ends), in order of start. The fewest lanes that keep every lane
/// free of overlaps.
fn lanes(spans: &[&Span]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..spans.len()).collect();
    order.sort_by_key(|&i| (spans[i].start, spans[i].end));
    let mut free_at: Vec<Instant> = Vec::new();
    let mut lane = vec![0; spans.len()];
    for i in order {
        let span = spans[i];
        match free_at.iter().position(|&free| free <= span.start) {
            Some(l) => {
                free_at[l] = span.end;
                lane[i] = l;
            }
            None => {
                lane[i] = free_at.len();
                free_at.push(span.end);
            }
        }
    }
    lane
}

/// Collects the `tracing` spans of one thread into a [`Profile`].
struct Collector {
    profile: Arc<Profile>,
    open: Mutex<HashMap<u64, OpenSpan>>,
    next: AtomicU64,
}

struct OpenSpan {
    name: String,
    start: Instant,
    args: Vec<(&'static str, Value)>,
    /// Handles to it: it ends when the last is dropped.
    refs: usize,
}

/// A span's fields as trace arguments; a `task` field also names the event.
struct Fields<'a>(&'a mut Vec<(&'static str, Value)>);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let mut text = String::new();
        let _ = write!(text, "{value:?}");
        self.0.push((field.name(), Value::String(text)));
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.push((field.name(), Value::String(value.to_owned())));
    }

    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        self.0.push((field.name(), Value::from(value)));
    }

    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        self.0.push((field.name(), Value::from(value)));
    }
}

impl tracing::Subscriber for Collector {
    fn register_callsite(
        &self,
        _: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        // Never cache "always": other threads have no collector.
        tracing::subscriber::Interest::sometimes()
    }

    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.is_span()
    }

    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut args = Vec::new();
        span.record(&mut Fields(&mut args));
        let name = match args.iter().find(|(k, _)| *k == "task") {
            Some((_, Value::String(task))) => format!("{} {task}", span.metadata().name()),
            _ => span.metadata().name().to_owned(),
        };
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(
                id,
                OpenSpan {
                    name,
                    start: Instant::now(),
                    args,
                    refs: 1,
                },
            );
        tracing::span::Id::from_u64(id)
    }

    fn record(&self, span: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        if let Some(open) = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_mut(&span.into_u64())
        {
            values.record(&mut Fields(&mut open.args));
        }
    }

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, _: &tracing::Event<'_>) {}

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}

    fn clone_span(&self, id: &tracing::span::Id) -> tracing::span::Id {
        if let Some(open) = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_mut(&id.into_u64())
        {
            open.refs += 1;
        }
        id.clone()
    }

    fn try_close(&self, id: tracing::span::Id) -> bool {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(span) = open.get_mut(&id.into_u64()) else {
            return false;
        };
        span.refs -= 1;
        if span.refs > 0 {
            return false;
        }
        let span = open.remove(&id.into_u64()).expect("present");
        drop(open);
        self.profile
            .since(span.name, "hash", Track::Main, span.start, span.args);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn id(s: &str) -> TaskId {
        s.parse().expect("valid id")
    }

    #[test]
    fn task_spans_take_the_fewest_lanes_that_never_overlap() {
        let profile = Profile::new();
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        // a and b at once; c starts when a ends (reuses its lane); d overlaps b and c.
        for (task, start, end) in [
            ("p#a", 0, 10),
            ("p#b", 0, 20),
            ("p#c", 10, 30),
            ("p#d", 15, 25),
        ] {
            profile.record(
                task,
                "task",
                Track::Task(id(task)),
                at(start),
                at(end),
                vec![],
            );
            profile.record(
                "execute",
                "run",
                Track::Task(id(task)),
                at(start),
                at(end),
                vec![],
            );
        }
        let trace = profile.to_json();
        let events = trace["traceEvents"].as_array().expect("events");
        let tid = |name: &str| {
            events
                .iter()
                .find(|e| e["name"] == name && e["ph"] == "X")
                .expect("event")["tid"]
                .as_u64()
                .expect("tid")
        };
        assert_eq!(tid("p#a"), tid("p#c"));
        let lanes: std::collections::BTreeSet<u64> = ["p#a", "p#b", "p#c", "p#d"]
            .iter()
            .map(|t| tid(t))
            .collect();
        assert_eq!(lanes.len(), 3);
        // Each inner span is drawn on its task's lane.
        let executes: Vec<u64> = events
            .iter()
            .filter(|e| e["name"] == "execute")
            .map(|e| e["tid"].as_u64().expect("tid"))
            .collect();
        assert_eq!(executes.len(), 4);
        assert!(executes.iter().all(|t| lanes.contains(t)));
        let named: Vec<&str> = events
            .iter()
            .filter(|e| e["name"] == "thread_name")
            .filter_map(|e| e["args"]["name"].as_str())
            .collect();
        assert!(named.contains(&"slot 3") && !named.contains(&"slot 4"));
    }

    #[test]
    fn a_job_waits_from_its_last_dependency_to_its_slot() {
        let profile = Profile::new();
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        profile.record("p#a", "task", Track::Task(id("p#a")), at(1), at(10), vec![]);
        profile.record(
            "p#c",
            "task",
            Track::Task(id("p#c")),
            at(14),
            at(20),
            vec![],
        );
        // b has no command; c waits for b, which waits for a.
        profile.record_waits(
            t0,
            &[
                (id("p#a"), vec![]),
                (id("p#b"), vec![0]),
                (id("p#c"), vec![1]),
            ],
        );
        let trace = profile.to_json();
        let wait = trace["traceEvents"]
            .as_array()
            .expect("events")
            .iter()
            .find(|e| e["name"] == "wait p#c")
            .expect("c waited")
            .clone();
        assert!((wait["ts"].as_f64().expect("ts") - profile.micros(at(10))).abs() < 1e-6);
        assert!((wait["dur"].as_f64().expect("dur") - 4_000.0).abs() < 1e-6);
        let events = trace["traceEvents"].as_array().expect("events");
        let c = events
            .iter()
            .find(|e| e["name"] == "p#c" && e["ph"] == "X")
            .expect("c ran");
        assert!((c["args"]["waitedMs"].as_f64().expect("waited") - 4.0).abs() < 1e-6);
        // a waited from the start to 1 ms, c from 10 to 14 ms: one task waiting at a time.
        let counter: Vec<i64> = events
            .iter()
            .filter(|e| e["ph"] == "C")
            .map(|e| e["args"]["tasks"].as_i64().expect("count"))
            .collect();
        assert_eq!(counter, [1, 0, 1, 0]);
    }

    #[test]
    fn tracing_spans_of_the_collecting_thread_are_recorded() {
        let profile = Arc::new(Profile::new());
        {
            let _collecting = Profile::collecting(Some(&profile));
            let _step = Profile::step(Some(&profile), "hash", "hash");
            let _outer = tracing::info_span!("hash tasks").entered();
            let _inner = tracing::trace_span!("hash", task = "web#build").entered();
        }
        // Outside `collect`, nothing is recorded.
        let _ignored = tracing::info_span!("elsewhere").entered();
        let names: Vec<String> = profile.to_json()["traceEvents"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["ph"] == "X")
            .map(|e| e["name"].as_str().expect("name").to_owned())
            .collect();
        assert_eq!(names, ["hash web#build", "hash tasks", "hash"]);
    }
}
