//! Strict parsing of IAM JSON policy documents into the [`crate::lang::model`] model.
//!
//! The grammar follows the IAM User Guide ("IAM JSON policy element reference" and
//! "Grammar of the IAM JSON policy language"). Every error names the file, the line and
//! column, and the JSON path (`Statement[1].Effect`). Rejected: malformed JSON or UTF-8,
//! duplicate keys, unknown elements, a missing or invalid `Effect`, both or neither of
//! `Action`/`NotAction` (and `Resource`/`NotResource`), empty arrays, empty action or
//! resource strings, malformed ARNs and actions, unknown condition operators, and condition
//! values that do not fit their operator. Nothing here panics, whatever the bytes.
//!
//! Cost: two passes over the document (one to find `Version`, which decides how every
//! other value is read, one to build the model); linear in its size.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::lang::arn::ArnPattern;
use crate::lang::condition::{Condition, Family, Operator};
use crate::lang::json::{self, NumberTexts, seed_is_visitor};
use crate::lang::model::{
    ActionSpec, Effect, Policy, PolicyKind, Principal, ResourceSpec, Statement, Version,
};
use crate::lang::variables::Syntax;
use crate::lang::wildcard::{Case, Pattern};
use crate::loc::{Loc, Snippet};

/// Largest policy file accepted. AWS's own limits are far smaller (10,240 characters for an
/// inline policy); this bound only keeps a stray huge file from exhausting memory.
pub const MAX_POLICY_BYTES: usize = 64 * 1024 * 1024;

/// A policy (or request file) that could not be loaded: the file, and for an invalid
/// document the line, column and JSON path of the problem.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read at all.
    #[error("{file}: {problem}")]
    Read {
        /// File name as given.
        file: String,
        /// What went wrong (`cannot read: ...`, or the size limit).
        problem: String,
    },
    /// The document is not a valid policy.
    #[error("{loc}: {}: {message}", crate::loc::Shown(path))]
    Invalid {
        /// Where: file, line and column (characters).
        loc: Loc,
        /// JSON path such as `Statement[1].Effect` (`(document)` for the root).
        path: String,
        /// What is wrong.
        message: String,
        /// The document's text around the place, for labelled output.
        snippet: Option<Box<Snippet>>,
    },
}

impl miette::Diagnostic for LoadError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(match self {
            LoadError::Read { .. } => "policy_sim::policy::read",
            LoadError::Invalid { .. } => "policy_sim::policy::invalid",
        }))
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        match self {
            LoadError::Invalid {
                snippet: Some(s), ..
            } => Some(s.source_code()),
            LoadError::Invalid { .. } | LoadError::Read { .. } => None,
        }
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        match self {
            LoadError::Invalid {
                snippet: Some(s), ..
            } => Some(s.labels()),
            LoadError::Invalid { .. } | LoadError::Read { .. } => None,
        }
    }
}

impl LoadError {
    /// The location of an invalid document's problem.
    pub fn loc(&self) -> Option<&Loc> {
        match self {
            LoadError::Invalid { loc, .. } => Some(loc),
            LoadError::Read { .. } => None,
        }
    }

    fn too_large(name: &str) -> LoadError {
        LoadError::Read {
            file: name.to_string(),
            problem: format!("the document is larger than the limit of {MAX_POLICY_BYTES} bytes"),
        }
    }
}

/// Read at most [`MAX_POLICY_BYTES`] (plus one, to detect a larger input) from `reader`,
/// so that an endless or huge input cannot exhaust memory.
pub fn read_bounded(name: &str, reader: impl std::io::Read) -> Result<Vec<u8>, LoadError> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    reader
        .take(MAX_POLICY_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| LoadError::Read {
            file: name.to_string(),
            problem: format!("cannot read: {e}"),
        })?;
    if bytes.len() > MAX_POLICY_BYTES {
        return Err(LoadError::too_large(name));
    }
    Ok(bytes)
}

/// Read and parse an identity-based policy file, named in errors and explanations as the
/// path is written.
pub fn load_policy_file(path: &std::path::Path) -> Result<Policy, LoadError> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| LoadError::Read {
        file: name.clone(),
        problem: format!("cannot read: {e}"),
    })?;
    let bytes = read_bounded(&name, file)?;
    parse_policy(&name, &bytes)
}

/// Parse the identity-based policy document `bytes`, loaded under `name` (used in errors
/// and explanations).
pub fn parse_policy(name: &str, bytes: &[u8]) -> Result<Policy, LoadError> {
    parse_policy_as(name, bytes, PolicyKind::Identity)
}

