//! The policy model: what a parsed, validated IAM policy document is.
//!
//! Values here are already compiled: action and resource patterns are parsed into
//! [`Pattern`]s and [`ArnPattern`]s, condition values into typed values. Building them is the
//! job of [`crate::lang::parse`]; evaluating them is the job of [`crate::eval`].

use crate::lang::arn::ArnPattern;
use crate::lang::condition::Condition;
use crate::lang::keys::KnownKey;
use crate::lang::principal::Caller;
use crate::lang::variables::VariableSource;
use crate::lang::wildcard::{Match, Pattern};

/// Which kind of policy a document is, which decides the elements it must and must not
/// have (IAM User Guide, "IAM JSON policy elements: Principal").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// Attached to a user, group or role: no `Principal`/`NotPrincipal`; `Resource` or
    /// `NotResource` required.
    Identity,
    /// Attached to a resource, such as a role's trust policy: `Principal` or
    /// `NotPrincipal` required; `Resource`/`NotResource` optional.
    Resource,
    /// A role's trust policy (`AssumeRolePolicyDocument`): a resource-based policy in which
    /// `Principal` is required and `NotPrincipal` is not allowed (IAM User Guide,
    /// "NotPrincipal").
    Trust,
    /// A service control policy (AWS Organizations): like an identity-based policy, no
    /// `Principal`/`NotPrincipal`; `Resource` or `NotResource` required.
    Scp,
    /// A resource control policy (AWS Organizations User Guide, "RCP syntax"): `Principal`
    /// required and `"*"`; no `NotPrincipal`, no `NotAction`; `Resource` or `NotResource`
    /// required; `Version` `2012-10-17`; `Allow` only in the exact shape of
    /// `RCPFullAWSAccess` (checked by the parser).
    Rcp,
}

impl PolicyKind {
    /// May (and, to be complete, must) the statements name a `Principal` or
    /// `NotPrincipal`?
    pub fn has_principal(self) -> bool {
        match self {
            PolicyKind::Identity | PolicyKind::Scp => false,
            PolicyKind::Resource | PolicyKind::Trust | PolicyKind::Rcp => true,
        }
    }

    /// Must every statement have a `Resource` or `NotResource`?
    pub fn requires_resource(self) -> bool {
        match self {
            PolicyKind::Identity | PolicyKind::Scp | PolicyKind::Rcp => true,
            PolicyKind::Resource | PolicyKind::Trust => false,
        }
    }

    /// May a statement use `NotPrincipal` (always with `Deny`: AWS does not support it
    /// with `Allow`)? Not in identity-based policies, nor in role trust policies.
    pub fn allows_not_principal(self) -> bool {
        match self {
            PolicyKind::Identity | PolicyKind::Trust | PolicyKind::Scp | PolicyKind::Rcp => false,
            PolicyKind::Resource => true,
        }
    }

    /// The kind as messages name it: `an identity-based policy`, `an SCP`, ...
    pub fn described(self) -> &'static str {
        match self {
            PolicyKind::Identity => "an identity-based policy",
            PolicyKind::Resource => "a resource-based policy",
            PolicyKind::Trust => "a role trust policy",
            PolicyKind::Scp => "an SCP",
            PolicyKind::Rcp => "an RCP",
        }
    }
}

/// The policy language version (`Version` element).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `2012-10-17`: the current language, with policy variables.
    V2012_10_17,
    /// `2008-10-17`: the original language; `${...}` is literal text.
    V2008_10_17,
}

impl Version {
    /// The text AWS uses for this version.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V2012_10_17 => "2012-10-17",
            Version::V2008_10_17 => "2008-10-17",
        }
    }
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// Grants access unless an explicit deny applies.
    Allow,
    /// Denies access, overriding any allow.
    Deny,
}

impl Effect {
    /// `"Allow"` or `"Deny"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }
}

/// A parsed policy document with the name it was loaded under (usually its file path).
#[derive(Debug, Clone)]
pub struct Policy {
    /// Name used in explanations: the file path, or `-` for standard input.
    pub name: String,
    /// `Version`, if present. Absent means the 2008 language (no variables).
    pub version: Option<Version>,
    /// `Id`, if present.
    pub id: Option<String>,
    /// The statements, in document order.
    pub statements: Vec<Statement>,
}

impl Policy {
    /// True when policy variables are substituted in this document.
    pub fn has_variables_enabled(&self) -> bool {
        self.version == Some(Version::V2012_10_17)
    }
}

/// `Principal` or `NotPrincipal`: kept as written; identity-based evaluation ignores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// `"*"`.
    Any,
    /// `{"AWS": [...], "Service": [...], "Federated": [...], "CanonicalUser": [...]}`.
    Map(Vec<(String, Vec<String>)>),
}

/// Which actions a statement covers.
#[derive(Debug, Clone)]
pub enum ActionSpec {
    /// `Action`: the listed patterns.
    Action(Vec<Pattern>),
    /// `NotAction`: every action except the listed patterns.
    NotAction(Vec<Pattern>),
}

