//! Judging a whole canary configuration: every metric through the pipeline of
//! [`crate::metric`], muted metrics dropped before scoring, Kayenta's weighted
//! group scoring and score thresholds, then Slipway's missing-data policy.
//!
//! The JSON formats are documented in `FORMATS.md` next to `Cargo.toml`; in
//! short, the input is
//!
//! ```json
//! {
//!   "name": "checkout v2 canary",
//!   "scoreThresholds": {"marginal": 75, "pass": 95},
//!   "groupWeights": {"latency": 60, "errors": 40},
//!   "missingDataPolicy": "hold",
//!   "defaults": {"direction": "increase"},
//!   "metrics": [
//!     {"name": "latency_p99", "groups": ["latency"], "unit": "ms",
//!      "params": {"effectSize": {"allowedIncrease": 1.1}, "critical": true},
//!      "baseline": [101.0, 99.5, "NaN"], "canary": [140.2, 139.0]}
//!   ]
//! }
//! ```
//!
//! and the output carries the verdict (`Pass`, `Marginal`, `Fail`, or `Hold`
//! under the `hold` policy), the score, group scores, each metric's full
//! [`MetricResult`] and a plain-English explanation.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::classifier::Classification;
use crate::error::JudgeError;
use crate::explain::explain;
use crate::json_numbers::{deserialize_samples, serialize_f64, serialize_samples};
use crate::metric::{MetricResult, classify_metric};
use crate::params::ClassifierParams;
use crate::scoring::{GroupScore, ScorableResult, weighted_sum_score};
use crate::verdict::{ScoreClassification, ScoreThresholds, classify_score};

/// Group used for metrics that list no group (Kayenta would leave them out of
/// every group score; Slipway scores them here so a failing metric cannot be
/// ignored by accident).
pub const DEFAULT_GROUP: &str = "default";

/// What the verdict does when a metric could not be judged (no data, below the
/// minimum sample count, or a classification error).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MissingDataPolicy {
    /// Kayenta's behaviour: the score decides (Nodata and Error do not count
    /// against a group; 50 % or more Nodata fails the canary).
    #[default]
    Kayenta,
    /// A Pass or Marginal verdict becomes Hold: not promotable, not failed.
    Hold,
    /// The verdict becomes Fail.
    Fail,
}

/// The overall verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// Score at or above the pass threshold.
    Pass,
    /// Score between the marginal and pass thresholds.
    Marginal,
    /// Score below the marginal threshold (or forced by policy).
    Fail,
    /// Missing data under the `hold` policy: wait for data or rerun.
    Hold,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Verdict::Pass => "Pass",
            Verdict::Marginal => "Marginal",
            Verdict::Fail => "Fail",
            Verdict::Hold => "Hold",
        })
    }
}

/// One metric of a judge request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricInput {
    /// Unique metric name.
    pub name: String,
    /// Groups it counts in (empty means [`DEFAULT_GROUP`]).
    #[serde(default)]
    pub groups: Vec<String>,
    /// Muted metrics are classified and reported but not scored.
    #[serde(default)]
    pub muted: bool,
    /// Unit for explanations (e.g. `ms`).
    #[serde(default)]
    pub unit: Option<String>,
    /// Classifier parameters, overlaid on the request's `defaults`.
    #[serde(default)]
    pub params: ClassifierParams,
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
}

/// A judge request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JudgeInput {
    /// Optional label echoed in the result.
    #[serde(default)]
    pub name: Option<String>,
    /// Score thresholds (defaults 75 / 95).
    #[serde(default)]
    pub score_thresholds: ScoreThresholds,
    /// Group weights in percent; groups not listed share what is left of 100.
    #[serde(default)]
    pub group_weights: BTreeMap<String, f64>,
    /// Missing-data policy (default `kayenta`).
    #[serde(default)]
    pub missing_data_policy: MissingDataPolicy,
    /// Parameters applied to every metric unless the metric sets them.
    #[serde(default)]
    pub defaults: ClassifierParams,
    /// The metrics.
    pub metrics: Vec<MetricInput>,
}

/// One metric's result inside a judge result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JudgedMetric {
    /// Groups the metric was scored in.
    pub groups: Vec<String>,
    /// Whether it was muted (reported, not scored).
    pub muted: bool,
    /// Unit for explanations.
    pub unit: Option<String>,
    /// The classification and its details.
    #[serde(flatten)]
    pub result: MetricResult,
}

/// A judge result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JudgeResult {
    /// The request's label.
    pub name: Option<String>,
    /// Final verdict (after the missing-data policy).
    pub verdict: Verdict,
    /// Kayenta's verdict from the score alone.
    pub score_classification: ScoreClassification,
    /// Summary score, 0–100, two decimals.
    #[serde(serialize_with = "serialize_f64")]
    pub score: f64,
    /// Why the verdict is what it is.
    pub reason: String,
    /// Thresholds used.
    pub score_thresholds: ScoreThresholds,
    /// Policy used.
    pub missing_data_policy: MissingDataPolicy,
    /// Group scores (muted metrics excluded).
    pub groups: Vec<GroupScore>,
    /// Every metric, in request order.
    pub metrics: Vec<JudgedMetric>,
    /// Non-muted metrics that could not be judged (missing data or error).
    pub unjudged_metrics: Vec<String>,
    /// Plain-English explanation, one line per point.
    pub explanation: Vec<String>,
}

