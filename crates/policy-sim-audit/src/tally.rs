//! Tallying the decided table: one pass over its batches, per partition, merged at the
//! end. Memory grows with the distinct actions, identities, statements and finding
//! groups, not with the rows.

use std::collections::{BTreeMap, HashMap};

use datafusion::arrow::array::{Array, AsArray, BooleanArray, RecordBatch, UInt64Array};

use crate::error::AuditError;
use crate::report::{Change, Count, Decisions, IsolationFinding, MAX_EXAMPLES, Origin, Recorded};
use crate::table::TextArray;

/// The errors that mean AWS refused the request at authorization (or authentication):
/// anything else recorded (`NoSuchKey`, `PreconditionFailed` ...) comes after
/// authorization, so the request was authorized.
pub const AUTHORIZATION_ERRORS: &[&str] = &[
    "AccessDenied",
    "AllAccessDisabled",
    "AccountProblem",
    "ExpiredToken",
    "InvalidAccessKeyId",
    "InvalidToken",
    "SignatureDoesNotMatch",
    "TokenRefreshRequired",
];

/// Did AWS refuse the request at authorization?
pub fn denied_by_aws(error_code: &str) -> bool {
    AUTHORIZATION_ERRORS.contains(&error_code)
}

type GroupKey = (String, String, Option<String>, String, String);

/// The tally's maps: keyed by text from the logs, looked up several times a row. Hashed
/// with foldhash (a fast hash with a per-process random seed) rather than SipHash, which
/// took a sixth of the Parquet audit's time; every table is sorted before it is reported.
pub type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// One partition's tally.
#[derive(Debug, Default)]
pub struct Tally {
    /// Decisions under the current policies.
    pub decisions: Decisions,
    /// AWS's recorded answers.
    pub recorded: Recorded,
    /// Per action.
    pub by_action: Map<String, Decisions>,
    /// Per identity.
    pub by_identity: Map<SlotKey, Decisions>,
    /// Per deciding statement.
    pub by_statement: Map<String, u64>,
    /// Isolation counters.
    pub own: u64,
    /// Permitted cross-identity rows.
    pub permitted: u64,
    /// Denied attempts.
    pub denied_attempts: u64,
    /// Undecidable cross-identity rows.
    pub undecidable: u64,
    /// Rows without identity.
    pub without_identity: u64,
    /// Finding groups: (identity, touch, owner, area, action) -> (count, first origin).
    pub findings: Map<GroupKey, (u64, Origin)>,
    /// Replay counters: unchanged, would break, newly allowed, deny kind, undecidable.
    pub replay: [u64; 5],
    /// Replay examples by kind of change.
    pub changes: BTreeMap<String, Vec<Change>>,
}

struct Cols<'a> {
    source: TextArray<'a>,
    record: &'a UInt64Array,
    event_id: TextArray<'a>,
    event_time: TextArray<'a>,
    identity: TextArray<'a>,
    action: TextArray<'a>,
    resource: TextArray<'a>,
    recorded: &'a BooleanArray,
    error_code: TextArray<'a>,
    decision: TextArray<'a>,
    statement: TextArray<'a>,
    eval_error: TextArray<'a>,
    touch: TextArray<'a>,
    owner: TextArray<'a>,
    area: TextArray<'a>,
    forbidden: &'a BooleanArray,
    baseline: Option<(TextArray<'a>, TextArray<'a>)>,
}

fn text<'a>(batch: &'a RecordBatch, name: &str) -> Result<TextArray<'a>, AuditError> {
    batch
        .column_by_name(name)
        .and_then(|c| TextArray::of(c.as_ref()))
        .ok_or_else(|| AuditError::Engine(format!("the decided table has no text column {name}")))
}

