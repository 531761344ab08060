//! Typed handles over a real SQLite store: reads come back with their specs typed, writes of
//! status and deletes reach the right kind, and a stored spec that is not its kind's is refused
//! as corruption rather than read as something else.
#![allow(clippy::unwrap_used)] // in tests a panic is a failing test, which is the point

use serde_json::json;
use slipway_domain::kinds::{Artifact, Kind, Service, Team};
use slipway_domain::resource::parse_document;
use slipway_store::{Actor, Mutation, SqlStore, Store, StoreError, TypedStore};

async fn store() -> (SqlStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("slipway.db").display());
    (SqlStore::open(&url).await.unwrap(), dir)
}

fn put(kind: &str, name: &str, spec: serde_json::Value) -> Mutation {
    Mutation::Put(
        parse_document(&json!({"apiVersion": "slipway.dev/v1alpha1", "kind": kind,
            "metadata": {"name": name, "labels": {"tier": "gold"}}, "spec": spec}))
        .unwrap(),
    )
}

#[tokio::test]
async fn handles_read_and_write_their_own_kind_typed() {
    let (store, _dir) = store().await;
    let actor = Actor::system("test");
    store
        .apply(
            &actor,
            vec![
                put(Team::KIND, "payments", json!({"displayName": "Payments"})),
                put(
                    Service::KIND,
                    "api",
                    json!({"owner": "payments", "tier": "high"}),
                ),
                put(
                    Artifact::KIND,
                    "api-1",
                    json!({"service": "api", "version": "1", "location": "/bin/true"}),
                ),
            ],
            false,
        )
        .await
        .unwrap();

    let artifact = store
        .kind::<Artifact>()
        .get("api-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(artifact.name(), "api-1");
    assert_eq!(
        (
            artifact.spec.service.as_str(),
            artifact.spec.version.as_str()
        ),
        ("api", "1")
    );
    assert_eq!(artifact.status, None);
    // A name of another kind is not found through this kind's handle.
    assert!(store.kind::<Artifact>().get("api").await.unwrap().is_none());
    assert!(store.kind::<Service>().exists("api").await.unwrap());

    let services = store.kind::<Service>().list().await.unwrap();
    assert_eq!(services.len(), 1);
    assert_eq!(services[0].spec.owner, "payments");
    let gold = store
        .kind::<Team>()
        .list_labelled("tier", "gold")
        .await
        .unwrap();
    assert_eq!(gold[0].spec.display_name.as_deref(), Some("Payments"));
    assert_eq!(
        store.kind::<Team>().updated_by("payments").await.unwrap(),
        Some("system:test".to_string())
    );

    store
        .kind::<Artifact>()
        .set_status("api-1", &json!({"supplyChain": {"signed": true}}))
        .await
        .unwrap();
    let (artifact, writer) = store
        .kind::<Artifact>()
        .get_with_writer("api-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(artifact.status.unwrap()["supplyChain"]["signed"], true);
    assert_eq!(writer, "system:test");

    store
        .apply(
            &actor,
            vec![Mutation::delete::<Artifact>("api-1", None)],
            false,
        )
        .await
        .unwrap();
    assert!(
        store
            .kind::<Artifact>()
            .resource("api-1")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_stored_spec_that_is_not_its_kinds_is_corruption() {
    let (store, _dir) = store().await;
    let mut bad = parse_document(
        &json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "Team",
        "metadata": {"name": "payments"}, "spec": {}}),
    )
    .unwrap();
    // The store writes what it is given; only the API's validation would have refused this.
    bad.spec = json!({"displayName": 7});
    store
        .apply(&Actor::system("test"), vec![Mutation::Put(bad)], false)
        .await
        .unwrap();
    let error = store.kind::<Team>().get("payments").await.unwrap_err();
    assert!(
        matches!(&error, StoreError::Corrupt(m) if m.contains("Team payments")),
        "{error}"
    );
    assert!(store.kind::<Team>().list().await.is_err());
    // The raw resource is still readable, e.g. for the audit digest.
    assert!(
        store
            .kind::<Team>()
            .resource("payments")
            .await
            .unwrap()
            .is_some()
    );
}
