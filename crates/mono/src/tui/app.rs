//! The terminal UI's state: the tasks and their states and logs, which one is selected, how
//! far its log is scrolled, the filter, and what each key does. No terminal here: the view
//! draws this state, the session feeds it events and keys.

use std::collections::HashMap;

use mono_engine::{JobResult, TaskId};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::widgets::ListState;

use super::log::TaskLog;

/// Where a task is, as the task list shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    /// Waiting for its dependencies or a free slot.
    Waiting,
    /// Its command runs (or its cache entry is being restored).
    Running,
    /// A cache hit: its outputs were restored and its log replayed.
    Cached,
    /// Its command succeeded.
    Done,
    /// Its command failed.
    Failed,
    /// The run was interrupted while it ran.
    Interrupted,
    /// It never ran: a dependency failed or the run stopped.
    Skipped,
}

impl TaskState {
    /// How a task that started ended; `None` for a task without a command.
    pub fn from_result(result: &JobResult) -> Option<Self> {
        Some(match result {
            JobResult::Succeeded { .. } => Self::Done,
            JobResult::Cached { .. } => Self::Cached,
            JobResult::Failed { .. } => Self::Failed,
            JobResult::Interrupted { .. } => Self::Interrupted,
            JobResult::Skipped { .. } => Self::Skipped,
            JobResult::NoCommand => return None,
        })
    }

    /// The mark before the task's id in the list (Turborepo's, and a dot for waiting).
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Waiting => "·",
            Self::Running => "»",
            Self::Cached => "⊙",
            Self::Done => "✓",
            Self::Failed => "⨯",
            Self::Interrupted => "!",
            Self::Skipped => "-",
        }
    }

    /// The state in words, in the pane's title.
    pub fn label(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Running => "running",
            Self::Cached => "cache hit",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Interrupted => "interrupted",
            Self::Skipped => "skipped",
        }
    }
}

/// What the run tells the UI.
#[derive(Debug)]
pub enum Event {
    /// The tasks of the run, in the order the list shows them (dependencies first).
    Tasks(Vec<TaskId>),
    /// Of the tasks listed, only these run here (a CI shard's own tasks and those it takes
    /// from other shards): the others leave the list.
    Only(Vec<TaskId>),
    /// A task was handed to a worker: its cache lookup, then its command.
    Started(TaskId),
    /// What a task printed next.
    Output(TaskId, Vec<u8>),
    /// How a task ended.
    Ended(TaskId, TaskState),
    /// A warning or a note, shown at the bottom and printed again when the UI closes.
    Message(String),
}

/// What a key asks of the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Nothing beyond redrawing.
    None,
    /// Stop the run (`q`, Ctrl-C): the first time gracefully, then at once.
    Interrupt,
}

/// One task in the list.
#[derive(Debug)]
pub struct Task {
    /// Its id.
    pub id: TaskId,
    /// Its state.
    pub state: TaskState,
    /// What it printed.
    pub log: TaskLog,
    /// When it started, counted in starts: the newest running task is followed.
    started: Option<u64>,
}

/// The UI's whole state.
#[derive(Debug, Default)]
pub struct App {
    /// The tasks, in list order.
    pub tasks: Vec<Task>,
    index: HashMap<TaskId, usize>,
    /// The selected task (an index into `tasks`), if any.
    selected: Option<usize>,
    /// The user chose the selected task; unpinned, the newest running task is selected.
    pinned: bool,
    /// The first log line shown; `None`: the log's end, following new lines.
    scroll: Option<usize>,
    /// Only tasks whose id contains this (case-insensitive) are listed.
    pub filter: String,
    /// Keys type into the filter (after `/`).
    pub typing: bool,
    /// The key list is shown.
    pub help: bool,
    /// Warnings and notes, in order.
    pub messages: Vec<String>,
    /// How many log lines the pane showed when last drawn (for paging).
    pub log_height: usize,
    /// The list's scroll position, kept between frames.
    pub list: ListState,
    starts: u64,
}

impl App {
    /// An empty UI: the tasks come with [`Event::Tasks`].
    pub fn new() -> App {
        App::default()
    }

