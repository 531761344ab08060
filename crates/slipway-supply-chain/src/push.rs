//! Pushes and attachments: a pushed file is stored, signed by the server (once per key), given
//! signed SLSA provenance when it comes from a pipeline (once per pipeline run), recorded as
//! its Artifact resource, and the resource's `status.supplyChain` recomputed; an attached
//! document is validated against the file it describes before it is kept, and recomputes the
//! status too.

use crate::artifact_resource::{ArtifactTarget, artifact_resource_name};
use crate::attestations::{
    KEY_ID_ANNOTATION, PIPELINE_ANNOTATION, PushParameters, push_provenance, sha256_of,
    sign_file_digest,
};
use crate::documents::{AttachedDocument, BundleSigner, assess, validate_referrer};
use crate::{Result, SupplyChain, SupplyChainError, blocking};
use bytes::Bytes;
use slipway_artifacts::oci::artifact_types;
use slipway_artifacts::{Descriptor, Digest, Platform, PushOutcome, PushRequest};
use slipway_domain::kinds::Artifact;
use slipway_resources::ApplyResult;
use slipway_store::{Actor, TypedStore};
use std::collections::BTreeMap;
use std::io::Read;

/// What a push stored, signed and recorded.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub outcome: PushOutcome,
    /// The server's signature referrer.
    pub signature: Option<Descriptor>,
    /// What happened to the Artifact resource.
    pub resource: ApplyResult,
}

/// A document to attach to a version's file.
#[derive(Debug, Clone)]
pub struct Attachment<'a> {
    pub service: &'a str,
    pub version: &'a str,
    /// The platform variant it is about; may be left out when the version has one.
    pub platform: Option<Platform>,
    /// A media type (see [`crate::documents::referrer_type`] for the short names).
    pub artifact_type: String,
    pub content: Bytes,
    /// Who must have signed a Sigstore bundle.
    pub signer: &'a BundleSigner,
    /// Who attaches it (recorded in its description).
    pub attached_by: &'a str,
}

/// A document attached to a version's platform manifest.
#[derive(Debug, Clone)]
pub struct Attached {
    /// The manifest it describes.
    pub subject: Descriptor,
    pub descriptor: Descriptor,
}

impl SupplyChain {
    /// Refuses a push the naming policy does not allow, naming every violation.
    pub fn check_naming(&self, request: &PushRequest) -> Result<()> {
        self.artifacts
            .naming
            .validate(request)
            .map_err(|violations| {
                // The message lists every violation; details would repeat them.
                SupplyChainError::invalid(format!("naming policy: {violations}"))
            })
    }

    /// Stores `content` as the target's version, signs it, records provenance when
    /// `provenance` names the pipeline run, and records the Artifact resource as `actor`.
    pub async fn push(
        &self,
        actor: &Actor,
        target: &ArtifactTarget,
        request: PushRequest,
        mut content: impl Read + Send + 'static,
        provenance: Option<PushParameters<'_>>,
    ) -> Result<Pushed> {
        let store = self.artifacts.store.clone();
        let outcome = blocking(move || store.push(&request, &mut content)).await?;
        let signature = self
            .sign_once(&outcome.manifest.digest, &outcome.layer.digest)
            .await?;
        if let Some(parameters) = &provenance {
            self.record_provenance(&outcome, parameters).await?;
        }
        let resource = self
            .record_artifact(
                actor,
                &target.service,
                &target.version,
                &outcome.index.digest,
                |_| {},
            )
            .await?;
        self.refresh(&target.service, &target.version).await?;
        tracing::info!(artifact = %outcome.reference, digest = %outcome.index.digest, already_present = outcome.already_present, "artifact pushed");
        Ok(Pushed {
            outcome,
            signature,
            resource,
        })
    }

    /// Attaches the server's signature over the file `layer` to `manifest` unless one of this
    /// key is there already (a signature is stamped with its time, so signing again would add
    /// another).
    async fn sign_once(&self, manifest: &Digest, layer: &Digest) -> Result<Option<Descriptor>> {
        let signature = sign_file_digest(&self.signing_key, layer)?;
        let bytes = signature
            .to_json_pretty()
            .map_err(|e| SupplyChainError::Internal(format!("could not encode a signature: {e}")))?
            .into_bytes();
        self.attach_once(
            manifest,
            artifact_types::SLIPWAY_SIGNATURE,
            bytes,
            KEY_ID_ANNOTATION,
            signature.key_id,
        )
        .await
    }

