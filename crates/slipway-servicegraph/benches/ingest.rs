//! Trace ingest (goal: ≥ 100,000 spans/s on one core): parse OTLP/JSON and pair the spans,
//! next to the baseline of parsing the same JSON into a `serde_json::Value`, in the same run.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use slipway_servicegraph::{Aggregator, GraphConfig, parse_traces};
use std::fmt::Write;

/// An OTLP/JSON document of `calls` client/server pairs spread over 20 services, one in 50
/// failed, with a few attributes each.
fn document(calls: usize) -> String {
    let mut clients = String::new();
    let mut servers = String::new();
    for i in 0..calls {
        let (trace, client, server) = (
            format!("{:032x}", i + 1),
            format!("{:016x}", 2 * i + 1),
            format!("{:016x}", 2 * i + 2),
        );
        let status = if i.is_multiple_of(50) {
            r#","status":{"code":2}"#
        } else {
            ""
        };
        let sep = if i == 0 { "" } else { "," };
        let _ = write!(
            clients,
            r#"{sep}{{"traceId":"{trace}","spanId":"{client}","parentSpanId":"","name":"GET /items","kind":3,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000002000000","attributes":[{{"key":"http.method","value":{{"stringValue":"GET"}}}},{{"key":"peer.service","value":{{"stringValue":"svc-{}"}}}}]}}"#,
            (i + 1) % 20
        );
        let _ = write!(
            servers,
            r#"{sep}{{"traceId":"{trace}","spanId":"{server}","parentSpanId":"{client}","name":"GET /items","kind":2,"startTimeUnixNano":"1700000000000100000","endTimeUnixNano":"1700000000001900000","attributes":[{{"key":"http.route","value":{{"stringValue":"/items"}}}}]{status}}}"#
        );
    }
    let resource = |name: &str| {
        format!(r#"{{"attributes":[{{"key":"service.name","value":{{"stringValue":"{name}"}}}}]}}"#)
    };
    format!(
        r#"{{"resourceSpans":[{{"resource":{},"scopeSpans":[{{"spans":[{clients}]}}]}},{{"resource":{},"scopeSpans":[{{"spans":[{servers}]}}]}}]}}"#,
        resource("frontend"),
        resource("backend")
    )
}

fn benchmarks(c: &mut Criterion) {
    let calls = 25_000;
    let text = document(calls);
    let mut group = c.benchmark_group("trace_ingest");
    group.throughput(Throughput::Elements((calls * 2) as u64));
    group.sample_size(20);
    group.bench_function("baseline_parse_json_value", |b| {
        b.iter(|| serde_json::from_str::<serde_json::Value>(&text).map(|_| ()));
    });
    group.bench_function("parse_and_pair", |b| {
        b.iter(|| {
            let mut aggregator = Aggregator::new(GraphConfig::default());
            if let Ok(data) = parse_traces("bench.json", &text) {
                aggregator.ingest(&data);
            }
            aggregator.flush();
            aggregator.service_edges().len()
        });
    });
    group.finish();
}

criterion_group!(benches, benchmarks);
criterion_main!(benches);
