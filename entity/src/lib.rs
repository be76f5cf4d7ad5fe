//! SeaORM entities: the tables of WVS tokens and nothing else (no GraphQL, no rules).

pub mod audit_event;
pub mod auth_change;
pub mod instance_setting;
pub mod job_run;
pub mod outbox_email;
pub mod personal_access_token;
pub mod project;
pub mod project_member;
pub mod user;
pub mod web_form_submission;
pub mod web_session;
