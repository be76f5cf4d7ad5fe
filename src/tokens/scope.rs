//! Scopes and what they grant: one truth table that every surface consults.

use std::fmt;

/// A permission a token can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    Api,
    ReadApi,
    ReadUser,
    ReadRepository,
    WriteRepository,
    ReadRegistry,
    WriteRegistry,
    Sudo,
}

impl Scope {
    /// Every scope, in canonical order.
    pub const ALL: [Scope; 8] = [
        Scope::Api,
        Scope::ReadApi,
        Scope::ReadUser,
        Scope::ReadRepository,
        Scope::WriteRepository,
        Scope::ReadRegistry,
        Scope::WriteRegistry,
        Scope::Sudo,
    ];

    /// The stored and documented name, e.g. `read_api`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Api => "api",
            Scope::ReadApi => "read_api",
            Scope::ReadUser => "read_user",
            Scope::ReadRepository => "read_repository",
            Scope::WriteRepository => "write_repository",
            Scope::ReadRegistry => "read_registry",
            Scope::WriteRegistry => "write_registry",
            Scope::Sudo => "sudo",
        }
    }

    /// Parses a documented name; case-insensitive so `API` from a shell also works.
    pub fn from_name(name: &str) -> Option<Scope> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str().eq_ignore_ascii_case(name.trim()))
    }

    /// What a person sees next to the checkbox.
    pub fn description(self) -> &'static str {
        match self {
            Scope::Api => {
                "Full read and write access to the API, Git repositories and the container registry."
            }
            Scope::ReadApi => {
                "Read access to the API (every query, no mutation), Git pull and registry pull."
            }
            Scope::ReadUser => {
                "Read access to user profiles only: the currentUser, user and users queries."
            }
            Scope::ReadRepository => "Pull from Git repositories over HTTP. No API access.",
            Scope::WriteRepository => {
                "Pull from and push to Git repositories over HTTP. No API access."
            }
            Scope::ReadRegistry => "Pull container images from the registry. No API access.",
            Scope::WriteRegistry => "Push container images to the registry. No API access.",
            Scope::Sudo => {
                "Act as any user with the Sudo header, when the token belongs to an administrator."
            }
        }
    }

    /// Only administrators may create tokens with this scope.
    pub fn admin_only(self) -> bool {
        self == Scope::Sudo
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a request is trying to do, at the granularity scopes distinguish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A GraphQL query field other than the user queries.
    Query,
    /// `currentUser`, `user`, `users`: the fields `read_user` also opens.
    UserQuery,
    /// Any GraphQL mutation.
    Mutation,
    GitPull,
    GitPush,
    RegistryPull,
    RegistryPush,
}

impl Access {
    /// Every kind of access.
    pub const ALL: [Access; 7] = [
        Access::Query,
        Access::UserQuery,
        Access::Mutation,
        Access::GitPull,
        Access::GitPush,
        Access::RegistryPull,
        Access::RegistryPush,
    ];

    /// The scopes any one of which grants this access.
    pub fn accepted_scopes(self) -> &'static [Scope] {
        use Scope::*;
        match self {
            Access::Query => &[Api, ReadApi],
            Access::UserQuery => &[Api, ReadApi, ReadUser],
            Access::Mutation => &[Api],
            Access::GitPull => &[Api, ReadApi, ReadRepository, WriteRepository],
            Access::GitPush => &[Api, WriteRepository],
            Access::RegistryPull => &[Api, ReadApi, ReadRegistry],
            Access::RegistryPush => &[Api, WriteRegistry],
        }
    }
}

/// A non-empty set of distinct scopes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScopeSet(u16);

impl ScopeSet {
    /// Builds a set; `None` when `scopes` is empty or repeats a scope.
    pub fn from_distinct(scopes: &[Scope]) -> Option<ScopeSet> {
        let mut bits = 0u16;
        for scope in scopes {
            if bits & scope.bit() != 0 {
                return None;
            }
            bits |= scope.bit();
        }
        (bits != 0).then_some(ScopeSet(bits))
    }

    /// Reads the stored comma-separated form; unknown names are dropped (fail closed).
    pub fn from_stored(stored: &str) -> ScopeSet {
        ScopeSet(
            stored
                .split(',')
                .filter_map(Scope::from_name)
                .fold(0, |bits, scope| bits | scope.bit()),
        )
    }

