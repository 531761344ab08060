//! Fuzzes SARIF parsing, structural checks, summaries and the fail-on policy. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_sbom::{FailOn, SarifPolicy, parse_sarif};

fuzz_target!(|data: &[u8]| {
    if let Ok(summary) = parse_sarif("fuzz", data) {
        let total = summary.counts.error
            + summary.counts.warning
            + summary.counts.note
            + summary.counts.none;
        assert_eq!(total, summary.results.len(), "every result is counted once");
        for fail_on in [FailOn::Error, FailOn::Warning, FailOn::Note] {
            let verdict = SarifPolicy { fail_on }.evaluate(&summary);
            assert_eq!(verdict.passed, verdict.offending.is_empty());
        }
    }
});
