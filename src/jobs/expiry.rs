//! The expiry notifications. Each is a function of (database, date): it walks the matching
//! tokens in keyset pages ordered by (user, id), so memory holds one page and one user's
//! tokens however large the table; for each active user it marks their tokens notified and
//! queues one email in the same transaction, so a token is announced once in its life.

use chrono::{Days, NaiveDate};
use entity::{personal_access_token as pat, user};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};

use crate::{
    error::Result,
    jobs::Job,
    mail::{self, templates},
    state::AppState,
    users::UserState,
};

/// Tokens read per page.
pub const PAGE: u64 = 500;

/// Runs `job` as if on `date` (UTC); returns how many tokens were announced.
pub async fn run(state: &AppState, job: Job, date: NaiveDate) -> Result<u64> {
    run_with_page(state, job, date, PAGE).await
}

/// [`run`] with a chosen page size (tests use tiny pages to cross page boundaries).
pub async fn run_with_page(state: &AppState, job: Job, date: NaiveDate, page: u64) -> Result<u64> {
    let mut after: Option<(i64, i64)> = None;
    let mut group: Vec<pat::Model> = Vec::new();
    let mut notified = 0;
    loop {
        let rows = candidates(job, date)
            .filter(after_key(after))
            .order_by_asc(pat::Column::UserId)
            .order_by_asc(pat::Column::Id)
            .limit(page)
            .all(&state.db)
            .await?;
        let Some(last) = rows.last() else {
            break;
        };
        after = Some((last.user_id, last.id));
        for token in rows {
            if group
                .first()
                .is_some_and(|first| first.user_id != token.user_id)
            {
                notified += notify(state, job, std::mem::take(&mut group)).await?;
            }
            group.push(token);
        }
    }
    if !group.is_empty() {
        notified += notify(state, job, group).await?;
    }
    Ok(notified)
}

fn candidates(job: Job, date: NaiveDate) -> sea_orm::Select<pat::Entity> {
    let query = pat::Entity::find()
        .filter(pat::Column::RevokedAt.is_null())
        .filter(pat::Column::Impersonation.eq(false));
    match job {
        // Tomorrow through today + 7, inclusive.
        Job::ExpiringTokens => query
            .filter(pat::Column::ExpiresAt.between(day(date, 1), day(date, 7)))
            .filter(pat::Column::ExpiringNotifiedAt.is_null()),
        // Expired today; the six days before are included so that a day the service
        // was down is caught up (tokens already announced are skipped by their marker).
        Job::ExpiredTokens => query
            .filter(pat::Column::ExpiresAt.between(day_before(date, 6), date))
            .filter(pat::Column::ExpiredNotifiedAt.is_null()),
    }
}

fn after_key(after: Option<(i64, i64)>) -> Condition {
    match after {
        None => Condition::all(),
        Some((user_id, id)) => Condition::any().add(pat::Column::UserId.gt(user_id)).add(
            Condition::all()
                .add(pat::Column::UserId.eq(user_id))
                .add(pat::Column::Id.gt(id)),
        ),
    }
}

fn day(date: NaiveDate, days: u64) -> NaiveDate {
    date.checked_add_days(Days::new(days)).unwrap_or(date)
}

fn day_before(date: NaiveDate, days: u64) -> NaiveDate {
    date.checked_sub_days(Days::new(days)).unwrap_or(date)
}

/// Marks one user's tokens and queues their email, in one transaction. Tokens another run
/// marked meanwhile are left out; blocked users are skipped (and not marked).
async fn notify(state: &AppState, job: Job, tokens: Vec<pat::Model>) -> Result<u64> {
    let Some(owner) = user::Entity::find_by_id(tokens[0].user_id)
        .one(&state.db)
        .await?
    else {
        return Ok(0);
    };
    if UserState::of(&owner) != UserState::Active {
        return Ok(0);
    }
    let now = state.clock.now();
    let external_url = state.config.external_url.clone();
    let marker = match job {
        Job::ExpiringTokens => pat::Column::ExpiringNotifiedAt,
        Job::ExpiredTokens => pat::Column::ExpiredNotifiedAt,
    };
    let count = crate::db::write(&state.db, move |tx| {
        Box::pin(async move {
            let mut mine = Vec::new();
            for token in tokens {
                let marked = pat::Entity::update_many()
                    .col_expr(marker, Expr::value(now))
                    .filter(pat::Column::Id.eq(token.id))
                    .filter(marker.is_null())
                    .exec(tx)
                    .await?;
                if marked.rows_affected == 1 {
                    mine.push(token);
                }
            }
            if mine.is_empty() {
                return Ok(0);
            }
            let email = match job {
                Job::ExpiringTokens => templates::tokens_expiring(&external_url, &owner, &mine),
                Job::ExpiredTokens => templates::tokens_expired(&external_url, &owner, &mine),
            };
            mail::queue(tx, now, &owner, email).await?;
            Ok(mine.len() as u64)
        })
    })
    .await?;
    if count > 0 {
        state.mailer.wake();
    }
    Ok(count)
}
