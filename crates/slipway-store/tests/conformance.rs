//! The store conformance suite: every test runs against SQLite and against a throwaway
//! PostgreSQL cluster, through the same `Store` trait.
#![allow(clippy::unwrap_used)] // in tests a panic is a failing test, which is the point

use ed25519_dalek::SigningKey;
use serde_json::json;
use slipway_domain::audit::merkle::{inclusion_proof, verify_inclusion};
use slipway_domain::resource::{Resource, parse_document};
use slipway_pgtest::PgCluster;
use slipway_store::{
    Actor, AppliedAction, CachedStore, Mutation, OutboxOutcome, SqlStore, Store, StoreError,
    TOKEN_KIND, TokenRecord,
};
use sqlx::AnyPool;
use std::sync::Arc;

/// A store under test plus a raw pool for tampering behind its back.
struct Subject {
    store: SqlStore,
    raw: AnyPool,
    _dir: Option<tempfile::TempDir>,
}

async fn sqlite() -> Subject {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("slipway.db").display());
    let store = SqlStore::open(&url).await.unwrap();
    let raw = AnyPool::connect(&format!("{url}?mode=rw")).await.unwrap();
    Subject {
        store,
        raw,
        _dir: Some(dir),
    }
}

async fn postgres(test: &str) -> Subject {
    let cluster = PgCluster::shared();
    sqlx::any::install_default_drivers();
    let admin = AnyPool::connect(&cluster.url("postgres")).await.unwrap();
    let db = format!("conf_{test}");
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {db}")))
        .execute(&admin)
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let url = cluster.url(&db);
    let store = SqlStore::open(&url).await.unwrap();
    let raw = AnyPool::connect(&url).await.unwrap();
    Subject {
        store,
        raw,
        _dir: None,
    }
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test] async fn $name() { super::$name(super::sqlite().await).await })*
        }
        mod on_postgres {
            $(#[tokio::test] async fn $name() { super::$name(super::postgres(stringify!($name)).await).await })*
        }
    };
}

conformance!(
    apply_creates_updates_and_skips_unchanged,
    dry_run_writes_nothing,
    stale_revision_refuses_the_whole_batch,
    delete_removes_and_audits,
    tokens_are_audited_and_revocable,
    untouched_log_verifies_with_checkpoints,
    modified_audit_row_is_named,
    deleted_last_audit_rows_are_found,
    resource_changed_behind_the_back_is_found,
    concurrent_writers_never_fork_the_log,
    inclusion_proofs_match_checkpoints,
    status_is_not_audited_content,
    large_logs_verify_and_name_the_bad_entry,
    a_batch_sees_its_own_changes,
    one_holder_per_lease,
    outbox_items_are_delivered_retried_and_given_up,
    the_writer_of_the_current_revision_is_known,
    generations_rise_with_every_write_by_anyone,
    cached_reads_see_every_committed_write,
    a_burst_of_cached_reads_shares_its_generation_queries,
    single_cached_reads_of_an_unlisted_kind_stay_fresh,
);

fn actor() -> Actor {
    Actor {
        user: "ann".into(),
        request_id: "req-1".into(),
        change_ref: Some("CHG-1".into()),
    }
}

fn team(name: &str, display: &str) -> Resource {
    parse_document(
        &json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "Team",
        "metadata": {"name": name}, "spec": {"displayName": display}}),
    )
    .unwrap()
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&[9u8; 32])
}

async fn verify_first_problem(s: &Subject) -> Option<String> {
    let report = s.store.verify(&key().verifying_key()).await.unwrap();
    report.first_problem().map(|p| p.to_string())
}

