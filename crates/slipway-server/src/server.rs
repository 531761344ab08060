//! The running server: its parts built in order, their tasks, and their graceful stop.

use crate::{ReadConfig, ServerError, stop_on_signal};
use slipway_api::AppState;
use slipway_domain::governance_records::GateDecisionSpec;
use slipway_engine::rollout::Engine;
use slipway_store::{SqlStore, Store};
use slipway_supply_chain::{Artifacts, SupplyChain};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// `slipway server`: builds the runtime, then [`serve`]s on it.
pub fn run(config: ReadConfig) -> Result<(), ServerError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| ServerError::Start(format!("cannot start the async runtime: {e}")))?
        .block_on(serve_until_signalled(config))
}

/// Starts the server and serves until SIGINT or SIGTERM, then stops it gracefully.
pub async fn serve_until_signalled(config: ReadConfig) -> Result<(), ServerError> {
    let server = Server::start(config).await?;
    tokio::spawn(stop_on_signal(server.shutdown_token()));
    server.shutdown_token().cancelled().await;
    server.stop().await?;
    tracing::info!("slipway server stopped");
    Ok(())
}

/// A started server and the handles that stop it.
pub struct Server {
    addr: SocketAddr,
    store: Arc<dyn Store>,
    signing_key: Arc<ed25519_dalek::SigningKey>,
    engine: Arc<Engine>,
    /// The root of shutdown: every part stops when it is cancelled.
    shutdown: CancellationToken,
    /// The engine's reconcile loop, awaited in full at shutdown.
    engine_loop: tokio::task::JoinHandle<()>,
    /// The API and the background loops, drained under `drain_timeout` at shutdown.
    tasks: TaskTracker,
    /// Serving, as the API task reports it.
    served: tokio::sync::oneshot::Receiver<std::io::Result<()>>,
    drain_timeout: Duration,
}

impl Server {
    /// Builds every part from `config` and starts serving; the parts start in dependency
    /// order, and the listener is bound before the engine touches anything, so a taken port
    /// stops the start before any instance is recovered.
    pub async fn start(config: ReadConfig) -> Result<Server, ServerError> {
        let store: Arc<dyn Store> = Arc::new(
            SqlStore::open(&config.database_url)
                .await
                .map_err(|e| ServerError::Start(format!("cannot open the database: {e}")))?,
        );
        let signing_key = Arc::new(config.signing_key.clone());
        let artifacts = Artifacts::open(&config.dir.root, config.naming.clone())
            .map_err(|e| ServerError::Start(format!("cannot open the artifact store: {e}")))?;
        let supply_chain = Arc::new(SupplyChain::new(
            store.clone(),
            artifacts,
            signing_key.clone(),
        ));
        let listener = TcpListener::bind(&config.listen)
            .await
            .map_err(|e| ServerError::Start(format!("cannot listen on {}: {e}", config.listen)))?;
        let addr = listener.local_addr()?;
        tracing::info!(%addr, data_dir = %config.dir.root.display(), "slipway server listening");

        let shutdown = CancellationToken::new();
        let engine = Arc::new(build_engine(&config, &store, &supply_chain, &shutdown)?);
        let engine_loop = tokio::spawn(engine.clone().run(shutdown.clone()));
        let tasks = TaskTracker::new();
        tasks.spawn(slipway_governance::events::run(
            store.clone(),
            shutdown.clone(),
        ));
        tasks.spawn(checkpoint_loop(
            store.clone(),
            signing_key.clone(),
            config.checkpoint_interval,
            shutdown.clone(),
        ));
        let state = AppState {
            store: store.clone(),
            signing_key: signing_key.clone(),
            extra_metrics: Some(Arc::new(RouterMetricsText(engine.clone()))),
            supply_chain: Some(supply_chain),
        };
        let (report, served) = tokio::sync::oneshot::channel();
        let api_shutdown = shutdown.clone();
        tasks.spawn(async move {
            let _ = report.send(serve(listener, state, config.drain_timeout, api_shutdown).await);
        });
        Ok(Server {
            addr,
            store,
            signing_key,
            engine,
            shutdown,
            engine_loop,
            tasks,
            served,
            drain_timeout: config.drain_timeout,
        })
    }

