#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors

//! Change requests through their states, the content digest, impacted services, risk,
//! break-glass, unauthorised changes, the gate and rates.

use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use serde_json::json;
use slipway_change::approval::ApprovalStatus;
use slipway_change::calendar::{Calendar, ConflictKind, SchedulingConflict};
use slipway_change::emergency::{
    BreakGlassError, BreakGlassPolicy, BreakGlassRequest, Deployment, grant_break_glass,
    unauthorised_change_check,
};
use slipway_change::gate::{CheckResult, GateInput, decide_gate};
use slipway_change::model::ChangeModelSpec;
use slipway_change::request::{
    Action, ChangeRecord, ChangeRequestSpec, ChangeState, ChangeType, CloseCode, Context, Effect,
    change_content_digest, impacted_services, transition,
};
use slipway_change::review::{ClosedChange, ReviewDraft, ReviewOutcome, change_rates};
use slipway_change::risk::{
    RiskInput, RiskLevel, RiskPolicySpec, RiskWeights, VersionChange, VersionStep, assess_risk,
    classify_version,
};
use slipway_spec::EnvironmentTier;
use std::collections::BTreeMap;

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn spec(change_type: &str) -> ChangeRequestSpec {
    serde_json::from_value(json!({
        "type": change_type,
        "title": "payments 2.4.0",
        "requester": "alice",
        "authors": ["bob"],
        "services": ["payments"],
        "environments": ["production"],
        "artifacts": [{"service": "payments", "version": "2.4.0", "previousVersion": "2.3.7",
                       "digest": format!("sha256:{}", "ab".repeat(32))}],
        "justification": "a fix",
        "implementationPlan": "canary",
        "backoutPlan": "roll back",
        "testPlan": "contract tests",
        "plannedStart": "2025-06-03T01:30:00Z",
        "plannedEnd": "2025-06-03T03:00:00Z",
    }))
    .unwrap()
}

fn satisfied(yes: bool) -> ApprovalStatus {
    ApprovalStatus {
        satisfied: yes,
        per_requirement: vec![],
        rejected_by: vec![],
        ignored: vec![],
        separation_of_duties_off: vec![],
    }
}

fn context(record: &ChangeRecord, now: &str) -> Context {
    Context::new(
        ts(now),
        ChangeModelSpec::default_for(record.spec.change_type),
    )
}

fn risk() -> slipway_change::risk::RiskAssessment {
    assess_risk(
        &RiskInput {
            environment_tier: EnvironmentTier::Production,
            impacted_services: 1,
            versions: vec![],
            change_failure_rate: None,
            minutes_to_window_end: None,
            change_type: ChangeType::Normal,
        },
        &RiskPolicySpec::default(),
    )
}

/// Applies `action` in `state` and compares the resulting state or the error's reason.
fn check(
    record: &ChangeRecord,
    action: Action,
    ctx: &Context,
    expected: Result<ChangeState, &str>,
) -> Option<ChangeRecord> {
    let got = transition(record, action.clone(), ctx);
    match (&got, expected) {
        (Ok(outcome), Ok(state)) => {
            assert_eq!(outcome.to, state, "{} in {:?}", action.name(), record.state);
            assert_eq!(outcome.from, record.state);
            Some(outcome.record.clone())
        }
        (Err(e), Err(reason)) => {
            assert!(
                e.to_string().contains(reason),
                "{} in {:?}: {e} should contain {reason:?}",
                action.name(),
                record.state
            );
            assert_eq!(e.state, record.state);
            None
        }
        _ => panic!(
            "{} in {:?}: got {got:?}, expected {expected:?}",
            action.name(),
            record.state
        ),
    }
}

