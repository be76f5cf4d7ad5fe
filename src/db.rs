//! Opening the database (SQLite tuned for concurrent use, or PostgreSQL) and migrating it.

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, SqliteTransactionMode,
    TransactionOptions, TransactionTrait, sqlx::sqlite,
};

use crate::{config::DatabaseUrl, error::Error, metrics::Metrics};

/// Connects to `url`, counting every statement in `metrics`.
pub async fn connect(
    url: &DatabaseUrl,
    metrics: Arc<Metrics>,
) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.expose().to_owned());
    options
        .max_connections(if url.is_sqlite() { 8 } else { 16 })
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    if url.is_sqlite() {
        options.map_sqlx_sqlite_opts(|sqlite| {
            // WAL lets readers proceed during a write; the busy timeout makes concurrent
            // writers wait their turn instead of failing with "database is locked".
            sqlite
                .journal_mode(sqlite::SqliteJournalMode::Wal)
                .synchronous(sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    }
    let mut db = Database::connect(options)
        .await
        .with_context(|| format!("WVS_DATABASE_URL: cannot connect to {url}"))?;
    db.set_metric_callback(move |info| {
        // The token cache's periodic feed reads are background work, counted apart so that
        // statements per request stay meaningful.
        if info.statement.sql.contains("\"auth_changes\"") {
            metrics.record_feed_read();
        } else {
            metrics.record_db_statement();
        }
    });
    Ok(db)
}

/// Applies pending migrations.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None)
        .await
        .context("WVS_DATABASE_URL: migrating the database failed")
}

/// Runs `work` in a write transaction: committed when it returns `Ok`, rolled back otherwise.
/// On SQLite the transaction takes the write lock at `BEGIN` (`IMMEDIATE`), so a transaction
/// that reads before it writes waits its turn (busy timeout) instead of failing with
/// "database is locked" when another connection wrote in between.
pub async fn write<T, F>(db: &DatabaseConnection, work: F) -> Result<T, Error>
where
    T: Send,
    F: for<'c> FnOnce(
            &'c DatabaseTransaction,
        ) -> Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'c>>
        + Send,
{
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    };
    let tx = db.begin_with_options(options).await?;
    match work(&tx).await {
        Ok(value) => {
            tx.commit().await?;
            Ok(value)
        }
        Err(error) => {
            if let Err(rollback) = tx.rollback().await {
                tracing::warn!(error = %rollback, "rolling back a transaction failed");
            }
            Err(error)
        }
    }
}
