//! Typed validation of a spec value: deserialize into the kind's struct (unknown fields
//! refused), name the failing field path, then run the type's own semantic rules.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::diagnostic::Diagnostic;

/// Semantic checks beyond the shape, e.g. ranges and duplicates.
pub trait SpecRules {
    fn rules(&self) -> Vec<Diagnostic> {
        Vec::new()
    }
}

/// Deserializes a spec into its typed form; `None` when it does not validate.
pub fn typed<T: DeserializeOwned>(spec: &Value) -> Option<T> {
    T::deserialize(spec).ok()
}

/// Validates a spec against a typed struct (unknown fields refused), naming the failing field,
/// then runs the type's own semantic checks.
pub fn validate_typed<T: DeserializeOwned + SpecRules>(spec: &Value) -> Vec<Diagnostic> {
    if !spec.is_object() && !spec.is_null() {
        return vec![Diagnostic::new(
            "spec",
            format!("must be a mapping, found {}", json_type(spec)),
        )];
    }
    let empty = Value::Object(Default::default());
    let spec = if spec.is_null() { &empty } else { spec };
    match serde_path_to_error::deserialize::<_, T>(spec) {
        Ok(typed) => typed.rules(),
        Err(e) => vec![Diagnostic::new(
            prefixed("spec", &e.path().to_string()),
            e.inner().to_string(),
        )],
    }
}

/// Joins a field-path prefix and the path serde reported (`.` for the root).
pub fn prefixed(prefix: &str, rest: &str) -> String {
    if rest.is_empty() || rest == "." {
        prefix.to_string()
    } else if rest.starts_with('[') {
        format!("{prefix}{rest}")
    } else {
        format!("{prefix}.{rest}")
    }
}

/// A short name for a JSON value's type, for error messages.
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        #[allow(dead_code)] // read only through validation
        count: u32,
    }
    impl SpecRules for Sample {}

    #[test]
    fn the_failing_field_is_named_under_spec() {
        let d = validate_typed::<Sample>(&json!({"count": "x"}));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].path, "spec.count");
        let d = validate_typed::<Sample>(&json!([1]));
        assert_eq!(d[0].message, "must be a mapping, found a list");
        assert!(validate_typed::<Sample>(&json!({"count": 3})).is_empty());
    }
}
