//! Benchmark: one gate decision — the five example policies evaluated over one
//! gate input (the goal: gate decision p99 at most 10 ms).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use slipway_policy::{PolicySet, PolicySource};

const EXAMPLES: [&str; 5] = [
    "friday_freeze",
    "high_risk_security",
    "signed_artifact",
    "checks_passed",
    "no_self_approval",
];

fn policies() -> PolicySet {
    let sources = EXAMPLES
        .iter()
        .map(|name| {
            let path = format!("{}/examples/{name}.rego", env!("CARGO_MANIFEST_DIR"));
            let rego_text = std::fs::read_to_string(&path).unwrap_or_default();
            PolicySource {
                name: (*name).to_owned(),
                rego_text,
            }
        })
        .collect();
    match PolicySet::load(sources) {
        Ok(set) => set,
        Err(error) => panic!("example policies must load: {error}"),
    }
}

fn bench_gate(criterion: &mut Criterion) {
    let set = policies();
    let input: serde_json::Value =
        serde_json::from_str(include_str!("../examples/gate_input.json")).unwrap_or_default();
    criterion.bench_function("evaluate 5 example policies", |bencher| {
        bencher.iter(|| set.evaluate(black_box(&input)))
    });
}

criterion_group!(benches, bench_gate);
criterion_main!(benches);
