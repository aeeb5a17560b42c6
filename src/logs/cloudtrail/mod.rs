//! CloudTrail records to requests (`docs/audit.md`).
//!
//! A record is read as a [`Record`]: only the fields the mapping uses, borrowed from the
//! record's text (the record format has many optional fields, and one event's shape
//! depends on its service and operation); the fields read are those of the CloudTrail User
//! Guide's "CloudTrail record contents" and "CloudTrail userIdentity element". S3 data events (`eventSource` `s3.amazonaws.com`) are mapped
//! with the table in [`crate::logs::S3_OPERATIONS`]; every other event is
//! [`UnmappedKind::OtherService`].
//!
//! The Cognito identity of a data event comes from a join: the `AssumeRoleWithWebIdentity`
//! events of a Cognito identity pool (the basic flow) give the identity id
//! (`responseElements.subjectFromWebIdentityToken`), the pool (`audience`), the role
//! (`requestParameters.roleArn`) and the access key issued
//! (`responseElements.credentials.accessKeyId`); a data event signed with that key
//! (`userIdentity.accessKeyId`) gets the identity. Records in a log file come in no
//! order, and a session's `AssumeRoleWithWebIdentity` may sit in another file: index
//! every record first ([`IdentityIndex::add_record`]), then map ([`map_record`]), as
//! [`map_records`] does.

use std::collections::HashMap;
use std::io::Read;
use std::net::IpAddr;
use std::path::Path;

use serde_json::Value;

pub mod record;

pub use record::Record;
use record::{
    DeletedObject, Items, Obj, OneOrMany, RequestParameters, SessionContext, Text, UserIdentity,
};

use super::{
    LogError, Mapped, S3Operation, Scope, Shape, Unmapped, UnmappedCounts, UnmappedKind,
    is_cognito_session, is_reserved_bucket, percent_decode, s3_arn, s3_operation,
};
use crate::lang::keys;
use crate::lang::principal::Caller;
use crate::request::{Context, Request};

/// The provider Cognito identity pools federate through.
pub const COGNITO_PROVIDER: &str = "cognito-identity.amazonaws.com";

/// Whether `provider` (a record's `provider`, `identityProvider` or `federatedProvider`)
/// names Cognito identity pools: [`COGNITO_PROVIDER`], with or without `https://`.
fn is_cognito_provider(provider: &str) -> bool {
    provider.strip_prefix("https://").unwrap_or(provider) == COGNITO_PROVIDER
}

/// Read a delivered CloudTrail log file (`{"Records": [...]}`), plain or gzip (detected
/// by the gzip magic bytes, whatever the file's name).
pub fn read_log_file(path: &Path) -> Result<Vec<Value>, LogError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| LogError::Read {
        file: file.clone(),
        source,
    })?;
    parse_log_file(&file, &bytes)
}

/// Gunzip `bytes` when they start with the gzip magic bytes (`1f 8b`); otherwise borrow
/// them as they are.
pub fn maybe_gunzip<'a>(
    file: &str,
    bytes: &'a [u8],
) -> Result<std::borrow::Cow<'a, [u8]>, LogError> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|source| LogError::Gzip {
            file: file.to_string(),
            source,
        })?;
    Ok(std::borrow::Cow::Owned(out))
}

/// [`read_log_file`] of bytes already read; `file` names them in errors.
pub fn parse_log_file(file: &str, bytes: &[u8]) -> Result<Vec<Value>, LogError> {
    let bytes = maybe_gunzip(file, bytes)?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| json_error(file, 0, &e))?;
    match value {
        Value::Object(mut map) => match map.remove("Records") {
            Some(Value::Array(records)) => Ok(records),
            Some(_) => Err(LogError::Shape {
                file: file.to_string(),
                message: "\"Records\" is not an array".to_string(),
            }),
            None => Err(LogError::Shape {
                file: file.to_string(),
                message: "no \"Records\" array: not a CloudTrail log file".to_string(),
            }),
        },
        _ => Err(LogError::Shape {
            file: file.to_string(),
            message: "not a JSON object with a \"Records\" array".to_string(),
        }),
    }
}

/// Records one per line (CloudTrail Lake and Athena exports as JSON Lines), plain or
/// gzip; blank lines are skipped. An error names the line.
pub fn parse_json_lines(file: &str, bytes: &[u8]) -> Result<Vec<Value>, LogError> {
    let bytes = maybe_gunzip(file, bytes)?;
    let mut records = Vec::new();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let value: Value = serde_json::from_slice(line).map_err(|e| json_error(file, i, &e))?;
        records.push(value);
    }
    Ok(records)
}

/// A JSON error at line `offset + e.line()`.
fn json_error(file: &str, offset: usize, e: &serde_json::Error) -> LogError {
    LogError::Json {
        file: file.to_string(),
        line: offset + e.line(),
        column: e.column(),
        message: e.to_string(),
    }
}

/// A Cognito identity's role session, as its `AssumeRoleWithWebIdentity` event shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebIdentitySession {
    /// The identity id (`REGION:GUID`): `subjectFromWebIdentityToken`, the token's `sub`.
    pub identity_id: String,
    /// The role the session is of (`requestParameters.roleArn`).
    pub role_arn: String,
    /// The identity pool (`responseElements.audience`, the token's `aud`).
    pub pool_id: String,
}

/// What an access key id is known as: the number of its session in
/// [`IdentityIndex::sessions`], or [`CONFLICT`].
type KeyEntry = u32;

/// A key issued (as the records tell) to two different sessions.
const CONFLICT: KeyEntry = u32::MAX;

/// Access key id to the Cognito identity it was issued to, built from
/// `AssumeRoleWithWebIdentity` events. Grows with the number of sessions, not events.
///
/// Each distinct session (identity, role, pool) is kept once and numbered; a key holds its
/// session's number. The table of keys stays small (a key and a number an entry) and the
/// sessions, far fewer than the keys issued to them, stay close together in memory.
#[derive(Debug, Clone, Default)]
pub struct IdentityIndex {
    keys: KeyMap<Box<str>, KeyEntry>,
    /// How many of `keys` are conflicts.
    conflicts: usize,
    sessions: Vec<WebIdentitySession>,
    /// Each session's number, by [`session_name`].
    numbers: KeyMap<String, KeyEntry>,
    /// Scratch for [`session_name`].
    name: String,
    /// The roles Cognito sessions were issued for (`requestParameters.roleArn`).
    roles: KeyMap<Box<str>, ()>,
    /// Role chaining (`sts:AssumeRole` by a role session): the roles assumed by sessions
    /// whose own record shows them as a Cognito identity's.
    chained: KeyMap<Box<str>, ()>,
    /// The roles assumed with each access key.
    key_edges: Edges,
    /// The roles assumed by each role's sessions.
    role_edges: Edges,
    /// The roles whose sessions may act for a Cognito identity: `roles`, `chained`, the
    /// roles assumed with a Cognito session's key (or a conflict), and every role assumed
    /// by a session of one of these, again and again (kept up to date as records come).
    reach: KeyMap<Box<str>, ()>,
}

/// The index's maps: keyed by text from the logs, hashed with foldhash (seeded at random
/// per process), a fraction of SipHash's cost on keys this short.
type KeyMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Role chaining's edges: what each key (or role) assumed, as a set (however many roles
/// one caller assumes, adding one stays a lookup).
type Edges = KeyMap<Box<str>, KeyMap<Box<str>, ()>>;

/// Whether `edges` has `from` → `target`.
fn has_edge(edges: &Edges, from: &str, target: &str) -> bool {
    edges.get(from).is_some_and(|ts| ts.contains_key(target))
}

/// Add `from` → `target` to `edges`; whether it is new.
fn push_edge(edges: &mut Edges, from: &str, target: &str) -> bool {
    if has_edge(edges, from, target) {
        return false;
    }
    edges
        .entry(from.into())
        .or_default()
        .insert(target.into(), ());
    true
}

/// A text naming the session `(identity, role, pool)` unambiguously (each part after its
/// length).
fn session_name(out: &mut String, identity_id: &str, role_arn: &str, pool_id: &str) {
    use std::fmt::Write;
    out.clear();
    for part in [identity_id, role_arn, pool_id] {
        let _ = write!(out, "{}:", part.len());
        out.push_str(part);
    }
}

/// Where [`map`] looks a data event's access key up: an [`IdentityIndex`], or a view of
/// one that also watches what is asked (an audit reading its records in one pass wants to
/// know which events met a key not known yet).
pub trait SessionLookup {
    /// What `access_key_id` is known as.
    fn lookup(&self, access_key_id: &str) -> KeyLookup<'_>;

    /// Whether a session of `role_arn` may act for a Cognito identity: a Cognito identity
    /// pool issued one, or one chained into it ([`IdentityIndex::is_cognito_role`]).
    fn cognito_role(&self, role_arn: &str) -> bool;
}

impl SessionLookup for IdentityIndex {
    fn lookup(&self, access_key_id: &str) -> KeyLookup<'_> {
        IdentityIndex::lookup(self, access_key_id)
    }

    fn cognito_role(&self, role_arn: &str) -> bool {
        self.is_cognito_role(role_arn)
    }
}

/// What [`IdentityIndex::lookup`] finds for an access key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyLookup<'a> {
    /// Not issued by an indexed `AssumeRoleWithWebIdentity`.
    Unknown,
    /// Issued to this session.
    Session(&'a WebIdentitySession),
    /// Issued, as the records tell, to two different sessions.
    Conflict,
}

impl IdentityIndex {
    /// An empty index.
    pub fn new() -> IdentityIndex {
        IdentityIndex::default()
    }

    /// [`IdentityIndex::add`] of a record read as a [`Value`] (one that is not a JSON
    /// object is `Ok(false)`: no session).
    pub fn add_record(&mut self, record: &Value) -> Result<bool, Unmapped> {
        match Record::from_value(record) {
            Ok(record) => self.add(&record),
            Err(_) => Ok(false),
        }
    }

    /// Index `record` if it is a successful `AssumeRoleWithWebIdentity` of a Cognito
    /// identity pool: `Ok(true)`. Any other record (another event, a failed call, another
    /// provider) is `Ok(false)`. A Cognito one without the identity, pool, role or issued
    /// key is [`UnmappedKind::Malformed`].
    pub fn add(&mut self, record: &Record<'_>) -> Result<bool, Unmapped> {
        if let Some(chain) = chained_role(record)? {
            self.add_chain(&chain);
            return Ok(false);
        }
        let Some((key, session)) = issued_session(record)? else {
            return Ok(false);
        };
        let number = self.number(
            session.identity_id,
            session.role_arn,
            session.pool_id,
            || session.to_session(),
        );
        self.insert(key, number);
        Ok(true)
    }

    /// The number of the session `(identity, role, pool)`, numbered (from `make`) if new.
    fn number(
        &mut self,
        identity_id: &str,
        role_arn: &str,
        pool_id: &str,
        make: impl FnOnce() -> WebIdentitySession,
    ) -> KeyEntry {
        session_name(&mut self.name, identity_id, role_arn, pool_id);
        if let Some(n) = self.numbers.get(self.name.as_str()) {
            return *n;
        }
        // Numbers stop short of CONFLICT: more distinct sessions than that cannot be
        // told apart, so they share the last number's meaning of a conflict.
        let n = match KeyEntry::try_from(self.sessions.len()) {
            Ok(n) if n < CONFLICT => n,
            _ => return CONFLICT,
        };
        self.sessions.push(make());
        self.numbers.insert(self.name.clone(), n);
        if !self.roles.contains_key(role_arn) {
            self.roles.insert(role_arn.into(), ());
            self.reach_role(role_arn);
        }
        n
    }

