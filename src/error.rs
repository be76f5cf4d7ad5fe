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
    /// Anything else. The cause is logged; the client sees only `INTERNAL`.
    #[error("Internal server error.")]
    Internal(#[source] anyhow::Error),
}

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
            Error::Internal(_) => "INTERNAL",
        }
    }
}

impl From<sea_orm::DbErr> for Error {
    fn from(error: sea_orm::DbErr) -> Self {
        Error::Internal(error.into())
    }
}

impl Error {
    /// Sets `extensions` (code, `requiredScopes`, `field`) on a GraphQL error made from this
    /// error; the one place domain errors meet the GraphQL wire format.
    pub fn annotate(&self, server_error: &mut async_graphql::ServerError) {
        if let Error::Internal(cause) = self {
            tracing::error!(error = format!("{cause:#}"), "internal error");
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
