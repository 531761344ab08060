//! Rolling: batch by batch, new instances replace old ones in the service's stable set (each
//! batch joins once healthy, as many old ones leave and stop); the guardrails watch the whole
//! service during each batch's pause. A breach or an abort brings the old version back to full
//! strength before the new one goes; if none of it can be brought back, the new version keeps
//! serving and the rollout fails saying so.

use super::watch::{self, Hold, Outcome};
use super::{Action, Build, Desired, Edit, Group, Next, Observed, Phase, Plan, Side};
use super::{StableSeen, Started, WatchSpec, record};
use slipway_domain::guardrail::{Breach, parse_duration_ms};
use slipway_domain::kinds::Strategy;

/// Where a rolling rollout stands. `new` instances of the new version serve, `remaining` of
/// the old one still serve, `removed` old ones were stopped.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// A batch of `count` new instances starts.
    Starting {
        new: u32,
        count: u32,
        remaining: u32,
        removed: u32,
    },
    /// The batch is in service; its pause is held.
    Holding {
        new: u32,
        remaining: u32,
        removed: u32,
        hold: Option<Hold>,
    },
    /// Old instances are brought back after `breach`.
    Restoring { breach: Breach, remaining: u32 },
}

fn wrap(stage: Stage) -> super::Stage {
    super::Stage::Rolling(stage)
}

/// The batch size (at least one) and the pause after each batch, in ms.
fn declared(desired: &Desired<'_>) -> (u32, u64) {
    match &desired.spec.strategy {
        Strategy::Rolling { batch_size, pause } => {
            ((*batch_size).max(1), parse_duration_ms(pause).unwrap_or(0))
        }
        _ => (1, 0),
    }
}

/// The gate's record and `started` are durable first (a batch touches what runs), then the
/// first batch starts.
pub fn begin(desired: &Desired<'_>, stable: &StableSeen) -> Plan {
    let mut plan = next_batch(desired, 0, stable.instances, 0, &Observed::default());
    plan.actions.insert(0, Action::AwaitRecords);
    plan
}

/// Plans a rolling rollout.
pub fn plan(desired: &Desired<'_>, stage: &Stage, observed: &Observed) -> Plan {
    match stage {
        Stage::Starting {
            new,
            count,
            remaining,
            removed,
        } => match &observed.started {
            Some(Started::Ready(_)) => {
                in_service(desired, *new + *count, *count, *remaining, *removed)
            }
            Some(Started::Failed(reason)) => Plan::fail(Vec::new(), reason),
            None => Plan::fail(Vec::new(), "the batch's start was not observed"),
        },
        Stage::Holding {
            new,
            remaining,
            removed,
            hold,
        } => {
            let watched = watch::watch(*hold, declared(desired).1, observed);
            let here = Stage::Holding {
                new: *new,
                remaining: *remaining,
                removed: *removed,
                hold: Some(watched.hold),
            };
            let mut plan = held(desired, here, watched.outcome, observed);
            let mut actions = watched.notes;
            actions.append(&mut plan.actions);
            Plan { actions, ..plan }
        }
        Stage::Restoring { breach, remaining } => {
            let restored = match observed.started {
                Some(Started::Ready(count)) => count,
                _ => 0,
            };
            restored_or_failed(desired, breach.clone(), *remaining, restored, observed)
        }
    }
}

/// Starts the next batch, or promotes when every new instance serves.
fn next_batch(
    desired: &Desired<'_>,
    new: u32,
    remaining: u32,
    removed: u32,
    observed: &Observed,
) -> Plan {
    let total = desired.spec.instances;
    if new >= total {
        return promote(desired, observed);
    }
    let count = declared(desired).0.min(total - new);
    Plan {
        actions: vec![Action::Start {
            group: Group::Canary,
            build: Build::New,
            first: new,
            count,
        }],
        stage: wrap(Stage::Starting {
            new,
            count,
            remaining,
            removed,
        }),
        next: Next::Now,
    }
}

