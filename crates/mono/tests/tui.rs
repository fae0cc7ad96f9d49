//! The terminal UI (`--ui=tui`, docs/tui.md): the real binary in a real terminal, tmux's,
//! whose screen the tests read (`tmux capture-pane`) and type into (`tmux send-keys`).
//!
//! The repository has two tasks: `lib#build` prints two lines; `app#build` (which depends
//! on it) prints a line, records its shell's pid, and waits until the test creates a gate
//! file, so the UI is live for as long as a test needs it, and no test sleeps a fixed time.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{commit_all, mono, svc_repo};

/// How long a test waits for the screen to show something.
const PATIENCE: Duration = Duration::from_secs(60);

/// `lib` and `app`, generic packages; `app#build` waits for `<repo>/../gate`.
fn repo(extra_root_config: &str) -> (tempfile::TempDir, PathBuf) {
    let (dir, root) = svc_repo(&format!(
        "{extra_root_config}workspaces = [\"lib\", \"app\"]\n\n[tasks.build]\ndependsOn = [\"^build\"]\noutputs = [\"out/**\"]\n"
    ));
    std::fs::create_dir_all(root.join("lib")).unwrap();
    std::fs::create_dir_all(root.join("app")).unwrap();
    std::fs::write(
        root.join("lib/turbo.toml"),
        "name = \"lib\"\n[tasks.build]\ncommand = \"echo lib-line-one && echo lib-line-two\"\n",
    )
    .unwrap();
    std::fs::write(
        root.join("app/turbo.toml"),
        "name = \"app\"\ndependencies = [\"lib\"]\n[tasks.build]\ncommand = \"echo app-start; echo $$ > ../../app.pid; while [ ! -f ../../gate ]; do sleep 0.05; done; echo app-done\"\n",
    )
    .unwrap();
    commit_all(&root);
    (dir, root)
}

/// One tmux server of the test's own (its own socket), holding one window that runs mono.
struct Tmux {
    socket: String,
    tmux: PathBuf,
    /// Where the command inside writes mono's exit code and the terminal's modes after it.
    after: PathBuf,
}

impl Tmux {
    /// Starts `mono ARGS` in `root` in a `width`×`height` terminal. After mono exits, the
    /// window's shell writes `exit=CODE` and `stty -a` to `after`, then waits, so that the
    /// screen can still be read.
    fn start(root: &Path, args: &str, width: u16, height: u16) -> Tmux {
        let tmux = mono_test_tools::path(mono_test_tools::Tool::Tmux);
        let socket = format!(
            "mono-tui-{}-{}",
            std::process::id(),
            root.parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy()
        );
        let after = root.parent().unwrap().join("after");
        let bin = assert_cmd::cargo::cargo_bin("mono");
        let script = format!(
            "cd '{root}' && env -u CI -u TURBO_UI -u MONO_REMOTE_CACHE NO_COLOR=1 '{bin}' {args}; \
             echo \"exit=$?\" > '{after}.tmp'; stty -a >> '{after}.tmp'; mv '{after}.tmp' '{after}'; sleep 600",
            root = root.display(),
            bin = bin.display(),
            after = after.display(),
        );
        let session = Tmux {
            socket,
            tmux,
            after,
        };
        let args = [
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "mono",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            &script,
        ];
        // A new server now and then exits at once ("server exited unexpectedly") while
        // another test's server shuts down: start it again.
        for attempt in 1.. {
            let out = session.command().args(args).output().unwrap();
            if out.status.success() {
                break;
            }
            assert!(
                attempt < 5,
                "tmux new-session failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        session
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.tmux);
        cmd.args(["-L", &self.socket]);
        cmd
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self.command().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The screen, as text.
    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "mono"])
    }

    /// The screen and its scrollback.
    fn history(&self) -> String {
        self.run(&["capture-pane", "-p", "-S", "-", "-t", "mono"])
    }

    /// Types `keys` (tmux key names: `q`, `Up`, `C-c`).
    fn send(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "mono"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// Waits until the screen satisfies `ready`; returns it. Fails with the screen shown.
    fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "the screen never showed {what}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until mono has exited; its exit code, and `stty -a` after it.
    fn wait_exit(&self) -> (i32, String) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Ok(text) = std::fs::read_to_string(&self.after) {
                let (first, rest) = text.split_once('\n').unwrap();
                let code = first.strip_prefix("exit=").unwrap().parse().unwrap();
                return (code, rest.to_owned());
            }
            assert!(
                Instant::now() < deadline,
                "mono never exited; the screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether the window shows the alternate screen (a full-screen program's).
    fn alternate_screen(&self) -> bool {
        self.run(&["display-message", "-p", "-t", "mono", "#{alternate_on}"])
            .trim()
            == "1"
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command().arg("kill-server").output();
    }
}

/// Whether `line` of the screen is the task list's row for `task`, marked `mark`.
fn row(screen: &str, mark: &str, task: &str) -> bool {
    screen
        .lines()
        .any(|line| line.trim_start().starts_with(&format!("{mark} {task}")))
}

/// The pane's title (`task > state`) is on the screen.
fn title(screen: &str, task: &str, state: &str) -> bool {
    screen.contains(&format!("{task} > {state}"))
}

fn is_running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !matches!(
            stat.rsplit(')')
                .next()
                .and_then(|s| s.trim_start().chars().next()),
            Some('Z' | 'X')
        )
    })
}

