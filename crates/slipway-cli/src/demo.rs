//! `slipway demo`: Slipway's main job on the embedded default, end to end, on a temporary data
//! dir. It initialises a data dir, starts the server on a free loopback port, applies the example
//! system from `examples/`, shows it, exercises identity and access (a second user, a refused
//! privilege escalation, a reviewed change), proves an audit entry's inclusion, stops the server
//! gracefully, verifies the data dir offline, and finally tampers with a copy of the log to show
//! that verification names the altered entry. With `--ci` the last line is one JSON object.

use crate::client::ApiClient;
use crate::failure::{CliResult, Failure};
use crate::manifests::parse_text;
use crate::output::{Format, print_resources};
use crate::server_commands::server_failure;
use anyhow::Context;
use clap::Args;
use serde_json::json;
use slipway_api::resource_routes::{ApplyRequest, ApplyResponse, ResourceList};
use slipway_api::token_routes::CreatedToken;
use slipway_domain::audit::proof_bundle::AuditDocument;
use slipway_domain::kinds::{Environment, Kind, Service};
use slipway_server::{Config, Server, stop_on_signal};
use slipway_store::data_dir::DataDir;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The example system, embedded so the demo runs from any directory.
const EXAMPLES: &[(&str, &str)] = &[
    (
        "examples/access.yaml",
        include_str!("../../../examples/access.yaml"),
    ),
    (
        "examples/environments.yaml",
        include_str!("../../../examples/environments.yaml"),
    ),
    (
        "examples/services.yaml",
        include_str!("../../../examples/services.yaml"),
    ),
    (
        "examples/teams.yaml",
        include_str!("../../../examples/teams.yaml"),
    ),
];

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Non-interactive: plain output, and the last line is a JSON summary.
    #[arg(long)]
    pub ci: bool,
    /// Keep the server running after the walkthrough (until Ctrl-C) to explore it.
    #[arg(long, conflicts_with = "ci")]
    pub keep_running: bool,
}

fn step(title: &str) {
    println!("\n== {title}");
}

