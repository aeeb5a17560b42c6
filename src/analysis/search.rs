//! The automata searches over [`Glob`]s, shared by both analyses.
//!
//! - [`search`], behind `prove isolation`: a breadth-first walk of the product of byte
//!   automata, looking for a resource string `r` that the attacker's allowed pattern (with
//!   the identity slot read as attacker `a`), the victim's area (slot read as victim `b`)
//!   and every exclusion constraint accept together.
//! - [`search_string`], behind no-new-access and the action questions of
//!   [`crate::analysis::actions`]: a shortest string that some globs accept and others do
//!   not.
//!
//! - Globs come from [`crate::analysis::translate`], exact with respect to the evaluator:
//!   `*` and `?` keep to their ARN component (a byte [`crate::analysis::glob::Class`]),
//!   `?` is exactly one UTF-8 character, the identity slot a run the identity format's
//!   DFA accepts.
//! - The alphabet is symbolic: every byte that a glob mentions (its literals, and the bytes
//!   its wildcards leave out, such as `:`), plus one representative of each byte class the
//!   identity DFA distinguishes. Any real witness maps onto it.
//! - `a ≠ b` is tracked where it can be: two slots that start at the same byte read the
//!   same text, so they differ exactly when they end apart ("diverged"). Slots that start
//!   at different places ("unaligned") may or may not hold equal identities: such a
//!   witness is only a candidate, to be made concrete and checked by the evaluator.

use std::collections::{HashMap, VecDeque};

use regex_automata::util::primitives::StateID;

use crate::analysis::glob::{
    Elem, Glob, SlotMoves, accepts, any_char_step, closure as set_closure, closure_with, code,
    single, step as set_step, without_slot_positions,
};
use crate::analysis::identity::IdentityFormat;

/// A position in a glob: element index, and a sub-state (bytes read by `?`, or for the
/// slot: 0 before, 1 entered, 2 entered and at least one byte read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Pos {
    idx: u32,
    k: u8,
}

/// Where an identity span starts and ends in the witness (byte offsets).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

/// A resource string that satisfies every constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witness {
    /// The resource bytes.
    pub resource: Vec<u8>,
    /// The attacker's identity inside it (absent when the allowed pattern has no slot).
    pub attacker: Option<Span>,
    /// The victim's identity inside it.
    pub victim: Span,
    /// True when the two spans start together and end apart: the identities differ.
    pub definitely_distinct: bool,
}

/// The outcome of one search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchResult {
    /// No resource satisfies the constraints with distinct identities.
    Empty,
    /// Witnesses, best first (definitely distinct ones first).
    Found(Vec<Witness>),
    /// The search was cut off at the state limit.
    TooLarge,
}

/// What to search for.
pub struct Problem<'a> {
    /// The attacker's allowed pattern, or `None` when the statement allows every
    /// resource not excluded (e.g. `NotResource`), so the attacker is free.
    pub allow: Option<&'a Glob>,
    /// The victim's area (with its slot).
    pub area: &'a Glob,
    /// Patterns the resource must not match (exact exclusions).
    pub must_not: &'a [Glob],
    /// Groups of patterns: the resource must match at least one pattern of each group.
    pub must_match_any: &'a [Vec<Glob>],
    /// The identity format.
    pub format: &'a IdentityFormat,
}

const A_IN: u16 = 1;
const A_DONE: u16 = 2;
const B_IN: u16 = 4;
const B_DONE: u16 = 8;
const SAME: u16 = 16;
const DIV: u16 = 32;
const EQ: u16 = 64;
// Events of the current phase (between two bytes).
const PA_S: u16 = 128;
const PB_S: u16 = 256;
const PA_E: u16 = 512;
const PB_E: u16 = 1024;
const PHASE: u16 = PA_S | PB_S | PA_E | PB_E;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct State {
    a: Pos,
    b: Pos,
    adfa: StateID,
    bdfa: StateID,
    flags: u16,
    /// Position sets of the exclusion globs, then of every must-match glob.
    sets: Vec<Vec<u64>>,
}

