//! The wildcard matcher for long inputs: time linear in the text and the pattern (see the
//! bound below), where the greedy back-tracking matcher is `O(text × pattern)`.
//!
//! The pattern is cut at its stars into segments (literal text and `?`, each a fixed number
//! of characters). The first segment must match at the start of the text and the last at
//! its end; each middle segment is then searched for leftmost, from where the previous one
//! ended. Taking the leftmost occurrence is never wrong for `*`-globs: any match that uses
//! a later occurrence can use the earlier one instead, the stars around it absorbing the
//! difference.
//!
//! Finding a middle segment:
//! - literal text only (one piece, or literals and variable values side by side), case
//!   sensitive: a vectorised substring search (`memchr::memmem`), `O(n + m)`;
//! - literal text only, ASCII case-insensitive (action patterns): Knuth–Morris–Pratt over
//!   folded bytes, `O(n + m)`;
//! - with `?`, or any other segment of up to 64 characters: a bit-parallel (shift-and)
//!   automaton over characters, `O(n × ⌈m / 64⌉)`: one machine word of state, no heap
//!   memory, up to 64 characters.
//!
//! Worst case of a whole match: `O(n + m)`, except for middle segments longer than 64
//! characters that hold a `?`, which cost `O(n × ⌈m / 64⌉)` each (the text is read once,
//! each character updating `⌈m / 64⌉` words of state). Segments of up to 64 characters and
//! single literals need no heap memory; longer segments use buffers of their size.

use super::{Case, Unit};

