//! The executor's full validation is skipped only for a document it has already passed
//! without variables (its verdict then depends on the document alone): a document that
//! failed, or one sent with variables, is fully validated every time, and the checks made
//! for each request (scopes, method) still run on a remembered document.

use serde_json::{Value, json};
use wvs::tokens::scope::Scope;

use crate::harness::{TestApp, error_code};

/// (full validations, remembered ones) so far, from `/-/metrics`.
async fn validations(app: &TestApp) -> (u64, u64) {
    let text = app.metrics_text().await;
    let counter = |name: &str| -> u64 {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} missing from the metrics"))
    };
    (
        counter("wvs_graphql_full_validations_total "),
        counter("wvs_graphql_remembered_validations_total "),
    )
}

#[tokio::test]
async fn a_failing_document_is_refused_by_the_full_validation_every_time() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let token = app.token(&alice, &[Scope::Api]).await;
    let invalid = "{ currentUser { username nosuchfield } }";
    let before = validations(&app).await;
    let (_, first) = app.gql(Some(&token), invalid, json!({})).await;
    assert_eq!(error_code(&first), "GRAPHQL_VALIDATION_FAILED", "{first}");
    assert!(first["data"].is_null(), "{first}");
    for _ in 0..2 {
        let (_, again) = app.gql(Some(&token), invalid, json!({})).await;
        assert_eq!(again, first);
    }
    assert!(!app.state.documents.is_validated(invalid));
    assert_eq!(validations(&app).await, (before.0 + 3, before.1));
}

#[tokio::test]
async fn a_passed_document_is_remembered_and_answered_the_same() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let token = app.token(&alice, &[Scope::Api]).await;
    let query = "query Who { currentUser { username } a: currentUser { id } }";
    assert!(!app.state.documents.is_validated(query));
    let before = validations(&app).await;
    let answer = app.gql_ok(&token, query, json!({})).await;
    assert_eq!(answer["currentUser"]["username"], "alice");
    assert!(app.state.documents.is_validated(query));
    for _ in 0..2 {
        assert_eq!(app.gql_ok(&token, query, json!({})).await, answer);
    }
    assert_eq!(
        validations(&app).await,
        (before.0 + 1, before.1 + 2),
        "validated in full once, then remembered"
    );
    // What the executor checks for itself still holds on the remembered path.
    let body: Value = app
        .client
        .post(app.url("/api/graphql"))
        .bearer_auth(&token)
        .json(&json!({ "query": query, "operationName": "Other" }))
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert!(body["data"].is_null(), "{body}");
    assert_eq!(
        body["errors"][0]["message"], "Unknown operation named \"Other\"",
        "{body}"
    );
}

#[tokio::test]
async fn a_remembered_document_with_variables_is_validated_again() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let token = app.token(&alice, &[Scope::Api]).await;
    let query = "query($first: Int) { users(first: $first) { nodes { username } } }";
    app.gql_ok(&token, query, json!({})).await;
    assert!(app.state.documents.is_validated(query));
    let before = validations(&app).await;
    let (status, body) = app
        .gql(Some(&token), query, json!({ "first": "many" }))
        .await;
    assert_eq!(status, 200);
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("Invalid value for argument \"first\""),
        "the full validation's answer: {body}"
    );
    app.gql_ok(&token, query, json!({ "first": 1 })).await;
    assert_eq!(validations(&app).await, (before.0 + 2, before.1));
}

#[tokio::test]
async fn a_remembered_document_is_still_checked_against_each_callers_scopes_and_method() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let api = app.token(&alice, &[Scope::Api]).await;
    let read_user = app.token(&alice, &[Scope::ReadUser]).await;
    let list = "{ personalAccessTokens { nodes { name } } }";
    app.gql_ok(&api, list, json!({})).await;
    assert!(app.state.documents.is_validated(list));
    let (status, body) = app.gql(Some(&read_user), list, json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    assert!(body["data"].is_null(), "{body}");

    let create = "mutation { personalAccessTokenCreate(input: { name: \"ci\", scopes: [READ_API] }) { personalAccessToken { name } } }";
    app.gql_ok(&api, create, json!({})).await;
    assert!(app.state.documents.is_validated(create));
    let before = app.token_rows().await;
    let body: Value = app
        .client
        .get(app.url("/api/graphql"))
        .query(&[("query", create)])
        .bearer_auth(&api)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(error_code(&body), "BAD_REQUEST", "{body}");
    assert_eq!(app.token_rows().await, before, "nothing created over GET");
}