struct Node {
    state: State,
    parent: usize,
    byte: u8,
    depth: usize,
    a_span: (Option<usize>, Option<usize>),
    b_span: (Option<usize>, Option<usize>),
}

/// States explored before giving up.
pub const STATE_LIMIT: usize = 400_000;

/// Run the search.
pub fn search(p: &Problem<'_>) -> SearchResult {
    let allow_len = p.allow.map_or(0, |g| g.0.len()) as u32;
    let area_len = p.area.0.len() as u32;
    let extra: Vec<&Glob> = p
        .must_not
        .iter()
        .chain(p.must_match_any.iter().flatten())
        .collect();
    let alphabet = alphabet(p, &extra);
    let start_sets: Vec<Vec<u64>> = extra
        .iter()
        .map(|g| set_closure(g, &single(code(0, 0))))
        .collect();
    let start = State {
        a: Pos { idx: 0, k: 0 },
        b: Pos { idx: 0, k: 0 },
        adfa: p.format.start(),
        bdfa: p.format.start(),
        flags: 0,
        sets: start_sets,
    };
    let mut nodes: Vec<Node> = Vec::new();
    let mut seen: HashMap<State, ()> = HashMap::new();
    let mut queue = VecDeque::new();
    for (s, ev) in closure(p, start, 0) {
        if seen.insert(s.clone(), ()).is_none() {
            nodes.push(Node {
                state: s,
                parent: usize::MAX,
                byte: 0,
                depth: 0,
                a_span: ev.0,
                b_span: ev.1,
            });
            queue.push_back(nodes.len() - 1);
        }
    }
    let mut found: Vec<Witness> = Vec::new();
    while let Some(i) = queue.pop_front() {
        if let Some(w) = accepted(p, &nodes, i, allow_len, area_len, &extra) {
            let definite = w.definitely_distinct;
            found.push(w);
            if definite || found.len() >= 16 {
                break;
            }
        }
        if nodes.len() > STATE_LIMIT {
            return if found.is_empty() {
                SearchResult::TooLarge
            } else {
                SearchResult::Found(sorted(found))
            };
        }
        let (state, depth, a_span, b_span) = {
            let n = &nodes[i];
            (n.state.clone(), n.depth, n.a_span, n.b_span)
        };
        for &byte in &alphabet {
            for next in step(p, &state, byte, &extra) {
                for (s, ev) in closure(p, next, depth + 1) {
                    if seen.contains_key(&s) {
                        continue;
                    }
                    seen.insert(s.clone(), ());
                    nodes.push(Node {
                        state: s,
                        parent: i,
                        byte,
                        depth: depth + 1,
                        a_span: (a_span.0.or(ev.0.0), a_span.1.or(ev.0.1)),
                        b_span: (b_span.0.or(ev.1.0), b_span.1.or(ev.1.1)),
                    });
                    queue.push_back(nodes.len() - 1);
                }
            }
        }
    }
    if found.is_empty() {
        SearchResult::Empty
    } else {
        SearchResult::Found(sorted(found))
    }
}

fn sorted(mut w: Vec<Witness>) -> Vec<Witness> {
    w.sort_by_key(|w| !w.definitely_distinct);
    w
}

fn alphabet(p: &Problem<'_>, extra: &[&Glob]) -> Vec<u8> {
    let globs: Vec<&Glob> = p
        .allow
        .into_iter()
        .chain([p.area])
        .chain(extra.iter().copied())
        .collect();
    identity_alphabet(&globs, p.format)
}

