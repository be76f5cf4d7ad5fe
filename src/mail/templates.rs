//! The emails' words: plain text and HTML for each event, with every user-supplied string
//! escaped in HTML and percent-encoded in links.

use chrono::NaiveDate;
use entity::{personal_access_token as pat, user};

use crate::{mail::Email, tokens::scope::ScopeSet};

/// The Access Tokens page on this instance.
pub fn tokens_page(external_url: &str) -> String {
    format!("{external_url}/-/user_settings/personal_access_tokens")
}

/// A link that opens the Access Tokens page with the form filled in like `token`.
pub fn prefill_link(external_url: &str, token: &pat::Model) -> String {
    let scopes = ScopeSet::from_stored(&token.scopes).to_stored();
    let mut link = format!(
        "{}?name={}&scopes={}",
        tokens_page(external_url),
        percent_encode(&token.name),
        percent_encode(&scopes)
    );
    if let Some(description) = &token.description {
        link.push_str("&description=");
        link.push_str(&percent_encode(description));
    }
    link
}

/// A token was created for the user (by themselves, or an admin when `impersonation`).
pub fn token_created(
    external_url: &str,
    user: &user::Model,
    token: &pat::Model,
    created_by: Option<&str>,
) -> Email {
    let (kind, subject, what) = match created_by {
        Some(admin) => (
            "impersonation_token_created",
            "An administrator created an impersonation token for your account".to_owned(),
            format!(
                "Administrator {admin} created the impersonation token \"{}\" for your account.",
                token.name
            ),
        ),
        None => (
            "token_created",
            format!("A new personal access token was created: {}", token.name),
            format!(
                "A new personal access token \"{}\" was created on your account.",
                token.name
            ),
        ),
    };
    let details = vec![
        format!(
            "Scopes: {}",
            ScopeSet::from_stored(&token.scopes).to_stored()
        ),
        format!("Expires: {}", expiry_text(token.expires_at)),
    ];
    render(kind, subject, user, &what, &details, external_url, None)
}

/// A token was revoked.
pub fn token_revoked(external_url: &str, user: &user::Model, token: &pat::Model) -> Email {
    let what = format!(
        "The personal access token \"{}\" was revoked and no longer works.",
        token.name
    );
    render(
        "token_revoked",
        format!("A personal access token was revoked: {}", token.name),
        user,
        &what,
        &[],
        external_url,
        None,
    )
}

/// A token was rotated: revoked and replaced by `new`.
pub fn token_rotated(external_url: &str, user: &user::Model, new: &pat::Model) -> Email {
    let what = format!(
        "The personal access token \"{}\" was rotated: the old token no longer works and a new one replaces it.",
        new.name
    );
    let details = vec![format!(
        "The new token expires: {}",
        expiry_text(new.expires_at)
    )];
    render(
        "token_rotated",
        format!("A personal access token was rotated: {}", new.name),
        user,
        &what,
        &details,
        external_url,
        None,
    )
}

/// A revoked token was presented for rotation, so its whole rotation chain was revoked.
pub fn rotation_chain_revoked(external_url: &str, user: &user::Model, name: &str) -> Email {
    let what = format!(
        "Someone tried to rotate the personal access token \"{name}\", which had already been revoked. \
         As a precaution, every token of its rotation chain has been revoked. If this was not you, \
         the token may have leaked."
    );
    render(
        "rotation_chain_revoked",
        format!("Tokens revoked after a suspicious rotation: {name}"),
        user,
        &what,
        &[],
        external_url,
        None,
    )
}

/// Tokens expiring within seven days, each with a link to create its replacement.
pub fn tokens_expiring(external_url: &str, user: &user::Model, tokens: &[pat::Model]) -> Email {
    let subject = match tokens {
        [one] => format!("Your personal access token {} expires soon", one.name),
        many => format!("{} of your personal access tokens expire soon", many.len()),
    };
    let what = "These personal access tokens expire within seven days. Create replacements before \
                they stop working (each link opens the form filled in like the old token).";
    let lines: Vec<(String, String)> = tokens
        .iter()
        .map(|token| {
            (
                format!("{} (expires {})", token.name, expiry_text(token.expires_at)),
                prefill_link(external_url, token),
            )
        })
        .collect();
    render(
        "tokens_expiring",
        subject,
        user,
        what,
        &[],
        external_url,
        Some(&lines),
    )
}

/// Tokens that expired today.
pub fn tokens_expired(external_url: &str, user: &user::Model, tokens: &[pat::Model]) -> Email {
    let subject = match tokens {
        [one] => format!("Your personal access token {} has expired", one.name),
        many => format!("{} of your personal access tokens have expired", many.len()),
    };
    let details: Vec<String> = tokens
        .iter()
        .map(|token| format!("{} (expired {})", token.name, expiry_text(token.expires_at)))
        .collect();
    render(
        "tokens_expired",
        subject,
        user,
        "These personal access tokens have expired and no longer work.",
        &details,
        external_url,
        None,
    )
}

fn expiry_text(date: Option<NaiveDate>) -> String {
    date.map(|date| format!("{date} at 00:00 UTC"))
        .unwrap_or_else(|| "never".into())
}

fn render(
    kind: &'static str,
    subject: String,
    user: &user::Model,
    what: &str,
    details: &[String],
    external_url: &str,
    links: Option<&[(String, String)]>,
) -> Email {
    let page = tokens_page(external_url);
    let mut text = format!("Hi {},\n\n{what}\n", user.name);
    let mut html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\"><p>Hi {},</p><p>{}</p>",
        escape_html(&user.name),
        escape_html(what)
    );
    if !details.is_empty() {
        text.push('\n');
        html.push_str("<ul>");
        for line in details {
            text.push_str(&format!("- {line}\n"));
            html.push_str(&format!("<li>{}</li>", escape_html(line)));
        }
        html.push_str("</ul>");
    }
    if let Some(links) = links {
        text.push('\n');
        html.push_str("<ul>");
        for (label, link) in links {
            text.push_str(&format!("- {label}\n  Create a replacement: {link}\n"));
            html.push_str(&format!(
                "<li>{} — <a href=\"{}\">create a replacement</a></li>",
                escape_html(label),
                escape_html(link)
            ));
        }
        html.push_str("</ul>");
    }
    text.push_str(&format!("\nManage your tokens: {page}\n"));
    html.push_str(&format!(
        "<p><a href=\"{}\">Manage your personal access tokens</a></p></body></html>",
        escape_html(&page)
    ));
    Email {
        kind,
        subject: short_subject(&subject),
        text,
        html,
    }
}

/// Subjects stay on one line and readable: control characters dropped, long ones cut.
fn short_subject(subject: &str) -> String {
    const MAX_CHARS: usize = 150;
    let clean: String = subject.chars().filter(|c| !c.is_control()).collect();
    if clean.chars().count() <= MAX_CHARS {
        clean
    } else {
        let mut cut: String = clean.chars().take(MAX_CHARS - 1).collect();
        cut.push('…');
        cut
    }
}

/// Escapes text for HTML content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_one_bounded_line() {
        assert_eq!(short_subject("a\r\nb"), "ab");
        let long = short_subject(&"é".repeat(400));
        assert_eq!(long.chars().count(), 150);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn user_text_is_escaped_and_encoded() {
        assert_eq!(
            escape_html("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(percent_encode("CI & prod/é"), "CI%20%26%20prod%2F%C3%A9");
    }
}
