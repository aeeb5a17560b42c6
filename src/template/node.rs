//! The template value tree: YAML or JSON lowered into one shape with locations, where the
//! short tag `!Ref x` and the long form `{"Ref": x}` are the same node.

use std::collections::HashMap;
use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

use super::TemplateError;

pub use crate::loc::Loc;

/// A scalar's type, as YAML resolved it (JSON output keeps numbers and booleans as such).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarType {
    /// A string.
    Str,
    /// An integer or a decimal number.
    Number,
    /// `true` or `false`.
    Bool,
}

/// One node of a template.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub kind: Kind,
    /// Where it starts.
    pub loc: Loc,
}

/// A node's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `null` or an empty value.
    Null,
    /// A string, number or boolean, kept as text.
    Scalar(String, ScalarType),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order (keys are unique).
    Map(Mapping),
}

/// Mappings with more entries than this are looked up through a hash index.
const INDEXED_FROM: usize = 16;

/// A mapping's entries in document order, with a key index built on the first lookup in a
/// large mapping: `Ref`, `Fn::GetAtt`, `Fn::FindInMap`, `Condition` and `${self:}` each
/// look a name up in `Parameters`, `Resources`, `Mappings`, `Conditions` or `custom`, so a
/// scan per lookup would take time proportional to references times entries. As a slice
/// it reads like the entries themselves. When a key occurs twice (the YAML reader refuses
/// that; a mapping built by hand could hold it), a lookup finds the first, as a scan
/// would.
#[derive(Clone, Default)]
pub struct Mapping {
    entries: Vec<(String, Node)>,
    index: OnceLock<HashMap<String, usize>>,
}

impl Mapping {
    /// A mapping of `entries`, in that order.
    pub fn new(entries: Vec<(String, Node)>) -> Mapping {
        Mapping {
            entries,
            index: OnceLock::new(),
        }
    }

    /// The value of `key`, if any.
    pub fn get(&self, key: &str) -> Option<&Node> {
        if self.entries.len() <= INDEXED_FROM {
            return self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v);
        }
        let index = self.index.get_or_init(|| {
            let mut index = HashMap::with_capacity(self.entries.len());
            for (i, (k, _)) in self.entries.iter().enumerate() {
                index.entry(k.clone()).or_insert(i);
            }
            index
        });
        index.get(key).map(|&i| &self.entries[i].1)
    }

    /// Add an entry at the end (an index already built is kept up to date).
    pub fn push(&mut self, key: String, value: Node) {
        let at = self.entries.len();
        if let Some(index) = self.index.get_mut() {
            index.entry(key.clone()).or_insert(at);
        }
        self.entries.push((key, value));
    }

    /// The entries, in order.
    pub fn into_vec(self) -> Vec<(String, Node)> {
        self.entries
    }
}

/// A string node at `loc` (the node builders below are for trees a reader makes up:
/// lowered inputs, expansions; each made-up node carries the place it stands for).
pub fn text(s: impl Into<String>, loc: &Loc) -> Node {
    Node {
        kind: Kind::Scalar(s.into(), ScalarType::Str),
        loc: loc.clone(),
    }
}

/// A mapping node at `loc`, its entries in order.
pub fn map<K: Into<String>>(entries: Vec<(K, Node)>, loc: &Loc) -> Node {
    Node {
        kind: Kind::Map(Mapping::new(
            entries.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        )),
        loc: loc.clone(),
    }
}

/// A list node at `loc`.
pub fn seq(items: Vec<Node>, loc: &Loc) -> Node {
    Node {
        kind: Kind::Seq(items),
        loc: loc.clone(),
    }
}

/// `{"Ref": target}` at `loc`.
pub fn reference(target: impl Into<String>, loc: &Loc) -> Node {
    map(vec![("Ref", text(target, loc))], loc)
}

/// `{"Fn::GetAtt": [logical, attribute]}` at `loc`.
pub fn get_att(logical: impl Into<String>, attribute: impl Into<String>, loc: &Loc) -> Node {
    map(
        vec![(
            "Fn::GetAtt",
            seq(vec![text(logical, loc), text(attribute, loc)], loc),
        )],
        loc,
    )
}

impl From<Vec<(String, Node)>> for Mapping {
    fn from(entries: Vec<(String, Node)>) -> Mapping {
        Mapping::new(entries)
    }
}

