//! # sio-proto
//!
//! The sans-IO protocol core of sio: everything about the Socket.IO v5 and
//! Engine.IO v4 wire formats, with no async runtime, no sockets and no clock.
//! The server and the client are thin shells around it.
//!
//! - [`engine`]: Engine.IO packets, their WebSocket framing and the polling
//!   payload codec (`\x1e` separators, `b` + base64 binary), the handshake.
//! - [`packet`]: Socket.IO packets; [`Parser`] encodes them (JSON with binary
//!   attachments, or msgpack) and [`Decoder`] is the state machine that
//!   decodes them frame by frame and rejects every malformed input.
//! - [`websocket`]: WebSocket frame headers and masking (RFC 6455), for
//!   transports that parse frames in their own buffers.
//! - [`Value`]: the dynamic data model (JSON plus binary) and the serde glue:
//!   any `Serialize` argument tuple is a payload, any payload reads back as any
//!   `Deserialize` type, `bytes::Bytes` fields travel as binary.
//!
//! ```
//! use sio_proto::{Decoder, Frame, Packet, PacketType, Parser};
//!
//! // Encode an event with a binary argument: one text frame + one attachment.
//! let encoded = Parser::Json
//!     .encode_event("/", "upload", &("photo.png", bytes::Bytes::from_static(b"\x89PNG")), Some(1))
//!     .unwrap();
//! let frames: Vec<Frame> = encoded.frames().collect();
//! assert_eq!(frames[0], Frame::from(r#"51-1["upload","photo.png",{"_placeholder":true,"num":0}]"#));
//!
//! // Decode it back, frame by frame.
//! let mut decoder = Decoder::new(Parser::Json);
//! assert!(decoder.decode(frames[0].clone()).unwrap().is_none());
//! let packet: Packet = decoder.decode(frames[1].clone()).unwrap().unwrap();
//! assert_eq!(packet.kind, PacketType::Event);
//! assert_eq!(packet.event_name().unwrap(), "upload");
//! let (name, data): (String, bytes::Bytes) = packet.args().unwrap();
//! assert_eq!((name.as_str(), &data[..]), ("photo.png", &b"\x89PNG"[..]));
//! ```

#![deny(missing_docs)]

pub mod engine;
mod frame;
pub mod json;
pub mod packet;
mod parser;
mod str;
pub mod value;
pub mod websocket;

pub use bytes::Bytes;
pub use frame::Frame;
pub use packet::{DecodeError, Decoder, DecoderConfig, Encoded, Packet, PacketType, Payload};
pub use parser::{EncodeError, Parser};
pub use str::{Str, Utf8Error};
pub use value::{from_value, to_value, Map, Number, Value};
