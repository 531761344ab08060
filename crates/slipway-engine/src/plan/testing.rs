//! What the planners' tests share: a rollout spec by strategy, observations at a moment, a
//! breach, and the stable version the rollouts replace.

#![allow(clippy::unwrap_used)] // test fixtures fail loudly

use super::{Observed, StableSeen, Tripped};
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
