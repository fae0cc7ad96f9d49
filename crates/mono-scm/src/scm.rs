use mono_paths::{AbsPath, RepoPath};

use crate::git::Git;
use crate::{manual, ScmError};

/// How [`Scm`] sees the repository.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScmKind {
    /// A git work tree; files come from `git ls-files`.
    Git,
    /// No git work tree, or no `git` binary: files come from a filesystem walk that honours
    /// `.gitignore` files.
    Manual,
}

/// The repository as source control sees it.
///
/// Made once per run by [`Scm::discover`]. Every path it returns is a [`RepoPath`] relative to
/// the root it was discovered from (the mono repository root, which may be a subdirectory of
/// the git work tree).
#[derive(Clone, Debug)]
pub struct Scm {
    root: AbsPath,
    backend: Backend,
}

#[derive(Clone, Debug)]
enum Backend {
    Git(Git),
    Manual,
}

impl Scm {
    /// Looks at `root`: a git work tree if `git rev-parse` finds one there, otherwise a plain
    /// directory. Never fails: a missing `git` binary also falls back to [`ScmKind::Manual`].
    pub fn discover(root: &AbsPath) -> Scm {
        let backend = match Git::discover(root) {
            Some(git) => Backend::Git(git),
            None => Backend::Manual,
        };
        Scm {
            root: root.clone(),
            backend,
        }
    }

    /// Treats `root` as a plain directory, even inside a git work tree.
    pub fn manual(root: &AbsPath) -> Scm {
        Scm {
            root: root.clone(),
            backend: Backend::Manual,
        }
    }

    /// The repository root every returned path is relative to.
    pub fn root(&self) -> &AbsPath {
        &self.root
    }

    /// Whether git or a filesystem walk answers.
    pub fn kind(&self) -> ScmKind {
        match self.backend {
            Backend::Git(_) => ScmKind::Git,
            Backend::Manual => ScmKind::Manual,
        }
    }

    /// The top of the git work tree, if any (the root or one of its parents).
    pub fn git_root(&self) -> Option<&AbsPath> {
        match &self.backend {
            Backend::Git(git) => Some(git.toplevel()),
            Backend::Manual => None,
        }
    }

