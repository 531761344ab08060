//! Resource documents: `apiVersion`, `kind`, `metadata`, `spec` and server-written `status`.
//!
//! Parsing turns an untyped JSON value (from YAML, JSON or an API body) into a [`Resource`] and
//! checks everything that does not need the store: the envelope, the name, labels and the kind's
//! own spec schema (see [`crate::kinds`]). Cross-document references are checked in
//! [`crate::references`].

use crate::canonical::value_digest;
use crate::diagnostic::Diagnostic;
use crate::kinds::{self, KindDef};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The only API version this release understands.
pub const API_VERSION: &str = "slipway.dev/v1alpha1";

/// A declarative document as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    pub api_version: String,
    pub kind: String,
    pub metadata: Metadata,
    #[serde(default)]
    pub spec: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Value>,
}

/// Identity and bookkeeping of a resource. `revision` and the timestamps are written by the
/// server; a client that sends `revision` asks for optimistic concurrency (a stale one is refused).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

impl Resource {
    /// The part of a resource that is declared by people and covered by the audit digest:
    /// apiVersion, kind, name, labels, annotations and spec. Revision, timestamps and status are
    /// bookkeeping and are not part of it.
    pub fn declared_content(&self) -> Value {
        let mut metadata = Map::new();
        metadata.insert("name".into(), Value::String(self.metadata.name.clone()));
        if !self.metadata.labels.is_empty() {
            metadata.insert("labels".into(), string_map(&self.metadata.labels));
        }
        if !self.metadata.annotations.is_empty() {
            metadata.insert("annotations".into(), string_map(&self.metadata.annotations));
        }
        let mut doc = Map::new();
        doc.insert("apiVersion".into(), Value::String(self.api_version.clone()));
        doc.insert("kind".into(), Value::String(self.kind.clone()));
        doc.insert("metadata".into(), Value::Object(metadata));
        doc.insert("spec".into(), self.spec.clone());
        Value::Object(doc)
    }

    /// `sha256:<hex>` over the canonical form of [`Resource::declared_content`].
    pub fn digest(&self) -> String {
        value_digest(&self.declared_content())
    }

    /// Whether this resource is of kind `K`.
    pub fn is<K: kinds::Kind>(&self) -> bool {
        self.kind == K::KIND
    }

    /// The kind's registry entry; every parsed resource has one.
    pub fn kind_def(&self) -> Option<&'static KindDef> {
        kinds::lookup(&self.kind)
    }
}

fn string_map(map: &BTreeMap<String, String>) -> Value {
    Value::Object(
        map.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// Checks a resource name: 1 to 63 characters of lower-case letters, digits and `-`, starting
/// with a letter and not ending with `-` (a DNS label, so names work in hosts, URLs and files).
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name.len() > 63 {
        return Err(format!(
            "is {} characters long; at most 63 are allowed",
            name.len()
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(format!("{name:?} must start with a lower-case letter"));
    }
    if name.ends_with('-') {
        return Err(format!("{name:?} must not end with '-'"));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "{name:?} contains {bad:?}; only lower-case letters, digits and '-' are allowed"
        ));
    }
    Ok(())
}

fn check_label_key(key: &str) -> Result<(), String> {
    let ok = !key.is_empty()
        && key.len() <= 253
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "label key {key:?} must be 1 to 253 characters of letters, digits, '-', '_', '.' or '/'"
        ))
    }
}

