//! Long lines cut before a diagnostic is rendered.
//!
//! miette pads a label's underline with a formatting width equal to the label's column, and
//! Rust's formatting widths stop at 65,535: a diagnostic past that column of a line (a
//! minified turbo.json or package.json over 64 KiB) panics inside miette. [`windowed`] wraps
//! any diagnostic so that miette sees, for a long line, only a window of it around the span
//! (with the real line and column numbers), and labels no longer than [`MAX_LABEL`] bytes.
//! Short lines are shown as they are.

use std::fmt;

use miette::{
    Diagnostic, LabeledSpan, MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents,
};

/// Lines longer than this (bytes) are shown as a window around the span.
pub const MAX_LINE: usize = 240;
/// Bytes of context shown on each side of a span in a window.
const CONTEXT: usize = 80;
/// The longest label underlined (a 10 MB string is marked by its first bytes).
pub const MAX_LABEL: usize = 120;

/// `diagnostic`, and every diagnostic related to it, with long lines cut (module docs).
pub fn windowed(diagnostic: &dyn Diagnostic) -> Windowed<'_> {
    let related = diagnostic
        .related()
        .map(|related| related.map(windowed).collect())
        .unwrap_or_default();
    Windowed {
        inner: diagnostic,
        source: diagnostic
            .source_code()
            .map(|inner| WindowedSource { inner }),
        related,
    }
}

/// A diagnostic whose source shows long lines as windows (see [`windowed`]).
pub struct Windowed<'a> {
    inner: &'a dyn Diagnostic,
    source: Option<WindowedSource<'a>>,
    related: Vec<Windowed<'a>>,
}

impl fmt::Debug for Windowed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.inner, f)
    }
}

impl fmt::Display for Windowed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.inner, f)
    }
}

impl std::error::Error for Windowed<'_> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.source()
    }
}

impl Diagnostic for Windowed<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.inner.code()
    }

    fn severity(&self) -> Option<miette::Severity> {
        self.inner.severity()
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.inner.help()
    }

    fn url<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.inner.url()
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let labels = self.inner.labels()?;
        Some(Box::new(labels.map(|label| {
            let span = SourceSpan::new(label.offset().into(), label.len().min(MAX_LABEL));
            LabeledSpan::new_with_span(label.label().map(str::to_owned), span)
        })))
    }

    fn related<'b>(&'b self) -> Option<Box<dyn Iterator<Item = &'b dyn Diagnostic> + 'b>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(self.related.iter().map(|d| d as &dyn Diagnostic)))
    }

    fn diagnostic_source(&self) -> Option<&dyn Diagnostic> {
        self.inner.diagnostic_source()
    }
}

/// A source that answers with a window of a long line.
struct WindowedSource<'a> {
    inner: &'a dyn SourceCode,
}

impl SourceCode for WindowedSource<'_> {
    fn read_span<'b>(
        &'b self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'b> + 'b>, MietteError> {
        let contents = self
            .inner
            .read_span(span, context_lines_before, context_lines_after)?;
        let data: &'b [u8] = contents.data();
        if data
            .split(|b| *b == b'\n')
            .all(|line| line.len() <= MAX_LINE)
        {
            return Ok(contents);
        }
        // The window: the span's line around the span, within the data read.
        let base = contents.span().offset();
        let at = span.offset().saturating_sub(base).min(data.len());
        let line_start = data[..at]
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |nl| nl + 1);
        let line_end = data[at..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(data.len(), |nl| at + nl);
        let mut start = at.saturating_sub(CONTEXT).max(line_start);
        let mut end = (at + span.len().min(MAX_LABEL) + CONTEXT).min(line_end);
        // Whole characters only.
        while start < at && is_continuation(data[start]) {
            start += 1;
        }
        while end < line_end && is_continuation(data[end]) {
            end += 1;
        }
        let newlines_before = data[..start].iter().filter(|b| **b == b'\n').count();
        let column = if line_start == 0 {
            contents.column() + start
        } else {
            start - line_start
        };
        let window = MietteSpanContents::new_named(
            contents.name().unwrap_or_default().to_owned(),
            &data[start..end],
            SourceSpan::new((base + start).into(), end - start),
            contents.line() + newlines_before,
            column,
            1,
        );
        Ok(Box::new(match contents.language() {
            Some(language) => window.with_language(language),
            None => window,
        }))
    }
}

fn is_continuation(byte: u8) -> bool {
    byte & 0b1100_0000 == 0b1000_0000
}

#[cfg(test)]
mod tests {
    use super::*;
    use miette::{GraphicalReportHandler, GraphicalTheme, NamedSource};

    #[derive(Debug, thiserror::Error, Diagnostic)]
    #[error("bad key")]
    struct Bad {
        #[source_code]
        src: NamedSource<String>,
        #[label("here")]
        span: SourceSpan,
    }

    fn render(diagnostic: &dyn Diagnostic) -> String {
        let handler =
            GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(100);
        let mut out = String::new();
        handler
            .render_report(&mut out, &windowed(diagnostic))
            .unwrap();
        out
    }

    #[test]
    fn a_span_far_along_a_long_line_renders_a_window_with_the_real_position() {
        let text = format!("{{\"a\":\"{}\",\"outputz\":[]}}\n", "x".repeat(70_000));
        let at = text.find("\"outputz\"").unwrap();
        let bad = Bad {
            src: NamedSource::new("turbo.json", text.clone()),
            span: (at, 9).into(),
        };
        let out = render(&bad);
        assert!(out.contains(&format!("turbo.json:1:{}", at + 1)), "{out}");
        assert!(out.contains("\"outputz\""), "{out}");
        assert!(out.lines().all(|l| l.len() < 1000), "{out}");
    }

    #[test]
    fn a_huge_span_and_multibyte_text_render() {
        let text = format!("x = \"{}\"\ny = 1\n", "é".repeat(40_000));
        let bad = Bad {
            src: NamedSource::new("turbo.toml", text.clone()),
            span: (4, text.len() - 11).into(),
        };
        let out = render(&bad);
        assert!(out.contains("turbo.toml:1:5"), "{out}");
        let short = Bad {
            src: NamedSource::new("turbo.toml", "a = 1\nb = 2\n".to_owned()),
            span: (6, 1).into(),
        };
        assert!(render(&short).contains("b = 2"));
    }
}
