//! Risk: an explainable score built from rules, and the choice of a change model from it.
//!
//! Six factors each contribute whole points, and the score is their sum, so every point can be
//! traced to a rule:
//!
//! | factor | rule (default weights) |
//! | --- | --- |
//! | `environment` | the target environment's tier: production 30, staging 10, test 3, development 0 |
//! | `blastRadius` | 4 per impacted service, at most 20 |
//! | `versionChange` | the largest semver step among the artifacts: major 20 (a minor step of a 0.x version counts as major), minor 8, patch 2 (also a pre-release change), none 0, first deployment 10, downgrade 10, not semver 12 |
//! | `failureRate` | the service's recent change failure rate × 40, rounded |
//! | `windowEnd` | up to 15 as the change gets within 60 minutes of its window's end, linearly; 15 at or past the end |
//! | `emergency` | 15 for an emergency change |
//!
//! Levels: low below 20, moderate from 20, high from 40, very high from 60. Weights and
//! thresholds are configurable ([`RiskPolicySpec`]); a policy can also name the change model for
//! each level.

use crate::request::ChangeType;
use serde::{Deserialize, Serialize};
use slipway_spec::Diagnostic;
use slipway_spec::{EnvironmentTier, SpecRules};
use std::collections::BTreeMap;

/// Low, moderate, high or very high.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    Low,
    Moderate,
    High,
    VeryHigh,
}

impl RiskLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Low => "low",
            RiskLevel::Moderate => "moderate",
            RiskLevel::High => "high",
            RiskLevel::VeryHigh => "very_high",
        }
    }
}

/// One factor's part of the score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RiskFactor {
    pub name: String,
    /// The input the rule looked at, as text.
    pub value: String,
    /// Points added to the score.
    pub contribution: u32,
    pub reason: String,
}

/// The score, its level, and the factors that add up to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RiskAssessment {
    /// The sum of the factors' contributions.
    pub score: u64,
    pub level: RiskLevel,
    pub factors: Vec<RiskFactor>,
}

/// One artifact's version step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionChange {
    pub service: String,
    /// The running version; `None` for a first deployment.
    pub current: Option<String>,
    pub new: String,
}

/// What the risk rules look at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RiskInput {
    pub environment_tier: EnvironmentTier,
    /// How many services depend, directly or not, on what changes.
    pub impacted_services: usize,
    pub versions: Vec<VersionChange>,
    /// Recent change failure rate of the service, 0 to 1; `None` when unknown.
    pub change_failure_rate: Option<f64>,
    /// Minutes from the change's start to the end of its window; `None` without a window.
    pub minutes_to_window_end: Option<i64>,
    pub change_type: ChangeType,
}

/// Points per environment tier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct EnvironmentPoints {
    pub production: u32,
    pub staging: u32,
    pub test: u32,
    pub development: u32,
}

impl Default for EnvironmentPoints {
    fn default() -> Self {
        EnvironmentPoints {
            production: 30,
            staging: 10,
            test: 3,
            development: 0,
        }
    }
}

/// Points per version step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct VersionPoints {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
    pub unchanged: u32,
    pub initial: u32,
    pub downgrade: u32,
    pub unclassified: u32,
}

impl Default for VersionPoints {
    fn default() -> Self {
        VersionPoints {
            major: 20,
            minor: 8,
            patch: 2,
            unchanged: 0,
            initial: 10,
            downgrade: 10,
            unclassified: 12,
        }
    }
}

/// The weights of the rules; every field has the documented default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct RiskWeights {
    pub environment: EnvironmentPoints,
    pub per_impacted_service: u32,
    pub max_blast_radius: u32,
    pub version: VersionPoints,
    /// Points for a failure rate of 100 %.
    pub failure_rate: u32,
    /// Points at (or past) the window's end.
    pub window_end: u32,
    /// How close to the window's end, in minutes, points start to add up.
    pub window_end_minutes: u32,
    pub emergency: u32,
}

impl Default for RiskWeights {
    fn default() -> Self {
        RiskWeights {
            environment: EnvironmentPoints::default(),
            per_impacted_service: 4,
            max_blast_radius: 20,
            version: VersionPoints::default(),
            failure_rate: 40,
            window_end: 15,
            window_end_minutes: 60,
            emergency: 15,
        }
    }
}

/// The lowest score of each level above low.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct LevelThresholds {
    pub moderate: u32,
    pub high: u32,
    pub very_high: u32,
}

