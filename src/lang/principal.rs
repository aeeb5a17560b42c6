//! Principals: who makes a request (the [`Caller`]), what a policy's `Principal` element may
//! name, and how the two meet (IAM User Guide, "AWS JSON policy elements: Principal" and
//! "NotPrincipal"; the rules and choices are in `docs/semantics.md` §10 and §15).
//!
//! A caller is read once from its ARN ([`Caller::parse`]); matching a statement's principal
//! against it compares strings already split, with no allocation.

use crate::lang::keys::KnownKey;
use crate::lang::model::Principal;

/// Why a principal (a caller's ARN, or a value in a policy's `Principal`) is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum PrincipalError {
    /// A role ARN was given as the caller: a role does not sign requests, its sessions do.
    #[error(
        "{:?} is a role; requests are made by its sessions: give the session ARN, e.g. arn:{partition}:sts::{account}:assumed-role/{}/SESSION",
        crate::loc::Shown(arn),
        crate::loc::Shown(name)
    )]
    RoleAsCaller {
        /// The ARN as given.
        arn: String,
        /// Its partition.
        partition: String,
        /// Its account.
        account: String,
        /// The role name (without path).
        name: String,
    },
    /// Not a principal this tool knows how to read.
    #[error(
        "{:?} is not a principal ARN: expected arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION, arn:aws:iam::ACCOUNT:user/NAME, arn:aws:iam::ACCOUNT:root, arn:aws:sts::ACCOUNT:federated-user/NAME or a 12-digit account id",
        crate::loc::Shown(text)
    )]
    NotAPrincipal {
        /// The text as given (shortened when shown).
        text: String,
    },
    /// Not a role ARN where one is needed.
    #[error(
        "{:?} is not a role ARN: expected arn:aws:iam::ACCOUNT:role/NAME (with the role's path, if it has one)",
        crate::loc::Shown(text)
    )]
    NotARole {
        /// The text as given (shortened when shown).
        text: String,
    },
    /// A wildcard inside a principal value (only `"*"` on its own is allowed).
    #[error(
        "{:?}: AWS does not allow wildcards in a principal other than \"*\" on its own (IAM User Guide, Principal element); use the condition key aws:PrincipalArn with ArnLike instead",
        crate::loc::Shown(text)
    )]
    PartialWildcard {
        /// The value as written.
        text: String,
    },
}

/// The partitions whose ARNs are read.
const PARTITIONS: &[&str] = &["aws", "aws-cn", "aws-us-gov"];

/// What kind of principal makes the request (the value of `aws:PrincipalType`, except
/// [`CallerKind::WebIdentity`], which only assumes roles).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerKind {
    /// An IAM user.
    User,
    /// A role session (`assumed-role`), e.g. Cognito's `CognitoIdentityCredentials`.
    AssumedRole,
    /// An AWS STS federated user session.
    FederatedUser,
    /// The account's root user.
    Account,
    /// A web identity provider presenting a token to `sts:AssumeRoleWithWebIdentity`
    /// (matched only by `{"Federated": PROVIDER}`).
    WebIdentity,
}

impl CallerKind {
    /// The value AWS gives `aws:PrincipalType` (IAM User Guide, "AWS global condition
    /// context keys"): `User`, `AssumedRole`, `FederatedUser`, `Account`; `WebIdentity`
    /// for a provider.
    pub fn principal_type(self) -> &'static str {
        match self {
            CallerKind::User => "User",
            CallerKind::AssumedRole => "AssumedRole",
            CallerKind::FederatedUser => "FederatedUser",
            CallerKind::Account => "Account",
            CallerKind::WebIdentity => "WebIdentity",
        }
    }

    /// Is the caller a session (whose permissions session policies may limit)?
    pub fn is_session(self) -> bool {
        match self {
            CallerKind::AssumedRole | CallerKind::FederatedUser => true,
            CallerKind::User | CallerKind::Account | CallerKind::WebIdentity => false,
        }
    }
}

/// The principal that makes a request, read from its ARN.
#[derive(Debug, PartialEq, Eq)]
pub struct Caller {
    kind: CallerKind,
    /// The caller's own ARN (the session, user or root ARN), or the provider name.
    arn: String,
    /// The value of `aws:PrincipalArn`: the role ARN for a role session, else `arn`.
    principal_arn: String,
    /// The 12-digit account (empty for a web identity).
    account: String,
    /// `arn:PARTITION:iam::ACCOUNT:root`.
    root_arn: String,
    /// `aws:userid` where the ARN determines it.
    userid: Option<String>,
    /// `aws:username` where the ARN determines it (IAM users).
    username: Option<String>,
    /// A permissions boundary is attached (decides `NotPrincipal`).
    bounded: bool,
}

