//! Offline verification of Sigstore bundles against a trusted root.
//!
//! The cryptography and the Sigstore verification steps (certificate chain at
//! the signed time, SCT, transparency-log inclusion, checkpoints, SETs,
//! RFC 3161 timestamps, log-entry consistency) are done by the
//! `sigstore-verify` crate. This module is the boundary Slipway calls: it takes
//! documents as bytes, chooses the policy, never touches the network (the
//! production trusted root is the one embedded in `sigstore-trust-root`), and
//! turns every rejection into a [`VerifyError`] that names the check that failed.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use serde::Serialize;
use sigstore_verify::bundle::Error as StructureError;
use sigstore_verify::trust_root::{SIGSTORE_PRODUCTION_TRUSTED_ROOT, TrustedRoot};
use sigstore_verify::types::bundle::VerificationMaterialContent;
use sigstore_verify::types::{Artifact, Bundle, DerPublicKey, Sha256Hash, SignatureContent};
use sigstore_verify::{
    Error as SigstoreError, PublicKeyVerificationPolicy, VerificationPolicy, VerificationResult,
    Verifier,
};
use time::OffsetDateTime;
use x509_cert::Certificate as X509Certificate;
use x509_cert::der::Decode;

use crate::digest::Sha256Digest;

/// The artifact a bundle is checked against: its bytes, or only its SHA-256 digest.
///
/// Both give the same outcome, except for bundles whose signature scheme cannot
/// be verified over a digest (Ed25519 message signatures), which need the bytes.
#[derive(Debug, Clone, Copy)]
pub enum ArtifactInput<'a> {
    /// The artifact's bytes.
    Bytes(&'a [u8]),
    /// The SHA-256 digest of the artifact's bytes.
    Digest(Sha256Digest),
}

/// Who must have signed the bundle.
#[derive(Debug, Clone, Copy)]
pub enum Policy<'a> {
    /// A keyless (Fulcio certificate) signature whose certificate names exactly
    /// this identity (subject alternative name) and OIDC issuer.
    Identity {
        /// Expected certificate identity, e.g. a workflow URI or an email address.
        identity: &'a str,
        /// Expected OIDC issuer, e.g. `https://token.actions.githubusercontent.com`.
        issuer: &'a str,
    },
    /// A managed-key signature made with this public key (PEM `PUBLIC KEY`).
    Key {
        /// The PEM text of the key.
        pem: &'a str,
    },
}

/// One bundle verification, everything passed as values.
#[derive(Debug, Clone, Copy)]
pub struct VerifyRequest<'a> {
    /// The bundle document (`*.sigstore.json`).
    pub bundle_json: &'a [u8],
    /// The artifact the bundle must be about.
    pub artifact: ArtifactInput<'a>,
    /// A trusted root document; `None` uses the embedded Sigstore production root.
    pub trusted_root_json: Option<&'a [u8]>,
    /// Who must have signed.
    pub policy: Policy<'a>,
}

/// Which verification step rejected a bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailedCheck {
    /// The bundle's structure (version, required material, encodings).
    BundleStructure,
    /// The signing certificate: chain to a trusted CA, validity at the signed time, SCT.
    Certificate,
    /// The certificate's identity differs from the policy's.
    Identity,
    /// The certificate's OIDC issuer differs from the policy's.
    Issuer,
    /// The transparency-log entry: inclusion proof, checkpoint, SET, integrated time,
    /// consistency with the bundle.
    TransparencyLog,
    /// An RFC 3161 timestamp, or the lack of any verified time.
    Timestamp,
    /// The signature over the artifact or the DSSE envelope.
    Signature,
    /// The bundle is about another artifact (message digest or in-toto subject).
    ArtifactBinding,
    /// The trusted root's material (keys, certificates, validity windows).
    TrustedRoot,
    /// The bundle uses a form the verifier or the policy does not accept
    /// (e.g. a certificate bundle under a key policy, an unknown payload type).
    Unsupported,
    /// A cryptographic primitive rejected its input (key or signature encoding).
    Cryptography,
}

impl fmt::Display for FailedCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BundleStructure => "bundle structure",
            Self::Certificate => "certificate",
            Self::Identity => "identity",
            Self::Issuer => "issuer",
            Self::TransparencyLog => "transparency log",
            Self::Timestamp => "timestamp",
            Self::Signature => "signature",
            Self::ArtifactBinding => "artifact binding",
            Self::TrustedRoot => "trusted root",
            Self::Unsupported => "supported form",
            Self::Cryptography => "cryptography",
        })
    }
}

