//! An environment's promotion policy judged against an Artifact's `status.supplyChain` (written
//! by the API when documents are pushed or attached): one gate rule per policy item
//! (`supply-chain:signature`, `supply-chain:vulnerabilities`, `supply-chain:licenses`,
//! `supply-chain:sarif`, `supply-chain:provenance`), each saying what it found. A failing rule
//! denies the deployment: the artifact does not change by waiting.

use serde_json::Value;
use slipway_domain::governance_records::GateRuleOutcome;
use slipway_domain::kinds::{PromotionPolicy, SarifFailLevel, SeverityLevel};

/// The gate rules of `policy` for an artifact whose `status.supplyChain` is `supply` (`None`
/// when it was never assessed, e.g. an artifact not held in the artifact store).
pub fn supply_chain_rules(
    policy: &PromotionPolicy,
    artifact: &str,
    supply: Option<&Value>,
) -> Vec<GateRuleOutcome> {
    let mut rules = Vec::new();
    let unassessed = || {
        format!(
            "artifact {artifact} has no supply-chain status (push it to the artifact store and attach its documents)"
        )
    };
    let outcome = |rule: &str, result: Result<String, String>| {
        let (passed, detail) = match result {
            Ok(detail) => (true, detail),
            Err(detail) => (false, detail),
        };
        GateRuleOutcome {
            rule: format!("supply-chain:{rule}"),
            passed,
            detail,
        }
    };
    if policy.require_signature {
        let result = match supply {
            None => Err(unassessed()),
            Some(s) if s.get("signed").and_then(Value::as_bool) == Some(true) => Ok(format!(
                "signed: {}",
                s.get("signatures")
                    .map(Value::to_string)
                    .unwrap_or_default()
            )),
            Some(_) => Err(format!(
                "artifact {artifact} carries no signature that verifies (a Slipway signature by the server's key, or a verified Sigstore bundle)"
            )),
        };
        rules.push(outcome("signature", result));
    }
    if policy.require_scan || policy.max_severity.is_some() {
        let result = supply.map_or_else(
            || Err(unassessed()),
            |s| vulnerability_rule(policy.max_severity, artifact, s),
        );
        rules.push(outcome("vulnerabilities", result));
    }
    if let Some(licenses) = &policy.licenses {
        let result = supply.map_or_else(
            || Err(unassessed()),
            |s| license_rule(licenses, artifact, s),
        );
        rules.push(outcome("licenses", result));
    }
    if let Some(level) = policy.sarif_fail_on {
        let result = supply.map_or_else(|| Err(unassessed()), |s| sarif_rule(level, artifact, s));
        rules.push(outcome("sarif", result));
    }
    if policy.require_provenance {
        let provenance = supply
            .and_then(|s| s.get("provenance"))
            .filter(|p| !p.is_null());
        let result = match provenance {
            _ if supply.is_none() => Err(unassessed()),
            Some(p) if p.get("verified").and_then(Value::as_bool) == Some(true) => Ok(format!(
                "SLSA provenance from builder {} (source {})",
                p.get("builder").and_then(Value::as_str).unwrap_or("?"),
                p.get("source").and_then(Value::as_str).unwrap_or("unknown")
            )),
            Some(_) => Err(format!(
                "artifact {artifact}'s provenance is not signed by this server or names another file"
            )),
            None => Err(format!(
                "artifact {artifact} has no SLSA provenance (push it with --pipeline-id)"
            )),
        };
        rules.push(outcome("provenance", result));
    }
    rules
}

fn severity_rank(name: &str) -> SeverityLevel {
    match name {
        "low" => SeverityLevel::Low,
        "medium" => SeverityLevel::Medium,
        "high" => SeverityLevel::High,
        "none" => SeverityLevel::None,
        _ => SeverityLevel::Critical,
    }
}

