//! `mono why <package#task>` and `mono why --hash A --hash B` (docs/why.md).

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use mono_engine::{
    EngineError, ExplanationKind, ExternalManifest, HashComparison, Run, RunOptions, Selector,
    TaskId, WhyReport, Workspace,
};

use crate::cli::WhyArgs;
use crate::error::Error;
use crate::report::Terminal;

/// Explains a task's hash, or compares two entries.
pub fn why(cwd: Option<&Path>, args: WhyArgs) -> Result<ExitCode, Error> {
    let reporter = Terminal::new();
    let options = |tasks: Vec<String>| RunOptions {
        selector: Selector {
            tasks,
            pass_through: args.pass_through.clone(),
            ..Selector::default()
        },
        cache_dir: args.location.cache_dir.clone(),
        remote_cache: args.location.remote_cache.clone(),
        ..RunOptions::default()
    };
    if !args.hash.is_empty() {
        if args.hash.len() != 2 {
            return Err(Error::WhyHashCount {
                count: args.hash.len(),
            });
        }
        let workspace = Workspace::load(cwd, &*reporter)?;
        let run = Run::new(workspace, options(Vec::new()), reporter.clone())?;
        let comparison = run.compare_hashes(&args.hash[0], &args.hash[1])?;
        let text = match args.json {
            true => json(serde_json::to_value(&comparison).expect("serializes")),
            false => comparison_text(&comparison),
        };
        crate::report::stdout(&text)?;
        return Ok(ExitCode::SUCCESS);
    }
    let name = args.task.clone().unwrap_or_default();
    let id: TaskId = name.parse().map_err(|_| EngineError::UnknownTask {
        name: name.clone(),
        suggestion: None,
    })?;
    let workspace = Workspace::load_listing_files(cwd, &*reporter)?;
    let mut run = Run::new(workspace, options(vec![name]), reporter.clone())?;
    let prepared = run.prepare()?;
    let report = run.why(&prepared, &id)?;
    let text = match args.json {
        true => json(serde_json::to_value(&report).expect("serializes")),
        false => report_text(&report),
    };
    crate::report::stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

fn json(value: serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(&value).expect("serializes");
    text.push('\n');
    text
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(16)]
}

fn report_text(report: &WhyReport) -> String {
    let mut out = String::new();
    let cache = match (report.cache.local, report.cache.remote) {
        (true, _) => "in the local cache (a hit)",
        (false, true) => "in the remote cache (a hit)",
        (false, false) => "not in the cache (a miss)",
    };
    let _ = writeln!(out, "{}  {}", report.task_id, report.hash);
    let _ = writeln!(out, "  {cache}");
    let explanation = &report.explanation;
    match (&explanation.earlier, explanation.kind) {
        (Some(earlier), ExplanationKind::Changed) => {
            let _ = writeln!(
                out,
                "  differs from {} ({} entry) by:",
                short(&earlier.hash),
                earlier.source
            );
            for cause in &explanation.causes {
                let _ = writeln!(out, "    {cause}");
            }
        }
        _ => {
            let _ = writeln!(out, "  {}", explanation.text);
        }
    }
    let m = &report.manifest;
    let _ = writeln!(out, "made of:");
    let _ = writeln!(
        out,
        "  command:      {}",
        m.command.as_deref().unwrap_or("(none)")
    );
    if !m.cli_arguments.is_empty() {
        let _ = writeln!(out, "  arguments:    {}", m.cli_arguments.join(" "));
    }
    let _ = writeln!(out, "  definition:   {}", m.definition);
    let _ = writeln!(out, "  files ({}):", m.files.len());
    for (path, digest) in &m.files {
        let _ = writeln!(out, "    {path}  {}", short(&digest.to_string()));
    }
    if !m.env.is_empty() {
        let _ = writeln!(out, "  env ({}):", m.env.len());
        for (name, digest) in &m.env {
            let _ = writeln!(out, "    {name}  {}", short(&digest.to_string()));
        }
    }
    if !m.dependencies.is_empty() {
        let _ = writeln!(out, "  dependencies ({}):", m.dependencies.len());
        for dep in &m.dependencies {
            let _ = writeln!(out, "    {}  {}", dep.task_id, short(&dep.hash.to_string()));
        }
    }
    match &m.external {
        ExternalManifest::None => {}
        ExternalManifest::LockfileHash { digest } => {
            let _ = writeln!(out, "  lockfiles:    {}", short(&digest.to_string()));
        }
        ExternalManifest::Packages { packages } => {
            let _ = writeln!(out, "  external dependencies ({}):", packages.len());
            for package in packages {
                let _ = writeln!(out, "    {package}");
            }
        }
    }
    let _ = writeln!(
        out,
        "  global:       {} ({} files, {} variables)",
        short(&m.global.hash.to_string()),
        m.global.files.len(),
        m.global.env.len()
    );
    out
}

fn comparison_text(comparison: &HashComparison) -> String {
    let mut out = String::new();
    let (a, b) = (&comparison.a, &comparison.b);
    let _ = writeln!(out, "A  {}  {} ({} entry)", a.hash, a.task_id, a.source);
    let _ = writeln!(out, "B  {}  {} ({} entry)", b.hash, b.task_id, b.source);
    if a.task_id != b.task_id {
        let _ = writeln!(out, "  (two different tasks)");
    }
    match comparison.causes.is_empty() {
        true => {
            let _ = writeln!(out, "no differences in their inputs");
        }
        false => {
            let _ = writeln!(out, "from A to B:");
            for cause in &comparison.causes {
                let _ = writeln!(out, "  {cause}");
            }
        }
    }
    out
}
