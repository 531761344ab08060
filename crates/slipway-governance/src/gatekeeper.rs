//! The deployment gate: the engine's `Gatekeeper`, deciding from the environment's protection,
//! the change request the deployment names, the calendars (windows, freezes, lockdown) and the
//! break-glass grant, with `slipway_change::decide_gate`. Every decision that differs from the
//! previous one for the same subject is recorded as an audited `GateDecision` resource holding
//! every rule's outcome and the inputs, which `slipway gate explain` prints.
//!
//! A failing rule makes the deployment wait (an approval, a window or the end of a freeze may
//! come); only an invalid calendar set denies. Where the environment does not require a change
//! request, the change rules are informational, and a deployment without an authorised change
//! is recorded as unauthorised for review.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use jiff::Timestamp;
use serde_json::json;
use slipway_change::{GateInput, decide_gate};
use slipway_domain::governance_records::{GateDecisionSpec, GateRuleOutcome};
use slipway_domain::kinds::{EnvironmentSpec, typed};
use slipway_domain::resource::parse_document;
use slipway_engine::EngineError;
use slipway_engine::gate::{GateRequest, GateVerdict, Gatekeeper};
use slipway_store::{Actor, Mutation, Store};

use crate::desk::{ChangeDesk, ChangeError, calendars, record_name};

/// Rules about the change request itself; informational where none is required.
const CHANGE_RULES: [&str; 3] = [
    "change-present",
    "change-covers-target",
    "change-authorised",
];

/// The gate built from change control.
pub struct GovernanceGate {
    store: Arc<dyn Store>,
    desk: ChangeDesk,
    /// The last verdict recorded per subject, so a waiting rollout is not recorded every poll.
    last: Mutex<HashMap<String, (String, Vec<GateRuleOutcome>)>>,
    sequence: Mutex<HashMap<String, u32>>,
}

impl GovernanceGate {
    pub fn new(store: Arc<dyn Store>) -> Self {
        GovernanceGate {
            desk: ChangeDesk::new(store.clone()),
            store,
            last: Mutex::new(HashMap::new()),
            sequence: Mutex::new(HashMap::new()),
        }
    }

    /// Decides without recording: the decision and the inputs it was computed from.
    pub async fn evaluate(
        &self,
        request: &GateRequest,
        now: Timestamp,
    ) -> Result<GateDecisionSpec, EngineError> {
        let store_error = |e: slipway_store::StoreError| EngineError::Store(e);
        let required = self
            .store
            .get("Environment", &request.environment)
            .await
            .map_err(store_error)?
            .and_then(|r| typed::<EnvironmentSpec>(&r.spec))
            .is_some_and(|e| e.protection.require_change_request);
        let deployer = self
            .store
            .updated_by(&request.subject_kind, &request.subject)
            .await
            .map_err(store_error)?;
        let view = match &request.change {
            Some(name) => match self.desk.view(name, deployer.as_deref()).await {
                Ok(view) => Some(view),
                Err(ChangeError::NotFound(_)) => None,
                Err(ChangeError::Store(e)) => return Err(EngineError::Store(e)),
                Err(e) => {
                    return Err(EngineError::Gate {
                        reasons: vec![e.to_string()],
                    });
                }
            },
            None => None,
        };
        let calendars = calendars(self.store.as_ref()).await.map_err(store_error)?;
        let input = GateInput {
            change: view.as_ref().map(|v| &v.record),
            service: &request.service,
            environment: &request.environment,
            now,
            calendars: &calendars,
            checks: &[],
            required_checks: &[],
            break_glass: None,
            exception_approved: false,
        };
        let decision = decide_gate(&input);
        let mut rules: Vec<GateRuleOutcome> = decision
            .reasons
            .iter()
            .map(|r| GateRuleOutcome {
                rule: r.rule.clone(),
                passed: r.passed,
                detail: r.detail.clone(),
            })
            .collect();
        let mut unauthorised = false;
        if !required {
            for rule in rules
                .iter_mut()
                .filter(|r| CHANGE_RULES.contains(&r.rule.as_str()))
            {
                if !rule.passed {
                    unauthorised = true;
                    rule.passed = true;
                    rule.detail = format!(
                        "not required in {} (recorded as an unauthorised change for review): {}",
                        request.environment, rule.detail
                    );
                }
            }
        }
        if let Some(view) = &view
            && view
                .approvals
                .ignored
                .iter()
                .any(|i| Some(&i.approver) == deployer.as_ref())
        {
            rules.push(GateRuleOutcome {
                rule: "separation-of-duties".into(),
                passed: true,
                detail: format!(
                    "the approval of {} does not count: they trigger this deployment",
                    deployer.as_deref().unwrap_or_default()
                ),
            });
        }
        let allowed = rules.iter().all(|r| r.passed);
        let broken_calendars = rules
            .iter()
            .any(|r| r.rule == "calendars-valid" && !r.passed);
        let verdict = match (allowed, broken_calendars) {
            (true, _) => "allow",
            (false, true) => "deny",
            (false, false) => "wait",
        };
        Ok(GateDecisionSpec {
            subject_kind: request.subject_kind.clone(),
            subject: request.subject.clone(),
            service: request.service.clone(),
            environment: request.environment.clone(),
            artifact: request.artifact.clone(),
            change: request.change.clone(),
            step: request.step.clone(),
            at: now.to_string(),
            verdict: verdict.into(),
            rules,
            inputs: json!({
                "changeRequired": required,
                "unauthorisedChange": unauthorised,
                "deployer": deployer,
                "change": view.as_ref().map(|v| json!({
                    "state": v.record.state.as_str(),
                    "contentDigest": v.content_digest,
                    "authorisedDigest": v.record.authorised_digest,
                    "approvals": v.approvals.summary(),
                })),
                "calendars": calendars.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
            }),
        })
    }

