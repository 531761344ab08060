//! Per-metric classifier parameters: the JSON shape callers write
//! ([`ClassifierParams`], every key optional) and the resolved values the judge
//! runs with ([`ResolvedParams`]).
//!
//! Key names and defaults follow Kayenta's `analysisConfigurations.canary`:
//! missing keys take the judge defaults (tolerance 0.25, confidence 0.98,
//! effect-size thresholds 1.0 for `meanRatio` and 0.5 for `cles`, direction
//! `either`, NaN strategy `remove`, outliers kept). Unknown strings for
//! `direction`, `nanStrategy`, `outliers.strategy` and `effectSize.measure` fall
//! back to the default as in Kayenta, with a note saying so. Values that make no
//! sense (NaN tolerance, confidence 5, an unknown classifier) are reported as
//! problems; the metric is then classified `Error` with that reason.
//!
//! Slipway extras, all off by default: `minSampleCount`, `spreadCheck`, and the
//! `ProportionClassifier` with its `proportion` settings.

use serde::{Deserialize, Serialize};

use crate::json_numbers::{deserialize_option_f64, serialize_f64, serialize_option_f64};
use crate::proportion::ProportionMethod;

/// Kayenta's hard-coded judge tolerance (fraction of the estimate).
pub const DEFAULT_TOLERANCE: f64 = 0.25;
/// Kayenta's hard-coded judge confidence level.
pub const DEFAULT_CONF_LEVEL: f64 = 0.98;
/// Default IQR factor for outlier removal.
pub const DEFAULT_OUTLIER_FACTOR: f64 = 3.0;
/// Default significance level of the spread check.
pub const DEFAULT_SPREAD_ALPHA: f64 = 0.01;
/// Default minimum canary/baseline spread ratio for the spread check to flag.
pub const DEFAULT_MAX_SPREAD_INCREASE: f64 = 1.5;
/// Default upper quantile reported by the spread check.
pub const DEFAULT_TAIL_QUANTILE: f64 = 0.99;

/// Effect-size settings as written in JSON (`effectSize`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EffectSizeParams {
    /// `meanRatio` (default) or `cles`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measure: Option<String>,
    /// Largest effect still counted as a decrease (Low needs `effect ≤` this).
    #[serde(
        default,
        deserialize_with = "deserialize_option_f64",
        serialize_with = "serialize_option_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub allowed_decrease: Option<f64>,
    /// Smallest effect counted as an increase (High needs `effect ≥` this).
    #[serde(
        default,
        deserialize_with = "deserialize_option_f64",
        serialize_with = "serialize_option_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub allowed_increase: Option<f64>,
    /// A critical metric's Low is critical only if `effect ≤` this.
    #[serde(
        default,
        deserialize_with = "deserialize_option_f64",
        serialize_with = "serialize_option_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub critical_decrease: Option<f64>,
    /// A critical metric's High is critical only if `effect ≥` this.
    #[serde(
        default,
        deserialize_with = "deserialize_option_f64",
        serialize_with = "serialize_option_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub critical_increase: Option<f64>,
}

/// Outlier settings as written in JSON (`outliers`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutlierParams {
    /// `keep` (default) or `remove`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// IQR fence factor (default 3.0).
    #[serde(
        default,
        deserialize_with = "deserialize_option_f64",
        serialize_with = "serialize_option_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub outlier_factor: Option<f64>,
}

/// Spread/tail check settings as written in JSON (`spreadCheck`, Slipway extra).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpreadCheckParams {
    /// Turn the check on (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Significance level of the Brown–Forsythe test (default 0.01).
    #[serde(
        default,
        deserialize_with = "deserialize_option_f64",
        serialize_with = "serialize_option_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub alpha: Option<f64>,
    /// Canary/baseline spread ratio at or above which a significant difference
    /// flags the metric (default 1.5).
    #[serde(
        default,
        deserialize_with = "deserialize_option_f64",
        serialize_with = "serialize_option_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_spread_increase: Option<f64>,
    /// Upper quantile reported for the tail comparison, in `(0, 1]` (default 0.99).
    #[serde(
        default,
        deserialize_with = "deserialize_option_f64",
        serialize_with = "serialize_option_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub tail_quantile: Option<f64>,
}

