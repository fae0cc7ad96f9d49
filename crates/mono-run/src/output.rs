//! What a run prints: prefixed lines, status lines and error lines, written to the caller's
//! sink by one writer thread so that a slow terminal or pipe never stalls the scheduler.

use std::io::Write;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use mono_task_id::TaskId;

use crate::job::{Before, Hooks, Job};
use crate::options::{LogOrder, OutputLogs};
use crate::summary::Failure;

/// Prefix colors, cycled by job index (cyan, magenta, green, yellow, blue, as Turborepo).
const PALETTE: [&str; 5] = ["\x1b[36m", "\x1b[35m", "\x1b[32m", "\x1b[33m", "\x1b[34m"];
const RESET: &str = "\x1b[0m";

/// `package:task: `, colored or not.
pub(crate) fn prefix(id: &TaskId, index: usize, color: bool) -> Vec<u8> {
    let plain = format!("{}:{}: ", id.package(), id.task());
    if color {
        format!("{}{plain}{RESET}", PALETTE[index % PALETTE.len()]).into_bytes()
    } else {
        plain.into_bytes()
    }
}

/// Appends `data` to `buf` with `prefix` before every line; a last line without a newline
/// gets one.
pub(crate) fn prefix_lines(prefix: &[u8], data: &[u8], buf: &mut Vec<u8>) {
    for line in data.split_inclusive(|&b| b == b'\n') {
        buf.extend_from_slice(prefix);
        buf.extend_from_slice(line);
    }
    if data.last().is_some_and(|&b| b != b'\n') {
        buf.push(b'\n');
    }
}

/// The bytes printed, handed to the writer thread.
#[derive(Clone)]
pub(crate) struct PrintSender(mpsc::Sender<Vec<u8>>);

impl PrintSender {
    fn send(&self, bytes: Vec<u8>) {
        if !bytes.is_empty() {
            // The writer thread lives until every sender is gone; a send cannot fail.
            let _ = self.0.send(bytes);
        }
    }
}

/// Where one job's printed bytes go: the shared writer thread, or the job's own
/// [`Hooks::output`] (`OutputTarget::PerJob`).
pub(crate) enum Sink {
    Shared(PrintSender),
    PerJob {
        hooks: Arc<dyn Hooks>,
        jobs: Arc<[Job]>,
        index: usize,
    },
}

impl Sink {
    fn send(&self, bytes: Vec<u8>) {
        match self {
            Sink::Shared(sender) => sender.send(bytes),
            Sink::PerJob { hooks, jobs, index } => {
                if !bytes.is_empty() {
                    hooks.output(&jobs[*index], &bytes);
                }
            }
        }
    }
}

/// The writer thread that owns the caller's sink.
pub(crate) struct Printer {
    sender: PrintSender,
    thread: JoinHandle<()>,
}

impl Printer {
    /// Starts the writer thread. A write error (a closed pipe) silences the rest of the
    /// output; it does not stop the run.
    pub(crate) fn start(out: Box<dyn Write + Send>) -> Self {
        let (tx, rx) = mpsc::channel::<Vec<u8>>();
        let thread = std::thread::Builder::new()
            .name("mono-run-output".to_owned())
            .spawn(move || {
                // Buffered, so that a burst (hundreds of replayed logs at once on a cached
                // run) is one write to the sink, not one per line or chunk.
                let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
                let mut broken = false;
                while let Ok(first) = rx.recv() {
                    // Write what is queued, then flush once: one flush per burst.
                    for chunk in std::iter::once(first).chain(rx.try_iter()) {
                        broken = broken || out.write_all(&chunk).is_err();
                    }
                    broken = broken || out.flush().is_err();
                }
            })
            .expect("failed to start the output thread");
        Self {
            sender: PrintSender(tx),
            thread,
        }
    }

    pub(crate) fn sender(&self) -> PrintSender {
        self.sender.clone()
    }

    /// Waits until everything sent has been written. Every other sender must be dropped.
    pub(crate) fn finish(self) {
        drop(self.sender);
        // A panic of the writer thread (a panicking sink) must not hide the summary.
        let _ = self.thread.join();
    }
}

/// How a job that ran ended, for what is printed after its log.
pub(crate) enum Ending<'a> {
    Succeeded,
    Failed(&'a Failure),
    Interrupted,
}