/// Parse a policy document of the given kind.
pub fn parse_policy_as(name: &str, bytes: &[u8], kind: PolicyKind) -> Result<Policy, LoadError> {
    if bytes.len() > MAX_POLICY_BYTES {
        return Err(LoadError::too_large(name));
    }
    let version = sniff_version(bytes);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let numbers = NumberTexts::new(bytes);
    let seed = PolicySeed {
        version,
        kind,
        numbers: &numbers,
    };
    let mut track = serde_path_to_error::Track::new();
    let raw = seed
        .deserialize(serde_path_to_error::Deserializer::new(&mut de, &mut track))
        .map_err(|e| {
            let e = serde_path_to_error::Error::new(track.path(), e);
            invalid(name, bytes, document_path(e.path()), e.inner())
        })?;
    // Nothing but white space may follow the document.
    de.end()
        .map_err(|e| invalid(name, bytes, "(document)".to_string(), &e))?;
    Ok(Policy {
        name: name.to_string(),
        version: raw.version,
        id: raw.id,
        statements: raw.statements,
    })
}

/// The path of an error as users read it: serde_path_to_error writes `?` for a key it has
/// not read yet (e.g. at a trailing comma); the enclosing path is the useful part.
fn document_path(path: &serde_path_to_error::Path) -> String {
    match path.to_string() {
        p if p == "." || p == "?" || p.is_empty() => "(document)".to_string(),
        p => p.strip_suffix(".?").map(str::to_string).unwrap_or(p),
    }
}

/// A JSON reader's error in document `bytes` as a [`LoadError`], its byte column turned into
/// a character column and the text kept for labelled output.
fn invalid(name: &str, bytes: &[u8], path: String, e: &serde_json::Error) -> LoadError {
    let (line, byte_column) = (e.line(), e.column());
    let message = e.to_string();
    let suffix = format!(" at line {line} column {byte_column}");
    let text: std::sync::Arc<str> = String::from_utf8_lossy(bytes).into();
    let column = if byte_column == 0 {
        0
    } else {
        crate::loc::char_column(&text, line, byte_column)
    };
    let loc = Loc::new(name, line, column);
    let snippet = Snippet::new(&Loc::new(name, line, column.max(1)), text).map(Box::new);
    LoadError::Invalid {
        loc,
        path,
        message: message
            .strip_suffix(&suffix)
            .unwrap_or(&message)
            .to_string(),
        snippet,
    }
}

/// First pass: find the `Version` so that the second pass knows whether `${...}` is a
/// policy variable. Any problem here is left for the second pass to report.
fn sniff_version(bytes: &[u8]) -> Option<Version> {
    #[derive(serde::Deserialize)]
    struct OnlyVersion {
        #[serde(rename = "Version")]
        version: Option<serde_json::Value>,
    }
    let v: OnlyVersion = serde_json::from_slice(bytes).ok()?;
    match v.version?.as_str()? {
        "2012-10-17" => Some(Version::V2012_10_17),
        "2008-10-17" => Some(Version::V2008_10_17),
        _ => None,
    }
}

struct RawPolicy {
    version: Option<Version>,
    id: Option<String>,
    statements: Vec<Statement>,
}

/// A seed that fails at once with `message`: used as the value seed of a duplicate or
/// unknown key, so that the error's path and position point at that key's value.
struct Fail(String);

impl<'de> DeserializeSeed<'de> for Fail {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, _d: D) -> Result<(), D::Error> {
        Err(de::Error::custom(self.0))
    }
}

fn suggest(key: &str, known: &[&str]) -> String {
    let best = known
        .iter()
        .map(|k| {
            (
                strsim::levenshtein(&key.to_ascii_lowercase(), &k.to_ascii_lowercase()),
                *k,
            )
        })
        .min();
    match best {
        Some((d, k)) if d <= 2 => format!(" (did you mean {k:?}?)"),
        _ => format!(" (expected one of {})", known.join(", ")),
    }
}

/// A string value checked (and converted) by `F` inside the deserializer, so that errors
/// carry the value's path and position.
struct Checked<F>(F);

impl<'de, T, F: FnOnce(&str) -> Result<T, String>> DeserializeSeed<'de> for Checked<F> {
    type Value = T;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        struct V<F>(F);
        impl<'de, T, F: FnOnce(&str) -> Result<T, String>> Visitor<'de> for V<F> {
            type Value = T;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
                (self.0)(v).map_err(E::custom)
            }
        }
        d.deserialize_str(V(self.0))
    }
}

/// What a list item may be: a string only, or (condition values) also a number or
/// boolean, which AWS reads as its text.
#[derive(Clone, Copy)]
enum Scalars<'n> {
    StringsOnly,
    /// Numbers (read as written, see [`crate::lang::json`]) and booleans too.
    NumbersAndBools(&'n NumberTexts<'n>),
    /// Integers and booleans; decimal JSON numbers are refused: string operators compare
    /// text, and whether AWS compares a JSON decimal by its text (`1.50`) or its value
    /// (`1.5`) is not documented.
    IntegersAndBools(&'n NumberTexts<'n>),
}

/// `"one"` or `["one", "two"]` (an empty array is an error), or with `item` one element of
/// such an array; each string converted by `F`.
struct List<'f, F> {
    convert: &'f F,
    scalars: Scalars<'f>,
    /// One element of the array, not the whole value.
    item: bool,
}

