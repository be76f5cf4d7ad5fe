//! The one source of "now" and "today", always UTC. Tests move a [`ManualClock`] instead of
//! sleeping; nothing reads the host time zone or the database's `now()`.

use std::sync::Mutex;

use chrono::{DateTime, Duration, DurationRound, NaiveDate, Utc};

/// A source of the current instant.
pub trait Clock: Send + Sync + 'static {
    /// The current instant, truncated to whole milliseconds so that every database
    /// stores and compares it the same way.
    fn now(&self) -> DateTime<Utc>;

    /// The current UTC calendar day.
    fn today(&self) -> NaiveDate {
        self.now().date_naive()
    }
}

fn to_millis(instant: DateTime<Utc>) -> DateTime<Utc> {
    instant
        .duration_trunc(Duration::milliseconds(1))
        .unwrap_or(instant)
}

/// The operating system's clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        to_millis(Utc::now())
    }
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock(Mutex::new(to_millis(start)))
    }

    pub fn set(&self, instant: DateTime<Utc>) {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = to_millis(instant);
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *now = to_millis(*now + by);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