    /// Learn one role chaining ([`ChainText`]).
    fn add_chain(&mut self, chain: &ChainText<'_>) {
        if chain.cognito {
            self.add_chained(chain.target);
        }
        if let Some(key) = chain.caller_key {
            self.add_key_edge(key, chain.target);
        }
        if let Some(role) = &chain.caller_role {
            self.add_role_edge(role, chain.target);
        }
    }

    /// `target` was assumed by a session whose own record shows it a Cognito identity's.
    fn add_chained(&mut self, target: &str) {
        if !self.chained.contains_key(target) {
            self.chained.insert(target.into(), ());
            self.reach_role(target);
        }
    }

    /// `target` was assumed with access key `key`.
    fn add_key_edge(&mut self, key: &str, target: &str) {
        if push_edge(&mut self.key_edges, key, target) && self.keys.contains_key(key) {
            self.reach_role(target);
        }
    }

    /// `target` was assumed by a session of `role`.
    fn add_role_edge(&mut self, role: &str, target: &str) {
        if push_edge(&mut self.role_edges, role, target) && self.reach.contains_key(role) {
            self.reach_role(target);
        }
    }

    /// `role` may act for a Cognito identity: so may every role its sessions assumed.
    ///
    /// Cost: each role enters `reach` once; a role's edges are followed when it does.
    fn reach_role(&mut self, role: &str) {
        if self.reach.contains_key(role) {
            return;
        }
        self.reach.insert(role.into(), ());
        let mut todo: Vec<Box<str>> = vec![role.into()];
        while let Some(r) = todo.pop() {
            for t in self.role_edges.get(&r).into_iter().flat_map(KeyMap::keys) {
                if !self.reach.contains_key(t) {
                    self.reach.insert(t.clone(), ());
                    todo.push(t.clone());
                }
            }
        }
    }

    /// A key now known (as a session or a conflict): the roles assumed with it.
    fn reach_from_key(&mut self, key: &str) {
        if self.key_edges.is_empty() {
            return;
        }
        let targets: Vec<Box<str>> = self
            .key_edges
            .get(key)
            .map(|ts| ts.keys().cloned().collect())
            .unwrap_or_default();
        for t in targets {
            self.reach_role(&t);
        }
    }

    /// `key` issued to session `number`: a key known as another session becomes a
    /// conflict.
    fn insert(&mut self, key: &str, number: KeyEntry) {
        match self.keys.get_mut(key) {
            None => {
                self.keys.insert(key.into(), number);
                self.conflicts += usize::from(number == CONFLICT);
                self.reach_from_key(key);
            }
            Some(known) if *known == number => {}
            Some(known) => {
                self.conflicts += usize::from(*known != CONFLICT);
                *known = CONFLICT;
            }
        }
    }

    /// Whether adding `record` ([`IdentityIndex::add`]) would change nothing here: it
    /// issues no Cognito session, or the key it issues is known here as the same session
    /// or as a conflict. A Cognito session without the identity, pool, role or issued key
    /// is the error `add` gives.
    ///
    /// Cost: one lookup; no allocation unless it fails.
    pub fn holds(&self, record: &Record<'_>) -> Result<bool, Unmapped> {
        if let Some(chain) = chained_role(record)? {
            let target = chain.target;
            return Ok((!chain.cognito || self.chained.contains_key(target))
                && chain
                    .caller_key
                    .is_none_or(|k| has_edge(&self.key_edges, k, target))
                && chain
                    .caller_role
                    .as_deref()
                    .is_none_or(|r| has_edge(&self.role_edges, r, target)));
        }
        let Some((key, session)) = issued_session(record)? else {
            return Ok(true);
        };
        Ok(match self.lookup(key) {
            KeyLookup::Unknown => false,
            KeyLookup::Conflict => true,
            KeyLookup::Session(known) => session.is(known),
        })
    }

    /// A record that names `AssumeRoleWithWebIdentity` but cannot be read as a [`Record`]
    /// (e.g. it repeats a field): which session it issued, if any, cannot be told, so every
    /// string of a member named `accessKeyId` in it, at any depth and each of a repeated
    /// member, becomes a conflict. The data events signed with those keys are then
    /// [`UnmappedKind::IdentityConflict`], never mapped to another session's identity.
    /// Text that is not JSON changes nothing (the file's reader reports it).
    ///
    /// Cost: one pass over `text`; memory: the keys found.
    pub fn add_unreadable(&mut self, text: &str) {
        for key in record::access_key_ids(text).unwrap_or_default() {
            if self.keys.insert(key.as_str().into(), CONFLICT) != Some(CONFLICT) {
                self.conflicts += 1;
            }
            self.reach_from_key(&key);
        }
    }

    /// Add every key of `other`, as if its records had been added here: a key both
    /// indexes issued to different sessions is a conflict. The result does not depend on
    /// the order indexes are merged in (so records may be indexed on several threads).
    pub fn merge(&mut self, mut other: IdentityIndex) {
        let edges = |i: &IdentityIndex| {
            i.chained.is_empty() && i.key_edges.is_empty() && i.role_edges.is_empty()
        };
        if self.keys.is_empty() && self.sessions.is_empty() && edges(self) {
            *self = other;
            return;
        }
        // The chains first (a key or role merged below then reaches what they assumed).
        for (role, ()) in std::mem::take(&mut other.chained) {
            self.add_chained(&role);
        }
        for (role, targets) in std::mem::take(&mut other.role_edges) {
            for target in targets.into_keys() {
                self.add_role_edge(&role, &target);
            }
        }
        for (key, targets) in std::mem::take(&mut other.key_edges) {
            for target in targets.into_keys() {
                self.add_key_edge(&key, &target);
            }
        }
        // Other's session numbers, as numbered here.
        let mut renumber = Vec::with_capacity(other.sessions.len());
        for s in &other.sessions {
            renumber.push(self.number(&s.identity_id, &s.role_arn, &s.pool_id, || s.clone()));
        }
        self.keys.reserve(other.keys.len());
        for (key, entry) in other.keys {
            let number = match renumber.get(entry as usize) {
                Some(n) if entry != CONFLICT => *n,
                _ => CONFLICT,
            };
            match self.keys.get_mut(&key) {
                None => {
                    self.reach_from_key(&key);
                    self.keys.insert(key, number);
                    self.conflicts += usize::from(number == CONFLICT);
                }
                Some(known) if *known == number => {}
                Some(known) => {
                    self.conflicts += usize::from(*known != CONFLICT);
                    *known = CONFLICT;
                }
            }
        }
    }

    /// What `access_key_id` is known as.
    pub fn lookup(&self, access_key_id: &str) -> KeyLookup<'_> {
        match self.keys.get(access_key_id) {
            None => KeyLookup::Unknown,
            Some(&n) => match self.sessions.get(n as usize) {
                Some(s) if n != CONFLICT => KeyLookup::Session(s),
                _ => KeyLookup::Conflict,
            },
        }
    }

    /// Whether a session of `role_arn` may act for a Cognito identity: a Cognito identity
    /// pool's `AssumeRoleWithWebIdentity` indexed here issued a session of it (its other
    /// sessions are Cognito sessions too, whatever their name: an app of the basic flow
    /// names its sessions itself), or such a session, or one chained from it, assumed it
    /// (`sts:AssumeRole`, role chaining: the chained session acts for the identity, without
    /// its identity id in the request). Once true, true whatever is added.
    ///
    /// Cost: one lookup; the answer is kept up to date as records are added.
    pub fn is_cognito_role(&self, role_arn: &str) -> bool {
        self.reach.contains_key(role_arn)
    }

    /// The number of access keys known as [`KeyLookup::Conflict`]. It never falls: a key,
    /// once a conflict, stays one whatever is added.
    pub fn conflicts(&self) -> usize {
        self.conflicts
    }

    /// The number of access keys indexed.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// No access key indexed.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// A session as a record tells it, borrowed from the record.
struct SessionText<'r> {
    identity_id: &'r str,
    role_arn: &'r str,
    pool_id: &'r str,
}

impl SessionText<'_> {
    fn to_session(&self) -> WebIdentitySession {
        WebIdentitySession {
            identity_id: self.identity_id.to_string(),
            role_arn: self.role_arn.to_string(),
            pool_id: self.pool_id.to_string(),
        }
    }

    fn is(&self, known: &WebIdentitySession) -> bool {
        self.identity_id == known.identity_id
            && self.role_arn == known.role_arn
            && self.pool_id == known.pool_id
    }
}

/// An `sts:AssumeRole` made with a role session's credentials (role chaining), as its
/// record tells it.
struct ChainText<'r> {
    /// The role assumed (`requestParameters.roleArn`).
    target: &'r str,
    /// The caller's own record shows a Cognito identity's session (web identity
    /// federation of Cognito, or the session name Cognito gives).
    cognito: bool,
    /// The access key the call was signed with.
    caller_key: Option<&'r str>,
    /// The caller's role (with its path when the session issuer gives it).
    caller_role: Option<String>,
}

/// The role chaining a successful `AssumeRole` by a role session records; `None` for any
/// other record (another event, a failed call, a caller that is not a role session). One
/// without the role assumed, or whose caller cannot be read, is
/// [`UnmappedKind::Malformed`] (or the caller's refusal): which role it chained into
/// cannot be told.
fn chained_role<'r>(record: &'r Record<'_>) -> Result<Option<ChainText<'r>>, Unmapped> {
    if record.event_source.get() != Some("sts.amazonaws.com")
        || record.event_name.get() != Some("AssumeRole")
        || record.error_code.is_present()
    {
        return Ok(None);
    }
    let Some(identity) = record.user_identity.get() else {
        return Ok(None);
    };
    if identity.kind.get() != Some("AssumedRole") {
        return Ok(None);
    }
    let caller = principal(identity)?;
    let target = record
        .request_parameters
        .get()
        .map(|p| opt_str(&p.role_arn, "requestParameters.roleArn"))
        .transpose()?
        .flatten()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            malformed("AssumeRole by a role session without requestParameters.roleArn")
        })?;
    let provider = federated_provider(identity)?;
    Ok(Some(ChainText {
        target,
        cognito: provider.is_some_and(is_cognito_provider) || is_cognito_session(caller.arn()),
        caller_key: opt_str(&identity.access_key_id, "accessKeyId")?.filter(|k| !k.is_empty()),
        caller_role: caller.role_arn().map(str::to_string),
    }))
}

/// The access key a successful `AssumeRoleWithWebIdentity` of a Cognito identity pool
/// issued, and its session; `None` for any other record. The one reading of a session
/// record ([`IdentityIndex::add`], [`IdentityIndex::holds`]).
fn issued_session<'r>(
    record: &'r Record<'_>,
) -> Result<Option<(&'r str, SessionText<'r>)>, Unmapped> {
    if record.event_source.get() != Some("sts.amazonaws.com")
        || record.event_name.get() != Some("AssumeRoleWithWebIdentity")
        || record.error_code.is_present()
    {
        return Ok(None);
    }
    let response = record.response_elements.get();
    let provider = response.and_then(|r| r.provider.get()).or_else(|| {
        record
            .user_identity
            .get()
            .and_then(|u| u.identity_provider.get())
    });
    if !provider.is_some_and(is_cognito_provider) {
        return Ok(None);
    }
    if record.truncated() {
        return Err(malformed(TRUNCATED));
    }
    fn field<'r>(value: Option<&'r str>, path: &str) -> Result<&'r str, Unmapped> {
        value.filter(|s| !s.is_empty()).ok_or_else(|| {
            Unmapped::new(
                UnmappedKind::Malformed,
                format!("AssumeRoleWithWebIdentity of a Cognito identity without {path}"),
            )
        })
    }
    let session = SessionText {
        identity_id: field(
            response.and_then(|r| r.subject_from_web_identity_token.get()),
            "responseElements.subjectFromWebIdentityToken",
        )?,
        role_arn: field(
            record
                .request_parameters
                .get()
                .and_then(|p| p.role_arn.get()),
            "requestParameters.roleArn",
        )?,
        pool_id: field(
            response.and_then(|r| r.audience.get()),
            "responseElements.audience",
        )?,
    };
    let key = field(
        response
            .and_then(|r| r.credentials.get())
            .and_then(|c| c.access_key_id.get()),
        "responseElements.credentials.accessKeyId",
    )?;
    Ok(Some((key, session)))
}