impl<'f, F> List<'f, F> {
    fn new(convert: &'f F, scalars: Scalars<'f>) -> List<'f, F> {
        List {
            convert,
            scalars,
            item: false,
        }
    }
}

impl<'de, T, Er: fmt::Display, F: Fn(&str) -> Result<T, Er>> DeserializeSeed<'de> for List<'_, F> {
    type Value = Vec<T>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<T>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<T, Er: fmt::Display, F: Fn(&str) -> Result<T, Er>> List<'_, F> {
    fn one<E: de::Error>(&self, text: &str) -> Result<Vec<T>, E> {
        Ok(vec![(self.convert)(text).map_err(E::custom)?])
    }

    /// A JSON number: its text as written, when numbers are allowed here.
    fn number<E: de::Error>(self, value: json::Number) -> Result<Vec<T>, E> {
        let (numbers, integers_only) = match self.scalars {
            Scalars::StringsOnly => {
                let unexpected = match value {
                    json::Number::I64(v) => de::Unexpected::Signed(v),
                    json::Number::U64(v) => de::Unexpected::Unsigned(v),
                    json::Number::F64(v) => de::Unexpected::Float(v),
                };
                return Err(E::invalid_type(unexpected, &self));
            }
            Scalars::NumbersAndBools(n) => (n, false),
            Scalars::IntegersAndBools(n) => (n, true),
        };
        let Some(text) = numbers.next(value) else {
            return Err(E::custom("the text of a number could not be found"));
        };
        if integers_only && !json::is_integer(text) {
            return Err(E::custom(
                "write a decimal number as a string here (\"1.50\", not 1.50): this operator compares text, and whether AWS reads a JSON decimal by its text or its value is not documented",
            ));
        }
        self.one(text)
    }
}

impl<'de, T, Er: fmt::Display, F: Fn(&str) -> Result<T, Er>> Visitor<'de> for List<'_, F> {
    type Value = Vec<T>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match (self.scalars, self.item) {
            (Scalars::StringsOnly, false) => "a string or an array of strings",
            (Scalars::StringsOnly, true) => "a string",
            (_, false) => "a string, number or boolean, or an array of them",
            (_, true) => "a string, number or boolean",
        })
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<T>, E> {
        self.one(v)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Vec<T>, E> {
        match self.scalars {
            Scalars::NumbersAndBools(_) | Scalars::IntegersAndBools(_) => {
                self.one(if v { "true" } else { "false" })
            }
            Scalars::StringsOnly => Err(E::invalid_type(de::Unexpected::Bool(v), &self)),
        }
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Vec<T>, E> {
        self.number(json::Number::I64(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Vec<T>, E> {
        self.number(json::Number::U64(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Vec<T>, E> {
        self.number(json::Number::F64(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        if self.item {
            return Err(de::Error::invalid_type(de::Unexpected::Seq, &self));
        }
        let mut out = Vec::new();
        while let Some(item) = seq.next_element_seed(List { item: true, ..self })? {
            out.extend(item);
        }
        if out.is_empty() {
            return Err(de::Error::custom("must not be an empty array"));
        }
        Ok(out)
    }
}

const POLICY_KEYS: &[&str] = &["Version", "Id", "Statement"];

struct PolicySeed<'n> {
    numbers: &'n NumberTexts<'n>,
    version: Option<Version>,
    kind: PolicyKind,
}

seed_is_visitor!(PolicySeed<'_>, RawPolicy, deserialize_map);

impl<'de> Visitor<'de> for PolicySeed<'_> {
    type Value = RawPolicy;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a policy document (a JSON object with a Statement)")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawPolicy, A::Error> {
        let mut version_seen = false;
        let mut id = None;
        let mut statements = None;
        let mut sids = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let seen = match key.as_str() {
                "Version" => version_seen,
                "Id" => id.is_some(),
                "Statement" => statements.is_some(),
                _ => {
                    map.next_value_seed(Fail(format!(
                        "unknown element {:?}{}",
                        crate::loc::Shown(&key),
                        suggest(&key, POLICY_KEYS)
                    )))?;
                    continue;
                }
            };
            if seen {
                map.next_value_seed(Fail(format!("duplicate element {key:?}")))?;
                continue;
            }
            match key.as_str() {
                "Version" => {
                    map.next_value_seed(Checked(|v: &str| match v {
                        "2012-10-17" | "2008-10-17" => Ok(()),
                        other => Err(format!(
                            "unsupported Version {:?} (expected \"2012-10-17\" or \"2008-10-17\")",
                            crate::loc::Shown(other)
                        )),
                    }))?;
                    version_seen = true;
                }
                "Id" => id = Some(map.next_value::<String>()?),
                _ => {
                    statements = Some(map.next_value_seed(StatementsSeed {
                        numbers: self.numbers,
                        version: self.version,
                        kind: self.kind,
                        sids: &mut sids,
                    })?)
                }
            }
        }
        let Some(statements) = statements else {
            return Err(de::Error::custom("missing required element \"Statement\""));
        };
        if self.kind == PolicyKind::Rcp && self.version != Some(Version::V2012_10_17) {
            return Err(de::Error::custom(
                "an RCP must have \"Version\": \"2012-10-17\" (AWS Organizations User Guide, RCP syntax)",
            ));
        }
        Ok(RawPolicy {
            version: self.version,
            id,
            statements,
        })
    }
}

/// `Statement`: one statement object or an array of them.
struct StatementsSeed<'a> {
    numbers: &'a NumberTexts<'a>,
    version: Option<Version>,
    kind: PolicyKind,
    sids: &'a mut HashSet<String>,
}

seed_is_visitor!(StatementsSeed<'_>, Vec<Statement>, deserialize_any);

impl<'de> Visitor<'de> for StatementsSeed<'_> {
    type Value = Vec<Statement>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a statement object or an array of statements")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Vec<Statement>, A::Error> {
        let seed = StatementSeed {
            numbers: self.numbers,
            version: self.version,
            kind: self.kind,
            index: 0,
            sids: self.sids,
        };
        Ok(vec![seed.visit_map(map)?])
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Statement>, A::Error> {
        let mut out = Vec::new();
        while let Some(s) = seq.next_element_seed(StatementSeed {
            numbers: self.numbers,
            version: self.version,
            kind: self.kind,
            index: out.len(),
            sids: self.sids,
        })? {
            out.push(s);
        }
        if out.is_empty() {
            return Err(de::Error::custom("must not be an empty array"));
        }
        Ok(out)
    }
}

const STATEMENT_KEYS: &[&str] = &[
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

struct StatementSeed<'a> {
    numbers: &'a NumberTexts<'a>,
    version: Option<Version>,
    kind: PolicyKind,
    index: usize,
    sids: &'a mut HashSet<String>,
}

seed_is_visitor!(StatementSeed<'_>, Statement, deserialize_map);

/// An action pattern that is not `*` or `service:action`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum ActionPatternError {
    /// No `service:` prefix.
    #[error(
        "action {:?} is not of the form service:action (or \"*\")",
        crate::loc::Shown(text)
    )]
    #[diagnostic(code(policy_sim::action::form))]
    NotServiceAction {
        /// The pattern as written.
        text: String,
    },
    /// A service prefix with wildcards or other characters.
    #[error(
        "action {:?}: the service prefix {:?} must be letters, digits, '-' and '.' without wildcards",
        crate::loc::Shown(text),
        crate::loc::Shown(service)
    )]
    #[diagnostic(code(policy_sim::action::service))]
    BadService {
        /// The pattern as written.
        text: String,
        /// Its service prefix.
        service: String,
    },
    /// An empty name, or one with `:` or white space.
    #[error(
        "action {:?}: the action name after {:?} must be non-empty, without ':' or spaces",
        crate::loc::Shown(text),
        crate::loc::Shown(service)
    )]
    #[diagnostic(code(policy_sim::action::name))]
    BadName {
        /// The pattern as written.
        text: String,
        /// Its service prefix.
        service: String,
    },
}

