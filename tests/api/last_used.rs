//! `lastUsedAt`: set by use, written at most once per 24 hours per token, off the request
//! path, and flushed when the server stops.

use chrono::Duration;
use serde_json::{Value, json};
use wvs::tokens::scope::Scope;

use crate::harness::{TestApp, start_time};

const WHO: &str = "{ currentUser { id } }";

async fn last_used(app: &TestApp, token: &str) -> Value {
    let rows = app.token_rows().await;
    let digest = wvs::tokens::secret::TokenSecret::parse(token)
        .expect("token")
        .digest(&app.state.secret_key);
    let row = rows
        .into_iter()
        .find(|row| row.digest == digest)
        .expect("row");
    json!(row.last_used_at.map(|at| at.to_rfc3339()))
}

#[tokio::test]
async fn a_burst_of_requests_writes_once_and_a_day_later_once_more() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let token = app.token(&alice, &[Scope::ReadApi]).await;
    assert_eq!(last_used(&app, &token).await, Value::Null);

    let burst = (0..32).map(|_| app.gql(Some(&token), WHO, json!({})));
    for (status, _) in futures_util::future::join_all(burst).await {
        assert_eq!(status, 200);
    }
    app.flush_last_used().await;
    assert_eq!(app.state.metrics.last_used_writes(), 1);
    assert_eq!(
        last_used(&app, &token).await,
        json!(start_time().to_rfc3339())
    );

    // Later the same day: reads show the stored time; nothing is written.
    app.clock.advance(Duration::hours(23));
    for _ in 0..5 {
        app.gql_ok(&token, WHO, json!({})).await;
    }
    app.flush_last_used().await;
    assert_eq!(app.state.metrics.last_used_writes(), 1);
    let shown = app
        .gql_ok(&token, "{ currentToken { lastUsedAt } }", json!({}))
        .await;
    assert_eq!(
        shown["currentToken"]["lastUsedAt"],
        "2027-01-15T12:00:00.000Z"
    );

    // 24 hours after the write: one more.
    app.clock.advance(Duration::hours(1));
    let burst = (0..8).map(|_| app.gql(Some(&token), WHO, json!({})));
    futures_util::future::join_all(burst).await;
    app.flush_last_used().await;
    assert_eq!(app.state.metrics.last_used_writes(), 2);
    assert_eq!(
        last_used(&app, &token).await,
        json!((start_time() + Duration::hours(24)).to_rfc3339())
    );
}

#[tokio::test]
async fn refused_requests_do_not_move_last_used() {
    let app = TestApp::spawn().await;
    let root = app.admin("root").await;
    let alice = app.user("alice").await;
    let admin_token = app.token(&root, &[Scope::Api]).await;
    let token = app.token(&alice, &[Scope::Api]).await;
    app.gql_ok(
        &admin_token,
        "mutation($id: ID!) { userBlock(id: $id) { user { id } } }",
        json!({ "id": alice.gid() }),
    )
    .await;
    let (status, _) = app.gql(Some(&token), WHO, json!({})).await;
    assert_eq!(status, 401);
    app.flush_last_used().await;
    assert_eq!(last_used(&app, &token).await, Value::Null);
}

#[tokio::test]
async fn pending_uses_are_written_when_the_server_stops() {
    let mut app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let token = app.token(&alice, &[Scope::ReadUser]).await;
    app.gql_ok(&token, WHO, json!({})).await;
    let db = app.state.db.clone();
    let digest = wvs::tokens::secret::TokenSecret::parse(&token)
        .expect("token")
        .digest(&app.state.secret_key);
    app.stop().await;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let row = entity::personal_access_token::Entity::find()
        .filter(entity::personal_access_token::Column::Digest.eq(digest.to_vec()))
        .one(&db)
        .await
        .expect("query")
        .expect("row");
    assert_eq!(row.last_used_at, Some(start_time()));
}

#[tokio::test]
async fn two_processes_write_last_used_once_between_them() {
    let first = TestApp::spawn().await;
    let second = first.spawn_sharing(|_| {}).await;
    let alice = first.user("alice").await;
    let token = first.token(&alice, &[Scope::ReadUser]).await;
    let burst = (0..8).flat_map(|_| {
        [
            first.gql(Some(&token), WHO, json!({})),
            second.gql(Some(&token), WHO, json!({})),
        ]
    });
    futures_util::future::join_all(burst).await;
    first.flush_last_used().await;
    second.flush_last_used().await;
    let writes = first.state.metrics.last_used_writes() + second.state.metrics.last_used_writes();
    assert_eq!(
        writes, 1,
        "the conditional UPDATE lets one process write per 24 hours"
    );
}
