//! GraphQL limits and surfaces: depth, complexity, batch and body size, GET for queries,
//! GraphiQL, error codes, and `schema.graphql` matching the live schema.

use serde_json::{Value, json};
use wvs::tokens::scope::Scope;

use crate::harness::{TestApp, error_code};

#[test]
fn schema_graphql_is_the_output_of_wvs_schema() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema.graphql");
    assert!(
        committed == wvs::graphql::sdl(),
        "schema.graphql is stale: run `cargo run -- schema > schema.graphql`"
    );
}

#[tokio::test]
async fn deep_and_expensive_queries_are_refused() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let token = app.token(&alice, &[Scope::Api]).await;
    let reasonable = "{ personalAccessTokens { edges { node { user { username } } } nodes { user { username } } pageInfo { hasNextPage } } }";
    app.gql_ok(&token, reasonable, json!({})).await;

    // Thousands of aliases blow the complexity budget.
    let aliases: String = (0..2000)
        .map(|i| format!("a{i}: currentUser {{ id }} "))
        .collect();
    let (status, body) = app
        .gql(Some(&token), &format!("{{ {aliases} }}"), json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED");

    // Too deep.
    let too_deep = format!(
        "{{ __type(name: \"User\") {}name{} }}",
        "{ fields { type { ofType ".repeat(6),
        " } } }".repeat(6)
    );
    let (_, body) = app.gql(Some(&token), &too_deep, json!({})).await;
    assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");

    // Recursion through fragments is refused, never a stack overflow.
    let (status, body) = app
        .gql(
            Some(&token),
            "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");
}

#[tokio::test]
async fn oversized_batches_and_bodies_are_refused() {
    let app = TestApp::spawn().await;
    let batch: Vec<Value> = (0..11)
        .map(|_| json!({ "query": "{ accessTokenScopes { name } }" }))
        .collect();
    let response = app
        .client
        .post(app.url("/api/graphql"))
        .json(&batch)
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(error_code(&body), "BAD_REQUEST");
    let ten: Vec<Value> = (0..10)
        .map(|_| json!({ "query": "{ accessTokenScopes { name } }" }))
        .collect();
    let response = app
        .client
        .post(app.url("/api/graphql"))
        .json(&ten)
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 200);

    let huge = json!({ "query": "{ accessTokenScopes { name } }", "variables": { "x": "y".repeat(2 * 1024 * 1024) } });
    let response = app
        .client
        .post(app.url("/api/graphql"))
        .json(&huge)
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.expect("json");
    assert_eq!(error_code(&body), "PAYLOAD_TOO_LARGE");

    let (status, body) = app
        .post_graphql_body(None, "application/json", "{ not json")
        .await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&body), "BAD_REQUEST");
}