#[test]
fn a_normal_change_goes_through_every_state() {
    let new = ChangeRecord::new("CHG1", spec("normal"));
    let now = "2025-06-01T10:00:00Z";
    let ctx = context(&new, now);
    // Drafts can lack plans; submission needs them.
    let mut draft = new.clone();
    draft.spec.backout_plan.clear();
    check(
        &draft,
        Action::Submit,
        &ctx,
        Err("spec.backoutPlan: is required to submit the change"),
    );
    check(
        &new,
        Action::Implement,
        &ctx,
        Err("implement applies only in Scheduled"),
    );

    let assess = check(&new, Action::Submit, &ctx, Ok(ChangeState::Assess)).unwrap();
    check(
        &assess,
        Action::Approve,
        &ctx,
        Err("the change's risk has not been assessed"),
    );
    let mut assessed = assess.clone();
    assessed.risk = Some(risk());
    let authorize = check(&assessed, Action::Approve, &ctx, Ok(ChangeState::Authorize)).unwrap();

    check(
        &authorize,
        Action::Approve,
        &ctx,
        Err("the approvals have not been evaluated"),
    );
    let mut waiting = ctx.clone();
    waiting.approvals = Some(satisfied(false));
    check(
        &authorize,
        Action::Approve,
        &waiting,
        Err("approvals are not satisfied"),
    );
    let mut approved = ctx.clone();
    approved.approvals = Some(satisfied(true));
    let scheduled = check(
        &authorize,
        Action::Approve,
        &approved,
        Ok(ChangeState::Scheduled),
    )
    .unwrap();
    assert!(scheduled.is_authorised());

    // Too early, then inside the planned window.
    check(
        &scheduled,
        Action::Implement,
        &ctx,
        Err("the planned window starts at 2025-06-03T01:30:00Z"),
    );
    let during = context(&scheduled, "2025-06-03T01:35:00Z");
    let implementing = check(
        &scheduled,
        Action::Implement,
        &during,
        Ok(ChangeState::Implement),
    )
    .unwrap();
    assert_eq!(implementing.actual_start, Some(ts("2025-06-03T01:35:00Z")));
    check(
        &implementing,
        Action::Cancel,
        &during,
        Err("close it as Unsuccessful instead"),
    );
    check(
        &implementing,
        Action::Close {
            code: CloseCode::Successful,
            notes: String::new(),
        },
        &during,
        Err("the model requires a review before closing"),
    );
    let review = check(
        &implementing,
        Action::Review,
        &context(&implementing, "2025-06-03T02:10:00Z"),
        Ok(ChangeState::Review),
    )
    .unwrap();
    check(
        &review,
        Action::Close {
            code: CloseCode::Unsuccessful,
            notes: " ".into(),
        },
        &during,
        Err("close notes are required unless the change was successful"),
    );
    let closed = check(
        &review,
        Action::Close {
            code: CloseCode::SuccessfulWithIssues,
            notes: "one retry".into(),
        },
        &during,
        Ok(ChangeState::Closed),
    )
    .unwrap();
    assert_eq!(closed.close_code, Some(CloseCode::SuccessfulWithIssues));
    assert_eq!(closed.actual_end, Some(ts("2025-06-03T02:10:00Z")));
    check(
        &closed,
        Action::Cancel,
        &during,
        Err("the change is finished"),
    );
}

