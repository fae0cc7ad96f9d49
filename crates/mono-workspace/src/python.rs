//! Python packages: `pyproject.toml` (PEP 621 `[project]`, PEP 735 `[dependency-groups]`,
//! uv's `[tool.uv]`), `requirements*.txt`, PEP 508 requirement strings and PEP 503 names.

use std::collections::BTreeMap;
use std::path::Path;

use mono_config::PackageConfig;
use mono_paths::{AbsPath, RepoPath};
use mono_task_id::PackageName;
use serde::Deserialize;
use walkdir::WalkDir;

use crate::dependencies::Lookup;
use crate::error::ParseError;
use crate::naming::checked_name;
use crate::{PythonPackage, WorkspaceError};

/// A project name as PEP 503 normalises it: lowercase, every run of `-`, `_` and `.` one `-`.
pub(crate) fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_sep {
                out.push('-');
            }
            in_sep = true;
        } else {
            out.extend(c.to_lowercase());
            in_sep = false;
        }
    }
    out
}

/// One PEP 508 requirement: `name[extra,...] (specifier | @ url) ; marker`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Requirement {
    /// The name, normalised (PEP 503).
    pub name: String,
    /// The extras, normalised.
    pub extras: Vec<String>,
    /// The version specifier as written (`>=1,<2`), when there is one.
    pub specifier: Option<String>,
    /// The URL of a direct reference (`name @ file:///...`).
    pub url: Option<String>,
    /// The environment marker after `;`, as written.
    pub marker: Option<String>,
}

/// Why a requirement string is not PEP 508.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequirementError {
    pub message: String,
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(is_name_char)
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// Parses a PEP 508 requirement string.
pub(crate) fn parse_requirement(text: &str) -> Result<Requirement, RequirementError> {
    let err = |message: String| RequirementError { message };
    let text = text.trim();
    let name_end = text.find(|c: char| !is_name_char(c)).unwrap_or(text.len());
    let name = &text[..name_end];
    if !valid_name(name) {
        return Err(err(format!(
            "`{text}` does not start with a project name (letters, digits, `-`, `_`, `.`)"
        )));
    }
    let mut rest = text[name_end..].trim_start();
    let mut extras = Vec::new();
    if let Some(after) = rest.strip_prefix('[') {
        let Some(close) = after.find(']') else {
            return Err(err(format!("`{text}`: `[` of the extras is never closed")));
        };
        for extra in after[..close].split(',').map(str::trim) {
            if extra.is_empty() {
                continue;
            }
            if !valid_name(extra) {
                return Err(err(format!(
                    "`{text}`: `{extra}` is not a valid extra name"
                )));
            }
            extras.push(normalize_name(extra));
        }
        rest = after[close + 1..].trim_start();
    }
    let (url, specifier, marker);
    if let Some(after) = rest.strip_prefix('@') {
        // A URL ends at whitespace; a marker may follow after ` ;`.
        let after = after.trim_start();
        let end = after.find(char::is_whitespace).unwrap_or(after.len());
        if end == 0 {
            return Err(err(format!("`{text}`: `@` is not followed by a URL")));
        }
        url = Some(after[..end].to_owned());
        specifier = None;
        let tail = after[end..].trim_start();
        marker = match tail.strip_prefix(';') {
            Some(m) => Some(m.trim().to_owned()),
            None if tail.is_empty() => None,
            None => return Err(err(format!("`{text}`: unexpected `{tail}` after the URL"))),
        };
    } else {
        let (spec, mark) = match rest.split_once(';') {
            Some((s, m)) => (s.trim(), Some(m.trim().to_owned())),
            None => (rest.trim(), None),
        };
        let spec = spec
            .strip_prefix('(')
            .and_then(|s| s.strip_suffix(')'))
            .unwrap_or(spec)
            .trim();
        if !spec.is_empty() && !spec.starts_with(['<', '>', '=', '!', '~']) {
            return Err(err(format!(
                "`{text}`: `{spec}` is not a version specifier (`>=1.0`, `==2.*`, `~=3.1`)"
            )));
        }
        url = None;
        specifier = (!spec.is_empty()).then(|| spec.to_owned());
        marker = mark;
    }
    if marker.as_deref() == Some("") {
        return Err(err(format!("`{text}`: `;` is not followed by a marker")));
    }
    Ok(Requirement {
        name: normalize_name(name),
        extras,
        specifier,
        url,
        marker,
    })
}

