//! Times scanning lockfiles against an OSV directory, for `bench/scan.sh`.
//!
//! `scan_bench <osv-dir> <iterations> <lockfile>...` prints one tab-separated line per lockfile:
//! `name packages findings end_to_end_ms snapshot_end_to_end_ms scan_only_ms`, each a median.
//! End to end = load the OSV directory + read the lockfile + scan (what one `cargo audit` run
//! does); snapshot = the same from an imported snapshot; scan only = with the database loaded.

use std::path::{Path, PathBuf};
use std::time::Instant;

use slipway_vuln::{VulnDb, read_lockfile};

fn median_ms(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    let middle = samples.len() / 2;
    if samples.len().is_multiple_of(2) {
        (samples[middle - 1] + samples[middle]) / 2.0
    } else {
        samples[middle]
    }
}

fn time_ms<T>(work: impl FnOnce() -> T) -> (f64, T) {
    let start = Instant::now();
    let value = work();
    (start.elapsed().as_secs_f64() * 1000.0, value)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut arguments = std::env::args().skip(1);
    let usage = "usage: scan_bench <osv-dir> <iterations> <lockfile>...";
    let osv_dir = PathBuf::from(arguments.next().ok_or(usage)?);
    let iterations: usize = arguments.next().ok_or(usage)?.parse()?;
    let lockfiles: Vec<PathBuf> = arguments.map(PathBuf::from).collect();
    if iterations == 0 || lockfiles.is_empty() {
        return Err(usage.into());
    }
    let snapshot_dir =
        std::env::temp_dir().join(format!("slipway-vuln-bench-{}", std::process::id()));
    let db = VulnDb::load_osv(&osv_dir)?;
    db.import_to(&snapshot_dir)?;

    for lockfile in &lockfiles {
        let scan =
            |db: &VulnDb, lockfile: &Path| -> Result<(usize, usize), slipway_vuln::SourceError> {
                let packages = read_lockfile(lockfile)?;
                Ok((packages.len(), db.scan(&packages).len()))
            };
        let mut end_to_end = Vec::new();
        let mut snapshot = Vec::new();
        let mut scan_only = Vec::new();
        let mut counts = (0, 0);
        for _ in 0..iterations {
            let (ms, result) = time_ms(|| VulnDb::load_osv(&osv_dir).map(|db| scan(&db, lockfile)));
            counts = result??;
            end_to_end.push(ms);
            let (ms, result) =
                time_ms(|| VulnDb::load_from(&snapshot_dir).map(|db| scan(&db, lockfile)));
            result??;
            snapshot.push(ms);
            let (ms, result) = time_ms(|| scan(&db, lockfile));
            result?;
            scan_only.push(ms);
        }
        let name = lockfile
            .file_name()
            .map_or_else(String::new, |name| name.to_string_lossy().into_owned());
        println!(
            "{name}\t{}\t{}\t{:.2}\t{:.2}\t{:.3}",
            counts.0,
            counts.1,
            median_ms(end_to_end),
            median_ms(snapshot),
            median_ms(scan_only)
        );
    }
    std::fs::remove_dir_all(&snapshot_dir)?;
    Ok(())
}
