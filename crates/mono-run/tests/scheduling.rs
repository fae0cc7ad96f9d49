//! Scheduling: dependencies, concurrency, failures, `--continue`, jobs without a command.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{job, options, run, Recorder};
use mono_run::{Failure, JobResult, NoHooks, RunError, Scheduler, SkipReason};

#[test]
fn dependent_sees_its_dependencys_file() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = vec![
        // The dependent comes first in the list: only the dependency edge orders them.
        job(
            "app#test",
            dir.path(),
            Some("cat lib.txt > app.txt && echo tested"),
            &[1],
        ),
        job(
            "lib#build",
            dir.path(),
            Some("sleep 0.2 && echo built > lib.txt"),
            &[],
        ),
    ];
    let (summary, _) = run(jobs, Arc::new(NoHooks), options(4));
    assert!(summary.is_success(), "{summary:?}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("app.txt")).unwrap(),
        "built\n"
    );
}

#[test]
fn diamond_runs_each_job_once_after_its_dependencies() {
    let dir = tempfile::tempdir().unwrap();
    // Each job checks that its dependencies' files exist, then appends its name.
    let step = |name: &str, needs: &[&str]| {
        let checks: String = needs
            .iter()
            .map(|n| format!("test -f {n}.done && "))
            .collect();
        format!("{checks}touch {name}.done && echo {name} >> order.txt")
    };
    let jobs = vec![
        job("a#build", dir.path(), Some(&step("a", &[])), &[]),
        job("b#build", dir.path(), Some(&step("b", &["a"])), &[0]),
        job("c#build", dir.path(), Some(&step("c", &["a"])), &[0]),
        job(
            "d#build",
            dir.path(),
            Some(&step("d", &["b", "c"])),
            &[1, 2],
        ),
    ];
    let (summary, _) = run(jobs, Arc::new(NoHooks), options(3));
    assert!(summary.is_success(), "{summary:?}");
    let order = std::fs::read_to_string(dir.path().join("order.txt")).unwrap();
    let order: Vec<&str> = order.lines().collect();
    assert_eq!(order.len(), 4);
    assert_eq!(order[0], "a");
    assert_eq!(order[3], "d");
}

#[test]
fn never_more_jobs_than_concurrency() {
    let dir = tempfile::tempdir().unwrap();
    let jobs: Vec<_> = (0..8)
        .map(|i| job(&format!("p{i}#build"), dir.path(), Some("sleep 0.05"), &[]))
        .collect();
    let hooks = Arc::new(Recorder::default());
    let (summary, _) = run(jobs, hooks.clone(), options(2));
    assert!(summary.is_success());
    assert!(
        hooks.max_in_flight() <= 2,
        "{} jobs ran at once",
        hooks.max_in_flight()
    );
    assert_eq!(hooks.successes().len(), 8);
}

#[test]
fn independent_jobs_run_at_the_same_time() {
    // Each job waits for the other's file: this finishes only if both run at once.
    let dir = tempfile::tempdir().unwrap();
    let meet = |me: &str, other: &str| {
        format!("touch {me}; i=0; while [ ! -e {other} ]; do i=$((i+1)); [ $i -gt 3000 ] && exit 7; sleep 0.02; done")
    };
    let jobs = vec![
        job("a#dev", dir.path(), Some(&meet("a", "b")), &[]),
        job("b#dev", dir.path(), Some(&meet("b", "a")), &[]),
    ];
    let (summary, _) = run(jobs, Arc::new(NoHooks), options(2));
    assert!(summary.is_success(), "{summary:?}");
}

#[test]
fn concurrency_must_be_at_least_one() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = vec![job("a#build", dir.path(), Some("true"), &[])];
    let error = Scheduler::new(jobs, Arc::new(NoHooks), options(0))
        .err()
        .unwrap();
    assert!(matches!(error, RunError::ZeroConcurrency));
    assert_eq!(error.to_string(), "concurrency must be at least 1");
}