/// One action pattern, as `Action`/`NotAction` take it: `*` or `service:action`, where the
/// service prefix has no wildcard. Matching ignores ASCII case.
pub fn parse_action_pattern(text: &str) -> Result<Pattern, ActionPatternError> {
    let syntax = Syntax {
        variables: false,
        wildcards: true,
    };
    let pattern = || match Pattern::parse(text, syntax, Case::AsciiInsensitive) {
        Ok(p) => Ok(p),
        // Without variables nothing can fail to parse.
        Err(_) => Err(ActionPatternError::NotServiceAction {
            text: text.to_string(),
        }),
    };
    if text == "*" {
        return pattern();
    }
    let Some((service, name)) = text.split_once(':') else {
        return Err(ActionPatternError::NotServiceAction {
            text: text.to_string(),
        });
    };
    if service.is_empty()
        || !service
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    {
        return Err(ActionPatternError::BadService {
            text: text.to_string(),
            service: service.to_string(),
        });
    }
    if name.is_empty()
        || name.contains(':')
        || name.contains(|c: char| c.is_whitespace() || c.is_control())
    {
        return Err(ActionPatternError::BadName {
            text: text.to_string(),
            service: service.to_string(),
        });
    }
    pattern()
}

/// The elements of a statement as they are read.
#[derive(Default)]
struct StatementParts {
    seen: Vec<String>,
    sid: Option<String>,
    effect: Option<Effect>,
    principal: Option<Principal>,
    not_principal: Option<Principal>,
    action: Option<ActionSpec>,
    resource: Option<ResourceSpec>,
    conditions: Option<Vec<Condition>>,
}

