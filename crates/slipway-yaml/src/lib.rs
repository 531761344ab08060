//! Strict parsing of YAML and JSON text into [`serde_json::Value`]s.
//!
//! Untrusted documents (catalog files, OpenAPI specifications, traces) are parsed by serde parsers
//! (`yaml_serde`, `serde_json`) with one extra rule the plain `Value` deserializer does not keep: a
//! mapping that repeats a key is refused, naming the key, instead of silently keeping the last
//! value. YAML tags are refused too (a tagged value has no JSON meaning). Anchors and aliases are
//! expanded by the YAML parser.

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// Why a document could not be parsed. `document` is the 1-based position of the document in
/// its stream (always 1 for JSON); the message carries the parser's line and column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("document {document}: {reason}")]
pub struct ParseError {
    pub document: usize,
    pub reason: String,
}

/// A value deserialized with duplicate mapping keys refused.
#[derive(Debug, Clone, PartialEq)]
pub struct StrictValue(pub Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON-compatible value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom(format!("number {v} has no JSON form")))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(StrictVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate key `{key}`")));
            }
            let StrictValue(value) = map.next_value()?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, _data: A) -> Result<Value, A::Error> {
        Err(de::Error::custom("tagged values are not supported"))
    }
}

/// Mapping keys: strings as they are, and scalars (numbers, booleans, null) in their text form,
/// the way YAML status codes such as `200:` are meant.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = String;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_any(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a scalar mapping key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Ok("null".to_owned())
    }
}

/// Parses one document, JSON when the text starts with `{` or `[` (after whitespace), YAML
/// otherwise. A YAML stream with more than one document is refused.
///
/// # Errors
///
/// [`ParseError`] with the parser's reason (line and column included).
pub fn parse_one(text: &str) -> Result<Value, ParseError> {
    let trimmed = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let mut de = serde_json::Deserializer::from_str(trimmed);
        if let Ok(StrictValue(value)) = StrictValue::deserialize(&mut de)
            && de.end().is_ok()
        {
            return Ok(value);
        }
        // Not strict JSON (comments, flow YAML): YAML is a superset, let it explain.
    }
    let mut documents = parse_stream(text)?;
    match documents.len() {
        0 => Ok(Value::Null),
        1 => Ok(documents.remove(0)),
        n => Err(ParseError {
            document: 2,
            reason: format!("expected one document, found {n}"),
        }),
    }
}

/// Parses every document of a YAML stream (`---` separated; JSON is one YAML document). Empty
/// documents come back as `Value::Null` so positions stay those of the file.
///
/// # Errors
///
/// [`ParseError`] for the first document that fails.
pub fn parse_stream(text: &str) -> Result<Vec<Value>, ParseError> {
    let mut out = Vec::new();
    for (index, document) in yaml_serde::Deserializer::from_str(text).enumerate() {
        let StrictValue(value) =
            StrictValue::deserialize(document).map_err(|error| ParseError {
                document: index + 1,
                reason: error.to_string(),
            })?;
        out.push(value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(text: &str, expected: Result<Value, &str>) {
        match (parse_one(text), expected) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{text}"),
            (Err(got), Err(want)) => assert!(got.to_string().contains(want), "{text}: {got}"),
            (got, want) => panic!("{text}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn documents_parse_strictly() {
        check("a: 1\nb: [x, 2]\n", Ok(json!({"a": 1, "b": ["x", 2]})));
        check("{\"a\": {\"b\": null}}", Ok(json!({"a": {"b": null}})));
        check(
            "200:\n  x: y\ntrue: 1\n",
            Ok(json!({"200": {"x": "y"}, "true": 1})),
        );
        check(
            "a: &x {q: 1}\nb: *x\n",
            Ok(json!({"a": {"q": 1}, "b": {"q": 1}})),
        );
        check("a: 1\na: 2\n", Err("duplicate key `a`"));
        check("{\"a\": 1, \"a\": 1}", Err("duplicate key `a`"));
        check("x:\n  y: 1\n  y: 2\n", Err("duplicate key `y`"));
        check("a: !custom 1\n", Err("document 1"));
        check("a: [1\n", Err("document 1"));
        check("a: 1\n---\nb: 2\n", Err("expected one document"));
        check("", Ok(Value::Null));
    }

    #[test]
    fn streams_number_their_documents() {
        let docs = parse_stream("a: 1\n---\n---\nb: 2\n").unwrap();
        assert_eq!(docs, vec![json!({"a": 1}), Value::Null, json!({"b": 2})]);
        let err = parse_stream("a: 1\n---\nb: 1\nb: 2\n").unwrap_err();
        assert_eq!(err.document, 2);
    }
}
