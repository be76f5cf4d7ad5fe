//! Instance settings (the token policy): read by any signed-in user, changed by admins.

use async_graphql::{Context, InputObject, MaybeUndefined, Object, SimpleObject};

use crate::{
    graphql::context::{app, principal},
    settings::{self, InstanceSettings as Settings, SettingsUpdate},
};

/// The instance's token policy.
#[derive(SimpleObject)]
pub struct InstanceSettings {
    /// Every new token must have an expiry date.
    pub require_token_expiry: bool,
    /// Longest token lifetime in days (inclusive); null for no limit.
    pub token_max_lifetime_days: Option<i32>,
    /// While true, personal access tokens neither authenticate nor can be created.
    pub personal_access_tokens_disabled: bool,
}

impl From<Settings> for InstanceSettings {
    fn from(settings: Settings) -> Self {
        InstanceSettings {
            require_token_expiry: settings.require_token_expiry,
            token_max_lifetime_days: settings
                .token_max_lifetime_days
                .and_then(|days| i32::try_from(days).ok()),
            personal_access_tokens_disabled: settings.personal_access_tokens_disabled,
        }
    }
}

/// Changes to the token policy; omitted fields stay as they are.
#[derive(InputObject)]
pub struct InstanceSettingsUpdateInput {
    pub require_token_expiry: Option<bool>,
    /// Null removes the limit.
    pub token_max_lifetime_days: MaybeUndefined<i32>,
    pub personal_access_tokens_disabled: Option<bool>,
}

/// The settings after the change.
#[derive(SimpleObject)]
pub struct InstanceSettingsUpdatePayload {
    pub instance_settings: InstanceSettings,
}

#[derive(Default)]
pub struct SettingsQuery;

#[Object]
impl SettingsQuery {
    /// The instance's token policy.
    async fn instance_settings(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<InstanceSettings> {
        principal(ctx)?;
        let state = app(ctx);
        Ok(state
            .settings
            .get(&state.db, state.clock.now())
            .await?
            .into())
    }
}

#[derive(Default)]
pub struct SettingsMutation;

#[Object]
impl SettingsMutation {
    /// Admins: changes the token policy.
    async fn instance_settings_update(
        &self,
        ctx: &Context<'_>,
        input: InstanceSettingsUpdateInput,
    ) -> async_graphql::Result<InstanceSettingsUpdatePayload> {
        let actor = principal(ctx)?;
        let update = SettingsUpdate {
            require_token_expiry: input.require_token_expiry,
            token_max_lifetime_days: match input.token_max_lifetime_days {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(days) => Some(Some(days)),
            },
            personal_access_tokens_disabled: input.personal_access_tokens_disabled,
        };
        let settings = settings::update(app(ctx), actor, update).await?;
        Ok(InstanceSettingsUpdatePayload {
            instance_settings: settings.into(),
        })
    }
}
