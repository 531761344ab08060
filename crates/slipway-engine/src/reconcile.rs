//! The reconcile loop of one rollout, the kube-rs way: observe, plan, apply, requeue. What it
//! observes is what the planners need ([`crate::plan::Observed`]); what to do comes from
//! [`crate::plan::plan`], a pure function; [`crate::executor`] applies the actions through the
//! target, the router, the gate and the status writer. The error policy: an action that fails
//! fails the rollout, after traffic is back on what is stable and everything it started is
//! stopped (`abandon`).

use crate::EngineError;
use crate::observe::Watcher;
use crate::plan::{self, Desired, Next, Observed, StableSeen, Stage};
use crate::rollout::{Deployed, Engine, now_ms};
use crate::target::Instance;
use slipway_domain::kinds::{ArtifactSpec, RolloutSpec, typed};
use slipway_gate::CONTROL_ANNOTATION;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

/// What waits until a record is durable.
pub(crate) type Durable =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), EngineError>> + Send>>;

/// One rollout being reconciled, and the world its actions built.
pub(crate) struct Rollout<'e> {
    pub engine: &'e Engine,
    pub name: String,
    /// `service.environment`: the routed service.
    pub key: String,
    pub spec: RolloutSpec,
    pub artifact: ArtifactSpec,
    pub program: PathBuf,
    pub shutdown: CancellationToken,
    /// What ran as stable when the rollout began.
    pub previous: Option<Deployed>,
    /// The status as the actions left it (written by `Save`).
    pub status: plan::RolloutStatus,
    /// The instances of each group.
    pub groups: BTreeMap<plan::Group, Vec<Instance>>,
    /// The experiment router's entry, while it is open.
    pub experiment: Option<slipway_router::Instance>,
    /// Records that must be durable before anything is routed (`AwaitRecords`); behind a
    /// mutex only so that the rollout can be shared across awaits (it is never contended).
    pub records: std::sync::Mutex<Vec<Durable>>,
    /// Outcomes of actions, observed by the next plan.
    pub outcomes: Observed,
    pub watcher: Option<Watcher>,
    /// The phase of the last status written, once one is.
    pub saved: Option<plan::Phase>,
}

impl<'e> Rollout<'e> {
    /// Reads what the rollout deploys; an artifact that is missing, invalid, of another
    /// service or whose file fails its digest is an error.
    pub async fn prepare(
        engine: &'e Engine,
        key: &str,
        name: &str,
        spec: RolloutSpec,
        shutdown: CancellationToken,
    ) -> Result<Rollout<'e>, EngineError> {
        let artifact_fail = |reason: String| EngineError::Artifact {
            artifact: spec.artifact.clone(),
            reason,
        };
        let found = engine
            .store()
            .get("Artifact", &spec.artifact)
            .await?
            .ok_or_else(|| artifact_fail("does not exist".into()))?;
        let artifact: ArtifactSpec =
            typed(&found.spec).ok_or_else(|| artifact_fail("its spec is invalid".into()))?;
        if artifact.service != spec.service {
            return Err(artifact_fail(format!(
                "is a build of {}, not {}",
                artifact.service, spec.service
            )));
        }
        let program = engine
            .program_of(&artifact, true)
            .await
            .map_err(artifact_fail)?;
        let previous = engine.stable_of(key);
        let mut groups = BTreeMap::new();
        if let Some(previous) = &previous {
            groups.insert(plan::Group::Stable, previous.instances.clone());
        }
        Ok(Rollout {
            engine,
            name: name.to_string(),
            key: key.to_string(),
            previous,
            status: plan::RolloutStatus::new(plan::Phase::Pending, &artifact.version),
            spec,
            artifact,
            program,
            shutdown,
            groups,
            experiment: None,
            records: std::sync::Mutex::new(Vec::new()),
            outcomes: Observed::default(),
            watcher: None,
            saved: None,
        })
    }

    /// Observes, plans, applies and requeues until the plan says the rollout is over (or is
    /// to be left as it is).
    pub async fn reconcile(&mut self) -> Result<(), EngineError> {
        let (spec, version) = (self.spec.clone(), self.artifact.version.clone());
        let desired = Desired {
            spec: &spec,
            version: &version,
        };
        let mut stage = Stage::start();
        loop {
            let observed = self.observe(&stage).await?;
            let planned = plan::plan(&desired, &stage, &observed);
            for action in planned.actions {
                self.apply(action).await?;
            }
            stage = planned.stage;
            let wait = match planned.next {
                Next::Now => continue,
                Next::Done | Next::Leave => return Ok(()),
                Next::Tick => self.engine.guardrail_tick,
                Next::RetryGate => self.engine.gate_retry,
            };
            tokio::select! {
                () = self.shutdown.cancelled() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// What the next plan sees: the outcomes of the last actions, the time, shutdown and the
    /// lease, the operator's control (while a step is held or the gate said wait) and, while
    /// a step is held, the guardrails.
    async fn observe(&mut self, stage: &Stage) -> Result<Observed, EngineError> {
        let mut observed = std::mem::take(&mut self.outcomes);
        observed.shutdown = self.shutdown.is_cancelled();
        observed.lease_lost = !self.engine.leading();
        observed.stable = self.previous.as_ref().map(|p| StableSeen {
            version: p.version.clone(),
            instances: p.instances.len() as u32,
        });
        if stage.watching() || matches!(stage, Stage::Gate { last_wait: Some(_) }) {
            match self
                .engine
                .store()
                .get("Rollout", &self.name)
                .await
                .ok()
                .flatten()
            {
                None => observed.deleted = true,
                Some(r) => {
                    observed.control = r
                        .metadata
                        .annotations
                        .get(CONTROL_ANNOTATION)
                        .and_then(|v| plan::Control::from_annotation(v));
                }
            }
        }
        if stage.watching()
            && let Some(watcher) = &mut self.watcher
        {
            let router = self.engine.router.as_ref();
            observed.tripped = watcher
                .measure(router, self.engine.http(), stage.paused(), now_ms())
                .await?;
        }
        observed.now_ms = now_ms();
        Ok(observed)
    }

    /// The error policy: traffic back on what is stable (first), the experiment router gone,
    /// and every instance the rollout started that is not stable stopped.
    pub async fn abandon(&mut self) {
        let engine = self.engine;
        let stable = engine.stable_of(&self.key);
        let _ = engine
            .router
            .set_canary_weight(&self.key, slipway_router::CanaryWeight::ZERO)
            .await;
        if let Some(d) = &stable {
            let _ = engine
                .router
                .set_backends(&self.key, crate::executor::routed(&d.instances), Vec::new())
                .await;
        }
        let _ = engine
            .router
            .remove_service(&crate::executor::experiment_key(&self.key))
            .await;
        let keep: HashSet<String> = stable
            .map(|d| d.instances.into_iter().map(|i| i.id).collect())
            .unwrap_or_default();
        for (_, instances) in std::mem::take(&mut self.groups) {
            for i in instances.iter().filter(|i| !keep.contains(&i.id)) {
                engine.target.stop(&i.id).await;
            }
        }
    }
}
