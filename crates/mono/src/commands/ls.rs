//! `mono ls`: the packages, their language, folder and internal dependencies.

use std::fmt::Write;
use std::process::ExitCode;

use mono_tasks::{AffectedReason, Filter};
use serde::Serialize;

use crate::cli::LsArgs;
use crate::error::Error;
use crate::repo::Repo;

/// The version of `mono ls --json` output.
const LS_FORMAT_VERSION: &str = "1";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Listed<'a> {
    name: &'a str,
    language: String,
    directory: String,
    manifest: String,
    dependencies: Vec<&'a str>,
    dependents: Vec<&'a str>,
    /// With `--affected`: why the package is affected.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a AffectedReason>,
}

pub fn ls(cwd: Option<&std::path::Path>, args: &LsArgs) -> Result<ExitCode, Error> {
    let repo = Repo::load(cwd)?;
    let filters = args
        .filter
        .iter()
        .map(|f| Filter::parse(f, &repo.cwd))
        .collect::<Result<Vec<_>, _>>()?;
    let cache_dir = match &repo.config.cache_dir {
        Some(dir) => repo.root.join(&dir.value),
        None => repo.root.join("cache"),
    };
    let selection = crate::selection::select(&repo, &filters, args.affected, &cache_dir)?;
    let selected = &selection.packages;
    let reasons = selection.affected.as_ref().map(|(_, reasons)| reasons);
    let listed: Vec<Listed<'_>> = repo
        .packages
        .packages()
        .filter(|p| selected.contains(&p.name))
        .map(|p| Listed {
            name: p.name.as_str(),
            language: p.language.to_string(),
            directory: p.dir.to_string(),
            manifest: p.manifest.to_string(),
            dependencies: repo
                .packages
                .dependencies(&p.name)
                .map(|d| d.as_str())
                .collect(),
            dependents: repo
                .packages
                .dependents(&p.name)
                .map(|d| d.as_str())
                .collect(),
            reason: reasons.and_then(|r| r.get(&p.name)),
        })
        .collect();
    let mut out = String::new();
    if args.json {
        let mut doc = serde_json::json!({ "version": LS_FORMAT_VERSION, "count": listed.len(), "packages": listed });
        if let Some((range, _)) = &selection.affected {
            doc["affected"] =
                serde_json::json!({ "base": range.resolved_base, "head": range.head });
        }
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&doc).expect("serializes")
        );
    } else {
        let width = listed.iter().map(|p| p.name.len()).max().unwrap_or(0);
        let dir_width = listed.iter().map(|p| p.directory.len()).max().unwrap_or(0);
        match &selection.affected {
            Some((range, _)) => {
                let _ = writeln!(
                    out,
                    "{} affected packages (from {} to {})",
                    listed.len(),
                    range.resolved_base.as_deref().unwrap_or("an unknown base"),
                    range.head.as_deref().unwrap_or("the work tree")
                );
            }
            None => {
                let _ = writeln!(out, "{} packages", listed.len());
            }
        }
        for p in &listed {
            if let Some(reason) = p.reason {
                let _ = writeln!(
                    out,
                    "  {:<width$}  {:<7}  {:<dir_width$}  {reason}",
                    p.name, p.language, p.directory
                );
                continue;
            }
            let deps = if p.dependencies.is_empty() {
                "-".to_owned()
            } else {
                p.dependencies.join(", ")
            };
            let _ = writeln!(
                out,
                "  {:<width$}  {:<7}  {:<dir_width$}  -> {deps}",
                p.name, p.language, p.directory
            );
        }
    }
    crate::report::write_stdout(&out)?;
    Ok(ExitCode::SUCCESS)
}
