use miette::{Diagnostic, NamedSource, SourceSpan};
use mono_paths::AbsPath;

/// One problem with a configuration file. Each variant carries the file's text and the span
/// of the offending key or value, so the report shows `file:line:col`, the line, a caret and
/// a hint.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("failed to read {path}")]
    #[diagnostic(code(mono::config::io))]
    Io {
        /// The file.
        path: AbsPath,
        /// The cause.
        #[source]
        source: std::io::Error,
    },

    /// A folder with both `turbo.json` and `turbo.jsonc`.
    #[error("{json} and {jsonc} are both here; mono reads one config per folder")]
    #[diagnostic(
        code(mono::config::json_and_jsonc),
        help("remove one of them (Turborepo refuses both too)")
    )]
    JsonAndJsonc {
        /// The turbo.json.
        json: mono_paths::RepoPath,
        /// The turbo.jsonc.
        jsonc: mono_paths::RepoPath,
    },

    /// The file is larger than [`crate::MAX_CONFIG_SIZE`].
    #[error("{path} is {size} bytes; a config file may be at most {limit} bytes")]
    #[diagnostic(
        code(mono::config::too_large),
        help("a turbo.toml or turbo.json is a few KiB: keep data out of it")
    )]
    TooLarge {
        /// The file.
        path: AbsPath,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },

    /// The file exists but is not a regular file (a directory, a FIFO, a dangling
    /// symlink): it is not read, which for a FIFO would block.
    #[error("{path} is not a regular file")]
    #[diagnostic(
        code(mono::config::not_a_file),
        help("replace it with a regular file, or remove it")
    )]
    NotAFile {
        /// The file.
        path: AbsPath,
    },

    /// The file is not valid TOML or JSON.
    #[error("syntax error: {message}")]
    #[diagnostic(
        code(mono::config::syntax),
        help("fix the syntax at the marked position")
    )]
    Syntax {
        /// The file.
        #[source_code]
        src: NamedSource<String>,
        /// Where the parser stopped.
        #[label("here")]
        span: SourceSpan,
        /// The parser's message.
        message: String,
    },

    /// A key that mono does not know.
    #[error("unknown key `{key}` in {context}")]
    #[diagnostic(code(mono::config::unknown_key))]
    UnknownKey {
        /// The file.
        #[source_code]
        src: NamedSource<String>,
        /// The key.
        #[label("unknown key")]
        span: SourceSpan,
        /// The key as written.
        key: String,
        /// Where it was found: `the root`, `task "build"`.
        context: String,
        /// A close match, or the list of valid keys.
        #[help]
        help: String,
    },

    /// A value of the wrong type.
    #[error("`{key}` must be {expected}, found {found}")]
    #[diagnostic(code(mono::config::wrong_type))]
    WrongType {
        /// The file.
        #[source_code]
        src: NamedSource<String>,
        /// The value.
        #[label("expected {expected}")]
        span: SourceSpan,
        /// The key whose value is wrong.
        key: String,
        /// What it must be.
        expected: &'static str,
        /// What it is.
        found: &'static str,
        /// An example of a right value.
        #[help]
        help: String,
    },

    /// A value of the right type that is not allowed.
    #[error("invalid value for `{key}`: {problem}")]
    #[diagnostic(code(mono::config::invalid_value))]
    InvalidValue {
        /// The file.
        #[source_code]
        src: NamedSource<String>,
        /// The value.
        #[label("{problem}")]
        span: SourceSpan,
        /// The key.
        key: String,
        /// What is wrong with it.
        problem: String,
        /// How to fix it.
        #[help]
        help: String,
    },
}

/// Every problem found in one file, in the order they appear in it.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{} has {} problem{}", file, errors.len(), if errors.len() == 1 { "" } else { "s" })]
#[diagnostic(code(mono::config::invalid))]
pub struct ConfigErrors {
    /// The file's repo-relative path.
    pub file: String,
    /// The problems.
    #[related]
    pub errors: Vec<ConfigError>,
}

impl ConfigErrors {
    /// A report of a single problem.
    pub fn single(file: impl Into<String>, error: ConfigError) -> Self {
        Self {
            file: file.into(),
            errors: vec![error],
        }
    }
}
