//! Per-version request metrics kept inside the router: lock-free counters by status class and a
//! latency histogram per version, and the plain-value snapshots a guardrail evaluator reads.
//!
//! Counters only grow while the router runs, so the difference between two snapshots is what
//! happened in between (see the `window` module). Latency is measured from the moment the
//! router has read a request's head to the moment it has the upstream's response head (or the
//! upstream error); body streaming time is not included.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use http::StatusCode;

use crate::backend::Version;
use crate::histogram::{AtomicHistogram, HistogramSnapshot};

/// What became of a routed request, by class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusClass {
    /// 1xx from the upstream.
    Informational,
    /// 2xx from the upstream.
    Success,
    /// 3xx from the upstream.
    Redirection,
    /// 4xx from the upstream.
    ClientError,
    /// 5xx from the upstream.
    ServerError,
    /// No response from the upstream: connection refused or reset, timeout. Counted as an
    /// error like a 5xx.
    UpstreamError,
}

impl StatusClass {
    /// All classes in label order.
    pub const ALL: [StatusClass; 6] = [
        StatusClass::Informational,
        StatusClass::Success,
        StatusClass::Redirection,
        StatusClass::ClientError,
        StatusClass::ServerError,
        StatusClass::UpstreamError,
    ];

    /// The class of an upstream status code.
    pub fn of(status: StatusCode) -> StatusClass {
        match status.as_u16() {
            100..=199 => StatusClass::Informational,
            200..=299 => StatusClass::Success,
            300..=399 => StatusClass::Redirection,
            400..=499 => StatusClass::ClientError,
            _ => StatusClass::ServerError,
        }
    }

    /// The `class` label: `1xx` … `5xx`, or `error` for upstream errors.
    pub fn label(self) -> &'static str {
        match self {
            StatusClass::Informational => "1xx",
            StatusClass::Success => "2xx",
            StatusClass::Redirection => "3xx",
            StatusClass::ClientError => "4xx",
            StatusClass::ServerError => "5xx",
            StatusClass::UpstreamError => "error",
        }
    }

    /// Whether the class counts toward the error rate (5xx and upstream errors).
    pub fn is_error(self) -> bool {
        matches!(self, StatusClass::ServerError | StatusClass::UpstreamError)
    }

    fn slot(self) -> usize {
        self as usize
    }
}

/// Request counts by status class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClassCounts {
    counts: [u64; 6],
}

impl ClassCounts {
    /// Count of one class.
    pub fn get(&self, class: StatusClass) -> u64 {
        self.counts[class.slot()]
    }

    /// Adds `n` requests of a class (for building snapshots by hand).
    pub fn add(&mut self, class: StatusClass, n: u64) {
        let slot = &mut self.counts[class.slot()];
        *slot = slot.saturating_add(n);
    }

    /// All requests.
    pub fn requests(&self) -> u64 {
        self.counts
            .iter()
            .fold(0u64, |acc, c| acc.saturating_add(*c))
    }

    /// 5xx responses plus upstream errors.
    pub fn errors(&self) -> u64 {
        StatusClass::ALL
            .iter()
            .filter(|c| c.is_error())
            .fold(0u64, |acc, c| acc.saturating_add(self.get(*c)))
    }

    /// `self - earlier`; `None` when some count went down (a reset).
    pub fn checked_sub(&self, earlier: &ClassCounts) -> Option<ClassCounts> {
        let mut counts = [0u64; 6];
        for (slot, (now, before)) in counts
            .iter_mut()
            .zip(self.counts.iter().zip(earlier.counts.iter()))
        {
            *slot = now.checked_sub(*before)?;
        }
        Some(ClassCounts { counts })
    }
}

/// One version's counts and latencies, as plain values.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VersionSnapshot {
    /// Requests by status class.
    pub classes: ClassCounts,
    /// Latency of those requests.
    pub latency: HistogramSnapshot,
}

impl VersionSnapshot {
    /// All requests routed to this version.
    pub fn requests(&self) -> u64 {
        self.classes.requests()
    }

    /// 5xx responses plus upstream errors.
    pub fn errors(&self) -> u64 {
        self.classes.errors()
    }

    /// Errors divided by requests; `None` with no requests (no data is not a pass).
    pub fn error_rate(&self) -> Option<f64> {
        let requests = self.requests();
        (requests > 0).then(|| self.errors() as f64 / requests as f64)
    }

    /// Latency at quantile `q` (see `HistogramSnapshot::quantile`); `None` with no requests.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        self.latency.quantile(q)
    }

    /// Median latency.
    pub fn p50(&self) -> Option<Duration> {
        self.quantile(0.50)
    }

    /// 95th percentile latency.
    pub fn p95(&self) -> Option<Duration> {
        self.quantile(0.95)
    }

    /// 99th percentile latency.
    pub fn p99(&self) -> Option<Duration> {
        self.quantile(0.99)
    }

    /// `self - earlier`; `None` when some count went down (a reset).
    pub fn checked_sub(&self, earlier: &VersionSnapshot) -> Option<VersionSnapshot> {
        Some(VersionSnapshot {
            classes: self.classes.checked_sub(&earlier.classes)?,
            latency: self.latency.checked_sub(&earlier.latency)?,
        })
    }
}

