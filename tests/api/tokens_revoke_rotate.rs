//! Revoking and rotating: immediate effect, owner-only, and chain revocation when a revoked
//! token is presented for rotation.

use serde_json::{Value, json};
use wvs::tokens::scope::Scope;

use crate::harness::{TestApp, day, error_code};

const REVOKE: &str = "mutation($id: ID!) { personalAccessTokenRevoke(id: $id) { personalAccessToken { id revoked active } } }";
const ROTATE: &str = "mutation($id: ID!, $expiresAt: Date) {
  personalAccessTokenRotate(id: $id, expiresAt: $expiresAt) {
    token
    personalAccessToken { id name description scopes expiresAt revoked }
  }
}";
const CREATE: &str = "mutation($input: PersonalAccessTokenCreateInput!) {
  personalAccessTokenCreate(input: $input) { token personalAccessToken { id } }
}";

async fn id_of(app: &TestApp, token: &str) -> Value {
    app.gql_ok(token, "{ currentToken { id } }", json!({}))
        .await["currentToken"]["id"]
        .clone()
}

#[tokio::test]
async fn a_revoked_token_is_refused_at_the_next_request() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let admin_of_self = app.token(&alice, &[Scope::Api]).await;
    let victim = app.token(&alice, &[Scope::ReadApi]).await;
    let id = id_of(&app, &victim).await;
    let data = app
        .gql_ok(&admin_of_self, REVOKE, json!({ "id": id }))
        .await;
    assert_eq!(
        data["personalAccessTokenRevoke"]["personalAccessToken"]["revoked"],
        true
    );
    assert_eq!(
        data["personalAccessTokenRevoke"]["personalAccessToken"]["active"],
        false
    );
    let (status, body) = app
        .gql(Some(&victim), "{ currentUser { id } }", json!({}))
        .await;
    assert_eq!(status, 401, "{body}");
    // Revoking again is harmless.
    let data = app
        .gql_ok(&admin_of_self, REVOKE, json!({ "id": id }))
        .await;
    assert_eq!(
        data["personalAccessTokenRevoke"]["personalAccessToken"]["revoked"],
        true
    );
    // A token can revoke itself.
    let self_id = id_of(&app, &admin_of_self).await;
    app.gql_ok(&admin_of_self, REVOKE, json!({ "id": self_id }))
        .await;
    let (status, _) = app
        .gql(Some(&admin_of_self), "{ currentUser { id } }", json!({}))
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn nobody_else_can_revoke_or_rotate_a_token() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let mallory = app.user("mallory").await;
    let alice_token = app.token(&alice, &[Scope::Api]).await;
    let mallory_token = app.token(&mallory, &[Scope::Api]).await;
    let id = id_of(&app, &alice_token).await;
    let before = app.token_state().await;
    for mutation in [REVOKE, ROTATE] {
        let (_, body) = app
            .gql(Some(&mallory_token), mutation, json!({ "id": id }))
            .await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    }
    let (_, body) = app
        .gql(
            Some(&alice_token),
            REVOKE,
            json!({ "id": "gid://wvs/PersonalAccessToken/999" }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    assert_eq!(app.token_state().await, before);
    app.gql_ok(&alice_token, "{ currentUser { id } }", json!({}))
        .await;
}

#[tokio::test]
async fn rotation_replaces_the_token_keeping_its_attributes() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let api = app.token(&alice, &[Scope::Api]).await;
    let created = app
        .gql_ok(
            &api,
            CREATE,
            json!({ "input": { "name": "deploy", "description": "prod", "expiresAt": "2027-02-14", "scopes": ["READ_API", "READ_USER"] } }),
        )
        .await;
    let old_token = created["personalAccessTokenCreate"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let old_id = created["personalAccessTokenCreate"]["personalAccessToken"]["id"].clone();
    app.clock.advance(chrono::Duration::days(2));

    let rotated = app.gql_ok(&api, ROTATE, json!({ "id": old_id })).await;
    let new = &rotated["personalAccessTokenRotate"];
    let new_token = new["token"].as_str().expect("token");
    assert_ne!(new_token, old_token);
    let record = &new["personalAccessToken"];
    assert_eq!(record["name"], "deploy");
    assert_eq!(record["description"], "prod");
    assert_eq!(record["scopes"], json!(["READ_API", "READ_USER"]));
    // Same 30-day lifetime, counted from today (2027-01-17).
    assert_eq!(record["expiresAt"], "2027-02-16");
    assert_ne!(record["id"], old_id);

    let (status, _) = app
        .gql(Some(&old_token), "{ currentUser { id } }", json!({}))
        .await;
    assert_eq!(status, 401);
    app.gql_ok(new_token, "{ currentUser { id } }", json!({}))
        .await;
    let rows = app.token_rows().await;
    let successor = rows.last().expect("rows");
    assert_eq!(
        Some(successor.previous_token_id.expect("linked")),
        rows.iter()
            .find(|row| row.name == "deploy" && row.revoked_at.is_some())
            .map(|row| row.id)
    );

    // An explicit expiry is validated like on creation, and a refusal changes nothing.
    let before = app.token_state().await;
    let (_, body) = app
        .gql(
            Some(&api),
            ROTATE,
            json!({ "id": record["id"], "expiresAt": "2027-01-01" }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "expiresAt",
        "{body}"
    );
    assert_eq!(app.token_state().await, before);
    let data = app
        .gql_ok(
            &api,
            ROTATE,
            json!({ "id": record["id"], "expiresAt": "2027-03-01" }),
        )
        .await;
    assert_eq!(
        data["personalAccessTokenRotate"]["personalAccessToken"]["expiresAt"],
        "2027-03-01"
    );
}

#[tokio::test]
async fn rotating_an_already_revoked_token_revokes_the_whole_chain() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let api = app.token(&alice, &[Scope::Api]).await;
    let first = app
        .token_with(&alice, "chain", &[Scope::ReadApi], Some(day("2027-06-01")))
        .await;
    let first_id = id_of(&app, &first).await;
    let second = app.gql_ok(&api, ROTATE, json!({ "id": first_id })).await;
    let second_id = second["personalAccessTokenRotate"]["personalAccessToken"]["id"].clone();
    let third = app.gql_ok(&api, ROTATE, json!({ "id": second_id })).await;
    let third_token = third["personalAccessTokenRotate"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    app.gql_ok(&third_token, "{ currentUser { id } }", json!({}))
        .await;

    // Someone replays the first (revoked) token's rotation: the live successor dies too.
    let (_, body) = app.gql(Some(&api), ROTATE, json!({ "id": first_id })).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    let (status, _) = app
        .gql(Some(&third_token), "{ currentUser { id } }", json!({}))
        .await;
    assert_eq!(status, 401);
    let rows = app.token_rows().await;
    assert_eq!(rows.iter().filter(|row| row.name == "chain").count(), 3);
    assert!(
        rows.iter()
            .filter(|row| row.name == "chain")
            .all(|row| row.revoked_at.is_some())
    );
    // Tokens outside the chain are untouched.
    app.gql_ok(&api, "{ currentUser { id } }", json!({})).await;
}

#[tokio::test]
async fn concurrent_rotations_issue_exactly_one_successor() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let api = app.token(&alice, &[Scope::Api]).await;
    let target = app
        .token_with(&alice, "race", &[Scope::ReadApi], None)
        .await;
    let id = id_of(&app, &target).await;
    let attempts = (0..4).map(|_| app.gql(Some(&api), ROTATE, json!({ "id": id })));
    let results = futures_util::future::join_all(attempts).await;
    let successes = results
        .iter()
        .filter(|(_, body)| body.get("errors").is_none())
        .count();
    assert!(successes >= 1);
    let live: Vec<_> = app
        .token_rows()
        .await
        .into_iter()
        .filter(|row| row.name == "race" && row.revoked_at.is_none())
        .collect();
    // Either one successor lives, or a losing attempt saw a revoked token and revoked the chain.
    assert!(live.len() <= 1, "{live:?}");
}
