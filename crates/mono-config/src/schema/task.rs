//! Task definitions: `tasks.NAME` of a root or package config.

use mono_task_id::TaskName;

use crate::model::{DependsOn, ListField, OutputLogs, RawTaskDefinition, TaskEntry, TURBO_EXTENDS};
use crate::node::Node;
use crate::source::Spanned;

use super::Checker;

pub(crate) const TASK_KEYS: &[&str] = &[
    "cache",
    "command",
    "dependsOn",
    "description",
    "env",
    "extends",
    "inputs",
    "interactive",
    "interruptible",
    "outputLogs",
    "outputs",
    "passThroughEnv",
    "persistent",
    "tags",
    "with",
];

/// Which file a task definition is written in: a package's config may extend inherited
/// values, the root's may not.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Owner {
    Root,
    Package,
}

impl Checker<'_> {
    pub(super) fn tasks(&mut self, node: &Node, owner: Owner) -> Vec<TaskEntry> {
        let Some(entries) = self.object("tasks", node) else {
            return Vec::new();
        };
        let mut tasks = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            let name = match key.name.parse::<TaskName>() {
                Ok(name) => name,
                Err(err) => {
                    self.invalid(
                        "tasks",
                        key.span,
                        format!("`{}` is not a valid task name: {err}", key.name),
                        "name tasks `task` or `package#task`".to_owned(),
                    );
                    continue;
                }
            };
            if owner == Owner::Package && name.is_package_task() {
                self.invalid(
                    "tasks",
                    key.span,
                    format!("a package's config cannot name a package's task (`{name}`)"),
                    format!(
                        "write `{}` here, or move `{name}` to the root turbo.toml",
                        name.task()
                    ),
                );
                continue;
            }
            let definition = self.task_definition(&name, value, owner);
            tasks.push(TaskEntry {
                name: self.spanned(name, key.span),
                definition,
            });
        }
        tasks
    }

    fn task_definition(&mut self, name: &TaskName, node: &Node, owner: Owner) -> RawTaskDefinition {
        let mut def = RawTaskDefinition::default();
        let Some(entries) = self.object(&format!("tasks.{name}"), node) else {
            return def;
        };
        let context = format!("task `{name}`");
        for (key, value) in entries {
            let list = |field| (field, key.name.as_str(), value);
            match key.name.as_str() {
                "dependsOn" => {
                    def.depends_on = self
                        .extendable(list(ListField::DependsOn), &mut def.appends)
                        .map(|items| self.depends_on(items))
                }
                "inputs" => def.inputs = self.extendable(list(ListField::Inputs), &mut def.appends),
                "outputs" => {
                    def.outputs = self.extendable(list(ListField::Outputs), &mut def.appends)
                }
                "env" => def.env = self.extendable(list(ListField::Env), &mut def.appends),
                "passThroughEnv" => {
                    def.pass_through_env =
                        self.extendable(list(ListField::PassThroughEnv), &mut def.appends)
                }
                "tags" => def.tags = self.extendable(list(ListField::Tags), &mut def.appends),
                "with" => {
                    def.with = self
                        .extendable(list(ListField::With), &mut def.appends)
                        .map(|items| self.with(items))
                }
                "cache" => def.cache = self.bool("cache", value),
                "persistent" => {
                    def.persistent = self
                        .bool("persistent", value)
                        .map(|b| self.spanned(b, key.span))
                }
                "interactive" => def.interactive = self.bool("interactive", value),
                "interruptible" => def.interruptible = self.bool("interruptible", value),
                "outputLogs" => {
                    def.output_logs =
                        self.choice("outputLogs", value, &OutputLogs::NAMES, OutputLogs::parse)
                }
                "command" => def.command = self.string("command", value),
                "description" => {
                    self.string("description", value);
                }
                "extends" if owner == Owner::Root => self.invalid(
                    "extends",
                    key.span,
                    "a task of the root config cannot set `extends`".to_owned(),
                    "task-level `extends` belongs in a package's config; remove it here".to_owned(),
                ),
                "extends" => {
                    def.extends = self
                        .bool("extends", value)
                        .map(|b| self.spanned(b, value.span))
                }
                _ => self.unknown_key(key, &context, TASK_KEYS),
            }
        }
        def
    }

    /// An array of strings that may start with `$TURBO_EXTENDS$` (append to the inherited
    /// values); records the field in `appends` when it does. The marker anywhere else is an
    /// error, as in Turborepo. In the root config the marker has nothing to extend and is
    /// dropped.
    fn extendable(
        &mut self,
        (field, key, node): (ListField, &str, &Node),
        appends: &mut std::collections::BTreeSet<ListField>,
    ) -> Option<Vec<Spanned<String>>> {
        let mut items = self.strings(key, node)?;
        if items.first().is_some_and(|i| i.value == TURBO_EXTENDS) {
            items.remove(0);
            appends.insert(field);
        }
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            if item.value == TURBO_EXTENDS {
                self.invalid(
                    key,
                    item.span,
                    format!("`{TURBO_EXTENDS}` must be the first element of `{key}`"),
                    format!("move `{TURBO_EXTENDS}` to the start of the array"),
                );
            } else {
                out.push(item);
            }
        }
        Some(out)
    }

    fn depends_on(&mut self, items: Vec<Spanned<String>>) -> Vec<Spanned<DependsOn>> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let raw = item.value.as_str();
            let parsed = if let Some(task) = raw.strip_prefix('^') {
                TaskName::new(task).map(|_| DependsOn::Topological(task.to_owned()))
            } else if raw.starts_with('$') {
                self.invalid(
                    "dependsOn",
                    item.span,
                    format!("`{raw}`: environment variables are no longer declared in dependsOn"),
                    format!("list `{}` under `env` instead", raw.trim_start_matches('$')),
                );
                continue;
            } else {
                raw.parse::<TaskName>()
                    .map(|name| match name.into_task_id() {
                        Some(id) => DependsOn::Task(id),
                        None => DependsOn::SamePackage(raw.to_owned()),
                    })
            };
            match parsed {
                Ok(dep) => out.push(item.map(|_| dep)),
                Err(err) => self.invalid(
                    "dependsOn",
                    item.span,
                    format!("`{raw}` is not a task reference: {err}"),
                    "write `task`, `^task` (in dependencies) or `package#task`".to_owned(),
                ),
            }
        }
        out
    }

    /// `with`: `task` (the same package's) or `package#task`; never `^task`.
    fn with(&mut self, items: Vec<Spanned<String>>) -> Vec<Spanned<TaskName>> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            if let Some(rest) = item.value.strip_prefix('^') {
                self.invalid(
                    "with",
                    item.span,
                    "`with` cannot use dependency relationships".to_owned(),
                    format!("remove `^`: write `{rest}` or `package#{rest}`"),
                );
                continue;
            }
            match item.value.parse::<TaskName>() {
                Ok(name) => out.push(item.map(|_| name)),
                Err(err) => self.invalid(
                    "with",
                    item.span,
                    format!("`{}` is not a task name: {err}", item.value),
                    "write `task` (this package's) or `package#task`".to_owned(),
                ),
            }
        }
        out
    }
}
