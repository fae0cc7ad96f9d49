//! Helpers shared by the integration tests: jobs with real `sh` commands, a sink that can be
//! read back, hooks that record what they saw, and process checks through /proc.

#![allow(dead_code, reason = "each test file uses a different part")]

use std::io::{self, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mono_paths::AbsPath;
use mono_run::{Before, Hooks, Job, LogOrder, OutputLogs, RunOptions, RunSummary, Scheduler};

/// A job `id` (`pkg#task`) running `command` in `dir`, with the test's PATH.
pub fn job(id: &str, dir: &Path, command: Option<&str>, dependencies: &[usize]) -> Job {
    let mut job = Job::new(
        id.parse().unwrap(),
        AbsPath::new(dir).unwrap(),
        command.map(str::to_owned),
    );
    job.env = vec![("PATH".to_owned(), std::env::var("PATH").unwrap_or_default())];
    job.dependencies = dependencies.to_vec();
    job
}

/// Grouped, uncolored output, full logs, a short grace period.
pub fn options(concurrency: usize) -> RunOptions {
    RunOptions {
        concurrency,
        log_order: LogOrder::Grouped,
        output_logs: OutputLogs::Full,
        grace_period: Duration::from_millis(500),
        ..RunOptions::default()
    }
}

/// A `Write` whose bytes the test reads back after the run.
#[derive(Clone, Default)]
pub struct Sink(pub Arc<Mutex<Vec<u8>>>);

impl Sink {
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Hooks that answer `Cached` for the tasks named in `cached`, record every call, and
/// track how many jobs are between `before` and the end of `after_success` at once.
#[derive(Default)]
pub struct Recorder {
    pub cached: Vec<(String, Vec<u8>)>,
    /// Tasks `ready` answers `Cached` for, without `before` being asked.
    pub ready: Vec<(String, Vec<u8>)>,
    pub bypass: Vec<String>,
    pub befores: Mutex<Vec<String>>,
    pub successes: Mutex<Vec<(String, Vec<u8>)>>,
    pub in_flight: Mutex<(usize, usize)>,
    /// `started:ID` and `finished:ID:RESULT` in the order the scheduler reported them.
    pub events: Mutex<Vec<String>>,
    /// What `Hooks::output` got, job by job (`OutputTarget::PerJob`).
    pub outputs: Mutex<std::collections::BTreeMap<String, Vec<u8>>>,
}

impl Recorder {
    pub fn max_in_flight(&self) -> usize {
        self.in_flight.lock().unwrap().1
    }
    pub fn successes(&self) -> Vec<(String, String)> {
        let successes = self.successes.lock().unwrap();
        successes
            .iter()
            .map(|(id, log)| (id.clone(), String::from_utf8_lossy(log).into_owned()))
            .collect()
    }
    pub fn befores(&self) -> Vec<String> {
        self.befores.lock().unwrap().clone()
    }
    /// What `Hooks::output` got for `id`, as text.
    pub fn output_of(&self, id: &str) -> String {
        let outputs = self.outputs.lock().unwrap();
        String::from_utf8_lossy(outputs.get(id).map_or(&[][..], Vec::as_slice)).into_owned()
    }
}

impl Hooks for Recorder {
    fn ready(&self, job: &Job) -> Option<Before> {
        let id = job.id.to_string();
        let (_, log) = self.ready.iter().find(|(ready, _)| *ready == id)?;
        Some(Before::Cached {
            log: log.clone(),
            time_saved: Duration::from_secs(2),
        })
    }

    fn before(&self, job: &Job) -> Before {
        let id = job.id.to_string();
        self.befores.lock().unwrap().push(id.clone());
        if let Some((_, log)) = self.cached.iter().find(|(cached, _)| *cached == id) {
            return Before::Cached {
                log: log.clone(),
                time_saved: Duration::from_secs(1),
            };
        }
        let mut in_flight = self.in_flight.lock().unwrap();
        in_flight.0 += 1;
        in_flight.1 = in_flight.1.max(in_flight.0);
        if self.bypass.contains(&id) {
            Before::Bypass
        } else {
            Before::Run
        }
    }

    fn after_success(&self, job: &Job, log: &[u8], _duration: Duration) {
        self.successes
            .lock()
            .unwrap()
            .push((job.id.to_string(), log.to_vec()));
        self.in_flight.lock().unwrap().0 -= 1;
    }

    fn started(&self, job: &Job) {
        self.events
            .lock()
            .unwrap()
            .push(format!("started:{}", job.id));
    }

    fn finished(&self, job: &Job, result: &mono_run::JobResult) {
        let kind = match result {
            mono_run::JobResult::Succeeded { .. } => "succeeded",
            mono_run::JobResult::Cached { .. } => "cached",
            mono_run::JobResult::Failed { .. } => "failed",
            _ => "other",
        };
        self.events
            .lock()
            .unwrap()
            .push(format!("finished:{}:{kind}", job.id));
    }

    fn skipped(&self, job: &Job, failed: usize) {
        self.events
            .lock()
            .unwrap()
            .push(format!("skipped:{}:after:{failed}", job.id));
    }

    fn output(&self, job: &Job, bytes: &[u8]) {
        self.outputs
            .lock()
            .unwrap()
            .entry(job.id.to_string())
            .or_default()
            .extend_from_slice(bytes);
    }
}

/// Runs `jobs` and returns the summary and what was printed.
pub fn run(jobs: Vec<Job>, hooks: Arc<dyn Hooks>, options: RunOptions) -> (RunSummary, String) {
    let sink = Sink::default();
    let summary = Scheduler::new(jobs, hooks, options)
        .unwrap()
        .run(Box::new(sink.clone()))
        .unwrap();
    (summary, sink.text())
}

/// Waits until `path` exists and holds a line, for at most a minute.
pub fn wait_for_file(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if text.ends_with('\n') {
                return text.trim().to_owned();
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether process `pid` still runs (a zombie waiting for its reaper does not run).
pub fn is_running(pid: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // `pid (comm) S ...`: the state follows the last `)`.
    let state = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, Some(Some('Z' | 'X')))
}

/// Waits (at most 10 s, far less than the `sleep 300` the tests start) for `pid` to stop
/// running; whether it did.
pub fn wait_gone(pid: i32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while is_running(pid) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}