/// Proportion-test settings as written in JSON (`proportion`, Slipway extra;
/// only read when `classifier` is `ProportionClassifier`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProportionParams {
    /// `fisher` (default, Fisher's exact test) or `zTest` (pooled z test).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<String>,
}

/// Classifier parameters as written in JSON. Every key is optional; `null`
/// counts as missing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassifierParams {
    /// `MannWhitneyClassifier` (default) or `MeanInequalityClassifier`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classifier: Option<String>,
    /// Fraction of `|estimate|` the confidence interval must clear (default 0.25).
    #[serde(
        default,
        deserialize_with = "deserialize_option_f64",
        serialize_with = "serialize_option_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub tolerance: Option<f64>,
    /// Confidence level of the Mann–Whitney interval (default 0.98).
    #[serde(
        default,
        deserialize_with = "deserialize_option_f64",
        serialize_with = "serialize_option_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub conf_level: Option<f64>,
    /// Effect-size measure and thresholds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect_size: Option<EffectSizeParams>,
    /// `increase`, `decrease` or `either` (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    /// `remove` (default) or `replace` (NaN → 0.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nan_strategy: Option<String>,
    /// A non-Pass result of this metric fails the whole canary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical: Option<bool>,
    /// Missing data counts as a failed metric (`NodataFailMetric`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub must_have_data: Option<bool>,
    /// Outlier removal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outliers: Option<OutlierParams>,
    /// Slipway extra: fewer samples than this (after NaN and outlier handling) in
    /// either series gives `Nodata` (never `Pass`). Default 0 (off).
    #[serde(
        default,
        deserialize_with = "deserialize_option_f64",
        serialize_with = "serialize_option_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub min_sample_count: Option<f64>,
    /// Slipway extra: flag a canary whose spread or tail blew up while its centre
    /// did not move. Off by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spread_check: Option<SpreadCheckParams>,
    /// Slipway extra: settings of the `ProportionClassifier` (ignored by the
    /// other classifiers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proportion: Option<ProportionParams>,
}

/// Which metric classifier runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClassifierKind {
    /// Kayenta's `MannWhitneyClassifier` (the judge's classifier).
    #[serde(rename = "MannWhitneyClassifier")]
    MannWhitney,
    /// Kayenta's benchmark `MeanInequalityClassifier`.
    #[serde(rename = "MeanInequalityClassifier")]
    MeanInequality,
    /// Slipway's opt-in test for proportions on 0/1 event samples
    /// (see [`crate::proportion`]).
    #[serde(rename = "ProportionClassifier")]
    Proportion,
}

/// Which change direction counts as a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Only increases fail (High).
    Increase,
    /// Only decreases fail (Low).
    Decrease,
    /// Both fail.
    Either,
}

impl Direction {
    /// Whether a High result is possible.
    pub fn allows_increase(self) -> bool {
        matches!(self, Direction::Increase | Direction::Either)
    }

    /// Whether a Low result is possible.
    pub fn allows_decrease(self) -> bool {
        matches!(self, Direction::Decrease | Direction::Either)
    }
}

/// What to do with NaN samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NanStrategy {
    /// Drop them (an empty series is then missing data).
    Remove,
    /// Replace them with 0.0 (an empty series then passes, as in Kayenta).
    Replace,
}

/// Effect-size measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EffectSizeMeasure {
    /// `mean(canary) / mean(baseline)`.
    #[serde(rename = "meanRatio")]
    MeanRatio,
    /// Common-language effect size, `P(canary > baseline)`.
    #[serde(rename = "cles")]
    Cles,
}

/// Outlier handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutlierStrategy {
    /// Keep every value.
    Keep,
    /// Drop values outside the reduced-sensitivity IQR fences.
    Remove,
}

