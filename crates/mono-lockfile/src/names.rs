//! The one table of lockfile names: which files are lockfiles, where they sit, and which
//! ecosystem's dependencies they pin. The hash (what a package's lockfile inputs are),
//! `--affected` (which packages a changed lockfile touches) and the image's install layer
//! all read it from here.

use crate::LockfileKind;

/// The ecosystem whose external dependencies a lockfile pins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ecosystem {
    /// npm, pnpm, yarn and bun.
    Node,
    /// Cargo.
    Rust,
    /// Go modules.
    Go,
    /// uv.
    Python,
}

/// A lockfile mono knows by its file name and its place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LockfileFile {
    /// `package-lock.json` at the root.
    Npm,
    /// `pnpm-lock.yaml` at the root.
    Pnpm,
    /// `yarn.lock` at the root (v1 or berry, told apart by its text).
    Yarn,
    /// `bun.lock` at the root (not parsed: always the whole file).
    Bun,
    /// `Cargo.lock` at the root.
    Cargo,
    /// `go.work.sum` at the root.
    GoWorkSum,
    /// A Go module's `go.sum`, in the module's folder.
    GoSum,
    /// `uv.lock` at the root.
    Uv,
}

impl LockfileFile {
    /// Every lockfile, in the order their paths are listed per ecosystem.
    pub const ALL: [LockfileFile; 8] = [
        LockfileFile::Npm,
        LockfileFile::Pnpm,
        LockfileFile::Yarn,
        LockfileFile::Bun,
        LockfileFile::Cargo,
        LockfileFile::GoWorkSum,
        LockfileFile::GoSum,
        LockfileFile::Uv,
    ];

    /// The file's name.
    pub fn file_name(self) -> &'static str {
        match self {
            LockfileFile::Npm => "package-lock.json",
            LockfileFile::Pnpm => "pnpm-lock.yaml",
            LockfileFile::Yarn => "yarn.lock",
            LockfileFile::Bun => "bun.lock",
            LockfileFile::Cargo => "Cargo.lock",
            LockfileFile::GoWorkSum => "go.work.sum",
            LockfileFile::GoSum => "go.sum",
            LockfileFile::Uv => "uv.lock",
        }
    }

    /// The lockfile of this name, if any (wherever it sits: see [`LockfileFile::at_root`]).
    pub fn from_file_name(name: &str) -> Option<LockfileFile> {
        LockfileFile::ALL
            .into_iter()
            .find(|file| file.file_name() == name)
    }

    /// Whether it counts only at the repository root; `false` for a module's `go.sum`, which
    /// sits in the module's folder.
    pub fn at_root(self) -> bool {
        self != LockfileFile::GoSum
    }

    /// Whose dependencies it pins.
    pub fn ecosystem(self) -> Ecosystem {
        match self {
            LockfileFile::Npm | LockfileFile::Pnpm | LockfileFile::Yarn | LockfileFile::Bun => {
                Ecosystem::Node
            }
            LockfileFile::Cargo => Ecosystem::Rust,
            LockfileFile::GoWorkSum | LockfileFile::GoSum => Ecosystem::Go,
            LockfileFile::Uv => Ecosystem::Python,
        }
    }

    /// The format to parse a file of this name with, given its text; `None` for a format
    /// mono does not read (bun.lock: its whole text counts).
    pub fn kind(self, text: &str) -> Option<LockfileKind> {
        match self {
            LockfileFile::Npm => Some(LockfileKind::Npm),
            LockfileFile::Pnpm => Some(LockfileKind::Pnpm),
            LockfileFile::Yarn => Some(LockfileKind::yarn_kind_of(text)),
            LockfileFile::Bun => None,
            LockfileFile::Cargo => Some(LockfileKind::Cargo),
            LockfileFile::GoWorkSum | LockfileFile::GoSum => Some(LockfileKind::GoSum),
            LockfileFile::Uv => Some(LockfileKind::Uv),
        }
    }

    /// The lockfiles of an ecosystem, in [`LockfileFile::ALL`]'s order.
    pub fn of(ecosystem: Ecosystem) -> impl Iterator<Item = LockfileFile> {
        LockfileFile::ALL
            .into_iter()
            .filter(move |file| file.ecosystem() == ecosystem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_maps_back_to_its_file() {
        for file in LockfileFile::ALL {
            assert_eq!(LockfileFile::from_file_name(file.file_name()), Some(file));
        }
        assert_eq!(LockfileFile::from_file_name("package.json"), None);
        assert_eq!(LockfileFile::from_file_name("bun.lockb"), None);
    }

    #[test]
    fn every_format_names_a_file_of_the_table() {
        for kind in [
            LockfileKind::Npm,
            LockfileKind::Pnpm,
            LockfileKind::Yarn1,
            LockfileKind::YarnBerry,
            LockfileKind::Cargo,
            LockfileKind::GoSum,
            LockfileKind::Uv,
        ] {
            let file = LockfileFile::from_file_name(kind.file_name()).expect("in the table");
            let text = if kind == LockfileKind::YarnBerry {
                "__metadata:\n"
            } else {
                ""
            };
            assert_eq!(file.kind(text), Some(kind));
        }
        assert_eq!(
            LockfileFile::Yarn.kind("# yarn lockfile v1\n"),
            Some(LockfileKind::Yarn1)
        );
        assert_eq!(LockfileFile::Bun.kind(""), None);
    }

    #[test]
    fn only_go_sum_sits_in_a_package_folder() {
        let per_package: Vec<_> = LockfileFile::ALL
            .into_iter()
            .filter(|f| !f.at_root())
            .collect();
        assert_eq!(per_package, [LockfileFile::GoSum]);
        let go: Vec<_> = LockfileFile::of(Ecosystem::Go).collect();
        assert_eq!(go, [LockfileFile::GoWorkSum, LockfileFile::GoSum]);
    }
}
