//! Draws the UI's state: the task list on the left (a mark for each task's state, its id,
//! the keys below), the selected task's log on the right (its id and state above, the log
//! keys or the newest message below), and the key list over both when asked.

use ansi_to_tui::IntoText;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Clear, List, ListItem, Paragraph};
use ratatui::Frame;

use super::app::{App, TaskState};

/// The keys, as the help popup lists them.
pub const KEYS: &[(&str, &str)] = &[
    ("↑ ↓ or k j", "select a task"),
    ("p", "pin the selection (or follow the newest running task)"),
    ("u d", "scroll the log a line"),
    ("U D, PgUp PgDn", "scroll the log a page"),
    ("t b, Home End", "the log's top, its end (and follow it)"),
    ("/", "filter the tasks (Enter keeps it, Esc clears it)"),
    ("m or ?", "show or hide these keys"),
    ("q, Ctrl-C", "stop the run (again: kill its tasks at once)"),
];

fn state_style(state: TaskState) -> Style {
    match state {
        TaskState::Waiting | TaskState::Skipped => Style::new().fg(Color::DarkGray),
        TaskState::Running => Style::new().fg(Color::Cyan),
        TaskState::Cached => Style::new()
            .fg(Color::Magenta)
            .add_modifier(Modifier::ITALIC),
        TaskState::Done => Style::new().fg(Color::Green),
        TaskState::Failed | TaskState::Interrupted => {
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
        }
    }
}

/// The width of the task list: the longest id and its mark, within a third of the screen.
fn list_width(app: &App, area: Rect) -> u16 {
    let longest = app
        .tasks
        .iter()
        .map(|t| t.id.to_string().chars().count())
        .max()
        .unwrap_or(0);
    let wanted = u16::try_from(longest + 6).unwrap_or(u16::MAX).max(22);
    wanted.min(area.width / 3).max(area.width.min(12))
}

/// Draws the whole screen.
pub fn render(app: &mut App, frame: &mut Frame<'_>) {
    let area = frame.area();
    let [left, right] = Layout::horizontal([
        Constraint::Length(list_width(app, area)),
        Constraint::Min(1),
    ])
    .areas(area);
    render_list(app, frame, left);
    render_pane(app, frame, right);
    if app.help {
        render_help(frame, area);
    }
}

fn render_list(app: &mut App, frame: &mut Frame<'_>, area: Rect) {
    let block = Block::new().borders(Borders::RIGHT);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [title, list, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(2),
    ])
    .areas(inner);
    let heading = match (app.typing, app.filter.is_empty()) {
        (true, _) => format!("Tasks /{}▏", app.filter),
        (false, false) => format!("Tasks /{} (Esc clears)", app.filter),
        (false, true) => "Tasks (/ filter)".to_owned(),
    };
    frame.render_widget(
        Paragraph::new(heading).style(Style::new().add_modifier(Modifier::BOLD)),
        title,
    );
    let visible = app.visible();
    let selected = app.selected();
    let items: Vec<ListItem<'_>> = visible
        .iter()
        .map(|&i| {
            let task = &app.tasks[i];
            let style = state_style(task.state);
            ListItem::new(Line::from(vec![
                Span::styled(format!(" {} ", task.state.symbol()), style),
                Span::raw(task.id.to_string()),
            ]))
        })
        .collect();
    app.list
        .select(selected.and_then(|s| visible.iter().position(|&v| v == s)));
    let list_widget =
        List::new(items).highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    frame.render_stateful_widget(list_widget, list, &mut app.list);
    let pin = if app.pinned() { "p unpin" } else { "p pin" };
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(format!("↑↓ select · {pin}")),
            Line::from("m keys · q quit"),
        ])
        .style(Style::new().fg(Color::DarkGray)),
        keys,
    );
}

/// A log line as styled text: its SGR colors kept, other escape sequences dropped, tabs
/// expanded.
fn log_line(bytes: &[u8]) -> Line<'static> {
    let bytes: Vec<u8> = match bytes.contains(&b'\t') {
        true => bytes
            .iter()
            .flat_map(|&b| match b {
                b'\t' => b"    ".to_vec(),
                b => vec![b],
            })
            .collect(),
        false => bytes.to_vec(),
    };
    match bytes.into_text() {
        Ok(text) => text.lines.into_iter().next().unwrap_or_default(),
        Err(_) => Line::from(String::from_utf8_lossy(&bytes).into_owned()),
    }
}

