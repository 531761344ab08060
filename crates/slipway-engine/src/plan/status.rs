//! What the engine persists about rollouts and releases: their `status` documents. Planners
//! read them (recovery plans from them) and the executor writes them.

use serde::{Deserialize, Serialize};
use slipway_domain::guardrail::Breach;

/// Where a rollout (or a release) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    Pending,
    Progressing,
    Promoted,
    RolledBack,
    Failed,
    /// Was promoted; the service has since been taken out of the environment by a release.
    Removed,
}

impl Phase {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Phase::Promoted | Phase::RolledBack | Phase::Failed | Phase::Removed
        )
    }
}

/// The message of a rollout stopped because the server restarted under it (a release deploys
/// such a rollout again when it resumes).
pub const INTERRUPTED: &str = "interrupted by a restart of the server";

/// One step of a rollout's (or a release's) history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepRecord {
    /// Milliseconds since the Unix epoch.
    pub at_ms: u64,
    pub what: String,
}

/// What the engine writes to a Rollout's `status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutStatus {
    pub phase: Phase,
    pub version: String,
    /// Current canary weight, percent.
    pub weight: u32,
    pub history: Vec<StepRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breach: Option<Breach>,
    /// When traffic was back on stable after a breach (ms since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_at_ms: Option<u64>,
    /// The canary metrics window that breached, and the canary's last output lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Every canary analysis: the judge's inputs, estimates, intervals, effect sizes,
    /// thresholds, verdict and explanation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub analyses: Vec<serde_json::Value>,
    /// Guardrail breaches shared by the baseline beside the canary: environmental.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environmental: Vec<serde_json::Value>,
}

impl RolloutStatus {
    /// A fresh status of `version` in `phase`, with an empty history.
    pub fn new(phase: Phase, version: &str) -> Self {
        RolloutStatus {
            phase,
            version: version.to_string(),
            weight: 0,
            history: Vec::new(),
            breach: None,
            stable_at_ms: None,
            evidence: None,
            message: None,
            analyses: Vec::new(),
            environmental: Vec::new(),
        }
    }

    /// Appends a line to the history.
    pub fn record(&mut self, at_ms: u64, what: impl Into<String>) {
        self.history.push(StepRecord {
            at_ms,
            what: what.into(),
        });
    }
}

/// What the engine writes to a Release's `status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseStatus {
    pub phase: Phase,
    /// The planned waves (services), the same in every stage.
    pub waves: Vec<Vec<String>>,
    /// Rollouts created, in order.
    pub rollouts: Vec<String>,
    pub history: Vec<StepRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl ReleaseStatus {
    /// Appends a line to the history.
    pub fn record(&mut self, at_ms: u64, what: impl Into<String>) {
        self.history.push(StepRecord {
            at_ms,
            what: what.into(),
        });
    }
}