/// Why a bundle did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The bundle document could not be read as a Sigstore bundle.
    #[error("bundle document is not a valid sigstore bundle: {0}")]
    BundleDocument(String),
    /// The trusted-root document could not be read or holds unusable material.
    #[error("trusted root document is not usable: {0}")]
    TrustedRootDocument(String),
    /// The policy's key is not a PEM public key.
    #[error("policy key is not a pem public key: {0}")]
    PolicyKey(String),
    /// The bundle was read but a verification step rejected it.
    #[error("{check} check failed: {reason}")]
    Rejected {
        /// The step that failed.
        check: FailedCheck,
        /// What the step found.
        reason: String,
    },
    /// The verifier panicked on this input; the panic was contained.
    #[error("verifier failed on malformed input: {0}")]
    VerifierPanicked(String),
}

impl VerifyError {
    /// The check that rejected the bundle, if it was read far enough to be checked.
    pub fn failed_check(&self) -> Option<FailedCheck> {
        match self {
            Self::Rejected { check, .. } => Some(*check),
            _ => None,
        }
    }
}

/// Who signed a verified bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Signer {
    /// A Fulcio certificate with these claims (checked against the policy).
    Certificate {
        /// The certificate's subject alternative name.
        identity: String,
        /// The certificate's OIDC issuer extension.
        issuer: String,
    },
    /// The managed key given in the policy.
    Key,
}

/// What the bundle's signature covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "kebab-case",
    rename_all_fields = "camelCase"
)]
pub enum SignedContent {
    /// A signature over the artifact itself.
    MessageSignature,
    /// A DSSE envelope whose in-toto statement names the artifact as a subject.
    DsseEnvelope {
        /// The envelope's payload type.
        payload_type: String,
    },
}

/// The facts established by a successful verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedBundle {
    /// The artifact the bundle was verified against.
    pub artifact_sha256: Sha256Digest,
    /// Who signed.
    pub signer: Signer,
    /// What the signature covers.
    pub content: SignedContent,
    /// Every authenticated time used (TSA timestamps, Rekor integrated times), oldest first.
    #[serde(with = "rfc3339_list")]
    pub verified_times: Vec<OffsetDateTime>,
    /// Whether the certificate chain, its validity and its SCT were checked.
    pub certificate_verified: bool,
    /// Whether transparency-log inclusion was checked.
    pub transparency_log_verified: bool,
}

mod rfc3339_list {
    //! Serialises a list of instants as RFC 3339 strings.
    use serde::Serializer;
    use serde::ser::SerializeSeq;
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    pub fn serialize<S: Serializer>(
        times: &[OffsetDateTime],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(times.len()))?;
        for instant in times {
            let text = instant
                .format(&Rfc3339)
                .map_err(serde::ser::Error::custom)?;
            seq.serialize_element(&text)?;
        }
        seq.end()
    }
}

/// A verifier holding one parsed trusted root, to verify many bundles.
pub struct BundleVerifier {
    verifier: Verifier,
}

impl BundleVerifier {
    /// A verifier for the Sigstore public-good production instance, from the
    /// trusted root embedded in `sigstore-trust-root` (no network).
    pub fn production() -> Result<Self, VerifyError> {
        Self::from_trusted_root_text(SIGSTORE_PRODUCTION_TRUSTED_ROOT)
    }

    /// A verifier for the instance described by a trusted-root document
    /// (`application/vnd.dev.sigstore.trustedroot+json`).
    pub fn from_trusted_root_json(trusted_root_json: &[u8]) -> Result<Self, VerifyError> {
        let text = std::str::from_utf8(trusted_root_json)
            .map_err(|error| VerifyError::TrustedRootDocument(format!("not utf-8: {error}")))?;
        Self::from_trusted_root_text(text)
    }

    fn from_trusted_root_text(text: &str) -> Result<Self, VerifyError> {
        contain_panics(|| {
            let root = TrustedRoot::from_json(text)
                .map_err(|error| VerifyError::TrustedRootDocument(error.to_string()))?;
            let verifier = Verifier::new(&root)
                .map_err(|error| VerifyError::TrustedRootDocument(error.to_string()))?;
            Ok(Self { verifier })
        })
    }

    /// Verify one bundle about `artifact` under `policy`.
    pub fn verify(
        &self,
        bundle_json: &[u8],
        artifact: ArtifactInput<'_>,
        policy: Policy<'_>,
    ) -> Result<VerifiedBundle, VerifyError> {
        contain_panics(|| self.verify_uncontained(bundle_json, artifact, policy))
    }

