//! The `Sudo` header: only an active administrator's own `sudo` token switches identity;
//! every other combination is FORBIDDEN with nothing done; an unknown user is NOT_FOUND.

use reqwest::StatusCode;
use serde_json::{Value, json};
use wvs::tokens::scope::Scope;

use crate::harness::{TestApp, error_code};

async fn as_sudo(
    app: &TestApp,
    token: Option<&str>,
    target: &str,
    query: &str,
) -> (StatusCode, Value) {
    let mut request = app
        .client
        .post(app.url("/api/graphql"))
        .header("Sudo", target)
        .json(&json!({ "query": query }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request");
    (response.status(), response.json().await.expect("json"))
}

const WHO: &str = "{ currentUser { username email admin } }";

#[tokio::test]
async fn an_admin_sudo_token_acts_as_the_user_with_their_visibility() {
    let app = TestApp::spawn().await;
    let root = app.admin("root").await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let sudo = app.token(&root, &[Scope::Api, Scope::Sudo]).await;
    for target in ["alice", "ALICE", &alice.id().to_string(), &alice.gid()] {
        let (status, body) = as_sudo(&app, Some(&sudo), target, WHO).await;
        assert_eq!(status, 200, "{target}: {body}");
        assert_eq!(body["data"]["currentUser"]["username"], "alice");
        assert_eq!(body["data"]["currentUser"]["admin"], false);
    }
    // Alice's visibility: bob's email is hidden, admin-only mutations are refused.
    let (_, body) = as_sudo(
        &app,
        Some(&sudo),
        "alice",
        "{ user(username: \"bob\") { email } }",
    )
    .await;
    assert_eq!(body["data"]["user"]["email"], Value::Null);
    let block = format!(
        "mutation {{ userBlock(id: \"{}\") {{ user {{ state }} }} }}",
        bob.gid()
    );
    let (_, body) = as_sudo(&app, Some(&sudo), "alice", &block).await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    // A token created under sudo belongs to alice.
    let (_, body) = as_sudo(
        &app,
        Some(&sudo),
        "alice",
        "mutation { personalAccessTokenCreate(input: { name: \"via sudo\", scopes: [READ_API] }) { personalAccessToken { user { username } } } }",
    )
    .await;
    assert_eq!(
        body["data"]["personalAccessTokenCreate"]["personalAccessToken"]["user"]["username"],
        "alice"
    );

    // The audit log records both people.
    app.flush_refusals().await;
    let admin = app.token(&root, &[Scope::ReadApi]).await;
    let events = app
        .gql_ok(
            &admin,
            "{ auditEvents(action: SUDO_USED) { nodes { actorUsername targetUsername ip } } }",
            json!({}),
        )
        .await;
    let first = &events["auditEvents"]["nodes"][0];
    assert_eq!(first["actorUsername"], "root");
    assert_eq!(first["targetUsername"], "alice");
    assert_eq!(first["ip"], "127.0.0.1");
}

#[tokio::test]
async fn every_other_combination_is_forbidden_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let root = app.admin("root").await;
    let alice = app.user("alice").await;
    let no_sudo_scope = app.token(&root, &[Scope::Api]).await;
    // A sudo token whose owner has since lost admin rights.
    let demoted = app.admin("demoted").await;
    let non_admin_sudo = app.token(&demoted, &[Scope::Api, Scope::Sudo]).await;
    {
        use sea_orm::{ActiveModelTrait, Set};
        let mut row: entity::user::ActiveModel = demoted.model.clone().into();
        row.admin = Set(false);
        row.update(&app.state.db).await.expect("demote");
    }
    let sudo = app.token(&root, &[Scope::Api, Scope::Sudo]).await;
    let admin = app.token(&root, &[Scope::Api]).await;
    let other_root = app.admin("other-root").await;
    let impersonation = app
        .gql_ok(
            &sudo,
            "mutation($u: ID!) { impersonationTokenCreate(userId: $u, input: { name: \"imp\", scopes: [API, SUDO] }) { token } }",
            json!({ "u": other_root.gid() }),
        )
        .await["impersonationTokenCreate"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let before = app.token_state().await;
    let mutation =
        "mutation { personalAccessTokenCreate(input: { name: \"x\", scopes: [API] }) { token } }";
    for (token, why) in [
        (Some(no_sudo_scope.as_str()), "token without sudo"),
        (Some(non_admin_sudo.as_str()), "non-admin"),
        (Some(impersonation.as_str()), "impersonation token"),
        (None, "anonymous"),
    ] {
        let (status, body) = as_sudo(&app, token, "alice", mutation).await;
        assert_eq!(status, 403, "{why}: {body}");
        assert_eq!(error_code(&body), "FORBIDDEN", "{why}");
    }
    let (status, body) = as_sudo(&app, Some(&sudo), "nobody", mutation).await;
    assert_eq!(status, 404);
    assert_eq!(error_code(&body), "NOT_FOUND");
    assert_eq!(app.token_state().await, before);

    // A blocked admin's sudo token is refused like any blocked user's token.
    let other_admin = app.admin("second").await;
    let second_sudo = app.token(&other_admin, &[Scope::Api, Scope::Sudo]).await;
    app.gql_ok(
        &admin,
        "mutation($id: ID!) { userBlock(id: $id) { user { id } } }",
        json!({ "id": other_admin.gid() }),
    )
    .await;
    let (status, _) = as_sudo(&app, Some(&second_sudo), "alice", WHO).await;
    assert_eq!(status, 401);
    // Acting as a blocked user is refused too.
    app.gql_ok(
        &admin,
        "mutation($id: ID!) { userBlock(id: $id) { user { id } } }",
        json!({ "id": alice.gid() }),
    )
    .await;
    let (status, body) = as_sudo(&app, Some(&sudo), "alice", WHO).await;
    assert_eq!(status, 403, "{body}");
}

#[tokio::test]
async fn sudo_keeps_the_tokens_scopes() {
    let app = TestApp::spawn().await;
    let root = app.admin("root").await;
    app.user("alice").await;
    let read_only_sudo = app.token(&root, &[Scope::ReadApi, Scope::Sudo]).await;
    let (status, body) = as_sudo(&app, Some(&read_only_sudo), "alice", WHO).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["currentUser"]["username"], "alice");
    let (_, body) = as_sudo(
        &app,
        Some(&read_only_sudo),
        "alice",
        "mutation { personalAccessTokenCreate(input: { name: \"x\", scopes: [READ_API] }) { token } }",
    )
    .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    assert_eq!(
        body["errors"][0]["extensions"]["requiredScopes"],
        json!(["api"])
    );
}

#[tokio::test]
async fn repeated_sudo_headers_are_refused() {
    let app = TestApp::spawn().await;
    let root = app.admin("root").await;
    app.user("alice").await;
    app.user("bob").await;
    let sudo = app.token(&root, &[Scope::Api, Scope::Sudo]).await;
    let response = app
        .client
        .post(app.url("/api/graphql"))
        .bearer_auth(&sudo)
        .header("Sudo", "alice")
        .header("Sudo", "bob")
        .json(&json!({ "query": WHO }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 400);
}
