//! The `Sudo` header: an administrator's token with the `sudo` scope acts as another user,
//! with that user's visibility. Every other combination is refused and nothing is done.

use entity::user;

use crate::{
    audit::{Action, Event},
    auth::principal::{Credential, Principal},
    error::{Error, Result},
    state::AppState,
    tokens::scope::Scope,
    users::{self, UserState},
};

/// The header's name.
pub const SUDO_HEADER: &str = "sudo";

/// Turns `principal` into one acting as the user named by `target` (a username, a numeric
/// id or a global id), recording the switch in the audit log.
pub async fn act_as(
    state: &AppState,
    principal: Option<Principal>,
    target: &str,
) -> Result<Principal> {
    let refused =
        || Error::Forbidden("Sudo needs an administrator's token with the sudo scope.".into());
    let principal = principal.ok_or_else(refused)?;
    let Credential::Token(token) = &principal.credential else {
        return Err(refused());
    };
    let holds_sudo = principal
        .token_scopes()
        .is_some_and(|scopes| scopes.contains(Scope::Sudo));
    if !holds_sudo || token.impersonation || !principal.user.admin {
        return Err(refused());
    }
    let target = find_target(state, target)
        .await?
        .ok_or(Error::NotFound("User"))?;
    if UserState::of(&target) != UserState::Active {
        return Err(Error::Forbidden("The user is blocked.".into()));
    }
    let acting = Principal {
        user: std::sync::Arc::new(target.clone()),
        credential: Credential::Sudo {
            token: token.clone(),
            admin: principal.user.clone(),
        },
        ip: principal.ip,
    };
    // The authentication path never writes: the event goes to the background writer.
    state.refusals.record_event(
        state.clock.now(),
        Event::by(&acting, Action::SudoUsed)
            .target(&target)
            .token(token.id),
    );
    Ok(acting)
}

async fn find_target(state: &AppState, target: &str) -> Result<Option<user::Model>> {
    let target = target.trim();
    let id = target
        .strip_prefix("gid://wvs/User/")
        .unwrap_or(target)
        .parse::<i64>()
        .ok();
    match id {
        Some(id) => users::find_by_id(&state.db, id).await,
        None => users::find_by_username(&state.db, target).await,
    }
}
