//! Post-implementation reviews and change success and failure rates.
//!
//! A review belongs to one change (it is kept in the change's record) and says how the change
//! went (`successful`, `successful-with-issues` or `failed`), what was found, and what is to be
//! done about it: follow-up actions, each with an owner and a due date, tracked from open to
//! done, and optionally a proposed edit of the change model that governed the change, as an
//! RFC 7396 JSON merge patch of its spec. The proposal is only stored: someone who may update
//! change models applies it (or not) with a normal apply.
//!
//! Rates count closed changes by team and by service: a change closed Successful or
//! SuccessfulWithIssues is a success, Unsuccessful a failure; the rates are those counts over
//! the total.

use crate::model::ChangeModelSpec;
use crate::request::{ChangeRecord, ChangeState, CloseCode};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use slipway_spec::{Diagnostic, prefixed, validate_typed};
use std::collections::BTreeMap;

/// A review to be done by a date (e.g. after break-glass).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewTask {
    pub change_id: String,
    pub due: Timestamp,
    pub reason: String,
}

/// How the change went, in the reviewer's judgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReviewOutcome {
    Successful,
    SuccessfulWithIssues,
    Failed,
}

impl ReviewOutcome {
    pub const NAMES: &'static str = "successful, successful-with-issues or failed";

    pub fn as_str(self) -> &'static str {
        match self {
            ReviewOutcome::Successful => "successful",
            ReviewOutcome::SuccessfulWithIssues => "successful-with-issues",
            ReviewOutcome::Failed => "failed",
        }
    }

    /// Parses `successful`, `successful-with-issues` or `failed`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim() {
            "successful" => Ok(ReviewOutcome::Successful),
            "successful-with-issues" => Ok(ReviewOutcome::SuccessfulWithIssues),
            "failed" => Ok(ReviewOutcome::Failed),
            other => Err(format!("{other:?} is not one of {}", Self::NAMES)),
        }
    }
}

/// Whether a follow-up action is still to be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionState {
    Open,
    Done,
}

/// Something the review decided must be done, by whom and by when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FollowUpAction {
    /// 1, 2, ... in the order the review listed them.
    pub number: u32,
    pub description: String,
    pub owner: String,
    pub due: Timestamp,
    pub state: ActionState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_by: Option<String>,
}

/// A follow-up action as the reviewer writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FollowUpDraft {
    pub description: String,
    pub owner: String,
    /// RFC 3339, or a date (`2026-07-01`): due by the end of that day, UTC.
    pub due: String,
}

impl FollowUpDraft {
    /// Parses the command line's `DESCRIPTION; owner=NAME; due=DATE` (the parts after the
    /// description in any order).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = text.split(';').map(str::trim);
        let description = parts.next().unwrap_or_default().to_string();
        let (mut owner, mut due) = (None, None);
        for part in parts.filter(|p| !p.is_empty()) {
            match part.split_once('=').map(|(k, v)| (k.trim(), v.trim())) {
                Some(("owner", v)) => owner = Some(v.to_string()),
                Some(("due", v)) => due = Some(v.to_string()),
                _ => {
                    return Err(format!(
                        "{part:?}: expected owner=NAME or due=DATE after the description"
                    ));
                }
            }
        }
        Ok(FollowUpDraft {
            description,
            owner: owner.ok_or("owner=NAME is missing")?,
            due: due.ok_or("due=DATE is missing")?,
        })
    }
}

/// A proposed edit of the change model that governed the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelPatchProposal {
    /// The ChangeModel resource.
    pub model: String,
    /// The model's revision the patch was written against: applying `proposedSpec` with it
    /// refuses if the model changed since.
    pub base_revision: i64,
    /// An RFC 7396 JSON merge patch of the model's spec.
    pub patch: Value,
    /// The model's spec with the patch applied (valid when the review was recorded).
    pub proposed_spec: Value,
}

/// A post-implementation review of a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostImplementationReview {
    pub reviewer: String,
    pub at: Timestamp,
    pub outcome: ReviewOutcome,
    #[serde(default)]
    pub findings: String,
    #[serde(default)]
    pub follow_ups: Vec<FollowUpAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposed_model_patch: Option<ModelPatchProposal>,
}

