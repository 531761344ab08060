//! What the gate records when it allows an artifact: a signed SLSA verification summary
//! attached to the artifact's file, once per environment. The server plugs
//! [`SupplyChain::record_verification`] into the gate as its verification recorder, so a gate
//! decision calls down into this service and never up into the API.

use crate::attestations::{VSA_ENVIRONMENT_ANNOTATION, sha256_of, verification_summary};
use crate::{Result, SupplyChain, SupplyChainError};
use slipway_artifacts::oci::artifact_types;
use slipway_domain::governance_records::GateDecisionSpec;
use slipway_domain::kinds::Artifact;
use slipway_store::TypedStore;

impl SupplyChain {
    /// Attaches a signed verification summary of `decision` (an allowing one) to the file of
    /// the artifact it allowed. Artifacts outside the artifact store (a plain file location)
    /// and artifacts that are gone get none.
    pub async fn record_verification(&self, decision: &GateDecisionSpec) -> Result<()> {
        let Some(artifact) = self
            .store
            .kind::<Artifact>()
            .get(&decision.artifact)
            .await?
        else {
            return Ok(());
        };
        let Some(reference) = artifact.spec.location.strip_prefix("oci:") else {
            return Ok(());
        };
        let (_, opened) = self
            .open(
                artifact.spec.service.clone(),
                artifact.spec.version.clone(),
                None,
            )
            .await?;
        let layer = sha256_of(&opened.layer.digest)?;
        let resource_uri = format!("oci:{reference}@{}", opened.layer.digest);
        let envelope = verification_summary(
            &self.signing_key,
            decision,
            &resource_uri,
            &layer,
            time::OffsetDateTime::now_utc(),
        )
        .map_err(|e| SupplyChainError::Internal(e.to_string()))?;
        let bytes =
            serde_json::to_vec(&envelope).map_err(|e| SupplyChainError::Internal(e.to_string()))?;
        self.attach_once(
            &opened.manifest.digest,
            artifact_types::IN_TOTO,
            bytes,
            VSA_ENVIRONMENT_ANNOTATION,
            decision.environment.clone(),
        )
        .await?;
        Ok(())
    }
}