    /// Records `decision` unless it repeats the subject's previous one.
    async fn record(&self, decision: &GateDecisionSpec) -> Result<(), EngineError> {
        let key = format!(
            "{}/{}/{}/{}",
            decision.subject_kind,
            decision.subject,
            decision.service,
            decision.step.as_deref().unwrap_or("")
        );
        let fingerprint = (decision.verdict.clone(), decision.rules.clone());
        {
            let last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
            if last.get(&key) == Some(&fingerprint) {
                return Ok(());
            }
        }
        let sequence = {
            let mut sequences = self.sequence.lock().unwrap_or_else(PoisonError::into_inner);
            let n = sequences.entry(decision.subject.clone()).or_insert(0);
            *n += 1;
            *n
        };
        let name = record_name(
            &format!("gate-{}", decision.subject),
            sequence,
            &[&key, &decision.at, &decision.verdict],
        );
        let document = json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "GateDecision",
            "metadata": {"name": name, "labels": {
                "slipway.dev/subject": label_value(&decision.subject),
                "slipway.dev/verdict": decision.verdict}},
            "spec": decision});
        let resource = parse_document(&document).map_err(|d| EngineError::Gate {
            reasons: d.iter().map(ToString::to_string).collect(),
        })?;
        let actor = Actor::system("gate");
        self.store
            .apply(&actor, vec![Mutation::Put(resource)], false)
            .await?;
        self.last
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, fingerprint);
        Ok(())
    }
}

/// Label values are limited like names; long subjects are cut.
fn label_value(subject: &str) -> String {
    subject.chars().take(63).collect()
}

#[async_trait]
impl Gatekeeper for GovernanceGate {
    async fn decide(&self, request: &GateRequest) -> Result<GateVerdict, EngineError> {
        let decision = self.evaluate(request, Timestamp::now()).await?;
        self.record(&decision).await?;
        let failing: Vec<String> = decision
            .rules
            .iter()
            .filter(|r| !r.passed)
            .map(|r| format!("{}: {}", r.rule, r.detail))
            .collect();
        Ok(match decision.verdict.as_str() {
            "allow" => GateVerdict::Allow {
                summary: format!("{} rule(s) passed", decision.rules.len()),
            },
            "deny" => GateVerdict::Deny { reasons: failing },
            _ => GateVerdict::Wait { reasons: failing },
        })
    }
}
