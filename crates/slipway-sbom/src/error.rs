//! The errors of reading an SBOM: not JSON, not an SBOM, a version without a schema, schema
//! violations, or content the normaliser cannot read.

use crate::validation::{SbomFormat, SchemaViolation};

/// Why an SBOM document was not accepted. Every variant names the document.
#[derive(Debug, thiserror::Error)]
pub enum SbomError {
    /// The bytes are not a JSON document.
    #[error("{document}: not a JSON document: {reason}")]
    NotJson {
        /// The document's name (usually its file name).
        document: String,
        /// The parser's message, with line and column.
        reason: String,
    },
    /// The JSON is neither CycloneDX nor SPDX.
    #[error("{document}: not a CycloneDX or SPDX document: {reason}")]
    UnknownFormat {
        /// The document's name.
        document: String,
        /// What is missing or wrong.
        reason: String,
    },
    /// The format is known but this version has no embedded schema.
    #[error("{document}: {format} version {version} is not supported (supported: {supported})")]
    UnsupportedVersion {
        /// The document's name.
        document: String,
        /// The format the document claims.
        format: SbomFormat,
        /// The version it claims.
        version: String,
        /// The versions that are supported, comma separated.
        supported: String,
    },
    /// The document breaks its schema.
    #[error(
        "{document}: {total} schema violation(s) against {schema}: {}",
        violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    Invalid {
        /// The document's name.
        document: String,
        /// The schema's file name.
        schema: &'static str,
        /// How many violations there are in all.
        total: usize,
        /// The first violations, at most [`crate::validation::MAX_REPORTED_VIOLATIONS`].
        violations: Vec<SchemaViolation>,
    },
    /// An embedded schema failed to compile (a defect of this crate, not of the document).
    #[error("embedded schema {schema} cannot be used: {reason}")]
    SchemaUnusable {
        /// The schema's file name.
        schema: &'static str,
        /// The compiler's message.
        reason: String,
    },
    /// A field the normaliser reads has the wrong shape.
    #[error("{document}: cannot read {path}: {reason}")]
    Unreadable {
        /// The document's name.
        document: String,
        /// Where in the document, as a JSON path (`components[3].licenses`).
        path: String,
        /// What was expected.
        reason: String,
    },
}
