//! Mann–Whitney (Wilcoxon rank-sum) confidence interval and Hodges–Lehmann-style
//! location-shift estimate, as computed by Kayenta's `kayenta-mannwhitney`.
//!
//! This ports the asymptotic two-sample branch of R's
//! `wilcox.test(x, y, conf.int = TRUE, exact = FALSE, correct = TRUE)`, with
//! Kayenta's one difference: the ±0.5 continuity correction is kept when solving
//! for the estimate (R drops it there). No p-value is computed.
//!
//! `x` is the experiment (canary) and `y` the control (baseline); the shift is
//! `canary − baseline`.

use serde::Serialize;

use crate::json_numbers::serialize_f64;
use crate::normal_distribution::standard_normal_quantile;
use crate::ranking::rank_pooled_sorted;
use crate::root_finder::{RootFinderError, solve, zeroin};

/// Confidence interval and estimate of the location shift `experiment − control`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MannWhitneyResult {
    /// Lower end of the confidence interval.
    #[serde(serialize_with = "serialize_f64")]
    pub lower_confidence: f64,
    /// Upper end of the confidence interval.
    #[serde(serialize_with = "serialize_f64")]
    pub upper_confidence: f64,
    /// Location-shift estimate (root of the corrected statistic).
    #[serde(serialize_with = "serialize_f64")]
    pub estimate: f64,
}

/// Why the interval could not be computed (Kayenta throws in these cases).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MannWhitneyError {
    /// One of the samples is empty.
    #[error("a sample is empty")]
    EmptySample,
    /// A sample holds NaN or an infinity, or its range overflows.
    #[error("samples must be finite numbers")]
    NonFiniteValues,
    /// The confidence level is not in `[0, 1]`.
    #[error("confidence level {0} is outside [0, 1]")]
    ConfidenceLevelOutOfRange(f64),
    /// The rank-sum variance is zero.
    #[error("cannot compute confidence interval when all observations are tied")]
    AllObservationsTied,
    /// The search interval for the root is empty.
    #[error("cannot search for a root in [{min}, {max}]")]
    EmptySearchInterval {
        /// Lower end (`min(x) − max(y)`).
        min: f64,
        /// Upper end (`max(x) − min(y)`).
        max: f64,
    },
}

impl From<RootFinderError<MannWhitneyError>> for MannWhitneyError {
    fn from(error: RootFinderError<MannWhitneyError>) -> Self {
        match error {
            RootFinderError::InvalidInterval { min, max } => {
                MannWhitneyError::EmptySearchInterval { min, max }
            }
            RootFinderError::Function(inner) => inner,
        }
    }
}

/// Both samples sorted once, with the statistic `W(d, zq)` over them.
struct ShiftStatistic {
    experiment_sorted: Vec<f64>,
    control_sorted: Vec<f64>,
    experiment_count: f64,
    control_count: f64,
}

impl ShiftStatistic {
    /// `(dz − correction) / σ − zq` for the pooled ranking of
    /// `{x − shift} ∪ y` (R's `wdiff`).
    fn value(&self, shift: f64, quantile: f64) -> Result<f64, MannWhitneyError> {
        let x_len = self.experiment_count;
        let y_len = self.control_count;
        let ranks = rank_pooled_sorted(&self.experiment_sorted, shift, &self.control_sorted);
        let dz = ranks.first_rank_sum - x_len * (x_len + 1.0) / 2.0 - x_len * y_len / 2.0;
        let correction = if dz > 0.0 {
            0.5
        } else if dz < 0.0 {
            -0.5
        } else {
            0.0
        };
        let sigma = ((x_len * y_len / 12.0)
            * ((x_len + y_len + 1.0) - ranks.tie_term / ((x_len + y_len) * (x_len + y_len - 1.0))))
            .sqrt();
        if sigma == 0.0 || sigma.is_nan() {
            return Err(MannWhitneyError::AllObservationsTied);
        }
        Ok((dz - correction) / sigma - quantile)
    }
}

