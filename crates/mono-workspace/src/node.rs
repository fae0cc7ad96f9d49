//! `package.json` and `pnpm-workspace.yaml`: what mono reads of them, and what discovery
//! does with node packages: their names, and which dependencies are workspace packages.

use std::collections::BTreeMap;

use mono_paths::{AbsPath, RepoPath};
use mono_task_id::PackageName;
use serde::Deserialize;

use crate::dependencies::Lookup;
use crate::error::ParseError;
use crate::files::{file, lockfile_head, manifest_path, read_optional};
use crate::naming::checked_name;
use crate::{Language, WorkspaceError};

/// What mono reads of a `package.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PackageJson {
    /// `name`
    pub name: Option<String>,
    /// `version`
    pub version: Option<String>,
    /// `packageManager` (`pnpm@9.1.0`)
    pub package_manager: Option<String>,
    /// `scripts`
    pub scripts: BTreeMap<String, String>,
    /// Keys and specs of `dependencies`, `devDependencies` and `optionalDependencies`, in
    /// that order. `peerDependencies` are not among them: Turborepo does not count them.
    pub dependencies: Vec<(String, String)>,
    /// `workspaces`, in either form (`[...]` or `{ "packages": [...] }`).
    pub workspaces: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    name: Option<String>,
    version: Option<serde_json::Value>,
    package_manager: Option<serde_json::Value>,
    #[serde(default)]
    scripts: BTreeMap<String, String>,
    #[serde(default)]
    dependencies: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    dev_dependencies: BTreeMap<String, serde_json::Value>,
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
        raw.optional_dependencies,
    ]
    .into_iter()
    .flatten()
    .map(|(key, value)| (key, spec(value)))
    .collect();
    let text = |value: Option<serde_json::Value>| match value {
        Some(serde_json::Value::String(s)) => Some(s),
        _ => None,
    };
    Ok(PackageJson {
        name: raw.name,
        version: text(raw.version),
        package_manager: text(raw.package_manager),
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
    let raw: RawPnpm = serde_norway::from_str(text).map_err(|e| match e.location() {
        Some(at) => ParseError::at_line_col(e.to_string(), at.line(), at.column()),
        None => ParseError::at_line(e.to_string(), 1),
    })?;
    Ok(raw.packages)
}

/// The workspace package a dependency of a `package.json` may refer to, by name or by
/// folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DependencyTarget<'a> {
    /// A package by name (the key, or the name of a `workspace:name@*` alias).
    Name(&'a str),
    /// A folder, relative to the package (`workspace:../ui`).
    Path(&'a str),
}

/// What makes a dependency on a workspace package internal, once the package is found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Requirement<'a> {
    /// Always (`workspace:`, `*`).
    Always,
    /// When the path of a `file:` or `link:` dependency stays inside the repository.
    InsideRepo(&'a str),
    /// When the package's version satisfies the range (a plain range, `npm:RANGE`). A range
    /// or version that does not parse counts as satisfied, as in Turborepo.
    Range(&'a str),
}

/// Which workspace package the dependency `key: spec` may be, and on what condition, by
/// Turborepo's rules (`turborepo-repository`'s dependency splitter):
///
/// - without `link` (pnpm 9+ unless `link-workspace-packages`), only `workspace:` links;
/// - `workspace:name@*` (or `@^`, `@~`) names `name`; `workspace:../dir` (any `/`) names a
///   folder; any other spec names the key;
/// - `workspace:` always links; `file:` and `link:` link when their path stays in the
///   repository; any other protocol (`catalog:`, `portal:`, `github:`, `https:`) never
///   does, except `npm:`, whose rest is checked as a range; `*` always links; a range links
///   when the package's version satisfies it.
pub(crate) fn dependency_target<'a>(
    key: &'a str,
    spec: &'a str,
    link: bool,
) -> Option<(DependencyTarget<'a>, Requirement<'a>)> {
    let workspace = spec.strip_prefix("workspace:");
    if !link && workspace.is_none() {
        return None;
    }
    let target = match workspace {
        Some(rest) => match rest.rsplit_once('@') {
            Some((name, "*" | "^" | "~")) => DependencyTarget::Name(name),
            _ if rest.contains('/') => DependencyTarget::Path(rest),
            _ => DependencyTarget::Name(key),
        },
        None => DependencyTarget::Name(key),
    };
    let requirement = match spec.split_once(':') {
        Some(("workspace", _)) => Requirement::Always,
        Some(("file" | "link", path)) => Requirement::InsideRepo(path),
        Some(("npm", "*")) => Requirement::Always,
        Some(("npm", range)) => Requirement::Range(range),
        Some(_) => return None,
        None if spec == "*" => Requirement::Always,
        None => Requirement::Range(spec),
    };
    Some((target, requirement))
}

/// Whether a workspace package at `version` meets a [`Requirement::Range`].
pub(crate) fn version_satisfies(version: Option<&str>, range: &str) -> bool {
    use crate::npm_range::{Range, Version};
    match (Range::parse(range), version.and_then(Version::parse)) {
        (Some(range), Some(version)) => range.satisfies(&version),
        _ => true,
    }
}

/// Whether the package manager links a plain-range dependency to the workspace package it
/// names (Turborepo's `link_workspace_packages`): pnpm 9 and later only with
/// `linkWorkspacePackages` (pnpm-workspace.yaml) or `link-workspace-packages` (.npmrc);
/// earlier pnpm unless they turn it off; npm, yarn and bun always.
pub(crate) fn links_workspace_packages(
    package_manager: Option<&str>,
    pnpm: Option<PnpmSettings>,
    npmrc: Option<&str>,
) -> bool {
    let Some(pnpm) = pnpm else {
        return true;
    };
    let major = package_manager
        .and_then(|pm| pm.strip_prefix("pnpm@"))
        .and_then(|v| v.split('.').next())
        .and_then(|m| m.parse::<u64>().ok())
        .or(pnpm.lockfile_major);
    let pnpm9 = major.is_none_or(|m| m >= 9);
    let from_npmrc = npmrc.and_then(|text| {
        text.lines().find_map(|line| {
            let (key, value) = line.split_once('=')?;
            (key.trim() == "link-workspace-packages").then(|| value.trim() != "false")
        })
    });
    pnpm9
        .then_some(pnpm.link_workspace_packages)
        .flatten()
        .or(from_npmrc)
        .unwrap_or(!pnpm9)
}

/// What decides pnpm's linking, from pnpm-workspace.yaml and pnpm-lock.yaml.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PnpmSettings {
    /// `linkWorkspacePackages` (`true`, `false` or `deep`).
    pub link_workspace_packages: Option<bool>,
    /// The pnpm major the lockfile was written by (`lockfileVersion: '9.0'` is pnpm 9, older
    /// formats are pnpm 8 or earlier), when the root package.json names no `packageManager`.
    pub lockfile_major: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPnpmSettings {
    link_workspace_packages: Option<serde_norway::Value>,
}

impl PnpmSettings {
    /// Reads the settings; anything unreadable counts as unset.
    pub(crate) fn read(workspace_yaml: &str, lockfile: Option<&str>) -> PnpmSettings {
        let link_workspace_packages = serde_norway::from_str::<RawPnpmSettings>(workspace_yaml)
            .ok()
            .and_then(|raw| raw.link_workspace_packages)
            .and_then(|value| match value {
                serde_norway::Value::Bool(b) => Some(b),
                serde_norway::Value::String(s) => Some(s != "false"),
                _ => None,
            });
        let lockfile_major = lockfile.and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("lockfileVersion"))?;
            let value = line.split_once(':')?.1.trim().trim_matches(['\'', '"']);
            let major = value.split('.').next()?.parse::<u64>().ok()?;
            // Lockfile 9.0 is pnpm 9 and 10; 6.x is pnpm 8, 5.x pnpm 7 and earlier.
            Some(if major >= 9 { 9 } else { 8 })
        });
        PnpmSettings {
            link_workspace_packages,
            lockfile_major,
        }
    }
}

