//! `AppState`: what every handler and service call needs, cheap to clone.

use std::{ops::Deref, sync::Arc};

use sea_orm::DatabaseConnection;
use tokio::sync::{OnceCell, Semaphore};

use crate::{
    audit::refusals::RefusalLog, auth::cache::AuthCache, auth::throttle::Throttle, clock::Clock,
    config::Config, graphql::documents::DocumentCache, mail::outbox::Mailer, metrics::Metrics,
    registry::keys::RegistryKeys, settings::SettingsCache, tokens::last_used::LastUsedRecorder,
    tokens::rekey::Rekeyer, tokens::secret::SecretKey,
};

/// Shared application state: one reference count to clone, since every layer and handler
/// of every request takes its own copy (cloning the fields one by one showed in profiles).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] shares.
pub struct Shared {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub secret_key: SecretKey,
    /// Keys of earlier rotations: they still verify the tokens digested with them.
    pub previous_keys: Arc<[SecretKey]>,
    /// Moves tokens found through a previous key to the current one.
    pub rekeyer: Rekeyer,
    pub metrics: Arc<Metrics>,
    pub last_used: LastUsedRecorder,
    /// The instance's token policy, cached for at most a second.
    pub settings: Arc<SettingsCache>,
    /// Background writer of refused authentications to the audit log.
    pub refusals: RefusalLog,
    /// Delivers queued email.
    pub mailer: Mailer,
    /// Failed Git authentications per address.
    pub git_throttle: Arc<Throttle>,
    /// Failed web sign-ins per address.
    pub sign_in_throttle: Arc<Throttle>,
    /// Verified tokens, invalidated through the `auth_changes` feed.
    pub auth_cache: Arc<AuthCache>,
    /// The registry signing key, generated on first use.
    pub registry_keys: Arc<OnceCell<RegistryKeys>>,
    /// Bounds concurrent argon2 work so password checks cannot starve the API.
    pub password_hashing: Arc<Semaphore>,
    /// Parsed GraphQL documents by their text.
    pub documents: DocumentCache,
}

impl AppState {
    /// Assembles the state and starts the background writers on the current runtime.
    pub fn new(
        db: DatabaseConnection,
        config: Config,
        clock: Arc<dyn Clock>,
        secret_key: SecretKey,
        previous_keys: Vec<SecretKey>,
        metrics: Arc<Metrics>,
        mailer: Mailer,
    ) -> AppState {
        let last_used = LastUsedRecorder::start(db.clone(), metrics.clone());
        let refusals = RefusalLog::start(db.clone());
        let rekeyer = Rekeyer::start(db.clone(), metrics.clone());
        let git_throttle = Arc::new(Throttle::new(config.git_auth_limits));
        let sign_in_throttle = Arc::new(Throttle::new(config.sign_in_limits));
        let auth_cache = Arc::new(AuthCache::new(config.auth_cache));
        AuthCache::start_sync(
            auth_cache.clone(),
            db.clone(),
            clock.clone(),
            config.auth_feed,
            &config.database_url,
        );
        AppState(Arc::new(Shared {
            db,
            config: Arc::new(config),
            clock,
            secret_key,
            previous_keys: previous_keys.into(),
            rekeyer,
            metrics,
            last_used,
            settings: Arc::new(SettingsCache::default()),
            refusals,
            git_throttle,
            sign_in_throttle,
            registry_keys: Arc::new(OnceCell::new()),
            auth_cache,
            mailer,
            password_hashing: Arc::new(Semaphore::new(2)),
            documents: DocumentCache::default(),
        }))
    }
}
