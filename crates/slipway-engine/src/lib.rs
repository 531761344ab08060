//! Slipway's deployment engine: where declared rollouts become running processes and routed
//! traffic.
//!
//! [`plan`] holds the pure planners: one module per strategy deciding, from what a rollout
//! wants, where it stands and what was measured, what to do next; and the release driver's
//! stage and wave logic. [`reconcile`] is the loop that observes, plans, applies and requeues;
//! [`executor`] applies the actions through a [`target`] (the embedded default runs local
//! processes), the traffic router, the gate (`slipway-gate`, which governance decides) and
//! the [`status_writer`]. [`health`] decides when an instance may receive traffic,
//! [`observe`] measures a held step, [`analysis`] judges a canary step, [`release`] drives
//! releases and [`recovery`] picks up after a restart.
#![forbid(unsafe_code)]

pub mod analysis;
pub mod executor;
pub mod health;
pub mod observe;
pub mod oci_program;
pub mod plan;
pub mod program;
pub mod reconcile;
pub mod recovery;
pub mod release;
pub mod rollout;
pub mod stage_check;
pub mod status_writer;
pub mod target;

/// Errors from the engine; messages are lower-case and name the instance or resource.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("instance {instance}: {reason}")]
    Instance { instance: String, reason: String },
    #[error("artifact {artifact}: {reason}")]
    Artifact { artifact: String, reason: String },
    #[error("refused at the gate: {}", reasons.join("; "))]
    Gate { reasons: Vec<String> },
    /// A planner ended the rollout as failed, saying why.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] slipway_store::StoreError),
    /// The gate could not decide.
    #[error(transparent)]
    GateUnavailable(Box<dyn std::error::Error + Send + Sync>),
}

impl From<slipway_gate::GateError> for EngineError {
    fn from(e: slipway_gate::GateError) -> Self {
        match e {
            slipway_gate::GateError::Refused { reasons } => EngineError::Gate { reasons },
            slipway_gate::GateError::Unavailable(e) => EngineError::GateUnavailable(e),
        }
    }
}
