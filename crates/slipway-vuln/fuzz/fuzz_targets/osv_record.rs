//! Fuzzes the OSV record parser and what follows a successful parse: building the database
//! (range compilation), scanning a package named in the record, and the snapshot round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_vuln::{Package, PackageSource, VulnDb, parse_record};

fuzz_target!(|data: &[u8]| {
    let Ok(advisory) = parse_record("fuzz.json", data) else {
        return;
    };
    let probes: Vec<Package> = advisory
        .affected
        .iter()
        .flat_map(|affected| {
            let versions = affected.versions.iter().cloned().chain([
                "0.0.0-0".to_owned(),
                "1.0.0".to_owned(),
                "1.0".to_owned(),
            ]);
            versions.map(|version| Package {
                ecosystem: affected.ecosystem.clone(),
                name: affected.name.clone(),
                version,
                source: PackageSource::Registry,
            })
        })
        .collect();
    let db = VulnDb::from_advisories([advisory]);
    let findings = db.scan(&probes);
    let _ = slipway_vuln::render_table(&findings);
    if let Ok(bytes) = db.to_snapshot_json() {
        let reloaded = VulnDb::from_snapshot_json(&bytes).unwrap_or_default();
        assert_eq!(
            reloaded.scan(&probes),
            findings,
            "the snapshot scans like the original"
        );
    }
});
