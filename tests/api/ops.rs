//! Operability endpoints: liveness, readiness, metrics.

use serde_json::json;
use wvs::tokens::scope::Scope;

use crate::harness::TestApp;

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let app = TestApp::spawn().await;
    let health = app
        .client
        .get(app.url("/-/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), 200);
    let ready = app
        .client
        .get(app.url("/-/readiness"))
        .send()
        .await
        .expect("readiness");
    assert_eq!(ready.status(), 200);

    let alice = app.user("alice").await;
    let token = app.token(&alice, &[Scope::ReadUser]).await;
    app.gql_ok(&token, "{ currentUser { id } }", json!({}))
        .await;
    app.flush_last_used().await;
    let metrics = app
        .client
        .get(app.url("/-/metrics"))
        .send()
        .await
        .expect("metrics");
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/plain")
    );
    let text = metrics.text().await.expect("text");
    for expected in [
        "wvs_http_responses_total{outcome=\"2xx\"}",
        "wvs_auth_successes_total 1",
        "wvs_last_used_writes_total 1",
        "wvs_db_statements_total",
    ] {
        assert!(text.contains(expected), "missing {expected}:\n{text}");
    }
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = TestApp::spawn().await;
    app.state.db.clone().close().await.expect("close pool");
    let ready = app
        .client
        .get(app.url("/-/readiness"))
        .send()
        .await
        .expect("readiness");
    assert_eq!(ready.status(), 503);
    let health = app
        .client
        .get(app.url("/-/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn avatars_are_generated_locally() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let token = app.token(&alice, &[Scope::ReadUser]).await;
    let data = app
        .gql_ok(&token, "{ currentUser { avatarUrl } }", json!({}))
        .await;
    let url = data["currentUser"]["avatarUrl"].as_str().expect("url");
    assert!(url.starts_with(&app.url("/-/avatars/")), "{url}");
    let svg = app.client.get(url).send().await.expect("avatar");
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    assert!(svg.text().await.expect("svg").contains(">A</text>"));
    let missing = app
        .client
        .get(app.url("/-/avatars/999.svg"))
        .send()
        .await
        .expect("avatar");
    assert_eq!(missing.status(), 404);
}
