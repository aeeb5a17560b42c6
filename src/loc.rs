//! Source locations: the one type every error and finding uses to say where something is.
//!
//! A [`Loc`] names a file and a 1-based line and column; columns count characters (not
//! bytes), so a location means the same whether the file was read as JSON or YAML.
//! [`Snippet`] carries the text around a location for `miette`'s labelled output: errors
//! that know their source text attach one, and any renderer (the CLI's graphical one,
//! or a plain one) can show the offending line.

use std::fmt;
use std::sync::Arc;

/// Where something is: file, 1-based line and column (in characters). Line 0 means the
/// place within the file is unknown; the file alone is still named.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Loc {
    /// The file as given (relative paths stay relative).
    pub file: Arc<str>,
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// 1-based column, in characters (0 when unknown).
    pub column: usize,
}

impl Loc {
    /// A location in `file`.
    pub fn new(file: impl Into<Arc<str>>, line: usize, column: usize) -> Loc {
        Loc {
            file: file.into(),
            line,
            column,
        }
    }

    /// True when a line is known.
    pub fn has_position(&self) -> bool {
        self.line > 0
    }
}

impl fmt::Display for Loc {
    /// `file:line:column`, or `file` alone when no line is known.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file)
        } else {
            write!(f, "{}:{}:{}", self.file, self.line, self.column)
        }
    }
}

/// The source text of a file and the span of one location in it, for `miette` labels.
///
/// Cost: building one copies nothing (the text is shared); finding the span walks the
/// text up to the location once.
#[derive(Debug, Clone)]
pub struct Snippet {
    /// The named source text.
    pub source: miette::NamedSource<Arc<str>>,
    /// The labelled place (zero-width: a point before the character at the location).
    pub span: miette::SourceSpan,
}

impl Snippet {
    /// The snippet of `loc` in `text` (the text of `loc.file`). `None` when the location
    /// has no line.
    pub fn new(loc: &Loc, text: Arc<str>) -> Option<Snippet> {
        if !loc.has_position() || !drawable(&text, loc.line) {
            return None;
        }
        // A terminal or CI log must not receive the file's control characters (escape
        // sequences could rewrite what the reader sees): each becomes U+FFFD, one character
        // for one, so columns stay where they are.
        let text: Arc<str> = if text.chars().any(obeyed_by_terminals) {
            let shown = |c: char| {
                if obeyed_by_terminals(c) {
                    '\u{fffd}'
                } else {
                    c
                }
            };
            text.chars().map(shown).collect::<String>().into()
        } else {
            text
        };
        let offset = char_offset(&text, loc.line, loc.column);
        Some(Snippet {
            source: miette::NamedSource::new(&*loc.file, text),
            span: miette::SourceSpan::new(offset.into(), 0),
        })
    }
}

impl Snippet {
    /// The source text, for [`miette::Diagnostic::source_code`].
    pub fn source_code(&self) -> &dyn miette::SourceCode {
        &self.source
    }

    /// The one label, for [`miette::Diagnostic::labels`].
    pub fn labels(&self) -> Box<dyn Iterator<Item = miette::LabeledSpan> + '_> {
        Box::new(std::iter::once(miette::LabeledSpan::new_with_span(
            Some("here".to_string()),
            self.span,
        )))
    }
}

/// True for a character a terminal or CI log would obey rather than show: control
/// characters other than newline, tab and carriage return (an escape sequence can recolour,
/// move the cursor, retitle the window or hide earlier lines), and the bidirectional
/// embedding, override and isolate controls (U+202A to U+202E, U+2066 to U+2069), which
/// reorder what is shown. The one rule for snippets and for every text output.
pub fn obeyed_by_terminals(c: char) -> bool {
    (c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Characters of an input value shown in a message; the rest is counted, not echoed.
pub const MAX_SHOWN_VALUE: usize = 120;

/// An input value (an action, a resource, a key, a condition value) as messages echo it:
/// in full up to [`MAX_SHOWN_VALUE`] characters, else its first characters followed by
/// `… (N characters)`. `{}` shows the text, `{:?}` quotes it; a short value shows exactly
/// as the plain `&str` would, so existing messages are unchanged.
#[derive(Clone, Copy)]
pub struct Shown<'a>(pub &'a str);

impl Shown<'_> {
    /// The shown part and, when shortened, the value's length in characters.
    fn parts(&self) -> (&str, Option<usize>) {
        match self.0.char_indices().nth(MAX_SHOWN_VALUE) {
            Some((end, _)) => (&self.0[..end], Some(self.0.chars().count())),
            None => (self.0, None),
        }
    }
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.parts() {
            (text, None) => f.write_str(text),
            (text, Some(n)) => write!(f, "{text}… ({n} characters)"),
        }
    }
}