/// What mono reads of a Python package's manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PythonManifest {
    /// `[project] name`, normalised; `None` for a requirements.txt folder or a virtual root.
    pub name: Option<String>,
    /// Every requirement: `[project] dependencies`, `optional-dependencies`,
    /// `[dependency-groups]` and `[tool.uv] dev-dependencies` (or requirements.txt lines).
    pub requirements: Vec<Requirement>,
    /// The names in the development groups (`[dependency-groups]`, `[tool.uv]
    /// dev-dependencies`, and the `dev`/`test`/`lint` extras).
    pub dev_names: Vec<String>,
    /// `[tool.uv.workspace]`: member globs and exclude globs.
    pub workspace: Option<(Vec<String>, Vec<String>)>,
    /// `[tool.uv.sources]`, by normalised name.
    pub sources: BTreeMap<String, UvSource>,
    /// Whether the file has a `[tool.uv]` table.
    pub uses_uv: bool,
    /// Local folders a requirements.txt installs (`-e ../lib`, `./lib`).
    pub local_paths: Vec<String>,
}

/// One `[tool.uv.sources]` entry, as far as it names a workspace package.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct UvSource {
    /// `workspace = true`
    pub workspace: bool,
    /// `path = "..."`, relative to the manifest's folder.
    pub path: Option<String>,
}

#[derive(Deserialize)]
struct RawPyProject {
    project: Option<RawProject>,
    #[serde(default, rename = "dependency-groups")]
    dependency_groups: BTreeMap<String, Vec<toml::Value>>,
    tool: Option<RawTool>,
}

#[derive(Deserialize)]
struct RawProject {
    name: Option<String>,
    #[serde(default)]
    dependencies: Vec<String>,
    #[serde(default, rename = "optional-dependencies")]
    optional_dependencies: BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize)]
struct RawTool {
    uv: Option<RawUv>,
}

#[derive(Deserialize)]
struct RawUv {
    workspace: Option<RawUvWorkspace>,
    #[serde(default)]
    sources: BTreeMap<String, toml::Value>,
    #[serde(default, rename = "dev-dependencies")]
    dev_dependencies: Vec<String>,
}

#[derive(Deserialize)]
struct RawUvWorkspace {
    #[serde(default)]
    members: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
}

/// The 1-based line of the first occurrence of `needle` in `text` (1 when absent).
fn line_of(text: &str, needle: &str) -> usize {
    text.find(needle)
        .map_or(1, |at| text[..at].matches('\n').count() + 1)
}

/// Parses a `pyproject.toml`.
pub(crate) fn parse_pyproject(text: &str) -> Result<PythonManifest, ParseError> {
    let raw: RawPyProject = toml::from_str(text).map_err(|e| match e.span() {
        Some(span) => ParseError::at_span(e.message().to_owned(), text, span),
        None => ParseError::at_line(e.message().to_owned(), 1),
    })?;
    let mut out = PythonManifest::default();
    let add = |written: &str, dev: bool, out: &mut PythonManifest| {
        let requirement = parse_requirement(written).map_err(|e| {
            ParseError::at_line(e.message, line_of(text, &format!("\"{written}\"")))
        })?;
        if dev {
            out.dev_names.push(requirement.name.clone());
        }
        out.requirements.push(requirement);
        Ok::<(), ParseError>(())
    };
    if let Some(project) = &raw.project {
        out.name = project.name.as_deref().map(normalize_name);
        for dep in &project.dependencies {
            add(dep, false, &mut out)?;
        }
        for (extra, deps) in &project.optional_dependencies {
            let dev = matches!(extra.as_str(), "dev" | "test" | "tests" | "lint");
            for dep in deps {
                add(dep, dev, &mut out)?;
            }
        }
    }
    for deps in raw.dependency_groups.values() {
        // `{ include-group = "..." }` tables include another group, listed on its own.
        for dep in deps.iter().filter_map(toml::Value::as_str) {
            add(dep, true, &mut out)?;
        }
    }
    if let Some(uv) = raw.tool.and_then(|t| t.uv) {
        out.uses_uv = true;
        for dep in &uv.dev_dependencies {
            add(dep, true, &mut out)?;
        }
        out.workspace = uv.workspace.map(|w| (w.members, w.exclude));
        for (name, source) in &uv.sources {
            let source = UvSource {
                workspace: source
                    .get("workspace")
                    .and_then(toml::Value::as_bool)
                    .unwrap_or(false),
                path: source
                    .get("path")
                    .and_then(toml::Value::as_str)
                    .map(str::to_owned),
            };
            out.sources.insert(normalize_name(name), source);
        }
    }
    Ok(out)
}

