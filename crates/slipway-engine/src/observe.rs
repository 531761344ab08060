//! What a held step measures for its planner, tick by tick: the router's per-version
//! snapshots (kept for windows), the guardrails evaluated over the last window (the pure rule
//! evaluation is `slipway_domain::guardrail`), continuous health probes of the new instances,
//! and the analysis samples of the step. A breach comes out as [`Tripped`], with the window as
//! evidence and whether the stable side breaks the rule too (the baseline beside a canary).

use crate::EngineError;
use crate::analysis::Samples;
use crate::health::probe_check;
use crate::plan::Tripped;
use crate::target::Instance;
use slipway_domain::guardrail::{
    Guardrail, GuardrailMetric, GuardrailState, evaluate, parse_duration_ms,
};
use slipway_domain::kinds::{AnalysisSpec, HealthCheck};
use slipway_router::{
    MetricsSnapshot, MetricsWindow, TrafficRouter, Version, VersionSnapshot, window_over,
};
use std::time::{Duration, Instant};

/// Snapshots kept for windows, at most (a minute of 100 ms ticks).
const KEPT_SNAPSHOTS: usize = 600;
/// How often the new instances are probed.
const PROBE_EVERY: Duration = Duration::from_millis(250);
const PROBE_TIMEOUT: Duration = Duration::from_millis(200);

/// The measurements of one held step.
pub(crate) struct Watcher {
    /// The routed service watched (the experiment router's, with a baseline beside).
    pub routed: String,
    side: Version,
    guardrails: Vec<Guardrail>,
    states: Vec<GuardrailState>,
    window: Duration,
    history: Vec<MetricsSnapshot>,
    probes: Vec<Instance>,
    check: HealthCheck,
    failures: Vec<u32>,
    last_probe: Instant,
    analysis: Option<Sampling>,
    /// When the step began (ms since the epoch), for the analysis' range.
    pub started_ms: u64,
}

/// The analysis samples of a step.
pub(crate) struct Sampling {
    pub spec: AnalysisSpec,
    pub samples: Samples,
    every: Duration,
    last: Instant,
}

/// What a [`Watcher`] watches.
pub(crate) struct WatchTarget {
    pub routed: String,
    pub side: Version,
    pub guardrails: Vec<Guardrail>,
    pub window: Duration,
    pub probes: Vec<Instance>,
    pub check: HealthCheck,
    pub analysis: Option<AnalysisSpec>,
    pub started_ms: u64,
}

impl Watcher {
    pub fn new(target: WatchTarget) -> Watcher {
        let now = Instant::now();
        Watcher {
            routed: target.routed,
            side: target.side,
            states: vec![GuardrailState::default(); target.guardrails.len()],
            guardrails: target.guardrails,
            window: target.window,
            history: Vec::new(),
            failures: vec![0; target.probes.len()],
            probes: target.probes,
            check: target.check,
            last_probe: now,
            analysis: target.analysis.map(|spec| Sampling {
                every: Duration::from_millis(
                    parse_duration_ms(&spec.interval).unwrap_or(1000).max(100),
                ),
                spec,
                samples: Samples::default(),
                last: now,
            }),
            started_ms: target.started_ms,
        }
    }

    /// The analysis samples collected so far.
    pub fn sampling(&self) -> Option<&Sampling> {
        self.analysis.as_ref()
    }

    /// One tick: a snapshot, samples (not while `paused`), probes, and the guardrails.
    pub async fn measure(
        &mut self,
        router: &dyn TrafficRouter,
        http: &reqwest::Client,
        paused: bool,
        now_ms: u64,
    ) -> Result<Option<Tripped>, EngineError> {
        let snapshot = router
            .metrics(&self.routed)
            .await
            .map_err(|e| EngineError::Instance {
                instance: self.routed.clone(),
                reason: format!("router: {e}"),
            })?;
        self.history.push(snapshot);
        if self.history.len() > KEPT_SNAPSHOTS {
            self.history.remove(0);
        }
        if let Some(sampling) = &mut self.analysis
            && !paused
            && sampling.last.elapsed() >= sampling.every
        {
            sampling.last = Instant::now();
            if let Some(period) = window_over(&self.history, sampling.every) {
                sampling.samples.record(&sampling.spec, &period);
            }
        }
        if !self.probes.is_empty() && self.last_probe.elapsed() >= PROBE_EVERY {
            self.last_probe = Instant::now();
            for (instance, failures) in self.probes.iter().zip(self.failures.iter_mut()) {
                if probe_check(http, instance.addr, &self.check, PROBE_TIMEOUT).await {
                    *failures = 0;
                } else {
                    *failures += 1;
                }
            }
        }
        Ok(self.guardrails_over_window(now_ms))
    }

    /// Evaluates every guardrail over the last window; the first breach, if any.
    fn guardrails_over_window(&mut self, now_ms: u64) -> Option<Tripped> {
        let window = window_over(&self.history, self.window)?;
        let watched = window.version(self.side);
        let failures = self.failures.iter().max().map(|m| f64::from(*m));
        for (rule, state) in self.guardrails.iter().zip(self.states.iter_mut()) {
            let tick = evaluate(rule, now_ms, value(rule.metric, watched, failures), *state);
            *state = tick.state;
            if let Some(breach) = tick.breach {
                let stable = window.version(Version::Stable);
                return Some(Tripped {
                    breach,
                    window: evidence(&window, watched),
                    stable_too: value(rule.metric, stable, None).is_some_and(|v| rule.holds(v)),
                });
            }
        }
        None
    }
}

/// A guardrail's value over a version's window; `failures` is the health probes' worst run
/// of consecutive failures (the stable side has none).
fn value(metric: GuardrailMetric, v: &VersionSnapshot, failures: Option<f64>) -> Option<f64> {
    match metric {
        // Too few requests say nothing about a rate.
        GuardrailMetric::ErrorRate => (v.requests() >= 5).then(|| v.error_rate()).flatten(),
        GuardrailMetric::P50Latency => v.p50().map(|d| d.as_secs_f64()),
        GuardrailMetric::P95Latency => v.p95().map(|d| d.as_secs_f64()),
        GuardrailMetric::P99Latency => v.p99().map(|d| d.as_secs_f64()),
        GuardrailMetric::HealthCheckFailures => failures,
    }
}

/// The window that breached, as evidence.
fn evidence(window: &MetricsWindow, watched: &VersionSnapshot) -> serde_json::Value {
    serde_json::json!({
        "windowMs": window.duration.as_millis() as u64,
        "canary": {"requests": watched.requests(), "errors": watched.errors(),
                   "errorRate": watched.error_rate(), "p99Ms": watched.p99().map(|d| d.as_secs_f64() * 1000.0)},
        "stable": {"requests": window.stable.requests(), "errors": window.stable.errors(),
                   "errorRate": window.stable.error_rate()},
    })
}
