//! Ed25519 key identities shared by every signature format in this crate.

use ed25519_dalek::VerifyingKey;

use crate::digest::Sha256Digest;

/// A key's id: the SHA-256 (lowercase hex) of its raw 32-byte public key.
pub fn key_id(key: &VerifyingKey) -> String {
    Sha256Digest::of(key.as_bytes()).to_hex()
}
