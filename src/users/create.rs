//! Creating users: the bootstrap from the shell and `userCreate` for admins.

use entity::user;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use crate::{
    audit::{self, Action, Event},
    auth::principal::Principal,
    error::{Error, Result},
    state::AppState,
    users::{
        UserState,
        password::{self, Password},
    },
};

/// A username: 1–255 characters of letters, digits, `_`, `-` and `.`, starting with a
/// letter or digit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Username> {
        let name = raw.trim();
        let valid_chars = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        let valid_start = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
        if name.is_empty() || name.len() > 255 || !valid_chars || !valid_start {
            return Err(Error::bad_input(
                "username",
                "must be 1–255 letters, digits, '_', '-' or '.', starting with a letter or digit",
            ));
        }
        Ok(Username(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address, stored lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<EmailAddress> {
        let email = raw.trim().to_lowercase();
        let well_formed = email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
        let clean = !email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ','));
        let deliverable = email.parse::<lettre::Address>().is_ok() && !email.contains(['[', ']']);
        if !well_formed
            || !clean
            || !deliverable
            || email.len() > 255
            || email.matches('@').count() != 1
        {
            return Err(Error::bad_input("email", "is not a valid email address"));
        }
        Ok(EmailAddress(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What is needed to create a user, unparsed.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub username: String,
    pub email: String,
    pub name: Option<String>,
    pub password: Option<String>,
    pub admin: bool,
}

/// Creates a user; username and email must be free (case-insensitively). `actor` is the
/// administrator creating them (`None` at the shell), recorded in the audit log.
pub async fn create(
    state: &AppState,
    actor: Option<&Principal>,
    new: NewUser,
) -> Result<user::Model> {
    if let Some(actor) = actor {
        actor.require_admin()?;
    }
    let username = Username::parse(&new.username)?;
    let email = EmailAddress::parse(&new.email)?;
    let name = match new.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        None => username.as_str().to_owned(),
        Some(name) if name.chars().count() > 255 || name.chars().any(char::is_control) => {
            return Err(Error::bad_input(
                "name",
                "must be at most 255 characters, without control characters",
            ));
        }
        Some(name) => name.to_owned(),
    };
    let password = new.password.as_deref().map(Password::parse).transpose()?;
    let username_key = username.as_str().to_lowercase();
    let taken = |column: user::Column, value: &str| {
        user::Entity::find()
            .filter(column.eq(value.to_owned()))
            .one(&state.db)
    };
    if taken(user::Column::UsernameKey, &username_key)
        .await?
        .is_some()
    {
        return Err(Error::bad_input("username", "has already been taken"));
    }
    if taken(user::Column::Email, email.as_str()).await?.is_some() {
        return Err(Error::bad_input("email", "has already been taken"));
    }
    let password_hash = match password {
        Some(password) => Some(password::hash(state, password).await?),
        None => None,
    };
    let row = user::ActiveModel {
        username: Set(username.as_str().to_owned()),
        username_key: Set(username_key),
        email: Set(email.as_str().to_owned()),
        name: Set(name),
        password_hash: Set(password_hash),
        admin: Set(new.admin),
        state: Set(UserState::Active.as_stored().to_owned()),
        created_at: Set(state.clock.now()),
        ..Default::default()
    };
    let event = actor.map(|actor| Event::by(actor, Action::UserCreated));
    let now = state.clock.now();
    crate::db::write(&state.db, move |tx| {
        Box::pin(async move {
            let user = row.insert(tx).await.map_err(|error| {
                if is_unique_violation(&error) {
                    // A concurrent create won the race for the same username or email.
                    Error::bad_input("username", "has already been taken")
                } else {
                    error.into()
                }
            })?;
            if let Some(event) = event {
                let event = event
                    .target(&user)
                    .details(serde_json::json!({ "admin": user.admin }));
                audit::record(tx, now, event).await?;
            }
            Ok(user)
        })
    })
    .await
}

fn is_unique_violation(error: &sea_orm::DbErr) -> bool {
    matches!(
        error.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_and_emails_are_parsed_strictly() {
        assert!(Username::parse("alice.b-c_1").is_ok());
        for bad in ["", "-alice", "al ice", "alice<script>", "ali/ce"] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            EmailAddress::parse(" Alice@Example.COM ")
                .expect("email")
                .as_str(),
            "alice@example.com"
        );
        for bad in [
            "alice",
            "@x",
            "a@",
            "a@b@c",
            "a b@c",
            "a@.c",
            "n8@[127.0.0.1]",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
    }
}
