//! Reading event names and argument lists out of payloads without building
//! a tree: serde visitors over the array that skip what they do not need.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::SeqAccessDeserializer;
use serde::de::{self, DeserializeOwned, IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;

use super::{Payload, PayloadError};
use crate::json::Top;
use crate::value::Value;

/// The first element of an event array: a name, a number, or anything else.
pub(crate) enum Head<'a> {
    Name(Cow<'a, str>),
    Number(String),
    Other,
}

impl<'a> Head<'a> {
    /// The head of an array element read by [`scan`](crate::json::scan): a
    /// name without escapes is a slice of it.
    fn of_item(item: &'a str) -> Head<'a> {
        match item.as_bytes().first() {
            Some(b'"') => {
                let inner = &item[1..item.len() - 1];
                if !inner.contains('\\') {
                    return Head::Name(Cow::Borrowed(inner));
                }
                crate::json::from_str_lossy::<Head<'static>>(item).unwrap_or(Head::Other)
            }
            Some(b'-' | b'0'..=b'9') => {
                crate::json::from_str_lossy::<Head<'static>>(item).unwrap_or(Head::Other)
            }
            _ => Head::Other,
        }
    }
}

impl<'de> Deserialize<'de> for Head<'static> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Head<'static>, D::Error> {
        struct HeadVisitor;
        impl<'de> Visitor<'de> for HeadVisitor {
            type Value = Head<'static>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an event name")
            }
            fn visit_str<E>(self, v: &str) -> Result<Head<'static>, E> {
                Ok(Head::Name(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Head<'static>, E> {
                Ok(Head::Name(Cow::Owned(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Head<'static>, E> {
                Ok(Head::Number(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Head<'static>, E> {
                Ok(Head::Number(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Head<'static>, E> {
                Ok(Head::Number(crate::Number::from(v).to_string()))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Head<'static>, E> {
                Ok(Head::Other)
            }
            fn visit_unit<E>(self) -> Result<Head<'static>, E> {
                Ok(Head::Other)
            }
            fn visit_none<E>(self) -> Result<Head<'static>, E> {
                Ok(Head::Other)
            }
            fn visit_bytes<E>(self, _: &[u8]) -> Result<Head<'static>, E> {
                Ok(Head::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Head<'static>, A::Error> {
                while seq.next_element::<Checked>()?.is_some() {}
                Ok(Head::Other)
            }
            fn visit_map<A: de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Head<'static>, A::Error> {
                while map.next_entry::<Checked, Checked>()?.is_some() {}
                Ok(Head::Other)
            }
        }
        d.deserialize_any(HeadVisitor)
    }
}

/// A value skipped while checking the shape of JSON text. Unlike
/// `IgnoredAny` (which serde_json skips checking only the syntax of numbers,
/// and without its nesting limit), this reads every node as [`Value`] would:
/// numbers must be in range and nesting within the limit. So the decoder
/// accepts exactly the text that [`Payload::to_value`] and the argument
/// readers can read, without building a tree.
struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Checked, D::Error> {
        struct CheckedVisitor;
        impl<'de> Visitor<'de> for CheckedVisitor {
            type Value = Checked;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_bytes<E>(self, _: &[u8]) -> Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_unit<E>(self) -> Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_none<E>(self) -> Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
                while seq.next_element::<Checked>()?.is_some() {}
                Ok(Checked)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
                while map.next_entry::<Checked, Checked>()?.is_some() {}
                Ok(Checked)
            }
        }
        d.deserialize_any(CheckedVisitor)
    }
}

/// What the payload's top level is, and for arrays their first element.
pub(crate) enum Shape<'a> {
    /// An array, with its first element (None when empty).
    Array(Option<Head<'a>>),
    Object,
    String,
    Other,
}

impl<'de> Deserialize<'de> for Shape<'static> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Shape<'static>, D::Error> {
        struct ShapeVisitor;
        impl<'de> Visitor<'de> for ShapeVisitor {
            type Value = Shape<'static>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("packet data")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape<'static>, A::Error> {
                let head = seq.next_element::<Head<'static>>()?;
                while seq.next_element::<Checked>()?.is_some() {}
                Ok(Shape::Array(head))
            }
            fn visit_map<A: de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Shape<'static>, A::Error> {
                while map.next_entry::<Checked, Checked>()?.is_some() {}
                Ok(Shape::Object)
            }
            fn visit_str<E>(self, _: &str) -> Result<Shape<'static>, E> {
                Ok(Shape::String)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Shape<'static>, E> {
                Ok(Shape::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Shape<'static>, E> {
                Ok(Shape::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Shape<'static>, E> {
                Ok(Shape::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Shape<'static>, E> {
                Ok(Shape::Other)
            }
            fn visit_unit<E>(self) -> Result<Shape<'static>, E> {
                Ok(Shape::Other)
            }
            fn visit_bytes<E>(self, _: &[u8]) -> Result<Shape<'static>, E> {
                Ok(Shape::Other)
            }
        }
        d.deserialize_any(ShapeVisitor)
    }
}

impl<'a> Shape<'a> {
    /// The shape of JSON text, checked by [`scan`](crate::json::scan) (no
    /// tree, no copy of a plain name).
    pub(crate) fn scan(text: &'a str) -> Result<Shape<'a>, crate::json::ScanError> {
        Shape::scan_items(text, |_| {})
    }

    /// [`scan`](Shape::scan), handing each element of a top-level array to
    /// `item` as well.
    pub(crate) fn scan_items(
        text: &'a str,
        mut item: impl FnMut(&'a str),
    ) -> Result<Shape<'a>, crate::json::ScanError> {
        let mut first = None;
        let top = crate::json::scan(text, |i| {
            first.get_or_insert(i);
            item(i);
        })?;
        Ok(match top {
            Top::Array => Shape::Array(first.map(Head::of_item)),
            Top::Object => Shape::Object,
            Top::String => Shape::String,
            Top::Other => Shape::Other,
        })
    }

    /// The shape of a value already in memory.
    pub(crate) fn of(v: &'a Value) -> Shape<'a> {
        match v {
            Value::Array(a) => Shape::Array(a.first().map(|h| match h {
                Value::String(s) => Head::Name(Cow::Borrowed(s)),
                Value::Number(n) => Head::Number(n.to_string()),
                _ => Head::Other,
            })),
            Value::Object(_) => Shape::Object,
            Value::String(_) => Shape::String,
            _ => Shape::Other,
        }
    }
}

pub(crate) fn event_name(payload: &Payload) -> Result<String, PayloadError> {
    let shape = match payload {
        Payload::Json(text) => Shape::scan(text).map_err(|e| PayloadError(e.to_string()))?,
        // A placeholder is an object: never a name, as the buffer it stands for.
        Payload::Binary(b) => Shape::scan(b.text()).map_err(|e| PayloadError(e.to_string()))?,
        Payload::Value(v) => Shape::of(v),
    };
    match shape {
        Shape::Array(Some(Head::Name(n))) => Ok(n.into_owned()),
        Shape::Array(Some(Head::Number(n))) => Ok(n),
        _ => Err(PayloadError(
            "an event must be an array starting with its name".into(),
        )),
    }
}

/// Reads a sequence: skips `skip` elements, hands the rest to `T` as a
/// sequence, then drops whatever `T` did not take.
struct ArgsVisitor<T> {
    skip: usize,
    _t: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for ArgsVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an argument array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        for _ in 0..self.skip {
            seq.next_element::<IgnoredAny>()?;
        }
        let out = T::deserialize(Rest(SeqAccessDeserializer::new(&mut seq)))?;
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(out)
    }
}

/// The arguments after the skipped ones, as a deserializer: a sequence,
/// except that `()` takes any arguments (an acknowledgement or an event
/// whose arguments nobody reads, as a JavaScript callback may ignore them).
struct Rest<D>(D);

impl<'de, D: de::Deserializer<'de>> de::Deserializer<'de> for Rest<D> {
    type Error = D::Error;
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(visitor)
    }
    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        visitor.visit_unit()
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        visitor.visit_unit()
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option newtype_struct seq tuple tuple_struct map struct
        enum identifier ignored_any
    }
}

