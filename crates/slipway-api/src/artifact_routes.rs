//! The artifact store over HTTP: `/api/v1/artifact-store/...` — push (streamed, naming policy,
//! signed by the server, recorded as an audited `Artifact` resource), pull (streamed, verified),
//! list, inspect, referrers (signatures, SBOMs, SARIF, attestations), legal holds (recorded as an
//! annotation on the Artifact resource, so they are audited), retention with garbage collection,
//! and archive export/import.
//!
//! The `Artifact` resource of `service:version` is named [`artifact_resource_name`]; its
//! `digest` is the digest of the version's OCI image index (which names every platform manifest
//! and, through them, every file), and its `location` is `oci:<service>:<version>`, which the
//! engine resolves through the store. All store calls are blocking and run on
//! `spawn_blocking`.

use crate::AppState;
use crate::access::authorize;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::resource_routes::{ApplyDocument, ApplyRequest, ApplyResult, apply_batch};
use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use ed25519_dalek::SigningKey;
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use slipway_artifacts::oci::artifact_types;
use slipway_artifacts::{
    ArtifactDetails, ArtifactError, ArtifactRef, ArtifactStore, ArtifactSummary, Descriptor,
    Digest, ExportReport, HoldError, ImportReport, NamingPolicy, Platform, PushRequest,
    RetentionDecision, RetentionPolicy, RetentionReport,
};
use slipway_domain::diagnostic::Diagnostic;
use slipway_domain::kinds::{ArtifactSpec, Verb, typed};
use slipway_domain::references::referrers;
use slipway_domain::resource::{Resource, check_name};
use slipway_signing::{ArtifactSignature, Sha256Digest};
use slipway_store::{Actor, Mutation};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The annotation on an Artifact resource that records a legal hold: `<reason> (<actor>)`.
pub const LEGAL_HOLD_ANNOTATION: &str = "slipway.dev/legal-hold";

/// The largest referrer document (SBOM, SARIF, bundle) accepted in one request.
const MAX_REFERRER_BYTES: usize = 64 << 20;

/// The artifact store as the server runs it.
#[derive(Debug)]
pub struct Artifacts {
    pub store: ArtifactStore,
    /// Applied to every push.
    pub naming: NamingPolicy,
    /// Where imports and exports are staged (in the data dir, beside the store).
    pub scratch: PathBuf,
    /// Where the vulnerability database snapshot is kept (`DATA_DIR/vulndb`).
    pub vulndb_dir: PathBuf,
}

impl Artifacts {
    /// Opens (or creates) the store at `DATA_DIR/artifacts` with its scratch dir `DATA_DIR/tmp`.
    pub fn open(data_dir: &std::path::Path, naming: NamingPolicy) -> Result<Artifacts, String> {
        let store = ArtifactStore::open(data_dir.join("artifacts")).map_err(|e| e.to_string())?;
        let scratch = data_dir.join("tmp");
        std::fs::create_dir_all(&scratch)
            .map_err(|e| format!("could not create {}: {e}", scratch.display()))?;
        Ok(Artifacts {
            store,
            naming,
            scratch,
            vulndb_dir: data_dir.join(crate::supply_chain::VULNDB_DIR),
        })
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/artifact-store", get(list))
        .route("/api/v1/artifact-store/retention", post(retention))
        .route("/api/v1/artifact-store/export", post(export))
        .route(
            "/api/v1/artifact-store/import",
            post(import).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/api/v1/artifact-store/{service}/{version}",
            put(push).get(inspect).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/api/v1/artifact-store/{service}/{version}/content",
            get(pull),
        )
        .route(
            "/api/v1/artifact-store/{service}/{version}/referrers",
            get(list_referrers)
                .post(attach)
                .layer(DefaultBodyLimit::max(MAX_REFERRER_BYTES)),
        )
        .route(
            "/api/v1/artifact-store/{service}/{version}/hold",
            post(hold).delete(release_hold),
        )
}

/// The name of the Artifact resource of `service:version`: both lower-cased, joined by `-`,
/// every character other than a letter, digit or `-` replaced by `-` (`payments` `1.2.0` →
/// `payments-1-2-0`). The caller checks the result is a valid resource name.
pub fn artifact_resource_name(service: &str, version: &str) -> String {
    format!("{service}-{version}")
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The `location` of an artifact held in the store.
pub fn oci_location(service: &str, version: &str) -> String {
    format!("oci:{service}:{version}")
}

/// The artifact type a short name stands for (`sbom-cyclonedx`, `sbom-spdx`, `sarif`,
/// `sigstore-bundle`, `in-toto`, `slipway-signature`); anything else is taken as a media type.
pub fn referrer_type(name: &str) -> &str {
    match name {
        "sbom-cyclonedx" | "cyclonedx" => artifact_types::CYCLONEDX,
        "sbom-spdx" | "spdx" => artifact_types::SPDX,
        "sarif" => artifact_types::SARIF,
        "sigstore-bundle" => artifact_types::SIGSTORE_BUNDLE,
        "in-toto" => artifact_types::IN_TOTO,
        "slipway-signature" => artifact_types::SLIPWAY_SIGNATURE,
        other => other,
    }
}

/// Signs the digest of an artifact's file with the server's key (a `slipway-signing`
/// [`ArtifactSignature`](slipway_signing::ArtifactSignature), stamped now).
pub fn sign_file_digest(key: &SigningKey, layer: &Digest) -> ApiResult<ArtifactSignature> {
    let digest = sha256_of(layer)?;
    Ok(slipway_signing::sign_digest(
        key,
        &digest,
        time::OffsetDateTime::now_utc(),
    ))
}

/// The `slipway-signing` form of a store digest.
pub fn sha256_of(digest: &Digest) -> ApiResult<Sha256Digest> {
    digest
        .as_str()
        .parse::<Sha256Digest>()
        .map_err(|e| ApiError::internal(format!("digest {digest} is not sha256: {e}")))
}

fn artifacts(state: &AppState) -> ApiResult<Arc<Artifacts>> {
    state.artifacts.clone().ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "this server runs without an artifact store",
        )
    })
}