/// Whether plain-range dependencies link to workspace packages in the repository at `root`
/// (see [`links_workspace_packages`]), from its package.json, pnpm-workspace.yaml (when
/// `pnpm`), pnpm-lock.yaml and .npmrc; unreadable files count as absent.
pub(crate) fn links_in_repository(
    root: &AbsPath,
    package_json: Option<&PackageJson>,
    pnpm: bool,
) -> bool {
    let read = |name: &str| read_optional(root, &file(name)).ok().flatten();
    let package_manager = package_json.and_then(|p| p.package_manager.as_deref());
    let settings = pnpm.then(|| {
        // The lockfile only matters when package.json does not say which pnpm.
        let lockfile = match package_manager {
            Some(pm) if pm.starts_with("pnpm@") => None,
            _ => lockfile_head(&root.join("pnpm-lock.yaml")),
        };
        PnpmSettings::read(
            &read("pnpm-workspace.yaml").unwrap_or_default(),
            lockfile.as_deref(),
        )
    });
    links_workspace_packages(package_manager, settings, read(".npmrc").as_deref())
}

/// The package name of a workspace package.json.
pub(crate) fn package_name(
    dir: &RepoPath,
    package_json: &PackageJson,
) -> Result<PackageName, WorkspaceError> {
    let manifest = manifest_path(dir, Language::Node);
    match package_json.name.as_deref() {
        Some(name) => checked_name(&manifest, name),
        None => Err(WorkspaceError::MissingName {
            manifest,
            key: "`name`",
            help: "a workspace package.json needs a `name`: it is the package's name",
        }),
    }
}

