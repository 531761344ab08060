#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors
//! Malformed and hostile policies: loading refuses them with an error that
//! names the policy, evaluation fails closed within the time limit, and
//! nothing panics.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use slipway_policy::{PolicyError, PolicyLimits, PolicySet, PolicySource};
use support::{EXAMPLES, example, input_with};

fn source(name: &str, rego_text: &str) -> PolicySource {
    PolicySource {
        name: name.to_owned(),
        rego_text: rego_text.to_owned(),
    }
}

/// Loading `rego_text` fails, and the message names the policy and contains
/// each of `fragments`.
fn check_refused(rego_text: &str, fragments: &[&str]) {
    let Err(error) = PolicySet::load(vec![source("hostile", rego_text)]) else {
        panic!("{rego_text:?} loaded");
    };
    let message = error.to_string();
    assert!(message.contains("\"hostile\""), "{message}");
    for fragment in fragments {
        assert!(
            message.contains(fragment),
            "{rego_text:?}: {message:?} lacks {fragment:?}"
        );
    }
}

#[test]
fn malformed_policies_are_refused_with_the_policy_named() {
    let cases: &[(&str, &[&str])] = &[
        ("", &["could not be loaded"]),
        ("package", &["could not be loaded"]),
        (
            "package slipway.gate\n\ndeny contains",
            &["could not be loaded", "hostile.rego:3"],
        ),
        (
            "package slipway.gate\ndeny contains msg if {\n  msg := \"x\"\n",
            &["could not be loaded"],
        ),
        ("\u{0}\u{1}\u{ff}{{{{", &["could not be loaded"]),
        // Rego v0 syntax (no `if` / `contains`) is refused: policies are v1.
        (
            "package slipway.gate\ndeny[msg] { msg := \"x\" }",
            &["could not be loaded"],
        ),
        (
            "package other\nimport rego.v1\ndeny contains \"x\" if true",
            &["package \"other\""],
        ),
        (
            "package slipway.gatekeeper\ndeny contains \"x\" if true",
            &["package \"slipway.gatekeeper\""],
        ),
        (
            "package slipway.gate\nallow := true",
            &["declares no `deny` rule"],
        ),
        // Recursive functions would overflow the stack: refused before any evaluation.
        (
            "package slipway.gate\nf(x) := y if { y := f(x) }\ndeny contains x if { x := f(1) }",
            &["recursive function (f)"],
        ),
        (
            "package slipway.gate\nf(x) := y if { y := g(x) }\ng(x) := y if { y := data.slipway.gate.f(x) }\ndeny contains x if { x := f(1) }",
            &["recursive function (f → g → f)"],
        ),
        (
            "package slipway.gate\nf(x) := 1 if x > 1\nf(x) := y if { x <= 1; y := h (x) }\nh(x) := f(x + 1)\ndeny contains \"x\" if f(0) == 1",
            &["recursive function (f → h → f)"],
        ),
    ];
    for (rego_text, fragments) in cases {
        check_refused(rego_text, fragments);
    }
}

#[test]
fn oversized_policies_are_refused() {
    let long_line = format!(
        "package slipway.gate\ndeny contains \"{}\" if false",
        "a".repeat(5_000)
    );
    check_refused(&long_line, &["could not be loaded"]);

    let limits = PolicyLimits {
        max_policy_bytes: 64,
        ..PolicyLimits::default()
    };
    let text = format!(
        "package slipway.gate\n{}deny contains \"x\" if false",
        "\n".repeat(100)
    );
    let error = PolicySet::load_with_limits(vec![source("big", &text)], limits).unwrap_err();
    assert!(error.to_string().contains("\"big\""), "{error}");

    let zero = PolicyLimits {
        time_limit: Duration::ZERO,
        ..PolicyLimits::default()
    };
    assert!(matches!(
        PolicySet::load_with_limits(vec![], zero),
        Err(PolicyError::InvalidLimits { .. })
    ));
}

#[test]
fn names_must_be_present_and_unique() {
    let ok = "package slipway.gate\ndeny contains \"x\" if false";
    assert_eq!(
        PolicySet::load(vec![source(" ", ok)]).unwrap_err(),
        PolicyError::EmptyName { index: 0 }
    );
    assert_eq!(
        PolicySet::load(vec![source("a", ok), source("a", ok)]).unwrap_err(),
        PolicyError::DuplicateName {
            name: "a".to_owned()
        }
    );
}

#[test]
fn truncated_examples_never_panic() {
    for name in EXAMPLES {
        let text = example(name).rego_text;
        let cuts: Vec<usize> = (0..=text.len())
            .filter(|&cut| text.is_char_boundary(cut))
            .collect();
        for cut in cuts {
            let truncated = source(name, &text[..cut]);
            if let Ok(set) = PolicySet::load(vec![truncated]) {
                // Whatever loads also evaluates without panicking.
                set.evaluate(&input_with(&[])).unwrap();
            }
        }
    }
}

