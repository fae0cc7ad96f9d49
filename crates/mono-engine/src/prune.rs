//! `mono prune <pkg>...`: a copy of the repository with only the named packages, their
//! internal dependencies, the root's own files and pruned lockfiles (docs/images.md).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use mono_lockfile::{LockfileKind, Member, ToolCheck};
use mono_paths::AbsPath;
use mono_task_id::PackageName;
use mono_workspace::{Language, Package};

use crate::error::EngineError;
use crate::reporter::Reporter;
use crate::workspace::Workspace;

/// What to prune.
#[derive(Debug, Clone)]
pub struct PruneRequest {
    /// The packages to keep (with their internal dependencies).
    pub packages: Vec<String>,
    /// `json/` and `full/`, as `turbo prune --docker`.
    pub docker: bool,
    /// Where to write the copy (replaced), relative to where mono started.
    pub out_dir: PathBuf,
}

/// What a prune wrote.
#[derive(Debug)]
pub struct Pruned {
    /// The kept packages, sorted.
    pub packages: Vec<PackageName>,
    /// The output folder.
    pub out: AbsPath,
    /// For each pruned lockfile checked by its own tool: the lockfile and the command.
    pub checks: Vec<(String, String)>,
}

/// Prunes the repository as `request` says.
pub fn prune(
    workspace: &Workspace,
    request: &PruneRequest,
    reporter: &dyn Reporter,
) -> Result<Pruned, EngineError> {
    let keep = kept_packages(workspace, &request.packages)?;
    let kept: Vec<&Package> = keep
        .iter()
        .filter_map(|n| workspace.packages.get(n))
        .filter(|p| !p.is_root())
        .collect();
    let keep_dirs: Vec<String> = kept.iter().map(|p| p.dir.to_string()).collect();
    let (mut rewrites, kinds) = pruned_lockfiles(workspace, &kept, &keep_dirs)?;
    rewrites.extend(pruned_manifests(workspace, &keep_dirs)?);

    let files: Vec<String> = workspace
        .scm()
        .list_files()?
        .iter()
        .map(ToString::to_string)
        .collect();
    let out = workspace.base_dir().join(&request.out_dir);
    let options = mono_image::PruneOptions {
        root: workspace.root.as_path().to_owned(),
        out: out.as_path().to_owned(),
        docker: request.docker,
        files,
        keep_dirs,
        rewrites,
        lockfiles: kinds.iter().map(|(rel, _)| rel.clone()).collect(),
    };
    let report = mono_image::prune(&options).map_err(EngineError::PruneWrite)?;
    let checks = check_lockfiles(&kinds, &report.full, &out, reporter)?;
    Ok(Pruned {
        packages: kept.iter().map(|p| p.name.clone()).collect(),
        out,
        checks,
    })
}

/// The named packages, what they depend on, and the packages their images take files
/// from, transitively.
fn kept_packages(
    workspace: &Workspace,
    names: &[String],
) -> Result<BTreeSet<PackageName>, EngineError> {
    let packages = &workspace.packages;
    let known: Vec<&str> = packages.packages().map(|p| p.name.as_str()).collect();
    let mut queue: Vec<PackageName> = Vec::new();
    for raw in names {
        let name = PackageName::new(raw.as_str())
            .ok()
            .filter(|n| packages.get(n).is_some_and(|p| !p.is_root()))
            .ok_or_else(|| EngineError::UnknownPackage {
                name: raw.clone(),
                suggestion: mono_config::did_you_mean(raw, &known).map(str::to_owned),
            })?;
        queue.push(name);
    }
    let mut keep = BTreeSet::new();
    while let Some(name) = queue.pop() {
        if !keep.insert(name.clone()) {
            continue;
        }
        let package = packages.get(&name).expect("kept packages exist");
        queue.extend(packages.dependencies(&name).cloned());
        let image_sources = package
            .config
            .as_ref()
            .and_then(|c| c.image.as_ref())
            .into_iter()
            .flat_map(|i| i.files.iter())
            .filter_map(|f| f.package.as_ref())
            .filter_map(|p| PackageName::new(p.value.as_str()).ok())
            .filter(|p| packages.get(p).is_some());
        queue.extend(image_sources);
    }
    Ok(keep)
}

/// A root file's text, if it exists.
fn read_root_file(workspace: &Workspace, file: &str) -> Result<Option<String>, EngineError> {
    let path = workspace.root.join(file);
    match std::fs::read_to_string(path.as_path()) {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(EngineError::io("read", &path, source)),
    }
}

