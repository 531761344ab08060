//! Detection of an SBOM's format and validation against the official JSON schemas.
//!
//! The schemas are vendored under `schemas/` (see `schemas/README.md` for their sources and
//! licences) and embedded in the binary; every `$ref` between them is registered by its `$id`, so
//! validation never touches the network. Each schema is compiled once, on first use.

use std::fmt;
use std::sync::OnceLock;

use jsonschema::{Registry, Validator};
use serde::Serialize;
use serde_json::Value;

use crate::SbomError;

/// At most this many schema violations are reported for one document.
pub const MAX_REPORTED_VIOLATIONS: usize = 50;

/// A violation's reason quotes the failing value; longer reasons are cut to this many characters.
const MAX_REASON_CHARS: usize = 240;

/// The two SBOM formats Slipway reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SbomFormat {
    /// OWASP CycloneDX, JSON encoding.
    #[serde(rename = "cyclonedx")]
    CycloneDx,
    /// SPDX 2.3, JSON encoding.
    Spdx,
}

impl fmt::Display for SbomFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::CycloneDx => "CycloneDX",
            Self::Spdx => "SPDX",
        })
    }
}

/// The schema a document is checked against: its format and specification version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaVersion {
    /// CycloneDX 1.2.
    CycloneDx1_2,
    /// CycloneDX 1.4.
    CycloneDx1_4,
    /// CycloneDX 1.5.
    CycloneDx1_5,
    /// CycloneDX 1.6.
    CycloneDx1_6,
    /// SPDX 2.3.
    Spdx2_3,
}

/// The CycloneDX `specVersion`s with an embedded schema.
pub const SUPPORTED_CYCLONEDX_VERSIONS: &[&str] = &["1.2", "1.4", "1.5", "1.6"];

impl SchemaVersion {
    /// The format this schema belongs to.
    #[must_use]
    pub fn format(self) -> SbomFormat {
        match self {
            Self::Spdx2_3 => SbomFormat::Spdx,
            _ => SbomFormat::CycloneDx,
        }
    }

    /// The specification version as documents spell it (`1.6`, `SPDX-2.3`).
    #[must_use]
    pub fn spec_version(self) -> &'static str {
        match self {
            Self::CycloneDx1_2 => "1.2",
            Self::CycloneDx1_4 => "1.4",
            Self::CycloneDx1_5 => "1.5",
            Self::CycloneDx1_6 => "1.6",
            Self::Spdx2_3 => "SPDX-2.3",
        }
    }

    /// The file name of the embedded schema, for messages.
    #[must_use]
    pub fn schema_name(self) -> &'static str {
        match self {
            Self::CycloneDx1_2 => "bom-1.2.schema.json",
            Self::CycloneDx1_4 => "bom-1.4.schema.json",
            Self::CycloneDx1_5 => "bom-1.5.schema.json",
            Self::CycloneDx1_6 => "bom-1.6.schema.json",
            Self::Spdx2_3 => "spdx-schema.json",
        }
    }

    fn schema_text(self) -> &'static str {
        match self {
            Self::CycloneDx1_2 => include_str!("../schemas/cyclonedx/bom-1.2.schema.json"),
            Self::CycloneDx1_4 => include_str!("../schemas/cyclonedx/bom-1.4.schema.json"),
            Self::CycloneDx1_5 => include_str!("../schemas/cyclonedx/bom-1.5.schema.json"),
            Self::CycloneDx1_6 => include_str!("../schemas/cyclonedx/bom-1.6.schema.json"),
            Self::Spdx2_3 => include_str!("../schemas/spdx-2.3/spdx-schema.json"),
        }
    }

    fn cell(self) -> &'static OnceLock<Result<Validator, String>> {
        static CDX_1_2: OnceLock<Result<Validator, String>> = OnceLock::new();
        static CDX_1_4: OnceLock<Result<Validator, String>> = OnceLock::new();
        static CDX_1_5: OnceLock<Result<Validator, String>> = OnceLock::new();
        static CDX_1_6: OnceLock<Result<Validator, String>> = OnceLock::new();
        static SPDX_2_3: OnceLock<Result<Validator, String>> = OnceLock::new();
        match self {
            Self::CycloneDx1_2 => &CDX_1_2,
            Self::CycloneDx1_4 => &CDX_1_4,
            Self::CycloneDx1_5 => &CDX_1_5,
            Self::CycloneDx1_6 => &CDX_1_6,
            Self::Spdx2_3 => &SPDX_2_3,
        }
    }

    /// The compiled validator, built on first use and shared afterwards.
    fn validator(self) -> Result<&'static Validator, SbomError> {
        self.cell()
            .get_or_init(|| compile(self))
            .as_ref()
            .map_err(|reason| SbomError::SchemaUnusable {
                schema: self.schema_name(),
                reason: reason.clone(),
            })
    }
}

