//! Descriptive statistics computed exactly the way Kayenta's judge computes them
//! (Apache commons-math `Mean`, `Variance`, `Percentile` with estimation type R-7).
//!
//! The arithmetic order matters for bit-exact parity, so the formulas below are
//! written out literally rather than with iterator adaptors that may reorder them.

use serde::{Deserialize, Serialize};

use crate::json_numbers::serialize_f64;

/// commons-math `Mean`: `xbar = Σx / n`, corrected by `Σ(x − xbar) / n`.
/// NaN for an empty slice.
pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let count = values.len() as f64;
    let mut sum = 0.0;
    for value in values {
        sum += value;
    }
    let xbar = sum / count;
    let mut correction = 0.0;
    for value in values {
        correction += value - xbar;
    }
    xbar + correction / count
}

/// Sum of squared deviations and sum of deviations from `centre`.
fn deviation_sums(values: &[f64], centre: f64) -> (f64, f64) {
    let mut squares = 0.0;
    let mut plain = 0.0;
    for value in values {
        let deviation = value - centre;
        squares += deviation * deviation;
        plain += deviation;
    }
    (squares, plain)
}

/// commons-math bias-corrected `Variance` (two-pass, `n − 1` denominator).
/// NaN for an empty slice, 0 for a single value.
pub fn variance(values: &[f64]) -> f64 {
    match values.len() {
        0 => f64::NAN,
        1 => 0.0,
        length => {
            let (squares, plain) = deviation_sums(values, mean(values));
            let count = length as f64;
            (squares - plain * plain / count) / (count - 1.0)
        }
    }
}

/// commons-math population variance (`n` denominator).
/// NaN for an empty slice, 0 for a single value.
pub fn population_variance(values: &[f64]) -> f64 {
    match values.len() {
        0 => f64::NAN,
        1 => 0.0,
        length => {
            let (squares, plain) = deviation_sums(values, mean(values));
            let count = length as f64;
            (squares - plain * plain / count) / count
        }
    }
}

/// Sample standard deviation, `sqrt(variance)`.
pub fn standard_deviation(values: &[f64]) -> f64 {
    variance(values).sqrt()
}

/// Sorts a copy of `values` in IEEE total order (NaN last for positive NaN).
pub fn sorted_copy(values: &[f64]) -> Vec<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted
}

/// commons-math `Percentile` with estimation type R-7 on already sorted data.
/// `p` is in percent and must lie in `(0, 100]`; otherwise, and for an empty
/// slice, the result is NaN.
pub fn percentile_of_sorted(sorted: &[f64], p: f64) -> f64 {
    if !(p > 0.0 && p <= 100.0) {
        return f64::NAN;
    }
    let length = sorted.len();
    let (Some(&first), Some(&last)) = (sorted.first(), sorted.last()) else {
        return f64::NAN;
    };
    if length == 1 {
        return first;
    }
    let quantile = p / 100.0;
    let count = length as f64;
    let position = if quantile == 1.0 {
        count
    } else {
        1.0 + (count - 1.0) * quantile
    };
    if position < 1.0 {
        return first;
    }
    if position >= count {
        return last;
    }
    let floor = position.floor();
    // 1 <= floor < length here, so both indices are in range.
    let index = floor as usize;
    let fraction = position - floor;
    let lower = index.checked_sub(1).and_then(|below| sorted.get(below));
    match (lower, sorted.get(index)) {
        (Some(&lower), Some(&upper)) => lower + fraction * (upper - lower),
        _ => f64::NAN,
    }
}

/// commons-math `Percentile` of unsorted data; see [`percentile_of_sorted`].
pub fn percentile(values: &[f64], p: f64) -> f64 {
    percentile_of_sorted(&sorted_copy(values), p)
}

/// Descriptive statistics of one series, as the judge reports them.
/// An empty series gives all zeros (Kayenta's convention).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Number of values.
    pub count: usize,
    /// Smallest value.
    #[serde(serialize_with = "serialize_f64")]
    pub min: f64,
    /// Largest value.
    #[serde(serialize_with = "serialize_f64")]
    pub max: f64,
    /// Arithmetic mean (commons-math).
    #[serde(serialize_with = "serialize_f64")]
    pub mean: f64,
    /// Sample standard deviation (`n − 1`).
    #[serde(serialize_with = "serialize_f64")]
    pub std: f64,
}

/// Computes the [`Summary`] of a series.
pub fn summary(values: &[f64]) -> Summary {
    if values.is_empty() {
        return Summary {
            count: 0,
            min: 0.0,
            max: 0.0,
            mean: 0.0,
            std: 0.0,
        };
    }
    Summary {
        count: values.len(),
        min: values.iter().copied().fold(f64::INFINITY, f64::min),
        max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        mean: mean(values),
        std: standard_deviation(values),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_inputs_do_not_panic() {
        assert!(mean(&[]).is_nan());
        assert!(variance(&[]).is_nan());
        assert!(percentile(&[], 50.0).is_nan());
        assert_eq!(summary(&[]).count, 0);
    }

    #[test]
    fn percentile_rejects_out_of_range_p() {
        assert!(percentile(&[1.0, 2.0], 0.0).is_nan());
        assert!(percentile(&[1.0, 2.0], 100.5).is_nan());
        assert!(percentile(&[1.0, 2.0], f64::NAN).is_nan());
        assert_eq!(percentile(&[1.0, 2.0], 100.0), 2.0);
    }

    #[test]
    fn variance_of_single_value_is_zero() {
        assert_eq!(variance(&[3.0]), 0.0);
        assert_eq!(population_variance(&[3.0]), 0.0);
    }
}
