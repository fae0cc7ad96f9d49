//! The terminal UI's thread: it takes the terminal over (raw mode, the alternate screen),
//! applies the run's events, reads keys, redraws, and gives the terminal back when closed,
//! on an error, or on a panic.

use std::io::{self, IsTerminal};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mono_engine::RunHandle;
use ratatui::crossterm::event::{self, Event as TermEvent, KeyEventKind};
use ratatui::DefaultTerminal;

use super::app::{Action, App, Event};

/// How long the thread waits for a key or an event before it looks again. Output is drawn at
/// most this often, so that a chatty task costs a redraw per tick, not per line.
const TICK: Duration = Duration::from_millis(40);

/// Whether the terminal UI can run: stdout is a terminal, it is not a dumb one, and not in
/// CI. Elsewhere `--ui=tui` streams, as in Turborepo.
pub fn available() -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
    let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
    io::stdout().is_terminal() && !ci && !dumb
}

/// What the thread sends back or is told.
enum Message {
    Run(Event),
    Close,
}

/// The UI while it runs.
pub struct Session {
    sender: Sender<Message>,
    thread: Option<JoinHandle<(App, Option<io::Error>)>>,
}

/// Where the run's events go.
#[derive(Clone)]
pub struct Feed(Sender<Message>);

impl Feed {
    /// Sends one event; nothing happens once the UI is closed.
    pub fn send(&self, event: Event) {
        let _ = self.0.send(Message::Run(event));
    }
}

/// The signals that would end mono (Ctrl-C from another terminal, `kill`, the terminal
/// closing), caught while the UI holds the terminal: before the scheduler listens for them
/// (while the run plans and hashes) their default action would kill mono and leave the
/// terminal in raw mode. Caught, they stop the run as `q` does.
struct Signals {
    caught: Arc<AtomicBool>,
    ids: Vec<signal_hook::SigId>,
}

impl Signals {
    fn catch() -> Signals {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
        let caught = Arc::new(AtomicBool::new(false));
        // A signal that cannot be caught keeps its default action.
        let ids = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]
            .into_iter()
            .filter_map(|signal| signal_hook::flag::register(signal, caught.clone()).ok())
            .collect();
        Signals { caught, ids }
    }

    /// Whether a signal came since the last call.
    fn take(&self) -> bool {
        self.caught.swap(false, Ordering::Relaxed)
    }
}

impl Drop for Signals {
    /// As after a stream run, whose scheduler's handlers stay: the signals are no longer
    /// acted on here.
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

/// Gives the terminal back however the thread ends.
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

impl Session {
    /// Takes the terminal over and starts the UI's thread. Keys `q` and Ctrl-C interrupt
    /// `handle`'s run: the first press gracefully, the next at once.
    pub fn start(handle: RunHandle) -> io::Result<Session> {
        let terminal = ratatui::try_init().inspect_err(|_| ratatui::restore())?;
        let signals = Signals::catch();
        let (sender, receiver) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("mono-tui".to_owned())
            .spawn(move || {
                let restore = Restore;
                let mut app = App::new();
                let error = event_loop(terminal, &mut app, &receiver, &handle, &signals).err();
                drop(restore);
                drop(signals);
                (app, error)
            });
        let thread = match thread {
            Ok(thread) => thread,
            Err(error) => {
                ratatui::restore();
                return Err(error);
            }
        };
        Ok(Session {
            sender,
            thread: Some(thread),
        })
    }

    /// Where the run's events go.
    pub fn feed(&self) -> Feed {
        Feed(self.sender.clone())
    }

    /// Closes the UI and gives the terminal back: the state as it was, and the error that
    /// ended the UI early, if one did.
    pub fn close(mut self) -> (App, Option<io::Error>) {
        self.stop().unwrap_or_else(|| (App::new(), None))
    }

    fn stop(&mut self) -> Option<(App, Option<io::Error>)> {
        let thread = self.thread.take()?;
        let _ = self.sender.send(Message::Close);
        // A panic: the panic hook restored the terminal, and its message is on stderr.
        thread.join().ok()
    }
}

impl Drop for Session {
    /// An error left the run early: the terminal is given back before it is reported, and
    /// the messages the UI showed are printed.
    fn drop(&mut self) {
        if let Some((app, _)) = self.stop() {
            for message in &app.messages {
                crate::report::write_stderr(&format!("{message}\n"));
            }
        }
    }
}

fn event_loop(
    mut terminal: DefaultTerminal,
    app: &mut App,
    receiver: &Receiver<Message>,
    handle: &RunHandle,
    signals: &Signals,
) -> io::Result<()> {
    let mut interrupts = 0;
    let mut interrupt = |app: &mut App| {
        interrupts += 1;
        if interrupts == 1 {
            handle.cancel();
            app.apply(Event::Message(
                "stopping: the tasks get SIGTERM (q or Ctrl-C again: SIGKILL)".to_owned(),
            ));
        } else {
            handle.kill();
        }
    };
    let mut drawn = Instant::now() - TICK;
    let mut dirty = true;
    loop {
        // Everything queued, then at most one frame per tick.
        loop {
            match receiver.try_recv() {
                Ok(Message::Run(event)) => {
                    app.apply(event);
                    dirty = true;
                }
                Ok(Message::Close) | Err(mpsc::TryRecvError::Disconnected) => return Ok(()),
                Err(mpsc::TryRecvError::Empty) => break,
            }
        }
        if dirty && drawn.elapsed() >= TICK {
            terminal.draw(|frame| super::view::render(app, frame))?;
            drawn = Instant::now();
            dirty = false;
        }
        if signals.take() {
            interrupt(app);
            dirty = true;
        }
        if event::poll(TICK)? {
            match event::read()? {
                TermEvent::Key(key) if key.kind != KeyEventKind::Release => {
                    if app.key(key) == Action::Interrupt {
                        interrupt(app);
                    }
                    dirty = true;
                }
                TermEvent::Resize(..) => dirty = true,
                _ => {}
            }
        }
    }
}
