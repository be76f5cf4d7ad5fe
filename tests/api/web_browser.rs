//! The web pages in a real headless Chromium: sign in, avatar → Edit profile → Access
//! Tokens, a prefill link through sign-in, creating a token and using it on the API, its
//! Last used moving, revoking it and the API refusing it, and signing out.

use reqwest::StatusCode;
use serde_json::json;

use crate::{browser::Browser, harness::TestApp};

const TOKENS_PAGE: &str = "/-/user_settings/personal_access_tokens";

async fn sign_in(browser: &Browser, login: &str, password: &str) {
    browser.find("#login").await.fill(login).await;
    browser.find("#password").await.fill(password).await;
    browser.click_through("[data-testid=sign-in-submit]").await;
}

#[tokio::test]
async fn a_person_creates_uses_and_revokes_a_token_in_the_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    app.token_with(
        &alice,
        "laptop",
        &[wvs::tokens::scope::Scope::ReadApi],
        None,
    )
    .await;

    // Signed out, the site asks to sign in; a wrong password is said so.
    browser.goto(&app.url("/")).await;
    assert_eq!(browser.path().await, "/users/sign_in");
    sign_in(&browser, "alice", "not her password").await;
    assert_eq!(
        browser.text("[data-testid=sign-in-error]").await,
        "Invalid login or password."
    );
    sign_in(&browser, "alice", "alice-password").await;
    browser.find("[data-testid=profile-username]").await;

    // Avatar → Edit profile → Access Tokens.
    browser.find("[data-testid=user-menu]").await.click().await;
    browser.click_through("[data-testid=edit-profile]").await;
    assert_eq!(browser.text("h1").await, "Edit profile");
    assert_eq!(browser.path().await, "/-/user_settings/profile");
    browser
        .click_through("[data-testid=nav-access-tokens]")
        .await;
    assert_eq!(browser.text("h1").await, "Personal access tokens");
    assert_eq!(browser.path().await, TOKENS_PAGE);

    // The form: a name, the proposed date (30 days after the server's today), one scope.
    let expires = browser.find("#token-expires-at").await;
    assert_eq!(expires.property("value").await, "2027-02-14");
    assert_eq!(expires.property("min").await, "2027-01-16");
    browser.find("#token-name").await.fill("CI").await;
    browser.find("#scope-read_user").await.click().await;
    browser.find("#scope-api").await.click().await;
    browser.click_through("[data-testid=create-token]").await;

    // Shown once, with a working copy button and the warning.
    let field = browser.find("[data-testid=created-token]").await;
    let token = field
        .property("value")
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(token.starts_with("wvspat-") && token.len() == 45, "{token}");
    assert!(
        browser
            .text("[data-testid=created-token-section]")
            .await
            .contains("you won't be able to see it again")
    );
    let copy = browser.find("button[data-copy-target=created-token]").await;
    assert!(copy.displayed().await, "the script reveals the copy button");
    copy.click().await;
    assert_eq!(copy.text().await, "Copied");
    browser.resize(1280, 1800).await;
    let png = browser.screenshot_to("access-tokens.png").await;
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG screenshot");

    // The token works on the API.
    let data = app
        .gql_ok(
            &token,
            "{ currentUser { username } currentToken { id name scopes } }",
            json!({}),
        )
        .await;
    assert_eq!(data["currentUser"]["username"], "alice");
    assert_eq!(data["currentToken"]["scopes"], json!(["API", "READ_USER"]));
    let id = data["currentToken"]["id"]
        .as_str()
        .and_then(|gid| gid.rsplit('/').next())
        .expect("id")
        .to_owned();

    // Reloading shows the token in the list with its Last used, and never the secret again.
    app.flush_last_used().await;
    browser.goto(&app.url(TOKENS_PAGE)).await;
    let last_used = browser.text(&format!("[data-testid=last-used-{id}]")).await;
    assert_eq!(last_used, "2027-01-15 12:00 UTC");
    let shown_again = browser
        .script("return document.getElementById('created-token') !== null")
        .await;
    assert_eq!(shown_again, false);
    assert!(
        !browser
            .script("return document.body.innerHTML")
            .await
            .to_string()
            .contains(&token)
    );
    let laptop = app.token_rows().await[0].id;
    assert_eq!(
        browser
            .text(&format!("[data-testid=last-used-{laptop}]"))
            .await,
        "Never"
    );

    // Rotate the laptop token, confirming: its successor is shown once and works.
    browser
        .find(&format!("[data-testid=rotate-{laptop}]"))
        .await
        .click()
        .await;
    browser
        .click_through(&format!("[data-testid=confirm-rotate-{laptop}]"))
        .await;
    let successor = browser
        .find("[data-testid=created-token]")
        .await
        .property("value")
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let data = app
        .gql_ok(&successor, "{ currentToken { name } }", json!({}))
        .await;
    assert_eq!(data["currentToken"]["name"], "laptop");

    // Revoke, confirming: the page says so and the API refuses the token at once.
    browser
        .find(&format!("[data-testid=revoke-{id}]"))
        .await
        .click()
        .await;
    browser
        .click_through(&format!("[data-testid=confirm-revoke-{id}]"))
        .await;
    assert_eq!(
        browser.text("[data-testid=notice]").await,
        "Revoked the personal access token “CI”."
    );
    assert!(
        browser
            .text("[data-testid=inactive-tokens]")
            .await
            .contains("CI")
    );
    let (status, _) = app
        .gql(Some(&token), "{ currentUser { username } }", json!({}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(browser.text("[data-testid=active-count]").await, "1");

    // Sign out from the avatar menu: the pages ask to sign in again.
    browser.find("[data-testid=user-menu]").await.click().await;
    browser.click_through("[data-testid=sign-out]").await;
    browser.find("[data-testid=sign-in-submit]").await;
    browser.goto(&app.url(TOKENS_PAGE)).await;
    assert_eq!(
        browser.path().await.split('?').next(),
        Some("/users/sign_in")
    );
    browser.close().await;
}

#[tokio::test]
async fn a_prefill_link_survives_signing_in_and_only_fills_the_form() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn().await;
    app.user("alice").await;
    browser
        .goto(&app.url(&format!(
            "{TOKENS_PAGE}?name=CI&scopes=api,read_user,sudo,nope&description=Deploys"
        )))
        .await;
    assert_eq!(
        browser.path().await.split('?').next(),
        Some("/users/sign_in")
    );
    sign_in(&browser, "alice@example.com", "alice-password").await;

    assert_eq!(
        browser.find("#token-name").await.property("value").await,
        "CI"
    );
    assert_eq!(
        browser
            .find("#token-description")
            .await
            .property("value")
            .await,
        "Deploys"
    );
    for (scope, ticked) in [
        ("api", true),
        ("read_user", true),
        ("read_api", false),
        ("write_repository", false),
    ] {
        let checkbox = browser.find(&format!("#scope-{scope}")).await;
        assert_eq!(checkbox.property("checked").await, ticked, "{scope}");
    }
    let notice = browser.text("[data-testid=notice]").await;
    assert!(notice.contains("sudo (administrators only)"), "{notice}");
    assert!(notice.contains("“nope” (unknown)"), "{notice}");
    assert_eq!(
        browser
            .script("return document.getElementById('scope-sudo')")
            .await,
        serde_json::Value::Null
    );
    // Nothing is created until the form is sent.
    assert!(app.token_rows().await.is_empty());
    browser.click_through("[data-testid=create-token]").await;
    browser.find("[data-testid=created-token]").await;
    let rows = app.token_rows().await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].name, "CI");
    assert_eq!(rows[0].description.as_deref(), Some("Deploys"));
    assert_eq!(rows[0].expires_at, Some(crate::harness::day("2027-02-14")));
    browser.close().await;
}
