//! End-of-support checks against the shared endoflife.date data
//! (`../shared/conformance/eol/products.json`), with a pinned "today".

use slipway_deps::{Declared, EolDatabase, SupportStatus, check_support};
use std::path::Path;

fn database() -> EolDatabase {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/eol/products.json");
    let text = std::fs::read_to_string(path).expect("products.json");
    EolDatabase::parse("products.json", &text).expect("parses")
}

fn check(
    database: &EolDatabase,
    product: &str,
    version: &str,
    expected: (SupportStatus, Option<&str>, Option<&str>),
) {
    let today = jiff::civil::date(2026, 8, 22);
    let declared = [Declared {
        service: "svc".to_owned(),
        product: product.to_owned(),
        version: version.to_owned(),
    }];
    let finding = &check_support(database, &declared, today, 90)[0];
    let next_cycle = finding
        .next_supported
        .as_deref()
        .map(|n| n.split(' ').next().unwrap_or(n));
    assert_eq!(
        (finding.status, finding.cycle.as_deref(), next_cycle),
        expected,
        "{product} {version}: {finding:?}"
    );
}

#[test]
fn runtimes_are_checked_against_endoflife_data() {
    let db = database();
    check(
        &db,
        "python",
        "3.9.18",
        (SupportStatus::Ended, Some("3.9"), Some("3.10")),
    );
    check(
        &db,
        "python",
        "3.10.4",
        (SupportStatus::EndingSoon, Some("3.10"), Some("3.11")),
    );
    check(
        &db,
        "python",
        "3.12.1",
        (SupportStatus::Supported, Some("3.12"), None),
    );
    check(
        &db,
        "pkg:generic/python",
        "3.12.1",
        (SupportStatus::Supported, Some("3.12"), None),
    );
    check(
        &db,
        "nodejs",
        "v21.7.0",
        (SupportStatus::Ended, Some("21"), Some("22")),
    );
    check(
        &db,
        "pkg:maven/org.apache.logging.log4j/log4j-core@2.12.1",
        "2.12.1",
        (SupportStatus::Ended, Some("2.12"), None),
    );
    check(
        &db,
        "pkg:maven/org.apache.logging.log4j/log4j-core",
        "2.17.1",
        (SupportStatus::Supported, Some("2"), None),
    );
    check(
        &db,
        "postgresql",
        "13.4",
        (SupportStatus::Ended, Some("13"), Some("14")),
    );
    check(
        &db,
        "no-such-product",
        "1.0",
        (SupportStatus::Unknown, None, None),
    );
    check(&db, "python", "1.5", (SupportStatus::Unknown, None, None));
}

#[test]
fn a_bad_database_is_refused() {
    let error =
        EolDatabase::parse("db.json", r#"[{"id": "x", "releases": [{"eol": true}]}]"#).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("db.json: missing field `releaseCycle`"),
        "{error}"
    );
}
