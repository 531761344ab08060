//! Guardrails: rollback criteria such as `error_rate > 5% for 5s` or `p99_latency > 300ms for 2s`,
//! parsed from text and evaluated tick by tick against windowed metrics.
//!
//! Evaluation is a pure step function: it takes the rule, the time, the metric value of the
//! current window and the previous state, and returns the new state and whether the rule is
//! breached (the condition has held for the rule's duration).

use serde::{Deserialize, Serialize};
use std::fmt;

/// A metric a guardrail watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardrailMetric {
    /// Share of requests answered 5xx or not answered, 0..=1.
    ErrorRate,
    P50Latency,
    P95Latency,
    P99Latency,
    /// Consecutive failed health checks of any canary instance.
    HealthCheckFailures,
}

impl GuardrailMetric {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "error_rate" => Self::ErrorRate,
            "p50_latency" => Self::P50Latency,
            "p95_latency" => Self::P95Latency,
            "p99_latency" => Self::P99Latency,
            "health_check_failures" => Self::HealthCheckFailures,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::ErrorRate => "error_rate",
            Self::P50Latency => "p50_latency",
            Self::P95Latency => "p95_latency",
            Self::P99Latency => "p99_latency",
            Self::HealthCheckFailures => "health_check_failures",
        }
    }

    /// Formats a value of this metric for people.
    pub fn show(self, value: f64) -> String {
        match self {
            Self::ErrorRate => format!("{:.1}%", value * 100.0),
            Self::P50Latency | Self::P95Latency | Self::P99Latency => {
                format!("{:.0}ms", value * 1000.0)
            }
            Self::HealthCheckFailures => format!("{value:.0}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    #[serde(rename = ">")]
    Above,
    #[serde(rename = ">=")]
    AtLeast,
    #[serde(rename = "<")]
    Below,
    #[serde(rename = "<=")]
    AtMost,
}

impl Comparison {
    fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Self::Above => value > threshold,
            Self::AtLeast => value >= threshold,
            Self::Below => value < threshold,
            Self::AtMost => value <= threshold,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Self::Above => ">",
            Self::AtLeast => ">=",
            Self::Below => "<",
            Self::AtMost => "<=",
        }
    }
}

/// A parsed guardrail. Latencies are in seconds, rates in 0..=1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Guardrail {
    pub metric: GuardrailMetric,
    pub comparison: Comparison,
    pub threshold: f64,
    /// How long the condition must hold before it is a breach, in milliseconds.
    pub for_ms: u64,
}

impl Guardrail {
    /// Whether `value` meets the rule's condition (ignoring its duration).
    pub fn holds(&self, value: f64) -> bool {
        self.comparison.holds(value, self.threshold)
    }
}

impl fmt::Display for Guardrail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.metric.name(),
            self.comparison.symbol(),
            self.metric.show(self.threshold)
        )?;
        if self.for_ms > 0 {
            write!(f, " for {}", show_duration(self.for_ms))?;
        }
        Ok(())
    }
}

fn show_duration(ms: u64) -> String {
    if ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// Parses `10ms`, `2s`, `5m`, `1h` into milliseconds.
pub fn parse_duration_ms(text: &str) -> Result<u64, String> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (n, unit) = text.split_at(split);
    let n: f64 = n
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (e.g. 500ms, 5s, 2m)"))?;
    let factor = match unit {
        "ms" => 1.0,
        "s" => 1000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        _ => {
            return Err(format!(
                "{text:?} has an unknown unit {unit:?}: use ms, s, m or h"
            ));
        }
    };
    let ms = n * factor;
    if !(0.0..=7.0 * 86_400_000.0).contains(&ms) {
        return Err(format!("{text:?} is out of range"));
    }
    Ok(ms.round() as u64)
}

impl std::str::FromStr for Guardrail {
    type Err = String;

