//! A small parser for `go.mod` and `go.work`, and what discovery does with Go modules:
//! their short names and their dependencies on one another.
//!
//! Both files share one syntax (Go's `modfile`): one directive per line, `//` comments, and
//! a block form `verb ( ... )` with one entry per line. Tokens are bare words or quoted
//! strings (`"..."` with escapes, or `` `...` ``). Only the directives mono needs are kept
//! (`module`, `require`, `replace`, `use`); every other directive (`go`, `toolchain`,
//! `exclude`, `retract`, `tool`, `godebug`, ...) is checked for syntax and ignored.

use std::fmt;

use mono_paths::RepoPath;
use mono_task_id::PackageName;

use crate::dependencies::Lookup;

/// A syntax error in a go.mod or go.work file, at a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoSyntaxError {
    /// 1-based line of the problem.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for GoSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// A `replace` directive: `old [version] => new [version]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoReplace {
    /// The module path being replaced.
    pub old: String,
    /// The replacement: a module path, or a local directory (`./x`, `../x`, `/abs`).
    pub new: String,
}

impl GoReplace {
    /// The replacement directory, when the replacement is a local path (Go's rule: it starts
    /// with `./` or `../`, or is `.`/`..`; absolute paths are ignored by mono).
    pub fn local_dir(&self) -> Option<&str> {
        let new = self.new.as_str();
        let local = new == "."
            || new == ".."
            || new.starts_with("./")
            || new.starts_with("../")
            || new.starts_with(".\\")
            || new.starts_with("..\\");
        local.then_some(new)
    }
}

/// What mono reads of a `go.mod`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoMod {
    /// The `module` path, with its 1-based line.
    pub module: Option<(String, usize)>,
    /// Module paths of `require` directives, in file order.
    pub requires: Vec<String>,
    /// `replace` directives, in file order.
    pub replaces: Vec<GoReplace>,
}

/// What mono reads of a `go.work`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoWork {
    /// Directories of `use` directives, as written, with their 1-based lines.
    pub uses: Vec<(String, usize)>,
    /// `replace` directives, in file order.
    pub replaces: Vec<GoReplace>,
}

/// Parses a `go.mod`.
pub fn parse_go_mod(text: &str) -> Result<GoMod, GoSyntaxError> {
    let mut out = GoMod::default();
    for entry in entries(text)? {
        match entry.verb.as_str() {
            "module" => {
                let [path] = entry.args.as_slice() else {
                    return Err(entry.error("`module` takes one module path"));
                };
                if out.module.is_some() {
                    return Err(entry.error("repeated `module` directive"));
                }
                out.module = Some((path.clone(), entry.line));
            }
            "require" => {
                if entry.args.len() != 2 {
                    return Err(entry.error("`require` takes a module path and a version"));
                }
                out.requires.push(entry.args[0].clone());
            }
            "replace" => out.replaces.push(replace(&entry)?),
            _ => {}
        }
    }
    Ok(out)
}

/// Parses a `go.work`.
pub fn parse_go_work(text: &str) -> Result<GoWork, GoSyntaxError> {
    let mut out = GoWork::default();
    for entry in entries(text)? {
        match entry.verb.as_str() {
            "use" => {
                let [dir] = entry.args.as_slice() else {
                    return Err(entry.error("`use` takes one directory"));
                };
                out.uses.push((dir.clone(), entry.line));
            }
            "replace" => out.replaces.push(replace(&entry)?),
            _ => {}
        }
    }
    Ok(out)
}

fn replace(entry: &Entry) -> Result<GoReplace, GoSyntaxError> {
    let arrow = entry.args.iter().position(|a| a == "=>");
    let (Some(arrow), true) = (arrow, entry.args.len() >= 3) else {
        return Err(entry.error("`replace` must be `old [version] => new [version]`"));
    };
    let (left, right) = (&entry.args[..arrow], &entry.args[arrow + 1..]);
    if !(1..=2).contains(&left.len()) || !(1..=2).contains(&right.len()) {
        return Err(entry.error("`replace` must be `old [version] => new [version]`"));
    }
    Ok(GoReplace {
        old: left[0].clone(),
        new: right[0].clone(),
    })
}

/// One directive: its verb (the block's verb for block entries), its arguments, its line.
#[derive(Debug)]
struct Entry {
    verb: String,
    args: Vec<String>,
    line: usize,
}

