//! Parse, don't validate: token input becomes these types through one fallible constructor
//! each, and every entry point (GraphQL, web form, shell) goes through them.

use chrono::{Days, NaiveDate};

use crate::{
    error::{Error, Result},
    tokens::scope::{Scope, ScopeSet},
};

/// A token name: 1–255 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenName(String);

impl TokenName {
    pub const MAX_CHARS: usize = 255;

    pub fn parse(raw: &str) -> Result<TokenName> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(Error::bad_input("name", "can't be blank"));
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(Error::bad_input(
                "name",
                "is too long (maximum is 255 characters)",
            ));
        }
        if name
            .chars()
            .any(|c| c.is_control() || is_direction_override(c))
        {
            return Err(Error::bad_input(
                "name",
                "must not contain control or text-direction characters",
            ));
        }
        if !name.chars().any(|c| !c.is_whitespace() && !is_invisible(c)) {
            return Err(Error::bad_input("name", "must contain a visible character"));
        }
        Ok(TokenName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Characters that reorder the text around them, used to make names look like others.
fn is_direction_override(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
}

/// Zero-width and other invisible format characters.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{00AD}')
}

/// An optional description of at most 1000 characters; blank means none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenDescription(Option<String>);

impl TokenDescription {
    pub const MAX_CHARS: usize = 1000;

    pub fn parse(raw: Option<&str>) -> Result<TokenDescription> {
        let Some(text) = raw.map(str::trim).filter(|text| !text.is_empty()) else {
            return Ok(TokenDescription(None));
        };
        if text.chars().count() > Self::MAX_CHARS {
            return Err(Error::bad_input(
                "description",
                "is too long (maximum is 1000 characters)",
            ));
        }
        if text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            return Err(Error::bad_input(
                "description",
                "must not contain control characters",
            ));
        }
        Ok(TokenDescription(Some(text.to_owned())))
    }

    pub fn into_inner(self) -> Option<String> {
        self.0
    }
}

/// The scopes asked for: at least one, no repeats.
pub fn parse_scopes(requested: &[Scope]) -> Result<ScopeSet> {
    if requested.is_empty() {
        return Err(Error::bad_input("scopes", "select at least one scope"));
    }
    ScopeSet::from_distinct(requested)
        .ok_or_else(|| Error::bad_input("scopes", "must not contain the same scope twice"))
}

/// Scope names as typed on a command line or in a form: `api,read_user`.
pub fn parse_scope_names(names: &str) -> Result<ScopeSet> {
    let mut scopes = Vec::new();
    for name in names
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
    {
        let scope = Scope::from_name(name)
            .ok_or_else(|| Error::bad_input("scopes", format!("unknown scope {name:?}")))?;
        scopes.push(scope);
    }
    parse_scopes(&scopes)
}

/// The instance's rules for expiry dates.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExpiryPolicy {
    /// Longest lifetime in days, inclusive (`today + N` is the last allowed date).
    pub max_lifetime_days: Option<u32>,
    /// Every token must expire; a missing date then means the longest lifetime allowed.
    pub require_expiry: bool,
}

/// A validated expiry: `None` never expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiryDate(Option<NaiveDate>);

impl ExpiryDate {
    /// Checks `requested` against `today` (UTC) and the policy. With a maximum lifetime
    /// and no date, the token gets the longest lifetime allowed.
    pub fn parse(
        requested: Option<NaiveDate>,
        today: NaiveDate,
        policy: ExpiryPolicy,
    ) -> Result<ExpiryDate> {
        let latest = policy
            .max_lifetime_days
            .and_then(|days| today.checked_add_days(Days::new(days.into())));
        match (requested, latest) {
            (None, None) if policy.require_expiry => Err(Error::bad_input(
                "expiresAt",
                "is required: this instance does not allow tokens that never expire",
            )),
            (None, latest) => Ok(ExpiryDate(latest)),
            (Some(date), _) if date <= today => Err(Error::bad_input(
                "expiresAt",
                format!("must be after today ({today})"),
            )),
            (Some(date), Some(latest)) if date > latest => Err(Error::bad_input(
                "expiresAt",
                format!(
                    "must be on or before {latest} (the instance allows at most {} days)",
                    policy.max_lifetime_days.unwrap_or_default()
                ),
            )),
            (Some(date), _) => Ok(ExpiryDate(Some(date))),
        }
    }

    pub fn date(self) -> Option<NaiveDate> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().expect("date")
    }

    #[test]
    fn names_are_trimmed_counted_in_characters_and_bounded() {
        assert_eq!(TokenName::parse("  CI  ").expect("name").as_str(), "CI");
        assert!(TokenName::parse("   ").is_err());
        assert!(TokenName::parse(&"é".repeat(255)).is_ok());
        assert!(TokenName::parse(&"é".repeat(256)).is_err());
        assert!(TokenName::parse("a\u{0}b").is_err());
        assert!(TokenName::parse("\u{202E}\u{200B}").is_err());
        assert!(TokenName::parse("\u{200B}\u{FEFF}").is_err());
        assert!(TokenName::parse("ci\u{2066}x").is_err());
        assert!(TokenName::parse("a\u{2028}b").is_err());
        assert!(TokenName::parse("日本語").is_ok());
    }

    #[test]
    fn descriptions_are_optional_and_bounded() {
        assert_eq!(
            TokenDescription::parse(None).expect("none").into_inner(),
            None
        );
        assert_eq!(
            TokenDescription::parse(Some(" "))
                .expect("blank")
                .into_inner(),
            None
        );
        assert!(TokenDescription::parse(Some(&"x".repeat(1000))).is_ok());
        assert!(TokenDescription::parse(Some(&"x".repeat(1001))).is_err());
    }

    #[test]
    fn scopes_must_be_known_distinct_and_present() {
        assert_eq!(
            parse_scope_names("api, read_user").expect("ok").to_stored(),
            "api,read_user"
        );
        assert!(parse_scope_names("").is_err());
        assert!(parse_scope_names("api,api").is_err());
        assert!(parse_scope_names("api,admin").is_err());
    }

    #[test]
    fn expiry_must_be_after_today_and_within_the_maximum_inclusive() {
        let today = day("2027-01-31");
        let open = ExpiryPolicy::default();
        let capped = ExpiryPolicy {
            max_lifetime_days: Some(30),
            require_expiry: false,
        };
        let required = ExpiryPolicy {
            max_lifetime_days: None,
            require_expiry: true,
        };
        assert!(ExpiryDate::parse(None, today, required).is_err());
        assert!(ExpiryDate::parse(Some(day("2030-01-01")), today, required).is_ok());
        assert!(ExpiryDate::parse(Some(today), today, open).is_err());
        assert!(ExpiryDate::parse(Some(day("2027-01-01")), today, open).is_err());
        assert_eq!(
            ExpiryDate::parse(Some(day("2027-02-01")), today, open)
                .expect("ok")
                .date(),
            Some(day("2027-02-01"))
        );
        assert_eq!(
            ExpiryDate::parse(None, today, open).expect("ok").date(),
            None
        );
        assert!(ExpiryDate::parse(Some(day("2027-03-02")), today, capped).is_ok());
        assert!(ExpiryDate::parse(Some(day("2027-03-03")), today, capped).is_err());
        assert_eq!(
            ExpiryDate::parse(None, today, capped).expect("ok").date(),
            Some(day("2027-03-02"))
        );
    }
}
