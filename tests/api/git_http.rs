//! Git over HTTP with the real `git` client: clone, fetch and push with each scope, role and
//! visibility; refused tokens; arbitrary and empty usernames; brute-force cooling off.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tokio::process::Command;
use wvs::tokens::scope::Scope;

use crate::harness::{TestApp, TestUser, day};

/// Runs git with no user or system configuration, never prompting, with `token` offered
/// by a credential helper after the server's 401 (so it is never stored in a config).
async fn git(dir: &Path, token: Option<(&str, &str)>, args: &[&str]) -> (bool, String) {
    let mut command = Command::new("git");
    command
        .current_dir(dir)
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .args([
            "-c",
            "credential.helper=",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "user.name=T",
            "-c",
            "user.email=t@example.com",
        ]);
    if let Some((username, password)) = token {
        let helper = format!("!f() {{ echo username={username}; echo password={password}; }}; f");
        command.args(["-c", &format!("credential.helper={helper}")]);
    }
    let output = command
        .args(args)
        .output()
        .await
        .expect("git runs (is git installed?)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

struct Setup {
    app: TestApp,
    work: tempfile::TempDir,
    alice: TestUser,
    bob: TestUser,
    carol: TestUser,
    dave: TestUser,
    alice_api: String,
}

const CREATE: &str = "mutation($ns: String!, $path: String!, $v: ProjectVisibility) {
  projectCreate(input: { namespace: $ns, path: $path, visibility: $v }) { project { id httpUrlToRepo } }
}";
const ADD: &str = "mutation($p: ID!, $u: ID!, $r: ProjectRole!) { projectMemberAdd(projectId: $p, userId: $u, role: $r) { project { id } } }";

async fn setup() -> Setup {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let dave = app.user("dave").await;
    let alice_api = app.token(&alice, &[Scope::Api]).await;
    let private = app
        .gql_ok(&alice_api, CREATE, json!({ "ns": "alice", "path": "app" }))
        .await;
    let project_id = private["projectCreate"]["project"]["id"].clone();
    app.gql_ok(
        &alice_api,
        ADD,
        json!({ "p": project_id, "u": bob.gid(), "r": "DEVELOPER" }),
    )
    .await;
    app.gql_ok(
        &alice_api,
        ADD,
        json!({ "p": project_id, "u": carol.gid(), "r": "REPORTER" }),
    )
    .await;
    app.gql_ok(
        &alice_api,
        CREATE,
        json!({ "ns": "alice", "path": "open", "v": "PUBLIC" }),
    )
    .await;
    let work = tempfile::tempdir().expect("work dir");
    let setup = Setup {
        app,
        work,
        alice,
        bob,
        carol,
        dave,
        alice_api,
    };
    // A first commit in each repository.
    for project in ["app", "open"] {
        let source = setup.dir(&format!("seed-{project}"));
        std::fs::create_dir_all(&source).expect("dir");
        assert!(git(&source, None, &["init", "-q"]).await.0);
        std::fs::write(source.join("README"), format!("{project}\n")).expect("write");
        assert!(git(&source, None, &["add", "README"]).await.0);
        assert!(git(&source, None, &["commit", "-q", "-m", "first"]).await.0);
        let url = setup.url(project);
        let (ok, out) = git(
            &source,
            Some(("alice", &setup.alice_api)),
            &["push", "-q", &url, "main"],
        )
        .await;
        assert!(ok, "seeding {project}: {out}");
    }
    setup
}

impl Setup {
    fn url(&self, project: &str) -> String {
        self.app.url(&format!("/alice/{project}.git"))
    }

    fn dir(&self, name: &str) -> PathBuf {
        self.work.path().join(name)
    }

    /// The commit `main` points to in the bare repository on the server.
    async fn server_head(&self, project: &str) -> String {
        let bare = self
            .app
            .state
            .config
            .data_dir
            .join(format!("repositories/alice/{project}.git"));
        let (ok, out) = git(
            self.work.path(),
            None,
            &[
                "--git-dir",
                &bare.display().to_string(),
                "rev-parse",
                "main",
            ],
        )
        .await;
        assert!(ok, "{out}");
        out.trim().to_owned()
    }

    async fn clone(
        &self,
        project: &str,
        into: &str,
        credentials: Option<(&str, &str)>,
    ) -> (bool, String) {
        git(
            self.work.path(),
            credentials,
            &["clone", "-q", &self.url(project), into],
        )
        .await
    }

    /// Clones as alice, commits a change, and pushes it with `credentials`.
    async fn push_change(
        &self,
        project: &str,
        into: &str,
        credentials: (&str, &str),
    ) -> (bool, String) {
        assert!(
            self.clone(project, into, Some(("alice", &self.alice_api)))
                .await
                .0
        );
        let dir = self.dir(into);
        std::fs::write(dir.join("change"), into).expect("write");
        assert!(git(&dir, None, &["add", "change"]).await.0);
        assert!(git(&dir, None, &["commit", "-q", "-m", into]).await.0);
        git(
            &dir,
            Some(credentials),
            &["push", "-q", &self.url(project), "main"],
        )
        .await
    }
}

#[tokio::test]
async fn pull_and_push_follow_scopes_and_roles() {
    let s = setup().await;
    let app = &s.app;
    // Pull: any of api, read_api, read_repository, write_repository, for a member.
    for (i, scope) in [
        Scope::Api,
        Scope::ReadApi,
        Scope::ReadRepository,
        Scope::WriteRepository,
    ]
    .into_iter()
    .enumerate()
    {
        let token = app.token(&s.carol, &[scope]).await;
        let (ok, out) = s
            .clone("app", &format!("pull-{i}"), Some(("carol", &token)))
            .await;
        assert!(ok, "{scope}: {out}");
    }
    for scope in [Scope::ReadUser, Scope::ReadRegistry, Scope::WriteRegistry] {
        let token = app.token(&s.carol, &[scope]).await;
        let (ok, out) = s
            .clone("app", &format!("no-pull-{scope}"), Some(("carol", &token)))
            .await;
        assert!(!ok && out.contains("403"), "{scope}: {out}");
    }
    // Push: api or write_repository, and at least the developer role.
    let before = s.server_head("app").await;
    let read_only = app.token(&s.bob, &[Scope::ReadRepository]).await;
    let (ok, out) = s
        .push_change("app", "push-read-only", ("bob", &read_only))
        .await;
    assert!(!ok && out.contains("403"), "{out}");
    let reporter = app.token(&s.carol, &[Scope::Api]).await;
    let (ok, _) = s
        .push_change("app", "push-reporter", ("carol", &reporter))
        .await;
    assert!(!ok);
    assert_eq!(
        s.server_head("app").await,
        before,
        "a refused push changed the repository"
    );
    let writer = app.token(&s.bob, &[Scope::WriteRepository]).await;
    let (ok, out) = s
        .push_change("app", "push-developer", ("bob", &writer))
        .await;
    assert!(ok, "{out}");
    assert_ne!(s.server_head("app").await, before);
    // Fetch sees the new commit.
    let (ok, out) = git(
        &s.dir("pull-0"),
        Some(("carol", &reporter)),
        &["pull", "-q", &s.url("app"), "main"],
    )
    .await;
    assert!(ok, "{out}");
    assert!(s.dir("pull-0").join("change").exists());
}

#[tokio::test]
async fn visibility_decides_who_can_see_a_repository() {
    let s = setup().await;
    let app = &s.app;
    let dave = app.token(&s.dave, &[Scope::Api]).await;
    // A private project is invisible to non-members: 404, not 403.
    let (ok, out) = s.clone("app", "dave-private", Some(("dave", &dave))).await;
    assert!(
        !ok && (out.contains("404") || out.contains("not found")),
        "{out}"
    );
    // Anonymous: asked for credentials on private, may clone public, never push.
    let (ok, out) = s.clone("app", "anon-private", None).await;
    assert!(
        !ok && out.contains("Authentication failed") || out.contains("could not read Username"),
        "{out}"
    );
    let (ok, out) = s.clone("open", "anon-public", None).await;
    assert!(ok, "{out}");
    let before = s.server_head("open").await;
    std::fs::write(s.dir("anon-public").join("x"), "x").expect("write");
    assert!(git(&s.dir("anon-public"), None, &["add", "x"]).await.0);
    assert!(
        git(&s.dir("anon-public"), None, &["commit", "-q", "-m", "x"])
            .await
            .0
    );
    let (ok, _) = git(
        &s.dir("anon-public"),
        None,
        &["push", "-q", &s.url("open"), "main"],
    )
    .await;
    assert!(!ok);
    assert_eq!(s.server_head("open").await, before);
    // Internal: any signed-in user may pull.
    let make_internal = "mutation { projectCreate(input: { namespace: \"alice\", path: \"inside\", visibility: INTERNAL }) { project { id } } }";
    app.gql_ok(&s.alice_api, make_internal, json!({})).await;
    let (ok, out) = git(
        s.work.path(),
        Some(("dave", &dave)),
        &["clone", "-q", &app.url("/alice/inside.git"), "inside"],
    )
    .await;
    assert!(ok, "{out}");
    // Unknown projects: 404 for a signed-in user.
    let (ok, out) = git(
        s.work.path(),
        Some(("dave", &dave)),
        &["clone", "-q", &app.url("/alice/nothing.git"), "nothing"],
    )
    .await;
    assert!(
        !ok && (out.contains("404") || out.contains("not found")),
        "{out}"
    );
}

#[tokio::test]
async fn usernames_are_ignored_and_bad_tokens_are_refused() {
    let s = setup().await;
    let app = &s.app;
    let token = app.token(&s.carol, &[Scope::ReadRepository]).await;
    for (i, (username, password)) in [("anything", token.as_str()), (token.as_str(), "")]
        .into_iter()
        .enumerate()
    {
        let (ok, out) = s
            .clone("app", &format!("user-{i}"), Some((username, password)))
            .await;
        assert!(ok, "{username:?}/{password:?}: {out}");
    }
    // An empty username (which the git client itself never sends) works as well.
    let refs = app.url("/alice/app.git/info/refs?service=git-upload-pack");
    let response = app
        .client
        .get(&refs)
        .basic_auth("", Some(&token))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("git-upload-pack")
    );
    // Passwords are not Git credentials; neither are junk, revoked or expired tokens.
    let revoked = app.token(&s.carol, &[Scope::Api]).await;
    let id = app
        .gql_ok(&revoked, "{ currentToken { id } }", json!({}))
        .await["currentToken"]["id"]
        .clone();
    app.gql_ok(
        &revoked,
        "mutation($id: ID!) { personalAccessTokenRevoke(id: $id) { personalAccessToken { id } } }",
        json!({ "id": id }),
    )
    .await;
    let expired = app
        .token_with(&s.carol, "short", &[Scope::Api], Some(day("2027-01-16")))
        .await;
    app.clock.advance(chrono::Duration::days(1));
    for (i, secret) in [
        "carol-password",
        "wvspat-junk",
        revoked.as_str(),
        expired.as_str(),
    ]
    .into_iter()
    .enumerate()
    {
        let (ok, out) = s
            .clone("app", &format!("bad-{i}"), Some(("carol", secret)))
            .await;
        assert!(
            !ok && out.contains("Authentication failed"),
            "{secret}: {out}"
        );
    }
    // Git use counts as use.
    app.flush_last_used().await;
    let digest = wvs::tokens::secret::TokenSecret::parse(&token)
        .expect("token")
        .digest(&app.state.secret_key);
    let row = app
        .token_rows()
        .await
        .into_iter()
        .find(|row| row.digest == digest)
        .expect("row");
    assert!(row.last_used_at.is_some());
}

