//! Authentication on the API: where a token may be presented, and one refusal for every
//! kind of unusable token (malformed, unknown, revoked, expired, blocked owner).

use chrono::{Duration, NaiveTime};
use reqwest::StatusCode;
use serde_json::{Value, json};
use wvs::tokens::scope::Scope;

use crate::harness::{TestApp, day};

const WHO: &str = "{ currentUser { username } }";

async fn send(
    app: &TestApp,
    build: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
) -> (StatusCode, Option<String>, Value) {
    let request = app
        .client
        .post(app.url("/api/graphql"))
        .json(&json!({ "query": WHO }));
    let response = build(request).send().await.expect("request");
    let status = response.status();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|value| value.to_str().expect("ascii").to_owned());
    (status, challenge, response.json().await.expect("json"))
}

#[tokio::test]
async fn tokens_are_accepted_in_bearer_and_private_token_headers_with_whitespace() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let token = app.token(&alice, &[Scope::ReadUser]).await;
    for build in [
        Box::new(|r: reqwest::RequestBuilder, t: &str| {
            r.header("Authorization", format!("Bearer {t}"))
        }) as Box<dyn Fn(reqwest::RequestBuilder, &str) -> reqwest::RequestBuilder>,
        Box::new(|r, t| r.header("Authorization", format!("bearer   {t} \t"))),
        Box::new(|r, t| r.header("PRIVATE-TOKEN", t.to_owned())),
        Box::new(|r, t| r.header("Private-Token", format!("  {t}  "))),
    ] {
        let (status, _, body) = send(&app, |request| build(request, &token)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["currentUser"]["username"], "alice");
    }
}

#[tokio::test]
async fn every_unusable_token_gets_the_same_401() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let root = app.admin("root").await;
    let root_token = app.token(&root, &[Scope::Api]).await;
    let valid = app.token(&alice, &[Scope::Api]).await;
    let revoked = app.token(&alice, &[Scope::Api]).await;
    let expired = app
        .token_with(&alice, "short", &[Scope::Api], Some(day("2027-01-16")))
        .await;
    let revoked_id = app
        .gql_ok(&revoked, "{ currentToken { id } }", json!({}))
        .await["currentToken"]["id"]
        .clone();
    app.gql_ok(
        &revoked,
        "mutation($id: ID!) { personalAccessTokenRevoke(id: $id) { personalAccessToken { id } } }",
        json!({ "id": revoked_id }),
    )
    .await;
    app.clock.advance(Duration::days(1));

    let mut wrong_checksum = valid.clone();
    let last = wrong_checksum.pop().expect("char");
    wrong_checksum.push(if last == 'a' { 'b' } else { 'a' });
    let unknown = wvs::tokens::secret::TokenSecret::generate()
        .expose()
        .to_owned();
    let cases = [
        "garbage".to_owned(),
        String::new(),
        format!("glpat-{}", &valid[7..]),
        wrong_checksum,
        unknown,
        revoked,
        expired,
        "alice-password".to_owned(),
    ];
    let mut bodies = Vec::new();
    for token in &cases {
        let (status, challenge, body) = send(&app, |request| {
            request.header("Authorization", format!("Bearer {token}"))
        })
        .await;
        assert_eq!(status, 401, "{token:?}: {body}");
        assert_eq!(
            challenge.as_deref(),
            Some(r#"Bearer realm="WVS", error="invalid_token""#)
        );
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
        bodies.push(body);
    }
    assert!(
        bodies.windows(2).all(|pair| pair[0] == pair[1]),
        "messages differ: {bodies:?}"
    );

    // A blocked user's token: same answer; unblocking restores it.
    let block = "mutation($id: ID!) { userBlock(id: $id) { user { state } } }";
    app.gql_ok(
        &root_token,
        block,
        json!({ "id": format!("gid://wvs/User/{}", alice.id()) }),
    )
    .await;
    let (status, _, body) = send(&app, |request| request.bearer_auth(&valid)).await;
    assert_eq!(status, 401);
    assert_eq!(body, bodies[0]);
    let unblock = "mutation($id: ID!) { userUnblock(id: $id) { user { state } } }";
    app.gql_ok(
        &root_token,
        unblock,
        json!({ "id": format!("gid://wvs/User/{}", alice.id()) }),
    )
    .await;
    let (status, _, _) = send(&app, |request| request.bearer_auth(&valid)).await;
    assert_eq!(status, 200);

    let metrics = app.metrics_text().await;
    for reason in ["malformed", "unknown", "revoked", "expired", "user_blocked"] {
        let line = format!("wvs_auth_failures_total{{reason=\"{reason}\"}} 0");
        assert!(
            !metrics.contains(&line),
            "no {reason} failure counted:\n{metrics}"
        );
    }
}

