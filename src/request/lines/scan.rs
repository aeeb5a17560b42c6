//! The request-line scanner: reads a line of the usual shape straight into the reused
//! buffers, and gives up ([`GiveUp`]) on anything else, leaving the line to the general
//! reader ([`super::read_general`]), which then decides it (errors included). It reads a
//! context object alone ([`read_context`], for [`super::parse_context_into`]) by the same
//! rules as a line's `context`.
//!
//! What it reads, all of it in JSON's grammar:
//! - white space (space, tab, carriage return; in a context object alone, line feed too)
//!   between tokens: in a request line a line feed ends the line;
//! - one object of the fields `id`, `identity`, `principal`, `action`, `resource`,
//!   `context`, none twice, `action` and `resource` present;
//! - strings (keys and values) without `\` and without control characters (the line is
//!   already valid UTF-8: a `&str`);
//! - `id`: a string, `null` or an integer;
//! - `context`: an object of non-empty keys, each new in any case, to a string, `true`,
//!   `false`, an integer, or a flat array of them;
//! - integers: `-?(0|[1-9][0-9]*)` of at most 18 digits (so that any reader's 64-bit
//!   integer holds them), kept as written.
//!
//! Everything else gives up: escapes, fractions and exponents, longer integers, `null` in
//! the context, an unknown or repeated field, an empty or repeated context key, a syntax
//! error, text after the object. Giving up is always safe; accepting is allowed only where
//! the general reader accepts with the same result (the property test in
//! `super::tests` holds the two to it).

use super::RequestBuffer;

/// The line is not of the usual shape: read it with the general reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct GiveUp;

type Scan<T> = Result<T, GiveUp>;

/// Read `line` into `buffer` (reset by the caller). On [`GiveUp`] the buffer holds a part
/// of the line: reset it before reading again. A line feed inside `line` gives up.
pub(super) fn read(line: &str, buffer: &mut RequestBuffer) -> Scan<()> {
    match read_line_at(line, 0, buffer)? {
        end if end == line.len() => Ok(()),
        _ => Err(GiveUp),
    }
}

/// Read the line that starts at `at` in `text` (lines end at `\n`) into `buffer` (reset by
/// the caller): where the line ends, the index of its `\n` or `text`'s length. Inside a
/// line white space is space, tab and carriage return (so a `\r` before the `\n` is
/// white space after the object); a line feed ends the line, and a request that runs on
/// past it gives up. On [`GiveUp`] the buffer holds a part of the line: reset it before
/// reading again.
pub(super) fn read_line_at(text: &str, at: usize, buffer: &mut RequestBuffer) -> Scan<usize> {
    let mut s = Scanner {
        text,
        bytes: text.as_bytes(),
        at,
        newline_is_space: false,
    };
    s.skip_ws();
    s.expect(b'{')?;
    // id, identity, principal, action, resource, context
    let mut seen = [false; 6];
    loop {
        s.skip_ws();
        let field = s.field()?;
        if std::mem::replace(&mut seen[field], true) {
            return Err(GiveUp);
        }
        s.skip_ws();
        s.expect(b':')?;
        s.skip_ws();
        match field {
            0 => s.id(&mut buffer.id_json)?,
            1 => {
                s.string_into(&mut buffer.identity)?;
                buffer.has_identity = true;
            }
            2 => {
                s.string_into(&mut buffer.principal)?;
                buffer.has_principal = true;
            }
            3 => s.string_into(&mut buffer.request.action)?,
            4 => s.string_into(&mut buffer.request.resource)?,
            _ => s.context(&mut buffer.request.context)?,
        }
        s.skip_ws();
        match s.next()? {
            b',' => continue,
            b'}' => break,
            _ => return Err(GiveUp),
        }
    }
    s.skip_ws();
    if !seen[3] || !seen[4] {
        return Err(GiveUp);
    }
    match s.bytes.get(s.at) {
        None | Some(b'\n') => Ok(s.at),
        Some(_) => Err(GiveUp),
    }
}

/// Read `json`, a context object alone (white space around it allowed), into `context`,
/// empty on entry. On [`GiveUp`] the context holds a part of the object: clear it before
/// reading again.
pub(super) fn read_context(json: &str, context: &mut crate::request::Context) -> Scan<()> {
    let mut s = Scanner {
        text: json,
        bytes: json.as_bytes(),
        at: 0,
        newline_is_space: true,
    };
    s.skip_ws();
    s.context(context)?;
    s.skip_ws();
    if s.at != json.len() {
        return Err(GiveUp);
    }
    Ok(())
}

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    /// Whether a line feed is white space (in a context object alone) or ends the line
    /// (in a request line).
    newline_is_space: bool,
}

impl<'a> Scanner<'a> {
    #[inline]
    fn peek(&self) -> Scan<u8> {
        self.bytes.get(self.at).copied().ok_or(GiveUp)
    }

    #[inline]
    fn next(&mut self) -> Scan<u8> {
        let b = self.peek()?;
        self.at += 1;
        Ok(b)
    }

