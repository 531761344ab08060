//! The release driver: runs a Release (a pipeline applied to a set of builds) stage by stage.
//! Within a stage each service starts as soon as the services it depends on are promoted (at
//! most `maxParallel` at once), through one audited Rollout per service; then the stage's
//! checks. A rollout that does not end Promoted stops the release (running ones finish).
//! Which service starts when is planned by [`crate::plan::release`]; this module reads the
//! inputs, writes the rollouts, drives them and records the release's progress.
//!
//! A release the server was running when it stopped resumes when it starts again: stages
//! already done are skipped, services already promoted stay done (nothing of theirs runs
//! again), and a rollout the restart interrupted (rolled back by recovery) deploys again.

use crate::EngineError;
use crate::plan::recovery::{self, Resumed};
use crate::plan::release::{StageGraph, StageInputs, StageProgress, StageStep};
use crate::plan::status::{Phase, RolloutStatus};
use crate::rollout::{Engine, lock, now_ms, route_key};
use crate::stage_check::CheckContext;
use crate::status_writer::LatestStatus;
use slipway_domain::kinds::{ArtifactSpec, PipelineSpec, PipelineStage, ReleaseSpec};
use slipway_domain::kinds::{RolloutSpec, ServiceSpec, typed};
use slipway_domain::plan::{chain_lengths, dependency_needs, deploy_waves, removal_waves};
use slipway_domain::resource::parse_document;
use slipway_store::{Actor, Mutation};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use crate::plan::status::ReleaseStatus;

/// The label on the rollouts a release creates (its value is the release's name).
pub const RELEASE_LABEL: &str = "slipway.dev/release";

/// What a release reads once: its pipeline, builds, the services and their dependencies.
struct Inputs {
    pipeline: PipelineSpec,
    /// Each service's artifact.
    artifacts: BTreeMap<String, String>,
    services: BTreeMap<String, ServiceSpec>,
    depends_on: BTreeMap<String, Vec<String>>,
    waves: Vec<Vec<String>>,
    needs: BTreeMap<String, BTreeSet<String>>,
    lengths: BTreeMap<String, usize>,
}

/// A release being driven.
struct Driver<'a> {
    engine: &'a Arc<Engine>,
    name: &'a str,
    spec: &'a ReleaseSpec,
    inputs: Inputs,
    status: ReleaseStatus,
    progress: &'a mut LatestStatus,
    resuming: bool,
    shutdown: CancellationToken,
}

/// A rollout's task: its service, its name and how it ended.
type Finished = (String, String, Phase);

/// How a stage ended.
enum Flow {
    Next,
    /// The release is over (failed, or the server is shutting down).
    Stop,
}

fn invalid(release: &str, reason: String) -> EngineError {
    EngineError::Artifact {
        artifact: release.to_string(),
        reason,
    }
}

impl Engine {
    /// Starts every Release that has not run yet, and resumes every one still in progress that
    /// this process is not driving (after a restart, or after taking the engine lease over).
    pub(crate) async fn start_releases(
        self: &Arc<Self>,
        tasks: &TaskTracker,
        shutdown: &CancellationToken,
    ) {
        let Ok(releases) = self.store().list("Release").await else {
            return;
        };
        for r in releases {
            let in_progress = r
                .status
                .as_ref()
                .and_then(|s| serde_json::from_value::<ReleaseStatus>(s.clone()).ok())
                .is_some_and(|s| s.phase == Phase::Progressing);
            if r.status.as_ref().is_some_and(|s| !s.is_null()) && !in_progress {
                continue;
            }
            let Some(spec) = typed::<ReleaseSpec>(&r.spec) else {
                continue;
            };
            let name = r.metadata.name.clone();
            if !lock(&self.releases).insert(name.clone()) {
                continue;
            }
            let engine = self.clone();
            let stop = shutdown.clone();
            let mut progress = LatestStatus::start(&self.statuses, "Release", &name);
            tasks.spawn(async move {
                if let Err(e) = engine
                    .drive_release(&name, &spec, &mut progress, stop)
                    .await
                {
                    let mut status = ReleaseStatus {
                        phase: Phase::Failed,
                        waves: Vec::new(),
                        rollouts: Vec::new(),
                        history: Vec::new(),
                        message: Some(e.to_string()),
                    };
                    status.record(now_ms(), format!("failed: {e}"));
                    let _ = write_release(&mut progress, &status).await;
                }
                lock(&engine.releases).remove(&name);
            });
        }
    }

