//! `mono migrate`: turbo.json to turbo.toml, key for key.

use std::io::Write;
use std::process::ExitCode;

use mono_paths::RepoPath;

use crate::cli::MigrateArgs;
use crate::error::Error;
use crate::repo::find_root;

pub fn migrate(cwd: Option<&std::path::Path>, args: &MigrateArgs) -> Result<ExitCode, Error> {
    let start = match cwd {
        Some(dir) => mono_paths::AbsPath::from_cwd(dir),
        None => std::env::current_dir().and_then(mono_paths::AbsPath::from_cwd),
    }
    .map_err(Error::Cwd)?;
    let root = find_root(&start);
    let json_path = root.join("turbo.json");
    let toml_path = root.join("turbo.toml");
    if toml_path.as_path().exists() && !args.force {
        return Err(Error::Usage {
            message: format!("{toml_path} already exists"),
            help: Some("pass --force to overwrite it".to_owned()),
        });
    }
    let text = std::fs::read_to_string(json_path.as_path()).map_err(|source| Error::Io {
        action: "read",
        path: json_path.clone(),
        source,
    })?;
    // Check it first, so that a broken turbo.json is reported with its line, not migrated.
    let source = mono_config::SourceFile::new(
        RepoPath::new("turbo.json").expect("valid"),
        text.clone(),
        mono_config::ConfigFormat::Json,
    );
    mono_config::parse_root(source)?;
    let value = jsonc_parser::parse_to_serde_value(&text, &Default::default())
        .ok()
        .flatten()
        .unwrap_or_default();
    let toml = to_toml(value).map_err(|message| Error::Usage {
        message,
        help: None,
    })?;
    let tmp = root.join(".turbo.toml.tmp");
    std::fs::write(tmp.as_path(), &toml)
        .and_then(|()| std::fs::rename(tmp.as_path(), toml_path.as_path()))
        .map_err(|source| Error::Io {
            action: "write",
            path: toml_path.clone(),
            source,
        })?;
    let _ = writeln!(
        std::io::stdout(),
        "wrote {toml_path} from turbo.json; mono reads turbo.toml first, so turbo.json can go"
    );
    Ok(ExitCode::SUCCESS)
}

fn to_toml(mut value: serde_json::Value) -> Result<String, String> {
    if let Some(map) = value.as_object_mut() {
        // `$schema` describes JSON files only.
        map.remove("$schema");
    }
    let table: toml::Table = serde_json::from_value(value)
        .map_err(|e| format!("turbo.json cannot be written as TOML: {e}"))?;
    toml::to_string_pretty(&table).map_err(|e| format!("turbo.json cannot be written as TOML: {e}"))
}
