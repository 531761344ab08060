//! Development aid: builds the bench's 1,000,000-edge graph, then runs `QUERIES` impact
//! queries (argument; 0 builds only), so `perf stat` can separate build and query CPU time.
use slipway_catalog::{Dependency, DependencyGraph, Origin, ServiceFacts};

fn main() {
    let queries: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move |n: u64| {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    };
    let services = 200_000;
    let facts = (0..services).map(|i| ServiceFacts {
        name: format!("svc-{i}"),
        owner: Some(format!("team-{}", i % 500)),
        tier: None,
    });
    let mut deps = Vec::new();
    while deps.len() < 1_000_000 {
        let from = 1 + next(services - 1);
        let to = if next(100) == 0 {
            next(services)
        } else {
            next(from)
        };
        deps.push(Dependency {
            from: format!("svc-{from}"),
            to: format!("svc-{to}"),
            origin: Origin::Declared,
        });
    }
    let graph = DependencyGraph::build(facts, deps);
    let mut total = 0usize;
    for _ in 0..queries {
        total += graph
            .dependants_of(&format!("svc-{}", next(services)))
            .map(|d| d.len())
            .unwrap_or(0);
    }
    println!(
        "{} queries, {} dependants on average",
        queries,
        (total as u64).checked_div(queries).unwrap_or(0)
    );
}
