//! The progress line shown at the bottom of a terminal while tasks run: how many tasks are
//! done and which are running. Only on a terminal and outside CI; elsewhere output is plain
//! lines. Task output is written above the line (`ProgressBar::suspend`), never through it.

use std::collections::HashSet;
use std::io::{self, IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mono_engine::{PlannedTask, TaskId};

/// The progress line of one run.
pub struct Progress {
    bar: ProgressBar,
    running: Mutex<Vec<TaskId>>,
    /// With `--shard`: the tasks taken from other shards, and how many of them are in.
    taken: Mutex<Taken>,
}

#[derive(Default)]
struct Taken {
    tasks: HashSet<TaskId>,
    done: usize,
}

impl Taken {
    /// ` · taken from other shards: 2/5`, or nothing outside a shard.
    fn text(&self) -> String {
        match self.tasks.len() {
            0 => String::new(),
            total => format!(" · taken from other shards: {}/{total}", self.done),
        }
    }
}

/// Whether to show a progress line: stderr is a terminal and `CI` is unset or false.
pub fn wanted() -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
    io::stderr().is_terminal() && !ci
}

impl Progress {
    /// A progress line over `total` tasks with commands.
    pub fn new(total: u64) -> Progress {
        Progress::drawn_to(total, ProgressDrawTarget::stderr())
    }

    fn drawn_to(total: u64, target: ProgressDrawTarget) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(total), target);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {pos}/{len} tasks done{prefix} · running: {wide_msg}",
            )
            .expect("a valid template"),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress {
            bar,
            running: Mutex::new(Vec::new()),
            taken: Mutex::new(Taken::default()),
        }
    }

    /// The run's tasks are known: with `--shard`, the count becomes this shard's own
    /// tasks, and those taken from other shards are counted apart.
    pub fn planned(&self, tasks: &[PlannedTask]) {
        let mut taken = self.taken.lock().expect("not poisoned");
        taken.tasks = tasks
            .iter()
            .filter(|t| t.from_shard.is_some())
            .map(|t| t.id.clone())
            .collect();
        taken.done = 0;
        self.bar
            .set_length((tasks.len() - taken.tasks.len()) as u64);
        self.bar.set_prefix(taken.text());
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
        let mut taken = self.taken.lock().expect("not poisoned");
        match taken.tasks.contains(id) {
            true => {
                taken.done += 1;
                self.bar.set_prefix(taken.text());
            }
            false => self.bar.inc(1),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn task(name: &str, from_shard: Option<&str>) -> PlannedTask {
        PlannedTask {
            id: name.parse().unwrap(),
            from_shard: from_shard.map(str::to_owned),
        }
    }

    #[test]
    fn a_shard_counts_its_own_tasks_and_those_it_takes_apart() {
        // The whole run has 10 tasks; this shard runs 3 and takes 2 from shard 1/4.
        let progress = Progress::drawn_to(10, ProgressDrawTarget::hidden());
        progress.planned(&[
            task("core#build", Some("1/4")),
            task("a#build", Some("1/4")),
            task("b#build", None),
            task("c#build", None),
            task("d#build", None),
        ]);
        assert_eq!(progress.bar.length(), Some(3));
        assert_eq!(progress.bar.prefix(), " · taken from other shards: 0/2");
        let core = "core#build".parse().unwrap();
        progress.start(&core);
        progress.finish(&core);
        assert_eq!(progress.bar.position(), 0);
        assert_eq!(progress.bar.prefix(), " · taken from other shards: 1/2");
        let b = "b#build".parse().unwrap();
        progress.start(&b);
        progress.finish(&b);
        assert_eq!(progress.bar.position(), 1);
    }

    #[test]
    fn a_run_without_shards_counts_every_task() {
        let progress = Progress::drawn_to(2, ProgressDrawTarget::hidden());
        progress.planned(&[task("a#build", None), task("b#build", None)]);
        assert_eq!(progress.bar.length(), Some(2));
        assert_eq!(progress.bar.prefix(), "");
        let a = "a#build".parse().unwrap();
        progress.finish(&a);
        assert_eq!(progress.bar.position(), 1);
    }
}