async fn apply_creates_updates_and_skips_unchanged(s: Subject) {
    let out = s
        .store
        .apply(
            &actor(),
            vec![Mutation::Put(team("a", "A")), Mutation::Put(team("b", "B"))],
            false,
        )
        .await
        .unwrap();
    assert_eq!(
        out.iter()
            .map(|a| (a.action, a.revision, a.audit_seq))
            .collect::<Vec<_>>(),
        vec![
            (AppliedAction::Created, 1, Some(0)),
            (AppliedAction::Created, 1, Some(1))
        ]
    );
    let out = s
        .store
        .apply(
            &actor(),
            vec![
                Mutation::Put(team("a", "A2")),
                Mutation::Put(team("b", "B")),
            ],
            false,
        )
        .await
        .unwrap();
    assert_eq!(
        out.iter()
            .map(|a| (a.action, a.revision, a.audit_seq))
            .collect::<Vec<_>>(),
        vec![
            (AppliedAction::Updated, 2, Some(2)),
            (AppliedAction::Unchanged, 1, None)
        ]
    );
    assert_eq!(out[0].before.as_ref().unwrap()["spec"]["displayName"], "A");
    let got = s.store.get("Team", "a").await.unwrap().unwrap();
    assert_eq!(got.spec["displayName"], "A2");
    assert_eq!(got.metadata.revision, Some(2));
    assert_eq!(s.store.list("Team").await.unwrap().len(), 2);
    let entries = s.store.audit_entries(0, 100).await.unwrap();
    assert_eq!(entries.len(), 3);
    let e = &entries[2].entry;
    assert_eq!(
        (
            e.actor.as_str(),
            e.action.as_str(),
            e.kind.as_str(),
            e.name.as_str(),
            e.revision
        ),
        ("ann", "update", "Team", "a", 2)
    );
    assert_eq!(e.digest, team("a", "A2").digest());
    assert_eq!(
        (e.request_id.as_str(), e.change_ref.as_deref()),
        ("req-1", Some("CHG-1"))
    );
}

async fn dry_run_writes_nothing(s: Subject) {
    let out = s
        .store
        .apply(&actor(), vec![Mutation::Put(team("a", "A"))], true)
        .await
        .unwrap();
    assert_eq!(out[0].action, AppliedAction::Created);
    assert_eq!(out[0].audit_seq, None);
    assert!(s.store.get("Team", "a").await.unwrap().is_none());
    assert_eq!(s.store.audit_head().await.unwrap().0, 0);
}