/// The symbolic alphabet of a search over `globs` whose slots read identities of
/// `format`: every byte a glob mentions, one byte of each of the format's byte classes
/// that no glob mentions (every other byte of the class behaves the same everywhere), and
/// a whole non-ASCII character; readable bytes first.
fn identity_alphabet(globs: &[&Glob], format: &IdentityFormat) -> Vec<u8> {
    let mut literal = [false; 256];
    for g in globs {
        for b in g.mentioned_bytes() {
            literal[b as usize] = true;
        }
    }
    let mut out: Vec<u8> = (0..=255u8).filter(|b| literal[*b as usize]).collect();
    // Plus, for each byte class of the identity format, one byte no pattern mentions
    // (printable ASCII preferred): every other such byte behaves the same everywhere.
    let mut rep: std::collections::BTreeMap<u8, u8> = std::collections::BTreeMap::new();
    // Readable witnesses: lowercase letters, then digits, then other printable bytes.
    let rank = |x: u8| match x {
        b'a'..=b'z' => 0,
        b'0'..=b'9' => 1,
        0x21..=0x7e => 2,
        _ => 3,
    };
    for b in 0..=255u8 {
        if literal[b as usize] {
            continue;
        }
        let class = format.byte_class(b);
        match rep.get(&class) {
            Some(&old) if rank(old) <= rank(b) => {}
            _ => {
                rep.insert(class, b);
            }
        }
    }
    out.extend(rep.into_values());
    // A whole non-ASCII character (`é`), so that `?` can also stand for one.
    out.extend([0xc3, 0xa9]);
    out.sort_unstable();
    out.dedup();
    out.sort_by_key(|&b| rank(b));
    out
}

type Events = (
    (Option<usize>, Option<usize>),
    (Option<usize>, Option<usize>),
);

/// Epsilon moves of both tracked globs, with slot events recorded at byte offset `at`.
fn closure(p: &Problem<'_>, start: State, at: usize) -> Vec<(State, Events)> {
    let mut out: Vec<(State, Events)> = Vec::new();
    let mut stack = vec![(start, ((None, None), (None, None)))];
    let mut seen: Vec<State> = Vec::new();
    while let Some((s, ev)) = stack.pop() {
        if seen.contains(&s) {
            continue;
        }
        seen.push(s.clone());
        // Attacker glob moves.
        if let Some(g) = p.allow {
            for (pos, dfa, event) in epsilon(g, s.a, s.adfa, p.format) {
                let mut n = s.clone();
                n.a = pos;
                n.adfa = dfa;
                let mut e = ev;
                slot_event(&mut n.flags, &mut e.0, event, at, ATTACKER);
                stack.push((n, e));
            }
        }
        for (pos, dfa, event) in epsilon(p.area, s.b, s.bdfa, p.format) {
            let mut n = s.clone();
            n.b = pos;
            n.bdfa = dfa;
            let mut e = ev;
            slot_event(&mut n.flags, &mut e.1, event, at, VICTIM);
            stack.push((n, e));
        }
        out.push((s, ev));
    }
    out
}

/// The flags of one tracked glob's slot: inside, done, started and ended in this phase,
/// and the other glob's "started in this phase".
struct SlotFlags {
    inside: u16,
    done: u16,
    started: u16,
    ended: u16,
    other_started: u16,
}

const ATTACKER: SlotFlags = SlotFlags {
    inside: A_IN,
    done: A_DONE,
    started: PA_S,
    ended: PA_E,
    other_started: PB_S,
};

const VICTIM: SlotFlags = SlotFlags {
    inside: B_IN,
    done: B_DONE,
    started: PB_S,
    ended: PB_E,
    other_started: PA_S,
};

/// Record a slot event of one tracked glob at byte offset `at`: its start (`Some(true)`)
/// or end (`Some(false)`).
fn slot_event(
    flags: &mut u16,
    span: &mut (Option<usize>, Option<usize>),
    event: Option<bool>,
    at: usize,
    who: SlotFlags,
) {
    match event {
        Some(true) => {
            *flags |= who.inside | who.started;
            if *flags & who.other_started != 0 {
                *flags |= SAME;
            }
            span.0 = Some(at);
        }
        Some(false) => {
            *flags = (*flags & !who.inside) | who.done | who.ended;
            span.1 = Some(at);
        }
        None => {}
    }
}

