//! On PostgreSQL, a `LISTEN` connection that wakes the token cache's feed reader as soon as
//! another process commits a change (each change's transaction notifies
//! [`FEED_CHANNEL`](super::cache::FEED_CHANNEL)), so that a revocation there is refused
//! here within milliseconds instead of at the next poll. Notifications are only a wake-up
//! call: what changed is always read from the feed, so a lost or duplicated notification
//! costs nothing but latency, and the poll keeps the one-second bound while this connection
//! is down.

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use sea_orm::sqlx::{
    self,
    postgres::{PgConnectOptions, PgListener, PgPoolOptions},
};

use super::cache::{AuthCache, FEED_CHANNEL};
use crate::config::DatabaseUrl;

/// How long to wait before connecting again after the connection failed.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);
/// How the listening connection shows in `pg_stat_activity`.
pub const APPLICATION_NAME: &str = "wvs-auth-feed";

/// Listens on the current runtime for as long as the process runs. A connection that was
/// up for a while and dropped is replaced at once; a failed attempt, or a connection
/// dropped as soon as it was made, is retried after a second (never a tight loop against a
/// database that is down or refusing listeners).
pub fn start(url: DatabaseUrl, cache: Arc<AuthCache>) {
    tokio::spawn(async move {
        loop {
            match listen(&url).await {
                Ok(listener) => {
                    let listened_since = tokio::time::Instant::now();
                    relay(listener, &cache).await;
                    if listened_since.elapsed() < RECONNECT_AFTER {
                        tokio::time::sleep(RECONNECT_AFTER).await;
                    }
                }
                Err(error) => {
                    tracing::warn!(error = %error, "listening for token changes failed; the feed is polled meanwhile");
                    tokio::time::sleep(RECONNECT_AFTER).await;
                }
            }
        }
    });
}

async fn listen(url: &DatabaseUrl) -> Result<PgListener, sqlx::Error> {
    let options: PgConnectOptions = url.expose().parse()?;
    // A pool of its own, of one connection kept for good: the listener must not take one of
    // the service's connections, and it reconnects through this pool.
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .max_lifetime(None)
        .idle_timeout(None)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with(options.application_name(APPLICATION_NAME));
    let mut listener = PgListener::connect_with(&pool).await?;
    // Reconnecting is ours to do (see `start`), so that it cannot spin and so that the
    // catch-up read in `relay` follows the new `LISTEN`.
    listener.eager_reconnect(false);
    listener.listen(FEED_CHANNEL).await?;
    Ok(listener)
}

/// Wakes the feed reader for each notification until the connection drops.
async fn relay(mut listener: PgListener, cache: &AuthCache) {
    let stats = &cache.listener;
    stats.listening.store(true, Ordering::Relaxed);
    stats.connections.fetch_add(1, Ordering::Relaxed);
    // Listening (again): whatever committed while no one listened is read now.
    cache.wake();
    loop {
        match listener.try_recv().await {
            Ok(Some(_)) => {
                stats.notifications.fetch_add(1, Ordering::Relaxed);
                cache.wake();
            }
            Ok(None) => {
                tracing::warn!("the token-change listener lost its connection; reconnecting");
                break;
            }
            Err(error) => {
                tracing::warn!(error = %error, "the token-change listener failed; reconnecting");
                break;
            }
        }
    }
    stats.listening.store(false, Ordering::Relaxed);
}