async fn stale_revision_refuses_the_whole_batch(s: Subject) {
    s.store
        .apply(&actor(), vec![Mutation::Put(team("a", "A"))], false)
        .await
        .unwrap();
    let mut stale = team("a", "A3");
    stale.metadata.revision = Some(7);
    let err = s
        .store
        .apply(
            &actor(),
            vec![Mutation::Put(team("b", "B")), Mutation::Put(stale)],
            false,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::StaleRevision {
                expected: 7,
                actual: 1,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        s.store.get("Team", "b").await.unwrap().is_none(),
        "the batch must apply nothing"
    );
    assert_eq!(s.store.audit_head().await.unwrap().0, 1);
    let mut fresh = team("a", "A3");
    fresh.metadata.revision = Some(1);
    s.store
        .apply(&actor(), vec![Mutation::Put(fresh)], false)
        .await
        .unwrap();
    assert_eq!(verify_first_problem(&s).await, None);
}

async fn delete_removes_and_audits(s: Subject) {
    s.store
        .apply(&actor(), vec![Mutation::Put(team("a", "A"))], false)
        .await
        .unwrap();
    let del = |rev| Mutation::Delete {
        kind: "Team".into(),
        name: "a".into(),
        expected_revision: rev,
    };
    assert!(matches!(
        s.store.apply(&actor(), vec![del(Some(3))], false).await,
        Err(StoreError::StaleRevision { .. })
    ));
    let out = s
        .store
        .apply(&actor(), vec![del(None)], false)
        .await
        .unwrap();
    assert_eq!(out[0].action, AppliedAction::Deleted);
    assert!(s.store.get("Team", "a").await.unwrap().is_none());
    assert!(matches!(
        s.store.apply(&actor(), vec![del(None)], false).await,
        Err(StoreError::NotFound { .. })
    ));
    let entries = s.store.audit_entries(0, 10).await.unwrap();
    assert_eq!(entries.last().unwrap().entry.action, "delete");
    assert_eq!(verify_first_problem(&s).await, None);
}

fn token(id: &str) -> TokenRecord {
    TokenRecord {
        id: id.into(),
        user: "ann".into(),
        secret_hash: "ab".repeat(32),
        description: "ci".into(),
        revision: 1,
        created_at: "2026-01-01T00:00:00Z".into(),
        expires_at: None,
        revoked_at: None,
    }
}

async fn tokens_are_audited_and_revocable(s: Subject) {
    s.store.create_token(&actor(), token("t1")).await.unwrap();
    s.store.create_token(&actor(), token("t2")).await.unwrap();
    assert!(s.store.revoke_token(&actor(), "t1").await.unwrap());
    assert!(!s.store.revoke_token(&actor(), "t1").await.unwrap());
    assert!(
        s.store
            .token("t1")
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
    assert_eq!(s.store.tokens(Some("ann")).await.unwrap().len(), 2);
    let entries = s.store.audit_entries(0, 10).await.unwrap();
    assert_eq!(
        entries
            .iter()
            .map(|e| (e.entry.kind.as_str(), e.entry.action.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (TOKEN_KIND, "create"),
            (TOKEN_KIND, "create"),
            (TOKEN_KIND, "revoke")
        ]
    );
    for e in &entries {
        assert!(
            !e.entry.digest.contains(&"ab".repeat(32)),
            "the secret hash must not be logged in clear"
        );
    }
    assert_eq!(verify_first_problem(&s).await, None);
    // A token row changed behind Slipway's back (un-revoked) is found.
    sqlx::query("UPDATE tokens SET revoked_at = NULL WHERE id = 't1'")
        .execute(&s.raw)
        .await
        .unwrap();
    let p = verify_first_problem(&s).await.unwrap();
    assert!(p.contains("Token t1"), "{p}");
}

async fn fill(s: &Subject, n: usize) {
    for i in 0..n {
        s.store
            .apply(
                &actor(),
                vec![Mutation::Put(team(&format!("t{i}"), "x"))],
                false,
            )
            .await
            .unwrap();
        if i % 3 == 2 {
            s.store.checkpoint(&key()).await.unwrap();
        }
    }
}

async fn untouched_log_verifies_with_checkpoints(s: Subject) {
    fill(&s, 10).await;
    assert!(s.store.checkpoint(&key()).await.unwrap().is_some());
    assert!(
        s.store.checkpoint(&key()).await.unwrap().is_none(),
        "no new checkpoint when nothing changed"
    );
    let report = s.store.verify(&key().verifying_key()).await.unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    assert_eq!(
        (
            report.entries,
            report.checkpoints_verified,
            report.latest_checkpoint
        ),
        (10, 4, Some(10))
    );
    // A different trusted key refuses every checkpoint.
    let other = SigningKey::from_bytes(&[1u8; 32]).verifying_key();
    assert!(!s.store.verify(&other).await.unwrap().ok());
}

async fn modified_audit_row_is_named(s: Subject) {
    fill(&s, 10).await;
    s.store.checkpoint(&key()).await.unwrap();
    // Each column in turn, on entries 4..8; each is restored before the next is changed.
    let columns = [
        ("actor", "'eve'"),
        ("revision", "9"),
        ("ts", "'2020-01-01T00:00:00Z'"),
        ("digest", "'sha256:00'"),
        ("name", "'t0'"),
    ];
    for (i, (column, value)) in columns.iter().enumerate() {
        let seq = 4 + i;
        let old: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT CAST({column} AS TEXT) FROM audit_entries WHERE seq = {seq}"
        )))
        .fetch_one(&s.raw)
        .await
        .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE audit_entries SET {column} = {value} WHERE seq = {seq}"
        )))
        .execute(&s.raw)
        .await
        .unwrap();
        let p = verify_first_problem(&s).await.unwrap();
        assert!(p.starts_with(&format!("entry #{seq}:")), "{column}: {p}");
        let restore = if *column == "revision" {
            old.clone()
        } else {
            format!("'{old}'")
        };
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE audit_entries SET {column} = {restore} WHERE seq = {seq}"
        )))
        .execute(&s.raw)
        .await
        .unwrap();
        assert_eq!(verify_first_problem(&s).await, None, "restoring {column}");
    }
    // Rewriting the recorded leaf hash as well is caught by the signed checkpoint.
    let e = &s.store.audit_entries(3, 1).await.unwrap()[0];
    let mut forged = e.entry.clone();
    forged.actor = "eve".into();
    sqlx::query("UPDATE audit_entries SET actor = 'eve', leaf_hash = $1 WHERE seq = 3")
        .bind(forged.leaf_hash().to_vec())
        .execute(&s.raw)
        .await
        .unwrap();
    let p = verify_first_problem(&s).await.unwrap();
    assert!(p.contains("signed checkpoint at tree size"), "{p}");
}

