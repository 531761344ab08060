//! The gate decision core: may a deployment of a service to an environment go ahead now?
//!
//! The rules, each always evaluated and listed with its outcome (the decision's JSON is what is
//! audited and what `slipway gate explain` prints):
//! - `calendars-valid`: the calendars compile (a broken calendar denies rather than allows);
//! - `lockdown`: no lockdown is on;
//! - `change-present`: a change request (or a valid break-glass grant) is given;
//! - `change-covers-target`: it targets this service and environment;
//! - `change-authorised`: it is authorised with its current content and in Implement, or a
//!   break-glass grant covers this service and environment now;
//! - `previous-emergency-reviewed` (emergency changes only): when the change's model sets
//!   `spec.emergency.blockWhilePreviousReviewOverdue`, no earlier emergency change of this
//!   service has its post-implementation review overdue; a deployment going back to the last
//!   promoted version ([`rollback_to_last_promoted`]) always passes it;
//! - `window`: now is inside a window at every level that defines them;
//! - `freeze`: no freeze is active;
//! - `checks`: every required check is present and passed, and no given check failed.
//!
//! The `window` and `freeze` rules pass with an approved exception, or under an active break-glass
//! grant (an emergency must be able to land during a freeze); lockdown is waived by nothing.
//! Rego policies are evaluated elsewhere and combined with this decision by the caller.

use crate::calendar::{Calendar, CalendarSet};
use crate::emergency::{
    BLOCK_FIELD, BreakGlassGrant, BreakGlassPolicy, PREVIOUS_REVIEW_RULE, blocked_reason,
    previous_reviews_overdue,
};
use crate::request::{ChangeRecord, ChangeState, ChangeType};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use slipway_spec::Diagnostic;

/// One check's result (tests, scans...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckResult {
    pub name: String,
    pub passed: bool,
    #[serde(default)]
    pub detail: String,
}

/// Everything the gate looks at.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GateInput<'a> {
    pub change: Option<&'a ChangeRecord>,
    pub service: &'a str,
    pub environment: &'a str,
    pub now: Timestamp,
    pub calendars: &'a [Calendar],
    pub checks: &'a [CheckResult],
    /// Checks that must be among `checks` and pass.
    pub required_checks: &'a [String],
    pub break_glass: Option<&'a BreakGlassGrant>,
    /// An approved exception to windows and freezes.
    pub exception_approved: bool,
    /// What the emergency loop's rule reads, for a deployment under an emergency change.
    pub emergency: Option<EmergencyFacts<'a>>,
}

/// What `previous-emergency-reviewed` reads.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EmergencyFacts<'a> {
    /// The change's ChangeModel (`None` for its type's built-in model).
    pub model: Option<&'a str>,
    pub policy: &'a BreakGlassPolicy,
    /// Every change request's record (the change itself may be among them). Needed only when
    /// the policy blocks.
    pub others: &'a [ChangeRecord],
    /// The artifact being deployed.
    pub artifact: &'a str,
    /// The service's promotions in this environment. Needed only when the policy blocks.
    pub promotions: &'a [Promotion],
}

/// A version that was promoted for a service in an environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Promotion {
    /// The Artifact resource.
    pub artifact: String,
    pub at: Timestamp,
}

/// Whether deploying `artifact` goes back to the last promoted version: the version promoted
/// last (serving now), or the one promoted before it (serving before the latest promotion,
/// which may be the one being backed out). The promotion it goes back to, if so.
pub fn rollback_to_last_promoted<'p>(
    artifact: &str,
    promotions: &'p [Promotion],
) -> Option<&'p Promotion> {
    let mut ordered: Vec<&Promotion> = promotions.iter().collect();
    ordered.sort_by_key(|p| std::cmp::Reverse(p.at));
    let mut distinct: Vec<&Promotion> = Vec::new();
    for p in ordered {
        if distinct.iter().all(|d| d.artifact != p.artifact) {
            distinct.push(p);
        }
        if distinct.len() == 2 {
            break;
        }
    }
    distinct.into_iter().find(|p| p.artifact == artifact)
}

