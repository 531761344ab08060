//! The rollout and release planners: pure functions from what is wanted, where a rollout
//! stands and what the executor measured, to what to do next.
//!
//! A rollout is reconciled the kube-rs way: the executor observes ([`Observed`]: the time,
//! the gate's verdict, the instances it started, the guardrails over the router's windows,
//! the analysis, the operator's control, the lease and shutdown), asks [`plan`], applies the
//! [`Action`]s through the target, the router, the gate and the status writer, and comes back
//! when the plan's [`Next`] says. A planner never does I/O and never reads a clock: time
//! comes in [`Observed::now_ms`], and everything it decides comes out as data, so every
//! transition is tested without processes (`tests` in each strategy's module).
//!
//! One module per strategy: [`direct`], [`canary`] (with the baseline beside it in
//! [`experiment`]), [`blue_green`], [`rolling`]; [`admission`] is the gate every strategy
//! passes first, [`watch`] the held step they share, [`recovery`] plans from persisted status
//! after a restart, and [`release`] is the release driver's stage and wave logic.

pub mod admission;
pub mod blue_green;
pub mod canary;
pub mod direct;
pub mod experiment;
pub mod recovery;
pub mod release;
pub mod rolling;
pub mod status;
pub mod watch;

#[cfg(test)]
mod properties;
#[cfg(test)]
pub(crate) mod testing;

use serde_json::Value;
use slipway_domain::guardrail::Breach;
use slipway_domain::kinds::RolloutSpec;
use slipway_gate::GateVerdict;

pub use status::{Phase, RolloutStatus};

/// A set of instances a rollout deals with; the executor keeps which instances each holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Group {
    /// What ran as stable when the rollout began (rolling: the old instances still serving).
    Stable,
    /// The new version's instances.
    Canary,
    /// Fresh instances of the stable version beside the canary, behind the experiment router.
    Baseline,
    /// Old instances a rolling rollout takes out of service in this batch.
    Retiring,
    /// Old-version instances a rolling rollback brought back.
    Restored,
    /// The experiment router's entry: with a baseline beside the canary, the main router's
    /// canary share goes there.
    Experiment,
}

/// Which build instances run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    /// The artifact the rollout deploys.
    New,
    /// The version that was stable when the rollout began.
    Old,
}

/// What a held step measures, from the moment the executor applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchSpec {
    /// Watch the experiment router (baseline against canary) instead of the service's own.
    pub experiment: bool,
    /// Which side of the router the guardrails judge: the canary, or (blue-green, rolling)
    /// the stable set that now carries the new version.
    pub side: Side,
    /// Instances probed continuously for the `health_check_failures` guardrail.
    pub probes: Option<Group>,
    /// The canary step whose analysis samples are collected.
    pub analysis: Option<usize>,
}

/// One side of a router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Stable,
    Canary,
}

/// A change to the rollout's status (applied in memory; [`Action::Save`] writes it).
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// A fresh status in this phase: the history starts again.
    Reset(Phase),
    Phase(Phase),
    Weight(u32),
    Message(String),
    /// A line in the history, stamped when applied.
    Record(String),
    Breach(Breach),
    /// Traffic is back on stable: `stableAtMs` and this history line, stamped together.
    StableNow(String),
    /// The evidence: `window` (what breached) and, under `output`, the last output lines of
    /// `group`'s instances (collected before they stop).
    Evidence {
        window: Value,
        output: &'static str,
        group: Group,
    },
    /// A canary analysis' whole record.
    Analysis(Value),
    /// A breach the baseline shared with the canary.
    Environmental(Value),
}

impl Edit {
    /// Applies the edit to `status` at `at_ms`; `output` is what [`Edit::Evidence`] keeps
    /// under its name (the executor collects it from the target).
    pub fn apply(&self, status: &mut RolloutStatus, version: &str, at_ms: u64, output: Value) {
        match self {
            Edit::Reset(phase) => *status = RolloutStatus::new(*phase, version),
            Edit::Phase(phase) => status.phase = *phase,
            Edit::Weight(weight) => status.weight = *weight,
            Edit::Message(message) => status.message = Some(message.clone()),
            Edit::Record(what) => status.record(at_ms, what.clone()),
            Edit::Breach(breach) => status.breach = Some(breach.clone()),
            Edit::StableNow(what) => {
                status.stable_at_ms = Some(at_ms);
                status.record(at_ms, what.clone());
            }
            Edit::Evidence {
                window,
                output: key,
                ..
            } => {
                status.evidence = Some(serde_json::json!({"window": window, (*key): output}));
            }
            Edit::Analysis(record) => status.analyses.push(record.clone()),
            Edit::Environmental(record) => status.environmental.push(record.clone()),
        }
    }
}

