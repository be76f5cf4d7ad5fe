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

#[tokio::test]
async fn impersonation_tokens_cannot_mint_tokens_and_are_attributed_to_their_admin() {
    let app = TestApp::spawn().await;
    let root = app.admin("root").await;
    let alice = app.user("alice").await;
    let admin = app.token(&root, &[Scope::Api]).await;
    let data = app
        .gql_ok(
            &admin,
            CREATE,
            json!({ "u": alice.gid(), "input": { "name": "support", "scopes": ["API"] } }),
        )
        .await;
    let imp = data["impersonationTokenCreate"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let alice_token = app.token(&alice, &[Scope::ReadApi]).await;
    let alice_token_id = app
        .gql_ok(&alice_token, "{ currentToken { id } }", json!({}))
        .await["currentToken"]["id"]
        .clone();
    let before = app.token_state().await;
    for (document, variables) in [
        (
            "mutation { personalAccessTokenCreate(input: { name: \"escape\", scopes: [API] }) { token } }",
            json!({}),
        ),
        (
            "mutation($id: ID!) { personalAccessTokenRotate(id: $id) { token } }",
            json!({ "id": alice_token_id }),
        ),
    ] {
        let (_, body) = app.gql(Some(&imp), document, variables).await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    }
    assert_eq!(app.token_state().await, before);

    // What it may do is recorded as the administrator's doing.
    app.gql_ok(
        &imp,
        "mutation($id: ID!) { personalAccessTokenRevoke(id: $id) { personalAccessToken { id } } }",
        json!({ "id": alice_token_id }),
    )
    .await;
    let events = app
        .gql_ok(&admin, "{ auditEvents(action: TOKEN_REVOKED) { nodes { actorUsername targetUsername details } } }", json!({}))
        .await;
    let event = &events["auditEvents"]["nodes"][0];
    assert_eq!(event["actorUsername"], "root");
    assert_eq!(event["targetUsername"], "alice");
    assert!(
        event["details"]
            .as_str()
            .expect("details")
            .contains("impersonation_token")
    );
}

#[tokio::test]
async fn impersonation_tokens_die_with_their_administrators_rights() {
    let app = TestApp::spawn().await;
    let root = app.admin("root").await;
    let helper = app.admin("helper").await;
    let alice = app.user("alice").await;
    let root_token = app.token(&root, &[Scope::Api]).await;
    let helper_token = app.token(&helper, &[Scope::Api]).await;
    let make = |token: String| {
        let app = &app;
        let alice = alice.clone();
        async move {
            app.gql_ok(
                &token,
                CREATE,
                json!({ "u": alice.gid(), "input": { "name": "imp", "scopes": ["READ_API"] } }),
            )
            .await["impersonationTokenCreate"]["token"]
                .as_str()
                .expect("token")
                .to_owned()
        }
    };
    let by_helper = make(helper_token.clone()).await;
    let second_by_helper = make(helper_token).await;
    let who = "{ currentUser { username } }";
    app.gql_ok(&by_helper, who, json!({})).await;
    // Blocking the administrator stops their impersonation tokens; unblocking restores them.
    let block = "mutation($id: ID!) { userBlock(id: $id) { user { id } } }";
    let unblock = "mutation($id: ID!) { userUnblock(id: $id) { user { id } } }";
    app.gql_ok(&root_token, block, json!({ "id": helper.gid() }))
        .await;
    let (status, _) = app.gql(Some(&by_helper), who, json!({})).await;
    assert_eq!(status, 401);
    app.gql_ok(&root_token, unblock, json!({ "id": helper.gid() }))
        .await;
    app.gql_ok(&by_helper, who, json!({})).await;
    // Deleting the administrator revokes them for good.
    app.gql_ok(
        &root_token,
        "mutation($id: ID!) { userDelete(id: $id) { id } }",
        json!({ "id": helper.gid() }),
    )
    .await;
    for token in [&by_helper, &second_by_helper] {
        let (status, _) = app.gql(Some(token), who, json!({})).await;
        assert_eq!(status, 401);
    }
}
