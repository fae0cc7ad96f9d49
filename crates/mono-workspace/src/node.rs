//! `package.json` and `pnpm-workspace.yaml`: what mono reads of them.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::ParseError;

/// What mono reads of a `package.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PackageJson {
    /// `name`
    pub name: Option<String>,
    /// `scripts`
    pub scripts: BTreeMap<String, String>,
    /// Keys and specs of `dependencies`, `devDependencies`, `peerDependencies` and
    /// `optionalDependencies`, in that order.
    pub dependencies: Vec<(String, String)>,
    /// `workspaces`, in either form (`[...]` or `{ "packages": [...] }`).
    pub workspaces: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    name: Option<String>,
    #[serde(default)]
    scripts: BTreeMap<String, String>,
    #[serde(default)]
    dependencies: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    dev_dependencies: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    peer_dependencies: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    optional_dependencies: BTreeMap<String, serde_json::Value>,
    workspaces: Option<RawWorkspaces>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawWorkspaces {
    List(Vec<String>),
    Object {
        #[serde(default)]
        packages: Vec<String>,
    },
}

/// Parses a `package.json`.
pub(crate) fn parse_package_json(text: &str) -> Result<PackageJson, ParseError> {
    let raw: Raw = serde_json::from_str(text).map_err(|e| {
        // serde_json appends " at line L column C"; the position is reported apart.
        let message = e.to_string();
        let message = match message.rfind(" at line ") {
            Some(i) => message[..i].to_owned(),
            None => message,
        };
        ParseError::at_line_col(message, e.line(), e.column())
    })?;
    let spec = |value: serde_json::Value| match value {
        serde_json::Value::String(s) => s,
        _ => String::new(),
    };
    let dependencies = [
        raw.dependencies,
        raw.dev_dependencies,
        raw.peer_dependencies,
        raw.optional_dependencies,
    ]
    .into_iter()
    .flatten()
    .map(|(key, value)| (key, spec(value)))
    .collect();
    Ok(PackageJson {
        name: raw.name,
        scripts: raw.scripts,
        dependencies,
        workspaces: raw.workspaces.map(|w| match w {
            RawWorkspaces::List(list) => list,
            RawWorkspaces::Object { packages } => packages,
        }),
    })
}

#[derive(Deserialize)]
struct RawPnpm {
    #[serde(default)]
    packages: Vec<String>,
}

/// Parses a `pnpm-workspace.yaml` into its `packages` globs (with `!` exclusions).
pub(crate) fn parse_pnpm_workspace(text: &str) -> Result<Vec<String>, ParseError> {
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(Vec::new());
    }
    let raw: RawPnpm = serde_yaml::from_str(text).map_err(|e| match e.location() {
        Some(at) => ParseError::at_line_col(e.to_string(), at.line(), at.column()),
        None => ParseError::at_line(e.to_string(), 1),
    })?;
    Ok(raw.packages)
}

