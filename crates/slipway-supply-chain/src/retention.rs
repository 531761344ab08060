//! Retention: which versions to delete under a policy, and deleting them. What is deployed
//! comes from the Rollouts' statuses (per service and environment, the latest promotion is
//! deployed now; what it replaced, and what rolled back or failed, was deployed until then),
//! so the keep rules never delete a version that runs or could be rolled back to. The Artifact
//! resources of deleted versions are deleted with them in one audited batch, except those a
//! Rollout or Release still refers to.

use crate::artifact_resource::artifact_resource_name;
use crate::{Result, SupplyChain, SupplyChainError, blocking};
use slipway_artifacts::{ArtifactRef, RetentionDecision, RetentionPolicy, RetentionReport};
use slipway_domain::kinds::{Artifact, ArtifactSpec, Kind, Rollout};
use slipway_domain::references::referrers;
use slipway_domain::resource::Resource;
use slipway_store::{Actor, Mutation, Store, TypedStore};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// What a retention run decided and did.
#[derive(Debug, Clone)]
pub struct RetentionOutcome {
    pub plan: Vec<RetentionDecision>,
    pub report: RetentionReport,
    /// Artifact resources deleted with their content.
    pub resources_deleted: Vec<String>,
    /// Artifact resources kept although their content went, and why.
    pub resources_kept: Vec<String>,
}

/// Reads a retention policy given as YAML or JSON text or as an object (defaults for what is
/// left out; the default policy when there is none).
pub fn retention_policy(value: Option<&serde_json::Value>) -> Result<RetentionPolicy> {
    let text = match value {
        None | Some(serde_json::Value::Null) => return Ok(RetentionPolicy::default()),
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    };
    RetentionPolicy::from_yaml(&text).map_err(|e| SupplyChainError::invalid(e.to_string()))
}

impl SupplyChain {
    /// Plans retention under `policy` and, unless `dry_run`, deletes what it says, as `actor`.
    pub async fn retention(
        &self,
        actor: &Actor,
        policy: RetentionPolicy,
        dry_run: bool,
    ) -> Result<RetentionOutcome> {
        let facts = rollout_facts(self.store.as_ref()).await?;
        let now = time::OffsetDateTime::now_utc();
        let now_ms = (now.unix_timestamp_nanos() / 1_000_000).max(0) as u64;
        let (deployed_now, recent) = deployed_sets(&facts, now_ms, policy.rollback_window);
        let store = self.artifacts.store.clone();
        let (plan, report) = blocking(move || {
            let plan = store.plan_retention(&policy, now, &deployed_now, &recent)?;
            let report = store.apply_retention(&plan, dry_run)?;
            Ok((plan, report))
        })
        .await?;
        let (resources_deleted, resources_kept) = if dry_run {
            (Vec::new(), Vec::new())
        } else {
            self.delete_resources_of(actor, &report.deleted).await?
        };
        Ok(RetentionOutcome {
            plan,
            report,
            resources_deleted,
            resources_kept,
        })
    }

    /// Deletes (in one audited batch) the Artifact resources of deleted versions, except those
    /// a Rollout or Release still refers to.
    async fn delete_resources_of(
        &self,
        actor: &Actor,
        deleted: &[ArtifactRef],
    ) -> Result<(Vec<String>, Vec<String>)> {
        let all: Vec<Resource> = self.store.list_all().await?;
        let mut doomed = Vec::new();
        let mut kept = Vec::new();
        for reference in deleted {
            let name = artifact_resource_name(&reference.service, &reference.version);
            let Some(found) = all
                .iter()
                .find(|r| r.is::<Artifact>() && r.metadata.name == name)
            else {
                continue;
            };
            let describes =
                slipway_domain::kinds::typed::<ArtifactSpec>(&found.spec).is_some_and(|s| {
                    s.service == reference.service
                        && s.version == reference.version
                        && s.location.starts_with("oci:")
                });
            if !describes {
                continue;
            }
            let users = referrers(&all, Artifact::KIND, &name);
            if users.is_empty() {
                doomed.push(name);
            } else {
                kept.push(format!(
                    "{name}: its content was deleted but the resource is still referred to by {}",
                    users.join(", ")
                ));
            }
        }
        if !doomed.is_empty() {
            self.store
                .apply(
                    actor,
                    doomed
                        .iter()
                        .map(|name| Mutation::delete::<Artifact>(name.clone(), None))
                        .collect(),
                    false,
                )
                .await?;
        }
        Ok((doomed, kept))
    }
}

/// What the engine wrote about one rollout, as retention needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutFact {
    pub service: String,
    pub environment: String,
    pub artifact: ArtifactRef,
    pub phase: String,
    /// When its last step happened (ms since the epoch).
    pub last_step_ms: u64,
}

