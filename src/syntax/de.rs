//! Typed models from the spanned tree: a serde `Deserializer` over [`Node`], and [`Spanned<T>`].
//!
//! Checks after the schema stage work on typed structs (`#[derive(Deserialize)]`), but they still
//! need to point into the file. A field declared `Spanned<T>` receives the byte range of its node, the
//! way `toml::Spanned` works: `Spanned`'s `Deserialize` asks for a struct with a private name, and
//! this deserializer answers that request with the node's span. Other deserializers never see that
//! name, because models are only read from nodes.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};
use serde::{Deserialize, Serialize};

use super::{Member, Node, Span, Value};

const SPANNED: &str = "$__trustc_private_Spanned";
const SPANNED_START: &str = "$__trustc_private_start";
const SPANNED_END: &str = "$__trustc_private_end";
const SPANNED_VALUE: &str = "$__trustc_private_value";
const SPANNED_FIELDS: &[&str] = &[SPANNED_START, SPANNED_END, SPANNED_VALUE];
const ONE_OR_MANY: &str = "$__trustc_private_OneOrMany";

/// Reads either one value or a list of values as a list, keeping each element's span (serde's
/// `untagged` enums buffer values and lose spans, so this asks the node deserializer directly).
pub fn one_or_many<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct ListVisitor<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a value or a list of values")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut items = Vec::new();
            while let Some(item) = seq.next_element()? {
                items.push(item);
            }
            Ok(items)
        }
    }
    deserializer.deserialize_newtype_struct(ONE_OR_MANY, ListVisitor(PhantomData))
}

/// A value and the byte range it came from. Compares, hashes and serializes as the bare value.
#[derive(Clone, Default)]
pub struct Spanned<T> {
    pub span: Span,
    pub value: T,
}

impl<T> Spanned<T> {
    pub fn new(span: Span, value: T) -> Spanned<T> {
        Spanned { span, value }
    }
}

impl<T> std::ops::Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: fmt::Debug> fmt::Debug for Spanned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl<T: PartialEq> PartialEq for Spanned<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<T: Eq> Eq for Spanned<T> {}

impl<T: std::hash::Hash> std::hash::Hash for Spanned<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.value.hash(state)
    }
}

impl<T: Serialize> Serialize for Spanned<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Spanned<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SpannedVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for SpannedVisitor<T> {
            type Value = Spanned<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value read from a trustc document")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Spanned<T>, A::Error> {
                let start = map.next_entry::<&str, u32>()?;
                let end = map.next_entry::<&str, u32>()?;
                let value = map.next_key::<&str>()?;
                match (start, end, value) {
                    (
                        Some((SPANNED_START, start)),
                        Some((SPANNED_END, end)),
                        Some(SPANNED_VALUE),
                    ) => Ok(Spanned {
                        span: Span { start, end },
                        value: map.next_value()?,
                    }),
                    _ => Err(de::Error::custom(
                        "spanned values can only be read from a trustc document",
                    )),
                }
            }
        }
        deserializer.deserialize_struct(SPANNED, SPANNED_FIELDS, SpannedVisitor(PhantomData))
    }
}

/// A map in file order with spanned keys (attribute names, locales). Duplicate keys cannot occur:
/// both parsers reject them.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderedMap<T>(pub Vec<(Spanned<String>, T)>);

impl<T> Default for OrderedMap<T> {
    fn default() -> Self {
        OrderedMap(Vec::new())
    }
}

impl<T> OrderedMap<T> {
    pub fn get(&self, key: &str) -> Option<&T> {
        self.0.iter().find(|(k, _)| k.value == key).map(|(_, v)| v)
    }

    pub fn get_entry(&self, key: &str) -> Option<(&Spanned<String>, &T)> {
        self.0
            .iter()
            .find(|(k, _)| k.value == key)
            .map(|(k, v)| (k, v))
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Spanned<String>, &T)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &Spanned<String>> {
        self.0.iter().map(|(k, _)| k)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<T: Serialize> Serialize for OrderedMap<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(&k.value, v)?;
        }
        map.end()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OrderedMap<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for MapVisitor<T> {
            type Value = OrderedMap<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedMap<T>, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(OrderedMap(entries))
            }
        }
        deserializer.deserialize_map(MapVisitor(PhantomData))
    }
}

