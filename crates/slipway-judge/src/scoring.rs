//! Kayenta's scoring: group scores and the weighted summary score
//! (`WeightedSumScorer`), with the critical-failure and too-much-missing-data
//! rules, and commons-math's `Precision.round(x, 2)`.
//!
//! Muted metrics must be removed by the caller before scoring (Kayenta's
//! `ScoringHelper` does that; [`crate::judge()`] does it here).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::classifier::Classification;
use crate::json_numbers::{serialize_f64, serialize_option_f64};

/// The part of a metric result the scorer looks at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScorableResult {
    /// Metric name.
    pub name: String,
    /// Its classification.
    pub classification: Classification,
    /// Groups the metric belongs to (it counts in each).
    #[serde(default)]
    pub groups: Vec<String>,
    /// The result's critical flag.
    #[serde(default)]
    pub critical: bool,
    /// The result's reason, used in the critical-failure message.
    #[serde(default)]
    pub reason: Option<String>,
}

/// How many results of each label a group holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelCounts {
    /// Pass results.
    pub pass: usize,
    /// High results.
    pub high: usize,
    /// Low results.
    pub low: usize,
    /// Nodata results (not measured).
    pub nodata: usize,
    /// NodataFailMetric results (measured, failing).
    pub nodata_fail_metric: usize,
    /// Error results (not measured).
    pub error: usize,
}

impl LabelCounts {
    fn add(&mut self, classification: Classification) {
        match classification {
            Classification::Pass => self.pass += 1,
            Classification::High => self.high += 1,
            Classification::Low => self.low += 1,
            Classification::Nodata => self.nodata += 1,
            Classification::NodataFailMetric => self.nodata_fail_metric += 1,
            Classification::Error => self.error += 1,
        }
    }

    /// `High + Low + Pass + NodataFailMetric`: the results a group score counts.
    pub fn measured(&self) -> usize {
        self.high + self.low + self.pass + self.nodata_fail_metric
    }
}

/// One group's score.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupScore {
    /// Group name.
    pub name: String,
    /// `100 · Pass / measured`, or 0 when nothing was measured.
    #[serde(serialize_with = "serialize_f64")]
    pub score: f64,
    /// Nothing measured: the group then counts as 100 in the summary.
    pub no_data: bool,
    /// Label counts.
    pub counts: LabelCounts,
    /// Measured results (see [`LabelCounts::measured`]).
    pub measured: usize,
    /// Weight used in the summary (configured or shared remainder).
    #[serde(serialize_with = "serialize_option_f64")]
    pub weight: Option<f64>,
}

/// The scorer's output.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScoreResult {
    /// Group scores in order of first appearance.
    pub group_scores: Vec<GroupScore>,
    /// Summary score, rounded half-up to two decimals (0 on critical failure or
    /// too much missing data).
    #[serde(serialize_with = "serialize_f64")]
    pub summary_score: f64,
    /// Number of results scored.
    pub number_of_metrics: usize,
    /// Why the score was forced to 0, if it was.
    pub reason: Option<String>,
}

/// commons-math `Precision.round(x, scale)` with `ROUND_HALF_UP`: the decimal
/// text of `x` (shortest round-trip form) rounded half away from zero.
/// NaN stays NaN and infinities stay infinite.
pub fn round_half_up(x: f64, scale: u32) -> f64 {
    if !x.is_finite() {
        return x;
    }
    // Scientific form: "-d.ddddde±x" with the shortest round-trip digits.
    let text = format!("{:e}", x.abs());
    let Some((mantissa, exponent)) = text.split_once('e') else {
        return x;
    };
    let Ok(exponent) = exponent.parse::<i64>() else {
        return x;
    };
    let digits: Vec<u8> = mantissa
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|digit| digit - b'0')
        .collect();
    // Value = 0.d1d2d3... × 10^(exponent + 1); keep digits up to 10^-scale.
    let integer_digits = exponent + 1;
    let keep = integer_digits + i64::from(scale);
    if keep < 0 {
        return 0.0 * x.signum();
    }
    let keep = usize::try_from(keep).unwrap_or(usize::MAX);
    let mut kept: Vec<u8> = digits.iter().copied().take(keep).collect();
    while kept.len() < keep {
        kept.push(0);
    }
    let round_up = digits.get(keep).is_some_and(|digit| *digit >= 5);
    if round_up {
        let mut index = kept.len();
        let mut carry = true;
        while carry && index > 0 {
            index -= 1;
            if let Some(digit) = kept.get_mut(index) {
                if *digit == 9 {
                    *digit = 0;
                } else {
                    *digit += 1;
                    carry = false;
                }
            }
        }
        if carry {
            kept.insert(0, 1);
        }
    }
    let body: String = kept.iter().map(|digit| char::from(b'0' + digit)).collect();
    let body = if body.is_empty() {
        "0".to_owned()
    } else {
        body
    };
    let magnitude = format!("{body}e-{scale}")
        .parse::<f64>()
        .unwrap_or(f64::NAN);
    if magnitude == 0.0 {
        0.0 * x.signum()
    } else {
        magnitude.copysign(x)
    }
}

