//! The webhook metric source against a real HTTP service on loopback: the request it sends
//! and the series it reads back; and the judge failing the step when the service is down.
#![allow(clippy::unwrap_used)] // in tests a panic is a failing test, which is the point

use slipway_domain::kinds::{AnalysisMetric, AnalysisSpec, MetricSourceSpec};
use slipway_engine::analysis::{MetricSource, SeriesContext, WebhookSource, judge};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Answers one request with `body` and returns what it received.
async fn serve_once(listener: tokio::net::TcpListener, body: &'static str) -> String {
    let (mut socket, _) = listener.accept().await.unwrap();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = socket.read(&mut buf).await.unwrap();
        received.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&received).to_string();
        if let Some(head_end) = text.find("\r\n\r\n") {
            let length: usize = text[..head_end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            if received.len() >= head_end + 4 + length {
                break;
            }
        }
        if n == 0 {
            break;
        }
    }
    let answer = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(answer.as_bytes()).await.unwrap();
    String::from_utf8_lossy(&received).to_string()
}

fn context() -> SeriesContext {
    SeriesContext {
        service: "api".into(),
        environment: "production".into(),
        routed: "api.production".into(),
        start_ms: 1_000,
        end_ms: 61_000,
        step_ms: 10_000,
    }
}

fn metric() -> AnalysisMetric {
    AnalysisMetric {
        name: "latency".into(),
        metric: None,
        query: Some("p50 of {service}".into()),
        critical: true,
        params: None,
    }
}

fn webhook_analysis(url: &str) -> AnalysisSpec {
    AnalysisSpec {
        interval: "10s".into(),
        metrics: vec![metric()],
        pass: 95.0,
        marginal: 75.0,
        source: MetricSourceSpec::Webhook {
            url: url.to_string(),
        },
    }
}

#[tokio::test]
async fn series_come_from_the_service_and_the_request_says_what_is_asked() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/series", listener.local_addr().unwrap());
    let server = tokio::spawn(serve_once(
        listener,
        r#"{"baseline": [10, 11, 12], "canary": [30, 31, 32.5]}"#,
    ));
    let source = WebhookSource {
        url,
        http: reqwest::Client::new(),
    };
    let (baseline, canary) = source.series(&metric(), &context()).await.unwrap();
    assert_eq!(baseline, vec![10.0, 11.0, 12.0]);
    assert_eq!(canary, vec![30.0, 31.0, 32.5]);
    let request = server.await.unwrap();
    assert!(request.starts_with("POST /series"), "{request}");
    for part in [
        "\"metric\":\"latency\"",
        "\"service\":\"api\"",
        "\"environment\":\"production\"",
        "\"start\":1000",
        "\"end\":61000",
    ] {
        assert!(request.contains(part), "{part} missing from {request}");
    }
}

#[tokio::test]
async fn a_source_that_does_not_answer_fails_the_step() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/series", listener.local_addr().unwrap());
    drop(listener);
    let spec = webhook_analysis(&url);
    let source = WebhookSource {
        url,
        http: reqwest::Client::new(),
    };
    let verdict = judge(&spec, &source, &context(), "test").await;
    assert!(!verdict.passed);
    assert!(
        verdict
            .summary
            .starts_with("the metric source failed: latency: webhook"),
        "{}",
        verdict.summary
    );
}

#[tokio::test]
async fn too_few_samples_never_pass() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/series", listener.local_addr().unwrap());
    let server = tokio::spawn(serve_once(
        listener,
        r#"{"baseline": [10, 10], "canary": [10, 10]}"#,
    ));
    let spec = webhook_analysis(&url);
    let source = WebhookSource {
        url,
        http: reqwest::Client::new(),
    };
    let verdict = judge(&spec, &source, &context(), "test").await;
    server.await.unwrap();
    assert!(!verdict.passed, "{}", verdict.summary);
    assert!(
        verdict.record["input"]["metrics"][0]["params"]["minSampleCount"]
            .as_u64()
            .unwrap()
            >= 3,
        "{}",
        verdict.record
    );
}
