//! Parity with Turborepo on real public monorepos (`fixtures/parity/*.tar.zst`, made by
//! `scripts/parity-fixtures.py`: each repository's package.json files, turbo.json(c),
//! pnpm-workspace.yaml, .npmrc and .yarnrc.yml at a pinned commit; npm, pnpm, yarn berry and
//! bun; 10 to 543 packages).
//!
//! For each repository, several tasks and filters (names, `...`, `^`, `./dir/*`, `!`,
//! `--only`): `mono <args> --dry=json` and `turbo run <args> --dry=json` must have the same
//! task ids, the same dependencies, the same commands and the same outputs, and the same
//! packages in scope; and `mono ls` must list the packages `turbo ls` lists, at the same
//! paths.
//!
//! And the repositories' own command lines: every `turbo ...` in the root package.json's
//! scripts (`turbo -F @acme/db push`, `turbo --filter www build`, `turbo run lint --continue
//! -- --fix`, `pnpm turbo run build`...) is run as `mono ...` and `turbo ...`, with
//! `--dry=json`: both plan the same, or both refuse.
//!
//! Two normalisations, both turbo's quirks rather than differences of plan: turbo lists a
//! dependency twice when two `dependsOn` entries reach it (a list of unique edges is
//! compared), and whether the root package `//` is among `packages` is left to the
//! `--dry=json` format work (issue 14, point 14).
//!
//! The turbo binary: `MONO_TEST_TURBO`, else `~/.cache/mono-tools/turbo`, else installed from
//! npm (tests/common).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

/// One repository and what to ask of it: the main task, a second task, a library many
/// packages depend on, an application, and a folder of packages.
struct Repo {
    name: &'static str,
    task: &'static str,
    other: &'static str,
    lib: &'static str,
    app: &'static str,
    dir: &'static str,
}

const REPOS: &[Repo] = &[
    Repo {
        name: "astro",
        task: "build",
        other: "test",
        lib: "@astrojs/mdx",
        app: "astro",
        dir: "./packages/integrations/*",
    },
    Repo {
        name: "create-t3-turbo",
        task: "build",
        other: "typecheck",
        lib: "@acme/ui",
        app: "@acme/nextjs",
        dir: "./packages/*",
    },
    Repo {
        name: "documenso",
        task: "build",
        other: "lint",
        lib: "@documenso/prisma",
        app: "@documenso/remix",
        dir: "./packages/*",
    },
    Repo {
        name: "formbricks",
        task: "build",
        other: "test",
        lib: "@formbricks/types",
        app: "@formbricks/web",
        dir: "./packages/*",
    },
    Repo {
        name: "graphiql",
        task: "build",
        other: "test",
        lib: "@graphiql/react",
        app: "graphiql",
        dir: "./packages/*",
    },
    Repo {
        name: "hydrogen",
        task: "build",
        other: "typecheck",
        lib: "@shopify/hydrogen-codegen",
        app: "@shopify/cli-hydrogen",
        dir: "./packages/*",
    },
    Repo {
        name: "langchainjs",
        task: "build",
        other: "test",
        lib: "@langchain/core",
        app: "@langchain/openai",
        dir: "./libs/*",
    },
    Repo {
        name: "midday",
        task: "build",
        other: "typecheck",
        lib: "@midday/utils",
        app: "@midday/dashboard",
        dir: "./apps/*",
    },
    Repo {
        name: "next-forge",
        task: "build",
        other: "test",
        lib: "@repo/auth",
        app: "app",
        dir: "./apps/*",
    },
    Repo {
        name: "plane",
        task: "build",
        other: "check:types",
        lib: "@plane/types",
        app: "web",
        dir: "./packages/*",
    },
    Repo {
        name: "trpc",
        task: "build",
        other: "typecheck",
        lib: "@trpc/server",
        app: "@trpc/next",
        dir: "./packages/*",
    },
    Repo {
        name: "unkey",
        task: "build",
        other: "test",
        lib: "@unkey/error",
        app: "@unkey/dashboard",
        dir: "./internal/*",
    },
    Repo {
        name: "vercel-ai",
        task: "build",
        other: "type-check",
        lib: "@ai-sdk/provider-utils",
        app: "ai",
        dir: "./packages/*",
    },
];

