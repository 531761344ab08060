//! The `TrafficRouter` trait: what the deployment engine asks of any traffic router, whether
//! the built-in proxy (`BuiltinRouter`), an HAProxy driven through its runtime API, or a
//! Kubernetes Gateway API controller that edits `HTTPRoute` weights.

use std::net::SocketAddr;

use async_trait::async_trait;

use crate::backend::{CanaryWeight, Instance, InstanceId};
use crate::error::RouterError;
use crate::metrics::MetricsSnapshot;

/// Routes each service's traffic between a stable and a canary version.
///
/// The engine drives a rollout through these calls:
///
/// 1. `ensure_service` once per service, to own its public listener;
/// 2. `set_backends` whenever the instance sets change (canary instances started, old stable
///    ones stopped, canary promoted to stable);
/// 3. `set_ready` as health checks pass or fail, so traffic reaches only ready instances;
/// 4. `set_canary_weight` at each canary step, and `CanaryWeight::ZERO` on rollback;
/// 5. `metrics` every second or so, diffing snapshots with `window` to evaluate guardrails.
///
/// Contract every implementation keeps:
///
/// - **Immediacy.** When `set_canary_weight`, `set_backends` or `set_ready` returns `Ok`, the
///   change applies to every request the router starts routing afterwards. A router that
///   cannot promise that (a Gateway controller that only writes a resource) documents its
///   propagation delay, and the engine waits for it where it matters.
/// - **Weights.** Requests without a pin header go to canary with probability `weight` (per
///   mille), independently per request.
/// - **Pinning.** A request carrying the pin header (`x-slipway-version: stable|canary` by
///   default) goes to that version whatever the weight, and fails with 503 rather than fall
///   back when that version has no ready instance: a smoke test must not pass on the other
///   version.
/// - **Readiness and fallback.** Only ready instances get traffic. When the drawn version has
///   no ready instance, an unpinned request goes to the other version; when neither has one,
///   the router answers 503 itself.
/// - **Metrics.** Per version, counts by status class (`5xx` and "no response from the
///   upstream" are errors) and a latency histogram; counters only grow, except across a
///   restart of the router, which `window` detects.
/// - **Idempotence.** Every call may be repeated with the same arguments (the engine is a
///   reconciler that resumes after crashes).
///
/// The trait is object safe: the engine holds an `Arc<dyn TrafficRouter>`.
#[async_trait]
pub trait TrafficRouter: Send + Sync {
    /// Makes the router serve `service` on `listen` (port 0 picks a free port) and returns the
    /// address it serves on. A new service starts with no instances and canary weight 0.
    /// Calling it again for a service that already listens returns the address it listens on;
    /// a different fixed address is an error.
    async fn ensure_service(
        &self,
        service: &str,
        listen: SocketAddr,
    ) -> Result<SocketAddr, RouterError>;

    /// Stops serving `service`: the listener closes, in-flight requests finish, and its
    /// instances are forgotten. Removing an unknown service is not an error.
    async fn remove_service(&self, service: &str) -> Result<(), RouterError>;

    /// Replaces both instance sets of `service`. Instance ids are unique across the router:
    /// an id listed twice, or already used by another service, is an error and changes
    /// nothing. An id the router already knows keeps its current readiness (`Instance::ready`
    /// is only the initial value), so promoting canary instances to stable does not take them
    /// out of traffic.
    async fn set_backends(
        &self,
        service: &str,
        stable: Vec<Instance>,
        canary: Vec<Instance>,
    ) -> Result<(), RouterError>;

    /// Sets the share of unpinned requests sent to the canary.
    async fn set_canary_weight(
        &self,
        service: &str,
        weight: CanaryWeight,
    ) -> Result<(), RouterError>;

    /// Marks an instance ready (it may receive traffic) or not ready (it receives none).
    async fn set_ready(&self, instance: &InstanceId, ready: bool) -> Result<(), RouterError>;

    /// The service's counters now, for `window` to diff against an earlier snapshot.
    async fn metrics(&self, service: &str) -> Result<MetricsSnapshot, RouterError>;
}
