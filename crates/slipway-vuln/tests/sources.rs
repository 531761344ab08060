#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors
//! The I/O edge end to end: OSV records from a directory tree, a ZIP archive and a snapshot,
//! lockfiles from disk, and a scan over several ecosystems.

use std::fs;
use std::io::Write;
use std::path::Path;

use slipway_vuln::{
    FindingKind, ScanPolicy, Severity, SourceError, VulnDb, evaluate, read_lockfile, render_table,
};
use zip::write::SimpleFileOptions;

fn record(id: &str, ecosystem: &str, name: &str, events: &str, extra: &str) -> String {
    format!(
        r#"{{"id": "{id}", "modified": "2024-01-01T00:00:00Z", "summary": "{id} summary", {extra}
            "affected": [{{"package": {{"ecosystem": "{ecosystem}", "name": "{name}"}},
                           "ranges": [{{"type": "ECOSYSTEM", "events": {events}}}]}}]}}"#
    )
}

fn records() -> Vec<(String, String)> {
    vec![
        (
            "npm/GHSA-1.json".to_owned(),
            record(
                "GHSA-1",
                "npm",
                "lodash",
                r#"[{"introduced": "0"}, {"fixed": "4.17.21"}]"#,
                r#""database_specific": {"severity": "HIGH"},"#,
            ),
        ),
        (
            "PyPI/PYSEC-1.json".to_owned(),
            record(
                "PYSEC-1",
                "PyPI",
                "Django",
                r#"[{"introduced": "3.0"}, {"fixed": "3.2.2"}]"#,
                r#""severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N"}],"#,
            ),
        ),
        (
            "Go/GO-1.json".to_owned(),
            record(
                "GO-1",
                "Go",
                "golang.org/x/text",
                r#"[{"introduced": "0"}, {"fixed": "0.3.8"}]"#,
                "",
            ),
        ),
        (
            "Go/GO-2.json".to_owned(),
            record(
                "GO-2",
                "Go",
                "golang.org/x/text",
                r#"[{"introduced": "0"}]"#,
                r#""withdrawn": "2024-02-01T00:00:00Z","#,
            ),
        ),
    ]
}

fn write_dir(dir: &Path) {
    for (name, text) in records() {
        let path = dir.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    fs::write(dir.join("README.md"), "not a record").unwrap();
}

fn write_zip(path: &Path) {
    let mut writer = zip::ZipWriter::new(fs::File::create(path).unwrap());
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, text) in records() {
        writer.start_file(name.replace('/', "-"), options).unwrap();
        writer.write_all(text.as_bytes()).unwrap();
    }
    writer.start_file("notes.txt", options).unwrap();
    writer.write_all(b"ignored").unwrap();
    writer.finish().unwrap();
}

fn write_lockfiles(dir: &Path) {
    fs::write(
        dir.join("package-lock.json"),
        r#"{"lockfileVersion": 3, "packages": {"": {}, "node_modules/lodash": {"version": "4.17.20"}}}"#,
    )
    .unwrap();
    fs::write(
        dir.join("poetry.lock"),
        "[[package]]\nname = \"django\"\nversion = \"3.2.1\"\n",
    )
    .unwrap();
    fs::write(
        dir.join("go.sum"),
        "golang.org/x/text v0.3.7 h1:olp=\ngolang.org/x/text v0.3.7/go.mod h1:b=\n",
    )
    .unwrap();
}

/// Scans the three lockfiles; returns (file, id, severity) per finding.
fn scan_all(db: &VulnDb, dir: &Path) -> Vec<(String, String, Option<Severity>)> {
    let mut found = Vec::new();
    for file in ["package-lock.json", "poetry.lock", "go.sum"] {
        for finding in db.scan(&read_lockfile(&dir.join(file)).unwrap()) {
            assert_eq!(finding.kind, FindingKind::Vulnerability);
            found.push((file.to_owned(), finding.id, finding.severity));
        }
    }
    found
}