/// One rule's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GateReason {
    pub rule: String,
    pub passed: bool,
    pub detail: String,
}

/// The gate's answer with every rule's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GateDecision {
    pub allowed: bool,
    pub reasons: Vec<GateReason>,
}

/// Decides the gate; see the module documentation for the rules.
pub fn decide_gate(input: &GateInput) -> GateDecision {
    decide_gate_compiled(input, &CalendarSet::compile(input.calendars))
}

/// [`decide_gate`] with `input.calendars` already compiled (a caller deciding often keeps the
/// compiled set while the calendars do not change).
pub fn decide_gate_compiled(
    input: &GateInput,
    calendars: &Result<CalendarSet, Vec<Diagnostic>>,
) -> GateDecision {
    let mut reasons = Vec::new();
    let mut rule = |rule: &str, passed: bool, detail: String| {
        reasons.push(GateReason {
            rule: rule.into(),
            passed,
            detail,
        })
    };
    let (service, environment, now) = (input.service, input.environment, input.now);

    // Break-glass: the input's grant, or the change's own.
    let grant = input
        .break_glass
        .or(input.change.and_then(|c| c.break_glass.as_ref()));
    let glass = grant.filter(|g| g.covers(service, environment, now));

    match calendars {
        Ok(_) => rule(
            "calendars-valid",
            true,
            format!("{} calendar(s) compiled", input.calendars.len()),
        ),
        Err(d) => rule(
            "calendars-valid",
            false,
            d.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        ),
    }
    let calendar = calendars
        .as_ref()
        .ok()
        .map(|set| set.is_allowed(now, service, environment));

    match &calendar {
        Some(c) if c.lockdown => rule(
            "lockdown",
            false,
            c.reasons
                .first()
                .cloned()
                .unwrap_or_else(|| "denied: lockdown".into()),
        ),
        Some(_) => rule("lockdown", true, "no lockdown is on".into()),
        None => rule(
            "lockdown",
            false,
            "unknown: the calendars do not compile".into(),
        ),
    }

    match (input.change, glass) {
        (Some(c), _) => rule(
            "change-present",
            true,
            format!("change {} ({})", c.id, c.state.as_str()),
        ),
        (None, Some(g)) => rule(
            "change-present",
            true,
            format!(
                "break-glass for change {} by {}",
                g.change_id, g.requested_by
            ),
        ),
        (None, None) => rule(
            "change-present",
            false,
            format!("no change request covers {service} in {environment}"),
        ),
    }

    match input.change {
        Some(c) if c.covers(service, environment) => rule(
            "change-covers-target",
            true,
            format!("change {} targets {service} in {environment}", c.id),
        ),
        Some(c) => rule(
            "change-covers-target",
            false,
            format!(
                "change {} targets {} in {}, not {service} in {environment}",
                c.id,
                c.spec.services.join(", "),
                c.spec.environments.join(", ")
            ),
        ),
        None => rule(
            "change-covers-target",
            glass.is_some(),
            match glass {
                Some(g) => format!(
                    "break-glass covers {service} in {environment} until {}",
                    g.allowed_until
                ),
                None => "no change to compare".into(),
            },
        ),
    }

    let authorised = match (input.change, glass) {
        (_, Some(g)) => (
            true,
            format!(
                "break-glass by {} until {} ({}); retrospective approval due by {}",
                g.requested_by, g.allowed_until, g.reason, g.retro_approval_deadline
            ),
        ),
        (Some(c), None) => {
            let mut why = Vec::new();
            if c.state != ChangeState::Implement {
                why.push(format!("it is in {}, not Implement", c.state.as_str()));
            }
            if c.authorised_digest.is_none() {
                why.push("it has not been authorised".into());
            } else if !c.is_authorised() {
                why.push("it was edited after it was authorised".into());
            }
            if let Some(g) = grant
                && !g.covers(service, environment, now)
            {
                why.push(format!(
                    "its break-glass grant ended at {}",
                    g.allowed_until
                ));
            }
            if why.is_empty() {
                (
                    true,
                    format!("change {} is authorised and in Implement", c.id),
                )
            } else {
                (false, format!("change {}: {}", c.id, why.join("; ")))
            }
        }
        (None, None) => (false, "no change to authorise the deployment".into()),
    };
    rule("change-authorised", authorised.0, authorised.1);

    if let Some(change) = input
        .change
        .filter(|c| c.spec.change_type == ChangeType::Emergency)
    {
        let (passed, detail) = previous_emergency_reviewed(change, input, input.emergency.as_ref());
        rule(PREVIOUS_REVIEW_RULE, passed, detail);
    }

    let waiver = if input.exception_approved {
        Some("an approved exception")
    } else if glass.is_some() {
        Some("break-glass")
    } else {
        None
    };
    match &calendar {
        None => {
            rule(
                "window",
                false,
                "unknown: the calendars do not compile".into(),
            );
            rule(
                "freeze",
                false,
                "unknown: the calendars do not compile".into(),
            );
        }
        Some(c) => {
            let window_reasons: Vec<&String> = c
                .reasons
                .iter()
                .filter(|r| r.contains("window") || r.starts_with("no windows"))
                .collect();
            let window_detail = window_reasons
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            if c.outside_windows_of.is_empty() {
                rule(
                    "window",
                    true,
                    non_empty(window_detail, "no windows restrict this target"),
                );
            } else if let Some(w) = waiver {
                rule("window", true, format!("{window_detail}; waived by {w}"));
            } else {
                rule("window", false, window_detail);
            }
            if c.freezes_active.is_empty() {
                rule("freeze", true, "no freeze is active".into());
            } else {
                let detail = c
                    .reasons
                    .iter()
                    .filter(|r| r.starts_with("freeze "))
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ");
                match waiver {
                    Some(w) => rule("freeze", true, format!("{detail}; waived by {w}")),
                    None => rule("freeze", false, detail),
                }
            }
        }
    }

    let mut failed: Vec<String> = input
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| {
            if c.detail.is_empty() {
                format!("{} failed", c.name)
            } else {
                format!("{} failed: {}", c.name, c.detail)
            }
        })
        .collect();
    for required in input.required_checks {
        if !input.checks.iter().any(|c| &c.name == required) {
            failed.push(format!("{required} has no result"));
        }
    }
    if failed.is_empty() {
        rule(
            "checks",
            true,
            if input.checks.is_empty() {
                "no checks are required".into()
            } else {
                format!(
                    "passed: {}",
                    input
                        .checks
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
        );
    } else {
        rule("checks", false, failed.join("; "));
    }

    GateDecision {
        allowed: reasons.iter().all(|r| r.passed),
        reasons,
    }
}

/// `previous-emergency-reviewed` for a deployment under the emergency change `change`.
fn previous_emergency_reviewed(
    change: &ChangeRecord,
    input: &GateInput,
    facts: Option<&EmergencyFacts>,
) -> (bool, String) {
    let Some(facts) = facts.filter(|f| f.policy.block_while_previous_review_overdue) else {
        return (
            true,
            format!("not enforced: the change's model does not set {BLOCK_FIELD}"),
        );
    };
    let (service, environment) = (input.service, input.environment);
    if let Some(back) = rollback_to_last_promoted(facts.artifact, facts.promotions) {
        return (
            true,
            format!(
                "{} was promoted for {service} in {environment} at {}: going back to the last promoted version is never blocked",
                back.artifact, back.at
            ),
        );
    }
    let unreviewed =
        previous_reviews_overdue(&change.id, &[service.to_string()], facts.others, input.now);
    if unreviewed.is_empty() {
        (
            true,
            format!("no earlier emergency change of {service} has an overdue review"),
        )
    } else {
        (false, blocked_reason(facts.model, &unreviewed))
    }
}

fn non_empty(text: String, otherwise: &str) -> String {
    if text.is_empty() {
        otherwise.into()
    } else {
        text
    }
}
