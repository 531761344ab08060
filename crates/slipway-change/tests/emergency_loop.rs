#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors

//! The emergency loop, pure: what break-glass changes and reviews still owe and what is overdue,
//! the `previous-emergency-reviewed` gate rule and its rollback exception, review drafts
//! (outcome, findings, follow-up actions, a proposed model patch), follow-up actions marked
//! done and merge patches. (The change model's `emergency` settings are checked with the
//! model's other rules, in `model.rs`.)

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use slipway_change::emergency::{
    BreakGlassPolicy, BreakGlassRequest, grant_break_glass, previous_reviews_overdue,
};
use slipway_change::gate::{EmergencyFacts, GateInput, Promotion, decide_gate};
use slipway_change::model::ChangeModelSpec;
use slipway_change::overdue::overdue_items;
use slipway_change::request::{Action, ChangeRecord, ChangeRequestSpec, ChangeState, transition};
use slipway_change::review::{
    CurrentModel, FollowUpDraft, PostImplementationReview, ReviewDraft, ReviewOutcome,
    complete_follow_up, merge_patch,
};
use std::collections::BTreeMap;

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn spec(change_type: &str, services: &[&str]) -> ChangeRequestSpec {
    serde_json::from_value(json!({
        "type": change_type,
        "title": "hotfix",
        "requester": "alice",
        "services": services,
        "environments": ["production"],
        "justification": "outage",
        "implementationPlan": "direct",
        "backoutPlan": "roll back",
    }))
    .unwrap()
}

/// A break-glass change granted at `at` with the default policy: retrospective approval due 72 h
/// later, review due 5 days later.
fn broken_glass(id: &str, services: &[&str], at: &str) -> ChangeRecord {
    let mut record = ChangeRecord::new(id, spec("emergency", services));
    let grant = grant_break_glass(
        &record,
        &BreakGlassRequest {
            requested_by: "oncall".into(),
            reason: "outage".into(),
            duration: SignedDuration::from_hours(1),
            at: ts(at),
        },
        &BreakGlassPolicy::default(),
    )
    .unwrap();
    record.break_glass = Some(grant);
    record.state = ChangeState::Implement;
    record.actual_start = Some(ts(at));
    record
}

fn review(
    outcome: ReviewOutcome,
    at: &str,
    actions: &[(&str, &str, &str)],
) -> PostImplementationReview {
    ReviewDraft {
        outcome,
        findings: "the cache was cold".into(),
        follow_ups: actions
            .iter()
            .map(|(description, owner, due)| FollowUpDraft {
                description: description.to_string(),
                owner: owner.to_string(),
                due: due.to_string(),
            })
            .collect(),
        proposed_model_patch: None,
    }
    .into_review("lead", ts(at), None)
    .unwrap()
}

fn reviewed(mut record: ChangeRecord, at: &str) -> ChangeRecord {
    record.review = Some(review(ReviewOutcome::Successful, at, &[]));
    record
}

fn approved(mut record: ChangeRecord) -> ChangeRecord {
    record.authorised_digest = Some("sha256:approved".into());
    record
}

/// `overdue_items` at `now`: (change, what is due, overdue by, teams) per item.
fn check_overdue(records: &[ChangeRecord], now: &str, expected: &[(&str, &str, &str, &str)]) {
    let owners = BTreeMap::from([
        ("payments-api".to_string(), "payments".to_string()),
        ("ledger".to_string(), "finance".to_string()),
    ]);
    let got: Vec<(String, String, String, String)> = overdue_items(records, &owners, ts(now))
        .into_iter()
        .map(|i| (i.change, i.what, i.overdue_by, i.teams.join(",")))
        .collect();
    let expected: Vec<(String, String, String, String)> = expected
        .iter()
        .map(|(c, w, o, t)| (c.to_string(), w.to_string(), o.to_string(), t.to_string()))
        .collect();
    assert_eq!(got, expected, "at {now}");
}

