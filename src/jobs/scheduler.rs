//! The scheduler: each job's run for a UTC day is claimed by inserting its `job_runs` row,
//! so with several processes on one database each run happens once. A run that is due but
//! was missed (the service was down at 01:00) happens at the next tick, including the one
//! at start. A claimed run whose process died is taken over after an hour.

use std::time::Duration;

use chrono::{Days, NaiveDate};
use entity::job_run;
use sea_orm::{
    ColumnTrait, EntityTrait, QueryFilter, Set,
    sea_query::{Expr, OnConflict},
};

use crate::{
    error::Result,
    jobs::{Job, expiry},
    state::AppState,
};

/// How often the background loop looks at the clock.
const TICK: Duration = Duration::from_secs(30);
/// After this long an unfinished run is presumed dead and may be claimed again.
const STALE_RUN: chrono::Duration = chrono::Duration::hours(1);

/// A run that this process performed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completed {
    pub job: Job,
    pub date: NaiveDate,
    pub notified: u64,
}

/// The UTC day whose run of `job` is the latest one due at the current time.
pub fn due_date(state: &AppState, job: Job) -> NaiveDate {
    let now = state.clock.now();
    let at = match job {
        Job::ExpiringTokens => state.config.expiring_check_at,
        Job::ExpiredTokens => state.config.expired_check_at,
    };
    let today = now.date_naive();
    if now.time() >= at {
        today
    } else {
        today.checked_sub_days(Days::new(1)).unwrap_or(today)
    }
}

/// Runs every job whose latest due run has not been claimed yet.
pub async fn tick(state: &AppState) -> Result<Vec<Completed>> {
    let mut completed = Vec::new();
    for job in Job::ALL {
        let date = due_date(state, job);
        if !claim(state, job, date).await? {
            continue;
        }
        let notified = expiry::run(state, job, date).await?;
        job_run::Entity::update_many()
            .col_expr(job_run::Column::FinishedAt, Expr::value(state.clock.now()))
            .col_expr(job_run::Column::Notified, Expr::value(notified as i64))
            .filter(job_run::Column::Job.eq(job.as_str()))
            .filter(job_run::Column::RunOn.eq(date))
            .exec(&state.db)
            .await?;
        tracing::info!(job = job.as_str(), %date, notified, "job run finished");
        completed.push(Completed {
            job,
            date,
            notified,
        });
    }
    Ok(completed)
}

/// Claims (job, date) for this process: the insert succeeds for exactly one process, or an
/// unfinished claim older than an hour is taken over.
async fn claim(state: &AppState, job: Job, date: NaiveDate) -> Result<bool> {
    let now = state.clock.now();
    let inserted = job_run::Entity::insert(job_run::ActiveModel {
        job: Set(job.as_str().to_owned()),
        run_on: Set(date),
        started_at: Set(now),
        finished_at: Set(None),
        notified: Set(0),
    })
    .on_conflict(
        OnConflict::columns([job_run::Column::Job, job_run::Column::RunOn])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&state.db)
    .await?;
    if inserted == 1 {
        return Ok(true);
    }
    let taken_over = job_run::Entity::update_many()
        .col_expr(job_run::Column::StartedAt, Expr::value(now))
        .filter(job_run::Column::Job.eq(job.as_str()))
        .filter(job_run::Column::RunOn.eq(date))
        .filter(job_run::Column::FinishedAt.is_null())
        .filter(job_run::Column::StartedAt.lt(now - STALE_RUN))
        .exec(&state.db)
        .await?;
    Ok(taken_over.rows_affected == 1)
}

/// Runs the scheduler on the current runtime: a tick at start (catching up a missed run),
/// then one every 30 seconds.
pub fn start(state: AppState) {
    tokio::spawn(async move {
        loop {
            if let Err(error) = tick(&state).await {
                tracing::warn!(error = %error, "scheduled job failed; it will be retried");
            }
            tokio::time::sleep(TICK).await;
        }
    });
}
