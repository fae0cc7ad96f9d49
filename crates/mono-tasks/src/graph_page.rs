//! `--graph=FILE.html`: the plan drawn as one self-contained web page (docs/graph.md).
//!
//! The page is `graph_page.html` (its own CSS and JavaScript: a layered layout drawn to a
//! canvas, no library, no network) with the graph's data inlined as one JSON document:
//! each task of the plan with its package, command, hash, cache status and last duration,
//! and each package with its dependencies, for the package view.

use std::collections::{BTreeMap, BTreeSet};

use mono_task_id::{PackageName, TaskId};
use mono_workspace::PackageGraph;
use serde::Serialize;

use crate::plan::{CacheState, Plan, NONEXISTENT_COMMAND, OPT_OUT_COMMAND};

/// The version of the page's data document (`version` in it).
pub const GRAPH_PAGE_FORMAT_VERSION: &str = "1";

const TEMPLATE: &str = include_str!("graph_page.html");
const DATA_SLOT: &str = "/*MONO_GRAPH_DATA*/";

/// The page's data.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PageData<'a> {
    version: &'static str,
    mono_version: &'a str,
    global_hash: &'a str,
    tasks: Vec<PageTask<'a>>,
    packages: Vec<PagePackage>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PageTask<'a> {
    task_id: String,
    package: &'a str,
    task: &'a str,
    directory: &'a str,
    /// `null` when the task has nothing to run.
    command: Option<&'a str>,
    hash: &'a str,
    cache: &'a CacheState,
    /// How long the task last ran: the run that stored its local entry on a hit, else the
    /// newest entry this checkout stored or restored for the task; `null` if none.
    duration_ms: Option<u64>,
    dependencies: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PagePackage {
    name: String,
    directory: String,
    language: String,
    /// Its tasks in the graph.
    tasks: Vec<String>,
    /// Packages of the graph it depends on: through its manifest, or through a task that
    /// depends on one of theirs.
    dependencies: Vec<String>,
}

/// The web page of `plan`, whose packages are in `packages`. `last_duration` tells how long
/// a task that misses the cache took when it last ran, in milliseconds, where that is known.
pub fn graph_page(
    plan: &Plan,
    packages: &PackageGraph,
    last_duration: &dyn Fn(&TaskId) -> Option<u64>,
) -> String {
    let data = page_data(plan, packages, last_duration);
    let json = serde_json::to_string(&data).expect("the graph serializes");
    TEMPLATE.replacen(DATA_SLOT, &script_safe(&json), 1)
}

fn page_data<'a>(
    plan: &'a Plan,
    packages: &PackageGraph,
    last_duration: &dyn Fn(&TaskId) -> Option<u64>,
) -> PageData<'a> {
    let tasks: Vec<PageTask<'a>> = plan
        .tasks
        .iter()
        .map(|t| PageTask {
            task_id: t.task_id.to_string(),
            package: t.package.as_str(),
            task: &t.task,
            directory: &t.directory,
            command: match t.command.as_str() {
                NONEXISTENT_COMMAND | OPT_OUT_COMMAND => None,
                command => Some(command),
            },
            hash: &t.hash,
            cache: &t.cache,
            duration_ms: match t.cache.local {
                true => Some(t.cache.time_saved),
                false => last_duration(&t.task_id),
            },
            dependencies: t.dependencies.iter().map(ToString::to_string).collect(),
        })
        .collect();
    let mut by_package: BTreeMap<&PackageName, (Vec<String>, BTreeSet<String>)> = BTreeMap::new();
    for task in &plan.tasks {
        let entry = by_package.entry(&task.package).or_default();
        entry.0.push(task.task_id.to_string());
        for dependency in &task.dependencies {
            if dependency.package() != &task.package {
                entry.1.insert(dependency.package().to_string());
            }
        }
    }
    let in_graph: BTreeSet<&PackageName> = by_package.keys().copied().collect();
    let packages = by_package
        .into_iter()
        .map(|(name, (tasks, mut dependencies))| {
            let package = packages.get(name);
            dependencies.extend(
                packages
                    .dependencies(name)
                    .filter(|d| in_graph.contains(d))
                    .map(ToString::to_string),
            );
            PagePackage {
                name: name.to_string(),
                directory: package.map(|p| p.dir.to_string()).unwrap_or_default(),
                language: package.map(|p| p.language.to_string()).unwrap_or_default(),
                tasks,
                dependencies: dependencies.into_iter().collect(),
            }
        })
        .collect();
    PageData {
        version: GRAPH_PAGE_FORMAT_VERSION,
        mono_version: &plan.mono_version,
        global_hash: &plan.global_hash,
        tasks,
        packages,
    }
}

/// JSON that can sit inside a `<script>` element: no `<` (so no `</script>` or `<!--`),
/// and no U+2028/U+2029. Each becomes its `\u` escape, which only occurs inside strings
/// and reads back as the same character.
fn script_safe(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_end_tags_in_values_cannot_close_the_data_element() {
        let json = serde_json::to_string(&serde_json::json!({
            "command": "echo '</script><script>alert(1)</script>' && a<b \u{2028}",
        }))
        .expect("serializes");
        let safe = script_safe(&json);
        assert!(!safe.contains('<') && !safe.contains("</script"));
        let back: serde_json::Value = serde_json::from_str(&safe).expect("still JSON");
        assert_eq!(
            back["command"],
            "echo '</script><script>alert(1)</script>' && a<b \u{2028}"
        );
    }

    #[test]
    fn the_template_has_one_data_slot_in_its_data_element() {
        assert_eq!(TEMPLATE.matches(DATA_SLOT).count(), 1);
        let at = TEMPLATE.find(DATA_SLOT).expect("slot");
        assert!(TEMPLATE[..at].ends_with("<script id=\"graph-data\" type=\"application/json\">"));
        // Self-contained: nothing is loaded from anywhere.
        for external in ["src=", "href=", "http://", "https://", "@import", "fetch("] {
            assert!(!TEMPLATE.contains(external), "{external}");
        }
    }
}