    #[inline]
    fn expect(&mut self, want: u8) -> Scan<()> {
        if self.next()? == want {
            Ok(())
        } else {
            Err(GiveUp)
        }
    }

    /// JSON's white space: space, tab, carriage return, and line feed where it is not
    /// the end of a line.
    #[inline]
    fn skip_ws(&mut self) {
        while let Some(&b) = self.bytes.get(self.at) {
            if b == b' ' || b == b'\t' || b == b'\r' || (b == b'\n' && self.newline_is_space) {
                self.at += 1;
            } else {
                break;
            }
        }
    }

    /// A string without escapes or control characters, `"` included: its contents.
    #[inline]
    fn string(&mut self) -> Scan<&'a str> {
        self.expect(b'"')?;
        let start = self.at;
        let end = start + plain_run(&self.bytes[start..]);
        if self.bytes.get(end) != Some(&b'"') {
            // A `\`, a control character, or the end of the line.
            return Err(GiveUp);
        }
        self.at = end + 1;
        // Both ends are next to ASCII bytes (`"`), so on character boundaries.
        self.text.get(start..end).ok_or(GiveUp)
    }

    /// A request field's name, quotes included: its number among `id`, `identity`,
    /// `principal`, `action`, `resource`, `context`. What [`Scanner::string`] and a match
    /// of its text would give, without searching for the string's end: a name is one of
    /// these, byte for byte with its quotes, or the line is not ours.
    #[inline]
    fn field(&mut self) -> Scan<usize> {
        let rest = &self.bytes[self.at..];
        // Each name compared as a constant (a word or two, not a call).
        let (field, len) = match rest.get(1) {
            Some(b'i') if rest.starts_with(b"\"id\"") => (0, 4),
            Some(b'i') if rest.starts_with(b"\"identity\"") => (1, 10),
            Some(b'a') if rest.starts_with(b"\"action\"") => (3, 8),
            Some(b'r') if rest.starts_with(b"\"resource\"") => (4, 10),
            Some(b'c') if rest.starts_with(b"\"context\"") => (5, 9),
            Some(b'p') if rest.starts_with(b"\"principal\"") => (2, 11),
            _ => return Err(GiveUp),
        };
        self.at += len;
        Ok(field)
    }

    #[inline]
    fn string_into(&mut self, out: &mut String) -> Scan<()> {
        let text = self.string()?;
        out.clear();
        out.push_str(text);
        Ok(())
    }

    /// An integer of at most 18 digits, as written.
    fn integer(&mut self) -> Scan<&'a str> {
        let start = self.at;
        if self.peek()? == b'-' {
            self.at += 1;
        }
        let digits = self.at;
        match self.next()? {
            b'0' => {}
            b'1'..=b'9' => {
                while let Some(b'0'..=b'9') = self.bytes.get(self.at) {
                    self.at += 1;
                }
            }
            _ => return Err(GiveUp),
        }
        if self.at - digits > 18 {
            return Err(GiveUp);
        }
        // A fraction or exponent (or a digit after a leading 0) is not ours.
        if let Some(b'.' | b'e' | b'E' | b'0'..=b'9') = self.bytes.get(self.at) {
            return Err(GiveUp);
        }
        self.text.get(start..self.at).ok_or(GiveUp)
    }

    /// `literal` (`true`, `false`, `null`) at the current byte.
    #[inline]
    fn literal(&mut self, literal: &[u8]) -> Scan<()> {
        if self.bytes[self.at..].starts_with(literal) {
            self.at += literal.len();
            Ok(())
        } else {
            Err(GiveUp)
        }
    }

    /// `id`: a string (kept with its quotes: without escapes it is its own JSON text),
    /// `null` (kept as the reset `null`) or an integer.
    fn id(&mut self, out: &mut Vec<u8>) -> Scan<()> {
        match self.peek()? {
            b'"' => {
                let start = self.at;
                self.string()?;
                out.clear();
                out.extend_from_slice(&self.bytes[start..self.at]);
            }
            b'n' => self.literal(b"null")?,
            _ => {
                let text = self.integer()?;
                out.clear();
                out.extend_from_slice(text.as_bytes());
            }
        }
        Ok(())
    }

    /// `context`: an object of keys to a value or a flat array of values.
    fn context(&mut self, context: &mut crate::request::Context) -> Scan<()> {
        self.expect(b'{')?;
        self.skip_ws();
        if self.peek()? == b'}' {
            self.at += 1;
            return Ok(());
        }
        loop {
            // The key this slot was given last time (a plain one), if the line has it here
            // in quotes: the string search and the lookup of the key are done already.
            let remembered = context.next_written().and_then(|w| {
                let rest = &self.bytes[self.at..];
                let n = w.len();
                (rest.get(..n + 2)?.first() == Some(&b'"')
                    && rest[1..=n] == *w.as_bytes()
                    && rest[n + 1] == b'"')
                    .then_some(n + 2)
            });
            let slot = match remembered {
                Some(len) => {
                    self.at += len;
                    context.insert_written()
                }
                None => {
                    let key = self.string()?;
                    if key.is_empty() {
                        return Err(GiveUp);
                    }
                    context.insert_new(key)
                }
            }
            .ok_or(GiveUp)?;
            self.skip_ws();
            self.expect(b':')?;
            self.skip_ws();
            if self.peek()? == b'[' {
                self.at += 1;
                self.skip_ws();
                if self.peek()? == b']' {
                    self.at += 1;
                } else {
                    loop {
                        let value = self.scalar()?;
                        context.push_value_at(slot).push_str(value);
                        self.skip_ws();
                        match self.next()? {
                            b',' => self.skip_ws(),
                            b']' => break,
                            _ => return Err(GiveUp),
                        }
                    }
                }
            } else {
                let value = self.scalar()?;
                context.push_value_at(slot).push_str(value);
            }
            self.skip_ws();
            match self.next()? {
                b',' => self.skip_ws(),
                b'}' => return Ok(()),
                _ => return Err(GiveUp),
            }
        }
    }

    /// A context value: a string, `true`, `false` (as their text) or an integer (as
    /// written).
    #[inline]
    fn scalar(&mut self) -> Scan<&'a str> {
        match self.peek()? {
            b'"' => self.string(),
            b't' => self.literal(b"true").map(|()| "true"),
            b'f' => self.literal(b"false").map(|()| "false"),
            _ => self.integer(),
        }
    }
}

