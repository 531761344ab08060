//! The audited `Artifact` resource of a stored version: its name (`payments` `1.2.0` →
//! `payments-1-2-0`), its `location` (`oci:<service>:<version>`, which the engine resolves
//! through the artifact store) and `digest` (the version's OCI image index digest, which names
//! every platform manifest and, through them, every file). Every write of it goes through the
//! same validation and audited apply as a client's (`slipway-resources`), keeping the labels,
//! annotations, args and env a person gave it.

use crate::{Result, SupplyChain, SupplyChainError};
use slipway_artifacts::Digest;
use slipway_domain::diagnostic::Diagnostic;
use slipway_domain::kinds::{Artifact, Kind, Service, Verb};
use slipway_domain::resource::{API_VERSION, check_name};
use slipway_resources::{ApplyDocument, ApplyResult};
use slipway_store::{Actor, Object, TypedStore};
use std::collections::BTreeMap;

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

/// The Artifact resource a write of `service:version` would create or update.
#[derive(Debug, Clone)]
pub struct ArtifactTarget {
    pub service: String,
    pub version: String,
    /// The resource's name (valid).
    pub name: String,
    existing: Option<Object<Artifact>>,
}

impl ArtifactTarget {
    /// What the caller must be allowed on `artifacts`: to update an existing resource or to
    /// create a new one.
    pub fn verb(&self) -> Verb {
        if self.existing.is_some() {
            Verb::Update
        } else {
            Verb::Create
        }
    }
}

impl SupplyChain {
    /// The Artifact resource of `service:version`, refused when its name would not be valid.
    /// The caller authorizes [`ArtifactTarget::verb`] and then [`SupplyChain::check_target`]s
    /// it, before anything is stored.
    pub async fn target(&self, service: &str, version: &str) -> Result<ArtifactTarget> {
        let name = artifact_resource_name(service, version);
        check_name(&name).map_err(|why| {
            SupplyChainError::invalid(format!(
                "artifact {service}:{version} would be the Artifact resource {name:?}, which is not a valid name: {why}"
            ))
        })?;
        let existing = self.store.kind::<Artifact>().get(&name).await?;
        Ok(ArtifactTarget {
            service: service.to_owned(),
            version: version.to_owned(),
            name,
            existing,
        })
    }

    /// Refuses a target whose resource already describes another version, or whose service
    /// does not exist.
    pub async fn check_target(&self, target: &ArtifactTarget) -> Result<()> {
        let (service, version, name) = (&target.service, &target.version, &target.name);
        if let Some(existing) = &target.existing
            && (&existing.spec.service != service || &existing.spec.version != version)
        {
            return Err(SupplyChainError::Conflict(format!(
                "the Artifact resource {name} already describes {}:{}, not {service}:{version}",
                existing.spec.service, existing.spec.version
            )));
        }
        if !self.store.kind::<Service>().exists(service).await? {
            return Err(SupplyChainError::Invalid {
                message: format!(
                    "service {service} does not exist: create the Service resource first"
                ),
                details: vec![Diagnostic::new(
                    "service",
                    format!("Service {service} does not exist"),
                )],
            });
        }
        Ok(())
    }

    /// Creates or updates the Artifact resource of `service:version` as `actor` (audited),
    /// keeping its labels, annotations, args and env; `annotate` edits the annotations.
    pub async fn record_artifact(
        &self,
        actor: &Actor,
        service: &str,
        version: &str,
        index_digest: &Digest,
        annotate: impl FnOnce(&mut BTreeMap<String, String>),
    ) -> Result<ApplyResult> {
        let name = artifact_resource_name(service, version);
        let existing = self.store.kind::<Artifact>().get(&name).await?;
        let (labels, mut annotations, args, env) = match existing {
            Some(r) => (
                r.metadata.labels,
                r.metadata.annotations,
                r.spec.args,
                r.spec.env,
            ),
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
            "apiVersion": API_VERSION,
            "kind": Artifact::KIND,
            "metadata": {"name": name, "labels": labels, "annotations": annotations},
            "spec": spec,
        });
        let documents = [ApplyDocument {
            source: Some(format!("artifact store {service}:{version}")),
            document,
        }];
        slipway_resources::apply_authorized(self.store.as_ref(), actor, &documents, false)
            .await?
            .pop()
            .ok_or_else(|| SupplyChainError::Internal("apply returned no result".into()))
    }
}

#[cfg(test)]
mod tests {
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
}
