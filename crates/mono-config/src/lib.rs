//! Reads mono's configuration: the root `turbo.toml` (or `turbo.json` / `turbo.jsonc`, JSON
//! with comments, when no turbo.toml exists) and the optional config of each package.
//!
//! Both syntaxes are parsed into one spanned tree and checked by one schema, so an unknown
//! key, a wrong type or a bad task reference is reported the same way in either:
//! `turbo.toml:12:5`, the line, a caret, and a hint such as `did you mean "outputs"?`.
//! Every problem of a file is reported, in file order. Values keep their spans
//! ([`Spanned`]) so that later checks that need the package graph (a `dependsOn` naming a
//! package that does not exist) can point at the line too.
//!
//! ```
//! use mono_config::{parse_root, ConfigFormat, DependsOn, SourceFile};
//! use mono_paths::RepoPath;
//!
//! let text = r#"
//! [tasks.build]
//! dependsOn = ["^build"]
//! outputs = ["dist/**"]
//! "#;
//! let source = SourceFile::new(RepoPath::new("turbo.toml").unwrap(), text.into(), ConfigFormat::Toml);
//! let config = parse_root(source).unwrap();
//! let build = &config.tasks[0];
//! assert_eq!(build.name.to_string(), "build");
//! assert_eq!(build.definition.resolve().depends_on, vec![DependsOn::Topological("build".into())]);
//! ```
//!
//! It is its own crate because everything else depends on the configuration and it depends
//! on nothing of mono's but names and paths.

mod canonical;
mod error;
mod limits;
mod migrate;
mod model;
mod node;
mod schema;
mod source;
mod window;

use std::sync::Arc;

use mono_paths::{AbsPath, RepoPath};

pub use canonical::task_definition as canonical_task_definition;
pub use error::{ConfigError, ConfigErrors};
pub use limits::{parse_age, parse_size, LimitError};
pub use migrate::{turbo_json_to_toml, MigrateError};
pub use model::{
    DependsOn, EnvMode, ImageConfig, ImageFile, ListField, OutputLogs, PackageConfig,
    RawTaskDefinition, RemoteCacheConfig, RootConfig, TaskDefinition, TaskEntry, Ui, TURBO_EXTENDS,
};
pub use schema::did_you_mean;
pub use source::{ConfigFormat, SourceFile, Span, Spanned};
pub use window::{windowed, Windowed};

/// Parses a root config from its text.
pub fn parse_root(source: Arc<SourceFile>) -> Result<RootConfig, ConfigErrors> {
    let file = source.path().to_string();
    let node = node::parse(&source).map_err(|e| ConfigErrors::single(&file, *e))?;
    let mut checker = schema::Checker::new(&source);
    let config = checker.root(&node);
    checker
        .finish(config)
        .map_err(|errors| ConfigErrors { file, errors })
}

/// Parses a package config from its text.
pub fn parse_package(source: Arc<SourceFile>) -> Result<PackageConfig, ConfigErrors> {
    let file = source.path().to_string();
    let node = node::parse(&source).map_err(|e| ConfigErrors::single(&file, *e))?;
    let mut checker = schema::Checker::new(&source);
    let config = checker.package(&node);
    checker
        .finish(config)
        .map_err(|errors| ConfigErrors { file, errors })
}

/// Whether a config text belongs to a package (it has `extends` or `name` at its top level)
/// rather than to a repository root. Unparsable text counts as a root, so that loading it
/// reports the syntax error.
pub fn is_package_config(source: &Arc<SourceFile>) -> bool {
    match node::parse(source) {
        Ok(node::Node {
            kind: node::NodeKind::Object(entries),
            ..
        }) => entries
            .iter()
            .any(|(key, _)| key.name == "extends" || key.name == "name"),
        _ => false,
    }
}

/// Reads the config file of a directory, if it has one (`turbo.toml` first, then
/// `turbo.json` or `turbo.jsonc`).
pub fn read_config(
    root: &AbsPath,
    dir: &RepoPath,
) -> Result<Option<Arc<SourceFile>>, ConfigErrors> {
    read_config_file(root, dir)
}

