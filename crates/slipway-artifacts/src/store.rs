//! The artifact store: push (immutable, multi-platform), referrers, pull, listing, inspection,
//! legal holds, layout verification, garbage collection and applying a retention plan, over one
//! OCI image-layout directory.
//!
//! Layout (OCI image-layout 1.1): `oci-layout`, `index.json`, `blobs/sha256/<hex>`. Every
//! `service:version` is an image index (one manifest per platform) referenced from `index.json`
//! with `org.opencontainers.image.ref.name` = `service:version`. Referrers (signatures, SBOMs...)
//! are manifests with a `subject`, also listed in `index.json`, each entry annotated with its
//! subject's digest: `index.json` is the referrers index, so finding referrers reads one file.
//! Slipway's own files beside the layout: `holds.json`, `.lock-index`, `.lock-gc`, `.tmp/`.
//!
//! All operations are blocking file I/O; call them from `spawn_blocking` in async code.

use crate::digest::{Digest, VerifiedReader};
use crate::error::ArtifactError;
use crate::holds::{ArtifactRef, Hold, Holds};
use crate::layout::{Layout, MAX_MANIFEST_BYTES, read_json_file};
use crate::oci::{
    AnyManifest, Descriptor, EMPTY_JSON, ImageIndex, ImageManifest, MEDIA_TYPE_INDEX,
    MEDIA_TYPE_MANIFEST, Platform, annotations as keys,
};
use crate::request::{PushRequest, is_media_type};
use crate::retention::{
    Decision, RetentionCandidate, RetentionDecision, RetentionInputs, RetentionPolicy,
    plan_retention,
};
use crate::timestamp;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use time::OffsetDateTime;

/// A reader over a stored blob that checks its digest by the time it reaches the end.
pub type BlobReader = VerifiedReader<BufReader<File>>;

/// An artifact store rooted at one layout directory. Cheap to clone; safe to use from many
/// threads and processes at once (see [`crate::layout`] for the locking).
#[derive(Debug, Clone)]
pub struct ArtifactStore {
    pub(crate) layout: Layout,
}

/// The result of a push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PushOutcome {
    pub reference: ArtifactRef,
    pub platform: Option<Platform>,
    /// The platform manifest (with its `platform`), the artifact's identity for referrers.
    pub manifest: Descriptor,
    /// The file's blob.
    pub layer: Descriptor,
    /// The `service:version` index as referenced from `index.json`.
    pub index: Descriptor,
    /// True when this exact content was already stored for this platform (nothing changed).
    pub already_present: bool,
}

/// One platform variant of an artifact, for listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantSummary {
    pub platform: Option<Platform>,
    pub manifest: Digest,
    pub layer: Digest,
    pub size: u64,
    pub media_type: String,
    pub artifact_type: Option<String>,
    pub file_name: Option<String>,
    pub revision: Option<String>,
    pub pipeline_id: Option<String>,
    pub created: Option<String>,
}

/// One artifact version, for listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactSummary {
    pub service: String,
    pub version: String,
    /// The digest of the version's image index.
    pub digest: Digest,
    pub created: Option<String>,
    pub variants: Vec<VariantSummary>,
    pub hold: Option<Hold>,
}

/// One platform manifest with its referrers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestDetails {
    pub descriptor: Descriptor,
    pub manifest: ImageManifest,
    pub referrers: Vec<Descriptor>,
}

/// Everything about one artifact version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactDetails {
    pub summary: ArtifactSummary,
    /// The entry in `index.json`.
    pub index_descriptor: Descriptor,
    pub index: ImageIndex,
    pub manifests: Vec<ManifestDetails>,
    /// Referrers attached to the index itself.
    pub referrers: Vec<Descriptor>,
}

/// What a pull opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenedArtifact {
    pub reference: ArtifactRef,
    pub platform: Option<Platform>,
    pub manifest: Descriptor,
    pub layer: Descriptor,
    pub file_name: Option<String>,
    pub annotations: BTreeMap<String, String>,
}

/// A blob whose content does not match its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CorruptBlob {
    pub digest: Digest,
    pub problem: String,
}