    /// The stored form: names in canonical order, comma-separated.
    pub fn to_stored(self) -> String {
        self.iter().map(Scope::as_str).collect::<Vec<_>>().join(",")
    }

    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// Whether a token with these scopes may mint a token with `requested`: every access a
    /// requested scope grants must already be granted here, and `sudo` (which grants no
    /// access of its own but a whole identity switch) must be held literally.
    pub fn covers(self, requested: ScopeSet) -> bool {
        requested.iter().all(|scope| {
            if scope == Scope::Sudo {
                return self.contains(Scope::Sudo);
            }
            let alone = ScopeSet(scope.bit());
            Access::ALL
                .into_iter()
                .all(|access| !alone.permits(access) || self.permits(access))
        })
    }

    /// Whether this set grants `access`.
    pub fn permits(self, access: Access) -> bool {
        access
            .accepted_scopes()
            .iter()
            .any(|&scope| self.contains(scope))
    }

    /// The scopes in canonical order.
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL
            .into_iter()
            .filter(move |&scope| self.contains(scope))
    }
}

impl fmt::Debug for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Access::*;

    /// The documented table, row by row: which accesses a token holding one scope gets.
    #[test]
    fn truth_table_matches_the_contract() {
        let table: [(Scope, &[Access]); 8] = [
            (
                Scope::Api,
                &[
                    Query,
                    UserQuery,
                    Mutation,
                    GitPull,
                    GitPush,
                    RegistryPull,
                    RegistryPush,
                ],
            ),
            (Scope::ReadApi, &[Query, UserQuery, GitPull, RegistryPull]),
            (Scope::ReadUser, &[UserQuery]),
            (Scope::ReadRepository, &[GitPull]),
            (Scope::WriteRepository, &[GitPull, GitPush]),
            (Scope::ReadRegistry, &[RegistryPull]),
            (Scope::WriteRegistry, &[RegistryPush]),
            (Scope::Sudo, &[]),
        ];
        for (scope, granted) in table {
            let set = ScopeSet::from_distinct(&[scope]).expect("one scope");
            for access in Access::ALL {
                assert_eq!(
                    set.permits(access),
                    granted.contains(&access),
                    "{scope} / {access:?}"
                );
            }
        }
    }

    #[test]
    fn sets_reject_empty_and_duplicates_and_round_trip() {
        assert_eq!(ScopeSet::from_distinct(&[]), None);
        assert_eq!(ScopeSet::from_distinct(&[Scope::Api, Scope::Api]), None);
        let set =
            ScopeSet::from_distinct(&[Scope::Sudo, Scope::ReadUser, Scope::Api]).expect("set");
        assert_eq!(set.to_stored(), "api,read_user,sudo");
        assert_eq!(ScopeSet::from_stored(&set.to_stored()), set);
    }

    #[test]
    fn coverage_follows_what_scopes_grant_and_sudo_must_be_held() {
        let set = |scopes: &[Scope]| ScopeSet::from_distinct(scopes).expect("set");
        let api = set(&[Scope::Api]);
        for scope in Scope::ALL {
            assert_eq!(
                api.covers(set(&[scope])),
                scope != Scope::Sudo,
                "api covers {scope}"
            );
        }
        assert!(set(&[Scope::Api, Scope::Sudo]).covers(set(&[Scope::Sudo, Scope::ReadApi])));
        let read_api = set(&[Scope::ReadApi]);
        assert!(read_api.covers(set(&[
            Scope::ReadUser,
            Scope::ReadRepository,
            Scope::ReadRegistry
        ])));
        assert!(!read_api.covers(set(&[Scope::WriteRepository])));
        assert!(!read_api.covers(api));
        assert!(set(&[Scope::WriteRepository]).covers(set(&[Scope::ReadRepository])));
        assert!(!set(&[Scope::WriteRegistry]).covers(set(&[Scope::ReadRegistry])));
    }

    #[test]
    fn names_parse_case_insensitively_and_unknown_names_fail() {
        for scope in Scope::ALL {
            assert_eq!(Scope::from_name(scope.as_str()), Some(scope));
            assert_eq!(
                Scope::from_name(&scope.as_str().to_uppercase()),
                Some(scope)
            );
        }
        assert_eq!(Scope::from_name("admin"), None);
        assert_eq!(ScopeSet::from_stored("api,bogus").to_stored(), "api");
    }
}
