#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors
//! The example policies in `examples/` allow and deny as written, over gate
//! inputs that are valid against `gate-input.schema.json`.

mod support;

use serde_json::{Value, json};
use slipway_policy::PolicySet;
use support::{EXAMPLES, example, gate_input_validator, input_with, schema_errors};

struct Case {
    policy: &'static str,
    what: &'static str,
    edits: Vec<(&'static str, Value)>,
    deny: &'static [&'static str],
    warn: &'static [&'static str],
}

/// Loads one example, checks the edited input is schema-valid, evaluates it
/// and compares the deny and warn reasons exactly.
fn check(case: &Case) {
    let validator = gate_input_validator();
    let input = input_with(&case.edits);
    let errors = schema_errors(&validator, &input);
    assert!(
        errors.is_empty(),
        "{}: input invalid: {errors:?}",
        case.what
    );

    let set = PolicySet::load(vec![example(case.policy)]).unwrap();
    let verdict = set.evaluate(&input).unwrap();
    let outcome = &verdict.policies[0];
    assert_eq!(outcome.name, case.policy);
    assert_eq!(outcome.error, None, "{}", case.what);
    assert_eq!(outcome.deny, case.deny, "{}: deny", case.what);
    assert_eq!(outcome.warn, case.warn, "{}: warn", case.what);
    assert_eq!(verdict.allowed, case.deny.is_empty(), "{}", case.what);
}

#[test]
fn example_policies_allow_and_deny_as_written() {
    let friday_17 = "2026-03-06T17:05:00Z";
    let cases = vec![
        Case {
            policy: "friday_freeze",
            what: "wednesday afternoon in production",
            edits: vec![],
            deny: &[],
            warn: &[],
        },
        Case {
            policy: "friday_freeze",
            what: "friday 15:59 in production",
            edits: vec![("/now", json!("2026-03-06T15:59:59Z"))],
            deny: &[],
            warn: &[],
        },
        Case {
            policy: "friday_freeze",
            what: "friday 16:00 in production",
            edits: vec![("/now", json!("2026-03-06T16:00:00Z"))],
            deny: &[
                "no production deploys on Friday after 16:00 UTC (now is 2026-03-06T16:00:00Z)",
            ],
            warn: &[],
        },
        Case {
            policy: "friday_freeze",
            what: "friday 17:05 in staging",
            edits: vec![
                ("/now", json!(friday_17)),
                ("/rollout/environment", json!("staging")),
            ],
            deny: &[],
            warn: &[],
        },
        Case {
            policy: "friday_freeze",
            what: "friday 17:05 given with an offset is still UTC 17:05",
            edits: vec![("/now", json!("2026-03-06T18:05:00+01:00"))],
            deny: &[
                "no production deploys on Friday after 16:00 UTC (now is 2026-03-06T18:05:00+01:00)",
            ],
            warn: &[],
        },
        Case {
            policy: "high_risk_security",
            what: "low risk needs no security approver",
            edits: vec![],
            deny: &[],
            warn: &[],
        },
        Case {
            policy: "high_risk_security",
            what: "high risk without a security approver",
            edits: vec![("/change/risk", json!({"score": 80, "level": "high"}))],
            deny: &["change CHG0001 is high risk and has no approval from the security group"],
            warn: &[],
        },
        Case {
            policy: "high_risk_security",
            what: "critical risk with a security approver",
            edits: vec![
                ("/change/risk", json!({"score": 95, "level": "critical"})),
                (
                    "/change/approvals",
                    json!([
                        {"approver": "bob", "groups": ["cab"], "at": "2026-03-04T09:00:00Z"},
                        {"approver": "sam", "groups": ["dba", "security"], "at": "2026-03-04T10:00:00Z"}
                    ]),
                ),
            ],
            deny: &[],
            warn: &[],
        },
        Case {
            policy: "high_risk_security",
            what: "medium risk warns",
            edits: vec![("/change/risk", json!({"score": 50, "level": "medium"}))],
            deny: &[],
            warn: &["change CHG0001 is medium risk; consider a security review"],
        },
        Case {
            policy: "high_risk_security",
            what: "no change request at all",
            edits: vec![("/change", Value::Null)],
            deny: &["the rollout has no change request"],
            warn: &[],
        },
        Case {
            policy: "signed_artifact",
            what: "signed and clean",
            edits: vec![],
            deny: &[],
            warn: &[],
        },
        Case {
            policy: "signed_artifact",
            what: "unsigned with two critical and one high vulnerability",
            edits: vec![
                ("/rollout/artifact/signed", json!(false)),
                (
                    "/rollout/artifact/vulnerabilities",
                    json!({"critical": 2, "high": 1, "medium": 0, "low": 0}),
                ),
            ],
            deny: &[
                "artifact sha256:0b31b1c02ff458ad9b7b81cbdf8f028bd54699fa151f221d1e8de6817db93427 has 2 critical vulnerabilities",
                "artifact sha256:0b31b1c02ff458ad9b7b81cbdf8f028bd54699fa151f221d1e8de6817db93427 is not signed",
            ],
            warn: &[
                "artifact sha256:0b31b1c02ff458ad9b7b81cbdf8f028bd54699fa151f221d1e8de6817db93427 has 1 high vulnerabilities",
            ],
        },
        Case {
            policy: "checks_passed",
            what: "a failed scan",
            edits: vec![(
                "/checks",
                json!([{"name": "unit-tests", "passed": true}, {"name": "image-scan", "passed": false}]),
            )],
            deny: &["required check \"image-scan\" did not pass"],
            warn: &[],
        },
        Case {
            policy: "checks_passed",
            what: "no checks required",
            edits: vec![("/checks", json!([]))],
            deny: &[],
            warn: &[],
        },
        Case {
            policy: "no_self_approval",
            what: "the requester approved",
            edits: vec![("/change/approvals/0/approver", json!("alice"))],
            deny: &["alice approved change CHG0001 and also requested or triggered it"],
            warn: &[],
        },
        Case {
            policy: "no_self_approval",
            what: "the deploying actor approved",
            edits: vec![("/actor/name", json!("bob"))],
            deny: &["bob approved change CHG0001 and also requested or triggered it"],
            warn: &[],
        },
    ];
    for case in &cases {
        check(case);
    }
}

