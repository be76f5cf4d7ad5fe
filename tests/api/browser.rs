//! A real headless Chromium driven over the W3C WebDriver protocol (`chromedriver`), with
//! just the commands the web tests use. Absent Chromium, [`Browser::start`] says SKIPPED and
//! returns `None`, unless `WVS_REQUIRE_BROWSER` is set (as `.ci/run` does): then it fails.

use std::{path::Path, process::Stdio, time::Duration};

use base64::Engine;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

/// The key under which WebDriver returns an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A browser session; [`Browser::close`] ends it (dropping kills what is left).
pub struct Browser {
    http: reqwest::Client,
    session: String,
    driver: Child,
    profile: TempDir,
}

/// An element of the current page.
pub struct Element<'a> {
    browser: &'a Browser,
    id: String,
}

fn find_program(name: &str) -> Option<String> {
    let output = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .ok()?;
    let path = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    (output.status.success() && !path.is_empty()).then_some(path)
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a fresh profile.
    pub async fn start() -> Option<Browser> {
        let chromium = find_program("chromium").or_else(|| find_program("chromium-browser"));
        let (Some(chromium), Some(chromedriver)) = (chromium, find_program("chromedriver")) else {
            let message = "SKIPPED: the browser tests need Chromium and ChromeDriver (apt-get install -y chromium chromium-driver)";
            assert!(
                std::env::var_os("WVS_REQUIRE_BROWSER").is_none(),
                "{message}, and WVS_REQUIRE_BROWSER is set"
            );
            eprintln!("{message}");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("free port")
            .port();
        let mut driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        wait_until_started(driver.stdout.take().expect("chromedriver stdout")).await;
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let profile = tempfile::tempdir().expect("profile dir");
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": chromium,
                    "args": [
                        "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--disable-quic",
                        "--window-size=1280,1100", "--lang=en-US",
                        format!("--user-data-dir={}", profile.path().display()),
                    ]
                }
            }}
        });
        let answer: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("session json");
        let id = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {answer}"));
        let browser = Browser {
            http,
            session: format!("{base}/session/{id}"),
            driver,
            profile,
        };
        // Finding an element waits up to this long for it to appear (pages load on click).
        browser
            .command(
                "POST",
                "/timeouts",
                json!({ "implicit": 10_000, "pageLoad": 30_000 }),
            )
            .await;
        Some(browser)
    }

    async fn command(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.session);
        let request = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let answer: Value = request
            .send()
            .await
            .expect("WebDriver request")
            .json()
            .await
            .expect("WebDriver json");
        if let Some(error) = answer["value"]["error"].as_str() {
            panic!(
                "WebDriver {method} {path}: {error}: {}",
                answer["value"]["message"]
            );
        }
        answer["value"].clone()
    }

    /// Opens `url` and waits for it to load.
    pub async fn goto(&self, url: &str) {
        self.command("POST", "/url", json!({ "url": url })).await;
    }

    /// The address of the current page.
    pub async fn url(&self) -> String {
        self.command("GET", "/url", Value::Null)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The path (and query) of the current page.
    pub async fn path(&self) -> String {
        let url = self.url().await;
        let after_scheme = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
        after_scheme
            .find('/')
            .map_or("/".to_owned(), |at| after_scheme[at..].to_owned())
    }

    /// The first element matching a CSS selector, waiting for it to appear.
    pub async fn find(&self, selector: &str) -> Element<'_> {
        let value = self
            .command(
                "POST",
                "/element",
                json!({ "using": "css selector", "value": selector }),
            )
            .await;
        Element {
            browser: self,
            id: value[ELEMENT_KEY]
                .as_str()
                .unwrap_or_else(|| panic!("no element {selector}: {value}"))
                .to_owned(),
        }
    }

    /// Runs a script in the page and returns its result (for checks that something is absent,
    /// which `find` would wait out).
    pub async fn script(&self, script: &str) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            json!({ "script": script, "args": [] }),
        )
        .await
    }

    /// Clicks what matches `selector` (a link or a submit button) and waits until the next
    /// page has replaced this one, so that later lookups never see the old page.
    pub async fn click_through(&self, selector: &str) {
        self.script("window.__wvsOldPage = true; return null").await;
        self.find(selector).await.click().await;
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let loaded = self
                .script("return window.__wvsOldPage === undefined && document.readyState === 'complete'")
                .await;
            if loaded == true {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no new page after clicking {selector}"
            );
            // The browser is polled as WebDriver's own implicit waits do.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The visible text of the first element matching `selector`.
    pub async fn text(&self, selector: &str) -> String {
        self.find(selector).await.text().await
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        let encoded = self.command("GET", "/screenshot", Value::Null).await;
        base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().unwrap_or_default())
            .expect("base64 screenshot")
    }

    /// Resizes the window (the screenshot shows what fits in it).
    pub async fn resize(&self, width: u32, height: u32) {
        self.command(
            "POST",
            "/window/rect",
            json!({ "width": width, "height": height }),
        )
        .await;
    }

    /// Writes a screenshot to `<WVS_SCREENSHOT_DIR>/<name>` when that variable is set (how
    /// the README's picture is made), and returns it.
    pub async fn screenshot_to(&self, name: &str) -> Vec<u8> {
        let png = self.screenshot().await;
        if let Some(dir) = std::env::var_os("WVS_SCREENSHOT_DIR") {
            std::fs::write(Path::new(&dir).join(name), &png).expect("write screenshot");
        }
        png
    }

    /// Ends the session and the browser.
    pub async fn close(mut self) {
        let _ = self.command("DELETE", "", Value::Null).await;
        let _ = self.driver.kill().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // After a failed test the session was not closed: end its Chromium by its profile.
        let _ = std::process::Command::new("pkill")
            .args(["-f", &self.profile.path().display().to_string()])
            .status();
    }
}

impl Element<'_> {
    fn path(&self, rest: &str) -> String {
        format!("/element/{}{rest}", self.id)
    }

    pub async fn click(&self) {
        self.browser
            .command("POST", &self.path("/click"), json!({}))
            .await;
    }

    /// Replaces the field's content by typing `text`.
    pub async fn fill(&self, text: &str) {
        self.browser
            .command("POST", &self.path("/clear"), json!({}))
            .await;
        self.browser
            .command("POST", &self.path("/value"), json!({ "text": text }))
            .await;
    }

    pub async fn text(&self) -> String {
        self.browser
            .command("GET", &self.path("/text"), Value::Null)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// A DOM property (`value`, `checked`, `hidden`, …).
    pub async fn property(&self, name: &str) -> Value {
        self.browser
            .command("GET", &self.path(&format!("/property/{name}")), Value::Null)
            .await
    }

    pub async fn displayed(&self) -> bool {
        self.browser
            .command("GET", &self.path("/displayed"), Value::Null)
            .await
            .as_bool()
            .unwrap_or(false)
    }
}

/// Reads chromedriver's output until it says it listens, then keeps draining it.
async fn wait_until_started(stdout: tokio::process::ChildStdout) {
    let mut lines = BufReader::new(stdout).lines();
    let started = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("started successfully") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(started, Ok(true), "chromedriver did not start");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
}
