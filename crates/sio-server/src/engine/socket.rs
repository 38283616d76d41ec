//! [`EngineSocket`]: one Engine.IO session, as the layers above see it.
//!
//! The state lives behind one short mutex (never held across an await):
//! the outbox of packets waiting for a transport, which transport is active,
//! the upgrade state, the heartbeat, and the close state. Two `Notify`s wake
//! the tasks that act on it: the writer (the pending polling GET, or the
//! WebSocket driver) and the session driver (heartbeat timer, upgrade
//! hand-over, teardown). Only the driver tears a session down, so
//! `on_close` runs exactly once.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Instant, SystemTime};

use sio_proto::engine::{Heartbeat, Packet};
use sio_proto::{Frame, Str};
use tokio::sync::Notify;

use super::ws_conn::Unwritten;
use super::EngineConfig;

/// Which transport carries a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    WebSocket,
}

impl TransportKind {
    /// `"polling"` or `"websocket"`, as in the `transport` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Polling => "polling",
            TransportKind::WebSocket => "websocket",
        }
    }
}

/// Why a session closed, with the reference's reason strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// The peer closed the transport (WebSocket closed, or a polling `1`).
    TransportClose,
    /// A transport failure (overlapping requests, write error, protocol violation).
    TransportError,
    /// An Engine.IO packet could not be decoded.
    ParseError,
    /// No pong within `pingTimeout`.
    PingTimeout,
    /// Closed by the server.
    ForcedClose,
}

