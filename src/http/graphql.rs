//! The GraphQL endpoint: authenticate first (a bad token never reaches the executor), then
//! run the request or batch with the caller attached, and make sure every error carries
//! `extensions.code`.

use async_graphql::{BatchRequest, BatchResponse, Request, dataloader::HashMapCache};
use std::net::{IpAddr, SocketAddr};

use axum::{
    Extension,
    body::Body,
    extract::{ConnectInfo, Query, State},
    http::{
        HeaderMap, HeaderValue, StatusCode, Uri, header,
        header::{CACHE_CONTROL, CONTENT_TYPE},
    },
    response::{Html, IntoResponse, Response},
};

use crate::{
    auth::{
        credentials::{ApiCredentials, api_credentials},
        principal::Principal,
        sudo::{SUDO_HEADER, act_as},
        token::{Refusal, authenticate, refuse},
    },
    error::{Error, UNAVAILABLE_CODE},
    graphql::{
        MAX_BATCH, admission,
        context::{Caller, HttpMethod},
        executor::Executor,
        loaders::{UserDataLoader, UserLoader},
    },
    http::{
        MAX_BODY_BYTES,
        refusal::{
            exceeded_body_limit, graphql_error, payload_too_large, unauthorized, unavailable,
        },
        security_headers,
    },
    state::AppState,
};

/// `POST /api/graphql`: a request or a batch of up to [`MAX_BATCH`]. The caller is
/// authenticated from the headers before the body is read, so a refused credential costs
/// no body parsing (and the headers are not copied).
pub async fn post(
    State(state): State<AppState>,
    Extension(executor): Extension<Executor>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let caller = match caller(&state, &parts.headers, parts.uri.query(), peer.ip()).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    // Boxed, and only once admitted: reading and executing the request are large futures,
    // which inline would make this handler's future as large, copied for every request, a
    // refused one included.
    Box::pin(async move {
        let batch = match read_batch(&parts.headers, body).await {
            Ok(batch) => batch,
            Err(response) => return response,
        };
        execute(&state, &executor, batch, caller, HttpMethod::Post).await
    })
    .await
}

/// The GraphQL request or batch in a POST body: JSON, whatever the `Content-Type` claims,
/// except multipart (file uploads, which no field here takes). The body is read in one
/// piece, at most [`MAX_BODY_BYTES`], and parsed from it. The limit is applied here rather
/// than by a layer in front of the route, so a refused credential is answered 401 whatever
/// the body's length says, as it is for a body sent without one (chunked).
async fn read_batch(headers: &HeaderMap, body: Body) -> Result<BatchRequest, Response> {
    let multipart = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/")
        });
    if multipart {
        return Err(bad_request(
            "Multipart requests are not accepted: send JSON with a `query` string.",
        ));
    }
    let declared_too_long = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok())
        .is_some_and(|length| length > MAX_BODY_BYTES as u64);
    if declared_too_long {
        return Err(payload_too_large());
    }
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        // A body without a length (chunked) is only found too long while it is read.
        Err(error) if exceeded_body_limit(&error) => return Err(payload_too_large()),
        Err(_) => return Err(bad_request("The request body could not be read.")),
    };
    let not_a_request = || {
        bad_request("The request body is not a GraphQL request: send JSON with a `query` string.")
    };
    // A batch is an array of request objects and a request is an object. Told apart by
    // the first character: left to serde, an array also reads as one request (fields by
    // position), so `[]` ran as an empty document instead of being refused.
    let batch = match bytes.iter().find(|byte| !byte.is_ascii_whitespace()) {
        Some(b'{') => serde_json::from_slice(&bytes).map(BatchRequest::Single),
        Some(b'[') => serde_json::from_slice(&bytes).map(BatchRequest::Batch),
        _ => return Err(not_a_request()),
    }
    .map_err(|_| not_a_request())?;
    let requests: &[Request] = match &batch {
        BatchRequest::Single(single) => std::slice::from_ref(single),
        BatchRequest::Batch(many) => many,
    };
    if requests
        .iter()
        .any(|request| request.query.trim().is_empty())
    {
        return Err(not_a_request());
    }
    Ok(batch)
}

/// `GET /api/graphql?query=…`: queries only.
pub async fn get(
    State(state): State<AppState>,
    Extension(executor): Extension<Executor>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let caller = match caller(&state, &headers, uri.query(), peer.ip()).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    match get_request(&uri) {
        Ok(request) => {
            Box::pin(execute(
                &state,
                &executor,
                BatchRequest::Single(request),
                caller,
                HttpMethod::Get,
            ))
            .await
        }
        Err(error) => bad_request(&error.to_string()),
    }
}