/// Maps a store error to the API's error shape.
fn store_error(e: ArtifactError) -> ApiError {
    match &e {
        ArtifactError::InvalidRequest { .. }
        | ArtifactError::Archive { .. }
        | ArtifactError::PlatformRequired { .. }
        | ArtifactError::Hold(HoldError::Incomplete) => ApiError::invalid(e.to_string(), vec![]),
        ArtifactError::Conflict { .. }
        | ArtifactError::PlatformMix { .. }
        | ArtifactError::Sealed { .. }
        | ArtifactError::Hold(_) => ApiError::conflict(e.to_string()),
        ArtifactError::NotFound(_) => ApiError::not_found(e.to_string()),
        ArtifactError::Io { .. } | ArtifactError::Corrupt(_) => {
            tracing::error!(error = %e, "artifact store failure");
            ApiError::internal(e.to_string())
        }
    }
}

/// Runs a blocking store call off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ArtifactError> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("the artifact store task failed: {e}")))?
        .map_err(store_error)
}

fn parse_platform(text: Option<&str>) -> ApiResult<Option<Platform>> {
    text.filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<Platform>()
                .map_err(|e| ApiError::invalid(e.to_string(), vec![]))
        })
        .transpose()
}

fn actor(caller: &Caller) -> Actor {
    Actor {
        user: caller.principal.user.clone(),
        request_id: caller.request_id.clone(),
        change_ref: None,
    }
}

/// Creates or updates the Artifact resource of `service:version` (audited, through
/// [`apply_batch`]), keeping its labels, annotations, args and env; `annotate` edits the
/// annotations.
async fn upsert_artifact_resource(
    state: &AppState,
    caller: &Caller,
    service: &str,
    version: &str,
    index_digest: &Digest,
    annotate: impl FnOnce(&mut BTreeMap<String, String>),
) -> ApiResult<ApplyResult> {
    let name = artifact_resource_name(service, version);
    let existing = state.store.get("Artifact", &name).await?;
    let (labels, mut annotations, args, env) = match &existing {
        Some(r) => {
            let spec = typed::<ArtifactSpec>(&r.spec);
            (
                r.metadata.labels.clone(),
                r.metadata.annotations.clone(),
                spec.as_ref().map(|s| s.args.clone()).unwrap_or_default(),
                spec.map(|s| s.env).unwrap_or_default(),
            )
        }
        None => Default::default(),
    };
    annotate(&mut annotations);
    let mut spec = serde_json::json!({
        "service": service,
        "version": version,
        "location": oci_location(service, version),
        "digest": index_digest.to_string(),
    });
    if !args.is_empty() {
        spec["args"] = serde_json::json!(args);
    }
    if !env.is_empty() {
        spec["env"] = serde_json::json!(env);
    }
    let document = serde_json::json!({
        "apiVersion": slipway_domain::resource::API_VERSION,
        "kind": "Artifact",
        "metadata": {"name": name, "labels": labels, "annotations": annotations},
        "spec": spec,
    });
    let mut results = apply_batch(
        state,
        caller,
        ApplyRequest {
            documents: vec![ApplyDocument {
                source: Some(format!("artifact store {service}:{version}")),
                document,
            }],
            dry_run: false,
            change_ref: None,
        },
    )
    .await?;
    results
        .pop()
        .ok_or_else(|| ApiError::internal("apply returned no result"))
}

