//! Scopes fail closed on the API, whatever the request's shape: the truth table over HTTP,
//! then GET, batches, aliases, fragments and operation names as attempts to get around it.

use serde_json::{Value, json};
use wvs::tokens::scope::Scope;

use crate::harness::{TestApp, error_code};

const QUERY: &str = "{ personalAccessTokens { nodes { id } } }";
const USER_QUERY: &str = "{ currentUser { username } }";
const MUTATION: &str =
    "mutation { personalAccessTokenCreate(input: { name: \"new\", scopes: [API] }) { token } }";

#[tokio::test]
async fn each_scope_opens_exactly_what_the_contract_says() {
    let app = TestApp::spawn().await;
    let root = app.admin("root").await;
    // (scope, query allowed, user query allowed, mutation allowed)
    let table = [
        (Scope::Api, true, true, true),
        (Scope::ReadApi, true, true, false),
        (Scope::ReadUser, false, true, false),
        (Scope::ReadRepository, false, false, false),
        (Scope::WriteRepository, false, false, false),
        (Scope::ReadRegistry, false, false, false),
        (Scope::WriteRegistry, false, false, false),
        (Scope::Sudo, false, false, false),
    ];
    for (scope, query, user_query, mutation) in table {
        let token = app.token(&root, &[scope]).await;
        for (document, allowed) in [
            (QUERY, query),
            (USER_QUERY, user_query),
            (MUTATION, mutation),
        ] {
            let before = app.token_rows().await.len();
            let (status, body) = app.gql(Some(&token), document, json!({})).await;
            assert_eq!(status, 200, "{scope}: {body}");
            if allowed {
                assert!(body.get("errors").is_none(), "{scope} {document}: {body}");
            } else {
                assert_eq!(error_code(&body), "FORBIDDEN", "{scope} {document}: {body}");
                assert!(body["errors"][0]["extensions"]["requiredScopes"].is_array());
                assert_eq!(body["data"], Value::Null);
                assert_eq!(
                    app.token_rows().await.len(),
                    before,
                    "{scope} changed something"
                );
            }
        }
    }
}

#[tokio::test]
async fn forbidden_errors_name_the_scopes_that_would_work() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let read_user = app.token(&alice, &[Scope::ReadUser]).await;
    let (_, body) = app.gql(Some(&read_user), QUERY, json!({})).await;
    assert_eq!(
        body["errors"][0]["extensions"]["requiredScopes"],
        json!(["api", "read_api"])
    );
    let read_api = app.token(&alice, &[Scope::ReadApi]).await;
    let (_, body) = app.gql(Some(&read_api), MUTATION, json!({})).await;
    assert_eq!(
        body["errors"][0]["extensions"]["requiredScopes"],
        json!(["api"])
    );
}

#[tokio::test]
async fn read_api_cannot_mutate_by_any_route() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let token = app.token(&alice, &[Scope::ReadApi]).await;
    let before = app.token_state().await;

    // GET refuses mutations outright.
    let response = app
        .client
        .get(app.url("/api/graphql"))
        .query(&[("query", MUTATION)])
        .bearer_auth(&token)
        .send()
        .await
        .expect("get");
    let body: Value = response.json().await.expect("json");
    assert!(body["errors"].is_array(), "{body}");

    // Several operations, picking the mutation by name; aliases; a batch hiding a mutation.
    let named = "query Q { currentUser { id } } mutation M { personalAccessTokenCreate(input: { name: \"x\", scopes: [API] }) { token } }";
    let attempts = vec![
        json!({ "query": named, "operationName": "M" }),
        json!({ "query": named }),
        json!({ "query": "mutation { a: personalAccessTokenCreate(input: { name: \"x\", scopes: [API] }) { token } }" }),
        json!([{ "query": USER_QUERY }, { "query": MUTATION }]),
    ];
    for attempt in attempts {
        let response = app
            .client
            .post(app.url("/api/graphql"))
            .bearer_auth(&token)
            .json(&attempt)
            .send()
            .await
            .expect("post");
        let body: Value = response.json().await.expect("json");
        assert!(
            !body.to_string().contains("wvspat-"),
            "a token was minted: {body}"
        );
    }
    assert_eq!(app.token_state().await, before);
}

