//! Slipway's HTTP API under `/api/v1`, plus `/healthz`, `/readyz` and `/metrics`.
//!
//! This is the only crate that knows HTTP and JSON shapes. It authenticates every call except
//! the health probes and the OpenAPI document, asks [`access`] whether the principal may do it,
//! and turns store and domain results into responses with one error shape
//! (`{code, message, details}`). [`server::run`] serves it with graceful shutdown.
#![forbid(unsafe_code)]

pub mod access;
pub mod artifact_routes;
pub mod audit_routes;
pub mod auth;
pub mod bootstrap;
pub mod change_routes;
pub mod error;
pub mod event_routes;
pub mod observability;
pub mod openapi;
pub mod resource_routes;
pub mod server;
pub mod token_routes;
pub mod vulndb_routes;

use ed25519_dalek::SigningKey;
use slipway_store::Store;
use slipway_supply_chain::SupplyChain;
use std::sync::Arc;

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