/// Epsilon successors of one position: (position, dfa state, Some(true) slot start /
/// Some(false) slot end).
fn epsilon(
    g: &Glob,
    pos: Pos,
    dfa: StateID,
    f: &IdentityFormat,
) -> Vec<(Pos, StateID, Option<bool>)> {
    let Some(e) = g.0.get(pos.idx as usize) else {
        return Vec::new();
    };
    let next = Pos {
        idx: pos.idx + 1,
        k: 0,
    };
    match e {
        Elem::Star(_) if pos.k == 0 => vec![(next, dfa, None)],
        Elem::Slot if pos.k == 0 => vec![(Pos { idx: pos.idx, k: 1 }, f.start(), Some(true))],
        Elem::Slot if pos.k == 2 && f.accepts(dfa) => vec![(next, dfa, Some(false))],
        Elem::Byte(_) | Elem::Star(_) | Elem::AnyChar(_) | Elem::Slot | Elem::Never => Vec::new(),
    }
}

/// Byte successors of one position.
fn consume(g: &Glob, pos: Pos, dfa: StateID, byte: u8, f: &IdentityFormat) -> Vec<(Pos, StateID)> {
    let Some(e) = g.0.get(pos.idx as usize) else {
        return Vec::new();
    };
    let next = Pos {
        idx: pos.idx + 1,
        k: 0,
    };
    match *e {
        Elem::Byte(c) if c == byte => vec![(next, dfa)],
        Elem::Star(class) if class.admits(byte) => vec![(pos, dfa)],
        Elem::AnyChar(class) => match any_char_step(pos.k, byte, class) {
            Some(0) => vec![(next, dfa)],
            Some(k) => vec![(Pos { idx: pos.idx, k }, dfa)],
            None => Vec::new(),
        },
        Elem::Slot if pos.k >= 1 => match f.step(dfa, byte) {
            Some(n) => vec![(Pos { idx: pos.idx, k: 2 }, n)],
            None => Vec::new(),
        },
        Elem::Byte(_) | Elem::Star(_) | Elem::Slot | Elem::Never => Vec::new(),
    }
}

fn finalize(flags: u16) -> u16 {
    let mut f = flags;
    if f & SAME != 0 && f & (DIV | EQ) == 0 {
        let a_end = f & PA_E != 0;
        let b_end = f & PB_E != 0;
        if a_end && b_end {
            f |= EQ;
        } else if a_end != b_end {
            f |= DIV;
        }
    }
    f & !PHASE
}

fn step(p: &Problem<'_>, s: &State, byte: u8, extra: &[&Glob]) -> Vec<State> {
    let flags = finalize(s.flags);
    if flags & EQ != 0 {
        // Both spans ended together after starting together: the same identity.
        return Vec::new();
    }
    let a_moves: Vec<(Pos, StateID)> = match p.allow {
        Some(g) => consume(g, s.a, s.adfa, byte, p.format),
        None => vec![(s.a, s.adfa)],
    };
    if a_moves.is_empty() {
        return Vec::new();
    }
    let b_moves = consume(p.area, s.b, s.bdfa, byte, p.format);
    if b_moves.is_empty() {
        return Vec::new();
    }
    let sets: Vec<Vec<u64>> = extra
        .iter()
        .zip(&s.sets)
        .map(|(g, set)| set_closure(g, &set_step(g, set, byte)))
        .collect();
    let mut out = Vec::new();
    for &(a, adfa) in &a_moves {
        for &(b, bdfa) in &b_moves {
            out.push(State {
                a,
                b,
                adfa,
                bdfa,
                flags,
                sets: sets.clone(),
            });
        }
    }
    out
}

