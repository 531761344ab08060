//! The emergency loop closes: break-glass leaves a retrospective approval and a review due; when
//! they are overdue `slipway change overdue` lists them and each is escalated once (an audited
//! change event and a CDEvent to the sinks, not again after a restart); while the review is
//! overdue the change model's `blockWhilePreviousReviewOverdue` refuses the service's next
//! emergency at break-glass and at the gate (a direct rollout and a release stage), never a
//! rollback to the last promoted version; a review with outcome, findings, follow-up actions
//! and a proposed model patch lets the held deployment go, and the patch is applied only by
//! someone who may update change models.

use crate::support::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// An emergency model whose retrospective approval is due 2 s and review 8 s after
/// break-glass, blocking the next emergency of a service while a review is overdue.
const STRICT_MODEL: &str = "apiVersion: slipway.dev/v1alpha1\nkind: ChangeModel\nmetadata: {name: emergency-strict}\nspec:\n  type: emergency\n  states: [New, Implement, Review, Closed]\n  emergency:\n    retroApprovalWithin: 2s\n    reviewWithin: 8s\n    blockWhilePreviousReviewOverdue: true\n";

fn emergency_change(server: &Server, name: &str) {
    let document = format!(
        "apiVersion: slipway.dev/v1alpha1\nkind: ChangeRequest\nmetadata: {{name: {name}}}\nspec:\n  type: emergency\n  model: emergency-strict\n  title: payments hotfix {name}\n  requester: admin\n  services: [payments-api]\n  environments: [production]\n  justification: payments are failing\n  implementationPlan: direct\n  backoutPlan: roll back\n"
    );
    let file = server.write(&format!("release/{name}.yaml"), document);
    server
        .cli(&["change", "create", "-f", path_str(&file)])
        .expect(OK);
}

fn break_glass(server: &Server, change: &str) -> Run {
    server.cli(&[
        "change",
        "break-glass",
        change,
        "--reason",
        "payments down",
        "--duration",
        "1h",
    ])
}

/// Waits until rollout `name` is held at the gate by chg-911's overdue review, and says so.
fn held_by_chg_911(server: &Server, name: &str) {
    let waiting = server.wait_for_rollout(name, &["Pending"]);
    let message = waiting["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("previous-emergency-reviewed: ChangeModel emergency-strict spec.emergency.blockWhilePreviousReviewOverdue: the post-implementation review of emergency change chg-911 (payments-api)"),
        "{waiting}"
    );
}