/// Effect-size settings after defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedEffectSize {
    /// Measure used.
    pub measure: EffectSizeMeasure,
    /// See [`EffectSizeParams::allowed_decrease`].
    #[serde(serialize_with = "serialize_f64")]
    pub allowed_decrease: f64,
    /// See [`EffectSizeParams::allowed_increase`].
    #[serde(serialize_with = "serialize_f64")]
    pub allowed_increase: f64,
    /// See [`EffectSizeParams::critical_decrease`].
    #[serde(serialize_with = "serialize_f64")]
    pub critical_decrease: f64,
    /// See [`EffectSizeParams::critical_increase`].
    #[serde(serialize_with = "serialize_f64")]
    pub critical_increase: f64,
}

/// Outlier settings after defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedOutliers {
    /// Keep or remove.
    pub strategy: OutlierStrategy,
    /// IQR fence factor.
    #[serde(serialize_with = "serialize_f64")]
    pub outlier_factor: f64,
}

/// Spread check settings after defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedSpreadCheck {
    /// Whether the check runs.
    pub enabled: bool,
    /// Significance level.
    #[serde(serialize_with = "serialize_f64")]
    pub alpha: f64,
    /// Spread ratio threshold.
    #[serde(serialize_with = "serialize_f64")]
    pub max_spread_increase: f64,
    /// Reported upper quantile.
    #[serde(serialize_with = "serialize_f64")]
    pub tail_quantile: f64,
}

/// Parameters after defaults: what the judge actually ran with.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedParams {
    /// Classifier.
    pub classifier: ClassifierKind,
    /// Tolerance fraction.
    #[serde(serialize_with = "serialize_f64")]
    pub tolerance: f64,
    /// Confidence level.
    #[serde(serialize_with = "serialize_f64")]
    pub conf_level: f64,
    /// Effect size.
    pub effect_size: ResolvedEffectSize,
    /// Direction.
    pub direction: Direction,
    /// NaN strategy.
    pub nan_strategy: NanStrategy,
    /// Critical metric.
    pub critical: bool,
    /// Data required.
    pub must_have_data: bool,
    /// Outliers.
    pub outliers: ResolvedOutliers,
    /// Minimum samples per series (0 = off).
    pub min_sample_count: u64,
    /// Spread check.
    pub spread_check: ResolvedSpreadCheck,
    /// Proportion test settings; present only for the `ProportionClassifier`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proportion: Option<ResolvedProportion>,
}

/// Proportion test settings after defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedProportion {
    /// Which test runs.
    pub test: ProportionMethod,
}

/// The outcome of [`ClassifierParams::resolve`].
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution {
    /// Parameters to run with (defaults wherever a value was unusable).
    pub params: ResolvedParams,
    /// Fallbacks taken (e.g. an unknown direction string), for explanations.
    pub notes: Vec<String>,
    /// Unusable values; when non-empty the metric is classified `Error`.
    pub problems: Vec<String>,
}

fn merge_option<T: Clone>(own: &Option<T>, fallback: &Option<T>) -> Option<T> {
    own.clone().or_else(|| fallback.clone())
}

