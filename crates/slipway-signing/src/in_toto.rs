//! in-toto Statement v1 attestations in DSSE envelopes: SLSA Provenance v1 and
//! SLSA Verification Summary (VSA) v1 predicates, signing, and verification of
//! an attestation against an artifact.
//!
//! Verification accepts an attestation only if a trusted key signed the
//! envelope, the envelope carries an in-toto statement, one subject's sha256 is
//! the artifact's digest, and the predicate type is the one the caller expects.

use std::collections::BTreeMap;

use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::digest::Sha256Digest;
use crate::dsse::{DsseEnvelope, DsseError};

/// The DSSE payload type of an in-toto statement.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// The `_type` of an in-toto Statement v1.
pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
/// The predicate type of SLSA Provenance v1.
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";
/// The predicate type of a SLSA Verification Summary v1.
pub const SLSA_VERIFICATION_SUMMARY_V1: &str = "https://slsa.dev/verification_summary/v1";

/// An in-toto Statement v1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Statement {
    /// Always [`STATEMENT_V1`].
    #[serde(rename = "_type")]
    pub statement_type: String,
    /// The artifacts the statement is about.
    pub subject: Vec<ResourceDescriptor>,
    /// What kind of predicate follows.
    pub predicate_type: String,
    /// The predicate itself.
    #[serde(default)]
    pub predicate: Value,
}

/// An in-toto resource descriptor: a subject, a dependency or an input attestation.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDescriptor {
    /// A name, e.g. the artifact's file name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Where the resource lives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Digests by algorithm name (`sha256` → lowercase hex).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub digest: BTreeMap<String, String>,
}

impl ResourceDescriptor {
    /// A subject: a named artifact with its sha256.
    pub fn subject(name: &str, digest: &Sha256Digest) -> Self {
        Self {
            name: Some(name.to_owned()),
            uri: None,
            digest: BTreeMap::from([("sha256".to_owned(), digest.to_hex())]),
        }
    }

    /// A resource known by URI and sha256.
    pub fn at_uri(uri: &str, digest: &Sha256Digest) -> Self {
        Self {
            name: None,
            uri: Some(uri.to_owned()),
            digest: BTreeMap::from([("sha256".to_owned(), digest.to_hex())]),
        }
    }
}

/// A SLSA Provenance v1 predicate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    /// What was built and with which inputs.
    pub build_definition: BuildDefinition,
    /// Who built it and when.
    pub run_details: RunDetails,
}

/// How the build was defined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildDefinition {
    /// URI naming the build template.
    pub build_type: String,
    /// Parameters under the control of whoever started the build.
    pub external_parameters: Value,
    /// Parameters set by the build platform.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub internal_parameters: Value,
    /// Inputs the build fetched (sources, toolchains).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolved_dependencies: Vec<ResourceDescriptor>,
}

/// Details of one build run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunDetails {
    /// The build platform.
    pub builder: Builder,
    /// Identity and timing of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BuildMetadata>,
}

/// The platform that ran the build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Builder {
    /// URI identifying the builder.
    pub id: String,
}

/// Identity and timing of a build run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildMetadata {
    /// The builder's id for this run.
    pub invocation_id: String,
    /// When the run started.
    #[serde(with = "time::serde::rfc3339")]
    pub started_on: OffsetDateTime,
    /// When the run finished.
    #[serde(with = "time::serde::rfc3339")]
    pub finished_on: OffsetDateTime,
}

/// A SLSA Verification Summary v1 predicate: a verifier's verdict on an artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationSummary {
    /// Who verified.
    pub verifier: Verifier,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub time_verified: OffsetDateTime,
    /// The artifact's location the verdict is for.
    pub resource_uri: String,
    /// The policy applied.
    pub policy: PolicyReference,
    /// The attestations the verifier read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub input_attestations: Vec<ResourceDescriptor>,
    /// The verdict.
    pub verification_result: VerificationResult,
    /// SLSA levels established, e.g. `SLSA_BUILD_LEVEL_3`.
    #[serde(default)]
    pub verified_levels: Vec<String>,
}

