//! Kayenta conformance: reads every case of every JSON file in
//! `shared/conformance/kayenta` and asserts exactly what each case's `expected`
//! says (with its `absTol`), through one `check_*` helper per file kind.
//!
//! Every file is expected to exist with a known number of cases, and the
//! directory must hold no other JSON file, so a skipped or truncated file fails.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};
use slipway_judge::effect_size::{cles, cohen_d, mean_ratio, mean_ratio_from_summaries};
use slipway_judge::json_numbers::{sample_from_value, samples_from_value};
use slipway_judge::outliers::OutlierDetector;
use slipway_judge::scoring::{ScorableResult, weighted_sum_score};
use slipway_judge::statistics::{mean, percentile, standard_deviation, summary};
use slipway_judge::transforms::{
    add_gaussian_noise_seeded, remove_nans, remove_outliers, replace_nans,
};
use slipway_judge::verdict::did_pass_thresholds;

const CONFORMANCE_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/conformance/kayenta"
);

/// Every file and the number of cases it must hold.
const FILES: [(&str, usize); 6] = [
    ("classifier.json", 25),
    ("scorer.json", 13),
    ("statistics.json", 18),
    ("detector.json", 6),
    ("transform.json", 6),
    ("result-truth-table.json", 5),
];

type CheckResult = Result<(), String>;

fn load_cases(file: &str) -> Vec<Value> {
    let path = Path::new(CONFORMANCE_DIR).join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    let document: Value =
        serde_json::from_str(&text).unwrap_or_else(|error| panic!("{file} is not JSON: {error}"));
    document
        .get("cases")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_else(|| panic!("{file} has no \"cases\" array"))
}

/// Runs `check` on every case of `file`, asserts the case count, and reports
/// all failures together.
fn run_file(file: &str, check: fn(&Value) -> CheckResult) {
    let expected_count = FILES
        .iter()
        .find(|(name, _)| *name == file)
        .map(|(_, count)| *count)
        .unwrap_or_else(|| panic!("{file} is not a known conformance file"));
    let cases = load_cases(file);
    assert_eq!(cases.len(), expected_count, "{file}: number of cases read");
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let name = case
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("<unnamed>");
            check(case).err().map(|error| format!("{name}: {error}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{file}: {} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    println!("{file}: {} cases passed", cases.len());
}

fn field<'a>(value: &'a Value, key: &str) -> Result<&'a Value, String> {
    value
        .get(key)
        .ok_or_else(|| format!("missing key \"{key}\""))
}

fn samples(value: &Value, key: &str) -> Result<Vec<f64>, String> {
    samples_from_value(field(value, key)?).map_err(|error| format!("{key}: {error}"))
}

fn number(value: &Value, key: &str) -> Result<f64, String> {
    sample_from_value(field(value, key)?).ok_or_else(|| format!("{key} is not a number"))
}

/// `|actual − value| ≤ absTol`, or both NaN when the expected value is "NaN".
fn assert_close(what: &str, actual: f64, expected: &Value) -> CheckResult {
    let value = number(expected, "value")?;
    let tolerance = number(expected, "absTol")?;
    let ok = if value.is_nan() {
        actual.is_nan()
    } else {
        (actual - value).abs() <= tolerance
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what}: expected {value} ± {tolerance}, got {actual}"
        ))
    }
}

fn expected_object(case: &Value) -> Result<&serde_json::Map<String, Value>, String> {
    field(case, "expected")?
        .as_object()
        .ok_or_else(|| "expected is not an object".to_owned())
}

fn check_classifier(case: &Value) -> CheckResult {
    let input = field(case, "input")?;
    let request = json!({
        "baseline": field(input, "baseline")?,
        "canary": field(input, "canary")?,
        "params": field(case, "params")?,
    });
    let output = slipway_judge::classify_json(&request).map_err(|error| error.to_string())?;
    for (key, expected) in expected_object(case)? {
        match key.as_str() {
            "classification" => {
                let actual = field(&output, "classification")?;
                if actual != expected {
                    return Err(format!(
                        "classification: expected {expected}, got {actual} (reason: {})",
                        output.get("reason").unwrap_or(&Value::Null)
                    ));
                }
            }
            "critical" => {
                let actual = field(&output, "critical")?;
                if actual != expected {
                    return Err(format!("critical: expected {expected}, got {actual}"));
                }
            }
            "deviation" => {
                let actual = number(&output, "deviation")?;
                assert_close("deviation", actual, expected)?;
            }
            "reasonNonEmpty" => {
                let reason = output.get("reason").and_then(Value::as_str).unwrap_or("");
                if expected.as_bool() == Some(true) && reason.is_empty() {
                    return Err("reason: expected a non-empty reason".to_owned());
                }
            }
            other => return Err(format!("unknown expected key \"{other}\"")),
        }
    }
    Ok(())
}

