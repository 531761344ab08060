//! Change control over HTTP: actions on change requests (`POST
//! /api/v1/changerequests/{name}/actions`), a change's full view with approvals and history,
//! change success and failure rates, and the gate's recorded decisions for a rollout or
//! release (`slipway gate explain`). Creating and editing a change request is a plain apply of
//! the `ChangeRequest` kind.

use crate::AppState;
use crate::access::authorize;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};
use slipway_change::review::ClosedChange;
use slipway_domain::audit::AuditEntry;
use slipway_domain::audit::evidence::{EVIDENCE_FORMAT, EvidenceBody, EvidenceItem, EvidencePack};
use slipway_domain::audit::merkle::inclusion_proof;
use slipway_domain::governance_records::GateDecisionSpec;
use slipway_domain::kinds::{
    self, Calendar, ChangeRequest, GateDecision, Kind, Release, Rollout, Service, Verb,
};
use slipway_domain::resource::Resource;
use slipway_governance::{ChangeCommand, ChangeDesk, ChangeError};
use slipway_store::{Actor, TypedStore};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/changerequests/{name}/actions", post(act))
        .route("/api/v1/changerequests/{name}/view", get(view))
        .route("/api/v1/changerequests/{name}/evidence", get(evidence))
        .route("/api/v1/change-rates", get(rates))
        .route("/api/v1/calendar/decision", get(calendar_decision))
        .route("/api/v1/gate/{kind}/{name}", get(explain))
        .route("/api/v1/unauthorised-changes", get(unauthorised_changes))
}

/// One action on a change request.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangeActionRequest {
    /// `submit`, `approve`, `reject`, `schedule`, `implement`, `review`, `close`, `cancel`,
    /// `break-glass` or `approve-exception`.
    pub action: String,
    #[serde(default)]
    pub comment: Option<String>,
    /// Why (reject, break-glass).
    #[serde(default)]
    pub reason: Option<String>,
    /// RFC 3339 (schedule).
    #[serde(default)]
    pub start: Option<String>,
    #[serde(default)]
    pub end: Option<String>,
    /// `Successful`, `SuccessfulWithIssues` or `Unsuccessful` (close).
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    /// How long a break-glass grant lasts, e.g. `2h`.
    #[serde(default)]
    pub duration: Option<String>,
}

fn command_of(request: &ChangeActionRequest) -> Result<ChangeCommand, ApiError> {
    let need = |field: &Option<String>, name: &str| {
        field.clone().ok_or_else(|| {
            ApiError::bad_request(format!("action {} needs the field {name}", request.action))
        })
    };
    let time = |field: &Option<String>, name: &str| -> Result<Timestamp, ApiError> {
        need(field, name)?.parse::<Timestamp>().map_err(|e| {
            ApiError::bad_request(format!("{name}: not an RFC 3339 time with an offset: {e}"))
        })
    };
    Ok(match request.action.as_str() {
        "submit" => ChangeCommand::Submit,
        "approve" => ChangeCommand::Approve {
            comment: request.comment.clone(),
        },
        "reject" => ChangeCommand::Reject {
            reason: need(&request.reason, "reason")?,
        },
        "schedule" => ChangeCommand::Schedule {
            start: time(&request.start, "start")?,
            end: time(&request.end, "end")?,
        },
        "implement" => ChangeCommand::Implement,
        "review" => ChangeCommand::Review,
        "close" => ChangeCommand::Close {
            code: serde_json::from_value(json!(need(&request.code, "code")?)).map_err(|_| {
                ApiError::bad_request(
                    "code: expected Successful, SuccessfulWithIssues or Unsuccessful",
                )
            })?,
            notes: request.notes.clone().unwrap_or_default(),
        },
        "cancel" => ChangeCommand::Cancel,
        "approve-exception" => ChangeCommand::ApproveException {
            reason: need(&request.reason, "reason")?,
        },
        "break-glass" => ChangeCommand::BreakGlass {
            reason: need(&request.reason, "reason")?,
            duration: need(&request.duration, "duration")?
                .parse::<SignedDuration>()
                .or_else(|_| {
                    crate::auth::parse_duration(request.duration.as_deref().unwrap_or_default())
                        .map(|d| {
                            SignedDuration::from_secs(
                                i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                            )
                        })
                })
                .map_err(|_| ApiError::bad_request("duration: expected e.g. 2h or 90m"))?,
        },
        other => {
            return Err(ApiError::bad_request(format!(
                "unknown action {other:?}: expected submit, approve, reject, schedule, implement, review, close, cancel, break-glass or approve-exception"
            )));
        }
    })
}

fn change_error(error: ChangeError) -> ApiError {
    match error {
        ChangeError::NotFound(_) => ApiError::not_found(error.to_string()),
        ChangeError::SeparationOfDuties(_) => ApiError::forbidden(error.to_string()),
        ChangeError::Refused(_) => ApiError::conflict(error.to_string()),
        ChangeError::Invalid { .. } => ApiError::invalid(error.to_string(), Vec::new()),
        ChangeError::Store(e) => e.into(),
    }
}

