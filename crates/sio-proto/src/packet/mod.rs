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

use bytes::Bytes;
use serde::de::DeserializeOwned;

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
    /// A value (binary packets, msgpack packets, or data built in code).
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
pub struct Arguments(ArgumentsRepr);

impl Default for Arguments {
    fn default() -> Self {
        Arguments(ArgumentsRepr::Values(Vec::new()))
    }
}

#[derive(Debug, Clone, PartialEq)]
enum ArgumentsRepr {
    Raw(Vec<crate::json::RawJson>),
    Values(Vec<Value>),
}

impl Arguments {
    /// How many arguments.
    pub fn len(&self) -> usize {
        match &self.0 {
            ArgumentsRepr::Raw(a) => a.len(),
            ArgumentsRepr::Values(a) => a.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The arguments as values.
    pub fn to_values(&self) -> Vec<Value> {
        match &self.0 {
            ArgumentsRepr::Raw(a) => a.iter().map(|r| r.to_value().unwrap_or_default()).collect(),
            ArgumentsRepr::Values(a) => a.clone(),
        }
    }

    /// The arguments without the first one (and the first one).
    pub fn split_first(mut self) -> (Option<Value>, Arguments) {
        let first = match &mut self.0 {
            ArgumentsRepr::Raw(a) if !a.is_empty() => {
                Some(a.remove(0).to_value().unwrap_or_default())
            }
            ArgumentsRepr::Values(a) if !a.is_empty() => Some(a.remove(0)),
            _ => None,
        };
        (first, self)
    }
}

impl serde::Serialize for Arguments {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            ArgumentsRepr::Raw(a) => s.collect_seq(a),
            ArgumentsRepr::Values(a) => s.collect_seq(a),
        }
    }
}

impl Payload {
    /// The arguments of an event (after its name) or an ack, kept as they
    /// arrived (see [`Arguments`]).
    pub fn arguments(&self, kind: PacketType) -> Result<Arguments, PayloadError> {
        let skip = usize::from(kind == PacketType::Event);
        match self {
            Payload::Json(text) => {
                let items: Vec<&serde_json::value::RawValue> =
                    serde_json::from_str(text).map_err(|e| PayloadError(e.to_string()))?;
                let raw = items
                    .into_iter()
                    .skip(skip)
                    .map(|r| crate::json::RawJson::new_unchecked(text.slice_ref(r.get())))
                    .collect();
                Ok(Arguments(ArgumentsRepr::Raw(raw)))
            }
            Payload::Value(Value::Array(a)) => Ok(Arguments(ArgumentsRepr::Values(
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
        let Payload::Json(text) = self else {
            return Ok((
                Str::from(self.event_name()?),
                self.arguments(PacketType::Event)?,
            ));
        };
        let items: Vec<&serde_json::value::RawValue> =
            serde_json::from_str(text).map_err(|e| PayloadError(e.to_string()))?;
        let (first, rest) = items.split_first().ok_or_else(|| {
            PayloadError("an event must be an array starting with its name".into())
        })?;
        let head = first.get();
        let name = match head.strip_prefix('"').and_then(|h| h.strip_suffix('"')) {
            Some(plain) if !plain.contains('\\') => text.slice_ref(plain),
            _ => match crate::json::from_str_lossy::<args::Head>(head) {
                Ok(args::Head::Name(n) | args::Head::Number(n)) => Str::from(n),
                _ => {
                    return Err(PayloadError(
                        "an event must be an array starting with its name".into(),
                    ))
                }
            },
        };
        let raw = rest
            .iter()
            .map(|r| crate::json::RawJson::new_unchecked(text.slice_ref(r.get())))
            .collect();
        Ok((name, Arguments(ArgumentsRepr::Raw(raw))))
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
}

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
