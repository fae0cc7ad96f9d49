//! Turborepo's `--filter` syntax: which packages a run is about.
//!
//! A filter is, in order: an optional `!` (exclude), an optional `...` (and the packages that
//! depend on the match) with an optional `^` (but not the match itself), a name pattern
//! (`web`, `@scope/*`) and/or a directory (`./apps/*`, `{apps/*}`), and an optional
//! `...` (and the match's dependencies) with an optional `^` before it. Git ranges (`[main]`)
//! are recognised and refused until mono reads git history.

use std::collections::BTreeSet;

use globset::{Glob, GlobMatcher};
use mono_paths::RepoPath;
use mono_task_id::PackageName;
use mono_workspace::PackageGraph;

/// Why a filter cannot be used.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum FilterError {
    /// The filter is empty or malformed.
    #[error("invalid filter `{filter}`: {problem}")]
    #[diagnostic(
        code(mono::filter::invalid),
        help("filters look like `web`, `@scope/*`, `./apps/*`, `web...`, `...web`, `!web`")
    )]
    Invalid {
        /// The filter as given.
        filter: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// A name or directory glob that does not compile.
    #[error("invalid pattern in filter `{filter}`")]
    #[diagnostic(code(mono::filter::pattern))]
    Pattern {
        /// The filter as given.
        filter: String,
        /// The glob error.
        #[source]
        source: globset::Error,
    },
    /// A filter naming one package (no glob) that does not exist.
    #[error("no package found with name `{name}` (filter `{filter}`)")]
    #[diagnostic(code(mono::filter::no_package))]
    NoPackage {
        /// The filter as given.
        filter: String,
        /// The name it looks for.
        name: String,
        /// A close match, or how to list packages.
        #[help]
        help: String,
    },
    /// Git ranges are not read yet.
    #[error("filter `{filter}` uses a git range, which mono does not support yet")]
    #[diagnostic(
        code(mono::filter::git_range),
        help("select packages by name or directory for now (`--filter=web`, `--filter=./apps/*`)")
    )]
    GitRange {
        /// The filter as given.
        filter: String,
    },
}

/// What a filter's pattern matches.
#[derive(Debug, Clone)]
enum Pattern {
    Name(String, GlobMatcher),
    Directory(GlobMatcher),
    Both { name: GlobMatcher, dir: GlobMatcher },
}

/// One parsed `--filter`.
#[derive(Debug, Clone)]
pub struct Filter {
    raw: String,
    exclude: bool,
    dependents: bool,
    dependencies: bool,
    exclude_self: bool,
    pattern: Pattern,
}

impl Filter {
    /// Parses a filter. Directories are relative to `cwd` (repo-relative).
    pub fn parse(raw: &str, cwd: &RepoPath) -> Result<Filter, FilterError> {
        let invalid = |problem| FilterError::Invalid {
            filter: raw.to_owned(),
            problem,
        };
        let mut s = raw.trim();
        let exclude = s.strip_prefix('!').inspect(|rest| s = rest).is_some();
        let mut exclude_self = false;
        let dependents = s.strip_prefix("...").inspect(|rest| s = rest).is_some();
        if dependents {
            if let Some(rest) = s.strip_prefix('^') {
                exclude_self = true;
                s = rest;
            }
        }
        if s.ends_with(']') {
            return Err(FilterError::GitRange {
                filter: raw.to_owned(),
            });
        }
        let dependencies = s.strip_suffix("...").inspect(|rest| s = rest).is_some();
        if dependencies {
            if let Some(rest) = s.strip_suffix('^') {
                exclude_self = true;
                s = rest;
            }
        }
        if s.is_empty() {
            return Err(invalid("it names no package or directory"));
        }
        if s.contains('^') {
            return Err(invalid("`^` only goes with `...` (`web^...`, `...^web`)"));
        }
        let glob = |pattern: &str| {
            Glob::new(pattern)
                .map(|g| g.compile_matcher())
                .map_err(|source| FilterError::Pattern {
                    filter: raw.to_owned(),
                    source,
                })
        };
        let dir_glob = |dir: &str| -> Result<GlobMatcher, FilterError> {
            let dir = cwd
                .resolve(dir)
                .ok_or_else(|| invalid("the directory leaves the repository"))?;
            glob(dir.as_str())
        };
        let pattern = if let Some(open) = s.find('{') {
            let close = s
                .rfind('}')
                .filter(|&c| c > open)
                .ok_or_else(|| invalid("`{` without `}`"))?;
            if close != s.len() - 1 {
                return Err(invalid("text after `}`"));
            }
            let dir_matcher = dir_glob(&s[open + 1..close])?;
            let name = &s[..open];
            if name.is_empty() {
                Pattern::Directory(dir_matcher)
            } else {
                Pattern::Both {
                    name: glob(name)?,
                    dir: dir_matcher,
                }
            }
        } else if s == "." || s.starts_with("./") || s.starts_with("../") || s == ".." {
            let matcher = dir_glob(s)?;
            Pattern::Directory(matcher)
        } else {
            Pattern::Name(s.to_owned(), glob(s)?)
        };
        Ok(Filter {
            raw: raw.to_owned(),
            exclude,
            dependents,
            dependencies,
            exclude_self,
            pattern,
        })
    }

