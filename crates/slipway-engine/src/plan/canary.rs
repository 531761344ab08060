//! Canary: the new version's instances start beside the stable ones and take a growing share
//! of the traffic, step by step; each step is held for its pause while the guardrails watch
//! the canary (and, when the step has one, the canary judge compares it with the baseline at
//! the end). A breach, a failed analysis or an operator's abort takes the traffic back to
//! stable first, then stops the canary. With `baseline: beside`, see [`super::experiment`].

use super::watch::{self, Hold, Outcome};
use super::{Action, Desired, Edit, Group, Next, Observed, Plan, Side, Started};
use super::{WatchSpec, direct, experiment, healthy, record};
use serde_json::Value;
use slipway_domain::guardrail::{Breach, parse_duration_ms};
use slipway_domain::kinds::{BaselineMode, CanaryStep, EnvironmentalPolicy, Strategy};

/// Where a canary rollout stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// The new instances start.
    Starting,
    /// The baseline starts beside the canary.
    Baseline,
    /// Step `index` is held; `experiment` says a baseline runs beside the canary.
    Step {
        index: usize,
        hold: Option<Hold>,
        experiment: bool,
    },
    /// Step `index`'s analysis is being judged.
    Analysing { index: usize, experiment: bool },
}

/// The canary's declared behaviour.
struct Canary<'a> {
    steps: &'a [CanaryStep],
    baseline: BaselineMode,
    on_environmental: EnvironmentalPolicy,
}

fn canary<'a>(desired: &Desired<'a>) -> Canary<'a> {
    match &desired.spec.strategy {
        Strategy::Canary {
            steps,
            baseline,
            on_environmental,
        } => Canary {
            steps,
            baseline: *baseline,
            on_environmental: *on_environmental,
        },
        _ => Canary {
            steps: &[],
            baseline: BaselineMode::Production,
            on_environmental: EnvironmentalPolicy::Continue,
        },
    }
}

fn wrap(stage: Stage) -> super::Stage {
    super::Stage::Canary(stage)
}

/// Starts the new version's instances.
pub fn begin(desired: &Desired<'_>) -> Plan {
    direct::start_new(desired, wrap(Stage::Starting))
}

/// Plans a canary rollout.
pub fn plan(desired: &Desired<'_>, stage: &Stage, observed: &Observed) -> Plan {
    match stage {
        Stage::Starting => started(desired, observed),
        Stage::Baseline => match &observed.started {
            Some(Started::Ready(count)) => {
                let actions = experiment::open(*count, observed.stable_version());
                enter_step(desired, actions, 0, true)
            }
            Some(Started::Failed(reason)) => Plan::fail(Vec::new(), reason),
            None => Plan::fail(Vec::new(), "the baseline's start was not observed"),
        },
        Stage::Step {
            index,
            hold,
            experiment,
        } => held(desired, *index, *hold, *experiment, observed),
        Stage::Analysing { index, experiment } => analysed(desired, *index, *experiment, observed),
    }
}

/// The new instances are healthy: the baseline starts beside them, or the first step begins.
fn started(desired: &Desired<'_>, observed: &Observed) -> Plan {
    let mut actions = match healthy(desired, observed) {
        Ok(actions) => actions,
        Err(plan) => return plan,
    };
    if canary(desired).baseline == BaselineMode::Beside {
        let count = match observed.started {
            Some(Started::Ready(count)) => count,
            _ => desired.spec.instances,
        };
        actions.push(experiment::start_baseline(count));
        return Plan {
            actions,
            stage: wrap(Stage::Baseline),
            next: Next::Now,
        };
    }
    actions.push(Action::Route {
        stable: vec![Group::Stable],
        canary: vec![Group::Canary],
    });
    enter_step(desired, actions, 0, false)
}

/// Step `index` begins: its weight, recorded, then held.
fn enter_step(
    desired: &Desired<'_>,
    mut actions: Vec<Action>,
    index: usize,
    experiment: bool,
) -> Plan {
    let Some(step) = canary(desired).steps.get(index) else {
        return Plan::fail(actions, format!("the canary has no step {index}"));
    };
    actions.extend([
        Action::Weight(step.weight),
        Action::Status(Edit::Weight(step.weight)),
        record(format!("canary weight {}%", step.weight)),
        Action::Save,
        Action::Watch(WatchSpec {
            experiment,
            side: Side::Canary,
            probes: Some(Group::Canary),
            analysis: step.analysis.as_ref().map(|_| index),
        }),
    ]);
    Plan {
        actions,
        stage: wrap(Stage::Step {
            index,
            hold: None,
            experiment,
        }),
        next: Next::Now,
    }
}

