//! A deterministic quality harness for the judge: seeded synthetic request
//! streams, a production-like analysis configuration, sequential judging, and
//! false-positive / detection figures. Pure: no I/O, no clock, no threads;
//! the same seed gives the same figures on every machine.
//!
//! # Model
//!
//! * **Traffic.** Requests reach each version as an independent Poisson process
//!   at `total_rps × traffic_share` (thinning a Poisson stream by a random
//!   router gives independent Poisson streams). The baseline is either the
//!   stable production version (95 % of traffic) or a fresh baseline beside the
//!   canary with equal traffic (Kayenta's recommendation).
//! * **Requests.** Latency is log-normal (`median · e^{σZ}`, default median
//!   50 ms, σ = 0.6: mean 60 ms, p99 ≈ 200 ms) plus an optional additive shift;
//!   the error indicator is Bernoulli (default 1 %).
//! * **Generator.** [`SimRng`] is xoshiro256++ seeded through SplitMix64; each
//!   trial gets its own stream from [`derive_seed`]`(master, trial)`.
//!
//! # Analysis ([`AnalysisConfig::production`])
//!
//! Three metrics, all from per-request data, all `direction: increase`:
//!
//! * `error_rate` (group `errors`, critical): one 0/1 sample per request,
//!   judged by the opt-in `ProportionClassifier` (Fisher's exact test by
//!   default; Mann–Whitney on 0/1 samples, Kayenta's only option, is kept for
//!   comparison), `allowedIncrease` 1.5 (rate ratio);
//! * `latency` (group `latency`, critical): one sample per request,
//!   Mann–Whitney, `allowedIncrease` 1.1 (mean ratio) — a location (p50-ish)
//!   test;
//! * `latency_tail` (group `latency`): the 90th percentile of each batch of 10
//!   consecutive requests of a version, Mann–Whitney, `allowedIncrease` 1.1 — a
//!   tail test. Batches are counted in requests, not seconds, so a batch's
//!   percentile means the same thing for a canary at 1 req/s and a baseline at
//!   19 req/s (per-time-window percentiles would not: the p90 of 10 requests
//!   and of 190 requests are different statistics even when nothing changed).
//!
//! Group weights `errors` 40, `latency` 60, score thresholds marginal 75 / pass
//! 95, missing-data policy `hold`: every High fails the canary (the two
//! critical metrics directly; a High `latency_tail` leaves the score at 70).
//!
//! # Multiple looks
//!
//! A run judges every `look_interval_s` of simulated time on all data so far
//! and stops at the first `Fail` (sequential early stopping); without a Fail
//! by the last look the canary is promoted. To keep the overall false-positive
//! rate at `overall_alpha` across `looks × metrics` tests, each test runs at
//! `α' = overall_alpha / (looks · metrics)` one-sided, i.e. `confLevel =
//! 1 − 2α'` (linear alpha spending with a union bound: conservative, and
//! never above `overall_alpha` whatever the correlation between looks, as
//! long as each test holds its nominal level — Fisher's exact test does; the
//! z test on a few expected events does not, see `examples/quality.rs`).
//!
//! A metric joins a look once both of its series hold at least its minimum
//! number of samples (the same `minSampleCount` is set in its parameters); a
//! look where no metric is ready is skipped. This keeps the judge's missing-data
//! rules (a critical `Nodata` or 50 % `Nodata` forces the score to 0) from
//! failing a canary that simply has not received requests yet.
//!
//! For Mann–Whitney metrics that minimum is at least
//! [`mann_whitney_min_samples`]`(confLevel)`. Below it the confidence level
//! cannot be reached at all, and Kayenta's interval then degenerates to
//! `[min(canary) − max(baseline), max(canary) − min(baseline)]`, which excludes
//! 0 whenever the two samples do not overlap: with 3 batches against 3 the
//! canary is High with probability 1/20 under no change, whatever `confLevel`
//! says. The harness found this; the judge keeps Kayenta's behaviour, so
//! callers must choose `minSampleCount` accordingly (see `FORMATS.md`).

use std::collections::BTreeMap;