impl ClassifierParams {
    /// Fills every key missing here from `defaults` (nested objects key by key).
    pub fn overlay_on(&self, defaults: &ClassifierParams) -> ClassifierParams {
        let effect_size = match (&self.effect_size, &defaults.effect_size) {
            (Some(own), Some(base)) => Some(EffectSizeParams {
                measure: merge_option(&own.measure, &base.measure),
                allowed_decrease: own.allowed_decrease.or(base.allowed_decrease),
                allowed_increase: own.allowed_increase.or(base.allowed_increase),
                critical_decrease: own.critical_decrease.or(base.critical_decrease),
                critical_increase: own.critical_increase.or(base.critical_increase),
            }),
            (own, base) => merge_option(own, base),
        };
        let outliers = match (&self.outliers, &defaults.outliers) {
            (Some(own), Some(base)) => Some(OutlierParams {
                strategy: merge_option(&own.strategy, &base.strategy),
                outlier_factor: own.outlier_factor.or(base.outlier_factor),
            }),
            (own, base) => merge_option(own, base),
        };
        let spread_check = match (&self.spread_check, &defaults.spread_check) {
            (Some(own), Some(base)) => Some(SpreadCheckParams {
                enabled: own.enabled.or(base.enabled),
                alpha: own.alpha.or(base.alpha),
                max_spread_increase: own.max_spread_increase.or(base.max_spread_increase),
                tail_quantile: own.tail_quantile.or(base.tail_quantile),
            }),
            (own, base) => merge_option(own, base),
        };
        let proportion = match (&self.proportion, &defaults.proportion) {
            (Some(own), Some(base)) => Some(ProportionParams {
                test: merge_option(&own.test, &base.test),
            }),
            (own, base) => merge_option(own, base),
        };
        ClassifierParams {
            classifier: merge_option(&self.classifier, &defaults.classifier),
            tolerance: self.tolerance.or(defaults.tolerance),
            conf_level: self.conf_level.or(defaults.conf_level),
            effect_size,
            direction: merge_option(&self.direction, &defaults.direction),
            nan_strategy: merge_option(&self.nan_strategy, &defaults.nan_strategy),
            critical: self.critical.or(defaults.critical),
            must_have_data: self.must_have_data.or(defaults.must_have_data),
            outliers,
            min_sample_count: self.min_sample_count.or(defaults.min_sample_count),
            spread_check,
            proportion,
        }
    }

    /// Applies the judge defaults and checks every value.
    pub fn resolve(&self) -> Resolution {
        let mut notes = Vec::new();
        let mut problems = Vec::new();

        let classifier = match self.classifier.as_deref() {
            None | Some("MannWhitneyClassifier") => ClassifierKind::MannWhitney,
            Some("MeanInequalityClassifier") => ClassifierKind::MeanInequality,
            Some("ProportionClassifier") => ClassifierKind::Proportion,
            Some(other) => {
                problems.push(format!(
                    "unknown classifier \"{other}\" (expected MannWhitneyClassifier, MeanInequalityClassifier or ProportionClassifier)"
                ));
                ClassifierKind::MannWhitney
            }
        };

        let tolerance = self.tolerance.unwrap_or(DEFAULT_TOLERANCE);
        if !(tolerance.is_finite() && tolerance >= 0.0) {
            problems.push(format!(
                "tolerance must be a finite number ≥ 0, got {tolerance}"
            ));
        }
        let conf_level = self.conf_level.unwrap_or(DEFAULT_CONF_LEVEL);
        if !(0.0..=1.0).contains(&conf_level) {
            problems.push(format!(
                "confLevel must be between 0 and 1, got {conf_level}"
            ));
        }

        let direction = match self.direction.as_deref() {
            None | Some("either") => Direction::Either,
            Some("increase") => Direction::Increase,
            Some("decrease") => Direction::Decrease,
            Some(other) => {
                notes.push(format!("unknown direction \"{other}\", using \"either\""));
                Direction::Either
            }
        };
        let nan_strategy = match self.nan_strategy.as_deref() {
            None | Some("remove") => NanStrategy::Remove,
            Some("replace") => NanStrategy::Replace,
            Some(other) => {
                notes.push(format!("unknown nanStrategy \"{other}\", using \"remove\""));
                NanStrategy::Remove
            }
        };

        let effect_size = resolve_effect_size(self.effect_size.as_ref(), &mut notes, &mut problems);
        let outliers = resolve_outliers(self.outliers.as_ref(), &mut notes, &mut problems);

        let min_sample_count = match self.min_sample_count {
            None => 0,
            Some(count) if count.is_finite() && count >= 0.0 && count.fract() == 0.0 => {
                // Saturating float-to-int conversion; counts beyond u64 are absurd anyway.
                count as u64
            }
            Some(count) => {
                problems.push(format!(
                    "minSampleCount must be a whole number ≥ 0, got {count}"
                ));
                0
            }
        };
        let spread_check = resolve_spread_check(self.spread_check.as_ref(), &mut problems);
        let proportion = (classifier == ClassifierKind::Proportion)
            .then(|| resolve_proportion(self.proportion.as_ref(), &mut problems));

        Resolution {
            params: ResolvedParams {
                classifier,
                tolerance,
                conf_level,
                effect_size,
                direction,
                nan_strategy,
                critical: self.critical.unwrap_or(false),
                must_have_data: self.must_have_data.unwrap_or(false),
                outliers,
                min_sample_count,
                spread_check,
                proportion,
            },
            notes,
            problems,
        }
    }
}

