//! Legal holds: a held version is never deleted by retention. A hold is kept in the artifact
//! store and recorded as the `slipway.dev/legal-hold` annotation of its Artifact resource, so
//! placing and releasing one is audited; a hold whose audited record could not be written is
//! undone.

use crate::artifact_resource::ArtifactTarget;
use crate::{Result, SupplyChain, blocking};
use slipway_artifacts::Hold;
use slipway_resources::ApplyResult;
use slipway_store::Actor;

/// The annotation on an Artifact resource that records a legal hold: `<reason> (<actor>)`.
pub const LEGAL_HOLD_ANNOTATION: &str = "slipway.dev/legal-hold";

impl SupplyChain {
    /// Holds the target's version for `reason`, as `actor` (the artifact store refuses an empty
    /// reason).
    pub async fn hold(
        &self,
        actor: &Actor,
        target: &ArtifactTarget,
        reason: &str,
    ) -> Result<(Hold, ApplyResult)> {
        let store = self.artifacts.store.clone();
        let (s, v, reason, user) = (
            target.service.clone(),
            target.version.clone(),
            reason.to_owned(),
            actor.user.clone(),
        );
        let (held, index) = blocking(move || {
            let index = store.inspect(&s, &v)?.summary.digest;
            Ok((store.hold(&s, &v, &reason, &user)?, index))
        })
        .await?;
        let note = format!("{} ({})", held.reason, held.actor);
        let recorded = self
            .record_artifact(actor, &target.service, &target.version, &index, |a| {
                a.insert(LEGAL_HOLD_ANNOTATION.into(), note);
            })
            .await;
        match recorded {
            Ok(resource) => Ok((held, resource)),
            Err(e) => {
                // Not recorded in the audit log: not held either.
                let store = self.artifacts.store.clone();
                let (s, v) = (target.service.clone(), target.version.clone());
                let _ = blocking(move || store.release_hold(&s, &v)).await;
                Err(e)
            }
        }
    }

    /// Releases the target's hold, as `actor`.
    pub async fn release_hold(
        &self,
        actor: &Actor,
        target: &ArtifactTarget,
    ) -> Result<(Hold, ApplyResult)> {
        let store = self.artifacts.store.clone();
        let (s, v) = (target.service.clone(), target.version.clone());
        let (released, index) = blocking(move || {
            let index = store.inspect(&s, &v)?.summary.digest;
            Ok((store.release_hold(&s, &v)?, index))
        })
        .await?;
        let recorded = self
            .record_artifact(actor, &target.service, &target.version, &index, |a| {
                a.remove(LEGAL_HOLD_ANNOTATION);
            })
            .await;
        match recorded {
            Ok(resource) => Ok((released, resource)),
            Err(e) => {
                // Not recorded in the audit log: still held.
                let store = self.artifacts.store.clone();
                let h = released.clone();
                let _ =
                    blocking(move || store.hold(&h.service, &h.version, &h.reason, &h.actor)).await;
                Err(e)
            }
        }
    }
}
