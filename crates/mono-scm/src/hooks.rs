//! The git pre-push hook that runs `mono test --affected` for the commits being pushed:
//! written (`mono hook install`) and removed (`mono hook uninstall`) only where it is
//! mono's, each write atomic.

use std::path::Path;

use mono_paths::AbsPath;

use crate::scm::Scm;
use crate::ScmError;

/// The line that marks a hook as mono's: only such a hook is replaced or removed without
/// `force`.
pub const HOOK_MARKER: &str = "# mono-pre-push-hook v1";

/// Why the hook cannot be installed or removed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum HookError {
    /// The root is in no git work tree.
    #[error("{root} is not in a git work tree")]
    #[diagnostic(
        code(mono::hook::not_git),
        help("run `git init` first: the hook is a git hook")
    )]
    NotGit {
        /// The repository root.
        root: AbsPath,
    },
    /// A hook that mono did not write is in the way.
    #[error("{path} already exists and was not installed by mono")]
    #[diagnostic(
        code(mono::hook::foreign),
        help("call mono from that hook yourself (`mono test --affected`), or pass --force to replace it")
    )]
    Foreign {
        /// The hook.
        path: AbsPath,
    },
    /// `uninstall` found a hook that mono did not write.
    #[error("{path} was not installed by mono; leaving it")]
    #[diagnostic(
        code(mono::hook::foreign),
        help("remove it yourself if you no longer want it")
    )]
    NotOurs {
        /// The hook.
        path: AbsPath,
    },
    /// The mono binary's path cannot be written into a shell script.
    #[error("the path of mono, {path}, is not UTF-8")]
    #[diagnostic(
        code(mono::hook::exe),
        help("install mono in a folder whose path is UTF-8")
    )]
    ExeNotUtf8 {
        /// The path.
        path: String,
    },
    /// Git failed.
    #[error(transparent)]
    #[diagnostic(code(mono::hook::git))]
    Scm(#[from] ScmError),
    /// Reading or writing the hook failed.
    #[error("failed to {action} {path}")]
    #[diagnostic(code(mono::hook::io))]
    Io {
        /// `read`, `write`, `remove`.
        action: &'static str,
        /// The file.
        path: AbsPath,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// What `uninstall` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uninstalled {
    /// There was no hook.
    Absent(AbsPath),
    /// mono's hook was removed.
    Removed(AbsPath),
}

fn is_ours(text: &str) -> bool {
    text.lines().any(|l| l.trim() == HOOK_MARKER)
}

fn read(path: &AbsPath) -> Result<Option<String>, HookError> {
    match std::fs::read(path.as_path()) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(HookError::Io {
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
{HOOK_MARKER}
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

impl Scm {
    /// The pre-push hook's path: in `core.hooksPath` when set, else `.git/hooks`.
    pub fn pre_push_hook(&self) -> Result<AbsPath, HookError> {
        let hooks = self.hooks_dir()?.ok_or_else(|| HookError::NotGit {
            root: self.root().clone(),
        })?;
        Ok(hooks.join("pre-push"))
    }

    /// Writes the pre-push hook that runs `mono` (the binary at `exe`), replacing only a
    /// hook of mono's unless `force`. Returns the hook's path.
    pub fn install_pre_push_hook(&self, exe: &Path, force: bool) -> Result<AbsPath, HookError> {
        let path = self.pre_push_hook()?;
        if let Some(existing) = read(&path)? {
            if !is_ours(&existing) && !force {
                return Err(HookError::Foreign { path });
            }
        }
        let exe = exe.to_str().ok_or_else(|| HookError::ExeNotUtf8 {
            path: exe.display().to_string(),
        })?;
        let relative = self
            .git_root()
            .and_then(|top| self.root().strip_root(top))
            .map(|p| p.to_string())
            .unwrap_or_else(|| ".".to_owned());
        let text = script(exe, &relative);
        let dir = path.parent().expect("a hook is in a folder");
        let io = |action, path: &AbsPath| {
            let path = path.clone();
            move |source| HookError::Io {
                action,
                path,
                source,
            }
        };
        std::fs::create_dir_all(dir.as_path()).map_err(io("create", &dir))?;
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
            io("write", &path)(source)
        })?;
        Ok(path)
    }

    /// Removes the pre-push hook if it is mono's.
    pub fn uninstall_pre_push_hook(&self) -> Result<Uninstalled, HookError> {
        let path = self.pre_push_hook()?;
        match read(&path)? {
            None => Ok(Uninstalled::Absent(path)),
            Some(text) if !is_ours(&text) => Err(HookError::NotOurs { path }),
            Some(_) => {
                std::fs::remove_file(path.as_path()).map_err(|source| HookError::Io {
                    action: "remove",
                    path: path.clone(),
                    source,
                })?;
                Ok(Uninstalled::Removed(path))
            }
        }
    }
}