fn resolve_effect_size(
    params: Option<&EffectSizeParams>,
    notes: &mut Vec<String>,
    problems: &mut Vec<String>,
) -> ResolvedEffectSize {
    let empty = EffectSizeParams::default();
    let params = params.unwrap_or(&empty);
    let (measure, default_threshold) = match params.measure.as_deref() {
        None | Some("meanRatio") => (EffectSizeMeasure::MeanRatio, 1.0),
        Some("cles") => (EffectSizeMeasure::Cles, 0.5),
        Some(other) => {
            notes.push(format!(
                "unknown effect size measure \"{other}\", using meanRatio with thresholds 1.0"
            ));
            (EffectSizeMeasure::MeanRatio, 1.0)
        }
    };
    let mut threshold = |name: &str, value: Option<f64>| -> f64 {
        let value = value.unwrap_or(default_threshold);
        if !value.is_finite() {
            problems.push(format!(
                "effectSize.{name} must be a finite number, got {value}"
            ));
        }
        value
    };
    ResolvedEffectSize {
        measure,
        allowed_decrease: threshold("allowedDecrease", params.allowed_decrease),
        allowed_increase: threshold("allowedIncrease", params.allowed_increase),
        critical_decrease: threshold("criticalDecrease", params.critical_decrease),
        critical_increase: threshold("criticalIncrease", params.critical_increase),
    }
}

fn resolve_outliers(
    params: Option<&OutlierParams>,
    notes: &mut Vec<String>,
    problems: &mut Vec<String>,
) -> ResolvedOutliers {
    let empty = OutlierParams::default();
    let params = params.unwrap_or(&empty);
    let strategy = match params.strategy.as_deref() {
        None | Some("keep") => OutlierStrategy::Keep,
        Some("remove") => OutlierStrategy::Remove,
        Some(other) => {
            notes.push(format!(
                "unknown outliers.strategy \"{other}\", using \"keep\""
            ));
            OutlierStrategy::Keep
        }
    };
    let outlier_factor = params.outlier_factor.unwrap_or(DEFAULT_OUTLIER_FACTOR);
    if !(outlier_factor.is_finite() && outlier_factor >= 0.0) {
        problems.push(format!(
            "outliers.outlierFactor must be a finite number ≥ 0, got {outlier_factor}"
        ));
    }
    ResolvedOutliers {
        strategy,
        outlier_factor,
    }
}

fn resolve_proportion(
    params: Option<&ProportionParams>,
    problems: &mut Vec<String>,
) -> ResolvedProportion {
    let test = match params.and_then(|params| params.test.as_deref()) {
        None | Some("fisher") => ProportionMethod::Fisher,
        Some("zTest") => ProportionMethod::ZTest,
        Some(other) => {
            problems.push(format!(
                "unknown proportion.test \"{other}\" (expected fisher or zTest)"
            ));
            ProportionMethod::Fisher
        }
    };
    ResolvedProportion { test }
}

