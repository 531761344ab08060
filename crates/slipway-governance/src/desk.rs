//! The change desk: actions on change requests (submit, approve, reject, schedule, implement,
//! review, close, cancel, break-glass), each checked by `slipway_change::transition` and
//! recorded as an audited `ChangeEvent` resource carrying the change record it produced.
//!
//! The change record's source of truth is the latest event's record, with the spec replaced by
//! the ChangeRequest's current spec, so that an edit after approval is seen (the content digest
//! no longer matches the authorised one). The ChangeRequest's status mirrors the record for
//! `slipway get`.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::{Value, json};
use slipway_change::approval::applicable_rules;
use slipway_change::calendar::{ScheduledChange, Slot, scheduling_conflicts};
use slipway_change::emergency::BreakGlassRequest;
use slipway_change::request::CloseCode;
use slipway_change::risk::{RiskInput, RiskLevel, VersionChange};
use slipway_change::{
    Action, Approval, ApprovalRuleSpec, ApprovalStatus, BreakGlassPolicy, Calendar, CalendarSet,
    ChangeModelSpec, ChangeRecord, ChangeRequestSpec, ChangeState, Context, RiskPolicySpec,
    SodContext, assess_risk, change_content_digest, evaluate_approvals, grant_break_glass,
    impacted_services, transition,
};
use slipway_domain::canonical::value_digest;
use slipway_domain::governance_records::ChangeEventSpec;
use slipway_domain::kinds::{
    self, ApprovalRule, ChangeEvent, ChangeModel, ChangeRequest, Environment, EnvironmentSpec,
    EnvironmentTier, Kind, RiskPolicy, Rollout, Service, ServiceSpec, typed,
};
use slipway_domain::resource::{Resource, parse_document};
use slipway_store::{Actor, Mutation, Store, StoreError, TypedStore};

/// What someone asks the desk to do with a change request.
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeCommand {
    Submit,
    Approve {
        comment: Option<String>,
    },
    Reject {
        reason: String,
    },
    Schedule {
        start: Timestamp,
        end: Timestamp,
    },
    Implement,
    Review,
    Close {
        code: CloseCode,
        notes: String,
    },
    Cancel,
    BreakGlass {
        reason: String,
        duration: SignedDuration,
    },
    /// An exception to windows and freezes for this change's content (not to a lockdown);
    /// the same people as an approval may not grant it.
    ApproveException {
        reason: String,
    },
}

impl ChangeCommand {
    pub fn name(&self) -> &'static str {
        match self {
            ChangeCommand::Submit => "submit",
            ChangeCommand::Approve { .. } => "approve",
            ChangeCommand::Reject { .. } => "reject",
            ChangeCommand::Schedule { .. } => "schedule",
            ChangeCommand::Implement => "implement",
            ChangeCommand::Review => "review",
            ChangeCommand::Close { .. } => "close",
            ChangeCommand::Cancel => "cancel",
            ChangeCommand::BreakGlass { .. } => "break-glass",
            ChangeCommand::ApproveException { .. } => "approve-exception",
        }
    }
}

