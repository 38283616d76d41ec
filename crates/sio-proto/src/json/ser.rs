//! [`JsonSerializer`]: serde to `JSON.stringify`-identical text, byte buffers
//! moved out as attachments.

use bytes::Bytes;
use serde::ser::{self, Serialize};

use super::{write_f64, write_placeholder, write_str, JsonError};
use crate::value::map_key;

/// A `serde::Serializer` writing JSON into a `Vec<u8>` and byte buffers into
/// an attachment list. See [`to_writer`](super::to_writer).
pub struct JsonSerializer<'a> {
    out: &'a mut Vec<u8>,
    attachments: &'a mut Vec<Bytes>,
}

impl<'a> JsonSerializer<'a> {
    /// A serializer appending to `out` and `attachments`.
    pub fn new(out: &'a mut Vec<u8>, attachments: &'a mut Vec<Bytes>) -> Self {
        JsonSerializer { out, attachments }
    }

    fn int(&mut self, v: impl itoa::Integer) {
        self.out
            .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
    }
}

#[doc(hidden)]
pub struct Compound<'s, 'a> {
    ser: &'s mut JsonSerializer<'a>,
    first: bool,
    /// Closing text: `]`, `}`, or `]}` / `}}` for enum variants.
    close: &'static [u8],
    /// Whether the fields are JSON text to write verbatim.
    raw: RawMode,
}

/// How a struct's fields are written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RawMode {
    /// As a JSON object.
    None,
    /// A [`RawJson`](super::RawJson): its one field is the text, written verbatim.
    Text,
    /// A fragment of [`BinaryJson`](super::BinaryJson) text: runs of text
    /// written verbatim, byte buffers as placeholders.
    Binary,
}

impl Compound<'_, '_> {
    fn comma(&mut self) {
        if self.first {
            self.first = false;
        } else {
            self.ser.out.push(b',');
        }
    }
}

impl<'s, 'a> ser::Serializer for &'s mut JsonSerializer<'a> {
    type Ok = ();
    type Error = JsonError;
    type SerializeSeq = Compound<'s, 'a>;
    type SerializeTuple = Compound<'s, 'a>;
    type SerializeTupleStruct = Compound<'s, 'a>;
    type SerializeTupleVariant = Compound<'s, 'a>;
    type SerializeMap = Compound<'s, 'a>;
    type SerializeStruct = Compound<'s, 'a>;
    type SerializeStructVariant = Compound<'s, 'a>;

    fn serialize_bool(self, v: bool) -> Result<(), JsonError> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), JsonError> {
        self.int(v);
        Ok(())
    }
    fn serialize_i16(self, v: i16) -> Result<(), JsonError> {
        self.int(v);
        Ok(())
    }
    fn serialize_i32(self, v: i32) -> Result<(), JsonError> {
        self.int(v);
        Ok(())
    }
    fn serialize_i64(self, v: i64) -> Result<(), JsonError> {
        self.int(v);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<(), JsonError> {
        self.int(v);
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<(), JsonError> {
        self.int(v);
        Ok(())
    }
    fn serialize_u16(self, v: u16) -> Result<(), JsonError> {
        self.int(v);
        Ok(())
    }
    fn serialize_u32(self, v: u32) -> Result<(), JsonError> {
        self.int(v);
        Ok(())
    }
    fn serialize_u64(self, v: u64) -> Result<(), JsonError> {
        self.int(v);
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result<(), JsonError> {
        self.int(v);
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), JsonError> {
        // The shortest text that reads back as this f32 ("1.1", not the f64
        // widening "1.100000023841858"): what the user wrote.
        if v.is_finite() {
            self.out
                .extend_from_slice(ryu_js::Buffer::new().format_finite(v).as_bytes());
        } else {
            self.out.extend_from_slice(b"null");
        }
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Result<(), JsonError> {
        write_f64(self.out, v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), JsonError> {
        write_str(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), JsonError> {
        write_str(self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), JsonError> {
        write_placeholder(self.out, self.attachments.len());
        let bytes = super::binary::shared(v).unwrap_or_else(|| Bytes::copy_from_slice(v));
        self.attachments.push(bytes);
        Ok(())
    }
    fn serialize_none(self) -> Result<(), JsonError> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), JsonError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), JsonError> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), JsonError> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), JsonError> {
        write_str(self.out, variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), JsonError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), JsonError> {
        self.out.push(b'{');
        write_str(self.out, variant);
        self.out.push(b':');
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'s, 'a>, JsonError> {
        self.out.push(b'[');
        Ok(Compound {
            ser: self,
            first: true,
            close: b"]",
            raw: RawMode::None,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'s, 'a>, JsonError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'s, 'a>, JsonError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'s, 'a>, JsonError> {
        self.out.push(b'{');
        write_str(self.out, variant);
        self.out.extend_from_slice(b":[");
        Ok(Compound {
            ser: self,
            first: true,
            close: b"]}",
            raw: RawMode::None,
        })
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'s, 'a>, JsonError> {
        self.out.push(b'{');
        Ok(Compound {
            ser: self,
            first: true,
            close: b"}",
            raw: RawMode::None,
        })
    }
    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Compound<'s, 'a>, JsonError> {
        let raw = match name {
            super::RAW_TOKEN => RawMode::Text,
            super::binary::RAW_BINARY_TOKEN => RawMode::Binary,
            _ => return self.serialize_map(Some(len)),
        };
        Ok(Compound {
            ser: self,
            first: true,
            close: b"",
            raw,
        })
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'s, 'a>, JsonError> {
        self.out.push(b'{');
        write_str(self.out, variant);
        self.out.extend_from_slice(b":{");
        Ok(Compound {
            ser: self,
            first: true,
            close: b"}}",
            raw: RawMode::None,
        })
    }
}

impl ser::SerializeSeq for Compound<'_, '_> {
    type Ok = ();
    type Error = JsonError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
        self.comma();
        value.serialize(&mut *self.ser)
    }
    fn end(self) -> Result<(), JsonError> {
        self.ser.out.extend_from_slice(self.close);
        Ok(())
    }
}

impl ser::SerializeTuple for Compound<'_, '_> {
    type Ok = ();
    type Error = JsonError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), JsonError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = JsonError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), JsonError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = JsonError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), JsonError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = JsonError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), JsonError> {
        self.comma();
        let key = map_key(key).map_err(|e| JsonError::Serialize(e.to_string()))?;
        write_str(self.ser.out, &key);
        self.ser.out.push(b':');
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
        value.serialize(&mut *self.ser)
    }
    fn end(self) -> Result<(), JsonError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = JsonError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), JsonError> {
        match self.raw {
            RawMode::Text => return value.serialize(Verbatim(self.ser.out)),
            RawMode::Binary if key == super::binary::TEXT_FIELD => {
                return value.serialize(Verbatim(self.ser.out))
            }
            RawMode::Binary => return value.serialize(&mut *self.ser),
            RawMode::None => {}
        }
        self.comma();
        write_str(self.ser.out, key);
        self.ser.out.push(b':');
        value.serialize(&mut *self.ser)
    }
    fn end(self) -> Result<(), JsonError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeStructVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = JsonError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), JsonError> {
        ser::SerializeStruct::serialize_field(self, key, value)
    }
    fn end(self) -> Result<(), JsonError> {
        ser::SerializeSeq::end(self)
    }
}

/// Writes a string as is (JSON text already): the text fields of raw JSON.
struct Verbatim<'a>(&'a mut Vec<u8>);