fn unmapped(kind: UnmappedKind, reason: impl Into<String>) -> Unmapped {
    Unmapped::new(kind, reason)
}

/// Why a record CloudTrail truncated is not mapped.
const TRUNCATED: &str = "CloudTrail truncated a field of the record (omitted: true): what the request named cannot be read whole";

fn malformed(reason: impl Into<String>) -> Unmapped {
    unmapped(UnmappedKind::Malformed, reason)
}

/// An optional string field: absent or `null` is `None`, another type is malformed.
fn opt_str<'r>(field: &'r Text<'_>, key: &str) -> Result<Option<&'r str>, Unmapped> {
    field
        .strict()
        .map_err(|_| malformed(format!("{key} is not a string")))
}

/// A record that cannot be read as one ([`Record::parse`], [`Record::from_value`]).
pub fn unreadable(error: &serde_json::Error) -> Unmapped {
    malformed(error.to_string())
}

/// [`map`] of a record read as a [`Value`]. A `Value` has kept only the last of a
/// repeated member; [`Record::parse`] of the record's text reports it instead.
pub fn map_record(record: &Value, index: &IdentityIndex) -> Result<Mapped, Unmapped> {
    let record = Record::from_value(record).map_err(|e| unreadable(&e))?;
    map(&record, index)
}

/// Map one CloudTrail record to the requests AWS authorized it as (see the module
/// documentation and `docs/audit.md`), joining its access key with `index`.
pub fn map(record: &Record<'_>, index: &(impl SessionLookup + ?Sized)) -> Result<Mapped, Unmapped> {
    let source =
        opt_str(&record.event_source, "eventSource")?.ok_or_else(|| malformed("no eventSource"))?;
    let name =
        opt_str(&record.event_name, "eventName")?.ok_or_else(|| malformed("no eventName"))?;
    if source != "s3.amazonaws.com" {
        // A service's events name it as SERVICE.amazonaws.com; anything else is not a
        // record of a known shape. The other S3 services (S3 Express, Outposts, Object
        // Lambda, Tables, ...) are S3 operations not mapped yet, never another service's.
        let service = source.strip_suffix(".amazonaws.com").filter(|s| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        });
        return Err(match service {
            None => malformed(format!("eventSource {source:?} names no AWS service")),
            Some(s) if s.starts_with("s3") => unmapped(
                UnmappedKind::UnknownOperation,
                format!("{source} {name}: not in the mapping table (general purpose buckets only)"),
            ),
            Some(_) => unmapped(UnmappedKind::OtherService, format!("{source} {name}")),
        });
    }
    let operation = s3_operation(name).ok_or_else(|| {
        unmapped(
            UnmappedKind::UnknownOperation,
            format!("S3 operation {name} is not in the mapping table"),
        )
    })?;
    if record.truncated() {
        return Err(malformed(TRUNCATED));
    }
    let identity = record
        .user_identity
        .get()
        .ok_or_else(|| unmapped(UnmappedKind::NoPrincipal, "no userIdentity"))?;
    let caller = principal(identity)?;
    let partition = caller
        .arn()
        .split(':')
        .nth(1)
        .ok_or_else(|| malformed("principal ARN without a partition"))?
        .to_string();
    let session = identity_of(identity, &caller, index)?;
    let no_params = RequestParameters::default();
    let params = record.request_parameters.get().unwrap_or(&no_params);
    let listed = resources(record)?;
    if listed.iter().any(|(t, _)| *t == "AWS::S3::AccessPoint") {
        return Err(unmapped(
            UnmappedKind::NoResource,
            "made through an access point, whose resource form is not mapped",
        ));
    }

    let mut context = Context::new();
    fill_context(record, identity, &caller, &mut context)?;
    if operation.lists {
        for (field, name, key) in [
            (&params.prefix, "prefix", "s3:prefix"),
            (&params.delimiter, "delimiter", "s3:delimiter"),
        ] {
            if let Some(v) = opt_str(field, name)? {
                context.add(key, v);
            }
        }
    }
    let versioned = opt_str(&params.version_id, "versionId")?.is_some_and(|v| !v.is_empty());
    let action = match (versioned, operation.version_action) {
        (true, Some(v)) => v,
        _ => operation.action,
    };
    let targets = targets(&listed, params, operation, action, &partition)?;
    check_listed(&listed, &targets, &partition)?;
    if let Some(bucket) = targets
        .iter()
        .filter_map(|(_, arn)| s3_bucket(arn, &partition))
        .find(|b| is_reserved_bucket(b))
    {
        return Err(unmapped(
            UnmappedKind::NoResource,
            format!(
                "{bucket} is no bucket's name (an access point alias or another reserved form): the resource authorized on is not named"
            ),
        ));
    }
    // Every target's request has the same caller and context: the first is made whole,
    // the others copy it (most events authorize one request).
    let mut requests: Vec<Request> = Vec::with_capacity(targets.len());
    let mut caller = Some(caller);
    for (action, resource) in targets {
        let request = match requests.first() {
            Some(first) => {
                let mut request = first.clone();
                request.action = action.into();
                request.resource = resource;
                request
            }
            None => {
                let mut request = Request::new(action, resource);
                request.context = std::mem::take(&mut context);
                request.principal = caller.take();
                if let Some(s) = session {
                    request
                        .set_identity(&s.identity_id)
                        .map_err(|e| malformed(e.to_string()))?;
                }
                request
            }
        };
        requests.push(request);
    }
    Ok(Mapped {
        requests,
        error_code: opt_str(&record.error_code, "errorCode")?.map(str::to_string),
    })
}

/// The caller of `userIdentity`: its `arn`, for an IAM user, a role session or the
/// root user. Other types (AWS services, other accounts seen from the bucket owner's
/// side, Identity Center users, ...) have no caller a policy can be matched with here.
fn principal(identity: &UserIdentity<'_>) -> Result<Caller, Unmapped> {
    let kind = opt_str(&identity.kind, "type")?.unwrap_or("");
    if !matches!(kind, "IAMUser" | "AssumedRole" | "Root") {
        return Err(unmapped(
            UnmappedKind::NoPrincipal,
            format!("userIdentity type {kind:?} is not mapped"),
        ));
    }
    let arn = opt_str(&identity.arn, "arn")?
        .ok_or_else(|| unmapped(UnmappedKind::NoPrincipal, "userIdentity has no arn"))?;
    let mut caller =
        Caller::parse(arn).map_err(|e| unmapped(UnmappedKind::NoPrincipal, e.to_string()))?;
    // The role's ARN with its path, as the session issuer gives it.
    if kind == "AssumedRole"
        && let Some(issuer) = issuer_arn(identity)?
        && !caller.set_role_path(issuer)
    {
        return Err(malformed(format!(
            "sessionIssuer {issuer:?} is not the role of session {arn:?}"
        )));
    }
    Ok(caller)
}

/// An optional object field: absent or `null` is `None`, another type is malformed (a
/// `sessionContext` written as a string would otherwise hide the session's issuer and
/// its web identity federation).
fn opt_obj<'r, T>(field: &'r Obj<T>, key: &str) -> Result<Option<&'r T>, Unmapped> {
    match field {
        Obj::Absent => Ok(None),
        Obj::Is(t) => Ok(Some(t)),
        Obj::Other => Err(malformed(format!("{key} is not an object"))),
    }
}

/// `userIdentity.sessionContext`, read strictly.
fn session_context<'r>(
    identity: &'r UserIdentity<'_>,
) -> Result<Option<&'r SessionContext<'r>>, Unmapped> {
    opt_obj(&identity.session_context, "userIdentity.sessionContext")
}

/// `userIdentity.sessionContext.webIdFederationData.federatedProvider`, read strictly.
fn federated_provider<'r>(identity: &'r UserIdentity<'_>) -> Result<Option<&'r str>, Unmapped> {
    let Some(context) = session_context(identity)? else {
        return Ok(None);
    };
    let Some(federation) = opt_obj(
        &context.web_id_federation_data,
        "sessionContext.webIdFederationData",
    )?
    else {
        return Ok(None);
    };
    opt_str(
        &federation.federated_provider,
        "webIdFederationData.federatedProvider",
    )
}

/// `userIdentity.sessionContext.sessionIssuer.arn`.
fn issuer_arn<'r>(identity: &'r UserIdentity<'_>) -> Result<Option<&'r str>, Unmapped> {
    let Some(context) = session_context(identity)? else {
        return Ok(None);
    };
    let Some(issuer) = opt_obj(&context.session_issuer, "sessionContext.sessionIssuer")? else {
        return Ok(None);
    };
    opt_str(&issuer.arn, "sessionIssuer.arn")
}

/// The Cognito session a data event was signed for, by its access key.
fn identity_of<'a>(
    identity: &UserIdentity<'_>,
    caller: &Caller,
    index: &'a (impl SessionLookup + ?Sized),
) -> Result<Option<&'a WebIdentitySession>, Unmapped> {
    let key = opt_str(&identity.access_key_id, "accessKeyId")?.filter(|k| !k.is_empty());
    let found = key.map_or(KeyLookup::Unknown, |k| index.lookup(k));
    match found {
        KeyLookup::Session(s) => {
            if caller.role_arn() != Some(s.role_arn.as_str()) {
                return Err(unmapped(
                    UnmappedKind::IdentityConflict,
                    format!(
                        "access key issued for role {} signed a request of {}",
                        s.role_arn,
                        caller.arn()
                    ),
                ));
            }
            Ok(Some(s))
        }
        KeyLookup::Conflict => Err(unmapped(
            UnmappedKind::IdentityConflict,
            format!(
                "access key {} was issued to several sessions",
                key.unwrap_or_default()
            ),
        )),
        KeyLookup::Unknown => {
            let federated = federated_provider(identity)?;
            // Cheapest first: the role's sessions are asked about last (a reader that has
            // not learned every session yet sets such an event aside).
            let key = key.unwrap_or("no access key");
            if federated.is_some_and(is_cognito_provider) || is_cognito_session(caller.arn()) {
                Err(unmapped(
                    UnmappedKind::NoIdentity,
                    format!(
                        "a Cognito session ({key}) whose AssumeRoleWithWebIdentity was not seen"
                    ),
                ))
            } else if let Some(role) = caller.role_arn().filter(|r| index.cognito_role(r)) {
                Err(unmapped(
                    UnmappedKind::NoIdentity,
                    format!(
                        "a session ({key}) of {role}, a role Cognito identities' sessions have or chain into (sts:AssumeRole), whose identity is not known"
                    ),
                ))
            } else {
                Ok(None)
            }
        }
    }
}

