//! Emergency changes: break-glass grants with a reason and a time limit, the retrospective
//! approval deadline and review task they leave behind, and the detection of deployments that no
//! authorised change covers.
//!
//! A break-glass grant lets an emergency change deploy its services in its environments before it
//! is authorised, until `allowed_until` (at most the policy's `maxDuration`, 4 h by default). It
//! must be approved retrospectively within `retroApprovalWithin` (72 h by default), and a
//! post-implementation review is due within `reviewWithin` (5 days by default).

use crate::calendar::show_duration;
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
}

impl Default for BreakGlassPolicy {
    fn default() -> Self {
        BreakGlassPolicy {
            max_duration: SignedDuration::from_hours(4),
            retro_approval_within: SignedDuration::from_hours(72),
            review_within: SignedDuration::from_hours(24 * 5),
        }
    }
}

impl BreakGlassPolicy {
    /// Semantic checks; paths start at `spec`.
    pub fn validate(&self) -> Vec<Diagnostic> {
        let mut d = Vec::new();
        for (field, value) in [
            ("maxDuration", self.max_duration),
            ("retroApprovalWithin", self.retro_approval_within),
            ("reviewWithin", self.review_within),
        ] {
            if value <= SignedDuration::ZERO {
                d.push(Diagnostic::new(
                    format!("spec.{field}"),
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