    /// The address the API listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The root token: cancelling it begins the shutdown that [`Server::stop`] completes.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops the server: cancels the root token, awaits the engine's loop, drains the API and
    /// the background loops under the drain timeout, stops every instance and listener the
    /// engine runs, and signs a final checkpoint.
    pub async fn stop(self) -> Result<(), ServerError> {
        self.shutdown.cancel();
        let _ = self.engine_loop.await;
        self.tasks.close();
        if tokio::time::timeout(self.drain_timeout, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("background tasks did not stop within the drain timeout");
        }
        self.engine.stop().await;
        match self.store.checkpoint(&self.signing_key).await {
            Ok(Some(cp)) => {
                tracing::info!(size = cp.checkpoint.size, "final audit checkpoint signed")
            }
            Ok(None) => tracing::info!("audit log already checkpointed"),
            Err(e) => tracing::error!(error = %e, "final audit checkpoint failed"),
        }
        match self.served.await {
            Ok(result) => result.map_err(ServerError::Serve),
            // The API task did not report: it was still draining when the drain timed out.
            Err(_) => Ok(()),
        }
    }
}

/// The deployment engine with the embedded defaults: local processes under `DATA_DIR/work`,
/// the built-in router, the change-control gate recording verification summaries through the
/// supply-chain service, and `oci:` artifacts copied out of the artifact store.
fn build_engine(
    config: &ReadConfig,
    store: &Arc<dyn Store>,
    supply_chain: &Arc<SupplyChain>,
    shutdown: &CancellationToken,
) -> Result<Engine, ServerError> {
    let program = std::env::current_exe()
        .map_err(|e| ServerError::Start(format!("cannot tell where the slipway binary is: {e}")))?;
    let work = config.dir.root.join("work");
    let target = Arc::new(slipway_engine::target::LocalTarget::new(work.clone()));
    let router = Arc::new(
        slipway_router::BuiltinRouter::new(slipway_router::RouterConfig::default(), shutdown)
            .map_err(|e| {
                ServerError::Start(format!("cannot start the built-in traffic router: {e}"))
            })?,
    );
    let mut engine = Engine::new(store.clone(), target, router, program);
    // Every deployment passes the change-control gate; allowing an artifact under a promotion
    // policy attaches a signed verification summary to it.
    engine.set_gatekeeper(Arc::new(
        slipway_governance::GovernanceGate::new(store.clone())
            .with_verification_recorder(Arc::new(VerificationSummaries(supply_chain.clone()))),
    ));
    engine.set_artifact_store(
        Arc::new(supply_chain.artifact_store().clone()),
        work.join("artifacts"),
    );
    Ok(engine)
}

/// Serves the API until `shutdown` is cancelled, then lets in-flight requests finish within
/// `drain_timeout`.
async fn serve(
    listener: TcpListener,
    state: AppState,
    drain_timeout: Duration,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    slipway_api::observability::prometheus();
    let serve = axum::serve(listener, slipway_api::router(state))
        .with_graceful_shutdown(shutdown.clone().cancelled_owned());
    let drain_deadline = async move {
        shutdown.cancelled().await;
        tokio::time::sleep(drain_timeout).await;
    };
    tokio::select! {
        result = serve => result,
        () = drain_deadline => {
            tracing::warn!("in-flight requests did not finish within the drain timeout");
            Ok(())
        }
    }
}

/// Signs a checkpoint every `interval` while the log grows. Idempotent: a tick with nothing new
/// writes nothing; a failure is logged and retried next tick.
async fn checkpoint_loop(
    store: Arc<dyn Store>,
    key: Arc<ed25519_dalek::SigningKey>,
    interval: Duration,
    shutdown: CancellationToken,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticker.tick() => {
                if let Err(e) = store.checkpoint(&key).await {
                    tracing::error!(error = %e, "periodic audit checkpoint failed");
                }
            }
        }
    }
}

/// The engine's router metrics, appended to `/metrics`.
struct RouterMetricsText(Arc<Engine>);

#[async_trait::async_trait]
impl slipway_api::ExtraMetrics for RouterMetricsText {
    async fn render(&self) -> String {
        self.0.router_metrics_text().await
    }
}

/// The gate's verification recorder: the supply-chain service attaches a signed verification
/// summary to every artifact a gate decision allows.
struct VerificationSummaries(Arc<SupplyChain>);

#[async_trait::async_trait]
impl slipway_governance::VerificationRecorder for VerificationSummaries {
    async fn record_verification(&self, decision: &GateDecisionSpec) -> Result<(), String> {
        self.0
            .record_verification(decision)
            .await
            .map_err(|e| e.to_string())
    }
}
