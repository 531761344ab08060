//! Slipway's deployment engine: where declared rollouts become running processes and routed
//! traffic.
//!
//! [`target`] starts and supervises service instances (the embedded default runs local
//! processes); [`health`] decides when an instance may receive traffic. The rollout reconciler
//! drives a Rollout resource step by step, persisting its status after every step, and watches
//! its guardrails continuously so a bad version is taken off traffic within about a second.
//! Before a rollout changes anything it passes the [`gate`], which governance decides.
#![forbid(unsafe_code)]

pub mod analysis;
pub mod gate;
pub mod health;
pub mod oci_program;
pub mod release;
pub mod rollout;
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
    #[error(transparent)]
    Store(#[from] slipway_store::StoreError),
}
