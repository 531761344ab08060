//! CDEvents out of Slipway: what happened (a change request's actions, approvals, and a
//! rollout's end: deployed, upgraded, rolled back, removed) becomes a CDEvent queued in the
//! store's outbox for every `EventSink` whose filter accepts it, and the deliverer sends due
//! items with retries and backoff (`slipway_events::next_action`).
//!
//! Rollout outcomes are noticed by a watcher that reads rollout statuses (the engine knows
//! nothing of events); each (rollout, revision, phase) is emitted once, remembered in the
//! store's meta table so a restart does not emit it again. While no sink exists outcomes are
//! remembered in memory only, so after a restart a newly added sink may also receive outcomes
//! that ended before it existed.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use slipway_domain::governance_records::EventSinkSpec;
use slipway_domain::kinds::{EventSink, Rollout, typed};
use slipway_events::{
    ApprovalClosedContent, ApprovalCreatedContent, ApprovalDecision, ApprovalStatus,
    AttemptOutcome, CdEvent, Content, EncodingMode, EnvironmentRef, EventMeta, NextAction,
    OutboxEntry, RetryPolicy, SecretString, ServiceContent, ServiceRemovedContent, Sink,
    SinkHeader, TicketClosedContent, TicketCreatedContent, TicketUpdatedContent,
};
use slipway_store::{OutboxOutcome, Store, StoreError, TypedStore};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

/// The CDEvents `source` of everything this server emits.
pub const EVENT_SOURCE: &str = "/slipway";

/// Queues `content` about `subject` for every sink that accepts its type.
pub async fn emit(store: &dyn Store, subject: &str, content: Content) -> Result<(), StoreError> {
    let event = CdEvent::new(
        EventMeta::new(EVENT_SOURCE, OffsetDateTime::now_utc()),
        subject,
        None,
        content,
    );
    let Ok(json) = event.to_json() else {
        return Ok(());
    };
    let event_type = event.event_type().type_string();
    let items: Vec<(String, Value)> = sinks(store)
        .await?
        .into_iter()
        .filter(|s| s.sink.accepts(event_type))
        .map(|s| (s.sink.name, json.clone()))
        .collect();
    if items.is_empty() {
        return Ok(());
    }
    store.enqueue_outbox(&items, now_ms()).await
}

/// The CDEvents a change request action produces.
pub fn change_events(
    change: &str,
    action: &str,
    actor: &str,
    title: &str,
    to_state: &str,
) -> Vec<Content> {
    let uri = format!("/api/v1/changerequests/{change}");
    let mut out = Vec::new();
    match action {
        "submit" | "break-glass" if matches!(to_state, "Assess" | "Scheduled" | "Implement") => {
            out.push(Content::TicketCreated(TicketCreatedContent {
                summary: title.to_string(),
                creator: actor.to_string(),
                uri: uri.clone(),
                ticket_type: Some("change".into()),
                group: None,
                assignees: Vec::new(),
                priority: None,
                labels: Vec::new(),
                milestone: None,
            }));
            if to_state == "Assess" {
                out.push(Content::ApprovalCreated(ApprovalCreatedContent {
                    approval_details_url: format!("{uri}/view"),
                    resource_target_url: uri.clone(),
                    requestor: actor.to_string(),
                }));
            }
        }
        "approve" | "reject" => {
            let decision = if action == "approve" {
                ApprovalDecision::Approved
            } else {
                ApprovalDecision::Rejected
            };
            let finished = action == "reject" || matches!(to_state, "Scheduled" | "Implement");
            if finished {
                out.push(Content::ApprovalClosed(ApprovalClosedContent {
                    approval_details_url: format!("{uri}/view"),
                    resource_target_url: uri.clone(),
                    responder: actor.to_string(),
                    decision,
                    status: if action == "approve" {
                        ApprovalStatus::Approved
                    } else {
                        ApprovalStatus::Rejected
                    },
                }));
            } else {
                out.push(Content::ApprovalUpdated(
                    slipway_events::ApprovalUpdatedContent {
                        approval_details_url: format!("{uri}/view"),
                        resource_target_url: uri.clone(),
                        responder: actor.to_string(),
                        decision,
                    },
                ));
            }
        }
        _ => {}
    }
    match to_state {
        "Closed" | "Canceled" => out.push(Content::TicketClosed(TicketClosedContent {
            uri,
            resolution: to_state.to_lowercase(),
            summary: Some(title.to_string()),
            creator: None,
            ticket_type: Some("change".into()),
            group: None,
            assignees: Vec::new(),
            priority: None,
            labels: Vec::new(),
            milestone: None,
            updated_by: Some(actor.to_string()),
        })),
        _ if !matches!(action, "submit") => {
            out.push(Content::TicketUpdated(TicketUpdatedContent {
                uri,
                summary: Some(title.to_string()),
                creator: None,
                ticket_type: Some("change".into()),
                group: None,
                assignees: Vec::new(),
                priority: None,
                labels: Vec::new(),
                milestone: None,
                updated_by: Some(actor.to_string()),
            }))
        }
        _ => {}
    }
    out
}