fn expected_findings() -> Vec<(String, String, Option<Severity>)> {
    vec![
        (
            "package-lock.json".into(),
            "GHSA-1".into(),
            Some(Severity::High),
        ),
        (
            "poetry.lock".into(),
            "PYSEC-1".into(),
            Some(Severity::Medium),
        ),
        ("go.sum".into(), "GO-1".into(), None),
    ]
}

#[test]
fn directory_zip_and_snapshot_give_the_same_scan() {
    let temp = tempfile::tempdir().unwrap();
    let osv_dir = temp.path().join("osv");
    write_dir(&osv_dir);
    let zip_path = temp.path().join("all.zip");
    write_zip(&zip_path);
    write_lockfiles(temp.path());

    let from_dir = VulnDb::load_osv(&osv_dir).unwrap();
    let from_zip = VulnDb::load_osv(&zip_path).unwrap();
    for db in [&from_dir, &from_zip] {
        assert_eq!((db.stats().records, db.stats().skipped_withdrawn), (3, 1));
        assert_eq!(scan_all(db, temp.path()), expected_findings());
    }

    let data_dir = temp.path().join("data/vuln");
    let snapshot = from_zip.import_to(&data_dir).unwrap();
    assert!(snapshot.ends_with(slipway_vuln::SNAPSHOT_FILE));
    let imported = VulnDb::load_from(&data_dir).unwrap();
    assert_eq!(imported.stats(), from_zip.stats());
    assert_eq!(scan_all(&imported, temp.path()), expected_findings());

    // A single record file loads too.
    let single = VulnDb::load_osv(&osv_dir.join("npm/GHSA-1.json")).unwrap();
    assert_eq!(single.stats().records, 1);

    let findings = imported.scan(&read_lockfile(&temp.path().join("package-lock.json")).unwrap());
    let outcome = evaluate(
        findings,
        &ScanPolicy {
            fail_on: Some(Severity::Critical),
            ..ScanPolicy::default()
        },
    );
    assert!(outcome.passes, "a high finding passes a critical threshold");
    assert!(render_table(&outcome.findings).contains("GHSA-1 summary"));
}

#[test]
fn bad_inputs_name_the_file() {
    let temp = tempfile::tempdir().unwrap();
    let osv_dir = temp.path().join("osv");
    write_dir(&osv_dir);
    fs::write(osv_dir.join("npm/broken.json"), r#"{"id": "X"}"#).unwrap();
    let error = VulnDb::load_osv(&osv_dir).unwrap_err();
    assert!(matches!(error, SourceError::Osv(_)), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("broken.json") && message.contains("missing field `modified`"),
        "{message}"
    );

    let not_zip = temp.path().join("db.zip");
    fs::write(&not_zip, "plain text").unwrap();
    let message = VulnDb::load_osv(&not_zip).unwrap_err().to_string();
    assert!(
        message.starts_with(&format!("zip archive {}", not_zip.display())),
        "{message}"
    );

    let message = VulnDb::load_osv(&temp.path().join("missing"))
        .unwrap_err()
        .to_string();
    assert!(message.contains("missing"), "{message}");

    let message = VulnDb::load_from(temp.path()).unwrap_err().to_string();
    assert!(message.contains(slipway_vuln::SNAPSHOT_FILE), "{message}");
    fs::write(temp.path().join(slipway_vuln::SNAPSHOT_FILE), "{}").unwrap();
    let message = VulnDb::load_from(temp.path()).unwrap_err().to_string();
    assert!(
        message.starts_with("snapshot ") && message.contains("missing field"),
        "{message}"
    );

    let lockfile = temp.path().join("Cargo.lock");
    fs::write(&lockfile, [0xff, 0xfe, 0x00]).unwrap();
    let message = read_lockfile(&lockfile).unwrap_err().to_string();
    assert!(message.contains("not valid UTF-8"), "{message}");
    fs::write(&lockfile, "[[package]]\nname = 1\n").unwrap();
    let message = read_lockfile(&lockfile).unwrap_err().to_string();
    assert!(
        message.starts_with(&format!("lockfile {}: line 2:", lockfile.display())),
        "{message}"
    );
}
