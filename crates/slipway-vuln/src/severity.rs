//! Severity levels and the CVSS scoring that derives them from an advisory's vectors.
//!
//! CVSS v3.0/v3.1 base scores are computed exactly with the specification's formula (including
//! v3.1's `Roundup`, which this module also applies to v3.0 vectors). CVSS v4.0 has no closed
//! formula (its base score comes from a table of macro-vectors), so [`cvss_v4_approximate_score`]
//! maps a v4 vector onto the v3.1 formula: documented as an approximation that can land one
//! severity band away from the official v4 score.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The qualitative severity scale of CVSS (and GitHub advisories), lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    None,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// The qualitative rating of a CVSS base score (0.0–10.0).
    pub fn from_score(score: f64) -> Severity {
        if score >= 9.0 {
            Severity::Critical
        } else if score >= 7.0 {
            Severity::High
        } else if score >= 4.0 {
            Severity::Medium
        } else if score > 0.0 {
            Severity::Low
        } else {
            Severity::None
        }
    }

    /// The lower-case name used in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::None => "none",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A severity name that is not on the scale.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity {0:?}: expected none, low, medium (or moderate), high or critical")]
pub struct UnknownSeverity(pub String);

impl FromStr for Severity {
    type Err = UnknownSeverity;

    /// Accepts the scale's names case-insensitively, and GitHub's `MODERATE` for medium.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "none" => Ok(Severity::None),
            "low" => Ok(Severity::Low),
            "medium" | "moderate" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            _ => Err(UnknownSeverity(text.to_owned())),
        }
    }
}

/// Why a CVSS vector could not be scored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CvssError {
    #[error("cvss vector {vector:?} does not start with {expected}")]
    Prefix {
        vector: String,
        expected: &'static str,
    },
    #[error("cvss vector {vector:?} has a malformed part {part:?} (expected METRIC:VALUE)")]
    Part { vector: String, part: String },
    #[error("cvss vector {vector:?} lacks the base metric {metric}")]
    Missing {
        vector: String,
        metric: &'static str,
    },
    #[error("cvss vector {vector:?} has an unknown value {value:?} for {metric}")]
    Value {
        vector: String,
        metric: &'static str,
        value: String,
    },
}

fn vector_metrics<'a>(
    vector: &'a str,
    prefixes: &[&'static str],
) -> Result<HashMap<&'a str, &'a str>, CvssError> {
    let rest = prefixes
        .iter()
        .find_map(|prefix| vector.strip_prefix(prefix))
        .ok_or_else(|| CvssError::Prefix {
            vector: vector.to_owned(),
            expected: prefixes.first().copied().unwrap_or("CVSS:"),
        })?;
    let mut metrics = HashMap::new();
    for part in rest.split('/').filter(|part| !part.is_empty()) {
        let (metric, value) = part.split_once(':').ok_or_else(|| CvssError::Part {
            vector: vector.to_owned(),
            part: part.to_owned(),
        })?;
        metrics.insert(metric, value);
    }
    Ok(metrics)
}

fn metric_weight(
    vector: &str,
    metrics: &HashMap<&str, &str>,
    metric: &'static str,
    weights: &[(&str, f64)],
) -> Result<f64, CvssError> {
    let value = metrics.get(metric).ok_or_else(|| CvssError::Missing {
        vector: vector.to_owned(),
        metric,
    })?;
    weights
        .iter()
        .find(|(name, _)| name == value)
        .map(|(_, weight)| *weight)
        .ok_or_else(|| CvssError::Value {
            vector: vector.to_owned(),
            metric,
            value: (*value).to_owned(),
        })
}

/// CVSS v3.1 `Roundup`: the smallest number with one decimal that is >= the input, computed on
/// integers so that floating-point noise (e.g. 4.000000001) does not bump a score.
fn round_up(value: f64) -> f64 {
    let scaled = (value * 100_000.0).round() as i64;
    if scaled % 10_000 == 0 {
        scaled as f64 / 100_000.0
    } else {
        ((scaled / 10_000) + 1) as f64 / 10.0
    }
}

/// The v3.1 base-score formula over already-weighted metrics.
struct BaseMetrics {
    attack_vector: f64,
    attack_complexity: f64,
    privileges_required_unchanged: f64,
    privileges_required_changed: f64,
    user_interaction: f64,
    scope_changed: bool,
    confidentiality: f64,
    integrity: f64,
    availability: f64,
}