/// Parses and validates one document. All problems found are returned, not just the first.
pub fn parse_document(value: &Value) -> Result<Resource, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let Some(obj) = value.as_object() else {
        return Err(vec![Diagnostic::new(
            "",
            format!("a document must be a mapping, found {}", json_type(value)),
        )]);
    };
    for key in obj.keys() {
        if !matches!(
            key.as_str(),
            "apiVersion" | "kind" | "metadata" | "spec" | "status"
        ) {
            diags.push(Diagnostic::new(
                key.as_str(),
                "unknown top-level field; expected apiVersion, kind, metadata, spec or status",
            ));
        }
    }
    match obj.get("apiVersion") {
        Some(Value::String(v)) if v == API_VERSION => {}
        Some(Value::String(v)) => diags.push(Diagnostic::new(
            "apiVersion",
            format!("unsupported apiVersion {v:?}; expected {API_VERSION:?}"),
        )),
        Some(other) => diags.push(Diagnostic::new(
            "apiVersion",
            format!("must be a string, found {}", json_type(other)),
        )),
        None => diags.push(Diagnostic::new("apiVersion", "is required")),
    }
    let kind_def = match obj.get("kind") {
        Some(Value::String(k)) => match kinds::lookup_exact(k) {
            Some(def) => Some(def),
            None => {
                diags.push(Diagnostic::new(
                    "kind",
                    format!(
                        "unknown kind {k:?}; known kinds: {}",
                        kinds::kind_names().join(", ")
                    ),
                ));
                None
            }
        },
        Some(other) => {
            diags.push(Diagnostic::new(
                "kind",
                format!("must be a string, found {}", json_type(other)),
            ));
            None
        }
        None => {
            diags.push(Diagnostic::new("kind", "is required"));
            None
        }
    };
    let metadata = match obj.get("metadata") {
        None => {
            diags.push(Diagnostic::new("metadata", "is required"));
            None
        }
        Some(m) => match serde_path_to_error::deserialize::<_, MetadataInput>(m) {
            Ok(md) => Some(md),
            Err(e) => {
                diags.push(Diagnostic::new(
                    prefixed("metadata", &e.path().to_string()),
                    e.inner().to_string(),
                ));
                None
            }
        },
    };
    if let Some(md) = &metadata {
        if let Err(e) = check_name(&md.name) {
            diags.push(Diagnostic::new("metadata.name", e));
        }
        for key in md.labels.keys().chain(md.annotations.keys()) {
            if let Err(e) = check_label_key(key) {
                diags.push(Diagnostic::new("metadata", e));
            }
        }
    }
    let spec = obj.get("spec").cloned().unwrap_or(Value::Null);
    if let Some(def) = kind_def {
        diags.extend((def.validate_spec)(&spec));
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    match (kind_def, metadata) {
        (Some(def), Some(md)) => Ok(Resource {
            api_version: API_VERSION.to_string(),
            kind: def.kind.to_string(),
            metadata: Metadata {
                name: md.name,
                labels: md.labels,
                annotations: md.annotations,
                revision: md.revision,
                created_at: None,
                updated_at: None,
            },
            spec: if spec.is_null() {
                Value::Object(Map::new())
            } else {
                spec
            },
            status: None,
        }),
        _ => Err(vec![Diagnostic::new("", "document is incomplete")]),
    }
}

/// What a client may send in `metadata`. Server-written timestamps are accepted (so the output
/// of `get -o yaml` can be applied again) and ignored.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MetadataInput {
    name: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    revision: Option<i64>,
    #[serde(default, rename = "createdAt")]
    _created_at: Option<String>,
    #[serde(default, rename = "updatedAt")]
    _updated_at: Option<String>,
}

pub use slipway_spec::{json_type, prefixed};

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(doc: Value, expected: &[&str]) {
        let got: Vec<String> = match parse_document(&doc) {
            Ok(_) => vec![],
            Err(d) => d.iter().map(|d| d.to_string()).collect(),
        };
        assert_eq!(got, expected, "for {doc}");
    }

    #[test]
    fn envelope_errors_name_the_field() {
        check(
            json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "Team", "metadata": {"name": "payments"}}),
            &[],
        );
        check(
            json!({"apiVersion": "v9", "kind": "Team", "metadata": {"name": "payments"}}),
            &["apiVersion: unsupported apiVersion \"v9\"; expected \"slipway.dev/v1alpha1\""],
        );
        check(
            json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "Team", "metadata": {"name": "Pay_ments"}}),
            &["metadata.name: \"Pay_ments\" must start with a lower-case letter"],
        );
        check(
            json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "Team", "metadata": {"name": "a", "owner": 1}}),
            &[
                "metadata.owner: unknown field `owner`, expected one of `name`, `labels`, `annotations`, `revision`, `createdAt`, `updatedAt`",
            ],
        );
        check(json!([1]), &["a document must be a mapping, found a list"]);
        check(
            json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "Widget", "metadata": {"name": "a"}}),
            &[&format!(
                "kind: unknown kind \"Widget\"; known kinds: {}",
                kinds::kind_names().join(", ")
            )],
        );
    }

    #[test]
    fn digest_ignores_bookkeeping() {
        let doc = json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "Team",
            "metadata": {"name": "payments", "revision": 4}, "spec": {"displayName": "Payments"}});
        let mut a = parse_document(&doc).unwrap();
        let d1 = a.digest();
        a.metadata.revision = Some(9);
        a.status = Some(json!({"x": 1}));
        assert_eq!(d1, a.digest());
        a.spec = json!({"displayName": "Pay"});
        assert_ne!(d1, a.digest());
    }
}
