//! WVS tokens: the personal-access-token service of the WVS platform.
//!
//! Data flows one way: HTTP edge (`http`) → authentication (`auth`) → GraphQL resolvers
//! (`graphql`) → domain services (`tokens`, `users`) → `entity` → database.

pub mod app;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod error;
pub mod graphql;

pub mod git;
pub mod http;
pub mod jobs;
pub mod mail;
pub mod metrics;
pub mod pagination;
pub mod projects;
pub mod registry;
pub mod settings;
pub mod state;
pub mod tokens;
pub mod users;
pub mod web;
