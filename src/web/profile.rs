//! `/-/user_settings/profile`: who is signed in, with the settings sidebar.

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode, Uri},
    response::Response,
};

use crate::{
    state::AppState,
    web::{
        error_page,
        html::{self, SettingsPage, Viewer, escape},
        html_response, session, sign_in_first,
    },
};

/// `GET /-/user_settings/profile`
pub async fn page(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let signed_in = match session::find(&state, &headers).await {
        Ok(Some(signed_in)) => signed_in,
        Ok(None) => return sign_in_first(&uri),
        Err(error) => return error_page(&error),
    };
    let user = &signed_in.user;
    let role = if user.admin { "Administrator" } else { "User" };
    let body = format!(
        r#"<h1>Edit profile</h1>
<section class="card profile">
<img class="avatar large" src="/-/avatars/{id}.svg" alt="Avatar of {username}" width="96" height="96">
<dl>
<dt>Name</dt><dd data-testid="profile-name">{name}</dd>
<dt>Username</dt><dd data-testid="profile-username">@{username}</dd>
<dt>Email</dt><dd>{email}</dd>
<dt>Role</dt><dd>{role}</dd>
<dt>Member since</dt><dd><time datetime="{since}">{since}</time></dd>
</dl>
</section>
<p>Use <a href="/-/user_settings/personal_access_tokens">Access Tokens</a> to create tokens for the API, Git over HTTP and the container registry.</p>"#,
        id = user.id,
        username = escape(&user.username),
        name = escape(&user.name),
        email = escape(&user.email),
        since = user.created_at.format("%Y-%m-%d"),
    );
    html_response(
        StatusCode::OK,
        html::render(html::Page {
            title: "Edit profile",
            viewer: Some(Viewer {
                user,
                csrf_token: &signed_in.csrf_token,
            }),
            settings: Some(SettingsPage::Profile),
            body,
        }),
    )
}