/// A batch is healthy: it joins the stable set, as many old instances leave and stop, and
/// what serves now is what a failure falls back to.
fn in_service(desired: &Desired<'_>, new: u32, count: u32, remaining: u32, removed: u32) -> Plan {
    let total = desired.spec.instances;
    let leaving = count.min(remaining);
    let actions = vec![
        Action::Retire { count: leaving },
        Action::Route {
            stable: vec![Group::Canary, Group::Stable],
            canary: vec![],
        },
        Action::Adopt {
            build: Build::Old,
            groups: vec![Group::Canary, Group::Stable],
        },
        Action::Stop(Group::Retiring),
        Action::Status(Edit::Weight(new * 100 / total.max(1))),
        record(format!("{new} of {total} instances on {}", desired.version)),
        Action::Save,
        Action::Watch(WatchSpec {
            experiment: false,
            side: Side::Stable,
            probes: Some(Group::Canary),
            analysis: None,
        }),
    ];
    Plan {
        actions,
        stage: wrap(Stage::Holding {
            new,
            remaining: remaining - leaving,
            removed: removed + leaving,
            hold: None,
        }),
        next: Next::Now,
    }
}

/// What a tick of a batch's pause leads to.
fn held(desired: &Desired<'_>, here: Stage, outcome: Outcome, observed: &Observed) -> Plan {
    let Stage::Holding {
        new,
        remaining,
        removed,
        ..
    } = here
    else {
        return Plan::fail(Vec::new(), "a rolling rollout lost its place");
    };
    if let Some((breach, _)) = watch::stopping(&outcome, observed.now_ms) {
        // Bring the old version back to full strength, then take the new one away.
        if removed == 0 {
            return restored_or_failed(desired, breach, remaining, 0, observed);
        }
        return Plan {
            actions: vec![Action::Start {
                group: Group::Restored,
                build: Build::Old,
                first: 0,
                count: removed,
            }],
            stage: wrap(Stage::Restoring { breach, remaining }),
            next: Next::Now,
        };
    }
    match outcome {
        Outcome::Held | Outcome::PromoteNow => {
            next_batch(desired, new, remaining, removed, observed)
        }
        Outcome::Leave => Plan::leave(wrap(here)),
        _ => Plan {
            actions: Vec::new(),
            stage: wrap(here),
            next: Next::Tick,
        },
    }
}

/// Every new instance serves: it alone takes the traffic, then the old ones left (more old
/// instances than new ones) stop, and the new version is stable, as a direct rollout ends.
fn promote(desired: &Desired<'_>, observed: &Observed) -> Plan {
    Plan::finish(super::direct::promote(desired, observed))
}

