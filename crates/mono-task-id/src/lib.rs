//! Package names, task names and task ids, parsed once and then passed around typed.
//!
//! - [`PackageName`]: a validated package name; `//` is the repository's root package.
//! - [`TaskName`]: what a user writes: `build`, `web#build` or `//#lint` (package optional).
//! - [`TaskId`]: one task of one package, displayed `package#task` as in Turborepo.
//!
//! ```
//! use mono_task_id::{TaskId, TaskName};
//!
//! let name: TaskName = "@acme/web#build".parse().unwrap();
//! assert_eq!(name.package().unwrap().as_str(), "@acme/web");
//! let id = name.into_task_id().unwrap();
//! assert_eq!(id.to_string(), "@acme/web#build");
//! assert_eq!("build".parse::<TaskName>().unwrap().task(), "build");
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// The name of the root package, as in Turborepo (`//#lint`).
pub const ROOT_PACKAGE: &str = "//";

/// Why a string is not a valid name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// An empty name.
    #[error("a {kind} name cannot be empty")]
    Empty {
        /// `package` or `task`.
        kind: &'static str,
    },
    /// A name with a character that cannot appear in it.
    #[error("{kind} name `{name}` contains `{ch}`")]
    BadChar {
        /// `package` or `task`.
        kind: &'static str,
        /// The name as written.
        name: String,
        /// The offending character.
        ch: char,
    },
}

fn check(kind: &'static str, name: &str, forbidden: &[char]) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty { kind });
    }
    if let Some(ch) = name
        .chars()
        .find(|c| c.is_whitespace() || forbidden.contains(c))
    {
        return Err(NameError::BadChar {
            kind,
            name: name.to_owned(),
            ch,
        });
    }
    Ok(())
}

/// A package's name: non-empty, without whitespace or `#`. `//` names the root package.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PackageName(String);

impl PackageName {
    /// Validates a package name.
    pub fn new(name: impl Into<String>) -> Result<Self, NameError> {
        let name = name.into();
        check("package", &name, &['#'])?;
        Ok(Self(name))
    }

    /// The root package, `//`.
    pub fn root() -> Self {
        Self(ROOT_PACKAGE.to_owned())
    }

    /// Whether this is the root package.
    pub fn is_root(&self) -> bool {
        self.0 == ROOT_PACKAGE
    }

    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for PackageName {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl Serialize for PackageName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

fn check_task(task: &str) -> Result<(), NameError> {
    check("task", task, &['#', '^'])
}

/// A task as a user writes it: `build`, or `pkg#build`, or `//#build`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskName {
    package: Option<PackageName>,
    task: String,
}

impl TaskName {
    /// A task name without a package.
    pub fn new(task: impl Into<String>) -> Result<Self, NameError> {
        let task = task.into();
        check_task(&task)?;
        Ok(Self {
            package: None,
            task,
        })
    }

    /// The package part, if written.
    pub fn package(&self) -> Option<&PackageName> {
        self.package.as_ref()
    }

    /// The task part.
    pub fn task(&self) -> &str {
        &self.task
    }

    /// Whether the name names one package's task (`pkg#task`).
    pub fn is_package_task(&self) -> bool {
        self.package.is_some()
    }

    /// The task id, when a package was written.
    pub fn into_task_id(self) -> Option<TaskId> {
        let package = self.package?;
        Some(TaskId {
            package,
            task: self.task,
        })
    }
}

impl FromStr for TaskName {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Package names may contain `/` and `@` but never `#`, so the last `#` splits.
        match s.rsplit_once('#') {
            Some((package, task)) => {
                check_task(task)?;
                Ok(Self {
                    package: Some(PackageName::new(package)?),
                    task: task.to_owned(),
                })
            }
            None => Self::new(s),
        }
    }
}

impl fmt::Display for TaskName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.package {
            Some(package) => write!(f, "{package}#{}", self.task),
            None => f.write_str(&self.task),
        }
    }
}

/// One task of one package.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId {
    package: PackageName,
    task: String,
}

impl TaskId {
    /// The task `task` of `package`.
    pub fn new(package: PackageName, task: impl Into<String>) -> Result<Self, NameError> {
        let task = task.into();
        check_task(&task)?;
        Ok(Self { package, task })
    }

    /// The package.
    pub fn package(&self) -> &PackageName {
        &self.package
    }

    /// The task's name, without the package.
    pub fn task(&self) -> &str {
        &self.task
    }

    /// The same task in another package.
    pub fn with_package(&self, package: PackageName) -> TaskId {
        TaskId {
            package,
            task: self.task.clone(),
        }
    }

    /// Another task of the same package. `task` must be a valid task name.
    pub fn with_task(&self, task: &str) -> TaskId {
        TaskId {
            package: self.package.clone(),
            task: task.to_owned(),
        }
    }

    /// This id as a [`TaskName`] naming its package.
    pub fn to_task_name(&self) -> TaskName {
        TaskName {
            package: Some(self.package.clone()),
            task: self.task.clone(),
        }
    }
}

impl FromStr for TaskId {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name: TaskName = s.parse()?;
        let task = name.task.clone();
        name.into_task_id().ok_or(NameError::BadChar {
            kind: "task",
            name: task,
            ch: '#',
        })
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.package, self.task)
    }
}

impl Serialize for TaskId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    #[test_case("build", None, "build" ; "bare task")]
    #[test_case("web#build", Some("web"), "build" ; "package task")]
    #[test_case("//#lint", Some("//"), "lint" ; "root task")]
    #[test_case("@acme/ui#test", Some("@acme/ui"), "test" ; "scoped package")]
    fn task_name_round_trips(input: &str, package: Option<&str>, task: &str) {
        let name: TaskName = input.parse().unwrap();
        assert_eq!(name.package().map(PackageName::as_str), package);
        assert_eq!(name.task(), task);
        assert_eq!(name.to_string(), input);
    }

    #[test_case("" ; "empty")]
    #[test_case("web#" ; "empty task")]
    #[test_case("#build" ; "empty package")]
    #[test_case("a b" ; "whitespace")]
    #[test_case("^build" ; "caret")]
    fn task_name_rejects(input: &str) {
        assert!(
            input.parse::<TaskName>().is_err(),
            "{input} should be rejected"
        );
    }

    #[test]
    fn task_id_requires_package() {
        assert!("build".parse::<TaskId>().is_err());
        let id: TaskId = "web#build".parse().unwrap();
        assert_eq!(id.package().as_str(), "web");
        assert_eq!(id.with_package(PackageName::root()).to_string(), "//#build");
    }

    #[test]
    fn root_package() {
        assert!(PackageName::root().is_root());
        assert!(!PackageName::new("web").unwrap().is_root());
    }
}
