//! Globs relative to a package directory, and the filesystem walk that expands them.
//!
//! Shared by task inputs, outputs and `globalDependencies`. A list of globs is compiled once
//! ([`GlobList::new`]) and applied to any number of packages ([`GlobList::resolve`]), since
//! most tasks of a repository share the same `inputs` and `outputs`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use globset::{Candidate, GlobBuilder, GlobSet, GlobSetBuilder};
use mono_paths::{AbsPath, RepoPath};

use crate::HashError;

/// The prefix that anchors a glob at the repository root instead of the package
/// (Turborepo's `$TURBO_ROOT$/...`).
pub const TURBO_ROOT: &str = "$TURBO_ROOT$";

/// Directories a walk never enters on its own: git's database, and installed packages. A
/// glob whose literal prefix names them (`node_modules/foo/**`) still reaches inside.
const NEVER_ENTERED: &[&str] = &[".git", "node_modules"];

/// Where a glob's path starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Anchor {
    /// The repository root (`$TURBO_ROOT$/...`).
    Root,
    /// The package directory, or the directory `up` levels above it (`../...`).
    Package { up: usize },
}

/// Where a walk for one include glob starts.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Base {
    /// The whole glob is literal: one path to look at, no walk.
    File(String),
    /// The literal directories before the first wildcard: walk below them.
    Dir(String),
}

/// The globs that share one anchor.
#[derive(Clone, Debug)]
struct Group {
    anchor: Anchor,
    /// A glob of the group as written, to name in errors.
    example: String,
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
    /// Directories whose every descendant is excluded (`!dir/**`): the walk skips them.
    prune: Option<GlobSet>,
    bases: Vec<Base>,
}

#[derive(Default)]
struct GroupBuilder {
    example: String,
    include: Option<GlobSetBuilder>,
    exclude: Option<GlobSetBuilder>,
    prune: Option<GlobSetBuilder>,
    bases: Vec<Base>,
}

/// A compiled list of globs: `pattern` includes, `!pattern` excludes, whatever the order.
#[derive(Clone, Debug, Default)]
pub(crate) struct GlobList {
    groups: Vec<Group>,
}

fn has_wildcard(part: &str) -> bool {
    part.contains(['*', '?', '[', '{', '\\'])
}

fn compile(glob: &str, raw: &str) -> Result<globset::Glob, HashError> {
    GlobBuilder::new(glob)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|source| HashError::InvalidGlob {
            glob: raw.to_owned(),
            source,
        })
}

fn build(builder: Option<GlobSetBuilder>, raw: &str) -> Result<Option<GlobSet>, HashError> {
    builder
        .map(|b| {
            b.build().map_err(|source| HashError::InvalidGlob {
                glob: raw.to_owned(),
                source,
            })
        })
        .transpose()
}

