//! Change models: workflow templates that say which states a change of a type passes through,
//! which approval rules it needs and, for emergency changes, the limits of break-glass
//! (`emergency`: how long a grant may last, when the retrospective approval and the
//! post-implementation review are due, and whether a service's next emergency is refused while
//! an earlier one's review is overdue).
//!
//! Every change starts in New and ends in Closed (or Canceled, reachable before Implement from any
//! model); a model lists the states in between in their canonical order. A standard change is a
//! pre-approved template: its model skips Assess and Authorize and has no approval rules.

use crate::emergency::BreakGlassPolicy;
use crate::request::{ChangeState, ChangeType};
use serde::{Deserialize, Serialize};
use slipway_spec::Diagnostic;
use slipway_spec::SpecRules;

/// A change model (kind `ChangeModel`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangeModelSpec {
    /// The change type this model is for.
    #[serde(rename = "type")]
    pub change_type: ChangeType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The states a change passes through, from New to Closed, in canonical order.
    pub states: Vec<ChangeState>,
    /// Names of the ApprovalRule resources whose requirements must be met in Authorize.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approval_rules: Vec<String>,
    /// Break-glass limits and the emergency loop's knobs (emergency models only); the
    /// defaults of [`BreakGlassPolicy`] when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emergency: Option<BreakGlassPolicy>,
}

impl ChangeModelSpec {
    /// The built-in model of a type, used when a change names none: standard changes go
    /// New → Scheduled → Implement → Review → Closed; normal changes through every state;
    /// emergency changes skip Assess.
    pub fn default_for(change_type: ChangeType) -> Self {
        use ChangeState::*;
        let states = match change_type {
            ChangeType::Standard => vec![New, Scheduled, Implement, Review, Closed],
            ChangeType::Normal => {
                vec![New, Assess, Authorize, Scheduled, Implement, Review, Closed]
            }
            ChangeType::Emergency => vec![New, Authorize, Scheduled, Implement, Review, Closed],
        };
        ChangeModelSpec {
            change_type,
            description: None,
            states,
            approval_rules: Vec::new(),
            emergency: None,
        }
    }

    /// The break-glass limits of changes following this model.
    pub fn break_glass_policy(&self) -> BreakGlassPolicy {
        self.emergency.clone().unwrap_or_default()
    }

    /// The state after `state` on this model's path.
    pub fn next_after(&self, state: ChangeState) -> Option<ChangeState> {
        let at = self.states.iter().position(|s| *s == state)?;
        self.states.get(at + 1).copied()
    }

    /// Whether changes of this model pass through `state`.
    pub fn passes_through(&self, state: ChangeState) -> bool {
        self.states.contains(&state)
    }

    /// Semantic checks; paths start at `spec`.
    pub fn validate(&self) -> Vec<Diagnostic> {
        let mut d = Vec::new();
        if self.states.first() != Some(&ChangeState::New) {
            d.push(Diagnostic::new("spec.states", "must start with New"));
        }
        if self.states.last() != Some(&ChangeState::Closed) {
            d.push(Diagnostic::new("spec.states", "must end with Closed"));
        }
        if !self.states.contains(&ChangeState::Implement) {
            d.push(Diagnostic::new("spec.states", "must include Implement"));
        }
        for (i, pair) in self.states.windows(2).enumerate() {
            if pair[0] >= pair[1] {
                d.push(Diagnostic::new(
                    format!("spec.states[{}]", i + 1),
                    format!(
                        "{} cannot follow {}: states go in the order New, Assess, Authorize, Scheduled, Implement, Review, Closed, each once",
                        pair[1].as_str(),
                        pair[0].as_str()
                    ),
                ));
            }
        }
        for (i, state) in self.states.iter().enumerate() {
            if *state == ChangeState::Canceled {
                d.push(Diagnostic::new(
                    format!("spec.states[{i}]"),
                    "Canceled is reachable from every model and is not listed",
                ));
            }
            if self.change_type == ChangeType::Standard
                && matches!(state, ChangeState::Assess | ChangeState::Authorize)
            {
                d.push(Diagnostic::new(
                    format!("spec.states[{i}]"),
                    format!(
                        "a standard change is pre-approved and skips {}",
                        state.as_str()
                    ),
                ));
            }
        }
        if self.change_type == ChangeType::Standard && !self.approval_rules.is_empty() {
            d.push(Diagnostic::new(
                "spec.approvalRules",
                "a standard change is pre-approved and has no approval rules",
            ));
        }
        if !self.approval_rules.is_empty() && !self.states.contains(&ChangeState::Authorize) {
            d.push(Diagnostic::new(
                "spec.approvalRules",
                "approval rules are met in Authorize, which this model skips",
            ));
        }
        d.extend(crate::request::duplicates(
            "spec.approvalRules",
            &self.approval_rules,
        ));
        if let Some(emergency) = &self.emergency {
            if self.change_type != ChangeType::Emergency {
                d.push(Diagnostic::new(
                    "spec.emergency",
                    format!(
                        "break-glass settings apply to emergency models only; this model is for {} changes",
                        self.change_type.as_str()
                    ),
                ));
            }
            d.extend(emergency.validate());
        }
        d
    }
}