#[utoipa::path(post, path = "/api/v1/changerequests/{name}/actions", request_body = ChangeActionRequest,
    params(("name" = String, Path)), responses((status = 200, body = Object), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn act(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(request): Json<ChangeActionRequest>,
) -> ApiResult<Json<Value>> {
    let command = command_of(&request)?;
    let verb = match command {
        ChangeCommand::Approve { .. }
        | ChangeCommand::Reject { .. }
        | ChangeCommand::ApproveException { .. } => Verb::Approve,
        _ => Verb::Update,
    };
    authorize(&state, &caller, verb, ChangeRequest::PLURAL, None, false).await?;
    let actor = Actor {
        user: caller.principal.user.clone(),
        request_id: caller.request_id.clone(),
        change_ref: Some(name.clone()),
    };
    let view = ChangeDesk::new(state.store.clone())
        .act(&actor, caller.principal.teams.clone(), &name, command)
        .await
        .map_err(change_error)?;
    Ok(Json(json!(view)))
}

#[utoipa::path(get, path = "/api/v1/changerequests/{name}/view", params(("name" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn view(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    authorize(
        &state,
        &caller,
        Verb::Get,
        ChangeRequest::PLURAL,
        None,
        false,
    )
    .await?;
    let view = ChangeDesk::new(state.store.clone())
        .view(&name, None)
        .await
        .map_err(change_error)?;
    Ok(Json(json!(view)))
}

#[utoipa::path(get, path = "/api/v1/change-rates", responses((status = 200, body = Object)), security(("bearer" = [])))]
pub async fn rates(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    authorize(
        &state,
        &caller,
        Verb::List,
        ChangeRequest::PLURAL,
        None,
        false,
    )
    .await?;
    let records = ChangeDesk::new(state.store.clone())
        .records()
        .await
        .map_err(change_error)?;
    // Each service's owning team.
    let owners: std::collections::BTreeMap<String, String> = state
        .store
        .kind::<Service>()
        .list()
        .await?
        .into_iter()
        .map(|s| (s.metadata.name, s.spec.owner))
        .collect();
    let closed: Vec<ClosedChange> = records
        .iter()
        .flat_map(|r| ClosedChange::from_record(r, &owners))
        .collect();
    Ok(Json(json!(slipway_change::change_rates(&closed))))
}

