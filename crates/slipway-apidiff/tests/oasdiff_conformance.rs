//! Runs oasdiff's own breaking-change cases (`../shared/conformance/openapi/oasdiff`): every
//! exact case (a full list of findings, a count, or no findings) and every partial case (rule
//! ids that must or must not be reported), each filtered to the scope its upstream test looked
//! at, and prints `N passed, N failed` per file.

use serde_json::Value;
use slipway_apidiff::{Finding, Level, OpenApi, Options, StabilityLevel, compare, rules};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/openapi/oasdiff")
}

fn load(path: &str) -> OpenApi {
    let full = folder().join(path);
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()));
    OpenApi::parse(path, &text).unwrap_or_else(|e| panic!("{e}"))
}

fn options(case: &Value) -> Options {
    let mut options = Options {
        today: jiff::civil::date(2026, 8, 6),
        ..Options::default()
    };
    if let Some(clock) = case.get("clock").and_then(Value::as_str) {
        options.today = clock.parse().expect("clock");
    }
    if let Some(o) = case.get("options") {
        if let Some(days) = o.get("min_sunset_beta_days").and_then(Value::as_u64) {
            options.min_sunset_beta_days = u32::try_from(days).expect("days");
        }
        if let Some(days) = o.get("min_sunset_stable_days").and_then(Value::as_u64) {
            options.min_sunset_stable_days = u32::try_from(days).expect("days");
        }
        if let Some(level) = o.get("stability_level").and_then(Value::as_str) {
            options.stability_level = StabilityLevel::parse(level).expect("stability level");
        }
    }
    options.versioning_policy = case["scope"]
        .get("versioning_policy")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    // The case files do not record oasdiff's flatten-params option; the upstream test names it.
    options.flatten_params = case["name"]
        .as_str()
        .is_some_and(|name| name.contains("WithFlatten"));
    options
}

/// The findings the upstream test looked at.
fn in_scope(case: &Value, findings: Vec<Finding>) -> Vec<Finding> {
    let scope = &case["scope"];
    let min_level = Level::parse(scope["min_level"].as_str().unwrap_or("INFO")).expect("level");
    let versioning = scope
        .get("versioning_policy")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    findings
        .into_iter()
        .filter(|f| f.level >= min_level)
        .filter(|f| match &scope["rules"] {
            Value::String(all) if all == "all" => {
                versioning || !rules::VERSIONING_RULES.contains(&f.id.as_str())
            }
            Value::Array(ids) => ids.iter().any(|id| id.as_str() == Some(f.id.as_str())),
            _ => false,
        })
        .collect()
}

fn triple(v: &Value) -> (String, String, String) {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    (s("id"), s("operation"), s("path"))
}

fn matches(finding: &Finding, want: &Value) -> bool {
    let (id, operation, path) = triple(want);
    finding.id == id
        && (want.get("operation").is_none() || finding.operation == operation)
        && (want.get("path").is_none() || finding.path == path)
}

/// Checks one case; `Err` says what differed.
fn check(case: &Value) -> Result<(), String> {
    let base = load(case["base"].as_str().expect("base"));
    let revision = load(case["revision"].as_str().expect("revision"));
    let found = in_scope(case, compare(&base, &revision, &options(case)));
    let expected = &case["expected"];
    let got = || {
        found
            .iter()
            .map(|f| format!("{} {} {}", f.id, f.operation, f.path))
            .collect::<Vec<_>>()
    };
    if expected.get("empty").is_some() {
        return if found.is_empty() {
            Ok(())
        } else {
            Err(format!("expected none, got {:?}", got()))
        };
    }
    if let Some(changes) = expected.get("changes").and_then(Value::as_array) {
        let mut want: HashMap<(String, String, String), i64> = HashMap::new();
        for change in changes {
            *want.entry(triple(change)).or_default() += 1;
        }
        let mut have: HashMap<(String, String, String), i64> = HashMap::new();
        for f in &found {
            *have
                .entry((f.id.clone(), f.operation.clone(), f.path.clone()))
                .or_default() += 1;
        }
        return if want == have {
            Ok(())
        } else {
            Err(format!(
                "expected {:?}, got {:?}",
                changes.iter().map(triple).collect::<Vec<_>>(),
                got()
            ))
        };
    }
    if let Some(count) = expected.get("count").and_then(Value::as_u64)
        && found.len() as u64 != count
    {
        return Err(format!("expected {count} findings, got {:?}", got()));
    }
    if let Some(ids) = expected.get("ids").and_then(Value::as_array) {
        let mut want: Vec<&str> = ids.iter().filter_map(Value::as_str).collect();
        let mut have: Vec<&str> = found.iter().map(|f| f.id.as_str()).collect();
        want.sort_unstable();
        have.sort_unstable();
        if want != have {
            return Err(format!("expected ids {want:?}, got {:?}", got()));
        }
    }
    if let Some(includes) = expected.get("includes").and_then(Value::as_array) {
        for want in includes {
            if !found.iter().any(|f| matches(f, want)) {
                return Err(format!("missing {want}, got {:?}", got()));
            }
        }
    }
    if let Some(excludes) = expected.get("excludes").and_then(Value::as_array) {
        for id in excludes.iter().filter_map(Value::as_str) {
            if found.iter().any(|f| f.id == id) {
                return Err(format!("unexpected {id}, got {:?}", got()));
            }
        }
    }
    Ok(())
}

fn run(file: &str) -> (usize, Vec<String>) {
    let text = std::fs::read_to_string(folder().join(file)).expect("cases");
    let cases: Vec<Value> = serde_json::from_str(&text).expect("cases json");
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(reason) = check(case) {
            failures.push(format!(
                "{}: {reason}",
                case["name"].as_str().unwrap_or("?")
            ));
        }
    }
    (cases.len() - failures.len(), failures)
}

#[test]
fn oasdiff_cases_pass() {
    let mut all_failures = Vec::new();
    for file in ["cases.json", "cases-partial.json"] {
        let (passed, failures) = run(file);
        println!("oasdiff {file}: {passed} passed, {} failed", failures.len());
        for failure in &failures {
            println!("  FAIL {failure}");
        }
        all_failures.extend(failures);
    }
    assert!(
        all_failures.is_empty(),
        "{} oasdiff cases failed",
        all_failures.len()
    );
}
