//! The container registry, end to end: a real Docker Distribution registry configured to
//! trust WVS as its token server, a tiny image built offline with `umoci`, and `skopeo`
//! pushing and pulling with tokens of each scope. Skipped (loudly) where the registry
//! binaries are absent; `.ci/run` installs them.

use std::{path::Path, process::Stdio, time::Duration};

use chrono::Utc;
use serde_json::{Value, json};
use tokio::process::{Child, Command};
use wvs::tokens::scope::Scope;

use crate::harness::TestApp;

fn installed(program: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|output| output.status.success())
}

async fn run(dir: &Path, program: &str, args: &[&str]) -> (bool, String) {
    let output = Command::new(program)
        .current_dir(dir)
        .args(args)
        .output()
        .await
        .expect("spawn");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// A registry process, killed when dropped.
struct Registry {
    port: u16,
    _child: Child,
}

async fn start_registry(app: &TestApp, dir: &Path) -> Registry {
    let certificate = wvs::registry::keys(&app.state)
        .await
        .expect("keys")
        .certificate_pem()
        .expect("pem");
    std::fs::write(dir.join("cert.pem"), certificate).expect("cert");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let config = format!(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {storage}\nhttp:\n  addr: 127.0.0.1:{port}\n\
         auth:\n  token:\n    realm: {realm}\n    service: {service}\n    issuer: {issuer}\n    rootcertbundle: {cert}\n",
        storage = dir.join("storage").display(),
        realm = app.url("/jwt/auth"),
        service = app.state.config.registry.service,
        issuer = app.state.config.registry.issuer,
        cert = dir.join("cert.pem").display(),
    );
    std::fs::write(dir.join("config.yml"), config).expect("config");
    let child = Command::new("docker-registry")
        .args(["serve", &dir.join("config.yml").display().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start docker-registry");
    // Wait (bounded) until it accepts connections.
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Registry {
                port,
                _child: child,
            };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("docker-registry did not start");
}

#[tokio::test]
async fn skopeo_pushes_and_pulls_with_registry_scopes() {
    if !["docker-registry", "skopeo", "umoci"]
        .into_iter()
        .all(installed)
    {
        eprintln!(
            "SKIPPED: docker-registry, skopeo and umoci are needed (apt-get install -y docker-registry skopeo umoci)"
        );
        return;
    }
    let app = TestApp::spawn().await;
    // The registry checks token times against the real clock.
    app.clock.set(Utc::now());
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let api = app.token(&alice, &[Scope::Api]).await;
    app.gql_ok(&api, "mutation { projectCreate(input: { namespace: \"alice\", path: \"app\" }) { project { id } } }", json!({}))
        .await;
    let write = app.token(&alice, &[Scope::WriteRegistry]).await;
    let read = app.token(&alice, &[Scope::ReadRegistry]).await;
    let read_api = app.token(&alice, &[Scope::ReadApi]).await;
    let revoked = app.token(&alice, &[Scope::Api]).await;
    let outsider = app.token(&bob, &[Scope::Api]).await;
    let id = app
        .gql_ok(&revoked, "{ currentToken { id } }", json!({}))
        .await["currentToken"]["id"]
        .clone();
    app.gql_ok(
        &api,
        "mutation($id: ID!) { personalAccessTokenRevoke(id: $id) { personalAccessToken { id } } }",
        json!({ "id": id }),
    )
    .await;

    let dir = tempfile::tempdir().expect("dir");
    let work = dir.path();
    let registry = start_registry(&app, work).await;
    // A tiny image, built offline.
    for args in [
        vec!["init", "--layout", "oci"],
        vec!["new", "--image", "oci:v1"],
        vec!["unpack", "--rootless", "--image", "oci:v1", "bundle"],
    ] {
        let (ok, out) = run(work, "umoci", &args).await;
        assert!(ok, "umoci {args:?}: {out}");
    }
    std::fs::write(work.join("bundle/rootfs/hi"), "hi\n").expect("write");
    let (ok, out) = run(work, "umoci", &["repack", "--image", "oci:v1", "bundle"]).await;
    assert!(ok, "{out}");

    let image = |tag: &str| format!("docker://127.0.0.1:{}/alice/app:{tag}", registry.port);
    let push = |token: String, tag: &'static str| {
        let target = image(tag);
        async move {
            run(
                work,
                "skopeo",
                &[
                    "copy",
                    "--dest-tls-verify=false",
                    "--dest-creds",
                    &format!("anyone:{token}"),
                    "oci:oci:v1",
                    &target,
                ],
            )
            .await
        }
    };
    let pull = |token: String, tag: &'static str, into: &'static str| {
        let source = image(tag);
        async move {
            run(
                work,
                "skopeo",
                &[
                    "copy",
                    "--src-tls-verify=false",
                    "--src-creds",
                    &format!("anyone:{token}"),
                    &source,
                    &format!("oci:{into}:v1"),
                ],
            )
            .await
        }
    };
    let (ok, out) = push(write.clone(), "v1").await;
    assert!(ok, "push with write_registry: {out}");
    let (ok, out) = pull(read.clone(), "v1", "pulled").await;
    assert!(ok, "pull with read_registry: {out}");
    let (ok, out) = pull(read_api.clone(), "v1", "pulled-api").await;
    assert!(ok, "pull with read_api: {out}");
    for (token, why) in [
        (read, "read_registry"),
        (read_api, "read_api"),
        (revoked.clone(), "revoked"),
        (outsider.clone(), "not a member"),
    ] {
        let (ok, _) = push(token, "v2").await;
        assert!(!ok, "push with {why} must fail");
    }
    let (ok, _) = pull(revoked, "v1", "never").await;
    assert!(!ok, "pull with a revoked token must fail");
    let (ok, _) = pull(outsider, "v1", "never-2").await;
    assert!(!ok, "a private project's image is not for outsiders");
    // Registry use counts as use.
    app.flush_last_used().await;
    let digest = wvs::tokens::secret::TokenSecret::parse(&write)
        .expect("token")
        .digest(&app.state.secret_key);
    assert!(
        app.token_rows()
            .await
            .into_iter()
            .any(|row| row.digest == digest && row.last_used_at.is_some())
    );
}

#[tokio::test]
async fn the_token_endpoint_grants_only_what_scopes_and_roles_allow() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let api = app.token(&alice, &[Scope::Api]).await;
    app.gql_ok(&api, "mutation { projectCreate(input: { namespace: \"alice\", path: \"app\" }) { project { id } } }", json!({}))
        .await;
    app.gql_ok(&api, "mutation { projectCreate(input: { namespace: \"alice\", path: \"open\", visibility: PUBLIC }) { project { id } } }", json!({}))
        .await;
    let service = app.state.config.registry.service.clone();
    let ask = |token: Option<String>, scopes: Vec<&'static str>| {
        let mut query = vec![
            ("service".to_owned(), service.clone()),
            ("account".to_owned(), "ignored".to_owned()),
        ];
        query.extend(
            scopes
                .into_iter()
                .map(|scope| ("scope".to_owned(), scope.to_owned())),
        );
        let mut request = app.client.get(app.url("/jwt/auth")).query(&query);
        if let Some(token) = token {
            request = request.basic_auth("whoever", Some(token));
        }
        async move {
            let response = request.send().await.expect("request");
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let access = body["token"]
                .as_str()
                .map(|jwt| {
                    use base64::Engine;
                    let claims = jwt.split('.').nth(1).expect("claims");
                    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .decode(claims)
                        .expect("b64");
                    serde_json::from_slice::<Value>(&bytes).expect("json")["access"].clone()
                })
                .unwrap_or(Value::Null);
            (status, body, access)
        }
    };
    let both = "repository:alice/app:pull,push";
    let (status, body, access) = ask(
        Some(api.clone()),
        vec![both, "repository:alice/app/web:pull"],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body["token"], body["access_token"]);
    assert_eq!(
        access,
        json!([
            { "type": "repository", "name": "alice/app", "actions": ["pull", "push"] },
            { "type": "repository", "name": "alice/app/web", "actions": ["pull"] }
        ])
    );
    let read = app.token(&alice, &[Scope::ReadRegistry]).await;
    let (_, _, access) = ask(Some(read), vec![both]).await;
    assert_eq!(
        access,
        json!([{ "type": "repository", "name": "alice/app", "actions": ["pull"] }])
    );
    let outsider = app.token(&bob, &[Scope::Api]).await;
    let (status, _, access) = ask(
        Some(outsider.clone()),
        vec![both, "repository:alice/open:pull,push"],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        access,
        json!([{ "type": "repository", "name": "alice/open", "actions": ["pull"] }])
    );
    let (status, _, access) = ask(
        None,
        vec![
            both,
            "repository:alice/open:pull,push",
            "registry:catalog:*",
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        access,
        json!([{ "type": "repository", "name": "alice/open", "actions": ["pull"] }])
    );
    // Only the project's canonical name: no case or path variants.
    let (_, _, access) = ask(
        Some(api.clone()),
        vec![
            "repository:alice/app/../open:pull",
            "repository:Alice/App:pull",
            "repository:alice/app/..:pull",
        ],
    )
    .await;
    assert_eq!(access, json!([]));
    let (status, body, _) = ask(Some("wvspat-junk".into()), vec![both]).await;
    assert_eq!(status, 401, "{body}");
    let wrong_service = app
        .client
        .get(app.url("/jwt/auth?service=other&scope=repository:alice/app:pull"))
        .send()
        .await
        .expect("request");
    assert_eq!(wrong_service.status(), 400);
}