    /// `METRIC OP THRESHOLD [for DURATION]`, e.g. `error_rate > 5% for 30s`.
    fn from_str(text: &str) -> Result<Self, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let (metric, op, threshold, rest) = match words.as_slice() {
            [m, op, t, rest @ ..] => (*m, *op, *t, rest),
            _ => {
                return Err(format!(
                    "{text:?} is not a guardrail: write METRIC OP THRESHOLD [for DURATION], e.g. \"error_rate > 5% for 30s\""
                ));
            }
        };
        let metric = GuardrailMetric::parse(metric).ok_or_else(|| {
            format!("unknown metric {metric:?}: use error_rate, p50_latency, p95_latency, p99_latency or health_check_failures")
        })?;
        let comparison = match op {
            ">" => Comparison::Above,
            ">=" => Comparison::AtLeast,
            "<" => Comparison::Below,
            "<=" => Comparison::AtMost,
            _ => return Err(format!("unknown comparison {op:?}: use >, >=, < or <=")),
        };
        let threshold = match metric {
            GuardrailMetric::ErrorRate => match threshold.strip_suffix('%') {
                Some(p) => p.parse::<f64>().map(|v| v / 100.0),
                None => threshold.parse::<f64>(),
            }
            .map_err(|_| format!("{threshold:?} is not a rate (e.g. 5% or 0.05)"))?,
            GuardrailMetric::P50Latency
            | GuardrailMetric::P95Latency
            | GuardrailMetric::P99Latency => parse_duration_ms(threshold)? as f64 / 1000.0,
            GuardrailMetric::HealthCheckFailures => threshold
                .parse::<f64>()
                .map_err(|_| format!("{threshold:?} is not a count"))?,
        };
        if !threshold.is_finite() || threshold < 0.0 {
            return Err(format!(
                "threshold {threshold} must be a non-negative number"
            ));
        }
        let for_ms = match rest {
            [] => 0,
            ["for", d] => parse_duration_ms(d)?,
            _ => {
                return Err(format!(
                    "unexpected {:?}: only \"for DURATION\" may follow the threshold",
                    rest.join(" ")
                ));
            }
        };
        Ok(Guardrail {
            metric,
            comparison,
            threshold,
            for_ms,
        })
    }
}

/// What a guardrail remembers between ticks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GuardrailState {
    /// Since when (ms) the condition has held without interruption.
    pub holding_since: Option<u64>,
}

/// The outcome of one tick.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    pub state: GuardrailState,
    /// Set when the rule is breached: the value that breached it and since when it held.
    pub breach: Option<Breach>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Breach {
    pub rule: String,
    pub value: f64,
    pub shown: String,
    pub holding_since_ms: u64,
    pub at_ms: u64,
}

/// Evaluates one tick at `now_ms` with the current window's `value` (`None`: no data in the
/// window, which neither breaches nor resets a condition that was holding).
pub fn evaluate(rule: &Guardrail, now_ms: u64, value: Option<f64>, state: GuardrailState) -> Tick {
    let Some(value) = value else {
        return Tick {
            state,
            breach: None,
        };
    };
    if !rule.comparison.holds(value, rule.threshold) {
        return Tick {
            state: GuardrailState {
                holding_since: None,
            },
            breach: None,
        };
    }
    let since = state.holding_since.unwrap_or(now_ms);
    let state = GuardrailState {
        holding_since: Some(since),
    };
    let breach = (now_ms.saturating_sub(since) >= rule.for_ms).then(|| Breach {
        rule: rule.to_string(),
        value,
        shown: rule.metric.show(value),
        holding_since_ms: since,
        at_ms: now_ms,
    });
    Tick { state, breach }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Result<&str, &str>) {
        let got = text.parse::<Guardrail>().map(|g| g.to_string());
        match expected {
            Ok(shown) => assert_eq!(got.as_deref(), Ok(shown), "{text}"),
            Err(part) => assert!(
                got.as_ref().is_err_and(|e| e.contains(part)),
                "{text}: {got:?}"
            ),
        }
    }

    #[test]
    fn parsing() {
        check("error_rate > 5% for 5m", Ok("error_rate > 5.0% for 5m"));
        check("error_rate >= 0.2", Ok("error_rate >= 20.0%"));
        check(
            "p99_latency > 300ms for 2m",
            Ok("p99_latency > 300ms for 2m"),
        );
        check(
            "health_check_failures >= 3",
            Ok("health_check_failures >= 3"),
        );
        check("cpu > 5", Err("unknown metric \"cpu\""));
        check("error_rate ~ 5%", Err("unknown comparison"));
        check("error_rate > lots", Err("is not a rate"));
        check("p99_latency > 3 parsecs", Err("unknown unit"));
        check("error_rate > 5% during 5s", Err("only \"for DURATION\""));
        check("error_rate", Err("is not a guardrail"));
        check("error_rate > -1%", Err("non-negative"));
    }

    #[test]
    fn a_condition_must_hold_for_its_duration() {
        let rule: Guardrail = "error_rate > 5% for 1s".parse().unwrap();
        let mut state = GuardrailState::default();
        let mut breaches = Vec::new();
        for (t, v) in [
            (0, Some(0.01)),
            (250, Some(0.2)),
            (500, Some(0.2)),
            (750, None),
            (1000, Some(0.2)),
            (1250, Some(0.3)),
        ] {
            let tick = evaluate(&rule, t, v, state);
            state = tick.state;
            breaches.push(tick.breach.map(|b| (b.holding_since_ms, b.at_ms)));
        }
        assert_eq!(
            breaches,
            vec![None, None, None, None, None, Some((250, 1250))]
        );
        // A good window resets the clock.
        let tick = evaluate(&rule, 1500, Some(0.0), state);
        assert_eq!(tick.state.holding_since, None);
        let immediate: Guardrail = "error_rate > 5%".parse().unwrap();
        assert!(
            evaluate(&immediate, 7, Some(0.06), GuardrailState::default())
                .breach
                .is_some()
        );
    }
}
