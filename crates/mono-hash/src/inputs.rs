use mono_paths::{AbsPath, RepoPath};

use crate::glob::GlobList;
use crate::HashError;

/// The input that stands for the default set of files: `inputs = ["$TURBO_DEFAULT$", ...]`.
pub const TURBO_DEFAULT: &str = "$TURBO_DEFAULT$";

/// Files of a package that are inputs whenever `inputs` is given, if they exist (and no `!`
/// glob excludes them), even if git ignores them: the manifests that hold a task's command
/// or its dependencies, and the package's own mono/Turborepo config. Turborepo adds
/// `package.json` and `turbo.json`; mono adds the manifests of the other languages it knows.
pub const ALWAYS_INPUTS: &[&str] = &[
    "package.json",
    "turbo.json",
    "turbo.jsonc",
    "turbo.toml",
    "Cargo.toml",
    "go.mod",
];

/// Every file of the repository that counts, sorted: what `mono_scm::Scm::list_files`
/// returns, kept sorted so that a package's files are found by binary search.
#[derive(Clone, Debug, Default)]
pub struct RepoFiles {
    files: Vec<RepoPath>,
}

impl RepoFiles {
    /// Wraps a list of files; sorts and deduplicates it unless it already is.
    pub fn new(mut files: Vec<RepoPath>) -> Self {
        if !files.windows(2).all(|w| w[0] < w[1]) {
            files.sort_unstable();
            files.dedup();
        }
        RepoFiles { files }
    }

    /// All files, sorted.
    pub fn as_slice(&self) -> &[RepoPath] {
        &self.files
    }

    /// How many files there are.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The files inside `dir`, sorted. Strings that start with `dir/` are contiguous in
    /// sorted order, so this is two binary searches.
    pub fn under(&self, dir: &RepoPath) -> &[RepoPath] {
        under(&self.files, dir.as_str())
    }

    /// The files of the package at `dir`: those inside it, less those inside any of
    /// `nested` (the directories of packages nested in it; others are ignored), sorted.
    pub fn package_files<'a>(
        &'a self,
        dir: &RepoPath,
        nested: &[RepoPath],
    ) -> impl Iterator<Item = &'a RepoPath> + 'a {
        let files = self.under(dir);
        let mut holes: Vec<std::ops::Range<usize>> = nested
            .iter()
            .filter(|n| n.starts_with(dir) && *n != dir)
            .map(|n| range_under(files, n.as_str()))
            .filter(|range| !range.is_empty())
            .collect();
        holes.sort_unstable_by_key(|range| range.start);
        let mut segments = Vec::with_capacity(holes.len() + 1);
        let mut next = 0;
        for hole in holes {
            if hole.start > next {
                segments.push(&files[next..hole.start]);
            }
            next = next.max(hole.end);
        }
        segments.push(&files[next.min(files.len())..]);
        segments.into_iter().flatten()
    }
}

impl From<Vec<RepoPath>> for RepoFiles {
    fn from(files: Vec<RepoPath>) -> Self {
        RepoFiles::new(files)
    }
}

fn under<'a>(files: &'a [RepoPath], dir: &str) -> &'a [RepoPath] {
    &files[range_under(files, dir)]
}

/// The index range of the files inside `dir`: those that start with `dir/`, which are
/// contiguous in sorted order.
fn range_under(files: &[RepoPath], dir: &str) -> std::ops::Range<usize> {
    if dir.is_empty() {
        return 0..files.len();
    }
    let prefix = format!("{dir}/");
    let start = files.partition_point(|f| f.as_str() < prefix.as_str());
    let len = files[start..].partition_point(|f| f.as_str().starts_with(&prefix));
    start..start + len
}

