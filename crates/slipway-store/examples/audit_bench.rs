//! Audit-log benchmark, run by `bench/audit.sh` in release mode. Prints figures with a baseline
//! measured in the same run:
//!
//! * durable audited appends per second through `Store::apply` (each mutation: read current state,
//!   write the resource, write its audit entry, advance the Merkle frontier, in batches of one
//!   transaction), against bare INSERTs of the same number of rows in the same batch size into a
//!   table with no audit and no hashing;
//! * the time to verify the whole log (leaf hashes, tree, checkpoint signatures, state), against
//!   the time to merely read the same rows.
//!
//! Usage: `audit_bench sqlite|postgres ENTRIES BATCH`.

use ed25519_dalek::SigningKey;
use serde_json::json;
use slipway_domain::resource::parse_document;
use slipway_store::{Actor, Mutation, SqlStore, Store};
use sqlx::{AnyPool, Row};
use std::time::Instant;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let backend = args.get(1).map(String::as_str).unwrap_or("sqlite");
    let entries: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let batch: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let dir = tempfile::tempdir().expect("temp dir");
    let url = match backend {
        "sqlite" => format!("sqlite://{}", dir.path().join("bench.db").display()),
        "postgres" => {
            let cluster = slipway_pgtest::PgCluster::shared();
            sqlx::any::install_default_drivers();
            let admin = AnyPool::connect(&cluster.url("postgres"))
                .await
                .expect("connect");
            sqlx::query("DROP DATABASE IF EXISTS bench")
                .execute(&admin)
                .await
                .expect("drop");
            sqlx::query("CREATE DATABASE bench")
                .execute(&admin)
                .await
                .expect("create");
            cluster.url("bench")
        }
        other => panic!("unknown backend {other}: use sqlite or postgres"),
    };
    let store = SqlStore::open(&url).await.expect("open store");
    let raw = AnyPool::connect(&url).await.expect("raw pool");
    let key = SigningKey::from_bytes(&[5u8; 32]);
    let actor = Actor {
        user: "bench".into(),
        request_id: "bench".into(),
        change_ref: None,
    };

    // 1. Audited appends: 1,000 resources updated over and over, `batch` per transaction.
    let team = parse_document(&json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "Team", "metadata": {"name": "t"}, "spec": {}})).expect("doc");
    store
        .apply(&actor, vec![Mutation::Put(team)], false)
        .await
        .expect("team");
    let started = Instant::now();
    let mut written = 0;
    let mut round = 0;
    while written < entries {
        let n = batch.min(entries - written);
        let docs = (0..n)
            .map(|i| {
                let name = format!("s{}", (written + i) % 1000);
                Mutation::Put(
                    parse_document(&json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "Service", "metadata": {"name": name},
                        "spec": {"owner": "t", "tier": "low", "description": format!("round {round} item {i}")}}))
                    .expect("doc"),
                )
            })
            .collect();
        store.apply(&actor, docs, false).await.expect("apply");
        written += n;
        round += 1;
        if round % 50 == 0 {
            store.checkpoint(&key).await.expect("checkpoint");
        }
    }
    let audited = started.elapsed().as_secs_f64();
    store.checkpoint(&key).await.expect("checkpoint");

    // Baseline: the same number of rows, same batch size, bare INSERTs, no audit, no hashing.
    sqlx::query("CREATE TABLE bench_plain (id BIGINT PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, content TEXT NOT NULL)")
        .execute(&raw)
        .await
        .expect("plain table");
    let started = Instant::now();
    let mut id: i64 = 0;
    while (id as usize) < entries {
        let mut tx = raw.begin().await.expect("begin");
        for _ in 0..batch.min(entries - id as usize) {
            sqlx::query(
                "INSERT INTO bench_plain (id, kind, name, content) VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind("Service")
            .bind(format!("s{}", id % 1000))
            .bind(format!(
                "{{\"owner\":\"t\",\"tier\":\"low\",\"description\":\"item {id}\"}}"
            ))
            .execute(&mut *tx)
            .await
            .expect("insert");
            id += 1;
        }
        tx.commit().await.expect("commit");
    }
    let plain = started.elapsed().as_secs_f64();
    let audited_rate = entries as f64 / audited;
    let plain_rate = entries as f64 / plain;
    println!(
        "{backend}: audited appends {audited_rate:.0}/s (batch {batch}, {entries} entries) vs bare inserts {plain_rate:.0}/s: ratio {:.2}",
        audited_rate / plain_rate
    );

    // 2. Verification of the whole log against reading it.
    let started = Instant::now();
    let mut rows = 0u64;
    {
        use futures_util::TryStreamExt;
        let mut stream = sqlx::query("SELECT seq, ts, actor, action, kind, name, revision, digest, request_id, change_ref, leaf_hash FROM audit_entries ORDER BY seq")
            .fetch(&raw);
        while let Some(row) = stream.try_next().await.expect("row") {
            let _: i64 = row.try_get(0).expect("seq");
            rows += 1;
        }
    }
    let read = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let report = store.verify(&key.verifying_key()).await.expect("verify");
    let verify = started.elapsed().as_secs_f64();
    assert!(report.ok(), "{:?}", report.first_problem());
    println!(
        "{backend}: verify {} entries ({} checkpoints, {} objects) in {verify:.3} s vs reading them in {read:.3} s: ratio {:.2}; {:.3} s per million",
        report.entries,
        report.checkpoints_verified,
        report.state_rows_checked,
        verify / read,
        verify / report.entries as f64 * 1e6
    );
    assert_eq!(rows, report.entries);
}
