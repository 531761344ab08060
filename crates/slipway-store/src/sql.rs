//! [`SqlStore`]: the [`Store`] over SQLite or PostgreSQL through sqlx's `Any` driver.
//!
//! Both backends run the same statements (`$n` placeholders work in both). Writers are
//! serialised on the single `audit_head` row: every write transaction starts by updating it,
//! which takes SQLite's write lock or PostgreSQL's row lock, so audit sequence numbers are
//! contiguous and the Merkle frontier is never forked, even with several server replicas.

use crate::migrate::{self, Backend};
use crate::{
    Actor, Applied, AppliedAction, Mutation, OutboxItem, OutboxOutcome, Result, Store, StoreError,
    TOKEN_KIND, TokenRecord, now_rfc3339,
};
use async_trait::async_trait;
use ed25519_dalek::{SigningKey, VerifyingKey};
use futures_util::TryStreamExt;
use slipway_domain::audit::entry::AuditEntryRef;
use slipway_domain::audit::proof_bundle::ExportedEntry;
use slipway_domain::audit::verify::{HashedEntry, LogVerifier, Report, StateRow};
use slipway_domain::audit::{AuditEntry, Checkpoint, Frontier, Hash, SignedCheckpoint};
use slipway_domain::canonical::{to_canonical_json, value_digest};
use slipway_domain::resource::{Metadata, Resource};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Executor, Row, Transaction};
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::sync::Once;
use std::time::Duration;

/// The SQL-backed store.
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
    /// Serialises this process's writers so they queue here instead of spinning on SQLite's
    /// busy handler; other processes and replicas are serialised by the `audit_head` lock.
    write_lock: tokio::sync::Mutex<()>,
    /// The SQLite file, for the bulk read of [`Store::verify`].
    sqlite_path: Option<std::path::PathBuf>,
}

static DRIVERS: Once = Once::new();

