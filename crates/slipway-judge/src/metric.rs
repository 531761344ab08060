//! The per-metric pipeline of Kayenta's `NetflixACAJudge.classifyMetric`, plus
//! Slipway's opt-in extras.
//!
//! Steps, in order:
//! 1. resolve parameters (defaults, checks); unusable values give `Error`;
//! 2. per series: NaN removal or replacement by 0.0, then (if
//!    `outliers.strategy == remove`) IQR outlier removal with reduced sensitivity
//!    and factor `outlierFactor`;
//! 3. descriptive statistics of each cleaned series;
//! 4. extra — minimum sample count: below it, `Nodata` (or `NodataFailMetric`
//!    when `mustHaveData` and not critical), never `Pass`;
//! 5. the classifier (Mann–Whitney by default, or the benchmark mean
//!    inequality, or Slipway's opt-in proportion test); a failure becomes
//!    `Error` with `critical = false`, as upstream;
//! 6. extra — spread check: a `Pass` whose spread blew up becomes `High`.

use serde::Serialize;

use crate::classifier::{
    Classification, MannWhitneyClassifier, MeanInequalityClassifier, MetricClassification,
    MetricContext,
};
use crate::json_numbers::{serialize_f64, serialize_option_f64, serialize_option_pair};
use crate::outliers::OutlierDetector;
use crate::params::{
    ClassifierKind, ClassifierParams, EffectSizeMeasure, NanStrategy, OutlierStrategy,
    ResolvedParams,
};
use crate::proportion::{ProportionClassifier, ProportionComparison, ProportionOutcome};
use crate::spread::{SpreadComparison, compare_spread};
use crate::statistics::{Summary, percentile, summary};
use crate::transforms::{remove_nans, remove_outliers, replace_nans};

/// What happened to one input series, and its statistics after cleaning.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeriesReport {
    /// Values received.
    pub raw_count: usize,
    /// NaN values received (removed or replaced per `nanStrategy`).
    pub nan_count: usize,
    /// Values dropped as outliers.
    pub outliers_removed: usize,
    /// Statistics of the cleaned series (all zeros when empty).
    #[serde(flatten)]
    pub summary: Summary,
    /// Median of the cleaned series (NaN when empty).
    #[serde(serialize_with = "serialize_f64")]
    pub median: f64,
}

/// The effect size and the thresholds it was compared with.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EffectSizeReport {
    /// Measure used.
    pub measure: EffectSizeMeasure,
    /// Its value (NaN when undefined, e.g. a zero mean).
    #[serde(serialize_with = "serialize_f64")]
    pub value: f64,
    /// High needs `value ≥` this.
    #[serde(serialize_with = "serialize_f64")]
    pub allowed_increase: f64,
    /// Low needs `value ≤` this.
    #[serde(serialize_with = "serialize_f64")]
    pub allowed_decrease: f64,
    /// A critical metric's High is critical when `value ≥` this.
    #[serde(serialize_with = "serialize_f64")]
    pub critical_increase: f64,
    /// A critical metric's Low is critical when `value ≤` this.
    #[serde(serialize_with = "serialize_f64")]
    pub critical_decrease: f64,
}

/// The full result for one metric. The first six fields are the `classify`
/// output contract; the rest explain it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricResult {
    /// The classification.
    pub classification: Classification,
    /// Whether this result fails the canary on its own.
    pub critical: bool,
    /// Ratio of means `canary / baseline` (Kayenta's deviation; `"NaN"` when a
    /// mean is zero or the metric errored).
    #[serde(serialize_with = "serialize_f64")]
    pub deviation: f64,
    /// Location-shift estimate `canary − baseline`, when a test ran (for the
    /// `ProportionClassifier`: the difference of event rates).
    #[serde(serialize_with = "serialize_option_f64")]
    pub estimate: Option<f64>,
    /// Confidence interval of the shift `[lower, upper]`, when a test ran (for
    /// the `ProportionClassifier`: Newcombe's interval of the rate difference).
    #[serde(serialize_with = "serialize_option_pair")]
    pub interval: Option<[f64; 2]>,
    /// Why.
    pub reason: String,
    /// Metric name.
    pub name: String,
    /// `[−tolerance·|estimate|, +tolerance·|estimate|]`, when a Mann–Whitney
    /// test ran.
    #[serde(serialize_with = "serialize_option_pair")]
    pub bounds: Option<[f64; 2]>,
    /// Effect size and thresholds, when a test ran.
    pub effect_size: Option<EffectSizeReport>,
    /// Spread check outcome, when enabled and run.
    pub spread: Option<SpreadComparison>,
    /// Proportion test details (`ProportionClassifier` only; omitted from JSON
    /// otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proportion: Option<ProportionComparison>,
    /// Baseline series report.
    pub baseline: SeriesReport,
    /// Canary series report.
    pub canary: SeriesReport,
    /// Parameters used.
    pub params: ResolvedParams,
    /// Fallbacks and remarks (unknown strings, noise added, skipped checks).
    pub notes: Vec<String>,
    /// Whether data was missing: a series had no real value, or the metric ended
    /// `Nodata` / `NodataFailMetric`.
    pub data_missing: bool,
}

