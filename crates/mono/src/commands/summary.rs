//! `mono summary diff A B`: two run summaries compared (docs/why.md).

use std::process::ExitCode;

use mono_engine::summary_diff::diff_summaries;

use crate::cli::SummaryDiffArgs;
use crate::error::Error;

/// Prints how run B differs from run A.
pub fn diff(args: &SummaryDiffArgs) -> Result<ExitCode, Error> {
    let diff = diff_summaries(&args.a, &args.b)?;
    let text = match args.json {
        true => {
            let mut text = serde_json::to_string_pretty(&diff).expect("a diff serializes");
            text.push('\n');
            text
        }
        false => diff.to_text(),
    };
    crate::report::stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}
