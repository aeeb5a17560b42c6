//! Requests and their context: the action, the resource and the condition keys AWS would
//! put in the request context.
//!
//! Condition key names are case-insensitive (IAM User Guide, "IAM JSON policy elements:
//! Condition"), so keys are stored in ASCII lowercase. A key may hold several values
//! (a multivalued key such as `aws:TagKeys`).

pub mod lines;

use jiff::Timestamp;

use crate::lang::variables::VariableSource;

use crate::condition::ValueError;
use crate::lang::condition::ConditionError;
use crate::lang::keys::{COGNITO_SUB, CURRENT_TIME, EPOCH_TIME, KnownKey};

/// A request that cannot be decided: malformed input, never a deny.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum RequestError {
    /// Not `service:Action`.
    #[error(
        "action {:?} is not of the form service:ActionName (without wildcards)",
        crate::loc::Shown(action)
    )]
    #[diagnostic(code(policy_sim::request::action))]
    BadAction {
        /// The action as given.
        action: String,
    },
    /// Not an ARN or `*`.
    #[error(
        "resource {:?} is not an ARN (arn:partition:service:region:account:resource) or '*'",
        crate::loc::Shown(resource)
    )]
    #[diagnostic(code(policy_sim::request::resource))]
    BadResource {
        /// The resource as given.
        resource: String,
    },
    /// A key AWS puts in every request, which a statement that must be decided reads, has
    /// no value (see `docs/semantics.md`).
    #[error("{key} is in every AWS request and this statement reads it; give its value")]
    #[diagnostic(code(policy_sim::request::always_present_key))]
    MissingKey {
        /// The key, in lowercase.
        key: String,
    },
    /// A key every request of this principal has (signed requests, or sessions) is
    /// missing from one that a statement must decide.
    #[error("{key} is in every request {made} and this statement reads it; give its value")]
    #[diagnostic(code(policy_sim::request::principal_key))]
    MissingPrincipalKey {
        /// The key, in lowercase.
        key: String,
        /// `signed with AWS credentials`, `made with temporary credentials (a session)`.
        made: &'static str,
    },
    /// A context value that does not fit an operator that must compare it.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Value(#[from] ValueError),
    /// A time key (`aws:CurrentTime`, `aws:EpochTime`) that is not a date.
    #[error("{name}: {source}")]
    #[diagnostic(code(policy_sim::request::time))]
    TimeKey {
        /// The key's name.
        name: &'static str,
        /// Why its value is not a date.
        source: ConditionError,
    },
    /// A time key with several values.
    #[error("{name} must have a single value")]
    #[diagnostic(code(policy_sim::request::time))]
    TimeMultivalued {
        /// The key's name.
        name: &'static str,
    },
    /// `aws:CurrentTime` and `aws:EpochTime` name different seconds.
    #[error(
        "aws:CurrentTime ({}) and aws:EpochTime ({epoch}) name different times",
        crate::loc::Shown(current)
    )]
    #[diagnostic(code(policy_sim::request::time))]
    TimesDisagree {
        /// `aws:CurrentTime` as read.
        current: String,
        /// `aws:EpochTime`.
        epoch: i64,
    },
    /// An empty identity: a Cognito identity id is never empty, and an empty one would
    /// make `${cognito-identity.amazonaws.com:sub}` match text no identity owns.
    #[error("the identity is empty (a Cognito identity id never is)")]
    #[diagnostic(code(policy_sim::request::identity_empty))]
    EmptyIdentity,
    /// The identity given both as the identity and as the context key.
    #[error(
        "identity and context[\"cognito-identity.amazonaws.com:sub\"] both set the identity; give one"
    )]
    #[diagnostic(code(policy_sim::request::identity))]
    IdentityTwice,
}

/// The condition keys of a request, each with one or more values.
///
/// Stored as a list: requests carry a handful of keys. A known key
/// ([`crate::lang::keys::KNOWN`]: the global keys policies read most) is found by its
/// slot, without a search; another key by a scan of lowercase keys, which beats hashing
/// them. Past `SCAN_KEYS` keys a hash index (keyed case-insensitively) finds them instead,
/// so a request with very many keys is built and read in linear time.
/// Lookups never allocate. [`Context::clear`] keeps the storage, so a context refilled for
/// request after request (as batch workers do) stops allocating once it has seen its
/// largest request.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Slots `..len` are in use; later ones are kept for reuse.
    entries: Vec<Entry>,
    len: usize,
    /// Used only while `len > SCAN_KEYS`.
    index: KeyIndex,
    /// Where each of the known keys is, when present.
    known: KnownSlots,
    /// The time key value [`Context::fill_time_defaults`] parsed last, and its time: a
    /// request refilled with the same text (rows of one second in a log) is not parsed
    /// again. A memory of text already read, never part of the context's keys.
    parsed_time: ParsedTime,
}

/// A time key's text and the time it parsed to (`at` is `None` until one parses).
#[derive(Debug, Clone, Default)]
struct ParsedTime {
    text: String,
    at: Option<Timestamp>,
}

impl ParsedTime {
    /// [`crate::lang::condition::parse_date`] of `text`, remembered: the same text given
    /// next time answers without parsing. Only a successful parse is remembered.
    fn parse(&mut self, text: &str) -> Result<Timestamp, ConditionError> {
        if let Some(at) = self.at
            && self.text == text
        {
            return Ok(at);
        }
        let at = crate::lang::condition::parse_date(text)?;
        self.text.clear();
        self.text.push_str(text);
        self.at = Some(at);
        Ok(at)
    }
}

/// Where a key is in a [`Context`] ([`Context::insert_new`]): its values are added without
/// searching for it again. Valid until the context is cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySlot(usize);

