//! The gate every deployment passes before it changes anything: the engine asks a
//! [`Gatekeeper`] whether a rollout may start now, and waits, proceeds or fails as told.
//!
//! The engine knows nothing of change requests, calendars, policies or supply-chain checks;
//! the governance layer implements [`Gatekeeper`] (and records each decision). The same gate
//! is asked on every path a deployment can take: a Rollout applied directly, a release
//! pipeline's deploy, its explicit gate steps, and every retry.
//!
//! Architecture invariant: no traffic reaches a deployment, and nothing already running is
//! touched by it, before the decision that allowed it is durably recorded; only starting the
//! new instances (unrouted) may overlap with writing that record.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;

use crate::EngineError;

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

/// What waits until a decision is durably recorded.
pub type DecisionRecorded = Pin<Box<dyn Future<Output = Result<(), EngineError>> + Send>>;

/// Decides whether a deployment may proceed; implementations record what they decided.
#[async_trait]
pub trait Gatekeeper: Send + Sync {
    /// Decides, and answers once the decision is durably recorded.
    async fn decide(&self, request: &GateRequest) -> Result<GateVerdict, EngineError>;

    /// Decides, and answers as soon as the verdict is known, with what waits until the
    /// decision is durably recorded. The engine starts an allowed deployment's instances
    /// meanwhile, and waits for the record before the deployment routes any traffic or
    /// touches anything already running.
    async fn decide_deferred(
        &self,
        request: &GateRequest,
    ) -> Result<(GateVerdict, DecisionRecorded), EngineError> {
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
    async fn decide(&self, _request: &GateRequest) -> Result<GateVerdict, EngineError> {
        Ok(GateVerdict::Allow {
            summary: "no gate configured".into(),
        })
    }
}
