//! [`SqlStore`]: the [`Store`] over SQLite or PostgreSQL through sqlx's `Any` driver.
//!
//! Both backends run the same statements (`$n` placeholders work in both). Writers are
//! serialised on the single `audit_head` row: every write transaction starts by updating it,
//! which takes SQLite's write lock or PostgreSQL's row lock, so audit sequence numbers are
//! contiguous and the Merkle frontier is never forked, even with several server replicas.

use crate::migrate::{self, Backend};
use crate::{
    Actor, Applied, AppliedAction, EntryParts, Mutation, Result, Store, StoreError, TOKEN_KIND,
    TokenRecord, entry_from_parts, now_rfc3339,
};
use async_trait::async_trait;
use ed25519_dalek::{SigningKey, VerifyingKey};
use futures_util::TryStreamExt;
use slipway_domain::audit::proof_bundle::ExportedEntry;
use slipway_domain::audit::verify::{LogVerifier, Report, StateRow};
use slipway_domain::audit::{AuditEntry, Checkpoint, Frontier, Hash, SignedCheckpoint};
use slipway_domain::canonical::{to_canonical_json, value_digest};
use slipway_domain::resource::{Metadata, Resource};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Executor, Row, Transaction};
use std::collections::BTreeSet;
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

    /// Starts a write transaction holding the log head; returns it with the current frontier.
    async fn begin_write(&self) -> Result<(Transaction<'static, Any>, Frontier)> {
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
        Ok((tx, frontier))
    }

    async fn finish_write(tx: &mut Transaction<'static, Any>, frontier: &Frontier) -> Result<()> {
        sqlx::query("UPDATE audit_head SET size = $1, frontier = $2 WHERE id = 1")
            .bind(to_i64(frontier.size())?)
            .bind(frontier.to_bytes())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Appends one entry to the log inside `tx` and advances `frontier`.
    async fn append(
        tx: &mut Transaction<'static, Any>,
        frontier: &mut Frontier,
        actor: &Actor,
        timestamp: &str,
        change: Change<'_>,
    ) -> Result<u64> {
        let entry = AuditEntry {
            seq: frontier.size(),
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
        sqlx::query(
            "INSERT INTO audit_entries (seq, ts, actor, action, kind, name, revision, digest, request_id, change_ref, leaf_hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(to_i64(entry.seq)?)
        .bind(&entry.timestamp)
        .bind(&entry.actor)
        .bind(&entry.action)
        .bind(&entry.kind)
        .bind(&entry.name)
        .bind(entry.revision)
        .bind(&entry.digest)
        .bind(&entry.request_id)
        .bind(entry.change_ref.as_deref())
        .bind(leaf.to_vec())
        .execute(&mut **tx)
        .await?;
        frontier.push(leaf);
        Ok(entry.seq)
    }
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
    entry_from_parts(EntryParts {
        seq: row.try_get("seq")?,
        ts: row.try_get("ts")?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        kind: row.try_get("kind")?,
        name: row.try_get("name")?,
        revision: row.try_get("revision")?,
        digest: row.try_get("digest")?,
        request_id: row.try_get("request_id")?,
        change_ref: row.try_get("change_ref")?,
        leaf_hash: row.try_get("leaf_hash")?,
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
        let (mut tx, mut frontier) = self.begin_write().await?;
        let now = now_rfc3339();
        let mut out = Vec::with_capacity(batch.len());
        for mutation in batch {
            let (kind, name) = match &mutation {
                Mutation::Put(r) => (r.kind.clone(), r.metadata.name.clone()),
                Mutation::Delete { kind, name, .. } => (kind.clone(), name.clone()),
            };
            let current = sqlx::query(
                "SELECT revision, content, digest FROM resources WHERE kind = $1 AND name = $2",
            )
            .bind(&kind)
            .bind(&name)
            .fetch_optional(&mut *tx)
            .await?;
            let current: Option<(i64, String, String)> = match current {
                Some(row) => Some((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)),
                None => None,
            };
            let before = match &current {
                Some((_, content, _)) => Some(serde_json::from_str(content).map_err(|e| {
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
                let actual = current.as_ref().map(|c| c.0).unwrap_or(0);
                if expected != actual {
                    return Err(StoreError::StaleRevision {
                        kind,
                        name,
                        expected,
                        actual,
                    });
                }
            }
            match mutation {
                Mutation::Put(resource) => {
                    let content = resource.declared_content();
                    let digest = value_digest(&content);
                    let content = to_canonical_json(&content);
                    let (action, revision) = match &current {
                        Some((rev, _, old_digest)) if *old_digest == digest => {
                            (AppliedAction::Unchanged, *rev)
                        }
                        Some((rev, _, _)) => (AppliedAction::Updated, rev + 1),
                        None => (AppliedAction::Created, 1),
                    };
                    let mut audit_seq = None;
                    if action != AppliedAction::Unchanged && !dry_run {
                        if current.is_some() {
                            sqlx::query(
                                "UPDATE resources SET revision = $3, content = $4, digest = $5, updated_at = $6, updated_by = $7 WHERE kind = $1 AND name = $2",
                            )
                            .bind(&kind).bind(&name).bind(revision).bind(&content).bind(&digest).bind(&now).bind(&actor.user)
                            .execute(&mut *tx)
                            .await?;
                        } else {
                            sqlx::query(
                                "INSERT INTO resources (kind, name, revision, content, digest, status, created_at, updated_at, created_by, updated_by) \
                                 VALUES ($1, $2, $3, $4, $5, NULL, $6, $6, $7, $7)",
                            )
                            .bind(&kind).bind(&name).bind(revision).bind(&content).bind(&digest).bind(&now).bind(&actor.user)
                            .execute(&mut *tx)
                            .await?;
                        }
                        let verb = if action == AppliedAction::Created {
                            "create"
                        } else {
                            "update"
                        };
                        audit_seq = Some(
                            Self::append(
                                &mut tx,
                                &mut frontier,
                                actor,
                                &now,
                                Change {
                                    action: verb,
                                    kind: &kind,
                                    name: &name,
                                    revision,
                                    digest: &digest,
                                },
                            )
                            .await?,
                        );
                    }
                    out.push(Applied {
                        kind,
                        name,
                        action,
                        revision,
                        before,
                        audit_seq,
                    });
                }
                Mutation::Delete { .. } => {
                    let Some((revision, _, _)) = current else {
                        return Err(StoreError::NotFound { kind, name });
                    };
                    let mut audit_seq = None;
                    if !dry_run {
                        sqlx::query("DELETE FROM resources WHERE kind = $1 AND name = $2")
                            .bind(&kind)
                            .bind(&name)
                            .execute(&mut *tx)
                            .await?;
                        audit_seq = Some(
                            Self::append(
                                &mut tx,
                                &mut frontier,
                                actor,
                                &now,
                                Change {
                                    action: "delete",
                                    kind: &kind,
                                    name: &name,
                                    revision,
                                    digest: "",
                                },
                            )
                            .await?,
                        );
                    }
                    out.push(Applied {
                        kind,
                        name,
                        action: AppliedAction::Deleted,
                        revision,
                        before,
                        audit_seq,
                    });
                }
            }
        }
        if dry_run {
            tx.rollback().await?;
        } else {
            Self::finish_write(&mut tx, &frontier).await?;
            tx.commit().await?;
        }
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

    async fn create_token(&self, actor: &Actor, token: TokenRecord) -> Result<u64> {
        let _guard = self.write_lock.lock().await;
        let (mut tx, mut frontier) = self.begin_write().await?;
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
        let seq = Self::append(
            &mut tx,
            &mut frontier,
            actor,
            &now,
            Change {
                action: "create",
                kind: TOKEN_KIND,
                name: &token.id,
                revision: token.revision,
                digest: &token.digest(),
            },
        )
        .await?;
        Self::finish_write(&mut tx, &frontier).await?;
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
        let (mut tx, mut frontier) = self.begin_write().await?;
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
        Self::append(
            &mut tx,
            &mut frontier,
            actor,
            &now,
            Change {
                action: "revoke",
                kind: TOKEN_KIND,
                name: id,
                revision: token.revision,
                digest: &token.digest(),
            },
        )
        .await?;
        Self::finish_write(&mut tx, &frontier).await?;
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
        let verifier = LogVerifier::new(*key, self.checkpoints().await?);
        let verifier = match &self.sqlite_path {
            Some(path) => {
                let path = path.clone();
                tokio::task::spawn_blocking(move || sqlite_log_pass(&path, verifier))
                    .await
                    .map_err(|e| StoreError::Corrupt(format!("the verification task failed: {e}")))??
            }
            None => {
                let mut verifier = verifier;
                let mut rows = sqlx::query(concat!("SELECT ", entry_columns!(), " FROM audit_entries ORDER BY seq")).fetch(&self.pool);
                while let Some(row) = rows.try_next().await? {
                    let e = entry_from_row(&row)?;
                    let recorded: Option<Hash> = hex::decode(&e.leaf_hash).ok().and_then(|b| b.try_into().ok());
                    verifier.push(&e.entry, recorded.as_ref());
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

    async fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn set_meta(&self, key: &str, value: &str) -> Result<()> {
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
fn sqlite_log_pass(path: &std::path::Path, mut verifier: LogVerifier) -> Result<LogVerifier> {
    let db = |e: rusqlite::Error| StoreError::Corrupt(format!("{}: {e}", path.display()));
    let conn = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(db)?;
    let mut stmt = conn
        .prepare(concat!("SELECT ", entry_columns!(), " FROM audit_entries ORDER BY seq"))
        .map_err(db)?;
    let mut rows = stmt.query([]).map_err(db)?;
    while let Some(row) = rows.next().map_err(db)? {
        let seq: i64 = row.get(0).map_err(db)?;
        let entry = AuditEntry {
            seq: u64::try_from(seq).map_err(|_| StoreError::Corrupt(format!("negative audit seq {seq}")))?,
            timestamp: row.get(1).map_err(db)?,
            actor: row.get(2).map_err(db)?,
            action: row.get(3).map_err(db)?,
            kind: row.get(4).map_err(db)?,
            name: row.get(5).map_err(db)?,
            revision: row.get(6).map_err(db)?,
            digest: row.get(7).map_err(db)?,
            request_id: row.get(8).map_err(db)?,
            change_ref: row.get(9).map_err(db)?,
        };
        let leaf = row.get_ref(10).map_err(db)?;
        let recorded: Option<Hash> = leaf.as_blob().ok().and_then(|b| b.try_into().ok());
        verifier.push(&entry, recorded.as_ref());
    }
    Ok(verifier)
}
