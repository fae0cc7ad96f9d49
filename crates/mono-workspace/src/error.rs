use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use miette::{Diagnostic, NamedSource, SourceSpan};
use mono_config::ConfigErrors;
use mono_paths::RepoPath;
use mono_task_id::{NameError, PackageName};

use crate::Language;

/// What a path that should be a regular file is instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A directory.
    Directory,
    /// A symlink whose target does not exist (or is itself a loop).
    DanglingSymlink,
    /// A named pipe.
    Fifo,
    /// A Unix socket.
    Socket,
    /// A block or character device.
    Device,
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Directory => "a directory",
            FileKind::DanglingSymlink => "a dangling symlink",
            FileKind::Fifo => "a FIFO",
            FileKind::Socket => "a socket",
            FileKind::Device => "a device",
        })
    }
}

/// Why the packages of a repository could not be discovered. Every variant names the files
/// or packages involved.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum WorkspaceError {
    /// A manifest or workspace file could not be read.
    #[error("failed to read {path}")]
    #[diagnostic(code(mono::workspace::io))]
    Io {
        /// The file, repo-relative.
        path: RepoPath,
        /// The cause.
        #[source]
        source: std::io::Error,
    },

    /// A manifest or workspace file that exists but is not a regular file: a directory, a
    /// dangling symlink, a FIFO, a socket or a device. Skipping it would make its package
    /// vanish; reading a FIFO would block.
    #[error("{path} is {kind}, not a regular file")]
    #[diagnostic(
        code(mono::workspace::not_a_file),
        help("replace {path} with a regular file, or remove it")
    )]
    NotAFile {
        /// The file, repo-relative.
        path: RepoPath,
        /// What it is instead.
        kind: FileKind,
    },

    /// A manifest or workspace file larger than the limit.
    #[error("{path} is larger than {limit} bytes, the most a manifest may be")]
    #[diagnostic(
        code(mono::workspace::too_large),
        help("a manifest is a few KiB: keep data out of {path}")
    )]
    TooLarge {
        /// The file, repo-relative.
        path: RepoPath,
        /// The limit.
        limit: u64,
    },

    /// A manifest is not valid JSON, TOML, YAML or go.mod syntax, or a key has the wrong type.
    #[error("failed to parse {location}: {message}")]
    #[diagnostic(code(mono::workspace::syntax))]
    Syntax {
        /// The file, repo-relative.
        path: RepoPath,
        /// `file:line` or `file:line:col`.
        location: String,
        /// The parser's message.
        message: String,
        /// The file's text.
        #[source_code]
        src: Arc<NamedSource<String>>,
        /// Where the parser stopped.
        #[label("here")]
        span: SourceSpan,
    },

    /// A workspace glob that cannot be used.
    #[error("invalid workspace pattern `{pattern}` in {file}: {problem}")]
    #[diagnostic(code(mono::workspace::pattern))]
    InvalidPattern {
        /// The file that lists the pattern.
        file: RepoPath,
        /// The pattern as written.
        pattern: String,
        /// What is wrong with it.
        problem: String,
    },

    /// A package manifest without a name (a package.json without `name`, a Cargo.toml
    /// without `[package] name`, a go.mod without `module`, or a turbo.toml that is the only
    /// file of a workspace folder and has no `name`).
    #[error("{manifest} has no {key}")]
    #[diagnostic(code(mono::workspace::missing_name), help("{help}"))]
    MissingName {
        /// The manifest.
        manifest: RepoPath,
        /// The missing key: "`name`", "`[package] name`", "`module` directive".
        key: &'static str,
        /// How to fix it.
        help: &'static str,
    },

    /// A name that is not a valid package name.
    #[error("{manifest} names the package `{name}`, which is not a valid package name")]
    #[diagnostic(code(mono::workspace::invalid_name))]
    InvalidName {
        /// The manifest.
        manifest: RepoPath,
        /// The name as written.
        name: String,
        /// Why it is invalid.
        #[source]
        source: NameError,
    },

    /// A folder listed as a package has no manifest of its kind.
    #[error("{listed_by} lists {dir}, which has no {manifest}")]
    #[diagnostic(code(mono::workspace::missing_manifest))]
    MissingManifest {
        /// The package folder.
        dir: RepoPath,
        /// The missing file name: `go.mod`, `Cargo.toml`.
        manifest: &'static str,
        /// The file that lists the folder, with its line when known.
        listed_by: String,
    },

    /// Two packages with one name.
    #[error("two packages are named `{name}`: {first} and {second}")]
    #[diagnostic(
        code(mono::workspace::duplicate_package),
        help("package names must be unique across languages; rename one of them")
    )]
    DuplicatePackage {
        /// The name.
        name: PackageName,
        /// The manifest of the first package (in folder order).
        first: RepoPath,
        /// The manifest of the second package.
        second: RepoPath,
    },

    /// Packages that depend on each other.
    #[error("package dependency cycle: {}", CyclePath(path))]
    #[diagnostic(
        code(mono::workspace::cycle),
        help("remove one of these dependencies; nothing can be built before the rest")
    )]
    Cycle {
        /// The cycle, first package repeated at the end: `[a, b, a]`.
        path: Vec<PackageName>,
    },

    /// A package config's `extends` names a package that does not exist or has no config.
    #[error("{location}: `extends` of `{package}` names `{extended}`, {problem}")]
    #[diagnostic(code(mono::workspace::unknown_extends))]
    UnknownExtends {
        /// The package whose config it is.
        package: PackageName,
        /// The name as written.
        extended: Box<str>,
        /// What is wrong with it.
        problem: ExtendsProblem,
        /// `file:line:col` of the entry.
        location: String,
        /// The config file.
        #[source_code]
        src: Arc<NamedSource<String>>,
        /// The entry.
        #[label("cannot extend this")]
        span: SourceSpan,
        /// A close name, or how to fix it.
        #[help]
        help: Option<Box<str>>,
    },

    /// A package config's `dependencies` names no package.
    #[error(
        "{location}: `dependencies` of `{package}` names `{dependency}`, which is not a package"
    )]
    #[diagnostic(code(mono::workspace::unknown_dependency))]
    UnknownDependency {
        /// The package whose config it is.
        package: PackageName,
        /// The name as written.
        dependency: String,
        /// `file:line:col` of the entry.
        location: String,
        /// The config file.
        #[source_code]
        src: Arc<NamedSource<String>>,
        /// The entry.
        #[label("no package of this name")]
        span: SourceSpan,
        /// A close name, if any.
        #[help]
        help: Option<String>,
    },

    /// A package's turbo.toml / turbo.json is invalid.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Config(#[from] ConfigErrors),

    /// More than one problem, in a stable order (by file, then by kind).
    #[error("{} problems found while discovering packages", errors.len())]
    #[diagnostic(code(mono::workspace::many))]
    Many {
        /// The problems.
        #[related]
        errors: Vec<WorkspaceError>,
    },
}