/// Evaluates `rego_text` (which must load) over the allowed input and returns
/// the policy's error, asserting that it denied and how long it took.
fn evaluation_error(rego_text: &str, limits: PolicyLimits) -> (String, Duration) {
    let set = PolicySet::load_with_limits(vec![source("hostile", rego_text)], limits).unwrap();
    let started = Instant::now();
    let verdict = set.evaluate(&input_with(&[])).unwrap();
    let took = started.elapsed();
    assert!(!verdict.allowed, "{rego_text}");
    let error = verdict.policies[0].error.clone().unwrap_or_default();
    assert!(verdict.deny_reasons()[0].starts_with("hostile: evaluation failed: "));
    (error, took)
}

#[test]
fn runaway_evaluation_stops_at_the_time_limit_and_denies() {
    let limits = PolicyLimits {
        time_limit: Duration::from_millis(200),
        ..PolicyLimits::default()
    };
    // 10^12 combinations: hours of work without the limit.
    let cartesian = "package slipway.gate
deny contains \"never\" if {
  some a in numbers.range(1, 10000)
  some b in numbers.range(1, 10000)
  some c in numbers.range(1, 10000)
  a + b + c < 0
}";
    let (error, took) = evaluation_error(cartesian, limits);
    assert!(error.contains("time limit"), "{error}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[test]
fn evaluation_failures_deny() {
    let limits = PolicyLimits::default();
    let cases = [
        // A range too large to allocate is refused instead of exhausting memory.
        (
            "package slipway.gate\ndeny contains \"x\" if { count(numbers.range(0, 1000000000000)) > 0 }",
            "at most 10000",
        ),
        (
            "package slipway.gate\ndeny contains \"x\" if { count(numbers.range_step(0, 100000000, 3)) > 0 }",
            "at most 10000",
        ),
        (
            "package slipway.gate\ndeny := 1",
            "must be a set of strings, but it is a number",
        ),
        (
            "package slipway.gate\ndeny contains 7 if true",
            "but it contains a number",
        ),
        (
            "package slipway.gate\ndeny := {\"a\": 1}",
            "but it is an object",
        ),
        (
            "package slipway.gate\ndeny contains \"x\" if true\nwarn := true",
            "`warn` must be a set of strings",
        ),
        // Strict built-in errors: a malformed time is an error, not a skipped rule.
        (
            "package slipway.gate\ndeny contains \"late\" if { time.parse_rfc3339_ns(\"not a time\") > 0 }",
            "parse",
        ),
        // Recursive rules are caught by regorus when they run.
        (
            "package slipway.gate\ndeny contains x if { some x in deny }",
            "recursion detected",
        ),
        (
            "package slipway.gate\ndeny contains x if { some x in a }\na contains x if { some x in deny }",
            "recursion detected",
        ),
        (
            "package slipway.gate\nf(x) := y if { some y in r }\nr contains y if { y := f(1) }\ndeny contains x if { some x in r }",
            "recursion detected",
        ),
        // Unknown functions, and built-ins not compiled in, are only found when the rule runs.
        (
            "package slipway.gate\ndeny contains x if { x := undefined_function(1) }",
            "undefined_function",
        ),
        (
            "package slipway.gate\ndeny contains x if { regex.match(\"a\", \"a\"); x := \"r\" }",
            "regex.match",
        ),
        (
            "package slipway.gate\ndeny contains \"x\" if { 1 / 0 == 0 }",
            "divide",
        ),
    ];
    for (rego_text, fragment) in cases {
        let (error, _) = evaluation_error(rego_text, limits);
        assert!(
            error.contains(fragment),
            "{rego_text}: {error:?} lacks {fragment:?}"
        );
    }
}

#[test]
fn bounded_ranges_still_work() {
    let text = "package slipway.gate
deny contains msg if {
  numbers.range(1, 3) == [1, 2, 3]
  numbers.range(3, 1) == [3, 2, 1]
  numbers.range_step(0, 10, 4) == [0, 4, 8]
  numbers.range_step(10, 0, 5) == [10, 5, 0]
  msg := \"ranges as in OPA\"
}";
    let set = PolicySet::load(vec![source("ranges", text)]).unwrap();
    let verdict = set.evaluate(&input_with(&[])).unwrap();
    assert_eq!(verdict.policies[0].error, None);
    assert_eq!(verdict.policies[0].deny, ["ranges as in OPA"]);
}

#[test]
fn undefined_deny_is_empty_and_input_must_be_an_object() {
    let text = "package slipway.gate.sub\ndeny := {\"x\"} if input.missing.field";
    let set = PolicySet::load(vec![source("sub", text)]).unwrap();
    let verdict = set.evaluate(&input_with(&[])).unwrap();
    assert!(verdict.allowed);
    assert_eq!(verdict.policies[0].deny, Vec::<String>::new());
    assert_eq!(
        set.evaluate(&json!([1])).unwrap_err(),
        PolicyError::InputNotObject
    );
}

#[test]
fn an_empty_set_allows_everything() {
    let set = PolicySet::load(vec![]).unwrap();
    assert!(set.is_empty());
    assert!(set.evaluate(&json!({})).unwrap().allowed);
}
