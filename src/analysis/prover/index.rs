//! Patterns indexed by their literal head, so that the prover pairs each `Allow` only with
//! the areas and `Deny` patterns it can overlap instead of with every statement.
//!
//! Two globs can match a common string only when the literal head of one
//! ([`Glob::literal_head`]) is a prefix of the other's. The index keeps the heads sorted;
//! the entries compatible with a head `h` are those whose head is a prefix of `h` (one
//! binary search per prefix length of `h`) and those whose head starts with `h` (one
//! contiguous run of the sorted order).
//!
//! Cost: building is `n log n` in the number of entries; a query is `|h| log n` plus the
//! number of entries it returns.

use crate::analysis::glob::Glob;

/// Entries of type `T`, each under the literal head of a glob.
pub(crate) struct HeadIndex<T> {
    /// (head, entry), sorted by head.
    entries: Vec<(Vec<u8>, T)>,
}

/// Can strings with literal heads `a` and `b` be the same string?
pub(crate) fn compatible(a: &[u8], b: &[u8]) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

impl<T: Copy> HeadIndex<T> {
    /// Index `(glob, entry)` pairs.
    pub fn new<'a>(items: impl IntoIterator<Item = (&'a Glob, T)>) -> HeadIndex<T> {
        let mut entries: Vec<(Vec<u8>, T)> = items
            .into_iter()
            .map(|(g, t)| (g.literal_head(), t))
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        HeadIndex { entries }
    }

    /// The entries whose head is compatible with `head`, in head order (an entry whose
    /// head equals `head` is returned once).
    pub fn compatible_with(&self, head: &[u8]) -> Vec<T> {
        let mut out = Vec::new();
        // Heads that are proper prefixes of `head`.
        for len in 0..head.len() {
            let prefix = &head[..len];
            let start = self.entries.partition_point(|(h, _)| h.as_slice() < prefix);
            out.extend(
                self.entries[start..]
                    .iter()
                    .take_while(|(h, _)| h.as_slice() == prefix)
                    .map(|(_, t)| *t),
            );
        }
        // Heads that start with `head` (itself included).
        let start = self.entries.partition_point(|(h, _)| h.as_slice() < head);
        out.extend(
            self.entries[start..]
                .iter()
                .take_while(|(h, _)| h.starts_with(head))
                .map(|(_, t)| *t),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_exactly_the_compatible_heads() {
        let heads = ["", "a", "ab", "abc", "abd", "b", "abcde", "ac"];
        let globs: Vec<Glob> = heads
            .iter()
            .map(|h| {
                let mut g = Glob::literal(h);
                g.0.push(crate::analysis::glob::Elem::Star(
                    crate::analysis::glob::Class::All,
                ));
                g
            })
            .collect();
        let index = HeadIndex::new(globs.iter().zip(0..));
        for query in ["", "a", "abc", "abcdef", "b", "x", "abz"] {
            let mut got = index.compatible_with(query.as_bytes());
            got.sort_unstable();
            let want: Vec<usize> = (0..heads.len())
                .filter(|&i| compatible(heads[i].as_bytes(), query.as_bytes()))
                .collect();
            assert_eq!(got, want, "{query}");
        }
    }
}
