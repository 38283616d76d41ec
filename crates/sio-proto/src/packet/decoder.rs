//! [`Decoder`]: frames in, packets out.
//!
//! A state machine fed one Engine.IO message at a time. With the JSON parser
//! a binary packet is a text header followed by its attachments: the decoder
//! holds the header until the last attachment arrives, bounded by
//! [`DecoderConfig::max_attachments`]. Every input that the reference
//! decoder rejects is rejected here too, with an error that says why; the
//! caller closes that one connection (reason `parse error`).

use bytes::Bytes;

use super::args::{Head, Shape};
use super::json::{parse_header, Header, HeaderError};
use super::{is_reserved_event, msgpack, Packet, PacketType, Payload};
use crate::json::{BinaryJson, RawJson};
use crate::value::Value;
use crate::{Frame, Parser, Str};

/// Limits of a [`Decoder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecoderConfig {
    /// The most binary attachments one packet may announce (reference: 10).
    pub max_attachments: usize,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        DecoderConfig {
            max_attachments: 10,
        }
    }
}

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// An empty text frame.
    #[error("empty packet")]
    Empty,
    /// The type digit is not 0–6 (or, with msgpack, `type` is not 0–4).
    #[error("unknown packet type {0}")]
    UnknownType(String),
    /// A binary packet header without a valid `<count>-`, or a count of 0.
    #[error("illegal attachments")]
    IllegalAttachments,
    /// More attachments announced than allowed.
    #[error("too many attachments: {count} (at most {max})")]
    TooManyAttachments {
        /// Announced.
        count: usize,
        /// Allowed.
        max: usize,
    },
    /// The ack id is not an integer in range.
    #[error("invalid ack id")]
    InvalidAckId,
    /// The namespace is missing or not a string (msgpack).
    #[error("invalid namespace")]
    InvalidNamespace,
    /// The data does not have the shape the packet type requires.
    #[error("invalid payload: {0}")]
    InvalidPayload(&'static str),
    /// An event uses a reserved name.
    #[error("invalid payload: {0:?} is a reserved event name")]
    ReservedEvent(String),
    /// The data is not valid JSON / msgpack.
    #[error("invalid payload: {0}")]
    Syntax(String),
    /// A placeholder refers to a missing attachment.
    #[error("illegal attachments: {0}")]
    IllegalPlaceholder(String),
    /// A text frame arrived while attachments were expected.
    #[error("got plaintext data when reconstructing a packet")]
    UnexpectedText,
    /// A binary frame arrived with no binary packet pending (JSON), or a text
    /// frame with the msgpack parser.
    #[error("got binary data when not reconstructing a packet")]
    UnexpectedBinary,
    /// A text frame with the msgpack parser.
    #[error("the msgpack parser expects binary frames")]
    TextWithMsgpack,
}

/// A binary packet waiting for its attachments.
#[derive(Debug)]
struct Pending {
    kind: PacketType,
    nsp: Str,
    id: Option<u64>,
    data: Str,
    expected: usize,
    buffers: Vec<Bytes>,
    /// The elements of the data, when it is an array.
    items: Vec<RawJson>,
}

/// Decodes Socket.IO packets from Engine.IO messages.
///
/// ```
/// use sio_proto::{Decoder, Frame, PacketType, Parser};
/// let mut d = Decoder::new(Parser::Json);
/// // A binary event: header, then one attachment.
/// assert_eq!(d.decode(Frame::from(r#"51-["up",{"_placeholder":true,"num":0}]"#)).unwrap(), None);
/// let p = d.decode(Frame::Binary(bytes::Bytes::from_static(&[1, 2]))).unwrap().unwrap();
/// assert_eq!(p.kind, PacketType::Event);
/// let (data,): (bytes::Bytes,) = p.args().unwrap();
/// assert_eq!(&data[..], &[1, 2]);
///
/// // An EVENT must be an array that starts with the event name.
/// assert!(d.decode(Frame::from("2{}")).is_err());
/// assert!(d.decode(Frame::from(r#"2["disconnect"]"#)).is_err());
/// ```
#[derive(Debug)]
pub struct Decoder {
    parser: Parser,
    config: DecoderConfig,
    pending: Option<Pending>,
}

impl Decoder {
    /// A decoder for `parser` with the default limits.
    pub fn new(parser: Parser) -> Decoder {
        Decoder::with_config(parser, DecoderConfig::default())
    }

    /// A decoder for `parser` with `config`.
    pub fn with_config(parser: Parser, config: DecoderConfig) -> Decoder {
        Decoder {
            parser,
            config,
            pending: None,
        }
    }

    /// Whether a binary packet is waiting for attachments.
    pub fn is_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Drops a partly received packet.
    pub fn reset(&mut self) {
        self.pending = None;
    }

    /// Feeds one message. Returns a packet when one is complete, `None` while
    /// attachments are still expected. After an error the decoder is reset.
    pub fn decode(&mut self, frame: Frame) -> Result<Option<Packet>, DecodeError> {
        let out = match self.parser {
            Parser::Json => self.decode_json(frame),
            Parser::Msgpack => decode_msgpack(frame).map(Some),
        };
        if out.is_err() {
            self.pending = None;
        }
        out
    }

