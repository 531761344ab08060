//! Reading what the server returns: the names in a list of resources, the revision in
//! `get -o yaml` output, the lines of a rollout's or a release's history.

use serde_json::Value;

/// Names of the items of a JSON list of resources.
#[track_caller]
pub fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a JSON list")
        .iter()
        .map(|r| r["metadata"]["name"].as_str().expect("a name").to_string())
        .collect()
}

/// The revision in `get -o yaml` output.
#[track_caller]
pub fn yaml_revision(yaml: &str) -> i64 {
    yaml.lines()
        .find_map(|l| l.trim().strip_prefix("revision: "))
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("no revision in\n{yaml}"))
}

/// A rollout's or a release's history lines.
#[track_caller]
pub fn history(status: &Value) -> Vec<String> {
    status["history"]
        .as_array()
        .unwrap_or_else(|| panic!("no history in {status}"))
        .iter()
        .map(|h| h["what"].as_str().expect("a history line").to_string())
        .collect()
}

/// When a rollout's history starts and ends (`atMs` of its first and last lines).
#[track_caller]
pub fn history_span(status: &Value) -> (u64, u64) {
    let lines = status["history"]
        .as_array()
        .unwrap_or_else(|| panic!("no history in {status}"));
    let at = |line: Option<&Value>| {
        line.and_then(|l| l["atMs"].as_u64())
            .unwrap_or_else(|| panic!("no atMs in {status}"))
    };
    (at(lines.first()), at(lines.last()))
}
