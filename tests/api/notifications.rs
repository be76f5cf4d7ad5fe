//! Expiry notifications and lifecycle emails over real SMTP: the schedule follows the
//! injected clock across 00:00, 01:00 and 02:00 UTC; each token is announced once; revoked,
//! impersonation and blocked users' tokens get nothing; a mail server that is down loses
//! nothing; two schedulers on one database send once; a missed run happens at start.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use serde_json::json;
use wvs::{
    jobs::{Job, expiry, scheduler},
    mail::outbox::deliver_due,
    tokens::scope::Scope,
};

use crate::{
    harness::{TestApp, day},
    smtp::SmtpServer,
};

fn at(date: &str, time: &str) -> DateTime<Utc> {
    day(date)
        .and_time(time.parse::<NaiveTime>().expect("time"))
        .and_utc()
}

async fn app_with_smtp(smtp: &SmtpServer) -> TestApp {
    let url = smtp.url();
    TestApp::spawn_with(move |config| config.mail.smtp_url = Some(url)).await
}

/// Sends whatever is queued and forgets it, so a test starts from a clean inbox.
async fn drain(app: &TestApp, smtp: &SmtpServer) {
    deliver_due(&app.state).await.expect("deliver");
    smtp.clear();
}

#[tokio::test]
async fn the_schedule_announces_each_token_once_at_the_right_hour() {
    let smtp = SmtpServer::start().await;
    let app = app_with_smtp(&smtp).await;
    // The runs due today (2027-01-15) happen before any token exists.
    scheduler::tick(&app.state).await.expect("tick");
    let root = app.admin("root").await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let admin = app.token(&root, &[Scope::Api]).await;
    app.token_with(
        &alice,
        "expires-16th",
        &[Scope::Api],
        Some(day("2027-01-16")),
    )
    .await;
    app.token_with(
        &alice,
        "in-7-days",
        &[Scope::ReadApi, Scope::ReadUser],
        Some(day("2027-01-23")),
    )
    .await;
    app.token_with(&alice, "in-8-days", &[Scope::Api], Some(day("2027-01-24")))
        .await;
    let revoked = app
        .token_with(&alice, "revoked", &[Scope::Api], Some(day("2027-01-20")))
        .await;
    let revoked_id = app
        .gql_ok(&revoked, "{ currentToken { id } }", json!({}))
        .await["currentToken"]["id"]
        .clone();
    app.gql_ok(
        &admin,
        "mutation($id: ID!) { personalAccessTokenRevoke(id: $id) { personalAccessToken { id } } }",
        json!({ "id": revoked_id }),
    )
    .await;
    app.gql_ok(
        &admin,
        "mutation($u: ID!) { impersonationTokenCreate(userId: $u, input: { name: \"imp\", scopes: [API], expiresAt: \"2027-01-20\" }) { token } }",
        json!({ "u": alice.gid() }),
    )
    .await;
    app.token_with(&bob, "bob's", &[Scope::Api], Some(day("2027-01-20")))
        .await;
    app.gql_ok(
        &admin,
        "mutation($id: ID!) { userBlock(id: $id) { user { id } } }",
        json!({ "id": bob.gid() }),
    )
    .await;
    drain(&app, &smtp).await;

    // 00:30: nothing is due yet.
    app.clock.set(at("2027-01-16", "00:30"));
    assert!(scheduler::tick(&app.state).await.expect("tick").is_empty());
    // 01:00: the expiring check, for alice only, listing only the token 7 days out.
    app.clock.set(at("2027-01-16", "01:00"));
    let runs = scheduler::tick(&app.state).await.expect("tick");
    assert_eq!(runs.len(), 1);
    assert_eq!((runs[0].job, runs[0].notified), (Job::ExpiringTokens, 1));
    deliver_due(&app.state).await.expect("deliver");
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let expiring = &messages[0];
    assert_eq!(expiring.to, ["alice@example.com"]);
    assert!(
        expiring.subject().contains("in-7-days"),
        "{}",
        expiring.subject()
    );
    let body = expiring.body();
    assert!(
        body.contains("in-7-days") && !body.contains("in-8-days") && !body.contains("expires-16th")
    );
    let page = app.url("/-/user_settings/personal_access_tokens");
    assert!(
        body.contains(&format!(
            "{page}?name=in-7-days&scopes=read_api%2Cread_user"
        )),
        "{body}"
    );
    assert!(expiring.data.contains("text/html") && expiring.data.contains("text/plain"));
    smtp.clear();

    // 02:00: the expired check lists the token that expired at 00:00 today.
    app.clock.set(at("2027-01-16", "02:00"));
    let runs = scheduler::tick(&app.state).await.expect("tick");
    assert_eq!(runs.len(), 1);
    assert_eq!((runs[0].job, runs[0].notified), (Job::ExpiredTokens, 1));
    deliver_due(&app.state).await.expect("deliver");
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].subject().contains("expires-16th") && messages[0].subject().contains("expired")
    );
    smtp.clear();

    // Nothing twice: later ticks, and the same runs by hand.
    app.clock.set(at("2027-01-16", "23:59"));
    assert!(scheduler::tick(&app.state).await.expect("tick").is_empty());
    for job in Job::ALL {
        assert_eq!(
            expiry::run(&app.state, job, day("2027-01-16"))
                .await
                .expect("run"),
            0
        );
    }
    // The next day, the token 8 days out enters the window and is announced once.
    app.clock.set(at("2027-01-17", "01:00"));
    let runs = scheduler::tick(&app.state).await.expect("tick");
    assert_eq!(runs[0].notified, 1);
    deliver_due(&app.state).await.expect("deliver");
    assert_eq!(smtp.messages().len(), 1);
    assert!(smtp.messages()[0].subject().contains("in-8-days"));
}

