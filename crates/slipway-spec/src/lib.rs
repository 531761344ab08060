//! The vocabulary every resource spec shares, in a crate of its own so that domain crates
//! which define kinds (`slipway-change`) and the kind registry (`slipway-domain`) can both use
//! it without depending on each other: diagnostics with field paths, the `SpecRules` trait,
//! typed validation of a spec value, environment tiers, and canonical JSON with its digests.
#![forbid(unsafe_code)]

pub mod canonical;
pub mod diagnostic;
pub mod tier;
pub mod typed;

pub use diagnostic::Diagnostic;
pub use tier::EnvironmentTier;
pub use typed::{SpecRules, json_type, prefixed, typed, validate_typed};
