//! The artifact store over HTTP: `/api/v1/artifact-store/...` — the content itself (push,
//! pull, list, inspect: `content`), the documents attached to it (`referrers`), legal holds
//! (`holds`), retention (`retention`) and archives (`archive`). Each handler parses the
//! request, authorizes the caller, calls the supply-chain service
//! (`slipway_supply_chain::SupplyChain`, which does the work) and shapes the answer.

pub mod archive;
pub mod content;
pub mod holds;
pub mod referrers;
pub mod retention;

use crate::AppState;
use crate::access::authorize;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use slipway_artifacts::Platform;
use slipway_domain::kinds::{Artifact, Kind};
use slipway_store::Actor;
use slipway_supply_chain::{ArtifactTarget, SupplyChain};
use std::io::Read;
use std::sync::Arc;

pub use archive::{EXPORT_REPORT_HEADER, ExportRequest, ImportResponse};
pub use content::{DIGEST_HEADER, FILE_NAME_HEADER, PushQuery, PushResponse};
pub use holds::{HoldRequest, HoldResponse};
pub use referrers::{ReferrerEntry, ReferrerQuery};
pub use retention::{RetentionRequest, RetentionResponse};
pub use slipway_supply_chain::artifact_resource_name;

/// The largest referrer document (SBOM, SARIF, bundle) accepted in one request.
const MAX_REFERRER_BYTES: usize = 64 << 20;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/artifact-store", get(content::list))
        .route(
            "/api/v1/artifact-store/retention",
            post(retention::retention),
        )
        .route("/api/v1/artifact-store/export", post(archive::export))
        .route(
            "/api/v1/artifact-store/import",
            post(archive::import).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/api/v1/artifact-store/{service}/{version}",
            put(content::push)
                .get(content::inspect)
                .layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/api/v1/artifact-store/{service}/{version}/content",
            get(content::pull),
        )
        .route(
            "/api/v1/artifact-store/{service}/{version}/referrers",
            get(referrers::list_referrers)
                .post(referrers::attach)
                .layer(DefaultBodyLimit::max(MAX_REFERRER_BYTES)),
        )
        .route(
            "/api/v1/artifact-store/{service}/{version}/hold",
            post(holds::hold).delete(holds::release_hold),
        )
}

/// The supply-chain service, or 503 when the server runs without an artifact store.
pub(crate) fn supply_chain(state: &AppState) -> ApiResult<Arc<SupplyChain>> {
    state
        .supply_chain
        .clone()
        .ok_or_else(|| ApiError::unavailable("this server runs without an artifact store"))
}

/// The Artifact resource a write of `service:version` changes, once the caller is allowed to
/// create or update it and it may describe that version.
pub(crate) async fn writable_target(
    state: &AppState,
    supply_chain: &SupplyChain,
    caller: &Caller,
    service: &str,
    version: &str,
) -> ApiResult<ArtifactTarget> {
    let target = supply_chain.target(service, version).await?;
    authorize(state, caller, target.verb(), Artifact::PLURAL, None, false).await?;
    supply_chain.check_target(&target).await?;
    Ok(target)
}

pub(crate) fn parse_platform(text: Option<&str>) -> ApiResult<Option<Platform>> {
    text.filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<Platform>()
                .map_err(|e| ApiError::invalid(e.to_string(), vec![]))
        })
        .transpose()
}

pub(crate) fn actor(caller: &Caller) -> Actor {
    Actor {
        user: caller.principal.user.clone(),
        request_id: caller.request_id.clone(),
        change_ref: None,
    }
}

/// A request body as a blocking reader, for the artifact store.
pub(crate) fn body_reader(body: Body) -> impl Read + Send + 'static {
    use futures_util::TryStreamExt;
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(stream))
}

/// A response body read from a blocking reader on a blocking thread. A read error (a digest
/// mismatch at the end) ends the body with an error, so the client sees a failed transfer.
pub(crate) fn stream_reader(mut reader: impl Read + Send + 'static) -> Body {
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
