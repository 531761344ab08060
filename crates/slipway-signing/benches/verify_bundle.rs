//! Benchmark: verifying one conformance bundle, a keyless one (Fulcio
//! certificate, Rekor v1, production root) and a managed-key one, both with a
//! prepared verifier (trusted root parsed once) and end to end (root parsed
//! per call, as `verify_bundle` does). Also Slipway's own signature and DSSE
//! verification for comparison.

use std::fs;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use slipway_signing::in_toto::{BuildDefinition, Builder, RunDetails, SLSA_PROVENANCE_V1};
use slipway_signing::{
    ArtifactInput, BundleVerifier, Policy, Provenance, ResourceDescriptor, Sha256Digest,
    SigningKey, Statement, VerifyRequest, sign_digest, verify_attestation, verify_bundle,
    verify_signature,
};

const CASES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/conformance/sigstore/bundle-verify"
);
const IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const ISSUER: &str = "https://token.actions.githubusercontent.com";

fn read(path: &str) -> Vec<u8> {
    fs::read(format!("{CASES}/{path}")).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn bench_sigstore(criterion: &mut Criterion) {
    let artifact = read("a.txt");
    let keyless = read("happy-path-v0.3/bundle.sigstore.json");
    let keyed = read("managed-key-happy-path/bundle.sigstore.json");
    let pem = String::from_utf8(read("managed-key-happy-path/key.pub")).unwrap_or_default();
    let identity = Policy::Identity {
        identity: IDENTITY,
        issuer: ISSUER,
    };
    let key = Policy::Key { pem: &pem };
    let verifier = BundleVerifier::production().unwrap_or_else(|error| panic!("{error}"));
    for (name, bundle, policy) in [
        ("keyless", &keyless, identity),
        ("managed_key", &keyed, key),
    ] {
        verifier
            .verify(bundle, ArtifactInput::Bytes(&artifact), policy)
            .unwrap_or_else(|error| panic!("{name}: {error}"));
        criterion.bench_function(&format!("sigstore_{name}_prepared_verifier"), |bench| {
            bench.iter(|| {
                verifier.verify(black_box(bundle), ArtifactInput::Bytes(&artifact), policy)
            })
        });
        criterion.bench_function(&format!("sigstore_{name}_end_to_end"), |bench| {
            bench.iter(|| {
                verify_bundle(&VerifyRequest {
                    bundle_json: black_box(bundle),
                    artifact: ArtifactInput::Bytes(&artifact),
                    trusted_root_json: None,
                    policy,
                })
            })
        });
    }
}

fn bench_slipway(criterion: &mut Criterion) {
    let key = SigningKey::from_bytes(&[1; 32]);
    let trusted = [key.verifying_key()];
    let digest = Sha256Digest::of(b"artifact");
    let signature = sign_digest(&key, &digest, time::OffsetDateTime::UNIX_EPOCH);
    criterion.bench_function("slipway_artifact_signature_verify", |bench| {
        bench.iter(|| verify_signature(black_box(&signature), &digest, &trusted))
    });
    let provenance = Provenance {
        build_definition: BuildDefinition {
            build_type: "https://slipway.dev/build/cargo/v1".to_owned(),
            external_parameters: serde_json::json!({"ref": "refs/tags/v1"}),
            internal_parameters: serde_json::Value::Null,
            resolved_dependencies: Vec::new(),
        },
        run_details: RunDetails {
            builder: Builder {
                id: "https://slipway.dev/builders/ci".to_owned(),
            },
            metadata: None,
        },
    };
    let statement = Statement::provenance(
        vec![ResourceDescriptor::subject("artifact", &digest)],
        &provenance,
    )
    .unwrap_or_else(|error| panic!("{error}"));
    let envelope = statement
        .sign(&key)
        .unwrap_or_else(|error| panic!("{error}"));
    criterion.bench_function("slipway_dsse_attestation_verify", |bench| {
        bench.iter(|| {
            verify_attestation(black_box(&envelope), &digest, SLSA_PROVENANCE_V1, &trusted)
        })
    });
}

criterion_group!(benches, bench_sigstore, bench_slipway);
criterion_main!(benches);
