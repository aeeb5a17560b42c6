//! The Cognito sessions CloudTrail data events are joined with, learned in the pass that
//! maps the events.
//!
//! A data event gets its identity from the `AssumeRoleWithWebIdentity` event that issued
//! its access key, which may sit in any file, read before or after it. Indexing every
//! file's sessions before mapping any event is exact, but it reads (decompresses and
//! parses) every file twice. [`Sessions`] lets the readers learn the sessions as they go
//! and still give exactly the answer of the two passes:
//!
//! - Events are mapped with the sessions known so far, and their rows handed on at once.
//!   An event that met an access key not (yet) known is set aside by its reader
//!   ([`crate::inputs::Learner`]) and mapped once every reader has read all of its files
//!   ([`Sessions::first_pass_done`], [`Sessions::wait_for_readers`]).
//! - An answer once given cannot change, with one exception: a key known as one session
//!   becomes a conflict when a later record issues it to another (or a session record that
//!   cannot be read names it). Conflicts never go away, so the run records how many there
//!   were when the first file handed on began ([`Sessions::handed_on`]); if there are more
//!   at the end, an answer given early may be wrong, and [`Sessions::settle`] says the run
//!   must be made again with the sessions indexed first (which real logs, where a key is
//!   issued once, never need).

use std::cell::{Cell, OnceCell, RefCell};
use std::sync::{Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard};
use std::time::Duration;

use policy_sim::logs::Unmapped;
use policy_sim::logs::cloudtrail::{
    IdentityIndex, KeyLookup, Record, SessionLookup, WebIdentitySession,
};

use crate::error::AuditError;
use crate::tally::Map;

/// The sessions of a run's CloudTrail inputs: learned while reading, or indexed before.
#[derive(Debug)]
pub struct Sessions {
    index: RwLock<IdentityIndex>,
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug)]
struct State {
    /// Still learning: `false` once every session is known (indexed before the reading, or
    /// settled after it).
    learning: bool,
    /// Readers taking part in the first pass.
    readers: usize,
    /// Readers that have read all of their own files (or stopped).
    done: usize,
    /// A reader stopped before reading all of its files.
    failed: bool,
    /// The fewest conflicts the index had when a file handed on began.
    conflicts_at_first_use: Option<usize>,
}

/// What [`Sessions::settle`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// Every row handed on has the answer the two passes give.
    Exact,
    /// A key used early became a conflict later: make the run again with
    /// [`Sessions::indexed`].
    Again,
}

impl Sessions {
    /// Sessions learned by `readers` readers as they read.
    pub fn learning(readers: usize) -> Sessions {
        Sessions::new(IdentityIndex::new(), true, readers)
    }

    /// Sessions indexed before the reading: nothing is learned, deferred or settled.
    pub fn indexed(index: IdentityIndex) -> Sessions {
        Sessions::new(index, false, 0)
    }

    fn new(index: IdentityIndex, learning: bool, readers: usize) -> Sessions {
        Sessions {
            index: RwLock::new(index),
            state: Mutex::new(State {
                learning,
                readers,
                done: 0,
                failed: false,
                conflicts_at_first_use: None,
            }),
            changed: Condvar::new(),
        }
    }

