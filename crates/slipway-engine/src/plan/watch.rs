//! The held step every strategy shares: a canary step's pause, blue-green's rollback window,
//! a rolling batch's pause. Each tick it answers the operator (abort, promote, pause, resume),
//! looks for a guardrail breach, and ends the step when its time is up (pauses stretch it).

use super::{Action, Control, Edit, Group, Observed, Phase, Tripped, record};
use slipway_domain::guardrail::Breach;

/// How long a held step lasts, and since when it is paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hold {
    /// Milliseconds since the epoch when the step is held long enough.
    pub until_ms: u64,
    pub paused_since_ms: Option<u64>,
}

/// How a tick of a held step ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Keep watching.
    Watching,
    /// Held for its whole time.
    Held,
    /// An operator asked to promote now.
    PromoteNow,
    /// An operator aborted (or deleted) the rollout.
    Aborted,
    Breached(Tripped),
    /// Shutdown or lost lease: leave the rollout where it is.
    Leave,
}

/// A tick's result: the step's hold, what to record about pauses, and the outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Watched {
    pub hold: Hold,
    pub notes: Vec<Action>,
    pub outcome: Outcome,
}

/// One tick of a step held for `hold_ms`; `hold` is `None` on the step's first tick.
pub fn watch(hold: Option<Hold>, hold_ms: u64, observed: &Observed) -> Watched {
    let now = observed.now_ms;
    let mut hold = hold.unwrap_or(Hold {
        until_ms: now.saturating_add(hold_ms),
        paused_since_ms: None,
    });
    let mut notes = Vec::new();
    let control = if observed.deleted {
        // Deleting a running rollout aborts it.
        Some(Control::Abort)
    } else {
        observed.control
    };
    let decided = |hold, notes, outcome| Watched {
        hold,
        notes,
        outcome,
    };
    match (control, hold.paused_since_ms) {
        (Some(Control::Abort), _) => return decided(hold, notes, Outcome::Aborted),
        (Some(Control::Promote), _) => return decided(hold, notes, Outcome::PromoteNow),
        (Some(Control::Pause), None) => {
            hold.paused_since_ms = Some(now);
            notes.extend([record("paused by an operator"), Action::Save]);
        }
        (Some(Control::Resume) | None, Some(since)) => {
            hold.until_ms = hold.until_ms.saturating_add(now.saturating_sub(since));
            hold.paused_since_ms = None;
            notes.extend([record("resumed by an operator"), Action::Save]);
        }
        _ => {}
    }
    let outcome = if let Some(tripped) = &observed.tripped {
        Outcome::Breached(tripped.clone())
    } else if observed.leaving() {
        Outcome::Leave
    } else if hold.paused_since_ms.is_none() && now >= hold.until_ms {
        Outcome::Held
    } else {
        Outcome::Watching
    };
    decided(hold, notes, outcome)
}

/// The "breach" recorded when an operator aborts a rollout.
pub fn operator_abort(now_ms: u64) -> Breach {
    Breach {
        rule: "aborted by an operator".into(),
        value: 0.0,
        shown: "slipway rollout abort".into(),
        holding_since_ms: now_ms,
        at_ms: now_ms,
    }
}

/// What ends a step early: the breach and its evidence, when the outcome is one.
pub fn stopping(outcome: &Outcome, now_ms: u64) -> Option<(Breach, serde_json::Value)> {
    match outcome {
        Outcome::Aborted => Some((operator_abort(now_ms), serde_json::Value::Null)),
        Outcome::Breached(t) => Some((t.breach.clone(), t.window.clone())),
        _ => None,
    }
}