#[test]
fn overdue_obligations_are_listed_oldest_deadline_first() {
    let a = broken_glass("chg-a", &["payments-api"], "2025-06-01T00:00:00Z");
    let b = broken_glass("chg-b", &["ledger", "orphan"], "2025-06-02T00:00:00Z");
    let mut with_actions = approved(broken_glass(
        "chg-c",
        &["payments-api"],
        "2025-05-01T00:00:00Z",
    ));
    with_actions.review = Some(review(
        ReviewOutcome::SuccessfulWithIssues,
        "2025-05-02T00:00:00Z",
        &[
            ("add a canary step", "bob", "2025-05-10"),
            ("alert on cache misses", "carol", "2025-06-30T00:00:00Z"),
        ],
    ));
    let mut canceled = broken_glass("chg-x", &["payments-api"], "2025-06-01T00:00:00Z");
    canceled.state = ChangeState::Canceled;
    let normal = ChangeRecord::new("chg-n", spec("normal", &["payments-api"]));

    // Nothing is due before the deadlines, and a deadline itself is not yet overdue.
    check_overdue(&[a.clone(), normal.clone()], "2025-06-04T00:00:00Z", &[]);
    // Lateness is counted in whole seconds, rounded up.
    for now in ["2025-06-04T00:00:00.2Z", "2025-06-04T00:00:01Z"] {
        check_overdue(
            std::slice::from_ref(&a),
            now,
            &[("chg-a", "retrospective approval", "1s", "payments")],
        );
    }
    check_overdue(
        &[a.clone(), b.clone()],
        "2025-06-06T01:30:00Z",
        &[
            ("chg-a", "retrospective approval", "49h 30m", "payments"),
            (
                "chg-b",
                "retrospective approval",
                "25h 30m",
                "finance,unowned",
            ),
            ("chg-a", "post-implementation review", "1h 30m", "payments"),
        ],
    );
    // Met obligations leave the list; a late review still meets the review.
    check_overdue(
        &[
            approved(a.clone()),
            reviewed(approved(b.clone()), "2025-06-10T00:00:00Z"),
            canceled,
        ],
        "2025-06-11T00:00:00Z",
        &[("chg-a", "post-implementation review", "120h", "payments")],
    );
    // A review's open follow-up actions are due by their own dates (a date is the end of it).
    check_overdue(
        &[with_actions.clone()],
        "2025-05-11T00:00:01Z",
        &[(
            "chg-c",
            "follow-up action 1 (bob): add a canary step",
            "1s",
            "payments",
        )],
    );
    let done = complete_follow_up(&with_actions, 1, "bob", ts("2025-05-12T00:00:00Z")).unwrap();
    check_overdue(
        &[done],
        "2025-07-01T00:00:00Z",
        &[(
            "chg-c",
            "follow-up action 2 (carol): alert on cache misses",
            "24h",
            "payments",
        )],
    );
}

/// The gate's `previous-emergency-reviewed` rule: (passed, detail fragment), or `None` when the
/// rule is not part of the decision.
fn check_rule(
    change: &ChangeRecord,
    facts: Option<EmergencyFacts>,
    now: &str,
    expected: Option<(bool, &str)>,
) {
    let input = GateInput {
        change: Some(change),
        service: "payments-api",
        environment: "production",
        now: ts(now),
        calendars: &[],
        checks: &[],
        required_checks: &[],
        break_glass: None,
        exception_approved: false,
        emergency: facts,
    };
    let decision = decide_gate(&input);
    let rule = decision
        .reasons
        .iter()
        .find(|r| r.rule == "previous-emergency-reviewed");
    match (rule, expected) {
        (None, None) => {}
        (Some(rule), Some((passed, fragment))) => {
            assert_eq!(rule.passed, passed, "{rule:?}");
            assert!(
                rule.detail.contains(fragment),
                "{rule:?} lacks {fragment:?}"
            );
            if !passed {
                assert!(!decision.allowed);
            }
        }
        (rule, expected) => panic!("got {rule:?}, expected {expected:?}"),
    }
}

