//! For `bench/gate.sh`: gate decisions under 1,000 concurrent requests against a real SQLite
//! store holding the example system, an authorised change with its events, a production
//! calendar (a window and a freeze, so both are evaluated) and five Rego policies.
//!
//! ```text
//! gate_bench [--distinct] [CONCURRENT] [ROUNDS]      # defaults 1000 and 5: bursts at once
//! gate_bench [--distinct] --rate PER_SECOND SECONDS  # open loop: one every 1/PER_SECOND s
//! ```
//! Without `--distinct` every request is the same rollout's (a rollout polled by many callers);
//! with it every request is another rollout's, never decided before, so each decision is
//! evaluated on its own and recorded (a release starting a thousand rollouts at once).
//! Prints p50, p99 and max of the decision latency, and (bursts) the baseline: the same number
//! of plain `Store::get` calls in the same run.

use slipway_domain::kinds::ChangeRequest;
use slipway_store::TypedStore;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use slipway_domain::resource::parse_document;
use slipway_gate::{GateRequest, Gatekeeper};
use slipway_governance::{ChangeCommand, ChangeDesk, GovernanceGate};
use slipway_store::{Actor, Mutation, SqlStore, Store};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn document(value: serde_json::Value) -> Result<Mutation, BoxError> {
    parse_document(&value)
        .map(Mutation::Put)
        .map_err(|d| format!("{d:?}").into())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1).peekable();
    let distinct = args.peek().is_some_and(|a| a == "--distinct");
    if distinct {
        args.next();
    }
    let open_loop = args.peek().is_some_and(|a| a == "--rate");
    if open_loop {
        args.next();
    }
    let concurrent: usize = args.next().map_or(Ok(1000), |a| a.parse())?;
    let rounds: usize = args.next().map_or(Ok(5), |a| a.parse())?;
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("slipway.db").display());
    let store: Arc<dyn Store> = Arc::new(SqlStore::open(&url).await?);
    let admin = Actor::system("bench");
    let now = jiff::Timestamp::now();
    let mut batch = vec![
        document(
            json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "Team", "metadata": {"name": "payments"}, "spec": {"displayName": "Payments"}}),
        )?,
        document(
            json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "Environment", "metadata": {"name": "production"},
            "spec": {"tier": "production", "order": 1, "protection": {"requireChangeRequest": true}}}),
        )?,
        document(
            json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "Service", "metadata": {"name": "payments-api"},
            "spec": {"owner": "payments", "tier": "critical"}}),
        )?,
        document(
            json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "Artifact", "metadata": {"name": "payments-api-2"},
            "spec": {"service": "payments-api", "version": "2.0.0", "location": "/bin/true"}}),
        )?,
        document(
            json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "Calendar", "metadata": {"name": "production"},
            "spec": {"scope": {"environment": "production"}, "timeZone": "Europe/London",
                     "windows": [{"name": "always", "cron": "0 0 * * *", "duration": "24h"}],
                     "freezes": [{"name": "year-end", "start": "2035-12-19T18:00:00", "end": "2036-01-05T08:00:00"}]}}),
        )?,
        document(
            json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "ChangeRequest", "metadata": {"name": "chg-1"},
            "spec": {"type": "standard", "title": "bench", "requester": "ann", "services": ["payments-api"],
                     "environments": ["production"], "implementationPlan": "roll", "backoutPlan": "back",
                     "plannedStart": (now - jiff::SignedDuration::from_mins(1)).to_string(),
                     "plannedEnd": (now + jiff::SignedDuration::from_hours(4)).to_string()}}),
        )?,
    ];
    for (i, rule) in [
        "input.rollout.version == \"0.0.0\"",
        "input.rollout.environment == \"nowhere\"",
        "count(input.checks) > 1000",
        "input.actor.name == \"mallory\"",
        "input.calendar.inside_window == false",
    ]
    .iter()
    .enumerate()
    {
        batch.push(document(json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "GatePolicy",
            "metadata": {"name": format!("policy-{i}")},
            "spec": {"rego": format!("package slipway.gate.p{i}\n\ndeny contains \"refused\" if {{\n  {rule}\n}}\n")}}))?);
    }
    store.apply(&admin, batch, false).await?;
    let desk = ChangeDesk::new(store.clone());
    desk.act(&admin, Vec::new(), "chg-1", ChangeCommand::Submit)
        .await?;
    desk.act(&admin, Vec::new(), "chg-1", ChangeCommand::Implement)
        .await?;
    // The rollouts asked about: "r" for the first decision and identical requests, then one
    // per distinct request.
    let subject = |i: usize| {
        if distinct {
            format!("r-{i}")
        } else {
            "r".to_string()
        }
    };
    let subjects = if distinct { concurrent * rounds } else { 0 };
    let rollouts = std::iter::once("r".to_string())
        .chain((0..subjects).map(subject))
        .map(|name| {
            document(json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "Rollout", "metadata": {"name": name},
                "spec": {"service": "payments-api", "environment": "production", "artifact": "payments-api-2",
                         "listen": "127.0.0.1:1", "strategy": {"direct": {}}, "change": "chg-1"}}))
        })
        .collect::<Result<Vec<_>, _>>()?;
    for chunk in rollouts.chunks(1000) {
        store.apply(&admin, chunk.to_vec(), false).await?;
    }

    let gate = Arc::new(GovernanceGate::new(store.clone()));
    let request = GateRequest {
        subject_kind: "Rollout".into(),
        subject: "r".into(),
        service: "payments-api".into(),
        environment: "production".into(),
        artifact: "payments-api-2".into(),
        change: Some("chg-1".into()),
        step: None,
    };
    let request_for = |i: usize| GateRequest {
        subject: subject(i),
        ..request.clone()
    };
    // Sanity: the decision allows, so every rule ran.
    let first = gate.decide(&request).await?;
    println!("decision: {first:?}");

    let show = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
    if open_loop {
        // `concurrent` requests per second for `rounds` seconds, whatever the latency.
        let interval = Duration::from_secs_f64(1.0 / concurrent.max(1) as f64);
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut tasks = Vec::new();
        for i in 0..concurrent * rounds {
            ticker.tick().await;
            let (gate, request) = (gate.clone(), request_for(i));
            tasks.push(tokio::spawn(async move {
                let started = Instant::now();
                let _ = gate.decide(&request).await;
                started.elapsed()
            }));
        }
        let mut latencies = Vec::new();
        for task in tasks {
            latencies.push(task.await?);
        }
        latencies.sort();
        println!(
            "gate decisions{} at {concurrent}/s for {rounds} s ({} in all): p50 {} p99 {} max {}",
            if distinct { " (distinct rollouts)" } else { "" },
            latencies.len(),
            show(percentile(&latencies, 0.5)),
            show(percentile(&latencies, 0.99)),
            show(percentile(&latencies, 1.0)),
        );
        return Ok(());
    }
    let mut gate_latencies = Vec::new();
    let mut get_latencies = Vec::new();
    for round in 0..rounds {
        let mut tasks = Vec::new();
        for k in 0..concurrent {
            let (gate, request) = (gate.clone(), request_for(round * concurrent + k));
            tasks.push(tokio::spawn(async move {
                let started = Instant::now();
                let verdict = gate.decide(&request).await;
                (started.elapsed(), verdict.is_ok())
            }));
        }
        for task in tasks {
            let (elapsed, ok) = task.await?;
            if !ok {
                return Err("a gate decision failed".into());
            }
            gate_latencies.push(elapsed);
        }
        let mut tasks = Vec::new();
        for _ in 0..concurrent {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let started = Instant::now();
                let _ = store.kind::<ChangeRequest>().resource("chg-1").await;
                started.elapsed()
            }));
        }
        for task in tasks {
            get_latencies.push(task.await?);
        }
    }
    gate_latencies.sort();
    get_latencies.sort();
    println!(
        "gate decisions{}: {} ({} concurrent x {rounds}): p50 {} p99 {} max {}",
        if distinct { " (distinct rollouts)" } else { "" },
        gate_latencies.len(),
        concurrent,
        show(percentile(&gate_latencies, 0.5)),
        show(percentile(&gate_latencies, 0.99)),
        show(percentile(&gate_latencies, 1.0)),
    );
    println!(
        "baseline store.get: p50 {} p99 {}",
        show(percentile(&get_latencies, 0.5)),
        show(percentile(&get_latencies, 0.99)),
    );
    Ok(())
}