impl StatementParts {
    /// Why element `key` cannot come next (unknown, repeated, conflicting, or not allowed
    /// in this kind of policy), or `None` when it can.
    fn refuse(&self, key: &str, kind: PolicyKind) -> Option<String> {
        if !STATEMENT_KEYS.contains(&key) {
            return Some(format!(
                "unknown element {:?}{}",
                crate::loc::Shown(key),
                suggest(key, STATEMENT_KEYS)
            ));
        }
        if self.seen.iter().any(|s| s == key) {
            return Some(format!("duplicate element {key:?}"));
        }
        let other = match key {
            "Action" => "NotAction",
            "NotAction" => "Action",
            "Resource" => "NotResource",
            "NotResource" => "Resource",
            "Principal" => "NotPrincipal",
            "NotPrincipal" => "Principal",
            _ => "",
        };
        if self.seen.iter().any(|s| s == other) {
            return Some(format!(
                "a statement cannot have both {other:?} and {key:?}"
            ));
        }
        if (key == "Principal" || key == "NotPrincipal") && !kind.has_principal() {
            return Some(match kind {
                PolicyKind::Scp => format!(
                    "an SCP must not contain {key:?} (AWS Organizations User Guide, SCP syntax): \
                     it applies to the principals of the accounts it is attached to"
                ),
                PolicyKind::Identity
                | PolicyKind::Resource
                | PolicyKind::Trust
                | PolicyKind::Rcp => format!(
                    "an identity-based policy must not contain {key:?} (IAM User Guide, Principal element); \
                     this looks like a resource-based or trust policy"
                ),
            });
        }
        if key == "NotPrincipal" && !kind.allows_not_principal() {
            return Some(match kind {
                PolicyKind::Rcp => "an RCP must not contain \"NotPrincipal\" (AWS Organizations User Guide, RCP syntax); use \"Principal\": \"*\" with a condition".to_string(),
                PolicyKind::Identity | PolicyKind::Resource | PolicyKind::Trust | PolicyKind::Scp => {
                    "a role trust policy must not contain \"NotPrincipal\" (IAM User Guide, NotPrincipal element)"
                        .to_string()
                }
            });
        }
        if key == "NotAction" && kind == PolicyKind::Rcp {
            return Some(
                "an RCP must not contain \"NotAction\" (AWS Organizations User Guide, RCP syntax)"
                    .to_string(),
            );
        }
        None
    }

    /// The rules only resource control policies have (AWS Organizations User Guide, "RCP
    /// syntax"): `Principal` is `"*"`, and `Allow` is supported only for
    /// `RCPFullAWSAccess` (Principal, Action and Resource `"*"`, no Condition).
    fn check_rcp(&self, effect: Effect) -> Result<(), &'static str> {
        if !matches!(self.principal, Some(Principal::Any)) {
            return Err(
                "an RCP's \"Principal\" must be \"*\" (AWS Organizations User Guide, RCP syntax); name principals with conditions such as aws:PrincipalAccount",
            );
        }
        let all_actions = matches!(&self.action, Some(ActionSpec::Action(p)) if p.len() == 1 && p[0].source() == "*");
        let all_resources = matches!(&self.resource, Some(ResourceSpec::Resource(p)) if p.len() == 1 && p[0].source() == "*");
        let no_condition = self.conditions.as_ref().is_none_or(Vec::is_empty);
        if effect == Effect::Allow && !(all_actions && all_resources && no_condition) {
            return Err(
                "an RCP may use \"Effect\": \"Allow\" only as RCPFullAWSAccess does (Action and Resource \"*\", no Condition) (AWS Organizations User Guide, RCP syntax); RCPs restrict with \"Deny\"",
            );
        }
        Ok(())
    }

    /// The statement, once every required element is there.
    fn finish(self, index: usize, kind: PolicyKind) -> Result<Statement, &'static str> {
        let Some(effect) = self.effect else {
            return Err("missing required element \"Effect\"");
        };
        if kind == PolicyKind::Rcp
            && self.action.is_some()
            && self.principal.is_some()
            && self.resource.is_some()
        {
            self.check_rcp(effect)?;
        }
        let Some(action) = self.action else {
            return Err("missing required element: one of \"Action\" or \"NotAction\"");
        };
        if self.resource.is_none() && kind.requires_resource() {
            return Err("missing required element: one of \"Resource\" or \"NotResource\"");
        }
        if kind.has_principal() && self.principal.is_none() && self.not_principal.is_none() {
            return Err("missing required element: one of \"Principal\" or \"NotPrincipal\"");
        }
        if self.not_principal.is_some() && effect == Effect::Allow {
            return Err(
                "\"NotPrincipal\" with \"Effect\": \"Allow\" is not supported by AWS (IAM User Guide, NotPrincipal element)",
            );
        }
        let mut statement = Statement {
            index,
            sid: self.sid,
            effect,
            principal: self.principal,
            not_principal: self.not_principal,
            action,
            resource: self.resource,
            conditions: self.conditions.unwrap_or_default(),
            always_present: Default::default(),
        };
        statement.derive_always_present_keys();
        Ok(statement)
    }
}

/// `Sid`: letters and digits, unique within the policy.
fn check_sid(sids: &mut HashSet<String>, v: &str) -> Result<String, String> {
    if !v.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!(
            "Sid {:?} may contain only ASCII letters and digits",
            crate::loc::Shown(v)
        ));
    }
    if !v.is_empty() && !sids.insert(v.to_string()) {
        return Err(format!(
            "duplicate Sid {:?}: Sids must be unique within a policy",
            crate::loc::Shown(v)
        ));
    }
    Ok(v.to_string())
}

