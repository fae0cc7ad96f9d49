use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use miette::{NamedSource, SourceSpan};
use mono_paths::RepoPath;

/// The text of one configuration file, kept so that errors found long after parsing (a
/// `dependsOn` naming a package that does not exist) can still point at the line.
#[derive(Debug)]
pub struct SourceFile {
    path: RepoPath,
    text: String,
    format: ConfigFormat,
}

/// The syntax a configuration file is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigFormat {
    /// `turbo.toml`
    Toml,
    /// `turbo.json`, JSON with comments
    Json,
}

impl ConfigFormat {
    /// The file name of a config file in this format.
    pub fn file_name(self) -> &'static str {
        match self {
            ConfigFormat::Toml => "turbo.toml",
            ConfigFormat::Json => "turbo.json",
        }
    }
}

impl SourceFile {
    /// A file at `path` (repo-relative) with `text`.
    pub fn new(path: RepoPath, text: String, format: ConfigFormat) -> Arc<Self> {
        Arc::new(Self { path, text, format })
    }

    /// The repo-relative path, as shown in errors.
    pub fn path(&self) -> &RepoPath {
        &self.path
    }

    /// The file's text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The file's syntax.
    pub fn format(&self) -> ConfigFormat {
        self.format
    }

    /// The source for a miette diagnostic.
    pub fn named_source(&self) -> NamedSource<String> {
        let language = match self.format {
            ConfigFormat::Toml => "toml",
            ConfigFormat::Json => "json",
        };
        NamedSource::new(self.path.to_string(), self.text.clone()).with_language(language)
    }

    /// The 1-based line and column of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let col = before
            .rfind('\n')
            .map_or(before.len(), |nl| before.len() - nl - 1)
            + 1;
        (line, col)
    }
}

/// A byte range in a [`SourceFile`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl From<Range<usize>> for Span {
    fn from(range: Range<usize>) -> Self {
        Self {
            start: range.start,
            end: range.end,
        }
    }
}

impl From<Span> for SourceSpan {
    fn from(span: Span) -> Self {
        (span.start, span.end.saturating_sub(span.start)).into()
    }
}

/// A value with the place it was written, and the file it was written in.
#[derive(Clone)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where in `source` it was written.
    pub span: Span,
    /// The file it was written in; `None` for values mono made up (defaults).
    pub source: Option<Arc<SourceFile>>,
}

impl<T> Spanned<T> {
    /// A value written at `span` of `source`.
    pub fn new(value: T, span: Span, source: &Arc<SourceFile>) -> Self {
        Self {
            value,
            span,
            source: Some(Arc::clone(source)),
        }
    }

    /// A value that was not written in any file.
    pub fn synthetic(value: T) -> Self {
        Self {
            value,
            span: Span::default(),
            source: None,
        }
    }

    /// Applies `f` to the value, keeping the place.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Spanned<U> {
        Spanned {
            value: f(self.value),
            span: self.span,
            source: self.source,
        }
    }

    /// `file:line:col` of the value, for plain-text messages.
    pub fn location(&self) -> Option<String> {
        let source = self.source.as_ref()?;
        let (line, col) = source.line_col(self.span.start);
        Some(format!("{}:{line}:{col}", source.path()))
    }
}

impl<T: fmt::Debug> fmt::Debug for Spanned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl<T: PartialEq> PartialEq for Spanned<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<T> std::ops::Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}