/// What one job prints, following `--output-logs` and `--log-order`.
pub(crate) struct JobOutput {
    prefix: Vec<u8>,
    hash: Option<String>,
    mode: OutputLogs,
    order: LogOrder,
    sender: Sink,
    /// The status line, held until the end in grouped and errors-only modes.
    status: Vec<u8>,
    /// A streamed line not yet ended by a newline.
    partial: Vec<u8>,
}

impl JobOutput {
    pub(crate) fn new(
        prefix: Vec<u8>,
        hash: Option<String>,
        mode: OutputLogs,
        order: LogOrder,
        sender: Sink,
    ) -> Self {
        Self {
            prefix,
            hash,
            mode,
            order,
            sender,
            status: Vec::new(),
            partial: Vec::new(),
        }
    }

    fn status_line(&self, text: &str) -> Vec<u8> {
        let mut line = self.prefix.clone();
        line.extend_from_slice(text.as_bytes());
        if let Some(hash) = &self.hash {
            line.push(b' ');
            line.extend_from_slice(hash.as_bytes());
        }
        line.push(b'\n');
        line
    }

    fn error_line(&self, failure: &Failure) -> Vec<u8> {
        let mut line = self.prefix.clone();
        let text = match failure {
            // No command ran: the hooks' reason is the whole story.
            Failure::Refused(reason) => format!("ERROR: {reason}\n"),
            failure => format!("ERROR: command finished with error: {failure}\n"),
        };
        line.extend_from_slice(text.as_bytes());
        line
    }

    fn streams_logs(&self) -> bool {
        self.order == LogOrder::Stream
            && matches!(self.mode, OutputLogs::Full | OutputLogs::NewOnly)
    }

    /// A cache hit: replay (or not) its log.
    pub(crate) fn cached(&self, log: &[u8]) {
        let mut buf = match self.mode {
            OutputLogs::Full => self.status_line("cache hit, replaying logs"),
            OutputLogs::HashOnly => self.status_line("cache hit, suppressing logs"),
            OutputLogs::NewOnly => self.status_line("cache hit, suppressing logs"),
            OutputLogs::ErrorsOnly | OutputLogs::None => return,
        };
        if self.mode == OutputLogs::Full {
            prefix_lines(&self.prefix, log, &mut buf);
        }
        self.sender.send(buf);
    }

    /// The command is about to start (a cache miss or bypass).
    pub(crate) fn started(&mut self, before: &Before) {
        let text = match before {
            Before::Bypass => "cache bypass, force executing",
            _ => "cache miss, executing",
        };
        self.status = self.status_line(text);
        if let Before::Miss { reason } = before {
            self.status.extend_from_slice(&self.prefix);
            self.status.extend_from_slice(b"miss: ");
            self.status.extend_from_slice(reason.as_bytes());
            self.status.push(b'\n');
        }
        let prints_now = self.order == LogOrder::Stream
            && matches!(
                self.mode,
                OutputLogs::Full | OutputLogs::HashOnly | OutputLogs::NewOnly
            );
        if prints_now {
            self.sender.send(std::mem::take(&mut self.status));
        }
    }

    /// A chunk of the command's output, as read.
    pub(crate) fn output(&mut self, chunk: &[u8]) {
        if !self.streams_logs() {
            return;
        }
        if matches!(self.sender, Sink::PerJob { .. }) {
            // No prefix to put before each line: a pane shows a line as it grows.
            self.sender.send(chunk.to_vec());
            return;
        }
        let Some(last_newline) = chunk.iter().rposition(|&b| b == b'\n') else {
            self.partial.extend_from_slice(chunk);
            return;
        };
        self.partial.extend_from_slice(&chunk[..=last_newline]);
        let mut buf = Vec::with_capacity(self.partial.len() + 2 * self.prefix.len());
        prefix_lines(&self.prefix, &self.partial, &mut buf);
        self.partial.clear();
        self.partial.extend_from_slice(&chunk[last_newline + 1..]);
        self.sender.send(buf);
    }

