//! Reading and writing JSON numbers that may be NaN or infinite.
//!
//! JSON has no NaN literal, so (like Kayenta's conformance data) the judge writes
//! NaN as the string `"NaN"` and infinities as `"Infinity"` / `"-Infinity"`.
//! Sample arrays accept numbers, those strings, and `null` (a gap, read as NaN).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};
use serde_json::Value;

/// Turns one JSON sample value into a double: numbers as they are, `"NaN"`,
/// `"Infinity"`, `"-Infinity"` and `null` as the matching special value.
/// Anything else gives `None`.
pub fn sample_from_value(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::Null => Some(f64::NAN),
        Value::String(text) => match text.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
}

/// Turns a double into JSON: finite values as numbers, the rest as strings.
pub fn value_from_f64(number: f64) -> Value {
    if number.is_nan() {
        Value::String("NaN".to_owned())
    } else if number == f64::INFINITY {
        Value::String("Infinity".to_owned())
    } else if number == f64::NEG_INFINITY {
        Value::String("-Infinity".to_owned())
    } else {
        serde_json::Number::from_f64(number).map_or(Value::Null, Value::Number)
    }
}

/// Reads a whole sample array (see [`sample_from_value`]).
pub fn samples_from_value(value: &Value) -> Result<Vec<f64>, String> {
    let Value::Array(items) = value else {
        return Err("expected an array of numbers".to_owned());
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            sample_from_value(item)
                .ok_or_else(|| format!("element {index} is not a number, \"NaN\" or null: {item}"))
        })
        .collect()
}

/// Serde: serializes a double that may be NaN or infinite.
pub fn serialize_f64<S: Serializer>(number: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    if number.is_finite() {
        serializer.serialize_f64(*number)
    } else if number.is_nan() {
        serializer.serialize_str("NaN")
    } else if *number > 0.0 {
        serializer.serialize_str("Infinity")
    } else {
        serializer.serialize_str("-Infinity")
    }
}

/// Serde: serializes an optional double that may be NaN or infinite.
pub fn serialize_option_f64<S: Serializer>(
    number: &Option<f64>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match number {
        Some(number) => serialize_f64(number, serializer),
        None => serializer.serialize_none(),
    }
}

/// Serde: serializes an optional `[lower, upper]` pair of doubles.
pub fn serialize_option_pair<S: Serializer>(
    pair: &Option<[f64; 2]>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    match pair {
        Some([lower, upper]) => {
            let mut seq = serializer.serialize_seq(Some(2))?;
            seq.serialize_element(&value_from_f64(*lower))?;
            seq.serialize_element(&value_from_f64(*upper))?;
            seq.end()
        }
        None => serializer.serialize_none(),
    }
}

/// Serde: deserializes a double written as a number or as `"NaN"` / `"Infinity"`.
pub fn deserialize_f64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    let value = Value::deserialize(deserializer)?;
    match value {
        Value::Null => Err(D::Error::custom("expected a number, found null")),
        other => sample_from_value(&other)
            .ok_or_else(|| D::Error::custom(format!("expected a number, found {other}"))),
    }
}

/// Serde: deserializes an optional double (`null` or missing means `None`).
pub fn deserialize_option_f64<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<f64>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    match value {
        Value::Null => Ok(None),
        other => sample_from_value(&other)
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("expected a number, found {other}"))),
    }
}

/// Serde: deserializes a sample array (numbers, `"NaN"`, `null`).
pub fn deserialize_samples<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<f64>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    samples_from_value(&value).map_err(D::Error::custom)
}

/// Serde: serializes a sample array, writing NaN as `"NaN"`.
pub fn serialize_samples<S: Serializer>(samples: &[f64], serializer: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = serializer.serialize_seq(Some(samples.len()))?;
    for sample in samples {
        seq.serialize_element(&value_from_f64(*sample))?;
    }
    seq.end()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_nan_strings_and_nulls() {
        let samples = samples_from_value(&json!([1.5, "NaN", null, -2])).unwrap_or_default();
        assert_eq!(samples.len(), 4);
        assert!(samples[1].is_nan() && samples[2].is_nan());
        assert_eq!(samples[3], -2.0);
    }

    #[test]
    fn rejects_other_strings() {
        assert!(samples_from_value(&json!([1.0, "abc"])).is_err());
        assert!(samples_from_value(&json!({"a": 1})).is_err());
    }

    #[test]
    fn writes_special_values_as_strings() {
        assert_eq!(value_from_f64(f64::NAN), json!("NaN"));
        assert_eq!(value_from_f64(f64::INFINITY), json!("Infinity"));
        assert_eq!(value_from_f64(2.5), json!(2.5));
    }
}
