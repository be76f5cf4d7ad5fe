//! Integration tests: the real application over real HTTP on a real database.

mod harness;

mod auth;
mod cli;
mod graphql_hygiene;
mod last_used;
mod ops;
mod scopes;
mod tokens_create;
mod tokens_list;
mod tokens_revoke_rotate;
mod users;
