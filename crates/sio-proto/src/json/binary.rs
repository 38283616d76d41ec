//! [`BinaryJson`]: JSON text with placeholders, and the byte buffers they
//! stand for, kept as they arrived.
//!
//! A binary packet of the default parser is JSON text in which every byte
//! buffer is replaced by `{"_placeholder":true,"num":N}`, followed by the
//! buffers. Rebuilding the tree (parse, then swap each placeholder object
//! for its buffer) costs more than everything else an echo does; but every
//! socket.io-parser writes placeholders in exactly that form, and in valid
//! JSON text that form cannot occur inside a string. So the decoder checks
//! the text once ([`placeholders_canonical`]), keeps it as is, and whoever
//! writes it back finds the placeholders by searching for that form,
//! renumbering them as the buffers land in the new packet. Text where a
//! placeholder could hide in another spelling (other key order, spaces,
//! `\u` escapes) takes the tree path instead.

use bytes::Bytes;
use serde::ser::SerializeStruct;
use serde::Serialize;

use super::{JsonError, RawJson};
use crate::value::Value;
use crate::Str;

/// The struct name by which serializers recognise a fragment of
/// [`BinaryJson`] text: fields named [`TEXT_FIELD`] are JSON text to write as
/// is, fields named [`BYTES_FIELD`] are byte buffers.
pub(crate) const RAW_BINARY_TOKEN: &str = "$sio_proto::RawBinaryJson";
/// A run of JSON text in a [`RAW_BINARY_TOKEN`] struct.
pub(crate) const TEXT_FIELD: &str = "text";
/// A byte buffer in a [`RAW_BINARY_TOKEN`] struct.
pub(crate) const BYTES_FIELD: &str = "bytes";

/// A placeholder as socket.io-parser writes it, up to its number.
const HEAD: &str = "{\"_placeholder\":true,\"num\":";

/// Whether `text` (valid JSON) has its placeholders only in the exact form
/// `{"_placeholder":true,"num":N}` with `N < count`, and no other spelling
/// of one: no `\u` escape (which could spell the key) and no other
/// occurrence of `_placeholder`. Then [`pieces`] finds every placeholder
/// that the reference's reconstruction would replace.
pub(crate) fn placeholders_canonical(text: &str, count: usize) -> bool {
    let b = text.as_bytes();
    if memchr::memchr_iter(b'\\', b).any(|i| b.get(i + 1) == Some(&b'u')) {
        return false;
    }
    for i in memchr::memchr_iter(b'_', b) {
        if !b[i..].starts_with(b"_placeholder") {
            continue;
        }
        // `_placeholder` starts two bytes into the head: `{"`.
        match i
            .checked_sub(2)
            .and_then(|start| placeholder_at(text, start))
        {
            Some((num, _)) if num < count => {}
            _ => return false,
        }
    }
    true
}

/// The placeholder starting at `start`, if one is there in the exact form:
/// its number and the index just after it.
fn placeholder_at(text: &str, start: usize) -> Option<(usize, usize)> {
    let rest = text.get(start..)?.strip_prefix(HEAD)?;
    let mut num = 0usize;
    let mut digits = 0;
    for &c in rest.as_bytes() {
        if !c.is_ascii_digit() {
            break;
        }
        num = num.checked_mul(10)?.checked_add(usize::from(c - b'0'))?;
        digits += 1;
    }
    if digits == 0 || rest.as_bytes().get(digits) != Some(&b'}') {
        return None;
    }
    Some((num, start + HEAD.len() + digits + 1))
}

/// The first placeholder at or after `from`: where it starts, its number,
/// and the index just after it.
fn next_placeholder(text: &str, from: usize) -> Option<(usize, usize, usize)> {
    let b = text.as_bytes();
    let mut i = from;
    while let Some(at) = memchr::memchr(b'{', b.get(i..)?) {
        let start = i + at;
        if let Some((num, end)) = placeholder_at(text, start) {
            return Some((start, num, end));
        }
        i = start + 1;
    }
    None
}

/// A run of text, or a placeholder's number.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    Text(&'a str),
    Placeholder(usize),
}

/// The text and placeholders of `text`, in order (placeholders as
/// [`placeholders_canonical`] accepted them).
pub(crate) fn pieces(text: &str) -> impl Iterator<Item = Piece<'_>> {
    let mut at = 0;
    let mut next: Option<usize> = None;
    std::iter::from_fn(move || {
        if let Some(num) = next.take() {
            return Some(Piece::Placeholder(num));
        }
        if at == text.len() {
            return None;
        }
        let from = at;
        match next_placeholder(text, from) {
            Some((start, num, end)) => {
                at = end;
                if start == from {
                    return Some(Piece::Placeholder(num));
                }
                next = Some(num);
                Some(Piece::Text(&text[from..start]))
            }
            None => {
                at = text.len();
                Some(Piece::Text(&text[from..]))
            }
        }
    })
}