/// Checks, before anything is stored, that `service:version` can get an Artifact resource and
/// that the caller may write it.
async fn check_resource_writable(
    state: &AppState,
    caller: &Caller,
    service: &str,
    version: &str,
) -> ApiResult<()> {
    let name = artifact_resource_name(service, version);
    check_name(&name).map_err(|why| {
        ApiError::invalid(
            format!("artifact {service}:{version} would be the Artifact resource {name:?}, which is not a valid name: {why}"),
            vec![],
        )
    })?;
    let existing = state.store.get("Artifact", &name).await?;
    authorize(
        state,
        caller,
        if existing.is_some() {
            Verb::Update
        } else {
            Verb::Create
        },
        "artifacts",
        None,
        false,
    )
    .await?;
    if let Some(spec) = existing
        .as_ref()
        .and_then(|r| typed::<ArtifactSpec>(&r.spec))
        && (spec.service != service || spec.version != version)
    {
        return Err(ApiError::conflict(format!(
            "the Artifact resource {name} already describes {}:{}, not {service}:{version}",
            spec.service, spec.version
        )));
    }
    if state.store.get("Service", service).await?.is_none() {
        return Err(ApiError::invalid(
            format!("service {service} does not exist: create the Service resource first"),
            vec![Diagnostic::new(
                "service",
                format!("Service {service} does not exist"),
            )],
        ));
    }
    Ok(())
}

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
    let artifacts = artifacts(&state)?;
    let request = push_request(&service, &version, &q)?;
    if let Err(violations) = artifacts.naming.validate(&request) {
        // The message lists every violation; details would repeat them.
        return Err(ApiError::invalid(
            format!("naming policy: {violations}"),
            vec![],
        ));
    }
    check_resource_writable(&state, &caller, &service, &version).await?;

    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let mut reader = tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(stream));
    let store = artifacts.store.clone();
    let pushed = blocking(move || store.push(&request, &mut reader)).await?;

    let signature = sign_once(
        &state,
        &artifacts,
        &pushed.manifest.digest,
        &pushed.layer.digest,
    )
    .await?;
    if let Some(pipeline_id) = q.pipeline_id.as_deref().filter(|p| !p.is_empty()) {
        let parameters = crate::supply_chain::PushParameters {
            service: &service,
            version: &version,
            git_sha: q.git_sha.as_deref().filter(|g| !g.is_empty()),
            pipeline_id,
        };
        record_provenance(&state, &artifacts, &pushed, &parameters).await?;
    }
    let resource = upsert_artifact_resource(
        &state,
        &caller,
        &service,
        &version,
        &pushed.index.digest,
        |_| {},
    )
    .await?;
    refresh_supply_chain(&state, &artifacts, &service, &version).await?;
    tracing::info!(artifact = %pushed.reference, digest = %pushed.index.digest, already_present = pushed.already_present, "artifact pushed");
    Ok(Json(PushResponse {
        reference: pushed.reference.to_string(),
        platform: pushed.platform.as_ref().map(Platform::to_string),
        manifest_digest: pushed.manifest.digest.to_string(),
        layer_digest: pushed.layer.digest.to_string(),
        size: pushed.layer.size,
        index_digest: pushed.index.digest.to_string(),
        already_present: pushed.already_present,
        signature,
        resource,
    }))
}

/// Attaches the server's signature over the file `layer` to `manifest` unless one of this key
/// is there already (a signature is stamped with its time, so signing again would add another).
async fn sign_once(
    state: &AppState,
    artifacts: &Arc<Artifacts>,
    manifest: &Digest,
    layer: &Digest,
) -> ApiResult<Option<Descriptor>> {
    let signature = sign_file_digest(&state.signing_key, layer)?;
    let bytes = signature
        .to_json_pretty()
        .map_err(|e| ApiError::internal(format!("could not encode a signature: {e}")))?
        .into_bytes();
    attach_once(
        artifacts,
        manifest,
        artifact_types::SLIPWAY_SIGNATURE,
        bytes,
        KEY_ID_ANNOTATION,
        signature.key_id,
    )
    .await
}

/// Attaches `bytes` to `subject` unless a referrer of that type with `annotation` = `value` is
/// there already (then returns that one).
pub(crate) async fn attach_once(
    artifacts: &Arc<Artifacts>,
    subject: &Digest,
    artifact_type: &'static str,
    bytes: Vec<u8>,
    annotation: &'static str,
    value: String,
) -> ApiResult<Option<Descriptor>> {
    let store = artifacts.store.clone();
    let subject = subject.clone();
    blocking(move || {
        let existing = store.referrers(&subject, Some(artifact_type))?;
        if let Some(found) = existing
            .into_iter()
            .find(|d| d.annotations.get(annotation) == Some(&value))
        {
            return Ok(Some(found));
        }
        let mut annotations = BTreeMap::new();
        annotations.insert(annotation.to_owned(), value);
        store
            .attach(&subject, artifact_type, &bytes, annotations)
            .map(Some)
    })
    .await
}

