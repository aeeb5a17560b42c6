//! Byte globs: the one pattern language the analyses search over.
//!
//! A [`Glob`] is a sequence of [`Elem`]s read over the bytes of a string: literal bytes,
//! `*` and `?` restricted to a [`Class`] of bytes, the identity slot of the isolation
//! prover, and [`Elem::Never`] for a pattern that can match nothing. Policy patterns become
//! globs in one place, [`crate::analysis::translate`]; this module only says what a glob
//! matches, as a small nondeterministic automaton over positions (`(element, sub-state)`)
//! that [`crate::analysis::search`] steps through.
//!
//! Cost: a glob of `n` elements has at most `5 n + 1` positions; stepping a position set
//! over one byte is linear in its size.

/// Which bytes a wildcard may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// Every byte.
    All,
    /// Every byte but `:`: a wildcard inside one of the colon-delimited components of an
    /// ARN (partition, service, region, account).
    NotColon,
    /// Every byte but `:` and `/`: the partition, region, account and bucket-name fields of
    /// an ARN format in the action catalog.
    NotColonOrSlash,
}

impl Class {
    /// The bytes this class leaves out.
    pub fn excluded(self) -> &'static [u8] {
        match self {
            Class::All => b"",
            Class::NotColon => b":",
            Class::NotColonOrSlash => b":/",
        }
    }

    /// May a wildcard of this class read `byte`? (Every excluded byte is ASCII, so a
    /// continuation byte of a multi-byte character is always admitted.)
    pub fn admits(self, byte: u8) -> bool {
        !self.excluded().contains(&byte)
    }
}

/// One element of a byte glob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem {
    /// This byte.
    Byte(u8),
    /// Any run of bytes of the class, possibly empty.
    Star(Class),
    /// Exactly one UTF-8 character whose first byte is of the class.
    AnyChar(Class),
    /// The identity: a run the identity format accepts (at most one per tracked glob; only
    /// the isolation search reads it).
    Slot,
    /// Nothing: the glob matches no string (a pattern that can never match).
    Never,
}

/// A byte glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob(pub Vec<Elem>);

impl Glob {
    /// `*`: every string.
    pub fn everything() -> Glob {
        Glob(vec![Elem::Star(Class::All)])
    }

    /// The glob that matches `text` and nothing else.
    pub fn literal(text: &str) -> Glob {
        Glob(text.bytes().map(Elem::Byte).collect())
    }

    /// The literal bytes every string the glob matches starts with (up to its first
    /// wildcard, slot or `Never`). Two globs can match a common string only when one's
    /// head is a prefix of the other's: the prover indexes patterns by it.
    pub fn literal_head(&self) -> Vec<u8> {
        self.0
            .iter()
            .map_while(|e| match e {
                Elem::Byte(b) => Some(*b),
                Elem::Star(_) | Elem::AnyChar(_) | Elem::Slot | Elem::Never => None,
            })
            .collect()
    }

    /// True when the glob has an identity slot.
    pub fn has_slot(&self) -> bool {
        self.0.contains(&Elem::Slot)
    }

    /// The bytes the glob treats specially: its literal bytes and the bytes its wildcards
    /// leave out. Every other byte behaves the same everywhere in the glob, so a search
    /// needs only these and one representative of the rest.
    pub fn mentioned_bytes(&self) -> impl Iterator<Item = u8> + '_ {
        self.0.iter().flat_map(|e| {
            let (byte, class) = match e {
                Elem::Byte(b) => (Some(*b), None),
                Elem::Star(c) | Elem::AnyChar(c) => (None, Some(c.excluded())),
                Elem::Slot | Elem::Never => (None, None),
            };
            byte.into_iter().chain(class.into_iter().flatten().copied())
        })
    }

    /// Does the glob match `text`? Slots read any non-empty run here (only the isolation
    /// search gives them a meaning). Cost: linear in `text` times the glob's size.
    pub fn matches(&self, text: &[u8]) -> bool {
        let mut set = closure(self, &single(code(0, 0)));
        for &b in text {
            set = closure(self, &step(self, &set, b));
            if set.iter().all(|w| *w == 0) {
                return false;
            }
        }
        accepts(self, &set)
    }
}

// Position sets of a glob: position `(idx, k)` is bit `idx * 5 + k`, where `k` is the
// sub-state of the element at `idx` (continuation bytes still owed by `?`; for a slot, 1
// once entered and 2 after its first byte).

/// The bit of position `(idx, k)`.
pub(crate) fn code(idx: u32, k: u8) -> usize {
    idx as usize * 5 + k as usize
}

/// The set holding only position `c`.
pub(crate) fn single(c: usize) -> Vec<u64> {
    let mut v = vec![0u64; c / 64 + 1];
    v[c / 64] |= 1 << (c % 64);
    v
}

/// Does `set` hold position `c`?
pub(crate) fn contains(set: &[u64], c: usize) -> bool {
    set.get(c / 64).is_some_and(|w| w & (1 << (c % 64)) != 0)
}

fn insert(set: &mut Vec<u64>, c: usize) -> bool {
    if set.len() <= c / 64 {
        set.resize(c / 64 + 1, 0);
    }
    let before = set[c / 64];
    set[c / 64] |= 1 << (c % 64);
    before != set[c / 64]
}

fn members(set: &[u64]) -> Vec<usize> {
    let mut out = Vec::new();
    for (w, word) in set.iter().enumerate() {
        let mut bits = *word;
        while bits != 0 {
            let t = bits.trailing_zeros() as usize;
            out.push(w * 64 + t);
            bits &= bits - 1;
        }
    }
    out
}

