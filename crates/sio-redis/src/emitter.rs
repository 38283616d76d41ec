//! [`Emitter`]: emits into a cluster from a process that is not a server
//! (a worker, a cron job), as `@socket.io/redis-emitter` does: the same
//! messages with uid `"emitter"`, so Rust and Node.js nodes both obey it.

use serde::Serialize;
use sio_proto::packet::is_reserved_event;
use sio_proto::Value;
use sio_server::adapter::{BroadcastOptions, Room};
use sio_server::cluster::{AdapterError, BroadcastFlags};
use sio_server::IntoRooms;

use crate::codec::{BroadcastMessage, Request};

/// The uid the emitter publishes with.
pub const EMITTER_UID: &str = "emitter";

/// An emitter: a Redis connection, a namespace, targets and flags.
/// Modifiers return a new emitter; cheap to clone.
///
/// ```no_run
/// # async fn run() -> Result<(), sio_server::cluster::AdapterError> {
/// let emitter = sio_redis::Emitter::connect("redis://127.0.0.1:6379").await?;
/// emitter.to("room1").emit("hello", &("world",)).await?;
/// emitter.of("/admin").except("bots").emit("notice", &(1, 2)).await?;
/// emitter.in_("room1").sockets_join("room2").await?;
/// emitter.server_side_emit("ping", &()).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Emitter {
    conn: redis::aio::MultiplexedConnection,
    key: String,
    nsp: String,
    opts: BroadcastOptions,
    flags: BroadcastFlags,
}

impl std::fmt::Debug for Emitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emitter")
            .field("nsp", &self.nsp)
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

fn unavailable(e: impl std::fmt::Display) -> AdapterError {
    AdapterError::Unavailable(e.to_string())
}

fn encode_error(e: impl std::fmt::Display) -> AdapterError {
    AdapterError::Codec(e.to_string())
}

/// `[event, ...args]` (`args` an argument list, as for a socket's emit).
fn event_data<T: Serialize + ?Sized>(event: &str, args: &T) -> Result<Vec<Value>, AdapterError> {
    let mut data = vec![Value::from(event)];
    match sio_proto::to_value(args).map_err(encode_error)? {
        Value::Array(a) => data.extend(a),
        Value::Null => {}
        one => data.push(one),
    }
    Ok(data)
}

impl Emitter {
    /// Connects to Redis at `url`, for the main namespace and the key prefix
    /// "socket.io".
    pub async fn connect(url: &str) -> Result<Emitter, AdapterError> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        let conn = client
            .get_multiplexed_async_connection()
            .await
            .map_err(unavailable)?;
        Ok(Emitter {
            conn,
            key: "socket.io".into(),
            nsp: "/".into(),
            opts: BroadcastOptions::default(),
            flags: BroadcastFlags::default(),
        })
    }

    /// The same emitter with another key prefix (the adapter's `key`).
    pub fn with_key(mut self, key: impl Into<String>) -> Emitter {
        self.key = key.into();
        self
    }

    /// An emitter for namespace `nsp` (a leading `/` is added if missing),
    /// without targets or flags.
    pub fn of(&self, nsp: &str) -> Emitter {
        let nsp = if nsp.starts_with('/') {
            nsp.to_owned()
        } else {
            format!("/{nsp}")
        };
        Emitter {
            nsp,
            opts: BroadcastOptions::default(),
            flags: BroadcastFlags::default(),
            ..self.clone()
        }
    }

    /// Targets the sockets in `rooms`.
    pub fn to(&self, rooms: impl IntoRooms) -> Emitter {
        let mut e = self.clone();
        for r in rooms.into_rooms() {
            if !e.opts.rooms.contains(&r) {
                e.opts.rooms.push(r);
            }
        }
        e
    }

    /// Same as [`to`](Emitter::to) (`in` is a Rust keyword).
    pub fn in_(&self, rooms: impl IntoRooms) -> Emitter {
        self.to(rooms)
    }

    /// Excludes the sockets in `rooms`.
    pub fn except(&self, rooms: impl IntoRooms) -> Emitter {
        let mut e = self.clone();
        for r in rooms.into_rooms() {
            if !e.opts.except.contains(&r) {
                e.opts.except.push(r);
            }
        }
        e
    }

    /// The volatile flag.
    pub fn volatile(&self) -> Emitter {
        let mut e = self.clone();
        e.flags.volatile = true;
        e
    }

    /// The compress flag.
    pub fn compress(&self, compress: bool) -> Emitter {
        let mut e = self.clone();
        e.flags.compress = Some(compress);
        e
    }

    async fn publish(&self, channel: String, payload: Vec<u8>) -> Result<(), AdapterError> {
        let mut conn = self.conn.clone();
        redis::cmd("PUBLISH")
            .arg(channel)
            .arg(payload)
            .query_async::<()>(&mut conn)
            .await
            .map_err(unavailable)
    }

    fn request_channel(&self) -> String {
        format!("{}-request#{}#", self.key, self.nsp)
    }

    /// Emits `event` with `args` (an argument list, as for a socket's emit)
    /// to the targets on every node.
    pub async fn emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), AdapterError> {
        if is_reserved_event(event) {
            return Err(AdapterError::Codec(format!(
                "\"{event}\" is a reserved event name"
            )));
        }
        let data = event_data(event, args)?;
        let mut channel = format!("{}#{}#", self.key, self.nsp);
        if let [room] = &self.opts.rooms[..] {
            channel.push_str(room);
            channel.push('#');
        }
        let msg = BroadcastMessage {
            uid: EMITTER_UID.into(),
            nsp: self.nsp.clone(),
            data,
            opts: self.opts.clone(),
            flags: self.flags.clone(),
        };
        self.publish(channel, msg.encode()).await
    }

    /// Makes the targets join `rooms`.
    pub async fn sockets_join(&self, rooms: impl IntoRooms) -> Result<(), AdapterError> {
        let request = Request::RemoteJoin {
            uid: None,
            opts: self.opts.clone(),
            rooms: rooms.into_rooms(),
        };
        self.publish(self.request_channel(), request.encode()).await
    }

    /// Makes the targets leave `rooms`.
    pub async fn sockets_leave(&self, rooms: impl IntoRooms) -> Result<(), AdapterError> {
        let request = Request::RemoteLeave {
            uid: None,
            opts: self.opts.clone(),
            rooms: rooms.into_rooms(),
        };
        self.publish(self.request_channel(), request.encode()).await
    }

    /// Disconnects the targets (with `close`, their whole connections).
    pub async fn disconnect_sockets(&self, close: bool) -> Result<(), AdapterError> {
        let request = Request::RemoteDisconnect {
            uid: None,
            opts: self.opts.clone(),
            close,
        };
        self.publish(self.request_channel(), request.encode()).await
    }

    /// Sends `event` to the server-side listeners of every node (no acks,
    /// as in the reference emitter).
    pub async fn server_side_emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), AdapterError> {
        let data = event_data(event, args)?;
        let request = Request::ServerSideEmit {
            uid: EMITTER_UID.into(),
            request_id: None,
            data,
        };
        self.publish(self.request_channel(), request.encode()).await
    }

    /// The rooms this emitter targets.
    pub fn rooms(&self) -> &[Room] {
        &self.opts.rooms
    }
}