fn v3_base_score(metrics: &BaseMetrics) -> f64 {
    let impact_sub_score = 1.0
        - (1.0 - metrics.confidentiality)
            * (1.0 - metrics.integrity)
            * (1.0 - metrics.availability);
    let impact = if metrics.scope_changed {
        7.52 * (impact_sub_score - 0.029) - 3.25 * (impact_sub_score - 0.02).powi(15)
    } else {
        6.42 * impact_sub_score
    };
    let privileges = if metrics.scope_changed {
        metrics.privileges_required_changed
    } else {
        metrics.privileges_required_unchanged
    };
    let exploitability = 8.22
        * metrics.attack_vector
        * metrics.attack_complexity
        * privileges
        * metrics.user_interaction;
    if impact <= 0.0 {
        0.0
    } else if metrics.scope_changed {
        round_up((1.08 * (impact + exploitability)).min(10.0))
    } else {
        round_up((impact + exploitability).min(10.0))
    }
}

const ATTACK_VECTOR: &[(&str, f64)] = &[("N", 0.85), ("A", 0.62), ("L", 0.55), ("P", 0.2)];
const ATTACK_COMPLEXITY: &[(&str, f64)] = &[("L", 0.77), ("H", 0.44)];
const PRIVILEGES_UNCHANGED: &[(&str, f64)] = &[("N", 0.85), ("L", 0.62), ("H", 0.27)];
const PRIVILEGES_CHANGED: &[(&str, f64)] = &[("N", 0.85), ("L", 0.68), ("H", 0.5)];
const USER_INTERACTION_V3: &[(&str, f64)] = &[("N", 0.85), ("R", 0.62)];
const SCOPE: &[(&str, f64)] = &[("U", 0.0), ("C", 1.0)];
const IMPACT: &[(&str, f64)] = &[("H", 0.56), ("L", 0.22), ("N", 0.0)];

/// The CVSS v3.0 / v3.1 base score of a vector such as
/// `CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H` (9.8). Temporal and environmental metrics in the
/// vector are ignored.
pub fn cvss_v3_base_score(vector: &str) -> Result<f64, CvssError> {
    let metrics = vector_metrics(vector, &["CVSS:3.1/", "CVSS:3.0/"])?;
    let weight = |metric, weights| metric_weight(vector, &metrics, metric, weights);
    Ok(v3_base_score(&BaseMetrics {
        attack_vector: weight("AV", ATTACK_VECTOR)?,
        attack_complexity: weight("AC", ATTACK_COMPLEXITY)?,
        privileges_required_unchanged: weight("PR", PRIVILEGES_UNCHANGED)?,
        privileges_required_changed: weight("PR", PRIVILEGES_CHANGED)?,
        user_interaction: weight("UI", USER_INTERACTION_V3)?,
        scope_changed: weight("S", SCOPE)? > 0.0,
        confidentiality: weight("C", IMPACT)?,
        integrity: weight("I", IMPACT)?,
        availability: weight("A", IMPACT)?,
    }))
}

const ATTACK_REQUIREMENTS: &[(&str, f64)] = &[("N", 1.0), ("P", 0.0)];
const USER_INTERACTION_V4: &[(&str, f64)] = &[("N", 0.85), ("P", 0.62), ("A", 0.62)];

