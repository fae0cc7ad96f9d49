//! The README's examples run as written on the bundled fixtures: each `mono …` line of the
//! "Using it" blocks, in a committed copy of the fixture the text names. Lines that would run
//! tasks (`build`, `test`, `lint`, `image` without `--dry`) get `--dry` added, so that the
//! test checks the names, filters and flags without building; the rest run as they are.

mod common;

use std::path::Path;

use common::{fixture, mono};

/// The `mono` command lines of each ```sh block of the README's "Using it" section, with
/// the fixture the block is about (the one named in the text before it).
fn examples() -> Vec<(String, Vec<Vec<String>>)> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    let section = readme
        .split("\n## Using it\n")
        .nth(1)
        .expect("the README has a `## Using it` section");
    let section = section.split("\n## ").next().unwrap();
    let mut blocks = Vec::new();
    let mut prose = String::new();
    let mut lines = section.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "```sh" {
            prose.push_str(line);
            prose.push('\n');
            continue;
        }
        let fixture = ["polyglot", "node-only"]
            .into_iter()
            .find(|name| prose.contains(&format!("fixtures/{name}")))
            .unwrap_or_else(|| panic!("no fixture named before the block after:\n{prose}"))
            .to_owned();
        prose.clear();
        let mut commands = Vec::new();
        for line in lines.by_ref().take_while(|l| l.trim() != "```") {
            let command = line.split(" # ").next().unwrap().trim();
            if command.starts_with("mono ") {
                commands.push(words(command));
            }
        }
        blocks.push((fixture, commands));
    }
    blocks
}

/// Splits a command line as sh would, for the quoting the README uses (`'…'`).
fn words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '\'' => quoted = !quoted,
            ' ' if !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    words.push(word);
    words.remove(0); // `mono`
    words
}

#[test]
fn every_readme_example_runs_on_its_fixture() {
    let blocks = examples();
    assert!(blocks.len() >= 2, "{blocks:?}");
    let mut ran = 0;
    for (name, commands) in blocks {
        let repo = fixture(name.as_str());
        for mut args in commands {
            let runs_tasks = !matches!(
                args[0].as_str(),
                "ls" | "hook" | "prune" | "migrate" | "cache"
            );
            if runs_tasks
                && !args
                    .iter()
                    .any(|a| a.starts_with("--dry") || a.starts_with("--graph"))
            {
                args.push("--dry".to_owned());
            }
            let output = mono(&repo.root).args(&args).output().unwrap();
            assert!(
                output.status.success(),
                "`mono {}` failed in fixtures/{name}:\n{}{}",
                args.join(" "),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                !stderr.contains("warning"),
                "`mono {}` warned in fixtures/{name}:\n{stderr}",
                args.join(" ")
            );
            ran += 1;
        }
    }
    assert!(ran >= 12, "only {ran} examples found");
}