async fn deleted_last_audit_rows_are_found(s: Subject) {
    fill(&s, 10).await;
    s.store.checkpoint(&key()).await.unwrap();
    sqlx::query("DELETE FROM audit_entries WHERE seq >= 8")
        .execute(&s.raw)
        .await
        .unwrap();
    let report = s.store.verify(&key().verifying_key()).await.unwrap();
    assert!(!report.ok());
    let first = report.first_problem().unwrap().to_string();
    assert!(first.starts_with("entry #8:"), "{first}");
    // Even without a checkpoint covering them, and with the head rewritten to match, the state
    // rows they audited betray the deletion.
    sqlx::query("DELETE FROM audit_checkpoints")
        .execute(&s.raw)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_head SET size = 8")
        .execute(&s.raw)
        .await
        .unwrap();
    let problems: Vec<String> = s
        .store
        .verify(&key().verifying_key())
        .await
        .unwrap()
        .problems
        .iter()
        .map(|p| p.to_string())
        .collect();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("Team t8 (revision 1) has no audit entry")),
        "{problems:?}"
    );
}

async fn resource_changed_behind_the_back_is_found(s: Subject) {
    fill(&s, 5).await;
    sqlx::query(
        "UPDATE resources SET content = REPLACE(content, '\"x\"', '\"evil\"') WHERE name = 't2'",
    )
    .execute(&s.raw)
    .await
    .unwrap();
    let p = verify_first_problem(&s).await.unwrap();
    assert!(p.starts_with("entry #2: Team t2 in the store"), "{p}");
    assert!(p.contains("changed behind Slipway's back"), "{p}");
}

async fn concurrent_writers_never_fork_the_log(s: Subject) {
    let store = Arc::new(s.store);
    let mut tasks = Vec::new();
    for w in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                store
                    .apply(
                        &actor(),
                        vec![Mutation::Put(team(&format!("w{w}-{i}"), "x"))],
                        false,
                    )
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let entries = store.audit_entries(0, 1000).await.unwrap();
    assert_eq!(entries.len(), 80);
    assert!(
        entries
            .iter()
            .enumerate()
            .all(|(i, e)| e.entry.seq == i as u64)
    );
    store.checkpoint(&key()).await.unwrap();
    let report = store.verify(&key().verifying_key()).await.unwrap();
    assert!(report.ok(), "{:?}", report.problems);
}

