//! Email: messages are rendered and queued in the outbox inside the same transaction as the
//! change they describe, then delivered by a worker with retries (`outbox`), through SMTP or
//! into `.eml` files (`transport`).

pub mod outbox;
pub mod templates;
pub mod transport;

use chrono::{DateTime, Utc};
use entity::{outbox_email, user};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};

use crate::{error::Result, users::UserState};

/// A rendered email for one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// What it is about, e.g. `token_created` (for the outbox and tests).
    pub kind: &'static str,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Queues `email` to `user` through `db` (a transaction, to commit with the change it
/// describes). Blocked users get no email; returns whether it was queued.
pub async fn queue(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    user: &user::Model,
    email: Email,
) -> Result<bool> {
    if UserState::of(user) != UserState::Active {
        return Ok(false);
    }
    outbox_email::ActiveModel {
        kind: Set(email.kind.to_owned()),
        user_id: Set(Some(user.id)),
        to_address: Set(user.email.clone()),
        subject: Set(email.subject),
        text_body: Set(email.text),
        html_body: Set(email.html),
        created_at: Set(now),
        attempts: Set(0),
        next_attempt_at: Set(now),
        claimed_until: Set(None),
        sent_at: Set(None),
        last_error: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(true)
}
