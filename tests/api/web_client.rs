//! A browser-like HTTP client for the web pages' plain-HTTP tests: it keeps cookies, does
//! not follow redirects (tests assert them), and reads hidden form fields out of pages.

use std::{collections::BTreeMap, net::SocketAddr};

use reqwest::{StatusCode, header};

/// What a page request answered.
#[derive(Debug)]
pub struct WebResponse {
    pub status: StatusCode,
    pub headers: header::HeaderMap,
    pub body: String,
}

impl WebResponse {
    /// The `Location` of a redirect.
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
    }

    /// Every `Set-Cookie` line.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok().map(str::to_owned))
            .collect()
    }

    /// The `Set-Cookie` line for `name`.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.set_cookies()
            .into_iter()
            .find(|line| line.starts_with(&format!("{name}=")))
    }

    /// The value of the first `<input … name="{name}" … value="…">` in the page.
    pub fn hidden(&self, name: &str) -> String {
        input_value(&self.body, name).unwrap_or_else(|| panic!("no input {name}: {}", self.body))
    }
}

/// The `value` attribute of the first input named `name` in `html`.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let marker = format!(r#"name="{name}""#);
    let start = html.find(&marker)?;
    let tag_start = html[..start].rfind('<')?;
    let tag_end = start + html[start..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let value_start = tag.find(r#"value=""#)? + 7;
    let value_end = value_start + tag[value_start..].find('"')?;
    Some(unescape(&tag[value_start..value_end]))
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// One browser: a cookie jar and a client that never follows redirects.
pub struct WebClient {
    base: String,
    client: reqwest::Client,
    pub cookies: BTreeMap<String, String>,
}

impl WebClient {
    pub fn new(addr: SocketAddr) -> WebClient {
        WebClient::from_address(addr, None)
    }

    /// A browser connecting from `local` (another client address, for the rate limits).
    pub fn from_address(addr: SocketAddr, local: Option<std::net::IpAddr>) -> WebClient {
        let mut builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
        if let Some(local) = local {
            builder = builder.local_address(local);
        }
        WebClient {
            base: format!("http://{addr}"),
            client: builder.build().expect("client"),
            cookies: BTreeMap::new(),
        }
    }

    pub async fn get(&mut self, path: &str) -> WebResponse {
        let request = self.client.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> WebResponse {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        self.send(request).await
    }

    async fn send(&mut self, mut request: reqwest::RequestBuilder) -> WebResponse {
        if !self.cookies.is_empty() {
            let line = self
                .cookies
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join("; ");
            request = request.header(header::COOKIE, line);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.expect("body");
        let response = WebResponse {
            status,
            headers,
            body,
        };
        if status.is_client_error() || status.is_server_error() {
            crate::harness::evidence::record_error_body(&response.body);
        }
        for line in response.set_cookies() {
            let pair = line.split(';').next().unwrap_or_default();
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            if value.is_empty() || line.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        response
    }

    /// Signs in through the form (expecting success) and returns where it redirected.
    pub async fn sign_in(&mut self, login: &str, password: &str) -> String {
        let response = self.try_sign_in(login, password, None).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
        response.location().to_owned()
    }

    /// Submits the sign-in form, as a browser would after loading it.
    pub async fn try_sign_in(
        &mut self,
        login: &str,
        password: &str,
        redirect_to: Option<&str>,
    ) -> WebResponse {
        let form = self.get("/users/sign_in").await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        let csrf = form.hidden("authenticity_token");
        let mut fields = vec![
            ("authenticity_token", csrf.as_str()),
            ("login", login),
            ("password", password),
        ];
        if let Some(path) = redirect_to {
            fields.push(("redirect_to", path));
        }
        self.post("/users/sign_in", &fields).await
    }

    /// The Access Tokens page's CSRF token and a fresh create-form nonce.
    pub async fn create_form(&mut self) -> (String, String) {
        let page = self.get("/-/user_settings/personal_access_tokens").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        (page.hidden("authenticity_token"), page.hidden("form_nonce"))
    }
}
