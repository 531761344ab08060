#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors
//! CloudEvents encodings, sink specs and the outbox state machine (all pure).

use std::time::Duration;

use serde_json::{Value, json};
use slipway_events::{
    AttemptOutcome, CdEvent, Content, EncodingMode, EnvironmentRef, EventMeta, EventType,
    NextAction, OutboxEntry, REDACTED, RetryPolicy, ServiceContent, Sink, encode, next_action,
    percent_encode,
};
use time::OffsetDateTime;
use time::macros::datetime;

fn deployed(source: &str) -> CdEvent {
    CdEvent::new(
        EventMeta::with_id("e-1", source, datetime!(2026-03-06 16:05:07.25 UTC)),
        "checkout",
        None,
        Content::ServiceDeployed(ServiceContent {
            environment: EnvironmentRef::new("production"),
            artifact_id: "pkg:oci/checkout@sha256%3Aabc".to_owned(),
        }),
    )
}

#[test]
fn structured_mode_carries_the_whole_envelope() {
    let event = deployed("/slipway/prod-eu");
    let parts = encode(&event, EncodingMode::Structured).unwrap();
    assert_eq!(
        parts.headers,
        [(
            "content-type".to_owned(),
            "application/cloudevents+json".to_owned()
        )]
    );
    let envelope: Value = serde_json::from_slice(&parts.body).unwrap();
    assert_eq!(
        envelope,
        json!({
            "specversion": "1.0",
            "id": "e-1",
            "source": "/slipway/prod-eu",
            "type": "dev.cdevents.service.deployed.0.3.0",
            "subject": "checkout",
            "time": "2026-03-06T16:05:07.25Z",
            "datacontenttype": "application/json",
            "data": event.to_json().unwrap(),
        })
    );
}

#[test]
fn binary_mode_puts_attributes_in_headers() {
    let event = deployed("/slipway/prod eu/\"100%\"/é");
    let parts = encode(&event, EncodingMode::Binary).unwrap();
    let expected = [
        ("ce-specversion", "1.0"),
        ("ce-id", "e-1"),
        ("ce-source", "/slipway/prod%20eu/%22100%25%22/%C3%A9"),
        ("ce-type", "dev.cdevents.service.deployed.0.3.0"),
        ("ce-subject", "checkout"),
        ("ce-time", "2026-03-06T16:05:07.25Z"),
        ("content-type", "application/json"),
    ];
    let headers: Vec<(&str, &str)> = parts
        .headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    assert_eq!(headers, expected);
    assert_eq!(
        parts.header("CE-TYPE"),
        Some("dev.cdevents.service.deployed.0.3.0")
    );
    let body: Value = serde_json::from_slice(&parts.body).unwrap();
    assert_eq!(body, event.to_json().unwrap());
    assert_eq!(
        body["context"]["source"],
        json!("/slipway/prod eu/\"100%\"/é")
    );
}

#[test]
fn percent_encoding_follows_the_cloudevents_http_binding() {
    let cases = [
        ("plain-ascii_1.0:/~", "plain-ascii_1.0:/~"),
        ("a b", "a%20b"),
        ("\"q\"", "%22q%22"),
        ("50%", "50%25"),
        ("tab\there", "tab%09here"),
        ("€", "%E2%82%AC"),
        ("", ""),
    ];
    for (raw, encoded) in cases {
        assert_eq!(percent_encode(raw), encoded, "{raw:?}");
    }
}

#[test]
fn type_strings_are_exact_and_round_trip() {
    let strings: Vec<&str> = EventType::ALL
        .iter()
        .map(|event_type| event_type.type_string())
        .collect();
    assert_eq!(
        strings,
        [
            "dev.cdevents.service.deployed.0.3.0",
            "dev.cdevents.service.upgraded.0.3.0",
            "dev.cdevents.service.rolledback.0.3.0",
            "dev.cdevents.service.removed.0.3.0",
            "dev.cdevents.ticket.created.0.2.0",
            "dev.cdevents.ticket.updated.0.2.0",
            "dev.cdevents.ticket.closed.0.2.0",
            "dev.cdevents.approval.created.0.1.0",
            "dev.cdevents.approval.updated.0.1.0",
            "dev.cdevents.approval.closed.0.1.0",
        ]
    );
    for event_type in EventType::ALL {
        assert_eq!(
            EventType::from_type_string(event_type.type_string()),
            Some(event_type)
        );
    }
    assert_eq!(
        EventType::from_type_string("dev.cdevents.service.deployed.0.2.0"),
        None
    );
}

#[test]
fn fresh_event_ids_are_unique_uuids() {
    let now = OffsetDateTime::UNIX_EPOCH;
    let first = EventMeta::new("/s", now).id;
    let second = EventMeta::new("/s", now).id;
    assert_ne!(first, second);
    assert_eq!(first.len(), 36);
    assert_eq!(first.matches('-').count(), 4);
}

