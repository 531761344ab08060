//! The event types Slipway emits and their subject content, one typed struct
//! per CDEvents schema (field names as in the schemas; unknown fields are
//! refused, as the schemas' `additionalProperties: false` does).

use serde::{Deserialize, Serialize};

/// CDEvents spec version of the released event types (spec tag `v0.5.1`).
pub const SPEC_VERSION: &str = "0.5.1";
/// Spec version of the draft approval events (CDEvents `main`, unreleased).
pub const DRAFT_SPEC_VERSION: &str = "0.6.0-draft";

/// Every event type this crate builds, with its exact `context.type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    ServiceDeployed,
    ServiceUpgraded,
    ServiceRolledback,
    ServiceRemoved,
    TicketCreated,
    TicketUpdated,
    TicketClosed,
    ApprovalCreated,
    ApprovalUpdated,
    ApprovalClosed,
}

impl EventType {
    /// All supported types, in a stable order.
    pub const ALL: [EventType; 10] = [
        EventType::ServiceDeployed,
        EventType::ServiceUpgraded,
        EventType::ServiceRolledback,
        EventType::ServiceRemoved,
        EventType::TicketCreated,
        EventType::TicketUpdated,
        EventType::TicketClosed,
        EventType::ApprovalCreated,
        EventType::ApprovalUpdated,
        EventType::ApprovalClosed,
    ];

    /// The CDEvents type string, `dev.cdevents.<subject>.<predicate>.<version>`.
    pub const fn type_string(self) -> &'static str {
        match self {
            EventType::ServiceDeployed => "dev.cdevents.service.deployed.0.3.0",
            EventType::ServiceUpgraded => "dev.cdevents.service.upgraded.0.3.0",
            EventType::ServiceRolledback => "dev.cdevents.service.rolledback.0.3.0",
            EventType::ServiceRemoved => "dev.cdevents.service.removed.0.3.0",
            EventType::TicketCreated => "dev.cdevents.ticket.created.0.2.0",
            EventType::TicketUpdated => "dev.cdevents.ticket.updated.0.2.0",
            EventType::TicketClosed => "dev.cdevents.ticket.closed.0.2.0",
            EventType::ApprovalCreated => "dev.cdevents.approval.created.0.1.0",
            EventType::ApprovalUpdated => "dev.cdevents.approval.updated.0.1.0",
            EventType::ApprovalClosed => "dev.cdevents.approval.closed.0.1.0",
        }
    }

    /// The type for a `context.type` string, if this crate supports it.
    pub fn from_type_string(type_string: &str) -> Option<EventType> {
        EventType::ALL
            .into_iter()
            .find(|event_type| event_type.type_string() == type_string)
    }

    /// The `context.specversion` that defines this type.
    pub const fn spec_version(self) -> &'static str {
        match self {
            EventType::ApprovalCreated | EventType::ApprovalUpdated | EventType::ApprovalClosed => {
                DRAFT_SPEC_VERSION
            }
            _ => SPEC_VERSION,
        }
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.type_string())
    }
}

/// A reference to an environment (`id`, optional `source`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentRef {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl EnvironmentRef {
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            source: None,
        }
    }
}

/// Content of service deployed / upgraded / rolledback: where, and which
/// artifact (a purl, e.g. `pkg:oci/checkout@sha256%3A…`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServiceContent {
    pub environment: EnvironmentRef,
    pub artifact_id: String,
}

/// Content of service removed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceRemovedContent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<EnvironmentRef>,
}

/// Content of ticket created (Slipway: a change request or a review task opened).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TicketCreatedContent {
    pub summary: String,
    pub creator: String,
    pub uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assignees: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub milestone: Option<String>,
}

/// Content of ticket updated.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TicketUpdatedContent {
    pub uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assignees: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub milestone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
}

/// Content of ticket closed; `resolution` is `completed`, `withdrawn`,
/// `duplicate` or another non-empty word.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TicketClosedContent {
    pub uri: String,
    pub resolution: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assignees: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub milestone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
}

/// Content of approval created (draft): the approval record, the resource it
/// gates, and who asked (a URN such as `urn:slipway:user:alice`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ApprovalCreatedContent {
    pub approval_details_url: String,
    pub resource_target_url: String,
    pub requestor: String,
}

/// A responder's decision on an approval (draft vocabulary).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ApprovalDecision {
    Escalated,
    Delegate,
    Deferred,
    RequestChanges,
    Approved,
    Rejected,
}

/// The terminal state of an approval (draft vocabulary).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ApprovalStatus {
    Approved,
    Rejected,
    Cancelled,
    Expired,
}

/// Content of approval updated (draft): one responder's decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ApprovalUpdatedContent {
    pub approval_details_url: String,
    pub resource_target_url: String,
    pub responder: String,
    pub decision: ApprovalDecision,
}

/// Content of approval closed (draft): the last decision and the terminal status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ApprovalClosedContent {
    pub approval_details_url: String,
    pub resource_target_url: String,
    pub responder: String,
    pub decision: ApprovalDecision,
    pub status: ApprovalStatus,
}

/// The subject content of one event; its variant decides the event type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Content {
    ServiceDeployed(ServiceContent),
    ServiceUpgraded(ServiceContent),
    ServiceRolledback(ServiceContent),
    ServiceRemoved(ServiceRemovedContent),
    TicketCreated(TicketCreatedContent),
    TicketUpdated(TicketUpdatedContent),
    TicketClosed(TicketClosedContent),
    ApprovalCreated(ApprovalCreatedContent),
    ApprovalUpdated(ApprovalUpdatedContent),
    ApprovalClosed(ApprovalClosedContent),
}

impl Content {
    /// The event type this content belongs to.
    pub const fn event_type(&self) -> EventType {
        match self {
            Content::ServiceDeployed(_) => EventType::ServiceDeployed,
            Content::ServiceUpgraded(_) => EventType::ServiceUpgraded,
            Content::ServiceRolledback(_) => EventType::ServiceRolledback,
            Content::ServiceRemoved(_) => EventType::ServiceRemoved,
            Content::TicketCreated(_) => EventType::TicketCreated,
            Content::TicketUpdated(_) => EventType::TicketUpdated,
            Content::TicketClosed(_) => EventType::TicketClosed,
            Content::ApprovalCreated(_) => EventType::ApprovalCreated,
            Content::ApprovalUpdated(_) => EventType::ApprovalUpdated,
            Content::ApprovalClosed(_) => EventType::ApprovalClosed,
        }
    }

    /// Parses `value` as the content of `event_type`.
    pub fn from_json(
        event_type: EventType,
        value: serde_json::Value,
    ) -> Result<Content, serde_json::Error> {
        use serde_json::from_value;
        Ok(match event_type {
            EventType::ServiceDeployed => Content::ServiceDeployed(from_value(value)?),
            EventType::ServiceUpgraded => Content::ServiceUpgraded(from_value(value)?),
            EventType::ServiceRolledback => Content::ServiceRolledback(from_value(value)?),
            EventType::ServiceRemoved => Content::ServiceRemoved(from_value(value)?),
            EventType::TicketCreated => Content::TicketCreated(from_value(value)?),
            EventType::TicketUpdated => Content::TicketUpdated(from_value(value)?),
            EventType::TicketClosed => Content::TicketClosed(from_value(value)?),
            EventType::ApprovalCreated => Content::ApprovalCreated(from_value(value)?),
            EventType::ApprovalUpdated => Content::ApprovalUpdated(from_value(value)?),
            EventType::ApprovalClosed => Content::ApprovalClosed(from_value(value)?),
        })
    }
}