/// A task's `inputs`, compiled once and applied to any number of packages.
///
/// Turborepo's semantics:
///
/// 1. No `inputs`, or an empty list: the default set, every file of the package that git
///    does not ignore (see [`RepoFiles`]).
/// 2. `inputs` given: only the files the globs match, found by walking the filesystem, so
///    they include git-ignored files (`.env`, generated code) when a glob names them; plus
///    [`ALWAYS_INPUTS`].
/// 3. `$TURBO_DEFAULT$` among them: the default set is added to the matches.
/// 4. `!glob`, wherever it stands, removes files from all of the above.
///
/// Globs are relative to the package directory; `../` climbs out of it and `$TURBO_ROOT$/`
/// starts at the repository root. Files of nested packages never count: the default set
/// leaves them out, and a walk does not enter their directories (nor `.git` or
/// `node_modules`) unless a glob's literal prefix is inside them.
#[derive(Clone, Debug)]
pub struct InputGlobs {
    default: bool,
    globs: GlobList,
}

impl InputGlobs {
    /// Compiles a task's `inputs`; `[]` means the default set.
    pub fn new<S: AsRef<str>>(inputs: &[S]) -> Result<Self, HashError> {
        if inputs.is_empty() {
            return Ok(InputGlobs::default_set());
        }
        let mut default = false;
        let mut globs = Vec::with_capacity(inputs.len() + ALWAYS_INPUTS.len());
        for input in inputs {
            match input.as_ref() {
                TURBO_DEFAULT => default = true,
                negated if negated.strip_prefix('!') == Some(TURBO_DEFAULT) => {
                    return Err(HashError::UnsupportedGlob {
                        glob: negated.to_owned(),
                    })
                }
                glob => globs.push(glob),
            }
        }
        globs.extend_from_slice(ALWAYS_INPUTS);
        Ok(InputGlobs {
            default,
            globs: GlobList::new(globs)?,
        })
    }

    /// The default set alone: what a task without `inputs` hashes.
    pub fn default_set() -> Self {
        InputGlobs {
            default: true,
            globs: GlobList::default(),
        }
    }

    /// Whether the default set is part of the inputs.
    pub fn includes_default(&self) -> bool {
        self.default
    }

