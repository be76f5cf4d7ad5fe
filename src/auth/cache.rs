//! The cache of verified tokens: digest → (token, owner, impersonating admin), so that the
//! token path needs no database round trip. Its contract:
//!
//! - a revocation, rotation, block or deletion is refused at the very next request in the
//!   process that made it (the change is applied right after its transaction commits), and
//!   within a second in every other process: each reads the `auth_changes` feed when a
//!   PostgreSQL notification says a change committed (see [`super::feed_listener`]) and
//!   every 250 ms regardless (the fallback when a notification is lost or the listening
//!   connection is down), and a cache that has not heard from the feed for a second is not
//!   used at all;
//! - expiry is checked on every request against the clock, never cached; so are the
//!   instance policy and the owner's state as of the last change;
//! - it is bounded in size, and `WVS_AUTH_CACHE=off` disables it.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicI64, AtomicU64, Ordering},
    },
};

use chrono::{DateTime, Utc};
use entity::{auth_change, personal_access_token as pat, user};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};

use tokio::sync::{Notify, watch};

use crate::{
    clock::Clock,
    config::{AuthFeed, DatabaseUrl},
    error::Result,
    tokens::is_expired,
};

/// How old the last read of the change feed may be before the cache is bypassed.
pub const MAX_STALENESS: chrono::Duration = chrono::Duration::seconds(1);
/// The PostgreSQL advisory lock the feed's writers take turns with ("WVSF").
pub const FEED_LOCK_KEY: i64 = 0x5756_5346;
/// The PostgreSQL notification channel a change's transaction notifies on commit.
pub const FEED_CHANNEL: &str = "wvs_auth_changes";
/// Entries kept at most; when full, the cache starts over.
const CAPACITY: usize = 100_000;

/// A verified token and the people it involves, as of the last change. Shared models: a
/// cache hit costs reference counts, not a copy of the token and its owner.
#[derive(Debug, Clone)]
pub struct Entry {
    pub token: Arc<pat::Model>,
    pub owner: Arc<user::Model>,
    /// For an impersonation token: the administrator who made it.
    pub impersonator: Option<Arc<user::Model>>,
}

/// When the feed was last read, in milliseconds since the epoch; [`NEVER_SYNCED`] before
/// the first read and after a failed one. An atomic rather than under a lock: every
/// authenticated request checks it, from both worker threads at once.
#[derive(Debug)]
struct SyncedAt(AtomicI64);

const NEVER_SYNCED: i64 = i64::MIN;

impl SyncedAt {
    fn set(&self, at: Option<DateTime<Utc>>) {
        let millis = at.map_or(NEVER_SYNCED, |at| at.timestamp_millis());
        self.0.store(millis, Ordering::Release);
    }

    /// Whether the last read is at most [`MAX_STALENESS`] before `now`.
    fn within_staleness(&self, now: DateTime<Utc>) -> bool {
        now.timestamp_millis()
            .checked_sub(self.0.load(Ordering::Acquire))
            .is_some_and(|age| age <= MAX_STALENESS.num_milliseconds())
    }
}

/// The per-process cache.
#[derive(Debug)]
pub struct AuthCache {
    enabled: bool,
    entries: RwLock<HashMap<[u8; 32], Entry>>,
    /// Bumped (under the entries' lock) whenever changes are applied, so that an entry read
    /// from the database before a change cannot be stored after it.
    generation: AtomicU64,
    /// The id of the newest change read from the feed (`None` before the first read).
    last_change_id: Mutex<Option<i64>>,
    synced_at: SyncedAt,
    /// Wakes the feed reader before its next poll (a notification arrived).
    wake: Notify,
    /// The id of the newest change applied, for whoever waits for one to arrive.
    applied: watch::Sender<i64>,
    /// The notification listener's health, for `/-/metrics`.
    pub listener: ListenerStats,
}

/// What the PostgreSQL notification listener reports.
#[derive(Debug, Default)]
pub struct ListenerStats {
    /// Whether a `LISTEN` connection is up.
    pub listening: std::sync::atomic::AtomicBool,
    /// `LISTEN` connections established since start (more than one: it reconnected).
    pub connections: AtomicU64,
    /// Notifications received.
    pub notifications: AtomicU64,
}

