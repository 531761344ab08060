//! Releases: every stage of a pipeline in order, each stage's services in dependency waves,
//! stage fields rendered with each environment's variables, stage checks (wait, HTTP, command,
//! gate) that let a release through or stop it, and removals in reverse dependency order.

use crate::support::*;

#[test]
fn a_release_deploys_stage_by_stage_in_dependency_waves() {
    let server = with_release_builds();
    let pipeline = "apiVersion: slipway.dev/v1alpha1\nkind: Pipeline\nmetadata: {name: standard}\nspec:\n  maxParallel: 2\n  stages:\n    - environment: staging\n      strategy: {direct: {}}\n      checks: [{http: {service: checkout-web, path: /healthz}}, {wait: \"{{ soak }}\"}]\n    - environment: production\n      strategy: {canary: {steps: [{weight: 50, pause: 300ms}]}}\n      instances: 2\n      guardrails: [\"error_rate > 5% for 200ms\"]\n      checks: [{wait: \"{{ soak }}\"}]\n  variables: {\"*\": {soak: 100ms}, production: {soak: 250ms}}\n---\napiVersion: slipway.dev/v1alpha1\nkind: Release\nmetadata: {name: r1}\nspec: {pipeline: standard, change: chg-tests, artifacts: [auth-api-2, ledger-2, payments-api-2, checkout-web-2]}\n";
    server.apply_text("release/pipeline.yaml", pipeline);
    let status = server.wait_for_release_end("r1");
    assert_eq!(status["phase"], "Promoted", "{status}");
    assert_eq!(
        status["waves"],
        serde_json::json!([["auth-api", "ledger"], ["payments-api"], ["checkout-web"]])
    );
    assert_eq!(status["rollouts"].as_array().unwrap().len(), 8);
    // Stage fields were rendered with each environment's variables.
    let checks = history(&status);
    for waited in [
        "staging: check waited 100ms",
        "production: check waited 250ms",
    ] {
        assert!(checks.iter().any(|c| c == waited), "{waited}: {checks:?}");
    }
    // Dependency order held in every stage: a service started only after its dependencies
    // were promoted, and production started after staging was done.
    let span = |name: &str| {
        let s = server.resource("rollouts", name).unwrap()["status"].clone();
        assert_eq!(s["phase"], "Promoted", "{name}: {s}");
        history_span(&s)
    };
    for env in ["staging", "production"] {
        let (_, auth_end) = span(&format!("r1-{env}-auth-api"));
        let (_, ledger_end) = span(&format!("r1-{env}-ledger"));
        let (pay_start, pay_end) = span(&format!("r1-{env}-payments-api"));
        let (web_start, _) = span(&format!("r1-{env}-checkout-web"));
        assert!(
            pay_start >= auth_end.max(ledger_end),
            "{env}: payments-api started before its dependencies"
        );
        assert!(
            web_start >= pay_end,
            "{env}: checkout-web started before payments-api"
        );
    }
    let (_, staging_web_end) = span("r1-staging-checkout-web");
    let (production_auth_start, _) = span("r1-production-auth-api");
    assert!(production_auth_start >= staging_web_end);
    assert!(checks.iter().any(|h| h.contains("check GET")), "{status}");
    // Removing services goes the other way: dependants first.
    let teardown = "apiVersion: slipway.dev/v1alpha1\nkind: Pipeline\nmetadata: {name: teardown}\nspec:\n  stages:\n    - {environment: staging, strategy: {direct: {}}}\n    - {environment: production, strategy: {direct: {}}}\n---\napiVersion: slipway.dev/v1alpha1\nkind: Release\nmetadata: {name: r2}\nspec: {pipeline: teardown, change: chg-tests, remove: [payments-api, checkout-web]}\n";
    server.apply_text("release/teardown.yaml", teardown);
    let removal = server.wait_for_release_end("r2");
    assert_eq!(removal["phase"], "Promoted", "{removal}");
    let removed: Vec<String> = history(&removal)
        .into_iter()
        .filter(|h| h.contains(": removed "))
        .collect();
    assert_eq!(
        removed,
        vec![
            "staging: removed checkout-web (2.0.0)",
            "staging: removed payments-api (2.0.0)",
            "production: removed checkout-web (2.0.0)",
            "production: removed payments-api (2.0.0)",
        ]
    );
    // Their rollouts say so, so a restarted server does not bring them back.
    let gone = server
        .resource("rollouts", "r1-production-checkout-web")
        .unwrap();
    assert_eq!(gone["status"]["phase"], "Removed", "{gone}");
    let kept = server.resource("rollouts", "r1-production-ledger").unwrap();
    assert_eq!(kept["status"]["phase"], "Promoted", "{kept}");
}

#[test]
fn command_checks_and_gates_pass_a_stage_and_a_failing_command_stops_the_release() {
    let payments = Payments::v1_serving();
    let server = &payments.server;
    payments.route_releases_here();
    let pipelines = "apiVersion: slipway.dev/v1alpha1\nkind: Pipeline\nmetadata: {name: checked}\nspec:\n  stages:\n    - environment: production\n      strategy: {direct: {}}\n      checks:\n        - {command: {argv: [sh, -c, \"test -n \\\"$SLIPWAY_ENDPOINT_PAYMENTS_API\\\"\"]}}\n        - {gate: cab}\n        - {command: {argv: [sh, -c, \"echo smoke test failed >&2; exit 3\"]}}\n---\napiVersion: slipway.dev/v1alpha1\nkind: Release\nmetadata: {name: checked}\nspec: {pipeline: checked, change: chg-tests, artifacts: [payments-api-2-0-0]}\n";
    server.apply_text("release/checked.yaml", pipelines);
    let status = server.wait_for_release_end("checked");
    assert_eq!(status["phase"], "Failed", "{status}");
    let history = history(&status);
    assert!(history.iter().any(|h| h.contains("passed")), "{history:?}");
    assert!(
        history.iter().any(|h| h.contains("gate cab passed")),
        "{history:?}"
    );
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .contains("smoke test failed"),
        "{status}"
    );
}
