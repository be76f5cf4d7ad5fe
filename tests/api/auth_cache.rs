//! The verified-token cache: no database round trip on the token path once warm; a
//! revocation or block refused at the next request here and within a second in another
//! process sharing the database; expiry never cached; `WVS_AUTH_CACHE=off` turns it off.

use chrono::Duration;
use serde_json::json;
use wvs::{clock::Clock, tokens::scope::Scope};

use crate::harness::{TestApp, day};

const WHO: &str = "{ currentUser { username } }";
/// Reads the change feed now, as the background sync would.
async fn sync_cache(app: &TestApp) {
    app.state
        .auth_cache
        .sync(&app.state.db, app.clock.now())
        .await;
}

/// 00:00 UTC of `date`, when tokens expiring that day stop working.
fn midnight(date: &str) -> chrono::DateTime<chrono::Utc> {
    day(date).and_hms_opt(0, 0, 0).expect("midnight").and_utc()
}

const REVOKE: &str =
    "mutation($id: ID!) { personalAccessTokenRevoke(id: $id) { personalAccessToken { id } } }";

#[tokio::test]
async fn a_warm_token_path_runs_no_database_statement() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let token = app.token(&alice, &[Scope::ReadUser]).await;
    sync_cache(&app).await;
    app.gql_ok(&token, WHO, json!({})).await;
    app.flush_last_used().await;
    let before = app.state.metrics.db_statements();
    for _ in 0..20 {
        app.gql_ok(&token, WHO, json!({})).await;
    }
    app.flush_last_used().await;
    assert_eq!(
        app.state.metrics.db_statements(),
        before,
        "the token path touched the database"
    );
    assert_eq!(app.state.metrics.last_used_writes(), 1);
}

#[tokio::test]
async fn expiry_is_checked_against_the_clock_even_when_cached() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let token = app
        .token_with(&alice, "short", &[Scope::ReadUser], Some(day("2027-01-16")))
        .await;
    sync_cache(&app).await;
    app.gql_ok(&token, WHO, json!({})).await;
    assert!(!app.state.auth_cache.is_empty());
    app.clock.set(midnight("2027-01-16"));
    // Keep the cache fresh at the new time, so the refusal comes from the expiry check.
    sync_cache(&app).await;
    let (status, _) = app.gql(Some(&token), WHO, json!({})).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn another_process_refuses_a_revoked_or_blocked_token_within_a_second() {
    let first = TestApp::spawn().await;
    let second = first.spawn_sharing(|_| {}).await;
    let root = first.admin("root").await;
    let alice = first.user("alice").await;
    let bob = first.user("bob").await;
    let admin = first.token(&root, &[Scope::Api]).await;
    let alice_token = first.token(&alice, &[Scope::Api]).await;
    let bob_token = first.token(&bob, &[Scope::ReadUser]).await;
    for app in [&first, &second] {
        sync_cache(app).await;
    }
    // Warm the second process's cache.
    second.gql_ok(&alice_token, WHO, json!({})).await;
    second.gql_ok(&bob_token, WHO, json!({})).await;
    assert_eq!(second.state.auth_cache.len(), 2);

    // Revoked in the first process: refused there at once…
    let id = first
        .gql_ok(&alice_token, "{ currentToken { id } }", json!({}))
        .await["currentToken"]["id"]
        .clone();
    first
        .gql_ok(&alice_token, REVOKE, json!({ "id": id }))
        .await;
    let (status, _) = first.gql(Some(&alice_token), WHO, json!({})).await;
    assert_eq!(status, 401);
    // …and in the second within a second: past that, its cache is not trusted.
    second.clock.advance(Duration::milliseconds(1001));
    let (status, _) = second.gql(Some(&alice_token), WHO, json!({})).await;
    assert_eq!(status, 401);

    // Blocked: the second process's next read of the change feed drops the user's tokens.
    first
        .gql_ok(
            &admin,
            "mutation($id: ID!) { userBlock(id: $id) { user { id } } }",
            json!({ "id": bob.gid() }),
        )
        .await;
    second
        .state
        .auth_cache
        .sync(&second.state.db, second.clock.now())
        .await;
    let (status, _) = second.gql(Some(&bob_token), WHO, json!({})).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn the_cache_can_be_switched_off() {
    let app = TestApp::spawn_with(|config| config.auth_cache = false).await;
    let alice = app.user("alice").await;
    let token = app.token(&alice, &[Scope::ReadUser]).await;
    sync_cache(&app).await;
    app.gql_ok(&token, WHO, json!({})).await;
    app.flush_last_used().await;
    let before = app.state.metrics.db_statements();
    app.gql_ok(&token, WHO, json!({})).await;
    assert!(
        app.state.metrics.db_statements() > before,
        "without the cache each request looks the token up"
    );
    assert!(app.state.auth_cache.is_empty());
}

/// Replaying revoked or expired tokens must not grow the cache: a long-running server that
/// cached every refused token it was shown would grow without bound (found by bench/soak).
#[tokio::test]
async fn refused_tokens_do_not_fill_the_cache() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let live = app.token(&alice, &[Scope::Api]).await;
    let expiring = app
        .token_with(&alice, "short", &[Scope::ReadUser], Some(day("2027-01-16")))
        .await;
    sync_cache(&app).await;
    let mut revoked = Vec::new();
    for _ in 0..3 {
        let token = app.token(&alice, &[Scope::ReadApi]).await;
        let id = app
            .gql_ok(&token, "{ currentToken { id } }", json!({}))
            .await["currentToken"]["id"]
            .clone();
        app.gql_ok(&live, REVOKE, json!({ "id": id })).await;
        revoked.push(token);
    }
    app.clock.set(midnight("2027-01-16"));
    sync_cache(&app).await;
    app.gql_ok(&live, WHO, json!({})).await;
    for _ in 0..2 {
        for token in revoked.iter().chain([&expiring]) {
            let (status, _) = app.gql(Some(token), WHO, json!({})).await;
            assert_eq!(status, 401);
        }
    }
    assert_eq!(
        app.state.auth_cache.len(),
        1,
        "only the live token is cached"
    );
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains("\nwvs_auth_cache_entries 1\n"),
        "{metrics}"
    );
}