    async fn drive_release(
        self: &Arc<Self>,
        name: &str,
        spec: &ReleaseSpec,
        progress: &mut LatestStatus,
        shutdown: CancellationToken,
    ) -> Result<(), EngineError> {
        let inputs = self.release_inputs(name, spec).await?;
        let resumed = self
            .store()
            .get("Release", name)
            .await?
            .and_then(|r| r.status)
            .and_then(|s| serde_json::from_value::<ReleaseStatus>(s).ok())
            .filter(|s| s.phase == Phase::Progressing);
        let resuming = resumed.is_some();
        let status =
            crate::plan::release::begin(resumed, &inputs.waves, inputs.artifacts.len(), now_ms());
        // Queued, not waited for: every later status of the release is written after it.
        set_release(progress, &status)?;
        let mut driver = Driver {
            engine: self,
            name,
            spec,
            inputs,
            status,
            progress,
            resuming,
            shutdown,
        };
        for index in 0..driver.inputs.pipeline.stages.len() {
            if let Flow::Stop = driver.stage(index).await? {
                return Ok(());
            }
        }
        driver.status.phase = Phase::Promoted;
        driver.status.record(now_ms(), "released");
        write_release(driver.progress, &driver.status).await
    }

    /// Reads the release's pipeline, builds (one per service) and services, and plans its
    /// waves and the dependencies between its services.
    async fn release_inputs(&self, name: &str, spec: &ReleaseSpec) -> Result<Inputs, EngineError> {
        let pipeline: PipelineSpec = self
            .store()
            .get("Pipeline", &spec.pipeline)
            .await?
            .and_then(|p| typed(&p.spec))
            .ok_or_else(|| {
                invalid(
                    name,
                    format!("pipeline {} is missing or invalid", spec.pipeline),
                )
            })?;
        let mut artifacts: BTreeMap<String, String> = BTreeMap::new();
        for a in &spec.artifacts {
            let artifact: ArtifactSpec = self
                .store()
                .get("Artifact", a)
                .await?
                .and_then(|r| typed(&r.spec))
                .ok_or_else(|| invalid(name, format!("artifact {a} is missing or invalid")))?;
            if let Some(other) = artifacts.insert(artifact.service.clone(), a.clone()) {
                let why = format!(
                    "artifacts {other} and {a} are both builds of {}",
                    artifact.service
                );
                return Err(invalid(name, why));
            }
        }
        let services: BTreeMap<String, ServiceSpec> = self
            .store()
            .list("Service")
            .await?
            .into_iter()
            .filter_map(|r| typed::<ServiceSpec>(&r.spec).map(|s| (r.metadata.name, s)))
            .collect();
        let depends_on: BTreeMap<String, Vec<String>> = services
            .iter()
            .map(|(n, s)| (n.clone(), s.depends_on.clone()))
            .collect();
        let selected: BTreeSet<String> = artifacts.keys().cloned().collect();
        let waves = deploy_waves(&depends_on, &selected)
            .map_err(|cycle| invalid(name, format!("dependency cycle: {}", cycle.join(" → "))))?;
        let needs = dependency_needs(&depends_on, &selected);
        // Of the services ready together, those heading the longest chains start first.
        let lengths = chain_lengths(&needs);
        Ok(Inputs {
            pipeline,
            artifacts,
            services,
            depends_on,
            waves,
            needs,
            lengths,
        })
    }
}