#[test]
fn all_examples_together_report_each_policy_in_load_order() {
    let set = PolicySet::load(EXAMPLES.iter().map(|name| example(name)).collect()).unwrap();
    assert_eq!(set.names().collect::<Vec<_>>(), EXAMPLES);

    let allowed = set.evaluate(&input_with(&[])).unwrap();
    assert!(allowed.allowed);
    assert!(allowed.deny_reasons().is_empty());

    let denied = set
        .evaluate(&input_with(&[
            ("/now", json!("2026-03-06T16:30:00Z")),
            ("/rollout/artifact/signed", json!(false)),
            ("/rollout/artifact/vulnerabilities/high", json!(4)),
        ]))
        .unwrap();
    assert!(!denied.allowed);
    let denying: Vec<&str> = denied
        .policies
        .iter()
        .filter(|outcome| outcome.denies())
        .map(|outcome| outcome.name.as_str())
        .collect();
    assert_eq!(denying, ["friday_freeze", "signed_artifact"]);
    assert_eq!(
        denied.deny_reasons(),
        [
            "friday_freeze: no production deploys on Friday after 16:00 UTC (now is 2026-03-06T16:30:00Z)",
            "signed_artifact: artifact sha256:0b31b1c02ff458ad9b7b81cbdf8f028bd54699fa151f221d1e8de6817db93427 is not signed",
        ]
    );
    assert_eq!(
        denied.warnings(),
        [
            "signed_artifact: artifact sha256:0b31b1c02ff458ad9b7b81cbdf8f028bd54699fa151f221d1e8de6817db93427 has 4 high vulnerabilities"
        ]
    );

    let json = serde_json::to_value(&denied).unwrap();
    assert_eq!(json["allowed"], json!(false));
    assert_eq!(json["policies"][0]["name"], json!("friday_freeze"));
    assert!(json["policies"][0]["elapsedMicros"].is_u64());
    assert!(json["policies"][0].get("error").is_none());
}

#[test]
fn policy_set_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PolicySet>();

    let set = std::sync::Arc::new(PolicySet::load(vec![example("checks_passed")]).unwrap());
    let handles: Vec<_> = (0..4)
        .map(|thread| {
            let set = set.clone();
            std::thread::spawn(move || {
                let passed = thread % 2 == 0;
                let verdict = set
                    .evaluate(&input_with(&[("/checks/0/passed", json!(passed))]))
                    .unwrap();
                verdict.allowed == passed
            })
        })
        .collect();
    for handle in handles {
        assert!(handle.join().unwrap());
    }
}

#[test]
fn gate_input_schema_rejects_documents_that_break_it() {
    let validator = gate_input_validator();
    assert_eq!(
        schema_errors(&validator, &input_with(&[])),
        Vec::<String>::new()
    );
    let broken = [
        (
            "now is not a date-time",
            input_with(&[("/now", json!("friday"))]),
        ),
        (
            "unknown state",
            input_with(&[("/change/state", json!("Done"))]),
        ),
        (
            "negative count",
            input_with(&[("/rollout/artifact/vulnerabilities/low", json!(-1))]),
        ),
        (
            "signed is a string",
            input_with(&[("/rollout/artifact/signed", json!("yes"))]),
        ),
        (
            "check without passed",
            input_with(&[("/checks/0", json!({"name": "x"}))]),
        ),
        (
            "digest without algorithm",
            input_with(&[("/rollout/artifact/digest", json!("abc"))]),
        ),
    ];
    for (what, input) in broken {
        assert!(!schema_errors(&validator, &input).is_empty(), "{what}");
    }
    let mut extra = input_with(&[]);
    extra["unexpected"] = json!(1);
    assert!(!schema_errors(&validator, &extra).is_empty());
    let mut missing = input_with(&[]);
    missing.as_object_mut().unwrap().remove("calendar");
    assert!(!schema_errors(&validator, &missing).is_empty());
}

#[test]
fn the_benchmark_input_is_valid_and_denied_on_friday_evening() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/gate_input.json");
    let input: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(
        schema_errors(&gate_input_validator(), &input),
        Vec::<String>::new()
    );
    let set = PolicySet::load(EXAMPLES.iter().map(|name| example(name)).collect()).unwrap();
    let verdict = set.evaluate(&input).unwrap();
    assert_eq!(
        verdict.deny_reasons(),
        [
            "friday_freeze: no production deploys on Friday after 16:00 UTC (now is 2026-03-06T17:00:00Z)"
        ]
    );
    assert_eq!(verdict.warnings().len(), 1);
}
