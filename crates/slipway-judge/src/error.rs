//! Errors the judge's entry points return when an input cannot be read at all.
//!
//! Statistical trouble inside one metric (no data, tied observations, absurd
//! parameters) is never an error here: it becomes a metric classification of
//! `Nodata`, `NodataFailMetric` or `Error` with a reason. A [`JudgeError`] means
//! the request itself is malformed (wrong JSON shape, a non-finite score
//! threshold, a negative group weight, ...).

use thiserror::Error;

/// Why a judge request could not be processed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JudgeError {
    /// The JSON did not have the documented shape.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The judge configuration is unusable (thresholds, weights, metric names).
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
}

impl From<serde_json::Error> for JudgeError {
    fn from(error: serde_json::Error) -> Self {
        JudgeError::InvalidInput(error.to_string().to_lowercase())
    }
}
