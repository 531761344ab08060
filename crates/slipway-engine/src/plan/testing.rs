//! What the planners' tests share: a rollout spec by strategy, observations at a moment, a
//! breach, and the stable version the rollouts replace.

#![allow(clippy::unwrap_used)] // test fixtures fail loudly

use super::{Action, Build, Edit, Group, Observed, Phase, StableSeen, Tripped};
use slipway_domain::guardrail::Breach;
use slipway_domain::kinds::RolloutSpec;

/// A rollout of two instances of `web` to `prod` by `strategy` (its JSON form).
pub fn spec(strategy: serde_json::Value) -> RolloutSpec {
    serde_json::from_value(serde_json::json!({
        "service": "web", "environment": "prod", "artifact": "web-2", "instances": 2,
        "listen": "127.0.0.1:18080", "strategy": strategy,
        "guardrails": ["error_rate > 5% for 1s"],
    }))
    .unwrap()
}

/// Nothing measured, at `now_ms`.
pub fn at(now_ms: u64) -> Observed {
    Observed {
        now_ms,
        ..Observed::default()
    }
}

/// Version 1.0.0 on two instances.
pub fn stable() -> StableSeen {
    StableSeen {
        version: "1.0.0".into(),
        instances: 2,
    }
}

/// An error-rate breach; `stable_too` when the stable side breaks the rule as well.
pub fn tripped(stable_too: bool) -> Tripped {
    Tripped {
        breach: Breach {
            rule: "error_rate > 5% for 1s".into(),
            value: 0.2,
            shown: "20.0%".into(),
            holding_since_ms: 900,
            at_ms: 1_900,
        },
        window: serde_json::json!({"windowMs": 1000}),
        stable_too,
    }
}

/// What every promotion of 2.0.0 ends with (direct, canary, rolling), spelled out; `line` is
/// what its history says.
pub fn promoted(line: &str) -> Vec<Action> {
    vec![
        Action::Route {
            stable: vec![Group::Canary],
            canary: vec![],
        },
        Action::Weight(0),
        Action::Stop(Group::Stable),
        Action::Adopt {
            build: Build::New,
            groups: vec![Group::Canary],
        },
        Action::Status(Edit::Phase(Phase::Promoted)),
        Action::Status(Edit::Weight(100)),
        Action::Status(Edit::Record(line.into())),
        Action::Save,
    ]
}

/// What every rollback ends with once traffic is back on stable, spelled out: the new
/// version's output kept under `output` (if any), the new version stopped, the status rolled
/// back with the breach.
pub fn rolled_back_tail(
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

/// A promotion of 2.0.0 over 1.0.0.
pub fn promoted_over_stable() -> Vec<Action> {
    promoted("promoted 2.0.0, replacing 1.0.0")
}