    fn decode_json(&mut self, frame: Frame) -> Result<Option<Packet>, DecodeError> {
        match frame {
            Frame::Text(text) => {
                if self.pending.is_some() {
                    return Err(DecodeError::UnexpectedText);
                }
                let Header {
                    kind,
                    attachments,
                    nsp,
                    id,
                    data,
                } = parse_header(&text).map_err(|e| match e {
                    HeaderError::Empty => DecodeError::Empty,
                    HeaderError::UnknownType(c) => DecodeError::UnknownType(c.to_string()),
                    HeaderError::IllegalAttachments => DecodeError::IllegalAttachments,
                    HeaderError::InvalidId => DecodeError::InvalidAckId,
                })?;
                if attachments > self.config.max_attachments {
                    return Err(DecodeError::TooManyAttachments {
                        count: attachments,
                        max: self.config.max_attachments,
                    });
                }
                // An EVENT without data is accepted (the server ignores it), as by the reference.
                // A binary packet keeps the elements found here for its
                // readers (see `BinaryJson`): its text is not read again.
                let mut items = Vec::new();
                if !data.is_empty() {
                    let shape = Shape::scan_items(&data, |item| {
                        if attachments > 0 {
                            items.push(RawJson::new_unchecked(data.slice_ref(item)));
                        }
                    })
                    .map_err(|e| DecodeError::Syntax(e.to_string()))?;
                    check_shape(kind, &shape)?;
                }
                if attachments > 0 {
                    if data.is_empty() {
                        return Err(DecodeError::InvalidPayload("a binary packet needs data"));
                    }
                    self.pending = Some(Pending {
                        kind,
                        nsp,
                        id,
                        data,
                        expected: attachments,
                        buffers: Vec::with_capacity(attachments),
                        items,
                    });
                    return Ok(None);
                }
                let data = (!data.is_empty()).then_some(Payload::Json(data));
                Ok(Some(Packet {
                    kind,
                    nsp,
                    id,
                    data,
                }))
            }
            Frame::Binary(bytes) => {
                let pending = self.pending.as_mut().ok_or(DecodeError::UnexpectedBinary)?;
                pending.buffers.push(bytes);
                if pending.buffers.len() < pending.expected {
                    return Ok(None);
                }
                let p = self.pending.take().expect("checked above");
                let data = if crate::json::placeholders_canonical(&p.data, p.buffers.len()) {
                    // Kept as text: no tree to build (see `BinaryJson`).
                    Payload::Binary(BinaryJson::with_items(p.data, p.buffers, p.items))
                } else {
                    let value = crate::json::parse_value(p.data.as_bytes(), &p.buffers).map_err(
                        |e| match e {
                            crate::json::JsonError::IllegalAttachment(m) => {
                                DecodeError::IllegalPlaceholder(m)
                            }
                            other => DecodeError::Syntax(other.to_string()),
                        },
                    )?;
                    Payload::Value(value)
                };
                Ok(Some(Packet {
                    kind: p.kind,
                    nsp: p.nsp,
                    id: p.id,
                    data: Some(data),
                }))
            }
        }
    }
}

/// The reference's payload rules per packet type.
fn check_shape(kind: PacketType, shape: &Shape) -> Result<(), DecodeError> {
    match (kind, shape) {
        (PacketType::Connect, Shape::Object) => Ok(()),
        (PacketType::Connect, _) => Err(DecodeError::InvalidPayload(
            "CONNECT data must be an object",
        )),
        (PacketType::Disconnect, _) => Err(DecodeError::InvalidPayload("DISCONNECT takes no data")),
        (PacketType::ConnectError, Shape::Object | Shape::String) => Ok(()),
        (PacketType::ConnectError, _) => Err(DecodeError::InvalidPayload(
            "CONNECT_ERROR data must be an object or a string",
        )),
        (PacketType::Ack, Shape::Array(_)) => Ok(()),
        (PacketType::Ack, _) => Err(DecodeError::InvalidPayload("ACK data must be an array")),
        (PacketType::Event, Shape::Array(Some(Head::Name(name)))) if is_reserved_event(name) => {
            Err(DecodeError::ReservedEvent(name.to_string()))
        }
        (PacketType::Event, Shape::Array(Some(Head::Name(_) | Head::Number(_)))) => Ok(()),
        (PacketType::Event, _) => Err(DecodeError::InvalidPayload(
            "EVENT data must be an array starting with the event name",
        )),
    }
}

fn decode_msgpack(frame: Frame) -> Result<Packet, DecodeError> {
    let Frame::Binary(bytes) = frame else {
        return Err(DecodeError::TextWithMsgpack);
    };
    let raw = msgpack::decode(&bytes).map_err(DecodeError::Syntax)?;
    let kind = raw
        .kind
        .as_ref()
        .and_then(Value::as_u64)
        .filter(|&t| t <= 4)
        .and_then(PacketType::from_code)
        .ok_or_else(|| {
            DecodeError::UnknownType(raw.kind.as_ref().map_or("(none)".into(), |k| k.to_string()))
        })?;
    let nsp = match raw.nsp {
        Some(Value::String(s)) => Str::from(s),
        _ => return Err(DecodeError::InvalidNamespace),
    };
    let id = match raw.id {
        None => None,
        Some(v) => Some(v.as_u64().ok_or(DecodeError::InvalidAckId)?),
    };
    match &raw.data {
        Some(v) => check_shape(kind, &Shape::of(v))?,
        // The msgpack decoder requires data where the type has some.
        None if kind == PacketType::Event || kind == PacketType::Ack => {
            return Err(DecodeError::InvalidPayload("EVENT and ACK need an array"))
        }
        None if kind == PacketType::ConnectError => {
            return Err(DecodeError::InvalidPayload("CONNECT_ERROR needs data"))
        }
        None => {}
    }
    Ok(Packet {
        kind,
        nsp,
        id,
        data: raw.data.map(Payload::Value),
    })
}
