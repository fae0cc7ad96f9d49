//! The one place that renders errors for people: miette's graphical report (file:line:col,
//! the line, a caret, a hint), colored only on a terminal.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use miette::{GraphicalReportHandler, GraphicalTheme};

/// Prints `err` to stderr. Errors that hold several problems (every problem of a config
/// file) are printed one by one, then counted.
pub fn print_error(err: &crate::Error) {
    match err {
        crate::Error::Config(errors) => {
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
        other => print_diagnostic(other),
    }
}

fn print_diagnostic(err: &dyn miette::Diagnostic) {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let mut out = String::new();
    // Long lines cut first: miette panics on a label past column 65,535.
    if handler
        .render_report(&mut out, &mono_config::windowed(err))
        .is_err()
    {
        out = format!("error: {err}\n");
    }
    write_stderr(&out);
}

/// Whether a write to stderr failed during this process (see [`write_stderr`]).
static STDERR_FAILED: AtomicBool = AtomicBool::new(false);

/// Writes `text` to stdout and flushes it. A closed pipe (`mono ls | head -1`) is not an
/// error, as in ripgrep; any other failure (`>/dev/full`) is, so that output is never lost
/// silently.
pub fn write_stdout(text: &str) -> Result<(), crate::Error> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(source) => Err(crate::Error::Output {
            stream: "stdout",
            source,
        }),
    }
}

/// Writes `text` to stderr; a failure (a full disk, a closed terminal) is recorded, not a
/// panic as with `eprintln!`, and [`stderr_failed`] makes the exit code non-zero.
fn write_stderr(text: &str) {
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

/// Prints a one-line warning to stderr.
pub fn warn(message: &str) {
    write_stderr(&format!("warning: {message}\n"));
}

/// Prints a one-line note to stderr.
pub fn note(message: &str) {
    write_stderr(&format!("{message}\n"));
}
