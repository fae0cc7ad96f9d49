//! The command line as Turborepo users write it, made into what clap parses: `--dry json`
//! (a space, not `=`), run flags before the task (`mono -F web build`), and Turborepo's own
//! subcommands, which must never silently become task names.

use std::ffi::OsString;

/// Values that an optional-valued flag takes from the next word, as Turborepo reads them.
const SPACED_VALUES: &[(&str, &[&str])] = &[
    ("--dry", &["json", "text"]),
    ("--dry-run", &["json", "text"]),
    (
        "--continue",
        &["never", "dependencies-successful", "always"],
    ),
];

/// Joins `--dry json` into `--dry=json` (and the like, see [`SPACED_VALUES`]); nothing
/// after `--` changes.
pub fn join_spaced_values(args: Vec<OsString>) -> Vec<OsString> {
    let mut out: Vec<OsString> = Vec::with_capacity(args.len());
    let mut iter = args.into_iter().peekable();
    while let Some(arg) = iter.next() {
        if arg == "--" {
            out.push(arg);
            out.extend(iter);
            break;
        }
        let joined = arg.to_str().and_then(|flag| {
            let (_, values) = SPACED_VALUES.iter().find(|(name, _)| *name == flag)?;
            let next = iter.peek()?.to_str()?;
            values
                .contains(&next)
                .then(|| OsString::from(format!("{flag}={next}")))
        });
        match joined {
            Some(joined) => {
                iter.next();
                out.push(joined);
            }
            None => out.push(arg),
        }
    }
    out
}

/// `args` with `run` inserted before index `at`.
pub fn with_run_at(args: &[OsString], at: usize) -> Vec<OsString> {
    let mut out = args[..at].to_vec();
    out.push("run".into());
    out.extend_from_slice(&args[at..]);
    out
}

/// Where the words of an external subcommand (`rest`, as clap collected them) start in
/// `args`: the last position where they all appear in order.
pub fn external_start(args: &[OsString], rest: &[String]) -> Option<usize> {
    (1..args.len()).rev().find(|&i| {
        args[i..].len() >= rest.len()
            && args[i..i + rest.len()]
                == rest[..].iter().map(OsString::from).collect::<Vec<_>>()[..]
    })
}

/// What mono says of a Turborepo subcommand it does not have, and whether that is an
/// error: `mono login` must not run a task named `login`.
pub fn turbo_subcommand(word: &str) -> Option<(String, bool)> {
    let (text, error) = match word {
        "login" | "logout" | "link" | "unlink" => (
            "mono has no Vercel account to log in to or link: point it at a remote cache with \
             --remote-cache URL (or TURBO_API) and a token with TURBO_TOKEN (docs/remote-cache.md)",
            true,
        ),
        "gen" | "generate" | "g" => (
            "mono has no code generators: keep using `turbo gen` (or your own scaffolding) beside mono",
            true,
        ),
        "telemetry" => ("mono sends no telemetry: there is nothing to turn on or off", false),
        "daemon" => ("mono has no daemon: there is nothing to start, stop or clean", false),
        "query" => (
            "mono has no GraphQL query: use `mono ls --json` for packages and \
             `mono run <task> --graph=json` or `--dry=json` for tasks",
            true,
        ),
        "watch" => (
            "mono has no watch mode: run `mono <task>` again (unchanged tasks are cache hits), \
             or make the task `persistent`",
            true,
        ),
        "boundaries" => (
            "mono does not check boundaries: `tags` are read and accepted, nothing enforces them",
            true,
        ),
        "scan" => ("mono has nothing to scan for: it is fast without a daemon", false),
        "devtools" => (
            "mono has no devtools server: write the graph with `mono run <task> --graph=graph.dot`",
            true,
        ),
        "docs" => ("mono's documentation is the docs/ folder of its repository", false),
        "bin" => (
            "mono is a single binary; `command -v mono` (or `npx mono-build --version`) finds it",
            false,
        ),
        "info" => ("`mono --version` names the version and commit; `mono ls` the packages", false),
        "get-mfe-port" | "exec" | "setup" => (
            "mono does not have this Turborepo subcommand (see docs/turbo-compat.md)",
            true,
        ),
        _ => return None,
    };
    Some((
        format!("`{word}`: {text}; `mono run {word}` runs a task of that name"),
        error,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn joins_a_spaced_dry_format_but_not_a_task_name() {
        assert_eq!(
            join_spaced_values(os(&["mono", "build", "--dry", "json"])),
            os(&["mono", "build", "--dry=json"])
        );
        assert_eq!(
            join_spaced_values(os(&["mono", "--dry", "build"])),
            os(&["mono", "--dry", "build"])
        );
        assert_eq!(
            join_spaced_values(os(&["mono", "test", "--continue", "always"])),
            os(&["mono", "test", "--continue=always"])
        );
        assert_eq!(
            join_spaced_values(os(&["mono", "test", "--", "--dry", "json"])),
            os(&["mono", "test", "--", "--dry", "json"])
        );
    }

    #[test]
    fn finds_where_an_external_subcommand_starts() {
        let args = os(&["mono", "--token", "t", "build", "lint"]);
        let rest = vec!["build".to_owned(), "lint".to_owned()];
        assert_eq!(external_start(&args, &rest), Some(3));
        assert_eq!(
            with_run_at(&args, 3),
            os(&["mono", "--token", "t", "run", "build", "lint"])
        );
    }

    #[test]
    fn turbo_subcommands_are_never_tasks() {
        assert!(turbo_subcommand("login").unwrap().1);
        assert!(!turbo_subcommand("telemetry").unwrap().1);
        assert!(turbo_subcommand("build").is_none());
    }
}
