//! The input manifest of a task hash: everything [`TaskHash::compute`] covered, by name, so
//! that two hashes of one task can be told apart cause by cause ("why did this miss?").
//!
//! A manifest is made from the very [`TaskHashInputs`] and [`GlobalHashInputs`] the hash is
//! computed from ([`TaskManifest::new`] computes the hash itself), and it holds enough to
//! compute the hash again ([`TaskManifest::compute_hash`]): it cannot describe anything but
//! what went into its hash. docs/cache.md documents its JSON; docs/why.md the causes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use mono_paths::RepoPath;
use serde::{Deserialize, Serialize};

use crate::task_hash::HASH_FORMAT_VERSION;
use crate::{
    Digest, EnvVarHash, ExternalDeps, GlobalHash, GlobalHashInputs, TaskHash, TaskHashInputs,
};

/// The version of the manifest's JSON schema.
pub const MANIFEST_VERSION: u32 = 1;

/// What the global hash covered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GlobalManifest {
    /// The global hash.
    pub hash: GlobalHash,
    /// The root config in canonical form.
    pub root_config: String,
    /// `globalDependencies` files: repository path → blake3 of the content.
    pub files: BTreeMap<String, Digest>,
    /// `globalEnv` variables: name → blake3 of the value.
    pub env: BTreeMap<String, Digest>,
}

/// The package's external dependencies as hashed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ExternalManifest {
    /// None known.
    None,
    /// The whole lockfiles, as one hash (a lockfile mono cannot read per package).
    LockfileHash {
        /// The hash.
        digest: Digest,
    },
    /// The resolved packages: `<lockfile> <name>@<version> <checksum>`, sorted.
    Packages {
        /// The entries.
        packages: Vec<String>,
    },
}

/// One task this one depends on.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DependencyManifest {
    /// Its id, `package#task`.
    pub task_id: String,
    /// Its hash.
    pub hash: TaskHash,
}

/// Everything a task hash covered.
///
/// Schema (version 1), documented in docs/cache.md.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskManifest {
    /// [`MANIFEST_VERSION`].
    pub version: u32,
    /// The hash encoding's version ([`HASH_FORMAT_VERSION`]).
    pub hash_format: u64,
    /// The task, `package#task`.
    pub task_id: String,
    /// The task hash.
    pub hash: TaskHash,
    /// The global inputs.
    pub global: GlobalManifest,
    /// The package's folder, repository-relative (`""`: the root).
    pub package_dir: String,
    /// The resolved task definition, canonical JSON.
    pub definition: String,
    /// The command line hashed (the command and its CLI arguments), if any.
    pub command: Option<String>,
    /// The arguments given after `--`, part of `command`.
    pub cli_arguments: Vec<String>,
    /// Input files: repository path → blake3 of the content.
    pub files: BTreeMap<String, Digest>,
    /// The task's `env` variables: name → blake3 of the value.
    pub env: BTreeMap<String, Digest>,
    /// The external dependencies.
    pub external: ExternalManifest,
    /// The tasks it depends on, sorted by id.
    pub dependencies: Vec<DependencyManifest>,
}

/// Why a manifest cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// A path in it is not a repository path.
    #[error("the manifest names `{path}`, which is not a repository path")]
    BadPath {
        /// The path.
        path: String,
    },
    /// Its contents do not give its hash.
    #[error("the manifest's inputs give hash {computed}, not its recorded {recorded}")]
    HashMismatch {
        /// The hash it records.
        recorded: TaskHash,
        /// The hash its inputs give.
        computed: TaskHash,
    },
}

fn env_map(env: &[EnvVarHash]) -> BTreeMap<String, Digest> {
    env.iter().map(|v| (v.name.clone(), v.value)).collect()
}

fn file_map(files: &[(&RepoPath, Digest)]) -> BTreeMap<String, Digest> {
    files
        .iter()
        .map(|(p, d)| (p.as_str().to_owned(), *d))
        .collect()
}

fn env_list(env: &BTreeMap<String, Digest>) -> Vec<EnvVarHash> {
    env.iter()
        .map(|(name, value)| EnvVarHash {
            name: name.clone(),
            value: *value,
        })
        .collect()
}

fn file_list(files: &BTreeMap<String, Digest>) -> Result<Vec<(RepoPath, Digest)>, ManifestError> {
    files
        .iter()
        .map(|(p, d)| {
            RepoPath::new(p)
                .map(|p| (p, *d))
                .map_err(|_| ManifestError::BadPath { path: p.clone() })
        })
        .collect()
}