impl Driver<'_> {
    /// Runs stage `index`: its rollouts, its removals, its checks.
    async fn stage(&mut self, index: usize) -> Result<Flow, EngineError> {
        let pipeline_name = &self.spec.pipeline;
        let stage = crate::plan::release::render_stage(&self.inputs.pipeline, pipeline_name, index)
            .map_err(|e| invalid(self.name, e))?;
        if self.resuming && crate::plan::release::is_stage_done(&self.status, &stage.environment) {
            return Ok(Flow::Next);
        }
        let planned = self.write_rollouts(&stage).await?;
        match self.deploy(&stage.environment, planned).await? {
            None => return Ok(Flow::Stop),
            Some(Err(failed)) => {
                self.status.phase = Phase::Failed;
                self.status.message = Some(failed.clone());
                self.status.record(now_ms(), format!("stopped: {failed}"));
                write_release(self.progress, &self.status).await?;
                return Ok(Flow::Stop);
            }
            Some(Ok(())) => {}
        }
        if !self.remove(&stage.environment).await? {
            return Ok(Flow::Stop);
        }
        if !self.checks(&stage).await? {
            return Ok(Flow::Stop);
        }
        let done = crate::plan::release::stage_done(&stage.environment);
        self.status.record(now_ms(), done);
        if index + 1 == self.inputs.pipeline.stages.len() {
            // The last stage: durable with "released", written right after.
            set_release(self.progress, &self.status)?;
        } else {
            write_release(self.progress, &self.status).await?;
        }
        Ok(Flow::Next)
    }

    /// Every rollout of the stage, written up front in one audited batch (labelled, so the
    /// engine's loop leaves them to this driver).
    async fn write_rollouts(
        &self,
        stage: &PipelineStage,
    ) -> Result<BTreeMap<String, (String, RolloutSpec)>, EngineError> {
        let inputs = StageInputs {
            release: self.name,
            artifacts: &self.inputs.artifacts,
            services: &self.inputs.services,
            change: self.spec.change.as_ref(),
        };
        let planned = crate::plan::release::stage_rollouts(&inputs, stage)
            .map_err(|e| invalid(self.name, e))?;
        let mut batch = Vec::new();
        for (rollout_name, rollout) in planned.values() {
            let spec =
                serde_json::to_value(rollout).map_err(|e| invalid(self.name, e.to_string()))?;
            let document = serde_json::json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "Rollout",
                "metadata": {"name": rollout_name, "labels": {RELEASE_LABEL: self.name}},
                "spec": spec});
            let resource = parse_document(&document).map_err(|d| {
                let shown: Vec<String> = d.iter().map(|x| x.to_string()).collect();
                invalid(self.name, shown.join("; "))
            })?;
            batch.push(Mutation::Put(resource));
        }
        let actor = Actor {
            user: format!("system:release:{}", self.name),
            request_id: String::new(),
            change_ref: None,
        };
        self.engine.store().apply(&actor, batch, false).await?;
        Ok(planned)
    }

    /// Drives the stage's rollouts as the plan says; `None` when the server shuts down (or
    /// the lease is lost): the release stays in progress, to resume.
    async fn deploy(
        &mut self,
        environment: &str,
        planned: BTreeMap<String, (String, RolloutSpec)>,
    ) -> Result<Option<Result<(), String>>, EngineError> {
        let mut progress = StageProgress {
            resumed: self.resumed(&planned).await?,
            ..StageProgress::default()
        };
        let (needs, lengths) = (self.inputs.needs.clone(), self.inputs.lengths.clone());
        let graph = StageGraph {
            needs: &needs,
            lengths: &lengths,
            parallel: self.inputs.pipeline.max_parallel.max(1) as usize,
        };
        let mut running = Detached(tokio::task::JoinSet::new());
        // Services promoted, told as soon as their promotion is queued for writing: their
        // dependants start then (their own records are written after it, in order).
        let (promoted_tx, mut promoted) = tokio::sync::mpsc::unbounded_channel::<String>();
        loop {
            match crate::plan::release::next(&graph, &progress) {
                StageStep::Adopt(service) => {
                    progress.adopt(&service);
                    let line = format!("{environment}: {service} was promoted before the restart");
                    self.status.record(now_ms(), line);
                }
                StageStep::Ended(service, phase) => {
                    let rollout = planned
                        .get(&service)
                        .map(|p| p.0.as_str())
                        .unwrap_or_default();
                    progress.ended(&service, rollout, phase);
                }
                StageStep::Deploy(services) => {
                    for service in &services {
                        let Some((rollout_name, rollout)) = planned.get(service).cloned() else {
                            progress.ended(service, &format!("{service}'s rollout"), Phase::Failed);
                            continue;
                        };
                        let tell = promoted_tx.clone();
                        let told = service.clone();
                        let listener = Box::new(move || {
                            let _ = tell.send(told);
                        });
                        if !self
                            .start(service, rollout_name, rollout, listener, &mut running)
                            .await
                        {
                            return Ok(None);
                        }
                        progress.deploying(service);
                    }
                    let line = format!("{environment}: deploying {}", services.join(", "));
                    self.status.record(now_ms(), line);
                    // Progress is bookkeeping: written in the background (the latest value
                    // wins) while the rollouts it names run; an earlier failed write stops
                    // the release here.
                    set_release(self.progress, &self.status)?;
                }
                StageStep::Await => {
                    tokio::select! {
                        biased;
                        Some(service) = promoted.recv() => progress.promoted(&service),
                        finished = running.join_next() => match finished {
                            Some(Ok((service, rollout, phase))) => progress.finished(&service, &rollout, phase),
                            Some(Err(e)) => progress.lost(&e.to_string()),
                            None => progress.running = 0,
                        },
                    }
                }
                StageStep::Over(outcome) => return Ok(Some(outcome)),
                StageStep::Leave => return Ok(None),
            }
        }
    }

    /// What a resuming release finds of each of the stage's rollouts.
    async fn resumed(
        &self,
        planned: &BTreeMap<String, (String, RolloutSpec)>,
    ) -> Result<BTreeMap<String, Resumed>, EngineError> {
        let mut found = BTreeMap::new();
        if !self.resuming {
            return Ok(found);
        }
        let store = self.engine.store();
        for (service, (rollout_name, rollout)) in planned {
            let Some(r) = store.get("Rollout", rollout_name).await? else {
                found.insert(service.clone(), Resumed::Deploy);
                continue;
            };
            let status = r
                .status
                .and_then(|s| serde_json::from_value::<RolloutStatus>(s).ok());
            let version = store
                .get("Artifact", &rollout.artifact)
                .await?
                .and_then(|a| typed::<ArtifactSpec>(&a.spec))
                .map(|a| a.version);
            let outcome = recovery::resumed(status.as_ref(), version.as_deref());
            found.insert(service.clone(), outcome);
        }
        Ok(found)
    }

    /// Claims the service's key and starts its rollout; `false` when the server shuts down.
    async fn start(
        &mut self,
        service: &str,
        rollout_name: String,
        rollout: RolloutSpec,
        listener: crate::rollout::PromotionListener,
        running: &mut Detached,
    ) -> bool {
        let key = route_key(service, &rollout.environment);
        if !self.engine.claim(&key, &rollout_name, &self.shutdown).await {
            return false;
        }
        if !self.status.rollouts.contains(&rollout_name) {
            self.status.rollouts.push(rollout_name.clone());
        }
        self.engine.on_promotion(&rollout_name, listener);
        let (engine, stop, service) = (
            self.engine.clone(),
            self.shutdown.clone(),
            service.to_string(),
        );
        running.spawn(async move {
            let phase = engine
                .drive_claimed(&key, &rollout_name, rollout, stop)
                .await;
            (service, rollout_name, phase)
        });
        true
    }

    /// Takes the release's removals out of the environment, dependants first; `false` when the
    /// server shuts down.
    async fn remove(&mut self, environment: &str) -> Result<bool, EngineError> {
        if self.spec.remove.is_empty() {
            return Ok(true);
        }
        let removing: BTreeSet<String> = self.spec.remove.iter().cloned().collect();
        let waves = removal_waves(&self.inputs.depends_on, &removing).map_err(|cycle| {
            invalid(
                self.name,
                format!("dependency cycle: {}", cycle.join(" → ")),
            )
        })?;
        for service in waves.into_iter().flatten() {
            let key = route_key(&service, environment);
            if !self.engine.claim(&key, self.name, &self.shutdown).await {
                return Ok(false);
            }
            let removed = self.engine.decommission(&key).await;
            self.engine.release_key(&key);
            let line = match removed {
                Some(version) => format!("{environment}: removed {service} ({version})"),
                None => format!("{environment}: {service} was not running"),
            };
            self.status.record(now_ms(), line);
            write_release(self.progress, &self.status).await?;
        }
        Ok(true)
    }

    /// Runs the stage's checks in order; `false` (the release failed) at the first failure.
    async fn checks(&mut self, stage: &PipelineStage) -> Result<bool, EngineError> {
        for check in &stage.checks {
            let context = CheckContext {
                release: self.name,
                spec: self.spec,
                artifacts: &self.inputs.artifacts,
                services: &self.inputs.services,
                environment: &stage.environment,
                shutdown: &self.shutdown,
            };
            let outcome = self.engine.stage_check(check, &context).await;
            let shown = match &outcome {
                Ok(found) | Err(found) => found.clone(),
            };
            self.status
                .record(now_ms(), format!("{}: check {shown}", stage.environment));
            if let Err(e) = outcome {
                self.status.phase = Phase::Failed;
                self.status.message = Some(e);
                write_release(self.progress, &self.status).await?;
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// Sets a release's status to write next, without waiting.
fn set_release(progress: &mut LatestStatus, status: &ReleaseStatus) -> Result<(), EngineError> {
    let value = serde_json::to_value(status).map_err(|e| EngineError::Instance {
        instance: "release status".into(),
        reason: e.to_string(),
    })?;
    progress.set(value)
}

/// Writes a release's status and waits until it (and every earlier one) is durable.
async fn write_release(
    progress: &mut LatestStatus,
    status: &ReleaseStatus,
) -> Result<(), EngineError> {
    set_release(progress, status)?;
    progress.flush().await
}

/// A set of rollout tasks that keep running if the release driver returns early: a rollout is
/// never abandoned half-way (it ends promoted or rolled back by itself).
struct Detached(tokio::task::JoinSet<Finished>);

impl std::ops::Deref for Detached {
    type Target = tokio::task::JoinSet<Finished>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Detached {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Drop for Detached {
    fn drop(&mut self) {
        self.0.detach_all();
    }
}
