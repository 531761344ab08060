//! Blue-green: the new colour starts idle beside the old one (behind the router as a weight-0
//! canary that only pinned requests reach), is smoke-tested with the version pinned, takes all
//! traffic at once, and the old colour stays ready for the rollback window while the
//! guardrails watch the new one. A breach or an abort switches back.

use super::watch::{self, Hold, Outcome};
use super::{Action, Build, Desired, Edit, Group, Next, Observed, Phase, Plan, Side};
use super::{WatchSpec, direct, healthy, record};
use serde_json::Value;
use slipway_domain::guardrail::{Breach, parse_duration_ms};
use slipway_domain::kinds::Strategy;
use std::time::Duration;

/// Where a blue-green rollout stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// The new colour starts.
    Starting,
    /// The new colour is being smoke-tested.
    Smoke,
    /// All traffic is on the new colour; the old one waits out the rollback window.
    Switched { hold: Option<Hold> },
}

fn wrap(stage: Stage) -> super::Stage {
    super::Stage::BlueGreen(stage)
}

/// The smoke path and the rollback window.
fn declared<'a>(desired: &Desired<'a>) -> (Option<&'a str>, Duration) {
    match &desired.spec.strategy {
        Strategy::BlueGreen {
            smoke_path,
            rollback_window,
        } => (
            smoke_path.as_deref(),
            Duration::from_millis(parse_duration_ms(rollback_window).unwrap_or(0)),
        ),
        _ => (None, Duration::ZERO),
    }
}

/// Starts the new colour.
pub fn begin(desired: &Desired<'_>) -> Plan {
    direct::start_new(desired, wrap(Stage::Starting))
}

/// Plans a blue-green rollout.
pub fn plan(desired: &Desired<'_>, stage: &Stage, observed: &Observed) -> Plan {
    match stage {
        Stage::Starting => {
            let mut actions = match healthy(desired, observed) {
                Ok(actions) => actions,
                Err(plan) => return plan,
            };
            // Only pinned requests reach the idle new colour.
            actions.extend([
                Action::Route {
                    stable: vec![Group::Stable],
                    canary: vec![Group::Canary],
                },
                Action::Weight(0),
            ]);
            match declared(desired).0 {
                Some(path) => {
                    actions.push(Action::Smoke { path: path.into() });
                    Plan {
                        actions,
                        stage: wrap(Stage::Smoke),
                        next: Next::Now,
                    }
                }
                None => switch(desired, actions, observed),
            }
        }
        Stage::Smoke => smoked(desired, observed),
        Stage::Switched { hold } => switched(desired, *hold, observed),
    }
}

/// The smoke test's answer: recorded; a failure takes the new colour away.
fn smoked(desired: &Desired<'_>, observed: &Observed) -> Plan {
    let path = declared(desired).0.unwrap_or_default();
    let Some(answer) = &observed.smoke else {
        return Plan::fail(Vec::new(), "the smoke test's answer was not observed");
    };
    let mut actions = vec![record(format!(
        "smoke test {path} on the new colour: {}",
        answer.shown
    ))];
    if answer.ok {
        return switch(desired, actions, observed);
    }
    actions.extend([
        Action::Route {
            stable: vec![Group::Stable],
            canary: vec![],
        },
        Action::Stop(Group::Canary),
        Action::Status(Edit::Phase(Phase::RolledBack)),
        Action::Status(Edit::Message(format!(
            "smoke test {path} failed: {}",
            answer.shown
        ))),
        Action::Save,
    ]);
    Plan::finish(actions)
}

/// The switch: all traffic to the new colour; the old one stays as the idle canary.
fn switch(desired: &Desired<'_>, mut actions: Vec<Action>, observed: &Observed) -> Plan {
    let window = declared(desired).1;
    actions.extend([
        Action::Route {
            stable: vec![Group::Canary],
            canary: vec![Group::Stable],
        },
        Action::Status(Edit::Weight(100)),
        record(format!(
            "switched to {}; {} kept for {window:?}",
            desired.version,
            observed.stable_version()
        )),
        Action::Save,
        Action::Watch(WatchSpec {
            experiment: false,
            side: Side::Stable,
            probes: None,
            analysis: None,
        }),
    ]);
    Plan {
        actions,
        stage: wrap(Stage::Switched { hold: None }),
        next: Next::Now,
    }
}