    /// Every file under the root that git does not ignore, sorted, relative to the root.
    ///
    /// In a git work tree, one `git ls-files` gives:
    ///
    /// 1. the tracked files (the index), whatever their state in the work tree;
    /// 2. plus the untracked files that `.gitignore`, `.git/info/exclude` and the user's
    ///    `core.excludesFile` do not ignore;
    /// 3. less the tracked files deleted from the work tree, the skip-worktree entries of a
    ///    sparse checkout, submodules and untracked nested repositories (directories, not
    ///    files).
    ///
    /// Symbolic links are files here. Outside git, a walk of the root that honours the
    /// `.gitignore` files inside it gives the same set for a tree without tracked-but-ignored
    /// files. Call it once per run and partition the result by package: it is one process
    /// spawn and one pass over the index.
    pub fn list_files(&self) -> Result<Vec<RepoPath>, ScmError> {
        match &self.backend {
            Backend::Git(git) => git.list_files(),
            Backend::Manual => manual::list_files(&self.root),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;
    use std::process::Command;

    use tempfile::TempDir;

    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        let status = Command::new("git")
            .args(args)
            .current_dir(dir)
            // The test's own repository, not whatever repository runs the tests.
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "mono")
            .env("GIT_AUTHOR_EMAIL", "mono@example.com")
            .env("GIT_COMMITTER_NAME", "mono")
            .env("GIT_COMMITTER_EMAIL", "mono@example.com")
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?} failed");
    }

    fn write(root: &Path, path: &str, contents: &str) {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }

    fn abs(dir: &TempDir) -> AbsPath {
        AbsPath::new(dir.path().canonicalize().unwrap()).unwrap()
    }

    fn names(files: &[RepoPath]) -> Vec<&str> {
        files.iter().map(RepoPath::as_str).collect()
    }

    /// A repository with committed, modified, deleted, untracked and ignored files.
    fn repo() -> TempDir {
        let dir = TempDir::new().unwrap();
        let root = dir.path();
        write(root, ".gitignore", "dist/\n*.log\n");
        write(root, "package.json", "{}");
        write(root, "apps/web/package.json", "{}");
        write(root, "apps/web/src/index.ts", "export {}");
        write(root, "apps/web/deleted.ts", "gone");
        write(root, "packages/ui/.gitignore", "generated.ts\n");
        write(root, "packages/ui/button.ts", "button");
        git(root, &["init", "-q"]);
        git(root, &["add", "."]);
        git(root, &["commit", "-q", "-m", "init"]);
        write(root, "apps/web/src/index.ts", "export const changed = 1");
        fs::remove_file(root.join("apps/web/deleted.ts")).unwrap();
        write(root, "apps/web/src/new.ts", "untracked");
        write(root, "apps/web/dist/out.js", "ignored");
        write(root, "apps/web/debug.log", "ignored");
        write(
            root,
            "packages/ui/generated.ts",
            "ignored by a nested .gitignore",
        );
        dir
    }

    const EXPECTED: &[&str] = &[
        ".gitignore",
        "apps/web/package.json",
        "apps/web/src/index.ts",
        "apps/web/src/new.ts",
        "package.json",
        "packages/ui/.gitignore",
        "packages/ui/button.ts",
    ];

    #[test]
    fn lists_tracked_and_untracked_files_git_does_not_ignore() {
        let dir = repo();
        let scm = Scm::discover(&abs(&dir));
        assert_eq!(scm.kind(), ScmKind::Git);
        assert_eq!(scm.git_root(), Some(&abs(&dir)));
        assert_eq!(names(&scm.list_files().unwrap()), EXPECTED);
    }

    #[test]
    fn tracked_files_stay_listed_even_if_ignored_later() {
        let dir = repo();
        write(dir.path(), ".gitignore", "dist/\n*.log\npackage.json\n");
        let files = Scm::discover(&abs(&dir)).list_files().unwrap();
        assert!(names(&files).contains(&"apps/web/package.json"));
    }

    #[test]
    fn a_subdirectory_root_lists_only_its_files_relative_to_itself() {
        let dir = repo();
        let root = abs(&dir).join("apps/web");
        let scm = Scm::discover(&root);
        assert_eq!(scm.kind(), ScmKind::Git);
        assert_eq!(scm.git_root(), Some(&abs(&dir)));
        assert_eq!(
            names(&scm.list_files().unwrap()),
            ["package.json", "src/index.ts", "src/new.ts"]
        );
    }

    #[test]
    fn skips_submodules_and_nested_repositories() {
        let dir = repo();
        let nested = dir.path().join("vendor/lib");
        fs::create_dir_all(&nested).unwrap();
        git(&nested, &["init", "-q"]);
        write(&nested, "lib.c", "int x;");
        let files = Scm::discover(&abs(&dir)).list_files().unwrap();
        assert_eq!(names(&files), EXPECTED);
    }

    #[test]
    fn skips_a_real_submodule() {
        let dir = repo();
        let upstream = TempDir::new().unwrap();
        write(upstream.path(), "lib.c", "int x;");
        git(upstream.path(), &["init", "-q"]);
        git(upstream.path(), &["add", "."]);
        git(upstream.path(), &["commit", "-q", "-m", "lib"]);
        let url = upstream.path().to_str().unwrap();
        git(
            dir.path(),
            &[
                "-c",
                "protocol.file.allow=always",
                "submodule",
                "add",
                "-q",
                url,
                "vendor/lib",
            ],
        );
        let files = Scm::discover(&abs(&dir)).list_files().unwrap();
        let mut expected = EXPECTED.to_vec();
        expected.insert(1, ".gitmodules");
        assert_eq!(names(&files), expected);
    }

    #[cfg(unix)]
    #[test]
    fn lists_symlinks_as_files() {
        let dir = repo();
        std::os::unix::fs::symlink("apps", dir.path().join("link")).unwrap();
        let files = Scm::discover(&abs(&dir)).list_files().unwrap();
        assert!(names(&files).contains(&"link"));
        let manual = Scm::manual(&abs(&dir)).list_files().unwrap();
        assert!(names(&manual).contains(&"link"));
    }

    #[test]
    fn falls_back_to_a_walk_outside_git() {
        let dir = repo();
        fs::remove_dir_all(dir.path().join(".git")).unwrap();
        let scm = Scm::discover(&abs(&dir));
        assert_eq!(scm.kind(), ScmKind::Manual);
        assert_eq!(scm.git_root(), None);
        assert_eq!(names(&scm.list_files().unwrap()), EXPECTED);
    }

    #[test]
    fn manual_walk_matches_git_on_the_same_tree() {
        let dir = repo();
        let git_files = Scm::discover(&abs(&dir)).list_files().unwrap();
        let walked = Scm::manual(&abs(&dir)).list_files().unwrap();
        assert_eq!(git_files, walked);
    }

    #[test]
    fn an_empty_directory_has_no_files() {
        let dir = TempDir::new().unwrap();
        assert!(Scm::discover(&abs(&dir)).list_files().unwrap().is_empty());
    }
}
