//! Archives over HTTP: an export streamed out as a tar of an OCI layout (its report in a
//! header), and an import streamed in, after which each imported version's Artifact resource
//! is recorded where the caller may write it.

use super::{actor, body_reader, stream_reader, supply_chain, writable_target};
use crate::AppState;
use crate::access::authorize;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::resource_routes::ApplyResult;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use slipway_artifacts::{ArtifactRef, ImportReport};
use slipway_domain::kinds::{Artifact, Kind, Verb};

/// Which versions to export.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportRequest {
    /// `service:version` references.
    #[serde(default)]
    pub artifacts: Vec<String>,
    /// Every version of this service (besides `artifacts`).
    #[serde(default)]
    pub service: Option<String>,
}

/// The header carrying an export's report (JSON).
pub const EXPORT_REPORT_HEADER: &str = "x-slipway-export-report";

#[utoipa::path(post, path = "/api/v1/artifact-store/export", request_body = ExportRequest,
    responses((status = 200, description = "a tar archive of an OCI layout; the report in x-slipway-export-report", content_type = "application/x-tar", body = Vec<u8>)),
    security(("bearer" = [])))]
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<ExportRequest>,
) -> ApiResult<Response> {
    let supply_chain = supply_chain(&state)?;
    authorize(&state, &caller, Verb::Get, Artifact::PLURAL, None, false).await?;
    let mut selection = Vec::new();
    for text in &request.artifacts {
        let (s, v) = text
            .split_once(':')
            .ok_or_else(|| ApiError::invalid(format!("{text:?} is not service:version"), vec![]))?;
        selection.push(ArtifactRef::new(s, v));
    }
    let (file, report) = supply_chain.export(selection, request.service).await?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-tar"),
    );
    if let Ok(len) = file.metadata().map(|m| m.len()) {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    if let Ok(v) = serde_json::to_string(&report)
        .map_err(|_| ())
        .and_then(|j| HeaderValue::from_str(&j).map_err(|_| ()))
    {
        headers.insert(EXPORT_REPORT_HEADER, v);
    }
    Ok((headers, stream_reader(std::io::BufReader::new(file))).into_response())
}

/// What an import changed in the store and in the resources.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportResponse {
    #[schema(value_type = Object)]
    pub report: ImportReport,
    pub resources: Vec<ApplyResult>,
    /// Artifact resources that could not be written, and why (the content was imported).
    pub resource_problems: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/artifact-store/import",
    request_body(content = Vec<u8>, content_type = "application/x-tar", description = "an archive from export, streamed"),
    responses((status = 200, body = ImportResponse), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    body: Body,
) -> ApiResult<Json<ImportResponse>> {
    let supply_chain = supply_chain(&state)?;
    authorize(&state, &caller, Verb::Create, Artifact::PLURAL, None, false).await?;
    let (report, digests) = supply_chain.import(body_reader(body)).await?;
    let mut resources = Vec::new();
    let mut resource_problems = Vec::new();
    for (reference, digest) in digests {
        let (service, version) = (&reference.service, &reference.version);
        let written = async {
            writable_target(&state, &supply_chain, &caller, service, version).await?;
            let recorded = supply_chain
                .record_artifact(&actor(&caller), service, version, &digest, |_| {})
                .await?;
            Ok::<_, ApiError>(recorded)
        }
        .await;
        match written {
            Ok(r) => resources.push(r),
            Err(e) => resource_problems.push(format!("{reference}: {}", e.body.message)),
        }
    }
    Ok(Json(ImportResponse {
        report,
        resources,
        resource_problems,
    }))
}