/// `entry + 1` per [`KnownKey`] (0: absent): a known key is found without a search.
#[derive(Debug, Clone)]
struct KnownSlots([u32; crate::lang::keys::KNOWN.len()]);

impl Default for KnownSlots {
    fn default() -> KnownSlots {
        KnownSlots([0; crate::lang::keys::KNOWN.len()])
    }
}

/// Up to this many keys a context is searched by a scan; beyond, through its index.
const SCAN_KEYS: usize = 16;

/// An open-addressing hash table over the entries' keys, hashed in ASCII lowercase.
/// Empty (not built) until a context holds more than [`SCAN_KEYS`] keys.
#[derive(Debug, Clone, Default)]
struct KeyIndex {
    /// `entry + 1` per slot, 0 for a free slot; the length is zero or a power of two, at
    /// least twice the number of indexed entries.
    slots: Vec<usize>,
    /// Randomly keyed (per process), so that request keys cannot be chosen to collide.
    hasher: Option<std::hash::RandomState>,
}

impl KeyIndex {
    /// The first slot to probe for `key`, in any case (the index must be built).
    fn home(hasher: &std::hash::RandomState, slots: usize, key: &str) -> usize {
        use std::hash::{BuildHasher, Hasher};
        let mut h = hasher.build_hasher();
        let mut lower = [0u8; 64];
        for chunk in key.as_bytes().chunks(lower.len()) {
            let lower = &mut lower[..chunk.len()];
            lower.copy_from_slice(chunk);
            lower.make_ascii_lowercase();
            h.write(lower);
        }
        (h.finish() as usize) & (slots - 1)
    }

    /// Index `entries[..len]` afresh, with room for twice as many.
    fn rebuild(&mut self, entries: &[Entry]) {
        let size = (entries.len() * 2).next_power_of_two().max(64);
        self.slots.clear();
        self.slots.resize(size, 0);
        for (i, e) in entries.iter().enumerate() {
            self.insert(&e.key, i);
        }
    }

    /// Record that entry `i` holds `key` (which is not indexed yet).
    fn insert(&mut self, key: &str, i: usize) {
        let mask = self.slots.len() - 1;
        let hasher = self.hasher.get_or_insert_with(std::hash::RandomState::new);
        let mut slot = KeyIndex::home(hasher, self.slots.len(), key);
        while self.slots[slot] != 0 {
            slot = (slot + 1) & mask;
        }
        self.slots[slot] = i + 1;
    }