impl CloseReason {
    /// The reason as the reference names it (`"ping timeout"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::TransportClose => "transport close",
            CloseReason::TransportError => "transport error",
            CloseReason::ParseError => "parse error",
            CloseReason::PingTimeout => "ping timeout",
            CloseReason::ForcedClose => "forced close",
        }
    }
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a packet could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The session is closing or closed.
    #[error("the connection is closed")]
    Closed,
    /// The outbox holds `max_buffered_packets` already (a slow or stalled peer).
    #[error("the outgoing buffer is full")]
    Full,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Upgrade {
    None,
    /// A WebSocket with this sid is open, waiting for `2probe`.
    Started,
    /// A WebSocket probe arrived (`2probe` answered): pending GETs get `6`.
    Probing,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Life {
    Open,
    /// The server asked to close: deliver what is queued, then `1`.
    Closing(CloseReason),
    /// Over: the transport must stop now (a pending GET gets `1`).
    Closed(CloseReason),
}

/// Sends made while a WebSocket driver hands the messages of one read to
/// the handlers wait for the end of that read: a connection that several
/// of them write to (several broadcasts, an ack and an emit) then gets one
/// write, not one per message, and no task is woken for it.
pub(crate) struct ReadBatch;

thread_local! {
    /// Whether a batch runs on this thread, and the sockets written to in
    /// it (the list keeps its capacity from batch to batch).
    static BATCH: std::cell::RefCell<(bool, Vec<Arc<EngineSocket>>)> =
        const { std::cell::RefCell::new((false, Vec::new())) };
}

impl ReadBatch {
    /// Starts a batch on this thread (nothing if one is running).
    pub(crate) fn begin() {
        BATCH.with(|b| b.borrow_mut().0 = true);
    }

    /// Ends the batch: every socket written to sends what it queued.
    pub(crate) fn end() {
        let mut list = BATCH.with(|b| {
            let mut b = b.borrow_mut();
            b.0 = false;
            std::mem::take(&mut b.1)
        });
        for socket in list.drain(..) {
            socket.flush_deferred();
        }
        BATCH.with(|b| {
            let mut b = b.borrow_mut();
            if b.1.capacity() == 0 {
                b.1 = list;
            }
        });
    }

    /// Whether a batch runs; if so `socket` joins it.
    fn defer(socket: &Weak<EngineSocket>) -> bool {
        BATCH.with(|b| {
            let mut b = b.borrow_mut();
            if !b.0 {
                return false;
            }
            match socket.upgrade() {
                Some(s) => {
                    b.1.push(s);
                    true
                }
                None => false,
            }
        })
    }
}

thread_local! {
    /// Emptied outboxes, kept for the next packets queued on this thread: a
    /// connection keeps no outbox capacity while idle, and a busy one
    /// allocates none per packet.
    static SPARE_OUTBOXES: RefCell<Vec<VecDeque<Packet>>> = const { RefCell::new(Vec::new()) };
}

/// The most outboxes [`SPARE_OUTBOXES`] keeps per thread, and the most
/// packets of capacity each may have.
const SPARE_MAX: usize = 64;
const SPARE_CAPACITY_MAX: usize = 64;

/// An empty outbox, with capacity when a spare one is at hand.
fn spare_outbox() -> VecDeque<Packet> {
    SPARE_OUTBOXES.with_borrow_mut(Vec::pop).unwrap_or_default()
}

/// Keeps `outbox` (emptied) for [`spare_outbox`], unless it is too big or
/// enough are kept.
pub(crate) fn recycle_outbox(mut outbox: VecDeque<Packet>) {
    outbox.clear();
    if outbox.capacity() == 0 || outbox.capacity() > SPARE_CAPACITY_MAX {
        return;
    }
    SPARE_OUTBOXES.with_borrow_mut(|spare| {
        if spare.len() < SPARE_MAX {
            spare.push(outbox);
        }
    });
}

impl State {
    /// Queues `frames` in the outbox.
    fn queue(&mut self, frames: impl Iterator<Item = Frame>) {
        if self.outbox.capacity() == 0 {
            self.outbox = spare_outbox();
        }
        self.outbox.extend(frames.map(Packet::from_frame_data));
    }

    /// Nothing queued or being written.
    pub(crate) fn is_idle(&self) -> bool {
        self.outbox.is_empty() && !self.writing && self.leftover.is_none()
    }

    /// Queues what a direct write left (the cut frame's bytes first):
    /// whether anything is left for the driver.
    fn requeue(&mut self, unwritten: Unwritten) -> bool {
        let rest = match unwritten {
            Unwritten::None => return false,
            Unwritten::Frames(rest) => rest,
            Unwritten::Partial(bytes, rest) => {
                self.leftover = Some(bytes);
                rest
            }
        };
        self.queue(rest.into_iter());
        true
    }

    /// Whether a direct write may go now.
    fn may_write_directly(&self) -> bool {
        self.direct.is_some() && self.is_idle() && self.transport == TransportKind::WebSocket
    }

    /// The stream to write to now, if a direct write may go.
    fn direct_now(&self) -> Option<Arc<tokio::net::tcp::OwnedWriteHalf>> {
        self.may_write_directly()
            .then(|| self.direct.clone())
            .flatten()
    }
}

pub(crate) struct State {
    pub outbox: VecDeque<Packet>,
    pub transport: TransportKind,
    pub upgrade: Upgrade,
    pub heartbeat: Heartbeat,
    pub get_pending: bool,
    pub post_pending: bool,
    pub life: Life,
    /// A GET carried the close packet: later requests are for a gone session.
    pub close_delivered: bool,
    /// On WebSocket over a bare TCP stream: the stream, for senders to
    /// write to directly while nothing is queued (see `ws_conn::write_now`).
    pub direct: Option<Arc<tokio::net::tcp::OwnedWriteHalf>>,
    /// The WebSocket driver is writing (senders must queue behind it).
    pub writing: bool,
    /// Bytes of a direct write the socket did not take: they go first.
    pub leftover: Option<bytes::Bytes>,
    /// The outbox waits for the end of the current read batch (see
    /// [`ReadBatch`]), to go out in one write.
    pub deferred: bool,
}

/// What the handshake request looked like (for `socket.handshake`).
#[derive(Debug, Clone)]
pub struct HandshakeRequest {
    /// The request headers (shared with the Socket.IO layer's
    /// [`Handshake`](crate::Handshake)s of the connection).
    pub headers: Arc<http::HeaderMap>,
    /// The request URI (path and query).
    pub uri: http::Uri,
    /// The peer address, when the server knows it.
    pub remote_addr: Option<SocketAddr>,
    /// Whether the connection is TLS.
    pub secure: bool,
    /// When the session was created.
    pub time: SystemTime,
}

/// One Engine.IO session (a "client" connection), shared by its transports
/// and the layers above.
pub struct EngineSocket {
    sid: Str,
    /// This socket, for the read batch to flush it later.
    me: Weak<EngineSocket>,
    pub(crate) state: Mutex<State>,
    /// Wakes the writer: a pending GET, or the WebSocket driver.
    pub(crate) writer: Notify,
    /// Wakes the session driver (close requested, upgrade ready).
    pub(crate) driver: Notify,
    handshake: HandshakeRequest,
    pub(crate) config: Arc<EngineConfig>,
    /// Binary data must go as `b` + base64 text (`b64=1` in the query).
    pub(crate) base64_binary: bool,
}

impl std::fmt::Debug for EngineSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineSocket")
            .field("sid", &self.sid)
            .finish_non_exhaustive()
    }
}