/// The GraphQL parameters of a `GET`: `query`, `operationName`, `variables` (JSON).
#[derive(serde::Deserialize)]
struct GetParameters {
    query: String,
    #[serde(rename = "operationName", alias = "operation_name")]
    operation_name: Option<String>,
    variables: Option<String>,
}

fn get_request(uri: &Uri) -> Result<Request, String> {
    let Query(parameters) = Query::<GetParameters>::try_from_uri(uri)
        .ok()
        .filter(|Query(parameters)| !parameters.query.trim().is_empty())
        .ok_or_else(|| "Send the GraphQL document in the `query` parameter.".to_owned())?;
    let mut request = Request::new(parameters.query);
    if let Some(name) = parameters.operation_name.filter(|name| !name.is_empty()) {
        request = request.operation_name(name);
    }
    if let Some(variables) = parameters
        .variables
        .filter(|variables| !variables.is_empty())
    {
        let json = serde_json::from_str::<serde_json::Value>(&variables)
            .ok()
            .filter(|json| json.is_object() || json.is_null())
            .ok_or_else(|| "`variables` must be a JSON object.".to_owned())?;
        request = request.variables(async_graphql::Variables::from_json(json));
    }
    Ok(request)
}

/// Authenticates the request's API credentials (and applies `Sudo`); the error is the
/// response to send.
async fn caller(
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
    ip: IpAddr,
) -> Result<Caller, Response> {
    let credentials = api_credentials(headers, query).map_err(|reason| {
        refuse(state, reason, "api", Some(ip), None);
        unauthorized(reason)
    })?;
    let principal: Option<Principal> = match credentials {
        ApiCredentials::Anonymous => None,
        ApiCredentials::Token(token) => match authenticate(state, token, Some(ip), "api").await {
            Ok(principal) => Some(principal),
            Err(Refusal::Invalid(reason)) => return Err(unauthorized(reason)),
            Err(Refusal::Unavailable(_)) => return Err(unavailable()),
        },
    };
    let Some(sudo) = headers.get(SUDO_HEADER) else {
        return Ok(Caller(principal));
    };
    if headers.get_all(SUDO_HEADER).iter().count() > 1 {
        return Err(bad_request("Send at most one Sudo header."));
    }
    let target = sudo.to_str().unwrap_or_default();
    match Box::pin(act_as(state, principal, target)).await {
        Ok(acting) => Ok(Caller(Some(acting))),
        Err(error) => {
            let status = match error {
                Error::NotFound(_) => StatusCode::NOT_FOUND,
                Error::Internal(_) | Error::Unavailable(_) => return Err(unavailable()),
                _ => StatusCode::FORBIDDEN,
            };
            Err(graphql_error(status, error.code(), &error.to_string()))
        }
    }
}

async fn execute(
    state: &AppState,
    executor: &Executor,
    batch: BatchRequest,
    caller: Caller,
    method: HttpMethod,
) -> Response {
    let run = |request: Request, caller: Caller| async move {
        let mut admitted = match admission::admit(&state.documents, request, &caller, method) {
            Ok(admitted) => admitted,
            Err(refused) => return *refused,
        };
        admitted.request =
            admitted
                .request
                .data(caller)
                .data(method)
                .data(UserDataLoader::with_cache(
                    UserLoader {
                        db: state.db.clone(),
                    },
                    tokio::spawn,
                    HashMapCache::default(),
                ));
        executor.execute(admitted).await
    };
    let mut response = match batch {
        BatchRequest::Single(request) => BatchResponse::Single(run(request, caller).await),
        BatchRequest::Batch(requests) if requests.is_empty() => {
            return bad_request("The batch is empty.");
        }
        BatchRequest::Batch(requests) if requests.len() > MAX_BATCH => {
            return bad_request(&format!("A batch may hold at most {MAX_BATCH} requests."));
        }
        BatchRequest::Batch(requests) => BatchResponse::Batch(
            async_graphql::futures_util::future::join_all(
                requests
                    .into_iter()
                    .map(|request| run(request, caller.clone())),
            )
            .await,
        ),
    };
    match &mut response {
        BatchResponse::Single(single) => annotate_errors(single),
        BatchResponse::Batch(many) => many.iter_mut().for_each(annotate_errors),
    }
    // When the database could not be reached nothing was done: say 503, so that clients and
    // load balancers retry instead of reading a 200 that failed.
    let status = if has_code(&response, UNAVAILABLE_CODE) {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    // Straight to bytes: through a `serde_json::Value` first, every response was built twice.
    match serde_json::to_vec(&response) {
        Ok(body) => {
            let mut response = Response::new(Body::from(body));
            *response.status_mut() = status;
            let headers = response.headers_mut();
            security_headers::reserve_for(headers, 2);
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            // Responses can hold a token (creation, rotation): never cache them anywhere.
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => {
            tracing::error!(error = %error, "serializing a GraphQL response failed");
            graphql_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "Internal server error.",
            )
        }
    }
}

/// Whether any error of the response carries `extensions.code == code`.
fn has_code(response: &BatchResponse, code: &str) -> bool {
    let responses: &[async_graphql::Response] = match response {
        BatchResponse::Single(single) => std::slice::from_ref(single),
        BatchResponse::Batch(many) => many,
    };
    responses.iter().flat_map(|r| &r.errors).any(|error| {
        error
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.get("code"))
            .is_some_and(|value| *value == async_graphql::Value::from(code))
    })
}

