//! Resource endpoints: `/api/v1/{kind-plural}[/{name}]`, `/api/v1/apply` (batch create/update,
//! with dry run for `slipway diff`) and `/api/v1/kinds` (discovery for the CLI).

use crate::AppState;
use crate::access::authorize;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use slipway_domain::kinds::{self, KindDef, Verb};
use slipway_domain::references::referrers;
use slipway_domain::resource::Resource;
use slipway_resources::Batch;
use slipway_store::{Actor, Mutation};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/kinds", get(list_kinds))
        .route("/api/v1/apply", post(apply))
        .route("/api/v1/{plural}", get(list))
        .route(
            "/api/v1/{plural}/{name}",
            get(get_one).put(put_one).delete(delete_one),
        )
}

/// One registered kind, for discovery.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KindInfo {
    pub kind: String,
    pub singular: String,
    pub plural: String,
    pub short_names: Vec<String>,
}

#[utoipa::path(get, path = "/api/v1/kinds", responses((status = 200, body = Vec<KindInfo>)), security(("bearer" = [])))]
pub async fn list_kinds(_caller: Caller) -> Json<Vec<KindInfo>> {
    Json(
        kinds::KINDS
            .iter()
            .map(|k| KindInfo {
                kind: k.kind.into(),
                singular: k.singular.into(),
                plural: k.plural.into(),
                short_names: k.short_names.iter().map(|s| s.to_string()).collect(),
            })
            .collect(),
    )
}

