//! The last-used recorder. The request path never writes: authentication hands the token id
//! to this background task when the stored `last_used_at` is null or a day old, and the task
//! coalesces and writes with a conditional UPDATE, so "at most once per 24 hours per token"
//! holds even across server processes sharing the database.

use std::{collections::HashMap, sync::Arc};

use chrono::{DateTime, Duration, Utc};
use entity::personal_access_token as pat;
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, sea_query::Expr,
};
use tokio::sync::{mpsc, oneshot};

use crate::metrics::Metrics;

/// How often a token's last use is written at most.
pub const WRITE_INTERVAL: Duration = Duration::hours(24);
/// Uses waiting to be written; beyond this, uses are dropped (the next use resends).
const QUEUE_CAPACITY: usize = 4096;
/// Tokens whose last use is held for a retry at most (while the database is down).
const MAX_PENDING: usize = 100_000;
/// First and longest pause before retrying writes that failed.
const RETRY_FIRST: std::time::Duration = std::time::Duration::from_millis(500);
const RETRY_MAX: std::time::Duration = std::time::Duration::from_secs(30);

enum Command {
    Used { token_id: i64, at: DateTime<Utc> },
    Flush(oneshot::Sender<()>),
}

/// Handle to the background recorder; cheap to clone.
#[derive(Clone)]
pub struct LastUsedRecorder {
    commands: mpsc::Sender<Command>,
}

/// Whether a stored last-used time is stale enough to be written again at `now`.
pub fn is_due(last_used_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    last_used_at.is_none_or(|last| now - last >= WRITE_INTERVAL)
}

impl LastUsedRecorder {
    /// Spawns the recorder task on the current Tokio runtime.
    pub fn start(db: DatabaseConnection, metrics: Arc<Metrics>) -> Self {
        let (commands, receiver) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(run(receiver, db, metrics));
        LastUsedRecorder { commands }
    }

    /// Notes that `token_id` authenticated a request at `at` (the caller's reading of the
    /// clock); returns whether a write was asked
    /// for. Never waits and never fails the request: when the stored value is fresh nothing
    /// happens, and a full queue drops the use (the next use asks again).
    pub fn record(
        &self,
        token_id: i64,
        stored_last_used_at: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> bool {
        is_due(stored_last_used_at, at)
            && self
                .commands
                .try_send(Command::Used { token_id, at })
                .is_ok()
    }

    /// Writes everything recorded so far, and returns when it is written (shutdown, tests).
    pub async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.commands.send(Command::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }
}

async fn run(mut receiver: mpsc::Receiver<Command>, db: DatabaseConnection, metrics: Arc<Metrics>) {
    // Uses this process already wrote, so a burst of requests that all read the old value
    // before the write landed costs one statement, not one each.
    let mut written: HashMap<i64, DateTime<Utc>> = HashMap::new();
    // Uses not written yet: a write that failed (database down) stays here and is retried,
    // sooner when new uses arrive, at the latest after `retry_in`.
    let mut pending: HashMap<i64, DateTime<Utc>> = HashMap::new();
    let mut retry_in: Option<std::time::Duration> = None;
    loop {
        let first = match retry_in {
            None => match receiver.recv().await {
                Some(command) => Some(command),
                None => break,
            },
            Some(delay) => tokio::select! {
                received = receiver.recv() => match received {
                    Some(command) => Some(command),
                    None => break,
                },
                () = tokio::time::sleep(delay) => None,
            },
        };
        let mut flushes = Vec::new();
        let mut next = first;
        // Drain whatever else is already queued, so bursts coalesce into one batch.
        while let Some(command) = next.take().or_else(|| receiver.try_recv().ok()) {
            match command {
                Command::Used { token_id, at } => {
                    let fresh = written
                        .get(&token_id)
                        .is_some_and(|&last| !is_due(Some(last), at));
                    if !fresh && pending.len() < MAX_PENDING {
                        pending.entry(token_id).or_insert(at);
                    }
                }
                Command::Flush(done) => flushes.push(done),
            }
        }
        let mut failed = HashMap::new();
        for (token_id, at) in pending.drain() {
            match write(&db, token_id, at).await {
                Ok(rows) => {
                    metrics.record_last_used_writes(rows);
                    written.insert(token_id, at);
                }
                Err(error) => {
                    tracing::warn!(token_id, error = %error, "writing last_used_at failed; will retry");
                    failed.insert(token_id, at);
                }
            }
        }
        pending = failed;
        retry_in = if pending.is_empty() {
            None
        } else {
            Some(retry_in.map_or(RETRY_FIRST, |delay| (delay * 2).min(RETRY_MAX)))
        };
        if written.len() > 100_000 {
            written.clear();
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
    if !pending.is_empty() {
        tracing::warn!(
            count = pending.len(),
            "last-used times not written at shutdown"
        );
    }
}

async fn write(
    db: &DatabaseConnection,
    token_id: i64,
    at: DateTime<Utc>,
) -> Result<u64, sea_orm::DbErr> {
    let result = pat::Entity::update_many()
        .col_expr(pat::Column::LastUsedAt, Expr::value(at))
        .filter(pat::Column::Id.eq(token_id))
        .filter(
            Condition::any()
                .add(pat::Column::LastUsedAt.is_null())
                .add(pat::Column::LastUsedAt.lte(at - WRITE_INTERVAL)),
        )
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_use_is_due_when_never_written_or_a_day_old() {
        let now = DateTime::parse_from_rfc3339("2027-01-02T10:00:00Z")
            .expect("time")
            .to_utc();
        assert!(is_due(None, now));
        assert!(is_due(Some(now - Duration::hours(24)), now));
        assert!(!is_due(
            Some(now - Duration::hours(24) + Duration::milliseconds(1)),
            now
        ));
        assert!(!is_due(Some(now), now));
    }
}