struct CyclePath<'a>(&'a [PackageName]);

impl fmt::Display for CyclePath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, name) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" -> ")?;
            }
            write!(f, "{name}")?;
        }
        Ok(())
    }
}

/// Why a package config cannot extend the package it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtendsProblem {
    /// No package has that name.
    NotAPackage,
    /// The package has no turbo.json (or turbo.toml) to extend.
    NoConfig,
}

impl std::fmt::Display for ExtendsProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ExtendsProblem::NotAPackage => "which is not a package",
            ExtendsProblem::NoConfig => "which has no turbo.json",
        })
    }
}

impl WorkspaceError {
    /// One error, or [`WorkspaceError::Many`].
    pub(crate) fn from_many(mut errors: Vec<WorkspaceError>) -> Option<WorkspaceError> {
        match errors.len() {
            0 => None,
            1 => errors.pop(),
            _ => Some(WorkspaceError::Many { errors }),
        }
    }

    /// A syntax error of `path`, whose text is `text`.
    pub(crate) fn syntax(path: &RepoPath, text: &str, error: ParseError) -> WorkspaceError {
        let location = match error.column {
            Some(col) => format!("{path}:{}:{col}", error.line),
            None => format!("{path}:{}", error.line),
        };
        let span = error.span.unwrap_or_else(|| {
            let start = offset_of(text, error.line, error.column.unwrap_or(1));
            start..(start + 1).min(text.len())
        });
        WorkspaceError::Syntax {
            path: path.clone(),
            location,
            message: error.message,
            src: Arc::new(NamedSource::new(path.to_string(), text.to_owned())),
            span: (span.start, span.end.saturating_sub(span.start)).into(),
        }
    }
}

