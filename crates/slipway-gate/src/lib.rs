//! The gate contract: every deployment asks a [`Gatekeeper`] whether it may start now, and
//! waits, proceeds or fails as told.
//!
//! This crate sits below both sides of the contract: the engine asks (it knows nothing of
//! change requests, calendars, policies or supply-chain checks), governance answers (it
//! implements [`Gatekeeper`] and records each decision). Neither depends on the other. The
//! same gate is asked on every path a deployment can take: a Rollout applied directly, a
//! release pipeline's deploy, its explicit gate steps, and every retry.
//!
//! Contract: no traffic reaches a deployment, and nothing already running is touched by it,
//! before the decision that allowed it is durably recorded; only starting the new instances
//! (unrouted) may overlap with writing that record ([`Gatekeeper::decide_deferred`]).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;

/// The annotation through which operators (and lockdown) steer a rollout:
/// `abort`, `promote`, `pause` or `resume`.
pub const CONTROL_ANNOTATION: &str = "slipway.dev/control";

/// What the gate is asked about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GateRequest {
    /// The Rollout resource (or, for a pipeline gate step, the Release) being decided.
    pub subject_kind: String,
    pub subject: String,
    pub service: String,
    pub environment: String,
    /// The Artifact resource the deployment would run.
    pub artifact: String,
    /// The change request the deployment claims to implement.
    pub change: Option<String>,
    /// The pipeline gate step's name, when asked by one.
    pub step: Option<String>,
}

/// The gate's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "verdict")]
pub enum GateVerdict {
    /// Go ahead; `summary` says on what grounds (kept in the rollout's history).
    Allow { summary: String },
    /// Not now, maybe later (an approval or a window is missing): ask again.
    Wait { reasons: Vec<String> },
    /// Never for this rollout (e.g. the artifact fails a supply-chain rule).
    Deny { reasons: Vec<String> },
}

/// Why the gate could not answer.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// The gate cannot decide (an invalid calendar set or policy, a record it could not
    /// write): the deployment is refused.
    #[error("refused at the gate: {}", reasons.join("; "))]
    Refused { reasons: Vec<String> },
    /// Reading what the decision needs, or writing its record, failed (the gatekeeper's own
    /// error, kept as the source).
    #[error(transparent)]
    Unavailable(Box<dyn std::error::Error + Send + Sync>),
}

impl GateError {
    /// The gate could not reach what it decides from.
    pub fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        GateError::Unavailable(Box::new(e))
    }
}

/// What waits until a decision is durably recorded.
pub type DecisionRecorded = Pin<Box<dyn Future<Output = Result<(), GateError>> + Send>>;

/// Decides whether a deployment may proceed; implementations record what they decided.
#[async_trait]
pub trait Gatekeeper: Send + Sync {
    /// Decides, and answers once the decision is durably recorded.
    async fn decide(&self, request: &GateRequest) -> Result<GateVerdict, GateError>;

    /// Decides, and answers as soon as the verdict is known, with what waits until the
    /// decision is durably recorded. The engine starts an allowed deployment's instances
    /// meanwhile, and waits for the record before the deployment routes any traffic or
    /// touches anything already running.
    async fn decide_deferred(
        &self,
        request: &GateRequest,
    ) -> Result<(GateVerdict, DecisionRecorded), GateError> {
        let verdict = self.decide(request).await?;
        Ok((verdict, Box::pin(std::future::ready(Ok(())))))
    }
}

/// A gate that lets everything through: for engines run without governance (tests, and
/// embedders that gate deployments elsewhere).
#[derive(Debug, Default, Clone, Copy)]
pub struct OpenGate;

#[async_trait]
impl Gatekeeper for OpenGate {
    async fn decide(&self, _request: &GateRequest) -> Result<GateVerdict, GateError> {
        Ok(GateVerdict::Allow {
            summary: "no gate configured".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors
    use super::*;

    /// Runs a future that is ready without waiting (the open gate's are).
    fn ready<F: Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        match future.as_mut().poll(&mut context) {
            std::task::Poll::Ready(output) => output,
            std::task::Poll::Pending => panic!("the future waited"),
        }
    }

    #[test]
    fn the_open_gate_allows_and_its_record_is_durable_at_once() {
        let request = GateRequest {
            subject_kind: "Rollout".into(),
            subject: "web-2".into(),
            service: "web".into(),
            environment: "prod".into(),
            artifact: "web-2".into(),
            change: None,
            step: None,
        };
        let (verdict, recorded) = ready(OpenGate.decide_deferred(&request)).unwrap();
        assert!(matches!(verdict, GateVerdict::Allow { .. }), "{verdict:?}");
        ready(recorded).unwrap();
    }

    #[test]
    fn a_refusal_names_every_reason() {
        let refused = GateError::Refused {
            reasons: vec!["no change".into(), "frozen".into()],
        };
        assert_eq!(
            refused.to_string(),
            "refused at the gate: no change; frozen"
        );
    }

    #[test]
    fn an_unavailable_gate_shows_its_cause() {
        let e = GateError::unavailable(std::io::Error::other("database is locked"));
        assert_eq!(e.to_string(), "database is locked");
    }
}