/// A tick of step `index`.
fn held(
    desired: &Desired<'_>,
    index: usize,
    hold: Option<Hold>,
    experiment: bool,
    observed: &Observed,
) -> Plan {
    let declared = canary(desired);
    let Some(step) = declared.steps.get(index) else {
        return Plan::fail(Vec::new(), format!("the canary has no step {index}"));
    };
    let hold_ms = parse_duration_ms(&step.pause).unwrap_or(0);
    let watched = watch::watch(hold, hold_ms, observed);
    let mut actions = watched.notes;
    let here = wrap(Stage::Step {
        index,
        hold: Some(watched.hold),
        experiment,
    });
    match watched.outcome {
        Outcome::Watching => Plan {
            actions,
            stage: here,
            next: Next::Tick,
        },
        Outcome::Leave => Plan {
            actions,
            ..Plan::leave(here)
        },
        Outcome::Held if step.analysis.is_some() => {
            actions.push(Action::Analyse { step: index });
            Plan {
                actions,
                stage: wrap(Stage::Analysing { index, experiment }),
                next: Next::Now,
            }
        }
        Outcome::Held => next_step(desired, actions, index, experiment, observed),
        Outcome::PromoteNow => {
            actions.push(record("promotion requested by an operator"));
            actions.extend(promote(desired, experiment, observed));
            Plan::finish(actions)
        }
        Outcome::Breached(tripped) if experiment::is_environmental(experiment, &tripped) => {
            actions.extend(experiment::record_environmental(&tripped));
            if declared.on_environmental == EnvironmentalPolicy::RollBack {
                roll_back(actions, tripped.breach, tripped.window, experiment)
            } else {
                next_step(desired, actions, index, experiment, observed)
            }
        }
        outcome => match watch::stopping(&outcome, observed.now_ms) {
            Some((breach, window)) => roll_back(actions, breach, window, experiment),
            None => next_step(desired, actions, index, experiment, observed),
        },
    }
}

/// Step `index`'s analysis is judged: recorded, then the next step or a rollback.
fn analysed(desired: &Desired<'_>, index: usize, experiment: bool, observed: &Observed) -> Plan {
    let Some(verdict) = &observed.analysis else {
        return Plan::fail(Vec::new(), "the analysis verdict was not observed");
    };
    let actions = vec![
        record(format!("canary analysis: {}", verdict.summary)),
        Action::Status(Edit::Analysis(verdict.record.clone())),
        Action::Save,
    ];
    if verdict.passed {
        return next_step(desired, actions, index, experiment, observed);
    }
    let breach = Breach {
        rule: "canary analysis".into(),
        value: verdict.score,
        shown: verdict.summary.clone(),
        holding_since_ms: observed.now_ms,
        at_ms: observed.now_ms,
    };
    roll_back(actions, breach, verdict.record.clone(), experiment)
}

/// After step `index`: the next one, or promotion after the last.
fn next_step(
    desired: &Desired<'_>,
    actions: Vec<Action>,
    index: usize,
    experiment: bool,
    observed: &Observed,
) -> Plan {
    if observed.leaving() {
        let here = wrap(Stage::Step {
            index,
            hold: None,
            experiment,
        });
        return Plan {
            actions,
            ..Plan::leave(here)
        };
    }
    if index + 1 < canary(desired).steps.len() {
        return enter_step(desired, actions, index + 1, experiment);
    }
    let mut actions = actions;
    actions.extend(promote(desired, experiment, observed));
    Plan::finish(actions)
}

/// Promotion. With an experiment, stable carries everything for a moment while the
/// experiment router lets go of the canary instances (an instance belongs to one routed
/// service at a time).
fn promote(desired: &Desired<'_>, experiment: bool, observed: &Observed) -> Vec<Action> {
    let mut actions = Vec::new();
    if experiment {
        actions.push(Action::Route {
            stable: vec![Group::Stable],
            canary: vec![],
        });
        actions.extend(experiment::close());
    }
    actions.extend(direct::promote(desired, observed));
    actions
}

