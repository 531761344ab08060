//! Change control on every deploy path: change requests with separation of duties and
//! approvals bound to their content, the deployment gate (freezes, windows, lockdowns,
//! exceptions, break-glass, Rego policies) and what it explains, evidence packs, the queue of
//! unauthorised changes, and CDEvents to the configured sinks.

use crate::support::snapshot;
use crate::support::*;
use serde_json::Value;
use std::time::Duration;

/// A second administrator (bob, team release-management): approvals need someone other than
/// the requester.
fn second_admin(server: &Server) -> Client {
    server
        .user("bob")
        .team("release-management")
        .role("admin")
        .create()
}

/// A normal change to payments-api in production, planned from a minute ago for four hours.
fn normal_change(server: &Server, name: &str, backout: &str) -> std::path::PathBuf {
    let now = jiff::Timestamp::now();
    let document = format!(
        "apiVersion: slipway.dev/v1alpha1\nkind: ChangeRequest\nmetadata: {{name: {name}}}\nspec:\n  type: normal\n  title: payments-api 2.0.0\n  requester: admin\n  services: [payments-api]\n  environments: [production]\n  justification: new ledger client\n  implementationPlan: canary\n  backoutPlan: {backout}\n  testPlan: contract tests\n  plannedStart: \"{}\"\n  plannedEnd: \"{}\"\n",
        now - jiff::SignedDuration::from_mins(1),
        now + jiff::SignedDuration::from_hours(4)
    );
    server.write(&format!("{name}.yaml"), document)
}

