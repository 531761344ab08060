//! The vocabulary every resource spec shares, in a crate of its own so that domain crates
//! which define kinds (`slipway-change`) and the kind registry (`slipway-domain`) can both use
//! it without depending on each other: diagnostics with field paths, the `SpecRules` trait,
//! typed validation of a spec value, environment tiers, canonical JSON with its digests, and
//! documents read with duplicate keys refused (`unique_keys`).
#![forbid(unsafe_code)]

pub mod canonical;
pub mod diagnostic;
pub mod tier;
pub mod typed;
pub mod unique_keys;

pub use diagnostic::Diagnostic;
pub use tier::EnvironmentTier;
pub use typed::{SpecRules, json_type, prefixed, typed, validate_typed};
pub use unique_keys::UniqueKeys;
