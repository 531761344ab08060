//! Properties of every strategy's plans over whole runs, against a model of the world (which
//! groups of instances run and are ready, where the router sends traffic, the status and each
//! write of it): random runs (proptest) check that traffic never moves onto instances that are
//! not ready, that nothing is routed or stopped before the gate's record and `started` are
//! durable, and that a rollback always ends with all traffic on the stable version; scripted
//! runs check that recovery after a crash at any written step rolls the rollout back and lets
//! a resuming release deploy it again.

#![allow(clippy::unwrap_used)] // tests fail loudly

use super::recovery::{self, Found, Resumed};
use super::status::INTERRUPTED;
use super::testing::{spec, stable};
use super::*;
use proptest::prelude::*;
use serde_json::json;
use slipway_domain::kinds::RolloutSpec;
use std::collections::BTreeMap;

/// What happens in the world before one plan.
#[derive(Debug, Clone)]
struct Event {
    advance_ms: u64,
    control: Option<Control>,
    /// A guardrail breaches; `Some(true)`: the stable side too.
    trip: Option<bool>,
    /// A start (or a smoke test, or an analysis) that happens now succeeds.
    succeeds: bool,
    /// 0: the gate denies; 1 to 3: it says wait; otherwise it allows.
    gate: u8,
}

/// The world as the planner's actions leave it.
#[derive(Debug)]
struct Model {
    /// Groups whose instances started and passed their health checks, and how many.
    running: BTreeMap<Group, u32>,
    stable_set: Vec<Group>,
    canary_set: Vec<Group>,
    weight: u32,
    experiment: bool,
    adopted: Vec<Group>,
    /// The gate's record and `started` are durable.
    recorded: bool,
    status: RolloutStatus,
    saved: Vec<RolloutStatus>,
    pending: Observed,
    violations: Vec<String>,
    left: bool,
}

impl Model {
    fn new() -> Model {
        Model {
            running: BTreeMap::new(),
            stable_set: Vec::new(),
            canary_set: Vec::new(),
            weight: 0,
            experiment: false,
            adopted: Vec::new(),
            recorded: false,
            status: RolloutStatus::new(Phase::Pending, "2.0.0"),
            saved: Vec::new(),
            pending: Observed::default(),
            violations: Vec::new(),
            left: false,
        }
    }

    fn ready(&self, group: Group) -> bool {
        match group {
            Group::Experiment => {
                self.experiment
                    && self.running.contains_key(&Group::Baseline)
                    && self.running.contains_key(&Group::Canary)
            }
            other => self.running.contains_key(&other),
        }
    }

    /// Whether `group`'s instances get traffic now.
    fn carrying(&self, group: Group) -> bool {
        let canary_open = self.weight > 0 || self.stable_set.is_empty();
        self.stable_set.contains(&group)
            || (canary_open && self.canary_set.contains(&group))
            || (canary_open
                && self.experiment
                && self.canary_set.contains(&Group::Experiment)
                && matches!(group, Group::Baseline | Group::Canary))
    }

    fn violation(&mut self, what: String) {
        self.violations.push(what);
    }