impl FromIterator<(String, Node)> for Mapping {
    fn from_iter<I: IntoIterator<Item = (String, Node)>>(entries: I) -> Mapping {
        Mapping::new(entries.into_iter().collect())
    }
}

impl Deref for Mapping {
    type Target = [(String, Node)];

    fn deref(&self) -> &[(String, Node)] {
        &self.entries
    }
}

impl<'a> IntoIterator for &'a Mapping {
    type Item = &'a (String, Node);
    type IntoIter = std::slice::Iter<'a, (String, Node)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}

impl PartialEq for Mapping {
    fn eq(&self, other: &Mapping) -> bool {
        self.entries == other.entries
    }
}

impl fmt::Debug for Mapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.entries.iter()).finish()
    }
}

impl Node {
    /// The value of `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            Kind::Map(entries) => entries.get(key),
            Kind::Null | Kind::Scalar(..) | Kind::Seq(_) => None,
        }
    }

    /// The text of a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar(s, _) => Some(s),
            _ => None,
        }
    }

    /// The entries of a mapping.
    pub fn as_map(&self) -> Option<&[(String, Node)]> {
        match &self.kind {
            Kind::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The items of a sequence.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            Kind::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// A mapping with exactly one key: the form of every intrinsic function.
    pub fn single_entry(&self) -> Option<(&str, &Node)> {
        match &self.kind {
            Kind::Map(m) if m.len() == 1 => Some((&m[0].0, &m[0].1)),
            _ => None,
        }
    }

    /// A short description for messages: "a mapping", "the string \"x\"", ...
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Null => "null".to_string(),
            Kind::Scalar(s, _) => format!("{s:?}"),
            Kind::Seq(items) => format!("a list of {} item(s)", items.len()),
            Kind::Map(_) => "a mapping".to_string(),
        }
    }
}

/// CloudFormation's short-form tags and the long names they stand for.
const SHORT_TAGS: &[(&str, &str)] = &[
    ("Ref", "Ref"),
    ("Condition", "Condition"),
    ("GetAtt", "Fn::GetAtt"),
    ("Sub", "Fn::Sub"),
    ("Join", "Fn::Join"),
    ("Select", "Fn::Select"),
    ("Split", "Fn::Split"),
    ("If", "Fn::If"),
    ("Equals", "Fn::Equals"),
    ("Not", "Fn::Not"),
    ("And", "Fn::And"),
    ("Or", "Fn::Or"),
    ("ImportValue", "Fn::ImportValue"),
    ("FindInMap", "Fn::FindInMap"),
    ("Base64", "Fn::Base64"),
    ("GetAZs", "Fn::GetAZs"),
    ("Cidr", "Fn::Cidr"),
    ("Transform", "Fn::Transform"),
];

/// Largest template file read, a guard against runaway inputs.
pub const MAX_TEMPLATE_BYTES: usize = 16 * 1024 * 1024;

/// Parse YAML (or JSON, which is YAML) text into a node tree.
pub fn parse(file: &Arc<str>, text: &str) -> Result<Node, TemplateError> {
    check_line_breaks(file, text)?;
    check_depth(file, text)?;
    let docs = MarkedYaml::load_from_str(text).map_err(|e| {
        TemplateError::at(
            clamped(file, text, e.marker().line(), e.marker().col() + 1),
            format!(
                "invalid YAML: {}{}",
                e.info(),
                super::hints::flattened(text, e.marker().line().saturating_sub(1)).unwrap_or("")
            ),
        )
    })?;
    match docs.len() {
        0 => Err(TemplateError::at(
            Loc {
                file: file.clone(),
                line: 1,
                column: 1,
            },
            "the file holds no YAML document".to_string(),
        )),
        1 => lower(&Source { file, text }, &docs[0], 0),
        n => Err(TemplateError::at(
            Loc {
                file: file.clone(),
                line: 1,
                column: 1,
            },
            format!("the file holds {n} YAML documents; a template is one document"),
        )),
    }
}

