//! Global ids: opaque strings of the form `gid://wvs/<Type>/<number>`.

use async_graphql::ID;

use crate::error::{Error, Result};

/// The kinds of object with an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    User,
    PersonalAccessToken,
    Project,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::User => "User",
            Kind::PersonalAccessToken => "PersonalAccessToken",
            Kind::Project => "Project",
        }
    }
}

/// The global id of a row.
pub fn encode(kind: Kind, id: i64) -> ID {
    ID(format!("gid://wvs/{}/{id}", kind.name()))
}

/// Reads a global id of `kind`; anything else is `BAD_USER_INPUT` naming `field`.
pub fn decode(kind: Kind, id: &str, field: &str) -> Result<i64> {
    id.trim()
        .strip_prefix("gid://wvs/")
        .and_then(|rest| rest.strip_prefix(kind.name()))
        .and_then(|rest| rest.strip_prefix('/'))
        // Canonical decimal only: no sign, no leading zeros.
        .filter(|number| number.bytes().all(|b| b.is_ascii_digit()) && !number.starts_with('0'))
        .and_then(|number| number.parse::<i64>().ok())
        .filter(|&number| number > 0)
        .ok_or_else(|| Error::bad_input(field, format!("is not a valid {} id", kind.name())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_other_kinds() {
        let id = encode(Kind::User, 7);
        assert_eq!(decode(Kind::User, &id, "id").expect("id"), 7);
        assert!(decode(Kind::PersonalAccessToken, &id, "id").is_err());
        assert!(decode(Kind::User, "7", "id").is_err());
        assert!(decode(Kind::User, "gid://wvs/User/-1", "id").is_err());
        assert!(decode(Kind::User, "gid://wvs/User/+7", "id").is_err());
        assert!(decode(Kind::User, "gid://wvs/User/07", "id").is_err());
        assert!(decode(Kind::User, "gid://wvs/User/99999999999999999999", "id").is_err());
    }
}
