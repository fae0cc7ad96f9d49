use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a string is not a 32-byte digest in hex.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// Not 64 characters long.
    #[error("`{text}` is {len} characters long; expected 64 lowercase hex digits")]
    Length {
        /// The text as given.
        text: String,
        /// Its length in bytes.
        len: usize,
    },
    /// A character other than `0-9a-f`.
    #[error("`{text}` contains `{ch}`; expected 64 lowercase hex digits")]
    BadChar {
        /// The text as given.
        text: String,
        /// The first offending character.
        ch: char,
    },
}

fn parse_hex32(text: &str) -> Result<[u8; 32], DigestError> {
    if let Some(ch) = text.chars().find(|c| !matches!(c, '0'..='9' | 'a'..='f')) {
        return Err(DigestError::BadChar {
            text: text.to_owned(),
            ch,
        });
    }
    if text.len() != 64 {
        return Err(DigestError::Length {
            text: text.to_owned(),
            len: text.len(),
        });
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        *byte = (nibble(pair[0]) << 4) | nibble(pair[1]);
    }
    Ok(out)
}

fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        _ => c - b'a' + 10,
    }
}

fn write_hex(bytes: &[u8], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 64];
    for (i, byte) in bytes.iter().enumerate() {
        buf[2 * i] = HEX[usize::from(byte >> 4)];
        buf[2 * i + 1] = HEX[usize::from(byte & 0xf)];
    }
    // Only ASCII hex digits were written.
    f.write_str(std::str::from_utf8(&buf[..2 * bytes.len()]).map_err(|_| fmt::Error)?)
}

/// Declares a 32-byte digest newtype shown and parsed as 64 lowercase hex digits.
macro_rules! digest_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name([u8; 32]);

        impl $name {
            /// Wraps raw digest bytes.
            pub const fn from_bytes(bytes: [u8; 32]) -> Self {
                Self(bytes)
            }

            /// The raw digest bytes.
            pub const fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }
        }

        impl From<blake3::Hash> for $name {
            fn from(hash: blake3::Hash) -> Self {
                Self(*hash.as_bytes())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_hex(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({self})", stringify!($name))
            }
        }

        impl FromStr for $name {
            type Err = DigestError;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                parse_hex32(text).map(Self)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

digest_type! {
    /// The key of a cache entry: the task hash, a 32-byte blake3 digest. Displays and parses
    /// as 64 lowercase hex digits, the form used in file names and metadata.
    CacheKey
}

digest_type! {
    /// The blake3 digest of an archive's bytes, as recorded in its metadata.
    Checksum
}

impl Checksum {
    /// The checksum of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        blake3::hash(bytes).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    #[test]
    fn displays_and_parses_hex() {
        let key = CacheKey::from(blake3::hash(b"web#build"));
        let text = key.to_string();
        assert_eq!(text.len(), 64);
        assert_eq!(text, blake3::hash(b"web#build").to_hex().as_str());
        assert_eq!(text.parse::<CacheKey>().unwrap(), key);
    }

    #[test_case("" ; "empty")]
    #[test_case("abc" ; "short")]
    #[test_case(&"A".repeat(64) ; "uppercase")]
    #[test_case(&"0".repeat(65) ; "long")]
    #[test_case(&format!("{}g", "0".repeat(63)) ; "not hex")]
    #[test_case("../../../../etc/passwd" ; "path")]
    fn rejects(text: &str) {
        assert!(text.parse::<CacheKey>().is_err());
    }

    #[test]
    fn serializes_as_hex_string() {
        let sum = Checksum::of(b"x");
        let json = serde_json::to_string(&sum).unwrap();
        assert_eq!(json, format!("\"{sum}\""));
        assert_eq!(serde_json::from_str::<Checksum>(&json).unwrap(), sum);
        assert!(serde_json::from_str::<Checksum>("\"zz\"").is_err());
    }
}
