//! Engine.IO packets and their WebSocket encoding.

use base64::Engine as _;
use bytes::Bytes;

use crate::{Frame, Str};

/// The seven Engine.IO packet types (the digit that starts a text packet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketType {
    /// `0`: the handshake, sent by the server.
    Open = 0,
    /// `1`: the session is closing.
    Close = 1,
    /// `2`: heartbeat ping (sent by the server in v4; `2probe` by the client during an upgrade).
    Ping = 2,
    /// `3`: heartbeat pong.
    Pong = 3,
    /// `4`: application data (a Socket.IO packet).
    Message = 4,
    /// `5`: completes an upgrade to WebSocket.
    Upgrade = 5,
    /// `6`: does nothing (releases a pending polling request during an upgrade).
    Noop = 6,
}

impl PacketType {
    /// The type for a digit `b'0'..=b'6'`.
    pub fn from_digit(b: u8) -> Option<PacketType> {
        Some(match b {
            b'0' => PacketType::Open,
            b'1' => PacketType::Close,
            b'2' => PacketType::Ping,
            b'3' => PacketType::Pong,
            b'4' => PacketType::Message,
            b'5' => PacketType::Upgrade,
            b'6' => PacketType::Noop,
            _ => return None,
        })
    }

    /// The digit that encodes this type.
    pub fn digit(self) -> u8 {
        b'0' + self as u8
    }
}

/// Why an Engine.IO packet could not be decoded. Any of these closes the
/// session with reason `parse error`, as the reference does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// An empty text packet (no type digit).
    #[error("parser error: empty packet")]
    Empty,
    /// The first character is not a packet type digit (`0`–`6`) nor `b`.
    #[error("parser error: unknown packet type {0:?}")]
    UnknownType(char),
    /// A `b` packet whose data is not valid base64.
    #[error("parser error: invalid base64 in binary packet")]
    Base64,
}

/// One Engine.IO packet: a type and optional text or binary data.
///
/// ```
/// use sio_proto::engine::{Packet, PacketType};
/// use sio_proto::Frame;
/// let ping = Packet::decode_frame(Frame::from("2probe")).unwrap();
/// assert_eq!(ping, Packet::ping_probe());
/// assert_eq!(Packet::message("hi").to_frame(), Frame::from("4hi"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The packet type.
    pub kind: PacketType,
    /// The data, if any: text for every type, binary only for messages.
    pub data: Option<Frame>,
}

impl Packet {
    /// A packet of `kind` without data.
    pub const fn empty(kind: PacketType) -> Packet {
        Packet { kind, data: None }
    }

    /// A text message.
    pub fn message(text: impl Into<Str>) -> Packet {
        Packet {
            kind: PacketType::Message,
            data: Some(Frame::Text(text.into())),
        }
    }

    /// A binary message.
    pub fn binary(data: Bytes) -> Packet {
        Packet {
            kind: PacketType::Message,
            data: Some(Frame::Binary(data)),
        }
    }

    /// A message carrying `frame` (text or binary).
    pub fn from_frame_data(frame: Frame) -> Packet {
        Packet {
            kind: PacketType::Message,
            data: Some(frame),
        }
    }

    /// `2`, the server's heartbeat.
    pub const fn ping() -> Packet {
        Packet::empty(PacketType::Ping)
    }

    /// `3`, the answer to a heartbeat.
    pub const fn pong() -> Packet {
        Packet::empty(PacketType::Pong)
    }

    /// `2probe`, the client's upgrade probe.
    pub const fn ping_probe() -> Packet {
        Packet {
            kind: PacketType::Ping,
            data: Some(Frame::Text(Str::from_static("probe"))),
        }
    }

    /// `3probe`, the server's answer to the probe.
    pub const fn pong_probe() -> Packet {
        Packet {
            kind: PacketType::Pong,
            data: Some(Frame::Text(Str::from_static("probe"))),
        }
    }

    /// `1`.
    pub const fn close() -> Packet {
        Packet::empty(PacketType::Close)
    }

    /// `5`.
    pub const fn upgrade() -> Packet {
        Packet::empty(PacketType::Upgrade)
    }

    /// `6`.
    pub const fn noop() -> Packet {
        Packet::empty(PacketType::Noop)
    }

    /// Whether the data is the text `probe`.
    pub fn is_probe(&self) -> bool {
        matches!(&self.data, Some(Frame::Text(s)) if s == "probe")
    }

