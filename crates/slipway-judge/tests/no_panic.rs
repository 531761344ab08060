//! Property tests: no input, however absurd, makes the judge panic. Every
//! outcome is a classification (possibly `Error` or `Nodata` with a reason) or a
//! `JudgeError` for malformed requests.

use proptest::prelude::*;
use serde_json::{Value, json};
use slipway_judge::{
    Classification, ClassifierParams, ClassifyInput, classify, classify_json, judge_json,
};

fn special_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -1e3..1e3_f64,
        2 => prop::sample::select(vec![0.0, -0.0, 1.0, 5.0, 1e-300, -1e-300, 1e300, -1e300, f64::MIN_POSITIVE]),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(f64::MAX),
        1 => any::<f64>(),
    ]
}

fn samples() -> impl Strategy<Value = Vec<f64>> {
    prop_oneof![
        prop::collection::vec(special_f64(), 0..30),
        // Heavily tied data, the hard case for the root finder.
        prop::collection::vec(prop::sample::select(vec![0.0, 1.0, 2.0]), 0..30),
    ]
}

fn json_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(json!("NaN")),
        Just(json!("Infinity")),
        Just(json!(-1)),
        Just(json!(0)),
        Just(json!(0.5)),
        Just(json!(0.98)),
        Just(json!(1)),
        Just(json!(7.5)),
        Just(json!(1e300)),
        Just(json!("oops")),
    ]
}

fn json_word() -> impl Strategy<Value = Value> {
    prop::sample::select(vec![
        Value::Null,
        json!("either"),
        json!("increase"),
        json!("decrease"),
        json!("remove"),
        json!("replace"),
        json!("keep"),
        json!("cles"),
        json!("meanRatio"),
        json!("MannWhitneyClassifier"),
        json!("MeanInequalityClassifier"),
        json!("ProportionClassifier"),
        json!("ProportionClassifier"),
        json!("fisher"),
        json!("zTest"),
        json!("nonsense"),
        json!(3),
    ])
}

prop_compose! {
    fn params_json()(
        classifier in json_word(), tolerance in json_number(), conf in json_number(),
        measure in json_word(), allowed in json_number(), critical_threshold in json_number(),
        direction in json_word(), nan in json_word(), critical in any::<bool>(), must in any::<bool>(),
        strategy in json_word(), factor in json_number(), minimum in json_number(),
        spread_on in any::<bool>(), alpha in json_number(), ratio in json_number(), tail in json_number(),
        test in json_word(),
    ) -> Value {
        json!({
            "classifier": classifier, "tolerance": tolerance, "confLevel": conf,
            "effectSize": {"measure": measure, "allowedIncrease": allowed, "allowedDecrease": allowed,
                           "criticalIncrease": critical_threshold, "criticalDecrease": critical_threshold},
            "direction": direction, "nanStrategy": nan, "critical": critical, "mustHaveData": must,
            "outliers": {"strategy": strategy, "outlierFactor": factor},
            "minSampleCount": minimum,
            "spreadCheck": {"enabled": spread_on, "alpha": alpha, "maxSpreadIncrease": ratio, "tailQuantile": tail},
            "proportion": {"test": test}
        })
    }
}

fn to_json_samples(values: &[f64]) -> Value {
    Value::Array(
        values
            .iter()
            .map(|value| slipway_judge::json_numbers::value_from_f64(*value))
            .collect(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn classify_never_panics_on_any_samples(baseline in samples(), canary in samples(), critical in any::<bool>(), must in any::<bool>()) {
        let params = ClassifierParams { critical: Some(critical), must_have_data: Some(must), ..ClassifierParams::default() };
        let result = classify(&ClassifyInput { name: None, baseline, canary, params });
        prop_assert!(!result.reason.is_empty());
        if result.classification == Classification::Error {
            prop_assert!(!result.critical);
        }
    }

    #[test]
    fn classify_json_never_panics_on_any_params(baseline in samples(), canary in samples(), params in params_json()) {
        let request = json!({"baseline": to_json_samples(&baseline), "canary": to_json_samples(&canary), "params": params});
        if let Ok(output) = classify_json(&request) {
            prop_assert!(output.get("classification").is_some());
            prop_assert!(output.get("reason").and_then(Value::as_str).is_some_and(|reason| !reason.is_empty()));
        }
    }

    #[test]
    fn judge_json_never_panics(
        metrics in prop::collection::vec((samples(), samples(), params_json(), any::<bool>(), 0usize..3), 0..5),
        marginal in json_number(), pass in json_number(), weight in json_number(), policy in json_word(),
    ) {
        let metrics: Vec<Value> = metrics
            .iter()
            .enumerate()
            .map(|(index, (baseline, canary, params, muted, group))| json!({
                "name": format!("m{index}"), "groups": [format!("g{group}")], "muted": muted,
                "params": params, "baseline": to_json_samples(baseline), "canary": to_json_samples(canary),
            }))
            .collect();
        let request = json!({
            "scoreThresholds": {"marginal": marginal, "pass": pass},
            "groupWeights": {"g0": weight},
            "missingDataPolicy": policy,
            "metrics": metrics,
        });
        if let Ok(output) = judge_json(&request) {
            prop_assert!(output.get("verdict").is_some());
            prop_assert!(output.get("explanation").and_then(Value::as_array).is_some_and(|lines| !lines.is_empty()));
        }
    }

    #[test]
    fn malformed_json_is_an_error_not_a_panic(value in prop_oneof![
        Just(json!(null)), Just(json!([])), Just(json!({"baseline": 1})),
        Just(json!({"baseline": [1, "x"], "canary": []})), Just(json!({"metrics": "no"})),
        Just(json!({"metrics": [{"name": "a"}]})), Just(json!({"baseline": [], "canary": [], "params": 5})),
    ]) {
        prop_assert!(classify_json(&value).is_err() || value.get("baseline").is_some());
        prop_assert!(judge_json(&value).is_err());
    }
}