fn bad_request(message: &str) -> Response {
    graphql_error(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
}

/// Gives every error its `extensions.code`: domain errors through their one mapping, and
/// the executor's own parse and validation errors a code of their kind.
fn annotate_errors(response: &mut async_graphql::Response) {
    for error in &mut response.errors {
        let source = error.source.clone();
        if let Some(domain) = source
            .as_deref()
            .and_then(|source| source.downcast_ref::<Error>())
        {
            domain.annotate(error);
            continue;
        }
        let has_code = error
            .extensions
            .as_ref()
            .is_some_and(|ext| ext.get("code").is_some());
        if !has_code {
            let code = if error.message.contains("Invalid value")
                || error.message.contains("Failed to parse")
            {
                "BAD_USER_INPUT"
            } else {
                "GRAPHQL_VALIDATION_FAILED"
            };
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("code", code);
        }
    }
}

/// `GET /-/graphiql`: the GraphiQL playground, pointed at `/api/graphql`.
pub async fn graphiql() -> impl IntoResponse {
    (
        [(header::CONTENT_SECURITY_POLICY, GRAPHIQL_CSP)],
        Html(GRAPHIQL_PAGE),
    )
}

/// GraphiQL comes from unpkg: exact versions, each file pinned by its Subresource Integrity
/// hash (computed from the npm tarballs unpkg serves) and allowed by its full URL alone, so
/// neither a new release nor a compromised CDN can run script on this origin. It styles
/// itself inline; everything else stays this origin's.
const GRAPHIQL_CSP: &str = "default-src 'none'; script-src 'self' https://unpkg.com/react@18.3.1/umd/react.production.min.js https://unpkg.com/react-dom@18.3.1/umd/react-dom.production.min.js https://unpkg.com/graphiql@3.8.3/graphiql.min.js; style-src 'self' https://unpkg.com/graphiql@3.8.3/graphiql.min.css 'unsafe-inline'; img-src 'self' data:; font-src data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const GRAPHIQL_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>WVS GraphiQL</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="https://unpkg.com/graphiql@3.8.3/graphiql.min.css" integrity="sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM" crossorigin="anonymous">
<link rel="stylesheet" href="/-/assets/graphiql.css">
</head>
<body>
<div id="graphiql">Loading GraphiQL… Send queries to <code>/api/graphql</code>; put your token in the Headers tab as
<code>{"Authorization": "Bearer wvspat-…"}</code>.</div>
<script src="https://unpkg.com/react@18.3.1/umd/react.production.min.js" integrity="sha384-DGyLxAyjq0f9SPpVevD6IgztCFlnMF6oW/XQGmfe+IsZ8TqEiDrcHkMLKI6fiB/Z" crossorigin="anonymous"></script>
<script src="https://unpkg.com/react-dom@18.3.1/umd/react-dom.production.min.js" integrity="sha384-gTGxhz21lVGYNMcdJOyq01Edg0jhn/c22nsx0kyqP0TxaV5WVdsSH1fSDUf5YJj1" crossorigin="anonymous"></script>
<script src="https://unpkg.com/graphiql@3.8.3/graphiql.min.js" integrity="sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie" crossorigin="anonymous"></script>
<script src="/-/assets/graphiql.js"></script>
</body>
</html>
"#;