fn vulnerability_rule(
    max: Option<SeverityLevel>,
    artifact: &str,
    supply: &Value,
) -> Result<String, String> {
    if supply.get("scanned").and_then(Value::as_bool) != Some(true) {
        let why = if supply.get("sbom").and_then(Value::as_bool) == Some(true) {
            "the server has no vulnerability database (slipway vulndb import --remote)"
        } else {
            "no SBOM is attached"
        };
        return Err(format!("artifact {artifact} was not scanned: {why}"));
    }
    let counts = supply
        .get("vulnerabilities")
        .cloned()
        .unwrap_or(Value::Null);
    let count = |k: &str| counts.get(k).and_then(Value::as_u64).unwrap_or(0);
    let summary = format!(
        "{} critical, {} high, {} medium, {} low",
        count("critical"),
        count("high"),
        count("medium"),
        count("low")
    );
    let Some(max) = max else {
        return Ok(format!("scanned: {summary}"));
    };
    let over: Vec<String> = supply
        .get("findings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|f| {
            let severity = f
                .get("severity")
                .and_then(Value::as_str)
                .unwrap_or("critical");
            severity_rank(severity) > max
        })
        .map(|f| {
            format!(
                "{} {} {} ({})",
                f.get("id").and_then(Value::as_str).unwrap_or("?"),
                f.get("package").and_then(Value::as_str).unwrap_or("?"),
                f.get("version").and_then(Value::as_str).unwrap_or("?"),
                f.get("severity")
                    .and_then(Value::as_str)
                    .unwrap_or("critical"),
            )
        })
        .collect();
    if over.is_empty() {
        Ok(format!("nothing above {} ({summary})", max.as_str()))
    } else {
        Err(format!(
            "{} vulnerabilities above the allowed maximum {}: {}",
            over.len(),
            max.as_str(),
            over.join(", ")
        ))
    }
}

fn license_rule(policy: &Value, artifact: &str, supply: &Value) -> Result<String, String> {
    let policy: slipway_sbom::LicensePolicy = serde_json::from_value(policy.clone())
        .map_err(|e| format!("the environment's license policy is not valid: {e}"))?;
    if supply.get("sbom").and_then(Value::as_bool) != Some(true) {
        return Err(format!(
            "artifact {artifact} has no SBOM to check licences in"
        ));
    }
    let text = |c: &Value, k: &str| c.get(k).and_then(Value::as_str).map(str::to_owned);
    let components: Vec<slipway_sbom::Component> = supply
        .get("components")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| slipway_sbom::Component {
            reference: None,
            group: text(c, "group"),
            name: text(c, "name").unwrap_or_default(),
            version: text(c, "version"),
            purl: text(c, "purl"),
            licenses: text(c, "licenses"),
            hashes: Vec::new(),
            supplier: None,
        })
        .collect();
    let report = policy
        .evaluate(&components)
        .map_err(|e| format!("the environment's {e}"))?;
    let violations: Vec<String> = report
        .violations()
        .map(|f| format!("{}: {}", f.component, f.reason))
        .collect();
    if violations.is_empty() {
        Ok(format!(
            "{} components pass the licence policy",
            components.len()
        ))
    } else {
        Err(format!(
            "{} components break the licence policy: {}",
            violations.len(),
            violations.join("; ")
        ))
    }
}

