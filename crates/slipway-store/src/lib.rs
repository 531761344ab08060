//! Slipway's persistence layer.
//!
//! [`Store`] is the one interface the rest of Slipway uses to read and change state. Every
//! mutation goes through it and is written in ONE transaction together with its audit entry and
//! the new right edge of the audit Merkle tree, so there is no state change without its entry
//! and no entry without its state. The embedded default is SQLite (WAL) inside the data dir;
//! PostgreSQL serves several replicas. Both run the same SQL through [`sql::SqlStore`], with
//! per-backend migrations, and both pass the same conformance suite (`tests/conformance.rs`).
#![forbid(unsafe_code)]

pub mod cached;
pub mod data_dir;
pub mod fresh;
pub mod migrate;
pub mod sql;
pub mod typed;

use async_trait::async_trait;
use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use slipway_domain::audit::proof_bundle::ExportedEntry;
use slipway_domain::audit::verify::Report;
use slipway_domain::audit::{Hash, SignedCheckpoint};
use slipway_domain::resource::Resource;
use std::collections::{BTreeMap, BTreeSet};

pub use cached::CachedStore;
pub use sql::SqlStore;
pub use typed::{Object, TypedStore};

/// Who is making a change, and under which request and change reference.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user: String,
    pub request_id: String,
    pub change_ref: Option<String>,
}

impl Actor {
    /// An actor for work Slipway does itself (`system:<what>`).
    pub fn system(what: &str) -> Self {
        Actor {
            user: format!("system:{what}"),
            request_id: String::new(),
            change_ref: None,
        }
    }
}

/// One change in a batch.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Create or update. `resource.metadata.revision`, when set, must equal the current
    /// revision (0 or absent for "must not exist yet" is not implied: absent means "any").
    Put(Resource),
    /// Delete; `expected_revision`, when set, must equal the current revision.
    Delete {
        kind: String,
        name: String,
        expected_revision: Option<i64>,
    },
}

/// What happened (or would happen, in a dry run) to one document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Applied {
    pub kind: String,
    pub name: String,
    pub action: AppliedAction,
    pub revision: i64,
    /// The declared content before the change, when the resource existed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<serde_json::Value>,
    /// The audit entry written, when something changed and it was not a dry run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_seq: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppliedAction {
    Created,
    Updated,
    Unchanged,
    Deleted,
}

/// A stored API token. The secret itself is never stored, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRecord {
    pub id: String,
    pub user: String,
    #[serde(skip_serializing, default)]
    pub secret_hash: String,
    pub description: String,
    pub revision: i64,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl TokenRecord {
    /// The audited content of a token: everything but nothing secret (the hash of a
    /// high-entropy secret reveals nothing and ties the row to its entry).
    pub fn declared_content(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "user": self.user,
            "secretHash": self.secret_hash,
            "description": self.description,
            "createdAt": self.created_at,
            "expiresAt": self.expires_at,
            "revokedAt": self.revoked_at,
        })
    }

    pub fn digest(&self) -> String {
        slipway_domain::canonical::value_digest(&self.declared_content())
    }
}

/// The audit kind under which tokens are logged.
pub const TOKEN_KIND: &str = "Token";

/// Errors from the store. Messages never contain connection strings or secrets.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "{kind} {name} is at revision {actual}, not {expected}: it was changed since you read it (get it again and retry)"
    )]
    StaleRevision {
        kind: String,
        name: String,
        expected: i64,
        actual: i64,
    },
    #[error("{kind} {name} does not exist")]
    NotFound { kind: String, name: String },
    #[error("unsupported database url: use sqlite://PATH or postgres://USER@HOST:PORT/DB")]
    UnsupportedUrl,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the store is inconsistent: {0}")]
    Corrupt(String),
    #[error("migration {version} ({name}) failed: {source}")]
    Migration {
        version: i64,
        name: String,
        source: sqlx::Error,
    },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The store's interface. Implemented by [`SqlStore`] for SQLite and PostgreSQL.
