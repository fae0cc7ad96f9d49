//! The TOML files that Cargo and uv share a shape for, read and cut once for both: their
//! lockfiles (`Cargo.lock`, `uv.lock`) and the member lists of their workspace manifests
//! (Cargo.toml `[workspace] members`, pyproject.toml `[tool.uv.workspace] members`).

use std::path::Path;

use crate::graph::{line_of, normalize_dir};
use crate::LockfileError;

/// Reads a TOML file into `T`; a syntax or type error names the file and its line.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(
    path: &Path,
    text: &str,
) -> Result<T, LockfileError> {
    toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |s| line_of(text, s.start));
        LockfileError::syntax(path, line, e.message().to_string())
    })
}

/// Reads a TOML file as a document to edit (its comments and layout kept); a syntax error
/// names the file and its line.
pub(crate) fn document(path: &Path, text: &str) -> Result<toml_edit::DocumentMut, LockfileError> {
    text.parse().map_err(|e: toml_edit::TomlError| {
        let line = e.span().map_or(1, |s| line_of(text, s.start));
        LockfileError::syntax(path, line, e.message().to_string())
    })
}

/// Cuts a workspace's `members` list to the entries that name a kept folder: a folder
/// (`"crates/a"`, `"./crates/a/"`) when it is one of `keep`, a glob (`"crates/*"`) when it
/// matches one of them. Cargo and uv both reject a member glob that matches no member, so a
/// glob of none of the kept folders goes. Entries that are not strings, or globs that do not
/// compile, are left for the tool to report.
pub(crate) fn retain_members(members: &mut toml_edit::Array, keep: &[&str]) {
    let keep: Vec<&str> = keep.iter().map(|d| normalize_dir(d)).collect();
    members.retain(|entry| {
        let Some(entry) = entry.as_str() else {
            return true;
        };
        if !entry.contains(['*', '?', '[']) {
            return keep.contains(&normalize_dir(entry));
        }
        match globset::GlobBuilder::new(normalize_dir(entry))
            .literal_separator(true)
            .build()
        {
            Ok(glob) => {
                let matcher = glob.compile_matcher();
                keep.iter().any(|dir| matcher.is_match(dir))
            }
            Err(_) => true,
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(members: &str, keep: &[&str]) -> String {
        let mut doc = document(Path::new("x.toml"), &format!("members = {members}\n")).unwrap();
        retain_members(doc["members"].as_array_mut().unwrap(), keep);
        doc["members"].to_string().trim().to_owned()
    }

    #[test]
    fn keeps_kept_folders_and_the_globs_that_match_one() {
        assert_eq!(
            cut(
                r#"["crates/*", "./tools/gen/", "tools/lint", "apps/*", 7, "bad/[x"]"#,
                &["crates/a", "tools/gen"]
            ),
            r#"["crates/*", "./tools/gen/", 7, "bad/[x"]"#
        );
    }

    #[test]
    fn a_glob_does_not_cross_a_folder() {
        assert_eq!(cut(r#"["crates/*"]"#, &["crates/a/b"]), "[]");
        assert_eq!(cut(r#"["crates/**"]"#, &["crates/a/b"]), r#"["crates/**"]"#);
    }

    #[test]
    fn errors_name_the_line() {
        let err = document(Path::new("Cargo.toml"), "[workspace]\nmembers = [\n").unwrap_err();
        assert!(err.to_string().contains("Cargo.toml"), "{err}");
        let err = parse::<toml::Table>(Path::new("uv.lock"), "a = 1\nb = \n").unwrap_err();
        assert!(err.to_string().contains(":2"), "{err}");
    }
}
