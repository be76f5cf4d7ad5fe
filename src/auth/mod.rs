//! Authentication: reading credentials from a request, turning a token into a `Principal`,
//! and the refusal every surface answers with.

pub mod cache;
pub mod credentials;
pub mod feed_listener;
pub mod principal;
pub mod sudo;
pub mod throttle;
pub mod token;