/// The context keys the record carries (`docs/audit.md` says which and why).
fn fill_context(
    record: &Record<'_>,
    identity: &UserIdentity<'_>,
    caller: &Caller,
    context: &mut Context,
) -> Result<(), Unmapped> {
    let time =
        opt_str(&record.event_time, "eventTime")?.ok_or_else(|| malformed("no eventTime"))?;
    time.parse::<jiff::Timestamp>()
        .map_err(|e| malformed(format!("eventTime {time:?}: {e}")))?;
    context.add(keys::CURRENT_TIME, time);
    // Through a VPC endpoint, the request context has no `aws:SourceIp` (IAM User Guide,
    // "AWS global condition context keys": it is included "except when the requester uses
    // a VPC endpoint"); it has the endpoint (`aws:SourceVpce`), its owner
    // (`aws:VpceAccount`) and the address inside the VPC (`aws:VpcSourceIp`), taken to be
    // `sourceIPAddress` (`docs/audit.md`). A private address without an endpoint recorded
    // came through one too (`is_private_address`). The endpoint keys the record does not
    // show make a statement that reads them undecidable (`keys::ENDPOINT_PRESENT`).
    let endpoint =
        opt_str(&record.vpc_endpoint_id, "vpcEndpointId")?.filter(|v| v.starts_with("vpce-"));
    let owner = opt_str(&record.vpc_endpoint_account_id, "vpcEndpointAccountId")?;
    if let Some(ip) = opt_str(&record.source_ip_address, "sourceIPAddress")?
        && let Ok(address) = ip.parse::<IpAddr>()
    {
        match endpoint.is_some() || super::is_private_address(&address) {
            true => context.add("aws:VpcSourceIp", ip),
            false => context.add("aws:SourceIp", ip),
        }
    }
    if let Some(endpoint) = endpoint {
        context.add("aws:SourceVpce", endpoint);
        if let Some(owner) = owner.filter(|o| !o.is_empty()) {
            context.add("aws:VpceAccount", owner);
        }
    }
    if let Some(agent) = opt_str(&record.user_agent, "userAgent")?.filter(|a| !a.is_empty()) {
        context.add("aws:UserAgent", agent);
    }
    if let Some(region) = opt_str(&record.aws_region, "awsRegion")?.filter(|r| !r.is_empty()) {
        context.add("aws:RequestedRegion", region);
    }
    if record
        .tls_details
        .get()
        .and_then(|t| t.tls_version.get())
        .is_some_and(|v| !v.is_empty())
    {
        context.add("aws:SecureTransport", "true");
    }
    // What userIdentity names: the user's or the session issuer's ARN, and the account.
    if opt_str(&identity.kind, "type")? != Some("AssumedRole") || issuer_arn(identity)?.is_some() {
        context.add(keys::PRINCIPAL_ARN, caller.principal_arn());
    }
    if let Some(account) = opt_str(&identity.account_id, "accountId")? {
        if account != caller.account_id() {
            return Err(malformed(format!(
                "userIdentity accountId {account} is not the account of {}",
                caller.arn()
            )));
        }
        context.add(keys::PRINCIPAL_ACCOUNT, account);
    }
    Ok(())
}

/// `resources[]` as (type, ARN) pairs.
fn resources<'r>(record: &'r Record<'_>) -> Result<Vec<(&'r str, &'r str)>, Unmapped> {
    match &record.resources {
        Items::Absent => Ok(Vec::new()),
        Items::Is(items) => {
            let mut found = Vec::with_capacity(items.len());
            for r in items {
                let r = r.get();
                let prefix = r.is_some_and(|r| r.arn_prefix.get().is_some());
                match (r.and_then(|r| r.kind.get()), r.and_then(|r| r.arn.get())) {
                    (Some(t), Some(a)) => found.push((t, a)),
                    (Some(t), None) if t == "AWS::S3::AccessPoint" => found.push((t, "")),
                    // The objects a listing (or a DeleteObjects) reached, by prefix: no one
                    // request's resource. The request's own parameters name what it did.
                    (Some("AWS::S3::Object"), None) if prefix => {}
                    _ => return Err(malformed("a resources[] entry without type and ARN")),
                }
            }
            Ok(found)
        }
        Items::Other => Err(malformed("resources is not an array")),
    }
}

/// The ARN of the operation's own resource: the one `resources[]` entry of its type,
/// else `requestParameters.bucketName` (and `key` for an object).
fn target_arn(
    listed: &[(&str, &str)],
    params: &RequestParameters<'_>,
    scope: Scope,
    partition: &str,
) -> Result<String, Unmapped> {
    let wanted = match scope {
        Scope::Object => "AWS::S3::Object",
        Scope::Bucket => "AWS::S3::Bucket",
    };
    let listed: Vec<&str> = listed
        .iter()
        .filter(|(t, _)| *t == wanted)
        .map(|&(_, a)| a)
        .collect();
    let bucket = opt_str(&params.bucket_name, "bucketName")?.filter(|b| !b.is_empty());
    let key = opt_str(&params.key, "key")?.filter(|k| !k.is_empty());
    let named = match (scope, bucket, key) {
        (Scope::Bucket, Some(b), _) => Some((b, None)),
        (Scope::Object, Some(b), Some(k)) => Some((b, Some(k))),
        _ => None,
    };
    if let [one] = listed[..] {
        s3_resource(one, scope, partition)?;
        // Where both name the resource, they must agree: which one AWS authorized on
        // cannot be told otherwise. (Compared in place: this runs for every data event.)
        if let Some((b, k)) = named
            && !is_s3_arn_of(one, partition, b, k)
        {
            return Err(malformed(format!(
                "resources[] names {one} but requestParameters name {}",
                s3_arn(partition, b, k)
            )));
        }
        return Ok(one.to_string());
    }
    // Several entries of the type: the parameters' resource is the request's, and
    // `check_listed` holds the others to the requests made.
    match named {
        Some((b, k)) => Ok(s3_arn(partition, b, k)),
        None => Err(unmapped(
            UnmappedKind::NoResource,
            format!(
                "{} {} resources and no requestParameters naming one",
                listed.len(),
                wanted
            ),
        )),
    }
}

/// Check that every S3 entry of `resources[]` is one the requests made: an object entry
/// one of their objects, a bucket entry one of their buckets. An entry naming anything
/// else (a second object beside a `GetObject`'s, a copy's "source" that is not the one
/// `x-amz-copy-source` names, another bucket) makes the record `malformed`: which
/// resources AWS authorized on cannot be told.
///
/// Cost: each entry is compared with the targets, without allocating, for the one or two
/// targets of most events; a `DeleteObjects` of many keys sorts its targets once and
/// searches them, so that 1,000 listed keys are not each compared with 1,000 targets.
fn check_listed(
    listed: &[(&str, &str)],
    targets: &[(&'static str, String)],
    partition: &str,
) -> Result<(), Unmapped> {
    let sorted: Option<Vec<&str>> = (targets.len() > 8).then(|| {
        let mut all: Vec<&str> = targets.iter().map(|(_, t)| t.as_str()).collect();
        all.sort_unstable();
        all
    });
    for &(kind, arn) in listed {
        let known = match kind {
            "AWS::S3::Object" => match &sorted {
                Some(all) => all.binary_search(&arn).is_ok(),
                None => targets.iter().any(|(_, t)| t == arn),
            },
            // The entry's bucket, read once, against each target's.
            "AWS::S3::Bucket" => {
                let bucket = s3_bucket(arn, partition);
                s3_resource(arn, Scope::Bucket, partition).is_ok()
                    && targets
                        .iter()
                        .any(|(_, t)| s3_bucket(t, partition) == bucket)
            }
            _ => continue,
        };
        if !known {
            return Err(malformed(format!(
                "resources[] list {arn} ({kind}), which is none of the request's resources"
            )));
        }
    }
    Ok(())
}

/// The most keys one `DeleteObjects` request deletes (Amazon S3 API Reference,
/// DeleteObjects: "up to 1,000 keys").
const MAX_DELETED_KEYS: usize = 1000;

/// What follows `arn:PARTITION:s3:::` in `arn` (`BUCKET` or `BUCKET/KEY`), if it starts so.
/// `partition` is an ARN's partition field, so it has no colon: the text's prefix is then
/// exactly the first four of its colon-separated fields.
fn s3_path<'a>(arn: &'a str, partition: &str) -> Option<&'a str> {
    debug_assert!(!partition.contains(':'), "{partition}");
    arn.strip_prefix("arn:")?
        .strip_prefix(partition)?
        .strip_prefix(":s3:::")
}

/// The bucket an S3 ARN names: `BUCKET` of `arn:PARTITION:s3:::BUCKET[/KEY]`.
fn s3_bucket<'a>(arn: &'a str, partition: &str) -> Option<&'a str> {
    s3_path(arn, partition)?.split('/').next()
}

/// Whether `arn` is [`s3_arn`]`(partition, bucket, key)`, without building it.
fn is_s3_arn_of(arn: &str, partition: &str, bucket: &str, key: Option<&str>) -> bool {
    s3_path(arn, partition)
        .and_then(|a| a.strip_prefix(bucket))
        .is_some_and(|rest| match key {
            Some(k) => rest.strip_prefix('/') == Some(k),
            None => rest.is_empty(),
        })
}

/// Check that a `resources[]` ARN names an S3 resource of `scope` in `partition`
/// (`arn:PARTITION:s3:::BUCKET` or `arn:PARTITION:s3:::BUCKET/KEY`): anything else is
/// `malformed`, never decided as the operation's resource.
fn s3_resource(arn: &str, scope: Scope, partition: &str) -> Result<(), Unmapped> {
    let fits = match (scope, s3_path(arn, partition)) {
        (Scope::Bucket, Some(p)) => !p.is_empty() && !p.contains('/'),
        (Scope::Object, Some(p)) => p
            .split_once('/')
            .is_some_and(|(b, k)| !b.is_empty() && !k.is_empty()),
        (_, None) => false,
    };
    if fits {
        Ok(())
    } else {
        Err(malformed(format!(
            "resources[] ARN {arn:?} is not an S3 {} ARN",
            match scope {
                Scope::Bucket => "bucket",
                Scope::Object => "object",
            }
        )))
    }
}