/// The result of [`ArtifactStore::verify_layout`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LayoutReport {
    pub blobs_checked: u64,
    pub bytes_checked: u64,
    pub corrupt: Vec<CorruptBlob>,
    /// Referenced from `index.json` (directly or through manifests) but absent.
    pub missing: Vec<Digest>,
    /// Manifests or indexes that could not be read as such.
    pub unreadable: Vec<CorruptBlob>,
    /// Files under `blobs/sha256` whose names are not digests.
    pub stray_files: Vec<String>,
    /// Blobs nothing references (garbage collection would remove them).
    pub unreferenced: Vec<Digest>,
}

impl LayoutReport {
    /// True when every blob matches its digest and nothing referenced is missing or unreadable.
    pub fn is_ok(&self) -> bool {
        self.corrupt.is_empty() && self.missing.is_empty() && self.unreadable.is_empty()
    }
}

/// The result of garbage collection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GcReport {
    pub dry_run: bool,
    pub removed_blobs: Vec<Digest>,
    pub removed_bytes: u64,
    /// Referrer entries dropped from `index.json` because their subject is gone.
    pub dropped_referrers: Vec<Digest>,
}

/// The result of applying a retention plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetentionReport {
    pub dry_run: bool,
    pub deleted: Vec<ArtifactRef>,
    /// Planned for deletion but under legal hold now: kept.
    pub kept_under_hold: Vec<ArtifactRef>,
    /// Planned for deletion but no longer in the store.
    pub not_found: Vec<ArtifactRef>,
    pub gc: GcReport,
}

/// The marking pass of garbage collection: what `index.json` keeps alive.
#[derive(Debug, Default)]
pub(crate) struct Marked {
    pub blobs: BTreeSet<Digest>,
    /// Marked blobs that are manifests or indexes.
    pub manifests: BTreeSet<Digest>,
    pub missing: BTreeSet<Digest>,
    pub unreadable: Vec<CorruptBlob>,
    pub live_referrers: BTreeSet<Digest>,
    pub dead_referrers: Vec<Digest>,
}

/// A summary with the index and manifests it was made from.
type SummaryParts = (
    ArtifactSummary,
    ImageIndex,
    Vec<(Descriptor, ImageManifest)>,
);

/// The subject of a referrer entry in `index.json`, or `None` for a root entry.
pub(crate) fn referrer_subject(entry: &Descriptor) -> Option<Digest> {
    entry
        .annotations
        .get(keys::REFERRER_SUBJECT)
        .and_then(|s| s.parse().ok())
}

fn entry_reference(entry: &Descriptor) -> Option<&str> {
    if referrer_subject(entry).is_some() {
        return None;
    }
    entry.annotations.get(keys::REF_NAME).map(String::as_str)
}

fn platform_text(platform: Option<&Platform>) -> String {
    platform.map_or_else(|| "no platform".to_owned(), Platform::to_string)
}

/// The referrer descriptor as callers see it (without Slipway's subject annotation).
fn public_referrer(entry: &Descriptor) -> Descriptor {
    let mut d = entry.clone();
    d.annotations.remove(keys::REFERRER_SUBJECT);
    d
}

impl ArtifactStore {
    /// Opens the layout at `root`, creating it when missing.
    pub fn open(root: impl AsRef<Path>) -> Result<ArtifactStore, ArtifactError> {
        Ok(ArtifactStore {
            layout: Layout::create_or_open(root.as_ref())?,
        })
    }

    /// The layout directory.
    pub fn root(&self) -> &Path {
        self.layout.root()
    }

