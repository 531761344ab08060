//! `init` and `server`: the commands that own a data dir.

use crate::failure::{self, CliResult, Failure};
use anyhow::Context;
use clap::Args;
use slipway_api::AppState;
use slipway_api::auth::parse_duration;
use slipway_api::server::{ServeOptions, run};
use slipway_artifacts::NamingPolicy;
use slipway_store::data_dir::DataDir;
use slipway_store::{SqlStore, Store};
use slipway_supply_chain::{Artifacts, SupplyChain};
use std::path::PathBuf;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Args)]
pub struct InitArgs {
    #[arg(long, env = "SLIPWAY_DATA_DIR")]
    pub data_dir: PathBuf,
    /// PostgreSQL instead of the data dir's SQLite file: postgres://USER@HOST:PORT/DB.
    #[arg(long, env = "SLIPWAY_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Name of the first administrator.
    #[arg(long, default_value = "admin")]
    pub admin: String,
}

pub async fn init(args: InitArgs) -> CliResult {
    let dir = DataDir::new(&args.data_dir);
    let done = slipway_api::bootstrap::init(&dir, args.database_url.as_deref(), &args.admin)
        .await
        .map_err(|e| Failure::new(1, format!("cannot initialise {}: {e}", dir.root.display())))?;
    println!(
        "initialised {} (database: {})",
        dir.root.display(),
        done.database
    );
    println!("audit signing key: {}", dir.signing_key_path().display());
    println!(
        "admin token for {}: {} (mode 0600)",
        args.admin,
        dir.admin_token_path().display()
    );
    Ok(())
}

#[derive(Debug, Args)]
pub struct ServerArgs {
    #[arg(long, env = "SLIPWAY_DATA_DIR")]
    pub data_dir: PathBuf,
    #[arg(long, default_value = "127.0.0.1:7878", env = "SLIPWAY_LISTEN")]
    pub listen: String,
    /// PostgreSQL instead of the data dir's SQLite file.
    #[arg(long, env = "SLIPWAY_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// How often to sign an audit checkpoint while the log grows.
    #[arg(long, default_value = "60s", value_parser = duration)]
    pub checkpoint_interval: std::time::Duration,
    /// How long in-flight requests may take to finish at shutdown.
    #[arg(long, default_value = "10s", value_parser = duration)]
    pub drain_timeout: std::time::Duration,
    /// The naming-convention policy every artifact push must meet (YAML or JSON; default: a
    /// semantic version, a full git SHA when one is given, nothing else required).
    #[arg(long, value_name = "FILE")]
    pub artifact_naming_policy: Option<PathBuf>,
}

fn duration(text: &str) -> Result<std::time::Duration, String> {
    parse_duration(text)
}

/// Opens the store and key of an initialised data dir.
pub async fn open(data_dir: &std::path::Path, database_url: Option<&str>) -> CliResult<AppState> {
    let dir = DataDir::new(data_dir);
    if !dir.is_initialised() {
        return Err(Failure::new(
            failure::INVALID,
            format!(
                "{} is not a slipway data dir: run slipway init --data-dir {} first",
                dir.root.display(),
                dir.root.display()
            ),
        ));
    }
    let key = dir
        .signing_key()
        .map_err(|e| Failure::new(failure::INVALID, e))?;
    let url = database_url
        .map(str::to_string)
        .unwrap_or_else(|| dir.sqlite_url());
    let store = SqlStore::open(&url)
        .await
        .context("cannot open the database")?;
    let store = Arc::new(store) as Arc<dyn Store>;
    let signing_key = Arc::new(key);
    Ok(AppState {
        supply_chain: Some(Arc::new(SupplyChain::new(
            store.clone(),
            open_artifacts(data_dir, None)?,
            signing_key.clone(),
        ))),
        store,
        signing_key,
        extra_metrics: None,
    })
}

/// Opens the artifact store at `DATA_DIR/artifacts` with the naming policy in `policy_file`
/// (the default policy without one).
pub fn open_artifacts(
    data_dir: &std::path::Path,
    policy_file: Option<&std::path::Path>,
) -> CliResult<Artifacts> {
    let naming = match policy_file {
        None => NamingPolicy::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Failure::new(
                    failure::INVALID,
                    format!("cannot read the naming policy {}: {e}", path.display()),
                )
            })?;
            NamingPolicy::from_yaml(&text)
                .map_err(|e| Failure::new(failure::INVALID, format!("{}: {e}", path.display())))?
        }
    };
    let artifacts = Artifacts::open(data_dir, naming)
        .map_err(|e| Failure::new(1, format!("cannot open the artifact store: {e}")))?;
    Ok(artifacts)
}