/// A tick of the rollback window.
fn switched(desired: &Desired<'_>, hold: Option<Hold>, observed: &Observed) -> Plan {
    let window = declared(desired).1;
    let watched = watch::watch(hold, window.as_millis() as u64, observed);
    let mut actions = watched.notes;
    let here = wrap(Stage::Switched {
        hold: Some(watched.hold),
    });
    if let Some((breach, window)) = watch::stopping(&watched.outcome, observed.now_ms) {
        actions.extend(switch_back(breach, window, observed));
        return Plan::finish(actions);
    }
    match watched.outcome {
        Outcome::Held | Outcome::PromoteNow => {
            actions.extend([
                Action::Route {
                    stable: vec![Group::Canary],
                    canary: vec![],
                },
                Action::Stop(Group::Stable),
                Action::Adopt {
                    build: Build::New,
                    groups: vec![Group::Canary],
                },
                Action::Status(Edit::Phase(Phase::Promoted)),
                record(format!(
                    "promoted {}; {} stopped",
                    desired.version,
                    observed.stable_version()
                )),
                Action::Save,
            ]);
            Plan::finish(actions)
        }
        // Leave it as it is: the old colour still runs, recovery rolls the rollout back.
        Outcome::Leave => Plan {
            actions,
            ..Plan::leave(here)
        },
        _ => Plan {
            actions,
            stage: here,
            next: Next::Tick,
        },
    }
}