pub(crate) fn args<T: DeserializeOwned>(payload: &Payload, skip: usize) -> Result<T, PayloadError> {
    let err = |e: &dyn fmt::Display| PayloadError(e.to_string());
    match payload {
        Payload::Json(text) => {
            let read = |text: &str| -> Result<T, serde_json::Error> {
                let mut de = serde_json::Deserializer::from_str(text);
                let out = de::Deserializer::deserialize_seq(
                    &mut de,
                    ArgsVisitor {
                        skip,
                        _t: PhantomData,
                    },
                )?;
                de.end()?;
                Ok(out)
            };
            match read(text) {
                // Lone UTF-16 surrogates (valid in JavaScript): read them as U+FFFD.
                Err(e) => match crate::json::replace_lone_surrogates(text) {
                    Some(fixed) => read(&fixed).map_err(|e| err(&e)),
                    None => Err(err(&e)),
                },
                ok => ok.map_err(|e| err(&e)),
            }
        }
        // Typed reads of binary data go through the tree: the buffers must
        // land where the placeholders were.
        Payload::Binary(b) => args(&Payload::Value(b.to_value().map_err(|e| err(&e))?), skip),
        Payload::Value(Value::Array(a)) => {
            let seq = de::value::SeqDeserializer::<_, crate::value::DeserializeError>::new(
                a.clone().into_iter(),
            );
            ArgsVisitor {
                skip,
                _t: PhantomData,
            }
            .visit_seq(seq)
            .map_err(|e| err(&e))
        }
        Payload::Value(other) => Err(PayloadError(format!(
            "expected an argument array, found {}",
            other.kind()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use crate::packet::{PacketType, Payload};
    use crate::{Decoder, Frame, Parser, Value};

    #[test]
    fn unit_takes_any_arguments() {
        for payload in [
            Payload::Json(r#"["ok",{"status":"ok"},2]"#.into()),
            Payload::Json("[]".into()),
            Payload::Value(Value::Array(vec![Value::from(1)])),
        ] {
            payload.args::<()>(PacketType::Ack).unwrap();
        }
        // Still an error when the payload is not an argument array at all.
        assert!(Payload::Value(Value::from(1))
            .args::<()>(PacketType::Ack)
            .is_err());
        // Other types are read as before.
        let (n,): (u32,) = Payload::Json("[7]".into()).args(PacketType::Ack).unwrap();
        assert_eq!(n, 7);
        assert!(Payload::Json(r#"["x"]"#.into())
            .args::<(u32,)>(PacketType::Ack)
            .is_err());
    }

    #[test]
    fn decoder_accepts_only_readable_text() {
        // Found by fuzzing: numbers out of range and nesting beyond
        // serde_json's limit were accepted when not in the first element,
        // and then no reader could read the packet.
        let deep = format!("2[\"a\",{}{}]", "[".repeat(200), "]".repeat(200));
        for text in [
            r#"2["a",1e400]"#,
            r#"2["a",{"k":-1e999}]"#,
            r#"3[[1e400]]"#,
            r#"3[{"k":[1,2e500]}]"#,
            r#"0{"k":1e400}"#,
            r#"4{"message":"x","data":[1e400]}"#,
            deep.as_str(),
        ] {
            let got = Decoder::new(Parser::Json).decode(Frame::from(text));
            assert!(got.is_err(), "{text:.40} accepted: {got:?}");
        }
        let deep_ok = format!("2[\"a\",{}{}]", "[".repeat(100), "]".repeat(100));
        for text in [
            r#"2["a",1e300,-1e-300,18446744073709551615,-9223372036854775808]"#,
            r#"3[[1.5],{"k":[true,null,"\u0000"]}]"#,
            deep_ok.as_str(),
        ] {
            let packet = Decoder::new(Parser::Json)
                .decode(Frame::from(text))
                .unwrap()
                .unwrap();
            packet.data.unwrap().to_value().unwrap();
        }
    }
}