/// Everything a service's router counted up to one instant, as plain values.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetricsSnapshot {
    /// When the snapshot was taken, measured from the creation of the metrics it was taken
    /// from (a snapshot with a smaller `at` than an earlier one means the metrics restarted).
    pub at: Duration,
    /// The stable version's counts.
    pub stable: VersionSnapshot,
    /// The canary version's counts.
    pub canary: VersionSnapshot,
    /// Requests answered 503 (no ready instance) or 400 (bad pin header) by the router itself,
    /// attributed to no version.
    pub unrouted: u64,
}

impl MetricsSnapshot {
    /// One version's counts.
    pub fn version(&self, version: Version) -> &VersionSnapshot {
        match version {
            Version::Stable => &self.stable,
            Version::Canary => &self.canary,
        }
    }

    /// One version's counts, mutably (for building snapshots by hand).
    pub fn version_mut(&mut self, version: Version) -> &mut VersionSnapshot {
        match version {
            Version::Stable => &mut self.stable,
            Version::Canary => &mut self.canary,
        }
    }
}

#[derive(Debug, Default)]
struct VersionMetrics {
    classes: [AtomicU64; 6],
    latency: AtomicHistogram,
}

impl VersionMetrics {
    fn snapshot(&self) -> VersionSnapshot {
        let mut classes = ClassCounts::default();
        for (slot, counter) in classes.counts.iter_mut().zip(self.classes.iter()) {
            *slot = counter.load(Ordering::Relaxed);
        }
        VersionSnapshot {
            classes,
            latency: self.latency.snapshot(),
        }
    }
}

/// The live, lock-free metrics of one service's router.
#[derive(Debug)]
pub struct RouterMetrics {
    origin: Instant,
    stable: VersionMetrics,
    canary: VersionMetrics,
    unrouted: AtomicU64,
}

impl Default for RouterMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl RouterMetrics {
    /// Empty metrics whose clock starts now.
    pub fn new() -> Self {
        RouterMetrics {
            origin: Instant::now(),
            stable: VersionMetrics::default(),
            canary: VersionMetrics::default(),
            unrouted: AtomicU64::new(0),
        }
    }

    fn of(&self, version: Version) -> &VersionMetrics {
        match version {
            Version::Stable => &self.stable,
            Version::Canary => &self.canary,
        }
    }

    /// Counts one request routed to `version`.
    pub fn record(&self, version: Version, class: StatusClass, latency: Duration) {
        let metrics = self.of(version);
        metrics.classes[class.slot()].fetch_add(1, Ordering::Relaxed);
        metrics.latency.record(latency);
    }

    /// Counts one request the router answered itself (503 or 400).
    pub fn record_unrouted(&self) {
        self.unrouted.fetch_add(1, Ordering::Relaxed);
    }

    /// Copies all counters now.
    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            at: self.origin.elapsed(),
            stable: self.stable.snapshot(),
            canary: self.canary.snapshot(),
            unrouted: self.unrouted.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_status_codes() {
        assert_eq!(StatusClass::of(StatusCode::OK), StatusClass::Success);
        assert_eq!(
            StatusClass::of(StatusCode::CONTINUE),
            StatusClass::Informational
        );
        assert_eq!(StatusClass::of(StatusCode::FOUND), StatusClass::Redirection);
        assert_eq!(
            StatusClass::of(StatusCode::NOT_FOUND),
            StatusClass::ClientError
        );
        assert_eq!(
            StatusClass::of(StatusCode::BAD_GATEWAY),
            StatusClass::ServerError
        );
        let labels: Vec<_> = StatusClass::ALL.iter().map(|c| c.label()).collect();
        assert_eq!(labels, ["1xx", "2xx", "3xx", "4xx", "5xx", "error"]);
    }

    #[test]
    fn recording_counts_per_version_and_class() {
        let metrics = RouterMetrics::new();
        metrics.record(
            Version::Canary,
            StatusClass::ServerError,
            Duration::from_micros(300),
        );
        metrics.record(
            Version::Canary,
            StatusClass::Success,
            Duration::from_micros(100),
        );
        metrics.record(
            Version::Stable,
            StatusClass::UpstreamError,
            Duration::from_millis(2),
        );
        metrics.record_unrouted();
        let snap = metrics.snapshot();
        assert_eq!(snap.canary.requests(), 2);
        assert_eq!(snap.canary.errors(), 1);
        assert_eq!(snap.canary.error_rate(), Some(0.5));
        assert_eq!(snap.stable.classes.get(StatusClass::UpstreamError), 1);
        assert_eq!(snap.stable.error_rate(), Some(1.0));
        assert_eq!(snap.unrouted, 1);
        assert_eq!(snap.canary.latency.count(), 2);
        assert_eq!(VersionSnapshot::default().error_rate(), None);
    }
}