/// JSON text whose byte buffers travel apart, as a binary packet of the
/// default parser carries it: each buffer is a placeholder
/// `{"_placeholder":true,"num":N}` in the text, `N` its index in
/// [`attachments`](BinaryJson::attachments).
///
/// Decoded binary packets keep their data this way
/// ([`Payload::Binary`](crate::packet::Payload::Binary)): echoing or relaying
/// it writes the text back and shares the buffers, without building a tree.
///
/// ```
/// use sio_proto::{Decoder, Frame, Parser, Payload};
/// let mut d = Decoder::new(Parser::Json);
/// d.decode(Frame::from(r#"51-["up",{"_placeholder":true,"num":0}]"#)).unwrap();
/// let p = d.decode(Frame::Binary(bytes::Bytes::from_static(&[1, 2]))).unwrap().unwrap();
/// let Some(Payload::Binary(data)) = &p.data else { panic!("a tree") };
/// assert_eq!(data.text(), r#"["up",{"_placeholder":true,"num":0}]"#);
/// assert_eq!(&data.attachments()[0][..], &[1, 2]);
/// assert_eq!(data.to_value().unwrap()[1].as_bytes().unwrap().as_ref(), &[1, 2]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryJson {
    text: Str,
    attachments: Vec<Bytes>,
    /// The elements of the text when it is an array, found by the decoder
    /// (empty: not known, read the text).
    items: Vec<RawJson>,
}

impl BinaryJson {
    /// Valid JSON text whose placeholders passed [`placeholders_canonical`]
    /// for these attachments.
    #[cfg(test)]
    pub(crate) fn new_unchecked(text: Str, attachments: Vec<Bytes>) -> BinaryJson {
        BinaryJson::with_items(text, attachments, Vec::new())
    }

    /// [`new_unchecked`](BinaryJson::new_unchecked) with the elements of the
    /// array `text` (slices of it), or none.
    pub(crate) fn with_items(
        text: Str,
        attachments: Vec<Bytes>,
        items: Vec<RawJson>,
    ) -> BinaryJson {
        BinaryJson {
            text,
            attachments,
            items,
        }
    }

    /// The elements of the array text, if the decoder found them.
    pub(crate) fn items(&self) -> Option<&[RawJson]> {
        (!self.items.is_empty()).then_some(&self.items[..])
    }

    /// The JSON text, with placeholders.
    pub fn text(&self) -> &Str {
        &self.text
    }

    /// The byte buffers, in the order of their numbers.
    pub fn attachments(&self) -> &[Bytes] {
        &self.attachments
    }

    /// The data as a [`Value`], each placeholder replaced by its buffer.
    pub fn to_value(&self) -> Result<Value, JsonError> {
        super::parse_value(self.text.as_bytes(), &self.attachments)
    }

    /// Writes the text at the end of `out`, each placeholder renumbered as
    /// its buffer joins `attachments` (shared, not copied).
    pub(crate) fn write(&self, out: &mut Vec<u8>, attachments: &mut Vec<Bytes>) {
        write_fragment(&self.text, &self.attachments, out, attachments);
    }
}

/// Writes `text` (with placeholders into `from`) at the end of `out`, each
/// placeholder renumbered as its buffer joins `attachments`.
pub(crate) fn write_fragment(
    text: &str,
    from: &[Bytes],
    out: &mut Vec<u8>,
    attachments: &mut Vec<Bytes>,
) {
    for piece in pieces(text) {
        match piece {
            Piece::Text(t) => out.extend_from_slice(t.as_bytes()),
            Piece::Placeholder(n) => {
                super::write_placeholder(out, attachments.len());
                attachments.push(from[n].clone());
            }
        }
    }
}

/// One value of [`BinaryJson`] text (an argument), with the buffers its
/// placeholders refer to: serialized by sio's JSON writer as the text with
/// renumbered placeholders, by other serializers as the value.
pub(crate) struct BinaryFragment<'a> {
    pub text: &'a str,
    pub attachments: &'a [Bytes],
}

impl BinaryFragment<'_> {
    /// The value, each placeholder replaced by its buffer.
    pub(crate) fn to_value(&self) -> Result<Value, JsonError> {
        super::parse_value(self.text.as_bytes(), self.attachments)
    }
}

/// A byte buffer, serialized as bytes.
struct AsBytes<'a>(&'a [u8]);

impl Serialize for AsBytes<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

