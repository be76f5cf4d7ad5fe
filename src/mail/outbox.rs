//! The outbox worker: claims due emails with a lease (so two workers never send the same
//! one), sends them, and on failure schedules a retry with exponential backoff. An email is
//! never dropped because the mail server was down; a blocked user's email is not sent.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use entity::{outbox_email, user};
use lettre::{
    Message,
    message::{Mailbox, MultiPart},
};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};
use tokio::sync::Notify;

use crate::{error::Result, mail::transport::Transport, state::AppState, users::UserState};

/// Emails claimed per round.
const BATCH: u64 = 20;
/// How long a claim keeps other workers off an email.
const LEASE: chrono::Duration = chrono::Duration::minutes(5);
/// How often the worker looks for due retries when nothing wakes it.
const POLL: Duration = Duration::from_secs(5);

/// The worker's handle: transport, sender, and the bell rung when mail is queued.
#[derive(Clone)]
pub struct Mailer {
    pub transport: Transport,
    pub from: Mailbox,
    wake: Arc<Notify>,
}

/// What one delivery round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub sent: usize,
    pub failed: usize,
    pub suppressed: usize,
}

/// Delay before the next attempt after `attempts` failures: 30 s doubling, capped at 1 h.
pub fn backoff(attempts: i32) -> chrono::Duration {
    let exponent = attempts.clamp(1, 8) - 1;
    chrono::Duration::seconds((30_i64 << exponent).min(3600))
}

impl Mailer {
    pub fn new(transport: Transport, from: Mailbox) -> Self {
        Mailer {
            transport,
            from,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Tells the worker that mail was queued (call after the transaction commits).
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Runs the worker on the current runtime until the process ends.
pub fn start_worker(state: AppState) {
    tokio::spawn(async move {
        loop {
            if let Err(error) = deliver_due(&state).await {
                tracing::warn!(error = %error, "delivering queued email failed");
            }
            tokio::select! {
                () = state.mailer.wake.notified() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
    });
}

/// Sends every email that is due now (by the injected clock).
pub async fn deliver_due(state: &AppState) -> Result<Delivery> {
    let mut delivery = Delivery::default();
    loop {
        let now = state.clock.now();
        let due = outbox_email::Entity::find()
            .filter(outbox_email::Column::SentAt.is_null())
            .filter(outbox_email::Column::NextAttemptAt.lte(now))
            .filter(
                Condition::any()
                    .add(outbox_email::Column::ClaimedUntil.is_null())
                    .add(outbox_email::Column::ClaimedUntil.lt(now)),
            )
            .order_by_asc(outbox_email::Column::Id)
            .limit(BATCH)
            .all(&state.db)
            .await?;
        if due.is_empty() {
            return Ok(delivery);
        }
        for email in due {
            if claim(state, &email, now).await? {
                deliver(state, email, now, &mut delivery).await?;
            }
        }
    }
}

async fn claim(state: &AppState, email: &outbox_email::Model, now: DateTime<Utc>) -> Result<bool> {
    let claimed = outbox_email::Entity::update_many()
        .col_expr(outbox_email::Column::ClaimedUntil, Expr::value(now + LEASE))
        .col_expr(
            outbox_email::Column::Attempts,
            Expr::value(email.attempts + 1),
        )
        .filter(outbox_email::Column::Id.eq(email.id))
        .filter(outbox_email::Column::SentAt.is_null())
        .filter(outbox_email::Column::Attempts.eq(email.attempts))
        .exec(&state.db)
        .await?;
    Ok(claimed.rows_affected == 1)
}

async fn deliver(
    state: &AppState,
    email: outbox_email::Model,
    now: DateTime<Utc>,
    delivery: &mut Delivery,
) -> Result<()> {
    let recipient = match email.user_id {
        Some(id) => user::Entity::find_by_id(id).one(&state.db).await?,
        None => None,
    };
    let Some(recipient) = recipient.filter(|user| UserState::of(user) == UserState::Active) else {
        delivery.suppressed += 1;
        return finish(
            state,
            email.id,
            now,
            Some("not sent: the user is blocked or deleted"),
        )
        .await;
    };
    let message = match build(&state.mailer.from, &recipient, &email) {
        Ok(message) => message,
        Err(error) => {
            // Retrying cannot fix a message that cannot be built (e.g. an address the mailer
            // rejects): record why and stop.
            tracing::warn!(email_id = email.id, error = %error, "email cannot be sent; giving up");
            delivery.suppressed += 1;
            return finish(state, email.id, now, Some(&format!("not sent: {error}"))).await;
        }
    };
    let stem = format!("{}-{}", email.created_at.format("%Y%m%dT%H%M%S"), email.id);
    let outcome = state.mailer.transport.send(message, &stem).await;
    match outcome {
        Ok(()) => {
            delivery.sent += 1;
            finish(state, email.id, now, None).await
        }
        Err(error) => {
            delivery.failed += 1;
            let attempts = email.attempts + 1;
            tracing::warn!(email_id = email.id, attempts, error = %error, "sending email failed; will retry");
            outbox_email::Entity::update_many()
                .col_expr(
                    outbox_email::Column::NextAttemptAt,
                    Expr::value(now + backoff(attempts)),
                )
                .col_expr(
                    outbox_email::Column::ClaimedUntil,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .col_expr(outbox_email::Column::LastError, Expr::value(error))
                .filter(outbox_email::Column::Id.eq(email.id))
                .exec(&state.db)
                .await?;
            Ok(())
        }
    }
}

async fn finish(state: &AppState, id: i64, now: DateTime<Utc>, note: Option<&str>) -> Result<()> {
    outbox_email::Entity::update_many()
        .col_expr(outbox_email::Column::SentAt, Expr::value(now))
        .col_expr(
            outbox_email::Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            outbox_email::Column::LastError,
            Expr::value(note.map(str::to_owned)),
        )
        .filter(outbox_email::Column::Id.eq(id))
        .exec(&state.db)
        .await?;
    Ok(())
}

fn build(
    from: &Mailbox,
    recipient: &user::Model,
    email: &outbox_email::Model,
) -> std::result::Result<Message, String> {
    let to: Mailbox = format!(
        "{} <{}>",
        recipient.name.replace(['<', '>', '"', '\r', '\n'], ""),
        email.to_address
    )
    .parse()
    .or_else(|_| email.to_address.parse())
    .map_err(|error| format!("bad recipient address: {error}"))?;
    Message::builder()
        .message_id(None)
        .from(from.clone())
        .to(to)
        .subject(email.subject.clone())
        .multipart(MultiPart::alternative_plain_html(
            email.text_body.clone(),
            email.html_body.clone(),
        ))
        .map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_an_hour() {
        assert_eq!(backoff(1), chrono::Duration::seconds(30));
        assert_eq!(backoff(2), chrono::Duration::seconds(60));
        assert_eq!(backoff(4), chrono::Duration::seconds(240));
        assert_eq!(backoff(20), chrono::Duration::seconds(3600));
    }
}
