#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors
//! License policy verdicts over SPDX expressions, exceptions, clarifications and unknowns.

use slipway_sbom::{Component, LicensePolicy, LicenseVerdict, UnknownLicense, ingest};

const POLICY: &str = r"
allow: [MIT, Apache-2.0, BSD-3-Clause, ISC, 'GPL-2.0-only WITH Classpath-exception-2.0', LicenseRef-Corp]
deny: [GPL-3.0-only, AGPL-3.0-or-later]
exceptions:
  - name: readline-wrapper
    allow: [GPL-3.0-only]
  - name: '@scope/pinned'
    version: 1.0.0
    allow: [MPL-2.0]
clarifications:
  - name: mislabelled
    expression: MIT
  - name: missing
    version: 2.0.0
    expression: Apache-2.0 OR GPL-3.0-only
unknown: deny
";

fn component(name: &str, version: &str, licenses: Option<&str>) -> Component {
    let (group, name) = match name.rsplit_once('/') {
        Some((group, name)) => (Some(group.to_owned()), name.to_owned()),
        None => (None, name.to_owned()),
    };
    Component {
        reference: None,
        group,
        name,
        version: Some(version.to_owned()),
        purl: None,
        licenses: licenses.map(str::to_owned),
        hashes: Vec::new(),
        supplier: None,
    }
}

/// Judges one component under `policy` and checks verdict, blocking and that every `reason_parts`
/// appears in the reason.
fn check(
    policy: &LicensePolicy,
    subject: Component,
    verdict: LicenseVerdict,
    blocking: bool,
    reason_parts: &[&str],
) {
    let report = policy.evaluate(std::slice::from_ref(&subject)).unwrap();
    let finding = &report.findings[0];
    let label = format!("{} {:?}", subject.name, subject.licenses);
    assert_eq!(finding.verdict, verdict, "{label}: {}", finding.reason);
    assert_eq!(finding.blocking, blocking, "{label}: {}", finding.reason);
    assert_eq!(report.passed(), !blocking, "{label}");
    for part in reason_parts {
        assert!(
            finding.reason.contains(part),
            "{label}: {:?} lacks {part:?}",
            finding.reason
        );
    }
}

fn policy() -> LicensePolicy {
    yaml_serde::from_str(POLICY).unwrap()
}

#[test]
fn expressions_are_judged_by_their_operators() {
    use LicenseVerdict::{Allowed, Denied, Invalid};
    let policy = policy();
    for (licenses, verdict, reason_parts) in [
        ("MIT", Allowed, &["MIT"][..]),
        ("MIT OR GPL-3.0-only", Allowed, &["MIT"][..]),
        ("GPL-3.0-only OR MIT", Allowed, &["MIT"][..]),
        ("MIT AND Apache-2.0", Allowed, &["MIT", "Apache-2.0"][..]),
        (
            "MIT AND GPL-3.0-only",
            Denied,
            &["GPL-3.0-only is denied"][..],
        ),
        (
            "MIT AND MPL-2.0",
            Denied,
            &["MPL-2.0 is not in the allow list"][..],
        ),
        (
            "GPL-3.0-only OR MPL-2.0",
            Denied,
            &["GPL-3.0-only is denied", "MPL-2.0 is not in the allow list"][..],
        ),
        (
            "(MIT OR Apache-2.0) AND BSD-3-Clause",
            Allowed,
            &["BSD-3-Clause"][..],
        ),
        (
            "AGPL-3.0-or-later",
            Denied,
            &["AGPL-3.0-or-later is denied"][..],
        ),
        (
            "GPL-2.0-only WITH Classpath-exception-2.0",
            Allowed,
            &["Classpath-exception-2.0"][..],
        ),
        (
            "GPL-2.0-only",
            Denied,
            &["GPL-2.0-only is not in the allow list"][..],
        ),
        ("LicenseRef-Corp", Allowed, &["LicenseRef-Corp"][..]),
        (
            "LicenseRef-Other",
            Denied,
            &["LicenseRef-Other is not in the allow list"][..],
        ),
        // lax parsing: `/` for OR, as npm and crates.io metadata write it
        ("MIT/Apache-2.0", Allowed, &["MIT"][..]),
        (
            "Apache License, Version 2.0",
            Invalid,
            &["is not an SPDX expression"][..],
        ),
        ("MIT AND", Invalid, &["is not an SPDX expression"][..]),
    ] {
        let blocking = verdict != Allowed;
        check(
            &policy,
            component("pkg", "1.0.0", Some(licenses)),
            verdict,
            blocking,
            reason_parts,
        );
    }
}

#[test]
fn exceptions_allow_extra_licences_for_named_packages_only() {
    use LicenseVerdict::{Allowed, Denied};
    let policy = policy();
    check(
        &policy,
        component("readline-wrapper", "3.1.0", Some("GPL-3.0-only")),
        Allowed,
        false,
        &["GPL-3.0-only"],
    );
    check(
        &policy,
        component("other", "3.1.0", Some("GPL-3.0-only")),
        Denied,
        true,
        &["is denied"],
    );
    check(
        &policy,
        component("@scope/pinned", "1.0.0", Some("MPL-2.0")),
        Allowed,
        false,
        &["MPL-2.0"],
    );
    check(
        &policy,
        component("@scope/pinned", "1.0.1", Some("MPL-2.0")),
        Denied,
        true,
        &["not in the allow list"],
    );
}