#[test]
fn edits_void_the_authorisation_and_rejections_go_back_to_new() {
    let mut record = ChangeRecord::new("CHG2", spec("normal"));
    record.state = ChangeState::Scheduled;
    record.authorised_digest = Some(change_content_digest(&record.spec));
    let during = context(&record, "2025-06-03T01:35:00Z");
    // Editing the backout plan after authorisation: implement is refused.
    let mut edited = record.clone();
    edited.spec.backout_plan = "restore from backup".into();
    check(
        &edited,
        Action::Implement,
        &during,
        Err("the change was edited after it was authorised"),
    );
    // Editing the title only does not change the digest.
    let mut retitled = record.clone();
    retitled.spec.title = "Payments 2.4.0".into();
    check(
        &retitled,
        Action::Implement,
        &during,
        Ok(ChangeState::Implement),
    );

    // Rescheduling an authorised change sends it back to Authorize.
    let early = context(&record, "2025-06-01T00:00:00Z");
    let out = transition(
        &record,
        Action::Schedule {
            start: ts("2025-06-04T01:30:00Z"),
            end: ts("2025-06-04T03:00:00Z"),
        },
        &early,
    )
    .unwrap();
    assert_eq!(out.to, ChangeState::Authorize);
    assert!(matches!(out.effects[0], Effect::AuthorisationVoided { .. }));
    assert_eq!(out.record.authorised_digest, None);

    let mut authorize = record.clone();
    authorize.state = ChangeState::Authorize;
    let rejected = check(&authorize, Action::Reject, &early, Ok(ChangeState::New)).unwrap();
    assert_eq!(rejected.authorised_digest, None);
}

#[test]
fn scheduling_refuses_conflicts_unless_an_exception_waives_them() {
    let record = ChangeRecord::new("CHG3", spec("normal"));
    let slot = Action::Schedule {
        start: ts("2025-06-04T01:30:00Z"),
        end: ts("2025-06-04T03:00:00Z"),
    };
    let mut ctx = context(&record, "2025-06-01T00:00:00Z");
    let conflict = |kind, waivable| SchedulingConflict {
        kind,
        service: "payments".into(),
        environment: "production".into(),
        other_change: None,
        detail: format!("{kind:?}"),
        waivable,
    };
    ctx.conflicts = vec![conflict(ConflictKind::Freeze, true)];
    check(
        &record,
        slot.clone(),
        &ctx,
        Err("the slot conflicts: Freeze"),
    );
    ctx.exception_approved = true;
    let planned = check(&record, slot.clone(), &ctx, Ok(ChangeState::New)).unwrap();
    assert_eq!(planned.spec.planned_start, Some(ts("2025-06-04T01:30:00Z")));
    ctx.conflicts.push(conflict(ConflictKind::Lockdown, false));
    check(&record, slot, &ctx, Err("the slot conflicts: Lockdown"));
    let past = Action::Schedule {
        start: ts("2025-05-01T01:30:00Z"),
        end: ts("2025-05-01T03:00:00Z"),
    };
    check(
        &record,
        past,
        &context(&record, "2025-06-01T00:00:00Z"),
        Err("is in the past"),
    );
}

#[test]
fn a_standard_change_skips_assessment_and_authorisation() {
    let record = ChangeRecord::new("CHG4", spec("standard"));
    let ctx = context(&record, "2025-06-01T00:00:00Z");
    let out = transition(&record, Action::Submit, &ctx).unwrap();
    assert_eq!(out.to, ChangeState::Scheduled);
    assert!(out.record.is_authorised());
    // The model must match the type.
    let wrong = Context::new(
        ts("2025-06-01T00:00:00Z"),
        ChangeModelSpec::default_for(ChangeType::Normal),
    );
    check(
        &record,
        Action::Submit,
        &wrong,
        Err("the model is for normal changes and this is a standard change"),
    );
}