impl Tally {
    /// Count every row of a decided batch (see [`crate::audit::decided_sql`] for its
    /// columns).
    pub fn add_batch(&mut self, batch: &RecordBatch) -> Result<(), AuditError> {
        let bool_col = |name: &str| {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_boolean_opt())
                .ok_or_else(|| {
                    AuditError::Engine(format!("the decided table has no boolean column {name}"))
                })
        };
        let record = batch
            .column_by_name("record")
            .and_then(|c| c.as_primitive_opt::<datafusion::arrow::datatypes::UInt64Type>())
            .ok_or_else(|| {
                AuditError::Engine("the decided table has no record column".to_string())
            })?;
        // Whether AWS's answer is recorded decides how a row counts: unknown is an error.
        let recorded = bool_col("recorded")?;
        if recorded.null_count() > 0 {
            return Err(AuditError::Engine(
                "a row whose `recorded` is null: say whether AWS's answer is recorded (true or false)".to_string(),
            ));
        }
        let baseline = match batch.column_by_name("baseline_decision") {
            Some(_) => Some((
                text(batch, "baseline_decision")?,
                text(batch, "baseline_error")?,
            )),
            None => None,
        };
        let c = Cols {
            source: text(batch, "source")?,
            record,
            event_id: text(batch, "event_id")?,
            event_time: text(batch, "event_time")?,
            identity: text(batch, "identity")?,
            action: text(batch, "action")?,
            resource: text(batch, "resource")?,
            recorded,
            error_code: text(batch, "error_code")?,
            decision: text(batch, "decision")?,
            statement: text(batch, "statement")?,
            eval_error: text(batch, "eval_error")?,
            touch: text(batch, "touch")?,
            owner: text(batch, "owner")?,
            area: text(batch, "area")?,
            forbidden: bool_col("forbidden")?,
            baseline,
        };
        for i in 0..batch.num_rows() {
            self.add_row(&c, i);
        }
        Ok(())
    }

    fn origin(c: &Cols<'_>, i: usize) -> Origin {
        Origin {
            source: c.source.get(i).unwrap_or_default().to_string(),
            record: c.record.value(i),
            event_id: c.event_id.get(i).map(str::to_string),
            event_time: c.event_time.get(i).map(str::to_string),
        }
    }

    fn add_row(&mut self, c: &Cols<'_>, i: usize) {
        let decision = c.decision.get(i);
        self.decisions.add(decision);
        let action = c.action.get(i).unwrap_or("-");
        count_into(&mut self.by_action, action, || action.to_string(), decision);
        let identity = c.identity.get(i);
        if let Some(id) = identity {
            count_into(
                &mut self.by_identity,
                id.as_bytes(),
                || SlotKey::new(id),
                decision,
            );
        }
        if let Some(s) = c.statement.get(i) {
            match self.by_statement.get_mut(s) {
                Some(n) => *n += 1,
                None => {
                    self.by_statement.insert(s.to_string(), 1);
                }
            }
        }
        let recorded = c.recorded.value(i);
        let aws_denied = c.error_code.get(i).is_some_and(denied_by_aws);
        if !recorded {
            self.recorded.unrecorded += 1;
        } else if aws_denied {
            self.recorded.denied += 1;
            if decision == Some("Allow") {
                self.recorded.denied_but_policies_allow += 1;
            }
        } else {
            self.recorded.authorized += 1;
            if matches!(decision, Some("ExplicitDeny" | "ImplicitDeny")) {
                self.recorded.authorized_but_policies_deny += 1;
            }
        }
        // Isolation, observed.
        match c.touch.get(i) {
            Some("own") => self.own += 1,
            Some(touch @ ("other" | "everyone" | "unattributed")) => {
                let forbidden = c.forbidden.is_valid(i) && c.forbidden.value(i);
                if !forbidden {
                    self.permitted += 1;
                } else if recorded && aws_denied {
                    self.denied_attempts += 1;
                } else if !recorded && decision.is_none() {
                    self.undecidable += 1;
                } else if !recorded && decision != Some("Allow") {
                    // A request table row the policies deny: not an access.
                    self.denied_attempts += 1;
                } else {
                    let key = (
                        identity.unwrap_or("-").to_string(),
                        touch.to_string(),
                        c.owner.get(i).map(str::to_string),
                        c.area.get(i).unwrap_or("").to_string(),
                        action.to_string(),
                    );
                    let origin = Tally::origin(c, i);
                    let entry = self.findings.entry(key).or_insert((0, origin.clone()));
                    entry.0 += 1;
                    if origin < entry.1 {
                        entry.1 = origin;
                    }
                }
            }
            _ => {
                if identity.is_none() {
                    self.without_identity += 1;
                }
            }
        }
        // Replay.
        if let Some((base, base_error)) = c.baseline {
            let before = base.get(i);
            let kind = match (before, decision) {
                (None, _) | (_, None) => Some("undecidable"),
                (Some(a), Some(b)) if a == b => None,
                (Some("Allow"), Some(_)) => Some("would-break"),
                (Some(_), Some("Allow")) => Some("newly-allowed"),
                _ => Some("deny-kind-changed"),
            };
            let slot = match kind {
                None => 0,
                Some("would-break") => 1,
                Some("newly-allowed") => 2,
                Some("deny-kind-changed") => 3,
                _ => 4,
            };
            self.replay[slot] += 1;
            if let Some(kind) = kind.filter(|k| *k != "deny-kind-changed") {
                let change = Change {
                    change: kind.to_string(),
                    origin: Tally::origin(c, i),
                    identity: identity.map(str::to_string),
                    action: c.action.get(i).map(str::to_string),
                    resource: c.resource.get(i).map(str::to_string),
                    baseline: before
                        .or(base_error.get(i))
                        .unwrap_or("not decided")
                        .to_string(),
                    current: decision
                        .or(c.eval_error.get(i))
                        .unwrap_or("not decided")
                        .to_string(),
                    statement: c.statement.get(i).map(str::to_string),
                };
                keep_first(self.changes.entry(kind.to_string()).or_default(), change);
            }
        }
    }

    /// Add `other`'s counts.
    pub fn merge(&mut self, other: Tally) {
        self.decisions.merge(&other.decisions);
        let r = &mut self.recorded;
        r.authorized += other.recorded.authorized;
        r.denied += other.recorded.denied;
        r.unrecorded += other.recorded.unrecorded;
        r.authorized_but_policies_deny += other.recorded.authorized_but_policies_deny;
        r.denied_but_policies_allow += other.recorded.denied_but_policies_allow;
        for (k, d) in other.by_action {
            self.by_action.entry(k).or_default().merge(&d);
        }
        for (k, d) in other.by_identity {
            self.by_identity.entry(k).or_default().merge(&d);
        }
        for (k, v) in other.by_statement {
            *self.by_statement.entry(k).or_default() += v;
        }
        self.own += other.own;
        self.permitted += other.permitted;
        self.denied_attempts += other.denied_attempts;
        self.undecidable += other.undecidable;
        self.without_identity += other.without_identity;
        for (k, (count, origin)) in other.findings {
            let entry = self.findings.entry(k).or_insert((0, origin.clone()));
            entry.0 += count;
            if origin < entry.1 {
                entry.1 = origin;
            }
        }
        for (i, v) in other.replay.iter().enumerate() {
            self.replay[i] += v;
        }
        for (k, list) in other.changes {
            let mine = self.changes.entry(k).or_default();
            for c in list {
                keep_first(mine, c);
            }
        }
    }

    /// The per-key tables, most rows first (ties by key).
    pub fn counts<K: KeyText>(map: &Map<K, Decisions>) -> Vec<Count> {
        let mut out: Vec<Count> = map
            .iter()
            .map(|(k, d)| Count {
                key: k.text(),
                decisions: *d,
            })
            .collect();
        out.sort_by(|a, b| {
            b.decisions
                .total()
                .cmp(&a.decisions.total())
                .then_with(|| a.key.cmp(&b.key))
        });
        out
    }

    /// The finding groups, most rows first (ties by caller, owner, action, area, touch:
    /// every part of the group's key, so that the order never depends on the maps').
    pub fn finding_list(&self) -> Vec<IsolationFinding> {
        let mut out: Vec<IsolationFinding> = self
            .findings
            .iter()
            .map(
                |((identity, touch, owner, area, action), (count, first))| IsolationFinding {
                    identity: identity.clone(),
                    touch: touch.clone(),
                    owner: owner.clone(),
                    area: area.clone(),
                    action: action.clone(),
                    count: *count,
                    first: first.clone(),
                },
            )
            .collect();
        out.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.identity.cmp(&b.identity))
                .then_with(|| a.owner.cmp(&b.owner))
                .then_with(|| a.action.cmp(&b.action))
                .then_with(|| a.area.cmp(&b.area))
                .then_with(|| a.touch.cmp(&b.touch))
        });
        out
    }
}

