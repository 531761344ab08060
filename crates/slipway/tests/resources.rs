//! The catalogue as documents: apply (idempotent, atomic, references and cycles checked),
//! get, diff, delete, optimistic concurrency, the `get` tables of every example kind, and the
//! HTTP edges (OpenAPI, the error body, request ids, metrics).

use crate::support::snapshot;
use crate::support::*;

#[test]
fn apply_examples_is_idempotent_and_get_shows_them() {
    let server = Server::start();
    let first = server.apply(&examples_dir());
    let lines: Vec<&str> = first.stdout.lines().collect();
    assert_eq!(lines.len(), EXAMPLE_DOCUMENTS, "{}", first.stdout);
    for line in &lines {
        assert!(
            line.ends_with(" created (revision 1)"),
            "not created: {line}"
        );
    }
    first.prints(&[
        "Service payments-api",
        "Team payments",
        "Environment production",
    ]);

    let again = server
        .cli(&["apply", "-f", path_str(&examples_dir()), "-o", "json"])
        .expect(OK)
        .json();
    let results = again.as_array().expect("a list of results");
    assert_eq!(results.len(), EXAMPLE_DOCUMENTS);
    for r in results {
        assert_eq!(r["action"], "unchanged", "{r}");
        assert_eq!(r["revision"], 1, "{r}");
    }

    let services = server.cli(&["get", "services", "-o", "json"]).expect(OK);
    assert_eq!(
        names(&services.json()),
        ["auth-api", "checkout-web", "ledger", "payments-api"]
    );

    server
        .cli(&["get", "svc", "payments-api", "-o", "yaml"])
        .expect(OK)
        .prints(&["owner: payments", "name: payments-api"]);

    server
        .cli(&["get", "widgets"])
        .expect(NOT_FOUND)
        .says(&["widgets"]);
}

/// The `get` table of every kind in the examples (the columns people read).
#[test]
fn get_tables_show_each_kind_s_columns() {
    let server = Server::builder().with_examples().start();
    for kind in [
        "teams",
        "users",
        "roles",
        "rolebindings",
        "services",
        "environments",
    ] {
        let table = server.cli(&["get", kind]).expect(OK);
        snapshot::assert_table(&format!("get-{kind}"), &table);
    }
    let one = server.cli(&["get", "svc", "payments-api"]).expect(OK);
    snapshot::assert_table("get-one-service", &one);
}

const TEAM_T1: &str = "apiVersion: slipway.dev/v1alpha1
kind: Team
metadata:
  name: t1
spec:
  displayName: Team One
";

/// A batch that must be refused: its files, and what the error must say.
struct Refused {
    files: &'static [(&'static str, &'static str)],
    says: &'static [&'static str],
}

const REFUSED_BATCHES: &[Refused] = &[
    // A valid team, then a service with an unknown tier in another file.
    Refused {
        files: &[
            ("a.yaml", TEAM_T1),
            (
                "b.yaml",
                "apiVersion: slipway.dev/v1alpha1
kind: Team
metadata:
  name: t2
spec:
  displayName: Team Two
---
apiVersion: slipway.dev/v1alpha1
kind: Service
metadata:
  name: s1
spec:
  owner: t1
  tier: urgent
",
            ),
        ],
        says: &[
            "b.yaml (document 2)",
            "spec.tier",
            "unknown variant `urgent`",
            "nothing was applied",
        ],
    },
    // A service owned by a team that does not exist.
    Refused {
        files: &[(
            "dangling.yaml",
            "apiVersion: slipway.dev/v1alpha1
kind: Service
metadata:
  name: orphan
spec:
  owner: nobody
  tier: low
",
        )],
        says: &[
            "dangling.yaml (document 1)",
            "spec.owner",
            "\"nobody\"",
            "does not exist",
        ],
    },
    // Two services depending on each other.
    Refused {
        files: &[(
            "cycle.yaml",
            "apiVersion: slipway.dev/v1alpha1
kind: Team
metadata:
  name: t1
spec:
  displayName: Team One
---
apiVersion: slipway.dev/v1alpha1
kind: Service
metadata:
  name: c1
spec:
  owner: t1
  tier: low
  dependsOn: [c2]
---
apiVersion: slipway.dev/v1alpha1
kind: Service
metadata:
  name: c2
spec:
  owner: t1
  tier: low
  dependsOn: [c1]
",
        )],
        says: &["cycle", "spec.dependsOn"],
    },
];