    /// The filter as given.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Whether this filter removes packages (`!`).
    pub fn is_exclude(&self) -> bool {
        self.exclude
    }

    fn matches(&self, graph: &PackageGraph) -> BTreeSet<PackageName> {
        graph
            .packages()
            .filter(|package| match &self.pattern {
                Pattern::Name(literal, matcher) => {
                    package.name.as_str() == literal || matcher.is_match(package.name.as_str())
                }
                Pattern::Directory(matcher) => dir_matches(matcher, &package.dir),
                Pattern::Both { name, dir } => {
                    name.is_match(package.name.as_str()) && dir_matches(dir, &package.dir)
                }
            })
            .map(|package| package.name.clone())
            .collect()
    }

    /// The packages this filter selects, before `!` is applied.
    pub fn select(&self, graph: &PackageGraph) -> BTreeSet<PackageName> {
        let matched = self.matches(graph);
        let mut out = BTreeSet::new();
        for name in &matched {
            if self.dependencies {
                out.extend(graph.transitive_dependencies(name));
            }
            if self.dependents {
                out.extend(graph.transitive_dependents(name));
            }
        }
        if !self.exclude_self {
            out.extend(matched);
        }
        out
    }
}

fn dir_matches(matcher: &GlobMatcher, dir: &RepoPath) -> bool {
    if dir.is_root() {
        matcher.glob().glob().is_empty()
    } else {
        matcher.is_match(dir.as_str())
    }
}

/// The packages selected by several filters: the union of what the including filters select
/// (every package when there are none), minus the union of what the excluding ones select.
///
/// A filter that names one package exactly (no glob) and matches none is an error, as in
/// Turborepo; a glob that matches nothing selects nothing.
pub fn select_packages(
    filters: &[Filter],
    graph: &PackageGraph,
) -> Result<BTreeSet<PackageName>, FilterError> {
    for filter in filters {
        if let Pattern::Name(name, _) = &filter.pattern {
            let is_glob = name.contains(['*', '?', '[', '{']);
            if !is_glob && filter.matches(graph).is_empty() {
                let names: Vec<&str> = graph.packages().map(|p| p.name.as_str()).collect();
                return Err(FilterError::NoPackage {
                    filter: filter.raw.clone(),
                    name: name.clone(),
                    help: match mono_config::did_you_mean(name, &names) {
                        Some(close) => format!("did you mean `{close}`?"),
                        None => "`mono ls` lists the packages".to_owned(),
                    },
                });
            }
        }
    }
    let (excludes, includes): (Vec<_>, Vec<_>) = filters.iter().partition(|f| f.is_exclude());
    let mut selected: BTreeSet<PackageName> = if includes.is_empty() {
        graph.packages().map(|p| p.name.clone()).collect()
    } else {
        includes.iter().flat_map(|f| f.select(graph)).collect()
    };
    for filter in excludes {
        for name in filter.select(graph) {
            selected.remove(&name);
        }
    }
    Ok(selected)
}
