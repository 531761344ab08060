//! Records the server writes for change control, stored as resources so that the audit log
//! covers them like everything else: one `ChangeEvent` per action on a change request (submit,
//! approve, reject, schedule, implement, break-glass, close, cancel), and one `GateDecision`
//! per decision of the deployment gate, with its inputs and every rule's outcome.
//!
//! The current state of a change request is the fold of its events; approvals are the events
//! whose action is `approve`. Clients cannot write these kinds (`KindDef::written_by_server`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::kinds::SpecRules;

/// One action someone took on a change request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangeEventSpec {
    /// The ChangeRequest acted on.
    pub change: String,
    /// Position in the change's history, from 1.
    pub sequence: u32,
    /// `submit`, `approve` (also the retrospective approval after break-glass), `reject`,
    /// `schedule`, `implement`, `review` (with the review's content in `details.record`),
    /// `close`, `cancel`, `break-glass`, `approve-exception`, `complete-action` (a review's
    /// follow-up action done), or `escalate` (written by the server when something the change
    /// owes became overdue; `details.key` says what).
    pub action: String,
    /// Who acted (the authenticated user).
    pub actor: String,
    /// The actor's teams when they acted (approval groups are matched against these).
    #[serde(default)]
    pub actor_teams: Vec<String>,
    /// RFC 3339 time of the action.
    pub at: String,
    /// The change's content digest when the action was taken: an approval is bound to it.
    pub content_digest: String,
    /// The state before and after.
    pub from_state: String,
    pub to_state: String,
    /// Action-specific details: a reason, a planned slot, a close code and notes, a grant.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub details: Value,
}

impl SpecRules for ChangeEventSpec {
    fn rules(&self) -> Vec<Diagnostic> {
        let mut d = Vec::new();
        if self.sequence == 0 {
            d.push(Diagnostic::new("spec.sequence", "must start at 1"));
        }
        if self.actor.is_empty() {
            d.push(Diagnostic::new("spec.actor", "must not be empty"));
        }
        d
    }
}

/// The outcome of one rule the gate evaluated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GateRuleOutcome {
    pub rule: String,
    pub passed: bool,
    pub detail: String,
}

/// One decision of the deployment gate, with what it was asked and what it looked at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GateDecisionSpec {
    /// `Rollout` or `Release`, and its name.
    pub subject_kind: String,
    pub subject: String,
    pub service: String,
    pub environment: String,
    pub artifact: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<String>,
    /// The pipeline gate step, when a step asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// RFC 3339 time of the decision.
    pub at: String,
    /// `allow`, `wait` or `deny`.
    pub verdict: String,
    /// Every rule, passed or not.
    pub rules: Vec<GateRuleOutcome>,
    /// What the decision was computed from (the policy input document).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub inputs: Value,
}

impl SpecRules for GateDecisionSpec {
    fn rules(&self) -> Vec<Diagnostic> {
        if matches!(self.verdict.as_str(), "allow" | "wait" | "deny") {
            Vec::new()
        } else {
            vec![Diagnostic::new(
                "spec.verdict",
                format!(
                    "{:?} is not a verdict: expected allow, wait or deny",
                    self.verdict
                ),
            )]
        }
    }
}

/// A custom gate policy in Rego (kind `GatePolicy`); see `slipway-policy`'s `POLICY_INPUT.md`
/// for the input document and the `deny`/`warn` convention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GatePolicySpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The Rego module (package `slipway.gate` or `slipway.gate.<name>`, with a `deny` set).
    pub rego: String,
}

impl SpecRules for GatePolicySpec {
    fn rules(&self) -> Vec<Diagnostic> {
        match slipway_policy::PolicySet::load(vec![slipway_policy::PolicySource {
            name: "policy".into(),
            rego_text: self.rego.clone(),
        }]) {
            Ok(_) => Vec::new(),
            Err(e) => vec![Diagnostic::new("spec.rego", e.to_string())],
        }
    }
}

/// Where CDEvents are delivered (kind `EventSink`). Header values come from the server's
/// environment (`valueFromEnv`), so no secret is stored in a resource or shown by the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventSinkSpec {
    pub url: String,
    /// `structured` (default) or `binary` CloudEvents HTTP mode.
    #[serde(default = "structured")]
    pub mode: String,
    /// Event types to send (exact, or a prefix ending in `*`); all when empty.
    #[serde(default)]
    pub event_types: Vec<String>,
    #[serde(default)]
    pub headers: Vec<SinkHeaderSpec>,
}

fn structured() -> String {
    "structured".into()
}

/// One HTTP header of a sink, its value read from an environment variable of the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SinkHeaderSpec {
    pub name: String,
    pub value_from_env: String,
}

impl SpecRules for EventSinkSpec {
    fn rules(&self) -> Vec<Diagnostic> {
        let mut d = Vec::new();
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            d.push(Diagnostic::new(
                "spec.url",
                format!("{:?} is not an http(s) URL", self.url),
            ));
        }
        if !matches!(self.mode.as_str(), "structured" | "binary") {
            d.push(Diagnostic::new(
                "spec.mode",
                format!("{:?}: expected structured or binary", self.mode),
            ));
        }
        d
    }
}
