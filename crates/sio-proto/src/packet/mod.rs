//! Socket.IO v5 packets: the multiplexing layer over Engine.IO messages.
//!
//! A packet has a type, a namespace, an optional ack id and optional data.
//! How it looks on the wire depends on the [`Parser`](crate::Parser): the
//! default JSON parser writes `<type>[<attachments>-][<nsp>,][<id>][<json>]`
//! followed by one binary frame per byte buffer; the msgpack parser writes
//! one binary frame.
//!
//! Decoded data is kept in the form it arrived in ([`Payload`]): JSON text
//! without binary stays text, so a handler that wants typed arguments reads
//! them straight from the text, and a packet that is only relayed is never
//! parsed into a tree.

mod args;
mod decoder;
pub(crate) mod json;
pub(crate) mod msgpack;

use std::sync::Arc;

use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::json::{BinaryFragment, BinaryJson, RawJson};
use crate::value::Value;
use crate::{Frame, Str};

pub use decoder::{DecodeError, Decoder, DecoderConfig};

/// The event names that applications may not use (they have a meaning of
/// their own on one side or the other).
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// Whether `name` is one of [`RESERVED_EVENTS`].
pub fn is_reserved_event(name: &str) -> bool {
    RESERVED_EVENTS.contains(&name)
}

/// The logical packet type. `BINARY_EVENT` (5) and `BINARY_ACK` (6) are how
/// the JSON parser writes events and acks that carry binary: a wire detail,
/// decoded as [`Event`](PacketType::Event) and [`Ack`](PacketType::Ack).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketType {
    /// `0`: join a namespace (client → server, with optional auth data) or
    /// confirm it (server → client, with `{"sid"}`).
    Connect = 0,
    /// `1`: leave a namespace.
    Disconnect = 1,
    /// `2`: an event: `["name", ...args]`.
    Event = 2,
    /// `3`: an acknowledgement: `[...args]`.
    Ack = 3,
    /// `4`: joining a namespace was refused: `{"message", "data"?}`.
    ConnectError = 4,
}

impl PacketType {
    /// The type for a wire code `0..=6` (5 and 6 map to `Event` and `Ack`).
    pub fn from_code(code: u64) -> Option<PacketType> {
        Some(match code {
            0 => PacketType::Connect,
            1 => PacketType::Disconnect,
            2 | 5 => PacketType::Event,
            3 | 6 => PacketType::Ack,
            4 => PacketType::ConnectError,
            _ => return None,
        })
    }
}

/// Decoded packet data, in the form it arrived in.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// JSON text without binary (a slice of the frame it came in).
    Json(Str),
    /// JSON text with placeholders and the binary attachments they stand
    /// for: a binary packet of the default parser, as it arrived (see
    /// [`BinaryJson`]). Placeholders in a form other than socket.io-parser's
    /// own are read into a [`Value`] instead.
    Binary(BinaryJson),
    /// A value (msgpack packets, or data built in code).
    Value(Value),
}

/// Why payload data could not be turned into the requested type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read packet data: {0}")]
pub struct PayloadError(pub String);

impl Payload {
    /// The data as a [`Value`].
    ///
    /// ```
    /// use sio_proto::packet::Payload;
    /// let p = Payload::Json(r#"["ev",1]"#.into());
    /// assert_eq!(p.to_value().unwrap()[1].as_u64(), Some(1));
    /// ```
    pub fn to_value(&self) -> Result<Value, PayloadError> {
        match self {
            Payload::Json(text) => {
                serde_json::from_str(text).map_err(|e| PayloadError(e.to_string()))
            }
            Payload::Binary(b) => b.to_value().map_err(|e| PayloadError(e.to_string())),
            Payload::Value(v) => Ok(v.clone()),
        }
    }

    /// The data as a [`Value`], consuming the payload.
    pub fn into_value(self) -> Result<Value, PayloadError> {
        match self {
            Payload::Value(v) => Ok(v),
            json => json.to_value(),
        }
    }

    /// The whole data as `T`.
    ///
    /// ```
    /// use sio_proto::packet::Payload;
    /// #[derive(serde::Deserialize)]
    /// struct Auth { token: String }
    /// let p = Payload::Json(r#"{"token":"abc"}"#.into());
    /// assert_eq!(p.deserialize::<Auth>().unwrap().token, "abc");
    /// ```
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, PayloadError> {
        match self {
            Payload::Json(text) => {
                serde_json::from_str(text).map_err(|e| PayloadError(e.to_string()))
            }
            Payload::Binary(_) => {
                crate::from_value(self.to_value()?).map_err(|e| PayloadError(e.to_string()))
            }
            Payload::Value(v) => {
                crate::from_value(v.clone()).map_err(|e| PayloadError(e.to_string()))
            }
        }
    }