fn gate(root: &Path) -> PathBuf {
    root.parent().unwrap().join("gate")
}

fn app_pid(root: &Path) -> i32 {
    let file = root.parent().unwrap().join("app.pid");
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Ok(text) = std::fs::read_to_string(&file) {
            if let Ok(pid) = text.trim().parse() {
                return pid;
            }
        }
        assert!(Instant::now() < deadline, "app#build never started");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The UI lists both tasks with their states and follows the running one; `k` selects
/// `lib#build` and shows its log; `q` stops the run: app's shell is gone, mono exits 130,
/// the terminal is itself again (no alternate screen, canonical mode, echo), and the logs
/// are left on it.
#[test]
fn lists_tasks_shows_the_selected_log_and_q_stops_the_run() {
    let (_dir, root) = repo("");
    let tmux = Tmux::start(&root, "build --ui=tui", 110, 24);
    let screen = tmux.wait_for("lib done, app running with its first line", |s| {
        row(s, "✓", "lib#build")
            && row(s, "»", "app#build")
            && title(s, "app#build", "running")
            && s.contains("app-start")
    });
    assert!(screen.contains("cache miss, executing"), "{screen}");
    assert!(!screen.contains("lib-line-one"), "{screen}");
    assert!(tmux.alternate_screen());

    tmux.send(&["k"]);
    let screen = tmux.wait_for("lib's log", |s| title(s, "lib#build", "done"));
    assert!(screen.contains("lib-line-one"), "{screen}");
    assert!(screen.contains("lib-line-two"), "{screen}");
    assert!(!screen.contains("app-start"), "{screen}");

    // The keys, and back.
    tmux.send(&["m"]);
    let screen = tmux.wait_for("the keys", |s| s.contains("Keys (m closes)"));
    assert!(screen.contains("scroll the log a page"), "{screen}");
    tmux.send(&["m"]);
    tmux.wait_for("no keys", |s| !s.contains("Keys (m closes)"));

    let pid = app_pid(&root);
    assert!(is_running(pid));
    tmux.send(&["q"]);
    let (code, stty) = tmux.wait_exit();
    assert_eq!(code, 130, "{}", tmux.history());
    assert!(!is_running(pid), "app#build's shell {pid} survived");
    assert!(!tmux.alternate_screen());
    // Raw mode is off again: the line discipline edits and echoes.
    let modes: Vec<&str> = stty.split_whitespace().collect();
    assert!(
        modes.contains(&"icanon") && modes.contains(&"echo"),
        "{stty}"
    );
    let history = tmux.history();
    assert!(history.contains("lib:build: lib-line-one"), "{history}");
    assert!(history.contains("app:build: app-start"), "{history}");
    assert!(history.contains("interrupted"), "{history}");
}

/// A run that ends by itself closes the UI and leaves each task's log and the summary; the
/// next run shows the cache hit and its replayed log in lib's pane while app runs.
#[test]
fn the_ui_closes_when_the_run_ends_and_cache_hits_replay_in_their_pane() {
    let (_dir, root) = repo("");
    let tmux = Tmux::start(&root, "build --ui=tui", 110, 24);
    tmux.wait_for("app running", |s| row(s, "»", "app#build"));
    std::fs::write(gate(&root), "").unwrap();
    let (code, _) = tmux.wait_exit();
    assert_eq!(code, 0, "{}", tmux.history());
    let history = tmux.history();
    for line in [
        "lib:build: lib-line-two",
        "app:build: app-start",
        "app:build: app-done",
        "Tasks:    2 successful, 2 total",
    ] {
        assert!(history.contains(line), "{line} missing:\n{history}");
    }
    drop(tmux);

    // app's input changes: lib is a hit, app runs again (and waits at its gate).
    std::fs::remove_file(gate(&root)).unwrap();
    std::fs::write(root.join("app/input.txt"), "changed\n").unwrap();
    std::fs::remove_file(root.parent().unwrap().join("after")).unwrap();
    let tmux = Tmux::start(&root, "build --ui=tui", 110, 24);
    tmux.wait_for("lib cached, app running", |s| {
        row(s, "⊙", "lib#build") && row(s, "»", "app#build")
    });
    tmux.send(&["Up"]);
    let screen = tmux.wait_for("lib's replayed log", |s| title(s, "lib#build", "cache hit"));
    assert!(screen.contains("cache hit, replaying logs"), "{screen}");
    assert!(screen.contains("lib-line-one"), "{screen}");
    std::fs::write(gate(&root), "").unwrap();
    let (code, _) = tmux.wait_exit();
    assert_eq!(code, 0, "{}", tmux.history());
}

/// `ui = "tui"` in turbo.toml opens the UI without the flag; `--ui=stream` overrides it.
#[test]
fn the_config_key_picks_the_ui_and_the_flag_wins() {
    let (_dir, root) = repo("ui = \"tui\"\n");
    let tmux = Tmux::start(&root, "build", 110, 24);
    tmux.wait_for("the UI from the config", |s| {
        row(s, "»", "app#build") && s.contains("Tasks (/ filter)")
    });
    tmux.send(&["C-c"]);
    assert_eq!(tmux.wait_exit().0, 130);
    drop(tmux);

    std::fs::remove_file(root.parent().unwrap().join("after")).unwrap();
    std::fs::write(gate(&root), "").unwrap();
    let tmux = Tmux::start(&root, "build --ui=stream", 110, 24);
    let (code, _) = tmux.wait_exit();
    assert_eq!(code, 0);
    let history = tmux.history();
    assert!(history.contains("app:build: app-done"), "{history}");
    assert!(!history.contains("Tasks (/ filter)"), "{history}");
}

/// Without a terminal (a pipe, as in CI logs) `--ui=tui` and `ui = "tui"` stream, as in
/// Turborepo: prefixed lines, no escape sequences, no warning.
#[test]
fn without_a_terminal_tui_falls_back_to_the_stream() {
    let (_dir, root) = repo("ui = \"tui\"\n");
    std::fs::write(gate(&root), "").unwrap();
    for args in [&["build", "--ui=tui"][..], &["build"][..]] {
        let out = mono(&root)
            .args(args)
            .env_remove("TURBO_UI")
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(out.status.success(), "{stdout}{stderr}");
        assert!(stdout.contains("lib:build: lib-line-one"), "{stdout}");
        assert!(stdout.contains("app:build: app-done"), "{stdout}");
        assert!(!stdout.contains('\x1b'), "{stdout:?}");
        assert!(!stderr.contains("warning"), "{stderr}");
    }
}

/// The parent of process `pid`, from /proc.
fn parent_of(pid: i32) -> i32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = stat.rsplit(')').next().unwrap();
    after.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// SIGTERM from elsewhere (the UI has the terminal, so Ctrl-C is a key, but `kill` is not)
/// stops the run as `q` does and gives the terminal back.
#[test]
fn a_signal_stops_the_run_and_gives_the_terminal_back() {
    let (_dir, root) = repo("");
    let tmux = Tmux::start(&root, "build --ui=tui", 110, 24);
    tmux.wait_for("app running", |s| row(s, "»", "app#build"));
    let app = app_pid(&root);
    let mono = rustix::process::Pid::from_raw(parent_of(app)).unwrap();
    rustix::process::kill_process(mono, rustix::process::Signal::TERM).unwrap();
    let (code, stty) = tmux.wait_exit();
    assert_eq!(code, 130, "{}", tmux.history());
    assert!(!is_running(app), "app#build's shell {app} survived");
    assert!(!tmux.alternate_screen());
    let modes: Vec<&str> = stty.split_whitespace().collect();
    assert!(
        modes.contains(&"icanon") && modes.contains(&"echo"),
        "{stty}"
    );
}

/// An error found after the UI opened (a task that does not exist, found when the run is
/// planned) closes it first: the terminal is given back and the error is readable.
#[test]
fn an_error_after_the_ui_opened_is_reported_on_a_restored_terminal() {
    let (_dir, root) = repo("");
    std::fs::write(
        root.join("app/turbo.toml"),
        "name = \"app\"\n[tasks.build]\ndependsOn = [\"nope#build\"]\ncommand = \"echo x\"\n",
    )
    .unwrap();
    let tmux = Tmux::start(&root, "build --ui=tui", 110, 24);
    let (code, stty) = tmux.wait_exit();
    assert_eq!(code, 2, "{}", tmux.history());
    assert!(!tmux.alternate_screen());
    let modes: Vec<&str> = stty.split_whitespace().collect();
    assert!(
        modes.contains(&"icanon") && modes.contains(&"echo"),
        "{stty}"
    );
    let history = common::report_words(&tmux.history());
    assert!(history.contains("nope"), "{history}");
}

/// A wrong `ui` in turbo.toml is an error that names the file, the line and the values.
#[test]
fn an_unknown_ui_in_the_config_is_an_error() {
    let (_dir, root) = repo("ui = \"tiu\"\n");
    let out = mono(&root).arg("build").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = common::report_words(&String::from_utf8_lossy(&out.stderr));
    assert!(stderr.contains("turbo.toml:1"), "{stderr}");
    assert!(
        stderr.contains("`tiu` is not one of tui, stream"),
        "{stderr}"
    );
}