/// True when `text` matches `units` (a pattern with its variables resolved).
pub(super) fn matches(units: &[Unit<'_>], text: &str, case: Case) -> bool {
    let first_star = units.iter().position(|u| matches!(u, Unit::Star));
    let Some(first_star) = first_star else {
        return match_forward(units, text, 0, case) == Some(text.len());
    };
    let last_star = units
        .iter()
        .rposition(|u| matches!(u, Unit::Star))
        .unwrap_or(first_star);
    let Some(start) = match_forward(&units[..first_star], text, 0, case) else {
        return false;
    };
    let Some(end) = match_backward(&units[last_star + 1..], text, text.len(), case) else {
        return false;
    };
    if end < start {
        return false;
    }
    let region = &text[..end];
    let mut at = start;
    let middle = units.get(first_star + 1..last_star).unwrap_or_default();
    for segment in middle.split(|u| matches!(u, Unit::Star)) {
        match find(segment, region, at, case) {
            Some(after) => at = after,
            None => return false,
        }
    }
    true
}

/// For each offset in `starts` (increasing, each a character boundary of `text`), whether
/// `text[start..]` matches `units`: `out[j]` for `starts[j]`.
///
/// Every start shares the end of the text, so the segment after the last star is matched
/// once. Where the segment before the first star matches is found for all starts in one
/// pass ([`prefix_at_starts`]). The middle segments fit after a start's prefix exactly when
/// they fit from its end on, and fitting from an offset implies fitting from any earlier
/// one (the stars absorb the difference); the prefix ends grow with the starts, so the last
/// start that fits is found by a binary search, each probe one run of the segment search.
///
/// Cost: `O(text + pattern)` for the prefix and suffix (a prefix holding `?` costs
/// `O(text × ⌈prefix / 64⌉)`), and `O(log starts)` segment searches over the text: near
/// linear, where matching from each start in turn is `O(starts × text)`.
pub(super) fn matches_from_each(
    units: &[Unit<'_>],
    text: &str,
    starts: &[usize],
    case: Case,
    out: &mut [bool],
) {
    out.fill(false);
    let Some(first_star) = units.iter().position(|u| matches!(u, Unit::Star)) else {
        // A fixed number of characters: only the start that many characters before the end
        // can match, and it does when the pattern read backwards from the end reaches it.
        if let Some(from) = match_backward(units, text, text.len(), case) {
            for (o, &start) in out.iter_mut().zip(starts) {
                *o = start == from;
            }
        }
        return;
    };
    let last_star = units
        .iter()
        .rposition(|u| matches!(u, Unit::Star))
        .unwrap_or(first_star);
    let Some(end) = match_backward(&units[last_star + 1..], text, text.len(), case) else {
        return;
    };
    let prefix = &units[..first_star];
    prefix_at_starts(prefix, text, starts, case, out);
    let region = &text[..end];
    let middle = units.get(first_star + 1..last_star).unwrap_or_default();
    let fits = |j: usize| {
        let Some(at) = match_forward(prefix, text, starts[j], case) else {
            return false;
        };
        at <= end
            && middle
                .split(|u| matches!(u, Unit::Star))
                .try_fold(at, |at, segment| find(segment, region, at, case))
                .is_some()
    };
    let candidates: Vec<usize> = (0..out.len()).filter(|&j| out[j]).collect();
    let fitting = candidates.partition_point(|&j| fits(j));
    for &j in &candidates[fitting..] {
        out[j] = false;
    }
}

/// `out[j]`: does `prefix` (no star) match at `starts[j]`? One pass over the text for all
/// starts: Knuth–Morris–Pratt for literal text, a shift-and automaton when it holds `?`
/// (whose occurrences are then placed by their length in characters).
fn prefix_at_starts(
    prefix: &[Unit<'_>],
    text: &str,
    starts: &[usize],
    case: Case,
    out: &mut [bool],
) {
    let Some(&first) = starts.first() else {
        return;
    };
    if prefix.is_empty() {
        out.fill(true);
        return;
    }
    let mut next = 0;
    // Mark the start at `offset` (offsets arrive in increasing order).
    let mut mark = |offset: usize, at: &[usize]| {
        while next < at.len() && at[next] < offset {
            next += 1;
        }
        if at.get(next) == Some(&offset) {
            out[next] = true;
        }
        next < at.len()
    };
    if prefix.iter().all(|u| matches!(u, Unit::Text(_))) {
        let mut needle = concat(prefix);
        if case == Case::AsciiInsensitive {
            needle.make_ascii_lowercase();
        }
        kmp(&text.as_bytes()[first..], &needle, case, |end| {
            mark(first + end - needle.len(), starts)
        });
    } else {
        // Character offsets of the starts, then occurrences by their character offsets.
        let mut char_starts = Vec::with_capacity(starts.len());
        let mut s = starts.iter().peekable();
        for (n, (i, _)) in text.char_indices().chain([(text.len(), ' ')]).enumerate() {
            while s.next_if(|&&start| start == i).is_some() {
                char_starts.push(n);
            }
        }
        let chars = segment_chars(prefix).count();
        shift_and(prefix, chars, text, case, &mut |_, end| {
            mark(end - chars, &char_starts)
        });
    }
}

/// Length in bytes of the character starting at `text[at]` (`at < text.len()`).
fn char_len_at(text: &str, at: usize) -> usize {
    super::char_len(text.as_bytes()[at]).min(text.len() - at)
}

/// Compare literal bytes under the case rule.
fn equal(a: &[u8], b: &[u8], case: Case) -> bool {
    match case {
        Case::Sensitive => a == b,
        Case::AsciiInsensitive => a.eq_ignore_ascii_case(b),
    }
}

/// Match `segment` (no star) at `text[at..]`: where the match ends.
fn match_forward(segment: &[Unit<'_>], text: &str, mut at: usize, case: Case) -> Option<usize> {
    for unit in segment {
        match unit {
            Unit::Text(s) => {
                let chunk = text.as_bytes().get(at..at + s.len())?;
                if !equal(chunk, s.as_bytes(), case) {
                    return None;
                }
                at += s.len();
            }
            Unit::AnyChar => {
                if at == text.len() {
                    return None;
                }
                at += char_len_at(text, at);
            }
            Unit::Star => unreachable!("segments hold no star"),
        }
    }
    Some(at)
}

/// Match `segment` (no star) so that it ends at `end`: where the match starts.
fn match_backward(segment: &[Unit<'_>], text: &str, mut end: usize, case: Case) -> Option<usize> {
    for unit in segment.iter().rev() {
        match unit {
            Unit::Text(s) => {
                let from = end.checked_sub(s.len())?;
                if !equal(&text.as_bytes()[from..end], s.as_bytes(), case) {
                    return None;
                }
                end = from;
            }
            Unit::AnyChar => {
                // The character before `end`: step back over continuation bytes.
                let before = text[..end].chars().next_back()?;
                end -= before.len_utf8();
            }
            Unit::Star => unreachable!("segments hold no star"),
        }
    }
    Some(end)
}

/// Where the leftmost occurrence of `segment` in `text[from..]` ends.
fn find(segment: &[Unit<'_>], text: &str, from: usize, case: Case) -> Option<usize> {
    let rest = &text[from..];
    let found = match (segment, case) {
        ([], _) => Some(0),
        ([Unit::Text(s)], Case::Sensitive) => {
            memchr::memmem::find(rest.as_bytes(), s.as_bytes()).map(|i| i + s.len())
        }
        _ => {
            let chars = segment_chars(segment).count();
            let any_char = segment.iter().any(|u| matches!(u, Unit::AnyChar));
            if chars <= ONE_WORD || any_char {
                find_shift_and(segment, chars, rest, case)
            } else if case == Case::Sensitive {
                let needle = concat(segment);
                memchr::memmem::find(rest.as_bytes(), &needle).map(|i| i + needle.len())
            } else {
                let mut needle = concat(segment);
                needle.make_ascii_lowercase();
                find_folded(rest.as_bytes(), &needle)
            }
        }
    };
    found.map(|end| from + end)
}

/// The literal text of a segment without `?`, in one piece.
fn concat(segment: &[Unit<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for unit in segment {
        if let Unit::Text(s) = unit {
            out.extend_from_slice(s.as_bytes());
        }
    }
    out
}

/// Knuth–Morris–Pratt for a lowercase `needle` in `haystack` compared in ASCII lowercase:
/// where the leftmost occurrence ends. `O(n + m)`.
fn find_folded(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let mut first = None;
    kmp(haystack, needle, Case::AsciiInsensitive, |end| {
        first = Some(end);
        false
    });
    first
}

/// Knuth–Morris–Pratt: calls `found` with the end of each occurrence of `needle` in
/// `haystack`, overlapping ones included, left to right, until it returns false. Under
/// `Case::AsciiInsensitive` the needle must be lowercase. An empty needle occurs at 0 only.
/// `O(n + m)`.
fn kmp(haystack: &[u8], needle: &[u8], case: Case, mut found: impl FnMut(usize) -> bool) {
    if needle.is_empty() {
        found(0);
        return;
    }
    let fold = |b: u8| match case {
        Case::Sensitive => b,
        Case::AsciiInsensitive => b.to_ascii_lowercase(),
    };
    // fail[i]: length of the longest proper border of needle[..=i].
    let mut fail = vec![0usize; needle.len()];
    let mut k = 0;
    for i in 1..needle.len() {
        while k > 0 && needle[i] != needle[k] {
            k = fail[k - 1];
        }
        if needle[i] == needle[k] {
            k += 1;
        }
        fail[i] = k;
    }
    let mut k = 0;
    for (i, &b) in haystack.iter().enumerate() {
        let b = fold(b);
        while k > 0 && b != needle[k] {
            k = fail[k - 1];
        }
        if b == needle[k] {
            k += 1;
            if k == needle.len() {
                if !found(i + 1) {
                    return;
                }
                k = fail[k - 1];
            }
        }
    }
}

/// Segments of up to this many characters search with one word of state, no heap memory.
const ONE_WORD: usize = 64;

/// Where the leftmost occurrence of `segment` (`chars` characters) in `text` ends, found
/// by a shift-and automaton.
fn find_shift_and(segment: &[Unit<'_>], chars: usize, text: &str, case: Case) -> Option<usize> {
    if chars == 0 {
        return Some(0);
    }
    let mut first = None;
    shift_and(segment, chars, text, case, &mut |end, _| {
        first = Some(end);
        false
    });
    first
}

/// Run a shift-and automaton for `segment` (`chars` characters, at least one) over `text`:
/// calls `found` with the byte and character offsets where each occurrence ends,
/// overlapping ones included, left to right, until it returns false.
fn shift_and(
    segment: &[Unit<'_>],
    chars: usize,
    text: &str,
    case: Case,
    found: &mut dyn FnMut(usize, usize) -> bool,
) {
    if chars <= ONE_WORD {
        let mut ascii = [0u64; 128];
        let mut others = ['\0'; ONE_WORD];
        let mut other_masks = [0u64; ONE_WORD];
        let mut any = [0u64; 1];
        let mut state = [0u64; 1];
        let tables = Tables {
            words: 1,
            ascii: &mut ascii,
            others: &mut others,
            other_masks: &mut other_masks,
            any: &mut any,
        };
        tables
            .build(segment, chars, case)
            .run(text, &mut state, found)
    } else {
        let words = chars.div_ceil(64);
        let mut ascii = vec![0u64; 128 * words];
        let mut others = vec!['\0'; chars];
        let mut other_masks = vec![0u64; chars * words];
        let mut any = vec![0u64; words];
        let mut state = vec![0u64; words];
        let tables = Tables {
            words,
            ascii: &mut ascii,
            others: &mut others,
            other_masks: &mut other_masks,
            any: &mut any,
        };
        tables
            .build(segment, chars, case)
            .run(text, &mut state, found)
    }
}

/// The characters of a segment, `None` for a `?`.
fn segment_chars<'a>(segment: &'a [Unit<'a>]) -> impl Iterator<Item = Option<char>> + 'a {
    segment.iter().flat_map(|u| {
        let (text, any) = match u {
            Unit::Text(s) => (*s, false),
            Unit::AnyChar => ("", true),
            Unit::Star => ("", false),
        };
        text.chars().map(Some).chain(any.then_some(None))
    })
}

/// Zeroed storage for a shift-and automaton of `words` words per mask.
struct Tables<'s> {
    words: usize,
    /// 128 masks, one per ASCII character.
    ascii: &'s mut [u64],
    /// Room for the distinct non-ASCII characters of the segment.
    others: &'s mut [char],
    /// Room for their masks.
    other_masks: &'s mut [u64],
    /// The positions of `?`: the mask of a character the segment does not hold.
    any: &'s mut [u64],
}

/// A shift-and automaton: bit `j` of a character's mask says that position `j` of the
/// segment accepts the character.
struct ShiftAnd<'s> {
    words: usize,
    ascii: &'s [u64],
    /// Sorted, distinct.
    others: &'s [char],
    other_masks: &'s [u64],
    any: &'s [u64],
    /// Word and bit of the last position.
    last: (usize, u64),
}

impl<'s> Tables<'s> {
    /// Fill the masks for `segment` (`chars` characters, at least one).
    fn build(self, segment: &[Unit<'_>], chars: usize, case: Case) -> ShiftAnd<'s> {
        let Tables {
            words: w,
            ascii,
            others,
            other_masks,
            any,
        } = self;
        // The distinct non-ASCII characters, sorted.
        let mut distinct = 0;
        for c in segment_chars(segment).flatten().filter(|c| !c.is_ascii()) {
            others[distinct] = c;
            distinct += 1;
        }
        others[..distinct].sort_unstable();
        let mut kept = 0;
        for i in 0..distinct {
            if kept == 0 || others[i] != others[kept - 1] {
                others[kept] = others[i];
                kept += 1;
            }
        }
        let others = &others[..kept];
        let other_masks = &mut other_masks[..kept * w];
        for (j, c) in segment_chars(segment).enumerate() {
            let (word, bit) = (j / 64, 1u64 << (j % 64));
            match c {
                None => any[word] |= bit,
                Some(c) if c.is_ascii() => {
                    let b = c as u8;
                    let mut set = |b: u8| ascii[usize::from(b) * w + word] |= bit;
                    set(b);
                    if case == Case::AsciiInsensitive {
                        set(b.to_ascii_lowercase());
                        set(b.to_ascii_uppercase());
                    }
                }
                Some(c) => {
                    let k = others.binary_search(&c).unwrap_or_default();
                    other_masks[k * w + word] |= bit;
                }
            }
        }
        // A `?` position accepts every character.
        let any_char = any.iter().any(|&a| a != 0);
        for row in ascii.chunks_mut(w).chain(other_masks.chunks_mut(w)) {
            for (m, a) in row.iter_mut().zip(any.iter()).filter(|_| any_char) {
                *m |= a;
            }
        }
        ShiftAnd {
            words: w,
            ascii,
            others,
            other_masks,
            any,
            last: ((chars - 1) / 64, 1u64 << ((chars - 1) % 64)),
        }
    }
}

impl ShiftAnd<'_> {
    /// Report where each occurrence ends (byte and character offsets) until `found`
    /// returns false, with `state` (`words` words) as scratch.
    fn run(&self, text: &str, state: &mut [u64], found: &mut dyn FnMut(usize, usize) -> bool) {
        let w = self.words;
        state.fill(0);
        for (n, (i, c)) in text.char_indices().enumerate() {
            let mask = if c.is_ascii() {
                &self.ascii[c as usize * w..][..w]
            } else {
                match self.others.binary_search(&c) {
                    Ok(k) => &self.other_masks[k * w..][..w],
                    Err(_) => self.any,
                }
            };
            // Every partial match moves on one position, and a new one starts.
            let mut carry = 1u64;
            for (s, m) in state.iter_mut().zip(mask) {
                let out = *s >> 63;
                *s = ((*s << 1) | carry) & m;
                carry = out;
            }
            if state[self.last.0] & self.last.1 != 0 && !found(i + c.len_utf8(), n + 1) {
                return;
            }
        }
    }
}
