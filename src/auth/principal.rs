//! `Principal`: who is acting, and through which credential (which bounds what they may do).

use entity::{personal_access_token as pat, user};

use crate::{
    error::{Error, Result},
    tokens::scope::{Access, ScopeSet},
};

/// An authenticated actor.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: user::Model,
    pub credential: Credential,
}

/// How the principal proved who they are.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A personal access token; its scopes bound the request.
    Token(pat::Model),
    /// A signed-in browser session: the user's full rights.
    Session,
    /// The operator at the server's shell (`wvs token create`): full rights.
    Shell,
}

impl Principal {
    /// The scopes bounding this request, when it is authenticated by a token.
    pub fn token_scopes(&self) -> Option<ScopeSet> {
        match &self.credential {
            Credential::Token(token) => Some(ScopeSet::from_stored(&token.scopes)),
            Credential::Session | Credential::Shell => None,
        }
    }

    /// The token authenticating this request, if any.
    pub fn token(&self) -> Option<&pat::Model> {
        match &self.credential {
            Credential::Token(token) => Some(token),
            Credential::Session | Credential::Shell => None,
        }
    }

    /// Refuses with `FORBIDDEN` + `requiredScopes` unless the credential grants `access`.
    pub fn require(&self, access: Access) -> Result<()> {
        match self.token_scopes() {
            Some(scopes) if !scopes.permits(access) => Err(Error::InsufficientScope {
                required_scopes: access.accepted_scopes(),
            }),
            _ => Ok(()),
        }
    }

    pub fn is_admin(&self) -> bool {
        self.user.admin || matches!(self.credential, Credential::Shell)
    }

    /// Refuses unless the principal is an administrator.
    pub fn require_admin(&self) -> Result<()> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(Error::Forbidden("Only administrators can do this.".into()))
        }
    }
}