impl TaskManifest {
    /// The manifest of the hash of `inputs` (whose global hash is that of `global`): the
    /// hash is computed here, from the same values. `dependencies` names the tasks whose
    /// hashes `inputs.dependencies` holds; `cli_arguments` are those in `inputs.command`.
    pub fn new(
        task_id: &str,
        global: &GlobalHashInputs<'_>,
        inputs: &TaskHashInputs<'_>,
        cli_arguments: &[String],
        dependencies: &[(String, TaskHash)],
    ) -> TaskManifest {
        let hash = TaskHash::compute(inputs);
        let external = match inputs.external {
            ExternalDeps::None => ExternalManifest::None,
            ExternalDeps::LockfileHash(digest) => ExternalManifest::LockfileHash { digest },
            ExternalDeps::Packages(packages) => {
                let mut packages = packages.to_vec();
                packages.sort_unstable();
                packages.dedup();
                ExternalManifest::Packages { packages }
            }
        };
        let mut dependencies: Vec<DependencyManifest> = dependencies
            .iter()
            .map(|(task_id, hash)| DependencyManifest {
                task_id: task_id.clone(),
                hash: *hash,
            })
            .collect();
        dependencies.sort_unstable();
        dependencies.dedup();
        TaskManifest {
            version: MANIFEST_VERSION,
            hash_format: HASH_FORMAT_VERSION,
            task_id: task_id.to_owned(),
            hash,
            global: GlobalManifest {
                hash: inputs.global,
                root_config: global.root_config.to_owned(),
                files: file_map(global.files),
                env: env_map(global.env),
            },
            package_dir: inputs.package_dir.as_str().to_owned(),
            definition: inputs.definition.to_owned(),
            command: inputs.command.map(str::to_owned),
            cli_arguments: cli_arguments.to_vec(),
            files: file_map(inputs.files),
            env: env_map(inputs.env),
            external,
            dependencies,
        }
    }

    /// The task hash its contents give (which [`TaskManifest::check`] compares with the
    /// recorded one).
    pub fn compute_hash(&self) -> Result<TaskHash, ManifestError> {
        let global_files = file_list(&self.global.files)?;
        let global_pairs: Vec<(&RepoPath, Digest)> =
            global_files.iter().map(|(p, d)| (p, *d)).collect();
        let global_env = env_list(&self.global.env);
        let global = GlobalHash::compute(&GlobalHashInputs {
            root_config: &self.global.root_config,
            files: &global_pairs,
            env: &global_env,
        });
        let files = file_list(&self.files)?;
        let pairs: Vec<(&RepoPath, Digest)> = files.iter().map(|(p, d)| (p, *d)).collect();
        let env = env_list(&self.env);
        let package_dir = RepoPath::new(&self.package_dir).map_err(|_| ManifestError::BadPath {
            path: self.package_dir.clone(),
        })?;
        let external = match &self.external {
            ExternalManifest::None => ExternalDeps::None,
            ExternalManifest::LockfileHash { digest } => ExternalDeps::LockfileHash(*digest),
            ExternalManifest::Packages { packages } => ExternalDeps::Packages(packages),
        };
        let dependencies: Vec<TaskHash> = self.dependencies.iter().map(|d| d.hash).collect();
        Ok(TaskHash::compute(&TaskHashInputs {
            global,
            package_dir: &package_dir,
            definition: &self.definition,
            command: self.command.as_deref(),
            files: &pairs,
            env: &env,
            external,
            dependencies: &dependencies,
        }))
    }

    /// Checks that its contents give its recorded hash.
    pub fn check(&self) -> Result<(), ManifestError> {
        let computed = self.compute_hash()?;
        match computed == self.hash {
            true => Ok(()),
            false => Err(ManifestError::HashMismatch {
                recorded: self.hash,
                computed,
            }),
        }
    }