impl Entry {
    fn error(&self, message: &str) -> GoSyntaxError {
        GoSyntaxError {
            line: self.line,
            message: message.to_owned(),
        }
    }
}

/// Splits a file into directives, expanding blocks.
fn entries(text: &str) -> Result<Vec<Entry>, GoSyntaxError> {
    let mut out = Vec::new();
    // The verb and starting line of the open block, if any.
    let mut block: Option<(String, usize)> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let tokens = tokenize(raw).map_err(|message| GoSyntaxError { line, message })?;
        let Some(first) = tokens.first() else {
            continue;
        };
        if let Some((verb, _)) = &block {
            if first == ")" {
                if tokens.len() != 1 {
                    return Err(GoSyntaxError {
                        line,
                        message: "unexpected text after `)`".to_owned(),
                    });
                }
                block = None;
            } else {
                if tokens.iter().any(|t| t == "(" || t == ")") {
                    return Err(GoSyntaxError {
                        line,
                        message: format!("unexpected parenthesis in `{verb}` block"),
                    });
                }
                out.push(Entry {
                    verb: verb.clone(),
                    args: tokens,
                    line,
                });
            }
            continue;
        }
        if first == "(" || first == ")" {
            return Err(GoSyntaxError {
                line,
                message: format!("unexpected `{first}`"),
            });
        }
        match tokens.get(1).map(String::as_str) {
            // `require (` opens a block; `require ()` is an empty one.
            Some("(") if tokens.len() == 2 => block = Some((first.clone(), line)),
            Some("(") if tokens.len() == 3 && tokens[2] == ")" => {}
            _ => {
                if tokens.iter().any(|t| t == "(" || t == ")") {
                    return Err(GoSyntaxError {
                        line,
                        message: "unexpected parenthesis".into(),
                    });
                }
                let mut tokens = tokens;
                let verb = tokens.remove(0);
                out.push(Entry {
                    verb,
                    args: tokens,
                    line,
                });
            }
        }
    }
    if let Some((verb, line)) = block {
        return Err(GoSyntaxError {
            line,
            message: format!("`{verb} (` block is never closed"),
        });
    }
    Ok(out)
}

/// Splits one line into tokens, dropping a `//` comment. `(`, `)` and `=>` are tokens of
/// their own; quoted strings are unquoted.
fn tokenize(line: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let mut chars = line.char_indices().peekable();
    let mut word = String::new();
    let flush = |word: &mut String, tokens: &mut Vec<String>| {
        if !word.is_empty() {
            tokens.push(std::mem::take(word));
        }
    };
    while let Some((i, c)) = chars.next() {
        match c {
            '/' if line[i..].starts_with("//") => break,
            c if c.is_whitespace() => flush(&mut word, &mut tokens),
            '(' | ')' => {
                flush(&mut word, &mut tokens);
                tokens.push(c.to_string());
            }
            '=' if line[i..].starts_with("=>") => {
                chars.next();
                flush(&mut word, &mut tokens);
                tokens.push("=>".to_owned());
            }
            '"' => {
                flush(&mut word, &mut tokens);
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err("unterminated quoted string".to_owned()),
                        Some((_, '"')) => break,
                        Some((_, '\\')) => match chars.next() {
                            Some((_, 'n')) => s.push('\n'),
                            Some((_, 't')) => s.push('\t'),
                            Some((_, other)) => s.push(other),
                            None => return Err("unterminated quoted string".to_owned()),
                        },
                        Some((_, other)) => s.push(other),
                    }
                }
                tokens.push(s);
            }
            '`' => {
                flush(&mut word, &mut tokens);
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err("unterminated raw string".to_owned()),
                        Some((_, '`')) => break,
                        Some((_, other)) => s.push(other),
                    }
                }
                tokens.push(s);
            }
            c => word.push(c),
        }
    }
    flush(&mut word, &mut tokens);
    Ok(tokens)
}

/// The short name of a Go module: its last path element, or the one before a major version
/// suffix (`example.com/lib/v2` is `lib`). A Go package is named by it unless another
/// package has the name or two modules share it (then by the full module path).
pub(crate) fn go_short_name(module: &str) -> &str {
    let mut parts = module.rsplit('/');
    let last = parts.next().unwrap_or(module);
    let is_major =
        last.len() > 1 && last.starts_with('v') && last[1..].bytes().all(|b| b.is_ascii_digit());
    match (is_major, parts.next()) {
        (true, Some(before)) => before,
        _ => last,
    }
}

