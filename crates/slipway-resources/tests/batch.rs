//! Batches against a real SQLite store: what is refused and why (named by source), what each
//! document needs to be allowed, and what applying does (diffs, finished runs restarted).
#![allow(clippy::unwrap_used)] // in tests a panic is a failing test, which is the point

use serde_json::{Value, json};
use slipway_domain::kinds::{Rollout, Verb};
use slipway_resources::{ApplyDocument, ApplyError, Batch, apply_authorized};
use slipway_store::{Actor, SqlStore, TypedStore};

async fn store() -> (SqlStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("slipway.db").display());
    (SqlStore::open(&url).await.unwrap(), dir)
}

fn doc(kind: &str, name: &str, spec: Value) -> ApplyDocument {
    ApplyDocument {
        source: Some(format!("{name}.yaml")),
        document: json!({"apiVersion": "slipway.dev/v1alpha1", "kind": kind,
            "metadata": {"name": name}, "spec": spec}),
    }
}

fn base() -> Vec<ApplyDocument> {
    vec![
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
        doc(
            "Artifact",
            "api-1",
            json!({"service": "api", "version": "1", "location": "/bin/true"}),
        ),
    ]
}

fn rollout(environment: &str, instances: u32) -> ApplyDocument {
    doc(
        "Rollout",
        "r",
        json!({"service": "api", "environment": environment, "artifact": "api-1",
            "listen": "127.0.0.1:1", "instances": instances, "strategy": {"direct": {}}}),
    )
}

/// Applies `batch` on top of the base system and returns the refusal's message, or "" when
/// it was applied.
async fn check(batch: Vec<ApplyDocument>, expected: &str) {
    let (store, _dir) = store().await;
    let actor = Actor::system("test");
    apply_authorized(&store, &actor, &base(), false)
        .await
        .unwrap();
    let got = match apply_authorized(&store, &actor, &batch, false).await {
        Ok(_) => String::new(),
        Err(ApplyError::Invalid { message, .. }) => message,
        Err(e) => panic!("unexpected {e}"),
    };
    assert_eq!(got, expected);
}

#[tokio::test]
async fn refusals_name_the_document_field_and_reason() {
    check(vec![rollout("staging", 1)], "").await;
    check(vec![], "the batch holds no documents").await;
    check(
        vec![doc("Team", "a", json!({})), doc("Team", "a", json!({}))],
        "nothing was applied: a.yaml: metadata.name: Team a is also defined in a.yaml",
    )
    .await;
    check(
        vec![rollout("qa", 1)],
        "nothing was applied: r.yaml: spec.environment: refers to Environment \"qa\", which does not exist",
    )
    .await;
    check(
        vec![
            doc("Service", "a", json!({"owner": "payments", "tier": "low", "dependsOn": ["b"]})),
            doc("Service", "b", json!({"owner": "payments", "tier": "low", "dependsOn": ["a"]})),
        ],
        "nothing was applied: a.yaml: spec.dependsOn: services depend on each other in a cycle: a → b → a",
    )
    .await;
    check(
        vec![
            doc("Team", "a", json!({"parent": "b"})),
            doc("Team", "b", json!({"parent": "payments"})),
        ],
        "",
    )
    .await;
    check(
        vec![
            doc("Team", "payments", json!({"parent": "b"})),
            doc("Team", "b", json!({"parent": "payments"})),
        ],
        "nothing was applied: b.yaml: spec.parent: teams are each other's parents in a cycle: b → payments → b",
    )
    .await;
    check(
        vec![rollout("staging", 0), doc("Team", "Bad", json!({}))],
        "nothing was applied: r.yaml: spec.instances: 0 is outside 1..=64 (and 1 more)",
    )
    .await;
}

#[tokio::test]
async fn permissions_cover_where_a_resource_is_and_where_it_goes() {
    let (store, _dir) = store().await;
    let actor = Actor::system("test");
    let mut first = base();
    first.push(rollout("staging", 1));
    apply_authorized(&store, &actor, &first, false)
        .await
        .unwrap();

    let batch = Batch::parse(
        &store,
        &[rollout("production", 1), doc("Team", "ops", json!({}))],
    )
    .await
    .unwrap();
    let permissions = batch.permissions(&store).await.unwrap();
    let seen: Vec<(&str, Verb, Vec<Option<String>>)> = permissions
        .iter()
        .map(|p| (p.kind.plural, p.verb, p.environments.clone()))
        .collect();
    assert_eq!(
        seen,
        [
            (
                "rollouts",
                Verb::Update,
                vec![Some("production".into()), Some("staging".into())]
            ),
            ("teams", Verb::Create, vec![None]),
        ]
    );
    assert_eq!(permissions[0].source, "r.yaml");
}

#[tokio::test]
async fn a_new_spec_restarts_a_finished_run_and_diffs_name_the_fields() {
    let (store, _dir) = store().await;
    let actor = Actor::system("test");
    let mut first = base();
    first.push(rollout("staging", 1));
    apply_authorized(&store, &actor, &first, false)
        .await
        .unwrap();
    let rollouts = store.kind::<Rollout>();
    rollouts
        .set_status("r", &json!({"phase": "Promoted"}))
        .await
        .unwrap();

    // A dry run says what would change and changes nothing.
    let results = apply_authorized(&store, &actor, &[rollout("staging", 2)], true)
        .await
        .unwrap();
    assert_eq!(results[0].action, "updated");
    assert_eq!(results[0].changes[0].path, "spec.instances");
    assert_eq!(
        rollouts.get("r").await.unwrap().unwrap().status,
        Some(json!({"phase": "Promoted"}))
    );

    let results = apply_authorized(&store, &actor, &[rollout("staging", 2)], false)
        .await
        .unwrap();
    assert_eq!(results[0].source.as_deref(), Some("r.yaml"));
    assert!(results[0].audit_seq.is_some());
    let restarted = rollouts.get("r").await.unwrap().unwrap();
    assert_eq!(restarted.spec.instances, 2);
    // Cleared: the engine reads a null status as a run not started.
    assert!(restarted.status.is_none_or(|s| s.is_null()));

    // A run in progress keeps its status.
    rollouts
        .set_status("r", &json!({"phase": "Progressing"}))
        .await
        .unwrap();
    apply_authorized(&store, &actor, &[rollout("staging", 3)], false)
        .await
        .unwrap();
    assert_eq!(
        rollouts.get("r").await.unwrap().unwrap().status,
        Some(json!({"phase": "Progressing"}))
    );
}
