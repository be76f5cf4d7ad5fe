//! The `AccessTokenScope` enum and `AccessTokenScopeInfo`.

use async_graphql::{Enum, SimpleObject};

use crate::tokens::scope::Scope;

/// A permission a token can carry.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessTokenScope {
    /// Full read and write access to the API, Git repositories and the registry.
    Api,
    /// Every API query but no mutation; Git pull; registry pull.
    ReadApi,
    /// Only the user queries: currentUser, user, users.
    ReadUser,
    /// Git pull; no API access.
    ReadRepository,
    /// Git pull and push; no API access.
    WriteRepository,
    /// Registry pull; no API access.
    ReadRegistry,
    /// Registry push; no API access.
    WriteRegistry,
    /// With an administrator's token, act as any user with the Sudo header.
    Sudo,
}

impl From<AccessTokenScope> for Scope {
    fn from(scope: AccessTokenScope) -> Scope {
        match scope {
            AccessTokenScope::Api => Scope::Api,
            AccessTokenScope::ReadApi => Scope::ReadApi,
            AccessTokenScope::ReadUser => Scope::ReadUser,
            AccessTokenScope::ReadRepository => Scope::ReadRepository,
            AccessTokenScope::WriteRepository => Scope::WriteRepository,
            AccessTokenScope::ReadRegistry => Scope::ReadRegistry,
            AccessTokenScope::WriteRegistry => Scope::WriteRegistry,
            AccessTokenScope::Sudo => Scope::Sudo,
        }
    }
}

impl From<Scope> for AccessTokenScope {
    fn from(scope: Scope) -> AccessTokenScope {
        match scope {
            Scope::Api => AccessTokenScope::Api,
            Scope::ReadApi => AccessTokenScope::ReadApi,
            Scope::ReadUser => AccessTokenScope::ReadUser,
            Scope::ReadRepository => AccessTokenScope::ReadRepository,
            Scope::WriteRepository => AccessTokenScope::WriteRepository,
            Scope::ReadRegistry => AccessTokenScope::ReadRegistry,
            Scope::WriteRegistry => AccessTokenScope::WriteRegistry,
            Scope::Sudo => AccessTokenScope::Sudo,
        }
    }
}

/// A scope with what it grants.
#[derive(SimpleObject)]
pub struct AccessTokenScopeInfo {
    pub name: AccessTokenScope,
    pub description: String,
    /// Only administrators can create tokens with this scope.
    pub admin_only: bool,
}

impl From<Scope> for AccessTokenScopeInfo {
    fn from(scope: Scope) -> Self {
        AccessTokenScopeInfo {
            name: scope.into(),
            description: scope.description().to_owned(),
            admin_only: scope.admin_only(),
        }
    }
}