#[test]
fn break_glass_has_limits_and_leaves_work_behind() {
    let mut record = ChangeRecord::new("CHG5", spec("emergency"));
    let policy = BreakGlassPolicy::default();
    let request = |hours: i64, reason: &str| BreakGlassRequest {
        requested_by: "oncall".into(),
        reason: reason.into(),
        duration: SignedDuration::from_hours(hours),
        at: ts("2025-06-01T03:00:00Z"),
    };
    assert_eq!(
        grant_break_glass(&record, &request(5, "outage"), &policy)
            .unwrap_err()
            .to_string(),
        "break-glass duration 5h is longer than the maximum of 4h"
    );
    assert_eq!(
        grant_break_glass(&record, &request(1, " "), &policy),
        Err(BreakGlassError::NoReason)
    );
    let normal = ChangeRecord::new("CHG6", spec("normal"));
    assert!(matches!(
        grant_break_glass(&normal, &request(1, "outage"), &policy),
        Err(BreakGlassError::NotEmergency { .. })
    ));

    let grant = grant_break_glass(&record, &request(2, "payments down"), &policy).unwrap();
    assert_eq!(grant.allowed_until, ts("2025-06-01T05:00:00Z"));
    assert_eq!(grant.retro_approval_deadline, ts("2025-06-04T03:00:00Z"));
    assert_eq!(grant.review_task.due, ts("2025-06-06T03:00:00Z"));
    assert_eq!(grant.review_task.change_id, "CHG5");
    record.break_glass = Some(grant);

    // Straight to Implement while the grant holds; not after.
    let late = context(&record, "2025-06-01T05:00:00Z");
    check(
        &record,
        Action::Implement,
        &late,
        Err("the break-glass grant ended at 2025-06-01T05:00:00Z"),
    );
    let now = context(&record, "2025-06-01T03:10:00Z");
    let implementing = check(&record, Action::Implement, &now, Ok(ChangeState::Implement)).unwrap();
    let review = check(&implementing, Action::Review, &now, Ok(ChangeState::Review)).unwrap();
    let close = Action::Close {
        code: CloseCode::Successful,
        notes: String::new(),
    };
    check(
        &review,
        close.clone(),
        &now,
        Err("no retrospective approval yet (due by 2025-06-04T03:00:00Z)"),
    );
    let mut approved = now.clone();
    approved.approvals = Some(satisfied(true));
    let retro = transition(&review, Action::Approve, &approved).unwrap();
    assert!(matches!(
        retro.effects[0],
        Effect::RetrospectivelyApproved { .. }
    ));
    // The review a break-glass grant leaves due must be recorded before closing.
    check(
        &retro.record,
        close.clone(),
        &now,
        Err("no recorded post-implementation review yet (due by 2025-06-06T03:00:00Z)"),
    );
    let recorded = ReviewDraft {
        outcome: ReviewOutcome::Successful,
        findings: String::new(),
        follow_ups: vec![],
        proposed_model_patch: None,
    }
    .into_review("lead", ts("2025-06-01T03:10:00Z"), None)
    .unwrap();
    let reviewed = check(
        &retro.record,
        Action::RecordReview {
            review: Box::new(recorded),
        },
        &now,
        Ok(ChangeState::Review),
    )
    .unwrap();
    check(&reviewed, close, &now, Ok(ChangeState::Closed));
}

#[test]
fn deployments_without_an_authorised_change_are_detected() {
    let mut implementing = ChangeRecord::new("CHG7", spec("normal"));
    implementing.state = ChangeState::Implement;
    implementing.authorised_digest = Some(change_content_digest(&implementing.spec));
    implementing.actual_start = Some(ts("2025-06-03T01:30:00Z"));
    let mut edited = implementing.clone();
    edited.spec.implementation_plan = "big bang".into();
    let mut finished = implementing.clone();
    finished.state = ChangeState::Closed;
    finished.actual_end = Some(ts("2025-06-03T02:00:00Z"));
    let deploy = |service: &str, env: &str, at: &str| Deployment {
        id: "d1".into(),
        service: service.into(),
        environment: env.into(),
        at: ts(at),
        deployer: None,
    };
    let now = ts("2025-06-03T05:00:00Z");
    let cases: &[(&[&ChangeRecord], Deployment, Option<&str>)] = &[
        (
            &[&implementing],
            deploy("payments", "production", "2025-06-03T01:40:00Z"),
            None,
        ),
        (
            &[&implementing],
            deploy("payments", "production", "2025-06-03T01:00:00Z"),
            Some("no change targeting payments in production (CHG7) was authorised"),
        ),
        (
            &[&implementing],
            deploy("payments", "staging", "2025-06-03T01:40:00Z"),
            Some("no change targets payments in staging"),
        ),
        (
            &[&edited],
            deploy("payments", "production", "2025-06-03T01:40:00Z"),
            Some("was authorised and being implemented"),
        ),
        (
            &[&finished],
            deploy("payments", "production", "2025-06-03T01:50:00Z"),
            None,
        ),
        (
            &[&finished],
            deploy("payments", "production", "2025-06-03T02:30:00Z"),
            Some("was authorised"),
        ),
        (
            &[],
            deploy("payments", "production", "2025-06-03T01:40:00Z"),
            Some("no change targets payments in production"),
        ),
    ];
    for (changes, deployment, expected) in cases {
        let changes: Vec<ChangeRecord> = changes.iter().map(|c| (*c).clone()).collect();
        let got = unauthorised_change_check(deployment, &changes, now);
        match (got, expected) {
            (None, None) => {}
            (Some(u), Some(reason)) => {
                assert!(
                    u.reason.contains(reason),
                    "{} should contain {reason}",
                    u.reason
                );
                assert_eq!(u.detected_at, now);
            }
            (got, _) => panic!("{deployment:?}: got {got:?}, expected {expected:?}"),
        }
    }
}