/// Does a position set of `g` accept (hold the end of the glob)?
pub(crate) fn accepts(g: &Glob, set: &[u64]) -> bool {
    contains(set, code(g.0.len() as u32, 0))
}

/// `set` with every position reachable without reading a byte (past stars) added; a
/// slot is entered and left freely (it reads any non-empty run).
pub(crate) fn closure(g: &Glob, set: &[u64]) -> Vec<u64> {
    closure_with(g, set, SlotMoves::Free)
}

/// Which moves into and out of a slot a closure may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlotMoves {
    /// Enter and leave freely.
    Free,
    /// Neither: the identity neither starts nor ends here.
    None,
    /// Enter only: the identity starts here.
    Enter,
    /// Leave only: the identity ends here.
    Leave,
}

/// [`closure`], with the slot moves `moves` allows.
pub(crate) fn closure_with(g: &Glob, set: &[u64], moves: SlotMoves) -> Vec<u64> {
    let enter = matches!(moves, SlotMoves::Free | SlotMoves::Enter);
    let leave = matches!(moves, SlotMoves::Free | SlotMoves::Leave);
    let mut out = set.to_vec();
    let mut stack = members(set);
    while let Some(c) = stack.pop() {
        let (idx, k) = ((c / 5) as u32, (c % 5) as u8);
        let next = match g.0.get(idx as usize) {
            Some(Elem::Star(_)) if k == 0 => Some(code(idx + 1, 0)),
            Some(Elem::Slot) if k == 0 && enter => Some(code(idx, 1)),
            Some(Elem::Slot) if k == 2 && leave => Some(code(idx + 1, 0)),
            Some(Elem::Byte(_) | Elem::Star(_) | Elem::AnyChar(_) | Elem::Slot | Elem::Never)
            | None => None,
        };
        if let Some(n) = next
            && insert(&mut out, n)
        {
            stack.push(n);
        }
    }
    out
}

/// `set` without the positions at a slot of `g` whose sub-state `drop` accepts (0: before
/// the slot, 1 and 2: inside it).
pub(crate) fn without_slot_positions(g: &Glob, set: &mut [u64], drop: impl Fn(u8) -> bool) {
    for c in members(set) {
        let (idx, k) = ((c / 5) as u32, (c % 5) as u8);
        if g.0.get(idx as usize) == Some(&Elem::Slot) && drop(k) {
            set[c / 64] &= !(1 << (c % 64));
        }
    }
}

/// The positions of `g` after reading `byte` from the positions `set` (before closure).
pub(crate) fn step(g: &Glob, set: &[u64], byte: u8) -> Vec<u64> {
    let mut out = vec![0u64; set.len()];
    for c in members(set) {
        let (idx, k) = ((c / 5) as u32, (c % 5) as u8);
        let Some(e) = g.0.get(idx as usize) else {
            continue;
        };
        let next = match *e {
            Elem::Byte(b) if b == byte => Some(code(idx + 1, 0)),
            Elem::Star(class) if class.admits(byte) => Some(c),
            Elem::AnyChar(class) => match any_char_step(k, byte, class) {
                Some(0) => Some(code(idx + 1, 0)),
                Some(rest) => Some(code(idx, rest)),
                None => None,
            },
            // Slots of an untracked glob read any non-empty run.
            Elem::Slot if k >= 1 => Some(code(idx, 2)),
            Elem::Byte(_) | Elem::Star(_) | Elem::Slot | Elem::Never => None,
        };
        if let Some(n) = next {
            insert(&mut out, n);
        }
    }
    out
}

/// `?` reads exactly one UTF-8 character: from `expected` continuation bytes still owed
/// (0: a new character, whose first byte `class` must admit), the number owed after
/// `byte`, or `None` when `byte` cannot come next.
pub(crate) fn any_char_step(expected: u8, byte: u8, class: Class) -> Option<u8> {
    let continuation = (0x80..=0xbf).contains(&byte);
    match (expected, byte) {
        (0, _) if !class.admits(byte) => None,
        (0, 0x00..=0x7f) => Some(0),
        (0, 0xc2..=0xdf) => Some(1),
        (0, 0xe0..=0xef) => Some(2),
        (0, 0xf0..=0xf4) => Some(3),
        (0, _) => None,
        (k, _) if continuation => Some(k - 1),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(elems: &[Elem]) -> Glob {
        Glob(elems.to_vec())
    }

    #[test]
    fn classes_keep_wildcards_inside_a_component() {
        let any = g(&[Elem::Byte(b'a'), Elem::Star(Class::All), Elem::Byte(b'b')]);
        let inside = g(&[
            Elem::Byte(b'a'),
            Elem::Star(Class::NotColon),
            Elem::Byte(b'b'),
        ]);
        assert!(any.matches(b"ax:yb"));
        assert!(!inside.matches(b"ax:yb"));
        assert!(inside.matches(b"axyb"));
        let one = g(&[Elem::AnyChar(Class::NotColonOrSlash)]);
        assert!(one.matches("é".as_bytes()));
        assert!(!one.matches(b"/"));
        assert!(!one.matches(b":"));
        assert!(!one.matches(b"ab"));
    }

    #[test]
    fn never_matches_nothing() {
        assert!(!g(&[Elem::Never]).matches(b""));
        assert!(!g(&[Elem::Star(Class::All), Elem::Never]).matches(b"x"));
        assert!(Glob::everything().matches(b""));
        assert!(Glob::literal("ab").matches(b"ab"));
    }

    #[test]
    fn mentioned_bytes_include_what_classes_leave_out() {
        let glob = g(&[Elem::Byte(b'x'), Elem::Star(Class::NotColonOrSlash)]);
        assert_eq!(glob.mentioned_bytes().collect::<Vec<_>>(), b"x:/");
    }
}
