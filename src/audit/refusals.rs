//! Refused authentications go to the audit log through this background writer: the request
//! path only queues (never waits, never fails). Refusals of recognised tokens (revoked,
//! expired, blocked owner) are written at once, identical ones arriving together as one row
//! with a count; junk and unknown tokens are tallied in place by the request (no message,
//! no wake-up of the writer: a flood of junk costs a counter increment each) and written
//! once a minute.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
use entity::audit_event;
use sea_orm::{DatabaseConnection, EntityTrait};
use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use crate::{
    audit::{Action, Event, Party, row},
    metrics::AuthFailure,
};

/// Refusals waiting to be written; beyond this they are dropped (and still counted in metrics).
const QUEUE_CAPACITY: usize = 4096;
/// Distinct (reason, surface, address) tallies kept between writes of unrecognised
/// credentials; refusals from further addresses are counted together, without an address,
/// until the next write.
const ANONYMOUS_CAPACITY: usize = 4096;

/// One refused attempt.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub reason: AuthFailure,
    /// Where the credential was presented: `api`, `git`, `registry`, `sudo`.
    pub surface: &'static str,
    /// The token's owner and id, when the token was recognised (revoked, expired, blocked).
    pub owner: Option<Party>,
    pub token_id: Option<i64>,
    pub ip: Option<IpAddr>,
    pub at: DateTime<Utc>,
}

enum Command {
    Refused(Refusal),
    /// Any other event recorded from the request path (e.g. sudo used), written with the
    /// next batch so the request never waits on a write.
    Event(DateTime<Utc>, Event),
    Flush(oneshot::Sender<()>),
}

/// Handle to the background writer; cheap to clone.
#[derive(Clone)]
pub struct RefusalLog {
    commands: mpsc::Sender<Command>,
    anonymous: Arc<AnonymousTally>,
}