use crate::classifier::Classification;
use crate::error::JudgeError;
use crate::judge::{JudgeInput, MetricInput, MissingDataPolicy, Verdict, judge};
use crate::normal_distribution::standard_normal_quantile;
use crate::params::{ClassifierParams, EffectSizeParams, ProportionParams};
use crate::proportion::{ProportionMethod, wilson_interval};
use crate::statistics::percentile;
use crate::verdict::ScoreThresholds;

/// One SplitMix64 step: advances `state` and returns a well-mixed value.
pub fn split_mix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of stream `stream` (e.g. a trial number) under `master`.
pub fn derive_seed(master: u64, stream: u64) -> u64 {
    let mut state = master ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
    split_mix64(&mut state);
    split_mix64(&mut state)
}

/// The harness's pseudo-random generator: xoshiro256++ (Blackman & Vigna),
/// state filled by SplitMix64 from a 64-bit seed.
#[derive(Debug, Clone, PartialEq)]
pub struct SimRng {
    state: [u64; 4],
    cached_normal: Option<f64>,
}

impl SimRng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        let mut mixer = seed;
        let state = [
            split_mix64(&mut mixer),
            split_mix64(&mut mixer),
            split_mix64(&mut mixer),
            split_mix64(&mut mixer),
        ];
        SimRng {
            state,
            cached_normal: None,
        }
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let [s0, s1, s2, s3] = self.state;
        let result = s0.wrapping_add(s3).rotate_left(23).wrapping_add(s0);
        let t = s1 << 17;
        let mut s = [s0, s1, s2 ^ s0, s3 ^ s1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        self.state = s;
        result
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `(0, 1]` (safe to take the logarithm of).
    pub fn open_unit(&mut self) -> f64 {
        1.0 - self.next_f64()
    }

    /// Standard normal draw (Box–Muller, the second value cached).
    pub fn standard_normal(&mut self) -> f64 {
        if let Some(cached) = self.cached_normal.take() {
            return cached;
        }
        let radius = (-2.0 * self.open_unit().ln()).sqrt();
        let angle = std::f64::consts::TAU * self.next_f64();
        self.cached_normal = Some(radius * angle.sin());
        radius * angle.cos()
    }

    /// Exponential draw with the given rate (mean `1 / rate`).
    pub fn exponential(&mut self, rate: f64) -> f64 {
        -self.open_unit().ln() / rate
    }

    /// `true` with probability `p`.
    pub fn bernoulli(&mut self, p: f64) -> bool {
        self.next_f64() < p
    }

    /// Log-normal draw `median · e^{σZ}`.
    pub fn log_normal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.standard_normal()).exp()
    }
}

/// How one version serves requests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VersionModel {
    /// Fraction of all traffic this version receives.
    pub traffic_share: f64,
    /// Probability that a request fails.
    pub error_rate: f64,
    /// Median of the log-normal latency, in ms.
    pub latency_median_ms: f64,
    /// σ of the log-normal latency (of `ln latency`).
    pub latency_sigma: f64,
    /// Added to every latency, in ms (the injected latency regression).
    pub latency_shift_ms: f64,
}

impl VersionModel {
    /// Error rate of the stable version.
    pub const STABLE_ERROR_RATE: f64 = 0.01;
    /// Median latency of the stable version, in ms.
    pub const STABLE_LATENCY_MEDIAN_MS: f64 = 50.0;
    /// Log-normal σ of the stable version's latency.
    pub const STABLE_LATENCY_SIGMA: f64 = 0.6;

    /// The stable version at the given traffic share: 1 % errors, latency
    /// log-normal with median 50 ms and σ 0.6.
    pub fn stable(traffic_share: f64) -> Self {
        VersionModel {
            traffic_share,
            error_rate: Self::STABLE_ERROR_RATE,
            latency_median_ms: Self::STABLE_LATENCY_MEDIAN_MS,
            latency_sigma: Self::STABLE_LATENCY_SIGMA,
            latency_shift_ms: 0.0,
        }
    }

    /// The same version with another error rate.
    pub fn with_error_rate(self, error_rate: f64) -> Self {
        VersionModel { error_rate, ..self }
    }

    /// The same version with every latency shifted by `shift_ms`.
    pub fn with_latency_shift(self, shift_ms: f64) -> Self {
        VersionModel {
            latency_shift_ms: shift_ms,
            ..self
        }
    }
}

