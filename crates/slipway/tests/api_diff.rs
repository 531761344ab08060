//! `slipway api diff` as a process: offline, no server, the JSON shape the contract check
//! promises, the table, `--fail-on`, and a clear error for a document that is not OpenAPI.

use std::path::Path;
use std::process::{Command, Output};

fn slipway(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(args)
        .env_remove("SLIPWAY_SERVER")
        .env_remove("SLIPWAY_TOKEN")
        .output()
        .expect("slipway runs")
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

const BASE: &str = "openapi: 3.0.3\ninfo: {title: shop, version: 1.0.0}\npaths:\n  /orders/{id}:\n    get:\n      parameters:\n        - {name: id, in: path, required: true, schema: {type: string}}\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema:\n                type: object\n                required: [total]\n                properties:\n                  total: {type: number}\n                  note: {type: string}\n  /legacy:\n    get:\n      deprecated: true\n      x-sunset: '2099-12-31'\n      responses: {'200': {description: ok}}\n";

const REVISION: &str = "{\"openapi\": \"3.0.3\", \"info\": {\"title\": \"shop\", \"version\": \"1.0.0\"}, \"paths\": {\"/orders/{orderId}\": {\"get\": {\"parameters\": [{\"name\": \"orderId\", \"in\": \"path\", \"required\": true, \"schema\": {\"type\": \"string\"}}], \"responses\": {\"200\": {\"description\": \"ok\", \"content\": {\"application/json\": {\"schema\": {\"type\": \"object\", \"properties\": {\"total\": {\"type\": \"number\"}, \"note\": {\"type\": \"string\"}}}}}}}}}}}";

#[test]
fn api_diff_reports_oasdiff_findings_offline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = write(dir.path(), "base.yaml", BASE);
    let revision = write(dir.path(), "revision.json", REVISION);

    let out = slipway(&[
        "api",
        "diff",
        &base,
        &revision,
        "-o",
        "json",
        "--clock",
        "2026-08-06",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let changes = report["changes"].as_array().expect("changes");
    let mut seen: Vec<(String, String, String, String)> = changes
        .iter()
        .map(|c| {
            let keys: Vec<&str> = c
                .as_object()
                .expect("object")
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(keys, ["id", "level", "operation", "path", "text"]);
            let s = |k: &str| c[k].as_str().expect("string").to_owned();
            (s("id"), s("level"), s("operation"), s("path"))
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            (
                "api-path-removed-before-sunset".into(),
                "ERR".into(),
                "GET".into(),
                "/legacy".into()
            ),
            (
                "response-property-became-optional".into(),
                "ERR".into(),
                "GET".into(),
                "/orders/{id}".into()
            ),
        ]
    );

    // only the breaking ones, and the exit code asked for
    let out = slipway(&[
        "api",
        "diff",
        &base,
        &revision,
        "-o",
        "json",
        "--clock",
        "2099-12-31",
        "--min-level",
        "ERR",
        "--fail-on",
        "ERR",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        report["changes"].as_array().map(Vec::len),
        Some(1),
        "past the sunset only the property change is breaking"
    );

    let out = slipway(&["api", "diff", &base, &base]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "no changes");

    let table = slipway(&["api", "diff", &base, &revision, "--clock", "2026-08-06"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("response-property-became-optional") && text.contains("2 error(s)"),
        "{text}"
    );

    let swagger = write(dir.path(), "swagger.yaml", "swagger: '2.0'\n");
    let out = slipway(&["api", "diff", &swagger, &base]);
    assert_eq!(out.status.code(), Some(3));
    let error = String::from_utf8_lossy(&out.stderr);
    assert!(
        error.contains("swagger.yaml: $.swagger: Swagger 2.0 is not supported"),
        "{error}"
    );

    let out = slipway(&[
        "api",
        "diff",
        &dir.path().join("missing.yaml").display().to_string(),
        &base,
    ]);
    assert_eq!(out.status.code(), Some(4));
}
