//! Whether a Go module has a `main` package, read from the package clauses of its sources.
//!
//! mono needs to know because `go build -o bin/ ./...` fails in a module without one ("no main
//! packages to build"), while `go build ./...` writes no binaries. Only the head of each file
//! is read: comments and build constraints, up to the `package` clause.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use walkdir::WalkDir;

use crate::glob::skip;

/// Whether the Go module in `module_dir` has at least one `package main` among the files that
/// `go build ./...` there would compile.
///
/// The files counted are those of `./...`, found as the go command finds them:
///
/// 1. every `.go` file in `module_dir` and its sub-folders, except `_test.go` files and files
///    whose name starts with `.` or `_`;
/// 2. not entering `vendor` or `testdata`, folders whose name starts with `.` or `_`, nor a
///    folder holding its own go.mod (a nested module is not part of this one), nor symlinked
///    folders;
/// 3. nor, as everywhere in discovery, `node_modules` or a Cargo `target` folder;
/// 4. a file whose build constraint is `//go:build ignore` (or `// +build ignore`) is never
///    built, so it does not count; other constraints are not evaluated (a `main` for some
///    platform counts), so the answer does not depend on the machine.
///
/// An unreadable folder or file counts as holding no `main`: the go command reports it when it
/// builds. The headers are read in parallel and the search stops at the first `main`.
pub(crate) fn has_main_package(module_dir: &Path) -> bool {
    go_files(module_dir)
        .par_iter()
        .any(|path| File::open(path).is_ok_and(|file| is_main(BufReader::new(file))))
}

/// The `.go` files of `./...` in `module_dir`, as [`has_main_package`] lists them.
fn go_files(module_dir: &Path) -> Vec<PathBuf> {
    WalkDir::new(module_dir)
        .follow_links(false)
        .into_iter()
        .filter_entry(|entry| entry.depth() == 0 || in_module(entry))
        .flatten()
        .filter(|entry| !entry.file_type().is_dir())
        .filter(|entry| {
            let name = entry.file_name().to_str().unwrap_or_default();
            name.ends_with(".go") && !name.ends_with("_test.go")
        })
        .map(walkdir::DirEntry::into_path)
        .collect()
}

/// Whether an entry below the module folder is part of `./...`: a file or folder whose name
/// does not start with `.` or `_`, and for a folder, one the go command enters.
fn in_module(entry: &walkdir::DirEntry) -> bool {
    let Some(name) = entry.file_name().to_str() else {
        return false;
    };
    if name.starts_with('.') || name.starts_with('_') {
        return false;
    }
    if !entry.file_type().is_dir() {
        return true;
    }
    let path = entry.path();
    name != "vendor" && name != "testdata" && !skip(name, path) && !path.join("go.mod").is_file()
}

/// Whether a Go source file declares `package main` and is not excluded by `//go:build ignore`.
fn is_main(source: impl BufRead) -> bool {
    matches!(header(source), Some(Header { package, ignored: false }) if package == "main")
}

/// What mono reads of a Go file's head.
#[derive(Debug, PartialEq, Eq)]
struct Header {
    /// The package clause's name.
    package: String,
    /// Whether a build constraint before it is exactly `ignore`.
    ignored: bool,
}

/// Reads a Go file up to its package clause, skipping `//` and `/* */` comments. `None` when
/// the first token is not `package` or the file cannot be read.
fn header(mut source: impl BufRead) -> Option<Header> {
    let mut ignored = false;
    let mut in_block_comment = false;
    let mut seen_package = false;
    let mut bytes = Vec::new();
    let mut first = true;
    loop {
        bytes.clear();
        if source.read_until(b'\n', &mut bytes).ok()? == 0 {
            return None;
        }
        let line = String::from_utf8_lossy(&bytes);
        let mut rest: &str = &line;
        if first {
            rest = rest.trim_start_matches('\u{feff}');
            first = false;
        }
        let mut line_start = true;
        loop {
            rest = rest.trim_start();
            if in_block_comment {
                let Some(end) = rest.find("*/") else {
                    break;
                };
                rest = &rest[end + 2..];
                in_block_comment = false;
                line_start = false;
                continue;
            }
            if rest.is_empty() {
                break;
            }
            if let Some(comment) = rest.strip_prefix("//") {
                // Build constraints are line comments that start their line.
                if line_start && !seen_package && is_ignore_constraint(comment) {
                    ignored = true;
                }
                break;
            }
            if let Some(after) = rest.strip_prefix("/*") {
                rest = after;
                in_block_comment = true;
                continue;
            }
            if !seen_package {
                let after = rest.strip_prefix("package")?;
                if after.starts_with(is_ident_char) {
                    return None;
                }
                rest = after;
                seen_package = true;
                line_start = false;
                continue;
            }
            let end = rest.find(|c| !is_ident_char(c)).unwrap_or(rest.len());
            if end == 0 {
                return None;
            }
            return Some(Header {
                package: rest[..end].to_owned(),
                ignored,
            });
        }
    }
}

fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Whether a line comment (without its `//`) is the constraint `go:build ignore` or
/// `+build ignore`.
fn is_ignore_constraint(comment: &str) -> bool {
    if let Some(expr) = comment.strip_prefix("go:build") {
        return expr.starts_with(char::is_whitespace) && expr.trim() == "ignore";
    }
    match comment.trim_start().strip_prefix("+build") {
        Some(expr) => expr.starts_with(char::is_whitespace) && expr.trim() == "ignore",
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    fn package(text: &str) -> Option<String> {
        header(text.as_bytes()).map(|h| h.package)
    }

    #[test_case("package main\n", Some("main") ; "plain")]
    #[test_case("\u{feff}package main\n", Some("main") ; "byte order mark")]
    #[test_case("// Copyright\n// license\n\n// Package x does.\npackage x\n", Some("x") ; "line comments")]
    #[test_case("/* a\n * block\n */ package main // c\n", Some("main") ; "block comment")]
    #[test_case("/* a */ /* b */package/* c */main;\n", Some("main") ; "comments between tokens")]
    #[test_case("package\nmain\n", Some("main") ; "clause over two lines")]
    #[test_case("//go:build linux\n\npackage main_test\n", Some("main_test") ; "underscore")]
    #[test_case("package mainly\n", Some("mainly") ; "longer name")]
    #[test_case("packagemain\n", None ; "no space")]
    #[test_case("import \"fmt\"\npackage main\n", None ; "not first")]
    #[test_case("// only a comment\n", None ; "no clause")]
    #[test_case("", None ; "empty")]
    fn reads_the_package_clause(text: &str, expected: Option<&str>) {
        assert_eq!(package(text).as_deref(), expected);
    }

    #[test_case("//go:build ignore\n\npackage main\n", false ; "go build ignore")]
    #[test_case("// +build ignore\n\npackage main\n", false ; "plus build ignore")]
    #[test_case("//go:build linux\n\npackage main\n", true ; "other constraint counts")]
    #[test_case("//go:build ignore && linux\n\npackage main\n", true ; "ignore in an expression is not evaluated")]
    #[test_case("// ignore\npackage main\n", true ; "a comment saying ignore")]
    #[test_case("/* x */ //go:build ignore\npackage main\n", true ; "not at the start of its line")]
    #[test_case("package main\n//go:build ignore\n", true ; "after the clause")]
    #[test_case("package lib\n", false ; "library")]
    fn main_unless_ignored(text: &str, expected: bool) {
        assert_eq!(is_main(text.as_bytes()), expected);
    }

    fn module(files: &[(&str, &str)]) -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = tmp.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        tmp
    }

    const GO_MOD: (&str, &str) = ("go.mod", "module example.com/m\n\ngo 1.19\n");

    #[test]
    fn a_library_module_has_no_main() {
        let tmp = module(&[
            GO_MOD,
            ("lib.go", "// Package m is a library.\npackage m\n"),
            ("internal/x/x.go", "package x\n"),
        ]);
        assert!(!has_main_package(tmp.path()));
    }

    #[test]
    fn a_command_under_cmd_is_a_main() {
        let tmp = module(&[
            GO_MOD,
            ("lib.go", "package m\n"),
            (
                "cmd/x/main.go",
                "// Command x.\npackage main\n\nfunc main() {}\n",
            ),
        ]);
        assert!(has_main_package(tmp.path()));
    }

    #[test]
    fn a_main_at_the_module_root_is_a_main() {
        let tmp = module(&[GO_MOD, ("main.go", "package main\n")]);
        assert!(has_main_package(tmp.path()));
    }

    #[test]
    fn a_main_only_in_a_test_file_does_not_count() {
        let tmp = module(&[
            GO_MOD,
            ("lib.go", "package m\n"),
            ("tool/tool_test.go", "package main\n"),
        ]);
        assert!(!has_main_package(tmp.path()));
    }

    #[test]
    fn a_main_in_a_nested_module_does_not_count() {
        let tmp = module(&[
            GO_MOD,
            ("lib.go", "package m\n"),
            ("tools/go.mod", "module example.com/m/tools\n"),
            ("tools/cmd/gen/main.go", "package main\n"),
        ]);
        assert!(!has_main_package(tmp.path()));
        assert!(has_main_package(&tmp.path().join("tools")));
    }

    #[test_case("vendor/example.com/v/main.go" ; "vendor")]
    #[test_case("testdata/main.go" ; "testdata")]
    #[test_case(".hidden/main.go" ; "hidden folder")]
    #[test_case("_old/main.go" ; "underscore folder")]
    #[test_case("_main.go" ; "underscore file")]
    #[test_case("node_modules/x/main.go" ; "node_modules")]
    #[test_case("gen/gen.go" ; "ignored by build constraint")]
    fn mains_go_does_not_build_do_not_count(path: &str) {
        let text = if path.starts_with("gen/") {
            "//go:build ignore\n\npackage main\n"
        } else {
            "package main\n"
        };
        let tmp = module(&[GO_MOD, ("lib.go", "package m\n"), (path, text)]);
        assert!(!has_main_package(tmp.path()));
    }

    #[test]
    fn a_missing_folder_has_no_main() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(!has_main_package(&tmp.path().join("absent")));
    }

    #[test]
    fn a_main_behind_a_symlinked_folder_does_not_count() {
        let tmp = module(&[GO_MOD, ("lib.go", "package m\n")]);
        let elsewhere = module(&[("cmd/main.go", "package main\n")]);
        std::os::unix::fs::symlink(elsewhere.path().join("cmd"), tmp.path().join("cmd")).unwrap();
        assert!(!has_main_package(tmp.path()));
    }
}
