//! The engine: picks up Rollout resources (one active per service and environment) and
//! Releases, under the engine lease that only one replica holds, and drives each rollout with
//! its reconciler ([`crate::reconcile`]): the planners ([`crate::plan`]) decide, the executor
//! ([`crate::executor`]) applies. It also keeps what runs as stable for every routed service,
//! the instances' start and health checks, and the status writes.
//!
//! On a breach traffic goes back to stable first (only onto ready stable instances), then the
//! canary instances stop, and the status keeps the evidence: the breach, the metric window
//! that breached, and the canary's last output lines.

use crate::EngineError;
use crate::health::wait_ready_check;
use crate::target::{Instance, InstanceSpec, Target};
use slipway_domain::guardrail::parse_duration_ms;
use slipway_domain::kinds::{ArtifactSpec, RolloutSpec, typed};
use slipway_router::TrafficRouter;
use slipway_store::Store;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use crate::plan::status::{INTERRUPTED, Phase, RolloutStatus, StepRecord};
pub use slipway_gate::CONTROL_ANNOTATION;

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

/// Holds a (service, environment) for a rollout; lets it go when dropped.
struct Claim<'a> {
    active: &'a Mutex<HashMap<String, String>>,
    key: &'a str,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        lock(self.active).remove(self.key);
    }
}

/// What runs as stable for a (service, environment).
#[derive(Debug, Clone)]
pub(crate) struct Deployed {
    pub version: String,
    pub instances: Vec<Instance>,
}

/// The engine: runs rollouts against a target and a router.
pub struct Engine {
    store: Arc<dyn Store>,
    pub(crate) target: Arc<dyn Target>,
    pub(crate) router: Arc<dyn TrafficRouter>,
    http: reqwest::Client,
    /// `{program}` in an artifact's location or arguments becomes this path (the demo deploys
    /// the slipway binary itself).
    pub(crate) self_program: PathBuf,
    stable: Mutex<HashMap<String, Deployed>>,
    active: Mutex<HashMap<String, String>>,
    /// Who to tell when a rollout is promoted, by rollout (see [`Engine::on_promotion`]).
    promotion_listeners: Mutex<HashMap<String, PromotionListener>>,
    /// Group-commits status writes.
    pub(crate) statuses: crate::status_writer::StatusWriter,
    /// Who this engine is, for the lease: host, process and a random part.
    holder: String,
    /// Whether this replica holds the engine lease now.
    leading: AtomicBool,
    /// Releases being driven.
    pub(crate) releases: Mutex<HashSet<String>>,
    /// How often guardrails are evaluated.
    pub guardrail_tick: Duration,
    /// The window guardrails are evaluated over.
    pub guardrail_window: Duration,
    /// Asked before every deployment starts.
    gate: Arc<dyn slipway_gate::Gatekeeper>,
    /// How often a rollout waiting at the gate asks again.
    pub gate_retry: Duration,
    /// The artifact store `oci:` locations are read from, and where their files are copied.
    pub(crate) artifact_store: Option<(Arc<slipway_artifacts::ArtifactStore>, PathBuf)>,
}

/// What is told of a rollout's promotion.
pub(crate) type PromotionListener = Box<dyn FnOnce() + Send>;

pub(crate) fn route_key(service: &str, environment: &str) -> String {
    format!("{service}.{environment}")
}

/// Locks a mutex, also after a panic elsewhere poisoned it (the maps stay consistent).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// This replica's turn as lease holder.
struct Term {
    leading: bool,
    renewed: Instant,
    recovered: bool,
    /// Every term gets its own token: losing the lease stops this replica's rollouts (they
    /// stay as they are for the next holder), shutdown stops everything.
    token: CancellationToken,
}

impl Engine {
    pub fn new(
        store: Arc<dyn Store>,
        target: Arc<dyn Target>,
        router: Arc<dyn TrafficRouter>,
        self_program: PathBuf,
    ) -> Self {
        let statuses = crate::status_writer::StatusWriter::start(store.clone());
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        Engine {
            store,
            target,
            router,
            http: reqwest::Client::new(),
            self_program,
            stable: Mutex::new(HashMap::new()),
            active: Mutex::new(HashMap::new()),
            releases: Mutex::new(HashSet::new()),
            promotion_listeners: Mutex::new(HashMap::new()),
            gate: Arc::new(slipway_gate::OpenGate),
            gate_retry: Duration::from_secs(2),
            artifact_store: None,
            statuses,
            holder: format!("{}:{}:{}", host.trim(), std::process::id(), now_ms()),
            leading: AtomicBool::new(false),
            guardrail_tick: Duration::from_millis(100),
            guardrail_window: Duration::from_secs(1),
        }
    }

