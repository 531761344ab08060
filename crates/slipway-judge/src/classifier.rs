//! Kayenta's metric classifiers: `MannWhitneyClassifier` (what the judge uses)
//! and the benchmark `MeanInequalityClassifier`.
//!
//! They take already preprocessed samples (NaN handling and outlier removal are
//! the pipeline's job, see [`crate::metric`]) and return a classification, a
//! critical flag, a deviation (ratio of means) and, for Mann–Whitney, the test
//! details. The order of the checks follows upstream exactly.

use serde::{Deserialize, Serialize};

use crate::effect_size::{cles, mean_ratio};
use crate::java_random::JavaRandom;
use crate::json_numbers::serialize_f64;
use crate::mann_whitney::{MannWhitneyError, mann_whitney_u_test};
use crate::params::{Direction, EffectSizeMeasure, NanStrategy};
use crate::statistics::mean;
use crate::transforms::add_gaussian_noise;

/// Seed of the generator used where Kayenta adds unseeded Gaussian noise
/// (constant-versus-constant comparisons). Fixed so results are reproducible.
pub const NOISE_SEED: i64 = 12345;

/// Relative standard deviation of that noise (σ = value × 1e-5).
pub const NOISE_RELATIVE_STDEV: f64 = 1e-5;

/// A metric classification label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Classification {
    /// No significant change (or none in a direction that matters).
    Pass,
    /// Canary significantly higher.
    High,
    /// Canary significantly lower.
    Low,
    /// No data to compare; excluded from group scores.
    Nodata,
    /// No data for a metric that must have data; counts as a failure.
    NodataFailMetric,
    /// Classification failed; excluded from group scores.
    Error,
}

impl Classification {
    /// The label as Kayenta spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Classification::Pass => "Pass",
            Classification::High => "High",
            Classification::Low => "Low",
            Classification::Nodata => "Nodata",
            Classification::NodataFailMetric => "NodataFailMetric",
            Classification::Error => "Error",
        }
    }
}

impl std::fmt::Display for Classification {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// Details of a Mann–Whitney comparison, kept for reports and explanations.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Comparison {
    /// Location shift estimate `canary − baseline`.
    #[serde(serialize_with = "serialize_f64")]
    pub estimate: f64,
    /// Lower end of the confidence interval of the shift.
    #[serde(serialize_with = "serialize_f64")]
    pub lower_confidence: f64,
    /// Upper end of the confidence interval of the shift.
    #[serde(serialize_with = "serialize_f64")]
    pub upper_confidence: f64,
    /// `−tolerance·|estimate|`: the interval must lie below this for Low.
    #[serde(serialize_with = "serialize_f64")]
    pub lower_bound: f64,
    /// `+tolerance·|estimate|`: the interval must lie above this for High.
    #[serde(serialize_with = "serialize_f64")]
    pub upper_bound: f64,
    /// The effect size compared with the thresholds (NaN when undefined).
    #[serde(serialize_with = "serialize_f64")]
    pub effect_size: f64,
    /// Whether tiny noise was added because both samples were constant.
    pub noise_added: bool,
}

/// What a classifier returns.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricClassification {
    /// The label.
    pub classification: Classification,
    /// Whether this result fails the canary on its own.
    pub critical: bool,
    /// Ratio of means `canary / baseline` (NaN if a mean is zero).
    pub deviation: f64,
    /// Upstream's reason, when upstream gives one.
    pub reason: Option<String>,
    /// Test details when a comparison ran.
    pub comparison: Option<Comparison>,
}

impl MetricClassification {
    fn simple(
        classification: Classification,
        deviation: f64,
        critical: bool,
        reason: Option<String>,
    ) -> Self {
        MetricClassification {
            classification,
            critical,
            deviation,
            reason,
            comparison: None,
        }
    }
}

/// How the classifier treats the series it is given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricContext<'a> {
    /// Metric name, used in reasons.
    pub name: &'a str,
    /// Which direction fails.
    pub direction: Direction,
    /// Only matters for empty input: `replace` passes it, `remove` does not.
    pub nan_strategy: NanStrategy,
    /// Kayenta's `isCriticalMetric`.
    pub critical: bool,
    /// Kayenta's `isDataRequired` (`mustHaveData`).
    pub must_have_data: bool,
}