fn not_text<T>() -> Result<T, JsonError> {
    Err(JsonError::Serialize("malformed raw JSON".into()))
}

impl ser::Serializer for Verbatim<'_> {
    type Ok = ();
    type Error = JsonError;
    type SerializeSeq = ser::Impossible<(), JsonError>;
    type SerializeTuple = ser::Impossible<(), JsonError>;
    type SerializeTupleStruct = ser::Impossible<(), JsonError>;
    type SerializeTupleVariant = ser::Impossible<(), JsonError>;
    type SerializeMap = ser::Impossible<(), JsonError>;
    type SerializeStruct = ser::Impossible<(), JsonError>;
    type SerializeStructVariant = ser::Impossible<(), JsonError>;

    fn serialize_str(self, v: &str) -> Result<(), JsonError> {
        self.0.extend_from_slice(v.as_bytes());
        Ok(())
    }
    fn serialize_bool(self, _: bool) -> Result<(), JsonError> {
        not_text()
    }
    fn serialize_i64(self, _: i64) -> Result<(), JsonError> {
        not_text()
    }
    fn serialize_u64(self, _: u64) -> Result<(), JsonError> {
        not_text()
    }
    fn serialize_i8(self, _: i8) -> Result<(), JsonError> {
        not_text()
    }
    fn serialize_i16(self, _: i16) -> Result<(), JsonError> {
        not_text()
    }
    fn serialize_i32(self, _: i32) -> Result<(), JsonError> {
        not_text()
    }
    fn serialize_u8(self, _: u8) -> Result<(), JsonError> {
        not_text()
    }
    fn serialize_u16(self, _: u16) -> Result<(), JsonError> {
        not_text()
    }
    fn serialize_u32(self, _: u32) -> Result<(), JsonError> {
        not_text()
    }
    fn serialize_f32(self, _: f32) -> Result<(), JsonError> {
        not_text()
    }
    fn serialize_f64(self, _: f64) -> Result<(), JsonError> {
        not_text()
    }
    fn serialize_char(self, _: char) -> Result<(), JsonError> {
        not_text()
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), JsonError> {
        not_text()
    }
    fn serialize_none(self) -> Result<(), JsonError> {
        not_text()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), JsonError> {
        not_text()
    }
    fn serialize_unit(self) -> Result<(), JsonError> {
        not_text()
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), JsonError> {
        not_text()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<(), JsonError> {
        not_text()
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<(), JsonError> {
        not_text()
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), JsonError> {
        not_text()
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, JsonError> {
        not_text()
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, JsonError> {
        not_text()
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, JsonError> {
        not_text()
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, JsonError> {
        not_text()
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, JsonError> {
        not_text()
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, JsonError> {
        not_text()
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, JsonError> {
        not_text()
    }
}