thread_local! {
    /// The buffers of the fragments being serialized on this thread: serde
    /// hands a serializer bytes as `&[u8]`, and sio's JSON writer shares a
    /// buffer it finds here (same address, same length: the very bytes)
    /// instead of copying it.
    static SHARED: std::cell::RefCell<Vec<Bytes>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The buffer `bytes` is a view of, if a fragment being serialized on this
/// thread holds it.
pub(crate) fn shared(bytes: &[u8]) -> Option<Bytes> {
    SHARED.with(|s| {
        (s.borrow().iter())
            .find(|b| b.as_ptr() == bytes.as_ptr() && b.len() == bytes.len())
            .cloned()
    })
}

impl Serialize for BinaryFragment<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mark = SHARED.with(|s| {
            let mut s = s.borrow_mut();
            let mark = s.len();
            s.extend_from_slice(self.attachments);
            mark
        });
        let out = self.serialize_pieces(serializer);
        SHARED.with(|s| s.borrow_mut().truncate(mark));
        out
    }
}

impl BinaryFragment<'_> {
    fn serialize_pieces<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct(RAW_BINARY_TOKEN, 3)?;
        for piece in pieces(self.text) {
            match piece {
                Piece::Text(t) => s.serialize_field(TEXT_FIELD, t)?,
                Piece::Placeholder(n) => {
                    s.serialize_field(BYTES_FIELD, &AsBytes(&self.attachments[n]))?
                }
            }
        }
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_placeholders() {
        let p = |n| format!("{{\"_placeholder\":true,\"num\":{n}}}");
        let text = format!("[\"a\",{},{{\"k\":[{}]}},\"x\"]", p(0), p(1));
        assert!(placeholders_canonical(&text, 2));
        assert!(!placeholders_canonical(&text, 1), "out of range");
        assert!(placeholders_canonical("[\"a\",1]", 0));
        assert!(placeholders_canonical(r#"["placeholder","\n"]"#, 0));
        for other in [
            r#"["a",{"num":0,"_placeholder":true}]"#,
            r#"["a",{"_placeholder": true, "num": 0}]"#,
            r#"["a",{"_placeholder":true,"num":0,"x":1}]"#,
            r#"["a",{"_placeholder":true,"num":0.0}]"#,
            r#"["a",{"\u005fplaceholder":true,"num":0}]"#,
            r#"["a","_placeholder"]"#,
            r#"["_placeholder"]"#,
            r#"["a\\u"]"#,
            r#"["a",{"_placeholder":true,"num":99999999999999999999999}]"#,
        ] {
            assert!(!placeholders_canonical(other, 2), "{other}");
        }
        let pieces: Vec<Piece<'_>> = pieces(&text).collect();
        assert_eq!(
            pieces,
            [
                Piece::Text("[\"a\","),
                Piece::Placeholder(0),
                Piece::Text(",{\"k\":["),
                Piece::Placeholder(1),
                Piece::Text("]},\"x\"]"),
            ]
        );
        let only = p(3);
        assert_eq!(
            super::pieces(&only).collect::<Vec<_>>(),
            [Piece::Placeholder(3)]
        );
    }

    #[test]
    fn fragments_renumber_and_share() {
        let a = Bytes::from_static(b"a");
        let b = Bytes::from_static(b"b");
        let data = BinaryJson::new_unchecked(
            Str::from(r#"[{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]"#),
            vec![a.clone(), b.clone()],
        );
        let (mut out, mut att) = (b"x".to_vec(), vec![Bytes::from_static(b"first")]);
        data.write(&mut out, &mut att);
        assert_eq!(
            out,
            br#"x[{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}]"#
        );
        assert_eq!(att, [Bytes::from_static(b"first"), b, a]);
        assert_eq!(att[1].as_ptr(), data.attachments()[1].as_ptr(), "shared");
        let frag = BinaryFragment {
            text: r#"{"k":{"_placeholder":true,"num":1}}"#,
            attachments: data.attachments(),
        };
        let v = crate::to_value(&frag).unwrap();
        assert_eq!(v["k"].as_bytes().unwrap().as_ref(), b"b");
        assert_eq!(frag.to_value().unwrap(), v);
        let (mut out, mut att) = (Vec::new(), Vec::new());
        crate::json::to_writer(&mut out, &(1, &frag), &mut att).unwrap();
        assert_eq!(out, br#"[1,{"k":{"_placeholder":true,"num":0}}]"#);
        assert_eq!(att, [Bytes::from_static(b"b")]);
        assert_eq!(att[0].as_ptr(), data.attachments()[1].as_ptr(), "shared");
        // Only while the fragment is being written.
        assert!(shared(&data.attachments()[1]).is_none());
    }
}