    /// The name of an event: the first element of the array (a number is
    /// turned into its decimal text, as JavaScript's `EventEmitter` does).
    ///
    /// ```
    /// use sio_proto::packet::Payload;
    /// assert_eq!(Payload::Json(r#"["chat message","hi"]"#.into()).event_name().unwrap(), "chat message");
    /// assert_eq!(Payload::Json(r#"[1,"a"]"#.into()).event_name().unwrap(), "1");
    /// ```
    pub fn event_name(&self) -> Result<String, PayloadError> {
        args::event_name(self)
    }

    /// The arguments of an event (every element after the name) or of an ack
    /// (every element), read as the sequence `T`: a tuple, a `Vec`, a struct
    /// read by position, or `Vec<Value>`. Arguments beyond what `T` takes
    /// are ignored (as JavaScript ignores extra arguments); missing ones are
    /// an error.
    ///
    /// ```
    /// use sio_proto::packet::{Payload, PacketType};
    /// let p = Payload::Json(r#"["move",3,4,"extra"]"#.into());
    /// let (x, y): (i32, i32) = p.args(PacketType::Event).unwrap();
    /// assert_eq!((x, y), (3, 4));
    /// let all: Vec<sio_proto::Value> = p.args(PacketType::Event).unwrap();
    /// assert_eq!(all.len(), 3);
    /// ```
    pub fn args<T: DeserializeOwned>(&self, kind: PacketType) -> Result<T, PayloadError> {
        let skip = usize::from(kind == PacketType::Event);
        args::args(self, skip)
    }
}

/// The arguments of an event or ack as they arrived: serializing them
/// writes JSON arguments back byte for byte (no parsing, no re-encoding),
/// and binary ones as binary. What echoing, relaying and acking "the same
/// arguments" need.
///
/// ```
/// use sio_proto::packet::{Payload, PacketType};
/// let p = Payload::Json(r#"["echo", {"b":1,"a":2}, 1.50]"#.into());
/// let args = p.arguments(PacketType::Event).unwrap();
/// assert_eq!(args.len(), 2);
/// let e = sio_proto::Parser::Json.encode_event("/", "echo-back", &args, None).unwrap();
/// assert_eq!(e.head, sio_proto::Frame::from(r#"2["echo-back",{"b":1,"a":2},1.50]"#));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Arguments(Arc<ArgumentsRepr>);

impl Default for Arguments {
    fn default() -> Self {
        Arguments::new(ArgumentsRepr::Values(Vec::new()))
    }
}

#[derive(Debug, Clone, PartialEq)]
enum ArgumentsRepr {
    Raw(Vec<RawJson>),
    /// JSON fragments whose placeholders number into the attachments.
    Binary(Vec<RawJson>, Vec<Bytes>),
    Values(Vec<Value>),
}

impl Arguments {
    /// Shared: handlers that echo or relay them take a copy each.
    fn new(repr: ArgumentsRepr) -> Arguments {
        Arguments(Arc::new(repr))
    }

