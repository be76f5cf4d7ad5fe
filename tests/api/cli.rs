//! The real `wvs` binary: user and token creation from the shell, the schema command,
//! configuration errors, and `serve` on a fresh machine with no configuration at all.

use std::{
    io::{BufRead, BufReader, Write},
    process::{Command, Stdio},
};

use chrono::{Days, Utc};

pub(crate) fn wvs(dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wvs"));
    command
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    command
}

#[test]
fn shell_commands_create_users_and_print_only_the_token() {
    let dir = tempfile::tempdir().expect("dir");
    let mut create = wvs(dir.path())
        .args([
            "user",
            "create",
            "--username",
            "root",
            "--email",
            "root@example.com",
            "--admin",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    create
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"correct horse battery\n")
        .expect("write");
    let output = create.wait_with_output().expect("wait");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "1");
    assert!(dir.path().join("wvs-data/secret.key").exists());
    assert!(dir.path().join("wvs-data/wvs.db").exists());

    let output = wvs(dir.path())
        .args([
            "token",
            "create",
            "--username",
            "root",
            "--name",
            "CI",
            "--scopes",
            "api,sudo",
        ])
        .output()
        .expect("run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    let token = stdout.strip_suffix('\n').expect("one line");
    assert!(!token.contains('\n'));
    assert!(
        wvs::tokens::secret::TokenSecret::parse(token).is_ok(),
        "{stdout:?}"
    );
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains(&token[7..]),
        "token leaked to stderr"
    );

    // The same rules as the API, named by flag or field.
    for (args, expected) in [
        (vec!["--scopes", "api,bogus"], "scopes"),
        (vec!["--scopes", ""], "scopes"),
        (
            vec!["--scopes", "api", "--expires-at", "2020-01-01"],
            "expiresAt",
        ),
        (
            vec!["--scopes", "api", "--expires-at", "tomorrow"],
            "--expires-at",
        ),
    ] {
        let output = wvs(dir.path())
            .args(["token", "create", "--username", "root", "--name", "x"])
            .args(&args)
            .output()
            .expect("run");
        assert!(!output.status.success(), "{args:?} succeeded");
        assert!(output.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    let output = wvs(dir.path())
        .args([
            "token",
            "create",
            "--username",
            "nobody",
            "--name",
            "x",
            "--scopes",
            "api",
        ])
        .output()
        .expect("run");
    assert!(!output.status.success());
}

#[test]
fn expiry_dates_follow_utc_whatever_the_host_time_zone() {
    let dir = tempfile::tempdir().expect("dir");
    let status = wvs(dir.path())
        .args([
            "user",
            "create",
            "--username",
            "alice",
            "--email",
            "alice@example.com",
        ])
        .output()
        .expect("run");
    assert!(status.status.success());
    // Between them, UTC+14 and UTC-12 disagree with UTC about the date at any instant.
    let today = Utc::now().date_naive();
    let tomorrow = today.checked_add_days(Days::new(1)).expect("date");
    for zone in ["Pacific/Kiritimati", "Etc/GMT+12"] {
        let run = |date: chrono::NaiveDate| {
            wvs(dir.path())
                .env("TZ", zone)
                .args([
                    "token",
                    "create",
                    "--username",
                    "alice",
                    "--name",
                    "tz",
                    "--scopes",
                    "api",
                ])
                .args(["--expires-at", &date.to_string()])
                .output()
                .expect("run")
        };
        let today_run = run(today);
        let tomorrow_run = run(tomorrow);
        // Around midnight UTC the date may turn between the two calls; re-read it.
        if Utc::now().date_naive() != today {
            return;
        }
        assert!(!today_run.status.success(), "{zone}: today accepted");
        assert!(
            tomorrow_run.status.success(),
            "{zone}: {}",
            String::from_utf8_lossy(&tomorrow_run.stderr)
        );
    }
}

#[test]
fn schema_command_prints_the_committed_schema() {
    let dir = tempfile::tempdir().expect("dir");
    let output = wvs(dir.path()).arg("schema").output().expect("run");
    assert!(output.status.success());
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema");
    let printed = String::from_utf8(output.stdout).expect("utf-8");
    assert!(
        printed == committed,
        "`wvs schema` differs from schema.graphql"
    );
}

#[test]
fn bad_configuration_exits_with_one_line_naming_the_variable() {
    let dir = tempfile::tempdir().expect("dir");
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"not a directory").expect("write");
    for (name, value) in [
        ("WVS_DATABASE_URL", "mysql://nope".to_owned()),
        (
            "WVS_DATABASE_URL",
            "postgres://nobody@127.0.0.1:1/none".to_owned(),
        ),
        ("WVS_LISTEN", "not-an-address".to_owned()),
        ("WVS_DATA_DIR", blocker.join("sub").display().to_string()),
        ("WVS_SECRET_KEY", "too-short".to_owned()),
    ] {
        let output = wvs(dir.path())
            .env(name, &value)
            .arg("migrate")
            .output()
            .expect("run");
        assert!(!output.status.success(), "{name}={value} succeeded");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<&str> = stderr
            .lines()
            .filter(|line| !line.trim().is_empty())
            .collect();
        assert_eq!(lines.len(), 1, "{name}: {stderr}");
        assert!(
            lines[0].starts_with(&format!("error: {name}")),
            "{name}: {stderr}"
        );
        assert!(!stderr.contains("panicked"));
    }
}

#[test]
fn serve_starts_on_a_fresh_machine_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().expect("dir");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let mut child = wvs(dir.path())
        .env("WVS_LISTEN", addr.to_string())
        .arg("serve")
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    while !line.contains("WVS tokens is serving") {
        line.clear();
        assert!(
            stderr.read_line(&mut line).expect("read") > 0,
            "server exited before serving"
        );
    }
    let body = std::thread::spawn(move || {
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        stream
            .write_all(b"GET /-/readiness HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .expect("write");
        let mut response = String::new();
        std::io::Read::read_to_string(&mut stream, &mut response).expect("read");
        response
    })
    .join()
    .expect("client");
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    assert!(dir.path().join("wvs-data/wvs.db").exists());

    // Tokens presented in every wrong place never reach the log.
    let token = wvs::tokens::secret::TokenSecret::generate()
        .expose()
        .to_owned();
    for request in [
        format!(
            "GET /api/graphql?private_token={token} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        ),
        format!("GET /{token}/x.git/info/refs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        format!(
            "POST /api/graphql HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
        ),
    ] {
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        stream.write_all(request.as_bytes()).expect("write");
        let mut response = String::new();
        std::io::Read::read_to_string(&mut stream, &mut response).expect("read");
        assert!(!response.contains(&token[7..]), "token echoed: {response}");
    }

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = child.wait().expect("wait");
    assert!(status.success(), "{status:?}");
    let mut log = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut log).expect("log");
    assert!(log.contains("request"), "no request log lines: {log}");
    assert!(!log.contains(&token[7..]), "token in the log:\n{log}");
}

#[test]
fn jobs_run_announces_once_and_writes_eml_files_without_smtp() {
    let dir = tempfile::tempdir().expect("dir");
    let created = wvs(dir.path())
        .args([
            "user",
            "create",
            "--username",
            "alice",
            "--email",
            "alice@example.com",
        ])
        .output()
        .expect("run");
    assert!(created.status.success());
    let soon = Utc::now()
        .date_naive()
        .checked_add_days(Days::new(3))
        .expect("date");
    let token = wvs(dir.path())
        .args([
            "token",
            "create",
            "--username",
            "alice",
            "--name",
            "deploy",
            "--scopes",
            "read_api",
        ])
        .args(["--expires-at", &soon.to_string()])
        .output()
        .expect("run");
    assert!(token.status.success());
    let run = |job: &str| {
        let output = wvs(dir.path())
            .args(["jobs", "run", job])
            .output()
            .expect("run");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("utf-8")
    };
    let first = run("expiring-tokens");
    assert!(first.contains("1 tokens announced"), "{first}");
    let second = run("expiring-tokens");
    assert!(second.contains("0 tokens announced"), "{second}");
    let mails: Vec<String> = std::fs::read_dir(dir.path().join("wvs-data/mail"))
        .expect("mail dir")
        .filter_map(Result::ok)
        .map(|entry| std::fs::read_to_string(entry.path()).expect("eml"))
        .collect();
    // The creation notice (sent by the first run's delivery) and the expiry notice.
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert!(mails.iter().any(|mail| mail.contains("expires soon")));
    let bad = wvs(dir.path())
        .args(["jobs", "run", "nonsense"])
        .output()
        .expect("run");
    assert!(!bad.status.success());
}

#[test]
fn registry_cert_prints_the_same_certificate_every_time() {
    let dir = tempfile::tempdir().expect("dir");
    let print = || {
        let output = wvs(dir.path())
            .args(["registry", "cert"])
            .output()
            .expect("run");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("utf-8")
    };
    let first = print();
    assert!(first.starts_with("-----BEGIN CERTIFICATE-----"), "{first}");
    assert!(!first.contains("PRIVATE KEY"));
    assert_eq!(print(), first);
    let key = dir.path().join("wvs-data/registry/key.pem");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).expect("key").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the registry key is private");
    }
}

#[test]
fn shell_impersonation_tokens_work_and_future_expired_runs_are_refused() {
    let dir = tempfile::tempdir().expect("dir");
    for (username, admin) in [("root", true), ("bob", false)] {
        let mut command = wvs(dir.path());
        command.args([
            "user",
            "create",
            "--username",
            username,
            "--email",
            &format!("{username}@example.com"),
        ]);
        if admin {
            command.arg("--admin");
        }
        assert!(command.output().expect("run").status.success());
    }
    let output = wvs(dir.path())
        .args([
            "token",
            "create",
            "--username",
            "bob",
            "--name",
            "support",
            "--scopes",
            "read_api",
            "--impersonation",
        ])
        .output()
        .expect("run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        wvs::tokens::secret::TokenSecret::parse(String::from_utf8_lossy(&output.stdout).trim())
            .is_ok()
    );
    let tomorrow = Utc::now()
        .date_naive()
        .checked_add_days(Days::new(1))
        .expect("date");
    let output = wvs(dir.path())
        .args([
            "jobs",
            "run",
            "expired-tokens",
            "--date",
            &tomorrow.to_string(),
        ])
        .output()
        .expect("run");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--date"));
}