/// The byte offset of a 1-based line and column (in characters).
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let rest = &text[line_start.min(text.len())..];
    let col = rest
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(rest.len(), |(i, _)| i);
    line_start + col
}

/// A parser's complaint, before it is tied to a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub message: String,
    /// 1-based.
    pub line: usize,
    /// 1-based, when known.
    pub column: Option<usize>,
    /// Byte range, when known.
    pub span: Option<Range<usize>>,
}

impl ParseError {
    pub(crate) fn at_line(message: String, line: usize) -> Self {
        Self {
            message,
            line: line.max(1),
            column: None,
            span: None,
        }
    }

    pub(crate) fn at_line_col(message: String, line: usize, column: usize) -> Self {
        Self {
            message,
            line: line.max(1),
            column: Some(column.max(1)),
            span: None,
        }
    }

    pub(crate) fn at_span(message: String, text: &str, span: Range<usize>) -> Self {
        let before = &text[..span.start.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before
            .rfind('\n')
            .map_or(before.len(), |nl| before.len() - nl - 1)
            + 1;
        Self {
            message,
            line,
            column: Some(column),
            span: Some(span),
        }
    }
}

/// Something odd about the repository that does not stop discovery.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkspaceWarning {
    /// Two package managers list one folder; it is one package, of the kind that wins
    /// (package.json, then Cargo.toml, then go.mod).
    #[error(
        "{dir} is listed as a {kept} package and as a {} package; it is one {kept} package \
         (its dependencies are those of all its manifests)",
        ignored.iter().map(ToString::to_string).collect::<Vec<_>>().join(" and a ")
    )]
    ListedTwice {
        /// The folder.
        dir: RepoPath,
        /// The language the package gets.
        kept: Language,
        /// The others.
        ignored: Vec<Language>,
    },

    /// A non-generic package's turbo.toml has a `name`, which only names generic packages.
    #[error("{location}: `name = \"{name}\"` is ignored; the package is named `{package}` by {manifest}")]
    IgnoredConfigName {
        /// The package.
        package: PackageName,
        /// Its manifest.
        manifest: RepoPath,
        /// The ignored name.
        name: String,
        /// `file:line:col` of the name.
        location: String,
    },

    /// A package config that does not load, while listing packages (which does not need
    /// it): the package is listed without it.
    #[error(
        "{file} has {problems} problem{} (listed without it; `mono run` reports them)",
        if *problems == 1 { "" } else { "s" }
    )]
    UncheckedPackageConfig {
        /// The config file, repo-relative.
        file: String,
        /// How many problems it has.
        problems: usize,
    },

    /// A workspace pattern that points outside the repository; it is ignored.
    #[error("{file}: workspace pattern `{pattern}` leaves the repository and is ignored")]
    PatternOutsideRoot {
        /// The file that lists it.
        file: RepoPath,
        /// The pattern.
        pattern: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_of_lines_and_columns() {
        let text = "ab\ncdé\nf";
        assert_eq!(offset_of(text, 1, 1), 0);
        assert_eq!(offset_of(text, 2, 2), 4);
        assert_eq!(offset_of(text, 2, 4), 7);
        assert_eq!(offset_of(text, 3, 1), 8);
        assert_eq!(offset_of(text, 9, 1), text.len());
    }

    #[test]
    fn cycle_displays_as_arrows() {
        let path = ["a", "b", "a"]
            .map(|n| PackageName::new(n).unwrap())
            .to_vec();
        assert_eq!(
            WorkspaceError::Cycle { path }.to_string(),
            "package dependency cycle: a -> b -> a"
        );
    }

    #[test]
    fn syntax_error_names_file_line_and_column() {
        let path = RepoPath::new("apps/web/package.json").unwrap();
        let err = WorkspaceError::syntax(
            &path,
            "{\n  oops\n}",
            ParseError::at_line_col("key must be a string".into(), 2, 3),
        );
        assert_eq!(
            err.to_string(),
            "failed to parse apps/web/package.json:2:3: key must be a string"
        );
        let WorkspaceError::Syntax { span, .. } = err else {
            unreachable!()
        };
        assert_eq!(span.offset(), 4);
    }
}
