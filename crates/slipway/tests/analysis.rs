//! Canary analysis in rollouts: the judge on the router's own counters (a twin passes, a slower
//! build fails with an explanation), on a real Prometheus, and with a baseline started beside
//! the canary so a bad build and an environmental failure are told apart.

use crate::support::*;
use serde_json::Value;

#[test]
fn a_canary_analysis_promotes_a_twin_and_rolls_back_a_slower_build_with_an_explanation() {
    let payments = Payments::v1_serving();
    let server = &payments.server;
    payments.add_build("4.0.0", r#"EXAMPLE_LATENCY_MS: "40""#);
    let load = Load::start(&payments.router_url());
    let analysed = "{canary: {steps: [{weight: 50, pause: 3s, analysis: {interval: 200ms, metrics: [{name: latency, metric: p50_latency, critical: true, params: {confLevel: 0.99, effectSize: {allowedIncrease: 1.5, criticalIncrease: 3.0}}}]}}]}}";
    let status = payments.roll("v2", "2.0.0", analysed);
    assert_eq!(status["phase"], "Promoted", "{status}");
    let status = payments.roll("v4", "4.0.0", analysed);
    load.stop();
    assert_eq!(status["phase"], "RolledBack", "{status}");
    assert_eq!(status["breach"]["rule"], "canary analysis", "{status}");
    let analysis = &status["analyses"][0];
    assert_eq!(analysis["result"]["verdict"], "Fail", "{analysis}");
    assert!(
        analysis["input"]["metrics"][0]["canary"]
            .as_array()
            .unwrap()
            .len()
            >= 5,
        "{analysis}"
    );
    server
        .cli(&["analysis", "explain", "v4"])
        .expect(OK)
        .prints(&["Fail", "latency"]);
}

#[test]
fn a_canary_analysis_reads_prometheus_and_rolls_back_a_slower_build() {
    let payments = Payments::v1_serving();
    let prometheus = Prometheus::start(&payments.server);
    payments.add_build("4.0.0", r#"EXAMPLE_LATENCY_MS: "40""#);
    let load = Load::start(&payments.router_url());
    let query = "1000 * histogram_quantile(0.5, sum by (le) (rate(slipway_router_request_duration_seconds_bucket{service=\\\"{routed}\\\",version=\\\"{version}\\\"}[3s])))";
    let strategy = format!(
        "{{canary: {{steps: [{{weight: 50, pause: 10s, analysis: {{interval: 1s, source: {{prometheus: {{url: \"{}\"}}}}, metrics: [{{name: latency, query: \"{query}\", critical: true, params: {{confLevel: 0.99, effectSize: {{allowedIncrease: 1.5, criticalIncrease: 3.0}}}}}}]}}}}]}}}}",
        prometheus.url
    );
    let status = payments.roll("v4", "4.0.0", &strategy);
    load.stop();
    assert_eq!(status["phase"], "RolledBack", "{status}");
    let analysis = &status["analyses"][0];
    assert!(
        analysis["source"]
            .as_str()
            .unwrap()
            .starts_with("prometheus"),
        "{analysis}"
    );
    assert_eq!(analysis["result"]["verdict"], "Fail", "{analysis}");
    let canary = analysis["input"]["metrics"][0]["canary"]
        .as_array()
        .unwrap();
    let baseline = analysis["input"]["metrics"][0]["baseline"]
        .as_array()
        .unwrap();
    assert!(canary.len() >= 4 && baseline.len() >= 4, "{analysis}");
    // The canary's median latency, as Prometheus computed it, is ~40 ms above stable's.
    let median = |v: &Vec<Value>| {
        let mut x: Vec<f64> = v.iter().map(|n| n.as_f64().unwrap()).collect();
        x.sort_by(|a, b| a.partial_cmp(b).unwrap());
        x[x.len() / 2]
    };
    assert!(median(canary) - median(baseline) > 20.0, "{analysis}");
}

#[test]
fn a_baseline_beside_the_canary_catches_a_bad_build_and_tells_an_environmental_failure_apart() {
    let payments = Payments::v1_serving();
    let server = &payments.server;
    payments.add_build("6.0.0", r#"EXAMPLE_ERROR_RATE: "0.3""#);
    payments.add_build("7.0.0", r#"EXAMPLE_ERROR_RATE: "0.3""#);
    let load = Load::start(&payments.router_url());
    let beside = "{canary: {baseline: beside, steps: [{weight: 50, pause: 3s}]}}";

    // A bad build against a healthy baseline: rolled back, and the baseline is gone after.
    let status = payments.roll("v3", "3.0.0", beside);
    assert_eq!(status["phase"], "RolledBack", "{status}");
    let steps = history(&status);
    assert!(
        steps
            .iter()
            .any(|s| s.contains("baseline instance(s) of 1.0.0 beside the canary")),
        "{steps:?}"
    );
    let baseline_dir = server
        .data_dir()
        .join("work/payments-api/production/1.0.0/100");
    wait_until(PROCESS_DEADLINE, "the baseline instances to stop", || {
        let alive = processes_under(&baseline_dir);
        alive.is_empty().then_some(()).ok_or(format!("{alive:?}"))
    });

    // Both the stable version and the canary fail alike (think: a broken shared database).
    let status = payments.roll("v6", "6.0.0", "{direct: {}}");
    assert_eq!(status["phase"], "Promoted", "{status}");
    let status = payments.roll("v7", "7.0.0", beside);
    load.stop();
    assert_eq!(
        status["phase"], "Promoted",
        "an environmental failure must not roll back: {status}"
    );
    assert!(
        !status["environmental"].as_array().unwrap().is_empty(),
        "{status}"
    );
    assert!(
        history(&status)
            .iter()
            .any(|h| h.starts_with("environmental:")),
        "{status}"
    );
}
