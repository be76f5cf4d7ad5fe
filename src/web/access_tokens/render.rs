//! Rendering the Access Tokens page: notices, the token just created (shown this once),
//! the create form, and the active tokens (with Revoke and Rotate) and the recent inactive
//! ones. Every interpolated text goes through `escape`.

use std::fmt::Write;

use axum::{http::StatusCode, response::Response};
use chrono::{Days, NaiveDate};
use entity::personal_access_token as pat;

use crate::{
    error::{Error, Result},
    pagination::PageRequest,
    state::AppState,
    tokens::{
        self,
        create::{self, CreatedToken},
        input::ExpiryPolicy,
        list::{ListFilter, StateFilter},
        scope::{Scope, ScopeSet},
    },
    web::{
        ACCESS_TOKENS,
        access_tokens::{form::CreateForm, principal},
        error_page, form as fields,
        html::{self, SettingsPage, Viewer, escape},
        html_response,
        session::{self, SignedIn},
    },
};

/// Days ahead the expiry date is set to by default.
const DEFAULT_LIFETIME_DAYS: u64 = 30;
/// Active tokens per page.
const PAGE_SIZE: i32 = 100;
/// Inactive tokens shown (most recent first).
const INACTIVE_SHOWN: i32 = 20;

/// What one rendering of the page shows besides the token lists.
#[derive(Default)]
pub struct View<'a> {
    pub form: CreateForm,
    /// A token just created or rotated: its secret is shown this once.
    pub created: Option<&'a CreatedToken>,
    /// Informational messages (what a prefill link ignored, a revocation done).
    pub notices: Vec<String>,
    /// Refusals that belong to no form field.
    pub alerts: Vec<String>,
    /// The active-token page cursor.
    pub after: Option<&'a str>,
}

/// Renders the whole page.
pub async fn respond(
    state: &AppState,
    signed_in: &SignedIn,
    status: StatusCode,
    view: View<'_>,
) -> Response {
    match render(state, signed_in, view).await {
        Ok(body) => html_response(
            status,
            html::render(html::Page {
                title: "Personal access tokens",
                viewer: Some(Viewer {
                    user: &signed_in.user,
                    csrf_token: &signed_in.csrf_token,
                }),
                settings: Some(SettingsPage::AccessTokens),
                body,
            }),
        ),
        Err(error) => error_page(&error),
    }
}

async fn render(state: &AppState, signed_in: &SignedIn, view: View<'_>) -> Result<String> {
    let principal = principal(signed_in, None);
    let today = state.clock.today();
    let page = PageRequest::parse(Some(PAGE_SIZE), view.after)
        .unwrap_or(PageRequest::parse(Some(PAGE_SIZE), None)?);
    let active = tokens::list::list(
        state,
        &principal,
        ListFilter {
            state: StateFilter::Active,
            ..ListFilter::default()
        },
        page,
    )
    .await?;
    let inactive = tokens::list::list(
        state,
        &principal,
        ListFilter {
            state: StateFilter::Inactive,
            ..ListFilter::default()
        },
        PageRequest::parse(Some(INACTIVE_SHOWN), None)?,
    )
    .await?;
    let mut body = String::with_capacity(8192);
    body.push_str(
        r#"<h1>Personal access tokens</h1>
<p class="lead">Personal access tokens authenticate you to the WVS API, to Git over HTTP and to the container registry, in place of your password. Create one per application, with only the scopes it needs and an expiry date.</p>
"#,
    );
    for alert in &view.alerts {
        let _ = writeln!(
            body,
            r#"<p class="alert danger" role="alert" data-testid="alert">{}</p>"#,
            escape(alert)
        );
    }
    for notice in &view.notices {
        let _ = writeln!(
            body,
            r#"<p class="alert info" role="status" data-testid="notice">{}</p>"#,
            escape(notice)
        );
    }
    if let Some(created) = view.created {
        let _ = write!(
            body,
            r#"<section class="alert success created-token" aria-labelledby="created-token-heading" data-testid="created-token-section">
<h2 id="created-token-heading">Your new personal access token “{name}”</h2>
<div class="copy-row">
<input id="created-token" data-testid="created-token" readonly value="{secret}" aria-label="Your new personal access token" autocomplete="off" spellcheck="false">
<button type="button" class="secondary" data-copy-target="created-token" hidden>Copy token</button>
</div>
<p><strong>Make sure you save it now: you won't be able to see it again.</strong></p>
</section>
"#,
            name = escape(&created.token.name),
            secret = escape(created.secret.expose()),
        );
    }
    match create::expiry_policy(state).await {
        Ok(policy) => render_form(&mut body, signed_in, &view.form, policy, today),
        Err(Error::Forbidden(message)) => {
            let _ = writeln!(
                body,
                r#"<p class="alert danger" role="alert">{}</p>"#,
                escape(&message)
            );
        }
        Err(error) => return Err(error),
    }
    let _ = write!(
        body,
        r#"<section aria-labelledby="active-heading">
<h2 id="active-heading">Active personal access tokens <span class="badge" data-testid="active-count">{}</span></h2>
<table class="tokens" data-testid="active-tokens">
<thead><tr><th scope="col">Token name</th><th scope="col">Scopes</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Expires</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
<tbody>
"#,
        active.items.len()
    );
    if active.items.is_empty() {
        body.push_str(
            "<tr><td colspan=\"6\" class=\"muted\">You have no active personal access tokens.</td></tr>\n",
        );
    }
    for (_, token) in &active.items {
        active_row(&mut body, token, today, &signed_in.csrf_token);
    }
    body.push_str("</tbody>\n</table>\n");
    if active.has_next_page
        && let Some((cursor, _)) = active.items.last()
    {
        let _ = writeln!(
            body,
            r#"<p><a href="{ACCESS_TOKENS}?after={}">Show older tokens</a></p>"#,
            escape(&fields::encode(cursor))
        );
    }
    body.push_str("</section>\n");
    let _ = write!(
        body,
        r#"<section aria-labelledby="inactive-heading">
<h2 id="inactive-heading">Inactive personal access tokens</h2>
<table class="tokens" data-testid="inactive-tokens">
<thead><tr><th scope="col">Token name</th><th scope="col">Scopes</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">State</th></tr></thead>
<tbody>
"#
    );
    if inactive.items.is_empty() {
        body.push_str(
            "<tr><td colspan=\"5\" class=\"muted\">No revoked or expired tokens.</td></tr>\n",
        );
    }
    for (_, token) in &inactive.items {
        let state = match (token.revoked_at, token.expires_at) {
            (Some(at), _) => format!("Revoked {}", at.format("%Y-%m-%d")),
            (None, Some(date)) => format!("Expired {date}"),
            (None, None) => "Inactive".to_owned(),
        };
        let _ = writeln!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&token.name),
            scopes(token),
            token.created_at.format("%Y-%m-%d"),
            last_used(token),
            escape(&state),
        );
    }
    body.push_str("</tbody>\n</table>\n</section>\n");
    Ok(body)
}

