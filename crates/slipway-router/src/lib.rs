//! Slipway's traffic routing: the `TrafficRouter` trait the deployment engine drives, and
//! `BuiltinRouter`, its embedded implementation — an HTTP/1.1 reverse proxy on each service's
//! listener that splits traffic between a stable and a canary version by weight, honours a
//! version-pinning header, sends traffic only to ready instances, and counts every request per
//! version (status classes and a latency histogram) for guardrails and `/metrics`.
//!
//! Modules: `backend` (versions, instances, weights), `traffic_router` (the trait and its
//! contract), `builtin` (listeners, data-plane threads, shutdown), `fast_path` (the
//! hand-written HTTP/1.1 forwarder every client connection starts on), `message_head` and
//! `body_framing` (what it reads from heads, the heads it writes, where bodies end),
//! `upstream_tcp` (its upstream connections and their idle pool), `proxy` (routing decisions
//! and the router's own answers, and the hyper path for the requests the fast path hands
//! over), `upstream` (the hyper path's upstream connections), `table` (lock-free routing
//! state), `metrics` and `histogram` (counters and snapshots), `window` (windowed rates over
//! two snapshots), `prometheus` (text exposition).
#![forbid(unsafe_code)]

pub mod backend;
mod body_framing;
pub mod builtin;
pub mod error;
mod fast_path;
pub mod histogram;
mod message_head;
pub mod metrics;
pub mod prometheus;
mod proxy;
mod table;
pub mod traffic_router;
mod upstream;
mod upstream_tcp;
pub mod window;

pub use backend::{CanaryWeight, Instance, InstanceId, Version};
pub use builtin::{BuiltinRouter, RouterConfig};
pub use error::RouterError;
pub use histogram::HistogramSnapshot;
pub use metrics::{ClassCounts, MetricsSnapshot, RouterMetrics, StatusClass, VersionSnapshot};
pub use prometheus::render_prometheus;
pub use traffic_router::TrafficRouter;
pub use window::{MetricsWindow, window, window_over};
