//! Legal holds over HTTP: placing and releasing one, each recorded by the supply-chain service
//! as an audited annotation of the version's Artifact resource.

use super::{actor, supply_chain, writable_target};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::resource_routes::ApplyResult;
use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};

/// Why an artifact is held.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HoldRequest {
    pub reason: String,
}

/// A hold placed or released, and the audited change to the Artifact resource.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HoldResponse {
    pub service: String,
    pub version: String,
    pub reason: String,
    pub actor: String,
    pub since: String,
    pub resource: ApplyResult,
}

fn hold_response(hold: &slipway_artifacts::Hold, resource: ApplyResult) -> HoldResponse {
    HoldResponse {
        service: hold.service.clone(),
        version: hold.version.clone(),
        reason: hold.reason.clone(),
        actor: hold.actor.clone(),
        since: hold
            .since
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        resource,
    }
}

#[utoipa::path(post, path = "/api/v1/artifact-store/{service}/{version}/hold",
    params(("service" = String, Path), ("version" = String, Path)), request_body = HoldRequest,
    responses((status = 200, body = HoldResponse), (status = 409, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn hold(
    State(state): State<AppState>,
    caller: Caller,
    Path((service, version)): Path<(String, String)>,
    Json(request): Json<HoldRequest>,
) -> ApiResult<Json<HoldResponse>> {
    let supply_chain = supply_chain(&state)?;
    if request.reason.trim().is_empty() {
        return Err(ApiError::invalid("a legal hold needs a reason", vec![]));
    }
    let target = writable_target(&state, &supply_chain, &caller, &service, &version).await?;
    let (held, resource) = supply_chain
        .hold(&actor(&caller), &target, &request.reason)
        .await?;
    Ok(Json(hold_response(&held, resource)))
}

#[utoipa::path(delete, path = "/api/v1/artifact-store/{service}/{version}/hold",
    params(("service" = String, Path), ("version" = String, Path)),
    responses((status = 200, body = HoldResponse), (status = 409, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn release_hold(
    State(state): State<AppState>,
    caller: Caller,
    Path((service, version)): Path<(String, String)>,
) -> ApiResult<Json<HoldResponse>> {
    let supply_chain = supply_chain(&state)?;
    let target = writable_target(&state, &supply_chain, &caller, &service, &version).await?;
    let (released, resource) = supply_chain.release_hold(&actor(&caller), &target).await?;
    Ok(Json(hold_response(&released, resource)))
}
