//! The artifact store's content: push (streamed in, checked against the naming policy,
//! signed by the server, recorded as the audited Artifact resource), pull (streamed out,
//! verified against its digest as it is read), list and inspect.

use super::{actor, body_reader, parse_platform, stream_reader, supply_chain, writable_target};
use crate::AppState;
use crate::access::authorize;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::resource_routes::ApplyResult;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use slipway_artifacts::{ArtifactDetails, ArtifactSummary, Descriptor, Platform, PushRequest};
use slipway_domain::diagnostic::Diagnostic;
use slipway_domain::kinds::{Artifact, Kind, Verb};
use slipway_supply_chain::attestations::PushParameters;

/// Push metadata, as query parameters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(rename_all = "camelCase")]
pub struct PushQuery {
    /// os/architecture[/variant], e.g. linux/amd64.
    pub platform: Option<String>,
    pub git_sha: Option<String>,
    pub pipeline_id: Option<String>,
    /// The file's name (default `artifact`).
    pub file_name: Option<String>,
    /// RFC 3339 build time (default: now).
    pub build_time: Option<String>,
}

/// The result of a push.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushResponse {
    /// `service:version`.
    pub reference: String,
    pub platform: Option<String>,
    /// The platform manifest's digest (what the server's signature covers).
    pub manifest_digest: String,
    /// The file's digest.
    pub layer_digest: String,
    pub size: u64,
    /// The version's image index digest (the Artifact resource's `digest`).
    pub index_digest: String,
    /// True when this exact content was already stored: nothing changed.
    pub already_present: bool,
    /// The server's signature referrer.
    #[schema(value_type = Object)]
    pub signature: Option<Descriptor>,
    /// What happened to the Artifact resource.
    pub resource: ApplyResult,
}

fn push_request(service: &str, version: &str, q: &PushQuery) -> ApiResult<PushRequest> {
    let mut request = PushRequest::new(
        service,
        version,
        q.file_name.clone().unwrap_or_else(|| "artifact".into()),
    );
    request.platform = parse_platform(q.platform.as_deref())?;
    request.git_sha = q.git_sha.clone().filter(|s| !s.is_empty());
    request.pipeline_id = q.pipeline_id.clone().filter(|s| !s.is_empty());
    if let Some(t) = q.build_time.as_deref().filter(|t| !t.is_empty()) {
        request.created = Some(
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                .map_err(|e| {
                    ApiError::invalid(
                        format!("build time {t:?} is not an RFC 3339 time: {e}"),
                        vec![],
                    )
                })?,
        );
    }
    let problems = request.syntax_problems();
    if !problems.is_empty() {
        return Err(ApiError::invalid(
            format!("artifact {service}:{version}: {}", problems.join("; ")),
            problems
                .into_iter()
                .map(|p| Diagnostic::new("request", p))
                .collect(),
        ));
    }
    Ok(request)
}

#[utoipa::path(put, path = "/api/v1/artifact-store/{service}/{version}",
    params(("service" = String, Path), ("version" = String, Path), PushQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the file, streamed"),
    responses((status = 200, body = PushResponse), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn push(
    State(state): State<AppState>,
    caller: Caller,
    Path((service, version)): Path<(String, String)>,
    Query(q): Query<PushQuery>,
    body: Body,
) -> ApiResult<Json<PushResponse>> {
    let supply_chain = supply_chain(&state)?;
    let request = push_request(&service, &version, &q)?;
    supply_chain.check_naming(&request)?;
    let target = writable_target(&state, &supply_chain, &caller, &service, &version).await?;
    let provenance = q
        .pipeline_id
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(|pipeline_id| PushParameters {
            service: &service,
            version: &version,
            git_sha: q.git_sha.as_deref().filter(|g| !g.is_empty()),
            pipeline_id,
        });
    let pushed = supply_chain
        .push(
            &actor(&caller),
            &target,
            request,
            body_reader(body),
            provenance,
        )
        .await?;
    let outcome = pushed.outcome;
    Ok(Json(PushResponse {
        reference: outcome.reference.to_string(),
        platform: outcome.platform.as_ref().map(Platform::to_string),
        manifest_digest: outcome.manifest.digest.to_string(),
        layer_digest: outcome.layer.digest.to_string(),
        size: outcome.layer.size,
        index_digest: outcome.index.digest.to_string(),
        already_present: outcome.already_present,
        signature: pushed.signature,
        resource: pushed.resource,
    }))
}

/// The platform to pull.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct PlatformQuery {
    /// os/architecture[/variant]; may be left out when the version has one variant.
    pub platform: Option<String>,
}

/// The header naming the digest of a pulled file.
pub const DIGEST_HEADER: &str = "x-slipway-digest";
/// The header naming a pulled file's original name.
pub const FILE_NAME_HEADER: &str = "x-slipway-file-name";

#[utoipa::path(get, path = "/api/v1/artifact-store/{service}/{version}/content",
    params(("service" = String, Path), ("version" = String, Path), PlatformQuery),
    responses((status = 200, description = "the file; its digest in x-slipway-digest", content_type = "application/octet-stream", body = Vec<u8>), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn pull(
    State(state): State<AppState>,
    caller: Caller,
    Path((service, version)): Path<(String, String)>,
    Query(q): Query<PlatformQuery>,
) -> ApiResult<Response> {
    let supply_chain = supply_chain(&state)?;
    authorize(&state, &caller, Verb::Get, Artifact::PLURAL, None, false).await?;
    let platform = parse_platform(q.platform.as_deref())?;
    let (reader, opened) = supply_chain.open(service, version, platform).await?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(opened.layer.size));
    if let Ok(v) = HeaderValue::from_str(opened.layer.digest.as_str()) {
        headers.insert(DIGEST_HEADER, v);
    }
    if let Some(v) = opened
        .file_name
        .as_deref()
        .and_then(|n| HeaderValue::from_str(n).ok())
    {
        headers.insert(FILE_NAME_HEADER, v);
    }
    Ok((headers, stream_reader(reader)).into_response())
}

/// Which service to list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    pub service: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/artifact-store", params(ListQuery),
    responses((status = 200, body = Vec<Object>)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Vec<ArtifactSummary>>> {
    let supply_chain = supply_chain(&state)?;
    authorize(&state, &caller, Verb::List, Artifact::PLURAL, None, false).await?;
    Ok(Json(supply_chain.list(q.service).await?))
}

#[utoipa::path(get, path = "/api/v1/artifact-store/{service}/{version}",
    params(("service" = String, Path), ("version" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn inspect(
    State(state): State<AppState>,
    caller: Caller,
    Path((service, version)): Path<(String, String)>,
) -> ApiResult<Json<ArtifactDetails>> {
    let supply_chain = supply_chain(&state)?;
    authorize(&state, &caller, Verb::Get, Artifact::PLURAL, None, false).await?;
    Ok(Json(supply_chain.inspect(service, version).await?))
}