/// A key of a tally's table, as the text it counts.
pub trait KeyText {
    /// The key's text.
    fn text(&self) -> String;
}

impl KeyText for String {
    fn text(&self) -> String {
        self.clone()
    }
}

/// The longest key a [`SlotKey`] holds in place (a Cognito identity id, a region, a colon
/// and a UUID, is at most 51 bytes).
const INLINE: usize = 62;

/// A text key held in the table's own slot when it is short, else on the heap. The
/// per-identity table is looked up on every row, over thousands of identities: a key held
/// in place is compared without following a pointer to memory the lookup has not touched
/// yet (one cache miss a row fewer). It hashes, compares and borrows as its bytes, so the
/// table is looked up with a `&[u8]` without building a key.
#[derive(Debug, Clone)]
pub enum SlotKey {
    /// `len` bytes of `bytes`.
    Inline {
        /// How many bytes are used.
        len: u8,
        /// The text's bytes, then zeros.
        bytes: [u8; INLINE],
    },
    /// A longer text.
    Heap(Box<str>),
}

impl SlotKey {
    /// The key for `text`.
    pub fn new(text: &str) -> SlotKey {
        match u8::try_from(text.len()) {
            Ok(len) if text.len() <= INLINE => {
                let mut bytes = [0; INLINE];
                bytes[..text.len()].copy_from_slice(text.as_bytes());
                SlotKey::Inline { len, bytes }
            }
            _ => SlotKey::Heap(text.into()),
        }
    }

