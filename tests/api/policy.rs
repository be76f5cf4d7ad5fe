//! Instance token policy: required expiry, maximum lifetime (exactly N days allowed, N+1
//! refused, on create, rotate and impersonation), and disabling tokens instance-wide.

use serde_json::{Value, json};
use wvs::tokens::scope::Scope;

use crate::harness::{TestApp, error_code};

const UPDATE: &str = "mutation($input: InstanceSettingsUpdateInput!) {
  instanceSettingsUpdate(input: $input) { instanceSettings { requireTokenExpiry tokenMaxLifetimeDays personalAccessTokensDisabled } }
}";
const CREATE: &str = "mutation($input: PersonalAccessTokenCreateInput!) {
  personalAccessTokenCreate(input: $input) { token personalAccessToken { id expiresAt } }
}";

#[tokio::test]
async fn only_admins_change_the_policy_and_everyone_can_read_it() {
    let app = TestApp::spawn().await;
    let root = app.admin("root").await;
    let alice = app.user("alice").await;
    let alice_token = app.token(&alice, &[Scope::Api]).await;
    let admin = app.token(&root, &[Scope::Api]).await;
    let (_, body) = app
        .gql(
            Some(&alice_token),
            UPDATE,
            json!({ "input": { "requireTokenExpiry": true } }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    for bad in [0, -5, 36_501] {
        let (_, body) = app
            .gql(
                Some(&admin),
                UPDATE,
                json!({ "input": { "tokenMaxLifetimeDays": bad } }),
            )
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["field"], "tokenMaxLifetimeDays",
            "{body}"
        );
    }
    let data = app
        .gql_ok(
            &admin,
            UPDATE,
            json!({ "input": { "tokenMaxLifetimeDays": 30 } }),
        )
        .await;
    assert_eq!(
        data["instanceSettingsUpdate"]["instanceSettings"],
        json!({ "requireTokenExpiry": false, "tokenMaxLifetimeDays": 30, "personalAccessTokensDisabled": false })
    );
    let read = app
        .gql_ok(
            &alice_token,
            "{ instanceSettings { tokenMaxLifetimeDays } }",
            json!({}),
        )
        .await;
    assert_eq!(read["instanceSettings"]["tokenMaxLifetimeDays"], 30);
    // Omitted fields stay; null removes the limit.
    let data = app
        .gql_ok(
            &admin,
            UPDATE,
            json!({ "input": { "requireTokenExpiry": true } }),
        )
        .await;
    assert_eq!(
        data["instanceSettingsUpdate"]["instanceSettings"]["tokenMaxLifetimeDays"],
        30
    );
    let data = app
        .gql_ok(
            &admin,
            UPDATE,
            json!({ "input": { "tokenMaxLifetimeDays": null } }),
        )
        .await;
    assert_eq!(
        data["instanceSettingsUpdate"]["instanceSettings"]["tokenMaxLifetimeDays"],
        Value::Null
    );
}

#[tokio::test]
async fn the_maximum_lifetime_holds_at_n_days_and_refuses_n_plus_one_everywhere() {
    let app = TestApp::spawn().await;
    let root = app.admin("root").await;
    let alice = app.user("alice").await;
    let admin = app.token(&root, &[Scope::Api]).await;
    let alice_token = app.token(&alice, &[Scope::Api]).await;
    app.gql_ok(
        &admin,
        UPDATE,
        json!({ "input": { "tokenMaxLifetimeDays": 10 } }),
    )
    .await;
    // Today is 2027-01-15: the 25th is exactly 10 days ahead.
    let ok = json!({ "name": "n", "scopes": ["API"], "expiresAt": "2027-01-25" });
    let too_far = json!({ "name": "n+1", "scopes": ["API"], "expiresAt": "2027-01-26" });
    let before = app.token_state().await;
    let (_, body) = app
        .gql(Some(&alice_token), CREATE, json!({ "input": too_far }))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "expiresAt");
    let impersonation = "mutation($u: ID!, $input: PersonalAccessTokenCreateInput!) { impersonationTokenCreate(userId: $u, input: $input) { token } }";
    let (_, body) = app
        .gql(
            Some(&admin),
            impersonation,
            json!({ "u": alice.gid(), "input": too_far }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "expiresAt");
    assert_eq!(app.token_state().await, before);

    let created = app
        .gql_ok(&alice_token, CREATE, json!({ "input": ok }))
        .await;
    let id = created["personalAccessTokenCreate"]["personalAccessToken"]["id"].clone();
    app.gql_ok(
        &admin,
        impersonation,
        json!({ "u": alice.gid(), "input": ok }),
    )
    .await;
    let rotate = "mutation($id: ID!, $e: Date) { personalAccessTokenRotate(id: $id, expiresAt: $e) { personalAccessToken { id expiresAt } } }";
    let before = app.token_state().await;
    let (_, body) = app
        .gql(
            Some(&alice_token),
            rotate,
            json!({ "id": id, "e": "2027-01-26" }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "expiresAt");
    assert_eq!(app.token_state().await, before);
    let data = app
        .gql_ok(&alice_token, rotate, json!({ "id": id, "e": "2027-01-25" }))
        .await;
    assert_eq!(
        data["personalAccessTokenRotate"]["personalAccessToken"]["expiresAt"],
        "2027-01-25"
    );
    // Without a date, a token gets the maximum.
    let data = app
        .gql_ok(
            &alice_token,
            CREATE,
            json!({ "input": { "name": "default", "scopes": ["API"] } }),
        )
        .await;
    assert_eq!(
        data["personalAccessTokenCreate"]["personalAccessToken"]["expiresAt"],
        "2027-01-25"
    );
}

#[tokio::test]
async fn required_expiry_refuses_tokens_without_a_date_when_no_maximum_is_set() {
    let app = TestApp::spawn().await;
    let root = app.admin("root").await;
    let admin = app.token(&root, &[Scope::Api]).await;
    app.gql_ok(
        &admin,
        UPDATE,
        json!({ "input": { "requireTokenExpiry": true } }),
    )
    .await;
    let (_, body) = app
        .gql(
            Some(&admin),
            CREATE,
            json!({ "input": { "name": "x", "scopes": ["API"] } }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "expiresAt",
        "{body}"
    );
    let data = app
        .gql_ok(
            &admin,
            CREATE,
            json!({ "input": { "name": "x", "scopes": ["API"], "expiresAt": "2027-12-31" } }),
        )
        .await;
    assert_eq!(
        data["personalAccessTokenCreate"]["personalAccessToken"]["expiresAt"],
        "2027-12-31"
    );
}

#[tokio::test]
async fn disabling_tokens_stops_every_token_until_re_enabled() {
    let app = TestApp::spawn().await;
    let root = app.admin("root").await;
    let alice = app.user("alice").await;
    let admin = app.token(&root, &[Scope::Api]).await;
    let alice_token = app.token(&alice, &[Scope::ReadApi]).await;
    app.gql_ok(
        &admin,
        UPDATE,
        json!({ "input": { "personalAccessTokensDisabled": true } }),
    )
    .await;
    for token in [&admin, &alice_token] {
        let (status, _) = app
            .gql(Some(token), "{ currentUser { id } }", json!({}))
            .await;
        assert_eq!(status, 401);
    }
    // New tokens cannot be made either (here from the shell's side of the service).
    let shell = wvs::auth::principal::Principal {
        user: root.model.clone().into(),
        credential: wvs::auth::principal::Credential::Shell,
        ip: None,
    };
    let refused = wvs::tokens::create::create_own(
        &app.state,
        &shell,
        wvs::tokens::create::CreateRequest {
            name: "x".into(),
            scopes: vec![Scope::Api],
            ..Default::default()
        },
    )
    .await;
    assert!(
        matches!(refused, Err(wvs::error::Error::Forbidden(_))),
        "{refused:?}"
    );
    // The operator re-enables them from the shell; existing tokens work again.
    app.set_policy(
        &root,
        wvs::settings::SettingsUpdate {
            personal_access_tokens_disabled: Some(false),
            ..Default::default()
        },
    )
    .await;
    let data = app
        .gql_ok(&alice_token, "{ currentUser { username } }", json!({}))
        .await;
    assert_eq!(data["currentUser"]["username"], "alice");
}

#[tokio::test]
async fn rotation_keeps_the_lifetime_but_never_beyond_a_lowered_maximum() {
    let app = TestApp::spawn().await;
    let root = app.admin("root").await;
    let alice = app.user("alice").await;
    let admin = app.token(&root, &[Scope::Api]).await;
    let long = app
        .token_with(
            &alice,
            "long",
            &[Scope::Api],
            Some(crate::harness::day("2027-06-01")),
        )
        .await;
    let id = app
        .gql_ok(&long, "{ currentToken { id } }", json!({}))
        .await["currentToken"]["id"]
        .clone();
    app.gql_ok(
        &admin,
        UPDATE,
        json!({ "input": { "tokenMaxLifetimeDays": 10 } }),
    )
    .await;
    let data = app
        .gql_ok(&long, "mutation($id: ID!) { personalAccessTokenRotate(id: $id) { personalAccessToken { expiresAt } } }", json!({ "id": id }))
        .await;
    assert_eq!(
        data["personalAccessTokenRotate"]["personalAccessToken"]["expiresAt"],
        "2027-01-25"
    );
}
