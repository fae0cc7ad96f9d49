//! Which packages a command is about: `--filter` (git ranges included) and `--affected`,
//! resolved once for every command that selects.

use std::collections::{BTreeMap, BTreeSet};

use mono_paths::AbsPath;
use mono_task_id::PackageName;
use mono_tasks::{select_packages, AffectedReason, ChangeDetector, ChangedByRange, Filter};

use crate::error::EngineError;
use crate::reporter::Reporter;
use crate::workspace::Workspace;

/// Where `--affected` compares from and to.
#[derive(Debug, Clone)]
pub struct AffectedRange {
    /// The base: `MONO_SCM_BASE`, `TURBO_SCM_BASE`, or the default branch.
    pub base: Option<String>,
    /// The head: `MONO_SCM_HEAD`, `TURBO_SCM_HEAD`, or `None` for the work tree.
    pub head: Option<String>,
    /// The base actually compared with (the default branch found, when `base` is `None`);
    /// `None` when none was found.
    pub resolved_base: Option<String>,
}

/// The packages selected, and for `--affected`, why each one is.
pub struct Selection {
    /// The selected packages.
    pub packages: BTreeSet<PackageName>,
    /// With `--affected`: the range compared and each affected package's reason.
    pub affected: Option<(AffectedRange, BTreeMap<PackageName, AffectedReason>)>,
}

/// A variable's value, if set and not empty.
fn var(names: &[&str]) -> Option<String> {
    names
        .iter()
        .filter_map(|n| std::env::var(n).ok())
        .find(|v| !v.trim().is_empty())
        .map(|v| v.trim().to_owned())
}

/// Selects packages with `filters`, then (with `affected`) keeps those changed between the
/// base and the head, plus their dependents. Every gap in history is a warning and counts as
/// "everything changed".
///
/// Changes under `cache_dir` (mono's own cache) never count.
pub fn select(
    repo: &Workspace,
    filters: &[Filter],
    affected: bool,
    cache_dir: &AbsPath,
    reporter: &dyn Reporter,
) -> Result<Selection, EngineError> {
    let needs_git = affected || filters.iter().any(|f| f.range().is_some());
    if !needs_git {
        return Ok(Selection {
            packages: select_packages(filters, &repo.packages, &ChangedByRange::none())?,
            affected: None,
        });
    }
    let scm = repo.scm();
    let mut detector = ChangeDetector::new(scm, &repo.packages, &repo.config)?;
    if let Some(cache) = cache_dir.strip_root(&repo.root) {
        detector = detector.ignoring(cache);
    }
    let changes = ChangedByRange::detect(filters, &detector)?;
    for (range, changed) in changes.iter() {
        if let Some(gap) = &changed.gap {
            reporter.warn(&format!(
                "{gap}; every package counts as changed for the range {range}"
            ));
        }
        for warning in &changed.warnings {
            reporter.warn(warning);
        }
    }
    let mut packages = select_packages(filters, &repo.packages, &changes)?;
    if !affected {
        return Ok(Selection {
            packages,
            affected: None,
        });
    }
    let range = AffectedRange {
        base: var(&["MONO_SCM_BASE", "TURBO_SCM_BASE"]),
        head: var(&["MONO_SCM_HEAD", "TURBO_SCM_HEAD"]),
        resolved_base: None,
    };
    let base = match &range.base {
        Some(base) => Ok(base.clone()),
        None => scm
            .default_branch()
            .map_err(mono_tasks::AffectedError::from)?,
    };
    let range = AffectedRange {
        resolved_base: base.as_ref().ok().cloned(),
        ..range
    };
    let changed = match base {
        Ok(base) => detector.changed_packages(&base, range.head.as_deref())?,
        Err(gap) => detector.unknown(gap),
    };
    if let Some(gap) = &changed.gap {
        reporter.warn(&format!(
            "{gap}; every package counts as affected (set MONO_SCM_BASE to the commit to compare with)"
        ));
    }
    for warning in &changed.warnings {
        reporter.warn(warning);
    }
    let changed = changed.with_dependents(&repo.packages);
    packages.retain(|p| changed.packages.contains_key(p));
    let reasons = changed
        .packages
        .into_iter()
        .filter(|(name, _)| packages.contains(name))
        .collect();
    Ok(Selection {
        packages,
        affected: Some((range, reasons)),
    })
}
