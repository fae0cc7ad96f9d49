use mono_paths::RepoPath;

use crate::{Digest, EnvVarHash, GlobalHash, TaskHash};

/// The version of the hash encoding. Bump it whenever what goes into a hash, or how it is
/// encoded, changes: every hash changes with it, so no old cache entry is reused by mistake.
pub const HASH_FORMAT_VERSION: u64 = 1;

/// The external (third-party) dependencies of a package, as its lockfile resolves them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExternalDeps<'a> {
    /// None known (a plain folder, or no lockfile).
    None,
    /// One hash of the part of the lockfile that concerns the package.
    LockfileHash(Digest),
    /// The resolved packages, one string each (`name@version`, say). Order does not matter.
    Packages(&'a [String]),
}

/// Everything a [`GlobalHash`] covers.
#[derive(Clone, Copy, Debug)]
pub struct GlobalHashInputs<'a> {
    /// The root config (turbo.toml or turbo.json) in a canonical form: the same config
    /// always gives the same string, whatever its formatting or key order.
    pub root_config: &'a str,
    /// The `globalDependencies` files (see `expand_global_dependencies`) and their digests.
    /// Order does not matter.
    pub files: &'a [(&'a RepoPath, Digest)],
    /// The `globalEnv` variables (see `EnvPatterns::hash`). Order does not matter.
    pub env: &'a [EnvVarHash],
}

/// Everything a [`TaskHash`] covers.
#[derive(Clone, Copy, Debug)]
pub struct TaskHashInputs<'a> {
    /// The run's global hash.
    pub global: GlobalHash,
    /// The package's directory, relative to the repository root (`""` for the root package).
    pub package_dir: &'a RepoPath,
    /// The task's definition after `extends` and overrides are resolved, as canonical JSON.
    pub definition: &'a str,
    /// The command the task runs, if any.
    pub command: Option<&'a str>,
    /// The input files (see `InputGlobs::select`) and their digests. Order does not matter.
    pub files: &'a [(&'a RepoPath, Digest)],
    /// The task's `env` variables (see `EnvPatterns::hash`). Order does not matter.
    pub env: &'a [EnvVarHash],
    /// The package's external dependencies.
    pub external: ExternalDeps<'a>,
    /// The hashes of the tasks this one depends on. Order does not matter.
    pub dependencies: &'a [TaskHash],
}

/// A canonical, length-prefixed encoding: every field is tagged, every string and list
/// carries its length, so no two different inputs encode to the same bytes.
struct Encoder {
    bytes: Vec<u8>,
}

impl Encoder {
    fn new(domain: &str, capacity: usize) -> Self {
        let mut encoder = Encoder {
            bytes: Vec::with_capacity(capacity),
        };
        encoder.str(domain);
        encoder.u64(HASH_FORMAT_VERSION);
        encoder
    }

    fn u64(&mut self, n: u64) {
        self.bytes.extend_from_slice(&n.to_le_bytes());
    }

    fn len(&mut self, n: usize) {
        self.u64(n as u64);
    }

    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.bytes.extend_from_slice(s.as_bytes());
    }

    fn field(&mut self, name: &str) {
        self.str(name);
    }

    fn digest(&mut self, digest: &[u8; 32]) {
        self.bytes.extend_from_slice(digest);
    }

    fn files(&mut self, files: &[(&RepoPath, Digest)]) {
        let mut sorted: Vec<&(&RepoPath, Digest)> = files.iter().collect();
        if !files.windows(2).all(|w| w[0] <= w[1]) {
            sorted.sort_unstable();
        }
        sorted.dedup();
        self.len(sorted.len());
        for (path, digest) in sorted {
            self.str(path.as_str());
            self.digest(digest.as_bytes());
        }
    }

    fn env(&mut self, env: &[EnvVarHash]) {
        let mut sorted: Vec<&EnvVarHash> = env.iter().collect();
        sorted.sort_unstable();
        sorted.dedup();
        self.len(sorted.len());
        for var in sorted {
            self.str(&var.name);
            self.digest(var.value.as_bytes());
        }
    }

    fn finish(self) -> [u8; 32] {
        *blake3::hash(&self.bytes).as_bytes()
    }
}

