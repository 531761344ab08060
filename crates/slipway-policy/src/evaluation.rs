//! Evaluating a loaded policy set over one gate input: each policy's `deny`
//! and `warn` rules, timed, with failures turned into denials (fail closed).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use regorus::Value;
use serde::{Serialize, Serializer};

use crate::loading::{LoadedPolicy, PolicyError, PolicySet};

/// What one policy said about one gate input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyOutcome {
    /// The policy's name.
    pub name: String,
    /// Reasons to refuse the gate (the policy's `deny` set), sorted.
    pub deny: Vec<String>,
    /// Reasons reported without refusing (the policy's `warn` set), sorted.
    pub warn: Vec<String>,
    /// Why the policy could not be evaluated; an error refuses the gate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Wall time the evaluation took (serialized as `elapsedMicros`).
    #[serde(rename = "elapsedMicros", serialize_with = "as_micros")]
    pub elapsed: Duration,
}

impl PolicyOutcome {
    /// True when this policy refuses the gate: a deny reason or an error.
    pub fn denies(&self) -> bool {
        !self.deny.is_empty() || self.error.is_some()
    }
}

/// The verdict of a whole policy set: one outcome per policy, in load order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyVerdict {
    /// True when no policy denies and none failed.
    pub allowed: bool,
    /// Each policy's outcome.
    pub policies: Vec<PolicyOutcome>,
}

impl PolicyVerdict {
    /// Every reason the gate is refused, as `policy: reason` lines (errors
    /// included, as `policy: evaluation failed: ...`).
    pub fn deny_reasons(&self) -> Vec<String> {
        self.policies
            .iter()
            .flat_map(|outcome| {
                let failure = outcome
                    .error
                    .iter()
                    .map(move |error| format!("{}: evaluation failed: {error}", outcome.name));
                let reasons = outcome
                    .deny
                    .iter()
                    .map(move |reason| format!("{}: {reason}", outcome.name));
                failure.chain(reasons)
            })
            .collect()
    }

    /// Every warning, as `policy: reason` lines.
    pub fn warnings(&self) -> Vec<String> {
        self.policies
            .iter()
            .flat_map(|outcome| {
                outcome
                    .warn
                    .iter()
                    .map(move |reason| format!("{}: {reason}", outcome.name))
            })
            .collect()
    }
}

fn as_micros<S: Serializer>(elapsed: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX))
}

impl PolicySet {
    /// Evaluates every policy over `input` (the gate input document, a JSON
    /// object). A policy that fails — time limit, a built-in error, a `deny`
    /// that is not a set of strings — gets an `error` and refuses the gate.
    pub fn evaluate(&self, input: &serde_json::Value) -> Result<PolicyVerdict, PolicyError> {
        if !input.is_object() {
            return Err(PolicyError::InputNotObject);
        }
        let input = Value::from(input.clone());
        let policies: Vec<PolicyOutcome> = self
            .policies
            .iter()
            .map(|policy| evaluate_one(policy, &input))
            .collect();
        Ok(PolicyVerdict {
            allowed: !policies.iter().any(PolicyOutcome::denies),
            policies,
        })
    }
}

fn evaluate_one(policy: &LoadedPolicy, input: &Value) -> PolicyOutcome {
    let started = Instant::now();
    let result = catch_unwind(AssertUnwindSafe(|| rule_sets(policy, input))).unwrap_or_else(|_| {
        Err("the rego interpreter panicked while evaluating the policy".to_owned())
    });
    let elapsed = started.elapsed();
    let (deny, warn, error) = match result {
        Ok((deny, warn)) => (deny, warn, None),
        Err(error) => (Vec::new(), Vec::new(), Some(error)),
    };
    PolicyOutcome {
        name: policy.name.clone(),
        deny,
        warn,
        error,
        elapsed,
    }
}

fn rule_sets(policy: &LoadedPolicy, input: &Value) -> Result<(Vec<String>, Vec<String>), String> {
    let mut engine = policy.engine.clone();
    engine.set_input(input.clone());
    let mut rule = |path: &str, rule_name: &str| {
        let value = engine
            .eval_rule(path.to_owned())
            .map_err(|error| error.to_string())?;
        strings_of(rule_name, &value)
    };
    let deny = rule(&policy.deny_path, "deny")?;
    let warn = match &policy.warn_path {
        Some(path) => rule(path, "warn")?,
        None => Vec::new(),
    };
    Ok((deny, warn))
}

/// The strings of a rule's value: a set or array of strings; undefined is empty.
fn strings_of(rule_name: &str, value: &Value) -> Result<Vec<String>, String> {
    let elements: Vec<&Value> = match value {
        Value::Undefined => return Ok(Vec::new()),
        Value::Set(set) => set.iter().collect(),
        Value::Array(array) => array.iter().collect(),
        other => {
            return Err(format!(
                "`{rule_name}` must be a set of strings, but it is {}",
                type_name(other)
            ));
        }
    };
    let mut strings = elements
        .into_iter()
        .map(|element| match element {
            Value::String(text) => Ok(text.to_string()),
            other => Err(format!(
                "`{rule_name}` must be a set of strings, but it contains {}",
                type_name(other)
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    strings.sort();
    strings.dedup();
    Ok(strings)
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Set(_) => "a set",
        Value::Object(_) => "an object",
        Value::Undefined => "undefined",
    }
}