impl GlobList {
    /// Compiles `globs`, each relative to the package directory; `!` excludes, `../` climbs
    /// out of the package, `$TURBO_ROOT$/` starts at the repository root. `*` and `?` stop at
    /// `/`; `**` crosses directories.
    pub(crate) fn new<'a>(globs: impl IntoIterator<Item = &'a str>) -> Result<Self, HashError> {
        let mut groups: BTreeMap<Anchor, GroupBuilder> = BTreeMap::new();
        for raw in globs {
            let (negated, body) = match raw.strip_prefix('!') {
                Some(body) => (true, body),
                None => (false, raw),
            };
            let (at_root, body) = match body.strip_prefix(TURBO_ROOT) {
                Some(rest) if rest.is_empty() || rest.starts_with('/') => (true, rest),
                Some(_) => {
                    return Err(HashError::UnsupportedGlob {
                        glob: raw.to_owned(),
                    })
                }
                None => (false, body),
            };
            let mut up = 0;
            let mut parts: Vec<&str> = Vec::new();
            for part in body.split('/') {
                match part {
                    "" | "." => {}
                    ".." => match parts.last() {
                        None if at_root => {
                            return Err(HashError::GlobEscapesRepo {
                                glob: raw.to_owned(),
                                package: RepoPath::root(),
                            })
                        }
                        None => up += 1,
                        Some(last) if !has_wildcard(last) => {
                            parts.pop();
                        }
                        Some(_) => {
                            return Err(HashError::UnsupportedGlob {
                                glob: raw.to_owned(),
                            })
                        }
                    },
                    part => parts.push(part),
                }
            }
            if parts.is_empty() {
                return Err(HashError::UnsupportedGlob {
                    glob: raw.to_owned(),
                });
            }
            let glob = parts.join("/");
            let anchor = if at_root {
                Anchor::Root
            } else {
                Anchor::Package { up }
            };
            let group = groups.entry(anchor).or_default();
            if group.example.is_empty() {
                group.example = raw.to_owned();
            }
            let compiled = compile(&glob, raw)?;
            if negated {
                group
                    .exclude
                    .get_or_insert_with(GlobSetBuilder::new)
                    .add(compiled);
                let prune = if glob == "**" {
                    Some("**")
                } else {
                    glob.strip_suffix("/**")
                };
                if let Some(prune) = prune {
                    let compiled = compile(prune, raw)?;
                    group
                        .prune
                        .get_or_insert_with(GlobSetBuilder::new)
                        .add(compiled);
                }
            } else {
                group
                    .include
                    .get_or_insert_with(GlobSetBuilder::new)
                    .add(compiled);
                let literal = parts.iter().take_while(|p| !has_wildcard(p)).count();
                group.bases.push(if literal == parts.len() {
                    Base::File(glob)
                } else {
                    Base::Dir(parts[..literal].join("/"))
                });
            }
        }
        let groups = groups
            .into_iter()
            .map(|(anchor, mut g)| {
                g.bases.sort_unstable();
                g.bases.dedup();
                Ok(Group {
                    anchor,
                    include: build(g.include, &g.example)?,
                    exclude: build(g.exclude, &g.example)?,
                    prune: build(g.prune, &g.example)?,
                    bases: g.bases,
                    example: g.example,
                })
            })
            .collect::<Result<_, HashError>>()?;
        Ok(GlobList { groups })
    }

    /// Whether any glob includes files (as opposed to only excluding them).
    pub(crate) fn has_includes(&self) -> bool {
        self.groups.iter().any(|g| g.include.is_some())
    }

    /// Anchors the globs at `package`, a repository-relative directory.
    pub(crate) fn resolve(&self, package: &RepoPath) -> Result<Resolved<'_>, HashError> {
        let groups = self
            .groups
            .iter()
            .map(|group| {
                let dir = match group.anchor {
                    Anchor::Root => String::new(),
                    Anchor::Package { up } => {
                        let mut dir = package.clone();
                        for _ in 0..up {
                            dir = dir.parent().ok_or_else(|| HashError::GlobEscapesRepo {
                                glob: group.example.clone(),
                                package: package.clone(),
                            })?;
                        }
                        dir.as_str().to_owned()
                    }
                };
                Ok((dir, group))
            })
            .collect::<Result<_, HashError>>()?;
        Ok(Resolved { groups })
    }
}

/// The part of `path` below `dir`, if it lies strictly inside it.
fn below<'p>(dir: &str, path: &'p str) -> Option<&'p str> {
    if dir.is_empty() {
        return Some(path);
    }
    path.strip_prefix(dir)?.strip_prefix('/')
}

fn join(dir: &str, rest: &str) -> String {
    if dir.is_empty() {
        rest.to_owned()
    } else {
        format!("{dir}/{rest}")
    }
}

/// A [`GlobList`] anchored at one package and owning its globs: answers "would a walk
/// from these globs find this path?" without touching the disk (restoring a cache entry
/// asks it of every path an archive holds).
#[derive(Clone, Debug)]
pub(crate) struct Anchored {
    groups: Vec<(String, Group)>,
}

impl Anchored {
    pub(crate) fn new(list: &GlobList, package: &RepoPath) -> Result<Self, HashError> {
        let resolved = list.resolve(package)?;
        Ok(Anchored {
            groups: resolved
                .groups
                .into_iter()
                .map(|(dir, group)| (dir, group.clone()))
                .collect(),
        })
    }

