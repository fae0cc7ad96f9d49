//! Expanding workspace globs (`apps/*`, `packages/**`, `!packages/legacy`) into folders.
//!
//! Each pattern is walked from its longest literal prefix and only as deep as it can match,
//! so `apps/*` reads one directory whatever the size of the repository. The walk never
//! enters `node_modules`, hidden folders (`.git`, `.turbo`, ...) unless a pattern names them
//! (literally, or with a part that starts with `.`, as `examples/.*/*`), Cargo's `target`
//! folders (recognised by their `CACHEDIR.TAG`), nor symlinks.

use std::path::Path;
use std::sync::Mutex;

use globset::{Glob, GlobBuilder, GlobMatcher, GlobSet, GlobSetBuilder};
use ignore::{DirEntry, WalkBuilder, WalkState};
use mono_paths::{AbsPath, RepoPath};
use rayon::prelude::*;

/// A pattern that cannot be used, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BadPattern {
    /// Not a valid glob.
    Invalid { pattern: String, message: String },
    /// Leaves the repository (`../x`, `/abs`).
    OutsideRoot { pattern: String },
}

/// Workspace globs, positive and negated (`!`), relative to the repository root.
pub(crate) struct Patterns {
    include: Vec<Include>,
    exclude: GlobSet,
}

struct Include {
    /// The literal leading folders.
    base: RepoPath,
    /// `None` for a literal folder; otherwise the matcher and the deepest level below `base`
    /// that can match (`None` = unbounded, for `**`).
    glob: Option<(GlobMatcher, Option<usize>)>,
    /// Per level below `base`, whether the pattern's part there starts with `.`: only such a
    /// part enters hidden folders (`examples/.*/*`, as pnpm's globs do).
    dot_levels: Vec<bool>,
}

fn glob(pattern: &str) -> Result<Glob, BadPattern> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map_err(|e| BadPattern::Invalid {
            pattern: pattern.to_owned(),
            message: e.kind().to_string(),
        })
}

fn is_meta(component: &str) -> bool {
    component.contains(['*', '?', '[', '{'])
}

/// Normalizes `./apps/*/` to `apps/*`; `None` when it leaves the root.
fn normalize(pattern: &str) -> Option<String> {
    if pattern.starts_with('/') || pattern.contains('\\') {
        return None;
    }
    let mut parts = Vec::new();
    for part in pattern.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            part => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

impl Patterns {
    /// Compiles patterns. Bad ones are returned apart, so the caller can report them and
    /// still use the good ones.
    pub(crate) fn new<'a>(patterns: impl IntoIterator<Item = &'a str>) -> (Self, Vec<BadPattern>) {
        let mut include = Vec::new();
        let mut exclude = GlobSetBuilder::new();
        let mut bad = Vec::new();
        for raw in patterns {
            let (negated, body) = match raw.strip_prefix('!') {
                Some(body) => (true, body),
                None => (false, raw),
            };
            let Some(pattern) = normalize(body) else {
                bad.push(BadPattern::OutsideRoot {
                    pattern: raw.to_owned(),
                });
                continue;
            };
            let compiled = match glob(&pattern) {
                Ok(glob) => glob,
                Err(e) => {
                    bad.push(e);
                    continue;
                }
            };
            if negated {
                exclude.add(compiled);
                continue;
            }
            let parts: Vec<&str> = pattern.split('/').filter(|p| !p.is_empty()).collect();
            let literal = parts.iter().take_while(|p| !is_meta(p)).count();
            let base = RepoPath::new(&parts[..literal].join("/")).expect("normalized above");
            let glob = (literal < parts.len()).then(|| {
                let rest = &parts[literal..];
                let depth = (!rest.iter().any(|p| p.contains("**"))).then_some(rest.len());
                (compiled.compile_matcher(), depth)
            });
            // A level whose pattern starts with `.` (`examples/.*/*`) names hidden folders.
            let dot_levels = parts[literal..]
                .iter()
                .map(|p| p.starts_with('.'))
                .collect();
            include.push(Include {
                base,
                glob,
                dot_levels,
            });
        }
        let exclude = exclude.build().unwrap_or_else(|_| GlobSet::empty());
        (Self { include, exclude }, bad)
    }

    /// Whether a folder is excluded by a `!` pattern.
    fn excluded(&self, dir: &RepoPath) -> bool {
        self.exclude.is_match(dir.as_str())
    }

    /// Every folder (other than the root) that matches a positive pattern and no negated
    /// one, sorted and without duplicates.
    pub(crate) fn expand(&self, root: &AbsPath) -> Vec<RepoPath> {
        let mut dirs: Vec<RepoPath> = self
            .include
            .par_iter()
            .flat_map_iter(|include| {
                let mut found = Vec::new();
                match &include.glob {
                    None => {
                        if root.join_repo(&include.base).as_path().is_dir() {
                            found.push(include.base.clone());
                        }
                    }
                    Some((matcher, depth)) => {
                        let walk_to = Walk {
                            max: *depth,
                            matcher,
                            dot_levels: &include.dot_levels,
                        };
                        walk_to.walk(root, &include.base, &mut found);
                    }
                }
                found
            })
            .filter(|dir| !dir.is_root() && !self.excluded(dir))
            .collect();
        dirs.sort();
        dirs.dedup();
        dirs
    }
}

