//! A `serde` deserializer over the template value tree ([`Node`]): the gate file is read
//! into derived `Deserialize` types, and every error names the node it is about.
//!
//! Messages name a value the way the gate file does: by its key (`action must be a
//! string, found a mapping`), by the struct's serde name for a mapping (`an expect entry
//! must be a mapping, found null`), or by a newtype's serde name, which relabels what it
//! wraps (`#[serde(rename = "template.file")] struct TemplateFile(String)`).
//!
//! Scalars of any YAML type are read as strings (`n: 12` is the string `"12"`), and a
//! key that is present is `Some` even when its value is `null` (which then is not a
//! string): `name: ~` is an error, not a missing name.
//!
//! Two types of this module use a protocol only this deserializer speaks: [`Spanned`]
//! (a value and its [`Loc`]) and [`OneOrMany`] (a list, or one item standing for a list
//! of one).

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{BorrowedStrDeserializer, U64Deserializer};
use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess};
use serde::{Deserialize, forward_to_deserialize_any};

use crate::loc::Loc;
use crate::template::node::{Kind, Node};

/// Why a node does not fit the type read from it, and where (once known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeError {
    /// The node the error is about; `None` until the error leaves that node.
    pub loc: Option<Loc>,
    /// What is wrong.
    pub message: String,
}

impl DeError {
    fn at(loc: &Loc, message: String) -> DeError {
        DeError {
            loc: Some(loc.clone()),
            message,
        }
    }

    /// The error, placed at `loc` unless a node inside already placed it.
    fn or_at(mut self, loc: &Loc) -> DeError {
        if self.loc.is_none() {
            self.loc = Some(loc.clone());
        }
        self
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.loc {
            Some(loc) => write!(f, "{loc}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> DeError {
        DeError {
            loc: None,
            message: msg.to_string(),
        }
    }
}

/// Read a `T` from `node`.
pub(crate) fn from_node<'de, T: Deserialize<'de>>(node: &'de Node) -> Result<T, DeError> {
    T::deserialize(NodeDe { node, label: "" }).map_err(|e| e.or_at(&node.loc))
}

/// The struct name [`Spanned`] asks for.
const SPANNED: &str = "$policy_sim::gate::Spanned";
/// The fields [`Spanned`] reads, in order.
const SPANNED_FIELDS: &[&str] = &["file", "line", "column", "value"];
/// The newtype name [`OneOrMany`] asks for.
const ONE_OR_MANY: &str = "$policy_sim::gate::OneOrMany";

/// A value with the location of its node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Spanned<T> {
    /// Where the value's node starts.
    pub loc: Loc,
    /// The value.
    pub value: T,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Spanned<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> de::Visitor<'de> for Visit<T> {
            type Value = Spanned<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value with its location")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Spanned<T>, A::Error> {
                let file: String = field(&mut map, SPANNED_FIELDS[0])?;
                let line: usize = field(&mut map, SPANNED_FIELDS[1])?;
                let column: usize = field(&mut map, SPANNED_FIELDS[2])?;
                let value: T = field(&mut map, SPANNED_FIELDS[3])?;
                Ok(Spanned {
                    loc: Loc::new(file, line, column),
                    value,
                })
            }
        }
        fn field<'de, A: MapAccess<'de>, V: Deserialize<'de>>(
            map: &mut A,
            name: &str,
        ) -> Result<V, A::Error> {
            match map.next_key::<&str>()? {
                Some(key) if key == name => map.next_value(),
                _ => Err(de::Error::custom(
                    "a location is read only from a gate file",
                )),
            }
        }
        deserializer.deserialize_struct(SPANNED, SPANNED_FIELDS, Visit(PhantomData))
    }
}

/// A list, where one item may stand for a list of one (`policies: a.json` is
/// `policies: [a.json]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OneOrMany<T>(pub Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_newtype_struct(ONE_OR_MANY, ListVisitor::new("a list"))
            .map(OneOrMany)
    }
}

/// Collects a sequence; `expecting` is how messages name what it wants.
pub(crate) struct ListVisitor<T> {
    expecting: &'static str,
    item: PhantomData<T>,
}

