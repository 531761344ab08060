//! Tests of the judge beyond single Kayenta cases: the Slipway extras
//! (minimum sample count, missing-data policy, spread check), whole-judge
//! scoring and the explanations.

use proptest::prelude::*;
use serde_json::{Value, json};
use slipway_judge::java_random::JavaRandom;
use slipway_judge::{
    Classification, ClassifierParams, ClassifyInput, JudgeError, classify, classify_json,
    judge_json,
};

fn normal_sample(seed: i64, count: usize, centre: f64, stdev: f64) -> Vec<f64> {
    let mut random = JavaRandom::new(seed);
    (0..count)
        .map(|_| centre + stdev * random.next_gaussian())
        .collect()
}

fn params(json: Value) -> ClassifierParams {
    serde_json::from_value(json).expect("valid params")
}

#[test]
fn spread_blow_up_with_equal_centre_is_flagged_only_when_enabled() {
    let baseline = normal_sample(1, 300, 100.0, 1.0);
    let canary = normal_sample(2, 300, 100.0, 10.0);

    let kayenta = classify(&ClassifyInput {
        name: Some("latency".to_owned()),
        baseline: baseline.clone(),
        canary: canary.clone(),
        params: ClassifierParams::default(),
    });
    assert_eq!(
        kayenta.classification,
        Classification::Pass,
        "{}",
        kayenta.reason
    );
    assert!(kayenta.spread.is_none());

    let checked = classify(&ClassifyInput {
        name: Some("latency".to_owned()),
        baseline,
        canary,
        params: params(json!({"spreadCheck": {"enabled": true}})),
    });
    assert_eq!(
        checked.classification,
        Classification::High,
        "{}",
        checked.reason
    );
    let spread = checked.spread.expect("spread reported");
    assert!(spread.flagged && spread.spread_ratio > 5.0 && spread.p_value < 1e-10);
    assert!(spread.canary_tail > spread.baseline_tail);
    assert!(checked.reason.contains("spread increased"));
}

#[test]
fn spread_check_leaves_similar_spread_alone() {
    let result = classify(&ClassifyInput {
        name: None,
        baseline: normal_sample(3, 300, 50.0, 5.0),
        canary: normal_sample(4, 300, 50.0, 5.5),
        params: params(json!({"spreadCheck": {"enabled": true}})),
    });
    assert_eq!(
        result.classification,
        Classification::Pass,
        "{}",
        result.reason
    );
    assert!(result.spread.is_some_and(|spread| !spread.flagged));
}

#[test]
fn spread_check_does_not_flag_a_tighter_canary() {
    let result = classify(&ClassifyInput {
        name: None,
        baseline: normal_sample(5, 300, 50.0, 10.0),
        canary: normal_sample(6, 300, 50.0, 1.0),
        params: params(json!({"spreadCheck": {"enabled": true}})),
    });
    assert_eq!(
        result.classification,
        Classification::Pass,
        "{}",
        result.reason
    );
}

#[test]
fn spread_flag_fails_the_judgement() {
    let request = json!({
        "metrics": [{
            "name": "latency", "groups": ["latency"], "unit": "ms",
            "params": {"spreadCheck": {"enabled": true}},
            "baseline": normal_sample(7, 200, 100.0, 1.0),
            "canary": normal_sample(8, 200, 100.0, 20.0)
        }]
    });
    let output = judge_json(&request).expect("valid request");
    assert_eq!(output["verdict"], "Fail");
    let explanation = output["explanation"].to_string();
    assert!(explanation.contains("spread"), "{explanation}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn below_minimum_sample_count_never_passes(
        minimum in 1u64..20,
        baseline in prop::collection::vec(prop_oneof![-10.0..10.0_f64, Just(f64::NAN), Just(1.0)], 0..40),
        canary in prop::collection::vec(prop_oneof![-10.0..10.0_f64, Just(f64::NAN), Just(1.0)], 0..40),
        nan_strategy in prop::sample::select(vec!["remove", "replace"]),
        must_have_data in any::<bool>(),
        critical in any::<bool>(),
    ) {
        let result = classify(&ClassifyInput {
            name: None,
            baseline,
            canary,
            params: params(json!({
                "minSampleCount": minimum, "nanStrategy": nan_strategy,
                "mustHaveData": must_have_data, "critical": critical
            })),
        });
        let shortest = result.baseline.summary.count.min(result.canary.summary.count) as u64;
        if shortest < minimum {
            prop_assert!(
                matches!(result.classification, Classification::Nodata | Classification::NodataFailMetric),
                "{:?}: {}", result.classification, result.reason
            );
            prop_assert!(result.data_missing);
        }
    }
}