impl EngineSocket {
    pub(crate) fn new(
        me: Weak<EngineSocket>,
        sid: Str,
        transport: TransportKind,
        handshake: HandshakeRequest,
        config: Arc<EngineConfig>,
        base64_binary: bool,
    ) -> EngineSocket {
        let heartbeat = Heartbeat::new(Instant::now(), config.ping_interval, config.ping_timeout);
        EngineSocket {
            me,
            sid,
            state: Mutex::new(State {
                outbox: VecDeque::new(),
                transport,
                upgrade: Upgrade::None,
                heartbeat,
                get_pending: false,
                post_pending: false,
                life: Life::Open,
                close_delivered: false,
                direct: None,
                writing: false,
                leftover: None,
                deferred: false,
            }),
            writer: Notify::new(),
            driver: Notify::new(),
            handshake,
            config,
            base64_binary,
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state half-updated
        // in a way that matters more than losing the session: keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The session id.
    pub fn sid(&self) -> &Str {
        &self.sid
    }

    /// The handshake request.
    pub fn handshake(&self) -> &HandshakeRequest {
        &self.handshake
    }

    /// The transport in use now.
    pub fn transport(&self) -> TransportKind {
        self.lock().transport
    }

    /// Whether the session is open (not closing, not closed).
    pub fn is_open(&self) -> bool {
        self.lock().life == Life::Open
    }

    /// Whether a packet sent now would go out without waiting: true on
    /// WebSocket with an empty outbox, and on polling while a GET is pending.
    /// Volatile packets are dropped when this is false.
    pub fn is_writable(&self) -> bool {
        let s = self.lock();
        s.life == Life::Open
            && match s.transport {
                TransportKind::WebSocket => s.is_idle(),
                TransportKind::Polling => s.get_pending && s.upgrade != Upgrade::Probing,
            }
    }

    /// Queues a message (text or binary) for the peer.
    pub fn send(&self, data: Frame) -> Result<(), SendError> {
        self.send_all(std::iter::once(data))
    }

    /// Queues several messages that must stay together and in order (a
    /// Socket.IO packet and its attachments): all or none.
    pub fn send_all(&self, frames: impl ExactSizeIterator<Item = Frame>) -> Result<(), SendError> {
        let mut s = self.lock();
        if s.life != Life::Open {
            return Err(SendError::Closed);
        }
        if s.outbox.len() + frames.len() > self.config.max_buffered_packets {
            return Err(SendError::Full);
        }
        if s.deferred {
            // Goes out with what is already waiting, at the end of the batch.
            s.queue(frames);
            return Ok(());
        }
        if s.may_write_directly() && ReadBatch::defer(&self.me) {
            s.deferred = true;
            s.queue(frames);
            return Ok(());
        }
        if let Some(tcp) = s.direct_now() {
            // Nothing queued, nobody writing: straight to the socket, no
            // task woken (and under the lock, so nothing overtakes it).
            let unwritten = super::ws_conn::write_now((*tcp).as_ref(), frames);
            if !s.requeue(unwritten) {
                return Ok(());
            }
        } else {
            s.queue(frames);
        }
        drop(s);
        self.writer.notify_one();
        Ok(())
    }

    /// Writes what waited for the end of a read batch, at once if the
    /// socket takes it, else through the driver.
    fn flush_deferred(&self) {
        let mut s = self.lock();
        if !s.deferred {
            return;
        }
        s.deferred = false;
        let ready = !s.writing
            && s.leftover.is_none()
            && s.life == Life::Open
            && (s.outbox.iter()).all(|p| p.kind == sio_proto::engine::PacketType::Message);
        let st = &mut *s;
        if let (true, Some(tcp)) = (ready, st.direct.as_ref()) {
            // Taken (an idle connection keeps no outbox capacity), and
            // recycled for the next packets.
            let mut outbox = std::mem::take(&mut st.outbox);
            let frames = (outbox.drain(..)).map(|p| p.data.unwrap_or(Frame::Text(Str::new())));
            let unwritten = super::ws_conn::write_now((**tcp).as_ref(), frames);
            recycle_outbox(outbox);
            if !st.requeue(unwritten) {
                return;
            }
        }
        drop(s);
        self.writer.notify_one();
    }

    /// Queues a control packet, ignoring the outbox bound.
    pub(crate) fn send_control(&self, packet: Packet) {
        let mut s = self.lock();
        if s.life == Life::Open {
            s.outbox.push_back(packet);
            drop(s);
            self.writer.notify_one();
        }
    }

    /// Closes the session from the server side: what is queued is still
    /// delivered, then the peer gets a close packet (`forced close`).
    pub fn close(&self) {
        self.close_with(CloseReason::ForcedClose, true);
    }

    /// Starts closing with `reason`; `graceful` delivers the outbox first.
    pub(crate) fn close_with(&self, reason: CloseReason, graceful: bool) {
        let mut s = self.lock();
        match s.life {
            Life::Open => {
                s.life = if graceful {
                    Life::Closing(reason)
                } else {
                    Life::Closed(reason)
                }
            }
            Life::Closing(r) if !graceful => s.life = Life::Closed(r),
            _ => return,
        }
        drop(s);
        self.writer.notify_one();
        self.driver.notify_one();
    }
}
