//! OTLP traces in their JSON encoding (`resourceSpans[].scopeSpans[].spans[]`, the protobuf
//! JSON mapping: hex trace and span ids, kinds and status codes as numbers or enum names,
//! 64-bit times as strings or numbers), read into the few fields pairing needs.

use crate::GraphError;
use serde::Deserialize;
use serde::de::{self, Deserializer};
use std::borrow::Cow;

/// One OTLP export request (or file) worth of spans.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TracesData {
    #[serde(default)]
    pub resource_spans: Vec<ResourceSpans>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceSpans {
    #[serde(default)]
    pub resource: Resource,
    #[serde(default, alias = "instrumentationLibrarySpans")]
    pub scope_spans: Vec<ScopeSpans>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Resource {
    #[serde(default)]
    pub attributes: Vec<KeyValue>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ScopeSpans {
    #[serde(default)]
    pub spans: Vec<Span>,
}

/// A span's kind as OTLP numbers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SpanKind {
    #[default]
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

impl<'de> Deserialize<'de> for SpanKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = NumberOrName::deserialize(deserializer)?;
        let kind = match raw {
            NumberOrName::Number(n) => n,
            NumberOrName::Name(name) => match name.as_ref() {
                "SPAN_KIND_UNSPECIFIED" => 0,
                "SPAN_KIND_INTERNAL" => 1,
                "SPAN_KIND_SERVER" => 2,
                "SPAN_KIND_CLIENT" => 3,
                "SPAN_KIND_PRODUCER" => 4,
                "SPAN_KIND_CONSUMER" => 5,
                other => return Err(de::Error::custom(format!("unknown span kind `{other}`"))),
            },
        };
        Ok(match kind {
            1 => SpanKind::Internal,
            2 => SpanKind::Server,
            3 => SpanKind::Client,
            4 => SpanKind::Producer,
            5 => SpanKind::Consumer,
            _ => SpanKind::Unspecified,
        })
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrName<'a> {
    Number(u64),
    #[serde(borrow)]
    Name(Cow<'a, str>),
}

/// A status: `code` 2 (`STATUS_CODE_ERROR`) marks a failed span.
#[derive(Debug, Clone, Copy, Default)]
pub struct Status {
    pub error: bool,
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw<'a> {
            #[serde(default, borrow)]
            code: Option<NumberOrName<'a>>,
        }
        let raw = Raw::deserialize(deserializer)?;
        let error = match raw.code {
            Some(NumberOrName::Number(code)) => code == 2,
            Some(NumberOrName::Name(name)) => name == "STATUS_CODE_ERROR",
            None => false,
        };
        Ok(Status { error })
    }
}

/// A 64-bit unsigned integer written as a JSON string (the protobuf JSON mapping) or number.
fn u64_string_or_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    match NumberOrName::deserialize(deserializer)? {
        NumberOrName::Number(n) => Ok(n),
        NumberOrName::Name(text) if text.is_empty() => Ok(0),
        NumberOrName::Name(text) => text
            .parse()
            .map_err(|_| de::Error::custom(format!("`{text}` is not a time in nanoseconds"))),
    }
}

/// Reads a hex id of `N` bytes; empty reads as all zeros (no parent).
fn hex_id<'de, D: Deserializer<'de>, const N: usize>(deserializer: D) -> Result<[u8; N], D::Error> {
    let text: Cow<'de, str> = Deserialize::deserialize(deserializer)?;
    parse_hex(&text)
        .ok_or_else(|| de::Error::custom(format!("`{text}` is not a {}-byte hex id", N)))
}