    /// What differs from `earlier` (an earlier manifest of the same task) to this one, most
    /// telling first: files, variables, dependencies, external dependencies, arguments,
    /// command, definition, then the global inputs.
    pub fn diff(&self, earlier: &TaskManifest) -> Vec<Cause> {
        let mut causes = Vec::new();
        let package = self.package_dir.as_str();
        for (path, change) in map_diff(&earlier.files, &self.files) {
            causes.push(Cause::File {
                path: relative_to(path, package),
                change,
            });
        }
        for (name, change) in map_diff(&earlier.env, &self.env) {
            causes.push(Cause::Env {
                name: name.clone(),
                change,
            });
        }
        let deps = |m: &TaskManifest| -> BTreeMap<String, Digest> {
            m.dependencies
                .iter()
                .map(|d| (d.task_id.clone(), Digest::from_bytes(*d.hash.as_bytes())))
                .collect()
        };
        for (task_id, change) in map_diff(&deps(earlier), &deps(self)) {
            causes.push(Cause::Dependency {
                task_id: task_id.clone(),
                change,
            });
        }
        causes.extend(external_diff(&earlier.external, &self.external));
        if self.cli_arguments != earlier.cli_arguments {
            causes.push(Cause::CliArguments);
        } else if self.command != earlier.command {
            causes.push(Cause::Command);
        }
        if self.definition != earlier.definition {
            causes.push(Cause::Definition);
        }
        if self.package_dir != earlier.package_dir {
            causes.push(Cause::PackageDir);
        }
        for (path, change) in map_diff(&earlier.global.files, &self.global.files) {
            causes.push(Cause::GlobalFile {
                path: path.clone(),
                change,
            });
        }
        for (name, change) in map_diff(&earlier.global.env, &self.global.env) {
            causes.push(Cause::GlobalEnv {
                name: name.clone(),
                change,
            });
        }
        if self.global.root_config != earlier.global.root_config {
            causes.push(Cause::RootConfig);
        }
        if causes.is_empty() && self.hash_format != earlier.hash_format {
            causes.push(Cause::HashFormat);
        }
        causes
    }
}

/// `path` relative to the package folder `package` when it lies inside it.
fn relative_to(path: &str, package: &str) -> String {
    if package.is_empty() {
        return path.to_owned();
    }
    match path
        .strip_prefix(package)
        .and_then(|rest| rest.strip_prefix('/'))
    {
        Some(rest) => rest.to_owned(),
        None => path.to_owned(),
    }
}

fn map_diff<'a>(
    earlier: &'a BTreeMap<String, Digest>,
    now: &'a BTreeMap<String, Digest>,
) -> Vec<(&'a String, Change)> {
    let keys: BTreeSet<&String> = earlier.keys().chain(now.keys()).collect();
    keys.into_iter()
        .filter_map(|key| match (earlier.get(key), now.get(key)) {
            (None, Some(_)) => Some((key, Change::Added)),
            (Some(_), None) => Some((key, Change::Removed)),
            (Some(a), Some(b)) if a != b => Some((key, Change::Changed)),
            _ => None,
        })
        .collect()
}

/// `<lockfile> <name>@<version> <checksum>` → ((lockfile, name), version).
fn split_package(entry: &str) -> ((&str, &str), &str) {
    let (lockfile, rest) = entry.split_once(' ').unwrap_or(("", entry));
    let spec = rest.split(' ').next().unwrap_or(rest);
    // A scoped name starts with `@`: the version follows the last one.
    match spec.rfind('@').filter(|&at| at > 0) {
        Some(at) => ((lockfile, &spec[..at]), &spec[at + 1..]),
        None => ((lockfile, spec), ""),
    }
}

fn external_diff(earlier: &ExternalManifest, now: &ExternalManifest) -> Vec<Cause> {
    match (earlier, now) {
        (
            ExternalManifest::Packages { packages: a },
            ExternalManifest::Packages { packages: b },
        ) => {
            let index = |list: &'_ [String]| -> BTreeMap<(String, String), (String, String)> {
                list.iter()
                    .map(|entry| {
                        let ((lockfile, name), version) = split_package(entry);
                        (
                            (name.to_owned(), lockfile.to_owned()),
                            (version.to_owned(), entry.clone()),
                        )
                    })
                    .collect()
            };
            let (a, b) = (index(a), index(b));
            let keys: BTreeSet<&(String, String)> = a.keys().chain(b.keys()).collect();
            keys.into_iter()
                .filter_map(|key| {
                    let name = key.0.clone();
                    match (a.get(key), b.get(key)) {
                        (None, Some((v, _))) => Some(Cause::External {
                            name,
                            change: Change::Added,
                            from: None,
                            to: Some(v.clone()),
                        }),
                        (Some((v, _)), None) => Some(Cause::External {
                            name,
                            change: Change::Removed,
                            from: Some(v.clone()),
                            to: None,
                        }),
                        (Some((va, ea)), Some((vb, eb))) if ea != eb => Some(Cause::External {
                            name,
                            change: Change::Changed,
                            from: Some(va.clone()),
                            to: Some(vb.clone()),
                        }),
                        _ => None,
                    }
                })
                .collect()
        }
        (a, b) if a != b => vec![Cause::Lockfile],
        _ => Vec::new(),
    }
}

