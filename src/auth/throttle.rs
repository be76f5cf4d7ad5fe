//! Brute-force protection for Git's and the registry's Basic auth and for web sign-in: an
//! address that fails too often within a window is answered 429 for a cooling-off period.
//! Only that address is affected: no account is locked, so nobody can lock another out.

use std::{collections::HashMap, net::IpAddr, sync::Mutex};

use axum::http::HeaderValue;

use chrono::{DateTime, Duration, Utc};

/// The limits (from `WVS_GIT_AUTH_*` or `WVS_SIGN_IN_*`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_failures: u32,
    pub window: Duration,
    pub cooldown: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_failures: 10,
            window: Duration::minutes(1),
            cooldown: Duration::minutes(5),
        }
    }
}

#[derive(Debug, Default)]
struct Record {
    failures: Vec<DateTime<Utc>>,
    blocked_until: Option<DateTime<Utc>>,
}

/// Failure counts per address.
#[derive(Debug, Default)]
pub struct Throttle {
    limits: Limits,
    records: Mutex<HashMap<IpAddr, Record>>,
}

/// Addresses remembered at most; beyond this, stale records are dropped first.
const MAX_ADDRESSES: usize = 100_000;

impl Throttle {
    pub fn new(limits: Limits) -> Self {
        Throttle {
            limits,
            records: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt from `ip` *before* its credentials are checked, so that attempts
    /// sent in parallel cannot all slip under the limit while the slow check runs. The
    /// attempt stops counting when dropped unless [`Attempt::failed`] was called.
    /// `Err(remaining)` when the address is cooling off (this attempt may have started it).
    pub fn begin(&self, ip: IpAddr, now: DateTime<Utc>) -> Result<Attempt<'_>, Duration> {
        let Ok(mut records) = self.records.lock() else {
            // A poisoned lock must not lock everyone out.
            return Ok(Attempt::new(self, ip, now));
        };
        if records.len() >= MAX_ADDRESSES {
            let window = self.limits.window;
            records.retain(|_, record| {
                record.blocked_until.is_some_and(|until| until > now)
                    || record
                        .failures
                        .last()
                        .is_some_and(|&last| now - last < window)
            });
        }
        let record = records.entry(ip).or_default();
        if let Some(until) = record.blocked_until.filter(|&until| now < until) {
            return Err(until - now);
        }
        record.failures.retain(|&at| now - at < self.limits.window);
        if record.failures.len() as u32 >= self.limits.max_failures {
            record.failures.clear();
            record.blocked_until = Some(now + self.limits.cooldown);
            tracing::warn!(%ip, "too many failed authentications from one address; cooling off");
            return Err(self.limits.cooldown);
        }
        record.failures.push(now);
        Ok(Attempt::new(self, ip, now))
    }

    /// Takes back one attempt made at `at` (it turned out not to be a failure).
    fn forgive(&self, ip: IpAddr, at: DateTime<Utc>) {
        if let Ok(mut records) = self.records.lock()
            && let Some(record) = records.get_mut(&ip)
            && let Some(position) = record.failures.iter().position(|&when| when == at)
        {
            record.failures.remove(position);
        }
    }
}

/// One authentication attempt in progress, counted against its address.
#[must_use = "an attempt stops counting when dropped; call `failed` on bad credentials"]
pub struct Attempt<'a> {
    throttle: &'a Throttle,
    ip: IpAddr,
    at: DateTime<Utc>,
    failed: bool,
}

impl<'a> Attempt<'a> {
    fn new(throttle: &'a Throttle, ip: IpAddr, at: DateTime<Utc>) -> Self {
        Attempt {
            throttle,
            ip,
            at,
            failed: false,
        }
    }

    /// The credentials were bad: the attempt keeps counting for the window.
    pub fn failed(mut self) {
        self.failed = true;
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.failed {
            self.throttle.forgive(self.ip, self.at);
        }
    }
}

/// A `Retry-After` value for a remaining cooling-off period: whole seconds, rounded up.
pub fn retry_after(remaining: Duration) -> HeaderValue {
    let millis = remaining.num_milliseconds().max(1);
    HeaderValue::from((millis + 999) / 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> Throttle {
        Throttle::new(Limits {
            max_failures: 3,
            window: Duration::minutes(1),
            cooldown: Duration::minutes(5),
        })
    }

    fn start() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2027-01-15T12:00:00Z")
            .expect("time")
            .to_utc()
    }

    #[test]
    fn an_address_is_blocked_after_too_many_failures_then_released() {
        let throttle = throttle();
        let ip: IpAddr = "10.0.0.1".parse().expect("ip");
        let other: IpAddr = "10.0.0.2".parse().expect("ip");
        let start = start();
        throttle.begin(ip, start).expect("first").failed();
        // A failure outside the window does not count.
        let later = start + Duration::minutes(2);
        for _ in 0..3 {
            throttle
                .begin(ip, later)
                .expect("within the limit")
                .failed();
        }
        assert_eq!(
            throttle.begin(ip, later).err(),
            Some(Duration::minutes(5)),
            "the fourth attempt starts the cooling off"
        );
        assert_eq!(
            throttle.begin(ip, start + Duration::minutes(3)).err(),
            Some(Duration::minutes(4))
        );
        assert!(throttle.begin(other, later).is_ok());
        assert!(throttle.begin(ip, start + Duration::minutes(7)).is_ok());
        assert_eq!(retry_after(Duration::milliseconds(1500)), "2");
        assert_eq!(retry_after(Duration::zero()), "1");
    }

    #[test]
    fn attempts_in_flight_count_so_parallel_guesses_cannot_slip_through() {
        let throttle = throttle();
        let ip: IpAddr = "10.0.0.1".parse().expect("ip");
        let now = start();
        let in_flight: Vec<_> = (0..3)
            .map(|_| throttle.begin(ip, now).expect("ok"))
            .collect();
        assert!(
            throttle.begin(ip, now).is_err(),
            "a fourth parallel attempt is refused"
        );
        drop(in_flight);
    }

    #[test]
    fn successful_attempts_do_not_count() {
        let throttle = throttle();
        let ip: IpAddr = "10.0.0.1".parse().expect("ip");
        let now = start();
        for _ in 0..10 {
            let attempt = throttle.begin(ip, now).expect("never blocked");
            drop(attempt);
        }
        throttle.begin(ip, now).expect("ok").failed();
        throttle.begin(ip, now).expect("ok").failed();
        assert!(
            throttle.begin(ip, now).is_ok(),
            "two failures are under the limit"
        );
    }
}
