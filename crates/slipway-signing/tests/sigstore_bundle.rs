#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors
//! What a verified Sigstore bundle reports, and how policy and document errors
//! are named, using bundles from the conformance suite.

use std::fs;

use slipway_signing::{
    ArtifactInput, BundleVerifier, FailedCheck, Policy, Sha256Digest, SignedContent, Signer,
    VerifyError, VerifyRequest, verify_bundle,
};

const CASES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/conformance/sigstore/bundle-verify"
);
const IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const ISSUER: &str = "https://token.actions.githubusercontent.com";

fn read(path: &str) -> Vec<u8> {
    fs::read(format!("{CASES}/{path}")).unwrap()
}

fn identity_policy() -> Policy<'static> {
    Policy::Identity {
        identity: IDENTITY,
        issuer: ISSUER,
    }
}

#[test]
fn a_keyless_bundle_reports_its_signer_and_times_against_the_embedded_root() {
    let artifact = read("a.txt");
    let verified = verify_bundle(&VerifyRequest {
        bundle_json: &read("happy-path-v0.3/bundle.sigstore.json"),
        artifact: ArtifactInput::Bytes(&artifact),
        trusted_root_json: None,
        policy: identity_policy(),
    })
    .unwrap();
    assert_eq!(
        verified.signer,
        Signer::Certificate {
            identity: IDENTITY.into(),
            issuer: ISSUER.into()
        }
    );
    assert_eq!(verified.content, SignedContent::MessageSignature);
    assert_eq!(verified.artifact_sha256, Sha256Digest::of(&artifact));
    assert!(verified.certificate_verified && verified.transparency_log_verified);
    assert!(!verified.verified_times.is_empty());
    let json = serde_json::to_value(&verified).unwrap();
    assert_eq!(json["signer"]["kind"], "certificate");
    assert!(json["verifiedTimes"][0].is_string());
    assert_eq!(json["artifactSha256"], Sha256Digest::of(&artifact).to_hex());
}

#[test]
fn a_managed_key_bundle_reports_the_key_signer() {
    let verified = verify_bundle(&VerifyRequest {
        bundle_json: &read("managed-key-happy-path/bundle.sigstore.json"),
        artifact: ArtifactInput::Bytes(&read("a.txt")),
        trusted_root_json: None,
        policy: Policy::Key {
            pem: &String::from_utf8(read("managed-key-happy-path/key.pub")).unwrap(),
        },
    })
    .unwrap();
    assert_eq!(verified.signer, Signer::Key);
    assert!(!verified.certificate_verified);
}

#[test]
fn a_dsse_bundle_reports_its_payload_type() {
    let verifier = BundleVerifier::production().unwrap();
    let verified = verifier
        .verify(
            &read("happy-path-intoto-in-dsse-v3/bundle.sigstore.json"),
            ArtifactInput::Digest(Sha256Digest::of(&read("a.txt"))),
            identity_policy(),
        )
        .unwrap();
    assert_eq!(
        verified.content,
        SignedContent::DsseEnvelope {
            payload_type: "application/vnd.in-toto+json".into()
        }
    );
    let json = serde_json::to_value(&verified.content).unwrap();
    assert_eq!(json["kind"], "dsse-envelope");
    assert_eq!(json["payloadType"], "application/vnd.in-toto+json");
}

/// Verify the v0.3 happy-path bundle under `policy` with `root` and compare
/// the rejection with `expected`.
fn check(name: &str, root: Option<&[u8]>, policy: Policy<'_>, expected: fn(&VerifyError) -> bool) {
    let outcome = verify_bundle(&VerifyRequest {
        bundle_json: &read("happy-path-v0.3/bundle.sigstore.json"),
        artifact: ArtifactInput::Bytes(&read("a.txt")),
        trusted_root_json: root,
        policy,
    });
    match outcome {
        Ok(verified) => panic!("{name}: verified unexpectedly: {verified:?}"),
        Err(error) => assert!(expected(&error), "{name}: unexpected error {error}"),
    }
}

#[test]
fn policy_and_document_failures_name_what_failed() {
    check(
        "other identity",
        None,
        Policy::Identity {
            identity: "https://github.com/someone/else",
            issuer: ISSUER,
        },
        |e| {
            e.failed_check() == Some(FailedCheck::Identity)
                && e.to_string().contains("someone/else")
        },
    );
    check(
        "other issuer",
        None,
        Policy::Identity {
            identity: IDENTITY,
            issuer: "https://accounts.google.com",
        },
        |e| e.failed_check() == Some(FailedCheck::Issuer),
    );
    check(
        "key policy on a certificate bundle",
        None,
        Policy::Key {
            pem: "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n-----END PUBLIC KEY-----\n",
        },
        |e| e.failed_check() == Some(FailedCheck::Unsupported),
    );
    check(
        "key that is not pem",
        None,
        Policy::Key { pem: "not a key" },
        |e| matches!(e, VerifyError::PolicyKey(_)),
    );
    check(
        "root that is not json",
        Some(b"{"),
        identity_policy(),
        |e| matches!(e, VerifyError::TrustedRootDocument(_)),
    );
    check(
        "another instance's root",
        Some(&read("rekor2-happy-path/trusted_root.json")),
        identity_policy(),
        |e| e.failed_check().is_some(),
    );
}

#[test]
fn malformed_bundles_are_document_errors() {
    for bytes in [&b""[..], b"{}", b"\xff\xfe", b"[1,2,3]"] {
        let outcome = BundleVerifier::production().unwrap().verify(
            bytes,
            ArtifactInput::Bytes(b""),
            identity_policy(),
        );
        assert!(
            matches!(outcome, Err(VerifyError::BundleDocument(_))),
            "{bytes:?}: {outcome:?}"
        );
    }
}

#[test]
fn a_line_wrapped_rfc3161_token_is_read_like_protojson_readers_do() {
    let mut bundle: serde_json::Value =
        serde_json::from_slice(&read("rekor2-happy-path/bundle.sigstore.json")).unwrap();
    let token = &mut bundle["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
        [0]["signedTimestamp"];
    let wrapped: Vec<String> = token
        .as_str()
        .unwrap()
        .as_bytes()
        .chunks(76)
        .map(|line| String::from_utf8(line.to_vec()).unwrap())
        .collect();
    *token = serde_json::json!(wrapped.join("\n"));
    let verifier =
        BundleVerifier::from_trusted_root_json(&read("rekor2-happy-path/trusted_root.json"))
            .unwrap();
    let artifact = read("a.txt");
    verifier
        .verify(
            bundle.to_string().as_bytes(),
            ArtifactInput::Bytes(&artifact),
            identity_policy(),
        )
        .unwrap();

    // Line breaks anywhere else are still malformed base64.
    let mut broken: serde_json::Value =
        serde_json::from_slice(&read("rekor2-happy-path/bundle.sigstore.json")).unwrap();
    let signature = &mut broken["messageSignature"]["signature"];
    *signature = serde_json::json!(format!("{}\n", signature.as_str().unwrap()));
    assert!(matches!(
        verifier.verify(
            broken.to_string().as_bytes(),
            ArtifactInput::Bytes(&artifact),
            identity_policy()
        ),
        Err(VerifyError::BundleDocument(_))
    ));
}