/// The workspace packages the package.json in `dir` depends on (Turborepo's rules,
/// docs/packages.md): a dependency naming a workspace package, or a path to one (relative to
/// the package, or, as yarn 4 has it, to the root), when its spec says it is that package.
pub(crate) fn internal_dependencies(
    dir: &RepoPath,
    package_json: &PackageJson,
    lookup: &Lookup<'_>,
) -> Vec<PackageName> {
    let mut out = Vec::new();
    for (key, spec) in &package_json.dependencies {
        let Some((target, requirement)) = dependency_target(key, spec, lookup.link) else {
            continue;
        };
        let target_dir = match target {
            DependencyTarget::Name(n) => lookup.node_names.get(n).copied(),
            DependencyTarget::Path(p) => lookup
                .resolve(dir, p)
                .filter(|t| lookup.name_of_dir.contains_key(t))
                .or_else(|| lookup.resolve(&RepoPath::root(), p))
                .and_then(|t| lookup.name_of_dir.get_key_value(&t).map(|(d, _)| *d)),
        };
        let Some(target_dir) = target_dir else {
            continue;
        };
        let version = lookup
            .node_manifests
            .get(target_dir)
            .and_then(|m| m.version.as_deref());
        let internal = match requirement {
            Requirement::Always => true,
            Requirement::InsideRepo(path) => lookup.resolve(dir, path).is_some(),
            Requirement::Range(range) => version_satisfies(version, range),
        };
        if internal {
            out.extend(lookup.by_dir(Some(target_dir.clone())));
        }
    }
    out
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
        // Peers are not dependencies, as in Turborepo.
        assert_eq!(keys, ["@acme/ui", "react", "@acme/config", "@acme/opt"]);
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

    use DependencyTarget::{Name, Path};
    use Requirement::{Always, InsideRepo, Range};

    #[test_case("ui", "*", true, Some((Name("ui"), Always)) ; "star")]
    #[test_case("ui", "^1.0.0", true, Some((Name("ui"), Range("^1.0.0"))) ; "range")]
    #[test_case("ui", "^1.0.0", false, None ; "range without linking")]
    #[test_case("ui", "workspace:*", false, Some((Name("ui"), Always)) ; "workspace star")]
    #[test_case("ui", "workspace:^1.2.0", true, Some((Name("ui"), Always)) ; "workspace range")]
    #[test_case("x", "workspace:@acme/ui@*", true, Some((Name("@acme/ui"), Always)) ; "workspace alias")]
    #[test_case("x", "workspace:ui@^", true, Some((Name("ui"), Always)) ; "workspace alias caret")]
    #[test_case("x", "workspace:../ui", true, Some((Path("../ui"), Always)) ; "workspace path")]
    #[test_case("x", "workspace:packages/ui", true, Some((Path("packages/ui"), Always)) ; "workspace root path")]
    #[test_case("x", "npm:^1.2.3", true, Some((Name("x"), Range("^1.2.3"))) ; "npm range keeps the key")]
    #[test_case("x", "npm:@acme/ui@^1", true, Some((Name("x"), Range("@acme/ui@^1"))) ; "npm alias keeps the key")]
    #[test_case("x", "file:../ui", true, Some((Name("x"), InsideRepo("../ui"))) ; "file")]
    #[test_case("x", "link:../ui", true, Some((Name("x"), InsideRepo("../ui"))) ; "link")]
    #[test_case("x", "catalog:", true, None ; "catalog")]
    #[test_case("x", "catalog:react18", true, None ; "named catalog")]
    #[test_case("x", "portal:../ui", true, None ; "portal")]
    #[test_case("x", "github:acme/ui", true, None ; "github")]
    fn dependency_targets(
        key: &str,
        spec: &str,
        link: bool,
        expected: Option<(DependencyTarget<'_>, Requirement<'_>)>,
    ) {
        assert_eq!(dependency_target(key, spec, link), expected);
    }

    #[test_case(Some("1.2.3"), "^1.0.0", true ; "satisfied")]
    #[test_case(Some("2.3.4"), "^1.0.0", false ; "not satisfied")]
    #[test_case(Some("sometag"), "1.2.3", true ; "version that does not parse")]
    #[test_case(Some("1.2.3"), "sometag", true ; "range that does not parse")]
    #[test_case(None, "1.2.3", true ; "no version")]
    fn versions(version: Option<&str>, range: &str, expected: bool) {
        assert_eq!(version_satisfies(version, range), expected);
    }

    #[test_case(None, None, None, true ; "npm yarn bun")]
    #[test_case(Some("pnpm@9.1.0"), Some(""), None, false ; "pnpm 9")]
    #[test_case(Some("pnpm@10.0.0"), Some("linkWorkspacePackages: true"), None, true ; "pnpm 10 opted in")]
    #[test_case(Some("pnpm@9.0.0"), Some("linkWorkspacePackages: deep"), None, true ; "deep")]
    #[test_case(Some("pnpm@9.0.0"), Some(""), Some("link-workspace-packages=true"), true ; "npmrc")]
    #[test_case(Some("pnpm@8.15.0"), Some(""), None, true ; "pnpm 8")]
    #[test_case(Some("pnpm@8.15.0"), Some(""), Some("link-workspace-packages = false"), false ; "pnpm 8 opted out")]
    #[test_case(Some("pnpm@8.15.0"), Some("linkWorkspacePackages: false"), None, true ; "pnpm 8 ignores the yaml")]
    fn linking(pm: Option<&str>, yaml: Option<&str>, npmrc: Option<&str>, expected: bool) {
        let pnpm = yaml.map(|y| PnpmSettings::read(y, None));
        assert_eq!(links_workspace_packages(pm, pnpm, npmrc), expected);
    }

    #[test]
    fn pnpm_lockfile_tells_the_major() {
        let old = PnpmSettings::read("", Some("lockfileVersion: '6.0'\n"));
        assert!(links_workspace_packages(None, Some(old), None));
        let new = PnpmSettings::read("", Some("lockfileVersion: '9.0'\n"));
        assert!(!links_workspace_packages(None, Some(new), None));
    }
}