/// `Effect`: exactly `Allow` or `Deny`.
fn check_effect(v: &str) -> Result<Effect, String> {
    match v {
        "Allow" => Ok(Effect::Allow),
        "Deny" => Ok(Effect::Deny),
        other => Err(format!(
            "Effect must be \"Allow\" or \"Deny\" (case-sensitive), found {:?}",
            crate::loc::Shown(other)
        )),
    }
}

impl StatementSeed<'_> {
    /// Read the value of element `key` (already accepted by [`StatementParts::refuse`]).
    fn read_element<'de, A: MapAccess<'de>>(
        &mut self,
        map: &mut A,
        key: &str,
        parts: &mut StatementParts,
    ) -> Result<(), A::Error> {
        let variables = self.version == Some(Version::V2012_10_17);
        match key {
            "Sid" => {
                let sids = &mut *self.sids;
                parts.sid = Some(map.next_value_seed(Checked(|v: &str| check_sid(sids, v)))?);
            }
            "Effect" => parts.effect = Some(map.next_value_seed(Checked(check_effect))?),
            "Principal" => parts.principal = Some(map.next_value_seed(PrincipalSeed)?),
            "NotPrincipal" => parts.not_principal = Some(map.next_value_seed(PrincipalSeed)?),
            "Action" | "NotAction" => {
                let list =
                    map.next_value_seed(List::new(&parse_action_pattern, Scalars::StringsOnly))?;
                parts.action = Some(if key == "Action" {
                    ActionSpec::Action(list)
                } else {
                    ActionSpec::NotAction(list)
                });
            }
            "Resource" | "NotResource" => {
                let syntax = Syntax {
                    variables,
                    wildcards: true,
                };
                let compile = |t: &str| ArnPattern::parse(t, syntax);
                let list = map.next_value_seed(List::new(&compile, Scalars::StringsOnly))?;
                parts.resource = Some(if key == "Resource" {
                    ResourceSpec::Resource(list)
                } else {
                    ResourceSpec::NotResource(list)
                });
            }
            _ => {
                parts.conditions = Some(map.next_value_seed(ConditionBlockSeed {
                    variables,
                    numbers: self.numbers,
                })?)
            }
        }
        Ok(())
    }
}

impl<'de> Visitor<'de> for StatementSeed<'_> {
    type Value = Statement;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a statement object")
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Statement, A::Error> {
        let mut parts = StatementParts::default();
        while let Some(key) = map.next_key::<String>()? {
            if let Some(message) = parts.refuse(&key, self.kind) {
                map.next_value_seed(Fail(message))?;
                continue;
            }
            parts.seen.push(key.clone());
            self.read_element(&mut map, &key, &mut parts)?;
        }
        parts
            .finish(self.index, self.kind)
            .map_err(de::Error::custom)
    }
}

/// `Principal`/`NotPrincipal`: `"*"` or a map of principal type to values.
struct PrincipalSeed;

seed_is_visitor!(PrincipalSeed, Principal, deserialize_any);

impl<'de> Visitor<'de> for PrincipalSeed {
    type Value = Principal;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("\"*\" or a map such as {\"AWS\": \"arn:...\"}")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Principal, E> {
        if v == "*" {
            Ok(Principal::Any)
        } else {
            Err(E::custom(format!(
                "a principal string must be \"*\"; found {:?} (use a map such as {{\"AWS\": ...}})",
                crate::loc::Shown(v)
            )))
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Principal, A::Error> {
        const TYPES: &[&str] = &["AWS", "Service", "Federated", "CanonicalUser"];
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if !TYPES.contains(&key.as_str()) {
                map.next_value_seed(Fail(format!(
                    "unknown principal type {:?}{}",
                    crate::loc::Shown(&key),
                    suggest(&key, TYPES)
                )))?;
                continue;
            }
            if out.iter().any(|(k, _)| *k == key) {
                map.next_value_seed(Fail(format!("duplicate principal type {key:?}")))?;
                continue;
            }
            let non_empty = |v: &str| {
                if v.is_empty() {
                    return Err("a principal must not be an empty string".to_string());
                }
                crate::lang::principal::check_principal_value(&key, v)
                    .map_err(|e| e.to_string())?;
                Ok(v.to_string())
            };
            let values = map.next_value_seed(List::new(&non_empty, Scalars::StringsOnly))?;
            out.push((key, values));
        }
        if out.is_empty() {
            return Err(de::Error::custom("a principal map must not be empty"));
        }
        Ok(Principal::Map(out))
    }
}

/// `Condition`: `{ operator: { key: values } }`.
struct ConditionBlockSeed<'n> {
    variables: bool,
    numbers: &'n NumberTexts<'n>,
}

