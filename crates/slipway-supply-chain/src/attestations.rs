//! The statements the server signs about an artifact: its own detached signature over the
//! file's digest, the SLSA provenance of a push from a pipeline, and the SLSA verification
//! summary of an allowing gate decision.

use crate::{Result, SupplyChainError};
use serde_json::{Value, json};
use slipway_artifacts::Digest;
use slipway_signing::in_toto::{BuildDefinition, Builder, RunDetails};
use slipway_signing::{
    ArtifactSignature, DsseEnvelope, Provenance, ResourceDescriptor, Sha256Digest, SigningKey,
    Statement,
};
use std::collections::BTreeMap;

/// The build type of the provenance the server records for pushes from a pipeline.
pub const PUSH_BUILD_TYPE: &str = "https://slipway.dev/push/v1";

/// The annotation on a signature referrer naming the key that made it.
pub const KEY_ID_ANNOTATION: &str = "dev.slipway.signature.key-id";

/// The annotation on a provenance referrer naming the pipeline run it records.
pub const PIPELINE_ANNOTATION: &str = "dev.slipway.provenance.pipeline-id";

/// Signs the digest of an artifact's file with the server's key (a `slipway-signing`
/// [`ArtifactSignature`], stamped now).
pub fn sign_file_digest(key: &SigningKey, layer: &Digest) -> Result<ArtifactSignature> {
    let digest = sha256_of(layer)?;
    Ok(slipway_signing::sign_digest(
        key,
        &digest,
        time::OffsetDateTime::now_utc(),
    ))
}

/// The `slipway-signing` form of a store digest.
pub fn sha256_of(digest: &Digest) -> Result<Sha256Digest> {
    digest
        .as_str()
        .parse::<Sha256Digest>()
        .map_err(|e| SupplyChainError::Internal(format!("digest {digest} is not sha256: {e}")))
}

/// The signed SLSA v1 provenance the server records for a push from pipeline `pipeline_id`:
/// subject the file's digest, builder `https://slipway.dev/builder/<server key id>`.
pub fn push_provenance(
    key: &SigningKey,
    file_name: &str,
    layer: &Sha256Digest,
    parameters: &PushParameters<'_>,
) -> Result<DsseEnvelope, slipway_signing::AttestationError> {
    let provenance = Provenance {
        build_definition: BuildDefinition {
            build_type: PUSH_BUILD_TYPE.to_owned(),
            external_parameters: json!({
                "service": parameters.service,
                "version": parameters.version,
                "gitSha": parameters.git_sha,
                "pipelineId": parameters.pipeline_id,
            }),
            internal_parameters: Value::Null,
            resolved_dependencies: Vec::new(),
        },
        run_details: RunDetails {
            builder: Builder {
                id: format!(
                    "https://slipway.dev/builder/{}",
                    slipway_signing::key_id(&key.verifying_key())
                ),
            },
            metadata: None,
        },
    };
    Statement::provenance(
        vec![ResourceDescriptor::subject(file_name, layer)],
        &provenance,
    )?
    .sign(key)
}

/// What a push says about its build.
#[derive(Debug, Clone, Copy)]
pub struct PushParameters<'a> {
    pub service: &'a str,
    pub version: &'a str,
    pub git_sha: Option<&'a str>,
    pub pipeline_id: &'a str,
}

/// The annotation on a verification summary referrer naming the environment it was made for.
pub const VSA_ENVIRONMENT_ANNOTATION: &str = "dev.slipway.vsa.environment";

/// A signed SLSA Verification Summary: `decision` (an allowing gate decision) verified the file
/// `layer` of `resource_uri` under the promotion policy of its environment; the verified levels
/// list every supply-chain rule that passed (`SLIPWAY_SUPPLY_CHAIN_<RULE>`), and
/// `SLSA_BUILD_LEVEL_1` when provenance was among them.
pub fn verification_summary(
    key: &SigningKey,
    decision: &slipway_domain::governance_records::GateDecisionSpec,
    resource_uri: &str,
    layer: &Sha256Digest,
    verified_at: time::OffsetDateTime,
) -> Result<DsseEnvelope, slipway_signing::AttestationError> {
    use slipway_signing::in_toto::{PolicyReference, VerificationResult, Verifier};
    let mut levels: Vec<String> = decision
        .rules
        .iter()
        .filter(|r| r.passed)
        .filter_map(|r| r.rule.strip_prefix("supply-chain:"))
        .map(|rule| format!("SLIPWAY_SUPPLY_CHAIN_{}", rule.to_ascii_uppercase()))
        .collect();
    if levels
        .iter()
        .any(|l| l == "SLIPWAY_SUPPLY_CHAIN_PROVENANCE")
    {
        levels.insert(0, "SLSA_BUILD_LEVEL_1".to_owned());
    }
    let summary = slipway_signing::VerificationSummary {
        verifier: Verifier {
            id: format!(
                "https://slipway.dev/verifier/{}",
                slipway_signing::key_id(&key.verifying_key())
            ),
        },
        time_verified: verified_at,
        resource_uri: resource_uri.to_owned(),
        policy: PolicyReference {
            uri: Some(format!(
                "https://slipway.dev/environments/{}/promotion-policy",
                decision.environment
            )),
            digest: BTreeMap::new(),
        },
        input_attestations: Vec::new(),
        verification_result: VerificationResult::Passed,
        verified_levels: levels,
    };
    Statement::verification_summary(
        vec![ResourceDescriptor::at_uri(resource_uri, layer)],
        &summary,
    )?
    .sign(key)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors
    use super::*;

    #[test]
    fn the_signature_verifies_with_the_public_key_and_only_for_its_file() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let digest = Digest::of(b"payments 1.0.0");
        let signature = sign_file_digest(&key, &digest).unwrap();
        let file = sha256_of(&digest).unwrap();
        let keys = [key.verifying_key()];
        assert!(slipway_signing::verify_signature(&signature, &file, &keys).is_ok());
        let other = sha256_of(&Digest::of(b"other")).unwrap();
        assert!(slipway_signing::verify_signature(&signature, &other, &keys).is_err());
    }
}