impl PostImplementationReview {
    /// Whether the review was written by `task`'s due date.
    pub fn on_time_for(&self, task: &ReviewTask) -> bool {
        self.at <= task.due
    }
}

/// The change model a review may propose to edit: its name, revision and current spec.
#[derive(Debug, Clone, Copy)]
pub struct CurrentModel<'a> {
    pub name: &'a str,
    pub revision: i64,
    pub spec: &'a Value,
}

/// A review as the reviewer submits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReviewDraft {
    pub outcome: ReviewOutcome,
    #[serde(default)]
    pub findings: String,
    #[serde(default)]
    pub follow_ups: Vec<FollowUpDraft>,
    /// An RFC 7396 JSON merge patch of the change's model's spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposed_model_patch: Option<Value>,
}

impl ReviewDraft {
    /// The review `reviewer` records at `now`, or every problem with the draft (paths start at
    /// the draft's fields: `findings`, `followUps[1].due`, `proposedModelPatch.emergency...`).
    /// `model` is the change's model resource; without one a patch has nothing to edit.
    pub fn into_review(
        self,
        reviewer: &str,
        now: Timestamp,
        model: Option<CurrentModel>,
    ) -> Result<PostImplementationReview, Vec<Diagnostic>> {
        let mut d = Vec::new();
        if self.outcome != ReviewOutcome::Successful && self.findings.trim().is_empty() {
            d.push(Diagnostic::new(
                "findings",
                format!("are required when the outcome is {}", self.outcome.as_str()),
            ));
        }
        let mut follow_ups = Vec::new();
        for (i, draft) in self.follow_ups.iter().enumerate() {
            let path = |field: &str| format!("followUps[{i}].{field}");
            if draft.description.trim().is_empty() {
                d.push(Diagnostic::new(path("description"), "must not be empty"));
            }
            if draft.owner.trim().is_empty() {
                d.push(Diagnostic::new(path("owner"), "must not be empty"));
            }
            let due = match parse_due(&draft.due) {
                Ok(due) if due <= now => {
                    d.push(Diagnostic::new(
                        path("due"),
                        format!("{due} is not after the review ({now})"),
                    ));
                    continue;
                }
                Ok(due) => due,
                Err(e) => {
                    d.push(Diagnostic::new(path("due"), e));
                    continue;
                }
            };
            follow_ups.push(FollowUpAction {
                number: u32::try_from(i + 1).unwrap_or(u32::MAX),
                description: draft.description.trim().to_string(),
                owner: draft.owner.trim().to_string(),
                due,
                state: ActionState::Open,
                done_at: None,
                done_by: None,
            });
        }
        let proposal = match (&self.proposed_model_patch, model) {
            (None, _) => None,
            (Some(_), None) => {
                d.push(Diagnostic::new(
                    "proposedModelPatch",
                    "the change follows its type's built-in model, which no patch can edit; name a ChangeModel in the change's spec.model",
                ));
                None
            }
            (Some(patch), Some(model)) => match propose_model_patch(model, patch) {
                Ok(proposal) => Some(proposal),
                Err(problems) => {
                    d.extend(problems);
                    None
                }
            },
        };
        if !d.is_empty() {
            return Err(d);
        }
        Ok(PostImplementationReview {
            reviewer: reviewer.to_string(),
            at: now,
            outcome: self.outcome,
            findings: self.findings.trim().to_string(),
            follow_ups,
            proposed_model_patch: proposal,
        })
    }
}

/// A due date: an RFC 3339 instant, or a date meaning the end of that day (UTC).
pub fn parse_due(text: &str) -> Result<Timestamp, String> {
    let text = text.trim();
    if let Ok(at) = text.parse::<Timestamp>() {
        return Ok(at);
    }
    let date: Date = text.parse().map_err(|_| {
        format!("{text:?} is neither an RFC 3339 instant with an offset nor a date like 2026-07-01")
    })?;
    date.tomorrow()
        .and_then(|next| next.to_zoned(jiff::tz::TimeZone::UTC))
        .map(|z| z.timestamp())
        .map_err(|e| format!("{text:?}: {e}"))
}