/// Which format and version a document claims, from `bomFormat`/`specVersion` (CycloneDX) or
/// `spdxVersion` (SPDX).
///
/// # Errors
///
/// [`SbomError::UnknownFormat`] when the document is neither, [`SbomError::UnsupportedVersion`]
/// when it is one of them in a version without an embedded schema.
pub fn detect(document: &str, sbom: &Value) -> Result<SchemaVersion, SbomError> {
    let Some(object) = sbom.as_object() else {
        return Err(SbomError::UnknownFormat {
            document: document.to_owned(),
            reason: "the document is not a JSON object".to_owned(),
        });
    };
    if let Some(bom_format) = object.get("bomFormat") {
        if bom_format.as_str() != Some("CycloneDX") {
            return Err(SbomError::UnknownFormat {
                document: document.to_owned(),
                reason: format!("bomFormat is {bom_format}, expected \"CycloneDX\""),
            });
        }
        let version = object.get("specVersion").and_then(Value::as_str);
        return match version {
            Some("1.2") => Ok(SchemaVersion::CycloneDx1_2),
            Some("1.4") => Ok(SchemaVersion::CycloneDx1_4),
            Some("1.5") => Ok(SchemaVersion::CycloneDx1_5),
            Some("1.6") => Ok(SchemaVersion::CycloneDx1_6),
            other => Err(SbomError::UnsupportedVersion {
                document: document.to_owned(),
                format: SbomFormat::CycloneDx,
                version: other.map_or_else(|| "(missing)".to_owned(), str::to_owned),
                supported: SUPPORTED_CYCLONEDX_VERSIONS.join(", "),
            }),
        };
    }
    if let Some(spdx_version) = object.get("spdxVersion") {
        return match spdx_version.as_str() {
            Some("SPDX-2.3") => Ok(SchemaVersion::Spdx2_3),
            other => Err(SbomError::UnsupportedVersion {
                document: document.to_owned(),
                format: SbomFormat::Spdx,
                version: other.map_or_else(|| spdx_version.to_string(), str::to_owned),
                supported: "SPDX-2.3".to_owned(),
            }),
        };
    }
    Err(SbomError::UnknownFormat {
        document: document.to_owned(),
        reason: "it has neither \"bomFormat\" (CycloneDX) nor \"spdxVersion\" (SPDX)".to_owned(),
    })
}

/// One place where a document breaks its schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchemaViolation {
    /// JSON pointer to the failing value (`""` for the document itself).
    pub instance_path: String,
    /// The schema keyword that failed (`required`, `enum`, `format`, ...).
    pub keyword: String,
    /// What is wrong, in the validator's words.
    pub reason: String,
}

impl fmt::Display for SchemaViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.instance_path.is_empty() {
            "/"
        } else {
            &self.instance_path
        };
        write!(f, "at {path}: {} ({})", self.reason, self.keyword)
    }
}

