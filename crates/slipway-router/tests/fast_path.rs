//! The router's hand-written HTTP/1.1 path over real sockets: framings (chunked, lengths,
//! close-delimited, HEAD, interim responses), large bodies both ways, keep-alive reuse,
//! pipelining, malformed requests, upstreams that close early, and the requests handed over
//! to the hyper path. Upstreams here are scripted at the byte level where the exact bytes
//! matter, and hyper where they do not.
#![allow(clippy::unwrap_used)] // in tests a panic is a failing test

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use slipway_router::{
    BuiltinRouter, CanaryWeight, Instance, RouterConfig, StatusClass, TrafficRouter,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// The reply of the scripted upstream to `method path`, and whether it then closes the
/// connection.
fn scripted_reply(method: &str, path: &str) -> (Vec<u8>, bool) {
    let reply: (&[u8], bool) = match (method, path) {
        ("HEAD", _) => (b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", false),
        (_, "/chunked") => (
            b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Slipway-Version: forged\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nx-checksum: 1\r\n\r\n",
            false,
        ),
        (_, "/cut") => (
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part",
            true,
        ),
        (_, "/cut-chunked") => (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
            true,
        ),
        (_, "/until-close") => (b"HTTP/1.1 200 OK\r\n\r\nall of it", true),
        (_, "/garbage") => (b"HTTP/1.1 2x0 What\r\n\r\n", true),
        _ => {
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{path}",
                path.len()
            );
            return (reply.into_bytes(), false);
        }
    };
    (reply.0.to_vec(), reply.1)
}

/// A request head at the start of `buf`: its length, method, path and Content-Length.
fn parse_request_head(buf: &[u8]) -> Option<(usize, String, String, usize)> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut request = httparse::Request::new(&mut headers);
    let httparse::Status::Complete(len) = request.parse(buf).unwrap() else {
        return None;
    };
    let length = request
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .map_or(0, |h| {
            std::str::from_utf8(h.value).unwrap().parse().unwrap()
        });
    Some((
        len,
        request.method.unwrap().to_owned(),
        request.path.unwrap().to_owned(),
        length,
    ))
}

/// An upstream speaking raw HTTP/1.1 from `scripted_reply`; it counts its connections and, with
/// `idle_close`, closes a connection that stays idle that long, without warning.
async fn scripted_upstream(idle_close: Option<Duration>) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&connections);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(serve_scripted(stream, idle_close));
        }
    });
    (addr, connections)
}