/// Which artifacts are deployed now and which were within the rollback window, from the
/// rollouts: per service and environment, the latest Promoted rollout is deployed now, a
/// rollout in flight deploys its artifact now, an earlier Promoted one was deployed until the
/// next promotion, and a rolled-back or failed one until it ended.
pub fn deployed_sets(
    facts: &[RolloutFact],
    now_ms: u64,
    window: Duration,
) -> (BTreeSet<ArtifactRef>, BTreeSet<ArtifactRef>) {
    let since = now_ms.saturating_sub(window.as_millis() as u64);
    let mut now = BTreeSet::new();
    let mut recent = BTreeSet::new();
    let mut promoted: BTreeMap<(&str, &str), Vec<&RolloutFact>> = BTreeMap::new();
    for f in facts {
        match f.phase.as_str() {
            "Promoted" => promoted
                .entry((&f.service, &f.environment))
                .or_default()
                .push(f),
            "RolledBack" | "Failed" | "Removed" => {
                if f.last_step_ms >= since {
                    recent.insert(f.artifact.clone());
                }
            }
            _ => {
                now.insert(f.artifact.clone());
            }
        }
    }
    for list in promoted.values_mut() {
        list.sort_by_key(|f| f.last_step_ms);
        for pair in list.windows(2) {
            if let [earlier, later] = pair
                && later.last_step_ms >= since
            {
                recent.insert(earlier.artifact.clone());
            }
        }
        if let Some(last) = list.last() {
            now.insert(last.artifact.clone());
        }
    }
    (now, recent)
}

/// Reads the rollouts and their artifacts from the store.
async fn rollout_facts(store: &dyn Store) -> Result<Vec<RolloutFact>> {
    let artifacts: BTreeMap<String, ArtifactSpec> = store
        .kind::<Artifact>()
        .list()
        .await?
        .into_iter()
        .map(|r| (r.metadata.name, r.spec))
        .collect();
    let mut facts = Vec::new();
    for r in store.kind::<Rollout>().list().await? {
        let Some(status) = &r.status else {
            continue;
        };
        let Some(artifact) = artifacts.get(&r.spec.artifact) else {
            continue;
        };
        let text = |v: Option<&serde_json::Value>| {
            v.and_then(|v| v.as_str()).unwrap_or_default().to_owned()
        };
        facts.push(RolloutFact {
            service: r.spec.service.clone(),
            environment: r.spec.environment.clone(),
            artifact: ArtifactRef::new(&artifact.service, &artifact.version),
            phase: text(status.get("phase")),
            last_step_ms: status
                .get("history")
                .and_then(|h| h.as_array())
                .and_then(|h| h.last())
                .and_then(|h| h.get("atMs"))
                .and_then(|t| t.as_u64())
                .unwrap_or(0),
        });
    }
    Ok(facts)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors
    use super::*;

    fn fact(env: &str, version: &str, phase: &str, at: u64) -> RolloutFact {
        RolloutFact {
            service: "payments".into(),
            environment: env.into(),
            artifact: ArtifactRef::new("payments", version),
            phase: phase.into(),
            last_step_ms: at,
        }
    }

    fn check(facts: &[RolloutFact], now: &[&str], recent: &[&str]) {
        let day = 86_400_000;
        let (n, r) = deployed_sets(facts, 100 * day, Duration::from_secs(30 * 86_400));
        let versions =
            |s: &BTreeSet<ArtifactRef>| s.iter().map(|a| a.version.clone()).collect::<Vec<_>>();
        assert_eq!(versions(&n), now, "deployed now");
        assert_eq!(versions(&r), recent, "within the rollback window");
    }

    #[test]
    fn deployments_come_from_the_latest_promotions_and_recent_ends() {
        let day = 86_400_000;
        // 1.0 replaced long ago by 2.0, replaced within the window by 3.0.
        check(
            &[
                fact("prod", "1.0", "Promoted", 10 * day),
                fact("prod", "2.0", "Promoted", 20 * day),
                fact("prod", "3.0", "Promoted", 90 * day),
            ],
            &["3.0"],
            &["2.0"],
        );
        // Each environment has its own latest; an old rollback is forgotten, a recent one not.
        check(
            &[
                fact("prod", "1.0", "Promoted", 10 * day),
                fact("staging", "2.0", "Promoted", 20 * day),
                fact("prod", "4.0", "RolledBack", 50 * day),
                fact("prod", "5.0", "Failed", 95 * day),
                fact("prod", "6.0", "Progressing", 99 * day),
            ],
            &["1.0", "2.0", "6.0"],
            &["5.0"],
        );
    }

    #[test]
    fn retention_policies_are_read_from_yaml_json_or_objects() {
        let p = retention_policy(Some(&serde_json::json!("keepLastPerService: 2"))).unwrap();
        assert_eq!(p.keep_last_per_service, 2);
        let p = retention_policy(Some(&serde_json::json!({"keepNewerThan": "1d"}))).unwrap();
        assert_eq!(p.keep_newer_than, Duration::from_secs(86_400));
        assert_eq!(retention_policy(None).unwrap(), RetentionPolicy::default());
        let e = retention_policy(Some(&serde_json::json!("keepDeployed: false"))).unwrap_err();
        assert!(e.to_string().contains("keepDeployed"), "{e}");
    }
}