/// The config files a directory may hold, in order of preference: `turbo.toml`, then
/// `turbo.json` or `turbo.jsonc` (JSON with comments both; Turborepo refuses a folder with
/// both, and so does mono).
const CONFIG_FILES: [(&str, ConfigFormat); 3] = [
    ("turbo.toml", ConfigFormat::Toml),
    ("turbo.json", ConfigFormat::Json),
    ("turbo.jsonc", ConfigFormat::Json),
];

/// The largest turbo.toml or turbo.json read, in bytes. Real ones are a few KiB; the limit
/// keeps a runaway file (a 10 MB string) from costing hundreds of MB to parse and report.
pub const MAX_CONFIG_SIZE: u64 = 1 << 20;

/// Reads the config file of a directory: `turbo.toml`, else `turbo.json` or `turbo.jsonc`,
/// else none. A file that is not a regular file, or is larger than [`MAX_CONFIG_SIZE`], is
/// an error; its type is checked before it is opened, so a FIFO cannot block.
fn read_config_file(
    root: &AbsPath,
    dir: &RepoPath,
) -> Result<Option<Arc<SourceFile>>, ConfigErrors> {
    let mut found: Option<Arc<SourceFile>> = None;
    for (name, format) in CONFIG_FILES {
        let rel = dir.join(name).expect("a file name is a valid repo path");
        let path = root.join_repo(&rel);
        let Some(text) = read_bounded(&rel, &path)? else {
            continue;
        };
        if let Some(first) = &found {
            return Err(ConfigErrors::single(
                rel.to_string(),
                ConfigError::JsonAndJsonc {
                    json: first.path().clone(),
                    jsonc: rel,
                },
            ));
        }
        let file = SourceFile::new(rel, text, format);
        if format == ConfigFormat::Toml {
            return Ok(Some(file));
        }
        found = Some(file);
    }
    Ok(found)
}

/// The text of the config file at `path`, `None` when there is none: refused when it is not
/// a regular file or is larger than [`MAX_CONFIG_SIZE`].
fn read_bounded(rel: &RepoPath, path: &AbsPath) -> Result<Option<String>, ConfigErrors> {
    let fail = |error| Err(ConfigErrors::single(rel.to_string(), error));
    let meta = match std::fs::symlink_metadata(path.as_path()) {
        Ok(meta) if meta.file_type().is_symlink() => std::fs::metadata(path.as_path()),
        other => other,
    };
    let path = path.clone();
    match meta {
        Ok(meta) if !meta.is_file() => return fail(ConfigError::NotAFile { path }),
        Ok(meta) if meta.len() > MAX_CONFIG_SIZE => {
            return fail(ConfigError::TooLarge {
                path,
                size: meta.len(),
                limit: MAX_CONFIG_SIZE,
            })
        }
        Ok(_) => {}
        // A dangling symlink: something is there, but not a file.
        Err(err)
            if err.kind() == std::io::ErrorKind::NotFound
                && std::fs::symlink_metadata(path.as_path()).is_ok() =>
        {
            return fail(ConfigError::NotAFile { path })
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return fail(ConfigError::Io { path, source }),
    }
    // Bounded even if the file grew since: at most one byte past the limit is read.
    let mut text = String::new();
    let read = std::fs::File::open(path.as_path()).and_then(|file| {
        use std::io::Read;
        file.take(MAX_CONFIG_SIZE + 1).read_to_string(&mut text)
    });
    match read {
        Ok(size) if size as u64 > MAX_CONFIG_SIZE => fail(ConfigError::TooLarge {
            path,
            size: size as u64,
            limit: MAX_CONFIG_SIZE,
        }),
        Ok(_) => Ok(Some(text)),
        Err(source) => fail(ConfigError::Io { path, source }),
    }
}

/// Loads the repository's root config. A repository without one gets the empty config
/// (no tasks), as Turborepo would refuse to run but `mono ls` still works.
pub fn load_root(root: &AbsPath) -> Result<RootConfig, ConfigErrors> {
    match read_config_file(root, &RepoPath::root())? {
        Some(source) => parse_root(source),
        None => Ok(RootConfig::default()),
    }
}

/// Loads the config of the package in `dir`, if it has one.
pub fn load_package(root: &AbsPath, dir: &RepoPath) -> Result<Option<PackageConfig>, ConfigErrors> {
    if dir.is_root() {
        return Ok(None);
    }
    read_config_file(root, dir)?.map(parse_package).transpose()
}

#[cfg(test)]
mod tests;
