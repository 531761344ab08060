//! Rollouts of payments-api in production, as real processes behind the built-in router and
//! under load: canary, blue-green and rolling promote a good build and take a bad one off
//! traffic by themselves; operators promote and abort; rollouts of one environment never
//! interleave; deleting or re-specifying a rollout; failing health checks.

use crate::support::snapshot;
use crate::support::*;
use serde_json::Value;
use std::time::Duration;

/// A good build (2.0.0) and then a bad one (3.0.0, 30% errors) rolled out with one strategy
/// while requests keep coming.
struct UnderLoad {
    good: &'static str,
    bad: &'static str,
    /// How many requests after the rollback must all be answered by 2.0.0.
    tail: usize,
}

/// What [`under_load`] saw: the two rollouts' statuses and every answer, in order.
struct Outcome {
    promoted: Value,
    rolled_back: Value,
    seen: Vec<String>,
}

/// Runs `first` and then the case with requests running; asserts that 2.0.0 was promoted and
/// 3.0.0 rolled back, that every request got an answer, that every failure came from 3.0.0,
/// and that 2.0.0 answered everything after the rollback.
fn under_load(payments: &Payments, case: &UnderLoad, first: impl FnOnce()) -> Outcome {
    let load = Load::start(&payments.router_url());
    first();
    let promoted = payments.roll("v2", "2.0.0", case.good);
    assert_eq!(promoted["phase"], "Promoted", "{promoted}");
    let rolled_back = payments.roll("v3", "3.0.0", case.bad);
    load.wait_for_more(case.tail);
    let seen = load.stop();
    assert_eq!(rolled_back["phase"], "RolledBack", "{rolled_back}");
    assert!(
        seen.iter().all(|s| !s.starts_with("error")),
        "a request went unanswered: {:?}",
        seen.iter().find(|s| s.starts_with("error"))
    );
    let failures: Vec<&String> = seen.iter().filter(|s| !s.starts_with("200")).collect();
    assert!(failures.iter().all(|s| s.contains("3.0.0")), "{failures:?}");
    let tail = &seen[seen.len().saturating_sub(case.tail)..];
    assert!(
        tail.iter().all(|s| s == "200 example-service 2.0.0"),
        "{tail:?}"
    );
    Outcome {
        promoted,
        rolled_back,
        seen,
    }
}

#[test]
fn canary_promotes_and_a_failing_canary_rolls_back_by_itself() {
    let payments = Payments::v1_serving();
    let server = &payments.server;
    let canary = "{canary: {steps: [{weight: 30, pause: 1s}, {weight: 60, pause: 1s}]}}";
    let outcome = under_load(
        &payments,
        &UnderLoad {
            good: canary,
            bad: canary,
            tail: 20,
        },
        || {},
    );
    let status = &outcome.rolled_back;
    assert!(
        status["breach"]["rule"]
            .as_str()
            .unwrap()
            .starts_with("error_rate > 5.0%"),
        "{status}"
    );
    assert!(
        status["evidence"]["window"]["canary"]["errors"]
            .as_u64()
            .unwrap()
            > 0,
        "{status}"
    );
    let output = status["evidence"]["canaryOutput"].as_object().unwrap();
    assert_eq!(
        output.len(),
        2,
        "both canary instances' output is kept: {status}"
    );
    // The failures came only from 3.0.0 and stopped with the rollback; after it, 2.0.0 serves.
    assert!(
        outcome
            .seen
            .iter()
            .any(|s| s == "200 example-service 2.0.0")
    );
    assert!(
        outcome.seen.iter().any(|s| s.starts_with("500")),
        "3.0.0 failed no request"
    );
    assert_eq!(payments.serving(), "example-service 2.0.0");
    // The rollout's history streams as server-sent events, ending with its phase.
    let events = server.get("/api/v1/rollouts/v3/events");
    assert!(events.body.contains("event: step"), "{}", events.body);
    assert!(
        events
            .body
            .contains("event: end\ndata: {\"phase\":\"RolledBack\"}"),
        "{}",
        events.body
    );
    // The router's per-version counts are on /metrics.
    let metrics = server.get("/metrics");
    assert!(
        metrics
            .body
            .lines()
            .any(|l| l.starts_with("slipway_router_requests_total")
                && l.contains("payments-api.production")),
        "{}",
        metrics.body
    );
}