const SINK_YAML: &str = "
name: audit-bus
url: https://events.example.com/cdevents
mode: binary
headers:
  - name: Authorization
    value: Bearer s3cr3t-token
eventTypes:
  - dev.cdevents.service.*
  - dev.cdevents.ticket.closed.0.2.0
";

#[test]
fn sinks_parse_filter_and_keep_secrets() {
    let sink = Sink::from_yaml(SINK_YAML).unwrap();
    assert_eq!(sink.mode, EncodingMode::Binary);
    assert_eq!(sink.headers[0].value.expose(), "Bearer s3cr3t-token");

    let debug = format!("{sink:?}");
    assert!(!debug.contains("s3cr3t"), "{debug}");
    assert!(debug.contains(REDACTED));
    let json = serde_json::to_string(&sink).unwrap();
    assert!(!json.contains("s3cr3t"), "{json}");
    assert!(json.contains(REDACTED));

    let accepted: Vec<bool> = [
        "dev.cdevents.service.deployed.0.3.0",
        "dev.cdevents.service.rolledback.0.3.0",
        "dev.cdevents.ticket.closed.0.2.0",
        "dev.cdevents.ticket.created.0.2.0",
        "dev.cdevents.approval.closed.0.1.0",
    ]
    .iter()
    .map(|type_string| sink.accepts(type_string))
    .collect();
    assert_eq!(accepted, [true, true, true, false, false]);

    let everything = Sink::from_yaml("name: all\nurl: http://127.0.0.1:9000/\n").unwrap();
    assert_eq!(everything.mode, EncodingMode::Structured);
    assert!(everything.accepts("dev.cdevents.approval.closed.0.1.0"));
}

#[test]
fn invalid_sinks_are_refused_with_the_field_named() {
    let cases = [
        ("name: ''\nurl: http://h/", "at name"),
        ("name: s\nurl: not a url", "at url"),
        ("name: s\nurl: ftp://h/", "at url"),
        (
            "name: s\nurl: http://h/\nheaders: [{name: 'bad header', value: x}]",
            "at headers[0]",
        ),
        (
            "name: s\nurl: http://h/\nheaders: [{name: ce-id, value: x}]",
            "set by the event encoding",
        ),
        (
            "name: s\nurl: http://h/\nheaders: [{name: Content-Type, value: x}]",
            "set by the event encoding",
        ),
        (
            "name: s\nurl: http://h/\nheaders: [{name: X-Key, value: \"a\\nb\"}]",
            "not a valid header value",
        ),
        (
            "name: s\nurl: http://h/\neventTypes: ['']",
            "at eventTypes[0]",
        ),
        (
            "name: s\nurl: http://h/\nmode: carrier-pigeon",
            "at document",
        ),
        ("name: s\nurl: http://h/\nretries: 3", "at document"),
    ];
    for (yaml, fragment) in cases {
        let error = Sink::from_yaml(yaml).unwrap_err().to_string();
        assert!(error.contains(fragment), "{yaml:?}: {error}");
    }
}

fn entry(attempts: u32, next_attempt_at: OffsetDateTime) -> OutboxEntry {
    OutboxEntry {
        attempts,
        next_attempt_at,
        ..OutboxEntry::new("o-1", "audit-bus", deployed("/s"), next_attempt_at)
    }
}

fn failed(retryable: bool) -> AttemptOutcome {
    AttemptOutcome::Failed {
        error: "sink answered http 503".to_owned(),
        retryable,
    }
}