/// Kayenta's `MannWhitneyClassifier(tolerance, confLevel, effectSizeThresholds,
/// criticalThresholds, effectSizeMeasure)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitneyClassifier {
    /// Fraction of `|estimate|` the interval must clear.
    pub tolerance: f64,
    /// Confidence level of the interval.
    pub conf_level: f64,
    /// `(allowedDecrease, allowedIncrease)`.
    pub effect_size_thresholds: (f64, f64),
    /// `(criticalDecrease, criticalIncrease)`.
    pub critical_thresholds: (f64, f64),
    /// Effect-size measure.
    pub measure: EffectSizeMeasure,
}

/// The missing-data branch shared by every classifier.
pub(crate) fn missing_data(
    context: &MetricContext<'_>,
    nodata_deviation: f64,
) -> MetricClassification {
    match context.nan_strategy {
        NanStrategy::Remove => {
            let reason = Some(format!("Missing data for {}", context.name));
            if context.must_have_data && !context.critical {
                MetricClassification::simple(Classification::NodataFailMetric, 1.0, false, reason)
            } else {
                MetricClassification::simple(
                    Classification::Nodata,
                    nodata_deviation,
                    context.critical,
                    reason,
                )
            }
        }
        NanStrategy::Replace => MetricClassification::simple(
            Classification::Pass,
            1.0,
            false,
            Some(format!(
                "{} was classified as Pass: a series is empty and nanStrategy \"replace\" passes missing data (Kayenta behaviour)",
                context.name
            )),
        ),
    }
}

/// True when every value has the same bits as the first (Java `Double.equals`,
/// which is what Scala's `distinct` uses).
fn has_single_distinct_value(values: &[f64]) -> bool {
    let canonical = |value: f64| {
        if value.is_nan() {
            f64::NAN.to_bits()
        } else {
            value.to_bits()
        }
    };
    match values.first() {
        Some(first) => values
            .iter()
            .all(|value| canonical(*value) == canonical(*first)),
        None => false,
    }
}

/// `sorted(a) == sorted(b)` element-wise with `==`.
fn same_elements_when_sorted(a: &[f64], b: &[f64]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut a_sorted = a.to_vec();
    a_sorted.sort_by(f64::total_cmp);
    let mut b_sorted = b.to_vec();
    b_sorted.sort_by(f64::total_cmp);
    a_sorted.iter().zip(&b_sorted).all(|(x, y)| x == y)
}

impl MannWhitneyClassifier {
    /// Classifies `experiment` (canary) against `control` (baseline).
    ///
    /// `Err` is the case where Kayenta throws (all observations tied, degenerate
    /// search interval, non-finite values, confidence level outside `[0, 1]`);
    /// the judge turns it into an `Error` classification.
    pub fn classify(
        &self,
        control: &[f64],
        experiment: &[f64],
        context: &MetricContext<'_>,
    ) -> Result<MetricClassification, MannWhitneyError> {
        if experiment.is_empty() || control.is_empty() {
            return Ok(missing_data(context, 1.0));
        }
        if same_elements_when_sorted(experiment, control) {
            return Ok(MetricClassification::simple(
                Classification::Pass,
                1.0,
                false,
                Some(format!(
                    "{} was classified as Pass: baseline and canary hold the same values",
                    context.name
                )),
            ));
        }
        let union_single = {
            let mut union = experiment.to_vec();
            union.extend_from_slice(control);
            has_single_distinct_value(&union)
        };
        if union_single {
            let value = experiment.first().copied().unwrap_or(f64::NAN);
            return Ok(MetricClassification::simple(
                Classification::Pass,
                1.0,
                false,
                Some(format!(
                    "{} was classified as Pass: every baseline and canary value is {value}",
                    context.name
                )),
            ));
        }
        self.compare(control, experiment, context)
    }