    /// Pushes a file: stores its content (deduplicated) and records it as the variant of
    /// `service:version` for the request's platform. Pushing the same content again is a no-op
    /// returning the stored manifest; different content for an existing variant is refused.
    /// The naming policy is the caller's to apply first ([`crate::NamingPolicy::validate`]).
    pub fn push(
        &self,
        request: &PushRequest,
        content: &mut impl Read,
    ) -> Result<PushOutcome, ArtifactError> {
        let reference = ArtifactRef::new(&request.service, &request.version);
        let problems = request.syntax_problems();
        if !problems.is_empty() {
            return Err(ArtifactError::InvalidRequest {
                reference: reference.to_string(),
                problems,
            });
        }
        let _blobs = self.layout.lock_blobs_shared()?;
        let (layer_digest, layer_size) = self.layout.ingest(content, None)?;
        self.layout.write_blob(EMPTY_JSON)?;
        let created = timestamp::format(request.created.unwrap_or_else(OffsetDateTime::now_utc));

        let mut layer = Descriptor::new(request.layer_media_type(), layer_digest, layer_size);
        layer
            .annotations
            .insert(keys::TITLE.to_owned(), request.file_name.clone());
        let mut annotations = request.annotations.clone();
        let mut set = |k: &str, v: &str| annotations.insert(k.to_owned(), v.to_owned());
        set(keys::SERVICE, &request.service);
        set(keys::VERSION, &request.version);
        set(keys::CREATED, &created);
        if let Some(sha) = &request.git_sha {
            set(keys::REVISION, sha);
        }
        if let Some(id) = &request.pipeline_id {
            set(keys::PIPELINE_ID, id);
        }
        if let Some(p) = &request.platform {
            set(keys::PLATFORM, &p.to_string());
        }
        let manifest = ImageManifest {
            schema_version: 2,
            media_type: MEDIA_TYPE_MANIFEST.to_owned(),
            artifact_type: Some(request.artifact_type().to_owned()),
            config: Descriptor::empty_config(),
            layers: vec![layer.clone()],
            subject: None,
            annotations,
        };
        let (digest, size) = self.layout.write_json_blob(&manifest)?;
        let mut descriptor = Descriptor::new(MEDIA_TYPE_MANIFEST, digest, size);
        descriptor.artifact_type = manifest.artifact_type.clone();
        descriptor.platform = request.platform.clone();

        let _index = self.layout.lock_index()?;
        let mut top = self.layout.read_index()?;
        let (manifest, index, added) =
            self.add_variant(&mut top, &reference, descriptor, &layer.digest, &created)?;
        if added {
            self.layout.write_index(&top)?;
        }
        let layer = if added {
            layer
        } else {
            self.read_manifest(&manifest.digest)?
                .layers
                .into_iter()
                .next()
                .unwrap_or(layer)
        };
        Ok(PushOutcome {
            reference,
            platform: request.platform.clone(),
            manifest,
            layer,
            index,
            already_present: !added,
        })
    }

    /// Pushes the file at `path`.
    pub fn push_file(
        &self,
        request: &PushRequest,
        path: &Path,
    ) -> Result<PushOutcome, ArtifactError> {
        let mut file = File::open(path).map_err(ArtifactError::io("open", path))?;
        self.push(request, &mut file)
    }

    /// Adds a platform manifest (already stored as a blob) to `reference`'s index in `top`.
    /// Returns the variant's descriptor as stored, the new `index.json` entry, and whether
    /// anything changed.
    pub(crate) fn add_variant(
        &self,
        top: &mut ImageIndex,
        reference: &ArtifactRef,
        variant: Descriptor,
        layer: &Digest,
        created: &str,
    ) -> Result<(Descriptor, Descriptor, bool), ArtifactError> {
        let name = reference.to_string();
        let position = top
            .manifests
            .iter()
            .position(|e| entry_reference(e) == Some(name.as_str()));
        let Some(position) = position else {
            let mut annotations = BTreeMap::new();
            annotations.insert(keys::SERVICE.to_owned(), reference.service.clone());
            annotations.insert(keys::VERSION.to_owned(), reference.version.clone());
            annotations.insert(keys::CREATED.to_owned(), created.to_owned());
            let index = ImageIndex {
                manifests: vec![variant.clone()],
                annotations: annotations.clone(),
                ..ImageIndex::empty()
            };
            let (digest, size) = self.layout.write_json_blob(&index)?;
            let mut entry = Descriptor::new(MEDIA_TYPE_INDEX, digest, size);
            annotations.insert(keys::REF_NAME.to_owned(), name);
            entry.annotations = annotations;
            top.manifests.push(entry.clone());
            return Ok((variant, entry, true));
        };
        let entry = top.manifests[position].clone();
        let mut index: ImageIndex = self.layout.read_json_blob(&entry.digest)?;
        if let Some(existing) = index
            .manifests
            .iter()
            .find(|m| m.platform == variant.platform)
        {
            let existing_layer = self.layer_of(&existing.digest)?;
            if &existing_layer == layer {
                return Ok((existing.clone(), entry, false));
            }
            return Err(ArtifactError::Conflict {
                service: reference.service.clone(),
                version: reference.version.clone(),
                platform: platform_text(variant.platform.as_ref()),
                existing: existing_layer,
                new: layer.clone(),
            });
        }
        if let Some(other) = index
            .manifests
            .iter()
            .find(|m| m.platform.is_none() != variant.platform.is_none())
        {
            let describe = |p: Option<&Platform>| {
                p.map_or_else(|| "without a platform".to_owned(), |p| format!("for {p}"))
            };
            return Err(ArtifactError::PlatformMix {
                reference: name,
                existing: describe(other.platform.as_ref()),
                new: describe(variant.platform.as_ref()),
            });
        }
        let sealed_by = top
            .manifests
            .iter()
            .filter(|e| referrer_subject(e).as_ref() == Some(&entry.digest))
            .count();
        if sealed_by > 0 {
            return Err(ArtifactError::Sealed {
                reference: name,
                platform: platform_text(variant.platform.as_ref()),
                index: entry.digest,
                referrers: sealed_by,
            });
        }
        index.manifests.push(variant.clone());
        index.manifests.sort_by(|a, b| a.platform.cmp(&b.platform));
        let (digest, size) = self.layout.write_json_blob(&index)?;
        let new_entry = Descriptor {
            digest,
            size,
            ..entry
        };
        top.manifests[position] = new_entry.clone();
        Ok((variant, new_entry, true))
    }

