//! The reference for the IAM wildcard language: a plain dynamic-programming matcher over
//! characters, written from the definition (`*` any run of characters, `?` exactly one
//! character, everything else literal), sharing no code with `policy_sim::lang::wildcard`.

/// One element of a pattern whose variables are already replaced by their values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A character that must appear as is.
    Char(char),
    /// `?`.
    One,
    /// `*`.
    Star,
}

/// The units of raw `text` read as a pattern: `*` and `?` are wildcards when `wildcards`
/// is on, every other character is literal (no `${...}` handling). A run of `*` is one
/// `*` (the same language).
pub fn units_of(text: &str, wildcards: bool) -> Vec<Unit> {
    let mut out: Vec<Unit> = Vec::new();
    for c in text.chars() {
        let unit = match c {
            '*' if wildcards => Unit::Star,
            '?' if wildcards => Unit::One,
            c => Unit::Char(c),
        };
        if !(unit == Unit::Star && out.last() == Some(&Unit::Star)) {
            out.push(unit);
        }
    }
    out
}

/// Does `pattern` match the whole of `text`? `ascii_insensitive` compares letters
/// ignoring ASCII case. Cost: `O(len(pattern) * len(text))`, which is fine for the
/// small inputs of a fuzz run.
pub fn matches(pattern: &[Unit], text: &str, ascii_insensitive: bool) -> bool {
    let text: Vec<char> = text.chars().collect();
    let same = |a: char, b: char| {
        if ascii_insensitive {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    // row[j]: the units so far match text[..j].
    let mut row = vec![false; text.len() + 1];
    row[0] = true;
    for unit in pattern {
        let mut next = vec![false; text.len() + 1];
        match *unit {
            Unit::Star => {
                let mut seen = false;
                for j in 0..=text.len() {
                    seen |= row[j];
                    next[j] = seen;
                }
            }
            Unit::One => {
                for j in 1..=text.len() {
                    next[j] = row[j - 1];
                }
            }
            Unit::Char(c) => {
                for j in 1..=text.len() {
                    next[j] = row[j - 1] && same(c, text[j - 1]);
                }
            }
        }
        row = next;
    }
    row[text.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_cases() {
        let m = |p: &str, t: &str| matches(&units_of(p, true), t, false);
        assert!(m("*", ""));
        assert!(m("a*b?d", "axxbcd"));
        assert!(!m("a*b?d", "axxbd"));
        assert!(m("?", "é"));
        assert!(!m("?", ""));
        assert!(!m("abc", "ABC"));
        assert!(matches(&units_of("abc", true), "ABC", true));
        assert!(!matches(&units_of("a*", false), "ab", false));
    }
}
