//! OSV records: parsing one JSON record (schema fields a scanner needs) into a normalized
//! [`Advisory`], with severities derived from CVSS vectors and RustSec's informational kinds.
//!
//! Pure: takes the record's bytes and a name for it (the file), returns values.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::severity::{Severity, cvss_v3_base_score, cvss_v4_approximate_score};
use crate::version::Ecosystem;

/// What an advisory (for one affected package) reports: a vulnerability, or one of RustSec's
/// informational kinds; `Yanked` is a kind of finding only (a registry fact, never in OSV data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingKind {
    Vulnerability,
    Unmaintained,
    Unsound,
    Yanked,
    Notice,
}

impl FindingKind {
    /// The lower-case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Vulnerability => "vulnerability",
            FindingKind::Unmaintained => "unmaintained",
            FindingKind::Unsound => "unsound",
            FindingKind::Yanked => "yanked",
            FindingKind::Notice => "notice",
        }
    }
}

impl std::fmt::Display for FindingKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for FindingKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "vulnerability" => Ok(FindingKind::Vulnerability),
            "unmaintained" => Ok(FindingKind::Unmaintained),
            "unsound" => Ok(FindingKind::Unsound),
            "yanked" => Ok(FindingKind::Yanked),
            "notice" => Ok(FindingKind::Notice),
            other => Err(format!(
                "unknown finding kind {other:?}: expected vulnerability, unmaintained, unsound, yanked or notice"
            )),
        }
    }
}

/// One event of an affected range, its version kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RangeEvent {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    Limit(String),
}

/// A `SEMVER` or `ECOSYSTEM` range (`GIT` ranges are dropped at parse time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffectedRange {
    pub events: Vec<RangeEvent>,
}

/// One `affected[]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffectedPackage {
    pub ecosystem: Ecosystem,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<AffectedRange>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    /// The entry's own severity (`affected[].severity`), overriding the record's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// From `database_specific.informational` (RustSec): absent or null → vulnerability.
    pub kind: FindingKind,
}

/// A normalized OSV record: what a scan needs, nothing more (no details, references, credits).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advisory {
    pub id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    pub modified: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The record's severity: a CVSS v3 vector's score, else a CVSS v4 approximation, else
    /// `database_specific.severity` (GitHub's `LOW`/`MODERATE`/`HIGH`/`CRITICAL`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    pub affected: Vec<AffectedPackage>,
}

/// A record that is not a usable OSV record; names the file (or archive entry) and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("osv record {source_name}: field {field}: {message}")]
pub struct OsvError {
    pub source_name: String,
    pub field: String,
    pub message: String,
}

#[derive(Deserialize)]
struct RawRecord {
    id: String,
    modified: String,
    #[serde(default)]
    published: Option<String>,
    #[serde(default)]
    withdrawn: Option<String>,
    #[serde(default)]
    aliases: Option<Vec<String>>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    severity: Option<Vec<RawSeverity>>,
    #[serde(default)]
    affected: Option<Vec<RawAffected>>,
    #[serde(default)]
    database_specific: Option<Value>,
}

#[derive(Deserialize)]
struct RawSeverity {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Deserialize)]
struct RawAffected {
    #[serde(default)]
    package: Option<RawPackage>,
    #[serde(default)]
    ranges: Option<Vec<RawRange>>,
    #[serde(default)]
    versions: Option<Vec<String>>,
    #[serde(default)]
    severity: Option<Vec<RawSeverity>>,
    #[serde(default)]
    database_specific: Option<Value>,
}

#[derive(Deserialize)]
struct RawPackage {
    ecosystem: String,
    name: String,
    #[serde(default)]
    purl: Option<String>,
}

#[derive(Deserialize)]
struct RawRange {
    #[serde(rename = "type")]
    kind: String,
    events: Vec<RawEvent>,
}

