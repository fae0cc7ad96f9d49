//! Interruption and process groups: nothing a command started outlives its job.
//!
//! Commands write the pids of the shell and of the processes it started (`$$`, `$!`) into
//! files; the tests wait for those files, interrupt the run, and check through /proc that
//! every one of those processes is gone.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::{job, options, wait_for_file, wait_gone, Recorder, Sink};
use mono_run::{JobResult, RunOptions, RunSummary, Scheduler, SkipReason};

/// Starts `sleep 300` in the background, and a nested shell that does the same, and waits.
const PLAIN: &str = "sleep 300 & echo $! > plain.bg; \
    sh -c 'sleep 300 & echo $! > plain.nested; wait' & \
    echo $$ > plain.sh; wait";
/// Ignores SIGTERM (and so does its `sleep`, which inherits the ignored signal): only the
/// SIGKILL after the grace period ends it.
const STUBBORN: &str =
    "trap '' TERM; sleep 300 & echo $! > stubborn.bg; echo $$ > stubborn.sh; wait";
/// Notes the SIGTERM it receives, then exits.
const POLITE: &str = "trap 'echo term > polite.term; exit 143' TERM; \
    sleep 300 & echo $! > polite.bg; echo $$ > polite.sh; wait";

fn pids(dir: &Path, names: &[&str]) -> Vec<(String, i32)> {
    names
        .iter()
        .map(|name| {
            (
                name.to_string(),
                wait_for_file(&dir.join(name)).parse().unwrap(),
            )
        })
        .collect()
}

fn assert_all_gone(pids: &[(String, i32)]) {
    for (name, pid) in pids {
        assert!(wait_gone(*pid), "{name} (pid {pid}) is still running");
    }
}

/// Runs `jobs` on a thread and returns the handle to it and its summary.
fn spawn_run(
    jobs: Vec<mono_run::Job>,
    hooks: Arc<Recorder>,
    options: RunOptions,
) -> (mono_run::RunHandle, std::thread::JoinHandle<RunSummary>) {
    let scheduler = Scheduler::new(jobs, hooks, options).unwrap();
    let handle = scheduler.handle();
    let thread = std::thread::spawn(move || scheduler.run(Box::new(Sink::default())).unwrap());
    (handle, thread)
}

#[test]
fn cancel_terminates_every_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = vec![
        job("plain#dev", dir.path(), Some(PLAIN), &[]),
        job("stubborn#dev", dir.path(), Some(STUBBORN), &[]),
        job("polite#dev", dir.path(), Some(POLITE), &[]),
        job("after#build", dir.path(), Some("touch after.ran"), &[0]),
        job("waiting#build", dir.path(), Some("touch waiting.ran"), &[]),
    ];
    let hooks = Arc::new(Recorder::default());
    let (handle, thread) = spawn_run(jobs, hooks.clone(), options(3));
    let pids = pids(
        dir.path(),
        &[
            "plain.sh",
            "plain.bg",
            "plain.nested",
            "stubborn.sh",
            "stubborn.bg",
            "polite.sh",
            "polite.bg",
        ],
    );
    assert!(!handle.is_cancelled());
    handle.cancel();
    let summary = thread.join().unwrap();

    assert!(summary.interrupted);
    assert!(!summary.is_success());
    for index in 0..3 {
        assert!(
            matches!(summary.results[index], JobResult::Interrupted { .. }),
            "{:?}",
            summary.results[index]
        );
    }
    for index in 3..5 {
        assert!(matches!(
            summary.results[index],
            JobResult::Skipped {
                reason: SkipReason::Stopped
            }
        ));
    }
    assert!(!dir.path().join("after.ran").exists());
    assert!(!dir.path().join("waiting.ran").exists());
    // SIGTERM came first.
    assert_eq!(wait_for_file(&dir.path().join("polite.term")), "term");
    // Nothing interrupted is stored.
    assert!(hooks.successes().is_empty());
    assert_all_gone(&pids);
}

#[test]
fn kill_skips_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = vec![job("polite#dev", dir.path(), Some(POLITE), &[])];
    let mut options = options(1);
    // Were SIGTERM sent, the trap would write polite.term.
    options.grace_period = Duration::from_secs(600);
    let (handle, thread) = spawn_run(jobs, Arc::new(Recorder::default()), options);
    let pids = pids(dir.path(), &["polite.sh", "polite.bg"]);
    handle.kill();
    let summary = thread.join().unwrap();
    assert!(summary.interrupted);
    assert!(matches!(summary.results[0], JobResult::Interrupted { .. }));
    assert_all_gone(&pids);
    assert!(!dir.path().join("polite.term").exists());
}

#[test]
fn cancel_before_the_run_starts_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = vec![job("a#build", dir.path(), Some("touch a.ran"), &[])];
    let scheduler = Scheduler::new(jobs, Arc::new(Recorder::default()), options(1)).unwrap();
    scheduler.handle().cancel();
    let summary = scheduler.run(Box::new(Sink::default())).unwrap();
    assert!(summary.interrupted);
    assert!(matches!(
        summary.results[0],
        JobResult::Skipped {
            reason: SkipReason::Stopped
        }
    ));
    assert!(!dir.path().join("a.ran").exists());
}