    fn state(&self) -> Result<MutexGuard<'_, State>, AuditError> {
        self.state.lock().map_err(|_| poisoned())
    }

    /// Whether the sessions are still being learned (a reader must then learn them, defer
    /// and hand on files as this module says).
    pub fn is_learning(&self) -> Result<bool, AuditError> {
        Ok(self.state()?.learning)
    }

    /// The index as it is now. Hold it only as long as a lookup needs: a reader learning
    /// sessions waits for it.
    pub fn index(&self) -> Result<RwLockReadGuard<'_, IdentityIndex>, AuditError> {
        self.index.read().map_err(|_| poisoned())
    }

    /// The number of access keys known.
    pub fn len(&self) -> Result<usize, AuditError> {
        Ok(self.index()?.len())
    }

    /// Whether no access key is known.
    pub fn is_empty(&self) -> Result<bool, AuditError> {
        Ok(self.len()? == 0)
    }

    /// Learn the session `record` issues, if any ([`IdentityIndex::add`]).
    pub fn add(&self, record: &Record<'_>) -> Result<Result<bool, Unmapped>, AuditError> {
        Ok(self.index.write().map_err(|_| poisoned())?.add(record))
    }

    /// Learn from a session record that cannot be read ([`IdentityIndex::add_unreadable`]).
    pub fn add_unreadable(&self, text: &str) -> Result<(), AuditError> {
        self.index
            .write()
            .map_err(|_| poisoned())?
            .add_unreadable(text);
        Ok(())
    }

    /// The number of conflicts now: give it to [`Sessions::handed_on`] when the file that
    /// began then is handed on.
    pub fn conflicts(&self) -> Result<usize, AuditError> {
        Ok(self.index()?.conflicts())
    }

    /// A file whose mapping began when the index had `conflicts` conflicts
    /// ([`Sessions::conflicts`]) is handed on: its answers are final unless a key becomes
    /// a conflict later.
    pub fn handed_on(&self, conflicts: usize) -> Result<(), AuditError> {
        let mut state = self.state()?;
        let first = state.conflicts_at_first_use.get_or_insert(conflicts);
        *first = (*first).min(conflicts);
        Ok(())
    }

    /// A reader has read all of its own files (`failed`: it stopped before).
    pub fn first_pass_done(&self, failed: bool) -> Result<(), AuditError> {
        let mut state = self.state()?;
        state.done += 1;
        state.failed |= failed;
        self.changed.notify_all();
        Ok(())
    }

    /// Wait until every reader has read its own files: `true`; `false` when one of them
    /// failed, or `stop` says this reader's consumer is gone (checked every 50 ms).
    pub fn wait_for_readers(&self, stop: &dyn Fn() -> bool) -> Result<bool, AuditError> {
        let mut state = self.state()?;
        loop {
            if state.failed {
                return Ok(false);
            }
            if state.done >= state.readers {
                return Ok(true);
            }
            if stop() {
                return Ok(false);
            }
            state = self
                .changed
                .wait_timeout(state, Duration::from_millis(50))
                .map_err(|_| poisoned())?
                .0;
        }
    }

    /// After the run has read everything: whether its rows are exact, or the run must be
    /// made again with the sessions indexed first. An error if a reader did not finish
    /// its files (the run is then incomplete and must not report). Sessions indexed before
    /// are always exact.
    pub fn settle(&self) -> Result<Settled, AuditError> {
        let mut state = self.state()?;
        if !state.learning {
            return Ok(Settled::Exact);
        }
        if state.failed || state.done < state.readers {
            return Err(AuditError::Reader(
                "the reading stopped before every file was read".to_string(),
            ));
        }
        state.learning = false;
        let now = self.index()?.conflicts();
        Ok(match state.conflicts_at_first_use {
            Some(first) if now > first => Settled::Again,
            _ => Settled::Exact,
        })
    }
}

fn poisoned() -> AuditError {
    AuditError::Reader("a reader thread failed".to_string())
}

/// A reader's own copy of the answers the shared index gave it for keys it knew (a
/// session, or a conflict), so that the reader does not take the index's lock for a key
/// again. An answer kept may become stale in one way only: a key known as a session
/// becomes a conflict; [`Sessions::settle`] catches that as it catches any conflict found
/// after a file began (the answers are only used while the sessions are learned).
///
/// Memory: one entry a key asked for, and one copy of each distinct session.
#[derive(Debug, Default)]
pub struct Answers {
    /// Each key's answer: the session's position in `sessions`, or `None` for a conflict.
    keys: Map<Box<str>, Option<usize>>,
    sessions: Vec<WebIdentitySession>,
    /// Each session's position, by its parts.
    numbers: Map<(String, String, String), usize>,
}

impl Answers {
    /// Keep what `index` answers for `key`, when it knows it.
    fn learn(&mut self, index: &IdentityIndex, key: &str) {
        let answer = match index.lookup(key) {
            KeyLookup::Unknown => return,
            KeyLookup::Conflict => None,
            KeyLookup::Session(s) => {
                let parts = (s.identity_id.clone(), s.role_arn.clone(), s.pool_id.clone());
                let next = self.sessions.len();
                let at = *self.numbers.entry(parts).or_insert(next);
                if at == next {
                    self.sessions.push(s.clone());
                }
                Some(at)
            }
        };
        self.keys.insert(key.into(), answer);
    }
}

/// Lookups in a reader's [`Answers`] first, and in the shared index of [`Sessions`] for a
/// key it has no answer for: the index's read lock is taken at the first such key and held
/// until [`Asking::done`]; [`Asked::keep`] keeps the index's answers in [`Answers`].
///
/// Cost: one hash lookup a key; the lock and a copy of the key only for keys not answered
/// before (a reader asks the index once for each key it comes to know).
pub struct Asking<'n, 's> {
    answers: &'n Answers,
    sessions: &'s Sessions,
    /// The index, read-locked at the first key not answered (`None`: the lock was poisoned).
    index: OnceCell<Option<RwLockReadGuard<'s, IdentityIndex>>>,
    /// The keys the index was asked for.
    asked: RefCell<Vec<Box<str>>>,
    /// Whether a key looked up was known nowhere.
    unknown: Cell<bool>,
}

impl<'n, 's> Asking<'n, 's> {
    /// Look keys up in `answers`, then in `sessions`.
    pub fn new(answers: &'n Answers, sessions: &'s Sessions) -> Asking<'n, 's> {
        Asking {
            answers,
            sessions,
            index: OnceCell::new(),
            asked: RefCell::new(Vec::new()),
            unknown: Cell::new(false),
        }
    }