#[test]
fn unknown_dependency_index_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = vec![job("a#build", dir.path(), Some("true"), &[3])];
    let error = Scheduler::new(jobs, Arc::new(NoHooks), options(1))
        .err()
        .unwrap();
    assert_eq!(
        error.to_string(),
        "a#build depends on job 3, but there are only 1 jobs"
    );
}

#[test]
fn cycle_is_an_error_naming_the_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = vec![
        job("root#build", dir.path(), None, &[]),
        job("a#build", dir.path(), None, &[0, 2]),
        job("b#build", dir.path(), None, &[3]),
        job("c#build", dir.path(), None, &[1]),
    ];
    let error = Scheduler::new(jobs, Arc::new(NoHooks), options(1))
        .err()
        .unwrap();
    let RunError::Cycle { path } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(path.len(), 3);
    let text = error.to_string();
    assert!(
        text.starts_with("tasks depend on each other in a cycle: "),
        "{text}"
    );
    for id in ["a#build", "b#build", "c#build"] {
        assert!(text.contains(id), "{text}");
    }
}

#[test]
fn failure_stops_new_jobs_but_lets_running_ones_finish() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = vec![
        job("a#build", dir.path(), Some("exit 3"), &[]),
        // Starts together with a#build, ends after it failed: it must finish, not be killed.
        job(
            "b#build",
            dir.path(),
            Some("sleep 0.3 && touch b.done"),
            &[],
        ),
        // Not started: the run stopped.
        job("c#build", dir.path(), Some("touch c.done"), &[]),
        job("d#build", dir.path(), Some("touch d.done"), &[0]),
    ];
    let (summary, out) = run(jobs, Arc::new(NoHooks), options(2));
    assert!(!summary.is_success());
    assert!(!summary.interrupted);
    assert_eq!(summary.failed(), vec![0]);
    assert!(matches!(
        summary.results[0],
        JobResult::Failed {
            failure: Failure::Exit(3),
            ..
        }
    ));
    assert!(
        matches!(summary.results[1], JobResult::Succeeded { .. }),
        "{:?}",
        summary.results[1]
    );
    assert!(dir.path().join("b.done").exists());
    assert!(matches!(
        summary.results[2],
        JobResult::Skipped {
            reason: SkipReason::Stopped
        }
    ));
    assert!(!dir.path().join("c.done").exists());
    assert!(matches!(
        summary.results[3],
        JobResult::Skipped {
            reason: SkipReason::DependencyFailed { failed: 0 }
        }
    ));
    assert!(
        out.contains("a:build: ERROR: command finished with error: exited (3)\n"),
        "{out}"
    );
}

#[test]
fn continue_runs_everything_that_does_not_depend_on_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = vec![
        job("a#build", dir.path(), Some("exit 1"), &[]),
        job("b#build", dir.path(), Some("touch b.done"), &[0]),
        job("c#build", dir.path(), Some("touch c.done"), &[1]),
        job("d#build", dir.path(), Some("touch d.done"), &[]),
        job("e#build", dir.path(), Some("touch e.done"), &[3]),
        // Depends on a success and on a failure: skipped.
        job("f#build", dir.path(), Some("touch f.done"), &[3, 0]),
    ];
    let mut options = options(1);
    options.continue_on_error = true;
    let (summary, _) = run(jobs, Arc::new(NoHooks), options);
    assert_eq!(summary.failed(), vec![0]);
    let skipped = JobResult::Skipped {
        reason: SkipReason::DependencyFailed { failed: 0 },
    };
    for index in [1, 2, 5] {
        assert_eq!(
            format!("{:?}", summary.results[index]),
            format!("{skipped:?}"),
            "job {index}"
        );
    }
    for index in [3, 4] {
        assert!(
            matches!(summary.results[index], JobResult::Succeeded { .. }),
            "job {index}"
        );
    }
    let done: Vec<bool> = ["b", "c", "d", "e", "f"]
        .iter()
        .map(|n| dir.path().join(format!("{n}.done")).exists())
        .collect();
    assert_eq!(done, [false, false, true, true, false]);
}