    /// Records signed SLSA provenance for a push from a pipeline (once per pipeline id).
    async fn record_provenance(
        &self,
        pushed: &PushOutcome,
        parameters: &PushParameters<'_>,
    ) -> Result<Option<Descriptor>> {
        let file_name = pushed
            .layer
            .annotations
            .get("org.opencontainers.image.title")
            .cloned()
            .unwrap_or_else(|| "artifact".into());
        let envelope = push_provenance(
            &self.signing_key,
            &file_name,
            &sha256_of(&pushed.layer.digest)?,
            parameters,
        )
        .map_err(|e| SupplyChainError::Internal(format!("could not build provenance: {e}")))?;
        let bytes = serde_json::to_vec(&envelope)
            .map_err(|e| SupplyChainError::Internal(format!("could not encode provenance: {e}")))?;
        self.attach_once(
            &pushed.manifest.digest,
            artifact_types::IN_TOTO,
            bytes,
            PIPELINE_ANNOTATION,
            parameters.pipeline_id.to_owned(),
        )
        .await
    }

    /// Attaches `bytes` to `subject` unless a referrer of that type with `annotation` =
    /// `value` is there already (then returns that one).
    pub(crate) async fn attach_once(
        &self,
        subject: &Digest,
        artifact_type: &'static str,
        bytes: Vec<u8>,
        annotation: &'static str,
        value: String,
    ) -> Result<Option<Descriptor>> {
        let store = self.artifacts.store.clone();
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

    /// Validates a document against the file it describes, attaches it to that file's
    /// manifest noting who attached it, and recomputes the Artifact resource's supply-chain
    /// status.
    pub async fn attach(&self, attachment: Attachment<'_>) -> Result<Attached> {
        let Attachment {
            service,
            version,
            platform,
            artifact_type,
            content,
            signer,
            attached_by,
        } = attachment;
        let (_, opened) = self
            .open(service.to_owned(), version.to_owned(), platform)
            .await?;
        let mut annotations = validate_referrer(
            &artifact_type,
            &content,
            &sha256_of(&opened.layer.digest)?,
            signer,
        )?;
        annotations.insert(
            "org.opencontainers.image.description".to_owned(),
            format!("attached by {attached_by}"),
        );
        let store = self.artifacts.store.clone();
        let subject = opened.manifest;
        let manifest_digest = subject.digest.clone();
        let descriptor =
            blocking(move || store.attach(&manifest_digest, &artifact_type, &content, annotations))
                .await?;
        if self
            .store
            .kind::<Artifact>()
            .exists(&artifact_resource_name(service, version))
            .await?
        {
            self.refresh(service, version).await?;
        }
        Ok(Attached {
            subject,
            descriptor,
        })
    }

    /// Recomputes the Artifact resource's `status.supplyChain` from every document attached to
    /// the version (see [`assess`]) and stores it.
    pub async fn refresh(&self, service: &str, version: &str) -> Result<serde_json::Value> {
        let store = self.artifacts.store.clone();
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
        let documents: Vec<AttachedDocument> = documents
            .into_iter()
            .map(|(layer, descriptor, content)| AttachedDocument {
                layer: layer.and_then(|l| sha256_of(&l).ok()),
                artifact_type: descriptor.artifact_type.unwrap_or_default(),
                annotations: descriptor.annotations,
                content,
            })
            .collect();
        let dir = self.artifacts.vulndb_dir.clone();
        let vulndb = tokio::task::spawn_blocking(move || crate::vulndb::load_vulndb(&dir))
            .await
            .map_err(|e| {
                SupplyChainError::Internal(format!("the vulnerability database task failed: {e}"))
            })?;
        let checked_at = jiff::Timestamp::now().to_string();
        let supply_chain = assess(
            &documents,
            &self.signing_key.verifying_key(),
            vulndb.as_ref(),
            &checked_at,
        );
        let name = artifact_resource_name(service, version);
        let artifacts = self.store.kind::<Artifact>();
        let mut status = artifacts
            .resource(&name)
            .await?
            .and_then(|r| r.status)
            .filter(serde_json::Value::is_object)
            .unwrap_or_else(|| serde_json::json!({}));
        status["supplyChain"] = supply_chain.clone();
        artifacts.set_status(&name, &status).await?;
        Ok(supply_chain)
    }
}
