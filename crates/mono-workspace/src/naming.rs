//! Steps 5 to 7 of discovery: one package per folder, its language and its name, Go modules
//! named last, and names checked to be unique.

use std::collections::{BTreeMap, BTreeSet};

use mono_config::PackageConfig;
use mono_paths::RepoPath;
use mono_task_id::PackageName;

use crate::discover::{Discovery, RootFiles};
use crate::files::manifest_path;
use crate::gomod::go_short_name;
use crate::listing::{Folders, Listing, Manifests};
use crate::{cargo, node, python, Language, WorkspaceError, WorkspaceWarning};

/// A package being assembled, before names are final and dependencies resolved.
pub(crate) struct Draft {
    pub(crate) dir: RepoPath,
    pub(crate) language: Language,
    /// The languages whose manifests are in play (their dependencies count).
    pub(crate) in_play: Vec<Language>,
    pub(crate) name: Option<PackageName>,
    /// The manifest that makes it a package.
    pub(crate) manifest: RepoPath,
}

/// `name` as a package name, or an error naming the manifest that gives it.
pub(crate) fn checked_name(manifest: &RepoPath, name: &str) -> Result<PackageName, WorkspaceError> {
    PackageName::new(name).map_err(|source| WorkspaceError::InvalidName {
        manifest: manifest.clone(),
        name: name.to_owned(),
        source,
    })
}

/// The manifest of a package of `language` in `dir`: its package.json, Cargo.toml or go.mod,
/// or for a generic package the config file it has.
fn package_manifest(
    dir: &RepoPath,
    language: Language,
    config: Option<&PackageConfig>,
) -> RepoPath {
    match (language, config) {
        (Language::Generic, Some(config)) => config.source.path().clone(),
        (language, _) => manifest_path(dir, language),
    }
}

/// The name of a generic package: its package config's `name`.
fn generic_name(
    dir: &RepoPath,
    config: Option<&PackageConfig>,
) -> Result<PackageName, WorkspaceError> {
    match config.and_then(|c| Some((c, c.name.as_ref()?))) {
        Some((config, name)) => checked_name(config.source.path(), &name.value),
        None => Err(WorkspaceError::MissingName {
            manifest: config.map_or_else(
                || manifest_path(dir, Language::Generic),
                |c| c.source.path().clone(),
            ),
            key: "`name`",
            help: "a folder with no package.json, Cargo.toml or go.mod is a \
                   package only when its turbo.toml names it: name = \"...\"",
        }),
    }
}