async fn serve_scripted(mut stream: TcpStream, idle_close: Option<Duration>) {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let (head_len, method, path, length) = loop {
            if let Some(head) = parse_request_head(&buf) {
                break head;
            }
            let read = match idle_close {
                Some(limit) if buf.is_empty() => {
                    match tokio::time::timeout(limit, stream.read(&mut chunk)).await {
                        Ok(read) => read,
                        Err(_) => return,
                    }
                }
                _ => stream.read(&mut chunk).await,
            };
            match read {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        while buf.len() < head_len + length {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.drain(..head_len + length);
        let (reply, close) = scripted_reply(&method, &path);
        if stream.write_all(&reply).await.is_err() || close {
            return;
        }
    }
}

/// A hyper upstream that answers every request with its body: collected (so the answer has
/// a Content-Length) on `/collect`, streamed back as it arrives otherwise.
async fn echo_upstream() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let service = service_fn(|request: Request<Incoming>| async move {
                    let body = if request.uri().path() == "/collect" {
                        let bytes = request.into_body().collect().await?.to_bytes();
                        Full::new(bytes).map_err(|never| match never {}).boxed()
                    } else {
                        request.into_body().boxed()
                    };
                    Ok::<_, hyper::Error>(Response::new(body))
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// A router serving "web" with one stable instance at `upstream`.
async fn router_to(upstream: SocketAddr) -> (BuiltinRouter, SocketAddr) {
    let router = BuiltinRouter::new(RouterConfig::default(), &CancellationToken::new()).unwrap();
    let addr = router
        .ensure_service("web", "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    router
        .set_backends("web", vec![Instance::ready("s", upstream)], vec![])
        .await
        .unwrap();
    (router, addr)
}

/// Writes `request` on a new connection and reads until the router closes it.
async fn raw_exchange(router: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(router).await.unwrap();
    stream.write_all(request).await.unwrap();
    read_to_close(&mut stream).await
}

async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut reply = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut reply))
        .await
        .expect("the router should close the connection")
        .unwrap();
    String::from_utf8_lossy(&reply).into_owned()
}

type Sender<B> = hyper::client::conn::http1::SendRequest<B>;

/// One client connection to the router, driven by hyper.
async fn connect<B>(router: SocketAddr) -> Sender<B>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let stream = TcpStream::connect(router).await.unwrap();
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    sender
}

async fn get(sender: &mut Sender<Full<Bytes>>, method: &str, path: &str) -> (Response<()>, Bytes) {
    sender.ready().await.unwrap();
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "web")
        .body(Full::default())
        .unwrap();
    let (parts, body) = sender.send_request(request).await.unwrap().into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (Response::from_parts(parts, ()), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_responses_are_relayed_as_sent_after_interim_ones() {
    let (upstream, _) = scripted_upstream(None).await;
    let (router, addr) = router_to(upstream).await;
    let reply = raw_exchange(
        addr,
        b"GET /chunked HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
    assert!(
        !reply.contains("103") && !reply.contains("forged"),
        "{reply}"
    );
    assert!(
        reply.contains("\r\nTransfer-Encoding: chunked\r\n"),
        "{reply}"
    );
    assert!(
        reply.contains("\r\nx-slipway-version: stable\r\n"),
        "{reply}"
    );
    assert!(reply.contains("\r\nconnection: close\r\n"), "{reply}");
    // Chunk extensions and trailers pass untouched.
    assert!(
        reply.ends_with("\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nx-checksum: 1\r\n\r\n"),
        "{reply}"
    );

    // Through a keep-alive connection, decoded by a client.
    let mut sender = connect(addr).await;
    for _ in 0..3 {
        let (response, body) = get(&mut sender, "GET", "/chunked").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(body, "hello, world");
    }
    let snapshot = router.metrics("web").await.unwrap();
    assert_eq!(snapshot.stable.classes.get(StatusClass::Success), 4);
    assert_eq!(snapshot.stable.classes.get(StatusClass::Informational), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_bodies_go_through_whole_in_both_directions_on_one_connection() {
    let upstream = echo_upstream().await;
    let (_router, addr) = router_to(upstream).await;
    let payload: Vec<u8> = (0..4 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let payload = Bytes::from(payload);

    // Content-Length both ways.
    let mut sender = connect::<Full<Bytes>>(addr).await;
    let request = Request::post("/collect")
        .header("host", "web")
        .body(Full::new(payload.clone()))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(
        response.headers()["content-length"],
        payload.len().to_string().as_str()
    );
    let echoed = response.into_body().collect().await.unwrap().to_bytes();
    assert!(echoed == payload, "4 MiB echo differs");

    // Chunked both ways, in uneven pieces.
    let pieces: Vec<Bytes> = payload.chunks(70_001).map(Bytes::copy_from_slice).collect();
    let mut streaming = connect::<StreamBody<_>>(addr).await;
    for _ in 0..2 {
        let frames = pieces
            .clone()
            .into_iter()
            .map(|piece| Ok::<_, Infallible>(Frame::data(piece)));
        let body = StreamBody::new(futures_util::stream::iter(frames));
        let request = Request::post("/stream")
            .header("host", "web")
            .body(body)
            .unwrap();
        streaming.ready().await.unwrap();
        let response = streaming.send_request(request).await.unwrap();
        assert_eq!(response.headers()["transfer-encoding"], "chunked");
        let echoed = response.into_body().collect().await.unwrap().to_bytes();
        assert!(echoed == payload, "chunked 4 MiB echo differs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_pipelining_and_head_requests_share_one_upstream_connection() {
    let (upstream, connections) = scripted_upstream(None).await;
    let (router, addr) = router_to(upstream).await;
    let mut sender = connect(addr).await;
    for path in ["/a", "/b", "/c"] {
        let (response, body) = get(&mut sender, "GET", path).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(body, path);
    }
    // A HEAD response has no body whatever its Content-Length says.
    let (response, body) = get(&mut sender, "HEAD", "/h").await;
    assert_eq!(response.headers()["content-length"], "1234");
    assert!(body.is_empty());
    let (_, body) = get(&mut sender, "GET", "/after-head").await;
    assert_eq!(body, "/after-head");

    // Pipelined requests are answered in order.
    let reply = raw_exchange(
        addr,
        b"GET /one HTTP/1.1\r\nHost: web\r\n\r\nGET /two HTTP/1.1\r\nHost: web\r\n\r\nGET /three HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n",
    )
    .await;
    let bodies: Vec<&str> = reply
        .split("HTTP/1.1 200 OK\r\n")
        .skip(1)
        .map(|r| r.rsplit("\r\n\r\n").next().unwrap())
        .collect();
    assert_eq!(bodies, ["/one", "/two", "/three"], "{reply}");
    // The first client connection still holds its upstream connection; the second took a new
    // one.
    assert_eq!(connections.load(Ordering::SeqCst), 2);
    let snapshot = router.metrics("web").await.unwrap();
    assert_eq!(snapshot.stable.classes.get(StatusClass::Success), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_400_and_a_closed_connection() {
    let (upstream, connections) = scripted_upstream(None).await;
    let (router, addr) = router_to(upstream).await;
    let mut huge_head = b"GET / HTTP/1.1\r\nHost: web\r\nX-Big: ".to_vec();
    huge_head.extend(std::iter::repeat_n(b'a', 70 * 1024));
    huge_head.extend_from_slice(b"\r\n\r\n");
    let cases: [(&[u8], &str); 5] = [
        (
            b"GET / HTTP/1.1\r\nHost: web\r\nNo colon here\r\n\r\n",
            "HTTP/1.1 400 Bad Request\r\n",
        ),
        (
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
            "HTTP/1.1 400 Bad Request\r\n",
        ),
        (
            b"GET / HTTP/1.1\r\nHost: web\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx",
            "HTTP/1.1 400 Bad Request\r\n",
        ),
        (
            b"POST / HTTP/1.1\r\nHost: web\r\nContent-Length: ten\r\n\r\n",
            "HTTP/1.1 400 Bad Request\r\n",
        ),
        (
            &huge_head,
            "HTTP/1.1 431 Request Header Fields Too Large\r\n",
        ),
    ];
    for (request, status_line) in cases {
        let reply = raw_exchange(addr, request).await;
        assert!(
            reply.starts_with(status_line),
            "{:?} -> {reply}",
            String::from_utf8_lossy(&request[..request.len().min(60)])
        );
        assert!(reply.contains("\r\nconnection: close\r\n"), "{reply}");
    }
    assert_eq!(connections.load(Ordering::SeqCst), 0);
    // A bad pin header is the client's mistake too, but a well-formed one: the body is read
    // and dropped, and the connection carries on.
    let reply = raw_exchange(
        addr,
        b"POST / HTTP/1.1\r\nHost: web\r\nx-slipway-version: blue\r\nContent-Length: 3\r\n\r\nabcGET /after HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{reply}");
    assert!(
        reply.contains("must be \"stable\" or \"canary\"\nHTTP/1.1 200 OK\r\n")
            && reply.ends_with("/after"),
        "{reply}"
    );
    let snapshot = router.metrics("web").await.unwrap();
    assert_eq!(snapshot.unrouted, 1);
    assert_eq!(snapshot.stable.requests(), 1);
    // The router is unharmed.
    let reply = raw_exchange(
        addr,
        b"GET /fine HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        reply.starts_with("HTTP/1.1 200 OK\r\n") && reply.ends_with("/fine"),
        "{reply}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_closing_mid_response_closes_the_client_connection() {
    let (upstream, connections) = scripted_upstream(None).await;
    let (router, addr) = router_to(upstream).await;
    for (path, received) in [
        ("/cut", "\r\n\r\nonly part"),
        ("/cut-chunked", "\r\n\r\n5\r\nhello\r\n"),
    ] {
        // The client keeps the connection alive: only the router's close ends its read.
        let request = format!("GET {path} HTTP/1.1\r\nHost: web\r\n\r\n");
        let reply = raw_exchange(addr, request.as_bytes()).await;
        assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
        assert!(reply.ends_with(received), "{reply}");
    }
    // A response that ends with the connection is whole, and says the connection closes.
    let reply = raw_exchange(addr, b"GET /until-close HTTP/1.1\r\nHost: web\r\n\r\n").await;
    assert!(reply.contains("\r\nconnection: close\r\n"), "{reply}");
    assert!(reply.ends_with("\r\n\r\nall of it"), "{reply}");
    // No usable response head: 502, counted as an upstream error.
    let reply = raw_exchange(
        addr,
        b"GET /garbage HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 502 Bad Gateway\r\n"), "{reply}");
    assert!(
        reply.ends_with("the stable upstream of service \"web\" failed before answering\n"),
        "{reply}"
    );
    // None of those upstream connections was reused.
    let reply = raw_exchange(
        addr,
        b"GET /next HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(reply.ends_with("/next"), "{reply}");
    assert_eq!(connections.load(Ordering::SeqCst), 5);
    let snapshot = router.metrics("web").await.unwrap();
    assert_eq!(snapshot.stable.classes.get(StatusClass::Success), 4);
    assert_eq!(snapshot.stable.classes.get(StatusClass::UpstreamError), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_connection_closed_while_idle_is_replaced_without_an_error() {
    let (upstream, connections) = scripted_upstream(Some(Duration::from_millis(50))).await;
    let (router, addr) = router_to(upstream).await;
    let mut sender = connect(addr).await;
    for method in ["GET", "POST", "GET", "DELETE"] {
        let (response, body) = get(&mut sender, method, "/again").await;
        assert_eq!(response.status(), StatusCode::OK, "{method}");
        assert_eq!(body, "/again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(connections.load(Ordering::SeqCst), 4);
    let snapshot = router.metrics("web").await.unwrap();
    assert_eq!(snapshot.stable.errors(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_the_fast_path_does_not_handle_are_served_by_the_hyper_path() {
    let (upstream, _) = scripted_upstream(None).await;
    let (router, addr) = router_to(upstream).await;
    router
        .set_canary_weight("web", CanaryWeight::ZERO)
        .await
        .unwrap();
    // HTTP/1.0.
    let reply = raw_exchange(addr, b"GET /old HTTP/1.0\r\nHost: web\r\n\r\n").await;
    assert!(reply.contains(" 200 OK\r\n"), "{reply}");
    assert!(reply.contains("x-slipway-version: stable\r\n"), "{reply}");
    assert!(reply.ends_with("/old"), "{reply}");

    // Expect: 100-continue, on a connection that served a fast-path request first.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /first HTTP/1.1\r\nHost: web\r\n\r\nPOST /expecting HTTP/1.1\r\nHost: web\r\nExpect: 100-continue\r\nContent-Length: 4\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("100 Continue\r\n\r\n") {
        let mut chunk = [0u8; 1024];
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&chunk[..n]);
    }
    stream.write_all(b"data").await.unwrap();
    let rest = read_to_close(&mut stream).await;
    let reply = String::from_utf8_lossy(&seen).into_owned() + &rest;
    assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
    assert!(reply.contains("/first"), "{reply}");
    assert!(reply.ends_with("/expecting"), "{reply}");
    let snapshot = router.metrics("web").await.unwrap();
    assert_eq!(snapshot.stable.classes.get(StatusClass::Success), 3);
}
