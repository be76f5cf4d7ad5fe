//! GraphQL object, enum and input types: thin views over the entities and services.

pub mod connection;
pub mod scope;
pub mod token;
pub mod user;
