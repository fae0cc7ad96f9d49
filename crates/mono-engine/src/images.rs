//! Images: what one `image` task builds (`mono image-task`), and what `mono image` does
//! with the images its run built (docker archives, pushes, the report).

use std::collections::BTreeMap;
use std::path::Path;

use mono_config::ImageConfig;
use mono_image::{Base, BuiltImage, ImageSpec, LayerFile, LayerSource, PushReport};
use mono_paths::AbsPath;
use mono_task_id::PackageName;
use mono_workspace::Package;

use crate::error::EngineError;
use crate::reporter::Reporter;
use crate::workspace::Workspace;

pub use mono_tasks::IMAGE_TASK;

/// Where a package's image layout is written, relative to the package.
pub const IMAGE_DIR: &str = "dist/image";
/// Where `--format docker-archive` writes, relative to the package.
pub const DOCKER_ARCHIVE: &str = "dist/image.tar";
/// The variable that tells an image task the run's cache folder, where base images are
/// pulled to (not hashed: where the cache lives changes no image).
pub const CACHE_DIR_VAR: &str = crate::execute::IMAGE_CACHE_DIR_VAR;

/// The image formats `mono image` writes besides the OCI layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum ImageFormat {
    /// The OCI image layout in the package's `dist/image/` (always written).
    #[default]
    Oci,
    /// Also a `docker load` archive, `dist/image.tar` in the package.
    DockerArchive,
}

/// What `mono image` does after its run.
#[derive(Debug, Clone, Default)]
pub struct ImageOptions {
    /// The formats to write.
    pub format: ImageFormat,
    /// `--push`: `REGISTRY/REPO[:TAG]` (one image) or `REGISTRY` (each under its name).
    pub push: Option<String>,
    /// Plain http for `--push`, to a loopback registry only.
    pub insecure: bool,
}

/// One image `mono image` reports.
#[derive(Debug)]
pub struct ImageReport {
    /// The package it belongs to.
    pub package: PackageName,
    /// Its OCI layout.
    pub layout: AbsPath,
    /// The docker archive, when asked for.
    pub docker_archive: Option<AbsPath>,
    /// The image.
    pub image: BuiltImage,
    /// Where it was pushed, when asked to.
    pub pushed: Option<PushReport>,
}

/// The image of `package`, read from its layout, if it has `[image]` and a built layout.
pub fn built_image(
    workspace: &Workspace,
    package: &Package,
) -> Option<Result<BuiltImage, mono_image::ImageError>> {
    package.config.as_ref()?.image.as_ref()?;
    let dir = workspace.root.join_repo(&package.dir).join(IMAGE_DIR);
    Some(mono_image::read_layout(dir.as_path(), None))
}

/// One line of the run summary for an image.
pub fn summary_line(image: &BuiltImage) -> String {
    format!(
        "{}:{} {} ({} layer{}, {})",
        image.name,
        image.tag,
        image.digest,
        image.layers.len(),
        if image.layers.len() == 1 { "" } else { "s" },
        human_size(image.size)
    )
}