/// The overdue escalations the sink received, as (change, what) → how many times.
fn escalations_received(receiver: &Recorder) -> BTreeMap<(String, String), usize> {
    let mut seen = BTreeMap::new();
    for request in receiver.received() {
        let Ok(event) = serde_json::from_str::<Value>(&request.body) else {
            continue;
        };
        let content = &event["data"]["subject"]["content"];
        let labels: Vec<&str> = content["labels"]
            .as_array()
            .map(|l| l.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if event["type"] != "dev.cdevents.ticket.updated.0.2.0"
            || labels.first() != Some(&"overdue")
        {
            continue;
        }
        let change = content["uri"]
            .as_str()
            .unwrap_or_default()
            .trim_start_matches("/api/v1/changerequests/")
            .to_string();
        *seen
            .entry((change, labels.get(1).unwrap_or(&"").to_string()))
            .or_insert(0) += 1;
    }
    seen
}

/// The `escalate` events recorded for `change`, by what they escalated.
fn escalation_events(server: &Server, change: &str) -> Vec<String> {
    let view = server
        .cli(&["change", "get", change, "-o", "json"])
        .expect(OK)
        .json();
    view["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "escalate")
        .map(|e| {
            assert_eq!(e["actor"], "system:overdue", "{e}");
            e["details"]["key"].as_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn an_overdue_review_is_listed_escalated_once_and_holds_the_next_emergency_until_done() {
    let mut payments = Payments::v1_serving();
    let receiver = Recorder::start("/events");
    {
        let server = &payments.server;
        server.apply_text("release/strict.yaml", STRICT_MODEL);
        server.apply_text(
            "release/sink.yaml",
            &format!(
                "apiVersion: slipway.dev/v1alpha1\nkind: EventSink\nmetadata: {{name: itsm}}\nspec: {{url: \"{}\", eventTypes: [\"dev.cdevents.ticket.updated.*\"]}}\n",
                receiver.url
            ),
        );
        payments.add_build("2.1.0", "");

        // Two emergencies of payments-api: the second breaks glass before the first's review
        // is due, which the model allows.
        emergency_change(server, "chg-911");
        emergency_change(server, "chg-912");
        emergency_change(server, "chg-913");
        break_glass(server, "chg-911")
            .expect(OK)
            .prints(&["state Implement"]);
        break_glass(server, "chg-912").expect(OK);
        payments.start_rollout_under("chg-911", "hotfix", "2.0.0", "{direct: {}}");
        let status = server.wait_for_rollout_end("hotfix");
        assert_eq!(status["phase"], "Promoted", "{status}");

        // Past the deadlines: listed, with what is due, the deadline, how late and the team.
        let overdue = wait_until(
            Duration::from_secs(30),
            "chg-911's retrospective approval and review to be overdue and escalated",
            || {
                let answer = server
                    .cli(&["change", "overdue", "-o", "json"])
                    .expect(OK)
                    .json();
                let mine: Vec<Value> = answer["overdue"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|i| i["change"] == "chg-911")
                    .cloned()
                    .collect();
                if mine.len() == 2 && mine.iter().all(|i| i["escalatedAt"].is_string()) {
                    Ok(mine)
                } else {
                    Err(answer.to_string())
                }
            },
        );
        let what: Vec<&str> = overdue
            .iter()
            .map(|i| i["what"].as_str().unwrap())
            .collect();
        assert_eq!(
            what,
            ["retrospective approval", "post-implementation review"]
        );
        for item in &overdue {
            assert_eq!(
                item["services"],
                serde_json::json!(["payments-api"]),
                "{item}"
            );
            assert_eq!(item["teams"], serde_json::json!(["payments"]), "{item}");
            assert!(item["overdueSeconds"].as_i64().unwrap() > 0, "{item}");
            assert!(item["deadline"].is_string(), "{item}");
        }
        // The same list over HTTP, documented in the OpenAPI document.
        let listed = server.get("/api/v1/overdue-changes");
        assert_eq!(listed.status, 200, "{}", listed.body);
        assert!(listed.json()["overdue"].as_array().unwrap().len() >= 2);
        let openapi = server.anonymous().get("/api/v1/openapi.json").json();
        assert!(
            openapi["paths"]["/api/v1/overdue-changes"]["get"].is_object(),
            "the route is documented"
        );
        let action = &openapi["components"]["schemas"]["ChangeActionRequest"]["properties"];
        for field in [
            "outcome",
            "findings",
            "followUps",
            "proposedModelPatch",
            "number",
        ] {
            assert!(action[field].is_object(), "{field} documented: {action}");
        }
        let table = server.cli(&["change", "overdue"]).expect(OK);
        table.prints(&[
            "CHANGE",
            "OVERDUE BY",
            "chg-911",
            "post-implementation review",
            "payments",
        ]);

        // The escalation reached the sink, and the change's history records it.
        wait_until(
            Duration::from_secs(20),
            "the sink to receive chg-911's two escalations",
            || {
                let seen = escalations_received(&receiver);
                let review = (
                    "chg-911".to_string(),
                    "post-implementation-review".to_string(),
                );
                let retro = ("chg-911".to_string(), "retrospective-approval".to_string());
                (seen.contains_key(&review) && seen.contains_key(&retro))
                    .then_some(())
                    .ok_or(format!("{seen:?}"))
            },
        );
        let mut keys = escalation_events(server, "chg-911");
        keys.sort();
        assert_eq!(
            keys,
            ["post-implementation-review", "retrospective-approval"]
        );
    }

    // Escalations are recorded once: a restart escalates nothing again.
    payments.server.restart();
    let server = &payments.server;
    holds_for(
        Duration::from_secs(3),
        "each escalation received once, and recorded once, across the restart",
        || {
            let seen = escalations_received(&receiver);
            let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
            let recorded = escalation_events(server, "chg-911").len();
            (twice.is_empty() && recorded == 2)
                .then_some(())
                .ok_or(format!(
                    "received {seen:?}; chg-911 has {recorded} escalate events"
                ))
        },
    );

    // Break-glass for a third emergency of the service is refused, naming the rule, the
    // model's field and the change whose review is overdue.
    let refused = break_glass(server, "chg-913").expect(CONFLICT);
    refused.says(&[
        "previous-emergency-reviewed",
        "ChangeModel emergency-strict spec.emergency.blockWhilePreviousReviewOverdue",
        "emergency change chg-911 (payments-api)",
        "overdue",
    ]);

    // Going back to the version served before the hotfix is never blocked.
    payments.start_rollout_under("chg-912", "back", "1.0.0", "{direct: {}}");
    let status = server.wait_for_rollout_end("back");
    assert_eq!(status["phase"], "Promoted", "{status}");
    server
        .cli(&["gate", "explain", "back"])
        .expect(OK)
        .prints(&[
            "✓ previous-emergency-reviewed",
            "going back to the last promoted version is never blocked",
        ]);

    // A release stage under the second emergency waits at the gate, saying why.
    payments.route_releases_here();
    let release = "apiVersion: slipway.dev/v1alpha1\nkind: Pipeline\nmetadata: {name: hotfix-line}\nspec:\n  stages:\n    - {environment: production, strategy: {direct: {}}}\n---\napiVersion: slipway.dev/v1alpha1\nkind: Release\nmetadata: {name: second-hotfix}\nspec: {pipeline: hotfix-line, change: chg-912, artifacts: [payments-api-2-1-0]}\n";
    server.apply_text("release/second-hotfix.yaml", release);
    held_by_chg_911(server, "second-hotfix-production-payments-api");
    server
        .cli(&["delete", "release", "second-hotfix"])
        .expect(OK);
    server
        .cli(&["delete", "rollout", "second-hotfix-production-payments-api"])
        .expect(OK);

    // So does a rollout applied directly; the gate explains it.
    payments.start_rollout_under("chg-912", "second", "2.1.0", "{direct: {}}");
    held_by_chg_911(server, "second");
    server
        .cli(&["gate", "explain", "second"])
        .expect(OK)
        .prints(&[
            "✗ previous-emergency-reviewed",
            "spec.emergency.blockWhilePreviousReviewOverdue",
            "emergency change chg-911 (payments-api)",
        ]);
    server.holds_rollout_phase("second", "Pending", Duration::from_secs(2));

    // The review: recorded by someone who may update change requests but not change models,
    // with findings, follow-up actions and a proposed patch of the model.
    let lead = server
        .user("lead")
        .team("payments")
        .custom_role(
            "change-reviewer",
            "[{verbs: [get, list, update], kinds: [changerequests]}]",
        )
        .create();
    let patch = server.write(
        "review/patch.yaml",
        "emergency:\n  reviewWithin: 24h\n  retroApprovalWithin: 24h\n",
    );
    let review = |args: &[&str]| {
        let mut command = vec!["change", "review", "chg-911"];
        command.extend(args);
        lead.cli(&command)
    };
    review(&[
        "--outcome",
        "successful-with-issues",
        "--findings",
        "the hotfix skipped staging",
        "--action",
        "add a staging canary; owner=bob",
    ])
    .expect(INVALID)
    .says(&["--action #1: due=DATE is missing"]);
    review(&["--outcome", "failed", "--findings", " "])
        .expect(INVALID)
        .says(&["findings: are required when the outcome is failed"]);
    review(&[
        "--outcome",
        "successful-with-issues",
        "--findings",
        "the hotfix skipped staging",
        "--action",
        "add a staging canary; owner=bob; due=2099-01-31",
        "--action",
        "alert on ledger timeouts; owner=carol; due=2099-02-28T12:00:00Z",
        "--propose-model-patch",
        path_str(&patch),
    ])
    .expect(OK)
    .prints(&["change chg-911: review recorded; state Review"]);
    review(&["--outcome", "successful"])
        .expect(CONFLICT)
        .says(&["its review was already recorded by lead"]);

    // With the review done, the held emergency goes ahead by itself.
    let status = server.wait_for_rollout_end("second");
    assert_eq!(status["phase"], "Promoted", "{status}");
    assert_eq!(payments.serving(), "example-service 2.1.0");

    // What the review says, and the follow-up actions tracked to done.
    lead.cli(&["change", "complete-action", "chg-911", "1"])
        .expect(OK);
    lead.cli(&["change", "complete-action", "chg-911", "1"])
        .expect(CONFLICT)
        .says(&["follow-up action 1 of change chg-911 was already done by lead"]);
    let shown = lead.cli(&["change", "get", "chg-911"]).expect(OK);
    shown.prints(&[
        "review:     successful-with-issues by lead",
        "findings: the hotfix skipped staging",
        "action 1 [done] add a staging canary (owner bob, due 2099-02-01T00:00:00Z), done by lead",
        "action 2 [open] alert on ledger timeouts (owner carol, due 2099-02-28T12:00:00Z)",
        "proposed patch of ChangeModel emergency-strict (revision 1)",
    ]);

    // The proposed model is applied only by someone who may update change models, through a
    // normal apply at the revision it was written against.
    let proposed = lead
        .cli(&["change", "proposed-model", "chg-911"])
        .expect(OK)
        .stdout
        .clone();
    assert!(proposed.contains("reviewWithin: 24h"), "{proposed}");
    let file = server.write("review/proposed-model.yaml", &proposed);
    lead.cli(&["apply", "-f", path_str(&file)]).expect(DENIED);
    server.cli(&["apply", "-f", path_str(&file)]).expect(OK);
    server
        .cli(&["apply", "-f", path_str(&file)])
        .expect(CONFLICT);
    let model = server.resource("changemodels", "emergency-strict").unwrap();
    assert_eq!(model["spec"]["emergency"]["reviewWithin"], "24h", "{model}");

    // The retrospective approval, by someone else, clears chg-911 from the list; then it closes.
    let bob = server
        .user("bob")
        .team("release-management")
        .role("admin")
        .create();
    bob.cli(&["change", "approve", "chg-911"]).expect(OK);
    let answer = server
        .cli(&["change", "overdue", "-o", "json"])
        .expect(OK)
        .json();
    assert!(
        answer["overdue"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["change"] != "chg-911"),
        "{answer}"
    );
    server
        .cli(&[
            "change",
            "close",
            "chg-911",
            "--code",
            "SuccessfulWithIssues",
            "--notes",
            "see the review",
        ])
        .expect(OK)
        .prints(&["state Closed"]);
}