/// Whether the walk should stay out of a folder.
pub(crate) fn skip(name: &str, path: &Path) -> bool {
    name == "node_modules"
        || name.starts_with('.')
        || (name == "target" && path.join("CACHEDIR.TAG").exists())
}

/// How far a walk goes and what it keeps.
struct Walk<'a> {
    max: Option<usize>,
    matcher: &'a GlobMatcher,
    /// Per level below the base, whether the pattern names hidden folders there.
    dot_levels: &'a [bool],
}

impl Walk<'_> {
    /// Pushes onto `found` every folder below `base` (at most `max` levels down) that the
    /// matcher matches. Folders only, symlinks not followed (but a base that is one is),
    /// unreadable folders passed over.
    ///
    /// The walk is ignore's parallel walker with its filters off, on one thread (the patterns
    /// are walked in parallel already): unlike walkdir, which opens every folder it lists,
    /// it does not open the folders at the last level, so `packages/*` reads one directory.
    fn walk(&self, root: &AbsPath, base: &RepoPath, found: &mut Vec<RepoPath>) {
        let base_path = root.join_repo(base);
        let dot_levels = self.dot_levels.to_vec();
        let walker = WalkBuilder::new(base_path.as_path())
            .standard_filters(false)
            .follow_links(false)
            .min_depth(Some(1))
            .max_depth(self.max)
            .threads(1)
            .filter_entry(move |entry| enters(entry, &dot_levels))
            .build_parallel();
        let matched = Mutex::new(Vec::new());
        walker.run(|| {
            Box::new(|entry| {
                let child = entry.ok().and_then(|entry| {
                    let rel = entry.path().strip_prefix(base_path.as_path()).ok()?;
                    Some(base.join_path(&RepoPath::from_path(rel).ok()?))
                });
                if let Some(child) = child.filter(|c| self.matcher.is_match(c.as_str())) {
                    matched.lock().expect("not poisoned").push(child);
                }
                WalkState::Continue
            })
        });
        found.extend(matched.into_inner().expect("not poisoned"));
    }
}

