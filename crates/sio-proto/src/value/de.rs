//! `Deserialize` for [`Value`], and `Deserializer` for `Value`, which turns a
//! `Value` into any `Deserialize` type.

use std::fmt;

use bytes::Bytes;
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    Unexpected, VariantAccess, Visitor,
};
use serde::Deserialize;

use super::number::N;
use super::{Map, Number, Value};

/// The error of [`from_value`]: the value does not have the shape the target
/// type expects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DeserializeError(String);

impl de::Error for DeserializeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeserializeError(msg.to_string())
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
        Ok(match (u64::try_from(v), i64::try_from(v)) {
            (Ok(u), _) => Value::from(u),
            (_, Ok(i)) => Value::from(i),
            _ => Value::from(v as f64),
        })
    }
    fn visit_u128<E>(self, v: u128) -> Result<Value, E> {
        Ok(u64::try_from(v).map_or(Value::from(v as f64), Value::from))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Bytes(Bytes::copy_from_slice(v)))
    }
    fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Value, E> {
        Ok(Value::Bytes(Bytes::from(v)))
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        // The size hint comes from the input: never trust it for more than a small pre-allocation.
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(v) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::with_capacity(map.size_hint().unwrap_or(0).min(64));
        while let Some(key) = map.next_key::<MapKey>()? {
            let value = map.next_value()?;
            out.insert(key.0, value);
        }
        Ok(Value::Object(out))
    }
}

/// A map key: a string, or a number or bool made into one (msgpack allows them).
struct MapKey(String);

impl<'de> Deserialize<'de> for MapKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<MapKey, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Ok(MapKey(s)),
            Value::Number(n) => Ok(MapKey(n.to_string())),
            Value::Bool(b) => Ok(MapKey(b.to_string())),
            Value::Null => Ok(MapKey("null".to_owned())),
            other => Err(de::Error::custom(format_args!(
                "a map key must be a string or a number, not {}",
                other.kind()
            ))),
        }
    }
}

/// Converts a [`Value`] into any `Deserialize` type.
///
/// [`Value::Bytes`] deserializes into `bytes::Bytes`, `serde_bytes::ByteBuf`
/// and `Vec<u8>`; arrays into tuples, sequences and structs (by position);
/// objects into structs and maps.
///
/// ```
/// #[derive(serde::Deserialize, Debug, PartialEq)]
/// struct Msg { text: String, at: u64 }
/// let v: sio_proto::Value = serde_json::from_str(r#"{"text":"hi","at":7}"#).unwrap();
/// let m: Msg = sio_proto::from_value(v).unwrap();
/// assert_eq!(m, Msg { text: "hi".into(), at: 7 });
/// ```
pub fn from_value<T: de::DeserializeOwned>(value: Value) -> Result<T, DeserializeError> {
    T::deserialize(value)
}

impl Value {
    fn invalid_type<E: de::Error>(&self, exp: &dyn de::Expected) -> E {
        de::Error::invalid_type(self.unexpected(), exp)
    }

    fn unexpected(&self) -> Unexpected<'_> {
        match self {
            Value::Null => Unexpected::Unit,
            Value::Bool(b) => Unexpected::Bool(*b),
            Value::Number(n) => match n.0 {
                N::PosInt(u) => Unexpected::Unsigned(u),
                N::NegInt(i) => Unexpected::Signed(i),
                N::Float(f) => Unexpected::Float(f),
            },
            Value::String(s) => Unexpected::Str(s),
            Value::Bytes(b) => Unexpected::Bytes(b),
            Value::Array(_) => Unexpected::Seq,
            Value::Object(_) => Unexpected::Map,
        }
    }
}

impl IntoDeserializer<'_, DeserializeError> for Value {
    type Deserializer = Value;
    fn into_deserializer(self) -> Value {
        self
    }
}

fn visit_number<'de, V: Visitor<'de>>(n: Number, visitor: V) -> Result<V::Value, DeserializeError> {
    match n.0 {
        N::PosInt(u) => visitor.visit_u64(u),
        N::NegInt(i) => visitor.visit_i64(i),
        N::Float(f) => visitor.visit_f64(f),
    }
}

