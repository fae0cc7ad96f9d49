use mono_paths::{AbsPath, RepoPath};

use crate::git::Git;
use crate::{manual, ScmError};

/// How [`Scm`] sees the repository.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScmKind {
    /// A git work tree; files come from `git ls-files`.
    Git,
    /// No git work tree, no `git` binary, or a root that the enclosing repository ignores:
    /// files come from a filesystem walk that honours the `.gitignore` files from the root
    /// down.
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
    pub(crate) backend: Backend,
}

#[derive(Clone, Debug)]
pub(crate) enum Backend {
    Git(Git),
    /// A walk; `ignored_by` is the top of the git work tree that ignores the root, if that is
    /// why.
    Manual {
        ignored_by: Option<AbsPath>,
    },
}

impl Scm {
    /// Looks at `root`: a git work tree if `git rev-parse` finds one there, otherwise a plain
    /// directory. Never fails: a missing `git` binary also falls back to [`ScmKind::Manual`].
    ///
    /// Git answers only for what it can see. When the work tree git finds ignores the root
    /// itself (a copy written to an ignored `out/full` of another repository, a checkout in
    /// an ignored `vendor/`), `git ls-files` would list nothing there, and every task would
    /// hash no input: the root is then walked as a plain directory, so the files (and the
    /// hashes) are the same as in a checkout of its own.
    pub fn discover(root: &AbsPath) -> Scm {
        let backend = match Git::discover(root) {
            Some(git) => match git.ignores_root() {
                Ok(true) => Backend::Manual {
                    ignored_by: Some(git.toplevel().clone()),
                },
                // A git that cannot tell still lists the files, as it always did.
                Ok(false) | Err(_) => Backend::Git(git),
            },
            None => Backend::Manual { ignored_by: None },
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
            backend: Backend::Manual { ignored_by: None },
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
            Backend::Manual { .. } => ScmKind::Manual,
        }
    }

    /// The top of the git work tree, if any (the root or one of its parents), when git
    /// answers for the root.
    pub fn git_root(&self) -> Option<&AbsPath> {
        match &self.backend {
            Backend::Git(git) => Some(git.toplevel()),
            Backend::Manual { .. } => None,
        }
    }

    /// The top of the enclosing git work tree that ignores the root, when that is why the
    /// files come from a walk.
    pub fn ignored_by(&self) -> Option<&AbsPath> {
        match &self.backend {
            Backend::Manual { ignored_by } => ignored_by.as_ref(),
            Backend::Git(_) => None,
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
    /// Symbolic links are files here. Where git cannot say which files belong to the
    /// project, a walk of the root that honours the `.gitignore` files inside it, and skips
    /// nested repositories as git does, gives the same set for a tree without
    /// tracked-but-ignored files: outside git, where git ignores the root
    /// ([`Scm::discover`]), and where the root lies below the top of the work tree and git
    /// tracks nothing under it (a project copied or cloned into another repository's
    /// folder, whose ignore rules are that repository's, not the project's). Call it once per run and partition the result by package:
    /// it is one process spawn and one pass over the index.
    pub fn list_files(&self) -> Result<Vec<RepoPath>, ScmError> {
        self.list(true)
    }

    /// [`Scm::list_files`] less one check: tracked files deleted from the work tree may be
    /// listed. For a caller that `lstat`s every listed file anyway and treats a missing one
    /// as absent (the hasher: `FileHasher::hash_inputs`), this saves a second `lstat` of
    /// every tracked file.
    pub fn list_files_unverified(&self) -> Result<Vec<RepoPath>, ScmError> {
        self.list(false)
    }

    fn list(&self, verify_present: bool) -> Result<Vec<RepoPath>, ScmError> {
        match &self.backend {
            Backend::Git(git) => match git.list_files(verify_present)? {
                Some(files) => Ok(files),
                // Git tracks nothing under the root: a project inside another repository.
                None => manual::list_files(&self.root),
            },
            Backend::Manual { .. } => manual::list_files(&self.root),
        }
    }
}

/// What git tracks under the root: see [`Scm::tracked_files`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrackedFiles {
    /// Files and symbolic links in the index, sorted, relative to the root, whether or not
    /// they are in the work tree.
    pub files: Vec<RepoPath>,
    /// Submodules (whole work trees of their own), sorted, relative to the root.
    pub submodules: Vec<RepoPath>,
}

impl Scm {
    /// The files git tracks under the root (the index, deleted files included) and the
    /// submodules; empty outside git. Restoring a cache entry never overwrites them
    /// (docs/security.md).
    pub fn tracked_files(&self) -> Result<TrackedFiles, ScmError> {
        match &self.backend {
            Backend::Git(git) => git.tracked_files(),
            Backend::Manual { .. } => Ok(TrackedFiles::default()),
        }
    }
}

/// The refs tried, in order, for the default branch that `--affected` compares with.
pub const DEFAULT_BRANCHES: &[&str] = &[
    "refs/remotes/origin/HEAD",
    "refs/remotes/origin/main",
    "refs/heads/main",
    "refs/heads/master",
];

/// Why history cannot say which files changed. Callers treat every package as changed and
/// warn with this message: guessing "nothing changed" would skip work silently.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HistoryGap {
    /// The root is not in a git work tree, or git cannot run.
    #[error("{root} is not a git work tree, so mono cannot tell what changed")]
    NotGit {
        /// The repository root.
        root: AbsPath,
    },
    /// The git work tree around the root ignores it.
    #[error(
        "{root} is ignored by the git repository at {git_root}, so mono cannot tell what changed"
    )]
    Ignored {
        /// The repository root.
        root: AbsPath,
        /// The top of the work tree that ignores it.
        git_root: AbsPath,
    },
    /// A ref or commit that does not exist.
    #[error("the git ref `{rev}` does not exist{}", shallow_note(*shallow))]
    UnknownRef {
        /// The ref as given.
        rev: String,
        /// Whether the repository is a shallow clone (the likely cause).
        shallow: bool,
    },
    /// Two commits without a common ancestor in the history at hand.
    #[error("`{base}` and `{head}` have no common ancestor{}", shallow_note(*shallow))]
    NoMergeBase {
        /// The base as given.
        base: String,
        /// The head as given.
        head: String,
        /// Whether the repository is a shallow clone (the likely cause).
        shallow: bool,
    },
    /// None of [`DEFAULT_BRANCHES`] exists.
    #[error("no default branch to compare with (tried origin/HEAD, origin/main, main, master)")]
    NoDefaultBranch,
}

