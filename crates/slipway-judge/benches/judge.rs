//! Benchmark: judging one metric with 10 000 baseline and 10 000 canary samples
//! (goal: at most 10 ms per judgement).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use slipway_judge::java_random::JavaRandom;
use slipway_judge::{ClassifierParams, JudgeInput, MetricInput, judge};

const SAMPLES: usize = 10_000;

/// Latency-like samples rounded to 0.1 ms, so the data has realistic ties.
fn latency_samples(seed: i64, centre: f64) -> Vec<f64> {
    let mut random = JavaRandom::new(seed);
    (0..SAMPLES)
        .map(|_| ((centre + 8.0 * random.next_gaussian()) * 10.0).round() / 10.0)
        .collect()
}

fn request() -> JudgeInput {
    JudgeInput {
        name: Some("bench".to_owned()),
        score_thresholds: Default::default(),
        group_weights: Default::default(),
        missing_data_policy: Default::default(),
        defaults: ClassifierParams::default(),
        metrics: vec![MetricInput {
            name: "latency_p99".to_owned(),
            groups: vec!["latency".to_owned()],
            muted: false,
            unit: Some("ms".to_owned()),
            params: ClassifierParams::default(),
            baseline: latency_samples(1, 100.0),
            canary: latency_samples(2, 101.0),
        }],
    }
}

fn bench_judge(criterion: &mut Criterion) {
    let input = request();
    criterion.bench_function("judge one metric, 10k baseline + 10k canary", |bencher| {
        bencher.iter(|| judge(black_box(&input)))
    });
}

criterion_group!(benches, bench_judge);
criterion_main!(benches);