fn check_scorer(case: &Value) -> CheckResult {
    let results: Vec<ScorableResult> =
        serde_json::from_value(field(field(case, "input")?, "results")?.clone())
            .map_err(|error| error.to_string())?;
    let weights: BTreeMap<String, f64> =
        serde_json::from_value(field(field(case, "params")?, "groupWeights")?.clone())
            .map_err(|error| error.to_string())?;
    let score = weighted_sum_score(&results, &weights);
    for (key, expected) in expected_object(case)? {
        match key.as_str() {
            "summaryScore" => assert_close("summaryScore", score.summary_score, expected)?,
            "groupScores" => {
                let expected_groups = expected.as_object().ok_or("groupScores is not an object")?;
                if expected_groups.len() != score.group_scores.len() {
                    return Err(format!(
                        "groupScores: expected {} groups, got {}",
                        expected_groups.len(),
                        score.group_scores.len()
                    ));
                }
                for (group, expected_score) in expected_groups {
                    let actual = score
                        .group_scores
                        .iter()
                        .find(|candidate| &candidate.name == group)
                        .ok_or_else(|| format!("group {group} missing"))?;
                    assert_close(&format!("group {group}"), actual.score, expected_score)?;
                }
            }
            other => return Err(format!("unknown expected key \"{other}\"")),
        }
    }
    Ok(())
}

fn check_statistics(case: &Value) -> CheckResult {
    let input = field(case, "input")?;
    let function = field(field(case, "params")?, "function")?
        .as_str()
        .ok_or("function is not a string")?;
    let expected = expected_object(case)?;
    let result = |actual: f64| -> CheckResult {
        for key in expected.keys() {
            if key != "result" {
                return Err(format!("unknown expected key \"{key}\""));
            }
        }
        assert_close(function, actual, field(field(case, "expected")?, "result")?)
    };
    match function {
        "summary" => {
            let values = samples(input, "values")?;
            let stats = summary(&values);
            for (key, expected) in expected {
                match key.as_str() {
                    "min" => assert_close("min", stats.min, expected)?,
                    "max" => assert_close("max", stats.max, expected)?,
                    "mean" => assert_close("mean", stats.mean, expected)?,
                    "std" => assert_close("std", stats.std, expected)?,
                    "count" => {
                        if expected.as_u64() != Some(stats.count as u64) {
                            return Err(format!("count: expected {expected}, got {}", stats.count));
                        }
                    }
                    other => return Err(format!("unknown expected key \"{other}\"")),
                }
            }
            Ok(())
        }
        "percentile" => {
            let values = samples(input, "values")?;
            for (key, expected) in expected {
                if key != "percentiles" {
                    return Err(format!("unknown expected key \"{key}\""));
                }
                for point in expected.as_array().ok_or("percentiles is not an array")? {
                    let p = number(point, "p")?;
                    assert_close(&format!("p{p}"), percentile(&values, p), point)?;
                }
            }
            Ok(())
        }
        "meanRatio" => result(mean_ratio(
            &samples(input, "baseline")?,
            &samples(input, "canary")?,
        )),
        "meanRatioFromSummary" => result(mean_ratio_from_summaries(
            &summary(&samples(input, "baseline")?),
            &summary(&samples(input, "canary")?),
        )),
        // Upstream calls cohenD(experiment, control); the value is symmetric.
        "cohenD" => result(cohen_d(
            &samples(input, "canary")?,
            &samples(input, "baseline")?,
        )),
        "cles" => result(cles(
            &samples(input, "baseline")?,
            &samples(input, "canary")?,
        )),
        other => Err(format!("unknown statistics function \"{other}\"")),
    }
}

fn detector_from(params: &Value) -> Result<OutlierDetector, String> {
    serde_json::from_value(params.clone()).map_err(|error| format!("detector: {error}"))
}

fn check_detector(case: &Value) -> CheckResult {
    let values = samples(field(case, "input")?, "values")?;
    let detector = detector_from(field(case, "params")?)?;
    let flags = detector.detect(&values);
    for (key, expected) in expected_object(case)? {
        match key.as_str() {
            "outliers" => {
                let expected: Vec<bool> =
                    serde_json::from_value(expected.clone()).map_err(|error| error.to_string())?;
                if flags != expected {
                    return Err(format!("outliers: expected {expected:?}, got {flags:?}"));
                }
            }
            other => return Err(format!("unknown expected key \"{other}\"")),
        }
    }
    Ok(())
}