    /// The input files of the package at `package_dir`, sorted, repository-relative.
    ///
    /// `files` is every file of the repository that git does not ignore; `nested` the
    /// directories of the packages nested inside this one (others are ignored). Walks the
    /// filesystem under `root` only when a glob includes files.
    pub fn select(
        &self,
        root: &AbsPath,
        files: &RepoFiles,
        package_dir: &RepoPath,
        nested: &[RepoPath],
    ) -> Result<Vec<RepoPath>, HashError> {
        let resolved = self.globs.resolve(package_dir)?;
        let mut out = Vec::new();
        if self.default {
            out.extend(
                files
                    .package_files(package_dir, nested)
                    .filter(|f| !resolved.is_excluded(f.as_str()))
                    .cloned(),
            );
        }
        if self.globs.has_includes() {
            let mut skip: Vec<&str> = nested
                .iter()
                .filter(|n| n.starts_with(package_dir) && *n != package_dir)
                .map(RepoPath::as_str)
                .collect();
            skip.sort_unstable();
            resolved.walk(root, &skip, &mut out)?;
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;

    use tempfile::TempDir;
    use test_case::test_case;

    use super::*;

    fn paths(list: &[&str]) -> Vec<RepoPath> {
        list.iter().map(|p| RepoPath::new(p).unwrap()).collect()
    }

    fn names(files: &[RepoPath]) -> Vec<&str> {
        files.iter().map(RepoPath::as_str).collect()
    }

    fn repo_files() -> RepoFiles {
        RepoFiles::new(paths(&[
            "package.json",
            "apps/web/package.json",
            "apps/web/src/a.ts",
            "apps/web/README.md",
            "apps/web/nested/package.json",
            "apps/web/nested/x.ts",
            "apps/web-admin/package.json",
            "apps/web.js",
            "apps/webby/x",
        ]))
    }

    #[test]
    fn under_finds_exactly_the_directory() {
        let files = repo_files();
        assert_eq!(
            names(files.under(&RepoPath::new("apps/web").unwrap())),
            [
                "apps/web/README.md",
                "apps/web/nested/package.json",
                "apps/web/nested/x.ts",
                "apps/web/package.json",
                "apps/web/src/a.ts",
            ]
        );
        assert_eq!(files.under(&RepoPath::root()).len(), files.len());
        assert!(files.under(&RepoPath::new("apps/we").unwrap()).is_empty());
    }

    #[test]
    fn package_files_leave_out_nested_packages() {
        let files = repo_files();
        let web = RepoPath::new("apps/web").unwrap();
        let nested = paths(&["apps/web/nested", "apps/web-admin", "elsewhere"]);
        let got: Vec<&str> = files
            .package_files(&web, &nested)
            .map(RepoPath::as_str)
            .collect();
        assert_eq!(
            got,
            [
                "apps/web/README.md",
                "apps/web/package.json",
                "apps/web/src/a.ts"
            ]
        );
        let root: Vec<&str> = files
            .package_files(&RepoPath::root(), &paths(&["apps/web", "apps/web-admin"]))
            .map(RepoPath::as_str)
            .collect();
        assert_eq!(root, ["apps/web.js", "apps/webby/x", "package.json"]);
    }

    fn write(root: &Path, path: &str) {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, "x").unwrap();
    }

    /// A package `pkg` with a nested package, a git-ignored `.env` and `dist/`, and a
    /// `node_modules`; `RepoFiles` lists what git would.
    fn tree() -> (TempDir, AbsPath, RepoFiles) {
        let dir = TempDir::new().unwrap();
        let root = dir.path();
        let listed = [
            "pkg/package.json",
            "pkg/README.md",
            "pkg/src/a.ts",
            "pkg/src/b.test.ts",
            "pkg/sub/package.json",
            "pkg/sub/c.ts",
            "shared/tsconfig.json",
            "tsconfig.json",
        ];
        for file in listed {
            write(root, file);
        }
        for ignored in [
            "pkg/.env",
            "pkg/dist/out.js",
            "pkg/node_modules/dep/index.ts",
        ] {
            write(root, ignored);
        }
        let abs = AbsPath::new(root).unwrap();
        (dir, abs, RepoFiles::new(paths(&listed)))
    }

    #[test_case(&[], &["pkg/README.md", "pkg/package.json", "pkg/src/a.ts", "pkg/src/b.test.ts"] ; "default set")]
    #[test_case(&["$TURBO_DEFAULT$", "!README.md"], &["pkg/package.json", "pkg/src/a.ts", "pkg/src/b.test.ts"] ; "default less readme")]
    #[test_case(&["src/**", "!**/*.test.ts"], &["pkg/package.json", "pkg/src/a.ts"] ; "globs plus always inputs")]
    #[test_case(&[".env"], &["pkg/.env", "pkg/package.json"] ; "git-ignored file named by a glob")]
    #[test_case(&["$TURBO_DEFAULT$", ".env"], &["pkg/.env", "pkg/README.md", "pkg/package.json", "pkg/src/a.ts", "pkg/src/b.test.ts"] ; "default plus ignored")]
    #[test_case(&["**/*.ts"], &["pkg/package.json", "pkg/src/a.ts", "pkg/src/b.test.ts"] ; "walk skips nested packages and node_modules")]
    #[test_case(&["sub/*.ts"], &["pkg/package.json", "pkg/sub/c.ts"] ; "a literal prefix enters a nested package")]
    #[test_case(&["node_modules/dep/*.ts"], &["pkg/node_modules/dep/index.ts", "pkg/package.json"] ; "a literal prefix enters node_modules")]
    #[test_case(&["../shared/*.json", "$TURBO_ROOT$/tsconfig.json"], &["pkg/package.json", "shared/tsconfig.json", "tsconfig.json"] ; "outside the package")]
    #[test_case(&["src/**", "!package.json"], &["pkg/src/a.ts", "pkg/src/b.test.ts"] ; "exclusions remove always inputs")]
    #[test_case(&["dist"], &["pkg/package.json"] ; "a directory name matches no file")]
    fn selects(inputs: &[&str], expected: &[&str]) {
        let (_dir, root, files) = tree();
        let globs = InputGlobs::new(inputs).unwrap();
        let nested = paths(&["pkg/sub"]);
        let got = globs
            .select(&root, &files, &RepoPath::new("pkg").unwrap(), &nested)
            .unwrap();
        assert_eq!(names(&got), expected);
    }

    #[test]
    fn negated_default_is_an_error() {
        assert!(InputGlobs::new(&["!$TURBO_DEFAULT$"]).is_err());
    }
}