fn shallow_note(shallow: bool) -> &'static str {
    if shallow {
        " in this shallow clone (fetch more history: `git fetch --unshallow`, or `fetch-depth: 0` in CI)"
    } else {
        ""
    }
}

/// What changed between two points of history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Changes {
    /// These files changed; nothing else did.
    Files(ChangedFiles),
    /// History cannot tell; treat everything as changed.
    Unknown(HistoryGap),
}

/// The files that changed, and the two ends of the comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangedFiles {
    /// The changed files, relative to the root, sorted.
    pub files: Vec<RepoPath>,
    /// The commit the comparison starts from (the merge-base), a full hash.
    pub from: String,
    /// The commit it ends at, a full hash; `None`: the work tree.
    pub to: Option<String>,
}

impl Scm {
    /// The files that changed from `base` to `head` (a ref or commit), or to the work tree
    /// when `head` is `None`.
    ///
    /// As in Turborepo, the comparison starts at the merge-base of `base` and `head` (or
    /// `HEAD`), so that what happened on the base branch since the branch point does not
    /// count. Against the work tree it covers committed, staged, unstaged, deleted and
    /// untracked (not ignored) files; a rename counts as both paths. Outside git, with an
    /// unknown ref, or without a common ancestor (a shallow clone), the answer is
    /// [`Changes::Unknown`].
    pub fn changed_files(&self, base: &str, head: Option<&str>) -> Result<Changes, ScmError> {
        let git = match &self.backend {
            Backend::Git(git) => git,
            Backend::Manual { .. } => return Ok(Changes::Unknown(self.no_history())),
        };
        let unknown = |rev: &str| {
            Changes::Unknown(HistoryGap::UnknownRef {
                rev: rev.to_owned(),
                shallow: git.is_shallow(),
            })
        };
        let Some(base_commit) = git.resolve_commit(base)? else {
            return Ok(unknown(base));
        };
        let head_name = head.unwrap_or("HEAD");
        let Some(head_commit) = git.resolve_commit(head_name)? else {
            return Ok(unknown(head_name));
        };
        let Some(merge_base) = git.merge_base(&base_commit, &head_commit)? else {
            return Ok(Changes::Unknown(HistoryGap::NoMergeBase {
                base: base.to_owned(),
                head: head_name.to_owned(),
                shallow: git.is_shallow(),
            }));
        };
        let to = head.map(|_| head_commit.clone());
        let files = git.changed_files(&merge_base, to.as_deref())?;
        Ok(Changes::Files(ChangedFiles {
            files,
            from: merge_base,
            to,
        }))
    }

