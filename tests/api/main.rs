//! Integration tests: the real application over real HTTP on a real database.

mod browser;
mod db_proxy;
mod harness;
mod web_client;

mod admin_impersonation;
mod admin_tokens;
mod admin_users;
mod audit_log;
mod auth;
mod auth_cache;
mod cli;
mod faults;
mod git_http;
mod graphql_hygiene;
mod graphql_validation;
mod hostile_input;
mod key_rotation;
mod last_used;
mod notifications;
mod ops;
mod policy;
mod registry;
mod scopes;
mod smtp;
mod sudo;
mod tokens_create;
mod tokens_list;
mod tokens_revoke_rotate;
mod users;
mod web_access_tokens;
mod web_browser;
mod web_sign_in;
