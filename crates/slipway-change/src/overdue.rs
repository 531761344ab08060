//! What a change still owes once it is implemented, and what of that is overdue: the
//! retrospective approval and the post-implementation review a break-glass grant leaves due,
//! and the open follow-up actions of a recorded review.
//!
//! Everything is computed from change records and `now`, a value: an obligation is overdue once
//! `now` is past its deadline and it is still unmet. A retrospective approval is met by the
//! approval (the record's authorised digest), a review by a recorded review (late or not), a
//! follow-up action by being marked done. A canceled change owes nothing.

use crate::calendar::show_duration;
use crate::request::{ChangeRecord, ChangeState};
use crate::review::ActionState;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// What is due.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Due {
    /// The approval a break-glass change must get after the fact.
    RetrospectiveApproval,
    /// The post-implementation review a break-glass grant leaves due.
    PostImplementationReview,
    /// An open follow-up action of the change's review.
    #[serde(rename_all = "camelCase")]
    FollowUpAction {
        number: u32,
        description: String,
        owner: String,
    },
}

impl Due {
    /// A stable key naming the obligation within its change (escalations are recorded once per
    /// change and key).
    pub fn key(&self) -> String {
        match self {
            Due::RetrospectiveApproval => "retrospective-approval".into(),
            Due::PostImplementationReview => "post-implementation-review".into(),
            Due::FollowUpAction { number, .. } => format!("follow-up-action-{number}"),
        }
    }

    /// What is due, in words.
    pub fn describe(&self) -> String {
        match self {
            Due::RetrospectiveApproval => "retrospective approval".into(),
            Due::PostImplementationReview => "post-implementation review".into(),
            Due::FollowUpAction {
                number,
                description,
                owner,
            } => format!("follow-up action {number} ({owner}): {description}"),
        }
    }
}

/// Something a change still owes, and by when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Obligation {
    pub due: Due,
    pub deadline: Timestamp,
}

/// Everything `record` still owes, overdue or not yet due.
pub fn unmet_obligations(record: &ChangeRecord) -> Vec<Obligation> {
    if record.state == ChangeState::Canceled {
        return Vec::new();
    }
    let mut out = Vec::new();
    if let Some(grant) = &record.break_glass {
        if record.authorised_digest.is_none() {
            out.push(Obligation {
                due: Due::RetrospectiveApproval,
                deadline: grant.retro_approval_deadline,
            });
        }
        if record.review.is_none() {
            out.push(Obligation {
                due: Due::PostImplementationReview,
                deadline: grant.review_task.due,
            });
        }
    }
    if let Some(review) = &record.review {
        for action in review
            .follow_ups
            .iter()
            .filter(|a| a.state == ActionState::Open)
        {
            out.push(Obligation {
                due: Due::FollowUpAction {
                    number: action.number,
                    description: action.description.clone(),
                    owner: action.owner.clone(),
                },
                deadline: action.due,
            });
        }
    }
    out
}

/// How long past `deadline` `now` is, in whole seconds rounded up (so anything past the
/// deadline is at least 1 s late); zero or negative when not yet.
pub fn overdue_by(deadline: Timestamp, now: Timestamp) -> SignedDuration {
    let late = now.duration_since(deadline);
    let rounded_up = i64::from(late.subsec_nanos() > 0);
    SignedDuration::from_secs(late.as_secs().saturating_add(rounded_up))
}

/// One overdue obligation, with what a person needs to chase it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OverdueItem {
    pub change: String,
    pub title: String,
    pub services: Vec<String>,
    pub environments: Vec<String>,
    pub due: Due,
    /// `due` in words.
    pub what: String,
    pub deadline: Timestamp,
    /// Past the deadline, e.g. `2h 5m` (whole seconds, rounded up).
    pub overdue_by: String,
    pub overdue_seconds: i64,
    /// The teams owning the change's services (`unowned` for a service without an owner).
    pub teams: Vec<String>,
}

/// Every overdue obligation of `records` at `now`, oldest deadline first; `owners` maps a
/// service to its owning team.
pub fn overdue_items(
    records: &[ChangeRecord],
    owners: &BTreeMap<String, String>,
    now: Timestamp,
) -> Vec<OverdueItem> {
    let mut items: Vec<OverdueItem> = records
        .iter()
        .flat_map(|record| {
            unmet_obligations(record)
                .into_iter()
                .filter(|o| o.deadline < now)
                .map(|o| {
                    let late = overdue_by(o.deadline, now);
                    let teams: BTreeSet<String> = record
                        .spec
                        .services
                        .iter()
                        .map(|s| owners.get(s).cloned().unwrap_or_else(|| "unowned".into()))
                        .collect();
                    OverdueItem {
                        change: record.id.clone(),
                        title: record.spec.title.clone(),
                        services: record.spec.services.clone(),
                        environments: record.spec.environments.clone(),
                        what: o.due.describe(),
                        due: o.due,
                        deadline: o.deadline,
                        overdue_by: show_duration(late),
                        overdue_seconds: late.as_secs(),
                        teams: teams.into_iter().collect(),
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect();
    items.sort_by(|a, b| {
        (a.deadline, &a.change, a.due.key()).cmp(&(b.deadline, &b.change, b.due.key()))
    });
    items
}
