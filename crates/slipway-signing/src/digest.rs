//! SHA-256 artifact digests: the one value every signature in this crate is about.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// The SHA-256 digest of an artifact's bytes.
///
/// Its text form is lowercase hex (64 characters); [`Sha256Digest::from_str`]
/// also accepts an optional `sha256:` prefix, as artifact registries print it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sha256Digest([u8; 32]);

/// Why a text digest was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestParseError {
    /// The text is not 64 hex characters.
    #[error("sha256 digest must be 64 hex characters, got {length} characters")]
    Length {
        /// How many characters were given (after any `sha256:` prefix).
        length: usize,
    },
    /// The text has a character outside `[0-9a-fA-F]`.
    #[error("sha256 digest is not hex: {0}")]
    NotHex(String),
}

impl Sha256Digest {
    /// Wrap 32 digest bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// The 32 digest bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex, without prefix.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl FromStr for Sha256Digest {
    type Err = DigestParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let hex_text = text.strip_prefix("sha256:").unwrap_or(text);
        if hex_text.len() != 64 {
            return Err(DigestParseError::Length {
                length: hex_text.chars().count(),
            });
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_text, &mut bytes)
            .map_err(|error| DigestParseError::NotHex(error.to_string()))?;
        Ok(Self(bytes))
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.to_hex())
    }
}

impl Serialize for Sha256Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Sha256Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn text_round_trips_and_accepts_the_registry_prefix() {
        let digest = Sha256Digest::of(b"hello world");
        assert_eq!(
            digest.to_hex(),
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
        assert_eq!(digest.to_hex().parse::<Sha256Digest>().unwrap(), digest);
        assert_eq!(
            format!("sha256:{digest}").parse::<Sha256Digest>().unwrap(),
            digest
        );
    }

    #[test]
    fn bad_text_is_rejected_with_the_reason() {
        assert_eq!(
            "abc".parse::<Sha256Digest>(),
            Err(DigestParseError::Length { length: 3 })
        );
        assert!(matches!(
            "z".repeat(64).parse::<Sha256Digest>(),
            Err(DigestParseError::NotHex(_))
        ));
        // Multi-byte characters must not panic on slicing.
        assert!("é".repeat(32).parse::<Sha256Digest>().is_err());
    }
}