/// The event a rollout's end produces: deployed (a first version in the environment),
/// upgraded (it replaced one), rolled back, or removed.
pub fn rollout_event(
    phase: &str,
    environment: &str,
    artifact: &str,
    replaced: bool,
) -> Option<Content> {
    let service = || ServiceContent {
        environment: EnvironmentRef {
            id: environment.to_string(),
            source: Some(EVENT_SOURCE.into()),
        },
        artifact_id: artifact.to_string(),
    };
    match phase {
        "Promoted" if replaced => Some(Content::ServiceUpgraded(service())),
        "Promoted" => Some(Content::ServiceDeployed(service())),
        "RolledBack" => Some(Content::ServiceRolledback(service())),
        "Removed" => Some(Content::ServiceRemoved(ServiceRemovedContent {
            environment: Some(EnvironmentRef {
                id: environment.to_string(),
                source: Some(EVENT_SOURCE.into()),
            }),
        })),
        _ => None,
    }
}

/// An EventSink as configured: the sink, or why it cannot be used as it stands.
struct ConfiguredSink {
    sink: Sink,
    /// A header whose `valueFromEnv` variable is not set in the server's environment: the
    /// sink is not sent anything (an empty credential would be sent silently otherwise).
    misconfigured: Option<String>,
}

/// Every EventSink resource as a sink; header values come from the server's environment.
async fn sinks(store: &dyn Store) -> Result<Vec<ConfiguredSink>, StoreError> {
    Ok(store
        .kind::<EventSink>()
        .resources()
        .await?
        .into_iter()
        .filter_map(|r| {
            let spec = typed::<EventSinkSpec>(&r.spec)?;
            let mut misconfigured = None;
            let headers = spec
                .headers
                .into_iter()
                .map(|h| {
                    let value = std::env::var(&h.value_from_env).unwrap_or_else(|_| {
                        misconfigured.get_or_insert_with(|| {
                            format!(
                                "sink {}: header {}: environment variable {} is not set in the server's environment",
                                r.metadata.name, h.name, h.value_from_env
                            )
                        });
                        String::new()
                    });
                    SinkHeader {
                        value: SecretString::new(value),
                        name: h.name,
                    }
                })
                .collect();
            Some(ConfiguredSink {
                sink: Sink {
                    name: r.metadata.name,
                    url: spec.url,
                    mode: if spec.mode == "binary" {
                        EncodingMode::Binary
                    } else {
                        EncodingMode::Structured
                    },
                    headers,
                    event_types: spec.event_types,
                },
                misconfigured,
            })
        })
        .collect())
}

fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis()),
    )
    .unwrap_or(i64::MAX)
}

