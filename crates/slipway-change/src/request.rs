//! Change requests: the spec a person writes (kind `ChangeRequest`), the record the server keeps,
//! the services a change impacts, the content digest approvals are bound to, and the pure state
//! machine.
//!
//! States and their order follow ServiceNow: New, Assess, Authorize, Scheduled, Implement, Review,
//! Closed, and Canceled. Which of them a change passes through is its [`ChangeModelSpec`]'s
//! business. [`transition`] takes a record, an action and the facts the caller gathered
//! (time, model, approval status, scheduling conflicts) and returns the new record or says
//! which state refused the action and why.
//!
//! Actions:
//! - `submit`: New → the model's next state. Needs a title, services, environments, an
//!   implementation and a backout plan (and for normal changes a test plan and, for normal and
//!   emergency changes, a justification). A standard change goes straight to Scheduled and is
//!   authorised by its template.
//! - `approve`: Assess → next (needs a risk assessment); Authorize → next (needs the approval
//!   status to be satisfied); records the authorised content digest. On a break-glass change in
//!   Implement or Review it records the retrospective approval.
//! - `reject`: Assess or Authorize → New; the authorisation is void.
//! - `schedule{start, end}`: sets the planned window (New, Assess, Authorize, Scheduled). A
//!   scheduling conflict refuses it unless an exception was approved. Rescheduling an authorised
//!   change sends it back to Authorize, because the window is part of the approved content.
//! - `implement`: Scheduled → Implement, inside the planned window, only while the content still
//!   has the authorised digest; or, with a valid break-glass grant, from any state before
//!   Implement.
//! - `review`: Implement → Review. `recordReview{review}`: records the post-implementation
//!   review (outcome, findings, follow-up actions, a proposed model patch), once; from Implement
//!   it also moves to Review when the model has one. `close{code, notes}`: Review (or Implement
//!   when the model has no Review) → Closed; anything but Successful needs notes; a break-glass
//!   change needs its retrospective approval and its recorded review first. `cancel`: any state
//!   before Implement → Canceled.

use crate::approval::ApprovalStatus;
use crate::calendar::SchedulingConflict;
use crate::emergency::BreakGlassGrant;
use crate::model::ChangeModelSpec;
use crate::review::PostImplementationReview;
use crate::risk::RiskAssessment;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;
use slipway_spec::Diagnostic;
use slipway_spec::SpecRules;
use std::collections::{BTreeMap, BTreeSet};

/// Where a change is in its life, with ServiceNow's names, in canonical order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ChangeState {
    New,
    Assess,
    Authorize,
    Scheduled,
    Implement,
    Review,
    Closed,
    Canceled,
}

impl ChangeState {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeState::New => "New",
            ChangeState::Assess => "Assess",
            ChangeState::Authorize => "Authorize",
            ChangeState::Scheduled => "Scheduled",
            ChangeState::Implement => "Implement",
            ChangeState::Review => "Review",
            ChangeState::Closed => "Closed",
            ChangeState::Canceled => "Canceled",
        }
    }

    /// Closed and Canceled: nothing more happens to the change.
    pub fn is_terminal(self) -> bool {
        matches!(self, ChangeState::Closed | ChangeState::Canceled)
    }
}

/// Standard (a pre-approved template, no CAB), normal, or emergency (break-glass possible).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeType {
    Standard,
    Normal,
    Emergency,
}

impl ChangeType {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Standard => "standard",
            ChangeType::Normal => "normal",
            ChangeType::Emergency => "emergency",
        }
    }
}

/// How much of the business a change touches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Impact {
    Low,
    #[default]
    Medium,
    High,
}

/// How a change ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CloseCode {
    Successful,
    SuccessfulWithIssues,
    Unsuccessful,
}

/// A built version a change deploys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangeArtifact {
    pub service: String,
    pub version: String,
    /// `sha256:<64 hex digits>`.
    pub digest: String,
    /// The version running before the change, for risk classification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_version: Option<String>,
}

