//! The server's vulnerability database: OSV records imported from a ZIP into a snapshot in
//! `DATA_DIR/vulndb`, which every supply-chain assessment scans SBOMs against.

use crate::{Result, SupplyChain, SupplyChainError};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use slipway_vuln::VulnDb;
use std::path::Path;

/// The directory of the data dir holding the imported vulnerability database snapshot.
pub const VULNDB_DIR: &str = "vulndb";

/// Reads the server's vulnerability database snapshot; `None` when none was imported (or it
/// does not load, which is logged).
pub fn load_vulndb(dir: &Path) -> Option<VulnDb> {
    if !dir.join(slipway_vuln::SNAPSHOT_FILE).is_file() {
        return None;
    }
    match VulnDb::load_from(dir) {
        Ok(db) => Some(db),
        Err(e) => {
            tracing::error!(error = %e, "the vulnerability database snapshot does not load");
            None
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct VulnDbImport {
    /// Where the snapshot was written.
    pub snapshot: String,
    /// Advisories kept.
    pub records: usize,
    /// Withdrawn advisories skipped.
    pub skipped_withdrawn: usize,
}

impl SupplyChain {
    /// Replaces the vulnerability database with the OSV records of the ZIP `archive`.
    pub async fn import_vulndb(&self, archive: Bytes) -> Result<VulnDbImport> {
        let dir = self.artifacts.vulndb_dir.clone();
        let scratch = self.artifacts.scratch.clone();
        let imported = tokio::task::spawn_blocking(move || -> Result<VulnDbImport> {
            let staged = tempfile::Builder::new()
                .suffix(".zip")
                .tempfile_in(&scratch)
                .map_err(|e| {
                    SupplyChainError::Internal(format!("could not stage the upload: {e}"))
                })?;
            std::fs::write(staged.path(), &archive).map_err(|e| {
                SupplyChainError::Internal(format!("could not stage the upload: {e}"))
            })?;
            let db = VulnDb::load_osv(staged.path())
                .map_err(|e| SupplyChainError::invalid(format!("osv archive refused: {e}")))?;
            let snapshot = db
                .import_to(&dir)
                .map_err(|e| SupplyChainError::Internal(e.to_string()))?;
            Ok(VulnDbImport {
                snapshot: snapshot.display().to_string(),
                records: db.stats().records,
                skipped_withdrawn: db.stats().skipped_withdrawn,
            })
        })
        .await
        .map_err(|e| SupplyChainError::Internal(format!("the import task failed: {e}")))??;
        tracing::info!(
            records = imported.records,
            "vulnerability database imported"
        );
        Ok(imported)
    }
}
