//! The canonical text of a config, for hashing: sorted keys, no formatting, no comments, the
//! same for turbo.toml and turbo.json with the same content.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::model::{RawTaskDefinition, RootConfig};
use crate::source::Spanned;

fn strings(values: &[Spanned<String>]) -> Value {
    Value::Array(
        values
            .iter()
            .map(|s| Value::String(s.value.clone()))
            .collect(),
    )
}

/// A task definition as canonical JSON (keys sorted, defaults filled in), for the task hash.
pub fn task_definition(def: &RawTaskDefinition) -> Value {
    let def = def.resolve();
    let mut map = BTreeMap::new();
    map.insert("cache", json!(def.cache));
    map.insert("command", json!(def.command));
    map.insert(
        "dependsOn",
        json!(def
            .depends_on
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()),
    );
    map.insert("env", json!(def.env));
    map.insert("inputs", json!(def.inputs));
    map.insert("interactive", json!(def.interactive));
    map.insert("interruptible", json!(def.interruptible));
    map.insert("outputLogs", json!(def.output_logs.as_str()));
    map.insert("outputs", json!(def.outputs));
    map.insert("passThroughEnv", json!(def.pass_through_env));
    map.insert("persistent", json!(def.persistent));
    // Only when set, so that the hashes of tasks without `with` stay what they were.
    if !def.with.is_empty() {
        map.insert(
            "with",
            json!(def.with.iter().map(ToString::to_string).collect::<Vec<_>>()),
        );
    }
    serde_json::to_value(map).expect("a map of JSON values serializes")
}

pub(crate) fn root(config: &RootConfig) -> String {
    let mut tasks = BTreeMap::new();
    for entry in &config.tasks {
        tasks.insert(
            entry.name.value.to_string(),
            task_definition(&entry.definition),
        );
    }
    let mut map = BTreeMap::new();
    map.insert(
        "cacheDir",
        json!(config.cache_dir.as_ref().map(|s| s.value.clone())),
    );
    map.insert("envMode", json!(config.env_mode.map(|m| m.as_str())));
    map.insert("globalDependencies", strings(&config.global_dependencies));
    map.insert("globalEnv", strings(&config.global_env));
    map.insert(
        "globalPassThroughEnv",
        config
            .global_pass_through_env
            .as_deref()
            .map_or(Value::Null, strings),
    );
    map.insert("tasks", serde_json::to_value(tasks).expect("serializes"));
    map.insert("workspaces", strings(&config.workspaces));
    serde_json::to_string(&map).expect("a map of JSON values serializes")
}