fn sarif_rule(level: SarifFailLevel, artifact: &str, supply: &Value) -> Result<String, String> {
    let count = |k: &str| supply.get(k).and_then(Value::as_u64);
    let Some(errors) = count("sarifErrors") else {
        return Err(format!("artifact {artifact} has no SARIF log attached"));
    };
    let warnings = count("sarifWarnings").unwrap_or(0);
    let notes = count("sarifNotes").unwrap_or(0);
    let failing = match level {
        SarifFailLevel::Error => errors,
        SarifFailLevel::Warning => errors + warnings,
        SarifFailLevel::Note => errors + warnings + notes,
    };
    let summary = format!("{errors} errors, {warnings} warnings, {notes} notes");
    let name = match level {
        SarifFailLevel::Error => "error",
        SarifFailLevel::Warning => "warning",
        SarifFailLevel::Note => "note",
    };
    if failing == 0 {
        Ok(format!("no SARIF result at {name} or above ({summary})"))
    } else {
        Err(format!(
            "{failing} SARIF results at {name} or above ({summary})"
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors
    use super::*;
    use serde_json::json;

    /// Runs `policy` (YAML-like JSON) against `supply` and checks each rule's outcome and a
    /// fragment of its detail.
    fn check(policy: Value, supply: Option<Value>, expected: &[(&str, bool, &str)]) {
        let policy: PromotionPolicy = serde_json::from_value(policy).unwrap();
        let rules = supply_chain_rules(&policy, "payments-1-0-0", supply.as_ref());
        assert_eq!(rules.len(), expected.len(), "{rules:?}");
        for (rule, (name, passed, fragment)) in rules.iter().zip(expected) {
            assert_eq!(rule.rule, format!("supply-chain:{name}"));
            assert_eq!(rule.passed, *passed, "{rule:?}");
            assert!(
                rule.detail.contains(fragment),
                "{rule:?} lacks {fragment:?}"
            );
        }
    }

    fn scanned(findings: Value) -> Value {
        json!({"signed": true, "signatures": [{"kind": "slipway"}], "sbom": true, "scanned": true,
               "vulnerabilities": {"critical": 1, "high": 0, "medium": 0, "low": 0},
               "findings": findings,
               "components": [{"name": "smallvec", "version": "1.6.0", "licenses": "MIT OR Apache-2.0"},
                              {"name": "gpl-thing", "version": "1.0.0", "licenses": "GPL-3.0-only"}],
               "sarifErrors": 0, "sarifWarnings": 2, "sarifNotes": 0,
               "provenance": {"verified": true, "builder": "https://slipway.dev/builder/k", "source": "abc"}})
    }

    #[test]
    fn each_policy_item_is_one_rule_saying_what_failed() {
        let critical = json!([{"id": "RUSTSEC-2021-0003", "package": "smallvec", "version": "1.6.0", "severity": "critical"}]);
        check(
            json!({"requireSignature": true, "maxSeverity": "high"}),
            Some(scanned(critical.clone())),
            &[
                ("signature", true, "slipway"),
                (
                    "vulnerabilities",
                    false,
                    "RUSTSEC-2021-0003 smallvec 1.6.0 (critical)",
                ),
            ],
        );
        check(
            json!({"maxSeverity": "critical"}),
            Some(scanned(critical)),
            &[("vulnerabilities", true, "nothing above critical")],
        );
        check(
            json!({"licenses": {"deny": ["GPL-3.0-only"]}, "sarifFailOn": "warning", "requireProvenance": true}),
            Some(scanned(json!([]))),
            &[
                ("licenses", false, "gpl-thing"),
                ("sarif", false, "2 SARIF results at warning"),
                ("provenance", true, "abc"),
            ],
        );
        check(
            json!({"sarifFailOn": "error"}),
            Some(scanned(json!([]))),
            &[("sarif", true, "0 errors")],
        );
        check(json!({}), None, &[]);
    }

    #[test]
    fn missing_evidence_fails_every_required_item() {
        check(
            json!({"requireSignature": true, "requireScan": true, "requireProvenance": true}),
            None,
            &[
                ("signature", false, "no supply-chain status"),
                ("vulnerabilities", false, "no supply-chain status"),
                ("provenance", false, "no supply-chain status"),
            ],
        );
        let bare = json!({"signed": false, "sbom": false, "scanned": false, "provenance": null, "sarifErrors": null});
        check(
            json!({"requireSignature": true, "requireScan": true, "sarifFailOn": "error", "requireProvenance": true, "licenses": {}}),
            Some(bare),
            &[
                ("signature", false, "no signature"),
                ("vulnerabilities", false, "no SBOM"),
                ("licenses", false, "no SBOM"),
                ("sarif", false, "no SARIF"),
                ("provenance", false, "--pipeline-id"),
            ],
        );
        let unscanned = json!({"signed": true, "sbom": true, "scanned": false});
        check(
            json!({"requireScan": true}),
            Some(unscanned),
            &[("vulnerabilities", false, "no vulnerability database")],
        );
    }
}
