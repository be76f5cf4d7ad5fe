//! The domain error, mapped once to GraphQL `extensions.code` (and, at the HTTP edge, status).

use crate::tokens::scope::Scope;

/// Everything a service call can refuse with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The operation needs credentials and none were presented.
    #[error("You must authenticate to perform this action.")]
    Unauthenticated,
    /// The token lacks every scope that would grant the operation.
    #[error("The token's scopes do not allow this action.")]
    InsufficientScope { required_scopes: &'static [Scope] },
    /// Authenticated, but not allowed (not an admin, not the owner's privilege, …).
    #[error("{0}")]
    Forbidden(String),
    /// Bad input, naming the offending field.
    #[error("{field}: {message}")]
    BadInput { field: String, message: String },
    /// The object does not exist or the caller may not see it.
    #[error("{0} not found.")]
    NotFound(&'static str),
    /// The database cannot be reached (down, restarting, every connection busy): nothing
    /// was done and the same request may succeed later. Answered with HTTP 503.
    #[error("The service is temporarily unavailable. Try again in a moment.")]
    Unavailable(#[source] anyhow::Error),
    /// Anything else. The cause is logged; the client sees only `INTERNAL`.
    #[error("Internal server error.")]
    Internal(#[source] anyhow::Error),
}

/// The `extensions.code` of [`Error::Unavailable`] (and of the 503 answer at the edge).
pub const UNAVAILABLE_CODE: &str = "SERVICE_UNAVAILABLE";

/// Shorthand for service results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Bad input for `field`.
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Error {
        Error::BadInput {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The `extensions.code` clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Unauthenticated => "UNAUTHENTICATED",
            Error::InsufficientScope { .. } | Error::Forbidden(_) => "FORBIDDEN",
            Error::BadInput { .. } => "BAD_USER_INPUT",
            Error::NotFound(_) => "NOT_FOUND",
            Error::Unavailable(_) => UNAVAILABLE_CODE,
            Error::Internal(_) => "INTERNAL",
        }
    }
}

impl From<sea_orm::DbErr> for Error {
    fn from(error: sea_orm::DbErr) -> Self {
        if database_unreachable(&error) {
            Error::Unavailable(error.into())
        } else {
            Error::Internal(error.into())
        }
    }
}

impl Error {
    /// A database error shared by several waiters (the dataloader's), with what was being done.
    pub fn from_shared_db(context: &str, error: &sea_orm::DbErr) -> Error {
        let cause = anyhow::anyhow!("{context}: {error}");
        if database_unreachable(error) {
            Error::Unavailable(cause)
        } else {
            Error::Internal(cause)
        }
    }
}

/// Whether a database error means "cannot reach the database now" (retry later) rather
/// than a failed statement: no connection, a dropped one, or SQLite still busy after its
/// busy timeout.
fn database_unreachable(error: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr, sqlx};
    match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(cause)) | DbErr::Query(RuntimeErr::SqlxError(cause)) => {
            match cause.as_ref() {
                sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::Protocol(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed => true,
                // SQLITE_BUSY (5) and SQLITE_LOCKED (6), with their extended codes.
                sqlx::Error::Database(database) => database
                    .code()
                    .and_then(|code| code.parse::<u32>().ok())
                    .is_some_and(|code| matches!(code & 0xff, 5 | 6)),
                _ => false,
            }
        }
        _ => false,
    }
}

impl Error {
    /// Sets `extensions` (code, `requiredScopes`, `field`) on a GraphQL error made from this
    /// error; the one place domain errors meet the GraphQL wire format.
    pub fn annotate(&self, server_error: &mut async_graphql::ServerError) {
        match self {
            Error::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "internal error")
            }
            Error::Unavailable(cause) => {
                tracing::warn!(error = format!("{cause:#}"), "database unavailable")
            }
            _ => {}
        }
        server_error.message = self.to_string();
        let extensions = server_error.extensions.get_or_insert_with(Default::default);
        extensions.set("code", self.code());
        match self {
            Error::InsufficientScope { required_scopes } => {
                let names: Vec<async_graphql::Value> = required_scopes
                    .iter()
                    .map(|scope| async_graphql::Value::from(scope.as_str()))
                    .collect();
                extensions.set("requiredScopes", names);
            }
            Error::BadInput { field, .. } => extensions.set("field", field.as_str()),
            _ => {}
        }
    }

    /// A GraphQL error for this error, outside any resolver (e.g. the scope guard).
    pub fn into_server_error(self) -> async_graphql::ServerError {
        let mut server_error = async_graphql::ServerError::new(String::new(), None);
        self.annotate(&mut server_error);
        server_error
    }
}