#[test]
fn the_gate_lists_every_rule() {
    let mut change = ChangeRecord::new("CHG8", spec("normal"));
    change.state = ChangeState::Implement;
    change.authorised_digest = Some(change_content_digest(&change.spec));
    let calendars = vec![Calendar {
        name: "prod".into(),
        spec: serde_json::from_value(json!({
            "scope": {"environment": "production"},
            "windows": [{"name": "night", "cron": "0 1 * * *", "duration": "3h"}],
            "freezes": [{"name": "audit", "start": "2025-06-04T00:00:00Z", "end": "2025-06-05T00:00:00Z"}],
        }))
        .unwrap(),
    }];
    let lockdown = vec![Calendar {
        name: "org".into(),
        spec: serde_json::from_value(json!({"lockdown": true})).unwrap(),
    }];
    let passed = vec![CheckResult {
        name: "tests".into(),
        passed: true,
        detail: String::new(),
    }];
    let failed = vec![CheckResult {
        name: "tests".into(),
        passed: false,
        detail: "3 failures".into(),
    }];
    let required = vec!["tests".to_string(), "scan".to_string()];
    let base = GateInput {
        change: Some(&change),
        service: "payments",
        environment: "production",
        now: ts("2025-06-03T02:00:00Z"),
        calendars: &calendars,
        checks: &passed,
        required_checks: &required[..1],
        break_glass: None,
        exception_approved: false,
        emergency: None,
    };
    // (input, failing rules)
    let mut grant_change = ChangeRecord::new("CHG9", spec("emergency"));
    let grant = grant_break_glass(
        &grant_change,
        &BreakGlassRequest {
            requested_by: "oncall".into(),
            reason: "outage".into(),
            duration: SignedDuration::from_hours(2),
            at: ts("2025-06-04T10:00:00Z"),
        },
        &BreakGlassPolicy::default(),
    )
    .unwrap();
    grant_change.break_glass = Some(grant.clone());
    let cases: Vec<(GateInput, &[&str])> = vec![
        (base.clone(), &[]),
        (
            GateInput {
                change: None,
                ..base.clone()
            },
            &[
                "change-present",
                "change-covers-target",
                "change-authorised",
            ],
        ),
        (
            GateInput {
                environment: "staging",
                ..base.clone()
            },
            &["change-covers-target"],
        ),
        (
            GateInput {
                now: ts("2025-06-03T05:00:00Z"),
                ..base.clone()
            },
            &["window"],
        ),
        (
            GateInput {
                now: ts("2025-06-04T02:00:00Z"),
                ..base.clone()
            },
            &["freeze"],
        ),
        (
            GateInput {
                now: ts("2025-06-04T02:00:00Z"),
                exception_approved: true,
                ..base.clone()
            },
            &[],
        ),
        (
            GateInput {
                checks: &failed,
                ..base.clone()
            },
            &["checks"],
        ),
        (
            GateInput {
                required_checks: &required,
                ..base.clone()
            },
            &["checks"],
        ),
        (
            GateInput {
                calendars: &lockdown,
                ..base.clone()
            },
            &["lockdown"],
        ),
        (
            GateInput {
                calendars: &lockdown,
                exception_approved: true,
                ..base.clone()
            },
            &["lockdown"],
        ),
        // Break-glass during a freeze, outside the window, with no authorised change.
        (
            GateInput {
                change: Some(&grant_change),
                now: ts("2025-06-04T11:00:00Z"),
                ..base.clone()
            },
            &[],
        ),
        (
            GateInput {
                change: Some(&grant_change),
                now: ts("2025-06-04T12:00:00Z"),
                ..base.clone()
            },
            &["change-authorised", "window", "freeze"],
        ),
    ];
    for (input, failing) in &cases {
        let decision = decide_gate(input);
        let names: Vec<&str> = decision.reasons.iter().map(|r| r.rule.as_str()).collect();
        let mut expected = vec![
            "calendars-valid",
            "lockdown",
            "change-present",
            "change-covers-target",
            "change-authorised",
        ];
        // Emergency changes also face the emergency loop's rule (not enforced here).
        if input
            .change
            .is_some_and(|c| c.spec.change_type == ChangeType::Emergency)
        {
            expected.push("previous-emergency-reviewed");
        }
        expected.extend(["window", "freeze", "checks"]);
        assert_eq!(names, expected);
        let got: Vec<&str> = decision
            .reasons
            .iter()
            .filter(|r| !r.passed)
            .map(|r| r.rule.as_str())
            .collect();
        assert_eq!(&got, failing, "{:#?}", decision.reasons);
        assert_eq!(decision.allowed, failing.is_empty());
    }
    let decision = decide_gate(&GateInput {
        checks: &failed,
        ..base.clone()
    });
    let json = serde_json::to_value(&decision).unwrap();
    assert_eq!(
        json["reasons"][7],
        json!({"rule": "checks", "passed": false, "detail": "tests failed: 3 failures"})
    );
}

