//! Slipway's change control, pure: change requests and their state machine (`request`), change
//! models (`model`), risk (`risk`), approvals with separation of duties (`approval`), calendars
//! with windows, freezes and daylight-saving rules (`calendar`, `rrule`), break-glass and
//! unauthorised-change detection (`emergency`), the gate decision core (`gate`),
//! post-implementation reviews with follow-up actions and proposed model patches, and rates
//! (`review`), and what changes still owe and what of it is overdue (`overdue`).
//!
//! Values in, values out: no I/O, no clock (every function takes `now`), no randomness, no
//! async. Specs deserialize from resource documents with unknown fields refused, and each has a
//! `validate()` returning diagnostics with field paths (`spec.windows[0].rrule: ...`); they also
//! implement `slipway_spec::SpecRules`, so `validate_typed::<Spec>` checks shape and
//! semantics in one call.
//!
//! Time is jiff's: one date-time library with IANA zones, explicit handling of gaps and folds,
//! and a bundled tz database (no files read). Cron expressions are parsed and walked by croner
//! (its jiff support, no chrono); RFC 5545 rules are expanded here (`rrule`), because the
//! `rrule` crate is built on chrono.

pub mod approval;
pub mod calendar;
pub mod emergency;
pub mod gate;
pub mod model;
pub mod overdue;
pub mod request;
pub mod review;
pub mod risk;
pub mod rrule;

pub use approval::{
    Approval, ApprovalRuleSpec, ApprovalStatus, Decision, SodContext, evaluate_approvals,
};
pub use calendar::{
    Calendar, CalendarDecision, CalendarSet, CalendarSpec, is_allowed, next_allowed_slot,
};
pub use emergency::{
    BreakGlassGrant, BreakGlassPolicy, grant_break_glass, unauthorised_change_check,
};
pub use gate::{GateDecision, GateInput, decide_gate, decide_gate_compiled};
pub use model::ChangeModelSpec;
pub use request::{
    Action, ChangeRecord, ChangeRequestSpec, ChangeState, ChangeType, Context, TransitionError,
    TransitionOutcome, change_content_digest, impacted_services, transition,
};
pub use review::{Rates, change_rates};
pub use risk::{RiskAssessment, RiskPolicySpec, assess_risk};