/// A change request (kind `ChangeRequest`) as its requester writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangeRequestSpec {
    #[serde(rename = "type")]
    pub change_type: ChangeType,
    /// The ChangeModel to follow; the type's built-in model when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Who asks for the change; may not approve it.
    pub requester: String,
    /// Who wrote what the change ships; may not approve it.
    #[serde(default)]
    pub authors: Vec<String>,
    /// The services the change alters.
    pub services: Vec<String>,
    /// The environments the change targets.
    pub environments: Vec<String>,
    #[serde(default)]
    pub artifacts: Vec<ChangeArtifact>,
    #[serde(default)]
    pub impact: Impact,
    #[serde(default)]
    pub justification: String,
    #[serde(default)]
    pub implementation_plan: String,
    #[serde(default)]
    pub backout_plan: String,
    #[serde(default)]
    pub test_plan: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_start: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_end: Option<Timestamp>,
}

impl ChangeRequestSpec {
    /// Semantic checks beyond the shape; paths start at `spec`. Completeness (plans, a
    /// justification) is checked when the change is submitted, so drafts can be saved.
    pub fn validate(&self) -> Vec<Diagnostic> {
        let mut d = Vec::new();
        if self.title.trim().is_empty() {
            d.push(Diagnostic::new("spec.title", "must not be empty"));
        }
        if self.requester.trim().is_empty() {
            d.push(Diagnostic::new("spec.requester", "must not be empty"));
        }
        if self.services.is_empty() {
            d.push(Diagnostic::new(
                "spec.services",
                "must name at least one service",
            ));
        }
        if self.environments.is_empty() {
            d.push(Diagnostic::new(
                "spec.environments",
                "must name at least one environment",
            ));
        }
        d.extend(duplicates("spec.services", &self.services));
        d.extend(duplicates("spec.environments", &self.environments));
        d.extend(duplicates("spec.authors", &self.authors));
        for (i, artifact) in self.artifacts.iter().enumerate() {
            if !self.services.contains(&artifact.service) {
                d.push(Diagnostic::new(
                    format!("spec.artifacts[{i}].service"),
                    format!("{:?} is not one of the change's services", artifact.service),
                ));
            }
            if artifact.version.trim().is_empty() {
                d.push(Diagnostic::new(
                    format!("spec.artifacts[{i}].version"),
                    "must not be empty",
                ));
            }
            if !is_sha256_digest(&artifact.digest) {
                d.push(Diagnostic::new(
                    format!("spec.artifacts[{i}].digest"),
                    format!("{:?} is not sha256:<64 hex digits>", artifact.digest),
                ));
            }
        }
        match (self.planned_start, self.planned_end) {
            (Some(start), Some(end)) if end <= start => d.push(Diagnostic::new(
                "spec.plannedEnd",
                format!("{end} is not after plannedStart {start}"),
            )),
            (Some(_), None) => d.push(Diagnostic::new(
                "spec.plannedEnd",
                "is required with plannedStart",
            )),
            (None, Some(_)) => d.push(Diagnostic::new(
                "spec.plannedStart",
                "is required with plannedEnd",
            )),
            _ => {}
        }
        d
    }

    /// What is missing before the change can be submitted, as field paths with reasons.
    pub fn missing_for_submission(&self) -> Vec<Diagnostic> {
        let mut d = self.validate();
        let mut require = |path: &str, value: &str| {
            if value.trim().is_empty() {
                d.push(Diagnostic::new(path, "is required to submit the change"));
            }
        };
        require("spec.implementationPlan", &self.implementation_plan);
        require("spec.backoutPlan", &self.backout_plan);
        if self.change_type == ChangeType::Normal {
            require("spec.testPlan", &self.test_plan);
        }
        if self.change_type != ChangeType::Standard {
            require("spec.justification", &self.justification);
        }
        d
    }
}

impl SpecRules for ChangeRequestSpec {
    fn rules(&self) -> Vec<Diagnostic> {
        self.validate()
    }
}

/// `sha256:` followed by 64 hex digits.
pub fn is_sha256_digest(digest: &str) -> bool {
    digest
        .strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit()))
}

pub(crate) fn duplicates(path: &str, items: &[String]) -> Vec<Diagnostic> {
    let mut seen = BTreeSet::new();
    items
        .iter()
        .enumerate()
        .filter(|(_, item)| !seen.insert(item.as_str()))
        .map(|(i, item)| {
            Diagnostic::new(format!("{path}[{i}]"), format!("{item:?} is listed twice"))
        })
        .collect()
}

