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

/// The first wait between readiness probes; each wait doubles up to [`PROBE_BACKOFF_CAP`].
/// A new instance is usually ready a few milliseconds after it starts: probing soon after
/// finds it then, and the cap keeps a slow starter from being probed in a tight loop.
pub const PROBE_BACKOFF_FIRST: Duration = Duration::from_millis(2);
/// The longest wait between readiness probes.
pub const PROBE_BACKOFF_CAP: Duration = Duration::from_millis(50);

/// The waits between readiness probes: 2, 4, 8, … ms, capped.
pub fn probe_backoff() -> impl Iterator<Item = Duration> {
    std::iter::successors(Some(PROBE_BACKOFF_FIRST), |d| {
        Some((*d * 2).min(PROBE_BACKOFF_CAP))
    })
}

/// Probes with a short backoff ([`probe_backoff`]) until the instance is healthy or
/// `deadline` passes.
pub async fn wait_ready_check(
    client: &reqwest::Client,
    addr: SocketAddr,
    check: &HealthCheck,
    deadline: Duration,
) -> bool {
    let until = Instant::now() + deadline;
    let mut waits = probe_backoff();
    loop {
        if probe_check(client, addr, check, Duration::from_millis(500)).await {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        let wait = waits.next().unwrap_or(PROBE_BACKOFF_CAP);
        tokio::time::sleep(wait.min(until.saturating_duration_since(Instant::now()))).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_back_off_from_a_few_milliseconds_to_the_cap() {
        let waits: Vec<u64> = probe_backoff()
            .take(8)
            .map(|d| d.as_millis() as u64)
            .collect();
        assert_eq!(waits, vec![2, 4, 8, 16, 32, 50, 50, 50]);
    }

    #[tokio::test]
    async fn an_instance_that_starts_listening_after_the_first_probe_is_found_ready() {
        // A port nobody listens on yet; the listener appears 15 ms later.
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let addr = probe.local_addr().unwrap_or_else(|e| panic!("{e}"));
        drop(probe);
        let serve = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(15)).await;
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let _ = listener.accept().await;
        });
        let check = HealthCheck {
            tcp: true,
            ..HealthCheck::default()
        };
        let ready = wait_ready_check(
            &reqwest::Client::new(),
            addr,
            &check,
            Duration::from_secs(5),
        )
        .await;
        assert!(ready);
        serve.abort();
    }
}