impl Repo {
    fn cases(&self) -> Vec<Vec<String>> {
        let Repo {
            task,
            other,
            lib,
            app,
            dir,
            ..
        } = self;
        let cases: Vec<Vec<String>> = vec![
            vec![task.to_string()],
            vec![other.to_string()],
            vec![task.to_string(), other.to_string()],
            vec![task.to_string(), format!("--filter={lib}")],
            vec![task.to_string(), format!("--filter=...{lib}")],
            vec![task.to_string(), format!("--filter={app}...")],
            vec![task.to_string(), format!("--filter={app}^...")],
            vec![task.to_string(), format!("--filter=...^{lib}")],
            vec![task.to_string(), format!("--filter={dir}")],
            vec![task.to_string(), format!("--filter=!{app}")],
            vec![other.to_string(), "--only".to_owned()],
            vec![
                task.to_string(),
                format!("--filter={dir}"),
                format!("--filter=!{lib}"),
            ],
        ];
        // turbo takes about 20 s per plan of astro's 543 packages: a few cases suffice.
        match self.name {
            "astro" => [0, 3, 4, 5].iter().map(|&i| cases[i].clone()).collect(),
            _ => cases,
        }
    }
}

/// A fixture unpacked into a temp dir, committed with git.
struct Unpacked {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

fn unpack(name: &str) -> Unpacked {
    let archive = common::fixtures_dir().join(format!("parity/{name}.tar.zst"));
    let file =
        std::fs::File::open(&archive).unwrap_or_else(|e| panic!("{}: {e}", archive.display()));
    let dir = tempfile::tempdir().unwrap();
    let decoder = zstd::Decoder::new(file).unwrap();
    tar::Archive::new(decoder).unpack(dir.path()).unwrap();
    let root = dir.path().join(name);
    common::git(&root, &["init", "-q", "-b", "main"]);
    common::git(&root, &["add", "-A"]);
    common::git(&root, &["commit", "-q", "-m", "fixture"]);
    Unpacked { _dir: dir, root }
}

fn turbo(turbo: &Path, root: &Path) -> Command {
    let mut cmd = Command::new(turbo);
    cmd.current_dir(root)
        .env("TURBO_TELEMETRY_DISABLED", "1")
        .env("DO_NOT_TRACK", "1")
        .env("TURBO_NO_UPDATE_NOTIFIER", "1")
        .env("TURBO_PRINT_VERSION_DISABLED", "1");
    cmd
}

/// What is compared of a plan: per task, its unique sorted dependencies, its command and
/// its sorted outputs; and the packages in scope but `//`.
type Plan = (
    BTreeMap<String, (BTreeSet<String>, Value, BTreeSet<String>)>,
    BTreeSet<String>,
);

fn plan(doc: &Value) -> Plan {
    let strings = |v: &Value| -> BTreeSet<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let tasks = doc["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["taskId"].as_str().unwrap().to_owned(),
                (
                    strings(&t["dependencies"]),
                    t["command"].clone(),
                    strings(&t["outputs"]),
                ),
            )
        })
        .collect();
    let packages = strings(&doc["packages"])
        .into_iter()
        .filter(|p| p != "//")
        .collect();
    (tasks, packages)
}

/// The first difference between two plans, described.
fn difference(ours: &Plan, theirs: &Plan) -> Option<String> {
    if ours.1 != theirs.1 {
        let only_ours: Vec<_> = ours.1.difference(&theirs.1).collect();
        let only_theirs: Vec<_> = theirs.1.difference(&ours.1).collect();
        return Some(format!(
            "packages: only mono {only_ours:?}, only turbo {only_theirs:?}"
        ));
    }
    let ids: BTreeSet<&String> = ours.0.keys().chain(theirs.0.keys()).collect();
    for id in ids {
        match (ours.0.get(id), theirs.0.get(id)) {
            (Some(a), Some(b)) if a == b => {}
            (a, b) => return Some(format!("{id}: mono {a:?}, turbo {b:?}")),
        }
    }
    None
}

#[derive(Default)]
struct Outcome {
    cases: usize,
    differences: Vec<String>,
    mono_time: Duration,
    turbo_time: Duration,
    /// Cases both refused (a task no package has, say): agreement without a plan.
    refused: usize,
}

