//! Turborepo's `--filter` syntax: which packages a run is about.
//!
//! A filter is, in order: an optional `!` (exclude), an optional `...` (and the packages that
//! depend on the match) with an optional `^` (but not the match itself), a name pattern
//! (`web`, `@scope/*`) and/or a directory (`./apps/*`, `{apps/*}`), and an optional
//! `...` (and the match's dependencies) with an optional `^` before it. A git range in
//! brackets may end the pattern, or stand alone: `[main]` (packages changed since main),
//! `[A...B]` (changed from A to B), `...[main]` (and their dependents), `web...[main]` (web,
//! if it or a package it depends on changed), `{./apps/*}[main]` (changed packages under
//! apps). [`ChangedByRange::detect`] asks git what each range changed (crate::affected).

use std::collections::{BTreeMap, BTreeSet};

use globset::{Glob, GlobBuilder, GlobMatcher};
use mono_paths::RepoPath;
use mono_task_id::PackageName;
use mono_workspace::PackageGraph;

use crate::affected::{AffectedError, ChangeDetector, ChangedPackages};

/// Why a filter cannot be used.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum FilterError {
    /// The filter is empty or malformed.
    #[error("invalid filter `{filter}`: {problem}")]
    #[diagnostic(
        code(mono::filter::invalid),
        help("filters look like `web`, `@scope/*`, `./apps/*`, `web...`, `...web`, `!web`, `[main]`, `...[HEAD^1]`, `[main...my-branch]`")
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
}

/// What a filter's pattern matches.
#[derive(Debug, Clone)]
enum Pattern {
    Name(String, GlobMatcher),
    Directory(GlobMatcher),
    Both {
        name: GlobMatcher,
        dir: GlobMatcher,
    },
    /// Every package (a filter that is only a git range).
    Any,
}

/// A git range of a filter: `[from]` (to the work tree) or `[from...to]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GitRange {
    /// Where the comparison starts (its merge-base with `to`, in fact).
    pub from: String,
    /// Where it ends; `None`: the work tree, uncommitted changes included.
    pub to: Option<String>,
}

impl std::fmt::Display for GitRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.to {
            Some(to) => write!(f, "[{}...{to}]", self.from),
            None => write!(f, "[{}]", self.from),
        }
    }
}

/// The packages each git range of a set of filters changed.
#[derive(Debug, Clone, Default)]
pub struct ChangedByRange {
    ranges: BTreeMap<GitRange, ChangedPackages>,
}

impl ChangedByRange {
    /// For filters without git ranges.
    pub fn none() -> ChangedByRange {
        ChangedByRange::default()
    }

    /// Asks git, once per distinct range of `filters`.
    pub fn detect(
        filters: &[Filter],
        detector: &ChangeDetector<'_>,
    ) -> Result<ChangedByRange, AffectedError> {
        let mut ranges = BTreeMap::new();
        for range in filters.iter().filter_map(|f| f.range.as_ref()) {
            if !ranges.contains_key(range) {
                let changed = detector.changed_packages(&range.from, range.to.as_deref())?;
                ranges.insert(range.clone(), changed);
            }
        }
        Ok(ChangedByRange { ranges })
    }

    /// What each range changed, to report gaps and warnings.
    pub fn iter(&self) -> impl Iterator<Item = (&GitRange, &ChangedPackages)> {
        self.ranges.iter()
    }

