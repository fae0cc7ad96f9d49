//! Finds the packages of a repository, in every language mono knows, and builds the graph
//! of dependencies between them.
//!
//! | language | found by | name | internal dependencies |
//! |---|---|---|---|
//! | node | package.json `workspaces`, pnpm-workspace.yaml | `name` | `dependencies`, `devDependencies`, `optionalDependencies` naming a workspace package (Turborepo's rules: docs/packages.md) |
//! | rust | root Cargo.toml `[workspace] members` / `exclude` | crate name | `path` and `workspace = true` dependencies on members |
//! | go | go.work `use`, or go.mod folders under the root config's `workspaces` | last element of the module path, unless taken | `require` of another workspace module, local `replace` |
//! | python | root pyproject.toml `[tool.uv.workspace] members` / `exclude`, or a pyproject.toml / requirements.txt folder under the root config's `workspaces` | `[project] name` (PEP 503), else turbo.toml `name`, else the folder's name | `[project]` dependencies, optional-dependencies, `[dependency-groups]` naming a member; `[tool.uv.sources]` `workspace = true` / `path` |
//! | generic | the root config's `workspaces` globs | turbo.toml `name` | turbo.toml `dependencies` |
//!
//! Any package's own turbo.toml / turbo.json may add `dependencies` on packages of any
//! language. The root folder is always the package `//`. docs/packages.md tells the rules and
//! the decisions in full.
//!
//! ```
//! use mono_config::RootConfig;
//! use mono_paths::AbsPath;
//! use mono_task_id::PackageName;
//! use mono_workspace::{discover, Language};
//!
//! let tmp = tempfile::tempdir().unwrap();
//! let write = |path: &str, text: &str| {
//!     let path = tmp.path().join(path);
//!     std::fs::create_dir_all(path.parent().unwrap()).unwrap();
//!     std::fs::write(path, text).unwrap();
//! };
//! write("package.json", r#"{ "name": "acme", "workspaces": ["apps/*", "packages/*"] }"#);
//! write("apps/web/package.json", r#"{ "name": "web", "dependencies": { "ui": "*" } }"#);
//! write("packages/ui/package.json", r#"{ "name": "ui", "scripts": { "build": "tsc" } }"#);
//!
//! let root = AbsPath::new(tmp.path()).unwrap();
//! let graph = discover(&root, &RootConfig::default()).unwrap();
//! let web = PackageName::new("web").unwrap();
//! let names: Vec<_> = graph.dependencies(&web).map(|n| n.as_str()).collect();
//! assert_eq!(names, ["ui"]);
//! assert_eq!(graph.get(&web).unwrap().language, Language::Node);
//! assert!(graph.root().is_root());
//! ```
//!
//! It is its own crate because task graphs, hashing and image builds all start from the
//! package graph, and discovery only needs the configuration.

mod cargo;
mod dependencies;
mod discover;
mod error;
mod files;
mod glob;
mod gomod;
mod gosrc;
mod graph;
mod listing;
mod naming;
mod node;
mod npm_range;
mod package;
mod python;

pub use discover::{discover, discover_for_listing};
pub use error::{ExtendsProblem, FileKind, WorkspaceError, WorkspaceWarning};
pub use graph::PackageGraph;
pub use package::{Language, Package, PythonPackage};
