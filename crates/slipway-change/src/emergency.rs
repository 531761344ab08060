//! Emergency changes: break-glass grants with a reason and a time limit, the retrospective
//! approval deadline and review task they leave behind, and the detection of deployments that no
//! authorised change covers.
//!
//! A break-glass grant lets an emergency change deploy its services in its environments before it
//! is authorised, until `allowed_until` (at most the policy's `maxDuration`, 4 h by default). It
//! must be approved retrospectively within `retroApprovalWithin` (72 h by default), and a
//! post-implementation review is due within `reviewWithin` (5 days by default). The policy is
//! the change model's `spec.emergency`.
//!
//! With `blockWhilePreviousReviewOverdue: true`, an emergency change of that model may neither
//! break glass nor pass the gate for a service while an earlier emergency change of the same
//! service has its post-implementation review overdue ([`previous_reviews_overdue`]): the review
//! is due by its deadline, and a further emergency before then is allowed (a first hotfix often
//! needs a second within hours); once the deadline has passed without a review, the next
//! emergency waits for it. Rolling back to the last promoted version is never refused by it
//! (see `gate`).

use crate::calendar::show_duration;
use crate::overdue::{Due, overdue_by, unmet_obligations};
use crate::request::{ChangeRecord, ChangeState, ChangeType};
use crate::review::ReviewTask;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use slipway_spec::Diagnostic;

/// Limits of break-glass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct BreakGlassPolicy {
    /// The longest a grant may last.
    pub max_duration: SignedDuration,
    /// How long after the grant the retrospective approval is due.
    pub retro_approval_within: SignedDuration,
    /// How long after the grant the post-implementation review is due.
    pub review_within: SignedDuration,
    /// Refuse an emergency change (break-glass, and its deployments at the gate) for a service
    /// while an earlier emergency change of that service has its review overdue.
    pub block_while_previous_review_overdue: bool,
}

impl Default for BreakGlassPolicy {
    fn default() -> Self {
        BreakGlassPolicy {
            max_duration: SignedDuration::from_hours(4),
            retro_approval_within: SignedDuration::from_hours(72),
            review_within: SignedDuration::from_hours(24 * 5),
            block_while_previous_review_overdue: false,
        }
    }
}

impl BreakGlassPolicy {
    /// Semantic checks; paths start at `spec.emergency` (the change model's field).
    pub fn validate(&self) -> Vec<Diagnostic> {
        let mut d = Vec::new();
        for (field, value) in [
            ("maxDuration", self.max_duration),
            ("retroApprovalWithin", self.retro_approval_within),
            ("reviewWithin", self.review_within),
        ] {
            if value <= SignedDuration::ZERO {
                d.push(Diagnostic::new(
                    format!("spec.emergency.{field}"),
                    format!("{} is not a positive duration", show_duration(value)),
                ));
            }
        }
        d
    }
}

/// Someone asks to break the glass for an emergency change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BreakGlassRequest {
    pub requested_by: String,
    pub reason: String,
    /// How long the grant should last.
    pub duration: SignedDuration,
    pub at: Timestamp,
}

/// What break-glass allows and what it leaves to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BreakGlassGrant {
    pub change_id: String,
    pub requested_by: String,
    pub reason: String,
    pub services: Vec<String>,
    pub environments: Vec<String>,
    pub granted_at: Timestamp,
    pub allowed_until: Timestamp,
    pub retro_approval_deadline: Timestamp,
    pub review_task: ReviewTask,
}

impl BreakGlassGrant {
    /// In force at `now`.
    pub fn is_active_at(&self, now: Timestamp) -> bool {
        self.granted_at <= now && now < self.allowed_until
    }

    /// In force at `now` for `service` in `environment`.
    pub fn covers(&self, service: &str, environment: &str, now: Timestamp) -> bool {
        self.is_active_at(now)
            && self.services.iter().any(|s| s == service)
            && self.environments.iter().any(|e| e == environment)
    }
}

/// Why break-glass was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BreakGlassError {
    #[error("break-glass needs an emergency change; change {change} is {kind}")]
    NotEmergency { change: String, kind: &'static str },
    #[error("break-glass needs a reason")]
    NoReason,
    #[error("break-glass duration {requested} is not positive")]
    NotPositive { requested: String },
    #[error("break-glass duration {requested} is longer than the maximum of {max}")]
    TooLong { requested: String, max: String },
    #[error("change {change} is {state}; break-glass applies before Implement")]
    WrongState { change: String, state: &'static str },
    #[error("the policy's limits overflow the calendar")]
    Overflow,
}

/// Grants break-glass for an emergency change, within the policy's limits.
pub fn grant_break_glass(
    change: &ChangeRecord,
    request: &BreakGlassRequest,
    policy: &BreakGlassPolicy,
) -> Result<BreakGlassGrant, BreakGlassError> {
    if change.spec.change_type != ChangeType::Emergency {
        return Err(BreakGlassError::NotEmergency {
            change: change.id.clone(),
            kind: change.spec.change_type.as_str(),
        });
    }
    if change.state >= ChangeState::Implement {
        return Err(BreakGlassError::WrongState {
            change: change.id.clone(),
            state: change.state.as_str(),
        });
    }
    if request.reason.trim().is_empty() {
        return Err(BreakGlassError::NoReason);
    }
    if request.duration <= SignedDuration::ZERO {
        return Err(BreakGlassError::NotPositive {
            requested: show_duration(request.duration),
        });
    }
    if request.duration > policy.max_duration {
        return Err(BreakGlassError::TooLong {
            requested: show_duration(request.duration),
            max: show_duration(policy.max_duration),
        });
    }
    let after = |d: SignedDuration| {
        request
            .at
            .checked_add(d)
            .map_err(|_| BreakGlassError::Overflow)
    };
    Ok(BreakGlassGrant {
        change_id: change.id.clone(),
        requested_by: request.requested_by.clone(),
        reason: request.reason.clone(),
        services: change.spec.services.clone(),
        environments: change.spec.environments.clone(),
        granted_at: request.at,
        allowed_until: after(request.duration)?,
        retro_approval_deadline: after(policy.retro_approval_within)?,
        review_task: ReviewTask {
            change_id: change.id.clone(),
            due: after(policy.review_within)?,
            reason: format!(
                "post-implementation review of break-glass: {}",
                request.reason
            ),
        },
    })
}

/// A deployment as the engine saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub id: String,
    pub service: String,
    pub environment: String,
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployer: Option<String>,
}