impl Clone for Caller {
    fn clone(&self) -> Caller {
        Caller {
            kind: self.kind,
            arn: self.arn.clone(),
            principal_arn: self.principal_arn.clone(),
            account: self.account.clone(),
            root_arn: self.root_arn.clone(),
            userid: self.userid.clone(),
            username: self.username.clone(),
            bounded: self.bounded,
        }
    }

    /// Copies into the strings already held (a batch reuses one caller from line to
    /// line without allocating).
    fn clone_from(&mut self, source: &Caller) {
        self.kind = source.kind;
        self.arn.clone_from(&source.arn);
        self.principal_arn.clone_from(&source.principal_arn);
        self.account.clone_from(&source.account);
        self.root_arn.clone_from(&source.root_arn);
        self.userid.clone_from(&source.userid);
        self.username.clone_from(&source.username);
        self.bounded = source.bounded;
    }
}

/// How a statement's `Principal` names the caller, which decides what a resource-based
/// policy's grant is worth (`docs/semantics.md` §15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grant {
    /// Through the caller's account (`123456789012`, `arn:aws:iam::123456789012:root`):
    /// the account may delegate through identity-based policies; not a grant by itself for
    /// a user or role of the account.
    Account,
    /// Through the role ARN of a role session: stands for the identity-based policy, still
    /// limited by the permissions boundary and the session policy.
    Role,
    /// Through `"*"`, `{"AWS": "*"}` or the caller's own ARN: a grant on its own within
    /// the account.
    Direct,
}

impl Grant {
    /// `account`, `role`, `direct`.
    pub fn as_str(self) -> &'static str {
        match self {
            Grant::Account => "account",
            Grant::Role => "role",
            Grant::Direct => "direct",
        }
    }
}

fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// A name inside an ARN path: non-empty, no wildcard, no white space.
fn is_name(text: &str) -> bool {
    !text.is_empty()
        && !text
            .bytes()
            .any(|b| b == b'*' || b == b'?' || b.is_ascii_whitespace() || b.is_ascii_control())
}

/// The principal ARN forms, split: (partition, service, account, resource).
fn split_principal_arn(text: &str) -> Option<(&str, &str, &str, &str)> {
    let [partition, service, region, account, resource] = crate::lang::arn::split_concrete(text)?;
    (PARTITIONS.contains(&partition)
        && (service == "iam" || service == "sts")
        && region.is_empty()
        && is_account_id(account))
    .then_some((partition, service, account, resource))
}

impl Caller {
    /// Read a caller from its ARN (or a bare 12-digit account id, the root user). See
    /// `docs/semantics.md` §15 for the forms and the keys each one sets.
    pub fn parse(text: &str) -> Result<Caller, PrincipalError> {
        let not = || PrincipalError::NotAPrincipal {
            text: text.to_string(),
        };
        if is_account_id(text) {
            return Ok(Caller::account("aws", text));
        }
        let (partition, service, account, resource) = split_principal_arn(text).ok_or_else(not)?;
        let root = format!("arn:{partition}:iam::{account}:root");
        match (service, resource.split_once('/')) {
            ("iam", None) if resource == "root" => Ok(Caller::account(partition, account)),
            ("iam", Some(("user", path_name))) if path_name.split('/').all(is_name) => {
                let name = path_name.rsplit('/').next().unwrap_or(path_name);
                Ok(Caller {
                    kind: CallerKind::User,
                    arn: text.to_string(),
                    principal_arn: text.to_string(),
                    account: account.to_string(),
                    root_arn: root,
                    userid: None,
                    username: Some(name.to_string()),
                    bounded: false,
                })
            }
            ("iam", Some(("role", path_name))) => Err(PrincipalError::RoleAsCaller {
                arn: text.to_string(),
                partition: partition.to_string(),
                account: account.to_string(),
                name: path_name.rsplit('/').next().unwrap_or("").to_string(),
            }),
            ("sts", Some(("assumed-role", rest))) => {
                let (role, session) = rest.split_once('/').ok_or_else(not)?;
                if !is_name(role) || !is_name(session) || session.contains('/') {
                    return Err(not());
                }
                Ok(Caller {
                    kind: CallerKind::AssumedRole,
                    arn: text.to_string(),
                    principal_arn: format!("arn:{partition}:iam::{account}:role/{role}"),
                    account: account.to_string(),
                    root_arn: root,
                    userid: None,
                    username: None,
                    bounded: false,
                })
            }
            ("sts", Some(("federated-user", name))) if is_name(name) && !name.contains('/') => {
                Ok(Caller {
                    kind: CallerKind::FederatedUser,
                    arn: text.to_string(),
                    principal_arn: text.to_string(),
                    account: account.to_string(),
                    root_arn: root,
                    userid: Some(format!("{account}:{name}")),
                    username: None,
                    bounded: false,
                })
            }
            _ => Err(not()),
        }
    }