impl GlobalHash {
    /// The hash every task hash starts from: blake3 over, in this order,
    ///
    /// 1. the domain `mono-global-hash` and [`HASH_FORMAT_VERSION`];
    /// 2. the root config in canonical form;
    /// 3. every `globalDependencies` file as (repository path, blake3 of its content),
    ///    sorted by path;
    /// 4. every `globalEnv` variable as (name, blake3 of its value), sorted by name.
    ///
    /// docs/hashing.md lists the same.
    pub fn compute(inputs: &GlobalHashInputs<'_>) -> GlobalHash {
        let size = inputs.root_config.len() + inputs.files.len() * 96 + inputs.env.len() * 64;
        let mut e = Encoder::new("mono-global-hash", 64 + size);
        e.field("config");
        e.str(inputs.root_config);
        e.field("files");
        e.files(inputs.files);
        e.field("env");
        e.env(inputs.env);
        GlobalHash::from_bytes(e.finish())
    }
}

impl TaskHash {
    /// The hash of a task, its cache key: blake3 over, in this order,
    ///
    /// 1. the domain `mono-task-hash` and [`HASH_FORMAT_VERSION`];
    /// 2. the global hash;
    /// 3. the package's repository-relative directory;
    /// 4. the task's resolved definition (canonical JSON), then its command (or none);
    /// 5. every input file as (repository path, blake3 of its content), sorted by path;
    /// 6. every hashed environment variable as (name, blake3 of its value), sorted by name;
    /// 7. the package's external dependencies: none, a lockfile hash, or the sorted list of
    ///    resolved packages;
    /// 8. the hashes of the tasks it depends on, sorted.
    ///
    /// Every string and list is length-prefixed. Absolute paths, mtimes, user names and the
    /// time never enter. docs/hashing.md lists the same.
    pub fn compute(inputs: &TaskHashInputs<'_>) -> TaskHash {
        let size = inputs.definition.len()
            + inputs.command.map_or(0, str::len)
            + inputs.files.len() * 96
            + inputs.env.len() * 64
            + inputs.dependencies.len() * 32;
        let mut e = Encoder::new("mono-task-hash", 256 + size);
        e.field("global");
        e.digest(inputs.global.as_bytes());
        e.field("package");
        e.str(inputs.package_dir.as_str());
        e.field("definition");
        e.str(inputs.definition);
        e.field("command");
        match inputs.command {
            None => e.u64(0),
            Some(command) => {
                e.u64(1);
                e.str(command);
            }
        }
        e.field("inputs");
        e.files(inputs.files);
        e.field("env");
        e.env(inputs.env);
        e.field("external");
        match inputs.external {
            ExternalDeps::None => e.u64(0),
            ExternalDeps::LockfileHash(digest) => {
                e.u64(1);
                e.digest(digest.as_bytes());
            }
            ExternalDeps::Packages(packages) => {
                e.u64(2);
                let mut sorted: Vec<&str> = packages.iter().map(String::as_str).collect();
                sorted.sort_unstable();
                sorted.dedup();
                e.len(sorted.len());
                for package in sorted {
                    e.str(package);
                }
            }
        }
        e.field("dependencies");
        let mut dependencies = inputs.dependencies.to_vec();
        dependencies.sort_unstable();
        dependencies.dedup();
        e.len(dependencies.len());
        for dependency in &dependencies {
            e.digest(dependency.as_bytes());
        }
        TaskHash::from_bytes(e.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> RepoPath {
        RepoPath::new(p).unwrap()
    }

    struct Owned {
        dir: RepoPath,
        files: Vec<(RepoPath, Digest)>,
        env: Vec<EnvVarHash>,
        packages: Vec<String>,
        deps: Vec<TaskHash>,
    }

    fn owned() -> Owned {
        Owned {
            dir: path("apps/web"),
            files: vec![
                (path("apps/web/a.ts"), Digest::of(b"a")),
                (path("apps/web/b.ts"), Digest::of(b"b")),
            ],
            env: vec![
                EnvVarHash {
                    name: "A".into(),
                    value: Digest::of(b"1"),
                },
                EnvVarHash {
                    name: "B".into(),
                    value: Digest::of(b"2"),
                },
            ],
            packages: vec!["left-pad@1.0.0".into(), "react@19.0.0".into()],
            deps: vec![TaskHash::from_bytes([1; 32]), TaskHash::from_bytes([2; 32])],
        }
    }

    fn file_refs(o: &Owned) -> Vec<(&RepoPath, Digest)> {
        o.files.iter().map(|(p, d)| (p, *d)).collect()
    }

    fn base<'a>(o: &'a Owned, files: &'a [(&'a RepoPath, Digest)]) -> TaskHashInputs<'a> {
        TaskHashInputs {
            global: GlobalHash::from_bytes([9; 32]),
            package_dir: &o.dir,
            definition: r#"{"outputs":["dist/**"]}"#,
            command: Some("tsc"),
            files,
            env: &o.env,
            external: ExternalDeps::Packages(&o.packages),
            dependencies: &o.deps,
        }
    }

    fn hash_with<'a>(
        mut inputs: TaskHashInputs<'a>,
        edit: impl FnOnce(&mut TaskHashInputs<'a>),
    ) -> TaskHash {
        edit(&mut inputs);
        TaskHash::compute(&inputs)
    }

    #[test]
    fn is_deterministic_and_pinned() {
        let o = owned();
        let files = file_refs(&o);
        let hash = TaskHash::compute(&base(&o, &files));
        assert_eq!(hash, TaskHash::compute(&base(&o, &files)));
        // A change to this value is a change to the hash format: bump HASH_FORMAT_VERSION.
        assert_eq!(
            hash.to_string(),
            "0b7183a8c5d3d29edfc5a8786c18571dcbe497453c8801599188764bf06aee56",
            "the task hash encoding changed"
        );
    }

    #[test]
    fn order_of_inputs_does_not_matter() {
        let o = owned();
        let mut reversed = owned();
        reversed.files.reverse();
        reversed.env.reverse();
        reversed.packages.reverse();
        reversed.deps.reverse();
        let (files, reversed_files) = (file_refs(&o), file_refs(&reversed));
        assert_eq!(
            TaskHash::compute(&base(&o, &files)),
            TaskHash::compute(&base(&reversed, &reversed_files))
        );
    }

    #[test]
    fn every_field_changes_the_hash() {
        let o = owned();
        let files = file_refs(&o);
        let b = || base(&o, &files);
        let hash = TaskHash::compute(&b());
        let other_dir = path("apps/api");
        let one_file = [(&o.files[0].0, Digest::of(b"changed"))];
        let variants = [
            hash_with(b(), |i| i.global = GlobalHash::from_bytes([8; 32])),
            hash_with(b(), |i| i.package_dir = &other_dir),
            hash_with(b(), |i| i.definition = "{}"),
            hash_with(b(), |i| i.command = None),
            hash_with(b(), |i| i.command = Some("tsc -b")),
            hash_with(b(), |i| i.files = &one_file),
            hash_with(b(), |i| i.env = &o.env[..1]),
            hash_with(b(), |i| i.external = ExternalDeps::None),
            hash_with(b(), |i| {
                i.external = ExternalDeps::LockfileHash(Digest::of(b"lock"));
            }),
            hash_with(b(), |i| i.dependencies = &[]),
        ];
        for (i, variant) in variants.iter().enumerate() {
            assert_ne!(*variant, hash, "variant {i}");
        }
    }

    #[test]
    fn fields_do_not_bleed_into_each_other() {
        // Moving bytes from the definition to the command must change the hash.
        let o = owned();
        let files = file_refs(&o);
        let a = hash_with(base(&o, &files), |i| {
            i.definition = "ab";
            i.command = Some("c");
        });
        let b = hash_with(base(&o, &files), |i| {
            i.definition = "a";
            i.command = Some("bc");
        });
        assert_ne!(a, b);
    }

    #[test]
    fn global_hash_covers_config_files_and_env() {
        let o = owned();
        let files = file_refs(&o);
        let base = GlobalHashInputs {
            root_config: "{}",
            files: &files,
            env: &o.env,
        };
        let hash = GlobalHash::compute(&base);
        let mut reversed = files.clone();
        reversed.reverse();
        assert_eq!(
            GlobalHash::compute(&GlobalHashInputs {
                files: &reversed,
                ..base
            }),
            hash
        );
        assert_ne!(
            GlobalHash::compute(&GlobalHashInputs {
                root_config: "{ }",
                ..base
            }),
            hash
        );
        assert_ne!(
            GlobalHash::compute(&GlobalHashInputs {
                files: &files[..1],
                ..base
            }),
            hash
        );
        assert_ne!(
            GlobalHash::compute(&GlobalHashInputs { env: &[], ..base }),
            hash
        );
    }
}
