//! What a run prints and captures: prefixes, `--log-order`, `--output-logs`, the log given to
//! `after_success`, and the child's environment, directory and stdin.

mod common;

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;

use common::{job, options, run, Recorder, Sink};
use mono_run::{LogOrder, NoHooks, OutputLogs, OutputTarget, Scheduler};
use test_case::test_matrix;

const FULL: &str = "\
hit:build: cache hit, replaying logs h0
hit:build: from cache
ran:build: cache miss, executing h1
ran:build: ran
bad:build: cache miss, executing h2
bad:build: broke
bad:build: ERROR: command finished with error: exited (2)
";

const HASH_ONLY: &str = "\
hit:build: cache hit, suppressing logs h0
ran:build: cache miss, executing h1
bad:build: cache miss, executing h2
bad:build: ERROR: command finished with error: exited (2)
";

const NEW_ONLY: &str = "\
hit:build: cache hit, suppressing logs h0
ran:build: cache miss, executing h1
ran:build: ran
bad:build: cache miss, executing h2
bad:build: broke
bad:build: ERROR: command finished with error: exited (2)
";

const ERRORS_ONLY: &str = "\
bad:build: cache miss, executing h2
bad:build: broke
bad:build: ERROR: command finished with error: exited (2)
";

#[test_matrix(
    [OutputLogs::Full, OutputLogs::HashOnly, OutputLogs::NewOnly, OutputLogs::ErrorsOnly, OutputLogs::None],
    [LogOrder::Stream, LogOrder::Grouped]
)]
fn output_logs_modes(mode: OutputLogs, order: LogOrder) {
    let dir = tempfile::tempdir().unwrap();
    let mut jobs = vec![
        job("hit#build", dir.path(), Some("echo not run"), &[]),
        job("ran#build", dir.path(), Some("echo ran"), &[]),
        job("bad#build", dir.path(), Some("echo broke; exit 2"), &[]),
    ];
    for (i, job) in jobs.iter_mut().enumerate() {
        job.hash = Some(format!("h{i}"));
    }
    let hooks = Arc::new(Recorder {
        cached: vec![("hit#build".into(), b"from cache\n".to_vec())],
        ..Recorder::default()
    });
    let mut options = options(1);
    options.continue_on_error = true;
    options.output_logs = mode;
    options.log_order = order;
    let (summary, out) = run(jobs, hooks, options);
    assert_eq!(summary.failed(), vec![2]);
    let expected = match mode {
        OutputLogs::Full => FULL,
        OutputLogs::HashOnly => HASH_ONLY,
        OutputLogs::NewOnly => NEW_ONLY,
        OutputLogs::ErrorsOnly => ERRORS_ONLY,
        OutputLogs::None => "",
    };
    assert_eq!(out, expected);
}

/// `OutputTarget::PerJob`: each job's status line, output (or replayed log) and error line
/// go to its own `Hooks::output`, unprefixed; the shared writer gets nothing.
#[test_matrix([LogOrder::Stream, LogOrder::Grouped])]
fn per_job_output_goes_to_each_jobs_hook(order: LogOrder) {
    let dir = tempfile::tempdir().unwrap();
    let mut jobs = vec![
        job("hit#build", dir.path(), Some("echo not run"), &[]),
        job(
            "ran#build",
            dir.path(),
            Some("echo one; printf 'two '; echo three >&2"),
            &[],
        ),
        job("bad#build", dir.path(), Some("echo broke; exit 2"), &[]),
    ];
    for (i, job) in jobs.iter_mut().enumerate() {
        job.hash = Some(format!("h{i}"));
    }
    let hooks = Arc::new(Recorder {
        cached: vec![("hit#build".into(), b"from cache\n".to_vec())],
        ..Recorder::default()
    });
    let mut options = options(2);
    options.continue_on_error = true;
    options.log_order = order;
    options.output_target = OutputTarget::PerJob;
    let (summary, shared) = run(jobs, hooks.clone(), options);
    assert_eq!(summary.failed(), vec![2]);
    assert_eq!(shared, "");
    assert_eq!(
        hooks.output_of("hit#build"),
        "cache hit, replaying logs h0\nfrom cache\n"
    );
    assert_eq!(
        hooks.output_of("ran#build"),
        "cache miss, executing h1\none\ntwo three\n"
    );
    assert_eq!(
        hooks.output_of("bad#build"),
        "cache miss, executing h2\nbroke\nERROR: command finished with error: exited (2)\n"
    );
}

#[test]
fn bypass_status_line_and_no_hash() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = vec![job("dev#serve", dir.path(), Some("echo up"), &[])];
    let hooks = Arc::new(Recorder {
        bypass: vec!["dev#serve".into()],
        ..Recorder::default()
    });
    let (_, out) = run(jobs, hooks, options(1));
    assert_eq!(
        out,
        "dev:serve: cache bypass, force executing\ndev:serve: up\n"
    );
}

