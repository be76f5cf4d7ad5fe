//! The bridge to `git http-backend` (CGI), streamed both ways: the request body is copied
//! to its stdin as it arrives and its stdout is streamed back as the response body, so a
//! large push or clone never sits in memory.

use std::{net::IpAddr, path::Path, process::Stdio};

use async_graphql::futures_util::TryStreamExt;
use axum::{
    body::Body,
    http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Response},
};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    process::Command,
};
use tokio_util::io::{ReaderStream, StreamReader};

/// One request for the CGI.
pub struct CgiRequest<'a> {
    pub project_root: &'a Path,
    /// `/namespace/project.git/info/refs` etc.
    pub path_info: String,
    pub method: &'a Method,
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub remote_user: &'a str,
    pub remote_addr: IpAddr,
}

/// Runs `git http-backend` for `request`, streaming `body` in and the answer out.
pub async fn run(request: CgiRequest<'_>, body: Body) -> Response {
    match spawn(request, body).await {
        Ok(response) => response,
        Err(error) => {
            tracing::error!(error = %error, "git http-backend failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn spawn(request: CgiRequest<'_>, body: Body) -> anyhow::Result<Response> {
    let header = |name: &str| {
        request
            .headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let mut command = Command::new("git");
    command
        .arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GIT_PROJECT_ROOT", request.project_root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", &request.path_info)
        .env("REQUEST_METHOD", request.method.as_str())
        .env("QUERY_STRING", request.query)
        .env("CONTENT_TYPE", header("content-type"))
        .env("REMOTE_USER", request.remote_user)
        .env("REMOTE_ADDR", request.remote_addr.to_string())
        .env("GIT_HTTP_MAX_REQUEST_BUFFER", "10M")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (variable, name) in [
        ("GIT_PROTOCOL", "git-protocol"),
        ("HTTP_CONTENT_ENCODING", "content-encoding"),
        ("CONTENT_LENGTH", "content-length"),
    ] {
        let value = header(name);
        if !value.is_empty() {
            command.env(variable, value);
        }
    }
    let mut child = command.spawn()?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdin"))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let mut stderr = child
        .stderr
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stderr"))?;

    // Request body → stdin, as it arrives.
    tokio::spawn(async move {
        let mut reader = StreamReader::new(body.into_data_stream().map_err(std::io::Error::other));
        if let Err(error) = tokio::io::copy(&mut reader, &mut stdin).await {
            tracing::debug!(error = %error, "git request body ended early");
        }
        let _ = stdin.shutdown().await;
    });
    // Reap the process and log what it complained about.
    tokio::spawn(async move {
        let mut complaints = String::new();
        let _ = stderr.read_to_string(&mut complaints).await;
        match child.wait().await {
            Ok(status) if status.success() => {}
            Ok(status) => {
                tracing::warn!(%status, stderr = complaints.trim(), "git http-backend exited with an error")
            }
            Err(error) => tracing::warn!(error = %error, "waiting for git http-backend failed"),
        }
    });

    // CGI headers, then the body streamed as is.
    let mut stdout = BufReader::new(stdout);
    let mut status = StatusCode::OK;
    let mut headers = HeaderMap::new();
    let mut line = String::new();
    loop {
        line.clear();
        if stdout.read_line(&mut line).await? == 0 {
            break;
        }
        let trimmed = line.trim_end_matches(['\r', '\n']);
        if trimmed.is_empty() {
            break;
        }
        let Some((name, value)) = trimmed.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split_whitespace().next().unwrap_or("500");
            status = code
                .parse::<u16>()
                .ok()
                .and_then(|code| StatusCode::from_u16(code).ok())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        } else if let (Ok(name), Ok(value)) =
            (HeaderName::try_from(name), HeaderValue::from_str(value))
        {
            headers.append(name, value);
        }
    }
    let mut response = Response::new(Body::from_stream(ReaderStream::new(stdout)));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Ok(response)
}
