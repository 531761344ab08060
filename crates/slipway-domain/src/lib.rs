//! Slipway's pure domain core.
//!
//! Everything here takes values and returns values: no file, network, clock or database access.
//! Bad input never panics; it comes back as [`diagnostic::Diagnostic`]s or typed errors. The store,
//! the API and the CLI build on these types and rules; none of them is known here.
#![forbid(unsafe_code)]

pub mod audit;
pub mod authz;
/// Canonical JSON lives in `slipway-spec`, shared with the crates that define kinds.
pub use slipway_spec::canonical;
/// Diagnostics live in `slipway-spec`, shared with the crates that define kinds.
pub use slipway_spec::diagnostic;
pub mod diff;
pub mod governance_records;
pub mod guardrail;
pub mod kinds;
pub mod plan;
pub mod references;
pub mod resource;
pub mod template;