    fn verify_uncontained(
        &self,
        bundle_json: &[u8],
        artifact: ArtifactInput<'_>,
        policy: Policy<'_>,
    ) -> Result<VerifiedBundle, VerifyError> {
        let text = std::str::from_utf8(bundle_json)
            .map_err(|error| VerifyError::BundleDocument(format!("not utf-8: {error}")))?;
        let bundle = parse_bundle(text)?;
        check_certificate_chain(&bundle)?;
        let (sigstore_artifact, artifact_sha256) = match artifact {
            ArtifactInput::Bytes(bytes) => (Artifact::from_blob(bytes), Sha256Digest::of(bytes)),
            ArtifactInput::Digest(digest) => (
                Artifact::from_digest(Sha256Hash::new(*digest.as_bytes())),
                digest,
            ),
        };
        let result = match policy {
            Policy::Identity { identity, issuer } => self.verifier.verify(
                sigstore_artifact,
                &bundle,
                &VerificationPolicy::new(identity, issuer),
            ),
            Policy::Key { pem } => {
                let key = DerPublicKey::from_pem(pem)
                    .map_err(|error| VerifyError::PolicyKey(error.to_string()))?;
                self.verifier.verify(
                    sigstore_artifact,
                    &bundle,
                    &PublicKeyVerificationPolicy::new(key),
                )
            }
        }
        .map_err(rejection)?;
        Ok(verified_bundle(&bundle, &result, artifact_sha256, policy))
    }
}

/// Verify one bundle: parses the trusted root (or takes the embedded production
/// root), then checks the bundle against the artifact and the policy.
pub fn verify_bundle(request: &VerifyRequest<'_>) -> Result<VerifiedBundle, VerifyError> {
    let verifier = match request.trusted_root_json {
        Some(json) => BundleVerifier::from_trusted_root_json(json)?,
        None => BundleVerifier::production()?,
    };
    verifier.verify(request.bundle_json, request.artifact, request.policy)
}

/// Parse a bundle document.
///
/// ProtoJSON readers (Go's `protojson`, Python's `json_format`) skip line breaks
/// inside base64 `bytes` fields, and RFC 3161 tokens are commonly pasted from
/// `base64` output wrapped at 76 columns. `sigstore-types` decodes base64
/// strictly, so a wrapped `signedTimestamp` would be rejected as malformed
/// before its time is ever checked. Only when the strict parse fails and a
/// signed timestamp holds a line break are the breaks removed from those
/// fields (and nowhere else) and the document parsed again.
fn parse_bundle(text: &str) -> Result<Bundle, VerifyError> {
    let strict_error = match Bundle::from_json(text) {
        Ok(bundle) => return Ok(bundle),
        Err(error) => VerifyError::BundleDocument(error.to_string()),
    };
    let Ok(mut document) = serde_json::from_str::<serde_json::Value>(text) else {
        return Err(strict_error);
    };
    let Some(timestamps) = document
        .pointer_mut("/verificationMaterial/timestampVerificationData/rfc3161Timestamps")
        .and_then(serde_json::Value::as_array_mut)
    else {
        return Err(strict_error);
    };
    let mut unwrapped_any = false;
    for timestamp in timestamps {
        if let Some(serde_json::Value::String(token)) = timestamp.get_mut("signedTimestamp")
            && token.contains(['\r', '\n'])
        {
            token.retain(|character| !matches!(character, '\r' | '\n'));
            unwrapped_any = true;
        }
    }
    if !unwrapped_any {
        return Err(strict_error);
    }
    serde_json::from_value::<Bundle>(document)
        .map_err(|error| VerifyError::BundleDocument(error.to_string()))
}