    /// The entry holding `key`, in any case.
    fn find(&self, entries: &[Entry], key: &str) -> Option<usize> {
        let mask = self.slots.len().checked_sub(1)?;
        let mut slot = KeyIndex::home(self.hasher.as_ref()?, self.slots.len(), key);
        loop {
            match self.slots[slot] {
                0 => return None,
                i if entries[i - 1].key.eq_ignore_ascii_case(key) => return Some(i - 1),
                _ => slot = (slot + 1) & mask,
            }
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Entry {
    /// Lowercase key.
    key: String,
    /// [`key_tag`] of `key`; 0 for a known key (found by its slot, never by a scan).
    tag: u64,
    /// `key` among the known keys.
    known: Option<KnownKey>,
    /// Slots `..used` are the values.
    values: Vec<String>,
    used: usize,
    /// The key as [`Context::insert_new`] was last given it for this slot (a spelling of
    /// `key`, in any case) when that was a plain key, or empty: the same key given the same
    /// way again takes the slot as it is, without looking up its [`KnownKey`] or
    /// lowercasing it.
    written: String,
    /// The time whose rendering `values[0]` is, for a time key that
    /// [`Context::fill_time_defaults`] filled: the next request with the same default time
    /// finds it written. Cleared by any other write of a value, and when the slot takes
    /// another key.
    rendered: Option<Timestamp>,
}

/// A tag equal for keys equal in any ASCII case: the length and the last eight bytes (or
/// fewer), each with its 0x20 bit set (which folds ASCII letters' case). Different tags
/// mean different keys; equal tags are then compared in full.
#[inline]
fn key_tag(key: &[u8]) -> u64 {
    let n = key.len();
    let last = match key
        .get(n.saturating_sub(8)..)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
    {
        Some(eight) => u64::from_le_bytes(eight),
        None => key.iter().fold(0, |v, &b| (v << 8) | u64::from(b)),
    };
    (last | 0x2020_2020_2020_2020) ^ ((n as u64) << 56)
}

impl PartialEq for Context {
    fn eq(&self, other: &Context) -> bool {
        self.len == other.len && self.iter().all(|(k, v)| other.values_of(k) == Some(v))
    }
}

impl Eq for Context {}

impl Context {
    /// An empty context.
    pub fn new() -> Context {
        Context::default()
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the context has no keys.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Remove every key, keeping the storage for reuse.
    pub fn clear(&mut self) {
        self.len = 0;
        self.index.slots.clear();
        self.known = KnownSlots::default();
    }

    /// The slot of `key`, in any case. Each stored key carries a tag of its length and last
    /// bytes in any case ([`key_tag`]): the scan compares tags, and only a key whose tag
    /// matches is compared in full (stored keys are lowercase, and evaluation asks in
    /// lowercase, so that comparison is nearly always a plain one). Past [`SCAN_KEYS`]
    /// keys, the index answers.
    fn position(&self, key: &str) -> Option<usize> {
        self.position_known(key, KnownKey::of(key))
    }

    /// [`Context::position`] of `key`, whose [`KnownKey`] is `known`: a known key is found
    /// by its slot, without a search.
    #[inline]
    fn position_known(&self, key: &str, known: Option<KnownKey>) -> Option<usize> {
        if let Some(k) = known {
            return match self.known.0[k.index()] {
                0 => None,
                n => Some(n as usize - 1),
            };
        }
        let entries = &self.entries[..self.len];
        if self.len > SCAN_KEYS {
            return self.index.find(entries, key);
        }
        let tag = key_tag(key.as_bytes());
        // Keys are unique in any case, so at most one entry matches.
        entries
            .iter()
            .position(|e| e.tag == tag && (e.key == key || e.key.eq_ignore_ascii_case(key)))
    }

    /// The entry for `key`, created (empty) if needed.
    fn entry(&mut self, key: &str) -> &mut Entry {
        let known = KnownKey::of(key);
        let found = self.position_known(key, known);
        self.entry_at(found, key, known)
    }

    /// The entry for the known key `key`, created (empty) if needed.
    fn entry_known(&mut self, key: KnownKey) -> &mut Entry {
        let found = self.position_known(key.name(), Some(key));
        self.entry_at(found, key.name(), Some(key))
    }

    /// The entry at `found` (`position(key)`), or a new empty one for `key`, whose
    /// [`KnownKey`] is `known`.
    fn entry_at(&mut self, found: Option<usize>, key: &str, known: Option<KnownKey>) -> &mut Entry {
        let i = self.entry_index(found, key, known);
        &mut self.entries[i]
    }

    /// The index of [`Context::entry_at`]'s entry.
    fn entry_index(&mut self, found: Option<usize>, key: &str, known: Option<KnownKey>) -> usize {
        if let Some(i) = found {
            return i;
        }
        if self.len == self.entries.len() {
            self.entries.push(Entry::default());
        }
        let e = &mut self.entries[self.len];
        match known {
            Some(k) => {
                // A reused slot often held the same key for the previous request.
                if e.known != known {
                    e.key.clear();
                    e.key.push_str(k.name());
                    e.known = known;
                    e.written.clear();
                    e.rendered = None;
                }
                // Known keys are found by their slot, never by the scan: a tag
                // no key has (every tag has bits set in its low bytes).
                e.tag = 0;
            }
            None => {
                e.key.clear();
                e.key.push_str(key);
                e.key.make_ascii_lowercase();
                e.tag = key_tag(e.key.as_bytes());
                e.known = None;
                e.written.clear();
                e.rendered = None;
            }
        }
        self.take_next()
    }

    /// Take the next slot, whose key (`key`, `tag`, `known`) is set, as a new key with
    /// no values: its index.
    fn take_next(&mut self) -> usize {
        let e = &mut self.entries[self.len];
        e.used = 0;
        if let Some(k) = e.known {
            // Entry numbers fit: a context holds far fewer than 2^32 keys.
            self.known.0[k.index()] = (self.len + 1) as u32;
        }
        self.len += 1;
        if self.len > SCAN_KEYS {
            if self.index.slots.len() < self.len * 2 {
                self.index.rebuild(&self.entries[..self.len]);
            } else {
                self.index
                    .insert(&self.entries[self.len - 1].key, self.len - 1);
            }
        }
        self.len - 1
    }

    /// A cleared string slot for one more value of `key` (creating the key if needed):
    /// write the value into it.
    pub fn push_value(&mut self, key: &str) -> &mut String {
        Context::push_into(self.entry(key))
    }

    /// A new key `key` (present with no values), unless the context has it already (in
    /// any case): then `None`. Its slot takes its values ([`Context::push_value_at`]).
    ///
    /// Cost: a context refilled request after request with the same keys, written the same
    /// way (as batch lines and table rows are), finds each key's slot ready: one comparison
    /// with the key it held, and the duplicate check.
    pub fn insert_new(&mut self, key: &str) -> Option<KeySlot> {
        if !key.is_empty() && self.next_written() == Some(key) {
            return self.insert_written();
        }
        let known = KnownKey::of(key);
        if self.position_known(key, known).is_some() {
            return None;
        }
        let i = self.entry_index(None, key, known);
        let e = &mut self.entries[i];
        e.written.clear();
        // Only a plain key is kept (see `next_written`).
        if lines::is_plain(key) {
            e.written.push_str(key);
        }
        Some(KeySlot(i))
    }

    /// The key the next new key's slot was last given by [`Context::insert_new`], as it
    /// was written, when it has one: a plain key (no `"`, `\`, or control character, so its
    /// JSON text is itself in quotes). The line scanner compares a line's next key with it
    /// in place, and takes the slot as it is when they are equal
    /// ([`Context::insert_written`]).
    #[inline]
    pub(crate) fn next_written(&self) -> Option<&str> {
        self.entries
            .get(self.len)
            .map(|e| e.written.as_str())
            .filter(|w| !w.is_empty())
    }

    /// [`Context::insert_new`] of the key [`Context::next_written`] gives: the slot holds
    /// it already (in lowercase, with its tag and known key), so only the duplicate check
    /// is left.
    ///
    /// # Panics
    /// When `next_written` gives no key.
    pub(crate) fn insert_written(&mut self) -> Option<KeySlot> {
        let e = &self.entries[self.len];
        assert!(!e.written.is_empty(), "no key remembered for the next slot");
        if self.position_known(&e.written, e.known).is_some() {
            return None;
        }
        Some(KeySlot(self.take_next()))
    }

    /// [`Context::push_value`] for the key of `slot` (from [`Context::insert_new`] since the
    /// context was last cleared).
    ///
    /// # Panics
    /// When `slot` is stale: the context has been cleared since.
    pub fn push_value_at(&mut self, slot: KeySlot) -> &mut String {
        assert!(
            slot.0 < self.len,
            "a key slot from before the context was cleared"
        );
        Context::push_into(&mut self.entries[slot.0])
    }

    /// One more cleared value slot of `e`.
    fn push_into(e: &mut Entry) -> &mut String {
        e.rendered = None;
        if e.used == e.values.len() {
            e.values.push(String::new());
        }
        let slot = &mut e.values[e.used];
        slot.clear();
        e.used += 1;
        slot
    }

    /// Add `value` to `key` (making it multivalued when it already has a value).
    pub fn add(&mut self, key: &str, value: impl AsRef<str>) {
        self.push_value(key).push_str(value.as_ref());
    }

    /// Make `key` present with no values (which evaluates as absent), or empty its values.
    pub fn declare(&mut self, key: &str) {
        self.entry(key).used = 0;
    }

    /// Set `key` to exactly `values` (an empty list makes the key present with no value,
    /// which evaluates as absent).
    pub fn set(&mut self, key: &str, values: Vec<String>) {
        let e = self.entry(key);
        e.used = values.len();
        e.values = values;
        e.rendered = None;
    }

    /// The values of `key` when it has any (as [`Context::get`]); otherwise set `key` to
    /// the one value `value` (as [`Context::set`], into the slots the context already
    /// holds: no allocation once they exist) and `None`. One search for both.
    pub fn get_or_set_one(&mut self, key: &str, value: &str) -> Option<&[String]> {
        self.get_or_set_one_at(key, KnownKey::of(key), value)
    }

    /// [`Context::get_or_set_one`] of a known key.
    pub fn get_or_set_one_known(&mut self, key: KnownKey, value: &str) -> Option<&[String]> {
        self.get_or_set_one_at(key.name(), Some(key), value)
    }

    /// [`Context::get_or_set_one`] of `key`, whose [`KnownKey`] is `known`.
    fn get_or_set_one_at(
        &mut self,
        key: &str,
        known: Option<KnownKey>,
        value: &str,
    ) -> Option<&[String]> {
        let found = self.position_known(key, known);
        if let Some(i) = found
            && self.entries[i].used > 0
        {
            let e = &self.entries[i];
            return Some(&e.values[..e.used]);
        }
        self.set_one_at(found, key, known, value);
        None
    }

    /// Set the entry at `found` (`position(key)`, or a new one) to the one value `value`.
    fn set_one_at(
        &mut self,
        found: Option<usize>,
        key: &str,
        known: Option<KnownKey>,
        value: &str,
    ) {
        let e = self.entry_at(found, key, known);
        e.rendered = None;
        match e.values.first_mut() {
            Some(slot) => {
                slot.clear();
                slot.push_str(value);
            }
            None => e.values.push(value.to_string()),
        }
        e.used = 1;
    }

    /// True when the key was given, even with no values.
    pub fn has_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// The values of `key` (in any case), including an empty list for a key given with no
    /// values.
    fn values_of(&self, key: &str) -> Option<&[String]> {
        self.position(key).map(|i| {
            let e = &self.entries[i];
            &e.values[..e.used]
        })
    }

    /// The values of `key` (condition keys are case-insensitive: any case finds it). A key
    /// given with no values is reported as absent, as it is by [`Context::contains`].
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.values_of(key).filter(|v| !v.is_empty())
    }

    /// [`Context::get`] of a known key, without a search.
    #[inline]
    pub fn get_known(&self, key: KnownKey) -> Option<&[String]> {
        match self.known.0[key.index()] {
            0 => None,
            n => {
                let e = &self.entries[n as usize - 1];
                (e.used > 0).then(|| &e.values[..e.used])
            }
        }
    }

    /// True when `key` (in any case) has at least one value: `get(key).is_some()`.
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Fill in the keys AWS sets on every request when the caller did not give them:
    /// `aws:CurrentTime` and `aws:EpochTime`. When only one of the two is given, the
    /// other is derived from it; when neither is, both are `now`.
    ///
    /// Errors (never a silent fallback to `now`) when a given time key has several values
    /// or is not a date, or when both are given and name different seconds.
    pub fn fill_time_defaults(&mut self, now: Timestamp) -> Result<(), RequestError> {
        const CURRENT: KnownKey = KnownKey::constant(CURRENT_TIME);
        const EPOCH: KnownKey = KnownKey::constant(EPOCH_TIME);
        let mut memory = std::mem::take(&mut self.parsed_time);
        let mut given =
            |key: KnownKey, name: &'static str| -> Result<Option<Timestamp>, RequestError> {
                match self.get_known(key) {
                    None => Ok(None),
                    Some([one]) => memory
                        .parse(one)
                        .map(Some)
                        .map_err(|source| RequestError::TimeKey { name, source }),
                    Some(_) => Err(RequestError::TimeMultivalued { name }),
                }
            };
        let current = given(CURRENT, "aws:CurrentTime");
        let epoch = given(EPOCH, "aws:EpochTime");
        self.parsed_time = memory;
        let (current, epoch) = (current?, epoch?);
        if let (Some(c), Some(e)) = (current, epoch)
            && c.as_second() != e.as_second()
        {
            return Err(RequestError::TimesDisagree {
                current: c.to_string(),
                epoch: e.as_second(),
            });
        }
        let base = current.or(epoch).unwrap_or(now);
        // A slot refilled request after request often holds this very rendering already.
        if current.is_none() {
            let e = self.entry_known(CURRENT);
            if e.rendered != Some(base) {
                e.used = 0;
                write_iso8601_seconds(base, Context::push_into(e));
                e.rendered = Some(base);
            }
            e.used = 1;
        }
        if epoch.is_none() {
            let e = self.entry_known(EPOCH);
            if e.rendered != Some(base) {
                e.used = 0;
                write_epoch_seconds(base, Context::push_into(e));
                e.rendered = Some(base);
            }
            e.used = 1;
        }
        Ok(())
    }

    /// Iterate over `(lowercase key, values)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.entries[..self.len]
            .iter()
            .map(|e| (e.key.as_str(), &e.values[..e.used]))
    }
}

impl crate::condition::RequestValues for Context {
    fn values(&self, key_lower: &str) -> Option<&[String]> {
        self.get(key_lower)
    }