/// (action, resource) of each request the operation makes.
fn targets(
    listed: &[(&str, &str)],
    params: &RequestParameters<'_>,
    operation: &S3Operation,
    action: &'static str,
    partition: &str,
) -> Result<Vec<(&'static str, String)>, Unmapped> {
    // A copy source makes the request a copy, which reads its source as well: under any
    // other operation's name (`UploadPart` for `UploadPartCopy`, `PutObject` for
    // `CopyObject`), mapping the write alone would leave that read undecided.
    if operation.shape != Shape::Copy
        && let Some(source) = opt_str(&params.copy_source, "x-amz-copy-source")?
    {
        return Err(unmapped(
            UnmappedKind::UnknownOperation,
            format!(
                "{} with a copy source ({source:?}): a copy, whose read of the source is not mapped under this name",
                operation.name
            ),
        ));
    }
    match operation.shape {
        Shape::One => Ok(vec![(
            action,
            target_arn(listed, params, operation.scope, partition)?,
        )]),
        Shape::PerDeletedKey => {
            let listed: Vec<String> = listed
                .iter()
                .filter(|(t, _)| *t == "AWS::S3::Object")
                .map(|&(_, a)| s3_resource(a, Scope::Object, partition).map(|()| a.to_string()))
                .collect::<Result<_, _>>()?;
            let mut named = Vec::new();
            if let Some(bucket) = opt_str(&params.bucket_name, "bucketName")? {
                let deleted = params.delete.get().map(|d| &d.object);
                let objects: Vec<Option<&DeletedObject<'_>>> = match deleted {
                    Some(OneOrMany::Many(items)) => items.iter().map(Obj::get).collect(),
                    Some(OneOrMany::One(one)) => vec![Some(one)],
                    _ => Vec::new(),
                };
                for object in objects {
                    let key = object
                        .and_then(|o| o.key.get())
                        .ok_or_else(|| malformed("a deleted object without a Key"))?;
                    named.push(s3_arn(partition, bucket, Some(key)));
                }
            }
            // Where both list the keys, they must be the same keys: a deletion one of
            // them leaves out would go unseen.
            if !listed.is_empty() && !named.is_empty() {
                let mut a: Vec<&str> = listed.iter().map(String::as_str).collect();
                let mut b: Vec<&str> = named.iter().map(String::as_str).collect();
                a.sort_unstable();
                a.dedup();
                b.sort_unstable();
                b.dedup();
                if a != b {
                    return Err(malformed(format!(
                        "resources[] list {} deleted object(s) but requestParameters {}, not the same",
                        listed.len(),
                        named.len()
                    )));
                }
            }
            let arns = if listed.is_empty() { named } else { listed };
            if arns.is_empty() {
                return Err(unmapped(
                    UnmappedKind::NoResource,
                    "DeleteObjects without the deleted keys recorded",
                ));
            }
            if arns.len() > MAX_DELETED_KEYS {
                return Err(malformed(format!(
                    "DeleteObjects of {} keys: S3 deletes at most {MAX_DELETED_KEYS} a request",
                    arns.len()
                )));
            }
            Ok(arns.into_iter().map(|a| (action, a)).collect())
        }
        Shape::Copy => {
            let target = target_arn(listed, params, Scope::Object, partition)?;
            let source = opt_str(&params.copy_source, "x-amz-copy-source")?.ok_or_else(|| {
                unmapped(
                    UnmappedKind::NoResource,
                    "CopyObject without its source (x-amz-copy-source) recorded",
                )
            })?;
            let (path, version) = match source.split_once("?versionId=") {
                Some((p, _)) => (p, true),
                None => (source, false),
            };
            let path = percent_decode(path.trim_start_matches('/'))
                .ok_or_else(|| malformed(format!("copy source {source:?} is not URL-encoded")))?;
            // A source through an access point (or on Outposts) is named by its ARN, not
            // its bucket: as for any request through an access point, no resource.
            if path.starts_with("arn:") {
                return Err(unmapped(
                    UnmappedKind::NoResource,
                    format!(
                        "CopyObject from an access point or Outposts ({source:?}): its bucket is not named"
                    ),
                ));
            }
            let (bucket, key) = path
                .split_once('/')
                .filter(|(b, k)| !b.is_empty() && !k.is_empty())
                .ok_or_else(|| malformed(format!("copy source {source:?} is not BUCKET/KEY")))?;
            let read = if version {
                "s3:GetObjectVersion"
            } else {
                "s3:GetObject"
            };
            Ok(vec![
                (read, s3_arn(partition, bucket, Some(key))),
                (action, target),
            ])
        }
    }
}

/// Records mapped in two passes (index, then map), with the unmapped counted.
#[derive(Debug, Clone, Default)]
pub struct MappedRecords {
    /// Each mapped record's position in the input, and its requests.
    pub mapped: Vec<(usize, Mapped)>,
    /// Each unmapped record's position, and why.
    pub unmapped: Vec<(usize, Unmapped)>,
    /// The unmapped counted by kind.
    pub counts: UnmappedCounts,
    /// The access keys of Cognito sessions seen.
    pub index: IdentityIndex,
}

