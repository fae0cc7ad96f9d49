//! The progress line shown at the bottom of a terminal while tasks run: how many tasks are
//! done and which are running. Only on a terminal and outside CI; elsewhere output is plain
//! lines. Task output is written above the line (`ProgressBar::suspend`), never through it.

use std::io::{self, IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mono_engine::TaskId;

/// The progress line of one run.
pub struct Progress {
    bar: ProgressBar,
    running: Mutex<Vec<TaskId>>,
}

/// Whether to show a progress line: stderr is a terminal and `CI` is unset or false.
pub fn wanted() -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
    io::stderr().is_terminal() && !ci
}

impl Progress {
    /// A progress line over `total` tasks with commands.
    pub fn new(total: u64) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {pos}/{len} tasks done · running: {wide_msg}")
                .expect("a valid template"),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress {
            bar,
            running: Mutex::new(Vec::new()),
        }
    }

    fn show_running(&self, running: &[TaskId]) {
        let names: Vec<String> = running.iter().map(ToString::to_string).collect();
        self.bar.set_message(names.join(", "));
    }

    /// A task started.
    pub fn start(&self, id: &TaskId) {
        let mut running = self.running.lock().expect("not poisoned");
        running.push(id.clone());
        self.show_running(&running);
    }

    /// A task ended, however.
    pub fn finish(&self, id: &TaskId) {
        let mut running = self.running.lock().expect("not poisoned");
        running.retain(|r| r != id);
        self.show_running(&running);
        self.bar.inc(1);
    }

    /// Removes the line, before the summary is printed.
    pub fn clear(&self) {
        self.bar.finish_and_clear();
    }

    /// Runs `f` with the progress line lifted out of the way.
    pub fn suspend(&self, f: impl FnOnce()) {
        self.bar.suspend(f);
    }

    /// A writer for task output that prints above the progress line.
    pub fn writer(&self) -> ProgressWriter {
        ProgressWriter {
            bar: self.bar.clone(),
        }
    }
}

/// Writes to stdout with the progress line lifted out of the way.
pub struct ProgressWriter {
    bar: ProgressBar,
}

impl Write for ProgressWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bar.suspend(|| io::stdout().lock().write_all(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stdout().flush()
    }
}