    fn known_values(&self, key: KnownKey) -> Option<&[String]> {
        self.get_known(key)
    }
}

impl VariableSource for Context {
    fn variable(&self, key_lower: &str) -> Option<&str> {
        single_value(self.get(key_lower))
    }

    fn known_variable(&self, key: KnownKey) -> Option<&str> {
        single_value(self.get_known(key))
    }
}

/// A key's value as a policy variable. Multivalued keys cannot be policy variables (IAM
/// User Guide, "IAM policy elements: Variables and tags"): they have no single value.
#[inline]
fn single_value(values: Option<&[String]>) -> Option<&str> {
    match values {
        Some([one]) => Some(one),
        _ => None,
    }
}

/// The last time rendered, and its text. Keyed by the whole time, not its second: two
/// times in the same `as_second` (which rounds towards zero) may render differently, as
/// `1969-12-31T23:59:59.5Z` and `1970-01-01T00:00:00Z` do.
type LastRendering = std::cell::RefCell<(Option<Timestamp>, String)>;

thread_local! {
    static LAST_ISO8601: LastRendering = const { std::cell::RefCell::new((None, String::new())) };
    static LAST_EPOCH: LastRendering = const { std::cell::RefCell::new((None, String::new())) };
}

/// Append `render(t)` to `out`. A batch gives every request the same "now", so the last
/// time's rendering is kept per thread (in `last`) instead of formatting the same time
/// again for every request.
fn write_second(
    last: &'static std::thread::LocalKey<LastRendering>,
    t: Timestamp,
    out: &mut String,
    render: fn(Timestamp) -> String,
) {
    last.with(|last| {
        let mut last = last.borrow_mut();
        if last.0 != Some(t) {
            *last = (Some(t), render(t));
        }
        out.push_str(&last.1);
    })
}

/// `2026-01-01T00:00:00Z` for `t`.
fn write_iso8601_seconds(t: Timestamp, out: &mut String) {
    write_second(&LAST_ISO8601, t, out, |t| {
        t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    });
}

/// `1767225600` for `t` (whole seconds since the Unix epoch).
fn write_epoch_seconds(t: Timestamp, out: &mut String) {
    write_second(&LAST_EPOCH, t, out, |t| t.as_second().to_string());
}

pub use crate::lang::principal::Caller;

/// One authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `service:Action`, e.g. `s3:GetObject`.
    pub action: String,
    /// The resource ARN, or `*` for actions that take no resource.
    pub resource: String,
    /// The request context.
    pub context: Context,
    /// The principal, for resource-based and trust policies (identity-based policies
    /// have no `Principal` element and ignore it).
    pub principal: Option<Caller>,
}