#[test]
fn clarifications_replace_what_the_sbom_says() {
    use LicenseVerdict::{Allowed, Invalid, Unknown};
    let policy = policy();
    check(
        &policy,
        component("mislabelled", "1.0.0", Some("Some Weird Text")),
        Allowed,
        false,
        &["clarified by the policy"],
    );
    check(
        &policy,
        component("missing", "2.0.0", None),
        Allowed,
        false,
        &["Apache-2.0", "clarified"],
    );
    // another version: the clarification does not apply
    check(
        &policy,
        component("missing", "2.0.1", None),
        Unknown,
        true,
        &["no licence information"],
    );
    check(
        &policy,
        component("unclarified", "1.0.0", Some("Some Weird Text")),
        Invalid,
        true,
        &["Some Weird Text"],
    );
}

#[test]
fn unknown_licences_follow_the_policy() {
    let mut policy = policy();
    check(
        &policy,
        component("bare", "1.0.0", None),
        LicenseVerdict::Unknown,
        true,
        &["denies unknown"],
    );
    policy.unknown = UnknownLicense::Allow;
    check(
        &policy,
        component("bare", "1.0.0", None),
        LicenseVerdict::Unknown,
        false,
        &["allows unknown"],
    );
}

#[test]
fn a_policy_without_allow_list_only_denies() {
    let policy: LicensePolicy = serde_json::from_str(r#"{"deny": ["GPL-3.0-only"]}"#).unwrap();
    check(
        &policy,
        component("a", "1", Some("MPL-2.0")),
        LicenseVerdict::Allowed,
        false,
        &["MPL-2.0"],
    );
    check(
        &policy,
        component("b", "1", Some("GPL-3.0-only")),
        LicenseVerdict::Denied,
        true,
        &["is denied"],
    );
}

#[test]
fn policy_entries_that_are_not_spdx_are_named() {
    for (text, field) in [
        ("allow: [MIT, Not A Licence]", "allow[1]"),
        ("deny: [GPL-3.0-onlyy]", "deny[0]"),
        (
            "exceptions: [{name: x, allow: [MIT, '']}]",
            "exceptions[0].allow[1]",
        ),
        (
            "clarifications: [{name: x, expression: 'MIT AND'}]",
            "clarifications[0].expression",
        ),
    ] {
        let policy: LicensePolicy = yaml_serde::from_str(text).unwrap();
        let error = policy.check().unwrap_err();
        assert_eq!(error.field, field, "{text}");
        assert!(
            error
                .to_string()
                .starts_with(&format!("license policy {field}: ")),
            "{error}"
        );
        assert!(policy.evaluate(&[]).is_err());
    }
    let typo = yaml_serde::from_str::<LicensePolicy>("alow: [MIT]");
    assert!(typo.is_err(), "unknown fields are refused");
}

#[test]
fn juice_shop_under_a_permissive_policy() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/conformance/sbom/cyclonedx/real/juice-shop-via_npm-flat.bom.1.4.json"
    );
    let sbom = ingest("juice-shop", &std::fs::read(path).unwrap()).unwrap();
    let policy: LicensePolicy = yaml_serde::from_str(
        "allow: [MIT, ISC, Apache-2.0, BSD-2-Clause, BSD-3-Clause, 0BSD, CC0-1.0, Unlicense]\nunknown: allow",
    )
    .unwrap();
    let report = policy.evaluate(&sbom.components).unwrap();
    assert_eq!(report.findings.len(), 1115);
    let count = |verdict| {
        report
            .findings
            .iter()
            .filter(|f| f.verdict == verdict)
            .count()
    };
    assert_eq!(count(LicenseVerdict::Unknown), 9);
    let express = report
        .findings
        .iter()
        .find(|f| f.component == "express")
        .unwrap();
    assert_eq!(express.verdict, LicenseVerdict::Allowed);
    let scoped = report
        .findings
        .iter()
        .find(|f| f.component == "@babel/helper-string-parser")
        .unwrap();
    assert_eq!(scoped.version.as_deref(), Some("7.19.4"));
    let mut violations: Vec<(&str, LicenseVerdict)> = report
        .violations()
        .map(|finding| (finding.expression.as_deref().unwrap(), finding.verdict))
        .collect();
    violations.sort_by_key(|(expression, _)| *expression);
    // the licence *names* "MIT/X11", "Apache2", "BSD" and "WTFPL OR ISC" parse in lax mode and pass
    let denied = LicenseVerdict::Denied;
    assert_eq!(
        violations,
        [
            ("CC-BY-3.0", denied),
            ("GPL-2.0", denied),
            ("WTFPL", denied),
            ("WTFPL", denied)
        ]
    );
}
