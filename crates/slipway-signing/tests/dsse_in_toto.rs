#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors
//! DSSE envelopes (PAE, Ed25519) and in-toto attestations: the spec's PAE
//! example, SLSA Provenance v1 and Verification Summary v1 statements, and
//! rejection of tampered payloads, wrong subjects, wrong keys and wrong types.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;
use slipway_signing::in_toto::{
    BuildDefinition, BuildMetadata, Builder, IN_TOTO_PAYLOAD_TYPE, PolicyReference, RunDetails,
    SLSA_PROVENANCE_V1, SLSA_VERIFICATION_SUMMARY_V1, VerificationResult, Verifier,
};
use slipway_signing::{
    AttestationError, DsseEnvelope, DsseError, Provenance, ResourceDescriptor, Sha256Digest,
    SigningKey, Statement, VerificationSummary, VerifyingKey, key_id, pae, verify_attestation,
};
use time::macros::datetime;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn artifact() -> Sha256Digest {
    Sha256Digest::of(b"slipway-1.2.3-x86_64-linux.tar.gz contents")
}

fn provenance() -> Provenance {
    Provenance {
        build_definition: BuildDefinition {
            build_type: "https://slipway.dev/build/cargo/v1".into(),
            external_parameters: json!({"ref": "refs/tags/v1.2.3", "profile": "release"}),
            internal_parameters: json!({"rustc": "1.94.0"}),
            resolved_dependencies: vec![ResourceDescriptor::at_uri(
                "git+https://example.com/slipway@refs/tags/v1.2.3",
                &Sha256Digest::of(b"source tree"),
            )],
        },
        run_details: RunDetails {
            builder: Builder {
                id: "https://slipway.dev/builders/ci".into(),
            },
            metadata: Some(BuildMetadata {
                invocation_id: "run-42".into(),
                started_on: datetime!(2026-08-19 10:00 UTC),
                finished_on: datetime!(2026-08-19 10:07:30 UTC),
            }),
        },
    }
}

fn summary(result: VerificationResult) -> VerificationSummary {
    VerificationSummary {
        verifier: Verifier {
            id: "https://slipway.dev/verifier".into(),
        },
        time_verified: datetime!(2026-08-19 11:00 UTC),
        resource_uri: "oci://registry.example.com/slipway@sha256:abc".into(),
        policy: PolicyReference {
            uri: Some("https://slipway.dev/policies/release".into()),
            digest: BTreeMap::new(),
        },
        input_attestations: vec![ResourceDescriptor::at_uri(
            "https://example.com/provenance.json",
            &Sha256Digest::of(b"provenance"),
        )],
        verification_result: result,
        verified_levels: vec!["SLSA_BUILD_LEVEL_2".into()],
    }
}

fn provenance_envelope() -> DsseEnvelope {
    let subjects = vec![ResourceDescriptor::subject("slipway.tar.gz", &artifact())];
    Statement::provenance(subjects, &provenance())
        .unwrap()
        .sign(&key(1))
        .unwrap()
}

#[test]
fn pae_matches_the_dsse_specification_example() {
    assert_eq!(
        pae("http://example.com/HelloWorld", b"hello world"),
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    );
    assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
}

#[test]
fn pae_agrees_with_the_sigstore_implementation() {
    for (payload_type, payload) in [
        ("application/vnd.in-toto+json", &b"{}"[..]),
        ("t", &[0u8, 255, 10, 32][..]),
        ("", &b"a longer payload with spaces and 2 digits"[..]),
    ] {
        assert_eq!(
            pae(payload_type, payload),
            sigstore_verify::types::pae(payload_type, payload),
            "{payload_type:?}"
        );
    }
}

