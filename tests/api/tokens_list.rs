//! `personalAccessTokens` and `personalAccessToken`: newest first, stable keyset pages,
//! state and name filters, visibility, and no N+1 on the owner.

use chrono::Duration;
use serde_json::{Value, json};
use wvs::tokens::scope::Scope;

use crate::harness::{TestApp, day, error_code};

const LIST: &str = "query($state: AccessTokenState, $search: String, $first: Int, $after: String) {
  personalAccessTokens(state: $state, search: $search, first: $first, after: $after) {
    edges { cursor node { name } }
    nodes { id name active revoked }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}";

fn names(data: &Value) -> Vec<String> {
    data["personalAccessTokens"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|node| node["name"].as_str().expect("name").to_owned())
        .collect()
}

#[tokio::test]
async fn pages_are_newest_first_and_stable_under_inserts() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    for i in 1..=5 {
        app.token_with(&alice, &format!("t{i}"), &[Scope::Api], None)
            .await;
    }
    let reader = app
        .token_with(&alice, "reader", &[Scope::ReadApi], None)
        .await;
    let page1 = app.gql_ok(&reader, LIST, json!({ "first": 3 })).await;
    assert_eq!(names(&page1), ["reader", "t5", "t4"]);
    let info = &page1["personalAccessTokens"]["pageInfo"];
    assert_eq!(info["hasNextPage"], true);
    assert_eq!(info["hasPreviousPage"], false);
    assert_eq!(
        page1["personalAccessTokens"]["edges"][2]["cursor"],
        info["endCursor"]
    );

    // A token created between pages does not shift the next page.
    app.token_with(&alice, "newer", &[Scope::Api], None).await;
    let page2 = app
        .gql_ok(
            &reader,
            LIST,
            json!({ "first": 3, "after": info["endCursor"] }),
        )
        .await;
    assert_eq!(names(&page2), ["t3", "t2", "t1"]);
    assert_eq!(
        page2["personalAccessTokens"]["pageInfo"]["hasNextPage"],
        false
    );
    assert_eq!(
        page2["personalAccessTokens"]["pageInfo"]["hasPreviousPage"],
        true
    );

    let default_page = app.gql_ok(&reader, LIST, json!({})).await;
    assert_eq!(names(&default_page).len(), 7);
}

#[tokio::test]
async fn bad_page_arguments_are_refused() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let token = app.token(&alice, &[Scope::ReadApi]).await;
    for (variables, field) in [
        (json!({ "first": 101 }), "first"),
        (json!({ "first": -1 }), "first"),
        (json!({ "after": "not-a-cursor" }), "after"),
    ] {
        let (_, body) = app.gql(Some(&token), LIST, variables).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field);
    }
    let hundred = app.gql_ok(&token, LIST, json!({ "first": 100 })).await;
    assert_eq!(names(&hundred).len(), 1);
}

#[tokio::test]
async fn state_filter_separates_active_from_revoked_and_expired() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let reader = app.token_with(&alice, "reader", &[Scope::Api], None).await;
    app.token_with(&alice, "expiring", &[Scope::Api], Some(day("2027-01-16")))
        .await;
    let doomed = app.token_with(&alice, "doomed", &[Scope::Api], None).await;
    let doomed_id = app
        .gql_ok(&doomed, "{ currentToken { id } }", json!({}))
        .await["currentToken"]["id"]
        .clone();
    app.gql_ok(
        &reader,
        "mutation($id: ID!) { personalAccessTokenRevoke(id: $id) { personalAccessToken { revoked } } }",
        json!({ "id": doomed_id }),
    )
    .await;
    let active = app.gql_ok(&reader, LIST, json!({})).await;
    assert_eq!(names(&active), ["expiring", "reader"]);

    // Midnight UTC of the expiry date: the expiring token moves to INACTIVE.
    app.clock.set(
        day("2027-01-16")
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc(),
    );
    let active = app
        .gql_ok(&reader, LIST, json!({ "state": "ACTIVE" }))
        .await;
    assert_eq!(names(&active), ["reader"]);
    let inactive = app
        .gql_ok(&reader, LIST, json!({ "state": "INACTIVE" }))
        .await;
    assert_eq!(names(&inactive), ["doomed", "expiring"]);
    assert_eq!(
        inactive["personalAccessTokens"]["nodes"][1]["active"],
        false
    );
    assert_eq!(
        inactive["personalAccessTokens"]["nodes"][1]["revoked"],
        false
    );
    let all = app.gql_ok(&reader, LIST, json!({ "state": "ALL" })).await;
    assert_eq!(names(&all).len(), 3);
}