    /// How many arguments.
    pub fn len(&self) -> usize {
        match &*self.0 {
            ArgumentsRepr::Raw(a) | ArgumentsRepr::Binary(a, _) => a.len(),
            ArgumentsRepr::Values(a) => a.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The arguments as values.
    pub fn to_values(&self) -> Vec<Value> {
        match &*self.0 {
            ArgumentsRepr::Raw(a) => a.iter().map(|r| r.to_value().unwrap_or_default()).collect(),
            ArgumentsRepr::Binary(a, att) => a
                .iter()
                .map(|r| fragment(r, att).to_value().unwrap_or_default())
                .collect(),
            ArgumentsRepr::Values(a) => a.clone(),
        }
    }

    /// The arguments without the first one (and the first one).
    pub fn split_first(mut self) -> (Option<Value>, Arguments) {
        let first = match Arc::make_mut(&mut self.0) {
            ArgumentsRepr::Raw(a) if !a.is_empty() => {
                Some(a.remove(0).to_value().unwrap_or_default())
            }
            ArgumentsRepr::Binary(a, att) if !a.is_empty() => {
                let first = a.remove(0);
                Some(fragment(&first, att).to_value().unwrap_or_default())
            }
            ArgumentsRepr::Values(a) if !a.is_empty() => Some(a.remove(0)),
            _ => None,
        };
        (first, self)
    }
}

impl serde::Serialize for Arguments {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &*self.0 {
            ArgumentsRepr::Raw(a) => s.collect_seq(a),
            ArgumentsRepr::Binary(a, att) => s.collect_seq(a.iter().map(|r| fragment(r, att))),
            ArgumentsRepr::Values(a) => s.collect_seq(a),
        }
    }
}

/// An argument of binary JSON text, with the attachments it refers to.
fn fragment<'a>(raw: &'a RawJson, attachments: &'a [Bytes]) -> BinaryFragment<'a> {
    BinaryFragment {
        text: raw.as_str(),
        attachments,
    }
}

/// The elements of the JSON array `text` after the first `skip`, as raw
/// fragments (slices of `text`); and the first element when `skip` is 1.
fn raw_items(text: &Str, skip: usize) -> Result<(Option<&str>, Vec<RawJson>), PayloadError> {
    let mut first = None;
    let mut raw = Vec::new();
    let mut n = 0;
    let top = crate::json::scan(text, |item| {
        if n < skip {
            first.get_or_insert(item);
        } else {
            raw.push(RawJson::new_unchecked(text.slice_ref(item)));
        }
        n += 1;
    })
    .map_err(|e| PayloadError(e.to_string()))?;
    if top != crate::json::Top::Array {
        return Err(PayloadError("expected an argument array".into()));
    }
    Ok((first, raw))
}

/// Fragments of `data`'s text as arguments (with its attachments, if any).
fn raw_arguments(data: &Payload, raw: Vec<RawJson>) -> Arguments {
    match data {
        Payload::Binary(b) => Arguments::new(ArgumentsRepr::Binary(raw, b.attachments().to_vec())),
        _ => Arguments::new(ArgumentsRepr::Raw(raw)),
    }
}

impl Payload {
    /// The JSON text of a payload that arrived as text (with placeholders
    /// for a binary one).
    fn text(&self) -> Option<&Str> {
        match self {
            Payload::Json(text) => Some(text),
            Payload::Binary(b) => Some(b.text()),
            Payload::Value(_) => None,
        }
    }

    /// The arguments of an event (after its name) or an ack, kept as they
    /// arrived (see [`Arguments`]).
    pub fn arguments(&self, kind: PacketType) -> Result<Arguments, PayloadError> {
        let skip = usize::from(kind == PacketType::Event);
        match self {
            Payload::Json(text) => {
                let (_, raw) = raw_items(text, skip)?;
                Ok(Arguments::new(ArgumentsRepr::Raw(raw)))
            }
            Payload::Binary(b) => {
                let raw = match b.items() {
                    Some(items) => items.get(skip..).unwrap_or_default().to_vec(),
                    None => raw_items(b.text(), skip)?.1,
                };
                let attachments = b.attachments().to_vec();
                Ok(Arguments::new(ArgumentsRepr::Binary(raw, attachments)))
            }
            Payload::Value(Value::Array(a)) => Ok(Arguments::new(ArgumentsRepr::Values(
                a.iter().skip(skip).cloned().collect(),
            ))),
            Payload::Value(other) => Err(PayloadError(format!(
                "expected an argument array, found {}",
                other.kind()
            ))),
        }
    }
}

impl Payload {
    /// The name and the arguments of an event, read in one pass: what
    /// [`event_name`](Payload::event_name) and
    /// [`arguments`](Payload::arguments) give, without reading the text
    /// twice. A name without escapes is a slice of the payload, not a copy.
    ///
    /// ```
    /// use sio_proto::packet::Payload;
    /// let p = Payload::Json(r#"["chat",{"a":1},2]"#.into());
    /// let (name, args) = p.event_parts().unwrap();
    /// assert_eq!(name, "chat");
    /// assert_eq!(args.len(), 2);
    /// assert!(Payload::Json("[]".into()).event_parts().is_err());
    /// ```
    pub fn event_parts(&self) -> Result<(Str, Arguments), PayloadError> {
        let Some(text) = self.text() else {
            return Ok((
                Str::from(self.event_name()?),
                self.arguments(PacketType::Event)?,
            ));
        };
        let known = match self {
            Payload::Binary(b) => b.items(),
            _ => None,
        };
        let (first, rest) = match known.and_then(<[RawJson]>::split_first) {
            Some((first, rest)) => (Some(first.as_str()), rest.to_vec()),
            None => raw_items(text, 1)?,
        };
        let head = first.ok_or_else(|| {
            PayloadError("an event must be an array starting with its name".into())
        })?;
        let name = match head.strip_prefix('"').and_then(|h| h.strip_suffix('"')) {
            Some(plain) if !plain.contains('\\') => text.slice_ref(plain),
            _ => match crate::json::from_str_lossy::<args::Head<'static>>(head) {
                Ok(args::Head::Name(n)) => Str::from(n.into_owned()),
                Ok(args::Head::Number(n)) => Str::from(n),
                _ => {
                    return Err(PayloadError(
                        "an event must be an array starting with its name".into(),
                    ))
                }
            },
        };
        Ok((name, raw_arguments(self, rest)))
    }
}