#[test]
fn log_keeps_stdout_and_stderr_in_the_order_written() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = vec![job(
        "a#build",
        dir.path(),
        Some("echo 1; echo 2 >&2; echo 3; echo 4 >&2; printf 5"),
        &[],
    )];
    let hooks = Arc::new(Recorder::default());
    let (_, out) = run(jobs, hooks.clone(), options(1));
    assert_eq!(
        hooks.successes(),
        vec![("a#build".to_owned(), "1\n2\n3\n4\n5".to_owned())]
    );
    // A last line without a newline is printed with one.
    assert_eq!(out, "a:build: cache miss, executing\na:build: 1\na:build: 2\na:build: 3\na:build: 4\na:build: 5\n");
}

#[test]
fn root_package_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = vec![job("//#lint", dir.path(), Some("echo clean"), &[])];
    let (_, out) = run(jobs, Arc::new(NoHooks), options(1));
    assert_eq!(out, "//:lint: cache miss, executing\n//:lint: clean\n");
}

#[test]
fn color_colors_each_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = vec![
        job("a#build", dir.path(), Some("echo x"), &[]),
        job("b#build", dir.path(), Some("echo y"), &[0]),
    ];
    let mut options = options(1);
    options.color = true;
    let (_, out) = run(jobs, Arc::new(NoHooks), options);
    assert!(out.contains("\x1b[36ma:build: \x1b[0mx\n"), "{out:?}");
    assert!(out.contains("\x1b[35mb:build: \x1b[0my\n"), "{out:?}");
}

#[test]
fn grouped_never_interleaves_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let chatty = |name: &str| format!("for i in 1 2 3 4 5; do echo {name}$i; sleep 0.02; done");
    let jobs = vec![
        job("a#build", dir.path(), Some(&chatty("a")), &[]),
        job("b#build", dir.path(), Some(&chatty("b")), &[]),
    ];
    let (summary, out) = run(jobs, Arc::new(NoHooks), options(2));
    assert!(summary.is_success());
    let block = |name: &str| {
        let mut block = format!("{name}:build: cache miss, executing\n");
        for i in 1..=5 {
            block.push_str(&format!("{name}:build: {name}{i}\n"));
        }
        block
    };
    let (a, b) = (block("a"), block("b"));
    assert!(
        out == format!("{a}{b}") || out == format!("{b}{a}"),
        "{out}"
    );
}

/// A sink that creates `seen` when a line it waits for is printed: proof that the line was
/// printed while its command still ran.
struct Witness {
    sink: Sink,
    line: &'static str,
    seen: PathBuf,
}

impl Write for Witness {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.sink.write_all(buf)?;
        if self.sink.text().contains(self.line) {
            std::fs::write(&self.seen, "")?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn stream_prints_lines_while_the_command_runs() {
    let dir = tempfile::tempdir().unwrap();
    let command = "echo first; i=0; while [ ! -e seen ]; do i=$((i+1)); [ $i -gt 3000 ] && exit 7; sleep 0.02; done; echo second";
    let jobs = vec![job("a#dev", dir.path(), Some(command), &[])];
    let mut options = options(1);
    options.log_order = LogOrder::Stream;
    let sink = Sink::default();
    let witness = Witness {
        sink: sink.clone(),
        line: "a:dev: first\n",
        seen: dir.path().join("seen"),
    };
    let summary = Scheduler::new(jobs, Arc::new(NoHooks), options)
        .unwrap()
        .run(Box::new(witness))
        .unwrap();
    assert!(summary.is_success(), "{summary:?}");
    assert_eq!(
        sink.text(),
        "a:dev: cache miss, executing\na:dev: first\na:dev: second\n"
    );
}

#[test]
fn environment_is_exactly_the_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let mut job = job(
        "a#build",
        dir.path(),
        Some("echo \"[$FOO][$HOME][$CARGO]\""),
        &[],
    );
    job.env = vec![("FOO".into(), "bar baz".into())];
    let hooks = Arc::new(Recorder::default());
    run(vec![job], hooks.clone(), options(1));
    // cargo sets CARGO for tests; neither it nor HOME reaches the child.
    assert_eq!(hooks.successes()[0].1, "[bar baz][][]\n");
}

#[test]
fn runs_in_the_jobs_directory_with_stdin_closed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("pkg")).unwrap();
    // `cat` would wait forever on an inherited terminal; /dev/null ends it at once.
    let jobs = vec![job(
        "a#build",
        &dir.path().join("pkg"),
        Some("cat; pwd -P"),
        &[],
    )];
    let hooks = Arc::new(Recorder::default());
    run(jobs, hooks.clone(), options(1));
    let expected = dir.path().join("pkg").canonicalize().unwrap();
    assert_eq!(
        hooks.successes()[0].1.trim_end(),
        expected.to_str().unwrap()
    );
}
