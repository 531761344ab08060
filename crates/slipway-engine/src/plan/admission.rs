//! Admission: every rollout asks the gate first, waits while it says wait (the reasons in a
//! `Pending` status), fails when it denies, and when it allows, records `started`, opens the
//! service's listener and hands over to its strategy, picked by what runs already: with
//! nothing to compare with (a first deployment) every strategy deploys directly.

use super::{Action, Desired, Edit, Next, Observed, Phase, Plan, Stage, record};
use super::{blue_green, canary, direct, rolling};
use slipway_domain::kinds::Strategy;
use slipway_gate::GateVerdict;

/// Plans a rollout at the gate.
pub fn plan(desired: &Desired<'_>, last_wait: Option<&Vec<String>>, observed: &Observed) -> Plan {
    let here = || Stage::Gate {
        last_wait: last_wait.cloned(),
    };
    match &observed.gate {
        // Shut down while waiting (the restarted server asks again), or deleted meanwhile.
        None if observed.leaving() || observed.deleted => Plan::leave(here()),
        None => Plan {
            actions: vec![Action::AskGate],
            stage: here(),
            next: Next::Now,
        },
        Some(GateVerdict::Deny { reasons }) => Plan::fail(
            Vec::new(),
            format!("refused at the gate: {}", reasons.join("; ")),
        ),
        Some(GateVerdict::Wait { reasons }) => {
            let mut actions = Vec::new();
            if last_wait != Some(reasons) {
                let why = format!("waiting at the gate: {}", reasons.join("; "));
                actions = vec![
                    Action::Status(Edit::Reset(Phase::Pending)),
                    record(why.clone()),
                    Action::Status(Edit::Message(why)),
                    Action::Save,
                ];
            }
            Plan {
                actions,
                stage: Stage::Gate {
                    last_wait: Some(reasons.clone()),
                },
                next: Next::RetryGate,
            }
        }
        Some(GateVerdict::Allow { .. }) => admit(desired, observed),
    }
}