/// One thing to do; the executor applies a plan's actions in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Ask the gate; its verdict is observed next ([`Observed::gate`]).
    AskGate,
    /// Open the service's listener on the router (nothing routed yet).
    OpenListener,
    /// Start `count` instances of `build` (indexes from `first`) into `group` and wait until
    /// each passes its health check; the outcome is observed next ([`Observed::started`]).
    Start {
        group: Group,
        build: Build,
        first: u32,
        count: u32,
    },
    /// Wait until the allowing gate decision and every queued status write are durable.
    AwaitRecords,
    /// Route the service: its stable and canary sets, by group, in order.
    Route {
        stable: Vec<Group>,
        canary: Vec<Group>,
    },
    /// The canary's share of the service's traffic, percent.
    Weight(u32),
    /// The experiment router: its own listener, baseline and canary at 50% each.
    OpenExperiment,
    /// Take the experiment router away.
    CloseExperiment,
    /// Move the first `count` instances of [`Group::Stable`] to [`Group::Retiring`].
    Retire {
        count: u32,
    },
    /// Stop a group's instances.
    Stop(Group),
    /// What runs as stable for the service from now on (what a failure falls back to).
    Adopt {
        build: Build,
        groups: Vec<Group>,
    },
    /// Begin measuring a held step.
    Watch(WatchSpec),
    /// Judge canary step `step`; the verdict is observed next ([`Observed::analysis`]).
    Analyse {
        step: usize,
    },
    /// GET `path` on the new colour through the router, version pinned; observed next
    /// ([`Observed::smoke`]).
    Smoke {
        path: String,
    },
    Status(Edit),
    /// Write the status and wait until it is durable.
    Save,
    /// Queue the status write; [`Action::AwaitRecords`] waits for it.
    SaveQueued,
    /// The rollout cannot go on: traffic back on what is stable, everything it started
    /// stopped, and its status Failed with this message.
    Fail(String),
}

/// When to plan again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// At once (after observing what the actions did).
    Now,
    /// After a guardrail tick.
    Tick,
    /// After the gate's retry interval.
    RetryGate,
    /// The rollout is over.
    Done,
    /// Stop driving and leave everything as it is (shutdown, lost lease; recovery or the
    /// next lease holder takes over).
    Leave,
}

/// What a planner returns: actions to apply in order, where the rollout then stands, and when
/// to plan again.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub actions: Vec<Action>,
    pub stage: Stage,
    pub next: Next,
}

impl Plan {
    /// Leave the rollout where it is.
    pub fn leave(stage: Stage) -> Plan {
        Plan {
            actions: Vec::new(),
            stage,
            next: Next::Leave,
        }
    }

    /// The rollout fails with `message` (after `before`).
    pub fn fail(mut before: Vec<Action>, message: impl Into<String>) -> Plan {
        before.push(Action::Fail(message.into()));
        Plan {
            actions: before,
            stage: Stage::Over,
            next: Next::Done,
        }
    }

    /// The rollout ends after `actions`.
    pub fn finish(actions: Vec<Action>) -> Plan {
        Plan {
            actions,
            stage: Stage::Over,
            next: Next::Done,
        }
    }
}

/// Where a rollout stands: the planner's own status between plans.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// Asking the gate; `last_wait` is the last reasons to wait written to the status.
    Gate {
        last_wait: Option<Vec<String>>,
    },
    Direct(direct::Stage),
    Canary(canary::Stage),
    BlueGreen(blue_green::Stage),
    Rolling(rolling::Stage),
    Over,
}

impl Stage {
    /// Where every rollout begins.
    pub fn start() -> Stage {
        Stage::Gate { last_wait: None }
    }

    /// A held step: every tick, the guardrails are measured and the operator's control read.
    pub fn watching(&self) -> bool {
        self.hold().is_some()
    }

    /// A held step an operator paused (its analysis samples nothing meanwhile).
    pub fn paused(&self) -> bool {
        self.hold()
            .flatten()
            .is_some_and(|h| h.paused_since_ms.is_some())
    }

    /// The held step's hold (`Some(None)`: held, clock not started yet).
    fn hold(&self) -> Option<Option<watch::Hold>> {
        match self {
            Stage::Canary(canary::Stage::Step { hold, .. })
            | Stage::BlueGreen(blue_green::Stage::Switched { hold })
            | Stage::Rolling(rolling::Stage::Holding { hold, .. }) => Some(*hold),
            _ => None,
        }
    }
}