    /// The key's bytes (its text's).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            SlotKey::Inline { len, bytes } => &bytes[..usize::from(*len)],
            SlotKey::Heap(text) => text.as_bytes(),
        }
    }
}

impl KeyText for SlotKey {
    fn text(&self) -> String {
        // Made from a `&str`, so always UTF-8: nothing is replaced.
        String::from_utf8_lossy(self.as_bytes()).into_owned()
    }
}

impl std::borrow::Borrow<[u8]> for SlotKey {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl std::hash::Hash for SlotKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl PartialEq for SlotKey {
    fn eq(&self, other: &SlotKey) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for SlotKey {}

/// Count `decision` under `key` in `map`; `owned` makes the table's key for a key seen
/// for the first time (so a key already there is looked up without allocating).
fn count_into<K, Q>(
    map: &mut Map<K, Decisions>,
    key: &Q,
    owned: impl FnOnce() -> K,
    decision: Option<&str>,
) where
    K: std::borrow::Borrow<Q> + std::hash::Hash + Eq,
    Q: std::hash::Hash + Eq + ?Sized,
{
    match map.get_mut(key) {
        Some(d) => d.add(decision),
        None => {
            let mut d = Decisions::default();
            d.add(decision);
            map.insert(owned(), d);
        }
    }
}

/// Keep the first [`MAX_EXAMPLES`] changes by origin.
fn keep_first(list: &mut Vec<Change>, change: Change) {
    if list.len() == MAX_EXAMPLES && list.last().is_some_and(|last| last.origin <= change.origin) {
        return;
    }
    let at = list.partition_point(|c| c.origin <= change.origin);
    list.insert(at, change);
    list.truncate(MAX_EXAMPLES);
}

#[cfg(test)]
mod tests {
    use super::{KeyText, Map, SlotKey, Tally, count_into};
    use crate::report::Decisions;

    /// The per-identity table keyed by [`SlotKey`] (looked up by bytes) counts exactly as a
    /// table keyed by `String` does, for keys on both sides of the in-place limit, keys
    /// that differ only in their last byte or by a trailing NUL, and multibyte text.
    #[test]
    fn slot_keys_count_as_string_keys() {
        let mut keys = Vec::new();
        for len in [0, 1, 2, 50, 51, 61, 62, 63, 64, 255, 256, 300] {
            let base = "a".repeat(len);
            keys.push(base.clone());
            keys.push(format!("{base}\0"));
            if len > 0 {
                keys.push(format!("{}b", &base[1..]));
                keys.push(format!("{}é", &base[1..]));
            }
        }
        let decisions = [Some("Allow"), Some("ImplicitDeny"), None];
        let mut slots: Map<SlotKey, Decisions> = Map::default();
        let mut model: Map<String, Decisions> = Map::default();
        for round in 0..5usize {
            for (i, key) in keys.iter().enumerate() {
                // Key i is counted (i + round) % 4 times a round, with varied decisions.
                for n in 0..(i + round) % 4 {
                    let decision = decisions[(i + n) % 3];
                    count_into(&mut slots, key.as_bytes(), || SlotKey::new(key), decision);
                    model.entry(key.clone()).or_default().add(decision);
                }
            }
        }
        assert_eq!(slots.len(), model.len());
        assert_eq!(Tally::counts(&slots), Tally::counts(&model));
        for key in &keys {
            assert_eq!(SlotKey::new(key).text(), *key);
        }
    }
}
