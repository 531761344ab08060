//! Scan results: findings, their JSON document and table, and the policy that decides whether a
//! scan passes.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use serde::Serialize;

use crate::osv::FindingKind;
use crate::severity::Severity;
use crate::version::Ecosystem;

/// One advisory affecting one package version.
///
/// Serialized as `{"id", "aliases", "package", "version", "severity", "kind"}` (severity and
/// kind lower-case, severity `null` when the advisory has none); the ecosystem and summary are
/// for the table and callers, not the JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub id: String,
    pub aliases: Vec<String>,
    #[serde(skip)]
    pub ecosystem: Ecosystem,
    pub package: String,
    pub version: String,
    pub severity: Option<Severity>,
    pub kind: FindingKind,
    #[serde(skip)]
    pub summary: Option<String>,
}

impl Finding {
    /// The deterministic order of findings: ecosystem, package, version, advisory id, kind.
    pub fn sort_key_cmp(&self, other: &Finding) -> Ordering {
        (
            &self.ecosystem,
            &self.package,
            &self.version,
            &self.id,
            self.kind,
        )
            .cmp(&(
                &other.ecosystem,
                &other.package,
                &other.version,
                &other.id,
                other.kind,
            ))
    }
}

/// The JSON document of a scan: `{"findings": [...]}`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct FindingsDocument<'a> {
    pub findings: &'a [Finding],
}

/// When a scan fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanPolicy {
    /// Vulnerabilities at or above this severity fail the scan; `None`: never by severity.
    pub fail_on: Option<Severity>,
    /// The severity assumed for a vulnerability whose advisory gives none.
    pub unscored_as: Severity,
    /// Findings of these kinds fail the scan whatever their severity (e.g. `unsound`).
    pub fail_on_kinds: BTreeSet<FindingKind>,
}

impl Default for ScanPolicy {
    /// Like cargo-audit: every vulnerability fails, warnings do not.
    fn default() -> Self {
        ScanPolicy {
            fail_on: Some(Severity::None),
            unscored_as: Severity::Critical,
            fail_on_kinds: BTreeSet::new(),
        }
    }
}

impl ScanPolicy {
    /// Whether one finding breaks the policy.
    pub fn is_violated_by(&self, finding: &Finding) -> bool {
        if self.fail_on_kinds.contains(&finding.kind) {
            return true;
        }
        finding.kind == FindingKind::Vulnerability
            && self
                .fail_on
                .is_some_and(|threshold| finding.severity.unwrap_or(self.unscored_as) >= threshold)
    }
}

/// The findings of a scan judged against a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanOutcome {
    pub findings: Vec<Finding>,
    pub policy_violations: Vec<Finding>,
    pub passes: bool,
}

/// Judges findings against a policy; the scan passes when nothing violates it.
pub fn evaluate(findings: Vec<Finding>, policy: &ScanPolicy) -> ScanOutcome {
    let policy_violations: Vec<Finding> = findings
        .iter()
        .filter(|finding| policy.is_violated_by(finding))
        .cloned()
        .collect();
    ScanOutcome {
        passes: policy_violations.is_empty(),
        findings,
        policy_violations,
    }
}

/// The findings as a text table (ID, package, version, kind, severity, summary) for a terminal.
pub fn render_table(findings: &[Finding]) -> String {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(140)
        .set_header(["ID", "Package", "Version", "Kind", "Severity", "Summary"]);
    for finding in findings {
        table.add_row([
            finding.id.clone(),
            finding.package.clone(),
            finding.version.clone(),
            finding.kind.to_string(),
            finding
                .severity
                .map_or_else(|| "-".to_owned(), |severity| severity.to_string()),
            finding.summary.clone().unwrap_or_default(),
        ]);
    }
    table.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(id: &str, kind: FindingKind, severity: Option<Severity>) -> Finding {
        Finding {
            id: id.to_owned(),
            aliases: vec!["CVE-1".to_owned()],
            ecosystem: Ecosystem::CratesIo,
            package: "pkg".to_owned(),
            version: "1.0.0".to_owned(),
            severity,
            kind,
            summary: Some(format!("about {id}")),
        }
    }

    fn check(policy: &ScanPolicy, cases: &[(FindingKind, Option<Severity>, bool)]) {
        for (kind, severity, violates) in cases {
            let candidate = finding("X", *kind, *severity);
            assert_eq!(
                policy.is_violated_by(&candidate),
                *violates,
                "{policy:?} {kind} {severity:?}"
            );
        }
    }

    #[test]
    fn policies() {
        check(
            &ScanPolicy::default(),
            &[
                (FindingKind::Vulnerability, Some(Severity::None), true),
                (FindingKind::Vulnerability, None, true),
                (FindingKind::Unsound, Some(Severity::Critical), false),
                (FindingKind::Unmaintained, None, false),
            ],
        );
        let high_and_unsound = ScanPolicy {
            fail_on: Some(Severity::High),
            unscored_as: Severity::Medium,
            fail_on_kinds: [FindingKind::Unsound].into(),
        };
        check(
            &high_and_unsound,
            &[
                (FindingKind::Vulnerability, Some(Severity::Medium), false),
                (FindingKind::Vulnerability, Some(Severity::High), true),
                (FindingKind::Vulnerability, Some(Severity::Critical), true),
                (FindingKind::Vulnerability, None, false),
                (FindingKind::Unsound, None, true),
                (FindingKind::Notice, Some(Severity::Critical), false),
            ],
        );
        let never = ScanPolicy {
            fail_on: None,
            ..ScanPolicy::default()
        };
        check(
            &never,
            &[(FindingKind::Vulnerability, Some(Severity::Critical), false)],
        );
    }

    #[test]
    fn outcome_lists_violations() {
        let findings = vec![
            finding("A", FindingKind::Vulnerability, Some(Severity::Low)),
            finding("B", FindingKind::Unmaintained, None),
        ];
        let outcome = evaluate(findings.clone(), &ScanPolicy::default());
        assert!(!outcome.passes);
        assert_eq!(outcome.policy_violations, [findings[0].clone()]);
        let lenient = ScanPolicy {
            fail_on: Some(Severity::High),
            ..ScanPolicy::default()
        };
        let outcome = evaluate(findings, &lenient);
        assert!(outcome.passes && outcome.policy_violations.is_empty());
    }

    #[test]
    fn json_shape() {
        let findings = [
            finding("A", FindingKind::Vulnerability, Some(Severity::High)),
            finding("B", FindingKind::Unsound, None),
        ];
        let json = serde_json::to_value(FindingsDocument {
            findings: &findings,
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"findings": [
                {"id": "A", "aliases": ["CVE-1"], "package": "pkg", "version": "1.0.0", "severity": "high", "kind": "vulnerability"},
                {"id": "B", "aliases": ["CVE-1"], "package": "pkg", "version": "1.0.0", "severity": null, "kind": "unsound"}
            ]})
        );
    }

    #[test]
    fn table_has_a_row_per_finding() {
        let findings = [
            finding(
                "RUSTSEC-1",
                FindingKind::Vulnerability,
                Some(Severity::Critical),
            ),
            finding("RUSTSEC-2", FindingKind::Notice, None),
        ];
        let table = render_table(&findings);
        for expected in [
            "ID",
            "Severity",
            "RUSTSEC-1",
            "critical",
            "about RUSTSEC-1",
            "RUSTSEC-2",
            "notice",
        ] {
            assert!(table.contains(expected), "{expected} missing from\n{table}");
        }
        assert_eq!(
            table
                .lines()
                .filter(|line| line.contains("RUSTSEC-"))
                .count(),
            2
        );
    }
}
