//! The handshake: the server's open packet.

use serde::{Deserialize, Serialize};

use crate::engine::Packet;
use crate::{Frame, Str};

/// The data of the open packet (`0{...}`) that starts every session.
///
/// Field order matches the reference server, so the JSON text is the same.
///
/// ```
/// use sio_proto::engine::OpenPacket;
/// let open = OpenPacket {
///     sid: "abc".into(),
///     upgrades: vec!["websocket".into()],
///     ping_interval: 25000,
///     ping_timeout: 20000,
///     max_payload: 1000000,
/// };
/// assert_eq!(
///     open.to_packet().to_frame(),
///     sio_proto::Frame::from(r#"0{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#)
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenPacket {
    /// The session id.
    pub sid: String,
    /// Transports the client may upgrade to (`["websocket"]` on polling, `[]` on WebSocket).
    pub upgrades: Vec<String>,
    /// Milliseconds between the server's pings.
    pub ping_interval: u64,
    /// Milliseconds the server waits for a pong.
    pub ping_timeout: u64,
    /// The largest payload, in bytes, that the server accepts.
    pub max_payload: u64,
}

impl OpenPacket {
    /// The open packet carrying this handshake as JSON.
    pub fn to_packet(&self) -> Packet {
        let json = serde_json::to_string(self).expect("a handshake always serializes");
        Packet {
            kind: crate::engine::PacketType::Open,
            data: Some(Frame::Text(Str::from(json))),
        }
    }

    /// Reads the handshake from an open packet's data.
    pub fn from_json(text: &str) -> Result<OpenPacket, serde_json::Error> {
        serde_json::from_str(text)
    }
}