async fn inclusion_proofs_match_checkpoints(s: Subject) {
    fill(&s, 13).await;
    let cp = s.store.checkpoint(&key()).await.unwrap().unwrap();
    let leaves = s.store.leaf_hashes(cp.checkpoint.size).await.unwrap();
    let entries = s.store.audit_entries(0, 100).await.unwrap();
    let root = cp.checkpoint.root_hash().unwrap();
    for (i, e) in entries.iter().enumerate() {
        let proof = inclusion_proof(&leaves, i).unwrap();
        assert!(verify_inclusion(
            &e.entry.leaf_hash(),
            i as u64,
            cp.checkpoint.size,
            &proof,
            &root
        ));
    }
}

async fn status_is_not_audited_content(s: Subject) {
    fill(&s, 2).await;
    s.store
        .set_status("Team", "t1", &json!({"phase": "ready"}))
        .await
        .unwrap();
    let got = s.store.get("Team", "t1").await.unwrap().unwrap();
    assert_eq!(got.status, Some(json!({"phase": "ready"})));
    assert_eq!(s.store.audit_head().await.unwrap().0, 2);
    assert_eq!(verify_first_problem(&s).await, None);
    assert!(matches!(
        s.store.set_status("Team", "nope", &json!({})).await,
        Err(StoreError::NotFound { .. })
    ));
    let found = s
        .store
        .set_statuses(&[
            ("Team".into(), "t0".into(), json!({"phase": "a"})),
            ("Team".into(), "nope".into(), json!({})),
            ("Team".into(), "t1".into(), json!({"phase": "b"})),
        ])
        .await
        .unwrap();
    assert_eq!(found, vec![true, false, true]);
    assert_eq!(
        s.store.get("Team", "t1").await.unwrap().unwrap().status,
        Some(json!({"phase": "b"}))
    );
    assert_eq!(
        s.store.audit_head().await.unwrap().0,
        2,
        "status is not audited"
    );
    assert_eq!(verify_first_problem(&s).await, None);
}

async fn large_logs_verify_and_name_the_bad_entry(s: Subject) {
    // Big enough that SQLite verification splits the log across threads.
    for round in 0..10 {
        let batch = (0..1000)
            .map(|i| Mutation::Put(team(&format!("t{i}"), &format!("round {round}"))))
            .collect();
        s.store.apply(&actor(), batch, false).await.unwrap();
    }
    s.store.checkpoint(&key()).await.unwrap();
    let report = s.store.verify(&key().verifying_key()).await.unwrap();
    assert!(report.ok(), "{:?}", report.first_problem());
    assert_eq!(report.entries, 10_000);
    sqlx::query("UPDATE audit_entries SET actor = 'eve' WHERE seq = 7777")
        .execute(&s.raw)
        .await
        .unwrap();
    let p = verify_first_problem(&s).await.unwrap();
    assert!(p.starts_with("entry #7777:"), "{p}");
}

async fn the_writer_of_the_current_revision_is_known(s: Subject) {
    s.store
        .apply(&actor(), vec![Mutation::Put(team("w", "W"))], false)
        .await
        .unwrap();
    assert_eq!(
        s.store.updated_by("Team", "w").await.unwrap().as_deref(),
        Some("ann")
    );
    let bob = Actor {
        user: "bob".into(),
        ..actor()
    };
    s.store
        .apply(&bob, vec![Mutation::Put(team("w", "W2"))], false)
        .await
        .unwrap();
    assert_eq!(
        s.store.updated_by("Team", "w").await.unwrap().as_deref(),
        Some("bob")
    );
    assert_eq!(s.store.updated_by("Team", "nobody").await.unwrap(), None);
}

