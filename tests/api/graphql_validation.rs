//! The executor's full validation is skipped only for a document it has already passed
//! without variables (its verdict then depends on the document alone): a document that
//! failed, or one sent with variables, is fully validated every time.

use serde_json::json;
use wvs::tokens::scope::Scope;

use crate::harness::{TestApp, error_code};

#[tokio::test]
async fn a_failing_document_is_refused_by_the_full_validation_every_time() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let token = app.token(&alice, &[Scope::Api]).await;
    let invalid = "{ currentUser { username nosuchfield } }";
    let (_, first) = app.gql(Some(&token), invalid, json!({})).await;
    assert_eq!(error_code(&first), "GRAPHQL_VALIDATION_FAILED", "{first}");
    assert!(first["data"].is_null(), "{first}");
    for _ in 0..2 {
        let (_, again) = app.gql(Some(&token), invalid, json!({})).await;
        assert_eq!(again, first);
    }
    assert!(!app.state.documents.is_validated(invalid));
}

#[tokio::test]
async fn a_passed_document_is_remembered_and_answered_the_same() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let token = app.token(&alice, &[Scope::Api]).await;
    let query = "query Who { currentUser { username } a: currentUser { id } }";
    assert!(!app.state.documents.is_validated(query));
    let answer = app.gql_ok(&token, query, json!({})).await;
    assert_eq!(answer["currentUser"]["username"], "alice");
    assert!(app.state.documents.is_validated(query));
    assert_eq!(app.gql_ok(&token, query, json!({})).await, answer);
    // What the executor checks for itself still holds on the remembered path.
    let body: serde_json::Value = app
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
}