/// Total traffic and the two versions compared.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrafficModel {
    /// Requests per second over all versions.
    pub total_rps: f64,
    /// The version the canary is compared with.
    pub baseline: VersionModel,
    /// The canary.
    pub canary: VersionModel,
}

impl TrafficModel {
    /// The canary against the stable production version, which takes the rest
    /// of the traffic.
    pub fn production_baseline(total_rps: f64, canary: VersionModel) -> Self {
        TrafficModel {
            total_rps,
            baseline: VersionModel::stable(1.0 - canary.traffic_share),
            canary,
        }
    }

    /// The canary against a fresh baseline of the stable version with the same
    /// traffic share (the rest of the traffic goes to production, not judged).
    pub fn equal_baseline(total_rps: f64, canary: VersionModel) -> Self {
        TrafficModel {
            total_rps,
            baseline: VersionModel::stable(canary.traffic_share),
            canary,
        }
    }
}

/// One simulated request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Request {
    /// Arrival time, seconds since the analysis started.
    pub time_s: f64,
    /// Latency in ms.
    pub latency_ms: f64,
    /// Whether it failed.
    pub error: bool,
}

/// The requests each compared version served, in arrival order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RequestStreams {
    /// Baseline requests.
    pub baseline: Vec<Request>,
    /// Canary requests.
    pub canary: Vec<Request>,
}

/// Requests of one version during `[0, duration_s)`.
pub fn generate_version(
    model: &VersionModel,
    total_rps: f64,
    duration_s: f64,
    rng: &mut SimRng,
) -> Vec<Request> {
    let rate = total_rps * model.traffic_share;
    let mut requests = Vec::new();
    if !(rate > 0.0 && rate.is_finite()) {
        return requests;
    }
    let mut time_s = rng.exponential(rate);
    while time_s < duration_s {
        let latency_ms =
            rng.log_normal(model.latency_median_ms, model.latency_sigma) + model.latency_shift_ms;
        let error = rng.bernoulli(model.error_rate);
        requests.push(Request {
            time_s,
            latency_ms,
            error,
        });
        time_s += rng.exponential(rate);
    }
    requests
}

/// Baseline then canary requests during `[0, duration_s)`, from one generator.
pub fn generate_streams(
    traffic: &TrafficModel,
    duration_s: f64,
    rng: &mut SimRng,
) -> RequestStreams {
    let baseline = generate_version(&traffic.baseline, traffic.total_rps, duration_s, rng);
    let canary = generate_version(&traffic.canary, traffic.total_rps, duration_s, rng);
    RequestStreams { baseline, canary }
}

/// How the error metric is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClassifier {
    /// Slipway's `ProportionClassifier` with the given test.
    Proportion(ProportionMethod),
    /// Kayenta's Mann–Whitney classifier on the per-request 0/1 samples.
    MannWhitney,
}

/// The analysis the harness runs: metrics, thresholds and error budget.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisConfig {
    /// Classifier of `error_rate`.
    pub error_classifier: ErrorClassifier,
    /// `effectSize.allowedIncrease` of `error_rate` (rate ratio).
    pub error_allowed_increase: f64,
    /// `effectSize.allowedIncrease` of `latency` and `latency_tail` (mean ratio).
    pub latency_allowed_increase: f64,
    /// Requests per batch of `latency_p95`.
    pub tail_batch_size: usize,
    /// Percentile taken of each batch.
    pub tail_percentile: f64,
    /// Minimum requests per series before `error_rate` and `latency` are judged
    /// (raised to [`mann_whitney_min_samples`] for Mann–Whitney metrics).
    pub min_requests: usize,
    /// Minimum batches per series before `latency_tail` is judged (raised to
    /// [`mann_whitney_min_samples`]).
    pub min_batches: usize,
    /// False-positive budget of a whole run (all looks, all metrics).
    pub overall_alpha: f64,
    /// Use this `confLevel` for every metric instead of the budget split.
    pub conf_level_override: Option<f64>,
    /// Score thresholds.
    pub score_thresholds: ScoreThresholds,
}

/// Names of the harness's metrics, in request order.
pub const METRIC_NAMES: [&str; 3] = ["error_rate", "latency", "latency_tail"];

