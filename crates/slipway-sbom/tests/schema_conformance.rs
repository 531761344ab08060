#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors
//! The CycloneDX schema fixtures, the real CycloneDX SBOMs and the SPDX 2.3 examples from
//! `shared/conformance/sbom` behave as that folder's README says.

use std::path::{Path, PathBuf};

use serde_json::Value;
use slipway_sbom::{SbomError, SchemaVersion, validate, validate_as};

const CONFORMANCE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/conformance/sbom"
);

fn json_files(folder: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(Path::new(CONFORMANCE).join(folder))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
}

fn read(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Checks every fixture of one CycloneDX version; returns (valid, invalid) counts.
fn check_fixtures(version: &str, schema: SchemaVersion) -> (usize, usize) {
    let mut counts = (0, 0);
    let mut wrong = Vec::new();
    for path in json_files(&format!("cyclonedx/fixtures/{version}")) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let expect_valid = name.starts_with("valid-");
        assert!(expect_valid || name.starts_with("invalid-"), "{name}");
        let outcome = validate_as(&name, &read(&path), schema);
        if expect_valid {
            counts.0 += 1;
        } else {
            counts.1 += 1;
        }
        match (&outcome, expect_valid) {
            (Ok(()), true) | (Err(SbomError::Invalid { .. }), false) => {}
            _ => wrong.push(format!("{name}: {outcome:?}")),
        }
    }
    assert!(
        wrong.is_empty(),
        "{} fixture(s) misjudged:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    counts
}

#[test]
fn cyclonedx_1_5_fixtures_behave_as_named() {
    assert_eq!(check_fixtures("1.5", SchemaVersion::CycloneDx1_5), (36, 22));
}

#[test]
fn cyclonedx_1_6_fixtures_behave_as_named() {
    assert_eq!(check_fixtures("1.6", SchemaVersion::CycloneDx1_6), (45, 25));
}

#[test]
fn real_cyclonedx_sboms_are_valid_against_their_own_version() {
    let files = json_files("cyclonedx/real");
    let versions: Vec<(String, SchemaVersion)> = files
        .iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let version = validate(&name, &read(path)).unwrap_or_else(|error| panic!("{error}"));
            (name, version)
        })
        .collect();
    assert_eq!(
        versions,
        [
            (
                "juice-shop-via_npm-flat.bom.1.4.json".to_owned(),
                SchemaVersion::CycloneDx1_4
            ),
            (
                "keycloak-10.0.2.bom.json".to_owned(),
                SchemaVersion::CycloneDx1_2
            ),
            (
                "laravel-7.12.0.bom.1.4.json".to_owned(),
                SchemaVersion::CycloneDx1_4
            ),
        ]
    );
}

fn spdx_documents() -> Vec<PathBuf> {
    let mut files = json_files("spdx-2.3/spec-example");
    files.extend(json_files("spdx-2.3/spdx-examples"));
    files
}

#[test]
fn spdx_examples_are_valid() {
    let files = spdx_documents();
    assert_eq!(files.len(), 5, "the README lists 5 SPDX 2.3 documents");
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let version = validate(&name, &read(&path)).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(version, SchemaVersion::Spdx2_3, "{name}");
    }
}

/// Applies `break_it` to the spec's SPDX example and checks the violation the validator reports.
fn check_broken_spdx(break_it: impl Fn(&mut Value), pointer: &str, keyword: &str) {
    let path = Path::new(CONFORMANCE).join("spdx-2.3/spec-example/SPDXJSONExample-v2.3.spdx.json");
    let mut document = read(&path);
    break_it(&mut document);
    let error = validate_as("broken.spdx.json", &document, SchemaVersion::Spdx2_3).unwrap_err();
    let SbomError::Invalid {
        ref violations,
        total,
        ..
    } = error
    else {
        panic!("expected schema violations, got {error}");
    };
    assert!(total >= 1 && total >= violations.len());
    assert!(
        violations
            .iter()
            .any(|v| v.instance_path == pointer && v.keyword == keyword),
        "no {keyword} violation at {pointer:?} in: {error}"
    );
    let message = error.to_string();
    assert!(message.starts_with("broken.spdx.json: "), "{message}");
    assert!(message.contains("spdx-schema.json"), "{message}");
}

#[test]
fn broken_spdx_documents_are_rejected_with_the_failing_place() {
    check_broken_spdx(
        |doc| {
            doc.as_object_mut().unwrap().remove("SPDXID");
        },
        "",
        "required",
    );
    check_broken_spdx(
        |doc| {
            doc["packages"][0].as_object_mut().unwrap().remove("name");
        },
        "/packages/0",
        "required",
    );
    check_broken_spdx(
        |doc| {
            let package = doc["packages"][1].as_object_mut().unwrap();
            let value = package.remove("downloadLocation").unwrap();
            package.insert("downloadLocaton".to_owned(), value);
        },
        "/packages/1",
        "additionalProperties",
    );
    check_broken_spdx(
        |doc| doc["packages"][0]["checksums"][0]["algorithm"] = "SHA-256".into(),
        "/packages/0/checksums/0/algorithm",
        "enum",
    );
    check_broken_spdx(
        |doc| doc["creationInfo"]["created"] = 20_221_231.into(),
        "/creationInfo/created",
        "type",
    );
}

#[test]
fn every_violation_is_reported_not_just_the_first() {
    let path = Path::new(CONFORMANCE).join("cyclonedx/fixtures/1.6/valid-bom-1.6.json");
    let mut document = read(&path);
    let components = document["components"].as_array_mut().unwrap();
    assert!(components.len() >= 2);
    for component in components.iter_mut() {
        component["type"] = "not-a-type".into();
    }
    let expected = components.len();
    let error = validate("bom.json", &document).unwrap_err();
    let SbomError::Invalid { violations, .. } = error else {
        panic!("expected schema violations");
    };
    let failing: Vec<&str> = violations
        .iter()
        .filter(|v| v.instance_path.ends_with("/type"))
        .map(|v| v.instance_path.as_str())
        .collect();
    assert_eq!(failing.len(), expected, "{violations:?}");
}

#[test]
fn documents_that_are_not_supported_sboms_are_named_and_refused() {
    for (document, expected) in [
        (serde_json::json!([]), "not a JSON object"),
        (serde_json::json!({"name": "x"}), "neither \"bomFormat\""),
        (
            serde_json::json!({"bomFormat": "SWID"}),
            "bomFormat is \"SWID\"",
        ),
        (
            serde_json::json!({"bomFormat": "CycloneDX", "specVersion": "1.3"}),
            "CycloneDX version 1.3 is not supported",
        ),
        (
            serde_json::json!({"spdxVersion": "SPDX-2.2"}),
            "SPDX version SPDX-2.2 is not supported",
        ),
    ] {
        let message = validate("doc.json", &document).unwrap_err().to_string();
        assert!(message.starts_with("doc.json: "), "{message}");
        assert!(message.contains(expected), "{message} lacks {expected}");
    }
}