/// A typed model could not be read from a node. The schema stage runs first, so this means the
/// schema and the model disagree or a value is out of the model's range; it is still reported at
/// the node.
#[derive(Debug, Clone, PartialEq)]
pub struct DeError {
    pub span: Option<Span>,
    pub message: String,
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            span: None,
            message: msg.to_string(),
        }
    }
}

/// Reads a typed model from a node.
pub fn from_node<'de, T: Deserialize<'de>>(node: &'de Node) -> Result<T, DeError> {
    T::deserialize(NodeDeserializer(node))
}

/// Attaches the span of the innermost node that failed.
fn at<T>(span: Span, result: Result<T, DeError>) -> Result<T, DeError> {
    result.map_err(|mut e| {
        e.span.get_or_insert(span);
        e
    })
}

#[derive(Clone, Copy)]
struct NodeDeserializer<'de>(&'de Node);

impl<'de> NodeDeserializer<'de> {
    fn unexpected(&self) -> de::Unexpected<'de> {
        match &self.0.value {
            Value::Null => de::Unexpected::Unit,
            Value::Bool(b) => de::Unexpected::Bool(*b),
            Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => de::Unexpected::Unsigned(u),
                (_, Some(i), _) => de::Unexpected::Signed(i),
                (_, _, Some(f)) => de::Unexpected::Float(f),
                _ => de::Unexpected::Other("number"),
            },
            Value::String(s) => de::Unexpected::Str(s),
            Value::Array(_) => de::Unexpected::Seq,
            Value::Object(_) => de::Unexpected::Map,
        }
    }
}

impl<'de> Deserializer<'de> for NodeDeserializer<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let span = self.0.span;
        let result = match &self.0.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => visitor.visit_seq(SeqDeserializer {
                items: items.iter(),
            }),
            Value::Object(members) => visitor.visit_map(MapDeserializer {
                members: members.iter(),
                value: None,
            }),
        };
        at(span, result)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0.value {
            Value::Null => visitor.visit_none(),
            _ => at(self.0.span, visitor.visit_some(self)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        struct_or_spanned(self, self.0.span, name, visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let span = self.0.span;
        let result = match &self.0.value {
            // A unit variant written as a string: `type: text`.
            Value::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            // A variant with data written as a single-key mapping: `constant: BC`.
            Value::Object(members) if members.len() == 1 => visitor.visit_enum(EnumDeserializer {
                member: &members[0],
            }),
            _ => Err(de::Error::invalid_type(
                self.unexpected(),
                &"a string or a single-key mapping",
            )),
        };
        at(span, result)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        if name == ONE_OR_MANY {
            let items = match &self.0.value {
                Value::Array(items) => items.as_slice(),
                _ => std::slice::from_ref(self.0),
            };
            return at(
                self.0.span,
                visitor.visit_seq(SeqDeserializer {
                    items: items.iter(),
                }),
            );
        }
        at(self.0.span, visitor.visit_newtype_struct(self))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

/// `deserialize_struct` of the node and the key deserializers: `Spanned`'s request (the struct
/// named [`SPANNED`]) gets `span` and then the value itself; any other struct is read as the value.
fn struct_or_spanned<'de, D, V>(
    deserializer: D,
    span: Span,
    name: &str,
    visitor: V,
) -> Result<V::Value, DeError>
where
    D: Deserializer<'de, Error = DeError>,
    V: Visitor<'de>,
{
    if name == SPANNED {
        return visitor.visit_map(SpannedDeserializer {
            span,
            value: Some(deserializer),
            state: 0,
        });
    }
    deserializer.deserialize_any(visitor)
}

/// Feeds `Spanned`'s visitor: start, end, then the value itself (a node's or a key's
/// deserializer).
struct SpannedDeserializer<D> {
    span: Span,
    value: Option<D>,
    state: u8,
}

impl<'de, D: Deserializer<'de, Error = DeError>> MapAccess<'de> for SpannedDeserializer<D> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let key = match self.state {
            0 => SPANNED_START,
            1 => SPANNED_END,
            2 => SPANNED_VALUE,
            _ => return Ok(None),
        };
        seed.deserialize(BorrowedStrDeserializer::new(key))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        self.state += 1;
        match self.state {
            1 => seed.deserialize(self.span.start.into_deserializer()),
            2 => seed.deserialize(self.span.end.into_deserializer()),
            _ => match self.value.take() {
                Some(value) => seed.deserialize(value),
                None => Err(de::Error::custom("spanned value read twice")),
            },
        }
    }
}