    /// Applies what the run said.
    pub fn apply(&mut self, event: Event) {
        match event {
            Event::Tasks(ids) => {
                for id in ids {
                    if !self.index.contains_key(&id) {
                        self.index.insert(id.clone(), self.tasks.len());
                        self.tasks.push(Task {
                            id,
                            state: TaskState::Waiting,
                            log: TaskLog::default(),
                            started: None,
                        });
                    }
                }
                if self.selected.is_none() && !self.tasks.is_empty() {
                    self.selected = Some(0);
                }
            }
            Event::Only(ids) => {
                let keep: std::collections::HashSet<TaskId> = ids.into_iter().collect();
                let was = self.selected.map(|at| self.tasks[at].id.clone());
                self.tasks.retain(|task| keep.contains(&task.id));
                self.index = self
                    .tasks
                    .iter()
                    .enumerate()
                    .map(|(i, task)| (task.id.clone(), i))
                    .collect();
                match was.and_then(|id| self.index.get(&id).copied()) {
                    Some(at) => self.selected = Some(at),
                    None => {
                        self.selected = (!self.tasks.is_empty()).then_some(0);
                        self.pinned = false;
                        self.scroll = None;
                    }
                }
            }
            Event::Started(id) => {
                let Some(&at) = self.index.get(&id) else {
                    return;
                };
                self.starts += 1;
                self.tasks[at].state = TaskState::Running;
                self.tasks[at].started = Some(self.starts);
                if !self.pinned {
                    self.select(at);
                }
            }
            Event::Output(id, bytes) => {
                if let Some(&at) = self.index.get(&id) {
                    self.tasks[at].log.push(&bytes);
                }
            }
            Event::Ended(id, state) => {
                let Some(&at) = self.index.get(&id) else {
                    return;
                };
                self.tasks[at].state = state;
                if !self.pinned && self.selected == Some(at) {
                    if let Some(newest) = self.newest_running() {
                        self.select(newest);
                    }
                }
            }
            Event::Message(message) => self.messages.push(message),
        }
    }

    fn newest_running(&self) -> Option<usize> {
        self.tasks
            .iter()
            .enumerate()
            .filter(|(_, t)| t.state == TaskState::Running)
            .max_by_key(|(_, t)| t.started)
            .map(|(i, _)| i)
    }

    fn select(&mut self, at: usize) {
        if self.selected != Some(at) {
            self.selected = Some(at);
            self.scroll = None;
        }
    }

    /// The tasks the filter lets through, as indices into `tasks`.
    pub fn visible(&self) -> Vec<usize> {
        let filter = self.filter.to_lowercase();
        (0..self.tasks.len())
            .filter(|&i| {
                filter.is_empty()
                    || self.tasks[i]
                        .id
                        .to_string()
                        .to_lowercase()
                        .contains(&filter)
            })
            .collect()
    }

    /// The selected task, if the filter shows it.
    pub fn selected(&self) -> Option<usize> {
        self.selected.filter(|s| self.visible().contains(s))
    }

    /// Whether the user chose the selected task.
    pub fn pinned(&self) -> bool {
        self.pinned
    }

    /// The first log line to show, for a pane `height` lines high.
    pub fn log_top(&self, height: usize) -> usize {
        let len = self.selected().map_or(0, |s| self.tasks[s].log.len());
        let bottom = len.saturating_sub(height);
        self.scroll.map_or(bottom, |top| top.min(bottom))
    }

    /// Whether the pane follows the log's end.
    pub fn follows(&self) -> bool {
        self.scroll.is_none()
    }

    /// Moves the selection `by` places in the visible list, and pins it.
    fn move_selection(&mut self, by: isize) {
        let visible = self.visible();
        if visible.is_empty() {
            return;
        }
        let at = self
            .selected
            .and_then(|s| visible.iter().position(|&v| v == s));
        let next = match at {
            Some(at) => at.saturating_add_signed(by).min(visible.len() - 1),
            None => 0,
        };
        self.pinned = true;
        self.select(visible[next]);
    }

