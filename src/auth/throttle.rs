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

    /// How much longer `ip` is cooling off at `now`, if it is.
    pub fn cooling_off(&self, ip: IpAddr, now: DateTime<Utc>) -> Option<Duration> {
        let records = self.records.lock().ok()?;
        records
            .get(&ip)
            .and_then(|record| record.blocked_until)
            .filter(|&until| now < until)
            .map(|until| until - now)
    }

    /// Counts a failed attempt from `ip`; returns whether it is now blocked.
    pub fn record_failure(&self, ip: IpAddr, now: DateTime<Utc>) -> bool {
        let Ok(mut records) = self.records.lock() else {
            return false;
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
        record.failures.retain(|&at| now - at < self.limits.window);
        record.failures.push(now);
        if record.failures.len() as u32 >= self.limits.max_failures {
            record.failures.clear();
            record.blocked_until = Some(now + self.limits.cooldown);
            tracing::warn!(%ip, "too many failed authentications from one address; cooling off");
            return true;
        }
        false
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

    #[test]
    fn an_address_is_blocked_after_too_many_failures_then_released() {
        let throttle = Throttle::new(Limits {
            max_failures: 3,
            window: Duration::minutes(1),
            cooldown: Duration::minutes(5),
        });
        let ip: IpAddr = "10.0.0.1".parse().expect("ip");
        let other: IpAddr = "10.0.0.2".parse().expect("ip");
        let start = DateTime::parse_from_rfc3339("2027-01-15T12:00:00Z")
            .expect("time")
            .to_utc();
        assert!(!throttle.record_failure(ip, start));
        // A failure outside the window does not count.
        assert!(!throttle.record_failure(ip, start + Duration::minutes(2)));
        assert!(!throttle.record_failure(ip, start + Duration::minutes(2)));
        assert!(throttle.record_failure(ip, start + Duration::minutes(2)));
        assert_eq!(
            throttle.cooling_off(ip, start + Duration::minutes(3)),
            Some(Duration::minutes(4))
        );
        assert_eq!(
            throttle.cooling_off(other, start + Duration::minutes(3)),
            None
        );
        assert_eq!(throttle.cooling_off(ip, start + Duration::minutes(7)), None);
        assert_eq!(retry_after(Duration::milliseconds(1500)), "2");
        assert_eq!(retry_after(Duration::zero()), "1");
    }
}