    fn changed(&self, range: &GitRange) -> BTreeSet<PackageName> {
        self.ranges
            .get(range)
            .map(ChangedPackages::names)
            .unwrap_or_default()
    }
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
    /// `[ref]` or `[a...b]`.
    range: Option<GitRange>,
    /// `pkg...[ref]`: the matched packages whose dependencies (or themselves) changed.
    range_through_dependencies: bool,
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
        let dependencies = s.strip_suffix("...").inspect(|rest| s = rest).is_some();
        if dependencies {
            if let Some(rest) = s.strip_suffix('^') {
                exclude_self = true;
                s = rest;
            }
        }
        let mut range = None;
        let mut range_through_dependencies = false;
        if let Some(body) = s.strip_suffix(']') {
            let open = body.rfind('[').ok_or_else(|| invalid("`]` without `[`"))?;
            let text = &body[open + 1..];
            let (from, to) = match text.split_once("...") {
                Some((from, to)) => (from, Some(to)),
                None => (text, None),
            };
            if from.is_empty() || to.is_some_and(str::is_empty) {
                return Err(invalid(
                    "a git range is `[REF]` or `[FROM...TO]`, with no empty side",
                ));
            }
            range = Some(GitRange {
                from: from.to_owned(),
                to: to.map(str::to_owned),
            });
            s = &body[..open];
            if let Some(rest) = s.strip_suffix("...") {
                if rest.is_empty() {
                    return Err(invalid(
                        "`...[REF]` after a name needs the name: `web...[main]`",
                    ));
                }
                range_through_dependencies = true;
                s = rest;
            }
        }
        if s.is_empty() && range.is_none() {
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
        // In a directory, `*` stays within one folder (`./libs/*` is the packages directly
        // in libs, as in Turborepo); `**` crosses folders.
        let dir_glob = |dir: &str| -> Result<GlobMatcher, FilterError> {
            let dir = cwd
                .resolve(dir)
                .ok_or_else(|| invalid("the directory leaves the repository"))?;
            GlobBuilder::new(dir.as_str())
                .literal_separator(true)
                .build()
                .map(|g| g.compile_matcher())
                .map_err(|source| FilterError::Pattern {
                    filter: raw.to_owned(),
                    source,
                })
        };
        let pattern = if s.is_empty() {
            Pattern::Any
        } else if let Some(open) = s.find('{') {
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
            range,
            range_through_dependencies,
        })
    }

    /// The filter's git range, if it has one.
    pub fn range(&self) -> Option<&GitRange> {
        self.range.as_ref()
    }

    /// The filter as given.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Whether this filter removes packages (`!`).
    pub fn is_exclude(&self) -> bool {
        self.exclude
    }

    /// The packages the name and directory parts match, ignoring the git range.
    fn pattern_matches(&self, graph: &PackageGraph) -> BTreeSet<PackageName> {
        graph
            .packages()
            .filter(|package| match &self.pattern {
                Pattern::Any => true,
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

    /// The packages the pattern and the git range match together.
    fn matches(&self, graph: &PackageGraph, changes: &ChangedByRange) -> BTreeSet<PackageName> {
        let matched = self.pattern_matches(graph);
        let Some(range) = &self.range else {
            return matched;
        };
        let changed = changes.changed(range);
        if self.range_through_dependencies {
            matched
                .into_iter()
                .filter(|name| {
                    changed.contains(name)
                        || graph
                            .transitive_dependencies(name)
                            .iter()
                            .any(|d| changed.contains(d))
                })
                .collect()
        } else {
            matched.intersection(&changed).cloned().collect()
        }
    }

    /// The packages this filter selects, before `!` is applied. `changes` holds what the
    /// filter's git range changed ([`ChangedByRange::detect`]).
    pub fn select(&self, graph: &PackageGraph, changes: &ChangedByRange) -> BTreeSet<PackageName> {
        let matched = self.matches(graph, changes);
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

/// The package name a mistyped `name` most likely meant: the scoped package it is the
/// unscoped part of (`web` for `@acme/web`), else the closest name by edit distance, of the
/// whole name or of its unscoped part.
fn closest_name<'a>(name: &str, names: &[&'a str]) -> Option<&'a str> {
    fn unscoped(n: &str) -> &str {
        n.rsplit_once('/').map_or(n, |(_, rest)| rest)
    }
    if let Some(scoped) = names.iter().find(|n| unscoped(n) == name && **n != name) {
        return Some(scoped);
    }
    if let Some(close) = mono_config::did_you_mean(name, names) {
        return Some(close);
    }
    let parts: Vec<&str> = names.iter().map(|n| unscoped(n)).collect();
    let part = mono_config::did_you_mean(unscoped(name), &parts)?;
    names.iter().find(|n| unscoped(n) == part).copied()
}

/// Why a selection may not be what the user meant; the run goes on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterWarning {
    /// A glob or folder filter whose pattern matches no package (an exact name is an
    /// error instead, [`FilterError::NoPackage`]).
    #[error("the filter `{filter}` matches no package")]
    Unmatched {
        /// The filter as given.
        filter: String,
    },
    /// Each filter matches, but together they select nothing (`web` with `!web`).
    #[error("no package matches the filters {}", quoted(filters))]
    NothingSelected {
        /// The filters as given.
        filters: Vec<String>,
    },
}

fn quoted(filters: &[String]) -> String {
    filters
        .iter()
        .map(|f| format!("`{f}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What to warn about once `filters` selected `selected`: each glob or folder filter whose
/// pattern (its git range aside) matches no package, or else, when the filters select
/// nothing together and none has a git range, that.
pub fn filter_warnings(
    filters: &[Filter],
    graph: &PackageGraph,
    selected: &BTreeSet<PackageName>,
) -> Vec<FilterWarning> {
    let unmatched: Vec<FilterWarning> = filters
        .iter()
        .filter(|f| !matches!(f.pattern, Pattern::Any) && f.pattern_matches(graph).is_empty())
        .map(|f| FilterWarning::Unmatched {
            filter: f.raw.clone(),
        })
        .collect();
    // A git range that changed nothing is no mistake either.
    let ranged = filters.iter().any(|f| f.range.is_some());
    if !unmatched.is_empty() || !selected.is_empty() || filters.is_empty() || ranged {
        return unmatched;
    }
    vec![FilterWarning::NothingSelected {
        filters: filters.iter().map(|f| f.raw.clone()).collect(),
    }]
}

/// The packages selected by several filters: the union of what the including filters select
/// (every package when there are none), minus the union of what the excluding ones select.
///
/// A filter that names one package exactly (no glob) and matches none is an error, as in
/// Turborepo, with the closest name as a hint; a glob or a folder that matches nothing
/// selects nothing ([`filter_warnings`] says so).
pub fn select_packages(
    filters: &[Filter],
    graph: &PackageGraph,
    changes: &ChangedByRange,
) -> Result<BTreeSet<PackageName>, FilterError> {
    for filter in filters {
        if let Pattern::Name(name, _) = &filter.pattern {
            let is_glob = name.contains(['*', '?', '[', '{']);
            if !is_glob && filter.pattern_matches(graph).is_empty() {
                let names: Vec<&str> = graph.packages().map(|p| p.name.as_str()).collect();
                return Err(FilterError::NoPackage {
                    filter: filter.raw.clone(),
                    name: name.clone(),
                    help: match closest_name(name, &names) {
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
        includes
            .iter()
            .flat_map(|f| f.select(graph, changes))
            .collect()
    };
    for filter in excludes {
        for name in filter.select(graph, changes) {
            selected.remove(&name);
        }
    }
    Ok(selected)
}