#[test]
fn an_overdue_review_holds_the_services_next_emergency_but_not_a_rollback() {
    let first = approved(broken_glass(
        "chg-911",
        &["payments-api"],
        "2025-06-01T00:00:00Z",
    ));
    let mut next = broken_glass("chg-912", &["payments-api"], "2025-06-07T00:00:00Z");
    next.authorised_digest = None;
    let other_service = broken_glass("chg-913", &["ledger"], "2025-05-01T00:00:00Z");
    let blocking = BreakGlassPolicy {
        block_while_previous_review_overdue: true,
        ..BreakGlassPolicy::default()
    };
    let lenient = BreakGlassPolicy::default();
    let promotions = vec![
        Promotion {
            artifact: "payments-api-1-0-0".into(),
            at: ts("2025-05-01T00:00:00Z"),
        },
        Promotion {
            artifact: "payments-api-1-1-0".into(),
            at: ts("2025-05-20T00:00:00Z"),
        },
        Promotion {
            artifact: "payments-api-1-2-0".into(),
            at: ts("2025-06-01T00:10:00Z"),
        },
    ];
    let records = vec![first.clone(), next.clone(), other_service.clone()];
    let facts = |policy, artifact| EmergencyFacts {
        model: Some("emergency-strict"),
        policy,
        others: &records,
        artifact,
        promotions: &promotions,
    };
    let after_due = "2025-06-07T00:00:05Z";
    check_rule(
        &next,
        Some(facts(&blocking, "payments-api-2-0-0")),
        after_due,
        Some((
            false,
            "ChangeModel emergency-strict spec.emergency.blockWhilePreviousReviewOverdue: the post-implementation review of emergency change chg-911 (payments-api) was due at 2025-06-06T00:00:00Z and is 24h 5s overdue",
        )),
    );
    // Before the deadline a second emergency is allowed.
    check_rule(
        &next,
        Some(facts(&blocking, "payments-api-2-0-0")),
        "2025-06-05T23:59:59Z",
        Some((true, "no earlier emergency change of payments-api")),
    );
    // Going back to the last promoted version (or the one before it) is never blocked; two
    // promotions back is not a rollback to the last promoted version.
    check_rule(
        &next,
        Some(facts(&blocking, "payments-api-1-1-0")),
        after_due,
        Some((
            true,
            "going back to the last promoted version is never blocked",
        )),
    );
    check_rule(
        &next,
        Some(facts(&blocking, "payments-api-1-2-0")),
        after_due,
        Some((true, "never blocked")),
    );
    check_rule(
        &next,
        Some(facts(&blocking, "payments-api-1-0-0")),
        after_due,
        Some((false, "chg-911")),
    );
    // The knob off (or the built-in model): listed, not enforced.
    check_rule(
        &next,
        Some(facts(&lenient, "payments-api-2-0-0")),
        after_due,
        Some((true, "not enforced")),
    );
    check_rule(&next, None, after_due, Some((true, "not enforced")));
    // A normal change is not an emergency: the rule is not part of its decision.
    let mut normal = ChangeRecord::new("chg-n", spec("normal", &["payments-api"]));
    normal.state = ChangeState::Implement;
    check_rule(
        &normal,
        Some(facts(&blocking, "payments-api-2-0-0")),
        after_due,
        None,
    );
    // Recorded (even late), the review no longer holds anything up.
    let records = vec![
        reviewed(first.clone(), "2025-06-07T00:00:01Z"),
        next.clone(),
    ];
    check_rule(
        &next,
        Some(EmergencyFacts {
            others: &records,
            ..facts(&blocking, "payments-api-2-0-0")
        }),
        after_due,
        Some((true, "no earlier emergency change")),
    );
}

/// (change, its services, the changes holding it up and the services they share).
type BlockCase<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, &'a [&'a str])]);

