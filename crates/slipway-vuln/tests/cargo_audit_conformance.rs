#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors
//! Conformance with cargo-audit 0.22.2: for every lockfile in the shared OSV conformance data,
//! scanning against the RustSec OSV export gives exactly cargo-audit's vulnerabilities and
//! warnings (sets of (id, package, version) and (kind, id, package, version) tuples).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use slipway_vuln::{FindingKind, VulnDb, read_lockfile};

const CONFORMANCE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/conformance/osv"
);

type Vulnerabilities = BTreeSet<(String, String, String)>;
type Warnings = BTreeSet<(String, String, String, String)>;

fn expected_sets(expected: &Value) -> (Vulnerabilities, Warnings) {
    let text = |entry: &Value, key: &str| entry[key].as_str().unwrap().to_owned();
    let vulnerabilities = expected["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                text(entry, "id"),
                text(entry, "package"),
                text(entry, "version"),
            )
        })
        .collect();
    let warnings = expected["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                text(entry, "kind"),
                text(entry, "id"),
                text(entry, "package"),
                text(entry, "version"),
            )
        })
        .collect();
    (vulnerabilities, warnings)
}

fn lockfiles() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = fs::read_dir(Path::new(CONFORMANCE).join("lockfiles"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file() && path.to_string_lossy().ends_with(".Cargo.lock"))
        .collect();
    paths.sort();
    paths
}

#[test]
fn scans_match_cargo_audit() {
    let db = VulnDb::load_osv(&Path::new(CONFORMANCE).join("advisory-db-osv")).unwrap();
    assert_eq!(
        db.stats().records + db.stats().skipped_withdrawn,
        1206,
        "{:?}",
        db.stats()
    );
    assert_eq!(db.stats().skipped_withdrawn, 13);

    let lockfiles = lockfiles();
    assert!(
        lockfiles.len() >= 4,
        "expected at least 4 lockfiles, found {}",
        lockfiles.len()
    );
    for lockfile in lockfiles {
        let name = lockfile.file_name().unwrap().to_string_lossy().into_owned();
        let stem = name.strip_suffix(".Cargo.lock").unwrap();
        let expected_path = Path::new(CONFORMANCE)
            .join("expected")
            .join(format!("{stem}.expected.json"));
        let expected: Value = serde_json::from_slice(&fs::read(&expected_path).unwrap()).unwrap();
        let (expected_vulnerabilities, expected_warnings) = expected_sets(&expected);

        let packages = read_lockfile(&lockfile).unwrap();
        assert_eq!(
            packages.len() as u64,
            expected["dependency_count"].as_u64().unwrap(),
            "{name}: package count"
        );
        let findings = db.scan(&packages);
        let vulnerabilities: Vulnerabilities = findings
            .iter()
            .filter(|finding| finding.kind == FindingKind::Vulnerability)
            .map(|finding| {
                (
                    finding.id.clone(),
                    finding.package.clone(),
                    finding.version.clone(),
                )
            })
            .collect();
        let warnings: Warnings = findings
            .iter()
            .filter(|finding| finding.kind != FindingKind::Vulnerability)
            .map(|finding| {
                (
                    finding.kind.to_string(),
                    finding.id.clone(),
                    finding.package.clone(),
                    finding.version.clone(),
                )
            })
            .collect();
        assert_eq!(
            findings.len(),
            vulnerabilities.len() + warnings.len(),
            "{name}: a finding is duplicated"
        );
        assert_eq!(
            vulnerabilities
                .difference(&expected_vulnerabilities)
                .collect::<Vec<_>>(),
            Vec::<&(String, String, String)>::new(),
            "{name}: vulnerabilities cargo-audit does not report"
        );
        assert_eq!(
            expected_vulnerabilities
                .difference(&vulnerabilities)
                .collect::<Vec<_>>(),
            Vec::<&(String, String, String)>::new(),
            "{name}: vulnerabilities missing"
        );
        assert_eq!(warnings, expected_warnings, "{name}: warnings");
    }
}
