//! Slipway's opt-in `ProportionClassifier`: a test for proportions for sparse
//! event metrics such as per-request error indicators (cf. Kayenta issue #426,
//! where a Mann–Whitney test on mostly-zero data passes real regressions).
//!
//! Each sample is one trial: `1` (the event happened, e.g. the request failed)
//! or `0`. The classifier counts events in each series and runs a one-sided
//! test per direction that matters:
//!
//! * `fisher` (default): Fisher's exact test, the conditional hypergeometric
//!   tail `P(X ≥ x)` (increase) or `P(X ≤ x)` (decrease). Exact, valid with a
//!   handful of events, slightly conservative;
//! * `zTest`: the pooled two-proportion z (score) test, `1 − Φ(z)` or `Φ(z)`.
//!
//! A direction is significant when its one-sided p-value is below
//! `(1 − confLevel) / 2`, the same per-direction error rate as the Mann–Whitney
//! interval at that `confLevel`. High then also needs the effect size (mean
//! ratio = rate ratio, or CLES) to reach `allowedIncrease` (NaN — a zero rate —
//! never holds it back), exactly as in Kayenta's classifier; `tolerance` is not
//! used. The reported estimate is the rate difference `canary − baseline` with
//! Newcombe's hybrid score interval (Wilson intervals combined) at `confLevel`.
//!
//! Nothing here runs unless a metric sets `"classifier": "ProportionClassifier"`.

use serde::{Deserialize, Serialize};

use crate::classifier::{Classification, MetricClassification, MetricContext, missing_data};
use crate::effect_size::{cles, mean_ratio};
use crate::json_numbers::serialize_f64;
use crate::normal_distribution::{standard_normal_quantile, standard_normal_upper_tail};
use crate::params::EffectSizeMeasure;

/// Which test for proportions runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProportionMethod {
    /// Fisher's exact test (one-sided hypergeometric tails).
    #[default]
    #[serde(rename = "fisher")]
    Fisher,
    /// Pooled two-proportion z test.
    #[serde(rename = "zTest")]
    ZTest,
}

impl ProportionMethod {
    /// The name used in JSON (`fisher`, `zTest`).
    pub fn as_str(self) -> &'static str {
        match self {
            ProportionMethod::Fisher => "fisher",
            ProportionMethod::ZTest => "zTest",
        }
    }

    /// A readable name for explanations.
    pub fn describe(self) -> &'static str {
        match self {
            ProportionMethod::Fisher => "Fisher exact",
            ProportionMethod::ZTest => "two-proportion z",
        }
    }
}

/// Events out of trials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventCounts {
    /// Trials with the event (samples equal to 1).
    pub events: u64,
    /// All trials (samples).
    pub trials: u64,
}

impl EventCounts {
    /// `events / trials` (NaN without trials).
    pub fn rate(self) -> f64 {
        if self.trials == 0 {
            f64::NAN
        } else {
            self.events as f64 / self.trials as f64
        }
    }
}

/// Why a proportion comparison could not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProportionError {
    /// A sample is neither 0 nor 1.
    #[error(
        "ProportionClassifier needs one 0/1 sample per trial (1 = event), got {0} in the {1} series"
    )]
    NotAnIndicator(f64, &'static str),
}

/// Counts the events in a series of 0/1 indicators. `side` names the series in
/// the error.
pub fn count_events(values: &[f64], side: &'static str) -> Result<EventCounts, ProportionError> {
    let mut events = 0u64;
    for value in values {
        if *value == 1.0 {
            events += 1;
        } else if *value != 0.0 {
            return Err(ProportionError::NotAnIndicator(*value, side));
        }
    }
    Ok(EventCounts {
        events,
        trials: values.len() as u64,
    })
}

