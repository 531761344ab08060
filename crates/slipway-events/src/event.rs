//! A CDEvent: context (who emitted what, when, linked to which other
//! events) and subject (the thing the event is about, with typed content).
//! Built from an [`EventMeta`] and a [`Content`]; the content decides the
//! `type` and `specversion`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::EventError;
use crate::content::{Content, EventType};

/// An event's context, as CDEvents defines it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Context {
    pub specversion: String,
    pub id: String,
    pub source: String,
    #[serde(rename = "type")]
    pub event_type: String,
    #[serde(with = "rfc3339")]
    pub timestamp: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
}

/// The other end of a link: an event's `contextId` (or, in the draft spec, a
/// `domainId` URN).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkEnd {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_id: Option<String>,
}

impl LinkEnd {
    /// A link end naming another event by its context id.
    pub fn event(context_id: impl Into<String>) -> Self {
        Self {
            context_id: Some(context_id.into()),
            domain_id: None,
        }
    }
}

/// An embedded link (CDEvents links spec), tagged by `linkType`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "linkType", rename_all = "UPPERCASE", deny_unknown_fields)]
pub enum Link {
    /// This event ends a chain that `from` was part of.
    End {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<LinkEnd>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tags: Option<serde_json::Map<String, serde_json::Value>>,
    },
    /// This event follows `from` in its chain.
    Path {
        from: LinkEnd,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tags: Option<serde_json::Map<String, serde_json::Value>>,
    },
    /// This event relates to `target` in the way `linkKind` says (e.g. `TRIGGER`).
    Relation {
        #[serde(rename = "linkKind")]
        link_kind: String,
        target: LinkEnd,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tags: Option<serde_json::Map<String, serde_json::Value>>,
    },
}

/// The subject: an id (and source) naming the thing, plus typed content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Subject {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Only ticket closed's schema has a subject `type`; kept when parsed.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub subject_type: Option<String>,
    pub content: Content,
}

/// One CDEvent. Serializes to the document the CDEvents schemas describe;
/// deserializes (strictly) from it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawEvent")]
#[serde(rename_all = "camelCase")]
pub struct CdEvent {
    pub context: Context,
    pub subject: Subject,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_data: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_data_content_type: Option<String>,
}

/// What the emitter decides for each event: its id, source, time and links.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventMeta {
    /// Unique event id (a UUID from [`EventMeta::new`]).
    pub id: String,
    /// URI reference of the emitter, e.g. `/slipway/prod-eu` or an URL.
    pub source: String,
    pub timestamp: OffsetDateTime,
    /// Groups the events of one change or rollout.
    pub chain_id: Option<String>,
    pub links: Vec<Link>,
}

impl EventMeta {
    /// Meta with a fresh random (v4) UUID, no chain and no links.
    pub fn new(source: impl Into<String>, timestamp: OffsetDateTime) -> Self {
        Self::with_id(uuid::Uuid::new_v4().to_string(), source, timestamp)
    }

    /// Meta with a given id (for reproducible tests and for replays).
    pub fn with_id(
        id: impl Into<String>,
        source: impl Into<String>,
        timestamp: OffsetDateTime,
    ) -> Self {
        Self {
            id: id.into(),
            source: source.into(),
            timestamp,
            chain_id: None,
            links: Vec::new(),
        }
    }

    /// The same meta in the chain `chain_id`.
    pub fn in_chain(mut self, chain_id: impl Into<String>) -> Self {
        self.chain_id = Some(chain_id.into());
        self
    }

    /// The same meta with one more link.
    pub fn linked(mut self, link: Link) -> Self {
        self.links.push(link);
        self
    }
}

impl CdEvent {
    /// Builds an event about subject `subject_id` (from `subject_source`, if
    /// given) with `content`, which fixes `context.type` and `specversion`.
    pub fn new(
        meta: EventMeta,
        subject_id: impl Into<String>,
        subject_source: Option<String>,
        content: Content,
    ) -> CdEvent {
        let event_type = content.event_type();
        CdEvent {
            context: Context {
                specversion: event_type.spec_version().to_owned(),
                id: meta.id,
                source: meta.source,
                event_type: event_type.type_string().to_owned(),
                timestamp: meta.timestamp,
                schema_uri: None,
                chain_id: meta.chain_id,
                links: meta.links,
            },
            subject: Subject {
                id: subject_id.into(),
                source: subject_source,
                subject_type: None,
                content,
            },
            custom_data: None,
            custom_data_content_type: None,
        }
    }

    /// The event's type.
    pub fn event_type(&self) -> EventType {
        self.subject.content.event_type()
    }

    /// The event as JSON.
    pub fn to_json(&self) -> Result<serde_json::Value, EventError> {
        serde_json::to_value(self).map_err(|error| EventError::Serialize {
            id: self.context.id.clone(),
            reason: error.to_string(),
        })
    }

    /// Parses a CDEvent document of a supported type (unknown fields refused).
    pub fn from_json(value: serde_json::Value) -> Result<CdEvent, EventError> {
        serde_json::from_value(value).map_err(|error| EventError::Parse {
            reason: error.to_string(),
        })
    }
}

/// The wire form before the content is typed by `context.type`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawEvent {
    context: RawContext,
    subject: RawSubject,
    #[serde(default)]
    custom_data: Option<serde_json::Value>,
    #[serde(default)]
    custom_data_content_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawContext {
    specversion: String,
    id: String,
    source: String,
    #[serde(rename = "type")]
    event_type: String,
    #[serde(with = "rfc3339")]
    timestamp: OffsetDateTime,
    #[serde(default)]
    schema_uri: Option<String>,
    #[serde(default)]
    chain_id: Option<String>,
    #[serde(default)]
    links: Vec<Link>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubject {
    id: String,
    #[serde(default)]
    source: Option<String>,
    #[serde(rename = "type", default)]
    subject_type: Option<String>,
    content: serde_json::Value,
}

impl TryFrom<RawEvent> for CdEvent {
    type Error = String;

    fn try_from(raw: RawEvent) -> Result<Self, Self::Error> {
        let event_type = EventType::from_type_string(&raw.context.event_type)
            .ok_or_else(|| format!("unsupported event type {:?}", raw.context.event_type))?;
        let content = Content::from_json(event_type, raw.subject.content)
            .map_err(|error| format!("subject.content of {event_type}: {error}"))?;
        Ok(CdEvent {
            context: Context {
                specversion: raw.context.specversion,
                id: raw.context.id,
                source: raw.context.source,
                event_type: raw.context.event_type,
                timestamp: raw.context.timestamp,
                schema_uri: raw.context.schema_uri,
                chain_id: raw.context.chain_id,
                links: raw.context.links,
            },
            subject: Subject {
                id: raw.subject.id,
                source: raw.subject.source,
                subject_type: raw.subject.subject_type,
                content,
            },
            custom_data: raw.custom_data,
            custom_data_content_type: raw.custom_data_content_type,
        })
    }
}

/// RFC 3339 timestamps (`2026-03-06T17:00:00.5Z`) in serde.
pub(crate) mod rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    pub(crate) fn serialize<S: Serializer>(
        timestamp: &OffsetDateTime,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let text = timestamp
            .format(&Rfc3339)
            .map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&text)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<OffsetDateTime, D::Error> {
        let text = String::deserialize(deserializer)?;
        OffsetDateTime::parse(&text, &Rfc3339).map_err(serde::de::Error::custom)
    }
}