#[tokio::test]
async fn read_user_cannot_reach_other_fields_through_fragments() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let token = app.token(&alice, &[Scope::ReadUser]).await;
    for document in [
        "query { ...F } fragment F on Query { personalAccessTokens { nodes { id } } }",
        "query { ... on Query { personalAccessTokens { nodes { id } } } }",
        "query { me: currentUser { id } t: currentToken { id } }",
        "{ __schema { types { name } } }",
        "query Ok { currentUser { id } } query Bad { accessTokenScopes { name } }",
    ] {
        let (_, body) = app.gql(Some(&token), document, json!({})).await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{document}: {body}");
    }
    let data = app
        .gql_ok(&token, "query { ...F } fragment F on Query { currentUser { username } u: users { nodes { username } } }", json!({}))
        .await;
    assert_eq!(data["currentUser"]["username"], "alice");
}

/// A document nested past the executor's limit skips the checks before the executor (they
/// would walk it recursively); the executor must then refuse it before anything runs,
/// whatever it asks for and whoever asks.
#[tokio::test]
async fn a_document_too_deep_for_the_scope_check_never_runs() {
    use sea_orm::ConnectionTrait;
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let token = app.token(&alice, &[Scope::ReadUser]).await;
    // `depth` inline fragments around a field nesting two more levels.
    let nested = |operation: &str, on: &str, field: &str, depth: usize| {
        format!(
            "{operation} {{ {} {field} {} }}",
            format!("... on {on} {{").repeat(depth),
            "}".repeat(depth)
        )
    };
    let query = "personalAccessTokens { nodes { id } }";
    let mutation = "personalAccessTokenCreate(input: { name: \"deep\", scopes: [API] }) { token }";
    let limit = wvs::graphql::MAX_RECURSIVE_DEPTH;
    // At the limit: the scope check sees it, and refuses it.
    for document in [
        nested("query", "Query", query, limit - 2),
        nested("mutation", "Mutation", mutation, limit - 1),
    ] {
        let (_, body) = app.gql(Some(&token), &document, json!({})).await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{document}: {body}");
    }
    // Past it: the executor refuses it before anything runs.
    for document in [
        nested("query", "Query", query, limit + 1),
        nested("mutation", "Mutation", mutation, limit + 1),
    ] {
        let (_, body) = app.gql(Some(&token), &document, json!({})).await;
        assert!(body["data"].is_null(), "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .is_some_and(|message| message.contains("recursion depth")),
            "{body}"
        );
    }
    let data = app
        .gql_ok(
            &token,
            "{ personalAccessTokens: currentUser { username } }",
            json!({}),
        )
        .await;
    assert_eq!(data["personalAccessTokens"]["username"], "alice");
    let tokens = app
        .state
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.state.db.get_database_backend(),
            "SELECT count(*) AS n FROM personal_access_tokens WHERE name = 'deep'",
        ))
        .await
        .expect("count")
        .expect("row")
        .try_get::<i64>("", "n")
        .expect("n");
    assert_eq!(tokens, 0, "the deep mutation created nothing");
}

#[tokio::test]
async fn a_batch_is_checked_request_by_request() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let token = app.token(&alice, &[Scope::ReadUser]).await;
    let response = app
        .client
        .post(app.url("/api/graphql"))
        .bearer_auth(&token)
        .json(&json!([{ "query": USER_QUERY }, { "query": QUERY }]))
        .send()
        .await
        .expect("post");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body[0]["data"]["currentUser"]["username"], "alice");
    assert_eq!(body[1]["errors"][0]["extensions"]["code"], "FORBIDDEN");
}
