//! `Serialize` for [`Value`], and [`ValueSerializer`], which turns any
//! `Serialize` type into a `Value`.

use bytes::Bytes;
use serde::ser::{self, Serialize};

use super::{Map, Number, Value};

/// The error of [`to_value`]: a type that cannot be represented (a map key
/// that is not a string, number, bool or char), or a custom error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SerializeError(String);

impl ser::Error for SerializeError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        SerializeError(msg.to_string())
    }
}

impl Serialize for Value {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Number(n) => n.serialize(s),
            Value::String(v) => s.serialize_str(v),
            Value::Bytes(b) => s.serialize_bytes(b),
            Value::Array(a) => s.collect_seq(a),
            Value::Object(m) => s.collect_map(m),
        }
    }
}

/// Converts any `Serialize` value into a [`Value`].
///
/// Byte buffers (`bytes::Bytes`, `serde_bytes::ByteBuf`, anything that calls
/// `serialize_bytes`) become [`Value::Bytes`]; structs become objects with
/// their fields in declaration order; `None` and `()` become `Null`.
///
/// ```
/// #[derive(serde::Serialize)]
/// struct Upload { name: &'static str, data: bytes::Bytes }
/// let v = sio_proto::to_value(&Upload { name: "a.bin", data: bytes::Bytes::from_static(&[1, 2]) }).unwrap();
/// assert_eq!(v["name"].as_str(), Some("a.bin"));
/// assert_eq!(v["data"].as_bytes().unwrap().as_ref(), &[1, 2]);
/// ```
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, SerializeError> {
    value.serialize(ValueSerializer)
}

