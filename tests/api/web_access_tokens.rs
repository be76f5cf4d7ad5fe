//! The Access Tokens page over plain HTTP: the token shown once (never on reload or
//! resubmission), the same rules and messages as GraphQL shown next to the field, the
//! prefill link, CSRF on create and revoke, Last used, Expires, and escaping.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::json;
use wvs::tokens::scope::Scope;

use crate::{
    harness::{TestApp, day},
    web_client::{WebClient, WebResponse, input_value},
};

const TOKENS_PAGE: &str = "/-/user_settings/personal_access_tokens";

/// A browser signed in as `username` (whose password the harness set).
async fn signed_in(app: &TestApp, username: &str) -> WebClient {
    let mut browser = WebClient::new(app.addr);
    browser
        .sign_in(username, &format!("{username}-password"))
        .await;
    browser
}

/// Submits the create form with `fields` as a browser would (CSRF token and a fresh nonce).
async fn submit(browser: &mut WebClient, fields: &[(&str, &str)]) -> WebResponse {
    let (csrf, nonce) = browser.create_form().await;
    let mut all = vec![
        ("authenticity_token", csrf.as_str()),
        ("form_nonce", nonce.as_str()),
    ];
    all.extend_from_slice(fields);
    browser.post(TOKENS_PAGE, &all).await
}

