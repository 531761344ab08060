#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors

//! Every example document in `examples/` parses and validates as its kind's spec.

use serde_json::Value;
use slipway_change::approval::ApprovalRuleSpec;
use slipway_change::calendar::{Calendar, CalendarSet, CalendarSpec};
use slipway_change::model::ChangeModelSpec;
use slipway_change::request::ChangeRequestSpec;
use slipway_change::risk::RiskPolicySpec;
use slipway_spec::Diagnostic;
use slipway_spec::validate_typed;

fn check(file: &str, kind: &str) -> Value {
    let path = format!("{}/examples/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let doc: Value = yaml_serde::from_str(&text).unwrap();
    assert_eq!(doc["kind"], kind, "{file}");
    let spec = &doc["spec"];
    let diagnostics: Vec<Diagnostic> = match kind {
        "ChangeRequest" => validate_typed::<ChangeRequestSpec>(spec),
        "ChangeModel" => validate_typed::<ChangeModelSpec>(spec),
        "ApprovalRule" => validate_typed::<ApprovalRuleSpec>(spec),
        "Calendar" => validate_typed::<CalendarSpec>(spec),
        "RiskPolicy" => validate_typed::<RiskPolicySpec>(spec),
        other => panic!("no spec type for {other}"),
    };
    assert_eq!(diagnostics, vec![], "{file}");
    spec.clone()
}

#[test]
fn every_example_validates() {
    let mut files: Vec<String> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/examples"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|f| f.ends_with(".yaml"))
            .collect();
    files.sort();
    let expected = [
        ("approval-rule.yaml", "ApprovalRule"),
        ("calendar.yaml", "Calendar"),
        ("change-model.yaml", "ChangeModel"),
        ("change-request.yaml", "ChangeRequest"),
        ("organisation-calendar.yaml", "Calendar"),
        ("risk-policy.yaml", "RiskPolicy"),
    ];
    assert_eq!(
        files,
        expected
            .iter()
            .map(|(f, _)| f.to_string())
            .collect::<Vec<_>>()
    );
    for (file, kind) in expected {
        check(file, kind);
    }
}

#[test]
fn the_example_calendars_compile_together() {
    let calendars: Vec<Calendar> = [
        ("production", "calendar.yaml"),
        ("organisation", "organisation-calendar.yaml"),
    ]
    .iter()
    .map(|(name, file)| Calendar {
        name: name.to_string(),
        spec: serde_json::from_value(check(file, "Calendar")).unwrap(),
    })
    .collect();
    let set = CalendarSet::compile(&calendars).unwrap();
    // Black Friday 2025 in New York freezes production too (organisation scope).
    let decision = set.is_allowed(
        "2025-11-28T06:45:00Z".parse().unwrap(),
        "payments",
        "production",
    );
    assert!(!decision.allowed);
    assert!(
        decision
            .freezes_active
            .contains(&"organisation/black-friday".to_string())
    );
}
