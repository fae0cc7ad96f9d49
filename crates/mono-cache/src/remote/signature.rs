//! Artifact signatures, as Turborepo's `x-artifact-tag`: base64 of HMAC-SHA256 keyed with the
//! shared secret, over the artifact's hash, then the team id, then the artifact's bytes.

use base64::prelude::{Engine, BASE64_STANDARD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Signs and verifies artifacts with a shared secret (`MONO_REMOTE_CACHE_SIGNATURE_KEY`).
///
/// The tag is Turborepo's: `base64(HMAC-SHA256(key, hash ‖ team ‖ body))`, where `hash` is
/// the artifact's hash as written in the URL and `team` the team id (empty without one), so
/// a server may check tags from turbo and mono alike.
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
    team: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("Signer").field("team", &self.team).finish()
    }
}

/// A signature being computed over a body that arrives in pieces.
pub struct Signing(HmacSha256);

impl Signing {
    /// Adds the next piece of the body.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The tag of everything added.
    pub fn finish(self) -> String {
        BASE64_STANDARD.encode(self.0.finalize().into_bytes())
    }

    /// Whether `tag` is the tag of everything added (compared in constant time). A tag that
    /// is not base64 is wrong.
    pub fn verify(self, tag: &str) -> bool {
        match BASE64_STANDARD.decode(tag.trim()) {
            Ok(bytes) => self.0.verify_slice(&bytes).is_ok(),
            Err(_) => false,
        }
    }
}

impl Signer {
    /// A signer with the secret `key` for `team` (the team id, or `""`).
    pub fn new(key: impl Into<Vec<u8>>, team: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            team: team.into(),
        }
    }

    /// Starts a signature of the artifact `hash`.
    pub fn start(&self, hash: &str) -> Signing {
        // HMAC takes keys of any length.
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC accepts any key length");
        mac.update(hash.as_bytes());
        mac.update(self.team.as_bytes());
        Signing(mac)
    }

    /// The tag of a whole body.
    pub fn tag(&self, hash: &str, body: &[u8]) -> String {
        let mut signing = self.start(hash);
        signing.update(body);
        signing.finish()
    }

    /// Whether `tag` is the tag of `body`.
    pub fn verify(&self, hash: &str, body: &[u8], tag: &str) -> bool {
        let mut signing = self.start(hash);
        signing.update(body);
        signing.verify(tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_is_hmac_sha256_of_hash_team_and_body_in_base64() {
        let signer = Signer::new(b"secret".to_vec(), "team_abc");
        // Independent computation of the same HMAC.
        let mut mac = HmacSha256::new_from_slice(b"secret").unwrap();
        mac.update(b"0123abcdteam_abcbody bytes");
        let expected = BASE64_STANDARD.encode(mac.finalize().into_bytes());
        assert_eq!(signer.tag("0123abcd", b"body bytes"), expected);
        assert_eq!(expected.len(), 44);
    }

    #[test]
    fn verifies_only_the_right_tag() {
        let signer = Signer::new(b"k".to_vec(), "");
        let tag = signer.tag("h", b"body");
        assert!(signer.verify("h", b"body", &tag));
        assert!(!signer.verify("h", b"bodY", &tag));
        assert!(!signer.verify("other", b"body", &tag));
        assert!(!Signer::new(b"k2".to_vec(), "").verify("h", b"body", &tag));
        assert!(!Signer::new(b"k".to_vec(), "t").verify("h", b"body", &tag));
        assert!(!signer.verify("h", b"body", "not base64!"));
        assert!(!signer.verify("h", b"body", ""));
        let mut streamed = signer.start("h");
        streamed.update(b"bo");
        streamed.update(b"dy");
        assert!(streamed.verify(&tag));
    }
}
