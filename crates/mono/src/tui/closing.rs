//! What the UI leaves on the terminal when it closes: each task's log, as `--ui=stream
//! --log-order=grouped` would have printed it, so that it stays in the scrollback.

use super::app::App;

/// Each task's log, in the list's order, each line prefixed `package:task: ` unless
/// `prefix` is false; tasks that printed nothing are left out.
pub fn print_logs(app: &App, prefix: bool) -> String {
    let mut out = String::new();
    for task in &app.tasks {
        if task.log.raw().is_empty() {
            continue;
        }
        let text = String::from_utf8_lossy(task.log.raw());
        let head = match prefix {
            true => format!("{}:{}: ", task.id.package(), task.id.task()),
            false => String::new(),
        };
        for line in text.lines() {
            out.push_str(&head);
            out.push_str(line.rsplit('\r').next().unwrap_or(line));
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::{Event, TaskState};

    #[test]
    fn logs_come_grouped_and_prefixed_in_list_order() {
        let mut app = App::new();
        let ids: Vec<mono_engine::TaskId> = ["lib#build", "app#build", "web#build"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        app.apply(Event::Tasks(ids.clone()));
        app.apply(Event::Output(
            ids[1].clone(),
            b"cache miss, executing 12\napp 1\n".to_vec(),
        ));
        app.apply(Event::Output(ids[0].clone(), b"lib 1\n10%\r100%".to_vec()));
        app.apply(Event::Ended(ids[1].clone(), TaskState::Done));
        app.apply(Event::Ended(ids[0].clone(), TaskState::Done));
        assert_eq!(
            print_logs(&app, true),
            "lib:build: lib 1\nlib:build: 100%\napp:build: cache miss, executing 12\napp:build: app 1\n"
        );
        assert_eq!(
            print_logs(&app, false),
            "lib 1\n100%\ncache miss, executing 12\napp 1\n"
        );
    }
}