    /// Encodes the packet as one WebSocket frame: binary data as a raw binary
    /// frame, everything else as the type digit followed by the text.
    pub fn to_frame(&self) -> Frame {
        match &self.data {
            Some(Frame::Binary(b)) => Frame::Binary(b.clone()),
            Some(Frame::Text(t)) => {
                let mut s = String::with_capacity(t.len() + 1);
                s.push(self.kind.digit() as char);
                s.push_str(t);
                Frame::Text(Str::from(s))
            }
            None => Frame::Text(Str::from_static(DIGITS[self.kind as usize])),
        }
    }

    /// Appends the text form of the packet (as in a polling payload) to `out`:
    /// binary data as `b` + base64.
    pub fn encode_text_into(&self, out: &mut Vec<u8>) {
        match &self.data {
            Some(Frame::Binary(b)) => {
                out.push(b'b');
                let start = out.len();
                out.resize(start + base64::encoded_len(b.len(), true).unwrap_or(0), 0);
                let written = base64::engine::general_purpose::STANDARD
                    .encode_slice(b, &mut out[start..])
                    .expect("buffer sized by encoded_len");
                out.truncate(start + written);
            }
            Some(Frame::Text(t)) => {
                out.push(self.kind.digit());
                out.extend_from_slice(t.as_bytes());
            }
            None => out.push(self.kind.digit()),
        }
    }

    /// Decodes one packet from a WebSocket frame (or one polling record).
    ///
    /// A binary frame is a binary message. A text frame starts with the type
    /// digit, or with `b` for base64 binary data (as the reference accepts).
    pub fn decode_frame(frame: Frame) -> Result<Packet, EngineError> {
        match frame {
            Frame::Binary(b) => Ok(Packet::binary(b)),
            Frame::Text(t) => Packet::decode_text(t),
        }
    }

    /// Decodes one text-encoded packet.
    pub fn decode_text(text: Str) -> Result<Packet, EngineError> {
        let first = *text.as_bytes().first().ok_or(EngineError::Empty)?;
        if first == b'b' {
            let data = BASE64_DECODER
                .decode(&text.as_bytes()[1..])
                .map_err(|_| EngineError::Base64)?;
            return Ok(Packet::binary(Bytes::from(data)));
        }
        let kind = PacketType::from_digit(first)
            .ok_or_else(|| EngineError::UnknownType(text.chars().next().expect("non-empty")))?;
        let data = (text.len() > 1).then(|| Frame::Text(text.slice(1..text.len())));
        Ok(Packet { kind, data })
    }
}

/// Standard alphabet; padding optional on input, as the reference's
/// `Buffer.from(s, "base64")` accepts both.
const BASE64_DECODER: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

const DIGITS: [&str; 7] = ["0", "1", "2", "3", "4", "5", "6"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips() {
        for d in b'0'..=b'6' {
            let kind = PacketType::from_digit(d).unwrap();
            for data in [None, Some(Frame::from("x y é"))] {
                let p = Packet { kind, data };
                assert_eq!(Packet::decode_frame(p.to_frame()).unwrap(), p);
                let mut text = Vec::new();
                p.encode_text_into(&mut text);
                assert_eq!(
                    Packet::decode_text(Str::from_utf8(text.into()).unwrap()).unwrap(),
                    p
                );
            }
        }
    }

    #[test]
    fn errors() {
        assert_eq!(Packet::decode_text(Str::from("")), Err(EngineError::Empty));
        assert_eq!(
            Packet::decode_text(Str::from("7")),
            Err(EngineError::UnknownType('7'))
        );
        assert_eq!(
            Packet::decode_text(Str::from("é")),
            Err(EngineError::UnknownType('é'))
        );
        assert_eq!(
            Packet::decode_text(Str::from("b!!")),
            Err(EngineError::Base64)
        );
    }

    #[test]
    fn base64_binary_in_text() {
        for padded_or_not in ["bAQI=", "bAQI"] {
            let p = Packet::decode_text(Str::from(padded_or_not)).unwrap();
            assert_eq!(p, Packet::binary(Bytes::from_static(&[1, 2])));
        }
        assert_eq!(
            Packet::decode_text(Str::from("b")).unwrap(),
            Packet::binary(Bytes::new())
        );
    }
}
