//! Rule families on small documents written for each row: a request body, a response body, a
//! parameter or a response header changes in one way, and the findings' ids are compared.

use slipway_apidiff::{Level, OpenApi, Options, StabilityLevel, compare};

/// Where the schemas of a row go.
#[derive(Clone, Copy)]
enum Place {
    RequestBody,
    ResponseBody,
    QueryParameter,
    ResponseHeader,
}

fn document(place: Place, schema: &str) -> String {
    let indent = |text: &str, spaces: usize| {
        text.lines()
            .map(|line| format!("{}{line}", " ".repeat(spaces)))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let body = match place {
        Place::RequestBody => format!(
            "      requestBody:\n        content:\n          application/json:\n            schema:\n{}\n      responses:\n        '200': {{description: ok}}\n",
            indent(schema, 14)
        ),
        Place::ResponseBody => format!(
            "      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema:\n{}\n",
            indent(schema, 16)
        ),
        Place::QueryParameter => format!(
            "      parameters:\n        - name: q\n          in: query\n          schema:\n{}\n      responses:\n        '200': {{description: ok}}\n",
            indent(schema, 12)
        ),
        Place::ResponseHeader => format!(
            "      responses:\n        '200':\n          description: ok\n          headers:\n            X-Rate:\n{}\n",
            indent(schema, 14)
        ),
    };
    format!(
        "openapi: 3.1.0\ninfo: {{title: t, version: 1.0.0}}\npaths:\n  /things:\n    post:\n{body}"
    )
}

fn check(place: Place, base: &str, revision: &str, expected: &[&str]) {
    let base_text = document(place, base);
    let revision_text = document(place, revision);
    let base =
        OpenApi::parse("base.yaml", &base_text).unwrap_or_else(|e| panic!("{e}\n{base_text}"));
    let revision = OpenApi::parse("revision.yaml", &revision_text)
        .unwrap_or_else(|e| panic!("{e}\n{revision_text}"));
    let options = Options {
        today: jiff::civil::date(2026, 8, 6),
        stability_level: StabilityLevel::Beta,
        ..Options::default()
    };
    let findings = compare(&base, &revision, &options);
    let mut got: Vec<&str> = findings.iter().map(|f| f.id.as_str()).collect();
    got.sort_unstable();
    let mut want = expected.to_vec();
    want.sort_unstable();
    assert_eq!(
        got, want,
        "{base_text}\n---\n{revision_text}\n{findings:#?}"
    );
    for finding in &findings {
        assert_eq!(finding.operation, "POST");
        assert_eq!(finding.path, "/things");
        assert!(!finding.text.is_empty());
    }
}

#[test]
fn request_body_rules() {
    use Place::RequestBody as R;
    let object = |props: &str| format!("type: object\nproperties:\n{props}");
    check(
        R,
        &object("  a: {type: string, maxLength: 10}"),
        &object("  a: {type: string, maxLength: 5}"),
        &["request-property-max-length-decreased"],
    );
    check(
        R,
        &object("  a: {type: string}"),
        &object("  a: {type: string, maxLength: 5}"),
        &["request-property-max-length-set"],
    );
    check(
        R,
        &object("  a: {type: integer, maximum: 10}"),
        &object("  a: {type: integer, maximum: 20}"),
        &["request-property-max-increased"],
    );
    check(
        R,
        &object("  a: {type: integer, minimum: 1, readOnly: true}"),
        &object("  a: {type: integer, minimum: 5, readOnly: true}"),
        &["request-read-only-property-min-increased"],
    );
    check(
        R,
        &object("  a: {type: array, items: {type: string}}"),
        &object("  a: {type: array, items: {type: string}, minItems: 2}"),
        &["request-property-min-items-set"],
    );
    check(
        R,
        &object("  a: {type: string}"),
        &object("  a: {type: string, minLength: 3}"),
        &["request-property-min-length-increased"],
    );
    check(
        R,
        "type: string\nmaxLength: 10",
        "type: string\nmaxLength: 5",
        &["request-body-max-length-decreased"],
    );
    check(
        R,
        &object("  a: {type: string}"),
        &object("  a: {type: string}\n  b: {type: string}"),
        &["new-optional-request-property"],
    );
    check(
        R,
        &object("  a: {type: string}"),
        &format!(
            "{}\nrequired: [b]",
            object("  a: {type: string}\n  b: {type: string, default: x}")
        ),
        &["new-required-request-property-with-default"],
    );
    check(
        R,
        &object("  a: {type: string}\n  b: {type: string}"),
        &object("  a: {type: string}"),
        &["request-property-removed"],
    );
    check(
        R,
        &object("  a: {type: string}"),
        &format!("{}\nrequired: [a]", object("  a: {type: string}")),
        &["request-property-became-required"],
    );
    check(
        R,
        &object("  a: {type: string}"),
        &object("  a: {type: string, enum: [x, y]}"),
        &[
            "request-property-became-enum",
            "request-property-enum-value-added",
            "request-property-enum-value-added",
        ],
    );
    check(
        R,
        &object("  a: {type: string, enum: [x, y]}"),
        &object("  a: {type: string, enum: [x]}"),
        &["request-property-enum-value-removed"],
    );
    check(
        R,
        &object("  a: {type: integer}"),
        &object("  a: {type: number}"),
        &["request-property-type-generalized"],
    );
    check(
        R,
        &object("  a: {type: number}"),
        &object("  a: {type: integer}"),
        &["request-property-type-changed"],
    );
    check(
        R,
        &object("  a: {type: string}"),
        &object("  a: {type: string, pattern: '^a'}"),
        &["request-property-pattern-added"],
    );
    check(
        R,
        &object("  a: {type: string, pattern: '^a'}"),
        &object("  a: {type: string, pattern: '.*'}"),
        &["request-property-pattern-generalized"],
    );
    check(
        R,
        &object("  a: {type: string, default: x}"),
        &object("  a: {type: string, default: y}"),
        &["request-property-default-value-changed"],
    );
    check(
        R,
        &object("  a: {type: string}"),
        &object("  a: {type: string, const: x}"),
        &["request-property-const-added"],
    );
    check(
        R,
        &object("  a: {type: [string, 'null']}"),
        &object("  a: {type: string}"),
        &["request-property-became-not-nullable"],
    );
    check(
        R,
        &object("  a: {type: string}"),
        &object("  a: {type: string, readOnly: true}"),
        &["request-optional-property-became-read-only"],
    );
    check(
        R,
        &object("  a: {type: string}"),
        &object("  a: {type: string, deprecated: true}"),
        &["request-property-deprecated"],
    );
    check(
        R,
        &object("  a: {type: string}"),
        &object("  a: {type: string, deprecated: true, x-sunset: '2099-01-01'}"),
        &["request-property-deprecated-with-sunset"],
    );
    check(
        R,
        &object("  a: {type: string}"),
        &object("  a: {type: string, x-stability-level: alpha}"),
        &["request-property-stability-decreased"],
    );
    check(
        R,
        "type: object",
        "type: object\nif: {required: [a]}\nthen: {required: [b]}",
        &["request-body-if-added", "request-body-then-added"],
    );
    check(
        R,
        "type: object",
        "type: object\ndependentRequired: {a: [b]}",
        &["request-body-dependent-required-added"],
    );
    check(
        R,
        "type: object",
        "type: object\nallOf:\n  - title: only a title",
        &["request-body-all-of-added-annotation-only"],
    );
    check(
        R,
        "oneOf:\n  - type: string\n  - type: integer",
        "oneOf:\n  - type: string",
        &["request-body-list-of-types-narrowed"],
    );
    check(
        R,
        &object("  a: {type: string}"),
        &object("  a: {type: string, x-extensible-enum: [p]}"),
        &[],
    );
    check(
        R,
        &object("  a: {type: string, x-extensible-enum: [p, q]}"),
        &object("  a: {type: string, x-extensible-enum: [p]}"),
        &["request-property-x-extensible-enum-value-removed"],
    );
}

#[test]
fn response_body_rules() {
    use Place::ResponseBody as S;
    let object = |props: &str| format!("type: object\nproperties:\n{props}");
    check(
        S,
        &object("  a: {type: string, maxLength: 5}"),
        &object("  a: {type: string, maxLength: 10}"),
        &["response-property-max-length-increased"],
    );
    check(
        S,
        &object("  a: {type: string, maxLength: 5}"),
        &object("  a: {type: string}"),
        &["response-property-max-length-unset"],
    );
    check(
        S,
        &object("  a: {type: array, minItems: 2}"),
        &object("  a: {type: array}"),
        &["response-property-min-items-unset"],
    );
    check(
        S,
        &object("  a: {type: integer, minimum: 5}"),
        &object("  a: {type: integer, minimum: 1}"),
        &["response-property-min-decreased"],
    );
    check(
        S,
        &object("  a: {type: integer, minimum: 1}"),
        &object("  a: {type: integer, minimum: 5}"),
        &[],
    );
    check(
        S,
        &object("  a: {type: integer}"),
        &object("  a: {type: number}"),
        &["response-property-type-generalized"],
    );
    check(
        S,
        &object("  a: {type: number}"),
        &object("  a: {type: integer}"),
        &["response-property-type-specialized"],
    );
    check(
        S,
        &object("  a: {type: string}"),
        &object("  a: {type: string, enum: [x]}"),
        &["response-property-enum-value-added"],
    );
    check(
        S,
        &object("  a: {type: string, enum: [x]}"),
        &object("  a: {type: string, enum: [x, y]}"),
        &["response-property-enum-value-added"],
    );
    check(
        S,
        &object("  a: {type: string}"),
        &object("  a: {type: [string, 'null']}"),
        &["response-property-became-nullable"],
    );
    check(
        S,
        &format!(
            "{}\nrequired: [a]",
            object("  a: {type: string}\n  b: {type: string}")
        ),
        &object("  b: {type: string}"),
        &["response-required-property-removed"],
    );
    check(
        S,
        &object("  a: {type: string}\n  b: {type: string}"),
        &object("  b: {type: string}"),
        &["response-optional-property-removed"],
    );
    check(
        S,
        &format!("{}\nrequired: [a]", object("  a: {type: string}")),
        &object("  a: {type: string}"),
        &["response-property-became-optional"],
    );
    check(
        S,
        &object("  a: {type: string, const: x}"),
        &object("  a: {type: string}"),
        &["response-property-const-removed"],
    );
    check(
        S,
        "oneOf:\n  - type: string",
        "oneOf:\n  - type: string\n  - type: integer",
        &["response-body-list-of-types-widened"],
    );
    check(
        S,
        "type: object",
        "type: object\nunevaluatedProperties: {type: string}",
        &["response-body-unevaluated-properties-added"],
    );
}

#[test]
fn parameter_and_header_rules() {
    use Place::{QueryParameter as Q, ResponseHeader as H};
    check(
        Q,
        "type: string",
        "type: string\nmaxLength: 3",
        &["request-parameter-max-length-set"],
    );
    check(
        Q,
        "type: integer\nmaximum: 10",
        "type: integer\nmaximum: 5",
        &["request-parameter-max-decreased"],
    );
    check(
        Q,
        "type: string",
        "type: string\nenum: [a]",
        &[
            "request-parameter-became-enum",
            "request-parameter-enum-value-added",
        ],
    );
    check(
        Q,
        "type: string\nenum: [a, b]",
        "type: string\nenum: [a]",
        &["request-parameter-enum-value-removed"],
    );
    check(
        Q,
        "type: string",
        "type: string\ndefault: a",
        &["request-parameter-default-value-added"],
    );
    check(
        Q,
        "type: string",
        "type: [string, 'null']",
        &["request-parameter-became-nullable"],
    );
    check(
        Q,
        "type: string",
        "type: integer",
        &["request-parameter-type-changed"],
    );
    check(
        Q,
        "type: integer",
        "type: string",
        &["request-parameter-type-generalized"],
    );
    check(
        Q,
        "type: string",
        "type: array\nitems: {type: string}",
        &["request-parameter-type-generalized"],
    );
    check(
        H,
        "schema: {type: string}\nrequired: true",
        "schema: {type: string}",
        &["response-header-became-optional"],
    );
    check(
        H,
        "schema: {type: number}",
        "schema: {type: integer}",
        &["response-header-type-specialized"],
    );
    check(
        H,
        "schema: {type: string}",
        "schema: {type: [string, 'null']}",
        &["response-header-became-nullable"],
    );
}

#[test]
fn levels_come_from_the_rule_table() {
    for rule in slipway_apidiff::rules::RULES {
        assert!(matches!(rule.level, Level::Info | Level::Warn | Level::Err));
    }
    assert_eq!(slipway_apidiff::rules::RULES.len(), 509);
    assert_eq!(
        slipway_apidiff::rules::rule("request-property-removed").map(|r| r.level),
        Some(Level::Warn)
    );
}
