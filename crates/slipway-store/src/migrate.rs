//! Versioned schema migrations, one folder per backend (`migrations/sqlite`,
//! `migrations/postgres`), embedded in the binary and applied in order inside a transaction each.
//! Applied versions are recorded in `slipway_migrations`; a database newer than this binary is
//! refused rather than guessed at.

use crate::{Result, StoreError};
use sqlx::AnyPool;

/// A backend's SQL dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sqlite: include_str!("../migrations/sqlite/0001_initial.sql"),
        postgres: include_str!("../migrations/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "leases",
        sqlite: include_str!("../migrations/sqlite/0002_leases.sql"),
        postgres: include_str!("../migrations/postgres/0002_leases.sql"),
    },
    Migration {
        version: 3,
        name: "outbox",
        sqlite: include_str!("../migrations/sqlite/0003_outbox.sql"),
        postgres: include_str!("../migrations/postgres/0003_outbox.sql"),
    },
];

/// The newest schema version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.iter().map(|m| m.version).max().unwrap_or(0)
}

/// Applies every migration not yet applied.
pub async fn run(pool: &AnyPool, backend: Backend) -> Result<()> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS slipway_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
    )
    .execute(pool)
    .await?;
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM slipway_migrations ORDER BY version")
            .fetch_all(pool)
            .await?;
    if let Some(newest) = applied.iter().max()
        && *newest > latest_version()
    {
        return Err(StoreError::Corrupt(format!(
            "the database has schema version {newest} but this slipway knows only up to {}: upgrade slipway",
            latest_version()
        )));
    }
    for m in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
        let sql = match backend {
            Backend::Sqlite => m.sqlite,
            Backend::Postgres => m.postgres,
        };
        let fail = |source| StoreError::Migration {
            version: m.version,
            name: m.name.to_string(),
            source,
        };
        let mut tx = pool.begin().await?;
        for statement in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            sqlx::query(statement)
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
        }
        sqlx::query(
            "INSERT INTO slipway_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(m.version)
        .bind(m.name)
        .bind(crate::now_rfc3339())
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
    }
    Ok(())
}
