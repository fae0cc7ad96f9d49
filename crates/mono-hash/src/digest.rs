//! The hash types of a run, declared with mono-digest's one text form (64 lowercase hex
//! digits).

use mono_digest::digest_type;

pub use mono_digest::DigestError;

digest_type! {
    /// The blake3 hash of some content: a file's bytes, a symbolic link's target, an
    /// environment variable's value.
    Digest
}

digest_type! {
    /// The hash of a task: the cache key of its outputs and log. See [`TaskHash::compute`].
    TaskHash
}

digest_type! {
    /// The hash of everything every task depends on. See [`GlobalHash::compute`].
    GlobalHash
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
        // One text form: uppercase would name another file in the cache.
        assert!(text.to_uppercase().parse::<TaskHash>().is_err());
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