fn render_form(
    body: &mut String,
    signed_in: &SignedIn,
    form: &CreateForm,
    policy: ExpiryPolicy,
    today: NaiveDate,
) {
    let tomorrow = today.checked_add_days(Days::new(1)).unwrap_or(today);
    let latest = policy
        .max_lifetime_days
        .and_then(|days| today.checked_add_days(Days::new(days.into())));
    let default_date = today
        .checked_add_days(Days::new(DEFAULT_LIFETIME_DAYS))
        .map(|date| latest.map_or(date, |latest| date.min(latest)));
    let expires_value = match &form.expires_at {
        Some(text) => text.clone(),
        None => default_date
            .map(|date| date.to_string())
            .unwrap_or_default(),
    };
    let expiry_hint = match (policy.require_expiry || latest.is_some(), latest) {
        (_, Some(latest)) => format!("This instance allows dates up to {latest}."),
        (true, None) => "This instance requires an expiry date.".to_owned(),
        (false, None) => "Leave empty for a token that never expires.".to_owned(),
    };
    let _ = write!(
        body,
        r#"<section class="card" aria-labelledby="add-heading">
<h2 id="add-heading">Add a personal access token</h2>
{form_error}<form method="post" action="{ACCESS_TOKENS}" class="stack" data-testid="create-form">
{csrf}<input type="hidden" name="form_nonce" value="{nonce}">
<div class="field">
<label for="token-name">Token name</label>
<input id="token-name" name="name" maxlength="255" required value="{name}"{name_invalid}>
{name_error}</div>
<div class="field">
<label for="token-description">Description <span class="muted">(optional)</span></label>
<textarea id="token-description" name="description" maxlength="1000" rows="2"{description_invalid}>{description}</textarea>
{description_error}</div>
<div class="field">
<label for="token-expires-at">Expiration date</label>
<input id="token-expires-at" name="expires_at" type="date" value="{expires}" min="{tomorrow}"{max}{required} aria-describedby="token-expires-at-hint"{expires_invalid}>
<p class="hint" id="token-expires-at-hint">{expiry_hint}</p>
{expires_error}</div>
<fieldset class="field scopes">
<legend>Select scopes</legend>
<p class="hint">Scopes set the permission levels granted to the token.</p>
"#,
        form_error = form
            .errors
            .form
            .as_deref()
            .map(|message| format!(
                "<p class=\"alert danger\" role=\"alert\" data-testid=\"form-error\">{}</p>\n",
                escape(message)
            ))
            .unwrap_or_default(),
        csrf = html::csrf_field(&signed_in.csrf_token),
        nonce = session::random_cookie_value(),
        name = escape(&form.name),
        name_invalid = invalid(&form.errors.name, "token-name"),
        name_error = field_error(&form.errors.name, "token-name"),
        description = escape(&form.description),
        description_invalid = invalid(&form.errors.description, "token-description"),
        description_error = field_error(&form.errors.description, "token-description"),
        expires = escape(&expires_value),
        max = latest
            .map(|date| format!(" max=\"{date}\""))
            .unwrap_or_default(),
        required = if policy.require_expiry || latest.is_some() {
            " required"
        } else {
            ""
        },
        expires_invalid = invalid(&form.errors.expires_at, "token-expires-at"),
        expires_error = field_error(&form.errors.expires_at, "token-expires-at"),
        expiry_hint = escape(&expiry_hint),
    );
    for scope in Scope::ALL {
        if scope.admin_only() && !signed_in.user.admin {
            continue;
        }
        let name = scope.as_str();
        let _ = writeln!(
            body,
            r#"<div class="scope"><input type="checkbox" id="scope-{name}" name="scopes" value="{name}"{checked} aria-describedby="scope-{name}-description"><label for="scope-{name}">{name}</label><p class="hint" id="scope-{name}-description">{description}</p></div>"#,
            checked = if form.scopes.contains(&scope) {
                " checked"
            } else {
                ""
            },
            description = escape(scope.description()),
        );
    }
    let _ = write!(
        body,
        r#"{scopes_error}</fieldset>
<button type="submit" class="primary" data-testid="create-token">Create personal access token</button>
</form>
</section>
"#,
        scopes_error = field_error(&form.errors.scopes, "token-scopes"),
    );
}

