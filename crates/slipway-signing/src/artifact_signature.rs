//! Slipway's own detached artifact signatures: Ed25519 over an artifact's
//! SHA-256 digest and the signing time, with a domain-separation prefix so a
//! signature made here can never be replayed as a signature of anything else
//! (an audit checkpoint, a DSSE envelope) made with the same key.
//!
//! The signed message is `SIGNED_MESSAGE_PREFIX || digest (32 bytes) ||
//! signed time (Unix nanoseconds, signed 128-bit big-endian)`. The JSON form is
//! described on [`ArtifactSignature`].

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::digest::Sha256Digest;
use crate::keys::key_id;

/// The `format` every signature document carries.
pub const SIGNATURE_FORMAT: &str = "slipway.dev/artifact-signature/v1";
/// The only algorithm this format uses.
pub const ED25519: &str = "ed25519";
/// Prefix of every signed message; it ends in a NUL so no text can extend it.
pub const SIGNED_MESSAGE_PREFIX: &[u8] = b"slipway artifact signature v1\0";

/// A detached signature over an artifact's digest.
///
/// ```json
/// {
///   "format": "slipway.dev/artifact-signature/v1",
///   "keyId": "<sha256 hex of the 32-byte public key>",
///   "algorithm": "ed25519",
///   "digest": { "sha256": "<hex>" },
///   "signedAt": "2026-08-19T10:00:00Z",
///   "signature": "<base64 of the 64-byte signature>"
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArtifactSignature {
    /// Always [`SIGNATURE_FORMAT`].
    pub format: String,
    /// SHA-256 (hex) of the signer's raw 32-byte public key.
    pub key_id: String,
    /// Always [`ED25519`].
    pub algorithm: String,
    /// The artifact's digest.
    pub digest: SignedDigest,
    /// When the signature was made (part of the signed message).
    #[serde(with = "time::serde::rfc3339")]
    pub signed_at: OffsetDateTime,
    /// Base64 (standard, padded) of the 64-byte Ed25519 signature.
    pub signature: String,
}

/// The digest a signature covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedDigest {
    /// SHA-256 of the artifact.
    pub sha256: Sha256Digest,
}

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// The trusted key that made the signature.
    pub key_id: String,
    /// The signed time (authenticated by the signature).
    pub signed_at: OffsetDateTime,
}

/// Why a signature document was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The document is not a signature document.
    #[error("artifact signature document is not valid json of the expected shape: {0}")]
    Document(String),
    /// The `format` field names another format.
    #[error("artifact signature format is {found:?}, expected {SIGNATURE_FORMAT:?}")]
    Format {
        /// The format found.
        found: String,
    },
    /// The `algorithm` field names another algorithm.
    #[error("artifact signature algorithm is {found:?}, only {ED25519:?} is supported")]
    Algorithm {
        /// The algorithm found.
        found: String,
    },
    /// The signature is about another artifact.
    #[error("artifact signature covers sha256 {signed}, but the artifact's sha256 is {artifact}")]
    DigestMismatch {
        /// The digest in the signature document.
        signed: Sha256Digest,
        /// The artifact's digest.
        artifact: Sha256Digest,
    },
    /// No trusted key has the document's key id.
    #[error("artifact signature key {key_id} is not one of the {trusted} trusted keys")]
    UntrustedKey {
        /// The key id in the document.
        key_id: String,
        /// How many keys were trusted.
        trusted: usize,
    },
    /// The `signature` field is not a base64 64-byte signature.
    #[error("artifact signature field `signature` is malformed: {0}")]
    Malformed(String),
    /// The signature does not verify with the key it names.
    #[error("artifact signature does not verify with key {key_id}")]
    Invalid {
        /// The key the signature was checked with.
        key_id: String,
    },
}

impl ArtifactSignature {
    /// Parse a signature document.
    pub fn from_json(document: &[u8]) -> Result<Self, SignatureError> {
        serde_json::from_slice(document)
            .map_err(|error| SignatureError::Document(error.to_string()))
    }

    /// The document as pretty-printed JSON. Fails only for a signed time that
    /// RFC 3339 cannot write (a year outside 0000–9999).
    pub fn to_json_pretty(&self) -> Result<String, SignatureError> {
        serde_json::to_string_pretty(self)
            .map_err(|error| SignatureError::Document(error.to_string()))
    }
}

/// The exact bytes an artifact signature signs.
pub fn signed_message(digest: &Sha256Digest, signed_at: OffsetDateTime) -> Vec<u8> {
    let mut message = Vec::with_capacity(SIGNED_MESSAGE_PREFIX.len() + 32 + 16);
    message.extend_from_slice(SIGNED_MESSAGE_PREFIX);
    message.extend_from_slice(digest.as_bytes());
    message.extend_from_slice(&signed_at.unix_timestamp_nanos().to_be_bytes());
    message
}

/// Sign an artifact's digest at `signed_at` (the caller owns the clock).
pub fn sign_digest(
    key: &SigningKey,
    digest: &Sha256Digest,
    signed_at: OffsetDateTime,
) -> ArtifactSignature {
    let signature = key.sign(&signed_message(digest, signed_at));
    ArtifactSignature {
        format: SIGNATURE_FORMAT.to_owned(),
        key_id: key_id(&key.verifying_key()),
        algorithm: ED25519.to_owned(),
        digest: SignedDigest { sha256: *digest },
        signed_at,
        signature: STANDARD.encode(signature.to_bytes()),
    }
}

/// Verify that `signature` is a signature over `artifact` by one of `trusted_keys`.
pub fn verify_signature(
    signature: &ArtifactSignature,
    artifact: &Sha256Digest,
    trusted_keys: &[VerifyingKey],
) -> Result<VerifiedSignature, SignatureError> {
    if signature.format != SIGNATURE_FORMAT {
        return Err(SignatureError::Format {
            found: signature.format.clone(),
        });
    }
    if signature.algorithm != ED25519 {
        return Err(SignatureError::Algorithm {
            found: signature.algorithm.clone(),
        });
    }
    if signature.digest.sha256 != *artifact {
        return Err(SignatureError::DigestMismatch {
            signed: signature.digest.sha256,
            artifact: *artifact,
        });
    }
    let key = trusted_keys
        .iter()
        .find(|key| key_id(key) == signature.key_id)
        .ok_or_else(|| SignatureError::UntrustedKey {
            key_id: signature.key_id.clone(),
            trusted: trusted_keys.len(),
        })?;
    let bytes = STANDARD
        .decode(&signature.signature)
        .map_err(|error| SignatureError::Malformed(format!("not base64: {error}")))?;
    let bytes: [u8; 64] = bytes.try_into().map_err(|bytes: Vec<u8>| {
        SignatureError::Malformed(format!(
            "{} bytes, an ed25519 signature has 64",
            bytes.len()
        ))
    })?;
    key.verify_strict(
        &signed_message(artifact, signature.signed_at),
        &Signature::from_bytes(&bytes),
    )
    .map_err(|_| SignatureError::Invalid {
        key_id: signature.key_id.clone(),
    })?;
    Ok(VerifiedSignature {
        key_id: signature.key_id.clone(),
        signed_at: signature.signed_at,
    })
}