pub async fn run(args: DemoArgs) -> CliResult {
    let started = Instant::now();
    let tmp = tempfile::Builder::new()
        .prefix("slipway-demo-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    let data = DataDir::new(tmp.path().join("data"));

    step("1. slipway init: data dir, audit signing key, built-in roles, first admin");
    slipway_server::bootstrap::init(&data, None, "admin")
        .await
        .map_err(|e| Failure::new(1, e))?;
    println!(
        "data dir {} (admin token in {})",
        data.root.display(),
        data.admin_token_path().display()
    );

    step("2. slipway server on a free loopback port");
    let mut config = Config::new(&data.root);
    config.listen = "127.0.0.1:0".into();
    config.checkpoint_interval = Duration::from_secs(5);
    config.drain_timeout = Duration::from_secs(5);
    let server = Server::start(config.read().map_err(server_failure)?)
        .await
        .map_err(server_failure)?;
    let url = format!("http://{}", server.local_addr());
    println!("listening on {url}");
    let admin = ApiClient::new(
        &url,
        Some(data.admin_token().map_err(|e| Failure::new(1, e))?),
    )?;

    step("3. slipway apply -f examples/ (one atomic, audited batch)");
    let mut documents = Vec::new();
    for (name, text) in EXAMPLES {
        documents.extend(parse_text(name, text)?);
    }
    let applied: ApplyResponse = admin
        .post(
            "/api/v1/apply",
            &ApplyRequest {
                documents,
                dry_run: false,
                change_ref: Some("CHG-1001".into()),
            },
        )
        .await?;
    for r in &applied.results {
        println!(
            "{} {} {} (revision {})",
            r.kind, r.name, r.action, r.revision
        );
    }

    step("4. slipway get services / environments");
    let services: ResourceList = admin.get("/api/v1/services").await?;
    print_resources(Format::Table, Service::KIND, &services.items)?;
    let envs: ResourceList = admin.get("/api/v1/environments").await?;
    print_resources(Format::Table, Environment::KIND, &envs.items)?;

    step("5. identity: a token for rita (release manager), shown once");
    let created: CreatedToken = admin
        .post(
            "/api/v1/tokens",
            &json!({"user": "rita", "expiresIn": "1d", "description": "demo"}),
        )
        .await?;
    println!(
        "token {} for rita expires {}",
        created.record.id,
        created.record.expires_at.as_deref().unwrap_or("never")
    );
    let rita = ApiClient::new(&url, Some(created.token))?;
    let escalation = json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "RoleBinding", "metadata": {"name": "rita-admin"},
        "spec": {"role": "admin", "subjects": [{"kind": "User", "name": "rita"}]}});
    let refused = match rita
        .put::<_, serde_json::Value>("/api/v1/rolebindings/rita-admin", &escalation)
        .await
    {
        Err(f) => {
            println!("rita tries to make herself admin: refused ({:#})", f.error);
            true
        }
        Ok(_) => false,
    };
    if !refused {
        return Err(Failure::new(
            1,
            "the demo expected rita's privilege escalation to be refused",
        ));
    }

    step("6. slipway diff, then apply, as rita: production needs three approvals now");
    let (_, env_text) = EXAMPLES[1];
    let changed = env_text.replace("requiredApprovals: 2", "requiredApprovals: 3");
    let docs = parse_text("examples/environments.yaml", &changed)?;
    let diff: ApplyResponse = rita
        .post(
            "/api/v1/apply",
            &ApplyRequest {
                documents: docs.clone(),
                dry_run: true,
                change_ref: None,
            },
        )
        .await?;
    for r in diff.results.iter().filter(|r| r.action != "unchanged") {
        for c in &r.changes {
            println!(
                "~ {} {}: {}: {} → {}",
                r.kind,
                r.name,
                c.path,
                show(&c.before),
                show(&c.after)
            );
        }
    }
    let done: ApplyResponse = rita
        .post(
            "/api/v1/apply",
            &ApplyRequest {
                documents: docs,
                dry_run: false,
                change_ref: Some("CHG-1002".into()),
            },
        )
        .await?;
    let rita_entry = done
        .results
        .iter()
        .find_map(|r| r.audit_seq)
        .ok_or_else(|| Failure::new(1, "the demo's change wrote no audit entry"))?;
    println!("applied as audit entry #{rita_entry}");

    step("7. slipway audit proof: rita's change is in the signed log");
    let proof: AuditDocument = admin
        .get(&format!(
            "/api/v1/audit/proofs/inclusion?entry={rita_entry}"
        ))
        .await?;
    let key = data.public_key().map_err(|e| Failure::new(1, e))?;
    let verdict = proof.verify(Some(&key));
    println!(
        "{}: {}",
        if verdict.ok { "verified" } else { "FAILED" },
        verdict.summary
    );

    step(
        "8. a release: payments-api v1 to staging and production, v2 as a canary, v3 as a failing canary",
    );
    let release = release_walkthrough(&admin).await?;

    if args.keep_running {
        println!(
            "\nthe server keeps running at {url}; try:\n  export SLIPWAY_SERVER={url} SLIPWAY_TOKEN=$(cat {})\n  slipway get services\npress Ctrl-C to stop",
            data.admin_token_path().display()
        );
        stop_on_signal(server.shutdown_token()).await;
    }

    step("9. graceful shutdown: drain, final signed checkpoint, instances stopped");
    server.stop().await.map_err(server_failure)?;
    println!("server stopped");

    step("10. slipway audit verify --data-dir (offline)");
    let report = crate::audit_commands::data_dir_report(&data.root, None, None).await?;
    println!(
        "{}: {} entries, {} signed checkpoints, {} audited objects match",
        if report.ok() { "verified" } else { "FAILED" },
        report.entries,
        report.checkpoints_verified,
        report.state_rows_checked
    );

    step(&format!(
        "11. tamper with a copy: someone rewrites who made entry #{rita_entry}"
    ));
    let copy = DataDir::new(tmp.path().join("tampered"));
    copy.create().map_err(|e| Failure::new(1, e))?;
    for file in ["slipway.db", "audit-signing.pub"] {
        std::fs::copy(data.root.join(file), copy.root.join(file))
            .with_context(|| format!("cannot copy {file}"))?;
    }
    tamper(&copy, rita_entry).await?;
    let tampered = crate::audit_commands::data_dir_report(&copy.root, None, Some(key)).await?;
    let detected = tampered
        .first_problem()
        .map(|p| p.to_string())
        .unwrap_or_default();
    println!(
        "verification of the copy: {}",
        if tampered.ok() {
            "passed (unexpected!)"
        } else {
            "FAILED, as it must"
        }
    );
    println!("first problem: {detected}");
    let tamper_entry = tampered.first_problem().and_then(|p| p.entry);

    let ok = report.ok()
        && verdict.ok
        && refused
        && !tampered.ok()
        && tamper_entry == Some(rita_entry)
        && release.promoted.as_deref() == Some("2.0.0")
        && release.rolled_back.as_deref() == Some("3.0.0");
    step("summary");
    println!(
        "release: {} promoted as a canary; {} rolled back automatically ({}); first failing request to 100% of traffic on stable: {} ms; {} requests sent during the release, {} failed",
        release.promoted.as_deref().unwrap_or("nothing"),
        release.rolled_back.as_deref().unwrap_or("nothing"),
        release.breach.as_deref().unwrap_or("no breach"),
        release
            .breach_to_stable_ms
            .map(|v| v.to_string())
            .unwrap_or_else(|| "n/a".into()),
        release.requests,
        release.failures
    );
    println!(
        "{} resources applied in one audited batch; escalation refused; {} audit entries in a signed Merkle log; offline verification {}; tampering with entry #{rita_entry} {} ({:.1} s)",
        applied.results.len(),
        report.entries,
        if report.ok() { "passed" } else { "FAILED" },
        if tamper_entry == Some(rita_entry) {
            "detected and named"
        } else {
            "NOT detected"
        },
        started.elapsed().as_secs_f64()
    );
    if args.ci {
        println!(
            "{}",
            json!({
                "ok": ok,
                "promoted": release.promoted,
                "rolled_back": release.rolled_back,
                "breach_to_stable_ms": release.breach_to_stable_ms,
                "breach": release.breach,
                "load_requests": release.requests,
                "load_failures": release.failures,
                "resources_applied": applied.results.len(),
                "audit_entries": report.entries,
                "checkpoints_verified": report.checkpoints_verified,
                "audit_verified": report.ok(),
                "inclusion_proof_verified": verdict.ok,
                "escalation_refused": refused,
                "tamper_detected_entry": tamper_entry,
                "elapsed_ms": started.elapsed().as_millis() as u64,
            })
        );
    }
    if ok {
        Ok(())
    } else {
        Err(Failure::new(1, "the demo's checks did not all pass"))
    }
}

