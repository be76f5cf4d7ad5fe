//! Reading API credentials from request headers. No credentials means anonymous; anything
//! credential-shaped that cannot be used is a refusal, never silently ignored.

use axum::http::{
    HeaderMap, HeaderName, HeaderValue,
    header::{AUTHORIZATION, GetAll},
};

use crate::metrics::AuthFailure;

/// The header GitLab-compatible clients send tokens in.
pub const PRIVATE_TOKEN_HEADER: HeaderName = HeaderName::from_static("private-token");
/// Query parameters that clients of other forges put tokens in; refused here.
const QUERY_TOKEN_PARAMS: [&str; 3] = ["private_token", "access_token", "token"];

/// Credentials found on an API request.
#[derive(Debug, PartialEq, Eq)]
pub enum ApiCredentials<'a> {
    Anonymous,
    /// The presented token text, not yet parsed.
    Token(&'a str),
}

/// Extracts the token from `Authorization: Bearer …` or `PRIVATE-TOKEN: …`, refusing tokens
/// in the query string and headers that cannot be read.
pub fn api_credentials<'a>(
    headers: &'a HeaderMap,
    query: Option<&str>,
) -> Result<ApiCredentials<'a>, AuthFailure> {
    if query.is_some_and(query_carries_token) {
        return Err(AuthFailure::QueryString);
    }
    // Repeated credential headers: which one the caller meant is a guess we do not make.
    let bearer = match only(headers.get_all(AUTHORIZATION))? {
        None => None,
        Some(value) => {
            let value = value
                .to_str()
                .map_err(|_| AuthFailure::Malformed)?
                .trim_ascii();
            match value.split_once(' ') {
                Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Some(token),
                _ => return Err(AuthFailure::Malformed),
            }
        }
    };
    let private = match only(headers.get_all(PRIVATE_TOKEN_HEADER))? {
        None => None,
        Some(value) => Some(value.to_str().map_err(|_| AuthFailure::Malformed)?),
    };
    match (bearer, private) {
        (None, None) => Ok(ApiCredentials::Anonymous),
        (Some(token), None) | (None, Some(token)) => Ok(ApiCredentials::Token(token)),
        (Some(a), Some(b)) if a.trim_ascii() == b.trim_ascii() => Ok(ApiCredentials::Token(a)),
        // Two different tokens: which one the caller meant is a guess we do not make.
        (Some(_), Some(_)) => Err(AuthFailure::Malformed),
    }
}

/// The header's one value, `None` when absent, refused when repeated.
fn only(values: GetAll<'_, HeaderValue>) -> Result<Option<&HeaderValue>, AuthFailure> {
    let mut values = values.iter();
    match (values.next(), values.next()) {
        (first, None) => Ok(first),
        _ => Err(AuthFailure::Malformed),
    }
}

fn query_carries_token(query: &str) -> bool {
    query.split('&').any(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        QUERY_TOKEN_PARAMS
            .iter()
            .any(|param| key.eq_ignore_ascii_case(param))
            || value.contains(crate::tokens::secret::TOKEN_PREFIX)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).expect("header"));
        }
        map
    }

    #[test]
    fn bearer_and_private_token_headers_are_read() {
        assert_eq!(
            api_credentials(&headers(&[]), None),
            Ok(ApiCredentials::Anonymous)
        );
        assert_eq!(
            api_credentials(&headers(&[("authorization", "Bearer abc")]), None),
            Ok(ApiCredentials::Token("abc"))
        );
        assert_eq!(
            api_credentials(&headers(&[("authorization", "bearer  abc ")]), None),
            Ok(ApiCredentials::Token(" abc"))
        );
        assert_eq!(
            api_credentials(&headers(&[("private-token", "abc")]), None),
            Ok(ApiCredentials::Token("abc"))
        );
    }

    #[test]
    fn unusable_credentials_are_refused() {
        assert_eq!(
            api_credentials(&headers(&[("authorization", "Basic eDp5")]), None),
            Err(AuthFailure::Malformed)
        );
        assert_eq!(
            api_credentials(&headers(&[("authorization", "Bearer")]), None),
            Err(AuthFailure::Malformed)
        );
        assert_eq!(
            api_credentials(
                &headers(&[("authorization", "Bearer a"), ("private-token", "b")]),
                None
            ),
            Err(AuthFailure::Malformed)
        );
        assert_eq!(
            api_credentials(&headers(&[]), Some("private_token=x")),
            Err(AuthFailure::QueryString)
        );
        assert_eq!(
            api_credentials(&headers(&[]), Some("query={a}&x=wvspat-abc")),
            Err(AuthFailure::QueryString)
        );
        assert_eq!(
            api_credentials(&headers(&[]), Some("query={a}")),
            Ok(ApiCredentials::Anonymous)
        );
        assert_eq!(
            api_credentials(
                &headers(&[("authorization", "Bearer a"), ("authorization", "Bearer a")]),
                None
            ),
            Err(AuthFailure::Malformed)
        );
        assert_eq!(
            api_credentials(
                &headers(&[("private-token", "a"), ("private-token", "b")]),
                None
            ),
            Err(AuthFailure::Malformed)
        );
    }

    proptest::proptest! {
        /// Any header bytes and any query string: an answer, never a panic, and a token
        /// only ever comes from a header that was sent.
        #[test]
        fn arbitrary_headers_and_queries_never_panic(
            authorization in proptest::collection::vec(proptest::num::u8::ANY, 0..80),
            private in proptest::option::of(proptest::collection::vec(proptest::num::u8::ANY, 0..80)),
            query in proptest::option::of(".{0,60}"),
        ) {
            let mut map = HeaderMap::new();
            if let Ok(value) = HeaderValue::from_bytes(&authorization) {
                map.insert(AUTHORIZATION, value);
            }
            if let Some(Ok(value)) = private.as_deref().map(HeaderValue::from_bytes) {
                map.insert(PRIVATE_TOKEN_HEADER, value);
            }
            if let Ok(ApiCredentials::Token(token)) = api_credentials(&map, query.as_deref()) {
                let sent: Vec<String> = map
                    .values()
                    .filter_map(|value| value.to_str().ok().map(str::to_owned))
                    .collect();
                proptest::prop_assert!(sent.iter().any(|value| value.contains(token.trim())));
            }
        }
    }
}