/// Kayenta's `WeightedSumScorer(groupWeights).score(results)`.
///
/// * group score = `100 · Pass / (High + Low + Pass + NodataFailMetric)`;
///   Nodata and Error are not counted; a group with nothing measured scores 0
///   and is flagged `noData`;
/// * any critical result that is not `Pass` → summary 0;
/// * else `100 · Nodata / results ≥ 50` → summary 0;
/// * else `Σ effectiveScore · weight / 100` with `noData` groups counting 100,
///   groups missing from `group_weights` sharing `100 − Σ weights` equally, and
///   the sum rounded half-up to two decimals.
pub fn weighted_sum_score(
    results: &[ScorableResult],
    group_weights: &BTreeMap<String, f64>,
) -> ScoreResult {
    let mut groups: Vec<(String, LabelCounts)> = Vec::new();
    for result in results {
        for group in &result.groups {
            match groups.iter_mut().find(|(name, _)| name == group) {
                Some((_, counts)) => counts.add(result.classification),
                None => {
                    let mut counts = LabelCounts::default();
                    counts.add(result.classification);
                    groups.push((group.clone(), counts));
                }
            }
        }
    }

    let weight_sum: f64 = group_weights.values().sum();
    let unweighted = groups
        .iter()
        .filter(|(name, _)| !group_weights.contains_key(name))
        .count();
    let shared_weight = if unweighted > 0 {
        (100.0 - weight_sum) / unweighted as f64
    } else {
        0.0
    };

    let group_scores: Vec<GroupScore> = groups
        .into_iter()
        .map(|(name, counts)| {
            let measured = counts.measured();
            let no_data = measured == 0;
            let score = if no_data {
                0.0
            } else {
                counts.pass as f64 / measured as f64 * 100.0
            };
            let weight = Some(group_weights.get(&name).copied().unwrap_or(shared_weight));
            GroupScore {
                name,
                score,
                no_data,
                counts,
                measured,
                weight,
            }
        })
        .collect();

    let number_of_metrics = results.len();
    let critical_failure = results
        .iter()
        .find(|result| result.critical && result.classification != Classification::Pass);
    if let Some(failure) = critical_failure {
        let reason = failure.reason.clone().unwrap_or_else(|| {
            format!(
                "{} was classified as {}",
                failure.name, failure.classification
            )
        });
        return ScoreResult {
            group_scores,
            summary_score: 0.0,
            number_of_metrics,
            reason: Some(format!("Canary Failed: {reason}")),
        };
    }

    let nodata = results
        .iter()
        .filter(|result| result.classification == Classification::Nodata)
        .count();
    let nodata_percent = 100.0 * nodata as f64 / number_of_metrics as f64;
    if nodata_percent >= 50.0 {
        return ScoreResult {
            group_scores,
            summary_score: 0.0,
            number_of_metrics,
            reason: Some(format!(
                "Canary Failed: {nodata} of {number_of_metrics} metrics ({nodata_percent:.0}%) returned no data, the limit is under 50%"
            )),
        };
    }

    let summary: f64 = group_scores
        .iter()
        .map(|group| {
            let effective = if group.no_data { 100.0 } else { group.score };
            effective * (group.weight.unwrap_or(0.0) / 100.0)
        })
        .sum();
    ScoreResult {
        group_scores,
        summary_score: round_half_up(summary, 2),
        number_of_metrics,
        reason: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_half_up_on_decimal_text() {
        assert_eq!(round_half_up(33.333_333_333_333_336, 2), 33.33);
        assert_eq!(round_half_up(2.675, 2), 2.68); // binary 2.67499999… but text "2.675"
        assert_eq!(round_half_up(-2.675, 2), -2.68);
        assert_eq!(round_half_up(99.995, 2), 100.0);
        assert_eq!(round_half_up(0.001, 2), 0.0);
        assert_eq!(round_half_up(0.005, 2), 0.01);
        assert_eq!(round_half_up(1e-30, 2), 0.0);
        assert_eq!(round_half_up(12_345.0, 2), 12_345.0);
        assert!(round_half_up(f64::NAN, 2).is_nan());
    }

    #[test]
    fn empty_results_score_zero_without_panicking() {
        let score = weighted_sum_score(&[], &BTreeMap::new());
        assert_eq!(score.summary_score, 0.0);
        assert!(score.group_scores.is_empty());
    }
}