fn check_repo(turbo_bin: &Path, repo: &Repo) -> Outcome {
    let unpacked = unpack(repo.name);
    let mut outcome = Outcome::default();
    for args in repo.cases() {
        outcome.cases += 1;
        let started = Instant::now();
        let theirs = turbo(turbo_bin, &unpacked.root)
            .arg("run")
            .args(&args)
            .arg("--dry=json")
            .output()
            .unwrap();
        outcome.turbo_time += started.elapsed();
        assert!(
            theirs.status.success(),
            "{}: turbo run {args:?} --dry=json failed:\n{}",
            repo.name,
            String::from_utf8_lossy(&theirs.stderr)
        );
        let started = Instant::now();
        let ours = common::mono(&unpacked.root)
            .args(&args)
            .arg("--dry=json")
            .output()
            .unwrap();
        outcome.mono_time += started.elapsed();
        if !ours.status.success() {
            outcome.differences.push(format!(
                "{} {args:?}: mono failed: {}",
                repo.name,
                String::from_utf8_lossy(&ours.stderr)
            ));
            continue;
        }
        let theirs = plan(&serde_json::from_slice(&theirs.stdout).unwrap());
        let ours = plan(&serde_json::from_slice(&ours.stdout).unwrap());
        if let Some(diff) = difference(&ours, &theirs) {
            outcome
                .differences
                .push(format!("{} {args:?}: {diff}", repo.name));
        }
    }
    outcome.cases += 1;
    if let Some(diff) = ls_difference(turbo_bin, &unpacked.root) {
        outcome
            .differences
            .push(format!("{} ls: {diff}", repo.name));
    }
    outcome
}

