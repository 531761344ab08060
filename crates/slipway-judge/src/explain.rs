//! Plain-English explanations of judge and metric results, one line per point,
//! for people reading a canary report (e.g. "latency_p99: canary is higher than
//! baseline by 42.0 ms (98% CI 30.0..55.0 ms), mean ratio 1.31 exceeds allowed
//! increase 1.10 → High").

use crate::classifier::Classification;
use crate::judge::{JudgeResult, MissingDataPolicy};
use crate::metric::MetricResult;
use crate::params::EffectSizeMeasure;
use crate::proportion::ProportionComparison;
use crate::spread::SpreadComparison;

/// Formats a number for people: about three significant digits, `NaN` and `∞`
/// spelled out.
pub fn format_number(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 {
            "∞".to_owned()
        } else {
            "-∞".to_owned()
        };
    }
    let magnitude = value.abs();
    if magnitude == 0.0 {
        "0".to_owned()
    } else if magnitude >= 1e6 {
        format!("{value:.3e}")
    } else if magnitude >= 100.0 {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else if magnitude >= 1.0 {
        format!("{value:.2}")
    } else if magnitude >= 0.01 {
        format!("{value:.3}")
    } else {
        format!("{value:.3e}")
    }
}

/// Group scores to two decimals for display.
fn round_score(score: f64) -> f64 {
    crate::scoring::round_half_up(score, 2)
}

/// Formats a score, threshold or weight exactly (shortest form, no padding).
fn format_plain(value: f64) -> String {
    if value.is_finite() {
        format!("{value}")
    } else {
        format_number(value)
    }
}

fn format_percent(fraction: f64) -> String {
    let percent = fraction * 100.0;
    if percent.fract() == 0.0 {
        format!("{percent:.0}%")
    } else if percent > 99.0 && percent < 100.0 {
        // Confidence levels such as 0.99963 must not round to "100.0%": use
        // the fewest decimals that stay below 100.
        let text = (1..=12)
            .map(|decimals| format!("{percent:.decimals$}"))
            .find(|text| !text.starts_with("100"))
            .unwrap_or_else(|| format!("{percent}"));
        format!("{text}%")
    } else {
        format!("{}%", format_number(percent))
    }
}

fn measure_name(measure: EffectSizeMeasure) -> &'static str {
    match measure {
        EffectSizeMeasure::MeanRatio => "mean ratio",
        EffectSizeMeasure::Cles => "CLES",
    }
}

fn with_unit(value: f64, unit: &str) -> String {
    if unit.is_empty() {
        format_number(value)
    } else {
        format!("{} {unit}", format_number(value))
    }
}

fn outcome(metric: &MetricResult) -> String {
    if metric.critical {
        format!("{} (critical)", metric.classification)
    } else {
        metric.classification.to_string()
    }
}

/// Why the effect size did or did not allow a High/Low.
fn effect_clause(metric: &MetricResult) -> Option<String> {
    let effect = metric.effect_size?;
    let name = measure_name(effect.measure);
    if effect.value.is_nan() {
        return Some(format!(
            "{name} undefined (a mean is zero), so the effect-size check does not hold it back"
        ));
    }
    let value = format_number(effect.value);
    let estimate = metric.estimate.unwrap_or(0.0);
    Some(match metric.classification {
        Classification::High => {
            let verb = if effect.value > effect.allowed_increase {
                "exceeds"
            } else {
                "reaches"
            };
            format!(
                "{name} {value} {verb} allowed increase {}",
                format_number(effect.allowed_increase)
            )
        }
        Classification::Low => {
            let verb = if effect.value < effect.allowed_decrease {
                "is below"
            } else {
                "reaches"
            };
            format!(
                "{name} {value} {verb} allowed decrease {}",
                format_number(effect.allowed_decrease)
            )
        }
        _ if estimate > 0.0 && effect.value < effect.allowed_increase => format!(
            "{name} {value} is under allowed increase {}",
            format_number(effect.allowed_increase)
        ),
        _ if estimate < 0.0 && effect.value > effect.allowed_decrease => format!(
            "{name} {value} is over allowed decrease {}",
            format_number(effect.allowed_decrease)
        ),
        _ => format!("{name} {value}"),
    })
}