fn same_values(actual: &[f64], expected: &[f64]) -> bool {
    actual.len() == expected.len()
        && actual
            .iter()
            .zip(expected)
            .all(|(a, e)| a == e || (a.is_nan() && e.is_nan()))
}

fn check_transform(case: &Value) -> CheckResult {
    let values = samples(field(case, "input")?, "values")?;
    let params = field(case, "params")?;
    let transform = field(params, "transform")?
        .as_str()
        .ok_or("transform is not a string")?;
    let expected = expected_object(case)?;
    let exact = |actual: Vec<f64>| -> CheckResult {
        for key in expected.keys() {
            if key != "values" {
                return Err(format!("unknown expected key \"{key}\""));
            }
        }
        let wanted = samples(field(case, "expected")?, "values")?;
        if same_values(&actual, &wanted) {
            Ok(())
        } else {
            Err(format!("values: expected {wanted:?}, got {actual:?}"))
        }
    };
    match transform {
        "removeNaNs" => exact(remove_nans(&values)),
        "replaceNaNs" => exact(replace_nans(&values, number(params, "replacement")?)),
        "removeOutliers" => exact(remove_outliers(
            &values,
            &detector_from(field(params, "detector")?)?,
        )),
        "addGaussianNoise" => {
            let seed = field(params, "seed")?
                .as_i64()
                .ok_or("seed is not an integer")?;
            let noisy = add_gaussian_noise_seeded(
                &values,
                number(params, "mean")?,
                number(params, "stdev")?,
                seed,
            );
            for (key, expected) in expected {
                match key.as_str() {
                    "length" => {
                        if expected.as_u64() != Some(noisy.len() as u64) {
                            return Err(format!(
                                "length: expected {expected}, got {}",
                                noisy.len()
                            ));
                        }
                    }
                    "sampleMean" => assert_close("sampleMean", mean(&noisy), expected)?,
                    "sampleStdev" => {
                        assert_close("sampleStdev", standard_deviation(&noisy), expected)?
                    }
                    other => return Err(format!("unknown expected key \"{other}\"")),
                }
            }
            Ok(())
        }
        other => Err(format!("unknown transform \"{other}\"")),
    }
}

fn optional_number(value: &Value, key: &str) -> Result<Option<f64>, String> {
    match field(value, key)? {
        Value::Null => Ok(None),
        other => sample_from_value(other)
            .map(Some)
            .ok_or_else(|| format!("{key} is not a number")),
    }
}

fn check_truth_table(case: &Value) -> CheckResult {
    let score = number(field(case, "input")?, "finalCanaryScore")?;
    let params = field(case, "params")?;
    let (passed, reason) = did_pass_thresholds(
        score,
        optional_number(params, "marginalThreshold")?,
        optional_number(params, "passThreshold")?,
    );
    for (key, expected) in expected_object(case)? {
        match key.as_str() {
            "didPassThresholds" => {
                if expected.as_bool() != Some(passed) {
                    return Err(format!(
                        "didPassThresholds: expected {expected}, got {passed} ({reason})"
                    ));
                }
            }
            other => return Err(format!("unknown expected key \"{other}\"")),
        }
    }
    Ok(())
}

#[test]
fn conformance_directory_holds_exactly_the_known_files() {
    let mut found: Vec<String> = std::fs::read_dir(CONFORMANCE_DIR)
        .unwrap_or_else(|error| panic!("cannot list {CONFORMANCE_DIR}: {error}"))
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    found.sort();
    let mut known: Vec<String> = FILES.iter().map(|(name, _)| (*name).to_owned()).collect();
    known.sort();
    assert_eq!(found, known, "every conformance JSON file must be checked");
}

#[test]
fn classifier_cases() {
    run_file("classifier.json", check_classifier);
}

#[test]
fn scorer_cases() {
    run_file("scorer.json", check_scorer);
}

#[test]
fn statistics_cases() {
    run_file("statistics.json", check_statistics);
}

#[test]
fn detector_cases() {
    run_file("detector.json", check_detector);
}

#[test]
fn transform_cases() {
    run_file("transform.json", check_transform);
}

#[test]
fn result_truth_table_cases() {
    run_file("result-truth-table.json", check_truth_table);
}
