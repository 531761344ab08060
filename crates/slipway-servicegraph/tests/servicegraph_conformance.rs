//! The OpenTelemetry Collector servicegraph connector's cases
//! (`../shared/conformance/servicegraph`, upstream golden traces and the derived ones): every
//! trace is paired with the case's configuration, the store flushed, and the edges compared as
//! a set of (client, server, connection type, failed, dimensions) → count. Prints
//! `N passed, N failed`.

use serde_json::Value;
use slipway_servicegraph::{Aggregator, GraphConfig, parse_traces};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/servicegraph")
}

fn strings(value: Option<&Value>) -> Option<Vec<String>> {
    value?.as_array().map(|items| {
        items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    })
}

fn config(case: &Value) -> GraphConfig {
    let mut config = GraphConfig::default();
    let raw = &case["config"];
    if let Some(dimensions) = strings(raw.get("dimensions")) {
        config.dimensions = dimensions;
    }
    // An explicit list replaces the default (the string "default (...)" keeps it).
    if let Some(peers) = strings(raw.get("virtual_node_peer_attributes")) {
        config.virtual_node_peer_attributes = peers;
    }
    config.virtual_node_extra_label = raw
        .get("virtual_node_extra_label")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    // A legacy case records that its upstream revision predates the `virtual_node` label.
    if case["status"]
        .as_str()
        .is_some_and(|status| status.contains("no virtual_node label"))
    {
        config.virtual_node_extra_label = false;
    }
    if let Some(max) = raw
        .get("store")
        .and_then(|s| s.get("max_items"))
        .and_then(Value::as_u64)
    {
        config.max_items = usize::try_from(max).unwrap_or(usize::MAX);
    }
    config
}

type Edges = BTreeMap<(String, String, String, bool, BTreeMap<String, String>), u64>;

fn expected(case: &Value) -> Edges {
    let mut edges = Edges::new();
    for edge in case["expected_edges"].as_array().into_iter().flatten() {
        let text = |k: &str| edge[k].as_str().unwrap_or("").to_owned();
        let dimensions = edge["dimensions"]
            .as_object()
            .map(|d| {
                d.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        edges.insert(
            (
                text("client"),
                text("server"),
                text("connection_type"),
                edge["failed"].as_bool().unwrap_or(false),
                dimensions,
            ),
            edge["count"].as_u64().unwrap_or(0),
        );
    }
    edges
}

fn observed(case: &Value, base: &Path) -> Edges {
    let trace = case["trace"].as_str().expect("trace");
    let text = std::fs::read_to_string(base.join(trace)).expect("trace file");
    let mut aggregator = Aggregator::new(config(case));
    aggregator.ingest(&parse_traces(trace, &text).expect("trace parses"));
    aggregator.flush();
    aggregator
        .edges()
        .into_iter()
        .map(|(key, stats)| {
            (
                (
                    key.client,
                    key.server,
                    key.connection_type.as_str().to_owned(),
                    key.failed,
                    key.dimensions,
                ),
                stats.count,
            )
        })
        .collect()
}

#[test]
fn servicegraph_cases_pass() {
    let mut failures = Vec::new();
    let mut total = 0;
    for file in ["cases.json", "derived/cases.json"] {
        let path = folder().join(file);
        // trace paths are relative to the servicegraph folder in both files
        let base = folder();
        let cases: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("cases")).expect("json");
        for case in &cases {
            total += 1;
            let (want, got) = (expected(case), observed(case, &base));
            if want != got {
                failures.push(format!("{}: expected {want:?}, got {got:?}", case["name"]));
            }
        }
    }
    println!(
        "servicegraph: {} passed, {} failed",
        total - failures.len(),
        failures.len()
    );
    for failure in &failures {
        println!("  FAIL {failure}");
    }
    assert!(
        failures.is_empty(),
        "{} servicegraph cases failed",
        failures.len()
    );
}
