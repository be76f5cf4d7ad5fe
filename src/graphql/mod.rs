//! The GraphQL schema: query and mutation roots merged per domain, limits, the scope guard.
//! No schema extension is installed: with any, the executor wraps every field of every
//! request in the extension chain; the checks run in [`admission`] instead.

pub mod admission;
pub mod audit;
pub mod context;
pub mod document_limits;
pub mod documents;
pub mod executor;
pub mod ids;
pub mod loaders;
pub mod projects;
pub mod response_order;
pub mod scalars;
pub mod scope_guard;
pub mod settings;
pub mod tokens;
pub mod types;
pub mod users;

use async_graphql::{EmptySubscription, MergedObject, Schema, SchemaBuilder};

use crate::{graphql::executor::Executor, state::AppState};

/// Every query field.
#[derive(MergedObject, Default)]
pub struct Query(
    users::UserQuery,
    tokens::TokenQuery,
    settings::SettingsQuery,
    audit::AuditQuery,
    projects::ProjectQuery,
);

/// Every mutation.
#[derive(MergedObject, Default)]
pub struct Mutation(
    tokens::TokenMutation,
    users::UserMutation,
    settings::SettingsMutation,
    projects::ProjectMutation,
);

/// The executable schema.
pub type WvsSchema = Schema<Query, Mutation, EmptySubscription>;

/// Most requests one batch may hold.
pub const MAX_BATCH: usize = 10;

/// Deepest nesting the executor accepts, counting fields with selections, fragment spreads
/// and inline fragments each as a level.
pub const MAX_RECURSIVE_DEPTH: usize = 32;

/// A schema being built.
pub type Builder = SchemaBuilder<Query, Mutation, EmptySubscription>;

fn builder() -> Builder {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .limit_depth(12)
        .limit_complexity(500)
        .limit_recursive_depth(MAX_RECURSIVE_DEPTH)
        .limit_directives(16)
}

/// The executor serving requests, with the application state as its data.
pub fn build(state: AppState) -> Executor {
    Executor::new(|| builder().data(state.clone()), state.metrics.clone())
}

/// The SDL clients generate from (what `schema.graphql` holds).
pub fn sdl() -> String {
    builder().finish().sdl()
}