#[tokio::test]
async fn get_runs_queries_and_graphiql_is_served() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let token = app.token(&alice, &[Scope::ReadApi]).await;
    let response = app
        .client
        .get(app.url("/api/graphql"))
        .query(&[("query", "{ currentUser { username } }")])
        .header("PRIVATE-TOKEN", &token)
        .send()
        .await
        .expect("get");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["data"]["currentUser"]["username"], "alice");

    let api = app.token(&alice, &[Scope::Api]).await;
    let before = app.token_state().await;
    let response = app
        .client
        .get(app.url("/api/graphql"))
        .query(&[("query", "mutation { personalAccessTokenCreate(input: { name: \"x\", scopes: [API] }) { token } }")])
        .bearer_auth(&api)
        .send()
        .await
        .expect("get");
    let body: Value = response.json().await.expect("json");
    assert_eq!(error_code(&body), "BAD_REQUEST", "{body}");
    assert_eq!(app.token_state().await, before);

    let page = app
        .client
        .get(app.url("/-/graphiql"))
        .send()
        .await
        .expect("graphiql");
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_owned();
    let html = page.text().await.expect("html");
    assert!(html.contains("/api/graphql"));
    // Every file from the CDN is an exact version, pinned by its hash, allowed by its URL.
    let external: Vec<&str> = html
        .split(['"'])
        .filter(|part| part.starts_with("https://"))
        .collect();
    assert_eq!(external.len(), 4, "{html}");
    for url in external {
        assert!(url.contains("@18.3.1/") || url.contains("@3.8.3/"), "{url}");
        assert!(csp.contains(url), "{url} not in {csp}");
        let tag_start = html[..html.find(url).expect("url")]
            .rfind('<')
            .expect("tag");
        let tag = &html[tag_start..tag_start + html[tag_start..].find('>').expect("end")];
        assert!(tag.contains(r#"integrity="sha384-"#), "{tag}");
    }
    assert!(!csp.contains("https://unpkg.com;") && !csp.contains("https://unpkg.com "));
}

#[tokio::test]
async fn every_error_carries_a_code() {
    let app = TestApp::spawn().await;
    for (document, code) in [
        ("{ noSuchField }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ currentUser { ", "GRAPHQL_VALIDATION_FAILED"),
        (
            "{ personalAccessTokens { nodes { id } } }",
            "UNAUTHENTICATED",
        ),
    ] {
        let (_, body) = app.gql(None, document, json!({})).await;
        assert_eq!(error_code(&body), code, "{document}: {body}");
    }
    let scopes = app
        .gql(
            None,
            "{ accessTokenScopes { name description adminOnly } }",
            json!({}),
        )
        .await
        .1;
    let list = scopes["data"]["accessTokenScopes"]
        .as_array()
        .expect("scopes");
    assert_eq!(list.len(), 8);
    assert_eq!(
        list[7],
        json!({ "name": "SUDO", "description": wvs::tokens::scope::Scope::Sudo.description(), "adminOnly": true })
    );
}

#[tokio::test]
async fn exploding_fragments_are_refused_before_execution_even_anonymously() {
    let app = TestApp::spawn().await;
    // Within the nesting limit, so that only the expansion bound stands between this
    // document and a walk of 2^30 selections.
    let depth = 30;
    let mut query = String::from("query { ...F0 } ");
    for i in 0..depth {
        query.push_str(&format!(
            "fragment F{i} on Query {{ a: __typename ...F{} ...F{} }} ",
            i + 1,
            i + 1
        ));
    }
    query.push_str(&format!("fragment F{depth} on Query {{ __typename }}"));
    let (status, body) = app.gql(None, &query, json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|message| message.contains("too many fields once fragments are expanded")),
        "refused by the expansion bound, before validation: {body}"
    );
    let (_, body) = app
        .gql(None, "{ a: __typename b: __typename }", json!({}))
        .await;
    assert_eq!(body["data"]["a"], "Query");
}

#[tokio::test]
async fn get_honours_operation_name_and_variables() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let token = app.token(&alice, &[Scope::ReadUser]).await;
    let get = |params: Vec<(&'static str, &'static str)>| {
        let request = app
            .client
            .get(app.url("/api/graphql"))
            .query(&params)
            .bearer_auth(&token);
        async move {
            request
                .send()
                .await
                .expect("get")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    let body = get(vec![
        (
            "query",
            "query A { currentUser { username } } query B { __typename }",
        ),
        ("operationName", "B"),
    ])
    .await;
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
    let body = get(vec![
        (
            "query",
            "query($u: String) { user(username: $u) { username } }",
        ),
        ("variables", "{\"u\": \"alice\"}"),
    ])
    .await;
    assert_eq!(body["data"]["user"]["username"], "alice", "{body}");
    let body = get(vec![
        ("query", "{ currentUser { id } }"),
        ("operationName", "X"),
    ])
    .await;
    assert!(body["errors"].is_array(), "{body}");
    let body = get(vec![
        ("query", "{ currentUser { id } }"),
        ("variables", "not json"),
    ])
    .await;
    assert_eq!(error_code(&body), "BAD_REQUEST");
}

#[tokio::test]
async fn no_origin_is_granted_cross_origin_access() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let token = app.token(&alice, &[Scope::Api]).await;
    for origin in [
        "https://evil.example",
        "null",
        &format!("http://{}", app.addr),
    ] {
        let response = app
            .client
            .post(app.url("/api/graphql"))
            .bearer_auth(&token)
            .header("origin", origin)
            .json(&json!({ "query": "{ currentUser { username } }" }))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200);
        for header in [
            "access-control-allow-origin",
            "access-control-allow-credentials",
            "access-control-allow-headers",
        ] {
            assert!(
                response.headers().get(header).is_none(),
                "{origin}: {header}"
            );
        }
        // No preflight is ever granted either.
        let preflight = app
            .client
            .request(reqwest::Method::OPTIONS, app.url("/api/graphql"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
            .await
            .expect("preflight");
        assert!(!preflight.status().is_success(), "{origin}");
        assert!(
            preflight
                .headers()
                .get("access-control-allow-origin")
                .is_none()
        );
    }
}

/// A chain of tens of thousands of fragments, anonymously: refused with an error, never a
/// stack overflow of the server (the checks before the executor walk fragments).
#[tokio::test]
async fn a_long_chain_of_fragments_is_refused_not_a_crash() {
    let app = TestApp::spawn().await;
    let mut query = String::from("query { ...F0 } ");
    for i in 0..30_000 {
        query.push_str(&format!("fragment F{i} on Query{{...F{}}}", i + 1));
    }
    query.push_str("fragment F30000 on Query{__typename}");
    assert!(query.len() < wvs::http::MAX_BODY_BYTES);
    let (status, body) = app.gql(None, &query, json!({})).await;
    assert_eq!(status, 200);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|message| message.contains("recursion depth")),
        "{body}"
    );
    let (_, body) = app.gql(None, "{ __typename }", json!({})).await;
    assert_eq!(
        body["data"]["__typename"], "Query",
        "the server still answers"
    );
}