/// `ln n!`: an exact sum below 32, Stirling's series (four correction terms,
/// relative error far below 1e-16) above.
fn ln_factorial(n: u64) -> f64 {
    if n < 32 {
        return (2..=n).map(|k| (k as f64).ln()).sum();
    }
    let x = n as f64;
    let inverse = 1.0 / x;
    let inverse_squared = inverse * inverse;
    let correction = inverse
        * (1.0 / 12.0
            - inverse_squared
                * (1.0 / 360.0 - inverse_squared * (1.0 / 1260.0 - inverse_squared / 1680.0)));
    x * x.ln() - x + 0.5 * (2.0 * std::f64::consts::PI * x).ln() + correction
}

fn ln_choose(n: u64, k: u64) -> f64 {
    ln_factorial(n) - ln_factorial(k) - ln_factorial(n - k)
}

/// The hypergeometric distribution of the canary's events given both margins:
/// `population` trials in all, `successes` events in all, `draws` canary trials.
struct Hypergeometric {
    population: u64,
    successes: u64,
    draws: u64,
}

impl Hypergeometric {
    fn support(&self) -> (u64, u64) {
        let failures = self.population - self.successes;
        (
            self.draws.saturating_sub(failures),
            self.successes.min(self.draws),
        )
    }

    fn pmf(&self, k: u64) -> f64 {
        let failures = self.population - self.successes;
        (ln_choose(self.successes, k) + ln_choose(failures, self.draws - k)
            - ln_choose(self.population, self.draws))
        .exp()
    }

    /// `pmf(k + 1) / pmf(k)`.
    fn ratio_up(&self, k: u64) -> f64 {
        let failures = self.population - self.successes;
        ((self.successes - k) as f64 * (self.draws - k) as f64)
            / ((k + 1) as f64 * (failures + k + 1 - self.draws) as f64)
    }

    /// `P(X ≥ x)`.
    fn upper_tail(&self, x: u64) -> f64 {
        let (low, high) = self.support();
        if x <= low {
            return 1.0;
        }
        if x > high {
            return 0.0;
        }
        let mut term = self.pmf(x);
        let mut sum = term;
        for k in x..high {
            term *= self.ratio_up(k);
            sum += term;
        }
        sum.min(1.0)
    }

    /// `P(X ≤ x)`.
    fn lower_tail(&self, x: u64) -> f64 {
        let (low, high) = self.support();
        if x >= high {
            return 1.0;
        }
        if x < low {
            return 0.0;
        }
        let mut term = self.pmf(x);
        let mut sum = term;
        let mut k = x;
        while k > low {
            term /= self.ratio_up(k - 1);
            sum += term;
            k -= 1;
        }
        sum.min(1.0)
    }
}

/// One-sided p-values `(increase, decrease)` of Fisher's exact test: the
/// probability, given both margins, that the canary has at least (at most) as
/// many events as observed.
pub fn fisher_exact_p_values(canary: EventCounts, baseline: EventCounts) -> (f64, f64) {
    let distribution = Hypergeometric {
        population: canary.trials + baseline.trials,
        successes: canary.events + baseline.events,
        draws: canary.trials,
    };
    (
        distribution.upper_tail(canary.events),
        distribution.lower_tail(canary.events),
    )
}

/// The pooled two-proportion z statistic `(p̂c − p̂b) / √(p̄(1 − p̄)(1/nc + 1/nb))`;
/// 0 when the pooled rate is 0 or 1 (both series identical), NaN without trials.
pub fn two_proportion_z(canary: EventCounts, baseline: EventCounts) -> f64 {
    if canary.trials == 0 || baseline.trials == 0 {
        return f64::NAN;
    }
    let pooled =
        (canary.events + baseline.events) as f64 / (canary.trials + baseline.trials) as f64;
    let variance =
        pooled * (1.0 - pooled) * (1.0 / canary.trials as f64 + 1.0 / baseline.trials as f64);
    if variance <= 0.0 {
        return 0.0;
    }
    (canary.rate() - baseline.rate()) / variance.sqrt()
}