#[utoipa::path(get, path = "/api/v1/gate/{kind}/{name}", params(("kind" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = Object)), security(("bearer" = [])))]
pub async fn explain(
    State(state): State<AppState>,
    caller: Caller,
    Path((kind, name)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    authorize(
        &state,
        &caller,
        Verb::List,
        GateDecision::PLURAL,
        None,
        false,
    )
    .await?;
    // Any of a kind's names, as the registry lists them; the gate decides deployments only.
    let kind = kinds::lookup(&kind)
        .map(|def| def.kind)
        .filter(|k| [Rollout::KIND, Release::KIND].contains(k))
        .ok_or_else(|| {
            ApiError::bad_request(format!("{kind:?}: the gate decides rollouts and releases"))
        })?;
    let mut decisions: Vec<(String, GateDecisionSpec)> = state
        .store
        .kind::<GateDecision>()
        .list()
        .await?
        .into_iter()
        .map(|r| (r.metadata.name, r.spec))
        .filter(|(_, d)| d.subject_kind == kind && d.subject == name)
        .collect();
    decisions.sort_by(|a, b| a.1.at.cmp(&b.1.at));
    Ok(Json(json!({"subject": {"kind": kind, "name": name},
        "decisions": decisions.iter().map(|(n, d)| json!({"name": n, "decision": d})).collect::<Vec<_>>()})))
}

#[utoipa::path(get, path = "/api/v1/unauthorised-changes", responses((status = 200, body = Object)), security(("bearer" = [])))]
/// The review queue of unauthorised changes: every deployment the gate let through without an
/// authorised change where the environment did not require one, oldest first, with who
/// triggered it and why it counts as unauthorised.
pub async fn unauthorised_changes(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    authorize(
        &state,
        &caller,
        Verb::List,
        GateDecision::PLURAL,
        None,
        false,
    )
    .await?;
    let mut found: Vec<(String, GateDecisionSpec)> = state
        .store
        .kind::<GateDecision>()
        .list_labelled(slipway_governance::UNAUTHORISED_LABEL, "true")
        .await?
        .into_iter()
        .map(|r| (r.metadata.name, r.spec))
        .collect();
    found.sort_by(|a, b| a.1.at.cmp(&b.1.at));
    let items: Vec<Value> = found
        .iter()
        .map(|(name, d)| {
            json!({"decision": name, "at": d.at, "subject": {"kind": d.subject_kind, "name": d.subject},
                "service": d.service, "environment": d.environment, "artifact": d.artifact,
                "change": d.change, "deployer": d.inputs.get("deployer"), "verdict": d.verdict,
                "reasons": d.inputs.get("unauthorisedReasons").cloned().unwrap_or_else(|| json!([]))})
        })
        .collect();
    Ok(Json(json!({"unauthorisedChanges": items})))
}

#[utoipa::path(get, path = "/api/v1/changerequests/{name}/evidence", params(("name" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
/// A signed evidence pack for one change: the request, its events (approvals included), the
/// gate's decisions and the deployments naming it, each with its audit entry and an inclusion
/// proof against a fresh signed checkpoint.
pub async fn evidence(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<EvidencePack>> {
    authorize(&state, &caller, Verb::Get, "changerequests", None, false).await?;
    authorize(&state, &caller, Verb::Get, "audit", None, false).await?;
    let change = state
        .store
        .get("ChangeRequest", &name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("change request {name} does not exist")))?;
    let names_change = |r: &Resource, field: &str| {
        r.spec.get(field).and_then(Value::as_str) == Some(name.as_str())
    };
    let mut members: Vec<(&str, Resource)> = vec![("change", change)];
    for (kind, role, field) in [
        ("ChangeEvent", "event", "change"),
        ("GateDecision", "gate-decision", "change"),
        ("Rollout", "deployment", "change"),
        ("Release", "deployment", "change"),
    ] {
        for r in state.store.list(kind).await? {
            if names_change(&r, field) {
                members.push((role, r));
            }
        }
    }
    // Make sure a checkpoint covers everything, then find each member's latest entry.
    state.store.checkpoint(&state.signing_key).await?;
    let checkpoint = state
        .store
        .checkpoints()
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal("no checkpoint could be written"))?;
    let size = checkpoint.checkpoint.size;
    let mut latest: std::collections::HashMap<(String, String), AuditEntry> =
        std::collections::HashMap::new();
    let mut from = 0;
    while from < size {
        let page = state.store.audit_entries(from, 10_000).await?;
        if page.is_empty() {
            break;
        }
        from += page.len() as u64;
        for exported in page {
            let e = exported.entry;
            if e.seq < size {
                latest.insert((e.kind.clone(), e.name.clone()), e);
            }
        }
    }
    let leaves = state.store.leaf_hashes(size).await?;
    let mut items = Vec::new();
    for (role, resource) in members {
        let key = (resource.kind.clone(), resource.metadata.name.clone());
        let Some(entry) = latest.get(&key).cloned() else {
            continue;
        };
        let index = usize::try_from(entry.seq)
            .map_err(|_| ApiError::internal("audit entry number too large"))?;
        let proof = inclusion_proof(&leaves, index)
            .ok_or_else(|| ApiError::internal("audit entry outside the tree"))?;
        items.push(EvidenceItem {
            role: role.to_string(),
            document: resource.declared_content(),
            status: resource.status.clone().unwrap_or(Value::Null),
            entry,
            proof: proof.iter().map(hex::encode).collect(),
        });
    }
    let body = EvidenceBody {
        format: EVIDENCE_FORMAT.into(),
        change: name,
        generated_at: jiff::Timestamp::now().to_string(),
        public_key: crate::audit_routes::public_key(&state),
        checkpoint,
        items,
    };
    body.sign(&state.signing_key)
        .map(Json)
        .map_err(ApiError::internal)
}

/// What `calendar_decision` is asked.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct CalendarQuery {
    pub service: String,
    pub environment: String,
    /// RFC 3339 instant (default: now).
    pub at: Option<String>,
    /// When set, also the next slot of this length (e.g. `90m`) that is allowed.
    pub slot: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/calendar/decision", params(CalendarQuery),
    responses((status = 200, body = Object)), security(("bearer" = [])))]
/// Whether the calendars (windows, freezes, lockdown, inherited organisation → environment →
/// service) allow a change to a service in an environment at an instant, and why; optionally
/// the next allowed slot of a given length within 90 days.
pub async fn calendar_decision(
    State(state): State<AppState>,
    caller: Caller,
    axum::extract::Query(q): axum::extract::Query<CalendarQuery>,
) -> ApiResult<Json<Value>> {
    authorize(&state, &caller, Verb::List, Calendar::PLURAL, None, false).await?;
    let at = match &q.at {
        Some(text) => text.parse::<Timestamp>().map_err(|e| {
            ApiError::bad_request(format!("at: not an RFC 3339 instant with an offset: {e}"))
        })?,
        None => Timestamp::now(),
    };
    let calendars = slipway_governance::desk::calendars(state.store.as_ref()).await?;
    let set = slipway_change::CalendarSet::compile(&calendars)
        .map_err(|d| ApiError::invalid("the calendars do not compile", d))?;
    let decision = set.is_allowed(at, &q.service, &q.environment);
    let next = match &q.slot {
        Some(length) => {
            let length = length
                .parse::<SignedDuration>()
                .or_else(|_| {
                    crate::auth::parse_duration(length).map(|d| {
                        SignedDuration::from_secs(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
                    })
                })
                .map_err(|_| ApiError::bad_request("slot: expected a length like 90m or 2h"))?;
            set.next_allowed_slot(
                at,
                length,
                SignedDuration::from_hours(24 * 90),
                &q.service,
                &q.environment,
            )
        }
        None => None,
    };
    Ok(Json(
        json!({"at": at.to_string(), "decision": decision, "nextSlot": next}),
    ))
}
