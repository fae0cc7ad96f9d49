//! The [`Checker`]: the file being checked, the problems found so far, and the checks of
//! single values that every part of the schema uses.

use std::sync::Arc;

use crate::error::ConfigError;
use crate::node::{Key, Node, NodeKind};
use crate::source::{SourceFile, Span, Spanned};

pub(crate) struct Checker<'s> {
    pub(super) source: &'s Arc<SourceFile>,
    errors: Vec<ConfigError>,
}

impl<'s> Checker<'s> {
    pub fn new(source: &'s Arc<SourceFile>) -> Self {
        Self {
            source,
            errors: Vec::new(),
        }
    }

    pub fn finish<T>(mut self, value: T) -> Result<T, Vec<ConfigError>> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            self.errors.sort_by_key(error_offset);
            Err(self.errors)
        }
    }

    pub(super) fn spanned<T>(&self, value: T, span: Span) -> Spanned<T> {
        Spanned::new(value, span, self.source)
    }

    pub(super) fn wrong_type(
        &mut self,
        key: &str,
        node: &Node,
        expected: &'static str,
        example: &str,
    ) {
        let example = match self.source.format() {
            crate::ConfigFormat::Toml => format!("write it as `{key} = {example}`"),
            crate::ConfigFormat::Json => format!("write it as `\"{key}\": {example}`"),
        };
        self.errors.push(ConfigError::WrongType {
            src: self.source.named_source(),
            span: node.span.into(),
            key: key.to_owned(),
            expected,
            found: node.kind.type_name(),
            help: example,
        });
    }

    pub(super) fn invalid(&mut self, key: &str, span: Span, problem: String, help: String) {
        self.errors.push(ConfigError::InvalidValue {
            src: self.source.named_source(),
            span: span.into(),
            key: key.to_owned(),
            problem,
            help,
        });
    }

    pub(super) fn unknown_key(&mut self, key: &Key, context: &str, known: &[&str]) {
        let help = if key.name == "pipeline" {
            "`pipeline` was renamed to `tasks` in Turborepo 2: rename the key".to_owned()
        } else {
            match did_you_mean(&key.name, known) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!("valid keys here are: {}", known.join(", ")),
            }
        };
        self.errors.push(ConfigError::UnknownKey {
            src: self.source.named_source(),
            span: key.span.into(),
            key: key.name.clone(),
            context: context.to_owned(),
            help,
        });
    }

    pub(super) fn object<'n>(&mut self, key: &str, node: &'n Node) -> Option<&'n [(Key, Node)]> {
        match &node.kind {
            NodeKind::Object(entries) => Some(entries),
            _ => {
                self.wrong_type(key, node, "a table", "{ ... }");
                None
            }
        }
    }

    /// A string parsed by `parse` (`cacheMaxSize`, `cacheMaxAge`).
    pub(super) fn limit<T>(
        &mut self,
        key: &str,
        node: &Node,
        parse: fn(&str) -> Result<T, crate::LimitError>,
    ) -> Option<Spanned<T>> {
        let text = self.string(key, node)?;
        match parse(&text.value) {
            Ok(value) => Some(self.spanned(value, node.span)),
            Err(err) => {
                let help = match &err {
                    crate::LimitError::Syntax { expected, .. } => format!("write {expected}"),
                    crate::LimitError::TooLarge { .. } => "write a smaller value".to_owned(),
                };
                self.invalid(key, node.span, err.to_string(), help);
                None
            }
        }
    }

    pub(super) fn string(&mut self, key: &str, node: &Node) -> Option<Spanned<String>> {
        match &node.kind {
            NodeKind::String(s) => Some(self.spanned(s.clone(), node.span)),
            _ => {
                self.wrong_type(key, node, "a string", "\"...\"");
                None
            }
        }
    }

    pub(super) fn bool(&mut self, key: &str, node: &Node) -> Option<bool> {
        match &node.kind {
            NodeKind::Bool(b) => Some(*b),
            _ => {
                self.wrong_type(key, node, "a boolean", "true");
                None
            }
        }
    }

    pub(super) fn strings(&mut self, key: &str, node: &Node) -> Option<Vec<Spanned<String>>> {
        let NodeKind::Array(items) = &node.kind else {
            let example = match &node.kind {
                NodeKind::String(s) => format!("[{s:?}]"),
                _ => "[\"...\"]".to_owned(),
            };
            self.wrong_type(key, node, "an array of strings", &example);
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match &item.kind {
                NodeKind::String(s) => out.push(self.spanned(s.clone(), item.span)),
                _ => self.wrong_type(key, item, "a string", "\"...\""),
            }
        }
        Some(out)
    }

    /// A key's value of one of several enumerated strings.
    pub(super) fn choice<T>(
        &mut self,
        key: &str,
        node: &Node,
        names: &[&str],
        parse: impl Fn(&str) -> Option<T>,
    ) -> Option<T> {
        let value = self.string(key, node)?;
        let parsed = parse(&value);
        if parsed.is_none() {
            self.invalid(
                key,
                node.span,
                format!("`{}` is not one of {}", value.value, names.join(", ")),
                match did_you_mean(&value, names) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!("use one of: {}", names.join(", ")),
                },
            );
        }
        parsed
    }

    /// A table of string values, in file order.
    pub(super) fn string_table(&mut self, key: &str, node: &Node) -> Vec<(Key, Spanned<String>)> {
        let Some(entries) = self.object(key, node) else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            if let Some(value) = self.string(&format!("{key}.{}", k.name), v) {
                out.push((k.clone(), value));
            }
        }
        out
    }

    pub(super) fn root_object<'n>(&mut self, node: &'n Node) -> &'n [(Key, Node)] {
        match &node.kind {
            NodeKind::Object(entries) => entries,
            _ => {
                self.wrong_type("the file", node, "a table", "{ ... }");
                &[]
            }
        }
    }

    /// A number or a string, as written (`4` or `"50%"`, `"10GB"`).
    pub(super) fn number_or_string(&mut self, key: &str, node: &Node) -> Option<Spanned<String>> {
        match &node.kind {
            NodeKind::Number => Some(self.spanned(
                self.source.text()[node.span.start..node.span.end].to_owned(),
                node.span,
            )),
            _ => self.string(key, node),
        }
    }

    /// A whole number written as a number.
    pub(super) fn whole_number(&mut self, key: &str, node: &Node, example: &str) -> Option<u64> {
        let parsed = match &node.kind {
            NodeKind::Number => self.source.text()[node.span.start..node.span.end]
                .parse::<u64>()
                .ok(),
            _ => None,
        };
        if parsed.is_none() {
            self.wrong_type(key, node, "a whole number", example);
        }
        parsed
    }
}

fn error_offset(error: &ConfigError) -> usize {
    match error {
        ConfigError::Io { .. }
        | ConfigError::JsonAndJsonc { .. }
        | ConfigError::TooLarge { .. }
        | ConfigError::NotAFile { .. } => 0,
        ConfigError::Syntax { span, .. }
        | ConfigError::UnknownKey { span, .. }
        | ConfigError::WrongType { span, .. }
        | ConfigError::InvalidValue { span, .. } => span.offset(),
    }
}

/// The known name closest to `word`, if one is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| {
            (
                strsim::damerau_levenshtein(&word.to_lowercase(), &k.to_lowercase()),
                *k,
            )
        })
        .filter(|(distance, k)| *distance <= (k.len() / 3).max(1) + usize::from(k.len() > 6))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;
    use test_case::test_case;

    #[test_case("output", Some("outputs"))]
    #[test_case("dependson", Some("dependsOn"))]
    #[test_case("dependOn", Some("dependsOn"))]
    #[test_case("inptus", Some("inputs"))]
    #[test_case("zebra", None)]
    fn suggests_close_keys(word: &str, expected: Option<&str>) {
        assert_eq!(did_you_mean(word, crate::schema::task::TASK_KEYS), expected);
    }
}