fn accepted(
    p: &Problem<'_>,
    nodes: &[Node],
    i: usize,
    allow_len: u32,
    area_len: u32,
    extra: &[&Glob],
) -> Option<Witness> {
    let n = &nodes[i];
    let s = &n.state;
    let flags = finalize(s.flags);
    if flags & EQ != 0 {
        return None;
    }
    if p.allow.is_some()
        && (s.a.idx != allow_len || (p.allow.is_some_and(Glob::has_slot) && flags & A_DONE == 0))
    {
        return None;
    }
    if s.b.idx != area_len || flags & B_DONE == 0 {
        return None;
    }
    // Exclusions must not match; each must-match group needs a match.
    let end = |g: &Glob, set: &[u64]| accepts(g, set);
    let (nots, musts) = s.sets.split_at(p.must_not.len());
    if p.must_not.iter().zip(nots).any(|(g, set)| end(g, set)) {
        return None;
    }
    let mut k = 0;
    for group in p.must_match_any {
        let matched = group.iter().enumerate().any(|(j, g)| end(g, &musts[k + j]));
        k += group.len();
        if !matched {
            return None;
        }
    }
    let _ = extra;
    // Rebuild the bytes.
    let mut bytes = Vec::with_capacity(n.depth);
    let mut j = i;
    while nodes[j].parent != usize::MAX {
        bytes.push(nodes[j].byte);
        j = nodes[j].parent;
    }
    bytes.reverse();
    let span = |(s, e): (Option<usize>, Option<usize>)| Some(Span { start: s?, end: e? });
    let victim = span(n.b_span)?;
    let attacker = if p.allow.is_some_and(Glob::has_slot) {
        Some(span(n.a_span)?)
    } else {
        None
    };
    Some(Witness {
        resource: bytes,
        attacker,
        victim,
        definitely_distinct: attacker.is_none() || flags & DIV != 0,
    })
}

/// A string accepted by every glob of `require` and by none of `forbid` (globs without
/// identity slots), breadth-first so the shortest comes first; `None` when there is none
/// or the search passes `limit` states (use [`search_string`] to tell the two apart).
pub fn find_string(require: &[Glob], forbid: &[Glob], limit: usize) -> Option<Vec<u8>> {
    match search_string(require, forbid, limit) {
        StringSearch::Found(bytes) => Some(bytes),
        StringSearch::Empty | StringSearch::TooLarge => None,
    }
}

/// The outcome of [`search_string`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StringSearch {
    /// A shortest string in the intersection.
    Found(Vec<u8>),
    /// The intersection is empty (proved: every reachable state was explored).
    Empty,
    /// The search passed its state limit without deciding.
    TooLarge,
}

/// [`find_string`], telling "there is none" ([`StringSearch::Empty`], a proof) from "gave
/// up" ([`StringSearch::TooLarge`]). Cost: breadth-first over the product of the globs'
/// position sets, at most `limit` states.
pub fn search_string(require: &[Glob], forbid: &[Glob], limit: usize) -> StringSearch {
    let all: Vec<&Glob> = require.iter().chain(forbid).collect();
    let mut literal = [false; 256];
    for g in &all {
        for b in g.mentioned_bytes() {
            literal[b as usize] = true;
        }
    }
    let mut alphabet: Vec<u8> = (0..=255u8).filter(|b| literal[*b as usize]).collect();
    // One byte no pattern mentions stands for every such byte.
    if let Some(other) = b"zqx0_"
        .iter()
        .copied()
        .chain(0x21..0x7f)
        .find(|b| !literal[*b as usize])
    {
        alphabet.push(other);
    }
    let start: Vec<Vec<u64>> = all
        .iter()
        .map(|g| set_closure(g, &single(code(0, 0))))
        .collect();
    let accepted = |sets: &[Vec<u64>]| {
        all.iter().zip(sets).enumerate().all(|(i, (g, set))| {
            let end = accepts(g, set);
            if i < require.len() { end } else { !end }
        })
    };
    let mut seen = std::collections::HashSet::new();
    let mut queue = VecDeque::new();
    seen.insert(start.clone());
    queue.push_back((start, Vec::new()));
    while let Some((sets, bytes)) = queue.pop_front() {
        if accepted(&sets) {
            return StringSearch::Found(bytes);
        }
        if seen.len() > limit {
            return StringSearch::TooLarge;
        }
        for &b in &alphabet {
            let next: Vec<Vec<u64>> = all
                .iter()
                .zip(&sets)
                .map(|(g, set)| set_closure(g, &set_step(g, set, b)))
                .collect();
            // A required glob with no position left can never accept.
            if next[..require.len()]
                .iter()
                .any(|s| s.iter().all(|w| *w == 0))
            {
                continue;
            }
            if seen.insert(next.clone()) {
                let mut nb = bytes.clone();
                nb.push(b);
                queue.push_back((next, nb));
            }
        }
    }
    StringSearch::Empty
}

