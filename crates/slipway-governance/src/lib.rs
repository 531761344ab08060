//! Governance at the server's edge: where the pure change-control rules (`slipway-change`) meet
//! the store. The change desk (`desk`) performs actions on change requests and records each as
//! an audited `ChangeEvent`; the gatekeeper (`gatekeeper`) implements the engine's `Gatekeeper`
//! from change requests, calendars and approvals and records each decision as an audited
//! `GateDecision`; `events` turns change actions and rollout outcomes into CDEvents delivered
//! to the configured sinks from the store's outbox; `escalation` lists what changes owe past
//! its deadline (retrospective approvals, reviews, follow-up actions) and escalates each once,
//! as an audited `ChangeEvent` and a CDEvent; `lockdown` pauses rollouts in flight while
//! a lockdown is on; `promotion` judges an environment's promotion policy against an
//! artifact's supply-chain status for the gate.
#![forbid(unsafe_code)]

pub mod desk;
pub mod escalation;
pub mod events;
pub mod gatekeeper;
pub mod lockdown;
pub mod promotion;

pub use desk::{ChangeCommand, ChangeDesk, ChangeError, ChangeView};
pub use gatekeeper::{GovernanceGate, UNAUTHORISED_LABEL, VerificationRecorder};
