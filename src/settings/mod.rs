//! Instance settings: the token policy administrators change at run time (require an expiry
//! date, maximum lifetime, disable personal access tokens). Read through a cache that the
//! process making a change updates at once and that re-reads the database at least every
//! second, so other processes sharing the database follow within a second.

use std::sync::RwLock;

use chrono::{DateTime, Duration, Utc};

use entity::instance_setting;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use serde_json::json;

use crate::{
    audit::{self, Action, Event},
    auth::principal::Principal,
    error::{Error, Result},
    state::AppState,
    tokens::input::ExpiryPolicy,
};

/// How stale a cached copy may be before it is read again.
const MAX_AGE: Duration = Duration::seconds(1);
const ROW_ID: i64 = 1;

/// The instance's token policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InstanceSettings {
    pub require_token_expiry: bool,
    pub token_max_lifetime_days: Option<u32>,
    pub personal_access_tokens_disabled: bool,
}

impl InstanceSettings {
    /// The expiry rules these settings impose.
    pub fn expiry_policy(&self) -> ExpiryPolicy {
        ExpiryPolicy {
            max_lifetime_days: self.token_max_lifetime_days,
            require_expiry: self.require_token_expiry,
        }
    }

    fn from_row(row: &instance_setting::Model) -> Self {
        InstanceSettings {
            require_token_expiry: row.require_token_expiry,
            token_max_lifetime_days: row
                .token_max_lifetime_days
                .and_then(|days| u32::try_from(days).ok()),
            personal_access_tokens_disabled: row.personal_access_tokens_disabled,
        }
    }

    fn to_json(self) -> serde_json::Value {
        json!({
            "requireTokenExpiry": self.require_token_expiry,
            "tokenMaxLifetimeDays": self.token_max_lifetime_days,
            "personalAccessTokensDisabled": self.personal_access_tokens_disabled,
        })
    }
}

/// A change to the settings; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct SettingsUpdate {
    pub require_token_expiry: Option<bool>,
    /// `Some(None)` removes the maximum.
    pub token_max_lifetime_days: Option<Option<i32>>,
    pub personal_access_tokens_disabled: Option<bool>,
}

/// The in-process copy of the settings.
#[derive(Debug, Default)]
pub struct SettingsCache {
    current: RwLock<Option<(InstanceSettings, DateTime<Utc>)>>,
}

impl SettingsCache {
    /// The settings, read from the database when the cached copy is over a second old
    /// (by the injected clock).
    pub async fn get(
        &self,
        db: &impl ConnectionTrait,
        now: DateTime<Utc>,
    ) -> Result<InstanceSettings> {
        if let Ok(guard) = self.current.read()
            && let Some((settings, read_at)) = *guard
            && (now - read_at) < MAX_AGE
            && now >= read_at
        {
            return Ok(settings);
        }
        // Boxed: the read's future is large, and inline it would make every caller's future
        // (the token path's included) as large, copied on each request for nothing.
        let settings = Box::pin(read(db)).await?;
        self.replace(settings, now);
        Ok(settings)
    }

    /// Installs a fresh copy (after this process changed the settings).
    pub fn replace(&self, settings: InstanceSettings, now: DateTime<Utc>) {
        if let Ok(mut guard) = self.current.write() {
            *guard = Some((settings, now));
        }
    }
}

async fn read(db: &impl ConnectionTrait) -> Result<InstanceSettings> {
    let row = instance_setting::Entity::find_by_id(ROW_ID).one(db).await?;
    Ok(row
        .as_ref()
        .map(InstanceSettings::from_row)
        .unwrap_or_default())
}

/// Changes the settings (administrators only), recording the change in the audit log.
pub async fn update(
    state: &AppState,
    actor: &Principal,
    update: SettingsUpdate,
) -> Result<InstanceSettings> {
    actor.require_admin()?;
    if let Some(Some(days)) = update.token_max_lifetime_days
        && !(1..=36_500).contains(&days)
    {
        return Err(Error::bad_input(
            "tokenMaxLifetimeDays",
            "must be between 1 and 36500 days",
        ));
    }
    let now = state.clock.now();
    let event_actor = actor.clone();
    let clock_now = now;
    let settings = crate::db::write(&state.db, move |tx| {
        Box::pin(async move {
            let before = read(tx).await?;
            let row = instance_setting::Entity::find_by_id(ROW_ID)
                .one(tx)
                .await?
                .ok_or_else(|| {
                    Error::Internal(anyhow::anyhow!("the instance settings row is missing"))
                })?;
            let mut active: instance_setting::ActiveModel = row.into();
            if let Some(value) = update.require_token_expiry {
                active.require_token_expiry = Set(value);
            }
            if let Some(value) = update.token_max_lifetime_days {
                active.token_max_lifetime_days = Set(value);
            }
            if let Some(value) = update.personal_access_tokens_disabled {
                active.personal_access_tokens_disabled = Set(value);
            }
            active.updated_at = Set(Some(clock_now));
            active.updated_by_id = Set(Some(event_actor.audit_actor().id));
            let after = InstanceSettings::from_row(&active.update(tx).await?);
            audit::record(
                tx,
                clock_now,
                Event::by(&event_actor, Action::SettingsChanged)
                    .details(json!({ "before": before.to_json(), "after": after.to_json() })),
            )
            .await?;
            Ok(after)
        })
    })
    .await?;
    state.settings.replace(settings, state.clock.now());
    Ok(settings)
}
