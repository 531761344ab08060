//! Slipway's traffic routing: the `TrafficRouter` trait the deployment engine drives, and
//! `BuiltinRouter`, its embedded implementation — an HTTP/1.1 reverse proxy on each service's
//! listener that splits traffic between a stable and a canary version by weight, honours a
//! version-pinning header, sends traffic only to ready instances, and counts every request per
//! version (status classes and a latency histogram) for guardrails and `/metrics`.
//!
//! Modules: `backend` (versions, instances, weights), `traffic_router` (the trait and its
//! contract), `builtin` (listeners, shutdown), `proxy` (the per-request data path), `table`
//! (lock-free routing state), `upstream` (upstream connections
//! held per client connection, and their idle pool), `metrics` and `histogram` (counters and snapshots), `window`
//! (windowed rates over two snapshots), `prometheus` (text exposition).
#![forbid(unsafe_code)]

pub mod backend;
pub mod builtin;
pub mod error;
pub mod histogram;
pub mod metrics;
pub mod prometheus;
mod proxy;
mod table;
pub mod traffic_router;
mod upstream;
pub mod window;

pub use backend::{CanaryWeight, Instance, InstanceId, Version};
pub use builtin::{BuiltinRouter, RouterConfig};
pub use error::RouterError;
pub use histogram::HistogramSnapshot;
pub use metrics::{ClassCounts, MetricsSnapshot, RouterMetrics, StatusClass, VersionSnapshot};
pub use prometheus::render_prometheus;
pub use traffic_router::TrafficRouter;
pub use window::{MetricsWindow, window, window_over};
