#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors
//! Every event type Slipway emits validates against its CDEvents JSON schema
//! in `../shared/conformance/cdevents`, in both CloudEvents modes; every
//! upstream conformance example of a supported type parses into the typed
//! events and re-serializes to the same, still valid, document.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use slipway_events::{
    ApprovalClosedContent, ApprovalCreatedContent, ApprovalDecision, ApprovalStatus,
    ApprovalUpdatedContent, CdEvent, Content, EncodingMode, EnvironmentRef, EventMeta, EventType,
    Link, LinkEnd, ServiceContent, ServiceRemovedContent, TicketClosedContent,
    TicketCreatedContent, TicketUpdatedContent, encode,
};
use time::macros::datetime;

const CDEVENTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/conformance/cdevents"
);

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{path:?}: {error}"));
    serde_json::from_str(&text).unwrap()
}

/// `(subject, predicate)` of a type string `dev.cdevents.<subject>.<predicate>.<version>`.
fn subject_and_predicate(event_type: EventType) -> (String, String) {
    let parts: Vec<&str> = event_type.type_string().split('.').collect();
    (parts[2].to_owned(), parts[3].to_owned())
}

/// The folder holding the schemas and examples of `event_type`: the release
/// or, for the approval events, the draft.
fn spec_folder(event_type: EventType) -> PathBuf {
    let root = PathBuf::from(CDEVENTS);
    if event_type.spec_version() == slipway_events::DRAFT_SPEC_VERSION {
        root.join("draft")
    } else {
        root
    }
}

fn schema_path(event_type: EventType) -> PathBuf {
    let (subject, predicate) = subject_and_predicate(event_type);
    spec_folder(event_type).join(format!("schemas/{subject}{predicate}.json"))
}

fn conformance_path(event_type: EventType) -> PathBuf {
    let (subject, predicate) = subject_and_predicate(event_type);
    spec_folder(event_type).join(format!("conformance/{subject}_{predicate}.json"))
}

/// A validator for `event_type`'s schema, its link schemas registered by `$id`.
fn validator(event_type: EventType) -> jsonschema::Validator {
    let links = spec_folder(event_type).join("schemas/links");
    let mut resources = Vec::new();
    for entry in std::fs::read_dir(&links).unwrap() {
        let link = read_json(&entry.unwrap().path());
        let id = link["$id"].as_str().unwrap().to_owned();
        resources.push((id, link));
    }
    let registry = jsonschema::Registry::new()
        .extend(resources)
        .unwrap()
        .prepare()
        .unwrap();
    let schema = read_json(&schema_path(event_type));
    assert_eq!(
        schema["properties"]["context"]["properties"]["type"]["enum"],
        json!([event_type.type_string()]),
        "schema file of {event_type}"
    );
    jsonschema::options()
        .with_registry(&registry)
        .should_validate_formats(true)
        .offline()
        .build(&schema)
        .unwrap()
}

fn schema_errors(event_type: EventType, document: &Value) -> Vec<String> {
    validator(event_type)
        .iter_errors(document)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect()
}

fn meta(id: &str) -> EventMeta {
    EventMeta::with_id(
        id,
        "/slipway/prod-eu",
        datetime!(2026-03-06 16:05:07.25 UTC),
    )
}

fn environment() -> EnvironmentRef {
    EnvironmentRef {
        id: "production".to_owned(),
        source: Some("/slipway/prod-eu/environments".to_owned()),
    }
}

const ARTIFACT: &str =
    "pkg:oci/checkout@sha256%3A0b31b1c02ff458ad9b7b81cbdf8f028bd54699fa151f221d1e8de6817db93427";