    fn read_manifest(&self, digest: &Digest) -> Result<ImageManifest, ArtifactError> {
        self.layout.read_json_blob(digest)
    }

    pub(crate) fn layer_of(&self, manifest: &Digest) -> Result<Digest, ArtifactError> {
        self.read_manifest(manifest)?
            .layers
            .into_iter()
            .next()
            .map(|l| l.digest)
            .ok_or_else(|| ArtifactError::Corrupt(format!("manifest {manifest} has no layer")))
    }

    /// Attaches a referrer (signature, SBOM, scan result, attestation) to a stored manifest or
    /// index: stores `content` as the single layer of a manifest whose `subject` is `subject` and
    /// whose `artifactType` is `artifact_type`. Attaching the same document again returns the
    /// same descriptor.
    pub fn attach(
        &self,
        subject: &Digest,
        artifact_type: &str,
        content: &[u8],
        annotations: BTreeMap<String, String>,
    ) -> Result<Descriptor, ArtifactError> {
        if !is_media_type(artifact_type) {
            return Err(ArtifactError::InvalidRequest {
                reference: format!("referrer of {subject}"),
                problems: vec![format!(
                    "artifact type {artifact_type:?} is not a media type (type/subtype)"
                )],
            });
        }
        let _blobs = self.layout.lock_blobs_shared()?;
        let (digest, size) = self.layout.write_blob(content)?;
        self.layout.write_blob(EMPTY_JSON)?;

        let _index = self.layout.lock_index()?;
        let mut top = self.layout.read_index()?;
        let marked = self.mark(&top)?;
        if !marked.manifests.contains(subject) {
            return Err(ArtifactError::NotFound(format!(
                "manifest {subject} (the subject) in the artifact store"
            )));
        }
        let subject_bytes = self.layout.read_blob_bytes(subject, MAX_MANIFEST_BYTES)?;
        let subject_type = match AnyManifest::parse(&subject_bytes) {
            Some(AnyManifest::Index(_)) => MEDIA_TYPE_INDEX,
            _ => MEDIA_TYPE_MANIFEST,
        };
        let mut annotations = annotations;
        annotations
            .entry(keys::CREATED.to_owned())
            .or_insert_with(|| timestamp::format(OffsetDateTime::now_utc()));
        let manifest = ImageManifest {
            schema_version: 2,
            media_type: MEDIA_TYPE_MANIFEST.to_owned(),
            artifact_type: Some(artifact_type.to_owned()),
            config: Descriptor::empty_config(),
            layers: vec![Descriptor::new(artifact_type, digest, size)],
            subject: Some(Descriptor::new(
                subject_type,
                subject.clone(),
                subject_bytes.len() as u64,
            )),
            annotations,
        };
        let (digest, size) = self.layout.write_json_blob(&manifest)?;
        let descriptor = Descriptor {
            artifact_type: manifest.artifact_type,
            annotations: manifest.annotations,
            ..Descriptor::new(MEDIA_TYPE_MANIFEST, digest, size)
        };
        if !top.manifests.iter().any(|e| e.digest == descriptor.digest) {
            let mut entry = descriptor.clone();
            entry
                .annotations
                .insert(keys::REFERRER_SUBJECT.to_owned(), subject.to_string());
            top.manifests.push(entry);
            self.layout.write_index(&top)?;
        }
        Ok(descriptor)
    }