impl<T> ListVisitor<T> {
    /// A visitor for a list described as `expecting` (`"a list of gates"`).
    pub(crate) fn new(expecting: &'static str) -> ListVisitor<T> {
        ListVisitor {
            expecting,
            item: PhantomData,
        }
    }
}

impl<'de, T: Deserialize<'de>> de::Visitor<'de> for ListVisitor<T> {
    type Value = Vec<T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut out = Vec::new();
        while let Some(item) = seq.next_element()? {
            out.push(item);
        }
        Ok(out)
    }
}

/// A mapping's entries in document order, values read as `V`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entries<V>(pub Vec<(String, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Entries<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> de::Visitor<'de> for Visit<V> {
            type Value = Entries<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<V>, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    out.push(entry);
                }
                Ok(Entries(out))
            }
        }
        deserializer.deserialize_map(Visit(PhantomData))
    }
}

/// One node, and how messages name it.
#[derive(Clone, Copy)]
struct NodeDe<'de> {
    node: &'de Node,
    label: &'de str,
}

impl<'de> NodeDe<'de> {
    fn mismatch(&self, what: impl fmt::Display) -> DeError {
        DeError::at(&self.node.loc, format!("{} must be {what}", self.label))
    }

    fn not_a_string(&self) -> DeError {
        self.mismatch(format_args!("a string, found {}", self.node.describe()))
    }

    fn items(&self) -> Items<'de> {
        let items = match &self.node.kind {
            Kind::Seq(items) => items.as_slice(),
            _ => std::slice::from_ref(self.node),
        };
        Items {
            items: items.iter(),
            label: self.label,
        }
    }
}

impl<'de> Deserializer<'de> for NodeDe<'de> {
    type Error = DeError;

    fn deserialize_any<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.kind {
            Kind::Null => visitor.visit_unit(),
            Kind::Scalar(s, _) => visitor.visit_borrowed_str(s),
            Kind::Seq(_) => visitor.visit_seq(self.items()),
            Kind::Map(entries) => visitor.visit_map(MapDe::new(entries)),
        }
    }

    fn deserialize_str<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.kind {
            Kind::Scalar(s, _) => visitor.visit_borrowed_str(s),
            Kind::Null | Kind::Seq(_) | Kind::Map(_) => Err(self.not_a_string()),
        }
    }

    fn deserialize_string<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        // A key that is there is a value, `null` included.
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: de::Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        if name == ONE_OR_MANY {
            return visitor.visit_seq(self.items());
        }
        visitor.visit_newtype_struct(NodeDe {
            node: self.node,
            label: name,
        })
    }

    fn deserialize_seq<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.kind {
            Kind::Seq(_) => visitor.visit_seq(self.items()),
            Kind::Null | Kind::Scalar(..) | Kind::Map(_) => {
                Err(self.mismatch(&visitor as &dyn de::Expected))
            }
        }
    }

    fn deserialize_map<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.kind {
            Kind::Map(entries) => visitor.visit_map(MapDe::new(entries)),
            Kind::Null | Kind::Scalar(..) | Kind::Seq(_) => {
                Err(self.mismatch(&visitor as &dyn de::Expected))
            }
        }
    }

    fn deserialize_struct<V: de::Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        if name == SPANNED {
            return visitor.visit_map(SpannedDe { at: self, next: 0 });
        }
        let Kind::Map(entries) = &self.node.kind else {
            return Err(DeError::at(
                &self.node.loc,
                format!("{name} must be a mapping, found {}", self.node.describe()),
            ));
        };
        // Every key is checked before any value is read: a misspelt key is the first
        // thing to say about a mapping.
        if let Some((key, value)) = entries.iter().find(|(k, _)| !fields.contains(&k.as_str())) {
            return Err(DeError::at(
                &value.loc,
                format!(
                    "unknown key {key:?} in {name} (expected one of {})",
                    fields.join(", ")
                ),
            ));
        }
        visitor.visit_map(MapDe::new(entries))
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf
        unit unit_struct tuple tuple_struct enum ignored_any
    }
}

/// The items of a sequence (or the one node standing for it), all named `label`.
struct Items<'de> {
    items: std::slice::Iter<'de, Node>,
    label: &'de str,
}

