//! The documents attached to an artifact: what each short type name stands for, the checks a
//! document passes before it is kept (SBOMs against their schema, SARIF logs, Sigstore bundles
//! against the artifact and the signer asked for, in-toto DSSE envelopes, Slipway signatures),
//! and [`assess`], which is pure: the attached documents in, the Artifact's
//! `status.supplyChain` out.

use crate::{Result, SupplyChainError};
use serde::Deserialize;
use serde_json::{Value, json};
use slipway_artifacts::oci::artifact_types;
use slipway_signing::in_toto::SLSA_PROVENANCE_V1;
use slipway_signing::{
    ArtifactInput, ArtifactSignature, DsseEnvelope, Policy, Sha256Digest, Statement, VerifyRequest,
    VerifyingKey,
};
use slipway_vuln::{FindingKind, Package, Severity, VulnDb};
use std::collections::BTreeMap;

/// The annotation on a Sigstore bundle referrer naming the signer it was verified against.
pub const SIGSTORE_SIGNER_ANNOTATION: &str = "dev.slipway.sigstore.verified-signer";

/// The artifact type a short name stands for (`sbom-cyclonedx`, `sbom-spdx`, `sarif`,
/// `sigstore-bundle`, `in-toto`, `slipway-signature`); anything else is taken as a media type.
pub fn referrer_type(name: &str) -> &str {
    match name {
        "sbom-cyclonedx" | "cyclonedx" => artifact_types::CYCLONEDX,
        "sbom-spdx" | "spdx" => artifact_types::SPDX,
        "sarif" => artifact_types::SARIF,
        "sigstore-bundle" => artifact_types::SIGSTORE_BUNDLE,
        "in-toto" => artifact_types::IN_TOTO,
        "slipway-signature" => artifact_types::SLIPWAY_SIGNATURE,
        other => other,
    }
}

/// Who must have signed a Sigstore bundle attached to an artifact (the attach request's query
/// parameters).
#[derive(Debug, Default, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
pub struct BundleSigner {
    /// The certificate identity the bundle's signer must have.
    pub identity: Option<String>,
    /// The OIDC issuer of the signer's certificate.
    pub issuer: Option<String>,
}

/// Checks a document before it is attached to an artifact whose file has digest `layer`;
/// returns annotations to record with it. SBOMs must pass their schema, SARIF logs must parse,
/// Sigstore bundles must verify (production root, the identity and issuer given), in-toto
/// documents must be DSSE envelopes of in-toto statements, Slipway signatures must parse.
pub fn validate_referrer(
    artifact_type: &str,
    bytes: &[u8],
    layer: &Sha256Digest,
    policy: &BundleSigner,
) -> Result<BTreeMap<String, String>> {
    let refuse =
        |what: &str, why: String| SupplyChainError::invalid(format!("{what} refused: {why}"));
    let mut annotations = BTreeMap::new();
    match artifact_type {
        artifact_types::CYCLONEDX | artifact_types::SPDX => {
            slipway_sbom::ingest("the attached sbom", bytes)
                .map_err(|e| refuse("sbom", e.to_string()))?;
        }
        artifact_types::SARIF => {
            slipway_sbom::parse_sarif("the attached sarif log", bytes)
                .map_err(|e| refuse("sarif log", e.to_string()))?;
        }
        artifact_types::SIGSTORE_BUNDLE => {
            let (Some(identity), Some(issuer)) = (&policy.identity, &policy.issuer) else {
                return Err(refuse(
                    "sigstore bundle",
                    "say who must have signed it with ?identity=...&issuer=...".into(),
                ));
            };
            let verified = slipway_signing::verify_bundle(&VerifyRequest {
                bundle_json: bytes,
                artifact: ArtifactInput::Digest(*layer),
                trusted_root_json: None,
                policy: Policy::Identity { identity, issuer },
            })
            .map_err(|e| refuse("sigstore bundle", e.to_string()))?;
            annotations.insert(
                SIGSTORE_SIGNER_ANNOTATION.to_owned(),
                format!("{identity} ({issuer}), sha256:{}", verified.artifact_sha256),
            );
        }
        artifact_types::IN_TOTO => {
            let envelope = DsseEnvelope::from_json(bytes)
                .map_err(|e| refuse("in-toto envelope", e.to_string()))?;
            let payload = envelope
                .payload_bytes()
                .map_err(|e| refuse("in-toto envelope", e.to_string()))?;
            serde_json::from_slice::<Statement>(&payload).map_err(|e| {
                refuse(
                    "in-toto envelope",
                    format!("payload is not an in-toto statement: {e}"),
                )
            })?;
        }
        artifact_types::SLIPWAY_SIGNATURE => {
            ArtifactSignature::from_json(bytes)
                .map_err(|e| refuse("slipway signature", e.to_string()))?;
        }
        _ => {}
    }
    Ok(annotations)
}