/// One or more events of every type Slipway emits, with optional fields
/// both present and absent.
fn emitted_events() -> Vec<CdEvent> {
    let service = ServiceContent {
        environment: environment(),
        artifact_id: ARTIFACT.to_owned(),
    };
    let chained = meta("e-chained")
        .in_chain("CHG0001")
        .linked(Link::Relation {
            link_kind: "TRIGGER".to_owned(),
            target: LinkEnd::event("e-ticket"),
            tags: None,
        })
        .linked(Link::Path {
            from: LinkEnd::event("e-approval"),
            tags: Some(json!({"stage": "canary"}).as_object().unwrap().clone()),
        })
        .linked(Link::End {
            from: None,
            tags: None,
        });
    let approval_url = "https://slipway.example/changes/CHG0001/approvals/1";
    let rollout_url = "https://slipway.example/rollouts/checkout-v42";
    vec![
        CdEvent::new(
            meta("e-deployed"),
            "checkout",
            Some("/slipway/prod-eu/services".to_owned()),
            Content::ServiceDeployed(service.clone()),
        ),
        CdEvent::new(
            chained,
            "checkout",
            None,
            Content::ServiceUpgraded(service.clone()),
        ),
        CdEvent::new(
            meta("e-rolledback"),
            "checkout",
            None,
            Content::ServiceRolledback(service),
        ),
        CdEvent::new(
            meta("e-removed"),
            "checkout",
            None,
            Content::ServiceRemoved(ServiceRemovedContent {
                environment: Some(environment()),
            }),
        ),
        CdEvent::new(
            meta("e-removed-bare"),
            "checkout",
            None,
            Content::ServiceRemoved(ServiceRemovedContent { environment: None }),
        ),
        CdEvent::new(
            meta("e-ticket"),
            "CHG0001",
            Some("/slipway/prod-eu/changes".to_owned()),
            Content::TicketCreated(TicketCreatedContent {
                summary: "Deploy checkout 42 to production".to_owned(),
                creator: "alice".to_owned(),
                uri: "https://slipway.example/changes/CHG0001".to_owned(),
                ticket_type: Some("task".to_owned()),
                group: Some("cab".to_owned()),
                assignees: vec!["bob".to_owned()],
                priority: Some("high".to_owned()),
                labels: vec!["normal".to_owned(), "production".to_owned()],
                milestone: None,
            }),
        ),
        CdEvent::new(
            meta("e-ticket-updated"),
            "CHG0001",
            None,
            Content::TicketUpdated(TicketUpdatedContent {
                uri: "https://slipway.example/changes/CHG0001".to_owned(),
                updated_by: Some("bob".to_owned()),
                labels: vec!["scheduled".to_owned()],
                ..TicketUpdatedContent::default()
            }),
        ),
        CdEvent::new(
            meta("e-ticket-closed"),
            "CHG0001",
            None,
            Content::TicketClosed(TicketClosedContent {
                uri: "https://slipway.example/changes/CHG0001".to_owned(),
                resolution: "completed".to_owned(),
                summary: Some("Successful".to_owned()),
                updated_by: Some("alice".to_owned()),
                ..TicketClosedContent::default()
            }),
        ),
        CdEvent::new(
            meta("e-approval-created"),
            "CHG0001/approvals/1",
            None,
            Content::ApprovalCreated(ApprovalCreatedContent {
                approval_details_url: approval_url.to_owned(),
                resource_target_url: rollout_url.to_owned(),
                requestor: "urn:slipway:user:alice".to_owned(),
            }),
        ),
        CdEvent::new(
            meta("e-approval-updated"),
            "CHG0001/approvals/1",
            None,
            Content::ApprovalUpdated(ApprovalUpdatedContent {
                approval_details_url: approval_url.to_owned(),
                resource_target_url: rollout_url.to_owned(),
                responder: "urn:slipway:user:sam".to_owned(),
                decision: ApprovalDecision::RequestChanges,
            }),
        ),
        CdEvent::new(
            meta("e-approval-closed"),
            "CHG0001/approvals/1",
            None,
            Content::ApprovalClosed(ApprovalClosedContent {
                approval_details_url: approval_url.to_owned(),
                resource_target_url: rollout_url.to_owned(),
                responder: "urn:slipway:user:sam".to_owned(),
                decision: ApprovalDecision::Approved,
                status: ApprovalStatus::Approved,
            }),
        ),
    ]
}