    /// The shared index, read-locked the first time it is needed and held from then on
    /// (`None`: the lock was poisoned).
    fn shared(&self) -> Option<&IdentityIndex> {
        self.index
            .get_or_init(|| self.sessions.index.read().ok())
            .as_deref()
    }

    /// What was asked of the index: keep it with [`Asked::keep`] (which releases the lock).
    pub fn done(self) -> Asked<'s> {
        Asked {
            index: self.index.into_inner(),
            asked: self.asked.into_inner(),
            unknown: self.unknown.get(),
        }
    }
}

/// What an [`Asking`] asked of the shared index, the index still read-locked if it was
/// asked.
pub struct Asked<'s> {
    index: Option<Option<RwLockReadGuard<'s, IdentityIndex>>>,
    asked: Vec<Box<str>>,
    unknown: bool,
}

impl Asked<'_> {
    /// Keep in `answers` (those the [`Asking`] looked in) what the index answered, release
    /// its lock, and say whether a key looked up was not known then (its event must wait
    /// until every session is known).
    pub fn keep(self, answers: &mut Answers) -> Result<bool, AuditError> {
        match self.index {
            None => {}
            Some(None) => return Err(poisoned()),
            Some(Some(index)) => {
                for key in self.asked {
                    answers.learn(&index, &key);
                }
            }
        }
        Ok(self.unknown)
    }
}

impl SessionLookup for Asking<'_, '_> {
    /// A role is known as a Cognito role once a session of it is indexed, and stays one:
    /// a yes is final, a no may not be (a later file may index such a session), so it
    /// marks the event asked about as one to map again once every session is known.
    fn cognito_role(&self, role_arn: &str) -> bool {
        let known = self.shared().is_some_and(|i| i.is_cognito_role(role_arn));
        if !known {
            self.unknown.set(true);
        }
        known
    }

