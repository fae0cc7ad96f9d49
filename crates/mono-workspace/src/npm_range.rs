//! npm's semver ranges (`^1.2.0`, `~1.2`, `1.x`, `>=1 <2`, `1.0.0 - 2.0.0`, `a || b`), just
//! enough to tell whether a workspace package's version satisfies a dependency's range, as
//! Turborepo does before it links the two.

use std::cmp::Ordering;

/// A version: `MAJOR.MINOR.PATCH`, an optional prerelease; build metadata is ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Version {
    core: [u64; 3],
    pre: Vec<Ident>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Ident {
    Number(u64),
    Text(String),
}

impl Ord for Ident {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Ident::Number(a), Ident::Number(b)) => a.cmp(b),
            (Ident::Number(_), Ident::Text(_)) => Ordering::Less,
            (Ident::Text(_), Ident::Number(_)) => Ordering::Greater,
            (Ident::Text(a), Ident::Text(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for Ident {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.core.cmp(&other.core).then_with(|| {
            match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                // A prerelease comes before its release.
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.pre.cmp(&other.pre),
            }
        })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn number(s: &str) -> Option<u64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn prerelease(s: &str) -> Option<Vec<Ident>> {
    s.split('.')
        .map(|part| match number(part) {
            Some(n) => Some(Ident::Number(n)),
            None if !part.is_empty()
                && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
            {
                Some(Ident::Text(part.to_owned()))
            }
            None => None,
        })
        .collect()
}

impl Version {
    /// Parses `1.2.3`, `v1.2.3-beta.1+build`; `None` for anything else.
    pub(crate) fn parse(s: &str) -> Option<Version> {
        let partial = Partial::parse(s.trim())?;
        match partial.parts {
            [Some(major), Some(minor), Some(patch)] => Some(Version {
                core: [major, minor, patch],
                pre: partial.pre,
            }),
            _ => None,
        }
    }

    fn new(core: [u64; 3]) -> Version {
        Version {
            core,
            pre: Vec::new(),
        }
    }
}

/// A version with parts that may be missing or wildcards (`1`, `1.2`, `1.x`, `*`).
struct Partial {
    parts: [Option<u64>; 3],
    pre: Vec<Ident>,
}

impl Partial {
    fn parse(s: &str) -> Option<Partial> {
        let s = s.strip_prefix(['v', '=']).unwrap_or(s);
        let s = s.split_once('+').map_or(s, |(v, _build)| v);
        let (core, pre) = match s.split_once('-') {
            Some((core, pre)) => (core, prerelease(pre)?),
            None => (s, Vec::new()),
        };
        let mut parts = [None; 3];
        let mut wildcard = false;
        for (i, part) in core.split('.').enumerate() {
            if i > 2 {
                return None;
            }
            if matches!(part, "x" | "X" | "*") {
                wildcard = true;
            } else if wildcard {
                // `1.x.3` is not a range npm knows.
                return None;
            } else {
                parts[i] = Some(number(part)?);
            }
        }
        Some(Partial { parts, pre })
    }

    /// The lowest version the partial stands for (`1.2` is `1.2.0`).
    fn floor(&self) -> Version {
        let [a, b, c] = self.parts;
        Version {
            core: [a.unwrap_or(0), b.unwrap_or(0), c.unwrap_or(0)],
            pre: self.pre.clone(),
        }
    }

    /// The first version above everything the partial stands for (`1.2` is `1.3.0`); `None`
    /// when it stands for every version.
    fn ceiling(&self) -> Option<Version> {
        match self.parts {
            [None, _, _] => None,
            [Some(a), None, _] => Some(Version::new([a + 1, 0, 0])),
            [Some(a), Some(b), None] => Some(Version::new([a, b + 1, 0])),
            [Some(a), Some(b), Some(c)] => Some(Version::new([a, b, c + 1])),
        }
    }

    fn is_full(&self) -> bool {
        self.parts.iter().all(Option::is_some)
    }
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

type Comparator = (Op, Version);

/// A range: any one of several sets of comparators, each all to be satisfied.
pub(crate) struct Range {
    sets: Vec<Vec<Comparator>>,
}

impl Range {
    /// Parses an npm range; `None` for what npm would not take as one (a tag, a URL).
    pub(crate) fn parse(s: &str) -> Option<Range> {
        let sets = s
            .split("||")
            .map(|set| parse_set(set.trim()))
            .collect::<Option<Vec<_>>>()?;
        Some(Range { sets })
    }

    /// Whether `version` is in the range. A prerelease is in it only when a comparator of the
    /// same set names a prerelease of the same `MAJOR.MINOR.PATCH`, as in npm.
    pub(crate) fn satisfies(&self, version: &Version) -> bool {
        self.sets.iter().any(|set| {
            let all = set.iter().all(|(op, bound)| {
                let order = version.cmp(bound);
                match op {
                    Op::Lt => order == Ordering::Less,
                    Op::Le => order != Ordering::Greater,
                    Op::Gt => order == Ordering::Greater,
                    Op::Ge => order != Ordering::Less,
                    Op::Eq => order == Ordering::Equal,
                }
            });
            all && (version.pre.is_empty()
                || set
                    .iter()
                    .any(|(_, bound)| !bound.pre.is_empty() && bound.core == version.core))
        })
    }
}

fn parse_set(set: &str) -> Option<Vec<Comparator>> {
    if let Some((low, high)) = set.split_once(" - ") {
        let (low, high) = (Partial::parse(low.trim())?, Partial::parse(high.trim())?);
        let mut out = vec![(Op::Ge, low.floor())];
        if high.is_full() {
            out.push((Op::Le, high.floor()));
        } else if let Some(ceiling) = high.ceiling_of_missing() {
            out.push((Op::Lt, ceiling));
        }
        return Some(out);
    }
    // `>= 1.2` is `>=1.2`: join an operator to the version after it.
    let mut tokens: Vec<String> = Vec::new();
    for token in set.split_whitespace() {
        match tokens.last_mut() {
            Some(last) if last.chars().all(|c| "<>=~^".contains(c)) => last.push_str(token),
            _ => tokens.push(token.to_owned()),
        }
    }
    let mut out = Vec::new();
    for token in &tokens {
        out.extend(comparators(token)?);
    }
    Some(out)
}

impl Partial {
    /// For the upper end of a hyphen range: `1.2` means below `1.3.0`.
    fn ceiling_of_missing(&self) -> Option<Version> {
        match self.parts {
            [None, _, _] => None,
            [Some(a), None, _] => Some(Version::new([a + 1, 0, 0])),
            [Some(a), Some(b), _] => Some(Version::new([a, b + 1, 0])),
        }
    }
}

fn comparators(token: &str) -> Option<Vec<Comparator>> {
    let (op, rest) = ["<=", ">=", "~>", "<", ">", "=", "^", "~"]
        .iter()
        .find_map(|op| token.strip_prefix(op).map(|rest| (*op, rest)))
        .unwrap_or(("", token));
    if rest.is_empty() && op.is_empty() {
        return Some(Vec::new());
    }
    let partial = Partial::parse(rest)?;
    let floor = partial.floor();
    let range = |ceiling: Option<Version>| {
        let mut out = vec![(Op::Ge, floor.clone())];
        out.extend(ceiling.map(|c| (Op::Lt, c)));
        out
    };
    Some(match op {
        "^" => {
            let ceiling = match partial.parts {
                [None, _, _] => None,
                [Some(0), Some(0), Some(c)] => Some(Version::new([0, 0, c + 1])),
                [Some(0), Some(b), _] => Some(Version::new([0, b + 1, 0])),
                [Some(a), _, _] => Some(Version::new([a + 1, 0, 0])),
            };
            range(ceiling)
        }
        "~" | "~>" => {
            let ceiling = match partial.parts {
                [None, _, _] => None,
                [Some(a), None, _] => Some(Version::new([a + 1, 0, 0])),
                [Some(a), Some(b), _] => Some(Version::new([a, b + 1, 0])),
            };
            range(ceiling)
        }
        "" | "=" if partial.is_full() => vec![(Op::Eq, floor)],
        "" | "=" => range(partial.ceiling()),
        ">" if partial.is_full() => vec![(Op::Gt, floor)],
        ">" => match partial.ceiling() {
            Some(ceiling) => vec![(Op::Ge, ceiling)],
            // `>*` matches nothing.
            None => vec![(Op::Lt, Version::new([0, 0, 0]))],
        },
        ">=" => vec![(Op::Ge, floor)],
        "<" => vec![(Op::Lt, floor)],
        "<=" if partial.is_full() => vec![(Op::Le, floor)],
        "<=" => match partial.ceiling() {
            Some(ceiling) => vec![(Op::Lt, ceiling)],
            None => Vec::new(),
        },
        _ => unreachable!("operators are listed above"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    #[test_case("1.2.3", "1.2.3", true)]
    #[test_case("1.2.3", "^1.0.0", true)]
    #[test_case("2.3.4", "^1.0.0", false)]
    #[test_case("0.2.3", "^0.2.0", true)]
    #[test_case("0.3.0", "^0.2.0", false)]
    #[test_case("0.0.4", "^0.0.3", false)]
    #[test_case("1.2.9", "~1.2.3", true)]
    #[test_case("1.3.0", "~1.2.3", false)]
    #[test_case("1.9.0", "1.x", true)]
    #[test_case("2.0.0", "1.x", false)]
    #[test_case("1.2.5", "1.2.*", true)]
    #[test_case("5.0.0", "*", true)]
    #[test_case("5.0.0", "", true)]
    #[test_case("1.5.0", ">=1.0.0 <2.0.0", true)]
    #[test_case("1.5.0", ">= 1.0.0 < 1.4", false)]
    #[test_case("2.5.0", "^1 || ^2", true)]
    #[test_case("1.5.0", "1.0.0 - 1.5.0", true)]
    #[test_case("1.5.9", "1.0.0 - 1.5", true)]
    #[test_case("1.6.0", "1.0.0 - 1.5", false)]
    #[test_case("1.6.0", "1.0.0 - 1.5.0", false)]
    #[test_case("1.2.3", "1.2.2-alpha-123abcd.0", false)]
    #[test_case("1.2.3-beta.1", "^1.2.3-beta.0", true)]
    #[test_case("1.2.4-beta.1", "^1.2.3-beta.0", false)]
    #[test_case("1.2.3-beta.1", "^1.0.0", false)]
    #[test_case("1.2.3", "v1.2.3", true)]
    #[test_case("1.2.3", ">1.2", false)]
    #[test_case("1.3.0", ">1.2", true)]
    #[test_case("1.2.9", "<=1.2", true)]
    fn satisfies(version: &str, range: &str, expected: bool) {
        let version = Version::parse(version).unwrap();
        let range = Range::parse(range).unwrap();
        assert_eq!(range.satisfies(&version), expected);
    }

    #[test_case("latest")]
    #[test_case("1.x.3")]
    #[test_case("github:user/repo")]
    fn not_ranges(range: &str) {
        assert!(Range::parse(range).is_none());
    }
}
