//! Slipway's statistical canary judge: a pure (no I/O) reimplementation of
//! Spinnaker Kayenta's `NetflixACAJudge`, plus a few opt-in extras.
//!
//! * [`classify`] / [`classify_json`]: one metric, baseline versus canary, with
//!   Kayenta's Mann–Whitney classifier (confidence interval and Hodges–Lehmann
//!   estimate as Kayenta computes them, mean-ratio or CLES effect size,
//!   direction, NaN strategy, outlier removal, critical and must-have-data
//!   metrics) or the benchmark mean-inequality classifier.
//! * [`judge()`] / [`judge_json`]: a whole canary configuration — metrics in
//!   weighted groups, Kayenta's group scoring, critical-failure and missing-data
//!   rules, score thresholds — with a verdict and an explanation.
//! * [`explain()`] / [`explain_metric`]: plain-English lines for people.
//! * [`verdict`]: score thresholds for one judgement and for multi-interval runs.
//!
//! Extras beyond Kayenta, each off by default so Kayenta's results are
//! reproduced exactly: `minSampleCount` (too few samples is `Nodata`, never
//! `Pass`), `missingDataPolicy` (`hold` or `fail` instead of letting missing data
//! pass silently), `spreadCheck` (Brown–Forsythe test flags a canary whose
//! spread blew up while its centre stayed put) and the `ProportionClassifier`
//! ([`proportion`]: Fisher's exact or a z test on 0/1 event samples, for sparse
//! error metrics that Mann–Whitney passes).
//!
//! [`simulation`] is a seeded, pure quality harness: synthetic request streams,
//! sequential judging, false-positive and detection rates
//! (`examples/quality.rs` prints the figures).
//!
//! Where Kayenta draws unseeded random noise, this crate uses a port of
//! `java.util.Random` with a fixed seed, so every result is reproducible.
//! Input and output formats are described in `FORMATS.md`.

pub mod classifier;
pub mod effect_size;
pub mod error;
pub mod explain;
pub mod f_distribution;
pub mod java_random;
pub mod json_numbers;
pub mod judge;
pub mod mann_whitney;
pub mod metric;
pub mod normal_distribution;
pub mod outliers;
pub mod params;
pub mod proportion;
mod ranking;
pub mod root_finder;
pub mod scoring;
pub mod simulation;
pub mod spread;
pub mod statistics;
pub mod transforms;
pub mod verdict;

use serde::{Deserialize, Serialize};

pub use classifier::Classification;
pub use error::JudgeError;
pub use explain::{explain, explain_metric};
pub use judge::{
    JudgeInput, JudgeResult, JudgedMetric, MetricInput, MissingDataPolicy, Verdict, judge,
    judge_json,
};
pub use metric::{MetricResult, classify_metric};
pub use params::ClassifierParams;

use json_numbers::{deserialize_samples, serialize_samples};

/// Input of [`classify`]: `{"baseline": [...], "canary": [...], "params": {...}}`
/// with an optional `"name"` used in reasons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassifyInput {
    /// Metric name for reasons (default `"metric"`).
    #[serde(default)]
    pub name: Option<String>,
    /// Baseline (control) samples; `"NaN"` and `null` allowed.
    #[serde(
        deserialize_with = "deserialize_samples",
        serialize_with = "serialize_samples"
    )]
    pub baseline: Vec<f64>,
    /// Canary (experiment) samples; `"NaN"` and `null` allowed.
    #[serde(
        deserialize_with = "deserialize_samples",
        serialize_with = "serialize_samples"
    )]
    pub canary: Vec<f64>,
    /// Classifier parameters (missing keys take the judge defaults).
    #[serde(default)]
    pub params: ClassifierParams,
}

/// Name used in reasons when a [`ClassifyInput`] has none.
pub const DEFAULT_METRIC_NAME: &str = "metric";

/// Classifies one metric comparison.
pub fn classify(input: &ClassifyInput) -> MetricResult {
    let name = input.name.as_deref().unwrap_or(DEFAULT_METRIC_NAME);
    classify_metric(name, &input.baseline, &input.canary, &input.params)
}

/// [`classify`] on JSON in, JSON out. The output object starts with
/// `classification`, `critical`, `deviation`, `estimate`, `interval`, `reason`
/// (see `FORMATS.md`). `Err` only when the input does not have that shape.
pub fn classify_json(input: &serde_json::Value) -> Result<serde_json::Value, JudgeError> {
    let request = ClassifyInput::deserialize(input)?;
    Ok(serde_json::to_value(classify(&request))?)
}
