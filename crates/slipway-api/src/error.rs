//! The API's one error shape: `{"code": "...", "message": "...", "details": [...]}` with a
//! matching HTTP status. Messages are lower-case and never contain secrets.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use slipway_artifacts::{ArtifactError, HoldError};
use slipway_domain::diagnostic::Diagnostic;
use slipway_store::StoreError;

/// The body of every error response.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Machine-readable: `unauthenticated`, `forbidden`, `not_found`, `invalid`, `conflict`,
    /// `stale_revision`, `internal`.
    pub code: String,
    pub message: String,
    /// Per-field problems for `invalid`; empty otherwise.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub details: Vec<Diagnostic>,
}

/// An error that becomes an [`ErrorBody`] response.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: ErrorBody {
                code: code.to_string(),
                message: message.into(),
                details: Vec::new(),
            },
        }
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    pub fn invalid(message: impl Into<String>, details: Vec<Diagnostic>) -> Self {
        let mut e = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message);
        e.body.details = details;
        e
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match &e {
            StoreError::StaleRevision { .. } => {
                Self::new(StatusCode::CONFLICT, "stale_revision", e.to_string())
            }
            StoreError::NotFound { .. } => Self::not_found(e.to_string()),
            _ => {
                tracing::error!(error = %e, "store failure");
                Self::internal(e.to_string())
            }
        }
    }
}

impl From<slipway_resources::ApplyError> for ApiError {
    fn from(e: slipway_resources::ApplyError) -> Self {
        match e {
            slipway_resources::ApplyError::Invalid { message, details } => {
                Self::invalid(message, details)
            }
            slipway_resources::ApplyError::Store(e) => e.into(),
        }
    }
}

impl From<slipway_supply_chain::SupplyChainError> for ApiError {
    fn from(e: slipway_supply_chain::SupplyChainError) -> Self {
        use slipway_supply_chain::SupplyChainError;
        match e {
            SupplyChainError::Invalid { message, details } => Self::invalid(message, details),
            SupplyChainError::Conflict(message) => Self::conflict(message),
            SupplyChainError::Artifact(e) => artifact_error(e),
            SupplyChainError::Store(e) => e.into(),
            SupplyChainError::Internal(message) => Self::internal(message),
        }
    }
}

/// An artifact store error as the API answers it.
fn artifact_error(e: ArtifactError) -> ApiError {
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

/// Handler result.
pub type ApiResult<T> = Result<T, ApiError>;