/// The outcome of [`search_identity`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentitySearch {
    /// A shortest resource, and where the identity sits in it (`None`: the identity does
    /// not occur in it, and is any identity of the format).
    Found {
        /// The resource bytes.
        resource: Vec<u8>,
        /// The identity's bytes in the resource.
        identity: Option<Span>,
    },
    /// No identity of the format and no resource satisfy the constraints (proved).
    Empty,
    /// The search passed its state limit without deciding.
    TooLarge,
}

/// Where the one identity of [`search_identity`] is, at a point of the walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Phase {
    Before,
    Inside,
    After,
}

/// A state of [`search_identity`]: the identity's phase, the format's DFA state inside it,
/// and the position set of every glob.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct IdState {
    phase: Phase,
    dfa: StateID,
    sets: Vec<Vec<u64>>,
}

/// The length of the literal text before the slot of `g`, when nothing but literal bytes
/// comes before it: every match of `g` then has the identity at that offset.
fn literal_head_before_slot(g: &Glob) -> Option<usize> {
    let at = g.0.iter().position(|e| !matches!(e, Elem::Byte(_)))?;
    (g.0[at] == Elem::Slot).then_some(at)
}

/// `require` with the slots that cannot be shown to read the identity where the anchor
/// reads it widened to `*` (see [`search_identity`]).
fn anchored(require: &[Glob]) -> Vec<Glob> {
    let anchor = require
        .iter()
        .position(|g| literal_head_before_slot(g).is_some())
        .or_else(|| require.iter().position(Glob::has_slot));
    let head = anchor.and_then(|a| literal_head_before_slot(&require[a]));
    require
        .iter()
        .enumerate()
        .map(|(i, g)| {
            if Some(i) == anchor || (head.is_some() && literal_head_before_slot(g) == head) {
                g.clone()
            } else {
                let widen = |e: &Elem| match e {
                    Elem::Slot => Elem::Star(crate::analysis::glob::Class::All),
                    Elem::Byte(_) | Elem::Star(_) | Elem::AnyChar(_) | Elem::Never => *e,
                };
                Glob(g.0.iter().map(widen).collect())
            }
        })
        .collect()
}

/// The states at one point of a walk of [`search_identity`] over `all`, after the
/// identity's possible moves there from `phase` (DFA state `dfa`).
fn settle_identity(
    all: &[&Glob],
    format: &IdentityFormat,
    (phase, dfa): (Phase, StateID),
    sets: &[Vec<u64>],
) -> Vec<IdState> {
    let mut out = Vec::new();
    let moves: &[(SlotMoves, Phase)] = match phase {
        Phase::Before => &[
            (SlotMoves::None, Phase::Before),
            (SlotMoves::Enter, Phase::Inside),
        ],
        Phase::Inside if format.accepts(dfa) => &[
            (SlotMoves::None, Phase::Inside),
            (SlotMoves::Leave, Phase::After),
        ],
        Phase::Inside => &[(SlotMoves::None, Phase::Inside)],
        Phase::After => &[(SlotMoves::None, Phase::After)],
    };
    for &(moves, next) in moves {
        let sets: Vec<Vec<u64>> = all
            .iter()
            .zip(sets)
            .map(|(g, set)| {
                let mut set = closure_with(g, set, moves);
                // Once the identity has started, a slot not yet entered never will
                // be; once it has ended, no slot is read.
                match next {
                    Phase::Before => {}
                    Phase::Inside => without_slot_positions(g, &mut set, |k| k == 0),
                    Phase::After => without_slot_positions(g, &mut set, |_| true),
                }
                set
            })
            .collect();
        let dfa = match (phase, next) {
            (Phase::Inside, Phase::Inside) => dfa,
            _ => format.start(),
        };
        out.push(IdState {
            phase: next,
            dfa,
            sets,
        });
    }
    out
}