/// The digest an approval is bound to: SHA-256 over the canonical JSON of what the change does
/// (type, services, environments, artifacts with their digests, the three plans and the planned
/// window). Lists are sorted first, so their order does not matter; the title, description and
/// justification are not part of it, so fixing a typo there does not void approvals.
pub fn change_content_digest(spec: &ChangeRequestSpec) -> String {
    let mut services = spec.services.clone();
    services.sort();
    let mut environments = spec.environments.clone();
    environments.sort();
    let mut artifacts: Vec<_> = spec
        .artifacts
        .iter()
        .map(|a| json!({"service": a.service, "version": a.version, "digest": a.digest}))
        .collect();
    artifacts.sort_by_key(|a| a.to_string());
    let content = json!({
        "type": spec.change_type.as_str(),
        "services": services,
        "environments": environments,
        "artifacts": artifacts,
        "implementationPlan": spec.implementation_plan,
        "backoutPlan": spec.backout_plan,
        "testPlan": spec.test_plan,
        "plannedStart": spec.planned_start.map(|t| t.to_string()),
        "plannedEnd": spec.planned_end.map(|t| t.to_string()),
    });
    slipway_spec::canonical::value_digest(&content)
}

/// The services impacted by changing `services`: every service that depends on one of them,
/// directly or transitively (`depends_on` maps a service to the services it calls). The changed
/// services themselves are not listed. Sorted; cycles are harmless.
pub fn impacted_services(
    services: &[String],
    depends_on: &BTreeMap<String, Vec<String>>,
) -> Vec<String> {
    let mut dependants: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (service, deps) in depends_on {
        for dep in deps {
            dependants
                .entry(dep.as_str())
                .or_default()
                .push(service.as_str());
        }
    }
    let changed: BTreeSet<&str> = services.iter().map(String::as_str).collect();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut stack: Vec<&str> = changed.iter().copied().collect();
    while let Some(s) = stack.pop() {
        for d in dependants.get(s).into_iter().flatten() {
            if seen.insert(d) {
                stack.push(d);
            }
        }
    }
    seen.into_iter()
        .filter(|s| !changed.contains(s))
        .map(str::to_string)
        .collect()
}

/// A change request as the server keeps it: the spec plus what happened to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeRecord {
    pub id: String,
    pub spec: ChangeRequestSpec,
    pub state: ChangeState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<RiskAssessment>,
    #[serde(default)]
    pub impacted_services: Vec<String>,
    /// The content digest the change was authorised with (by approvals, by a standard template,
    /// or retrospectively after break-glass).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorised_digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual_start: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual_end: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_code: Option<CloseCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_notes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub break_glass: Option<BreakGlassGrant>,
    /// The post-implementation review, once recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<PostImplementationReview>,
}

impl ChangeRecord {
    /// A new change in state New.
    pub fn new(id: impl Into<String>, spec: ChangeRequestSpec) -> Self {
        ChangeRecord {
            id: id.into(),
            spec,
            state: ChangeState::New,
            risk: None,
            impacted_services: Vec::new(),
            authorised_digest: None,
            actual_start: None,
            actual_end: None,
            close_code: None,
            close_notes: None,
            break_glass: None,
            review: None,
        }
    }

    /// Authorised, and not edited since: the authorised digest is the current content's.
    pub fn is_authorised(&self) -> bool {
        self.authorised_digest.as_deref() == Some(change_content_digest(&self.spec).as_str())
    }

    /// Whether the change targets `service` in `environment`.
    pub fn covers(&self, service: &str, environment: &str) -> bool {
        self.spec.services.iter().any(|s| s == service)
            && self.spec.environments.iter().any(|e| e == environment)
    }
}

