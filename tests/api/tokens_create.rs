//! `personalAccessTokenCreate`: the token is returned once, stored only as a digest, and
//! every validation rule refuses with BAD_USER_INPUT (or FORBIDDEN) and changes nothing.

use serde_json::{Value, json};
use wvs::tokens::scope::Scope;

use crate::harness::{TestApp, day, error_code};

const CREATE: &str = "mutation($input: PersonalAccessTokenCreateInput!) {
  personalAccessTokenCreate(input: $input) {
    token
    personalAccessToken { id name description scopes expiresAt lastUsedAt revoked active impersonation user { username } }
  }
}";

async fn create(app: &TestApp, token: &str, input: Value) -> Value {
    let (_, body) = app
        .gql(Some(token), CREATE, json!({ "input": input }))
        .await;
    body
}

#[tokio::test]
async fn creating_a_token_returns_it_once_and_stores_only_its_digest() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let api = app.token(&alice, &[Scope::Api]).await;
    let body = create(
        &app,
        &api,
        json!({ "name": "CI", "description": "deploys", "expiresAt": "2027-02-01", "scopes": ["READ_API", "API"] }),
    )
    .await;
    let created = &body["data"]["personalAccessTokenCreate"];
    let token = created["token"].as_str().expect("token");
    assert!(token.starts_with("wvspat-") && token.len() == 45, "{token}");
    let record = &created["personalAccessToken"];
    assert_eq!(record["name"], "CI");
    assert_eq!(record["description"], "deploys");
    assert_eq!(record["scopes"], json!(["API", "READ_API"]));
    assert_eq!(record["expiresAt"], "2027-02-01");
    assert_eq!(record["lastUsedAt"], Value::Null);
    assert_eq!(record["revoked"], false);
    assert_eq!(record["active"], true);
    assert_eq!(record["impersonation"], false);
    assert_eq!(record["user"]["username"], "alice");

    // The new token works, and nothing readable gives the secret back.
    let data = app
        .gql_ok(token, "{ currentToken { name } }", json!({}))
        .await;
    assert_eq!(data["currentToken"]["name"], "CI");
    let listed = app
        .gql_ok(
            token,
            "{ personalAccessTokens { nodes { id name } } }",
            json!({}),
        )
        .await;
    assert!(!listed.to_string().contains(&token[7..]));

    // At rest: a 32-byte digest, never the token.
    for row in app.token_rows().await {
        assert_eq!(row.digest.len(), 32);
        assert!(!format!("{row:?}").contains(&token[7..]));
    }
}

#[tokio::test]
async fn invalid_input_is_refused_naming_the_field_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let api = app.token(&alice, &[Scope::Api]).await;
    let before = app.token_state().await;
    let long_name = "n".repeat(256);
    let long_description = "d".repeat(1001);
    let cases = [
        (json!({ "name": "", "scopes": ["API"] }), "name"),
        (json!({ "name": "   ", "scopes": ["API"] }), "name"),
        (json!({ "name": long_name, "scopes": ["API"] }), "name"),
        (
            json!({ "name": "x", "description": long_description, "scopes": ["API"] }),
            "description",
        ),
        (json!({ "name": "x", "scopes": [] }), "scopes"),
        (json!({ "name": "x", "scopes": ["API", "API"] }), "scopes"),
        (json!({ "name": "x", "scopes": ["SUDO"] }), "scopes"),
        (
            json!({ "name": "x", "scopes": ["API"], "expiresAt": "2027-01-15" }),
            "expiresAt",
        ),
        (
            json!({ "name": "x", "scopes": ["API"], "expiresAt": "2026-12-31" }),
            "expiresAt",
        ),
    ];
    for (input, field) in cases {
        let body = create(&app, &api, input.clone()).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{input} → {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["field"], field,
            "{input} → {body}"
        );
        assert_eq!(body["data"], Value::Null);
    }
    // Shapes the schema itself refuses: unknown scope, malformed date.
    for input in [
        json!({ "name": "x", "scopes": ["ADMIN"] }),
        json!({ "name": "x", "scopes": ["API"], "expiresAt": "31/01/2027" }),
        json!({ "name": "x", "scopes": ["API"], "expiresAt": "2027-02-30" }),
    ] {
        let body = create(&app, &api, input.clone()).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{input} → {body}");
    }
    assert_eq!(app.token_state().await, before);
}

