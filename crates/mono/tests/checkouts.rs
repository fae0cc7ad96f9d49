//! The inputs do not depend on where the checkout sits: the polyglot fixture hashes the same
//! in a plain checkout, in a folder an enclosing repository ignores (with and without a
//! `.git` of its own), in a folder another repository does not track, below the git root,
//! outside git, in a linked worktree and in a submodule (`mono-scm` lists with git where the
//! root is part of the repository git finds, and walks it otherwise).

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::{dry_json, fixture, git, mono};

/// `taskId -> (hash, input count)` of `mono build --dry=json` at `root`.
fn hashes(root: &Path) -> BTreeMap<String, (String, usize)> {
    dry_json(root, &["build"])["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["taskId"].as_str().unwrap().to_owned(),
                (
                    t["hash"].as_str().unwrap().to_owned(),
                    t["inputs"].as_object().unwrap().len(),
                ),
            )
        })
        .collect()
}

/// The committed files of `repo` (no `.git`), written to `to`.
fn export(repo: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    let archive = Command::new("git")
        .args(["archive", "--format=tar", "HEAD"])
        .current_dir(repo)
        .output()
        .unwrap();
    assert!(archive.status.success());
    tar::Archive::new(archive.stdout.as_slice())
        .unpack(to)
        .unwrap();
}

/// A git repository at `dir` whose `.gitignore` is `ignore`, committed.
fn outer_repo(dir: &Path, ignore: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(".gitignore"), ignore).unwrap();
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "outer"]);
}

#[test]
fn six_checkout_layouts_hash_the_same() {
    let repo = fixture("polyglot");
    let base = repo.root.parent().unwrap().to_path_buf();
    let plain = hashes(&repo.root);
    for (task, (_, inputs)) in &plain {
        assert!(*inputs > 0, "{task} has no input in a plain checkout");
    }

    // A copy in a folder the enclosing repository ignores (`mono prune`'s out/full), without
    // and with a repository of its own.
    let outer = base.join("outer");
    outer_repo(&outer, "out/\n");
    let ignored = outer.join("out/full");
    export(&repo.root, &ignored);
    let cloned = outer.join("out/clone");
    git(
        &outer,
        &["clone", "-q", repo.root.to_str().unwrap(), "out/clone"],
    );
    // A copy inside another repository that neither tracks nor ignores it, whose own rules
    // (`*.mjs`) are not the project's.
    let other = base.join("other");
    outer_repo(&other, "*.mjs\n");
    let untracked = other.join("projects/poly");
    export(&repo.root, &untracked);
    // The mono root below the git root, committed there.
    let mono_sub = base.join("mono-sub");
    outer_repo(&mono_sub, "");
    export(&repo.root, &mono_sub.join("tools/monorepo"));
    git(&mono_sub, &["add", "-A"]);
    git(
        &mono_sub,
        &["commit", "-q", "-m", "monorepo below the root"],
    );
    // Not a git repository.
    let no_git = base.join("no-git");
    export(&repo.root, &no_git);
    // A linked worktree.
    let worktree = base.join("worktree");
    git(
        &repo.root,
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            "other",
            worktree.to_str().unwrap(),
        ],
    );
    // A submodule of another repository.
    let superproject = base.join("super");
    outer_repo(&superproject, "");
    git(
        &superproject,
        &[
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "add",
            "-q",
            repo.root.to_str().unwrap(),
            "vendor/mono",
        ],
    );
    git(&superproject, &["commit", "-q", "-m", "submodule"]);

    for layout in [
        &ignored,
        &cloned,
        &untracked,
        &mono_sub.join("tools/monorepo"),
        &no_git,
        &worktree,
        &superproject.join("vendor/mono"),
    ] {
        assert_eq!(hashes(layout), plain, "in {}", layout.display());
    }

    // In the ignored folder, an edit changes the hash of its task (and of what depends on
    // it), and nothing else.
    let handler = ignored.join("services/api/handler.go");
    let text = std::fs::read_to_string(&handler).unwrap();
    std::fs::write(&handler, format!("{text}\n// an edit\n")).unwrap();
    let edited = hashes(&ignored);
    assert_ne!(edited["api#build"].0, plain["api#build"].0);
    assert_ne!(edited["infra#build"].0, plain["infra#build"].0);
    assert_eq!(edited["shared#build"], plain["shared#build"]);
}

#[test]
fn a_task_without_input_files_is_warned_about_and_the_plan_counts_inputs() {
    let repo = fixture("polyglot");
    let ignore = repo.root.join(".gitignore");
    let text = std::fs::read_to_string(&ignore).unwrap();
    // Untracked and ignored: git lists nothing of the folder.
    git(&repo.root, &["rm", "-r", "-q", "--cached", "packages/ui"]);
    std::fs::write(&ignore, format!("{text}packages/ui/\n")).unwrap();
    let output = mono(&repo.root)
        .args(["build", "--dry"])
        .env("COLUMNS", "200")
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "@polyglot/ui#build: no input files (is the folder `packages/ui` ignored by git, or empty?)"
        ),
        "{stderr}"
    );
    assert_eq!(stderr.matches("no input files").count(), 1, "{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let header = stdout.lines().find(|l| l.starts_with("TASK")).unwrap();
    let column = header.find("INPUTS").unwrap();
    let count = |task: &str| -> String {
        let line = stdout.lines().find(|l| l.starts_with(task)).unwrap();
        line[column..].split_whitespace().next().unwrap().to_owned()
    };
    assert_eq!(count("@polyglot/ui#build"), "0", "{stdout}");
    assert_eq!(count("shared#build"), "3", "{stdout}");
}

#[test]
fn the_dry_table_fits_columns_and_json_keeps_whole_commands() {
    let repo = fixture("polyglot");
    let output = mono(&repo.root)
        .args(["build", "--dry"])
        .env("COLUMNS", "90")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let table: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("TASK"))
        .collect();
    assert!(table.len() > 5, "{stdout}");
    for line in &table {
        assert!(line.chars().count() <= 90, "wider than 90: {line:?}");
    }
    assert!(stdout.contains('…'), "{stdout}");
    let plan = dry_json(&repo.root, &["build"]);
    let server = plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["taskId"] == "polyglot-server#build")
        .unwrap();
    assert!(server["command"]
        .as_str()
        .unwrap()
        .ends_with("cp ../../target/static/release/polyglot-server bin/"));
}
