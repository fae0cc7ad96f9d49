use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A hex string that is not 64 lowercase or uppercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a 64-digit hex hash")]
pub struct ParseHashError(String);

const HEX: &[u8; 16] = b"0123456789abcdef";

fn write_hex(bytes: &[u8], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let mut out = [0u8; 64];
    for (i, byte) in bytes.iter().enumerate() {
        out[2 * i] = HEX[usize::from(byte >> 4)];
        out[2 * i + 1] = HEX[usize::from(byte & 0xf)];
    }
    // Only ASCII hex digits were written.
    f.write_str(std::str::from_utf8(&out[..2 * bytes.len()]).map_err(|_| fmt::Error)?)
}

fn parse_hex(text: &str) -> Result<[u8; 32], ParseHashError> {
    let error = || ParseHashError(text.to_owned());
    let digits = text.as_bytes();
    if digits.len() != 64 {
        return Err(error());
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (i, pair) in digits.chunks_exact(2).enumerate() {
        out[i] = (nibble(pair[0]).ok_or_else(error)? << 4) | nibble(pair[1]).ok_or_else(error)?;
    }
    Ok(out)
}

/// Defines a 32-byte hash newtype shown as 64 lowercase hex digits, serialized as that
/// string, and parsed back from it.
macro_rules! hex_hash {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name([u8; 32]);

        impl $name {
            /// Wraps raw hash bytes.
            pub const fn from_bytes(bytes: [u8; 32]) -> Self {
                Self(bytes)
            }

            /// The raw hash bytes.
            pub const fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// The first 16 hex digits (64 bits): enough to tell hashes apart in a report,
            /// never to key a cache.
            pub fn short(&self) -> String {
                let mut text = self.to_string();
                text.truncate(16);
                text
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
            type Err = ParseHashError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                parse_hex(text).map(Self)
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

hex_hash! {
    /// The blake3 hash of some content: a file's bytes, a symbolic link's target, an
    /// environment variable's value.
    Digest
}

hex_hash! {
    /// The hash of a task: the cache key of its outputs and log. See [`TaskHash::compute`].
    TaskHash
}

hex_hash! {
    /// The hash of everything every task depends on. See [`GlobalHash::compute`].
    GlobalHash
}

impl Digest {
    /// The blake3 hash of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(*blake3::hash(bytes).as_bytes())
    }
}

impl From<blake3::Hash> for Digest {
    fn from(hash: blake3::Hash) -> Self {
        Digest(*hash.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_lowercase_hex_and_round_trips() {
        let hash = TaskHash::from_bytes([0xab; 32]);
        let text = hash.to_string();
        assert_eq!(text, "ab".repeat(32));
        assert_eq!(hash.short(), "abababababababab");
        assert_eq!(text.parse::<TaskHash>().unwrap(), hash);
        assert_eq!(text.to_uppercase().parse::<TaskHash>().unwrap(), hash);
    }

    #[test]
    fn rejects_bad_hex() {
        assert!("abc".parse::<TaskHash>().is_err());
        assert!("zz".repeat(32).parse::<TaskHash>().is_err());
    }

    #[test]
    fn digest_is_plain_blake3() {
        // `b3sum` of the same bytes prints the same digest.
        assert_eq!(
            Digest::of(b"").to_string(),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
    }

    #[test]
    fn serializes_as_a_hex_string() {
        let hash = GlobalHash::from_bytes([1; 32]);
        let json = serde_json::to_string(&hash).unwrap();
        assert_eq!(json, format!("\"{hash}\""));
        assert_eq!(serde_json::from_str::<GlobalHash>(&json).unwrap(), hash);
    }
}