/// Refuse a carriage return that is not followed by a line feed. YAML counts it as a line
/// break, while locations (and the snippets drawn from them) count line feeds, as JSON
/// policies do: such a file would be reported at one line and drawn at another. LF and
/// CRLF line breaks agree in both.
fn check_line_breaks(file: &Arc<str>, text: &str) -> Result<(), TemplateError> {
    let bytes = text.as_bytes();
    let Some(at) =
        (0..bytes.len()).find(|&i| bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n'))
    else {
        return Ok(());
    };
    let before = &text[..at];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Err(TemplateError::at(
        Loc {
            file: file.clone(),
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        },
        "a carriage return not followed by a line feed: use LF or CRLF line breaks".to_string(),
    ))
}

/// A location the YAML reader gave, kept inside the text: at the end of a file without a
/// final line feed it names the line after the last one, which the text does not have.
fn clamped(file: &Arc<str>, text: &str, line: usize, column: usize) -> Loc {
    let lines = text.matches('\n').count() + 1;
    if line <= lines {
        return Loc {
            file: file.clone(),
            line,
            column,
        };
    }
    let last = text.rfind('\n').map_or(text, |i| &text[i + 1..]);
    Loc {
        file: file.clone(),
        line: lines,
        column: last.chars().count() + 1,
    }
}

/// Nesting deeper than this is refused (templates are shallow; this keeps recursion safe).
pub const MAX_DEPTH: usize = 200;

/// How deep `node`'s collections nest (a scalar is 0), counted without recursion.
pub fn depth(node: &Node) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(node, 0usize)];
    while let Some((n, d)) = stack.pop() {
        match &n.kind {
            Kind::Seq(items) => stack.extend(items.iter().map(|i| (i, d + 1))),
            Kind::Map(entries) => stack.extend(entries.iter().map(|(_, v)| (v, d + 1))),
            Kind::Null | Kind::Scalar(..) => {}
        }
        deepest = deepest.max(d + usize::from(matches!(n.kind, Kind::Seq(_) | Kind::Map(_))));
    }
    deepest
}

/// Refuse collections nested deeper than [`MAX_DEPTH`] before the tree is built: the YAML
/// loader, the tree's destructor and [`lower`] recurse once per level, so a few kilobytes
/// of compact nesting (`- - - ...`, `? ? ...`) would overflow the stack (at about 3,000
/// levels on an 8 MiB main thread in a debug build). saphyr's event parser is iterative,
/// so this pass is linear in the text and its stack use is constant. A syntax error ends
/// the pass: the loader then reports it, having nested no deeper than the limit to get
/// there.
fn check_depth(file: &Arc<str>, text: &str) -> Result<(), TemplateError> {
    use saphyr_parser::{Event, Parser};
    let mut depth = 0usize;
    for event in Parser::new_from_str(text) {
        let Ok((event, span)) = event else {
            return Ok(());
        };
        match event {
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(TemplateError::at(
                        clamped(file, text, span.start.line(), span.start.col() + 1),
                        format!("nesting deeper than {MAX_DEPTH} levels"),
                    ));
                }
            }
            Event::SequenceEnd | Event::MappingEnd => depth = depth.saturating_sub(1),
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart(_)
            | Event::DocumentEnd
            | Event::Alias(_)
            | Event::Scalar(..) => {}
        }
    }
    Ok(())
}

/// The file being lowered: its name and text (numbers keep their written form).
struct Source<'a> {
    file: &'a Arc<str>,
    text: &'a str,
}

impl Source<'_> {
    /// The text between two character indices (saphyr counts characters).
    fn chars(&self, start: usize, end: usize) -> Option<&str> {
        if self.text.is_ascii() {
            return self.text.get(start..end);
        }
        let mut it = self
            .text
            .char_indices()
            .map(|(i, _)| i)
            .chain([self.text.len()]);
        let s = it.nth(start)?;
        let e = if end > start {
            it.nth(end - start - 1)?
        } else {
            s
        };
        self.text.get(s..e)
    }
}

