//! Impact queries on a dependency graph of 1,000,000 edges (goal: p95 ≤ 20 ms per query, the
//! graph built once), next to the baseline of one pass over every edge, in the same run.

use criterion::{Criterion, criterion_group, criterion_main};
use slipway_catalog::{Dependency, DependencyGraph, Origin, ServiceFacts};
use std::time::Instant;

/// xorshift64*: deterministic and dependency-free.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const SERVICES: u64 = 200_000;
const EDGES: u64 = 1_000_000;

fn graph() -> DependencyGraph {
    let mut random = Random(0x9E37_79B9_7F4A_7C15);
    let facts = (0..SERVICES).map(|i| ServiceFacts {
        name: format!("svc-{i}"),
        owner: Some(format!("team-{}", i % 500)),
        tier: Some(["critical", "high", "medium", "low"][(i % 4) as usize].to_owned()),
    });
    // Services depend on lower-numbered ones (layers, as real systems have), with a few
    // observed calls the other way.
    let mut dependencies = Vec::with_capacity(EDGES as usize);
    while (dependencies.len() as u64) < EDGES {
        let from = 1 + random.below(SERVICES - 1);
        let to = if random.below(100) == 0 {
            random.below(SERVICES)
        } else {
            random.below(from)
        };
        let origin = if random.below(3) == 0 {
            Origin::Observed
        } else {
            Origin::Declared
        };
        dependencies.push(Dependency {
            from: format!("svc-{from}"),
            to: format!("svc-{to}"),
            origin,
        });
    }
    DependencyGraph::build(facts, dependencies)
}

fn benchmarks(c: &mut Criterion) {
    let graph = graph();
    println!(
        "graph: {} services, {} edges",
        graph.services(),
        graph.edges()
    );
    let mut random = Random(42);
    let queries: Vec<String> = (0..1000)
        .map(|_| format!("svc-{}", random.below(SERVICES)))
        .collect();

    // p50/p95 over 1000 queries from random services, and the baseline pass.
    let mut times: Vec<f64> = queries
        .iter()
        .map(|service| {
            let start = Instant::now();
            let impacted = graph.dependants_of(service).map(|d| d.len()).unwrap_or(0);
            std::hint::black_box(impacted);
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let baseline = {
        let start = Instant::now();
        std::hint::black_box(graph.dependants_of("svc-0").map(|d| d.len()));
        start.elapsed().as_secs_f64() * 1000.0
    };
    println!(
        "impact query over 1000 random services: p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms; baseline (svc-0, the whole graph's dependants) {:.2} ms",
        times[500], times[950], times[999], baseline
    );

    let mut group = c.benchmark_group("impact_1m_edges");
    group.sample_size(20);
    group.bench_function("baseline_everything_depends_on_svc_0", |b| {
        b.iter(|| graph.dependants_of("svc-0").map(|d| d.len()))
    });
    let mut next = 0usize;
    group.bench_function("dependants_of_random_service", |b| {
        b.iter(|| {
            next = (next + 1) % queries.len();
            graph.dependants_of(&queries[next]).map(|d| d.len())
        })
    });
    group.finish();
}

criterion_group!(benches, benchmarks);
criterion_main!(benches);
