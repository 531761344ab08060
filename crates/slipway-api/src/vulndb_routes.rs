//! The vulnerability database import route (`POST /api/v1/vulndb/import`, a ZIP of OSV records
//! as the body), kept by the supply-chain service in `DATA_DIR/vulndb`.

use crate::AppState;
use crate::access::authorize;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::routing::post;
use slipway_domain::kinds::{Artifact, Kind, Verb};
use slipway_supply_chain::vulndb::VulnDbImport;

/// The largest OSV ZIP accepted by the import route.
const MAX_VULNDB_BYTES: usize = 512 << 20;

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/api/v1/vulndb/import",
        post(import_vulndb).layer(DefaultBodyLimit::max(MAX_VULNDB_BYTES)),
    )
}

#[utoipa::path(post, path = "/api/v1/vulndb/import",
    request_body(content = Vec<u8>, content_type = "application/zip", description = "a ZIP of OSV records"),
    responses((status = 200, body = VulnDbImport), (status = 422, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn import_vulndb(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> ApiResult<Json<VulnDbImport>> {
    authorize(&state, &caller, Verb::Update, Artifact::PLURAL, None, false).await?;
    let supply_chain = state.supply_chain.as_ref().ok_or_else(|| {
        ApiError::unavailable("this server runs without a data dir for its vulnerability database")
    })?;
    Ok(Json(supply_chain.import_vulndb(body).await?))
}
