//! Overdue obligations are escalated once: an audited `ChangeEvent` and a queued CDEvent per
//! obligation, however many passes run, after a restart (a new store on the same database), or
//! when two passes race; break-glass is refused while the model blocks on an overdue review.
#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected errors

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use slipway_domain::kinds::ChangeEvent;
use slipway_domain::resource::parse_document;
use slipway_governance::escalation::{escalate, overdue};
use slipway_governance::{ChangeCommand, ChangeDesk, ChangeError};
use slipway_store::{Actor, Mutation, SqlStore, Store, TypedStore};
use std::sync::Arc;

fn put(document: Value) -> Mutation {
    Mutation::Put(parse_document(&document).unwrap())
}

fn emergency_change(name: &str) -> Mutation {
    put(
        json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "ChangeRequest",
        "metadata": {"name": name},
        "spec": {"type": "emergency", "model": "strict", "title": "hotfix", "requester": "alice",
                 "services": ["payments-api"], "environments": ["production"],
                 "justification": "outage", "implementationPlan": "direct",
                 "backoutPlan": "roll back"}}),
    )
}

async fn open(url: &str) -> Arc<dyn Store> {
    Arc::new(SqlStore::open(url).await.unwrap())
}

/// The escalation events and queued events about `change`.
async fn escalations(store: &dyn Store, change: &str) -> (Vec<String>, Vec<Value>) {
    let mut keys: Vec<String> = store
        .kind::<ChangeEvent>()
        .list()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.spec.change == change && r.spec.action == "escalate")
        .map(|r| r.spec.details["key"].as_str().unwrap().to_string())
        .collect();
    keys.sort();
    let queued = store
        .recent_outbox(100)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.event)
        .filter(|e| e["subject"]["content"]["uri"] == format!("/api/v1/changerequests/{change}"))
        .filter(|e| {
            e["subject"]["content"]["labels"]
                .as_array()
                .is_some_and(|l| l.contains(&json!("overdue")))
        })
        .collect();
    (keys, queued)
}

#[tokio::test]
async fn each_overdue_obligation_is_escalated_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("slipway.db").display());
    let store = open(&url).await;
    let admin = Actor::system("test");
    store
        .apply(
            &admin,
            vec![
                put(json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "Service",
                    "metadata": {"name": "payments-api"}, "spec": {"owner": "payments", "tier": "critical"}})),
                put(json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "ChangeModel",
                    "metadata": {"name": "strict"},
                    "spec": {"type": "emergency", "states": ["New", "Implement", "Review", "Closed"],
                             "emergency": {"retroApprovalWithin": "1h", "reviewWithin": "500ms",
                                           "blockWhilePreviousReviewOverdue": true}}})),
                put(json!({"apiVersion": "slipway.dev/v1alpha1", "kind": "EventSink",
                    "metadata": {"name": "bus"},
                    "spec": {"url": "http://127.0.0.1:9/events",
                             "eventTypes": ["dev.cdevents.ticket.updated.*"]}})),
                emergency_change("chg-1"),
                emergency_change("chg-2"),
            ],
            false,
        )
        .await
        .unwrap();
    let desk = ChangeDesk::new(store.clone());
    let oncall = Actor {
        user: "oncall".into(),
        request_id: String::new(),
        change_ref: Some("chg-1".into()),
    };
    let break_glass = || ChangeCommand::BreakGlass {
        reason: "payments down".into(),
        duration: SignedDuration::from_mins(30),
    };
    let granted = desk
        .act(&oncall, vec![], "chg-1", break_glass())
        .await
        .unwrap()
        .record
        .break_glass
        .unwrap();
    assert_eq!(
        granted.review_task.due,
        granted.granted_at + SignedDuration::from_millis(500),
        "the model's reviewWithin sets the review's deadline"
    );
    let now = granted.granted_at;

    // At the grant nothing is overdue and nothing is escalated.
    assert_eq!(escalate(store.clone(), now).await.unwrap(), 0);
    assert!(overdue(store.clone(), now).await.unwrap().is_empty());
    // Past both: two escalations, each recorded and queued once.
    let later = now + SignedDuration::from_hours(2);
    assert_eq!(escalate(store.clone(), later).await.unwrap(), 2);
    assert_eq!(escalate(store.clone(), later).await.unwrap(), 0);
    // A restart (a new store on the same database) and two passes racing change nothing.
    let restarted = open(&url).await;
    let (a, b) = tokio::join!(
        escalate(restarted.clone(), later),
        escalate(store.clone(), later)
    );
    assert_eq!((a.unwrap(), b.unwrap()), (0, 0));
    let (keys, queued) = escalations(restarted.as_ref(), "chg-1").await;
    assert_eq!(
        keys,
        ["post-implementation-review", "retrospective-approval"]
    );
    assert_eq!(queued.len(), 2, "{queued:#?}");
    let review = queued
        .iter()
        .find(|e| e["subject"]["content"]["labels"][1] == "post-implementation-review")
        .unwrap();
    assert_eq!(
        review["context"]["type"], "dev.cdevents.ticket.updated.0.2.0",
        "{review}"
    );
    let content = &review["subject"]["content"];
    assert_eq!(content["group"], "payments");
    assert_eq!(content["priority"], "high");
    assert!(
        content["summary"]
            .as_str()
            .unwrap()
            .contains("post-implementation review of change chg-1 (payments-api)"),
        "{content}"
    );
    // The list says when each was escalated.
    let listed = overdue(store.clone(), later).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(
        listed.iter().all(|o| o.escalated_at.is_some()),
        "{listed:?}"
    );

    // The model refuses a further emergency of the service while chg-1's review is overdue,
    // naming the rule, the model's field and the change; once reviewed, it is allowed.
    let until_due = granted.review_task.due.duration_since(Timestamp::now());
    if until_due.is_positive() {
        tokio::time::sleep(until_due.unsigned_abs() + std::time::Duration::from_millis(10)).await;
    }
    let other = Actor {
        change_ref: Some("chg-2".into()),
        ..oncall.clone()
    };
    let refused = desk
        .act(&other, vec![], "chg-2", break_glass())
        .await
        .unwrap_err();
    assert!(matches!(refused, ChangeError::Refused(_)), "{refused:?}");
    assert!(
        refused.to_string().starts_with(
            "break-glass for change chg-2 refused by rule previous-emergency-reviewed: ChangeModel strict spec.emergency.blockWhilePreviousReviewOverdue: the post-implementation review of emergency change chg-1 (payments-api) was due at"
        ),
        "{refused}"
    );
    let review: slipway_change::review::ReviewDraft =
        serde_json::from_value(json!({"outcome": "successful-with-issues", "findings": "slow"}))
            .unwrap();
    desk.act(
        &Actor {
            user: "lead".into(),
            ..oncall.clone()
        },
        vec![],
        "chg-1",
        ChangeCommand::RecordReview(Box::new(review)),
    )
    .await
    .unwrap();
    let view = desk
        .act(&other, vec![], "chg-2", break_glass())
        .await
        .unwrap();
    assert_eq!(view.record.state.as_str(), "Implement");
}