/// What someone asks to do with a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum Action {
    Submit,
    Approve,
    Reject,
    Schedule {
        start: Timestamp,
        end: Timestamp,
    },
    Implement,
    Review,
    RecordReview {
        review: Box<PostImplementationReview>,
    },
    Close {
        code: CloseCode,
        notes: String,
    },
    Cancel,
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Submit => "submit",
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Schedule { .. } => "schedule",
            Action::Implement => "implement",
            Action::Review | Action::RecordReview { .. } => "review",
            Action::Close { .. } => "close",
            Action::Cancel => "cancel",
        }
    }
}

/// The facts a transition may need, gathered by the caller.
#[derive(Debug, Clone)]
pub struct Context {
    pub now: Timestamp,
    /// The change's model (the named ChangeModel, or [`ChangeModelSpec::default_for`]).
    pub model: ChangeModelSpec,
    /// The evaluated approvals for the current content; needed to approve in Authorize.
    pub approvals: Option<ApprovalStatus>,
    /// Conflicts of the requested slot (for `schedule`, and `submit` of a standard change).
    pub conflicts: Vec<SchedulingConflict>,
    /// An approved exception waives scheduling conflicts that can be waived.
    pub exception_approved: bool,
}

impl Context {
    pub fn new(now: Timestamp, model: ChangeModelSpec) -> Self {
        Context {
            now,
            model,
            approvals: None,
            conflicts: Vec::new(),
            exception_approved: false,
        }
    }
}

/// Something the caller must act on besides storing the new record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "camelCase")]
pub enum Effect {
    /// The change is authorised with this content digest.
    Authorised { digest: String },
    /// The authorisation (and every approval bound to the old content) no longer holds.
    AuthorisationVoided { reason: String },
    /// A break-glass change got its retrospective approval.
    RetrospectivelyApproved { digest: String },
    /// The post-implementation review has started.
    ReviewStarted,
    /// The post-implementation review was recorded.
    ReviewRecorded {
        outcome: crate::review::ReviewOutcome,
    },
}

/// The result of an allowed transition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransitionOutcome {
    pub from: ChangeState,
    pub to: ChangeState,
    pub record: ChangeRecord,
    pub effects: Vec<Effect>,
}

/// A refused transition: which action, in which state, and why not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("cannot {action} change {change} in state {}: {reason}", state.as_str())]
pub struct TransitionError {
    pub change: String,
    pub action: &'static str,
    pub state: ChangeState,
    pub reason: String,
}

