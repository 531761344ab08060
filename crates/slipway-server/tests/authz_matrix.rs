//! The authorization matrix: every endpoint × every role, over real HTTP against the API's
//! router on a SQLite data dir made by `slipway init`'s bootstrap. The expected outcome of each cell is written out by hand below, so a
//! change in what a role may do shows up here as a failing cell.
#![allow(clippy::unwrap_used)] // in tests a panic is a failing test, which is the point

use serde_json::{Value, json};
use slipway_api::AppState;
use slipway_api::auth::mint;
use slipway_domain::kinds::Rollout;
use slipway_domain::resource::parse_document;
use slipway_store::data_dir::DataDir;
use slipway_store::{Actor, Mutation, SqlStore, Store, TypedStore};
use slipway_supply_chain::{Artifacts, SupplyChain};
use std::collections::BTreeMap;
use std::future::IntoFuture;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Subjects, each a user bound to one role (`none` has no binding; `staging-editor` is the
/// editor role bound to the staging environment only; `anonymous` sends no token).
const SUBJECTS: &[&str] = &[
    "admin",
    "editor",
    "viewer",
    "auditor",
    "staging-editor",
    "none",
    "anonymous",
];

/// (method, path, body, subjects allowed). `{me}` is the caller's user name, `{other}` a token id
/// of another user, `{n}` a name unique to the caller, `{checkpoint}` a signed tree size. Anonymous callers are always refused
/// with 401 except on the public endpoints marked with `*`.
const MATRIX: &[(&str, &str, &str, &str)] = &[
    ("GET", "/healthz", "", "*"),
    ("GET", "/readyz", "", "*"),
    ("GET", "/api/v1/openapi.json", "", "*"),
    (
        "GET",
        "/api/v1/whoami",
        "",
        "admin editor viewer auditor staging-editor none",
    ),
    (
        "GET",
        "/api/v1/kinds",
        "",
        "admin editor viewer auditor staging-editor none",
    ),
    ("GET", "/api/v1/services", "", "admin editor viewer auditor"),
    (
        "GET",
        "/api/v1/services/api",
        "",
        "admin editor viewer auditor",
    ),
    ("PUT", "/api/v1/services/{n}", "service", "admin editor"),
    ("DELETE", "/api/v1/services/doomed-{me}", "", "admin editor"),
    ("POST", "/api/v1/apply", "apply-team", "admin editor"),
    (
        "GET",
        "/api/v1/environments/production",
        "",
        "admin editor viewer auditor",
    ),
    (
        "PUT",
        "/api/v1/environments/staging",
        "env-staging",
        "admin editor staging-editor",
    ),
    (
        "PUT",
        "/api/v1/environments/production",
        "env-production",
        "admin editor",
    ),
    ("GET", "/api/v1/roles", "", "admin editor viewer auditor"),
    ("PUT", "/api/v1/roles/{n}", "role", "admin"),
    ("PUT", "/api/v1/rolebindings/{n}", "binding", "admin"),
    ("PUT", "/api/v1/users/{n}", "user", "admin"),
    ("GET", "/api/v1/audit/entries", "", "admin auditor"),
    ("GET", "/api/v1/audit/checkpoints", "", "admin auditor"),
    ("POST", "/api/v1/audit/checkpoints", "", "admin"),
    (
        "GET",
        "/api/v1/audit/proofs/inclusion?entry=0",
        "",
        "admin auditor",
    ),
    (
        "GET",
        "/api/v1/audit/proofs/consistency?from={checkpoint}",
        "",
        "admin auditor",
    ),
    ("GET", "/api/v1/audit/export", "", "admin auditor"),
    ("GET", "/api/v1/audit/verify", "", "admin auditor"),
    ("GET", "/api/v1/tokens", "", "admin auditor"),
    (
        "GET",
        "/api/v1/tokens?user={me}",
        "",
        "admin editor viewer auditor staging-editor none",
    ),
    (
        "POST",
        "/api/v1/tokens",
        "token-self",
        "admin editor viewer auditor staging-editor none",
    ),
    ("POST", "/api/v1/tokens", "token-other", "admin"),
    ("DELETE", "/api/v1/tokens/{other}", "", "admin"),
    ("GET", "/metrics", "", "admin auditor"),
    ("GET", "/api/v1/rollouts/r/events", "", "admin auditor"),
    ("GET", "/api/v1/artifact-store", "", "admin auditor"),
    (
        "GET",
        "/api/v1/artifact-store/api/1.0.0",
        "",
        "admin auditor",
    ),
    (
        "GET",
        "/api/v1/artifact-store/api/1.0.0/content",
        "",
        "admin auditor",
    ),
    (
        "GET",
        "/api/v1/artifact-store/api/1.0.0/referrers",
        "",
        "admin auditor",
    ),
    (
        "PUT",
        "/api/v1/artifact-store/api/2.0.0-{n}",
        "service",
        "admin",
    ),
    (
        "POST",
        "/api/v1/artifact-store/api/1.0.0/referrers?type=sarif",
        "sarif",
        "admin",
    ),
    (
        "POST",
        "/api/v1/artifact-store/api/1.0.0/hold",
        "hold",
        "admin",
    ),
    (
        "DELETE",
        "/api/v1/artifact-store/api/1.0.0/hold",
        "",
        "admin",
    ),
    (
        "POST",
        "/api/v1/artifact-store/retention",
        "retention-dry-run",
        "admin auditor",
    ),
    (
        "POST",
        "/api/v1/artifact-store/retention",
        "retention-apply",
        "admin",
    ),
    (
        "POST",
        "/api/v1/artifact-store/export",
        "export",
        "admin auditor",
    ),
    ("POST", "/api/v1/vulndb/import", "empty-zip", "admin"),
    (
        "GET",
        "/api/v1/changerequests/chg-m/view",
        "",
        "admin auditor",
    ),
    (
        "GET",
        "/api/v1/changerequests/chg-m/evidence",
        "",
        "admin auditor",
    ),
    (
        "POST",
        "/api/v1/changerequests/chg-m/actions",
        "exception",
        "admin",
    ),
    ("GET", "/api/v1/change-rates", "", "admin auditor"),
    ("GET", "/api/v1/gate/rollout/r", "", "admin auditor"),
    ("GET", "/api/v1/unauthorised-changes", "", "admin auditor"),
    (
        "GET",
        "/api/v1/calendar/decision?service=api&environment=production",
        "",
        "admin auditor",
    ),
];

/// A ZIP archive with no entries (only its end-of-central-directory record): an OSV database
/// without advisories.
const EMPTY_ZIP: [u8; 22] = [
    0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

fn doc(kind: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": "slipway.dev/v1alpha1", "kind": kind, "metadata": {"name": name}, "spec": spec})
}

fn body(kind: &str, me: &str, n: &str) -> Option<Value> {
    Some(match kind {
        "" => return None,
        "service" => doc("Service", n, json!({"owner": "payments", "tier": "low"})),
        "sarif" => {
            json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": me}}, "results": []}]})
        }
        "apply-team" => {
            json!({"documents": [{"document": doc("Team", "payments", json!({"displayName": format!("Payments ({me})")}))}]})
        }
        "env-staging" => doc(
            "Environment",
            "staging",
            json!({"tier": "staging", "order": 1, "protection": {"requiredApprovals": me.len() % 3}}),
        ),
        "env-production" => doc(
            "Environment",
            "production",
            json!({"tier": "production", "order": 2, "protection": {"requiredApprovals": me.len() % 3}}),
        ),
        "role" => doc(
            "Role",
            n,
            json!({"rules": [{"verbs": ["get"], "kinds": ["services"]}]}),
        ),
        "binding" => doc(
            "RoleBinding",
            n,
            json!({"role": "viewer", "subjects": [{"kind": "User", "name": "viewer"}]}),
        ),
        "user" => doc("User", n, json!({})),
        "token-self" => json!({"user": me, "expiresIn": "1h"}),
        "token-other" => json!({"user": "bystander", "expiresIn": "1h"}),
        "hold" => json!({"reason": format!("matrix ({me})")}),
        // Keeps everything: nothing is old enough.
        "retention-dry-run" => json!({"policy": "keepNewerThan: 1d", "dryRun": true}),
        "retention-apply" => json!({"policy": "keepNewerThan: 1d", "dryRun": false}),
        "export" => json!({"artifacts": ["api:1.0.0"]}),
        "exception" => json!({"action": "approve-exception", "reason": format!("matrix ({me})")}),
        other => panic!("unknown body {other}"),
    })
}

struct Fixture {
    url: String,
    tokens: BTreeMap<String, String>,
    /// For each subject, the id of a token of another user it may try to revoke.
    victims: BTreeMap<String, String>,
    /// Tree size of a checkpoint, for the consistency proof.
    checkpoint: u64,
    shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let data = DataDir::new(tmp.path().join("data"));
    slipway_server::bootstrap::init(&data, None, "admin")
        .await
        .unwrap();
    let store = SqlStore::open(&data.sqlite_url()).await.unwrap();
    let actor = Actor::system("test");
    let mut docs = vec![
        doc("Team", "payments", json!({})),
        doc(
            "Service",
            "api",
            json!({"owner": "payments", "tier": "high"}),
        ),
        doc(
            "Environment",
            "staging",
            json!({"tier": "staging", "order": 1}),
        ),
        doc(
            "Environment",
            "production",
            json!({"tier": "production", "order": 2}),
        ),
    ];
    for role in ["editor", "viewer", "auditor", "staging-editor", "none"] {
        docs.push(doc("User", role, json!({"teams": ["payments"]})));
        docs.push(doc(
            "Service",
            &format!("doomed-{role}"),
            json!({"owner": "payments", "tier": "low"}),
        ));
    }
    docs.push(doc("User", "bystander", json!({})));
    docs.push(doc(
        "Artifact",
        "api-1",
        json!({"service": "api", "version": "1", "location": "/bin/true"}),
    ));
    docs.push(doc(
        "Rollout",
        "r",
        json!({"service": "api", "environment": "production", "artifact": "api-1", "listen": "127.0.0.1:1", "strategy": {"direct": {}}}),
    ));
    docs.push(doc(
        "ChangeRequest",
        "chg-m",
        json!({"type": "standard", "title": "matrix", "requester": "bystander",
               "services": ["api"], "environments": ["production"]}),
    ));
    docs.push(doc(
        "Service",
        "doomed-admin",
        json!({"owner": "payments", "tier": "low"}),
    ));
    for role in ["editor", "viewer", "auditor"] {
        docs.push(doc(
            "RoleBinding",
            &format!("{role}-binding"),
            json!({"role": role, "subjects": [{"kind": "User", "name": role}]}),
        ));
    }
    docs.push(doc(
        "RoleBinding",
        "staging-editor-binding",
        json!({"role": "editor", "subjects": [{"kind": "User", "name": "staging-editor"}], "environments": ["staging"]}),
    ));
    let batch = docs
        .iter()
        .map(|d| Mutation::Put(parse_document(d).unwrap()))
        .collect();
    store.apply(&actor, batch, false).await.unwrap();
    // A finished rollout, so its event stream ends.
    store
        .kind::<Rollout>()
        .set_status(
            "r",
            &json!({"phase": "Promoted", "history": [{"atMs": 1, "what": "promoted 1"}]}),
        )
        .await
        .unwrap();
    let mut tokens = BTreeMap::new();
    let mut victims = BTreeMap::new();
    tokens.insert("admin".to_string(), data.admin_token().unwrap());
    for user in ["editor", "viewer", "auditor", "staging-editor", "none"] {
        let m = mint(user, "matrix", None).unwrap();
        store.create_token(&actor, m.record).await.unwrap();
        tokens.insert(user.to_string(), m.token);
    }
    for subject in SUBJECTS {
        let m = mint("bystander", "victim", None).unwrap();
        store.create_token(&actor, m.record.clone()).await.unwrap();
        victims.insert(subject.to_string(), m.record.id);
    }
    let key = data.signing_key().unwrap();
    let checkpoint = store
        .checkpoint(&key)
        .await
        .unwrap()
        .unwrap()
        .checkpoint
        .size;
    let artifacts = Artifacts::open(&data.root, Default::default()).unwrap();
    artifacts
        .store
        .push(
            &slipway_artifacts::PushRequest::new("api", "1.0.0", "api"),
            &mut &b"api 1.0.0"[..],
        )
        .unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let signing_key = Arc::new(key);
    let state = AppState {
        supply_chain: Some(Arc::new(SupplyChain::new(
            store.clone(),
            artifacts,
            signing_key.clone(),
        ))),
        store,
        signing_key,
        extra_metrics: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    tokio::spawn(
        axum::serve(listener, slipway_api::router(state))
            .with_graceful_shutdown(shutdown.clone().cancelled_owned())
            .into_future(),
    );
    Fixture {
        url,
        tokens,
        victims,
        checkpoint,
        shutdown,
        _dir: tmp,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_for_every_role() {
    let f = fixture().await;
    let http = reqwest::Client::new();
    let mut failures = Vec::new();
    let mut cells = 0;
    for (method, path, body_kind, allowed) in MATRIX {
        for subject in SUBJECTS {
            let me = if *subject == "anonymous" {
                "nobody"
            } else {
                subject
            };
            let n = format!("m-{}", me.replace('-', ""));
            let path = path
                .replace("{me}", me)
                .replace("{n}", &n)
                .replace("{checkpoint}", &f.checkpoint.to_string())
                .replace(
                    "{other}",
                    f.victims.get(*subject).map(String::as_str).unwrap_or(""),
                );
            let mut req = http.request(method.parse().unwrap(), format!("{}{path}", f.url));
            if let Some(token) = f.tokens.get(*subject) {
                req = req.bearer_auth(token);
            }
            if *body_kind == "empty-zip" {
                req = req.body(EMPTY_ZIP.to_vec());
            } else if let Some(b) = body(body_kind, me, &n) {
                req = req.json(&b);
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            let public = *allowed == "*";
            let expected = if public || allowed.split(' ').any(|a| a == *subject) {
                "allowed"
            } else if *subject == "anonymous" {
                "unauthenticated"
            } else {
                "forbidden"
            };
            let got = match status {
                401 => "unauthenticated",
                403 => "forbidden",
                200..=299 => "allowed",
                _ => "error",
            };
            cells += 1;
            if got != expected {
                failures.push(format!(
                    "{method} {path} as {subject}: expected {expected}, got {status} {text}"
                ));
            }
            if got == "forbidden" || got == "unauthenticated" {
                let body: Value = serde_json::from_str(&text).unwrap_or_default();
                assert_eq!(
                    body["code"], got,
                    "error body shape for {method} {path} as {subject}: {text}"
                );
            }
        }
    }
    f.shutdown.cancel();
    assert!(
        failures.is_empty(),
        "{} of {cells} cells differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(cells, MATRIX.len() * SUBJECTS.len());
}

/// An update is authorized where the resource is now, not only where the new document says:
/// a user limited to staging cannot move a production rollout into staging to take it over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_needs_permission_where_the_resource_is() {
    let f = fixture().await;
    let http = reqwest::Client::new();
    let admin = f.tokens.get("admin").unwrap();
    let put = |path: &str, token: &str, body: Value| {
        http.put(format!("{}{path}", f.url))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    for (path, body) in [
        (
            "/api/v1/roles/stager",
            doc(
                "Role",
                "stager",
                json!({"rules": [{"verbs": ["get", "create", "update"], "kinds": ["rollouts"], "environments": ["staging"]}]}),
            ),
        ),
        ("/api/v1/users/stan", doc("User", "stan", json!({}))),
        (
            "/api/v1/rolebindings/stan-stager",
            doc(
                "RoleBinding",
                "stan-stager",
                json!({"role": "stager", "subjects": [{"kind": "User", "name": "stan"}]}),
            ),
        ),
    ] {
        assert!(
            put(path, admin, body).await.unwrap().status().is_success(),
            "{path}"
        );
    }
    let created: Value = http
        .post(format!("{}/api/v1/tokens", f.url))
        .bearer_auth(admin)
        .json(&json!({"user": "stan"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stan = created["token"].as_str().unwrap().to_string();
    let rollout = |name: &str, env: &str| {
        doc(
            "Rollout",
            name,
            json!({"service": "api", "environment": env, "artifact": "api-1", "listen": "127.0.0.1:1", "strategy": {"direct": {}}}),
        )
    };
    // Creating in staging is allowed; rewriting production's rollout "r" into staging is not.
    assert_eq!(
        put("/api/v1/rollouts/s", &stan, rollout("s", "staging"))
            .await
            .unwrap()
            .status(),
        200
    );
    let refused = put("/api/v1/rollouts/r", &stan, rollout("r", "staging"))
        .await
        .unwrap();
    assert_eq!(refused.status(), 403, "{}", refused.text().await.unwrap());
    f.shutdown.cancel();
}