impl SpecRules for ChangeModelSpec {
    fn rules(&self) -> Vec<Diagnostic> {
        self.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use slipway_spec::validate_typed;

    fn check(spec: serde_json::Value, expected: &[&str]) {
        let got: Vec<String> = validate_typed::<ChangeModelSpec>(&spec)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(got, expected, "{spec}");
    }

    #[test]
    fn model_rules_name_the_field() {
        check(
            json!({"type": "normal", "states": ["New", "Assess", "Authorize", "Scheduled", "Implement", "Review", "Closed"], "approvalRules": ["cab"]}),
            &[],
        );
        check(
            json!({"type": "standard", "states": ["New", "Authorize", "Implement", "Closed"]}),
            &["spec.states[1]: a standard change is pre-approved and skips Authorize"],
        );
        check(
            json!({"type": "normal", "states": ["New", "Implement", "Assess", "Closed"]}),
            &[
                "spec.states[2]: Assess cannot follow Implement: states go in the order New, Assess, Authorize, Scheduled, Implement, Review, Closed, each once",
            ],
        );
        check(
            json!({"type": "normal", "states": ["Assess", "Closed"]}),
            &[
                "spec.states: must start with New",
                "spec.states: must include Implement",
            ],
        );
        check(
            json!({"type": "normal", "states": ["New", "Implement", "Closed"], "approvalRules": ["cab"]}),
            &["spec.approvalRules: approval rules are met in Authorize, which this model skips"],
        );
        let emergency = json!(["New", "Authorize", "Implement", "Review", "Closed"]);
        check(
            json!({"type": "emergency", "states": emergency,
                   "emergency": {"maxDuration": "2h", "retroApprovalWithin": "24h", "reviewWithin": "3s",
                                 "blockWhilePreviousReviewOverdue": true}}),
            &[],
        );
        check(
            json!({"type": "normal", "states": emergency, "emergency": {"blockWhilePreviousReviewOverdue": true}}),
            &[
                "spec.emergency: break-glass settings apply to emergency models only; this model is for normal changes",
            ],
        );
        check(
            json!({"type": "emergency", "states": emergency, "emergency": {"reviewWithin": "0s", "maxDuration": "-1h"}}),
            &[
                "spec.emergency.maxDuration: -1h is not a positive duration",
                "spec.emergency.reviewWithin: 0s is not a positive duration",
            ],
        );
        check(
            json!({"type": "emergency", "states": emergency, "emergency": {"blockWhilePreviousReviewOverdue": "yes"}}),
            &[
                "spec.emergency.blockWhilePreviousReviewOverdue: invalid type: string \"yes\", expected a boolean",
            ],
        );
        check(
            json!({"type": "normal", "states": ["New", "Implement", "Closed"], "extra": 1}),
            &[
                "spec.extra: unknown field `extra`, expected one of `type`, `description`, `states`, `approvalRules`, `emergency`",
            ],
        );
    }

    #[test]
    fn a_model_gives_its_changes_its_break_glass_policy_defaults_filling_the_rest() {
        let model: ChangeModelSpec = serde_json::from_value(json!({"type": "emergency",
            "states": ["New", "Implement", "Closed"], "emergency": {"reviewWithin": "3s"}}))
        .unwrap();
        let policy = model.break_glass_policy();
        let defaults = BreakGlassPolicy::default();
        assert_eq!(policy.review_within, jiff::SignedDuration::from_secs(3));
        assert_eq!(policy.retro_approval_within, defaults.retro_approval_within);
        assert_eq!(policy.max_duration, defaults.max_duration);
        assert!(!policy.block_while_previous_review_overdue);
        let built_in = ChangeModelSpec::default_for(ChangeType::Emergency);
        assert_eq!(built_in.break_glass_policy(), defaults);
    }

    #[test]
    fn default_models_are_valid() {
        for t in [
            ChangeType::Standard,
            ChangeType::Normal,
            ChangeType::Emergency,
        ] {
            assert_eq!(ChangeModelSpec::default_for(t).validate(), vec![]);
        }
        let standard = ChangeModelSpec::default_for(ChangeType::Standard);
        assert_eq!(
            standard.next_after(ChangeState::New),
            Some(ChangeState::Scheduled)
        );
    }
}
