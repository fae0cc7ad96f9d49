//! The one place that renders errors for people: miette's graphical report (file:line:col,
//! the line, a caret, a hint), colored only on a terminal.

#![expect(
    clippy::print_stderr,
    reason = "the one place that prints errors and warnings"
)]
use std::io::IsTerminal;

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
                eprintln!("{}: {} problems", errors.file, errors.errors.len());
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
    eprint!("{out}");
}

/// Prints a one-line warning to stderr.
pub fn warn(message: &str) {
    eprintln!("warning: {message}");
}

/// Prints a one-line note to stderr.
pub fn note(message: &str) {
    eprintln!("{message}");
}
