//! The HTTP edge: POST one encoded event to one sink with reqwest, and say
//! how the attempt went in the outbox's terms.

use std::time::Duration;

use crate::EventError;
use crate::cloudevents::encode;
use crate::event::CdEvent;
use crate::outbox::AttemptOutcome;
use crate::sink::Sink;

/// Longest one delivery request may take.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a delivery failed.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("sink {sink:?} answered http {status}")]
    Status { sink: String, status: u16 },
    #[error("sink {sink:?} could not be reached: {reason}")]
    Transport { sink: String, reason: String },
    #[error(transparent)]
    Event(#[from] EventError),
}

impl DeliveryError {
    /// The outbox outcome of this failure: statuses as
    /// [`AttemptOutcome::from_status`], transport errors retryable, an event
    /// that cannot be encoded not.
    pub fn outcome(&self) -> AttemptOutcome {
        match self {
            DeliveryError::Status { status, .. } => AttemptOutcome::from_status(*status),
            DeliveryError::Transport { .. } => AttemptOutcome::Failed {
                error: self.to_string(),
                retryable: true,
            },
            DeliveryError::Event(_) => AttemptOutcome::Failed {
                error: self.to_string(),
                retryable: false,
            },
        }
    }
}

/// POSTs `event` to `sink` in the sink's mode with its extra headers. Any
/// 2xx answer is success.
pub async fn deliver(
    client: &reqwest::Client,
    sink: &Sink,
    event: &CdEvent,
) -> Result<(), DeliveryError> {
    let parts = encode(event, sink.mode)?;
    let mut request = client
        .post(&sink.url)
        .timeout(DELIVERY_TIMEOUT)
        .body(parts.body);
    for (name, value) in &parts.headers {
        request = request.header(name, value);
    }
    for header in &sink.headers {
        request = request.header(&header.name, header.value.expose());
    }
    let transport = |error: reqwest::Error| DeliveryError::Transport {
        sink: sink.name.clone(),
        // Without the URL: it may carry credentials in its query.
        reason: error.without_url().to_string(),
    };
    let response = request.send().await.map_err(transport)?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(DeliveryError::Status {
            sink: sink.name.clone(),
            status: status.as_u16(),
        })
    }
}
