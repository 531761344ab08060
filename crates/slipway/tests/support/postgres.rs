//! The PostgreSQL side of the harness: fresh databases (and copies of one) in the throwaway
//! cluster `slipway-pgtest` starts once per test process, and SQL run behind Slipway's back.

use sqlx::AnyPool;
use std::sync::atomic::{AtomicU32, Ordering};

/// Runs a future to completion on a small runtime (for sqlx).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}

/// Runs SQL statements, one after the other, against the database at `url`.
pub fn execute_sql(url: &str, statements: &[&str]) {
    block_on(async {
        sqlx::any::install_default_drivers();
        let pool = AnyPool::connect(url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"));
        for statement in statements {
            sqlx::query(sqlx::AssertSqlSafe(statement.to_string()))
                .execute(&pool)
                .await
                .unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
        pool.close().await;
    });
}

/// A new, unique database name for this test process.
fn unique_name(purpose: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "e2e_{purpose}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh, empty database in the shared throwaway cluster; returns its URL.
pub fn fresh_database() -> String {
    create_database(&unique_name("server"), None)
}

/// A copy of the database at `url` (which nobody may be connected to); returns its URL.
pub fn copy_database(url: &str) -> String {
    let source = url
        .rsplit('/')
        .next()
        .expect("a database URL ends in its name");
    create_database(&unique_name("copy"), Some(source))
}

fn create_database(name: &str, template: Option<&str>) -> String {
    let cluster = slipway_pgtest::PgCluster::shared();
    let create = match template {
        Some(source) => format!("CREATE DATABASE {name} TEMPLATE {source}"),
        None => format!("CREATE DATABASE {name}"),
    };
    execute_sql(&cluster.url("postgres"), &[&create]);
    cluster.url(name)
}