#[tokio::test]
async fn names_count_characters_not_bytes() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let api = app.token(&alice, &[Scope::Api]).await;
    let name = "é".repeat(255);
    let body = create(&app, &api, json!({ "name": name, "scopes": ["API"] })).await;
    assert_eq!(
        body["data"]["personalAccessTokenCreate"]["personalAccessToken"]["name"],
        name.as_str()
    );
}

#[tokio::test]
async fn the_maximum_lifetime_is_inclusive_and_fills_a_missing_date() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let root = app.admin("root").await;
    app.set_policy(
        &root,
        wvs::settings::SettingsUpdate {
            token_max_lifetime_days: Some(Some(30)),
            ..Default::default()
        },
    )
    .await;
    let api = app
        .token_with(&alice, "t", &[Scope::Api], Some(day("2027-02-01")))
        .await;
    let before = app.token_state().await;
    let body = create(
        &app,
        &api,
        json!({ "name": "x", "scopes": ["API"], "expiresAt": "2027-02-15" }),
    )
    .await;
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "expiresAt",
        "{body}"
    );
    assert_eq!(app.token_state().await, before);

    let body = create(
        &app,
        &api,
        json!({ "name": "x", "scopes": ["API"], "expiresAt": "2027-02-14" }),
    )
    .await;
    assert_eq!(
        body["data"]["personalAccessTokenCreate"]["personalAccessToken"]["expiresAt"],
        "2027-02-14"
    );
    let body = create(&app, &api, json!({ "name": "y", "scopes": ["API"] })).await;
    assert_eq!(
        body["data"]["personalAccessTokenCreate"]["personalAccessToken"]["expiresAt"],
        "2027-02-14"
    );
}

#[tokio::test]
async fn sudo_is_for_admins_only() {
    let app = TestApp::spawn().await;
    let root = app.admin("root").await;
    let api = app.token(&root, &[Scope::Api, Scope::Sudo]).await;
    let body = create(
        &app,
        &api,
        json!({ "name": "admin", "scopes": ["API", "SUDO"] }),
    )
    .await;
    assert_eq!(
        body["data"]["personalAccessTokenCreate"]["personalAccessToken"]["scopes"],
        json!(["API", "SUDO"]),
        "{body}"
    );
}

#[tokio::test]
async fn a_token_cannot_mint_a_token_with_a_scope_it_lacks() {
    let app = TestApp::spawn().await;
    let root = app.admin("root").await;
    let api_only = app.token(&root, &[Scope::Api]).await;
    let before = app.token_state().await;
    for scopes in [json!(["SUDO"]), json!(["API", "SUDO"])] {
        let body = create(&app, &api_only, json!({ "name": "x", "scopes": scopes })).await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{scopes} → {body}");
    }
    assert_eq!(app.token_state().await, before);
    // Narrower tokens are fine: `api` already grants what they grant.
    let body = create(
        &app,
        &api_only,
        json!({ "name": "ci", "scopes": ["READ_REPOSITORY", "READ_USER"] }),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body}");
    let before = app.token_state().await;
    // A token without `api` cannot create tokens at all.
    let read_api = app.token(&root, &[Scope::ReadApi]).await;
    let body = create(
        &app,
        &read_api,
        json!({ "name": "x", "scopes": ["READ_API"] }),
    )
    .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    assert_eq!(
        body["errors"][0]["extensions"]["requiredScopes"],
        json!(["api"])
    );
    assert_eq!(app.token_rows().await.len(), before.len() + 1);
}

#[tokio::test]
async fn anonymous_callers_must_authenticate() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .gql(
            None,
            CREATE,
            json!({ "input": { "name": "x", "scopes": ["API"] } }),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    assert!(app.token_rows().await.is_empty());
}