fn show(v: &Option<serde_json::Value>) -> String {
    v.as_ref()
        .map(|v| v.to_string())
        .unwrap_or_else(|| "(absent)".into())
}

/// Rewrites the actor of one audit entry directly in the database, as an attacker with database
/// access would.
async fn tamper(dir: &DataDir, seq: u64) -> CliResult {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&format!("{}?mode=rw", dir.sqlite_url()))
        .await
        .context("cannot open the copy")?;
    sqlx::query("UPDATE audit_entries SET actor = 'mallory' WHERE seq = $1")
        .bind(i64::try_from(seq).unwrap_or(i64::MAX))
        .execute(&pool)
        .await
        .context("cannot tamper with the copy")?;
    pool.close().await;
    Ok(())
}

/// What the release part of the demo saw.
struct Release {
    promoted: Option<String>,
    rolled_back: Option<String>,
    breach: Option<String>,
    breach_to_stable_ms: Option<i64>,
    requests: u64,
    failures: u64,
}

fn free_listen() -> CliResult<String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("no free port")?;
    Ok(l.local_addr()?.to_string())
}

fn artifact(version: &str, env: serde_json::Value) -> serde_json::Value {
    json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "Artifact",
        "metadata": {"name": format!("payments-api-{}", version.replace('.', "-"))},
        "spec": {"service": "payments-api", "version": version, "location": "{program}", "args": ["example-service"], "env": env}})
}

