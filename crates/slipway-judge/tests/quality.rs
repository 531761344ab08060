//! A fast run of the quality harness (`slipway_judge::simulation`) with loose
//! bounds: no change must rarely fail a canary, and the two injected
//! regressions of the canary-verification issue (10 % errors at 5 % of 20 req/s;
//! +50 ms latency) must almost always be caught within 3 minutes of simulated
//! time under the same sequential scheme. The full figures come from
//! `bench/judge-quality.sh`.

#![allow(clippy::unwrap_used)] // in tests a panic is a failing test

use serde_json::json;
use slipway_judge::simulation::{
    AnalysisConfig, Scenario, SequentialPlan, TrafficModel, VersionModel, run_batch,
};
use slipway_judge::{Classification, ClassifyInput, classify};

const TOTAL_RPS: f64 = 20.0;
const CANARY_SHARE: f64 = 0.05;

fn scenario(name: &str, traffic: TrafficModel, config: AnalysisConfig) -> Scenario {
    Scenario {
        name: name.to_owned(),
        traffic,
        config,
        plan: SequentialPlan::every_10s_for_3_minutes(),
    }
}

#[test]
fn aa_runs_rarely_fail_under_the_sequential_scheme() {
    // 18 looks every 10 s, stop at the first Fail; nothing differs.
    let stable = VersionModel::stable(CANARY_SHARE);
    let aa = scenario(
        "A/A",
        TrafficModel::equal_baseline(TOTAL_RPS, stable),
        AnalysisConfig::production(),
    );
    let summary = run_batch(&aa, 200, 1).unwrap();
    assert!(
        summary.failure_rate() <= 0.05,
        "A/A false-positive rate {} ({:?})",
        summary.failure_rate(),
        summary.failures_by_metric
    );
}

#[test]
fn regressions_are_caught_within_three_minutes() {
    let stable = VersionModel::stable(CANARY_SHARE);

    // 10 % errors on the canary against the stable production version.
    let errors = scenario(
        "errors",
        TrafficModel::production_baseline(TOTAL_RPS, stable.with_error_rate(0.10)),
        AnalysisConfig::production(),
    );
    let summary = run_batch(&errors, 50, 2).unwrap();
    assert!(
        summary.failure_rate() >= 0.9,
        "error regression detected in {} of runs",
        summary.failure_rate()
    );
    assert!(summary.time_to_fail_quantile(0.5).unwrap() <= 180.0);
    assert!(summary.failures_by_metric.contains_key("error_rate"));

    // +50 ms on every canary request.
    let latency = scenario(
        "latency",
        TrafficModel::production_baseline(TOTAL_RPS, stable.with_latency_shift(50.0)),
        AnalysisConfig::production(),
    );
    let summary = run_batch(&latency, 50, 3).unwrap();
    assert!(
        summary.failure_rate() >= 0.9,
        "latency regression detected in {} of runs",
        summary.failure_rate()
    );
    assert!(summary.time_to_fail_quantile(0.95).unwrap() <= 120.0);
}

#[test]
fn proportion_test_catches_sparse_errors_that_mann_whitney_passes() {
    // Kayenta issue #426: 18 failures in 180 canary requests against 2 in 180
    // baseline requests. Mann–Whitney on the 0/1 samples passes it (the
    // Hodges–Lehmann shift of mostly-zero data is 0); the proportion test does not.
    let indicators = |events: usize, trials: usize| -> Vec<f64> {
        (0..trials)
            .map(|index| if index < events { 1.0 } else { 0.0 })
            .collect()
    };
    let input = |classifier: &str| ClassifyInput {
        name: Some("error_rate".to_owned()),
        baseline: indicators(2, 180),
        canary: indicators(18, 180),
        params: serde_json::from_value(json!({
            "classifier": classifier, "direction": "increase", "critical": true
        }))
        .unwrap(),
    };
    let mann_whitney = classify(&input("MannWhitneyClassifier"));
    assert_eq!(mann_whitney.classification, Classification::Pass);
    let proportion = classify(&input("ProportionClassifier"));
    assert_eq!(proportion.classification, Classification::High);
    assert!(proportion.critical);
    let test = proportion.proportion.unwrap();
    assert!(test.p_value_increase < 1e-3 && (test.alpha - 0.01).abs() < 1e-12);
}