#[test]
fn the_digest_covers_what_the_change_does() {
    let base = spec("normal");
    let digest = change_content_digest(&base);
    assert!(digest.starts_with("sha256:"));
    let same: &[fn(&mut ChangeRequestSpec)] = &[
        |s| s.title = "other".into(),
        |s| s.justification = "other".into(),
        |s| s.description = Some("other".into()),
        |s| s.environments = vec!["production".into()],
    ];
    let different: &[fn(&mut ChangeRequestSpec)] = &[
        |s| s.artifacts[0].digest = format!("sha256:{}", "cd".repeat(32)),
        |s| s.implementation_plan.push('!'),
        |s| s.backout_plan.push('!'),
        |s| s.test_plan.push('!'),
        |s| s.environments.push("staging".into()),
        |s| s.services.push("ledger".into()),
        |s| s.planned_end = Some(ts("2025-06-03T04:00:00Z")),
    ];
    for edit in same {
        let mut s = base.clone();
        edit(&mut s);
        assert_eq!(change_content_digest(&s), digest);
    }
    for edit in different {
        let mut s = base.clone();
        edit(&mut s);
        assert_ne!(change_content_digest(&s), digest);
    }
}

#[test]
fn impacted_services_are_the_transitive_dependants() {
    let graph: BTreeMap<String, Vec<String>> = [
        ("web", vec!["api"]),
        ("mobile", vec!["api"]),
        ("api", vec!["ledger", "auth"]),
        ("reports", vec!["ledger"]),
        ("ledger", vec![]),
        ("auth", vec!["api"]), // a cycle is harmless
    ]
    .into_iter()
    .map(|(s, d)| (s.to_string(), d.into_iter().map(String::from).collect()))
    .collect();
    let check = |changed: &[&str], expected: &[&str]| {
        let changed: Vec<String> = changed.iter().map(|s| s.to_string()).collect();
        assert_eq!(impacted_services(&changed, &graph), expected, "{changed:?}");
    };
    check(&["ledger"], &["api", "auth", "mobile", "reports", "web"]);
    check(&["web"], &[]);
    check(&["api"], &["auth", "mobile", "web"]);
    check(&["api", "web"], &["auth", "mobile"]);
}

