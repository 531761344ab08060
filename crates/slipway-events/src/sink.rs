//! Event sinks: where events are POSTed, in which CloudEvents mode, with
//! which extra headers (often credentials, kept secret) and for which event
//! types. Written by operators as YAML or JSON.

use serde::{Deserialize, Serialize, Serializer};

use crate::EventError;
use crate::cloudevents::EncodingMode;

/// Text shown wherever a secret would be printed or serialized.
pub const REDACTED: &str = "<redacted>";

/// A secret string: readable through [`SecretString::expose`] only; `Debug`
/// and `Serialize` show [`REDACTED`].
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(REDACTED)
    }
}

impl Serialize for SecretString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

/// One extra header sent with every request to a sink (e.g. `Authorization`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkHeader {
    pub name: String,
    pub value: SecretString,
}

/// An HTTP endpoint that receives events.
///
/// ```yaml
/// name: audit-bus
/// url: https://events.example.com/cdevents
/// mode: binary            # or structured (the default)
/// headers:
///   - name: Authorization
///     value: Bearer s3cr3t
/// eventTypes:             # empty or absent: every type
///   - dev.cdevents.service.*
///   - dev.cdevents.ticket.closed.0.2.0
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Sink {
    pub name: String,
    pub url: String,
    #[serde(default)]
    pub mode: EncodingMode,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<SinkHeader>,
    /// Exact type strings, or prefixes ending in `*`; empty means all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub event_types: Vec<String>,
}

impl Sink {
    /// Parses and validates a sink written as YAML (JSON is YAML too).
    pub fn from_yaml(text: &str) -> Result<Sink, EventError> {
        let sink: Sink = yaml_serde::from_str(text).map_err(|error| EventError::InvalidSink {
            sink: String::new(),
            field: "document".to_owned(),
            reason: error.to_string(),
        })?;
        sink.validate()?;
        Ok(sink)
    }

    /// Checks the name, the URL (http or https) and the headers (valid names,
    /// none that would override the CloudEvents ones).
    pub fn validate(&self) -> Result<(), EventError> {
        let invalid = |field: &str, reason: String| EventError::InvalidSink {
            sink: self.name.clone(),
            field: field.to_owned(),
            reason,
        };
        if self.name.trim().is_empty() {
            return Err(invalid("name", "must not be empty".to_owned()));
        }
        let url = reqwest::Url::parse(&self.url)
            .map_err(|error| invalid("url", format!("is not a url: {error}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(invalid(
                "url",
                "must be an http or https url with a host".to_owned(),
            ));
        }
        for (index, header) in self.headers.iter().enumerate() {
            let field = format!("headers[{index}]");
            let name = header.name.to_ascii_lowercase();
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(invalid(
                    &field,
                    format!("{:?} is not a header name", header.name),
                ));
            }
            if name.starts_with("ce-") || name == "content-type" || name == "content-length" {
                return Err(invalid(
                    &field,
                    format!("{:?} is set by the event encoding", header.name),
                ));
            }
            if reqwest::header::HeaderValue::from_str(header.value.expose()).is_err() {
                return Err(invalid(
                    &field,
                    "value is not a valid header value".to_owned(),
                ));
            }
        }
        for (index, pattern) in self.event_types.iter().enumerate() {
            if pattern.trim().is_empty() {
                return Err(invalid(
                    &format!("eventTypes[{index}]"),
                    "must not be empty".to_owned(),
                ));
            }
        }
        Ok(())
    }

    /// True when this sink wants events of `type_string`.
    pub fn accepts(&self, type_string: &str) -> bool {
        self.event_types.is_empty()
            || self
                .event_types
                .iter()
                .any(|pattern| match pattern.strip_suffix('*') {
                    Some(prefix) => type_string.starts_with(prefix),
                    None => pattern == type_string,
                })
    }
}
