//! The audit log: what is recorded, for whom, from where; admins only; filters and pages.

use serde_json::{Value, json};
use wvs::tokens::scope::Scope;

use crate::harness::{TestApp, error_code};

const EVENTS: &str = "query($action: AuditAction, $actor: ID, $target: ID, $first: Int, $after: String) {
  auditEvents(action: $action, actorId: $actor, targetUserId: $target, first: $first, after: $after) {
    nodes { action actorUsername targetUsername tokenId ip details occurredAt }
    pageInfo { hasNextPage endCursor }
  }
}";

fn actions(data: &Value) -> Vec<&str> {
    data["auditEvents"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|node| node["action"].as_str().expect("action"))
        .collect()
}

#[tokio::test]
async fn changes_and_refusals_are_recorded_without_secrets() {
    let app = TestApp::spawn().await;
    let root = app.admin("root").await;
    let alice = app.user("alice").await;
    let admin = app.token(&root, &[Scope::Api]).await;
    let created = app
        .gql_ok(
            &admin,
            "mutation { personalAccessTokenCreate(input: { name: \"ci\", scopes: [READ_API] }) { token personalAccessToken { id } } }",
            json!({}),
        )
        .await;
    let secret = created["personalAccessTokenCreate"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let id = created["personalAccessTokenCreate"]["personalAccessToken"]["id"].clone();
    let rotated = app
        .gql_ok(&admin, "mutation($id: ID!) { personalAccessTokenRotate(id: $id) { token personalAccessToken { id } } }", json!({ "id": id }))
        .await;
    let new_id = rotated["personalAccessTokenRotate"]["personalAccessToken"]["id"].clone();
    app.gql_ok(
        &admin,
        "mutation($id: ID!) { personalAccessTokenRevoke(id: $id) { personalAccessToken { id } } }",
        json!({ "id": new_id }),
    )
    .await;
    app.gql_ok(
        &admin,
        "mutation($id: ID!) { userBlock(id: $id) { user { id } } }",
        json!({ "id": alice.gid() }),
    )
    .await;
    app.gql_ok(
        &admin,
        "mutation($id: ID!) { userUnblock(id: $id) { user { id } } }",
        json!({ "id": alice.gid() }),
    )
    .await;
    app.gql_ok(&admin, "mutation { instanceSettingsUpdate(input: { requireTokenExpiry: false }) { instanceSettings { requireTokenExpiry } } }", json!({}))
        .await;
    app.gql_ok(
        &admin,
        "mutation($u: ID!) { impersonationTokenCreate(userId: $u, input: { name: \"imp\", scopes: [API] }) { token } }",
        json!({ "u": alice.gid() }),
    )
    .await;
    // Refusals: a revoked token (attributed to its owner) and junk (anonymous).
    app.gql(Some(&secret), "{ currentUser { id } }", json!({}))
        .await;
    app.gql(Some("wvspat-nonsense"), "{ currentUser { id } }", json!({}))
        .await;
    app.gql(Some("wvspat-nonsense"), "{ currentUser { id } }", json!({}))
        .await;
    app.flush_refusals().await;

    let data = app.gql_ok(&admin, EVENTS, json!({})).await;
    let mut seen: Vec<&str> = actions(&data)
        .into_iter()
        .filter(|a| *a != "AUTHENTICATION_REFUSED")
        .collect();
    seen.sort();
    // The first TOKEN_CREATED is the harness's own token, made from the shell.
    let mut expected = vec![
        "TOKEN_CREATED",
        "TOKEN_CREATED",
        "TOKEN_ROTATED",
        "TOKEN_REVOKED",
        "USER_BLOCKED",
        "USER_UNBLOCKED",
        "SETTINGS_CHANGED",
        "IMPERSONATION_TOKEN_CREATED",
    ];
    expected.sort();
    assert_eq!(seen, expected, "{data}");
    let text = data.to_string();
    assert!(
        !text.contains(&secret[7..]),
        "a secret reached the audit log"
    );
    let nodes = data["auditEvents"]["nodes"].as_array().expect("nodes");
    let shell = nodes.last().expect("first event");
    assert_eq!(shell["ip"], Value::Null);
    assert!(
        shell["details"]
            .as_str()
            .expect("details")
            .contains("shell")
    );
    for node in &nodes[..nodes.len() - 1] {
        assert_eq!(node["ip"], "127.0.0.1", "{node}");
    }

    // Refusals: counted per reason, attributed to the owner when the token was recognised.
    let refusals = app
        .gql_ok(
            &admin,
            EVENTS,
            json!({ "action": "AUTHENTICATION_REFUSED" }),
        )
        .await;
    let mut counts = std::collections::BTreeMap::new();
    for node in refusals["auditEvents"]["nodes"].as_array().expect("nodes") {
        let details: Value =
            serde_json::from_str(node["details"].as_str().expect("details")).expect("json");
        let reason = details["reason"].as_str().expect("reason").to_owned();
        let owner = node["actorUsername"].as_str().map(str::to_owned);
        *counts.entry((reason, owner)).or_insert(0) += details["count"].as_u64().expect("count");
    }
    let expected_counts = std::collections::BTreeMap::from([
        (("malformed".to_owned(), None), 2),
        (("revoked".to_owned(), Some("root".to_owned())), 1),
    ]);
    assert_eq!(counts, expected_counts);

    // Filters and pages.
    let by_target = app
        .gql_ok(&admin, EVENTS, json!({ "target": alice.gid() }))
        .await;
    let mut targeted = actions(&by_target);
    targeted.sort();
    assert_eq!(
        targeted,
        [
            "IMPERSONATION_TOKEN_CREATED",
            "USER_BLOCKED",
            "USER_UNBLOCKED"
        ]
    );
    let page = app.gql_ok(&admin, EVENTS, json!({ "first": 4 })).await;
    assert_eq!(page["auditEvents"]["pageInfo"]["hasNextPage"], true);
    let rest = app
        .gql_ok(
            &admin,
            EVENTS,
            json!({ "first": 100, "after": page["auditEvents"]["pageInfo"]["endCursor"] }),
        )
        .await;
    assert_eq!(actions(&page).len() + actions(&rest).len(), nodes.len());
}

#[tokio::test]
async fn only_admins_read_the_audit_log() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let token = app.token(&alice, &[Scope::Api]).await;
    let (_, body) = app.gql(Some(&token), EVENTS, json!({})).await;
    assert_eq!(error_code(&body), "FORBIDDEN");
}