fn kind_for(plural: &str) -> ApiResult<&'static KindDef> {
    kinds::lookup(plural).ok_or_else(|| {
        ApiError::not_found(format!(
            "unknown kind {plural:?}; known kinds: {}",
            kinds::KINDS
                .iter()
                .map(|k| k.plural)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

/// A list of resources.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ResourceList {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Resource>,
}

#[utoipa::path(get, path = "/api/v1/{plural}", params(("plural" = String, Path, description = "a kind's plural name, e.g. services")),
    responses((status = 200, body = ResourceList), (status = 403, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(plural): Path<String>,
) -> ApiResult<Json<ResourceList>> {
    let def = kind_for(&plural)?;
    authorize(&state, &caller, Verb::List, def.plural, None, false).await?;
    Ok(Json(ResourceList {
        items: state.store.list(def.kind).await?,
    }))
}

#[utoipa::path(get, path = "/api/v1/{plural}/{name}", params(("plural" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path((plural, name)): Path<(String, String)>,
) -> ApiResult<Json<Resource>> {
    let def = kind_for(&plural)?;
    let found = state.store.get(def.kind, &name).await?;
    let env = match &found {
        Some(r) => (def.environment_of)(&name, &r.spec),
        None => (def.environment_of)(&name, &serde_json::Value::Null),
    };
    authorize(&state, &caller, Verb::Get, def.plural, env, false).await?;
    found
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("{} {name} does not exist", def.kind)))
}

pub use slipway_resources::{ApplyDocument, ApplyResult};

/// A batch to apply atomically.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplyRequest {
    pub documents: Vec<ApplyDocument>,
    /// Say what would change without changing anything.
    #[serde(default)]
    pub dry_run: bool,
    /// The change request these changes are made under.
    #[serde(default)]
    pub change_ref: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApplyResponse {
    pub results: Vec<ApplyResult>,
}

#[utoipa::path(post, path = "/api/v1/apply", request_body = ApplyRequest,
    responses((status = 200, body = ApplyResponse), (status = 422, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn apply(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<ApplyRequest>,
) -> ApiResult<Json<ApplyResponse>> {
    let results = apply_batch(&state, &caller, request).await?;
    Ok(Json(ApplyResponse { results }))
}

/// Validates, authorizes and applies a batch: all or nothing.
pub async fn apply_batch(
    state: &AppState,
    caller: &Caller,
    request: ApplyRequest,
) -> ApiResult<Vec<ApplyResult>> {
    let store = state.store.as_ref();
    let batch = Batch::parse(store, &request.documents).await?;
    for permission in batch.permissions(store).await? {
        let refused = |mut e: ApiError| {
            e.body.message = format!("{}: {}", permission.source, e.body.message);
            e
        };
        refuse_server_written(permission.kind).map_err(refused)?;
        for env in permission.environments.iter().cloned() {
            authorize(
                state,
                caller,
                permission.verb,
                permission.kind.plural,
                env,
                false,
            )
            .await
            .map_err(refused)?;
        }
    }
    let actor = Actor {
        user: caller.principal.user.clone(),
        request_id: caller.request_id.clone(),
        change_ref: request.change_ref.clone(),
    };
    Ok(batch.apply(store, &actor, request.dry_run).await?)
}

#[utoipa::path(put, path = "/api/v1/{plural}/{name}", params(("plural" = String, Path), ("name" = String, Path)),
    request_body = Object, responses((status = 200, body = ApplyResult), (status = 422, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn put_one(
    State(state): State<AppState>,
    caller: Caller,
    Path((plural, name)): Path<(String, String)>,
    Json(document): Json<serde_json::Value>,
) -> ApiResult<Json<ApplyResult>> {
    let def = kind_for(&plural)?;
    let doc_kind = document
        .get("kind")
        .and_then(|k| k.as_str())
        .unwrap_or_default();
    let doc_name = document
        .pointer("/metadata/name")
        .and_then(|k| k.as_str())
        .unwrap_or_default();
    if doc_kind != def.kind || doc_name != name {
        return Err(ApiError::invalid(
            format!(
                "the body is {doc_kind} {doc_name:?} but the path names {} {name:?}",
                def.kind
            ),
            vec![],
        ));
    }
    let request = ApplyRequest {
        documents: vec![ApplyDocument {
            source: Some("request body".into()),
            document,
        }],
        dry_run: false,
        change_ref: None,
    };
    let mut results = apply_batch(&state, &caller, request).await?;
    results
        .pop()
        .map(Json)
        .ok_or_else(|| ApiError::internal("apply returned no result"))
}

#[derive(Debug, Deserialize)]
pub struct DeleteQuery {
    /// Refuse unless the resource is at this revision.
    pub revision: Option<i64>,
}

#[utoipa::path(delete, path = "/api/v1/{plural}/{name}", params(("plural" = String, Path), ("name" = String, Path), ("revision" = Option<i64>, Query)),
    responses((status = 200, body = ApplyResult), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_one(
    State(state): State<AppState>,
    caller: Caller,
    Path((plural, name)): Path<(String, String)>,
    Query(query): Query<DeleteQuery>,
) -> ApiResult<Json<ApplyResult>> {
    let def = kind_for(&plural)?;
    refuse_server_written(def)?;
    let found = state.store.get(def.kind, &name).await?;
    let spec = found.as_ref().map(|r| r.spec.clone()).unwrap_or_default();
    // Authorize before saying whether it exists, so existence does not leak.
    authorize(
        &state,
        &caller,
        Verb::Delete,
        def.plural,
        (def.environment_of)(&name, &spec),
        false,
    )
    .await?;
    if found.is_none() {
        return Err(ApiError::not_found(format!(
            "{} {name} does not exist",
            def.kind
        )));
    }
    let users = referrers(&state.store.list_all().await?, def.kind, &name);
    if !users.is_empty() {
        return Err(ApiError::conflict(format!(
            "{} {name} is still referred to by {}: change those first",
            def.kind,
            users.join(", ")
        )));
    }
    let actor = Actor {
        user: caller.principal.user.clone(),
        request_id: caller.request_id.clone(),
        change_ref: None,
    };
    let mut applied = state
        .store
        .apply(
            &actor,
            vec![Mutation::Delete {
                kind: def.kind.into(),
                name: name.clone(),
                expected_revision: query.revision,
            }],
            false,
        )
        .await?;
    let a = applied
        .pop()
        .ok_or_else(|| ApiError::internal("delete returned no result"))?;
    Ok(Json(ApplyResult::new(None, a, Vec::new())))
}

/// Change events and gate decisions are records the server writes; no client may forge,
/// rewrite or delete them (not even an admin: the audit trail depends on it).
fn refuse_server_written(def: &kinds::KindDef) -> ApiResult<()> {
    if def.written_by_server {
        return Err(ApiError::forbidden(format!(
            "{} resources are written by the server only (use `slipway change` and the gate)",
            def.kind
        )));
    }
    Ok(())
}