/// A `serde::Serializer` whose output is a [`Value`]. See [`to_value`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ValueSerializer;

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = SerializeError;
    type SerializeSeq = SeqBuilder;
    type SerializeTuple = SeqBuilder;
    type SerializeTupleStruct = SeqBuilder;
    type SerializeTupleVariant = VariantBuilder<SeqBuilder>;
    type SerializeMap = MapBuilder;
    type SerializeStruct = MapBuilder;
    type SerializeStructVariant = VariantBuilder<MapBuilder>;

    fn serialize_bool(self, v: bool) -> Result<Value, SerializeError> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, SerializeError> {
        Ok(Value::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<Value, SerializeError> {
        Ok(Value::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<Value, SerializeError> {
        Ok(Value::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<Value, SerializeError> {
        Ok(Value::from(v))
    }
    fn serialize_i128(self, v: i128) -> Result<Value, SerializeError> {
        Ok(match (u64::try_from(v), i64::try_from(v)) {
            (Ok(u), _) => Value::from(u),
            (_, Ok(i)) => Value::from(i),
            _ => Value::from(v as f64),
        })
    }
    fn serialize_u8(self, v: u8) -> Result<Value, SerializeError> {
        Ok(Value::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<Value, SerializeError> {
        Ok(Value::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<Value, SerializeError> {
        Ok(Value::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<Value, SerializeError> {
        Ok(Value::from(v))
    }
    fn serialize_u128(self, v: u128) -> Result<Value, SerializeError> {
        Ok(u64::try_from(v).map_or(Value::from(v as f64), Value::from))
    }
    fn serialize_f32(self, v: f32) -> Result<Value, SerializeError> {
        Ok(Value::Number(Number::from(v)))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, SerializeError> {
        Ok(Value::Number(Number::from(v)))
    }
    fn serialize_char(self, v: char) -> Result<Value, SerializeError> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, SerializeError> {
        Ok(Value::String(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, SerializeError> {
        Ok(Value::Bytes(Bytes::copy_from_slice(v)))
    }
    fn serialize_none(self) -> Result<Value, SerializeError> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, SerializeError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, SerializeError> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, SerializeError> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, SerializeError> {
        Ok(Value::String(variant.to_owned()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Value, SerializeError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Value, SerializeError> {
        let mut m = Map::with_capacity(1);
        m.insert(variant.to_owned(), value.serialize(self)?);
        Ok(Value::Object(m))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqBuilder, SerializeError> {
        Ok(SeqBuilder(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqBuilder, SerializeError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<SeqBuilder, SerializeError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantBuilder<SeqBuilder>, SerializeError> {
        Ok(VariantBuilder {
            variant,
            inner: self.serialize_seq(Some(len))?,
        })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapBuilder, SerializeError> {
        Ok(MapBuilder {
            map: Map::with_capacity(len.unwrap_or(0)),
            key: None,
            raw: false,
            binary: None,
        })
    }
    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<MapBuilder, SerializeError> {
        let mut builder = self.serialize_map(Some(len))?;
        builder.raw = name == crate::json::RAW_TOKEN;
        if name == crate::json::RAW_BINARY_TOKEN {
            builder.binary = Some(Box::default());
        }
        Ok(builder)
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantBuilder<MapBuilder>, SerializeError> {
        Ok(VariantBuilder {
            variant,
            inner: self.serialize_map(Some(len))?,
        })
    }
}

/// Builds a [`Value::Array`] (sequences and tuples).
#[doc(hidden)]
pub struct SeqBuilder(Vec<Value>);

impl ser::SerializeSeq for SeqBuilder {
    type Ok = Value;
    type Error = SerializeError;
    fn serialize_element<T: Serialize + ?Sized>(
        &mut self,
        value: &T,
    ) -> Result<(), SerializeError> {
        self.0.push(value.serialize(ValueSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Value, SerializeError> {
        Ok(Value::Array(self.0))
    }
}

impl ser::SerializeTuple for SeqBuilder {
    type Ok = Value;
    type Error = SerializeError;
    fn serialize_element<T: Serialize + ?Sized>(
        &mut self,
        value: &T,
    ) -> Result<(), SerializeError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Value, SerializeError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for SeqBuilder {
    type Ok = Value;
    type Error = SerializeError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerializeError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Value, SerializeError> {
        ser::SerializeSeq::end(self)
    }
}

/// Builds a [`Value::Object`] (maps and structs).
#[doc(hidden)]
pub struct MapBuilder {
    map: Map,
    key: Option<String>,
    /// A [`RawJson`](crate::json::RawJson): parse its text.
    raw: bool,
    /// A fragment of [`BinaryJson`](crate::json::BinaryJson): its text and
    /// buffers, gathered to be parsed at the end.
    binary: Option<Box<(Vec<u8>, Vec<Bytes>)>>,
}

impl ser::SerializeMap for MapBuilder {
    type Ok = Value;
    type Error = SerializeError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), SerializeError> {
        self.key = Some(map_key(key)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerializeError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| SerializeError("serialize_value called before serialize_key".into()))?;
        self.map.insert(key, value.serialize(ValueSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Value, SerializeError> {
        Ok(Value::Object(self.map))
    }
}

impl ser::SerializeStruct for MapBuilder {
    type Ok = Value;
    type Error = SerializeError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), SerializeError> {
        if let Some(parts) = &mut self.binary {
            let (text, buffers) = &mut **parts;
            match value.serialize(ValueSerializer)? {
                Value::String(s) => text.extend_from_slice(s.as_bytes()),
                Value::Bytes(b) => {
                    crate::json::write_placeholder(text, buffers.len());
                    buffers.push(b);
                }
                _ => return Err(SerializeError("malformed raw JSON".into())),
            }
            return Ok(());
        }
        self.map
            .insert(key.to_owned(), value.serialize(ValueSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Value, SerializeError> {
        if let Some(parts) = self.binary {
            let (text, buffers) = *parts;
            return crate::json::parse_value(&text, &buffers)
                .map_err(|e| SerializeError(e.to_string()));
        }
        if self.raw {
            let text = self
                .map
                .get(crate::json::RAW_TOKEN)
                .and_then(Value::as_str)
                .unwrap_or("null");
            return crate::json::from_str_lossy(text).map_err(|e| SerializeError(e.to_string()));
        }
        Ok(Value::Object(self.map))
    }
}

/// Wraps a tuple or struct variant as `{ "Variant": ... }`.
#[doc(hidden)]
pub struct VariantBuilder<B> {
    variant: &'static str,
    inner: B,
}

impl ser::SerializeTupleVariant for VariantBuilder<SeqBuilder> {
    type Ok = Value;
    type Error = SerializeError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerializeError> {
        ser::SerializeSeq::serialize_element(&mut self.inner, value)
    }
    fn end(self) -> Result<Value, SerializeError> {
        let mut m = Map::with_capacity(1);
        m.insert(self.variant.to_owned(), ser::SerializeSeq::end(self.inner)?);
        Ok(Value::Object(m))
    }
}

impl ser::SerializeStructVariant for VariantBuilder<MapBuilder> {
    type Ok = Value;
    type Error = SerializeError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), SerializeError> {
        ser::SerializeStruct::serialize_field(&mut self.inner, key, value)
    }
    fn end(self) -> Result<Value, SerializeError> {
        let mut m = Map::with_capacity(1);
        m.insert(
            self.variant.to_owned(),
            ser::SerializeStruct::end(self.inner)?,
        );
        Ok(Value::Object(m))
    }
}

/// Map keys become strings, as `JSON.stringify` makes them.
pub(crate) fn map_key<T: Serialize + ?Sized>(key: &T) -> Result<String, SerializeError> {
    match key.serialize(ValueSerializer)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(SerializeError(format!(
            "a map key must be a string or a number, not {}",
            other.kind()
        ))),
    }
}
