use mono_paths::{AbsPath, RepoPath};

use crate::glob::{self, GlobList};
use crate::HashError;

/// A task's `outputs`, compiled once and expanded in any number of packages.
///
/// Globs are relative to the package directory (`../` and `$TURBO_ROOT$/` as for inputs);
/// `!glob` excludes. Ignore files play no part, since outputs are usually git-ignored. Only
/// files and symbolic links are matched (links are not followed): `dist` names a file called
/// `dist`, `dist/**` everything below the directory. Walks never enter `.git`, nor
/// `node_modules` unless a glob's literal prefix is inside it.
#[derive(Clone, Debug)]
pub struct OutputGlobs {
    globs: GlobList,
}

impl OutputGlobs {
    /// Compiles a task's `outputs`.
    pub fn new<S: AsRef<str>>(globs: &[S]) -> Result<Self, HashError> {
        Ok(OutputGlobs {
            globs: GlobList::new(globs.iter().map(AsRef::as_ref))?,
        })
    }

    /// The existing files of the package at `package_dir` that the globs match, sorted,
    /// repository-relative.
    pub fn expand(
        &self,
        root: &AbsPath,
        package_dir: &RepoPath,
    ) -> Result<Vec<RepoPath>, HashError> {
        glob::expand(root, package_dir, &self.globs, &[])
    }
}

/// A task's `outputs` anchored at its package: tells whether a path is one of the task's
/// possible outputs, as [`OutputGlobs::expand`] would find it, without touching the disk.
///
/// Restoring a cache entry asks it of every path the archive holds, so that an entry can
/// only write what the task itself could have produced (docs/security.md).
#[derive(Clone, Debug)]
pub struct OutputMatcher {
    anchored: glob::Anchored,
}

impl OutputMatcher {
    /// Whether `path` (repository-relative) is a file or symlink that expanding the
    /// outputs in this package could find: an include glob matches it, no `!` glob does,
    /// and it lies below a glob's literal start folder without passing through `.git` or
    /// `node_modules` below that folder.
    pub fn matches(&self, path: &RepoPath) -> bool {
        self.anchored.could_yield(path.as_str())
    }
}

impl OutputGlobs {
    /// The matcher of these outputs in the package at `package_dir`.
    pub fn matcher(&self, package_dir: &RepoPath) -> Result<OutputMatcher, HashError> {
        Ok(OutputMatcher {
            anchored: glob::Anchored::new(&self.globs, package_dir)?,
        })
    }
}

/// The existing files that `globs` (a task's `outputs`, relative to `package_dir`) match:
/// [`OutputGlobs::new`] then [`OutputGlobs::expand`].
pub fn expand_outputs<S: AsRef<str>>(
    root: &AbsPath,
    package_dir: &RepoPath,
    globs: &[S],
) -> Result<Vec<RepoPath>, HashError> {
    OutputGlobs::new(globs)?.expand(root, package_dir)
}

/// The files that `globalDependencies` globs (relative to the repository root, `!` excludes)
/// match, sorted. Like Turborepo, git-ignored files count (`.env` is the usual example);
/// `.git` and `node_modules` are not walked unless a glob's literal prefix is inside them.
pub fn expand_global_dependencies<S: AsRef<str>>(
    root: &AbsPath,
    globs: &[S],
) -> Result<Vec<RepoPath>, HashError> {
    let globs = GlobList::new(globs.iter().map(AsRef::as_ref))?;
    glob::expand(root, &RepoPath::root(), &globs, &[])
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;

    use tempfile::TempDir;

    use super::*;

    fn write(root: &Path, path: &str) {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, "x").unwrap();
    }

    fn names(files: &[RepoPath]) -> Vec<&str> {
        files.iter().map(RepoPath::as_str).collect()
    }

    fn tree() -> (TempDir, AbsPath) {
        let dir = TempDir::new().unwrap();
        let root = dir.path();
        for file in [
            ".env",
            ".gitignore",
            "apps/web/.env.local",
            "apps/web/.next/server/page.js",
            "apps/web/.next/cache/big.bin",
            "apps/web/dist/index.js",
            "apps/web/dist/types/index.d.ts",
            "apps/web/src/index.ts",
            "apps/web/node_modules/.cache/x",
            "node_modules/pkg/.env.local",
        ] {
            write(root, file);
        }
        fs::write(root.join(".gitignore"), "dist\n.next\n.env*\n").unwrap();
        let abs = AbsPath::new(root).unwrap();
        (dir, abs)
    }

    #[test]
    fn expands_outputs_ignoring_gitignore_with_negations() {
        let (_dir, root) = tree();
        let web = RepoPath::new("apps/web").unwrap();
        let got = expand_outputs(&root, &web, &["dist/**", ".next/**", "!.next/cache/**"]).unwrap();
        assert_eq!(
            names(&got),
            [
                "apps/web/.next/server/page.js",
                "apps/web/dist/index.js",
                "apps/web/dist/types/index.d.ts",
            ]
        );
    }

    #[test]
    fn missing_output_dirs_match_nothing() {
        let (_dir, root) = tree();
        let web = RepoPath::new("apps/web").unwrap();
        assert!(expand_outputs(&root, &web, &["build/**"])
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_directory_name_alone_matches_no_file() {
        let (_dir, root) = tree();
        let web = RepoPath::new("apps/web").unwrap();
        assert!(expand_outputs(&root, &web, &["dist"]).unwrap().is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_matched_not_followed() {
        let (dir, root) = tree();
        std::os::unix::fs::symlink("../src", dir.path().join("apps/web/dist/src")).unwrap();
        let web = RepoPath::new("apps/web").unwrap();
        let got = expand_outputs(&root, &web, &["dist/**"]).unwrap();
        assert!(names(&got).contains(&"apps/web/dist/src"));
        assert!(!names(&got).iter().any(|p| p.ends_with("index.ts")));
    }

    #[test]
    fn the_matcher_agrees_with_the_expansion() {
        let (_dir, root) = tree();
        let web = RepoPath::new("apps/web").unwrap();
        let globs = ["dist/**", ".next/**", "!.next/cache/**", "../../README.md"];
        let found = expand_outputs(&root, &web, &globs).unwrap();
        let matcher = OutputGlobs::new(&globs).unwrap().matcher(&web).unwrap();
        for path in &found {
            assert!(matcher.matches(path), "{path}");
        }
        for path in [
            "apps/web/.next/cache/big.bin",
            "apps/web/src/index.ts",
            "apps/web/dist",
            "apps/web/.env.local",
            "apps/web/dist/node_modules/x.js",
            "apps/web/dist/.git/hooks/post-checkout",
            "apps/other/dist/index.js",
            "dist/index.js",
            "README.md.bak",
        ] {
            let path = RepoPath::new(path).unwrap();
            assert!(!matcher.matches(&path), "{path}");
        }
        assert!(matcher.matches(&RepoPath::new("README.md").unwrap()));
        assert!(matcher.matches(&RepoPath::new("apps/web/dist/new/file.js").unwrap()));
        let literal = OutputGlobs::new(&["node_modules/.cache/out/**"])
            .unwrap()
            .matcher(&web)
            .unwrap();
        assert!(literal.matches(&RepoPath::new("apps/web/node_modules/.cache/out/a").unwrap()));
    }

    #[test]
    fn global_dependencies_include_ignored_files_but_not_node_modules() {
        let (_dir, root) = tree();
        let got = expand_global_dependencies(&root, &["**/.env*", ".gitignore"]).unwrap();
        assert_eq!(names(&got), [".env", ".gitignore", "apps/web/.env.local"]);
    }
}