impl SqlStore {
    /// Opens (creating if needed) the database at `url` and runs pending migrations.
    /// `sqlite://PATH` (created when missing) or `postgres://…`.
    pub async fn open(url: &str) -> Result<Self> {
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        let url = match backend {
            Backend::Sqlite if !url.contains('?') => format!("{url}?mode=rwc"),
            _ => url.to_string(),
        };
        let options =
            sqlx::any::AnyConnectOptions::from_str(&url).map_err(|_| StoreError::UnsupportedUrl)?;
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 4,
                Backend::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        conn.execute("PRAGMA cache_size = -65536").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        migrate::run(&pool, backend).await?;
        let sqlite_path = (backend == Backend::Sqlite).then(|| {
            let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
            std::path::PathBuf::from(rest.split('?').next().unwrap_or(rest))
        });
        Ok(SqlStore {
            pool,
            backend,
            write_lock: tokio::sync::Mutex::new(()),
            sqlite_path,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// On SQLite, one writer at a time within this process. The database takes one writer at
    /// a time anyway, but a writer finding it taken sleeps in SQLite's busy handler (1, 2, 5,
    /// 10… ms steps, holding a pooled connection) rather than being handed the lock the moment
    /// it is free: under a burst of writes (statuses, decision records, leases) those sleeps
    /// were most of the latency. PostgreSQL writers touching different rows run concurrently.
    async fn sqlite_writer(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.backend {
            Backend::Sqlite => Some(self.write_lock.lock().await),
            Backend::Postgres => None,
        }
    }

    /// Starts a write transaction holding the log head; returns it with the current frontier.
    async fn begin_write(&self) -> Result<(Transaction<'static, Any>, LogAppender)> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE audit_head SET size = size WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query("SELECT size, frontier FROM audit_head WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?;
        let size: i64 = row.try_get("size")?;
        let bytes: Vec<u8> = row.try_get("frontier")?;
        let frontier = Frontier::from_bytes(&bytes)
            .filter(|f| i64::try_from(f.size()).ok() == Some(size))
            .ok_or_else(|| {
                StoreError::Corrupt(format!("the audit head (size {size}) is unreadable"))
            })?;
        Ok((
            tx,
            LogAppender {
                frontier,
                pending: Vec::new(),
            },
        ))
    }
}

/// The audit entries a write transaction appends: computed and hashed as the transaction goes,
/// inserted together (a few multi-row statements) just before commit, with the new head.
struct LogAppender {
    frontier: Frontier,
    pending: Vec<(AuditEntry, Hash)>,
}

/// Rows per multi-row INSERT: 11 parameters each, well under every backend's limit.
const ENTRIES_PER_INSERT: usize = 64;

impl LogAppender {
    fn append(&mut self, actor: &Actor, timestamp: &str, change: Change<'_>) -> u64 {
        let entry = AuditEntry {
            seq: self.frontier.size(),
            timestamp: timestamp.to_string(),
            actor: actor.user.clone(),
            action: change.action.to_string(),
            kind: change.kind.to_string(),
            name: change.name.to_string(),
            revision: change.revision,
            digest: change.digest.to_string(),
            request_id: actor.request_id.clone(),
            change_ref: actor.change_ref.clone(),
        };
        let leaf = entry.leaf_hash();
        self.frontier.push(leaf);
        let seq = entry.seq;
        self.pending.push((entry, leaf));
        seq
    }

    /// Inserts the pending entries and moves the head, inside `tx`.
    async fn flush(self, tx: &mut Transaction<'static, Any>) -> Result<()> {
        for chunk in self.pending.chunks(ENTRIES_PER_INSERT) {
            let mut sql = String::from(
                "INSERT INTO audit_entries (seq, ts, actor, action, kind, name, revision, digest, request_id, change_ref, leaf_hash) VALUES ",
            );
            for i in 0..chunk.len() {
                let p = i * 11;
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!(
                    "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                    p + 1,
                    p + 2,
                    p + 3,
                    p + 4,
                    p + 5,
                    p + 6,
                    p + 7,
                    p + 8,
                    p + 9,
                    p + 10,
                    p + 11
                ));
            }
            // The statement is built from placeholders only; every value is bound.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (entry, leaf) in chunk {
                query = query
                    .bind(to_i64(entry.seq)?)
                    .bind(entry.timestamp.clone())
                    .bind(entry.actor.clone())
                    .bind(entry.action.clone())
                    .bind(entry.kind.clone())
                    .bind(entry.name.clone())
                    .bind(entry.revision)
                    .bind(entry.digest.clone())
                    .bind(entry.request_id.clone())
                    .bind(entry.change_ref.clone())
                    .bind(leaf.to_vec());
            }
            query.execute(&mut **tx).await?;
        }
        sqlx::query("UPDATE audit_head SET size = $1, frontier = $2 WHERE id = 1")
            .bind(to_i64(self.frontier.size())?)
            .bind(self.frontier.to_bytes())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

/// (kind, name).
type Key = (String, String);

/// A resource row as a write transaction sees it.
#[derive(Debug, Clone)]
struct Current {
    revision: i64,
    content: String,
    digest: String,
}

/// Keys per multi-row statement.
const KEYS_PER_STATEMENT: usize = 64;

fn mutation_key(m: &Mutation) -> Key {
    match m {
        Mutation::Put(r) => (r.kind.clone(), r.metadata.name.clone()),
        Mutation::Delete { kind, name, .. } => (kind.clone(), name.clone()),
    }
}

/// `(kind = $1 AND name = $2) OR (kind = $3 AND name = $4) …` for `n` keys.
fn key_conditions(n: usize) -> String {
    (0..n)
        .map(|i| format!("(kind = ${} AND name = ${})", 2 * i + 1, 2 * i + 2))
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// Reads the current rows of `keys` in a few statements; absent keys map to `None`.
async fn read_current(
    tx: &mut Transaction<'static, Any>,
    keys: &BTreeSet<Key>,
) -> Result<std::collections::HashMap<Key, Option<Current>>> {
    let mut out: std::collections::HashMap<Key, Option<Current>> =
        keys.iter().map(|k| (k.clone(), None)).collect();
    let keys: Vec<&Key> = keys.iter().collect();
    for chunk in keys.chunks(KEYS_PER_STATEMENT) {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT kind, name, revision, content, digest FROM resources WHERE {}",
            key_conditions(chunk.len())
        )));
        for (kind, name) in chunk {
            query = query.bind(kind.clone()).bind(name.clone());
        }
        for row in query.fetch_all(&mut **tx).await? {
            let key: Key = (row.try_get(0)?, row.try_get(1)?);
            out.insert(
                key,
                Some(Current {
                    revision: row.try_get(2)?,
                    content: row.try_get(3)?,
                    digest: row.try_get(4)?,
                }),
            );
        }
    }
    Ok(out)
}

/// What one audit entry records about the object it changed.
struct Change<'a> {
    action: &'a str,
    kind: &'a str,
    name: &'a str,
    revision: i64,
    digest: &'a str,
}

