//! The one source of "now" and "today", always UTC. Tests move a [`ManualClock`] instead of
//! sleeping; nothing reads the host time zone or the database's `now()`.

use std::sync::Mutex;

use chrono::{DateTime, Duration, NaiveDate, Utc};

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
    // Through the millisecond count rather than `duration_trunc`, which costs several times
    // as much (the token path reads the clock on every request).
    DateTime::from_timestamp_millis(instant.timestamp_millis()).unwrap_or(instant)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_truncated_to_whole_milliseconds() {
        let at = |text: &str| DateTime::parse_from_rfc3339(text).expect("time").to_utc();
        assert_eq!(
            to_millis(at("2027-01-15T12:00:00.123987654Z")),
            at("2027-01-15T12:00:00.123Z")
        );
        assert_eq!(
            to_millis(at("2027-01-15T23:59:59.999999999Z")),
            at("2027-01-15T23:59:59.999Z")
        );
        assert_eq!(
            to_millis(at("2027-01-15T12:00:00Z")),
            at("2027-01-15T12:00:00Z")
        );
        // Before 1970 too: towards the past, like every later instant.
        assert_eq!(
            to_millis(at("1969-12-31T23:59:59.9995Z")),
            at("1969-12-31T23:59:59.999Z")
        );
    }
}