#[test]
fn blue_green_smoke_tests_switches_and_switches_back() {
    let payments = Payments::v1_serving();
    payments.server.apply_text(
        "release/broken.yaml",
        &build_document("9.0.0", "EXAMPLE_ERROR_RATE: \"1.0\""),
    );
    let blue_green = "{blueGreen: {smokePath: /, rollbackWindow: 1500ms}}";
    let outcome = under_load(
        &payments,
        &UnderLoad {
            good: blue_green,
            bad: "{blueGreen: {rollbackWindow: 10s}}",
            tail: 10,
        },
        || {
            // A build that fails its smoke test never gets unpinned traffic.
            let status = payments.roll("v9", "9.0.0", blue_green);
            assert_eq!(status["phase"], "RolledBack", "{status}");
            assert!(
                status["message"]
                    .as_str()
                    .unwrap()
                    .contains("smoke test / failed"),
                "{status}"
            );
        },
    );
    assert!(
        history(&outcome.rolled_back)
            .iter()
            .any(|h| h.starts_with("switched back to 2.0.0")),
        "{}",
        outcome.rolled_back
    );
    assert!(
        outcome.seen.iter().all(|s| !s.contains("9.0.0")),
        "the broken build got traffic"
    );
}

#[test]
fn rolling_replaces_instances_in_batches_and_brings_the_old_version_back_on_a_breach() {
    let payments = Payments::v1_serving();
    let rolling = "{rolling: {batchSize: 1, pause: 700ms}}";
    let outcome = under_load(
        &payments,
        &UnderLoad {
            good: rolling,
            bad: rolling,
            tail: 20,
        },
        || {},
    );
    let steps = history(&outcome.promoted);
    for batch in ["1 of 2 instances on 2.0.0", "2 of 2 instances on 2.0.0"] {
        assert!(steps.iter().any(|s| s == batch), "{batch}: {steps:?}");
    }
}

#[test]
fn operators_promote_and_abort_rollouts_and_each_request_is_audited() {
    let payments = Payments::v1_serving();
    let server = &payments.server;
    let slow = "{canary: {steps: [{weight: 10, pause: 60s}, {weight: 50, pause: 60s}]}}";

    payments.start_rollout("v2", "2.0.0", slow);
    server.wait_for_weight("v2", 10);
    server.cli(&["rollout", "promote", "v2"]).expect(OK);
    let status = server.wait_for_rollout_end("v2");
    assert_eq!(status["phase"], "Promoted", "{status}");
    server
        .cli(&["rollout", "status", "v2"])
        .expect(OK)
        .prints(&["promotion requested by an operator"]);

    payments.start_rollout("v3", "3.0.0", slow);
    server.wait_for_weight("v3", 10);
    server.cli(&["rollout", "abort", "v3"]).expect(OK);
    let status = server.wait_for_rollout_end("v3");
    assert_eq!(status["phase"], "RolledBack", "{status}");
    assert_eq!(
        status["breach"]["rule"], "aborted by an operator",
        "{status}"
    );
    assert_eq!(payments.serving(), "example-service 2.0.0");
    // Steering an ended rollout is refused.
    let refused = server.cli(&["rollout", "abort", "v3"]).expect(CONFLICT);
    snapshot::assert_error("abort-an-ended-rollout", &refused);
    // Both requests are in the audit log, by the admin.
    let entries = server
        .cli(&["audit", "entries", "-o", "json", "--limit", "1000"])
        .expect(OK)
        .json();
    let steering: Vec<(String, String)> = entries
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "Rollout" && e["action"] == "update")
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["actor"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        steering,
        vec![
            ("v2".to_string(), "admin".to_string()),
            ("v3".to_string(), "admin".to_string())
        ]
    );
}