fn render_pane(app: &mut App, frame: &mut Frame<'_>, area: Rect) {
    let [title, log, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let log = log.inner(ratatui::layout::Margin::new(1, 0));
    app.log_height = usize::from(log.height);
    let Some(selected) = app.selected() else {
        let text = match app.tasks.is_empty() {
            true => "planning the run…",
            false => "no task matches the filter",
        };
        frame.render_widget(Paragraph::new(format!(" {text}")), title);
        return;
    };
    let top = app.log_top(app.log_height);
    let task = &app.tasks[selected];
    let mut heading = vec![
        Span::styled(
            format!(" {} ", task.id),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::raw("> "),
        Span::styled(task.state.label(), state_style(task.state)),
    ];
    if !app.follows() {
        heading.push(Span::styled(
            format!(
                "  (lines {}-{} of {}; b: end)",
                top + 1,
                (top + app.log_height).min(task.log.len()),
                task.log.len()
            ),
            Style::new().fg(Color::DarkGray),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(heading)), title);
    let end = (top + app.log_height).min(task.log.len());
    let lines: Vec<Line<'static>> = (top..end).map(|i| log_line(task.log.line(i))).collect();
    frame.render_widget(Paragraph::new(Text::from(lines)), log);
    let footer_line = match app.messages.last() {
        Some(message) => Line::styled(format!(" {message}"), Style::new().fg(Color::Yellow)),
        None => Line::styled(
            " u/d scroll · U/D page · t/b top/end · m keys",
            Style::new().fg(Color::DarkGray),
        ),
    };
    frame.render_widget(Paragraph::new(footer_line), footer);
}

fn render_help(frame: &mut Frame<'_>, area: Rect) {
    let key_width = KEYS
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let what_width = KEYS
        .iter()
        .map(|(_, w)| w.chars().count())
        .max()
        .unwrap_or(0);
    // A space, the key column, two spaces, the description, a space, and the borders.
    let width = u16::try_from(key_width + what_width + 6)
        .unwrap_or(u16::MAX)
        .min(area.width);
    let height = u16::try_from(KEYS.len() + 2)
        .unwrap_or(u16::MAX)
        .min(area.height);
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    let lines: Vec<Line<'_>> = KEYS
        .iter()
        .map(|(key, what)| {
            Line::from(vec![
                Span::styled(
                    format!(" {key:<key_width$}"),
                    Style::new().add_modifier(Modifier::BOLD),
                ),
                Span::raw(format!("  {what}")),
            ])
        })
        .collect();
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Keys (m closes) ")),
        popup,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::Event;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    fn screen(app: &mut App, width: u16, height: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal.draw(|frame| render(app, frame)).unwrap();
        let buffer = terminal.backend().buffer();
        let mut out = String::new();
        for y in 0..buffer.area.height {
            for x in 0..buffer.area.width {
                out.push_str(buffer[(x, y)].symbol());
            }
            out.push('\n');
        }
        out
    }

    fn id(s: &str) -> mono_engine::TaskId {
        s.parse().unwrap()
    }

    #[test]
    fn the_list_shows_each_state_and_the_pane_the_selected_log() {
        let mut app = App::new();
        app.apply(Event::Tasks(vec![
            id("lib#build"),
            id("app#build"),
            id("web#build"),
        ]));
        app.apply(Event::Started(id("lib#build")));
        app.apply(Event::Output(
            id("lib#build"),
            b"cache hit, replaying logs 1a2b\nlib says \x1b[32mhi\x1b[0m\n".to_vec(),
        ));
        app.apply(Event::Ended(id("lib#build"), TaskState::Cached));
        app.apply(Event::Started(id("app#build")));
        app.apply(Event::Output(
            id("app#build"),
            b"compiling\r50%\r100%".to_vec(),
        ));
        let screen = screen(&mut app, 80, 12);
        assert!(screen.contains(" ⊙ lib#build"), "{screen}");
        assert!(screen.contains(" » app#build"), "{screen}");
        assert!(screen.contains(" · web#build"), "{screen}");
        assert!(screen.contains("app#build > running"), "{screen}");
        assert!(screen.contains("100%"), "{screen}");
        assert!(!screen.contains("compiling"), "{screen}");

        app.key(ratatui::crossterm::event::KeyEvent::from(
            ratatui::crossterm::event::KeyCode::Up,
        ));
        let screen = super::tests::screen(&mut app, 80, 12);
        assert!(screen.contains("lib#build > cache hit"), "{screen}");
        // The color codes are gone from the text.
        assert!(screen.contains("lib says hi"), "{screen}");
    }

    #[test]
    fn help_lists_the_keys_and_messages_show_at_the_bottom() {
        let mut app = App::new();
        app.apply(Event::Tasks(vec![id("lib#build")]));
        app.apply(Event::Message(
            "warning: the remote cache is unavailable".to_owned(),
        ));
        let screen_text = screen(&mut app, 100, 16);
        assert!(
            screen_text.contains("warning: the remote cache is unavailable"),
            "{screen_text}"
        );
        app.help = true;
        let screen_text = screen(&mut app, 100, 16);
        for (key, what) in KEYS {
            assert!(screen_text.contains(key), "{key} missing:\n{screen_text}");
            assert!(screen_text.contains(what), "{what} missing:\n{screen_text}");
        }
    }
}