/// After a breach: the old instances (those still serving and those brought back) take all
/// the traffic and the new ones stop; with none of the old version left, the new one keeps
/// serving and the rollout fails.
fn restored_or_failed(
    desired: &Desired<'_>,
    breach: Breach,
    remaining: u32,
    restored: u32,
    observed: &Observed,
) -> Plan {
    let old = observed.stable_version();
    if remaining + restored == 0 {
        let message = format!(
            "{} = {}, but {old} could not be brought back; {} keeps serving",
            breach.rule, breach.shown, desired.version
        );
        return Plan::finish(vec![
            Action::Adopt {
                build: Build::New,
                groups: vec![Group::Canary],
            },
            Action::Status(Edit::Phase(Phase::Failed)),
            Action::Status(Edit::Message(message.clone())),
            record(message),
            Action::Status(Edit::Breach(breach)),
            Action::Save,
        ]);
    }
    // Only instances that started and passed their checks take traffic.
    let back = if restored > 0 {
        vec![Group::Stable, Group::Restored]
    } else {
        vec![Group::Stable]
    };
    let mut actions = vec![
        Action::Route {
            stable: back.clone(),
            canary: vec![],
        },
        Action::Status(Edit::StableNow(format!(
            "rolled back to {old}: {} = {}",
            breach.rule, breach.shown
        ))),
        Action::Adopt {
            build: Build::Old,
            groups: back,
        },
    ];
    actions.extend(watch::take_new_away(breach, serde_json::Value::Null, None));
    Plan::finish(actions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::{at, promoted_over_stable, rolled_back_tail, spec, stable, tripped};
    use crate::plan::{Control, Stage as Rollout};
    use serde_json::Value;
    use serde_json::json;

    struct Row {
        name: &'static str,
        stage: Stage,
        observed: Observed,
        expect: Plan,
    }

    /// Two instances replaced one at a time, 5 s apart.
    fn check(row: Row) {
        let spec = spec(json!({"rolling": {"batchSize": 1, "pause": "5s"}}));
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

    fn holding(new: u32, remaining: u32, removed: u32, until_ms: Option<u64>) -> Stage {
        Stage::Holding {
            new,
            remaining,
            removed,
            hold: until_ms.map(|until_ms| Hold {
                until_ms,
                paused_since_ms: None,
            }),
        }
    }

    fn batch_in_service(new: u32, weight: u32) -> Vec<Action> {
        vec![
            Action::Retire { count: 1 },
            Action::Route {
                stable: vec![Group::Canary, Group::Stable],
                canary: vec![],
            },
            Action::Adopt {
                build: Build::Old,
                groups: vec![Group::Canary, Group::Stable],
            },
            Action::Stop(Group::Retiring),
            Action::Status(Edit::Weight(weight)),
            record(format!("{new} of 2 instances on 2.0.0")),
            Action::Save,
            Action::Watch(WatchSpec {
                experiment: false,
                side: Side::Stable,
                probes: Some(Group::Canary),
                analysis: None,
            }),
        ]
    }

    fn rolled_back(breach: Breach, back: Vec<Group>) -> Vec<Action> {
        let mut actions = vec![
            Action::Route {
                stable: back.clone(),
                canary: vec![],
            },
            Action::Status(Edit::StableNow(format!(
                "rolled back to 1.0.0: {} = {}",
                breach.rule, breach.shown
            ))),
            Action::Adopt {
                build: Build::Old,
                groups: back,
            },
        ];
        actions.extend(rolled_back_tail(breach, Value::Null, None));
        actions
    }

    fn restoring(count: u32, remaining: u32, breach: Breach) -> Plan {
        Plan {
            actions: vec![Action::Start {
                group: Group::Restored,
                build: Build::Old,
                first: 0,
                count,
            }],
            stage: Rollout::Rolling(Stage::Restoring { breach, remaining }),
            next: Next::Now,
        }
    }

    #[test]
    fn rolling_replaces_instances_batch_by_batch() {
        let rows = vec![
            Row {
                name: "the first batch is healthy: it serves, one old instance leaves",
                stage: Stage::Starting {
                    new: 0,
                    count: 1,
                    remaining: 2,
                    removed: 0,
                },
                observed: Observed {
                    started: Some(Started::Ready(1)),
                    ..at(1_000)
                },
                expect: Plan {
                    actions: batch_in_service(1, 50),
                    stage: Rollout::Rolling(holding(1, 1, 1, None)),
                    next: Next::Now,
                },
            },
            Row {
                name: "a batch fails its health checks: the rollout fails",
                stage: Stage::Starting {
                    new: 1,
                    count: 1,
                    remaining: 1,
                    removed: 1,
                },
                observed: Observed {
                    started: Some(Started::Failed("not healthy".into())),
                    ..at(1_000)
                },
                expect: Plan::fail(vec![], "not healthy"),
            },
            Row {
                name: "the pause held: the next batch starts",
                stage: holding(1, 1, 1, Some(6_000)),
                observed: at(6_000),
                expect: Plan {
                    actions: vec![Action::Start {
                        group: Group::Canary,
                        build: Build::New,
                        first: 1,
                        count: 1,
                    }],
                    stage: Rollout::Rolling(Stage::Starting {
                        new: 1,
                        count: 1,
                        remaining: 1,
                        removed: 1,
                    }),
                    next: Next::Now,
                },
            },
            Row {
                name: "the last batch held: promoted, the old version stops",
                stage: holding(2, 0, 2, Some(12_000)),
                observed: at(12_000),
                expect: Plan::finish(promoted_over_stable()),
            },
            Row {
                name: "promote now starts the next batch without waiting",
                stage: holding(1, 1, 1, Some(6_000)),
                observed: Observed {
                    control: Some(Control::Promote),
                    ..at(2_000)
                },
                expect: Plan {
                    actions: vec![Action::Start {
                        group: Group::Canary,
                        build: Build::New,
                        first: 1,
                        count: 1,
                    }],
                    stage: Rollout::Rolling(Stage::Starting {
                        new: 1,
                        count: 1,
                        remaining: 1,
                        removed: 1,
                    }),
                    next: Next::Now,
                },
            },
        ];
        for row in rows {
            check(row);
        }
    }

    #[test]
    fn rolling_brings_the_old_version_back_on_a_breach() {
        let rows = vec![
            Row {
                name: "a breach: the stopped old instances are brought back first",
                stage: holding(1, 1, 1, Some(6_000)),
                observed: Observed {
                    tripped: Some(tripped(false)),
                    ..at(3_000)
                },
                expect: restoring(1, 1, tripped(false).breach),
            },
            Row {
                name: "an abort brings the old version back too",
                stage: holding(1, 1, 1, Some(6_000)),
                observed: Observed {
                    control: Some(Control::Abort),
                    ..at(3_000)
                },
                expect: restoring(1, 1, watch::operator_abort(3_000)),
            },
            Row {
                name: "restored: the old version serves, the new one stops",
                stage: Stage::Restoring {
                    breach: tripped(false).breach,
                    remaining: 1,
                },
                observed: Observed {
                    started: Some(Started::Ready(1)),
                    ..at(3_500)
                },
                expect: Plan::finish(rolled_back(
                    tripped(false).breach,
                    vec![Group::Stable, Group::Restored],
                )),
            },
            Row {
                name: "nothing restored but some old ones still serve: rolled back onto them",
                stage: Stage::Restoring {
                    breach: tripped(false).breach,
                    remaining: 1,
                },
                observed: Observed {
                    started: Some(Started::Failed("the artifact is gone".into())),
                    ..at(3_500)
                },
                expect: Plan::finish(rolled_back(tripped(false).breach, vec![Group::Stable])),
            },
            Row {
                name: "nothing of the old version left: the new one keeps serving, failed",
                stage: Stage::Restoring {
                    breach: tripped(false).breach,
                    remaining: 0,
                },
                observed: Observed {
                    started: Some(Started::Failed("the artifact is gone".into())),
                    ..at(3_500)
                },
                expect: Plan::finish(vec![
                    Action::Adopt {
                        build: Build::New,
                        groups: vec![Group::Canary],
                    },
                    Action::Status(Edit::Phase(Phase::Failed)),
                    Action::Status(Edit::Message(
                        "error_rate > 5% for 1s = 20.0%, but 1.0.0 could not be brought back; 2.0.0 keeps serving".into(),
                    )),
                    record(
                        "error_rate > 5% for 1s = 20.0%, but 1.0.0 could not be brought back; 2.0.0 keeps serving",
                    ),
                    Action::Status(Edit::Breach(tripped(false).breach)),
                    Action::Save,
                ]),
            },
            Row {
                name: "lease lost during a pause: left",
                stage: holding(1, 1, 1, Some(6_000)),
                observed: Observed {
                    lease_lost: true,
                    ..at(3_000)
                },
                expect: Plan::leave(Rollout::Rolling(holding(1, 1, 1, Some(6_000)))),
            },
        ];
        for row in rows {
            check(row);
        }
    }
}