/// Marks an input invalid and ties it to its message.
fn invalid(error: &Option<String>, id: &str) -> String {
    if error.is_some() {
        format!(r#" aria-invalid="true" aria-errormessage="{id}-error""#)
    } else {
        String::new()
    }
}

fn field_error(error: &Option<String>, id: &str) -> String {
    error
        .as_deref()
        .map(|message| {
            format!(
                "<p class=\"field-error\" id=\"{id}-error\" data-testid=\"{id}-error\">{}</p>\n",
                escape(message)
            )
        })
        .unwrap_or_default()
}

fn scopes(token: &pat::Model) -> String {
    let names: Vec<&str> = ScopeSet::from_stored(&token.scopes)
        .iter()
        .map(Scope::as_str)
        .collect();
    escape(&names.join(", "))
}

fn last_used(token: &pat::Model) -> String {
    match token.last_used_at {
        Some(at) => format!(
            r#"<time datetime="{}">{}</time>"#,
            at.to_rfc3339(),
            at.format("%Y-%m-%d %H:%M UTC")
        ),
        None => "Never".to_owned(),
    }
}

/// "2027-02-14 (in 30 days)", "Never", or "Expired".
fn expires(token: &pat::Model, today: NaiveDate) -> String {
    match token.expires_at {
        None => "Never".to_owned(),
        Some(date) => match (date - today).num_days() {
            days if days <= 0 => "Expired".to_owned(),
            1 => format!(r#"<time datetime="{date}">{date}</time> (in 1 day)"#),
            days => format!(r#"<time datetime="{date}">{date}</time> (in {days} days)"#),
        },
    }
}

fn active_row(body: &mut String, token: &pat::Model, today: NaiveDate, csrf_token: &str) {
    let name = escape(&token.name);
    let description = token
        .description
        .as_deref()
        .map(|text| format!(r#"<div class="muted">{}</div>"#, escape(text)))
        .unwrap_or_default();
    let _ = writeln!(
        body,
        r#"<tr data-token-id="{id}"><td>{name}{description}</td><td>{scopes}</td><td><time datetime="{created}">{created}</time></td><td data-testid="last-used-{id}">{last_used}</td><td>{expires}</td><td class="actions">
<details class="confirm"><summary data-testid="rotate-{id}">Rotate</summary>
<form method="post" action="{ACCESS_TOKENS}/{id}/rotate">{csrf}<input type="hidden" name="form_nonce" value="{nonce}"><p>Rotate <strong>{name}</strong>? It stops working at once and a new token with the same name and scopes is shown once.</p><button type="submit" class="primary" data-testid="confirm-rotate-{id}">Rotate token</button></form>
</details>
<details class="confirm"><summary class="danger-button" data-testid="revoke-{id}">Revoke</summary>
<form method="post" action="{ACCESS_TOKENS}/{id}/revoke">{csrf}<p>Revoke <strong>{name}</strong>? Anything using it stops working at once. This cannot be undone.</p><button type="submit" class="danger" data-testid="confirm-revoke-{id}">Revoke token</button></form>
</details></td></tr>"#,
        id = token.id,
        scopes = scopes(token),
        created = token.created_at.format("%Y-%m-%d"),
        last_used = last_used(token),
        expires = expires(token, today),
        csrf = html::csrf_field(csrf_token),
        nonce = session::random_cookie_value(),
    );
}