    /// The referrers of `subject`, optionally only those of one artifact type, oldest first.
    pub fn referrers(
        &self,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>, ArtifactError> {
        let top = self.layout.read_index()?;
        Ok(referrers_in(&top, subject, artifact_type))
    }

    /// A referrer's manifest and its content (the first layer, verified).
    pub fn read_referrer(
        &self,
        referrer: &Digest,
    ) -> Result<(ImageManifest, Vec<u8>), ArtifactError> {
        let manifest = self.read_manifest(referrer)?;
        let layer = manifest
            .layers
            .first()
            .ok_or_else(|| ArtifactError::Corrupt(format!("referrer {referrer} has no layer")))?;
        let mut content = Vec::new();
        self.layout
            .open_blob(&layer.digest, Some(layer.size))?
            .read_to_end(&mut content)
            .map_err(|e| ArtifactError::Corrupt(e.to_string()))?;
        Ok((manifest, content))
    }

    /// Opens an artifact's file for reading. With a platform, the variant for it (or the
    /// platform-independent one); without, the only variant. The reader fails at its end if the
    /// content does not match its digest.
    pub fn open_artifact(
        &self,
        service: &str,
        version: &str,
        platform: Option<&Platform>,
    ) -> Result<(BlobReader, OpenedArtifact), ArtifactError> {
        let reference = ArtifactRef::new(service, version);
        let top = self.layout.read_index()?;
        let entry = find_entry(&top, &reference)?;
        let index: ImageIndex = self.layout.read_json_blob(&entry.digest)?;
        let available = || {
            index
                .manifests
                .iter()
                .map(|m| platform_text(m.platform.as_ref()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let chosen = match platform {
            Some(p) => index
                .manifests
                .iter()
                .find(|m| m.platform.as_ref() == Some(p))
                .or_else(|| index.manifests.iter().find(|m| m.platform.is_none()))
                .ok_or_else(|| {
                    ArtifactError::NotFound(format!(
                        "platform {p} of artifact {reference} (it has: {})",
                        available()
                    ))
                })?,
            None => match index.manifests.as_slice() {
                [only] => only,
                _ => index
                    .manifests
                    .iter()
                    .find(|m| m.platform.is_none())
                    .ok_or_else(|| ArtifactError::PlatformRequired {
                        reference: reference.to_string(),
                        available: available(),
                    })?,
            },
        };
        let manifest = self.read_manifest(&chosen.digest)?;
        let layer = manifest.layers.first().cloned().ok_or_else(|| {
            ArtifactError::Corrupt(format!("manifest {} has no layer", chosen.digest))
        })?;
        let reader = self.layout.open_blob(&layer.digest, Some(layer.size))?;
        Ok((
            reader,
            OpenedArtifact {
                reference,
                platform: chosen.platform.clone(),
                manifest: chosen.clone(),
                file_name: layer.annotations.get(keys::TITLE).cloned(),
                layer,
                annotations: manifest.annotations,
            },
        ))
    }

    /// Opens any blob for reading, verified against its digest as it is read.
    pub fn read_blob(&self, digest: &Digest) -> Result<BlobReader, ArtifactError> {
        self.layout.open_blob(digest, None)
    }

    /// Every artifact version, optionally of one service, ordered by service then version.
    pub fn ls(&self, service: Option<&str>) -> Result<Vec<ArtifactSummary>, ArtifactError> {
        let top = self.layout.read_index()?;
        let holds = self.holds()?;
        let mut out = Vec::new();
        for entry in &top.manifests {
            let Some((s, v)) = entry_reference(entry).and_then(|r| r.split_once(':')) else {
                continue;
            };
            if service.is_some_and(|want| want != s) {
                continue;
            }
            out.push(self.summary(entry, ArtifactRef::new(s, v), &holds)?.0);
        }
        out.sort_by(|a, b| (&a.service, &a.version).cmp(&(&b.service, &b.version)));
        Ok(out)
    }

    fn summary(
        &self,
        entry: &Descriptor,
        reference: ArtifactRef,
        holds: &Holds,
    ) -> Result<SummaryParts, ArtifactError> {
        let index: ImageIndex = self.layout.read_json_blob(&entry.digest)?;
        let mut variants = Vec::new();
        let mut manifests = Vec::new();
        for m in &index.manifests {
            let manifest = self.read_manifest(&m.digest)?;
            let layer = manifest.layers.first().ok_or_else(|| {
                ArtifactError::Corrupt(format!("manifest {} has no layer", m.digest))
            })?;
            let note = |k: &str| manifest.annotations.get(k).cloned();
            variants.push(VariantSummary {
                platform: m.platform.clone(),
                manifest: m.digest.clone(),
                layer: layer.digest.clone(),
                size: layer.size,
                media_type: layer.media_type.clone(),
                artifact_type: manifest.artifact_type.clone(),
                file_name: layer.annotations.get(keys::TITLE).cloned(),
                revision: note(keys::REVISION),
                pipeline_id: note(keys::PIPELINE_ID),
                created: note(keys::CREATED),
            });
            manifests.push((m.clone(), manifest));
        }
        let summary = ArtifactSummary {
            hold: holds.get(&reference).cloned(),
            service: reference.service,
            version: reference.version,
            digest: entry.digest.clone(),
            created: entry.annotations.get(keys::CREATED).cloned(),
            variants,
        };
        Ok((summary, index, manifests))
    }

    /// Everything about one artifact version: its index, manifests, layers, annotations,
    /// referrers and hold.
    pub fn inspect(&self, service: &str, version: &str) -> Result<ArtifactDetails, ArtifactError> {
        let reference = ArtifactRef::new(service, version);
        let top = self.layout.read_index()?;
        let entry = find_entry(&top, &reference)?.clone();
        let (summary, index, manifests) = self.summary(&entry, reference, &self.holds()?)?;
        Ok(ArtifactDetails {
            summary,
            referrers: referrers_in(&top, &entry.digest, None),
            index_descriptor: entry,
            index,
            manifests: manifests
                .into_iter()
                .map(|(descriptor, manifest)| ManifestDetails {
                    referrers: referrers_in(&top, &descriptor.digest, None),
                    descriptor,
                    manifest,
                })
                .collect(),
        })
    }

    /// The legal holds in force.
    pub fn holds(&self) -> Result<Holds, ArtifactError> {
        Ok(read_json_file(&self.layout.holds_path())?.unwrap_or_default())
    }

    /// Places a legal hold on a stored artifact version; the caller records it in the audit log.
    pub fn hold(
        &self,
        service: &str,
        version: &str,
        reason: &str,
        actor: &str,
    ) -> Result<Hold, ArtifactError> {
        let reference = ArtifactRef::new(service, version);
        let _index = self.layout.lock_index()?;
        find_entry(&self.layout.read_index()?, &reference)?;
        let hold = Hold {
            service: service.to_owned(),
            version: version.to_owned(),
            reason: reason.to_owned(),
            actor: actor.to_owned(),
            since: OffsetDateTime::now_utc(),
        };
        let mut holds = self.holds()?;
        holds.place(hold.clone())?;
        self.write_holds(&holds)?;
        Ok(hold)
    }

    /// Releases the legal hold on an artifact version and returns it.
    pub fn release_hold(&self, service: &str, version: &str) -> Result<Hold, ArtifactError> {
        let _index = self.layout.lock_index()?;
        let mut holds = self.holds()?;
        let released = holds.release(&ArtifactRef::new(service, version))?;
        self.write_holds(&holds)?;
        Ok(released)
    }

    fn write_holds(&self, holds: &Holds) -> Result<(), ArtifactError> {
        let bytes = serde_json::to_vec_pretty(holds)
            .map_err(|e| ArtifactError::Corrupt(format!("could not encode holds.json: {e}")))?;
        self.layout
            .write_atomically(&self.layout.holds_path(), &bytes)
    }

    /// Every artifact version with its build time, for retention. Versions without a readable
    /// `created` annotation are left out (and so never deleted by retention).
    pub fn retention_candidates(&self) -> Result<Vec<RetentionCandidate>, ArtifactError> {
        let top = self.layout.read_index()?;
        Ok(top
            .manifests
            .iter()
            .filter_map(|entry| {
                let (s, v) = entry_reference(entry)?.split_once(':')?;
                let created = timestamp::parse(entry.annotations.get(keys::CREATED)?)?;
                Some(RetentionCandidate {
                    reference: ArtifactRef::new(s, v),
                    created,
                })
            })
            .collect())
    }

    /// Plans retention over this store's artifacts and holds (see [`plan_retention`]).
    pub fn plan_retention(
        &self,
        policy: &RetentionPolicy,
        now: OffsetDateTime,
        deployed_now: &BTreeSet<ArtifactRef>,
        deployed_in_rollback_window: &BTreeSet<ArtifactRef>,
    ) -> Result<Vec<RetentionDecision>, ArtifactError> {
        let artifacts = self.retention_candidates()?;
        let holds = self.holds()?;
        Ok(plan_retention(
            policy,
            &RetentionInputs {
                now,
                artifacts: &artifacts,
                deployed_now,
                deployed_in_rollback_window,
                holds: &holds.holds,
            },
        ))
    }

    /// Applies a retention plan: removes the `index.json` entries of the versions it deletes
    /// (skipping any under legal hold now), then collects garbage. With `dry_run`, reports what
    /// would be removed and changes nothing.
    pub fn apply_retention(
        &self,
        plan: &[RetentionDecision],
        dry_run: bool,
    ) -> Result<RetentionReport, ArtifactError> {
        let _blobs = self.layout.lock_blobs_exclusive()?;
        let _index = self.layout.lock_index()?;
        let mut top = self.layout.read_index()?;
        let holds = self.holds()?;
        let mut report = RetentionReport {
            dry_run,
            ..RetentionReport::default()
        };
        for decision in plan.iter().filter(|d| d.decision == Decision::Delete) {
            let reference = decision.reference();
            if holds.get(&reference).is_some() {
                report.kept_under_hold.push(reference);
                continue;
            }
            let name = reference.to_string();
            let before = top.manifests.len();
            top.manifests
                .retain(|e| entry_reference(e) != Some(name.as_str()));
            if top.manifests.len() == before {
                report.not_found.push(reference);
            } else {
                report.deleted.push(reference);
            }
        }
        report.gc = self.collect_locked(top, dry_run)?;
        Ok(report)
    }

    /// Garbage collection: drops referrers whose subject is gone from `index.json`, then removes
    /// every blob not reachable from it (mark and sweep) and leftovers of interrupted pushes.
    pub fn collect_garbage(&self, dry_run: bool) -> Result<GcReport, ArtifactError> {
        let _blobs = self.layout.lock_blobs_exclusive()?;
        let _index = self.layout.lock_index()?;
        let top = self.layout.read_index()?;
        self.collect_locked(top, dry_run)
    }

    fn collect_locked(
        &self,
        mut top: ImageIndex,
        dry_run: bool,
    ) -> Result<GcReport, ArtifactError> {
        let marked = self.mark(&top)?;
        if let Some(first) = marked.unreadable.first() {
            return Err(ArtifactError::Corrupt(format!(
                "garbage collection stopped: {} manifest(s) cannot be read (first: {}: {}), so what they reference is unknown; run the layout verification",
                marked.unreadable.len(),
                first.digest,
                first.problem
            )));
        }
        let dead: BTreeSet<&Digest> = marked.dead_referrers.iter().collect();
        top.manifests.retain(|e| !dead.contains(&e.digest));
        let mut report = GcReport {
            dry_run,
            dropped_referrers: marked.dead_referrers.clone(),
            ..GcReport::default()
        };
        for name in self.layout.blob_names()? {
            let Ok(digest) = format!("sha256:{name}").parse::<Digest>() else {
                continue;
            };
            if marked.blobs.contains(&digest) {
                continue;
            }
            let path = self.layout.blob_path(&digest);
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            report.removed_bytes += size;
            report.removed_blobs.push(digest);
        }
        if !dry_run {
            self.layout.write_index(&top)?;
            for digest in &report.removed_blobs {
                let path = self.layout.blob_path(digest);
                std::fs::remove_file(&path).map_err(ArtifactError::io("remove blob", &path))?;
            }
            self.layout.clear_tmp()?;
        }
        Ok(report)
    }

    /// Marks what `top` keeps alive: its root entries and everything they reference, then the
    /// referrers of marked manifests (and theirs), until nothing changes. A referrer's `subject`
    /// link does not keep its subject alive.
    pub(crate) fn mark(&self, top: &ImageIndex) -> Result<Marked, ArtifactError> {
        let mut marked = Marked::default();
        for root in top
            .manifests
            .iter()
            .filter(|e| referrer_subject(e).is_none())
        {
            self.walk(root, &mut marked)?;
        }
        let referrers: Vec<(&Descriptor, Digest)> = top
            .manifests
            .iter()
            .filter_map(|e| referrer_subject(e).map(|s| (e, s)))
            .collect();
        loop {
            let mut progress = false;
            for (entry, subject) in &referrers {
                if !marked.live_referrers.contains(&entry.digest)
                    && marked.manifests.contains(subject)
                {
                    marked.live_referrers.insert(entry.digest.clone());
                    self.walk(entry, &mut marked)?;
                    progress = true;
                }
            }
            if !progress {
                break;
            }
        }
        marked.dead_referrers = referrers
            .iter()
            .filter(|(e, _)| !marked.live_referrers.contains(&e.digest))
            .map(|(e, _)| e.digest.clone())
            .collect();
        Ok(marked)
    }

    fn walk(&self, from: &Descriptor, marked: &mut Marked) -> Result<(), ArtifactError> {
        let mut stack = vec![from.clone()];
        while let Some(d) = stack.pop() {
            if !marked.blobs.insert(d.digest.clone()) {
                continue;
            }
            let is_document =
                d.media_type == MEDIA_TYPE_MANIFEST || d.media_type == MEDIA_TYPE_INDEX;
            if !is_document {
                if !self.layout.has_blob(&d.digest) {
                    marked.missing.insert(d.digest);
                }
                continue;
            }
            match self.layout.read_blob_bytes(&d.digest, MAX_MANIFEST_BYTES) {
                Ok(bytes) => match AnyManifest::parse(&bytes) {
                    Some(doc) => {
                        marked.manifests.insert(d.digest.clone());
                        stack.extend(doc.children().into_iter().cloned());
                    }
                    None => marked.unreadable.push(CorruptBlob {
                        digest: d.digest,
                        problem: "not an OCI manifest or index".to_owned(),
                    }),
                },
                Err(ArtifactError::NotFound(_)) => {
                    marked.missing.insert(d.digest.clone());
                    marked.unreadable.push(CorruptBlob {
                        digest: d.digest,
                        problem: "missing".to_owned(),
                    });
                }
                Err(ArtifactError::Corrupt(problem)) => marked.unreadable.push(CorruptBlob {
                    digest: d.digest,
                    problem,
                }),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Checks the whole layout: every blob's content against its name, and that everything
    /// `index.json` references is present and readable.
    pub fn verify_layout(&self) -> Result<LayoutReport, ArtifactError> {
        let top = self.layout.read_index()?;
        let marked = self.mark(&top)?;
        let mut report = LayoutReport {
            missing: marked.missing.iter().cloned().collect(),
            unreadable: marked
                .unreadable
                .iter()
                .filter(|u| !marked.missing.contains(&u.digest))
                .cloned()
                .collect(),
            ..LayoutReport::default()
        };
        for name in self.layout.blob_names()? {
            let Ok(digest) = format!("sha256:{name}").parse::<Digest>() else {
                report.stray_files.push(name);
                continue;
            };
            let mut reader = self.layout.open_blob(&digest, None)?;
            match std::io::copy(&mut reader, &mut std::io::sink()) {
                Ok(n) => report.bytes_checked += n,
                Err(e) => report.corrupt.push(CorruptBlob {
                    digest: digest.clone(),
                    problem: e.to_string(),
                }),
            }
            report.blobs_checked += 1;
            if !marked.blobs.contains(&digest) {
                report.unreferenced.push(digest);
            }
        }
        Ok(report)
    }
}

/// The `index.json` entry of `reference`.
pub(crate) fn find_entry<'a>(
    top: &'a ImageIndex,
    reference: &ArtifactRef,
) -> Result<&'a Descriptor, ArtifactError> {
    let name = reference.to_string();
    top.manifests
        .iter()
        .find(|e| entry_reference(e) == Some(name.as_str()))
        .ok_or_else(|| ArtifactError::NotFound(format!("artifact {name}")))
}

fn referrers_in(
    top: &ImageIndex,
    subject: &Digest,
    artifact_type: Option<&str>,
) -> Vec<Descriptor> {
    top.manifests
        .iter()
        .filter(|e| referrer_subject(e).as_ref() == Some(subject))
        .filter(|e| artifact_type.is_none() || e.artifact_type.as_deref() == artifact_type)
        .map(public_referrer)
        .collect()
}
