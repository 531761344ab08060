//! The artifact supply chain as a service, below the API and beside the gate.
//!
//! [`SupplyChain`] takes the store, the artifact store and the server's signing key as values
//! and owns what happens to a build between CI and the gate: pushes (naming policy, signed by
//! the server, SLSA provenance for pushes from a pipeline, recorded as an audited `Artifact`
//! resource), attached documents (validated before they are kept), the Artifact's
//! `status.supplyChain` recomputed from what is attached ([`documents::assess`], pure), legal
//! holds (an audited annotation), retention (what is deployed derived from the Rollouts),
//! archives, the vulnerability database, and the signed verification summary an allowing gate
//! decision attaches ([`SupplyChain::record_verification`]).
//!
//! It knows no HTTP and no permissions: the API's handlers authorize the caller, then call it;
//! where a write's permission depends on the store ([`SupplyChain::target`]), the service says
//! what is needed and the handler checks it. Errors are [`SupplyChainError`]s, which the API
//! maps to its `{code, message, details}`. Artifact store calls block and run on
//! `spawn_blocking`.
#![forbid(unsafe_code)]

pub mod archive;
pub mod artifact_resource;
pub mod attestations;
pub mod documents;
pub mod holds;
pub mod push;
pub mod retention;
pub mod verification;
pub mod vulndb;

use slipway_artifacts::{
    ArtifactDetails, ArtifactError, ArtifactStore, ArtifactSummary, BlobReader, NamingPolicy,
    OpenedArtifact, Platform,
};
use slipway_domain::diagnostic::Diagnostic;
use slipway_signing::SigningKey;
use slipway_store::{Store, StoreError};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use artifact_resource::{ArtifactTarget, artifact_resource_name, oci_location};

/// Why a supply-chain operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum SupplyChainError {
    /// The request or a document is refused; `details` name field and reason where there are
    /// several.
    #[error("{message}")]
    Invalid {
        message: String,
        details: Vec<Diagnostic>,
    },
    /// The request contradicts what is stored.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something that should not fail did (a task, an encoding); the message says what.
    #[error("{0}")]
    Internal(String),
}

impl SupplyChainError {
    /// A refusal without per-field details.
    pub fn invalid(message: impl Into<String>) -> Self {
        SupplyChainError::Invalid {
            message: message.into(),
            details: Vec::new(),
        }
    }
}

impl From<slipway_resources::ApplyError> for SupplyChainError {
    fn from(e: slipway_resources::ApplyError) -> Self {
        match e {
            slipway_resources::ApplyError::Invalid { message, details } => {
                SupplyChainError::Invalid { message, details }
            }
            slipway_resources::ApplyError::Store(e) => e.into(),
        }
    }
}

pub type Result<T, E = SupplyChainError> = std::result::Result<T, E>;

/// The artifact store as the server keeps it in its data dir.
#[derive(Debug, Clone)]
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
    pub fn open(data_dir: &Path, naming: NamingPolicy) -> Result<Artifacts, String> {
        let store = ArtifactStore::open(data_dir.join("artifacts")).map_err(|e| e.to_string())?;
        let scratch = data_dir.join("tmp");
        std::fs::create_dir_all(&scratch)
            .map_err(|e| format!("could not create {}: {e}", scratch.display()))?;
        Ok(Artifacts {
            store,
            naming,
            scratch,
            vulndb_dir: data_dir.join(vulndb::VULNDB_DIR),
        })
    }
}

/// The supply-chain service.
pub struct SupplyChain {
    store: Arc<dyn Store>,
    artifacts: Artifacts,
    signing_key: Arc<SigningKey>,
}

impl SupplyChain {
    pub fn new(store: Arc<dyn Store>, artifacts: Artifacts, signing_key: Arc<SigningKey>) -> Self {
        SupplyChain {
            store,
            artifacts,
            signing_key,
        }
    }

    /// The artifact store (the engine copies the files it runs out of it).
    pub fn artifact_store(&self) -> &ArtifactStore {
        &self.artifacts.store
    }

    /// Every version in the store, or every version of `service`.
    pub async fn list(&self, service: Option<String>) -> Result<Vec<ArtifactSummary>> {
        let store = self.artifacts.store.clone();
        blocking(move || store.ls(service.as_deref())).await
    }

    /// A version's index, platform manifests and referrers.
    pub async fn inspect(&self, service: String, version: String) -> Result<ArtifactDetails> {
        let store = self.artifacts.store.clone();
        blocking(move || store.inspect(&service, &version)).await
    }

    /// Opens a version's file (of `platform`, or its only one) for reading; the reader fails
    /// at its end if the content does not match its digest.
    pub async fn open(
        &self,
        service: String,
        version: String,
        platform: Option<Platform>,
    ) -> Result<(BlobReader, OpenedArtifact)> {
        let store = self.artifacts.store.clone();
        blocking(move || store.open_artifact(&service, &version, platform.as_ref())).await
    }
}

/// Runs a blocking artifact store call off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ArtifactError> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| SupplyChainError::Internal(format!("the artifact store task failed: {e}")))?
        .map_err(SupplyChainError::from)
}
