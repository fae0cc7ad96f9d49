//! `mono migrate`: turbo.json to turbo.toml, key for key.

use mono_paths::RepoPath;

use crate::{ConfigErrors, ConfigFormat, SourceFile};

/// Why turbo.json cannot become turbo.toml.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum MigrateError {
    /// turbo.json is invalid: reported with its lines, not migrated.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Invalid(#[from] ConfigErrors),
    /// A value TOML cannot hold (a `null`, say).
    #[error("turbo.json cannot be written as TOML: {message}")]
    #[diagnostic(
        code(mono::migrate::toml),
        help("remove the `null` values (TOML has none), then migrate again")
    )]
    NotToml {
        /// What the TOML writer said.
        message: String,
    },
}

/// The turbo.toml that says what `turbo_json` says. The JSON is checked first, so that a
/// broken turbo.json is reported with its line.
pub fn turbo_json_to_toml(turbo_json: &str) -> Result<String, MigrateError> {
    let source = SourceFile::new(
        RepoPath::new("turbo.json").expect("valid"),
        turbo_json.to_owned(),
        ConfigFormat::Json,
    );
    crate::parse_root(source)?;
    let mut value: serde_json::Value =
        jsonc_parser::parse_to_serde_value(turbo_json, &Default::default())
            .ok()
            .flatten()
            .unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        // `$schema` describes JSON files only.
        map.remove("$schema");
    }
    let not_toml = |message: String| MigrateError::NotToml { message };
    let table: toml::Table = serde_json::from_value(value).map_err(|e| not_toml(e.to_string()))?;
    toml::to_string_pretty(&table).map_err(|e| not_toml(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_each_key_as_toml() {
        let toml = turbo_json_to_toml(
            r#"{ "$schema": "https://turbo.build/schema.json",
                 // a comment
                 "globalEnv": ["CI"],
                 "tasks": { "build": { "dependsOn": ["^build"], "outputs": ["dist/**"] } } }"#,
        )
        .unwrap();
        let parsed: toml::Table = toml.parse().unwrap();
        assert!(!parsed.contains_key("$schema"));
        assert_eq!(
            parsed["globalEnv"].as_array().unwrap()[0].as_str(),
            Some("CI")
        );
        let build = &parsed["tasks"]["build"];
        assert_eq!(build["dependsOn"][0].as_str(), Some("^build"));
        assert_eq!(build["outputs"][0].as_str(), Some("dist/**"));
    }

    #[test]
    fn refuses_an_invalid_turbo_json_with_its_problems() {
        let err = turbo_json_to_toml(r#"{ "taks": {} }"#).unwrap_err();
        assert!(matches!(err, MigrateError::Invalid(_)));
    }
}