/// Parses a `requirements.txt`: one requirement a line; comments, blank lines and options
/// (`-r`, `-c`, `--index-url`, ...) skipped; `-e PATH` and bare local paths kept as local
/// folders; trailing `--hash=...` options dropped.
pub(crate) fn parse_requirements_txt(text: &str) -> Result<PythonManifest, ParseError> {
    let mut out = PythonManifest::default();
    for (i, line) in text.lines().enumerate() {
        let line = match line.find(" #") {
            Some(at) => &line[..at],
            None if line.trim_start().starts_with('#') => "",
            None => line,
        };
        let line = line.trim().trim_end_matches('\\').trim();
        if line.is_empty() {
            continue;
        }
        let editable = line
            .strip_prefix("-e ")
            .or_else(|| line.strip_prefix("--editable "))
            .or_else(|| line.strip_prefix("--editable="))
            .map(str::trim);
        let local = editable.unwrap_or(line);
        if local.starts_with("./") || local.starts_with("../") || local == "." {
            out.local_paths.push(local.to_owned());
            continue;
        }
        if line.starts_with('-') {
            continue;
        }
        let requirement = match line.find(" --") {
            Some(at) => &line[..at],
            None => line,
        };
        let requirement =
            parse_requirement(requirement).map_err(|e| ParseError::at_line(e.message, i + 1))?;
        out.requirements.push(requirement);
    }
    Ok(out)
}

/// The package name of a Python folder: its `[project] name`, else its package config's
/// `name`, else, for a folder with only a requirements.txt, the folder's name (normalised).
/// `None` for a uv member without `[project]`: a virtual package, which uv does not build
/// and mono skips as uv does.
pub(crate) fn package_name(
    dir: &RepoPath,
    (pyproject, manifest): &(PythonManifest, RepoPath),
    config: Option<&PackageConfig>,
    uv_member: bool,
) -> Option<Result<PackageName, WorkspaceError>> {
    let config_name = config.and_then(|c| Some((c, c.name.as_ref()?)));
    match (&pyproject.name, config_name) {
        (Some(name), _) => Some(checked_name(manifest, name)),
        (None, Some((config, name))) => Some(checked_name(config.source.path(), &name.value)),
        (None, None) if uv_member => None,
        (None, None) if manifest.file_name() == Some("requirements.txt") => dir
            .file_name()
            .map(|folder| checked_name(manifest, &normalize_name(folder))),
        (None, None) => Some(Err(WorkspaceError::MissingName {
            manifest: manifest.clone(),
            key: "`[project] name`",
            help: "a Python package's pyproject.toml needs `[project]` with a \
                   `name` (or its turbo.toml a `name = \"...\"`)",
        })),
    }
}

/// The packages a Python package depends on: requirements naming a workspace project,
/// `[tool.uv.sources]` with `workspace = true` or a `path`, and local paths in requirements.
pub(crate) fn internal_dependencies(
    dir: &RepoPath,
    pyproject: &PythonManifest,
    lookup: &Lookup<'_>,
) -> Vec<PackageName> {
    let mut out = Vec::new();
    let by_name = |name: &String| lookup.python_names.get(name).map(|n| (*n).clone());
    for requirement in &pyproject.requirements {
        out.extend(by_name(&requirement.name));
    }
    for (source_name, source) in &pyproject.sources {
        if source.workspace {
            out.extend(by_name(source_name));
        }
        if let Some(path) = &source.path {
            out.extend(lookup.by_dir(lookup.resolve(dir, path)));
        }
    }
    for path in &pyproject.local_paths {
        out.extend(lookup.by_dir(lookup.resolve(dir, path)));
    }
    out
}

