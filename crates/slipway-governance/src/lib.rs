//! Governance at the server's edge: where the pure change-control rules (`slipway-change`) meet
//! the store. The change desk (`desk`) performs actions on change requests and records each as
//! an audited `ChangeEvent`; the gatekeeper (`gatekeeper`) implements the engine's `Gatekeeper`
//! from change requests, calendars and approvals and records each decision as an audited
//! `GateDecision`.
#![forbid(unsafe_code)]

pub mod desk;
pub mod gatekeeper;

pub use desk::{ChangeCommand, ChangeDesk, ChangeError, ChangeView};
pub use gatekeeper::GovernanceGate;