    fn lookup(&self, access_key_id: &str) -> KeyLookup<'_> {
        match self.answers.keys.get(access_key_id) {
            Some(None) => return KeyLookup::Conflict,
            Some(Some(at)) => {
                if let Some(s) = self.answers.sessions.get(*at) {
                    return KeyLookup::Session(s);
                }
                // Every position kept is in `sessions`; should one not be, ask the index.
            }
            None => {}
        }
        // A poisoned lock: unknown here, and an error from `Asked::keep`.
        let found = self
            .shared()
            .map_or(KeyLookup::Unknown, |i| i.lookup(access_key_id));
        if found == KeyLookup::Unknown {
            self.unknown.set(true);
        } else {
            self.asked.borrow_mut().push(access_key_id.into());
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Cognito session record issuing `key` to `identity`.
    fn session(key: &str, identity: &str) -> String {
        format!(
            r#"{{"eventSource":"sts.amazonaws.com","eventName":"AssumeRoleWithWebIdentity",
            "requestParameters":{{"roleArn":"arn:aws:iam::111122223333:role/r"}},
            "responseElements":{{"subjectFromWebIdentityToken":"{identity}",
            "audience":"us-east-1:pool","provider":"cognito-identity.amazonaws.com",
            "credentials":{{"accessKeyId":"{key}"}}}}}}"#
        )
    }

    fn add(sessions: &Sessions, key: &str, identity: &str) {
        let text = session(key, identity);
        let record = Record::parse(&text).unwrap();
        assert_eq!(sessions.add(&record).unwrap(), Ok(true));
    }

    #[test]
    fn a_key_that_becomes_a_conflict_after_a_file_was_handed_on_asks_for_another_run() {
        let sessions = Sessions::learning(1);
        add(&sessions, "K1", "us-east-1:a");
        sessions.handed_on(sessions.conflicts().unwrap()).unwrap();
        add(&sessions, "K1", "us-east-1:b");
        sessions.first_pass_done(false).unwrap();
        assert_eq!(sessions.settle().unwrap(), Settled::Again);
        // Settled once: no longer learning, and exact from then on.
        assert!(!sessions.is_learning().unwrap());
        assert_eq!(sessions.settle().unwrap(), Settled::Exact);
    }

    #[test]
    fn conflicts_known_before_a_file_began_change_nothing() {
        let sessions = Sessions::learning(1);
        add(&sessions, "K1", "us-east-1:a");
        add(&sessions, "K1", "us-east-1:b");
        // The file began with the conflict known: its events saw it.
        sessions.handed_on(sessions.conflicts().unwrap()).unwrap();
        // The same session again, a new one: no new conflict.
        add(&sessions, "K1", "us-east-1:a");
        add(&sessions, "K2", "us-east-1:a");
        sessions.first_pass_done(false).unwrap();
        assert_eq!(sessions.settle().unwrap(), Settled::Exact);
        // Nothing handed on early: conflicts found later are exact too.
        let late = Sessions::learning(1);
        add(&late, "K1", "us-east-1:a");
        add(&late, "K1", "us-east-1:b");
        late.first_pass_done(false).unwrap();
        assert_eq!(late.settle().unwrap(), Settled::Exact);
    }

    #[test]
    fn a_handed_on_file_is_judged_by_the_conflicts_when_it_began() {
        // Began with none; another reader made one before it was handed on.
        let sessions = Sessions::learning(2);
        let began = sessions.conflicts().unwrap();
        add(&sessions, "K1", "us-east-1:a");
        add(&sessions, "K1", "us-east-1:b");
        sessions.handed_on(sessions.conflicts().unwrap()).unwrap();
        sessions.handed_on(began).unwrap();
        sessions.first_pass_done(false).unwrap();
        sessions.first_pass_done(false).unwrap();
        assert_eq!(sessions.settle().unwrap(), Settled::Again);
    }

    #[test]
    fn an_unfinished_reading_is_an_error_not_a_result() {
        let sessions = Sessions::learning(2);
        sessions.first_pass_done(false).unwrap();
        assert!(sessions.settle().is_err());
        let failed = Sessions::learning(1);
        failed.first_pass_done(true).unwrap();
        assert!(failed.settle().is_err());
        // Indexed before: nothing to settle.
        assert_eq!(
            Sessions::indexed(IdentityIndex::new()).settle().unwrap(),
            Settled::Exact
        );
    }

    #[test]
    fn readers_wait_for_each_other_unless_one_failed_or_their_consumer_left() {
        let sessions = Sessions::learning(2);
        assert!(!sessions.wait_for_readers(&|| true).unwrap());
        std::thread::scope(|scope| {
            let waiting = scope.spawn(|| sessions.wait_for_readers(&|| false).unwrap());
            sessions.first_pass_done(false).unwrap();
            sessions.first_pass_done(false).unwrap();
            assert!(waiting.join().unwrap());
        });
        let failed = Sessions::learning(2);
        failed.first_pass_done(true).unwrap();
        assert!(!failed.wait_for_readers(&|| false).unwrap());
    }

    #[test]
    fn a_reader_keeps_the_answers_it_was_given_for_keys_known() {
        let sessions = Sessions::learning(1);
        add(&sessions, "K1", "us-east-1:a");
        add(&sessions, "K2", "us-east-1:a");
        add(&sessions, "K3", "us-east-1:a");
        add(&sessions, "K3", "us-east-1:b");
        let mut answers = Answers::default();
        let keys = ["K1", "K2", "K3", "K9"];
        let asking = Asking::new(&answers, &sessions);
        for key in keys {
            let found = asking.lookup(key);
            assert_eq!(found, sessions.index().unwrap().lookup(key), "{key}");
        }
        // K9 is known nowhere: its event must wait.
        assert!(asking.done().keep(&mut answers).unwrap());
        assert_eq!(answers.keys.len(), 3);
        // One copy of a session shared by two keys.
        assert_eq!(answers.sessions.len(), 1);
        // Asked again, the known keys are answered alike without the index.
        let index = sessions.index().unwrap();
        let asking = Asking::new(&answers, &sessions);
        for key in ["K1", "K2", "K3"] {
            assert_eq!(asking.lookup(key), index.lookup(key), "{key}");
        }
        assert!(asking.index.get().is_none(), "the index was not asked");
        drop(index);
        assert!(!asking.done().keep(&mut answers).unwrap());
    }

    #[test]
    fn a_key_unknown_at_first_is_asked_again_once_known() {
        let sessions = Sessions::learning(1);
        let mut answers = Answers::default();
        let asking = Asking::new(&answers, &sessions);
        assert_eq!(asking.lookup("K1"), KeyLookup::Unknown);
        assert!(asking.done().keep(&mut answers).unwrap());
        add(&sessions, "K1", "us-east-1:a");
        let asking = Asking::new(&answers, &sessions);
        assert!(
            matches!(asking.lookup("K1"), KeyLookup::Session(s) if s.identity_id == "us-east-1:a")
        );
        assert!(!asking.done().keep(&mut answers).unwrap());
    }

    #[test]
    fn a_poisoned_index_is_an_error_not_an_unknown_key() {
        let sessions = Sessions::learning(1);
        let _ = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let _guard = sessions.index.write().unwrap();
                    panic!("a reader failed while it held the index");
                })
                .join()
        });
        let mut answers = Answers::default();
        let asking = Asking::new(&answers, &sessions);
        assert_eq!(asking.lookup("K1"), KeyLookup::Unknown);
        assert!(asking.done().keep(&mut answers).is_err());
    }
}