#[test]
fn only_earlier_emergencies_of_the_same_services_count() {
    let first = broken_glass("chg-1", &["payments-api", "ledger"], "2025-06-01T00:00:00Z");
    let records = vec![first];
    let now = ts("2025-06-07T00:00:00Z");
    let cases: &[BlockCase] = &[
        ("chg-2", &["payments-api"], &[("chg-1", &["payments-api"])]),
        ("chg-2", &["ledger", "web"], &[("chg-1", &["ledger"])]),
        ("chg-2", &["web"], &[]),
        // A change never holds itself up.
        ("chg-1", &["payments-api"], &[]),
    ];
    for (change, services, expected) in cases {
        let services: Vec<String> = services.iter().map(|s| s.to_string()).collect();
        let got: Vec<(String, Vec<String>)> =
            previous_reviews_overdue(change, &services, &records, now)
                .into_iter()
                .map(|u| (u.change, u.services))
                .collect();
        let expected: Vec<(String, Vec<String>)> = expected
            .iter()
            .map(|(c, s)| (c.to_string(), s.iter().map(|x| x.to_string()).collect()))
            .collect();
        assert_eq!(got, expected, "{change} {services:?}");
    }
}

/// A review draft (as JSON) recorded at a fixed time against the model `strict`: the recorded
/// review's JSON fragment, or every problem as `path: message`.
fn check_draft(draft: Value, model: bool, expected: Result<Value, &[&str]>) {
    let model_spec = json!({
        "type": "emergency",
        "states": ["New", "Implement", "Review", "Closed"],
        "emergency": {"reviewWithin": "24h"},
    });
    let current = CurrentModel {
        name: "strict",
        revision: 3,
        spec: &model_spec,
    };
    let parsed: ReviewDraft = serde_json::from_value(draft.clone()).unwrap();
    let got = parsed.into_review("lead", ts("2025-06-01T00:00:00Z"), model.then_some(current));
    match (got, expected) {
        (Ok(review), Ok(fragment)) => {
            let json = serde_json::to_value(&review).unwrap();
            for (key, value) in fragment.as_object().unwrap() {
                assert_eq!(&json[key], value, "{draft}: {key} in {json}");
            }
        }
        (Err(problems), Err(expected)) => {
            let got: Vec<String> = problems.iter().map(ToString::to_string).collect();
            assert_eq!(got, expected, "{draft}");
        }
        (got, expected) => panic!("{draft}: got {got:?}, expected {expected:?}"),
    }
}

