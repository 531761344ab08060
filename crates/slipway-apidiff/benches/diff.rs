//! `api diff` of two ~4 MB OpenAPI documents (goal: ≤ 400 ms), next to the baseline of parsing
//! them alone, measured in the same run.
//!
//! The documents are generated: hundreds of paths with parameters, request and response
//! bodies referring to shared component schemas; the revision changes a few percent of them
//! (types, bounds, enums, removed properties and operations, deprecations).

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use slipway_apidiff::{OpenApi, Options, compare};

/// Paths (and component models); sized so each document is about 4 MB.
const MODELS: usize = 560;

fn schema(i: usize, revised: bool) -> Value {
    let mut properties = serde_json::Map::new();
    for p in 0..24 {
        let changed = revised && (i + p).is_multiple_of(37);
        let property = match p % 4 {
            0 => {
                json!({"type": if changed { "integer" } else { "string" }, "maxLength": if changed { 20 } else { 64 }, "description": format!("field {p} of schema {i}")})
            }
            1 => {
                json!({"type": "integer", "minimum": 0, "maximum": if changed { 100 } else { 1000 }})
            }
            2 => {
                json!({"type": "string", "enum": if changed { json!(["a", "b"]) } else { json!(["a", "b", "c"]) }})
            }
            _ => {
                json!({"type": "array", "items": {"$ref": format!("#/components/schemas/Item{}", i % 50)}})
            }
        };
        if !(revised && p == 23 && i.is_multiple_of(11)) {
            properties.insert(format!("field{p}"), property);
        }
    }
    json!({"type": "object", "required": ["field0", "field1"], "properties": properties})
}

fn document(revised: bool) -> String {
    let mut paths = serde_json::Map::new();
    let mut schemas = serde_json::Map::new();
    for i in 0..50 {
        schemas.insert(
            format!("Item{i}"),
            json!({"type": "object", "properties": {"id": {"type": "string", "format": "uuid"}, "count": {"type": "integer"}}}),
        );
    }
    for i in 0..MODELS {
        schemas.insert(format!("Model{i}"), schema(i, revised));
        let mut item = serde_json::Map::new();
        for method in ["get", "post", "put"] {
            if revised && method == "put" && i.is_multiple_of(29) {
                continue;
            }
            let mut operation = json!({
                "operationId": format!("{method}Resource{i}"),
                "tags": ["resources"],
                "parameters": [
                    {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": if revised && i.is_multiple_of(13) { 50 } else { 100 }}},
                    {"name": "X-Trace", "in": "header", "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/Model{i}")}}}},
                    "404": {"description": "missing"}
                }
            });
            if method != "get" {
                operation["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/Model{}", (i + 1) % MODELS)}}}});
            }
            if revised && i.is_multiple_of(17) {
                operation["deprecated"] = json!(true);
                operation["x-sunset"] = json!("2099-01-01");
            }
            item.insert(method.to_owned(), operation);
        }
        paths.insert(format!("/resources{i}/{{id}}"), Value::Object(item));
    }
    let root = json!({"openapi": "3.0.3", "info": {"title": "bench", "version": "1.0.0"}, "paths": paths, "components": {"schemas": schemas}});
    serde_json::to_string_pretty(&root).unwrap_or_default()
}

fn benchmarks(c: &mut Criterion) {
    let (base_text, revision_text) = (document(false), document(true));
    if let Ok(dir) = std::env::var("APIDIFF_BENCH_WRITE") {
        let _ = std::fs::write(format!("{dir}/base.json"), &base_text);
        let _ = std::fs::write(format!("{dir}/revision.json"), &revision_text);
    }
    println!(
        "documents: {:.1} MB and {:.1} MB",
        base_text.len() as f64 / 1e6,
        revision_text.len() as f64 / 1e6
    );
    let options = Options::default();
    let mut group = c.benchmark_group("api_diff_4mb");
    group.sample_size(20);
    group.bench_function("baseline_parse_both", |b| {
        b.iter(|| {
            let base = OpenApi::parse("base", &base_text).map(|_| ());
            let revision = OpenApi::parse("revision", &revision_text).map(|_| ());
            (base, revision)
        });
    });
    group.bench_function("parse_and_diff", |b| {
        b.iter(|| {
            let (Ok(base), Ok(revision)) = (
                OpenApi::parse("base", &base_text),
                OpenApi::parse("revision", &revision_text),
            ) else {
                return 0;
            };
            compare(&base, &revision, &options).len()
        });
    });
    group.finish();
}

criterion_group!(benches, benchmarks);
criterion_main!(benches);