#[test]
fn change_requests_enforce_separation_of_duties_and_void_approvals_on_edit() {
    let payments = Payments::v1_serving();
    let server = &payments.server;
    let bob = second_admin(server);
    let file = normal_change(server, "chg-2", "roll back to 1.0.0");
    server
        .cli(&["change", "create", "-f", path_str(&file)])
        .expect(OK);
    server
        .cli(&["change", "submit", "chg-2"])
        .expect(OK)
        .prints(&["state Assess"]);

    // The requester cannot approve their own change.
    let own = server.cli(&["change", "approve", "chg-2"]).expect(DENIED);
    own.says(&["separation of duties", "admin requested"]);
    snapshot::assert_error("approve-own-change", &own);
    // Bob's approval moves it through Assess and Authorize to Scheduled, then it is implemented.
    bob.cli(&["change", "approve", "chg-2", "--comment", "ok"])
        .expect(OK)
        .prints(&["state Scheduled"]);
    let view = server
        .cli(&["change", "get", "chg-2", "-o", "json"])
        .expect(OK)
        .json();
    let authorised = view["record"]["authorisedDigest"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(view["contentDigest"], authorised.as_str());
    assert!(
        view["record"]["risk"]["factors"].as_array().unwrap().len() >= 5,
        "{view}"
    );

    // An edit after approval voids it: implement is refused and names the reason.
    let edited = normal_change(server, "chg-2", "restore the database snapshot");
    server.apply(&edited);
    server
        .cli(&["change", "implement", "chg-2"])
        .expect(CONFLICT)
        .says(&["edited after it was authorised"]);
    // A rollout naming it waits at the gate, and the gate says why.
    let document = payments
        .rollout_document("v2", "2.0.0", "{direct: {}}")
        .replace("change: chg-tests", "change: chg-2");
    payments.apply_rollout("v2-chg2", &document);
    let status = server.wait_for_rollout("v2", &["Pending"]);
    let message = status["message"].as_str().unwrap_or_default().to_string();
    assert!(message.contains("waiting at the gate"), "{status}");
    server
        .cli(&["gate", "explain", "v2"])
        .expect(OK)
        .prints(&["✗ change-authorised", "edited after it was authorised"]);
    // Clients cannot forge gate decisions or change events.
    let forged = server.write(
        "forged.yaml",
        "apiVersion: slipway.dev/v1alpha1\nkind: ChangeEvent\nmetadata: {name: forged}\nspec: {change: chg-2, sequence: 9, action: approve, actor: carol, at: \"2026-01-01T00:00:00Z\", contentDigest: x, fromState: Authorize, toState: Scheduled}\n",
    );
    server
        .cli(&["apply", "-f", path_str(&forged)])
        .expect(DENIED)
        .says(&["written by the server"]);

    // Re-approved on the new content, implemented: the waiting rollout goes ahead by itself.
    server.cli(&["change", "submit", "chg-2"]).expect(CONFLICT);
    bob.cli(&["change", "approve", "chg-2"]).expect(OK);
    server.cli(&["change", "implement", "chg-2"]).expect(OK);
    let status = server.wait_for_rollout_end("v2");
    assert_eq!(status["phase"], "Promoted", "{status}");
    let explained = server
        .cli(&["gate", "explain", "v2", "-o", "json"])
        .expect(OK)
        .json();
    let verdicts: Vec<&str> = explained["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["decision"]["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts.first(), Some(&"wait"), "{explained}");
    assert_eq!(verdicts.last(), Some(&"allow"), "{explained}");

    // Every action and decision is in the audit log.
    let export = server.path("export.json");
    server
        .cli(&["audit", "export", "--out", path_str(&export)])
        .expect(OK);
    let entries = std::fs::read_to_string(&export).unwrap();
    assert!(entries.contains("ChangeEvent") && entries.contains("GateDecision"));

    // The evidence pack verifies offline, and a forged approver is caught.
    let pack = server.path("chg-2-evidence.json");
    server
        .cli(&["change", "evidence", "chg-2", "--out", path_str(&pack)])
        .expect(OK);
    server
        .cli(&["evidence", "verify", path_str(&pack)])
        .expect(OK)
        .prints(&["verified"]);
    let text = std::fs::read_to_string(&pack).unwrap();
    let document: Value = serde_json::from_str(&text).unwrap();
    let roles: Vec<&str> = document["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["role"].as_str().unwrap())
        .collect();
    for role in ["change", "event", "gate-decision", "deployment"] {
        assert!(roles.contains(&role), "{role} missing from {roles:?}");
    }
    assert!(
        text.contains("\"actor\":\"bob\""),
        "approvals carry the approver"
    );
    let forged = server.write(
        "forged-evidence.json",
        text.replace("\"actor\":\"bob\"", "\"actor\":\"eve\""),
    );
    server
        .cli(&["evidence", "verify", path_str(&forged)])
        .expect(VERIFY_FAILED)
        .says(&["digest"]);
}

#[test]
fn a_freeze_holds_every_path_until_an_exception_and_break_glass_leaves_a_review_due() {
    let payments = Payments::v1_serving();
    let server = &payments.server;
    let now = jiff::Timestamp::now();
    let freeze = format!(
        "apiVersion: slipway.dev/v1alpha1\nkind: Calendar\nmetadata: {{name: quarter-end}}\nspec:\n  scope: {{environment: production}}\n  freezes:\n    - {{name: quarter-end, start: \"{}\", end: \"{}\", reason: quarter-end close}}\n",
        now - jiff::SignedDuration::from_mins(5),
        now + jiff::SignedDuration::from_hours(2)
    );
    server.apply_text("release/freeze.yaml", &freeze);

    // A rollout applied with the CLI waits, even with an implemented change.
    payments.start_rollout("v2", "2.0.0", "{direct: {}}");
    let status = server.wait_for_rollout("v2", &["Pending"]);
    assert!(
        status["message"]
            .as_str()
            .unwrap_or_default()
            .contains("quarter-end"),
        "{status}"
    );
    holds_for(
        Duration::from_secs(3),
        "rollout v2 pending during the freeze",
        || {
            let now = server.resource("rollouts", "v2").unwrap()["status"].clone();
            (now["phase"] == "Pending")
                .then_some(())
                .ok_or(now.to_string())
        },
    );
    // A release pipeline's deployment waits at the same gate.
    payments.route_releases_here();
    let release = "apiVersion: slipway.dev/v1alpha1\nkind: Pipeline\nmetadata: {name: frozen}\nspec:\n  stages:\n    - {environment: production, strategy: {direct: {}}}\n---\napiVersion: slipway.dev/v1alpha1\nkind: Release\nmetadata: {name: frozen}\nspec: {pipeline: frozen, change: chg-tests, artifacts: [payments-api-3-0-0]}\n";
    server.apply_text("release/frozen.yaml", release);
    holds_for(
        Duration::from_secs(3),
        "1.0.0 serving: nothing may deploy during the freeze",
        || {
            let body = payments.serving();
            body.contains("1.0.0").then_some(()).ok_or(body)
        },
    );
    let explained = server.cli(&["gate", "explain", "v2"]).expect(OK);
    explained.prints(&["✗ freeze"]);
    snapshot::assert_output("gate-explain-frozen", &explained);
    // The release's stage is held too; take it away (it would follow v2 otherwise).
    let release = server.wait_for_phase("releases", "frozen", &["Progressing"]);
    assert!(release["waves"].is_array(), "{release}");
    let waiting = server
        .resource("rollouts", "frozen-production-payments-api")
        .unwrap();
    // Queued behind v2 or waiting at the gate itself: either way not deploying.
    assert!(
        waiting["status"]["phase"].is_null() || waiting["status"]["phase"] == "Pending",
        "{waiting}"
    );
    server.cli(&["delete", "release", "frozen"]).expect(OK);
    server
        .cli(&["delete", "rollout", "frozen-production-payments-api"])
        .expect(OK);

    // An exception to the freeze, approved by someone who may approve the change, lets the
    // waiting rollout through; the requester cannot grant it to himself.
    let bob = second_admin(server);
    server
        .cli(&[
            "change",
            "approve-exception",
            "chg-tests",
            "--reason",
            "mine",
        ])
        .expect(DENIED)
        .says(&["separation of duties"]);
    bob.cli(&[
        "change",
        "approve-exception",
        "chg-tests",
        "--reason",
        "fix for the close",
    ])
    .expect(OK);
    let status = server.wait_for_rollout_end("v2");
    assert_eq!(status["phase"], "Promoted", "{status}");

    // Break-glass: an emergency change is implemented at once, for a limited time.
    let emergency = "apiVersion: slipway.dev/v1alpha1\nkind: ChangeRequest\nmetadata: {name: chg-911}\nspec:\n  type: emergency\n  title: hotfix\n  requester: admin\n  services: [payments-api]\n  environments: [production]\n  justification: payments are failing\n  implementationPlan: direct\n  backoutPlan: roll back\n";
    let file = server.write("release/chg-911.yaml", emergency);
    server
        .cli(&["change", "create", "-f", path_str(&file)])
        .expect(OK);
    server
        .cli(&[
            "change",
            "break-glass",
            "chg-911",
            "--reason",
            "payments down",
            "--duration",
            "1h",
        ])
        .expect(OK)
        .prints(&["state Implement"]);
    let hotfix = payments
        .rollout_document("hotfix", "2.0.0", "{direct: {}}")
        .replace("change: chg-tests", "change: chg-911");
    payments.apply_rollout("hotfix", &hotfix);
    let status = server.wait_for_rollout_end("hotfix");
    assert_eq!(status["phase"], "Promoted", "{status}");
    let view = server
        .cli(&["change", "get", "chg-911", "-o", "json"])
        .expect(OK)
        .json();
    let grant = &view["record"]["breakGlass"];
    assert!(grant["retroApprovalDeadline"].is_string(), "{view}");
    assert!(grant["reviewTask"].is_object(), "{view}");
    // The retrospective approval, by someone else.
    bob.cli(&["change", "approve", "chg-911"]).expect(OK);
    let view = server
        .cli(&["change", "get", "chg-911", "-o", "json"])
        .expect(OK)
        .json();
    assert!(view["record"]["authorisedDigest"].is_string(), "{view}");
}

#[test]
fn a_deployment_without_an_authorised_change_is_queued_for_review() {
    let payments = Payments::v1_serving();
    let server = &payments.server;
    // v1 went to production under the authorised standard change: nothing to review.
    let queue = server
        .cli(&["change", "unauthorised", "-o", "json"])
        .expect(OK)
        .json();
    assert_eq!(
        queue["unauthorisedChanges"],
        serde_json::json!([]),
        "{queue}"
    );
    // Staging does not require a change request, so a rollout naming none goes ahead and is
    // recorded for review.
    let document = rollout_document("s2", "2.0.0", &loopback_address(), "{direct: {}}")
        .replace("environment: production", "environment: staging")
        .replace("  change: chg-tests\n", "");
    payments.apply_rollout("s2", &document);
    let status = server.wait_for_rollout_end("s2");
    assert_eq!(status["phase"], "Promoted", "{status}");
    let queue = server
        .cli(&["change", "unauthorised", "-o", "json"])
        .expect(OK)
        .json();
    let items = queue["unauthorisedChanges"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{queue}");
    let item = &items[0];
    assert_eq!(
        item["subject"],
        serde_json::json!({"kind": "Rollout", "name": "s2"})
    );
    assert_eq!(
        (
            &item["service"],
            &item["environment"],
            &item["deployer"],
            &item["change"]
        ),
        (
            &serde_json::json!("payments-api"),
            &serde_json::json!("staging"),
            &serde_json::json!("admin"),
            &Value::Null
        ),
        "{item}"
    );
    assert!(
        item["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("not required in staging"),
        "{item}"
    );
    let table = server.cli(&["change", "unauthorised"]).expect(OK);
    table.prints(&["Rollout/s2", "1 unauthorised change(s) to review"]);
    snapshot::assert_table("change-unauthorised", &table);
}

#[test]
fn rego_gate_policies_allow_and_deny_as_written() {
    let payments = Payments::v1_serving();
    let server = &payments.server;
    let policy = "apiVersion: slipway.dev/v1alpha1\nkind: GatePolicy\nmetadata: {name: banned-build}\nspec:\n  description: 3.0.0 must never reach production\n  rego: |\n    package slipway.gate.banned\n\n    deny contains msg if {\n      input.rollout.environment == \"production\"\n      input.rollout.version == \"3.0.0\"\n      msg := sprintf(\"version %s is banned from production\", [input.rollout.version])\n    }\n";
    server.apply_text("release/policy.yaml", policy);
    // A policy that does not compile is refused at apply, naming the field.
    let broken = policy.replace("deny contains msg if {", "deny contains msg if {{");
    let broken = server.write("release/broken.yaml", broken);
    server
        .cli(&["apply", "-f", path_str(&broken)])
        .expect(INVALID)
        .says(&["spec.rego"]);

    let status = payments.roll("v3", "3.0.0", "{direct: {}}");
    assert_eq!(status["phase"], "Failed", "{status}");
    assert!(
        status["message"]
            .as_str()
            .unwrap_or_default()
            .contains("version 3.0.0 is banned from production"),
        "{status}"
    );
    server
        .cli(&["gate", "explain", "v3"])
        .expect(OK)
        .prints(&["✗ policy:banned-build"]);
    let status = payments.roll("v2", "2.0.0", "{direct: {}}");
    assert_eq!(status["phase"], "Promoted", "{status}");
    server
        .cli(&["gate", "explain", "v2"])
        .expect(OK)
        .prints(&["✓ policy:banned-build"]);
}

#[test]
fn cdevents_reach_the_configured_sinks_in_both_modes() {
    let payments = Payments::v1_serving();
    let server = &payments.server;
    let receiver = Recorder::start("/events");
    let url = &receiver.url;
    let sinks = format!(
        "apiVersion: slipway.dev/v1alpha1\nkind: EventSink\nmetadata: {{name: audit-bus}}\nspec: {{url: \"{url}\"}}\n---\napiVersion: slipway.dev/v1alpha1\nkind: EventSink\nmetadata: {{name: deploy-bot}}\nspec: {{url: \"{url}\", mode: binary, eventTypes: [\"dev.cdevents.service.*\"]}}\n"
    );
    server.apply_text("release/sinks.yaml", &sinks);
    // A ticket: a new change request submitted.
    let change = normal_change(server, "chg-7", "roll back");
    server
        .cli(&["change", "create", "-f", path_str(&change)])
        .expect(OK);
    server.cli(&["change", "submit", "chg-7"]).expect(OK);
    // An upgrade of payments-api in production.
    let status = payments.roll("v2", "2.0.0", "{direct: {}}");
    assert_eq!(status["phase"], "Promoted", "{status}");
    let (structured, binary) = wait_until(
        Duration::from_secs(20),
        "a ticket and an upgrade in structured mode and a service event in binary mode",
        || {
            let seen = receiver.received();
            let structured: Vec<Value> = seen
                .iter()
                .filter(|r| {
                    r.headers
                        .contains("content-type: application/cloudevents+json")
                })
                .map(|r| serde_json::from_str(&r.body).unwrap())
                .collect();
            let binary: Vec<(String, Value)> = seen
                .iter()
                .filter(|r| r.headers.contains("ce-specversion: 1.0"))
                .map(|r| (r.headers.clone(), serde_json::from_str(&r.body).unwrap()))
                .collect();
            let has = |t: &str| structured.iter().any(|e| e["type"] == t);
            if has("dev.cdevents.ticket.created.0.2.0")
                && has("dev.cdevents.service.upgraded.0.3.0")
                && !binary.is_empty()
            {
                Ok((structured, binary))
            } else {
                Err(format!("{seen:?}"))
            }
        },
    );
    // Structured mode: the CloudEvent envelope carries the CDEvent as data, same id and type.
    let upgraded = structured
        .iter()
        .find(|e| e["type"] == "dev.cdevents.service.upgraded.0.3.0")
        .unwrap();
    assert_eq!(upgraded["specversion"], "1.0", "{upgraded}");
    assert_eq!(
        upgraded["data"]["context"]["id"], upgraded["id"],
        "{upgraded}"
    );
    assert_eq!(
        upgraded["data"]["subject"]["content"]["environment"]["id"],
        "production"
    );
    // Binary mode: only service events, attributes in headers, the CDEvent as the body.
    for (headers, body) in &binary {
        assert!(
            headers.contains("ce-type: dev.cdevents.service."),
            "{headers}"
        );
        assert!(
            body["context"]["type"]
                .as_str()
                .unwrap()
                .starts_with("dev.cdevents.service.")
        );
    }
}

#[test]
fn a_nightly_window_in_london_behaves_across_both_daylight_saving_changes() {
    let server = Server::builder().with_examples().start();
    let calendar = "apiVersion: slipway.dev/v1alpha1\nkind: Calendar\nmetadata: {name: london-nights}\nspec:\n  scope: {environment: production}\n  timeZone: Europe/London\n  windows:\n    - {name: nightly, cron: \"30 1 * * *\", duration: 2h}\n";
    server.apply_text("calendar.yaml", calendar);
    let allowed = |at: &str| {
        let answer = server
            .cli(&[
                "calendar",
                "check",
                "--service",
                "payments-api",
                "--environment",
                "production",
                "--at",
                at,
                "-o",
                "json",
            ])
            .expect(OK)
            .json();
        answer["decision"]["allowed"].as_bool().unwrap()
    };
    // (instant, allowed): an ordinary winter night is 01:30-03:30 GMT. Spring forward (29 March
    // 2026): 01:30 does not exist; the window opens at 02:00 BST (01:00 UTC) and lasts two
    // real hours. Fall back (25 October 2026): 01:30 happens twice; the first (BST, 00:30
    // UTC) opens it, and two real hours later it is closed, though the clock shows 02:30 only
    // once.
    let expected = [
        ("2026-03-28T01:15:00Z", false),
        ("2026-03-28T01:45:00Z", true),
        ("2026-03-29T00:45:00Z", false),
        ("2026-03-29T01:15:00Z", true),
        ("2026-03-29T02:45:00Z", true),
        ("2026-03-29T03:15:00Z", false),
        ("2026-10-25T00:45:00Z", true),
        ("2026-10-25T02:45:00Z", false),
    ];
    let answers: Vec<(&str, bool)> = expected.iter().map(|(at, _)| (*at, allowed(at))).collect();
    assert_eq!(answers, expected);
    // The table form names the window, and the next slot is found.
    let table = server
        .cli(&[
            "calendar",
            "check",
            "--service",
            "payments-api",
            "--environment",
            "production",
            "--at",
            "2026-03-28T12:00:00Z",
            "--slot",
            "1h",
        ])
        .expect(OK);
    table.prints(&["not allowed", "next allowed slot: 2026-03-29T01:00:00Z"]);
    snapshot::assert_output("calendar-check", &table);
}

#[test]
fn a_lockdown_pauses_a_rollout_in_flight_and_lifting_it_resumes() {
    let payments = Payments::v1_serving();
    let server = &payments.server;
    payments.start_rollout(
        "v2",
        "2.0.0",
        "{canary: {steps: [{weight: 20, pause: 3s}]}}",
    );
    server.wait_for_rollout("v2", &["Progressing"]);
    server.apply_text(
        "release/lockdown.yaml",
        "apiVersion: slipway.dev/v1alpha1\nkind: Calendar\nmetadata: {name: incident}\nspec: {lockdown: true}\n",
    );
    // Held past the step's pause (and then some), marked as paused by the lockdown.
    let held = |rollout: &Value| {
        (rollout["status"]["phase"] == "Progressing"
            && rollout["metadata"]["annotations"]["slipway.dev/paused-by-lockdown"] == "true")
            .then_some(())
            .ok_or(rollout.to_string())
    };
    wait_until(
        PROCESS_DEADLINE,
        "rollout v2 to be paused by the lockdown",
        || held(&server.resource("rollouts", "v2").unwrap()),
    );
    holds_for(
        Duration::from_secs(5),
        "rollout v2 held by the lockdown",
        || held(&server.resource("rollouts", "v2").unwrap()),
    );
    server.cli(&["delete", "calendar", "incident"]).expect(OK);
    let status = server.wait_for_rollout_end("v2");
    assert_eq!(status["phase"], "Promoted", "{status}");
}