/// One-sided p-values `(increase, decrease)` of the pooled z test.
pub fn z_test_p_values(canary: EventCounts, baseline: EventCounts) -> (f64, f64) {
    let z = two_proportion_z(canary, baseline);
    (
        standard_normal_upper_tail(z),
        standard_normal_upper_tail(-z),
    )
}

/// Two-sided critical value `Φ⁻¹(1 − (1 − confLevel)/2)` (NaN outside `[0, 1]`).
fn two_sided_z(conf_level: f64) -> f64 {
    standard_normal_quantile(1.0 - (1.0 - conf_level) / 2.0).unwrap_or(f64::NAN)
}

/// Wilson score interval of `events / trials` at `conf_level` (two-sided).
/// `(0, 1)` without trials.
pub fn wilson_interval(events: u64, trials: u64, conf_level: f64) -> (f64, f64) {
    if trials == 0 {
        return (0.0, 1.0);
    }
    let z = two_sided_z(conf_level);
    let n = trials as f64;
    let x = events as f64;
    let z_squared = z * z;
    let centre = (x + z_squared / 2.0) / (n + z_squared);
    let half = z * (x * (n - x) / n + z_squared / 4.0).sqrt() / (n + z_squared);
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Newcombe's hybrid score interval (his method 10) for the difference of
/// rates `canary − baseline` at `conf_level` (two-sided).
pub fn newcombe_interval(
    canary: EventCounts,
    baseline: EventCounts,
    conf_level: f64,
) -> (f64, f64) {
    let (canary_low, canary_high) = wilson_interval(canary.events, canary.trials, conf_level);
    let (baseline_low, baseline_high) =
        wilson_interval(baseline.events, baseline.trials, conf_level);
    let canary_rate = canary.rate();
    let baseline_rate = baseline.rate();
    let difference = canary_rate - baseline_rate;
    let lower = difference
        - ((canary_rate - canary_low).powi(2) + (baseline_high - baseline_rate).powi(2)).sqrt();
    let upper = difference
        + ((canary_high - canary_rate).powi(2) + (baseline_rate - baseline_low).powi(2)).sqrt();
    (lower, upper)
}

/// What a proportion comparison found, reported as `proportion` in results.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProportionComparison {
    /// Test used.
    pub method: ProportionMethod,
    /// Baseline events and trials.
    pub baseline: EventCounts,
    /// Canary events and trials.
    pub canary: EventCounts,
    /// Baseline event rate.
    #[serde(serialize_with = "serialize_f64")]
    pub baseline_rate: f64,
    /// Canary event rate.
    #[serde(serialize_with = "serialize_f64")]
    pub canary_rate: f64,
    /// One-sided p-value of "the canary's rate is higher".
    #[serde(serialize_with = "serialize_f64")]
    pub p_value_increase: f64,
    /// One-sided p-value of "the canary's rate is lower".
    #[serde(serialize_with = "serialize_f64")]
    pub p_value_decrease: f64,
    /// Significance level of each one-sided test, `(1 − confLevel) / 2`.
    #[serde(serialize_with = "serialize_f64")]
    pub alpha: f64,
}

/// The outcome of [`ProportionClassifier::classify`].
#[derive(Debug, Clone, PartialEq)]
pub struct ProportionOutcome {
    /// Classification, critical flag, deviation and reason; `comparison` is
    /// always `None` (that field holds Mann–Whitney details).
    pub classification: MetricClassification,
    /// Rate difference `canary − baseline` and its Newcombe interval, when a
    /// test ran.
    pub difference: Option<(f64, [f64; 2])>,
    /// Effect size compared with the thresholds, when a test ran.
    pub effect_size: Option<f64>,
    /// Test details, when a test ran.
    pub comparison: Option<ProportionComparison>,
}

/// The opt-in classifier for 0/1 event samples (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProportionClassifier {
    /// Which test.
    pub method: ProportionMethod,
    /// Each one-sided test runs at `(1 − conf_level) / 2`.
    pub conf_level: f64,
    /// `(allowedDecrease, allowedIncrease)`.
    pub effect_size_thresholds: (f64, f64),
    /// `(criticalDecrease, criticalIncrease)`.
    pub critical_thresholds: (f64, f64),
    /// Effect-size measure (mean ratio = rate ratio, or CLES).
    pub measure: EffectSizeMeasure,
}

