//! Fuzzes SBOM ingestion: format detection, schema validation, normalisation (also of documents
//! that skip validation), package coordinates and the license policy over what comes out, and
//! package URL parsing of the raw text. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_sbom::{LicensePolicy, Purl, Sbom, UnknownLicense, ingest, normalise};

fn exercise(sbom: &Sbom) {
    for component in &sbom.components {
        let _ = component.package_coordinates();
        let _ = component.is_named("pkg");
    }
    let policy = LicensePolicy {
        allow: vec![
            "MIT".to_owned(),
            "Apache-2.0 WITH LLVM-exception".to_owned(),
        ],
        deny: vec!["GPL-3.0-only".to_owned()],
        unknown: UnknownLicense::Deny,
        ..LicensePolicy::default()
    };
    if let Ok(report) = policy.evaluate(&sbom.components) {
        let _ = report.passed();
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(sbom) = ingest("fuzz", data) {
        exercise(&sbom);
    }
    if let Ok(document) = serde_json::from_slice::<serde_json::Value>(data)
        && let Ok(sbom) = normalise("fuzz", &document)
    {
        exercise(&sbom);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Purl::parse(text);
    }
});
