//! Canary analysis: baseline (stable) and canary series per metric, from a [`MetricSource`],
//! judged at the end of a canary step by Slipway's canary judge (Kayenta's algorithm,
//! `slipway-judge`). What the judge saw and decided is kept whole in the rollout's status, for
//! `slipway analysis explain`.
//!
//! Sources: the built-in one samples the router's own counters every `interval` during the
//! step ([`Samples`]); [`PrometheusSource`] runs a PromQL range query per version over the
//! step; [`WebhookSource`] asks a JSON service for both series.

use async_trait::async_trait;
use slipway_domain::guardrail::GuardrailMetric;
use slipway_domain::kinds::{AnalysisMetric, AnalysisSpec, MetricSourceSpec};
use slipway_router::{MetricsWindow, Version};
use std::collections::BTreeMap;

/// How long a metric source may take to answer; a source that hangs fails the step rather
/// than holding the rollout (and its canary weight) indefinitely.
const SOURCE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// What a query is about.
#[derive(Debug, Clone)]
pub struct SeriesContext {
    pub service: String,
    pub environment: String,
    /// The router's `service` label (`service.environment`).
    pub routed: String,
    pub start_ms: u64,
    pub end_ms: u64,
    pub step_ms: u64,
}

impl SeriesContext {
    fn fill(&self, query: &str, version: &str) -> String {
        query
            .replace("{version}", version)
            .replace("{service}", &self.service)
            .replace("{environment}", &self.environment)
            .replace("{routed}", &self.routed)
    }
}

/// Where baseline and canary series come from.
#[async_trait]
pub trait MetricSource: Send + Sync {
    /// The baseline (stable) and canary series of `metric` over the context's span.
    async fn series(
        &self,
        metric: &AnalysisMetric,
        context: &SeriesContext,
    ) -> Result<(Vec<f64>, Vec<f64>), String>;
}

/// Baseline and canary values per metric, one pair per period in which both had data: the
/// built-in source.
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
            let Some(metric) = m.metric else { continue };
            if let (Some(b), Some(c)) = (
                value(metric, period, Version::Stable),
                value(metric, period, Version::Canary),
            ) {
                let entry = self.series.entry(m.name.clone()).or_default();
                entry.0.push(b);
                entry.1.push(c);
            }
        }
    }
}

#[async_trait]
impl MetricSource for Samples {
    async fn series(
        &self,
        metric: &AnalysisMetric,
        _: &SeriesContext,
    ) -> Result<(Vec<f64>, Vec<f64>), String> {
        Ok(self.series.get(&metric.name).cloned().unwrap_or_default())
    }
}

/// PromQL range queries against a Prometheus server's HTTP API.
pub struct PrometheusSource {
    pub url: String,
    pub http: reqwest::Client,
}