#[test]
fn jobs_without_a_command_complete_and_count_as_success() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = vec![
        job("a#build", dir.path(), None, &[]),
        job("b#build", dir.path(), Some("touch b.done"), &[0]),
        job("c#build", dir.path(), None, &[1]),
    ];
    let hooks = Arc::new(Recorder::default());
    let (summary, out) = run(jobs, hooks.clone(), options(1));
    assert!(summary.is_success());
    assert!(matches!(summary.results[0], JobResult::NoCommand));
    assert!(matches!(summary.results[1], JobResult::Succeeded { .. }));
    assert!(matches!(summary.results[2], JobResult::NoCommand));
    assert!(dir.path().join("b.done").exists());
    // Hooks are not asked about jobs without a command, and they print nothing.
    assert_eq!(hooks.befores(), vec!["b#build"]);
    assert!(!out.contains("a:build"), "{out}");
}

#[test]
fn cached_jobs_do_not_run_and_count_as_success() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = vec![
        job("lib#build", dir.path(), Some("touch lib.ran"), &[]),
        job("app#build", dir.path(), Some("touch app.ran"), &[0]),
    ];
    let hooks = Arc::new(Recorder {
        cached: vec![("lib#build".into(), b"old\n".to_vec())],
        ..Recorder::default()
    });
    let (summary, _) = run(jobs, hooks.clone(), options(1));
    assert!(summary.is_success());
    assert_eq!(summary.cached(), 1);
    assert!(matches!(summary.results[0], JobResult::Cached { .. }));
    assert!(!dir.path().join("lib.ran").exists());
    assert!(dir.path().join("app.ran").exists());
    // after_success is for commands that ran, not for cache hits.
    assert_eq!(
        hooks.successes(),
        vec![("app#build".to_owned(), String::new())]
    );
}

#[test]
fn an_answer_ready_ahead_skips_before() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = vec![
        job("lib#build", dir.path(), Some("touch lib.ran"), &[]),
        job("app#build", dir.path(), Some("touch app.ran"), &[0]),
    ];
    let hooks = Arc::new(Recorder {
        ready: vec![("lib#build".into(), b"from ahead\n".to_vec())],
        ..Recorder::default()
    });
    let (summary, out) = run(jobs, hooks.clone(), options(1));
    assert!(summary.is_success());
    assert_eq!(summary.cached(), 1);
    assert!(matches!(
        summary.results[0],
        JobResult::Cached { time_saved } if time_saved == Duration::from_secs(2)
    ));
    assert!(!dir.path().join("lib.ran").exists());
    assert!(out.contains("lib:build: from ahead"), "{out}");
    // `before` was asked only about the job `ready` had no answer for.
    assert_eq!(hooks.befores(), vec!["app#build"]);
}

#[test]
fn continue_always_runs_the_dependents_of_a_failure_too() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = vec![
        job("a#build", dir.path(), Some("exit 1"), &[]),
        job("b#build", dir.path(), Some("touch b.done"), &[0]),
        job("c#build", dir.path(), Some("touch c.done"), &[1]),
    ];
    let mut options = options(1);
    options.continue_on_error = true;
    options.run_dependents_of_failures = true;
    let (summary, _) = run(jobs, Arc::new(NoHooks), options);
    assert_eq!(summary.failed(), vec![0]);
    assert!(dir.path().join("b.done").exists());
    assert!(dir.path().join("c.done").exists());
}

#[test]
fn log_prefix_off_prints_bare_lines() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = vec![job("a#build", dir.path(), Some("echo hello"), &[])];
    let mut options = options(1);
    options.log_prefix = false;
    let (summary, out) = run(jobs, Arc::new(NoHooks), options);
    assert!(summary.is_success());
    assert!(out.lines().any(|l| l == "hello"), "{out}");
    assert!(!out.contains("a:build: hello"), "{out}");
}

