//! The built-in router over real sockets and real HTTP: small hyper upstreams on 127.0.0.1:0
//! that answer with their name, the router in front of them, and a pooled client sending
//! requests through it.
#![allow(clippy::unwrap_used)] // in tests a panic is a failing test

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use slipway_router::{
    BuiltinRouter, CanaryWeight, Instance, InstanceId, RouterConfig, RouterError, StatusClass,
    TrafficRouter, Version,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// A test upstream: answers every request with its name as the body, the given status, after
/// the given delay, echoing what it saw in `x-seen-*` headers.
struct Upstream {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
}

async fn upstream(name: &'static str, status: StatusCode, delay: Duration) -> Upstream {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<Incoming>| {
                    let counter = Arc::clone(&counter);
                    async move {
                        counter.fetch_add(1, Ordering::SeqCst);
                        let seen_path = request.uri().to_string();
                        let seen_host = request
                            .headers()
                            .get("host")
                            .and_then(|h| h.to_str().ok())
                            .unwrap_or("")
                            .to_owned();
                        let seen_connection = request.headers().contains_key("x-drop-me");
                        let body = request
                            .into_body()
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        tokio::time::sleep(delay).await;
                        let response = Response::builder()
                            .status(status)
                            .header("x-seen-path", seen_path)
                            .header("x-seen-host", seen_host)
                            .header("x-seen-body", String::from_utf8_lossy(&body).into_owned())
                            .header("x-seen-dropped-header", seen_connection.to_string())
                            .body(Full::new(Bytes::from(name)))
                            .unwrap();
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Upstream { addr, hits }
}

async fn ok_upstream(name: &'static str) -> Upstream {
    upstream(name, StatusCode::OK, Duration::ZERO).await
}

/// An address where nothing listens.
async fn dead_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

struct Reply {
    status: StatusCode,
    body: String,
    version: Option<String>,
    headers: http::HeaderMap,
}

type TestClient = Client<HttpConnector, Full<Bytes>>;

fn client() -> TestClient {
    Client::builder(TokioExecutor::new()).build_http()
}

async fn send(client: &TestClient, router: SocketAddr, pin: Option<&str>) -> Reply {
    let mut request = Request::get(format!("http://{router}/hello?x=1"));
    if let Some(pin) = pin {
        request = request.header("x-slipway-version", pin);
    }
    send_request(client, request.body(Full::default()).unwrap()).await
}

async fn send_request(client: &TestClient, request: Request<Full<Bytes>>) -> Reply {
    let response = client.request(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let version = headers
        .get("x-slipway-version")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        body: String::from_utf8(body.to_vec()).unwrap(),
        version,
        headers,
    }
}

/// Sends `n` unpinned requests over 16 concurrent connections; counts bodies.
async fn spread(router: SocketAddr, n: usize) -> HashMap<String, usize> {
    let client = client();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..16 {
        let client = client.clone();
        let share = n / 16 + usize::from(worker < n % 16);
        tasks.spawn(async move {
            let mut bodies = Vec::with_capacity(share);
            for _ in 0..share {
                let reply = send(&client, router, None).await;
                bodies.push(format!("{} {}", reply.status.as_u16(), reply.body));
            }
            bodies
        });
    }
    let mut counts = HashMap::new();
    while let Some(bodies) = tasks.join_next().await {
        for body in bodies.unwrap() {
            *counts.entry(body).or_insert(0) += 1;
        }
    }
    counts
}

fn count(counts: &HashMap<String, usize>, key: &str) -> usize {
    counts.get(key).copied().unwrap_or(0)
}

/// A router serving "web" with the given stable and canary instances (all ready).
async fn router(
    stable: &[(&str, SocketAddr)],
    canary: &[(&str, SocketAddr)],
) -> (BuiltinRouter, SocketAddr) {
    let router = BuiltinRouter::new(RouterConfig::default(), &CancellationToken::new()).unwrap();
    let addr = router
        .ensure_service("web", "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let instances = |list: &[(&str, SocketAddr)]| {
        list.iter()
            .map(|(id, a)| Instance::ready(*id, *a))
            .collect()
    };
    router
        .set_backends("web", instances(stable), instances(canary))
        .await
        .unwrap();
    (router, addr)
}

fn weight(percent: u32) -> CanaryWeight {
    CanaryWeight::from_percent(percent).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weights_0_and_100_send_everything_to_one_side() {
    let (s, c) = (ok_upstream("stable").await, ok_upstream("canary").await);
    let (router, addr) = router(&[("s", s.addr)], &[("c", c.addr)]).await;
    let counts = spread(addr, 200).await;
    assert_eq!(count(&counts, "200 stable"), 200, "{counts:?}");
    router.set_canary_weight("web", weight(100)).await.unwrap();
    let counts = spread(addr, 200).await;
    assert_eq!(count(&counts, "200 canary"), 200, "{counts:?}");
    assert_eq!(s.hits.load(Ordering::SeqCst), 200);
    assert_eq!(c.hits.load(Ordering::SeqCst), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_percent_canary_lands_within_tolerance() {
    let (s, c) = (ok_upstream("stable").await, ok_upstream("canary").await);
    let (router, addr) = router(&[("s", s.addr)], &[("c", c.addr)]).await;
    router.set_canary_weight("web", weight(20)).await.unwrap();
    let counts = spread(addr, 2000).await;
    let canary = count(&counts, "200 canary");
    assert_eq!(canary + count(&counts, "200 stable"), 2000, "{counts:?}");
    // Expected 400, standard deviation ~17.9: ±70 is about 4 standard deviations.
    assert!((330..=470).contains(&canary), "canary got {canary} of 2000");
    let snapshot = router.metrics("web").await.unwrap();
    assert_eq!(snapshot.canary.requests() as usize, canary);
    assert_eq!(snapshot.stable.requests() as usize, 2000 - canary);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_weight_change_applies_to_the_next_request() {
    let (s, c) = (ok_upstream("stable").await, ok_upstream("canary").await);
    let (router, addr) = router(&[("s", s.addr)], &[("c", c.addr)]).await;
    let client = client();
    for _ in 0..20 {
        router
            .set_canary_weight("web", CanaryWeight::FULL)
            .await
            .unwrap();
        assert_eq!(send(&client, addr, None).await.body, "canary");
        router
            .set_canary_weight("web", CanaryWeight::ZERO)
            .await
            .unwrap();
        assert_eq!(send(&client, addr, None).await.body, "stable");
    }
    assert_eq!(router.canary_weight("web"), Some(CanaryWeight::ZERO));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_header_pins_a_version_regardless_of_weight() {
    let (s, c) = (ok_upstream("stable").await, ok_upstream("canary").await);
    let (router, addr) = router(&[("s", s.addr)], &[("c", c.addr)]).await;
    let client = client();
    for _ in 0..10 {
        let reply = send(&client, addr, Some("canary")).await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (StatusCode::OK, "canary")
        );
        assert_eq!(reply.version.as_deref(), Some("canary"));
    }
    router
        .set_canary_weight("web", CanaryWeight::FULL)
        .await
        .unwrap();
    for _ in 0..10 {
        assert_eq!(send(&client, addr, Some("Stable")).await.body, "stable");
    }
    // Not a version: 400, counted as unrouted.
    let reply = send(&client, addr, Some("blue")).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.body.contains("must be \"stable\" or \"canary\""),
        "{}",
        reply.body
    );
    // Pinned to a version with no ready instance: 503, no fallback to the other version.
    router
        .set_ready(&InstanceId::from("c"), false)
        .await
        .unwrap();
    let reply = send(&client, addr, Some("canary")).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        reply.body,
        "slipway router: service \"web\" has no ready instance of version canary (pinned by header x-slipway-version)\n"
    );
    let snapshot = router.metrics("web").await.unwrap();
    assert_eq!(snapshot.unrouted, 2);
    assert_eq!(snapshot.canary.requests(), 10);
    assert_eq!(snapshot.stable.requests(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_ready_instances_get_no_traffic() {
    let (a, b, c) = (
        ok_upstream("a").await,
        ok_upstream("b").await,
        ok_upstream("c").await,
    );
    let router = BuiltinRouter::new(RouterConfig::default(), &CancellationToken::new()).unwrap();
    let addr = router
        .ensure_service("web", "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let stable = vec![
        Instance::ready("a", a.addr),
        Instance::ready("b", b.addr),
        Instance::not_ready("c", c.addr),
    ];
    router.set_backends("web", stable, vec![]).await.unwrap();
    let counts = spread(addr, 300).await;
    assert_eq!(
        (count(&counts, "200 a"), count(&counts, "200 b")),
        (150, 150),
        "{counts:?}"
    );
    assert_eq!(c.hits.load(Ordering::SeqCst), 0);

    router
        .set_ready(&InstanceId::from("b"), false)
        .await
        .unwrap();
    router
        .set_ready(&InstanceId::from("c"), true)
        .await
        .unwrap();
    let counts = spread(addr, 300).await;
    assert_eq!(
        (count(&counts, "200 a"), count(&counts, "200 c")),
        (150, 150),
        "{counts:?}"
    );
    assert_eq!(b.hits.load(Ordering::SeqCst), 150);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_all_unready_version_falls_back_to_the_other_and_none_ready_is_503() {
    let (s, c1, c2) = (
        ok_upstream("stable").await,
        ok_upstream("c1").await,
        ok_upstream("c2").await,
    );
    let (router, addr) = router(&[("s", s.addr)], &[("c1", c1.addr), ("c2", c2.addr)]).await;
    router
        .set_canary_weight("web", CanaryWeight::FULL)
        .await
        .unwrap();
    router
        .set_ready(&InstanceId::from("c1"), false)
        .await
        .unwrap();
    router
        .set_ready(&InstanceId::from("c2"), false)
        .await
        .unwrap();
    let counts = spread(addr, 100).await;
    assert_eq!(count(&counts, "200 stable"), 100, "{counts:?}");

    // The other way round: stable all unready at weight 0 goes to canary.
    router
        .set_canary_weight("web", CanaryWeight::ZERO)
        .await
        .unwrap();
    router
        .set_ready(&InstanceId::from("c2"), true)
        .await
        .unwrap();
    router
        .set_ready(&InstanceId::from("s"), false)
        .await
        .unwrap();
    let counts = spread(addr, 100).await;
    assert_eq!(count(&counts, "200 c2"), 100, "{counts:?}");

    router
        .set_ready(&InstanceId::from("c2"), false)
        .await
        .unwrap();
    let reply = send(&client(), addr, None).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        reply.body,
        "slipway router: service \"web\" has no ready instance of any version\n"
    );
    assert_eq!(reply.version, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_per_version_and_status_class() {
    let s = ok_upstream("stable").await;
    let c = upstream("canary", StatusCode::INTERNAL_SERVER_ERROR, Duration::ZERO).await;
    let missing = upstream("missing", StatusCode::NOT_FOUND, Duration::ZERO).await;
    let (router, addr) = router(&[("s", s.addr), ("m", missing.addr)], &[("c", c.addr)]).await;
    let client = client();
    for _ in 0..10 {
        send(&client, addr, Some("stable")).await;
    }
    for _ in 0..5 {
        let reply = send(&client, addr, Some("canary")).await;
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    }
    // A canary instance nobody listens on: 502, counted as an upstream error.
    let dead = dead_addr().await;
    router
        .set_backends(
            "web",
            vec![Instance::ready("s", s.addr)],
            vec![Instance::ready("dead", dead)],
        )
        .await
        .unwrap();
    for _ in 0..3 {
        let reply = send(&client, addr, Some("canary")).await;
        assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
        assert!(
            reply
                .body
                .contains("canary upstream of service \"web\" is unreachable"),
            "{}",
            reply.body
        );
    }

    let snapshot = router.metrics("web").await.unwrap();
    let stable = &snapshot.stable.classes;
    assert_eq!(
        (
            stable.get(StatusClass::Success),
            stable.get(StatusClass::ClientError)
        ),
        (5, 5)
    );
    assert_eq!(snapshot.stable.errors(), 0);
    let canary = &snapshot.canary.classes;
    assert_eq!(canary.get(StatusClass::ServerError), 5);
    assert_eq!(canary.get(StatusClass::UpstreamError), 3);
    assert_eq!(snapshot.canary.requests(), 8);
    assert_eq!(snapshot.canary.error_rate(), Some(1.0));
    assert_eq!(snapshot.canary.latency.count(), 8);
    assert!(snapshot.stable.p99().is_some());

    let text = router.render_prometheus();
    for line in [
        r#"slipway_router_requests_total{service="web",version="stable",class="2xx"} 5"#,
        r#"slipway_router_requests_total{service="web",version="stable",class="4xx"} 5"#,
        r#"slipway_router_requests_total{service="web",version="canary",class="5xx"} 5"#,
        r#"slipway_router_requests_total{service="web",version="canary",class="error"} 3"#,
        r#"slipway_router_request_duration_seconds_count{service="web",version="canary"} 8"#,
        r#"slipway_router_request_duration_seconds_bucket{service="web",version="stable",le="+Inf"} 10"#,
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_forwarded_whole_without_hop_by_hop_headers() {
    let s = ok_upstream("stable").await;
    let (_router, addr) = router(&[("s", s.addr)], &[]).await;
    let request = Request::post(format!("http://{addr}/orders?id=7&x=%20"))
        .header("connection", "x-drop-me")
        .header("x-drop-me", "1")
        .body(Full::new(Bytes::from_static(b"payload")))
        .unwrap();
    let reply = send_request(&client(), request).await;
    assert_eq!(reply.status, StatusCode::OK);
    let seen = |name: &str| {
        reply
            .headers
            .get(name)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(seen("x-seen-path"), "/orders?id=7&x=%20");
    assert_eq!(seen("x-seen-host"), addr.to_string());
    assert_eq!(seen("x-seen-body"), "payload");
    assert_eq!(seen("x-seen-dropped-header"), "false");
    assert_eq!(reply.version.as_deref(), Some("stable"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_in_flight_requests_and_closes_the_listener() {
    let slow = upstream("slow", StatusCode::OK, Duration::from_millis(400)).await;
    let (router, addr) = router(&[("s", slow.addr)], &[]).await;
    let in_flight = tokio::spawn(async move { send(&client(), addr, None).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    router.shutdown().await.unwrap();
    let reply = in_flight.await.unwrap();
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, "slow")
    );
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    assert!(matches!(
        router
            .ensure_service("other", "127.0.0.1:0".parse().unwrap())
            .await,
        Err(RouterError::ShutDown)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_the_parent_token_stops_accepting() {
    let s = ok_upstream("stable").await;
    let parent = CancellationToken::new();
    let router = BuiltinRouter::new(RouterConfig::default(), &parent).unwrap();
    let addr = router
        .ensure_service("web", "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    router
        .set_backends("web", vec![Instance::ready("s", s.addr)], vec![])
        .await
        .unwrap();
    assert_eq!(send(&client(), addr, None).await.body, "stable");
    parent.cancel();
    router.shutdown().await.unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backends_are_validated_and_readiness_survives_promotion() {
    let (s, c) = (ok_upstream("stable").await, ok_upstream("canary").await);
    // Used through the trait object, as the engine will.
    let builtin = BuiltinRouter::new(RouterConfig::default(), &CancellationToken::new()).unwrap();
    let router: Arc<dyn TrafficRouter> = Arc::new(builtin.clone());
    let any_port: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let addr = router.ensure_service("web", any_port).await.unwrap();
    assert_eq!(router.ensure_service("web", any_port).await.unwrap(), addr);
    assert_eq!(router.ensure_service("web", addr).await.unwrap(), addr);
    let elsewhere = dead_addr().await;
    assert!(matches!(
        router.ensure_service("web", elsewhere).await,
        Err(RouterError::ListenerConflict { .. })
    ));
    let api_addr = router.ensure_service("api", any_port).await.unwrap();

    router
        .set_backends(
            "web",
            vec![Instance::ready("web/v1/0", s.addr)],
            vec![Instance::not_ready("web/v2/0", c.addr)],
        )
        .await
        .unwrap();
    let err = router
        .set_backends(
            "web",
            vec![Instance::ready("x", s.addr)],
            vec![Instance::ready("x", c.addr)],
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "instance \"x\" is listed more than once for service \"web\""
    );
    let err = router
        .set_backends("api", vec![Instance::ready("web/v1/0", s.addr)], vec![])
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "instance \"web/v1/0\" already belongs to service \"web\", not \"api\""
    );
    let err = router
        .set_ready(&InstanceId::from("nope"), true)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown instance \"nope\": no service of this router has it"
    );
    let err = router
        .set_canary_weight("nope", CanaryWeight::ZERO)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown service \"nope\": it has no listener in this router"
    );
    assert!(router.metrics("nope").await.is_err());
    // The failed calls changed nothing.
    let client = client();
    assert_eq!(send(&client, addr, None).await.body, "stable");
    assert_eq!(
        send(&client, addr, Some("canary")).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );

    // Health check passes; promotion moves the canary instance to stable and it stays ready
    // although the new list says `not_ready` (that is only the initial value).
    router
        .set_ready(&InstanceId::from("web/v2/0"), true)
        .await
        .unwrap();
    router
        .set_backends("web", vec![Instance::not_ready("web/v2/0", c.addr)], vec![])
        .await
        .unwrap();
    let counts = spread(addr, 50).await;
    assert_eq!(count(&counts, "200 canary"), 50, "{counts:?}");
    // The old stable instance is forgotten.
    assert!(
        router
            .set_ready(&InstanceId::from("web/v1/0"), true)
            .await
            .is_err()
    );

    // Removing a service closes its listener and frees its instance ids.
    router.remove_service("web").await.unwrap();
    router.remove_service("web").await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    assert!(builtin.local_addr("web").is_none());
    router
        .set_backends("api", vec![Instance::ready("web/v2/0", c.addr)], vec![])
        .await
        .unwrap();
    assert_eq!(send(&client, api_addr, None).await.body, "canary");
    builtin.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_upstream_times_out_as_an_upstream_error() {
    let slow = upstream("slow", StatusCode::OK, Duration::from_secs(5)).await;
    let config = RouterConfig {
        request_timeout: Some(Duration::from_millis(200)),
        ..RouterConfig::default()
    };
    let router = BuiltinRouter::new(config, &CancellationToken::new()).unwrap();
    let addr = router
        .ensure_service("web", "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    router
        .set_backends("web", vec![], vec![Instance::ready("slow", slow.addr)])
        .await
        .unwrap();
    let reply = send(&client(), addr, None).await;
    assert_eq!(reply.status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(reply.version.as_deref(), Some(Version::Canary.as_str()));
    let snapshot = router.metrics("web").await.unwrap();
    assert_eq!(snapshot.canary.classes.get(StatusClass::UpstreamError), 1);
    assert!(snapshot.canary.p50().unwrap() >= Duration::from_millis(200));
}

/// An upstream that counts the connections it accepts; with `keep_alive` false it closes each
/// connection after one response.
async fn counting_upstream(keep_alive: bool) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&connections);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let service = service_fn(|_request: Request<Incoming>| async {
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("counted"))))
                });
                let _ = http1::Builder::new()
                    .keep_alive(keep_alive)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, connections)
}

/// Sends `n` requests one after another on ONE client connection; returns their statuses.
async fn on_one_connection(router: SocketAddr, n: usize) -> Vec<StatusCode> {
    let stream = tokio::net::TcpStream::connect(router).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut statuses = Vec::new();
    for _ in 0..n {
        sender.ready().await.unwrap();
        let request = Request::get("/")
            .header("host", "web")
            .body(Full::<Bytes>::default())
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        statuses.push(response.status());
        response.into_body().collect().await.unwrap();
    }
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_connection_keeps_one_upstream_connection_and_later_ones_reuse_it() {
    let (upstream, connections) = counting_upstream(true).await;
    let (router, addr) = router(&[("s", upstream)], &[]).await;
    let statuses = on_one_connection(addr, 50).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert_eq!(connections.load(Ordering::SeqCst), 1);
    // The closed client connection handed its upstream connection to the idle pool.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let statuses = on_one_connection(addr, 10).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert_eq!(connections.load(Ordering::SeqCst), 1);
    router.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_that_closes_its_connections_gets_a_new_one_for_every_request() {
    let (upstream, connections) = counting_upstream(false).await;
    let (router, addr) = router(&[("s", upstream)], &[]).await;
    let statuses = on_one_connection(addr, 20).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert_eq!(connections.load(Ordering::SeqCst), 20);
    assert_eq!(
        router
            .metrics("web")
            .await
            .unwrap()
            .stable
            .classes
            .get(StatusClass::UpstreamError),
        0
    );
    router.shutdown().await.unwrap();
}