/// An approximate base score for a CVSS v4.0 vector (`CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/...`).
///
/// Approximation, not the official v4 algorithm: the v4 exploitability metrics are mapped onto the
/// v3.1 ones (AV and PR as is, AC:H *or* AT:P → AC:H, UI:P/A → UI:R), the vulnerable system's
/// VC/VI/VA become C/I/A, and a high impact on a subsequent system (SC/SI/SA:H) counts as a scope
/// change whose impacts are the larger of the vulnerable and subsequent ones. Threat,
/// environmental and supplemental metrics are ignored. The result is within one severity band of
/// the official score for the common vectors, but can differ in the band.
pub fn cvss_v4_approximate_score(vector: &str) -> Result<f64, CvssError> {
    let metrics = vector_metrics(vector, &["CVSS:4.0/"])?;
    let weight = |metric, weights| metric_weight(vector, &metrics, metric, weights);
    let complexity = weight("AC", ATTACK_COMPLEXITY)?;
    let requirements_present = weight("AT", ATTACK_REQUIREMENTS)? == 0.0;
    let attack_complexity = if requirements_present {
        0.44
    } else {
        complexity
    };
    let subsequent = [
        weight("SC", IMPACT)?,
        weight("SI", IMPACT)?,
        weight("SA", IMPACT)?,
    ];
    let vulnerable = [
        weight("VC", IMPACT)?,
        weight("VI", IMPACT)?,
        weight("VA", IMPACT)?,
    ];
    let scope_changed = subsequent.iter().any(|impact| *impact >= 0.56);
    let impact = |index: usize| {
        if scope_changed {
            vulnerable[index].max(subsequent[index])
        } else {
            vulnerable[index]
        }
    };
    Ok(v3_base_score(&BaseMetrics {
        attack_vector: weight("AV", ATTACK_VECTOR)?,
        attack_complexity,
        privileges_required_unchanged: weight("PR", PRIVILEGES_UNCHANGED)?,
        privileges_required_changed: weight("PR", PRIVILEGES_CHANGED)?,
        user_interaction: weight("UI", USER_INTERACTION_V4)?,
        scope_changed,
        confidentiality: impact(0),
        integrity: impact(1),
        availability: impact(2),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_v3(vector: &str, expected: f64) {
        let score = cvss_v3_base_score(vector).unwrap();
        assert!(
            (score - expected).abs() < 1e-9,
            "{vector}: got {score}, expected {expected}"
        );
    }

    #[test]
    fn v3_scores_match_published_scores() {
        // Published NVD / FIRST calculator base scores.
        check_v3("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8);
        check_v3("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0); // Log4Shell
        check_v3("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5); // Heartbleed
        check_v3("CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.1);
        check_v3("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8);
        check_v3("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1); // reflected XSS
        check_v3("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N", 5.3);
        check_v3("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4);
        check_v3("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0);
        // Temporal metrics do not change the base score.
        check_v3("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O", 9.8);
    }

    #[test]
    fn round_up_ignores_floating_point_noise() {
        assert_eq!(round_up(4.000_000_01), 4.0);
        assert_eq!(round_up(4.02), 4.1);
        assert_eq!(round_up(4.0), 4.0);
    }

    #[test]
    fn v3_malformed_vectors_are_errors() {
        for (vector, expected) in [
            ("AV:N/AC:L", "does not start with CVSS:3.1/"),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",
                "lacks the base metric A",
            ),
            (
                "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                "unknown value \"X\" for AV",
            ),
            ("CVSS:3.1/AVN", "malformed part \"AVN\""),
        ] {
            let message = cvss_v3_base_score(vector).unwrap_err().to_string();
            assert!(message.contains(expected), "{vector}: {message}");
        }
    }

    #[test]
    fn v4_approximation_lands_in_the_official_band() {
        // (vector, official v4.0 base score's band)
        for (vector, band) in [
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                Severity::Critical, // 9.3
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N",
                Severity::High, // 8.7
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N",
                Severity::None, // 0.0
            ),
        ] {
            let score = cvss_v4_approximate_score(vector).unwrap();
            assert_eq!(Severity::from_score(score), band, "{vector}: {score}");
        }
        assert!(cvss_v4_approximate_score("CVSS:3.1/AV:N").is_err());
    }

    #[test]
    fn severity_names_and_bands() {
        for (text, expected) in [
            ("HIGH", Severity::High),
            ("moderate", Severity::Medium),
            ("Critical", Severity::Critical),
            ("low", Severity::Low),
            ("none", Severity::None),
        ] {
            assert_eq!(text.parse::<Severity>().unwrap(), expected);
        }
        assert!("severe".parse::<Severity>().is_err());
        for (score, expected) in [
            (0.0, Severity::None),
            (0.1, Severity::Low),
            (3.9, Severity::Low),
            (4.0, Severity::Medium),
            (6.9, Severity::Medium),
            (7.0, Severity::High),
            (8.9, Severity::High),
            (9.0, Severity::Critical),
            (10.0, Severity::Critical),
        ] {
            assert_eq!(Severity::from_score(score), expected, "{score}");
        }
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::None);
    }
}