#[tokio::test]
async fn a_mail_server_down_at_first_still_gets_the_mail_once() {
    let smtp = SmtpServer::start().await;
    let app = app_with_smtp(&smtp).await;
    let alice = app.user("alice").await;
    smtp.set_accepting(false);
    app.token(&alice, &[Scope::Api]).await;
    let first = deliver_due(&app.state).await.expect("deliver");
    assert_eq!((first.sent, first.failed), (0, 1));
    smtp.set_accepting(true);
    // Not before the backoff has passed…
    assert_eq!(deliver_due(&app.state).await.expect("deliver").sent, 0);
    app.clock.advance(Duration::seconds(30));
    let second = deliver_due(&app.state).await.expect("deliver");
    assert_eq!((second.sent, second.failed), (1, 0));
    assert_eq!(deliver_due(&app.state).await.expect("deliver").sent, 0);
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1);
    assert!(messages[0].subject().contains("test token"));
}

#[tokio::test]
async fn lifecycle_emails_reach_the_owner_and_never_a_blocked_user() {
    let smtp = SmtpServer::start().await;
    let app = app_with_smtp(&smtp).await;
    let root = app.admin("root").await;
    let alice = app.user("alice").await;
    let admin = app.token(&root, &[Scope::Api]).await;
    let alice_token = app.token(&alice, &[Scope::Api]).await;
    drain(&app, &smtp).await;

    let created = app
        .gql_ok(&alice_token, "mutation { personalAccessTokenCreate(input: { name: \"<b>ci</b>\", scopes: [READ_API] }) { personalAccessToken { id } } }", json!({}))
        .await;
    let id = created["personalAccessTokenCreate"]["personalAccessToken"]["id"].clone();
    let rotated = app
        .gql_ok(&alice_token, "mutation($id: ID!) { personalAccessTokenRotate(id: $id) { personalAccessToken { id } } }", json!({ "id": id }))
        .await;
    let new_id = rotated["personalAccessTokenRotate"]["personalAccessToken"]["id"].clone();
    app.gql_ok(
        &alice_token,
        "mutation($id: ID!) { personalAccessTokenRevoke(id: $id) { personalAccessToken { id } } }",
        json!({ "id": new_id }),
    )
    .await;
    app.gql_ok(
        &admin,
        "mutation($u: ID!) { impersonationTokenCreate(userId: $u, input: { name: \"support\", scopes: [READ_API] }) { token } }",
        json!({ "u": alice.gid() }),
    )
    .await;
    deliver_due(&app.state).await.expect("deliver");
    let messages = smtp.messages();
    let subjects: Vec<String> = messages.iter().map(|message| message.subject()).collect();
    assert_eq!(subjects.len(), 4, "{subjects:?}");
    assert!(
        messages
            .iter()
            .all(|message| message.to == ["alice@example.com"])
    );
    assert!(subjects[0].contains("created"));
    assert!(subjects[1].contains("rotated"));
    assert!(subjects[2].contains("revoked"));
    assert!(subjects[3].contains("administrator"));
    let html = messages[0].html();
    assert!(
        html.contains("&lt;b&gt;ci&lt;/b&gt;") && !html.contains("<b>ci</b>"),
        "{html}"
    );
    for message in &messages {
        let body = message.body();
        assert!(
            body.contains(&app.url("/-/user_settings/personal_access_tokens")),
            "{body}"
        );
        assert!(!body.contains("wvspat-"), "a token in an email");
    }
    smtp.clear();

    // Blocked: nothing queued for them.
    app.gql_ok(
        &admin,
        "mutation($id: ID!) { userBlock(id: $id) { user { id } } }",
        json!({ "id": alice.gid() }),
    )
    .await;
    let listed = app
        .gql_ok(
            &admin,
            "query($u: ID) { personalAccessTokens(userId: $u, state: ALL) { nodes { id } } }",
            json!({ "u": alice.gid() }),
        )
        .await;
    let any = listed["personalAccessTokens"]["nodes"][0]["id"].clone();
    app.gql_ok(
        &admin,
        "mutation($id: ID!) { personalAccessTokenRevoke(id: $id) { personalAccessToken { id } } }",
        json!({ "id": any }),
    )
    .await;
    deliver_due(&app.state).await.expect("deliver");
    assert!(smtp.messages().is_empty());
}