#[async_trait]
pub trait Store: Send + Sync {
    /// Applies a batch atomically: all mutations and their audit entries, or nothing.
    /// With `dry_run` nothing is written and the outcome says what would happen.
    async fn apply(
        &self,
        actor: &Actor,
        batch: Vec<Mutation>,
        dry_run: bool,
    ) -> Result<Vec<Applied>>;
    async fn get(&self, kind: &str, name: &str) -> Result<Option<Resource>>;
    /// Who wrote the resource's current revision (for separation of duties: the person who
    /// triggered a deployment may not approve its change).
    async fn updated_by(&self, kind: &str, name: &str) -> Result<Option<String>>;
    async fn list(&self, kind: &str) -> Result<Vec<Resource>>;
    /// The resources of `kind` whose label `key` is `value`.
    async fn list_labelled(&self, kind: &str, key: &str, value: &str) -> Result<Vec<Resource>> {
        let mut all = self.list(kind).await?;
        all.retain(|r| r.metadata.labels.get(key).map(String::as_str) == Some(value));
        Ok(all)
    }
    /// The resource and who wrote its current revision, read together.
    async fn get_with_writer(&self, kind: &str, name: &str) -> Result<Option<(Resource, String)>>;
    /// Every resource of `kind` with who wrote its current revision (see [`Store::updated_by`]).
    async fn list_with_writers(&self, kind: &str) -> Result<Vec<(Resource, String)>>;
    /// Every kind's write generation. The database itself (a trigger) raises a kind's
    /// generation in the same transaction as any insert, update (status included) or delete of
    /// one of its resources, whichever process or replica wrote it; a kind never written is
    /// absent (generation 0). [`CachedStore`] knows from it what it may keep.
    async fn generations(&self) -> Result<BTreeMap<String, u64>>;
    async fn list_all(&self) -> Result<Vec<Resource>>;
    /// (kind, name) of every resource.
    async fn keys(&self) -> Result<BTreeSet<(String, String)>>;
    /// Writes server-owned status. Status is bookkeeping: not part of the digest, not audited.
    async fn set_status(&self, kind: &str, name: &str, status: &serde_json::Value) -> Result<()>;
    /// Writes several statuses in one transaction (one durable commit for all); for each item,
    /// whether its resource existed.
    async fn set_statuses(
        &self,
        items: &[(String, String, serde_json::Value)],
    ) -> Result<Vec<bool>>;

    async fn create_token(&self, actor: &Actor, token: TokenRecord) -> Result<u64>;
    async fn token(&self, id: &str) -> Result<Option<TokenRecord>>;
    async fn tokens(&self, user: Option<&str>) -> Result<Vec<TokenRecord>>;
    /// Revokes a token; `Ok(false)` when it was already revoked.
    async fn revoke_token(&self, actor: &Actor, id: &str) -> Result<bool>;

    /// Audit entries from `from` (inclusive), at most `limit`, with their recorded leaf hashes.
    async fn audit_entries(&self, from: u64, limit: u64) -> Result<Vec<ExportedEntry>>;
    /// Number of entries and current root.
    async fn audit_head(&self) -> Result<(u64, Hash)>;
    /// Recorded leaf hashes of the first `size` entries, for proofs.
    async fn leaf_hashes(&self, size: u64) -> Result<Vec<Hash>>;
    /// Signs and stores a checkpoint of the current tree unless the latest checkpoint already
    /// covers it. Returns the new checkpoint, if one was written.
    async fn checkpoint(&self, key: &SigningKey) -> Result<Option<SignedCheckpoint>>;
    async fn checkpoints(&self) -> Result<Vec<SignedCheckpoint>>;
    /// Verifies the whole log, its checkpoints and all audited state against `key`.
    async fn verify(&self, key: &VerifyingKey) -> Result<Report>;

    /// Takes or renews the lease `name` for `holder` until `now_ms + ttl_ms`; `true` when
    /// `holder` holds it afterwards. Another holder's lease is taken only once it has expired,
    /// so of several server replicas sharing a database exactly one runs the reconcilers.
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<bool>;
    /// Gives the lease up if `holder` holds it (at shutdown), so another replica takes over at once.
    async fn release_lease(&self, name: &str, holder: &str) -> Result<()>;

    async fn meta(&self, key: &str) -> Result<Option<String>>;
    async fn set_meta(&self, key: &str, value: &str) -> Result<()>;

    /// Queues events for delivery to their sinks (the transactional outbox the event
    /// deliverer drains); each is due at once.
    async fn enqueue_outbox(
        &self,
        items: &[(String, serde_json::Value)],
        now_ms: i64,
    ) -> Result<()>;
    /// Pending items due at `now_ms`, oldest first.
    async fn due_outbox(&self, now_ms: i64, limit: u32) -> Result<Vec<OutboxItem>>;
    /// Records what became of one delivery attempt.
    async fn settle_outbox(&self, id: i64, outcome: &OutboxOutcome) -> Result<()>;
    /// The most recent items in any state, newest first.
    async fn recent_outbox(&self, limit: u32) -> Result<Vec<OutboxItem>>;
}

/// One queued event and its delivery state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxItem {
    pub id: i64,
    pub sink: String,
    pub event: serde_json::Value,
    pub created_ms: i64,
    pub attempts: i64,
    pub next_attempt_ms: i64,
    pub last_error: Option<String>,
    /// `pending`, `delivered` or `failed` (given up).
    pub state: String,
}

/// The result of one delivery attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum OutboxOutcome {
    Delivered,
    /// Failed; try again at the given time.
    RetryAt {
        at_ms: i64,
        error: String,
    },
    /// Failed for the last time.
    GaveUp {
        error: String,
    },
}

/// Formats a timestamp as RFC 3339 UTC with milliseconds.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let now = now
        .replace_nanosecond((now.nanosecond() / 1_000_000) * 1_000_000)
        .unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}