    fn apply(&mut self, action: &Action, event: &Event, now_ms: u64) {
        match action {
            Action::AskGate => {
                self.pending.gate = Some(match event.gate {
                    0 => GateVerdict::Deny {
                        reasons: vec!["no".into()],
                    },
                    1..=3 => GateVerdict::Wait {
                        reasons: vec![format!("reason {}", event.gate)],
                    },
                    _ => GateVerdict::Allow {
                        summary: "ok".into(),
                    },
                })
            }
            Action::Start { group, count, .. } => {
                self.pending.started = Some(if event.succeeds {
                    *self.running.entry(*group).or_default() += count;
                    Started::Ready(*count)
                } else {
                    Started::Failed("not healthy".into())
                });
            }
            Action::AwaitRecords => self.recorded = true,
            Action::Route { stable, canary } => {
                self.touch("routed");
                for group in stable.iter().chain(canary) {
                    if !self.ready(*group) {
                        self.violation(format!("routed {group:?}, which is not ready"));
                    }
                }
                self.stable_set = stable.clone();
                self.canary_set = canary.clone();
            }
            Action::Weight(weight) => {
                self.touch("weighted");
                self.weight = *weight;
                if *weight > 0 && !self.canary_set.iter().all(|g| self.ready(*g)) {
                    self.violation("weighted onto a canary that is not ready".into());
                }
            }
            Action::OpenExperiment => {
                if !self.running.contains_key(&Group::Baseline) {
                    self.violation("opened an experiment without a ready baseline".into());
                }
                self.experiment = true;
            }
            Action::CloseExperiment => self.experiment = false,
            Action::Retire { count } => {
                self.touch("retired");
                let stable = self.running.entry(Group::Stable).or_default();
                *stable = stable.saturating_sub(*count);
                *self.running.entry(Group::Retiring).or_default() += count;
            }
            Action::Stop(group) => {
                if *group == Group::Stable {
                    self.touch("stopped the stable version");
                }
                if self.running.get(group).is_some_and(|n| *n > 0) && self.carrying(*group) {
                    self.violation(format!("stopped {group:?} while it carried traffic"));
                }
                self.running.remove(group);
            }
            Action::Adopt { groups, .. } => self.adopted = groups.clone(),
            Action::Analyse { .. } => {
                self.pending.analysis = Some(AnalysisVerdict {
                    passed: event.succeeds,
                    score: 50.0,
                    summary: "judged".into(),
                    record: json!({}),
                })
            }
            Action::Smoke { .. } => {
                self.pending.smoke = Some(SmokeAnswer {
                    ok: event.succeeds,
                    shown: "answer".into(),
                })
            }
            Action::Status(edit) => edit.apply(&mut self.status, "2.0.0", now_ms, json!([])),
            Action::Save | Action::SaveQueued => self.saved.push(self.status.clone()),
            Action::Fail(message) => {
                // What the executor's abandon does: traffic back on what is stable, the rest stops.
                self.stable_set = self.adopted.clone();
                self.canary_set.clear();
                self.weight = 0;
                self.experiment = false;
                let keep = self.adopted.clone();
                self.running.retain(|g, _| keep.contains(g));
                self.status.phase = Phase::Failed;
                self.status.message = Some(message.clone());
            }
            Action::OpenListener | Action::Watch(_) => {}
        }
    }

    /// Something that changes what runs or where traffic goes happened.
    fn touch(&mut self, what: &str) {
        if !self.recorded {
            self.violation(format!(
                "{what} before the gate's record and `started` were durable"
            ));
        }
    }
}

/// Runs a rollout of `spec` to its end (or 400 plans) through `events`, repeated.
fn run(spec: &RolloutSpec, stable_seen: bool, events: &[Event]) -> Model {
    let desired = Desired {
        spec,
        version: "2.0.0",
    };
    let mut model = Model::new();
    let seen = stable_seen.then(stable);
    if let Some(s) = &seen {
        model.running.insert(Group::Stable, s.instances);
        model.stable_set = vec![Group::Stable];
        model.adopted = vec![Group::Stable];
    }
    let mut stage = Stage::start();
    let mut now = 1_000;
    for (n, event) in events.iter().cycle().take(400).enumerate() {
        let pending = std::mem::take(&mut model.pending);
        let observed = Observed {
            now_ms: now,
            control: event.control,
            stable: seen.clone(),
            tripped: event.trip.map(|stable_too| Tripped {
                window: json!({"tick": n}),
                stable_too,
                ..testing::tripped(stable_too)
            }),
            ..pending
        };
        let plan = plan(&desired, &stage, &observed);
        for action in &plan.actions {
            model.apply(action, event, now);
        }
        stage = plan.stage;
        match plan.next {
            Next::Done => break,
            Next::Leave => {
                model.left = true;
                break;
            }
            Next::Now => {}
            Next::Tick | Next::RetryGate => now += event.advance_ms,
        }
    }
    model
}

fn event() -> impl proptest::strategy::Strategy<Value = Event> {
    let control = prop_oneof![
        6 => Just(None),
        1 => Just(Some(Control::Pause)),
        1 => Just(Some(Control::Resume)),
        1 => Just(Some(Control::Promote)),
        1 => Just(Some(Control::Abort)),
    ];
    let trip = prop_oneof![8 => Just(None), 1 => Just(Some(false)), 1 => Just(Some(true))];
    (
        0u64..15_000,
        control,
        trip,
        prop::bool::weighted(0.85),
        0u8..12,
    )
        .prop_map(|(advance_ms, control, trip, succeeds, gate)| Event {
            advance_ms,
            control,
            trip,
            succeeds,
            gate,
        })
}

