//! Time to validate and normalise the 1115-component juice-shop CycloneDX SBOM (the schema is
//! compiled once, before measuring), and to evaluate a license policy over its components.

use criterion::{Criterion, criterion_group, criterion_main};
use slipway_sbom::{LicensePolicy, ingest};

const JUICE_SHOP: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/conformance/sbom/cyclonedx/real/juice-shop-via_npm-flat.bom.1.4.json"
);

fn bench(c: &mut Criterion) {
    let Ok(bytes) = std::fs::read(JUICE_SHOP) else {
        eprintln!("skipping: {JUICE_SHOP} is missing");
        return;
    };
    let Ok(sbom) = ingest("juice-shop", &bytes) else {
        eprintln!("skipping: juice-shop does not ingest");
        return;
    };
    c.bench_function("ingest juice-shop (parse + validate + normalise)", |b| {
        b.iter(|| ingest("juice-shop", std::hint::black_box(&bytes)));
    });
    let policy = LicensePolicy {
        allow: ["MIT", "ISC", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause"]
            .map(str::to_owned)
            .to_vec(),
        ..LicensePolicy::default()
    };
    c.bench_function("license policy over juice-shop", |b| {
        b.iter(|| policy.evaluate(std::hint::black_box(&sbom.components)));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