fn to_i64(n: u64) -> Result<i64> {
    i64::try_from(n).map_err(|_| StoreError::Corrupt(format!("{n} does not fit a 64-bit column")))
}

fn resource_from_row(row: &AnyRow) -> Result<Resource> {
    let kind: String = row.try_get("kind")?;
    let name: String = row.try_get("name")?;
    let content: String = row.try_get("content")?;
    let status: Option<String> = row.try_get("status")?;
    let corrupt = |what: &str| StoreError::Corrupt(format!("{kind} {name}: {what}"));
    let mut resource: Resource = serde_json::from_str(&content)
        .map_err(|e| corrupt(&format!("stored content is not a resource: {e}")))?;
    resource.metadata = Metadata {
        revision: Some(row.try_get("revision")?),
        created_at: Some(row.try_get("created_at")?),
        updated_at: Some(row.try_get("updated_at")?),
        ..resource.metadata
    };
    resource.status = match status {
        Some(s) => Some(
            serde_json::from_str(&s)
                .map_err(|e| corrupt(&format!("stored status is not JSON: {e}")))?,
        ),
        None => None,
    };
    Ok(resource)
}

fn token_from_row(row: &AnyRow) -> Result<TokenRecord> {
    Ok(TokenRecord {
        id: row.try_get("id")?,
        user: row.try_get("user_name")?,
        secret_hash: row.try_get("secret_hash")?,
        description: row.try_get("description")?,
        revision: row.try_get("revision")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

fn entry_from_row(row: &AnyRow) -> Result<ExportedEntry> {
    let seq: i64 = row.try_get("seq")?;
    let leaf: Vec<u8> = row.try_get("leaf_hash")?;
    Ok(ExportedEntry {
        leaf_hash: hex::encode(leaf),
        entry: AuditEntry {
            seq: u64::try_from(seq)
                .map_err(|_| StoreError::Corrupt(format!("negative audit seq {seq}")))?,
            timestamp: row.try_get("ts")?,
            actor: row.try_get("actor")?,
            action: row.try_get("action")?,
            kind: row.try_get("kind")?,
            name: row.try_get("name")?,
            revision: row.try_get("revision")?,
            digest: row.try_get("digest")?,
            request_id: row.try_get("request_id")?,
            change_ref: row.try_get("change_ref")?,
        },
    })
}

// Column lists as macros so statements stay `&'static str` (sqlx refuses run-time SQL strings).
macro_rules! resource_columns {
    () => {
        "kind, name, revision, content, status, created_at, updated_at"
    };
}
macro_rules! token_columns {
    () => {
        "id, user_name, secret_hash, description, revision, created_at, expires_at, revoked_at"
    };
}
macro_rules! entry_columns {
    () => {
        "seq, ts, actor, action, kind, name, revision, digest, request_id, change_ref, leaf_hash"
    };
}

#[async_trait]
impl Store for SqlStore {
    async fn apply(
        &self,
        actor: &Actor,
        batch: Vec<Mutation>,
        dry_run: bool,
    ) -> Result<Vec<Applied>> {
        let _guard = self.write_lock.lock().await;
        let (mut tx, mut log) = self.begin_write().await?;
        let now = now_rfc3339();
        let keys: BTreeSet<Key> = batch.iter().map(mutation_key).collect();
        let mut state = read_current(&mut tx, &keys).await?;
        let mut deleted: BTreeSet<Key> = BTreeSet::new();
        let mut dirty: BTreeSet<Key> = BTreeSet::new();
        let mut out = Vec::with_capacity(batch.len());
        for mutation in batch {
            let key = mutation_key(&mutation);
            let (kind, name) = key.clone();
            let current = state.get(&key).cloned().flatten();
            let before = match &current {
                Some(c) => Some(serde_json::from_str(&c.content).map_err(|e| {
                    StoreError::Corrupt(format!("{kind} {name}: stored content is not JSON: {e}"))
                })?),
                None => None,
            };
            let expected = match &mutation {
                Mutation::Put(r) => r.metadata.revision,
                Mutation::Delete {
                    expected_revision, ..
                } => *expected_revision,
            };
            if let Some(expected) = expected {
                let actual = current.as_ref().map(|c| c.revision).unwrap_or(0);
                if expected != actual {
                    return Err(StoreError::StaleRevision {
                        kind,
                        name,
                        expected,
                        actual,
                    });
                }
            }
            let (action, revision, digest) = match mutation {
                Mutation::Put(resource) => {
                    let content = resource.declared_content();
                    let digest = value_digest(&content);
                    let (action, revision) = match &current {
                        Some(c) if c.digest == digest => (AppliedAction::Unchanged, c.revision),
                        Some(c) => (AppliedAction::Updated, c.revision + 1),
                        None => (AppliedAction::Created, 1),
                    };
                    if action != AppliedAction::Unchanged {
                        let content = to_canonical_json(&content);
                        state.insert(
                            key.clone(),
                            Some(Current {
                                revision,
                                content,
                                digest: digest.clone(),
                            }),
                        );
                        dirty.insert(key.clone());
                    }
                    (action, revision, digest)
                }
                Mutation::Delete { .. } => {
                    let Some(c) = current else {
                        return Err(StoreError::NotFound { kind, name });
                    };
                    state.insert(key.clone(), None);
                    deleted.insert(key.clone());
                    dirty.insert(key.clone());
                    (AppliedAction::Deleted, c.revision, String::new())
                }
            };
            let audit_seq = match action {
                AppliedAction::Unchanged => None,
                _ if dry_run => None,
                _ => {
                    let verb = match action {
                        AppliedAction::Created => "create",
                        AppliedAction::Deleted => "delete",
                        _ => "update",
                    };
                    let change = Change {
                        action: verb,
                        kind: &kind,
                        name: &name,
                        revision,
                        digest: &digest,
                    };
                    Some(log.append(actor, &now, change))
                }
            };
            out.push(Applied {
                kind,
                name,
                action,
                revision,
                before,
                audit_seq,
            });
        }
        if dry_run {
            tx.rollback().await?;
            return Ok(out);
        }
        // Write the final state of every key the batch changed: deletions first (so a name
        // deleted and created again in one batch gets a fresh row), then upserts.
        let deletions: Vec<&Key> = deleted.iter().collect();
        for chunk in deletions.chunks(KEYS_PER_STATEMENT) {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM resources WHERE {}",
                key_conditions(chunk.len())
            )));
            for (kind, name) in chunk {
                query = query.bind(kind.clone()).bind(name.clone());
            }
            query.execute(&mut *tx).await?;
        }
        let upserts: Vec<(&Key, &Current)> = dirty
            .iter()
            .filter_map(|k| state.get(k).and_then(|c| c.as_ref()).map(|c| (k, c)))
            .collect();
        for chunk in upserts.chunks(KEYS_PER_STATEMENT) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let p = i * 7;
                    format!(
                        "(${}, ${}, ${}, ${}, ${}, NULL, ${}, ${}, ${}, ${})",
                        p + 1,
                        p + 2,
                        p + 3,
                        p + 4,
                        p + 5,
                        p + 6,
                        p + 6,
                        p + 7,
                        p + 7
                    )
                })
                .collect();
            // Built from placeholders only; every value is bound.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO resources (kind, name, revision, content, digest, status, created_at, updated_at, created_by, updated_by) VALUES {} \
                 ON CONFLICT (kind, name) DO UPDATE SET revision = excluded.revision, content = excluded.content, \
                 digest = excluded.digest, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                rows.join(", ")
            )));
            for ((kind, name), c) in chunk {
                query = query
                    .bind(kind.clone())
                    .bind(name.clone())
                    .bind(c.revision)
                    .bind(c.content.clone())
                    .bind(c.digest.clone())
                    .bind(now.clone())
                    .bind(actor.user.clone());
            }
            query.execute(&mut *tx).await?;
        }
        log.flush(&mut tx).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn get(&self, kind: &str, name: &str) -> Result<Option<Resource>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            resource_columns!(),
            " FROM resources WHERE kind = $1 AND name = $2"
        ))
        .bind(kind)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(resource_from_row).transpose()
    }

    async fn updated_by(&self, kind: &str, name: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT updated_by FROM resources WHERE kind = $1 AND name = $2")
                .bind(kind)
                .bind(name)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn list(&self, kind: &str) -> Result<Vec<Resource>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            resource_columns!(),
            " FROM resources WHERE kind = $1 ORDER BY name"
        ))
        .bind(kind)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(resource_from_row).collect()
    }

    async fn get_with_writer(&self, kind: &str, name: &str) -> Result<Option<(Resource, String)>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            resource_columns!(),
            ", updated_by FROM resources WHERE kind = $1 AND name = $2"
        ))
        .bind(kind)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| Ok((resource_from_row(&row)?, row.try_get("updated_by")?)))
            .transpose()
    }

    async fn list_with_writers(&self, kind: &str) -> Result<Vec<(Resource, String)>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            resource_columns!(),
            ", updated_by FROM resources WHERE kind = $1 ORDER BY name"
        ))
        .bind(kind)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((resource_from_row(row)?, row.try_get("updated_by")?)))
            .collect()
    }

    async fn generations(&self) -> Result<BTreeMap<String, u64>> {
        let rows = sqlx::query("SELECT kind, generation FROM resource_generations")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let generation: i64 = row.try_get("generation")?;
                Ok((
                    row.try_get("kind")?,
                    u64::try_from(generation).unwrap_or_default(),
                ))
            })
            .collect()
    }

    async fn list_all(&self) -> Result<Vec<Resource>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            resource_columns!(),
            " FROM resources ORDER BY kind, name"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(resource_from_row).collect()
    }

    async fn keys(&self) -> Result<BTreeSet<(String, String)>> {
        let rows = sqlx::query("SELECT kind, name FROM resources")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    async fn set_status(&self, kind: &str, name: &str, status: &serde_json::Value) -> Result<()> {
        let _writer = self.sqlite_writer().await;
        let done = sqlx::query("UPDATE resources SET status = $3 WHERE kind = $1 AND name = $2")
            .bind(kind)
            .bind(name)
            .bind(status.to_string())
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                kind: kind.into(),
                name: name.into(),
            });
        }
        Ok(())
    }

    async fn set_statuses(
        &self,
        items: &[(String, String, serde_json::Value)],
    ) -> Result<Vec<bool>> {
        let _writer = self.sqlite_writer().await;
        let mut tx = self.pool.begin().await?;
        let mut found = Vec::with_capacity(items.len());
        for (kind, name, status) in items {
            let done =
                sqlx::query("UPDATE resources SET status = $3 WHERE kind = $1 AND name = $2")
                    .bind(kind)
                    .bind(name)
                    .bind(status.to_string())
                    .execute(&mut *tx)
                    .await?;
            found.push(done.rows_affected() == 1);
        }
        tx.commit().await?;
        Ok(found)
    }

    async fn create_token(&self, actor: &Actor, token: TokenRecord) -> Result<u64> {
        let _guard = self.write_lock.lock().await;
        let (mut tx, mut log) = self.begin_write().await?;
        sqlx::query(concat!(
            "INSERT INTO tokens (",
            token_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(&token.id)
        .bind(&token.user)
        .bind(&token.secret_hash)
        .bind(&token.description)
        .bind(token.revision)
        .bind(&token.created_at)
        .bind(token.expires_at.as_deref())
        .bind(token.revoked_at.as_deref())
        .execute(&mut *tx)
        .await?;
        let now = now_rfc3339();
        let seq = log.append(
            actor,
            &now,
            Change {
                action: "create",
                kind: TOKEN_KIND,
                name: &token.id,
                revision: token.revision,
                digest: &token.digest(),
            },
        );
        log.flush(&mut tx).await?;
        tx.commit().await?;
        Ok(seq)
    }

    async fn token(&self, id: &str) -> Result<Option<TokenRecord>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            token_columns!(),
            " FROM tokens WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    async fn tokens(&self, user: Option<&str>) -> Result<Vec<TokenRecord>> {
        let rows = match user {
            Some(u) => {
                sqlx::query(concat!(
                    "SELECT ",
                    token_columns!(),
                    " FROM tokens WHERE user_name = $1 ORDER BY created_at, id"
                ))
                .bind(u)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(concat!(
                    "SELECT ",
                    token_columns!(),
                    " FROM tokens ORDER BY created_at, id"
                ))
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(token_from_row).collect()
    }

    async fn revoke_token(&self, actor: &Actor, id: &str) -> Result<bool> {
        let _guard = self.write_lock.lock().await;
        let (mut tx, mut log) = self.begin_write().await?;
        let row = sqlx::query(concat!(
            "SELECT ",
            token_columns!(),
            " FROM tokens WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Err(StoreError::NotFound {
                kind: TOKEN_KIND.into(),
                name: id.into(),
            });
        };
        let mut token = token_from_row(&row)?;
        if token.revoked_at.is_some() {
            return Ok(false);
        }
        let now = now_rfc3339();
        token.revoked_at = Some(now.clone());
        token.revision += 1;
        sqlx::query("UPDATE tokens SET revoked_at = $2, revision = $3 WHERE id = $1")
            .bind(id)
            .bind(&now)
            .bind(token.revision)
            .execute(&mut *tx)
            .await?;
        log.append(
            actor,
            &now,
            Change {
                action: "revoke",
                kind: TOKEN_KIND,
                name: id,
                revision: token.revision,
                digest: &token.digest(),
            },
        );
        log.flush(&mut tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn audit_entries(&self, from: u64, limit: u64) -> Result<Vec<ExportedEntry>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            entry_columns!(),
            " FROM audit_entries WHERE seq >= $1 ORDER BY seq LIMIT $2"
        ))
        .bind(to_i64(from)?)
        .bind(to_i64(limit)?)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(entry_from_row).collect()
    }

    async fn audit_head(&self) -> Result<(u64, Hash)> {
        let row = sqlx::query("SELECT frontier FROM audit_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        let bytes: Vec<u8> = row.try_get(0)?;
        let f = Frontier::from_bytes(&bytes)
            .ok_or_else(|| StoreError::Corrupt("the audit head is unreadable".into()))?;
        Ok((f.size(), f.root()))
    }

    async fn leaf_hashes(&self, size: u64) -> Result<Vec<Hash>> {
        let mut rows =
            sqlx::query("SELECT seq, leaf_hash FROM audit_entries WHERE seq < $1 ORDER BY seq")
                .bind(to_i64(size)?)
                .fetch(&self.pool);
        let mut out = Vec::new();
        while let Some(row) = rows.try_next().await? {
            let seq: i64 = row.try_get(0)?;
            let bytes: Vec<u8> = row.try_get(1)?;
            if seq != out.len() as i64 {
                return Err(StoreError::Corrupt(format!(
                    "audit entry #{} is missing",
                    out.len()
                )));
            }
            out.push(bytes.try_into().map_err(|_| {
                StoreError::Corrupt(format!("audit entry #{seq} has a bad leaf hash"))
            })?);
        }
        Ok(out)
    }

    async fn checkpoint(&self, key: &SigningKey) -> Result<Option<SignedCheckpoint>> {
        let (size, root) = self.audit_head().await?;
        let latest: Option<i64> = sqlx::query_scalar("SELECT MAX(size) FROM audit_checkpoints")
            .fetch_one(&self.pool)
            .await?;
        if size == 0 || latest.is_some_and(|l| l >= to_i64(size).unwrap_or(i64::MAX)) {
            return Ok(None);
        }
        let signed = Checkpoint::new(size, &root, now_rfc3339()).sign(key);
        let _writer = self.sqlite_writer().await;
        let inserted = sqlx::query(
            "INSERT INTO audit_checkpoints (size, root, ts, key_id, signature) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (size) DO NOTHING",
        )
        .bind(to_i64(size)?)
        .bind(&signed.checkpoint.root)
        .bind(&signed.checkpoint.timestamp)
        .bind(&signed.key_id)
        .bind(&signed.signature)
        .execute(&self.pool)
        .await?;
        Ok((inserted.rows_affected() == 1).then_some(signed))
    }

    async fn checkpoints(&self) -> Result<Vec<SignedCheckpoint>> {
        let rows = sqlx::query(
            "SELECT size, root, ts, key_id, signature FROM audit_checkpoints ORDER BY size",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let size: i64 = r.try_get(0)?;
                Ok(SignedCheckpoint {
                    checkpoint: Checkpoint {
                        size: u64::try_from(size)
                            .map_err(|_| StoreError::Corrupt(format!("checkpoint size {size}")))?,
                        root: r.try_get(1)?,
                        timestamp: r.try_get(2)?,
                    },
                    key_id: r.try_get(3)?,
                    signature: r.try_get(4)?,
                })
            })
            .collect()
    }

    async fn verify(&self, key: &VerifyingKey) -> Result<Report> {
        // No write of this process may land between reading the log and reading the state
        // (a live server verifying itself); offline verification has no writers anyway.
        let _quiet = self.write_lock.lock().await;
        let verifier = LogVerifier::new(*key, self.checkpoints().await?);
        let verifier = match &self.sqlite_path {
            Some(path) => {
                let path = path.clone();
                tokio::task::spawn_blocking(move || sqlite_log_pass(&path, verifier))
                    .await
                    .map_err(|e| {
                        StoreError::Corrupt(format!("the verification task failed: {e}"))
                    })??
            }
            None => {
                let mut verifier = verifier;
                let mut rows = sqlx::query(concat!(
                    "SELECT ",
                    entry_columns!(),
                    " FROM audit_entries ORDER BY seq"
                ))
                .fetch(&self.pool);
                while let Some(row) = rows.try_next().await? {
                    let e = entry_from_row(&row)?;
                    let recorded: Option<Hash> = hex::decode(&e.leaf_hash)
                        .ok()
                        .and_then(|b| b.try_into().ok());
                    verifier.push_entry(&e.entry, recorded.as_ref());
                }
                verifier
            }
        };
        let head: i64 = sqlx::query_scalar("SELECT size FROM audit_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        let mut state = Vec::new();
        for row in sqlx::query("SELECT kind, name, revision, content FROM resources")
            .fetch_all(&self.pool)
            .await?
        {
            let content: String = row.try_get(3)?;
            // Recompute from the content itself; the digest column is not trusted.
            let digest = match serde_json::from_str::<serde_json::Value>(&content) {
                Ok(v) => value_digest(&v),
                Err(_) => format!("unreadable content ({} bytes)", content.len()),
            };
            state.push(StateRow {
                kind: row.try_get(0)?,
                name: row.try_get(1)?,
                revision: row.try_get(2)?,
                digest,
            });
        }
        for token in self.tokens(None).await? {
            state.push(StateRow {
                kind: TOKEN_KIND.into(),
                name: token.id.clone(),
                revision: token.revision,
                digest: token.digest(),
            });
        }
        Ok(verifier.finish(u64::try_from(head).ok(), Some(state)))
    }

    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<bool> {
        // One statement: insert, or take over when we hold it or it has expired.
        let _writer = self.sqlite_writer().await;
        let done = sqlx::query(
            "INSERT INTO leases (name, holder, expires_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms \
             WHERE leases.holder = excluded.holder OR leases.expires_ms < $4",
        )
        .bind(name)
        .bind(holder)
        .bind(now_ms.saturating_add(ttl_ms))
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        let _writer = self.sqlite_writer().await;
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn enqueue_outbox(
        &self,
        items: &[(String, serde_json::Value)],
        now_ms: i64,
    ) -> Result<()> {
        let _writer = self.sqlite_writer().await;
        let mut tx = self.pool.begin().await?;
        for (sink, event) in items {
            sqlx::query(
                "INSERT INTO outbox (sink, event, created_ms, attempts, next_attempt_ms, state) \
                 VALUES ($1, $2, $3, 0, $3, 'pending')",
            )
            .bind(sink.as_str())
            .bind(event.to_string())
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn due_outbox(&self, now_ms: i64, limit: u32) -> Result<Vec<OutboxItem>> {
        let rows = sqlx::query(
            "SELECT id, sink, event, created_ms, attempts, next_attempt_ms, last_error, state \
             FROM outbox WHERE state = 'pending' AND next_attempt_ms <= $1 ORDER BY id LIMIT $2",
        )
        .bind(now_ms)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(outbox_item).collect()
    }

    async fn settle_outbox(&self, id: i64, outcome: &OutboxOutcome) -> Result<()> {
        let (state, next, error) = match outcome {
            OutboxOutcome::Delivered => ("delivered", None, None),
            OutboxOutcome::RetryAt { at_ms, error } => ("pending", Some(*at_ms), Some(error)),
            OutboxOutcome::GaveUp { error } => ("failed", None, Some(error)),
        };
        let _writer = self.sqlite_writer().await;
        sqlx::query(
            "UPDATE outbox SET state = $1, attempts = attempts + 1, \
             next_attempt_ms = COALESCE($2, next_attempt_ms), last_error = $3 WHERE id = $4",
        )
        .bind(state)
        .bind(next)
        .bind(error.map(String::as_str))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn recent_outbox(&self, limit: u32) -> Result<Vec<OutboxItem>> {
        let rows = sqlx::query(
            "SELECT id, sink, event, created_ms, attempts, next_attempt_ms, last_error, state \
             FROM outbox ORDER BY id DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(outbox_item).collect()
    }

    async fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        let _writer = self.sqlite_writer().await;
        sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Feeds every audit entry of the SQLite file at `path` to `verifier`. SQLite's own driver reads
/// rows several times faster than sqlx's worker thread, which matters for million-entry logs.
/// The log is split into as many `seq` ranges as there are cores; each range is read and hashed
/// on its own thread (no copies of the row's text but what verification keeps), and the hashed
/// entries are fed to the verifier in order.
fn sqlite_log_pass(path: &std::path::Path, mut verifier: LogVerifier) -> Result<LogVerifier> {
    let db = |e: rusqlite::Error| StoreError::Corrupt(format!("{}: {e}", path.display()));
    let open = || {
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(db)
    };
    let (low, high): (Option<i64>, Option<i64>) = open()?
        .query_row("SELECT MIN(seq), MAX(seq) FROM audit_entries", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .map_err(db)?;
    let (Some(low), Some(high)) = (low, high) else {
        return Ok(verifier);
    };
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8) as i64;
    let threads = if high - low < 4096 { 1 } else { threads };
    let span = (high - low) / threads + 1;
    let parts: Vec<Result<Vec<HashedEntry>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let (from, to) = (low + i * span, (low + (i + 1) * span).min(high + 1));
                scope.spawn(move || hash_range(path, from, to))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(StoreError::Corrupt(
                        "an audit reader thread panicked".into(),
                    ))
                })
            })
            .collect()
    });
    for part in parts {
        for entry in &part? {
            verifier.push_hashed(entry);
        }
    }
    Ok(verifier)
}

/// Reads and hashes the entries with `from <= seq < to`.
fn hash_range(path: &std::path::Path, from: i64, to: i64) -> Result<Vec<HashedEntry>> {
    let db = |e: rusqlite::Error| StoreError::Corrupt(format!("{}: {e}", path.display()));
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(db)?;
    let mut stmt = conn
        .prepare(concat!(
            "SELECT ",
            entry_columns!(),
            " FROM audit_entries WHERE seq >= ?1 AND seq < ?2 ORDER BY seq"
        ))
        .map_err(db)?;
    let mut rows = stmt.query([from, to]).map_err(db)?;
    let mut out = Vec::with_capacity(usize::try_from(to - from).unwrap_or(0));
    let mut buffer = Vec::with_capacity(512);
    while let Some(row) = rows.next().map_err(db)? {
        let seq: i64 = row.get(0).map_err(db)?;
        let text = |i: usize| -> Result<&str> {
            row.get_ref(i)
                .map_err(db)?
                .as_str()
                .map_err(|e| StoreError::Corrupt(format!("audit entry #{seq} column {i}: {e}")))
        };
        let change_ref =
            match row.get_ref(9).map_err(db)? {
                rusqlite::types::ValueRef::Null => None,
                v => Some(v.as_str().map_err(|e| {
                    StoreError::Corrupt(format!("audit entry #{seq} change_ref: {e}"))
                })?),
            };
        let entry = AuditEntryRef {
            seq: u64::try_from(seq)
                .map_err(|_| StoreError::Corrupt(format!("negative audit seq {seq}")))?,
            timestamp: text(1)?,
            actor: text(2)?,
            action: text(3)?,
            kind: text(4)?,
            name: text(5)?,
            revision: row.get(6).map_err(db)?,
            digest: text(7)?,
            request_id: text(8)?,
            change_ref,
        };
        let recorded: Option<Hash> = row
            .get_ref(10)
            .map_err(db)?
            .as_blob()
            .ok()
            .and_then(|b| b.try_into().ok());
        out.push(HashedEntry::new(entry, recorded, &mut buffer));
    }
    Ok(out)
}

/// An outbox row; an unreadable event is reported as corruption, not skipped.
fn outbox_item(row: &sqlx::any::AnyRow) -> Result<OutboxItem> {
    let event: String = row.try_get("event")?;
    let id: i64 = row.try_get("id")?;
    Ok(OutboxItem {
        id,
        sink: row.try_get("sink")?,
        event: serde_json::from_str(&event).map_err(|e| {
            StoreError::Corrupt(format!("outbox item {id} holds invalid JSON: {e}"))
        })?,
        created_ms: row.try_get("created_ms")?,
        attempts: i64::from(row.try_get::<i32, _>("attempts")?),
        next_attempt_ms: row.try_get("next_attempt_ms")?,
        last_error: row.try_get("last_error")?,
        state: row.try_get("state")?,
    })
}