/// `mono ls --json` and `turbo ls --output=json`: the same packages at the same paths (mono
/// lists the root package `//` too).
fn ls_difference(turbo_bin: &Path, root: &Path) -> Option<String> {
    let theirs = turbo(turbo_bin, root)
        .args(["ls", "--output=json"])
        .output()
        .unwrap();
    assert!(theirs.status.success(), "turbo ls failed");
    let theirs: Value = serde_json::from_slice(&theirs.stdout).unwrap();
    let theirs: BTreeSet<(String, String)> = theirs["packages"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let ours = common::mono(root).args(["ls", "--json"]).output().unwrap();
    if !ours.status.success() {
        return Some(format!(
            "mono ls failed: {}",
            String::from_utf8_lossy(&ours.stderr)
        ));
    }
    let ours: Value = serde_json::from_slice(&ours.stdout).unwrap();
    let ours: BTreeSet<(String, String)> = ours["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] != "//")
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["directory"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (ours != theirs).then(|| {
        let only_ours: Vec<_> = ours.difference(&theirs).collect();
        let only_theirs: Vec<_> = theirs.difference(&ours).collect();
        format!("only mono {only_ours:?}, only turbo {only_theirs:?}")
    })
}

/// The turbo subcommands a script may call that plan nothing (`--dry` does not apply).
const NOT_PLANS: &[&str] = &[
    "watch",
    "boundaries",
    "prune",
    "gen",
    "generate",
    "ls",
    "query",
    "login",
    "logout",
    "link",
    "unlink",
    "daemon",
    "telemetry",
    "info",
    "docs",
    "scan",
    "bin",
    "devtools",
];

/// The turbo command lines of a repository's root package.json scripts, as argument lists
/// after `turbo`, without duplicates, in script order.
fn script_command_lines(root: &Path) -> Vec<Vec<String>> {
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(root.join("package.json")).unwrap()).unwrap();
    let mut lines: Vec<Vec<String>> = Vec::new();
    let scripts = manifest["scripts"].as_object().cloned().unwrap_or_default();
    for script in scripts.values().filter_map(Value::as_str) {
        let Some(words) = shlex::split(script) else {
            continue;
        };
        // One command of a `a && b`, `a || b`, `a; b` or `a | b` list at a time.
        for command in words.split(|w| matches!(w.as_str(), "&&" | "||" | ";" | "|")) {
            let Some(at) = command.iter().position(|w| w == "turbo") else {
                continue;
            };
            let args: Vec<String> = command[at + 1..].to_vec();
            let plans = args
                .iter()
                .find(|a| !a.starts_with('-'))
                .is_some_and(|first| !NOT_PLANS.contains(&first.as_str()));
            let already_planned = args
                .iter()
                .any(|a| a.starts_with("--dry") || a.starts_with("--graph"));
            if plans && !already_planned && !lines.contains(&args) {
                lines.push(args);
            }
        }
    }
    lines
}

/// `turbo <args> --dry=json` and `mono <args> --dry=json` for each of the repository's
/// script command lines: the same plan, or both fail.
fn check_scripts(turbo_bin: &Path, name: &str) -> Outcome {
    let unpacked = unpack(name);
    let mut outcome = Outcome::default();
    let mut lines = script_command_lines(&unpacked.root);
    // turbo takes about 20 s per plan of astro's 543 packages: a few lines suffice.
    if name == "astro" {
        lines.truncate(3);
    }
    for args in lines {
        outcome.cases += 1;
        // `--dry=json` goes before a `--`: after it, it would be the task's argument.
        let dashes = args.iter().position(|a| a == "--").unwrap_or(args.len());
        let mut with_dry = args.clone();
        with_dry.insert(dashes, "--dry=json".to_owned());
        let started = Instant::now();
        let theirs = turbo(turbo_bin, &unpacked.root)
            .args(&with_dry)
            .output()
            .unwrap();
        outcome.turbo_time += started.elapsed();
        let started = Instant::now();
        let ours = common::mono(&unpacked.root)
            .args(&with_dry)
            .output()
            .unwrap();
        outcome.mono_time += started.elapsed();
        let line = format!("{name} `turbo {}`", args.join(" "));
        match (theirs.status.success(), ours.status.success()) {
            (true, true) => {
                let theirs = plan(&serde_json::from_slice(&theirs.stdout).unwrap());
                let ours = plan(&serde_json::from_slice(&ours.stdout).unwrap());
                if let Some(diff) = difference(&ours, &theirs) {
                    outcome.differences.push(format!("{line}: {diff}"));
                }
            }
            (false, false) => outcome.refused += 1,
            (true, false) => outcome.differences.push(format!(
                "{line}: turbo plans, mono fails: {}",
                String::from_utf8_lossy(&ours.stderr)
            )),
            (false, true) => outcome.differences.push(format!(
                "{line}: mono plans, turbo fails: {}",
                String::from_utf8_lossy(&theirs.stderr)
            )),
        }
    }
    outcome
}

#[test]
fn script_command_lines_plan_as_turbo_does() {
    let turbo_bin = common::turbo_binary();
    let mut total = 0;
    let mut refused = 0;
    let mut differences = Vec::new();
    for repo in REPOS {
        let outcome = check_scripts(&turbo_bin, repo.name);
        total += outcome.cases;
        refused += outcome.refused;
        differences.extend(outcome.differences);
    }
    // Every repository has turbo in its scripts: a parser that finds none is broken.
    assert!(total >= 80, "only {total} script command lines were found");
    #[expect(clippy::print_stderr, reason = "the suite's count is its report")]
    {
        eprintln!(
            "script command lines: {}/{total} agree ({refused} refused by both)",
            total - differences.len()
        );
    }
    assert!(
        differences.is_empty(),
        "{} of {total} script command lines differ from turbo:\n{}",
        differences.len(),
        differences.join("\n")
    );
}

#[test]
fn real_repositories_plan_as_turbo_does() {
    let turbo_bin = common::turbo_binary();
    let mut total = 0;
    let mut differences = Vec::new();
    let mut table =
        String::from("| repository | cases | agree | turbo | mono |\n|---|---|---|---|---|\n");
    for repo in REPOS {
        let outcome = check_repo(&turbo_bin, repo);
        total += outcome.cases;
        table.push_str(&format!(
            "| {} | {} | {} | {:.2} s | {:.2} s |\n",
            repo.name,
            outcome.cases,
            outcome.cases - outcome.differences.len(),
            outcome.turbo_time.as_secs_f64(),
            outcome.mono_time.as_secs_f64(),
        ));
        differences.extend(outcome.differences);
    }
    // The agreement table, for docs/turbo-compat.md (`cargo test -- --nocapture`).
    #[expect(clippy::print_stderr, reason = "the suite's table is its report")]
    {
        eprintln!("{table}agreement: {}/{total}", total - differences.len());
    }
    assert!(
        differences.is_empty(),
        "{} of {total} cases differ from turbo:\n{}",
        differences.len(),
        differences.join("\n")
    );
}
