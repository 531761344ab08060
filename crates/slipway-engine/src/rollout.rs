//! The rollout reconciler: drives one Rollout resource from its declared spec to Promoted or
//! RolledBack, persisting its status after every step.
//!
//! A rollout starts the artifact's instances on the target, waits until each passes its health
//! check, and then moves traffic by the strategy: `direct` swaps the version at once; `canary`
//! walks its weight steps, holding each for its pause while the guardrails are evaluated every
//! 100 ms from the router's own per-version metrics. On a breach traffic goes back to stable
//! first (only onto ready stable instances), then the canary instances stop, and the status keeps
//! the evidence: the breach, the metric window that breached, and the canary's last output lines.

use crate::EngineError;
use crate::health::{probe_check, wait_ready_check};
use crate::target::{Instance, InstanceSpec, Target};
use serde::{Deserialize, Serialize};
use slipway_domain::guardrail::{
    Breach, Guardrail, GuardrailMetric, GuardrailState, evaluate, parse_duration_ms,
};
use slipway_domain::kinds::{
    AnalysisSpec, ArtifactSpec, BaselineMode, EnvironmentalPolicy, HealthCheck, RolloutSpec,
    Strategy, typed,
};
use slipway_router::{
    CanaryWeight, Instance as RoutedInstance, TrafficRouter, Version, window_over,
};
use slipway_store::Store;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio_util::sync::CancellationToken;

/// Where a rollout is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    Pending,
    Progressing,
    Promoted,
    RolledBack,
    Failed,
    /// Was promoted; the service has since been taken out of the environment by a release.
    Removed,
}

/// The message of a rollout stopped because the server restarted under it (a release deploys
/// such a rollout again when it resumes).
pub const INTERRUPTED: &str = "interrupted by a restart of the server";

impl Phase {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Phase::Promoted | Phase::RolledBack | Phase::Failed | Phase::Removed
        )
    }
}

/// One step of a rollout's history.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepRecord {
    /// Milliseconds since the Unix epoch.
    pub at_ms: u64,
    pub what: String,
}

/// What the engine writes to a Rollout's `status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutStatus {
    pub phase: Phase,
    pub version: String,
    /// Current canary weight, percent.
    pub weight: u32,
    pub history: Vec<StepRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breach: Option<Breach>,
    /// When traffic was back on stable after a breach (ms since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_at_ms: Option<u64>,
    /// The canary metrics window that breached, and the canary's last output lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Every canary analysis: the judge's inputs, estimates, intervals, effect sizes,
    /// thresholds, verdict and explanation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub analyses: Vec<serde_json::Value>,
    /// Guardrail breaches shared by the baseline beside the canary: environmental.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environmental: Vec<serde_json::Value>,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The lease that decides which replica runs the reconcilers, and how long it lasts unrenewed.
const ENGINE_LEASE: &str = "engine";
const LEASE_TTL_MS: i64 = 3_000;

/// The annotation through which operators steer a rollout.
pub const CONTROL_ANNOTATION: &str = "slipway.dev/control";

/// An operator's request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Control {
    Abort,
    Promote,
    Pause,
    Resume,
}

/// Holds a (service, environment) for a rollout; lets it go when dropped.
struct Claim<'a> {
    active: &'a Mutex<HashMap<String, String>>,
    key: &'a str,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(self.key);
    }
}

/// What a held step watches: which version of which routed service, by which rules, how long.
struct WatchPlan<'a> {
    key: &'a str,
    version: Version,
    guardrails: &'a [Guardrail],
    hold: Duration,
    /// Samples stable and canary per period for the judge, when the step has an analysis.
    analysis: Option<(&'a AnalysisSpec, &'a mut crate::analysis::Samples)>,
    /// The stable version here is a baseline beside the canary: a breach it shares with the
    /// canary is environmental.
    environmental_check: bool,
    /// Instances probed continuously for the `health_check_failures` guardrail.
    probes: Option<(&'a [Instance], &'a HealthCheck)>,
}

/// Fresh baseline instances beside a canary, behind their own router.
struct Experiment {
    key: String,
    /// How the main router reaches the experiment router.
    entry: RoutedInstance,
    baseline: Vec<Instance>,
}

/// Baseline instances get indexes from here, apart from the stable ones.
const BASELINE_INDEX: u32 = 100;

/// How a held step ended.
enum Watched {
    Held,
    Breached(Breach, serde_json::Value),
    /// The baseline beside the canary breached too.
    Environmental(Breach, serde_json::Value),
    Aborted,
    PromoteNow,
    /// The server is shutting down: leave the rollout where it is (recovery rolls it back).
    Shutdown,
}

/// What runs as stable for a (service, environment).
#[derive(Debug, Clone)]
struct Deployed {
    version: String,
    instances: Vec<Instance>,
}

/// The engine: runs rollouts against a target and a router.
pub struct Engine {
    store: Arc<dyn Store>,
    target: Arc<dyn Target>,
    router: Arc<dyn TrafficRouter>,
    http: reqwest::Client,
    /// `{program}` in an artifact's location or arguments becomes this path (the demo deploys
    /// the slipway binary itself).
    self_program: PathBuf,
    stable: Mutex<HashMap<String, Deployed>>,
    active: Mutex<HashMap<String, String>>,
    /// Instances each running rollout started, so a failure half-way can stop them.
    launched: Mutex<HashMap<String, Vec<String>>>,
    /// Who to tell when a rollout is promoted, by rollout (see [`Engine::on_promotion`]).
    promotion_listeners: Mutex<HashMap<String, PromotionListener>>,
    /// Group-commits status writes.
    pub(crate) statuses: crate::status_writer::StatusWriter,
    /// Who this engine is, for the lease: host, process and a random part.
    holder: String,
    /// Releases being driven.
    pub(crate) releases: Mutex<std::collections::HashSet<String>>,
    /// How often guardrails are evaluated.
    pub guardrail_tick: Duration,
    /// The window guardrails are evaluated over.
    pub guardrail_window: Duration,
    /// Asked before every deployment starts.
    gate: Arc<dyn crate::gate::Gatekeeper>,
    /// How often a rollout waiting at the gate asks again.
    pub gate_retry: Duration,
    /// The artifact store `oci:` locations are read from, and where their files are copied.
    artifact_store: Option<(Arc<slipway_artifacts::ArtifactStore>, PathBuf)>,
}

/// What is told of a rollout's promotion.
pub(crate) type PromotionListener = Box<dyn FnOnce() + Send>;

pub(crate) fn route_key(service: &str, environment: &str) -> String {
    format!("{service}.{environment}")
}

impl Engine {
    pub fn new(
        store: Arc<dyn Store>,
        target: Arc<dyn Target>,
        router: Arc<dyn TrafficRouter>,
        self_program: PathBuf,
    ) -> Self {
        let statuses = crate::status_writer::StatusWriter::start(store.clone());
        Engine {
            store,
            target,
            router,
            http: reqwest::Client::new(),
            self_program,
            stable: Mutex::new(HashMap::new()),
            active: Mutex::new(HashMap::new()),
            releases: Mutex::new(std::collections::HashSet::new()),
            launched: Mutex::new(HashMap::new()),
            promotion_listeners: Mutex::new(HashMap::new()),
            gate: Arc::new(crate::gate::OpenGate),
            gate_retry: Duration::from_secs(2),
            artifact_store: None,
            statuses,
            holder: format!(
                "{}:{}:{}",
                std::fs::read_to_string("/proc/sys/kernel/hostname")
                    .unwrap_or_default()
                    .trim(),
                std::process::id(),
                now_ms()
            ),
            guardrail_tick: Duration::from_millis(100),
            guardrail_window: Duration::from_secs(1),
        }
    }