/// Why a tested metric passed, when the interval is the reason.
fn pass_clause(metric: &MetricResult, unit: &str) -> Option<String> {
    if metric.classification != Classification::Pass {
        return None;
    }
    let [lower, upper] = metric.interval?;
    let [lower_bound, upper_bound] = metric.bounds?;
    let direction = metric.params.direction;
    if lower > upper_bound && !direction.allows_increase() {
        return Some("increases are not checked (direction \"decrease\")".to_owned());
    }
    if upper < lower_bound && !direction.allows_decrease() {
        return Some("decreases are not checked (direction \"increase\")".to_owned());
    }
    if lower <= upper_bound && upper >= lower_bound {
        return Some(format!(
            "the interval does not clear the tolerance band ±{}",
            with_unit(upper_bound, unit)
        ));
    }
    None
}

fn spread_clause(spread: &SpreadComparison, unit: &str) -> String {
    format!(
        "spread ×{} (Brown-Forsythe p = {}), p{} baseline {} vs canary {}",
        format_number(spread.spread_ratio),
        format_number(spread.p_value),
        format_number(spread.tail_quantile * 100.0),
        with_unit(spread.baseline_tail, unit),
        with_unit(spread.canary_tail, unit)
    )
}

/// Clauses for a `ProportionClassifier` result: rates, difference, p-values.
fn proportion_clauses(metric: &MetricResult, proportion: &ProportionComparison) -> Vec<String> {
    let mut clauses = vec![format!(
        "canary rate {} ({} of {}) vs baseline {} ({} of {})",
        format_percent(proportion.canary_rate),
        proportion.canary.events,
        proportion.canary.trials,
        format_percent(proportion.baseline_rate),
        proportion.baseline.events,
        proportion.baseline.trials
    )];
    if let (Some(difference), Some([lower, upper])) = (metric.estimate, metric.interval) {
        clauses.push(format!(
            "difference {}{} points ({} CI {}..{} points)",
            if difference > 0.0 { "+" } else { "" },
            format_number(difference * 100.0),
            format_percent(metric.params.conf_level),
            format_number(lower * 100.0),
            format_number(upper * 100.0)
        ));
    }
    let test = proportion.method.describe();
    let alpha = format_number(proportion.alpha);
    let describe = |label: &str, p_value: f64| {
        let relation = if p_value < proportion.alpha {
            "below"
        } else {
            "not below"
        };
        format!(
            "one-sided {test} p = {} for {label}, {relation} α = {alpha}",
            format_number(p_value)
        )
    };
    let direction = metric.params.direction;
    match metric.classification {
        Classification::Low => clauses.push(describe("a decrease", proportion.p_value_decrease)),
        Classification::High => clauses.push(describe("an increase", proportion.p_value_increase)),
        _ => {
            if direction.allows_increase() {
                clauses.push(describe("an increase", proportion.p_value_increase));
            }
            if direction.allows_decrease() {
                clauses.push(describe("a decrease", proportion.p_value_decrease));
            }
        }
    }
    if let Some(effect) = effect_clause(metric) {
        clauses.push(effect);
    }
    clauses
}