    /// Whether [`Resolved::walk`] could yield `path` (a file or symlink there): an include
    /// glob matches, no exclude glob does, and the path lies at or below one of the walks'
    /// start folders without passing through `.git` or `node_modules` below it.
    pub(crate) fn could_yield(&self, path: &str) -> bool {
        let any = |set: fn(&Group) -> Option<&GlobSet>| {
            self.groups
                .iter()
                .any(|(dir, group)| match (set(group), below(dir, path)) {
                    (Some(set), Some(rest)) => set.is_match_candidate(&Candidate::new(rest)),
                    _ => false,
                })
        };
        if !any(|g| g.include.as_ref()) || any(|g| g.exclude.as_ref()) {
            return false;
        }
        self.groups.iter().any(|(dir, group)| {
            group.bases.iter().any(|base| match base {
                Base::File(file) => join(dir, file) == path,
                Base::Dir(start) => {
                    let start = if start.is_empty() {
                        dir.clone()
                    } else {
                        join(dir, start)
                    };
                    below(&start, path).is_some_and(|rest| {
                        let mut parts: Vec<&str> = rest.split('/').collect();
                        parts.pop();
                        !parts.iter().any(|part| NEVER_ENTERED.contains(part))
                    })
                }
            })
        })
    }
}

/// A [`GlobList`] anchored at one package.
pub(crate) struct Resolved<'a> {
    /// Each group with its anchor directory, repository-relative.
    groups: Vec<(String, &'a Group)>,
}

impl Resolved<'_> {
    fn any(&self, path: &str, set: impl Fn(&Group) -> Option<&GlobSet>) -> bool {
        self.groups
            .iter()
            .any(|(dir, group)| match (set(group), below(dir, path)) {
                (Some(set), Some(rest)) => set.is_match_candidate(&Candidate::new(rest)),
                _ => false,
            })
    }

    /// Whether an include glob matches the repository path `path`.
    pub(crate) fn is_included(&self, path: &str) -> bool {
        self.any(path, |g| g.include.as_ref())
    }

    /// Whether an exclude glob matches the repository path `path`.
    pub(crate) fn is_excluded(&self, path: &str) -> bool {
        self.any(path, |g| g.exclude.as_ref())
    }

    fn prunes(&self, dir: &str) -> bool {
        self.any(dir, |g| g.prune.as_ref())
    }

    /// Appends to `out` every file or symbolic link under `root` that an include glob
    /// matches and no exclude glob does.
    ///
    /// Walks start at each glob's literal prefix (`src/**/*.ts` walks `src/` only) and never
    /// enter `.git`, `node_modules` or a directory of `skip_dirs` (sorted repository paths)
    /// below that prefix; symbolic links are not followed. Ignore files play no part.
    pub(crate) fn walk(
        &self,
        root: &AbsPath,
        skip_dirs: &[&str],
        out: &mut Vec<RepoPath>,
    ) -> Result<(), HashError> {
        let mut files = Vec::new();
        let mut dirs = Vec::new();
        for (dir, group) in &self.groups {
            for base in &group.bases {
                match base {
                    Base::File(path) => files.push(join(dir, path)),
                    Base::Dir(path) if path.is_empty() => dirs.push(dir.clone()),
                    Base::Dir(path) => dirs.push(join(dir, path)),
                }
            }
        }
        dirs.sort_unstable();
        dirs.dedup();
        // A walk of `a` already covers `a/b`.
        let mut walks: Vec<&str> = Vec::with_capacity(dirs.len());
        for dir in &dirs {
            let covered = walks
                .iter()
                .any(|w| w.is_empty() || below(w, dir).is_some());
            if !covered {
                walks.push(dir);
            }
        }
        for file in &files {
            let Ok(meta) = fs::symlink_metadata(root.as_path().join(file)) else {
                continue;
            };
            let kind = meta.file_type();
            if (kind.is_file() || kind.is_symlink()) && self.accepts(file) {
                out.push(repo_path(file)?);
            }
        }
        for dir in walks {
            self.walk_dir(root.as_path(), dir, skip_dirs, out)?;
        }
        Ok(())
    }

    fn accepts(&self, path: &str) -> bool {
        self.is_included(path) && !self.is_excluded(path)
    }

    /// Walks below the repository directory `dir` (a symbolic link to a folder there is
    /// followed; no link below it is).
    fn walk_dir(
        &self,
        root: &Path,
        dir: &str,
        skip_dirs: &[&str],
        out: &mut Vec<RepoPath>,
    ) -> Result<(), HashError> {
        let enters = |entry: &walkdir::DirEntry| {
            if !entry.file_type().is_dir() {
                return true;
            }
            let Some(rel) = relative(root, entry.path()) else {
                // Reported when the entry is yielded.
                return true;
            };
            let name = entry.file_name().to_str().unwrap_or_default();
            !NEVER_ENTERED.contains(&name)
                && skip_dirs.binary_search(&rel.as_ref()).is_err()
                && !self.prunes(&rel)
        };
        let walk = walkdir::WalkDir::new(root.join(dir))
            .min_depth(1)
            .into_iter()
            .filter_entry(enters);
        for entry in walk {
            let entry = match entry {
                Ok(entry) => entry,
                Err(err) => {
                    let at_root = err.depth() == 0;
                    let path = err.path().and_then(|path| relative(root, path));
                    let path = RepoPath::new(path.as_deref().unwrap_or(dir)).unwrap_or_default();
                    let source = std::io::Error::from(err);
                    // A glob whose directory does not exist matches nothing.
                    if at_root
                        && matches!(
                            source.kind(),
                            ErrorKind::NotFound | ErrorKind::NotADirectory
                        )
                    {
                        return Ok(());
                    }
                    return Err(HashError::ReadDir { path, source });
                }
            };
            let Some(rel) = relative(root, entry.path()) else {
                let path = entry
                    .path()
                    .strip_prefix(root)
                    .unwrap_or(entry.path())
                    .to_string_lossy()
                    .replace(std::path::MAIN_SEPARATOR, "/");
                return Err(HashError::InvalidPath {
                    source: mono_paths::RepoPathError::NotUtf8(path.clone()),
                    path,
                });
            };
            let file_type = entry.file_type();
            if (file_type.is_file() || file_type.is_symlink()) && self.accepts(&rel) {
                out.push(repo_path(&rel)?);
            }
        }
        Ok(())
    }
}