/// A resource accepted by every glob of `require` and by none of `forbid` for one
/// identity of `format`, every slot reading that identity (the identity as a free string
/// in the automata): breadth-first, so the shortest comes first.
///
/// The walk chooses where the identity starts and ends (or that it does not occur), and
/// a glob's slot reads exactly that span. This is exact for a glob whose slot can only be
/// there: the first `require` glob with only literal text before its slot (the anchor;
/// else the first with a slot), and every other one with literal text of the same length
/// before its slot. The slots of the other `require` globs read anything (a widening:
/// only more candidates), and a `forbid` glob matches only with its slot on the span (it
/// may also match with the identity elsewhere: only more candidates). So
/// [`IdentitySearch::Empty`] is a proof; a found resource is a candidate, exact when
/// every glob's slot is one of the exact cases. Globs must hold at most one slot.
///
/// Cost: breadth-first over (identity phase, DFA state, position sets), at most `limit`
/// states.
pub fn search_identity(
    require: &[Glob],
    forbid: &[Glob],
    format: &IdentityFormat,
    limit: usize,
) -> IdentitySearch {
    let require = anchored(require);
    let all: Vec<&Glob> = require.iter().chain(forbid).collect();
    let alphabet = identity_alphabet(&all, format);
    let settle = |phase: Phase, dfa: StateID, sets: &[Vec<u64>]| {
        settle_identity(&all, format, (phase, dfa), sets)
    };
    let accepted = |s: &IdState| {
        s.phase != Phase::Inside
            && all.iter().zip(&s.sets).enumerate().all(|(i, (g, set))| {
                let end = accepts(g, set);
                if i < require.len() { end } else { !end }
            })
    };
    let start_sets: Vec<Vec<u64>> = all.iter().map(|_| single(code(0, 0))).collect();
    let mut seen = std::collections::HashSet::new();
    let mut queue = VecDeque::new();
    let span_of = |from: Phase, to: Phase, at: usize, span: (Option<usize>, Option<usize>)| match (
        from, to,
    ) {
        (Phase::Before, Phase::Inside) => (Some(at), None),
        (Phase::Inside, Phase::After) => (span.0, Some(at)),
        _ => span,
    };
    for s in settle(Phase::Before, format.start(), &start_sets) {
        let span = span_of(Phase::Before, s.phase, 0, (None, None));
        if seen.insert(s.clone()) {
            queue.push_back((s, Vec::new(), span));
        }
    }
    while let Some((state, bytes, span)) = queue.pop_front() {
        if accepted(&state) {
            let identity = span.0.zip(span.1).map(|(start, end)| Span { start, end });
            return IdentitySearch::Found {
                resource: bytes,
                identity,
            };
        }
        if seen.len() > limit {
            return IdentitySearch::TooLarge;
        }
        for &b in &alphabet {
            let dfa = match state.phase {
                Phase::Inside => match format.step(state.dfa, b) {
                    Some(d) => d,
                    None => continue,
                },
                Phase::Before | Phase::After => state.dfa,
            };
            let sets: Vec<Vec<u64>> = all
                .iter()
                .zip(&state.sets)
                .map(|(g, set)| set_step(g, set, b))
                .collect();
            // A required glob with no position left can never accept.
            if sets[..require.len()]
                .iter()
                .any(|s| s.iter().all(|w| *w == 0))
            {
                continue;
            }
            for next in settle(state.phase, dfa, &sets) {
                if seen.insert(next.clone()) {
                    let span = span_of(state.phase, next.phase, bytes.len() + 1, span);
                    let mut nb = bytes.clone();
                    nb.push(b);
                    queue.push_back((next, nb, span));
                }
            }
        }
    }
    IdentitySearch::Empty
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::glob::Class;

    fn glob(s: &str) -> Glob {
        let mut out = Vec::new();
        let mut rest = s;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix("{S}") {
                out.push(Elem::Slot);
                rest = r;
                continue;
            }
            let c = rest.as_bytes()[0];
            out.push(match c {
                b'*' => Elem::Star(Class::All),
                b'?' => Elem::AnyChar(Class::All),
                c => Elem::Byte(c),
            });
            rest = &rest[1..];
        }
        Glob(out)
    }

    fn run(allow: &str, area: &str, format: &str) -> SearchResult {
        let f = match format {
            "cognito" | "any" => IdentityFormat::parse(format),
            regex => IdentityFormat::parse(&format!("regex:{regex}")),
        }
        .unwrap();
        let (a, b) = (glob(allow), glob(area));
        search(&Problem {
            allow: Some(&a),
            area: &b,
            must_not: &[],
            must_match_any: &[],
            format: &f,
        })
    }

    #[test]
    fn missing_slash_is_a_prefix_leak_for_any_ids() {
        match run("b/{S}*", "b/{S}*", "any") {
            SearchResult::Found(w) => {
                assert!(w[0].definitely_distinct);
                let r = String::from_utf8(w[0].resource.clone()).unwrap();
                let a = &r[w[0].attacker.unwrap().start..w[0].attacker.unwrap().end];
                let b = &r[w[0].victim.start..w[0].victim.end];
                assert_ne!(a, b);
                // One identity is a prefix of the other.
                assert!(b.starts_with(a) || a.starts_with(b), "{a} {b}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fixed_length_ids_are_prefix_free() {
        assert_eq!(run("b/{S}*", "b/{S}*", "[a-c]{3}"), SearchResult::Empty);
        assert_eq!(run("b/{S}/*", "b/{S}/*", "[a-c]{3}"), SearchResult::Empty);
    }

    fn identity(require: &[&str], forbid: &[&str], format: &str) -> IdentitySearch {
        let f = IdentityFormat::parse(format).unwrap();
        let require: Vec<Glob> = require.iter().map(|g| glob(g)).collect();
        let forbid: Vec<Glob> = forbid.iter().map(|g| glob(g)).collect();
        search_identity(&require, &forbid, &f, STATE_LIMIT)
    }

    #[test]
    fn every_slot_reads_the_one_identity() {
        // The identity's own folder under a region's prefix: found, the identity read off.
        match identity(&["b/{S}/*", "b/u:*"], &[], "regex:[uv]:[a-c]") {
            IdentitySearch::Found { resource, identity } => {
                let span = identity.unwrap();
                assert_eq!(&resource[span.start..span.end], b"u:a");
                assert!(resource.starts_with(b"b/u:a/"));
            }
            other => panic!("{other:?}"),
        }
        // A forbid glob with the same identity covers every candidate.
        assert_eq!(
            identity(&["b/{S}/*"], &["b/{S}*"], "any"),
            IdentitySearch::Empty
        );
        // Every identity holds a colon: a forbid without the identity covers them all.
        assert_eq!(
            identity(&["b/{S}/*"], &["b/*:*/*"], "regex:[uv]:[a-c]"),
            IdentitySearch::Empty
        );
        assert!(matches!(
            identity(&["b/{S}/*"], &["b/*:*/*"], "any"),
            IdentitySearch::Found { .. }
        ));
        // Two require globs with the slot after the same literal text read one identity:
        // `b/x/` and `b/x` for the same identity cannot both hold.
        assert_eq!(
            identity(&["b/{S}/x", "b/{S}x"], &[], "regex:[a-c]+"),
            IdentitySearch::Empty
        );
        // No slot required: the identity need not occur, so a forbid glob reading it
        // leaves the resource free.
        match identity(&["b/*"], &["b/{S}"], "any") {
            IdentitySearch::Found { identity, .. } => assert_eq!(identity, None),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn slash_inside_an_id_reaches_a_deeper_folder() {
        assert!(matches!(
            run("b/{S}/*", "b/{S}/*", "any"),
            SearchResult::Found(_)
        ));
        assert_eq!(run("b/{S}/*", "b/{S}/*", "[a-z]+"), SearchResult::Empty);
    }
}