/// What a dependency of a `package.json` refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DependencyTarget<'a> {
    /// A package by name (the key, or the real name of an alias).
    Name(&'a str),
    /// A folder, relative to the package (`file:../ui`, `link:`, `portal:`, `workspace:../ui`).
    Path(&'a str),
}

/// Splits `name@range` (or `@scope/name@range`) and returns the name.
fn alias_name(spec: &str) -> Option<&str> {
    let search_from = usize::from(spec.starts_with('@'));
    let at = spec[search_from..].find('@')? + search_from;
    let name = &spec[..at];
    (!name.is_empty() && name != "@").then_some(name)
}

/// What the dependency `key: spec` refers to: its key, unless the spec is an alias
/// (`npm:real@1`, `workspace:real@*`) or a local path (`file:`, `link:`, `portal:`).
pub(crate) fn dependency_target<'a>(key: &'a str, spec: &'a str) -> DependencyTarget<'a> {
    if let Some(rest) = spec.strip_prefix("npm:") {
        return DependencyTarget::Name(alias_name(rest).unwrap_or(rest));
    }
    if let Some(rest) = ["file:", "link:", "portal:"]
        .iter()
        .find_map(|prefix| spec.strip_prefix(prefix))
    {
        return DependencyTarget::Path(rest);
    }
    if let Some(rest) = spec.strip_prefix("workspace:") {
        if rest.starts_with("./") || rest.starts_with("../") {
            return DependencyTarget::Path(rest);
        }
        if let Some(name) = alias_name(rest) {
            return DependencyTarget::Name(name);
        }
    }
    DependencyTarget::Name(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    #[test]
    fn reads_array_workspaces_scripts_and_all_dependency_kinds() {
        let text = r#"{
          "name": "@acme/web",
          "workspaces": ["apps/*", "packages/*"],
          "scripts": { "build": "next build", "test": "vitest" },
          "dependencies": { "@acme/ui": "workspace:*", "react": "^18" },
          "devDependencies": { "@acme/config": "*" },
          "peerDependencies": { "@acme/peer": "^1" },
          "optionalDependencies": { "@acme/opt": "1.0.0" }
        }"#;
        let pkg = parse_package_json(text).unwrap();
        assert_eq!(pkg.name.as_deref(), Some("@acme/web"));
        assert_eq!(pkg.workspaces.unwrap(), ["apps/*", "packages/*"]);
        assert_eq!(pkg.scripts["build"], "next build");
        let keys: Vec<_> = pkg.dependencies.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "@acme/ui",
                "react",
                "@acme/config",
                "@acme/peer",
                "@acme/opt"
            ]
        );
    }

    #[test]
    fn reads_object_workspaces() {
        let text = r#"{ "name": "root", "workspaces": { "packages": ["packages/**"], "nohoist": ["**/x"] } }"#;
        assert_eq!(
            parse_package_json(text).unwrap().workspaces.unwrap(),
            ["packages/**"]
        );
    }

    #[test]
    fn no_name_and_no_workspaces() {
        let pkg = parse_package_json("{}").unwrap();
        assert_eq!(pkg, PackageJson::default());
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let err = parse_package_json("{\n  \"name\": \"a\",\n  oops\n}").unwrap_err();
        assert_eq!((err.line, err.column), (3, Some(3)));
        assert!(
            err.message.contains("key must be a string"),
            "{}",
            err.message
        );
    }

    #[test]
    fn wrong_type_has_line() {
        let err = parse_package_json("{\n  \"name\": 5\n}").unwrap_err();
        assert_eq!(err.line, 2);
    }

    #[test]
    fn pnpm_workspace_with_exclusions() {
        let text = "# workspace\npackages:\n  - 'packages/*'\n  - \"apps/**\"\n  - '!**/test/**'\ncatalog:\n  react: ^18\n";
        assert_eq!(
            parse_pnpm_workspace(text).unwrap(),
            ["packages/*", "apps/**", "!**/test/**"]
        );
        assert!(parse_pnpm_workspace("# nothing\n").unwrap().is_empty());
        assert_eq!(parse_pnpm_workspace("packages: 5\n").unwrap_err().line, 1);
    }

    #[test_case("ui", "*", DependencyTarget::Name("ui") ; "star")]
    #[test_case("ui", "workspace:*", DependencyTarget::Name("ui") ; "workspace star")]
    #[test_case("ui", "workspace:^1.2.0", DependencyTarget::Name("ui") ; "workspace range")]
    #[test_case("x", "workspace:@acme/ui@*", DependencyTarget::Name("@acme/ui") ; "workspace alias")]
    #[test_case("x", "npm:@acme/ui@^1", DependencyTarget::Name("@acme/ui") ; "npm scoped alias")]
    #[test_case("x", "npm:ui", DependencyTarget::Name("ui") ; "npm alias without range")]
    #[test_case("x", "file:../ui", DependencyTarget::Path("../ui") ; "file")]
    #[test_case("x", "link:../ui", DependencyTarget::Path("../ui") ; "link")]
    #[test_case("x", "workspace:../ui", DependencyTarget::Path("../ui") ; "workspace path")]
    fn dependency_targets(key: &str, spec: &str, expected: DependencyTarget<'_>) {
        assert_eq!(dependency_target(key, spec), expected);
    }
}