/// The verifier of a summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verifier {
    /// URI identifying the verifier.
    pub id: String,
}

/// The policy a summary was made under: a URI, a digest, or both.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PolicyReference {
    /// Where the policy lives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// The policy's digests.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub digest: BTreeMap<String, String>,
}

/// A verification verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VerificationResult {
    /// The artifact met the policy.
    Passed,
    /// It did not.
    Failed,
}

/// Why a statement could not be built or an attestation was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttestationError {
    /// A required field of a statement or predicate being built is empty.
    #[error("cannot build statement: {0}")]
    Incomplete(String),
    /// The predicate could not be written as JSON.
    #[error("cannot encode predicate: {0}")]
    Encode(String),
    /// The envelope's signatures or encoding were rejected.
    #[error(transparent)]
    Envelope(#[from] DsseError),
    /// The envelope carries something other than an in-toto statement.
    #[error("dsse payload type is {found:?}, expected {IN_TOTO_PAYLOAD_TYPE:?}")]
    PayloadType {
        /// The payload type found.
        found: String,
    },
    /// The payload is not an in-toto Statement v1.
    #[error("dsse payload is not an in-toto statement v1: {0}")]
    Statement(String),
    /// No subject has the artifact's sha256.
    #[error("no statement subject has sha256 {artifact} (subjects: {subjects})")]
    SubjectMismatch {
        /// The artifact's digest.
        artifact: Sha256Digest,
        /// The subjects' names and sha256 digests.
        subjects: String,
    },
    /// The predicate type differs from the expected one.
    #[error("statement predicate type is {found:?}, expected {expected:?}")]
    PredicateType {
        /// The predicate type found.
        found: String,
        /// The predicate type expected.
        expected: String,
    },
    /// The predicate does not have the expected predicate type's shape.
    #[error("statement predicate is not a valid {predicate_type}: {reason}")]
    Predicate {
        /// The predicate type.
        predicate_type: &'static str,
        /// What is wrong.
        reason: String,
    },
}

impl Statement {
    /// A statement about `subjects` with a SLSA Provenance v1 predicate.
    pub fn provenance(
        subjects: Vec<ResourceDescriptor>,
        provenance: &Provenance,
    ) -> Result<Self, AttestationError> {
        require(
            !provenance.build_definition.build_type.is_empty(),
            "buildDefinition.buildType is empty",
        )?;
        require(
            !provenance.run_details.builder.id.is_empty(),
            "runDetails.builder.id is empty",
        )?;
        Self::with_predicate(subjects, SLSA_PROVENANCE_V1, provenance)
    }

    /// A statement about `subjects` with a SLSA Verification Summary v1 predicate.
    pub fn verification_summary(
        subjects: Vec<ResourceDescriptor>,
        summary: &VerificationSummary,
    ) -> Result<Self, AttestationError> {
        require(!summary.verifier.id.is_empty(), "verifier.id is empty")?;
        require(!summary.resource_uri.is_empty(), "resourceUri is empty")?;
        require(
            summary.policy.uri.is_some() || !summary.policy.digest.is_empty(),
            "policy has neither uri nor digest",
        )?;
        Self::with_predicate(subjects, SLSA_VERIFICATION_SUMMARY_V1, summary)
    }

    fn with_predicate(
        subjects: Vec<ResourceDescriptor>,
        predicate_type: &str,
        predicate: &impl Serialize,
    ) -> Result<Self, AttestationError> {
        require(!subjects.is_empty(), "subject is empty")?;
        for (index, subject) in subjects.iter().enumerate() {
            require(
                subject.digest.contains_key("sha256"),
                &format!("subject[{index}] has no sha256 digest"),
            )?;
        }
        Ok(Self {
            statement_type: STATEMENT_V1.to_owned(),
            subject: subjects,
            predicate_type: predicate_type.to_owned(),
            predicate: serde_json::to_value(predicate)
                .map_err(|error| AttestationError::Encode(error.to_string()))?,
        })
    }

