#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors
//! Slipway's detached Ed25519 artifact signatures: round trips, the JSON form,
//! and every way a signature document can be tampered with.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::Signer;
use slipway_signing::artifact_signature::{SIGNED_MESSAGE_PREFIX, signed_message};
use slipway_signing::{
    ArtifactSignature, DsseEnvelope, Sha256Digest, SignatureError, SigningKey, VerifyingKey,
    key_id, sign_digest, verify_signature,
};
use time::macros::datetime;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn artifact() -> Sha256Digest {
    Sha256Digest::of(b"slipway release 1.2.3")
}

fn signature() -> ArtifactSignature {
    sign_digest(&key(1), &artifact(), datetime!(2026-08-19 10:00:00.5 UTC))
}

/// Verify `document` against `digest` with `trusted` keys and compare the
/// outcome with `expected` (`Ok` = the signer's key id).
fn check(
    name: &str,
    document: &ArtifactSignature,
    digest: &Sha256Digest,
    trusted: &[VerifyingKey],
    expected: Result<String, fn(&SignatureError) -> bool>,
) {
    let outcome = verify_signature(document, digest, trusted);
    match (&outcome, expected) {
        (Ok(verified), Ok(key)) => assert_eq!(verified.key_id, key, "{name}"),
        (Err(error), Err(matches)) => assert!(matches(error), "{name}: unexpected error {error}"),
        _ => panic!("{name}: unexpected outcome {outcome:?}"),
    }
}

#[test]
fn a_signature_verifies_with_its_key_and_carries_its_time() {
    let signed = signature();
    let verified = verify_signature(&signed, &artifact(), &[key(1).verifying_key()]).unwrap();
    assert_eq!(verified.key_id, key_id(&key(1).verifying_key()));
    assert_eq!(verified.signed_at, datetime!(2026-08-19 10:00:00.5 UTC));
    assert_eq!(signed.key_id.len(), 64, "key id is a sha256 hex");
}

#[test]
fn the_json_form_round_trips_and_names_its_fields() {
    let signed = signature();
    let json = signed.to_json_pretty().unwrap();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["format"], "slipway.dev/artifact-signature/v1");
    assert_eq!(value["algorithm"], "ed25519");
    assert_eq!(value["digest"]["sha256"], artifact().to_hex());
    assert_eq!(value["signedAt"], "2026-08-19T10:00:00.5Z");
    assert_eq!(
        STANDARD
            .decode(value["signature"].as_str().unwrap())
            .unwrap()
            .len(),
        64
    );
    let parsed = ArtifactSignature::from_json(json.as_bytes()).unwrap();
    assert_eq!(parsed, signed);
    verify_signature(&parsed, &artifact(), &[key(1).verifying_key()]).unwrap();
}

#[test]
fn documents_with_unknown_fields_or_bad_digests_are_rejected() {
    let mut value = serde_json::to_value(signature()).unwrap();
    value["extra"] = serde_json::json!(true);
    assert!(matches!(
        ArtifactSignature::from_json(value.to_string().as_bytes()),
        Err(SignatureError::Document(_))
    ));
    let mut value = serde_json::to_value(signature()).unwrap();
    value["digest"]["sha256"] = serde_json::json!("abc");
    assert!(matches!(
        ArtifactSignature::from_json(value.to_string().as_bytes()),
        Err(SignatureError::Document(_))
    ));
}

#[test]
fn tampering_is_detected_with_the_reason() {
    let trusted = [key(2).verifying_key(), key(1).verifying_key()];
    let signer = key_id(&key(1).verifying_key());
    let other = Sha256Digest::of(b"another artifact");
    let tampered = |change: fn(&mut ArtifactSignature)| {
        let mut document = signature();
        change(&mut document);
        document
    };

    check("untouched", &signature(), &artifact(), &trusted, Ok(signer));
    check(
        "other artifact",
        &signature(),
        &other,
        &trusted,
        Err(|e| matches!(e, SignatureError::DigestMismatch { .. })),
    );
    check(
        "digest field replaced to match another artifact",
        &tampered(|d| d.digest.sha256 = Sha256Digest::of(b"another artifact")),
        &other,
        &trusted,
        Err(|e| matches!(e, SignatureError::Invalid { .. })),
    );
    check(
        "signed time moved",
        &tampered(|d| d.signed_at = datetime!(2030-01-01 00:00 UTC)),
        &artifact(),
        &trusted,
        Err(|e| matches!(e, SignatureError::Invalid { .. })),
    );
    check(
        "signature bit flipped",
        &tampered(|d| {
            let mut bytes = STANDARD.decode(&d.signature).unwrap();
            bytes[10] ^= 1;
            d.signature = STANDARD.encode(bytes);
        }),
        &artifact(),
        &trusted,
        Err(|e| matches!(e, SignatureError::Invalid { .. })),
    );
    check(
        "signature truncated",
        &tampered(|d| d.signature = STANDARD.encode([0u8; 63])),
        &artifact(),
        &trusted,
        Err(|e| matches!(e, SignatureError::Malformed(_))),
    );
    check(
        "signature not base64",
        &tampered(|d| d.signature = "!!".into()),
        &artifact(),
        &trusted,
        Err(|e| matches!(e, SignatureError::Malformed(_))),
    );
    check(
        "key id claims the other trusted key",
        &tampered(|d| d.key_id = key_id(&key(2).verifying_key())),
        &artifact(),
        &trusted,
        Err(|e| matches!(e, SignatureError::Invalid { .. })),
    );
    check(
        "signer not trusted",
        &signature(),
        &artifact(),
        &[key(2).verifying_key()],
        Err(|e| matches!(e, SignatureError::UntrustedKey { trusted: 1, .. })),
    );
    check(
        "algorithm changed",
        &tampered(|d| d.algorithm = "rsa".into()),
        &artifact(),
        &trusted,
        Err(|e| matches!(e, SignatureError::Algorithm { .. })),
    );
    check(
        "format changed",
        &tampered(|d| d.format = "other/v1".into()),
        &artifact(),
        &trusted,
        Err(|e| matches!(e, SignatureError::Format { .. })),
    );
}

#[test]
fn signatures_made_for_other_purposes_with_the_same_key_are_not_accepted() {
    let at = datetime!(2026-08-19 10:00 UTC);
    let message = signed_message(&artifact(), at);
    assert!(message.starts_with(SIGNED_MESSAGE_PREFIX));
    let unprefixed = &message[SIGNED_MESSAGE_PREFIX.len()..];
    let dsse = DsseEnvelope::sign("application/octet-stream", unprefixed, &key(1));
    for (name, raw) in [
        ("raw digest", key(1).sign(artifact().as_bytes())),
        ("message without prefix", key(1).sign(unprefixed)),
        ("dsse signature over the same bytes", {
            let bytes = STANDARD.decode(&dsse.signatures[0].sig).unwrap();
            ed25519_dalek::Signature::from_slice(&bytes).unwrap()
        }),
    ] {
        let mut document = sign_digest(&key(1), &artifact(), at);
        document.signature = STANDARD.encode(raw.to_bytes());
        assert!(
            matches!(
                verify_signature(&document, &artifact(), &[key(1).verifying_key()]),
                Err(SignatureError::Invalid { .. })
            ),
            "{name} must not verify"
        );
    }
}
