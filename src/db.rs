//! Opening the database (SQLite tuned for concurrent use, or PostgreSQL) and migrating it.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, sqlx::sqlite};

use crate::{config::DatabaseUrl, metrics::Metrics};

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
    db.set_metric_callback(move |_| metrics.record_db_statement());
    Ok(db)
}

/// Applies pending migrations.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None)
        .await
        .context("WVS_DATABASE_URL: migrating the database failed")
}
