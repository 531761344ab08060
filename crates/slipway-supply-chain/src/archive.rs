//! Archives: selected versions with their referrers exported as a tar of an OCI layout, and
//! such an archive imported (the caller then records each imported version's Artifact
//! resource, which it must be allowed to write).

use crate::{Result, SupplyChain, blocking};
use slipway_artifacts::{ArtifactError, ArtifactRef, Digest, ExportReport, ImportReport};
use std::io::Read;

impl SupplyChain {
    /// Writes an archive of `selection` and of every version of `service` to a scratch file
    /// and opens it; the file is already unlinked, so it goes when the returned handle closes.
    pub async fn export(
        &self,
        mut selection: Vec<ArtifactRef>,
        service: Option<String>,
    ) -> Result<(std::fs::File, ExportReport)> {
        let scratch = self.artifacts.scratch.clone();
        let store = self.artifacts.store.clone();
        blocking(move || {
            if let Some(service) = &service {
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
            // Opened before the name is removed: the file lives while the caller reads it.
            let file =
                std::fs::File::open(temp.path()).map_err(ArtifactError::io("open", temp.path()))?;
            drop(temp);
            Ok((file, report))
        })
        .await
    }

    /// Imports an archive read from `content`; returns what changed and the index digest of
    /// every version it holds (imported, merged or already present).
    pub async fn import(
        &self,
        mut content: impl Read + Send + 'static,
    ) -> Result<(ImportReport, Vec<(ArtifactRef, Digest)>)> {
        let scratch = self.artifacts.scratch.clone();
        let store = self.artifacts.store.clone();
        blocking(move || {
            let mut temp = tempfile::Builder::new()
                .prefix("import-")
                .suffix(".tar")
                .tempfile_in(&scratch)
                .map_err(ArtifactError::io("create a temporary file in", &scratch))?;
            std::io::copy(&mut content, temp.as_file_mut())
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
        .await
    }
}
