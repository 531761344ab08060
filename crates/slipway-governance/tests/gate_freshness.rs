//! The gate reads through a cache, yet every decision sees every write committed before it was
//! asked for, also writes by another process sharing the database; and identical requests
//! arriving together share decisions without one of them seeing stale state.
#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors

use slipway_domain::kinds::GateDecision;
use slipway_store::TypedStore;
use std::sync::Arc;

use serde_json::json;
use slipway_domain::resource::parse_document;
use slipway_gate::{GateRequest, GateVerdict, Gatekeeper};
use slipway_governance::GovernanceGate;
use slipway_store::{Actor, Mutation, SqlStore, Store};

fn put(value: serde_json::Value) -> Mutation {
    Mutation::Put(parse_document(&value).unwrap())
}

fn calendar(freezes: serde_json::Value) -> Mutation {
    put(
        json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "Calendar",
        "metadata": {"name": "production"},
        "spec": {"scope": {"environment": "production"}, "freezes": freezes}}),
    )
}

fn request(subject: &str) -> GateRequest {
    GateRequest {
        subject_kind: "Rollout".into(),
        subject: subject.into(),
        service: "web".into(),
        environment: "production".into(),
        artifact: "web-1".into(),
        change: None,
        step: None,
    }
}

fn failing_rules(verdict: &GateVerdict) -> Vec<String> {
    match verdict {
        GateVerdict::Allow { .. } => Vec::new(),
        GateVerdict::Wait { reasons } | GateVerdict::Deny { reasons } => reasons
            .iter()
            .map(|r| r.split(':').next().unwrap_or_default().to_string())
            .collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_see_writes_by_another_process_and_identical_requests_agree() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("slipway.db").display());
    let store: Arc<dyn Store> = Arc::new(SqlStore::open(&url).await.unwrap());
    // Another process (a second server replica) writing to the same database.
    let other = SqlStore::open(&url).await.unwrap();
    let admin = Actor::system("test");
    store
        .apply(
            &admin,
            vec![
                put(
                    json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "Environment",
                    "metadata": {"name": "production"},
                    "spec": {"tier": "production", "order": 1}}),
                ),
                calendar(json!([])),
            ],
            false,
        )
        .await
        .unwrap();
    let gate = Arc::new(GovernanceGate::new(store.clone()));
    let verdict = gate.decide(&request("r1")).await.unwrap();
    assert_eq!(failing_rules(&verdict), Vec::<String>::new(), "{verdict:?}");

    // A freeze over now, written by the other process: the very next decision waits for it.
    let now = jiff::Timestamp::now();
    let freeze = json!([{"name": "incident", "start": (now - jiff::SignedDuration::from_hours(1)).to_string(),
        "end": (now + jiff::SignedDuration::from_hours(1)).to_string()}]);
    other
        .apply(&admin, vec![calendar(freeze)], false)
        .await
        .unwrap();
    let verdict = gate.decide(&request("r1")).await.unwrap();
    assert!(matches!(verdict, GateVerdict::Wait { .. }), "{verdict:?}");
    assert_eq!(failing_rules(&verdict), ["freeze"]);

    // Many identical requests at once all get the current answer.
    let mut tasks = Vec::new();
    for _ in 0..300 {
        let gate = gate.clone();
        tasks.push(tokio::spawn(
            async move { gate.decide(&request("r1")).await },
        ));
    }
    for task in tasks {
        assert_eq!(failing_rules(&task.await.unwrap().unwrap()), ["freeze"]);
    }

    // The freeze lifted by the other process while requests are arriving: every request made
    // after the write is allowed, whatever was under way when it arrived.
    let mut tasks: Vec<tokio::task::JoinHandle<Result<GateVerdict, _>>> = Vec::new();
    for i in 0..300 {
        if i == 150 {
            for task in tasks.drain(..) {
                task.await.unwrap().unwrap();
            }
            other
                .apply(&admin, vec![calendar(json!([]))], false)
                .await
                .unwrap();
        }
        let gate = gate.clone();
        tasks.push(tokio::spawn(
            async move { gate.decide(&request("r1")).await },
        ));
    }
    for task in tasks {
        let verdict = task.await.unwrap().unwrap();
        assert!(matches!(verdict, GateVerdict::Allow { .. }), "{verdict:?}");
    }

    // Each verdict change was recorded once, not once per request.
    let records = store.kind::<GateDecision>().resources().await.unwrap();
    let verdicts: Vec<&str> = {
        let mut v: Vec<(&str, &str)> = records
            .iter()
            .map(|r| {
                (
                    r.spec["at"].as_str().unwrap(),
                    r.spec["verdict"].as_str().unwrap(),
                )
            })
            .collect();
        v.sort();
        v.into_iter().map(|(_, verdict)| verdict).collect()
    };
    assert_eq!(verdicts, ["allow", "wait", "allow"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deferred_decision_answers_before_its_record_is_durable_and_repeats_wait_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("slipway.db");
    let store: Arc<dyn Store> = Arc::new(
        SqlStore::open(&format!("sqlite://{}", file.display()))
            .await
            .unwrap(),
    );
    store
        .apply(
            &Actor::system("test"),
            vec![put(
                json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "Environment",
                "metadata": {"name": "production"},
                "spec": {"tier": "production", "order": 1}}),
            )],
            false,
        )
        .await
        .unwrap();
    let gate = Arc::new(GovernanceGate::new(store.clone()));
    // Another connection holds the database's write lock: no record can be written.
    let blocker = rusqlite::Connection::open(&file).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();

    // The verdict comes back while its record cannot be written yet.
    let (verdict, recorded) = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        gate.decide_deferred(&request("r1")),
    )
    .await
    .expect("the verdict waited for the disk")
    .unwrap();
    assert!(matches!(verdict, GateVerdict::Allow { .. }), "{verdict:?}");
    let mut recorded = tokio::spawn(recorded);
    // A plain decision of the same request repeats that decision (no second record) and still
    // answers only once the record is durable: so do the deferred one's waiters.
    let mut repeated = tokio::spawn({
        let gate = gate.clone();
        async move { gate.decide(&request("r1")).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !recorded.is_finished(),
        "the record was reported durable under a held lock"
    );
    assert!(
        !repeated.is_finished(),
        "a repeat answered before the record was durable"
    );

    blocker.execute_batch("COMMIT").unwrap();
    (&mut recorded).await.unwrap().unwrap();
    let verdict = (&mut repeated).await.unwrap().unwrap();
    assert!(matches!(verdict, GateVerdict::Allow { .. }), "{verdict:?}");
    let records = store.kind::<GateDecision>().resources().await.unwrap();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].spec["subject"], "r1");
}