#[test]
fn a_review_records_outcome_findings_actions_and_a_model_patch() {
    check_draft(
        json!({"outcome": "successful"}),
        false,
        Ok(json!({"outcome": "successful", "findings": "", "followUps": [], "reviewer": "lead"})),
    );
    check_draft(
        json!({"outcome": "failed", "findings": "  "}),
        false,
        Err(&["findings: are required when the outcome is failed"]),
    );
    check_draft(
        json!({"outcome": "successful-with-issues", "findings": "slow rollback",
               "followUps": [{"description": "add a canary step", "owner": "bob", "due": "2025-06-10"},
                           {"description": "page the DBA", "owner": "carol", "due": "2025-06-02T12:00:00+02:00"}]}),
        false,
        Ok(json!({"followUps": [
            {"number": 1, "description": "add a canary step", "owner": "bob", "due": "2025-06-11T00:00:00Z", "state": "open"},
            {"number": 2, "description": "page the DBA", "owner": "carol", "due": "2025-06-02T10:00:00Z", "state": "open"},
        ]})),
    );
    check_draft(
        json!({"outcome": "successful", "followUps": [
            {"description": "", "owner": " ", "due": "2025-05-31"},
            {"description": "x", "owner": "bob", "due": "next week"}]}),
        false,
        Err(&[
            "followUps[0].description: must not be empty",
            "followUps[0].owner: must not be empty",
            "followUps[0].due: 2025-06-01T00:00:00Z is not after the review (2025-06-01T00:00:00Z)",
            "followUps[1].due: \"next week\" is neither an RFC 3339 instant with an offset nor a date like 2026-07-01",
        ]),
    );
    // A merge patch of the change's model: stored with the revision it was written against
    // and the spec it would give, checked like an apply of that spec would be.
    check_draft(
        json!({"outcome": "failed", "findings": "reviewed too late",
               "proposedModelPatch": {"emergency": {"reviewWithin": "8h", "blockWhilePreviousReviewOverdue": true}}}),
        true,
        Ok(json!({"proposedModelPatch": {
            "model": "strict", "baseRevision": 3,
            "patch": {"emergency": {"reviewWithin": "8h", "blockWhilePreviousReviewOverdue": true}},
            "proposedSpec": {"type": "emergency", "states": ["New", "Implement", "Review", "Closed"],
                             "emergency": {"reviewWithin": "8h", "blockWhilePreviousReviewOverdue": true}},
        }})),
    );
    check_draft(
        json!({"outcome": "successful", "proposedModelPatch": {"emergency": {"reviewWithin": "8h"}}}),
        false,
        Err(&[
            "proposedModelPatch: the change follows its type's built-in model, which no patch can edit; name a ChangeModel in the change's spec.model",
        ]),
    );
    check_draft(
        json!({"outcome": "successful", "proposedModelPatch": {"emergency": {"reviewWithin": "-1h"}}}),
        true,
        Err(&[
            "proposedModelPatch.emergency.reviewWithin: the patched model strict would be invalid: -1h is not a positive duration",
        ]),
    );
    check_draft(
        json!({"outcome": "successful", "proposedModelPatch": {"emergency": {"reviewWitin": "1h"}}}),
        true,
        Err(&[
            "proposedModelPatch.emergency.reviewWitin: the patched model strict would be invalid: unknown field `reviewWitin`, expected one of `maxDuration`, `retroApprovalWithin`, `reviewWithin`, `blockWhilePreviousReviewOverdue`",
        ]),
    );
    check_draft(
        json!({"outcome": "successful", "proposedModelPatch": {"type": "normal", "emergency": null}}),
        true,
        Err(&["proposedModelPatch.type: a patch may not change the model's change type"]),
    );
    check_draft(
        json!({"outcome": "successful", "proposedModelPatch": {"emergency": {"reviewWithin": "24h"}}}),
        true,
        Err(&["proposedModelPatch: changes nothing in change model strict"]),
    );
    check_draft(
        json!({"outcome": "successful", "proposedModelPatch": ["not", "a", "patch"]}),
        true,
        Err(&[
            "proposedModelPatch: must be a mapping (a merge patch of the model's spec), found a list",
        ]),
    );
}

#[test]
fn follow_up_actions_parse_from_the_command_line() {
    // (text, (description, owner, due) or the error)
    type Parsed<'a> = Result<(&'a str, &'a str, &'a str), &'a str>;
    let cases: &[(&str, Parsed)] = &[
        (
            "add a canary step; owner=bob; due=2025-07-01",
            Ok(("add a canary step", "bob", "2025-07-01")),
        ),
        (
            "page the DBA;due=2025-07-01T09:00:00Z;owner=carol;",
            Ok(("page the DBA", "carol", "2025-07-01T09:00:00Z")),
        ),
        ("fix it; owner=bob", Err("due=DATE is missing")),
        ("fix it; due=2025-07-01", Err("owner=NAME is missing")),
        (
            "fix it; by=bob",
            Err("\"by=bob\": expected owner=NAME or due=DATE after the description"),
        ),
    ];
    for (text, expected) in cases {
        let got = FollowUpDraft::parse(text);
        match (got, expected) {
            (Ok(d), Ok((description, owner, due))) => {
                assert_eq!(
                    (d.description.as_str(), d.owner.as_str(), d.due.as_str()),
                    (*description, *owner, *due),
                    "{text}"
                );
            }
            (Err(e), Err(reason)) => assert_eq!(&e, reason, "{text}"),
            (got, _) => panic!("{text}: got {got:?}"),
        }
    }
    assert_eq!(
        ReviewOutcome::parse("partly").unwrap_err(),
        "\"partly\" is not one of successful, successful-with-issues or failed"
    );
}