#[test]
fn a_handle_made_before_the_run_interrupts_it() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = vec![
        job(
            "a#build",
            dir.path(),
            Some("echo $$ > a.pid; sleep 300"),
            &[],
        ),
        job("b#build", dir.path(), Some("touch b.ran"), &[0]),
    ];
    let handle = mono_run::RunHandle::new();
    let scheduler = Scheduler::new(jobs, Arc::new(Recorder::default()), options(1))
        .unwrap()
        .with_handle(&handle);
    let run = std::thread::spawn(move || scheduler.run(Box::new(Sink::default())).unwrap());
    let pid: i32 = wait_for_file(&dir.path().join("a.pid")).parse().unwrap();
    handle.cancel();
    let summary = run.join().unwrap();
    assert!(summary.interrupted);
    assert!(matches!(summary.results[0], JobResult::Interrupted { .. }));
    assert!(wait_gone(pid), "a#build's shell still runs");
    assert!(!dir.path().join("b.ran").exists());
}

#[test]
fn processes_left_behind_by_a_finished_command_are_terminated() {
    let dir = tempfile::tempdir().unwrap();
    // One holds the output pipe open, one does not; the command itself succeeds.
    let command = "sleep 300 & echo $! > piped.bg; sleep 300 > /dev/null 2>&1 & echo $! > quiet.bg; echo done";
    let jobs = vec![
        job("a#build", dir.path(), Some(command), &[]),
        job("b#build", dir.path(), Some("echo next"), &[0]),
    ];
    let hooks = Arc::new(Recorder::default());
    let (summary, out) = common::run(jobs, hooks.clone(), options(1));
    assert!(summary.is_success(), "{summary:?}");
    assert!(!summary.interrupted);
    assert!(out.contains("a:build: done\n"), "{out}");
    assert_eq!(
        hooks.successes()[0],
        ("a#build".to_owned(), "done\n".to_owned())
    );
    assert_all_gone(&pids(dir.path(), &["piped.bg", "quiet.bg"]));
}

#[test]
fn a_process_that_left_the_group_does_not_hang_the_run() {
    let dir = tempfile::tempdir().unwrap();
    // `setsid` takes the sleep out of the group, still holding the output pipe: mono cannot
    // end it, and stops reading after SIGKILL and a grace period.
    let command =
        "if command -v setsid > /dev/null; then setsid sleep 300 & echo $! > escaped.pid; \
        else echo > escaped.pid; fi; echo done";
    let jobs = vec![job("a#build", dir.path(), Some(command), &[])];
    let (summary, out) = common::run(jobs, Arc::new(Recorder::default()), options(1));
    assert!(summary.is_success(), "{summary:?}");
    assert!(out.contains("a:build: done\n"), "{out}");
    if let Ok(pid) = wait_for_file(&dir.path().join("escaped.pid")).parse::<i32>() {
        let pid = rustix::process::Pid::from_raw(pid).unwrap();
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
    }
}

const HELPER: &str = "MONO_RUN_SIGINT_HELPER";

/// Not a test by itself: the body of the process that `sigint_kills_grandchildren` starts
/// and interrupts. It runs the scheduler with signal handling on, in the directory named
/// by the environment, and writes the summary there.
#[test]
fn sigint_helper() {
    let Some(dir) = std::env::var_os(HELPER) else {
        return;
    };
    let dir = Path::new(&dir);
    let jobs = vec![
        job("plain#dev", dir, Some(PLAIN), &[]),
        job("stubborn#dev", dir, Some(STUBBORN), &[]),
        job("later#build", dir, Some("touch later.ran"), &[0]),
    ];
    let mut options = options(2);
    options.handle_signals = true;
    let summary = Scheduler::new(jobs, Arc::new(Recorder::default()), options)
        .unwrap()
        .run(Box::new(Sink::default()))
        .unwrap();
    let results: Vec<String> = summary.results.iter().map(|r| format!("{r:?}")).collect();
    let report = format!(
        "interrupted={}\n{}\n",
        summary.interrupted,
        results.join("\n")
    );
    std::fs::write(dir.join("summary.txt"), report).unwrap();
}

#[test]
fn sigint_kills_grandchildren() {
    let dir = tempfile::tempdir().unwrap();
    let mut runner = Command::new(std::env::current_exe().unwrap())
        .args([
            "sigint_helper",
            "--exact",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(HELPER, dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pids = pids(
        dir.path(),
        &[
            "plain.sh",
            "plain.bg",
            "plain.nested",
            "stubborn.sh",
            "stubborn.bg",
        ],
    );

    let runner_pid = rustix::process::Pid::from_raw(runner.id().try_into().unwrap()).unwrap();
    rustix::process::kill_process(runner_pid, rustix::process::Signal::INT).unwrap();
    let status = runner.wait().unwrap();

    assert!(status.success(), "the runner process failed: {status:?}");
    let summary = std::fs::read_to_string(dir.path().join("summary.txt")).unwrap();
    let mut lines = summary.lines();
    assert_eq!(lines.next(), Some("interrupted=true"), "{summary}");
    assert!(
        lines.next().unwrap().starts_with("Interrupted"),
        "{summary}"
    );
    assert!(
        lines.next().unwrap().starts_with("Interrupted"),
        "{summary}"
    );
    assert_eq!(
        lines.next(),
        Some("Skipped { reason: Stopped }"),
        "{summary}"
    );
    assert!(!dir.path().join("later.ran").exists());
    assert_all_gone(&pids);
}
