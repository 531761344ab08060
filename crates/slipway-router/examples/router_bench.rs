//! Processes for `bench/router.sh`: a minimal hyper upstream, and the built-in router in front
//! of it, each serving until SIGTERM or Ctrl-C.
//!
//! ```text
//! router_bench upstream LISTEN                           # answers every request with 20 bytes
//! router_bench router LISTEN UPSTREAM [CANARY_PERCENT]   # stable and canary both on UPSTREAM
//! ```
//!
//! The router gets one stable and one canary instance at the same upstream address and a
//! canary weight (default 20 %), so every request goes through the weighted draw, as in the
//! HAProxy configuration the script compares it with (two servers weighted 80/20).

use std::convert::Infallible;
use std::error::Error;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use slipway_router::{BuiltinRouter, CanaryWeight, Instance, RouterConfig, TrafficRouter};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

type BoxError = Box<dyn Error + Send + Sync>;

const USAGE: &str =
    "usage: router_bench upstream LISTEN | router_bench router LISTEN UPSTREAM [CANARY_PERCENT]";

fn main() -> Result<(), BoxError> {
    // ROUTER_BENCH_THREADS sets the number of runtime worker threads (default: one per core).
    let threads: Option<usize> = std::env::var("ROUTER_BENCH_THREADS")
        .ok()
        .and_then(|t| t.parse().ok());
    let mut runtime = match threads {
        Some(0) => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    if let Some(threads) = threads.filter(|t| *t > 0) {
        runtime.worker_threads(threads);
    }
    runtime.enable_all().build()?.block_on(run())
}

async fn run() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["upstream", listen] => run_upstream(listen.parse()?).await,
        ["router", listen, upstream] => run_router(listen.parse()?, upstream.parse()?, 20).await,
        ["router", listen, upstream, percent] => {
            run_router(listen.parse()?, upstream.parse()?, percent.parse()?).await
        }
        _ => Err(USAGE.into()),
    }
}

/// Resolves on SIGTERM or Ctrl-C.
async fn terminated() -> Result<(), BoxError> {
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => {}
        result = tokio::signal::ctrl_c() => result?,
    }
    Ok(())
}

async fn run_upstream(listen: SocketAddr) -> Result<(), BoxError> {
    let listener = TcpListener::bind(listen).await?;
    println!("upstream listening on {}", listener.local_addr()?);
    let serve = async {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = service_fn(|_request: Request<Incoming>| async {
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
                        b"hello from upstream\n",
                    ))))
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    };
    tokio::select! {
        () = serve => Ok(()),
        result = terminated() => result,
    }
}

async fn run_router(
    listen: SocketAddr,
    upstream: SocketAddr,
    canary_percent: u32,
) -> Result<(), BoxError> {
    let shutdown = CancellationToken::new();
    // ROUTER_BENCH_THREADS also sets the router's data-plane threads.
    let mut config = RouterConfig::default();
    if let Some(threads) = std::env::var("ROUTER_BENCH_THREADS")
        .ok()
        .and_then(|t| t.parse::<usize>().ok())
    {
        config.data_plane_threads = threads.max(1);
    }
    let router = BuiltinRouter::new(config, &shutdown)?;
    let addr = router.ensure_service("bench", listen).await?;
    router
        .set_backends(
            "bench",
            vec![Instance::ready("bench/stable/0", upstream)],
            vec![Instance::ready("bench/canary/0", upstream)],
        )
        .await?;
    router
        .set_canary_weight("bench", CanaryWeight::from_percent(canary_percent)?)
        .await?;
    println!("router listening on {addr}, forwarding to {upstream} ({canary_percent}% canary)");
    terminated().await?;
    router.shutdown().await?;
    let snapshot = router.metrics("bench").await?;
    eprintln!(
        "router served {} stable + {} canary requests, {} errors, p99 inside the router {:?}",
        snapshot.stable.requests(),
        snapshot.canary.requests(),
        snapshot.stable.errors() + snapshot.canary.errors(),
        snapshot.stable.p99(),
    );
    Ok(())
}
