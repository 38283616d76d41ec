//! Engine.IO v4: the transport layer under Socket.IO.
//!
//! An Engine.IO session carries packets of seven types. Over WebSocket each
//! packet is one frame: text packets are the type digit followed by the data,
//! binary messages are raw binary frames. Over HTTP long-polling, packets are
//! joined by the record separator `\x1e` into one text body, binary messages
//! written as `b` followed by base64.
//!
//! ```
//! use sio_proto::engine::{Packet, PacketType, encode_payload, decode_payload};
//! use sio_proto::{Frame, Str};
//!
//! let packets = [Packet::message("hello"), Packet::binary(bytes::Bytes::from_static(&[1, 2, 3]))];
//! let body = encode_payload(&packets);
//! assert_eq!(&body[..], b"4hello\x1ebAQID");
//!
//! let decoded: Vec<Packet> = decode_payload(Str::from_utf8(body).unwrap()).collect::<Result<_, _>>().unwrap();
//! assert_eq!(decoded, packets);
//! assert_eq!(decoded[0].kind, PacketType::Message);
//! ```

mod handshake;
mod heartbeat;
mod packet;
mod payload;

pub use handshake::OpenPacket;
pub use heartbeat::{Heartbeat, HeartbeatAction, TIMER_SLACK};
pub use packet::{EngineError, Packet, PacketType};
pub use payload::{decode_payload, encode_payload, encode_payload_into, PayloadDecoder, SEPARATOR};
