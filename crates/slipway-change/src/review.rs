//! Post-implementation reviews and change success and failure rates.
//!
//! A review is linked to one change. Rates count closed changes by team and by service: a change
//! closed Successful or SuccessfulWithIssues is a success, Unsuccessful a failure; the rates are
//! those counts over the total.

use crate::request::{ChangeRecord, ChangeState, CloseCode};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A review to be done by a date (e.g. after break-glass).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewTask {
    pub change_id: String,
    pub due: Timestamp,
    pub reason: String,
}

/// A post-implementation review of a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostImplementationReview {
    pub change_id: String,
    pub reviewer: String,
    pub at: Timestamp,
    /// Whether the change met its objectives, in the close code's terms.
    pub outcome: CloseCode,
    pub findings: String,
    #[serde(default)]
    pub follow_ups: Vec<String>,
}

impl PostImplementationReview {
    /// Whether the review completes `task`: same change, and written by the due date.
    pub fn completes(&self, task: &ReviewTask) -> bool {
        self.change_id == task.change_id && self.at <= task.due
    }
}

/// A closed change as counted for rates: one row per (change, service).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClosedChange {
    pub change_id: String,
    pub team: String,
    pub service: String,
    pub close_code: CloseCode,
    pub closed_at: Option<Timestamp>,
}

impl ClosedChange {
    /// Rows for a closed change record, with each service's owning team from `owners` (or
    /// `unowned`). Nothing for a change that is not Closed.
    pub fn from_record(
        record: &ChangeRecord,
        owners: &BTreeMap<String, String>,
    ) -> Vec<ClosedChange> {
        let Some(code) = record
            .close_code
            .filter(|_| record.state == ChangeState::Closed)
        else {
            return Vec::new();
        };
        record
            .spec
            .services
            .iter()
            .map(|s| ClosedChange {
                change_id: record.id.clone(),
                team: owners.get(s).cloned().unwrap_or_else(|| "unowned".into()),
                service: s.clone(),
                close_code: code,
                closed_at: record.actual_end,
            })
            .collect()
    }
}

/// Counts and rates of one team or service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateCounts {
    pub total: u64,
    pub successful: u64,
    pub successful_with_issues: u64,
    pub unsuccessful: u64,
    /// (successful + successful with issues) / total.
    pub success_rate: f64,
    /// unsuccessful / total.
    pub failure_rate: f64,
}

/// Rates by team and by service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rates {
    pub by_team: BTreeMap<String, RateCounts>,
    pub by_service: BTreeMap<String, RateCounts>,
}

/// Counts `changes` by team and by service. A change counts once per team even when it touched
/// several of the team's services.
pub fn change_rates(changes: &[ClosedChange]) -> Rates {
    let mut by_team: BTreeMap<String, RateCounts> = BTreeMap::new();
    let mut by_service: BTreeMap<String, RateCounts> = BTreeMap::new();
    let mut team_seen = std::collections::BTreeSet::new();
    let mut service_seen = std::collections::BTreeSet::new();
    for c in changes {
        if team_seen.insert((c.team.as_str(), c.change_id.as_str())) {
            add(by_team.entry(c.team.clone()).or_default(), c.close_code);
        }
        if service_seen.insert((c.service.as_str(), c.change_id.as_str())) {
            add(
                by_service.entry(c.service.clone()).or_default(),
                c.close_code,
            );
        }
    }
    for counts in by_team.values_mut().chain(by_service.values_mut()) {
        let total = counts.total as f64;
        counts.success_rate = (counts.successful + counts.successful_with_issues) as f64 / total;
        counts.failure_rate = counts.unsuccessful as f64 / total;
    }
    Rates {
        by_team,
        by_service,
    }
}

fn add(counts: &mut RateCounts, code: CloseCode) {
    counts.total += 1;
    match code {
        CloseCode::Successful => counts.successful += 1,
        CloseCode::SuccessfulWithIssues => counts.successful_with_issues += 1,
        CloseCode::Unsuccessful => counts.unsuccessful += 1,
    }
}
