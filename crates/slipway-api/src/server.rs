//! Serving the API: the router with its layers, a background checkpoint writer, and graceful
//! shutdown. A root `CancellationToken` stops accepting connections; in-flight requests drain
//! under a timeout; background tasks in a `TaskTracker` finish; a final checkpoint is signed.

use crate::{
    AppState, artifact_routes, audit_routes, change_routes, event_routes, observability, openapi,
    resource_routes, token_routes, vulndb_routes,
};
use axum::Router;
use axum::routing::get;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// How the server behaves, read before it starts.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// How often to sign a checkpoint when the log has grown.
    pub checkpoint_interval: Duration,
    /// How long in-flight requests may take to finish after shutdown begins.
    pub drain_timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            checkpoint_interval: Duration::from_secs(60),
            drain_timeout: Duration::from_secs(10),
        }
    }
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let x_request_id = axum::http::HeaderName::from_static("x-request-id");
    Router::new()
        .merge(resource_routes::routes())
        .merge(artifact_routes::routes())
        .merge(vulndb_routes::routes())
        .merge(audit_routes::routes())
        .merge(change_routes::routes())
        .merge(event_routes::routes())
        .merge(token_routes::routes())
        .merge(observability::routes())
        .route("/api/v1/openapi.json", get(openapi::document))
        .route_layer(axum::middleware::from_fn(observability::record))
        .with_state(state)
        .layer(TraceLayer::new_for_http())
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
}

/// Serves until `shutdown` is cancelled, then drains and writes a final checkpoint.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    options: ServeOptions,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    observability::prometheus();
    let tracker = TaskTracker::new();
    tracker.spawn(checkpoint_loop(
        state.clone(),
        options.checkpoint_interval,
        shutdown.clone(),
    ));
    let app = router(state.clone());
    let serve =
        axum::serve(listener, app).with_graceful_shutdown(shutdown.clone().cancelled_owned());
    let drain_deadline = {
        let shutdown = shutdown.clone();
        async move {
            shutdown.cancelled().await;
            tokio::time::sleep(options.drain_timeout).await;
        }
    };
    tokio::select! {
        result = serve => result?,
        () = drain_deadline => tracing::warn!("in-flight requests did not finish within the drain timeout"),
    }
    tracker.close();
    if tokio::time::timeout(options.drain_timeout, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("background tasks did not stop within the drain timeout");
    }
    match state.store.checkpoint(&state.signing_key).await {
        Ok(Some(cp)) => tracing::info!(size = cp.checkpoint.size, "final audit checkpoint signed"),
        Ok(None) => tracing::info!("audit log already checkpointed"),
        Err(e) => tracing::error!(error = %e, "final audit checkpoint failed"),
    }
    Ok(())
}

/// Signs a checkpoint every `interval` while the log grows. Idempotent: a tick with nothing new
/// writes nothing; a failure is logged and retried next tick.
async fn checkpoint_loop(state: AppState, interval: Duration, shutdown: CancellationToken) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticker.tick() => {
                if let Err(e) = state.store.checkpoint(&state.signing_key).await {
                    tracing::error!(error = %e, "periodic audit checkpoint failed");
                }
            }
        }
    }
}
