//! For `bench/sbom-scan.sh`: a 5,000-component CycloneDX SBOM scanned against the whole shared
//! OSV database, after the database is loaded (the goal is ≤ 50 ms), next to the time to load
//! the database itself.
//!
//! ```text
//! sbom_scan_bench OSV_DIR [ITERATIONS]
//! ```
//! The SBOM is generated: 5,000 crates named after the database's advisories (so matching work
//! is real), versions spread over old and new so that some match.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;
use slipway_vuln::{Package, VulnDb};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let osv = PathBuf::from(
        args.next()
            .ok_or("usage: sbom_scan_bench OSV_DIR [ITERATIONS]")?,
    );
    let iterations: usize = args.next().map_or(Ok(15), |a| a.parse())?;
    let started = Instant::now();
    let db = VulnDb::load_osv(&osv)?;
    let load = started.elapsed();
    let names: Vec<String> = db
        .advisories()
        .iter()
        .flat_map(|a| a.affected.iter().map(|p| p.name.clone()))
        .collect();
    let components: Vec<serde_json::Value> = (0..5000)
        .map(|i| {
            let name = names
                .get(i % names.len().max(1))
                .cloned()
                .unwrap_or_else(|| format!("crate{i}"));
            let version = format!("0.{}.{}", i % 7, i % 3);
            json!({"type": "library", "bom-ref": format!("c{i}"), "name": name, "version": version,
                   "purl": format!("pkg:cargo/{name}@{version}")})
        })
        .collect();
    let sbom = serde_json::to_vec(&json!({"bomFormat": "CycloneDX", "specVersion": "1.5",
        "version": 1, "components": components}))?;
    let mut ingest_and_scan = Vec::new();
    let mut scan_only = Vec::new();
    let mut findings = 0;
    for _ in 0..iterations {
        let started = Instant::now();
        let parsed = slipway_sbom::ingest("bench.cdx.json", &sbom)?;
        let packages: Vec<Package> = parsed
            .components
            .iter()
            .filter_map(|c| c.purl.as_deref())
            .filter_map(|p| Package::from_purl(p).ok())
            .collect();
        let scanned = Instant::now();
        findings = db.scan(&packages).len();
        scan_only.push(scanned.elapsed());
        ingest_and_scan.push(started.elapsed());
    }
    println!(
        "database: {} records loaded in {:.1} ms",
        db.stats().records,
        load.as_secs_f64() * 1000.0
    );
    println!(
        "5000-component SBOM: validate+normalise+scan median {:.1} ms, scan only median {:.2} ms, {findings} findings (goal: <= 50 ms after load)",
        median(ingest_and_scan).as_secs_f64() * 1000.0,
        median(scan_only).as_secs_f64() * 1000.0
    );
    Ok(())
}