impl fmt::Debug for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.parts() {
            (text, None) => write!(f, "{text:?}"),
            (text, Some(n)) => write!(f, "{text:?}… ({n} characters)"),
        }
    }
}

/// Lines longer than this (in characters) are not drawn: an error on such a line is shown
/// as its one-line message (renderers cannot lay out columns that wide).
pub const MAX_DRAWN_LINE: usize = 1000;

/// True when line `line` (1-based) of `text` is short enough to draw with its error.
fn drawable(text: &str, line: usize) -> bool {
    text.split_inclusive('\n')
        .nth(line.saturating_sub(1))
        .is_none_or(|l| l.chars().count() <= MAX_DRAWN_LINE)
}

/// Byte offset of a 1-based line and character column in `text`, clamped to the text.
pub fn char_offset(text: &str, line: usize, column: usize) -> usize {
    let mut start = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            return l
                .char_indices()
                .nth(column.saturating_sub(1))
                .map_or(start + l.len(), |(b, _)| start + b);
        }
        start += l.len();
    }
    text.len()
}

/// The 1-based character column of byte column `byte_column` (1-based) on line `line` of
/// `text`: JSON readers count columns in bytes, [`Loc`] in characters.
pub fn char_column(text: &str, line: usize, byte_column: usize) -> usize {
    match text.split_inclusive('\n').nth(line.saturating_sub(1)) {
        Some(l) => {
            let end = byte_column.saturating_sub(1).min(l.len());
            // A column inside a character counts that character.
            let mut cut = end;
            while !l.is_char_boundary(cut) {
                cut -= 1;
            }
            l[..cut].chars().count() + 1
        }
        None => byte_column,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_with_and_without_position() {
        assert_eq!(Loc::new("a.json", 3, 7).to_string(), "a.json:3:7");
        assert_eq!(Loc::new("a.json", 0, 0).to_string(), "a.json");
    }

    #[test]
    fn offsets_count_characters() {
        let text = "ab\n日本x\n";
        assert_eq!(char_offset(text, 2, 1), 3);
        assert_eq!(char_offset(text, 2, 3), 3 + 6);
        assert_eq!(char_offset(text, 9, 1), text.len());
        // Byte column 7 on line 2 is the `x` after two 3-byte characters.
        assert_eq!(char_column(text, 2, 7), 3);
        let s = Snippet::new(&Loc::new("f", 2, 3), Arc::from(text)).unwrap();
        assert_eq!(s.span.offset(), 9);
        assert_eq!(s.span.len(), 0);
        assert!(Snippet::new(&Loc::new("f", 0, 0), Arc::from(text)).is_none());
        let escaped = Snippet::new(&Loc::new("f", 1, 3), Arc::from("a\u{1b}[2Jb")).unwrap();
        let shown = miette::SourceCode::read_span(&escaped.source, &(0, 8).into(), 0, 0)
            .unwrap()
            .data()
            .to_vec();
        assert_eq!(String::from_utf8(shown).unwrap(), "a\u{fffd}[2Jb");
        // A bidirectional override is hidden too (it reorders what the reader sees).
        let bidi = Snippet::new(&Loc::new("f", 1, 1), Arc::from("a\u{202e}b")).unwrap();
        let shown = miette::SourceCode::read_span(&bidi.source, &(0, 5).into(), 0, 0)
            .unwrap()
            .data()
            .to_vec();
        assert_eq!(String::from_utf8(shown).unwrap(), "a\u{fffd}b");
        assert_eq!(
            escaped.span.offset(),
            4,
            "the column is kept: after a 3-byte character"
        );
        let wide = format!("{}x\n", " ".repeat(MAX_DRAWN_LINE));
        assert!(Snippet::new(&Loc::new("f", 1, 3), Arc::from(wide.as_str())).is_none());
    }
}
