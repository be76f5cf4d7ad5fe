//! What a resolver can know about its request: the caller, the HTTP method, the state.

use async_graphql::Context;

use crate::{
    auth::principal::Principal,
    error::{Error, Result},
    state::AppState,
};

/// The authenticated principal of the request, or `None` for an anonymous one.
#[derive(Clone, Debug)]
pub struct Caller(pub Option<Principal>);

/// How the request arrived; mutations are refused over `GET`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpMethod {
    Get,
    Post,
}

/// The application state (schema data).
pub fn app<'a>(ctx: &Context<'a>) -> &'a AppState {
    ctx.data_unchecked::<AppState>()
}

/// The caller, or `UNAUTHENTICATED` when anonymous.
pub fn principal<'a>(ctx: &Context<'a>) -> Result<&'a Principal> {
    ctx.data_opt::<Caller>()
        .and_then(|caller| caller.0.as_ref())
        .ok_or(Error::Unauthenticated)
}

/// The caller when authenticated, `None` when anonymous.
pub fn optional_principal<'a>(ctx: &Context<'a>) -> Option<&'a Principal> {
    ctx.data_opt::<Caller>()
        .and_then(|caller| caller.0.as_ref())
}