/// Response fields come in the order the query selected them, as the GraphQL specification
/// asks (the JSON text, not a re-parsed map, is what clients see), also when a field
/// selected first waits on the database and one after it does not (async-graphql
/// assembles fields as they complete).
#[tokio::test]
async fn response_fields_come_in_the_order_they_were_selected() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let token = app.token(&alice, &[Scope::Api]).await;
    let waits = "a: personalAccessTokens(first: 1) { nodes { name } }";
    let waiting_first = format!("{{ {waits} b: __typename }}");
    let in_a_fragment =
        format!("{{ ...F c: __typename }} fragment F on Query {{ {waits} b: __typename }}");
    for (query, first, second) in [
        ("{ currentUser { username id } }", "\"username\"", "\"id\""),
        ("{ currentUser { id username } }", "\"id\"", "\"username\""),
        ("{ b: __typename a: __typename }", "\"b\"", "\"a\""),
        (&waiting_first, "\"a\"", "\"b\""),
        (&in_a_fragment, "\"a\"", "\"b\""),
        (&in_a_fragment, "\"b\"", "\"c\""),
    ] {
        let text = app
            .client
            .post(app.url("/api/graphql"))
            .bearer_auth(&token)
            .json(&json!({ "query": query }))
            .send()
            .await
            .expect("post")
            .text()
            .await
            .expect("text");
        let at = |key: &str| text.find(key).unwrap_or_else(|| panic!("{key} in {text}"));
        assert!(at(first) < at(second), "{query}: {text}");
    }
}

/// A body sent without a length (chunked) is only found too long while it is read: it gets
/// the same JSON 413 as one whose `Content-Length` says so up front. Multipart bodies (file
/// uploads, which no field takes) are refused as not JSON.
#[tokio::test]
async fn chunked_bodies_over_the_limit_and_multipart_bodies_are_refused() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = TestApp::spawn().await;
    let mut stream = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    let head = format!(
        "POST /api/graphql HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        app.addr
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    let (mut reader, mut writer) = stream.into_split();
    // Past the 1 MiB limit, from another task: the server answers (and stops reading)
    // before the end, and the answer is read as it comes.
    let sender = tokio::spawn(async move {
        let chunk = "x".repeat(64 * 1024);
        for _ in 0..40 {
            let frame = format!("{:x}\r\n{chunk}\r\n", chunk.len());
            if writer.write_all(frame.as_bytes()).await.is_err() {
                return;
            }
        }
        let _ = writer.write_all(b"0\r\n\r\n").await;
    });
    let mut response = Vec::new();
    let mut buffer = [0u8; 4096];
    while !String::from_utf8_lossy(&response).contains("PAYLOAD_TOO_LARGE") {
        match reader.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => response.extend_from_slice(&buffer[..read]),
        }
    }
    sender.abort();
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains("\"PAYLOAD_TOO_LARGE\""), "{response}");

    let (status, body) = app
        .post_graphql_body(
            None,
            "multipart/form-data; boundary=x",
            "--x\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{\"query\":\"{ __typename }\"}\r\n--x--\r\n",
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&body), "BAD_REQUEST");
}

/// Sends `head` (a request without its body) and returns the response's status line and
/// body, read until the server closes the connection.
async fn raw_exchange(app: &TestApp, head: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut stream = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    stream.write_all(head.as_bytes()).await.expect("head");
    let mut response = Vec::new();
    let mut buffer = [0u8; 4096];
    // The answer comes before any body byte is sent; read until it is whole.
    loop {
        let text = String::from_utf8_lossy(&response).into_owned();
        if let Some((_, body)) = text.split_once("\r\n\r\n")
            && serde_json::from_str::<Value>(body).is_ok()
        {
            let status = text.lines().next().unwrap_or_default().to_owned();
            return (status, body.to_owned());
        }
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => panic!("no whole answer: {text}"),
            Ok(read) => response.extend_from_slice(&buffer[..read]),
        }
    }
}