/// Traffic back to stable first, then the canary stops (its last output kept as evidence),
/// then the experiment ends.
fn roll_back(mut actions: Vec<Action>, breach: Breach, window: Value, experiment: bool) -> Plan {
    actions.extend([
        Action::Weight(0),
        Action::Status(Edit::StableNow(format!(
            "guardrail breached ({} = {}): traffic back on stable, canary stopped",
            breach.rule, breach.shown
        ))),
        Action::Route {
            stable: vec![Group::Stable],
            canary: vec![],
        },
    ]);
    actions.extend(watch::take_new_away(breach, window, Some("canaryOutput")));
    if experiment {
        actions.extend(experiment::close());
    }
    Plan::finish(actions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::{at, promoted_over_stable, rolled_back_tail, spec, stable, tripped};
    use crate::plan::{AnalysisVerdict, Build, Control, Stage as Rollout, Tripped};
    use serde_json::json;

    struct Row {
        name: &'static str,
        strategy: Value,
        stage: Stage,
        observed: Observed,
        expect: Plan,
    }

    fn check(row: Row) {
        let spec = spec(row.strategy);
        let desired = Desired {
            spec: &spec,
            version: "2.0.0",
        };
        let got = plan(&desired, &row.stage, &row.observed);
        assert_eq!(got, row.expect, "{}", row.name);
    }

    /// Two steps, 10% then 50%, each held 10 s.
    fn two_steps() -> Value {
        json!({"canary": {"steps": [{"weight": 10, "pause": "10s"}, {"weight": 50, "pause": "10s"}]}})
    }

    fn beside(on_environmental: &str) -> Value {
        json!({"canary": {"steps": [{"weight": 10, "pause": "10s"}, {"weight": 50, "pause": "10s"}],
                          "baseline": "beside", "onEnvironmental": on_environmental}})
    }

    fn analysed_steps() -> Value {
        json!({"canary": {"steps": [{"weight": 20, "pause": "10s", "analysis": {
            "interval": "1s", "metrics": [{"name": "errors", "metric": "error_rate"}]}}]}})
    }

    fn seen(observed: Observed) -> Observed {
        Observed {
            stable: Some(stable()),
            ..observed
        }
    }

    fn step(index: usize, hold: Option<Hold>, experiment: bool) -> Stage {
        Stage::Step {
            index,
            hold,
            experiment,
        }
    }

    fn holding(until_ms: u64) -> Option<Hold> {
        Some(Hold {
            until_ms,
            paused_since_ms: None,
        })
    }

    fn healthy_lines() -> Vec<Action> {
        vec![
            Action::AwaitRecords,
            record("2 instance(s) of 2.0.0 healthy"),
            Action::Save,
        ]
    }

    fn weight(percent: u32, experiment: bool, analysis: Option<usize>) -> Vec<Action> {
        vec![
            Action::Weight(percent),
            Action::Status(Edit::Weight(percent)),
            record(format!("canary weight {percent}%")),
            Action::Save,
            Action::Watch(WatchSpec {
                experiment,
                side: Side::Canary,
                probes: Some(Group::Canary),
                analysis,
            }),
        ]
    }

    fn then(stage: Stage, actions: Vec<Vec<Action>>) -> Plan {
        Plan {
            actions: actions.concat(),
            stage: Rollout::Canary(stage),
            next: Next::Now,
        }
    }

    fn promoted(experiment: bool) -> Vec<Action> {
        let mut actions = Vec::new();
        if experiment {
            actions.extend([
                Action::Route {
                    stable: vec![Group::Stable],
                    canary: vec![],
                },
                Action::CloseExperiment,
                Action::Stop(Group::Baseline),
            ]);
        }
        actions.extend(promoted_over_stable());
        actions
    }

    fn rolled_back(breach: Breach, window: Value, experiment: bool) -> Vec<Action> {
        let mut actions = vec![
            Action::Weight(0),
            Action::Status(Edit::StableNow(format!(
                "guardrail breached ({} = {}): traffic back on stable, canary stopped",
                breach.rule, breach.shown
            ))),
            Action::Route {
                stable: vec![Group::Stable],
                canary: vec![],
            },
        ];
        actions.extend(rolled_back_tail(breach, window, Some("canaryOutput")));
        if experiment {
            actions.extend([Action::CloseExperiment, Action::Stop(Group::Baseline)]);
        }
        actions
    }

    fn environmental_lines() -> Vec<Action> {
        let t = tripped(true);
        vec![
            record(
                "environmental: error_rate > 5% for 1s = 20.0% on the baseline and the canary alike; the release is not at fault",
            ),
            Action::Status(Edit::Environmental(
                json!({"breach": t.breach, "window": t.window}),
            )),
            Action::Save,
        ]
    }

    fn verdict(passed: bool) -> AnalysisVerdict {
        AnalysisVerdict {
            passed,
            score: if passed { 100.0 } else { 25.0 },
            summary: if passed {
                "score 100.0 → Pass"
            } else {
                "score 25.0 → Fail"
            }
            .into(),
            record: json!({"label": "web step 20%"}),
        }
    }

    #[test]
    fn canary_steps_advance_and_promote() {
        let rows = vec![
            Row {
                name: "healthy: traffic split, first step begins",
                strategy: two_steps(),
                stage: Stage::Starting,
                observed: seen(Observed {
                    started: Some(Started::Ready(2)),
                    ..at(1_000)
                }),
                expect: then(
                    step(0, None, false),
                    vec![
                        healthy_lines(),
                        vec![Action::Route {
                            stable: vec![Group::Stable],
                            canary: vec![Group::Canary],
                        }],
                        weight(10, false, None),
                    ],
                ),
            },
            Row {
                name: "failed health at start: the rollout fails",
                strategy: two_steps(),
                stage: Stage::Starting,
                observed: seen(Observed {
                    started: Some(Started::Failed("not healthy within 20s".into())),
                    ..at(1_000)
                }),
                expect: Plan::fail(vec![Action::AwaitRecords], "not healthy within 20s"),
            },
            Row {
                name: "the first tick of a step starts its clock",
                strategy: two_steps(),
                stage: step(0, None, false),
                observed: seen(at(2_000)),
                expect: Plan {
                    actions: vec![],
                    stage: Rollout::Canary(step(0, holding(12_000), false)),
                    next: Next::Tick,
                },
            },
            Row {
                name: "a step held long enough advances to the next weight",
                strategy: two_steps(),
                stage: step(0, holding(12_000), false),
                observed: seen(at(12_000)),
                expect: then(step(1, None, false), vec![weight(50, false, None)]),
            },
            Row {
                name: "the last step held: promoted",
                strategy: two_steps(),
                stage: step(1, holding(30_000), false),
                observed: seen(at(30_500)),
                expect: Plan::finish(promoted(false)),
            },
            Row {
                name: "an operator's promote skips the remaining steps",
                strategy: two_steps(),
                stage: step(0, holding(12_000), false),
                observed: seen(Observed {
                    control: Some(Control::Promote),
                    ..at(3_000)
                }),
                expect: Plan::finish(
                    [
                        vec![record("promotion requested by an operator")],
                        promoted(false),
                    ]
                    .concat(),
                ),
            },
        ];
        for row in rows {
            check(row);
        }
    }

    #[test]
    fn canary_steps_pause_resume_and_leave() {
        let rows = vec![
            Row {
                name: "pause: recorded, the step holds on",
                strategy: two_steps(),
                stage: step(0, holding(12_000), false),
                observed: seen(Observed {
                    control: Some(Control::Pause),
                    ..at(3_000)
                }),
                expect: Plan {
                    actions: vec![record("paused by an operator"), Action::Save],
                    stage: Rollout::Canary(step(
                        0,
                        Some(Hold {
                            until_ms: 12_000,
                            paused_since_ms: Some(3_000),
                        }),
                        false,
                    )),
                    next: Next::Tick,
                },
            },
            Row {
                name: "lockdown (its pause annotation) holds a step past its end",
                strategy: two_steps(),
                stage: step(
                    0,
                    Some(Hold {
                        until_ms: 12_000,
                        paused_since_ms: Some(3_000),
                    }),
                    false,
                ),
                observed: seen(Observed {
                    control: Some(Control::Pause),
                    ..at(60_000)
                }),
                expect: Plan {
                    actions: vec![],
                    stage: Rollout::Canary(step(
                        0,
                        Some(Hold {
                            until_ms: 12_000,
                            paused_since_ms: Some(3_000),
                        }),
                        false,
                    )),
                    next: Next::Tick,
                },
            },
            Row {
                name: "resume: recorded, the step's end moves by the pause",
                strategy: two_steps(),
                stage: step(
                    0,
                    Some(Hold {
                        until_ms: 12_000,
                        paused_since_ms: Some(3_000),
                    }),
                    false,
                ),
                observed: seen(Observed {
                    control: Some(Control::Resume),
                    ..at(60_000)
                }),
                expect: Plan {
                    actions: vec![record("resumed by an operator"), Action::Save],
                    stage: Rollout::Canary(step(0, holding(69_000), false)),
                    next: Next::Tick,
                },
            },
            Row {
                name: "shutdown during a step: left for recovery",
                strategy: two_steps(),
                stage: step(0, holding(12_000), false),
                observed: seen(Observed {
                    shutdown: true,
                    ..at(3_000)
                }),
                expect: Plan::leave(Rollout::Canary(step(0, holding(12_000), false))),
            },
            Row {
                name: "lost lease during a step: left for the next holder",
                strategy: two_steps(),
                stage: step(1, holding(30_000), false),
                observed: seen(Observed {
                    lease_lost: true,
                    ..at(31_000)
                }),
                expect: Plan::leave(Rollout::Canary(step(1, holding(30_000), false))),
            },
        ];
        for row in rows {
            check(row);
        }
    }

    #[test]
    fn canary_breaches_and_aborts_roll_back() {
        let health = Tripped {
            breach: Breach {
                rule: "health_check_failures >= 3".into(),
                value: 3.0,
                shown: "3".into(),
                holding_since_ms: 2_500,
                at_ms: 2_500,
            },
            window: json!({"windowMs": 1000}),
            stable_too: false,
        };
        let rows = vec![
            Row {
                name: "a guardrail breach rolls back, traffic first",
                strategy: two_steps(),
                stage: step(1, holding(30_000), false),
                observed: seen(Observed {
                    tripped: Some(tripped(false)),
                    ..at(21_000)
                }),
                expect: Plan::finish(rolled_back(
                    tripped(false).breach,
                    tripped(false).window,
                    false,
                )),
            },
            Row {
                name: "failing health checks during a step roll back",
                strategy: two_steps(),
                stage: step(0, holding(12_000), false),
                observed: seen(Observed {
                    tripped: Some(health.clone()),
                    ..at(2_500)
                }),
                expect: Plan::finish(rolled_back(health.breach, health.window, false)),
            },
            Row {
                name: "an operator's abort rolls back",
                strategy: two_steps(),
                stage: step(0, holding(12_000), false),
                observed: seen(Observed {
                    control: Some(Control::Abort),
                    ..at(4_000)
                }),
                expect: Plan::finish(rolled_back(
                    watch::operator_abort(4_000),
                    Value::Null,
                    false,
                )),
            },
        ];
        for row in rows {
            check(row);
        }
    }

    #[test]
    fn canary_analyses_are_kept_and_a_failing_one_rolls_back() {
        let rows = vec![
            Row {
                name: "a step with analysis is judged when held",
                strategy: analysed_steps(),
                stage: step(0, holding(12_000), false),
                observed: seen(at(12_000)),
                expect: Plan {
                    actions: vec![Action::Analyse { step: 0 }],
                    stage: Rollout::Canary(Stage::Analysing {
                        index: 0,
                        experiment: false,
                    }),
                    next: Next::Now,
                },
            },
            Row {
                name: "a passing analysis is kept and the canary promoted",
                strategy: analysed_steps(),
                stage: Stage::Analysing {
                    index: 0,
                    experiment: false,
                },
                observed: seen(Observed {
                    analysis: Some(verdict(true)),
                    ..at(12_100)
                }),
                expect: Plan::finish(
                    [
                        vec![
                            record("canary analysis: score 100.0 → Pass"),
                            Action::Status(Edit::Analysis(json!({"label": "web step 20%"}))),
                            Action::Save,
                        ],
                        promoted(false),
                    ]
                    .concat(),
                ),
            },
            Row {
                name: "a failing analysis is kept and rolls back",
                strategy: analysed_steps(),
                stage: Stage::Analysing {
                    index: 0,
                    experiment: false,
                },
                observed: seen(Observed {
                    analysis: Some(verdict(false)),
                    ..at(12_100)
                }),
                expect: Plan::finish(
                    [
                        vec![
                            record("canary analysis: score 25.0 → Fail"),
                            Action::Status(Edit::Analysis(json!({"label": "web step 20%"}))),
                            Action::Save,
                        ],
                        rolled_back(
                            Breach {
                                rule: "canary analysis".into(),
                                value: 25.0,
                                shown: "score 25.0 → Fail".into(),
                                holding_since_ms: 12_100,
                                at_ms: 12_100,
                            },
                            json!({"label": "web step 20%"}),
                            false,
                        ),
                    ]
                    .concat(),
                ),
            },
        ];
        for row in rows {
            check(row);
        }
    }

    #[test]
    fn a_baseline_starts_beside_the_canary() {
        let rows = vec![
            Row {
                name: "healthy canary: the baseline starts beside it",
                strategy: beside("continue"),
                stage: Stage::Starting,
                observed: seen(Observed {
                    started: Some(Started::Ready(2)),
                    ..at(1_000)
                }),
                expect: then(
                    Stage::Baseline,
                    vec![
                        healthy_lines(),
                        vec![Action::Start {
                            group: Group::Baseline,
                            build: Build::Old,
                            first: 100,
                            count: 2,
                        }],
                    ],
                ),
            },
            Row {
                name: "healthy baseline: the experiment opens, the first step begins",
                strategy: beside("continue"),
                stage: Stage::Baseline,
                observed: seen(Observed {
                    started: Some(Started::Ready(2)),
                    ..at(1_500)
                }),
                expect: then(
                    step(0, None, true),
                    vec![
                        vec![
                            Action::OpenExperiment,
                            record(
                                "2 baseline instance(s) of 1.0.0 beside the canary, same traffic",
                            ),
                            Action::Route {
                                stable: vec![Group::Stable],
                                canary: vec![Group::Experiment],
                            },
                        ],
                        weight(10, true, None),
                    ],
                ),
            },
            Row {
                name: "the baseline does not start: the rollout fails",
                strategy: beside("continue"),
                stage: Stage::Baseline,
                observed: seen(Observed {
                    started: Some(Started::Failed(
                        "artifact 1.0.0: the stable version's artifact is gone".into(),
                    )),
                    ..at(1_500)
                }),
                expect: Plan::fail(
                    vec![],
                    "artifact 1.0.0: the stable version's artifact is gone",
                ),
            },
        ];
        for row in rows {
            check(row);
        }
    }

    #[test]
    fn environmental_breaches_are_told_apart_with_a_baseline_beside() {
        let rows = vec![
            Row {
                name: "environmental, carry on: recorded, the next step begins",
                strategy: beside("continue"),
                stage: step(0, holding(12_000), true),
                observed: seen(Observed {
                    tripped: Some(tripped(true)),
                    ..at(5_000)
                }),
                expect: then(
                    step(1, None, true),
                    vec![environmental_lines(), weight(50, true, None)],
                ),
            },
            Row {
                name: "environmental in the last step, carry on: promoted, experiment closed",
                strategy: beside("continue"),
                stage: step(1, holding(30_000), true),
                observed: seen(Observed {
                    tripped: Some(tripped(true)),
                    ..at(25_000)
                }),
                expect: Plan::finish([environmental_lines(), promoted(true)].concat()),
            },
            Row {
                name: "environmental, roll back: recorded, then rolled back",
                strategy: beside("rollBack"),
                stage: step(0, holding(12_000), true),
                observed: seen(Observed {
                    tripped: Some(tripped(true)),
                    ..at(5_000)
                }),
                expect: Plan::finish(
                    [
                        environmental_lines(),
                        rolled_back(tripped(true).breach, tripped(true).window, true),
                    ]
                    .concat(),
                ),
            },
            Row {
                name: "the canary alone breaches beside a healthy baseline: rolled back",
                strategy: beside("continue"),
                stage: step(0, holding(12_000), true),
                observed: seen(Observed {
                    tripped: Some(tripped(false)),
                    ..at(5_000)
                }),
                expect: Plan::finish(rolled_back(
                    tripped(false).breach,
                    tripped(false).window,
                    true,
                )),
            },
            Row {
                name: "without an experiment, a shared breach is the canary's",
                strategy: two_steps(),
                stage: step(0, holding(12_000), false),
                observed: seen(Observed {
                    tripped: Some(tripped(true)),
                    ..at(5_000)
                }),
                expect: Plan::finish(rolled_back(
                    tripped(true).breach,
                    tripped(true).window,
                    false,
                )),
            },
            Row {
                name: "environmental while shutting down: recorded, then left",
                strategy: beside("continue"),
                stage: step(0, holding(12_000), true),
                observed: seen(Observed {
                    tripped: Some(tripped(true)),
                    shutdown: true,
                    ..at(5_000)
                }),
                expect: Plan {
                    actions: environmental_lines(),
                    ..Plan::leave(Rollout::Canary(step(0, None, true)))
                },
            },
        ];
        for row in rows {
            check(row);
        }
    }
}
