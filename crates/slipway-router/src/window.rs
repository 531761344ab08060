//! Windowed rates from snapshots: what happened between two instants (requests per second,
//! error rate, latency quantiles per version). Pure functions over values, for the guardrail
//! evaluator that takes a snapshot every second and asks, for example, "error rate over the
//! last 5 minutes" or "p99 over the last 2 minutes".

use std::time::Duration;

use crate::backend::Version;
use crate::metrics::{MetricsSnapshot, VersionSnapshot};

/// What happened between two snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetricsWindow {
    /// Time between the two snapshots.
    pub duration: Duration,
    /// The counters restarted in between (a counter went down, or the later snapshot's clock
    /// is behind the earlier one's): the window then covers only the later snapshot's own
    /// history, like Prometheus' `rate()` across a restart.
    pub reset: bool,
    /// Requests to stable in the window.
    pub stable: VersionSnapshot,
    /// Requests to canary in the window.
    pub canary: VersionSnapshot,
    /// Requests no version could take, in the window.
    pub unrouted: u64,
}

impl MetricsWindow {
    /// One version's counts in the window: `requests()`, `error_rate()`, `p99()`, ….
    pub fn version(&self, version: Version) -> &VersionSnapshot {
        match version {
            Version::Stable => &self.stable,
            Version::Canary => &self.canary,
        }
    }

    /// Requests per second to `version`; `None` for an empty (zero-length) window.
    pub fn request_rate(&self, version: Version) -> Option<f64> {
        let secs = self.duration.as_secs_f64();
        (secs > 0.0).then(|| self.version(version).requests() as f64 / secs)
    }
}

/// The difference `later - earlier` of two snapshots of the same service's metrics.
pub fn window(earlier: &MetricsSnapshot, later: &MetricsSnapshot) -> MetricsWindow {
    let delta = (later.at >= earlier.at)
        .then(|| {
            Some((
                later.stable.checked_sub(&earlier.stable)?,
                later.canary.checked_sub(&earlier.canary)?,
                later.unrouted.checked_sub(earlier.unrouted)?,
            ))
        })
        .flatten();
    match delta {
        Some((stable, canary, unrouted)) => MetricsWindow {
            duration: later.at - earlier.at,
            reset: false,
            stable,
            canary,
            unrouted,
        },
        None => MetricsWindow {
            duration: later.at,
            reset: true,
            stable: later.stable.clone(),
            canary: later.canary.clone(),
            unrouted: later.unrouted,
        },
    }
}