#[test]
fn failed_commands_are_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = vec![
        job("a#build", dir.path(), Some("echo partial; exit 1"), &[]),
        job("b#build", dir.path(), Some("kill -9 $$"), &[]),
    ];
    let hooks = Arc::new(Recorder::default());
    let mut options = options(1);
    options.continue_on_error = true;
    let (summary, out) = run(jobs, hooks.clone(), options);
    assert!(matches!(
        summary.results[0],
        JobResult::Failed {
            failure: Failure::Exit(1),
            ..
        }
    ));
    assert!(matches!(
        summary.results[1],
        JobResult::Failed {
            failure: Failure::Signal(9),
            ..
        }
    ));
    assert!(hooks.successes().is_empty());
    assert!(
        out.contains("b:build: ERROR: command finished with error: was killed by signal 9\n"),
        "{out}"
    );
}

#[test]
fn a_directory_that_does_not_exist_fails_the_job() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = vec![job(
        "a#build",
        &dir.path().join("missing"),
        Some("true"),
        &[],
    )];
    let (summary, out) = run(jobs, Arc::new(NoHooks), options(1));
    assert!(
        matches!(
            summary.results[0],
            JobResult::Failed {
                failure: Failure::Io(_),
                ..
            }
        ),
        "{summary:?}"
    );
    assert!(
        out.contains("a:build: ERROR: command finished with error: could not be run: "),
        "{out}"
    );
}

struct PanickingHooks;

impl mono_run::Hooks for PanickingHooks {
    fn before(&self, job: &mono_run::Job) -> mono_run::Before {
        assert!(job.id.package().as_str() != "boom", "cache lookup failed");
        mono_run::Before::Run
    }
    fn after_success(&self, _: &mono_run::Job, _: &[u8], _: std::time::Duration) {}
}

#[test]
fn a_panicking_hook_fails_only_its_job() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = vec![
        job("boom#build", dir.path(), Some("true"), &[]),
        job("ok#build", dir.path(), Some("true"), &[]),
    ];
    let mut options = options(1);
    options.continue_on_error = true;
    let (summary, _) = run(jobs, Arc::new(PanickingHooks), options);
    assert!(matches!(
        summary.results[0],
        JobResult::Failed {
            failure: Failure::HookPanicked,
            ..
        }
    ));
    assert!(matches!(summary.results[1], JobResult::Succeeded { .. }));
}

#[test]
fn tens_of_thousands_of_jobs_without_commands() {
    // A long chain and a wide fan: O(V + E) scheduling, no task or thread per job.
    let dir = tempfile::tempdir().unwrap();
    let mut jobs = Vec::new();
    for i in 0..30_000 {
        let deps = if i == 0 { vec![] } else { vec![i - 1] };
        jobs.push(job(&format!("p{i}#build"), dir.path(), None, &deps));
    }
    for i in 0..30_000 {
        jobs.push(job(&format!("q{i}#build"), dir.path(), None, &[29_999]));
    }
    let (summary, out) = run(jobs, Arc::new(NoHooks), options(4));
    assert!(summary.is_success());
    assert_eq!(summary.results.len(), 60_000);
    assert!(out.is_empty());
}

#[test]
fn thousands_of_cache_hits() {
    let dir = tempfile::tempdir().unwrap();
    let mut cached = Vec::new();
    let mut jobs = Vec::new();
    for i in 0..5_000 {
        let id = format!("p{i}#build");
        cached.push((id.clone(), format!("log {i}\n").into_bytes()));
        let deps = if i < 10 { vec![] } else { vec![i - 10] };
        jobs.push(job(&id, dir.path(), Some("exit 1"), &deps));
    }
    let hooks = Arc::new(Recorder {
        cached,
        ..Recorder::default()
    });
    let (summary, out) = run(jobs, hooks, options(8));
    assert!(summary.is_success());
    assert_eq!(summary.cached(), 5_000);
    assert_eq!(out.lines().count(), 10_000);
}

