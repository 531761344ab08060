//! The store's error type: every message says what failed and why, naming the artifact, digest or
//! file concerned.

use crate::digest::Digest;
use crate::holds::HoldError;
use std::io;
use std::path::PathBuf;

/// What went wrong in the artifact store.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("could not {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("artifact {reference}: {}", problems.join("; "))]
    InvalidRequest {
        reference: String,
        problems: Vec<String>,
    },
    #[error(
        "artifact {service}:{version} ({platform}) already exists with content {existing}; refusing different content {new}: artifacts are immutable, push a new version"
    )]
    Conflict {
        service: String,
        version: String,
        platform: String,
        existing: Digest,
        new: Digest,
    },
    #[error(
        "artifact {reference} was pushed {existing}; a variant {new} cannot be added: push all variants with a platform, or none"
    )]
    PlatformMix {
        reference: String,
        existing: String,
        new: String,
    },
    #[error(
        "artifact {reference} has {referrers} referrer(s) (signatures, SBOMs...) attached to its index {index}; adding platform {platform} would change the index they describe: push a new version"
    )]
    Sealed {
        reference: String,
        platform: String,
        index: Digest,
        referrers: usize,
    },
    #[error("{0} not found")]
    NotFound(String),
    #[error("artifact {reference} has several platforms ({available}): choose one with --platform")]
    PlatformRequired {
        reference: String,
        available: String,
    },
    #[error("{0}")]
    Corrupt(String),
    #[error("{0}")]
    Hold(#[from] HoldError),
    #[error("archive {path}: {reason}")]
    Archive { path: PathBuf, reason: String },
}

impl ArtifactError {
    /// An I/O error with the action and path that failed.
    pub fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| ArtifactError::Io {
            action,
            path,
            source,
        }
    }
}
