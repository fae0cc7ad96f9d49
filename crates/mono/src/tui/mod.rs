//! The terminal UI (`--ui=tui`), as in Turborepo: the run's tasks on the left with their
//! states, the selected task's log on the right, keys to select, scroll, filter and stop.
//! The engine sends each task's output to the reporter (`per_task_output`), which feeds it
//! here instead of printing it; when the run ends the UI closes and leaves each task's log
//! and the summary on the terminal (docs/tui.md).

mod app;
mod closing;
mod log;
mod session;
mod view;

pub use app::{App, Event, TaskState};
pub use closing::print_logs;
pub use session::{available, Feed, Session};
