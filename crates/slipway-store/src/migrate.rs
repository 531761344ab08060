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
    Migration {
        version: 4,
        name: "generations",
        sqlite: include_str!("../migrations/sqlite/0004_generations.sql"),
        postgres: include_str!("../migrations/postgres/0004_generations.sql"),
    },
];

/// The newest schema version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.iter().map(|m| m.version).max().unwrap_or(0)
}

/// A migration's statements: each ends with a semicolon at the end of a line that is not
/// indented, so the indented statements inside a trigger or function body stay in it.
fn statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in sql.lines() {
        current.push_str(line);
        current.push('\n');
        let ends = !line.starts_with(char::is_whitespace) && line.trim_end().ends_with(';');
        if ends {
            let statement = current.trim().trim_end_matches(';').trim();
            if !statement.is_empty() {
                out.push(statement.to_string());
            }
            current.clear();
        }
    }
    let rest = current.trim();
    if !rest.is_empty() {
        out.push(rest.to_string());
    }
    out
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
        for statement in statements(sql) {
            sqlx::query(sqlx::AssertSqlSafe(statement))
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

#[cfg(test)]
mod tests {
    use super::statements;

    #[test]
    fn statements_end_at_unindented_semicolons_so_trigger_bodies_stay_whole() {
        let sql = "CREATE TABLE t (\n    a TEXT\n);\nCREATE TRIGGER x AFTER INSERT ON t\nBEGIN\n    UPDATE t SET a = 1;\n    UPDATE t SET a = 2;\nEND;\nCREATE INDEX i ON t (a)\n";
        let got = statements(sql);
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0], "CREATE TABLE t (\n    a TEXT\n)");
        assert!(got[1].starts_with("CREATE TRIGGER x") && got[1].ends_with("END"));
        assert!(got[1].contains("a = 1;") && got[1].contains("a = 2;"));
        assert_eq!(got[2], "CREATE INDEX i ON t (a)");
    }

    #[test]
    fn every_embedded_migration_splits_into_statements_without_a_stray_semicolon() {
        for m in super::MIGRATIONS {
            for sql in [m.sqlite, m.postgres] {
                let got = statements(sql);
                assert!(!got.is_empty(), "migration {} has no statement", m.name);
                for statement in got {
                    assert!(!statement.ends_with(';'), "{}: {statement}", m.name);
                }
            }
        }
    }
}
