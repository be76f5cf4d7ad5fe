//! Web sign-in and sessions over plain HTTP: cookies and their flags, one message for every
//! wrong credential, CSRF on the forms, the per-address rate limit, no session fixation,
//! expiry against the clock, sign-out, blocked and deleted users.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::json;
use wvs::tokens::scope::Scope;

use crate::{
    harness::TestApp,
    web_client::{WebClient, input_value},
};

const TOKENS_PAGE: &str = "/-/user_settings/personal_access_tokens";

#[tokio::test]
async fn signing_in_with_username_or_email_starts_a_session() {
    let app = TestApp::spawn().await;
    app.user("alice").await;
    for login in ["alice", "ALICE", "alice@example.com", " Alice@Example.com "] {
        let mut browser = WebClient::new(app.addr);
        let landed = browser.sign_in(login, "alice-password").await;
        assert_eq!(landed, "/-/user_settings/profile", "{login}");
        let profile = browser.get(&landed).await;
        assert_eq!(profile.status, StatusCode::OK, "{login}");
        assert!(profile.body.contains("@alice"), "{}", profile.body);
    }
}

#[tokio::test]
async fn the_session_cookie_is_http_only_same_site_lax_and_not_secure_over_http() {
    let app = TestApp::spawn().await;
    app.user("alice").await;
    let mut browser = WebClient::new(app.addr);
    let response = browser.try_sign_in("alice", "alice-password", None).await;
    let cookie = response.set_cookie("_wvs_session").expect("session cookie");
    assert!(cookie.contains("; HttpOnly"), "{cookie}");
    assert!(cookie.contains("; SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("; Path=/"), "{cookie}");
    assert!(!cookie.contains("Secure"), "{cookie}");
    // The value is random and only its keyed digest is stored.
    let value = browser.cookies["_wvs_session"].clone();
    assert_eq!(value.len(), 43, "{value}");
    let stored = app.web_sessions().await;
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0].digest, value.as_bytes());
}

#[tokio::test]
async fn cookies_are_secure_when_the_service_is_served_over_https() {
    let app = TestApp::spawn_with(|config| {
        config.external_url = "https://wvs.example.com".into();
    })
    .await;
    app.user("alice").await;
    let mut browser = WebClient::new(app.addr);
    let form = browser.get("/users/sign_in").await;
    let sign_in_cookie = form.set_cookie("_wvs_sign_in").expect("sign-in cookie");
    assert!(sign_in_cookie.ends_with("; Secure"), "{sign_in_cookie}");
    let response = browser.try_sign_in("alice", "alice-password", None).await;
    let cookie = response.set_cookie("_wvs_session").expect("session cookie");
    assert!(
        cookie.contains("; HttpOnly") && cookie.ends_with("; Secure"),
        "{cookie}"
    );
}

#[tokio::test]
async fn wrong_credentials_get_one_message_and_no_session() {
    let app = TestApp::spawn().await;
    app.user("alice").await;
    let cases = [
        ("alice", "wrong password"),
        ("nobody", "alice-password"),
        ("alice", ""),
        ("", "alice-password"),
        ("alice@example.com", "ALICE-PASSWORD"),
        (&"a".repeat(5000), "x"),
    ];
    for (login, password) in cases {
        let mut browser = WebClient::new(app.addr);
        let response = browser.try_sign_in(login, password, None).await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{login}");
        assert!(
            response.body.contains("Invalid login or password."),
            "{}",
            response.body
        );
        assert!(response.set_cookie("_wvs_session").is_none());
        // The form comes back without the password.
        if password.len() >= 8 {
            assert!(!response.body.contains(password), "{}", response.body);
        }
        let page = browser.get(TOKENS_PAGE).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
    }
    let sessions = app.web_sessions().await;
    assert!(sessions.is_empty());
}

