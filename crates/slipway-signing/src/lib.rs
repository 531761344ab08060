//! Slipway's artifact signing and verification.
//!
//! * [`sigstore_bundle`]: offline verification of Sigstore bundles (keyless or
//!   managed-key) against a trusted root, by default the embedded production root.
//! * [`artifact_signature`]: Slipway's own detached Ed25519 signatures over an
//!   artifact's SHA-256 digest.
//! * [`dsse`] and [`in_toto`]: DSSE envelopes (PAE, Ed25519) carrying in-toto
//!   statements, with builders for SLSA Provenance v1 and SLSA Verification
//!   Summaries, and their verification against an artifact.
//!
//! Everything here takes values and returns values: no file or network access, and
//! signing times come from the caller (the Sigstore verifier reads the clock only
//! to reject transparency-log times in the future).

pub mod artifact_signature;
pub mod digest;
pub mod dsse;
pub mod in_toto;
pub mod keys;
pub mod sigstore_bundle;

pub use artifact_signature::{
    ArtifactSignature, SignatureError, VerifiedSignature, sign_digest, verify_signature,
};
pub use digest::{DigestParseError, Sha256Digest};
pub use dsse::{DsseEnvelope, DsseError, DsseSignature, VerifiedEnvelope, pae};
pub use ed25519_dalek::{SigningKey, VerifyingKey};
pub use in_toto::{
    AttestationError, Provenance, ResourceDescriptor, Statement, VerificationSummary,
    VerifiedAttestation, verify_attestation,
};
pub use keys::key_id;
pub use sigstore_bundle::{
    ArtifactInput, BundleVerifier, FailedCheck, Policy, SignedContent, Signer, VerifiedBundle,
    VerifyError, VerifyRequest, verify_bundle,
};
