//! The test harness: the real application on an ephemeral port with its own database (a
//! temporary SQLite file, or a fresh PostgreSQL database when `WVS_TEST_DATABASE_URL` is
//! set), an injected clock the tests move, and helpers to make users, tokens and requests.

use std::{net::SocketAddr, sync::Arc};

use chrono::{DateTime, NaiveDate, Utc};
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::oneshot;
use wvs::{
    auth::principal::{Credential, Principal},
    clock::ManualClock,
    config::{Config, DatabaseUrl, SecretSource},
    state::AppState,
    tokens::{create::CreateRequest, scope::Scope},
    users::create::NewUser,
};

/// Where every test's clock starts: a Friday, midday UTC.
pub const START: &str = "2027-01-15T12:00:00Z";

pub fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(START).expect("start").to_utc()
}

pub fn day(text: &str) -> NaiveDate {
    text.parse().expect("date")
}

/// A running application.
pub struct TestApp {
    pub addr: SocketAddr,
    /// The database this app uses (another app can share it).
    pub database_url: String,
    pub state: AppState,
    pub clock: Arc<ManualClock>,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    _dir: TempDir,
    postgres: Option<PostgresDatabase>,
}

/// A user made by the harness.
#[derive(Clone, Debug)]
pub struct TestUser {
    pub model: entity::user::Model,
}

impl TestUser {
    pub fn id(&self) -> i64 {
        self.model.id
    }

    pub fn gid(&self) -> String {
        format!("gid://wvs/User/{}", self.model.id)
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(|_| {}).await
    }

    /// Starts the application after `configure` adjusts its configuration.
    pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> TestApp {
        TestApp::spawn_on(None, start_time(), configure).await
    }

    /// Starts a second application on this one's database (another server process).
    pub async fn spawn_sharing(&self, configure: impl FnOnce(&mut Config)) -> TestApp {
        TestApp::spawn_on(Some(self.database_url.clone()), start_time(), configure).await
    }

    /// Like [`TestApp::spawn_sharing`], with the new app's clock starting at `start`.
    pub async fn spawn_sharing_at(
        &self,
        start: DateTime<Utc>,
        configure: impl FnOnce(&mut Config),
    ) -> TestApp {
        TestApp::spawn_on(Some(self.database_url.clone()), start, configure).await
    }

