//! Secret-key rotation: a new key with the old one listed as a previous key keeps every
//! token working; each token found through the old key is re-keyed at its first use, after
//! which the old key can be dropped; a token never used since is refused once it is.

use reqwest::StatusCode;
use serde_json::json;
use wvs::{config::SecretSource, tokens::scope::Scope};

use crate::harness::TestApp;

const OLD_KEY: &str = "test-secret-key-0123456789abcdef0123456789";
const NEW_KEY: &str = "rotated-secret-key-fedcba9876543210fedcba98";

async fn who(app: &TestApp, token: &str) -> StatusCode {
    app.gql(Some(token), "{ currentUser { username } }", json!({}))
        .await
        .0
}

#[tokio::test]
async fn rotating_the_key_keeps_tokens_working_and_moves_them_to_the_new_key() {
    let old = TestApp::spawn().await;
    let alice = old.user("alice").await;
    let used = old.token(&alice, &[Scope::ReadApi]).await;
    let idle = old.token(&alice, &[Scope::ReadApi]).await;
    let before = old.token_rows().await;

    // The new key alone (a rotation done wrong) refuses every existing token.
    let alone = old
        .spawn_sharing(|config| config.secret = SecretSource::Inline(NEW_KEY.into()))
        .await;
    assert_eq!(who(&alone, &used).await, StatusCode::UNAUTHORIZED);

    // With the old key listed as previous, tokens work, and a used one is re-keyed.
    let rotated = old
        .spawn_sharing(|config| {
            config.secret = SecretSource::Inline(NEW_KEY.into());
            config.previous_secrets = Some(SecretSource::Inline(OLD_KEY.into()));
        })
        .await;
    assert_eq!(who(&rotated, &used).await, StatusCode::OK);
    rotated.state.rekeyer.flush().await;
    let after = rotated.token_rows().await;
    assert_ne!(after[0].digest, before[0].digest, "the used token moved");
    assert_eq!(after[1].digest, before[1].digest, "the idle one did not");
    let metrics = rotated.metrics_text().await;
    assert!(metrics.contains("wvs_token_rekeys_total 1"), "{metrics}");
    // Tokens created now are digested with the new key.
    let fresh = rotated.token(&alice, &[Scope::ReadApi]).await;
    assert_eq!(who(&rotated, &idle).await, StatusCode::OK);

    // Once the old key is dropped: the re-keyed and the new token work, the idle one (used
    // once just above, so re-keyed as well) too; a token never presented is refused.
    let never = old.token(&alice, &[Scope::ReadApi]).await;
    rotated.state.rekeyer.flush().await;
    let retired = old
        .spawn_sharing(|config| config.secret = SecretSource::Inline(NEW_KEY.into()))
        .await;
    assert_eq!(who(&retired, &used).await, StatusCode::OK);
    assert_eq!(who(&retired, &idle).await, StatusCode::OK);
    assert_eq!(who(&retired, &fresh).await, StatusCode::OK);
    assert_eq!(who(&retired, &never).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_token_is_refused_under_a_key_it_was_never_digested_with() {
    let app = TestApp::spawn_with(|config| {
        config.previous_secrets = Some(SecretSource::Inline(
            "some-other-old-key-000000000000000000000000".into(),
        ));
    })
    .await;
    let alice = app.user("alice").await;
    let token = app.token(&alice, &[Scope::ReadApi]).await;
    assert_eq!(who(&app, &token).await, StatusCode::OK);
    app.state.rekeyer.flush().await;
    // Found under the current key: nothing to re-key.
    let rows = app.token_rows().await;
    let digest = wvs::tokens::secret::TokenSecret::parse(&token)
        .expect("token")
        .digest(&app.state.secret_key);
    assert_eq!(rows[0].digest, digest);
    let unknown = wvs::tokens::secret::TokenSecret::generate();
    assert_eq!(who(&app, unknown.expose()).await, StatusCode::UNAUTHORIZED);
}
