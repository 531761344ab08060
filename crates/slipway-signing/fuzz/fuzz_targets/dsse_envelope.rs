//! Fuzz target: DSSE envelope, in-toto statement and artifact-signature
//! document parsing and verification of arbitrary bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_signing::in_toto::SLSA_PROVENANCE_V1;
use slipway_signing::{
    ArtifactSignature, DsseEnvelope, Sha256Digest, SigningKey, verify_attestation, verify_signature,
};

fuzz_target!(|data: &[u8]| {
    let trusted = [SigningKey::from_bytes(&[7; 32]).verifying_key()];
    let artifact = Sha256Digest::of(b"artifact");
    if let Ok(envelope) = DsseEnvelope::from_json(data) {
        let _ = envelope.payload_bytes();
        let _ = envelope.verify(&trusted);
        let _ = verify_attestation(&envelope, &artifact, SLSA_PROVENANCE_V1, &trusted);
    }
    if let Ok(signature) = ArtifactSignature::from_json(data) {
        let _ = verify_signature(&signature, &artifact, &trusted);
        let _ = signature.to_json_pretty();
    }
});