impl<'de> SeqAccess<'de> for Items<'de> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let Some(node) = self.items.next() else {
            return Ok(None);
        };
        seed.deserialize(NodeDe {
            node,
            label: self.label,
        })
        .map(Some)
        .map_err(|e| e.or_at(&node.loc))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// The entries of a mapping; each value is named by its key.
struct MapDe<'de> {
    entries: std::slice::Iter<'de, (String, Node)>,
    value: Option<&'de (String, Node)>,
}

impl<'de> MapDe<'de> {
    fn new(entries: &'de [(String, Node)]) -> MapDe<'de> {
        MapDe {
            entries: entries.iter(),
            value: None,
        }
    }
}

impl<'de> MapAccess<'de> for MapDe<'de> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some(entry) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some(entry);
        seed.deserialize(BorrowedStrDeserializer::<DeError>::new(&entry.0))
            .map(Some)
            .map_err(|e| e.or_at(&entry.1.loc))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let (key, node) = self
            .value
            .take()
            .ok_or_else(|| <DeError as de::Error>::custom("a value without its key"))?;
        seed.deserialize(NodeDe { node, label: key })
            .map_err(|e| e.or_at(&node.loc))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// A node as [`Spanned`] reads it: its location's parts, then the node itself.
struct SpannedDe<'de> {
    at: NodeDe<'de>,
    next: usize,
}

impl<'de> MapAccess<'de> for SpannedDe<'de> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match SPANNED_FIELDS.get(self.next) {
            Some(name) => seed
                .deserialize(BorrowedStrDeserializer::new(name))
                .map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let loc = &self.at.node.loc;
        let number = |n: usize| -> U64Deserializer<DeError> { (n as u64).into_deserializer() };
        self.next += 1;
        match self.next {
            1 => seed.deserialize(BorrowedStrDeserializer::new(&loc.file)),
            2 => seed.deserialize(number(loc.line)),
            3 => seed.deserialize(number(loc.column)),
            _ => seed.deserialize(self.at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn node(text: &str) -> Node {
        crate::template::node::parse(&Arc::from("t.yml"), text).unwrap()
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename = "a thing")]
    struct Thing {
        name: Option<String>,
        tags: Option<OneOrMany<Spanned<String>>>,
        more: Option<Entries<Label>>,
    }

    #[test]
    fn entries_keep_their_order() {
        let n = node("more: {b: x, a: y}\n");
        let t: Thing = from_node(&n).unwrap();
        let keys: Vec<String> = t.more.unwrap().0.into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["b", "a"]);
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename = "a label")]
    struct Label(#[allow(dead_code)] String);

    fn err(text: &str) -> String {
        let n = node(text);
        from_node::<Thing>(&n).unwrap_err().to_string()
    }

    #[test]
    fn values_lists_and_locations() {
        let n = node("name: 12\ntags: a\n");
        let t: Thing = from_node(&n).unwrap();
        assert_eq!(t.name.as_deref(), Some("12"));
        let tags = t.tags.unwrap().0;
        assert_eq!(tags[0].value, "a");
        assert_eq!((tags[0].loc.line, tags[0].loc.column), (2, 7));
        let n = node("tags: [a, b]\nmore: {x: y}\n");
        let t: Thing = from_node(&n).unwrap();
        assert_eq!(t.tags.unwrap().0.len(), 2);
        assert!(t.name.is_none());
    }

    #[test]
    fn errors_name_the_node() {
        assert_eq!(
            err("name: ~\n"),
            "t.yml:1:7: name must be a string, found null"
        );
        assert_eq!(
            err("nme: x\n"),
            "t.yml:1:6: unknown key \"nme\" in a thing (expected one of name, tags, more)"
        );
        assert_eq!(
            err("- 1\n"),
            "t.yml:1:1: a thing must be a mapping, found a list of 1 item(s)"
        );
        assert_eq!(
            err("tags: [a, [b]]\n"),
            "t.yml:1:11: tags must be a string, found a list of 1 item(s)"
        );
        assert_eq!(err("more: 1\n"), "t.yml:1:7: more must be a mapping");
        assert_eq!(
            err("more: {x: [1]}\n"),
            "t.yml:1:11: a label must be a string, found a list of 1 item(s)"
        );
    }
}