#[test]
fn outbox_decides_deliver_retry_or_give_up() {
    let now = datetime!(2026-03-06 16:00 UTC);
    let policy = RetryPolicy {
        max_attempts: 5,
        base_delay: Duration::from_secs(2),
        max_delay: Duration::from_secs(10),
    };
    let seconds = |s: i64| now + time::Duration::seconds(s);
    let cases = [
        (
            "due now",
            entry(0, now),
            AttemptOutcome::NotAttempted,
            0.0,
            NextAction::Deliver,
        ),
        (
            "overdue",
            entry(2, seconds(-5)),
            AttemptOutcome::NotAttempted,
            0.0,
            NextAction::Deliver,
        ),
        (
            "not yet due",
            entry(1, seconds(30)),
            AttemptOutcome::NotAttempted,
            0.0,
            NextAction::RetryAt(seconds(30)),
        ),
        (
            "delivered",
            entry(3, now),
            AttemptOutcome::Delivered,
            0.0,
            NextAction::Done,
        ),
        // First failure: base 2 s, jittered into [1 s, 2 s].
        (
            "first failure, no jitter",
            entry(0, now),
            failed(true),
            0.0,
            NextAction::RetryAt(seconds(1)),
        ),
        (
            "first failure, full jitter",
            entry(0, now),
            failed(true),
            1.0,
            NextAction::RetryAt(seconds(2)),
        ),
        // Third failure: 2·2² = 8 s.
        (
            "third failure",
            entry(2, now),
            failed(true),
            1.0,
            NextAction::RetryAt(seconds(8)),
        ),
        // Fourth failure: 16 s capped at 10 s, half jitter 7.5 s.
        (
            "capped",
            entry(3, now),
            failed(true),
            0.5,
            NextAction::RetryAt(now + time::Duration::milliseconds(7_500)),
        ),
        (
            "last attempt failed",
            entry(4, now),
            failed(true),
            0.0,
            NextAction::GiveUp {
                attempts: 5,
                last_error: "sink answered http 503".to_owned(),
            },
        ),
        (
            "permanent failure",
            entry(0, now),
            failed(false),
            0.0,
            NextAction::GiveUp {
                attempts: 1,
                last_error: "sink answered http 503".to_owned(),
            },
        ),
        (
            "exhausted entry is not sent again",
            OutboxEntry {
                last_error: Some("timeout".to_owned()),
                ..entry(5, now)
            },
            AttemptOutcome::NotAttempted,
            0.0,
            NextAction::GiveUp {
                attempts: 5,
                last_error: "timeout".to_owned(),
            },
        ),
    ];
    for (what, entry, outcome, jitter, expected) in cases {
        assert_eq!(
            next_action(&entry, now, &outcome, &policy, jitter),
            expected,
            "{what}"
        );
    }
}

#[test]
fn jitter_out_of_range_is_clamped_and_huge_delays_do_not_panic() {
    let policy = RetryPolicy {
        max_attempts: u32::MAX,
        base_delay: Duration::from_secs(1),
        max_delay: Duration::MAX,
    };
    assert_eq!(policy.delay_after(1, -3.0), Duration::from_millis(500));
    assert_eq!(policy.delay_after(1, 7.0), Duration::from_secs(1));
    assert_eq!(policy.delay_after(1, f64::NAN), Duration::from_millis(500));
    assert_eq!(policy.delay_after(3, 1.0), Duration::from_secs(4));
    let now = datetime!(2026-03-06 16:00 UTC);
    let action = next_action(&entry(1_000, now), now, &failed(true), &policy, 1.0);
    assert!(
        matches!(action, NextAction::GiveUp { .. } | NextAction::RetryAt(_)),
        "{action:?}"
    );
}

#[test]
fn recording_an_attempt_counts_it_and_keeps_the_error() {
    let now = datetime!(2026-03-06 16:00 UTC);
    let policy = RetryPolicy::default();
    let fresh = entry(0, now);
    let outcome = failed(true);
    let action = next_action(&fresh, now, &outcome, &policy, 0.0);
    let recorded = fresh.record(&outcome, &action);
    assert_eq!(recorded.attempts, 1);
    assert_eq!(
        recorded.last_error.as_deref(),
        Some("sink answered http 503")
    );
    assert_eq!(
        recorded.next_attempt_at,
        now + time::Duration::milliseconds(500)
    );
    // The waiting entry is not due before its time, then due.
    assert_eq!(
        next_action(&recorded, now, &AttemptOutcome::NotAttempted, &policy, 0.0),
        NextAction::RetryAt(recorded.next_attempt_at)
    );
    assert_eq!(
        next_action(
            &recorded,
            recorded.next_attempt_at,
            &AttemptOutcome::NotAttempted,
            &policy,
            0.0
        ),
        NextAction::Deliver
    );
    // Entries survive a round trip through their stored JSON form.
    let stored = serde_json::to_value(&recorded).unwrap();
    assert_eq!(stored["nextAttemptAt"], json!("2026-03-06T16:00:00.5Z"));
    let loaded: OutboxEntry = serde_json::from_value(stored).unwrap();
    assert_eq!(loaded, recorded);
}

#[test]
fn http_statuses_map_to_outcomes() {
    let retryable = |status: u16| match AttemptOutcome::from_status(status) {
        AttemptOutcome::Delivered => "delivered",
        AttemptOutcome::Failed {
            retryable: true, ..
        } => "retry",
        AttemptOutcome::Failed {
            retryable: false, ..
        } => "give up",
        AttemptOutcome::NotAttempted => "not attempted",
    };
    let cases = [
        (200, "delivered"),
        (202, "delivered"),
        (204, "delivered"),
        (301, "give up"),
        (400, "give up"),
        (401, "give up"),
        (404, "give up"),
        (408, "retry"),
        (425, "retry"),
        (429, "retry"),
        (500, "retry"),
        (503, "retry"),
    ];
    for (status, expected) in cases {
        assert_eq!(retryable(status), expected, "http {status}");
    }
}