#[test]
fn two_rollouts_to_one_environment_never_interleave() {
    let payments = Payments::not_yet_serving();
    let server = &payments.server;
    // Both in one apply: the engine must run them one after the other.
    let canary = "{canary: {steps: [{weight: 50, pause: 1s}]}}";
    let both = [
        payments.rollout_document("a2", "2.0.0", canary),
        payments.rollout_document("b1", "1.0.0", canary),
    ]
    .join("---\n");
    server.apply_text("release/both.yaml", &both);
    let a = server.wait_for_rollout_end("a2");
    let b = server.wait_for_rollout_end("b1");
    assert_eq!(
        (a["phase"].as_str(), b["phase"].as_str()),
        (Some("Promoted"), Some("Promoted")),
        "{a} {b}"
    );
    let ((a0, a1), (b0, b1)) = (history_span(&a), history_span(&b));
    assert!(
        a1 <= b0 || b1 <= a0,
        "the rollouts overlapped: a {a0}..{a1}, b {b0}..{b1}"
    );
}

#[test]
fn deleting_a_running_rollout_takes_its_canary_away() {
    let payments = Payments::v1_serving();
    let server = &payments.server;
    payments.start_rollout(
        "v2",
        "2.0.0",
        "{canary: {steps: [{weight: 50, pause: 60s}]}}",
    );
    server.wait_for_weight("v2", 50);
    server.cli(&["delete", "rollout", "v2"]).expect(OK);
    let canary_dir = server.data_dir().join("work/payments-api/production/2.0.0");
    wait_until(
        PROCESS_DEADLINE,
        "the deleted rollout's canary instances to stop",
        || {
            let alive = processes_under(&canary_dir);
            alive.is_empty().then_some(()).ok_or(format!("{alive:?}"))
        },
    );
    for _ in 0..30 {
        assert_eq!(payments.serving(), "example-service 1.0.0");
    }
}

#[test]
fn a_new_spec_for_a_finished_rollout_runs_it_again() {
    let payments = Payments::v1_serving();
    let server = &payments.server;
    let status = payments.roll("move", "2.0.0", "{direct: {}}");
    assert_eq!(status["phase"], "Promoted", "{status}");
    // Same rollout, a new spec (back to 1.0.0): it runs again.
    let status = payments.roll("move", "1.0.0", "{direct: {}}");
    assert_eq!(
        (status["phase"].as_str(), status["version"].as_str()),
        (Some("Promoted"), Some("1.0.0")),
        "{status}"
    );
    assert_eq!(payments.serving(), "example-service 1.0.0");
    // Steering annotations or labels alone do not start a run.
    let mut doc = server.resource("rollouts", "move").unwrap();
    doc.as_object_mut().unwrap().remove("status");
    doc["metadata"]["labels"] = serde_json::json!({"note": "relabelled"});
    server.apply_text("release/relabel.json", &doc.to_string());
    holds_for(
        Duration::from_millis(500),
        "a label change not re-running the rollout",
        || {
            let after = server.resource("rollouts", "move").unwrap();
            (after["status"]["history"] == status["history"])
                .then_some(())
                .ok_or(after["status"].to_string())
        },
    );
}

#[test]
fn failing_health_checks_roll_back() {
    let payments = Payments::v1_serving();
    let server = &payments.server;
    payments.add_build("8.0.0", r#"EXAMPLE_UNHEALTHY_AFTER_SECS: "2""#);
    // A command health check (python probing the instance's PORT) and the health guardrail.
    let probe = "python3 -c \"import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ['PORT'], timeout=1)\"";
    let document = format!(
        "{}  healthCheck: {{command: [sh, -c, \"{}\"]}}\n",
        payments
            .rollout_document(
                "v8",
                "8.0.0",
                "{canary: {steps: [{weight: 20, pause: 6s}]}}"
            )
            .replace(
                "guardrails: [\"error_rate > 5% for 200ms\"]",
                "guardrails: [\"health_check_failures >= 3\"]"
            ),
        probe.replace('"', "\\\"")
    );
    payments.apply_rollout("v8", &document);
    let status = server.wait_for_rollout_end("v8");
    assert_eq!(status["phase"], "RolledBack", "{status}");
    assert_eq!(
        status["breach"]["rule"], "health_check_failures >= 3",
        "{status}"
    );
    assert_eq!(payments.serving(), "example-service 1.0.0");
    let shown = server.cli(&["rollout", "status", "v8"]).expect(OK);
    shown.prints(&["health_check_failures >= 3"]);
}