/// The end every rollback shares, once traffic is back on stable: the new version's last
/// output kept as evidence (under `output`, with the `window` that breached), the new version
/// stopped, and the status rolled back with the breach, saved.
pub fn take_new_away(
    breach: Breach,
    window: serde_json::Value,
    output: Option<&'static str>,
) -> Vec<Action> {
    let mut actions = Vec::new();
    if let Some(output) = output {
        actions.push(Action::Status(Edit::Evidence {
            window,
            output,
            group: Group::Canary,
        }));
    }
    actions.extend([
        Action::Stop(Group::Canary),
        Action::Status(Edit::Phase(Phase::RolledBack)),
        Action::Status(Edit::Weight(0)),
        Action::Status(Edit::Breach(breach)),
        Action::Save,
    ]);
    actions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::{at, tripped};

    struct Row {
        name: &'static str,
        hold: Option<Hold>,
        observed: Observed,
        expect_hold: Hold,
        expect_notes: Vec<Action>,
        expect: Outcome,
    }

    fn check(row: Row) {
        let got = watch(row.hold, 10_000, &row.observed);
        assert_eq!(got.hold, row.expect_hold, "{}: hold", row.name);
        assert_eq!(got.notes, row.expect_notes, "{}: notes", row.name);
        assert_eq!(got.outcome, row.expect, "{}: outcome", row.name);
    }

    fn held(until_ms: u64, paused_since_ms: Option<u64>) -> Hold {
        Hold {
            until_ms,
            paused_since_ms,
        }
    }

    #[test]
    fn a_held_step_keeps_time_through_pauses() {
        let rows = vec![
            Row {
                name: "the first tick starts the clock",
                hold: None,
                observed: at(1_000),
                expect_hold: held(11_000, None),
                expect_notes: vec![],
                expect: Outcome::Watching,
            },
            Row {
                name: "time is up",
                hold: Some(held(11_000, None)),
                observed: at(11_000),
                expect_hold: held(11_000, None),
                expect_notes: vec![],
                expect: Outcome::Held,
            },
            Row {
                name: "a pause is recorded once and stops the clock",
                hold: Some(held(11_000, None)),
                observed: Observed {
                    control: Some(Control::Pause),
                    ..at(5_000)
                },
                expect_hold: held(11_000, Some(5_000)),
                expect_notes: vec![record("paused by an operator"), Action::Save],
                expect: Outcome::Watching,
            },
            Row {
                name: "paused past the end: still holding",
                hold: Some(held(11_000, Some(5_000))),
                observed: Observed {
                    control: Some(Control::Pause),
                    ..at(20_000)
                },
                expect_hold: held(11_000, Some(5_000)),
                expect_notes: vec![],
                expect: Outcome::Watching,
            },
            Row {
                name: "resuming moves the end by the time paused",
                hold: Some(held(11_000, Some(5_000))),
                observed: Observed {
                    control: Some(Control::Resume),
                    ..at(20_000)
                },
                expect_hold: held(26_000, None),
                expect_notes: vec![record("resumed by an operator"), Action::Save],
                expect: Outcome::Watching,
            },
            Row {
                name: "a cleared annotation resumes too",
                hold: Some(held(11_000, Some(5_000))),
                observed: at(6_000),
                expect_hold: held(12_000, None),
                expect_notes: vec![record("resumed by an operator"), Action::Save],
                expect: Outcome::Watching,
            },
        ];
        for row in rows {
            check(row);
        }
    }

    #[test]
    fn a_held_step_ends_on_abort_promote_breach_and_shutdown() {
        let rows = vec![
            Row {
                name: "abort wins over everything",
                hold: Some(held(11_000, None)),
                observed: Observed {
                    control: Some(Control::Abort),
                    tripped: Some(tripped(false)),
                    ..at(11_000)
                },
                expect_hold: held(11_000, None),
                expect_notes: vec![],
                expect: Outcome::Aborted,
            },
            Row {
                name: "a deleted rollout is aborted",
                hold: Some(held(11_000, None)),
                observed: Observed {
                    deleted: true,
                    ..at(2_000)
                },
                expect_hold: held(11_000, None),
                expect_notes: vec![],
                expect: Outcome::Aborted,
            },
            Row {
                name: "promote ends the step at once",
                hold: Some(held(11_000, Some(3_000))),
                observed: Observed {
                    control: Some(Control::Promote),
                    ..at(4_000)
                },
                expect_hold: held(11_000, Some(3_000)),
                expect_notes: vec![],
                expect: Outcome::PromoteNow,
            },
            Row {
                name: "a breach while paused still counts",
                hold: Some(held(11_000, Some(3_000))),
                observed: Observed {
                    control: Some(Control::Pause),
                    tripped: Some(tripped(false)),
                    ..at(4_000)
                },
                expect_hold: held(11_000, Some(3_000)),
                expect_notes: vec![],
                expect: Outcome::Breached(tripped(false)),
            },
            Row {
                name: "a breach is reported before shutdown",
                hold: Some(held(11_000, None)),
                observed: Observed {
                    shutdown: true,
                    tripped: Some(tripped(false)),
                    ..at(4_000)
                },
                expect_hold: held(11_000, None),
                expect_notes: vec![],
                expect: Outcome::Breached(tripped(false)),
            },
            Row {
                name: "shutdown leaves the step",
                hold: Some(held(11_000, None)),
                observed: Observed {
                    shutdown: true,
                    ..at(4_000)
                },
                expect_hold: held(11_000, None),
                expect_notes: vec![],
                expect: Outcome::Leave,
            },
            Row {
                name: "a lost lease leaves the step",
                hold: Some(held(11_000, None)),
                observed: Observed {
                    lease_lost: true,
                    ..at(12_000)
                },
                expect_hold: held(11_000, None),
                expect_notes: vec![],
                expect: Outcome::Leave,
            },
        ];
        for row in rows {
            check(row);
        }
    }
}