/// What the default tasks of the Python package in `dir` need to know.
pub(crate) fn package_info(
    root: &AbsPath,
    dir: &RepoPath,
    (pyproject, manifest): &(PythonManifest, RepoPath),
    uv_member: bool,
) -> PythonPackage {
    let abs = root.join_repo(dir);
    let uses_uv = uv_member || pyproject.uses_uv || abs.join("uv.lock").as_path().is_file();
    PythonPackage {
        uv: uses_uv && manifest.file_name() == Some("pyproject.toml"),
        has_tests: has_tests(abs.as_path()),
        ruff: pyproject.dev_names.iter().any(|n| n == "ruff"),
        requirements: requirements_files(root, dir),
    }
}

/// The `requirements*.txt` files directly in a package folder, sorted.
fn requirements_files(root: &AbsPath, dir: &RepoPath) -> Vec<RepoPath> {
    let mut out: Vec<RepoPath> = WalkDir::new(root.join_repo(dir).as_path())
        .min_depth(1)
        .max_depth(1)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| {
            let name = e.file_name().to_str()?;
            (name.starts_with("requirements") && name.ends_with(".txt"))
                .then(|| dir.join(name).ok())
                .flatten()
        })
        .collect();
    out.sort();
    out
}

/// How deep below a package folder [`has_tests`] looks for test files.
const TEST_SEARCH_DEPTH: usize = 9;

/// Whether a Python package folder has tests: a `tests/` or `test/` folder, or a
/// `test_*.py` / `*_test.py` file anywhere below it (hidden folders, virtual environments,
/// `dist`, `build` and `node_modules` not searched; at most [`TEST_SEARCH_DEPTH`] levels).
fn has_tests(dir: &Path) -> bool {
    if dir.join("tests").is_dir() || dir.join("test").is_dir() {
        return true;
    }
    WalkDir::new(dir)
        .min_depth(1)
        .max_depth(TEST_SEARCH_DEPTH)
        .into_iter()
        .filter_entry(|entry| !entry.file_type().is_dir() || !skipped_folder(entry))
        .flatten()
        .any(|entry| {
            let name = entry.file_name().to_string_lossy();
            !entry.file_type().is_dir()
                && name.ends_with(".py")
                && (name.starts_with("test_") || name.ends_with("_test.py"))
        })
}

