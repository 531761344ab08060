//! Quality figures of the canary judge from the seeded simulation harness
//! (`slipway_judge::simulation`): A/A false-positive rates and the detection
//! rate and time to verdict of injected regressions.
//!
//! Run with `bench/judge-quality.sh` (release mode), or
//! `cargo run --release -p slipway-judge --example quality -- [--trials N] [--seed S]`.
//! Figures go to stdout and are identical for the same arguments on any
//! machine; progress and elapsed times go to stderr.

use std::error::Error;
use std::time::Instant;

use slipway_judge::proportion::ProportionMethod;
use slipway_judge::simulation::{
    AnalysisConfig, BatchSummary, ErrorClassifier, Scenario, SequentialPlan, TrafficModel,
    VersionModel, mann_whitney_min_samples, run_batch,
};

const TOTAL_RPS: f64 = 20.0;
const CANARY_SHARE: f64 = 0.05;
const REGRESSED_ERROR_RATE: f64 = 0.10;
const LATENCY_SHIFT_MS: f64 = 50.0;

struct Options {
    trials: usize,
    detection_trials: usize,
    seed: u64,
}

fn parse_options() -> Result<Options, Box<dyn Error>> {
    let mut options = Options {
        trials: 1000,
        detection_trials: 1000,
        seed: 20_250_501,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--trials" => options.trials = value()?.parse()?,
            "--detection-trials" => options.detection_trials = value()?.parse()?,
            "--seed" => options.seed = value()?.parse()?,
            "--help" | "-h" => {
                println!(
                    "usage: quality [--trials N (A/A runs, default 1000)] [--detection-trials N (default 1000)] [--seed S]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(options)
}

#[derive(Clone, Copy)]
enum Baseline {
    Production,
    Equal,
    /// Equal baseline at another total request rate.
    EqualAt(f64),
}

impl Baseline {
    fn traffic(self, canary: VersionModel) -> TrafficModel {
        match self {
            Baseline::Production => TrafficModel::production_baseline(TOTAL_RPS, canary),
            Baseline::Equal => TrafficModel::equal_baseline(TOTAL_RPS, canary),
            Baseline::EqualAt(rps) => TrafficModel::equal_baseline(rps, canary),
        }
    }

    fn label(self) -> String {
        match self {
            Baseline::Production => "prod 95%".to_owned(),
            Baseline::Equal => "beside 5%".to_owned(),
            Baseline::EqualAt(rps) => format!("beside 5%, {rps} req/s total"),
        }
    }
}

#[derive(Clone, Copy)]
enum Injected {
    Nothing,
    Errors,
    Latency,
}

impl Injected {
    fn canary(self) -> VersionModel {
        let stable = VersionModel::stable(CANARY_SHARE);
        match self {
            Injected::Nothing => stable,
            Injected::Errors => stable.with_error_rate(REGRESSED_ERROR_RATE),
            Injected::Latency => stable.with_latency_shift(LATENCY_SHIFT_MS),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Injected::Nothing => "A/A",
            Injected::Errors => "errors 1%→10%",
            Injected::Latency => "latency +50 ms",
        }
    }
}

struct Row {
    section: &'static str,
    baseline: Baseline,
    injected: Injected,
    config: AnalysisConfig,
    plan: SequentialPlan,
}

fn percent(value: f64) -> String {
    format!("{:.2}%", value * 100.0)
}

fn seconds(value: Option<f64>, horizon: f64) -> String {
    match value {
        Some(time) => format!("{time:.0} s"),
        None => format!("> {horizon:.0} s"),
    }
}

fn print_row(row: &Row, summary: &BatchSummary) {
    let (lower, upper) = summary.wilson_95();
    let horizon = row.plan.duration_s();
    let by_metric: Vec<String> = summary
        .failures_by_metric
        .iter()
        .map(|(name, count)| format!("{name}:{count}"))
        .collect();
    println!(
        "| {} | {} | {} | {} | {}/{} = {} | {} – {} | {} | {} | {} |",
        row.section,
        row.injected.label(),
        row.baseline.label(),
        row.plan.looks,
        summary.failures,
        summary.trials,
        percent(summary.failure_rate()),
        percent(lower),
        percent(upper),
        seconds(summary.time_to_fail_quantile(0.5), horizon),
        seconds(summary.time_to_fail_quantile(0.95), horizon),
        if by_metric.is_empty() {
            "–".to_owned()
        } else {
            by_metric.join(" ")
        }
    );
}

fn main() -> Result<(), Box<dyn Error>> {
    let options = parse_options()?;
    let production = AnalysisConfig::production();
    let kayenta_conf = AnalysisConfig {
        conf_level_override: Some(0.98),
        ..AnalysisConfig::production()
    };
    let z_test = AnalysisConfig {
        error_classifier: ErrorClassifier::Proportion(ProportionMethod::ZTest),
        ..AnalysisConfig::production()
    };
    let mann_whitney_errors = AnalysisConfig {
        error_classifier: ErrorClassifier::MannWhitney,
        ..AnalysisConfig::production()
    };
    let single = SequentialPlan::single_look(180.0);
    let sequential = SequentialPlan::every_10s_for_3_minutes();

    let row = |section, baseline, injected, config: &AnalysisConfig, plan| Row {
        section,
        baseline,
        injected,
        config: config.clone(),
        plan,
    };
    use Baseline::{Equal, EqualAt, Production};
    use Injected::{Errors, Latency, Nothing};
    let rows = vec![
        row("1 fixed", Production, Nothing, &production, single),
        row("1 fixed", Equal, Nothing, &production, single),
        row(
            "1 fixed, confLevel 0.98",
            Production,
            Nothing,
            &kayenta_conf,
            single,
        ),
        row("2 sequential", Production, Nothing, &production, sequential),
        row("2 sequential", Production, Errors, &production, sequential),
        row("2 sequential", Production, Latency, &production, sequential),
        row("2 sequential", Equal, Nothing, &production, sequential),
        row("2 sequential", Equal, Errors, &production, sequential),
        row("2 sequential", Equal, Latency, &production, sequential),
        row(
            "3 errors by zTest",
            Production,
            Nothing,
            &z_test,
            sequential,
        ),
        row("3 errors by zTest", Production, Errors, &z_test, sequential),
        row("3 errors by zTest", Equal, Nothing, &z_test, sequential),
        row("3 errors by zTest", Equal, Errors, &z_test, sequential),
        row(
            "4 errors by Mann–Whitney",
            Production,
            Nothing,
            &mann_whitney_errors,
            sequential,
        ),
        row(
            "4 errors by Mann–Whitney",
            Production,
            Errors,
            &mann_whitney_errors,
            sequential,
        ),
        row(
            "4 errors by Mann–Whitney",
            Equal,
            Nothing,
            &mann_whitney_errors,
            sequential,
        ),
        row(
            "4 errors by Mann–Whitney",
            Equal,
            Errors,
            &mann_whitney_errors,
            sequential,
        ),
        row(
            "5 more traffic",
            EqualAt(40.0),
            Nothing,
            &production,
            sequential,
        ),
        row(
            "5 more traffic",
            EqualAt(40.0),
            Errors,
            &production,
            sequential,
        ),
    ];

    println!("# Slipway judge quality (simulation seed {})", options.seed);
    println!();
    println!(
        "Traffic: {TOTAL_RPS} req/s in total, Poisson arrivals; canary {}% of it (~1 req/s). Baseline \"prod 95%\": the stable version with the other 95%; \"beside 5%\": a fresh stable baseline with the same 5% as the canary.",
        CANARY_SHARE * 100.0
    );
    println!(
        "Stable version: latency log-normal, median {} ms, σ {} (mean ≈ 60 ms, p99 ≈ 200 ms); errors Bernoulli {}%.",
        VersionModel::STABLE_LATENCY_MEDIAN_MS,
        VersionModel::STABLE_LATENCY_SIGMA,
        VersionModel::STABLE_ERROR_RATE * 100.0
    );
    println!(
        "Metrics (all direction increase; groups errors 40 / latency 60; thresholds marginal {} / pass {}; missingDataPolicy hold):",
        production.score_thresholds.marginal, production.score_thresholds.pass
    );
    let fixed_minimum = mann_whitney_min_samples(production.conf_level(1));
    let sequential_minimum = mann_whitney_min_samples(production.conf_level(sequential.looks));
    println!(
        "  error_rate: per-request 0/1, ProportionClassifier (fisher unless noted), critical, allowedIncrease {} (rate ratio), minSampleCount {}",
        production.error_allowed_increase, production.min_requests
    );
    println!(
        "  latency: per-request ms, MannWhitneyClassifier (tolerance 0.25), critical, allowedIncrease {} (mean ratio), minSampleCount max({}, n*)",
        production.latency_allowed_increase, production.min_requests
    );
    println!(
        "  latency_tail: p{} of each batch of {} consecutive requests of a version, MannWhitneyClassifier, not critical, allowedIncrease {}, minSampleCount max({}, n*) batches",
        production.tail_percentile,
        production.tail_batch_size,
        production.latency_allowed_increase,
        production.min_batches
    );
    println!(
        "  n* = smallest sample size at which the Mann–Whitney interval can reach its confLevel: {fixed_minimum} for one look, {sequential_minimum} for {} looks. A metric joins a look once both series have minSampleCount samples.",
        sequential.looks
    );
    println!(
        "Error budget: overall α = {} per run, split evenly over looks × 3 metrics: fixed (1 look) confLevel {:.5} (one-sided α' = {:.2e}); sequential ({} looks every {} s, stop at the first Fail) confLevel {:.5} (α' = {:.2e}).",
        production.overall_alpha,
        production.conf_level(1),
        production.per_test_alpha(1),
        sequential.looks,
        sequential.look_interval_s,
        production.conf_level(sequential.looks),
        production.per_test_alpha(sequential.looks)
    );
    println!(
        "Rates are runs judged Fail, with a 95% Wilson interval; times are over all runs (a run without a Fail counts as later than the 180 s horizon)."
    );
    println!();
    println!(
        "| section | injected | baseline | looks | Fail | 95% CI | median t | p95 t | not Pass at the Fail |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (index, row) in rows.iter().enumerate() {
        let trials = match row.injected {
            Injected::Nothing => options.trials,
            _ => options.detection_trials,
        };
        let scenario = Scenario {
            name: format!("{} {}", row.section, row.injected.label()),
            traffic: row.baseline.traffic(row.injected.canary()),
            config: row.config.clone(),
            plan: row.plan,
        };
        let started = Instant::now();
        // Every row has its own seed, so rows are independent samples.
        let summary = run_batch(&scenario, trials, options.seed.wrapping_add(index as u64))?;
        print_row(row, &summary);
        eprintln!(
            "  [{}: {trials} runs in {:.1} s]",
            scenario.name,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