/// Whether `text` is plain: a string the scanner reads (no `"`, `\`, or control
/// character), whose JSON text is itself in quotes.
pub(crate) fn is_plain(text: &str) -> bool {
    plain_run(text.as_bytes()) == text.len()
}

/// The length of the leading run of `bytes` that a plain string may hold: everything but
/// `"`, `\` and control characters (below 0x20). Sixteen bytes at a time on x86-64, else eight.
#[inline]
fn plain_run(bytes: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    // Sixteen bytes at a time on x86-64 (SSE2 is part of it).
    #[cfg(target_arch = "x86_64")]
    {
        use safe_arch::{
            bitor_m128i as or, cmp_eq_mask_i8_m128i as eq, load_unaligned_m128i, min_u8_m128i,
            move_mask_i8_m128i, set_splat_i8_m128i as splat,
        };
        while let Some(chunk) = bytes.get(i..i + 16) {
            let v = load_unaligned_m128i(chunk.try_into().expect("sixteen bytes"));
            let quote = eq(v, splat(b'"' as i8));
            let slash = eq(v, splat(b'\\' as i8));
            // A byte is below 0x20 where its unsigned minimum with 0x1f is itself.
            let control = eq(min_u8_m128i(v, splat(0x1f)), v);
            let hits = move_mask_i8_m128i(or(or(quote, slash), control));
            if hits != 0 {
                return i + hits.trailing_zeros() as usize;
            }
            i += 16;
        }
    }
    while let Some(chunk) = bytes.get(i..i + 8) {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(chunk);
        let w = u64::from_le_bytes(eight);
        // The high bit of a byte is set where the byte is below 0x20, is `"` or is `\`:
        // exact for the lowest such byte (borrows only run towards higher bytes).
        let quote = w ^ (ONES * u64::from(b'"'));
        let slash = w ^ (ONES * u64::from(b'\\'));
        let hits = ((w.wrapping_sub(ONES * 0x20) & !w)
            | (quote.wrapping_sub(ONES) & !quote)
            | (slash.wrapping_sub(ONES) & !slash))
            & HIGH;
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&b) = bytes.get(i) {
        if b < 0x20 || b == b'"' || b == b'\\' {
            return i;
        }
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word-at-a-time search agrees with a byte-at-a-time one, at every offset.
    #[test]
    fn plain_run_stops_at_the_first_special_byte() {
        let base = b"arn:aws:s3:::b/\xc3\xa9t\xe2\x82\xac-k~\x7f\xff".to_vec();
        for special in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
            for at in 0..=base.len() {
                let mut bytes = base.clone();
                bytes.insert(at, special);
                bytes.extend_from_slice(b"tail\"");
                assert_eq!(plain_run(&bytes), at, "{special:#x} at {at}");
            }
        }
        assert_eq!(plain_run(&base), base.len());
        assert_eq!(plain_run(b"  !#~\x20"), 6);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

        /// Sixteen, eight or one byte at a time, the search stops where a byte-at-a-time
        /// one does, on texts of plain bytes (ASCII and not) with special bytes sprinkled.
        #[test]
        fn plain_run_agrees_with_a_byte_search(
            bytes in proptest::collection::vec(
                proptest::prop_oneof![
                    20 => 0x20u8..=0xff,
                    1 => proptest::prelude::Just(b'"'),
                    1 => proptest::prelude::Just(b'\\'),
                    1 => 0u8..0x20,
                ],
                0..80,
            ),
        ) {
            let model = bytes
                .iter()
                .position(|&b| b < 0x20 || b == b'"' || b == b'\\')
                .unwrap_or(bytes.len());
            proptest::prop_assert_eq!(plain_run(&bytes), model);
        }
    }
}