/// One attached document, as [`assess`] reads it.
#[derive(Debug, Clone)]
pub struct AttachedDocument {
    /// The digest of the file of the platform variant it is attached to (`None`: attached to
    /// the version's index).
    pub layer: Option<Sha256Digest>,
    pub artifact_type: String,
    pub annotations: BTreeMap<String, String>,
    pub content: Vec<u8>,
}

fn severity_key(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low | Severity::None => "low",
    }
}

/// The `status.supplyChain` document of an artifact from its attached documents: whether it is
/// signed (a Slipway signature verifying with `server_key`, or a Sigstore bundle verified when
/// attached), the vulnerability counts of its SBOMs against `vulndb` (`scanned: false` and no
/// counts without a database or an SBOM; a vulnerability without a severity counts as
/// critical), the SBOM components' licences (judged per environment by its promotion policy;
/// `licensesOk` is `null` here), the SARIF level counts (`null` without a log) and the SLSA
/// provenance signed by `server_key` (`null` without one).
pub fn assess(
    documents: &[AttachedDocument],
    server_key: &VerifyingKey,
    vulndb: Option<&VulnDb>,
    checked_at: &str,
) -> Value {
    let keys = [*server_key];
    let mut signed_by = Vec::new();
    let mut packages = Vec::new();
    let mut components = Vec::new();
    let mut sbom_errors = Vec::new();
    let mut sarif: Option<[usize; 3]> = None;
    let mut provenance = Value::Null;
    for doc in documents {
        match doc.artifact_type.as_str() {
            artifact_types::SLIPWAY_SIGNATURE => {
                if let (Some(layer), Ok(signature)) =
                    (&doc.layer, ArtifactSignature::from_json(&doc.content))
                    && let Ok(verified) =
                        slipway_signing::verify_signature(&signature, layer, &keys)
                {
                    signed_by.push(json!({"kind": "slipway", "keyId": verified.key_id}));
                }
            }
            artifact_types::SIGSTORE_BUNDLE => {
                if let Some(signer) = doc.annotations.get(SIGSTORE_SIGNER_ANNOTATION) {
                    signed_by.push(json!({"kind": "sigstore", "signer": signer}));
                }
            }
            artifact_types::CYCLONEDX | artifact_types::SPDX => {
                match slipway_sbom::ingest("the attached sbom", &doc.content) {
                    Ok(sbom) => {
                        for component in &sbom.components {
                            if let Some(package) = component
                                .purl
                                .as_deref()
                                .and_then(|p| Package::from_purl(p).ok())
                            {
                                packages.push(package);
                            }
                            components.push(json!({
                                "name": component.name, "group": component.group,
                                "version": component.version, "purl": component.purl,
                                "licenses": component.licenses,
                            }));
                        }
                    }
                    Err(e) => sbom_errors.push(e.to_string()),
                }
            }
            artifact_types::SARIF => {
                if let Ok(summary) =
                    slipway_sbom::parse_sarif("the attached sarif log", &doc.content)
                {
                    let counts = sarif.get_or_insert([0; 3]);
                    counts[0] += summary.counts.error;
                    counts[1] += summary.counts.warning;
                    counts[2] += summary.counts.note;
                }
            }
            artifact_types::IN_TOTO => {
                let Some(layer) = &doc.layer else { continue };
                let Ok(envelope) = DsseEnvelope::from_json(&doc.content) else {
                    continue;
                };
                let is_provenance = envelope
                    .payload_bytes()
                    .ok()
                    .and_then(|p| serde_json::from_slice::<Statement>(&p).ok())
                    .is_some_and(|s| s.predicate_type == SLSA_PROVENANCE_V1);
                if !is_provenance {
                    continue;
                }
                let verified = slipway_signing::verify_attestation(
                    &envelope,
                    layer,
                    SLSA_PROVENANCE_V1,
                    &keys,
                )
                .ok()
                .and_then(|a| a.provenance().ok());
                if let Some(p) = verified {
                    provenance = json!({
                        "verified": true,
                        "builder": p.run_details.builder.id,
                        "source": p.build_definition.external_parameters.get("gitSha"),
                        "pipelineId": p.build_definition.external_parameters.get("pipelineId"),
                    });
                } else if provenance.is_null() {
                    provenance = json!({"verified": false, "builder": null, "source": null});
                }
            }
            _ => {}
        }
    }
    let has_sbom = !components.is_empty() || !packages.is_empty();
    let mut status = json!({
        "signed": !signed_by.is_empty(),
        "signatures": signed_by,
        "sbom": has_sbom,
        "components": components,
        "licensesOk": Value::Null,
        "sarifErrors": sarif.map(|c| c[0]),
        "sarifWarnings": sarif.map(|c| c[1]),
        "sarifNotes": sarif.map(|c| c[2]),
        "provenance": provenance,
        "checkedAt": checked_at,
    });
    if !sbom_errors.is_empty() {
        status["sbomErrors"] = json!(sbom_errors);
    }
    match vulndb {
        Some(db) if has_sbom => {
            let mut counts = json!({"critical": 0, "high": 0, "medium": 0, "low": 0});
            let mut listed = Vec::new();
            for finding in db.scan(&packages) {
                if finding.kind != FindingKind::Vulnerability {
                    continue;
                }
                let severity = finding.severity.unwrap_or(Severity::Critical);
                let key = severity_key(severity);
                counts[key] = json!(counts[key].as_u64().unwrap_or(0) + 1);
                listed.push(json!({
                    "id": finding.id, "package": finding.package,
                    "version": finding.version, "severity": severity.as_str(),
                }));
            }
            status["scanned"] = json!(true);
            status["vulnerabilities"] = counts;
            status["findings"] = json!(listed);
        }
        _ => status["scanned"] = json!(false),
    }
    status
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::attestations::{PushParameters, push_provenance, verification_summary};
    use slipway_signing::SigningKey;

    fn signing_key() -> SigningKey {
        SigningKey::from_bytes(&[7; 32])
    }

    fn doc(layer: &Sha256Digest, artifact_type: &str, content: Vec<u8>) -> AttachedDocument {
        AttachedDocument {
            layer: Some(*layer),
            artifact_type: artifact_type.to_owned(),
            annotations: BTreeMap::new(),
            content,
        }
    }

    #[test]
    fn a_server_signature_and_provenance_count_only_for_their_file_and_key() {
        let key = signing_key();
        let layer = Sha256Digest::of(b"the file");
        let other = Sha256Digest::of(b"another file");
        let at = time::OffsetDateTime::UNIX_EPOCH;
        let signature = slipway_signing::sign_digest(&key, &layer, at)
            .to_json_pretty()
            .unwrap()
            .into_bytes();
        let parameters = PushParameters {
            service: "payments",
            version: "1.0.0",
            git_sha: Some("abc"),
            pipeline_id: "build-7",
        };
        let provenance =
            serde_json::to_vec(&push_provenance(&key, "f", &layer, &parameters).unwrap()).unwrap();
        let documents = [
            doc(&layer, artifact_types::SLIPWAY_SIGNATURE, signature.clone()),
            doc(&layer, artifact_types::IN_TOTO, provenance.clone()),
        ];
        let status = assess(&documents, &key.verifying_key(), None, "now");
        assert_eq!(status["signed"], true, "{status}");
        assert_eq!(status["provenance"]["verified"], true, "{status}");
        assert_eq!(status["provenance"]["source"], "abc", "{status}");
        assert_eq!(status["scanned"], false);
        assert_eq!(status["sarifErrors"], Value::Null);

        let elsewhere = [
            doc(&other, artifact_types::SLIPWAY_SIGNATURE, signature),
            doc(&other, artifact_types::IN_TOTO, provenance),
        ];
        let status = assess(&elsewhere, &key.verifying_key(), None, "now");
        assert_eq!(status["signed"], false, "{status}");
        assert_eq!(status["provenance"]["verified"], false, "{status}");
        let stranger = SigningKey::from_bytes(&[9; 32]).verifying_key();
        assert_eq!(assess(&documents, &stranger, None, "now")["signed"], false);
    }

    #[test]
    fn a_verification_summary_lists_the_passed_supply_chain_rules_and_is_not_provenance() {
        use slipway_domain::governance_records::{GateDecisionSpec, GateRuleOutcome};
        let key = signing_key();
        let layer = Sha256Digest::of(b"the file");
        let rule = |rule: &str, passed: bool| GateRuleOutcome {
            rule: rule.into(),
            passed,
            detail: String::new(),
        };
        let decision = GateDecisionSpec {
            subject_kind: "Rollout".into(),
            subject: "r".into(),
            service: "payments".into(),
            environment: "production".into(),
            artifact: "payments-1-0-0".into(),
            change: None,
            step: None,
            at: "now".into(),
            verdict: "allow".into(),
            rules: vec![
                rule("window", true),
                rule("supply-chain:signature", true),
                rule("supply-chain:licenses", false),
                rule("supply-chain:provenance", true),
            ],
            inputs: Value::Null,
        };
        let envelope = verification_summary(
            &key,
            &decision,
            "oci:payments:1.0.0",
            &layer,
            time::OffsetDateTime::UNIX_EPOCH,
        )
        .unwrap();
        let verified = slipway_signing::verify_attestation(
            &envelope,
            &layer,
            slipway_signing::in_toto::SLSA_VERIFICATION_SUMMARY_V1,
            &[key.verifying_key()],
        )
        .unwrap();
        let summary = verified.verification_summary().unwrap();
        assert_eq!(
            summary.verified_levels,
            [
                "SLSA_BUILD_LEVEL_1",
                "SLIPWAY_SUPPLY_CHAIN_SIGNATURE",
                "SLIPWAY_SUPPLY_CHAIN_PROVENANCE"
            ]
        );
        assert!(summary.policy.uri.unwrap().contains("production"));
        let documents = [doc(
            &layer,
            artifact_types::IN_TOTO,
            serde_json::to_vec(&envelope).unwrap(),
        )];
        let status = assess(&documents, &key.verifying_key(), None, "now");
        assert_eq!(status["provenance"], Value::Null, "{status}");
    }

    #[test]
    fn invalid_documents_are_refused_with_their_reason() {
        let layer = Sha256Digest::of(b"the file");
        let none = BundleSigner::default();
        for (artifact_type, content, reason) in [
            (
                artifact_types::CYCLONEDX,
                &b"{\"bomFormat\": \"CycloneDX\"}"[..],
                "sbom refused",
            ),
            (artifact_types::SARIF, b"[]", "sarif log refused"),
            (artifact_types::SIGSTORE_BUNDLE, b"{}", "?identity="),
            (
                artifact_types::IN_TOTO,
                b"{\"payload\": 1}",
                "in-toto envelope refused",
            ),
            (
                artifact_types::SLIPWAY_SIGNATURE,
                b"{}",
                "slipway signature refused",
            ),
        ] {
            let error = validate_referrer(artifact_type, content, &layer, &none).unwrap_err();
            assert!(
                error.to_string().contains(reason),
                "{artifact_type}: {error}"
            );
        }
        assert!(validate_referrer("text/plain", b"anything", &layer, &none).is_ok());
    }

    #[test]
    fn short_referrer_types_name_the_media_types() {
        assert_eq!(
            referrer_type("sbom-cyclonedx"),
            "application/vnd.cyclonedx+json"
        );
        assert_eq!(referrer_type("sbom-spdx"), "application/spdx+json");
        assert_eq!(referrer_type("sarif"), "application/sarif+json");
        assert_eq!(
            referrer_type("sigstore-bundle"),
            "application/vnd.dev.sigstore.bundle.v0.3+json"
        );
        assert_eq!(referrer_type("in-toto"), "application/vnd.in-toto+json");
        assert_eq!(
            referrer_type("slipway-signature"),
            "application/vnd.slipway.signature.v1+json"
        );
        assert_eq!(referrer_type("text/plain"), "text/plain");
    }
}