impl Discovery<'_> {
    /// Steps 5 to 7: one named package per folder, the root first; Go modules named last; then the
    /// check that names are unique.
    pub(crate) fn drafts(
        &mut self,
        roots: &RootFiles,
        folders: &Folders,
        manifests: &Manifests,
    ) -> Vec<Draft> {
        let mut drafts = vec![self.root_draft(roots, manifests)];
        for (dir, listing) in &folders.listings {
            drafts.extend(self.folder_draft(dir, listing, manifests));
        }
        for (dir, _) in manifests.go.iter().filter(|(_, m)| m.module.is_none()) {
            self.errors.push(WorkspaceError::MissingName {
                manifest: manifest_path(dir, Language::Go),
                key: "`module` directive",
                help: "a go.mod starts with `module example.com/path`",
            });
        }
        self.name_go_modules(&mut drafts, manifests);
        drafts.retain(|d| d.name.is_some());
        self.check_unique(&drafts);
        drafts
    }

    /// The root package `//`: its language is the first of node, rust, go, python whose
    /// root manifest is in play, else generic.
    fn root_draft(&mut self, roots: &RootFiles, manifests: &Manifests) -> Draft {
        let root = RepoPath::root();
        let in_play: Vec<Language> = [
            (Language::Node, roots.package_json.is_some()),
            (Language::Rust, manifests.cargo.contains_key(&root)),
            (Language::Go, manifests.go.contains_key(&root)),
            (Language::Python, manifests.python.contains_key(&root)),
        ]
        .into_iter()
        .filter_map(|(l, yes)| yes.then_some(l))
        .collect();
        let language = in_play.first().copied().unwrap_or(Language::Generic);
        if in_play.len() > 1 {
            self.warnings.push(WorkspaceWarning::ListedTwice {
                dir: root.clone(),
                kept: language,
                ignored: in_play[1..].to_vec(),
            });
        }
        let manifest = match language {
            Language::Generic => roots.config_file.clone(),
            language => manifest_path(&root, language),
        };
        Draft {
            dir: root,
            language,
            in_play,
            name: Some(PackageName::root()),
            manifest,
        }
    }

    /// The package of a listed folder: the first language listing it whose manifest parsed
    /// (a warning names the others), named by that language (a Go module later); `None` when
    /// no manifest parsed, the name is wrong (recorded), or it is a virtual uv member.
    fn folder_draft(
        &mut self,
        dir: &RepoPath,
        listing: &Listing,
        manifests: &Manifests,
    ) -> Option<Draft> {
        // A folder whose manifest failed to parse was reported; a listed one is parsed.
        let in_play: Vec<Language> = listing
            .languages()
            .into_iter()
            .filter(|l| match l {
                Language::Node => manifests.node.contains_key(dir),
                Language::Rust => manifests.cargo.contains_key(dir),
                Language::Go => manifests.go.contains_key(dir),
                Language::Python => manifests.python.contains_key(dir),
                Language::Generic => true,
            })
            .collect();
        let language = *in_play.first()?;
        if in_play.len() > 1 {
            self.warnings.push(WorkspaceWarning::ListedTwice {
                dir: dir.clone(),
                kept: language,
                ignored: in_play[1..].to_vec(),
            });
        }
        let config = manifests.configs.get(dir);
        let name = match language {
            Language::Node => Some(node::package_name(dir, &manifests.node[dir])),
            Language::Rust => Some(cargo::package_name(dir, &manifests.cargo[dir].0)),
            // Named once every other package is.
            Language::Go => None,
            Language::Python => {
                let uv_member = listing.python.as_deref() == Some("pyproject.toml");
                Some(python::package_name(
                    dir,
                    &manifests.python[dir],
                    config,
                    uv_member,
                )?)
            }
            Language::Generic => Some(generic_name(dir, config)),
        };
        let name = match name.transpose() {
            Ok(name) => name,
            Err(error) => {
                self.errors.push(error);
                return None;
            }
        };
        let manifest = match (language, manifests.python.get(dir)) {
            (Language::Python, Some((_, manifest))) => manifest.clone(),
            _ => package_manifest(dir, language, config),
        };
        Some(Draft {
            dir: dir.clone(),
            language,
            in_play,
            name,
            manifest,
        })
    }

    /// Step 6, Go names: the short name unless another package has it or two modules share it.
    fn name_go_modules(&mut self, drafts: &mut [Draft], manifests: &Manifests) {
        let module_of = |draft: &Draft| {
            let (module, _) = manifests.go.get(&draft.dir)?.module.as_ref()?;
            Some(module.as_str())
        };
        let taken: BTreeSet<&str> = drafts
            .iter()
            .filter_map(|d| d.name.as_ref())
            .map(PackageName::as_str)
            .collect();
        let mut short_count: BTreeMap<&str, usize> = BTreeMap::new();
        for draft in drafts.iter().filter(|d| d.language == Language::Go) {
            if let Some(module) = module_of(draft) {
                *short_count.entry(go_short_name(module)).or_default() += 1;
            }
        }
        let mut go_names = Vec::new();
        for (i, draft) in drafts.iter().enumerate() {
            if draft.language != Language::Go || draft.dir.is_root() {
                continue;
            }
            let Some(module) = module_of(draft) else {
                continue;
            };
            let short = go_short_name(module);
            let name = if taken.contains(short) || short_count[short] > 1 {
                module
            } else {
                short
            };
            match checked_name(&manifest_path(&draft.dir, Language::Go), name) {
                Ok(name) => go_names.push((i, name)),
                Err(error) => self.errors.push(error),
            }
        }
        for (i, name) in go_names {
            drafts[i].name = Some(name);
        }
    }

    /// Step 7, unique names: each second package of a name is an error naming both manifests.
    fn check_unique(&mut self, drafts: &[Draft]) {
        let mut by_name: BTreeMap<&PackageName, Vec<&RepoPath>> = BTreeMap::new();
        for draft in drafts {
            let name = draft.name.as_ref().expect("named above");
            by_name.entry(name).or_default().push(&draft.manifest);
        }
        for (name, manifests) in &by_name {
            for second in &manifests[1..] {
                self.errors.push(WorkspaceError::DuplicatePackage {
                    name: (*name).clone(),
                    first: manifests[0].clone(),
                    second: (*second).clone(),
                });
            }
        }
    }
}