    /// Scrolls the log `by` lines (negative: up).
    fn scroll_by(&mut self, by: isize) {
        let height = self.log_height.max(1);
        let len = self.selected().map_or(0, |s| self.tasks[s].log.len());
        let bottom = len.saturating_sub(height);
        let top = self.log_top(height).saturating_add_signed(by).min(bottom);
        self.scroll = (top < bottom).then_some(top);
    }

    fn page(&self) -> isize {
        isize::try_from(self.log_height.max(2) - 1).unwrap_or(isize::MAX)
    }

    /// What `key` does.
    pub fn key(&mut self, key: KeyEvent) -> Action {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && matches!(key.code, KeyCode::Char('c')) {
            return Action::Interrupt;
        }
        if self.typing {
            match key.code {
                KeyCode::Char(c) if !ctrl => self.filter.push(c),
                KeyCode::Backspace => {
                    self.filter.pop();
                }
                KeyCode::Enter => self.typing = false,
                KeyCode::Esc => {
                    self.filter.clear();
                    self.typing = false;
                }
                _ => {}
            }
            // The selection follows the filter: the first task it lets through.
            let visible = self.visible();
            if self.selected.is_none_or(|s| !visible.contains(&s)) {
                if let Some(&first) = visible.first() {
                    self.select(first);
                }
            }
            return Action::None;
        }
        match key.code {
            KeyCode::Char('q') => return Action::Interrupt,
            KeyCode::Up | KeyCode::Char('k') => self.move_selection(-1),
            KeyCode::Down | KeyCode::Char('j') => self.move_selection(1),
            KeyCode::Char('p') => self.pinned = !self.pinned,
            KeyCode::Char('u') => self.scroll_by(-1),
            KeyCode::Char('d') => self.scroll_by(1),
            KeyCode::PageUp | KeyCode::Char('U') => self.scroll_by(-self.page()),
            KeyCode::PageDown | KeyCode::Char('D') => self.scroll_by(self.page()),
            KeyCode::Home | KeyCode::Char('t') => self.scroll = Some(0),
            KeyCode::End | KeyCode::Char('b') => self.scroll = None,
            KeyCode::Char('/') => {
                self.typing = true;
                self.help = false;
            }
            KeyCode::Char('m' | '?') => self.help = !self.help,
            KeyCode::Esc => {
                self.help = false;
                self.filter.clear();
            }
            _ => {}
        }
        Action::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> TaskId {
        s.parse().unwrap()
    }

    fn press(app: &mut App, code: KeyCode) -> Action {
        app.key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn app() -> App {
        let mut app = App::new();
        app.apply(Event::Tasks(vec![
            id("lib#build"),
            id("app#build"),
            id("web#build"),
        ]));
        app
    }

    fn selected(app: &App) -> String {
        app.tasks[app.selected().unwrap()].id.to_string()
    }

    #[test]
    fn a_shard_lists_only_its_tasks() {
        let mut app = app();
        app.apply(Event::Only(vec![id("web#build"), id("lib#build")]));
        let listed: Vec<String> = app.tasks.iter().map(|t| t.id.to_string()).collect();
        assert_eq!(listed, ["lib#build", "web#build"]);
        app.apply(Event::Started(id("web#build")));
        assert_eq!(selected(&app), "web#build");
        // A task of another shard that is not taken here says nothing.
        app.apply(Event::Started(id("app#build")));
        assert_eq!(app.tasks.len(), 2);
    }

    #[test]
    fn unpinned_selection_follows_the_newest_running_task() {
        let mut app = app();
        assert_eq!(selected(&app), "lib#build");
        app.apply(Event::Started(id("lib#build")));
        app.apply(Event::Started(id("web#build")));
        assert_eq!(selected(&app), "web#build");
        app.apply(Event::Ended(id("web#build"), TaskState::Done));
        assert_eq!(selected(&app), "lib#build");
        assert_eq!(app.tasks[2].state, TaskState::Done);
    }

    #[test]
    fn keys_select_and_pin() {
        let mut app = app();
        app.apply(Event::Started(id("web#build")));
        press(&mut app, KeyCode::Char('k'));
        assert_eq!(selected(&app), "app#build");
        assert!(app.pinned());
        // Pinned: a task starting elsewhere does not take the selection.
        app.apply(Event::Started(id("lib#build")));
        assert_eq!(selected(&app), "app#build");
        press(&mut app, KeyCode::Up);
        press(&mut app, KeyCode::Up);
        assert_eq!(selected(&app), "lib#build");
        press(&mut app, KeyCode::Down);
        press(&mut app, KeyCode::Char('j'));
        press(&mut app, KeyCode::Char('j'));
        assert_eq!(selected(&app), "web#build");
        press(&mut app, KeyCode::Char('p'));
        assert!(!app.pinned());
    }

    #[test]
    fn output_and_replayed_logs_go_to_their_task() {
        let mut app = app();
        app.apply(Event::Started(id("lib#build")));
        app.apply(Event::Output(
            id("lib#build"),
            b"cache hit, replaying logs 1234\nlib-line\n".to_vec(),
        ));
        app.apply(Event::Ended(id("lib#build"), TaskState::Cached));
        app.apply(Event::Output(id("app#build"), b"other\n".to_vec()));
        assert_eq!(app.tasks[0].log.len(), 2);
        assert_eq!(app.tasks[0].log.line(1), b"lib-line");
        assert_eq!(app.tasks[0].state, TaskState::Cached);
        assert_eq!(app.tasks[1].log.raw(), b"other\n");
    }

    #[test]
    fn the_filter_narrows_the_list_and_escape_clears_it() {
        let mut app = app();
        press(&mut app, KeyCode::Char('/'));
        for c in "WEB".chars() {
            press(&mut app, KeyCode::Char(c));
        }
        // Typing: `q` is a letter of the filter, not quit.
        assert_eq!(press(&mut app, KeyCode::Char('q')), Action::None);
        press(&mut app, KeyCode::Backspace);
        press(&mut app, KeyCode::Enter);
        assert_eq!(app.visible(), vec![2]);
        assert_eq!(selected(&app), "web#build");
        press(&mut app, KeyCode::Esc);
        assert_eq!(app.visible(), vec![0, 1, 2]);
    }

    #[test]
    fn scrolling_stops_at_both_ends_and_the_end_follows_new_lines() {
        let mut app = app();
        let text: String = (1..=20).map(|i| format!("line {i}\n")).collect();
        app.apply(Event::Output(id("lib#build"), text.into_bytes()));
        app.log_height = 5;
        assert_eq!(app.log_top(5), 15);
        assert!(app.follows());
        press(&mut app, KeyCode::Char('u'));
        assert_eq!(app.log_top(5), 14);
        press(&mut app, KeyCode::PageUp);
        assert_eq!(app.log_top(5), 10);
        press(&mut app, KeyCode::Char('t'));
        assert_eq!(app.log_top(5), 0);
        press(&mut app, KeyCode::Char('u'));
        assert_eq!(app.log_top(5), 0);
        // Scrolled up, new lines do not move the view.
        app.apply(Event::Output(id("lib#build"), b"more\n".to_vec()));
        assert_eq!(app.log_top(5), 0);
        press(&mut app, KeyCode::Char('D'));
        assert_eq!(app.log_top(5), 4);
        press(&mut app, KeyCode::Char('b'));
        assert!(app.follows());
        assert_eq!(app.log_top(5), 16);
        // Scrolling down to the end follows again.
        press(&mut app, KeyCode::Char('u'));
        press(&mut app, KeyCode::Char('d'));
        assert!(app.follows());
    }

    #[test]
    fn q_and_ctrl_c_interrupt() {
        let mut app = app();
        assert_eq!(press(&mut app, KeyCode::Char('q')), Action::Interrupt);
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(app.key(ctrl_c), Action::Interrupt);
        app.typing = true;
        assert_eq!(app.key(ctrl_c), Action::Interrupt);
    }

    #[test]
    fn results_map_to_states() {
        use std::time::Duration;
        let done = JobResult::Succeeded {
            duration: Duration::ZERO,
        };
        assert_eq!(TaskState::from_result(&done), Some(TaskState::Done));
        let hit = JobResult::Cached {
            time_saved: Duration::ZERO,
        };
        assert_eq!(TaskState::from_result(&hit), Some(TaskState::Cached));
        assert_eq!(TaskState::from_result(&JobResult::NoCommand), None);
    }
}