#[derive(Deserialize)]
struct RawEvent {
    #[serde(default)]
    introduced: Option<String>,
    #[serde(default)]
    fixed: Option<String>,
    #[serde(default)]
    last_affected: Option<String>,
    #[serde(default)]
    limit: Option<String>,
}

/// The severity of a list of `severity[]` entries: CVSS v3 first, then v4 (approximate).
/// Vectors that do not score (malformed, or v2/other types) are skipped.
fn severity_of(entries: &[RawSeverity]) -> Option<Severity> {
    let by_type = |kind: &str, score: fn(&str) -> Result<f64, crate::severity::CvssError>| {
        entries
            .iter()
            .filter(|entry| entry.kind == kind)
            .find_map(|entry| score(entry.score.trim()).ok())
            .map(Severity::from_score)
    };
    by_type("CVSS_V3", cvss_v3_base_score).or_else(|| by_type("CVSS_V4", cvss_v4_approximate_score))
}

/// Parses one OSV JSON record. `source_name` names it in errors (file path or archive entry).
///
/// Required: `id`, `modified`; each `affected[]` with a `package` needs `ecosystem` and `name`;
/// each range event exactly one of `introduced`/`fixed`/`last_affected`/`limit`. Entries without
/// a package (OSV allows them for git-only records) and `GIT` ranges are dropped.
pub fn parse_record(source_name: &str, bytes: &[u8]) -> Result<Advisory, OsvError> {
    let error = |field: String, message: String| OsvError {
        source_name: source_name.to_owned(),
        field,
        message,
    };
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let raw: RawRecord =
        serde_path_to_error::deserialize(&mut deserializer).map_err(|failure| {
            let path = failure.path().to_string();
            let inner = failure.into_inner();
            error(
                if path == "." {
                    "(document)".to_owned()
                } else {
                    path
                },
                inner.to_string(),
            )
        })?;
    deserializer
        .end()
        .map_err(|failure| error("(document)".to_owned(), failure.to_string()))?;
    if raw.id.trim().is_empty() {
        return Err(error("id".to_owned(), "is empty".to_owned()));
    }

    let database_severity = match raw
        .database_specific
        .as_ref()
        .and_then(|specific| specific.get("severity"))
    {
        Some(Value::String(text)) => text.parse::<Severity>().ok(),
        _ => None,
    };
    let severity = raw
        .severity
        .as_deref()
        .and_then(severity_of)
        .or(database_severity);

    let mut affected = Vec::new();
    for (index, entry) in raw.affected.unwrap_or_default().into_iter().enumerate() {
        let Some(package) = entry.package else {
            continue;
        };
        let field = |suffix: &str| format!("affected[{index}].{suffix}");
        if package.name.trim().is_empty() {
            return Err(error(field("package.name"), "is empty".to_owned()));
        }
        let kind = match entry
            .database_specific
            .as_ref()
            .and_then(|specific| specific.get("informational"))
        {
            None | Some(Value::Null) => FindingKind::Vulnerability,
            Some(Value::String(text)) => match text.as_str() {
                "unmaintained" => FindingKind::Unmaintained,
                "unsound" => FindingKind::Unsound,
                // RustSec's "notice" and any informational kind it adds later.
                _ => FindingKind::Notice,
            },
            Some(other) => {
                return Err(error(
                    field("database_specific.informational"),
                    format!("expected null or a string, found {other}"),
                ));
            }
        };
        let mut ranges = Vec::new();
        for (range_index, range) in entry.ranges.unwrap_or_default().into_iter().enumerate() {
            match range.kind.as_str() {
                "SEMVER" | "ECOSYSTEM" => {}
                "GIT" => continue,
                other => {
                    return Err(error(
                        field(&format!("ranges[{range_index}].type")),
                        format!("unknown range type {other:?}: expected SEMVER, ECOSYSTEM or GIT"),
                    ));
                }
            }
            let mut events = Vec::with_capacity(range.events.len());
            for (event_index, event) in range.events.into_iter().enumerate() {
                let parsed = match (
                    event.introduced,
                    event.fixed,
                    event.last_affected,
                    event.limit,
                ) {
                    (Some(version), None, None, None) => RangeEvent::Introduced(version),
                    (None, Some(version), None, None) => RangeEvent::Fixed(version),
                    (None, None, Some(version), None) => RangeEvent::LastAffected(version),
                    (None, None, None, Some(version)) => RangeEvent::Limit(version),
                    _ => {
                        return Err(error(
                            field(&format!("ranges[{range_index}].events[{event_index}]")),
                            "expected exactly one of introduced, fixed, last_affected, limit"
                                .to_owned(),
                        ));
                    }
                };
                events.push(parsed);
            }
            ranges.push(AffectedRange { events });
        }
        let ecosystem = Ecosystem::from_osv_name(package.ecosystem.trim());
        affected.push(AffectedPackage {
            name: ecosystem.normalize_name(&package.name),
            ecosystem,
            purl: package.purl,
            ranges,
            versions: entry.versions.unwrap_or_default(),
            severity: entry.severity.as_deref().and_then(severity_of),
            kind,
        });
    }

    Ok(Advisory {
        id: raw.id,
        aliases: raw.aliases.unwrap_or_default(),
        modified: raw.modified,
        published: raw.published,
        withdrawn: raw.withdrawn,
        summary: raw.summary,
        severity,
        affected,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: &str = r#"{
      "id": "RUSTSEC-2099-0001", "modified": "2099-01-02T00:00:00Z",
      "published": "2099-01-01T00:00:00Z", "aliases": ["CVE-2099-1", "GHSA-xxxx"],
      "summary": "bad thing", "details": "long text",
      "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
      "affected": [
        {"package": {"ecosystem": "crates.io", "name": "foo", "purl": "pkg:cargo/foo"},
         "ranges": [
           {"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.2.0"}]},
           {"type": "GIT", "repo": "https://x", "events": [{"introduced": "abc"}]}
         ],
         "database_specific": {"informational": null}},
        {"package": {"ecosystem": "PyPI", "name": "Foo_Bar"},
         "versions": ["1.0"],
         "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N"}],
         "database_specific": {"informational": "unsound"}},
        {"ranges": [{"type": "GIT", "repo": "https://y", "events": [{"introduced": "0"}]}]}
      ]
    }"#;

    #[test]
    fn record_fields_are_normalized() {
        let advisory = parse_record("a.json", RECORD.as_bytes()).unwrap();
        assert_eq!(advisory.id, "RUSTSEC-2099-0001");
        assert_eq!(advisory.aliases, ["CVE-2099-1", "GHSA-xxxx"]);
        assert_eq!(advisory.severity, Some(Severity::Critical));
        assert_eq!(advisory.summary.as_deref(), Some("bad thing"));
        assert_eq!(
            advisory.affected.len(),
            2,
            "the package-less entry is dropped"
        );
        let crate_entry = &advisory.affected[0];
        assert_eq!(crate_entry.kind, FindingKind::Vulnerability);
        assert_eq!(
            crate_entry.ranges,
            [AffectedRange {
                events: vec![
                    RangeEvent::Introduced("0".into()),
                    RangeEvent::Fixed("1.2.0".into())
                ]
            }],
            "the GIT range is dropped"
        );
        let python_entry = &advisory.affected[1];
        assert_eq!(python_entry.name, "foo-bar");
        assert_eq!(python_entry.ecosystem, Ecosystem::PyPi);
        assert_eq!(python_entry.kind, FindingKind::Unsound);
        assert_eq!(python_entry.severity, Some(Severity::Medium));
        assert_eq!(python_entry.versions, ["1.0"]);
    }

    #[test]
    fn severity_falls_back_to_v4_then_database_specific() {
        let v4 = r#"{"id": "X", "modified": "m", "severity": [
            {"type": "CVSS_V2", "score": "AV:N/AC:L/Au:N/C:P/I:P/A:P"},
            {"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}],
            "database_specific": {"severity": "LOW"}}"#;
        assert_eq!(
            parse_record("v4", v4.as_bytes()).unwrap().severity,
            Some(Severity::Critical)
        );
        let ghsa = r#"{"id": "X", "modified": "m", "severity": [{"type": "CVSS_V3", "score": "garbage"}],
            "database_specific": {"severity": "MODERATE"}}"#;
        assert_eq!(
            parse_record("ghsa", ghsa.as_bytes()).unwrap().severity,
            Some(Severity::Medium)
        );
        let none = r#"{"id": "X", "modified": "m"}"#;
        assert_eq!(
            parse_record("none", none.as_bytes()).unwrap().severity,
            None
        );
    }

    #[test]
    fn informational_kinds() {
        for (informational, kind) in [
            ("null", FindingKind::Vulnerability),
            ("\"unmaintained\"", FindingKind::Unmaintained),
            ("\"unsound\"", FindingKind::Unsound),
            ("\"notice\"", FindingKind::Notice),
        ] {
            let record = format!(
                r#"{{"id": "X", "modified": "m", "affected": [{{"package": {{"ecosystem": "crates.io", "name": "a"}},
                "database_specific": {{"informational": {informational}}}}}]}}"#
            );
            let advisory = parse_record("k", record.as_bytes()).unwrap();
            assert_eq!(advisory.affected[0].kind, kind, "{informational}");
        }
    }

    fn check_error(record: &str, field: &str, message: &str) {
        let error = parse_record("bad.json", record.as_bytes()).unwrap_err();
        assert_eq!(error.source_name, "bad.json");
        assert_eq!(error.field, field, "{error}");
        assert!(error.message.contains(message), "{error}");
        assert!(
            error.to_string().starts_with("osv record bad.json: field "),
            "{error}"
        );
    }

    #[test]
    fn malformed_records_name_the_field() {
        check_error("not json", "(document)", "expected");
        check_error("{}", "(document)", "missing field `id`");
        check_error(r#"{"id": 5, "modified": "m"}"#, "id", "invalid type");
        check_error(r#"{"id": " ", "modified": "m"}"#, "id", "is empty");
        check_error(
            r#"{"id": "X", "modified": "m"} trailing"#,
            "(document)",
            "trailing",
        );
        check_error(
            r#"{"id": "X", "modified": "m", "affected": [{"package": {"ecosystem": "npm"}}]}"#,
            "affected[0].package",
            "missing field `name`",
        );
        check_error(
            r#"{"id": "X", "modified": "m", "affected": [{"package": {"ecosystem": "npm", "name": "a"},
               "ranges": [{"type": "SEMVER", "events": [{"introduced": "0", "fixed": "1"}]}]}]}"#,
            "affected[0].ranges[0].events[0]",
            "exactly one of",
        );
        check_error(
            r#"{"id": "X", "modified": "m", "affected": [{"package": {"ecosystem": "npm", "name": "a"},
               "ranges": [{"type": "SEMVER", "events": [{}]}, {"type": "HG", "events": []}]}]}"#,
            "affected[0].ranges[0].events[0]",
            "exactly one of",
        );
        check_error(
            r#"{"id": "X", "modified": "m", "affected": [{"package": {"ecosystem": "npm", "name": "a"},
               "ranges": [{"type": "HG", "events": []}]}]}"#,
            "affected[0].ranges[0].type",
            "unknown range type \"HG\"",
        );
        check_error(
            r#"{"id": "X", "modified": "m", "affected": [{"package": {"ecosystem": "npm", "name": "a"},
               "database_specific": {"informational": 3}}]}"#,
            "affected[0].database_specific.informational",
            "expected null or a string",
        );
        check_error(
            r#"{"id": "X", "modified": "m", "affected": [{"package": {"ecosystem": "npm", "name": ""}}]}"#,
            "affected[0].package.name",
            "is empty",
        );
    }
}
