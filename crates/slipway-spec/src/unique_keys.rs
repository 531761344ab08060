//! Documents with duplicate keys refused. serde_json's `Value` keeps the last of two equal keys,
//! so `kind: Role` followed by `kind: Team` in one mapping silently becomes a Team. Every
//! document Slipway reads from a user (YAML or JSON, from a file or a request body) is parsed
//! through [`UniqueKeys`], which refuses such a mapping and names the key.
//!
//! It is a `Deserialize` wrapper, so it works with any serde format: `yaml_serde` documents,
//! `serde_json` text, or a request body.

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// A JSON value read with every mapping's keys checked for duplicates.
#[derive(Debug, Clone, PartialEq)]
pub struct UniqueKeys(pub Value);

impl UniqueKeys {
    pub fn into_inner(self) -> Value {
        self.0
    }
}

/// Parses JSON text into a value, refusing duplicate keys at any depth.
pub fn from_json_str(text: &str) -> Result<Value, serde_json::Error> {
    serde_json::from_str::<UniqueKeys>(text).map(UniqueKeys::into_inner)
}

/// Parses JSON bytes into a value, refusing duplicate keys at any depth.
pub fn from_json_slice(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    serde_json::from_slice::<UniqueKeys>(bytes).map(UniqueKeys::into_inner)
}

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor).map(UniqueKeys)
    }
}

struct ValueVisitor;

struct Element;

impl<'de> DeserializeSeed<'de> for Element {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON-compatible value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        i64::try_from(v)
            .map(|v| Value::Number(v.into()))
            .map_err(|_| E::custom(format!("integer {v} is out of range")))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        u64::try_from(v)
            .map(|v| Value::Number(v.into()))
            .map_err(|_| E::custom(format!("integer {v} is out of range")))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom(format!("{v} is not a JSON number")))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element_seed(Element)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<MapKey>()? {
            let value = map.next_value_seed(Element)?;
            if out.contains_key(&key.0) {
                return Err(de::Error::custom(format!(
                    "duplicate key `{}` in one mapping",
                    key.0
                )));
            }
            out.insert(key.0, value);
        }
        Ok(Value::Object(out))
    }
}

/// A mapping key: a string, or a scalar YAML key written as text (`1: x`, `true: y`), as
/// serde_json's own `Value` reads them.
struct MapKey(String);

impl<'de> Deserialize<'de> for MapKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = MapKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_str<E>(self, v: &str) -> Result<MapKey, E> {
                Ok(MapKey(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<MapKey, E> {
                Ok(MapKey(v))
            }
            fn visit_bool<E>(self, v: bool) -> Result<MapKey, E> {
                Ok(MapKey(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<MapKey, E> {
                Ok(MapKey(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<MapKey, E> {
                Ok(MapKey(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<MapKey, E> {
                Ok(MapKey(v.to_string()))
            }
        }
        deserializer.deserialize_any(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(text: &str, expected: Result<Value, &str>) {
        let got = from_json_str(text).map_err(|e| e.to_string());
        match (got, expected) {
            (Ok(v), Ok(want)) => assert_eq!(v, want, "{text}"),
            (Err(e), Err(want)) => assert!(e.contains(want), "{text}: {e}"),
            (got, want) => panic!("{text}: got {got:?}, expected {want:?}"),
        }
    }

    #[test]
    fn duplicate_keys_are_refused_at_any_depth_and_named() {
        check(
            r#"{"a": 1, "b": [true, null, 1.5, "x"]}"#,
            Ok(json!({"a": 1, "b": [true, null, 1.5, "x"]})),
        );
        check(
            r#"{"kind": "Role", "kind": "Team"}"#,
            Err("duplicate key `kind`"),
        );
        check(r#"{"spec": {"x": 1, "x": 1}}"#, Err("duplicate key `x`"));
        check(r#"[{"a": 1}, {"b": 1, "b": 2}]"#, Err("duplicate key `b`"));
        // The same key in two different mappings is fine.
        check(r#"[{"a": 1}, {"a": 2}]"#, Ok(json!([{"a": 1}, {"a": 2}])));
        check(
            r#"{"n": 18446744073709551615, "m": -9223372036854775808}"#,
            Ok(json!({"n": u64::MAX, "m": i64::MIN})),
        );
    }
}