#[test]
fn empty_series_with_replace_passes_in_kayenta_but_not_below_a_minimum() {
    let kayenta = classify(&ClassifyInput {
        name: None,
        baseline: vec![1.0, 2.0, 3.0],
        canary: vec![],
        params: params(json!({"nanStrategy": "replace"})),
    });
    assert_eq!(kayenta.classification, Classification::Pass);
    assert!(
        kayenta.data_missing,
        "an empty series is still reported as missing data"
    );

    let guarded = classify(&ClassifyInput {
        name: None,
        baseline: vec![1.0, 2.0, 3.0],
        canary: vec![],
        params: params(json!({"nanStrategy": "replace", "minSampleCount": 1})),
    });
    assert_eq!(guarded.classification, Classification::Nodata);
    assert!(guarded.reason.contains("at least 1"), "{}", guarded.reason);
}

fn judge_with_policy(policy: &str) -> Value {
    let steady: Vec<f64> = (0..50).map(|i| 10.0 + f64::from(i % 7)).collect();
    judge_json(&json!({
        "missingDataPolicy": policy,
        "metrics": [
            {"name": "cpu", "groups": ["system"], "baseline": steady, "canary": steady},
            {"name": "memory", "groups": ["system"], "baseline": steady, "canary": steady},
            {"name": "errors", "groups": ["errors"], "baseline": steady, "canary": []}
        ]
    }))
    .expect("valid request")
}

#[test]
fn missing_data_policy_decides_whether_missing_data_can_pass() {
    let kayenta = judge_with_policy("kayenta");
    assert_eq!(
        kayenta["verdict"], "Pass",
        "Kayenta lets the score decide: {kayenta}"
    );
    assert_eq!(kayenta["score"], 100.0);
    assert_eq!(kayenta["unjudgedMetrics"], json!(["errors"]));

    let hold = judge_with_policy("hold");
    assert_eq!(hold["verdict"], "Hold");
    assert_eq!(hold["scoreClassification"], "Pass");
    assert!(
        hold["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("errors"))
    );

    let fail = judge_with_policy("fail");
    assert_eq!(fail["verdict"], "Fail");
}

#[test]
fn judge_scores_groups_and_reports_high_metrics() {
    let baseline: Vec<f64> = normal_sample(11, 60, 100.0, 5.0);
    let slower: Vec<f64> = normal_sample(12, 60, 140.0, 5.0);
    let request = json!({
        "name": "checkout canary",
        "scoreThresholds": {"marginal": 50, "pass": 90},
        "groupWeights": {"latency": 60, "errors": 40},
        "metrics": [
            {"name": "latency_p99", "groups": ["latency"], "unit": "ms",
             "params": {"direction": "increase", "effectSize": {"allowedIncrease": 1.1}},
             "baseline": baseline, "canary": slower},
            {"name": "error_rate", "groups": ["errors"], "baseline": baseline, "canary": baseline},
            {"name": "muted_metric", "groups": ["latency"], "muted": true, "baseline": baseline, "canary": slower}
        ]
    });
    let output = judge_json(&request).expect("valid request");
    assert_eq!(output["score"], 40.0);
    assert_eq!(output["verdict"], "Fail");
    assert_eq!(output["metrics"][0]["classification"], "High");
    assert_eq!(output["metrics"][2]["muted"], true);
    let groups = output["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 2, "muted metrics are not scored");
    let lines: Vec<String> = output["explanation"]
        .as_array()
        .expect("explanation")
        .iter()
        .filter_map(|line| line.as_str().map(str::to_owned))
        .collect();
    let latency = lines
        .iter()
        .find(|line| line.starts_with("latency_p99:"))
        .expect("latency line");
    assert!(
        latency.contains("canary is higher than baseline by"),
        "{latency}"
    );
    assert!(latency.contains("98% CI"), "{latency}");
    assert!(latency.contains("ms"), "{latency}");
    assert!(
        latency.contains("exceeds allowed increase 1.10"),
        "{latency}"
    );
    assert!(latency.ends_with("→ High"), "{latency}");
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("(muted, not scored)"))
    );
}

