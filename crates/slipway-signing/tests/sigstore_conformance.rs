#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors
//! The sigstore-conformance `bundle-verify` suite, read exactly as
//! `shared/conformance/sigstore/README.md` ("How a test should read the
//! expectations") says: every case directory, its own or the production
//! trusted root, a key or identity policy, and each case run twice — with the
//! artifact's bytes and with only its digest.

use std::fs;
use std::path::{Path, PathBuf};

use slipway_signing::{
    ArtifactInput, Policy, Sha256Digest, VerifyError, VerifyRequest, verify_bundle,
};

const SUITE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/conformance/sigstore"
);
const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

struct Case {
    name: String,
    expect_fail: bool,
    bundle: Vec<u8>,
    artifact: Vec<u8>,
    trusted_root: Vec<u8>,
    key_pem: Option<String>,
    identity: String,
    issuer: String,
}

fn read_trimmed(path: &Path) -> Option<String> {
    fs::read_to_string(path)
        .ok()
        .map(|text| text.trim().to_owned())
}

fn load_case(dir: &Path) -> Case {
    let suite = Path::new(SUITE);
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let artifact_path = Some(dir.join("artifact"))
        .filter(|path| path.exists())
        .unwrap_or_else(|| suite.join("bundle-verify/a.txt"));
    let root_path = Some(dir.join("trusted_root.json"))
        .filter(|path| path.exists())
        .unwrap_or_else(|| suite.join("production/trusted_root.json"));
    Case {
        expect_fail: name.ends_with("_fail"),
        bundle: fs::read(dir.join("bundle.sigstore.json")).unwrap(),
        artifact: fs::read(artifact_path).unwrap(),
        trusted_root: fs::read(root_path).unwrap(),
        key_pem: fs::read_to_string(dir.join("key.pub")).ok(),
        identity: read_trimmed(&dir.join("identity")).unwrap_or_else(|| DEFAULT_IDENTITY.into()),
        issuer: read_trimmed(&dir.join("issuer")).unwrap_or_else(|| DEFAULT_ISSUER.into()),
        name,
    }
}