#[test]
fn an_envelope_verifies_with_its_key_and_returns_the_payload() {
    let envelope = DsseEnvelope::sign("text/plain", b"hello", &key(1));
    let verified = envelope
        .verify(&[key(2).verifying_key(), key(1).verifying_key()])
        .unwrap();
    assert_eq!(verified.payload, b"hello");
    assert_eq!(verified.payload_type, "text/plain");
    assert_eq!(verified.key_ids, vec![key_id(&key(1).verifying_key())]);

    // The key id is only a hint: without it every trusted key is tried.
    let mut unhinted = envelope.clone();
    unhinted.signatures[0].keyid.clear();
    assert!(unhinted.verify(&[key(1).verifying_key()]).is_ok());

    // URL-safe unpadded payloads are accepted, as the specification allows.
    let mut url_safe = envelope.clone();
    url_safe.payload = URL_SAFE_NO_PAD.encode(b"hello");
    assert_eq!(
        url_safe.verify(&[key(1).verifying_key()]).unwrap().payload,
        b"hello"
    );

    let json = serde_json::to_value(&envelope).unwrap();
    assert_eq!(json["payloadType"], "text/plain");
    assert_eq!(
        json["signatures"][0]["keyid"],
        key_id(&key(1).verifying_key())
    );
    let parsed = DsseEnvelope::from_json(json.to_string().as_bytes()).unwrap();
    assert_eq!(parsed, envelope);
}

/// Verify `envelope` with `trusted` keys and compare the outcome with `expected`.
fn check_envelope(
    name: &str,
    envelope: &DsseEnvelope,
    trusted: &[VerifyingKey],
    expected: fn(&Result<slipway_signing::VerifiedEnvelope, DsseError>) -> bool,
) {
    let outcome = envelope.verify(trusted);
    assert!(expected(&outcome), "{name}: unexpected outcome {outcome:?}");
}

#[test]
fn tampered_envelopes_are_rejected() {
    let good = DsseEnvelope::sign("text/plain", b"hello", &key(1));
    let trusted = [key(1).verifying_key()];
    let rejected = |e: &Result<_, DsseError>| matches!(e, Err(DsseError::NoTrustedSignature(_)));
    let with = |change: fn(&mut DsseEnvelope)| {
        let mut envelope = good.clone();
        change(&mut envelope);
        envelope
    };
    check_envelope("untouched", &good, &trusted, |e| e.is_ok());
    check_envelope(
        "payload changed",
        &with(|e| e.payload = STANDARD.encode(b"hellO")),
        &trusted,
        rejected,
    );
    check_envelope(
        "payload type changed",
        &with(|e| e.payload_type = "text/html".into()),
        &trusted,
        rejected,
    );
    check_envelope("wrong key", &good, &[key(2).verifying_key()], rejected);
    check_envelope(
        "signature truncated",
        &with(|e| e.signatures[0].sig = STANDARD.encode([1u8; 32])),
        &trusted,
        rejected,
    );
    check_envelope(
        "no signatures",
        &with(|e| e.signatures.clear()),
        &trusted,
        |e| matches!(e, Err(DsseError::NoSignatures)),
    );
    check_envelope(
        "payload not base64",
        &with(|e| e.payload = "%%%".into()),
        &trusted,
        |e| matches!(e, Err(DsseError::PayloadEncoding(_))),
    );
    check_envelope(
        "one good signature among bad ones is enough",
        &with(|e| {
            let mut bad = e.signatures[0].clone();
            bad.sig = STANDARD.encode([0u8; 64]);
            e.signatures.insert(0, bad);
        }),
        &trusted,
        |e| e.is_ok(),
    );
}

