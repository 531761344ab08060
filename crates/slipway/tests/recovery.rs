//! Recovery after a crash: a server killed with SIGKILL in the middle of a rollout or a release
//! and started again on the same data dir restores what was promoted, stops the orphaned
//! instances, rolls back or resumes what was in flight, and never runs a step twice.

use crate::support::*;

#[test]
fn a_killed_server_restores_stable_and_rolls_back_the_rollout_in_flight() {
    let mut payments = Payments::v1_serving();
    payments.start_rollout(
        "v2",
        "2.0.0",
        "{canary: {steps: [{weight: 50, pause: 60s}]}}",
    );
    payments.server.wait_for_weight("v2", 50);

    payments.server.kill_and_restart();
    let server = &payments.server;
    let status = server.wait_for_rollout_end("v2");
    assert_eq!(status["phase"], "RolledBack", "{status}");
    assert!(
        status["message"].as_str().unwrap().contains("restart"),
        "{status}"
    );
    // The last promoted version serves again, from fresh instances; the orphans of the killed
    // server were stopped, so only the restored instances answer.
    wait_until(PROCESS_DEADLINE, "1.0.0 to be restored", || {
        payments
            .try_serving()
            .and_then(|s| (s == "example-service 1.0.0").then_some(()).ok_or(s))
    });
    for _ in 0..50 {
        assert_eq!(payments.serving(), "example-service 1.0.0");
    }
    // The killed server's canary instances (2.0.0) were stopped by the restarted one.
    let canary_dir = server.data_dir().join("work/payments-api/production/2.0.0");
    let survivors = processes_under(&canary_dir);
    assert!(
        survivors.is_empty(),
        "orphaned canary instances still run: {survivors:?}"
    );
    // No step runs twice: the history has one "canary weight 50%" and then the interruption.
    let history = history(&status);
    assert_eq!(
        history
            .iter()
            .filter(|h| h.contains("canary weight 50%"))
            .count(),
        1,
        "{history:?}"
    );
    assert!(
        history.last().unwrap().contains("interrupted by a restart"),
        "{history:?}"
    );
}

#[test]
fn a_release_interrupted_by_a_killed_server_resumes_where_it_stopped() {
    let mut server = with_release_builds();
    // 2.0.0 everywhere first, so 3.0.0 goes out as canaries beside it.
    let first = "apiVersion: slipway.dev/v1alpha1\nkind: Pipeline\nmetadata: {name: quick}\nspec:\n  stages:\n    - {environment: staging, strategy: {direct: {}}}\n---\napiVersion: slipway.dev/v1alpha1\nkind: Release\nmetadata: {name: r0}\nspec: {pipeline: quick, change: chg-tests, artifacts: [auth-api-2, ledger-2, payments-api-2, checkout-web-2]}\n";
    server.apply_text("release/quick.yaml", first);
    assert_eq!(server.wait_for_release_end("r0")["phase"], "Promoted");
    let builds: Vec<String> = EXAMPLE_SERVICES
        .iter()
        .map(|s| service_build_document(s, "3", "3.0.0"))
        .collect();
    server.apply_text("release/builds-3.json", &format!("[{}]", builds.join(",")));
    let pipeline = "apiVersion: slipway.dev/v1alpha1\nkind: Pipeline\nmetadata: {name: slow}\nspec:\n  stages:\n    - environment: staging\n      strategy: {canary: {steps: [{weight: 50, pause: 2s}]}}\n      instances: 2\n---\napiVersion: slipway.dev/v1alpha1\nkind: Release\nmetadata: {name: r1}\nspec: {pipeline: slow, change: chg-tests, artifacts: [auth-api-3, ledger-3, payments-api-3, checkout-web-3]}\n";
    server.apply_text("release/slow.yaml", pipeline);
    // Killed while payments-api (the second wave) is half-way through its canary.
    server.wait_for_weight("r1-staging-payments-api", 50);
    server.kill_and_restart();

    let status = server.wait_for_release_end("r1");
    assert_eq!(status["phase"], "Promoted", "{status}");
    let steps = history(&status);
    for expected in [
        "interrupted by a restart of the server: resuming",
        "resumed",
        "staging: auth-api was promoted before the restart",
        "staging: ledger was promoted before the restart",
    ] {
        assert!(steps.iter().any(|h| h == expected), "{expected}: {steps:?}");
    }
    let rollout = |name: &str| server.resource("rollouts", name).unwrap()["status"].clone();
    // What was promoted before the kill did not run again.
    for done in ["r1-staging-auth-api", "r1-staging-ledger"] {
        let s = rollout(done);
        assert_eq!(s["phase"], "Promoted", "{done}: {s}");
        let started = history(&s)
            .iter()
            .filter(|h| h.starts_with("started"))
            .count();
        assert_eq!(started, 1, "{done}: {s}");
    }
    // The interrupted canary was rolled back by the restarted server, then deployed again;
    // the wave after it ran once, after it.
    for rest in ["r1-staging-payments-api", "r1-staging-checkout-web"] {
        let s = rollout(rest);
        assert_eq!(s["phase"], "Promoted", "{rest}: {s}");
    }
    let count = |what: &str| steps.iter().filter(|h| h.contains(what)).count();
    assert_eq!(count("deploying payments-api"), 2, "{steps:?}");
    assert_eq!(count("deploying checkout-web"), 1, "{steps:?}");
}

/// A graceful stop takes the instances down with the server; the next server on the same data
/// dir brings the promoted version back.
#[test]
fn a_gracefully_restarted_server_brings_the_promoted_version_back() {
    let mut payments = Payments::v1_serving();
    payments.server.restart();
    wait_until(PROCESS_DEADLINE, "1.0.0 to serve again", || {
        payments
            .try_serving()
            .and_then(|s| (s == "example-service 1.0.0").then_some(()).ok_or(s))
    });
    let status = payments.server.resource("rollouts", "v1").unwrap()["status"].clone();
    assert_eq!(status["phase"], "Promoted", "{status}");
}
