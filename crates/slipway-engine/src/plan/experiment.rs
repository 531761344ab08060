//! The baseline beside a canary (Kayenta's recommendation): fresh instances of the stable
//! version start beside the canary behind a second routed service (`SERVICE.ENV.experiment`)
//! that splits the canary's share of traffic evenly between them, so the main router only
//! ever knows two versions and the guardrails and analysis compare baseline and canary under
//! the same traffic. A breach both share is environmental: recorded, and by the rollout's
//! `onEnvironmental` policy either carried on through or rolled back.

use super::{Action, Build, Edit, Group, Tripped, record};
use serde_json::json;

/// Starts the baseline: as many instances of the old version as the canary has, with
/// indexes apart from the stable ones.
pub fn start_baseline(count: u32) -> Action {
    Action::Start {
        group: Group::Baseline,
        build: Build::Old,
        first: BASELINE_INDEX,
        count,
    }
}

/// Baseline instances get indexes from here, apart from the stable ones.
pub const BASELINE_INDEX: u32 = 100;

/// The baseline is healthy: the experiment router splits the canary's share between it and
/// the canary, and the main router's canary set points at the experiment.
pub fn open(count: u32, stable_version: &str) -> Vec<Action> {
    vec![
        Action::OpenExperiment,
        record(format!(
            "{count} baseline instance(s) of {stable_version} beside the canary, same traffic"
        )),
        Action::Route {
            stable: vec![Group::Stable],
            canary: vec![Group::Experiment],
        },
    ]
}

/// The experiment ends: its router goes, the baseline stops.
pub fn close() -> Vec<Action> {
    vec![Action::CloseExperiment, Action::Stop(Group::Baseline)]
}

/// Whether a breach is environmental: the baseline beside the canary breaks the same rule.
pub fn is_environmental(experiment: bool, tripped: &Tripped) -> bool {
    experiment && tripped.stable_too
}

/// Records an environmental breach (the release is not at fault).
pub fn record_environmental(tripped: &Tripped) -> Vec<Action> {
    vec![
        record(format!(
            "environmental: {} = {} on the baseline and the canary alike; the release is not at fault",
            tripped.breach.rule, tripped.breach.shown
        )),
        Action::Status(Edit::Environmental(
            json!({"breach": tripped.breach, "window": tripped.window}),
        )),
        Action::Save,
    ]
}