    fn account(partition: &str, account: &str) -> Caller {
        let root = format!("arn:{partition}:iam::{account}:root");
        Caller {
            kind: CallerKind::Account,
            arn: root.clone(),
            principal_arn: root.clone(),
            account: account.to_string(),
            root_arn: root,
            userid: Some(account.to_string()),
            username: None,
            bounded: false,
        }
    }

    /// A web identity provider (`cognito-identity.amazonaws.com`) presenting a token: the
    /// principal of `sts:AssumeRoleWithWebIdentity`, matched by `{"Federated": provider}`.
    pub fn web_identity(provider: &str) -> Caller {
        Caller {
            kind: CallerKind::WebIdentity,
            arn: provider.to_string(),
            principal_arn: String::new(),
            account: String::new(),
            root_arn: String::new(),
            userid: None,
            username: None,
            bounded: false,
        }
    }

    /// Record whether a permissions boundary is attached to the caller's user or role:
    /// a `Deny` with `NotPrincipal` then always applies to it.
    pub fn set_bounded(&mut self, bounded: bool) {
        self.bounded = bounded;
    }

    /// Whether a permissions boundary is attached (see [`Caller::set_bounded`]).
    pub fn bounded(&self) -> bool {
        self.bounded
    }

    /// The kind of caller.
    pub fn kind(&self) -> CallerKind {
        self.kind
    }

    /// The caller's own ARN as given (for an account id, its root ARN); the provider name
    /// for a web identity.
    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// The caller's account (empty for a web identity).
    pub fn account_id(&self) -> &str {
        &self.account
    }

    /// The value of `aws:PrincipalArn`: a role session's role ARN (`arn:aws:iam::ACCOUNT:role/NAME`,
    /// the role's path taken as `/`), otherwise the caller's own ARN.
    pub fn principal_arn(&self) -> &str {
        &self.principal_arn
    }

    /// The role ARN of a role session.
    pub fn role_arn(&self) -> Option<&str> {
        (self.kind == CallerKind::AssumedRole).then_some(self.principal_arn.as_str())
    }

    /// Use `role_arn`, a role ARN with a path (`arn:aws:iam::ACCOUNT:role/PATH/NAME`), as a
    /// session's role: accepted only for a role session of the same partition, account
    /// and role name. Returns whether it was accepted.
    pub fn set_role_path(&mut self, role_arn: &str) -> bool {
        let ok = self.is_session_of(role_arn);
        if ok {
            self.principal_arn.clear();
            self.principal_arn.push_str(role_arn);
        }
        ok
    }

    /// Is the caller a session of the role `role_arn` (`arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`)?
    /// A session's ARN names its role without the path, so the partition, the account and
    /// the role name are compared; a path in `role_arn` must be made of names.
    pub fn is_session_of(&self, role_arn: &str) -> bool {
        let Some(current) = self.role_arn() else {
            return false;
        };
        let Some((cur_prefix, name)) = current.split_once(":role/") else {
            return false;
        };
        let Some((prefix, path_name)) = role_arn.split_once(":role/") else {
            return false;
        };
        prefix == cur_prefix
            && path_name.split('/').all(is_name)
            && path_name.rsplit('/').next() == Some(name)
    }

    /// Check that `text` is a role ARN (`arn:PARTITION:iam::ACCOUNT:role/NAME`, with a path
    /// if the role has one), as [`Caller::is_session_of`] takes it.
    pub fn check_role_arn(text: &str) -> Result<(), PrincipalError> {
        match split_principal_arn(text) {
            Some((_, "iam", _, resource))
                if resource
                    .strip_prefix("role/")
                    .is_some_and(|path_name| path_name.split('/').all(is_name)) =>
            {
                Ok(())
            }
            _ => Err(PrincipalError::NotARole {
                text: text.to_string(),
            }),
        }
    }