#[tokio::test]
async fn two_schedulers_on_one_database_run_each_job_once() {
    let smtp = SmtpServer::start().await;
    let first = app_with_smtp(&smtp).await;
    let url = smtp.url();
    let second = first
        .spawn_sharing(move |config| config.mail.smtp_url = Some(url))
        .await;
    scheduler::tick(&first.state).await.expect("tick");
    let alice = first.user("alice").await;
    let bob = first.user("bob").await;
    first
        .token_with(&alice, "a", &[Scope::Api], Some(day("2027-01-20")))
        .await;
    first
        .token_with(&bob, "b", &[Scope::Api], Some(day("2027-01-21")))
        .await;
    drain(&first, &smtp).await;
    for app in [&first, &second] {
        app.clock.set(at("2027-01-16", "02:30"));
    }
    let (one, two) = tokio::join!(
        scheduler::tick(&first.state),
        scheduler::tick(&second.state)
    );
    let runs: Vec<_> = one
        .expect("tick")
        .into_iter()
        .chain(two.expect("tick"))
        .collect();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(runs.iter().map(|run| run.notified).sum::<u64>(), 2);
    let (a, b) = tokio::join!(deliver_due(&first.state), deliver_due(&second.state));
    assert_eq!(a.expect("deliver").sent + b.expect("deliver").sent, 2);
    let mut to: Vec<String> = smtp
        .messages()
        .into_iter()
        .flat_map(|message| message.to)
        .collect();
    to.sort();
    assert_eq!(to, ["alice@example.com", "bob@example.com"]);
}