#[tokio::test]
async fn repeated_failures_cool_an_address_off_without_locking_anyone_out() {
    let app = TestApp::spawn_with(|config| config.git_auth_limits.max_failures = 3).await;
    let alice = app.user("alice").await;
    let token = app.token(&alice, &[Scope::Api]).await;
    app.gql_ok(&token, "mutation { projectCreate(input: { namespace: \"alice\", path: \"app\" }) { project { id } } }", json!({}))
        .await;
    let url = app.url("/alice/app.git/info/refs?service=git-upload-pack");
    let from = |ip: &str| {
        reqwest::Client::builder()
            .local_address(ip.parse::<std::net::IpAddr>().expect("ip"))
            .build()
            .expect("client")
    };
    let here = from("127.0.0.1");
    let statuses = futures_util::future::join_all(
        (0..3).map(|_| here.get(&url).basic_auth("x", Some("wrong")).send()),
    )
    .await;
    assert!(
        statuses
            .iter()
            .all(|r| r.as_ref().expect("response").status() == 401)
    );
    let blocked = here
        .get(&url)
        .basic_auth("x", Some(&token))
        .send()
        .await
        .expect("request");
    assert_eq!(
        blocked.status(),
        429,
        "even a valid token waits out the cooling-off period"
    );
    app.clock.advance(chrono::Duration::seconds(90));
    let blocked = here
        .get(&url)
        .basic_auth("x", Some(&token))
        .send()
        .await
        .expect("request");
    assert_eq!(blocked.status(), 429);
    assert_eq!(
        blocked.headers()["retry-after"],
        "210",
        "the time left, in seconds"
    );
    let elsewhere = from("127.0.0.2")
        .get(&url)
        .basic_auth("x", Some(&token))
        .send()
        .await
        .expect("request");
    assert_eq!(elsewhere.status(), 200);
    app.clock.advance(chrono::Duration::seconds(211));
    let later = here
        .get(&url)
        .basic_auth("x", Some(&token))
        .send()
        .await
        .expect("request");
    assert_eq!(later.status(), 200);
}