/// Back to the old colour, then the new one stops (its last output kept as evidence).
fn switch_back(breach: Breach, window: Value, observed: &Observed) -> Vec<Action> {
    let mut actions = vec![
        Action::Route {
            stable: vec![Group::Stable],
            canary: vec![],
        },
        Action::Status(Edit::StableNow(format!(
            "switched back to {}: {} = {}",
            observed.stable_version(),
            breach.rule,
            breach.shown
        ))),
    ];
    actions.extend(watch::take_new_away(
        breach,
        window,
        Some("newColourOutput"),
    ));
    actions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::{at, rolled_back_tail, spec, stable, tripped};
    use crate::plan::{Control, SmokeAnswer, Stage as Rollout, Started};
    use serde_json::json;

    struct Row {
        name: &'static str,
        smoke: bool,
        stage: Stage,
        observed: Observed,
        expect: Plan,
    }

    fn check(row: Row) {
        let strategy = if row.smoke {
            json!({"blueGreen": {"smokePath": "/healthz", "rollbackWindow": "30s"}})
        } else {
            json!({"blueGreen": {"rollbackWindow": "30s"}})
        };
        let spec = spec(strategy);
        let desired = Desired {
            spec: &spec,
            version: "2.0.0",
        };
        let observed = Observed {
            stable: Some(stable()),
            ..row.observed
        };
        assert_eq!(
            plan(&desired, &row.stage, &observed),
            row.expect,
            "{}",
            row.name
        );
    }

    fn idle_beside() -> Vec<Action> {
        vec![
            Action::AwaitRecords,
            record("2 instance(s) of 2.0.0 healthy"),
            Action::Save,
            Action::Route {
                stable: vec![Group::Stable],
                canary: vec![Group::Canary],
            },
            Action::Weight(0),
        ]
    }

    fn switched_over() -> Vec<Action> {
        vec![
            Action::Route {
                stable: vec![Group::Canary],
                canary: vec![Group::Stable],
            },
            Action::Status(Edit::Weight(100)),
            record("switched to 2.0.0; 1.0.0 kept for 30s"),
            Action::Save,
            Action::Watch(WatchSpec {
                experiment: false,
                side: Side::Stable,
                probes: None,
                analysis: None,
            }),
        ]
    }

    fn window(until_ms: u64) -> Stage {
        Stage::Switched {
            hold: Some(Hold {
                until_ms,
                paused_since_ms: None,
            }),
        }
    }

    fn switching() -> Plan {
        Plan {
            actions: vec![],
            stage: Rollout::BlueGreen(Stage::Switched { hold: None }),
            next: Next::Now,
        }
    }

    fn switched_back(breach: Breach, window: Value) -> Vec<Action> {
        let mut actions = vec![
            Action::Route {
                stable: vec![Group::Stable],
                canary: vec![],
            },
            Action::Status(Edit::StableNow(format!(
                "switched back to 1.0.0: {} = {}",
                breach.rule, breach.shown
            ))),
        ];
        actions.extend(rolled_back_tail(breach, window, Some("newColourOutput")));
        actions
    }

    fn promoted() -> Vec<Action> {
        vec![
            Action::Route {
                stable: vec![Group::Canary],
                canary: vec![],
            },
            Action::Stop(Group::Stable),
            Action::Adopt {
                build: Build::New,
                groups: vec![Group::Canary],
            },
            Action::Status(Edit::Phase(Phase::Promoted)),
            record("promoted 2.0.0; 1.0.0 stopped"),
            Action::Save,
        ]
    }

    #[test]
    fn blue_green_smoke_tests_the_idle_colour_and_switches() {
        let rows = vec![
            Row {
                name: "healthy, no smoke path: idle beside, then switched",
                smoke: false,
                stage: Stage::Starting,
                observed: Observed {
                    started: Some(Started::Ready(2)),
                    ..at(1_000)
                },
                expect: Plan {
                    actions: [idle_beside(), switched_over()].concat(),
                    ..switching()
                },
            },
            Row {
                name: "healthy with a smoke path: smoke-tested first",
                smoke: true,
                stage: Stage::Starting,
                observed: Observed {
                    started: Some(Started::Ready(2)),
                    ..at(1_000)
                },
                expect: Plan {
                    actions: [
                        idle_beside(),
                        vec![Action::Smoke {
                            path: "/healthz".into(),
                        }],
                    ]
                    .concat(),
                    stage: Rollout::BlueGreen(Stage::Smoke),
                    next: Next::Now,
                },
            },
            Row {
                name: "failed health: the rollout fails before anything is routed",
                smoke: true,
                stage: Stage::Starting,
                observed: Observed {
                    started: Some(Started::Failed("not healthy".into())),
                    ..at(1_000)
                },
                expect: Plan::fail(vec![Action::AwaitRecords], "not healthy"),
            },
            Row {
                name: "smoke test passes: recorded, switched",
                smoke: true,
                stage: Stage::Smoke,
                observed: Observed {
                    smoke: Some(SmokeAnswer {
                        ok: true,
                        shown: "200 OK".into(),
                    }),
                    ..at(1_100)
                },
                expect: Plan {
                    actions: [
                        vec![record("smoke test /healthz on the new colour: 200 OK")],
                        switched_over(),
                    ]
                    .concat(),
                    ..switching()
                },
            },
            Row {
                name: "smoke test fails: the new colour goes, rolled back",
                smoke: true,
                stage: Stage::Smoke,
                observed: Observed {
                    smoke: Some(SmokeAnswer {
                        ok: false,
                        shown: "500 Internal Server Error".into(),
                    }),
                    ..at(1_100)
                },
                expect: Plan::finish(vec![
                    record("smoke test /healthz on the new colour: 500 Internal Server Error"),
                    Action::Route {
                        stable: vec![Group::Stable],
                        canary: vec![],
                    },
                    Action::Stop(Group::Canary),
                    Action::Status(Edit::Phase(Phase::RolledBack)),
                    Action::Status(Edit::Message(
                        "smoke test /healthz failed: 500 Internal Server Error".into(),
                    )),
                    Action::Save,
                ]),
            },
        ];
        for row in rows {
            check(row);
        }
    }

    #[test]
    fn blue_green_holds_the_window_and_promotes_or_switches_back() {
        let rows = vec![
            Row {
                name: "the window's first tick starts its clock",
                smoke: false,
                stage: Stage::Switched { hold: None },
                observed: at(2_000),
                expect: Plan {
                    actions: vec![],
                    stage: Rollout::BlueGreen(window(32_000)),
                    next: Next::Tick,
                },
            },
            Row {
                name: "the window passes: promoted, the old colour stops",
                smoke: false,
                stage: window(32_000),
                observed: at(32_000),
                expect: Plan::finish(promoted()),
            },
            Row {
                name: "promote now ends the window early",
                smoke: false,
                stage: window(32_000),
                observed: Observed {
                    control: Some(Control::Promote),
                    ..at(5_000)
                },
                expect: Plan::finish(promoted()),
            },
            Row {
                name: "a breach in the window switches back",
                smoke: false,
                stage: window(32_000),
                observed: Observed {
                    tripped: Some(tripped(false)),
                    ..at(5_000)
                },
                expect: Plan::finish(switched_back(tripped(false).breach, tripped(false).window)),
            },
            Row {
                name: "an abort in the window switches back",
                smoke: false,
                stage: window(32_000),
                observed: Observed {
                    control: Some(Control::Abort),
                    ..at(5_000)
                },
                expect: Plan::finish(switched_back(watch::operator_abort(5_000), Value::Null)),
            },
            Row {
                name: "paused in the window: held past its end",
                smoke: false,
                stage: Stage::Switched {
                    hold: Some(Hold {
                        until_ms: 32_000,
                        paused_since_ms: Some(10_000),
                    }),
                },
                observed: Observed {
                    control: Some(Control::Pause),
                    ..at(40_000)
                },
                expect: Plan {
                    actions: vec![],
                    stage: Rollout::BlueGreen(Stage::Switched {
                        hold: Some(Hold {
                            until_ms: 32_000,
                            paused_since_ms: Some(10_000),
                        }),
                    }),
                    next: Next::Tick,
                },
            },
            Row {
                name: "shutdown in the window: left, the old colour still runs",
                smoke: false,
                stage: window(32_000),
                observed: Observed {
                    shutdown: true,
                    ..at(5_000)
                },
                expect: Plan::leave(Rollout::BlueGreen(window(32_000))),
            },
        ];
        for row in rows {
            check(row);
        }
    }
}