seed_is_visitor!(ConditionBlockSeed<'_>, Vec<Condition>, deserialize_map);

impl<'de> Visitor<'de> for ConditionBlockSeed<'_> {
    type Value = Vec<Condition>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a condition block {\"Operator\": {\"key\": value}}")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<Condition>, A::Error> {
        let mut out = Vec::new();
        let mut operators_seen: Vec<String> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            // Operator names are case-insensitive, so `StringEquals` twice in different
            // cases is a duplicate too.
            if operators_seen.contains(&key.to_ascii_lowercase()) {
                map.next_value_seed(Fail(format!("duplicate condition operator {key:?}")))?;
                continue;
            }
            let operator = match Operator::parse(&key) {
                Ok(op) => op,
                Err(message) => {
                    map.next_value_seed(Fail(message.to_string()))?;
                    continue;
                }
            };
            operators_seen.push(key.to_ascii_lowercase());
            out.extend(map.next_value_seed(OperatorBlockSeed {
                operator,
                variables: self.variables,
                numbers: self.numbers,
            })?);
        }
        Ok(out)
    }
}

/// `{ key: values }` under one operator.
struct OperatorBlockSeed<'n> {
    numbers: &'n NumberTexts<'n>,
    operator: Operator,
    variables: bool,
}

seed_is_visitor!(OperatorBlockSeed<'_>, Vec<Condition>, deserialize_map);

impl<'de> Visitor<'de> for OperatorBlockSeed<'_> {
    type Value = Vec<Condition>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map of condition keys to values")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<Condition>, A::Error> {
        let mut out: Vec<Condition> = Vec::new();
        // Keys seen so far, in lowercase: a set, so that a block of many keys is read in
        // linear time (a scan of `out` per key was quadratic).
        let mut seen: HashSet<String> = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let key_lower = key.to_ascii_lowercase();
            if !seen.insert(key_lower.clone()) {
                map.next_value_seed(Fail(format!(
                    "duplicate condition key {:?} (condition keys are case-insensitive)",
                    crate::loc::Shown(&key)
                )))?;
                continue;
            }
            match key.split_once(':') {
                Some((prefix, name)) if !prefix.is_empty() && !name.is_empty() => {}
                _ => {
                    map.next_value_seed(Fail(format!(
                        "condition key {:?} must be of the form prefix:name (e.g. aws:SourceIp)",
                        crate::loc::Shown(&key)
                    )))?;
                    continue;
                }
            }
            let operator = self.operator;
            let variables = self.variables;
            let compile = |raw: &str| {
                operator
                    .compile_value(raw, variables)
                    .map(|v| (v, raw.to_string()))
            };
            // Numbers are read as written. Numeric and date operators compare values, so
            // a JSON decimal is fine there; the others compare text (see Scalars).
            let scalars = match operator.comparison.family() {
                Family::Numeric | Family::Date => Scalars::NumbersAndBools(self.numbers),
                Family::String
                | Family::Bool
                | Family::Binary
                | Family::Ip
                | Family::Arn
                | Family::Null => Scalars::IntegersAndBools(self.numbers),
            };
            let values = map.next_value_seed(List::new(&compile, scalars))?;
            let (values, raw_values) = values.into_iter().unzip();
            out.push(Condition {
                operator,
                key,
                key_known: crate::lang::keys::KnownKey::of(&key_lower),
                key_lower,
                values,
                raw_values,
            });
        }
        if out.is_empty() {
            return Err(de::Error::custom(format!(
                "condition operator {} has no condition keys",
                self.operator
            )));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Policy, LoadError> {
        parse_policy("p.json", text.as_bytes())
    }

    #[test]
    fn single_statement_object_and_string_values() {
        let p = parse(r#"{"Version":"2012-10-17","Statement":{"Sid":"A1","Effect":"Deny","Action":"s3:*","NotResource":"arn:aws:s3:::b"}}"#).unwrap();
        assert_eq!(p.version, Some(Version::V2012_10_17));
        assert_eq!(p.statements.len(), 1);
        let st = &p.statements[0];
        assert_eq!(st.sid.as_deref(), Some("A1"));
        assert_eq!(st.effect, Effect::Deny);
        assert!(matches!(&st.resource, Some(ResourceSpec::NotResource(v)) if v.len() == 1));
    }

    #[test]
    fn version_decides_variables_even_when_it_comes_last() {
        let p = parse(r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}"}],"Version":"2012-10-17"}"#).unwrap();
        let Some(ResourceSpec::Resource(r)) = &p.statements[0].resource else {
            panic!("expected Resource")
        };
        assert!(r[0].has_variables());
        let p = parse(
            r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username"}]}"#,
        );
        assert!(
            p.is_ok(),
            "without Version, `${{` is literal text and cannot be malformed"
        );
    }

    #[test]
    fn condition_values_accept_numbers_and_booleans() {
        let p = parse(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*",
            "Condition":{"NumericLessThan":{"s3:max-keys":10},"Bool":{"aws:SecureTransport":true}}}}"#).unwrap();
        let c = &p.statements[0].conditions;
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].raw_values, ["10"]);
        assert_eq!(c[1].raw_values, ["true"]);
    }

    #[test]
    fn scps_and_rcps_have_their_own_rules() {
        let err = |doc: &str, kind| {
            parse_policy_as("p.json", doc.as_bytes(), kind)
                .unwrap_err()
                .to_string()
        };
        let ok = |doc: &str, kind| parse_policy_as("p.json", doc.as_bytes(), kind).is_ok();
        // SCPs: no principal.
        assert!(err(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}}"#,
            PolicyKind::Scp
        )
        .ends_with("Statement.Principal: an SCP must not contain \"Principal\" (AWS Organizations User Guide, SCP syntax): it applies to the principals of the accounts it is attached to"));
        assert!(ok(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}"#,
            PolicyKind::Scp
        ));
        // RCPs: Principal "*", Deny, or Allow exactly as RCPFullAWSAccess.
        let full = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}"#;
        assert!(ok(full, PolicyKind::Rcp));
        assert!(ok(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}}"#,
            PolicyKind::Rcp
        ));
        let allow = "an RCP may use \"Effect\": \"Allow\" only as RCPFullAWSAccess does (Action and Resource \"*\", no Condition) (AWS Organizations User Guide, RCP syntax); RCPs restrict with \"Deny\"";
        for doc in [
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}}"#,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"arn:aws:s3:::b/*"}}"#,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}}"#,
        ] {
            assert!(err(doc, PolicyKind::Rcp).ends_with(allow), "{doc}");
        }
        assert!(err(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":{"AWS":"111122223333"},"Action":"*","Resource":"*"}}"#,
            PolicyKind::Rcp
        )
        .contains("an RCP's \"Principal\" must be \"*\""));
        assert!(err(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"111122223333"},"Action":"*","Resource":"*"}}"#,
            PolicyKind::Rcp
        )
        .contains("Statement.NotPrincipal: an RCP must not contain \"NotPrincipal\""));
        assert!(err(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","NotAction":"s3:*","Resource":"*"}}"#,
            PolicyKind::Rcp
        )
        .contains("Statement.NotAction: an RCP must not contain \"NotAction\""));
        assert!(err(
            r#"{"Statement":{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}}"#,
            PolicyKind::Rcp
        )
        .ends_with("an RCP must have \"Version\": \"2012-10-17\" (AWS Organizations User Guide, RCP syntax)"));
        assert!(err(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"*"}}"#,
            PolicyKind::Rcp
        )
        .contains("missing required element: one of \"Resource\" or \"NotResource\""));
    }

    #[test]
    fn principal_is_kept_in_resource_policies_and_refused_in_identity_policies() {
        let trust = br#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Federated":"cognito-identity.amazonaws.com"},"Action":"sts:AssumeRoleWithWebIdentity"}}"#;
        let p = parse_policy_as("trust.json", trust, PolicyKind::Resource).unwrap();
        assert_eq!(
            p.statements[0].principal,
            Some(Principal::Map(vec![(
                "Federated".to_string(),
                vec!["cognito-identity.amazonaws.com".to_string()]
            )]))
        );
        assert!(p.statements[0].resource.is_none());
        assert_eq!(
            parse_policy("trust.json", trust).unwrap_err().to_string(),
            "trust.json:1:66: Statement.Principal: an identity-based policy must not contain \"Principal\" \
             (IAM User Guide, Principal element); this looks like a resource-based or trust policy"
        );
        let no_principal = br#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#;
        assert_eq!(
            parse_policy_as("r.json", no_principal, PolicyKind::Resource)
                .unwrap_err()
                .to_string(),
            "r.json:1:85: Statement: missing required element: one of \"Principal\" or \"NotPrincipal\""
        );
    }

    #[test]
    fn oversized_input_is_refused() {
        let big = vec![b' '; MAX_POLICY_BYTES + 1];
        assert_eq!(
            parse_policy("big.json", &big).unwrap_err().to_string(),
            format!("big.json: the document is larger than the limit of {MAX_POLICY_BYTES} bytes")
        );
    }

    /// Many condition keys under one operator are read in linear time (each key used to
    /// be compared with every earlier one: 50,000 keys took minutes), and a duplicate in
    /// another case is still found at the end.
    #[test]
    fn many_condition_keys_and_a_late_duplicate() {
        let keys: Vec<String> = (0..50_000).map(|i| format!("\"k:{i}\":\"v\"")).collect();
        let doc = |extra: &str| {
            format!(
                r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{{"StringEquals":{{{}{extra}}}}}}}}}"#,
                keys.join(",")
            )
        };
        let p = parse(&doc("")).unwrap();
        assert_eq!(p.statements[0].conditions.len(), 50_000);
        let e = parse(&doc(r#","K:49999":"w""#)).unwrap_err().to_string();
        assert!(
            e.ends_with(
                "Statement.Condition.StringEquals.K:49999: duplicate condition key \"K:49999\" \
                 (condition keys are case-insensitive)"
            ),
            "{e}"
        );
    }
}