    /// Sign the statement into a DSSE envelope.
    pub fn sign(&self, key: &SigningKey) -> Result<DsseEnvelope, AttestationError> {
        let payload = serde_json::to_vec(self)
            .map_err(|error| AttestationError::Encode(error.to_string()))?;
        Ok(DsseEnvelope::sign(IN_TOTO_PAYLOAD_TYPE, &payload, key))
    }
}

fn require(holds: bool, what: &str) -> Result<(), AttestationError> {
    if holds {
        Ok(())
    } else {
        Err(AttestationError::Incomplete(what.to_owned()))
    }
}

/// An attestation that verified against an artifact.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedAttestation {
    /// The authenticated statement.
    pub statement: Statement,
    /// Ids of the trusted keys that signed it.
    pub key_ids: Vec<String>,
}

impl VerifiedAttestation {
    /// The predicate as SLSA Provenance v1.
    pub fn provenance(&self) -> Result<Provenance, AttestationError> {
        self.typed_predicate(SLSA_PROVENANCE_V1)
    }

    /// The predicate as a SLSA Verification Summary v1.
    pub fn verification_summary(&self) -> Result<VerificationSummary, AttestationError> {
        self.typed_predicate(SLSA_VERIFICATION_SUMMARY_V1)
    }

    fn typed_predicate<T: serde::de::DeserializeOwned>(
        &self,
        predicate_type: &'static str,
    ) -> Result<T, AttestationError> {
        if self.statement.predicate_type != predicate_type {
            return Err(AttestationError::PredicateType {
                found: self.statement.predicate_type.clone(),
                expected: predicate_type.to_owned(),
            });
        }
        T::deserialize(&self.statement.predicate).map_err(|error| AttestationError::Predicate {
            predicate_type,
            reason: error.to_string(),
        })
    }
}

/// Verify a DSSE-wrapped in-toto attestation about `artifact`: signed by a
/// trusted key, an in-toto Statement v1, a subject with the artifact's sha256,
/// and the expected predicate type.
pub fn verify_attestation(
    envelope: &DsseEnvelope,
    artifact: &Sha256Digest,
    expected_predicate_type: &str,
    trusted_keys: &[VerifyingKey],
) -> Result<VerifiedAttestation, AttestationError> {
    let verified = envelope.verify(trusted_keys)?;
    if verified.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(AttestationError::PayloadType {
            found: verified.payload_type,
        });
    }
    let statement: Statement = serde_json::from_slice(&verified.payload)
        .map_err(|error| AttestationError::Statement(error.to_string()))?;
    if statement.statement_type != STATEMENT_V1 {
        return Err(AttestationError::Statement(format!(
            "`_type` is {:?}, expected {STATEMENT_V1:?}",
            statement.statement_type
        )));
    }
    let artifact_hex = artifact.to_hex();
    let names_artifact = statement.subject.iter().any(|subject| {
        subject
            .digest
            .get("sha256")
            .is_some_and(|digest| digest.eq_ignore_ascii_case(&artifact_hex))
    });
    if !names_artifact {
        let subjects = statement
            .subject
            .iter()
            .map(|subject| {
                format!(
                    "{} sha256:{}",
                    subject.name.as_deref().unwrap_or("(unnamed)"),
                    subject
                        .digest
                        .get("sha256")
                        .map_or("(none)", String::as_str)
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        return Err(AttestationError::SubjectMismatch {
            artifact: *artifact,
            subjects,
        });
    }
    if statement.predicate_type != expected_predicate_type {
        return Err(AttestationError::PredicateType {
            found: statement.predicate_type,
            expected: expected_predicate_type.to_owned(),
        });
    }
    Ok(VerifiedAttestation {
        statement,
        key_ids: verified.key_ids,
    })
}