    /// The global condition keys the caller determines, with their values, in the case AWS
    /// documents them: `aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:PrincipalType`, and
    /// `aws:userid` / `aws:username` where the ARN determines them. None for a web
    /// identity (its token's keys come from the identity provider).
    pub fn context_keys(&self) -> Vec<(&'static str, &str)> {
        self.context_key_values()
            .map(|(key, value)| (key.name, value))
            .collect()
    }

    /// [`Caller::context_keys`] without allocating, each key with its [`KnownKey`].
    pub fn context_key_values(&self) -> impl Iterator<Item = (DerivedKey, &str)> {
        use crate::lang::keys;
        const ARN: DerivedKey = DerivedKey::of(keys::PRINCIPAL_ARN);
        const ACCOUNT: DerivedKey = DerivedKey::of(keys::PRINCIPAL_ACCOUNT);
        const TYPE: DerivedKey = DerivedKey::of(keys::PRINCIPAL_TYPE);
        const USERID: DerivedKey = DerivedKey::of(keys::USERID);
        const USERNAME: DerivedKey = DerivedKey::of(keys::USERNAME);
        const SERVICE: DerivedKey = DerivedKey::of(keys::PRINCIPAL_IS_AWS_SERVICE);
        let keys = [
            Some((ARN, self.principal_arn.as_str())),
            Some((ACCOUNT, self.account.as_str())),
            Some((TYPE, self.kind.principal_type())),
            self.userid.as_deref().map(|u| (USERID, u)),
            self.username.as_deref().map(|u| (USERNAME, u)),
            Some((SERVICE, "false")),
        ];
        let web = self.kind == CallerKind::WebIdentity;
        keys.into_iter().flatten().filter(move |_| !web)
    }

    /// How one `AWS` principal value names this caller, if it does.
    fn aws_grant(&self, value: &str) -> Option<Grant> {
        if self.kind == CallerKind::WebIdentity {
            return None;
        }
        if value == "*" || value == self.arn {
            return Some(Grant::Direct);
        }
        if value == self.account || value == self.root_arn {
            return Some(if self.kind == CallerKind::Account {
                Grant::Direct
            } else {
                Grant::Account
            });
        }
        if self.kind == CallerKind::AssumedRole && value == self.principal_arn {
            return Some(Grant::Role);
        }
        None
    }

    /// How a `Principal` element names this caller: the strongest [`Grant`] among its
    /// values, or `None`. `"*"` and `{"AWS": "*"}` name every caller directly.
    pub fn grant(&self, principal: &Principal) -> Option<Grant> {
        match principal {
            Principal::Any => Some(Grant::Direct),
            Principal::Map(entries) => {
                let mut best = None;
                for (kind, values) in entries {
                    for value in values {
                        let grant = match kind.as_str() {
                            "AWS" => self.aws_grant(value),
                            "Federated" => (self.kind == CallerKind::WebIdentity
                                && *value == self.arn)
                                .then_some(Grant::Direct),
                            _ => None,
                        };
                        best = best.max(grant);
                        if best == Some(Grant::Direct) {
                            // Nothing names the caller more strongly.
                            return best;
                        }
                    }
                }
                best
            }
        }
    }

    /// Is the caller exempt from a `Deny` statement's `NotPrincipal`? Only when every one
    /// of its levels is listed: the account, then for a role session the role, then the
    /// caller itself (IAM User Guide, NotPrincipal: AWS checks the account first, then the
    /// role, then the session). A caller with a permissions boundary is never exempt
    /// (same page).
    pub fn exempt_by(&self, not_principal: &Principal, bounded: bool) -> bool {
        if bounded {
            return false;
        }
        let Principal::Map(entries) = not_principal else {
            return true;
        };
        let listed = |target: &str| {
            entries.iter().any(|(kind, values)| {
                let kind_ok = match self.kind {
                    CallerKind::WebIdentity => kind == "Federated",
                    _ => kind == "AWS",
                };
                kind_ok && values.iter().any(|v| v == "*" || v == target)
            })
        };
        match self.kind {
            CallerKind::WebIdentity => listed(&self.arn),
            CallerKind::Account => listed(&self.account) || listed(&self.root_arn),
            CallerKind::User | CallerKind::FederatedUser | CallerKind::AssumedRole => {
                let account = listed(&self.account) || listed(&self.root_arn);
                let role = match self.role_arn() {
                    Some(role) => listed(role),
                    None => true,
                };
                account && role && listed(&self.arn)
            }
        }
    }
}

