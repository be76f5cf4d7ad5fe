//! Database migrations, one concern each, each with a `down`. They describe tables with
//! `sea-query` identifiers of their own and never import the `entity` crate, so that an
//! old migration keeps meaning what it meant when it was written.

pub use sea_orm_migration::prelude::*;

mod m20261201_000001_create_users;
mod m20261201_000002_create_personal_access_tokens;
mod m20261203_000003_create_instance_settings;
mod m20261203_000004_create_audit_events;
mod m20261203_000005_create_notifications;
mod m20261203_000006_create_projects;
mod m20261203_000007_create_auth_changes;
mod m20261203_000008_create_web_sessions;

/// All migrations, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261201_000001_create_users::Migration),
            Box::new(m20261201_000002_create_personal_access_tokens::Migration),
            Box::new(m20261203_000003_create_instance_settings::Migration),
            Box::new(m20261203_000004_create_audit_events::Migration),
            Box::new(m20261203_000005_create_notifications::Migration),
            Box::new(m20261203_000006_create_projects::Migration),
            Box::new(m20261203_000007_create_auth_changes::Migration),
            Box::new(m20261203_000008_create_web_sessions::Migration),
        ]
    }
}