/// The annotation on a provenance referrer naming the pipeline run it records.
pub const PIPELINE_ANNOTATION: &str = "dev.slipway.provenance.pipeline-id";

/// Records signed SLSA provenance for a push from pipeline `pipeline_id` (once per pipeline id).
async fn record_provenance(
    state: &AppState,
    artifacts: &Arc<Artifacts>,
    pushed: &slipway_artifacts::PushOutcome,
    parameters: &crate::supply_chain::PushParameters<'_>,
) -> ApiResult<Option<Descriptor>> {
    let file_name = pushed
        .layer
        .annotations
        .get("org.opencontainers.image.title")
        .cloned()
        .unwrap_or_else(|| "artifact".into());
    let envelope = crate::supply_chain::push_provenance(
        &state.signing_key,
        &file_name,
        &sha256_of(&pushed.layer.digest)?,
        parameters,
    )
    .map_err(|e| ApiError::internal(format!("could not build provenance: {e}")))?;
    let bytes = serde_json::to_vec(&envelope)
        .map_err(|e| ApiError::internal(format!("could not encode provenance: {e}")))?;
    attach_once(
        artifacts,
        &pushed.manifest.digest,
        artifact_types::IN_TOTO,
        bytes,
        PIPELINE_ANNOTATION,
        parameters.pipeline_id.to_owned(),
    )
    .await
}

/// Recomputes the Artifact resource's `status.supplyChain` from every document attached to the
/// version (see [`crate::supply_chain::assess`]) and stores it.
pub async fn refresh_supply_chain(
    state: &AppState,
    artifacts: &Arc<Artifacts>,
    service: &str,
    version: &str,
) -> ApiResult<serde_json::Value> {
    let store = artifacts.store.clone();
    let (svc, ver) = (service.to_owned(), version.to_owned());
    let documents = blocking(move || {
        let details = store.inspect(&svc, &ver)?;
        let mut attached: Vec<(Option<Digest>, Descriptor)> = details
            .referrers
            .iter()
            .map(|d| (None, d.clone()))
            .collect();
        for m in &details.manifests {
            let layer = m.manifest.layers.first().map(|l| l.digest.clone());
            attached.extend(m.referrers.iter().map(|d| (layer.clone(), d.clone())));
        }
        let mut documents = Vec::new();
        for (layer, descriptor) in attached {
            let (_, content) = store.read_referrer(&descriptor.digest)?;
            documents.push((layer, descriptor, content));
        }
        Ok(documents)
    })
    .await?;
    let documents: Vec<crate::supply_chain::AttachedDocument> = documents
        .into_iter()
        .map(
            |(layer, descriptor, content)| crate::supply_chain::AttachedDocument {
                layer: layer.and_then(|l| sha256_of(&l).ok()),
                artifact_type: descriptor.artifact_type.unwrap_or_default(),
                annotations: descriptor.annotations,
                content,
            },
        )
        .collect();
    let dir = artifacts.vulndb_dir.clone();
    let vulndb = tokio::task::spawn_blocking(move || crate::supply_chain::load_vulndb(&dir))
        .await
        .map_err(|e| ApiError::internal(format!("the vulnerability database task failed: {e}")))?;
    let checked_at = jiff::Timestamp::now().to_string();
    let supply_chain = crate::supply_chain::assess(
        &documents,
        &state.signing_key.verifying_key(),
        vulndb.as_ref(),
        &checked_at,
    );
    let name = artifact_resource_name(service, version);
    let mut status = state
        .store
        .get("Artifact", &name)
        .await?
        .and_then(|r| r.status)
        .filter(serde_json::Value::is_object)
        .unwrap_or_else(|| serde_json::json!({}));
    status["supplyChain"] = supply_chain.clone();
    state.store.set_status("Artifact", &name, &status).await?;
    Ok(supply_chain)
}

/// The annotation on a signature referrer naming the key that made it.
pub const KEY_ID_ANNOTATION: &str = "dev.slipway.signature.key-id";

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
    let artifacts = artifacts(&state)?;
    authorize(&state, &caller, Verb::Get, "artifacts", None, false).await?;
    let platform = parse_platform(q.platform.as_deref())?;
    let store = artifacts.store.clone();
    let (reader, opened) =
        blocking(move || store.open_artifact(&service, &version, platform.as_ref())).await?;
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