/// PostgreSQL numbers feed rows at insert, not at commit. A change that commits after a
/// higher-numbered one would be skipped for good by a reader that already saw the higher
/// id, leaving a revoked token working from the cache (found by bench/soak on PostgreSQL).
/// So the writers of the feed take turns: a second change waits while the first is open.
#[tokio::test]
async fn a_change_committed_late_is_not_skipped() {
    // SQLite admits one writer at a time by itself.
    if !on_postgres() {
        return;
    }
    use entity::personal_access_token as pat;
    use sea_orm::{ConnectionTrait, EntityTrait, Set, Statement, TransactionTrait};
    use wvs::auth::cache::{self, Change};

    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let admin = app.token(&alice, &[Scope::Api]).await;
    let early = app.token(&alice, &[Scope::ReadApi]).await;
    let late = app.token(&alice, &[Scope::ReadApi]).await;
    let id_of = |body: serde_json::Value| body["currentToken"]["id"].clone();
    let early_gid = id_of(
        app.gql_ok(&early, "{ currentToken { id } }", json!({}))
            .await,
    );
    let late_gid = id_of(
        app.gql_ok(&late, "{ currentToken { id } }", json!({}))
            .await,
    );
    let early_id: i64 = early_gid
        .as_str()
        .and_then(|gid| gid.rsplit('/').next())
        .and_then(|id| id.parse().ok())
        .expect("numeric id");
    sync_cache(&app).await;
    for token in [&admin, &early, &late] {
        app.gql_ok(token, WHO, json!({})).await;
    }
    assert_eq!(app.state.auth_cache.len(), 3);

    // The early revocation: written, feed row numbered, not committed yet.
    let now = app.clock.now();
    let open = app.state.db.begin().await.expect("begin");
    pat::Entity::update(pat::ActiveModel {
        id: Set(early_id),
        revoked_at: Set(Some(now)),
        ..Default::default()
    })
    .exec(&open)
    .await
    .expect("revoke in the open transaction");
    cache::record(&open, now, Change::Token(early_id))
        .await
        .expect("record");

    // The late revocation, through the API, meanwhile: it must wait for the early one.
    let mut late_revocation = {
        let app_url = app.url("/api/graphql");
        let client = app.client.clone();
        let admin = admin.clone();
        tokio::spawn(async move {
            client
                .post(app_url)
                .bearer_auth(admin)
                .json(&json!({ "query": REVOKE, "variables": { "id": late_gid } }))
                .send()
                .await
                .expect("revoke")
                .status()
        })
    };
    let waiting_for_the_feed = async {
        let waiting = Statement::from_string(
            sea_orm::DbBackend::Postgres,
            format!(
                "SELECT count(*) AS n FROM pg_locks WHERE NOT granted AND locktype = 'advisory' \
                 AND objid = {} AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                cache::FEED_LOCK_KEY
            ),
        );
        loop {
            let row = app
                .state
                .db
                .query_one_raw(waiting.clone())
                .await
                .expect("pg_locks")
                .expect("a row");
            if row.try_get::<i64>("", "n").expect("count") > 0 {
                return;
            }
            tokio::task::yield_now().await;
        }
    };
    tokio::select! {
        status = &mut late_revocation => panic!(
            "a later change committed while an earlier one was open ({status:?})"
        ),
        () = waiting_for_the_feed => {}
    }
    open.commit().await.expect("commit");
    assert_eq!(late_revocation.await.expect("join").as_u16(), 200);

    sync_cache(&app).await;
    for token in [&early, &late] {
        let (status, _) = app.gql(Some(token), WHO, json!({})).await;
        assert_eq!(status, 401, "a revoked token still works from the cache");
    }
    app.gql_ok(&admin, WHO, json!({})).await;
}

