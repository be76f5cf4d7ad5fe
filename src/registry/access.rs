//! Which registry actions a request gets: the requested `repository:<name>:<actions>` scopes,
//! cut down to what the token's scopes and the user's role in the project allow. Whatever
//! is not allowed is silently left out, as the registry token specification says.

use crate::{
    projects::Permissions,
    tokens::scope::{Access, ScopeSet},
};

/// One requested scope: `repository:alice/app/web:pull,push`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedScope {
    /// The image name, e.g. `alice/app` or `alice/app/web`.
    pub name: String,
    pub pull: bool,
    pub push: bool,
}

impl RequestedScope {
    /// Parses a `scope` parameter; anything but a repository scope is `None` (left out).
    pub fn parse(raw: &str) -> Option<RequestedScope> {
        let rest = raw.trim().strip_prefix("repository:")?;
        let (name, actions) = rest.rsplit_once(':')?;
        let valid_name = name.len() <= 255
            && name.split('/').count() >= 2
            && name.split('/').all(valid_component);
        if !valid_name {
            return None;
        }
        let mut scope = RequestedScope {
            name: name.to_owned(),
            pull: false,
            push: false,
        };
        for action in actions.split(',') {
            match action.trim() {
                "pull" => scope.pull = true,
                "push" => scope.push = true,
                "*" => {
                    scope.pull = true;
                    scope.push = true;
                }
                _ => {}
            }
        }
        Some(scope)
    }

    /// The project the image belongs to: its first two path segments.
    pub fn project_path(&self) -> String {
        self.name
            .splitn(3, '/')
            .take(2)
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// A repository name component as the registry defines it: lower-case letters and digits,
/// separated by `.`, `_`, `__` or runs of `-` (so no `..`, no upper case, nothing empty).
fn valid_component(part: &str) -> bool {
    let bytes = part.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    if !alnum(first) || !alnum(last) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let separator = &part[start..i];
        if !(separator == "."
            || separator == "_"
            || separator == "__"
            || separator.bytes().all(|b| b == b'-'))
        {
            return false;
        }
    }
    true
}

/// The actions granted for one requested scope. `scopes` is `None` for an anonymous caller.
pub fn grant(
    requested: &RequestedScope,
    scopes: Option<ScopeSet>,
    can: Permissions,
) -> Vec<&'static str> {
    let mut actions = Vec::new();
    let pull = match scopes {
        None => can.read,
        Some(scopes) => scopes.permits(Access::RegistryPull) && can.read,
    };
    let push = match scopes {
        None => false,
        Some(scopes) => scopes.permits(Access::RegistryPush) && can.write,
    };
    // A push reads too (the client checks which blobs exist and mounts layers), so a token
    // that may push also gets pull when both are asked for together; asked alone, pull
    // needs a pull scope.
    if requested.pull && (pull || (requested.push && push)) {
        actions.push("pull");
    }
    if requested.push && push {
        actions.push("push");
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::scope::Scope;

    #[test]
    fn scopes_parse_and_junk_is_left_out() {
        let scope = RequestedScope::parse("repository:alice/app/web:pull,push").expect("scope");
        assert_eq!((scope.pull, scope.push), (true, true));
        assert_eq!(scope.project_path(), "alice/app");
        assert_eq!(
            RequestedScope::parse("repository:alice/app:*").map(|s| s.push),
            Some(true)
        );
        assert!(RequestedScope::parse("repository:a-b/c__d.e/f_g:pull").is_some());
        for junk in [
            "registry:catalog:*",
            "repository:app:pull",
            "repository:a//b:pull",
            "repository:a/b c:pull",
            "repository:bob/priv/../../alice/secret:pull",
            "repository:bob/priv/..:pull",
            "repository:Bob/Priv:pull",
            "repository:bob/priv/%2e%2e:pull",
            "repository:bob/-priv:pull",
            "",
        ] {
            assert_eq!(RequestedScope::parse(junk), None, "{junk}");
        }
    }

    #[test]
    fn the_scope_and_role_matrix() {
        let both = RequestedScope::parse("repository:a/b:pull,push").expect("scope");
        let reporter = Permissions {
            read: true,
            write: false,
            manage: false,
        };
        let developer = Permissions {
            read: true,
            write: true,
            manage: false,
        };
        let outsider = Permissions {
            read: false,
            write: false,
            manage: false,
        };
        let set = |scope: Scope| Some(ScopeSet::from_distinct(&[scope]).expect("set"));
        let cases = [
            (set(Scope::Api), developer, vec!["pull", "push"]),
            (set(Scope::Api), reporter, vec!["pull"]),
            (set(Scope::Api), outsider, vec![]),
            (set(Scope::ReadApi), developer, vec!["pull"]),
            (set(Scope::ReadRegistry), developer, vec!["pull"]),
            (set(Scope::WriteRegistry), developer, vec!["pull", "push"]),
            (set(Scope::WriteRegistry), reporter, vec![]),
            (set(Scope::ReadRepository), developer, vec![]),
            (set(Scope::ReadUser), developer, vec![]),
            (None, reporter, vec!["pull"]),
            (None, outsider, vec![]),
        ];
        for (scopes, can, expected) in cases {
            assert_eq!(grant(&both, scopes, can), expected, "{scopes:?} {can:?}");
        }
        // Asked alone, pull needs a pull scope; push alone needs a push scope.
        let pull_only = RequestedScope::parse("repository:a/b:pull").expect("scope");
        let push_only = RequestedScope::parse("repository:a/b:push").expect("scope");
        assert_eq!(
            grant(&pull_only, set(Scope::WriteRegistry), developer),
            Vec::<&str>::new()
        );
        assert_eq!(
            grant(&push_only, set(Scope::WriteRegistry), developer),
            vec!["push"]
        );
        assert_eq!(
            grant(&push_only, set(Scope::ReadRegistry), developer),
            Vec::<&str>::new()
        );
    }
}