fn validate(input: &JudgeInput) -> Result<(), JudgeError> {
    let thresholds = &input.score_thresholds;
    if !(thresholds.marginal.is_finite() && thresholds.pass.is_finite()) {
        return Err(JudgeError::InvalidConfig(
            "score thresholds must be finite numbers".to_owned(),
        ));
    }
    if thresholds.marginal > thresholds.pass {
        return Err(JudgeError::InvalidConfig(format!(
            "the marginal threshold ({}) must not exceed the pass threshold ({})",
            thresholds.marginal, thresholds.pass
        )));
    }
    for (group, weight) in &input.group_weights {
        if !(weight.is_finite() && *weight >= 0.0) {
            return Err(JudgeError::InvalidConfig(format!(
                "group weight of \"{group}\" must be a finite number ≥ 0, got {weight}"
            )));
        }
    }
    let weight_sum: f64 = input.group_weights.values().sum();
    if weight_sum > 100.0 + 1e-9 {
        return Err(JudgeError::InvalidConfig(format!(
            "group weights add up to {weight_sum}, more than 100"
        )));
    }
    let mut names = BTreeSet::new();
    for metric in &input.metrics {
        if metric.name.trim().is_empty() {
            return Err(JudgeError::InvalidConfig(
                "every metric needs a non-empty name".to_owned(),
            ));
        }
        if !names.insert(metric.name.as_str()) {
            return Err(JudgeError::InvalidConfig(format!(
                "metric name \"{}\" is used twice",
                metric.name
            )));
        }
    }
    Ok(())
}

/// Judges a canary configuration.
pub fn judge(input: &JudgeInput) -> Result<JudgeResult, JudgeError> {
    validate(input)?;

    let metrics: Vec<JudgedMetric> = input
        .metrics
        .iter()
        .map(|metric| {
            let params = metric.params.overlay_on(&input.defaults);
            let groups = if metric.groups.is_empty() {
                vec![DEFAULT_GROUP.to_owned()]
            } else {
                metric.groups.clone()
            };
            JudgedMetric {
                groups,
                muted: metric.muted,
                unit: metric.unit.clone(),
                result: classify_metric(&metric.name, &metric.baseline, &metric.canary, &params),
            }
        })
        .collect();

    let scorable: Vec<ScorableResult> = metrics
        .iter()
        .filter(|metric| !metric.muted)
        .map(|metric| ScorableResult {
            name: metric.result.name.clone(),
            classification: metric.result.classification,
            groups: metric.groups.clone(),
            critical: metric.result.critical,
            reason: Some(metric.result.reason.clone()),
        })
        .collect();
    let score = weighted_sum_score(&scorable, &input.group_weights);
    let thresholds = input.score_thresholds;
    let score_classification = classify_score(score.summary_score, &thresholds);

    let unjudged_metrics: Vec<String> = metrics
        .iter()
        .filter(|metric| {
            !metric.muted
                && (metric.result.data_missing
                    || metric.result.classification == Classification::Error)
        })
        .map(|metric| metric.result.name.clone())
        .collect();

    let mut reason = match &score.reason {
        Some(reason) => reason.clone(),
        None => match score_classification {
            ScoreClassification::Pass => format!(
                "score {} is at or above the pass threshold {}",
                score.summary_score, thresholds.pass
            ),
            ScoreClassification::Marginal => format!(
                "score {} is below the pass threshold {} but at or above the marginal threshold {}",
                score.summary_score, thresholds.pass, thresholds.marginal
            ),
            ScoreClassification::Fail => format!(
                "score {} is below the marginal threshold {}",
                score.summary_score, thresholds.marginal
            ),
        },
    };
    if scorable.is_empty() {
        reason = format!("no scored metrics: {reason}");
    }

    let mut verdict = match score_classification {
        ScoreClassification::Pass => Verdict::Pass,
        ScoreClassification::Marginal => Verdict::Marginal,
        ScoreClassification::Fail => Verdict::Fail,
    };
    if !unjudged_metrics.is_empty() {
        let listed = unjudged_metrics.join(", ");
        match input.missing_data_policy {
            MissingDataPolicy::Kayenta => {}
            MissingDataPolicy::Hold => {
                if verdict != Verdict::Fail {
                    verdict = Verdict::Hold;
                    reason = format!(
                        "held because these metrics could not be judged: {listed} ({reason})"
                    );
                }
            }
            MissingDataPolicy::Fail => {
                if verdict != Verdict::Fail {
                    verdict = Verdict::Fail;
                    reason = format!(
                        "failed because these metrics could not be judged: {listed} ({reason})"
                    );
                }
            }
        }
    }

    let mut result = JudgeResult {
        name: input.name.clone(),
        verdict,
        score_classification,
        score: score.summary_score,
        reason,
        score_thresholds: thresholds,
        missing_data_policy: input.missing_data_policy,
        groups: score.group_scores,
        metrics,
        unjudged_metrics,
        explanation: Vec::new(),
    };
    result.explanation = explain(&result);
    Ok(result)
}

/// [`judge`] on JSON in, JSON out.
pub fn judge_json(input: &serde_json::Value) -> Result<serde_json::Value, JudgeError> {
    let request = JudgeInput::deserialize(input)?;
    let result = judge(&request)?;
    Ok(serde_json::to_value(&result)?)
}