/// How one named input differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Change {
    /// It is new.
    Added,
    /// It is gone.
    Removed,
    /// Its content (or value, or hash) differs.
    Changed,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Change::Added => "added",
            Change::Removed => "removed",
            Change::Changed => "changed",
        })
    }
}

/// One difference between two manifests of a task: a reason its hash changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Cause {
    /// An input file (path relative to the package when inside it).
    File {
        /// The path.
        path: String,
        /// How.
        change: Change,
    },
    /// A variable of the task's `env`.
    Env {
        /// Its name.
        name: String,
        /// How.
        change: Change,
    },
    /// A task it depends on (its hash).
    Dependency {
        /// Its id.
        #[serde(rename = "taskId")]
        task_id: String,
        /// How.
        change: Change,
    },
    /// An external dependency its lockfile resolves.
    External {
        /// The package's name.
        name: String,
        /// How.
        change: Change,
        /// Its version before.
        from: Option<String>,
        /// Its version now.
        to: Option<String>,
    },
    /// The lockfiles, hashed whole.
    Lockfile,
    /// The arguments after `--`.
    CliArguments,
    /// The task's command.
    Command,
    /// The resolved task definition.
    Definition,
    /// The package's folder.
    PackageDir,
    /// A `globalDependencies` file.
    GlobalFile {
        /// Its repository path.
        path: String,
        /// How.
        change: Change,
    },
    /// A `globalEnv` variable.
    GlobalEnv {
        /// Its name.
        name: String,
        /// How.
        change: Change,
    },
    /// The root config.
    RootConfig,
    /// The hash encoding (another mono version).
    HashFormat,
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::File { path, change } => write!(f, "{path} {change}"),
            Cause::Env { name, change } => write!(f, "${name} {change}"),
            Cause::Dependency { task_id, change } => write!(f, "{task_id} {change}"),
            Cause::External {
                name,
                change: Change::Changed,
                from,
                to,
            } => write!(
                f,
                "external dependency {name} changed ({} → {})",
                from.as_deref().unwrap_or("?"),
                to.as_deref().unwrap_or("?")
            ),
            Cause::External { name, change, .. } => {
                write!(f, "external dependency {name} {change}")
            }
            Cause::Lockfile => f.write_str("external dependencies changed"),
            Cause::CliArguments => f.write_str("CLI arguments changed"),
            Cause::Command => f.write_str("command changed"),
            Cause::Definition => f.write_str("task definition changed"),
            Cause::PackageDir => f.write_str("package folder changed"),
            Cause::GlobalFile { path, change } => write!(f, "global file {path} {change}"),
            Cause::GlobalEnv { name, change } => write!(f, "global ${name} {change}"),
            Cause::RootConfig => f.write_str("root config changed"),
            Cause::HashFormat => f.write_str("hash format changed (another mono version)"),
        }
    }
}