fn strategy() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
    let step = (1u32..100, 0u64..20, prop::bool::ANY).prop_map(|(weight, pause, analysis)| {
        let mut step = json!({"weight": weight, "pause": format!("{pause}s")});
        if analysis {
            step["analysis"] =
                json!({"interval": "1s", "metrics": [{"name": "e", "metric": "error_rate"}]});
        }
        step
    });
    prop_oneof![
        Just(json!({"direct": {}})),
        (
            prop::collection::vec(step, 0..4),
            prop::bool::ANY,
            prop::bool::ANY
        )
            .prop_map(|(steps, beside, roll_back)| json!({"canary": {
                "steps": steps,
                "baseline": if beside { "beside" } else { "production" },
                "onEnvironmental": if roll_back { "rollBack" } else { "continue" }}})),
        (prop::bool::ANY, 0u64..60).prop_map(|(smoke, window)| {
            let mut s = json!({"blueGreen": {"rollbackWindow": format!("{window}s")}});
            if smoke {
                s["blueGreen"]["smokePath"] = json!("/smoke");
            }
            s
        }),
        (1u32..4, 0u64..20).prop_map(|(batch, pause)| {
            json!({"rolling": {"batchSize": batch, "pause": format!("{pause}s")}})
        }),
    ]
}

fn rollout(strategy: serde_json::Value, instances: u32) -> RolloutSpec {
    RolloutSpec {
        instances,
        ..spec(strategy)
    }
}

proptest! {
    #[test]
    fn traffic_only_reaches_ready_instances_and_a_rollback_ends_on_stable(
        strategy in strategy(),
        instances in 1u32..5,
        stable_seen in prop::bool::weighted(0.8),
        events in prop::collection::vec(event(), 1..40),
    ) {
        let spec = rollout(strategy, instances);
        let model = run(&spec, stable_seen, &events);
        prop_assert!(model.violations.is_empty(), "{:?}", model.violations);
        if model.status.phase == Phase::RolledBack && !model.left {
            prop_assert!(!model.stable_set.is_empty(), "nothing serves after the rollback");
            prop_assert!(
                model.stable_set.iter().all(|g| matches!(g, Group::Stable | Group::Restored)),
                "after a rollback the stable set is {:?}", model.stable_set
            );
            prop_assert!(model.canary_set.is_empty() || model.weight == 0,
                "{}% still goes to {:?}", model.weight, model.canary_set);
            prop_assert!(!model.experiment, "the experiment router is left open");
            prop_assert!(!model.running.contains_key(&Group::Canary), "the canary still runs");
            prop_assert!(!model.running.contains_key(&Group::Baseline), "the baseline still runs");
        }
        if model.status.phase == Phase::Promoted {
            prop_assert_eq!(&model.stable_set, &vec![Group::Canary]);
            prop_assert!(model.canary_set.is_empty() || model.weight == 0);
            prop_assert!(!model.experiment);
            prop_assert_eq!(model.running.keys().copied().collect::<Vec<_>>(), vec![Group::Canary]);
        }
    }
}

/// Every strategy, each way it can go through its steps.
fn every_strategy() -> Vec<serde_json::Value> {
    vec![
        json!({"direct": {}}),
        json!({"canary": {"steps": [{"weight": 10, "pause": "2s"}, {"weight": 50, "pause": "2s",
            "analysis": {"interval": "1s", "metrics": [{"name": "e", "metric": "error_rate"}]}}]}}),
        json!({"canary": {"steps": [{"weight": 10, "pause": "2s"}, {"weight": 50, "pause": "2s"}],
            "baseline": "beside"}}),
        json!({"blueGreen": {"smokePath": "/smoke", "rollbackWindow": "3s"}}),
        json!({"rolling": {"batchSize": 1, "pause": "2s"}}),
    ]
}