/// A Socket.IO packet.
///
/// ```
/// use sio_proto::{Packet, PacketType, Parser, Value};
/// let p = Packet::event("/chat", "hello", vec![Value::from(1), Value::from("2")]).with_id(7);
/// let encoded = Parser::Json.encode_packet(&p).unwrap();
/// assert_eq!(encoded.head, sio_proto::Frame::from(r#"2/chat,7["hello",1,"2"]"#));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    /// The packet type.
    pub kind: PacketType,
    /// The namespace (`/` by default).
    pub nsp: Str,
    /// The ack id: set on an event that asks for an ack, and on the ack.
    pub id: Option<u64>,
    /// The data (`["name", ...args]` for events, `[...args]` for acks,
    /// an object for connect, an object or string for connect errors).
    pub data: Option<Payload>,
}

impl Packet {
    /// A packet with no id and no data.
    pub fn new(kind: PacketType, nsp: impl Into<Str>) -> Packet {
        Packet {
            kind,
            nsp: nsp.into(),
            id: None,
            data: None,
        }
    }

    /// A CONNECT packet with optional data (the client's auth, or the
    /// server's `{"sid"}`).
    pub fn connect(nsp: impl Into<Str>, data: Option<Value>) -> Packet {
        Packet {
            data: data.map(Payload::Value),
            ..Packet::new(PacketType::Connect, nsp)
        }
    }

    /// A DISCONNECT packet.
    pub fn disconnect(nsp: impl Into<Str>) -> Packet {
        Packet::new(PacketType::Disconnect, nsp)
    }

    /// An EVENT packet `[event, ...args]`.
    pub fn event(nsp: impl Into<Str>, event: &str, args: Vec<Value>) -> Packet {
        let mut data = Vec::with_capacity(args.len() + 1);
        data.push(Value::from(event));
        data.extend(args);
        Packet {
            data: Some(Payload::Value(Value::Array(data))),
            ..Packet::new(PacketType::Event, nsp)
        }
    }

    /// An ACK packet `[...args]` for ack id `id`.
    pub fn ack(nsp: impl Into<Str>, id: u64, args: Vec<Value>) -> Packet {
        Packet {
            id: Some(id),
            data: Some(Payload::Value(Value::Array(args))),
            ..Packet::new(PacketType::Ack, nsp)
        }
    }

    /// A CONNECT_ERROR packet `{"message", "data"?}`.
    pub fn connect_error(nsp: impl Into<Str>, message: &str, data: Option<Value>) -> Packet {
        let mut m = crate::Map::new();
        m.insert("message".into(), Value::from(message));
        if let Some(data) = data {
            m.insert("data".into(), data);
        }
        Packet {
            data: Some(Payload::Value(Value::Object(m))),
            ..Packet::new(PacketType::ConnectError, nsp)
        }
    }

    /// The same packet with ack id `id`.
    pub fn with_id(mut self, id: u64) -> Packet {
        self.id = Some(id);
        self
    }

    /// The event name of an EVENT packet.
    pub fn event_name(&self) -> Result<String, PayloadError> {
        match (&self.kind, &self.data) {
            (PacketType::Event, Some(data)) => data.event_name(),
            _ => Err(PayloadError("not an event".into())),
        }
    }

    /// The arguments of an EVENT (after the name) or ACK packet, as `T`.
    /// See [`Payload::args`].
    pub fn args<T: DeserializeOwned>(&self) -> Result<T, PayloadError> {
        match &self.data {
            Some(data) => data.args(self.kind),
            None => args::args(&Payload::Value(Value::Array(Vec::new())), 0),
        }
    }
}