/// The token is checked before the body's length: a refused token hears 401 whatever the
/// `Content-Length` claims (as it does for a body sent chunked), and only an accepted
/// caller is told the body is too large.
#[tokio::test]
async fn a_refused_token_is_answered_401_before_the_body_length_is_judged() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let token = app.token(&alice, &[Scope::Api]).await;
    let head = |authorization: &str| {
        format!(
            "POST /api/graphql HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Authorization: Bearer {authorization}\r\nContent-Length: 2000000\r\n\
             Connection: close\r\n\r\n",
            app.addr
        )
    };
    let junk = "wvspat-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let (status, body) = raw_exchange(&app, &head(junk)).await;
    assert!(status.starts_with("HTTP/1.1 401"), "{status}");
    let body: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(error_code(&body), "UNAUTHENTICATED");

    let (status, body) = raw_exchange(&app, &head(&token)).await;
    assert!(status.starts_with("HTTP/1.1 413"), "{status}");
    let body: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(error_code(&body), "PAYLOAD_TOO_LARGE");
}

/// A body that holds no GraphQL request is refused 400, nothing run: an empty batch, a
/// request without a `query` (read by position from an array, serde would take `[]` for
/// one), a bare value. GET takes a non-empty `query` and `variables` as an object.
#[tokio::test]
async fn bodies_and_parameters_without_a_request_are_refused() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let token = app.token(&alice, &[Scope::Api]).await;
    for (body, message) in [
        ("[]", "The batch is empty."),
        ("{}", "not a GraphQL request"),
        (r#"{"query": "  "}"#, "not a GraphQL request"),
        ("[[]]", "not a GraphQL request"),
        (
            r#"[{"query": "{ __typename }"}, {}]"#,
            "not a GraphQL request",
        ),
        ("5", "not a GraphQL request"),
        (r#""{ __typename }""#, "not a GraphQL request"),
        ("", "not a GraphQL request"),
    ] {
        let (status, answer) = app
            .post_graphql_body(Some(&token), "application/json", body)
            .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(error_code(&answer), "BAD_REQUEST", "{body}");
        assert!(
            answer["errors"][0]["message"]
                .as_str()
                .is_some_and(|text| text.contains(message)),
            "{body}: {answer}"
        );
    }
    let full = app
        .gql_ok(&token, "{ currentUser { username } }", json!({}))
        .await;
    assert_eq!(full["currentUser"]["username"], "alice");

    let get = |parameters: Vec<(&'static str, &'static str)>| {
        app.client
            .get(app.url("/api/graphql"))
            .query(&parameters)
            .bearer_auth(&token)
            .send()
    };
    for parameters in [
        vec![("query", " ")],
        vec![("query", "{ __typename }"), ("variables", "[1]")],
        vec![("query", "{ __typename }"), ("variables", "5")],
        vec![("query", "{ __typename }"), ("variables", "\"x\"")],
    ] {
        let response = get(parameters.clone()).await.expect("get");
        assert_eq!(response.status(), 400, "{parameters:?}");
        let answer: Value = response.json().await.expect("json");
        assert_eq!(error_code(&answer), "BAD_REQUEST", "{parameters:?}");
    }
    for variables in ["null", "{}"] {
        let response = get(vec![("query", "{ __typename }"), ("variables", variables)])
            .await
            .expect("get");
        assert_eq!(response.status(), 200, "{variables}");
        let answer: Value = response.json().await.expect("json");
        assert_eq!(answer["data"]["__typename"], "Query", "{variables}");
    }
}

/// A method the path does not take is answered in the API's JSON, with `Allow` kept.
#[tokio::test]
async fn a_method_the_path_does_not_take_is_answered_in_json() {
    let app = TestApp::spawn().await;
    for (method, path) in [
        (reqwest::Method::PUT, "/api/graphql"),
        (reqwest::Method::POST, "/-/health"),
    ] {
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 405, "{method} {path}");
        assert!(response.headers().contains_key("allow"), "{method} {path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "{method} {path}"
        );
        let answer: Value = response.json().await.expect("json");
        assert_eq!(error_code(&answer), "METHOD_NOT_ALLOWED", "{method} {path}");
    }
}
