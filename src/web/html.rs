//! HTML building: one escaping function every interpolated text goes through, and the
//! page layout (top bar with the avatar menu, optional settings sidebar).

use std::fmt::Write;

use entity::user;

use crate::web::session::CSRF_FIELD;

/// Escapes text for use in element content and double-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Which settings page is shown (highlighted in the sidebar).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingsPage {
    Profile,
    AccessTokens,
}

/// The signed-in user shown in the top bar, with the CSRF token for the sign-out form.
pub struct Viewer<'a> {
    pub user: &'a user::Model,
    pub csrf_token: &'a str,
}

/// A whole page.
pub struct Page<'a> {
    pub title: &'a str,
    pub viewer: Option<Viewer<'a>>,
    pub settings: Option<SettingsPage>,
    /// Already-escaped body HTML.
    pub body: String,
}

/// A hidden CSRF field.
pub fn csrf_field(token: &str) -> String {
    format!(
        r#"<input type="hidden" name="{CSRF_FIELD}" value="{}">"#,
        escape(token)
    )
}

/// Renders the page.
pub fn render(page: Page<'_>) -> String {
    let mut html = String::with_capacity(page.body.len() + 2048);
    let _ = write!(
        html,
        r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · WVS</title>
<link rel="stylesheet" href="/-/assets/web.css">
<script src="/-/assets/web.js" defer></script>
</head>
<body>
<a class="skip-link" href="#content">Skip to content</a>
<header class="top-bar">
<a class="brand" href="/">WVS</a>
"##,
        title = escape(page.title)
    );
    if let Some(viewer) = &page.viewer {
        let user = viewer.user;
        let _ = write!(
            html,
            r#"<details class="user-menu">
<summary aria-label="User menu of {username}" data-testid="user-menu"><img class="avatar" src="/-/avatars/{id}.svg" alt="" width="32" height="32"></summary>
<div class="menu">
<p class="menu-user"><strong>{name}</strong><br><span class="muted">@{username}</span></p>
<a href="/-/user_settings/profile" data-testid="edit-profile">Edit profile</a>
<form method="post" action="/users/sign_out">{csrf}<button type="submit" class="link-button" data-testid="sign-out">Sign out</button></form>
</div>
</details>
"#,
            username = escape(&user.username),
            name = escape(&user.name),
            id = user.id,
            csrf = csrf_field(viewer.csrf_token),
        );
    }
    html.push_str("</header>\n<div class=\"layout\">\n");
    if let Some(current) = page.settings {
        let link = |target: SettingsPage, href: &str, label: &str, testid: &str| {
            let current = if target == current {
                r#" aria-current="page""#
            } else {
                ""
            };
            format!(r#"<a href="{href}" data-testid="{testid}"{current}>{label}</a>"#)
        };
        let _ = write!(
            html,
            "<nav class=\"sidebar\" aria-label=\"User settings\">\n{}\n{}\n</nav>\n",
            link(
                SettingsPage::Profile,
                "/-/user_settings/profile",
                "Profile",
                "nav-profile"
            ),
            link(
                SettingsPage::AccessTokens,
                "/-/user_settings/personal_access_tokens",
                "Access Tokens",
                "nav-access-tokens"
            ),
        );
    }
    let _ = write!(
        html,
        "<main id=\"content\">\n{}\n</main>\n</div>\n</body>\n</html>\n",
        page.body
    );
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metacharacter_is_escaped() {
        assert_eq!(
            escape(r#"<script>alert("x" + 'y') & co</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; + &#39;y&#39;) &amp; co&lt;/script&gt;"
        );
        assert_eq!(escape("日本語 ok"), "日本語 ok");
    }
}
