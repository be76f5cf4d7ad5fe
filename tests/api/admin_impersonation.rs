//! Impersonation tokens: admins only; act as the user; hidden from the user's own list;
//! listed, attributed and revocable by admins.

use serde_json::json;
use wvs::tokens::scope::Scope;

use crate::harness::{TestApp, error_code};

const CREATE: &str = "mutation($u: ID!, $input: PersonalAccessTokenCreateInput!) {
  impersonationTokenCreate(userId: $u, input: $input) {
    token
    personalAccessToken { id impersonation user { username } createdBy { username } }
  }
}";
const ADMIN_LIST: &str = "query($u: ID, $imp: Boolean) {
  personalAccessTokens(userId: $u, impersonation: $imp) { nodes { id name impersonation createdBy { username } } }
}";

#[tokio::test]
async fn admins_create_tokens_that_act_as_the_user() {
    let app = TestApp::spawn().await;
    let root = app.admin("root").await;
    let alice = app.user("alice").await;
    let admin = app.token(&root, &[Scope::Api]).await;
    let data = app
        .gql_ok(
            &admin,
            CREATE,
            json!({ "u": alice.gid(), "input": { "name": "support", "scopes": ["READ_API"] } }),
        )
        .await;
    let created = &data["impersonationTokenCreate"];
    assert_eq!(created["personalAccessToken"]["impersonation"], true);
    assert_eq!(created["personalAccessToken"]["user"]["username"], "alice");
    assert_eq!(
        created["personalAccessToken"]["createdBy"]["username"],
        "root"
    );
    let token = created["token"].as_str().expect("token");
    let who = app
        .gql_ok(token, "{ currentUser { username } }", json!({}))
        .await;
    assert_eq!(who["currentUser"]["username"], "alice");

    // Hidden from alice's own list and lookups…
    let alice_token = app.token(&alice, &[Scope::Api]).await;
    let own = app
        .gql_ok(
            &alice_token,
            "{ personalAccessTokens { nodes { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        own["personalAccessTokens"]["nodes"],
        json!([{ "name": "test token" }])
    );
    let id = created["personalAccessToken"]["id"].clone();
    let lookup = app
        .gql_ok(
            &alice_token,
            "query($id: ID!) { personalAccessToken(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(lookup["personalAccessToken"], serde_json::Value::Null);
    let (_, body) = app
        .gql(
            Some(&alice_token),
            ADMIN_LIST,
            json!({ "u": alice.gid(), "imp": true }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");

    // …listed for admins, who can revoke it.
    let listed = app
        .gql_ok(&admin, ADMIN_LIST, json!({ "u": alice.gid(), "imp": true }))
        .await;
    assert_eq!(
        listed["personalAccessTokens"]["nodes"],
        json!([{ "id": id, "name": "support", "impersonation": true, "createdBy": { "username": "root" } }])
    );
    app.gql_ok(
        &admin,
        "mutation($id: ID!) { personalAccessTokenRevoke(id: $id) { personalAccessToken { revoked } } }",
        json!({ "id": id }),
    )
    .await;
    let (status, _) = app
        .gql(Some(token), "{ currentUser { username } }", json!({}))
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn non_admins_cannot_impersonate() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let alice_token = app.token(&alice, &[Scope::Api]).await;
    let before = app.token_state().await;
    let (_, body) = app
        .gql(
            Some(&alice_token),
            CREATE,
            json!({ "u": bob.gid(), "input": { "name": "x", "scopes": ["API"] } }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    assert_eq!(app.token_state().await, before);
}

#[tokio::test]
async fn impersonation_input_follows_the_same_rules() {
    let app = TestApp::spawn().await;
    let root = app.admin("root").await;
    let alice = app.user("alice").await;
    let admin = app.token(&root, &[Scope::Api]).await;
    let before = app.token_state().await;
    for (input, field) in [
        (json!({ "name": "", "scopes": ["API"] }), "name"),
        (json!({ "name": "x", "scopes": ["SUDO"] }), "scopes"),
        (
            json!({ "name": "x", "scopes": ["API"], "expiresAt": "2027-01-15" }),
            "expiresAt",
        ),
    ] {
        let (_, body) = app
            .gql(
                Some(&admin),
                CREATE,
                json!({ "u": alice.gid(), "input": input }),
            )
            .await;
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }
    let (_, body) = app
        .gql(
            Some(&admin),
            CREATE,
            json!({ "u": "gid://wvs/User/999", "input": { "name": "x", "scopes": ["API"] } }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    assert_eq!(app.token_state().await, before);
}
