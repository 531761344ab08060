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
use slipway_domain::diagnostic::Diagnostic;
use slipway_domain::diff::{FieldChange, diff_values};
use slipway_domain::kinds::{self, KindDef, Verb};
use slipway_domain::references::{
    check_batch, find_dependency_cycle, referrers, service_dependencies, team_parents,
};
use slipway_domain::resource::{Resource, parse_document};
use slipway_store::{Actor, AppliedAction, Mutation};
use std::collections::BTreeMap;

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

/// One document of an apply batch, with where it came from (for error messages).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApplyDocument {
    /// E.g. `examples/services.yaml#2`; named in every diagnostic about this document.
    #[serde(default)]
    pub source: Option<String>,
    #[schema(value_type = Object)]
    pub document: serde_json::Value,
}

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

/// What happened to one document.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplyResult {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub kind: String,
    pub name: String,
    /// created, updated, unchanged or deleted.
    pub action: String,
    pub revision: i64,
    #[schema(value_type = Vec<Object>)]
    pub changes: Vec<FieldChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_seq: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApplyResponse {
    pub results: Vec<ApplyResult>,
}

fn source_of(i: usize, doc: &ApplyDocument) -> String {
    doc.source
        .clone()
        .unwrap_or_else(|| format!("document {i}"))
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
    if request.documents.is_empty() {
        return Err(ApiError::invalid("the batch holds no documents", vec![]));
    }
    let mut diags: Vec<Diagnostic> = Vec::new();
    let mut parsed: Vec<Resource> = Vec::new();
    let mut seen = BTreeMap::new();
    for (i, doc) in request.documents.iter().enumerate() {
        let source = source_of(i, doc);
        match parse_document(&doc.document) {
            Ok(r) => {
                if let Some(first) =
                    seen.insert((r.kind.clone(), r.metadata.name.clone()), source.clone())
                {
                    diags.push(
                        Diagnostic::new(
                            "metadata.name",
                            format!("{} {} is also defined in {first}", r.kind, r.metadata.name),
                        )
                        .with_source(&source),
                    );
                }
                parsed.push(r);
            }
            Err(d) => diags.extend(d.into_iter().map(|d| d.with_source(&source))),
        }
    }
    if !diags.is_empty() {
        return Err(invalid_batch(diags));
    }
    let existing = state.store.keys().await?;
    for (i, (doc, r)) in request.documents.iter().zip(&parsed).enumerate() {
        let def = kinds::lookup_exact(&r.kind)
            .ok_or_else(|| ApiError::internal("parsed kind is unregistered"))?;
        refuse_server_written(def).map_err(|mut e| {
            e.body.message = format!("{}: {}", source_of(i, doc), e.body.message);
            e
        })?;
        let verb = if existing.contains(&(r.kind.clone(), r.metadata.name.clone())) {
            Verb::Update
        } else {
            Verb::Create
        };
        let env = (def.environment_of)(&r.metadata.name, &r.spec);
        // An update must be allowed where the resource is now as well as where it is going,
        // or a user limited to staging could rewrite a production resource into "staging".
        let mut scopes = vec![env];
        if verb == Verb::Update
            && let Some(stored) = state.store.get(&r.kind, &r.metadata.name).await?
        {
            let was = (def.environment_of)(&r.metadata.name, &stored.spec);
            if !scopes.contains(&was) {
                scopes.push(was);
            }
        }
        for env in scopes {
            authorize(state, caller, verb, def.plural, env, false)
                .await
                .map_err(|mut e| {
                    e.body.message = format!("{}: {}", source_of(i, doc), e.body.message);
                    e
                })?;
        }
    }
    let mut diags: Vec<Diagnostic> = check_batch(&parsed, &existing)
        .into_iter()
        .map(|(i, d)| {
            let source = request
                .documents
                .get(i)
                .map(|doc| source_of(i, doc))
                .unwrap_or_default();
            d.with_source(&source)
        })
        .collect();
    // Graphs that must stay acyclic once the batch is applied: services' dependencies and the
    // team hierarchy.
    type Edges = fn(&mut dyn Iterator<Item = &Resource>) -> BTreeMap<String, Vec<String>>;
    let graphs: [(&str, &str, &str, Edges); 2] = [
        (
            "Service",
            "spec.dependsOn",
            "services depend on each other in a cycle",
            |all| service_dependencies(all),
        ),
        (
            "Team",
            "spec.parent",
            "teams are each other's parents in a cycle",
            |all| team_parents(all),
        ),
    ];
    for (kind, field, what, edges) in graphs {
        if !parsed.iter().any(|r| r.kind == kind) {
            continue;
        }
        let mut all: BTreeMap<String, Resource> = state
            .store
            .list(kind)
            .await?
            .into_iter()
            .map(|r| (r.metadata.name.clone(), r))
            .collect();
        for r in parsed.iter().filter(|r| r.kind == kind) {
            all.insert(r.metadata.name.clone(), r.clone());
        }
        if let Some(cycle) = find_dependency_cycle(&edges(&mut all.values())) {
            let first = cycle.first().cloned().unwrap_or_default();
            let source = parsed
                .iter()
                .position(|r| r.kind == kind && r.metadata.name == first)
                .and_then(|i| request.documents.get(i).map(|d| source_of(i, d)))
                .unwrap_or_default();
            diags.push(
                Diagnostic::new(field, format!("{what}: {}", cycle.join(" → ")))
                    .with_source(&source),
            );
        }
    }
    if !diags.is_empty() {
        return Err(invalid_batch(diags));
    }
    let existing = state.store.keys().await?;
    for (i, (doc, r)) in request.documents.iter().zip(&parsed).enumerate() {
        let def = kinds::lookup_exact(&r.kind)
            .ok_or_else(|| ApiError::internal("parsed kind is unregistered"))?;
        refuse_server_written(def).map_err(|mut e| {
            e.body.message = format!("{}: {}", source_of(i, doc), e.body.message);
            e
        })?;
        let verb = if existing.contains(&(r.kind.clone(), r.metadata.name.clone())) {
            Verb::Update
        } else {
            Verb::Create
        };
        let env = (def.environment_of)(&r.metadata.name, &r.spec);
        // An update must be allowed where the resource is now as well as where it is going,
        // or a user limited to staging could rewrite a production resource into "staging".
        let mut scopes = vec![env];
        if verb == Verb::Update
            && let Some(stored) = state.store.get(&r.kind, &r.metadata.name).await?
        {
            let was = (def.environment_of)(&r.metadata.name, &stored.spec);
            if !scopes.contains(&was) {
                scopes.push(was);
            }
        }
        for env in scopes {
            authorize(state, caller, verb, def.plural, env, false)
                .await
                .map_err(|mut e| {
                    e.body.message = format!("{}: {}", source_of(i, doc), e.body.message);
                    e
                })?;
        }
    }
    let mut diags: Vec<Diagnostic> = check_batch(&parsed, &existing)
        .into_iter()
        .map(|(i, d)| {
            let source = request
                .documents
                .get(i)
                .map(|doc| source_of(i, doc))
                .unwrap_or_default();
            d.with_source(&source)
        })
        .collect();
    if parsed.iter().any(|r| r.kind == "Service") {
        let mut all: BTreeMap<String, Resource> = state
            .store
            .list("Service")
            .await?
            .into_iter()
            .map(|r| (r.metadata.name.clone(), r))
            .collect();
        for r in parsed.iter().filter(|r| r.kind == "Service") {
            all.insert(r.metadata.name.clone(), r.clone());
        }
        if let Some(cycle) = find_dependency_cycle(&service_dependencies(all.values())) {
            let first = cycle.first().cloned().unwrap_or_default();
            let source = parsed
                .iter()
                .position(|r| r.kind == "Service" && r.metadata.name == first)
                .and_then(|i| request.documents.get(i).map(|d| source_of(i, d)))
                .unwrap_or_default();
            diags.push(
                Diagnostic::new(
                    "spec.dependsOn",
                    format!(
                        "services depend on each other in a cycle: {}",
                        cycle.join(" → ")
                    ),
                )
                .with_source(&source),
            );
        }
    }
    if !diags.is_empty() {
        return Err(invalid_batch(diags));
    }
    let actor = Actor {
        user: caller.principal.user.clone(),
        request_id: caller.request_id.clone(),
        change_ref: request.change_ref.clone(),
    };
    let new_contents: Vec<serde_json::Value> =
        parsed.iter().map(Resource::declared_content).collect();
    let applied = state
        .store
        .apply(
            &actor,
            parsed.into_iter().map(Mutation::Put).collect(),
            request.dry_run,
        )
        .await?;
    let results: Vec<ApplyResult> = applied
        .into_iter()
        .zip(new_contents)
        .zip(&request.documents)
        .enumerate()
        .map(|(i, ((a, after), doc))| ApplyResult {
            source: Some(source_of(i, doc)),
            changes: match &a.before {
                Some(before) => diff_values(before, &after),
                None => Vec::new(),
            },
            kind: a.kind,
            name: a.name,
            action: action_name(a.action).into(),
            revision: a.revision,
            audit_seq: a.audit_seq,
        })
        .collect();
    if !request.dry_run {
        restart_finished_runs(state, &results).await?;
    }
    Ok(results)
}