/// Check one value of a policy's `Principal`/`NotPrincipal` of type `kind`: an `AWS` value
/// must be `"*"`, a 12-digit account or a principal ARN (root, user, role, assumed-role,
/// federated-user), with no wildcard inside.
pub fn check_principal_value(kind: &str, value: &str) -> Result<(), PrincipalError> {
    if kind != "AWS" || value == "*" || is_account_id(value) {
        return Ok(());
    }
    if value.contains('*') || value.contains('?') {
        return Err(PrincipalError::PartialWildcard {
            text: value.to_string(),
        });
    }
    if let Some((_, service, _, resource)) = split_principal_arn(value) {
        let known = match (service, resource.split_once('/')) {
            ("iam", None) => resource == "root",
            ("iam", Some(("user" | "role", path_name))) => path_name.split('/').all(is_name),
            ("sts", Some(("assumed-role", rest))) => {
                matches!(rest.split_once('/'), Some((r, s)) if is_name(r) && is_name(s))
            }
            ("sts", Some(("federated-user", name))) => is_name(name),
            _ => false,
        };
        if known {
            return Ok(());
        }
    }
    Err(PrincipalError::NotAPrincipal {
        text: value.to_string(),
    })
}

/// A global condition key the simulator sets itself: its name in the case AWS documents it
/// (for messages) and its [`KnownKey`] (for the context).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DerivedKey {
    /// `aws:PrincipalArn`.
    pub name: &'static str,
    /// The key among the known keys.
    pub known: KnownKey,
}

