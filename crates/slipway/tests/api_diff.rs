//! `slipway api diff` as a process: offline, no server, the JSON shape the contract check
//! promises, the table, `--fail-on`, and a clear error for a document that is not OpenAPI.

use crate::support::*;
use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

const BASE: &str = "openapi: 3.0.3\ninfo: {title: shop, version: 1.0.0}\npaths:\n  /orders/{id}:\n    get:\n      parameters:\n        - {name: id, in: path, required: true, schema: {type: string}}\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema:\n                type: object\n                required: [total]\n                properties:\n                  total: {type: number}\n                  note: {type: string}\n  /legacy:\n    get:\n      deprecated: true\n      x-sunset: '2099-12-31'\n      responses: {'200': {description: ok}}\n";

const REVISION: &str = "{\"openapi\": \"3.0.3\", \"info\": {\"title\": \"shop\", \"version\": \"1.0.0\"}, \"paths\": {\"/orders/{orderId}\": {\"get\": {\"parameters\": [{\"name\": \"orderId\", \"in\": \"path\", \"required\": true, \"schema\": {\"type\": \"string\"}}], \"responses\": {\"200\": {\"description\": \"ok\", \"content\": {\"application/json\": {\"schema\": {\"type\": \"object\", \"properties\": {\"total\": {\"type\": \"number\"}, \"note\": {\"type\": \"string\"}}}}}}}}}}}";

#[test]
fn api_diff_reports_oasdiff_findings_offline() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    let run = |args: &[&str]| slipway(&config, &[], args);
    let base = write(dir.path(), "base.yaml", BASE);
    let revision = write(dir.path(), "revision.json", REVISION);

    let json_diff = |options: &[&str]| {
        let mut args = vec![
            "api",
            "diff",
            base.as_str(),
            revision.as_str(),
            "-o",
            "json",
        ];
        args.extend_from_slice(options);
        run(&args)
    };

    let report = json_diff(&["--clock", "2026-08-06"]).expect(OK).json();
    let changes = report["changes"].as_array().unwrap();
    let mut seen: Vec<(String, String, String, String)> = changes
        .iter()
        .map(|c| {
            let keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(keys, ["id", "level", "operation", "path", "text"]);
            let s = |k: &str| c[k].as_str().unwrap().to_owned();
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

    // only the breaking ones past the sunset date, and the exit code asked for
    let report = json_diff(&[
        "--clock",
        "2099-12-31",
        "--min-level",
        "ERR",
        "--fail-on",
        "ERR",
    ])
    .expect(1)
    .json();
    assert_eq!(
        report["changes"].as_array().map(Vec::len),
        Some(1),
        "{report}"
    );

    run(&["api", "diff", &base, &base])
        .expect(OK)
        .prints(&["no changes"]);
    run(&["api", "diff", &base, &revision, "--clock", "2026-08-06"])
        .expect(OK)
        .prints(&[
            "response-property-became-optional",
            "2 error(s), 0 warning(s), 0 info",
        ]);

    let swagger = write(dir.path(), "swagger.yaml", "swagger: '2.0'\n");
    run(&["api", "diff", &swagger, &base])
        .expect(INVALID)
        .says(&["swagger.yaml: $.swagger: Swagger 2.0 is not supported"]);
    let missing = dir.path().join("missing.yaml").display().to_string();
    run(&["api", "diff", &missing, &base]).expect(NOT_FOUND);
}
