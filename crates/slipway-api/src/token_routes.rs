//! Token endpoints: create (the secret is in this one response only), list (metadata only),
//! revoke. Users may manage their own tokens; others' tokens need the `tokens` permission.

use crate::AppState;
use crate::access::authorize;
use crate::auth::{Caller, mint, parse_duration};
use crate::error::{ApiError, ApiResult};
use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::{delete, get};
use serde::{Deserialize, Serialize};
use slipway_domain::kinds::{User, Verb};
use slipway_store::{Actor, TokenRecord, TypedStore};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tokens", get(list).post(create))
        .route("/api/v1/tokens/{id}", delete(revoke))
        .route("/api/v1/whoami", get(whoami))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateToken {
    pub user: String,
    /// E.g. `30d`; no expiry when absent.
    #[serde(default)]
    pub expires_in: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreatedToken {
    /// The secret token: shown in this response only, stored only as a hash.
    pub token: String,
    #[schema(value_type = Object)]
    pub record: TokenRecord,
}

fn actor(caller: &Caller) -> Actor {
    Actor {
        user: caller.principal.user.clone(),
        request_id: caller.request_id.clone(),
        change_ref: None,
    }
}

#[utoipa::path(post, path = "/api/v1/tokens", request_body = CreateToken, responses((status = 200, body = CreatedToken)), security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<CreateToken>,
) -> ApiResult<Json<CreatedToken>> {
    let own = req.user == caller.principal.user;
    authorize(&state, &caller, Verb::Create, "tokens", None, own).await?;
    if !state.store.kind::<User>().exists(&req.user).await? {
        return Err(ApiError::not_found(format!(
            "User {} does not exist",
            req.user
        )));
    }
    let expires = match &req.expires_in {
        Some(text) => Some(
            parse_duration(text)
                .map_err(|e| ApiError::invalid(format!("expiresIn: {e}"), vec![]))?,
        ),
        None => None,
    };
    let minted = mint(&req.user, req.description.as_deref().unwrap_or(""), expires)?;
    state
        .store
        .create_token(&actor(&caller), minted.record.clone())
        .await?;
    Ok(Json(CreatedToken {
        token: minted.token,
        record: minted.record,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// Only this user's tokens.
    pub user: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/tokens", params(ListQuery), responses((status = 200, body = Vec<Object>)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Vec<TokenRecord>>> {
    let own = q.user.as_deref() == Some(caller.principal.user.as_str());
    authorize(&state, &caller, Verb::List, "tokens", None, own).await?;
    Ok(Json(state.store.tokens(q.user.as_deref()).await?))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", params(("id" = String, Path)), responses((status = 200, body = Object)), security(("bearer" = [])))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let token = state.store.token(&id).await?;
    let own = token
        .as_ref()
        .is_some_and(|t| t.user == caller.principal.user);
    authorize(&state, &caller, Verb::Delete, "tokens", None, own).await?;
    if token.is_none() {
        return Err(ApiError::not_found(format!("token {id} does not exist")));
    }
    let revoked = state.store.revoke_token(&actor(&caller), &id).await?;
    Ok(Json(
        serde_json::json!({"id": id, "revoked": true, "alreadyRevoked": !revoked}),
    ))
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WhoAmI {
    pub user: String,
    pub teams: Vec<String>,
    pub token: String,
}

#[utoipa::path(get, path = "/api/v1/whoami", responses((status = 200, body = WhoAmI)), security(("bearer" = [])))]
pub async fn whoami(caller: Caller) -> Json<WhoAmI> {
    Json(WhoAmI {
        user: caller.principal.user,
        teams: caller.principal.teams,
        token: caller.token_id,
    })
}