/// Checks on the bundle's certificate chain that `sigstore-verify` leaves to
/// later steps or does not make: a chain must hold at least the signing
/// certificate, and must not carry a self-signed (root) certificate — trust
/// comes from the trusted root, never from the bundle.
fn check_certificate_chain(bundle: &Bundle) -> Result<(), VerifyError> {
    let VerificationMaterialContent::X509CertificateChain { certificates } =
        &bundle.verification_material.content
    else {
        return Ok(());
    };
    if certificates.is_empty() {
        return Err(VerifyError::Rejected {
            check: FailedCheck::Certificate,
            reason: "verificationMaterial.x509CertificateChain.certificates is empty: \
                     the bundle has no signing certificate"
                .to_owned(),
        });
    }
    for (index, certificate) in certificates.iter().enumerate() {
        let parsed =
            X509Certificate::from_der(certificate.raw_bytes.as_bytes()).map_err(|error| {
                VerifyError::Rejected {
                    check: FailedCheck::Certificate,
                    reason: format!(
                        "verificationMaterial.x509CertificateChain.certificates[{index}] \
                     is not a der certificate: {error}"
                    ),
                }
            })?;
        if parsed.tbs_certificate.subject == parsed.tbs_certificate.issuer {
            return Err(VerifyError::Rejected {
                check: FailedCheck::Certificate,
                reason: format!(
                    "verificationMaterial.x509CertificateChain.certificates[{index}] \
                     is a self-signed root certificate ({}); roots must come from the \
                     trusted root, not the bundle",
                    parsed.tbs_certificate.subject
                ),
            });
        }
    }
    Ok(())
}

fn verified_bundle(
    bundle: &Bundle,
    result: &VerificationResult,
    artifact_sha256: Sha256Digest,
    policy: Policy<'_>,
) -> VerifiedBundle {
    let signer = match policy {
        Policy::Identity { .. } => Signer::Certificate {
            identity: result
                .identity()
                .map(|name| name.as_str().to_owned())
                .unwrap_or_default(),
            issuer: result.issuer().unwrap_or_default().to_owned(),
        },
        Policy::Key { .. } => Signer::Key,
    };
    let content = match &bundle.content {
        SignatureContent::DsseEnvelope(envelope) => SignedContent::DsseEnvelope {
            payload_type: envelope.payload_type.clone(),
        },
        _ => SignedContent::MessageSignature,
    };
    let mut verified_times: Vec<OffsetDateTime> = result
        .verified_timestamps()
        .iter()
        .filter_map(|instant| OffsetDateTime::from_unix_timestamp(instant.as_second()).ok())
        .collect();
    verified_times.sort();
    verified_times.dedup();
    VerifiedBundle {
        artifact_sha256,
        signer,
        content,
        verified_times,
        certificate_verified: result.certificate_verified(),
        transparency_log_verified: result.tlog_verified(),
    }
}

fn rejection(error: SigstoreError) -> VerifyError {
    let check = match &error {
        SigstoreError::IdentityMismatch { .. } => FailedCheck::Identity,
        SigstoreError::IssuerMismatch { .. } => FailedCheck::Issuer,
        SigstoreError::SignatureInvalid(_) => FailedCheck::Signature,
        SigstoreError::ArtifactMismatch(_) => FailedCheck::ArtifactBinding,
        SigstoreError::Certificate(_) => FailedCheck::Certificate,
        SigstoreError::TransparencyLog(_) => FailedCheck::TransparencyLog,
        SigstoreError::Timestamp(_) => FailedCheck::Timestamp,
        SigstoreError::Bundle(structure) => structural_check(structure),
        SigstoreError::InvalidBundle(_) | SigstoreError::Types(_) => FailedCheck::BundleStructure,
        SigstoreError::InvalidTrustRoot(_)
        | SigstoreError::TrustRoot(_)
        | SigstoreError::TrustedCertificate(_) => FailedCheck::TrustedRoot,
        SigstoreError::Crypto(_) => FailedCheck::Cryptography,
        _ => FailedCheck::Unsupported,
    };
    VerifyError::Rejected {
        check,
        reason: error.to_string(),
    }
}

/// Which check a structural rejection belongs to: missing or inconsistent log
/// evidence is a transparency-log failure, missing time evidence a timestamp one.
fn structural_check(error: &StructureError) -> FailedCheck {
    match error {
        StructureError::MissingInclusionPromise(_)
        | StructureError::MissingInclusionProof(_)
        | StructureError::MissingCheckpoint
        | StructureError::LogIndexOutOfRange { .. }
        | StructureError::CheckpointRootMismatch => FailedCheck::TransparencyLog,
        StructureError::MissingSigningTimeEvidence | StructureError::MissingTimestamp => {
            FailedCheck::Timestamp
        }
        _ => FailedCheck::BundleStructure,
    }
}

/// Run `verify`, turning a panic inside the verifier into an error: no input
/// may take the process down.
fn contain_panics<T>(verify: impl FnOnce() -> Result<T, VerifyError>) -> Result<T, VerifyError> {
    catch_unwind(AssertUnwindSafe(verify)).unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|text| (*text).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic without message".to_owned());
        Err(VerifyError::VerifierPanicked(message))
    })
}