/// A deployment that no authorised change covered, to record and review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnauthorisedChange {
    pub deployment: Deployment,
    pub detected_at: Timestamp,
    pub reason: String,
}

/// Whether some change authorised `deployment`: one that targets its service and environment and
/// was being implemented at its time (in Implement since `actualStart`, or later closed with
/// `actualEnd` after it) with the authorised content, or whose break-glass grant covered that
/// time. `None` when one did; otherwise the unauthorised change to record.
pub fn unauthorised_change_check(
    deployment: &Deployment,
    changes: &[ChangeRecord],
    now: Timestamp,
) -> Option<UnauthorisedChange> {
    let (service, environment, at) = (&deployment.service, &deployment.environment, deployment.at);
    let covered = changes.iter().any(|c| {
        if !c.covers(service, environment) {
            return false;
        }
        if c.break_glass
            .as_ref()
            .is_some_and(|g| g.covers(service, environment, at))
        {
            return true;
        }
        let implementing = match (c.actual_start, c.actual_end) {
            (Some(start), None) => c.state == ChangeState::Implement && start <= at,
            (Some(start), Some(end)) => start <= at && at <= end,
            _ => false,
        };
        implementing && c.is_authorised()
    });
    if covered {
        return None;
    }
    let candidates: Vec<&str> = changes
        .iter()
        .filter(|c| c.covers(service, environment))
        .map(|c| c.id.as_str())
        .collect();
    let reason = if candidates.is_empty() {
        format!("no change targets {service} in {environment}")
    } else {
        format!(
            "no change targeting {service} in {environment} ({}) was authorised and being implemented at {at}",
            candidates.join(", ")
        )
    };
    Some(UnauthorisedChange {
        deployment: deployment.clone(),
        detected_at: now,
        reason,
    })
}

/// The field of a change model that turns on [`previous_reviews_overdue`].
pub const BLOCK_FIELD: &str = "spec.emergency.blockWhilePreviousReviewOverdue";

/// The gate rule (and break-glass refusal) of [`previous_reviews_overdue`].
pub const PREVIOUS_REVIEW_RULE: &str = "previous-emergency-reviewed";

/// An earlier emergency change whose overdue review holds up a service's next emergency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnreviewedEmergency {
    pub change: String,
    /// The services it shares with the new change.
    pub services: Vec<String>,
    pub review_due: Timestamp,
    /// Past `review_due`, in whole seconds rounded up.
    pub overdue_by: SignedDuration,
}

impl std::fmt::Display for UnreviewedEmergency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the post-implementation review of emergency change {} ({}) was due at {} and is {} overdue; record it with `slipway change review {} --outcome ...`",
            self.change,
            self.services.join(", "),
            self.review_due,
            show_duration(self.overdue_by),
            self.change
        )
    }
}

/// Earlier emergency changes (break-glass granted) of any of `services`, other than `change`,
/// whose post-implementation review is overdue at `now`; oldest deadline first.
pub fn previous_reviews_overdue(
    change: &str,
    services: &[String],
    others: &[ChangeRecord],
    now: Timestamp,
) -> Vec<UnreviewedEmergency> {
    let mut found: Vec<UnreviewedEmergency> = others
        .iter()
        .filter(|other| other.id != change)
        .filter(|other| {
            other
                .break_glass
                .as_ref()
                .is_some_and(|g| g.granted_at <= now)
        })
        .flat_map(|other| {
            let shared: Vec<String> = other
                .spec
                .services
                .iter()
                .filter(|s| services.contains(s))
                .cloned()
                .collect();
            unmet_obligations(other)
                .into_iter()
                .filter(|o| o.due == Due::PostImplementationReview && o.deadline < now)
                .map(move |o| UnreviewedEmergency {
                    change: other.id.clone(),
                    services: shared.clone(),
                    review_due: o.deadline,
                    overdue_by: overdue_by(o.deadline, now),
                })
        })
        .filter(|u| !u.services.is_empty())
        .collect();
    found.sort_by(|a, b| {
        a.review_due
            .cmp(&b.review_due)
            .then(a.change.cmp(&b.change))
    });
    found
}

/// Why the model's knob refuses an emergency: the rule, the model's field and every earlier
/// change in the way.
pub fn blocked_reason(model: Option<&str>, unreviewed: &[UnreviewedEmergency]) -> String {
    format!(
        "ChangeModel {} {BLOCK_FIELD}: {}",
        model.unwrap_or("(built-in)"),
        unreviewed
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    )
}
