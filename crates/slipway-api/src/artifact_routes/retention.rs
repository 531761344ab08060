//! Retention over HTTP: a policy run as a dry run (the default) or for real; the
//! supply-chain service plans it from what the Rollouts say is deployed and deletes the
//! versions and their Artifact resources.

use super::{actor, supply_chain};
use crate::AppState;
use crate::access::authorize;
use crate::auth::Caller;
use crate::error::ApiResult;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use slipway_artifacts::{RetentionDecision, RetentionReport};
use slipway_domain::kinds::{Artifact, Kind, Verb};
use slipway_supply_chain::retention::retention_policy;

/// A retention run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetentionRequest {
    /// The policy, as YAML or JSON text or as an object (defaults for what is left out).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub policy: Option<serde_json::Value>,
    /// Only say what would happen (the default).
    #[serde(default = "yes")]
    pub dry_run: bool,
}

fn yes() -> bool {
    true
}

/// What a retention run decided and did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetentionResponse {
    #[schema(value_type = Vec<Object>)]
    pub plan: Vec<RetentionDecision>,
    #[schema(value_type = Object)]
    pub report: RetentionReport,
    /// Artifact resources deleted with their content.
    pub resources_deleted: Vec<String>,
    /// Artifact resources kept although their content went, and why.
    pub resources_kept: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/artifact-store/retention", request_body = RetentionRequest,
    responses((status = 200, body = RetentionResponse), (status = 422, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn retention(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<RetentionRequest>,
) -> ApiResult<Json<RetentionResponse>> {
    let supply_chain = supply_chain(&state)?;
    let verb = if request.dry_run {
        Verb::List
    } else {
        Verb::Delete
    };
    authorize(&state, &caller, verb, Artifact::PLURAL, None, false).await?;
    let policy = retention_policy(request.policy.as_ref())?;
    let outcome = supply_chain
        .retention(&actor(&caller), policy, request.dry_run)
        .await?;
    Ok(Json(RetentionResponse {
        plan: outcome.plan,
        report: outcome.report,
        resources_deleted: outcome.resources_deleted,
        resources_kept: outcome.resources_kept,
    }))
}