async fn a_batch_sees_its_own_changes(s: Subject) {
    s.store
        .apply(&actor(), vec![Mutation::Put(team("a", "A"))], false)
        .await
        .unwrap();
    let del = Mutation::Delete {
        kind: "Team".into(),
        name: "a".into(),
        expected_revision: Some(1),
    };
    let mut second = team("b", "B2");
    second.metadata.revision = Some(1);
    let out = s
        .store
        .apply(
            &actor(),
            vec![
                Mutation::Put(team("b", "B1")),
                Mutation::Put(second),
                del,
                Mutation::Put(team("a", "again")),
            ],
            false,
        )
        .await
        .unwrap();
    let got: Vec<(AppliedAction, i64)> = out.iter().map(|a| (a.action, a.revision)).collect();
    assert_eq!(
        got,
        vec![
            (AppliedAction::Created, 1),
            (AppliedAction::Updated, 2),
            (AppliedAction::Deleted, 1),
            (AppliedAction::Created, 1)
        ]
    );
    assert_eq!(
        s.store.get("Team", "b").await.unwrap().unwrap().spec["displayName"],
        "B2"
    );
    assert_eq!(
        s.store.get("Team", "a").await.unwrap().unwrap().spec["displayName"],
        "again"
    );
    assert_eq!(verify_first_problem(&s).await, None);
}

async fn one_holder_per_lease(s: Subject) {
    assert!(
        s.store
            .acquire_lease("engine", "a", 1_000, 500)
            .await
            .unwrap()
    );
    assert!(
        !s.store
            .acquire_lease("engine", "b", 1_200, 500)
            .await
            .unwrap(),
        "held by a"
    );
    assert!(
        s.store
            .acquire_lease("engine", "a", 1_400, 500)
            .await
            .unwrap(),
        "a renews"
    );
    assert!(
        !s.store
            .acquire_lease("engine", "b", 1_800, 500)
            .await
            .unwrap(),
        "renewed until 1900"
    );
    assert!(
        s.store
            .acquire_lease("engine", "b", 1_901, 500)
            .await
            .unwrap(),
        "expired: b takes over"
    );
    assert!(
        !s.store
            .acquire_lease("engine", "a", 1_950, 500)
            .await
            .unwrap()
    );
    s.store.release_lease("engine", "a").await.unwrap();
    assert!(
        !s.store
            .acquire_lease("engine", "a", 1_960, 500)
            .await
            .unwrap(),
        "a cannot release b's lease"
    );
    s.store.release_lease("engine", "b").await.unwrap();
    assert!(
        s.store
            .acquire_lease("engine", "a", 1_970, 500)
            .await
            .unwrap()
    );
    assert!(
        s.store
            .acquire_lease("other", "b", 1_970, 500)
            .await
            .unwrap(),
        "leases are independent"
    );
}

async fn outbox_items_are_delivered_retried_and_given_up(s: Subject) {
    let event = |n: u32| json!({"context": {"id": format!("e{n}")}});
    s.store
        .enqueue_outbox(
            &[("audit-sink".into(), event(1)), ("chat".into(), event(2))],
            1_000,
        )
        .await
        .unwrap();
    assert!(s.store.due_outbox(999, 10).await.unwrap().is_empty());
    let due = s.store.due_outbox(1_000, 10).await.unwrap();
    assert_eq!(due.len(), 2);
    assert_eq!(
        (due[0].sink.as_str(), &due[0].event),
        ("audit-sink", &event(1))
    );
    assert_eq!(due[0].state, "pending");
    s.store
        .settle_outbox(due[0].id, &OutboxOutcome::Delivered)
        .await
        .unwrap();
    s.store
        .settle_outbox(
            due[1].id,
            &OutboxOutcome::RetryAt {
                at_ms: 5_000,
                error: "HTTP 503".into(),
            },
        )
        .await
        .unwrap();
    assert!(s.store.due_outbox(4_999, 10).await.unwrap().is_empty());
    let again = s.store.due_outbox(5_000, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1);
    assert_eq!(again[0].last_error.as_deref(), Some("HTTP 503"));
    s.store
        .settle_outbox(
            again[0].id,
            &OutboxOutcome::GaveUp {
                error: "HTTP 503".into(),
            },
        )
        .await
        .unwrap();
    assert!(s.store.due_outbox(i64::MAX, 10).await.unwrap().is_empty());
    let recent = s.store.recent_outbox(10).await.unwrap();
    let states: Vec<(&str, i64)> = recent
        .iter()
        .map(|i| (i.state.as_str(), i.attempts))
        .collect();
    assert_eq!(states, [("failed", 2), ("delivered", 1)]);
}