#[test]
fn provenance_statements_have_the_slsa_shape_and_verify() {
    let envelope = provenance_envelope();
    assert_eq!(envelope.payload_type, IN_TOTO_PAYLOAD_TYPE);
    let payload: serde_json::Value =
        serde_json::from_slice(&envelope.payload_bytes().unwrap()).unwrap();
    assert_eq!(payload["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(payload["predicateType"], "https://slsa.dev/provenance/v1");
    assert_eq!(payload["subject"][0]["name"], "slipway.tar.gz");
    assert_eq!(
        payload["subject"][0]["digest"]["sha256"],
        artifact().to_hex()
    );
    let predicate = &payload["predicate"];
    assert_eq!(
        predicate["buildDefinition"]["buildType"],
        "https://slipway.dev/build/cargo/v1"
    );
    assert_eq!(
        predicate["buildDefinition"]["externalParameters"]["ref"],
        "refs/tags/v1.2.3"
    );
    assert_eq!(
        predicate["buildDefinition"]["internalParameters"]["rustc"],
        "1.94.0"
    );
    assert!(predicate["buildDefinition"]["resolvedDependencies"][0]["uri"].is_string());
    assert_eq!(
        predicate["runDetails"]["builder"]["id"],
        "https://slipway.dev/builders/ci"
    );
    assert_eq!(
        predicate["runDetails"]["metadata"]["invocationId"],
        "run-42"
    );
    assert_eq!(
        predicate["runDetails"]["metadata"]["startedOn"],
        "2026-08-19T10:00:00Z"
    );
    assert_eq!(
        predicate["runDetails"]["metadata"]["finishedOn"],
        "2026-08-19T10:07:30Z"
    );

    let verified = verify_attestation(
        &envelope,
        &artifact(),
        SLSA_PROVENANCE_V1,
        &[key(1).verifying_key()],
    )
    .unwrap();
    assert_eq!(verified.provenance().unwrap(), provenance());
    assert!(matches!(
        verified.verification_summary(),
        Err(AttestationError::PredicateType { .. })
    ));
}

#[test]
fn verification_summaries_have_the_slsa_shape_and_verify() {
    for result in [VerificationResult::Passed, VerificationResult::Failed] {
        let subjects = vec![ResourceDescriptor::subject("slipway.tar.gz", &artifact())];
        let envelope = Statement::verification_summary(subjects, &summary(result))
            .unwrap()
            .sign(&key(3))
            .unwrap();
        let payload: serde_json::Value =
            serde_json::from_slice(&envelope.payload_bytes().unwrap()).unwrap();
        let predicate = &payload["predicate"];
        assert_eq!(
            payload["predicateType"],
            "https://slsa.dev/verification_summary/v1"
        );
        assert_eq!(predicate["verifier"]["id"], "https://slipway.dev/verifier");
        assert_eq!(predicate["timeVerified"], "2026-08-19T11:00:00Z");
        assert!(predicate["resourceUri"].is_string());
        assert_eq!(
            predicate["policy"]["uri"],
            "https://slipway.dev/policies/release"
        );
        assert!(predicate["inputAttestations"][0]["digest"]["sha256"].is_string());
        assert_eq!(
            predicate["verificationResult"],
            match result {
                VerificationResult::Passed => "PASSED",
                VerificationResult::Failed => "FAILED",
            }
        );
        assert_eq!(predicate["verifiedLevels"][0], "SLSA_BUILD_LEVEL_2");
        let verified = verify_attestation(
            &envelope,
            &artifact(),
            SLSA_VERIFICATION_SUMMARY_V1,
            &[key(3).verifying_key()],
        )
        .unwrap();
        assert_eq!(verified.verification_summary().unwrap(), summary(result));
    }
}

/// Verify an attestation about `digest` expecting `predicate_type`, and
/// compare the outcome with `expected`.
fn check_attestation(
    name: &str,
    envelope: &DsseEnvelope,
    digest: &Sha256Digest,
    predicate_type: &str,
    trusted: &[VerifyingKey],
    expected: fn(&AttestationError) -> bool,
) {
    match verify_attestation(envelope, digest, predicate_type, trusted) {
        Ok(verified) => panic!("{name}: verified unexpectedly: {verified:?}"),
        Err(error) => assert!(expected(&error), "{name}: unexpected error {error}"),
    }
}

#[test]
fn attestations_are_rejected_for_the_right_reason() {
    let trusted = [key(1).verifying_key()];
    let good = provenance_envelope();
    let resigned = |payload_type: &str, payload: &serde_json::Value| {
        DsseEnvelope::sign(payload_type, payload.to_string().as_bytes(), &key(1))
    };
    let statement: serde_json::Value =
        serde_json::from_slice(&good.payload_bytes().unwrap()).unwrap();

    let mut tampered = good.clone();
    let mut changed = statement.clone();
    changed["subject"][0]["digest"]["sha256"] = json!(Sha256Digest::of(b"evil").to_hex());
    tampered.payload = STANDARD.encode(changed.to_string());
    check_attestation(
        "payload tampered after signing",
        &tampered,
        &artifact(),
        SLSA_PROVENANCE_V1,
        &trusted,
        |e| {
            matches!(
                e,
                AttestationError::Envelope(DsseError::NoTrustedSignature(_))
            )
        },
    );
    check_attestation(
        "wrong subject",
        &good,
        &Sha256Digest::of(b"some other artifact"),
        SLSA_PROVENANCE_V1,
        &trusted,
        |e| matches!(e, AttestationError::SubjectMismatch { .. }),
    );
    check_attestation(
        "wrong key",
        &good,
        &artifact(),
        SLSA_PROVENANCE_V1,
        &[key(2).verifying_key()],
        |e| {
            matches!(
                e,
                AttestationError::Envelope(DsseError::NoTrustedSignature(_))
            )
        },
    );
    check_attestation(
        "wrong payload type, validly signed",
        &resigned("application/json", &statement),
        &artifact(),
        SLSA_PROVENANCE_V1,
        &trusted,
        |e| matches!(e, AttestationError::PayloadType { .. }),
    );
    check_attestation(
        "wrong predicate type expected",
        &good,
        &artifact(),
        SLSA_VERIFICATION_SUMMARY_V1,
        &trusted,
        |e| matches!(e, AttestationError::PredicateType { .. }),
    );
    let mut old_statement = statement.clone();
    old_statement["_type"] = json!("https://in-toto.io/Statement/v0.1");
    check_attestation(
        "not a Statement v1",
        &resigned(IN_TOTO_PAYLOAD_TYPE, &old_statement),
        &artifact(),
        SLSA_PROVENANCE_V1,
        &trusted,
        |e| matches!(e, AttestationError::Statement(_)),
    );
    check_attestation(
        "payload not json",
        &DsseEnvelope::sign(IN_TOTO_PAYLOAD_TYPE, b"not json", &key(1)),
        &artifact(),
        SLSA_PROVENANCE_V1,
        &trusted,
        |e| matches!(e, AttestationError::Statement(_)),
    );
}

#[test]
fn incomplete_statements_are_not_built() {
    let subject = || vec![ResourceDescriptor::subject("a", &artifact())];
    let mut no_builder = provenance();
    no_builder.run_details.builder.id.clear();
    let mut no_policy = summary(VerificationResult::Passed);
    no_policy.policy = PolicyReference::default();
    let no_digest = vec![ResourceDescriptor {
        name: Some("a".into()),
        ..ResourceDescriptor::default()
    }];
    for (name, outcome, field) in [
        (
            "no subject",
            Statement::provenance(vec![], &provenance()),
            "subject",
        ),
        (
            "subject without sha256",
            Statement::provenance(no_digest, &provenance()),
            "sha256",
        ),
        (
            "no builder id",
            Statement::provenance(subject(), &no_builder),
            "builder.id",
        ),
        (
            "no policy",
            Statement::verification_summary(subject(), &no_policy),
            "policy",
        ),
    ] {
        match outcome {
            Err(AttestationError::Incomplete(reason)) => {
                assert!(reason.contains(field), "{name}: {reason}")
            }
            other => panic!("{name}: unexpected outcome {other:?}"),
        }
    }
}