fn clean_series(raw: &[f64], params: &ResolvedParams) -> (Vec<f64>, usize, usize) {
    let nan_count = raw.iter().filter(|value| value.is_nan()).count();
    let without_nans = match params.nan_strategy {
        NanStrategy::Remove => remove_nans(raw),
        NanStrategy::Replace => replace_nans(raw, 0.0),
    };
    match params.outliers.strategy {
        OutlierStrategy::Keep => (without_nans, nan_count, 0),
        OutlierStrategy::Remove => {
            let detector = OutlierDetector::Iqr {
                factor: params.outliers.outlier_factor,
                reduce_sensitivity: true,
            };
            let cleaned = remove_outliers(&without_nans, &detector);
            let removed = without_nans.len() - cleaned.len();
            (cleaned, nan_count, removed)
        }
    }
}

fn report(raw: &[f64], cleaned: &[f64], nan_count: usize, outliers_removed: usize) -> SeriesReport {
    SeriesReport {
        raw_count: raw.len(),
        nan_count,
        outliers_removed,
        summary: summary(cleaned),
        median: percentile(cleaned, 50.0),
    }
}

/// Classifies one metric: baseline and canary samples (NaN allowed) with the
/// given parameters. Never panics; problems become `Error` or `Nodata`.
pub fn classify_metric(
    name: &str,
    baseline: &[f64],
    canary: &[f64],
    params: &ClassifierParams,
) -> MetricResult {
    let resolution = params.resolve();
    let resolved = resolution.params;
    let mut notes = resolution.notes;

    let (baseline_clean, baseline_nans, baseline_outliers) = clean_series(baseline, &resolved);
    let (canary_clean, canary_nans, canary_outliers) = clean_series(canary, &resolved);
    let no_real_values = |raw: &[f64]| raw.iter().all(|value| value.is_nan());

    let mut result = MetricResult {
        classification: Classification::Error,
        critical: false,
        deviation: f64::NAN,
        estimate: None,
        interval: None,
        reason: String::new(),
        name: name.to_owned(),
        bounds: None,
        effect_size: None,
        spread: None,
        proportion: None,
        baseline: report(baseline, &baseline_clean, baseline_nans, baseline_outliers),
        canary: report(canary, &canary_clean, canary_nans, canary_outliers),
        params: resolved,
        notes: Vec::new(),
        data_missing: no_real_values(baseline) || no_real_values(canary),
    };

    if !resolution.problems.is_empty() {
        result.reason = format!(
            "Metric Classification Failed: {}",
            resolution.problems.join("; ")
        );
        result.notes = notes;
        return result;
    }

    let context = MetricContext {
        name,
        direction: resolved.direction,
        nan_strategy: resolved.nan_strategy,
        critical: resolved.critical,
        must_have_data: resolved.must_have_data,
    };

    let minimum = resolved.min_sample_count;
    let below_minimum = minimum > 0
        && ((baseline_clean.len() as u64) < minimum || (canary_clean.len() as u64) < minimum);
    let mut proportion_outcome: Option<ProportionOutcome> = None;
    let outcome: Result<MetricClassification, String> = if below_minimum {
        let classification = if resolved.must_have_data && !resolved.critical {
            Classification::NodataFailMetric
        } else {
            Classification::Nodata
        };
        Ok(MetricClassification {
            classification,
            critical: classification == Classification::Nodata && resolved.critical,
            deviation: 1.0,
            reason: Some(format!(
                "Not enough data for {name}: baseline has {} and canary has {} usable samples, at least {minimum} required in each",
                baseline_clean.len(),
                canary_clean.len()
            )),
            comparison: None,
        })
    } else {
        match resolved.classifier {
            ClassifierKind::MannWhitney => {
                let classifier = MannWhitneyClassifier {
                    tolerance: resolved.tolerance,
                    conf_level: resolved.conf_level,
                    effect_size_thresholds: (
                        resolved.effect_size.allowed_decrease,
                        resolved.effect_size.allowed_increase,
                    ),
                    critical_thresholds: (
                        resolved.effect_size.critical_decrease,
                        resolved.effect_size.critical_increase,
                    ),
                    measure: resolved.effect_size.measure,
                };
                classifier
                    .classify(&baseline_clean, &canary_clean, &context)
                    .map_err(|error| error.to_string())
            }
            ClassifierKind::MeanInequality => {
                Ok(MeanInequalityClassifier.classify(&baseline_clean, &canary_clean, &context))
            }
            ClassifierKind::Proportion => {
                let classifier = ProportionClassifier {
                    method: resolved.proportion.map(|p| p.test).unwrap_or_default(),
                    conf_level: resolved.conf_level,
                    effect_size_thresholds: (
                        resolved.effect_size.allowed_decrease,
                        resolved.effect_size.allowed_increase,
                    ),
                    critical_thresholds: (
                        resolved.effect_size.critical_decrease,
                        resolved.effect_size.critical_increase,
                    ),
                    measure: resolved.effect_size.measure,
                };
                match classifier.classify(&baseline_clean, &canary_clean, &context) {
                    Ok(outcome) => {
                        let classification = outcome.classification.clone();
                        proportion_outcome = Some(outcome);
                        Ok(classification)
                    }
                    Err(error) => Err(error.to_string()),
                }
            }
        }
    };

    match outcome {
        Err(error) => {
            result.reason = format!("Metric Classification Failed: {error}");
        }
        Ok(classified) => {
            result.classification = classified.classification;
            result.critical = classified.critical;
            result.deviation = classified.deviation;
            result.reason = classified.reason.unwrap_or_else(|| {
                format!("{name} was classified as {}", classified.classification)
            });
            if let Some(comparison) = classified.comparison {
                result.estimate = Some(comparison.estimate);
                result.interval = Some([comparison.lower_confidence, comparison.upper_confidence]);
                result.bounds = Some([comparison.lower_bound, comparison.upper_bound]);
                result.effect_size = Some(EffectSizeReport {
                    measure: resolved.effect_size.measure,
                    value: comparison.effect_size,
                    allowed_increase: resolved.effect_size.allowed_increase,
                    allowed_decrease: resolved.effect_size.allowed_decrease,
                    critical_increase: resolved.effect_size.critical_increase,
                    critical_decrease: resolved.effect_size.critical_decrease,
                });
                if comparison.noise_added {
                    notes.push(
                        "both series were constant, so tiny deterministic Gaussian noise (σ = value × 1e-5) was added as Kayenta does"
                            .to_owned(),
                    );
                }
            }
            if let Some(outcome) = proportion_outcome {
                if let Some((difference, interval)) = outcome.difference {
                    result.estimate = Some(difference);
                    result.interval = Some(interval);
                }
                if let Some(value) = outcome.effect_size {
                    result.effect_size = Some(EffectSizeReport {
                        measure: resolved.effect_size.measure,
                        value,
                        allowed_increase: resolved.effect_size.allowed_increase,
                        allowed_decrease: resolved.effect_size.allowed_decrease,
                        critical_increase: resolved.effect_size.critical_increase,
                        critical_decrease: resolved.effect_size.critical_decrease,
                    });
                }
                result.proportion = outcome.comparison;
            }
        }
    }

    if resolved.spread_check.enabled {
        apply_spread_check(&mut result, &baseline_clean, &canary_clean, &mut notes);
    }

    result.data_missing = result.data_missing
        || matches!(
            result.classification,
            Classification::Nodata | Classification::NodataFailMetric
        );
    result.notes = notes;
    result
}

