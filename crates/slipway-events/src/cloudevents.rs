//! CDEvents as CloudEvents 1.0 over HTTP, as a pure function from an event to
//! the request's headers and body.
//!
//! Following the CDEvents CloudEvents binding, the CloudEvent `id`, `source`,
//! `type` and `time` are the CDEvent context's `id`, `source`, `type` and
//! `timestamp`, `subject` is the CDEvent subject's `id`, and the data is the
//! whole CDEvent as JSON.
//!
//! * **Structured** mode: `Content-Type: application/cloudevents+json`, body =
//!   the CloudEvent envelope with the CDEvent in `data` and
//!   `datacontenttype: application/json`.
//! * **Binary** mode: the attributes as `ce-*` headers (values percent-encoded
//!   as the CloudEvents HTTP binding requires), `Content-Type:
//!   application/json`, body = the CDEvent.
//!
//! The binding's draft text names `application/cdevents+json` for the data's
//! media type; `application/json` is used instead because it is what the
//! CDEvents SDKs send and what generic CloudEvents consumers decode as JSON.

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;

use crate::EventError;
use crate::event::CdEvent;

/// CloudEvents spec version carried by every event.
pub const CLOUDEVENTS_SPEC_VERSION: &str = "1.0";
/// Media type of the CDEvent document (binary body, structured `datacontenttype`).
pub const DATA_CONTENT_TYPE: &str = "application/json";
/// Media type of a structured-mode body.
pub const STRUCTURED_CONTENT_TYPE: &str = "application/cloudevents+json";

/// How a CloudEvent travels in an HTTP request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EncodingMode {
    /// Envelope and data together in a JSON body.
    #[default]
    Structured,
    /// Attributes in `ce-*` headers, the CDEvent alone in the body.
    Binary,
}

/// The parts of an HTTP request that carry one event (method POST; the URL
/// and any sink headers are added by the caller).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequestParts {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequestParts {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Encodes `event` for an HTTP POST in `mode`.
pub fn encode(event: &CdEvent, mode: EncodingMode) -> Result<HttpRequestParts, EventError> {
    let data = event.to_json()?;
    let time = event
        .context
        .timestamp
        .format(&Rfc3339)
        .map_err(|error| EventError::Serialize {
            id: event.context.id.clone(),
            reason: format!("context.timestamp: {error}"),
        })?;
    let attributes = [
        ("specversion", CLOUDEVENTS_SPEC_VERSION),
        ("id", event.context.id.as_str()),
        ("source", event.context.source.as_str()),
        ("type", event.context.event_type.as_str()),
        ("subject", event.subject.id.as_str()),
        ("time", time.as_str()),
    ];
    let to_bytes = |value: &serde_json::Value| {
        serde_json::to_vec(value).map_err(|error| EventError::Serialize {
            id: event.context.id.clone(),
            reason: error.to_string(),
        })
    };
    match mode {
        EncodingMode::Structured => {
            let mut envelope = serde_json::Map::new();
            for (name, value) in attributes {
                envelope.insert(name.to_owned(), value.into());
            }
            envelope.insert("datacontenttype".to_owned(), DATA_CONTENT_TYPE.into());
            envelope.insert("data".to_owned(), data);
            Ok(HttpRequestParts {
                headers: vec![(
                    "content-type".to_owned(),
                    STRUCTURED_CONTENT_TYPE.to_owned(),
                )],
                body: to_bytes(&serde_json::Value::Object(envelope))?,
            })
        }
        EncodingMode::Binary => {
            let mut headers: Vec<(String, String)> = attributes
                .iter()
                .map(|(name, value)| (format!("ce-{name}"), percent_encode(value)))
                .collect();
            headers.push(("content-type".to_owned(), DATA_CONTENT_TYPE.to_owned()));
            Ok(HttpRequestParts {
                headers,
                body: to_bytes(&data)?,
            })
        }
    }
}

/// Percent-encodes a `ce-*` header value as the CloudEvents HTTP binding
/// says: space, `"`, `%` and every byte outside printable ASCII.
pub fn percent_encode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if (0x21..=0x7e).contains(&byte) && byte != b'"' && byte != b'%' {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}