/// Why an action was not taken.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("change request {0} does not exist")]
    NotFound(String),
    #[error("change request {name} is invalid: {reason}")]
    Invalid { name: String, reason: String },
    /// The state machine or a rule refused the action; the message says which and why.
    #[error("{0}")]
    Refused(String),
    #[error("separation of duties: {0}")]
    SeparationOfDuties(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A change request as the desk sees it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeView {
    pub record: ChangeRecord,
    pub content_digest: String,
    pub approvals: ApprovalStatus,
    /// An exception to windows and freezes was approved for the current content.
    pub exception_approved: bool,
    pub events: Vec<ChangeEventSpec>,
}

/// Performs actions on change requests against a store.
#[derive(Clone)]
pub struct ChangeDesk {
    store: Arc<dyn Store>,
}

const API_VERSION: &str = "slipway.dev/v1alpha1";

impl ChangeDesk {
    pub fn new(store: Arc<dyn Store>) -> Self {
        ChangeDesk { store }
    }

    /// The change's record, approvals and history; `deployer` is who triggers a deployment
    /// being gated (they may not approve it either).
    pub async fn view(
        &self,
        name: &str,
        deployer: Option<&str>,
    ) -> Result<ChangeView, ChangeError> {
        let loaded = self.load(name).await?;
        let approvals = approvals_of(&loaded.events);
        let status = self
            .approval_status(&loaded.record, &approvals, deployer, Timestamp::now())
            .await?;
        let digest = change_content_digest(&loaded.record.spec);
        Ok(ChangeView {
            exception_approved: exception_approved(&loaded.events, &digest),
            content_digest: digest,
            record: loaded.record,
            approvals: status,
            events: loaded.events,
        })
    }

    /// Performs `command` for `actor` (whose teams are `teams`) and records it.
    pub async fn act(
        &self,
        actor: &Actor,
        teams: Vec<String>,
        name: &str,
        command: ChangeCommand,
    ) -> Result<ChangeView, ChangeError> {
        let Loaded {
            resource,
            mut record,
            events,
        } = self.load(name).await?;
        let now = Timestamp::now();
        let user = actor.user.clone();
        let model = self.model_for(&record.spec).await?;
        let depends_on = self.dependency_graph().await?;
        if record.state == ChangeState::New || record.risk.is_none() {
            record.impacted_services = impacted_services(&record.spec.services, &depends_on);
            record.risk = Some(self.assess(&record).await?);
        }
        let digest = change_content_digest(&record.spec);
        let mut approvals = approvals_of(&events);
        let mut details = serde_json::Map::new();
        let from_state = record.state;

        let mut context = Context::new(now, model);
        context.exception_approved = exception_approved(&events, &digest);
        let mut actions: Vec<Action> = Vec::new();
        match &command {
            ChangeCommand::ApproveException { reason } => {
                self.check_separation(&record, &events, name, &user).await?;
                details.insert("reason".into(), json!(reason));
            }
            ChangeCommand::Approve { comment } => {
                let rules = self.rules_for(&record).await?;
                let sod_on = rules.values().any(|r| r.separation_of_duties) || rules.is_empty();
                if sod_on {
                    self.check_separation(&record, &events, name, &user).await?;
                }
                approvals.push(Approval {
                    approver: user.clone(),
                    groups_of_approver: teams.clone(),
                    at: now,
                    content_digest: digest.clone(),
                    decision: slipway_change::Decision::Approve,
                });
                if let Some(comment) = comment {
                    details.insert("comment".into(), json!(comment));
                }
                actions.push(Action::Approve);
            }
            ChangeCommand::Reject { reason } => {
                approvals.push(Approval {
                    approver: user.clone(),
                    groups_of_approver: teams.clone(),
                    at: now,
                    content_digest: digest.clone(),
                    decision: slipway_change::Decision::Reject,
                });
                details.insert("reason".into(), json!(reason));
                actions.push(Action::Reject);
            }
            ChangeCommand::Schedule { start, end } => {
                let proposed = ScheduledChange {
                    change_id: name.to_string(),
                    services: record.spec.services.clone(),
                    environments: record.spec.environments.clone(),
                    slot: Slot {
                        start: *start,
                        end: *end,
                    },
                };
                let others = self.scheduled_changes(name).await?;
                let calendars = self.calendar_set().await?;
                context.conflicts =
                    scheduling_conflicts(&proposed, &others, &depends_on, &calendars);
                details.insert("slot".into(), json!({"start": start, "end": end}));
                actions.push(Action::Schedule {
                    start: *start,
                    end: *end,
                });
            }
            ChangeCommand::BreakGlass { reason, duration } => {
                let grant = grant_break_glass(
                    &record,
                    &BreakGlassRequest {
                        requested_by: user.clone(),
                        reason: reason.clone(),
                        duration: *duration,
                        at: now,
                    },
                    &BreakGlassPolicy::default(),
                )
                .map_err(|e| ChangeError::Refused(e.to_string()))?;
                details.insert("grant".into(), json!(grant));
                record.break_glass = Some(grant);
                actions.push(Action::Implement);
            }
            ChangeCommand::Submit => actions.push(Action::Submit),
            ChangeCommand::Implement => actions.push(Action::Implement),
            ChangeCommand::Review => actions.push(Action::Review),
            ChangeCommand::Close { code, notes } => actions.push(Action::Close {
                code: *code,
                notes: notes.clone(),
            }),
            ChangeCommand::Cancel => actions.push(Action::Cancel),
        }

        let mut effects = Vec::new();
        if matches!(command, ChangeCommand::Approve { .. })
            && record.state == ChangeState::Scheduled
            && record.authorised_digest.is_some()
            && !record.is_authorised()
            && context.model.passes_through(ChangeState::Authorize)
        {
            // Edited after it was authorised: the old approvals are void, so it needs
            // authorising again; approving starts that over.
            record.state = ChangeState::Authorize;
            record.authorised_digest = None;
            effects.push(slipway_change::request::Effect::AuthorisationVoided {
                reason: "the change was edited after it was authorised".into(),
            });
        }
        let mut status = self.approval_status(&record, &approvals, None, now).await?;
        for action in actions {
            let approving = action == Action::Approve;
            // An approval that does not yet satisfy the rules is recorded without a transition.
            if approving
                && (record.state == ChangeState::Authorize
                    || (record.break_glass.is_some()
                        && matches!(record.state, ChangeState::Implement | ChangeState::Review)))
                && !status.satisfied
            {
                break;
            }
            context.approvals = Some(status.clone());
            let outcome = transition(&record, action.clone(), &context)
                .map_err(|e| ChangeError::Refused(e.to_string()))?;
            record = outcome.record;
            effects.extend(outcome.effects);
            // Moving from Assess to Authorize: the same approval may already satisfy the rules.
            if approving && record.state == ChangeState::Authorize {
                status = self.approval_status(&record, &approvals, None, now).await?;
                if status.satisfied {
                    context.approvals = Some(status.clone());
                    if let Ok(outcome) = transition(&record, Action::Approve, &context) {
                        record = outcome.record;
                        effects.extend(outcome.effects);
                    }
                }
            }
        }
        status = self.approval_status(&record, &approvals, None, now).await?;
        details.insert("record".into(), json!(record));
        details.insert("effects".into(), json!(effects));
        details.insert("approvals".into(), json!(status.summary()));

        let sequence = u32::try_from(events.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        let event = ChangeEventSpec {
            change: name.to_string(),
            sequence,
            action: command.name().to_string(),
            actor: user.clone(),
            actor_teams: teams,
            at: now.to_string(),
            content_digest: digest,
            from_state: from_state.as_str().to_string(),
            to_state: record.state.as_str().to_string(),
            details: Value::Object(details),
        };
        let event_name = record_name(name, sequence, &[&user, command.name(), &event.at]);
        let document = json!({"apiVersion": API_VERSION, "kind": ChangeEvent::KIND,
            "metadata": {"name": event_name, "labels": {"slipway.dev/change": name}},
            "spec": event});
        let mut batch = vec![Mutation::Put(parse_document(&document).map_err(|d| {
            ChangeError::Invalid {
                name: name.to_string(),
                reason: d
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            }
        })?)];
        if record.spec != loaded_spec(&resource)? {
            // A schedule writes the planned window into the request itself: it is part of
            // the content approvals are bound to, and the edit is audited like any other.
            let mut updated = resource.clone();
            updated.spec =
                serde_json::to_value(&record.spec).map_err(|e| ChangeError::Invalid {
                    name: name.to_string(),
                    reason: e.to_string(),
                })?;
            batch.push(Mutation::Put(updated));
        }
        self.store.apply(actor, batch, false).await?;
        self.store
            .kind::<ChangeRequest>()
            .set_status(
                name,
                &json!({"state": record.state.as_str(), "risk": record.risk,
                        "impactedServices": record.impacted_services,
                        "authorised": record.is_authorised(),
                        "approvals": status.summary(),
                        "breakGlass": record.break_glass}),
            )
            .await?;
        for content in crate::events::change_events(
            name,
            command.name(),
            &user,
            &record.spec.title,
            record.state.as_str(),
        ) {
            crate::events::emit(self.store.as_ref(), name, content).await?;
        }
        tracing::info!(change = name, action = command.name(), actor = %user,
            from = from_state.as_str(), to = record.state.as_str(), "change request action");
        self.view(name, None).await
    }

    /// Who requested, wrote, submitted or last edited the change may not approve it (nor grant
    /// it an exception).
    async fn check_separation(
        &self,
        record: &ChangeRecord,
        events: &[ChangeEventSpec],
        name: &str,
        user: &str,
    ) -> Result<(), ChangeError> {
        let spec = &record.spec;
        let last_editor = self.store.kind::<ChangeRequest>().updated_by(name).await?;
        let role = if user == spec.requester {
            Some("requested")
        } else if spec.authors.iter().any(|a| a == user) {
            Some("is an author of")
        } else if events
            .iter()
            .any(|e| e.action == "submit" && e.actor == user)
        {
            Some("submitted")
        } else if last_editor.as_deref() == Some(user) {
            Some("last edited")
        } else {
            None
        };
        match role {
            Some(role) => Err(ChangeError::SeparationOfDuties(format!(
                "{user} {role} change {name} and cannot approve it"
            ))),
            None => Ok(()),
        }
    }

    /// Every change request's current record (for scheduling conflicts and rates).
    pub async fn records(&self) -> Result<Vec<ChangeRecord>, ChangeError> {
        let events = self.all_events().await?;
        let mut out = Vec::new();
        for resource in self.store.kind::<ChangeRequest>().resources().await? {
            let Some(spec) = typed::<ChangeRequestSpec>(&resource.spec) else {
                continue;
            };
            let name = resource.metadata.name.clone();
            let mine: Vec<&ChangeEventSpec> = events.iter().filter(|e| e.change == name).collect();
            out.push(latest_record(&name, spec, mine.into_iter()));
        }
        Ok(out)
    }

    async fn load(&self, name: &str) -> Result<Loaded, ChangeError> {
        let resource = self
            .store
            .kind::<ChangeRequest>()
            .resource(name)
            .await?
            .ok_or_else(|| ChangeError::NotFound(name.to_string()))?;
        let spec = loaded_spec(&resource)?;
        let mut events: Vec<ChangeEventSpec> = self
            .store
            .kind::<ChangeEvent>()
            .list_labelled("slipway.dev/change", name)
            .await?
            .into_iter()
            .map(|r| r.spec)
            .filter(|e| e.change == name)
            .collect();
        events.sort_by(|a, b| a.sequence.cmp(&b.sequence).then(a.at.cmp(&b.at)));
        let record = latest_record(name, spec, events.iter());
        Ok(Loaded {
            resource,
            record,
            events,
        })
    }

    async fn all_events(&self) -> Result<Vec<ChangeEventSpec>, ChangeError> {
        Ok(self
            .store
            .kind::<ChangeEvent>()
            .resources()
            .await?
            .iter()
            .filter_map(|r| typed::<ChangeEventSpec>(&r.spec))
            .collect())
    }

    async fn model_for(&self, spec: &ChangeRequestSpec) -> Result<ChangeModelSpec, ChangeError> {
        if let Some(model) = &spec.model {
            let resource = self
                .store
                .kind::<ChangeModel>()
                .resource(model)
                .await?
                .ok_or_else(|| {
                    ChangeError::Refused(format!("change model {model} does not exist"))
                })?;
            return typed::<ChangeModelSpec>(&resource.spec)
                .ok_or_else(|| ChangeError::Refused(format!("change model {model} is invalid")));
        }
        Ok(ChangeModelSpec::default_for(spec.change_type))
    }

    /// Service → the services it depends on.
    async fn dependency_graph(&self) -> Result<BTreeMap<String, Vec<String>>, ChangeError> {
        Ok(self
            .store
            .kind::<Service>()
            .resources()
            .await?
            .into_iter()
            .filter_map(|r| typed::<ServiceSpec>(&r.spec).map(|s| (r.metadata.name, s.depends_on)))
            .collect())
    }

    async fn calendar_set(&self) -> Result<CalendarSet, ChangeError> {
        CalendarSet::compile(&calendars(self.store.as_ref()).await?).map_err(|d| {
            ChangeError::Refused(format!(
                "the calendars do not compile: {}",
                d.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
        })
    }

    async fn scheduled_changes(&self, except: &str) -> Result<Vec<ScheduledChange>, ChangeError> {
        Ok(self
            .records()
            .await?
            .iter()
            .filter(|r| r.id != except)
            .filter_map(ScheduledChange::from_record)
            .collect())
    }

    /// The approval rules that apply to the change: those its model names (or all), filtered
    /// by each target environment, the change's risk level and its type.
    async fn rules_for(
        &self,
        record: &ChangeRecord,
    ) -> Result<BTreeMap<String, ApprovalRuleSpec>, ChangeError> {
        let model = self.model_for(&record.spec).await?;
        let all: BTreeMap<String, ApprovalRuleSpec> = self
            .store
            .kind::<ApprovalRule>()
            .resources()
            .await?
            .into_iter()
            .filter(|r| {
                model.approval_rules.is_empty() || model.approval_rules.contains(&r.metadata.name)
            })
            .filter_map(|r| typed::<ApprovalRuleSpec>(&r.spec).map(|s| (r.metadata.name, s)))
            .collect();
        let level = record.risk.as_ref().map_or(RiskLevel::Low, |r| r.level);
        let mut out = BTreeMap::new();
        for environment in &record.spec.environments {
            out.extend(applicable_rules(
                &all,
                environment,
                level,
                record.spec.change_type,
            ));
        }
        Ok(out)
    }

    async fn approval_status(
        &self,
        record: &ChangeRecord,
        approvals: &[Approval],
        deployer: Option<&str>,
        now: Timestamp,
    ) -> Result<ApprovalStatus, ChangeError> {
        // With no applicable rule the approve action itself is the approval: one person who
        // is neither the requester nor an author (see `act`) moves the change on.
        let rules = self.rules_for(record).await?;
        let sod = SodContext {
            requester: record.spec.requester.clone(),
            authors: record.spec.authors.clone(),
            deployer: deployer.map(str::to_string),
        };
        Ok(evaluate_approvals(
            &rules,
            approvals,
            &sod,
            now,
            &change_content_digest(&record.spec),
        ))
    }

    async fn assess(
        &self,
        record: &ChangeRecord,
    ) -> Result<slipway_change::RiskAssessment, ChangeError> {
        let mut tier = EnvironmentTier::Development;
        for environment in &record.spec.environments {
            if let Some(spec) = self
                .store
                .kind::<Environment>()
                .resource(environment)
                .await?
                .and_then(|r| typed::<EnvironmentSpec>(&r.spec))
            {
                tier = tier.max(spec.tier);
            }
        }
        let policy = self
            .store
            .kind::<RiskPolicy>()
            .resources()
            .await?
            .first()
            .and_then(|r| typed::<RiskPolicySpec>(&r.spec))
            .unwrap_or_default();
        let input = RiskInput {
            environment_tier: tier,
            impacted_services: record.impacted_services.len(),
            versions: record
                .spec
                .artifacts
                .iter()
                .map(|a| VersionChange {
                    service: a.service.clone(),
                    current: a.previous_version.clone(),
                    new: a.version.clone(),
                })
                .collect(),
            change_failure_rate: self.failure_rate(&record.spec.services).await?,
            minutes_to_window_end: match (record.spec.planned_start, record.spec.planned_end) {
                (Some(start), Some(end)) => Some(end.duration_since(start).as_mins()),
                _ => None,
            },
            change_type: record.spec.change_type,
        };
        Ok(assess_risk(&input, &policy))
    }

    /// The share of the services' last 20 finished rollouts that rolled back or failed.
    async fn failure_rate(&self, services: &[String]) -> Result<Option<f64>, ChangeError> {
        let mut finished: Vec<(String, bool)> = Vec::new();
        for rollout in self.store.kind::<Rollout>().resources().await? {
            let service = rollout.spec.get("service").and_then(Value::as_str);
            if !service.is_some_and(|s| services.iter().any(|x| x == s)) {
                continue;
            }
            let status = rollout.status.unwrap_or_default();
            let failed = match status.get("phase").and_then(Value::as_str) {
                Some("Promoted" | "Removed") => false,
                Some("RolledBack" | "Failed") => true,
                _ => continue,
            };
            finished.push((rollout.metadata.updated_at.unwrap_or_default(), failed));
        }
        if finished.is_empty() {
            return Ok(None);
        }
        finished.sort();
        let recent: Vec<_> = finished.iter().rev().take(20).collect();
        let failures = recent.iter().filter(|(_, f)| *f).count();
        Ok(Some(failures as f64 / recent.len() as f64))
    }
}

struct Loaded {
    resource: Resource,
    record: ChangeRecord,
    events: Vec<ChangeEventSpec>,
}

fn loaded_spec(resource: &Resource) -> Result<ChangeRequestSpec, ChangeError> {
    serde_json::from_value(resource.spec.clone()).map_err(|e| ChangeError::Invalid {
        name: resource.metadata.name.clone(),
        reason: e.to_string(),
    })
}

/// The record the latest event produced, with the request's current spec (edits count).
fn latest_record<'a>(
    name: &str,
    spec: ChangeRequestSpec,
    events: impl DoubleEndedIterator<Item = &'a ChangeEventSpec>,
) -> ChangeRecord {
    let mut record = events
        .rev()
        .find_map(|e| {
            e.details
                .get("record")
                .and_then(|r| serde_json::from_value::<ChangeRecord>(r.clone()).ok())
        })
        .unwrap_or_else(|| ChangeRecord::new(name, spec.clone()));
    record.spec = spec;
    record
}

/// Whether an exception to windows and freezes was approved for the content with `digest`
/// (an edit voids it, like an approval).
pub fn exception_approved(events: &[ChangeEventSpec], digest: &str) -> bool {
    events
        .iter()
        .any(|e| e.action == "approve-exception" && e.content_digest == digest)
}

/// Every recorded approval and rejection, with the digest each was bound to.
pub fn approvals_of(events: &[ChangeEventSpec]) -> Vec<Approval> {
    events
        .iter()
        .filter_map(|e| {
            let decision = match e.action.as_str() {
                "approve" => slipway_change::Decision::Approve,
                "reject" => slipway_change::Decision::Reject,
                _ => return None,
            };
            Some(Approval {
                approver: e.actor.clone(),
                groups_of_approver: e.actor_teams.clone(),
                at: e.at.parse().ok()?,
                content_digest: e.content_digest.clone(),
                decision,
            })
        })
        .collect()
}

/// Every Calendar resource as the change-control rules take it.
pub async fn calendars(store: &dyn Store) -> Result<Vec<Calendar>, StoreError> {
    Ok(calendars_of(
        store.kind::<kinds::Calendar>().resources().await?,
    ))
}

/// The valid Calendar resources among `resources`, as calendars.
pub fn calendars_of(resources: Vec<Resource>) -> Vec<Calendar> {
    resources
        .into_iter()
        .filter_map(|r| {
            typed(&r.spec).map(|spec| Calendar {
                name: r.metadata.name,
                spec,
            })
        })
        .collect()
}

/// A resource name for a server-written record: the subject's name (shortened), a sequence
/// number and a short digest of what makes it unique, within the 63 characters names allow.
pub fn record_name(subject: &str, sequence: u32, unique: &[&str]) -> String {
    let digest = value_digest(&json!(unique));
    let hex = digest.trim_start_matches("sha256:");
    let short: String = subject.chars().take(40).collect();
    let short = short.trim_end_matches('-');
    format!("{short}-{sequence:04}-{}", &hex[..8.min(hex.len())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_names_are_valid_and_distinct() {
        let a = record_name("chg-1001", 3, &["ann", "approve", "t1"]);
        let b = record_name("chg-1001", 3, &["bob", "approve", "t1"]);
        assert_ne!(a, b);
        assert!(a.starts_with("chg-1001-0003-"));
        let long = record_name(&"x".repeat(63), 1, &["a"]);
        assert!(long.len() <= 63, "{long}");
        for name in [a, b, long] {
            slipway_domain::resource::check_name(&name).unwrap();
        }
    }
}