impl Default for LevelThresholds {
    fn default() -> Self {
        LevelThresholds {
            moderate: 20,
            high: 40,
            very_high: 60,
        }
    }
}

impl LevelThresholds {
    pub fn level(&self, score: u64) -> RiskLevel {
        if score >= u64::from(self.very_high) {
            RiskLevel::VeryHigh
        } else if score >= u64::from(self.high) {
            RiskLevel::High
        } else if score >= u64::from(self.moderate) {
            RiskLevel::Moderate
        } else {
            RiskLevel::Low
        }
    }
}

/// Weights, thresholds and the model chosen per level (kind `RiskPolicy`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RiskPolicySpec {
    #[serde(default)]
    pub weights: RiskWeights,
    #[serde(default)]
    pub thresholds: LevelThresholds,
    /// The ChangeModel to use for a change of each risk level.
    #[serde(default)]
    pub model_for_level: BTreeMap<RiskLevel, String>,
}

impl RiskPolicySpec {
    /// Semantic checks; paths start at `spec`.
    pub fn validate(&self) -> Vec<Diagnostic> {
        let t = &self.thresholds;
        let mut d = Vec::new();
        if !(0 < t.moderate && t.moderate < t.high && t.high < t.very_high) {
            d.push(Diagnostic::new(
                "spec.thresholds",
                format!(
                    "must rise: 0 < moderate ({}) < high ({}) < veryHigh ({})",
                    t.moderate, t.high, t.very_high
                ),
            ));
        }
        if self.weights.window_end_minutes == 0 && self.weights.window_end > 0 {
            d.push(Diagnostic::new(
                "spec.weights.windowEndMinutes",
                "must be more than 0 when windowEnd gives points",
            ));
        }
        for (level, model) in &self.model_for_level {
            if model.trim().is_empty() {
                d.push(Diagnostic::new(
                    format!("spec.modelForLevel.{}", level.as_str()),
                    "must name a ChangeModel",
                ));
            }
        }
        d
    }

    /// The model the policy names for `level`.
    pub fn model_for(&self, level: RiskLevel) -> Option<&str> {
        self.model_for_level.get(&level).map(String::as_str)
    }
}

impl SpecRules for RiskPolicySpec {
    fn rules(&self) -> Vec<Diagnostic> {
        self.validate()
    }
}

/// How a version moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum VersionStep {
    Major,
    Minor,
    Patch,
    Unchanged,
    Initial,
    Downgrade,
    Unclassified,
}

/// Classifies a version step by semver (a leading `v` is ignored). Going from 0.x to 0.y counts
/// as major, since semver promises nothing below 1.0; a change of pre-release only is a patch;
/// build metadata is ignored.
pub fn classify_version(current: Option<&str>, new: &str) -> VersionStep {
    let parse = |v: &str| semver::Version::parse(v.trim().trim_start_matches('v')).ok();
    let Some(new) = parse(new) else {
        return VersionStep::Unclassified;
    };
    let Some(current) = current else {
        return VersionStep::Initial;
    };
    let Some(current) = parse(current) else {
        return VersionStep::Unclassified;
    };
    if new.cmp_precedence(&current).is_lt() {
        return VersionStep::Downgrade;
    }
    if new.major != current.major || (new.major == 0 && new.minor != current.minor) {
        VersionStep::Major
    } else if new.minor != current.minor {
        VersionStep::Minor
    } else if new.patch != current.patch || new.pre != current.pre {
        VersionStep::Patch
    } else {
        VersionStep::Unchanged
    }
}

impl VersionPoints {
    fn points(&self, step: VersionStep) -> u32 {
        match step {
            VersionStep::Major => self.major,
            VersionStep::Minor => self.minor,
            VersionStep::Patch => self.patch,
            VersionStep::Unchanged => self.unchanged,
            VersionStep::Initial => self.initial,
            VersionStep::Downgrade => self.downgrade,
            VersionStep::Unclassified => self.unclassified,
        }
    }
}