    /// The command ended; `log` is all it printed.
    pub(crate) fn finished(&mut self, ending: &Ending<'_>, log: &[u8]) {
        let failure = match ending {
            Ending::Failed(failure) => Some(*failure),
            Ending::Succeeded | Ending::Interrupted => None,
        };
        let mut buf = Vec::new();
        match (self.mode, self.order) {
            (OutputLogs::None, _) => return,
            (OutputLogs::ErrorsOnly, _) => {
                if failure.is_none() {
                    return;
                }
                buf.append(&mut self.status);
                prefix_lines(&self.prefix, log, &mut buf);
            }
            (OutputLogs::HashOnly, _) => buf.append(&mut self.status),
            (OutputLogs::Full | OutputLogs::NewOnly, LogOrder::Stream) => {
                let partial = std::mem::take(&mut self.partial);
                prefix_lines(&self.prefix, &partial, &mut buf);
            }
            (OutputLogs::Full | OutputLogs::NewOnly, LogOrder::Grouped) => {
                buf.append(&mut self.status);
                prefix_lines(&self.prefix, log, &mut buf);
            }
        }
        if let Some(failure) = failure {
            buf.extend_from_slice(&self.error_line(failure));
        }
        self.sender.send(buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    #[test_case("" , "" ; "empty")]
    #[test_case("a\n", "p: a\n" ; "one line")]
    #[test_case("a\nb", "p: a\np: b\n" ; "missing last newline")]
    #[test_case("\n\n", "p: \np: \n" ; "empty lines")]
    fn prefixes_every_line(input: &str, expected: &str) {
        let mut buf = Vec::new();
        prefix_lines(b"p: ", input.as_bytes(), &mut buf);
        assert_eq!(String::from_utf8(buf).unwrap(), expected);
    }

    #[test]
    fn colored_prefix_resets() {
        let id: TaskId = "@acme/web#build".parse().unwrap();
        assert_eq!(prefix(&id, 0, false), b"@acme/web:build: ");
        let colored = String::from_utf8(prefix(&id, 1, true)).unwrap();
        assert_eq!(colored, "\x1b[35m@acme/web:build: \x1b[0m");
    }

    #[test_case(OutputLogs::Full, LogOrder::Stream, true ; "full streamed")]
    #[test_case(OutputLogs::HashOnly, LogOrder::Grouped, true ; "hash-only grouped")]
    #[test_case(OutputLogs::NewOnly, LogOrder::Stream, true ; "new-only")]
    #[test_case(OutputLogs::ErrorsOnly, LogOrder::Stream, false ; "errors-only succeeded")]
    #[test_case(OutputLogs::None, LogOrder::Stream, false ; "none")]
    fn the_miss_reason_follows_the_status_line(mode: OutputLogs, order: LogOrder, shown: bool) {
        let (tx, rx) = mpsc::channel();
        let mut output = JobOutput::new(
            b"web:build: ".to_vec(),
            Some("1f2e".to_owned()),
            mode,
            order,
            Sink::Shared(PrintSender(tx)),
        );
        output.started(&Before::Miss {
            reason: "src/app.ts changed".to_owned(),
        });
        output.finished(&Ending::Succeeded, b"");
        drop(output);
        let printed = String::from_utf8(rx.iter().flatten().collect()).unwrap();
        let expected =
            "web:build: cache miss, executing 1f2e\nweb:build: miss: src/app.ts changed\n";
        match shown {
            true => assert_eq!(printed, expected),
            false => assert_eq!(printed, ""),
        }
    }

    #[test]
    fn a_failed_task_shows_its_miss_reason_in_errors_only() {
        let (tx, rx) = mpsc::channel();
        let mut output = JobOutput::new(
            b"p: ".to_vec(),
            None,
            OutputLogs::ErrorsOnly,
            LogOrder::Stream,
            Sink::Shared(PrintSender(tx)),
        );
        output.started(&Before::Miss {
            reason: "first run of this task".to_owned(),
        });
        output.finished(&Ending::Failed(&Failure::Exit(2)), b"boom\n");
        drop(output);
        let printed = String::from_utf8(rx.iter().flatten().collect()).unwrap();
        assert!(
            printed.starts_with(
                "p: cache miss, executing\np: miss: first run of this task\np: boom\n"
            ),
            "{printed}"
        );
    }

    #[test]
    fn streamed_chunks_split_into_lines() {
        let (tx, rx) = mpsc::channel();
        let mut output = JobOutput::new(
            b"p: ".to_vec(),
            None,
            OutputLogs::Full,
            LogOrder::Stream,
            Sink::Shared(PrintSender(tx)),
        );
        output.output(b"one\ntw");
        output.output(b"o");
        output.output(b"\nthree");
        output.finished(&Ending::Succeeded, b"");
        drop(output);
        let printed: Vec<u8> = rx.iter().flatten().collect();
        assert_eq!(
            String::from_utf8(printed).unwrap(),
            "p: one\np: two\np: three\n"
        );
    }
}
