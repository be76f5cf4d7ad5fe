//! Generated avatars: the user's initials on a colour derived from their id. No external
//! service is asked, so no third party learns who looks at whom.

use axum::{
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};

use crate::{state::AppState, users};

const COLOURS: [&str; 8] = [
    "#1f75cb", "#6f42c1", "#108548", "#c17d10", "#dd2b0e", "#0a7f8c", "#8f4700", "#535158",
];

/// `GET /-/avatars/{id}.svg`
pub async fn avatar(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let Some(id) = file
        .strip_suffix(".svg")
        .and_then(|id| id.parse::<i64>().ok())
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match users::find_by_id(&state.db, id).await {
        Ok(Some(user)) => (
            [
                (header::CONTENT_TYPE, "image/svg+xml"),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            svg(
                &initials(&user.name),
                COLOURS[(id.unsigned_abs() % 8) as usize],
            ),
        )
            .into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// Up to two initials, upper-cased, letters and digits only (so the SVG needs no escaping).
pub fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|word| word.chars().find(|c| c.is_alphanumeric()))
        .take(2)
        .flat_map(char::to_uppercase)
        .collect()
}

fn svg(initials: &str, colour: &str) -> String {
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64"><rect width="64" height="64" rx="32" fill="{colour}"/><text x="32" y="41" font-family="sans-serif" font-size="26" fill="#fff" text-anchor="middle">{initials}</text></svg>"##
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_take_the_first_letters_of_two_words() {
        assert_eq!(initials("Ada Lovelace King"), "AL");
        assert_eq!(initials("alice"), "A");
        assert_eq!(initials("<b> \"x\""), "BX");
        assert_eq!(initials(""), "");
    }
}
