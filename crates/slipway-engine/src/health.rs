//! Health checks: an instance receives traffic only after its check passes, and during a
//! rollout the canary's instances are probed continuously (the `health_check_failures`
//! guardrail). A check is an HTTP GET (2xx passes), a TCP connect, or a command run with the
//! instance's `PORT` (exit 0 passes).

use slipway_domain::kinds::HealthCheck;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// One probe; `true` when the instance is healthy within `timeout`.
pub async fn probe_check(
    client: &reqwest::Client,
    addr: SocketAddr,
    check: &HealthCheck,
    timeout: Duration,
) -> bool {
    if let Some(argv) = &check.command {
        let Some((program, args)) = argv.split_first() else {
            return false;
        };
        let run = tokio::process::Command::new(program)
            .args(args)
            .env("PORT", addr.port().to_string())
            .env("SLIPWAY_INSTANCE_ADDR", addr.to_string())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .status();
        return matches!(tokio::time::timeout(timeout, run).await, Ok(Ok(status)) if status.success());
    }
    if check.tcp {
        return matches!(
            tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await,
            Ok(Ok(_))
        );
    }
    probe(client, addr, &check.path, timeout).await
}

/// One HTTP health probe; `true` on a 2xx answer within `timeout`.
pub async fn probe(
    client: &reqwest::Client,
    addr: SocketAddr,
    path: &str,
    timeout: Duration,
) -> bool {
    let url = format!("http://{addr}{path}");
    matches!(
        client.get(&url).timeout(timeout).send().await,
        Ok(resp) if resp.status().is_success()
    )
}

/// Probes every 50 ms until the instance is healthy or `deadline` passes.
pub async fn wait_ready_check(
    client: &reqwest::Client,
    addr: SocketAddr,
    check: &HealthCheck,
    deadline: Duration,
) -> bool {
    let until = Instant::now() + deadline;
    loop {
        if probe_check(client, addr, check, Duration::from_millis(500)).await {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// HTTP-only form of [`wait_ready_check`].
pub async fn wait_ready(
    client: &reqwest::Client,
    addr: SocketAddr,
    path: &str,
    deadline: Duration,
) -> bool {
    let check = HealthCheck {
        path: path.to_string(),
        ..HealthCheck::default()
    };
    wait_ready_check(client, addr, &check, deadline).await
}