#[tokio::test]
async fn search_matches_names_case_insensitively_and_literally() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let reader = app
        .token_with(&alice, "Reader", &[Scope::ReadApi], None)
        .await;
    app.token_with(&alice, "Deploy PROD", &[Scope::Api], None)
        .await;
    app.token_with(&alice, "100% done", &[Scope::Api], None)
        .await;
    app.token_with(&alice, "a_b", &[Scope::Api], None).await;
    app.token_with(&alice, "axb", &[Scope::Api], None).await;
    for (term, expected) in [
        ("prod", vec!["Deploy PROD"]),
        ("%", vec!["100% done"]),
        ("a_b", vec!["a_b"]),
        ("'; DROP TABLE users; --", vec![]),
    ] {
        let found = names(&app.gql_ok(&reader, LIST, json!({ "search": term })).await);
        assert_eq!(found, expected, "{term}");
    }
}

#[tokio::test]
async fn other_users_tokens_are_invisible() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let alice_token = app.token(&alice, &[Scope::Api]).await;
    let bob_token = app.token(&bob, &[Scope::Api]).await;
    let bob_id = app
        .gql_ok(&bob_token, "{ currentToken { id } }", json!({}))
        .await["currentToken"]["id"]
        .clone();
    let data = app
        .gql_ok(
            &alice_token,
            "query($id: ID!) { personalAccessToken(id: $id) { name } }",
            json!({ "id": bob_id }),
        )
        .await;
    assert_eq!(data["personalAccessToken"], Value::Null);
    let (_, body) = app
        .gql(
            Some(&alice_token),
            "query($u: ID) { personalAccessTokens(userId: $u) { nodes { id } } }",
            json!({ "u": format!("gid://wvs/User/{}", bob.id()) }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let (_, body) = app
        .gql(
            Some(&alice_token),
            "{ personalAccessToken(id: \"42\") { name } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
}

#[tokio::test]
async fn listing_a_hundred_tokens_with_owners_costs_a_bounded_number_of_statements() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    for i in 0..100 {
        app.token_with(&alice, &format!("t{i}"), &[Scope::Api], None)
            .await;
    }
    let reader = app.token(&alice, &[Scope::ReadApi]).await;
    // Let the reader's first-use write land so it does not count below.
    app.gql_ok(&reader, "{ currentUser { id } }", json!({}))
        .await;
    app.flush_last_used().await;
    app.clock.advance(Duration::minutes(1));

    let before = app.state.metrics.db_statements();
    let data = app
        .gql_ok(
            &reader,
            "{ personalAccessTokens(first: 100) { nodes { name active user { username email } } } }",
            json!({}),
        )
        .await;
    let statements = app.state.metrics.db_statements() - before;
    let nodes = data["personalAccessTokens"]["nodes"]
        .as_array()
        .expect("nodes");
    assert_eq!(nodes.len(), 100);
    assert!(nodes.iter().all(|node| node["user"]["username"] == "alice"));
    // Authenticate, the owner of the list, the list, the batched owner loads (one, or a few
    // when a busy machine splits the loader's batching window), and at most one refresh of
    // the cached instance settings: a handful, never one per row.
    assert!(
        statements <= 10,
        "{statements} statements for one page of 100"
    );
}

#[tokio::test]
async fn oversized_or_control_character_searches_are_refused() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let token = app.token(&alice, &[Scope::ReadApi]).await;
    for term in ["x".repeat(256), "%".repeat(30_000), "a\u{0}b".to_owned()] {
        let (_, body) = app.gql(Some(&token), LIST, json!({ "search": term })).await;
        assert_eq!(body["errors"][0]["extensions"]["field"], "search", "{body}");
    }
    let (_, body) = app
        .gql(
            Some(&token),
            "query($s: String) { users(search: $s) { nodes { id } } }",
            json!({ "s": "y".repeat(50_000) }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "search");
}