#[test]
fn recovery_after_a_crash_at_any_written_step_rolls_back_and_redeploys() {
    let quiet = |gate| Event {
        advance_ms: 1_000,
        control: None,
        trip: None,
        succeeds: true,
        gate,
    };
    // Asked twice with reasons to wait, then allowed.
    let events: Vec<Event> = [1, 2]
        .into_iter()
        .chain(std::iter::repeat_n(9, 40))
        .map(quiet)
        .collect();
    for strategy in every_strategy() {
        let spec = rollout(strategy.clone(), 2);
        let model = run(&spec, true, &events);
        assert_eq!(model.status.phase, Phase::Promoted, "{strategy}");
        let in_flight: Vec<&RolloutStatus> = model
            .saved
            .iter()
            .filter(|s| s.phase == Phase::Progressing)
            .collect();
        assert!(in_flight.len() >= 2, "{strategy}: {:?}", model.saved);
        for (at, written) in model.saved.iter().enumerate() {
            let found = recovery::rollout(written, 99_000);
            let crashed = format!(
                "{strategy}, crashed after write {at} ({:?})",
                written.history.last()
            );
            match written.phase {
                Phase::Progressing => {
                    let Found::RolledBack(now) = found else {
                        panic!("{crashed}: {found:?}");
                    };
                    assert_eq!(now.phase, Phase::RolledBack, "{crashed}");
                    assert_eq!(now.weight, 0, "{crashed}");
                    assert_eq!(now.message.as_deref(), Some(INTERRUPTED), "{crashed}");
                    assert_eq!(now.history.len(), written.history.len() + 1, "{crashed}");
                    assert_eq!(
                        recovery::resumed(Some(&now), Some("2.0.0")),
                        Resumed::Deploy,
                        "{crashed}"
                    );
                }
                Phase::Pending => {
                    assert_eq!(found, Found::Keep, "{crashed}");
                    assert_eq!(
                        recovery::resumed(Some(written), Some("2.0.0")),
                        Resumed::Deploy,
                        "{crashed}"
                    );
                }
                Phase::Promoted => {
                    let last = written.history.last().map(|h| h.at_ms).unwrap_or(0);
                    assert_eq!(found, Found::Promoted { at_ms: last }, "{crashed}");
                    assert_eq!(
                        recovery::resumed(Some(written), Some("2.0.0")),
                        Resumed::Promoted,
                        "{crashed}"
                    );
                    // Promoted, but another build since: the release stops as it would have.
                    assert_eq!(
                        recovery::resumed(Some(written), Some("3.0.0")),
                        Resumed::Ended(Phase::Promoted),
                        "{crashed}"
                    );
                }
                other => panic!("{crashed}: unexpected phase {other:?}"),
            }
        }
    }
}

#[test]
fn recovery_restores_the_latest_promotion_per_service_and_resumes_releases() {
    let restore = recovery::to_restore([
        ("web.prod".to_string(), "web-1".to_string(), 100),
        ("web.prod".to_string(), "web-2".to_string(), 300),
        ("web.prod".to_string(), "web-0".to_string(), 200),
        ("api.prod".to_string(), "api-1".to_string(), 50),
        ("api.prod".to_string(), "api-1b".to_string(), 50),
    ]);
    assert_eq!(
        restore,
        BTreeMap::from([
            ("api.prod".to_string(), "api-1".to_string()),
            ("web.prod".to_string(), "web-2".to_string()),
        ])
    );
    let running = status::ReleaseStatus {
        phase: Phase::Progressing,
        waves: vec![],
        rollouts: vec![],
        history: vec![],
        message: None,
    };
    let resumed = recovery::release(&running, 7).unwrap();
    assert_eq!(
        resumed.history.last().map(|h| h.what.as_str()),
        Some("interrupted by a restart of the server: resuming")
    );
    let ended = status::ReleaseStatus {
        phase: Phase::Failed,
        ..running
    };
    assert_eq!(recovery::release(&ended, 7), None);
    assert_eq!(recovery::resumed(None, Some("2.0.0")), Resumed::Deploy);
    let failed = RolloutStatus {
        message: Some("breached".into()),
        ..RolloutStatus::new(Phase::RolledBack, "2.0.0")
    };
    assert_eq!(
        recovery::resumed(Some(&failed), Some("2.0.0")),
        Resumed::Ended(Phase::RolledBack)
    );
}
