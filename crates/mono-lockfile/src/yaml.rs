//! Reading the YAML lockfiles (pnpm, yarn berry): the two lookups both parsers use.

use serde_norway::{Mapping, Value};

/// The value under a string `key` of a YAML mapping.
pub(crate) fn get<'a>(m: &'a Mapping, key: &str) -> Option<&'a Value> {
    m.get(Value::String(key.to_string()))
}

/// A scalar as the text it was written as (versions may parse as numbers or booleans).
pub(crate) fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
