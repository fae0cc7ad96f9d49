//! 32-byte digests for mono: the one way a hash is shown, parsed and serialized.
//!
//! mono keys everything by blake3 digests: a file's content ([`mono_hash`'s `Digest`]), a
//! task ([`TaskHash`], the cache key), an archive's checksum. Each is its own type, so that a
//! file digest can never be passed where a cache key is expected, but all of them are
//! declared with [`digest_type!`], which gives them one text form: exactly 64 lowercase hex
//! digits, in `Display`, `FromStr` and serde alike. Lowercase only, because the text names
//! files and objects in the cache, where `AB..` and `ab..` must not be two entries.
//!
//! ```
//! mono_digest::digest_type! {
//!     /// The hash of a recipe.
//!     RecipeHash
//! }
//!
//! let hash = RecipeHash::of(b"flour, water, salt");
//! let text = hash.to_string();
//! assert_eq!(text.len(), 64);
//! assert_eq!(text.parse::<RecipeHash>().unwrap(), hash);
//! assert!(text.to_uppercase().parse::<RecipeHash>().is_err());
//! assert_eq!(hash.short().len(), 16);
//! ```
//!
//! It is its own crate because the hash crate and the cache crate both need it and neither
//! may depend on the other (the cache server uses the cache without the hasher).
//!
//! [`mono_hash`'s `Digest`]: https://docs.rs/mono-hash
//! [`TaskHash`]: https://docs.rs/mono-hash

use std::fmt;

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

/// Parses exactly 64 lowercase hex digits.
pub fn parse_hex32(text: &str) -> Result<[u8; 32], DigestError> {
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
    let nibble = |c: u8| match c {
        b'0'..=b'9' => c - b'0',
        _ => c - b'a' + 10,
    };
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        *byte = (nibble(pair[0]) << 4) | nibble(pair[1]);
    }
    Ok(out)
}

/// Writes `bytes` as lowercase hex digits.
pub fn write_hex(bytes: &[u8; 32], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 64];
    for (i, byte) in bytes.iter().enumerate() {
        buf[2 * i] = HEX[usize::from(byte >> 4)];
        buf[2 * i + 1] = HEX[usize::from(byte & 0xf)];
    }
    // Only ASCII hex digits were written.
    f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
}

/// Declares a 32-byte digest newtype: `from_bytes`, `as_bytes`, `of` (blake3 of bytes),
/// `short` (16 hex digits, for reports), `From<blake3::Hash>`, and the one text form
/// (`Display`, `Debug`, `FromStr`, serde) of 64 lowercase hex digits.
#[macro_export]
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

            /// The blake3 digest of `bytes`.
            pub fn of(bytes: &[u8]) -> Self {
                Self(*$crate::__blake3::hash(bytes).as_bytes())
            }

            /// The first 16 hex digits (64 bits): enough to tell digests apart in a
            /// report, never to key a cache.
            pub fn short(&self) -> String {
                let mut text = self.to_string();
                text.truncate(16);
                text
            }
        }

        impl From<$crate::__blake3::Hash> for $name {
            fn from(hash: $crate::__blake3::Hash) -> Self {
                Self(*hash.as_bytes())
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                $crate::write_hex(&self.0, f)
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, "{}({self})", stringify!($name))
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::DigestError;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                $crate::parse_hex32(text).map(Self)
            }
        }

        impl $crate::__serde::Serialize for $name {
            fn serialize<S: $crate::__serde::Serializer>(
                &self,
                serializer: S,
            ) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> $crate::__serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__serde::Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Self, D::Error> {
                let text = <::std::borrow::Cow<'de, str> as $crate::__serde::Deserialize>::deserialize(
                    deserializer,
                )?;
                text.parse().map_err(<D::Error as $crate::__serde::de::Error>::custom)
            }
        }
    };
}

#[doc(hidden)]
pub use blake3 as __blake3;
#[doc(hidden)]
pub use serde as __serde;

#[cfg(test)]
mod tests {
    digest_type! {
        /// A digest for the tests.
        TestDigest
    }

    #[test]
    fn displays_lowercase_hex_and_round_trips() {
        let digest = TestDigest::from_bytes([0xab; 32]);
        assert_eq!(digest.to_string(), "ab".repeat(32));
        assert_eq!(digest.to_string().parse::<TestDigest>().unwrap(), digest);
        assert_eq!(
            format!("{digest:?}"),
            format!("TestDigest({})", "ab".repeat(32))
        );
        assert_eq!(digest.short(), "ab".repeat(8));
        assert_eq!(digest.as_bytes(), &[0xab; 32]);
    }

    #[test]
    fn of_is_blake3() {
        let digest = TestDigest::of(b"web#build");
        assert_eq!(
            digest.to_string(),
            blake3::hash(b"web#build").to_hex().as_str()
        );
        assert_eq!(TestDigest::from(blake3::hash(b"web#build")), digest);
    }

    #[test]
    fn rejects_everything_but_64_lowercase_hex_digits() {
        for text in [
            String::new(),
            "abc".to_owned(),
            "A".repeat(64),
            "0".repeat(65),
            format!("{}g", "0".repeat(63)),
            "../../../../etc/passwd".to_owned(),
        ] {
            assert!(text.parse::<TestDigest>().is_err(), "{text:?} parsed");
        }
        let err = "0".repeat(63).parse::<TestDigest>().unwrap_err();
        assert!(err.to_string().contains("63 characters"), "{err}");
    }

    #[test]
    fn serializes_as_a_hex_string() {
        let digest = TestDigest::of(b"x");
        let json = serde_json::to_string(&digest).unwrap();
        assert_eq!(json, format!("\"{digest}\""));
        assert_eq!(serde_json::from_str::<TestDigest>(&json).unwrap(), digest);
        assert!(serde_json::from_str::<TestDigest>("\"zz\"").is_err());
    }
}
