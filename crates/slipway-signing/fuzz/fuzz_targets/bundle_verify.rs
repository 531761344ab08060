//! Fuzz target: Sigstore bundle parsing and verification of arbitrary bytes
//! against the embedded production trusted root, under an identity policy and
//! a key policy, with the artifact given as bytes and as a digest.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use slipway_signing::{ArtifactInput, BundleVerifier, Policy, Sha256Digest};

static VERIFIER: LazyLock<Option<BundleVerifier>> =
    LazyLock::new(|| BundleVerifier::production().ok());

/// A P-256 public key (the conformance suite's managed key), so the key path runs too.
const KEY_PEM: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../../shared/conformance/sigstore/bundle-verify/managed-key-happy-path/key.pub"
));
/// The suite's default artifact, so seeds from the suite verify all the way.
const ARTIFACT: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../../shared/conformance/sigstore/bundle-verify/a.txt"
));

fuzz_target!(|data: &[u8]| {
    let Some(verifier) = VERIFIER.as_ref() else {
        return;
    };
    let identity = Policy::Identity {
        identity: "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main",
        issuer: "https://token.actions.githubusercontent.com",
    };
    let key = Policy::Key { pem: KEY_PEM };
    for policy in [identity, key] {
        let by_bytes = verifier.verify(data, ArtifactInput::Bytes(ARTIFACT), policy);
        let by_digest = verifier.verify(
            data,
            ArtifactInput::Digest(Sha256Digest::of(ARTIFACT)),
            policy,
        );
        // The suite's rule: bytes and digest give the same outcome.
        assert_eq!(
            by_bytes.is_ok(),
            by_digest.is_ok(),
            "{by_bytes:?} / {by_digest:?}"
        );
    }
});