fn rollout(
    name: &str,
    environment: &str,
    version: &str,
    listen: &str,
    canary: bool,
) -> serde_json::Value {
    let strategy = if canary {
        json!({"canary": {"steps": [{"weight": 20, "pause": "2s"}, {"weight": 50, "pause": "2s"}]}})
    } else {
        json!({"direct": {}})
    };
    json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "Rollout", "metadata": {"name": name},
        "spec": {"service": "payments-api", "environment": environment,
                 "artifact": format!("payments-api-{}", version.replace('.', "-")),
                 "instances": 2, "listen": listen, "strategy": strategy,
                 "guardrails": ["error_rate > 5% for 300ms", "p99_latency > 500ms for 1s"],
                 "change": DEMO_CHANGE}})
}

/// The change request the demo's deployments implement.
const DEMO_CHANGE: &str = "chg-payments-release";

/// Production requires a change request: the demo opens a standard (pre-approved) change for
/// its deployments, submits it (its template authorises it) and moves it to Implement.
async fn open_demo_change(admin: &ApiClient) -> CliResult {
    let now = jiff::Timestamp::now();
    apply_docs(
        admin,
        vec![json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "ChangeRequest",
            "metadata": {"name": DEMO_CHANGE},
            "spec": {"type": "standard", "title": "payments-api 1.0.0 to 3.0.0",
                     "requester": "admin", "services": ["payments-api"],
                     "environments": ["staging", "production"],
                     "implementationPlan": "canary with guardrails", "backoutPlan": "automatic rollback",
                     "plannedStart": (now - jiff::SignedDuration::from_mins(1)).to_string(),
                     "plannedEnd": (now + jiff::SignedDuration::from_hours(2)).to_string()}})],
    )
    .await?;
    for action in ["submit", "implement"] {
        let _: serde_json::Value = admin
            .post(
                &format!("/api/v1/changerequests/{DEMO_CHANGE}/actions"),
                &json!({"action": action}),
            )
            .await?;
    }
    println!(
        "change {DEMO_CHANGE}: standard (pre-approved), now in Implement; the gate checks it for every rollout"
    );
    Ok(())
}

async fn apply_docs(client: &ApiClient, docs: Vec<serde_json::Value>) -> CliResult {
    let documents = docs
        .into_iter()
        .map(|document| slipway_api::resource_routes::ApplyDocument {
            source: Some("demo".into()),
            document,
        })
        .collect();
    let _: ApplyResponse = client
        .post(
            "/api/v1/apply",
            &ApplyRequest {
                documents,
                dry_run: false,
                change_ref: Some("CHG-1003".into()),
            },
        )
        .await?;
    Ok(())
}