    /// Uses `gate` for every deployment from now on.
    pub fn set_gatekeeper(&mut self, gate: Arc<dyn slipway_gate::Gatekeeper>) {
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

    /// Watches for Rollout resources without a terminal status and runs each once, until
    /// `shutdown`. One active rollout per (service, environment): a second one waits.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let tasks = TaskTracker::new();
        let mut term = Term {
            leading: false,
            renewed: Instant::now(),
            recovered: false,
            token: shutdown.child_token(),
        };
        loop {
            let pause = if self.renew_lease(&mut term, &shutdown).await {
                self.start_rollouts(&tasks, &term.token).await;
                self.start_releases(&tasks, &term.token).await;
                Duration::from_millis(200)
            } else {
                Duration::from_millis(500)
            };
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(pause) => {}
            }
        }
        tasks.close();
        tasks.wait().await;
        if term.leading {
            let _ = self.store.release_lease(ENGINE_LEASE, &self.holder).await;
        }
    }

    /// Of several replicas sharing a database, only the holder of the engine lease runs
    /// rollouts; it renews every tick, and another takes over once it lapses. A failed renewal
    /// (a busy or briefly unreachable database) is not a loss while the lease is still surely
    /// ours. Returns whether this replica holds it.
    async fn renew_lease(&self, term: &mut Term, shutdown: &CancellationToken) -> bool {
        let now = now_ms() as i64;
        let held = match self
            .store
            .acquire_lease(ENGINE_LEASE, &self.holder, now, LEASE_TTL_MS)
            .await
        {
            Ok(true) => {
                term.renewed = Instant::now();
                true
            }
            Ok(false) => false,
            Err(e) => {
                tracing::warn!(error = %e, "cannot renew the engine lease");
                term.leading
                    && term.renewed.elapsed() < Duration::from_millis(LEASE_TTL_MS as u64 / 2)
            }
        };
        if held && !term.leading {
            tracing::info!(holder = %self.holder, "holding the engine lease");
            term.token = shutdown.child_token();
            self.leading.store(true, Ordering::SeqCst);
            // Recovery (reaping orphans, restoring stable versions) happens once per process:
            // later terms find this process's own instances running.
            if !term.recovered {
                term.recovered = true;
                if let Err(e) = self.recover().await {
                    tracing::error!(error = %e, "recovery after restart failed");
                }
            }
        } else if !held && term.leading {
            tracing::warn!(holder = %self.holder, "lost the engine lease: this replica's rollouts stop");
            self.leading.store(false, Ordering::SeqCst);
            term.token.cancel();
        }
        term.leading = held;
        held
    }

    /// Whether this replica holds the engine lease.
    pub(crate) fn leading(&self) -> bool {
        self.leading.load(Ordering::SeqCst)
    }

    /// Starts every Rollout not yet begun whose (service, environment) is free; those a
    /// release created are the release's to drive.
    async fn start_rollouts(self: &Arc<Self>, tasks: &TaskTracker, term: &CancellationToken) {
        let rollouts = match self.store.list("Rollout").await {
            Ok(rollouts) => rollouts,
            Err(e) => {
                tracing::error!(error = %e, "cannot list rollouts");
                return;
            }
        };
        for r in rollouts {
            let phase = r
                .status
                .as_ref()
                .and_then(|s| serde_json::from_value::<RolloutStatus>(s.clone()).ok())
                .map(|s| s.phase);
            let begun = phase.is_some_and(|p| p.is_terminal() || p == Phase::Progressing);
            if begun
                || r.metadata
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
                let mut active = lock(&self.active);
                if active.contains_key(&key) {
                    continue;
                }
                active.insert(key.clone(), r.metadata.name.clone());
            }
            let (engine, name, stop) = (self.clone(), r.metadata.name.clone(), term.clone());
            tasks.spawn(async move {
                engine.drive_claimed(&key, &name, spec, stop).await;
            });
        }
    }

    pub(crate) async fn write(
        &self,
        name: &str,
        status: &RolloutStatus,
    ) -> Result<(), EngineError> {
        self.enqueue(name, status)?.await
    }

    /// Writes a rollout's `Promoted` status. Its promotion listener hears of it as soon as the
    /// write is queued: anything the listener then starts writes its own statuses after this
    /// one (the status writer keeps their order), so none of them is durable before it.
    pub(crate) async fn write_promoted(
        &self,
        name: &str,
        status: &RolloutStatus,
    ) -> Result<(), EngineError> {
        let durable = self.enqueue(name, status)?;
        let listener = lock(&self.promotion_listeners).remove(name);
        if let Some(listener) = listener {
            listener();
        }
        durable.await
    }

    /// Calls `listener` once rollout `name` is promoted (before its status is durable; see
    /// [`Engine::write_promoted`]). It is dropped uncalled if the rollout ends otherwise.
    pub(crate) fn on_promotion(&self, name: &str, listener: PromotionListener) {
        lock(&self.promotion_listeners).insert(name.to_string(), listener);
    }

    /// Queues a rollout's status write (in order with its others); the future waits until it
    /// is durable.
    pub(crate) fn enqueue(
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

    /// Marks a rollout Failed with `message` (keeping the history it has).
    async fn fail(&self, name: &str, message: &str) -> Result<(), EngineError> {
        let mut status = self
            .status_of(name)
            .await
            .unwrap_or_else(|| RolloutStatus::new(Phase::Failed, ""));
        status.phase = Phase::Failed;
        status.message = Some(message.to_string());
        status.record(now_ms(), format!("failed: {message}"));
        self.write(name, &status).await
    }

    pub(crate) async fn status_of(&self, name: &str) -> Option<RolloutStatus> {
        let r = self.store.get("Rollout", name).await.ok()??;
        serde_json::from_value(r.status?).ok()
    }

    pub(crate) fn resolve(&self, text: &str) -> String {
        text.replace("{program}", &self.self_program.display().to_string())
    }

    /// Starts the artifact's instances for a rollout and waits until each is healthy; on a
    /// failure every started instance is stopped again.
    pub(crate) async fn start_instances(
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
                    self.stop_each(&started).await;
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
                self.stop_each(&started).await;
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

    async fn stop_each(&self, instances: &[Instance]) {
        for i in instances {
            self.target.stop(&i.id).await;
        }
    }

    /// Prometheus text of the router's per-version metrics for every routed service.
    pub async fn router_metrics_text(&self) -> String {
        let keys: Vec<String> = lock(&self.stable).keys().cloned().collect();
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
                let mut active = lock(&self.active);
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
        let outcome =
            match crate::reconcile::Rollout::prepare(self, key, name, spec, shutdown).await {
                Ok(mut rollout) => match rollout.reconcile().await {
                    Ok(()) => Ok(rollout.saved),
                    Err(e) => {
                        rollout.abandon().await;
                        Err(e)
                    }
                },
                Err(e) => Err(e),
            };
        lock(&self.promotion_listeners).remove(name);
        match outcome {
            // What it wrote last is what it is: the release driver hears at once.
            Ok(Some(phase)) => phase,
            Ok(None) => self
                .status_of(name)
                .await
                .map(|s| s.phase)
                .unwrap_or(Phase::Failed),
            Err(e) => {
                tracing::error!(rollout = %name, error = %e, "rollout failed");
                let _ = self.fail(name, &e.to_string()).await;
                Phase::Failed
            }
        }
    }

    /// Takes a service out of an environment: its router listener closes and its instances stop.
    /// Returns the version that ran there, if any.
    pub(crate) async fn decommission(&self, key: &str) -> Option<String> {
        let deployed = lock(&self.stable).remove(key);
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
                    status.record(now_ms(), "removed from the environment");
                    let _ = self.write(&r.metadata.name, &status).await;
                }
            }
        }
        let deployed = deployed?;
        self.stop_each(&deployed.instances).await;
        Some(deployed.version)
    }

    /// Lets a claimed key go.
    pub(crate) fn release_key(&self, key: &str) {
        lock(&self.active).remove(key);
    }

    /// Records what now runs as stable for `key`.
    pub(crate) fn set_stable(&self, key: String, version: String, instances: Vec<Instance>) {
        lock(&self.stable).insert(key, Deployed { version, instances });
    }

    /// What runs as stable for `key`.
    pub(crate) fn stable_of(&self, key: &str) -> Option<Deployed> {
        lock(&self.stable).get(key).cloned()
    }

    /// The gate every deployment asks.
    pub(crate) fn gate(&self) -> &Arc<dyn slipway_gate::Gatekeeper> {
        &self.gate
    }

    /// The store, for the release driver and recovery.
    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The HTTP client used for checks.
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Stops every instance and listener (at shutdown).
    pub async fn stop(&self) {
        let stable: Vec<(String, Deployed)> = lock(&self.stable).drain().collect();
        for (key, deployed) in stable {
            self.stop_each(&deployed.instances).await;
            let _ = self.router.remove_service(&key).await;
        }
        // Canaries and baselines of rollouts cut short by the shutdown.
        self.target.stop_all().await;
    }
}
