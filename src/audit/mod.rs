//! The audit log: who did what, when, to whom, from which address. Changes are recorded
//! in the same transaction as the change itself; refused authentications go through a
//! background writer so that a flood of bad tokens never turns into a flood of writes on
//! the request path.

pub mod list;
pub mod refusals;

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use entity::{audit_event, user};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde_json::{Value, json};

use crate::{auth::principal::Principal, error::Result};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    TokenCreated,
    ImpersonationTokenCreated,
    TokenRotated,
    TokenRevoked,
    RotationChainRevoked,
    SudoUsed,
    AuthenticationRefused,
    UserCreated,
    UserBlocked,
    UserUnblocked,
    UserDeleted,
    SettingsChanged,
}

impl Action {
    pub const ALL: [Action; 12] = [
        Action::TokenCreated,
        Action::ImpersonationTokenCreated,
        Action::TokenRotated,
        Action::TokenRevoked,
        Action::RotationChainRevoked,
        Action::SudoUsed,
        Action::AuthenticationRefused,
        Action::UserCreated,
        Action::UserBlocked,
        Action::UserUnblocked,
        Action::UserDeleted,
        Action::SettingsChanged,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::TokenCreated => "token_created",
            Action::ImpersonationTokenCreated => "impersonation_token_created",
            Action::TokenRotated => "token_rotated",
            Action::TokenRevoked => "token_revoked",
            Action::RotationChainRevoked => "rotation_chain_revoked",
            Action::SudoUsed => "sudo_used",
            Action::AuthenticationRefused => "authentication_refused",
            Action::UserCreated => "user_created",
            Action::UserBlocked => "user_blocked",
            Action::UserUnblocked => "user_unblocked",
            Action::UserDeleted => "user_deleted",
            Action::SettingsChanged => "settings_changed",
        }
    }

    pub fn from_stored(name: &str) -> Option<Action> {
        Action::ALL
            .into_iter()
            .find(|action| action.as_str() == name)
    }
}

/// Someone named in an event, copied so the record outlives the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub id: i64,
    pub username: String,
}

impl From<&user::Model> for Party {
    fn from(user: &user::Model) -> Self {
        Party {
            id: user.id,
            username: user.username.clone(),
        }
    }
}

/// An event about to be recorded.
#[derive(Debug, Clone)]
pub struct Event {
    pub action: Action,
    pub actor: Option<Party>,
    pub target: Option<Party>,
    pub token_id: Option<i64>,
    pub ip: Option<IpAddr>,
    pub details: Value,
}

impl Event {
    /// An event performed by `principal` (the real person: the admin under sudo).
    pub fn by(principal: &Principal, action: Action) -> Event {
        let mut details = json!({ "via": principal.credential_name() });
        if let Some(sudo_as) = principal.sudo_as() {
            details["sudoAs"] = json!(sudo_as.username);
        }
        Event {
            action,
            actor: Some(principal.audit_actor()),
            target: None,
            token_id: None,
            ip: principal.ip,
            details,
        }
    }

    pub fn target(mut self, user: &user::Model) -> Event {
        self.target = Some(user.into());
        self
    }

    pub fn token(mut self, token_id: i64) -> Event {
        self.token_id = Some(token_id);
        self
    }

    /// Merges `extra` (an object) into the details.
    pub fn details(mut self, extra: Value) -> Event {
        if let (Some(details), Value::Object(extra)) = (self.details.as_object_mut(), extra) {
            details.extend(extra);
        }
        self
    }
}

/// Appends `event` through `db` (a transaction, to commit with the change it describes).
pub async fn record(db: &impl ConnectionTrait, at: DateTime<Utc>, event: Event) -> Result<()> {
    row(at, event).insert(db).await?;
    Ok(())
}

fn row(at: DateTime<Utc>, event: Event) -> audit_event::ActiveModel {
    audit_event::ActiveModel {
        occurred_at: Set(at),
        action: Set(event.action.as_str().to_owned()),
        actor_id: Set(event.actor.as_ref().map(|party| party.id)),
        actor_username: Set(event.actor.map(|party| party.username)),
        target_user_id: Set(event.target.as_ref().map(|party| party.id)),
        target_username: Set(event.target.map(|party| party.username)),
        token_id: Set(event.token_id),
        ip: Set(event.ip.map(|ip| ip.to_string())),
        details: Set(event.details.to_string()),
        ..Default::default()
    }
}