/// Waits until the rollout's status reaches a terminal phase; returns the status.
async fn wait_for(client: &ApiClient, name: &str) -> CliResult<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut last = String::new();
    loop {
        let r: serde_json::Value = client.get(&format!("/api/v1/rollouts/{name}")).await?;
        let status = r.get("status").cloned().unwrap_or_default();
        let phase = status
            .get("phase")
            .and_then(|p| p.as_str())
            .unwrap_or("Pending")
            .to_string();
        if let Some(history) = status.get("history").and_then(|h| h.as_array())
            && let Some(what) = history
                .last()
                .and_then(|h| h.get("what"))
                .and_then(|w| w.as_str())
            && what != last
        {
            println!("  {name}: {what}");
            last = what.to_string();
        }
        if matches!(phase.as_str(), "Promoted" | "RolledBack" | "Failed") {
            return Ok(status);
        }
        if Instant::now() > deadline {
            return Err(Failure::new(
                1,
                format!("rollout {name} did not finish within 90 s (phase {phase})"),
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Load on the production listener: counts requests and failures, remembers the first failure.
struct Load {
    stop: CancellationToken,
    requests: std::sync::Arc<std::sync::atomic::AtomicU64>,
    failures: std::sync::Arc<std::sync::atomic::AtomicU64>,
    first_failure_ms: std::sync::Arc<std::sync::atomic::AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

fn start_load(url: String) -> Load {
    use std::sync::atomic::{AtomicU64, Ordering};
    let stop = CancellationToken::new();
    let requests = std::sync::Arc::new(AtomicU64::new(0));
    let failures = std::sync::Arc::new(AtomicU64::new(0));
    let first_failure_ms = std::sync::Arc::new(AtomicU64::new(0));
    let client = reqwest::Client::new();
    let tasks = (0..4)
        .map(|_| {
            let (stop, requests, failures, first, client, url) = (
                stop.clone(),
                requests.clone(),
                failures.clone(),
                first_failure_ms.clone(),
                client.clone(),
                url.clone(),
            );
            tokio::spawn(async move {
                while !stop.is_cancelled() {
                    let ok =
                        matches!(client.get(&url).send().await, Ok(r) if r.status().is_success());
                    requests.fetch_add(1, Ordering::Relaxed);
                    if !ok {
                        failures.fetch_add(1, Ordering::Relaxed);
                        let now = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map(|d| d.as_millis() as u64)
                            .unwrap_or(0);
                        let _ =
                            first.compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            })
        })
        .collect();
    Load {
        stop,
        requests,
        failures,
        first_failure_ms,
        tasks,
    }
}

async fn release_walkthrough(admin: &ApiClient) -> CliResult<Release> {
    use std::sync::atomic::Ordering;
    let (staging, production) = (free_listen()?, free_listen()?);
    open_demo_change(admin).await?;
    apply_docs(
        admin,
        vec![
            artifact("1.0.0", json!({})),
            artifact("2.0.0", json!({})),
            artifact("3.0.0", json!({"EXAMPLE_ERROR_RATE": "0.2"})),
        ],
    )
    .await?;
    println!("artifacts payments-api 1.0.0, 2.0.0, 3.0.0 (3.0.0 fails 20% of its requests)");
    apply_docs(
        admin,
        vec![
            rollout(
                "payments-api-1-staging",
                "staging",
                "1.0.0",
                &staging,
                false,
            ),
            rollout(
                "payments-api-1-production",
                "production",
                "1.0.0",
                &production,
                false,
            ),
        ],
    )
    .await?;
    wait_for(admin, "payments-api-1-staging").await?;
    wait_for(admin, "payments-api-1-production").await?;
    println!(
        "v1 serves staging on {staging} and production on {production}; load starts on production"
    );
    let load = start_load(format!("http://{production}/"));

    apply_docs(
        admin,
        vec![rollout(
            "payments-api-2-production",
            "production",
            "2.0.0",
            &production,
            true,
        )],
    )
    .await?;
    let v2 = wait_for(admin, "payments-api-2-production").await?;
    let promoted =
        (v2.get("phase").and_then(|p| p.as_str()) == Some("Promoted")).then(|| "2.0.0".to_string());
    let failures_before_v3 = load.failures.load(Ordering::Relaxed);

    apply_docs(
        admin,
        vec![rollout(
            "payments-api-3-production",
            "production",
            "3.0.0",
            &production,
            true,
        )],
    )
    .await?;
    let v3 = wait_for(admin, "payments-api-3-production").await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    load.stop.cancel();
    for t in load.tasks {
        let _ = t.await;
    }
    let rolled_back = (v3.get("phase").and_then(|p| p.as_str()) == Some("RolledBack"))
        .then(|| "3.0.0".to_string());
    let breach = v3.get("breach").map(|b| {
        format!(
            "{} at {}",
            b.get("rule").and_then(|r| r.as_str()).unwrap_or_default(),
            b.get("shown").and_then(|r| r.as_str()).unwrap_or_default()
        )
    });
    let first_failure = load.first_failure_ms.load(Ordering::Relaxed);
    let stable_at = v3.get("stableAtMs").and_then(|v| v.as_u64());
    let breach_to_stable_ms = match (first_failure, stable_at) {
        (f, Some(s)) if f > 0 && failures_before_v3 == 0 => Some(s as i64 - f as i64),
        _ => None,
    };
    Ok(Release {
        promoted,
        rolled_back,
        breach,
        breach_to_stable_ms,
        requests: load.requests.load(Ordering::Relaxed),
        failures: load.failures.load(Ordering::Relaxed),
    })
}
