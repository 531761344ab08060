//! Audit endpoints: entries, checkpoints (list and create on demand), inclusion and consistency
//! proofs, a full export, and a server-side verification. Proofs and exports are the
//! self-contained documents of [`slipway_domain::audit::proof_bundle`], so what the API returns
//! can be verified offline.

use crate::AppState;
use crate::access::authorize;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use serde::Deserialize;
use slipway_domain::audit::SignedCheckpoint;
use slipway_domain::audit::merkle::{consistency_proof, inclusion_proof};
use slipway_domain::audit::proof_bundle::{AuditDocument, ExportedEntry};
use slipway_domain::audit::verify::Report;
use slipway_domain::kinds::Verb;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/audit/entries", get(entries))
        .route(
            "/api/v1/audit/checkpoints",
            get(checkpoints).post(create_checkpoint),
        )
        .route("/api/v1/audit/proofs/inclusion", get(inclusion))
        .route("/api/v1/audit/proofs/consistency", get(consistency))
        .route("/api/v1/audit/export", get(export))
        .route("/api/v1/audit/verify", get(verify))
}

pub(crate) fn public_key(state: &AppState) -> String {
    hex::encode(state.signing_key.verifying_key().as_bytes())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct EntriesQuery {
    /// First entry (default 0).
    #[serde(default)]
    pub from: u64,
    /// At most this many (default 100, at most 10000).
    pub limit: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/audit/entries", params(EntriesQuery), responses((status = 200, body = Vec<Object>)), security(("bearer" = [])))]
pub async fn entries(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<EntriesQuery>,
) -> ApiResult<Json<Vec<ExportedEntry>>> {
    authorize(&state, &caller, Verb::List, "audit", None, false).await?;
    let limit = q.limit.unwrap_or(100).min(10_000);
    Ok(Json(state.store.audit_entries(q.from, limit).await?))
}

#[utoipa::path(get, path = "/api/v1/audit/checkpoints", responses((status = 200, body = Vec<Object>)), security(("bearer" = [])))]
pub async fn checkpoints(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<SignedCheckpoint>>> {
    authorize(&state, &caller, Verb::List, "audit", None, false).await?;
    Ok(Json(state.store.checkpoints().await?))
}

/// Writes a checkpoint now (if the log grew since the last one) and returns the latest.
#[utoipa::path(post, path = "/api/v1/audit/checkpoints", responses((status = 200, body = Object)), security(("bearer" = [])))]
pub async fn create_checkpoint(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<SignedCheckpoint>> {
    authorize(&state, &caller, Verb::Create, "audit", None, false).await?;
    state.store.checkpoint(&state.signing_key).await?;
    latest_checkpoint(&state).await.map(Json)
}

async fn latest_checkpoint(state: &AppState) -> ApiResult<SignedCheckpoint> {
    state
        .store
        .checkpoints()
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found("no checkpoint has been written yet"))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct InclusionQuery {
    /// The entry's sequence number.
    pub entry: u64,
}

#[utoipa::path(get, path = "/api/v1/audit/proofs/inclusion", params(InclusionQuery), responses((status = 200, body = Object)), security(("bearer" = [])))]
pub async fn inclusion(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<InclusionQuery>,
) -> ApiResult<Json<AuditDocument>> {
    authorize(&state, &caller, Verb::Get, "audit", None, false).await?;
    inclusion_document(&state, q.entry).await.map(Json)
}

/// An inclusion proof of entry `seq` against the latest checkpoint (written now if the latest
/// does not cover the entry yet).
pub async fn inclusion_document(state: &AppState, seq: u64) -> ApiResult<AuditDocument> {
    let mut checkpoint = state.store.checkpoints().await?.pop();
    if checkpoint.as_ref().is_none_or(|c| c.checkpoint.size <= seq) {
        state.store.checkpoint(&state.signing_key).await?;
        checkpoint = state.store.checkpoints().await?.pop();
    }
    let checkpoint = checkpoint
        .filter(|c| c.checkpoint.size > seq)
        .ok_or_else(|| ApiError::not_found(format!("audit entry #{seq} does not exist")))?;
    let entry = state
        .store
        .audit_entries(seq, 1)
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found(format!("audit entry #{seq} does not exist")))?;
    let leaves = state.store.leaf_hashes(checkpoint.checkpoint.size).await?;
    let index =
        usize::try_from(seq).map_err(|_| ApiError::bad_request("entry number too large"))?;
    let proof = inclusion_proof(&leaves, index)
        .ok_or_else(|| ApiError::internal("entry outside the tree"))?;
    Ok(AuditDocument::Inclusion {
        public_key: public_key(state),
        entry: entry.entry,
        checkpoint,
        proof: proof.iter().map(hex::encode).collect(),
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ConsistencyQuery {
    /// Tree size of the older checkpoint.
    pub from: u64,
    /// Tree size of the newer checkpoint (default: the latest).
    pub to: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/audit/proofs/consistency", params(ConsistencyQuery), responses((status = 200, body = Object)), security(("bearer" = [])))]
pub async fn consistency(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ConsistencyQuery>,
) -> ApiResult<Json<AuditDocument>> {
    authorize(&state, &caller, Verb::Get, "audit", None, false).await?;
    let all = state.store.checkpoints().await?;
    let find = |size: u64| {
        all.iter()
            .find(|c| c.checkpoint.size == size)
            .cloned()
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "no checkpoint at tree size {size}; list them with slipway audit checkpoints"
                ))
            })
    };
    let from = find(q.from)?;
    let to = match q.to {
        Some(size) => find(size)?,
        None => all
            .last()
            .cloned()
            .ok_or_else(|| ApiError::not_found("no checkpoint yet"))?,
    };
    if from.checkpoint.size > to.checkpoint.size {
        return Err(ApiError::bad_request(
            "from must be the older (smaller) checkpoint",
        ));
    }
    let leaves = state.store.leaf_hashes(to.checkpoint.size).await?;
    let old = usize::try_from(from.checkpoint.size)
        .map_err(|_| ApiError::bad_request("size too large"))?;
    let proof = consistency_proof(&leaves, old)
        .ok_or_else(|| ApiError::internal("cannot build the proof"))?;
    Ok(Json(AuditDocument::Consistency {
        public_key: public_key(&state),
        from,
        to,
        proof: proof.iter().map(hex::encode).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/audit/export", responses((status = 200, body = Object)), security(("bearer" = [])))]
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<AuditDocument>> {
    authorize(&state, &caller, Verb::Get, "audit", None, false).await?;
    export_document(&state).await.map(Json)
}

/// The whole log with every checkpoint.
pub async fn export_document(state: &AppState) -> ApiResult<AuditDocument> {
    let (head_size, _) = state.store.audit_head().await?;
    let mut entries = Vec::new();
    while (entries.len() as u64) < head_size {
        let batch = state
            .store
            .audit_entries(entries.len() as u64, 10_000)
            .await?;
        if batch.is_empty() {
            break;
        }
        entries.extend(batch);
    }
    Ok(AuditDocument::Export {
        public_key: public_key(state),
        head_size,
        entries,
        checkpoints: state.store.checkpoints().await?,
    })
}

#[utoipa::path(get, path = "/api/v1/audit/verify", responses((status = 200, body = Object)), security(("bearer" = [])))]
pub async fn verify(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Report>> {
    authorize(&state, &caller, Verb::Get, "audit", None, false).await?;
    Ok(Json(
        state
            .store
            .verify(&state.signing_key.verifying_key())
            .await?,
    ))
}