impl DerivedKey {
    /// The derived key `name`, found when the crate is compiled.
    pub const fn of(name: &'static str) -> DerivedKey {
        DerivedKey {
            name,
            known: KnownKey::constant(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(values: &[&str]) -> Principal {
        Principal::Map(vec![(
            "AWS".to_string(),
            values.iter().map(|v| v.to_string()).collect(),
        )])
    }

    #[test]
    fn session_keys_and_grants() {
        let c =
            Caller::parse("arn:aws:sts::111122223333:assumed-role/Auth/CognitoIdentityCredentials")
                .unwrap();
        assert_eq!(c.principal_arn(), "arn:aws:iam::111122223333:role/Auth");
        assert_eq!(
            c.context_keys(),
            [
                ("aws:PrincipalArn", "arn:aws:iam::111122223333:role/Auth"),
                ("aws:PrincipalAccount", "111122223333"),
                ("aws:PrincipalType", "AssumedRole"),
                ("aws:PrincipalIsAWSService", "false"),
            ]
        );
        assert_eq!(c.grant(&Principal::Any), Some(Grant::Direct));
        assert_eq!(c.grant(&map(&["*"])), Some(Grant::Direct));
        assert_eq!(c.grant(&map(&[c.arn()])), Some(Grant::Direct));
        assert_eq!(
            c.grant(&map(&["arn:aws:iam::111122223333:role/Auth"])),
            Some(Grant::Role)
        );
        assert_eq!(c.grant(&map(&["111122223333"])), Some(Grant::Account));
        assert_eq!(
            c.grant(&map(&["arn:aws:iam::111122223333:root"])),
            Some(Grant::Account)
        );
        assert_eq!(c.grant(&map(&["arn:aws:iam::444455556666:root"])), None);
        assert_eq!(
            c.grant(&map(&[
                "111122223333",
                "arn:aws:iam::111122223333:role/Auth"
            ])),
            Some(Grant::Role)
        );
    }

    #[test]
    fn not_principal_needs_every_level() {
        let c = Caller::parse("arn:aws:sts::111122223333:assumed-role/Auth/s").unwrap();
        let all = map(&[
            "arn:aws:iam::111122223333:root",
            "arn:aws:iam::111122223333:role/Auth",
            "arn:aws:sts::111122223333:assumed-role/Auth/s",
        ]);
        assert!(c.exempt_by(&all, false));
        assert!(!c.exempt_by(&all, true));
        assert!(!c.exempt_by(&map(&["arn:aws:iam::111122223333:role/Auth"]), false));
        assert!(!c.exempt_by(
            &map(&[
                "111122223333",
                "arn:aws:sts::111122223333:assumed-role/Auth/s"
            ]),
            false
        ));
    }

    #[test]
    fn caller_forms() {
        let u = Caller::parse("arn:aws:iam::111122223333:user/team/alice").unwrap();
        assert_eq!(u.kind(), CallerKind::User);
        assert!(u.context_keys().contains(&("aws:username", "alice")));
        let a = Caller::parse("111122223333").unwrap();
        assert_eq!(a.arn(), "arn:aws:iam::111122223333:root");
        assert_eq!(a.grant(&map(&["111122223333"])), Some(Grant::Direct));
        assert_eq!(
            Caller::parse("arn:aws:iam::111122223333:role/app/Auth")
                .unwrap_err()
                .to_string(),
            "\"arn:aws:iam::111122223333:role/app/Auth\" is a role; requests are made by its sessions: give the session ARN, e.g. arn:aws:sts::111122223333:assumed-role/Auth/SESSION"
        );
        for bad in [
            "arn:aws:s3:::bucket",
            "arn:aws:sts::111122223333:assumed-role/Auth",
            "arn:aws:iam::1111:root",
            "us-east-1:abc",
            "arn:aws:sts::111122223333:assumed-role/A*/s",
        ] {
            assert!(Caller::parse(bad).is_err(), "{bad}");
        }
        let mut s = Caller::parse("arn:aws:sts::111122223333:assumed-role/Auth/s").unwrap();
        assert!(!s.set_role_path("arn:aws:iam::111122223333:role/app/Other"));
        assert!(s.set_role_path("arn:aws:iam::111122223333:role/app/Auth"));
        assert_eq!(s.principal_arn(), "arn:aws:iam::111122223333:role/app/Auth");
    }

    #[test]
    fn sessions_of_a_role() {
        let s = Caller::parse("arn:aws:sts::111122223333:assumed-role/Auth/web-identity").unwrap();
        for (role, of) in [
            ("arn:aws:iam::111122223333:role/Auth", true),
            ("arn:aws:iam::111122223333:role/app/Auth", true),
            ("arn:aws:iam::111122223333:role/Auth2", false),
            ("arn:aws:iam::111122223333:role/Aut", false),
            ("arn:aws:iam::444455556666:role/Auth", false),
            ("arn:aws-cn:iam::111122223333:role/Auth", false),
            ("arn:aws:iam::111122223333:user/Auth", false),
        ] {
            assert_eq!(s.is_session_of(role), of, "{role}");
        }
        let user = Caller::parse("arn:aws:iam::111122223333:user/Auth").unwrap();
        assert!(!user.is_session_of("arn:aws:iam::111122223333:role/Auth"));
        for ok in [
            "arn:aws:iam::111122223333:role/Auth",
            "arn:aws-us-gov:iam::111122223333:role/service-role/app/Auth",
        ] {
            assert_eq!(Caller::check_role_arn(ok), Ok(()), "{ok}");
        }
        for bad in [
            "arn:aws:iam::111122223333:role/",
            "arn:aws:iam::111122223333:role/A*",
            "arn:aws:iam::111122223333:role//Auth",
            "arn:aws:iam::111122223333:user/Auth",
            "arn:aws:sts::111122223333:assumed-role/Auth/s",
            "arn:aws:iam::1111:role/Auth",
            "Auth",
        ] {
            assert!(Caller::check_role_arn(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Caller::check_role_arn("Auth").unwrap_err().to_string(),
            "\"Auth\" is not a role ARN: expected arn:aws:iam::ACCOUNT:role/NAME (with the role's path, if it has one)"
        );
    }

    #[test]
    fn principal_values() {
        for ok in [
            "*",
            "111122223333",
            "arn:aws:iam::111122223333:root",
            "arn:aws:iam::111122223333:role/path/R",
            "arn:aws-cn:sts::111122223333:assumed-role/R/s",
        ] {
            assert_eq!(check_principal_value("AWS", ok), Ok(()), "{ok}");
        }
        assert!(matches!(
            check_principal_value("AWS", "arn:aws:iam::111122223333:role/*"),
            Err(PrincipalError::PartialWildcard { .. })
        ));
        assert!(check_principal_value("AWS", "AROAEXAMPLEID").is_err());
        assert_eq!(check_principal_value("Service", "s3.amazonaws.com"), Ok(()));
    }
}
