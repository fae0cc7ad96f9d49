//! `mono image`: run the `image` task of the selected packages, then report the images
//! (and write docker archives); `mono image-task`: what one `image` task runs.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use mono_config::ImageConfig;
use mono_image::{Base, BuiltImage, ImageSpec, LayerFile, LayerSource};
use mono_task_id::PackageName;
use mono_workspace::Package;

use crate::cli::{ImageArgs, ImageFormat, ImageTaskArgs, RunArgs};
use crate::error::Error;
use crate::repo::Repo;

/// Where a package's image layout is written, relative to the package.
pub const IMAGE_DIR: &str = "dist/image";
/// Where `--format docker-archive` writes, relative to the package.
pub const DOCKER_ARCHIVE: &str = "dist/image.tar";

fn usage(message: String, help: impl Into<String>) -> Error {
    Error::Usage {
        message,
        help: Some(help.into()),
    }
}

/// The image of `package`, read from its layout, if it has `[image]` and a built layout.
pub fn built_image(repo: &Repo, package: &Package) -> Option<Result<BuiltImage, Error>> {
    package.config.as_ref()?.image.as_ref()?;
    let dir = repo.root.join_repo(&package.dir).join(IMAGE_DIR);
    Some(mono_image::read_layout(dir.as_path(), None).map_err(Error::from))
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

fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / f64::from(1 << 20)),
        b if b >= 1 << 10 => format!("{:.1} kB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

pub fn image(cwd: Option<&std::path::Path>, args: ImageArgs) -> Result<ExitCode, Error> {
    let run_args = RunArgs {
        tasks: vec![mono_tasks::IMAGE_TASK.to_owned()],
        filter: args.filter.clone(),
        only: false,
        dry: args.dry,
        graph: args.graph.clone(),
        force: args.force,
        concurrency: None,
        continue_on_error: false,
        output_logs: args.json.then(|| "errors-only".to_owned()),
        log_order: "auto".to_owned(),
        cache_dir: args.cache_dir.clone(),
        no_wait: false,
        cache: None,
        env_mode: None,
        affected: false,
        // As `mono run`: the remote cache from the environment.
        remote_cache: std::env::var("MONO_REMOTE_CACHE").ok(),
    };
    let plan_only = args.dry.is_some() || args.graph.is_some();
    let (code, selected) = super::run::run_for_images(cwd, run_args, args.json)?;
    if code != ExitCode::SUCCESS || plan_only {
        return Ok(code);
    }
    let repo = Repo::load(cwd)?;
    let mut images = Vec::new();
    for name in &selected {
        let Some(package) = repo.packages.get(name) else {
            continue;
        };
        let Some(image) = built_image(&repo, package) else {
            continue;
        };
        let image = image?;
        let layout = repo.root.join_repo(&package.dir).join(IMAGE_DIR);
        let mut archive = None;
        if args.format == ImageFormat::DockerArchive {
            let out = repo.root.join_repo(&package.dir).join(DOCKER_ARCHIVE);
            mono_image::write_docker_archive(layout.as_path(), &image, out.as_path())?;
            archive = Some(out);
        }
        images.push((package, layout, archive, image));
    }
    if images.is_empty() {
        crate::report::warn("no selected package has an `[image]` table");
    }
    let mut pushed: BTreeMap<String, mono_image::PushReport> = BTreeMap::new();
    if let Some(push) = &args.push {
        let credentials = registry_credentials();
        let single = push.contains('/');
        if single && images.len() > 1 {
            return Err(usage(
                format!("`--push={push}` names one repository, but {} images were built", images.len()),
                "select one package with --filter, or pass only the registry (`--push=ghcr.io`) to push each image under its own name",
            ));
        }
        for (package, layout, _, image) in &images {
            let reference = match single {
                true => push.clone(),
                false => format!("{push}/{}", image.name),
            };
            let target = mono_image::ImageRef::parse(&reference).ok_or_else(|| {
                usage(
                    format!("`--push={push}` is not a registry reference"),
                    "write REGISTRY/REPOSITORY[:TAG], such as `ghcr.io/org/app:v1` or `127.0.0.1:5000/app`",
                )
            })?;
            let report = mono_image::push(
                layout.as_path(),
                image,
                &target,
                credentials.clone(),
                args.insecure,
            )?;
            crate::report::note(&format!(
                "pushed {} {} ({} blobs uploaded, {} already there)",
                report.reference, report.digest, report.uploaded, report.skipped
            ));
            pushed.insert(package.name.to_string(), report);
        }
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        let list: Vec<serde_json::Value> = images
            .iter()
            .map(|(package, layout, archive, image)| {
                serde_json::json!({
                    "package": package.name.as_str(),
                    "name": image.name,
                    "tag": image.tag,
                    "digest": image.digest,
                    "size": image.size,
                    "layout": layout.to_string(),
                    "dockerArchive": archive.as_ref().map(ToString::to_string),
                    "layers": image.layers,
                    "pushed": pushed.get(package.name.as_str()),
                })
            })
            .collect();
        let doc = serde_json::json!({ "version": "1", "images": list });
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&doc).expect("serializes")
        );
    } else {
        // The run's summary already has each image's line.
        for (_, layout, archive, image) in &images {
            let _ = writeln!(out, "  Layout:   {layout} ({}:{})", image.name, image.tag);
            if let Some(archive) = archive {
                let _ = writeln!(out, "            {archive} (docker load -i)");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The image layers of `package`: one per dependency its files come from (sorted by
/// name), then its own.
fn layer_sources(
    repo: &Repo,
    package: &Package,
    image: &ImageConfig,
) -> Result<Vec<LayerSource>, Error> {
    let mut by_package: BTreeMap<Option<PackageName>, Vec<LayerFile>> = BTreeMap::new();
    for file in &image.files {
        let (owner, dir) = match &file.package {
            None => (None, &package.dir),
            Some(name) => {
                let dep = PackageName::new(name.value.as_str())
                    .ok()
                    .and_then(|n| repo.packages.get(&n))
                    .ok_or_else(|| {
                        usage(
                            format!(
                                "`[image.files]` of {}: there is no package `{}`",
                                package.name, name.value
                            ),
                            "`mono ls` lists the packages",
                        )
                    })?;
                (Some(dep.name.clone()), &dep.dir)
            }
        };
        let host = repo
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

fn parse_base(repo: &Repo, package: &Package, image: &ImageConfig) -> Result<Base, Error> {
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
        let dir = repo.root.join_repo(&package.dir).join(path);
        return Ok(Base::Layout {
            dir: dir.as_path().to_owned(),
            tag,
        });
    }
    let Some(reference) = mono_image::ImageRef::parse(text) else {
        return Err(usage(
            format!(
                "{}: `base = \"{text}\"` is not a base image",
                base.source.as_ref().map(|s| s.path().to_string()).unwrap_or_default()
            ),
            "use \"scratch\", \"oci:PATH[:TAG]\" (an OCI layout folder) or \"REGISTRY/REPOSITORY:TAG\"",
        ));
    };
    // Pulled once into the local cache, then reused: `<cacheDir>/images/<ref hash>/`.
    let cache = match &repo.config.cache_dir {
        Some(dir) => repo.root.join(&dir.value),
        None => repo.root.join("cache"),
    };
    let key = blake3::hash(text.as_bytes()).to_hex();
    let dir = cache.join("images").join(&key.as_str()[..32]);
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

/// `mono image-task`: builds the image of the package in the current directory into its
/// `dist/image/`.
pub fn image_task(cwd: Option<&std::path::Path>, args: &ImageTaskArgs) -> Result<ExitCode, Error> {
    let repo = Repo::load(cwd)?;
    let package = repo.packages.package_containing(&repo.cwd);
    let image = package
        .config
        .as_ref()
        .and_then(|c| c.image.as_ref())
        .ok_or_else(|| {
            usage(
                format!("package `{}` has no `[image]` table", package.name),
                "add `[image]` to the package's turbo.toml (docs/images.md)",
            )
        })?;
    let tag = match &image.tag {
        Some(tag) => tag.value.clone(),
        None => std::env::var("MONO_TASK_HASH").unwrap_or_else(|_| "latest".to_owned()),
    };
    let mut annotations = BTreeMap::new();
    if let Some(revision) = &args.revision {
        annotations.insert(
            "org.opencontainers.image.revision".to_owned(),
            revision.clone(),
        );
    }
    if let Some(source) = image
        .source
        .clone()
        .or_else(|| crate::repo::origin_url(&repo.root))
    {
        annotations.insert("org.opencontainers.image.source".to_owned(), source);
    }
    let spec = ImageSpec {
        name: image.name.value.clone(),
        tag,
        base: parse_base(&repo, package, image)?,
        entrypoint: image.entrypoint.clone(),
        cmd: image.cmd.clone(),
        workdir: image.workdir.clone(),
        env: image.env.clone(),
        expose: image.expose.clone(),
        user: image.user.clone(),
        labels: image.labels.clone(),
        annotations,
        layers: layer_sources(&repo, package, image)?,
    };
    let out = repo.root.join_repo(&package.dir).join(IMAGE_DIR);
    let built = mono_image::build_image(&spec, out.as_path())?;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "built {}", summary_line(&built));
    for layer in &built.layers {
        let _ = writeln!(
            stdout,
            "  layer {} {} ({})",
            layer.digest,
            if layer.source.is_empty() {
                "-"
            } else {
                &layer.source
            },
            human_size(layer.size)
        );
    }
    Ok(ExitCode::SUCCESS)
}
