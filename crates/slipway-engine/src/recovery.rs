//! Recovery at start-up, under the engine lease: stops what a crashed run left behind, applies
//! the recovery plan ([`crate::plan::recovery`]) to every persisted rollout and release
//! (rollouts in flight rolled back, releases in progress marked to resume), and runs the last
//! promoted version of every service in every environment again.

use crate::EngineError;
use crate::executor::{routed, router_error};
use crate::plan::recovery::{self, Found};
use crate::plan::status::{ReleaseStatus, RolloutStatus};
use crate::rollout::{Engine, now_ms, route_key};
use slipway_domain::kinds::{ArtifactSpec, RolloutSpec, typed};
use std::collections::BTreeMap;
use std::net::SocketAddr;

impl Engine {
    /// After a restart: stops what a crashed run left behind, marks rollouts that were in
    /// flight as rolled back (their canary is gone; no step of theirs runs again), marks
    /// releases in progress to resume, and brings back the last promoted version of every
    /// service in every environment.
    pub async fn recover(&self) -> Result<(), EngineError> {
        let reaped = self.target.reap_orphans().await;
        if reaped > 0 {
            tracing::info!(reaped, "stopped instances left behind by a previous run");
        }
        // Releases that were running resume (`start_releases`) once their rollouts in flight
        // are rolled back below: promoted services stay done, interrupted ones deploy again.
        for r in self.store().list("Release").await? {
            let status = r
                .status
                .and_then(|v| serde_json::from_value::<ReleaseStatus>(v).ok());
            if let Some(resumed) = status.and_then(|s| recovery::release(&s, now_ms())) {
                let value = serde_json::to_value(&resumed).map_err(|e| EngineError::Instance {
                    instance: r.metadata.name.clone(),
                    reason: e.to_string(),
                })?;
                self.statuses
                    .write("Release", &r.metadata.name, value)
                    .await?;
            }
        }
        let mut promoted = Vec::new();
        let mut specs = BTreeMap::new();
        for r in self.store().list("Rollout").await? {
            let status = r
                .status
                .and_then(|s| serde_json::from_value::<RolloutStatus>(s).ok());
            let (Some(status), Some(spec)) = (status, typed::<RolloutSpec>(&r.spec)) else {
                continue;
            };
            match recovery::rollout(&status, now_ms()) {
                Found::RolledBack(status) => self.write(&r.metadata.name, &status).await?,
                Found::Promoted { at_ms } => {
                    let key = route_key(&spec.service, &spec.environment);
                    promoted.push((key, r.metadata.name.clone(), at_ms));
                    specs.insert(r.metadata.name, spec);
                }
                Found::Keep => {}
            }
        }
        for (key, name) in recovery::to_restore(promoted) {
            let Some(spec) = specs.get(&name) else {
                continue;
            };
            match self.restore(&key, spec).await {
                Ok(()) => {
                    tracing::info!(rollout = %name, service = %key, "restored the last promoted version")
                }
                Err(e) => {
                    tracing::error!(rollout = %name, error = %e, "cannot restore the last promoted version")
                }
            }
        }
        Ok(())
    }

    /// Runs a promoted rollout's version again as stable (after a restart).
    async fn restore(&self, key: &str, spec: &RolloutSpec) -> Result<(), EngineError> {
        let artifact = self
            .store()
            .get("Artifact", &spec.artifact)
            .await?
            .and_then(|a| typed::<ArtifactSpec>(&a.spec))
            .ok_or_else(|| EngineError::Artifact {
                artifact: spec.artifact.clone(),
                reason: "is gone or invalid".into(),
            })?;
        let program =
            self.program_of(&artifact, false)
                .await
                .map_err(|reason| EngineError::Artifact {
                    artifact: spec.artifact.clone(),
                    reason,
                })?;
        let listen: SocketAddr = spec.listen.parse().map_err(|_| EngineError::Instance {
            instance: key.to_string(),
            reason: format!("bad listen address {}", spec.listen),
        })?;
        self.router
            .ensure_service(key, listen)
            .await
            .map_err(router_error(key))?;
        let started = self
            .start_instances(spec, &artifact, &program, 0..spec.instances)
            .await?;
        self.router
            .set_backends(key, routed(&started), Vec::new())
            .await
            .map_err(router_error(key))?;
        self.set_stable(key.to_string(), artifact.version.clone(), started);
        Ok(())
    }
}