/// A new spec for a finished run (a Rollout or Release that has ended) asks for a new run:
/// its status is cleared so the engine takes it up again. A run in progress keeps its status.
async fn restart_finished_runs(state: &AppState, results: &[ApplyResult]) -> ApiResult<()> {
    for r in results.iter().filter(|r| r.action == "updated") {
        let Some(finished) = kinds::lookup_exact(&r.kind).and_then(|k| k.run_finished) else {
            continue;
        };
        if !r.changes.iter().any(|c| c.path.starts_with("spec")) {
            continue;
        }
        let status = state
            .store
            .get(&r.kind, &r.name)
            .await?
            .and_then(|x| x.status);
        if status.as_ref().is_some_and(finished) {
            state
                .store
                .set_status(&r.kind, &r.name, &serde_json::Value::Null)
                .await?;
        }
    }
    Ok(())
}

fn invalid_batch(diags: Vec<Diagnostic>) -> ApiError {
    let first = diags.first().map(|d| d.to_string()).unwrap_or_default();
    let more = if diags.len() > 1 {
        format!(" (and {} more)", diags.len() - 1)
    } else {
        String::new()
    };
    ApiError::invalid(format!("nothing was applied: {first}{more}"), diags)
}

fn action_name(a: AppliedAction) -> &'static str {
    match a {
        AppliedAction::Created => "created",
        AppliedAction::Updated => "updated",
        AppliedAction::Unchanged => "unchanged",
        AppliedAction::Deleted => "deleted",
    }
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
    Ok(Json(ApplyResult {
        source: None,
        kind: a.kind,
        name: a.name,
        action: action_name(a.action).into(),
        revision: a.revision,
        changes: Vec::new(),
        audit_seq: a.audit_seq,
    }))
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
