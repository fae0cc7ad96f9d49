//! One spanned value tree for both syntaxes, so that a single schema check serves
//! turbo.toml and turbo.json and both report errors at the same granularity.

use std::sync::Arc;

use jsonc_parser::common::Ranged;
use toml::de::{DeTable, DeValue};

use crate::error::ConfigError;
use crate::source::{SourceFile, Span};

/// A parsed value with its span.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub span: Span,
    pub kind: NodeKind,
}

#[derive(Debug, Clone)]
pub(crate) enum NodeKind {
    Null,
    Bool(bool),
    Number,
    String(String),
    Array(Vec<Node>),
    Object(Vec<(Key, Node)>),
}

#[derive(Debug, Clone)]
pub(crate) struct Key {
    pub name: String,
    pub span: Span,
}

impl NodeKind {
    /// The type's name as users know it, for "expected X, found Y".
    pub fn type_name(&self) -> &'static str {
        match self {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "a boolean",
            NodeKind::Number => "a number",
            NodeKind::String(_) => "a string",
            NodeKind::Array(_) => "an array",
            NodeKind::Object(_) => "a table",
        }
    }
}

pub(crate) fn parse(source: &Arc<SourceFile>) -> Result<Node, Box<ConfigError>> {
    match source.format() {
        crate::ConfigFormat::Toml => parse_toml(source),
        crate::ConfigFormat::Json => parse_json(source),
    }
}

fn parse_toml(source: &Arc<SourceFile>) -> Result<Node, Box<ConfigError>> {
    let table = DeTable::parse(source.text()).map_err(|err| {
        let span = err.span().map_or(Span::default(), Span::from);
        Box::new(ConfigError::Syntax {
            src: source.named_source(),
            span: span.into(),
            message: err.message().trim().to_owned(),
        })
    })?;
    let span = Span::from(table.span());
    Ok(Node {
        span,
        kind: toml_table(table.into_inner()),
    })
}

fn toml_table(table: DeTable<'_>) -> NodeKind {
    NodeKind::Object(
        table
            .into_iter()
            .map(|(key, value)| {
                let key = Key {
                    span: key.span().into(),
                    name: key.into_inner().into_owned(),
                };
                (key, toml_value(value))
            })
            .collect(),
    )
}

fn toml_value(value: toml::Spanned<DeValue<'_>>) -> Node {
    let span = Span::from(value.span());
    let kind = match value.into_inner() {
        DeValue::String(s) => NodeKind::String(s.into_owned()),
        DeValue::Integer(_) | DeValue::Float(_) => NodeKind::Number,
        DeValue::Boolean(b) => NodeKind::Bool(b),
        // No key of ours takes a date; report it as the string it resembles.
        DeValue::Datetime(d) => NodeKind::String(d.to_string()),
        DeValue::Array(items) => NodeKind::Array(items.into_iter().map(toml_value).collect()),
        DeValue::Table(table) => toml_table(table),
    };
    Node { span, kind }
}

fn parse_json(source: &Arc<SourceFile>) -> Result<Node, Box<ConfigError>> {
    // Comments and trailing commas, as Turborepo's parser allows; nothing looser, so that
    // a missing comma is the error it would be for every other JSON tool.
    let options = jsonc_parser::ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    };
    let parsed = jsonc_parser::parse_to_ast(source.text(), &Default::default(), &options).map_err(
        |err| {
            let range = err.range();
            ConfigError::Syntax {
                src: source.named_source(),
                span: Span {
                    start: range.start,
                    end: range.end,
                }
                .into(),
                message: err.kind().to_string(),
            }
        },
    )?;
    match parsed.value {
        Some(value) => Ok(json_value(&value)),
        None => Ok(Node {
            span: Span::default(),
            kind: NodeKind::Object(Vec::new()),
        }),
    }
}

fn json_value(value: &jsonc_parser::ast::Value<'_>) -> Node {
    use jsonc_parser::ast::Value;
    let range = value.range();
    let span = Span {
        start: range.start,
        end: range.end,
    };
    let kind = match value {
        Value::StringLit(s) => NodeKind::String(s.value.to_string()),
        Value::NumberLit(_) => NodeKind::Number,
        Value::BooleanLit(b) => NodeKind::Bool(b.value),
        Value::NullKeyword(_) => NodeKind::Null,
        Value::Array(array) => NodeKind::Array(array.elements.iter().map(json_value).collect()),
        Value::Object(object) => NodeKind::Object(
            object
                .properties
                .iter()
                .map(|prop| {
                    let range = prop.name.range();
                    let key = Key {
                        name: prop.name.as_str().to_owned(),
                        span: Span {
                            start: range.start,
                            end: range.end,
                        },
                    };
                    (key, json_value(&prop.value))
                })
                .collect(),
        ),
    };
    Node { span, kind }
}