/// The new token shown on a page, if any.
fn shown_token(page: &WebResponse) -> Option<String> {
    let start = page.body.find(r#"id="created-token""#)?;
    let tag = &page.body[start..start + page.body[start..].find('>')?];
    let value = tag.split(r#"value=""#).nth(1)?;
    Some(value[..value.find('"')?].to_owned())
}

/// Whether the checkbox of `scope` is ticked on the page.
fn checked(page: &WebResponse, scope: &str) -> bool {
    let marker = format!(r#"id="scope-{scope}""#);
    let Some(start) = page.body.find(&marker) else {
        return false;
    };
    let tag = &page.body[start..start + page.body[start..].find('>').unwrap_or(0)];
    tag.contains(" checked")
}

#[tokio::test]
async fn a_created_token_is_shown_once_and_works() {
    let app = TestApp::spawn().await;
    app.user("alice").await;
    let mut browser = signed_in(&app, "alice").await;
    let (csrf, nonce) = browser.create_form().await;
    let fields = [
        ("authenticity_token", csrf.as_str()),
        ("form_nonce", nonce.as_str()),
        ("name", "CI"),
        ("description", "deploys"),
        ("expires_at", "2027-02-14"),
        ("scopes", "read_api"),
        ("scopes", "read_user"),
    ];
    let created = browser.post(TOKENS_PAGE, &fields).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    assert!(created.body.contains("won't be able to see it again"));
    let token = shown_token(&created).expect("token on the page");
    assert!(token.starts_with("wvspat-") && token.len() == 45, "{token}");

    let data = app
        .gql_ok(
            &token,
            "{ currentToken { name description scopes expiresAt } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["currentToken"],
        json!({ "name": "CI", "description": "deploys", "scopes": ["READ_API", "READ_USER"], "expiresAt": "2027-02-14" })
    );

    // Reloading the page shows the token in the list, never its secret.
    let reloaded = browser.get(TOKENS_PAGE).await;
    assert!(reloaded.body.contains(">CI<"), "{}", reloaded.body);
    assert!(shown_token(&reloaded).is_none());
    assert!(!reloaded.body.contains(&token[7..]));

    // Sending the same form again (the browser's "resubmit") creates nothing, shows nothing.
    // (The use above wrote its last-used time in the background: settle it first.)
    app.flush_last_used().await;
    let rows = app.token_rows().await;
    let again = browser.post(TOKENS_PAGE, &fields).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let notice = browser.get(again.location()).await;
    assert!(notice.body.contains("already submitted"), "{}", notice.body);
    assert!(!notice.body.contains(&token[7..]));
    assert_eq!(app.token_rows().await, rows);
    assert_eq!(rows.len(), 1);
}

#[tokio::test]
async fn the_form_proposes_an_expiry_in_30_days_and_never_a_past_date() {
    let app = TestApp::spawn().await;
    app.user("alice").await;
    let mut browser = signed_in(&app, "alice").await;
    let page = browser.get(TOKENS_PAGE).await;
    // The clock says 2027-01-15.
    assert_eq!(
        input_value(&page.body, "expires_at").as_deref(),
        Some("2027-02-14")
    );
    assert!(page.body.contains(r#"min="2027-01-16""#), "{}", page.body);
    // Scopes come with their descriptions; sudo is for administrators only.
    for scope in Scope::ALL {
        let shown = page
            .body
            .contains(&format!(r#"id="scope-{}""#, scope.as_str()));
        assert_eq!(shown, !scope.admin_only(), "{scope:?}");
        if shown {
            assert!(page.body.contains(scope.description()), "{scope:?}");
        }
    }
    app.admin("root").await;
    let mut root = signed_in(&app, "root").await;
    assert!(
        root.get(TOKENS_PAGE)
            .await
            .body
            .contains(r#"id="scope-sudo""#)
    );

    // With a maximum lifetime the proposal and the picker stay inside it.
    app.set_policy(
        &app.admin("policy").await,
        wvs::settings::SettingsUpdate {
            token_max_lifetime_days: Some(Some(10)),
            ..Default::default()
        },
    )
    .await;
    let page = browser.get(TOKENS_PAGE).await;
    assert_eq!(
        input_value(&page.body, "expires_at").as_deref(),
        Some("2027-01-25")
    );
    assert!(page.body.contains(r#"max="2027-01-25""#), "{}", page.body);
}

#[tokio::test]
async fn refusals_are_the_api_s_own_shown_next_to_the_field_and_change_nothing() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let api = app.token(&alice, &[Scope::Api]).await;
    let mut browser = signed_in(&app, "alice").await;
    let long_name = "n".repeat(256);
    let long_description = "d".repeat(1001);
    // (form fields, GraphQL input, field id on the page)
    let cases = [
        (
            vec![("name", "  "), ("scopes", "api"), ("expires_at", "")],
            json!({ "name": "  ", "scopes": ["API"] }),
            "token-name",
        ),
        (
            vec![
                ("name", long_name.as_str()),
                ("scopes", "api"),
                ("expires_at", ""),
            ],
            json!({ "name": long_name, "scopes": ["API"] }),
            "token-name",
        ),
        (
            vec![
                ("name", "a\u{202E}b"),
                ("scopes", "api"),
                ("expires_at", ""),
            ],
            json!({ "name": "a\u{202E}b", "scopes": ["API"] }),
            "token-name",
        ),
        (
            vec![
                ("name", "x"),
                ("description", long_description.as_str()),
                ("scopes", "api"),
                ("expires_at", ""),
            ],
            json!({ "name": "x", "description": long_description, "scopes": ["API"] }),
            "token-description",
        ),
        (
            vec![
                ("name", "x"),
                ("scopes", "api"),
                ("expires_at", "2027-01-15"),
            ],
            json!({ "name": "x", "scopes": ["API"], "expiresAt": "2027-01-15" }),
            "token-expires-at",
        ),
        (
            vec![
                ("name", "x"),
                ("scopes", "api"),
                ("expires_at", "2020-01-01"),
            ],
            json!({ "name": "x", "scopes": ["API"], "expiresAt": "2020-01-01" }),
            "token-expires-at",
        ),
        (
            vec![("name", "x"), ("expires_at", "")],
            json!({ "name": "x", "scopes": [] }),
            "token-scopes",
        ),
    ];
    for (fields, input, field) in cases {
        let (_, api_answer) = app
            .gql(
                Some(&api),
                "mutation($input: PersonalAccessTokenCreateInput!) { personalAccessTokenCreate(input: $input) { token } }",
                json!({ "input": input }),
            )
            .await;
        let api_message = api_answer["errors"][0]["message"]
            .as_str()
            .expect("an error")
            .split_once(": ")
            .expect("field: message")
            .1
            .to_owned();
        let before = app.token_state().await;
        let page = submit(&mut browser, &fields).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        let marker = format!(r#"data-testid="{field}-error">"#);
        let at = page
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no error at {field}: {}", page.body));
        let shown = &page.body[at + marker.len()..];
        let shown = &shown[..shown.find("</p>").unwrap_or(0)];
        assert_eq!(shown, wvs::web::html::escape(&api_message), "{fields:?}");
        assert!(shown_token(&page).is_none());
        assert_eq!(app.token_state().await, before, "{fields:?}");
    }
}

#[tokio::test]
async fn what_the_form_cannot_read_is_refused_at_its_field() {
    let app = TestApp::spawn().await;
    app.user("alice").await;
    let mut browser = signed_in(&app, "alice").await;
    let cases = [
        (
            vec![("name", "x"), ("scopes", "root"), ("expires_at", "")],
            "token-scopes",
            "unknown scope",
        ),
        (
            vec![("name", "x"), ("scopes", "sudo"), ("expires_at", "")],
            "token-scopes",
            "sudo is only available to administrators",
        ),
        (
            vec![
                ("name", "x"),
                ("scopes", "api"),
                ("expires_at", "31/01/2027"),
            ],
            "token-expires-at",
            "is not a valid date",
        ),
        (
            vec![
                ("name", "x"),
                ("scopes", "api"),
                ("expires_at", "2027-02-30"),
            ],
            "token-expires-at",
            "is not a valid date",
        ),
    ];
    for (fields, field, message) in cases {
        let page = submit(&mut browser, &fields).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        let marker = format!(r#"data-testid="{field}-error""#);
        let at = page
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("{}", page.body));
        assert!(
            page.body[at..].contains(message),
            "{fields:?}: {}",
            page.body
        );
        // The values typed are kept for correction.
        assert!(page.body.contains(r#"value="x""#));
    }
    assert!(app.token_rows().await.is_empty());
}

#[tokio::test]
async fn a_prefill_link_fills_the_form_and_creates_nothing() {
    let app = TestApp::spawn().await;
    app.user("alice").await;
    let mut browser = signed_in(&app, "alice").await;
    let page = browser
        .get(&format!(
            "{TOKENS_PAGE}?name=CI%20deploy&scopes=api,read_user,bogus,sudo,api&description=For%20%3Cb%3Ereleases%3C%2Fb%3E"
        ))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        input_value(&page.body, "name").as_deref(),
        Some("CI deploy")
    );
    assert!(
        page.body
            .contains(">For &lt;b&gt;releases&lt;/b&gt;</textarea>"),
        "{}",
        page.body
    );
    assert!(checked(&page, "api") && checked(&page, "read_user"));
    for scope in [
        "read_api",
        "read_repository",
        "write_repository",
        "read_registry",
    ] {
        assert!(!checked(&page, scope), "{scope}");
    }
    assert!(page.body.contains("ignores"), "{}", page.body);
    assert!(page.body.contains("“bogus” (unknown)"), "{}", page.body);
    assert!(page.body.contains("sudo (administrators only)"));
    assert!(!page.body.contains(r#"id="scope-sudo""#));
    assert!(app.token_rows().await.is_empty());

    // An administrator gets sudo ticked, and a clean link gets no notice.
    app.admin("root").await;
    let mut root = signed_in(&app, "root").await;
    let page = root
        .get(&format!("{TOKENS_PAGE}?name=CI&scopes=api,sudo"))
        .await;
    assert!(checked(&page, "sudo") && checked(&page, "api"));
    assert!(!page.body.contains("ignores"));
    assert!(app.token_rows().await.is_empty());
}

#[tokio::test]
async fn forms_without_the_session_s_csrf_token_change_nothing() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    app.user("mallory").await;
    let existing = app.token(&alice, &[Scope::Api]).await;
    let mut browser = signed_in(&app, "alice").await;
    let (_, nonce) = browser.create_form().await;
    let mut mallory = signed_in(&app, "mallory").await;
    let (mallory_csrf, _) = mallory.create_form().await;
    let rows = app.token_rows().await;
    let id = rows[0].id.to_string();
    for csrf in [None, Some(""), Some(mallory_csrf.as_str()), Some("x")] {
        let mut fields = vec![
            ("form_nonce", nonce.as_str()),
            ("name", "forged"),
            ("scopes", "api"),
            ("expires_at", ""),
        ];
        if let Some(csrf) = csrf {
            fields.push(("authenticity_token", csrf));
        }
        let response = browser.post(TOKENS_PAGE, &fields).await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{csrf:?}");
        let response = browser
            .post(
                &format!("{TOKENS_PAGE}/{id}/revoke"),
                &fields[fields.len() - 1..],
            )
            .await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{csrf:?}");
        assert_eq!(app.token_rows().await, rows);
    }
    app.gql_ok(&existing, "{ currentUser { username } }", json!({}))
        .await;
}

#[tokio::test]
async fn revoking_from_the_page_stops_the_token_at_once() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let token = app.token(&alice, &[Scope::ReadApi]).await;
    let mut browser = signed_in(&app, "alice").await;
    let (csrf, _) = browser.create_form().await;
    let id = app.token_rows().await[0].id;
    let response = browser
        .post(
            &format!("{TOKENS_PAGE}/{id}/revoke"),
            &[("authenticity_token", csrf.as_str())],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let page = browser.get(response.location()).await;
    assert!(
        page.body
            .contains("Revoked the personal access token “test token”."),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("You have no active personal access tokens.")
    );
    assert!(page.body.contains("Revoked 2027-01-15"));
    let (status, _) = app
        .gql(Some(&token), "{ currentUser { username } }", json!({}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn nobody_revokes_another_users_token_from_the_page() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    app.user("mallory").await;
    let token = app.token(&alice, &[Scope::ReadApi]).await;
    let id = app.token_rows().await[0].id.to_string();
    let mut mallory = signed_in(&app, "mallory").await;
    let (csrf, _) = mallory.create_form().await;
    let rows = app.token_rows().await;
    for target in [id.as_str(), "999999", "abc", "-1", "1e3"] {
        let response = mallory
            .post(
                &format!("{TOKENS_PAGE}/{target}/revoke"),
                &[("authenticity_token", csrf.as_str())],
            )
            .await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{target}");
        assert!(response.body.contains("not found"), "{}", response.body);
    }
    assert_eq!(app.token_rows().await, rows);
    app.gql_ok(&token, "{ currentUser { username } }", json!({}))
        .await;
    // Mallory's page lists none of alice's tokens.
    let page = mallory.get(TOKENS_PAGE).await;
    assert!(!page.body.contains("test token"));
}

#[tokio::test]
async fn last_used_and_expires_read_as_people_expect() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let used = app
        .token_with(&alice, "used", &[Scope::ReadApi], Some(day("2027-01-16")))
        .await;
    app.token_with(&alice, "month", &[Scope::ReadApi], Some(day("2027-02-14")))
        .await;
    app.token_with(&alice, "forever", &[Scope::ReadApi], None)
        .await;
    let rows = app.token_rows().await;
    let mut browser = signed_in(&app, "alice").await;
    let page = browser.get(TOKENS_PAGE).await;
    let cell = |page: &WebResponse, id: i64| {
        let marker = format!(r#"data-testid="last-used-{id}">"#);
        let at = page.body.find(&marker).expect("cell") + marker.len();
        page.body[at..at + page.body[at..].find("</td>").expect("end")].to_owned()
    };
    assert_eq!(cell(&page, rows[0].id), "Never");
    assert!(
        page.body.contains("2027-01-16</time> (in 1 day)"),
        "{}",
        page.body
    );
    assert!(page.body.contains("2027-02-14</time> (in 30 days)"));
    assert!(
        page.body.contains(r#"<td>Never</td><td class="actions">"#),
        "{}",
        page.body
    );

    app.clock.advance(Duration::minutes(5));
    app.gql_ok(&used, "{ currentUser { username } }", json!({}))
        .await;
    app.flush_last_used().await;
    let page = browser.get(TOKENS_PAGE).await;
    assert!(
        cell(&page, rows[0].id).contains("2027-01-15 12:05 UTC"),
        "{}",
        cell(&page, rows[0].id)
    );

    // At 00:00 UTC of its date the token has expired: it leaves the active list.
    app.clock.set(
        chrono::DateTime::parse_from_rfc3339("2027-01-16T00:00:00Z")
            .unwrap()
            .to_utc(),
    );
    let page = browser.get(TOKENS_PAGE).await;
    assert!(page.body.contains("Expired 2027-01-16"), "{}", page.body);
    assert!(page.body.contains("(in 29 days)"));
}

#[tokio::test]
async fn markup_in_names_and_descriptions_is_shown_as_text() {
    let app = TestApp::spawn().await;
    app.user("alice").await;
    let mut browser = signed_in(&app, "alice").await;
    let name = r#"<script>alert("x")</script>' OR 1=1 --"#;
    let description = "<img src=x onerror=alert(1)> & \"quotes\"";
    let page = submit(
        &mut browser,
        &[
            ("name", name),
            ("description", description),
            ("scopes", "read_api"),
            ("expires_at", ""),
        ],
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let listed = browser.get(TOKENS_PAGE).await;
    for body in [&page.body, &listed.body] {
        assert!(!body.contains("<script>alert"), "{body}");
        assert!(!body.contains("<img src=x"), "{body}");
        assert!(body.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; OR 1=1 --"));
        assert!(body.contains("&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quotes&quot;"));
    }
    // Stored as typed.
    let rows = app.token_rows().await;
    assert_eq!(rows[0].name, name);
    assert_eq!(rows[0].description.as_deref(), Some(description));
}

#[tokio::test]
async fn while_tokens_are_disabled_the_page_says_so_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root").await;
    app.user("alice").await;
    let mut browser = signed_in(&app, "alice").await;
    let (csrf, nonce) = browser.create_form().await;
    app.set_policy(
        &admin,
        wvs::settings::SettingsUpdate {
            personal_access_tokens_disabled: Some(true),
            ..Default::default()
        },
    )
    .await;
    let page = browser.get(TOKENS_PAGE).await;
    assert!(
        page.body
            .contains("Personal access tokens are disabled on this instance.")
    );
    assert!(!page.body.contains(r#"data-testid="create-form""#));
    let response = browser
        .post(
            TOKENS_PAGE,
            &[
                ("authenticity_token", csrf.as_str()),
                ("form_nonce", nonce.as_str()),
                ("name", "x"),
                ("scopes", "api"),
                ("expires_at", ""),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .body
            .contains("Personal access tokens are disabled")
    );
    assert!(app.token_rows().await.is_empty());
}

#[tokio::test]
async fn the_page_lists_only_the_users_own_personal_tokens() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root").await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.token_with(&alice, "alice-own", &[Scope::Api], None)
        .await;
    app.token_with(&bob, "bob-own", &[Scope::Api], None).await;
    let admin_token = app.token(&admin, &[Scope::Api]).await;
    app.gql_ok(
        &admin_token,
        "mutation($user: ID!) { impersonationTokenCreate(userId: $user, input: {name: \"support-session\", scopes: [READ_API]}) { token } }",
        json!({ "user": alice.gid() }),
    )
    .await;
    let mut browser = signed_in(&app, "alice").await;
    let page = browser.get(TOKENS_PAGE).await;
    assert!(page.body.contains("alice-own"));
    assert!(!page.body.contains("bob-own"));
    assert!(!page.body.contains("support-session"));
    assert!(
        page.body.contains(r#"data-testid="active-count">1<"#),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn a_token_made_on_the_page_is_audited_and_announced_by_email() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root").await;
    app.user("alice").await;
    let admin_token = app.token(&admin, &[Scope::Api]).await;
    let mut browser = signed_in(&app, "alice").await;
    submit(
        &mut browser,
        &[
            ("name", "from the page"),
            ("scopes", "read_api"),
            ("expires_at", ""),
        ],
    )
    .await;
    let data = app
        .gql_ok(
            &admin_token,
            "{ auditEvents(first: 5) { nodes { action actorUsername targetUsername ip } } }",
            json!({}),
        )
        .await;
    let event = &data["auditEvents"]["nodes"][0];
    assert_eq!(event["action"], "TOKEN_CREATED");
    assert_eq!(event["actorUsername"], "alice");
    assert_eq!(event["ip"], "127.0.0.1");
    let queued = app.outbox().await;
    assert!(
        queued
            .iter()
            .any(|mail| mail.subject.contains("from the page")),
        "{queued:?}"
    );
}

/// The rotate form of token `id` on the page: (CSRF token, nonce).
async fn rotate_form(browser: &mut WebClient, id: i64) -> (String, String) {
    let page = browser.get(TOKENS_PAGE).await;
    let action = format!(r#"action="{TOKENS_PAGE}/{id}/rotate""#);
    let at = page
        .body
        .find(&action)
        .unwrap_or_else(|| panic!("{}", page.body));
    let form = &page.body[at..at + page.body[at..].find("</form>").expect("form end")];
    (
        input_value(form, "authenticity_token").expect("csrf"),
        input_value(form, "form_nonce").expect("nonce"),
    )
}

#[tokio::test]
async fn rotating_from_the_page_shows_the_successor_once_and_stops_the_old_token() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let old = app
        .token_with(
            &alice,
            "deploy",
            &[Scope::ReadApi, Scope::ReadUser],
            Some(day("2027-01-25")),
        )
        .await;
    let id = app.token_rows().await[0].id;
    let mut browser = signed_in(&app, "alice").await;
    let (csrf, nonce) = rotate_form(&mut browser, id).await;
    let fields = [
        ("authenticity_token", csrf.as_str()),
        ("form_nonce", nonce.as_str()),
    ];
    let path = format!("{TOKENS_PAGE}/{id}/rotate");
    let page = browser.post(&path, &fields).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains("Rotated the personal access token “deploy”")
    );
    let new = shown_token(&page).expect("the successor");
    let (status, _) = app
        .gql(Some(&old), "{ currentUser { username } }", json!({}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let data = app
        .gql_ok(
            &new,
            "{ currentToken { name scopes expiresAt } }",
            json!({}),
        )
        .await;
    // Same name and scopes, the same ten-day lifetime counted from today.
    assert_eq!(
        data["currentToken"],
        json!({ "name": "deploy", "scopes": ["READ_API", "READ_USER"], "expiresAt": "2027-01-25" })
    );

    // Reloading the result re-sends the form: nothing happens, the successor lives on and
    // its secret is not shown again.
    let rows = app.token_state().await;
    let again = browser.post(&path, &fields).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert!(again.location().contains("resubmitted"));
    assert_eq!(app.token_state().await, rows);
    app.gql_ok(&new, "{ currentUser { username } }", json!({}))
        .await;
    let reloaded = browser.get(again.location()).await;
    assert!(!reloaded.body.contains(&new[7..]));
}

#[tokio::test]
async fn a_stale_page_cannot_rotate_a_revoked_token_nor_revoke_its_successor() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let api = app.token_with(&alice, "deploy", &[Scope::Api], None).await;
    let id = app.token_rows().await[0].id;
    let mut browser = signed_in(&app, "alice").await;
    let (csrf, nonce) = rotate_form(&mut browser, id).await;
    // Rotated elsewhere (through the API) while the page was open.
    let data = app
        .gql_ok(
            &api,
            "mutation($id: ID!) { personalAccessTokenRotate(id: $id) { token } }",
            json!({ "id": format!("gid://wvs/PersonalAccessToken/{id}") }),
        )
        .await;
    let successor = data["personalAccessTokenRotate"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let rows = app.token_state().await;
    let page = browser
        .post(
            &format!("{TOKENS_PAGE}/{id}/rotate"),
            &[
                ("authenticity_token", csrf.as_str()),
                ("form_nonce", nonce.as_str()),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert!(
        page.body
            .contains("was already revoked, so it cannot be rotated")
    );
    assert!(shown_token(&page).is_none());
    assert_eq!(app.token_state().await, rows);
    app.gql_ok(&successor, "{ currentUser { username } }", json!({}))
        .await;
}

#[tokio::test]
async fn rotation_needs_the_csrf_token_and_ones_own_token() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    app.user("mallory").await;
    let token = app.token(&alice, &[Scope::Api]).await;
    let id = app.token_rows().await[0].id;
    let mut browser = signed_in(&app, "alice").await;
    let (_, nonce) = rotate_form(&mut browser, id).await;
    let rows = app.token_rows().await;
    let path = format!("{TOKENS_PAGE}/{id}/rotate");
    let response = browser.post(&path, &[("form_nonce", nonce.as_str())]).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);

    let mut mallory = signed_in(&app, "mallory").await;
    let (csrf, _) = mallory.create_form().await;
    let response = mallory
        .post(
            &path,
            &[
                ("authenticity_token", csrf.as_str()),
                ("form_nonce", nonce.as_str()),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(app.token_rows().await, rows);
    app.gql_ok(&token, "{ currentUser { username } }", json!({}))
        .await;
}

#[tokio::test]
async fn two_tabs_rotating_at_once_leave_exactly_one_working_successor() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    app.token_with(&alice, "deploy", &[Scope::ReadApi], None)
        .await;
    let id = app.token_rows().await[0].id;
    let mut first = signed_in(&app, "alice").await;
    let mut second = signed_in(&app, "alice").await;
    let (csrf_a, nonce_a) = rotate_form(&mut first, id).await;
    let (csrf_b, nonce_b) = rotate_form(&mut second, id).await;
    let path = format!("{TOKENS_PAGE}/{id}/rotate");
    let fields_a = [
        ("authenticity_token", csrf_a.as_str()),
        ("form_nonce", nonce_a.as_str()),
    ];
    let fields_b = [
        ("authenticity_token", csrf_b.as_str()),
        ("form_nonce", nonce_b.as_str()),
    ];
    let (a, b) = tokio::join!(first.post(&path, &fields_a), second.post(&path, &fields_b));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
    let winner = if a.status == StatusCode::OK { &a } else { &b };
    let successor = shown_token(winner).expect("the successor");
    app.gql_ok(&successor, "{ currentUser { username } }", json!({}))
        .await;
    let rows = app.token_rows().await;
    assert_eq!(
        rows.iter().filter(|row| row.revoked_at.is_none()).count(),
        1
    );
}

#[tokio::test]
async fn the_page_manages_only_the_viewers_own_tokens_even_for_administrators() {
    let app = TestApp::spawn().await;
    app.admin("root").await;
    let bob = app.user("bob").await;
    let token = app.token(&bob, &[Scope::ReadApi]).await;
    let id = app.token_rows().await[0].id;
    let mut root = signed_in(&app, "root").await;
    let (csrf, nonce) = root.create_form().await;
    let rows = app.token_rows().await;
    for action in ["revoke", "rotate"] {
        let response = root
            .post(
                &format!("{TOKENS_PAGE}/{id}/{action}"),
                &[
                    ("authenticity_token", csrf.as_str()),
                    ("form_nonce", nonce.as_str()),
                ],
            )
            .await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{action}");
    }
    assert_eq!(app.token_rows().await, rows);
    app.gql_ok(&token, "{ currentUser { username } }", json!({}))
        .await;
}
