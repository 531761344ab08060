//! Health checks: an instance receives traffic only after its HTTP health endpoint answers 2xx.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

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
pub async fn wait_ready(
    client: &reqwest::Client,
    addr: SocketAddr,
    path: &str,
    deadline: Duration,
) -> bool {
    let until = Instant::now() + deadline;
    loop {
        if probe(client, addr, path, Duration::from_millis(500)).await {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
