//! The cache's two digests, declared with mono-digest's one text form (64 lowercase hex
//! digits, which name the entry's files and objects).

use mono_digest::digest_type;

pub use mono_digest::DigestError;

digest_type! {
    /// The key of a cache entry: the task hash, a 32-byte blake3 digest. Displays and parses
    /// as 64 lowercase hex digits, the form used in file names and metadata.
    CacheKey
}

digest_type! {
    /// The blake3 digest of an archive's bytes, as recorded in its metadata.
    Checksum
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