impl ProportionClassifier {
    /// Classifies `experiment` (canary) against `control` (baseline), both
    /// already cleaned (NaN handling, outliers). Empty input is missing data as
    /// in Kayenta's classifiers; a sample other than 0 or 1 is an `Err`.
    pub fn classify(
        &self,
        control: &[f64],
        experiment: &[f64],
        context: &MetricContext<'_>,
    ) -> Result<ProportionOutcome, ProportionError> {
        if experiment.is_empty() || control.is_empty() {
            return Ok(ProportionOutcome {
                classification: missing_data(context, 1.0),
                difference: None,
                effect_size: None,
                comparison: None,
            });
        }
        let baseline = count_events(control, "baseline")?;
        let canary = count_events(experiment, "canary")?;
        let (p_value_increase, p_value_decrease) = match self.method {
            ProportionMethod::Fisher => fisher_exact_p_values(canary, baseline),
            ProportionMethod::ZTest => z_test_p_values(canary, baseline),
        };
        let alpha = (1.0 - self.conf_level) / 2.0;
        let deviation = mean_ratio(control, experiment);
        let effect_size = match self.measure {
            EffectSizeMeasure::Cles => cles(control, experiment),
            EffectSizeMeasure::MeanRatio => deviation,
        };

        let (allowed_decrease, allowed_increase) = self.effect_size_thresholds;
        let (critical_decrease, critical_increase) = self.critical_thresholds;
        let classification = if context.direction.allows_increase()
            && p_value_increase < alpha
            && (effect_size.is_nan() || effect_size >= allowed_increase)
        {
            Classification::High
        } else if context.direction.allows_decrease()
            && p_value_decrease < alpha
            && (effect_size.is_nan() || effect_size <= allowed_decrease)
        {
            Classification::Low
        } else {
            Classification::Pass
        };
        let critical = context.critical
            && match classification {
                Classification::High => effect_size.is_nan() || effect_size >= critical_increase,
                Classification::Low => effect_size.is_nan() || effect_size <= critical_decrease,
                _ => false,
            };
        let (lower, upper) = newcombe_interval(canary, baseline, self.conf_level);
        let reason = Some(format!(
            "{} was classified as {classification}",
            context.name
        ));
        Ok(ProportionOutcome {
            classification: MetricClassification {
                classification,
                critical,
                deviation,
                reason,
                comparison: None,
            },
            difference: Some((canary.rate() - baseline.rate(), [lower, upper])),
            effect_size: Some(effect_size),
            comparison: Some(ProportionComparison {
                method: self.method,
                baseline,
                canary,
                baseline_rate: baseline.rate(),
                canary_rate: canary.rate(),
                p_value_increase,
                p_value_decrease,
                alpha,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{Direction, NanStrategy};

    fn counts(events: u64, trials: u64) -> EventCounts {
        EventCounts { events, trials }
    }

    fn close(actual: f64, expected: f64, relative: f64) -> bool {
        ((actual - expected) / expected).abs() < relative
    }

    /// Indicator samples: `events` ones then zeros up to `trials`.
    fn indicators(events: usize, trials: usize) -> Vec<f64> {
        (0..trials)
            .map(|index| if index < events { 1.0 } else { 0.0 })
            .collect()
    }

    fn classifier(method: ProportionMethod) -> ProportionClassifier {
        ProportionClassifier {
            method,
            conf_level: 0.98,
            effect_size_thresholds: (1.0, 1.0),
            critical_thresholds: (1.0, 1.0),
            measure: EffectSizeMeasure::MeanRatio,
        }
    }

    fn context(direction: Direction) -> MetricContext<'static> {
        MetricContext {
            name: "errors",
            direction,
            nan_strategy: NanStrategy::Remove,
            critical: true,
            must_have_data: false,
        }
    }

    #[test]
    fn ln_factorial_is_exact_enough_on_both_branches() {
        // 31! and 32! straddle the switch; 170! is the largest finite factorial.
        let exact_31: f64 = (2..=31u32).map(f64::from).product();
        assert!(close(ln_factorial(31), exact_31.ln(), 1e-15));
        assert!(close(ln_factorial(32), (exact_31 * 32.0).ln(), 1e-15));
        let exact_170: f64 = (2..=170u32).map(f64::from).product();
        assert!(close(ln_factorial(170), exact_170.ln(), 1e-14));
        assert_eq!(ln_factorial(0), 0.0);
        assert_eq!(ln_factorial(1), 0.0);
    }

    #[test]
    fn fisher_lady_tasting_tea() {
        // Fisher's tea-tasting table [[3, 1], [1, 3]]: one-sided p = 17/70
        // (R: fisher.test(matrix(c(3,1,1,3),2), alternative = "greater")).
        let (increase, decrease) = fisher_exact_p_values(counts(3, 4), counts(1, 4));
        assert!(close(increase, 17.0 / 70.0, 1e-12), "{increase}");
        assert!(close(decrease, 69.0 / 70.0, 1e-12), "{decrease}");
    }

    #[test]
    fn fisher_matches_r() {
        // R: fisher.test(matrix(c(10,2,3,15),2), alternative = "greater")$p.value,
        // i.e. canary 10 of 13 versus baseline 2 of 17.
        let (increase, _) = fisher_exact_p_values(counts(10, 13), counts(2, 17));
        assert!(
            close(increase, 0.000_465_180_943_362_906, 1e-10),
            "{increase}"
        );
        // R: fisher.test(matrix(c(18,162,2,178),2), alternative = "greater"): the
        // sparse-error example of FORMATS.md.
        let (increase, _) = fisher_exact_p_values(counts(18, 180), counts(2, 180));
        assert!(close(increase, 0.000_140_823_3, 1e-6), "{increase}");
        // Tails of a symmetric table add up to 1 + P(X = x).
        let (up, down) = fisher_exact_p_values(counts(5, 100), counts(5, 100));
        assert!(up > 0.5 && down > 0.5 && (up - down).abs() < 1e-12);
    }

    #[test]
    fn fisher_extremes() {
        // No events anywhere: nothing to see.
        assert_eq!(
            fisher_exact_p_values(counts(0, 50), counts(0, 900)),
            (1.0, 1.0)
        );
        // Every event in the canary: P = C(nc, k) / C(N, k).
        let (increase, decrease) = fisher_exact_p_values(counts(3, 10), counts(0, 10));
        let expected = (10.0 * 9.0 * 8.0) / (20.0 * 19.0 * 18.0);
        assert!(close(increase, expected, 1e-12), "{increase}");
        assert_eq!(decrease, 1.0);
    }

    #[test]
    fn z_test_matches_r_prop_test() {
        // R: prop.test(c(25, 10), c(100, 100), alternative = "greater", correct = FALSE)
        // gives X-squared 7.792207792208 (= z²) and p = 0.00262360186956.
        let z = two_proportion_z(counts(25, 100), counts(10, 100));
        assert!(close(z * z, 7.792_207_792_208, 1e-12), "{z}");
        let (increase, decrease) = z_test_p_values(counts(25, 100), counts(10, 100));
        assert!(close(increase, 0.002_623_601_869_56, 1e-9), "{increase}");
        assert!(close(decrease, 1.0 - 0.002_623_601_869_56, 1e-12));
        assert_eq!(two_proportion_z(counts(0, 10), counts(0, 10)), 0.0);
    }

    #[test]
    fn wilson_and_newcombe_textbook_values() {
        // Newcombe (1998), Statistics in Medicine 17:873, example (a):
        // 56/70 − 48/80 = 0.2000, hybrid score 95% interval 0.0524 to 0.3339.
        let (lower, upper) = newcombe_interval(counts(56, 70), counts(48, 80), 0.95);
        assert!((lower - 0.0524).abs() < 5e-5, "{lower}");
        assert!((upper - 0.3339).abs() < 5e-5, "{upper}");
        // Wilson interval of 0/10 at 95%: (0, 0.2775) (Newcombe 1998, table I).
        let (lower, upper) = wilson_interval(0, 10, 0.95);
        assert_eq!(lower, 0.0);
        assert!((upper - 0.2775).abs() < 5e-5, "{upper}");
    }

    #[test]
    fn sparse_error_regression_is_high_where_the_rates_differ() {
        // 18 failures in 180 canary requests versus 19 in 1900 baseline requests.
        let baseline = indicators(19, 1900);
        let canary = indicators(18, 180);
        for method in [ProportionMethod::Fisher, ProportionMethod::ZTest] {
            let outcome = classifier(method)
                .classify(&baseline, &canary, &context(Direction::Increase))
                .expect("indicators");
            assert_eq!(outcome.classification.classification, Classification::High);
            assert!(outcome.classification.critical);
            let comparison = outcome.comparison.expect("a test ran");
            assert!(comparison.p_value_increase < 1e-6, "{comparison:?}");
            assert!((outcome.classification.deviation - 10.0).abs() < 1e-9);
            let (difference, [lower, upper]) = outcome.difference.expect("a test ran");
            assert!((difference - 0.09).abs() < 1e-12);
            assert!(0.0 < lower && lower < difference && difference < upper);
        }
        // The same data the other way round is Low, and passes for "increase".
        let outcome = classifier(ProportionMethod::Fisher)
            .classify(&canary, &baseline, &context(Direction::Either))
            .expect("indicators");
        assert_eq!(outcome.classification.classification, Classification::Low);
        let outcome = classifier(ProportionMethod::Fisher)
            .classify(&canary, &baseline, &context(Direction::Increase))
            .expect("indicators");
        assert_eq!(outcome.classification.classification, Classification::Pass);
    }

    #[test]
    fn effect_size_threshold_holds_back_small_significant_increases() {
        let baseline = indicators(1000, 100_000);
        let canary = indicators(1200, 100_000);
        let mut strict = classifier(ProportionMethod::Fisher);
        let outcome = strict
            .classify(&baseline, &canary, &context(Direction::Increase))
            .expect("indicators");
        assert_eq!(outcome.classification.classification, Classification::High);
        strict.effect_size_thresholds = (1.0, 1.5);
        let outcome = strict
            .classify(&baseline, &canary, &context(Direction::Increase))
            .expect("indicators");
        assert_eq!(outcome.classification.classification, Classification::Pass);
    }

    #[test]
    fn no_baseline_events_does_not_hide_an_increase() {
        // A zero baseline rate makes the ratio undefined (NaN), which never
        // holds back High, as in Kayenta.
        let outcome = classifier(ProportionMethod::Fisher)
            .classify(
                &indicators(0, 200),
                &indicators(12, 200),
                &context(Direction::Increase),
            )
            .expect("indicators");
        assert_eq!(outcome.classification.classification, Classification::High);
        assert!(outcome.effect_size.is_some_and(f64::is_nan));
    }

    #[test]
    fn non_indicators_and_missing_data() {
        let error = classifier(ProportionMethod::Fisher)
            .classify(&[0.0, 1.0], &[0.5], &context(Direction::Either))
            .expect_err("0.5 is not an indicator");
        assert_eq!(error, ProportionError::NotAnIndicator(0.5, "canary"));
        let outcome = classifier(ProportionMethod::Fisher)
            .classify(&[], &[1.0], &context(Direction::Either))
            .expect("missing data is a classification");
        assert_eq!(
            outcome.classification.classification,
            Classification::Nodata
        );
        assert!(outcome.comparison.is_none());
    }
}