#[tokio::test]
async fn tokens_in_the_query_string_are_refused() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let token = app.token(&alice, &[Scope::Api]).await;
    for query in [
        format!("private_token={token}"),
        format!("access_token={token}"),
        format!("x={token}"),
    ] {
        let response = app
            .client
            .post(app.url(&format!("/api/graphql?{query}")))
            .json(&json!({ "query": WHO }))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 401);
        let body: Value = response.json().await.expect("json");
        let message = body["errors"][0]["message"].as_str().expect("message");
        assert!(message.contains("header"), "{message}");
        assert!(!message.contains(&token[7..]));
    }
}

#[tokio::test]
async fn passwords_and_other_schemes_are_not_api_credentials() {
    let app = TestApp::spawn().await;
    app.user("alice").await;
    let (status, _, _) = send(&app, |request| {
        request.basic_auth("alice", Some("alice-password"))
    })
    .await;
    assert_eq!(status, 401);
    let (status, _, _) = send(&app, |request| request.bearer_auth("alice-password")).await;
    assert_eq!(status, 401);
    let (status, _, body) = send(&app, |request| request).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["currentUser"], Value::Null);
}

#[tokio::test]
async fn a_token_works_until_the_last_millisecond_before_its_expiry_date() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let token = app
        .token_with(&alice, "short", &[Scope::ReadUser], Some(day("2027-01-20")))
        .await;
    let last_moment = day("2027-01-19")
        .and_time(NaiveTime::from_hms_milli_opt(23, 59, 59, 999).expect("time"))
        .and_utc();
    app.clock.set(last_moment);
    let (status, _, _) = send(&app, |request| request.bearer_auth(&token)).await;
    assert_eq!(status, 200);
    app.clock.advance(Duration::milliseconds(1));
    let (status, _, _) = send(&app, |request| request.bearer_auth(&token)).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn repeated_credential_headers_are_refused() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let alice_token = app.token(&alice, &[Scope::ReadUser]).await;
    let bob_token = app.token(&bob, &[Scope::ReadUser]).await;
    for (name, first, second) in [
        (
            "Authorization",
            format!("Bearer {alice_token}"),
            format!("Bearer {bob_token}"),
        ),
        (
            "Authorization",
            format!("Bearer {alice_token}"),
            format!("Bearer {alice_token}"),
        ),
        ("PRIVATE-TOKEN", alice_token.clone(), bob_token.clone()),
    ] {
        let (status, _, _) = send(&app, |request| {
            request
                .header(name, first.clone())
                .header(name, second.clone())
        })
        .await;
        assert_eq!(status, 401, "{name}");
    }
}

#[tokio::test]
async fn junk_tokens_cost_no_database_statement() {
    let app = TestApp::spawn().await;
    app.user("alice").await;
    let before = app.state.metrics.db_statements();
    for junk in [
        "nonsense",
        "wvspat-short",
        "glpat-0123456789abcdefghij0123456789abcdefgh",
    ] {
        for _ in 0..10 {
            let (status, _, _) = send(&app, |request| request.bearer_auth(junk)).await;
            assert_eq!(status, 401);
        }
    }
    assert_eq!(app.state.metrics.db_statements(), before);
    // The audit log tallies them instead of writing a row per request.
    app.flush_refusals().await;
    use sea_orm::EntityTrait;
    let rows = entity::audit_event::Entity::find()
        .all(&app.state.db)
        .await
        .expect("rows");
    assert_eq!(
        rows.len(),
        1,
        "one tallied row per reason and address: {rows:?}"
    );
    assert!(
        rows[0].details.contains("\"count\":30"),
        "{}",
        rows[0].details
    );
}

/// A refused credential is answered from the headers: the server does not wait for (or
/// parse) a body it was promised. Had it read the body first, this request would hang until
/// the server's request timeout and get something other than a prompt 401.
#[tokio::test]
async fn a_refused_token_is_answered_before_the_body_arrives() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = TestApp::spawn().await;
    for credential in [
        "wvspat-junk",
        "wvspat-0000000000000000000000000000000000000A",
    ] {
        let mut stream = tokio::net::TcpStream::connect(app.addr)
            .await
            .expect("connect");
        let head = format!(
            "POST /api/graphql HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Authorization: Bearer {credential}\r\nContent-Length: 100000\r\n\r\n{{\"query\":",
            app.addr
        );
        stream.write_all(head.as_bytes()).await.expect("write");
        let mut response = Vec::new();
        let mut buffer = [0u8; 4096];
        while !response.windows(4).any(|window| window == b"\r\n\r\n") {
            let read = stream.read(&mut buffer).await.expect("read");
            assert!(read > 0, "the connection closed without an answer");
            response.extend_from_slice(&buffer[..read]);
        }
        let status_line = String::from_utf8_lossy(&response);
        assert!(
            status_line.starts_with("HTTP/1.1 401"),
            "{credential}: {status_line}"
        );
    }
}
