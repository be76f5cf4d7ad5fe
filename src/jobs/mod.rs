//! Background jobs: the daily expiry notifications and the scheduler that runs them once
//! per UTC day across every server process sharing the database.

pub mod expiry;
pub mod scheduler;

use std::fmt;

/// A scheduled job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Job {
    /// 01:00 UTC: tokens expiring within the next seven days.
    ExpiringTokens,
    /// 02:00 UTC: tokens that expired today.
    ExpiredTokens,
}

impl Job {
    pub const ALL: [Job; 2] = [Job::ExpiringTokens, Job::ExpiredTokens];

    /// The name used on the command line and in the `job_runs` table.
    pub fn as_str(self) -> &'static str {
        match self {
            Job::ExpiringTokens => "expiring-tokens",
            Job::ExpiredTokens => "expired-tokens",
        }
    }

    pub fn from_name(name: &str) -> Option<Job> {
        Job::ALL.into_iter().find(|job| job.as_str() == name)
    }
}

impl fmt::Display for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