fn case_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(Path::new(SUITE).join("bundle-verify"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn run(case: &Case, artifact: ArtifactInput<'_>) -> Result<(), VerifyError> {
    let policy = match &case.key_pem {
        Some(pem) => Policy::Key { pem },
        None => Policy::Identity {
            identity: &case.identity,
            issuer: &case.issuer,
        },
    };
    verify_bundle(&VerifyRequest {
        bundle_json: &case.bundle,
        artifact,
        trusted_root_json: Some(&case.trusted_root),
        policy,
    })
    .map(|_| ())
}

/// Words the rejection must contain (any one, case-insensitive) for `_fail`
/// cases whose README names the defect; the other cases may fail at any step.
fn expected_reason(name: &str) -> Option<&'static [&'static str]> {
    let words: &'static [&'static str] = match name {
        "bundle-empty-certificate-chain_fail" => &["certificate chain", "certificates is empty"],
        "bundle-with-root-cert_fail" => &["root certificate"],
        "bundle-from-wrong-instance_fail" => &["no log key", "unknown transparency log", "chain"],
        "bundle-invalid-base64-signature_fail" => &["base64"],
        "bundle-malformed-json_fail" => &["json"],
        "bundle-negative-log-index_fail" => &["negative log index"],
        "bundle-unknown-version_fail" => &["media type"],
        "checkpoint-bad-keyhint_fail"
        | "checkpoint-wrong-roothash_fail"
        | "invalid-checkpoint-signature_fail"
        | "rekor2-checkpoint-missing-log-signature_fail"
        | "rekor2-checkpoint-missing-origin_fail"
        | "rekor2-checkpoint-missing-root-hash_fail"
        | "rekor2-checkpoint-missing-size_fail"
        | "rekor2-checkpoint-no-matching-signature_fail" => &["checkpoint"],
        "inclusion-proof-corrupted-hash_fail"
        | "invalid-inclusion-proof_fail"
        | "intoto-missing-inclusion-proof_fail"
        | "rekor2-no-inclusion-proof_fail" => &["inclusion proof"],
        "set-invalid-signature_fail" | "incorrect-public-key_fail" => &["inclusion promise"],
        "dsse-invalid-sig_fail" | "rekor2-dsse-invalid-sig_fail" | "signature-mismatch_fail" => {
            &["signature invalid"]
        }
        "dsse-mismatch-envelope_fail" | "rekor2-dsse-mismatch-envelope_fail" => {
            &["mismatch", "does not match"]
        }
        "dsse-mismatch-sig_fail" | "rekor2-dsse-mismatch-sig_fail" => &["signature"],
        "integrated-time-in-future_fail"
        | "intoto-expired-certificate_fail"
        | "intoto-set-outside-signing-cert-validity_fail"
        | "intoto-tsa-timestamp-outside-cert-validity_fail"
        | "rekor2-timestamp-with-incorrect-time_fail" => &["certexpired", "certnotvalidyet"],
        "invalid-ct-key_fail" => &["signed certificate timestamp"],
        "managed-key-no-key_fail" => &["no signing certificate"],
        "managed-key-wrong-key_fail" => &["key"],
        "message-digest-mismatch_fail" | "wrong-material_fail" => &["digest"],
        "wrong-hashedrekord-artifact_fail" | "wrong-hashedrekord-entry_fail" => &["hashedrekord"],
        "wrong-hashedrekord-cert-and-sig_fail" => &["does not match certificate"],
        "rekor2-no-timestamp_fail" => &["no verified timestamp"],
        "rekor2-timestamp-outside-trust-root-tsa-validity_fail" => &["outside the validity"],
        "rekor2-timestamp-outside-tsa-cert-validity_fail" => &["tsa certificate"],
        "rekor2-timestamp-payload-mismatch_fail" => &["hash mismatch"],
        "rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail"
        | "rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail" => &["trusted tsa"],
        "trust-root-tlog-missing-validity-start_fail" => &["start"],
        "intoto-log-entry-mismatch_fail" => &["log entry", "rekor"],
        _ => return None,
    };
    Some(words)
}

#[test]
fn every_bundle_verify_case_behaves_as_named() {
    let dirs = case_dirs();
    assert_eq!(dirs.len(), 70, "the suite has 70 cases");
    let (mut passed, mut failed, mut wrong) = (0, 0, Vec::new());
    for dir in &dirs {
        let case = load_case(dir);
        let by_bytes = run(&case, ArtifactInput::Bytes(&case.artifact));
        let by_digest = run(
            &case,
            ArtifactInput::Digest(Sha256Digest::of(&case.artifact)),
        );
        let reason = |outcome: &Result<(), VerifyError>| match outcome {
            Ok(()) => "verified".to_owned(),
            Err(error) => error.to_string(),
        };
        println!(
            "{:<60} expect {:<4} bytes: {} | digest: {}",
            case.name,
            if case.expect_fail { "fail" } else { "pass" },
            reason(&by_bytes),
            reason(&by_digest)
        );
        for (input, outcome) in [("bytes", &by_bytes), ("digest", &by_digest)] {
            if outcome.is_err() != case.expect_fail {
                wrong.push(format!("{} ({input}): {}", case.name, reason(outcome)));
            } else if let (Err(error), Some(words)) = (outcome, expected_reason(&case.name)) {
                let text = error.to_string().to_lowercase();
                if !words.iter().any(|word| text.contains(word)) {
                    wrong.push(format!(
                        "{} ({input}) failed for the wrong reason: {error}",
                        case.name
                    ));
                }
            }
        }
        if case.expect_fail {
            failed += 1;
        } else {
            passed += 1;
        }
    }
    assert_eq!(
        (passed, failed),
        (21, 49),
        "21 cases must pass, 49 must fail"
    );
    assert!(
        wrong.is_empty(),
        "cases not behaving as named:\n{}",
        wrong.join("\n")
    );
}