/// An encoded packet: the first frame, then the binary attachments (JSON
/// parser only) that must follow it in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// The packet itself (text for JSON, binary for msgpack).
    pub head: Frame,
    /// Binary attachments, each sent as its own Engine.IO message.
    pub attachments: Vec<Bytes>,
}

impl Encoded {
    /// All frames in sending order.
    pub fn frames(&self) -> impl ExactSizeIterator<Item = Frame> + '_ {
        // Indexed rather than chained: a chain does not know its length, and
        // senders that queue a packet all-or-none need it up front.
        (0..self.frame_count()).map(|i| match i {
            0 => self.head.clone(),
            i => Frame::Binary(self.attachments[i - 1].clone()),
        })
    }

    /// The number of frames.
    pub fn frame_count(&self) -> usize {
        1 + self.attachments.len()
    }

    /// All frames in sending order, moved out (no reference counts taken).
    ///
    /// ```
    /// let e = sio_proto::Parser::Json.encode_ack("/", 1, &(bytes::Bytes::from_static(b"x"),)).unwrap();
    /// let frames = e.into_frames();
    /// assert_eq!(frames.len(), 2);
    /// ```
    pub fn into_frames(self) -> IntoFrames {
        IntoFrames {
            head: Some(self.head),
            attachments: self.attachments.into_iter(),
        }
    }
}

/// The frames of an [`Encoded`] packet, moved out: see [`Encoded::into_frames`].
#[derive(Debug)]
pub struct IntoFrames {
    head: Option<Frame>,
    attachments: std::vec::IntoIter<Bytes>,
}

impl Iterator for IntoFrames {
    type Item = Frame;

    fn next(&mut self) -> Option<Frame> {
        match self.head.take() {
            Some(head) => Some(head),
            None => self.attachments.next().map(Frame::Binary),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::from(self.head.is_some()) + self.attachments.len();
        (n, Some(n))
    }
}

impl ExactSizeIterator for IntoFrames {}

#[cfg(test)]
mod surrogate_tests {
    use super::*;

    #[test]
    fn event_parts_agree_with_name_and_arguments() {
        for text in [
            r#"["plain",1,"two",{"x":[3]}]"#,
            r#"["esc\"aped\u00e9", "a"]"#,
            r#"[42,"a"]"#,
            r#"[1.5]"#,
            r#"["a\ud800b","\udc00"]"#,
            r#" [ "spaced" , 1 ] "#,
        ] {
            let p = Payload::Json(text.into());
            let (name, args) = p.event_parts().unwrap();
            assert_eq!(name, p.event_name().unwrap(), "{text}");
            assert_eq!(args, p.arguments(PacketType::Event).unwrap(), "{text}");
        }
        for bad in ["[]", "[null]", "[{}]", "{}", "[\"a\""] {
            assert!(Payload::Json(bad.into()).event_parts().is_err(), "{bad}");
        }
        let v = Payload::Value(Value::Array(vec![Value::from("bin"), Value::from(1)]));
        let (name, args) = v.event_parts().unwrap();
        assert_eq!((name.as_str(), args.len()), ("bin", 1));
    }

    #[test]
    fn lone_surrogates_pass_through() {
        let text = r#"["message","a\ud800b","\udc00"]"#;
        let mut d = crate::Decoder::new(crate::Parser::Json);
        let p = d
            .decode(crate::Frame::from(format!("2{text}")))
            .unwrap()
            .unwrap();
        let data = p.data.clone().unwrap();
        assert_eq!(data.event_name().unwrap(), "message");
        let args = data.arguments(PacketType::Event).unwrap();
        assert_eq!(args.len(), 2);
        let e = crate::Parser::Json
            .encode_event("/", "message-back", &args, None)
            .unwrap();
        assert_eq!(
            e.head,
            crate::Frame::from(r#"2["message-back","a\ud800b","\udc00"]"#)
        );
        let values: Vec<Value> = p.args().unwrap();
        assert_eq!(values[0].as_str(), Some("a\u{fffd}b"));
    }
}

#[cfg(test)]
mod binary_tests {
    use super::*;
    use crate::{Decoder, Parser};

    fn decode(frames: &[Frame]) -> Result<Packet, DecodeError> {
        let mut d = Decoder::new(Parser::Json);
        let mut out = None;
        for f in frames {
            out = d.decode(f.clone())?;
        }
        Ok(out.expect("a whole packet"))
    }