/// Scores `input` under `policy`. The factors always come in the same order, each listed even
/// when it adds nothing, and they sum to the score.
pub fn assess_risk(input: &RiskInput, policy: &RiskPolicySpec) -> RiskAssessment {
    let w = &policy.weights;
    let mut factors = Vec::new();

    let (tier_name, env_points) = match input.environment_tier {
        EnvironmentTier::Production => ("production", w.environment.production),
        EnvironmentTier::Staging => ("staging", w.environment.staging),
        EnvironmentTier::Test => ("test", w.environment.test),
        EnvironmentTier::Development => ("development", w.environment.development),
    };
    factors.push(RiskFactor {
        name: "environment".into(),
        value: tier_name.into(),
        contribution: env_points,
        reason: format!("a {tier_name} environment adds {env_points}"),
    });

    let impacted = u32::try_from(input.impacted_services).unwrap_or(u32::MAX);
    let blast = impacted
        .saturating_mul(w.per_impacted_service)
        .min(w.max_blast_radius);
    factors.push(RiskFactor {
        name: "blastRadius".into(),
        value: impacted.to_string(),
        contribution: blast,
        reason: format!(
            "{impacted} impacted service(s) × {} each, at most {}",
            w.per_impacted_service, w.max_blast_radius
        ),
    });

    let steps: Vec<(String, VersionStep, u32)> = input
        .versions
        .iter()
        .map(|v| {
            let step = classify_version(v.current.as_deref(), &v.new);
            let text = format!(
                "{} {} → {}",
                v.service,
                v.current.as_deref().unwrap_or("(none)"),
                v.new
            );
            (text, step, w.version.points(step))
        })
        .collect();
    let worst = steps.iter().max_by_key(|(_, _, p)| *p);
    factors.push(match worst {
        None => RiskFactor {
            name: "versionChange".into(),
            value: "none".into(),
            contribution: 0,
            reason: "no artifact versions change".into(),
        },
        Some((text, step, points)) => RiskFactor {
            name: "versionChange".into(),
            value: format!("{step:?}").to_lowercase(),
            contribution: *points,
            reason: format!(
                "the largest version step is {} ({text}); {}",
                format!("{step:?}").to_lowercase(),
                steps
                    .iter()
                    .map(|(t, s, _)| format!("{t}: {}", format!("{s:?}").to_lowercase()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    });

    factors.push(match input.change_failure_rate {
        Some(rate) if rate.is_finite() => {
            let rate = rate.clamp(0.0, 1.0);
            // Clamped to [0, 1] times a u32 weight: the rounded product fits a u32.
            let points = (rate * f64::from(w.failure_rate)).round() as u32;
            RiskFactor {
                name: "failureRate".into(),
                value: format!("{:.1}%", rate * 100.0),
                contribution: points,
                reason: format!(
                    "a recent change failure rate of {:.1}% × {} points",
                    rate * 100.0,
                    w.failure_rate
                ),
            }
        }
        Some(_) => RiskFactor {
            name: "failureRate".into(),
            value: "invalid".into(),
            contribution: 0,
            reason: "the failure rate given is not a number; it adds nothing".into(),
        },
        None => RiskFactor {
            name: "failureRate".into(),
            value: "unknown".into(),
            contribution: 0,
            reason: "no recent failure rate is known".into(),
        },
    });

    factors.push(match input.minutes_to_window_end {
        None => RiskFactor {
            name: "windowEnd".into(),
            value: "none".into(),
            contribution: 0,
            reason: "the change has no window end".into(),
        },
        Some(m) if m <= 0 => RiskFactor {
            name: "windowEnd".into(),
            value: format!("{m} min"),
            contribution: w.window_end,
            reason: "the window has ended or ends now".into(),
        },
        Some(m) if m >= i64::from(w.window_end_minutes) => RiskFactor {
            name: "windowEnd".into(),
            value: format!("{m} min"),
            contribution: 0,
            reason: format!(
                "{m} minutes to the window's end, not within {}",
                w.window_end_minutes
            ),
        },
        Some(m) => {
            let limit = u64::from(w.window_end_minutes);
            let short = limit - m.unsigned_abs();
            let points = (u64::from(w.window_end) * short).div_ceil(limit);
            RiskFactor {
                name: "windowEnd".into(),
                value: format!("{m} min"),
                contribution: u32::try_from(points).unwrap_or(w.window_end),
                reason: format!(
                    "{m} minutes to the window's end, within {}: {} × {short}/{limit}, rounded up",
                    w.window_end_minutes, w.window_end
                ),
            }
        }
    });

    let emergency = input.change_type == ChangeType::Emergency;
    factors.push(RiskFactor {
        name: "emergency".into(),
        value: input.change_type.as_str().into(),
        contribution: if emergency { w.emergency } else { 0 },
        reason: if emergency {
            "an emergency change skips the usual assessment".into()
        } else {
            format!("a {} change", input.change_type.as_str())
        },
    });

    let score = factors.iter().map(|f| u64::from(f.contribution)).sum();
    RiskAssessment {
        score,
        level: policy.thresholds.level(score),
        factors,
    }
}