/// Checks a merge patch of `model`'s spec: the patched spec must be a valid model of the same
/// type. Problems name the patched field under `proposedModelPatch`.
fn propose_model_patch(
    model: CurrentModel,
    patch: &Value,
) -> Result<ModelPatchProposal, Vec<Diagnostic>> {
    let field = |rest: &str| prefixed("proposedModelPatch", rest);
    if !patch.is_object() {
        return Err(vec![Diagnostic::new(
            field(""),
            format!(
                "must be a mapping (a merge patch of the model's spec), found {}",
                slipway_spec::json_type(patch)
            ),
        )]);
    }
    let proposed = merge_patch(model.spec, patch);
    if proposed == *model.spec {
        return Err(vec![Diagnostic::new(
            field(""),
            format!("changes nothing in change model {}", model.name),
        )]);
    }
    if proposed.get("type") != model.spec.get("type") {
        return Err(vec![Diagnostic::new(
            field("type"),
            "a patch may not change the model's change type",
        )]);
    }
    let problems: Vec<Diagnostic> = validate_typed::<ChangeModelSpec>(&proposed)
        .into_iter()
        .map(|d| {
            let rest = d.path.strip_prefix("spec").unwrap_or(&d.path);
            Diagnostic::new(
                field(rest.trim_start_matches('.')),
                format!(
                    "the patched model {} would be invalid: {}",
                    model.name, d.message
                ),
            )
        })
        .collect();
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(ModelPatchProposal {
        model: model.name.to_string(),
        base_revision: model.revision,
        patch: patch.clone(),
        proposed_spec: proposed,
    })
}

/// RFC 7396: `patch` applied to `target` (a `null` member removes the member; a non-object
/// patch replaces the target).
pub fn merge_patch(target: &Value, patch: &Value) -> Value {
    let Value::Object(changes) = patch else {
        return patch.clone();
    };
    let mut out = match target {
        Value::Object(members) => members.clone(),
        _ => serde_json::Map::new(),
    };
    for (key, change) in changes {
        if change.is_null() {
            out.remove(key);
        } else {
            let merged = merge_patch(out.get(key).unwrap_or(&Value::Null), change);
            out.insert(key.clone(), merged);
        }
    }
    Value::Object(out)
}

/// Why a follow-up action could not be marked done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FollowUpError {
    #[error("change {change} has no recorded review, so no follow-up actions")]
    NoReview { change: String },
    #[error("change {change}'s review has no follow-up action {number} (it has {count})")]
    NoSuchAction {
        change: String,
        number: u32,
        count: usize,
    },
    #[error("follow-up action {number} of change {change} was already done by {by} at {at}")]
    AlreadyDone {
        change: String,
        number: u32,
        by: String,
        at: Timestamp,
    },
}

/// `record` with follow-up action `number` of its review marked done by `by` at `now`.
pub fn complete_follow_up(
    record: &ChangeRecord,
    number: u32,
    by: &str,
    now: Timestamp,
) -> Result<ChangeRecord, FollowUpError> {
    let change = record.id.clone();
    let mut next = record.clone();
    let review = next.review.as_mut().ok_or(FollowUpError::NoReview {
        change: change.clone(),
    })?;
    let count = review.follow_ups.len();
    let action = review
        .follow_ups
        .iter_mut()
        .find(|a| a.number == number)
        .ok_or(FollowUpError::NoSuchAction {
            change: change.clone(),
            number,
            count,
        })?;
    if action.state == ActionState::Done {
        return Err(FollowUpError::AlreadyDone {
            change,
            number,
            by: action.done_by.clone().unwrap_or_default(),
            at: action.done_at.unwrap_or(now),
        });
    }
    action.state = ActionState::Done;
    action.done_at = Some(now);
    action.done_by = Some(by.to_string());
    Ok(next)
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