/// Computes the confidence interval and estimate of `experiment − control`
/// at `confidence_level` (e.g. 0.98).
pub fn mann_whitney_u_test(
    experiment: &[f64],
    control: &[f64],
    confidence_level: f64,
) -> Result<MannWhitneyResult, MannWhitneyError> {
    if experiment.is_empty() || control.is_empty() {
        return Err(MannWhitneyError::EmptySample);
    }
    if experiment
        .iter()
        .chain(control)
        .any(|value| !value.is_finite())
    {
        return Err(MannWhitneyError::NonFiniteValues);
    }
    let alpha = 1.0 - confidence_level;
    let z_quantile = standard_normal_quantile(alpha / 2.0).ok_or(
        MannWhitneyError::ConfidenceLevelOutOfRange(confidence_level),
    )?;

    let mut experiment_sorted = experiment.to_vec();
    experiment_sorted.sort_by(f64::total_cmp);
    let mut control_sorted = control.to_vec();
    control_sorted.sort_by(f64::total_cmp);
    let (Some(&x_min), Some(&x_max), Some(&y_min), Some(&y_max)) = (
        experiment_sorted.first(),
        experiment_sorted.last(),
        control_sorted.first(),
        control_sorted.last(),
    ) else {
        return Err(MannWhitneyError::EmptySample);
    };
    let mu_min = x_min - y_max;
    let mu_max = x_max - y_min;
    if !(mu_min.is_finite()
        && mu_max.is_finite()
        && (x_max - x_min).is_finite()
        && (y_max - y_min).is_finite())
    {
        return Err(MannWhitneyError::NonFiniteValues);
    }

    let statistic = ShiftStatistic {
        experiment_count: experiment_sorted.len() as f64,
        control_count: control_sorted.len() as f64,
        experiment_sorted,
        control_sorted,
    };

    let root = |quantile: f64| -> Result<f64, MannWhitneyError> {
        let f_lower = statistic.value(mu_min, quantile)?;
        let f_upper = statistic.value(mu_max, quantile)?;
        if f_lower <= 0.0 {
            Ok(mu_min)
        } else if f_upper >= 0.0 {
            Ok(mu_max)
        } else {
            let initial = mu_min + 0.5 * (mu_max - mu_min);
            if !(mu_min < initial && initial < mu_max) {
                return Err(MannWhitneyError::EmptySearchInterval {
                    min: mu_min,
                    max: mu_max,
                });
            }
            zeroin(mu_min, mu_max, f_lower, f_upper, |shift| {
                statistic.value(shift, quantile)
            })
        }
    };

    let lower_confidence = root(-z_quantile)?;
    let upper_confidence = root(z_quantile)?;
    let estimate = solve(mu_min, mu_max, |shift| statistic.value(shift, 0.0))?;
    Ok(MannWhitneyResult {
        lower_confidence,
        upper_confidence,
        estimate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_basic_example() {
        // MannWhitneySuite "returns expected values": control 1..4, experiment 10..40.
        let result = mann_whitney_u_test(&[10.0, 20.0, 30.0, 40.0], &[1.0, 2.0, 3.0, 4.0], 0.95)
            .expect("computable");
        assert!((result.lower_confidence - 6.0).abs() < 1e-6, "{result:?}");
        assert!((result.upper_confidence - 39.0).abs() < 1e-6, "{result:?}");
        assert!((result.estimate - 22.5).abs() < 1e-6, "{result:?}");
    }

    #[test]
    fn all_tied_is_an_error() {
        let error = mann_whitney_u_test(&[1.0, 1.0], &[1.0, 1.0], 0.95);
        assert_eq!(error, Err(MannWhitneyError::AllObservationsTied));
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert_eq!(
            mann_whitney_u_test(&[], &[1.0], 0.95),
            Err(MannWhitneyError::EmptySample)
        );
        assert_eq!(
            mann_whitney_u_test(&[f64::NAN], &[1.0], 0.95),
            Err(MannWhitneyError::NonFiniteValues)
        );
        assert!(matches!(
            mann_whitney_u_test(&[1.0, 2.0], &[3.0], 1.5),
            Err(MannWhitneyError::ConfidenceLevelOutOfRange(_))
        ));
        assert_eq!(
            mann_whitney_u_test(&[f64::MAX, -f64::MAX], &[0.0], 0.95),
            Err(MannWhitneyError::NonFiniteValues)
        );
    }
}
