//! The one place that writes for people: miette's graphical report for errors (file:line:col,
//! the line, a caret, a hint), colored only on a terminal; warnings and notes on stderr;
//! the progress line; and what commands print on stdout.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use miette::{GraphicalReportHandler, GraphicalTheme};
use mono_engine::{EngineError, Reporter, TaskId};

use crate::error::Error;
use crate::progress::Progress;

/// Prints `err` to stderr. Errors that hold several problems (every problem of a config
/// file) are printed one by one, then counted.
pub fn print_error(err: &Error) {
    let config = match err {
        Error::Engine(EngineError::Config(errors)) => Some(errors),
        Error::Migrate(mono_engine::migrate::MigrateError::Invalid(errors)) => Some(errors),
        _ => None,
    };
    match config {
        Some(errors) => {
            for problem in &errors.errors {
                print_diagnostic(problem);
            }
            if errors.errors.len() > 1 {
                write_stderr(&format!(
                    "{}: {} problems\n",
                    errors.file,
                    errors.errors.len()
                ));
            }
        }
        None => print_diagnostic(err),
    }
}

/// The width reports wrap at: `COLUMNS` when set (tests fix it), else 100.
fn report_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|&c: &usize| c >= 40)
        .unwrap_or(100)
}

fn print_diagnostic(err: &dyn miette::Diagnostic) {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(report_width());
    let mut out = String::new();
    // Long lines cut first: miette panics on a label past column 65,535.
    if handler
        .render_report(&mut out, &mono_engine::windowed(err))
        .is_err()
    {
        out = format!("error: {err}\n");
    }
    write_stderr(&out);
}

/// Whether a write to stderr failed during this process (see [`write_stderr`]).
static STDERR_FAILED: AtomicBool = AtomicBool::new(false);

/// Writes `text` to stderr; a failure (a full disk, a closed terminal) is recorded, not a
/// panic as with `eprintln!`, and [`stderr_failed`] makes the exit code non-zero.
pub(crate) fn write_stderr(text: &str) {
    let mut err = std::io::stderr().lock();
    if err
        .write_all(text.as_bytes())
        .and_then(|()| err.flush())
        .is_err()
    {
        STDERR_FAILED.store(true, Ordering::SeqCst);
    }
}

/// Whether a warning, note or error could not be written to stderr.
pub fn stderr_failed() -> bool {
    STDERR_FAILED.load(Ordering::SeqCst)
}

/// Writes `text` to stdout. A closed pipe (`mono ls | head`) is not an error; any other
/// failure is.
pub fn stdout(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(source) => Err(Error::Output {
            stream: "stdout",
            source,
        }),
    }
}

/// Warnings, notes and task events for people, on stderr, with the progress line when
/// there is one; or, while the terminal UI is open, to the UI.
#[derive(Default)]
pub struct Terminal {
    progress: std::sync::Mutex<Option<Arc<Progress>>>,
    /// The terminal UI, while it is open.
    tui: std::sync::Mutex<Option<crate::tui::Session>>,
    /// Where the UI's events go, while it is open.
    feed: std::sync::Mutex<Option<crate::tui::Feed>>,
}

impl Terminal {
    /// A reporter that prints to stderr.
    pub fn new() -> Arc<Terminal> {
        Arc::new(Terminal::default())
    }

    /// Shows a progress line over `total` tasks from now on, when stderr is a terminal
    /// outside CI; returns it.
    pub fn start_progress(&self, total: u64) -> Option<Arc<Progress>> {
        let progress = crate::progress::wanted().then(|| Arc::new(Progress::new(total)));
        *self.progress.lock().unwrap_or_else(|p| p.into_inner()) = progress.clone();
        progress
    }

    /// Removes the progress line, before the summary.
    pub fn clear_progress(&self) {
        if let Some(progress) = self
            .progress
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            progress.clear();
        }
    }

    /// From now on, messages and task events go to the terminal UI `session`.
    pub fn attach_tui(&self, session: crate::tui::Session) {
        *self.feed.lock().unwrap_or_else(|p| p.into_inner()) = Some(session.feed());
        *self.tui.lock().unwrap_or_else(|p| p.into_inner()) = Some(session);
    }

    /// Tells the terminal UI, if one is open, which tasks the run has; whether one is.
    pub fn tui_tasks(&self, tasks: Vec<TaskId>) -> bool {
        self.to_tui(crate::tui::Event::Tasks(tasks))
    }

    /// Closes the terminal UI, if one is open, giving the terminal back; messages go to
    /// stderr again. Returns the UI's state, for the logs it leaves on the terminal.
    pub fn close_tui(&self) -> Option<crate::tui::App> {
        self.feed.lock().unwrap_or_else(|p| p.into_inner()).take();
        let session = self.tui.lock().unwrap_or_else(|p| p.into_inner()).take()?;
        let (app, error) = session.close();
        for message in &app.messages {
            write_stderr(&format!("{message}\n"));
        }
        if let Some(error) = error {
            write_stderr(&format!(
                "warning: the terminal UI stopped early: {error}; the run went on\n"
            ));
        }
        Some(app)
    }

    /// Sends `event` to the terminal UI; whether one is open.
    fn to_tui(&self, event: crate::tui::Event) -> bool {
        match &*self.feed.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(feed) => {
                feed.send(event);
                true
            }
            None => false,
        }
    }

    fn progress(&self) -> Option<Arc<Progress>> {
        self.progress
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn line(&self, line: &str) {
        if self.to_tui(crate::tui::Event::Message(line.to_owned())) {
            return;
        }
        let write = || write_stderr(&format!("{line}\n"));
        match self.progress() {
            Some(progress) => progress.suspend(write),
            None => write(),
        }
    }
}

impl Reporter for Terminal {
    fn warn(&self, message: &str) {
        self.line(&format!("warning: {message}"));
    }

    fn note(&self, message: &str) {
        self.line(message);
    }

    fn tasks_planned(&self, tasks: &[mono_engine::PlannedTask]) {
        // A CI shard lists its own tasks and those it takes; a whole run, every task.
        let ids = tasks.iter().map(|t| t.id.clone()).collect();
        self.to_tui(crate::tui::Event::Only(ids));
        if let Some(progress) = self.progress() {
            progress.planned(tasks);
        }
    }

    fn task_started(&self, task: &TaskId) {
        self.to_tui(crate::tui::Event::Started(task.clone()));
        if let Some(progress) = self.progress() {
            progress.start(task);
        }
    }

    fn task_finished(&self, task: &TaskId) {
        if let Some(progress) = self.progress() {
            progress.finish(task);
        }
    }

    fn task_result(&self, task: &TaskId, result: &mono_engine::JobResult) {
        if let Some(state) = crate::tui::TaskState::from_result(result) {
            self.to_tui(crate::tui::Event::Ended(task.clone(), state));
        }
    }

    fn task_output(&self, task: &TaskId, bytes: &[u8]) {
        self.to_tui(crate::tui::Event::Output(task.clone(), bytes.to_vec()));
    }
}