/// Applies `action` to `record` under `context`.
pub fn transition(
    record: &ChangeRecord,
    action: Action,
    context: &Context,
) -> Result<TransitionOutcome, TransitionError> {
    let refuse = |reason: String| TransitionError {
        change: record.id.clone(),
        action: action.name(),
        state: record.state,
        reason,
    };
    let model = &context.model;
    if model.change_type != record.spec.change_type {
        return Err(refuse(format!(
            "the model is for {} changes and this is a {} change",
            model.change_type.as_str(),
            record.spec.change_type.as_str()
        )));
    }
    if record.state.is_terminal() {
        return Err(refuse("the change is finished; no action applies".into()));
    }
    if !model.passes_through(record.state) {
        return Err(refuse(format!(
            "the change's model does not pass through {}",
            record.state.as_str()
        )));
    }
    let mut next = record.clone();
    let mut effects = Vec::new();
    let next_state = |state: ChangeState| {
        model
            .next_after(state)
            .ok_or_else(|| refuse(format!("the model has no state after {}", state.as_str())))
    };
    let digest = change_content_digest(&record.spec);

    match (&action, record.state) {
        (Action::Submit, ChangeState::New) => {
            let missing = record.spec.missing_for_submission();
            if !missing.is_empty() {
                return Err(refuse(join_diagnostics(&missing)));
            }
            let to = next_state(ChangeState::New)?;
            if to == ChangeState::Scheduled {
                require_window(&record.spec).map_err(&refuse)?;
                refuse_conflicts(context).map_err(&refuse)?;
                // A standard change is pre-approved: its template authorises it.
                next.authorised_digest = Some(digest.clone());
                effects.push(Effect::Authorised { digest });
            }
            next.state = to;
        }
        (Action::Approve, ChangeState::Assess) => {
            if record.risk.is_none() {
                return Err(refuse("the change's risk has not been assessed".into()));
            }
            next.state = next_state(ChangeState::Assess)?;
        }
        (Action::Approve, ChangeState::Authorize) => {
            approvals_satisfied(context).map_err(&refuse)?;
            let to = next_state(ChangeState::Authorize)?;
            if to == ChangeState::Scheduled {
                require_window(&record.spec).map_err(&refuse)?;
            }
            next.state = to;
            next.authorised_digest = Some(digest.clone());
            effects.push(Effect::Authorised { digest });
        }
        (Action::Approve, ChangeState::Implement | ChangeState::Review)
            if record.break_glass.is_some() =>
        {
            if record.authorised_digest.is_some() {
                return Err(refuse(
                    "the break-glass change already has its retrospective approval".into(),
                ));
            }
            approvals_satisfied(context).map_err(&refuse)?;
            next.authorised_digest = Some(digest.clone());
            effects.push(Effect::RetrospectivelyApproved { digest });
        }
        (Action::Reject, ChangeState::Assess | ChangeState::Authorize) => {
            next.state = ChangeState::New;
            next.authorised_digest = None;
            effects.push(Effect::AuthorisationVoided {
                reason: "the change was rejected".into(),
            });
        }
        (
            Action::Schedule { start, end },
            ChangeState::New
            | ChangeState::Assess
            | ChangeState::Authorize
            | ChangeState::Scheduled,
        ) => {
            if end <= start {
                return Err(refuse(format!(
                    "the end {end} is not after the start {start}"
                )));
            }
            if *start < context.now {
                return Err(refuse(format!(
                    "the start {start} is in the past (now {})",
                    context.now
                )));
            }
            refuse_conflicts(context).map_err(&refuse)?;
            next.spec.planned_start = Some(*start);
            next.spec.planned_end = Some(*end);
            if record.state == ChangeState::Scheduled {
                let new_digest = change_content_digest(&next.spec);
                if model.passes_through(ChangeState::Authorize) {
                    next.state = ChangeState::Authorize;
                    next.authorised_digest = None;
                    effects.push(Effect::AuthorisationVoided {
                        reason: "the planned window changed; it is part of the approved content"
                            .into(),
                    });
                } else {
                    next.authorised_digest = Some(new_digest.clone());
                    effects.push(Effect::Authorised { digest: new_digest });
                }
            }
        }
        (
            Action::Implement,
            ChangeState::New
            | ChangeState::Assess
            | ChangeState::Authorize
            | ChangeState::Scheduled,
        ) if record.break_glass.is_some() => {
            let grant = record
                .break_glass
                .as_ref()
                .ok_or_else(|| refuse("no break-glass grant".into()))?;
            if !grant.is_active_at(context.now) {
                return Err(refuse(format!(
                    "the break-glass grant ended at {}",
                    grant.allowed_until
                )));
            }
            if !model.passes_through(ChangeState::Implement) {
                return Err(refuse("the model does not pass through Implement".into()));
            }
            next.state = ChangeState::Implement;
            next.actual_start = Some(context.now);
        }
        (Action::Implement, ChangeState::Scheduled) => {
            if !record.is_authorised() {
                return Err(refuse(
                    "the change was edited after it was authorised; it needs authorising again"
                        .into(),
                ));
            }
            let (start, end) = require_window(&record.spec).map_err(&refuse)?;
            if context.now < start {
                return Err(refuse(format!("the planned window starts at {start}")));
            }
            if context.now >= end {
                return Err(refuse(format!(
                    "the planned window ended at {end}; reschedule the change"
                )));
            }
            next.state = next_state(ChangeState::Scheduled)?;
            next.actual_start = Some(context.now);
        }
        (Action::Review, ChangeState::Implement) => {
            if !model.passes_through(ChangeState::Review) {
                return Err(refuse(
                    "the model has no Review; close the change instead".into(),
                ));
            }
            next.state = ChangeState::Review;
            next.actual_end = Some(context.now);
            effects.push(Effect::ReviewStarted);
        }
        (Action::RecordReview { review }, ChangeState::Implement | ChangeState::Review) => {
            if let Some(recorded) = &record.review {
                return Err(refuse(format!(
                    "its review was already recorded by {} at {}",
                    recorded.reviewer, recorded.at
                )));
            }
            if record.state == ChangeState::Implement && model.passes_through(ChangeState::Review) {
                next.state = ChangeState::Review;
                next.actual_end = Some(context.now);
                effects.push(Effect::ReviewStarted);
            }
            next.review = Some((**review).clone());
            effects.push(Effect::ReviewRecorded {
                outcome: review.outcome,
            });
        }
        (Action::Close { code, notes }, ChangeState::Review | ChangeState::Implement) => {
            if record.state == ChangeState::Implement && model.passes_through(ChangeState::Review) {
                return Err(refuse(
                    "the model requires a review before closing; use review first".into(),
                ));
            }
            if *code != CloseCode::Successful && notes.trim().is_empty() {
                return Err(refuse(
                    "close notes are required unless the change was successful".into(),
                ));
            }
            if let Some(grant) = &record.break_glass {
                if record.authorised_digest.is_none() {
                    return Err(refuse(format!(
                        "the break-glass change has no retrospective approval yet (due by {})",
                        grant.retro_approval_deadline
                    )));
                }
                if record.review.is_none() {
                    return Err(refuse(format!(
                        "the break-glass change has no recorded post-implementation review yet (due by {}); record it with review --outcome",
                        grant.review_task.due
                    )));
                }
            }
            next.state = ChangeState::Closed;
            next.actual_end = record.actual_end.or(Some(context.now));
            next.close_code = Some(*code);
            next.close_notes = Some(notes.clone());
        }
        (
            Action::Cancel,
            ChangeState::New
            | ChangeState::Assess
            | ChangeState::Authorize
            | ChangeState::Scheduled,
        ) => {
            next.state = ChangeState::Canceled;
            if record.authorised_digest.is_some() {
                next.authorised_digest = None;
                effects.push(Effect::AuthorisationVoided {
                    reason: "the change was canceled".into(),
                });
            }
        }
        (Action::Cancel, ChangeState::Implement) => {
            return Err(refuse(
                "the change is being implemented; close it as Unsuccessful instead".into(),
            ));
        }
        (action, _) => {
            return Err(refuse(format!(
                "{} applies only in {}",
                action.name(),
                allowed_states(action).join(", ")
            )));
        }
    }
    Ok(TransitionOutcome {
        from: record.state,
        to: next.state,
        record: next,
        effects,
    })
}