#[test]
fn risk_factors_explain_the_score() {
    let policy = RiskPolicySpec::default();
    let input = RiskInput {
        environment_tier: EnvironmentTier::Production,
        impacted_services: 7,
        versions: vec![
            VersionChange {
                service: "payments".into(),
                current: Some("2.3.7".into()),
                new: "3.0.0".into(),
            },
            VersionChange {
                service: "ledger".into(),
                current: Some("1.2.0".into()),
                new: "1.2.1".into(),
            },
        ],
        change_failure_rate: Some(0.25),
        minutes_to_window_end: Some(30),
        change_type: ChangeType::Emergency,
    };
    let assessment = assess_risk(&input, &policy);
    let factors: Vec<(&str, u32)> = assessment
        .factors
        .iter()
        .map(|f| (f.name.as_str(), f.contribution))
        .collect();
    assert_eq!(
        factors,
        [
            ("environment", 30),
            ("blastRadius", 20),
            ("versionChange", 20),
            ("failureRate", 10),
            ("windowEnd", 8),
            ("emergency", 15)
        ]
    );
    assert_eq!(assessment.score, 103);
    assert_eq!(assessment.level, RiskLevel::VeryHigh);
    let quiet = RiskInput {
        environment_tier: EnvironmentTier::Staging,
        impacted_services: 0,
        versions: vec![VersionChange {
            service: "payments".into(),
            current: Some("2.3.7".into()),
            new: "2.3.8".into(),
        }],
        change_failure_rate: None,
        minutes_to_window_end: Some(120),
        change_type: ChangeType::Standard,
    };
    let assessment = assess_risk(&quiet, &policy);
    assert_eq!(assessment.score, 12);
    assert_eq!(assessment.level, RiskLevel::Low);
    let with_models: RiskPolicySpec =
        serde_json::from_value(json!({"modelForLevel": {"low": "standard-patch", "high": "cab"}}))
            .unwrap();
    assert_eq!(
        with_models.model_for(assessment.level),
        Some("standard-patch")
    );
    assert_eq!(with_models.model_for(RiskLevel::Moderate), None);
    assert_eq!(with_models.weights, RiskWeights::default());
}

#[test]
fn versions_are_classified_by_semver() {
    let cases = [
        (Some("1.2.3"), "2.0.0", VersionStep::Major),
        (Some("0.3.1"), "0.4.0", VersionStep::Major),
        (Some("v1.2.3"), "v1.3.0", VersionStep::Minor),
        (Some("1.2.3"), "1.2.4", VersionStep::Patch),
        (Some("1.2.3-rc.1"), "1.2.3", VersionStep::Patch),
        (Some("1.2.3"), "1.2.3+build.7", VersionStep::Unchanged),
        (Some("1.2.3"), "1.2.2", VersionStep::Downgrade),
        (None, "1.0.0", VersionStep::Initial),
        (Some("1.2.3"), "latest", VersionStep::Unclassified),
        (Some("2024-05"), "1.0.0", VersionStep::Unclassified),
    ];
    for (current, new, step) in cases {
        assert_eq!(classify_version(current, new), step, "{current:?} → {new}");
    }
}