pub async fn server(args: ServerArgs) -> CliResult {
    let mut state = open(&args.data_dir, args.database_url.as_deref()).await?;
    if let Some(policy) = &args.artifact_naming_policy {
        state.supply_chain = Some(Arc::new(SupplyChain::new(
            state.store.clone(),
            open_artifacts(&args.data_dir, Some(policy))?,
            state.signing_key.clone(),
        )));
    }
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, data_dir = %args.data_dir.display(), "slipway server listening");
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    let engine = start_engine(&args.data_dir, &state, &shutdown)?;
    state.extra_metrics = Some(Arc::new(RouterMetricsText(engine.engine.clone())));
    let options = ServeOptions {
        checkpoint_interval: args.checkpoint_interval,
        drain_timeout: args.drain_timeout,
    };
    let served = run(listener, state, options, shutdown.clone()).await;
    engine.stop().await;
    served.context("the server failed")?;
    tracing::info!("slipway server stopped");
    Ok(())
}

/// The engine's router metrics, appended to `/metrics`.
pub struct RouterMetricsText(pub Arc<slipway_engine::rollout::Engine>);

#[async_trait::async_trait]
impl slipway_api::ExtraMetrics for RouterMetricsText {
    async fn render(&self) -> String {
        self.0.router_metrics_text().await
    }
}

/// The running engine and the task driving it.
pub struct RunningEngine {
    pub engine: Arc<slipway_engine::rollout::Engine>,
    task: tokio::task::JoinHandle<()>,
    /// Emits rollout outcomes as CDEvents and delivers the outbox.
    events: tokio::task::JoinHandle<()>,
}

impl RunningEngine {
    /// Waits for the engine's loop (it stops with the shutdown token), then stops every
    /// instance and listener it runs.
    pub async fn stop(self) {
        let _ = self.task.await;
        let _ = self.events.await;
        self.engine.stop().await;
    }
}

/// Starts the deployment engine with the embedded defaults (local processes under
/// `DATA_DIR/work`, the built-in router, the change-control gate) and the event deliverer.
pub fn start_engine(
    data_dir: &std::path::Path,
    state: &AppState,
    shutdown: &CancellationToken,
) -> CliResult<RunningEngine> {
    let program = std::env::current_exe().context("cannot tell where the slipway binary is")?;
    let target = Arc::new(slipway_engine::target::LocalTarget::new(
        data_dir.join("work"),
    ));
    let router = Arc::new(
        slipway_router::BuiltinRouter::new(slipway_router::RouterConfig::default(), shutdown)
            .context("cannot start the built-in traffic router")?,
    );
    let mut engine =
        slipway_engine::rollout::Engine::new(state.store.clone(), target, router, program);
    // Every deployment passes the change-control gate.
    // Allowing an artifact under a promotion policy attaches a signed verification summary.
    let mut gate = slipway_governance::GovernanceGate::new(state.store.clone());
    if let Some(supply_chain) = &state.supply_chain {
        gate =
            gate.with_verification_recorder(Arc::new(VerificationSummaries(supply_chain.clone())));
        engine.set_artifact_store(
            Arc::new(supply_chain.artifact_store().clone()),
            data_dir.join("work").join("artifacts"),
        );
    }
    engine.set_gatekeeper(Arc::new(gate));
    let engine = Arc::new(engine);
    let task = tokio::spawn(engine.clone().run(shutdown.clone()));
    let events = tokio::spawn(slipway_governance::events::run(
        state.store.clone(),
        shutdown.clone(),
    ));
    Ok(RunningEngine {
        engine,
        task,
        events,
    })
}

/// The gate's verification recorder: the supply-chain service attaches a signed verification
/// summary to every artifact a gate decision allows.
struct VerificationSummaries(Arc<SupplyChain>);

#[async_trait::async_trait]
impl slipway_governance::VerificationRecorder for VerificationSummaries {
    async fn record_verification(
        &self,
        decision: &slipway_domain::governance_records::GateDecisionSpec,
    ) -> Result<(), String> {
        self.0
            .record_verification(decision)
            .await
            .map_err(|e| e.to_string())
    }
}

/// Cancels `token` on SIGINT or SIGTERM.
pub async fn stop_on_signal(token: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot watch SIGTERM; only Ctrl-C stops the server");
            let _ = ctrl_c.await;
            token.cancel();
            return;
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term.recv() => {},
    }
    tracing::info!("shutting down");
    token.cancel();
}
