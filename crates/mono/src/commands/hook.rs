//! `mono hook install|uninstall`: a git pre-push hook that runs `mono test --affected` for
//! the commits being pushed.

use std::io::Write;
use std::process::ExitCode;

use mono_paths::AbsPath;
use mono_scm::Scm;

use crate::cli::{HookCommand, HookInstallArgs};
use crate::error::Error;
use crate::repo::Repo;

/// The line that marks a hook as mono's: only such a hook is replaced or removed without
/// `--force`.
const MARKER: &str = "# mono-pre-push-hook v1";

pub fn hook(cwd: Option<&std::path::Path>, command: &HookCommand) -> Result<ExitCode, Error> {
    let repo = Repo::load(cwd)?;
    let scm = Scm::discover(&repo.root);
    let hooks = scm
        .hooks_dir()
        .map_err(|e| Error::Affected(e.into()))?
        .ok_or_else(|| Error::Usage {
            message: format!("{} is not in a git work tree", repo.root),
            help: Some("run `git init` first: the hook is a git hook".to_owned()),
        })?;
    let path = hooks.join("pre-push");
    match command {
        HookCommand::Install(args) => install(&repo, &scm, &path, args),
        HookCommand::Uninstall => uninstall(&path),
    }
}

fn is_ours(text: &str) -> bool {
    text.lines().any(|l| l.trim() == MARKER)
}

fn read(path: &AbsPath) -> Result<Option<String>, Error> {
    match std::fs::read(path.as_path()) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Io {
            action: "read",
            path: path.clone(),
            source,
        }),
    }
}

/// Quotes `s` for a POSIX shell.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn script(mono: &str, root_from_toplevel: &str) -> String {
    format!(
        r#"#!/bin/sh
{MARKER}
# Installed by `mono hook install`; `mono hook uninstall` removes it.
# For each ref being pushed, runs `mono test --affected` with MONO_SCM_BASE set to what the
# remote has (or, for a new branch, the default branch) and MONO_SCM_HEAD to the pushed
# commit. A failing test blocks the push; `git push --no-verify` skips the hook.

# The mono that installed this hook, else the first `mono` on PATH.
mono={mono}
if [ ! -x "$mono" ]; then
    mono=$(command -v mono 2>/dev/null)
fi
if [ -z "$mono" ]; then
    echo "mono pre-push hook: mono is not installed here nor on PATH; run \`mono hook install\` again, or push with --no-verify" >&2
    exit 1
fi

# Git runs hooks at the top of the work tree; mono's root may be below it.
cd {root} || exit 1

status=0
while read -r local_ref local_sha remote_ref remote_sha; do
    case "$local_sha" in
        *[!0]*) ;;
        *) continue ;; # a deletion pushes no code
    esac
    case "$remote_sha" in
        *[!0]*) base="$remote_sha" ;;
        *) base="" ;; # a new branch: mono compares with the default branch
    esac
    echo "mono pre-push hook: testing what $local_ref changes" >&2
    # stdin is git's list of refs: the run must not eat the lines still to come.
    MONO_SCM_BASE="$base" MONO_SCM_HEAD="$local_sha" "$mono" test --affected </dev/null || status=1
done
exit $status
"#,
        mono = sh_quote(mono),
        root = sh_quote(root_from_toplevel),
    )
}

fn install(
    repo: &Repo,
    scm: &Scm,
    path: &AbsPath,
    args: &HookInstallArgs,
) -> Result<ExitCode, Error> {
    if let Some(existing) = read(path)? {
        if !is_ours(&existing) && !args.force {
            return Err(Error::Usage {
                message: format!("{path} already exists and was not installed by mono"),
                help: Some(
                    "call mono from that hook yourself (`mono test --affected`), or pass --force to replace it"
                        .to_owned(),
                ),
            });
        }
    }
    let exe = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(Error::Cwd)?;
    let exe = exe.to_str().ok_or_else(|| Error::Usage {
        message: format!("the path of mono, {}, is not UTF-8", exe.display()),
        help: Some("install mono in a folder whose path is UTF-8".to_owned()),
    })?;
    let relative = scm
        .git_root()
        .and_then(|top| repo.root.strip_root(top))
        .map(|p| p.to_string())
        .unwrap_or_else(|| ".".to_owned());
    let text = script(exe, &relative);
    let dir = path.parent().expect("a hook is in a folder");
    std::fs::create_dir_all(dir.as_path()).map_err(|source| Error::Io {
        action: "create",
        path: dir.clone(),
        source,
    })?;
    // Written aside, then renamed: a failure leaves the old hook, never half a script.
    let tmp = dir.join(".pre-push.mono-tmp");
    let write = || -> std::io::Result<()> {
        std::fs::write(tmp.as_path(), &text)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(tmp.as_path(), std::fs::Permissions::from_mode(0o755))?;
        }
        std::fs::rename(tmp.as_path(), path.as_path())
    };
    write().map_err(|source| {
        let _ = std::fs::remove_file(tmp.as_path());
        Error::Io {
            action: "write",
            path: path.clone(),
            source,
        }
    })?;
    let _ = writeln!(
        std::io::stdout(),
        "installed the pre-push hook at {path}: `git push` runs `mono test --affected` ({exe})"
    );
    Ok(ExitCode::SUCCESS)
}

fn uninstall(path: &AbsPath) -> Result<ExitCode, Error> {
    match read(path)? {
        None => {
            let _ = writeln!(std::io::stdout(), "no pre-push hook at {path}");
            Ok(ExitCode::SUCCESS)
        }
        Some(text) if !is_ours(&text) => Err(Error::Usage {
            message: format!("{path} was not installed by mono; leaving it"),
            help: Some("remove it yourself if you no longer want it".to_owned()),
        }),
        Some(_) => {
            std::fs::remove_file(path.as_path()).map_err(|source| Error::Io {
                action: "remove",
                path: path.clone(),
                source,
            })?;
            let _ = writeln!(std::io::stdout(), "removed the pre-push hook at {path}");
            Ok(ExitCode::SUCCESS)
        }
    }
}
