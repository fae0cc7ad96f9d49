//! One command: `/bin/sh -c` in its own process group, its stdout and stderr captured
//! through one pipe, and the whole group terminated when it is interrupted or when the
//! command exits and leaves processes behind.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use rustix::pipe::PipeFlags;
use rustix::process::{Pid, Signal};
use tokio::io::AsyncReadExt;
use tokio::sync::watch;
use tokio::time::{sleep, sleep_until, Instant};

use crate::job::Job;

/// How far a cancellation has gone. Ordered: each step only goes up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Cancel {
    /// Not cancelled.
    No,
    /// SIGTERM the process groups, SIGKILL them after the grace period.
    Graceful,
    /// SIGKILL the process groups now.
    Force,
}

/// How a command ended.
pub(crate) enum End {
    /// The shell exited by itself.
    Exited(ExitStatus),
    /// The run was cancelled while the shell was running.
    Interrupted,
    /// The shell could not be started or waited for.
    Io(io::Error),
}

/// A finished command.
pub(crate) struct Outcome {
    pub(crate) end: End,
    /// stdout and stderr, interleaved as written.
    pub(crate) log: Vec<u8>,
    /// From start to the shell's exit.
    pub(crate) duration: Duration,
}

/// How often a group that outlived its shell is checked for being empty.
const GROUP_POLL: Duration = Duration::from_millis(25);

/// Sends `signal` to every process of the group. A group that is gone is not an error.
fn signal_group(pgid: Pid, signal: Signal) {
    let _ = rustix::process::kill_process_group(pgid, signal);
}

/// Whether any process of the group is left (zombies count until they are reaped).
fn group_alive(pgid: Pid) -> bool {
    // ESRCH: the group is empty. EPERM: the id now belongs to someone else's processes.
    rustix::process::test_kill_process_group(pgid).is_ok()
}

/// A far deadline for a `select!` branch that is disabled.
fn or_never(deadline: Option<Instant>) -> Instant {
    deadline.unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400))
}

/// Runs `command` for `job`, calling `on_output` with each chunk it prints.
///
/// The rules, in order:
/// 1. `/bin/sh -c command` starts in `job.dir` with exactly `job.env`, stdin from
///    `/dev/null`, stdout and stderr into one pipe (so the log keeps their order), as the
///    leader of a new process group.
/// 2. On [`Cancel::Graceful`] the group gets SIGTERM; whatever is left of it after
///    `grace` gets SIGKILL. [`Cancel::Force`] sends SIGKILL at once.
/// 3. When the shell exits and processes of its group are still there (a `cmd &` left
///    running, perhaps holding the pipe open), they get the same SIGTERM, then SIGKILL.
/// 4. The command is over when the shell has exited and the pipe is closed; if something
///    outside the group (it called `setsid`) still holds the pipe one grace period after
///    the SIGKILL, reading stops.
pub(crate) async fn run_command(
    job: &Job,
    command: &str,
    grace: Duration,
    mut cancel: watch::Receiver<Cancel>,
    mut on_output: impl FnMut(&[u8]),
) -> Outcome {
    let start = Instant::now();
    let io_error = |error| Outcome {
        end: End::Io(error),
        log: Vec::new(),
        duration: start.elapsed(),
    };
    let (mut reader, mut child) = match spawn(job, command) {
        Ok(spawned) => spawned,
        Err(error) => return io_error(error),
    };
    let Some(pgid) = child
        .id()
        .and_then(|id| Pid::from_raw(i32::try_from(id).ok()?))
    else {
        return io_error(io::Error::other(
            "the command exited before its process id was known",
        ));
    };

    let mut log = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut status: Option<io::Result<ExitStatus>> = None;
    let mut duration = Duration::ZERO;
    let mut eof = false;
    let mut seen = Cancel::No;
    let mut cancel_open = true;
    let mut interrupted = false;
    // When SIGTERM was sent: SIGKILL follows at this deadline.
    let mut kill_at: Option<Instant> = None;
    // When SIGKILL was sent: reading gives up one grace period later.
    let mut give_up_at: Option<Instant> = None;

    loop {
        let level = *cancel.borrow_and_update();
        if level > seen {
            seen = level;
            interrupted |= status.is_none();
            match level {
                Cancel::No => {}
                Cancel::Graceful => {
                    if kill_at.is_none() && give_up_at.is_none() {
                        signal_group(pgid, Signal::TERM);
                        kill_at = Some(Instant::now() + grace);
                    }
                }
                Cancel::Force => {
                    if give_up_at.is_none() {
                        signal_group(pgid, Signal::KILL);
                        give_up_at = Some(Instant::now() + grace);
                    }
                }
            }
        }
        if status.is_some() {
            if eof && (give_up_at.is_some() || !group_alive(pgid)) {
                break;
            }
            if kill_at.is_none() && give_up_at.is_none() {
                // The shell is gone but its group is not: rule 3.
                signal_group(pgid, Signal::TERM);
                kill_at = Some(Instant::now() + grace);
            }
        }
        let kill_due = kill_at.filter(|_| give_up_at.is_none());
        tokio::select! {
            read = reader.read(&mut buf), if !eof => match read {
                Ok(0) | Err(_) => eof = true,
                Ok(n) => {
                    log.extend_from_slice(&buf[..n]);
                    on_output(&buf[..n]);
                }
            },
            exited = child.wait(), if status.is_none() => {
                duration = start.elapsed();
                status = Some(exited);
            }
            changed = cancel.changed(), if cancel_open => cancel_open = changed.is_ok(),
            () = sleep(GROUP_POLL), if status.is_some() && eof => {}
            () = sleep_until(or_never(kill_due)), if kill_due.is_some() => {
                signal_group(pgid, Signal::KILL);
                give_up_at = Some(Instant::now() + grace);
            }
            () = sleep_until(or_never(give_up_at)), if give_up_at.is_some() => break,
        }
    }
    let status = match status {
        Some(status) => status,
        None => {
            // Only after a SIGKILL and a grace period: the shell is about to go.
            let status = child.wait().await;
            duration = start.elapsed();
            status
        }
    };
    let end = match status {
        _ if interrupted => End::Interrupted,
        Ok(status) => End::Exited(status),
        Err(error) => End::Io(error),
    };
    Outcome { end, log, duration }
}

fn spawn(
    job: &Job,
    command: &str,
) -> io::Result<(tokio::net::unix::pipe::Receiver, tokio::process::Child)> {
    // CLOEXEC: no other child started meanwhile inherits the pipe; the dup2 onto fds 1
    // and 2 in this child clears the flag.
    let (read, write) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC)?;
    let reader = tokio::net::unix::pipe::Receiver::from_owned_fd(read)?;
    let mut cmd = tokio::process::Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(command)
        .current_dir(job.dir.as_path())
        .env_clear()
        .envs(job.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::from(write.try_clone()?))
        .stderr(Stdio::from(write))
        .process_group(0)
        .kill_on_drop(true);
    let child = cmd.spawn()?;
    // `cmd` holds the write ends; it is dropped here so that the pipe closes when the
    // command's processes are done with it.
    drop(cmd);
    Ok((reader, child))
}

/// The failure of an exit status that is not success: its code or its signal.
pub(crate) fn exit_failure(status: ExitStatus) -> Option<crate::Failure> {
    if status.success() {
        None
    } else if let Some(code) = status.code() {
        Some(crate::Failure::Exit(code))
    } else {
        Some(crate::Failure::Signal(status.signal().unwrap_or(0)))
    }
}