#[test]
fn invalid_batches_name_the_problem_and_apply_nothing() {
    let server = Server::start();
    for (i, batch) in REFUSED_BATCHES.iter().enumerate() {
        let dir = format!("batch-{i}");
        for (name, text) in batch.files {
            server.write(&format!("{dir}/{name}"), text);
        }
        let refused = server
            .cli(&["apply", "-f", path_str(&server.path(&dir))])
            .expect(INVALID);
        refused.says(batch.says);
        if batch.files.len() > 1 {
            // The file is named by its whole path.
            let second = server.path(&format!("{dir}/{}", batch.files[1].0));
            refused.says(&[&format!("{} (document 2)", second.display())]);
        }
        // All or nothing: not even the valid documents before the bad one were applied.
        for kind in ["teams", "services"] {
            let listed = server.cli(&["get", kind, "-o", "json"]).expect(OK);
            assert!(
                names(&listed.json()).is_empty(),
                "batch {i}: {}",
                listed.stdout
            );
        }
    }
}

#[test]
fn a_stale_revision_is_refused_with_the_current_one() {
    let server = Server::builder().with_examples().start();
    let read = server
        .cli(&["get", "team", "payments", "-o", "yaml"])
        .expect(OK)
        .stdout;
    let read_revision = yaml_revision(&read);
    assert!(read.contains("displayName: Payments\n"), "{read}");

    let file = server.write(
        "payments.yaml",
        read.replace("displayName: Payments", "displayName: Payments Team"),
    );
    let applied = server.apply(&file);
    assert_eq!(
        applied.stdout.trim(),
        format!("Team payments updated (revision {})", read_revision + 1)
    );

    // Someone edits the copy they read before that change: refused, nothing changes.
    server.write(
        "payments.yaml",
        read.replace("displayName: Payments", "displayName: Payments Again"),
    );
    server
        .cli(&["apply", "-f", path_str(&file)])
        .expect(CONFLICT)
        .says(&[&format!("is at revision {}", read_revision + 1)]);
    let now = server.resource("teams", "payments").unwrap();
    assert_eq!(now["spec"]["displayName"], "Payments Team");
    assert_eq!(now["metadata"]["revision"], read_revision + 1);
}

#[test]
fn diff_shows_field_changes_and_changes_nothing() {
    let server = Server::builder().with_examples().start();
    let before = server.resource("teams", "payments").unwrap();
    let changed = std::fs::read_to_string(examples_dir().join("teams.yaml"))
        .expect("examples/teams.yaml")
        .replace("displayName: Payments", "displayName: Payments Team");
    let file = server.write("teams.yaml", changed);
    let diff = server.cli(&["diff", "-f", path_str(&file)]).expect(OK);
    diff.prints(&[
        r#"spec.displayName: "Payments" → "Payments Team""#,
        "~ Team payments would be updated to revision 2",
        "1 of 4 documents would change",
    ]);
    snapshot::assert_output("diff-teams", &diff);

    let after = server.resource("teams", "payments").unwrap();
    assert_eq!(
        after["metadata"]["revision"],
        before["metadata"]["revision"]
    );
    assert_eq!(after["spec"]["displayName"], "Payments");
}

#[test]
fn delete_refuses_referenced_resources_and_reports_missing_ones() {
    let server = Server::builder().with_examples().start();
    let refused = server.cli(&["delete", "team", "payments"]).expect(CONFLICT);
    refused.says(&[
        "still referred to",
        "Service ledger",
        "Service payments-api",
    ]);
    snapshot::assert_error("delete-referenced-team", &refused);
    server.cli(&["get", "team", "payments"]).expect(OK);

    // Nothing depends on the checkout pages.
    server
        .cli(&["delete", "svc", "checkout-web"])
        .expect(OK)
        .prints(&["Service checkout-web deleted"]);
    server
        .cli(&["delete", "svc", "checkout-web"])
        .expect(NOT_FOUND)
        .says(&["does not exist"]);
    server
        .cli(&["get", "svc", "checkout-web"])
        .expect(NOT_FOUND);
}

#[test]
fn http_edges_openapi_errors_and_metrics() {
    let server = Server::start();
    let anonymous = server.anonymous();
    let openapi = anonymous.get("/api/v1/openapi.json");
    assert_eq!(openapi.status, 200);
    assert!(
        openapi.json()["paths"].get("/api/v1/apply").is_some(),
        "{}",
        openapi.body
    );

    let refused = anonymous.get("/api/v1/services");
    assert_eq!(refused.status, 401, "{}", refused.body);
    let body = refused.json();
    assert_eq!(body["code"], "unauthenticated", "{}", refused.body);
    assert!(body["message"].is_string(), "{}", refused.body);
    let request_id = refused
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        !request_id.is_empty(),
        "no x-request-id: {:?}",
        refused.headers
    );

    let wrong = server
        .with_token("nobody", "slw_nope_nope")
        .get("/api/v1/services");
    assert_eq!(wrong.status, 401, "{}", wrong.body);

    let metrics = server.get("/metrics");
    assert_eq!(metrics.status, 200, "{}", metrics.body);
    assert!(
        metrics.body.contains("slipway_http_requests_total"),
        "{}",
        metrics.body
    );
    assert_eq!(anonymous.get("/metrics").status, 401);
}

