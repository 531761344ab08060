//! Kayenta's outlier detectors: interquartile range (`IQRDetector`) and k-sigma
//! (`KSigmaDetector`). Each flags values; [`crate::transforms::remove_outliers`]
//! drops the flagged ones.

use serde::{Deserialize, Serialize};

use crate::json_numbers::serialize_f64;
use crate::statistics::{mean, percentile_of_sorted, population_variance, sorted_copy};

fn default_k() -> f64 {
    3.0
}

fn default_factor() -> f64 {
    1.5
}

/// An outlier detector, written in JSON as
/// `{"detector": "KSigma", "k": 3.0}` or
/// `{"detector": "IQR", "factor": 1.5, "reduceSensitivity": false}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "detector")]
pub enum OutlierDetector {
    /// `|x − mean| > k·σ` with the population standard deviation.
    #[serde(rename = "KSigma")]
    KSigma {
        /// Number of standard deviations (default 3).
        #[serde(default = "default_k", serialize_with = "serialize_f64")]
        k: f64,
    },
    /// Outside `[Q1 − f·IQR, Q3 + f·IQR]`; with `reduceSensitivity` the fences are
    /// widened to at least the 1st / 99th percentiles.
    #[serde(rename = "IQR")]
    Iqr {
        /// Fence factor (default 1.5; the judge uses `outlierFactor`, default 3).
        #[serde(default = "default_factor", serialize_with = "serialize_f64")]
        factor: f64,
        /// Widen the fences to the 1st / 99th percentiles (default false).
        #[serde(default, rename = "reduceSensitivity")]
        reduce_sensitivity: bool,
    },
}

impl OutlierDetector {
    /// One flag per input value: `true` means outlier. Empty input gives an empty
    /// result; NaN values are never flagged.
    pub fn detect(&self, values: &[f64]) -> Vec<bool> {
        match *self {
            OutlierDetector::KSigma { k } => detect_k_sigma(values, k),
            OutlierDetector::Iqr {
                factor,
                reduce_sensitivity,
            } => detect_iqr(values, factor, reduce_sensitivity),
        }
    }
}

fn detect_k_sigma(values: &[f64], k: f64) -> Vec<bool> {
    if values.is_empty() {
        return Vec::new();
    }
    let centre = mean(values);
    let limit = k * population_variance(values).sqrt();
    values
        .iter()
        .map(|value| (value - centre).abs() > limit)
        .collect()
}

fn detect_iqr(values: &[f64], factor: f64, reduce_sensitivity: bool) -> Vec<bool> {
    if values.is_empty() {
        return Vec::new();
    }
    let sorted = sorted_copy(values);
    let q1 = percentile_of_sorted(&sorted, 25.0);
    let q3 = percentile_of_sorted(&sorted, 75.0);
    let iqr = q3 - q1;
    let mut lower = q1 - factor * iqr;
    let mut upper = q3 + factor * iqr;
    if reduce_sensitivity {
        lower = percentile_of_sorted(&sorted, 1.0).min(lower);
        upper = percentile_of_sorted(&sorted, 99.0).max(upper);
    }
    values
        .iter()
        .map(|value| *value < lower || *value > upper)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_nan_inputs() {
        let detector = OutlierDetector::Iqr {
            factor: 1.5,
            reduce_sensitivity: true,
        };
        assert!(detector.detect(&[]).is_empty());
        assert_eq!(detector.detect(&[f64::NAN, 1.0]).len(), 2);
        let detector = OutlierDetector::KSigma { k: 3.0 };
        assert!(detector.detect(&[]).is_empty());
        assert_eq!(detector.detect(&[f64::NAN]), vec![false]);
    }

    #[test]
    fn reads_json_spelling() {
        let detector: OutlierDetector =
            serde_json::from_str(r#"{"detector":"IQR","factor":3.0,"reduceSensitivity":true}"#)
                .expect("valid detector");
        assert_eq!(
            detector,
            OutlierDetector::Iqr {
                factor: 3.0,
                reduce_sensitivity: true
            }
        );
    }
}
