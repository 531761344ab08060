//! Slipway's CDEvents: typed builders for the events Slipway emits, their
//! CloudEvents 1.0 HTTP encodings, sink specs, and the outbox's delivery rules.
//!
//! * [`CdEvent`] / [`Content`] / [`EventMeta`]: events of CDEvents spec 0.5.1
//!   (service deployed, upgraded, rolledback, removed; ticket created,
//!   updated, closed) and the draft approval events of the unreleased 0.6.0
//!   (`approval.created`, `approval.updated`, `approval.closed`). The content's
//!   variant fixes `context.type` and `context.specversion`; see
//!   [`EventType::type_string`] for the exact strings.
//! * [`encode`]: an event as HTTP headers and body, CloudEvents structured or
//!   binary mode. Pure.
//! * [`Sink`]: where to POST (YAML), with secret headers and a type filter.
//! * [`next_action`]: the outbox state machine — deliver, retry at a time
//!   (exponential backoff, capped, jitter passed in) or give up. Pure.
//! * [`deliver`]: the one I/O function, an HTTP POST with reqwest.
//!
//! Every emitted type is validated against the CDEvents JSON schemas in the
//! tests (`tests/schemas.rs`, data in `../shared/conformance/cdevents`).

mod cloudevents;
mod content;
mod delivery;
mod event;
mod outbox;
mod sink;

pub use cloudevents::{
    CLOUDEVENTS_SPEC_VERSION, DATA_CONTENT_TYPE, EncodingMode, HttpRequestParts,
    STRUCTURED_CONTENT_TYPE, encode, percent_encode,
};
pub use content::{
    ApprovalClosedContent, ApprovalCreatedContent, ApprovalDecision, ApprovalStatus,
    ApprovalUpdatedContent, Content, DRAFT_SPEC_VERSION, EnvironmentRef, EventType, SPEC_VERSION,
    ServiceContent, ServiceRemovedContent, TicketClosedContent, TicketCreatedContent,
    TicketUpdatedContent,
};
pub use delivery::{DELIVERY_TIMEOUT, DeliveryError, deliver};
pub use event::{CdEvent, Context, EventMeta, Link, LinkEnd, Subject};
pub use outbox::{AttemptOutcome, NextAction, OutboxEntry, RetryPolicy, next_action};
pub use sink::{REDACTED, SecretString, Sink, SinkHeader};

/// Why an event or a sink could not be read or written.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventError {
    #[error("event could not be parsed: {reason}")]
    Parse { reason: String },
    #[error("event {id:?} could not be serialized: {reason}")]
    Serialize { id: String, reason: String },
    #[error("sink {sink:?} is invalid at {field}: {reason}")]
    InvalidSink {
        sink: String,
        field: String,
        reason: String,
    },
}
