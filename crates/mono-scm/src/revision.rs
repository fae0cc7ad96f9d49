//! What a repository says about itself for image metadata and task requests: the commit
//! checked out and where it came from.

use crate::scm::{Backend, Scm};

impl Scm {
    /// The commit checked out (`HEAD`), as a full hash; `None` outside git or before the
    /// first commit.
    pub fn head_revision(&self) -> Option<String> {
        match &self.backend {
            Backend::Git(git) => git.resolve_commit("HEAD").ok().flatten(),
            Backend::Manual { .. } => None,
        }
    }

    /// The branch checked out; `None` on a detached `HEAD`, outside git, or before the
    /// first commit.
    pub fn branch(&self) -> Option<String> {
        match &self.backend {
            Backend::Git(git) => git.current_branch(),
            Backend::Manual { .. } => None,
        }
    }

    /// `remote.origin.url`, if set.
    pub fn origin_url(&self) -> Option<String> {
        match &self.backend {
            Backend::Git(git) => git.config_value("remote.origin.url"),
            Backend::Manual { .. } => None,
        }
    }
}
