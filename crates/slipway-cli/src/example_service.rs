//! `slipway example-service` (hidden): the service the demo and the engine's tests deploy. It
//! serves HTTP with a version banner, and can be told to fail a share of requests with 500s
//! and to add latency, from the start or after a delay, so a bad release can be staged.

use crate::failure::{CliResult, Failure};
use anyhow::Context;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use clap::Args;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Args)]
pub struct ExampleServiceArgs {
    /// Address to listen on; `PORT` from the environment when absent.
    #[arg(long)]
    pub listen: Option<String>,
    /// The version in the banner; `SLIPWAY_VERSION` from the environment when absent.
    #[arg(long, env = "SLIPWAY_VERSION", default_value = "dev")]
    pub version: String,
    /// Share of requests answered with 500 (0.0..=1.0).
    #[arg(long, env = "EXAMPLE_ERROR_RATE", default_value_t = 0.0)]
    pub error_rate: f64,
    /// Extra latency added to every request, in milliseconds.
    #[arg(long, env = "EXAMPLE_LATENCY_MS", default_value_t = 0)]
    pub latency_ms: u64,
    /// Answer /healthz with 503 after this many seconds (a dying instance); never when 0.
    #[arg(long, env = "EXAMPLE_UNHEALTHY_AFTER_SECS", default_value_t = 0.0)]
    pub unhealthy_after_secs: f64,
    /// Behave well for this many seconds before the error rate and latency apply.
    #[arg(long, env = "EXAMPLE_FAIL_AFTER_SECS", default_value_t = 0.0)]
    pub fail_after_secs: f64,
}

struct Behaviour {
    args: ExampleServiceArgs,
    started: Instant,
    requests: AtomicU64,
}

impl Behaviour {
    /// Whether this request should fail: spreads failures evenly (every 1/rate-th request),
    /// so a 20% error rate is 20% over any short window, not just on average.
    fn fails(&self, n: u64) -> bool {
        let rate = self.args.error_rate.clamp(0.0, 1.0);
        if rate <= 0.0 || self.started.elapsed().as_secs_f64() < self.args.fail_after_secs {
            return false;
        }
        let before = ((n as f64) * rate).floor();
        let after = (((n + 1) as f64) * rate).floor();
        after > before
    }

    fn delay(&self) -> Duration {
        if self.started.elapsed().as_secs_f64() < self.args.fail_after_secs {
            Duration::ZERO
        } else {
            Duration::from_millis(self.args.latency_ms)
        }
    }
}

pub async fn run(args: ExampleServiceArgs) -> CliResult {
    let listen = match &args.listen {
        Some(l) => l.clone(),
        None => format!(
            "127.0.0.1:{}",
            std::env::var("PORT").map_err(|_| Failure::new(
                crate::failure::INVALID,
                "example-service needs --listen or PORT"
            ))?
        ),
    };
    let behaviour = Arc::new(Behaviour {
        args,
        started: Instant::now(),
        requests: AtomicU64::new(0),
    });
    let b = behaviour.clone();
    let h = behaviour.clone();
    let app = Router::new()
        .route(
            "/healthz",
            get(move || {
                let h = h.clone();
                async move {
                    let after = h.args.unhealthy_after_secs;
                    if after > 0.0 && h.started.elapsed().as_secs_f64() >= after {
                        (StatusCode::SERVICE_UNAVAILABLE, "unhealthy\n")
                    } else {
                        (StatusCode::OK, "ok\n")
                    }
                }
            }),
        )
        .route(
            "/",
            get(move || {
                let b = b.clone();
                async move {
                    let n = b.requests.fetch_add(1, Ordering::Relaxed);
                    let delay = b.delay();
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    if b.fails(n) {
                        (
                            StatusCode::INTERNAL_SERVER_ERROR,
                            format!("example-service {} failed\n", b.args.version),
                        )
                    } else {
                        (
                            StatusCode::OK,
                            format!("example-service {}\n", b.args.version),
                        )
                    }
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let shutdown = tokio_util::sync::CancellationToken::new();
    tokio::spawn(slipway_server::stop_on_signal(shutdown.clone()));
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
        .context("example-service failed")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_spread_evenly() {
        let b = Behaviour {
            args: ExampleServiceArgs {
                listen: None,
                version: "v".into(),
                error_rate: 0.2,
                latency_ms: 0,
                unhealthy_after_secs: 0.0,
                fail_after_secs: 0.0,
            },
            started: Instant::now(),
            requests: AtomicU64::new(0),
        };
        let failed: Vec<u64> = (0..20).filter(|n| b.fails(*n)).collect();
        assert_eq!(failed, vec![4, 9, 14, 19]);
        let windows = (0..1000).collect::<Vec<u64>>();
        assert!(
            windows
                .chunks(10)
                .all(|w| w.iter().filter(|n| b.fails(**n)).count() == 2)
        );
    }
}