impl Default for Request {
    /// An empty request (no action, no resource), e.g. a buffer to parse into.
    fn default() -> Request {
        Request::new(String::new(), String::new())
    }
}

impl Request {
    /// A request with an empty context.
    pub fn new(action: impl Into<String>, resource: impl Into<String>) -> Request {
        Request {
            action: action.into(),
            resource: resource.into(),
            context: Context::new(),
            principal: None,
        }
    }

    /// Set the Cognito identity id (`cognito-identity.amazonaws.com:sub`), replacing any
    /// value the context has. For building requests in code; readers of user input use
    /// [`Request::set_identity`], which refuses a second source.
    pub fn with_identity(mut self, identity: &str) -> Request {
        self.context.set(COGNITO_SUB, vec![identity.to_string()]);
        self
    }

    /// The identity rule of every input (command line and request lines): the identity
    /// may be given as the identity or as the context key
    /// `cognito-identity.amazonaws.com:sub` (in any case), not both. Call after the context
    /// is filled.
    pub fn set_identity(&mut self, identity: &str) -> Result<(), RequestError> {
        if identity.is_empty() {
            return Err(RequestError::EmptyIdentity);
        }
        const SUB: KnownKey = KnownKey::constant(COGNITO_SUB);
        let found = self.context.position_known(COGNITO_SUB, Some(SUB));
        if found.is_some() {
            return Err(RequestError::IdentityTwice);
        }
        Context::push_into(self.context.entry_known(SUB)).push_str(identity);
        Ok(())
    }

    /// Check the shape of the request: a `service:action` name and an ARN (or `*`)
    /// resource.
    pub fn validate(&self) -> Result<(), RequestError> {
        if !is_action_name(&self.action) {
            return Err(self.invalid(true));
        }
        if self.resource != "*" && !is_arn(&self.resource) {
            return Err(self.invalid(false));
        }
        Ok(())
    }

    /// The error for a malformed action (or resource); out of line, as this runs for
    /// every decision and almost never fails.
    #[cold]
    fn invalid(&self, action: bool) -> RequestError {
        if action {
            RequestError::BadAction {
                action: self.action.clone(),
            }
        } else {
            RequestError::BadResource {
                resource: self.resource.clone(),
            }
        }
    }
}

/// `service:Name`: a non-empty service and name, no wildcard, no white space. One pass
/// over the bytes, eight at a time (this runs for every decision); a name with non-ASCII
/// bytes is then checked character by character for white space and controls.
fn is_action_name(action: &str) -> bool {
    let bytes = action.as_bytes();
    let n = bytes.len();
    if n < 8 {
        // Short names: one table load per byte.
        let Some(colon) = bytes.iter().position(|&b| b == b':') else {
            return false;
        };
        return colon > 0
            && colon + 1 < n
            && bytes.iter().all(|&b| ACTION_BYTE[usize::from(b)])
            && (action.is_ascii() || !has_space_or_control(action));
    }
    let mut colon = None;
    let mut bad = 0u64;
    let mut high = 0u64;
    let mut at = 0;
    loop {
        // Whole words, then the last eight bytes (overlapping bytes already seen: a colon
        // among them would have been found in the word before).
        let start = at.min(n - 8);
        let w = word_at(bytes, start);
        bad |= below(w, 0x21) | below(w ^ splat(0x7f), 1);
        bad |= below(w ^ splat(b'*'), 1) | below(w ^ splat(b'?'), 1);
        high |= w & HIGH;
        if colon.is_none() {
            let found = below(w ^ splat(b':'), 1);
            if found != 0 {
                colon = Some(start + (found.trailing_zeros() / 8) as usize);
            }
        }
        if start + 8 >= n {
            break;
        }
        at += 8;
    }
    // Bytes from 0x80 up are never flagged `bad`: they are checked as characters.
    let Some(colon) = colon else {
        return false;
    };
    colon > 0 && colon + 1 < n && bad == 0 && (high == 0 || !has_space_or_control(action))
}