/// Allowed: `started` is queued (durable before anything is routed), the listener opens, and
/// the strategy begins.
fn admit(desired: &Desired<'_>, observed: &Observed) -> Plan {
    let spec = desired.spec;
    let mut actions = vec![
        Action::Status(Edit::Reset(Phase::Progressing)),
        record(format!(
            "started: {} {} to {}",
            spec.service, desired.version, spec.environment
        )),
        Action::SaveQueued,
        Action::OpenListener,
    ];
    let begun = match (&spec.strategy, &observed.stable) {
        (Strategy::Rolling { .. }, Some(stable)) => rolling::begin(desired, stable),
        (Strategy::BlueGreen { .. }, Some(_)) => blue_green::begin(desired),
        (Strategy::Canary { steps, .. }, Some(_)) if !steps.is_empty() => canary::begin(desired),
        // Nothing to compare with (first deployment) or a direct strategy: swap at once.
        _ => direct::begin(desired),
    };
    actions.extend(begun.actions);
    Plan { actions, ..begun }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::{at, spec, stable};
    use crate::plan::{Build, Group};

    struct Row {
        name: &'static str,
        strategy: serde_json::Value,
        last_wait: Option<Vec<String>>,
        observed: Observed,
        expect: Plan,
    }

    fn check(row: Row) {
        let spec = spec(row.strategy);
        let desired = Desired {
            spec: &spec,
            version: "2.0.0",
        };
        let got = plan(&desired, row.last_wait.as_ref(), &row.observed);
        assert_eq!(got, row.expect, "{}", row.name);
    }

    fn verdict(v: GateVerdict) -> Observed {
        Observed {
            gate: Some(v),
            ..at(1_000)
        }
    }

    fn wait(reasons: &[&str]) -> GateVerdict {
        GateVerdict::Wait {
            reasons: reasons.iter().map(|r| r.to_string()).collect(),
        }
    }

    fn allowed(stable_seen: bool) -> Observed {
        Observed {
            stable: stable_seen.then(stable),
            ..verdict(GateVerdict::Allow {
                summary: "ok".into(),
            })
        }
    }

    fn started_then(next: Vec<Action>) -> Vec<Action> {
        let mut actions = vec![
            Action::Status(Edit::Reset(Phase::Progressing)),
            record("started: web 2.0.0 to prod"),
            Action::SaveQueued,
            Action::OpenListener,
        ];
        actions.extend(next);
        actions
    }

    fn start_new() -> Action {
        Action::Start {
            group: Group::Canary,
            build: Build::New,
            first: 0,
            count: 2,
        }
    }

    fn canary() -> serde_json::Value {
        serde_json::json!({"canary": {"steps": [{"weight": 10, "pause": "1s"}]}})
    }

    #[test]
    fn the_gate_is_asked_waited_for_and_obeyed() {
        let rows = vec![
            Row {
                name: "first, the gate is asked",
                strategy: canary(),
                last_wait: None,
                observed: at(1_000),
                expect: Plan {
                    actions: vec![Action::AskGate],
                    stage: Stage::start(),
                    next: Next::Now,
                },
            },
            Row {
                name: "pending: the reasons are written once, then asked again later",
                strategy: canary(),
                last_wait: None,
                observed: verdict(wait(&["no approval"])),
                expect: Plan {
                    actions: vec![
                        Action::Status(Edit::Reset(Phase::Pending)),
                        record("waiting at the gate: no approval"),
                        Action::Status(Edit::Message("waiting at the gate: no approval".into())),
                        Action::Save,
                    ],
                    stage: Stage::Gate {
                        last_wait: Some(vec!["no approval".into()]),
                    },
                    next: Next::RetryGate,
                },
            },
            Row {
                name: "pending for the same reasons: nothing written again",
                strategy: canary(),
                last_wait: Some(vec!["no approval".into()]),
                observed: verdict(wait(&["no approval"])),
                expect: Plan {
                    actions: vec![],
                    stage: Stage::Gate {
                        last_wait: Some(vec!["no approval".into()]),
                    },
                    next: Next::RetryGate,
                },
            },
            Row {
                name: "lockdown holds a new deployment at the gate like any reason to wait",
                strategy: canary(),
                last_wait: Some(vec!["no approval".into()]),
                observed: verdict(wait(&["lockdown"])),
                expect: Plan {
                    actions: vec![
                        Action::Status(Edit::Reset(Phase::Pending)),
                        record("waiting at the gate: lockdown"),
                        Action::Status(Edit::Message("waiting at the gate: lockdown".into())),
                        Action::Save,
                    ],
                    stage: Stage::Gate {
                        last_wait: Some(vec!["lockdown".into()]),
                    },
                    next: Next::RetryGate,
                },
            },
            Row {
                name: "denied: the rollout fails with every reason",
                strategy: canary(),
                last_wait: None,
                observed: verdict(GateVerdict::Deny {
                    reasons: vec!["unsigned".into(), "no sbom".into()],
                }),
                expect: Plan::fail(vec![], "refused at the gate: unsigned; no sbom"),
            },
        ];
        for row in rows {
            check(row);
        }
    }

    #[test]
    fn a_rollout_waiting_at_the_gate_is_left_on_shutdown_lost_lease_or_deletion() {
        let rows = vec![
            Row {
                name: "shut down while waiting: left for the restarted server",
                strategy: canary(),
                last_wait: Some(vec!["no approval".into()]),
                observed: Observed {
                    shutdown: true,
                    ..at(5_000)
                },
                expect: Plan::leave(Stage::Gate {
                    last_wait: Some(vec!["no approval".into()]),
                }),
            },
            Row {
                name: "lease lost while waiting: left for the next holder",
                strategy: canary(),
                last_wait: Some(vec!["no approval".into()]),
                observed: Observed {
                    lease_lost: true,
                    ..at(5_000)
                },
                expect: Plan::leave(Stage::Gate {
                    last_wait: Some(vec!["no approval".into()]),
                }),
            },
            Row {
                name: "deleted while waiting: nothing to deploy",
                strategy: canary(),
                last_wait: Some(vec!["no approval".into()]),
                observed: Observed {
                    deleted: true,
                    ..at(5_000)
                },
                expect: Plan::leave(Stage::Gate {
                    last_wait: Some(vec!["no approval".into()]),
                }),
            },
        ];
        for row in rows {
            check(row);
        }
    }

    #[test]
    fn an_allowed_rollout_starts_by_its_strategy() {
        let rows = vec![
            Row {
                name: "allowed, first deployment of a canary: direct",
                strategy: canary(),
                last_wait: None,
                observed: allowed(false),
                expect: Plan {
                    actions: started_then(vec![start_new()]),
                    stage: Stage::Direct(direct::Stage::Starting),
                    next: Next::Now,
                },
            },
            Row {
                name: "allowed, a canary over a stable version",
                strategy: canary(),
                last_wait: None,
                observed: allowed(true),
                expect: Plan {
                    actions: started_then(vec![start_new()]),
                    stage: Stage::Canary(canary::Stage::Starting),
                    next: Next::Now,
                },
            },
            Row {
                name: "allowed, a canary without steps: direct",
                strategy: serde_json::json!({"canary": {"steps": []}}),
                last_wait: None,
                observed: allowed(true),
                expect: Plan {
                    actions: started_then(vec![start_new()]),
                    stage: Stage::Direct(direct::Stage::Starting),
                    next: Next::Now,
                },
            },
            Row {
                name: "allowed, blue-green over a stable version",
                strategy: serde_json::json!({"blueGreen": {"rollbackWindow": "5s"}}),
                last_wait: None,
                observed: allowed(true),
                expect: Plan {
                    actions: started_then(vec![start_new()]),
                    stage: Stage::BlueGreen(blue_green::Stage::Starting),
                    next: Next::Now,
                },
            },
            Row {
                name: "allowed, rolling over a stable version: records first, then a batch",
                strategy: serde_json::json!({"rolling": {"batchSize": 1, "pause": "1s"}}),
                last_wait: None,
                observed: allowed(true),
                expect: Plan {
                    actions: started_then(vec![
                        Action::AwaitRecords,
                        Action::Start {
                            group: Group::Canary,
                            build: Build::New,
                            first: 0,
                            count: 1,
                        },
                    ]),
                    stage: Stage::Rolling(rolling::Stage::Starting {
                        new: 0,
                        count: 1,
                        remaining: 2,
                        removed: 0,
                    }),
                    next: Next::Now,
                },
            },
            Row {
                name: "allowed, rolling as a first deployment: direct",
                strategy: serde_json::json!({"rolling": {"batchSize": 1, "pause": "1s"}}),
                last_wait: None,
                observed: allowed(false),
                expect: Plan {
                    actions: started_then(vec![start_new()]),
                    stage: Stage::Direct(direct::Stage::Starting),
                    next: Next::Now,
                },
            },
        ];
        for row in rows {
            check(row);
        }
    }
}