async fn generations_rise_with_every_write_by_anyone(s: Subject) {
    let generation =
        |g: &std::collections::BTreeMap<String, u64>, kind: &str| g.get(kind).copied().unwrap_or(0);
    let start = s.store.generations().await.unwrap();
    assert_eq!(generation(&start, "Team"), 0, "no Team written yet");
    let mut seen = 0;
    let mut step = |what: &str, now: u64| {
        assert!(now > seen, "{what}: the Team generation stayed at {now}");
        seen = now;
    };
    s.store
        .apply(&actor(), vec![Mutation::Put(team("a", "A"))], false)
        .await
        .unwrap();
    step(
        "put",
        generation(&s.store.generations().await.unwrap(), "Team"),
    );
    s.store
        .set_status("Team", "a", &json!({"phase": "x"}))
        .await
        .unwrap();
    step(
        "set_status",
        generation(&s.store.generations().await.unwrap(), "Team"),
    );
    sqlx::query("UPDATE resources SET updated_by = 'eve' WHERE kind = 'Team'")
        .execute(&s.raw)
        .await
        .unwrap();
    step(
        "a write by another process",
        generation(&s.store.generations().await.unwrap(), "Team"),
    );
    let before_other_kind = s.store.generations().await.unwrap();
    s.store
        .apply(
            &actor(),
            vec![Mutation::Put(
                parse_document(
                    &json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "Environment",
                    "metadata": {"name": "e"}, "spec": {"tier": "development", "order": 1}}),
                )
                .unwrap(),
            )],
            false,
        )
        .await
        .unwrap();
    let after_other_kind = s.store.generations().await.unwrap();
    assert_eq!(
        generation(&after_other_kind, "Team"),
        generation(&before_other_kind, "Team"),
        "another kind's write leaves Team alone"
    );
    assert!(generation(&after_other_kind, "Environment") > 0);
    s.store
        .apply(
            &actor(),
            vec![Mutation::Delete {
                kind: "Team".into(),
                name: "a".into(),
                expected_revision: None,
            }],
            false,
        )
        .await
        .unwrap();
    step(
        "delete",
        generation(&s.store.generations().await.unwrap(), "Team"),
    );
}