/// Whether an entry below a pattern's base is a folder the walk lists and enters: not a
/// symlink, a UTF-8 name that can be part of a repo path, and not [`skip`]ped unless the
/// pattern names hidden folders at its level (`dot_levels`).
fn enters(entry: &DirEntry, dot_levels: &[bool]) -> bool {
    if !entry.file_type().is_some_and(|t| t.is_dir()) {
        return false;
    }
    let Some(name) = entry.file_name().to_str() else {
        return false;
    };
    if name.contains('\\') {
        return false;
    }
    let dots = entry
        .depth()
        .checked_sub(1)
        .and_then(|level| dot_levels.get(level))
        .copied()
        .unwrap_or(false);
    (dots && name.starts_with('.')) || !skip(name, entry.path())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(dirs: &[&str]) -> (tempfile::TempDir, AbsPath) {
        let tmp = tempfile::tempdir().unwrap();
        for dir in dirs {
            std::fs::create_dir_all(tmp.path().join(dir)).unwrap();
        }
        let root = AbsPath::new(tmp.path()).unwrap();
        (tmp, root)
    }

    fn expand(root: &AbsPath, patterns: &[&str]) -> Vec<String> {
        let (patterns, bad) = Patterns::new(patterns.iter().copied());
        assert!(bad.is_empty(), "{bad:?}");
        patterns
            .expand(root)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn star_matches_one_level() {
        let (_tmp, root) = tree(&["apps/web/src", "apps/docs", "apps/.hidden", "other"]);
        assert_eq!(expand(&root, &["apps/*"]), ["apps/docs", "apps/web"]);
        assert_eq!(expand(&root, &["./apps/*/"]), ["apps/docs", "apps/web"]);
    }

    #[test]
    fn a_dot_pattern_enters_hidden_folders() {
        let (_tmp, root) = tree(&["examples/.test/a", "examples/.exp/b", "examples/c/d"]);
        assert_eq!(
            expand(&root, &["examples/.*/*"]),
            ["examples/.exp/b", "examples/.test/a"]
        );
        assert_eq!(expand(&root, &["examples/*/*"]), ["examples/c/d"]);
    }

    #[test]
    fn double_star_matches_every_level_but_not_node_modules() {
        let (_tmp, root) = tree(&[
            "packages/a/b",
            "packages/node_modules/x",
            "packages/a/node_modules/y",
        ]);
        assert_eq!(
            expand(&root, &["packages/**"]),
            ["packages/a", "packages/a/b"]
        );
    }

    #[test]
    fn skips_cargo_target_folders() {
        let (tmp, root) = tree(&["crates/a/target/debug", "crates/target"]);
        std::fs::write(tmp.path().join("crates/a/target/CACHEDIR.TAG"), "").unwrap();
        assert_eq!(expand(&root, &["crates/**"]), ["crates/a", "crates/target"]);
    }

    #[test]
    fn negations_and_literals() {
        let (_tmp, root) = tree(&["packages/a", "packages/legacy", "infra", "tools/x"]);
        assert_eq!(
            expand(
                &root,
                &[
                    "packages/*",
                    "!packages/legacy",
                    "infra",
                    "missing",
                    "tools/{x,y}"
                ]
            ),
            ["infra", "packages/a", "tools/x"]
        );
    }

    #[test]
    fn reports_bad_patterns() {
        let (_, bad) = Patterns::new(["../outside", "/abs", "a/[b"]);
        assert_eq!(bad.len(), 3);
        assert_eq!(
            bad[0],
            BadPattern::OutsideRoot {
                pattern: "../outside".into()
            }
        );
        assert!(matches!(bad[2], BadPattern::Invalid { .. }));
    }

    #[test]
    fn root_is_never_a_match() {
        let (_tmp, root) = tree(&["a"]);
        assert_eq!(expand(&root, &[".", "*"]), ["a"]);
    }

    #[test]
    fn symlinked_folders_are_neither_listed_nor_entered() {
        let (tmp, root) = tree(&["apps/web", "elsewhere/inner", "real/x"]);
        std::os::unix::fs::symlink(tmp.path().join("elsewhere"), tmp.path().join("apps/link"))
            .unwrap();
        assert_eq!(expand(&root, &["apps/*"]), ["apps/web"]);
        assert_eq!(expand(&root, &["apps/**"]), ["apps/web"]);
        // A pattern's literal base is a path the user wrote: a symlink there is followed.
        std::os::unix::fs::symlink(tmp.path().join("real"), tmp.path().join("linked")).unwrap();
        assert_eq!(expand(&root, &["linked/*"]), ["linked/x"]);
    }
}