/// A folder [`has_tests`] does not search: hidden, a virtual environment, build output.
fn skipped_folder(entry: &walkdir::DirEntry) -> bool {
    let name = entry.file_name().to_string_lossy();
    name.starts_with('.')
        || matches!(
            name.as_ref(),
            "venv" | "dist" | "build" | "node_modules" | "__pycache__"
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    #[test_case("Foo_Bar", "foo-bar" ; "underscore and case")]
    #[test_case("foo.._-bar", "foo-bar" ; "runs collapse")]
    #[test_case("acme-lib", "acme-lib" ; "already normal")]
    fn names_are_normalised(name: &str, expected: &str) {
        assert_eq!(normalize_name(name), expected);
    }

    #[test]
    fn requirements_with_extras_specifiers_and_markers() {
        let r = parse_requirement(
            "Requests[Security, socks] >=2.8.1, ==2.8.* ; python_version < \"2.7\"",
        )
        .unwrap();
        assert_eq!(r.name, "requests");
        assert_eq!(r.extras, ["security", "socks"]);
        assert_eq!(r.specifier.as_deref(), Some(">=2.8.1, ==2.8.*"));
        assert_eq!(r.marker.as_deref(), Some("python_version < \"2.7\""));

        let r = parse_requirement("acme_lib").unwrap();
        assert_eq!(
            (r.name.as_str(), r.specifier, r.marker),
            ("acme-lib", None, None)
        );

        let r =
            parse_requirement("pip @ file:///localbuilds/pip-1.3.1.zip ; sys_platform == 'linux'")
                .unwrap();
        assert_eq!(r.url.as_deref(), Some("file:///localbuilds/pip-1.3.1.zip"));
        assert_eq!(r.marker.as_deref(), Some("sys_platform == 'linux'"));

        let r = parse_requirement("name (>=1.0)").unwrap();
        assert_eq!(r.specifier.as_deref(), Some(">=1.0"));
    }

    #[test_case("" ; "empty")]
    #[test_case("-foo" ; "bad start")]
    #[test_case("foo[bar" ; "unclosed extras")]
    #[test_case("foo @" ; "missing url")]
    #[test_case("foo 1.0" ; "bare version")]
    #[test_case("foo ;" ; "empty marker")]
    fn bad_requirements_are_errors(text: &str) {
        assert!(parse_requirement(text).is_err(), "{text}");
    }

    #[test]
    fn pyproject_lists_every_kind_of_dependency() {
        let text = r#"
[project]
name = "Acme_Service"
dependencies = ["acme-lib", "idna>=3"]
[project.optional-dependencies]
fast = ["orjson; python_version >= '3.11'"]
[dependency-groups]
dev = ["pytest>=8", "ruff", { include-group = "other" }]
[tool.uv.sources]
acme-lib = { workspace = true }
Vendored = { path = "../vendored" }
[tool.uv.workspace]
members = ["python/*"]
exclude = ["python/old"]
"#;
        let m = parse_pyproject(text).unwrap();
        assert_eq!(m.name.as_deref(), Some("acme-service"));
        let names: Vec<&str> = m.requirements.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["acme-lib", "idna", "orjson", "pytest", "ruff"]);
        assert_eq!(m.dev_names, ["pytest", "ruff"]);
        assert!(m.uses_uv);
        assert!(m.sources["acme-lib"].workspace);
        assert_eq!(m.sources["vendored"].path.as_deref(), Some("../vendored"));
        assert_eq!(
            m.workspace,
            Some((vec!["python/*".to_owned()], vec!["python/old".to_owned()]))
        );
    }

    #[test]
    fn a_bad_requirement_names_its_line() {
        let err = parse_pyproject("[project]\nname = \"x\"\ndependencies = [\n  \"foo[bar\",\n]\n")
            .unwrap_err();
        assert_eq!(err.line, 4);
        assert!(err.message.contains("never closed"), "{}", err.message);
    }

    #[test]
    fn requirements_txt_lines() {
        let text = "# pinned\nflask==3.0 --hash=sha256:abc\n-r base.txt\n-e ../lib\nIDNA ; python_version>'3'  # why\n\n--index-url https://x\n";
        let m = parse_requirements_txt(text).unwrap();
        let names: Vec<&str> = m.requirements.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["flask", "idna"]);
        assert_eq!(m.local_paths, ["../lib"]);
        let err = parse_requirements_txt("ok\nfoo[\n").unwrap_err();
        assert_eq!(err.line, 2);
    }

    fn package(files: &[&str]) -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        for file in files {
            let path = tmp.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        tmp
    }

    #[test_case(&["tests/__init__.py"], true ; "tests folder")]
    #[test_case(&["src/acme/test_core.py"], true ; "test file below")]
    #[test_case(&["src/acme/core_test.py"], true ; "suffix test file")]
    #[test_case(&["a/b/c/d/e/f/g/h/test_deep.py"], true ; "nine levels down")]
    #[test_case(&["a/b/c/d/e/f/g/h/i/test_deeper.py"], false ; "ten levels down")]
    #[test_case(&["src/acme/core.py", "README.md"], false ; "no test")]
    #[test_case(&[".venv/lib/test_x.py", "venv/test_x.py", "dist/test_x.py"], false ; "environments and output")]
    #[test_case(&["node_modules/x/test_x.py", "build/test_x.py", "__pycache__/test_x.py"], false ; "other skipped folders")]
    fn finds_tests(files: &[&str], expected: bool) {
        let tmp = package(files);
        assert_eq!(has_tests(tmp.path()), expected);
    }

    #[test]
    fn lists_requirements_files_beside_the_manifest() {
        let tmp = package(&[
            "requirements.txt",
            "requirements-dev.txt",
            "sub/requirements.txt",
            "requirements.in",
        ]);
        std::fs::create_dir(tmp.path().join("requirements-dir.txt")).unwrap();
        let root = AbsPath::new(tmp.path()).unwrap();
        let dir = RepoPath::root();
        let files: Vec<String> = requirements_files(&root, &dir)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(files, ["requirements-dev.txt", "requirements.txt"]);
    }
}
