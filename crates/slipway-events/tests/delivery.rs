#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors
//! `deliver` against a real HTTP server on 127.0.0.1: both CloudEvents modes
//! arrive with the right headers and body, and failures map to outbox outcomes.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;
use slipway_events::{
    AttemptOutcome, CdEvent, Content, DeliveryError, EncodingMode, EventMeta, SecretString, Sink,
    SinkHeader, TicketClosedContent, deliver,
};
use time::macros::datetime;

#[derive(Clone, Debug)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

/// Starts a server that records each POST to `/ok` and answers 503 on `/busy`,
/// 400 on `/bad`; returns its base URL and the recorded requests.
async fn start_sink_server() -> (String, Arc<Mutex<Vec<Received>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let recorder = received.clone();
    let app = Router::new()
        .route(
            "/ok",
            post(move |headers: HeaderMap, body: Bytes| {
                let recorder = recorder.clone();
                async move {
                    recorder.lock().unwrap().push(Received { headers, body });
                    StatusCode::ACCEPTED
                }
            }),
        )
        .route("/busy", post(|| async { StatusCode::SERVICE_UNAVAILABLE }))
        .route("/bad", post(|| async { StatusCode::BAD_REQUEST }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}"), received)
}

fn closed_ticket() -> CdEvent {
    CdEvent::new(
        EventMeta::with_id(
            "e-42",
            "/slipway/prod eu",
            datetime!(2026-03-06 16:05:07 UTC),
        ),
        "CHG0001",
        None,
        Content::TicketClosed(TicketClosedContent {
            uri: "https://slipway.example/changes/CHG0001".to_owned(),
            resolution: "completed".to_owned(),
            ..TicketClosedContent::default()
        }),
    )
}

fn sink(url: String, mode: EncodingMode) -> Sink {
    Sink {
        name: "test-sink".to_owned(),
        url,
        mode,
        headers: vec![SinkHeader {
            name: "Authorization".to_owned(),
            value: SecretString::new("Bearer t0ken"),
        }],
        event_types: Vec::new(),
    }
}

fn header<'a>(received: &'a Received, name: &str) -> Option<&'a str> {
    received
        .headers
        .get(name)
        .map(|value| value.to_str().unwrap())
}

#[tokio::test]
async fn both_modes_arrive_with_their_headers_and_bodies() {
    let (base, received) = start_sink_server().await;
    let client = reqwest::Client::new();
    let event = closed_ticket();

    deliver(
        &client,
        &sink(format!("{base}/ok"), EncodingMode::Binary),
        &event,
    )
    .await
    .unwrap();
    deliver(
        &client,
        &sink(format!("{base}/ok"), EncodingMode::Structured),
        &event,
    )
    .await
    .unwrap();

    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 2);

    let binary = &received[0];
    assert_eq!(header(binary, "ce-specversion"), Some("1.0"));
    assert_eq!(header(binary, "ce-id"), Some("e-42"));
    assert_eq!(header(binary, "ce-source"), Some("/slipway/prod%20eu"));
    assert_eq!(
        header(binary, "ce-type"),
        Some("dev.cdevents.ticket.closed.0.2.0")
    );
    assert_eq!(header(binary, "ce-subject"), Some("CHG0001"));
    assert_eq!(header(binary, "ce-time"), Some("2026-03-06T16:05:07Z"));
    assert_eq!(header(binary, "content-type"), Some("application/json"));
    assert_eq!(header(binary, "authorization"), Some("Bearer t0ken"));
    let body: Value = serde_json::from_slice(&binary.body).unwrap();
    assert_eq!(body, event.to_json().unwrap());

    let structured = &received[1];
    assert_eq!(
        header(structured, "content-type"),
        Some("application/cloudevents+json")
    );
    assert_eq!(header(structured, "ce-id"), None);
    assert_eq!(header(structured, "authorization"), Some("Bearer t0ken"));
    let envelope: Value = serde_json::from_slice(&structured.body).unwrap();
    assert_eq!(envelope["id"], "e-42");
    assert_eq!(envelope["type"], "dev.cdevents.ticket.closed.0.2.0");
    assert_eq!(envelope["source"], "/slipway/prod eu");
    assert_eq!(envelope["data"], event.to_json().unwrap());
}

#[tokio::test]
async fn failures_map_to_outbox_outcomes() {
    let (base, _) = start_sink_server().await;
    let client = reqwest::Client::new();
    let event = closed_ticket();

    let busy = deliver(
        &client,
        &sink(format!("{base}/busy"), EncodingMode::Binary),
        &event,
    )
    .await
    .unwrap_err();
    assert!(matches!(busy, DeliveryError::Status { status: 503, .. }));
    assert!(matches!(
        busy.outcome(),
        AttemptOutcome::Failed {
            retryable: true,
            ..
        }
    ));

    let bad = deliver(
        &client,
        &sink(format!("{base}/bad"), EncodingMode::Binary),
        &event,
    )
    .await
    .unwrap_err();
    assert!(matches!(
        bad.outcome(),
        AttemptOutcome::Failed {
            retryable: false,
            ..
        }
    ));

    // Nothing listens on port 9 of the loopback interface: a transport error, retryable.
    let closed = deliver(
        &client,
        &sink("http://127.0.0.1:9/ok".to_owned(), EncodingMode::Structured),
        &event,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(closed, DeliveryError::Transport { .. }),
        "{closed}"
    );
    assert!(matches!(
        closed.outcome(),
        AttemptOutcome::Failed {
            retryable: true,
            ..
        }
    ));
    assert!(!closed.to_string().contains("t0ken"));
}
