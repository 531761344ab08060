//! The analysis step with the built-in metric source: during a canary step the engine samples,
//! every `interval`, each analysed metric for the stable version (the baseline) and the canary
//! from the router's own counters over that period; at the end of the step the canary judge
//! (Kayenta's algorithm, `slipway-judge`) compares the two series. What the judge saw and
//! decided is kept whole in the rollout's status, for `slipway analysis explain`.

use slipway_domain::guardrail::GuardrailMetric;
use slipway_domain::kinds::AnalysisSpec;
use slipway_router::{MetricsWindow, Version};
use std::collections::BTreeMap;

/// Baseline and canary values per metric, one pair per period in which both had data.
#[derive(Debug, Default, Clone)]
pub struct Samples {
    series: BTreeMap<String, (Vec<f64>, Vec<f64>)>,
}

fn value(metric: GuardrailMetric, window: &MetricsWindow, version: Version) -> Option<f64> {
    let v = window.version(version);
    match metric {
        GuardrailMetric::ErrorRate => (v.requests() > 0).then(|| v.error_rate()).flatten(),
        GuardrailMetric::P50Latency => v.p50().map(|d| d.as_secs_f64() * 1000.0),
        GuardrailMetric::P95Latency => v.p95().map(|d| d.as_secs_f64() * 1000.0),
        GuardrailMetric::P99Latency => v.p99().map(|d| d.as_secs_f64() * 1000.0),
        GuardrailMetric::HealthCheckFailures => None,
    }
}

impl Samples {
    /// Records one period.
    pub fn record(&mut self, spec: &AnalysisSpec, period: &MetricsWindow) {
        for m in &spec.metrics {
            if let (Some(b), Some(c)) = (
                value(m.metric, period, Version::Stable),
                value(m.metric, period, Version::Canary),
            ) {
                let entry = self.series.entry(m.name.clone()).or_default();
                entry.0.push(b);
                entry.1.push(c);
            }
        }
    }
}

/// The judge's verdict on a step.
pub struct Verdict {
    pub passed: bool,
    pub score: f64,
    pub summary: String,
    /// The judge's whole input and result, with its explanation.
    pub record: serde_json::Value,
}

/// Judges the samples; a judge error (e.g. an invalid configuration) fails the step.
pub fn judge(spec: &AnalysisSpec, samples: &Samples, label: &str) -> Verdict {
    let metrics: Vec<serde_json::Value> = spec
        .metrics
        .iter()
        .map(|m| {
            let (baseline, canary) = samples.series.get(&m.name).cloned().unwrap_or_default();
            let mut params = m.params.clone().unwrap_or_else(|| serde_json::json!({}));
            if let Some(obj) = params.as_object_mut() {
                obj.entry("direction").or_insert(serde_json::json!("increase"));
                obj.insert("critical".into(), serde_json::json!(m.critical));
                obj.entry("mustHaveData").or_insert(serde_json::json!(true));
            }
            let unit = if m.metric == GuardrailMetric::ErrorRate { None } else { Some("ms") };
            serde_json::json!({"name": m.name, "unit": unit, "params": params, "baseline": baseline, "canary": canary})
        })
        .collect();
    let input = serde_json::json!({
        "name": label,
        "scoreThresholds": {"marginal": spec.marginal, "pass": spec.pass},
        "missingDataPolicy": "fail",
        "metrics": metrics,
    });
    let result = serde_json::from_value::<slipway_judge::JudgeInput>(input.clone())
        .map_err(|e| e.to_string())
        .and_then(|parsed| slipway_judge::judge(&parsed).map_err(|e| e.to_string()));
    match result {
        Ok(result) => {
            let passed = matches!(result.verdict, slipway_judge::Verdict::Pass);
            let summary = format!(
                "score {:.1} → {:?}: {}",
                result.score, result.verdict, result.reason
            );
            Verdict {
                passed,
                score: result.score,
                summary,
                record: serde_json::json!({"label": label, "input": input, "result": result, "explanation": result.explanation}),
            }
        }
        Err(e) => Verdict {
            passed: false,
            score: 0.0,
            summary: format!("the judge refused the analysis: {e}"),
            record: serde_json::json!({"label": label, "input": input, "error": e}),
        },
    }
}
