//! The emergency loop at the store: what changes owe and what of it is overdue
//! (`slipway_change::overdue`, over the records the desk keeps), and its escalation.
//!
//! The watch is level-triggered: every pass it computes what is overdue now, and each overdue
//! obligation not yet escalated is escalated once. Escalating records an audited `ChangeEvent`
//! (action `escalate`) whose name is derived from the change and the obligation and which is
//! created only if absent, so neither a restart nor a second replica records it twice; then a
//! CDEvent `ticket.updated` for the change's ticket is queued for every accepting sink, once:
//! the store's meta table remembers it was queued. A crash between queueing and remembering
//! queues it again on the next pass (at least once, like the rollout outcomes). Of several
//! replicas only the holder of the `overdue-escalation` lease runs the watch (`events::run`),
//! so two replicas do not queue the same event at the same moment.

use std::sync::Arc;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Value, json};
use slipway_change::change_content_digest;
use slipway_change::overdue::{OverdueItem, overdue_items};
use slipway_domain::governance_records::ChangeEventSpec;
use slipway_domain::kinds::{ChangeEvent, Kind};
use slipway_domain::resource::parse_document;
use slipway_store::{Actor, Mutation, Store, StoreError};

use crate::desk::{ChangeDesk, ChangeError, record_name, service_owners};

/// The action of the `ChangeEvent` that records an escalation.
pub const ESCALATE_ACTION: &str = "escalate";

/// An overdue obligation and, once escalated, when and by which record.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Overdue {
    #[serde(flatten)]
    pub item: OverdueItem,
    pub escalated_at: Option<String>,
    /// The `ChangeEvent` recording the escalation.
    pub escalation: Option<String>,
}

/// Everything overdue at `now`, oldest deadline first.
pub async fn overdue(store: Arc<dyn Store>, now: Timestamp) -> Result<Vec<Overdue>, ChangeError> {
    Ok(read(store, now)
        .await?
        .into_iter()
        .map(|f| f.overdue)
        .collect())
}

/// Escalates whatever became overdue by `now` and was not escalated yet; how many were.
pub async fn escalate(store: Arc<dyn Store>, now: Timestamp) -> Result<usize, ChangeError> {
    let mut escalated = 0;
    for found in read(store.clone(), now).await? {
        let item = &found.overdue.item;
        if found.overdue.escalation.is_none() && record(store.as_ref(), &found, now).await? {
            escalated += 1;
            tracing::warn!(change = %item.change, due = %item.what, deadline = %item.deadline,
                overdue_by = %item.overdue_by, teams = %item.teams.join(","), "overdue: escalated");
        }
        let meta = format!("events.overdue.{}.{}", item.change, item.due.key());
        if store.meta(&meta).await?.is_none() {
            crate::events::emit(
                store.as_ref(),
                &item.change,
                crate::events::overdue_event(item),
            )
            .await?;
            store.set_meta(&meta, "queued").await?;
        }
    }
    Ok(escalated)
}

/// An overdue obligation with what recording its escalation needs.
struct Found {
    overdue: Overdue,
    /// The change's state and content digest now, and how many events it has.
    state: &'static str,
    digest: String,
    events: usize,
}

/// Every overdue obligation at `now`, oldest deadline first.
async fn read(store: Arc<dyn Store>, now: Timestamp) -> Result<Vec<Found>, ChangeError> {
    let owners = service_owners(store.as_ref()).await?;
    let mut out = Vec::new();
    for (record, events) in ChangeDesk::new(store).records_with_events().await? {
        for item in overdue_items(std::slice::from_ref(&record), &owners, now) {
            let key = item.due.key();
            let escalated = events
                .iter()
                .find(|e| escalated_key(e) == Some(key.as_str()));
            out.push(Found {
                overdue: Overdue {
                    escalated_at: escalated.map(|e| e.at.clone()),
                    escalation: escalated.map(|_| escalation_name(&item.change, &key)),
                    item,
                },
                state: record.state.as_str(),
                digest: change_content_digest(&record.spec),
                events: events.len(),
            });
        }
    }
    out.sort_by(|a, b| {
        let order = |f: &Found| {
            (
                f.overdue.item.deadline,
                f.overdue.item.change.clone(),
                f.overdue.item.due.key(),
            )
        };
        order(a).cmp(&order(b))
    });
    Ok(out)
}

/// The name of the `ChangeEvent` escalating obligation `key` of `change`: the same on every
/// replica and after every restart.
fn escalation_name(change: &str, key: &str) -> String {
    record_name(&format!("{change}-overdue"), 0, &[ESCALATE_ACTION, key])
}

/// The key of what an `escalate` event escalated.
fn escalated_key(event: &ChangeEventSpec) -> Option<&str> {
    (event.action == ESCALATE_ACTION)
        .then(|| event.details.get("key").and_then(Value::as_str))
        .flatten()
}

/// Records the escalation of `found`; false when it was already recorded (by another replica).
async fn record(store: &dyn Store, found: &Found, now: Timestamp) -> Result<bool, ChangeError> {
    let item = &found.overdue.item;
    let key = item.due.key();
    let event = ChangeEventSpec {
        change: item.change.clone(),
        sequence: u32::try_from(found.events)
            .unwrap_or(u32::MAX)
            .saturating_add(1),
        action: ESCALATE_ACTION.into(),
        actor: Actor::system("overdue").user,
        actor_teams: Vec::new(),
        at: now.to_string(),
        content_digest: found.digest.clone(),
        from_state: found.state.into(),
        to_state: found.state.into(),
        details: json!({
            "key": key,
            "due": item.due,
            "what": item.what,
            "deadline": item.deadline,
            "overdueBy": item.overdue_by,
            "teams": item.teams,
            "services": item.services,
        }),
    };
    let document = json!({"apiVersion": "slipway.dev/v1alpha1", "kind": ChangeEvent::KIND,
        "metadata": {"name": escalation_name(&item.change, &key),
                     "labels": {"slipway.dev/change": item.change}},
        "spec": event});
    let mut resource = parse_document(&document).map_err(|d| ChangeError::Invalid {
        name: item.change.clone(),
        reason: d
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "),
    })?;
    // Created only if absent: revision 0 is "must not exist yet".
    resource.metadata.revision = Some(0);
    let actor = Actor {
        change_ref: Some(item.change.clone()),
        ..Actor::system("overdue")
    };
    match store
        .apply(&actor, vec![Mutation::Put(resource)], false)
        .await
    {
        Ok(_) => Ok(true),
        Err(StoreError::StaleRevision { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