impl<'de> Deserializer<'de> for Value {
    type Error = DeserializeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeserializeError> {
        match self {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Number(n) => visit_number(n, visitor),
            Value::String(s) => visitor.visit_string(s),
            Value::Bytes(b) => visitor.visit_byte_buf(Vec::from(b)),
            Value::Array(a) => visit_array(a, visitor),
            Value::Object(m) => visit_object(m, visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeserializeError> {
        match self {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(other),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeserializeError> {
        match self {
            Value::String(variant) => visitor.visit_enum(Enum {
                variant,
                value: None,
            }),
            Value::Object(m) if m.len() == 1 => {
                let (variant, value) = m.into_iter().next().expect("one entry");
                visitor.visit_enum(Enum {
                    variant,
                    value: Some(value),
                })
            }
            other => Err(other.invalid_type(&"a string or an object with one key")),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeserializeError> {
        visitor.visit_newtype_struct(self)
    }

    /// Bytes as a sequence of numbers, so that `Vec<u8>` fields work.
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeserializeError> {
        match self {
            Value::Bytes(b) => visitor.visit_seq(de::value::SeqDeserializer::new(b.into_iter())),
            Value::Array(a) => visit_array(a, visitor),
            other => Err(other.invalid_type(&visitor)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeserializeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeserializeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(
        self,
        visitor: V,
    ) -> Result<V::Value, DeserializeError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct map struct identifier
    }
}

fn visit_array<'de, V: Visitor<'de>>(
    a: Vec<Value>,
    visitor: V,
) -> Result<V::Value, DeserializeError> {
    let len = a.len();
    let mut seq = de::value::SeqDeserializer::new(a.into_iter());
    let out = visitor.visit_seq(&mut seq)?;
    // Like serde_json: a tuple that takes fewer elements than given is an
    // error here; extra arguments are dropped by the argument helpers, which
    // read the sequence themselves.
    seq.end()
        .map_err(|_| de::Error::invalid_length(len, &"fewer elements in array"))?;
    Ok(out)
}

fn visit_object<'de, V: Visitor<'de>>(m: Map, visitor: V) -> Result<V::Value, DeserializeError> {
    let mut map =
        de::value::MapDeserializer::new(m.into_iter().map(|(k, v)| (KeyDeserializer(k), v)));
    let out = visitor.visit_map(&mut map)?;
    map.end()?;
    Ok(out)
}

/// Object keys are strings on the wire; a map with integer keys reads them back
/// by parsing, as serde_json does.
struct KeyDeserializer(String);

macro_rules! parse_key {
    ($($method:ident => $visit:ident),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeserializeError> {
            match self.0.parse() {
                Ok(n) => visitor.$visit(n),
                Err(_) => Err(de::Error::invalid_value(Unexpected::Str(&self.0), &visitor)),
            }
        }
    )*};
}

impl<'de> Deserializer<'de> for KeyDeserializer {
    type Error = DeserializeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeserializeError> {
        visitor.visit_string(self.0)
    }

    parse_key! {
        deserialize_i8 => visit_i8, deserialize_i16 => visit_i16, deserialize_i32 => visit_i32,
        deserialize_i64 => visit_i64, deserialize_u8 => visit_u8, deserialize_u16 => visit_u16,
        deserialize_u32 => visit_u32, deserialize_u64 => visit_u64, deserialize_f32 => visit_f32,
        deserialize_f64 => visit_f64, deserialize_bool => visit_bool
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeserializeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeserializeError> {
        Value::String(self.0).deserialize_enum(name, variants, visitor)
    }

    serde::forward_to_deserialize_any! {
        i128 u128 char str string bytes byte_buf option unit unit_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}

impl IntoDeserializer<'_, DeserializeError> for KeyDeserializer {
    type Deserializer = KeyDeserializer;
    fn into_deserializer(self) -> KeyDeserializer {
        self
    }
}

struct Enum {
    variant: String,
    value: Option<Value>,
}

impl<'de> EnumAccess<'de> for Enum {
    type Error = DeserializeError;
    type Variant = Variant;
    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Variant), DeserializeError> {
        let v = seed.deserialize(self.variant.into_deserializer())?;
        Ok((v, Variant(self.value)))
    }
}

struct Variant(Option<Value>);

impl<'de> VariantAccess<'de> for Variant {
    type Error = DeserializeError;
    fn unit_variant(self) -> Result<(), DeserializeError> {
        match self.0 {
            None | Some(Value::Null) => Ok(()),
            Some(other) => Err(other.invalid_type(&"a unit variant")),
        }
    }
    fn newtype_variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<S::Value, DeserializeError> {
        seed.deserialize(self.0.unwrap_or(Value::Null))
    }
    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeserializeError> {
        match self.0 {
            Some(Value::Array(a)) => visit_array(a, visitor),
            Some(other) => Err(other.invalid_type(&"a tuple variant")),
            None => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"a tuple variant",
            )),
        }
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeserializeError> {
        match self.0 {
            Some(Value::Object(m)) => visit_object(m, visitor),
            Some(other) => Err(other.invalid_type(&"a struct variant")),
            None => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"a struct variant",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::to_value;
    use serde::Serialize;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    enum Shape {
        Dot,
        Circle(f64),
        Rect { w: u32, h: u32 },
        Pair(i8, i8),
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct All {
        a: Option<u8>,
        b: Vec<Shape>,
        c: (String, bool),
        #[serde(with = "serde_bytes_compat")]
        d: Vec<u8>,
        e: Bytes,
        f: std::collections::BTreeMap<u32, i64>,
    }

    // Vec<u8> as bytes, without depending on serde_bytes.
    mod serde_bytes_compat {
        pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(v)
        }
        pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
            <Vec<u8> as serde::Deserialize>::deserialize(d)
        }
    }

    #[test]
    fn round_trips_through_value() {
        let all = All {
            a: None,
            b: vec![
                Shape::Dot,
                Shape::Circle(1.5),
                Shape::Rect { w: 2, h: 3 },
                Shape::Pair(-1, 1),
            ],
            c: ("x".into(), true),
            d: vec![1, 2, 3],
            e: Bytes::from_static(&[9, 8]),
            f: [(1, -5), (10, 7)].into_iter().collect(),
        };
        let v = to_value(&all).unwrap();
        assert!(v["d"].as_bytes().is_some());
        assert_eq!(v["f"]["10"].as_i64(), Some(7));
        let back: All = from_value(v).unwrap();
        assert_eq!(back, all);
    }

    #[test]
    fn type_errors_say_what_was_found() {
        let err = from_value::<u8>(Value::from("x")).unwrap_err();
        assert!(err.to_string().contains("string \"x\""), "{err}");
        let err = from_value::<(u8, u8)>(Value::from(vec![Value::from(1)])).unwrap_err();
        assert!(err.to_string().contains("invalid length"), "{err}");
    }
}