/// A response body read from a blocking reader on a blocking thread. A read error (a digest
/// mismatch at the end) ends the body with an error, so the client sees a failed transfer.
fn stream_reader(mut reader: impl Read + Send + 'static) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(8);
    tokio::task::spawn_blocking(move || {
        let mut buf = vec![0u8; 256 << 10];
        loop {
            let item = match reader.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => Ok(Bytes::copy_from_slice(buf.get(..n).unwrap_or_default())),
                Err(e) => {
                    tracing::error!(error = %e, "artifact read failed");
                    Err(e)
                }
            };
            let failed = item.is_err();
            if tx.blocking_send(item).is_err() || failed {
                return;
            }
        }
    });
    Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
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
    let artifacts = artifacts(&state)?;
    authorize(&state, &caller, Verb::List, "artifacts", None, false).await?;
    let store = artifacts.store.clone();
    Ok(Json(
        blocking(move || store.ls(q.service.as_deref())).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/artifact-store/{service}/{version}",
    params(("service" = String, Path), ("version" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn inspect(
    State(state): State<AppState>,
    caller: Caller,
    Path((service, version)): Path<(String, String)>,
) -> ApiResult<Json<ArtifactDetails>> {
    let artifacts = artifacts(&state)?;
    authorize(&state, &caller, Verb::Get, "artifacts", None, false).await?;
    let store = artifacts.store.clone();
    Ok(Json(
        blocking(move || store.inspect(&service, &version)).await?,
    ))
}

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
    Query(bundle_policy): Query<crate::supply_chain::BundlePolicyQuery>,
    body: Bytes,
) -> ApiResult<Json<ReferrerEntry>> {
    let artifacts = artifacts(&state)?;
    authorize(&state, &caller, Verb::Update, "artifacts", None, false).await?;
    let artifact_type = referrer_type(q.artifact_type.as_deref().unwrap_or_default()).to_owned();
    if artifact_type.is_empty() {
        return Err(ApiError::invalid(
            "say what the document is with ?type= (sbom-cyclonedx, sbom-spdx, sarif, sigstore-bundle, in-toto, slipway-signature or a media type)",
            vec![],
        ));
    }
    let platform = parse_platform(q.platform.as_deref())?;
    let store = artifacts.store.clone();
    let (svc, ver) = (service.clone(), version.clone());
    let opened = blocking(move || {
        store
            .open_artifact(&svc, &ver, platform.as_ref())
            .map(|(_, opened)| opened)
    })
    .await?;
    let mut annotations = crate::supply_chain::validate_referrer(
        &artifact_type,
        &body,
        &sha256_of(&opened.layer.digest)?,
        &bundle_policy,
    )?;
    annotations.insert(
        "org.opencontainers.image.description".to_owned(),
        format!("attached by {}", caller.principal.user),
    );
    let store = artifacts.store.clone();
    let subject = opened.manifest;
    let manifest_digest = subject.digest.clone();
    let descriptor =
        blocking(move || store.attach(&manifest_digest, &artifact_type, &body, annotations))
            .await?;
    if state
        .store
        .get("Artifact", &artifact_resource_name(&service, &version))
        .await?
        .is_some()
    {
        refresh_supply_chain(&state, &artifacts, &service, &version).await?;
    }
    Ok(Json(ReferrerEntry {
        subject: subject.digest.to_string(),
        platform: subject.platform.as_ref().map(Platform::to_string),
        descriptor,
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
    let artifacts = artifacts(&state)?;
    authorize(&state, &caller, Verb::Get, "artifacts", None, false).await?;
    let store = artifacts.store.clone();
    let details = blocking(move || store.inspect(&service, &version)).await?;
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
    let artifacts = artifacts(&state)?;
    if request.reason.trim().is_empty() {
        return Err(ApiError::invalid("a legal hold needs a reason", vec![]));
    }
    check_resource_writable(&state, &caller, &service, &version).await?;
    let user = caller.principal.user.clone();
    let store = artifacts.store.clone();
    let (s, v, reason) = (service.clone(), version.clone(), request.reason.clone());
    let (held, index) = blocking(move || {
        let index = store.inspect(&s, &v)?.summary.digest;
        Ok((store.hold(&s, &v, &reason, &user)?, index))
    })
    .await?;
    let note = format!("{} ({})", held.reason, held.actor);
    let resource = upsert_artifact_resource(&state, &caller, &service, &version, &index, |a| {
        a.insert(LEGAL_HOLD_ANNOTATION.into(), note);
    })
    .await;
    match resource {
        Ok(resource) => Ok(Json(hold_response(&held, resource))),
        Err(e) => {
            // Not recorded in the audit log: not held either.
            let store = artifacts.store.clone();
            let _ = blocking(move || store.release_hold(&service, &version)).await;
            Err(e)
        }
    }
}

#[utoipa::path(delete, path = "/api/v1/artifact-store/{service}/{version}/hold",
    params(("service" = String, Path), ("version" = String, Path)),
    responses((status = 200, body = HoldResponse), (status = 409, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn release_hold(
    State(state): State<AppState>,
    caller: Caller,
    Path((service, version)): Path<(String, String)>,
) -> ApiResult<Json<HoldResponse>> {
    let artifacts = artifacts(&state)?;
    check_resource_writable(&state, &caller, &service, &version).await?;
    let store = artifacts.store.clone();
    let (s, v) = (service.clone(), version.clone());
    let (released, index) = blocking(move || {
        let index = store.inspect(&s, &v)?.summary.digest;
        Ok((store.release_hold(&s, &v)?, index))
    })
    .await?;
    let resource = upsert_artifact_resource(&state, &caller, &service, &version, &index, |a| {
        a.remove(LEGAL_HOLD_ANNOTATION);
    })
    .await;
    match resource {
        Ok(resource) => Ok(Json(hold_response(&released, resource))),
        Err(e) => {
            let store = artifacts.store.clone();
            let h = released.clone();
            let _ = blocking(move || store.hold(&h.service, &h.version, &h.reason, &h.actor)).await;
            Err(e)
        }
    }
}

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

/// What the engine wrote about one rollout, as retention needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutFact {
    pub service: String,
    pub environment: String,
    pub artifact: ArtifactRef,
    pub phase: String,
    /// When its last step happened (ms since the epoch).
    pub last_step_ms: u64,
}

/// Which artifacts are deployed now and which were within the rollback window, from the
/// rollouts: per service and environment, the latest Promoted rollout is deployed now, a
/// rollout in flight deploys its artifact now, an earlier Promoted one was deployed until the
/// next promotion, and a rolled-back or failed one until it ended.
pub fn deployed_sets(
    facts: &[RolloutFact],
    now_ms: u64,
    window: Duration,
) -> (BTreeSet<ArtifactRef>, BTreeSet<ArtifactRef>) {
    let since = now_ms.saturating_sub(window.as_millis() as u64);
    let mut now = BTreeSet::new();
    let mut recent = BTreeSet::new();
    let mut promoted: BTreeMap<(&str, &str), Vec<&RolloutFact>> = BTreeMap::new();
    for f in facts {
        match f.phase.as_str() {
            "Promoted" => promoted
                .entry((&f.service, &f.environment))
                .or_default()
                .push(f),
            "RolledBack" | "Failed" | "Removed" => {
                if f.last_step_ms >= since {
                    recent.insert(f.artifact.clone());
                }
            }
            _ => {
                now.insert(f.artifact.clone());
            }
        }
    }
    for list in promoted.values_mut() {
        list.sort_by_key(|f| f.last_step_ms);
        for pair in list.windows(2) {
            if let [earlier, later] = pair
                && later.last_step_ms >= since
            {
                recent.insert(earlier.artifact.clone());
            }
        }
        if let Some(last) = list.last() {
            now.insert(last.artifact.clone());
        }
    }
    (now, recent)
}

/// Reads the rollouts and their artifacts from the store.
async fn rollout_facts(state: &AppState) -> ApiResult<Vec<RolloutFact>> {
    let artifacts: BTreeMap<String, ArtifactSpec> = state
        .store
        .list("Artifact")
        .await?
        .into_iter()
        .filter_map(|r| typed::<ArtifactSpec>(&r.spec).map(|s| (r.metadata.name, s)))
        .collect();
    let mut facts = Vec::new();
    for r in state.store.list("Rollout").await? {
        let (Some(spec), Some(status)) = (&r.spec.as_object(), &r.status) else {
            continue;
        };
        let Some(artifact) = spec
            .get("artifact")
            .and_then(|a| a.as_str())
            .and_then(|a| artifacts.get(a))
        else {
            continue;
        };
        let text = |v: Option<&serde_json::Value>| {
            v.and_then(|v| v.as_str()).unwrap_or_default().to_owned()
        };
        facts.push(RolloutFact {
            service: text(spec.get("service")),
            environment: text(spec.get("environment")),
            artifact: ArtifactRef::new(&artifact.service, &artifact.version),
            phase: text(status.get("phase")),
            last_step_ms: status
                .get("history")
                .and_then(|h| h.as_array())
                .and_then(|h| h.last())
                .and_then(|h| h.get("atMs"))
                .and_then(|t| t.as_u64())
                .unwrap_or(0),
        });
    }
    Ok(facts)
}

fn parse_retention_policy(value: Option<&serde_json::Value>) -> ApiResult<RetentionPolicy> {
    let text = match value {
        None | Some(serde_json::Value::Null) => return Ok(RetentionPolicy::default()),
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    };
    RetentionPolicy::from_yaml(&text).map_err(|e| ApiError::invalid(e.to_string(), vec![]))
}

#[utoipa::path(post, path = "/api/v1/artifact-store/retention", request_body = RetentionRequest,
    responses((status = 200, body = RetentionResponse), (status = 422, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn retention(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<RetentionRequest>,
) -> ApiResult<Json<RetentionResponse>> {
    let artifacts = artifacts(&state)?;
    let verb = if request.dry_run {
        Verb::List
    } else {
        Verb::Delete
    };
    authorize(&state, &caller, verb, "artifacts", None, false).await?;
    let policy = parse_retention_policy(request.policy.as_ref())?;
    let facts = rollout_facts(&state).await?;
    let now = time::OffsetDateTime::now_utc();
    let now_ms = (now.unix_timestamp_nanos() / 1_000_000).max(0) as u64;
    let (deployed_now, recent) = deployed_sets(&facts, now_ms, policy.rollback_window);
    let store = artifacts.store.clone();
    let dry_run = request.dry_run;
    let (plan, report) = blocking(move || {
        let plan = store.plan_retention(&policy, now, &deployed_now, &recent)?;
        let report = store.apply_retention(&plan, dry_run)?;
        Ok((plan, report))
    })
    .await?;
    let (resources_deleted, resources_kept) = if dry_run {
        (Vec::new(), Vec::new())
    } else {
        delete_resources_of(&state, &caller, &report.deleted).await?
    };
    Ok(Json(RetentionResponse {
        plan,
        report,
        resources_deleted,
        resources_kept,
    }))
}

/// Deletes (in one audited batch) the Artifact resources of deleted versions, except those a
/// Rollout or Release still refers to.
async fn delete_resources_of(
    state: &AppState,
    caller: &Caller,
    deleted: &[ArtifactRef],
) -> ApiResult<(Vec<String>, Vec<String>)> {
    let all: Vec<Resource> = state.store.list_all().await?;
    let mut doomed = Vec::new();
    let mut kept = Vec::new();
    for reference in deleted {
        let name = artifact_resource_name(&reference.service, &reference.version);
        let Some(found) = all
            .iter()
            .find(|r| r.kind == "Artifact" && r.metadata.name == name)
        else {
            continue;
        };
        let describes = typed::<ArtifactSpec>(&found.spec).is_some_and(|s| {
            s.service == reference.service
                && s.version == reference.version
                && s.location.starts_with("oci:")
        });
        if !describes {
            continue;
        }
        let users = referrers(&all, "Artifact", &name);
        if users.is_empty() {
            doomed.push(name);
        } else {
            kept.push(format!(
                "{name}: its content was deleted but the resource is still referred to by {}",
                users.join(", ")
            ));
        }
    }
    if !doomed.is_empty() {
        state
            .store
            .apply(
                &actor(caller),
                doomed
                    .iter()
                    .map(|name| Mutation::Delete {
                        kind: "Artifact".into(),
                        name: name.clone(),
                        expected_revision: None,
                    })
                    .collect(),
                false,
            )
            .await?;
    }
    Ok((doomed, kept))
}

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
    let artifacts = artifacts(&state)?;
    authorize(&state, &caller, Verb::Get, "artifacts", None, false).await?;
    let mut selection = Vec::new();
    for text in &request.artifacts {
        let (s, v) = text
            .split_once(':')
            .ok_or_else(|| ApiError::invalid(format!("{text:?} is not service:version"), vec![]))?;
        selection.push(ArtifactRef::new(s, v));
    }
    let scratch = artifacts.scratch.clone();
    let store = artifacts.store.clone();
    let (file, report) = blocking(move || {
        if let Some(service) = &request.service {
            for a in store.ls(Some(service))? {
                selection.push(ArtifactRef::new(a.service, a.version));
            }
        }
        if selection.is_empty() {
            return Err(ArtifactError::InvalidRequest {
                reference: "export".into(),
                problems: vec!["name the artifacts (service:version) or a service".into()],
            });
        }
        let temp = tempfile::Builder::new()
            .prefix("export-")
            .suffix(".tar")
            .tempfile_in(&scratch)
            .map_err(ArtifactError::io("create a temporary file in", &scratch))?;
        let report: ExportReport = store.export_archive(&selection, temp.path())?;
        // Opened before the name is removed: the file lives while the response streams.
        let file =
            std::fs::File::open(temp.path()).map_err(ArtifactError::io("open", temp.path()))?;
        drop(temp);
        Ok((file, report))
    })
    .await?;
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
    let artifacts = artifacts(&state)?;
    authorize(&state, &caller, Verb::Create, "artifacts", None, false).await?;
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let mut reader = tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(stream));
    let scratch = artifacts.scratch.clone();
    let store = artifacts.store.clone();
    let (report, digests) = blocking(move || {
        let mut temp = tempfile::Builder::new()
            .prefix("import-")
            .suffix(".tar")
            .tempfile_in(&scratch)
            .map_err(ArtifactError::io("create a temporary file in", &scratch))?;
        std::io::copy(&mut reader, temp.as_file_mut())
            .map_err(ArtifactError::io("receive the archive into", temp.path()))?;
        let report = store.import_archive(temp.path())?;
        let mut digests = Vec::new();
        for r in report
            .imported
            .iter()
            .chain(&report.merged)
            .chain(&report.already_present)
        {
            digests.push((
                r.clone(),
                store.inspect(&r.service, &r.version)?.summary.digest,
            ));
        }
        Ok((report, digests))
    })
    .await?;
    let mut resources = Vec::new();
    let mut resource_problems = Vec::new();
    for (reference, digest) in digests {
        let written = async {
            check_resource_writable(&state, &caller, &reference.service, &reference.version)
                .await?;
            upsert_artifact_resource(
                &state,
                &caller,
                &reference.service,
                &reference.version,
                &digest,
                |_| {},
            )
            .await
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors
    use super::*;

    #[test]
    fn resource_names_follow_the_existing_convention() {
        for (service, version, expected) in [
            ("payments-api", "1.0.0", "payments-api-1-0-0"),
            ("payments", "1.2.3+build.7", "payments-1-2-3-build-7"),
            ("Pay_ments", "2.0.0-rc.1", "pay-ments-2-0-0-rc-1"),
        ] {
            assert_eq!(artifact_resource_name(service, version), expected);
            assert!(check_name(expected).is_ok());
        }
        assert!(check_name(&artifact_resource_name("9lives", "1.0.0")).is_err());
    }

    #[test]
    fn short_referrer_types_name_the_media_types() {
        assert_eq!(
            referrer_type("sbom-cyclonedx"),
            "application/vnd.cyclonedx+json"
        );
        assert_eq!(referrer_type("sbom-spdx"), "application/spdx+json");
        assert_eq!(referrer_type("sarif"), "application/sarif+json");
        assert_eq!(
            referrer_type("sigstore-bundle"),
            "application/vnd.dev.sigstore.bundle.v0.3+json"
        );
        assert_eq!(referrer_type("in-toto"), "application/vnd.in-toto+json");
        assert_eq!(
            referrer_type("slipway-signature"),
            "application/vnd.slipway.signature.v1+json"
        );
        assert_eq!(referrer_type("text/plain"), "text/plain");
    }

    #[test]
    fn the_signature_verifies_with_the_public_key_and_only_for_its_file() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let digest = Digest::of(b"payments 1.0.0");
        let signature = sign_file_digest(&key, &digest).unwrap();
        let file = sha256_of(&digest).unwrap();
        let keys = [key.verifying_key()];
        assert!(slipway_signing::verify_signature(&signature, &file, &keys).is_ok());
        let other = sha256_of(&Digest::of(b"other")).unwrap();
        assert!(slipway_signing::verify_signature(&signature, &other, &keys).is_err());
    }

    fn fact(env: &str, version: &str, phase: &str, at: u64) -> RolloutFact {
        RolloutFact {
            service: "payments".into(),
            environment: env.into(),
            artifact: ArtifactRef::new("payments", version),
            phase: phase.into(),
            last_step_ms: at,
        }
    }

    fn check(facts: &[RolloutFact], now: &[&str], recent: &[&str]) {
        let day = 86_400_000;
        let (n, r) = deployed_sets(facts, 100 * day, Duration::from_secs(30 * 86_400));
        let versions =
            |s: &BTreeSet<ArtifactRef>| s.iter().map(|a| a.version.clone()).collect::<Vec<_>>();
        assert_eq!(versions(&n), now, "deployed now");
        assert_eq!(versions(&r), recent, "within the rollback window");
    }

    #[test]
    fn deployments_come_from_the_latest_promotions_and_recent_ends() {
        let day = 86_400_000;
        // 1.0 replaced long ago by 2.0, replaced within the window by 3.0.
        check(
            &[
                fact("prod", "1.0", "Promoted", 10 * day),
                fact("prod", "2.0", "Promoted", 20 * day),
                fact("prod", "3.0", "Promoted", 90 * day),
            ],
            &["3.0"],
            &["2.0"],
        );
        // Each environment has its own latest; an old rollback is forgotten, a recent one not.
        check(
            &[
                fact("prod", "1.0", "Promoted", 10 * day),
                fact("staging", "2.0", "Promoted", 20 * day),
                fact("prod", "4.0", "RolledBack", 50 * day),
                fact("prod", "5.0", "Failed", 95 * day),
                fact("prod", "6.0", "Progressing", 99 * day),
            ],
            &["1.0", "2.0", "6.0"],
            &["5.0"],
        );
    }

    #[test]
    fn retention_policies_are_read_from_yaml_json_or_objects() {
        let p = parse_retention_policy(Some(&serde_json::json!("keepLastPerService: 2"))).unwrap();
        assert_eq!(p.keep_last_per_service, 2);
        let p = parse_retention_policy(Some(&serde_json::json!({"keepNewerThan": "1d"}))).unwrap();
        assert_eq!(p.keep_newer_than, Duration::from_secs(86_400));
        assert_eq!(
            parse_retention_policy(None).unwrap(),
            RetentionPolicy::default()
        );
        let e =
            parse_retention_policy(Some(&serde_json::json!("keepDeployed: false"))).unwrap_err();
        assert!(
            e.body.message.contains("keepDeployed"),
            "{}",
            e.body.message
        );
    }
}