/// One request the API must refuse: who asks, what, and the status and `code` of the answer
/// (the whole body is snapshotted).
struct ApiRefusal {
    name: &'static str,
    who: Who,
    method: &'static str,
    path: &'static str,
    body: Option<&'static str>,
    status: u16,
    code: &'static str,
}

#[derive(Clone, Copy)]
enum Who {
    Anonymous,
    ForgedToken,
    Viewer,
    Admin,
}

const API_REFUSALS: &[ApiRefusal] = &[
    ApiRefusal {
        name: "no-token",
        who: Who::Anonymous,
        method: "GET",
        path: "/api/v1/services",
        body: None,
        status: 401,
        code: "unauthenticated",
    },
    ApiRefusal {
        name: "forged-token",
        who: Who::ForgedToken,
        method: "GET",
        path: "/api/v1/services",
        body: None,
        status: 401,
        code: "unauthenticated",
    },
    ApiRefusal {
        name: "viewer-applies",
        who: Who::Viewer,
        method: "POST",
        path: "/api/v1/apply",
        body: Some(
            r#"{"documents": [{"document": {"apiVersion": "slipway.dev/v1alpha1", "kind": "Team", "metadata": {"name": "t9"}, "spec": {"displayName": "Nine"}}}]}"#,
        ),
        status: 403,
        code: "forbidden",
    },
    ApiRefusal {
        name: "unknown-kind",
        who: Who::Admin,
        method: "GET",
        path: "/api/v1/widgets",
        body: None,
        status: 404,
        code: "not_found",
    },
    ApiRefusal {
        name: "missing-resource",
        who: Who::Admin,
        method: "GET",
        path: "/api/v1/services/nope",
        body: None,
        status: 404,
        code: "not_found",
    },
    ApiRefusal {
        name: "invalid-document",
        who: Who::Admin,
        method: "POST",
        path: "/api/v1/apply",
        body: Some(
            r#"{"documents": [{"source": "bad.yaml", "document": {"apiVersion": "slipway.dev/v1alpha1", "kind": "Service", "metadata": {"name": "s1"}, "spec": {"owner": "payments", "tier": "urgent"}}}]}"#,
        ),
        status: 422,
        code: "invalid",
    },
    ApiRefusal {
        name: "stale-revision",
        who: Who::Admin,
        method: "POST",
        path: "/api/v1/apply",
        body: Some(
            r#"{"documents": [{"document": {"apiVersion": "slipway.dev/v1alpha1", "kind": "Team", "metadata": {"name": "payments", "revision": 7}, "spec": {"displayName": "Payments"}}}]}"#,
        ),
        status: 409,
        code: "stale_revision",
    },
    ApiRefusal {
        name: "still-referred-to",
        who: Who::Admin,
        method: "DELETE",
        path: "/api/v1/teams/payments",
        body: None,
        status: 409,
        code: "conflict",
    },
];

/// Every kind of refusal has the one error body, `{code, message, details}`.
#[test]
fn api_errors_share_one_body() {
    let server = Server::builder().with_examples().start();
    let viewer = server.user("vera").team("payments").role("viewer").create();
    for case in API_REFUSALS {
        let client = match case.who {
            Who::Anonymous => server.anonymous(),
            Who::ForgedToken => server.with_token("forger", &format!("slw_x_{}", "0".repeat(64))),
            Who::Viewer => viewer.clone(),
            Who::Admin => server.admin().clone(),
        };
        let body: Option<serde_json::Value> = case
            .body
            .map(|b| serde_json::from_str(b).expect("a JSON body"));
        let method = case.method.parse().expect("an HTTP method");
        let reply = client.send(method, case.path, body.as_ref());
        let json = reply.json();
        assert_eq!(
            (reply.status, json["code"].as_str()),
            (case.status, Some(case.code)),
            "{}: {}",
            case.name,
            reply.body
        );
        snapshot::assert_reply(
            &format!("api-error-{}", case.name),
            &format!("{} {} as {}", case.method, case.path, client.name),
            &reply,
        );
    }
}