/// The window over (at least) the last `span` of a history of snapshots ordered oldest first:
/// from the newest snapshot taken `span` or more before the last one, to the last one. When the
/// history is shorter than `span`, the window covers all of it and is shorter than asked for
/// (check `duration` before trusting a "for 5m" condition). `None` with fewer than two
/// snapshots.
pub fn window_over(history: &[MetricsSnapshot], span: Duration) -> Option<MetricsWindow> {
    let (last, older) = history.split_last()?;
    let first = older
        .iter()
        .rev()
        .find(|s| last.at.saturating_sub(s.at) >= span)
        .or_else(|| older.first())?;
    Some(window(first, last))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::StatusClass;

    /// A snapshot at `secs` with `ok` fast successes, `server_errors` 5xx and `upstream_errors`
    /// refused connections on canary, and `slow` requests of 400 ms on stable.
    fn snap(
        secs: u64,
        ok: u64,
        server_errors: u64,
        upstream_errors: u64,
        slow: u64,
    ) -> MetricsSnapshot {
        let mut s = MetricsSnapshot {
            at: Duration::from_secs(secs),
            ..MetricsSnapshot::default()
        };
        let canary = s.version_mut(Version::Canary);
        canary.classes.add(StatusClass::Success, ok);
        canary.classes.add(StatusClass::ServerError, server_errors);
        canary
            .classes
            .add(StatusClass::UpstreamError, upstream_errors);
        canary.latency.record_n(
            Duration::from_micros(200),
            ok + server_errors + upstream_errors,
        );
        let stable = s.version_mut(Version::Stable);
        stable.classes.add(StatusClass::Success, 100 + slow);
        stable.latency.record_n(Duration::from_micros(100), 100);
        stable.latency.record_n(Duration::from_millis(400), slow);
        s
    }

    #[test]
    fn error_rate_counts_5xx_and_upstream_errors_over_the_window_only() {
        // Before the window: 1000 requests, no errors. In it: 100 more, 4 5xx and 2 refused.
        let w = window(&snap(60, 1000, 0, 0, 0), &snap(90, 1094, 4, 2, 0));
        assert!(!w.reset);
        assert_eq!(w.duration, Duration::from_secs(30));
        assert_eq!(w.canary.requests(), 100);
        assert_eq!(w.canary.errors(), 6);
        assert_eq!(w.canary.error_rate(), Some(0.06));
        assert_eq!(w.request_rate(Version::Canary), Some(100.0 / 30.0));
        // Stable had no requests in the window: no data, not a zero error rate.
        assert_eq!(w.stable.requests(), 0);
        assert_eq!(w.stable.error_rate(), None);
        assert_eq!(w.stable.p99(), None);
    }

    #[test]
    fn p99_sees_only_the_latencies_of_the_window() {
        // Stable: 100 fast requests before; in the window 100 fast + 5 slow (400 ms).
        let earlier = snap(0, 0, 0, 0, 0);
        let mut later = snap(10, 0, 0, 0, 5);
        let stable = later.version_mut(Version::Stable);
        stable.classes.add(StatusClass::Success, 100);
        stable.latency.record_n(Duration::from_micros(100), 100);
        let w = window(&earlier, &later);
        assert_eq!(w.stable.requests(), 105);
        // Rank ceil(0.99·105) = 104 is a slow one: 400 ms is in [393216, 409600) µs.
        assert_eq!(w.stable.p99(), Some(Duration::from_micros(409_600)));
        assert_eq!(w.stable.p95(), Some(Duration::from_micros(104)));
        assert_eq!(w.stable.p50(), Some(Duration::from_micros(104)));
    }

    #[test]
    fn a_restart_between_snapshots_is_a_reset_window() {
        let w = window(&snap(500, 1000, 10, 0, 0), &snap(3, 20, 1, 0, 0));
        assert!(w.reset);
        assert_eq!(w.duration, Duration::from_secs(3));
        assert_eq!(w.canary.requests(), 21);
        // A counter going down at a later clock is a reset too.
        let w = window(&snap(5, 1000, 10, 0, 0), &snap(9, 5, 0, 0, 0));
        assert!(w.reset);
        assert_eq!(w.canary.requests(), 5);
        // The same snapshot twice: an empty window, no data.
        let s = snap(5, 10, 0, 0, 0);
        let w = window(&s, &s);
        assert!(!w.reset);
        assert_eq!(w.canary.error_rate(), None);
        assert_eq!(w.request_rate(Version::Canary), None);
    }

    #[test]
    fn window_over_picks_the_newest_snapshot_old_enough() {
        let history: Vec<_> = (0..=10).map(|i| snap(i, i * 10, i, 0, 0)).collect();
        let w = window_over(&history, Duration::from_secs(3));
        assert_eq!(w.as_ref().map(|w| w.duration), Some(Duration::from_secs(3)));
        assert_eq!(w.as_ref().map(|w| w.canary.requests()), Some(33));
        // Longer than the history: the whole history.
        let w = window_over(&history, Duration::from_secs(60));
        assert_eq!(w.map(|w| w.duration), Some(Duration::from_secs(10)));
        assert_eq!(window_over(&history[..1], Duration::from_secs(1)), None);
        assert_eq!(window_over(&[], Duration::from_secs(1)), None);
    }
}