async fn cached_reads_see_every_committed_write(s: Subject) {
    fill(&s, 3).await;
    let inner: Arc<dyn Store> = Arc::new(s.store);
    let cached = CachedStore::new(inner.clone());
    assert_eq!(cached.list("Team").await.unwrap().len(), 3);
    assert_eq!(
        cached.updated_by("Team", "t1").await.unwrap().as_deref(),
        Some("ann")
    );
    let pinned = cached.snapshot().await.unwrap();

    // A write behind the cache's back, by another process.
    sqlx::query(
        "UPDATE resources SET content = REPLACE(content, '\"x\"', '\"changed\"'), updated_by = 'eve' WHERE name = 't1'",
    )
    .execute(&s.raw)
    .await
    .unwrap();
    let t1 = cached.get("Team", "t1").await.unwrap().unwrap();
    assert_eq!(t1.spec["displayName"], "changed");
    assert_eq!(
        cached.updated_by("Team", "t1").await.unwrap().as_deref(),
        Some("eve")
    );
    // A snapshot pinned before the write may serve it too (it is never older than its pin).
    assert!(pinned.get("Team", "t1").await.unwrap().is_some());
    // A new snapshot sees it.
    let fresh = cached.snapshot().await.unwrap();
    assert_eq!(
        fresh.get("Team", "t1").await.unwrap().unwrap().spec["displayName"],
        "changed"
    );

    // Status, labels and deletions through the underlying store.
    inner
        .set_status("Team", "t2", &json!({"phase": "ready"}))
        .await
        .unwrap();
    assert_eq!(
        cached.get("Team", "t2").await.unwrap().unwrap().status,
        Some(json!({"phase": "ready"}))
    );
    let labelled = parse_document(
        &json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "Team",
        "metadata": {"name": "l", "labels": {"slipway.dev/change": "chg-1"}},
        "spec": {"displayName": "L"}}),
    )
    .unwrap();
    cached
        .apply(&actor(), vec![Mutation::Put(labelled)], false)
        .await
        .unwrap();
    let found = cached
        .list_labelled("Team", "slipway.dev/change", "chg-1")
        .await
        .unwrap();
    assert_eq!(
        found
            .iter()
            .map(|r| r.metadata.name.as_str())
            .collect::<Vec<_>>(),
        ["l"]
    );
    assert_eq!(
        inner
            .list_labelled("Team", "slipway.dev/change", "chg-1")
            .await
            .unwrap(),
        found,
        "the cache and the store agree"
    );
    cached
        .apply(
            &actor(),
            vec![Mutation::Delete {
                kind: "Team".into(),
                name: "t0".into(),
                expected_revision: None,
            }],
            false,
        )
        .await
        .unwrap();
    assert!(cached.get("Team", "t0").await.unwrap().is_none());
    assert_eq!(
        cached.list("Team").await.unwrap(),
        inner.list("Team").await.unwrap()
    );
    assert_eq!(cached.get("Nothing", "x").await.unwrap(), None);
}

async fn a_burst_of_cached_reads_shares_its_generation_queries(s: Subject) {
    fill(&s, 3).await;
    let cached = CachedStore::new(Arc::new(s.store));
    let mut tasks = Vec::new();
    for _ in 0..500 {
        let cached = cached.clone();
        tasks.push(tokio::spawn(async move {
            cached.get("Team", "t2").await.unwrap().unwrap()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().metadata.name, "t2");
    }
    let queries = cached.generation_queries();
    assert!(
        (1..=5).contains(&queries),
        "500 reads at once made {queries} generation queries"
    );
}

async fn single_cached_reads_of_an_unlisted_kind_stay_fresh(s: Subject) {
    fill(&s, 2).await;
    let inner: Arc<dyn Store> = Arc::new(s.store);
    let cached = CachedStore::new(inner.clone());
    // Never listed: each resource is read and kept on its own, absent ones too.
    assert_eq!(cached.get("Team", "t5").await.unwrap(), None);
    let (t1, writer) = cached.get_with_writer("Team", "t1").await.unwrap().unwrap();
    assert_eq!(
        (t1.spec["displayName"].as_str(), writer.as_str()),
        (Some("x"), "ann")
    );
    inner
        .apply(&actor(), vec![Mutation::Put(team("t5", "five"))], false)
        .await
        .unwrap();
    assert_eq!(
        cached.get("Team", "t5").await.unwrap().unwrap().spec["displayName"],
        "five",
        "a resource created after it was found absent"
    );
    sqlx::query("UPDATE resources SET updated_by = 'eve' WHERE name = 't1'")
        .execute(&s.raw)
        .await
        .unwrap();
    assert_eq!(
        cached.updated_by("Team", "t1").await.unwrap().as_deref(),
        Some("eve")
    );
    inner
        .set_status("Team", "t1", &json!({"phase": "ready"}))
        .await
        .unwrap();
    let snapshot = cached.snapshot().await.unwrap();
    assert_eq!(
        snapshot.get("Team", "t1").await.unwrap().unwrap().status,
        Some(json!({"phase": "ready"}))
    );
    // Once the kind is listed, single reads come from the loaded kind and agree with it.
    assert_eq!(cached.list("Team").await.unwrap().len(), 3);
    assert_eq!(
        cached.get("Team", "t1").await.unwrap(),
        inner.get("Team", "t1").await.unwrap()
    );
}