/// A size for people: `1.2 MB`, `3.4 kB`, `12 B`.
pub fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / f64::from(1 << 20)),
        b if b >= 1 << 10 => format!("{:.1} kB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

/// After a run of the `image` tasks of `selected`: reads each built image, writes docker
/// archives and pushes as `options` say.
pub fn finish(
    workspace: &Workspace,
    selected: impl IntoIterator<Item = PackageName>,
    options: &ImageOptions,
    reporter: &dyn Reporter,
) -> Result<Vec<ImageReport>, EngineError> {
    let mut images = Vec::new();
    for name in selected {
        let Some(package) = workspace.packages.get(&name) else {
            continue;
        };
        let Some(image) = built_image(workspace, package) else {
            continue;
        };
        let image = image?;
        let dir = workspace.root.join_repo(&package.dir);
        let layout = dir.join(IMAGE_DIR);
        let mut docker_archive = None;
        if options.format == ImageFormat::DockerArchive {
            let out = dir.join(DOCKER_ARCHIVE);
            mono_image::write_docker_archive(layout.as_path(), &image, out.as_path())?;
            docker_archive = Some(out);
        }
        images.push(ImageReport {
            package: name,
            layout,
            docker_archive,
            image,
            pushed: None,
        });
    }
    if images.is_empty() {
        reporter.warn("no selected package has an `[image]` table");
    }
    if let Some(push) = &options.push {
        push_all(&mut images, push, options.insecure, reporter)?;
    }
    Ok(images)
}

fn push_all(
    images: &mut [ImageReport],
    push: &str,
    insecure: bool,
    reporter: &dyn Reporter,
) -> Result<(), EngineError> {
    let credentials = registry_credentials();
    let single = push.contains('/');
    if single && images.len() > 1 {
        return Err(EngineError::PushTarget {
            reference: push.to_owned(),
            problem: format!("names one repository, but {} images were built", images.len()),
            help: "select one package with --filter, or pass only the registry (`--push=ghcr.io`) to push each image under its own name",
        });
    }
    for report in images.iter_mut() {
        let reference = match single {
            true => push.to_owned(),
            false => format!("{push}/{}", report.image.name),
        };
        let target =
            mono_image::ImageRef::parse(&reference).ok_or_else(|| EngineError::PushTarget {
                reference: push.to_owned(),
                problem: "is not a registry reference".to_owned(),
                help: "write REGISTRY/REPOSITORY[:TAG], such as `ghcr.io/org/app:v1` or `127.0.0.1:5000/app`",
            })?;
        let pushed = mono_image::push(
            report.layout.as_path(),
            &report.image,
            &target,
            credentials.clone(),
            insecure,
        )?;
        reporter.note(&format!(
            "pushed {} {} ({} blobs uploaded, {} already there)",
            pushed.reference, pushed.digest, pushed.uploaded, pushed.skipped
        ));
        report.pushed = Some(pushed);
    }
    Ok(())
}

/// `mono image --json`: the documented document (docs/images.md).
pub fn images_json(images: &[ImageReport]) -> serde_json::Value {
    let list: Vec<serde_json::Value> = images
        .iter()
        .map(|report| {
            let image = &report.image;
            serde_json::json!({
                "package": report.package.as_str(),
                "name": image.name,
                "tag": image.tag,
                "digest": image.digest,
                "size": image.size,
                "layout": report.layout.to_string(),
                "dockerArchive": report.docker_archive.as_ref().map(ToString::to_string),
                "layers": image.layers,
                "pushed": report.pushed,
            })
        })
        .collect();
    serde_json::json!({ "version": "1", "images": list })
}

/// The image layers of `package`: one per dependency its files come from (sorted by
/// name), then its own.
fn layer_sources(
    workspace: &Workspace,
    package: &Package,
    image: &ImageConfig,
) -> Result<Vec<LayerSource>, EngineError> {
    let mut by_package: BTreeMap<Option<PackageName>, Vec<LayerFile>> = BTreeMap::new();
    for file in &image.files {
        let (owner, dir) = match &file.package {
            None => (None, &package.dir),
            Some(name) => {
                let dep = PackageName::new(name.value.as_str())
                    .ok()
                    .and_then(|n| workspace.packages.get(&n))
                    .ok_or_else(|| EngineError::ImageConfig {
                        package: package.name.to_string(),
                        problem: format!("`[image.files]` names no package `{}`", name.value),
                        help: "`mono ls` lists the packages",
                    })?;
                (Some(dep.name.clone()), &dep.dir)
            }
        };
        let host = workspace
            .root
            .join_repo(dir)
            .join(file.path.value.trim_end_matches('/'));
        by_package.entry(owner).or_default().push(LayerFile {
            target: file.target.value.clone(),
            host: host.as_path().to_owned(),
        });
    }
    // `None` sorts first; the package's own layer goes last, as it changes most often.
    let own = by_package.remove(&None);
    let mut layers: Vec<LayerSource> = by_package
        .into_iter()
        .map(|(name, files)| LayerSource {
            source: name.map(|n| n.to_string()).unwrap_or_default(),
            files,
        })
        .collect();
    if let Some(files) = own {
        layers.push(LayerSource {
            source: package.name.to_string(),
            files,
        });
    }
    Ok(layers)
}

fn parse_base(
    workspace: &Workspace,
    package: &Package,
    image: &ImageConfig,
    cache_dir: &AbsPath,
) -> Result<Base, EngineError> {
    let Some(base) = &image.base else {
        return Ok(Base::Scratch);
    };
    let text = base.value.as_str();
    if text == "scratch" {
        return Ok(Base::Scratch);
    }
    if let Some(rest) = text.strip_prefix("oci:") {
        // `oci:PATH` or `oci:PATH:TAG`, PATH relative to the package.
        let (path, tag) = match rest.rsplit_once(':') {
            Some((path, tag)) if !tag.contains('/') => (path, Some(tag.to_owned())),
            _ => (rest, None),
        };
        let dir = workspace.root.join_repo(&package.dir).join(path);
        return Ok(Base::Layout {
            dir: dir.as_path().to_owned(),
            tag,
        });
    }
    let Some(reference) = mono_image::ImageRef::parse(text) else {
        return Err(EngineError::ImageConfig {
            package: package.name.to_string(),
            problem: format!(
                "{}: `base = \"{text}\"` is not a base image",
                base.source.as_ref().map(|s| s.path().to_string()).unwrap_or_default()
            ),
            help: "use \"scratch\", \"oci:PATH[:TAG]\" (an OCI layout folder) or \"REGISTRY/REPOSITORY:TAG\"",
        });
    };
    // Pulled once into the local cache, then reused: `<cacheDir>/images/<ref hash>/`.
    let key = blake3::hash(text.as_bytes()).to_hex();
    let dir = cache_dir.join("images").join(&key.as_str()[..32]);
    if !dir.join("index.json").as_path().is_file() {
        let credentials = registry_credentials();
        let insecure = std::env::var("MONO_REGISTRY_INSECURE").is_ok_and(|v| v == "1");
        mono_image::pull(&reference, credentials, insecure, dir.as_path())?;
    }
    Ok(Base::Layout {
        dir: dir.as_path().to_owned(),
        tag: None,
    })
}

/// MONO_REGISTRY_USERNAME and MONO_REGISTRY_PASSWORD, when both are set.
fn registry_credentials() -> Option<mono_image::Credentials> {
    match (
        std::env::var("MONO_REGISTRY_USERNAME"),
        std::env::var("MONO_REGISTRY_PASSWORD"),
    ) {
        (Ok(username), Ok(password)) => Some(mono_image::Credentials { username, password }),
        _ => None,
    }
}

/// What one `image` task runs: builds the image of the package that holds the start folder
/// into its `dist/image/`. `revision` is the commit for
/// `org.opencontainers.image.revision`; base images are pulled into the run's cache
/// folder (`MONO_CACHE_DIR`, set by the run), else the workspace's.
pub fn image_task(
    workspace: &Workspace,
    revision: Option<&str>,
) -> Result<BuiltImage, EngineError> {
    let package = workspace.packages.package_containing(&workspace.cwd);
    let image = package
        .config
        .as_ref()
        .and_then(|c| c.image.as_ref())
        .ok_or_else(|| EngineError::ImageConfig {
            package: package.name.to_string(),
            problem: "the package has no `[image]` table".to_owned(),
            help: "add `[image]` to the package's turbo.toml (docs/images.md)",
        })?;
    let tag = match &image.tag {
        Some(tag) => tag.value.clone(),
        None => std::env::var("MONO_TASK_HASH").unwrap_or_else(|_| "latest".to_owned()),
    };
    let mut annotations = BTreeMap::new();
    if let Some(revision) = revision {
        annotations.insert(
            "org.opencontainers.image.revision".to_owned(),
            revision.to_owned(),
        );
    }
    if let Some(source) = image
        .source
        .clone()
        .or_else(|| workspace.scm().origin_url())
    {
        annotations.insert("org.opencontainers.image.source".to_owned(), source);
    }
    let cache_dir = match std::env::var_os(CACHE_DIR_VAR) {
        Some(dir) => AbsPath::from_cwd(Path::new(&dir)).map_err(EngineError::Cwd)?,
        None => workspace.cache_dir(None),
    };
    let spec = ImageSpec {
        name: image.name.value.clone(),
        tag,
        base: parse_base(workspace, package, image, &cache_dir)?,
        entrypoint: image.entrypoint.clone(),
        cmd: image.cmd.clone(),
        workdir: image.workdir.clone(),
        env: image.env.clone(),
        expose: image.expose.clone(),
        user: image.user.clone(),
        labels: image.labels.clone(),
        annotations,
        layers: layer_sources(workspace, package, image)?,
    };
    let out = workspace.root.join_repo(&package.dir).join(IMAGE_DIR);
    Ok(mono_image::build_image(&spec, out.as_path())?)
}
