//! The create form's values and messages: read from a submitted form into the token
//! service's request, or from a prefill link into what the form shows.

use chrono::NaiveDate;

use crate::{
    error::Error,
    tokens::{
        create::CreateRequest,
        input::{TokenDescription, TokenName},
        scope::Scope,
    },
    web::form::{self, Fields},
};

/// Scope names read from a prefill link at most (there are eight).
const MAX_PREFILL_SCOPES: usize = 32;

/// What the create form shows: values, and a message per field.
#[derive(Debug, Default)]
pub struct CreateForm {
    pub name: String,
    pub description: String,
    /// `None`: the default date; `Some("")`: never expires.
    pub expires_at: Option<String>,
    pub scopes: Vec<Scope>,
    pub errors: FieldErrors,
}

#[derive(Debug, Default)]
pub struct FieldErrors {
    pub name: Option<String>,
    pub description: Option<String>,
    pub expires_at: Option<String>,
    pub scopes: Option<String>,
    /// A refusal that names no field (tokens disabled, …).
    pub form: Option<String>,
}

impl FieldErrors {
    /// Puts a service refusal next to the field it names.
    pub fn from_error(error: &Error) -> FieldErrors {
        let mut errors = FieldErrors::default();
        match error {
            Error::BadInput { field, message } => {
                let slot = match field.as_str() {
                    "name" => &mut errors.name,
                    "description" => &mut errors.description,
                    "expiresAt" => &mut errors.expires_at,
                    "scopes" => &mut errors.scopes,
                    _ => &mut errors.form,
                };
                *slot = Some(message.clone());
            }
            other => errors.form = Some(other.to_string()),
        }
        errors
    }
}

impl CreateForm {
    /// A submitted form as it will be shown again, and the service request it makes, or
    /// `None` when the form itself cannot be read (a bad date, an unknown scope name).
    /// Everything else is checked by the token service, as for GraphQL.
    pub fn submitted(fields: &Fields) -> (CreateForm, Option<CreateRequest>) {
        let mut form = CreateForm {
            name: fields.get("name").unwrap_or_default().to_owned(),
            description: fields.get("description").unwrap_or_default().to_owned(),
            expires_at: Some(fields.get("expires_at").unwrap_or_default().to_owned()),
            ..CreateForm::default()
        };
        for value in fields.all("scopes") {
            match Scope::from_name(value) {
                Some(scope) if !form.scopes.contains(&scope) => form.scopes.push(scope),
                Some(_) => {}
                None => {
                    form.errors.scopes = Some(format!(
                        "unknown scope {:?}",
                        form::truncate(value, 40).as_ref()
                    ))
                }
            }
        }
        let expires_at = match fields.get("expires_at").map(str::trim) {
            None | Some("") => None,
            Some(text) => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                Ok(date) => Some(date),
                Err(_) => {
                    form.errors.expires_at = Some("is not a valid date (YYYY-MM-DD)".into());
                    None
                }
            },
        };
        if form.errors.scopes.is_some() || form.errors.expires_at.is_some() {
            return (form, None);
        }
        let request = CreateRequest {
            name: form.name.clone(),
            description: Some(form.description.clone()),
            expires_at,
            scopes: form.scopes.clone(),
        };
        (form, Some(request))
    }
}

/// The form as a prefill link asks for it (`scopes` comma-separated, or repeated), and a
/// notice of what was ignored from the link.
pub fn prefill(query: &Fields, admin: bool) -> (CreateForm, Vec<String>) {
    let mut form = CreateForm {
        name: form::truncate(query.get("name").unwrap_or_default(), TokenName::MAX_CHARS)
            .into_owned(),
        description: form::truncate(
            query.get("description").unwrap_or_default(),
            TokenDescription::MAX_CHARS,
        )
        .into_owned(),
        ..CreateForm::default()
    };
    let mut ignored = Vec::new();
    for name in query
        .all("scopes")
        .flat_map(|names| names.split(','))
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .take(MAX_PREFILL_SCOPES)
    {
        match Scope::from_name(name) {
            Some(scope) if scope.admin_only() && !admin => {
                ignored.push(format!("{} (administrators only)", scope.as_str()));
            }
            Some(scope) if !form.scopes.contains(&scope) => form.scopes.push(scope),
            Some(_) => {}
            None => ignored.push(format!("“{}” (unknown)", form::truncate(name, 40))),
        }
    }
    let notices = if ignored.is_empty() {
        Vec::new()
    } else {
        vec![format!(
            "The link asked for scopes this form ignores: {}.",
            ignored.join(", ")
        )]
    };
    (form, notices)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefill_link_keeps_known_scopes_once_and_names_the_rest() {
        let query = Fields::parse(b"name=CI&scopes=api,%20read_user,,api,sudo,root&description=d");
        let (form, notices) = prefill(&query, false);
        assert_eq!(form.name, "CI");
        assert_eq!(form.description, "d");
        assert_eq!(form.scopes, [Scope::Api, Scope::ReadUser]);
        assert_eq!(notices.len(), 1);
        assert!(
            notices[0].contains("sudo (administrators only)"),
            "{notices:?}"
        );
        assert!(notices[0].contains("“root” (unknown)"), "{notices:?}");

        let (form, notices) = prefill(&query, true);
        assert_eq!(form.scopes, [Scope::Api, Scope::ReadUser, Scope::Sudo]);
        assert!(!notices[0].contains("sudo"));
    }

    #[test]
    fn prefill_values_are_cut_to_what_the_service_accepts() {
        let long = format!("name={}&description={}", "n".repeat(300), "d".repeat(1200));
        let (form, notices) = prefill(&Fields::parse(long.as_bytes()), false);
        assert_eq!(form.name.chars().count(), TokenName::MAX_CHARS);
        assert_eq!(
            form.description.chars().count(),
            TokenDescription::MAX_CHARS
        );
        assert!(form.scopes.is_empty() && notices.is_empty());
        let many = format!("scopes={}", "x,".repeat(10_000));
        let (_, notices) = prefill(&Fields::parse(many.as_bytes()), false);
        assert!(notices[0].len() < 1000, "{}", notices[0].len());
    }

    #[test]
    fn a_submitted_form_becomes_the_services_request() {
        let fields = Fields::parse(
            b"name=CI&description=&expires_at=2027-02-01&scopes=api&scopes=api&scopes=read_user",
        );
        let (form, request) = CreateForm::submitted(&fields);
        let request = request.expect("request");
        assert_eq!(request.name, "CI");
        assert_eq!(request.scopes, [Scope::Api, Scope::ReadUser]);
        assert_eq!(request.expires_at, "2027-02-01".parse().ok());
        assert_eq!(form.expires_at.as_deref(), Some("2027-02-01"));

        let (form, request) = CreateForm::submitted(&Fields::parse(b"name=CI&expires_at="));
        assert!(request.expect("request").expires_at.is_none());
        assert!(form.errors.expires_at.is_none());
    }

    #[test]
    fn what_the_form_cannot_read_is_named_at_its_field() {
        let (form, request) =
            CreateForm::submitted(&Fields::parse(b"name=CI&expires_at=01/02/2027&scopes=root"));
        assert!(request.is_none());
        assert_eq!(
            form.errors.expires_at.as_deref(),
            Some("is not a valid date (YYYY-MM-DD)")
        );
        assert_eq!(
            form.errors.scopes.as_deref(),
            Some("unknown scope \"root\"")
        );
        assert_eq!(form.name, "CI");
    }
}
