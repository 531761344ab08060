//! The outbox's delivery rules as a pure state machine: given an entry, the
//! time and what the last attempt did, decide whether to deliver now, retry
//! later (exponential backoff with caller-supplied jitter, capped) or give up.
//! Persisting entries and sending requests are the caller's business.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::event::{CdEvent, rfc3339};

/// One event waiting for (or done with) delivery to one sink.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxEntry {
    /// Outbox row id.
    pub id: String,
    /// Name of the sink (see [`crate::Sink`]).
    pub sink: String,
    pub event: CdEvent,
    /// Attempts made and recorded so far.
    pub attempts: u32,
    /// Not to be sent before this time.
    #[serde(with = "rfc3339")]
    pub next_attempt_at: OffsetDateTime,
    /// The last failure, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl OutboxEntry {
    /// A new entry, due at `now`, never attempted.
    pub fn new(
        id: impl Into<String>,
        sink: impl Into<String>,
        event: CdEvent,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id: id.into(),
            sink: sink.into(),
            event,
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
        }
    }

    /// The entry after an attempt with `outcome` that led to `action`: the
    /// attempt counted, the error kept, the next time set for a retry.
    pub fn record(mut self, outcome: &AttemptOutcome, action: &NextAction) -> Self {
        if !matches!(outcome, AttemptOutcome::NotAttempted) {
            self.attempts = self.attempts.saturating_add(1);
        }
        if let AttemptOutcome::Failed { error, .. } = outcome {
            self.last_error = Some(error.clone());
        }
        if let NextAction::RetryAt(at) = action {
            self.next_attempt_at = *at;
        }
        self
    }
}

/// What the attempt just made did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// No attempt yet since the entry was created or last scheduled.
    NotAttempted,
    /// The sink accepted the event (HTTP 2xx).
    Delivered,
    /// The attempt failed; `retryable` says whether trying again can help.
    Failed { error: String, retryable: bool },
}

impl AttemptOutcome {
    /// The outcome of an HTTP response status: 2xx delivered; 408, 425, 429
    /// and 5xx retryable; any other status a permanent failure.
    pub fn from_status(status: u16) -> AttemptOutcome {
        match status {
            200..=299 => AttemptOutcome::Delivered,
            408 | 425 | 429 | 500..=599 => AttemptOutcome::Failed {
                error: format!("sink answered http {status}"),
                retryable: true,
            },
            _ => AttemptOutcome::Failed {
                error: format!("sink answered http {status}"),
                retryable: false,
            },
        }
    }
}

/// What to do next with an entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NextAction {
    /// Send it now.
    Deliver,
    /// Delivered: remove it from the outbox.
    Done,
    /// Send it again at this time.
    RetryAt(OffsetDateTime),
    /// Stop trying; keep the entry for people to see.
    GiveUp { attempts: u32, last_error: String },
}

/// Backoff and attempt limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Delay before the second attempt (doubled for each further one).
    #[serde(with = "millis")]
    pub base_delay: Duration,
    /// Longest delay between two attempts.
    #[serde(with = "millis")]
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 10 attempts, 1 s doubling up to 5 min (about 17 min in all).
    fn default() -> Self {
        Self {
            max_attempts: 10,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// Delay after the `attempts`-th failed attempt: `base · 2^(attempts−1)`,
    /// capped at `max_delay`, then jittered into `[delay/2, delay]` by
    /// `jitter` (clamped to 0..=1; NaN counts as 0).
    pub fn delay_after(&self, attempts: u32, jitter: f64) -> Duration {
        let exponent = attempts.saturating_sub(1).min(31);
        let delay = self
            .base_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        let jitter = if jitter.is_nan() {
            0.0
        } else {
            jitter.clamp(0.0, 1.0)
        };
        delay / 2 + (delay / 2).mul_f64(jitter)
    }
}

/// Decides what to do with `entry` at `now`, given the outcome of the attempt
/// just made (not yet counted in `entry.attempts`) and a jitter drawn
/// uniformly from 0..=1 by the caller.
pub fn next_action(
    entry: &OutboxEntry,
    now: OffsetDateTime,
    outcome: &AttemptOutcome,
    policy: &RetryPolicy,
    jitter: f64,
) -> NextAction {
    match outcome {
        AttemptOutcome::NotAttempted => {
            if entry.attempts >= policy.max_attempts {
                NextAction::GiveUp {
                    attempts: entry.attempts,
                    last_error: entry.last_error.clone().unwrap_or_default(),
                }
            } else if now >= entry.next_attempt_at {
                NextAction::Deliver
            } else {
                NextAction::RetryAt(entry.next_attempt_at)
            }
        }
        AttemptOutcome::Delivered => NextAction::Done,
        AttemptOutcome::Failed { error, retryable } => {
            let attempts = entry.attempts.saturating_add(1);
            if !retryable || attempts >= policy.max_attempts {
                NextAction::GiveUp {
                    attempts,
                    last_error: error.clone(),
                }
            } else {
                let delay = policy.delay_after(attempts, jitter);
                match time::Duration::try_from(delay)
                    .ok()
                    .and_then(|delay| now.checked_add(delay))
                {
                    Some(at) => NextAction::RetryAt(at),
                    None => NextAction::GiveUp {
                        attempts,
                        last_error: format!("{error}; the next retry time is out of range"),
                    },
                }
            }
        }
    }
}

/// Durations as whole milliseconds in serde.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        duration: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(deserializer)?))
    }
}
