//! `mono ls`: the selected packages, their language, folder and internal dependencies,
//! and with `--affected` why each one is affected. The JSON shape is a contract
//! (docs/ls.md).

use mono_tasks::{AffectedReason, Filter};
use serde::Serialize;

use crate::error::EngineError;
use crate::reporter::Reporter;
use crate::selection::AffectedRange;
use crate::workspace::Workspace;

/// The version of `mono ls --json` output.
pub const LS_FORMAT_VERSION: &str = "1";

/// One listed package.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedPackage {
    /// Its name.
    pub name: String,
    /// `node`, `rust`, `go`, `generic`.
    pub language: String,
    /// Its folder, relative to the root.
    pub directory: String,
    /// Its manifest, relative to the root.
    pub manifest: String,
    /// The workspace packages it depends on.
    pub dependencies: Vec<String>,
    /// The workspace packages that depend on it.
    pub dependents: Vec<String>,
    /// With `--affected`: why the package is affected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<AffectedReason>,
}

/// What `mono ls` lists.
#[derive(Debug)]
pub struct Listing {
    /// The packages, sorted by name.
    pub packages: Vec<ListedPackage>,
    /// With `--affected`: the range compared.
    pub affected: Option<AffectedRange>,
}

impl Listing {
    /// The documented JSON document.
    pub fn to_json(&self) -> serde_json::Value {
        let mut doc = serde_json::json!({
            "version": LS_FORMAT_VERSION,
            "count": self.packages.len(),
            "packages": self.packages,
        });
        if let Some(range) = &self.affected {
            doc["affected"] =
                serde_json::json!({ "base": range.resolved_base, "head": range.head });
        }
        doc
    }
}

/// Lists the packages `filters` and `affected` select.
pub fn list(
    workspace: &Workspace,
    filters: &[String],
    affected: bool,
    reporter: &dyn Reporter,
) -> Result<Listing, EngineError> {
    let filters = filters
        .iter()
        .map(|f| Filter::parse(f, &workspace.cwd))
        .collect::<Result<Vec<_>, _>>()?;
    let cache_dir = workspace.cache_dir(None);
    let selection = crate::selection::select(workspace, &filters, affected, &cache_dir, reporter)?;
    let (range, mut reasons) = match selection.affected {
        Some((range, reasons)) => (Some(range), Some(reasons)),
        None => (None, None),
    };
    let graph = &workspace.packages;
    let packages = graph
        .packages()
        .filter(|p| selection.packages.contains(&p.name))
        .map(|p| ListedPackage {
            name: p.name.to_string(),
            language: p.language.to_string(),
            directory: p.dir.to_string(),
            manifest: p.manifest.to_string(),
            dependencies: graph.dependencies(&p.name).map(|d| d.to_string()).collect(),
            dependents: graph.dependents(&p.name).map(|d| d.to_string()).collect(),
            reason: reasons.as_mut().and_then(|r| r.remove(&p.name)),
        })
        .collect();
    Ok(Listing {
        packages,
        affected: range,
    })
}