#[test]
fn every_emitted_event_validates_against_its_schema_in_both_modes() {
    let events = emitted_events();
    let mut covered: Vec<EventType> = events.iter().map(CdEvent::event_type).collect();
    covered.dedup();
    assert_eq!(
        covered,
        EventType::ALL,
        "every supported type is emitted here"
    );

    for event in &events {
        let event_type = event.event_type();
        let document = event.to_json().unwrap();
        assert_eq!(document["context"]["type"], json!(event_type.type_string()));
        assert_eq!(
            document["context"]["specversion"],
            json!(event_type.spec_version())
        );
        assert_eq!(
            schema_errors(event_type, &document),
            Vec::<String>::new(),
            "{event_type}"
        );

        let structured = encode(event, EncodingMode::Structured).unwrap();
        let envelope: Value = serde_json::from_slice(&structured.body).unwrap();
        assert_eq!(
            schema_errors(event_type, &envelope["data"]),
            Vec::<String>::new()
        );

        let binary = encode(event, EncodingMode::Binary).unwrap();
        let body: Value = serde_json::from_slice(&binary.body).unwrap();
        assert_eq!(body, document);
    }
}

#[test]
fn the_validator_rejects_broken_events() {
    let event = &emitted_events()[0];
    let event_type = event.event_type();
    let good = event.to_json().unwrap();
    let mut unknown = good.clone();
    unknown["subject"]["content"]["surprise"] = json!(1);
    let mut missing = good.clone();
    missing["subject"]["content"]
        .as_object_mut()
        .unwrap()
        .remove("artifactId");
    let mut wrong_type = good.clone();
    wrong_type["context"]["type"] = json!("dev.cdevents.service.deployed.0.2.0");
    let mut bad_time = good.clone();
    bad_time["context"]["timestamp"] = json!("yesterday");
    for broken in [unknown, missing, wrong_type, bad_time] {
        assert!(!schema_errors(event_type, &broken).is_empty(), "{broken}");
    }
}

#[test]
fn conformance_examples_parse_and_round_trip() {
    for event_type in EventType::ALL {
        let path = conformance_path(event_type);
        let example = read_json(&path);
        assert_eq!(
            schema_errors(event_type, &example),
            Vec::<String>::new(),
            "{path:?}"
        );

        let event =
            CdEvent::from_json(example.clone()).unwrap_or_else(|error| panic!("{path:?}: {error}"));
        assert_eq!(event.event_type(), event_type);
        let reserialized = event.to_json().unwrap();
        assert_eq!(reserialized, example, "{path:?} round trip");
        assert_eq!(
            schema_errors(event_type, &reserialized),
            Vec::<String>::new()
        );
    }
}

#[test]
fn parsing_refuses_unknown_fields_and_types() {
    let good = emitted_events()[0].to_json().unwrap();
    let cases = [
        ("/subject/content/surprise", "unknown field"),
        ("/context/surprise", "unknown field"),
        ("/surprise", "unknown field"),
    ];
    for (pointer, fragment) in cases {
        let mut broken = good.clone();
        let (parent, field) = pointer.rsplit_once('/').unwrap();
        broken.pointer_mut(parent).unwrap()[field] = json!(1);
        let error = CdEvent::from_json(broken).unwrap_err().to_string();
        assert!(error.contains(fragment), "{pointer}: {error}");
    }
    let mut other_type = good.clone();
    other_type["context"]["type"] = json!("dev.cdevents.build.started.0.2.0");
    let error = CdEvent::from_json(other_type).unwrap_err().to_string();
    assert!(error.contains("unsupported event type"), "{error}");
}
