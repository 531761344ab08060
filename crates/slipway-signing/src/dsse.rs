//! DSSE (Dead Simple Signing Envelope) v1 with Ed25519: the pre-authentication
//! encoding, signing, and verification against a set of trusted keys.
//!
//! The signature covers `PAE(payloadType, payload)` =
//! `"DSSEv1" SP LEN(type) SP type SP LEN(payload) SP payload`, with lengths in
//! ASCII decimal, so neither the payload type nor the payload can be changed
//! without breaking every signature.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::keys::key_id;

/// A DSSE envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DsseEnvelope {
    /// How to interpret the payload, e.g. `application/vnd.in-toto+json`.
    pub payload_type: String,
    /// Base64 of the payload bytes.
    pub payload: String,
    /// One or more signatures over `PAE(payload_type, payload)`.
    pub signatures: Vec<DsseSignature>,
}

/// One signature in an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DsseSignature {
    /// Optional hint naming the key ([`key_id`] for keys made here); empty if absent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub keyid: String,
    /// Base64 of the signature bytes.
    pub sig: String,
}

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedEnvelope {
    /// The authenticated payload type.
    pub payload_type: String,
    /// The authenticated payload bytes.
    pub payload: Vec<u8>,
    /// Ids of the trusted keys whose signatures verified.
    pub key_ids: Vec<String>,
}

/// Why an envelope was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DsseError {
    /// The document is not a DSSE envelope.
    #[error("dsse envelope is not valid json of the expected shape: {0}")]
    Document(String),
    /// The `payload` field is not base64.
    #[error("dsse envelope field `payload` is not base64: {0}")]
    PayloadEncoding(String),
    /// The envelope has no signatures.
    #[error("dsse envelope has no signatures")]
    NoSignatures,
    /// No signature verified with a trusted key; one reason per signature.
    #[error("no dsse signature verifies with a trusted key: {}", .0.join("; "))]
    NoTrustedSignature(Vec<String>),
}

/// The DSSE v1 pre-authentication encoding of a payload and its type.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut encoded = Vec::with_capacity(payload_type.len() + payload.len() + 32);
    encoded.extend_from_slice(b"DSSEv1 ");
    encoded.extend_from_slice(payload_type.len().to_string().as_bytes());
    encoded.push(b' ');
    encoded.extend_from_slice(payload_type.as_bytes());
    encoded.push(b' ');
    encoded.extend_from_slice(payload.len().to_string().as_bytes());
    encoded.push(b' ');
    encoded.extend_from_slice(payload);
    encoded
}

/// Decode DSSE base64: standard or URL-safe alphabet, padded or not.
fn decode_base64(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    STANDARD
        .decode(text)
        .or_else(|_| URL_SAFE.decode(text))
        .or_else(|_| STANDARD_NO_PAD.decode(text))
        .or_else(|_| URL_SAFE_NO_PAD.decode(text))
}

impl DsseEnvelope {
    /// An envelope holding `payload`, signed by `key` (key id set to [`key_id`]).
    pub fn sign(payload_type: &str, payload: &[u8], key: &SigningKey) -> Self {
        let signature = key.sign(&pae(payload_type, payload));
        Self {
            payload_type: payload_type.to_owned(),
            payload: STANDARD.encode(payload),
            signatures: vec![DsseSignature {
                keyid: key_id(&key.verifying_key()),
                sig: STANDARD.encode(signature.to_bytes()),
            }],
        }
    }

    /// Parse an envelope document.
    pub fn from_json(document: &[u8]) -> Result<Self, DsseError> {
        serde_json::from_slice(document).map_err(|error| DsseError::Document(error.to_string()))
    }

    /// The decoded payload, not yet authenticated.
    pub fn payload_bytes(&self) -> Result<Vec<u8>, DsseError> {
        decode_base64(&self.payload).map_err(|error| DsseError::PayloadEncoding(error.to_string()))
    }

    /// Verify that at least one signature is by one of `trusted_keys`.
    ///
    /// A signature with a key id is checked only against the trusted key with
    /// that id; one without is checked against every trusted key.
    pub fn verify(&self, trusted_keys: &[VerifyingKey]) -> Result<VerifiedEnvelope, DsseError> {
        if self.signatures.is_empty() {
            return Err(DsseError::NoSignatures);
        }
        let payload = self.payload_bytes()?;
        let message = pae(&self.payload_type, &payload);
        let mut key_ids = Vec::new();
        let mut reasons = Vec::new();
        for (index, entry) in self.signatures.iter().enumerate() {
            match verify_one(entry, &message, trusted_keys) {
                Ok(id) => {
                    if !key_ids.contains(&id) {
                        key_ids.push(id);
                    }
                }
                Err(reason) => reasons.push(format!("signatures[{index}]: {reason}")),
            }
        }
        if key_ids.is_empty() {
            return Err(DsseError::NoTrustedSignature(reasons));
        }
        Ok(VerifiedEnvelope {
            payload_type: self.payload_type.clone(),
            payload,
            key_ids,
        })
    }
}

fn verify_one(
    entry: &DsseSignature,
    message: &[u8],
    trusted_keys: &[VerifyingKey],
) -> Result<String, String> {
    let bytes =
        decode_base64(&entry.sig).map_err(|error| format!("`sig` is not base64: {error}"))?;
    let bytes: [u8; 64] = bytes
        .try_into()
        .map_err(|bytes: Vec<u8>| format!("`sig` has {} bytes, ed25519 has 64", bytes.len()))?;
    let signature = Signature::from_bytes(&bytes);
    let candidates: Vec<(&VerifyingKey, String)> = trusted_keys
        .iter()
        .map(|key| (key, key_id(key)))
        .filter(|(_, id)| entry.keyid.is_empty() || *id == entry.keyid)
        .collect();
    if candidates.is_empty() {
        return Err(format!("key {:?} is not trusted", entry.keyid));
    }
    candidates
        .into_iter()
        .find(|(key, _)| key.verify_strict(message, &signature).is_ok())
        .map(|(_, id)| id)
        .ok_or_else(|| "signature does not verify over the envelope's payload".to_owned())
}