    fn compare(
        &self,
        control: &[f64],
        experiment: &[f64],
        context: &MetricContext<'_>,
    ) -> Result<MetricClassification, MannWhitneyError> {
        let noise_added =
            has_single_distinct_value(experiment) && has_single_distinct_value(control);
        let (experiment, control): (Vec<f64>, Vec<f64>) = if noise_added {
            let mut random = JavaRandom::new(NOISE_SEED);
            let experiment_sigma =
                experiment.first().copied().unwrap_or(0.0) * NOISE_RELATIVE_STDEV;
            let control_sigma = control.first().copied().unwrap_or(0.0) * NOISE_RELATIVE_STDEV;
            let noisy_experiment =
                add_gaussian_noise(experiment, 0.0, experiment_sigma, &mut random);
            let noisy_control = add_gaussian_noise(control, 0.0, control_sigma, &mut random);
            (noisy_experiment, noisy_control)
        } else {
            (experiment.to_vec(), control.to_vec())
        };

        let test = mann_whitney_u_test(&experiment, &control, self.conf_level)?;
        let deviation = mean_ratio(&control, &experiment);
        let effect_size = match self.measure {
            EffectSizeMeasure::Cles => cles(&control, &experiment),
            EffectSizeMeasure::MeanRatio => deviation,
        };
        let critical_value = self.tolerance * test.estimate.abs();
        let lower_bound = -critical_value;
        let upper_bound = critical_value;
        let comparison = Comparison {
            estimate: test.estimate,
            lower_confidence: test.lower_confidence,
            upper_confidence: test.upper_confidence,
            lower_bound,
            upper_bound,
            effect_size,
            noise_added,
        };

        let (allowed_decrease, allowed_increase) = self.effect_size_thresholds;
        let (critical_decrease, critical_increase) = self.critical_thresholds;
        let classification = if context.direction.allows_increase()
            && test.lower_confidence > upper_bound
            && (effect_size.is_nan() || effect_size >= allowed_increase)
        {
            Classification::High
        } else if context.direction.allows_decrease()
            && test.upper_confidence < lower_bound
            && (effect_size.is_nan() || effect_size <= allowed_decrease)
        {
            Classification::Low
        } else {
            Classification::Pass
        };

        let critical = context.critical
            && match classification {
                Classification::High => effect_size.is_nan() || effect_size >= critical_increase,
                Classification::Low => effect_size.is_nan() || effect_size <= critical_decrease,
                _ => false,
            };
        let reason = match classification {
            Classification::High | Classification::Low => Some(format!(
                "{} was classified as {}",
                context.name, classification
            )),
            _ => None,
        };
        Ok(MetricClassification {
            classification,
            critical,
            deviation,
            reason,
            comparison: Some(comparison),
        })
    }
}

/// Kayenta's benchmark `MeanInequalityClassifier`: High if the canary mean is
/// larger, Low if smaller, no statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MeanInequalityClassifier;

impl MeanInequalityClassifier {
    /// Classifies `experiment` (canary) against `control` (baseline).
    pub fn classify(
        &self,
        control: &[f64],
        experiment: &[f64],
        context: &MetricContext<'_>,
    ) -> MetricClassification {
        if experiment.is_empty() || control.is_empty() {
            return missing_data(context, 0.0);
        }
        let experiment_mean = mean(experiment);
        let control_mean = mean(control);
        let ratio = experiment_mean / control_mean;
        if context.direction.allows_increase() && experiment_mean > control_mean {
            let reason = Some(format!("{} was classified as High", context.name));
            MetricClassification::simple(Classification::High, ratio, context.critical, reason)
        } else if context.direction.allows_decrease() && experiment_mean < control_mean {
            let reason = Some(format!("{} was classified as Low", context.name));
            MetricClassification::simple(Classification::Low, ratio, context.critical, reason)
        } else {
            MetricClassification::simple(Classification::Pass, 1.0, false, None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(direction: Direction) -> MetricContext<'static> {
        MetricContext {
            name: "m",
            direction,
            nan_strategy: NanStrategy::Remove,
            critical: false,
            must_have_data: false,
        }
    }

    fn classifier() -> MannWhitneyClassifier {
        MannWhitneyClassifier {
            tolerance: 0.25,
            conf_level: 0.98,
            effect_size_thresholds: (1.0, 1.0),
            critical_thresholds: (1.0, 1.0),
            measure: EffectSizeMeasure::MeanRatio,
        }
    }

    #[test]
    fn must_have_data_non_critical_fails_the_metric() {
        let mut ctx = context(Direction::Either);
        ctx.must_have_data = true;
        let result = classifier().classify(&[1.0], &[], &ctx).expect("no error");
        assert_eq!(result.classification, Classification::NodataFailMetric);
        assert!(!result.critical);
        ctx.critical = true;
        let result = classifier().classify(&[1.0], &[], &ctx).expect("no error");
        assert_eq!(result.classification, Classification::Nodata);
        assert!(result.critical);
    }

    #[test]
    fn constant_versus_zero_gets_noise_on_one_side_only() {
        let result = classifier()
            .classify(&[0.0; 5], &[3.0; 5], &context(Direction::Either))
            .expect("no error");
        assert_eq!(result.classification, Classification::High);
        assert!(
            result
                .comparison
                .is_some_and(|comparison| comparison.noise_added)
        );
    }

    #[test]
    fn mean_inequality_low() {
        let result = MeanInequalityClassifier.classify(
            &[5.0, 6.0],
            &[1.0, 2.0],
            &context(Direction::Either),
        );
        assert_eq!(result.classification, Classification::Low);
    }
}