/// At most `max` causes, comma-separated, then `and N more`.
pub fn summarize_causes(causes: &[Cause], max: usize) -> String {
    let mut text = causes
        .iter()
        .take(max)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if causes.len() > max {
        text.push_str(&format!(" and {} more", causes.len() - max));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Owned {
        dir: RepoPath,
        files: Vec<(RepoPath, Digest)>,
        env: Vec<EnvVarHash>,
        packages: Vec<String>,
        global_files: Vec<(RepoPath, Digest)>,
        definition: String,
        command: String,
        args: Vec<String>,
        deps: Vec<(String, TaskHash)>,
    }

    fn owned() -> Owned {
        let p = |s: &str| RepoPath::new(s).unwrap();
        Owned {
            dir: p("apps/web"),
            files: vec![
                (p("apps/web/src/app.ts"), Digest::of(b"a")),
                (p("apps/web/package.json"), Digest::of(b"p")),
                (p("tsconfig.json"), Digest::of(b"t")),
            ],
            env: vec![EnvVarHash {
                name: "API_URL".into(),
                value: Digest::of(b"https://a"),
            }],
            packages: vec![
                "package-lock.json left-pad@1.0.0 sha-1".into(),
                "package-lock.json @scope/ui@2.0.0 sha-2".into(),
            ],
            global_files: vec![(p(".env"), Digest::of(b"e"))],
            definition: r#"{"outputs":["dist/**"]}"#.into(),
            command: "tsc".into(),
            args: vec![],
            deps: vec![("@acme/ui#build".into(), TaskHash::from_bytes([1; 32]))],
        }
    }

    fn manifest(o: &Owned) -> TaskManifest {
        let files: Vec<(&RepoPath, Digest)> = o.files.iter().map(|(p, d)| (p, *d)).collect();
        let gfiles: Vec<(&RepoPath, Digest)> =
            o.global_files.iter().map(|(p, d)| (p, *d)).collect();
        let global = GlobalHashInputs {
            root_config: "{}",
            files: &gfiles,
            env: &[],
        };
        let hashes: Vec<TaskHash> = o.deps.iter().map(|d| d.1).collect();
        let inputs = TaskHashInputs {
            global: GlobalHash::compute(&global),
            package_dir: &o.dir,
            definition: &o.definition,
            command: Some(&o.command),
            files: &files,
            env: &o.env,
            external: ExternalDeps::Packages(&o.packages),
            dependencies: &hashes,
        };
        TaskManifest::new("web#build", &global, &inputs, &o.args, &o.deps)
    }

    fn causes(edit: impl FnOnce(&mut Owned)) -> Vec<String> {
        let before = manifest(&owned());
        let mut o = owned();
        edit(&mut o);
        let after = manifest(&o);
        assert_ne!(before.hash, after.hash);
        after
            .diff(&before)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_manifest_gives_its_hash_back_and_round_trips() {
        let m = manifest(&owned());
        assert_eq!(m.compute_hash().unwrap(), m.hash);
        m.check().unwrap();
        let json = serde_json::to_string(&m).unwrap();
        let back: TaskManifest = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        let mut forged = m.clone();
        forged.files.insert("apps/web/x".into(), Digest::of(b"x"));
        assert!(matches!(
            forged.check(),
            Err(ManifestError::HashMismatch { .. })
        ));
        assert!(m.diff(&m).is_empty());
    }

    #[test]
    fn one_cause_at_a_time() {
        assert_eq!(
            causes(|o| o.files[0].1 = Digest::of(b"b")),
            ["src/app.ts changed"]
        );
        assert_eq!(
            causes(|o| o
                .files
                .push((RepoPath::new("apps/web/new.ts").unwrap(), Digest::of(b"n")))),
            ["new.ts added"]
        );
        assert_eq!(
            causes(|o| {
                o.files.remove(2);
            }),
            ["tsconfig.json removed"]
        );
        assert_eq!(
            causes(|o| o.env[0].value = Digest::of(b"other")),
            ["$API_URL changed"]
        );
        assert_eq!(
            causes(|o| o.deps[0].1 = TaskHash::from_bytes([2; 32])),
            ["@acme/ui#build changed"]
        );
        assert_eq!(
            causes(|o| o.packages[0] = "package-lock.json left-pad@1.1.0 sha-3".into()),
            ["external dependency left-pad changed (1.0.0 → 1.1.0)"]
        );
        assert_eq!(
            causes(|o| o.packages[1] = "package-lock.json @scope/ui@2.0.1 sha-4".into()),
            ["external dependency @scope/ui changed (2.0.0 → 2.0.1)"]
        );
        assert_eq!(
            causes(|o| {
                o.args = vec!["--flag".into()];
                o.command = "tsc --flag".into();
            }),
            ["CLI arguments changed"]
        );
        assert_eq!(causes(|o| o.command = "tsc -b".into()), ["command changed"]);
        assert_eq!(
            causes(|o| o.definition = "{}".into()),
            ["task definition changed"]
        );
        assert_eq!(
            causes(|o| o.global_files[0].1 = Digest::of(b"f")),
            ["global file .env changed"]
        );
    }

    #[test]
    fn summary_caps_the_causes() {
        let cause = |n: usize| Cause::File {
            path: format!("f{n}"),
            change: Change::Changed,
        };
        let many: Vec<Cause> = (0..15).map(cause).collect();
        assert_eq!(
            summarize_causes(&many, 3),
            "f0 changed, f1 changed, f2 changed and 12 more"
        );
        assert_eq!(summarize_causes(&many[..2], 3), "f0 changed, f1 changed");
    }
}
