//! What happens on one engine connection: decoding Socket.IO packets and
//! routing them to namespaces and sockets (the reference's `Client`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::time::Instant;

use sio_proto::{Decoder, Frame, Packet, PacketType, Payload, Value};

use crate::engine::{CloseReason, EngineSocket};
use crate::io::IoInner;
use crate::socket::{Conn, DisconnectReason, Socket};

/// The per-connection state the engine hands back with every message.
pub struct ClientConn {
    pub(crate) conn: Arc<Conn>,
    decoder: Mutex<Decoder>,
}

impl ClientConn {
    pub(crate) fn new(io: &Arc<IoInner>, engine: Arc<EngineSocket>) -> ClientConn {
        let conn = Arc::new(Conn {
            engine,
            parser: io.config.parser,
            sockets: Mutex::default(),
            settled: AtomicBool::new(false),
        });
        // Close connections that never join a namespace.
        io.connect_deadlines.add(&conn, io.config.connect_timeout);
        ClientConn {
            conn,
            decoder: Mutex::new(Decoder::new(io.config.parser)),
        }
    }
}

/// The connect timeouts of the connections that have not joined a
/// namespace yet: one task for all of them (while there are any), not a
/// task and a timer for each connection. Every connection gets the same
/// timeout, so the deadlines come in order and a queue keeps them sorted.
///
/// A deadline holds its connection weakly: a connection closed earlier
/// leaves its small allocation (not its buffers) until its deadline.
#[derive(Default)]
pub(crate) struct ConnectDeadlines(Arc<Mutex<Deadlines>>);

#[derive(Default)]
struct Deadlines {
    queue: VecDeque<(Instant, Weak<Conn>)>,
    /// A task is waiting for the first deadline.
    sweeping: bool,
}

impl ConnectDeadlines {
    fn lock(shared: &Mutex<Deadlines>) -> std::sync::MutexGuard<'_, Deadlines> {
        shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Closes `conn` after `timeout` unless it joins a namespace (or closes) first.
    fn add(&self, conn: &Arc<Conn>, timeout: Duration) {
        let mut d = Self::lock(&self.0);
        // Read under the lock: deadlines enter the queue in order.
        d.queue
            .push_back((Instant::now() + timeout, Arc::downgrade(conn)));
        if !d.sweeping {
            d.sweeping = true;
            tokio::spawn(Self::sweep(self.0.clone()));
        }
    }

    /// Closes the connections whose deadline passed, until none is left.
    async fn sweep(shared: Arc<Mutex<Deadlines>>) {
        loop {
            let mut due = Vec::new();
            let next = {
                let mut d = Self::lock(&shared);
                let now = Instant::now();
                while d.queue.front().is_some_and(|(at, _)| *at <= now) {
                    due.extend(d.queue.pop_front().map(|(_, conn)| conn));
                }
                let next = d.queue.front().map(|(at, _)| *at);
                if next.is_none() {
                    d.sweeping = false;
                    d.queue = VecDeque::new();
                }
                next
            };
            for conn in due.iter().filter_map(Weak::upgrade) {
                if !conn.settled.load(Ordering::Acquire) && conn.sockets_lock().is_empty() {
                    close(&conn, DisconnectReason::ForcedServerClose);
                }
            }
            match next {
                Some(at) => tokio::time::sleep_until(at).await,
                None => return,
            }
        }
    }
}

/// Closes the connection: every socket leaves with `reason`.
fn close(conn: &Arc<Conn>, reason: DisconnectReason) {
    conn.engine.close();
    let sockets: Vec<Arc<Socket>> = conn.sockets_lock().values().cloned().collect();
    for s in sockets {
        s.on_close(reason);
    }
}

pub(crate) fn on_message(io: &Arc<IoInner>, client: &ClientConn, frame: Frame) {
    let decoded = client
        .decoder
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .decode(frame);
    let packet = match decoded {
        Ok(Some(packet)) => packet,
        Ok(None) => return,
        Err(e) => {
            tracing::debug!(sid = %client.conn.engine.sid(), "closing on a malformed packet: {e}");
            // As the reference: the engine closes (`forced close`).
            client.conn.engine.close();
            return;
        }
    };
    let conn = &client.conn;
    let socket = conn.sockets_lock().get(packet.nsp.as_str()).cloned();
    match (socket, packet.kind) {
        (None, PacketType::Connect) => connect(io, conn, packet),
        (Some(socket), kind) if kind != PacketType::Connect && kind != PacketType::ConnectError => {
            socket.on_packet(packet)
        }
        _ => {
            tracing::debug!(sid = %conn.engine.sid(), nsp = %packet.nsp, "packet in an invalid state: closing");
            close(conn, DisconnectReason::ForcedServerClose);
        }
    }
}

pub(crate) fn on_close(client: &ClientConn, reason: CloseReason) {
    client.conn.settled.store(true, Ordering::Release);
    let reason = match reason {
        CloseReason::TransportClose => DisconnectReason::TransportClose,
        CloseReason::TransportError => DisconnectReason::TransportError,
        CloseReason::ParseError => DisconnectReason::ParseError,
        CloseReason::PingTimeout => DisconnectReason::PingTimeout,
        CloseReason::ForcedClose => DisconnectReason::ForcedClose,
    };
    let sockets: Vec<Arc<Socket>> = client.conn.sockets_lock().values().cloned().collect();
    for s in sockets {
        s.on_close(reason);
    }
}

fn connect(io: &Arc<IoInner>, conn: &Arc<Conn>, packet: Packet) {
    let auth = match packet.data.map(Payload::into_value) {
        Some(Ok(v @ Value::Object(_))) => v,
        _ => Value::Object(Default::default()),
    };
    let Some(ns) = io.namespace_for(&packet.nsp, &auth) else {
        if let Ok(encoded) =
            conn.parser
                .encode_connect_error(&packet.nsp, "Invalid namespace", None::<&()>)
        {
            let _ = conn.send(&encoded, false);
        }
        return;
    };
    // Connection state recovery: `{pid, offset}` of a live session brings
    // back its id, rooms and data, and the events it missed (sent now,
    // before the CONNECT reply, as the reference does).
    let restored = ns.recovery.as_ref().and_then(|recovery| {
        let pid = auth.get("pid").and_then(Value::as_str)?;
        let offset = auth.get("offset").and_then(Value::as_str)?;
        recovery
            .restore(pid, offset)
            .map(|r| (recovery.config.skip_middlewares, r))
    });
    let handshake = crate::handshake::of(&conn.engine, auth);
    match restored {
        Some((skip_middlewares, (session, missed))) => {
            let socket = Arc::new(Socket::new(
                session.sid.clone(),
                ns.clone(),
                conn.clone(),
                handshake,
                Some(session.pid),
                true,
                session.data,
            ));
            ns.adapter().add_all(&session.sid, &session.rooms);
            for encoded in &missed {
                let _ = conn.send(encoded, false);
            }
            if skip_middlewares {
                ns.do_connect(socket);
            } else {
                ns.add(socket);
            }
        }
        None => {
            let pid = ns.recovery.is_some().then(crate::engine::new_id);
            let socket = Arc::new(Socket::new(
                crate::engine::new_id(),
                ns.clone(),
                conn.clone(),
                handshake,
                pid,
                false,
                Value::Object(Default::default()),
            ));
            ns.add(socket);
        }
    }
}