fn parse_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    if text.is_empty() {
        return Some(out);
    }
    let bytes = text.as_bytes();
    if bytes.len() != N * 2 {
        return None;
    }
    let nibble = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    };
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        out[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

fn optional_hex<'de, D: Deserializer<'de>, const N: usize>(
    deserializer: D,
) -> Result<[u8; N], D::Error> {
    let text: Option<Cow<'de, str>> = Deserialize::deserialize(deserializer)?;
    match text {
        None => Ok([0u8; N]),
        Some(text) => parse_hex(&text)
            .ok_or_else(|| de::Error::custom(format!("`{text}` is not a {}-byte hex id", N))),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Span {
    #[serde(deserialize_with = "hex_id")]
    pub trace_id: [u8; 16],
    #[serde(deserialize_with = "hex_id")]
    pub span_id: [u8; 8],
    #[serde(default, deserialize_with = "optional_hex")]
    pub parent_span_id: [u8; 8],
    #[serde(default)]
    pub kind: SpanKind,
    #[serde(default, deserialize_with = "u64_string_or_number")]
    pub start_time_unix_nano: u64,
    #[serde(default, deserialize_with = "u64_string_or_number")]
    pub end_time_unix_nano: u64,
    #[serde(default)]
    pub attributes: Vec<KeyValue>,
    #[serde(default)]
    pub links: Vec<Link>,
    #[serde(default)]
    pub status: Status,
}

impl Span {
    /// The span's duration in seconds.
    pub fn duration_seconds(&self) -> f64 {
        self.end_time_unix_nano
            .saturating_sub(self.start_time_unix_nano) as f64
            / 1e9
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    #[serde(deserialize_with = "hex_id")]
    pub trace_id: [u8; 16],
    #[serde(deserialize_with = "hex_id")]
    pub span_id: [u8; 8],
}

/// An attribute; only scalar values are kept (as text), others are ignored.
#[derive(Debug, Deserialize)]
pub struct KeyValue {
    pub key: String,
    #[serde(default)]
    pub value: AnyValue,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnyValue {
    #[serde(default)]
    pub string_value: Option<String>,
    #[serde(default)]
    pub bool_value: Option<bool>,
    #[serde(default, deserialize_with = "optional_i64")]
    pub int_value: Option<i64>,
    #[serde(default)]
    pub double_value: Option<f64>,
}

fn optional_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw<'a> {
        Number(i64),
        #[serde(borrow)]
        Text(Cow<'a, str>),
    }
    match Option::<Raw>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Raw::Number(n)) => Ok(Some(n)),
        Some(Raw::Text(text)) => text
            .parse()
            .map(Some)
            .map_err(|_| de::Error::custom(format!("`{text}` is not an integer"))),
    }
}

impl AnyValue {
    /// The value as text, the way metric labels carry it.
    pub fn as_text(&self) -> Option<String> {
        if let Some(text) = &self.string_value {
            return Some(text.clone());
        }
        if let Some(flag) = self.bool_value {
            return Some(flag.to_string());
        }
        if let Some(number) = self.int_value {
            return Some(number.to_string());
        }
        self.double_value.map(|number| number.to_string())
    }
}

/// The first attribute named `key`.
pub fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .map(|kv| &kv.value)
}

/// Parses OTLP/JSON (or the same structure in YAML, as test fixtures write it).
///
/// # Errors
///
/// [`GraphError::Trace`] naming the document and what is wrong.
pub fn parse_traces(document: &str, text: &str) -> Result<TracesData, GraphError> {
    let trimmed = text.trim_start();
    let error = |reason: String| GraphError::Trace {
        document: document.to_owned(),
        reason,
    };
    if trimmed.starts_with('{') {
        let mut de = serde_json::Deserializer::from_str(trimmed);
        let data = TracesData::deserialize(&mut de).map_err(|e| error(e.to_string()))?;
        de.end().map_err(|e| error(e.to_string()))?;
        return Ok(data);
    }
    let value = slipway_yaml::parse_one(text).map_err(|e| error(e.reason))?;
    serde_json::from_value(value).map_err(|e| error(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_kinds_and_status_read_in_both_spellings() {
        let data = parse_traces(
            "t.json",
            r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"a"}}]},
              "scopeSpans":[{"spans":[
                {"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","kind":"SPAN_KIND_CLIENT",
                 "startTimeUnixNano":"1000000000","endTimeUnixNano":2500000000,"status":{"code":"STATUS_CODE_ERROR"},
                 "attributes":[{"key":"n","value":{"intValue":"42"}}]},
                {"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"1102030405060708","parentSpanId":"0102030405060708","kind":2}
              ]}]}]}"#,
        )
        .unwrap();
        let spans = &data.resource_spans[0].scope_spans[0].spans;
        assert_eq!(spans[0].kind, SpanKind::Client);
        assert!(spans[0].status.error);
        assert!((spans[0].duration_seconds() - 1.5).abs() < 1e-9);
        assert_eq!(
            attribute(&spans[0].attributes, "n")
                .and_then(AnyValue::as_text)
                .as_deref(),
            Some("42")
        );
        assert_eq!(spans[1].kind, SpanKind::Server);
        assert_eq!(spans[1].parent_span_id, spans[0].span_id);
        assert!(!spans[1].status.error);
    }

    #[test]
    fn bad_input_is_refused_with_the_document_named() {
        for (text, reason) in [
            (
                r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz","spanId":"0102030405060708"}]}]}]}"#,
                "not a 16-byte hex id",
            ),
            (
                r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10"}]}]}]}"#,
                "spanId",
            ),
            (r#"{"resourceSpans": 3}"#, "invalid type"),
            ("resourceSpans:\n  - a: 1\n    a: 2\n", "duplicate key"),
        ] {
            let error = parse_traces("t.json", text).unwrap_err().to_string();
            assert!(error.starts_with("t.json: "), "{error}");
            assert!(error.contains(reason), "{error}");
        }
    }
}
