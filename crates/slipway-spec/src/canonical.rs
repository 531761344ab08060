//! Canonical JSON and content digests.
//!
//! A resource's digest must not depend on map ordering, whitespace or which serde_json features
//! another crate enabled, so objects are written with their keys sorted and no whitespace, and the
//! digest is SHA-256 over those bytes, written `sha256:<hex>`.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Writes `value` as canonical JSON: object keys sorted by their UTF-8 bytes, no insignificant
/// whitespace, strings and numbers as serde_json writes them.
pub fn to_canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_value(value, &mut out);
    out
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(key) {
                    write_value(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// `sha256:<hex>` of the given bytes.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The digest of a JSON value's canonical form.
pub fn value_digest(value: &Value) -> String {
    sha256_digest(to_canonical_json(value).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_does_not_change_the_digest() {
        let a: Value = serde_json::from_str(r#"{"b":1,"a":{"y":[1,2],"x":"s"}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{ "a": {"x":"s","y":[1,2]}, "b": 1 }"#).unwrap();
        assert_eq!(to_canonical_json(&a), r#"{"a":{"x":"s","y":[1,2]},"b":1}"#);
        assert_eq!(value_digest(&a), value_digest(&b));
    }

    #[test]
    fn content_changes_change_the_digest() {
        assert_ne!(
            value_digest(&json!({"a": 1})),
            value_digest(&json!({"a": 2}))
        );
        assert_ne!(
            value_digest(&json!({"a": "1"})),
            value_digest(&json!({"a": 1}))
        );
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(
            to_canonical_json(&json!({"k\"": "a\nb"})),
            r#"{"k\"":"a\nb"}"#
        );
    }
}