/// Governance's background loop until `shutdown`, one tick every 250 ms: lockdown of rollouts
/// in flight, rollout outcomes as events, delivery of the outbox.
pub async fn run(store: Arc<dyn Store>, shutdown: CancellationToken) {
    let client = reqwest::Client::new();
    let policy = RetryPolicy::default();
    // Outcomes already emitted, so the store's meta table is read once per outcome.
    let mut emitted = std::collections::HashSet::new();
    loop {
        if let Err(e) = crate::lockdown::reconcile(store.as_ref()).await {
            tracing::warn!(error = %e, "cannot apply the lockdown to rollouts in flight");
        }
        if let Err(e) = watch_rollouts(store.as_ref(), &mut emitted).await {
            tracing::warn!(error = %e, "cannot read rollouts for events");
        }
        if let Err(e) = deliver_due(store.as_ref(), &client, &policy).await {
            tracing::warn!(error = %e, "cannot deliver events");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
}

/// Emits each finished rollout's event once; `emitted` remembers what this process has seen.
async fn watch_rollouts(
    store: &dyn Store,
    emitted: &mut std::collections::HashSet<String>,
) -> Result<(), StoreError> {
    let rollouts = store.kind::<Rollout>().resources().await?;
    // With no sink there is nobody to tell: remember the outcomes in memory only, so a busy
    // engine's writes are not joined by bookkeeping ones.
    let have_sinks = !sinks(store).await?.is_empty();
    for rollout in &rollouts {
        let Some(phase) = rollout
            .status
            .as_ref()
            .and_then(|s| s.get("phase"))
            .and_then(Value::as_str)
        else {
            continue;
        };
        let key = format!(
            "events.rollout.{}.{}.{phase}",
            rollout.metadata.name,
            rollout.metadata.revision.unwrap_or(0)
        );
        if emitted.contains(&key) {
            continue;
        }
        if !have_sinks {
            emitted.insert(key);
            continue;
        }
        if store.meta(&key).await?.is_some() {
            emitted.insert(key);
            continue;
        }
        let text = |field: &str| {
            rollout
                .spec
                .get(field)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let (service, environment, artifact) =
            (text("service"), text("environment"), text("artifact"));
        // Replaced: another rollout of the same service and environment was promoted before.
        let replaced = rollouts.iter().any(|other| {
            other.metadata.name != rollout.metadata.name
                && other.spec.get("service").and_then(Value::as_str) == Some(service.as_str())
                && other.spec.get("environment").and_then(Value::as_str)
                    == Some(environment.as_str())
                && other
                    .status
                    .as_ref()
                    .and_then(|s| s.get("phase"))
                    .and_then(Value::as_str)
                    == Some("Promoted")
        });
        if let Some(content) = rollout_event(phase, &environment, &artifact, replaced) {
            emit(store, &service, content).await?;
        }
        store.set_meta(&key, "emitted").await?;
        emitted.insert(key);
    }
    Ok(())
}

/// Sends every due item once and records the outcome (one pass of the deliverer loop).
pub async fn deliver_due(
    store: &dyn Store,
    client: &reqwest::Client,
    policy: &RetryPolicy,
) -> Result<(), StoreError> {
    let due = store.due_outbox(now_ms(), 50).await?;
    if due.is_empty() {
        return Ok(());
    }
    let sinks = sinks(store).await?;
    for item in due {
        let Some(configured) = sinks.iter().find(|s| s.sink.name == item.sink) else {
            store
                .settle_outbox(
                    item.id,
                    &OutboxOutcome::GaveUp {
                        error: format!("sink {} no longer exists", item.sink),
                    },
                )
                .await?;
            continue;
        };
        let event = match CdEvent::from_json(item.event.clone()) {
            Ok(event) => event,
            Err(e) => {
                store
                    .settle_outbox(
                        item.id,
                        &OutboxOutcome::GaveUp {
                            error: e.to_string(),
                        },
                    )
                    .await?;
                continue;
            }
        };
        let outcome = if let Some(reason) = &configured.misconfigured {
            tracing::warn!(reason = %reason, "event not sent");
            AttemptOutcome::Failed {
                error: reason.clone(),
                retryable: true,
            }
        } else {
            match slipway_events::deliver(client, &configured.sink, &event).await {
                Ok(()) => AttemptOutcome::Delivered,
                Err(e) => e.outcome(),
            }
        };
        let entry = OutboxEntry {
            id: item.id.to_string(),
            sink: item.sink.clone(),
            event,
            attempts: u32::try_from(item.attempts).unwrap_or(u32::MAX),
            next_attempt_at: OffsetDateTime::now_utc(),
            last_error: item.last_error.clone(),
        };
        let jitter = f64::from(u32::try_from(item.id.rem_euclid(1000)).unwrap_or(0)) / 1000.0;
        let settled = match slipway_events::next_action(
            &entry,
            OffsetDateTime::now_utc(),
            &outcome,
            policy,
            jitter,
        ) {
            NextAction::Done | NextAction::Deliver => OutboxOutcome::Delivered,
            NextAction::RetryAt(at) => OutboxOutcome::RetryAt {
                at_ms: i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX),
                error: match &outcome {
                    AttemptOutcome::Failed { error, .. } => error.clone(),
                    _ => String::new(),
                },
            },
            NextAction::GiveUp { last_error, .. } => OutboxOutcome::GaveUp { error: last_error },
        };
        store.settle_outbox(item.id, &settled).await?;
    }
    Ok(())
}