/// One line explaining one metric's result. `unit` is appended to values of the
/// metric (e.g. `ms`).
pub fn explain_metric(metric: &MetricResult, unit: Option<&str>) -> String {
    let unit = unit.unwrap_or("");
    let name = &metric.name;
    let result = outcome(metric);
    match metric.classification {
        Classification::Nodata => return format!("{name}: {} → {result}", metric.reason),
        Classification::NodataFailMetric => {
            return format!(
                "{name}: {}; the metric must have data, so this counts as a failure → {result}",
                metric.reason
            );
        }
        Classification::Error => {
            return format!(
                "{name}: could not be classified ({}) → {result}",
                metric.reason
            );
        }
        _ => {}
    }
    if let Some(proportion) = &metric.proportion {
        let clauses = proportion_clauses(metric, proportion);
        return format!("{name}: {} → {result}", clauses.join(", "));
    }
    let (Some(estimate), Some([lower, upper])) = (metric.estimate, metric.interval) else {
        return format!("{name}: {} → {result}", metric.reason);
    };

    let mut clauses = Vec::new();
    let shift = if estimate > 0.0 {
        format!(
            "canary is higher than baseline by {}",
            with_unit(estimate, unit)
        )
    } else if estimate < 0.0 {
        format!(
            "canary is lower than baseline by {}",
            with_unit(-estimate, unit)
        )
    } else {
        "canary and baseline have the same centre".to_owned()
    };
    clauses.push(format!(
        "{shift} ({} CI {}..{})",
        format_percent(metric.params.conf_level),
        format_number(lower),
        with_unit(upper, unit)
    ));
    if let Some(effect) = effect_clause(metric) {
        clauses.push(effect);
    }
    if let Some(pass) = pass_clause(metric, unit) {
        clauses.push(pass);
    }
    if let Some(spread) = &metric.spread {
        if spread.flagged {
            clauses.push(format!(
                "centre check passed but {}",
                spread_clause(spread, unit)
            ));
        } else {
            clauses.push(spread_clause(spread, unit));
        }
    }
    format!("{name}: {} → {result}", clauses.join(", "))
}

/// The explanation of a whole judge result: verdict, reason, groups, metrics,
/// notes and the missing-data policy.
pub fn explain(result: &JudgeResult) -> Vec<String> {
    let thresholds = &result.score_thresholds;
    let mut lines = vec![
        format!(
            "Verdict: {} (score {}; pass at {} or more, marginal at {} or more).",
            result.verdict,
            format_plain(result.score),
            format_plain(thresholds.pass),
            format_plain(thresholds.marginal)
        ),
        format!("Why: {}.", result.reason),
    ];
    for group in &result.groups {
        let weight = group
            .weight
            .map_or_else(|| "none".to_owned(), format_number);
        if group.no_data {
            lines.push(format!(
                "Group {}: no measured metrics, so it counts as 100 (weight {weight}).",
                group.name
            ));
        } else {
            let unmeasured = group.counts.nodata + group.counts.error;
            let extra = if unmeasured > 0 {
                format!(", {unmeasured} without data or failed to classify")
            } else {
                String::new()
            };
            lines.push(format!(
                "Group {}: score {} ({} of {} measured metrics passed{extra}; weight {weight}).",
                group.name,
                format_plain(round_score(group.score)),
                group.counts.pass,
                group.measured
            ));
        }
    }
    for metric in &result.metrics {
        let line = explain_metric(&metric.result, metric.unit.as_deref());
        if metric.muted {
            lines.push(format!("(muted, not scored) {line}"));
        } else {
            lines.push(line);
        }
        for note in &metric.result.notes {
            lines.push(format!("{}: note: {note}", metric.result.name));
        }
    }
    if !result.unjudged_metrics.is_empty() {
        let listed = result.unjudged_metrics.join(", ");
        lines.push(match result.missing_data_policy {
            MissingDataPolicy::Kayenta => format!(
                "Not judged: {listed}; policy \"kayenta\" lets the score decide (set missingDataPolicy to \"hold\" or \"fail\" to stop this passing silently)."
            ),
            MissingDataPolicy::Hold => format!("Not judged: {listed}; policy \"hold\" keeps the canary from passing."),
            MissingDataPolicy::Fail => format!("Not judged: {listed}; policy \"fail\" fails the canary."),
        });
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_near_100_keep_their_digits() {
        assert_eq!(format_percent(0.98), "98%");
        assert_eq!(format_percent(0.995), "99.5%");
        assert_eq!(format_percent(1.0 - 2.0 * 0.01 / 54.0), "99.96%");
        assert_eq!(format_percent(0.999_999), "99.9999%");
        assert_eq!(format_percent(0.0312), "3.12%");
    }
}