/// The pruned workspace manifests: Cargo.toml's members, go.work's `use` and the root
/// pyproject.toml's `[tool.uv.workspace] members`.
fn pruned_manifests(
    workspace: &Workspace,
    keep_dirs: &[String],
) -> Result<BTreeMap<String, String>, EngineError> {
    let dirs: Vec<&str> = keep_dirs.iter().map(String::as_str).collect();
    let mut rewrites = BTreeMap::new();
    if let Some(text) = read_root_file(workspace, "Cargo.toml")? {
        if text.contains("[workspace]") {
            let pruned = mono_lockfile::prune_cargo_manifest(Path::new("Cargo.toml"), &text, &dirs)
                .map_err(EngineError::PruneLockfile)?;
            rewrites.insert("Cargo.toml".to_owned(), pruned);
        }
    }
    if let Some(text) = read_root_file(workspace, "go.work")? {
        let pruned = mono_lockfile::prune_go_work(Path::new("go.work"), &text, &dirs)
            .map_err(EngineError::PruneLockfile)?;
        rewrites.insert("go.work".to_owned(), pruned);
    }
    if let Some(text) = read_root_file(workspace, "pyproject.toml")? {
        if text.contains("[tool.uv.workspace]") {
            let pruned =
                mono_lockfile::prune_uv_workspace(Path::new("pyproject.toml"), &text, &dirs)
                    .map_err(EngineError::PruneLockfile)?;
            rewrites.insert("pyproject.toml".to_owned(), pruned);
        }
    }
    Ok(rewrites)
}

/// Pruned texts by repo-relative file.
type Rewrites = BTreeMap<String, String>;

/// Every lockfile pruned to the kept packages of its own ecosystem, and each one's kind.
fn pruned_lockfiles(
    workspace: &Workspace,
    kept: &[&Package],
    keep_dirs: &[String],
) -> Result<(Rewrites, Vec<(String, LockfileKind)>), EngineError> {
    let all_members: Vec<Member> = workspace
        .packages
        .packages()
        .map(mono_tasks::lockfile_member)
        .collect();
    let members_of = |kind: LockfileKind| -> Vec<Member> {
        let language = match kind {
            LockfileKind::Cargo => Language::Rust,
            LockfileKind::GoSum => Language::Go,
            LockfileKind::Uv => Language::Python,
            _ => Language::Node,
        };
        kept.iter()
            .filter(|p| p.language == language)
            .map(|p| mono_tasks::lockfile_member(p))
            .collect()
    };
    let lockfiles = mono_lockfile::load_all(workspace.root.as_path(), &all_members)
        .map_err(EngineError::PruneLockfile)?;
    let mut rewrites = BTreeMap::new();
    let mut kinds = Vec::new();
    for (rel, lockfile) in &lockfiles {
        // A go.sum inside a package that is not kept goes with its package.
        if rel.contains('/') && !keep_dirs.iter().any(|d| rel.starts_with(&format!("{d}/"))) {
            continue;
        }
        let pruned = lockfile
            .prune(&members_of(lockfile.kind()))
            .map_err(EngineError::PruneLockfile)?;
        rewrites.insert(rel.clone(), pruned);
        kinds.push((rel.clone(), lockfile.kind()));
    }
    Ok((rewrites, kinds))
}

/// Checks each pruned lockfile with its own tool, where the tool is installed. A lockfile
/// the tool refuses removes the whole output: nothing half-valid stays behind.
fn check_lockfiles(
    kinds: &[(String, LockfileKind)],
    full: &Path,
    out: &AbsPath,
    reporter: &dyn Reporter,
) -> Result<Vec<(String, String)>, EngineError> {
    let mut checks = Vec::new();
    for (rel, kind) in kinds {
        let dir = match kind {
            // A go.sum is checked in its module's folder (go.work's at the root).
            LockfileKind::GoSum => match rel.rsplit_once('/') {
                Some((dir, _)) => full.join(dir),
                None => full.to_owned(),
            },
            _ => full.to_owned(),
        };
        match mono_lockfile::check_with_tool(*kind, &dir, None) {
            Ok(ToolCheck::Passed { command }) => checks.push((rel.clone(), command)),
            Ok(ToolCheck::ToolMissing { program }) => reporter.warn(&format!(
                "{rel}: `{program}` is not installed, so the pruned lockfile was not checked with it"
            )),
            Err(source) => {
                let _ = std::fs::remove_dir_all(out.as_path());
                return Err(EngineError::PrunedLockfileInvalid {
                    lockfile: rel.clone(),
                    source,
                });
            }
        }
    }
    Ok(checks)
}