    /// Watches for Rollout resources without a terminal status and runs each once, until
    /// `shutdown`. One active rollout per (service, environment): a second one waits.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let tasks = tokio_util::task::TaskTracker::new();
        let mut leading = false;
        let mut renewed = Instant::now();
        let mut recovered = false;
        // Every term as lease holder gets its own token: losing the lease stops this replica's
        // rollouts (they stay as they are for the next holder), shutdown stops everything.
        let mut term = shutdown.child_token();
        loop {
            // Of several replicas sharing a database, only the holder of the engine lease runs
            // rollouts; it renews every tick, and another takes over once it lapses. A failed
            // renewal (a busy or briefly unreachable database) is not a loss while the lease
            // is still surely ours.
            let held = match self
                .store
                .acquire_lease(ENGINE_LEASE, &self.holder, now_ms() as i64, LEASE_TTL_MS)
                .await
            {
                Ok(true) => {
                    renewed = Instant::now();
                    true
                }
                Ok(false) => false,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot renew the engine lease");
                    leading && renewed.elapsed() < Duration::from_millis(LEASE_TTL_MS as u64 / 2)
                }
            };
            if held && !leading {
                tracing::info!(holder = %self.holder, "holding the engine lease");
                term = shutdown.child_token();
                // Recovery (reaping orphans, restoring stable versions) happens once per
                // process: later terms find this process's own instances running.
                if !recovered {
                    recovered = true;
                    if let Err(e) = self.recover().await {
                        tracing::error!(error = %e, "recovery after restart failed");
                    }
                }
            } else if !held && leading {
                tracing::warn!(holder = %self.holder, "lost the engine lease: this replica's rollouts stop");
                term.cancel();
            }
            leading = held;
            if !held {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
                continue;
            }
            match self.store.list("Rollout").await {
                Ok(rollouts) => {
                    for r in rollouts {
                        let phase = r
                            .status
                            .as_ref()
                            .and_then(|s| serde_json::from_value::<RolloutStatus>(s.clone()).ok())
                            .map(|s| s.phase);
                        if phase.is_some_and(Phase::is_terminal)
                            || phase == Some(Phase::Progressing)
                        {
                            continue;
                        }
                        // A release drives its own rollouts, in dependency order.
                        if r.metadata
                            .labels
                            .contains_key(crate::release::RELEASE_LABEL)
                        {
                            continue;
                        }
                        let Some(spec) = typed::<RolloutSpec>(&r.spec) else {
                            continue;
                        };
                        let key = route_key(&spec.service, &spec.environment);
                        {
                            let mut active = self.active.lock().unwrap_or_else(|p| p.into_inner());
                            if active.contains_key(&key) {
                                continue;
                            }
                            active.insert(key.clone(), r.metadata.name.clone());
                        }
                        let engine = self.clone();
                        let name = r.metadata.name.clone();
                        let stop = term.clone();
                        tasks.spawn(async move {
                            engine.drive_claimed(&key, &name, spec, stop).await;
                        });
                    }
                }
                Err(e) => tracing::error!(error = %e, "cannot list rollouts"),
            }
            self.start_releases(&tasks, &term).await;
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
        }
        tasks.close();
        tasks.wait().await;
        if leading {
            let _ = self.store.release_lease(ENGINE_LEASE, &self.holder).await;
        }
    }

    async fn write(&self, name: &str, status: &RolloutStatus) -> Result<(), EngineError> {
        self.enqueue(name, status)?.await
    }

    /// Writes a rollout's `Promoted` status. Its promotion listener hears of it as soon as the
    /// write is queued: anything the listener then starts writes its own statuses after this
    /// one (the status writer keeps their order), so none of them is durable before it.
    async fn write_promoted(&self, name: &str, status: &RolloutStatus) -> Result<(), EngineError> {
        let durable = self.enqueue(name, status)?;
        let listener = self
            .promotion_listeners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
        if let Some(listener) = listener {
            listener();
        }
        durable.await
    }

    /// Calls `listener` once rollout `name` is promoted (before its status is durable; see
    /// [`Engine::write_promoted`]). It is dropped uncalled if the rollout ends otherwise.
    pub(crate) fn on_promotion(&self, name: &str, listener: PromotionListener) {
        self.promotion_listeners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string(), listener);
    }

    /// Queues a rollout's status write (in order with its others); the future waits until it
    /// is durable.
    fn enqueue(
        &self,
        name: &str,
        status: &RolloutStatus,
    ) -> Result<impl Future<Output = Result<(), EngineError>> + Send + use<>, EngineError> {
        let value = serde_json::to_value(status).map_err(|e| EngineError::Instance {
            instance: name.into(),
            reason: e.to_string(),
        })?;
        Ok(self.statuses.enqueue("Rollout", name, value))
    }

    /// Asks the gate until it allows (what waits for the allowing decision's record), denies
    /// (an error that fails the rollout) or the server shuts down (`None`); while it says
    /// wait, the rollout stays `Pending` with the reasons in its message.
    async fn pass_gate(
        &self,
        name: &str,
        spec: &RolloutSpec,
        version: &str,
        shutdown: &CancellationToken,
    ) -> Result<Option<crate::gate::DecisionRecorded>, EngineError> {
        let request = crate::gate::GateRequest {
            subject_kind: "Rollout".into(),
            subject: name.into(),
            service: spec.service.clone(),
            environment: spec.environment.clone(),
            artifact: spec.artifact.clone(),
            change: spec.change.clone(),
            step: None,
        };
        let mut last_wait: Option<Vec<String>> = None;
        loop {
            let (verdict, recorded) = self.gate.decide_deferred(&request).await?;
            if let crate::gate::GateVerdict::Allow { .. } = verdict {
                return Ok(Some(recorded));
            }
            // A refusal or a wait is acted on only once it is on record.
            recorded.await?;
            match verdict {
                crate::gate::GateVerdict::Allow { .. } => {}
                crate::gate::GateVerdict::Deny { reasons } => {
                    return Err(EngineError::Gate { reasons });
                }
                crate::gate::GateVerdict::Wait { reasons } => {
                    if last_wait.as_ref() != Some(&reasons) {
                        let status = RolloutStatus {
                            phase: Phase::Pending,
                            version: version.into(),
                            weight: 0,
                            history: vec![StepRecord {
                                at_ms: now_ms(),
                                what: format!("waiting at the gate: {}", reasons.join("; ")),
                            }],
                            breach: None,
                            stable_at_ms: None,
                            evidence: None,
                            message: Some(format!("waiting at the gate: {}", reasons.join("; "))),
                            analyses: Vec::new(),
                            environmental: Vec::new(),
                        };
                        self.write(name, &status).await?;
                        last_wait = Some(reasons);
                    }
                    tokio::select! {
                        () = shutdown.cancelled() => return Ok(None),
                        () = tokio::time::sleep(self.gate_retry) => {}
                    }
                    // Deleted while waiting: nothing to deploy any more.
                    if self.store.get("Rollout", name).await?.is_none() {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// Uses `gate` for every deployment from now on.
    pub fn set_gatekeeper(&mut self, gate: Arc<dyn crate::gate::Gatekeeper>) {
        self.gate = gate;
    }

    /// Resolves `oci:<service>:<version>` artifact locations through `store`, copying each file
    /// once into `cache` (the server uses `DATA_DIR/work/artifacts`).
    pub fn set_artifact_store(
        &mut self,
        store: Arc<slipway_artifacts::ArtifactStore>,
        cache: PathBuf,
    ) {
        self.artifact_store = Some((store, cache));
    }

    /// The program an artifact runs. A file location is used as it is (its digest checked when
    /// `verify` is set); an `oci:` location is copied out of the artifact store, checked
    /// against the resource's digest (the version's index digest) and the file's own digest.
    async fn program_of(&self, artifact: &ArtifactSpec, verify: bool) -> Result<PathBuf, String> {
        let Some((service, version)) = crate::oci_program::parse_oci_location(&artifact.location)
        else {
            let program = PathBuf::from(self.resolve(&artifact.location));
            if verify && let Some(digest) = &artifact.digest {
                verify_digest(&program, digest)?;
            }
            return Ok(program);
        };
        let Some((store, cache)) = self.artifact_store.clone() else {
            return Err(format!(
                "its location {} is in the artifact store, which this engine has not been given",
                artifact.location
            ));
        };
        let (service, version) = (service.to_owned(), version.to_owned());
        let expected = artifact.digest.clone();
        tokio::task::spawn_blocking(move || {
            crate::oci_program::materialize(&store, &service, &version, expected.as_deref(), &cache)
        })
        .await
        .map_err(|e| format!("copying it out of the artifact store failed: {e}"))?
    }

    async fn fail(&self, name: &str, message: &str) -> Result<(), EngineError> {
        let mut status = self.status_of(name).await.unwrap_or_else(|| RolloutStatus {
            phase: Phase::Failed,
            version: String::new(),
            weight: 0,
            history: Vec::new(),
            breach: None,
            stable_at_ms: None,
            evidence: None,
            message: None,
            analyses: Vec::new(),
            environmental: Vec::new(),
        });
        status.phase = Phase::Failed;
        status.message = Some(message.to_string());
        status.history.push(StepRecord {
            at_ms: now_ms(),
            what: format!("failed: {message}"),
        });
        self.write(name, &status).await
    }

    async fn status_of(&self, name: &str) -> Option<RolloutStatus> {
        let r = self.store.get("Rollout", name).await.ok()??;
        serde_json::from_value(r.status?).ok()
    }

    fn resolve(&self, text: &str) -> String {
        text.replace("{program}", &self.self_program.display().to_string())
    }

    /// Runs one rollout to its end.
    async fn drive(
        &self,
        name: &str,
        spec: RolloutSpec,
        shutdown: CancellationToken,
    ) -> Result<(), EngineError> {
        let artifact_fail = |reason: String| EngineError::Artifact {
            artifact: spec.artifact.clone(),
            reason,
        };
        let artifact = self
            .store
            .get("Artifact", &spec.artifact)
            .await?
            .ok_or_else(|| artifact_fail("does not exist".into()))?;
        let artifact: ArtifactSpec =
            typed(&artifact.spec).ok_or_else(|| artifact_fail("its spec is invalid".into()))?;
        if artifact.service != spec.service {
            return Err(artifact_fail(format!(
                "is a build of {}, not {}",
                artifact.service, spec.service
            )));
        }
        let program = self
            .program_of(&artifact, true)
            .await
            .map_err(artifact_fail)?;
        let Some(decision_recorded) = self
            .pass_gate(name, &spec, &artifact.version, &shutdown)
            .await?
        else {
            // Shut down while waiting (the restarted server asks the gate again), or deleted.
            return Ok(());
        };
        let (spec_service, spec_environment) = (spec.service.clone(), spec.environment.clone());
        let guardrails: Vec<Guardrail> = spec
            .guardrails
            .iter()
            .filter_map(|g| g.parse().ok())
            .collect();
        let key = route_key(&spec.service, &spec.environment);
        let listen: SocketAddr = spec.listen.parse().map_err(|_| EngineError::Instance {
            instance: key.clone(),
            reason: format!("bad listen address {}", spec.listen),
        })?;
        let mut status = RolloutStatus {
            phase: Phase::Progressing,
            version: artifact.version.clone(),
            weight: 0,
            history: vec![StepRecord {
                at_ms: now_ms(),
                what: format!(
                    "started: {} {} to {}",
                    spec.service, artifact.version, spec.environment
                ),
            }],
            breach: None,
            stable_at_ms: None,
            evidence: None,
            message: None,
            analyses: Vec::new(),
            environmental: Vec::new(),
        };
        // The `started` record and the gate's decision record are written while the new
        // instances start (unrouted); both are durable before the next step is recorded and
        // before anything is routed to them or anything running is touched.
        let started_recorded = self.enqueue(name, &status)?;
        let records = async move {
            started_recorded.await?;
            decision_recorded.await
        };
        self.router
            .ensure_service(&key, listen)
            .await
            .map_err(router_error(&key))?;

        let previous = self
            .stable
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .cloned();
        if let (Strategy::Rolling { batch_size, pause }, Some(old)) = (&spec.strategy, &previous) {
            records.await?;
            let pause = Duration::from_millis(parse_duration_ms(pause).unwrap_or(0));
            return self
                .rolling(
                    name,
                    &key,
                    status,
                    &spec,
                    &artifact,
                    &program,
                    old,
                    (*batch_size).max(1) as usize,
                    pause,
                    &guardrails,
                    &shutdown,
                )
                .await;
        }
        // Start the new version's instances and wait until each is healthy.
        let started = self
            .start_instances(&spec, &artifact, &program, 0..spec.instances)
            .await;
        if let Ok(started) = &started {
            self.note_launched(name, started);
        }
        records.await?;
        let started = started?;
        status.history.push(StepRecord {
            at_ms: now_ms(),
            what: format!(
                "{} instance(s) of {} healthy",
                started.len(),
                artifact.version
            ),
        });
        self.write(name, &status).await?;

        let stable_routed = |d: &Option<Deployed>| -> Vec<RoutedInstance> {
            d.as_ref().map(|d| routed(&d.instances)).unwrap_or_default()
        };
        let canary_routed = routed(&started);

        if let (
            Strategy::BlueGreen {
                smoke_path,
                rollback_window,
            },
            Some(old),
        ) = (&spec.strategy, &previous)
        {
            let window = Duration::from_millis(parse_duration_ms(rollback_window).unwrap_or(0));
            return self
                .blue_green(
                    name,
                    &key,
                    listen,
                    status,
                    old,
                    &started,
                    smoke_path.as_deref(),
                    window,
                    &guardrails,
                    &shutdown,
                )
                .await;
        }
        let (steps, baseline_mode, on_environmental) = match (&spec.strategy, &previous) {
            (
                Strategy::Canary {
                    steps,
                    baseline,
                    on_environmental,
                },
                Some(_),
            ) => (steps.clone(), *baseline, *on_environmental),
            // Nothing to compare with (first deployment) or a direct strategy: swap at once.
            _ => (
                Vec::new(),
                BaselineMode::Production,
                EnvironmentalPolicy::Continue,
            ),
        };
        // With a baseline beside the canary, the canary's share of traffic goes to an experiment
        // router that splits it evenly between fresh instances of the stable version and the
        // canary; guardrails and analysis then compare those two, under the same traffic.
        let mut experiment: Option<Experiment> = None;
        if !steps.is_empty()
            && baseline_mode == BaselineMode::Beside
            && let Some(old) = &previous
        {
            let (old_artifact, old_program) = self
                .restore_artifact(&key, &old.version)
                .await
                .ok_or_else(|| EngineError::Artifact {
                    artifact: old.version.clone(),
                    reason: "the stable version's artifact is gone".into(),
                })?;
            let count = started.len() as u32;
            let baseline = match self
                .start_instances(
                    &spec,
                    &old_artifact,
                    &old_program,
                    BASELINE_INDEX..BASELINE_INDEX + count,
                )
                .await
            {
                Ok(b) => b,
                Err(e) => {
                    for i in &started {
                        self.target.stop(&i.id).await;
                    }
                    return Err(e);
                }
            };
            self.note_launched(name, &baseline);
            let experiment_key = format!("{key}.experiment");
            let addr = self
                .router
                .ensure_service(&experiment_key, SocketAddr::from(([127, 0, 0, 1], 0)))
                .await
                .map_err(router_error(&experiment_key))?;
            self.router
                .set_backends(&experiment_key, routed(&baseline), canary_routed.clone())
                .await
                .map_err(router_error(&experiment_key))?;
            let half = CanaryWeight::from_percent(50).map_err(router_error(&experiment_key))?;
            self.router
                .set_canary_weight(&experiment_key, half)
                .await
                .map_err(router_error(&experiment_key))?;
            status.history.push(StepRecord {
                at_ms: now_ms(),
                what: format!(
                    "{count} baseline instance(s) of {} beside the canary, same traffic",
                    old.version
                ),
            });
            experiment = Some(Experiment {
                key: experiment_key,
                entry: RoutedInstance::ready(format!("experiment:{key}"), addr),
                baseline,
            });
        }
        let watched_key = experiment
            .as_ref()
            .map(|e| e.key.clone())
            .unwrap_or_else(|| key.clone());
        if !steps.is_empty() {
            let main_canary = match &experiment {
                Some(e) => vec![e.entry.clone()],
                None => canary_routed.clone(),
            };
            self.router
                .set_backends(&key, stable_routed(&previous), main_canary)
                .await
                .map_err(router_error(&key))?;
            for step in &steps {
                let weight = CanaryWeight::from_percent(step.weight).map_err(router_error(&key))?;
                self.router
                    .set_canary_weight(&key, weight)
                    .await
                    .map_err(router_error(&key))?;
                status.weight = step.weight;
                status.history.push(StepRecord {
                    at_ms: now_ms(),
                    what: format!("canary weight {}%", step.weight),
                });
                self.write(name, &status).await?;
                let hold = Duration::from_millis(parse_duration_ms(&step.pause).unwrap_or(0));
                let mut samples = crate::analysis::Samples::default();
                let step_started = now_ms();
                match self
                    .watch(
                        name,
                        &mut status,
                        WatchPlan {
                            key: &watched_key,
                            version: Version::Canary,
                            guardrails: &guardrails,
                            hold,
                            analysis: step.analysis.as_ref().map(|a| (a, &mut samples)),
                            environmental_check: experiment.is_some(),
                            probes: Some((&started, &spec.health_check)),
                        },
                        &shutdown,
                    )
                    .await?
                {
                    Watched::Held => {
                        if let Some(spec) = &step.analysis {
                            let context = crate::analysis::SeriesContext {
                                service: spec_service.clone(),
                                environment: spec_environment.clone(),
                                routed: watched_key.clone(),
                                start_ms: step_started,
                                end_ms: now_ms(),
                                step_ms: parse_duration_ms(&spec.interval).unwrap_or(1000),
                            };
                            let label = format!("{name} step {}%", step.weight);
                            let verdict = match &spec.source {
                                slipway_domain::kinds::MetricSourceSpec::Builtin => {
                                    crate::analysis::judge(spec, &samples, &context, &label).await
                                }
                                slipway_domain::kinds::MetricSourceSpec::Prometheus { url } => {
                                    let source = crate::analysis::PrometheusSource {
                                        url: url.clone(),
                                        http: self.http.clone(),
                                    };
                                    crate::analysis::judge(spec, &source, &context, &label).await
                                }
                                slipway_domain::kinds::MetricSourceSpec::Webhook { url } => {
                                    let source = crate::analysis::WebhookSource {
                                        url: url.clone(),
                                        http: self.http.clone(),
                                    };
                                    crate::analysis::judge(spec, &source, &context, &label).await
                                }
                            };
                            status.history.push(StepRecord {
                                at_ms: now_ms(),
                                what: format!("canary analysis: {}", verdict.summary),
                            });
                            status.analyses.push(verdict.record.clone());
                            self.write(name, &status).await?;
                            if !verdict.passed {
                                let breach = Breach {
                                    rule: "canary analysis".into(),
                                    value: verdict.score,
                                    shown: verdict.summary.clone(),
                                    holding_since_ms: now_ms(),
                                    at_ms: now_ms(),
                                };
                                let outcome = self
                                    .roll_back(
                                        name,
                                        &key,
                                        status,
                                        &previous,
                                        &started,
                                        breach,
                                        verdict.record,
                                    )
                                    .await;
                                self.end_experiment(experiment).await;
                                return outcome;
                            }
                        }
                    }
                    Watched::Breached(breach, window) => {
                        let outcome = self
                            .roll_back(name, &key, status, &previous, &started, breach, window)
                            .await;
                        self.end_experiment(experiment).await;
                        return outcome;
                    }
                    Watched::Environmental(breach, window) => {
                        status.history.push(StepRecord {
                            at_ms: now_ms(),
                            what: format!(
                                "environmental: {} = {} on the baseline and the canary alike; the release is not at fault",
                                breach.rule, breach.shown
                            ),
                        });
                        status
                            .environmental
                            .push(serde_json::json!({"breach": breach, "window": window}));
                        self.write(name, &status).await?;
                        if on_environmental == EnvironmentalPolicy::RollBack {
                            let outcome = self
                                .roll_back(name, &key, status, &previous, &started, breach, window)
                                .await;
                            self.end_experiment(experiment).await;
                            return outcome;
                        }
                    }
                    Watched::Aborted => {
                        let breach = operator_abort();
                        let outcome = self
                            .roll_back(
                                name,
                                &key,
                                status,
                                &previous,
                                &started,
                                breach,
                                serde_json::Value::Null,
                            )
                            .await;
                        self.end_experiment(experiment).await;
                        return outcome;
                    }
                    Watched::Shutdown => return Ok(()),
                    Watched::PromoteNow => {
                        status.history.push(StepRecord {
                            at_ms: now_ms(),
                            what: "promotion requested by an operator".into(),
                        });
                        break;
                    }
                }
                if shutdown.is_cancelled() {
                    return Ok(());
                }
            }
        }
        // Promote: the new version becomes stable, the old one (and any baseline) stops. With an
        // experiment, stable carries everything for a moment while the experiment router lets
        // go of the canary instances (an instance belongs to one routed service at a time).
        if experiment.is_some() {
            self.router
                .set_backends(&key, stable_routed(&previous), Vec::new())
                .await
                .map_err(router_error(&key))?;
            self.end_experiment(experiment).await;
        }
        self.router
            .set_backends(&key, canary_routed, Vec::new())
            .await
            .map_err(router_error(&key))?;
        self.router
            .set_canary_weight(&key, CanaryWeight::ZERO)
            .await
            .map_err(router_error(&key))?;
        if let Some(old) = &previous {
            for i in &old.instances {
                self.target.stop(&i.id).await;
            }
        }
        self.set_stable(key.clone(), artifact.version.clone(), started);
        status.phase = Phase::Promoted;
        status.weight = 100;
        let replaced = previous
            .map(|p| format!(", replacing {}", p.version))
            .unwrap_or_default();
        status.history.push(StepRecord {
            at_ms: now_ms(),
            what: format!("promoted {}{replaced}", artifact.version),
        });
        self.write_promoted(name, &status).await
    }

    /// Starts the artifact's instances for a rollout and waits until each is healthy; on a
    /// failure every started instance is stopped again.
    async fn start_instances(
        &self,
        spec: &RolloutSpec,
        artifact: &ArtifactSpec,
        program: &std::path::Path,
        indexes: std::ops::Range<u32>,
    ) -> Result<Vec<Instance>, EngineError> {
        let mut started = Vec::new();
        for index in indexes {
            let instance = self
                .target
                .start(&InstanceSpec {
                    service: spec.service.clone(),
                    environment: spec.environment.clone(),
                    version: artifact.version.clone(),
                    index,
                    program: program.to_path_buf(),
                    args: artifact.args.iter().map(|a| self.resolve(a)).collect(),
                    env: artifact.env.clone(),
                })
                .await;
            match instance {
                Ok(i) => started.push(i),
                Err(e) => {
                    for i in &started {
                        self.target.stop(&i.id).await;
                    }
                    return Err(e);
                }
            }
        }
        let ready_timeout = Duration::from_millis(
            parse_duration_ms(&spec.health_check.ready_timeout).unwrap_or(20_000),
        );
        for instance in &started {
            if !wait_ready_check(&self.http, instance.addr, &spec.health_check, ready_timeout).await
            {
                let output = self.target.last_output(&instance.id).await;
                for i in &started {
                    self.target.stop(&i.id).await;
                }
                return Err(EngineError::Instance {
                    instance: instance.id.clone(),
                    reason: format!(
                        "not healthy within {ready_timeout:?}; last output: {}",
                        output.join(" | ")
                    ),
                });
            }
        }
        Ok(started)
    }

    /// After a restart: stops what a crashed run left behind, marks rollouts that were in
    /// flight as rolled back (their canary is gone; no step of theirs runs again), and brings
    /// back the last promoted version of every service in every environment.
    pub async fn recover(&self) -> Result<(), EngineError> {
        let reaped = self.target.reap_orphans().await;
        if reaped > 0 {
            tracing::info!(reaped, "stopped instances left behind by a previous run");
        }
        // Releases that were running resume (`start_releases`) once their rollouts in flight
        // are rolled back below: promoted services stay done, interrupted ones deploy again.
        for r in self.store.list("Release").await? {
            let Some(mut status) = r
                .status
                .clone()
                .and_then(|v| serde_json::from_value::<crate::release::ReleaseStatus>(v).ok())
            else {
                continue;
            };
            if status.phase == Phase::Progressing {
                status.history.push(StepRecord {
                    at_ms: now_ms(),
                    what: format!("{INTERRUPTED}: resuming"),
                });
                let value = serde_json::to_value(&status).map_err(|e| EngineError::Instance {
                    instance: r.metadata.name.clone(),
                    reason: e.to_string(),
                })?;
                self.statuses
                    .write("Release", &r.metadata.name, value)
                    .await?;
            }
        }
        let mut latest: HashMap<String, (u64, String, RolloutSpec)> = HashMap::new();
        for r in self.store.list("Rollout").await? {
            let Some(mut status) = r
                .status
                .clone()
                .and_then(|s| serde_json::from_value::<RolloutStatus>(s).ok())
            else {
                continue;
            };
            let Some(spec) = typed::<RolloutSpec>(&r.spec) else {
                continue;
            };
            if status.phase == Phase::Progressing {
                status.phase = Phase::RolledBack;
                status.weight = 0;
                status.message = Some(INTERRUPTED.into());
                status.history.push(StepRecord {
                    at_ms: now_ms(),
                    what: format!("{INTERRUPTED}: the canary was abandoned and the last promoted version restored"),
                });
                self.write(&r.metadata.name, &status).await?;
            } else if status.phase == Phase::Promoted {
                let at = status.history.last().map(|h| h.at_ms).unwrap_or(0);
                let key = route_key(&spec.service, &spec.environment);
                if latest.get(&key).is_none_or(|(t, _, _)| *t < at) {
                    latest.insert(key, (at, r.metadata.name.clone(), spec));
                }
            }
        }
        for (key, (_, name, spec)) in latest {
            match self.restore(&key, &spec).await {
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
            .store
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

    /// Holds for `hold`, evaluating `guardrails` every tick; returns the first breach.
    async fn watch(
        &self,
        name: &str,
        status: &mut RolloutStatus,
        plan: WatchPlan<'_>,
        shutdown: &CancellationToken,
    ) -> Result<Watched, EngineError> {
        let WatchPlan {
            key,
            version: watched,
            guardrails,
            hold,
            mut analysis,
            environmental_check,
            probes,
        } = plan;
        let mut consecutive_failures: Vec<u32> =
            probes.map(|(i, _)| vec![0; i.len()]).unwrap_or_default();
        let mut last_probe = Instant::now();
        let sample_every = analysis.as_ref().map(|(a, _)| {
            Duration::from_millis(parse_duration_ms(&a.interval).unwrap_or(1000).max(100))
        });
        let mut last_sample = Instant::now();
        let mut until = Instant::now() + hold;
        let mut paused_at: Option<Instant> = None;
        let mut history = Vec::new();
        let mut states = vec![GuardrailState::default(); guardrails.len()];
        loop {
            match self.control(name).await {
                Some(Control::Abort) => return Ok(Watched::Aborted),
                Some(Control::Promote) => return Ok(Watched::PromoteNow),
                Some(Control::Pause) if paused_at.is_none() => {
                    paused_at = Some(Instant::now());
                    self.note(name, status, "paused by an operator").await?;
                }
                Some(Control::Resume) | None => {
                    if let Some(at) = paused_at.take() {
                        until += at.elapsed();
                        self.note(name, status, "resumed by an operator").await?;
                    }
                }
                Some(Control::Pause) => {}
            }
            let snapshot = self.router.metrics(key).await.map_err(router_error(key))?;
            history.push(snapshot);
            if history.len() > 600 {
                history.remove(0);
            }
            if let (Some(every), Some((spec, samples))) = (sample_every, analysis.as_mut())
                && last_sample.elapsed() >= every
                && paused_at.is_none()
            {
                last_sample = Instant::now();
                if let Some(period) = window_over(&history, every) {
                    samples.record(spec, &period);
                }
            }
            if let Some((instances, check)) = probes
                && last_probe.elapsed() >= Duration::from_millis(250)
            {
                last_probe = Instant::now();
                for (instance, failures) in instances.iter().zip(consecutive_failures.iter_mut()) {
                    if probe_check(&self.http, instance.addr, check, Duration::from_millis(200))
                        .await
                    {
                        *failures = 0;
                    } else {
                        *failures += 1;
                    }
                }
            }
            if let Some(window) = window_over(&history, self.guardrail_window) {
                let canary = window.version(watched);
                let now = now_ms();
                for (rule, state) in guardrails.iter().zip(states.iter_mut()) {
                    let value = match rule.metric {
                        // Too few requests say nothing about a rate.
                        GuardrailMetric::ErrorRate => (canary.requests() >= 5)
                            .then(|| canary.error_rate())
                            .flatten(),
                        GuardrailMetric::P50Latency => canary.p50().map(|d| d.as_secs_f64()),
                        GuardrailMetric::P95Latency => canary.p95().map(|d| d.as_secs_f64()),
                        GuardrailMetric::P99Latency => canary.p99().map(|d| d.as_secs_f64()),
                        GuardrailMetric::HealthCheckFailures => {
                            consecutive_failures.iter().max().map(|m| f64::from(*m))
                        }
                    };
                    let tick = evaluate(rule, now, value, *state);
                    *state = tick.state;
                    if let Some(breach) = tick.breach {
                        let evidence = serde_json::json!({
                            "windowMs": window.duration.as_millis() as u64,
                            "canary": {"requests": canary.requests(), "errors": canary.errors(),
                                       "errorRate": canary.error_rate(), "p99Ms": canary.p99().map(|d| d.as_secs_f64() * 1000.0)},
                            "stable": {"requests": window.stable.requests(), "errors": window.stable.errors(),
                                       "errorRate": window.stable.error_rate()},
                        });
                        let baseline = window.version(Version::Stable);
                        let baseline_value = match rule.metric {
                            GuardrailMetric::ErrorRate => (baseline.requests() >= 5)
                                .then(|| baseline.error_rate())
                                .flatten(),
                            GuardrailMetric::P50Latency => baseline.p50().map(|d| d.as_secs_f64()),
                            GuardrailMetric::P95Latency => baseline.p95().map(|d| d.as_secs_f64()),
                            GuardrailMetric::P99Latency => baseline.p99().map(|d| d.as_secs_f64()),
                            GuardrailMetric::HealthCheckFailures => None,
                        };
                        if environmental_check && baseline_value.is_some_and(|v| rule.holds(v)) {
                            return Ok(Watched::Environmental(breach, evidence));
                        }
                        return Ok(Watched::Breached(breach, evidence));
                    }
                }
            }
            if shutdown.is_cancelled() {
                return Ok(Watched::Shutdown);
            }
            if paused_at.is_none() && Instant::now() >= until {
                return Ok(Watched::Held);
            }
            tokio::select! {
                () = shutdown.cancelled() => return Ok(Watched::Shutdown),
                () = tokio::time::sleep(self.guardrail_tick) => {}
            }
        }
    }

    /// Blue-green: the new colour starts idle beside the old one, is smoke-tested with the
    /// version pinned, takes all traffic at once, and the old colour stays ready for the
    /// rollback window.
    #[allow(clippy::too_many_arguments)] // one call site; the values are the rollout's state
    async fn blue_green(
        &self,
        name: &str,
        key: &str,
        listen: SocketAddr,
        mut status: RolloutStatus,
        old: &Deployed,
        new: &[Instance],
        smoke_path: Option<&str>,
        window: Duration,
        guardrails: &[Guardrail],
        shutdown: &CancellationToken,
    ) -> Result<(), EngineError> {
        let stop_all = |list: Vec<Instance>| async move {
            for i in list {
                self.target.stop(&i.id).await;
            }
        };
        // The new colour sits behind the router as the (weight 0) canary: only pinned requests reach it.
        self.router
            .set_backends(key, routed(&old.instances), routed(new))
            .await
            .map_err(router_error(key))?;
        self.router
            .set_canary_weight(key, CanaryWeight::ZERO)
            .await
            .map_err(router_error(key))?;
        if let Some(path) = smoke_path {
            let url = format!("http://{listen}{path}");
            let answer = self
                .http
                .get(&url)
                .header("x-slipway-version", "canary")
                .timeout(Duration::from_secs(5))
                .send()
                .await;
            let ok = matches!(&answer, Ok(r) if r.status().is_success());
            let shown = match answer {
                Ok(r) => r.status().to_string(),
                Err(e) => e.to_string(),
            };
            status.history.push(StepRecord {
                at_ms: now_ms(),
                what: format!("smoke test {path} on the new colour: {shown}"),
            });
            if !ok {
                self.router
                    .set_backends(key, routed(&old.instances), Vec::new())
                    .await
                    .map_err(router_error(key))?;
                stop_all(new.to_vec()).await;
                status.phase = Phase::RolledBack;
                status.message = Some(format!("smoke test {path} failed: {shown}"));
                return self.write(name, &status).await;
            }
        }
        // Switch: all traffic to the new colour; the old one stays as the idle canary.
        self.router
            .set_backends(key, routed(new), routed(&old.instances))
            .await
            .map_err(router_error(key))?;
        status.weight = 100;
        status.history.push(StepRecord {
            at_ms: now_ms(),
            what: format!(
                "switched to {}; {} kept for {window:?}",
                status.version, old.version
            ),
        });
        self.write(name, &status).await?;
        let outcome = self
            .watch(
                name,
                &mut status,
                WatchPlan {
                    key,
                    version: Version::Stable,
                    guardrails,
                    hold: window,
                    analysis: None,
                    environmental_check: false,
                    probes: None,
                },
                shutdown,
            )
            .await?;
        let switch_back = match outcome {
            Watched::Breached(breach, evidence) | Watched::Environmental(breach, evidence) => {
                Some((breach, evidence))
            }
            Watched::Aborted => Some((operator_abort(), serde_json::Value::Null)),
            // Leave it as it is: the old colour still runs, recovery rolls the rollout back.
            Watched::Shutdown => return Ok(()),
            Watched::Held | Watched::PromoteNow => None,
        };
        if let Some((breach, evidence)) = switch_back {
            self.router
                .set_backends(key, routed(&old.instances), Vec::new())
                .await
                .map_err(router_error(key))?;
            let stable_at = now_ms();
            let mut logs = serde_json::Map::new();
            for i in new {
                logs.insert(
                    i.id.clone(),
                    serde_json::json!(self.target.last_output(&i.id).await),
                );
            }
            stop_all(new.to_vec()).await;
            status.phase = Phase::RolledBack;
            status.weight = 0;
            status.stable_at_ms = Some(stable_at);
            status.history.push(StepRecord {
                at_ms: stable_at,
                what: format!(
                    "switched back to {}: {} = {}",
                    old.version, breach.rule, breach.shown
                ),
            });
            status.evidence =
                Some(serde_json::json!({"window": evidence, "newColourOutput": logs}));
            status.breach = Some(breach);
            return self.write(name, &status).await;
        }
        self.router
            .set_backends(key, routed(new), Vec::new())
            .await
            .map_err(router_error(key))?;
        stop_all(old.instances.clone()).await;
        self.set_stable(key.to_string(), status.version.clone(), new.to_vec());
        status.phase = Phase::Promoted;
        status.history.push(StepRecord {
            at_ms: now_ms(),
            what: format!("promoted {}; {} stopped", status.version, old.version),
        });
        self.write_promoted(name, &status).await
    }

    /// Rolling: batch by batch, new instances replace old ones in the stable set; guardrails
    /// watch the whole service during each pause; a breach brings the old version back.
    #[allow(clippy::too_many_arguments)] // one call site; the values are the rollout's state
    async fn rolling(
        &self,
        name: &str,
        key: &str,
        mut status: RolloutStatus,
        spec: &RolloutSpec,
        artifact: &ArtifactSpec,
        program: &std::path::Path,
        old: &Deployed,
        batch: usize,
        pause: Duration,
        guardrails: &[Guardrail],
        shutdown: &CancellationToken,
    ) -> Result<(), EngineError> {
        let total = spec.instances as usize;
        let mut new: Vec<Instance> = Vec::new();
        let mut remaining: Vec<Instance> = old.instances.clone();
        let mut removed: Vec<Instance> = Vec::new();
        while new.len() < total {
            let count = batch.min(total - new.len());
            let first = new.len() as u32;
            let fresh = self
                .start_instances(spec, artifact, program, first..first + count as u32)
                .await?;
            self.note_launched(name, &fresh);
            new.extend(fresh);
            let leaving: Vec<Instance> = remaining.drain(..count.min(remaining.len())).collect();
            let mut serving = new.clone();
            serving.extend(remaining.iter().cloned());
            self.router
                .set_backends(key, routed(&serving), Vec::new())
                .await
                .map_err(router_error(key))?;
            // What serves now is what a failure must fall back to.
            self.set_stable(key.to_string(), old.version.clone(), serving.clone());
            for i in &leaving {
                self.target.stop(&i.id).await;
            }
            removed.extend(leaving);
            status.weight = (new.len() * 100 / total.max(1)) as u32;
            status.history.push(StepRecord {
                at_ms: now_ms(),
                what: format!("{} of {total} instances on {}", new.len(), artifact.version),
            });
            self.write(name, &status).await?;
            let outcome = self
                .watch(
                    name,
                    &mut status,
                    WatchPlan {
                        key,
                        version: Version::Stable,
                        guardrails,
                        hold: pause,
                        analysis: None,
                        environmental_check: false,
                        probes: Some((&new, &spec.health_check)),
                    },
                    shutdown,
                )
                .await?;
            let breach = match outcome {
                Watched::Breached(b, _) | Watched::Environmental(b, _) => Some(b),
                Watched::Aborted => Some(operator_abort()),
                Watched::Shutdown => return Ok(()),
                Watched::Held | Watched::PromoteNow => None,
            };
            if let Some(breach) = breach {
                // Bring the old version back to full strength, then take the new one away.

                let restored = match self.restore_artifact(key, &old.version).await {
                    Some((a, p)) => self
                        .start_instances(spec, &a, &p, 0..removed.len() as u32)
                        .await
                        .unwrap_or_default(),
                    None => Vec::new(),
                };
                let mut back = remaining.clone();
                back.extend(restored);
                if back.is_empty() {
                    // Nothing of the old version could be brought back: taking the new one away
                    // would leave no instance at all. Keep it serving and say so.
                    self.set_stable(key.to_string(), artifact.version.clone(), new.clone());
                    status.phase = Phase::Failed;
                    status.message = Some(format!(
                        "{} = {}, but {} could not be brought back; {} keeps serving",
                        breach.rule, breach.shown, old.version, artifact.version
                    ));
                    status.history.push(StepRecord {
                        at_ms: now_ms(),
                        what: status.message.clone().unwrap_or_default(),
                    });
                    status.breach = Some(breach);
                    return self.write(name, &status).await;
                }
                self.router
                    .set_backends(key, routed(&back), Vec::new())
                    .await
                    .map_err(router_error(key))?;
                let stable_at = now_ms();
                for i in &new {
                    self.target.stop(&i.id).await;
                }
                self.set_stable(key.to_string(), old.version.clone(), back);
                status.phase = Phase::RolledBack;
                status.weight = 0;
                status.stable_at_ms = Some(stable_at);
                status.history.push(StepRecord {
                    at_ms: stable_at,
                    what: format!(
                        "rolled back to {}: {} = {}",
                        old.version, breach.rule, breach.shown
                    ),
                });
                status.breach = Some(breach);
                return self.write(name, &status).await;
            }
        }
        for i in &remaining {
            self.target.stop(&i.id).await;
        }
        self.router
            .set_backends(key, routed(&new), Vec::new())
            .await
            .map_err(router_error(key))?;
        self.set_stable(key.to_string(), artifact.version.clone(), new);
        status.phase = Phase::Promoted;
        status.weight = 100;
        status.history.push(StepRecord {
            at_ms: now_ms(),
            what: format!("promoted {}, replacing {}", artifact.version, old.version),
        });
        self.write_promoted(name, &status).await
    }

    /// The artifact and program of the version currently promoted for `key` (from the latest
    /// promoted rollout of that version), to start more of its instances.
    async fn restore_artifact(&self, key: &str, version: &str) -> Option<(ArtifactSpec, PathBuf)> {
        for r in self.store.list("Rollout").await.ok()? {
            let Some(spec) = typed::<RolloutSpec>(&r.spec) else {
                continue;
            };
            if route_key(&spec.service, &spec.environment) != key {
                continue;
            }
            let Some(a) = self
                .store
                .get("Artifact", &spec.artifact)
                .await
                .ok()
                .flatten()
            else {
                continue;
            };
            let Some(a) = typed::<ArtifactSpec>(&a.spec) else {
                continue;
            };
            if a.version == version {
                let program = self.program_of(&a, false).await.ok()?;
                return Some((a, program));
            }
        }
        None
    }

    /// The operator's request on a rollout, from its `slipway.dev/control` annotation (set by
    /// `slipway rollout abort|promote|pause|resume`, so every request is an audited change).
    async fn control(&self, name: &str) -> Option<Control> {
        // Deleting a running rollout aborts it.
        let Some(r) = self.store.get("Rollout", name).await.ok()? else {
            return Some(Control::Abort);
        };
        match r
            .metadata
            .annotations
            .get(CONTROL_ANNOTATION)
            .map(String::as_str)
        {
            Some("abort") => Some(Control::Abort),
            Some("promote") => Some(Control::Promote),
            Some("pause") => Some(Control::Pause),
            Some("resume") => Some(Control::Resume),
            _ => None,
        }
    }

    /// Appends a line to a rollout's history and saves it.
    async fn note(
        &self,
        name: &str,
        status: &mut RolloutStatus,
        what: &str,
    ) -> Result<(), EngineError> {
        status.history.push(StepRecord {
            at_ms: now_ms(),
            what: what.to_string(),
        });
        self.write(name, status).await
    }

    /// Traffic back to stable first, then the canary stops; the evidence is kept.
    #[allow(clippy::too_many_arguments)] // one call site; the values are the rollout's state
    async fn roll_back(
        &self,
        name: &str,
        key: &str,
        mut status: RolloutStatus,
        previous: &Option<Deployed>,
        started: &[Instance],
        breach: Breach,
        window: serde_json::Value,
    ) -> Result<(), EngineError> {
        self.router
            .set_canary_weight(key, CanaryWeight::ZERO)
            .await
            .map_err(router_error(key))?;
        let stable_at = now_ms();
        let stable: Vec<RoutedInstance> = previous
            .as_ref()
            .map(|d| routed(&d.instances))
            .unwrap_or_default();
        self.router
            .set_backends(key, stable, Vec::new())
            .await
            .map_err(router_error(key))?;
        let mut logs = serde_json::Map::new();
        for i in started {
            logs.insert(
                i.id.clone(),
                serde_json::json!(self.target.last_output(&i.id).await),
            );
            self.target.stop(&i.id).await;
        }
        status.phase = Phase::RolledBack;
        status.weight = 0;
        status.stable_at_ms = Some(stable_at);
        status.history.push(StepRecord {
            at_ms: stable_at,
            what: format!(
                "guardrail breached ({} = {}): traffic back on stable, canary stopped",
                breach.rule, breach.shown
            ),
        });
        status.evidence = Some(serde_json::json!({"window": window, "canaryOutput": logs}));
        status.breach = Some(breach);
        self.write(name, &status).await
    }

    /// Prometheus text of the router's per-version metrics for every routed service.
    pub async fn router_metrics_text(&self) -> String {
        let keys: Vec<String> = self
            .stable
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect();
        let mut snapshots = Vec::new();
        for key in keys {
            if let Ok(snapshot) = self.router.metrics(&key).await {
                snapshots.push((key, snapshot));
            }
        }
        let refs: Vec<(&str, &slipway_router::MetricsSnapshot)> =
            snapshots.iter().map(|(k, s)| (k.as_str(), s)).collect();
        let mut out = String::new();
        slipway_router::render_prometheus(&mut out, &refs);
        out
    }

    /// Waits until no rollout holds `key` (service.environment), then holds it for `name`.
    pub(crate) async fn claim(&self, key: &str, name: &str, shutdown: &CancellationToken) -> bool {
        loop {
            {
                let mut active = self.active.lock().unwrap_or_else(|p| p.into_inner());
                if !active.contains_key(key) {
                    active.insert(key.to_string(), name.to_string());
                    return true;
                }
            }
            if shutdown.is_cancelled() {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Drives a rollout whose key the caller holds, then lets the key go; returns the final phase.
    pub(crate) async fn drive_claimed(
        &self,
        key: &str,
        name: &str,
        spec: RolloutSpec,
        shutdown: CancellationToken,
    ) -> Phase {
        // The claim goes with this future: also if it is dropped half-way (an aborted task).
        let _claim = Claim {
            active: &self.active,
            key,
        };
        if let Err(e) = self.drive(name, spec, shutdown).await {
            tracing::error!(rollout = %name, error = %e, "rollout failed");
            self.abandon(key, name).await;
            let _ = self.fail(name, &e.to_string()).await;
        }
        self.launched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
        self.promotion_listeners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
        self.status_of(name)
            .await
            .map(|s| s.phase)
            .unwrap_or(Phase::Failed)
    }

    fn note_launched(&self, name: &str, instances: &[Instance]) {
        self.launched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(name.to_string())
            .or_default()
            .extend(instances.iter().map(|i| i.id.clone()));
    }

    /// After a rollout failed half-way: traffic back on what is stable (first), the experiment
    /// router gone, and every instance the rollout started that is not stable stopped.
    async fn abandon(&self, key: &str, name: &str) {
        let stable = self
            .stable
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned();
        let _ = self.router.set_canary_weight(key, CanaryWeight::ZERO).await;
        if let Some(d) = &stable {
            let _ = self
                .router
                .set_backends(key, routed(&d.instances), Vec::new())
                .await;
        }
        let _ = self
            .router
            .remove_service(&format!("{key}.experiment"))
            .await;
        let keep: std::collections::HashSet<String> = stable
            .map(|d| d.instances.into_iter().map(|i| i.id).collect())
            .unwrap_or_default();
        let launched = self
            .launched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name)
            .unwrap_or_default();
        for id in launched.iter().filter(|id| !keep.contains(*id)) {
            self.target.stop(id).await;
        }
    }

    /// Takes the experiment router and the baseline instances away.
    async fn end_experiment(&self, experiment: Option<Experiment>) {
        if let Some(e) = experiment {
            let _ = self.router.remove_service(&e.key).await;
            for i in &e.baseline {
                self.target.stop(&i.id).await;
            }
        }
    }

    /// Takes a service out of an environment: its router listener closes and its instances stop.
    /// Returns the version that ran there, if any.
    pub(crate) async fn decommission(&self, key: &str) -> Option<String> {
        let deployed = self
            .stable
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
        let _ = self.router.remove_service(key).await;
        // The rollouts that put it there are no longer what runs: recovery must not bring the
        // service back after a restart.
        if let Ok(rollouts) = self.store.list("Rollout").await {
            for r in rollouts {
                let on_key = typed::<RolloutSpec>(&r.spec)
                    .is_some_and(|s| route_key(&s.service, &s.environment) == key);
                let status = r
                    .status
                    .clone()
                    .and_then(|v| serde_json::from_value::<RolloutStatus>(v).ok());
                if let (true, Some(mut status)) = (on_key, status)
                    && status.phase == Phase::Promoted
                {
                    status.phase = Phase::Removed;
                    status.history.push(StepRecord {
                        at_ms: now_ms(),
                        what: "removed from the environment".into(),
                    });
                    let _ = self.write(&r.metadata.name, &status).await;
                }
            }
        }
        let deployed = deployed?;
        for i in &deployed.instances {
            self.target.stop(&i.id).await;
        }
        Some(deployed.version)
    }

    /// Lets a claimed key go.
    pub(crate) fn release_key(&self, key: &str) {
        self.active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }

    /// Records what now runs as stable for `key`.
    fn set_stable(&self, key: String, version: String, instances: Vec<Instance>) {
        self.stable
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, Deployed { version, instances });
    }

    /// The store, for the release driver.
    pub(crate) fn gate(&self) -> &Arc<dyn crate::gate::Gatekeeper> {
        &self.gate
    }

    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The HTTP client used for checks.
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Stops every instance and listener (at shutdown).
    pub async fn stop(&self) {
        let stable: Vec<(String, Deployed)> = self
            .stable
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
            .collect();
        for (key, deployed) in stable {
            for i in deployed.instances {
                self.target.stop(&i.id).await;
            }
            let _ = self.router.remove_service(&key).await;
        }
        // Canaries and baselines of rollouts cut short by the shutdown.
        self.target.stop_all().await;
    }
}

fn router_error(key: &str) -> impl Fn(slipway_router::RouterError) -> EngineError + '_ {
    move |e| EngineError::Instance {
        instance: key.to_string(),
        reason: format!("router: {e}"),
    }
}

/// Instances as the router sees them (ready: they passed their health checks).
fn routed(list: &[Instance]) -> Vec<RoutedInstance> {
    list.iter()
        .map(|i| RoutedInstance::ready(i.id.clone(), i.addr))
        .collect()
}

/// The "breach" recorded when an operator aborts a rollout.
fn operator_abort() -> Breach {
    Breach {
        rule: "aborted by an operator".into(),
        value: 0.0,
        shown: "slipway rollout abort".into(),
        holding_since_ms: now_ms(),
        at_ms: now_ms(),
    }
}

/// Checks the file's SHA-256 against `sha256:<hex>`.
fn verify_digest(path: &std::path::Path, expected: &str) -> Result<(), String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(buf.get(..n).unwrap_or_default());
    }
    let actual = format!("sha256:{}", hex::encode(hasher.finalize()));
    if actual == expected {
        Ok(())
    } else {
        Err(format!(
            "{} has digest {actual}, not {expected}: refusing to run it",
            path.display()
        ))
    }
}