/// The smallest `n` such that Kayenta's Mann–Whitney interval at `conf_level`
/// can exclude 0 with `n` or more samples in each series: the largest possible
/// statistic, `(n²/2 − ½) / √(n²(2n + 1)/12)` (complete separation, no ties),
/// must exceed `Φ⁻¹(1 − (1 − conf_level)/2)`. It grows with either sample size,
/// so `n` in both series is enough. 1 when `conf_level` is not in `(0, 1)`
/// (nothing to guard), `usize::MAX` if no size up to a million suffices.
pub fn mann_whitney_min_samples(conf_level: f64) -> usize {
    if !(conf_level > 0.0 && conf_level < 1.0) {
        return 1;
    }
    let Some(z) = standard_normal_quantile(1.0 - (1.0 - conf_level) / 2.0) else {
        return 1;
    };
    (1..=1_000_000usize)
        .find(|&n| {
            let n = n as f64;
            let statistic = (n * n / 2.0 - 0.5) / (n * n * (2.0 * n + 1.0) / 12.0).sqrt();
            statistic > z
        })
        .unwrap_or(usize::MAX)
}

impl AnalysisConfig {
    /// The production configuration described in the module docs: overall
    /// α = 1 %, Fisher's exact test for errors, Mann–Whitney for latency.
    pub fn production() -> Self {
        AnalysisConfig {
            error_classifier: ErrorClassifier::Proportion(ProportionMethod::Fisher),
            error_allowed_increase: 1.5,
            latency_allowed_increase: 1.1,
            tail_batch_size: 10,
            tail_percentile: 90.0,
            min_requests: 10,
            min_batches: 3,
            overall_alpha: 0.01,
            conf_level_override: None,
            score_thresholds: ScoreThresholds::default(),
        }
    }

    /// Number of metrics (tests per look).
    pub fn metric_count(&self) -> usize {
        METRIC_NAMES.len()
    }

    /// One-sided significance level of each test in a run of `looks` looks.
    pub fn per_test_alpha(&self, looks: usize) -> f64 {
        match self.conf_level_override {
            Some(conf_level) => (1.0 - conf_level) / 2.0,
            None => self.overall_alpha / (looks.max(1) * self.metric_count()) as f64,
        }
    }

    /// The `confLevel` given to every metric in a run of `looks` looks.
    pub fn conf_level(&self, looks: usize) -> f64 {
        self.conf_level_override
            .unwrap_or_else(|| 1.0 - 2.0 * self.per_test_alpha(looks))
    }

    fn base_params(
        &self,
        conf_level: f64,
        allowed_increase: f64,
        minimum: usize,
    ) -> ClassifierParams {
        ClassifierParams {
            conf_level: Some(conf_level),
            direction: Some("increase".to_owned()),
            effect_size: Some(EffectSizeParams {
                allowed_increase: Some(allowed_increase),
                ..EffectSizeParams::default()
            }),
            min_sample_count: Some(minimum as f64),
            ..ClassifierParams::default()
        }
    }

