//! `mono image`: run the `image` task of the selected packages, then report the images
//! (and write docker archives, push); `mono image-task`: what one `image` task runs.

use std::path::Path;
use std::process::ExitCode;

use mono_engine::images::{self, ImageOptions};
use mono_engine::{OutputLogs, Run, RunOptions, Selector, Workspace};

use crate::cli::{ImageArgs, ImageTaskArgs};
use crate::commands::run::{execute, Executed};
use crate::error::Error;
use crate::report::Terminal;

pub fn image(
    cwd: Option<&Path>,
    turbo: &crate::cli::TurboGlobalArgs,
    args: ImageArgs,
) -> Result<ExitCode, Error> {
    let (remote_cache, remote_access) =
        crate::commands::run::remote_settings(&args.location, turbo);
    let options = RunOptions {
        selector: Selector {
            tasks: vec![images::IMAGE_TASK.to_owned()],
            filters: args.filter,
            ..Selector::default()
        },
        force: args.force,
        output_logs: args.json.then_some(OutputLogs::ErrorsOnly),
        cache_dir: args.location.cache_dir,
        remote_cache,
        remote_access,
        ..RunOptions::default()
    };
    let reporter = Terminal::new();
    let workspace = Workspace::load_listing_files(cwd, &*reporter)?;
    let mut run = Run::new(workspace, options, reporter.clone())?;
    let output = crate::commands::run::Output {
        to_stderr: args.json,
        summarize: false,
        prefix: true,
    };
    let selected = match execute(&mut run, &args.plan, output, &reporter)? {
        Executed::Planned(code) => return Ok(code),
        Executed::Ran { code, .. } if code != ExitCode::SUCCESS => return Ok(code),
        Executed::Ran { selected, .. } => selected,
    };
    let image_options = ImageOptions {
        format: args.format,
        push: args.push,
        insecure: args.insecure,
    };
    let built = images::finish(run.workspace(), selected, &image_options, &*reporter)?;
    let text = match args.json {
        true => format!(
            "{}\n",
            serde_json::to_string_pretty(&images::images_json(&built)).expect("serializes")
        ),
        // The run's summary already has each image's line.
        false => built
            .iter()
            .map(|report| {
                let mut line = format!(
                    "  Layout:   {} ({}:{})\n",
                    report.layout, report.image.name, report.image.tag
                );
                if let Some(archive) = &report.docker_archive {
                    line.push_str(&format!("            {archive} (docker load -i)\n"));
                }
                line
            })
            .collect(),
    };
    crate::report::stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// `mono image-task`: builds the image of the package in the current directory into its
/// `dist/image/`.
pub fn image_task(cwd: Option<&Path>, args: &ImageTaskArgs) -> Result<ExitCode, Error> {
    let reporter = Terminal::new();
    let workspace = Workspace::load(cwd, &*reporter)?;
    let built = images::image_task(&workspace, args.revision.as_deref())?;
    let mut text = format!("built {}\n", images::summary_line(&built));
    for layer in &built.layers {
        let source = if layer.source.is_empty() {
            "-"
        } else {
            &layer.source
        };
        text.push_str(&format!(
            "  layer {} {source} ({})\n",
            layer.digest,
            images::human_size(layer.size)
        ));
    }
    crate::report::stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}
