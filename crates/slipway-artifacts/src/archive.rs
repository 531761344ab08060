//! Archive export and import: a tar file holding an OCI image layout (`oci-layout`,
//! `index.json`, `blobs/sha256/<hex>`) with only the selected artifact versions, their referrers
//! (and the referrers' referrers), and every blob they reference.
//!
//! Export verifies every blob's digest as it copies it; import accepts only those three kinds of
//! entries, checks every blob against its name, checks the archive is complete, and merges its
//! index under the same immutability rules as a push. Blobs of an import that is refused stay
//! unreferenced until the next garbage collection.

use crate::digest::Digest;
use crate::error::ArtifactError;
use crate::holds::ArtifactRef;
use crate::layout::{MAX_INDEX_BYTES, OCI_LAYOUT, check_layout_version};
use crate::oci::{Descriptor, ImageIndex, MEDIA_TYPE_INDEX, annotations as keys};
use crate::request::{check_service, check_version};
use crate::store::{ArtifactStore, find_entry, referrer_subject};
use serde::Serialize;
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportReport {
    pub artifacts: Vec<ArtifactRef>,
    pub referrers: usize,
    pub blobs: usize,
    pub bytes: u64,
}

/// What an import changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// Versions new to this store.
    pub imported: Vec<ArtifactRef>,
    /// Versions that existed here and gained platforms from the archive.
    pub merged: Vec<ArtifactRef>,
    /// Versions already here with the same content.
    pub already_present: Vec<ArtifactRef>,
    pub referrers_added: usize,
    pub blobs_added: usize,
}