/// An operator's request, from the rollout's `slipway.dev/control` annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Abort,
    Promote,
    Pause,
    Resume,
}

impl Control {
    /// The request an annotation value makes, if any.
    pub fn from_annotation(value: &str) -> Option<Control> {
        match value {
            "abort" => Some(Control::Abort),
            "promote" => Some(Control::Promote),
            "pause" => Some(Control::Pause),
            "resume" => Some(Control::Resume),
            _ => None,
        }
    }
}

/// What the stable version is, as the rollout found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StableSeen {
    pub version: String,
    pub instances: u32,
}

/// How a [`Action::Start`] ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// This many instances are running and healthy.
    Ready(u32),
    Failed(String),
}

/// A guardrail breached in the window measured this tick.
#[derive(Debug, Clone, PartialEq)]
pub struct Tripped {
    pub breach: Breach,
    /// The window that breached, as evidence.
    pub window: Value,
    /// The stable side (the baseline, with an experiment) breaks the same rule.
    pub stable_too: bool,
}

/// The canary judge's verdict on a step.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisVerdict {
    pub passed: bool,
    pub score: f64,
    pub summary: String,
    /// The judge's whole input and result.
    pub record: Value,
}

/// The answer to a smoke test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmokeAnswer {
    pub ok: bool,
    /// The status code, or the error.
    pub shown: String,
}

/// What the executor measured since the last plan. Outcomes of actions (`gate`, `started`,
/// `analysis`, `smoke`) are seen once, in the plan right after the action.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    /// Milliseconds since the Unix epoch.
    pub now_ms: u64,
    pub shutdown: bool,
    /// This replica lost the engine lease: another one drives rollouts now.
    pub lease_lost: bool,
    /// The Rollout resource is gone.
    pub deleted: bool,
    pub control: Option<Control>,
    /// What ran as stable for the service when the rollout began.
    pub stable: Option<StableSeen>,
    pub gate: Option<GateVerdict>,
    pub started: Option<Started>,
    pub tripped: Option<Tripped>,
    pub analysis: Option<AnalysisVerdict>,
    pub smoke: Option<SmokeAnswer>,
}

impl Observed {
    /// Shut down, or no longer the lease holder: stop driving.
    pub fn leaving(&self) -> bool {
        self.shutdown || self.lease_lost
    }

    /// The version that was stable when the rollout began (empty if none).
    pub fn stable_version(&self) -> &str {
        self.stable
            .as_ref()
            .map(|s| s.version.as_str())
            .unwrap_or_default()
    }
}

/// What a rollout is asked to achieve.
#[derive(Debug, Clone, Copy)]
pub struct Desired<'a> {
    pub spec: &'a RolloutSpec,
    /// The version the rollout's artifact builds.
    pub version: &'a str,
}

/// Plans a rollout's next actions.
pub fn plan(desired: &Desired<'_>, stage: &Stage, observed: &Observed) -> Plan {
    match stage {
        Stage::Gate { last_wait } => admission::plan(desired, last_wait.as_ref(), observed),
        Stage::Direct(stage) => direct::plan(desired, stage, observed),
        Stage::Canary(stage) => canary::plan(desired, stage, observed),
        Stage::BlueGreen(stage) => blue_green::plan(desired, stage, observed),
        Stage::Rolling(stage) => rolling::plan(desired, stage, observed),
        Stage::Over => Plan::finish(Vec::new()),
    }
}

/// A history line.
pub(crate) fn record(what: impl Into<String>) -> Action {
    Action::Status(Edit::Record(what.into()))
}

/// The first steps after the new instances started: wait for the gate's record and the
/// `started` status, then say how many are healthy. `Err` is the plan when they did not start.
pub(crate) fn healthy(desired: &Desired<'_>, observed: &Observed) -> Result<Vec<Action>, Plan> {
    match &observed.started {
        Some(Started::Ready(count)) => Ok(vec![
            Action::AwaitRecords,
            record(format!(
                "{count} instance(s) of {} healthy",
                desired.version
            )),
            Action::Save,
        ]),
        Some(Started::Failed(reason)) => Err(Plan::fail(vec![Action::AwaitRecords], reason)),
        None => Err(Plan::fail(
            vec![Action::AwaitRecords],
            "the new instances' start was not observed",
        )),
    }
}
