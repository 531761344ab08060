//! Event sinks whose secret headers cannot be filled are not sent anything: the outbox records
//! why (naming the header and the variable, never a value), while other sinks still get events.
#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors

use serde_json::json;
use slipway_domain::resource::parse_document;
use slipway_events::{Content, EnvironmentRef, ServiceContent};
use slipway_governance::events::{EVENT_SOURCE, deliver_due, emit};
use slipway_store::{Actor, Mutation, SqlStore, Store};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An HTTP endpoint that answers 202 to anything and counts the requests it got.
async fn counting_sink() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let mut got = Vec::new();
                // Read the head and the body (Content-Length) of one request.
                loop {
                    let Ok(n) = socket.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    got.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&got).to_ascii_lowercase();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if got.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                seen.fetch_add(1, Ordering::SeqCst);
                let _ = socket
                    .write_all(
                        b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    )
                    .await;
            });
        }
    });
    (url, count)
}

fn sink(name: &str, url: &str, headers: serde_json::Value) -> Mutation {
    Mutation::Put(
        parse_document(
            &json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "EventSink",
            "metadata": {"name": name}, "spec": {"url": url, "headers": headers}}),
        )
        .unwrap(),
    )
}

#[tokio::test]
async fn a_sink_whose_header_variable_is_unset_gets_nothing_and_the_outbox_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("slipway.db").display());
    let store: Arc<dyn Store> = Arc::new(SqlStore::open(&url).await.unwrap());
    let (broken_url, broken_hits) = counting_sink().await;
    let (plain_url, plain_hits) = counting_sink().await;
    store
        .apply(
            &Actor::system("test"),
            vec![
                sink(
                    "broken",
                    &broken_url,
                    json!([{"name": "Authorization", "valueFromEnv": "SLIPWAY_TEST_VARIABLE_NOBODY_SETS"}]),
                ),
                sink("plain", &plain_url, json!([])),
            ],
            false,
        )
        .await
        .unwrap();
    let content = Content::ServiceDeployed(ServiceContent {
        environment: EnvironmentRef {
            id: "staging".into(),
            source: Some(EVENT_SOURCE.into()),
        },
        artifact_id: "web-1".into(),
    });
    emit(store.as_ref(), "web", content).await.unwrap();
    deliver_due(
        store.as_ref(),
        &reqwest::Client::new(),
        &slipway_events::RetryPolicy::default(),
    )
    .await
    .unwrap();

    assert_eq!(
        plain_hits.load(Ordering::SeqCst),
        1,
        "the sink without headers gets the event"
    );
    assert_eq!(
        broken_hits.load(Ordering::SeqCst),
        0,
        "no request with an empty credential"
    );
    let items = store.recent_outbox(10).await.unwrap();
    let broken = items.iter().find(|i| i.sink == "broken").unwrap();
    assert_eq!(broken.state, "pending", "{broken:?}");
    let error = broken.last_error.clone().unwrap_or_default();
    assert!(
        error.contains("Authorization") && error.contains("SLIPWAY_TEST_VARIABLE_NOBODY_SETS"),
        "{error}"
    );
    let plain = items.iter().find(|i| i.sink == "plain").unwrap();
    assert_eq!(plain.state, "delivered", "{plain:?}");
}
