//! `mono prune <pkg>...`: a copy of the repository with only the named packages, their
//! internal dependencies, the root's own files and pruned lockfiles (docs/images.md).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::ExitCode;

use mono_lockfile::{LockfileKind, Member, ToolCheck};
use mono_task_id::PackageName;
use mono_workspace::{Language, Package};

use crate::cli::PruneArgs;
use crate::error::Error;
use crate::repo::Repo;

fn usage(message: String, help: impl Into<String>) -> Error {
    Error::Usage {
        message,
        help: Some(help.into()),
    }
}

fn lockfile_error(err: mono_lockfile::LockfileError) -> Error {
    Error::Usage {
        message: format!("cannot prune the lockfiles: {err}"),
        help: Some(
            "fix the lockfile with its package manager, then run mono prune again".to_owned(),
        ),
    }
}

pub fn prune(cwd: Option<&std::path::Path>, args: &PruneArgs) -> Result<ExitCode, Error> {
    let repo = Repo::load(cwd)?;
    let names: Vec<&str> = repo.packages.packages().map(|p| p.name.as_str()).collect();
    // The named packages, what they depend on, and the packages their images take files
    // from, transitively.
    let mut keep: BTreeSet<PackageName> = BTreeSet::new();
    let mut queue: Vec<PackageName> = Vec::new();
    for raw in &args.packages {
        let name = PackageName::new(raw.as_str())
            .ok()
            .filter(|n| repo.packages.get(n).is_some_and(|p| !p.is_root()))
            .ok_or_else(|| {
                usage(
                    format!("there is no package `{raw}`"),
                    match mono_config::did_you_mean(raw, &names) {
                        Some(close) => format!("did you mean `{close}`?"),
                        None => "`mono ls` lists the packages".to_owned(),
                    },
                )
            })?;
        queue.push(name);
    }
    while let Some(name) = queue.pop() {
        if !keep.insert(name.clone()) {
            continue;
        }
        let package = repo.packages.get(&name).expect("kept packages exist");
        queue.extend(repo.packages.dependencies(&name).cloned());
        let image_sources = package
            .config
            .as_ref()
            .and_then(|c| c.image.as_ref())
            .into_iter()
            .flat_map(|i| i.files.iter())
            .filter_map(|f| f.package.as_ref())
            .filter_map(|p| PackageName::new(p.value.as_str()).ok())
            .filter(|p| repo.packages.get(p).is_some());
        queue.extend(image_sources);
    }
    let kept: Vec<&Package> = keep
        .iter()
        .filter_map(|n| repo.packages.get(n))
        .filter(|p| !p.is_root())
        .collect();
    let keep_dirs: Vec<String> = kept.iter().map(|p| p.dir.to_string()).collect();
    let keep_dir_refs: Vec<&str> = keep_dirs.iter().map(String::as_str).collect();

    // The pruned texts: the workspace manifests, then every lockfile.
    let root = repo.root.as_path();
    let mut rewrites: BTreeMap<String, String> = BTreeMap::new();
    let read = |file: &str| -> Result<Option<String>, Error> {
        let path = repo.root.join(file);
        match std::fs::read_to_string(path.as_path()) {
            Ok(text) => Ok(Some(text)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Io {
                action: "read",
                path,
                source,
            }),
        }
    };
    if let Some(text) = read("Cargo.toml")? {
        if text.contains("[workspace]") {
            let pruned = mono_lockfile::prune_cargo_manifest(
                std::path::Path::new("Cargo.toml"),
                &text,
                &keep_dir_refs,
            )
            .map_err(lockfile_error)?;
            rewrites.insert("Cargo.toml".to_owned(), pruned);
        }
    }
    if let Some(text) = read("go.work")? {
        let pruned =
            mono_lockfile::prune_go_work(std::path::Path::new("go.work"), &text, &keep_dir_refs)
                .map_err(lockfile_error)?;
        rewrites.insert("go.work".to_owned(), pruned);
    }
    let all_members: Vec<Member> = repo
        .packages
        .packages()
        .map(mono_tasks::lockfile_member)
        .collect();
    // Each lockfile is pruned to the kept packages of its own ecosystem.
    let members_of = |kind: LockfileKind| -> Vec<Member> {
        let language = match kind {
            LockfileKind::Cargo => Language::Rust,
            LockfileKind::GoSum => Language::Go,
            _ => Language::Node,
        };
        kept.iter()
            .filter(|p| p.language == language)
            .map(|p| mono_tasks::lockfile_member(p))
            .collect()
    };
    let lockfiles = mono_lockfile::load_all(root, &all_members).map_err(lockfile_error)?;
    let mut kinds: Vec<(String, LockfileKind)> = Vec::new();
    for (rel, lockfile) in &lockfiles {
        // A go.sum inside a package that is not kept goes with its package.
        if rel.contains('/') && !keep_dirs.iter().any(|d| rel.starts_with(&format!("{d}/"))) {
            continue;
        }
        let pruned = lockfile
            .prune(&members_of(lockfile.kind()))
            .map_err(lockfile_error)?;
        rewrites.insert(rel.clone(), pruned);
        kinds.push((rel.clone(), lockfile.kind()));
    }

    let files: Vec<String> = mono_scm::Scm::discover(&repo.root)
        .list_files()
        .map_err(|err| {
            usage(
                format!("cannot list the repository's files: {err}"),
                "mono prune copies the files git does not ignore",
            )
        })?
        .iter()
        .map(ToString::to_string)
        .collect();
    let base = match &repo.cwd {
        cwd if cwd.is_root() => repo.root.clone(),
        cwd => repo.root.join_repo(cwd),
    };
    let out = base.join(&args.out_dir);
    let options = mono_image::PruneOptions {
        root: root.to_owned(),
        out: out.as_path().to_owned(),
        docker: args.docker,
        files,
        keep_dirs: keep_dirs.clone(),
        rewrites,
        lockfiles: kinds.iter().map(|(rel, _)| rel.clone()).collect(),
    };
    let report = mono_image::prune(&options)
        .map_err(|err| usage(err.to_string(), "pass another `--out-dir`"))?;

    // Each pruned lockfile must satisfy its own tool, where the tool is installed.
    let mut checks = Vec::new();
    for (rel, kind) in &kinds {
        let dir = match kind {
            // A go.sum is checked in its module's folder (go.work's at the root).
            LockfileKind::GoSum => match rel.rsplit_once('/') {
                Some((dir, _)) => report.full.join(dir),
                None => report.full.clone(),
            },
            _ => report.full.clone(),
        };
        match mono_lockfile::check_with_tool(*kind, &dir, None) {
            Ok(ToolCheck::Passed { command }) => checks.push(format!("{rel}: `{command}` accepts it")),
            Ok(ToolCheck::ToolMissing { program }) => {
                crate::report::warn(&format!("{rel}: `{program}` is not installed, so the pruned lockfile was not checked with it"))
            }
            Err(err) => {
                // Nothing half-valid stays behind.
                let _ = std::fs::remove_dir_all(out.as_path());
                return Err(usage(
                    format!("the pruned {rel} is invalid: {err}"),
                    "this is a bug in mono prune: please report it with the lockfile",
                ));
            }
        }
    }

    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(
        stdout,
        "Pruned to {} package{} ({}) in {}",
        kept.len(),
        if kept.len() == 1 { "" } else { "s" },
        kept.iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        out
    );
    for line in checks {
        let _ = writeln!(stdout, "  {line}");
    }
    Ok(ExitCode::SUCCESS)
}
