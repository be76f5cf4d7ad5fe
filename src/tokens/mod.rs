//! Personal access tokens: format, scopes, input rules, and the operations on them.

pub mod create;
pub mod input;
pub mod last_used;
pub mod list;
pub mod rekey;
pub mod revoke;
pub mod scope;
pub mod secret;

use chrono::NaiveDate;
use entity::{personal_access_token as pat, user};
use sea_orm::{ConnectionTrait, EntityTrait};

use crate::{
    auth::principal::Principal,
    error::{Error, Result},
    users::UserState,
};

/// Whether a token with this expiry date has expired on `today` (UTC): it stops working
/// at 00:00:00 UTC of its expiry date.
pub fn is_expired(expires_at: Option<NaiveDate>, today: NaiveDate) -> bool {
    expires_at.is_some_and(|date| date <= today)
}

/// Whether `token` authenticates on `today`, given its owner.
pub fn is_active(token: &pat::Model, owner: &user::Model, today: NaiveDate) -> bool {
    token.revoked_at.is_none()
        && !is_expired(token.expires_at, today)
        && UserState::of(owner) == UserState::Active
}

/// Loads a token the principal may see and act on: their own non-impersonation tokens,
/// or any token for an admin. Others are `NOT_FOUND`, so existence does not leak.
pub async fn find_visible(
    db: &impl ConnectionTrait,
    principal: &Principal,
    token_id: i64,
) -> Result<pat::Model> {
    let token = pat::Entity::find_by_id(token_id)
        .one(db)
        .await?
        .ok_or(Error::NotFound("Personal access token"))?;
    let own = token.user_id == principal.user.id && !token.impersonation;
    if own || principal.is_admin() {
        Ok(token)
    } else {
        Err(Error::NotFound("Personal access token"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_expires_at_midnight_utc_of_its_expiry_date() {
        let date: NaiveDate = "2027-03-10".parse().expect("date");
        assert!(!is_expired(
            Some(date),
            date.pred_opt().expect("day before")
        ));
        assert!(is_expired(Some(date), date));
        assert!(is_expired(Some(date), date.succ_opt().expect("day after")));
        assert!(!is_expired(None, date));
    }
}