#[test]
fn critical_failure_zeroes_the_score() {
    let baseline: Vec<f64> = normal_sample(21, 40, 10.0, 1.0);
    let worse: Vec<f64> = normal_sample(22, 40, 20.0, 1.0);
    let output = judge_json(&json!({
        "metrics": [
            {"name": "ok", "groups": ["a"], "baseline": baseline, "canary": baseline},
            {"name": "bad", "groups": ["b"], "params": {"critical": true}, "baseline": baseline, "canary": worse}
        ]
    }))
    .expect("valid request");
    assert_eq!(output["score"], 0.0);
    assert_eq!(output["verdict"], "Fail");
    assert!(
        output["reason"]
            .as_str()
            .is_some_and(|reason| reason.starts_with("Canary Failed: bad"))
    );
}

#[test]
fn defaults_apply_to_every_metric_and_metrics_override_them() {
    let baseline: Vec<f64> = normal_sample(31, 40, 10.0, 1.0);
    let lower: Vec<f64> = normal_sample(32, 40, 5.0, 1.0);
    let output = judge_json(&json!({
        "defaults": {"direction": "increase"},
        "metrics": [
            {"name": "inherits", "baseline": baseline, "canary": lower},
            {"name": "overrides", "params": {"direction": "either"}, "baseline": baseline, "canary": lower}
        ]
    }))
    .expect("valid request");
    assert_eq!(output["metrics"][0]["classification"], "Pass");
    assert_eq!(output["metrics"][0]["groups"], json!(["default"]));
    assert_eq!(output["metrics"][1]["classification"], "Low");
}

#[test]
fn invalid_configurations_are_errors() {
    let metric = json!({"name": "m", "baseline": [1.0], "canary": [1.0]});
    let duplicate = judge_json(&json!({"metrics": [metric, metric]}));
    assert!(matches!(duplicate, Err(JudgeError::InvalidConfig(_))));
    let weights = judge_json(&json!({"groupWeights": {"a": -1}, "metrics": [metric]}));
    assert!(matches!(weights, Err(JudgeError::InvalidConfig(_))));
    let thresholds =
        judge_json(&json!({"scoreThresholds": {"marginal": 90, "pass": 80}, "metrics": [metric]}));
    assert!(matches!(thresholds, Err(JudgeError::InvalidConfig(_))));
    let shape = judge_json(&json!({"metrics": [{"name": "m"}]}));
    assert!(matches!(shape, Err(JudgeError::InvalidInput(_))));
    assert!(shape.is_err_and(|error| error.to_string() == error.to_string().to_lowercase()));
}

#[test]
fn absurd_params_give_error_with_reason() {
    let output = classify_json(&json!({
        "baseline": [1.0, 2.0, 3.0], "canary": [4.0, 5.0, 6.0],
        "params": {"confLevel": 95, "tolerance": "NaN"}
    }))
    .expect("well-formed input");
    assert_eq!(output["classification"], "Error");
    assert_eq!(output["critical"], false);
    assert_eq!(output["deviation"], "NaN");
    let reason = output["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("confLevel") && reason.contains("tolerance"),
        "{reason}"
    );
}

#[test]
fn classify_json_output_contract() {
    let output = classify_json(&json!({
        "baseline": [1.0, 2.2, 1.1, 2.5, 3.0],
        "canary": [20.0, 22.0, 21.0, 25.0, 30.0],
        "params": {"confLevel": 0.95, "tolerance": 0.1}
    }))
    .expect("well-formed input");
    assert_eq!(output["classification"], "High");
    assert_eq!(output["critical"], false);
    assert!(
        output["deviation"]
            .as_f64()
            .is_some_and(|deviation| deviation > 10.0)
    );
    let estimate = output["estimate"].as_f64().expect("estimate");
    let interval = output["interval"].as_array().expect("interval");
    assert_eq!(interval.len(), 2);
    let lower = interval[0].as_f64().expect("lower");
    let upper = interval[1].as_f64().expect("upper");
    assert!(
        lower <= estimate && estimate <= upper,
        "{lower} {estimate} {upper}"
    );
    assert_eq!(output["reason"], "metric was classified as High");

    let identical =
        classify_json(&json!({"baseline": [1, 2], "canary": [2, 1]})).expect("well-formed input");
    assert_eq!(identical["classification"], "Pass");
    assert_eq!(identical["estimate"], Value::Null);
    assert_eq!(identical["interval"], Value::Null);
}

#[test]
fn the_verdict_is_reproducible() {
    // Constant-versus-constant input goes through the noise branch.
    let request = json!({"baseline": [2.0, 2.0, 2.0], "canary": [3.0, 3.0, 3.0]});
    let first = classify_json(&request).expect("well-formed input");
    let second = classify_json(&request).expect("well-formed input");
    assert_eq!(first, second);
    assert_eq!(first["classification"], "High");
}
