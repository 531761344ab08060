//! The release driver: runs a Release (a pipeline applied to a set of builds) stage by stage.
//! Within a stage each service starts as soon as the services it depends on are promoted (at
//! most `maxParallel` at once), through one audited Rollout per service; then the stage's
//! checks. A rollout that does not end Promoted stops the release (running ones finish).
//!
//! A release the server was running when it stopped resumes when it starts again: stages
//! already done are skipped, services already promoted stay done (nothing of theirs runs
//! again), and a rollout the restart interrupted (rolled back by recovery) deploys again.

use crate::EngineError;
use crate::rollout::{Engine, Phase, StepRecord, now_ms, route_key};
use crate::status_writer::LatestStatus;
use serde::{Deserialize, Serialize};
use slipway_domain::guardrail::parse_duration_ms;
use slipway_domain::kinds::{
    ArtifactSpec, HealthCheck, PipelineSpec, ReleaseSpec, RolloutSpec, ServiceSpec, StageCheck,
    typed,
};
use slipway_domain::plan::{chain_lengths, dependency_needs, deploy_waves, removal_waves};
use slipway_domain::resource::parse_document;
use slipway_store::{Actor, Mutation};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The label on the rollouts a release creates (its value is the release's name).
pub const RELEASE_LABEL: &str = "slipway.dev/release";

/// What a resuming release does with one of its services.
enum Resumed {
    /// Promoted before the restart: done, nothing runs again.
    Promoted,
    /// Interrupted or never started: deploy it (again).
    Deploy,
    /// Ended otherwise before the restart: the release stops as it would have.
    Ended(Phase),
}

/// What the engine writes to a Release's `status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseStatus {
    pub phase: Phase,
    /// The planned waves (services), the same in every stage.
    pub waves: Vec<Vec<String>>,
    /// Rollouts created, in order.
    pub rollouts: Vec<String>,
    pub history: Vec<StepRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
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
            if !self
                .releases
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(name.clone())
            {
                continue;
            }
            let engine = self.clone();
            let stop = shutdown.clone();
            let mut progress = LatestStatus::start(&self.statuses, "Release", &name);
            tasks.spawn(async move {
                if let Err(e) = engine.drive_release(&name, spec, &mut progress, stop).await {
                    let status = ReleaseStatus {
                        phase: Phase::Failed,
                        waves: Vec::new(),
                        rollouts: Vec::new(),
                        history: vec![StepRecord {
                            at_ms: now_ms(),
                            what: format!("failed: {e}"),
                        }],
                        message: Some(e.to_string()),
                    };
                    let _ = write_release(&mut progress, &status).await;
                }
                engine
                    .releases
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&name);
            });
        }
    }

    async fn drive_release(
        self: &Arc<Self>,
        name: &str,
        spec: ReleaseSpec,
        progress: &mut LatestStatus,
        shutdown: CancellationToken,
    ) -> Result<(), EngineError> {
        let invalid = |reason: String| EngineError::Artifact {
            artifact: name.to_string(),
            reason,
        };
        let pipeline: PipelineSpec = self
            .store()
            .get("Pipeline", &spec.pipeline)
            .await?
            .and_then(|p| typed(&p.spec))
            .ok_or_else(|| invalid(format!("pipeline {} is missing or invalid", spec.pipeline)))?;
        let mut artifacts: BTreeMap<String, String> = BTreeMap::new();
        for a in &spec.artifacts {
            let artifact: ArtifactSpec = self
                .store()
                .get("Artifact", a)
                .await?
                .and_then(|r| typed(&r.spec))
                .ok_or_else(|| invalid(format!("artifact {a} is missing or invalid")))?;
            if let Some(other) = artifacts.insert(artifact.service.clone(), a.clone()) {
                return Err(invalid(format!(
                    "artifacts {other} and {a} are both builds of {}",
                    artifact.service
                )));
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
            .map_err(|cycle| invalid(format!("dependency cycle: {}", cycle.join(" → "))))?;
        let resumed = self
            .store()
            .get("Release", name)
            .await?
            .and_then(|r| r.status)
            .and_then(|s| serde_json::from_value::<ReleaseStatus>(s).ok())
            .filter(|s| s.phase == Phase::Progressing);
        let resuming = resumed.is_some();
        let mut status = match resumed {
            Some(mut status) => {
                status.history.push(StepRecord {
                    at_ms: now_ms(),
                    what: "resumed".into(),
                });
                status
            }
            None => ReleaseStatus {
                phase: Phase::Progressing,
                waves: waves.clone(),
                rollouts: Vec::new(),
                history: vec![StepRecord {
                    at_ms: now_ms(),
                    what: format!(
                        "planned {} services in {} waves",
                        selected.len(),
                        waves.len()
                    ),
                }],
                message: None,
            },
        };
        // Queued, not waited for: every later status of the release is written after it.
        set_release(progress, &status)?;
        let actor = Actor {
            user: format!("system:release:{name}"),
            request_id: String::new(),
            change_ref: None,
        };
        let change = spec.change.clone();
        let parallel = pipeline.max_parallel.max(1) as usize;
        let needs = dependency_needs(&depends_on, &selected);
        // Of the services ready together, those heading the longest chains start first.
        let lengths = chain_lengths(&needs);
        for (stage_index, declared) in pipeline.stages.iter().enumerate() {
            // Render the stage's string fields with its environment's variables.
            let variables =
                slipway_domain::template::variables_for(&pipeline.variables, &declared.environment);
            let rendered = serde_json::to_value(declared)
                .map_err(|e| invalid(e.to_string()))
                .and_then(|v| {
                    slipway_domain::template::render_strings(
                        &v,
                        &variables,
                        &format!("pipeline {} stages[{stage_index}]", spec.pipeline),
                    )
                    .map_err(invalid)
                })?;
            let stage: slipway_domain::kinds::PipelineStage = serde_json::from_value(rendered)
                .map_err(|e| {
                    invalid(format!(
                        "pipeline {} stages[{stage_index}] after templating: {e}",
                        spec.pipeline
                    ))
                })?;
            let stage = &stage;
            let stage_done = format!("{}: done", stage.environment);
            if resuming && status.history.iter().any(|h| h.what == stage_done) {
                continue;
            }
            // Start each service as soon as everything it waits for is promoted (at most
            // `maxParallel` at once): never slower than the waves, and as close to the critical
            // path as the parallelism allows.
            // Every rollout of the stage is written up front in one audited batch (labelled, so
            // the engine's loop leaves them to this driver), then started in dependency order.
            let mut planned: BTreeMap<String, (String, RolloutSpec)> = BTreeMap::new();
            let mut batch = Vec::new();
            for service in &selected {
                let listen = services
                    .get(service)
                    .and_then(|s| s.endpoints.get(&stage.environment))
                    .ok_or_else(|| {
                        invalid(format!(
                            "service {service} has no endpoint in {}",
                            stage.environment
                        ))
                    })?
                    .clone();
                let rollout_name = rollout_name(name, &stage.environment, service);
                let rollout = RolloutSpec {
                    service: service.clone(),
                    environment: stage.environment.clone(),
                    artifact: artifacts.get(service).cloned().unwrap_or_default(),
                    instances: stage.instances,
                    listen,
                    strategy: stage.strategy.clone(),
                    health_check: HealthCheck::default(),
                    guardrails: stage.guardrails.clone(),
                    change: change.clone(),
                };
                let document = serde_json::json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "Rollout",
                    "metadata": {"name": rollout_name, "labels": {RELEASE_LABEL: name}},
                    "spec": serde_json::to_value(&rollout).map_err(|e| invalid(e.to_string()))?});
                let resource = parse_document(&document).map_err(|d| {
                    invalid(
                        d.iter()
                            .map(|x| x.to_string())
                            .collect::<Vec<_>>()
                            .join("; "),
                    )
                })?;
                batch.push(Mutation::Put(resource));
                planned.insert(service.clone(), (rollout_name, rollout));
            }
            self.store().apply(&actor, batch, false).await?;
            let mut done: BTreeSet<String> = BTreeSet::new();
            let mut started: BTreeSet<String> = BTreeSet::new();
            let mut running = Detached(tokio::task::JoinSet::<(String, String, Phase)>::new());
            // Services promoted, told as soon as their promotion is queued for writing: their
            // dependants start then (their own records are written after it, in order).
            let (promoted_tx, mut promoted) = tokio::sync::mpsc::unbounded_channel::<String>();
            let mut failed: Vec<String> = Vec::new();
            loop {
                if failed.is_empty() {
                    let mut ready: Vec<String> = needs
                        .iter()
                        .filter(|(s, deps)| {
                            !started.contains(*s) && deps.iter().all(|d| done.contains(d))
                        })
                        .map(|(s, _)| s.clone())
                        .collect();
                    ready.sort_by_key(|s| std::cmp::Reverse(lengths.get(s).copied().unwrap_or(0)));
                    let mut batch = Vec::new();
                    for service in ready {
                        if running.len() >= parallel {
                            break;
                        }
                        let Some((rollout_name, rollout)) = planned.get(&service).cloned() else {
                            continue;
                        };
                        if resuming {
                            match self.outcome_before_restart(&rollout_name, &rollout).await? {
                                Resumed::Promoted => {
                                    started.insert(service.clone());
                                    done.insert(service.clone());
                                    status.history.push(StepRecord {
                                        at_ms: now_ms(),
                                        what: format!(
                                            "{}: {service} was promoted before the restart",
                                            stage.environment
                                        ),
                                    });
                                    continue;
                                }
                                Resumed::Ended(phase) => {
                                    started.insert(service.clone());
                                    failed.push(format!("{rollout_name} ended {phase:?}"));
                                    continue;
                                }
                                Resumed::Deploy => {}
                            }
                        }
                        let key = route_key(&service, &stage.environment);
                        if !self.claim(&key, &rollout_name, &shutdown).await {
                            return Ok(());
                        }
                        if !status.rollouts.contains(&rollout_name) {
                            status.rollouts.push(rollout_name.clone());
                        }
                        started.insert(service.clone());
                        batch.push(service.clone());
                        let tell = promoted_tx.clone();
                        let promoted_service = service.clone();
                        self.on_promotion(
                            &rollout_name,
                            Box::new(move || {
                                let _ = tell.send(promoted_service);
                            }),
                        );
                        let engine = self.clone();
                        let stop = shutdown.clone();
                        running.spawn(async move {
                            let phase = engine
                                .drive_claimed(&key, &rollout_name, rollout, stop)
                                .await;
                            (service, rollout_name, phase)
                        });
                    }
                    if !batch.is_empty() {
                        status.history.push(StepRecord {
                            at_ms: now_ms(),
                            what: format!("{}: deploying {}", stage.environment, batch.join(", ")),
                        });
                        // Progress is bookkeeping: written in the background (the latest
                        // value wins) while the rollouts it names run; an earlier failed
                        // write stops the release here.
                        set_release(progress, &status)?;
                    }
                }
                let finished = tokio::select! {
                    biased;
                    Some(service) = promoted.recv() => {
                        done.insert(service);
                        continue;
                    }
                    finished = running.join_next() => finished,
                };
                let Some(finished) = finished else {
                    // Nothing running: unless services found promoted on resuming unlocked
                    // others, the stage is over.
                    let unlocked = failed.is_empty()
                        && needs.iter().any(|(s, deps)| {
                            !started.contains(s) && deps.iter().all(|d| done.contains(d))
                        });
                    if unlocked {
                        continue;
                    }
                    break;
                };
                match finished {
                    Ok((service, _, Phase::Promoted)) => {
                        done.insert(service);
                    }
                    Ok((_, rollout, phase)) => failed.push(format!("{rollout} ended {phase:?}")),
                    Err(e) => failed.push(format!("a rollout task failed: {e}")),
                }
            }
            if !failed.is_empty() || done.len() != selected.len() {
                if failed.is_empty() {
                    failed.push("some services could not start".into());
                }
                status.phase = Phase::Failed;
                status.message = Some(failed.join("; "));
                status.history.push(StepRecord {
                    at_ms: now_ms(),
                    what: format!("stopped: {}", failed.join("; ")),
                });
                return write_release(progress, &status).await;
            }
            // Removals: dependants first.
            if !spec.remove.is_empty() {
                let removing: BTreeSet<String> = spec.remove.iter().cloned().collect();
                let waves = removal_waves(&depends_on, &removing)
                    .map_err(|cycle| invalid(format!("dependency cycle: {}", cycle.join(" → "))))?;
                for wave in waves {
                    for service in wave {
                        let key = route_key(&service, &stage.environment);
                        if !self.claim(&key, name, &shutdown).await {
                            return Ok(());
                        }
                        let removed = self.decommission(&key).await;
                        self.release_key(&key);
                        status.history.push(StepRecord {
                            at_ms: now_ms(),
                            what: match removed {
                                Some(version) => {
                                    format!("{}: removed {service} ({version})", stage.environment)
                                }
                                None => format!("{}: {service} was not running", stage.environment),
                            },
                        });
                        write_release(progress, &status).await?;
                    }
                }
            }
            for check in &stage.checks {
                let outcome = match check {
                    StageCheck::Gate(step) => {
                        self.gate_step(name, step, &spec, &artifacts, &stage.environment, &shutdown)
                            .await
                    }
                    _ => self.stage_check(check, &services, &stage.environment).await,
                };
                status.history.push(StepRecord {
                    at_ms: now_ms(),
                    what: format!(
                        "{}: check {}",
                        stage.environment,
                        outcome
                            .as_ref()
                            .map(String::as_str)
                            .unwrap_or_else(|e| e.as_str())
                    ),
                });
                if let Err(e) = outcome {
                    status.phase = Phase::Failed;
                    status.message = Some(e);
                    return write_release(progress, &status).await;
                }
            }
            status.history.push(StepRecord {
                at_ms: now_ms(),
                what: stage_done,
            });
            write_release(progress, &status).await?;
        }
        status.phase = Phase::Promoted;
        status.history.push(StepRecord {
            at_ms: now_ms(),
            what: "released".into(),
        });
        write_release(progress, &status).await
    }

    /// What a resuming release finds of one of its rollouts.
    async fn outcome_before_restart(
        &self,
        rollout_name: &str,
        rollout: &RolloutSpec,
    ) -> Result<Resumed, EngineError> {
        let Some(found) = self.store().get("Rollout", rollout_name).await? else {
            return Ok(Resumed::Deploy);
        };
        let status = found
            .status
            .and_then(|s| serde_json::from_value::<crate::rollout::RolloutStatus>(s).ok());
        let version = self
            .store()
            .get("Artifact", &rollout.artifact)
            .await?
            .and_then(|a| typed::<ArtifactSpec>(&a.spec))
            .map(|a| a.version);
        Ok(match status {
            None => Resumed::Deploy,
            Some(s) if s.phase == Phase::Promoted && Some(&s.version) == version.as_ref() => {
                Resumed::Promoted
            }
            // Interrupted by the restart (recovery rolled it back), or never got going.
            Some(s) if s.message.as_deref() == Some(crate::rollout::INTERRUPTED) => Resumed::Deploy,
            Some(s) if !s.phase.is_terminal() => Resumed::Deploy,
            Some(s) => Resumed::Ended(s.phase),
        })
    }

    /// A pipeline gate step: the gate is asked about every service the release deploys, in the
    /// stage's environment; it passes when all are allowed, waits while any says wait.
    async fn gate_step(
        &self,
        release: &str,
        step: &str,
        spec: &ReleaseSpec,
        artifacts: &BTreeMap<String, String>,
        environment: &str,
        shutdown: &CancellationToken,
    ) -> Result<String, String> {
        let mut summaries = Vec::new();
        for (service, artifact) in artifacts {
            let request = crate::gate::GateRequest {
                subject_kind: "Release".into(),
                subject: release.into(),
                service: service.clone(),
                environment: environment.into(),
                artifact: artifact.clone(),
                change: spec.change.clone(),
                step: Some(step.into()),
            };
            loop {
                match self
                    .gate()
                    .decide(&request)
                    .await
                    .map_err(|e| e.to_string())?
                {
                    crate::gate::GateVerdict::Allow { summary } => {
                        summaries.push(format!("{service}: {summary}"));
                        break;
                    }
                    crate::gate::GateVerdict::Deny { reasons } => {
                        return Err(format!(
                            "gate {step} refused {service}: {}",
                            reasons.join("; ")
                        ));
                    }
                    crate::gate::GateVerdict::Wait { .. } => {
                        tokio::select! {
                            () = shutdown.cancelled() => {
                                return Err(format!("gate {step}: the server shut down while waiting"));
                            }
                            () = tokio::time::sleep(self.gate_retry) => {}
                        }
                    }
                }
            }
        }
        Ok(format!("gate {step} passed ({})", summaries.join("; ")))
    }

    async fn stage_check(
        &self,
        check: &StageCheck,
        services: &BTreeMap<String, ServiceSpec>,
        environment: &str,
    ) -> Result<String, String> {
        match check {
            StageCheck::Wait(d) => {
                let ms = parse_duration_ms(d)?;
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok(format!("waited {d}"))
            }
            StageCheck::Gate(gate) => Err(format!("gate {gate} must be asked through gate_step")),
            StageCheck::Command { argv, timeout } => {
                let (program, args) = argv
                    .split_first()
                    .ok_or_else(|| "an empty command".to_string())?;
                let limit =
                    Duration::from_millis(parse_duration_ms(timeout.as_deref().unwrap_or("60s"))?);
                let mut cmd = tokio::process::Command::new(program);
                cmd.args(args)
                    .env("SLIPWAY_ENVIRONMENT", environment)
                    .stdin(std::process::Stdio::null())
                    .kill_on_drop(true);
                for (name, service) in services {
                    if let Some(addr) = service.endpoints.get(environment) {
                        let var = format!(
                            "SLIPWAY_ENDPOINT_{}",
                            name.to_ascii_uppercase().replace('-', "_")
                        );
                        cmd.env(var, addr);
                    }
                }
                let output = tokio::time::timeout(limit, cmd.output())
                    .await
                    .map_err(|_| format!("{} did not finish within {limit:?}", argv.join(" ")))?
                    .map_err(|e| format!("cannot run {}: {e}", argv.join(" ")))?;
                let tail = |b: &[u8]| {
                    let text = String::from_utf8_lossy(b);
                    text.lines()
                        .rev()
                        .take(3)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect::<Vec<_>>()
                        .join(" | ")
                };
                if output.status.success() {
                    Ok(format!("{} passed", argv.join(" ")))
                } else {
                    Err(format!(
                        "{} failed ({}): {}",
                        argv.join(" "),
                        output.status,
                        tail(&output.stderr)
                    ))
                }
            }
            StageCheck::Http {
                service,
                path,
                expect_status,
            } => {
                let addr = services
                    .get(service)
                    .and_then(|s| s.endpoints.get(environment))
                    .ok_or_else(|| format!("service {service} has no endpoint in {environment}"))?;
                let url = format!("http://{addr}{path}");
                let answer = self
                    .http()
                    .get(&url)
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await
                    .map_err(|e| format!("GET {url}: {e}"))?;
                if answer.status().as_u16() == *expect_status {
                    Ok(format!("GET {url} answered {}", answer.status().as_u16()))
                } else {
                    Err(format!(
                        "GET {url} answered {}, expected {expect_status}",
                        answer.status().as_u16()
                    ))
                }
            }
        }
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
struct Detached(tokio::task::JoinSet<(String, String, Phase)>);

impl std::ops::Deref for Detached {
    type Target = tokio::task::JoinSet<(String, String, Phase)>;
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

/// `release-environment-service`, cut to a valid resource name.
fn rollout_name(release: &str, environment: &str, service: &str) -> String {
    let full = format!("{release}-{environment}-{service}");
    if full.len() <= 63 {
        return full;
    }
    let digest = slipway_domain::canonical::sha256_digest(full.as_bytes());
    let tail = digest
        .trim_start_matches("sha256:")
        .get(..8)
        .unwrap_or("0")
        .to_string();
    let head: String = full.chars().take(54).collect();
    format!("{}-{tail}", head.trim_end_matches('-'))
}
