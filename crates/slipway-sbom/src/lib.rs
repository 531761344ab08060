//! Slipway's supply-chain evidence: SBOMs (CycloneDX 1.2–1.6 and SPDX 2.3 JSON) validated against
//! their official schemas and normalised into one [`Sbom`] model, a license policy evaluated over
//! SPDX expressions, SARIF 2.1.0 summaries with a pass/fail policy, and package URLs.
//!
//! Pure: every function takes values (bytes, parsed JSON, policies) and returns values; reading
//! files and printing belong to the callers. The usual entry point is [`ingest`].

mod cyclonedx;
mod error;
pub mod license_policy;
pub mod model;
pub mod purl;
pub mod sarif;
mod spdx_document;
pub mod validation;

use serde::de::DeserializeOwned;
use serde_json::Value;

pub use error::SbomError;
pub use license_policy::{
    LicenseClarification, LicenseException, LicenseFinding, LicensePolicy, LicensePolicyError,
    LicenseReport, LicenseVerdict, UnknownLicense,
};
pub use model::{Component, Dependency, Hash, Sbom};
pub use purl::{Purl, PurlError};
pub use sarif::{
    FailOn, LevelCounts, SarifError, SarifLevel, SarifPolicy, SarifResult, SarifSummary,
    SarifVerdict, parse_sarif, summarise,
};
pub use validation::{SbomFormat, SchemaVersion, SchemaViolation, detect, validate, validate_as};

/// Parses, validates and normalises one SBOM document: the whole pipeline for a file's bytes.
/// `document` names it in errors (usually the file name).
///
/// # Errors
///
/// [`SbomError`] when the bytes are not JSON, not CycloneDX/SPDX, in an unsupported version, or
/// break their schema.
pub fn ingest(document: &str, bytes: &[u8]) -> Result<Sbom, SbomError> {
    let sbom: Value = serde_json::from_slice(bytes).map_err(|error| SbomError::NotJson {
        document: document.to_owned(),
        reason: error.to_string(),
    })?;
    validate(document, &sbom)?;
    normalise(document, &sbom)
}

/// Normalises a document without checking it against its schema (only its format is detected).
/// Fields the normaliser does not read may be anything; the ones it reads must have their
/// schema's types.
///
/// # Errors
///
/// The errors of [`detect`], or [`SbomError::Unreadable`] naming the field with the wrong shape.
pub fn normalise(document: &str, sbom: &Value) -> Result<Sbom, SbomError> {
    match detect(document, sbom)?.format() {
        SbomFormat::CycloneDx => cyclonedx::normalise(document, sbom),
        SbomFormat::Spdx => spdx_document::normalise(document, sbom),
    }
}

/// Deserialises the parts of a document a normaliser reads, naming the field that does not fit.
fn read_as<T: DeserializeOwned>(document: &str, sbom: &Value) -> Result<T, SbomError> {
    serde_path_to_error::deserialize(sbom).map_err(|error| SbomError::Unreadable {
        document: document.to_owned(),
        path: error.path().to_string(),
        reason: error.inner().to_string(),
    })
}
