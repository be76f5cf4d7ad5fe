//! The admin view of tokens: any user's list with every filter, and revoking any token.

use chrono::Duration;
use serde_json::{Value, json};
use wvs::tokens::scope::Scope;

use crate::harness::{TestApp, day, error_code};

const LIST: &str = "query($u: ID, $state: AccessTokenState, $search: String, $cb: Time, $ca: Time, $lb: Time, $la: Time, $eb: Date, $ea: Date) {
  personalAccessTokens(userId: $u, state: $state, search: $search, createdBefore: $cb, createdAfter: $ca,
                       lastUsedBefore: $lb, lastUsedAfter: $la, expiresBefore: $eb, expiresAfter: $ea) {
    nodes { name }
  }
}";

fn names(data: &Value) -> Vec<&str> {
    data["personalAccessTokens"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|node| node["name"].as_str().expect("name"))
        .collect()
}

#[tokio::test]
async fn admins_filter_any_users_tokens() {
    let app = TestApp::spawn().await;
    let root = app.admin("root").await;
    let alice = app.user("alice").await;
    let admin = app.token(&root, &[Scope::ReadApi]).await;
    let old = app
        .token_with(&alice, "old", &[Scope::Api], Some(day("2027-02-01")))
        .await;
    app.clock.advance(Duration::days(3));
    app.token_with(&alice, "new", &[Scope::Api], Some(day("2027-06-01")))
        .await;
    app.token_with(&alice, "forever", &[Scope::Api], None).await;
    app.gql_ok(&old, "{ currentUser { id } }", json!({})).await;
    app.flush_last_used().await;

    let u = alice.gid();
    let cases = [
        (json!({ "u": u }), vec!["forever", "new", "old"]),
        (json!({ "u": u, "search": "EW" }), vec!["new"]),
        (json!({ "u": u, "cb": "2027-01-16T00:00:00Z" }), vec!["old"]),
        (
            json!({ "u": u, "ca": "2027-01-16T00:00:00Z" }),
            vec!["forever", "new"],
        ),
        (json!({ "u": u, "la": "2027-01-18T00:00:00Z" }), vec!["old"]),
        (json!({ "u": u, "lb": "2027-01-18T00:00:00Z" }), vec![]),
        (json!({ "u": u, "eb": "2027-03-01" }), vec!["old"]),
        (json!({ "u": u, "ea": "2027-03-01" }), vec!["new"]),
    ];
    for (variables, expected) in cases {
        let data = app.gql_ok(&admin, LIST, variables.clone()).await;
        assert_eq!(names(&data), expected, "{variables}");
    }
    let (_, body) = app
        .gql(Some(&admin), LIST, json!({ "u": u, "ca": "yesterday" }))
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
}

#[tokio::test]
async fn admins_revoke_any_token_and_users_cannot() {
    let app = TestApp::spawn().await;
    let root = app.admin("root").await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let admin = app.token(&root, &[Scope::Api]).await;
    let alice_token = app.token(&alice, &[Scope::Api]).await;
    let bob_token = app.token(&bob, &[Scope::Api]).await;
    let id = app
        .gql_ok(&alice_token, "{ currentToken { id } }", json!({}))
        .await["currentToken"]["id"]
        .clone();
    let revoke = "mutation($id: ID!) { personalAccessTokenRevoke(id: $id) { personalAccessToken { revoked user { username } } } }";
    let (_, body) = app.gql(Some(&bob_token), revoke, json!({ "id": id })).await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    let data = app.gql_ok(&admin, revoke, json!({ "id": id })).await;
    assert_eq!(
        data["personalAccessTokenRevoke"]["personalAccessToken"]["user"]["username"],
        "alice"
    );
    let (status, _) = app
        .gql(Some(&alice_token), "{ currentUser { id } }", json!({}))
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn admins_rotate_impersonation_tokens_but_never_another_users_personal_token() {
    let app = TestApp::spawn().await;
    let root = app.admin("root").await;
    let alice = app.user("alice").await;
    let admin = app.token(&root, &[Scope::Api]).await;
    let alice_token = app.token(&alice, &[Scope::Api]).await;
    let id = app
        .gql_ok(&alice_token, "{ currentToken { id } }", json!({}))
        .await["currentToken"]["id"]
        .clone();
    let rotate = "mutation($id: ID!) { personalAccessTokenRotate(id: $id) { token personalAccessToken { id } } }";
    // Rotating would hand the administrator a secret acting as alice, unattributed.
    let before = app.token_state().await;
    let (_, body) = app.gql(Some(&admin), rotate, json!({ "id": id })).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    assert!(body["data"].is_null() || body["data"]["personalAccessTokenRotate"].is_null());
    assert_eq!(app.token_state().await, before);
    app.gql_ok(&alice_token, "{ currentUser { id } }", json!({}))
        .await;

    // Their own impersonation tokens for alice they may rotate.
    let data = app
        .gql_ok(
            &admin,
            "mutation($u: ID!) { impersonationTokenCreate(userId: $u, input: {name: \"support\", scopes: [READ_API]}) { personalAccessToken { id } } }",
            json!({ "u": alice.gid() }),
        )
        .await;
    let imp = data["impersonationTokenCreate"]["personalAccessToken"]["id"].clone();
    let data = app.gql_ok(&admin, rotate, json!({ "id": imp })).await;
    let successor = data["personalAccessTokenRotate"]["token"]
        .as_str()
        .expect("token");
    let who = app
        .gql_ok(successor, "{ currentUser { username } }", json!({}))
        .await;
    assert_eq!(who["currentUser"]["username"], "alice");
}