#[test]
fn reviews_are_recorded_once_and_actions_done_once() {
    let implementing = approved(broken_glass(
        "chg-1",
        &["payments-api"],
        "2025-06-01T00:00:00Z",
    ));
    let draft = review(
        ReviewOutcome::Failed,
        "2025-06-02T00:00:00Z",
        &[("add a canary step", "bob", "2025-06-10")],
    );
    let record = |review: &PostImplementationReview| Action::RecordReview {
        review: Box::new(review.clone()),
    };
    let context = slipway_change::request::Context::new(
        ts("2025-06-02T00:00:00Z"),
        ChangeModelSpec::default_for(slipway_change::request::ChangeType::Emergency),
    );
    // From Implement it moves to Review, with the review kept in the record.
    let outcome = transition(&implementing, record(&draft), &context).unwrap();
    assert_eq!(outcome.to, ChangeState::Review);
    assert_eq!(outcome.record.review.as_ref(), Some(&draft));
    let again = transition(&outcome.record, record(&draft), &context).unwrap_err();
    assert_eq!(
        again.to_string(),
        "cannot review change chg-1 in state Review: its review was already recorded by lead at 2025-06-02T00:00:00Z"
    );
    let mut new = implementing.clone();
    new.state = ChangeState::New;
    assert!(
        transition(&new, record(&draft), &context)
            .unwrap_err()
            .reason
            .contains("review applies only in Implement, Review")
    );

    // (action number, error) in turn
    let mut current = outcome.record.clone();
    let cases: &[(u32, Option<&str>)] = &[
        (
            2,
            Some("change chg-1's review has no follow-up action 2 (it has 1)"),
        ),
        (1, None),
        (
            1,
            Some(
                "follow-up action 1 of change chg-1 was already done by bob at 2025-06-03T00:00:00Z",
            ),
        ),
    ];
    for (number, expected) in cases {
        match (
            complete_follow_up(&current, *number, "bob", ts("2025-06-03T00:00:00Z")),
            expected,
        ) {
            (Ok(next), None) => current = next,
            (Err(e), Some(reason)) => assert_eq!(&e.to_string(), reason),
            (got, _) => panic!("action {number}: got {got:?}"),
        }
    }
    assert_eq!(
        complete_follow_up(&implementing, 1, "bob", ts("2025-06-03T00:00:00Z"))
            .unwrap_err()
            .to_string(),
        "change chg-1 has no recorded review, so no follow-up actions"
    );
}

#[test]
fn merge_patches_follow_rfc_7396() {
    // The examples of RFC 7396, appendix A: (target, patch, result).
    let cases = [
        (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
        (
            json!({"a": "b"}),
            json!({"b": "c"}),
            json!({"a": "b", "b": "c"}),
        ),
        (json!({"a": "b"}), json!({"a": null}), json!({})),
        (
            json!({"a": "b", "b": "c"}),
            json!({"a": null}),
            json!({"b": "c"}),
        ),
        (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
        (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
        (
            json!({"a": {"b": "c"}}),
            json!({"a": {"b": "d", "c": null}}),
            json!({"a": {"b": "d"}}),
        ),
        (
            json!({"a": [{"b": "c"}]}),
            json!({"a": [1]}),
            json!({"a": [1]}),
        ),
        (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
        (json!({"a": "b"}), json!(["c"]), json!(["c"])),
        (json!({"a": "foo"}), json!(null), json!(null)),
        (json!({"a": "foo"}), json!("bar"), json!("bar")),
        (
            json!({"e": null}),
            json!({"a": 1}),
            json!({"e": null, "a": 1}),
        ),
        (
            json!([1, 2]),
            json!({"a": "b", "c": null}),
            json!({"a": "b"}),
        ),
        (
            json!({}),
            json!({"a": {"bb": {"ccc": null}}}),
            json!({"a": {"bb": {}}}),
        ),
    ];
    for (target, patch, result) in cases {
        assert_eq!(merge_patch(&target, &patch), result, "{target} + {patch}");
    }
}