struct SeqDeserializer<'de> {
    items: std::slice::Iter<'de, Node>,
}

impl<'de> SeqAccess<'de> for SeqDeserializer<'de> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.items.next() {
            Some(node) => at(node.span, seed.deserialize(NodeDeserializer(node))).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct MapDeserializer<'de> {
    members: std::slice::Iter<'de, Member>,
    value: Option<&'de Node>,
}

impl<'de> MapAccess<'de> for MapDeserializer<'de> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match self.members.next() {
            Some(member) => {
                self.value = Some(&member.value);
                let key = KeyDeserializer {
                    key: &member.key,
                    span: member.key_span,
                };
                at(member.key_span, seed.deserialize(key)).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        match self.value.take() {
            Some(node) => at(node.span, seed.deserialize(NodeDeserializer(node))),
            None => Err(de::Error::custom("map value requested before its key")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.members.len())
    }
}

/// A mapping key: a string with a span, readable as `String`, `&str`, `Spanned<String>`, a field
/// identifier, or a unit enum variant.
struct KeyDeserializer<'de> {
    key: &'de str,
    span: Span,
}

impl<'de> Deserializer<'de> for KeyDeserializer<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_borrowed_str(self.key)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let span = self.span;
        struct_or_spanned(self, span, name, visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_enum(self.key.into_deserializer())
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

struct EnumDeserializer<'de> {
    member: &'de Member,
}

impl<'de> EnumAccess<'de> for EnumDeserializer<'de> {
    type Error = DeError;
    type Variant = VariantDeserializer<'de>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), DeError> {
        let key = KeyDeserializer {
            key: &self.member.key,
            span: self.member.key_span,
        };
        let variant = at(self.member.key_span, seed.deserialize(key))?;
        Ok((variant, VariantDeserializer(&self.member.value)))
    }
}

struct VariantDeserializer<'de>(&'de Node);

impl<'de> VariantAccess<'de> for VariantDeserializer<'de> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        match self.0.value {
            Value::Null => Ok(()),
            _ => Err(DeError {
                span: Some(self.0.span),
                message: "this variant takes no value".to_string(),
            }),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        at(self.0.span, seed.deserialize(NodeDeserializer(self.0)))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        NodeDeserializer(self.0).deserialize_any(visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        NodeDeserializer(self.0).deserialize_any(visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::yaml;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Model {
        id: Spanned<String>,
        #[serde(default)]
        count: Option<Spanned<u32>>,
        kind: Spanned<Kind>,
        attributes: OrderedMap<Spanned<Attr>>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "kebab-case")]
    enum Kind {
        Text,
        DateTime,
    }

    #[derive(Debug, Deserialize)]
    struct Attr {
        label: String,
    }

    const TEXT: &str =
        "id: person\ncount: 3\nkind: date-time\nattributes:\n  b: {label: Bee}\n  a: {label: Ay}\n";

    #[test]
    fn spanned_fields_carry_their_byte_ranges() {
        let node = yaml::parse(TEXT).unwrap();
        let model: Model = from_node(&node).unwrap();
        assert_eq!(&TEXT[model.id.span.range()], "person");
        assert_eq!(model.count.as_ref().unwrap().value, 3);
        assert_eq!(model.kind.value, Kind::DateTime);
        let keys: Vec<_> = model
            .attributes
            .keys()
            .map(|k| &TEXT[k.span.range()])
            .collect();
        assert_eq!(keys, ["b", "a"]);
        let (_, attr) = model.attributes.get_entry("a").unwrap();
        assert_eq!(attr.label, "Ay");
        assert_eq!(&TEXT[attr.span.range()][..1], "{");
    }

    #[test]
    fn errors_point_at_the_innermost_node() {
        let text = "id: person\ncount: many\nkind: text\nattributes: {}\n";
        let node = yaml::parse(text).unwrap();
        let err = from_node::<Model>(&node).unwrap_err();
        assert_eq!(&text[err.span.unwrap().range()], "many");
        let text = "id: person\nkind: text\nattributes: {}\nextra: 1\n";
        let err = from_node::<Model>(&yaml::parse(text).unwrap()).unwrap_err();
        assert!(
            err.message.contains("unknown field `extra`"),
            "{}",
            err.message
        );
        assert_eq!(&text[err.span.unwrap().range()], "extra");
    }
}