impl RefusalLog {
    /// Spawns the writer on the current Tokio runtime.
    pub fn start(db: DatabaseConnection) -> Self {
        let (commands, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let anonymous = Arc::new(AnonymousTally::default());
        tokio::spawn(run(receiver, anonymous.clone(), db));
        RefusalLog {
            commands,
            anonymous,
        }
    }

    /// Queues a refusal; never waits.
    pub fn record(&self, refusal: Refusal) {
        if refusal.token_id.is_some() {
            let _ = self.commands.try_send(Command::Refused(refusal));
            return;
        }
        self.anonymous.add(refusal);
    }

    /// Queues an audit event from the request path; never waits.
    pub fn record_event(&self, at: DateTime<Utc>, event: Event) {
        let _ = self.commands.try_send(Command::Event(at, event));
    }

    /// Returns once everything queued so far is written.
    pub async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.commands.send(Command::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }
}

type Key = (&'static str, &'static str, Option<i64>, Option<IpAddr>);
type Tally = HashMap<Key, (Refusal, u64)>;

/// How often refusals of unrecognised credentials (junk, unknown tokens) are written: they
/// are tallied per (reason, surface, address) in between, so a flood of junk costs one row
/// per address and minute, never one per request.
const ANONYMOUS_FLUSH: Duration = Duration::from_secs(60);

/// Refusals of unrecognised credentials, counted in place until the next write. A flood
/// repeats a few keys from both worker threads at once: an existing key is counted under
/// the shared read lock with an atomic add, so the threads never wait on each other (a
/// mutex here put them to sleep and woke them again, a system call each time).
#[derive(Default)]
struct AnonymousTally(RwLock<HashMap<Key, (Refusal, AtomicU64)>>);

impl AnonymousTally {
    fn add(&self, refusal: Refusal) {
        let key = key(&refusal);
        if let Ok(tally) = self.0.read()
            && let Some((_, count)) = tally.get(&key)
        {
            count.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let Ok(mut tally) = self.0.write() else {
            return;
        };
        if let Some((_, count)) = tally.get(&key) {
            count.fetch_add(1, Ordering::Relaxed);
        } else if tally.len() < ANONYMOUS_CAPACITY {
            tally.insert(key, (refusal, AtomicU64::new(1)));
        } else {
            // Full (many addresses, e.g. one IPv6 network): the rest are still counted,
            // in one row per reason and surface without an address.
            let anywhere = (key.0, key.1, None, None);
            tally
                .entry(anywhere)
                .or_insert((
                    Refusal {
                        ip: None,
                        ..refusal
                    },
                    AtomicU64::new(0),
                ))
                .1
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    fn take(&self) -> Tally {
        self.0
            .write()
            .map(|mut tally| std::mem::take(&mut *tally))
            .unwrap_or_default()
            .into_iter()
            .map(|(key, (refusal, count))| (key, (refusal, count.into_inner())))
            .collect()
    }
}

fn key(refusal: &Refusal) -> Key {
    (
        refusal.reason.as_str(),
        refusal.surface,
        refusal.token_id,
        refusal.ip,
    )
}

async fn run(
    mut receiver: mpsc::Receiver<Command>,
    anonymous: Arc<AnonymousTally>,
    db: DatabaseConnection,
) {
    let take_anonymous = || anonymous.take();
    let mut ticker = tokio::time::interval(ANONYMOUS_FLUSH);
    loop {
        let first = tokio::select! {
            command = receiver.recv() => command,
            _ = ticker.tick() => {
                write(&db, take_anonymous()).await;
                continue;
            }
        };
        let Some(first) = first else {
            write(&db, take_anonymous()).await;
            return;
        };
        let mut recognised: Tally = HashMap::new();
        let mut events = Vec::new();
        let mut flushes = Vec::new();
        let mut next = Some(first);
        while let Some(command) = next.take().or_else(|| receiver.try_recv().ok()) {
            match command {
                Command::Refused(refusal) => {
                    recognised.entry(key(&refusal)).or_insert((refusal, 0)).1 += 1;
                }
                Command::Event(at, event) => events.push(row(at, event)),
                Command::Flush(done) => flushes.push(done),
            }
        }
        if !events.is_empty()
            && let Err(error) = audit_event::Entity::insert_many(events).exec(&db).await
        {
            tracing::warn!(error = %error, "writing audit events failed");
        }
        write(&db, recognised).await;
        if !flushes.is_empty() {
            write(&db, take_anonymous()).await;
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

async fn write(db: &DatabaseConnection, tally: Tally) {
    if tally.is_empty() {
        return;
    }
    let rows = tally.into_values().map(|(refusal, count)| {
        let event = Event {
            action: Action::AuthenticationRefused,
            actor: refusal.owner,
            target: None,
            token_id: refusal.token_id,
            ip: refusal.ip,
            details: json!({ "reason": refusal.reason.as_str(), "surface": refusal.surface, "count": count }),
        };
        row(refusal.at, event)
    });
    if let Err(error) = audit_event::Entity::insert_many(rows).exec(db).await {
        tracing::warn!(error = %error, "writing refused authentications to the audit log failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn junk(ip: [u8; 4]) -> Refusal {
        Refusal {
            reason: AuthFailure::Malformed,
            surface: "api",
            owner: None,
            token_id: None,
            ip: Some(IpAddr::from(ip)),
            at: DateTime::<Utc>::MIN_UTC,
        }
    }

    #[test]
    fn junk_is_counted_per_address_and_bounded() {
        let tally = AnonymousTally::default();
        for _ in 0..3 {
            tally.add(junk([10, 0, 0, 1]));
        }
        tally.add(junk([10, 0, 0, 2]));
        let taken = tally.take();
        let counts: Vec<u64> = {
            let mut counts: Vec<u64> = taken.values().map(|(_, count)| *count).collect();
            counts.sort_unstable();
            counts
        };
        assert_eq!(counts, [1, 3]);
        assert!(tally.take().is_empty(), "taking empties it");

        for i in 0..ANONYMOUS_CAPACITY + 10 {
            let [_, _, a, b] = u32::try_from(i).expect("small").to_be_bytes();
            tally.add(junk([10, 1, a, b]));
        }
        tally.add(junk([10, 1, 0, 0]));
        let taken = tally.take();
        assert_eq!(
            taken.len(),
            ANONYMOUS_CAPACITY + 1,
            "one row holds the addresses past the capacity"
        );
        let first = key(&junk([10, 1, 0, 0]));
        assert_eq!(taken[&first].1, 2, "known addresses are still counted");
        let anywhere = ("malformed", "api", None, None);
        assert_eq!(
            taken[&anywhere].1, 10,
            "and the others together, without an address"
        );
    }
}