fn lower(src: &Source<'_>, y: &MarkedYaml<'_>, depth: usize) -> Result<Node, TemplateError> {
    let file = src.file;
    let loc = Loc {
        file: file.clone(),
        line: y.span.start.line(),
        column: y.span.start.col() + 1,
    };
    if depth > MAX_DEPTH {
        return Err(TemplateError::at(
            loc,
            format!("nesting deeper than {MAX_DEPTH} levels"),
        ));
    }
    let kind = match &y.data {
        YamlData::Value(s @ (Scalar::Integer(_) | Scalar::FloatingPoint(_))) => {
            // Keep a number as written (`012345678901`, `1.50`): CloudFormation passes
            // the text on, and YAML 1.2 would drop leading zeros and trailing digits.
            match src.chars(y.span.start.index(), y.span.end.index()) {
                Some(raw) if !raw.trim().is_empty() => {
                    Kind::Scalar(raw.trim().to_string(), ScalarType::Number)
                }
                _ => scalar(s),
            }
        }
        YamlData::Value(s) => scalar(s),
        YamlData::Representation(text, _, _) => Kind::Scalar(text.to_string(), ScalarType::Str),
        YamlData::Sequence(items) => Kind::Seq(
            items
                .iter()
                .map(|i| lower(src, i, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        YamlData::Mapping(map) => {
            let mut entries = Vec::with_capacity(map.len());
            for (k, v) in map {
                let key = match &k.data {
                    YamlData::Value(s) => match scalar(s) {
                        Kind::Scalar(text, _) => text,
                        _ => String::new(),
                    },
                    YamlData::Representation(text, _, _) => text.to_string(),
                    _ => {
                        return Err(TemplateError::at(
                            Loc {
                                file: file.clone(),
                                line: k.span.start.line(),
                                column: k.span.start.col() + 1,
                            },
                            "a mapping key must be a string".to_string(),
                        ));
                    }
                };
                entries.push((key, lower(src, v, depth + 1)?));
            }
            Kind::Map(Mapping::new(entries))
        }
        YamlData::Tagged(tag, inner) => {
            let mut inner_node = lower(src, inner, depth + 1)?;
            // Tagged scalars carry no span of their own in saphyr: use the tag's.
            inner_node.loc = loc.clone();
            return tagged(&tag.handle, &tag.suffix, inner_node, loc);
        }
        YamlData::Alias(_) => {
            return Err(TemplateError::at(
                loc,
                "YAML aliases are not supported in templates".to_string(),
            ));
        }
        YamlData::BadValue => {
            return Err(TemplateError::at(loc, "invalid YAML value".to_string()));
        }
    };
    Ok(Node { kind, loc })
}

fn scalar(s: &Scalar<'_>) -> Kind {
    match s {
        Scalar::Null => Kind::Null,
        Scalar::Boolean(b) => Kind::Scalar(b.to_string(), ScalarType::Bool),
        Scalar::Integer(i) => Kind::Scalar(i.to_string(), ScalarType::Number),
        Scalar::FloatingPoint(f) => Kind::Scalar(f.to_string(), ScalarType::Number),
        Scalar::String(s) => Kind::Scalar(s.to_string(), ScalarType::Str),
    }
}

/// Lower `!Tag value` into the long form `{"Fn::Tag": value}`.
fn tagged(handle: &str, suffix: &str, inner: Node, loc: Loc) -> Result<Node, TemplateError> {
    if handle == "!!" {
        // Core-schema tags: `!!str 123` is the string "123".
        return Ok(match (suffix, inner.kind) {
            ("str", Kind::Scalar(s, _)) => Node {
                kind: Kind::Scalar(s, ScalarType::Str),
                loc,
            },
            (_, kind) => Node { kind, loc },
        });
    }
    if handle != "!" {
        return Err(TemplateError::at(
            loc,
            format!("unknown YAML tag {handle}{suffix}"),
        ));
    }
    let Some(&(_, long)) = SHORT_TAGS.iter().find(|(short, _)| *short == suffix) else {
        return Err(TemplateError::at(
            loc,
            format!(
                "unknown YAML tag !{suffix} (CloudFormation's short forms are {})",
                SHORT_TAGS
                    .iter()
                    .map(|(s, _)| format!("!{s}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    };
    // `!GetAtt Logical.Attr` is the list form's shorthand.
    let value = match (long, &inner.kind) {
        ("Fn::GetAtt", Kind::Scalar(s, _)) => match s.split_once('.') {
            Some((l, a)) => Node {
                kind: Kind::Seq(vec![
                    Node {
                        kind: Kind::Scalar(l.to_string(), ScalarType::Str),
                        loc: inner.loc.clone(),
                    },
                    Node {
                        kind: Kind::Scalar(a.to_string(), ScalarType::Str),
                        loc: inner.loc.clone(),
                    },
                ]),
                loc: inner.loc.clone(),
            },
            None => inner,
        },
        _ => inner,
    };
    Ok(Node {
        kind: Kind::Map(Mapping::new(vec![(long.to_string(), value)])),
        loc,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Node {
        parse(&Arc::from("t.yml"), text).unwrap()
    }

    #[test]
    fn short_and_long_forms_are_the_same_node() {
        let short = p("a: !Ref Foo\nb: !GetAtt Bucket.Arn\nc: !Join ['', [x, !Ref Y]]\n");
        let long = p(
            "a: {Ref: Foo}\nb: {Fn::GetAtt: [Bucket, Arn]}\nc: {Fn::Join: ['', [x, {Ref: Y}]]}\n",
        );
        let strip = |n: &Node| serde_json::to_string(&super::super::to_json_unchecked(n)).unwrap();
        assert_eq!(strip(&short), strip(&long));
    }

    /// The error's location and message.
    fn error(text: &str) -> (usize, usize, String) {
        let e = parse(&Arc::from("t.yml"), text).unwrap_err();
        let loc = e.loc().expect("located");
        (loc.line, loc.column, e.to_string())
    }

    #[test]
    fn locations_stay_inside_the_text() {
        // A bare CR is a YAML line break but not a line for locations and snippets: the
        // error was reported at line 2 of a one-line file, and drawn elsewhere.
        let (line, column, message) = error("a: 1\nb: x\ry\n");
        assert_eq!((line, column), (2, 5));
        assert!(
            message.ends_with(
                "a carriage return not followed by a line feed: use LF or CRLF line breaks"
            ),
            "{message}"
        );
        assert_eq!(error("\r\u{1}").0, 1);
        // CRLF line breaks are lines for both.
        assert_eq!(p("a: 1\r\nb: [x]\r\n").get("b").unwrap().loc.line, 2);
        let (line, column, _) = error("a: 1\r\nb: [x\r\nc: d]\r\nx: {");
        assert!(line <= 4 && column <= 5, "{line}:{column}");
        // An error at the end of a file without a final line feed: its last line, not the
        // line after it.
        let (line, column, _) = error("a: [A");
        assert_eq!((line, column), (1, 6));
    }

    #[test]
    fn locations_are_one_based() {
        let n = p("a:\n  b: !Ref X\n");
        let b = n.get("a").unwrap().get("b").unwrap();
        assert_eq!((b.loc.line, b.loc.column), (2, 6));
    }

    #[test]
    fn errors() {
        let e = parse(&Arc::from("t.yml"), "a: [b\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.yml:2:1: invalid YAML: while parsing a flow sequence, expected ',' or ']'"
        );
        let e = parse(&Arc::from("t.yml"), "a: !Reff X\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("t.yml:1:4: unknown YAML tag !Reff"),
            "{e}"
        );
        let e = parse(&Arc::from("t.yml"), "a: 1\na: 2\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.yml:2:1: invalid YAML: duplicated key in mapping"
        );
    }
}
#[cfg(test)]
mod number_text {
    use super::*;
    #[test]
    fn numbers_keep_their_text() {
        let n = parse(
            &Arc::from("t.yml"),
            "a: [x, 012345678901]\nb: 012345678901\nc: 1.50\n",
        )
        .unwrap();
        assert_eq!(n.get("b").unwrap().as_str(), Some("012345678901"));
        assert_eq!(n.get("c").unwrap().as_str(), Some("1.50"));
        assert_eq!(
            n.get("a").unwrap().as_seq().unwrap()[1].as_str(),
            Some("012345678901")
        );
    }
}

#[cfg(test)]
mod mapping {
    use super::*;

    fn s(text: &str) -> Node {
        Node {
            kind: Kind::Scalar(text.to_string(), ScalarType::Str),
            loc: Loc {
                file: Arc::from("t.yml"),
                line: 1,
                column: 1,
            },
        }
    }

    #[test]
    fn lookups_find_the_first_entry_small_or_large() {
        for n in [3, INDEXED_FROM, 1_000] {
            let mut entries: Vec<(String, Node)> = (0..n)
                .map(|i| (format!("k{i}"), s(&format!("v{i}"))))
                .collect();
            entries.push(("k1".to_string(), s("second")));
            let mut m = Mapping::new(entries);
            assert_eq!(m.get("k1").and_then(Node::as_str), Some("v1"), "{n}");
            assert_eq!(m.get("nothing"), None);
            // An entry added after a lookup is found too.
            m.push("late".to_string(), s("here"));
            m.push("k2".to_string(), s("again"));
            assert_eq!(m.get("late").and_then(Node::as_str), Some("here"), "{n}");
            assert_eq!(m.get("k2").and_then(Node::as_str), Some("v2"), "{n}");
            assert_eq!(m.len(), n + 3);
            assert_eq!(m[0].0, "k0", "document order is kept");
        }
    }
}