/// Which resources a statement covers.
#[derive(Debug, Clone)]
pub enum ResourceSpec {
    /// `Resource`: the listed patterns.
    Resource(Vec<ArnPattern>),
    /// `NotResource`: every resource except the listed patterns.
    NotResource(Vec<ArnPattern>),
}

/// One statement of a policy.
#[derive(Debug, Clone)]
pub struct Statement {
    /// Position in the policy's `Statement` list (0 for a single statement object).
    pub index: usize,
    /// `Sid`, if present.
    pub sid: Option<String>,
    /// `Effect`.
    pub effect: Effect,
    /// `Principal`, kept for display and later checks.
    pub principal: Option<Principal>,
    /// `NotPrincipal`, kept for display and later checks.
    pub not_principal: Option<Principal>,
    /// `Action` or `NotAction`.
    pub action: ActionSpec,
    /// `Resource` or `NotResource`. Always present in identity-based policies; `None` only
    /// in a resource-based or trust policy without one, which covers the resource it is
    /// attached to.
    pub resource: Option<ResourceSpec>,
    /// `Condition`: every entry must hold (logical AND).
    pub conditions: Vec<Condition>,
    /// Derived when parsed (so not public): the keys of
    /// [`crate::lang::keys::ALWAYS_PRESENT`] the statement reads.
    pub(in crate::lang) always_present: AlwaysPresentKeys,
}

/// The keys AWS puts in every request that a statement reads, in lowercase.
#[derive(Debug, Clone, Default)]
pub(in crate::lang) struct AlwaysPresentKeys {
    /// In its resource patterns' variables.
    resource: Vec<KnownKey>,
    /// In its conditions (keys and values).
    conditions: Vec<KnownKey>,
    /// Keys of [`crate::lang::keys::SIGNED_PRESENT`] read anywhere.
    signed: Vec<KnownKey>,
    /// Keys of [`crate::lang::keys::SESSION_PRESENT`] read anywhere.
    session: Vec<KnownKey>,
    /// Keys of [`crate::lang::keys::ENDPOINT_PRESENT`] read anywhere.
    endpoint: Vec<KnownKey>,
}

impl Statement {
    /// The keys of [`crate::lang::keys::ALWAYS_PRESENT`] the statement's resource patterns
    /// read (as variables), in lowercase: a request must have them to match the resource.
    pub fn always_present_keys_in_resource(&self) -> &[KnownKey] {
        &self.always_present.resource
    }

    /// The keys of [`crate::lang::keys::ALWAYS_PRESENT`] the statement's conditions read
    /// (as keys or in values), in lowercase.
    pub fn always_present_keys_in_conditions(&self) -> &[KnownKey] {
        &self.always_present.conditions
    }

    /// The keys of [`crate::lang::keys::SIGNED_PRESENT`] the statement reads anywhere, in
    /// lowercase: a request that names its principal must have them.
    pub fn signed_request_keys(&self) -> &[KnownKey] {
        &self.always_present.signed
    }

    /// The keys of [`crate::lang::keys::SESSION_PRESENT`] the statement reads anywhere, in
    /// lowercase: a request made by a session must have them.
    pub fn session_request_keys(&self) -> &[KnownKey] {
        &self.always_present.session
    }

    /// The keys of [`crate::lang::keys::ENDPOINT_PRESENT`] the statement reads anywhere, in
    /// lowercase: a request made through a VPC endpoint must have them.
    pub fn endpoint_request_keys(&self) -> &[KnownKey] {
        &self.always_present.endpoint
    }

    /// Fill the derived key lists; called once by the parser.
    pub(in crate::lang) fn derive_always_present_keys(&mut self) {
        let [resource, conditions, signed, session, endpoint] = self.find_always_present_keys();
        self.always_present = AlwaysPresentKeys {
            resource,
            conditions,
            signed,
            session,
            endpoint,
        };
    }

