//! A read-only view of one JSON Schema object inside a document, with the defaults OpenAPI
//! gives absent keywords (a missing `readOnly` is `false`, a missing `minLength` is `0`).

use crate::document::{OpenApi, empty_map};
use serde_json::{Map, Value};

/// A schema reached in a document: the `$ref` it was reached through (`""` when inline) and
/// its resolved keywords. A boolean schema (`true`/`false`, OpenAPI 3.1) reads as `{}`.
#[derive(Clone, Copy)]
pub(crate) struct Schema<'a> {
    pub reference: &'a str,
    pub keywords: &'a Map<String, Value>,
}

impl<'a> Schema<'a> {
    /// Resolves `value` (following `$ref`s) into a schema view.
    pub fn at(spec: &'a OpenApi, value: &'a Value) -> Self {
        let (reference, target) = spec.resolve(value);
        Schema {
            reference,
            keywords: target.as_object().unwrap_or(empty_map()),
        }
    }

    /// The identity of the resolved schema: two views of the same schema object compare equal.
    pub fn identity(&self) -> usize {
        std::ptr::from_ref(self.keywords) as usize
    }

    pub fn get(&self, keyword: &str) -> Option<&'a Value> {
        self.keywords.get(keyword)
    }

    /// The component name when reached through `#/components/schemas/<name>` (or any ref: its
    /// last segment), `""` for inline schemas.
    pub fn component_name(&self) -> &'a str {
        self.reference
            .rsplit_once('/')
            .map_or(self.reference, |(_, last)| last)
    }

    /// `type` as a list: a string gives one entry, an array its strings, absent none.
    pub fn types(&self) -> Vec<&'a str> {
        match self.get("type") {
            Some(Value::String(name)) => vec![name.as_str()],
            Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }

    pub fn str(&self, keyword: &str) -> &'a str {
        self.get(keyword).and_then(Value::as_str).unwrap_or("")
    }

    pub fn flag(&self, keyword: &str) -> bool {
        self.get(keyword).and_then(Value::as_bool).unwrap_or(false)
    }

    pub fn title(&self) -> &'a str {
        self.str("title")
    }

    pub fn read_only(&self) -> bool {
        self.flag("readOnly")
    }

    pub fn write_only(&self) -> bool {
        self.flag("writeOnly")
    }

    pub fn required(&self) -> Vec<&'a str> {
        self.get("required")
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    pub fn is_required(&self, name: &str) -> bool {
        self.get("required")
            .and_then(Value::as_array)
            .is_some_and(|names| names.iter().any(|n| n.as_str() == Some(name)))
    }

    /// A mapping of named subschemas (`properties`, `patternProperties`, ...).
    pub fn schema_map(&self, keyword: &str) -> &'a Map<String, Value> {
        self.get(keyword)
            .and_then(Value::as_object)
            .unwrap_or(empty_map())
    }

    /// A list of subschemas (`allOf`, `anyOf`, `oneOf`, `prefixItems`).
    pub fn schema_list(&self, keyword: &str) -> &'a [Value] {
        self.get(keyword)
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }

    /// A single subschema keyword; `additionalProperties: true/false` and the like are not
    /// schemas here (their boolean form is compared as a value).
    pub fn subschema(&self, keyword: &str) -> Option<&'a Value> {
        self.get(keyword).filter(|value| value.is_object())
    }

    pub fn enum_values(&self) -> &'a [Value] {
        self.get("enum")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }

    /// The specification extensions (`x-...`) of the schema.
    pub fn extension(&self, name: &str) -> Option<&'a Value> {
        self.get(name)
    }

    /// True when the schema has no keyword that restricts instances: only annotations
    /// (title, description, examples, default, deprecated, ...) or nothing at all.
    pub fn is_annotation_only(&self) -> bool {
        self.keywords.keys().all(|keyword| {
            is_description_keyword(keyword)
                || matches!(
                    keyword.as_str(),
                    "readOnly" | "writeOnly" | "xml" | "$schema" | "$id" | "$anchor"
                )
        })
    }
}

/// Keywords that only describe an instance (extensions, titles, examples,
/// defaults, deprecation) and never restrict which instances are valid.
pub(crate) fn is_description_keyword(keyword: &str) -> bool {
    keyword.starts_with("x-")
        || matches!(
            keyword,
            "title"
                | "description"
                | "example"
                | "examples"
                | "default"
                | "externalDocs"
                | "$comment"
                | "deprecated"
        )
}

/// Numeric equality the way the Go loader sees it (every JSON number a float64).
pub(crate) fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || matches!((x.as_f64(), y.as_f64()), (Some(p), Some(q)) if p == q)
        }
        (Value::Array(xs), Value::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| values_equal(x, y))
        }
        (Value::Object(xs), Value::Object(ys)) => maps_equal(xs, ys),
        _ => a == b,
    }
}

/// [`values_equal`] for two mappings.
pub(crate) fn maps_equal(xs: &Map<String, Value>, ys: &Map<String, Value>) -> bool {
    std::ptr::eq(xs, ys)
        || (xs.len() == ys.len()
            && xs
                .iter()
                .all(|(key, x)| ys.get(key).is_some_and(|y| values_equal(x, y))))
}

/// Renders a value for a finding's text: strings bare, other values as compact JSON.
pub(crate) fn render(value: Option<&Value>) -> String {
    match value {
        None => "undefined".to_owned(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}