    /// The default branch `--affected` compares with: the first of [`DEFAULT_BRANCHES`]
    /// that exists, as a short ref name (`origin/main`, `main`).
    pub fn default_branch(&self) -> Result<Result<String, HistoryGap>, ScmError> {
        let git = match &self.backend {
            Backend::Git(git) => git,
            Backend::Manual { .. } => return Ok(Err(self.no_history())),
        };
        Ok(match git.first_existing_ref(DEFAULT_BRANCHES)? {
            Some(full) => Ok(full
                .strip_prefix("refs/remotes/")
                .or_else(|| full.strip_prefix("refs/heads/"))
                .unwrap_or(&full)
                .to_owned()),
            None => Err(HistoryGap::NoDefaultBranch),
        })
    }

    /// Why a walked root has no history.
    fn no_history(&self) -> HistoryGap {
        match self.ignored_by() {
            Some(git_root) => HistoryGap::Ignored {
                root: self.root.clone(),
                git_root: git_root.clone(),
            },
            None => HistoryGap::NotGit {
                root: self.root.clone(),
            },
        }
    }

    /// The folder git runs hooks from (`core.hooksPath` honoured); `None` outside git.
    pub fn hooks_dir(&self) -> Result<Option<AbsPath>, ScmError> {
        match &self.backend {
            Backend::Git(git) => git.hooks_dir().map(Some),
            Backend::Manual { .. } => Ok(None),
        }
    }