    fn find_always_present_keys(&self) -> [Vec<KnownKey>; 5] {
        use crate::lang::condition::Value;
        fn arn_parts(p: &ArnPattern) -> &[Pattern] {
            match p {
                ArnPattern::Arn { parts, .. } => parts,
                ArnPattern::Any(_) => &[],
            }
        }
        fn variables<'a>(patterns: impl Iterator<Item = &'a Pattern>) -> Vec<&'a str> {
            patterns
                .flat_map(|p| p.pieces())
                .filter_map(|piece| match piece {
                    crate::lang::variables::Piece::Variable(v) => Some(&*v.key_lower),
                    _ => None,
                })
                .collect()
        }
        fn listed(read: &[&str], list: &[&str]) -> Vec<KnownKey> {
            let mut keys: Vec<KnownKey> = Vec::new();
            for &key in read {
                // Every listed key is known (tested in `keys`).
                if list.contains(&key)
                    && let Some(known) = KnownKey::of(key)
                    && !keys.contains(&known)
                {
                    keys.push(known);
                }
            }
            keys
        }
        let resource = match &self.resource {
            Some(ResourceSpec::Resource(p) | ResourceSpec::NotResource(p)) => {
                variables(p.iter().flat_map(arn_parts))
            }
            None => Vec::new(),
        };
        let mut conditions: Vec<&str> = Vec::new();
        for c in &self.conditions {
            conditions.push(&c.key_lower);
            conditions.extend(variables(c.values.iter().flat_map(|v| match v {
                Value::Text(p) | Value::BoolVariable(p) => std::slice::from_ref(p),
                Value::Arn(a) => arn_parts(a),
                _ => &[],
            })));
        }
        let always = crate::lang::keys::ALWAYS_PRESENT;
        let all: Vec<&str> = resource.iter().chain(&conditions).copied().collect();
        [
            listed(&resource, always),
            listed(&conditions, always),
            listed(&all, crate::lang::keys::SIGNED_PRESENT),
            listed(&all, crate::lang::keys::SESSION_PRESENT),
            listed(&all, crate::lang::keys::ENDPOINT_PRESENT),
        ]
    }

    /// The statement as the evaluator sees it (effect, actions, resources, conditions; not the
    /// `Sid`): equal keys, same statement.
    pub fn key(&self) -> String {
        let (not_action, actions) = match &self.action {
            ActionSpec::Action(p) => (false, p),
            ActionSpec::NotAction(p) => (true, p),
        };
        let (not_resource, resources): (bool, &[ArnPattern]) = match &self.resource {
            Some(ResourceSpec::Resource(p)) => (false, p),
            Some(ResourceSpec::NotResource(p)) => (true, p),
            None => (false, &[]),
        };
        let actions: Vec<&str> = actions.iter().map(Pattern::source).collect();
        let resources: Vec<&str> = resources.iter().map(ArnPattern::source).collect();
        let conditions: Vec<String> = self
            .conditions
            .iter()
            .map(|c| format!("{}|{}|{:?}", c.operator, c.key_lower, c.raw_values))
            .collect();
        format!(
            "{:?}|{not_action:?}|{actions:?}|{not_resource:?}|{resources:?}|{conditions:?}",
            self.effect
        )
    }

    /// Does the statement's `Principal`/`NotPrincipal` cover the caller? A statement with
    /// neither (every identity-based statement) covers everyone. An unknown caller
    /// (`None`) is covered only by `"Principal": "*"`. The rules are
    /// [`Caller::grant`] and [`Caller::exempt_by`].
    pub fn matches_principal(&self, caller: Option<&Caller>) -> bool {
        match (&self.principal, &self.not_principal, caller) {
            (Some(Principal::Any), _, _) => true,
            (Some(_), _, None) => false,
            (Some(p), _, Some(c)) => c.grant(p).is_some(),
            (None, Some(_), None) => false,
            (None, Some(np), Some(c)) => !c.exempt_by(np, c.bounded()),
            (None, None, _) => true,
        }
    }

    /// Does the statement's `Action`/`NotAction` cover `action`? Action names are
    /// case-insensitive.
    pub fn matches_action(&self, action: &str) -> bool {
        let any = |patterns: &[Pattern]| {
            patterns
                .iter()
                .any(|p| p.matches(action, &crate::lang::variables::NoVariables) == Match::Yes)
        };
        match &self.action {
            ActionSpec::Action(p) => any(p),
            ActionSpec::NotAction(p) => !any(p),
        }
    }

    /// Does the statement's `Resource`/`NotResource` cover `resource`?
    ///
    /// A pattern whose variable has no value (and no default) matches no resource
    /// (IAM User Guide, "Policy variables with no value"), in `NotResource` as in
    /// `Resource`.
    pub fn matches_resource(&self, resource: &str, vars: &dyn VariableSource) -> bool {
        let any = |patterns: &[ArnPattern]| {
            patterns
                .iter()
                .any(|p| p.matches(resource, vars) == Match::Yes)
        };
        match &self.resource {
            Some(ResourceSpec::Resource(p)) => any(p),
            Some(ResourceSpec::NotResource(p)) => !any(p),
            None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::lang::parse::parse_policy;
    use crate::request::Context;

    #[test]
    fn not_action_and_not_resource_invert() {
        let p = parse_policy(
            "p.json",
            br#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:*","NotResource":"arn:aws:s3:::secret/*"}}"#,
        )
        .unwrap();
        let st = &p.statements[0];
        assert!(st.matches_action("s3:GetObject"));
        assert!(!st.matches_action("IAM:CreateUser"));
        let ctx = Context::new();
        assert!(st.matches_resource("arn:aws:s3:::public/x", &ctx));
        assert!(!st.matches_resource("arn:aws:s3:::secret/x", &ctx));
    }
}
