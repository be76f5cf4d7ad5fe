//! `Principal`: who is acting, through which credential (which bounds what they may do),
//! and from which address.

use std::{net::IpAddr, sync::Arc};

use entity::{personal_access_token as pat, user};

use crate::{
    audit::Party,
    error::{Error, Result},
    tokens::scope::{Access, ScopeSet},
};

/// An authenticated actor. Under sudo, `user` is the user acted as. The models are shared
/// with the token cache: authenticating a cached token copies no string.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: Arc<user::Model>,
    pub credential: Credential,
    /// The client's address, for the audit log (`None` at the shell).
    pub ip: Option<IpAddr>,
}

/// How the principal proved who they are.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A personal access token; its scopes bound the request.
    Token(Arc<pat::Model>),
    /// An impersonation token: acts as `Principal::user`, on behalf of the administrator
    /// who created it (the audit log names them; `None` when it was made at the shell).
    Impersonation {
        token: Arc<pat::Model>,
        admin: Option<Arc<user::Model>>,
    },
    /// An administrator's `sudo` token acting as `Principal::user`.
    Sudo {
        token: Arc<pat::Model>,
        admin: Arc<user::Model>,
    },
    /// A signed-in browser session: the user's full rights.
    Session,
    /// The operator at the server's shell (`wvs token create`): full rights.
    Shell,
}

impl Principal {
    /// The scopes bounding this request, when it is authenticated by a token.
    pub fn token_scopes(&self) -> Option<ScopeSet> {
        self.token()
            .map(|token| ScopeSet::from_stored(&token.scopes))
    }

    /// The token authenticating this request, if any.
    pub fn token(&self) -> Option<&pat::Model> {
        match &self.credential {
            Credential::Token(token)
            | Credential::Impersonation { token, .. }
            | Credential::Sudo { token, .. } => Some(token),
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

    /// Whether the acting user is an administrator (under sudo: the user acted as).
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

    /// Refuses when the request is authenticated by an impersonation token: such a token may
    /// act as its user but never mint credentials that would outlive the impersonation.
    pub fn require_not_impersonating(&self) -> Result<()> {
        match self.credential {
            Credential::Impersonation { .. } => Err(Error::Forbidden(
                "Impersonation tokens cannot create or rotate tokens.".into(),
            )),
            _ => Ok(()),
        }
    }

    /// The real person behind the request: the administrator under sudo or impersonation.
    pub fn audit_actor(&self) -> Party {
        match &self.credential {
            Credential::Sudo { admin, .. }
            | Credential::Impersonation {
                admin: Some(admin), ..
            } => (&**admin).into(),
            _ => (&*self.user).into(),
        }
    }

    /// The user acted as, under sudo.
    pub fn sudo_as(&self) -> Option<Party> {
        matches!(self.credential, Credential::Sudo { .. }).then(|| (&*self.user).into())
    }

    /// A short name of the credential kind, for the audit log.
    pub fn credential_name(&self) -> &'static str {
        match self.credential {
            Credential::Token(_) => "token",
            Credential::Impersonation { .. } => "impersonation_token",
            Credential::Sudo { .. } => "sudo",
            Credential::Session => "session",
            Credential::Shell => "shell",
        }
    }
}