#[test]
fn rates_count_each_change_once_per_team_and_service() {
    let row = |id: &str, team: &str, service: &str, code| ClosedChange {
        change_id: id.into(),
        team: team.into(),
        service: service.into(),
        close_code: code,
        closed_at: None,
    };
    let rates = change_rates(&[
        row("c1", "payments", "payments", CloseCode::Successful),
        row("c1", "payments", "ledger", CloseCode::Successful),
        row("c2", "payments", "payments", CloseCode::Unsuccessful),
        row(
            "c3",
            "payments",
            "payments",
            CloseCode::SuccessfulWithIssues,
        ),
        row("c4", "search", "search", CloseCode::Unsuccessful),
    ]);
    let team = &rates.by_team["payments"];
    assert_eq!(
        (
            team.total,
            team.successful,
            team.successful_with_issues,
            team.unsuccessful
        ),
        (3, 1, 1, 1)
    );
    assert!((team.success_rate - 2.0 / 3.0).abs() < 1e-12);
    assert!((team.failure_rate - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(rates.by_service["payments"].total, 3);
    assert_eq!(rates.by_service["ledger"].total, 1);
    assert_eq!(rates.by_service["search"].failure_rate, 1.0);

    let mut closed = ChangeRecord::new("c9", spec("normal"));
    closed.state = ChangeState::Closed;
    closed.close_code = Some(CloseCode::Successful);
    let owners: BTreeMap<String, String> =
        [("payments".to_string(), "payments-team".to_string())].into();
    let rows = ClosedChange::from_record(&closed, &owners);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].team, "payments-team");
    closed.state = ChangeState::Review;
    assert!(ClosedChange::from_record(&closed, &owners).is_empty());
}

fn tier() -> impl Strategy<Value = EnvironmentTier> {
    prop_oneof![
        Just(EnvironmentTier::Development),
        Just(EnvironmentTier::Test),
        Just(EnvironmentTier::Staging),
        Just(EnvironmentTier::Production)
    ]
}

fn version() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..4, 0u64..4, 0u64..4).prop_map(|(a, b, c)| format!("{a}.{b}.{c}")),
        Just("not-a-version".to_string())
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn factors_sum_to_the_score(
        tier in tier(),
        impacted in 0usize..1000,
        versions in proptest::collection::vec((proptest::option::of(version()), version()), 0..4),
        rate in proptest::option::of(prop_oneof![-1.0f64..2.0, Just(f64::NAN)]),
        minutes in proptest::option::of(-100i64..200),
        emergency in any::<bool>(),
        weights in proptest::collection::vec(0u32..u32::MAX, 10),
        window_minutes in 1u32..500,
    ) {
        let mut policy = RiskPolicySpec::default();
        let w = &mut policy.weights;
        w.environment.production = weights[0];
        w.per_impacted_service = weights[1];
        w.max_blast_radius = weights[2];
        w.version.major = weights[3];
        w.version.unclassified = weights[4];
        w.failure_rate = weights[5];
        w.window_end = weights[6];
        w.emergency = weights[7];
        w.environment.staging = weights[8];
        w.version.initial = weights[9];
        w.window_end_minutes = window_minutes;
        let input = RiskInput {
            environment_tier: tier,
            impacted_services: impacted,
            versions: versions
                .into_iter()
                .map(|(current, new)| VersionChange { service: "s".into(), current, new })
                .collect(),
            change_failure_rate: rate,
            minutes_to_window_end: minutes,
            change_type: if emergency { ChangeType::Emergency } else { ChangeType::Normal },
        };
        let assessment = assess_risk(&input, &policy);
        let sum: u64 = assessment.factors.iter().map(|f| u64::from(f.contribution)).sum();
        prop_assert_eq!(sum, assessment.score);
        prop_assert_eq!(assessment.factors.len(), 6);
        prop_assert_eq!(assessment.level, policy.thresholds.level(assessment.score));
        let window = assessment.factors.iter().find(|f| f.name == "windowEnd").unwrap();
        prop_assert!(window.contribution <= policy.weights.window_end);
    }
}