    /// The judge request for the data received before `until_s`, in a run of
    /// `looks` looks. Metrics without enough data yet are left out.
    pub fn judge_input(&self, streams: &RequestStreams, until_s: f64, looks: usize) -> JudgeInput {
        let conf_level = self.conf_level(looks);
        let mann_whitney_minimum = mann_whitney_min_samples(conf_level);
        let error_minimum = match self.error_classifier {
            ErrorClassifier::Proportion(_) => self.min_requests,
            ErrorClassifier::MannWhitney => self.min_requests.max(mann_whitney_minimum),
        };
        let latency_minimum = self.min_requests.max(mann_whitney_minimum);
        let tail_minimum = self.min_batches.max(mann_whitney_minimum);
        let before = |requests: &[Request]| -> usize {
            requests.partition_point(|request| request.time_s < until_s)
        };
        let baseline = streams
            .baseline
            .get(..before(&streams.baseline))
            .unwrap_or_default();
        let canary = streams
            .canary
            .get(..before(&streams.canary))
            .unwrap_or_default();
        let mut metrics = Vec::new();

        if baseline.len() >= error_minimum && canary.len() >= error_minimum {
            let indicator = |requests: &[Request]| -> Vec<f64> {
                requests
                    .iter()
                    .map(|request| if request.error { 1.0 } else { 0.0 })
                    .collect()
            };
            let mut params =
                self.base_params(conf_level, self.error_allowed_increase, error_minimum);
            params.critical = Some(true);
            if let ErrorClassifier::Proportion(method) = self.error_classifier {
                params.classifier = Some("ProportionClassifier".to_owned());
                params.proportion = Some(ProportionParams {
                    test: Some(method.as_str().to_owned()),
                });
            }
            metrics.push(MetricInput {
                name: METRIC_NAMES[0].to_owned(),
                groups: vec!["errors".to_owned()],
                muted: false,
                unit: None,
                params,
                baseline: indicator(baseline),
                canary: indicator(canary),
            });
        }

        if baseline.len() >= latency_minimum && canary.len() >= latency_minimum {
            let latencies = |requests: &[Request]| -> Vec<f64> {
                requests.iter().map(|request| request.latency_ms).collect()
            };
            let mut params =
                self.base_params(conf_level, self.latency_allowed_increase, latency_minimum);
            params.critical = Some(true);
            metrics.push(MetricInput {
                name: METRIC_NAMES[1].to_owned(),
                groups: vec!["latency".to_owned()],
                muted: false,
                unit: Some("ms".to_owned()),
                params,
                baseline: latencies(baseline),
                canary: latencies(canary),
            });
        }

        let batch_size = self.tail_batch_size.max(1);
        let batches = |requests: &[Request]| -> Vec<f64> {
            requests
                .chunks_exact(batch_size)
                .map(|batch| {
                    let latencies: Vec<f64> =
                        batch.iter().map(|request| request.latency_ms).collect();
                    percentile(&latencies, self.tail_percentile)
                })
                .collect()
        };
        let baseline_tail = batches(baseline);
        let canary_tail = batches(canary);
        if baseline_tail.len() >= tail_minimum && canary_tail.len() >= tail_minimum {
            metrics.push(MetricInput {
                name: METRIC_NAMES[2].to_owned(),
                groups: vec!["latency".to_owned()],
                muted: false,
                unit: Some("ms".to_owned()),
                params: self.base_params(conf_level, self.latency_allowed_increase, tail_minimum),
                baseline: baseline_tail,
                canary: canary_tail,
            });
        }

        JudgeInput {
            name: Some("simulated canary".to_owned()),
            score_thresholds: self.score_thresholds,
            group_weights: BTreeMap::from([
                ("errors".to_owned(), 40.0),
                ("latency".to_owned(), 60.0),
            ]),
            missing_data_policy: MissingDataPolicy::Hold,
            defaults: ClassifierParams::default(),
            metrics,
        }
    }
}

/// When the judge runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SequentialPlan {
    /// Simulated seconds between looks.
    pub look_interval_s: f64,
    /// Number of looks; the run lasts `looks × look_interval_s`.
    pub looks: usize,
}

impl SequentialPlan {
    /// A look every 10 s for 3 minutes (18 looks).
    pub fn every_10s_for_3_minutes() -> Self {
        SequentialPlan {
            look_interval_s: 10.0,
            looks: 18,
        }
    }

    /// One judgement after `duration_s` (a fixed-horizon analysis).
    pub fn single_look(duration_s: f64) -> Self {
        SequentialPlan {
            look_interval_s: duration_s,
            looks: 1,
        }
    }

    /// Length of the run in simulated seconds.
    pub fn duration_s(&self) -> f64 {
        self.look_interval_s * self.looks as f64
    }
}

/// What happened in one run.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialOutcome {
    /// Simulated time of the first `Fail`, if any.
    pub failed_at_s: Option<f64>,
    /// Looks at which the judge ran (skipped looks not counted).
    pub looks_judged: usize,
    /// The last verdict (the `Fail`, or the verdict at the last look).
    pub last_verdict: Option<Verdict>,
    /// Metrics not classified `Pass` at the failing look.
    pub failing_metrics: Vec<String>,
}