/// Detects the document's format and validates it against its schema.
///
/// # Errors
///
/// [`SbomError::Invalid`] with every violation (up to [`MAX_REPORTED_VIOLATIONS`]), or the
/// errors of [`detect`].
pub fn validate(document: &str, sbom: &Value) -> Result<SchemaVersion, SbomError> {
    let version = detect(document, sbom)?;
    validate_as(document, sbom, version)?;
    Ok(version)
}

/// Validates a document against the given schema, whatever the document claims to be.
///
/// # Errors
///
/// [`SbomError::Invalid`] with every violation (up to [`MAX_REPORTED_VIOLATIONS`]).
pub fn validate_as(document: &str, sbom: &Value, version: SchemaVersion) -> Result<(), SbomError> {
    let validator = version.validator()?;
    if validator.is_valid(sbom) {
        return Ok(());
    }
    let mut violations = Vec::new();
    let mut total = 0_usize;
    for error in validator.iter_errors(sbom) {
        total += 1;
        if violations.len() < MAX_REPORTED_VIOLATIONS {
            violations.push(SchemaViolation {
                instance_path: error.instance_path().to_string(),
                keyword: error.kind().keyword().to_owned(),
                reason: shortened(error.to_string()),
            });
        }
    }
    Err(SbomError::Invalid {
        document: document.to_owned(),
        schema: version.schema_name(),
        total,
        violations,
    })
}

/// The reason, cut after [`MAX_REASON_CHARS`] characters with an ellipsis.
fn shortened(reason: String) -> String {
    match reason.char_indices().nth(MAX_REASON_CHARS) {
        Some((cut, _)) => format!("{}…", &reason[..cut]),
        None => reason,
    }
}

const CYCLONEDX_SPDX_ID: &str = "http://cyclonedx.org/schema/spdx.schema.json";
const CYCLONEDX_JSF_ID: &str = "http://cyclonedx.org/schema/jsf-0.82.schema.json";

/// The schemas CycloneDX's bom schemas refer to, registered by their `$id`.
fn cyclonedx_registry() -> Result<&'static Registry<'static>, String> {
    static REGISTRY: OnceLock<Result<Registry<'static>, String>> = OnceLock::new();
    REGISTRY
        .get_or_init(|| {
            let spdx = parse_schema(include_str!("../schemas/cyclonedx/spdx.schema.json"))?;
            let jsf = parse_schema(include_str!("../schemas/cyclonedx/jsf-0.82.schema.json"))?;
            Registry::new()
                .add(CYCLONEDX_SPDX_ID, spdx)
                .and_then(|builder| builder.add(CYCLONEDX_JSF_ID, jsf))
                .and_then(jsonschema::RegistryBuilder::prepare)
                .map_err(|error| format!("registering the referenced schemas failed: {error}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

fn parse_schema(text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|error| format!("the embedded schema is not JSON: {error}"))
}

/// Compiles one schema with formats asserted: CycloneDX's JSF `algorithm` is a `oneOf` of an enum
/// and a `format: uri` string, which only works when `uri` is checked. The crate's built-in `uri`,
/// `idn-email` and `iri-reference` checks agree with every upstream fixture.
fn compile(version: SchemaVersion) -> Result<Validator, String> {
    let schema = parse_schema(version.schema_text())?;
    let options = jsonschema::options()
        .should_validate_formats(true)
        .offline();
    let built = match version.format() {
        SbomFormat::CycloneDx => options.with_registry(cyclonedx_registry()?).build(&schema),
        SbomFormat::Spdx => options.build(&schema),
    };
    built.map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::{MAX_REASON_CHARS, shortened};

    #[test]
    fn long_reasons_are_cut_on_a_character_boundary() {
        assert_eq!(shortened("short".to_owned()), "short");
        let long = "é".repeat(MAX_REASON_CHARS + 10);
        let cut = shortened(long);
        assert_eq!(cut.chars().count(), MAX_REASON_CHARS + 1);
        assert!(cut.ends_with('…'));
    }
}