/// The id of the newest change in the feed.
async fn newest_change(app: &TestApp) -> i64 {
    use sea_orm::{EntityTrait, QueryOrder};
    entity::auth_change::Entity::find()
        .order_by_desc(entity::auth_change::Column::Id)
        .one(&app.state.db)
        .await
        .expect("feed")
        .map_or(0, |change| change.id)
}

/// Waits until `app`'s background reader has applied change `id` (failing after 10 s).
async fn until_applied(app: &TestApp, id: i64, how: &str) {
    let mut applied = app.state.auth_cache.applied_changes();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        applied.wait_for(|newest| *newest >= id),
    )
    .await
    .unwrap_or_else(|_| panic!("change {id} never reached the other process {how}"))
    .expect("cache alive");
}

/// Waits until `app` has listened for notifications `connections` times and is listening.
async fn until_listening(app: &TestApp, connections: u64) {
    use std::sync::atomic::Ordering;
    let stats = &app.state.auth_cache.listener;
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while stats.connections.load(Ordering::Relaxed) < connections
            || !stats.listening.load(Ordering::Relaxed)
        {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the notification listener never connected");
}

/// Two processes on one database, the second's cache warm with `token`: revokes it through
/// the first and returns the feed id of the revocation.
async fn revoke_through(first: &TestApp, token: &str) -> i64 {
    let id = first
        .gql_ok(token, "{ currentToken { id } }", json!({}))
        .await["currentToken"]["id"]
        .clone();
    first.gql_ok(token, REVOKE, json!({ "id": id })).await;
    newest_change(first).await
}

fn on_postgres() -> bool {
    let postgres = std::env::var("WVS_TEST_DATABASE_URL").is_ok_and(|url| !url.trim().is_empty());
    if !postgres {
        eprintln!("SKIPPED: this needs PostgreSQL (WVS_TEST_DATABASE_URL)");
    }
    postgres
}

/// Two processes on one database, the second listening with its poll an hour away and its
/// cache warm with the returned token of the first.
async fn listening_processes() -> (TestApp, TestApp, String) {
    let first = TestApp::spawn().await;
    let second = first
        .spawn_sharing(|config| config.auth_feed.poll_every = std::time::Duration::from_secs(3600))
        .await;
    let alice = first.user("alice").await;
    let token = first.token(&alice, &[Scope::Api]).await;
    until_listening(&second, 1).await;
    second.gql_ok(&token, WHO, json!({})).await;
    assert_eq!(second.state.auth_cache.len(), 1);
    (first, second, token)
}

/// With the poll an hour away, only the notification can carry the revocation across.
#[tokio::test]
async fn a_notification_carries_a_revocation_to_another_process_before_any_poll() {
    if !on_postgres() {
        return;
    }
    let (first, second, token) = listening_processes().await;

    let change = revoke_through(&first, &token).await;
    until_applied(&second, change, "by notification").await;
    let (status, _) = second.gql(Some(&token), WHO, json!({})).await;
    assert_eq!(
        status, 401,
        "the clock has not moved: the cache itself dropped it"
    );
    let metrics = second.metrics_text().await;
    assert!(
        metrics.contains("\nwvs_auth_feed_listening 1\n"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("\nwvs_auth_feed_notifications_total 0\n"),
        "{metrics}"
    );
}

/// A listening connection cut by the database (restart, failover, idle reaper) comes back
/// and carries changes again; what committed in between is read when it does.
#[tokio::test]
async fn the_notification_listener_comes_back_after_its_connection_is_cut() {
    if !on_postgres() {
        return;
    }
    use sea_orm::ConnectionTrait;
    let (first, second, token) = listening_processes().await;

    let cut = first
        .state
        .db
        .execute_unprepared(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = '{}' AND datname = current_database()",
            wvs::auth::feed_listener::APPLICATION_NAME
        ))
        .await
        .expect("terminate the listeners");
    assert!(
        cut.rows_affected() >= 1,
        "no listening connection was found"
    );
    until_listening(&second, 2).await;

    let change = revoke_through(&first, &token).await;
    until_applied(&second, change, "after the listener reconnected").await;
    let (status, _) = second.gql(Some(&token), WHO, json!({})).await;
    assert_eq!(status, 401);
}

/// Without notifications (SQLite, or a lost listening connection) the poll alone carries a
/// change to another process.
#[tokio::test]
async fn the_poll_carries_a_revocation_to_another_process_without_notifications() {
    let first = TestApp::spawn().await;
    let second = first
        .spawn_sharing(|config| config.auth_feed.notifications = false)
        .await;
    let alice = first.user("alice").await;
    let token = first.token(&alice, &[Scope::Api]).await;
    sync_cache(&second).await;
    second.gql_ok(&token, WHO, json!({})).await;
    assert_eq!(second.state.auth_cache.len(), 1);

    let change = revoke_through(&first, &token).await;
    until_applied(&second, change, "by polling").await;
    let (status, _) = second.gql(Some(&token), WHO, json!({})).await;
    assert_eq!(status, 401);
    let metrics = second.metrics_text().await;
    assert!(
        metrics.contains("\nwvs_auth_feed_connections_total 0\n"),
        "{metrics}"
    );
}
