//! Health probes, request metrics and the Prometheus `/metrics` endpoint.
//!
//! Request counts and latencies are recorded per method, matched route and status class by a
//! middleware into the process-wide `metrics` recorder, rendered in Prometheus text format.

use crate::AppState;
use crate::access::authorize;
use crate::auth::Caller;
use crate::error::ApiResult;
use axum::Json;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use slipway_domain::kinds::Verb;
use std::sync::OnceLock;
use std::time::Instant;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
}

/// The process-wide Prometheus recorder, installed on first use.
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed (e.g. by an embedding test); then this
        // handle renders an empty page rather than failing the server.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// Records `slipway_http_requests_total` and `slipway_http_request_duration_seconds`.
pub async fn record(request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let response = next.run(request).await;
    let status = format!("{}xx", response.status().as_u16() / 100);
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("slipway_http_requests_total", &labels).increment(1);
    metrics::histogram!("slipway_http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    response
}

#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "the process is up")))]
pub async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

#[utoipa::path(get, path = "/readyz", responses((status = 200, description = "the store answers"), (status = 503)))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.audit_head().await {
        Ok((size, _)) => {
            Json(serde_json::json!({"status": "ready", "auditEntries": size})).into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({"status": "store unavailable"})),
            )
                .into_response()
        }
    }
}

#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format")), security(("bearer" = [])))]
pub async fn metrics_text(State(state): State<AppState>, caller: Caller) -> ApiResult<Response> {
    authorize(&state, &caller, Verb::Get, "metrics", None, false).await?;
    let (size, _) = state.store.audit_head().await?;
    metrics::gauge!("slipway_audit_entries").set(size as f64);
    let mut text = prometheus().render();
    if let Some(extra) = &state.extra_metrics {
        text.push_str(&extra.render().await);
    }
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        text,
    )
        .into_response())
}