fn allowed_states(action: &Action) -> Vec<&'static str> {
    match action {
        Action::Submit => vec!["New"],
        Action::Approve => vec![
            "Assess",
            "Authorize",
            "Implement or Review (retrospectively, after break-glass)",
        ],
        Action::Reject => vec!["Assess", "Authorize"],
        Action::Schedule { .. } | Action::Cancel => vec!["New", "Assess", "Authorize", "Scheduled"],
        Action::Implement => vec!["Scheduled (or earlier with break-glass)"],
        Action::Review => vec!["Implement"],
        Action::RecordReview { .. } => vec!["Implement", "Review"],
        Action::Close { .. } => vec!["Review", "Implement (when the model has no Review)"],
    }
}

fn require_window(spec: &ChangeRequestSpec) -> Result<(Timestamp, Timestamp), String> {
    match (spec.planned_start, spec.planned_end) {
        (Some(start), Some(end)) if start < end => Ok((start, end)),
        _ => Err("the change has no planned window; schedule it first".into()),
    }
}

fn refuse_conflicts(context: &Context) -> Result<(), String> {
    let blocking: Vec<String> = context
        .conflicts
        .iter()
        .filter(|c| !(context.exception_approved && c.waivable))
        .map(|c| c.detail.clone())
        .collect();
    if blocking.is_empty() {
        Ok(())
    } else {
        Err(format!("the slot conflicts: {}", blocking.join("; ")))
    }
}

fn approvals_satisfied(context: &Context) -> Result<(), String> {
    match &context.approvals {
        None => Err("the approvals have not been evaluated".into()),
        Some(status) if status.satisfied => Ok(()),
        Some(status) => Err(format!("approvals are not satisfied: {}", status.summary())),
    }
}

fn join_diagnostics(d: &[Diagnostic]) -> String {
    d.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