impl PrometheusSource {
    async fn range(&self, query: &str, c: &SeriesContext) -> Result<Vec<f64>, String> {
        let url = format!("{}/api/v1/query_range", self.url.trim_end_matches('/'));
        let params = [
            ("query", query.to_string()),
            ("start", format!("{:.3}", c.start_ms as f64 / 1000.0)),
            ("end", format!("{:.3}", c.end_ms as f64 / 1000.0)),
            ("step", format!("{:.3}", c.step_ms.max(1) as f64 / 1000.0)),
        ];
        let answer: serde_json::Value = self
            .http
            .get(&url)
            .query(&params)
            .timeout(SOURCE_TIMEOUT)
            .send()
            .await
            .map_err(|e| format!("prometheus at {}: {e}", self.url))?
            .json()
            .await
            .map_err(|e| format!("prometheus at {}: not JSON: {e}", self.url))?;
        if answer["status"] != "success" {
            return Err(format!(
                "prometheus refused {query:?}: {}",
                answer["error"].as_str().unwrap_or("unknown error")
            ));
        }
        let results = answer["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if results.len() > 1 {
            return Err(format!(
                "{query:?} returned {} series; aggregate it to one (e.g. sum or histogram_quantile)",
                results.len()
            ));
        }
        Ok(results
            .first()
            .and_then(|r| r["values"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|pair| pair.get(1)?.as_str()?.parse::<f64>().ok())
            .filter(|v| v.is_finite())
            .collect())
    }
}

#[async_trait]
impl MetricSource for PrometheusSource {
    async fn series(
        &self,
        metric: &AnalysisMetric,
        context: &SeriesContext,
    ) -> Result<(Vec<f64>, Vec<f64>), String> {
        let query = metric
            .query
            .as_deref()
            .ok_or_else(|| format!("metric {} has no query", metric.name))?;
        let baseline = self.range(&context.fill(query, "stable"), context).await?;
        let canary = self.range(&context.fill(query, "canary"), context).await?;
        Ok((baseline, canary))
    }
}

/// A JSON service: POST `{metric, query, service, environment, start, end, step}` (times in ms),
/// answer `{"baseline": [...], "canary": [...]}`.
pub struct WebhookSource {
    pub url: String,
    pub http: reqwest::Client,
}

#[async_trait]
impl MetricSource for WebhookSource {
    async fn series(
        &self,
        metric: &AnalysisMetric,
        c: &SeriesContext,
    ) -> Result<(Vec<f64>, Vec<f64>), String> {
        let body = serde_json::json!({"metric": metric.name, "query": metric.query, "service": c.service,
            "environment": c.environment, "start": c.start_ms, "end": c.end_ms, "step": c.step_ms});
        let answer: serde_json::Value = self
            .http
            .post(&self.url)
            .json(&body)
            .timeout(SOURCE_TIMEOUT)
            .send()
            .await
            .map_err(|e| format!("webhook {}: {e}", self.url))?
            .json()
            .await
            .map_err(|e| format!("webhook {}: not JSON: {e}", self.url))?;
        let list = |k: &str| -> Vec<f64> {
            answer[k]
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_f64()).collect())
                .unwrap_or_default()
        };
        Ok((list("baseline"), list("canary")))
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

/// Collects every metric's series from `source` and judges them; a source or judge error fails
/// the step (missing data never passes).
pub async fn judge(
    spec: &AnalysisSpec,
    source: &dyn MetricSource,
    context: &SeriesContext,
    label: &str,
) -> Verdict {
    let mut metrics = Vec::new();
    let mut errors = Vec::new();
    for m in &spec.metrics {
        let (baseline, canary) = match source.series(m, context).await {
            Ok(series) => series,
            Err(e) => {
                errors.push(format!("{}: {e}", m.name));
                (Vec::new(), Vec::new())
            }
        };
        let mut params = m.params.clone().unwrap_or_else(|| serde_json::json!({}));
        if let Some(obj) = params.as_object_mut() {
            obj.entry("direction")
                .or_insert(serde_json::json!("increase"));
            obj.insert("critical".into(), serde_json::json!(m.critical));
            obj.entry("mustHaveData").or_insert(serde_json::json!(true));
            // No verdict on fewer samples than the test needs to be able to say anything
            // (below it, Kayenta's interval falls back to the raw range and flags noise).
            let conf = obj
                .get("confLevel")
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(0.95);
            let minimum = slipway_judge::simulation::mann_whitney_min_samples(conf).min(1_000);
            obj.entry("minSampleCount")
                .or_insert(serde_json::json!(minimum));
        }
        let unit = if m.metric == Some(GuardrailMetric::ErrorRate) {
            None
        } else {
            Some("ms")
        };
        metrics.push(serde_json::json!({"name": m.name, "unit": unit, "params": params, "baseline": baseline, "canary": canary}));
    }
    let source_name = match &spec.source {
        MetricSourceSpec::Builtin => "builtin".to_string(),
        MetricSourceSpec::Prometheus { url } => format!("prometheus {url}"),
        MetricSourceSpec::Webhook { url } => format!("webhook {url}"),
    };
    let input = serde_json::json!({
        "name": label,
        "scoreThresholds": {"marginal": spec.marginal, "pass": spec.pass},
        "missingDataPolicy": "fail",
        "metrics": metrics,
    });
    if !errors.is_empty() {
        return Verdict {
            passed: false,
            score: 0.0,
            summary: format!("the metric source failed: {}", errors.join("; ")),
            record: serde_json::json!({"label": label, "source": source_name, "input": input, "error": errors.join("; ")}),
        };
    }
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
                record: serde_json::json!({"label": label, "source": source_name, "input": input, "result": result, "explanation": result.explanation}),
            }
        }
        Err(e) => Verdict {
            passed: false,
            score: 0.0,
            summary: format!("the judge refused the analysis: {e}"),
            record: serde_json::json!({"label": label, "source": source_name, "input": input, "error": e}),
        },
    }
}
