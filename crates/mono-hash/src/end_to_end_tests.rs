//! The whole pipeline on real git repositories: list, select, hash, combine.

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use mono_paths::{AbsPath, RepoPath};
use mono_scm::Scm;
use tempfile::TempDir;

use crate::{
    Digest, EnvPatterns, ExternalDeps, FileHasher, GlobalHash, GlobalHashInputs, HashCounts,
    InputGlobs, RepoFiles, TaskHash, TaskHashInputs,
};

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(args)
        .current_dir(dir)
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

/// A committed monorepo, then an untracked file, an ignored one and a deleted one.
fn repo() -> TempDir {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    write(root, ".gitignore", "dist/\n.env\n");
    write(root, "package.json", r#"{"workspaces":["apps/*"]}"#);
    write(root, "apps/web/package.json", r#"{"name":"web"}"#);
    write(root, "apps/web/src/index.ts", "export const a = 1;\n");
    write(root, "apps/web/README.md", "# web\n");
    write(root, "apps/web/old.ts", "deleted later");
    write(root, "apps/web/docs/package.json", r#"{"name":"docs"}"#);
    write(root, "apps/web/docs/guide.md", "nested package\n");
    git(root, &["init", "-q"]);
    git(root, &["add", "."]);
    git(root, &["commit", "-q", "-m", "init"]);
    write(root, "apps/web/src/new.ts", "untracked\n");
    write(root, "apps/web/dist/out.js", "ignored output\n");
    write(root, "apps/web/.env", "SECRET=1\n");
    fs::remove_file(root.join("apps/web/old.ts")).unwrap();
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        let file_type = entry.file_type();
        if file_type.is_dir() {
            fs::create_dir_all(&target).unwrap();
        } else if file_type.is_symlink() {
            #[cfg(unix)]
            std::os::unix::fs::symlink(fs::read_link(entry.path()).unwrap(), &target).unwrap();
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn abs(path: &Path) -> AbsPath {
    AbsPath::new(path.canonicalize().unwrap()).unwrap()
}

/// What the runner would do for `web#build`.
struct Run<'a> {
    root: AbsPath,
    inputs: &'a [&'a str],
    env: HashMap<String, String>,
    cache_dir: Option<AbsPath>,
}

impl Run<'_> {
    fn new(root: &Path) -> Run<'static> {
        Run {
            root: abs(root),
            inputs: &[],
            env: HashMap::from([
                ("NODE_ENV".to_owned(), "production".to_owned()),
                ("HOME".to_owned(), "/home/someone".to_owned()),
            ]),
            cache_dir: None,
        }
    }

    fn hash(&self) -> (TaskHash, Vec<RepoPath>, HashCounts) {
        let scm = Scm::discover(&self.root);
        let files = RepoFiles::new(scm.list_files().unwrap());
        let web = RepoPath::new("apps/web").unwrap();
        let nested = [RepoPath::new("apps/web/docs").unwrap()];
        let inputs = InputGlobs::new(self.inputs)
            .unwrap()
            .select(&self.root, &files, &web, &nested)
            .unwrap();
        let hasher = match &self.cache_dir {
            Some(dir) => FileHasher::with_stat_cache(&self.root, dir),
            None => FileHasher::new(&self.root),
        };
        let digests = hasher.hash_files(&inputs).unwrap();
        hasher.save_stat_cache().unwrap();
        let files: Vec<(&RepoPath, Digest)> = inputs.iter().zip(digests).collect();

        let global_env = EnvPatterns::new(&["CI"]).unwrap().hash(&self.env);
        let global = GlobalHash::compute(&GlobalHashInputs {
            root_config: r#"{"tasks":{"build":{}}}"#,
            files: &[],
            env: &global_env,
        });
        let env = EnvPatterns::new(&["NODE_ENV", "API_*"])
            .unwrap()
            .hash(&self.env);
        let hash = TaskHash::compute(&TaskHashInputs {
            global,
            package_dir: &web,
            definition: r#"{"outputs":["dist/**"]}"#,
            command: Some("tsc"),
            files: &files,
            env: &env,
            external: ExternalDeps::LockfileHash(Digest::of(b"lockfile")),
            dependencies: &[],
        });
        (hash, inputs, hasher.counts())
    }
}

fn names(files: &[RepoPath]) -> Vec<&str> {
    files.iter().map(RepoPath::as_str).collect()
}

#[test]
fn the_default_inputs_are_what_git_sees_less_nested_packages() {
    let dir = repo();
    let (_, inputs, _) = Run::new(dir.path()).hash();
    assert_eq!(
        names(&inputs),
        [
            "apps/web/README.md",
            "apps/web/package.json",
            "apps/web/src/index.ts",
            "apps/web/src/new.ts",
        ]
    );
}

#[test]
fn the_same_tree_at_two_paths_hashes_the_same() {
    let dir = repo();
    let elsewhere = TempDir::new().unwrap();
    let copy = elsewhere.path().join("some/other/checkout");
    copy_tree(dir.path(), &copy);
    let (a, _, _) = Run::new(dir.path()).hash();
    let (b, _, _) = Run::new(&copy).hash();
    assert_eq!(a, b);
}

#[test]
fn one_changed_byte_of_an_input_changes_the_hash() {
    let dir = repo();
    let (before, _, _) = Run::new(dir.path()).hash();
    write(dir.path(), "apps/web/src/index.ts", "export const a = 2;\n");
    let (after, _, _) = Run::new(dir.path()).hash();
    assert_ne!(before, after);
}

#[test]
fn files_that_are_not_inputs_do_not_change_the_hash() {
    let dir = repo();
    let (before, _, _) = Run::new(dir.path()).hash();
    write(dir.path(), "apps/web/dist/out.js", "rebuilt\n");
    write(
        dir.path(),
        "apps/web/docs/guide.md",
        "nested package changed\n",
    );
    write(
        dir.path(),
        "package.json",
        r#"{"workspaces":["apps/*","x"]}"#,
    );
    let (after, _, _) = Run::new(dir.path()).hash();
    assert_eq!(before, after);
}

#[test]
fn only_listed_env_vars_count() {
    let dir = repo();
    let mut run = Run::new(dir.path());
    let (before, _, _) = run.hash();
    run.env.insert("HOME".into(), "/home/other".into());
    run.env.insert("UNLISTED".into(), "x".into());
    assert_eq!(run.hash().0, before);
    run.env.insert("API_URL".into(), "https://api".into());
    assert_ne!(run.hash().0, before);
}

#[test]
fn explicit_inputs_can_name_git_ignored_files() {
    let dir = repo();
    let mut run = Run::new(dir.path());
    run.inputs = &["src/**", ".env"];
    let (before, inputs, _) = run.hash();
    assert_eq!(
        names(&inputs),
        [
            "apps/web/.env",
            "apps/web/package.json",
            "apps/web/src/index.ts",
            "apps/web/src/new.ts",
        ]
    );
    write(dir.path(), "apps/web/.env", "SECRET=2\n");
    assert_ne!(run.hash().0, before);
    write(dir.path(), "apps/web/README.md", "not an input now\n");
    let (after, _, _) = run.hash();
    write(dir.path(), "apps/web/README.md", "still not\n");
    assert_eq!(run.hash().0, after);
}

#[test]
fn a_warm_run_reads_nothing_and_hashes_the_same() {
    let dir = repo();
    // Out of the racy window, as files are on any run but the one right after a checkout:
    // mtimes set back, and the filesystem clock past the ctimes (which cannot be).
    let cache = TempDir::new().unwrap();
    let mut newest = 0;
    for file in ["README.md", "package.json", "src/index.ts", "src/new.ts"] {
        let path = dir.path().join("apps/web").join(file);
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let stamp = mono_stamp::Stamp::of(&fs::symlink_metadata(&path).unwrap()).unwrap();
        newest = newest.max(stamp.newest_ns());
    }
    assert!(mono_stamp::FsClock::in_dir(cache.path()).wait_past(newest));
    let mut run = Run::new(dir.path());
    run.cache_dir = Some(abs(cache.path()));
    let (cold, _, counts) = run.hash();
    assert_eq!(counts, HashCounts { read: 4, cached: 0 });
    let (warm, _, counts) = run.hash();
    assert_eq!(counts, HashCounts { read: 0, cached: 4 });
    assert_eq!(cold, warm);
    assert_eq!(cold, Run::new(dir.path()).hash().0);
}
