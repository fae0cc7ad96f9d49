//! What users read, pinned as snapshots: `--dry` as text and JSON, `--graph=json`,
//! `ls --json` and the run summary. Hashes, commits, times and temporary paths are filtered,
//! so a snapshot changes only when what a user sees changes.

mod common;

use common::{fixture, mono, Fixture};

/// Filters for what differs between machines and runs.
fn settings(repo: &Fixture) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    let root = repo.root.display().to_string();
    settings.add_filter(&regex_escape(&root), "[ROOT]");
    settings.add_filter(r"\b[0-9a-f]{64}\b", "[HASH]");
    settings.add_filter(r"\b[0-9a-f]{40}\b", "[SHA]");
    settings.add_filter(r"\b[0-9a-f]{16}\b", "[SHORT]");
    settings.add_filter(r"\d+\.\d{3}s", "[TIME]");
    settings.add_filter(r#""monoVersion": "[^"]+""#, r#""monoVersion": "[VERSION]""#);
    settings.set_prepend_module_to_snapshot(false);
    settings
}

/// `text` with the characters a regex treats specially escaped.
fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c {
            '.' | '+' | '*' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '^' | '$' | '|' | '\\' => {
                vec!['\\', c]
            }
            c => vec![c],
        })
        .collect()
}

fn stdout(repo: &Fixture, args: &[&str]) -> String {
    let out = mono(&repo.root).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "mono {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn dry_text_and_json_of_the_polyglot_build() {
    let repo = fixture("polyglot");
    settings(&repo).bind(|| {
        insta::assert_snapshot!("dry_text", stdout(&repo, &["build", "--dry"]));
        insta::assert_snapshot!(
            "dry_json_web",
            stdout(&repo, &["build", "--dry=json", "--filter=@polyglot/web"])
        );
    });
}

#[test]
fn graph_json_and_ls_json() {
    let repo = fixture("polyglot");
    settings(&repo).bind(|| {
        insta::assert_snapshot!("graph_json", stdout(&repo, &["build", "--graph=json"]));
        insta::assert_snapshot!("ls_json", stdout(&repo, &["ls", "--json"]));
    });
}

#[test]
fn run_summary_cold_then_full() {
    let repo = fixture("node-only");
    settings(&repo).bind(|| {
        let cold = stdout(&repo, &["build", "--output-logs=none"]);
        insta::assert_snapshot!("summary_cold", cold);
        let warm = stdout(&repo, &["build", "--output-logs=none"]);
        insta::assert_snapshot!("summary_full", warm);
    });
}
