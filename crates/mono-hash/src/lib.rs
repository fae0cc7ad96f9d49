//! Content hashing for mono: what a task's cache key is made of.
//!
//! The pieces, in the order a run uses them:
//!
//! 1. [`RepoFiles`]: every file git does not ignore (from `mono_scm`), sorted, so that a
//!    package's files are a binary search away.
//! 2. [`InputGlobs`]: a task's `inputs` (Turborepo's semantics, `$TURBO_DEFAULT$` and `!`
//!    included), compiled once, selecting each package's input files.
//! 3. [`FileHasher`]: blake3 of many files in parallel, with a stat cache so that a warm run
//!    reads no file whose `lstat` is unchanged.
//! 4. [`EnvPatterns`]: `env` / `globalEnv` patterns (`API_*`, `!API_SECRET`) selecting
//!    variables, whose values are hashed and never kept.
//! 5. [`GlobalHash::compute`] and [`TaskHash::compute`]: the canonical encoding of all the
//!    above, documented field by field in docs/hashing.md.
//!
//! [`OutputGlobs`] expands a task's `outputs` for the cache, and
//! [`expand_global_dependencies`] the root's `globalDependencies`.
//!
//! ```
//! use mono_hash::{
//!     Digest, EnvPatterns, ExternalDeps, FileHasher, GlobalHash, GlobalHashInputs,
//!     InputGlobs, RepoFiles, TaskHash, TaskHashInputs,
//! };
//! use mono_paths::{AbsPath, RepoPath};
//!
//! let dir = tempfile::tempdir()?;
//! std::fs::create_dir_all(dir.path().join("web/src"))?;
//! std::fs::write(dir.path().join("web/src/index.ts"), "export {}")?;
//! std::fs::write(dir.path().join("web/README.md"), "# web")?;
//! let root = AbsPath::new(dir.path()).unwrap();
//!
//! // Normally `mono_scm::Scm::discover(&root).list_files()?`.
//! let files = RepoFiles::new(vec![
//!     RepoPath::new("web/README.md")?,
//!     RepoPath::new("web/src/index.ts")?,
//! ]);
//! let web = RepoPath::new("web")?;
//! let inputs = InputGlobs::new(&["$TURBO_DEFAULT$", "!README.md"])?.select(&root, &files, &web, &[])?;
//! assert_eq!(inputs, [RepoPath::new("web/src/index.ts")?]);
//!
//! let hasher = FileHasher::new(&root);
//! let digests = hasher.hash_files(&inputs)?;
//! let files: Vec<(&RepoPath, Digest)> = inputs.iter().zip(digests).collect();
//!
//! let global = GlobalHash::compute(&GlobalHashInputs { root_config: "{}", files: &[], env: &[] });
//! let env = EnvPatterns::new(&["NODE_ENV"])?.hash([("NODE_ENV", "production")]);
//! let hash = TaskHash::compute(&TaskHashInputs {
//!     global,
//!     package_dir: &web,
//!     definition: r#"{"outputs":["dist/**"]}"#,
//!     command: Some("tsc"),
//!     files: &files,
//!     env: &env,
//!     external: ExternalDeps::None,
//!     dependencies: &[],
//! });
//! assert_eq!(hash.to_string().len(), 64);
//! assert_eq!(hash.short().len(), 16);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! It is its own crate because hashing is the contract between a run and the cache: it
//! depends on no config format, no package manager and no scheduler, and it can be tested
//! (and benchmarked) alone. Nothing here prints; errors name the paths involved.

mod digest;
mod env;
mod error;
mod file_hasher;
mod glob;
mod inputs;
mod manifest;
mod outputs;
mod stamps;
mod stat_cache;
mod task_hash;

#[cfg(test)]
mod end_to_end_tests;

pub use digest::{Digest, DigestError, GlobalHash, TaskHash};
pub use env::{hash_env, EnvPatterns, EnvVarHash};
pub use error::HashError;
pub use file_hasher::{FileHasher, HashCounts, HashedInputs};
pub use glob::TURBO_ROOT;
pub use inputs::{InputGlobs, RepoFiles, ALWAYS_INPUTS, TURBO_DEFAULT};
pub use manifest::{
    summarize_causes, Cause, Change, DependencyManifest, ExternalManifest, GlobalManifest,
    ManifestError, TaskManifest, MANIFEST_VERSION,
};
pub use outputs::{expand_global_dependencies, expand_outputs, OutputGlobs, OutputMatcher};
pub use stamps::Stamps;
pub use stat_cache::STAT_CACHE_FILE;
pub use task_hash::{ExternalDeps, GlobalHashInputs, TaskHashInputs, HASH_FORMAT_VERSION};