/// Whether `text` holds a white-space or control character (out of line: only names with
/// non-ASCII bytes need it).
#[cold]
fn has_space_or_control(text: &str) -> bool {
    text.contains(|c: char| c.is_whitespace() || c.is_control())
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// `byte` in each of eight lanes.
#[inline]
const fn splat(byte: u8) -> u64 {
    ONES * byte as u64
}

/// Eight bytes of `bytes` from `at`, as one word.
#[inline]
fn word_at(bytes: &[u8], at: usize) -> u64 {
    let mut eight = [0u8; 8];
    eight.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(eight)
}

/// Nonzero when some byte of `w` is below `n` (at most 0x80); the lowest set high bit is
/// the first such byte (bytes past it may be flagged too).
#[inline]
const fn below(w: u64, n: u8) -> u64 {
    w.wrapping_sub(splat(n)) & !w & HIGH
}

/// The bytes an action name may hold: visible ASCII other than the wildcards, and the bytes
/// of non-ASCII characters (checked as characters after). One table load per byte: this
/// runs for every decision.
static ACTION_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] =
            matches!(b, 0x21..=0x7e | 0x80..=0xff) && b != b'*' as usize && b != b'?' as usize;
        b += 1;
    }
    table
};

/// `arn:` followed by at least five colon-separated components.
fn is_arn(resource: &str) -> bool {
    resource.starts_with("arn:")
        && resource.as_bytes()[4..]
            .iter()
            .filter(|&&b| b == b':')
            .nth(3)
            .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definitions `is_action_name` and `is_arn` must agree with, written plainly.
    fn action_model(action: &str) -> bool {
        let ok = |b: u8| matches!(b, 0x21..=0x7e | 0x80..=0xff) && b != b'*' && b != b'?';
        match action.find(':') {
            Some(colon) => {
                colon > 0
                    && colon + 1 < action.len()
                    && action.bytes().all(ok)
                    && !action.contains(|c: char| c.is_whitespace() || c.is_control())
            }
            None => false,
        }
    }

    fn arn_model(resource: &str) -> bool {
        resource.starts_with("arn:") && resource[4..].matches(':').count() >= 4
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(5000))]

        /// The request checks against a model written independently, on texts built from
        /// the bytes that matter (colons, wildcards, spaces, controls, DEL, non-ASCII).
        #[test]
        fn request_checks_agree_with_the_model(
            text in "(arn:)?[a:*? \\t\\x7f\\x00\\x20\\x21\\x7eé\\u{a0}\\u{2028}/-]{0,40}",
        ) {
            proptest::prop_assert_eq!(is_action_name(&text), action_model(&text), "{:?}", text);
            proptest::prop_assert_eq!(is_arn(&text), arn_model(&text), "{:?}", text);
        }
    }

    /// The rendering kept per thread is that of the same time, not of another time in
    /// the same (rounded) second.
    #[test]
    fn each_time_key_is_rendered_from_its_own_time() {
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        // The key AWS derives when only `given` is given the value `value`.
        let derived = |given: &str, value: &str, derived: &str| {
            let mut c = Context::new();
            c.add(given, value);
            c.fill_time_defaults(now).unwrap();
            c.get(derived).unwrap()[0].clone()
        };
        let current = |epoch| derived("aws:EpochTime", epoch, "aws:currenttime");
        assert_eq!(current("1969-12-31T23:59:59.5Z"), "1969-12-31T23:59:59Z");
        assert_eq!(current("0"), "1970-01-01T00:00:00Z");
        let epoch = |time| derived("aws:CurrentTime", time, "aws:epochtime");
        assert_eq!(epoch("2026-01-01T00:00:01Z"), "1767225601");
        assert_eq!(epoch("2026-01-01T00:00:01.5Z"), "1767225601");
    }

    #[test]
    fn keys_are_case_insensitive() {
        let mut c = Context::new();
        c.add("AWS:SourceIp", "10.0.0.1");
        assert_eq!(c.get("aws:sourceip"), Some(&["10.0.0.1".to_string()][..]));
        assert!(c.contains("aws:SOURCEIP"));
    }

    #[test]
    fn accessors_agree_in_any_case() {
        let mut c = Context::new();
        c.add("aws:SourceIp", "10.0.0.1");
        c.declare("aws:TagKeys");
        for key in ["aws:SourceIp", "aws:sourceip", "AWS:SOURCEIP"] {
            assert_eq!(c.get(key), Some(&["10.0.0.1".to_string()][..]), "{key}");
            assert!(c.contains(key) && c.has_key(key), "{key}");
        }
        // Present with no value: has_key, but absent to get and contains alike.
        assert!(c.has_key("AWS:TagKeys"));
        assert_eq!(c.get("AWS:TagKeys"), None);
        assert!(!c.contains("AWS:TagKeys"));
    }

    #[test]
    fn multivalued_keys_are_not_variables() {
        let mut c = Context::new();
        c.add("aws:TagKeys", "a");
        assert_eq!(c.variable("aws:tagkeys"), Some("a"));
        c.add("aws:TagKeys", "b");
        assert_eq!(c.variable("aws:tagkeys"), None);
    }

    /// Known keys (found by slot) and other keys (found by scan, or by the index past 16
    /// keys) answer alike in any case, across clears that reuse slots for other keys.
    #[test]
    fn known_and_other_keys_answer_alike() {
        let mut c = Context::new();
        let sets: [&[&str]; 3] = [
            &[
                "AWS:SecureTransport",
                "s3:prefix",
                "aws:SourceIp",
                "Custom:Key",
            ],
            &["s3:prefix", "aws:securetransport", "AWS:USERID"],
            &[
                "k00",
                "k01",
                "k02",
                "k03",
                "k04",
                "k05",
                "k06",
                "k07",
                "k08",
                "k09",
                "k10",
                "k11",
                "k12",
                "k13",
                "k14",
                "k15",
                "k16",
                "k17",
                "AWS:SourceIp",
                "aws:SourceVpc",
            ],
        ];
        for keys in sets {
            c.clear();
            for (i, key) in keys.iter().enumerate() {
                let slot = c.insert_new(key).expect("a new key");
                c.push_value_at(slot).push_str(&i.to_string());
                assert_eq!(c.insert_new(&key.to_ascii_uppercase()), None, "{key}");
            }
            assert_eq!(c.iter().count(), keys.len());
            for (i, key) in keys.iter().enumerate() {
                let want = Some(&[i.to_string()][..]);
                for asked in [
                    key.to_string(),
                    key.to_ascii_lowercase(),
                    key.to_ascii_uppercase(),
                ] {
                    assert_eq!(c.get(&asked), want, "{asked}");
                    if let Some(k) = KnownKey::of(&asked) {
                        assert_eq!(c.get_known(k), want, "{asked}");
                    }
                }
            }
            // A known key of an earlier round is absent now.
            for key in ["aws:SecureTransport", "aws:userid", "aws:SourceVpc"] {
                let present = keys.iter().any(|k| k.eq_ignore_ascii_case(key));
                assert_eq!(c.get(key).is_some(), present, "{key}");
                let k = KnownKey::of(key).expect("known");
                assert_eq!(c.get_known(k).is_some(), present, "{key}");
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// A context cleared and refilled round after round (its slots keep the keys of
        /// earlier rounds, in the case they were given, and the time renderings; it keeps
        /// the last time text it parsed) answers as a fresh context filled the same way,
        /// whichever way each key was written (a new key, `add`, `set`, `declare`,
        /// `get_or_set_one` by name or known key): the same answers, time defaults (and
        /// time-key errors), keys, values and known-key slots.
        #[test]
        fn a_refilled_context_answers_as_a_fresh_one(
            rounds in proptest::collection::vec(
                proptest::collection::vec((0usize..8, 0u8..3, 0u8..8), 0..10),
                1..6,
            ),
        ) {
            const POOL: [&str; 8] = [
                "aws:SourceIp",
                "aws:SecureTransport",
                "s3:prefix",
                "Custom:Key",
                "aws:CurrentTime",
                "aws:userid",
                "aws:EpochTime",
                COGNITO_SUB,
            ];
            // Values, some of them times (given time keys are parsed, and the last text
            // parsed is remembered), one not a time.
            const VALUES: [&str; 6] = [
                "1767225600",
                "2026-01-01T00:00:00Z",
                "x",
                "2026-01-01T00:00:01Z",
                "7",
                "2026-01-01",
            ];
            let spellings = |key: &str| {
                [key.to_string(), key.to_ascii_uppercase(), key.to_ascii_lowercase()]
            };
            let mut reused = Context::new();
            for round in rounds {
                reused.clear();
                let mut fresh = Context::new();
                for (i, &(k, case, op)) in round.iter().enumerate() {
                    let key = &spellings(POOL[k])[usize::from(case)];
                    if op == 3 {
                        // The time defaults, for one of three times (two in one second).
                        let now: Timestamp = [
                            "2026-01-01T00:00:00Z",
                            "2026-01-01T00:00:00.5Z",
                            "2027-06-01T12:00:00Z",
                        ][usize::from(case)]
                        .parse()
                        .unwrap();
                        let (a, b) = (reused.fill_time_defaults(now), fresh.fill_time_defaults(now));
                        proptest::prop_assert_eq!(
                            a.map_err(|e| e.to_string()),
                            b.map_err(|e| e.to_string())
                        );
                    } else if op < 2 {
                        let (a, b) = (reused.insert_new(key), fresh.insert_new(key));
                        proptest::prop_assert_eq!(a.is_some(), b.is_some(), "{}", key);
                        if let (Some(a), Some(b)) = (a, b) {
                            reused.push_value_at(a).push_str(VALUES[i % VALUES.len()]);
                            fresh.push_value_at(b).push_str(VALUES[i % VALUES.len()]);
                        }
                    } else if op == 2 {
                        reused.add(key, VALUES[i % VALUES.len()]);
                        fresh.add(key, VALUES[i % VALUES.len()]);
                    } else if op == 4 {
                        // No value, one, or two (one at the end of the list).
                        let values: Vec<String> = VALUES
                            .iter()
                            .skip(i % VALUES.len())
                            .take(usize::from(case))
                            .map(|v| v.to_string())
                            .collect();
                        reused.set(key, values.clone());
                        fresh.set(key, values);
                    } else if op == 5 {
                        reused.declare(key);
                        fresh.declare(key);
                    } else {
                        let value = VALUES[i % VALUES.len()];
                        let (a, b) = match KnownKey::of(key).filter(|_| op == 7) {
                            Some(k) => (
                                reused.get_or_set_one_known(k, value).map(<[String]>::to_vec),
                                fresh.get_or_set_one_known(k, value).map(<[String]>::to_vec),
                            ),
                            None => (
                                reused.get_or_set_one(key, value).map(<[String]>::to_vec),
                                fresh.get_or_set_one(key, value).map(<[String]>::to_vec),
                            ),
                        };
                        proptest::prop_assert_eq!(a, b, "{}", key);
                    }
                }
                proptest::prop_assert_eq!(&reused, &fresh);
                for key in POOL {
                    for asked in spellings(key) {
                        proptest::prop_assert_eq!(reused.get(&asked), fresh.get(&asked));
                        if let Some(k) = KnownKey::of(&asked) {
                            proptest::prop_assert_eq!(reused.get_known(k), fresh.get_known(k));
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn cleared_context_reuses_its_storage() {
        let mut c = Context::new();
        c.add("a:x", "1");
        c.add("a:x", "2");
        c.add("b:y", "3");
        c.clear();
        assert_eq!(c.get("a:x"), None);
        assert_eq!(c.iter().count(), 0);
        c.add("B:Y", "4");
        assert_eq!(c.get("b:y"), Some(&["4".to_string()][..]));
        assert_eq!(c.get("a:x"), None);
        let mut fresh = Context::new();
        fresh.add("b:y", "4");
        assert_eq!(c, fresh);
    }

    #[test]
    fn empty_value_list_is_absent() {
        let mut c = Context::new();
        c.set("aws:TagKeys", vec![]);
        assert_eq!(c.get("aws:tagkeys"), None);
    }

    #[test]
    fn time_defaults_agree() {
        let now: Timestamp = "2026-01-02T03:04:05Z".parse().unwrap();
        let mut c = Context::new();
        c.fill_time_defaults(now).unwrap();
        assert_eq!(c.get(CURRENT_TIME).unwrap()[0], "2026-01-02T03:04:05Z");
        assert_eq!(c.get(EPOCH_TIME).unwrap()[0], "1767323045");

        let mut c = Context::new();
        c.add("aws:EpochTime", "0");
        c.fill_time_defaults(now).unwrap();
        assert_eq!(c.get(CURRENT_TIME).unwrap()[0], "1970-01-01T00:00:00Z");

        let mut c = Context::new();
        c.add("aws:EpochTime", "1900000000.5");
        assert_eq!(
            c.fill_time_defaults(now).unwrap_err().to_string(),
            "aws:EpochTime: \"1900000000.5\" is not a date (ISO 8601 such as 2020-01-01T00:00:00Z, or epoch seconds)"
        );
        let mut c = Context::new();
        c.add("aws:EpochTime", "1900000000");
        c.add("aws:CurrentTime", "2026-01-01T00:00:00Z");
        assert_eq!(
            c.fill_time_defaults(now).unwrap_err().to_string(),
            "aws:CurrentTime (2026-01-01T00:00:00Z) and aws:EpochTime (1900000000) name different times"
        );
        let mut c = Context::new();
        c.add("aws:EpochTime", "1767225600");
        c.add("aws:CurrentTime", "2026-01-01T00:00:00.250Z");
        assert!(c.fill_time_defaults(now).is_ok(), "same second");
    }

    #[test]
    fn identities_and_actions_that_no_request_has_are_refused() {
        let mut r = Request::new("s3:GetObject", "*");
        assert_eq!(r.set_identity(""), Err(RequestError::EmptyIdentity));
        for action in [
            "s3:Get\u{0}Object",
            "s3:Get\u{7f}Object",
            "s3:Get\u{85}Object",
        ] {
            assert!(
                matches!(
                    Request::new(action, "*").validate(),
                    Err(RequestError::BadAction { .. })
                ),
                "{action:?}"
            );
        }
    }

    #[test]
    fn request_validation() {
        assert!(
            Request::new("s3:GetObject", "arn:aws:s3:::b/k")
                .validate()
                .is_ok()
        );
        assert!(Request::new("s3:GetObject", "*").validate().is_ok());
        assert_eq!(
            Request::new("s3:Get*", "*")
                .validate()
                .unwrap_err()
                .to_string(),
            "action \"s3:Get*\" is not of the form service:ActionName (without wildcards)"
        );
        assert_eq!(
            Request::new("s3:GetObject", "bucket/key")
                .validate()
                .unwrap_err()
                .to_string(),
            "resource \"bucket/key\" is not an ARN (arn:partition:service:region:account:resource) or '*'"
        );
    }

    /// Past the scan limit the index answers, in any case, through growth, `set`, `clear`
    /// and reuse, exactly as the scan did.
    #[test]
    fn many_keys_go_through_the_index() {
        let mut c = Context::new();
        for round in 0..2 {
            for i in 0..1000 {
                c.add(&format!("Svc:Key{i}"), format!("{round}-{i}"));
            }
            c.set("svc:key5", vec!["a".into(), "b".into()]);
            c.declare("svc:EMPTY");
            assert_eq!(c.iter().count(), 1001);
            for i in (0..1000).filter(|i| *i != 5) {
                let want = [format!("{round}-{i}")];
                assert_eq!(c.get(&format!("SVC:KEY{i}")), Some(&want[..]), "{i}");
                assert_eq!(c.get(&format!("svc:key{i}")), Some(&want[..]), "{i}");
            }
            assert_eq!(c.get("svc:key5").map(<[String]>::len), Some(2));
            assert!(c.has_key("svc:empty") && !c.contains("svc:empty"));
            assert!(!c.has_key("svc:key1000"));
            let mut scanned = Context::new();
            for (k, v) in c.iter() {
                scanned.set(k, v.to_vec());
            }
            assert_eq!(c, scanned);
            c.clear();
            assert!(!c.has_key("svc:key1"));
            c.add("svc:key1", "x");
            assert_eq!(c.get("svc:KEY1"), Some(&["x".to_string()][..]));
            c.clear();
        }
    }
}