#[tokio::test]
async fn sign_in_forms_without_their_csrf_token_are_refused() {
    let app = TestApp::spawn().await;
    app.user("alice").await;
    // No token, no cookie: a cross-site POST.
    let mut attacker = WebClient::new(app.addr);
    let response = attacker
        .post(
            "/users/sign_in",
            &[("login", "alice"), ("password", "alice-password")],
        )
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert!(response.set_cookie("_wvs_session").is_none());

    // A token issued to another browser does not fit this browser's cookie.
    let mut other = WebClient::new(app.addr);
    let foreign = other
        .get("/users/sign_in")
        .await
        .hidden("authenticity_token");
    let mut browser = WebClient::new(app.addr);
    browser.get("/users/sign_in").await;
    let response = browser
        .post(
            "/users/sign_in",
            &[
                ("authenticity_token", foreign.as_str()),
                ("login", "alice"),
                ("password", "alice-password"),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert!(response.set_cookie("_wvs_session").is_none());
}

#[tokio::test]
async fn repeated_failures_cool_an_address_off_but_not_others() {
    let app = TestApp::spawn_with(|config| {
        config.sign_in_limits.max_failures = 3;
    })
    .await;
    app.user("alice").await;
    let mut attacker = WebClient::new(app.addr);
    for _ in 0..3 {
        let response = attacker.try_sign_in("alice", "guess", None).await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    // Cooling off: even the right password is not checked from this address.
    let response = attacker.try_sign_in("alice", "alice-password", None).await;
    assert_eq!(response.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers["retry-after"], "300");
    assert!(response.body.contains("Too many failed sign-in attempts"));
    assert!(response.set_cookie("_wvs_session").is_none());

    // Another address, and so alice herself elsewhere, is unaffected.
    let mut elsewhere = WebClient::from_address(app.addr, Some("127.0.0.2".parse().unwrap()));
    elsewhere.sign_in("alice", "alice-password").await;

    // After the cooling-off period, the first address may sign in again.
    app.clock
        .advance(Duration::minutes(5) + Duration::seconds(1));
    attacker.sign_in("alice", "alice-password").await;
}

#[tokio::test]
async fn parallel_guesses_from_one_address_are_limited_like_sequential_ones() {
    let app = TestApp::spawn_with(|config| {
        config.sign_in_limits.max_failures = 3;
    })
    .await;
    app.user("alice").await;
    // Every guess's form is loaded first, then all are sent at once.
    let mut forms = Vec::new();
    for _ in 0..24 {
        let mut browser = WebClient::new(app.addr);
        let csrf = browser
            .get("/users/sign_in")
            .await
            .hidden("authenticity_token");
        forms.push((browser, csrf));
    }
    let guesses = forms.iter_mut().enumerate().map(|(i, (browser, csrf))| {
        let password = format!("guess {i}");
        let csrf = csrf.clone();
        async move {
            browser
                .post(
                    "/users/sign_in",
                    &[
                        ("authenticity_token", csrf.as_str()),
                        ("login", "alice"),
                        ("password", password.as_str()),
                    ],
                )
                .await
                .status
        }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let checked = statuses
        .iter()
        .filter(|status| **status == StatusCode::UNPROCESSABLE_ENTITY)
        .count();
    let cooled = statuses
        .iter()
        .filter(|status| **status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(checked, 3, "{statuses:?}");
    assert_eq!(cooled, 21, "{statuses:?}");
}

#[tokio::test]
async fn a_cookie_planted_before_sign_in_is_worthless_after_it() {
    let app = TestApp::spawn().await;
    app.user("alice").await;
    let planted = "p".repeat(43);
    let mut browser = WebClient::new(app.addr);
    browser
        .cookies
        .insert("_wvs_session".into(), planted.clone());
    browser.sign_in("alice", "alice-password").await;
    assert_ne!(browser.cookies["_wvs_session"], planted);

    // Whoever planted it holds nothing.
    let mut attacker = WebClient::new(app.addr);
    attacker.cookies.insert("_wvs_session".into(), planted);
    assert_eq!(
        attacker.get(TOKENS_PAGE).await.status,
        StatusCode::SEE_OTHER
    );

    assert_eq!(browser.get(TOKENS_PAGE).await.status, StatusCode::OK);
}

#[tokio::test]
async fn sessions_expire_after_their_lifetime() {
    let app = TestApp::spawn_with(|config| {
        config.session_lifetime = Duration::hours(8);
    })
    .await;
    app.user("alice").await;
    let mut browser = WebClient::new(app.addr);
    browser.sign_in("alice", "alice-password").await;
    app.clock.advance(Duration::hours(8) - Duration::seconds(1));
    assert_eq!(browser.get(TOKENS_PAGE).await.status, StatusCode::OK);
    app.clock.advance(Duration::seconds(1));
    let page = browser.get(TOKENS_PAGE).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(
        page.location().starts_with("/users/sign_in?redirect_to="),
        "{}",
        page.location()
    );
    // A form posted with the expired session changes nothing and asks to sign in.
    let before = app.token_rows().await;
    let response = browser
        .post(
            TOKENS_PAGE,
            &[("name", "late"), ("scopes", "api"), ("expires_at", "")],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(app.token_rows().await, before);
}

#[tokio::test]
async fn signing_out_ends_the_session_and_needs_the_csrf_token() {
    let app = TestApp::spawn().await;
    app.user("alice").await;
    let mut browser = WebClient::new(app.addr);
    browser.sign_in("alice", "alice-password").await;
    let cookie = browser.cookies["_wvs_session"].clone();
    let page = browser.get(TOKENS_PAGE).await;
    let csrf = page.hidden("authenticity_token");

    // A cross-site sign-out (no token) is refused and the session lives on.
    let response = browser.post("/users/sign_out", &[]).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(browser.get(TOKENS_PAGE).await.status, StatusCode::OK);

    let response = browser
        .post("/users/sign_out", &[("authenticity_token", csrf.as_str())])
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.location(), "/users/sign_in");
    assert!(!browser.cookies.contains_key("_wvs_session"));
    // The old cookie, replayed, is dead on the server too.
    let mut replay = WebClient::new(app.addr);
    replay.cookies.insert("_wvs_session".into(), cookie);
    assert_eq!(replay.get(TOKENS_PAGE).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn blocked_users_lose_their_sessions_and_cannot_sign_in() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root").await;
    let alice = app.user("alice").await;
    let admin_token = app.token(&admin, &[Scope::Api]).await;
    let mut browser = WebClient::new(app.addr);
    browser.sign_in("alice", "alice-password").await;
    app.gql_ok(
        &admin_token,
        "mutation($id: ID!) { userBlock(id: $id) { user { state } } }",
        json!({ "id": alice.gid() }),
    )
    .await;
    assert_eq!(browser.get(TOKENS_PAGE).await.status, StatusCode::SEE_OTHER);
    let response = browser.try_sign_in("alice", "alice-password", None).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert!(response.body.contains("Your account is blocked"));
    assert!(response.set_cookie("_wvs_session").is_none());

    // Unblocking does not bring the old session back: it was ended, not hidden.
    app.gql_ok(
        &admin_token,
        "mutation($id: ID!) { userUnblock(id: $id) { user { state } } }",
        json!({ "id": alice.gid() }),
    )
    .await;
    assert_eq!(browser.get(TOKENS_PAGE).await.status, StatusCode::SEE_OTHER);
    assert!(app.web_sessions().await.is_empty());
    browser.sign_in("alice", "alice-password").await;
}

#[tokio::test]
async fn deleting_a_user_deletes_their_sessions() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root").await;
    let alice = app.user("alice").await;
    let admin_token = app.token(&admin, &[Scope::Api]).await;
    let mut browser = WebClient::new(app.addr);
    browser.sign_in("alice", "alice-password").await;
    let (csrf, nonce) = browser.create_form().await;
    browser
        .post(
            TOKENS_PAGE,
            &[
                ("authenticity_token", csrf.as_str()),
                ("form_nonce", nonce.as_str()),
                ("name", "laptop"),
                ("scopes", "read_api"),
                ("expires_at", ""),
            ],
        )
        .await;
    app.gql_ok(
        &admin_token,
        "mutation($id: ID!) { userDelete(id: $id) { id } }",
        json!({ "id": alice.gid() }),
    )
    .await;
    let sessions = app.web_sessions().await;
    assert!(sessions.is_empty());
    assert_eq!(browser.get(TOKENS_PAGE).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn signed_out_visitors_are_sent_to_sign_in_and_brought_back() {
    let app = TestApp::spawn().await;
    app.user("alice").await;
    let mut browser = WebClient::new(app.addr);
    let prefill = format!("{TOKENS_PAGE}?name=CI&scopes=api,read_user");
    let response = browser.get(&prefill).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let sign_in = response.location().to_owned();
    assert_eq!(
        sign_in,
        "/users/sign_in?redirect_to=%2F-%2Fuser_settings%2Fpersonal_access_tokens%3Fname%3DCI%26scopes%3Dapi%2Cread_user"
    );
    let form = browser.get(&sign_in).await;
    assert_eq!(
        input_value(&form.body, "redirect_to").as_deref(),
        Some(prefill.as_str())
    );
    let response = browser
        .try_sign_in("alice", "alice-password", Some(&prefill))
        .await;
    assert_eq!(response.location(), prefill);
    // Signed in, the sign-in page itself sends the browser on.
    let again = browser.get(&sign_in).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(again.location(), prefill);
    assert_eq!(
        browser.get("/").await.location(),
        "/-/user_settings/profile"
    );
}

#[tokio::test]
async fn sign_in_never_sends_a_browser_to_another_site() {
    let app = TestApp::spawn().await;
    app.user("alice").await;
    for target in [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "/ok\r\nSet-Cookie: x=1",
    ] {
        let mut browser = WebClient::new(app.addr);
        let response = browser
            .try_sign_in("alice", "alice-password", Some(target))
            .await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "{target}");
        assert_eq!(response.location(), "/-/user_settings/profile", "{target}");
    }
}

#[tokio::test]
async fn pages_carry_security_headers_and_are_never_cached() {
    let app = TestApp::spawn().await;
    app.user("alice").await;
    let mut browser = WebClient::new(app.addr);
    let sign_in = browser.get("/users/sign_in").await;
    browser.sign_in("alice", "alice-password").await;
    let tokens = browser.get(TOKENS_PAGE).await;
    for page in [&sign_in, &tokens] {
        let header = |name: &str| {
            page.headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let csp = header("content-security-policy");
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(csp.contains("form-action 'self'"), "{csp}");
        assert_eq!(header("x-frame-options"), "DENY");
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert_eq!(header("referrer-policy"), "no-referrer");
        assert_eq!(header("cache-control"), "no-store");
        assert_eq!(header("content-type"), "text/html; charset=utf-8");
    }
}