/// Judges `streams` look by look under `plan`, stopping at the first `Fail`.
pub fn run_trial(
    config: &AnalysisConfig,
    plan: &SequentialPlan,
    streams: &RequestStreams,
) -> Result<TrialOutcome, JudgeError> {
    let mut outcome = TrialOutcome {
        failed_at_s: None,
        looks_judged: 0,
        last_verdict: None,
        failing_metrics: Vec::new(),
    };
    for look in 1..=plan.looks {
        let until_s = plan.look_interval_s * look as f64;
        let input = config.judge_input(streams, until_s, plan.looks);
        if input.metrics.is_empty() {
            continue;
        }
        let result = judge(&input)?;
        outcome.looks_judged += 1;
        outcome.last_verdict = Some(result.verdict);
        if result.verdict == Verdict::Fail {
            outcome.failed_at_s = Some(until_s);
            outcome.failing_metrics = result
                .metrics
                .iter()
                .filter(|metric| metric.result.classification != Classification::Pass)
                .map(|metric| metric.result.name.clone())
                .collect();
            break;
        }
    }
    Ok(outcome)
}

/// A batch of independent runs of one situation.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Label for reports.
    pub name: String,
    /// Traffic and versions.
    pub traffic: TrafficModel,
    /// Analysis configuration.
    pub config: AnalysisConfig,
    /// When the judge runs.
    pub plan: SequentialPlan,
}

/// Figures of a batch of runs.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchSummary {
    /// Runs.
    pub trials: usize,
    /// Runs that ended in `Fail`.
    pub failures: usize,
    /// Time of the first `Fail` of each failed run, ascending.
    pub fail_times_s: Vec<f64>,
    /// How often each metric was not `Pass` at a failing look.
    pub failures_by_metric: BTreeMap<String, usize>,
}

impl BatchSummary {
    /// Fraction of runs that failed (false-positive rate in A/A runs, detection
    /// rate with a regression). 0 without runs.
    pub fn failure_rate(&self) -> f64 {
        if self.trials == 0 {
            0.0
        } else {
            self.failures as f64 / self.trials as f64
        }
    }

    /// 95 % Wilson score interval of [`Self::failure_rate`].
    pub fn wilson_95(&self) -> (f64, f64) {
        wilson_interval(self.failures as u64, self.trials as u64, 0.95)
    }

    /// The `q`-quantile (nearest rank) of the time to a `Fail` over **all**
    /// runs, a run without a `Fail` counting as later than the horizon: `None`
    /// when the quantile lies among those runs (censored) or there are no runs.
    pub fn time_to_fail_quantile(&self, q: f64) -> Option<f64> {
        if self.trials == 0 || !(0.0..=1.0).contains(&q) {
            return None;
        }
        let rank = ((q * self.trials as f64).ceil() as usize).max(1);
        self.fail_times_s.get(rank - 1).copied()
    }
}