fn resolve_spread_check(
    params: Option<&SpreadCheckParams>,
    problems: &mut Vec<String>,
) -> ResolvedSpreadCheck {
    let empty = SpreadCheckParams::default();
    let params = params.unwrap_or(&empty);
    let alpha = params.alpha.unwrap_or(DEFAULT_SPREAD_ALPHA);
    if !(alpha > 0.0 && alpha < 1.0) {
        problems.push(format!(
            "spreadCheck.alpha must be between 0 and 1, got {alpha}"
        ));
    }
    let max_spread_increase = params
        .max_spread_increase
        .unwrap_or(DEFAULT_MAX_SPREAD_INCREASE);
    if !(max_spread_increase.is_finite() && max_spread_increase >= 0.0) {
        problems.push(format!(
            "spreadCheck.maxSpreadIncrease must be a finite number ≥ 0, got {max_spread_increase}"
        ));
    }
    let tail_quantile = params.tail_quantile.unwrap_or(DEFAULT_TAIL_QUANTILE);
    if !(tail_quantile > 0.0 && tail_quantile <= 1.0) {
        problems.push(format!(
            "spreadCheck.tailQuantile must be in (0, 1], got {tail_quantile}"
        ));
    }
    ResolvedSpreadCheck {
        enabled: params.enabled.unwrap_or(false),
        alpha,
        max_spread_increase,
        tail_quantile,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_judge_defaults() {
        let resolution = ClassifierParams::default().resolve();
        let params = resolution.params;
        assert_eq!(params.tolerance, 0.25);
        assert_eq!(params.conf_level, 0.98);
        assert_eq!(params.effect_size.allowed_increase, 1.0);
        assert_eq!(params.direction, Direction::Either);
        assert_eq!(params.outliers.strategy, OutlierStrategy::Keep);
        assert!(resolution.problems.is_empty() && resolution.notes.is_empty());
    }

    #[test]
    fn cles_defaults_to_half() {
        let params: ClassifierParams =
            serde_json::from_str(r#"{"effectSize": {"measure": "cles"}}"#).expect("valid params");
        let resolved = params.resolve().params;
        assert_eq!(resolved.effect_size.measure, EffectSizeMeasure::Cles);
        assert_eq!(resolved.effect_size.critical_increase, 0.5);
    }

    #[test]
    fn nulls_and_unknown_strings() {
        let params: ClassifierParams = serde_json::from_str(
            r#"{"tolerance": null, "confLevel": null, "effectSize": null, "outliers": null, "direction": "sideways"}"#,
        )
        .expect("valid params");
        let resolution = params.resolve();
        assert_eq!(resolution.params.direction, Direction::Either);
        assert_eq!(resolution.notes.len(), 1);
        assert!(resolution.problems.is_empty());
    }

    #[test]
    fn absurd_values_are_problems() {
        let params: ClassifierParams = serde_json::from_str(
            r#"{"tolerance": "NaN", "confLevel": 5, "classifier": "Magic", "minSampleCount": -1}"#,
        )
        .expect("valid json");
        assert_eq!(params.resolve().problems.len(), 4);
    }

    #[test]
    fn proportion_settings_only_for_the_proportion_classifier() {
        let resolved = ClassifierParams::default().resolve().params;
        assert_eq!(resolved.proportion, None);
        let params: ClassifierParams =
            serde_json::from_str(r#"{"classifier": "ProportionClassifier"}"#).expect("valid");
        let resolved = params.resolve().params;
        assert_eq!(resolved.classifier, ClassifierKind::Proportion);
        assert_eq!(
            resolved.proportion,
            Some(ResolvedProportion {
                test: ProportionMethod::Fisher
            })
        );
        let params: ClassifierParams = serde_json::from_str(
            r#"{"classifier": "ProportionClassifier", "proportion": {"test": "zTest"}}"#,
        )
        .expect("valid");
        let defaults: ClassifierParams =
            serde_json::from_str(r#"{"proportion": {"test": "fisher"}}"#).expect("valid");
        let resolved = params.overlay_on(&defaults).resolve().params;
        assert_eq!(
            resolved.proportion.map(|proportion| proportion.test),
            Some(ProportionMethod::ZTest)
        );
        let params: ClassifierParams = serde_json::from_str(
            r#"{"classifier": "ProportionClassifier", "proportion": {"test": "chiSquared"}}"#,
        )
        .expect("valid");
        assert_eq!(params.resolve().problems.len(), 1);
    }
}