#[test]
fn progress_hooks_see_each_job_with_a_command_start_then_finish() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = vec![
        job("lib#build", dir.path(), Some("true"), &[]),
        job("app#build", dir.path(), Some("exit 2"), &[0]),
        job("doc#build", dir.path(), None, &[0]),
        job("ui#build", dir.path(), Some("true"), &[]),
    ];
    let recorder = Arc::new(Recorder {
        cached: vec![("ui#build".into(), b"replayed\n".to_vec())],
        ..Recorder::default()
    });
    let mut opts = options(1);
    opts.continue_on_error = true;
    let (summary, _) = run(jobs, recorder.clone(), opts);
    assert!(!summary.is_success());
    let events = recorder.events.lock().unwrap().clone();
    for (id, kind) in [
        ("lib#build", "succeeded"),
        ("app#build", "failed"),
        ("ui#build", "cached"),
    ] {
        let start = events
            .iter()
            .position(|e| *e == format!("started:{id}"))
            .expect(id);
        let end = events
            .iter()
            .position(|e| *e == format!("finished:{id}:{kind}"))
            .expect(id);
        assert!(start < end, "{events:?}");
    }
    // A job without a command is never started.
    assert!(
        !events.iter().any(|e| e.contains("doc#build")),
        "{events:?}"
    );
    assert_eq!(events.len(), 6, "{events:?}");
}

#[test]
fn with_jobs_start_right_after_the_job_they_run_alongside() {
    // One slot: the queue order decides. `web#dev` runs `api#dev` alongside, so api starts
    // next, ahead of `docs#dev` which was given before it.
    let dir = tempfile::tempdir().unwrap();
    let step = |name: &str| Some(format!("echo {name} >> order.txt"));
    let mut web = job("web#dev", dir.path(), step("web").as_deref(), &[]);
    web.with = vec![2];
    let jobs = vec![
        web,
        job("docs#dev", dir.path(), step("docs").as_deref(), &[]),
        job("api#dev", dir.path(), step("api").as_deref(), &[]),
    ];
    let (summary, _) = run(jobs, Arc::new(NoHooks), options(1));
    assert!(summary.is_success(), "{summary:?}");
    let order = std::fs::read_to_string(dir.path().join("order.txt")).unwrap();
    assert_eq!(order, "web\napi\ndocs\n");
}

#[test]
fn unknown_with_index_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut web = job("web#dev", dir.path(), Some("true"), &[]);
    web.with = vec![7];
    assert!(matches!(
        Scheduler::new(vec![web], Arc::new(NoHooks), options(1)),
        Err(RunError::UnknownDependency { dependency: 7, .. })
    ));
}

#[test]
fn jobs_skipped_by_a_failure_are_reported_at_the_failure() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = vec![
        job("lib#build", dir.path(), Some("exit 1"), &[]),
        job("app#build", dir.path(), Some("true"), &[0]),
        job("e2e#test", dir.path(), Some("true"), &[1]),
        job("doc#build", dir.path(), None, &[0]),
        job("ui#build", dir.path(), Some("true"), &[]),
    ];
    let recorder = Arc::new(Recorder::default());
    let mut opts = options(1);
    opts.continue_on_error = true;
    let (summary, _) = run(jobs, recorder.clone(), opts);
    assert_eq!(summary.failed(), vec![0]);
    let events = recorder.events.lock().unwrap().clone();
    let failed = events
        .iter()
        .position(|e| e == "finished:lib#build:failed")
        .expect("lib#build failed");
    // Right after the failure, before anything else starts: each dependent with a command,
    // transitively; the one without a command is not a task to show.
    let mut next: Vec<&str> = events[failed + 1..failed + 3]
        .iter()
        .map(String::as_str)
        .collect();
    next.sort_unstable();
    assert_eq!(
        next,
        ["skipped:app#build:after:0", "skipped:e2e#test:after:0"],
        "{events:?}"
    );
    let skips = events.iter().filter(|e| e.starts_with("skipped:")).count();
    assert_eq!(skips, 2, "{events:?}");
    assert!(
        events.contains(&"finished:ui#build:succeeded".to_owned()),
        "{events:?}"
    );
}
