//! Slipway's HTTP API under `/api/v1`, plus `/healthz`, `/readyz` and `/metrics`.
//!
//! This is the only crate that knows HTTP and JSON shapes. It authenticates every call except
//! the health probes and the OpenAPI document, asks [`access`] whether the principal may do it,
//! and turns store and domain results into responses with one error shape
//! (`{code, message, details}`). [`router`] is the whole surface; the server crate serves it.
#![forbid(unsafe_code)]

pub mod access;
pub mod artifact_routes;
pub mod audit_routes;
pub mod auth;
pub mod change_routes;
pub mod error;
pub mod event_routes;
pub mod observability;
pub mod openapi;
pub mod resource_routes;
pub mod token_routes;
pub mod vulndb_routes;

use axum::Router;
use axum::routing::get;
use ed25519_dalek::SigningKey;
use slipway_store::Store;
use slipway_supply_chain::SupplyChain;
use std::sync::Arc;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub signing_key: Arc<SigningKey>,
    /// More Prometheus text for `/metrics` (the engine's router metrics), when there is any.
    pub extra_metrics: Option<Arc<dyn ExtraMetrics>>,
    /// The supply-chain service over the artifact store (`DATA_DIR/artifacts`); `None` answers
    /// the artifact-store and vulnerability-database routes with 503.
    pub supply_chain: Option<Arc<SupplyChain>>,
}

/// A source of Prometheus text appended to `/metrics`.
#[async_trait::async_trait]
pub trait ExtraMetrics: Send + Sync {
    async fn render(&self) -> String;
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