    async fn spawn_on(
        shared: Option<String>,
        start: DateTime<Utc>,
        configure: impl FnOnce(&mut Config),
    ) -> TestApp {
        init_logging();
        let dir = tempfile::tempdir().expect("temp dir");
        let (database_url, postgres) = match std::env::var("WVS_TEST_DATABASE_URL") {
            _ if shared.is_some() => (shared.unwrap_or_default(), None),
            Ok(admin_url) if !admin_url.trim().is_empty() => {
                let database = PostgresDatabase::create(admin_url.trim()).await;
                (database.url.clone(), Some(database))
            }
            _ => (
                format!("sqlite://{}?mode=rwc", dir.path().join("wvs.db").display()),
                None,
            ),
        };
        let mut config = Config::from_lookup(|_| None).expect("default config");
        config.listen = "127.0.0.1:0".parse().expect("addr");
        config.database_url = DatabaseUrl::parse(&database_url).expect("url");
        config.data_dir = dir.path().join("data");
        config.secret = SecretSource::Inline("test-secret-key-0123456789abcdef0123456789".into());
        // Tests drive the scheduler and the mail worker themselves, step by step.
        config.jobs_enabled = false;
        configure(&mut config);
        for source in std::iter::once(&config.secret).chain(config.previous_secrets.as_ref()) {
            if let SecretSource::Inline(secret) = source {
                evidence::remember_secret(secret);
            }
        }
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        // Links point at this server, unless the test is about an https deployment.
        if !config.external_url.starts_with("https://") {
            config.external_url = format!("http://{addr}");
        }
        let clock = Arc::new(ManualClock::new(start));
        let state = wvs::app::start(config, clock.clone())
            .await
            .expect("start app");
        let (shutdown, shutdown_signal) = oneshot::channel::<()>();
        let server_state = state.clone();
        let server = tokio::spawn(async move {
            wvs::app::serve(server_state, listener, async {
                let _ = shutdown_signal.await;
            })
            .await
            .expect("serve");
        });
        TestApp {
            addr,
            database_url,
            state,
            clock,
            client: reqwest::Client::new(),
            shutdown: Some(shutdown),
            server: Some(server),
            _dir: dir,
            postgres,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Creates a user through the service (set-up, not under test).
    pub async fn user(&self, username: &str) -> TestUser {
        self.make_user(username, false).await
    }

    pub async fn admin(&self, username: &str) -> TestUser {
        self.make_user(username, true).await
    }

    async fn make_user(&self, username: &str, admin: bool) -> TestUser {
        evidence::remember_secret(&format!("{username}-password"));
        let model = wvs::users::create::create(
            &self.state,
            None,
            NewUser {
                username: username.into(),
                email: format!("{username}@example.com"),
                name: None,
                password: Some(format!("{username}-password")),
                admin,
            },
        )
        .await
        .expect("create user");
        TestUser { model }
    }

    /// Issues a token for `user` with `scopes` (no expiry) and returns the plain token.
    pub async fn token(&self, user: &TestUser, scopes: &[Scope]) -> String {
        self.token_with(user, "test token", scopes, None).await
    }

    pub async fn token_with(
        &self,
        user: &TestUser,
        name: &str,
        scopes: &[Scope],
        expires_at: Option<NaiveDate>,
    ) -> String {
        let shell = Principal {
            user: user.model.clone().into(),
            credential: Credential::Shell,
            ip: None,
        };
        let request = CreateRequest {
            name: name.into(),
            description: None,
            expires_at,
            scopes: scopes.to_vec(),
        };
        wvs::tokens::create::create(&self.state, &shell, &user.model, request, false)
            .await
            .expect("create token")
            .secret
            .expose()
            .to_owned()
    }

    /// POSTs a GraphQL request with an optional Bearer token.
    pub async fn gql(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> (StatusCode, Value) {
        let body = json!({ "query": query, "variables": variables }).to_string();
        self.post_graphql_body(token, "application/json", body)
            .await
    }

    /// POSTs `body` as it is to the GraphQL endpoint, with an optional Bearer token; the
    /// answer is expected in JSON, whatever was sent.
    pub async fn post_graphql_body(
        &self,
        token: Option<&str>,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .post(self.url("/api/graphql"))
            .header("content-type", content_type)
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let body: Value = response.json().await.expect("json body");
        if status != StatusCode::OK || body.get("errors").is_some() {
            evidence::record_error_body(&body.to_string());
        }
        (status, body)
    }

    /// A GraphQL request expected to succeed; returns `data`.
    pub async fn gql_ok(&self, token: &str, query: &str, variables: Value) -> Value {
        let (status, body) = self.gql(Some(token), query, variables).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// Changes the instance's token policy as the shell would (set-up, not under test).
    pub async fn set_policy(&self, admin: &TestUser, update: wvs::settings::SettingsUpdate) {
        let actor = Principal {
            user: admin.model.clone().into(),
            credential: Credential::Shell,
            ip: None,
        };
        wvs::settings::update(&self.state, &actor, update)
            .await
            .expect("update settings");
    }

    /// Writes pending last-used times and waits until they are written.
    pub async fn flush_last_used(&self) {
        self.state.last_used.flush().await;
    }

    /// The `/-/metrics` exposition, fetched over HTTP.
    pub async fn metrics_text(&self) -> String {
        self.client
            .get(self.url("/-/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    }

    /// Writes pending refused-authentication records to the audit log.
    pub async fn flush_refusals(&self) {
        self.state.refusals.flush().await;
    }

    /// How many token rows exist (to assert that refusals change nothing).
    pub async fn token_rows(&self) -> Vec<entity::personal_access_token::Model> {
        use sea_orm::{EntityTrait, QueryOrder};
        entity::personal_access_token::Entity::find()
            .order_by_asc(entity::personal_access_token::Column::Id)
            .all(&self.state.db)
            .await
            .expect("tokens")
    }

    /// Every stored browser session.
    pub async fn web_sessions(&self) -> Vec<entity::web_session::Model> {
        use sea_orm::EntityTrait;
        entity::web_session::Entity::find()
            .all(&self.state.db)
            .await
            .expect("sessions")
    }

    /// Every queued or sent email.
    pub async fn outbox(&self) -> Vec<entity::outbox_email::Model> {
        use sea_orm::EntityTrait;
        entity::outbox_email::Entity::find()
            .all(&self.state.db)
            .await
            .expect("outbox")
    }

    /// The token rows minus `last_used_at` (which use moves by design): what a refused
    /// request must leave exactly as it was.
    pub async fn token_state(&self) -> Vec<entity::personal_access_token::Model> {
        let mut rows = self.token_rows().await;
        for row in &mut rows {
            row.last_used_at = None;
        }
        rows
    }

    /// Stops the server gracefully (in-flight requests finish, last-used flushed).
    pub async fn stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(database) = self.postgres.take() {
            database.drop_in_background();
        }
    }
}

/// Server logs go to the test's captured output (shown when a test fails) and, with
/// `WVS_TEST_LOG_DIR`, to a file there for the suite-wide secret scan.
fn init_logging() {
    use tracing_subscriber::fmt::writer::{BoxMakeWriter, MakeWriterExt, TestWriter};
    let writer = match evidence::file("log") {
        Some(file) => BoxMakeWriter::new(TestWriter::new().and(std::sync::Mutex::new(file))),
        None => BoxMakeWriter::new(TestWriter::new()),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter("info,sea_orm_migration=warn")
        .with_writer(writer)
        .try_init();
}

/// What `.ci/scan-secrets` reads after the suite: every server log line, every error body
/// the tests received, and the secrets the tests used (which none of those may contain).
pub mod evidence {
    use std::{fs::File, io::Write, path::PathBuf};

    fn dir() -> Option<PathBuf> {
        let dir = PathBuf::from(std::env::var_os("WVS_TEST_LOG_DIR")?);
        std::fs::create_dir_all(&dir).ok()?;
        Some(dir)
    }

    /// This test process's file of `kind`, opened for appending.
    pub fn file(kind: &str) -> Option<File> {
        let path = dir()?.join(format!("{}.{kind}", std::process::id()));
        File::options().create(true).append(true).open(path).ok()
    }

    fn append(kind: &str, text: &str) {
        if let Some(mut file) = file(kind) {
            let _ = writeln!(file, "{text}");
        }
    }

    /// An error body a test received.
    pub fn record_error_body(body: &str) {
        append("bodies", body);
    }

    /// A secret the test used (a key, a password): it must appear in no log or body.
    pub fn remember_secret(secret: &str) {
        append("secrets", secret);
    }
}

/// The `errors[0].extensions.code` of a response.
pub fn error_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("<none>")
}

/// A throwaway PostgreSQL database, dropped when the test ends.
struct PostgresDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl PostgresDatabase {
    async fn create(admin_url: &str) -> PostgresDatabase {
        let name = format!("wvs_test_{}", uuid_like());
        let admin = Database::connect(admin_url)
            .await
            .expect("connect to WVS_TEST_DATABASE_URL");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
        // A far-off database time zone proves nothing depends on it.
        admin
            .execute_unprepared(&format!(
                "ALTER DATABASE {name} SET timezone TO 'Pacific/Kiritimati'"
            ))
            .await
            .expect("set database time zone");
        admin.close().await.expect("close");
        let base = admin_url
            .rsplit_once('/')
            .map(|(base, _)| base)
            .expect("database url has a path");
        PostgresDatabase {
            admin_url: admin_url.to_owned(),
            url: format!("{base}/{name}"),
            name,
        }
    }

    fn drop_in_background(self) {
        // Drop runs outside async context; a short-lived runtime on its own thread cleans up.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async {
                    if let Ok(admin) = Database::connect(&self.admin_url).await {
                        let _ = admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                                self.name
                            ))
                            .await;
                    }
                });
            }
        })
        .join();
    }
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{:x}_{:x}", nanos, std::process::id())
}
