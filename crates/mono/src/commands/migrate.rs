//! `mono migrate`: turbo.json to turbo.toml, key for key (mono-config converts).

use std::path::Path;
use std::process::ExitCode;

use mono_engine::{find_root, start_dir, EngineError};

use crate::cli::MigrateArgs;
use crate::error::Error;

pub fn migrate(cwd: Option<&Path>, args: &MigrateArgs) -> Result<ExitCode, Error> {
    let root = find_root(&start_dir(cwd)?);
    let json_path = root.join("turbo.json");
    let toml_path = root.join("turbo.toml");
    if toml_path.as_path().exists() && !args.force {
        return Err(Error::MigrateTargetExists { path: toml_path });
    }
    let io = |action, path: &mono_engine::AbsPath| {
        let path = path.clone();
        move |source| EngineError::Io {
            action,
            path,
            source,
        }
    };
    let text = std::fs::read_to_string(json_path.as_path()).map_err(io("read", &json_path))?;
    let toml = mono_engine::migrate::turbo_json_to_toml(&text)?;
    let tmp = root.join(".turbo.toml.tmp");
    std::fs::write(tmp.as_path(), &toml)
        .and_then(|()| std::fs::rename(tmp.as_path(), toml_path.as_path()))
        .map_err(io("write", &toml_path))?;
    crate::report::stdout(&format!(
        "wrote {toml_path} from turbo.json; mono reads turbo.toml first, so turbo.json can go\n"
    ))?;
    Ok(ExitCode::SUCCESS)
}
