//! The documents attached to a stored version (signatures, SBOMs, SARIF logs, attestations):
//! attaching one (validated by the supply-chain service against the file it describes) and
//! listing them.

use super::{parse_platform, supply_chain};
use crate::AppState;
use crate::access::authorize;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use slipway_artifacts::{ArtifactDetails, Descriptor, Platform};
use slipway_domain::kinds::{Artifact, Kind, Verb};
use slipway_supply_chain::documents::{BundleSigner, referrer_type};
use slipway_supply_chain::push::Attachment;

/// The type of a referrer, and the platform variant it is about.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct ReferrerQuery {
    /// An artifact type (media type) or a short name: sbom-cyclonedx, sbom-spdx, sarif,
    /// sigstore-bundle, in-toto, slipway-signature.
    #[serde(rename = "type")]
    pub artifact_type: Option<String>,
    pub platform: Option<String>,
}

/// A referrer and what it refers to.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReferrerEntry {
    /// The digest of the manifest (or index) it describes.
    pub subject: String,
    pub platform: Option<String>,
    #[schema(value_type = Object)]
    pub descriptor: Descriptor,
}

#[utoipa::path(post, path = "/api/v1/artifact-store/{service}/{version}/referrers",
    params(("service" = String, Path), ("version" = String, Path), ReferrerQuery),
    request_body(content = Vec<u8>, description = "the document (signature, SBOM, SARIF, attestation)"),
    responses((status = 200, body = ReferrerEntry), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn attach(
    State(state): State<AppState>,
    caller: Caller,
    Path((service, version)): Path<(String, String)>,
    Query(q): Query<ReferrerQuery>,
    Query(signer): Query<BundleSigner>,
    body: Bytes,
) -> ApiResult<Json<ReferrerEntry>> {
    let supply_chain = supply_chain(&state)?;
    authorize(&state, &caller, Verb::Update, Artifact::PLURAL, None, false).await?;
    let artifact_type = referrer_type(q.artifact_type.as_deref().unwrap_or_default()).to_owned();
    if artifact_type.is_empty() {
        return Err(ApiError::invalid(
            "say what the document is with ?type= (sbom-cyclonedx, sbom-spdx, sarif, sigstore-bundle, in-toto, slipway-signature or a media type)",
            vec![],
        ));
    }
    let platform = parse_platform(q.platform.as_deref())?;
    let attached = supply_chain
        .attach(Attachment {
            service: &service,
            version: &version,
            platform,
            artifact_type,
            content: body,
            signer: &signer,
            attached_by: &caller.principal.user,
        })
        .await?;
    Ok(Json(ReferrerEntry {
        subject: attached.subject.digest.to_string(),
        platform: attached.subject.platform.as_ref().map(Platform::to_string),
        descriptor: attached.descriptor,
    }))
}

#[utoipa::path(get, path = "/api/v1/artifact-store/{service}/{version}/referrers",
    params(("service" = String, Path), ("version" = String, Path), ReferrerQuery),
    responses((status = 200, body = Vec<ReferrerEntry>)), security(("bearer" = [])))]
pub async fn list_referrers(
    State(state): State<AppState>,
    caller: Caller,
    Path((service, version)): Path<(String, String)>,
    Query(q): Query<ReferrerQuery>,
) -> ApiResult<Json<Vec<ReferrerEntry>>> {
    let supply_chain = supply_chain(&state)?;
    authorize(&state, &caller, Verb::Get, Artifact::PLURAL, None, false).await?;
    let details = supply_chain.inspect(service, version).await?;
    let wanted = q.artifact_type.as_deref().map(referrer_type);
    let platform = parse_platform(q.platform.as_deref())?;
    Ok(Json(referrer_entries(&details, wanted, platform.as_ref())))
}

/// Every referrer of a version (of its index and of each platform manifest), optionally of one
/// type and one platform.
pub fn referrer_entries(
    details: &ArtifactDetails,
    artifact_type: Option<&str>,
    platform: Option<&Platform>,
) -> Vec<ReferrerEntry> {
    let on_index = details.referrers.iter().map(|d| ReferrerEntry {
        subject: details.index_descriptor.digest.to_string(),
        platform: None,
        descriptor: d.clone(),
    });
    let on_manifests = details
        .manifests
        .iter()
        .filter(|m| platform.is_none() || m.descriptor.platform.as_ref() == platform)
        .flat_map(|m| {
            m.referrers.iter().map(|d| ReferrerEntry {
                subject: m.descriptor.digest.to_string(),
                platform: m.descriptor.platform.as_ref().map(Platform::to_string),
                descriptor: d.clone(),
            })
        });
    on_index
        .chain(on_manifests)
        .filter(|e| {
            artifact_type.is_none() || e.descriptor.artifact_type.as_deref() == artifact_type
        })
        .collect()
}