    fn bin(b: &'static [u8]) -> Frame {
        Frame::Binary(Bytes::from_static(b))
    }

    #[test]
    fn binary_packets_stay_text_and_echo_as_they_came() {
        let head =
            r#"52-7["up","a",{"_placeholder":true,"num":1},{"k":[{"_placeholder":true,"num":0}]}]"#;
        let p = decode(&[Frame::from(head), bin(b"zero"), bin(b"one")]).unwrap();
        let data = p.data.clone().unwrap();
        assert!(matches!(data, Payload::Binary(_)));
        assert_eq!(p.event_name().unwrap(), "up");
        let (name, args) = data.event_parts().unwrap();
        assert_eq!((name.as_str(), args.len()), ("up", 3));
        assert_eq!(args, data.arguments(PacketType::Event).unwrap());
        // Renumbered in the order the buffers come in the ack.
        let e = Parser::Json.encode_ack("/", 7, &args).unwrap();
        assert_eq!(
            e.head,
            Frame::from(
                r#"62-7["a",{"_placeholder":true,"num":0},{"k":[{"_placeholder":true,"num":1}]}]"#
            )
        );
        assert_eq!(e.attachments, [&b"one"[..], &b"zero"[..]]);
        // The same values as the tree path.
        let tree = crate::json::parse_value(
            &head.as_bytes()[4..],
            &[Bytes::from_static(b"zero"), Bytes::from_static(b"one")],
        )
        .unwrap();
        assert_eq!(data.to_value().unwrap(), tree);
        let values: Vec<Value> = p.args().unwrap();
        assert_eq!(values, tree.as_array().unwrap()[1..]);
        assert_eq!(args.to_values(), values);
        let (x, s): (String, Bytes) = p.args().unwrap();
        assert_eq!((x.as_str(), &s[..]), ("a", &b"one"[..]));
        let (first, rest) = args.clone().split_first();
        assert_eq!(first, Some(Value::from("a")));
        let e = Parser::Json.encode_event("/", "e", &rest, None).unwrap();
        assert_eq!(
            e.head,
            Frame::from(
                r#"52-["e",{"_placeholder":true,"num":0},{"k":[{"_placeholder":true,"num":1}]}]"#
            )
        );
        // Nested in other data, after a buffer of its own.
        let e = Parser::Json
            .encode_ack("/", 1, &(Bytes::from_static(b"mine"), &args))
            .unwrap();
        assert_eq!(e.attachments, [&b"mine"[..], &b"one"[..], &b"zero"[..]]);
        let back = decode(
            &std::iter::once(e.head)
                .chain(e.attachments.into_iter().map(Frame::Binary))
                .collect::<Vec<_>>(),
        )
        .unwrap();
        assert_eq!(back.args::<(Bytes, Vec<Value>)>().unwrap().1, values);
        // The msgpack parser sees the values.
        let m = Parser::Msgpack.encode_ack("/", 1, &args).unwrap();
        let back = Parser::Msgpack.decoder().decode(m.head).unwrap().unwrap();
        assert_eq!(back.args::<Vec<Value>>().unwrap(), values);
        // The whole packet re-encodes numbered in order, as the reference.
        let e = Parser::Json.encode_packet(&p).unwrap();
        assert_eq!(
            e.head,
            Frame::from(
                r#"52-7["up","a",{"_placeholder":true,"num":0},{"k":[{"_placeholder":true,"num":1}]}]"#
            )
        );
        assert_eq!(e.attachments, [&b"one"[..], &b"zero"[..]]);
    }

    #[test]
    fn other_placeholder_spellings_take_the_tree() {
        let p = decode(&[
            Frame::from(r#"51-["up",{"num":0,"_placeholder":true}]"#),
            bin(b"x"),
        ])
        .unwrap();
        let data = p.data.unwrap();
        assert!(matches!(data, Payload::Value(_)));
        assert_eq!(
            data.to_value().unwrap()[1].as_bytes().unwrap().as_ref(),
            b"x"
        );
        for bad in [
            r#"51-["up",{"_placeholder":true,"num":1}]"#,
            r#"51-["up",{"_placeholder":true}]"#,
        ] {
            assert!(
                matches!(
                    decode(&[Frame::from(bad), bin(b"x")]),
                    Err(DecodeError::IllegalPlaceholder(_))
                ),
                "{bad}"
            );
        }
    }
}