fn apply_spread_check(
    result: &mut MetricResult,
    baseline: &[f64],
    canary: &[f64],
    notes: &mut Vec<String>,
) {
    if result.classification != Classification::Pass || result.data_missing {
        return;
    }
    match compare_spread(baseline, canary, &result.params.spread_check) {
        None => notes.push(
            "spread check skipped: it needs at least two finite values in each series".to_owned(),
        ),
        Some(spread) => {
            if spread.flagged {
                result.classification = Classification::High;
                result.critical = result.params.critical;
                result.reason = format!(
                    "{} was classified as High: its spread increased {:.3}x (Brown-Forsythe p = {:.3e} < {})",
                    result.name,
                    spread.spread_ratio,
                    spread.p_value,
                    result.params.spread_check.alpha
                );
            }
            result.spread = Some(spread);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_strategy_turns_nans_into_zeros() {
        let params: ClassifierParams =
            serde_json::from_str(r#"{"nanStrategy": "replace"}"#).expect("valid params");
        let result = classify_metric("m", &[f64::NAN, 1.0], &[1.0, f64::NAN], &params);
        assert_eq!(result.classification, Classification::Pass);
        assert_eq!(result.baseline.nan_count, 1);
    }

    #[test]
    fn all_nan_series_is_missing_data() {
        let result = classify_metric("m", &[f64::NAN], &[1.0, 2.0], &ClassifierParams::default());
        assert_eq!(result.classification, Classification::Nodata);
        assert!(result.data_missing);
        assert_eq!(result.reason, "Missing data for m");
    }

    #[test]
    fn outlier_removal_counts_removed_values() {
        let params: ClassifierParams =
            serde_json::from_str(r#"{"outliers": {"strategy": "remove", "outlierFactor": 1.5}}"#)
                .expect("valid params");
        let mut baseline: Vec<f64> = (0..200).map(|i| f64::from(i % 10)).collect();
        baseline.push(1.0e6);
        let result = classify_metric("m", &baseline, &baseline, &params);
        assert_eq!(result.baseline.outliers_removed, 1);
    }
}
