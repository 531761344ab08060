//! Signed checkpoints: a tree size, its root hash and a time, signed with Ed25519.
//!
//! The signed message is a small text note, so a person can read what was signed:
//!
//! ```text
//! slipway.dev/audit/v1
//! <tree size>
//! <root hash, base64>
//! <RFC 3339 time>
//! ```

use super::merkle::Hash;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, Verifier};
pub use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A tree head at a point in time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    pub size: u64,
    /// Root hash, hex.
    pub root: String,
    pub timestamp: String,
}

/// A checkpoint with its signature and the id of the key that made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedCheckpoint {
    #[serde(flatten)]
    pub checkpoint: Checkpoint,
    pub key_id: String,
    /// Ed25519 signature over [`Checkpoint::note`], base64.
    pub signature: String,
}

impl Checkpoint {
    pub fn new(size: u64, root: &Hash, timestamp: String) -> Self {
        Checkpoint {
            size,
            root: hex::encode(root),
            timestamp,
        }
    }

    /// The text that is signed.
    pub fn note(&self) -> String {
        let root = hex::decode(&self.root).unwrap_or_default();
        format!(
            "slipway.dev/audit/v1\n{}\n{}\n{}\n",
            self.size,
            STANDARD.encode(root),
            self.timestamp
        )
    }

    pub fn sign(&self, key: &SigningKey) -> SignedCheckpoint {
        SignedCheckpoint {
            checkpoint: self.clone(),
            key_id: key_id(&key.verifying_key()),
            signature: STANDARD.encode(key.sign(self.note().as_bytes()).to_bytes()),
        }
    }

    /// The root as bytes; `None` when the stored hex is malformed.
    pub fn root_hash(&self) -> Option<Hash> {
        hex::decode(&self.root).ok()?.try_into().ok()
    }
}

impl SignedCheckpoint {
    /// Checks the signature with `key`; the error says why it fails.
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), String> {
        let expected_id = key_id(key);
        if self.key_id != expected_id {
            return Err(format!(
                "signed by key {} but the trusted key is {expected_id}",
                self.key_id
            ));
        }
        let bytes = STANDARD
            .decode(&self.signature)
            .map_err(|e| format!("signature is not valid base64: {e}"))?;
        let sig =
            Signature::from_slice(&bytes).map_err(|_| "signature is not 64 bytes".to_string())?;
        if self.checkpoint.root_hash().is_none() {
            return Err("root is not a 32-byte hex hash".into());
        }
        key.verify(self.checkpoint.note().as_bytes(), &sig)
            .map_err(|_| "signature does not verify".to_string())
    }
}

/// A short, stable id for a public key: the first 16 hex digits of its SHA-256.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

/// Parses a public key written as 64 hex digits or base64 (as in `audit-signing.pub`).
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, String> {
    let text = text.trim();
    let bytes = hex::decode(text)
        .or_else(|_| STANDARD.decode(text))
        .map_err(|_| "public key is neither hex nor base64".to_string())?;
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| "public key is not 32 bytes".to_string())?;
    VerifyingKey::from_bytes(&arr)
        .map_err(|_| "public key is not a valid ed25519 point".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let cp = Checkpoint::new(5, &[1u8; 32], "2026-01-01T00:00:00Z".into());
        let signed = cp.sign(&key);
        assert_eq!(signed.verify(&key.verifying_key()), Ok(()));
        let mut bad = signed.clone();
        bad.checkpoint.size = 6;
        assert_eq!(
            bad.verify(&key.verifying_key()),
            Err("signature does not verify".into())
        );
        let other = SigningKey::from_bytes(&[8u8; 32]);
        assert!(
            signed
                .verify(&other.verifying_key())
                .unwrap_err()
                .contains("trusted key")
        );
        let pk = hex::encode(key.verifying_key().as_bytes());
        assert_eq!(parse_public_key(&pk), Ok(key.verifying_key()));
    }
}