    /// The content of `path` (relative to the root) at `rev`; `None` when that commit has
    /// no such file, or outside git.
    pub fn file_at(&self, rev: &str, path: &RepoPath) -> Result<Option<Vec<u8>>, ScmError> {
        match &self.backend {
            Backend::Git(git) => git.show_file(rev, path),
            Backend::Manual { .. } => Ok(None),
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
    fn unverified_listing_keeps_deleted_tracked_files() {
        let dir = repo();
        let scm = Scm::discover(&abs(&dir));
        let unverified = scm.list_files_unverified().unwrap();
        assert!(names(&unverified).contains(&"apps/web/deleted.ts"));
        let mut expected = EXPECTED.to_vec();
        expected.insert(1, "apps/web/deleted.ts");
        assert_eq!(names(&unverified), expected);
        assert_eq!(names(&scm.list_files().unwrap()), EXPECTED);
    }

    #[test]
    fn tracked_files_are_the_index_with_deleted_files() {
        let dir = repo();
        let tracked = Scm::discover(&abs(&dir)).tracked_files().unwrap();
        assert_eq!(
            names(&tracked.files),
            [
                ".gitignore",
                "apps/web/deleted.ts",
                "apps/web/package.json",
                "apps/web/src/index.ts",
                "package.json",
                "packages/ui/.gitignore",
                "packages/ui/button.ts",
            ]
        );
        assert!(tracked.submodules.is_empty());
        let web = Scm::discover(&abs(&dir).join("apps/web"))
            .tracked_files()
            .unwrap();
        assert_eq!(
            names(&web.files),
            ["deleted.ts", "package.json", "src/index.ts"]
        );
        let plain = TempDir::new().unwrap();
        assert_eq!(
            Scm::manual(&abs(&plain)).tracked_files().unwrap(),
            TrackedFiles::default()
        );
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
    fn a_root_the_enclosing_repository_ignores_is_walked() {
        // An outer repository ignores `out/`; a project copied to `out/full` (no `.git` of
        // its own) lists the same files as in a checkout of its own.
        let outer = TempDir::new().unwrap();
        write(outer.path(), ".gitignore", "out/\n");
        git(outer.path(), &["init", "-q"]);
        let project = repo();
        fs::remove_dir_all(project.path().join(".git")).unwrap();
        let full = outer.path().join("out/full");
        copy(project.path(), &full);
        let root = abs(&outer).join("out/full");
        let scm = Scm::discover(&root);
        assert_eq!(scm.kind(), ScmKind::Manual);
        assert_eq!(scm.ignored_by(), Some(&abs(&outer)));
        assert_eq!(scm.git_root(), None);
        assert_eq!(names(&scm.list_files().unwrap()), EXPECTED);
        assert!(matches!(
            scm.changed_files("main", None).unwrap(),
            Changes::Unknown(HistoryGap::Ignored { .. })
        ));
        // A folder inside the ignored one is ignored too.
        let deeper = Scm::discover(&root.join("apps/web"));
        assert_eq!(deeper.ignored_by(), Some(&abs(&outer)));
        // Not ignored, but not tracked either: the outer repository's rules (here, `*.ts`)
        // are not the project's, so the folder is still walked.
        write(outer.path(), ".gitignore", "*.ts\n");
        let scm = Scm::discover(&root);
        assert_eq!(scm.kind(), ScmKind::Git);
        assert_eq!(scm.ignored_by(), None);
        assert_eq!(names(&scm.list_files().unwrap()), EXPECTED);
        // Once added to the outer repository, it is part of it: git answers, with its rules.
        git(outer.path(), &["add", "out/full"]);
        let listed = Scm::discover(&root).list_files().unwrap();
        assert!(
            !names(&listed).contains(&"apps/web/src/index.ts"),
            "{listed:?}"
        );
        assert!(names(&listed).contains(&"package.json"), "{listed:?}");
    }

    #[test]
    fn the_walk_skips_nested_repositories_as_git_does() {
        let dir = repo();
        let nested = dir.path().join("vendor/lib");
        fs::create_dir_all(&nested).unwrap();
        git(&nested, &["init", "-q"]);
        write(&nested, "lib.c", "int x;");
        // A submodule's or a linked worktree's `.git` is a file.
        write(
            dir.path(),
            "vendor/sub/.git",
            "gitdir: ../../.git/modules/sub",
        );
        write(dir.path(), "vendor/sub/sub.c", "int y;");
        let walked = Scm::manual(&abs(&dir)).list_files().unwrap();
        assert_eq!(names(&walked), EXPECTED);
    }

    fn copy(from: &Path, to: &Path) {
        fs::create_dir_all(to).unwrap();
        for entry in fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                fs::copy(entry.path(), target).unwrap();
            }
        }
    }

    #[test]
    fn an_empty_directory_has_no_files() {
        let dir = TempDir::new().unwrap();
        assert!(Scm::discover(&abs(&dir)).list_files().unwrap().is_empty());
    }

    fn changed(scm: &Scm, base: &str, head: Option<&str>) -> Vec<String> {
        match scm.changed_files(base, head).unwrap() {
            Changes::Files(changed) => changed
                .files
                .iter()
                .map(|f| f.as_str().to_owned())
                .collect(),
            Changes::Unknown(gap) => panic!("unexpected gap: {gap}"),
        }
    }

    /// `repo()` committed on `main`, then a branch `feature` with one commit.
    fn branched() -> TempDir {
        let dir = repo();
        let root = dir.path();
        git(root, &["branch", "-q", "-M", "main"]);
        git(root, &["add", "-A"]);
        git(root, &["commit", "-q", "-m", "second"]);
        git(root, &["checkout", "-q", "-b", "feature"]);
        write(root, "packages/ui/button.ts", "button v2");
        git(
            root,
            &["mv", "apps/web/package.json", "apps/web/manifest.json"],
        );
        git(root, &["commit", "-q", "-am", "feature"]);
        dir
    }

    #[test]
    fn changed_files_cover_commits_renames_and_the_work_tree() {
        let dir = branched();
        let root = dir.path();
        let scm = Scm::discover(&abs(&dir));
        assert_eq!(
            changed(&scm, "main", None),
            [
                "apps/web/manifest.json",
                "apps/web/package.json",
                "packages/ui/button.ts"
            ]
        );
        // Staged, unstaged, deleted and untracked, on top of the commits.
        write(root, "package.json", "{\"x\":1}");
        write(root, "apps/web/staged.ts", "staged");
        git(root, &["add", "apps/web/staged.ts"]);
        fs::remove_file(root.join(".gitignore")).unwrap();
        write(root, "packages/ui/untracked.ts", "new");
        assert_eq!(
            changed(&scm, "main", None),
            [
                ".gitignore",
                "apps/web/debug.log",
                "apps/web/dist/out.js",
                "apps/web/manifest.json",
                "apps/web/package.json",
                "apps/web/staged.ts",
                "package.json",
                "packages/ui/button.ts",
                "packages/ui/untracked.ts",
            ]
        );
        // Between two commits the work tree does not count.
        assert_eq!(
            changed(&scm, "main", Some("feature")),
            [
                "apps/web/manifest.json",
                "apps/web/package.json",
                "packages/ui/button.ts"
            ]
        );
    }

    #[test]
    fn changed_files_start_at_the_merge_base() {
        let dir = branched();
        let root = dir.path();
        git(root, &["checkout", "-q", "main"]);
        write(
            root,
            "apps/web/src/index.ts",
            "changed on main after the branch point",
        );
        git(root, &["commit", "-q", "-am", "main moves on"]);
        git(root, &["checkout", "-q", "feature"]);
        let scm = Scm::discover(&abs(&dir));
        assert!(!changed(&scm, "main", None).contains(&"apps/web/src/index.ts".to_owned()));
    }

    #[test]
    fn a_subdirectory_root_sees_its_own_changes_relative_to_itself() {
        let dir = branched();
        let scm = Scm::discover(&abs(&dir).join("packages"));
        assert_eq!(changed(&scm, "main", None), ["ui/button.ts"]);
    }

    #[test]
    fn unknown_refs_and_missing_history_are_gaps_not_errors() {
        let dir = branched();
        let scm = Scm::discover(&abs(&dir));
        assert_eq!(
            scm.changed_files("no-such-branch", None).unwrap(),
            Changes::Unknown(HistoryGap::UnknownRef {
                rev: "no-such-branch".into(),
                shallow: false
            })
        );
        let manual = Scm::manual(&abs(&dir));
        assert!(matches!(
            manual.changed_files("main", None).unwrap(),
            Changes::Unknown(HistoryGap::NotGit { .. })
        ));
        // In a shallow clone of both branch tips, after main moved on, the branch point is
        // missing: no merge-base.
        git(dir.path(), &["checkout", "-q", "main"]);
        write(dir.path(), "package.json", "{\"main\":2}");
        git(dir.path(), &["commit", "-q", "-am", "main moves on"]);
        let clone = TempDir::new().unwrap();
        let url = format!("file://{}", dir.path().display());
        git(
            clone.path(),
            &["clone", "-q", "--depth=1", "--no-single-branch", &url, "c"],
        );
        let cloned = Scm::discover(&abs(&clone).join("c"));
        let gap = cloned.changed_files("origin/feature", Some("origin/main"));
        match gap.unwrap() {
            Changes::Unknown(HistoryGap::NoMergeBase { shallow: true, .. }) => {}
            other => panic!("expected a shallow gap, got {other:?}"),
        }
    }

    #[test]
    fn default_branch_prefers_origin_then_main_then_master() {
        let dir = branched();
        let scm = Scm::discover(&abs(&dir));
        assert_eq!(scm.default_branch().unwrap(), Ok("main".to_owned()));
        git(dir.path(), &["branch", "-q", "-m", "main", "master"]);
        assert_eq!(scm.default_branch().unwrap(), Ok("master".to_owned()));
        git(dir.path(), &["branch", "-q", "-m", "master", "trunk"]);
        assert_eq!(
            scm.default_branch().unwrap(),
            Err(HistoryGap::NoDefaultBranch)
        );
        git(
            dir.path(),
            &["update-ref", "refs/remotes/origin/main", "trunk"],
        );
        assert_eq!(scm.default_branch().unwrap(), Ok("origin/main".to_owned()));
    }

    #[test]
    fn hooks_dir_honours_core_hooks_path() {
        let dir = branched();
        let scm = Scm::discover(&abs(&dir).join("packages"));
        assert_eq!(
            fs::canonicalize(scm.hooks_dir().unwrap().unwrap().as_path()).unwrap(),
            fs::canonicalize(dir.path().join(".git/hooks")).unwrap()
        );
        git(dir.path(), &["config", "core.hooksPath", ".githooks"]);
        let hooks = scm.hooks_dir().unwrap().unwrap();
        // Relative to the top of the work tree, as git reads it.
        assert!(hooks.as_path().ends_with(".githooks"), "{hooks}");
        assert!(!hooks.as_path().starts_with(dir.path().join("packages")));
    }

    #[test]
    fn file_at_reads_a_past_version() {
        let dir = branched();
        let scm = Scm::discover(&abs(&dir).join("packages"));
        let path = RepoPath::new("ui/button.ts").unwrap();
        assert_eq!(scm.file_at("main", &path).unwrap().unwrap(), b"button");
        assert_eq!(
            scm.file_at("feature", &path).unwrap().unwrap(),
            b"button v2"
        );
        let missing = RepoPath::new("ui/nope.ts").unwrap();
        assert_eq!(scm.file_at("main", &missing).unwrap(), None);
    }
}