/// Index every record's Cognito sessions, then map every record. An
/// `AssumeRoleWithWebIdentity` that could not be indexed is reported as its own unmapped
/// reason; one that was indexed counts as [`UnmappedKind::OtherService`] (it is not an S3
/// request).
pub fn map_records(records: &[Value]) -> MappedRecords {
    let mut out = MappedRecords::default();
    let mut index_errors = HashMap::new();
    for (i, record) in records.iter().enumerate() {
        if let Err(e) = out.index.add_record(record) {
            index_errors.insert(i, e);
        }
    }
    for (i, record) in records.iter().enumerate() {
        let result = match index_errors.remove(&i) {
            Some(e) => Err(e),
            None => map_record(record, &out.index),
        };
        match result {
            Ok(m) => out.mapped.push((i, m)),
            Err(u) => {
                out.counts.add(&u);
                out.unmapped.push((i, u));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data_event(name: &str) -> Value {
        json!({
            "eventVersion": "1.08",
            "userIdentity": {
                "type": "IAMUser",
                "principalId": "AIDAEXAMPLE",
                "arn": "arn:aws:iam::111122223333:user/alice",
                "accountId": "111122223333",
                "accessKeyId": "AKIAEXAMPLE",
                "userName": "alice"
            },
            "eventTime": "2019-02-01T03:18:19Z",
            "eventSource": "s3.amazonaws.com",
            "eventName": name,
            "awsRegion": "us-west-2",
            "sourceIPAddress": "192.0.2.10",
            "userAgent": "aws-cli/2.0",
            "requestParameters": {"bucketName": "b", "key": "k/x.txt", "Host": "b.s3.amazonaws.com"},
            "eventCategory": "Data"
        })
    }

    /// How many requests `e` maps to with `index`, or the kind of its refusal.
    fn outcome(e: &Value, index: &IdentityIndex) -> Result<usize, UnmappedKind> {
        map_record(e, index)
            .map(|m| m.requests.len())
            .map_err(|u| u.kind)
    }

    #[test]
    fn request_parameters_give_the_resource_when_resources_are_absent() {
        let m = map_record(&data_event("GetObject"), &IdentityIndex::new()).unwrap();
        assert_eq!(m.requests.len(), 1);
        let r = &m.requests[0];
        assert_eq!(r.action, "s3:GetObject");
        assert_eq!(r.resource, "arn:aws:s3:::b/k/x.txt");
        let keys: Vec<(&str, Vec<String>)> =
            r.context.iter().map(|(k, v)| (k, v.to_vec())).collect();
        assert_eq!(
            keys,
            vec![
                ("aws:currenttime", vec!["2019-02-01T03:18:19Z".to_string()]),
                ("aws:sourceip", vec!["192.0.2.10".to_string()]),
                ("aws:useragent", vec!["aws-cli/2.0".to_string()]),
                ("aws:requestedregion", vec!["us-west-2".to_string()]),
                (
                    "aws:principalarn",
                    vec!["arn:aws:iam::111122223333:user/alice".to_string()]
                ),
                ("aws:principalaccount", vec!["111122223333".to_string()]),
            ]
        );
        assert_eq!(m.error_code, None);
    }

    #[test]
    fn versions_and_service_addresses() {
        let mut e = data_event("DeleteObject");
        e["requestParameters"]["versionId"] = json!("3HL4kqtJlcpXroDTDmJ");
        e["sourceIPAddress"] = json!("s3.amazonaws.com");
        let m = map_record(&e, &IdentityIndex::new()).unwrap();
        assert_eq!(m.requests[0].action, "s3:DeleteObjectVersion");
        assert!(!m.requests[0].context.contains("aws:SourceIp"));
    }

    #[test]
    fn wrong_types_are_malformed() {
        let mut e = data_event("GetObject");
        e["eventTime"] = json!(12);
        let u = map_record(&e, &IdentityIndex::new()).unwrap_err();
        assert_eq!(u.kind, UnmappedKind::Malformed);
        assert_eq!(u.reason, "eventTime is not a string");
        let u = map_record(&json!([1]), &IdentityIndex::new()).unwrap_err();
        assert_eq!(u.kind, UnmappedKind::Malformed);
        let mut e = data_event("GetObject");
        e["eventTime"] = json!("yesterday");
        assert_eq!(
            map_record(&e, &IdentityIndex::new()).unwrap_err().kind,
            UnmappedKind::Malformed
        );
    }

    #[test]
    fn an_event_source_names_a_service_and_the_s3_family_is_s3() {
        let kind = |source: &str| {
            let mut e = data_event("GetObject");
            e["eventSource"] = json!(source);
            map_record(&e, &IdentityIndex::new())
                .map(|m| m.requests.len())
                .map_err(|u| u.kind)
        };
        assert_eq!(kind("s3.amazonaws.com"), Ok(1));
        for source in [
            "",
            "s3",
            "amazonaws.com",
            ".amazonaws.com",
            "s3.amazonaws.com.evil",
            "S3 .amazonaws.com",
        ] {
            assert_eq!(kind(source), Err(UnmappedKind::Malformed), "{source:?}");
        }
        for source in [
            "s3express.amazonaws.com",
            "s3-outposts.amazonaws.com",
            "s3-object-lambda.amazonaws.com",
        ] {
            assert_eq!(
                kind(source),
                Err(UnmappedKind::UnknownOperation),
                "{source}"
            );
        }
        assert_eq!(kind("kms.amazonaws.com"), Err(UnmappedKind::OtherService));
    }

    #[test]
    fn another_service_is_other_service_whatever_its_parameters_hold() {
        // DynamoDB's requestParameters.key is an object: not the S3 string field.
        let mut e = data_event("GetItem");
        e["eventSource"] = json!("dynamodb.amazonaws.com");
        e["requestParameters"] = json!({"tableName": "t", "key": {"id": {"S": "1"}}});
        let u = map_record(&e, &IdentityIndex::new()).unwrap_err();
        assert_eq!(u.kind, UnmappedKind::OtherService);
        assert_eq!(u.reason, "dynamodb.amazonaws.com GetItem");
        // The same in an S3 event is read, and is no string.
        let mut e = data_event("GetObject");
        e["requestParameters"] = json!({"bucketName": "b", "key": {"id": 1}});
        let u = map_record(&e, &IdentityIndex::new()).unwrap_err();
        assert_eq!(
            (u.kind, u.reason.as_str()),
            (UnmappedKind::Malformed, "key is not a string")
        );
    }

    /// alice's (`us-east-1:a`) Cognito session of role `r`, issued key `K1`.
    fn session_k1() -> Value {
        json!({
            "eventSource": "sts.amazonaws.com",
            "eventName": "AssumeRoleWithWebIdentity",
            "requestParameters": {"roleArn": "arn:aws:iam::111122223333:role/r"},
            "responseElements": {
                "subjectFromWebIdentityToken": "us-east-1:a",
                "audience": "us-east-1:pool",
                "provider": COGNITO_PROVIDER,
                "credentials": {"accessKeyId": "K1"}
            }
        })
    }

    #[test]
    fn object_prefixes_in_resources_are_no_request_of_their_own() {
        let index = IdentityIndex::new();
        let prefix = json!({"type": "AWS::S3::Object", "ARNPrefix": "arn:aws:s3:::b/"});
        let bucket = json!({"accountId": "111122223333", "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::b"});
        // A listing as CloudTrail records it: the prefix entry, then the bucket.
        let mut list = data_event("ListObjects");
        list["requestParameters"] = json!({"bucketName": "b", "prefix": "k/", "list-type": "2"});
        list["resources"] = json!([prefix.clone(), bucket.clone()]);
        let m = map_record(&list, &index).unwrap();
        assert_eq!(
            (
                m.requests[0].action.as_str(),
                m.requests[0].resource.as_str()
            ),
            ("s3:ListBucket", "arn:aws:s3:::b")
        );
        // A DeleteObjects as CloudTrail records it (`"delete": ""`, no keys): which objects
        // were deleted is not recorded.
        let mut delete = data_event("DeleteObjects");
        delete["requestParameters"] = json!({"bucketName": "b", "delete": ""});
        delete["resources"] = json!([prefix.clone(), bucket.clone()]);
        let u = map_record(&delete, &index).unwrap_err();
        assert_eq!(
            (u.kind, u.reason.as_str()),
            (
                UnmappedKind::NoResource,
                "DeleteObjects without the deleted keys recorded"
            )
        );
        // An entry with neither ARN nor prefix is still malformed.
        list["resources"] = json!([{"type": "AWS::S3::Object"}, bucket]);
        assert_eq!(outcome(&list, &index), Err(UnmappedKind::Malformed));
    }

    /// An `sts:AssumeRole` of `target` by a session of role `from` named `name`, signed
    /// with `key`.
    fn assume_role(from: &str, name: &str, key: &str, target: &str) -> Value {
        json!({
            "eventSource": "sts.amazonaws.com",
            "eventName": "AssumeRole",
            "userIdentity": {
                "type": "AssumedRole",
                "arn": format!("arn:aws:sts::111122223333:assumed-role/{from}/{name}"),
                "accountId": "111122223333",
                "accessKeyId": key,
                "sessionContext": {
                    "sessionIssuer": {"type": "Role", "arn": format!("arn:aws:iam::111122223333:role/{from}")}
                }
            },
            "requestParameters": {"roleArn": format!("arn:aws:iam::111122223333:role/{target}"), "roleSessionName": "chained"},
            "responseElements": {"credentials": {"accessKeyId": format!("{key}-{target}")}}
        })
    }

    #[test]
    fn sessions_chained_from_a_cognito_session_have_no_identity_in_any_order() {
        let role = |r: &str| format!("arn:aws:iam::111122223333:role/{r}");
        // K1 is alice's Cognito session of role r (session_k1). With it she assumes role
        // c; a session of c assumes d. A backend's session of role b assumes e.
        let records = [
            session_k1(),
            assume_role("r", "web-identity", "K1", "c"),
            assume_role("c", "chained", "KC", "d"),
            assume_role("b", "lambda", "KB", "e"),
        ];
        let mut orders: Vec<Vec<usize>> =
            vec![vec![0, 1, 2, 3], vec![3, 2, 1, 0], vec![2, 1, 3, 0]];
        orders.push(vec![1, 0, 2, 3]);
        for order in &orders {
            let mut index = IdentityIndex::new();
            for &i in order {
                index.add_record(&records[i]).unwrap();
            }
            // Also as two indexes merged, each way round.
            let (mut a, mut b) = (IdentityIndex::new(), IdentityIndex::new());
            for (n, &i) in order.iter().enumerate() {
                let part = if n % 2 == 0 { &mut a } else { &mut b };
                part.add_record(&records[i]).unwrap();
            }
            let mut ab = a.clone();
            ab.merge(b.clone());
            b.merge(a);
            for index in [&index, &ab, &b] {
                let got: Vec<bool> = ["r", "c", "d", "b", "e"]
                    .iter()
                    .map(|r| index.is_cognito_role(&role(r)))
                    .collect();
                assert_eq!(got, [true, true, true, false, false], "{order:?}");
                for (i, record) in records.iter().enumerate() {
                    let record = Record::from_value(record).unwrap();
                    assert_eq!(index.holds(&record), Ok(true), "{order:?} record {i}");
                }
            }
        }
        let mut index = IdentityIndex::new();
        for r in &records {
            index.add_record(r).unwrap();
        }
        assert_eq!(index.len(), 1);
        // A data event of the chained role d, with a key no record issued: no identity.
        let mut e = role_session_event("x", "KD", None);
        e["userIdentity"]["arn"] = json!("arn:aws:sts::111122223333:assumed-role/d/x");
        e["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] = json!(role("d"));
        let u = map_record(&e, &index).unwrap_err();
        assert_eq!(
            (u.kind, u.reason.as_str()),
            (
                UnmappedKind::NoIdentity,
                "a session (KD) of arn:aws:iam::111122223333:role/d, a role Cognito identities' sessions have or chain into (sts:AssumeRole), whose identity is not known"
            )
        );
        // The backend's chained role e: decided without identity, as before.
        let mut e = role_session_event("x", "KE", None);
        e["userIdentity"]["arn"] = json!("arn:aws:sts::111122223333:assumed-role/e/x");
        e["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] = json!(role("e"));
        assert_eq!(map_record(&e, &index).map(|m| m.requests.len()), Ok(1));
        // A session whose own record shows Cognito's federation chains its role in, with no
        // session indexed at all.
        let mut direct = assume_role("r2", "web-identity", "K7", "f");
        direct["userIdentity"]["sessionContext"]["webIdFederationData"] =
            json!({"federatedProvider": COGNITO_PROVIDER});
        let mut fresh = IdentityIndex::new();
        assert_eq!(
            fresh.holds(&Record::from_value(&direct).unwrap()),
            Ok(false)
        );
        fresh.add_record(&direct).unwrap();
        assert!(fresh.is_cognito_role(&role("f")));
        assert!(!fresh.is_cognito_role(&role("r2")));
        // A chaining whose role assumed is not recorded cannot be followed: malformed.
        let mut blind = assume_role("r", "web-identity", "K1", "c");
        blind["requestParameters"] = json!({"roleSessionName": "chained"});
        assert_eq!(
            fresh.add_record(&blind).map_err(|u| u.kind),
            Err(UnmappedKind::Malformed)
        );
        // A failed call chains nothing.
        let mut failed = assume_role("r", "web-identity", "K1", "g");
        failed["errorCode"] = json!("AccessDenied");
        fresh.add_record(&failed).unwrap();
        assert!(!fresh.is_cognito_role(&role("g")));
    }

    #[test]
    fn a_record_cloudtrail_truncated_is_malformed() {
        let index = IdentityIndex::new();
        let kind = |e: &Value| outcome(e, &index);
        // The mark on the record, in the parameters, in a DeleteObjects list.
        let mut top = data_event("GetObject");
        top["omitted"] = json!(true);
        let mut params = data_event("GetObject");
        params["requestParameters"]["omitted"] = json!(true);
        let mut delete = data_event("DeleteObjects");
        delete["requestParameters"]["delete"] =
            json!({"Object": [{"Key": "a"}, {"Key": "b"}], "omitted": true});
        // A value not of the documented type counts as the mark too.
        let mut odd = data_event("GetObject");
        odd["requestParameters"]["omitted"] = json!("yes");
        for e in [&top, &params, &delete, &odd] {
            assert_eq!(kind(e), Err(UnmappedKind::Malformed), "{e}");
        }
        assert_eq!(
            map_record(&params, &index).unwrap_err().reason,
            "CloudTrail truncated a field of the record (omitted: true): what the request named cannot be read whole"
        );
        // `false` (or `null`) is no mark; without it the same records map.
        let mut not = data_event("GetObject");
        not["requestParameters"]["omitted"] = json!(false);
        not["omitted"] = Value::Null;
        assert_eq!(kind(&not), Ok(1));
        delete["requestParameters"]["delete"]["omitted"] = json!(false);
        assert_eq!(kind(&delete), Ok(2));
        // Another service's truncated event is that service's, as before.
        let mut kms = data_event("Decrypt");
        kms["eventSource"] = json!("kms.amazonaws.com");
        kms["omitted"] = json!(true);
        assert_eq!(kind(&kms), Err(UnmappedKind::OtherService));
        // A Cognito session record CloudTrail truncated is not indexed.
        let mut session = session_k1();
        session["responseElements"]["omitted"] = json!(true);
        let mut index = IdentityIndex::new();
        assert_eq!(
            index.add_record(&session).map_err(|u| u.kind),
            Err(UnmappedKind::Malformed)
        );
        assert_eq!(index.lookup("K1"), KeyLookup::Unknown);
    }

    #[test]
    fn an_unreadable_session_makes_every_key_it_names_a_conflict() {
        let mut index = IdentityIndex::new();
        let good = session_k1();
        let good_record = Record::from_value(&good).unwrap();
        assert_eq!(IdentityIndex::new().holds(&good_record), Ok(false));
        assert_eq!(index.add_record(&good), Ok(true));
        assert_eq!(index.holds(&good_record), Ok(true));
        assert_eq!(index.conflicts(), 0);
        // The same key, issued by a record that repeats a field (and its key member).
        let bad = r#"{"eventName":"AssumeRoleWithWebIdentity","awsRegion":"x","awsRegion":"x",
            "responseElements":{"credentials":{"accessKeyId":"K1","accessKeyId":"K2"}},
            "other":[{"accessKeyId":"K3"},{"accessKeyId":7}]}"#;
        assert!(Record::parse(bad).is_err());
        index.add_unreadable(bad);
        for key in ["K1", "K2", "K3"] {
            assert_eq!(index.lookup(key), KeyLookup::Conflict, "{key}");
        }
        assert_eq!(index.holds(&good_record), Ok(true));
        assert_eq!(index.conflicts(), 3);
        // Named again: still three conflicts.
        index.add_unreadable(bad);
        assert_eq!(index.add_record(&good), Ok(true));
        assert_eq!(index.conflicts(), 3);
        index.add_unreadable("{not json");
        assert_eq!(index.len(), 3);
    }

    #[test]
    fn resources_and_request_parameters_that_disagree_are_malformed() {
        let index = IdentityIndex::new();
        let kind = |e: &Value| outcome(e, &index);
        // One object listed, the parameters naming another: which was read is not known.
        let mut e = data_event("GetObject");
        e["resources"] = json!([{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::b/k/y.txt"}]);
        assert_eq!(kind(&e), Err(UnmappedKind::Malformed));
        e["resources"][0]["ARN"] = json!("arn:aws:s3:::b/k/x.txt");
        assert_eq!(kind(&e), Ok(1));
        // A listed ARN that is no S3 object's is never the resource decided.
        for arn in [
            "",
            "arn:",
            "arn:aws:iam::111122223333:role/r",
            "arn:aws:s3:::b",
            "arn:aws:s3:::/k",
        ] {
            e["resources"][0]["ARN"] = json!(arn);
            assert_eq!(kind(&e), Err(UnmappedKind::Malformed), "{arn}");
        }
        // DeleteObjects: the keys listed and the keys in the parameters are the same keys.
        let mut d = data_event("DeleteObjects");
        d["requestParameters"]["delete"] = json!({"Object": [{"Key": "k/1"}, {"Key": "k/2"}]});
        assert_eq!(kind(&d), Ok(2));
        d["resources"] = json!([{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::b/k/1"}]);
        assert_eq!(kind(&d), Err(UnmappedKind::Malformed), "k/2 left out");
        d["resources"] = json!([
            {"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::b/k/2"},
            {"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::b/k/1"}
        ]);
        assert_eq!(kind(&d), Ok(2));
        // At most 1,000 keys a request.
        let keys = |n: usize| {
            (0..n)
                .map(|i| json!({"Key": format!("k/{i}")}))
                .collect::<Vec<_>>()
        };
        d["resources"] = json!([]);
        d["requestParameters"]["delete"] = json!({"Object": keys(1000)});
        assert_eq!(kind(&d), Ok(1000));
        d["requestParameters"]["delete"] = json!({"Object": keys(1001)});
        assert_eq!(kind(&d), Err(UnmappedKind::Malformed));
    }

    #[test]
    fn a_request_through_a_vpc_endpoint_has_no_source_ip() {
        use crate::eval::{Decision, PolicySet};
        let index = IdentityIndex::new();
        let request = |e: &Value| map_record(e, &index).unwrap().requests.remove(0);
        let value = |r: &Request, key: &str| r.context.get(key).map(|v| v.join(","));
        // Not through an endpoint: the address is the source IP.
        let mut e = data_event("GetObject");
        let plain = request(&e);
        assert_eq!(value(&plain, "aws:SourceIp").as_deref(), Some("192.0.2.10"));
        assert_eq!(value(&plain, "aws:VpcSourceIp"), None);
        assert_eq!(value(&plain, "aws:SourceVpce"), None);
        // Through one: the endpoint and the address inside the VPC, no source IP.
        e["vpcEndpointId"] = json!("vpce-1a2b3c4d");
        let through = request(&e);
        assert_eq!(value(&through, "aws:SourceIp"), None);
        assert_eq!(
            value(&through, "aws:VpcSourceIp").as_deref(),
            Some("192.0.2.10")
        );
        assert_eq!(
            value(&through, "aws:SourceVpce").as_deref(),
            Some("vpce-1a2b3c4d")
        );
        assert_eq!(value(&through, "aws:VpceAccount"), None);
        // The endpoint's owner, when recorded.
        e["vpcEndpointAccountId"] = json!("444455556666");
        let owned = request(&e);
        assert_eq!(
            value(&owned, "aws:VpceAccount").as_deref(),
            Some("444455556666")
        );
        // An empty one, or a call AWS made from its own VPC, is no endpoint; one that is
        // not text is malformed.
        for none in ["", "AWS Internal", "s3.amazonaws.com"] {
            e["vpcEndpointId"] = json!(none);
            let r = request(&e);
            assert_eq!(value(&r, "aws:SourceIp").as_deref(), Some("192.0.2.10"));
            assert_eq!(value(&r, "aws:SourceVpce"), None);
            assert_eq!(value(&r, "aws:VpceAccount"), None);
        }
        e["vpcEndpointId"] = json!(["vpce-1a2b3c4d"]);
        assert_eq!(outcome(&e, &index), Err(UnmappedKind::Malformed));
        // A private address without an endpoint recorded came through one: the address
        // inside the VPC, no source IP.
        e["vpcEndpointId"] = Value::Null;
        e["vpcEndpointAccountId"] = Value::Null;
        for (ip, public) in [
            ("10.1.2.3", false),
            ("172.31.0.9", false),
            ("192.168.0.1", false),
            ("100.64.0.1", false),
            ("100.127.255.255", false),
            ("fd00::1", false),
            ("fc00::1", false),
            ("::ffff:10.0.0.1", false),
            ("100.128.0.1", true),
            ("172.32.0.1", true),
            ("2001:db8::1", true),
            ("::ffff:192.0.2.1", true),
        ] {
            e["sourceIPAddress"] = json!(ip);
            let r = request(&e);
            let (source, vpc) = match public {
                true => (Some(ip.to_string()), None),
                false => (None, Some(ip.to_string())),
            };
            assert_eq!(value(&r, "aws:SourceIp"), source, "{ip}");
            assert_eq!(value(&r, "aws:VpcSourceIp"), vpc, "{ip}");
        }
        e["sourceIPAddress"] = json!("192.0.2.10");
        // Decided as AWS decides them: a grant by source address does not reach a request
        // through an endpoint, a grant by endpoint does.
        let policy = |condition: &str| {
            let text = format!(
                r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {condition}}}]}}"#
            );
            PolicySet::new(vec![
                crate::lang::parse::parse_policy("p.json", text.as_bytes()).unwrap(),
            ])
        };
        let decide = |set: &PolicySet, r: &Request| set.evaluate(r).unwrap().decision;
        let by_ip = policy(r#"{"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}"#);
        assert_eq!(decide(&by_ip, &plain), Decision::Allow);
        assert_eq!(decide(&by_ip, &through), Decision::ImplicitDeny);
        let by_endpoint = policy(r#"{"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}"#);
        assert_eq!(decide(&by_endpoint, &plain), Decision::ImplicitDeny);
        assert_eq!(decide(&by_endpoint, &through), Decision::Allow);
        let by_vpc_ip = policy(r#"{"IpAddress": {"aws:VpcSourceIp": "192.0.2.0/24"}}"#);
        assert_eq!(decide(&by_vpc_ip, &plain), Decision::ImplicitDeny);
        assert_eq!(decide(&by_vpc_ip, &through), Decision::Allow);
        // A key every request through an endpoint has but the record does not show: a
        // statement that reads it cannot be decided for such a request (taken as absent,
        // this Deny would not apply where AWS applied it), and is decided for others.
        let text = r#"{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:*", "Resource": "*",
             "Condition": {"StringEquals": {"aws:SourceVpc": "vpc-untrusted"}}}]}"#;
        let deny_vpc = PolicySet::new(vec![
            crate::lang::parse::parse_policy("p.json", text.as_bytes()).unwrap(),
        ]);
        assert_eq!(decide(&deny_vpc, &plain), Decision::Allow);
        assert_eq!(
            deny_vpc.evaluate(&through).unwrap_err().to_string(),
            "aws:sourcevpc is in every request made through a VPC endpoint (this one has another endpoint key) and this statement reads it; give its value"
        );
        // Recorded, it decides.
        assert_eq!(decide(&by_endpoint, &owned), Decision::Allow);
    }

    #[test]
    fn s3_path_reads_the_fields_split_concrete_reads() {
        // The model: the ARN's five fields, the first four `PARTITION`, `s3`, ``, ``.
        fn model<'a>(arn: &'a str, partition: &str) -> Option<&'a str> {
            match crate::lang::arn::split_concrete(arn) {
                Some([p, "s3", "", "", path]) if p == partition => Some(path),
                _ => None,
            }
        }
        let arns = [
            "arn:aws:s3:::b",
            "arn:aws:s3:::b/k:with:colons/x",
            "arn:aws:s3:::",
            "arn:aws-cn:s3:::b/k",
            "arn:aws:s3::",
            "arn:aws:s3:us-east-1::b",
            "arn:aws:s3::111122223333:b",
            "arn:aws:s3-outposts:::b",
            "arn:awsx:s3:::b",
            "arn:aw:s3:::b",
            "ARN:aws:s3:::b",
            "arn:aws:S3:::b",
            "",
        ];
        for arn in arns {
            for partition in ["aws", "aws-cn", "aw", ""] {
                assert_eq!(
                    s3_path(arn, partition),
                    model(arn, partition),
                    "{arn} {partition}"
                );
            }
        }
    }

    #[test]
    fn every_listed_s3_entry_is_a_resource_of_the_requests_made() {
        let index = IdentityIndex::new();
        let object = |arn: &str| json!({"type": "AWS::S3::Object", "ARN": arn});
        let bucket = |arn: &str| json!({"type": "AWS::S3::Bucket", "ARN": arn});
        // Each request's (action, resource).
        let requests = |e: &Value| -> Vec<(String, String)> {
            let m = map_record(e, &index).unwrap();
            m.requests
                .into_iter()
                .map(|r| (r.action, r.resource))
                .collect()
        };
        let pair = |a: &str, r: &str| (a.to_string(), r.to_string());
        let reason = |e: &Value| {
            let u = map_record(e, &index).unwrap_err();
            assert_eq!(u.kind, UnmappedKind::Malformed);
            u.reason
        };
        // The object and its bucket, as CloudTrail lists them.
        let mut e = data_event("GetObject");
        e["resources"] = json!([object("arn:aws:s3:::b/k/x.txt"), bucket("arn:aws:s3:::b")]);
        assert_eq!(
            requests(&e),
            [pair("s3:GetObject", "arn:aws:s3:::b/k/x.txt")]
        );
        // A second object beside the parameters' one, in either order: which one AWS
        // authorized on cannot be told.
        for listed in [
            json!([
                object("arn:aws:s3:::b/k/y.txt"),
                object("arn:aws:s3:::b/k/x.txt")
            ]),
            json!([
                object("arn:aws:s3:::b/k/x.txt"),
                object("arn:aws:s3:::other/secret.txt")
            ]),
        ] {
            e["resources"] = listed;
            assert!(
                reason(&e).ends_with("(AWS::S3::Object), which is none of the request's resources")
            );
        }
        // Another bucket.
        e["resources"] = json!([
            object("arn:aws:s3:::b/k/x.txt"),
            bucket("arn:aws:s3:::other")
        ]);
        assert_eq!(
            reason(&e),
            "resources[] list arn:aws:s3:::other (AWS::S3::Bucket), which is none of the request's resources"
        );
        // One of them no S3 object's ARN.
        e["resources"] = json!([object("arn:aws:s3:::b/k/x.txt"), object("arn:aws:s3:::b")]);
        assert_eq!(outcome(&e, &index), Err(UnmappedKind::Malformed));
        // No parameters naming one: no resource.
        e["resources"] = json!([
            object("arn:aws:s3:::b/k/x.txt"),
            object("arn:aws:s3:::b/k/y.txt")
        ]);
        e["requestParameters"] = json!({"bucketName": "b"});
        assert_eq!(outcome(&e, &index), Err(UnmappedKind::NoResource));
        // A listing of two buckets.
        let mut l = data_event("ListObjects");
        l["resources"] = json!([bucket("arn:aws:s3:::b"), bucket("arn:aws:s3:::other")]);
        assert_eq!(outcome(&l, &index), Err(UnmappedKind::Malformed));
        l["resources"] = json!([bucket("arn:aws:s3:::b")]);
        assert_eq!(outcome(&l, &index), Ok(1));
        // A copy listing its source and target, with both buckets: both requests.
        let mut c = data_event("CopyObject");
        c["requestParameters"]["x-amz-copy-source"] = json!("src/k/a.txt");
        c["resources"] = json!([
            object("arn:aws:s3:::src/k/a.txt"),
            object("arn:aws:s3:::b/k/x.txt"),
            bucket("arn:aws:s3:::src"),
            bucket("arn:aws:s3:::b")
        ]);
        assert_eq!(
            requests(&c),
            [
                pair("s3:GetObject", "arn:aws:s3:::src/k/a.txt"),
                pair("s3:PutObject", "arn:aws:s3:::b/k/x.txt")
            ]
        );
        // A listed "source" that is not the copy's source.
        c["resources"] = json!([
            object("arn:aws:s3:::secret/z.txt"),
            object("arn:aws:s3:::b/k/x.txt")
        ]);
        assert_eq!(
            reason(&c),
            "resources[] list arn:aws:s3:::secret/z.txt (AWS::S3::Object), which is none of the request's resources"
        );
        // DeleteObjects of many keys: listed keys are searched among the targets.
        let mut d = data_event("DeleteObjects");
        let keys: Vec<Value> = (0..20).map(|i| json!({"Key": format!("k/{i}")})).collect();
        d["requestParameters"]["delete"] = json!({"Object": keys});
        let mut listed: Vec<Value> = (0..20)
            .rev()
            .map(|i| object(&format!("arn:aws:s3:::b/k/{i}")))
            .collect();
        listed.push(bucket("arn:aws:s3:::b"));
        d["resources"] = json!(listed);
        assert_eq!(outcome(&d, &index), Ok(20));
        listed.push(bucket("arn:aws:s3:::c"));
        d["resources"] = json!(listed);
        assert_eq!(outcome(&d, &index), Err(UnmappedKind::Malformed));
    }

    #[test]
    fn a_copy_source_under_another_operation_is_not_mapped() {
        let index = IdentityIndex::new();
        for name in ["UploadPart", "PutObject", "GetObject"] {
            let mut e = data_event(name);
            assert_eq!(outcome(&e, &index), Ok(1), "{name}");
            e["requestParameters"]["x-amz-copy-source"] = json!("other/private/k/a.txt");
            let u = map_record(&e, &index).unwrap_err();
            assert_eq!(u.kind, UnmappedKind::UnknownOperation, "{name}");
            assert_eq!(
                u.reason,
                format!(
                    "{name} with a copy source (\"other/private/k/a.txt\"): a copy, whose read of the source is not mapped under this name"
                )
            );
            // Not text: malformed.
            e["requestParameters"]["x-amz-copy-source"] = json!(7);
            assert_eq!(outcome(&e, &index), Err(UnmappedKind::Malformed), "{name}");
        }
    }

    #[test]
    fn a_copy_from_an_access_point_names_no_bucket() {
        let mut e = data_event("CopyObject");
        let index = IdentityIndex::new();
        let sources = [
            "arn:aws:s3:us-east-1:111122223333:accesspoint/ap/object/k/src.txt",
            "arn%3Aaws%3As3%3Aus-east-1%3A111122223333%3Aaccesspoint%2Fap%2Fobject%2Fk%2Fsrc.txt",
            "/arn:aws:s3-outposts:us-east-1:111122223333:outpost/op/accesspoint/ap/object/k",
        ];
        for source in sources {
            e["requestParameters"]["x-amz-copy-source"] = json!(source);
            let got = map_record(&e, &index).map_err(|u| u.kind);
            assert_eq!(
                got.map(|m| m.requests.len()),
                Err(UnmappedKind::NoResource),
                "{source}"
            );
        }
        // The plain form is read as BUCKET/KEY (tests/logs.rs).
        e["requestParameters"]["x-amz-copy-source"] = json!("src/k/a.txt");
        assert_eq!(map_record(&e, &index).map(|m| m.requests.len()), Ok(2));
        // An access point alias in the bucket's place (S3 accepts one for CopyObject's
        // source), plain or encoded, names no bucket; so does one as the target's bucket.
        for source in [
            "notesap-abc123xyz-s3alias/private/k/src.txt",
            "/notesap-abc123xyz-s3alias%2Fprivate%2Fk%2Fsrc.txt",
            "olap-xyz--ol-s3/k/src.txt",
        ] {
            e["requestParameters"]["x-amz-copy-source"] = json!(source);
            assert_eq!(
                outcome(&e, &index),
                Err(UnmappedKind::NoResource),
                "{source}"
            );
        }
        e["requestParameters"]["x-amz-copy-source"] = json!("src/k/a.txt");
        for bucket in ["ap-xyz-s3alias", "b--x-s3", "t--table-s3", "o--op-s3"] {
            let mut g = data_event("GetObject");
            g["requestParameters"]["bucketName"] = json!(bucket);
            assert_eq!(
                outcome(&g, &index),
                Err(UnmappedKind::NoResource),
                "{bucket}"
            );
        }
        let mut g = data_event("GetObject");
        g["requestParameters"]["bucketName"] = json!("ap-xyz-s3alias");
        assert_eq!(
            map_record(&g, &index).unwrap_err().reason,
            "ap-xyz-s3alias is no bucket's name (an access point alias or another reserved form): the resource authorized on is not named"
        );
        // A name that only contains such text is a bucket's.
        let mut g = data_event("GetObject");
        g["requestParameters"]["bucketName"] = json!("my-s3alias-bucket");
        assert_eq!(map_record(&g, &index).map(|m| m.requests.len()), Ok(1));
    }

    #[test]
    fn a_session_context_not_of_its_documented_type_is_malformed() {
        let index = IdentityIndex::new();
        let base = role_session_event("web-identity", "K9", None);
        assert!(map_record(&base, &index).is_ok());
        let bad: [(&str, Value); 4] = [
            (
                "/userIdentity/sessionContext",
                json!("{\"webIdFederationData\": {}}"),
            ),
            ("/userIdentity/sessionContext/sessionIssuer", json!(7)),
            (
                "/userIdentity/sessionContext/webIdFederationData",
                json!("cognito"),
            ),
            (
                "/userIdentity/sessionContext/webIdFederationData",
                json!({"federatedProvider": ["cognito-identity.amazonaws.com"]}),
            ),
        ];
        for (path, value) in bad {
            let mut e = base.clone();
            let (parent, name) = path.rsplit_once('/').unwrap();
            e.pointer_mut(parent).unwrap()[name] = value;
            assert_eq!(
                outcome(&e, &index),
                Err(UnmappedKind::Malformed),
                "{path}: {e}"
            );
        }
    }

    /// A data event of a session of role `r` named `name`, signed with `key`.
    fn role_session_event(name: &str, key: &str, provider: Option<&str>) -> Value {
        let mut e = data_event("GetObject");
        e["userIdentity"] = json!({
            "type": "AssumedRole",
            "arn": format!("arn:aws:sts::111122223333:assumed-role/r/{name}"),
            "accountId": "111122223333",
            "accessKeyId": key,
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::111122223333:role/r"}
            }
        });
        if let Some(p) = provider {
            e["userIdentity"]["sessionContext"]["webIdFederationData"] =
                json!({"federatedProvider": p});
        }
        e
    }

    #[test]
    fn a_session_of_a_cognito_role_is_cognito_whatever_its_name() {
        use crate::lang::variables::VariableSource;
        let issued = session_k1();
        let empty = IdentityIndex::new();
        let mut index = IdentityIndex::new();
        assert!(!index.is_cognito_role("arn:aws:iam::111122223333:role/r"));
        index.add_record(&issued).unwrap();
        assert!(index.is_cognito_role("arn:aws:iam::111122223333:role/r"));
        assert!(!index.is_cognito_role("arn:aws:iam::111122223333:role/other"));
        // The basic flow's sessions are named by the app (`web-identity` by default in
        // the JavaScript SDK v2): a key not issued in the logs is no identity once the
        // role is known as Cognito's, and a plain role session while it is not.
        let other_key = role_session_event("web-identity", "K9", None);
        let kind = |r: Result<Mapped, Unmapped>| r.map(|m| m.requests.len()).map_err(|u| u.kind);
        assert_eq!(
            kind(map_record(&other_key, &index)),
            Err(UnmappedKind::NoIdentity)
        );
        assert_eq!(kind(map_record(&other_key, &empty)), Ok(1));
        // Its own key: the identity.
        let own = map_record(&role_session_event("web-identity", "K1", None), &index).unwrap();
        assert_eq!(
            own.requests[0]
                .context
                .variable(crate::lang::keys::COGNITO_SUB),
            Some("us-east-1:a")
        );
        // The federated provider, with or without https://, says Cognito by itself.
        for provider in [COGNITO_PROVIDER, "https://cognito-identity.amazonaws.com"] {
            let e = role_session_event("app", "K9", Some(provider));
            assert_eq!(
                kind(map_record(&e, &empty)),
                Err(UnmappedKind::NoIdentity),
                "{provider}"
            );
        }
        let e = role_session_event("app", "K9", Some("accounts.google.com"));
        assert_eq!(kind(map_record(&e, &empty)), Ok(1));
    }

    #[test]
    fn merged_indexes_are_the_index_of_all_records() {
        let session = |key: &str, id: &str| {
            json!({
                "eventSource": "sts.amazonaws.com",
                "eventName": "AssumeRoleWithWebIdentity",
                "userIdentity": {"type": "WebIdentityUser", "identityProvider": COGNITO_PROVIDER},
                "requestParameters": {"roleArn": "arn:aws:iam::111122223333:role/r"},
                "responseElements": {
                    "subjectFromWebIdentityToken": id,
                    "audience": "us-east-1:pool",
                    "provider": COGNITO_PROVIDER,
                    "credentials": {"accessKeyId": key}
                }
            })
        };
        let records = [
            session("K1", "us-east-1:a"),
            session("K2", "us-east-1:b"),
            session("K1", "us-east-1:a"),
            session("K2", "us-east-1:c"),
            session("K3", "us-east-1:d"),
        ];
        let mut all = IdentityIndex::new();
        for r in &records {
            assert_eq!(all.add_record(r), Ok(true));
        }
        for split in 0..=records.len() {
            for order in [false, true] {
                let (mut x, mut y) = (IdentityIndex::new(), IdentityIndex::new());
                records[..split].iter().for_each(|r| drop(x.add_record(r)));
                records[split..].iter().for_each(|r| drop(y.add_record(r)));
                if order {
                    std::mem::swap(&mut x, &mut y);
                }
                x.merge(y);
                for key in ["K1", "K2", "K3", "K4"] {
                    assert_eq!(x.lookup(key), all.lookup(key), "{split} {order} {key}");
                }
            }
        }
        assert_eq!(all.lookup("K2"), KeyLookup::Conflict);
    }

    proptest::proptest! {
        /// Indexes built from any split of the records, merged in any order, know every
        /// key as the index of all the records does (sessions numbered apart are told
        /// apart, and alike ones are one).
        #[test]
        fn any_split_merges_to_the_index_of_all(
            records in proptest::collection::vec((0..6u8, 0..4u8, 0..2u8, 0..3u8), 0..24),
            order in proptest::collection::vec(0..3usize, 3),
        ) {
            let record = |(key, id, role, part): (u8, u8, u8, u8)| {
                (part as usize, json!({
                    "eventSource": "sts.amazonaws.com",
                    "eventName": "AssumeRoleWithWebIdentity",
                    "requestParameters": {"roleArn": format!("arn:aws:iam::111122223333:role/r{role}")},
                    "responseElements": {
                        "subjectFromWebIdentityToken": format!("us-east-1:{id}"),
                        "audience": "us-east-1:pool",
                        "provider": COGNITO_PROVIDER,
                        "credentials": {"accessKeyId": format!("K{key}")}
                    }
                }))
            };
            let mut all = IdentityIndex::new();
            let mut parts = vec![IdentityIndex::new(), IdentityIndex::new(), IdentityIndex::new()];
            for r in records.into_iter().map(record) {
                proptest::prop_assert_eq!(all.add_record(&r.1), Ok(true));
                proptest::prop_assert_eq!(parts[r.0].add_record(&r.1), Ok(true));
            }
            let mut merged = IdentityIndex::new();
            for i in order {
                merged.merge(std::mem::take(&mut parts[i]));
            }
            for p in parts {
                merged.merge(p);
            }
            let mut conflicts = 0;
            for key in 0..7 {
                let key = format!("K{key}");
                proptest::prop_assert_eq!(merged.lookup(&key), all.lookup(&key), "{}", key);
                conflicts += usize::from(all.lookup(&key) == KeyLookup::Conflict);
            }
            proptest::prop_assert_eq!(merged.len(), all.len());
            proptest::prop_assert_eq!(all.conflicts(), conflicts);
            proptest::prop_assert_eq!(merged.conflicts(), conflicts);
        }
    }

    #[test]
    fn gzip_and_plain_files_read_alike() {
        use std::io::Write;
        let text = br#"{"Records":[{"eventSource":"s3.amazonaws.com"}]}"#;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text).unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(parse_log_file("a.json", text).unwrap().len(), 1);
        assert_eq!(parse_log_file("a.json.gz", &gz).unwrap().len(), 1);
        let e = parse_log_file("cut.json.gz", &gz[..gz.len() / 2]).unwrap_err();
        assert!(e.to_string().starts_with("cut.json.gz: gzip data"), "{e}");
    }
}
