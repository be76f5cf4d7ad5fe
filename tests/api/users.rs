//! User queries and the admin-only user mutations used by token rules.

use serde_json::{Value, json};
use wvs::tokens::scope::Scope;

use crate::harness::{TestApp, error_code};

const USER_CREATE: &str = "mutation($input: UserCreateInput!) { userCreate(input: $input) { user { id username email admin state } } }";

#[tokio::test]
async fn emails_are_visible_to_self_and_admins_only() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let root = app.admin("root").await;
    let query = "query($u: String) { user(username: $u) { username email } }";
    let bob_token = app.token(&bob, &[Scope::ReadUser]).await;
    let alice_token = app.token(&alice, &[Scope::ReadUser]).await;
    let root_token = app.token(&root, &[Scope::ReadApi]).await;
    let seen_by_bob = app.gql_ok(&bob_token, query, json!({ "u": "alice" })).await;
    assert_eq!(seen_by_bob["user"]["email"], Value::Null);
    let seen_by_self = app
        .gql_ok(&alice_token, query, json!({ "u": "ALICE" }))
        .await;
    assert_eq!(seen_by_self["user"]["email"], "alice@example.com");
    let seen_by_admin = app
        .gql_ok(&root_token, query, json!({ "u": "alice" }))
        .await;
    assert_eq!(seen_by_admin["user"]["email"], "alice@example.com");
    let listed = app
        .gql_ok(
            &bob_token,
            "{ users(search: \"ali\") { nodes { username email } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        listed["users"]["nodes"],
        json!([{ "username": "alice", "email": null }])
    );
    let by_id = app
        .gql_ok(
            &bob_token,
            "query($id: ID) { user(id: $id) { username } }",
            json!({ "id": alice.gid() }),
        )
        .await;
    assert_eq!(by_id["user"]["username"], "alice");
}

#[tokio::test]
async fn only_admins_create_and_block_users() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let root = app.admin("root").await;
    let alice_api = app.token(&alice, &[Scope::Api]).await;
    let root_api = app.token(&root, &[Scope::Api]).await;
    let input = json!({ "input": { "username": "carol", "email": "carol@example.com", "password": "long-enough" } });
    let (_, body) = app.gql(Some(&alice_api), USER_CREATE, input.clone()).await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let created = app.gql_ok(&root_api, USER_CREATE, input.clone()).await;
    assert_eq!(created["userCreate"]["user"]["state"], "ACTIVE");
    assert_eq!(created["userCreate"]["user"]["admin"], false);
    // Usernames and emails are unique, case-insensitively.
    let again = json!({ "input": { "username": "Carol", "email": "other@example.com" } });
    let (_, body) = app.gql(Some(&root_api), USER_CREATE, again).await;
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "username",
        "{body}"
    );
    let again = json!({ "input": { "username": "carol2", "email": "CAROL@example.com" } });
    let (_, body) = app.gql(Some(&root_api), USER_CREATE, again).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "email", "{body}");
    let short = json!({ "input": { "username": "dave", "email": "dave@example.com", "password": "short" } });
    let (_, body) = app.gql(Some(&root_api), USER_CREATE, short).await;
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "password",
        "{body}"
    );

    let block = "mutation($id: ID!) { userBlock(id: $id) { user { state } } }";
    let (_, body) = app
        .gql(Some(&alice_api), block, json!({ "id": root.gid() }))
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let (_, body) = app
        .gql(Some(&root_api), block, json!({ "id": root.gid() }))
        .await;
    assert_eq!(
        error_code(&body),
        "BAD_USER_INPUT",
        "an admin cannot lock themselves out"
    );
}
