use serde::Serialize;

use crate::{Digest, HashError};

/// One environment variable as it enters a hash: its name, and the blake3 of its value. The
/// value itself is never kept.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct EnvVarHash {
    /// The variable's name.
    pub name: String,
    /// blake3 of the variable's value.
    pub value: Digest,
}

/// A name pattern: literal text and `*` wildcards.
#[derive(Clone, Debug)]
struct Wildcard {
    /// The text between the `*`s; one part means no wildcard.
    parts: Vec<String>,
}

impl Wildcard {
    fn new(pattern: &str) -> Self {
        Wildcard {
            parts: pattern.split('*').map(str::to_owned).collect(),
        }
    }

    fn matches(&self, name: &str) -> bool {
        let (first, rest) = match self.parts.split_first() {
            Some(split) => split,
            None => return false,
        };
        let Some((last, middle)) = rest.split_last() else {
            return name == first;
        };
        let Some(mut tail) = name.strip_prefix(first.as_str()) else {
            return false;
        };
        for part in middle {
            match tail.find(part.as_str()) {
                Some(at) => tail = &tail[at + part.len()..],
                None => return false,
            }
        }
        tail.len() >= last.len() && tail.ends_with(last.as_str())
    }
}

/// The `env` (or `globalEnv`) patterns of a task, compiled once.
///
/// As in Turborepo: a pattern is a variable name where `*` matches any run of characters
/// (`API_*`); a pattern starting with `!` excludes the names it matches, wherever it stands
/// in the list. Names are case-sensitive. Variables that are not set are left out; variables
/// set to the empty string count.
#[derive(Clone, Debug, Default)]
pub struct EnvPatterns {
    include: Vec<Wildcard>,
    exclude: Vec<Wildcard>,
}

impl EnvPatterns {
    /// Compiles `patterns`; an empty pattern (`""` or `"!"`) is an error.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Self, HashError> {
        let mut compiled = EnvPatterns::default();
        for pattern in patterns {
            let pattern = pattern.as_ref();
            let (list, name) = match pattern.strip_prefix('!') {
                Some(name) => (&mut compiled.exclude, name),
                None => (&mut compiled.include, pattern),
            };
            if name.is_empty() {
                return Err(HashError::EmptyEnvPattern {
                    pattern: pattern.to_owned(),
                });
            }
            list.push(Wildcard::new(name));
        }
        Ok(compiled)
    }

    /// Whether the variable `name` is hashed.
    pub fn matches(&self, name: &str) -> bool {
        self.include.iter().any(|w| w.matches(name))
            && !self.exclude.iter().any(|w| w.matches(name))
    }

    /// The matching variables of `vars` (an environment: `std::env::vars()`, a map, ...)
    /// with their values hashed, sorted by name. A name given twice keeps its last value.
    pub fn hash<I, K, V>(&self, vars: I) -> Vec<EnvVarHash>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<[u8]>,
    {
        if self.include.is_empty() {
            return Vec::new();
        }
        let mut out: Vec<EnvVarHash> = vars
            .into_iter()
            .filter(|(name, _)| self.matches(name.as_ref()))
            .map(|(name, value)| EnvVarHash {
                name: name.as_ref().to_owned(),
                value: Digest::of(value.as_ref()),
            })
            .collect();
        // Stable, so that the last of equal names comes last; keep it.
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out.reverse();
        out.dedup_by(|a, b| a.name == b.name);
        out.reverse();
        out
    }
}

/// Hashes the variables of `vars` that `patterns` select: [`EnvPatterns::new`] then
/// [`EnvPatterns::hash`].
pub fn hash_env<S, I, K, V>(patterns: &[S], vars: I) -> Result<Vec<EnvVarHash>, HashError>
where
    S: AsRef<str>,
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<[u8]>,
{
    Ok(EnvPatterns::new(patterns)?.hash(vars))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use test_case::test_case;

    use super::*;

    #[test_case("NODE_ENV", "NODE_ENV", true ; "exact")]
    #[test_case("NODE_ENV", "NODE_ENVX", false ; "exact is whole")]
    #[test_case("API_*", "API_URL", true ; "prefix")]
    #[test_case("API_*", "API_", true ; "empty star")]
    #[test_case("API_*", "MY_API_URL", false ; "anchored")]
    #[test_case("*_URL", "API_URL", true ; "suffix")]
    #[test_case("A*B*C", "AxxBxxC", true ; "middle")]
    #[test_case("A*B*C", "ABC", true ; "middle empty")]
    #[test_case("AB*BA", "ABA", false ; "no overlap")]
    #[test_case("*", "ANYTHING", true ; "all")]
    #[test_case("node_env", "NODE_ENV", false ; "case sensitive")]
    fn wildcard(pattern: &str, name: &str, expected: bool) {
        assert_eq!(Wildcard::new(pattern).matches(name), expected);
    }

    #[test]
    fn hashes_matching_values_sorted_never_in_clear() {
        let env: HashMap<&str, &str> = HashMap::from([
            ("NODE_ENV", "production"),
            ("API_URL", "https://api"),
            ("API_SECRET", "hunter2"),
            ("HOME", "/home/me"),
            ("EMPTY", ""),
        ]);
        let got = hash_env(
            &["NODE_ENV", "API_*", "!API_SECRET", "EMPTY", "UNSET"],
            &env,
        )
        .unwrap();
        let names: Vec<&str> = got.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["API_URL", "EMPTY", "NODE_ENV"]);
        assert_eq!(got[2].value, Digest::of(b"production"));
        assert_eq!(got[1].value, Digest::of(b""));
        let debug = format!("{got:?}");
        assert!(!debug.contains("production") && !debug.contains("https://api"));
    }

    #[test]
    fn exclusions_win_whatever_the_order() {
        let patterns = EnvPatterns::new(&["!API_SECRET", "API_*"]).unwrap();
        assert!(patterns.matches("API_URL"));
        assert!(!patterns.matches("API_SECRET"));
    }

    #[test]
    fn a_repeated_name_keeps_its_last_value() {
        let vars = [("A", "1"), ("A", "2")];
        let got = hash_env(&["A"], vars).unwrap();
        assert_eq!(
            got,
            [EnvVarHash {
                name: "A".into(),
                value: Digest::of(b"2")
            }]
        );
    }

    #[test_case("" ; "empty")]
    #[test_case("!" ; "bare negation")]
    fn rejects_empty_patterns(pattern: &str) {
        assert!(EnvPatterns::new(&[pattern]).is_err());
    }

    #[test]
    fn no_patterns_hash_nothing() {
        let patterns = EnvPatterns::new::<&str>(&[]).unwrap();
        assert!(patterns.hash([("A", "1")]).is_empty());
    }
}
