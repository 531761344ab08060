//! Turning scores into verdicts: Kayenta's `ThresholdScoreClassifier` for one
//! judgement, and the standalone canary analysis rules for a run of several
//! intervals (`MonitorCanaryTask` early stop and
//! `GenerateCanaryAnalysisResultTask.getAggregatedJudgment`).

use serde::{Deserialize, Serialize};

use crate::json_numbers::{deserialize_f64, serialize_f64, serialize_option_f64};

/// Kayenta's score classification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScoreClassification {
    /// `score ≥ pass`.
    Pass,
    /// `marginal ≤ score < pass`.
    Marginal,
    /// `score < marginal`.
    Fail,
}

impl std::fmt::Display for ScoreClassification {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            ScoreClassification::Pass => "Pass",
            ScoreClassification::Marginal => "Marginal",
            ScoreClassification::Fail => "Fail",
        })
    }
}

/// Score thresholds of one judgement.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScoreThresholds {
    /// Scores below this fail (default 75).
    #[serde(
        default = "default_marginal",
        deserialize_with = "deserialize_f64",
        serialize_with = "serialize_f64"
    )]
    pub marginal: f64,
    /// Scores at or above this pass (default 95).
    #[serde(
        default = "default_pass",
        deserialize_with = "deserialize_f64",
        serialize_with = "serialize_f64"
    )]
    pub pass: f64,
}

fn default_marginal() -> f64 {
    75.0
}

fn default_pass() -> f64 {
    95.0
}

impl Default for ScoreThresholds {
    fn default() -> Self {
        ScoreThresholds {
            marginal: default_marginal(),
            pass: default_pass(),
        }
    }
}

/// `ThresholdScoreClassifier(pass, marginal)`: Pass if `score ≥ pass`, else
/// Marginal if `score ≥ marginal`, else Fail (NaN fails).
pub fn classify_score(score: f64, thresholds: &ScoreThresholds) -> ScoreClassification {
    if score >= thresholds.pass {
        ScoreClassification::Pass
    } else if score >= thresholds.marginal {
        ScoreClassification::Marginal
    } else {
        ScoreClassification::Fail
    }
}

/// Final verdict of a standalone canary analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AggregatedJudgment {
    /// Whether the run passed its thresholds.
    pub did_pass_thresholds: bool,
    /// Why.
    pub reason: String,
    /// Score the verdict was based on (the last interval run), if any.
    #[serde(serialize_with = "serialize_option_f64")]
    pub final_score: Option<f64>,
    /// Intervals actually evaluated (a run stops at the first score ≤ marginal).
    pub intervals_evaluated: usize,
    /// Whether the run stopped before its last interval.
    pub stopped_early: bool,
}

/// `getAggregatedJudgment(finalScore, marginal, pass)`:
///
/// ```text
/// marginal == null && pass == null  -> pass
/// marginal != null && score <= marginal -> fail   (strictly above is needed)
/// pass == null                       -> pass
/// score < pass                       -> fail
/// otherwise                          -> pass
/// ```
pub fn did_pass_thresholds(
    final_score: f64,
    marginal: Option<f64>,
    pass: Option<f64>,
) -> (bool, String) {
    match (marginal, pass) {
        (None, None) => (true, "No score thresholds were specified.".to_owned()),
        (Some(marginal), _) if final_score <= marginal || final_score.is_nan() => (
            false,
            format!(
                "Final canary score {final_score} is not above the marginal score threshold {marginal}."
            ),
        ),
        (_, None) => (
            true,
            format!(
                "Final canary score {final_score} is above the marginal score threshold; no pass threshold was specified."
            ),
        ),
        (_, Some(pass)) if final_score < pass || final_score.is_nan() => (
            false,
            format!("Final canary score {final_score} is below the pass score threshold {pass}."),
        ),
        (_, Some(pass)) => (
            true,
            format!(
                "Final canary score {final_score} met or exceeded the pass score threshold {pass}."
            ),
        ),
    }
}

/// A multi-interval run: intervals are judged in order and the run stops after
/// the first score `≤ marginal`; the verdict uses the last score evaluated.
/// No scores at all is a failure.
pub fn aggregate_interval_scores(
    scores: &[f64],
    marginal: Option<f64>,
    pass: Option<f64>,
) -> AggregatedJudgment {
    let mut evaluated = 0;
    let mut last = None;
    for score in scores {
        evaluated += 1;
        last = Some(*score);
        if marginal.is_some_and(|marginal| *score <= marginal || score.is_nan()) {
            break;
        }
    }
    let stopped_early = evaluated < scores.len();
    match last {
        None => AggregatedJudgment {
            did_pass_thresholds: false,
            reason: "No canary interval produced a score.".to_owned(),
            final_score: None,
            intervals_evaluated: 0,
            stopped_early: false,
        },
        Some(score) => {
            let (passed, mut reason) = did_pass_thresholds(score, marginal, pass);
            if stopped_early {
                reason = format!(
                    "Stopped after interval {evaluated} of {}: score {score} was not above the marginal score threshold. {reason}",
                    scores.len()
                );
            }
            AggregatedJudgment {
                did_pass_thresholds: passed,
                reason,
                final_score: Some(score),
                intervals_evaluated: evaluated,
                stopped_early,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marginal_is_strict_and_pass_is_not() {
        assert!(!did_pass_thresholds(75.0, Some(75.0), Some(95.0)).0);
        assert!(did_pass_thresholds(95.0, Some(75.0), Some(95.0)).0);
        assert!(!did_pass_thresholds(f64::NAN, Some(75.0), None).0);
    }

    #[test]
    fn intervals_stop_at_the_first_low_score() {
        let judgment = aggregate_interval_scores(&[100.0, 50.0, 100.0], Some(75.0), Some(95.0));
        assert!(!judgment.did_pass_thresholds);
        assert_eq!(judgment.intervals_evaluated, 2);
        assert!(judgment.stopped_early);
        let judgment = aggregate_interval_scores(&[], Some(75.0), Some(95.0));
        assert!(!judgment.did_pass_thresholds);
    }

    #[test]
    fn classify_score_boundaries() {
        let thresholds = ScoreThresholds::default();
        assert_eq!(classify_score(95.0, &thresholds), ScoreClassification::Pass);
        assert_eq!(
            classify_score(75.0, &thresholds),
            ScoreClassification::Marginal
        );
        assert_eq!(
            classify_score(74.99, &thresholds),
            ScoreClassification::Fail
        );
        assert_eq!(
            classify_score(f64::NAN, &thresholds),
            ScoreClassification::Fail
        );
    }
}