/// Runs `trials` independent runs of `scenario`; run `i` draws its requests
/// from `SimRng::new(derive_seed(master_seed, i))`.
pub fn run_batch(
    scenario: &Scenario,
    trials: usize,
    master_seed: u64,
) -> Result<BatchSummary, JudgeError> {
    let mut summary = BatchSummary {
        trials,
        failures: 0,
        fail_times_s: Vec::new(),
        failures_by_metric: BTreeMap::new(),
    };
    for trial in 0..trials {
        let mut rng = SimRng::new(derive_seed(master_seed, trial as u64));
        let streams = generate_streams(&scenario.traffic, scenario.plan.duration_s(), &mut rng);
        let outcome = run_trial(&scenario.config, &scenario.plan, &streams)?;
        if let Some(time_s) = outcome.failed_at_s {
            summary.failures += 1;
            summary.fail_times_s.push(time_s);
            for metric in outcome.failing_metrics {
                *summary.failures_by_metric.entry(metric).or_insert(0) += 1;
            }
        }
    }
    summary.fail_times_s.sort_by(f64::total_cmp);
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean(values: &[f64]) -> f64 {
        values.iter().sum::<f64>() / values.len() as f64
    }

    fn variance(values: &[f64]) -> f64 {
        let centre = mean(values);
        values.iter().map(|v| (v - centre).powi(2)).sum::<f64>() / (values.len() - 1) as f64
    }

    #[test]
    fn same_seed_same_stream_different_seed_different_stream() {
        let draw = |seed: u64| -> Vec<u64> {
            let mut rng = SimRng::new(seed);
            (0..100).map(|_| rng.next_u64()).collect()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        let traffic = TrafficModel::production_baseline(20.0, VersionModel::stable(0.05));
        let streams = |seed: u64| generate_streams(&traffic, 60.0, &mut SimRng::new(seed));
        assert_eq!(streams(3), streams(3));
        assert_ne!(streams(3), streams(4));
        // Derived seeds differ per stream and per master.
        assert_ne!(derive_seed(1, 0), derive_seed(1, 1));
        assert_ne!(derive_seed(1, 0), derive_seed(2, 0));
        assert_eq!(derive_seed(1, 5), derive_seed(1, 5));
    }

    #[test]
    fn xoshiro_matches_its_reference_output() {
        // Reference: xoshiro256++ from state {1, 2, 3, 4} gives 41943041 first.
        let mut rng = SimRng {
            state: [1, 2, 3, 4],
            cached_normal: None,
        };
        assert_eq!(rng.next_u64(), 41_943_041);
        // SplitMix64 from seed 0 (reference: 0xE220A8397B1DCDAF).
        let mut state = 0;
        assert_eq!(split_mix64(&mut state), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn uniform_normal_and_exponential_moments() {
        let mut rng = SimRng::new(11);
        let uniform: Vec<f64> = (0..100_000).map(|_| rng.next_f64()).collect();
        assert!(uniform.iter().all(|u| (0.0..1.0).contains(u)));
        assert!((mean(&uniform) - 0.5).abs() < 0.01);
        assert!((variance(&uniform) - 1.0 / 12.0).abs() < 0.002);
        let normal: Vec<f64> = (0..100_000).map(|_| rng.standard_normal()).collect();
        assert!(mean(&normal).abs() < 0.02, "{}", mean(&normal));
        assert!(
            (variance(&normal) - 1.0).abs() < 0.03,
            "{}",
            variance(&normal)
        );
        let beyond = normal.iter().filter(|z| z.abs() > 1.96).count() as f64 / 1e5;
        assert!((beyond - 0.05).abs() < 0.005, "{beyond}");
        let exponential: Vec<f64> = (0..100_000).map(|_| rng.exponential(4.0)).collect();
        assert!((mean(&exponential) - 0.25).abs() < 0.005);
    }

    #[test]
    fn requests_have_the_configured_rates_and_latencies() {
        let canary = VersionModel::stable(0.05);
        let traffic = TrafficModel::production_baseline(20.0, canary);
        let streams = generate_streams(&traffic, 3600.0, &mut SimRng::new(5));
        // 19 req/s and 1 req/s for an hour: Poisson counts within ~4 σ.
        let baseline_count = streams.baseline.len() as f64;
        let canary_count = streams.canary.len() as f64;
        assert!((baseline_count - 68_400.0).abs() < 4.0 * 68_400f64.sqrt());
        assert!((canary_count - 3_600.0).abs() < 4.0 * 3_600f64.sqrt());
        assert!(
            streams
                .baseline
                .windows(2)
                .all(|pair| pair[0].time_s <= pair[1].time_s)
        );
        assert!(streams.canary.iter().all(|r| r.time_s < 3600.0));
        let errors = streams.baseline.iter().filter(|r| r.error).count() as f64;
        assert!((errors / baseline_count - 0.01).abs() < 0.0015);
        let mut latencies: Vec<f64> = streams.baseline.iter().map(|r| r.latency_ms).collect();
        latencies.sort_by(f64::total_cmp);
        let median = percentile(&latencies, 50.0);
        assert!((median - 50.0).abs() < 1.0, "{median}");
        // Log-normal mean is median · e^{σ²/2} ≈ 59.9 ms.
        assert!((mean(&latencies) - 50.0 * 0.18f64.exp()).abs() < 1.0);
        let logs: Vec<f64> = latencies.iter().map(|l| l.ln()).collect();
        assert!((variance(&logs).sqrt() - 0.6).abs() < 0.01);

        let shifted = VersionModel::stable(1.0).with_latency_shift(50.0);
        let mut rng = SimRng::new(5);
        let requests = generate_version(&shifted, 10.0, 1000.0, &mut rng);
        let latencies: Vec<f64> = requests.iter().map(|r| r.latency_ms).collect();
        assert!(latencies.iter().all(|l| *l > 50.0));
        assert!((percentile(&latencies, 50.0) - 100.0).abs() < 2.0);
    }

    #[test]
    fn alpha_is_split_over_looks_and_metrics() {
        let config = AnalysisConfig::production();
        let alpha = config.per_test_alpha(18);
        assert!((alpha - 0.01 / 54.0).abs() < 1e-15);
        assert!((config.conf_level(18) - (1.0 - 2.0 * alpha)).abs() < 1e-15);
        let kayenta = AnalysisConfig {
            conf_level_override: Some(0.98),
            ..AnalysisConfig::production()
        };
        assert!((kayenta.per_test_alpha(18) - 0.01).abs() < 1e-12);
    }

    #[test]
    fn metrics_join_when_they_have_enough_data() {
        let config = AnalysisConfig::production();
        let traffic = TrafficModel::production_baseline(20.0, VersionModel::stable(0.05));
        let streams = generate_streams(&traffic, 180.0, &mut SimRng::new(9));
        assert!(config.judge_input(&streams, 0.5, 18).metrics.is_empty());
        let names = |until_s: f64| -> Vec<String> {
            config
                .judge_input(&streams, until_s, 18)
                .metrics
                .into_iter()
                .map(|metric| metric.name)
                .collect()
        };
        assert_eq!(names(180.0), METRIC_NAMES.map(str::to_owned).to_vec());
        let early = names(20.0);
        assert!(early.len() <= 2);
        let input = config.judge_input(&streams, 180.0, 18);
        let tail = input.metrics.get(2).expect("three metrics");
        assert_eq!(tail.canary.len(), streams.canary.len() / 10);
        assert_eq!(tail.params.min_sample_count, Some(10.0));
    }

    #[test]
    fn mann_whitney_needs_enough_samples_for_its_confidence_level() {
        assert_eq!(mann_whitney_min_samples(0.95), 4);
        assert_eq!(mann_whitney_min_samples(0.98), 5);
        assert_eq!(mann_whitney_min_samples(1.0 - 2.0 * 0.01 / 54.0), 10);
        assert_eq!(mann_whitney_min_samples(1.0), 1);
        // Why: below that size Kayenta's interval degenerates to the range of
        // differences, so three canary values above three baseline values are
        // High even at confidence 0.9996 (probability 1/20 under no change).
        let params = ClassifierParams {
            conf_level: Some(0.9996),
            ..ClassifierParams::default()
        };
        let separated = crate::metric::classify_metric(
            "tail",
            &[88.0, 89.0, 90.0],
            &[120.0, 125.0, 130.0],
            &params,
        );
        assert_eq!(separated.classification, Classification::High);
        assert_eq!(separated.interval.map(|[lower, _]| lower), Some(30.0));
    }

    #[test]
    fn batch_summary_quantiles_count_undetected_runs() {
        let summary = BatchSummary {
            trials: 10,
            failures: 8,
            fail_times_s: vec![10.0, 10.0, 20.0, 20.0, 30.0, 30.0, 40.0, 50.0],
            failures_by_metric: BTreeMap::new(),
        };
        assert_eq!(summary.failure_rate(), 0.8);
        assert_eq!(summary.time_to_fail_quantile(0.5), Some(30.0));
        assert_eq!(summary.time_to_fail_quantile(0.8), Some(50.0));
        assert_eq!(summary.time_to_fail_quantile(0.95), None);
        let (lower, upper) = summary.wilson_95();
        assert!(lower < 0.8 && 0.8 < upper);
    }

    #[test]
    fn a_run_is_reproducible_and_stops_at_the_first_fail() {
        let traffic = TrafficModel::production_baseline(
            20.0,
            VersionModel::stable(0.05).with_latency_shift(50.0),
        );
        let plan = SequentialPlan::every_10s_for_3_minutes();
        let streams = generate_streams(&traffic, plan.duration_s(), &mut SimRng::new(1));
        let config = AnalysisConfig::production();
        let first = run_trial(&config, &plan, &streams).expect("valid config");
        let again = run_trial(&config, &plan, &streams).expect("valid config");
        assert_eq!(first, again);
        let failed_at = first.failed_at_s.expect("+50 ms is caught");
        assert!(failed_at <= 60.0, "{failed_at}");
        assert_eq!(first.last_verdict, Some(Verdict::Fail));
        assert!(
            first
                .failing_metrics
                .iter()
                .any(|name| name.starts_with("latency"))
        );
    }
}
