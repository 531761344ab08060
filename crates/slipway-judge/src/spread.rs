//! Slipway extra: a spread and tail check that catches a canary whose centre is
//! unchanged but whose variability blew up (the blind spot reported in Kayenta
//! issue #780, which a location-shift test cannot see).
//!
//! The check runs the Brown–Forsythe test (Levene's test on absolute deviations
//! from the median) between baseline and canary. It flags the metric when the
//! spread difference is significant at `alpha` **and** the canary's mean absolute
//! deviation from its median is at least `maxSpreadIncrease` times the
//! baseline's. Only an increase is flagged: a tighter canary is not a regression.
//! The `tailQuantile` (default p99) of both series is reported alongside so an
//! explanation can show how far the tail moved.

use serde::Serialize;

use crate::f_distribution::f_upper_tail;
use crate::json_numbers::serialize_f64;
use crate::params::ResolvedSpreadCheck;
use crate::statistics::{percentile_of_sorted, sorted_copy};

/// Outcome of the spread check for one metric.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpreadComparison {
    /// Brown–Forsythe F statistic (1 and N−2 degrees of freedom).
    #[serde(serialize_with = "serialize_f64")]
    pub statistic: f64,
    /// Its p-value.
    #[serde(serialize_with = "serialize_f64")]
    pub p_value: f64,
    /// Baseline mean absolute deviation from its median.
    #[serde(serialize_with = "serialize_f64")]
    pub baseline_spread: f64,
    /// Canary mean absolute deviation from its median.
    #[serde(serialize_with = "serialize_f64")]
    pub canary_spread: f64,
    /// `canary_spread / baseline_spread` (∞ when the baseline has no spread).
    #[serde(serialize_with = "serialize_f64")]
    pub spread_ratio: f64,
    /// The quantile reported for the tails, in `(0, 1]`.
    #[serde(serialize_with = "serialize_f64")]
    pub tail_quantile: f64,
    /// Baseline value at `tail_quantile`.
    #[serde(serialize_with = "serialize_f64")]
    pub baseline_tail: f64,
    /// Canary value at `tail_quantile`.
    #[serde(serialize_with = "serialize_f64")]
    pub canary_tail: f64,
    /// Whether the check flags the metric.
    pub flagged: bool,
}

/// Absolute deviations from the median, and their mean.
fn absolute_deviations(sorted: &[f64]) -> (Vec<f64>, f64) {
    let median = percentile_of_sorted(sorted, 50.0);
    let deviations: Vec<f64> = sorted.iter().map(|value| (value - median).abs()).collect();
    let mean = deviations.iter().sum::<f64>() / deviations.len() as f64;
    (deviations, mean)
}

/// Runs the check. `None` when a series has fewer than two values or holds
/// non-finite values (the test is undefined there).
pub fn compare_spread(
    baseline: &[f64],
    canary: &[f64],
    settings: &ResolvedSpreadCheck,
) -> Option<SpreadComparison> {
    if baseline.len() < 2
        || canary.len() < 2
        || baseline
            .iter()
            .chain(canary)
            .any(|value| !value.is_finite())
    {
        return None;
    }
    let baseline_sorted = sorted_copy(baseline);
    let canary_sorted = sorted_copy(canary);
    let (baseline_deviations, baseline_spread) = absolute_deviations(&baseline_sorted);
    let (canary_deviations, canary_spread) = absolute_deviations(&canary_sorted);

    let n_baseline = baseline_deviations.len() as f64;
    let n_canary = canary_deviations.len() as f64;
    let total = n_baseline + n_canary;
    let grand_mean = (baseline_spread * n_baseline + canary_spread * n_canary) / total;
    let between = n_baseline * (baseline_spread - grand_mean).powi(2)
        + n_canary * (canary_spread - grand_mean).powi(2);
    let within: f64 = baseline_deviations
        .iter()
        .map(|value| (value - baseline_spread).powi(2))
        .chain(
            canary_deviations
                .iter()
                .map(|value| (value - canary_spread).powi(2)),
        )
        .sum();
    let degrees_within = total - 2.0;
    let (statistic, p_value) = if within > 0.0 {
        let statistic = between / (within / degrees_within);
        (statistic, f_upper_tail(statistic, 1.0, degrees_within))
    } else if between > 0.0 {
        (f64::INFINITY, 0.0)
    } else {
        (0.0, 1.0)
    };

    let spread_ratio = if baseline_spread > 0.0 {
        canary_spread / baseline_spread
    } else if canary_spread > 0.0 {
        f64::INFINITY
    } else {
        1.0
    };
    let tail_percent = settings.tail_quantile * 100.0;
    let flagged = canary_spread > baseline_spread
        && p_value < settings.alpha
        && spread_ratio >= settings.max_spread_increase;
    Some(SpreadComparison {
        statistic,
        p_value,
        baseline_spread,
        canary_spread,
        spread_ratio,
        tail_quantile: settings.tail_quantile,
        baseline_tail: percentile_of_sorted(&baseline_sorted, tail_percent),
        canary_tail: percentile_of_sorted(&canary_sorted, tail_percent),
        flagged,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ResolvedSpreadCheck {
        ResolvedSpreadCheck {
            enabled: true,
            alpha: 0.01,
            max_spread_increase: 1.5,
            tail_quantile: 0.99,
        }
    }

    #[test]
    fn identical_spread_is_not_flagged() {
        let values: Vec<f64> = (0..50).map(f64::from).collect();
        let result = compare_spread(&values, &values, &settings()).expect("computable");
        assert!(!result.flagged);
        assert!((result.p_value - 1.0).abs() < 1e-9);
    }

    #[test]
    fn constant_baseline_and_spread_canary() {
        let baseline = vec![5.0; 30];
        let canary: Vec<f64> = (0..30)
            .map(|i| if i % 2 == 0 { 1.0 } else { 9.0 })
            .collect();
        let result = compare_spread(&baseline, &canary, &settings()).expect("computable");
        assert!(result.flagged);
        assert_eq!(result.spread_ratio, f64::INFINITY);
    }

    #[test]
    fn too_small_or_non_finite_is_skipped() {
        assert!(compare_spread(&[1.0], &[1.0, 2.0], &settings()).is_none());
        assert!(compare_spread(&[1.0, f64::NAN], &[1.0, 2.0], &settings()).is_none());
    }
}