/// The peak resident memory of this process (the server runs in it), in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .expect("proc status")
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

#[tokio::test]
async fn a_large_push_streams_through_without_being_held_in_memory() {
    let s = setup().await;
    let dir = s.dir("large");
    assert!(
        s.clone("app", "large", Some(("alice", &s.alice_api)))
            .await
            .0
    );
    // 48 MiB of incompressible bytes, written in 1 MiB pieces: far over git's 1 MiB post
    // buffer, so the push arrives chunked, and never whole in this process's memory.
    const MIB: usize = 1024 * 1024;
    {
        use std::io::Write;
        let mut file = std::fs::File::create(dir.join("blob.bin")).expect("create");
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut chunk = vec![0u8; MIB];
        for _ in 0..48 {
            for word in chunk.chunks_mut(8) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                word.copy_from_slice(&state.to_le_bytes());
            }
            file.write_all(&chunk).expect("write");
        }
    }
    assert!(git(&dir, None, &["add", "blob.bin"]).await.0);
    assert!(git(&dir, None, &["commit", "-q", "-m", "large"]).await.0);
    let before = peak_rss_kib();
    let (ok, out) = git(
        &dir,
        Some(("alice", &s.alice_api)),
        &["push", "-q", &s.url("app"), "main"],
    )
    .await;
    assert!(ok, "{out}");
    let (ok, out) = s
        .clone("app", "large-again", Some(("alice", &s.alice_api)))
        .await;
    assert!(ok, "{out}");
    let grown_mib = (peak_rss_kib() - before) / 1024;
    assert!(
        grown_mib < 24,
        "the server's peak memory grew by {grown_mib} MiB for a 48 MiB push and clone"
    );
    let size = std::fs::metadata(s.dir("large-again").join("blob.bin"))
        .expect("metadata")
        .len();
    assert_eq!(size, 48 * MIB as u64);
}

