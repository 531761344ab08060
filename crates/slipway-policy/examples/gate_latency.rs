//! Gate decision latency: the five example policies evaluated over
//! `examples/gate_input.json` 10 000 times in a loop; prints the median, p99
//! and maximum. Run with `cargo run --release -p slipway-policy --example gate_latency`.

use std::time::{Duration, Instant};

use slipway_policy::{PolicySet, PolicySource};

const EXAMPLES: [&str; 5] = [
    "friday_freeze",
    "high_risk_security",
    "signed_artifact",
    "checks_passed",
    "no_self_approval",
];
const RUNS: usize = 10_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let directory = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
    let mut sources = Vec::new();
    for name in EXAMPLES {
        sources.push(PolicySource {
            name: name.to_owned(),
            rego_text: std::fs::read_to_string(format!("{directory}/{name}.rego"))?,
        });
    }
    let set = PolicySet::load(sources)?;
    let input: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(format!(
        "{directory}/gate_input.json"
    ))?)?;

    let verdict = set.evaluate(&input)?;
    println!(
        "verdict: allowed={} deny={:?} warn={:?}",
        verdict.allowed,
        verdict.deny_reasons(),
        verdict.warnings()
    );

    let mut timings: Vec<Duration> = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        let verdict = set.evaluate(std::hint::black_box(&input))?;
        timings.push(started.elapsed());
        std::hint::black_box(verdict);
    }
    timings.sort();
    let at = |quantile: f64| timings[((RUNS as f64 - 1.0) * quantile).round() as usize];
    println!(
        "{RUNS} evaluations of {} policies: median {:?}, p99 {:?}, max {:?}",
        set.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
    Ok(())
}
