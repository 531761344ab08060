//! Shared test data: the example policies, a gate input that is valid against
//! `gate-input.schema.json`, and the schema validator itself.

// Each test binary uses a part of this module.
#![allow(dead_code)]

use serde_json::{Value, json};
use slipway_policy::PolicySource;

/// The example policies shipped in `examples/`, by file stem.
pub const EXAMPLES: [&str; 5] = [
    "friday_freeze",
    "high_risk_security",
    "signed_artifact",
    "checks_passed",
    "no_self_approval",
];

pub fn example(name: &str) -> PolicySource {
    let path = format!("{}/examples/{name}.rego", env!("CARGO_MANIFEST_DIR"));
    let rego_text = std::fs::read_to_string(&path).unwrap();
    PolicySource {
        name: name.to_owned(),
        rego_text,
    }
}

/// A gate input that every example policy allows: a low-risk change in
/// Implement approved by someone else, a signed clean artifact, passed checks,
/// on a Wednesday afternoon.
pub fn allowed_input() -> Value {
    json!({
        "change": {
            "id": "CHG0001",
            "type": "normal",
            "state": "Implement",
            "risk": {"score": 20, "level": "low"},
            "services": ["checkout"],
            "environments": ["production"],
            "approvals": [
                {"approver": "bob", "groups": ["cab"], "at": "2026-03-04T09:00:00Z"}
            ],
            "requester": "alice",
            "planned": {"start": "2026-03-04T14:00:00Z", "end": "2026-03-04T16:00:00Z"}
        },
        "rollout": {
            "name": "checkout-v42",
            "service": "checkout",
            "environment": "production",
            "strategy": "canary",
            "version": "42",
            "previous_version": "41",
            "artifact": {
                "digest": "sha256:0b31b1c02ff458ad9b7b81cbdf8f028bd54699fa151f221d1e8de6817db93427",
                "signed": true,
                "vulnerabilities": {"critical": 0, "high": 0, "medium": 3, "low": 7},
                "licenses_ok": true,
                "sarif_errors": 0,
                "provenance": {"verified": true, "builder": "ci", "source": "git+https://git.example/checkout"}
            }
        },
        "calendar": {"inside_window": true, "window": "weekday-afternoons", "freezes": []},
        "checks": [{"name": "unit-tests", "passed": true}, {"name": "image-scan", "passed": true}],
        "actor": {"name": "deploy-bot", "teams": ["platform"]},
        "now": "2026-03-04T14:30:00Z"
    })
}

/// `allowed_input()` with each `(JSON pointer, value)` edit applied.
pub fn input_with(edits: &[(&str, Value)]) -> Value {
    let mut input = allowed_input();
    for (pointer, value) in edits {
        *input
            .pointer_mut(pointer)
            .unwrap_or_else(|| panic!("no {pointer} in the test input")) = value.clone();
    }
    input
}

pub fn gate_input_validator() -> jsonschema::Validator {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/gate-input.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .offline()
        .build(&schema)
        .unwrap()
}

/// Schema errors of `input`, as `path: message` lines (empty when valid).
pub fn schema_errors(validator: &jsonschema::Validator, input: &Value) -> Vec<String> {
    validator
        .iter_errors(input)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect()
}