/// What changed, recorded in the same transaction as the change.
#[derive(Debug, Clone, Copy)]
pub enum Change {
    Token(i64),
    User(i64),
}

/// Appends `change` to the feed through `db`, the change's own transaction. Call it as that
/// transaction's last statement: on PostgreSQL it takes the feed's write lock, held until
/// commit, and a transaction that went on to wait for other locks while holding it could
/// deadlock with one waiting for the feed.
pub async fn record(db: &impl ConnectionTrait, now: DateTime<Utc>, change: Change) -> Result<()> {
    if db.get_database_backend() == DbBackend::Postgres {
        // Readers follow the feed by id. PostgreSQL hands out ids at insert time, not at
        // commit, so without this two concurrent changes could commit in the opposite order
        // of their ids: a reader that saw the later id would skip the earlier change for good
        // and keep serving a revoked token. The lock makes the writers of the feed take turns
        // from insert to commit (readers are not blocked). SQLite already allows one writer.
        // An advisory lock rather than a table lock: it never waits for autovacuum and needs
        // no rights beyond connecting. The notification is delivered at commit, waking the
        // feed readers of the other processes (identical ones within a transaction merge).
        db.execute_unprepared(&format!(
            "SELECT pg_advisory_xact_lock({FEED_LOCK_KEY}), pg_notify('{FEED_CHANNEL}', '')"
        ))
        .await?;
    }
    let (kind, token_id, user_id) = match change {
        Change::Token(id) => ("token", Some(id), None),
        Change::User(id) => ("user", None, Some(id)),
    };
    auth_change::ActiveModel {
        kind: Set(kind.to_owned()),
        token_id: Set(token_id),
        user_id: Set(user_id),
        changed_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

impl AuthCache {
    pub fn new(enabled: bool) -> Self {
        AuthCache {
            enabled,
            entries: RwLock::new(HashMap::new()),
            generation: AtomicU64::new(0),
            last_change_id: Mutex::new(None),
            synced_at: SyncedAt(AtomicI64::new(NEVER_SYNCED)),
            wake: Notify::new(),
            applied: watch::Sender::new(0),
            listener: ListenerStats::default(),
        }
    }

    /// Asks the feed reader to read now rather than at its next poll. Wakes that arrive while
    /// it is reading merge into one more read.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Follows the id of the newest change applied (tests wait on it for a change to arrive).
    pub fn applied_changes(&self) -> watch::Receiver<i64> {
        self.applied.subscribe()
    }

    fn fresh(&self, now: DateTime<Utc>) -> bool {
        self.synced_at.within_staleness(now)
    }

    /// The cached entry for `digest`, if the cache is on and fresh.
    pub fn lookup(&self, digest: &[u8; 32], now: DateTime<Utc>) -> Option<Entry> {
        if !self.enabled || !self.fresh(now) {
            return None;
        }
        self.entries.read().ok()?.get(digest).cloned()
    }

    /// The current generation: read it before a database lookup, hand it to [`store`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Remembers a verified token read from the database at `generation` — unless a change
    /// was applied since (the read may predate it), or the cache is stale. Revoked and expired
    /// tokens are never kept: both are final, so keeping them would only let anyone replaying
    /// old tokens fill the cache (they are refused from the database each time instead).
    pub fn store(&self, digest: [u8; 32], entry: Entry, now: DateTime<Utc>, generation: u64) {
        if !self.enabled || !self.fresh(now) {
            return;
        }
        if entry.token.revoked_at.is_some() || is_expired(entry.token.expires_at, now.date_naive())
        {
            return;
        }
        if let Ok(mut entries) = self.entries.write() {
            if self.generation.load(Ordering::SeqCst) != generation {
                return;
            }
            if entries.len() >= CAPACITY {
                entries.clear();
            }
            entries.insert(digest, entry);
        }
    }

    /// Notes a written last-used time so later requests do not ask for another write.
    pub fn touch(&self, digest: &[u8; 32], at: DateTime<Utc>) {
        if let Ok(mut entries) = self.entries.write()
            && let Some(entry) = entries.get_mut(digest)
        {
            Arc::make_mut(&mut entry.token).last_used_at = Some(at);
        }
    }

    fn apply(&self, change: &auth_change::Model) {
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        self.generation.fetch_add(1, Ordering::SeqCst);
        match (change.kind.as_str(), change.token_id, change.user_id) {
            ("token", Some(id), _) => entries.retain(|_, entry| entry.token.id != id),
            ("user", _, Some(id)) => entries
                .retain(|_, entry| entry.owner.id != id && entry.token.created_by_id != Some(id)),
            // Unknown kinds: drop everything (fail closed).
            _ => entries.clear(),
        }
    }

    /// Reads the change feed and drops what it names. On failure the cache goes stale (and
    /// so unused) until a read succeeds.
    pub async fn sync(&self, db: &DatabaseConnection, now: DateTime<Utc>) {
        if !self.enabled {
            return;
        }
        if let Err(error) = self.try_sync(db, now).await {
            tracing::warn!(error = %error, "reading the auth change feed failed; token cache bypassed");
            self.synced_at.set(None);
        }
    }

    async fn try_sync(&self, db: &DatabaseConnection, now: DateTime<Utc>) -> Result<()> {
        let last = self.last_change_id.lock().ok().and_then(|last| *last);
        let Some(mut last) = last else {
            // First read: everything before now is already in the database's answers.
            let newest = auth_change::Entity::find()
                .order_by_desc(auth_change::Column::Id)
                .one(db)
                .await?
                .map_or(0, |change| change.id);
            if let Ok(mut entries) = self.entries.write() {
                self.generation.fetch_add(1, Ordering::SeqCst);
                entries.clear();
            }
            self.read_up_to(newest, now);
            self.applied.send_replace(newest);
            return Ok(());
        };
        loop {
            let changes = auth_change::Entity::find()
                .filter(auth_change::Column::Id.gt(last))
                .order_by_asc(auth_change::Column::Id)
                .limit(1000)
                .all(db)
                .await?;
            for change in &changes {
                self.apply(change);
                last = change.id;
            }
            if changes.len() < 1000 {
                break;
            }
        }
        self.read_up_to(last, now);
        self.applied.send_if_modified(|applied| {
            let newer = last > *applied;
            *applied = (*applied).max(last);
            newer
        });
        Ok(())
    }

    /// Records a successful read of the feed up to change `last`, at `now`.
    fn read_up_to(&self, last: i64, now: DateTime<Utc>) {
        if let Ok(mut last_change_id) = self.last_change_id.lock() {
            *last_change_id = Some(last);
        }
        self.synced_at.set(Some(now));
    }

    /// Reads the feed on the current runtime every `feed.poll_every`, and as soon as a
    /// notification arrives when `url` is PostgreSQL and notifications are on.
    pub fn start_sync(
        cache: Arc<AuthCache>,
        db: DatabaseConnection,
        clock: Arc<dyn Clock>,
        feed: AuthFeed,
        url: &DatabaseUrl,
    ) {
        if !cache.enabled {
            return;
        }
        if feed.notifications && !url.is_sqlite() {
            super::feed_listener::start(url.clone(), cache.clone());
        }
        tokio::spawn(async move {
            loop {
                cache.sync(&db, clock.now()).await;
                tokio::select! {
                    () = tokio::time::sleep(feed.poll_every) => {}
                    () = cache.wake.notified() => {}
                }
            }
        });
    }

    /// How many entries are cached (metrics, tests).
    pub fn len(&self) -> usize {
        self.entries
            .read()
            .map(|entries| entries.len())
            .unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(token_id: i64, owner_id: i64, created_by: Option<i64>) -> Entry {
        let at = DateTime::parse_from_rfc3339("2027-01-15T12:00:00Z")
            .expect("time")
            .to_utc();
        Entry {
            token: Arc::new(pat::Model {
                id: token_id,
                user_id: owner_id,
                name: "t".into(),
                description: None,
                scopes: "api".into(),
                digest: vec![],
                created_at: at,
                expires_at: None,
                last_used_at: None,
                revoked_at: None,
                impersonation: created_by.is_some(),
                created_by_id: created_by,
                previous_token_id: None,
                expiring_notified_at: None,
                expired_notified_at: None,
            }),
            owner: Arc::new(user::Model {
                id: owner_id,
                username: "u".into(),
                username_key: "u".into(),
                email: "u@example.com".into(),
                name: "u".into(),
                password_hash: None,
                admin: false,
                state: "active".into(),
                created_at: at,
            }),
            impersonator: None,
        }
    }

    fn synced(cache: &AuthCache, now: DateTime<Utc>) {
        cache.read_up_to(0, now);
    }

    fn change(kind: &str, token_id: Option<i64>, user_id: Option<i64>) -> auth_change::Model {
        auth_change::Model {
            id: 1,
            kind: kind.into(),
            token_id,
            user_id,
            changed_at: DateTime::<Utc>::MIN_UTC,
        }
    }

    #[test]
    fn entries_are_served_only_while_the_feed_is_fresh() {
        let now = Utc::now();
        let cache = AuthCache::new(true);
        cache.store([1; 32], entry(1, 1, None), now, cache.generation());
        assert!(cache.is_empty(), "never synced: nothing is stored");
        synced(&cache, now);
        cache.store([1; 32], entry(1, 1, None), now, cache.generation());
        assert!(cache.lookup(&[1; 32], now).is_some());
        assert!(
            cache
                .lookup(
                    &[1; 32],
                    now + MAX_STALENESS + chrono::Duration::milliseconds(1)
                )
                .is_none()
        );
        let off = AuthCache::new(false);
        synced(&off, now);
        off.store([1; 32], entry(1, 1, None), now, off.generation());
        assert!(off.lookup(&[1; 32], now).is_none());
    }

    #[test]
    fn changes_drop_what_they_name_and_nothing_read_before_them_is_stored() {
        let now = Utc::now();
        let cache = AuthCache::new(true);
        synced(&cache, now);
        cache.store([1; 32], entry(1, 10, None), now, cache.generation());
        cache.store([2; 32], entry(2, 10, None), now, cache.generation());
        cache.store([3; 32], entry(3, 20, Some(10)), now, cache.generation());
        cache.store([4; 32], entry(4, 30, None), now, cache.generation());
        cache.apply(&change("token", Some(4), None));
        assert!(cache.lookup(&[4; 32], now).is_none());
        // A user change drops their tokens and the impersonation tokens they made.
        cache.apply(&change("user", None, Some(10)));
        assert!(cache.is_empty());
        // A lookup that read the database before a change must not be stored after it.
        let before = cache.generation();
        cache.apply(&change("token", Some(5), None));
        cache.store([5; 32], entry(5, 40, None), now, before);
        assert!(cache.lookup(&[5; 32], now).is_none());
        cache.store([6; 32], entry(6, 40, None), now, cache.generation());
        cache.apply(&change("mystery", None, None));
        assert!(cache.is_empty(), "unknown changes clear everything");
    }

    #[test]
    fn revoked_and_expired_tokens_are_not_kept() {
        let now = DateTime::parse_from_rfc3339("2027-01-15T12:00:00Z")
            .expect("time")
            .to_utc();
        let cache = AuthCache::new(true);
        synced(&cache, now);
        let mut revoked = entry(1, 1, None);
        Arc::make_mut(&mut revoked.token).revoked_at = Some(now);
        cache.store([1; 32], revoked, now, cache.generation());
        let mut expired = entry(2, 1, None);
        Arc::make_mut(&mut expired.token).expires_at = Some(now.date_naive());
        cache.store([2; 32], expired, now, cache.generation());
        assert!(cache.is_empty());
        let mut expires_tomorrow = entry(3, 1, None);
        Arc::make_mut(&mut expires_tomorrow.token).expires_at = now.date_naive().succ_opt();
        cache.store([3; 32], expires_tomorrow, now, cache.generation());
        assert_eq!(cache.len(), 1);
    }
}
