//! Administration of users: blocking (every token refused, last-used frozen, restored on
//! unblock) and deletion (tokens gone for good, even for a new user of the same name).

use serde_json::{Value, json};
use wvs::tokens::scope::Scope;

use crate::harness::{TestApp, error_code};

const WHO: &str = "{ currentUser { username } }";
const DELETE: &str = "mutation($id: ID!) { userDelete(id: $id) { id username } }";

#[tokio::test]
async fn deleting_a_user_kills_their_tokens_forever() {
    let app = TestApp::spawn().await;
    let root = app.admin("root").await;
    let alice = app.user("alice").await;
    let admin = app.token(&root, &[Scope::Api]).await;
    let alice_token = app.token(&alice, &[Scope::Api]).await;
    // An impersonation token for alice dies with her too.
    let imp = app
        .gql_ok(
            &admin,
            "mutation($u: ID!) { impersonationTokenCreate(userId: $u, input: { name: \"imp\", scopes: [API] }) { token } }",
            json!({ "u": alice.gid() }),
        )
        .await["impersonationTokenCreate"]["token"]
        .as_str()
        .expect("token")
        .to_owned();

    let data = app
        .gql_ok(&admin, DELETE, json!({ "id": alice.gid() }))
        .await;
    assert_eq!(data["userDelete"]["username"], "alice");
    for token in [&alice_token, &imp] {
        let (status, _) = app.gql(Some(token), WHO, json!({})).await;
        assert_eq!(status, 401);
    }
    // A newcomer with the same username inherits nothing.
    let newcomer = app.user("alice").await;
    assert_ne!(newcomer.id(), alice.id());
    let (status, _) = app.gql(Some(&alice_token), WHO, json!({})).await;
    assert_eq!(status, 401);
    let listed = app
        .gql_ok(
            &admin,
            "query($u: ID) { personalAccessTokens(userId: $u, state: ALL) { nodes { id } } }",
            json!({ "u": newcomer.gid() }),
        )
        .await;
    assert_eq!(listed["personalAccessTokens"]["nodes"], json!([]));
    assert!(
        app.token_rows()
            .await
            .iter()
            .all(|row| row.user_id != alice.id())
    );
    // The audit log keeps the record, with the name as it was.
    let events = app
        .gql_ok(&admin, "{ auditEvents(action: USER_DELETED) { nodes { actorUsername targetUsername targetUserId } } }", json!({}))
        .await;
    assert_eq!(
        events["auditEvents"]["nodes"],
        json!([{ "actorUsername": "root", "targetUsername": "alice", "targetUserId": alice.gid() }])
    );
}

#[tokio::test]
async fn only_admins_delete_and_never_themselves() {
    let app = TestApp::spawn().await;
    let root = app.admin("root").await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let alice_api = app.token(&alice, &[Scope::Api]).await;
    let admin = app.token(&root, &[Scope::Api]).await;
    let admin_read = app.token(&root, &[Scope::ReadApi]).await;
    let before = app.token_state().await;
    let (_, body) = app
        .gql(Some(&alice_api), DELETE, json!({ "id": bob.gid() }))
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let (_, body) = app
        .gql(Some(&admin_read), DELETE, json!({ "id": bob.gid() }))
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let (_, body) = app
        .gql(Some(&admin), DELETE, json!({ "id": root.gid() }))
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let (_, body) = app
        .gql(Some(&admin), DELETE, json!({ "id": "gid://wvs/User/999" }))
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    assert_eq!(app.token_state().await, before);
    let data = app
        .gql_ok(&admin, "{ users { nodes { username } } }", json!({}))
        .await;
    assert_eq!(data["users"]["nodes"].as_array().expect("users").len(), 3);
}

#[tokio::test]
async fn blocked_users_tokens_are_refused_and_restored_on_unblock() {
    let app = TestApp::spawn().await;
    let root = app.admin("root").await;
    let alice = app.user("alice").await;
    let admin = app.token(&root, &[Scope::Api]).await;
    let alice_token = app.token(&alice, &[Scope::Api]).await;
    let block = "mutation($id: ID!) { userBlock(id: $id) { user { state } } }";
    let data = app
        .gql_ok(&admin, block, json!({ "id": alice.gid() }))
        .await;
    assert_eq!(data["userBlock"]["user"]["state"], "BLOCKED");
    let (status, _) = app.gql(Some(&alice_token), WHO, json!({})).await;
    assert_eq!(status, 401);
    // Admins see the tokens as inactive while the owner is blocked.
    let listed = app
        .gql_ok(
            &admin,
            "query($u: ID) { personalAccessTokens(userId: $u, state: ALL) { nodes { active revoked } } }",
            json!({ "u": alice.gid() }),
        )
        .await;
    assert_eq!(
        listed["personalAccessTokens"]["nodes"],
        json!([{ "active": false, "revoked": false }])
    );
    app.flush_last_used().await;
    assert!(
        app.token_rows()
            .await
            .iter()
            .find(|row| row.user_id == alice.id())
            .expect("row")
            .last_used_at
            .is_none()
    );

    let unblock = "mutation($id: ID!) { userUnblock(id: $id) { user { state } } }";
    app.gql_ok(&admin, unblock, json!({ "id": alice.gid() }))
        .await;
    let data = app.gql_ok(&alice_token, WHO, json!({})).await;
    assert_eq!(data["currentUser"]["username"], "alice");
    let (_, body) = app
        .gql(Some(&alice_token), block, json!({ "id": root.gid() }))
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    assert_eq!(body["data"], Value::Null);
}
