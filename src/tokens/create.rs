//! Creating tokens: the one path through which every surface (GraphQL, web, shell) issues one.

use chrono::NaiveDate;
use entity::{personal_access_token as pat, user};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};

use crate::{
    audit::{self, Action, Event},
    auth::principal::{Credential, Principal},
    error::{Error, Result},
    mail::{self, templates},
    state::AppState,
    tokens::{
        input::{ExpiryDate, ExpiryPolicy, TokenDescription, TokenName, parse_scopes},
        scope::{Scope, ScopeSet},
        secret::TokenSecret,
    },
    users::UserState,
};

/// What a caller asks for, unparsed: every surface builds one of these.
#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    pub name: String,
    pub description: Option<String>,
    pub expires_at: Option<NaiveDate>,
    pub scopes: Vec<Scope>,
}

/// A freshly issued token: the only time the plain secret exists outside the client.
#[derive(Debug)]
pub struct CreatedToken {
    pub secret: TokenSecret,
    pub token: pat::Model,
}

/// The parsed, checked attributes of a token about to be inserted.
pub(crate) struct NewToken {
    pub owner_id: i64,
    pub name: String,
    pub description: Option<String>,
    pub scopes: ScopeSet,
    pub expires_at: Option<NaiveDate>,
    pub impersonation: bool,
    pub created_by_id: Option<i64>,
    pub previous_token_id: Option<i64>,
}

/// The instance's expiry rules, refusing outright while tokens are disabled.
pub async fn expiry_policy(state: &AppState) -> Result<ExpiryPolicy> {
    let settings = state.settings.get(&state.db, state.clock.now()).await?;
    if settings.personal_access_tokens_disabled {
        return Err(Error::Forbidden(
            "Personal access tokens are disabled on this instance.".into(),
        ));
    }
    Ok(settings.expiry_policy())
}

/// Creates a personal access token for the acting user.
pub async fn create_own(
    state: &AppState,
    actor: &Principal,
    request: CreateRequest,
) -> Result<CreatedToken> {
    let owner = actor.user.clone();
    create(state, actor, &owner, request, false).await
}

/// Creates a token owned by `owner`; `impersonation` marks an admin-made token for another user.
pub async fn create(
    state: &AppState,
    actor: &Principal,
    owner: &user::Model,
    request: CreateRequest,
    impersonation: bool,
) -> Result<CreatedToken> {
    actor.require_not_impersonating()?;
    let at_shell = matches!(actor.credential, Credential::Shell);
    if impersonation && !at_shell && owner.id == actor.audit_actor().id {
        return Err(Error::bad_input(
            "userId",
            "create a personal access token for yourself instead",
        ));
    }
    let name = TokenName::parse(&request.name)?;
    let description = TokenDescription::parse(request.description.as_deref())?;
    let scopes = parse_scopes(&request.scopes)?;
    let policy = expiry_policy(state).await?;
    let expires_at = ExpiryDate::parse(request.expires_at, state.clock.today(), policy)?;
    check_scopes_allowed(actor, owner, scopes)?;
    if impersonation {
        actor.require_admin()?;
    }
    if UserState::of(owner) != UserState::Active {
        return Err(Error::bad_input("userId", "the user is blocked"));
    }
    let new = NewToken {
        owner_id: owner.id,
        name: name.as_str().to_owned(),
        description: description.into_inner(),
        scopes,
        expires_at: expires_at.date(),
        impersonation,
        // From the shell there is no administrator to record.
        created_by_id: if impersonation && !matches!(actor.credential, Credential::Shell) {
            Some(actor.audit_actor().id)
        } else {
            None
        },
        previous_token_id: None,
    };
    let action = if impersonation {
        Action::ImpersonationTokenCreated
    } else {
        Action::TokenCreated
    };
    let event = Event::by(actor, action).target(owner);
    let state_for_tx = state.clone();
    let owner = owner.clone();
    let created_by = impersonation.then(|| actor.audit_actor().username);
    let created = crate::db::write(&state.db, move |tx| {
        Box::pin(async move {
            let now = state_for_tx.clock.now();
            let created = insert(tx, &state_for_tx, new).await?;
            let event = event
                .token(created.token.id)
                .details(describe(&created.token));
            audit::record(tx, now, event).await?;
            let email = templates::token_created(
                &state_for_tx.config.external_url,
                &owner,
                &created.token,
                created_by.as_deref(),
            );
            mail::queue(tx, now, &owner, email).await?;
            Ok(created)
        })
    })
    .await?;
    state.mailer.wake();
    Ok(created)
}

/// What the audit log keeps about a token (never its secret).
pub(crate) fn describe(token: &pat::Model) -> serde_json::Value {
    serde_json::json!({
        "name": token.name,
        "scopes": token.scopes,
        "expiresAt": token.expires_at.map(|date| date.to_string()),
        "impersonation": token.impersonation,
    })
}

/// The scope rules that depend on who asks: `sudo` only for admins, and a token can never
/// mint a token that can do more than itself (see [`ScopeSet::covers`]).
pub(crate) fn check_scopes_allowed(
    actor: &Principal,
    owner: &user::Model,
    scopes: ScopeSet,
) -> Result<()> {
    if scopes.contains(Scope::Sudo) && !owner.admin {
        return Err(Error::bad_input(
            "scopes",
            "sudo is only available to administrators",
        ));
    }
    if let Some(own_scopes) = actor.token_scopes()
        && !own_scopes.covers(scopes)
    {
        return Err(Error::Forbidden(
            "A token cannot create a token with more access than it has itself.".into(),
        ));
    }
    Ok(())
}

/// Inserts a token with a fresh secret, returning the secret once.
pub(crate) async fn insert(
    db: &impl ConnectionTrait,
    state: &AppState,
    new: NewToken,
) -> Result<CreatedToken> {
    let secret = TokenSecret::generate();
    let token = pat::ActiveModel {
        user_id: Set(new.owner_id),
        name: Set(new.name),
        description: Set(new.description),
        scopes: Set(new.scopes.to_stored()),
        digest: Set(secret.digest(&state.secret_key).to_vec()),
        created_at: Set(state.clock.now()),
        expires_at: Set(new.expires_at),
        last_used_at: Set(None),
        revoked_at: Set(None),
        impersonation: Set(new.impersonation),
        created_by_id: Set(new.created_by_id),
        previous_token_id: Set(new.previous_token_id),
        expiring_notified_at: Set(None),
        expired_notified_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(CreatedToken { secret, token })
}