#[tokio::test]
async fn a_run_missed_while_down_happens_at_start() {
    let smtp = SmtpServer::start().await;
    let mut first = app_with_smtp(&smtp).await;
    scheduler::tick(&first.state).await.expect("tick");
    let alice = first.user("alice").await;
    first
        .token_with(&alice, "soon", &[Scope::Api], Some(day("2027-01-18")))
        .await;
    drain(&first, &smtp).await;
    let before = smtp.messages().len();
    first.stop().await;
    // The service comes back at 09:00 the next day, jobs on: the 01:00 run happens now.
    let url = smtp.url();
    let _restarted = first
        .spawn_sharing_at(at("2027-01-16", "09:00"), move |config| {
            config.mail.smtp_url = Some(url);
            config.jobs_enabled = true;
        })
        .await;
    smtp.wait_for_messages(before + 1).await;
    let message = smtp.messages().pop().expect("message");
    assert!(message.subject().contains("soon"), "{}", message.subject());
}

#[tokio::test]
async fn long_runs_page_through_tokens_one_user_at_a_time() {
    let smtp = SmtpServer::start().await;
    let app = app_with_smtp(&smtp).await;
    let users = [
        app.user("u1").await,
        app.user("u2").await,
        app.user("u3").await,
    ];
    for (i, user) in users.iter().enumerate() {
        for n in 0..=i + 1 {
            app.token_with(
                user,
                &format!("{}-{n}", user.model.username),
                &[Scope::Api],
                Some(day("2027-01-19")),
            )
            .await;
        }
    }
    drain(&app, &smtp).await;
    // Pages of two rows split users across pages; each still gets exactly one email.
    let notified = expiry::run_with_page(&app.state, Job::ExpiringTokens, day("2027-01-15"), 2)
        .await
        .expect("run");
    assert_eq!(notified, 2 + 3 + 4);
    deliver_due(&app.state).await.expect("deliver");
    let messages = smtp.messages();
    assert_eq!(messages.len(), 3);
    for (user, expected) in [("u1", 2), ("u2", 3), ("u3", 4)] {
        let mine: Vec<_> = messages
            .iter()
            .filter(|m| m.to == [format!("{user}@example.com")])
            .collect();
        assert_eq!(mine.len(), 1);
        assert!(
            mine[0].subject().contains(&format!("{expected} of your")),
            "{}",
            mine[0].subject()
        );
    }
}

#[tokio::test]
async fn without_smtp_emails_become_eml_files() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    app.token(&alice, &[Scope::Api]).await;
    let delivery = deliver_due(&app.state).await.expect("deliver");
    assert_eq!(delivery.sent, 1);
    let dir = app.state.config.data_dir.join("mail");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .expect("mail dir")
        .filter_map(Result::ok)
        .collect();
    assert_eq!(files.len(), 1);
    let text = std::fs::read_to_string(files[0].path()).expect("eml");
    assert!(text.contains("To: alice <alice@example.com>"), "{text}");
    assert!(files[0].path().extension().is_some_and(|ext| ext == "eml"));
}

#[tokio::test]
async fn an_email_that_cannot_be_built_is_given_up_not_retried_forever() {
    let smtp = SmtpServer::start().await;
    let app = app_with_smtp(&smtp).await;
    let mut alice = app.user("alice").await;
    {
        // An address from before today's validation, which the mailer refuses.
        use sea_orm::{ActiveModelTrait, Set};
        let mut row: entity::user::ActiveModel = alice.model.clone().into();
        row.email = Set("n8@[127.0.0.1]".into());
        alice.model = row.update(&app.state.db).await.expect("update");
    }
    app.token(&alice, &[Scope::Api]).await;
    let first = deliver_due(&app.state).await.expect("deliver");
    assert_eq!((first.sent, first.failed, first.suppressed), (0, 0, 1));
    app.clock.advance(Duration::hours(2));
    let again = deliver_due(&app.state).await.expect("deliver");
    assert_eq!((again.sent, again.failed, again.suppressed), (0, 0, 0));
    assert!(smtp.messages().is_empty());
}
