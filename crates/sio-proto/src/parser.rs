//! [`Parser`]: which wire format Socket.IO packets use.

use serde::Serialize;

use crate::packet::json::{self as wire, Data};
use crate::packet::{msgpack, Encoded, Packet, PacketType};
use crate::Decoder;

/// The Socket.IO packet format. Both ends of a connection must use the same.
///
/// - `Json` (the default): the format of npm `socket.io-parser`.
/// - `Msgpack`: the format of npm `socket.io-msgpack-parser`.
///
/// ```
/// use sio_proto::{Parser, Frame};
/// let e = Parser::Json.encode_event("/", "hello", &("world", 42), None).unwrap();
/// assert_eq!(e.head, Frame::from(r#"2["hello","world",42]"#));
///
/// let e = Parser::Json.encode_ack("/admin", 3, &(bytes::Bytes::from_static(&[1]),)).unwrap();
/// assert_eq!(e.head, Frame::from(r#"61-/admin,3[{"_placeholder":true,"num":0}]"#));
/// assert_eq!(e.attachments.len(), 1);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Parser {
    /// JSON text with binary attachments (npm `socket.io-parser`).
    #[default]
    Json,
    /// msgpack (npm `socket.io-msgpack-parser`).
    Msgpack,
}

/// Why a packet could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot encode packet: {0}")]
pub struct EncodeError(pub String);

impl Parser {
    /// A decoder for this format, with default limits.
    pub fn decoder(self) -> Decoder {
        Decoder::new(self)
    }

    fn encode_parts<T: Serialize + ?Sized>(
        self,
        kind: PacketType,
        nsp: &str,
        id: Option<u64>,
        data: Data<'_, T>,
    ) -> Result<Encoded, EncodeError> {
        match self {
            Parser::Json => {
                wire::encode(kind, nsp, id, data).map_err(|e| EncodeError(e.to_string()))
            }
            Parser::Msgpack => {
                msgpack::encode(kind, nsp, id, data).map_err(|e| EncodeError(e.to_string()))
            }
        }
    }

    /// Encodes an EVENT: `event` followed by the arguments. `args` is the
    /// argument list: a tuple (`("a", 1)`), a `Vec`, or `()` for none; a
    /// value that does not serialize as a sequence is a single argument.
    /// Byte buffers anywhere inside become binary attachments.
    pub fn encode_event<T: Serialize + ?Sized>(
        self,
        nsp: &str,
        event: &str,
        args: &T,
        id: Option<u64>,
    ) -> Result<Encoded, EncodeError> {
        if no_args(args) {
            return self.encode_parts(PacketType::Event, nsp, id, Data::Event(event, NO_ARGS));
        }
        self.encode_parts(PacketType::Event, nsp, id, Data::Event(event, args))
    }

    /// Encodes an ACK for ack id `id`; `args` as in [`encode_event`](Parser::encode_event).
    pub fn encode_ack<T: Serialize + ?Sized>(
        self,
        nsp: &str,
        id: u64,
        args: &T,
    ) -> Result<Encoded, EncodeError> {
        if no_args(args) {
            return self.encode_parts(PacketType::Ack, nsp, Some(id), Data::Args(NO_ARGS));
        }
        self.encode_parts(PacketType::Ack, nsp, Some(id), Data::Args(args))
    }

    /// Encodes a CONNECT with optional data (must serialize as an object).
    ///
    /// ```
    /// let e = sio_proto::Parser::Json.encode_connect("/", Some(&serde_json::json!({"sid": "x"}))).unwrap();
    /// assert_eq!(e.head, sio_proto::Frame::from(r#"0{"sid":"x"}"#));
    /// ```
    pub fn encode_connect<T: Serialize + ?Sized>(
        self,
        nsp: &str,
        data: Option<&T>,
    ) -> Result<Encoded, EncodeError> {
        let data = data.map_or(Data::None, Data::Whole);
        self.encode_parts(PacketType::Connect, nsp, None, data)
    }

    /// Encodes a DISCONNECT.
    pub fn encode_disconnect(self, nsp: &str) -> Result<Encoded, EncodeError> {
        self.encode_parts::<()>(PacketType::Disconnect, nsp, None, Data::None)
    }

    /// Encodes a CONNECT_ERROR `{"message", "data"?}`.
    ///
    /// ```
    /// let e = sio_proto::Parser::Json.encode_connect_error("/", "forbidden", Some(&serde_json::json!({"reason": "bad token"}))).unwrap();
    /// assert_eq!(e.head, sio_proto::Frame::from(r#"4{"message":"forbidden","data":{"reason":"bad token"}}"#));
    /// ```
    pub fn encode_connect_error<T: Serialize + ?Sized>(
        self,
        nsp: &str,
        message: &str,
        data: Option<&T>,
    ) -> Result<Encoded, EncodeError> {
        #[derive(Serialize)]
        struct ConnectError<'a, T: ?Sized> {
            message: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            data: Option<&'a T>,
        }
        let body = ConnectError { message, data };
        self.encode_parts(PacketType::ConnectError, nsp, None, Data::Whole(&body))
    }

    /// Encodes any packet (decoded, or built with the [`Packet`] constructors).
    pub fn encode_packet(self, packet: &Packet) -> Result<Encoded, EncodeError> {
        let data = packet.data.as_ref().map_or(Data::None, Data::Payload);
        self.encode_parts::<()>(packet.kind, &packet.nsp, packet.id, data)
    }
}

/// An empty argument list.
const NO_ARGS: &[crate::Value] = &[];

/// Whether `args` is `()` (or another zero-sized value that serializes as
/// nothing, like a unit struct): no arguments. serde writes `()` as `null`,
/// which would otherwise be one `null` argument. `Value::Null` and `None`
/// are not zero-sized and stay one `null` argument.
fn no_args<T: Serialize + ?Sized>(args: &T) -> bool {
    std::mem::size_of_val(args) == 0 && matches!(crate::to_value(args), Ok(crate::Value::Null))
}

impl std::str::FromStr for Parser {
    type Err = String;
    fn from_str(s: &str) -> Result<Parser, String> {
        match s {
            "json" | "default" => Ok(Parser::Json),
            "msgpack" => Ok(Parser::Msgpack),
            other => Err(format!(
                "unknown parser {other:?} (expected json or msgpack)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Frame, Value};

    #[test]
    fn unit_is_no_arguments() {
        // `()` was sent as one `null` argument (`2["x",null]`).
        let e = Parser::Json.encode_event("/", "x", &(), None).unwrap();
        assert_eq!(e.head, Frame::from(r#"2["x"]"#));
        let e = Parser::Json.encode_ack("/", 1, &()).unwrap();
        assert_eq!(e.head, Frame::from("31[]"));
        for parser in [Parser::Json, Parser::Msgpack] {
            let e = parser.encode_event("/", "x", &(), Some(2)).unwrap();
            let p = parser.decoder().decode(e.head).unwrap().unwrap();
            assert_eq!(p.args::<Vec<Value>>().unwrap(), vec![]);
            let e = parser.encode_ack("/", 1, &()).unwrap();
            let p = parser.decoder().decode(e.head).unwrap().unwrap();
            assert_eq!(p.args::<Vec<Value>>().unwrap(), vec![]);
        }
        // An explicit null is still one argument.
        let e = Parser::Json
            .encode_event("/", "x", &Value::Null, None)
            .unwrap();
        assert_eq!(e.head, Frame::from(r#"2["x",null]"#));
        let e = Parser::Json
            .encode_event("/", "x", &None::<u8>, None)
            .unwrap();
        assert_eq!(e.head, Frame::from(r#"2["x",null]"#));
    }
}
