//! [`RemoteSocket`]: a socket as `fetch_sockets` returns it, on this node or
//! on another one of the cluster.

use std::sync::Arc;

use serde::Serialize;
use sio_proto::{Map, Value};

use crate::adapter::{Room, Sid};
use crate::cluster::SocketInfo;
use crate::ns::Namespace;
use crate::socket::{EmitError, Handshake, IntoRooms, Socket};

/// A socket of any node of the cluster: its id, handshake, rooms and data
/// as they were when fetched, and the means to act on it wherever it is.
///
/// ```ignore
/// for socket in io.of("/").fetch_sockets().await? {
///     socket.emit("hello", &("from the cluster",))?;
///     socket.join("everyone");
/// }
/// ```
#[derive(Debug, Clone)]
pub struct RemoteSocket {
    info: SocketInfo,
    ns: Arc<Namespace>,
    local: Option<Arc<Socket>>,
}

impl RemoteSocket {
    pub(crate) fn from_local(socket: Arc<Socket>) -> RemoteSocket {
        RemoteSocket {
            info: SocketInfo {
                id: socket.id().clone(),
                handshake: socket.handshake().to_value(),
                rooms: socket.rooms(),
                data: socket.data(),
            },
            ns: socket.ns().clone(),
            local: Some(socket),
        }
    }

    pub(crate) fn from_info(ns: Arc<Namespace>, info: SocketInfo) -> RemoteSocket {
        RemoteSocket {
            info,
            ns,
            local: None,
        }
    }

    /// The socket id.
    pub fn id(&self) -> &Sid {
        &self.info.id
    }

    /// The handshake, as a value (the reference's `socket.handshake`).
    pub fn handshake(&self) -> &Value {
        &self.info.handshake
    }

    /// The rooms when fetched (its own id included).
    pub fn rooms(&self) -> &[Room] {
        &self.info.rooms
    }

    /// The data when fetched.
    pub fn data(&self) -> &Value {
        &self.info.data
    }

    /// The socket itself, when it is on this node.
    pub fn local(&self) -> Option<&Arc<Socket>> {
        self.local.as_ref()
    }

    /// Emits `event` to this socket, wherever it is.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        match &self.local {
            Some(s) => s.emit(event, args),
            None => self.ns.to(self.info.id.clone()).emit(event, args),
        }
    }

    /// Makes this socket join `rooms`.
    pub fn join(&self, rooms: impl IntoRooms) {
        match &self.local {
            Some(s) => s.join(rooms),
            None => self.ns.to(self.info.id.clone()).sockets_join(rooms),
        }
    }

    /// Makes this socket leave `rooms`.
    pub fn leave(&self, rooms: impl IntoRooms) {
        match &self.local {
            Some(s) => {
                for r in rooms.into_rooms() {
                    s.leave(&r);
                }
            }
            None => self.ns.to(self.info.id.clone()).sockets_leave(rooms),
        }
    }

    /// Disconnects this socket (with `close`, its whole connection).
    pub fn disconnect(&self, close: bool) {
        match &self.local {
            Some(s) => s.disconnect(close),
            None => self.ns.to(self.info.id.clone()).disconnect_sockets(close),
        }
    }
}

impl Handshake {
    /// The handshake as the reference serializes it for other nodes:
    /// `{headers, time, address, xdomain, secure, issued, url, query, auth}`.
    ///
    /// ```ignore
    /// let v = socket.handshake().to_value();
    /// assert_eq!(v["url"].as_str(), Some("/socket.io/?EIO=4&transport=polling"));
    /// ```
    pub fn to_value(&self) -> Value {
        let mut headers = Map::new();
        for (name, value) in self.headers.iter() {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            match headers.get_mut(name.as_str()) {
                // Node joins repeated headers with ", ".
                Some(Value::String(prev)) => {
                    prev.push_str(", ");
                    prev.push_str(&value);
                }
                _ => {
                    headers.insert(name.as_str().to_owned(), Value::String(value));
                }
            }
        }
        let query: Map = self
            .query
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let mut out = Map::new();
        out.insert("headers".into(), Value::Object(headers));
        out.insert("time".into(), Value::String(self.time.to_string()));
        out.insert(
            "address".into(),
            self.address
                .map(|a| Value::String(a.ip().to_string()))
                .unwrap_or(Value::Null),
        );
        out.insert("xdomain".into(), Value::Bool(self.xdomain));
        out.insert("secure".into(), Value::Bool(self.secure));
        out.insert("issued".into(), Value::from(self.issued));
        out.insert("url".into(), Value::String(self.url.to_string()));
        out.insert("query".into(), Value::Object(query));
        out.insert("auth".into(), self.auth.clone());
        Value::Object(out)
    }
}
