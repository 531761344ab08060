//! Recovery after a restart, planned from persisted status alone: a rollout that was in flight
//! is rolled back (its canary is gone with the old process; no step of it runs again), the
//! last promoted version of every service in every environment runs again, a release that was
//! in progress resumes, and a resuming release decides per service from its rollout's status.

use super::status::{INTERRUPTED, Phase, ReleaseStatus, RolloutStatus};
use std::collections::BTreeMap;

/// What recovery does with a rollout it finds.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    /// Nothing: it ended, or never started (it will be driven as usual).
    Keep,
    /// It was in flight: this is its status now, rolled back.
    RolledBack(Box<RolloutStatus>),
    /// It put what runs in place; restored if it is the latest for its service.
    Promoted { at_ms: u64 },
}

/// Recovery's plan for a rollout with persisted `status`.
pub fn rollout(status: &RolloutStatus, now_ms: u64) -> Found {
    match status.phase {
        Phase::Progressing => {
            let mut status = status.clone();
            status.phase = Phase::RolledBack;
            status.weight = 0;
            status.message = Some(INTERRUPTED.into());
            status.record(
                now_ms,
                format!(
                    "{INTERRUPTED}: the canary was abandoned and the last promoted version restored"
                ),
            );
            Found::RolledBack(Box::new(status))
        }
        Phase::Promoted => Found::Promoted {
            at_ms: status.history.last().map(|h| h.at_ms).unwrap_or(0),
        },
        _ => Found::Keep,
    }
}

/// Of promoted rollouts `(service key, rollout name, promoted at)`, the latest per key: what
/// to run again. On a tie the first found wins.
pub fn to_restore(
    promoted: impl IntoIterator<Item = (String, String, u64)>,
) -> BTreeMap<String, String> {
    let mut latest: BTreeMap<String, (u64, String)> = BTreeMap::new();
    for (key, name, at) in promoted {
        if latest.get(&key).is_none_or(|(t, _)| *t < at) {
            latest.insert(key, (at, name));
        }
    }
    latest.into_iter().map(|(k, (_, name))| (k, name)).collect()
}

/// A release that was in progress resumes: this is its status now.
pub fn release(status: &ReleaseStatus, now_ms: u64) -> Option<ReleaseStatus> {
    (status.phase == Phase::Progressing).then(|| {
        let mut status = status.clone();
        status.record(now_ms, format!("{INTERRUPTED}: resuming"));
        status
    })
}

/// What a resuming release does with one of its services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resumed {
    /// Promoted before the restart: done, nothing runs again.
    Promoted,
    /// Interrupted or never started: deploy it (again).
    Deploy,
    /// Ended otherwise before the restart: the release stops as it would have.
    Ended(Phase),
}

/// What a resuming release finds of a service's rollout: its status (if it has one) and the
/// version its artifact builds (if the artifact is still there).
pub fn resumed(status: Option<&RolloutStatus>, version: Option<&str>) -> Resumed {
    match status {
        None => Resumed::Deploy,
        Some(s) if s.phase == Phase::Promoted && Some(s.version.as_str()) == version => {
            Resumed::Promoted
        }
        // Interrupted by the restart (recovery rolled it back), or never got going.
        Some(s) if s.message.as_deref() == Some(INTERRUPTED) => Resumed::Deploy,
        Some(s) if !s.phase.is_terminal() => Resumed::Deploy,
        Some(s) => Resumed::Ended(s.phase),
    }
}
