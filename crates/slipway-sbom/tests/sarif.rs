#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors
//! SARIF 2.1.0 summaries of tool-shaped logs (clippy, CodeQL, several runs), the level rules,
//! structural errors, and the fail-on policy.

use serde_json::json;
use slipway_sbom::{
    FailOn, LevelCounts, SarifError, SarifLevel, SarifPolicy, SarifSummary, parse_sarif, summarise,
};

fn fixture(name: &str) -> SarifSummary {
    let path = format!("{}/tests/fixtures/sarif/{name}", env!("CARGO_MANIFEST_DIR"));
    parse_sarif(name, &std::fs::read(path).unwrap()).unwrap_or_else(|error| panic!("{error}"))
}

fn counts(error: usize, warning: usize, note: usize, none: usize) -> LevelCounts {
    LevelCounts {
        error,
        warning,
        note,
        none,
    }
}

/// (rule id, level, uri, start line) of every result.
type Row<'a> = (Option<&'a str>, SarifLevel, Option<&'a str>, Option<u64>);

fn check(name: &str, tools: &[&str], expected_counts: LevelCounts, rows: &[Row<'_>]) {
    let summary = fixture(name);
    assert_eq!(summary.tools, tools, "{name}");
    assert_eq!(summary.counts, expected_counts, "{name}");
    let actual: Vec<Row<'_>> = summary
        .results
        .iter()
        .map(|r| {
            (
                r.rule_id.as_deref(),
                r.level,
                r.uri.as_deref(),
                r.start_line,
            )
        })
        .collect();
    assert_eq!(actual, rows, "{name}");
}

#[test]
fn tool_logs_are_summarised() {
    use SarifLevel::{Error, None, Note, Warning};
    check(
        "clippy.sarif",
        &["clippy"],
        counts(1, 2, 0, 0),
        &[
            (
                Some("clippy::unwrap_used"),
                Warning,
                Some("src/config.rs"),
                Some(42),
            ),
            (
                Some("clippy::needless_return"),
                Warning,
                Some("src/main.rs"),
                Some(7),
            ),
            (
                Some("clippy::absurd_extreme_comparisons"),
                Error,
                Some("src/limits.rs"),
                Some(3),
            ),
        ],
    );
    check(
        "codeql.sarif",
        &["CodeQL"],
        counts(1, 1, 1, 1),
        &[
            // no level: the rule's defaultConfiguration (by ruleIndex)
            (
                Some("js/sql-injection"),
                Error,
                Some("routes/login.ts"),
                Some(34),
            ),
            // no level: the rule's defaultConfiguration (by ruleId)
            (
                Some("js/unused-local-variable"),
                Note,
                Some("lib/insecurity.ts"),
                Some(12),
            ),
            // rule without defaultConfiguration: warning; rule id from `rule.id`
            (
                Some("js/missing-rate-limiting"),
                Warning,
                Option::None,
                Option::None,
            ),
            // kind "pass": none
            (Some("js/sql-injection"), None, Option::None, Option::None),
        ],
    );
    check(
        "two-runs.sarif",
        &["semgrep", "gitleaks", "not-run"],
        counts(0, 0, 1, 0),
        &[(Some("generic-api-key"), Note, Option::None, Option::None)],
    );
}

#[test]
fn messages_and_tools_are_kept() {
    let summary = fixture("codeql.sarif");
    assert_eq!(summary.results[0].tool, "CodeQL");
    assert_eq!(
        summary.results[0].message,
        "This query string depends on a [user-provided value](1)."
    );
    let runs = fixture("two-runs.sarif");
    assert_eq!(runs.results[0].tool, "gitleaks");
    assert_eq!(runs.results[0].message, "message id default");
}

#[test]
fn the_policy_fails_on_its_level_and_above() {
    let clippy = fixture("clippy.sarif");
    let codeql = fixture("codeql.sarif");
    for (summary, fail_on, offending) in [
        (
            &clippy,
            FailOn::Error,
            &["clippy::absurd_extreme_comparisons"][..],
        ),
        (
            &clippy,
            FailOn::Warning,
            &[
                "clippy::unwrap_used",
                "clippy::needless_return",
                "clippy::absurd_extreme_comparisons",
            ][..],
        ),
        (&codeql, FailOn::Error, &["js/sql-injection"][..]),
        (
            &codeql,
            FailOn::Note,
            &[
                "js/sql-injection",
                "js/unused-local-variable",
                "js/missing-rate-limiting",
            ][..],
        ),
        (&fixture("two-runs.sarif"), FailOn::Warning, &[][..]),
    ] {
        let verdict = SarifPolicy { fail_on }.evaluate(summary);
        let rules: Vec<&str> = verdict
            .offending
            .iter()
            .map(|r| r.rule_id.as_deref().unwrap())
            .collect();
        assert_eq!(rules, offending, "{:?} {fail_on:?}", summary.tools);
        assert_eq!(verdict.passed, offending.is_empty());
    }
    let policy: SarifPolicy = serde_json::from_str(r#"{"fail_on": "warning"}"#).unwrap();
    assert_eq!(policy.fail_on, FailOn::Warning);
    assert!(serde_json::from_str::<SarifPolicy>(r#"{"fail_on": "none"}"#).is_err());
}

#[test]
fn structural_errors_name_the_place() {
    let result = |extra: serde_json::Value| {
        let mut result = json!({"ruleId": "r", "message": {"text": "m"}});
        for (key, value) in extra.as_object().unwrap() {
            result[key] = value.clone();
        }
        json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t"}}, "results": [{"message": {"text": "ok"}}, result]}]})
    };
    for (log, path, reason) in [
        (json!([]), "$", "must be an object"),
        (json!({"runs": []}), "version", "is missing"),
        (
            json!({"version": "2.0.0", "runs": []}),
            "version",
            "only \"2.1.0\"",
        ),
        (
            json!({"version": "2.1.0"}),
            "runs",
            "is required but missing",
        ),
        (
            json!({"version": "2.1.0", "runs": {}}),
            "runs",
            "must be an array",
        ),
        (
            json!({"version": "2.1.0", "runs": [{}]}),
            "runs[0].tool",
            "is required",
        ),
        (
            json!({"version": "2.1.0", "runs": [{"tool": {}}]}),
            "runs[0].tool.driver",
            "is required",
        ),
        (
            json!({"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]}),
            "runs[0].tool.driver.name",
            "is required",
        ),
        (
            json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": 3}}}]}),
            "runs[0].tool.driver.name",
            "must be a string",
        ),
        (
            result(json!({"message": {}})),
            "runs[0].results[1].message",
            "needs \"text\" or \"id\"",
        ),
        (
            result(json!({"message": null})),
            "runs[0].results[1].message",
            "must be an object",
        ),
        (
            result(json!({"level": "fatal"})),
            "runs[0].results[1].level",
            "expected one of none, note, warning, error",
        ),
        (
            result(json!({"ruleId": 5})),
            "runs[0].results[1].ruleId",
            "must be a string",
        ),
        (
            result(json!({"locations": [{"physicalLocation": {"region": {"startLine": 0}}}]})),
            "runs[0].results[1].locations[0].physicalLocation.region.startLine",
            "at least 1",
        ),
        (
            result(json!({"locations": [{"physicalLocation": {"artifactLocation": {"uri": []}}}]})),
            "runs[0].results[1].locations[0].physicalLocation.artifactLocation.uri",
            "must be a string",
        ),
    ] {
        let error = summarise("scan.sarif", &log).unwrap_err();
        let SarifError::Invalid {
            path: actual,
            reason: actual_reason,
            ..
        } = &error
        else {
            panic!("{error:?}");
        };
        assert_eq!(actual, path, "{log}");
        assert!(actual_reason.contains(reason), "{error} lacks {reason}");
        assert!(
            error
                .to_string()
                .starts_with(&format!("scan.sarif: {path}: ")),
            "{error}"
        );
    }
    let not_json = parse_sarif("scan.sarif", b"<xml/>").unwrap_err();
    assert!(matches!(not_json, SarifError::NotJson { .. }));
}
