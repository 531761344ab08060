//! Field-level differences between two JSON documents, for `slipway diff` and dry runs.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One changed field. `before`/`after` are `None` when the field was added/removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

/// Lists the fields that differ between `before` and `after`, depth first, in key order.
/// Lists are compared element by element.
pub fn diff_values(before: &Value, after: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    walk("", Some(before), Some(after), &mut out);
    out
}

fn walk(path: &str, before: Option<&Value>, after: Option<&Value>, out: &mut Vec<FieldChange>) {
    match (before, after) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                walk(
                    &crate::diagnostic::join_path(path, k),
                    a.get(k),
                    b.get(k),
                    out,
                );
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                walk(&format!("{path}[{i}]"), Some(x), Some(y), out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(FieldChange {
            path: path.to_string(),
            before: a.cloned(),
            after: b.cloned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reports_changed_added_and_removed_fields() {
        let a = json!({"spec": {"tier": "low", "dependsOn": ["x"], "gone": 1}});
        let b = json!({"spec": {"tier": "high", "dependsOn": ["x"], "new": true}});
        let got: Vec<String> = diff_values(&a, &b)
            .iter()
            .map(|c| format!("{} {:?} {:?}", c.path, c.before, c.after))
            .collect();
        assert_eq!(
            got,
            vec![
                "spec.gone Some(Number(1)) None",
                "spec.new None Some(Bool(true))",
                "spec.tier Some(String(\"low\")) Some(String(\"high\"))",
            ]
        );
        assert!(diff_values(&a, &a).is_empty());
    }
}