/// The packages the module in `dir` depends on: `require`s of workspace modules, and local
/// `replace` folders that are packages.
pub(crate) fn internal_dependencies(
    dir: &RepoPath,
    go_mod: &GoMod,
    lookup: &Lookup<'_>,
) -> Vec<PackageName> {
    let mut out: Vec<PackageName> = go_mod
        .requires
        .iter()
        .filter_map(|module| lookup.go_modules.get(module.as_str()))
        .map(|name| (*name).clone())
        .collect();
    for replace in &go_mod.replaces {
        if let Some(local) = replace.local_dir() {
            out.extend(lookup.by_dir(lookup.resolve(dir, local)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    #[test_case("example.com/acme/api", "api" ; "last element")]
    #[test_case("example.com/acme/lib/v2", "lib" ; "major version suffix")]
    #[test_case("gopkg.in/yaml.v3", "yaml.v3" ; "gopkg dot version")]
    #[test_case("tool", "tool" ; "single element")]
    #[test_case("v2", "v2" ; "bare v2")]
    fn go_short_names(module: &str, expected: &str) {
        assert_eq!(go_short_name(module), expected);
    }

    #[test]
    fn parses_single_and_block_forms_with_comments() {
        let text = r#"
// The API service.
module example.com/acme/api // trailing comment

go 1.22
toolchain go1.22.1

require example.com/acme/shared v0.0.0
require (
	github.com/pkg/errors v0.9.1 // indirect
	// a comment line inside the block
	"example.com/acme/quoted" v1.0.0
)
require ()

replace example.com/acme/shared => ../shared
replace (
	example.com/acme/quoted v1.0.0 => ./quoted
	github.com/pkg/errors => github.com/fork/errors v0.9.2
)
exclude example.com/bad v1.0.0
"#;
        let go_mod = parse_go_mod(text).unwrap();
        assert_eq!(go_mod.module, Some(("example.com/acme/api".to_owned(), 3)));
        assert_eq!(
            go_mod.requires,
            [
                "example.com/acme/shared",
                "github.com/pkg/errors",
                "example.com/acme/quoted"
            ]
        );
        let replaces: Vec<_> = go_mod
            .replaces
            .iter()
            .map(|r| (r.old.as_str(), r.local_dir()))
            .collect();
        assert_eq!(
            replaces,
            [
                ("example.com/acme/shared", Some("../shared")),
                ("example.com/acme/quoted", Some("./quoted")),
                ("github.com/pkg/errors", None),
            ]
        );
    }

    #[test]
    fn parses_go_work_use_forms() {
        let text = "go 1.21\n\nuse ./tools // tools\nuse (\n\t./services/api\n\t\"./services/my dir\"\n\t.\n)\nreplace example.com/x => ./x\n";
        let work = parse_go_work(text).unwrap();
        assert_eq!(
            work.uses,
            [
                ("./tools".to_owned(), 3),
                ("./services/api".to_owned(), 5),
                ("./services/my dir".to_owned(), 6),
                (".".to_owned(), 7),
            ]
        );
        assert_eq!(work.replaces[0].local_dir(), Some("./x"));
    }

    #[test]
    fn arrow_without_spaces() {
        let go_mod = parse_go_mod("module a\nreplace b=>../b\n").unwrap();
        assert_eq!(
            go_mod.replaces[0],
            GoReplace {
                old: "b".into(),
                new: "../b".into()
            }
        );
    }

    #[test]
    fn missing_module_is_not_a_syntax_error() {
        assert_eq!(parse_go_mod("go 1.21\n").unwrap().module, None);
    }

    #[test_case("module a\nrequire (\n\tb v1\n", 2 ; "unclosed block")]
    #[test_case("module a b\n", 1 ; "module with two paths")]
    #[test_case("module a\nrequire b\n", 2 ; "require without version")]
    #[test_case("module a\nreplace b ../b\n", 2 ; "replace without arrow")]
    #[test_case("module \"a\n", 1 ; "unterminated string")]
    #[test_case("module a\n)\n", 2 ; "stray close")]
    #[test_case("module a\nmodule b\n", 2 ; "repeated module")]
    fn reports_line_of_errors(text: &str, line: usize) {
        assert_eq!(parse_go_mod(text).unwrap_err().line, line);
    }

    #[test]
    fn use_needs_one_dir() {
        assert_eq!(parse_go_work("use (\n a b\n)\n").unwrap_err().line, 2);
    }
}