fn archive_error(path: &Path, reason: impl Into<String>) -> ArtifactError {
    ArtifactError::Archive {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn header(size: u64, directory: bool) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_size(size);
    h.set_mtime(0);
    if directory {
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
    } else {
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
    }
    h
}

impl ArtifactStore {
    /// Writes a tar archive of an OCI layout holding `selection`, their referrers and their
    /// blobs to `out` (replaced atomically when complete).
    pub fn export_archive(
        &self,
        selection: &[ArtifactRef],
        out: &Path,
    ) -> Result<ExportReport, ArtifactError> {
        let _blobs = self.layout.lock_blobs_shared()?;
        let top = self.layout.read_index()?;
        let mut chosen = ImageIndex::empty();
        let mut report = ExportReport::default();
        for reference in selection {
            if report.artifacts.contains(reference) {
                continue;
            }
            chosen.manifests.push(find_entry(&top, reference)?.clone());
            report.artifacts.push(reference.clone());
        }
        let mut candidate = chosen.clone();
        candidate.manifests.extend(
            top.manifests
                .iter()
                .filter(|e| referrer_subject(e).is_some())
                .cloned(),
        );
        let marked = self.mark(&candidate)?;
        if let Some(problem) = marked.unreadable.first() {
            return Err(ArtifactError::Corrupt(format!(
                "cannot export: manifest {} is unreadable: {}",
                problem.digest, problem.problem
            )));
        }
        if let Some(missing) = marked.missing.first() {
            return Err(ArtifactError::Corrupt(format!(
                "cannot export: blob {missing} is missing from the store"
            )));
        }
        chosen.manifests.extend(
            candidate
                .manifests
                .iter()
                .filter(|e| marked.live_referrers.contains(&e.digest))
                .cloned(),
        );
        report.referrers = marked.live_referrers.len();
        let index_bytes = serde_json::to_vec_pretty(&chosen)
            .map_err(|e| ArtifactError::Corrupt(format!("could not encode index.json: {e}")))?;

        let dir = out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let temp = tempfile::Builder::new()
            .prefix(".export-")
            .tempfile_in(dir)
            .map_err(ArtifactError::io("create temporary file in", dir))?;
        let temp_path = temp.path().to_path_buf();
        let write_error = ArtifactError::io("write archive", &temp_path);
        let mut builder = tar::Builder::new(BufWriter::with_capacity(1 << 20, temp));
        let write =
            |builder: &mut tar::Builder<BufWriter<tempfile::NamedTempFile>>| -> io::Result<u64> {
                let mut bytes = 0;
                builder.append_data(
                    &mut header(OCI_LAYOUT.len() as u64, false),
                    "oci-layout",
                    OCI_LAYOUT.as_bytes(),
                )?;
                builder.append_data(
                    &mut header(index_bytes.len() as u64, false),
                    "index.json",
                    index_bytes.as_slice(),
                )?;
                builder.append_data(&mut header(0, true), "blobs/", io::empty())?;
                builder.append_data(&mut header(0, true), "blobs/sha256/", io::empty())?;
                for digest in &marked.blobs {
                    let path = self.layout.blob_path(digest);
                    let size = std::fs::metadata(&path)?.len();
                    let reader = self
                        .layout
                        .open_blob(digest, Some(size))
                        .map_err(|e| io::Error::other(e.to_string()))?;
                    builder.append_data(
                        &mut header(size, false),
                        format!("blobs/sha256/{}", digest.hex()),
                        reader,
                    )?;
                    bytes += size;
                }
                Ok(bytes)
            };
        report.bytes =
            write(&mut builder).map_err(ArtifactError::io("write archive", &temp_path))?;
        report.blobs = marked.blobs.len();
        let mut buffered = builder
            .into_inner()
            .map_err(ArtifactError::io("write archive", &temp_path))?;
        buffered
            .flush()
            .map_err(ArtifactError::io("write archive", &temp_path))?;
        let temp = buffered
            .into_inner()
            .map_err(|e| write_error(e.into_error()))?;
        temp.as_file()
            .sync_all()
            .map_err(ArtifactError::io("flush", &temp_path))?;
        temp.persist(out)
            .map_err(|e| ArtifactError::io("write archive", out)(e.error))?;
        Ok(report)
    }

    /// Imports an archive written by [`ArtifactStore::export_archive`] (or any OCI layout tar
    /// whose entries Slipway names `service:version`).
    pub fn import_archive(&self, path: &Path) -> Result<ImportReport, ArtifactError> {
        let _blobs = self.layout.lock_blobs_shared()?;
        let file = File::open(path).map_err(ArtifactError::io("open", path))?;
        let mut archive = tar::Archive::new(BufReader::with_capacity(1 << 20, file));
        let mut report = ImportReport::default();
        let mut layout_seen = false;
        let mut imported: Option<ImageIndex> = None;
        let entries = archive
            .entries()
            .map_err(ArtifactError::io("read archive", path))?;
        for entry in entries {
            let mut entry = entry.map_err(ArtifactError::io("read archive", path))?;
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let name = name.trim_start_matches("./");
            let kind = entry.header().entry_type();
            if kind.is_dir()
                && matches!(
                    name,
                    "" | "blobs/" | "blobs" | "blobs/sha256/" | "blobs/sha256"
                )
            {
                continue;
            }
            if !kind.is_file() {
                return Err(archive_error(
                    path,
                    format!("entry {name:?} is not a regular file"),
                ));
            }
            match name {
                "oci-layout" => {
                    let text = read_limited(&mut entry, 4096)
                        .map_err(|e| archive_error(path, format!("oci-layout: {e}")))?;
                    check_layout_version(&String::from_utf8_lossy(&text))
                        .map_err(|why| archive_error(path, format!("oci-layout: {why}")))?;
                    layout_seen = true;
                }
                "index.json" => {
                    let bytes = read_limited(&mut entry, MAX_INDEX_BYTES)
                        .map_err(|e| archive_error(path, format!("index.json: {e}")))?;
                    imported = Some(serde_json::from_slice(&bytes).map_err(|e| {
                        archive_error(path, format!("index.json is not an OCI index: {e}"))
                    })?);
                }
                _ => {
                    let digest: Digest = name
                        .strip_prefix("blobs/sha256/")
                        .and_then(|hex| format!("sha256:{hex}").parse().ok())
                        .ok_or_else(|| {
                            archive_error(
                                path,
                                format!("unexpected entry {name:?}: only oci-layout, index.json and blobs/sha256/<digest> are allowed"),
                            )
                        })?;
                    let new = !self.layout.has_blob(&digest);
                    self.layout
                        .ingest(&mut entry, Some(&digest))
                        .map_err(|e| archive_error(path, format!("{name}: {e}")))?;
                    if new {
                        report.blobs_added += 1;
                    }
                }
            }
        }
        if !layout_seen {
            return Err(archive_error(path, "it has no oci-layout file"));
        }
        let imported = imported.ok_or_else(|| archive_error(path, "it has no index.json"))?;
        let mut versions = Vec::new();
        for entry in &imported.manifests {
            if referrer_subject(entry).is_some() {
                continue;
            }
            versions.push((
                check_version_entry(entry).map_err(|why| archive_error(path, why))?,
                entry,
            ));
        }
        let marked = self.mark(&imported)?;
        if let Some(missing) = marked.missing.first() {
            return Err(archive_error(
                path,
                format!("it is incomplete: blob {missing} is neither in it nor in the store"),
            ));
        }
        if let Some(bad) = marked.unreadable.first() {
            return Err(archive_error(
                path,
                format!("manifest {} is unreadable: {}", bad.digest, bad.problem),
            ));
        }

        let _index = self.layout.lock_index()?;
        let mut top = self.layout.read_index()?;
        for (reference, entry) in versions {
            match find_entry(&top, &reference) {
                Err(ArtifactError::NotFound(_)) => {
                    top.manifests.push(entry.clone());
                    report.imported.push(reference);
                }
                Err(e) => return Err(e),
                Ok(existing) if existing.digest == entry.digest => {
                    report.already_present.push(reference)
                }
                Ok(_) => {
                    let index: ImageIndex = self.layout.read_json_blob(&entry.digest)?;
                    let created = entry
                        .annotations
                        .get(keys::CREATED)
                        .cloned()
                        .unwrap_or_default();
                    let mut changed = false;
                    for variant in index.manifests {
                        let layer = self.layer_of(&variant.digest)?;
                        changed |= self
                            .add_variant(&mut top, &reference, variant, &layer, &created)?
                            .2;
                    }
                    if changed {
                        report.merged.push(reference);
                    } else {
                        report.already_present.push(reference);
                    }
                }
            }
        }
        let mut added_referrers = BTreeSet::new();
        for entry in imported
            .manifests
            .iter()
            .filter(|e| referrer_subject(e).is_some())
        {
            if !top.manifests.iter().any(|e| e.digest == entry.digest) {
                top.manifests.push(entry.clone());
                added_referrers.insert(entry.digest.clone());
            }
        }
        let live = self.mark(&top)?.live_referrers;
        if let Some(orphan) = added_referrers.iter().find(|d| !live.contains(*d)) {
            return Err(archive_error(
                path,
                format!(
                    "referrer {orphan} would have no subject in the store (its artifact's index differs here): nothing imported"
                ),
            ));
        }
        report.referrers_added = added_referrers.len();
        self.layout.write_index(&top)?;
        Ok(report)
    }
}

/// Checks an imported `index.json` entry names a Slipway artifact version.
fn check_version_entry(entry: &Descriptor) -> Result<ArtifactRef, String> {
    let name = entry.annotations.get(keys::REF_NAME).ok_or_else(|| {
        format!(
            "index.json entry {} has no {} annotation",
            entry.digest,
            keys::REF_NAME
        )
    })?;
    let (service, version) = name
        .split_once(':')
        .ok_or_else(|| format!("index.json entry {name:?} is not service:version"))?;
    check_service(service)?;
    check_version(version)?;
    if entry.media_type != MEDIA_TYPE_INDEX {
        return Err(format!(
            "index.json entry {name:?} is a {}, not an image index",
            entry.media_type
        ));
    }
    Ok(ArtifactRef::new(service, version))
}

fn read_limited(from: &mut impl Read, limit: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    from.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {limit} bytes"),
        ));
    }
    Ok(bytes)
}