#[tokio::test]
async fn a_blocked_users_token_is_refused_by_git() {
    let s = setup().await;
    let app = &s.app;
    let root = app.admin("root").await;
    let admin = app.token(&root, &[Scope::Api]).await;
    let token = app.token(&s.carol, &[Scope::ReadRepository]).await;
    app.gql_ok(
        &admin,
        "mutation($id: ID!) { userBlock(id: $id) { user { id } } }",
        json!({ "id": s.carol.gid() }),
    )
    .await;
    let (ok, out) = s.clone("app", "blocked", Some(("carol", &token))).await;
    assert!(!ok && out.contains("Authentication failed"), "{out}");
    app.flush_last_used().await;
    let digest = wvs::tokens::secret::TokenSecret::parse(&token)
        .expect("token")
        .digest(&app.state.secret_key);
    let row = app
        .token_rows()
        .await
        .into_iter()
        .find(|row| row.digest == digest)
        .expect("row");
    assert!(
        row.last_used_at.is_none(),
        "a refused token's last use must not move"
    );
}

#[tokio::test]
async fn projects_are_managed_through_the_api() {
    let s = setup().await;
    let app = &s.app;
    let bob_token = app.token(&s.bob, &[Scope::Api]).await;
    let dave_token = app.token(&s.dave, &[Scope::ReadApi]).await;
    // Only your own namespace.
    let (_, body) = app
        .gql(
            Some(&bob_token),
            CREATE,
            json!({ "ns": "alice", "path": "mine" }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let (_, body) = app
        .gql(
            Some(&s.alice_api),
            CREATE,
            json!({ "ns": "alice", "path": "app" }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "path");
    let (_, body) = app
        .gql(
            Some(&s.alice_api),
            CREATE,
            json!({ "ns": "alice", "path": "x.git" }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "path");
    // Visibility in queries.
    let query = "query($p: String!) { project(fullPath: $p) { fullPath members { user { username } role } } }";
    let seen = app
        .gql_ok(&dave_token, query, json!({ "p": "alice/app" }))
        .await;
    assert_eq!(seen["project"], Value::Null);
    let seen = app
        .gql_ok(&bob_token, query, json!({ "p": "alice/app" }))
        .await;
    assert_eq!(
        seen["project"]["members"]
            .as_array()
            .expect("members")
            .len(),
        3
    );
    let listed = app
        .gql_ok(
            &dave_token,
            "{ projects { nodes { fullPath } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        listed["projects"]["nodes"],
        json!([{ "fullPath": "alice/open" }])
    );
    // Only owners manage members, and the last owner stays.
    let id = app
        .gql_ok(
            &bob_token,
            "{ project(fullPath: \"alice/app\") { id } }",
            json!({}),
        )
        .await["project"]["id"]
        .clone();
    let (_, body) = app
        .gql(
            Some(&bob_token),
            ADD,
            json!({ "p": id, "u": s.dave.gid(), "r": "OWNER" }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let remove = "mutation($p: ID!, $u: ID!) { projectMemberRemove(projectId: $p, userId: $u) { project { id } } }";
    let (_, body) = app
        .gql(
            Some(&s.alice_api),
            remove,
            json!({ "p": id, "u": s.alice.gid() }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    app.gql_ok(&s.alice_api, remove, json!({ "p": id, "u": s.bob.gid() }))
        .await;
    let (ok, _) = s.clone("app", "bob-after", Some(("bob", &bob_token))).await;
    assert!(!ok, "a removed member can no longer pull");
    // A read_api token cannot create projects (a mutation).
    let (_, body) = app
        .gql(
            Some(&dave_token),
            CREATE,
            json!({ "ns": "dave", "path": "p" }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
}
