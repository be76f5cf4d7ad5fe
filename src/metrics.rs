//! Process counters exposed at `/-/metrics` in the Prometheus text format. Plain atomics:
//! the hot path pays one relaxed increment per counter it touches.

use std::{
    fmt::Write,
    sync::atomic::{AtomicU64, Ordering::Relaxed},
};

use crate::auth::cache::AuthCache;

/// Why an authentication attempt was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    Malformed,
    Unknown,
    Revoked,
    Expired,
    UserBlocked,
    QueryString,
    /// Personal access tokens are disabled on this instance.
    TokensDisabled,
    /// An impersonation token whose administrator is gone, blocked or no longer an admin.
    ImpersonatorInactive,
}

impl AuthFailure {
    const ALL: [AuthFailure; 8] = [
        AuthFailure::Malformed,
        AuthFailure::Unknown,
        AuthFailure::Revoked,
        AuthFailure::Expired,
        AuthFailure::UserBlocked,
        AuthFailure::QueryString,
        AuthFailure::TokensDisabled,
        AuthFailure::ImpersonatorInactive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuthFailure::Malformed => "malformed",
            AuthFailure::Unknown => "unknown",
            AuthFailure::Revoked => "revoked",
            AuthFailure::Expired => "expired",
            AuthFailure::UserBlocked => "user_blocked",
            AuthFailure::QueryString => "token_in_query_string",
            AuthFailure::TokensDisabled => "tokens_disabled",
            AuthFailure::ImpersonatorInactive => "impersonator_inactive",
        }
    }
}

/// HTTP responses by status class.
const OUTCOMES: [&str; 4] = ["2xx", "3xx", "4xx", "5xx"];

/// All counters of the process.
#[derive(Debug, Default)]
pub struct Metrics {
    http_responses: [AtomicU64; 4],
    auth_successes: AtomicU64,
    auth_failures: [AtomicU64; 8],
    last_used_writes: AtomicU64,
    rekeys: AtomicU64,
    db_statements: AtomicU64,
    feed_reads: AtomicU64,
    graphql_full_validations: AtomicU64,
    graphql_remembered_validations: AtomicU64,
}

impl Metrics {
    pub fn record_response(&self, status: u16) {
        let class = match status {
            300..=399 => 1,
            400..=499 => 2,
            500..=599 => 3,
            _ => 0,
        };
        self.http_responses[class].fetch_add(1, Relaxed);
    }

    pub fn record_auth_success(&self) {
        self.auth_successes.fetch_add(1, Relaxed);
    }

    pub fn record_auth_failure(&self, reason: AuthFailure) {
        self.auth_failures[reason as usize].fetch_add(1, Relaxed);
    }

    pub fn record_last_used_writes(&self, rows: u64) {
        self.last_used_writes.fetch_add(rows, Relaxed);
    }

    pub fn record_rekey(&self) {
        self.rekeys.fetch_add(1, Relaxed);
    }

    pub fn record_db_statement(&self) {
        self.db_statements.fetch_add(1, Relaxed);
    }

    pub fn record_feed_read(&self) {
        self.feed_reads.fetch_add(1, Relaxed);
    }

    /// A GraphQL request ran through the executor's full validation (`remembered` false) or
    /// reused the verdict on its document (`remembered` true).
    pub fn record_graphql_validation(&self, remembered: bool) {
        if remembered {
            self.graphql_remembered_validations.fetch_add(1, Relaxed);
        } else {
            self.graphql_full_validations.fetch_add(1, Relaxed);
        }
    }

    /// Rows written by the last-used recorder since start.
    pub fn last_used_writes(&self) -> u64 {
        self.last_used_writes.load(Relaxed)
    }

    /// Database statements run through the pool since start (feed reads excepted).
    pub fn db_statements(&self) -> u64 {
        self.db_statements.load(Relaxed)
    }

    /// The Prometheus text exposition, with the token cache's size and listener.
    pub fn render(&self, auth_cache: &AuthCache) -> String {
        let listener = &auth_cache.listener;
        let mut out = String::new();
        header(
            &mut out,
            "wvs_http_responses_total",
            "counter",
            "HTTP responses by status class.",
        );
        for (outcome, counter) in OUTCOMES.iter().zip(&self.http_responses) {
            let _ = writeln!(
                out,
                "wvs_http_responses_total{{outcome=\"{outcome}\"}} {}",
                counter.load(Relaxed)
            );
        }
        let auth_successes = self.auth_successes.load(Relaxed);
        sample(
            &mut out,
            "wvs_auth_successes_total",
            "counter",
            "Requests authenticated by a token.",
            auth_successes,
        );
        header(
            &mut out,
            "wvs_auth_failures_total",
            "counter",
            "Refused credentials by reason.",
        );
        for reason in AuthFailure::ALL {
            let _ = writeln!(
                out,
                "wvs_auth_failures_total{{reason=\"{}\"}} {}",
                reason.as_str(),
                self.auth_failures[reason as usize].load(Relaxed)
            );
        }
        let samples: [(&str, &str, &str, u64); 10] = [
            (
                "wvs_last_used_writes_total",
                "counter",
                "Token last-used timestamps written.",
                self.last_used_writes(),
            ),
            (
                "wvs_token_rekeys_total",
                "counter",
                "Token digests moved from a previous secret key to the current one.",
                self.rekeys.load(Relaxed),
            ),
            (
                "wvs_db_statements_total",
                "counter",
                "Database statements executed.",
                self.db_statements(),
            ),
            (
                "wvs_auth_feed_reads_total",
                "counter",
                "Reads of the token-cache change feed (background).",
                self.feed_reads.load(Relaxed),
            ),
            (
                "wvs_graphql_full_validations_total",
                "counter",
                "GraphQL requests checked by every validation rule.",
                self.graphql_full_validations.load(Relaxed),
            ),
            (
                "wvs_graphql_remembered_validations_total",
                "counter",
                "GraphQL requests whose document had already passed every rule without variables.",
                self.graphql_remembered_validations.load(Relaxed),
            ),
            (
                "wvs_auth_cache_entries",
                "gauge",
                "Verified tokens held in the token cache.",
                auth_cache.len() as u64,
            ),
            (
                "wvs_auth_feed_listening",
                "gauge",
                "Whether the PostgreSQL change notifications are being listened to.",
                u64::from(listener.listening.load(Relaxed)),
            ),
            (
                "wvs_auth_feed_connections_total",
                "counter",
                "Change-notification connections established.",
                listener.connections.load(Relaxed),
            ),
            (
                "wvs_auth_feed_notifications_total",
                "counter",
                "Change notifications received.",
                listener.notifications.load(Relaxed),
            ),
        ];
        for (name, kind, help, value) in samples {
            sample(&mut out, name, kind, help, value);
        }
        out
    }
}

/// A metric's `# HELP` and `# TYPE` lines.
fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A metric without labels: its header and its one sample.
fn sample(out: &mut String, name: &str, kind: &str, help: &str, value: u64) {
    header(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}