/// `path` (below `root`) as a `/`-separated repository path; `None` when it is not UTF-8.
fn relative<'a>(root: &Path, path: &'a Path) -> Option<Cow<'a, str>> {
    let rel = path.strip_prefix(root).ok()?.to_str()?;
    Some(if std::path::MAIN_SEPARATOR == '/' {
        Cow::Borrowed(rel)
    } else {
        Cow::Owned(rel.replace(std::path::MAIN_SEPARATOR, "/"))
    })
}

fn repo_path(path: &str) -> Result<RepoPath, HashError> {
    RepoPath::new(path).map_err(|source| HashError::InvalidPath {
        path: path.to_owned(),
        source,
    })
}

/// Expands `globs` under `root` from `package`: every file or symbolic link that matches.
/// Sorted, no duplicates.
pub(crate) fn expand(
    root: &AbsPath,
    package: &RepoPath,
    globs: &GlobList,
    skip_dirs: &[&str],
) -> Result<Vec<RepoPath>, HashError> {
    let mut out = Vec::new();
    globs.resolve(package)?.walk(root, skip_dirs, &mut out)?;
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use test_case::test_case;

    use super::*;

    fn list(globs: &[&str]) -> GlobList {
        GlobList::new(globs.iter().copied()).unwrap()
    }

    #[test_case(&["src/**"], "apps/web", "apps/web/src/a/b.ts", true ; "double star")]
    #[test_case(&["src/*.ts"], "apps/web", "apps/web/src/a/b.ts", false ; "star stops at slash")]
    #[test_case(&["src/**/*.ts"], "apps/web", "apps/web/src/b.ts", true ; "double star matches no dir")]
    #[test_case(&["../shared/**"], "apps/web", "apps/shared/x.ts", true ; "parent dir")]
    #[test_case(&["../shared/**"], "apps/web", "apps/web/shared/x.ts", false ; "parent dir is not own dir")]
    #[test_case(&["$TURBO_ROOT$/tsconfig.json"], "apps/web", "tsconfig.json", true ; "turbo root")]
    #[test_case(&["./src/../lib/*.rs"], "crates/a", "crates/a/lib/x.rs", true ; "normalized")]
    #[test_case(&["*.md"], "", "README.md", true ; "root package")]
    #[test_case(&["*.md"], "", ".hidden.md", true ; "dotfiles match")]
    fn includes(globs: &[&str], package: &str, path: &str, expected: bool) {
        let list = list(globs);
        let resolved = list.resolve(&RepoPath::new(package).unwrap()).unwrap();
        assert_eq!(resolved.is_included(path), expected);
    }

    #[test]
    fn exclusions_apply_whatever_the_order() {
        let list = list(&["!dist/**", "**", "!*.log"]);
        let resolved = list.resolve(&RepoPath::new("p").unwrap()).unwrap();
        assert!(resolved.accepts("p/src/a.ts"));
        assert!(!resolved.accepts("p/dist/a.js"));
        assert!(!resolved.accepts("p/x.log"));
        assert!(resolved.prunes("p/dist"));
        assert!(!resolved.prunes("p/src"));
    }

    #[test_case("../../x" ; "too many parents")]
    fn escaping_the_repo_is_an_error(glob: &str) {
        let list = list(&[glob]);
        let err = list.resolve(&RepoPath::new("apps").unwrap()).err().unwrap();
        assert!(matches!(err, HashError::GlobEscapesRepo { .. }), "{err}");
        assert!(err.to_string().contains("apps"), "{err}");
    }

    #[test_case("" ; "empty")]
    #[test_case("!" ; "bare negation")]
    #[test_case("src/*/../x" ; "parent after wildcard")]
    #[test_case("$TURBO_ROOT$/../x" ; "root escape")]
    #[test_case("src/[" ; "bad class")]
    fn rejects(glob: &str) {
        assert!(GlobList::new([glob]).is_err());
    }

    #[test]
    fn bases_start_at_the_literal_prefix() {
        let list = list(&["src/**/*.ts", "src/lib/**", "README.md", "**/*.md"]);
        let group = &list.groups[0];
        assert_eq!(
            group.bases,
            [
                Base::File("README.md".into()),
                Base::Dir(String::new()),
                Base::Dir("src".into()),
                Base::Dir("src/lib".into()),
            ]
        );
    }

    #[cfg(unix)]
    #[test]
    fn walks_skip_nested_folders_and_never_entered_ones_and_follow_only_their_start() {
        let dir = tempfile::tempdir().unwrap();
        let root = AbsPath::new(dir.path()).unwrap();
        for file in [
            "p/src/a.ts",
            "p/nested/b.ts",
            "p/.git/c.ts",
            "p/node_modules/d.ts",
            "p/dist/e.ts",
            "shared/s.ts",
        ] {
            let path = dir.path().join(file);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, "x").unwrap();
        }
        std::os::unix::fs::symlink("../shared", dir.path().join("p/linked")).unwrap();
        std::os::unix::fs::symlink("../shared", dir.path().join("p/src/inner")).unwrap();
        let found = |globs: &[&str], skip: &[&str]| {
            let found = expand(&root, &RepoPath::new("p").unwrap(), &list(globs), skip).unwrap();
            found
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            found(&["**", "!dist/**"], &["p/nested"]),
            ["p/linked", "p/src/a.ts", "p/src/inner"]
        );
        // A glob's literal start is followed when it is a link; nothing below it is.
        assert_eq!(found(&["linked/**"], &[]), ["p/linked/s.ts"]);
        assert_eq!(found(&["node_modules/**"], &[]), ["p/node_modules/d.ts"]);

        use std::os::unix::ffi::OsStrExt;
        let odd = std::ffi::OsStr::from_bytes(b"p/src/\xff.ts");
        fs::write(dir.path().join(odd), "x").unwrap();
        let err = expand(&root, &RepoPath::new("p").unwrap(), &list(&["src/**"]), &[]).unwrap_err();
        assert!(matches!(err, HashError::InvalidPath { .. }), "{err}");
    }
}
